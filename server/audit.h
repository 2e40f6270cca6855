/*
 * The audit trail: one append-only row per call that touches patient data
 * or changes staff, desks or sessions (who, desk, method, patient, outcome,
 * when). Written by the dispatcher inside the call's transaction, so the row
 * exists exactly when the effect does; refused calls are audited after the
 * rollback. Runs on the worker thread.
 */
#ifndef FD_AUDIT_H
#define FD_AUDIT_H

#include <libpq-fe.h>

#include "handler.h"

/* outcome: "OK" or a status code name. Returns FD_OK or a database status. */
int audit_write(fd_ctx *ctx, const char *outcome)
	__attribute__((warn_unused_result));
/* The same rows sent ahead (db_send_ahead) to go with the call's COMMIT,
 * in its round trip; their failure is reported by the COMMIT's call. */
int audit_send_ahead(fd_ctx *ctx, const char *outcome)
	__attribute__((warn_unused_result));

/* The hash chain over audit rows (migrations/0007_audit_chain.sql).
 * audit_seal_run links every audit row not yet linked: first a brief lock
 * that waits for audit inserts in flight (its own statement, so it is
 * released at once), then the hashing in batches. conn must be in
 * autocommit, acting as the owner or frontdesk_app. Returns 0 with
 * *sealed set, 1 when another transaction held the lock too long (try
 * again later), -1 on a database error (err says which, no row data).
 * Runs on any thread that owns conn. */
int audit_seal_run(PGconn *conn, long long *sealed, char *err, size_t err_size)
	__attribute__((warn_unused_result));

/* The result of recomputing the chain: bad_id 0 when it holds. */
struct audit_verdict {
	long long sealed, unsealed, bad_id;
	char problem[128];
	char head[65]; /* last hash, hex */
};
int audit_verify_run(PGconn *conn, struct audit_verdict *v, char *err, size_t err_size)
	__attribute__((warn_unused_result));

#endif
