/*
 * Appointments: book, reschedule, cancel, no-show, confirm, show, and the
 * lists a desk needs (a provider's day or week, a location's day, a
 * patient's appointments, today's no-shows).
 *
 * No double booking is the database's job: the appointment and each room
 * it holds are inserted with ON CONFLICT DO NOTHING against exclusion
 * constraints, so of two desks racing for one slot exactly one row lands;
 * the other insert waits for the winner's commit, lands nothing, and that
 * desk is told "slot just taken" with the next free times. Before the
 * insert, the same open_slots() the search uses says whether the time is
 * bookable at all, and a second query explains a refusal in the clinic's
 * words. Per-day limits are counted under a transaction advisory lock per
 * provider and local day, so two bookings cannot both take the last place.
 *
 * History rows are written by a trigger (who from the session check, why
 * from db_set_reason); events go out after commit; every call that shows or
 * changes an appointment audits its patient. A slot freed by cancel,
 * reschedule or no-show is offered to the waitlist in the same
 * transaction (sched_offer_freed; scheduling_waitlist.c), after a
 * reschedule's new booking so the hold cannot block it. The rooms an open
 * offer holds are busy here too (never picked, refused by name), except
 * for that offer's own accept, which takes exactly them. A Book with
 * `repeat` is a series (scheduling_recurring.c).
 */
#include <stdio.h>
#include <string.h>

#include "scheduling.h"

/* What a booking needs to know about its type at its place and time. */
struct slot_request {
	struct sched_place place;
	int64_t type_id;
	bool has_day_limit;
	char **kinds; /* resource kinds needed */
	size_t n_kinds;
	char *local;   /* normalised local start */
	char *instant; /* the start as timestamptz text */
};

static int resolve_type(fd_ctx *ctx, const struct sched_booking *b, struct slot_request *s)
{
	db_params p;
	PGresult *r;

	if (!*b->type)
		return fd_fail(&ctx->status, FD_INVALID_ARGUMENT, "name the appointment type");
	dbp_init(&p);
	dbp_text(&p, b->type);
	dbp_int(&p, s->place.provider_id);
	dbp_int(&p, b->patient_id);
	r = db_query(ctx,
		     "SELECT t.id, t.per_day_limit IS NOT NULL, t.resource_kinds,"
		     " EXISTS (SELECT 1 FROM provider_types pt WHERE pt.type_id = t.id"
		     "         AND pt.provider_id = $2),"
		     " EXISTS (SELECT 1 FROM patients WHERE id = $3)"
		     " FROM appointment_types t"
		     " WHERE t.active AND (t.code = $1 OR t.id = " SCHED_ID_OF("$1") ")",
		     &p);
	if (!r)
		return ctx->status.code;
	if (PQntuples(r) != 1) {
		PQclear(r);
		return fd_fail(&ctx->status, FD_NOT_FOUND, "no active appointment type has that code or id");
	}
	s->type_id = db_int(r, 0, 0);
	s->has_day_limit = db_bool(r, 0, 1);
	s->kinds = db_text_array(ctx->arena, r, 0, 2, &s->n_kinds);
	bool offered = db_bool(r, 0, 3), patient = db_bool(r, 0, 4);
	PQclear(r);
	if (!patient)
		return fd_fail(&ctx->status, FD_NOT_FOUND, "no patient has id %lld",
			       (long long)b->patient_id);
	if (!offered)
		return fd_fail(&ctx->status, FD_FAILED_PRECONDITION,
			       "the provider does not offer this appointment type");
	return FD_OK;
}

static int slot_taken(fd_ctx *ctx, const struct slot_request *s, const char *what)
{
	char *next = NULL;

	if (sched_next_free(ctx, s->type_id, s->place.location_id, s->place.provider_id, s->instant,
			    0, &next) != FD_OK)
		return ctx->status.code;
	return fd_fail(&ctx->status, FD_ALREADY_EXISTS, "%s was just taken; next free: %s", what,
		       *next ? next : "none in the next four weeks");
}

/* A slot or room held for a waitlist patient is as good as taken until
 * the offer is accepted, declined or expires. */
static int slot_held(fd_ctx *ctx, const struct slot_request *s, const char *what,
		     const char *until)
{
	char *next = NULL;

	if (sched_next_free(ctx, s->type_id, s->place.location_id, s->place.provider_id, s->instant,
			    0, &next) != FD_OK)
		return ctx->status.code;
	return fd_fail(&ctx->status, FD_ALREADY_EXISTS,
		       "%s is held for a waitlist patient until %s; next free: %s", what, until,
		       *next ? next : "none in the next four weeks");
}

/* Says in the clinic's words why open_slots() refused a start time. */
static int explain_refusal(fd_ctx *ctx, const struct slot_request *s)
{
	db_params p;
	PGresult *r;

	dbp_init(&p);
	dbp_int(&p, s->type_id);
	dbp_int(&p, s->place.location_id);
	dbp_int(&p, s->place.provider_id);
	dbp_text(&p, s->instant);
	r = db_query(
		ctx,
		"WITH t AS (SELECT *, make_interval(mins => duration_min) AS dur FROM appointment_types"
		"           WHERE id = $1)"
		" , l AS (SELECT id, time_zone FROM locations WHERE id = $2)"
		" , d AS (SELECT $4::timestamptz AS ts, ($4::timestamptz AT TIME ZONE l.time_zone)::date"
		"         AS day FROM l)"
		" SELECT d.ts < now(), d.ts < now() + make_interval(mins => t.min_notice_min),"
		"  d.ts >= now() + make_interval(days => t.horizon_days),"
		"  EXISTS (SELECT 1 FROM holidays h WHERE h.day = d.day"
		"          AND (h.location_id IS NULL OR h.location_id = l.id)),"
		"  EXISTS (SELECT 1 FROM availability_exceptions x WHERE x.provider_id = $3"
		"          AND x.kind = 'off' AND (x.location_id IS NULL OR x.location_id = l.id)"
		"          AND tstzrange(x.starts_at, x.ends_at) && tstzrange(d.ts, d.ts + t.dur)),"
		"  EXISTS (SELECT 1 FROM availability_templates w WHERE w.provider_id = $3"
		"          AND w.location_id = l.id AND w.weekday = extract(isodow FROM d.day)"
		"          AND d.day >= w.effective_from AND d.day <= coalesce(w.effective_to, d.day)"
		"          AND (d.day + w.start_time) AT TIME ZONE l.time_zone <= d.ts"
		"          AND (d.day + w.end_time) AT TIME ZONE l.time_zone >= d.ts + t.dur)"
		"  OR EXISTS (SELECT 1 FROM availability_exceptions x WHERE x.provider_id = $3"
		"          AND x.kind = 'extra' AND x.location_id = l.id"
		"          AND x.starts_at <= d.ts AND x.ends_at >= d.ts + t.dur),"
		"  EXISTS (SELECT 1 FROM appointments a WHERE a.provider_id = $3"
		"          AND appointment_status_active(a.status) AND NOT a.overbooked"
		"          AND tstzrange(a.blocked_from, a.blocked_until) && tstzrange("
		"              d.ts - make_interval(mins => t.buffer_before_min),"
		"              d.ts + t.dur + make_interval(mins => t.buffer_after_min))),"
		"  t.per_day_limit IS NOT NULL AND t.per_day_limit <= (SELECT count(*) FROM appointments a"
		"     WHERE a.provider_id = $3 AND a.type_id = t.id AND appointment_status_active(a.status)"
		"       AND (a.starts_at AT TIME ZONE l.time_zone)::date = d.day),"
		"  t.min_notice_min, t.horizon_days, coalesce(t.per_day_limit, 0), t.grid_min,"
		"  EXISTS (SELECT 1 FROM unnest(t.resource_kinds) k(kind) WHERE NOT EXISTS ("
		"    SELECT 1 FROM resources r WHERE r.location_id = l.id AND r.kind = k.kind"
		"       AND r.active AND NOT EXISTS (SELECT 1 FROM appointment_resources ar"
		"         WHERE ar.resource_id = r.id AND ar.active AND tstzrange(ar.blocked_from,"
		"           ar.blocked_until) && tstzrange("
		"             d.ts - make_interval(mins => t.buffer_before_min),"
		"             d.ts + t.dur + make_interval(mins => t.buffer_after_min))))),"
		"  (SELECT local_text(max(o.expires_at), l.time_zone) FROM waitlist_offers o"
		"    WHERE o.provider_id = $3 AND o.status = 'open' AND tstzrange(o.blocked_from,"
		"      o.blocked_until) && tstzrange(d.ts - make_interval(mins => t.buffer_before_min),"
		"        d.ts + t.dur + make_interval(mins => t.buffer_after_min))),"
		/* Until when open offers hold rooms of a kind that has none left. */
		"  (SELECT local_text(max(o.expires_at), l.time_zone)"
		"    FROM unnest(t.resource_kinds) k(kind)"
		"    JOIN resources r ON r.location_id = l.id AND r.kind = k.kind AND r.active"
		"    JOIN waitlist_offer_resources h ON h.resource_id = r.id AND h.active"
		"    JOIN waitlist_offers o ON o.id = h.offer_id"
		"   WHERE tstzrange(h.blocked_from, h.blocked_until) && tstzrange("
		"         d.ts - make_interval(mins => t.buffer_before_min),"
		"         d.ts + t.dur + make_interval(mins => t.buffer_after_min))"
		"     AND NOT EXISTS (SELECT 1 FROM resources r2 WHERE r2.location_id = l.id"
		"       AND r2.kind = k.kind AND r2.active"
		"       AND NOT EXISTS (SELECT 1 FROM appointment_resources ar WHERE ar.resource_id = r2.id"
		"         AND ar.active AND tstzrange(ar.blocked_from, ar.blocked_until) && tstzrange("
		"           d.ts - make_interval(mins => t.buffer_before_min),"
		"           d.ts + t.dur + make_interval(mins => t.buffer_after_min)))"
		"       AND NOT EXISTS (SELECT 1 FROM waitlist_offer_resources h2"
		"         WHERE h2.resource_id = r2.id AND h2.active"
		"           AND tstzrange(h2.blocked_from, h2.blocked_until) && tstzrange("
		"             d.ts - make_interval(mins => t.buffer_before_min),"
		"             d.ts + t.dur + make_interval(mins => t.buffer_after_min)))))"
		" FROM t, l, d",
		&p);
	if (!r)
		return ctx->status.code;
	bool past = db_bool(r, 0, 0), notice = db_bool(r, 0, 1), horizon = db_bool(r, 0, 2);
	bool holiday = db_bool(r, 0, 3), away = db_bool(r, 0, 4), in_hours = db_bool(r, 0, 5);
	bool taken = db_bool(r, 0, 6), full = db_bool(r, 0, 7);
	long long notice_min = db_int(r, 0, 8), horizon_days = db_int(r, 0, 9);
	long long limit = db_int(r, 0, 10), grid = db_int(r, 0, 11);
	bool rooms_taken = db_bool(r, 0, 12);
	char *held_until = PQgetisnull(r, 0, 13) ? NULL : db_str(ctx->arena, r, 0, 13);
	char *room_held_until = PQgetisnull(r, 0, 14) ? NULL : db_str(ctx->arena, r, 0, 14);
	PQclear(r);
	if (past)
		return fd_fail(&ctx->status, FD_INVALID_ARGUMENT, "that time is in the past");
	if (notice)
		return fd_fail(&ctx->status, FD_FAILED_PRECONDITION,
			       "this type needs at least %lld minutes' notice", notice_min);
	if (horizon)
		return fd_fail(&ctx->status, FD_FAILED_PRECONDITION,
			       "this type can be booked at most %lld days ahead", horizon_days);
	if (holiday)
		return fd_fail(&ctx->status, FD_FAILED_PRECONDITION, "the clinic is closed that day");
	if (away)
		return fd_fail(&ctx->status, FD_FAILED_PRECONDITION, "the provider is away at that time");
	if (!in_hours)
		return fd_fail(&ctx->status, FD_FAILED_PRECONDITION,
			       "that time is outside the provider's hours");
	if (taken)
		return slot_taken(ctx, s, "that slot");
	if (held_until)
		return slot_held(ctx, s, "that slot", held_until);
	if (full)
		return fd_fail(&ctx->status, FD_FAILED_PRECONDITION,
			       "the provider's limit of %lld of this type that day is reached", limit);
	if (rooms_taken)
		return slot_taken(ctx, s, "the room or equipment needed at that time");
	if (room_held_until)
		return slot_held(ctx, s, "the room or equipment needed at that time", room_held_until);
	return fd_fail(&ctx->status, FD_FAILED_PRECONDITION,
		       "that time is off the %lld-minute slot grid", grid);
}

/* The booking rules, checked before the insert: the start is an open slot
 * (or, overbooking, at least not in the past). */
static int check_slot(fd_ctx *ctx, const struct sched_booking *b, const struct slot_request *s)
{
	db_params p;
	PGresult *r;

	if (s->has_day_limit) {
		/* Serialises bookings of this provider's local day so the
		 * count below sees every committed one. */
		dbp_init(&p);
		dbp_int(&p, s->place.provider_id);
		dbp_text(&p, s->instant);
		dbp_text(&p, s->place.time_zone);
		if (db_exec(ctx,
			    "SELECT pg_advisory_xact_lock(hashtextextended('appointments-day:' || $1 || ':'"
			    " || ($2::timestamptz AT TIME ZONE $3)::date, 0))",
			    &p) != FD_OK)
			return ctx->status.code;
	}
	dbp_init(&p);
	dbp_int(&p, s->type_id);
	dbp_int(&p, s->place.location_id);
	dbp_int(&p, s->place.provider_id);
	dbp_text(&p, s->instant);
	dbp_bool(&p, b->overbook);
	r = db_query(ctx,
		     "SELECT CASE WHEN $5 THEN $4::timestamptz >= now() ELSE EXISTS ("
		     "  SELECT 1 FROM open_slots($1, $2, ARRAY[$3::bigint], $4::timestamptz,"
		     "                           $4::timestamptz + interval '1 minute')"
		     "   WHERE starts_at = $4::timestamptz) END",
		     &p);
	if (!r)
		return ctx->status.code;
	bool open = db_bool(r, 0, 0);
	PQclear(r);
	if (open)
		return FD_OK;
	if (b->overbook)
		return fd_fail(&ctx->status, FD_INVALID_ARGUMENT, "that time is in the past");
	return explain_refusal(ctx, s);
}

/* Refuses a named room that an open waitlist offer holds for [from,
 * until): the room exclusion constraint sees appointments only, so the
 * hold is checked here, as open_slots() checks it for the search. */
static int check_room_not_held(fd_ctx *ctx, const struct slot_request *s, int64_t room,
			       const char *from, const char *until)
{
	db_params p;
	PGresult *r;

	dbp_init(&p);
	dbp_int(&p, room);
	dbp_text(&p, from);
	dbp_text(&p, until);
	dbp_text(&p, s->place.time_zone);
	r = db_query(ctx,
		     "SELECT local_text(max(o.expires_at), $4) FROM waitlist_offer_resources h"
		     " JOIN waitlist_offers o ON o.id = h.offer_id"
		     " WHERE h.resource_id = $1 AND h.active AND tstzrange(h.blocked_from,"
		     "  h.blocked_until) && tstzrange($2::timestamptz, $3::timestamptz)",
		     &p);
	if (!r)
		return ctx->status.code;
	char *held_until = PQgetisnull(r, 0, 0) ? NULL : db_str(ctx->arena, r, 0, 0);
	PQclear(r);
	return held_until ? slot_held(ctx, s, "that room", held_until) : FD_OK;
}

/* Takes a room of each needed kind: the named room for its kind, else a
 * room the accepted waitlist offer held, else the free one with the
 * lowest code; rooms held by other open offers are not free. Losing a
 * race for the last one is "just taken". */
static int take_rooms(fd_ctx *ctx, const struct sched_booking *b, const struct slot_request *s,
		      int64_t appointment_id, const char *from, const char *until)
{
	int64_t named = 0;
	const char *named_kind = NULL;
	db_params p;
	PGresult *r;

	if (*b->room) {
		if (sched_check_code(ctx, "the room code", b->room) != FD_OK)
			return ctx->status.code;
		dbp_init(&p);
		dbp_text(&p, b->room);
		dbp_int(&p, s->place.location_id);
		if (!(r = db_query(ctx, "SELECT id, kind FROM resources WHERE code = $1"
					" AND location_id = $2 AND active", &p)))
			return ctx->status.code;
		if (PQntuples(r) == 1) {
			named = db_int(r, 0, 0);
			named_kind = db_str(ctx->arena, r, 0, 1);
		}
		PQclear(r);
		if (!named)
			return fd_fail(&ctx->status, FD_NOT_FOUND, "no active room has that code at the location");
		if (check_room_not_held(ctx, s, named, from, until) != FD_OK)
			return ctx->status.code;
	}
	bool named_used = false;
	for (size_t i = 0; i < s->n_kinds; i++) {
		bool use_named = named && !named_used && strcmp(named_kind, s->kinds[i]) == 0;
		dbp_init(&p);
		dbp_int(&p, appointment_id);
		dbp_int(&p, s->place.location_id);
		dbp_text(&p, s->kinds[i]);
		if (use_named)
			dbp_int(&p, named);
		else
			dbp_text(&p, NULL);
		dbp_text(&p, from);
		dbp_text(&p, until);
		dbp_int(&p, b->offer_id);
		r = db_query(ctx,
			     "INSERT INTO appointment_resources (appointment_id, resource_id,"
			     " blocked_from, blocked_until)"
			     " SELECT $1, x.id, $5, $6 FROM (SELECT coalesce($4::bigint, ("
			     "   SELECT r.id FROM resources r WHERE r.location_id = $2 AND r.kind = $3"
			     "      AND r.active AND NOT EXISTS (SELECT 1 FROM appointment_resources ar"
			     "        WHERE ar.resource_id = r.id AND ar.active AND tstzrange(ar.blocked_from,"
			     "          ar.blocked_until) && tstzrange($5::timestamptz, $6::timestamptz))"
			     "      AND NOT EXISTS (SELECT 1 FROM waitlist_offer_resources h"
			     "        WHERE h.resource_id = r.id AND h.active AND tstzrange(h.blocked_from,"
			     "          h.blocked_until) && tstzrange($5::timestamptz, $6::timestamptz))"
			     "    ORDER BY EXISTS (SELECT 1 FROM waitlist_offer_resources h"
			     "        WHERE h.offer_id = $7 AND h.resource_id = r.id) DESC, r.code"
			     "    LIMIT 1)) AS id) x"
			     " WHERE x.id IS NOT NULL"
			     " ON CONFLICT DO NOTHING RETURNING resource_id",
			     &p);
		if (!r)
			return ctx->status.code;
		int got = PQntuples(r);
		PQclear(r);
		if (!got)
			return slot_taken(ctx, s, use_named ? "that room" : "the last free room of a needed kind");
		named_used |= use_named;
	}
	if (named && !named_used)
		return fd_fail(&ctx->status, FD_FAILED_PRECONDITION,
			       "this appointment type needs no room of that kind");
	return FD_OK;
}

static int check_booking_input(fd_ctx *ctx, const struct sched_booking *b, struct slot_request *s)
{
	if (sched_check_text(ctx, "the reason", b->reason, 0, 500, false) != FD_OK ||
	    sched_check_text(ctx, "the notes", b->notes, 0, 2000, true) != FD_OK ||
	    sched_check_local(ctx, "the start", b->at, &s->local) != FD_OK)
		return ctx->status.code;
	if (b->patient_id <= 0)
		return fd_fail(&ctx->status, FD_INVALID_ARGUMENT, "give the patient's id");
	if (!b->overbook && *b->overbook_reason)
		return fd_fail(&ctx->status, FD_INVALID_ARGUMENT,
			       "an overbook reason is only for overbooking");
	if (b->overbook) {
		if (!(ctx->session->roles & (ROLE_ADMIN | ROLE_PROVIDER)))
			return fd_fail(&ctx->status, FD_PERMISSION_DENIED,
				       "only a provider or an admin may overbook");
		if (sched_check_text(ctx, "the overbook reason", b->overbook_reason, 1, 500, false) != FD_OK)
			return ctx->status.code;
	}
	return FD_OK;
}

int sched_book(fd_ctx *ctx, const struct sched_booking *b, int64_t *id)
{
	struct slot_request s = { 0 };
	db_params p;
	PGresult *r;

	if (check_booking_input(ctx, b, &s) != FD_OK ||
	    sched_resolve_place(ctx, b->provider, b->location, &s.place) != FD_OK ||
	    resolve_type(ctx, b, &s) != FD_OK ||
	    sched_local_instant(ctx, "the start", s.local, s.place.time_zone, &s.instant) != FD_OK ||
	    check_slot(ctx, b, &s) != FD_OK ||
	    db_set_reason(ctx, b->overbook ? b->overbook_reason : b->reason) != FD_OK)
		return ctx->status.code;
	dbp_init(&p);
	dbp_int(&p, b->patient_id);
	dbp_int(&p, s.place.provider_id);
	dbp_int(&p, s.place.location_id);
	dbp_int(&p, s.type_id);
	dbp_text(&p, s.instant);
	dbp_text(&p, b->reason);
	dbp_text(&p, b->notes);
	dbp_bool(&p, b->overbook);
	dbp_text_or_null(&p, b->overbook ? b->overbook_reason : "");
	if (b->rescheduled_from)
		dbp_int(&p, b->rescheduled_from);
	else
		dbp_text(&p, NULL);
	dbp_int(&p, ctx->session->staff_id);
	r = db_query(ctx,
		     "INSERT INTO appointments (patient_id, provider_id, location_id, type_id,"
		     " starts_at, ends_at, blocked_from, blocked_until, reason, notes, overbooked,"
		     " overbook_reason, rescheduled_from, booked_by)"
		     " SELECT $1, $2, $3, t.id, $5::timestamptz,"
		     "  $5::timestamptz + make_interval(mins => t.duration_min),"
		     "  $5::timestamptz - make_interval(mins => t.buffer_before_min),"
		     "  $5::timestamptz + make_interval(mins => t.duration_min + t.buffer_after_min),"
		     "  $6, $7, $8, $9, $10::bigint, $11 FROM appointment_types t WHERE t.id = $4"
		     " ON CONFLICT DO NOTHING RETURNING id, blocked_from, blocked_until",
		     &p);
	if (!r)
		return ctx->status.code;
	if (PQntuples(r) != 1) {
		PQclear(r);
		return slot_taken(ctx, &s, "that slot");
	}
	*id = db_int(r, 0, 0);
	char *from = db_str(ctx->arena, r, 0, 1), *until = db_str(ctx->arena, r, 0, 2);
	PQclear(r);
	if (take_rooms(ctx, b, &s, *id, from, until) != FD_OK)
		return ctx->status.code;
	/* Reminders still ahead of now; the outbox timer sends them. */
	dbp_init(&p);
	dbp_int(&p, *id);
	return db_exec(ctx,
		       "INSERT INTO appointment_reminders (appointment_id, send_at)"
		       " SELECT a.id, a.starts_at - make_interval(mins => m)"
		       " FROM appointments a JOIN appointment_types t ON t.id = a.type_id,"
		       "  unnest(t.reminder_minutes) m"
		       " WHERE a.id = $1 AND a.starts_at - make_interval(mins => m) > now()"
		       " ON CONFLICT DO NOTHING",
		       &p);
}

int sched_finish(fd_ctx *ctx, int64_t id, const char *topic, Frontdesk__V1__Appointment **a)
{
	char *subject = fd_arena_printf(ctx->arena, "appointment:%lld", (long long)id);

	if (!subject)
		return SCHED_NOMEM(ctx);
	if (sched_load_appointment(ctx, id, a) != FD_OK)
		return ctx->status.code;
	fd_ctx_audit(ctx, (*a)->patient_id, subject);
	return topic ? db_notify(ctx, topic, subject) : FD_OK;
}

int handle_sched_book(fd_ctx *ctx, const ProtobufCMessage *in, ProtobufCMessage **out)
{
	const Frontdesk__V1__BookRequest *req = (const void *)in;
	Frontdesk__V1__BookReply *rep = fd_arena_alloc(ctx->arena, sizeof *rep);
	struct sched_booking b = {
		.patient_id = req->patient_id, .provider = req->provider, .type = req->type,
		.location = req->location, .at = req->at, .room = req->room,
		.reason = req->reason, .notes = req->notes, .overbook = req->overbook,
		.overbook_reason = req->overbook_reason,
	};
	int64_t id;

	if (!rep)
		return SCHED_NOMEM(ctx);
	frontdesk__v1__book_reply__init(rep);
	if (*req->repeat || req->count) {
		if (sched_book_series(ctx, req, rep) != FD_OK)
			return ctx->status.code;
		*out = &rep->base;
		return FD_OK;
	}
	if (sched_book(ctx, &b, &id) != FD_OK ||
	    sched_finish(ctx, id, "appointment.booked", &rep->appointment) != FD_OK)
		return ctx->status.code;
	*out = &rep->base;
	return FD_OK;
}

/* The appointment's current state, locked for the change that follows. */
struct current {
	int64_t patient_id;
	char *status, *provider, *type, *location, *reason, *notes;
	bool started;
};

static int lock_appointment(fd_ctx *ctx, int64_t id, struct current *c)
{
	db_params p;
	PGresult *r;

	dbp_init(&p);
	dbp_int(&p, id);
	r = db_query(ctx,
		     "SELECT a.patient_id, a.status, p.code, t.code, l.code, a.reason, a.notes,"
		     " a.starts_at <= now()"
		     " FROM appointments a JOIN providers p ON p.id = a.provider_id"
		     " JOIN appointment_types t ON t.id = a.type_id"
		     " JOIN locations l ON l.id = a.location_id"
		     " WHERE a.id = $1 FOR UPDATE OF a",
		     &p);
	if (!r)
		return ctx->status.code;
	if (PQntuples(r) != 1) {
		PQclear(r);
		return fd_fail(&ctx->status, FD_NOT_FOUND, "no appointment has id %lld", (long long)id);
	}
	c->patient_id = db_int(r, 0, 0);
	c->status = db_str(ctx->arena, r, 0, 1);
	c->provider = db_str(ctx->arena, r, 0, 2);
	c->type = db_str(ctx->arena, r, 0, 3);
	c->location = db_str(ctx->arena, r, 0, 4);
	c->reason = db_str(ctx->arena, r, 0, 5);
	c->notes = db_str(ctx->arena, r, 0, 6);
	c->started = db_bool(r, 0, 7);
	PQclear(r);
	return FD_OK;
}

static bool status_in(const char *status, const char *const *set)
{
	for (; *set; set++)
		if (strcmp(status, *set) == 0)
			return true;
	return false;
}

/* Moves an appointment to a new status (history by trigger). */
static int set_status(fd_ctx *ctx, int64_t id, const char *status, const char *cancel_reason,
		      const char *why)
{
	db_params p;

	if (db_set_reason(ctx, why) != FD_OK)
		return ctx->status.code;
	dbp_init(&p);
	dbp_int(&p, id);
	dbp_text(&p, status);
	dbp_text(&p, cancel_reason);
	return db_exec(ctx, "UPDATE appointments SET status = $2, cancel_reason = $3 WHERE id = $1", &p);
}

int sched_offer_freed(fd_ctx *ctx, int64_t appointment_id)
{
	db_params p;

	dbp_init(&p);
	dbp_int(&p, appointment_id);
	return db_exec(ctx,
		       "SELECT waitlist_offer_slot(provider_id, location_id, type_id, starts_at)"
		       " FROM appointments WHERE id = $1",
		       &p);
}

static const char *const not_yet_arrived[] = { "booked", "confirmed", NULL };

int handle_sched_reschedule(fd_ctx *ctx, const ProtobufCMessage *in, ProtobufCMessage **out)
{
	const Frontdesk__V1__RescheduleRequest *req = (const void *)in;
	Frontdesk__V1__RescheduleReply *rep = fd_arena_alloc(ctx->arena, sizeof *rep);
	struct current c;
	int64_t id;

	if (!rep)
		return SCHED_NOMEM(ctx);
	frontdesk__v1__reschedule_reply__init(rep);
	if (sched_check_text(ctx, "the reason", req->reason, 0, 500, false) != FD_OK ||
	    lock_appointment(ctx, req->appointment_id, &c) != FD_OK)
		return ctx->status.code;
	if (!status_in(c.status, not_yet_arrived))
		return fd_fail(&ctx->status, FD_FAILED_PRECONDITION,
			       "only a booked or confirmed appointment can be rescheduled; this one is %s",
			       c.status);
	/* The old one steps aside first, so the new time may overlap it. */
	struct sched_booking b = {
		.patient_id = c.patient_id, .provider = *req->provider ? req->provider : c.provider,
		.type = c.type, .location = *req->provider ? "" : c.location, .at = req->at,
		.room = req->room, .reason = c.reason, .notes = c.notes, .overbook_reason = "",
		.rescheduled_from = req->appointment_id,
	};
	if (set_status(ctx, req->appointment_id, "rescheduled", NULL, req->reason) != FD_OK ||
	    sched_book(ctx, &b, &id) != FD_OK ||
	    sched_offer_freed(ctx, req->appointment_id) != FD_OK ||
	    sched_finish(ctx, id, "appointment.rescheduled", &rep->appointment) != FD_OK)
		return ctx->status.code;
	*out = &rep->base;
	return FD_OK;
}

int handle_sched_cancel(fd_ctx *ctx, const ProtobufCMessage *in, ProtobufCMessage **out)
{
	static const char *const reasons[] = { "patient", "provider", "clinic", "weather", "other", NULL };
	static const char *const cancellable[] = { "booked", "confirmed", "arrived", "checked_in", NULL };
	const Frontdesk__V1__CancelRequest *req = (const void *)in;
	Frontdesk__V1__CancelReply *rep = fd_arena_alloc(ctx->arena, sizeof *rep);
	struct current c;

	if (!rep)
		return SCHED_NOMEM(ctx);
	frontdesk__v1__cancel_reply__init(rep);
	if (!status_in(req->reason_code, reasons))
		return fd_fail(&ctx->status, FD_INVALID_ARGUMENT,
			       "the reason is patient, provider, clinic, weather or other");
	if (sched_check_text(ctx, "the note", req->note, 0, 500, false) != FD_OK ||
	    lock_appointment(ctx, req->appointment_id, &c) != FD_OK)
		return ctx->status.code;
	if (strcmp(c.status, "cancelled") == 0)
		return fd_fail(&ctx->status, FD_FAILED_PRECONDITION, "the appointment is already cancelled");
	if (!status_in(c.status, cancellable))
		return fd_fail(&ctx->status, FD_FAILED_PRECONDITION,
			       "an appointment that is %s cannot be cancelled", c.status);
	if (set_status(ctx, req->appointment_id, "cancelled", req->reason_code,
		       *req->note ? req->note : req->reason_code) != FD_OK ||
	    sched_offer_freed(ctx, req->appointment_id) != FD_OK ||
	    sched_finish(ctx, req->appointment_id, "appointment.cancelled", &rep->appointment) != FD_OK)
		return ctx->status.code;
	*out = &rep->base;
	return FD_OK;
}

int handle_sched_mark_no_show(fd_ctx *ctx, const ProtobufCMessage *in, ProtobufCMessage **out)
{
	const Frontdesk__V1__MarkNoShowRequest *req = (const void *)in;
	Frontdesk__V1__MarkNoShowReply *rep = fd_arena_alloc(ctx->arena, sizeof *rep);
	struct current c;

	if (!rep)
		return SCHED_NOMEM(ctx);
	frontdesk__v1__mark_no_show_reply__init(rep);
	if (lock_appointment(ctx, req->appointment_id, &c) != FD_OK)
		return ctx->status.code;
	if (!status_in(c.status, not_yet_arrived))
		return fd_fail(&ctx->status, FD_FAILED_PRECONDITION,
			       "only a booked or confirmed appointment can be a no-show; this one is %s",
			       c.status);
	if (!c.started)
		return fd_fail(&ctx->status, FD_FAILED_PRECONDITION,
			       "the appointment has not started yet");
	if (set_status(ctx, req->appointment_id, "no_show", NULL, "") != FD_OK ||
	    sched_offer_freed(ctx, req->appointment_id) != FD_OK ||
	    sched_finish(ctx, req->appointment_id, "appointment.no_show", &rep->appointment) != FD_OK)
		return ctx->status.code;
	*out = &rep->base;
	return FD_OK;
}

int handle_sched_confirm(fd_ctx *ctx, const ProtobufCMessage *in, ProtobufCMessage **out)
{
	const Frontdesk__V1__ConfirmRequest *req = (const void *)in;
	Frontdesk__V1__ConfirmReply *rep = fd_arena_alloc(ctx->arena, sizeof *rep);
	struct current c;

	if (!rep)
		return SCHED_NOMEM(ctx);
	frontdesk__v1__confirm_reply__init(rep);
	if (lock_appointment(ctx, req->appointment_id, &c) != FD_OK)
		return ctx->status.code;
	if (strcmp(c.status, "booked") != 0)
		return fd_fail(&ctx->status, FD_FAILED_PRECONDITION,
			       "only a booked appointment can be confirmed; this one is %s", c.status);
	if (set_status(ctx, req->appointment_id, "confirmed", NULL, "") != FD_OK ||
	    sched_finish(ctx, req->appointment_id, "appointment.confirmed", &rep->appointment) != FD_OK)
		return ctx->status.code;
	*out = &rep->base;
	return FD_OK;
}

static Frontdesk__V1__HistoryEntry *history_from_row(fd_ctx *ctx, const PGresult *r, int row)
{
	Frontdesk__V1__HistoryEntry *h = fd_arena_alloc(ctx->arena, sizeof *h);

	if (!h)
		return NULL;
	frontdesk__v1__history_entry__init(h);
	h->at_local = db_str(ctx->arena, r, row, 0);
	h->at_unix_ms = db_int(r, row, 1);
	h->by = db_str(ctx->arena, r, row, 2);
	h->action = db_str(ctx->arena, r, row, 3);
	h->from_status = db_str(ctx->arena, r, row, 4);
	h->to_status = db_str(ctx->arena, r, row, 5);
	h->starts_local = db_str(ctx->arena, r, row, 6);
	h->reason = db_str(ctx->arena, r, row, 7);
	return h;
}

int handle_sched_get_appointment(fd_ctx *ctx, const ProtobufCMessage *in, ProtobufCMessage **out)
{
	const Frontdesk__V1__GetAppointmentRequest *req = (const void *)in;
	Frontdesk__V1__GetAppointmentReply *rep = fd_arena_alloc(ctx->arena, sizeof *rep);
	db_params p;
	PGresult *r;

	if (!rep)
		return SCHED_NOMEM(ctx);
	frontdesk__v1__get_appointment_reply__init(rep);
	if (sched_finish(ctx, req->appointment_id, NULL, &rep->appointment) != FD_OK)
		return ctx->status.code;
	dbp_init(&p);
	dbp_int(&p, req->appointment_id);
	r = db_query(ctx,
		     "SELECT local_text(h.at, l.time_zone), (extract(epoch FROM h.at) * 1000)::bigint,"
		     " coalesce(s.username, ''), h.action, coalesce(h.from_status, ''), h.to_status,"
		     " local_text(h.starts_at, l.time_zone), h.reason"
		     " FROM appointment_history h JOIN appointments a ON a.id = h.appointment_id"
		     " JOIN locations l ON l.id = a.location_id LEFT JOIN staff s ON s.id = h.staff_id"
		     " WHERE h.appointment_id = $1 ORDER BY h.id",
		     &p);
	if (!r)
		return ctx->status.code;
	rep->n_history = (size_t)PQntuples(r);
	rep->history = fd_arena_alloc(ctx->arena, (rep->n_history + 1) * sizeof *rep->history);
	for (size_t i = 0; rep->history && i < rep->n_history; i++)
		if (!(rep->history[i] = history_from_row(ctx, r, (int)i)))
			rep->history = NULL;
	PQclear(r);
	if (!rep->history)
		return SCHED_NOMEM(ctx);
	*out = &rep->base;
	return FD_OK;
}

/* The location a schedule is shown in: named, else the provider's first,
 * else the clinic's first; and its local date today. */
static int schedule_place(fd_ctx *ctx, const Frontdesk__V1__ListAppointmentsRequest *req,
			  int64_t *provider_id, int64_t *location_id, char **today)
{
	db_params p;
	PGresult *r;

	if (*req->location && sched_check_code(ctx, "the location code", req->location) != FD_OK)
		return ctx->status.code;
	dbp_init(&p);
	dbp_text_or_null(&p, req->provider);
	dbp_text_or_null(&p, req->location);
	r = db_query(ctx,
		     "WITH pr AS (SELECT id FROM providers WHERE code = $1 OR id = " SCHED_ID_OF("$1") ")"
		     " SELECT (SELECT id FROM pr), l.id, (now() AT TIME ZONE l.time_zone)::date::text"
		     " FROM locations l WHERE CASE WHEN $2::text IS NOT NULL THEN l.code = $2"
		     "  ELSE l.id = coalesce((SELECT min(pl.location_id) FROM provider_locations pl"
		     "                        WHERE pl.provider_id = (SELECT id FROM pr)),"
		     "                       (SELECT min(id) FROM locations)) END",
		     &p);
	if (!r)
		return ctx->status.code;
	int rows = PQntuples(r);
	bool no_provider = rows == 1 && *req->provider && PQgetisnull(r, 0, 0);
	if (rows == 1) {
		*provider_id = PQgetisnull(r, 0, 0) ? 0 : db_int(r, 0, 0);
		*location_id = db_int(r, 0, 1);
		*today = db_str(ctx->arena, r, 0, 2);
	}
	PQclear(r);
	if (rows != 1)
		return fd_fail(&ctx->status, FD_NOT_FOUND, "no location has that code");
	if (no_provider)
		return fd_fail(&ctx->status, FD_NOT_FOUND, "no provider has that code or id");
	return FD_OK;
}

static const char *const statuses[] = { "booked",    "confirmed", "arrived", "checked_in",
					"in_room",   "completed", "cancelled", "no_show",
					"rescheduled", NULL };

int handle_sched_list_appointments(fd_ctx *ctx, const ProtobufCMessage *in, ProtobufCMessage **out)
{
	const Frontdesk__V1__ListAppointmentsRequest *req = (const void *)in;
	Frontdesk__V1__ListAppointmentsReply *rep = fd_arena_alloc(ctx->arena, sizeof *rep);
	int64_t provider_id = 0, location_id = 0;
	int days = req->days ? req->days : 1;
	char *today = "", *sql;
	db_params p;
	PGresult *r;

	if (!rep)
		return SCHED_NOMEM(ctx);
	if (*req->status && !status_in(req->status, statuses))
		return fd_fail(&ctx->status, FD_INVALID_ARGUMENT, "unknown appointment status");
	if (days < 1 || days > 31)
		return fd_fail(&ctx->status, FD_INVALID_ARGUMENT, "show 1-31 days at once");
	if (*req->date && sched_check_date(ctx, "the date", req->date) != FD_OK)
		return ctx->status.code;
	if (req->patient_id < 0)
		return fd_fail(&ctx->status, FD_INVALID_ARGUMENT, "a patient id is positive");
	if (!req->patient_id &&
	    schedule_place(ctx, req, &provider_id, &location_id, &today) != FD_OK)
		return ctx->status.code;
	/* A patient's appointments and a schedule are two statements, not
	 * one with "CASE WHEN $1 > 0": each has a plan PostgreSQL keeps on
	 * its index, where the combined one was planned again for its values
	 * on every call (1.7 ms of planning, the mix's costliest in
	 * docs/PERFORMANCE.md). A patient's list keeps every status unless
	 * one is asked for; a schedule leaves out cancelled and rescheduled
	 * slots unless include_cancelled. */
	dbp_init(&p);
	if (req->patient_id) {
		sql = fd_arena_printf(ctx->arena,
				      "%s WHERE a.patient_id = $1"
				      " AND ($2::text IS NULL OR a.status = $2)"
				      " ORDER BY a.starts_at, p.display_name, a.id LIMIT 2000",
				      sched_appointment_select);
		dbp_int(&p, req->patient_id);
		dbp_text_or_null(&p, req->status);
	} else {
		/* The day's bounds in the location's zone come first (a
		 * one-row InitPlan), so the range is an index condition in the
		 * kept plan; one provider's day reads their index, a whole
		 * location's the location's. */
		sql = fd_arena_printf(
			ctx->arena,
			"WITH day AS MATERIALIZED ("
			"  SELECT $3::date::timestamp AT TIME ZONE time_zone AS first,"
			"         ($3::date + $4::int)::timestamp AT TIME ZONE time_zone AS last"
			"    FROM locations WHERE id = $1)"
			" %s WHERE a.location_id = $1 AND %s"
			"  AND a.starts_at >= (SELECT first FROM day)"
			"  AND a.starts_at < (SELECT last FROM day)"
			" AND CASE WHEN $5::text IS NOT NULL THEN a.status = $5"
			"  ELSE $6 OR a.status NOT IN ('cancelled', 'rescheduled') END"
			" ORDER BY a.starts_at, p.display_name, a.id LIMIT 2000",
			sched_appointment_select,
			provider_id ? "a.provider_id = $2" : "$2::bigint = 0");
		dbp_int(&p, location_id);
		dbp_int(&p, provider_id);
		dbp_text(&p, *req->date ? req->date : *today ? today : "2000-01-01");
		dbp_int(&p, days);
		dbp_text_or_null(&p, req->status);
		dbp_bool(&p, req->include_cancelled);
	}
	if (!sql)
		return SCHED_NOMEM(ctx);
	if (!(r = db_query(ctx, sql, &p)))
		return ctx->status.code;
	frontdesk__v1__list_appointments_reply__init(rep);
	rep->n_appointments = (size_t)PQntuples(r);
	rep->appointments = fd_arena_alloc(ctx->arena, (rep->n_appointments + 1) * sizeof *rep->appointments);
	int64_t *patients = fd_arena_alloc(ctx->arena, (rep->n_appointments + 1) * sizeof *patients);
	for (size_t i = 0; rep->appointments && patients && i < rep->n_appointments; i++) {
		if (!(rep->appointments[i] = sched_appointment_from_row(ctx, r, (int)i)))
			rep->appointments = NULL;
		else
			patients[i] = rep->appointments[i]->patient_id;
	}
	PQclear(r);
	if (!rep->appointments || !patients)
		return SCHED_NOMEM(ctx);
	if (req->patient_id)
		fd_ctx_audit(ctx, req->patient_id,
			     fd_arena_printf(ctx->arena, "patient:%lld", (long long)req->patient_id));
	else if (rep->n_appointments)
		fd_ctx_audit_patients(ctx, patients, rep->n_appointments, "schedule");
	*out = &rep->base;
	return FD_OK;
}
