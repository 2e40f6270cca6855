/*
 * The board's look ahead: the patients expected at a location in the next
 * minutes (appointments booked or confirmed, nobody arrived yet), each with
 * its readiness gaps, so a desk can chase a missing form or an unverified
 * policy before the patient is at the window rather than while a queue
 * forms behind them.
 *
 * An appointment already past its start stays listed (as late) until the
 * location's no-show time, when the sweep would take it. Readiness is the
 * patients domain's own definition (patient_readiness_gaps(), migration
 * 0014), asked once for the whole list, so the board and `desk readiness`
 * never disagree; every patient shown is audited. The list is capped: a
 * board shows a few hours, not a week.
 */
#include <stdio.h>
#include <string.h>

#include "checkin.h"

#define EXPECTED_MAX_WITHIN_MIN 720
#define EXPECTED_MAX_ROWS 200

static Frontdesk__V1__ExpectedPatient *expected_from_row(fd_ctx *ctx, const PGresult *r, int row)
{
	Frontdesk__V1__ExpectedPatient *e = fd_arena_alloc(ctx->arena, sizeof *e);
	fd_arena *m = ctx->arena;

	if (!e)
		return NULL;
	frontdesk__v1__expected_patient__init(e);
	e->appointment_id = db_int(r, row, 0);
	e->patient_id = db_int(r, row, 1);
	e->patient_name = db_str(m, r, row, 2);
	e->appointment_local = db_str(m, r, row, 3);
	e->starts_unix_ms = db_int(r, row, 4);
	e->minutes_until = (int32_t)db_int(r, row, 5);
	e->appointment_status = db_str(m, r, row, 6);
	e->provider = db_str(m, r, row, 7);
	e->provider_name = db_str(m, r, row, 8);
	e->type = db_str(m, r, row, 9);
	return e;
}

/* Every expected patient's readiness gaps, in one statement for the whole
 * list (patient_readiness_gaps(), the definition the Readiness call uses,
 * with its default of insurance verified within 30 days). Asked one
 * patient at a time this was four round trips each: 300-odd for a busy
 * location's four hours, on every desk's board refresh. Rows come by
 * patient in the desk's order; a patient expected twice gets the same
 * gaps on both entries. */
static int add_readiness(fd_ctx *ctx, Frontdesk__V1__BoardReply *rep, const int64_t *ids)
{
	char *list = db_bigint_array(ctx->arena, ids, rep->n_expected);
	db_params p;
	PGresult *r;

	if (!list)
		return CHECKIN_NOMEM(ctx);
	dbp_init(&p);
	dbp_text(&p, list);
	r = db_query(ctx,
		     "SELECT patient_id, CASE WHEN detail = '' THEN kind ELSE kind || ':' || detail END"
		     " FROM patient_readiness_gaps($1::bigint[], 30) ORDER BY patient_id, ord",
		     &p);
	if (!r)
		return ctx->status.code;
	int rows = PQntuples(r);
	for (size_t i = 0; i < rep->n_expected; i++) {
		Frontdesk__V1__ExpectedPatient *e = rep->expected[i];
		int first = 0, n = 0;
		while (first < rows && db_int(r, first, 0) != e->patient_id)
			first++;
		while (first + n < rows && db_int(r, first + n, 0) == e->patient_id)
			n++;
		e->readiness_gaps = fd_arena_alloc(ctx->arena, (size_t)(n + 1) * sizeof *e->readiness_gaps);
		for (int k = 0; e->readiness_gaps && k < n; k++) {
			if (!(e->readiness_gaps[k] = db_str(ctx->arena, r, first + k, 1)))
				break;
			e->n_readiness_gaps++;
		}
		if (e->n_readiness_gaps != (size_t)n) {
			PQclear(r);
			return CHECKIN_NOMEM(ctx);
		}
		e->ready = n == 0;
	}
	PQclear(r);
	return FD_OK;
}

/* The board's audit list (every patient present) and every patient
 * expected: all are shown, so all are audited, one row each. */
static int audit_expected(fd_ctx *ctx, const int64_t *ids, size_t n)
{
	size_t had = ctx->n_audit_patient_ids;
	int64_t *all = fd_arena_alloc(ctx->arena, (had + n + 1) * sizeof *all);

	if (!all)
		return CHECKIN_NOMEM(ctx);
	if (had)
		memcpy(all, ctx->audit_patient_ids, had * sizeof *all);
	memcpy(all + had, ids, n * sizeof *all);
	fd_ctx_audit_patients(ctx, all, had + n, "board");
	return FD_OK;
}

int checkin_load_expected(fd_ctx *ctx, int64_t location_id, uint32_t within_min,
			  Frontdesk__V1__BoardReply *rep)
{
	db_params p;
	PGresult *r;

	if (within_min == 0)
		return FD_OK;
	if (within_min > EXPECTED_MAX_WITHIN_MIN)
		return fd_fail(&ctx->status, FD_INVALID_ARGUMENT,
			       "expected_within_min is at most %d (12 hours)", EXPECTED_MAX_WITHIN_MIN);
	dbp_init(&p);
	dbp_int(&p, location_id);
	dbp_int(&p, within_min);
	dbp_int(&p, EXPECTED_MAX_ROWS);
	r = db_query(ctx,
		     "SELECT a.id, a.patient_id, pa.family_name || ', ' || pa.given_name,"
		     " local_text(a.starts_at, l.time_zone),"
		     " (extract(epoch FROM a.starts_at) * 1000)::bigint,"
		     " round(extract(epoch FROM a.starts_at - now()) / 60)::int,"
		     " a.status, pr.code, pr.display_name, t.code"
		     " FROM appointments a"
		     " JOIN patients pa ON pa.id = a.patient_id"
		     " JOIN locations l ON l.id = a.location_id"
		     " JOIN providers pr ON pr.id = a.provider_id"
		     " JOIN appointment_types t ON t.id = a.type_id"
		     " WHERE a.location_id = $1 AND a.status IN ('booked', 'confirmed')"
		     "   AND a.starts_at < now() + make_interval(mins => $2::int)"
		     /* The location's no-show window as one value (an init
		      * plan), so both ends of the time range bound the index
		      * scan. Taken per appointment (a lateral join), it was a
		      * filter: every past appointment of the location was read
		      * on every board refresh (29,000 rows, 6-20 ms, for a year
		      * of history). */
		     "   AND a.starts_at > now() - make_interval(mins =>"
		     "         (SELECT cs.no_show_after_min FROM checkin_settings_for($1) cs))"
		     "   AND NOT EXISTS (SELECT 1 FROM visits v WHERE v.appointment_id = a.id"
		     "                    AND visit_status_open(v.status))"
		     " ORDER BY a.starts_at, a.id LIMIT $3",
		     &p);
	if (!r)
		return ctx->status.code;
	int n = PQntuples(r);
	rep->expected = fd_arena_alloc(ctx->arena, (size_t)(n + 1) * sizeof *rep->expected);
	for (int i = 0; rep->expected && i < n; i++) {
		if (!(rep->expected[i] = expected_from_row(ctx, r, i)))
			break;
		rep->n_expected++;
	}
	PQclear(r);
	if (rep->n_expected != (size_t)n)
		return CHECKIN_NOMEM(ctx);
	if (n == 0)
		return FD_OK;
	int64_t *ids = fd_arena_alloc(ctx->arena, (size_t)n * sizeof *ids);
	if (!ids)
		return CHECKIN_NOMEM(ctx);
	for (int i = 0; i < n; i++)
		ids[i] = rep->expected[i]->patient_id;
	if (add_readiness(ctx, rep, ids) != FD_OK)
		return ctx->status.code;
	return audit_expected(ctx, ids, (size_t)n);
}
