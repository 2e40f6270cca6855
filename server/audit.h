/*
 * The audit trail: one append-only row per call that touches patient data
 * or changes staff, desks or sessions (who, desk, method, patient, outcome,
 * when). Written by the dispatcher inside the call's transaction, so the row
 * exists exactly when the effect does; refused calls are audited after the
 * rollback. Runs on the worker thread.
 */
#ifndef FD_AUDIT_H
#define FD_AUDIT_H

#include "handler.h"

/* outcome: "OK" or a status code name. Returns FD_OK or a database status. */
int audit_write(fd_ctx *ctx, const char *outcome)
	__attribute__((warn_unused_result));

#endif
