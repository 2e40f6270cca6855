/*
 * Check-in helpers shared by the handler files: the actor settings the
 * visit and appointment triggers read (who, from which desk, why), the
 * location a call is about, and the one query shape that turns visit and
 * payment rows into messages. Minutes in the current status, the late flag
 * and the alert time are computed in SQL from the location's settings, so
 * every view of a visit agrees.
 */
#include <stdio.h>
#include <string.h>

#include "checkin.h"
#include "scheduling.h"
#include "frontdesk/v1/intake.pb-c.h"

int checkin_resolve_location(fd_ctx *ctx, const char *code, int64_t *id, char **zone)
{
	db_params p;
	PGresult *r;

	if (*code && sched_check_code(ctx, "location", code) != FD_OK)
		return ctx->status.code;
	dbp_init(&p);
	dbp_text(&p, code);
	dbp_int(&p, ctx->session ? ctx->session->desk_id : 0);
	r = db_query(ctx,
		     "SELECT l.id, l.time_zone FROM locations l"
		     " WHERE CASE WHEN $1 = '' THEN l.id = (SELECT location_id FROM desks WHERE id = $2)"
		     "            ELSE l.code = $1 END",
		     &p);
	if (!r)
		return ctx->status.code;
	if (PQntuples(r) != 1) {
		PQclear(r);
		return *code ? fd_fail(&ctx->status, FD_NOT_FOUND, "no location has that code")
			     : fd_fail(&ctx->status, FD_INVALID_ARGUMENT,
				       "name the location (this session has no desk)");
	}
	*id = db_int(r, 0, 0);
	if (zone)
		*zone = db_str(ctx->arena, r, 0, 1);
	PQclear(r);
	return FD_OK;
}

/* The patient's name and the appointment's time are read per visit
 * (scalar subqueries on their primary keys) rather than joined: a board
 * lists a handful of visits, and with the tables joined the kept plan
 * merge-joined them against the whole patients index up to the highest
 * patient id on the board (62,000 index entries, 20 ms, half of the
 * bench mix's database time once walk-ins came from all 100,000
 * patients). */
const char checkin_visit_select[] =
	"SELECT v.id, v.patient_id,"
	" (SELECT pa.family_name || ', ' || pa.given_name FROM patients pa WHERE pa.id = v.patient_id),"
	" coalesce(v.appointment_id, 0), v.walk_in, l.code, v.status,"
	" (extract(epoch FROM v.status_since) * 1000)::bigint,"
	" floor(extract(epoch FROM now() - v.status_since) / 60)::int,"
	" coalesce(p.code, ''), coalesce(p.display_name, ''), coalesce(r.code, ''),"
	" coalesce(r.name, ''), (extract(epoch FROM v.arrived_at) * 1000)::bigint,"
	" local_text(v.arrived_at, l.time_zone),"
	" coalesce((SELECT local_text(a.starts_at, l.time_zone) FROM appointments a"
	"           WHERE a.id = v.appointment_id), ''),"
	" coalesce(v.arrival_offset_min, 0), coalesce(v.arrival_offset_min > cs.late_after_min, false),"
	" CASE v.status WHEN 'arrived' THEN cs.alert_arrived_min"
	"   WHEN 'checked_in' THEN cs.alert_checked_in_min WHEN 'in_room' THEN cs.alert_in_room_min"
	"   WHEN 'with_provider' THEN cs.alert_with_provider_min ELSE 0 END,"
	" v.readiness_gaps, coalesce(v.override_reason, ''), v.expected_copay_cents,"
	" coalesce((SELECT sum(CASE y.kind WHEN 'payment' THEN y.amount_cents ELSE -y.amount_cents END)"
	"           FROM payments y WHERE y.visit_id = v.id AND y.voided_at IS NULL), 0),"
	" coalesce(s.username, ''), coalesce(t.code, ''), visit_status_next(v.status)"
	" FROM visits v"
	" JOIN locations l ON l.id = v.location_id"
	" CROSS JOIN LATERAL checkin_settings_for(v.location_id) cs"
	" LEFT JOIN providers p ON p.id = v.provider_id"
	" LEFT JOIN resources r ON r.id = v.room_id"
	" LEFT JOIN staff s ON s.id = v.checked_in_by"
	" LEFT JOIN appointment_types t ON t.id = v.type_id ";

Frontdesk__V1__Visit *checkin_visit_from_row(fd_ctx *ctx, const PGresult *r, int row)
{
	Frontdesk__V1__Visit *v = fd_arena_alloc(ctx->arena, sizeof *v);
	fd_arena *m = ctx->arena;

	if (!v)
		return NULL;
	frontdesk__v1__visit__init(v);
	v->id = db_int(r, row, 0);
	v->patient_id = db_int(r, row, 1);
	v->patient_name = db_str(m, r, row, 2);
	v->appointment_id = db_int(r, row, 3);
	v->walk_in = db_bool(r, row, 4);
	v->location = db_str(m, r, row, 5);
	v->status = db_str(m, r, row, 6);
	v->status_since_unix_ms = db_int(r, row, 7);
	v->minutes_in_status = (int32_t)db_int(r, row, 8);
	v->provider = db_str(m, r, row, 9);
	v->provider_name = db_str(m, r, row, 10);
	v->room = db_str(m, r, row, 11);
	v->room_name = db_str(m, r, row, 12);
	v->arrived_unix_ms = db_int(r, row, 13);
	v->arrived_local = db_str(m, r, row, 14);
	v->appointment_local = db_str(m, r, row, 15);
	v->arrival_offset_min = (int32_t)db_int(r, row, 16);
	v->late = db_bool(r, row, 17);
	v->alert_after_min = (int32_t)db_int(r, row, 18);
	/* Closed visits have no alert time, so they never wait too long. */
	v->waiting_too_long = v->alert_after_min > 0 && v->minutes_in_status >= v->alert_after_min;
	v->readiness_gaps = db_text_array(m, r, row, 19, &v->n_readiness_gaps);
	v->override_reason = db_str(m, r, row, 20);
	v->expected_copay_cents = db_int(r, row, 21);
	v->paid_cents = db_int(r, row, 22);
	v->checked_in_by = db_str(m, r, row, 23);
	v->type = db_str(m, r, row, 24);
	v->next_statuses = db_text_array(m, r, row, 25, &v->n_next_statuses);
	return v;
}

int checkin_load_visit(fd_ctx *ctx, int64_t id, Frontdesk__V1__Visit **out)
{
	char *sql = fd_arena_printf(ctx->arena, "%s WHERE v.id = $1", checkin_visit_select);
	db_params p;
	PGresult *r;

	if (!sql)
		return CHECKIN_NOMEM(ctx);
	dbp_init(&p);
	dbp_int(&p, id);
	if (!(r = db_query(ctx, sql, &p)))
		return ctx->status.code;
	if (PQntuples(r) != 1) {
		PQclear(r);
		return fd_fail(&ctx->status, FD_NOT_FOUND, "no visit has id %lld", (long long)id);
	}
	*out = checkin_visit_from_row(ctx, r, 0);
	PQclear(r);
	return *out ? FD_OK : CHECKIN_NOMEM(ctx);
}

const char checkin_payment_select[] =
	"SELECT y.id, y.visit_id, y.patient_id, y.kind, coalesce(y.refund_of, 0), y.amount_cents,"
	" y.method, coalesce(y.check_number, ''), y.receipt_number,"
	" (extract(epoch FROM y.received_at) * 1000)::bigint, local_text(y.received_at, l.time_zone),"
	" rs.username, coalesce(d.code, ''), coalesce(y.reason, ''), y.voided_at IS NOT NULL,"
	" coalesce(vs.username, ''), coalesce(y.void_reason, ''), y.note"
	" FROM payments y"
	" JOIN visits v ON v.id = y.visit_id"
	" JOIN locations l ON l.id = v.location_id"
	" JOIN staff rs ON rs.id = y.received_by"
	" LEFT JOIN staff vs ON vs.id = y.voided_by"
	" LEFT JOIN desks d ON d.id = y.desk_id ";

Frontdesk__V1__Payment *checkin_payment_from_row(fd_ctx *ctx, const PGresult *r, int row)
{
	Frontdesk__V1__Payment *y = fd_arena_alloc(ctx->arena, sizeof *y);
	fd_arena *m = ctx->arena;

	if (!y)
		return NULL;
	frontdesk__v1__payment__init(y);
	y->id = db_int(r, row, 0);
	y->visit_id = db_int(r, row, 1);
	y->patient_id = db_int(r, row, 2);
	y->kind = db_str(m, r, row, 3);
	y->refund_of = db_int(r, row, 4);
	y->amount_cents = db_int(r, row, 5);
	y->method = db_str(m, r, row, 6);
	y->check_number = db_str(m, r, row, 7);
	y->receipt_number = db_str(m, r, row, 8);
	y->received_unix_ms = db_int(r, row, 9);
	y->received_local = db_str(m, r, row, 10);
	y->received_by = db_str(m, r, row, 11);
	y->desk = db_str(m, r, row, 12);
	y->reason = db_str(m, r, row, 13);
	y->voided = db_bool(r, row, 14);
	y->voided_by = db_str(m, r, row, 15);
	y->void_reason = db_str(m, r, row, 16);
	y->note = db_str(m, r, row, 17);
	return y;
}

char *checkin_money(fd_ctx *ctx, int64_t cents)
{
	unsigned long long a = cents < 0 ? (unsigned long long)-(cents + 1) + 1 : (unsigned long long)cents;

	return fd_arena_printf(ctx->arena, "%s%llu.%02llu", cents < 0 ? "-" : "", a / 100, a % 100);
}

int checkin_readiness(fd_ctx *ctx, int64_t patient_id, char ***gaps, size_t *n, char **kinds,
		      bool *checked)
{
	Frontdesk__V1__ReadinessRequest req = FRONTDESK__V1__READINESS_REQUEST__INIT;
	ProtobufCMessage *out = NULL;

	req.patient_id = patient_id;
	if (handle_intake_readiness(ctx, &req.base, &out) != FD_OK)
		return ctx->status.code;
	const Frontdesk__V1__ReadinessReply *rep = (const void *)out;
	*gaps = fd_arena_alloc(ctx->arena, (rep->n_gaps + 1) * sizeof **gaps);
	*kinds = fd_arena_strdup(ctx->arena, "");
	if (!*gaps || !*kinds)
		return CHECKIN_NOMEM(ctx);
	for (size_t i = 0; i < rep->n_gaps; i++) {
		const Frontdesk__V1__ReadinessGap *g = rep->gaps[i];
		(*gaps)[i] = *g->detail ? fd_arena_printf(ctx->arena, "%s:%s", g->kind, g->detail)
					: fd_arena_strdup(ctx->arena, g->kind);
		if (!strstr(*kinds, g->kind))
			*kinds = fd_arena_printf(ctx->arena, "%s%s%s", *kinds, **kinds ? ", " : "",
						 g->kind);
		if (!(*gaps)[i] || !*kinds)
			return CHECKIN_NOMEM(ctx);
	}
	*n = rep->n_gaps;
	*checked = true;
	return FD_OK;
}
