/*
 * Scheduling's reference data, edited by admins and read by every desk:
 * providers (with their locations and the types they offer), appointment
 * types, rooms and equipment, weekly hour templates, exceptions (time off,
 * extra hours) and holidays. Saves are upserts by code so a clinic can keep
 * its setup in a script and run it again. Every change is announced as a
 * "scheduling.changed" event: desks refresh their pick lists on it.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "scheduling.h"

/* Renders checked codes as a text[] literal. The codes passed
 * sched_check_code (or the kind pattern), so they need no quoting. */
static int codes_literal(fd_ctx *ctx, const char *what, char **codes, size_t n, size_t max,
			 bool kinds, char **lit)
{
	size_t cap = 3 + n * 34;
	char *s;

	if (n > max)
		return fd_fail(&ctx->status, FD_INVALID_ARGUMENT, "at most %zu %s", max, what);
	if (!(s = fd_arena_alloc(ctx->arena, cap)))
		return SCHED_NOMEM(ctx);
	strcpy(s, "{");
	for (size_t i = 0; i < n; i++) {
		if (sched_check_code(ctx, what, codes[i]) != FD_OK)
			return ctx->status.code;
		if (kinds && (strchr(codes[i], '.') || strchr(codes[i], '-')))
			return fd_fail(&ctx->status, FD_INVALID_ARGUMENT,
				       "%s are lowercase words joined by '_'", what);
		if (i)
			strcat(s, ",");
		strcat(s, codes[i]);
	}
	strcat(s, "}");
	*lit = s;
	return FD_OK;
}

static int changed(fd_ctx *ctx, const char *subject)
{
	fd_ctx_audit(ctx, 0, subject);
	return db_notify(ctx, "scheduling.changed", subject);
}

/* --- providers ------------------------------------------------------- */

static const char provider_select[] =
	"SELECT p.id, p.code, p.display_name, p.specialties,"
	" coalesce((SELECT array_agg(l.code ORDER BY l.code) FROM provider_locations pl"
	"           JOIN locations l ON l.id = pl.location_id WHERE pl.provider_id = p.id), '{}'),"
	" coalesce((SELECT array_agg(t.code ORDER BY t.code) FROM provider_types pt"
	"           JOIN appointment_types t ON t.id = pt.type_id WHERE pt.provider_id = p.id), '{}'),"
	" p.active, coalesce(s.username, '')"
	" FROM providers p LEFT JOIN staff s ON s.id = p.staff_id ";

static Frontdesk__V1__Provider *provider_from_row(fd_ctx *ctx, const PGresult *r, int row)
{
	Frontdesk__V1__Provider *p = fd_arena_alloc(ctx->arena, sizeof *p);

	if (!p)
		return NULL;
	frontdesk__v1__provider__init(p);
	p->id = db_int(r, row, 0);
	p->code = db_str(ctx->arena, r, row, 1);
	p->display_name = db_str(ctx->arena, r, row, 2);
	p->specialties = db_text_array(ctx->arena, r, row, 3, &p->n_specialties);
	p->locations = db_text_array(ctx->arena, r, row, 4, &p->n_locations);
	p->types = db_text_array(ctx->arena, r, row, 5, &p->n_types);
	p->active = db_bool(r, row, 6);
	p->staff_username = db_str(ctx->arena, r, row, 7);
	return p;
}

int handle_sched_list_providers(fd_ctx *ctx, const ProtobufCMessage *in, ProtobufCMessage **out)
{
	const Frontdesk__V1__ListProvidersRequest *req = (const void *)in;
	Frontdesk__V1__ListProvidersReply *rep = fd_arena_alloc(ctx->arena, sizeof *rep);
	char *sql = fd_arena_printf(
		ctx->arena,
		"%s WHERE (p.active OR $1)"
		" AND ($2::text IS NULL OR EXISTS (SELECT 1 FROM provider_types pt"
		"      JOIN appointment_types t ON t.id = pt.type_id"
		"      WHERE pt.provider_id = p.id AND t.code = $2))"
		" AND ($3::text IS NULL OR EXISTS (SELECT 1 FROM provider_locations pl"
		"      JOIN locations l ON l.id = pl.location_id"
		"      WHERE pl.provider_id = p.id AND l.code = $3))"
		" ORDER BY p.display_name, p.id",
		provider_select);
	db_params p;
	PGresult *r;

	if (!rep || !sql)
		return SCHED_NOMEM(ctx);
	dbp_init(&p);
	dbp_bool(&p, req->include_inactive);
	dbp_text_or_null(&p, req->type);
	dbp_text_or_null(&p, req->location);
	if (!(r = db_query(ctx, sql, &p)))
		return ctx->status.code;
	frontdesk__v1__list_providers_reply__init(rep);
	rep->n_providers = (size_t)PQntuples(r);
	rep->providers = fd_arena_alloc(ctx->arena, (rep->n_providers + 1) * sizeof *rep->providers);
	for (size_t i = 0; rep->providers && i < rep->n_providers; i++)
		if (!(rep->providers[i] = provider_from_row(ctx, r, (int)i)))
			rep->providers = NULL;
	PQclear(r);
	if (!rep->providers)
		return SCHED_NOMEM(ctx);
	*out = &rep->base;
	return FD_OK;
}

static int load_provider(fd_ctx *ctx, int64_t id, Frontdesk__V1__Provider **p)
{
	char *sql = fd_arena_printf(ctx->arena, "%s WHERE p.id = $1", provider_select);
	db_params params;
	PGresult *r;

	if (!sql)
		return SCHED_NOMEM(ctx);
	dbp_init(&params);
	dbp_int(&params, id);
	if (!(r = db_query(ctx, sql, &params)))
		return ctx->status.code;
	*p = PQntuples(r) == 1 ? provider_from_row(ctx, r, 0) : NULL;
	PQclear(r);
	return *p ? FD_OK : SCHED_NOMEM(ctx);
}

/* Replaces a provider's set of locations or types with the named codes;
 * NOT_FOUND when a code names nothing. A location still used by the
 * provider's templates cannot be dropped (the foreign key says so). */
static int replace_links(fd_ctx *ctx, int64_t provider_id, const char *codes, bool types)
{
	static const char locations_sql[] =
		"WITH want AS (SELECT id FROM locations WHERE code = ANY ($2::text[]))"
		" , gone AS (DELETE FROM provider_locations WHERE provider_id = $1"
		"            AND location_id NOT IN (SELECT id FROM want) RETURNING 1)"
		" , added AS (INSERT INTO provider_locations (provider_id, location_id)"
		"             SELECT $1, id FROM want ON CONFLICT DO NOTHING RETURNING 1)"
		" SELECT (SELECT count(*) FROM want),"
		"        (SELECT count(DISTINCT c) FROM unnest($2::text[]) c)";
	static const char types_sql[] =
		"WITH want AS (SELECT id FROM appointment_types WHERE code = ANY ($2::text[]))"
		" , gone AS (DELETE FROM provider_types WHERE provider_id = $1"
		"            AND type_id NOT IN (SELECT id FROM want) RETURNING 1)"
		" , added AS (INSERT INTO provider_types (provider_id, type_id)"
		"             SELECT $1, id FROM want ON CONFLICT DO NOTHING RETURNING 1)"
		" SELECT (SELECT count(*) FROM want),"
		"        (SELECT count(DISTINCT c) FROM unnest($2::text[]) c)";
	db_params p;
	PGresult *r;

	dbp_init(&p);
	dbp_int(&p, provider_id);
	dbp_text(&p, codes);
	if (!(r = db_query(ctx, types ? types_sql : locations_sql, &p)))
		return ctx->status.code;
	bool all_found = db_int(r, 0, 0) == db_int(r, 0, 1);
	PQclear(r);
	if (!all_found)
		return fd_fail(&ctx->status, FD_NOT_FOUND,
			       types ? "an appointment type code names no type"
				     : "a location code names no location");
	return FD_OK;
}

int handle_sched_save_provider(fd_ctx *ctx, const ProtobufCMessage *in, ProtobufCMessage **out)
{
	const Frontdesk__V1__SaveProviderRequest *req = (const void *)in;
	Frontdesk__V1__SaveProviderReply *rep = fd_arena_alloc(ctx->arena, sizeof *rep);
	char *specialties, *locations, *types;
	db_params p;
	PGresult *r;

	if (!rep)
		return SCHED_NOMEM(ctx);
	if (sched_check_code(ctx, "the provider code", req->code) != FD_OK ||
	    sched_check_text(ctx, "the display name", req->display_name, 1, 200, false) != FD_OK ||
	    codes_literal(ctx, "specialties", req->specialties, req->n_specialties, 10, true,
			  &specialties) != FD_OK ||
	    codes_literal(ctx, "location codes", req->locations, req->n_locations, 20, false,
			  &locations) != FD_OK ||
	    codes_literal(ctx, "appointment type codes", req->types, req->n_types, 50, false,
			  &types) != FD_OK)
		return ctx->status.code;
	if (req->n_locations == 0)
		return fd_fail(&ctx->status, FD_INVALID_ARGUMENT,
			       "name at least one location the provider works at");
	if (*req->staff_username &&
	    sched_check_text(ctx, "the staff user name", req->staff_username, 1, 64, false) != FD_OK)
		return ctx->status.code;
	dbp_init(&p);
	dbp_text(&p, req->code);
	dbp_text(&p, req->display_name);
	dbp_text(&p, specialties);
	dbp_text_or_null(&p, req->staff_username);
	dbp_bool(&p, !req->inactive);
	r = db_query(ctx,
		     "WITH s AS (SELECT (SELECT id FROM staff WHERE username = $4) AS id)"
		     " INSERT INTO providers (code, display_name, specialties, staff_id, active)"
		     " SELECT $1, $2, $3::text[], s.id, $5 FROM s"
		     "  WHERE $4::text IS NULL OR s.id IS NOT NULL"
		     " ON CONFLICT (code) DO UPDATE SET display_name = EXCLUDED.display_name,"
		     "   specialties = EXCLUDED.specialties, staff_id = EXCLUDED.staff_id,"
		     "   active = EXCLUDED.active"
		     " RETURNING id",
		     &p);
	if (!r)
		return ctx->status.code;
	if (PQntuples(r) != 1) {
		PQclear(r);
		return fd_fail(&ctx->status, FD_NOT_FOUND, "no staff member has that user name");
	}
	int64_t id = db_int(r, 0, 0);
	PQclear(r);
	if (replace_links(ctx, id, locations, false) != FD_OK ||
	    replace_links(ctx, id, types, true) != FD_OK)
		return ctx->status.code;
	frontdesk__v1__save_provider_reply__init(rep);
	if (load_provider(ctx, id, &rep->provider) != FD_OK ||
	    changed(ctx, fd_arena_printf(ctx->arena, "provider:%lld", (long long)id)) != FD_OK)
		return ctx->status.code;
	*out = &rep->base;
	return FD_OK;
}

/* --- appointment types ----------------------------------------------- */

static const char type_select[] =
	"SELECT id, code, name, duration_min, buffer_before_min, buffer_after_min,"
	" resource_kinds, min_notice_min, horizon_days, coalesce(per_day_limit, 0), grid_min,"
	" color, array_to_string(reminder_minutes, ','), active FROM appointment_types ";

static Frontdesk__V1__AppointmentType *type_from_row(fd_ctx *ctx, const PGresult *r, int row)
{
	Frontdesk__V1__AppointmentType *t = fd_arena_alloc(ctx->arena, sizeof *t);
	const char *mins = PQgetvalue(r, row, 12);
	size_t n = *mins ? 1 : 0;

	if (!t)
		return NULL;
	frontdesk__v1__appointment_type__init(t);
	t->id = db_int(r, row, 0);
	t->code = db_str(ctx->arena, r, row, 1);
	t->name = db_str(ctx->arena, r, row, 2);
	t->duration_min = (int32_t)db_int(r, row, 3);
	t->buffer_before_min = (int32_t)db_int(r, row, 4);
	t->buffer_after_min = (int32_t)db_int(r, row, 5);
	t->resource_kinds = db_text_array(ctx->arena, r, row, 6, &t->n_resource_kinds);
	t->min_notice_min = (int32_t)db_int(r, row, 7);
	t->horizon_days = (int32_t)db_int(r, row, 8);
	t->per_day_limit = (int32_t)db_int(r, row, 9);
	t->grid_min = (int32_t)db_int(r, row, 10);
	t->color = db_str(ctx->arena, r, row, 11);
	for (const char *c = mins; *c; c++)
		n += *c == ',';
	t->reminder_minutes = fd_arena_alloc(ctx->arena, (n + 1) * sizeof *t->reminder_minutes);
	if (!t->reminder_minutes)
		return NULL;
	for (const char *c = mins; t->n_reminder_minutes < n; c = strchr(c, ',') + 1)
		t->reminder_minutes[t->n_reminder_minutes++] = (int32_t)strtol(c, NULL, 10);
	t->active = db_bool(r, row, 13);
	return t;
}

int handle_sched_list_types(fd_ctx *ctx, const ProtobufCMessage *in, ProtobufCMessage **out)
{
	const Frontdesk__V1__ListTypesRequest *req = (const void *)in;
	Frontdesk__V1__ListTypesReply *rep = fd_arena_alloc(ctx->arena, sizeof *rep);
	char *sql = fd_arena_printf(ctx->arena, "%s WHERE active OR $1 ORDER BY name, id",
				    type_select);
	db_params p;
	PGresult *r;

	if (!rep || !sql)
		return SCHED_NOMEM(ctx);
	dbp_init(&p);
	dbp_bool(&p, req->include_inactive);
	if (!(r = db_query(ctx, sql, &p)))
		return ctx->status.code;
	frontdesk__v1__list_types_reply__init(rep);
	rep->n_types = (size_t)PQntuples(r);
	rep->types = fd_arena_alloc(ctx->arena, (rep->n_types + 1) * sizeof *rep->types);
	for (size_t i = 0; rep->types && i < rep->n_types; i++)
		if (!(rep->types[i] = type_from_row(ctx, r, (int)i)))
			rep->types = NULL;
	PQclear(r);
	if (!rep->types)
		return SCHED_NOMEM(ctx);
	*out = &rep->base;
	return FD_OK;
}

static int check_range(fd_ctx *ctx, const char *what, int v, int lo, int hi)
{
	if (v < lo || v > hi)
		return fd_fail(&ctx->status, FD_INVALID_ARGUMENT, "%s must be %d-%d", what, lo, hi);
	return FD_OK;
}

/* Fills in the documented defaults for zero fields and checks the rest. */
static int check_type(fd_ctx *ctx, Frontdesk__V1__AppointmentType *t)
{
	if (!t->grid_min)
		t->grid_min = 15;
	if (!t->horizon_days)
		t->horizon_days = 90;
	if (!*t->color)
		t->color = "#4a90d9";
	if (sched_check_code(ctx, "the type code", t->code) != FD_OK ||
	    sched_check_text(ctx, "the type name", t->name, 1, 200, false) != FD_OK ||
	    check_range(ctx, "the duration in minutes", t->duration_min, 5, 720) != FD_OK ||
	    check_range(ctx, "the buffer before, in minutes,", t->buffer_before_min, 0, 240) != FD_OK ||
	    check_range(ctx, "the buffer after, in minutes,", t->buffer_after_min, 0, 240) != FD_OK ||
	    check_range(ctx, "the minimum notice in minutes", t->min_notice_min, 0, 43200) != FD_OK ||
	    check_range(ctx, "the booking horizon in days", t->horizon_days, 1, 730) != FD_OK ||
	    check_range(ctx, "the per-day limit", t->per_day_limit, 0, 100) != FD_OK ||
	    check_range(ctx, "the slot grid in minutes", t->grid_min, 5, 240) != FD_OK)
		return ctx->status.code;
	bool color_ok = strlen(t->color) == 7 && t->color[0] == '#' &&
			strspn(t->color + 1, "0123456789abcdef") == 6;
	if (!color_ok)
		return fd_fail(&ctx->status, FD_INVALID_ARGUMENT, "the color must be #rrggbb (lowercase hex)");
	if (t->n_reminder_minutes > 5)
		return fd_fail(&ctx->status, FD_INVALID_ARGUMENT, "at most 5 reminders");
	for (size_t i = 0; i < t->n_reminder_minutes; i++)
		if (check_range(ctx, "a reminder's minutes before the start", t->reminder_minutes[i],
				1, 20160) != FD_OK)
			return ctx->status.code;
	return FD_OK;
}

int handle_sched_save_type(fd_ctx *ctx, const ProtobufCMessage *in, ProtobufCMessage **out)
{
	const Frontdesk__V1__SaveTypeRequest *req = (const void *)in;
	Frontdesk__V1__SaveTypeReply *rep = fd_arena_alloc(ctx->arena, sizeof *rep);
	Frontdesk__V1__AppointmentType t;
	char *kinds, *reminders;
	db_params p;
	PGresult *r;

	if (!rep)
		return SCHED_NOMEM(ctx);
	if (!req->type)
		return fd_fail(&ctx->status, FD_INVALID_ARGUMENT, "give the appointment type");
	t = *req->type;
	if (check_type(ctx, &t) != FD_OK ||
	    codes_literal(ctx, "resource kinds", t.resource_kinds, t.n_resource_kinds, 5, true,
			  &kinds) != FD_OK)
		return ctx->status.code;
	if (!t.n_reminder_minutes && !req->no_reminders) {
		reminders = "{2880,120}";
	} else {
		reminders = fd_arena_alloc(ctx->arena, 3 + 12 * t.n_reminder_minutes);
		if (!reminders)
			return SCHED_NOMEM(ctx);
		strcpy(reminders, "{");
		for (size_t i = 0; i < t.n_reminder_minutes; i++)
			sprintf(reminders + strlen(reminders), "%s%d", i ? "," : "",
				(int)t.reminder_minutes[i]);
		strcat(reminders, "}");
	}
	dbp_init(&p);
	dbp_text(&p, t.code);
	dbp_text(&p, t.name);
	dbp_int(&p, t.duration_min);
	dbp_int(&p, t.buffer_before_min);
	dbp_int(&p, t.buffer_after_min);
	dbp_text(&p, kinds);
	dbp_int(&p, t.min_notice_min);
	dbp_int(&p, t.horizon_days);
	dbp_int(&p, t.per_day_limit);
	dbp_int(&p, t.grid_min);
	dbp_text(&p, t.color);
	dbp_text(&p, reminders);
	dbp_bool(&p, !req->inactive);
	r = db_query(ctx,
		     "INSERT INTO appointment_types (code, name, duration_min, buffer_before_min,"
		     " buffer_after_min, resource_kinds, min_notice_min, horizon_days, per_day_limit,"
		     " grid_min, color, reminder_minutes, active)"
		     " VALUES ($1, $2, $3, $4, $5, $6::text[], $7, $8, nullif($9::int, 0), $10, $11,"
		     "         $12::int[], $13)"
		     " ON CONFLICT (code) DO UPDATE SET name = EXCLUDED.name,"
		     "  duration_min = EXCLUDED.duration_min, buffer_before_min = EXCLUDED.buffer_before_min,"
		     "  buffer_after_min = EXCLUDED.buffer_after_min, resource_kinds = EXCLUDED.resource_kinds,"
		     "  min_notice_min = EXCLUDED.min_notice_min, horizon_days = EXCLUDED.horizon_days,"
		     "  per_day_limit = EXCLUDED.per_day_limit, grid_min = EXCLUDED.grid_min,"
		     "  color = EXCLUDED.color, reminder_minutes = EXCLUDED.reminder_minutes,"
		     "  active = EXCLUDED.active"
		     " RETURNING id, code, name, duration_min, buffer_before_min, buffer_after_min,"
		     " resource_kinds, min_notice_min, horizon_days, coalesce(per_day_limit, 0),"
		     " grid_min, color, array_to_string(reminder_minutes, ','), active",
		     &p);
	if (!r)
		return ctx->status.code;
	frontdesk__v1__save_type_reply__init(rep);
	rep->type = type_from_row(ctx, r, 0);
	PQclear(r);
	if (!rep->type)
		return SCHED_NOMEM(ctx);
	if (changed(ctx, fd_arena_printf(ctx->arena, "type:%lld", (long long)rep->type->id)) != FD_OK)
		return ctx->status.code;
	*out = &rep->base;
	return FD_OK;
}

/* --- rooms and equipment --------------------------------------------- */

static Frontdesk__V1__Room *room_from_row(fd_ctx *ctx, const PGresult *r, int row)
{
	Frontdesk__V1__Room *room = fd_arena_alloc(ctx->arena, sizeof *room);

	if (!room)
		return NULL;
	frontdesk__v1__room__init(room);
	room->id = db_int(r, row, 0);
	room->code = db_str(ctx->arena, r, row, 1);
	room->name = db_str(ctx->arena, r, row, 2);
	room->kind = db_str(ctx->arena, r, row, 3);
	room->location = db_str(ctx->arena, r, row, 4);
	room->active = db_bool(r, row, 5);
	return room;
}

int handle_sched_list_rooms(fd_ctx *ctx, const ProtobufCMessage *in, ProtobufCMessage **out)
{
	const Frontdesk__V1__ListRoomsRequest *req = (const void *)in;
	Frontdesk__V1__ListRoomsReply *rep = fd_arena_alloc(ctx->arena, sizeof *rep);
	db_params p;
	PGresult *r;

	if (!rep)
		return SCHED_NOMEM(ctx);
	dbp_init(&p);
	dbp_text_or_null(&p, req->location);
	dbp_bool(&p, req->include_inactive);
	r = db_query(ctx,
		     "SELECT r.id, r.code, r.name, r.kind, l.code, r.active"
		     " FROM resources r JOIN locations l ON l.id = r.location_id"
		     " WHERE ($1::text IS NULL OR l.code = $1) AND (r.active OR $2)"
		     " ORDER BY l.code, r.kind, r.code",
		     &p);
	if (!r)
		return ctx->status.code;
	frontdesk__v1__list_rooms_reply__init(rep);
	rep->n_rooms = (size_t)PQntuples(r);
	rep->rooms = fd_arena_alloc(ctx->arena, (rep->n_rooms + 1) * sizeof *rep->rooms);
	for (size_t i = 0; rep->rooms && i < rep->n_rooms; i++)
		if (!(rep->rooms[i] = room_from_row(ctx, r, (int)i)))
			rep->rooms = NULL;
	PQclear(r);
	if (!rep->rooms)
		return SCHED_NOMEM(ctx);
	*out = &rep->base;
	return FD_OK;
}

int handle_sched_save_room(fd_ctx *ctx, const ProtobufCMessage *in, ProtobufCMessage **out)
{
	const Frontdesk__V1__SaveRoomRequest *req = (const void *)in;
	Frontdesk__V1__SaveRoomReply *rep = fd_arena_alloc(ctx->arena, sizeof *rep);
	const Frontdesk__V1__Room *room = req->room;
	char *kind;
	db_params p;
	PGresult *r;

	if (!rep)
		return SCHED_NOMEM(ctx);
	if (!room)
		return fd_fail(&ctx->status, FD_INVALID_ARGUMENT, "give the room");
	if (sched_check_code(ctx, "the room code", room->code) != FD_OK ||
	    sched_check_text(ctx, "the room name", room->name, 1, 200, false) != FD_OK ||
	    codes_literal(ctx, "room kinds", (char **)&room->kind, 1, 1, true, &kind) != FD_OK ||
	    (*room->location && sched_check_code(ctx, "the location code", room->location) != FD_OK))
		return ctx->status.code;
	dbp_init(&p);
	dbp_text(&p, room->code);
	dbp_text(&p, room->name);
	dbp_text(&p, room->kind);
	dbp_text_or_null(&p, room->location);
	dbp_bool(&p, !req->inactive);
	r = db_query(ctx,
		     "WITH l AS (SELECT id, code FROM locations WHERE code = $4"
		     "           OR ($4 IS NULL AND id = (SELECT min(id) FROM locations)))"
		     " , saved AS (INSERT INTO resources (code, name, kind, location_id, active)"
		     "   SELECT $1, $2, $3, l.id, $5 FROM l"
		     "   ON CONFLICT (code) DO UPDATE SET name = EXCLUDED.name, kind = EXCLUDED.kind,"
		     "     location_id = EXCLUDED.location_id, active = EXCLUDED.active"
		     "   RETURNING id, code, name, kind, location_id, active)"
		     " SELECT s.id, s.code, s.name, s.kind, l.code, s.active FROM saved s JOIN l"
		     "   ON l.id = s.location_id",
		     &p);
	if (!r)
		return ctx->status.code;
	if (PQntuples(r) != 1) {
		PQclear(r);
		return fd_fail(&ctx->status, FD_NOT_FOUND, "no location has that code");
	}
	frontdesk__v1__save_room_reply__init(rep);
	rep->room = room_from_row(ctx, r, 0);
	PQclear(r);
	if (!rep->room)
		return SCHED_NOMEM(ctx);
	if (changed(ctx, fd_arena_printf(ctx->arena, "room:%lld", (long long)rep->room->id)) != FD_OK)
		return ctx->status.code;
	*out = &rep->base;
	return FD_OK;
}

/* --- weekly templates ------------------------------------------------ */

static const char template_select[] =
	"SELECT w.id, p.code, l.code, w.weekday, to_char(w.start_time, 'HH24:MI'),"
	" to_char(w.end_time, 'HH24:MI'), w.effective_from::text, coalesce(w.effective_to::text, '')"
	" FROM availability_templates w JOIN providers p ON p.id = w.provider_id"
	" JOIN locations l ON l.id = w.location_id ";

static Frontdesk__V1__TemplateWindow *window_from_row(fd_ctx *ctx, const PGresult *r, int row)
{
	Frontdesk__V1__TemplateWindow *w = fd_arena_alloc(ctx->arena, sizeof *w);

	if (!w)
		return NULL;
	frontdesk__v1__template_window__init(w);
	w->id = db_int(r, row, 0);
	w->provider = db_str(ctx->arena, r, row, 1);
	w->location = db_str(ctx->arena, r, row, 2);
	w->weekday = (int32_t)db_int(r, row, 3);
	w->start_time = db_str(ctx->arena, r, row, 4);
	w->end_time = db_str(ctx->arena, r, row, 5);
	w->effective_from = db_str(ctx->arena, r, row, 6);
	w->effective_to = db_str(ctx->arena, r, row, 7);
	return w;
}

int handle_sched_add_template(fd_ctx *ctx, const ProtobufCMessage *in, ProtobufCMessage **out)
{
	const Frontdesk__V1__AddTemplateRequest *req = (const void *)in;
	Frontdesk__V1__AddTemplateReply *rep = fd_arena_alloc(ctx->arena, sizeof *rep);
	const Frontdesk__V1__TemplateWindow *w = req->window;
	struct sched_place place;
	db_params p;
	PGresult *r;

	if (!rep)
		return SCHED_NOMEM(ctx);
	if (!w)
		return fd_fail(&ctx->status, FD_INVALID_ARGUMENT, "give the weekly window");
	if (check_range(ctx, "the weekday (1 Monday .. 7 Sunday)", w->weekday, 1, 7) != FD_OK ||
	    sched_check_time(ctx, "the start time", w->start_time) != FD_OK ||
	    sched_check_time(ctx, "the end time", w->end_time) != FD_OK ||
	    (*w->effective_from && sched_check_date(ctx, "the first day", w->effective_from) != FD_OK) ||
	    (*w->effective_to && sched_check_date(ctx, "the last day", w->effective_to) != FD_OK))
		return ctx->status.code;
	if (strcmp(w->end_time, w->start_time) <= 0)
		return fd_fail(&ctx->status, FD_INVALID_ARGUMENT, "the end time must be after the start time");
	if (*w->effective_from && *w->effective_to && strcmp(w->effective_to, w->effective_from) < 0)
		return fd_fail(&ctx->status, FD_INVALID_ARGUMENT, "the last day must not be before the first");
	if (sched_resolve_place(ctx, w->provider, w->location, &place) != FD_OK)
		return ctx->status.code;
	dbp_init(&p);
	dbp_int(&p, place.provider_id);
	dbp_int(&p, place.location_id);
	dbp_int(&p, w->weekday);
	dbp_text(&p, w->start_time);
	dbp_text(&p, w->end_time);
	dbp_text_or_null(&p, w->effective_from);
	dbp_text_or_null(&p, w->effective_to);
	dbp_text(&p, place.time_zone);
	r = db_query(ctx,
		     "INSERT INTO availability_templates (provider_id, location_id, weekday,"
		     " start_time, end_time, effective_from, effective_to)"
		     " VALUES ($1, $2, $3, $4::time, $5::time,"
		     "  coalesce($6::date, (now() AT TIME ZONE $8)::date), $7::date)"
		     " RETURNING id",
		     &p);
	if (!r)
		return ctx->status.code;
	int64_t id = db_int(r, 0, 0);
	PQclear(r);
	char *sql = fd_arena_printf(ctx->arena, "%s WHERE w.id = $1", template_select);
	if (!sql)
		return SCHED_NOMEM(ctx);
	dbp_init(&p);
	dbp_int(&p, id);
	if (!(r = db_query(ctx, sql, &p)))
		return ctx->status.code;
	frontdesk__v1__add_template_reply__init(rep);
	rep->window = window_from_row(ctx, r, 0);
	PQclear(r);
	if (!rep->window)
		return SCHED_NOMEM(ctx);
	if (changed(ctx, fd_arena_printf(ctx->arena, "template:%lld", (long long)id)) != FD_OK)
		return ctx->status.code;
	*out = &rep->base;
	return FD_OK;
}

int handle_sched_list_templates(fd_ctx *ctx, const ProtobufCMessage *in, ProtobufCMessage **out)
{
	const Frontdesk__V1__ListTemplatesRequest *req = (const void *)in;
	Frontdesk__V1__ListTemplatesReply *rep = fd_arena_alloc(ctx->arena, sizeof *rep);
	char *sql = fd_arena_printf(ctx->arena,
				    "%s WHERE $1::text IS NULL OR p.code = $1 OR p.id = " SCHED_ID_OF("$1")
				    " ORDER BY p.code, l.code, w.weekday, w.start_time, w.id",
				    template_select);
	db_params p;
	PGresult *r;

	if (!rep || !sql)
		return SCHED_NOMEM(ctx);
	dbp_init(&p);
	dbp_text_or_null(&p, req->provider);
	if (!(r = db_query(ctx, sql, &p)))
		return ctx->status.code;
	frontdesk__v1__list_templates_reply__init(rep);
	rep->n_windows = (size_t)PQntuples(r);
	rep->windows = fd_arena_alloc(ctx->arena, (rep->n_windows + 1) * sizeof *rep->windows);
	for (size_t i = 0; rep->windows && i < rep->n_windows; i++)
		if (!(rep->windows[i] = window_from_row(ctx, r, (int)i)))
			rep->windows = NULL;
	PQclear(r);
	if (!rep->windows)
		return SCHED_NOMEM(ctx);
	*out = &rep->base;
	return FD_OK;
}

int handle_sched_remove_template(fd_ctx *ctx, const ProtobufCMessage *in, ProtobufCMessage **out)
{
	const Frontdesk__V1__RemoveTemplateRequest *req = (const void *)in;
	Frontdesk__V1__RemoveTemplateReply *rep = fd_arena_alloc(ctx->arena, sizeof *rep);
	db_params p;
	PGresult *r;

	if (!rep)
		return SCHED_NOMEM(ctx);
	dbp_init(&p);
	dbp_int(&p, req->id);
	if (!(r = db_query(ctx, "DELETE FROM availability_templates WHERE id = $1 RETURNING id", &p)))
		return ctx->status.code;
	int found = PQntuples(r);
	PQclear(r);
	if (!found)
		return fd_fail(&ctx->status, FD_NOT_FOUND, "no weekly window has id %lld",
			       (long long)req->id);
	if (changed(ctx, fd_arena_printf(ctx->arena, "template:%lld", (long long)req->id)) != FD_OK)
		return ctx->status.code;
	frontdesk__v1__remove_template_reply__init(rep);
	*out = &rep->base;
	return FD_OK;
}

/* --- exceptions and holidays ----------------------------------------- */

int handle_sched_add_exception(fd_ctx *ctx, const ProtobufCMessage *in, ProtobufCMessage **out)
{
	const Frontdesk__V1__AddExceptionRequest *req = (const void *)in;
	Frontdesk__V1__AddExceptionReply *rep = fd_arena_alloc(ctx->arena, sizeof *rep);
	const Frontdesk__V1__AvailabilityException *x = req->exception;
	char *from_local, *to_local, *from, *to;
	struct sched_place place;
	db_params p;
	PGresult *r;

	if (!rep)
		return SCHED_NOMEM(ctx);
	if (!x)
		return fd_fail(&ctx->status, FD_INVALID_ARGUMENT, "give the exception");
	bool off = strcmp(x->kind, "off") == 0;
	if (!off && strcmp(x->kind, "extra") != 0)
		return fd_fail(&ctx->status, FD_INVALID_ARGUMENT,
			       "the kind is off (time off) or extra (extra hours)");
	if (!off && !*x->location)
		return fd_fail(&ctx->status, FD_INVALID_ARGUMENT, "extra hours need a location");
	if (sched_check_local(ctx, "the start", x->starts_local, &from_local) != FD_OK ||
	    sched_check_local(ctx, "the end", x->ends_local, &to_local) != FD_OK ||
	    sched_check_text(ctx, "the reason", x->reason, 0, 200, false) != FD_OK ||
	    sched_resolve_place(ctx, x->provider, x->location, &place) != FD_OK ||
	    sched_local_instant(ctx, "the start", from_local, place.time_zone, &from) != FD_OK ||
	    sched_local_instant(ctx, "the end", to_local, place.time_zone, &to) != FD_OK)
		return ctx->status.code;
	if (strcmp(to_local, from_local) <= 0)
		return fd_fail(&ctx->status, FD_INVALID_ARGUMENT, "the end must be after the start");
	dbp_init(&p);
	dbp_int(&p, place.provider_id);
	if (off && !*x->location)
		dbp_text(&p, NULL);
	else
		dbp_int(&p, place.location_id);
	dbp_text(&p, x->kind);
	dbp_text(&p, from);
	dbp_text(&p, to);
	dbp_text(&p, x->reason);
	r = db_query(ctx,
		     "INSERT INTO availability_exceptions (provider_id, location_id, kind,"
		     " starts_at, ends_at, reason) VALUES ($1, $2::bigint, $3, $4, $5, $6) RETURNING id",
		     &p);
	if (!r)
		return ctx->status.code;
	Frontdesk__V1__AvailabilityException *saved = fd_arena_alloc(ctx->arena, sizeof *saved);
	if (!saved) {
		PQclear(r);
		return SCHED_NOMEM(ctx);
	}
	*saved = *x;
	saved->id = db_int(r, 0, 0);
	saved->starts_local = from_local;
	saved->ends_local = to_local;
	PQclear(r);
	frontdesk__v1__add_exception_reply__init(rep);
	rep->exception = saved;
	if (changed(ctx, fd_arena_printf(ctx->arena, "exception:%lld", (long long)saved->id)) != FD_OK)
		return ctx->status.code;
	*out = &rep->base;
	return FD_OK;
}

static Frontdesk__V1__Holiday *holiday_from_row(fd_ctx *ctx, const PGresult *r, int row)
{
	Frontdesk__V1__Holiday *h = fd_arena_alloc(ctx->arena, sizeof *h);

	if (!h)
		return NULL;
	frontdesk__v1__holiday__init(h);
	h->id = db_int(r, row, 0);
	h->location = db_str(ctx->arena, r, row, 1);
	h->date = db_str(ctx->arena, r, row, 2);
	h->name = db_str(ctx->arena, r, row, 3);
	return h;
}

int handle_sched_add_holiday(fd_ctx *ctx, const ProtobufCMessage *in, ProtobufCMessage **out)
{
	const Frontdesk__V1__AddHolidayRequest *req = (const void *)in;
	Frontdesk__V1__AddHolidayReply *rep = fd_arena_alloc(ctx->arena, sizeof *rep);
	const Frontdesk__V1__Holiday *h = req->holiday;
	db_params p;
	PGresult *r;

	if (!rep)
		return SCHED_NOMEM(ctx);
	if (!h)
		return fd_fail(&ctx->status, FD_INVALID_ARGUMENT, "give the holiday");
	if (sched_check_date(ctx, "the holiday's date", h->date) != FD_OK ||
	    sched_check_text(ctx, "the holiday's name", h->name, 1, 200, false) != FD_OK ||
	    (*h->location && sched_check_code(ctx, "the location code", h->location) != FD_OK))
		return ctx->status.code;
	dbp_init(&p);
	dbp_text_or_null(&p, h->location);
	dbp_text(&p, h->date);
	dbp_text(&p, h->name);
	r = db_query(ctx,
		     "WITH l AS (SELECT (SELECT id FROM locations WHERE code = $1) AS id)"
		     " INSERT INTO holidays (location_id, day, name)"
		     " SELECT l.id, $2::date, $3 FROM l WHERE $1::text IS NULL OR l.id IS NOT NULL"
		     " RETURNING id, coalesce($1, ''), day::text, name",
		     &p);
	if (!r)
		return ctx->status.code;
	if (PQntuples(r) != 1) {
		PQclear(r);
		return fd_fail(&ctx->status, FD_NOT_FOUND, "no location has that code");
	}
	frontdesk__v1__add_holiday_reply__init(rep);
	rep->holiday = holiday_from_row(ctx, r, 0);
	PQclear(r);
	if (!rep->holiday)
		return SCHED_NOMEM(ctx);
	if (changed(ctx, fd_arena_printf(ctx->arena, "holiday:%lld", (long long)rep->holiday->id)) != FD_OK)
		return ctx->status.code;
	*out = &rep->base;
	return FD_OK;
}

int handle_sched_list_holidays(fd_ctx *ctx, const ProtobufCMessage *in, ProtobufCMessage **out)
{
	const Frontdesk__V1__ListHolidaysRequest *req = (const void *)in;
	Frontdesk__V1__ListHolidaysReply *rep = fd_arena_alloc(ctx->arena, sizeof *rep);
	db_params p;
	PGresult *r;

	if (!rep)
		return SCHED_NOMEM(ctx);
	if ((*req->from_date && sched_check_date(ctx, "the first day", req->from_date) != FD_OK) ||
	    (*req->to_date && sched_check_date(ctx, "the last day", req->to_date) != FD_OK))
		return ctx->status.code;
	dbp_init(&p);
	dbp_text_or_null(&p, req->from_date);
	dbp_text_or_null(&p, req->to_date);
	r = db_query(ctx,
		     "SELECT h.id, coalesce(l.code, ''), h.day::text, h.name"
		     " FROM holidays h LEFT JOIN locations l ON l.id = h.location_id"
		     " WHERE h.day >= coalesce($1::date, current_date - 31)"
		     "   AND h.day <= coalesce($2::date, current_date + 366)"
		     " ORDER BY h.day, l.code NULLS FIRST",
		     &p);
	if (!r)
		return ctx->status.code;
	frontdesk__v1__list_holidays_reply__init(rep);
	rep->n_holidays = (size_t)PQntuples(r);
	rep->holidays = fd_arena_alloc(ctx->arena, (rep->n_holidays + 1) * sizeof *rep->holidays);
	for (size_t i = 0; rep->holidays && i < rep->n_holidays; i++)
		if (!(rep->holidays[i] = holiday_from_row(ctx, r, (int)i)))
			rep->holidays = NULL;
	PQclear(r);
	if (!rep->holidays)
		return SCHED_NOMEM(ctx);
	*out = &rep->base;
	return FD_OK;
}
