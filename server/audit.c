/* Audit rows; see audit.h. */
#include "audit.h"

#include <stdio.h>
#include <string.h>

#include "db/db.h"
#include "methods.h"
#include "util.h"

void fd_ctx_audit(fd_ctx *ctx, int64_t patient_id, const char *subject)
{
	ctx->audit = true;
	ctx->audit_patient_id = patient_id;
	ctx->audit_subject = subject;
}

void fd_ctx_audit_patients(fd_ctx *ctx, const int64_t *ids, size_t n,
			   const char *subject)
{
	int64_t *copy = n ? fd_arena_alloc(ctx->arena, n * sizeof *copy) : NULL;

	ctx->audit = true;
	ctx->audit_subject = subject;
	if (copy)
		memcpy(copy, ids, n * sizeof *copy);
	ctx->audit_patient_ids = copy;
	ctx->n_audit_patient_ids = copy ? n : 0;
}

/* The many-patients form: one row per id, in one statement. */
static int audit_write_list(fd_ctx *ctx, const char *outcome)
{
	db_params p;
	size_t cap = ctx->n_audit_patient_ids * 21 + 3;
	char *list = fd_arena_alloc(ctx->arena, cap);
	size_t len = 0;

	if (!list)
		return fd_fail(&ctx->status, FD_RESOURCE_EXHAUSTED, "out of memory");
	list[len++] = '{';
	for (size_t i = 0; i < ctx->n_audit_patient_ids; i++)
		len += (size_t)snprintf(list + len, cap - len, "%s%lld", i ? "," : "",
					(long long)ctx->audit_patient_ids[i]);
	list[len++] = '}';
	list[len] = '\0';
	dbp_init(&p);
	if (ctx->session) {
		dbp_int(&p, ctx->session->staff_id);
		dbp_int(&p, ctx->session->desk_id);
	} else {
		dbp_text(&p, NULL);
		dbp_text(&p, NULL);
	}
	dbp_text(&p, ctx->method->path);
	dbp_text(&p, list);
	dbp_text(&p, ctx->audit_subject);
	dbp_text(&p, outcome);
	dbp_bytes(&p, ctx->request_id, FD_REQUEST_ID_LEN);
	return db_exec(ctx,
		       "INSERT INTO audit_log (staff_id, desk_id, method, patient_id,"
		       " subject, outcome, request_id)"
		       " SELECT $1, $2, $3, pid, $5, $6, $7"
		       " FROM unnest($4::bigint[]) AS pid",
		       &p);
}

int audit_write(fd_ctx *ctx, const char *outcome)
{
	db_params p;

	if (ctx->n_audit_patient_ids) {
		if (audit_write_list(ctx, outcome) != FD_OK)
			return ctx->status.code;
		if (!ctx->audit_patient_id)
			return FD_OK;
	}

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
