/*
 * The method table: every RPC the server answers, its handler, the roles
 * that may call it and how the dispatcher treats it. The rows live in
 * methods.def (an X-macro list) so the table, the handler declarations and
 * the tests come from one place. Input and output descriptors are not
 * written by hand: methods_init() finds each method by name in the
 * protobuf-c service descriptors, so the table cannot disagree with the
 * .proto files without methods_init() failing.
 *
 * Built once at start-up, read-only afterwards (safe from any thread).
 */
#ifndef FD_METHODS_H
#define FD_METHODS_H

#include <protobuf-c/protobuf-c.h>
#include <stdbool.h>

#include "handler.h"

enum fd_method_flags {
	M_PUBLIC = 1u << 0,    /* no session needed (Login, Health) */
	M_MUTATES = 1u << 1,   /* changes data: idempotent by request id */
	M_INLINE = 1u << 2,    /* answered on the nng thread; no database */
	M_NO_REPLAY = 1u << 3, /* mutates but its reply holds a secret, so it
				* is not stored for replay (Login's token) */
	M_AUDIT = 1u << 4,     /* every call is written to the audit log */
};

struct fd_method {
	const char *path; /* "/frontdesk.v1.Auth/Login" */
	const ProtobufCServiceDescriptor *service;
	const char *name;
	fd_handler handler;
	unsigned roles; /* allowed roles; ignored for M_PUBLIC */
	unsigned flags;
	const ProtobufCMessageDescriptor *input;
	const ProtobufCMessageDescriptor *output;
};

/* Resolves descriptors and sorts the table. Returns 0, or -1 and logs which
 * row names a method its service does not declare. */
int methods_init(void) __attribute__((warn_unused_result));
const struct fd_method *methods_find(const char *path);
/* The whole table (for tests and `frontdeskd methods`). */
const struct fd_method *methods_all(size_t *count);
/* Every service the server implements (for the table/descriptor test). */
const ProtobufCServiceDescriptor *const *methods_services(size_t *count);

#endif
