/* Audit rows; see audit.h. */
#include "audit.h"

#include <stdio.h>
#include <stdlib.h>
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

/* Runs an audit statement now, or sends it ahead to travel with the
 * call's COMMIT (db_send_ahead): the row's failure is then COMMIT's. */
static int run_insert(fd_ctx *ctx, const char *sql, const db_params *p, bool ahead)
{
	return ahead ? db_send_ahead(ctx, sql, p) : db_exec(ctx, sql, p);
}

/* The many-patients form: one row per id, in one statement. */
static int audit_write_list(fd_ctx *ctx, const char *outcome, bool ahead)
{
	db_params p;
	char *list = db_bigint_array(ctx->arena, ctx->audit_patient_ids, ctx->n_audit_patient_ids);

	if (!list)
		return fd_fail(&ctx->status, FD_RESOURCE_EXHAUSTED, "out of memory");
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
	return run_insert(ctx,
			  "INSERT INTO audit_log (staff_id, desk_id, method, patient_id,"
			  " subject, outcome, request_id)"
			  " SELECT $1, $2, $3, pid, $5, $6, $7"
			  " FROM unnest($4::bigint[]) AS pid",
			  &p, ahead);
}

static int audit_rows(fd_ctx *ctx, const char *outcome, bool ahead)
{
	db_params p;

	if (ctx->n_audit_patient_ids) {
		if (audit_write_list(ctx, outcome, ahead) != FD_OK)
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
	return run_insert(ctx,
			  "INSERT INTO audit_log (staff_id, desk_id, method, patient_id,"
			  " subject, outcome, request_id)"
			  " VALUES ($1, $2, $3, $4, $5, $6, $7)",
			  &p, ahead);
}

int audit_write(fd_ctx *ctx, const char *outcome)
{
	return audit_rows(ctx, outcome, false);
}

int audit_send_ahead(fd_ctx *ctx, const char *outcome)
{
	return audit_rows(ctx, outcome, true);
}

/* Rows linked per transaction: bounds how long one seal holds the chain. */
#define SEAL_BATCH 10000
#define SEAL_BATCH_TEXT "10000"

static void copy_error(PGresult *r, const char *what, char *err, size_t err_size)
{
	const char *state = PQresultErrorField(r, PG_DIAG_SQLSTATE);

	/* The SQLSTATE names the failure; the message could quote a row. */
	snprintf(err, err_size, "%s failed: sqlstate %s", what, state ? state : "none");
}

int audit_seal_run(PGconn *conn, long long *sealed, char *err, size_t err_size)
{
	PGresult *r = PQexec(conn, "SELECT audit_seal_horizon()");
	char horizon[24];
	int n;

	*sealed = 0;
	if (PQresultStatus(r) != PGRES_TUPLES_OK) {
		const char *state = PQresultErrorField(r, PG_DIAG_SQLSTATE);
		int busy = state && strcmp(state, "55P03") == 0;
		copy_error(r, "audit_seal_horizon", err, err_size);
		PQclear(r);
		return busy ? 1 : -1;
	}
	snprintf(horizon, sizeof horizon, "%s", PQgetvalue(r, 0, 0));
	PQclear(r);
	do {
		const char *values[] = { horizon, SEAL_BATCH_TEXT };
		r = PQexecParams(conn, "SELECT audit_seal($1::bigint, $2::integer)", 2, NULL,
				 values, NULL, NULL, 0);
		if (PQresultStatus(r) != PGRES_TUPLES_OK) {
			copy_error(r, "audit_seal", err, err_size);
			PQclear(r);
			return -1;
		}
		n = atoi(PQgetvalue(r, 0, 0));
		PQclear(r);
		*sealed += n;
	} while (n == SEAL_BATCH);
	return 0;
}

int audit_verify_run(PGconn *conn, struct audit_verdict *v, char *err, size_t err_size)
{
	PGresult *r = PQexec(conn, "SELECT sealed, unsealed, bad_id, problem, head"
				   " FROM audit_verify()");

	memset(v, 0, sizeof *v);
	if (PQresultStatus(r) != PGRES_TUPLES_OK || PQntuples(r) != 1) {
		copy_error(r, "audit_verify", err, err_size);
		PQclear(r);
		return -1;
	}
	v->sealed = atoll(PQgetvalue(r, 0, 0));
	v->unsealed = atoll(PQgetvalue(r, 0, 1));
	v->bad_id = atoll(PQgetvalue(r, 0, 2));
	snprintf(v->problem, sizeof v->problem, "%s", PQgetvalue(r, 0, 3));
	snprintf(v->head, sizeof v->head, "%s", PQgetvalue(r, 0, 4));
	PQclear(r);
	return 0;
}
