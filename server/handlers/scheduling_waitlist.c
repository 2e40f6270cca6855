/*
 * The waitlist: patients who want an earlier slot of a type (optionally
 * with one provider, on some weekdays, mornings or afternoons, between two
 * dates). The queue itself lives in SQL (migrations/0003_scheduling.sql):
 * when an appointment frees its slot (cancel, reschedule, no-show) the
 * appointment handlers call waitlist_offer_slot(), which holds the slot for
 * the first matching entry (priority, then request time) and raises
 * `waitlist.offer`. The offer holds the provider's time and one room of
 * each kind the entry's type needs (migrations/0010_offer_rooms.sql); held
 * time and held rooms are busy for open_slots(), so neither the search nor
 * anyone else's booking can take them.
 *
 * This file adds and lists entries and answers an offer: accept books the
 * held slot in the held rooms through sched_book, the normal booking path,
 * after releasing the hold inside the same transaction (so every rule still applies and a
 * racing desk still sees the slot held until commit); accepting again
 * answers the same appointment. Decline and remove pass the slot on to the
 * next entry; the `waitlist` PERIODIC row does the same for expired offers.
 * Every call that shows or changes an entry audits its patient.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "scheduling.h"

#define HOLD_MAX_MIN 1440

static const char entry_select[] =
	"SELECT w.id, w.patient_id, pa.family_name || ', ' || pa.given_name, t.code,"
	" coalesce(p.code, ''), l.code, l.time_zone, array_to_string(w.weekdays, ','),"
	" CASE w.time_of_day WHEN 'any' THEN '' ELSE w.time_of_day END,"
	" coalesce(w.from_date::text, ''), coalesce(w.to_date::text, ''), w.priority, w.note,"
	" w.status, (extract(epoch FROM w.requested_at) * 1000)::bigint,"
	" coalesce(o.id, 0), coalesce(op.code, ''), coalesce(local_text(o.starts_at, l.time_zone), ''),"
	" coalesce(local_text(o.expires_at, l.time_zone), ''),"
	" coalesce((extract(epoch FROM o.expires_at) * 1000)::bigint, 0),"
	" coalesce(w.booked_appointment_id, 0),"
	" coalesce((SELECT array_agg(rs.code ORDER BY rs.code) FROM waitlist_offer_resources wr"
	"           JOIN resources rs ON rs.id = wr.resource_id"
	"           WHERE wr.offer_id = o.id AND wr.active), '{}')"
	" FROM waitlist_entries w"
	" JOIN patients pa ON pa.id = w.patient_id"
	" JOIN appointment_types t ON t.id = w.type_id"
	" JOIN locations l ON l.id = w.location_id"
	" LEFT JOIN providers p ON p.id = w.provider_id"
	" LEFT JOIN waitlist_offers o ON o.entry_id = w.id AND o.status = 'open'"
	" LEFT JOIN providers op ON op.id = o.provider_id ";

static Frontdesk__V1__WaitlistEntry *entry_from_row(fd_ctx *ctx, const PGresult *r, int row)
{
	Frontdesk__V1__WaitlistEntry *e = fd_arena_alloc(ctx->arena, sizeof *e);
	fd_arena *m = ctx->arena;

	if (!e)
		return NULL;
	frontdesk__v1__waitlist_entry__init(e);
	e->id = db_int(r, row, 0);
	e->patient_id = db_int(r, row, 1);
	e->patient_name = db_str(m, r, row, 2);
	e->type = db_str(m, r, row, 3);
	e->provider = db_str(m, r, row, 4);
	e->location = db_str(m, r, row, 5);
	e->time_zone = db_str(m, r, row, 6);
	const char *days = PQgetvalue(r, row, 7);
	e->weekdays = fd_arena_alloc(m, 8 * sizeof *e->weekdays);
	if (!e->weekdays)
		return NULL;
	for (const char *c = days; *c && e->n_weekdays < 7; c++)
		if (*c >= '1' && *c <= '7')
			e->weekdays[e->n_weekdays++] = *c - '0';
	e->time_of_day = db_str(m, r, row, 8);
	e->from_date = db_str(m, r, row, 9);
	e->to_date = db_str(m, r, row, 10);
	e->priority = (int32_t)db_int(r, row, 11);
	e->note = db_str(m, r, row, 12);
	e->status = db_str(m, r, row, 13);
	e->requested_unix_ms = db_int(r, row, 14);
	e->offer_id = db_int(r, row, 15);
	e->offer_provider = db_str(m, r, row, 16);
	e->offer_starts_local = db_str(m, r, row, 17);
	e->offer_expires_local = db_str(m, r, row, 18);
	e->offer_expires_unix_ms = db_int(r, row, 19);
	e->appointment_id = db_int(r, row, 20);
	e->offer_rooms = db_text_array(m, r, row, 21, &e->n_offer_rooms);
	return e;
}

/* Loads one entry for a reply and audits its patient. */
static int load_entry(fd_ctx *ctx, int64_t id, Frontdesk__V1__WaitlistEntry **out)
{
	char *sql = fd_arena_printf(ctx->arena, "%s WHERE w.id = $1", entry_select);
	db_params p;
	PGresult *r;

	if (!sql)
		return SCHED_NOMEM(ctx);
	dbp_init(&p);
	dbp_int(&p, id);
	if (!(r = db_query(ctx, sql, &p)))
		return ctx->status.code;
	*out = PQntuples(r) == 1 ? entry_from_row(ctx, r, 0) : NULL;
	int rows = PQntuples(r);
	PQclear(r);
	if (rows != 1)
		return fd_fail(&ctx->status, FD_NOT_FOUND, "no waitlist entry has id %lld", (long long)id);
	if (!*out)
		return SCHED_NOMEM(ctx);
	fd_ctx_audit(ctx, (*out)->patient_id, fd_arena_printf(ctx->arena, "waitlist:%lld", (long long)id));
	return FD_OK;
}

/* --- add ------------------------------------------------------------- */

static int check_add(fd_ctx *ctx, const Frontdesk__V1__AddWaitlistRequest *req, char *weekdays,
		     size_t size)
{
	size_t used = 0;
	int seen = 0;

	if (req->patient_id <= 0)
		return fd_fail(&ctx->status, FD_INVALID_ARGUMENT, "give the patient's id");
	if (!*req->type)
		return fd_fail(&ctx->status, FD_INVALID_ARGUMENT, "name the appointment type");
	if (sched_check_code(ctx, "the type code", req->type) != FD_OK ||
	    (*req->provider && sched_check_code(ctx, "the provider code", req->provider) != FD_OK) ||
	    (*req->location && sched_check_code(ctx, "the location code", req->location) != FD_OK) ||
	    (*req->from_date && sched_check_date(ctx, "the first date", req->from_date) != FD_OK) ||
	    (*req->to_date && sched_check_date(ctx, "the last date", req->to_date) != FD_OK) ||
	    sched_check_text(ctx, "the note", req->note, 0, 500, false) != FD_OK)
		return ctx->status.code;
	if (*req->from_date && *req->to_date && strcmp(req->from_date, req->to_date) > 0)
		return fd_fail(&ctx->status, FD_INVALID_ARGUMENT, "the last date is before the first");
	if (*req->time_of_day && strcmp(req->time_of_day, "morning") != 0 &&
	    strcmp(req->time_of_day, "afternoon") != 0)
		return fd_fail(&ctx->status, FD_INVALID_ARGUMENT, "the time of day is morning or afternoon");
	if (req->priority < 0 || req->priority > 5)
		return fd_fail(&ctx->status, FD_INVALID_ARGUMENT, "the priority is 1 (first) to 5");
	if (req->n_weekdays > 7)
		return fd_fail(&ctx->status, FD_INVALID_ARGUMENT, "name each weekday once");
	for (size_t i = 0; i < req->n_weekdays; i++) {
		int d = req->weekdays[i];
		if (d < 1 || d > 7)
			return fd_fail(&ctx->status, FD_INVALID_ARGUMENT,
				       "a weekday is 1 (Monday) to 7 (Sunday)");
		if (seen & (1 << d))
			return fd_fail(&ctx->status, FD_INVALID_ARGUMENT, "name each weekday once");
		seen |= 1 << d;
		used += (size_t)snprintf(weekdays + used, size - used, "%s%d", i ? "," : "", d);
	}
	return FD_OK;
}

int handle_sched_add_waitlist(fd_ctx *ctx, const ProtobufCMessage *in, ProtobufCMessage **out)
{
	const Frontdesk__V1__AddWaitlistRequest *req = (const void *)in;
	Frontdesk__V1__AddWaitlistReply *rep = fd_arena_alloc(ctx->arena, sizeof *rep);
	char weekdays[32] = "";
	db_params p;
	PGresult *r;

	if (!rep)
		return SCHED_NOMEM(ctx);
	frontdesk__v1__add_waitlist_reply__init(rep);
	if (check_add(ctx, req, weekdays, sizeof weekdays) != FD_OK)
		return ctx->status.code;
	dbp_init(&p);
	dbp_int(&p, req->patient_id);
	dbp_text(&p, req->type);
	dbp_text_or_null(&p, req->provider);
	dbp_text_or_null(&p, req->location);
	r = db_query(ctx,
		     "WITH t AS (SELECT id FROM appointment_types WHERE active AND code = $2)"
		     " , l AS (SELECT id FROM locations WHERE CASE WHEN $4::text IS NULL"
		     "           THEN id = (SELECT min(id) FROM locations) ELSE code = $4 END)"
		     " , pr AS (SELECT id FROM providers WHERE active AND code = $3)"
		     " SELECT EXISTS (SELECT 1 FROM patients WHERE id = $1), (SELECT id FROM t),"
		     "  (SELECT id FROM l), (SELECT id FROM pr),"
		     "  EXISTS (SELECT 1 FROM provider_types pt, t, pr"
		     "          WHERE pt.type_id = t.id AND pt.provider_id = pr.id)"
		     "  AND EXISTS (SELECT 1 FROM provider_locations pl, l, pr"
		     "          WHERE pl.location_id = l.id AND pl.provider_id = pr.id),"
		     "  EXISTS (SELECT 1 FROM waitlist_entries w, t WHERE w.patient_id = $1"
		     "          AND w.type_id = t.id AND w.status IN ('waiting', 'offered'))",
		     &p);
	if (!r)
		return ctx->status.code;
	bool patient = db_bool(r, 0, 0), no_type = PQgetisnull(r, 0, 1);
	bool no_location = PQgetisnull(r, 0, 2), no_provider = PQgetisnull(r, 0, 3);
	bool offers = db_bool(r, 0, 4), already = db_bool(r, 0, 5);
	int64_t type_id = db_int(r, 0, 1), location_id = db_int(r, 0, 2), provider_id = db_int(r, 0, 3);
	PQclear(r);
	if (!patient)
		return fd_fail(&ctx->status, FD_NOT_FOUND, "no patient has id %lld", (long long)req->patient_id);
	if (no_type)
		return fd_fail(&ctx->status, FD_NOT_FOUND, "no active appointment type has that code");
	if (no_location)
		return fd_fail(&ctx->status, FD_NOT_FOUND, "no location has that code");
	if (*req->provider && no_provider)
		return fd_fail(&ctx->status, FD_NOT_FOUND, "no active provider has that code");
	if (*req->provider && !offers)
		return fd_fail(&ctx->status, FD_FAILED_PRECONDITION,
			       "that provider does not offer this type at this location");
	if (already)
		return fd_fail(&ctx->status, FD_ALREADY_EXISTS,
			       "the patient is already on the waitlist for this type");
	dbp_init(&p);
	dbp_int(&p, req->patient_id);
	dbp_int(&p, type_id);
	dbp_int(&p, location_id);
	if (*req->provider)
		dbp_int(&p, provider_id);
	else
		dbp_text(&p, NULL);
	dbp_text(&p, weekdays);
	dbp_text(&p, *req->time_of_day ? req->time_of_day : "any");
	dbp_text_or_null(&p, req->from_date);
	dbp_text_or_null(&p, req->to_date);
	dbp_int(&p, req->priority ? req->priority : 3);
	dbp_text(&p, req->note);
	dbp_int(&p, ctx->session->staff_id);
	r = db_query(ctx,
		     "INSERT INTO waitlist_entries (patient_id, type_id, location_id, provider_id,"
		     " weekdays, time_of_day, from_date, to_date, priority, note, requested_by)"
		     " VALUES ($1, $2, $3, $4::bigint, ('{' || $5 || '}')::integer[], $6, $7::date,"
		     "  $8::date, $9, $10, $11) RETURNING id",
		     &p);
	if (!r)
		return ctx->status.code;
	int64_t id = db_int(r, 0, 0);
	PQclear(r);
	if (load_entry(ctx, id, &rep->entry) != FD_OK)
		return ctx->status.code;
	*out = &rep->base;
	return FD_OK;
}

/* --- list ------------------------------------------------------------ */

int handle_sched_list_waitlist(fd_ctx *ctx, const ProtobufCMessage *in, ProtobufCMessage **out)
{
	const Frontdesk__V1__ListWaitlistRequest *req = (const void *)in;
	Frontdesk__V1__ListWaitlistReply *rep = fd_arena_alloc(ctx->arena, sizeof *rep);
	char *sql;
	db_params p;
	PGresult *r;

	if (!rep)
		return SCHED_NOMEM(ctx);
	frontdesk__v1__list_waitlist_reply__init(rep);
	if ((*req->type && sched_check_code(ctx, "the type code", req->type) != FD_OK) ||
	    (*req->location && sched_check_code(ctx, "the location code", req->location) != FD_OK))
		return ctx->status.code;
	if (req->patient_id < 0)
		return fd_fail(&ctx->status, FD_INVALID_ARGUMENT, "a patient id is positive");
	sql = fd_arena_printf(ctx->arena,
			      "%s WHERE ($1::text IS NULL OR t.code = $1)"
			      " AND ($2::text IS NULL OR l.code = $2)"
			      " AND ($3 = 0 OR w.patient_id = $3)"
			      " AND ($4 OR w.status IN ('waiting', 'offered'))"
			      " ORDER BY l.code, t.code, w.priority, w.requested_at, w.id LIMIT 1000",
			      entry_select);
	if (!sql)
		return SCHED_NOMEM(ctx);
	dbp_init(&p);
	dbp_text_or_null(&p, req->type);
	dbp_text_or_null(&p, req->location);
	dbp_int(&p, req->patient_id);
	dbp_bool(&p, req->include_closed);
	if (!(r = db_query(ctx, sql, &p)))
		return ctx->status.code;
	rep->n_entries = (size_t)PQntuples(r);
	rep->entries = fd_arena_alloc(ctx->arena, (rep->n_entries + 1) * sizeof *rep->entries);
	int64_t *patients = fd_arena_alloc(ctx->arena, (rep->n_entries + 1) * sizeof *patients);
	for (size_t i = 0; rep->entries && patients && i < rep->n_entries; i++) {
		if (!(rep->entries[i] = entry_from_row(ctx, r, (int)i)))
			rep->entries = NULL;
		else
			patients[i] = rep->entries[i]->patient_id;
	}
	PQclear(r);
	if (!rep->entries || !patients)
		return SCHED_NOMEM(ctx);
	if (rep->n_entries)
		fd_ctx_audit_patients(ctx, patients, rep->n_entries, "waitlist");
	*out = &rep->base;
	return FD_OK;
}

/* --- answering an offer ---------------------------------------------- */

/* The entry, locked, and its open offer if any. */
struct entry_state {
	int64_t patient_id;
	char *status;
	int64_t appointment_id;
	int64_t offer_id;
	bool offer_expired;
	char *provider, *type, *location, *starts_local, *expires_local;
};

static int lock_entry(fd_ctx *ctx, int64_t id, struct entry_state *e)
{
	db_params p;
	PGresult *r;

	if (id <= 0)
		return fd_fail(&ctx->status, FD_INVALID_ARGUMENT, "give the waitlist entry's id");
	dbp_init(&p);
	dbp_int(&p, id);
	r = db_query(ctx,
		     "SELECT w.patient_id, w.status, coalesce(w.booked_appointment_id, 0),"
		     " coalesce(o.id, 0), coalesce(o.expires_at <= now(), false),"
		     " coalesce(p.code, ''), t.code, l.code,"
		     " coalesce(local_text(o.starts_at, l.time_zone), ''),"
		     " coalesce(local_text(o.expires_at, l.time_zone), '')"
		     " FROM waitlist_entries w"
		     " JOIN appointment_types t ON t.id = w.type_id"
		     " JOIN locations l ON l.id = w.location_id"
		     " LEFT JOIN waitlist_offers o ON o.entry_id = w.id AND o.status = 'open'"
		     " LEFT JOIN providers p ON p.id = o.provider_id"
		     " WHERE w.id = $1 FOR UPDATE OF w",
		     &p);
	if (!r)
		return ctx->status.code;
	int rows = PQntuples(r);
	if (rows == 1) {
		e->patient_id = db_int(r, 0, 0);
		e->status = db_str(ctx->arena, r, 0, 1);
		e->appointment_id = db_int(r, 0, 2);
		e->offer_id = db_int(r, 0, 3);
		e->offer_expired = db_bool(r, 0, 4);
		e->provider = db_str(ctx->arena, r, 0, 5);
		e->type = db_str(ctx->arena, r, 0, 6);
		e->location = db_str(ctx->arena, r, 0, 7);
		e->starts_local = db_str(ctx->arena, r, 0, 8);
		e->expires_local = db_str(ctx->arena, r, 0, 9);
	}
	PQclear(r);
	if (rows != 1)
		return fd_fail(&ctx->status, FD_NOT_FOUND, "no waitlist entry has id %lld", (long long)id);
	return FD_OK;
}

static int need_open_offer(fd_ctx *ctx, const struct entry_state *e)
{
	if (!e->offer_id)
		return fd_fail(&ctx->status, FD_FAILED_PRECONDITION,
			       "this entry has no open offer (it is %s)", e->status);
	if (e->offer_expired)
		return fd_fail(&ctx->status, FD_FAILED_PRECONDITION,
			       "the offer expired at %s and passes to the next patient", e->expires_local);
	return FD_OK;
}

/* Closes the entry's open offer with an outcome; the SQL passes the slot
 * on to the next matching entry. */
static int close_offer(fd_ctx *ctx, int64_t offer_id, const char *outcome)
{
	db_params p;

	dbp_init(&p);
	dbp_int(&p, offer_id);
	dbp_text(&p, outcome);
	return db_exec(ctx, "SELECT waitlist_close_offer($1, $2)", &p);
}

/* Releases the hold (the offer's rooms with it: a trigger) and books the
 * held slot through the booking path, in the rooms the offer held. */
static int book_offer(fd_ctx *ctx, int64_t entry_id, const struct entry_state *e, int64_t *id)
{
	struct sched_booking b = {
		.patient_id = e->patient_id, .provider = e->provider, .type = e->type,
		.location = e->location, .at = e->starts_local, .room = "",
		.reason = "earlier slot from the waitlist", .notes = "", .overbook_reason = "",
		.offer_id = e->offer_id,
	};
	db_params p;

	dbp_init(&p);
	dbp_int(&p, e->offer_id);
	if (db_exec(ctx, "UPDATE waitlist_offers SET status = 'accepted', decided_at = now()"
			 " WHERE id = $1 AND status = 'open'", &p) != FD_OK ||
	    sched_book(ctx, &b, id) != FD_OK)
		return ctx->status.code;
	dbp_init(&p);
	dbp_int(&p, e->offer_id);
	dbp_int(&p, *id);
	dbp_int(&p, entry_id);
	return db_exec(ctx,
		       "WITH o AS (UPDATE waitlist_offers SET appointment_id = $2 WHERE id = $1)"
		       " UPDATE waitlist_entries SET status = 'booked', booked_appointment_id = $2,"
		       " updated_at = now() WHERE id = $3",
		       &p);
}

int handle_sched_accept_offer(fd_ctx *ctx, const ProtobufCMessage *in, ProtobufCMessage **out)
{
	const Frontdesk__V1__AcceptOfferRequest *req = (const void *)in;
	Frontdesk__V1__AcceptOfferReply *rep = fd_arena_alloc(ctx->arena, sizeof *rep);
	struct entry_state e = { 0 };
	int64_t id;

	if (!rep)
		return SCHED_NOMEM(ctx);
	frontdesk__v1__accept_offer_reply__init(rep);
	if (lock_entry(ctx, req->entry_id, &e) != FD_OK)
		return ctx->status.code;
	if (strcmp(e.status, "booked") == 0) {
		/* Accepted already (another desk, a retry): the same booking. */
		if (sched_finish(ctx, e.appointment_id, NULL, &rep->appointment) != FD_OK ||
		    load_entry(ctx, req->entry_id, &rep->entry) != FD_OK)
			return ctx->status.code;
		*out = &rep->base;
		return FD_OK;
	}
	if (need_open_offer(ctx, &e) != FD_OK || book_offer(ctx, req->entry_id, &e, &id) != FD_OK ||
	    sched_finish(ctx, id, "appointment.booked", &rep->appointment) != FD_OK ||
	    load_entry(ctx, req->entry_id, &rep->entry) != FD_OK)
		return ctx->status.code;
	*out = &rep->base;
	return FD_OK;
}

int handle_sched_decline_offer(fd_ctx *ctx, const ProtobufCMessage *in, ProtobufCMessage **out)
{
	const Frontdesk__V1__DeclineOfferRequest *req = (const void *)in;
	Frontdesk__V1__DeclineOfferReply *rep = fd_arena_alloc(ctx->arena, sizeof *rep);
	struct entry_state e = { 0 };

	if (!rep)
		return SCHED_NOMEM(ctx);
	frontdesk__v1__decline_offer_reply__init(rep);
	if (lock_entry(ctx, req->entry_id, &e) != FD_OK || need_open_offer(ctx, &e) != FD_OK ||
	    close_offer(ctx, e.offer_id, "declined") != FD_OK ||
	    load_entry(ctx, req->entry_id, &rep->entry) != FD_OK)
		return ctx->status.code;
	*out = &rep->base;
	return FD_OK;
}

int handle_sched_remove_waitlist(fd_ctx *ctx, const ProtobufCMessage *in, ProtobufCMessage **out)
{
	const Frontdesk__V1__RemoveWaitlistRequest *req = (const void *)in;
	Frontdesk__V1__RemoveWaitlistReply *rep = fd_arena_alloc(ctx->arena, sizeof *rep);
	struct entry_state e = { 0 };
	db_params p;

	if (!rep)
		return SCHED_NOMEM(ctx);
	frontdesk__v1__remove_waitlist_reply__init(rep);
	if (lock_entry(ctx, req->entry_id, &e) != FD_OK)
		return ctx->status.code;
	if (strcmp(e.status, "waiting") != 0 && strcmp(e.status, "offered") != 0)
		return fd_fail(&ctx->status, FD_FAILED_PRECONDITION,
			       "only a waiting entry can be removed; this one is %s", e.status);
	/* A held slot goes on to the next patient before this entry leaves. */
	if (e.offer_id && close_offer(ctx, e.offer_id, "withdrawn") != FD_OK)
		return ctx->status.code;
	dbp_init(&p);
	dbp_int(&p, req->entry_id);
	if (db_exec(ctx, "UPDATE waitlist_entries SET status = 'removed', updated_at = now()"
			 " WHERE id = $1", &p) != FD_OK ||
	    load_entry(ctx, req->entry_id, &rep->entry) != FD_OK)
		return ctx->status.code;
	*out = &rep->base;
	return FD_OK;
}

int handle_sched_set_offer_hold(fd_ctx *ctx, const ProtobufCMessage *in, ProtobufCMessage **out)
{
	const Frontdesk__V1__SetOfferHoldRequest *req = (const void *)in;
	Frontdesk__V1__SetOfferHoldReply *rep = fd_arena_alloc(ctx->arena, sizeof *rep);
	db_params p;
	PGresult *r;

	if (!rep)
		return SCHED_NOMEM(ctx);
	frontdesk__v1__set_offer_hold_reply__init(rep);
	if (req->minutes < 1 || req->minutes > HOLD_MAX_MIN)
		return fd_fail(&ctx->status, FD_INVALID_ARGUMENT,
			       "an offer holds its slot for 1-%d minutes", HOLD_MAX_MIN);
	if (*req->location && sched_check_code(ctx, "the location code", req->location) != FD_OK)
		return ctx->status.code;
	dbp_init(&p);
	dbp_text_or_null(&p, req->location);
	dbp_int(&p, req->minutes);
	r = db_query(ctx,
		     "INSERT INTO waitlist_settings (location_id, offer_hold_min)"
		     " SELECT id, $2 FROM locations WHERE CASE WHEN $1::text IS NULL"
		     "  THEN id = (SELECT min(id) FROM locations) ELSE code = $1 END"
		     " ON CONFLICT (location_id) DO UPDATE SET offer_hold_min = EXCLUDED.offer_hold_min"
		     " RETURNING location_id",
		     &p);
	if (!r)
		return ctx->status.code;
	int rows = PQntuples(r);
	PQclear(r);
	if (rows != 1)
		return fd_fail(&ctx->status, FD_NOT_FOUND, "no location has that code");
	if (db_notify(ctx, "scheduling.changed", "waitlist") != FD_OK)
		return ctx->status.code;
	*out = &rep->base;
	return FD_OK;
}

/* PERIODIC: expired offers move on to the next entry, in one statement
 * (its own transaction); SKIP LOCKED keeps several servers apart. */
void sched_waitlist_tick(PGconn *conn)
{
	if (!conn)
		return;
	PGresult *r = PQexec(conn, "SELECT waitlist_expire_offers()");
	if (PQresultStatus(r) != PGRES_TUPLES_OK)
		log_error("waitlist expiry failed: sqlstate %s",
			  PQresultErrorField(r, PG_DIAG_SQLSTATE) ? PQresultErrorField(r, PG_DIAG_SQLSTATE)
								  : "none");
	PQclear(r);
}
