/*
 * The board's look ahead: the patients expected at a location in the next
 * minutes (appointments booked or confirmed, nobody arrived yet), each with
 * its readiness gaps, so a desk can chase a missing form or an unverified
 * policy before the patient is at the window rather than while a queue
 * forms behind them.
 *
 * An appointment already past its start stays listed (as late) until the
 * location's no-show time, when the sweep would take it. Readiness is the
 * patients domain's own answer, asked in process per appointment, so the
 * board and `desk readiness` never disagree; each patient shown is audited
 * by that call. The list is capped: a board shows a few hours, not a week.
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

/* Fills one patient's readiness into the entry. */
static int add_readiness(fd_ctx *ctx, Frontdesk__V1__ExpectedPatient *e)
{
	char *kinds;
	bool checked = false;

	if (checkin_readiness(ctx, e->patient_id, &e->readiness_gaps, &e->n_readiness_gaps, &kinds,
			      &checked) != FD_OK)
		return ctx->status.code;
	e->ready = e->n_readiness_gaps == 0;
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
		     " CROSS JOIN LATERAL checkin_settings_for(a.location_id) cs"
		     " WHERE a.location_id = $1 AND a.status IN ('booked', 'confirmed')"
		     "   AND a.starts_at < now() + make_interval(mins => $2::int)"
		     "   AND a.starts_at > now() - make_interval(mins => cs.no_show_after_min)"
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
	for (size_t i = 0; i < rep->n_expected; i++)
		if (add_readiness(ctx, rep->expected[i]) != FD_OK)
			return ctx->status.code;
	return FD_OK;
}
