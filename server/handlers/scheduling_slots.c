/*
 * Open-slot search. The rules live in one database function, open_slots()
 * (migrations/0003_scheduling.sql; rooms held by offers 0010; computed in
 * a cheaper order, in PL/pgSQL with a kept plan, 0012), which booking and
 * the waitlist use too, so a slot the
 * search offers is exactly a slot a booking accepts. This file resolves the
 * request (type, location, providers, local date range, time of day) and
 * shapes the answer. "First available" is first_open_slot()
 * (migrations/0008), which asks open_slots() one local day at a time and
 * stops at the first day with a free slot, so the common case reads one
 * day, in one statement whose plan the database keeps.
 */
#include <stdio.h>
#include <string.h>

#include "scheduling.h"

#define SLOTS_DEFAULT 50
#define SLOTS_MAX 500
#define RANGE_MAX_DAYS 92

/* The type, location and provider set a search runs over. */
struct search {
	int64_t type_id;
	int64_t location_id;
	int horizon_days;
	const char *providers; /* bigint[] literal */
	const char *today;     /* the location's local date */
};

/* The statement of a search names only the filters the desk set: an
 * unused filter written as "$3 IS NULL OR ..." stays in the plan
 * PostgreSQL keeps (the generic one), and cost the common search (a type
 * at a location, any provider) three times its work. At most eight
 * statements, each prepared once per connection. */
static int resolve_search(fd_ctx *ctx, const Frontdesk__V1__FindSlotsRequest *req, struct search *s)
{
	char location[48] = "id = (SELECT min(id) FROM locations)", named[160] = "";
	char provider[80] = "", specialty[48] = "";
	const char *known = "true";
	int n = 1;
	db_params p;
	PGresult *r;

	dbp_init(&p);
	dbp_text(&p, req->type);
	if (*req->location) {
		dbp_text(&p, req->location);
		snprintf(location, sizeof location, "code = $%d", ++n);
	}
	if (*req->provider) {
		dbp_text(&p, req->provider);
		n++;
		snprintf(named, sizeof named,
			 " , named AS (SELECT id FROM providers WHERE code = $%d OR id = "
			 "CASE WHEN $%d ~ '^[0-9]{1,18}$' THEN $%d::bigint END)",
			 n, n, n);
		snprintf(provider, sizeof provider, " AND p.id IN (SELECT id FROM named)");
		known = "EXISTS (SELECT 1 FROM named)";
	}
	if (*req->specialty) {
		dbp_text(&p, req->specialty);
		snprintf(specialty, sizeof specialty, " AND $%d = ANY (p.specialties)", ++n);
	}
	const char *sql = fd_arena_printf(
		ctx->arena,
		"WITH t AS (SELECT id, horizon_days FROM appointment_types"
		"           WHERE active AND (code = $1 OR id = " SCHED_ID_OF("$1") "))"
		" , l AS (SELECT id, time_zone FROM locations WHERE %s)%s"
		" SELECT (SELECT id FROM t), (SELECT id FROM l), (SELECT horizon_days FROM t), %s,"
		"  (SELECT coalesce(array_agg(p.id ORDER BY p.id), '{}') FROM providers p"
		"    WHERE p.active"
		"      AND EXISTS (SELECT 1 FROM provider_types pt, t"
		"                  WHERE pt.provider_id = p.id AND pt.type_id = t.id)"
		"      AND EXISTS (SELECT 1 FROM provider_locations pl, l"
		"                  WHERE pl.provider_id = p.id AND pl.location_id = l.id)%s%s),"
		"  (SELECT (now() AT TIME ZONE time_zone)::date::text FROM l)",
		location, named, known, provider, specialty);
	if (!sql)
		return SCHED_NOMEM(ctx);
	r = db_query(ctx, sql, &p);
	if (!r)
		return ctx->status.code;
	bool no_type = PQgetisnull(r, 0, 0), no_location = PQgetisnull(r, 0, 1);
	bool provider_known = db_bool(r, 0, 3);
	s->type_id = db_int(r, 0, 0);
	s->location_id = db_int(r, 0, 1);
	s->horizon_days = (int)db_int(r, 0, 2);
	s->providers = db_str(ctx->arena, r, 0, 4);
	s->today = db_str(ctx->arena, r, 0, 5);
	PQclear(r);
	if (no_type)
		return fd_fail(&ctx->status, FD_NOT_FOUND, "no active appointment type has that code or id");
	if (no_location)
		return fd_fail(&ctx->status, FD_NOT_FOUND, "no location has that code");
	if (!provider_known)
		return fd_fail(&ctx->status, FD_NOT_FOUND, "no provider has that code or id");
	return FD_OK;
}

static Frontdesk__V1__Slot *slot_from_row(fd_ctx *ctx, const PGresult *r, int row)
{
	Frontdesk__V1__Slot *s = fd_arena_alloc(ctx->arena, sizeof *s);

	if (!s)
		return NULL;
	frontdesk__v1__slot__init(s);
	s->provider_id = db_int(r, row, 0);
	s->provider = db_str(ctx->arena, r, row, 1);
	s->provider_name = db_str(ctx->arena, r, row, 2);
	s->location = db_str(ctx->arena, r, row, 3);
	s->time_zone = db_str(ctx->arena, r, row, 4);
	s->starts_local = db_str(ctx->arena, r, row, 5);
	s->ends_local = db_str(ctx->arena, r, row, 6);
	s->starts_unix_ms = db_int(r, row, 7);
	s->ends_unix_ms = db_int(r, row, 8);
	return s;
}

/* Open slots from local day `from` for `days` days (the search's zone). */
static PGresult *query_slots(fd_ctx *ctx, const struct search *s, const char *from, int days,
			     const char *time_of_day, int limit)
{
	db_params p;

	dbp_init(&p);
	dbp_int(&p, s->type_id);
	dbp_int(&p, s->location_id);
	dbp_text(&p, s->providers);
	dbp_text(&p, from);
	dbp_int(&p, days);
	dbp_text(&p, time_of_day);
	dbp_int(&p, limit);
	return db_query(ctx,
			"SELECT s.provider_id, p.code, p.display_name, l.code, l.time_zone,"
			" local_text(s.starts_at, l.time_zone), local_text(s.ends_at, l.time_zone),"
			" (extract(epoch FROM s.starts_at) * 1000)::bigint,"
			" (extract(epoch FROM s.ends_at) * 1000)::bigint"
			" FROM locations l,"
			"  open_slots($1, $2, $3::bigint[],"
			"             $4::date::timestamp AT TIME ZONE l.time_zone,"
			"             ($4::date + $5::int)::timestamp AT TIME ZONE l.time_zone) s"
			" JOIN providers p ON p.id = s.provider_id"
			" WHERE l.id = $2"
			"  AND ($6 = '' OR ($6 = 'morning') = ((s.starts_at AT TIME ZONE l.time_zone)::time"
			"                                        < time '12:00'))"
			" ORDER BY s.starts_at, p.display_name, p.id LIMIT $7",
			&p);
}

/* The first open slot from local day `from`, looking at most `days` days
 * (the search's zone), as the same columns as query_slots(): zero rows or
 * one. */
static PGresult *query_first_slot(fd_ctx *ctx, const struct search *s, const char *from, int days,
				  const char *time_of_day)
{
	db_params p;

	dbp_init(&p);
	dbp_int(&p, s->type_id);
	dbp_int(&p, s->location_id);
	dbp_text(&p, s->providers);
	dbp_text(&p, from);
	dbp_int(&p, days);
	dbp_text(&p, time_of_day);
	return db_query(ctx,
			"SELECT s.provider_id, p.code, p.display_name, l.code, l.time_zone,"
			" local_text(s.starts_at, l.time_zone), local_text(s.ends_at, l.time_zone),"
			" (extract(epoch FROM s.starts_at) * 1000)::bigint,"
			" (extract(epoch FROM s.ends_at) * 1000)::bigint"
			" FROM first_open_slot($1, $2, $3::bigint[], $4::date, $5, $6) s"
			" JOIN providers p ON p.id = s.provider_id"
			" JOIN locations l ON l.id = $2",
			&p);
}

/* Days between two checked dates (SQL does the calendar). */
static int days_between(fd_ctx *ctx, const char *from, const char *to, int *days)
{
	db_params p;
	PGresult *r;

	dbp_init(&p);
	dbp_text(&p, from);
	dbp_text(&p, to);
	if (!(r = db_query(ctx, "SELECT $2::date - $1::date", &p)))
		return ctx->status.code;
	*days = (int)db_int(r, 0, 0);
	PQclear(r);
	return FD_OK;
}

int handle_sched_find_slots(fd_ctx *ctx, const ProtobufCMessage *in, ProtobufCMessage **out)
{
	const Frontdesk__V1__FindSlotsRequest *req = (const void *)in;
	Frontdesk__V1__FindSlotsReply *rep = fd_arena_alloc(ctx->arena, sizeof *rep);
	struct search s;
	const char *from;
	int days = 7, limit = req->limit ? req->limit : SLOTS_DEFAULT;
	PGresult *r = NULL;

	if (!rep)
		return SCHED_NOMEM(ctx);
	if (!*req->type)
		return fd_fail(&ctx->status, FD_INVALID_ARGUMENT, "name the appointment type");
	if (strcmp(req->time_of_day, "") != 0 && strcmp(req->time_of_day, "morning") != 0 &&
	    strcmp(req->time_of_day, "afternoon") != 0)
		return fd_fail(&ctx->status, FD_INVALID_ARGUMENT,
			       "the time of day is morning or afternoon");
	if (limit < 1 || limit > SLOTS_MAX)
		return fd_fail(&ctx->status, FD_INVALID_ARGUMENT, "the limit must be 1-%d", SLOTS_MAX);
	if ((*req->from_date && sched_check_date(ctx, "the first day", req->from_date) != FD_OK) ||
	    (*req->to_date && sched_check_date(ctx, "the last day", req->to_date) != FD_OK) ||
	    (*req->location && sched_check_code(ctx, "the location code", req->location) != FD_OK) ||
	    resolve_search(ctx, req, &s) != FD_OK)
		return ctx->status.code;
	from = *req->from_date ? req->from_date : s.today;
	if (*req->to_date) {
		if (days_between(ctx, from, req->to_date, &days) != FD_OK)
			return ctx->status.code;
		if (days < 0)
			return fd_fail(&ctx->status, FD_INVALID_ARGUMENT,
				       "the last day must not be before the first");
		if (++days > RANGE_MAX_DAYS)
			return fd_fail(&ctx->status, FD_INVALID_ARGUMENT,
				       "search at most %d days at once", RANGE_MAX_DAYS);
	}
	if (req->first_available) {
		/* Up to the horizon (plus today); an explicit last day caps it. */
		int cap = *req->to_date ? days : s.horizon_days + 1;

		if (!(r = query_first_slot(ctx, &s, from, cap, req->time_of_day)))
			return ctx->status.code;
	} else if (!(r = query_slots(ctx, &s, from, days, req->time_of_day, limit))) {
		return ctx->status.code;
	}
	frontdesk__v1__find_slots_reply__init(rep);
	rep->n_slots = (size_t)PQntuples(r);
	rep->slots = fd_arena_alloc(ctx->arena, (rep->n_slots + 1) * sizeof *rep->slots);
	for (size_t i = 0; rep->slots && i < rep->n_slots; i++)
		if (!(rep->slots[i] = slot_from_row(ctx, r, (int)i)))
			rep->slots = NULL;
	PQclear(r);
	if (!rep->slots)
		return SCHED_NOMEM(ctx);
	*out = &rep->base;
	return FD_OK;
}

int sched_next_free(fd_ctx *ctx, int64_t type_id, int64_t location_id, int64_t provider_id,
		    const char *after, int64_t ignore, char **list)
{
	db_params p;
	PGresult *r;

	dbp_init(&p);
	dbp_int(&p, type_id);
	dbp_int(&p, location_id);
	dbp_int(&p, provider_id);
	dbp_text(&p, after);
	dbp_int(&p, ignore);
	r = db_query(ctx,
		     "SELECT coalesce(string_agg(local_text(s.starts_at, l.time_zone), ', '"
		     "                           ORDER BY s.starts_at), '')"
		     " FROM locations l, LATERAL (SELECT * FROM open_slots($1, $2, ARRAY[$3::bigint],"
		     "   $4::timestamptz, $4::timestamptz + interval '28 days', $5)"
		     "   ORDER BY starts_at LIMIT 3) s"
		     " WHERE l.id = $2",
		     &p);
	if (!r)
		return ctx->status.code;
	*list = db_str(ctx->arena, r, 0, 0);
	PQclear(r);
	return FD_OK;
}
