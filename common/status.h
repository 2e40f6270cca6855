/*
 * Status codes shared by server, client and tests. The numbering is gRPC's
 * (OK=0 ... UNAUTHENTICATED=16) so anyone who knows gRPC knows ours, and the
 * rules for choosing between them are gRPC's too (see docs/ARCHITECTURE.md).
 */
#ifndef FD_STATUS_H
#define FD_STATUS_H

#include <stddef.h>

enum fd_code {
	FD_OK = 0,
	FD_CANCELLED = 1,
	FD_UNKNOWN = 2,
	FD_INVALID_ARGUMENT = 3,
	FD_DEADLINE_EXCEEDED = 4,
	FD_NOT_FOUND = 5,
	FD_ALREADY_EXISTS = 6,
	FD_PERMISSION_DENIED = 7,
	FD_RESOURCE_EXHAUSTED = 8,
	FD_FAILED_PRECONDITION = 9,
	FD_ABORTED = 10,
	FD_OUT_OF_RANGE = 11,
	FD_UNIMPLEMENTED = 12,
	FD_INTERNAL = 13,
	FD_UNAVAILABLE = 14,
	FD_DATA_LOSS = 15,
	FD_UNAUTHENTICATED = 16,
};
#define FD_CODE_MAX 16

/* A status as carried to the caller: code plus a short message for a person.
 * The message never holds SQL text or patient data. */
typedef struct fd_status {
	int code;
	char message[256];
} fd_status;

/* "OK", "INVALID_ARGUMENT", ...; "UNKNOWN_CODE" outside 0..16. */
const char *fd_code_name(int code);

/* Sets *st and returns code, so handlers can `return fd_fail(st, ...)`. */
int fd_fail(fd_status *st, int code, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static inline void fd_status_ok(fd_status *st)
{
	st->code = FD_OK;
	st->message[0] = '\0';
}

#endif
