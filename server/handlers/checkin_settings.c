/*
 * A location's check-in timings: when an arrival counts as late, how long
 * after its start an appointment nobody arrived for becomes a no-show and
 * from which local time the sweep marks a day's no-shows, whether the sweep
 * runs at all, and the alert minutes per status the board flags. Read by
 * any staff, saved by admins. A location without saved settings shows the
 * defaults and is not swept.
 */
#include <stdio.h>
#include <string.h>

#include "checkin.h"
#include "scheduling.h"

static int load_settings(fd_ctx *ctx, int64_t location_id, Frontdesk__V1__CheckinSettings **out)
{
	Frontdesk__V1__CheckinSettings *s = fd_arena_alloc(ctx->arena, sizeof *s);
	db_params p;
	PGresult *r;

	if (!s)
		return CHECKIN_NOMEM(ctx);
	frontdesk__v1__checkin_settings__init(s);
	dbp_init(&p);
	dbp_int(&p, location_id);
	r = db_query(ctx,
		     "SELECT l.code, cs.late_after_min, cs.no_show_after_min,"
		     " to_char(cs.no_show_sweep_at, 'HH24:MI'), cs.no_show_sweep, cs.alert_arrived_min,"
		     " cs.alert_checked_in_min, cs.alert_in_room_min, cs.alert_with_provider_min,"
		     " EXISTS (SELECT 1 FROM checkin_settings x WHERE x.location_id = l.id)"
		     " FROM locations l CROSS JOIN LATERAL checkin_settings_for(l.id) cs WHERE l.id = $1",
		     &p);
	if (!r)
		return ctx->status.code;
	s->location = db_str(ctx->arena, r, 0, 0);
	s->late_after_min = (int32_t)db_int(r, 0, 1);
	s->no_show_after_min = (int32_t)db_int(r, 0, 2);
	s->no_show_sweep_at = db_str(ctx->arena, r, 0, 3);
	s->no_show_sweep = db_bool(r, 0, 4);
	s->alert_arrived_min = (int32_t)db_int(r, 0, 5);
	s->alert_checked_in_min = (int32_t)db_int(r, 0, 6);
	s->alert_in_room_min = (int32_t)db_int(r, 0, 7);
	s->alert_with_provider_min = (int32_t)db_int(r, 0, 8);
	s->configured = db_bool(r, 0, 9);
	PQclear(r);
	*out = s;
	return FD_OK;
}

int handle_checkin_get_settings(fd_ctx *ctx, const ProtobufCMessage *in, ProtobufCMessage **out)
{
	const Frontdesk__V1__GetSettingsRequest *req = (const void *)in;
	Frontdesk__V1__SettingsReply *rep = fd_arena_alloc(ctx->arena, sizeof *rep);
	int64_t location_id;

	if (!rep)
		return CHECKIN_NOMEM(ctx);
	frontdesk__v1__settings_reply__init(rep);
	if (checkin_resolve_location(ctx, req->location, &location_id, NULL) != FD_OK ||
	    load_settings(ctx, location_id, &rep->settings) != FD_OK)
		return ctx->status.code;
	*out = &rep->base;
	return FD_OK;
}

/* Minutes within [lo, hi], or 0 to keep the current value. */
static int check_minutes(fd_ctx *ctx, const char *what, int32_t v, int32_t lo, int32_t hi)
{
	if (v != 0 && (v < lo || v > hi))
		return fd_fail(&ctx->status, FD_INVALID_ARGUMENT, "%s is %d-%d minutes", what, lo, hi);
	return FD_OK;
}

int handle_checkin_save_settings(fd_ctx *ctx, const ProtobufCMessage *in, ProtobufCMessage **out)
{
	const Frontdesk__V1__SaveSettingsRequest *req = (const void *)in;
	const Frontdesk__V1__CheckinSettings *s = req->settings;
	Frontdesk__V1__SettingsReply *rep = fd_arena_alloc(ctx->arena, sizeof *rep);
	int64_t location_id;
	db_params p;

	if (!rep)
		return CHECKIN_NOMEM(ctx);
	frontdesk__v1__settings_reply__init(rep);
	if (!s)
		return fd_fail(&ctx->status, FD_INVALID_ARGUMENT, "give the settings");
	if (checkin_resolve_location(ctx, s->location, &location_id, NULL) != FD_OK ||
	    check_minutes(ctx, "late after", s->late_after_min, 1, 240) != FD_OK ||
	    check_minutes(ctx, "no-show after", s->no_show_after_min, 5, 1440) != FD_OK ||
	    check_minutes(ctx, "the arrived alert", s->alert_arrived_min, 1, 1440) != FD_OK ||
	    check_minutes(ctx, "the checked-in alert", s->alert_checked_in_min, 1, 1440) != FD_OK ||
	    check_minutes(ctx, "the in-room alert", s->alert_in_room_min, 1, 1440) != FD_OK ||
	    check_minutes(ctx, "the with-provider alert", s->alert_with_provider_min, 1, 1440) != FD_OK ||
	    (*s->no_show_sweep_at && sched_check_time(ctx, "sweep time", s->no_show_sweep_at) != FD_OK))
		return ctx->status.code;
	fd_ctx_audit(ctx, 0, fd_arena_printf(ctx->arena, "location:%lld", (long long)location_id));
	dbp_init(&p);
	dbp_int(&p, location_id);
	dbp_int(&p, s->late_after_min);
	dbp_int(&p, s->no_show_after_min);
	dbp_text(&p, s->no_show_sweep_at);
	dbp_bool(&p, s->no_show_sweep);
	dbp_int(&p, s->alert_arrived_min);
	dbp_int(&p, s->alert_checked_in_min);
	dbp_int(&p, s->alert_in_room_min);
	dbp_int(&p, s->alert_with_provider_min);
	/* Zero keeps what the location has now (its row, or the defaults). */
	if (db_exec(ctx,
		    "INSERT INTO checkin_settings AS t SELECT $1,"
		    " coalesce(nullif($2, 0), c.late_after_min), coalesce(nullif($3, 0), c.no_show_after_min),"
		    " coalesce(nullif($4, '')::time, c.no_show_sweep_at), $5,"
		    " coalesce(nullif($6, 0), c.alert_arrived_min), coalesce(nullif($7, 0), c.alert_checked_in_min),"
		    " coalesce(nullif($8, 0), c.alert_in_room_min), coalesce(nullif($9, 0), c.alert_with_provider_min)"
		    " FROM checkin_settings_for($1) c"
		    " ON CONFLICT (location_id) DO UPDATE SET late_after_min = excluded.late_after_min,"
		    " no_show_after_min = excluded.no_show_after_min, no_show_sweep_at = excluded.no_show_sweep_at,"
		    " no_show_sweep = excluded.no_show_sweep, alert_arrived_min = excluded.alert_arrived_min,"
		    " alert_checked_in_min = excluded.alert_checked_in_min,"
		    " alert_in_room_min = excluded.alert_in_room_min,"
		    " alert_with_provider_min = excluded.alert_with_provider_min",
		    &p) != FD_OK ||
	    db_notify(ctx, "checkin.settings", fd_arena_printf(ctx->arena, "location:%lld",
							       (long long)location_id)) != FD_OK ||
	    load_settings(ctx, location_id, &rep->settings) != FD_OK)
		return ctx->status.code;
	*out = &rep->base;
	return FD_OK;
}
