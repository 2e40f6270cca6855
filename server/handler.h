/*
 * What a handler sees: typed, already-validated input and a context holding
 * the caller's session, the worker's database connection (inside the call's
 * transaction), the call's arena and its status. Handlers never see nng or
 * envelope types, and never BEGIN/COMMIT: the dispatcher owns the
 * transaction, the idempotency record and the audit row.
 *
 * A handler returns FD_OK with *out set (built in ctx->arena), or a status
 * code with ctx->status filled (fd_fail(&ctx->status, ...)); any non-OK
 * status rolls the transaction back. Runs on a worker thread.
 */
#ifndef FD_HANDLER_H
#define FD_HANDLER_H

#include <libpq-fe.h>
#include <protobuf-c/protobuf-c.h>
#include <stdbool.h>
#include <stdint.h>

#include "arena.h"
#include "status.h"

/* Staff roles, a bit each; the method table lists which may call what. */
enum fd_role {
	ROLE_ADMIN = 1u << 0,
	ROLE_FRONT_DESK = 1u << 1,
	ROLE_BILLING = 1u << 2,
	ROLE_NURSE = 1u << 3,
	ROLE_PROVIDER = 1u << 4,
};
#define ROLE_ANY_STAFF \
	(ROLE_ADMIN | ROLE_FRONT_DESK | ROLE_BILLING | ROLE_NURSE | ROLE_PROVIDER)

typedef struct fd_session {
	int64_t session_id;
	int64_t staff_id;
	int64_t desk_id;
	unsigned roles;
	const char *username;     /* arena strings */
	const char *display_name;
	const char *desk_code;
	char **role_names;
	size_t n_role_names;
	int64_t created_unix_ms;
	int64_t expires_unix_ms;
} fd_session;

struct fd_method;

typedef struct fd_ctx {
	fd_arena *arena;
	PGconn *conn;
	const struct fd_method *method;
	const fd_session *session; /* NULL for methods that need none */
	fd_status status;
	int64_t deadline_mono_ms;
	const uint8_t *request_id; /* FD_REQUEST_ID_LEN bytes */
	/* Commit even though the handler fails: for effects that must stick
	 * when the caller is refused (a failed-login counter). */
	bool commit_on_error;
	/* Audit: set by fd_ctx_audit; written by the dispatcher. */
	bool audit;
	int64_t audit_patient_id; /* 0: none */
	const char *audit_subject;
	/* Calls that show many patients (a search) audit one row each. */
	const int64_t *audit_patient_ids; /* arena array, or NULL */
	size_t n_audit_patient_ids;
} fd_ctx;

typedef int (*fd_handler)(fd_ctx *ctx, const ProtobufCMessage *in,
			  ProtobufCMessage **out);

/* Marks the call as one to audit; patient_id 0 when no patient is touched,
 * subject names the record (e.g. "staff:12"). */
void fd_ctx_audit(fd_ctx *ctx, int64_t patient_id, const char *subject);

/* Audits one row per patient in ids (copied into the arena), e.g. every
 * patient a search returned. May be combined with fd_ctx_audit. */
void fd_ctx_audit_patients(fd_ctx *ctx, const int64_t *ids, size_t n,
			   const char *subject);

/* Role names <-> bits. */
unsigned fd_role_from_name(const char *name); /* 0 when unknown */
const char *fd_role_name(unsigned role_bit);

#endif
