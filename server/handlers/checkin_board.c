/*
 * The waiting-room board: every patient present at a location (every open
 * visit), with status, provider, room, minutes in the current status and
 * the flags a desk acts on (late against the appointment, waiting longer
 * than the location's alert time for that status, readiness gaps that were
 * overridden at check-in), and when asked the patients expected soon with
 * their readiness gaps (checkin_expected.c).
 *
 * Order: by stage of the flow (arrived, checked in, in a room, with the
 * provider: the front of the clinic first), and within a stage the longest
 * in that status first, so whoever has waited longest is at the top of
 * their group. Every patient shown is audited.
 */
#include <stdio.h>
#include <string.h>

#include "checkin.h"

static int load_board(fd_ctx *ctx, int64_t location_id, Frontdesk__V1__BoardReply *rep)
{
	char *sql = fd_arena_printf(ctx->arena,
				    "%s WHERE v.location_id = $1 AND visit_status_open(v.status)"
				    " ORDER BY array_position(ARRAY['arrived','checked_in','in_room',"
				    "'with_provider'], v.status), v.status_since, v.id",
				    checkin_visit_select);
	db_params p;
	PGresult *r;

	if (!sql)
		return CHECKIN_NOMEM(ctx);
	dbp_init(&p);
	dbp_int(&p, location_id);
	if (!(r = db_query(ctx, sql, &p)))
		return ctx->status.code;
	int n = PQntuples(r);
	int64_t *ids = fd_arena_alloc(ctx->arena, (size_t)(n + 1) * sizeof *ids);
	rep->visits = fd_arena_alloc(ctx->arena, (size_t)(n + 1) * sizeof *rep->visits);
	for (int i = 0; ids && rep->visits && i < n; i++) {
		if (!(rep->visits[i] = checkin_visit_from_row(ctx, r, i)))
			break;
		ids[i] = rep->visits[i]->patient_id;
		rep->n_visits++;
	}
	PQclear(r);
	if (rep->n_visits != (size_t)n)
		return CHECKIN_NOMEM(ctx);
	fd_ctx_audit_patients(ctx, ids, rep->n_visits, "board");
	return FD_OK;
}

int handle_checkin_board(fd_ctx *ctx, const ProtobufCMessage *in, ProtobufCMessage **out)
{
	const Frontdesk__V1__BoardRequest *req = (const void *)in;
	Frontdesk__V1__BoardReply *rep = fd_arena_alloc(ctx->arena, sizeof *rep);
	int64_t location_id;
	char *zone;
	db_params p;
	PGresult *r;

	if (!rep)
		return CHECKIN_NOMEM(ctx);
	frontdesk__v1__board_reply__init(rep);
	if (checkin_resolve_location(ctx, req->location, &location_id, &zone) != FD_OK)
		return ctx->status.code;
	dbp_init(&p);
	dbp_int(&p, location_id);
	r = db_query(ctx, "SELECT code, local_text(now(), time_zone) FROM locations WHERE id = $1", &p);
	if (!r)
		return ctx->status.code;
	rep->location = db_str(ctx->arena, r, 0, 0);
	rep->now_local = db_str(ctx->arena, r, 0, 1);
	rep->time_zone = zone;
	PQclear(r);
	if (load_board(ctx, location_id, rep) != FD_OK ||
	    checkin_load_expected(ctx, location_id, req->expected_within_min, rep) != FD_OK)
		return ctx->status.code;
	*out = &rep->base;
	return FD_OK;
}
