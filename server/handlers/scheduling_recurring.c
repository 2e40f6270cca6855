/*
 * Recurring appointments (weekly physiotherapy for six weeks): one Book
 * call with `repeat` and `count`. Every occurrence keeps the first one's
 * wall-clock time in the location's zone (so a series crossing a
 * daylight-saving change stays at 09:00) and goes through sched_book, the
 * same path as a single booking, so every rule and the database's no
 * double booking apply to each.
 *
 * All or nothing (the default): the first occurrence that cannot be booked
 * fails the call, its message names the occurrence, and the dispatcher's
 * rollback leaves nothing written. Partial: each occurrence runs inside
 * its own savepoint; one that is refused is rolled back alone and reported
 * with its status and the provider's next free times, the others are
 * booked. Mistakes that would refuse every occurrence (unknown patient,
 * type or provider, bad text) fail the call up front in both modes.
 */
#include <stdio.h>
#include <string.h>

#include "scheduling.h"

#define SERIES_MAX 52

/* The series' place and type, resolved once, and its occurrences. */
struct series {
	struct sched_place place;
	int64_t type_id;
	int n;
	char **local;   /* each occurrence's local start "YYYY-MM-DD HH:MM" */
	char **instant; /* ... as an instant (shifted when it does not exist) */
};

static int check_series_request(fd_ctx *ctx, const Frontdesk__V1__BookRequest *req)
{
	if (strcmp(req->repeat, "weekly") != 0 && strcmp(req->repeat, "daily") != 0)
		return fd_fail(&ctx->status, FD_INVALID_ARGUMENT, "repeat is weekly or daily");
	if (req->count < 2 || req->count > SERIES_MAX)
		return fd_fail(&ctx->status, FD_INVALID_ARGUMENT,
			       "a recurring booking has 2-%d occurrences", SERIES_MAX);
	if (req->patient_id <= 0)
		return fd_fail(&ctx->status, FD_INVALID_ARGUMENT, "give the patient's id");
	if (sched_check_text(ctx, "the reason", req->reason, 0, 500, false) != FD_OK ||
	    sched_check_text(ctx, "the notes", req->notes, 0, 2000, true) != FD_OK)
		return ctx->status.code;
	return FD_OK;
}

/* Resolves provider, location, type and patient, so an unknown one fails
 * the whole call rather than each occurrence. */
static int resolve_series(fd_ctx *ctx, const Frontdesk__V1__BookRequest *req, struct series *s)
{
	db_params p;
	PGresult *r;

	if (sched_resolve_place(ctx, req->provider, req->location, &s->place) != FD_OK)
		return ctx->status.code;
	if (!*req->type)
		return fd_fail(&ctx->status, FD_INVALID_ARGUMENT, "name the appointment type");
	dbp_init(&p);
	dbp_text(&p, req->type);
	dbp_int(&p, req->patient_id);
	r = db_query(ctx,
		     "SELECT (SELECT id FROM appointment_types WHERE active"
		     "         AND (code = $1 OR id = " SCHED_ID_OF("$1") ")),"
		     " EXISTS (SELECT 1 FROM patients WHERE id = $2)",
		     &p);
	if (!r)
		return ctx->status.code;
	bool no_type = PQgetisnull(r, 0, 0), patient = db_bool(r, 0, 1);
	s->type_id = db_int(r, 0, 0);
	PQclear(r);
	if (no_type)
		return fd_fail(&ctx->status, FD_NOT_FOUND, "no active appointment type has that code or id");
	if (!patient)
		return fd_fail(&ctx->status, FD_NOT_FOUND, "no patient has id %lld",
			       (long long)req->patient_id);
	return FD_OK;
}

/* The occurrences' local starts: the first plus whole days or weeks on the
 * wall clock (timestamp without zone, so daylight-saving days keep the
 * time). */
static int lay_out(fd_ctx *ctx, const Frontdesk__V1__BookRequest *req, struct series *s)
{
	char *first;
	db_params p;
	PGresult *r;

	if (sched_check_local(ctx, "the start", req->at, &first) != FD_OK)
		return ctx->status.code;
	dbp_init(&p);
	dbp_text(&p, first);
	dbp_text(&p, strcmp(req->repeat, "weekly") == 0 ? "7 days" : "1 day");
	dbp_int(&p, req->count);
	dbp_text(&p, s->place.time_zone);
	r = db_query(ctx,
		     "SELECT to_char(o, 'YYYY-MM-DD HH24:MI'), (o AT TIME ZONE $4::text)::text"
		     " FROM generate_series(0, $3::int - 1) i,"
		     "  LATERAL (SELECT $1::timestamp + i * $2::interval AS o) x ORDER BY i",
		     &p);
	if (!r)
		return ctx->status.code;
	s->n = PQntuples(r);
	s->local = fd_arena_alloc(ctx->arena, (size_t)(s->n + 1) * sizeof *s->local);
	s->instant = fd_arena_alloc(ctx->arena, (size_t)(s->n + 1) * sizeof *s->instant);
	for (int i = 0; s->local && s->instant && i < s->n; i++) {
		s->local[i] = db_str(ctx->arena, r, i, 0);
		s->instant[i] = db_str(ctx->arena, r, i, 1);
	}
	PQclear(r);
	if (!s->local || !s->instant)
		return SCHED_NOMEM(ctx);
	return FD_OK;
}

static Frontdesk__V1__Occurrence *new_occurrence(fd_ctx *ctx, int index, const char *local)
{
	Frontdesk__V1__Occurrence *o = fd_arena_alloc(ctx->arena, sizeof *o);

	if (!o)
		return NULL;
	frontdesk__v1__occurrence__init(o);
	o->index = index;
	o->starts_local = (char *)local;
	o->status = "OK";
	return o;
}

/* Books occurrence i; on success o->appointment is set. */
static int book_one(fd_ctx *ctx, const Frontdesk__V1__BookRequest *req, const struct series *s,
		    int i, Frontdesk__V1__Occurrence *o)
{
	struct sched_booking b = {
		.patient_id = req->patient_id, .provider = req->provider, .type = req->type,
		.location = req->location, .at = s->local[i], .room = req->room,
		.reason = req->reason, .notes = req->notes, .overbook = req->overbook,
		.overbook_reason = req->overbook_reason,
	};
	int64_t id;

	if (sched_book(ctx, &b, &id) != FD_OK ||
	    sched_finish(ctx, id, "appointment.booked", &o->appointment) != FD_OK)
		return ctx->status.code;
	return FD_OK;
}

/* Partial mode: occurrence i was refused and rolled back; keep the reason
 * and look up the next free times for the report. */
static int report_refusal(fd_ctx *ctx, const struct series *s, int i, Frontdesk__V1__Occurrence *o)
{
	char *next = "";

	o->status = (char *)fd_code_name(ctx->status.code);
	o->problem = fd_arena_printf(ctx->arena, "%s", ctx->status.message);
	if (!o->problem)
		return SCHED_NOMEM(ctx);
	ctx->status.code = FD_OK;
	ctx->status.message[0] = '\0';
	if (sched_next_free(ctx, s->type_id, s->place.location_id, s->place.provider_id,
			    s->instant[i], 0, &next) != FD_OK)
		return ctx->status.code;
	o->next_free = next;
	return FD_OK;
}

int sched_book_series(fd_ctx *ctx, const Frontdesk__V1__BookRequest *req, Frontdesk__V1__BookReply *rep)
{
	struct series s = { 0 };

	if (check_series_request(ctx, req) != FD_OK || resolve_series(ctx, req, &s) != FD_OK ||
	    lay_out(ctx, req, &s) != FD_OK)
		return ctx->status.code;
	rep->occurrences = fd_arena_alloc(ctx->arena, (size_t)(s.n + 1) * sizeof *rep->occurrences);
	if (!rep->occurrences)
		return SCHED_NOMEM(ctx);
	for (int i = 0; i < s.n; i++) {
		Frontdesk__V1__Occurrence *o = new_occurrence(ctx, i + 1, s.local[i]);
		if (!o)
			return SCHED_NOMEM(ctx);
		rep->occurrences[rep->n_occurrences++] = o;
		if (!req->partial) {
			if (book_one(ctx, req, &s, i, o) != FD_OK) {
				fd_status refused = ctx->status;
				return fd_fail(&ctx->status, refused.code,
					       "occurrence %d (%s): %.180s; nothing was booked", i + 1,
					       s.local[i], refused.message);
			}
			continue;
		}
		if (db_exec(ctx, "SAVEPOINT occurrence", NULL) != FD_OK)
			return ctx->status.code;
		if (book_one(ctx, req, &s, i, o) == FD_OK) {
			if (db_exec(ctx, "RELEASE SAVEPOINT occurrence", NULL) != FD_OK)
				return ctx->status.code;
			continue;
		}
		if (ctx->status.code == FD_INTERNAL || ctx->status.code == FD_UNAVAILABLE ||
		    ctx->status.code == FD_RESOURCE_EXHAUSTED)
			return ctx->status.code;
		o->appointment = NULL;
		fd_status refused = ctx->status;
		if (db_exec(ctx, "ROLLBACK TO SAVEPOINT occurrence", NULL) != FD_OK)
			return ctx->status.code;
		ctx->status = refused;
		if (report_refusal(ctx, &s, i, o) != FD_OK)
			return ctx->status.code;
	}
	for (size_t i = 0; i < rep->n_occurrences && !rep->appointment; i++)
		rep->appointment = rep->occurrences[i]->appointment;
	if (!rep->appointment)
		return fd_fail(&ctx->status, FD_FAILED_PRECONDITION,
			       "no occurrence could be booked; first: %.180s",
			       rep->occurrences[0]->problem);
	return FD_OK;
}
