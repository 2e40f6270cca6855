/*
 * Scheduling helpers shared by the handler files: input checks that turn
 * bad text, impossible dates and malformed times into clear
 * INVALID_ARGUMENT messages before any SQL runs, the actor settings the
 * appointment history trigger reads, and the one query shape that turns
 * appointment rows into Appointment messages (so every RPC shows an
 * appointment the same way, in its location's time zone).
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "scheduling.h"
#include "validate.h"

int sched_check_text(fd_ctx *ctx, const char *what, const char *s, size_t min,
		     size_t max, bool newlines_ok)
{
	return fd_check_text(ctx, what, s, min, max, newlines_ok ? TEXT_MULTILINE : 0);
}

int sched_check_code(fd_ctx *ctx, const char *what, const char *s)
{
	size_t n = strlen(s);

	if (n == 0 || n > 32 || !(islower((unsigned char)s[0]) || isdigit((unsigned char)s[0])))
		goto bad;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		if (!(islower(c) || isdigit(c) || c == '.' || c == '_' || c == '-'))
			goto bad;
	}
	return FD_OK;
bad:
	return fd_fail(&ctx->status, FD_INVALID_ARGUMENT,
		       "%s must be 1-32 lowercase letters, digits, '.', '_' or '-'", what);
}

/* Reads exactly `width` digits at s; -1 when any is not a digit. */
static int digits(const char *s, int width)
{
	int v = 0;

	for (int i = 0; i < width; i++) {
		if (!isdigit((unsigned char)s[i]))
			return -1;
		v = v * 10 + (s[i] - '0');
	}
	return v;
}

static int days_in_month(int year, int month)
{
	static const int days[] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
	bool leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;

	return month == 2 && leap ? 29 : days[month - 1];
}

/* Checks "YYYY-MM-DD" at s (exactly 10 characters used). */
static bool date_ok(const char *s)
{
	int y = digits(s, 4), m, d;

	if (y < 1900 || y > 2200 || s[4] != '-' || s[7] != '-')
		return false;
	m = digits(s + 5, 2);
	d = digits(s + 8, 2);
	return m >= 1 && m <= 12 && d >= 1 && d <= days_in_month(y, m);
}

/* Checks "HH:MM" at s (exactly 5 characters used). */
static bool time_ok(const char *s)
{
	int h = digits(s, 2), m = digits(s + 3, 2);

	return s[2] == ':' && h >= 0 && h <= 23 && m >= 0 && m <= 59;
}

int sched_check_date(fd_ctx *ctx, const char *what, const char *s)
{
	if (strlen(s) != 10 || !date_ok(s))
		return fd_fail(&ctx->status, FD_INVALID_ARGUMENT,
			       "%s must be a calendar date YYYY-MM-DD that exists", what);
	return FD_OK;
}

int sched_check_time(fd_ctx *ctx, const char *what, const char *s)
{
	if (strlen(s) != 5 || !time_ok(s))
		return fd_fail(&ctx->status, FD_INVALID_ARGUMENT,
			       "%s must be a time HH:MM (00:00-23:59)", what);
	return FD_OK;
}

int sched_check_local(fd_ctx *ctx, const char *what, const char *s, char **local)
{
	if (strlen(s) != 16 || (s[10] != ' ' && s[10] != 'T') || !date_ok(s) ||
	    !time_ok(s + 11))
		return fd_fail(&ctx->status, FD_INVALID_ARGUMENT,
			       "%s must be a local date and time YYYY-MM-DD HH:MM that exists",
			       what);
	*local = fd_arena_printf(ctx->arena, "%.10s %.5s", s, s + 11);
	return *local ? FD_OK : SCHED_NOMEM(ctx);
}

const char sched_appointment_select[] =
	"SELECT a.id, a.patient_id, pa.family_name || ', ' || pa.given_name,"
	" a.provider_id, p.code, p.display_name, t.code, t.name, l.code, l.time_zone,"
	" local_text(a.starts_at, l.time_zone), local_text(a.ends_at, l.time_zone),"
	" (extract(epoch FROM a.starts_at) * 1000)::bigint,"
	" (extract(epoch FROM a.ends_at) * 1000)::bigint,"
	" a.status, a.reason, a.notes,"
	" coalesce((SELECT array_agg(r.code ORDER BY r.code) FROM appointment_resources ar"
	"           JOIN resources r ON r.id = ar.resource_id WHERE ar.appointment_id = a.id),"
	"          '{}'),"
	" a.overbooked, coalesce(a.overbook_reason, ''), coalesce(a.cancel_reason, ''),"
	" coalesce(a.rescheduled_from, 0),"
	" coalesce((SELECT n.id FROM appointments n WHERE n.rescheduled_from = a.id), 0),"
	" coalesce(s.username, ''), (extract(epoch FROM a.booked_at) * 1000)::bigint"
	" FROM appointments a"
	" JOIN patients pa ON pa.id = a.patient_id"
	" JOIN providers p ON p.id = a.provider_id"
	" JOIN appointment_types t ON t.id = a.type_id"
	" JOIN locations l ON l.id = a.location_id"
	" LEFT JOIN staff s ON s.id = a.booked_by ";

Frontdesk__V1__Appointment *sched_appointment_from_row(fd_ctx *ctx, const PGresult *r, int row)
{
	Frontdesk__V1__Appointment *a = fd_arena_alloc(ctx->arena, sizeof *a);
	fd_arena *m = ctx->arena;

	if (!a)
		return NULL;
	frontdesk__v1__appointment__init(a);
	a->id = db_int(r, row, 0);
	a->patient_id = db_int(r, row, 1);
	a->patient_name = db_str(m, r, row, 2);
	a->provider_id = db_int(r, row, 3);
	a->provider = db_str(m, r, row, 4);
	a->provider_name = db_str(m, r, row, 5);
	a->type = db_str(m, r, row, 6);
	a->type_name = db_str(m, r, row, 7);
	a->location = db_str(m, r, row, 8);
	a->time_zone = db_str(m, r, row, 9);
	a->starts_local = db_str(m, r, row, 10);
	a->ends_local = db_str(m, r, row, 11);
	a->starts_unix_ms = db_int(r, row, 12);
	a->ends_unix_ms = db_int(r, row, 13);
	a->status = db_str(m, r, row, 14);
	a->reason = db_str(m, r, row, 15);
	a->notes = db_str(m, r, row, 16);
	a->rooms = db_text_array(m, r, row, 17, &a->n_rooms);
	a->overbooked = db_bool(r, row, 18);
	a->overbook_reason = db_str(m, r, row, 19);
	a->cancel_reason = db_str(m, r, row, 20);
	a->rescheduled_from = db_int(r, row, 21);
	a->rescheduled_to = db_int(r, row, 22);
	a->booked_by = db_str(m, r, row, 23);
	a->booked_unix_ms = db_int(r, row, 24);
	return a;
}

int sched_load_appointment(fd_ctx *ctx, int64_t id, Frontdesk__V1__Appointment **out)
{
	char *sql = fd_arena_printf(ctx->arena, "%s WHERE a.id = $1", sched_appointment_select);
	db_params p;
	PGresult *r;

	if (!sql)
		return SCHED_NOMEM(ctx);
	dbp_init(&p);
	dbp_int(&p, id);
	if (!(r = db_query(ctx, sql, &p)))
		return ctx->status.code;
	if (PQntuples(r) != 1) {
		PQclear(r);
		return fd_fail(&ctx->status, FD_NOT_FOUND, "no appointment has id %lld",
			       (long long)id);
	}
	*out = sched_appointment_from_row(ctx, r, 0);
	PQclear(r);
	return *out ? FD_OK : SCHED_NOMEM(ctx);
}

int sched_resolve_place(fd_ctx *ctx, const char *provider, const char *location,
			struct sched_place *out)
{
	db_params p;
	PGresult *r;

	if (!*provider)
		return fd_fail(&ctx->status, FD_INVALID_ARGUMENT, "name the provider");
	if (*location && sched_check_code(ctx, "the location code", location) != FD_OK)
		return ctx->status.code;
	dbp_init(&p);
	dbp_text(&p, provider);
	dbp_text_or_null(&p, location);
	r = db_query(ctx,
		     "SELECT p.id, l.id, l.time_zone, l.code, p.active,"
		     " EXISTS (SELECT 1 FROM provider_locations pl"
		     "         WHERE pl.provider_id = p.id AND pl.location_id = l.id)"
		     " FROM providers p LEFT JOIN locations l ON CASE WHEN $2::text IS NULL"
		     "   THEN l.id = (SELECT min(pl.location_id) FROM provider_locations pl"
		     "                WHERE pl.provider_id = p.id)"
		     "   ELSE l.code = $2 END"
		     " WHERE p.code = $1 OR p.id = " SCHED_ID_OF("$1"),
		     &p);
	if (!r)
		return ctx->status.code;
	if (PQntuples(r) != 1) {
		PQclear(r);
		return fd_fail(&ctx->status, FD_NOT_FOUND, "no provider has that code or id");
	}
	if (PQgetisnull(r, 0, 1)) {
		PQclear(r);
		return fd_fail(&ctx->status, FD_NOT_FOUND,
			       *location ? "no location has that code"
					 : "the provider works at no location yet");
	}
	out->provider_id = db_int(r, 0, 0);
	out->location_id = db_int(r, 0, 1);
	out->time_zone = db_str(ctx->arena, r, 0, 2);
	out->location = db_str(ctx->arena, r, 0, 3);
	bool active = db_bool(r, 0, 4), works_there = db_bool(r, 0, 5);
	PQclear(r);
	if (!active)
		return fd_fail(&ctx->status, FD_FAILED_PRECONDITION, "the provider is inactive");
	if (!works_there)
		return fd_fail(&ctx->status, FD_FAILED_PRECONDITION,
			       "the provider does not work at that location");
	return FD_OK;
}

int sched_local_instant(fd_ctx *ctx, const char *what, const char *local,
			const char *zone, char **instant)
{
	db_params p;
	PGresult *r;

	dbp_init(&p);
	dbp_text(&p, local);
	dbp_text(&p, zone);
	if (!(r = db_query(ctx, "SELECT local_instant($1::timestamp, $2)", &p)))
		return ctx->status.code;
	bool missing = PQgetisnull(r, 0, 0);
	*instant = missing ? NULL : db_str(ctx->arena, r, 0, 0);
	PQclear(r);
	if (missing)
		return fd_fail(&ctx->status, FD_INVALID_ARGUMENT,
			       "%s %s does not exist in %s (the clocks skip that hour)", what,
			       local, zone);
	return FD_OK;
}
