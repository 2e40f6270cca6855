/* Audit rows; see audit.h. */
#include "audit.h"

#include "db/db.h"
#include "methods.h"
#include "util.h"

void fd_ctx_audit(fd_ctx *ctx, int64_t patient_id, const char *subject)
{
	ctx->audit = true;
	ctx->audit_patient_id = patient_id;
	ctx->audit_subject = subject;
}

int audit_write(fd_ctx *ctx, const char *outcome)
{
	db_params p;

	dbp_init(&p);
	if (ctx->session) {
		dbp_int(&p, ctx->session->staff_id);
		dbp_int(&p, ctx->session->desk_id);
	} else {
		dbp_text(&p, NULL);
		dbp_text(&p, NULL);
	}
	dbp_text(&p, ctx->method->path);
	if (ctx->audit_patient_id)
		dbp_int(&p, ctx->audit_patient_id);
	else
		dbp_text(&p, NULL);
	dbp_text(&p, ctx->audit_subject);
	dbp_text(&p, outcome);
	dbp_bytes(&p, ctx->request_id, FD_REQUEST_ID_LEN);
	return db_exec(ctx,
		       "INSERT INTO audit_log (staff_id, desk_id, method, patient_id,"
		       " subject, outcome, request_id)"
		       " VALUES ($1, $2, $3, $4, $5, $6, $7)",
		       &p);
}
