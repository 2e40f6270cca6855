/*
 * The call itself: Incoming records a call and routes it (the rules, then
 * the queue's strategy rings desks), with the caller's screen pop; Answer
 * lets exactly one desk win a ringing call (the row lock on the call does
 * it: a second answer finds the call no longer waiting); Transfer (blind,
 * to a person or a queue), Hold/Resume and End move it on, End starting the
 * answerer's wrap-up. The periodic phone housekeeping (phone_tick in the
 * database) ends wrap-ups, advances rings after their timeout and
 * overflows calls that waited too long. Every change raises events:
 * phone.call "call:ID", phone.ringing / phone.ring_stopped
 * "call:ID desk:ID staff:ID", phone.presence "staff:ID".
 */
#include <stdio.h>
#include <string.h>

#include "log.h"
#include "phone.h"
#include "validate.h"

int handle_phone_incoming(fd_ctx *ctx, const ProtobufCMessage *in, ProtobufCMessage **out);
int handle_phone_list_calls(fd_ctx *ctx, const ProtobufCMessage *in, ProtobufCMessage **out);
int handle_phone_answer(fd_ctx *ctx, const ProtobufCMessage *in, ProtobufCMessage **out);
int handle_phone_transfer(fd_ctx *ctx, const ProtobufCMessage *in, ProtobufCMessage **out);
int handle_phone_hold(fd_ctx *ctx, const ProtobufCMessage *in, ProtobufCMessage **out);
int handle_phone_end(fd_ctx *ctx, const ProtobufCMessage *in, ProtobufCMessage **out);
void phone_housekeeping(PGconn *conn);

#define MS(col) "coalesce((extract(epoch FROM " col ") * 1000)::bigint, 0)"

static const char call_columns[] =
	"SELECT c.id, pl.code, c.caller_e164, coalesce(c.menu_choice, ''), c.state,"
	" coalesce(q.code, ''), coalesce(ts.username, ''), coalesce(ab.username, ''),"
	" coalesce(ad.code, ''), coalesce(c.disposition, ''), coalesce(c.forwarded_to, ''),"
	" coalesce(c.voicemail_box, ''), c.rule_name, c.route_reason, " MS("c.received_at") ","
	" " MS("c.answered_at") ", " MS("c.ended_at") ", coalesce(c.patient_id, 0),"
	" " MS("c.waiting_since")
	" FROM phone_calls c JOIN phone_lines pl ON pl.id = c.line_id"
	" LEFT JOIN phone_queues q ON q.id = c.queue_id"
	" LEFT JOIN staff ts ON ts.id = c.target_staff_id"
	" LEFT JOIN staff ab ON ab.id = c.answered_by"
	" LEFT JOIN desks ad ON ad.id = c.answered_desk_id";

static Frontdesk__V1__PhoneRing *ring_from_row(fd_ctx *ctx, const PGresult *r, int row)
{
	Frontdesk__V1__PhoneRing *ring = fd_arena_alloc(ctx->arena, sizeof *ring);

	if (!ring)
		return NULL;
	frontdesk__v1__phone_ring__init(ring);
	ring->staff_id = db_int(r, row, 1);
	ring->username = db_str(ctx->arena, r, row, 2);
	ring->display_name = db_str(ctx->arena, r, row, 3);
	ring->extension = db_str(ctx->arena, r, row, 4);
	ring->desk = db_str(ctx->arena, r, row, 5);
	return ring;
}

/* Calls by id (call_id > 0) or every live call (with ended ones when
 * include_ended), each with the desks ringing for it now. */
static int load_calls(fd_ctx *ctx, int64_t call_id, bool include_ended,
		      Frontdesk__V1__PhoneCall ***calls, size_t *n)
{
	char sql[2048];
	db_params p;
	PGresult *r, *rings;

	snprintf(sql, sizeof sql,
		 "%s WHERE ($1::bigint > 0 AND c.id = $1) OR ($1::bigint = 0 AND (c.state <> 'ended' OR"
		 " ($2 AND c.received_at > now() - interval '1 day')))"
		 " ORDER BY c.received_at, c.id LIMIT 500",
		 call_columns);
	dbp_init(&p);
	dbp_int(&p, call_id);
	dbp_bool(&p, include_ended);
	if (!(r = db_query(ctx, sql, &p)))
		return ctx->status.code;
	dbp_init(&p);
	dbp_int(&p, call_id);
	rings = db_query(ctx,
			 "SELECT r.call_id, s.id, s.username, s.display_name, coalesce(e.extension, ''),"
			 " d.code FROM phone_rings r JOIN staff s ON s.id = r.staff_id"
			 " JOIN desks d ON d.id = r.desk_id"
			 " LEFT JOIN phone_extensions e ON e.staff_id = s.id"
			 " WHERE r.stopped_at IS NULL AND ($1::bigint = 0 OR r.call_id = $1)"
			 " ORDER BY r.call_id, r.id",
			 &p);
	if (!rings) {
		PQclear(r);
		return ctx->status.code;
	}
	*n = (size_t)PQntuples(r);
	*calls = fd_arena_alloc(ctx->arena, (*n + 1) * sizeof **calls);
	for (size_t i = 0; *calls && i < *n; i++) {
		Frontdesk__V1__PhoneCall *c = fd_arena_alloc(ctx->arena, sizeof *c);
		int row = (int)i;

		if (!c || !(c->ringing = fd_arena_alloc(ctx->arena, ((size_t)PQntuples(rings) + 1) *
									    sizeof *c->ringing))) {
			*calls = NULL;
			break;
		}
		Frontdesk__V1__PhoneRing **ringing = c->ringing;
		frontdesk__v1__phone_call__init(c);
		c->ringing = ringing;
		c->id = db_int(r, row, 0);
		c->line = db_str(ctx->arena, r, row, 1);
		c->from = db_str(ctx->arena, r, row, 2);
		c->menu_choice = db_str(ctx->arena, r, row, 3);
		c->state = db_str(ctx->arena, r, row, 4);
		c->queue = db_str(ctx->arena, r, row, 5);
		c->target = db_str(ctx->arena, r, row, 6);
		c->answered_by = db_str(ctx->arena, r, row, 7);
		c->answered_desk = db_str(ctx->arena, r, row, 8);
		c->disposition = db_str(ctx->arena, r, row, 9);
		c->forwarded_to = db_str(ctx->arena, r, row, 10);
		c->voicemail_box = db_str(ctx->arena, r, row, 11);
		c->rule = db_str(ctx->arena, r, row, 12);
		c->reason = db_str(ctx->arena, r, row, 13);
		c->received_unix_ms = db_int(r, row, 14);
		c->answered_unix_ms = db_int(r, row, 15);
		c->ended_unix_ms = db_int(r, row, 16);
		c->patient_id = db_int(r, row, 17);
		c->waiting_since_unix_ms = db_int(r, row, 18);
		for (int k = 0; k < PQntuples(rings); k++)
			if (db_int(rings, k, 0) == c->id &&
			    !(c->ringing[c->n_ringing++] = ring_from_row(ctx, rings, k)))
				*calls = NULL;
		if (*calls)
			(*calls)[i] = c;
	}
	PQclear(r);
	PQclear(rings);
	return *calls ? FD_OK : PHONE_NOMEM(ctx);
}

static int load_call(fd_ctx *ctx, int64_t id, Frontdesk__V1__PhoneCall **call)
{
	Frontdesk__V1__PhoneCall **calls;
	size_t n;

	if (load_calls(ctx, id, true, &calls, &n) != FD_OK)
		return ctx->status.code;
	if (n != 1)
		return fd_fail(&ctx->status, FD_NOT_FOUND, "no call has id %lld", (long long)id);
	*call = calls[0];
	return FD_OK;
}

static int notify_call(fd_ctx *ctx, int64_t id)
{
	return db_notify(ctx, "phone.call", fd_arena_printf(ctx->arena, "call:%lld", (long long)id));
}

/* --- incoming ------------------------------------------------------------ */

/* Records the call as the route decided: waiting in a queue (overflowing
 * at once when the queue is full), forwarded, sent to voicemail, or turned
 * into a callback message. Returns the new call id in *id. */
static int record_call(fd_ctx *ctx, const Frontdesk__V1__PhoneIncomingRequest *req,
		       const struct phone_route *route, int64_t *id)
{
	const Frontdesk__V1__PhoneRouteDecision *d = route->decision;
	bool queued = strcmp(d->action, "queue") == 0;
	db_params p;
	PGresult *r;

	dbp_init(&p);
	dbp_int(&p, route->line_id);
	dbp_text(&p, req->from);
	dbp_text_or_null(&p, req->menu_choice);
	dbp_text(&p, d->action);
	dbp_int(&p, route->queue_id);
	dbp_text_or_null(&p, d->forward_to);
	dbp_text_or_null(&p, d->voicemail_box);
	dbp_text(&p, d->rule);
	dbp_text(&p, d->reason);
	r = db_query(ctx,
		     "INSERT INTO phone_calls (line_id, caller_e164, menu_choice, state, queue_id,"
		     " waiting_since, ended_at, disposition, forwarded_to, voicemail_box, rule_name,"
		     " route_reason)"
		     " VALUES ($1, $2, $3, CASE WHEN $4 = 'queue' THEN 'waiting' ELSE 'ended' END,"
		     "  nullif($5, 0), CASE WHEN $4 = 'queue' THEN now() END,"
		     "  CASE WHEN $4 <> 'queue' THEN now() END,"
		     "  CASE $4 WHEN 'queue' THEN NULL WHEN 'voicemail' THEN 'voicemail'"
		     "   WHEN 'message' THEN 'message_taken' ELSE 'forwarded' END,"
		     "  $6, $7, $8, $9)"
		     " RETURNING id",
		     &p);
	if (!r)
		return ctx->status.code;
	*id = db_int(r, 0, 0);
	PQclear(r);
	dbp_init(&p);
	dbp_int(&p, *id);
	if (strcmp(d->action, "message") == 0)
		return db_exec(ctx,
			       "INSERT INTO phone_messages (call_id, for_queue_id, callback_e164, reason,"
			       " place_at, callback_due_at)"
			       " SELECT id, queue_id, caller_e164, 'call back: ' || route_reason,"
			       " received_at, now() FROM phone_calls WHERE id = $1",
			       &p);
	if (!queued)
		return FD_OK;
	/* The queue is full: the caller goes straight to its overflow. */
	return db_exec(ctx,
		       "WITH v AS (INSERT INTO phone_visits (call_id, queue_id, entered_at)"
		       "  SELECT id, queue_id, now() FROM phone_calls WHERE id = $1 RETURNING queue_id)"
		       " SELECT CASE WHEN (SELECT count(*) FROM phone_calls c, v"
		       "   WHERE c.queue_id = v.queue_id AND c.state = 'waiting')"
		       "   > (SELECT max_length FROM phone_queues q, v WHERE q.id = v.queue_id)"
		       " THEN phone_overflow($1)::text ELSE phone_ring($1)::text END",
		       &p);
}

/* Who rings now, then who is next per the strategy. */
static int ring_order(fd_ctx *ctx, int64_t id, Frontdesk__V1__PhoneIncomingReply *rep)
{
	db_params p;
	PGresult *r;

	dbp_init(&p);
	dbp_int(&p, id);
	r = db_query(ctx,
		     "WITH o AS (SELECT r.staff_id, 0 AS k, r.id AS rank FROM phone_rings r"
		     "  WHERE r.call_id = $1 AND r.stopped_at IS NULL"
		     " UNION ALL SELECT c.staff_id, 1, c.rank FROM phone_candidates($1) c"
		     "  WHERE NOT EXISTS (SELECT 1 FROM phone_rings r WHERE r.call_id = $1"
		     "   AND r.staff_id = c.staff_id AND r.stopped_at IS NULL))"
		     " SELECT 0, s.id, s.username, s.display_name, coalesce(e.extension, ''),"
		     "  coalesce(d.code, '') FROM o JOIN staff s ON s.id = o.staff_id"
		     " LEFT JOIN phone_presence pp ON pp.staff_id = s.id"
		     " LEFT JOIN desks d ON d.id = pp.desk_id"
		     " LEFT JOIN phone_extensions e ON e.staff_id = s.id ORDER BY o.k, o.rank",
		     &p);
	if (!r)
		return ctx->status.code;
	rep->ring_order = fd_arena_alloc(ctx->arena, ((size_t)PQntuples(r) + 1) * sizeof *rep->ring_order);
	for (int i = 0; rep->ring_order && i < PQntuples(r); i++)
		if (!(rep->ring_order[rep->n_ring_order++] = ring_from_row(ctx, r, i)))
			rep->ring_order = NULL;
	PQclear(r);
	return rep->ring_order ? FD_OK : PHONE_NOMEM(ctx);
}

/* The screen pop: every patient on the caller's number (a household may
 * share one), with the next appointment when scheduling exists. Each
 * patient shown is audited. One match links the call to that patient. */
static int screen_pop(fd_ctx *ctx, const char *from, int64_t call_id,
		      Frontdesk__V1__PhoneIncomingReply *rep)
{
	db_params p;
	PGresult *r;

	if (!(r = db_query(ctx, "SELECT to_regclass('appointments') IS NOT NULL", NULL)))
		return ctx->status.code;
	bool scheduling = db_bool(r, 0, 0);
	PQclear(r);
	dbp_init(&p);
	dbp_text(&p, from);
	r = db_query(ctx,
		     scheduling
			     ? "SELECT p.id, p.family_name, p.given_name, p.date_of_birth::text,"
			       " coalesce((SELECT (extract(epoch FROM min(a.starts_at)) * 1000)::bigint"
			       "  FROM appointments a WHERE a.patient_id = p.id AND a.starts_at > now()"
			       "  AND a.status NOT IN ('cancelled', 'no_show', 'rescheduled')), 0)"
			       " FROM patients p WHERE p.phone_e164 = $1 AND p.merged_into IS NULL"
			       " ORDER BY p.family_name, p.given_name, p.id LIMIT 50"
			     : "SELECT p.id, p.family_name, p.given_name, p.date_of_birth::text, 0"
			       " FROM patients p WHERE p.phone_e164 = $1 AND p.merged_into IS NULL"
			       " ORDER BY p.family_name, p.given_name, p.id LIMIT 50",
		     &p);
	if (!r)
		return ctx->status.code;
	size_t n = (size_t)PQntuples(r);
	int64_t *ids = fd_arena_alloc(ctx->arena, (n + 1) * sizeof *ids);
	rep->patients = fd_arena_alloc(ctx->arena, (n + 1) * sizeof *rep->patients);
	for (size_t i = 0; ids && rep->patients && i < n; i++) {
		Frontdesk__V1__PhoneScreenPop *pop = fd_arena_alloc(ctx->arena, sizeof *pop);
		if (!pop) {
			rep->patients = NULL;
			break;
		}
		frontdesk__v1__phone_screen_pop__init(pop);
		pop->patient_id = ids[i] = db_int(r, (int)i, 0);
		pop->family_name = db_str(ctx->arena, r, (int)i, 1);
		pop->given_name = db_str(ctx->arena, r, (int)i, 2);
		pop->date_of_birth = db_str(ctx->arena, r, (int)i, 3);
		pop->next_appointment_unix_ms = db_int(r, (int)i, 4);
		rep->patients[rep->n_patients++] = pop;
	}
	PQclear(r);
	if (!ids || !rep->patients)
		return PHONE_NOMEM(ctx);
	if (n)
		fd_ctx_audit_patients(ctx, ids, n, fd_arena_printf(ctx->arena, "call:%lld", (long long)call_id));
	if (n != 1)
		return FD_OK;
	dbp_init(&p);
	dbp_int(&p, call_id);
	dbp_int(&p, ids[0]);
	return db_exec(ctx, "UPDATE phone_calls SET patient_id = $2 WHERE id = $1", &p);
}

int handle_phone_incoming(fd_ctx *ctx, const ProtobufCMessage *in, ProtobufCMessage **out)
{
	const Frontdesk__V1__PhoneIncomingRequest *req = (const void *)in;
	Frontdesk__V1__PhoneIncomingReply *rep = fd_arena_alloc(ctx->arena, sizeof *rep);
	struct phone_route route;
	int64_t id;

	if (!rep)
		return PHONE_NOMEM(ctx);
	frontdesk__v1__phone_incoming_reply__init(rep);
	if (phone_route_evaluate(ctx, req->from, req->line, req->menu_choice, 0, &route) != FD_OK ||
	    record_call(ctx, req, &route, &id) != FD_OK || ring_order(ctx, id, rep) != FD_OK ||
	    screen_pop(ctx, req->from, id, rep) != FD_OK || load_call(ctx, id, &rep->call) != FD_OK)
		return ctx->status.code;
	rep->decision = route.decision;
	if (!rep->n_patients)
		fd_ctx_audit(ctx, 0, fd_arena_printf(ctx->arena, "call:%lld", (long long)id));
	if (notify_call(ctx, id) != FD_OK)
		return ctx->status.code;
	*out = &rep->base;
	return FD_OK;
}

int handle_phone_list_calls(fd_ctx *ctx, const ProtobufCMessage *in, ProtobufCMessage **out)
{
	const Frontdesk__V1__PhoneListCallsRequest *req = (const void *)in;
	Frontdesk__V1__PhoneListCallsReply *rep = fd_arena_alloc(ctx->arena, sizeof *rep);

	if (!rep)
		return PHONE_NOMEM(ctx);
	frontdesk__v1__phone_list_calls_reply__init(rep);
	if (load_calls(ctx, 0, req->include_ended, &rep->calls, &rep->n_calls) != FD_OK)
		return ctx->status.code;
	*out = &rep->base;
	return FD_OK;
}

/* --- answer, transfer, hold, end ----------------------------------------- */

/* Why a call cannot be acted on: it does not exist, or is in another state. */
static int explain_state(fd_ctx *ctx, int64_t id, const char *wanted)
{
	db_params p;
	PGresult *r;

	dbp_init(&p);
	dbp_int(&p, id);
	if (!(r = db_query(ctx, "SELECT state FROM phone_calls WHERE id = $1", &p)))
		return ctx->status.code;
	if (!PQntuples(r)) {
		PQclear(r);
		return fd_fail(&ctx->status, FD_NOT_FOUND, "no call has id %lld", (long long)id);
	}
	char *state = db_str(ctx->arena, r, 0, 0);
	PQclear(r);
	if (strcmp(state, "ended") == 0)
		return fd_fail(&ctx->status, FD_FAILED_PRECONDITION, "the call has already ended");
	if (strcmp(state, "waiting") != 0 && strcmp(wanted, "waiting") == 0)
		return fd_fail(&ctx->status, FD_FAILED_PRECONDITION, "the call was already answered");
	if (strcmp(state, "waiting") == 0 && strcmp(wanted, "waiting") != 0)
		return fd_fail(&ctx->status, FD_FAILED_PRECONDITION, "the call has not been answered yet");
	return fd_fail(&ctx->status, FD_FAILED_PRECONDITION, "the call is %s, not %s",
		       strcmp(state, "on_hold") == 0 ? "on hold" : state,
		       strcmp(wanted, "on_hold") == 0 ? "on hold" : wanted);
}

/* The staff member leaves a call: wrap-up for the queue's wrap-up time
 * (straight to available when it is 0), and the call counts as their
 * latest for least-recent. */
static int release_staff(fd_ctx *ctx, int64_t staff, int64_t call_id)
{
	db_params p;

	dbp_init(&p);
	dbp_int(&p, staff);
	dbp_int(&p, call_id);
	if (db_exec(ctx,
		    "WITH w AS (SELECT coalesce((SELECT q.wrap_up_s FROM phone_calls c"
		    "   JOIN phone_queues q ON q.id = c.queue_id WHERE c.id = $2), 0) AS s)"
		    " UPDATE phone_presence SET since = now(), last_call_ended_at = now(),"
		    "  state = CASE WHEN w.s > 0 THEN 'wrap_up' ELSE 'available' END,"
		    "  wrap_up_until = CASE WHEN w.s > 0 THEN now() + w.s * interval '1 second' END"
		    " FROM w WHERE staff_id = $1 AND state = 'on_call'",
		    &p) != FD_OK)
		return ctx->status.code;
	return db_notify(ctx, "phone.presence", fd_arena_printf(ctx->arena, "staff:%lld", (long long)staff));
}

/* An answer that did not win: the call is gone, answered, ended, or
 * simply not ringing for this person. */
static int explain_no_answer(fd_ctx *ctx, int64_t id)
{
	db_params p;
	PGresult *r;

	dbp_init(&p);
	dbp_int(&p, id);
	if (!(r = db_query(ctx, "SELECT state = 'waiting' FROM phone_calls WHERE id = $1", &p)))
		return ctx->status.code;
	bool waiting = PQntuples(r) == 1 && db_bool(r, 0, 0);
	PQclear(r);
	if (waiting)
		return fd_fail(&ctx->status, FD_FAILED_PRECONDITION, "this call is not ringing for you");
	return explain_state(ctx, id, "waiting");
}

int handle_phone_answer(fd_ctx *ctx, const ProtobufCMessage *in, ProtobufCMessage **out)
{
	const Frontdesk__V1__PhoneAnswerRequest *req = (const void *)in;
	Frontdesk__V1__PhoneAnswerReply *rep = fd_arena_alloc(ctx->arena, sizeof *rep);
	int64_t staff = ctx->session->staff_id;
	db_params p;
	PGresult *r;

	if (!rep)
		return PHONE_NOMEM(ctx);
	dbp_init(&p);
	dbp_int(&p, staff);
	if (!(r = db_query(ctx,
			   "SELECT 1 FROM phone_calls WHERE answered_by = $1 AND state = 'connected'",
			   &p)))
		return ctx->status.code;
	int busy = PQntuples(r);
	PQclear(r);
	if (busy)
		return fd_fail(&ctx->status, FD_FAILED_PRECONDITION,
			       "you are already on a call; hold or end it first");
	/* The race: every answer queues on the call's row lock; the first
	 * commits, the others then find it no longer waiting. */
	dbp_init(&p);
	dbp_int(&p, req->call_id);
	dbp_int(&p, staff);
	dbp_int(&p, ctx->session->desk_id);
	if (!(r = db_query(ctx,
			   "UPDATE phone_calls c SET state = 'connected', answered_by = $2,"
			   " answered_desk_id = $3, answered_at = now(), waiting_since = NULL,"
			   " target_staff_id = NULL"
			   " WHERE c.id = $1 AND c.state = 'waiting' AND (c.target_staff_id = $2"
			   "  OR EXISTS (SELECT 1 FROM phone_rings r WHERE r.call_id = c.id"
			   "             AND r.staff_id = $2 AND r.stopped_at IS NULL)"
			   "  OR EXISTS (SELECT 1 FROM phone_queue_members m WHERE m.queue_id = c.queue_id"
			   "             AND m.staff_id = $2))"
			   " RETURNING c.id",
			   &p)))
		return ctx->status.code;
	int won = PQntuples(r);
	PQclear(r);
	if (!won)
		return explain_no_answer(ctx, req->call_id);
	dbp_init(&p);
	dbp_int(&p, req->call_id);
	dbp_int(&p, staff);
	if (db_exec(ctx, "SELECT phone_stop_rings($1, 'stopped', $2)", &p) != FD_OK)
		return ctx->status.code;
	if (db_exec(ctx,
		    "UPDATE phone_visits SET answered_at = now(), answered_by = $2"
		    " WHERE call_id = $1 AND left_at IS NULL",
		    &p) != FD_OK)
		return ctx->status.code;
	dbp_init(&p);
	dbp_int(&p, staff);
	dbp_int(&p, ctx->session->desk_id);
	if (db_exec(ctx,
		    "INSERT INTO phone_presence (staff_id, state, desk_id) VALUES ($1, 'on_call', $2)"
		    " ON CONFLICT (staff_id) DO UPDATE SET state = 'on_call', desk_id = $2,"
		    " reason = NULL, wrap_up_until = NULL, since = now()",
		    &p) != FD_OK ||
	    db_notify(ctx, "phone.presence", fd_arena_printf(ctx->arena, "staff:%lld", (long long)staff)) != FD_OK ||
	    notify_call(ctx, req->call_id) != FD_OK)
		return ctx->status.code;
	frontdesk__v1__phone_answer_reply__init(rep);
	if (load_call(ctx, req->call_id, &rep->call) != FD_OK)
		return ctx->status.code;
	fd_ctx_audit(ctx, rep->call->patient_id, fd_arena_printf(ctx->arena, "call:%lld", (long long)req->call_id));
	*out = &rep->base;
	return FD_OK;
}

/* The call's live state, answerer and queue, locked for the change. */
struct live_call {
	char *state;
	int64_t answered_by, queue_id;
};

static int lock_call(fd_ctx *ctx, int64_t id, struct live_call *lc)
{
	db_params p;
	PGresult *r;

	dbp_init(&p);
	dbp_int(&p, id);
	if (!(r = db_query(ctx,
			   "SELECT state, coalesce(answered_by, 0), coalesce(queue_id, 0)"
			   " FROM phone_calls WHERE id = $1 FOR UPDATE",
			   &p)))
		return ctx->status.code;
	if (!PQntuples(r)) {
		PQclear(r);
		return fd_fail(&ctx->status, FD_NOT_FOUND, "no call has id %lld", (long long)id);
	}
	lc->state = db_str(ctx->arena, r, 0, 0);
	lc->answered_by = db_int(r, 0, 1);
	lc->queue_id = db_int(r, 0, 2);
	PQclear(r);
	if (strcmp(lc->state, "ended") == 0)
		return fd_fail(&ctx->status, FD_FAILED_PRECONDITION, "the call has already ended");
	return FD_OK;
}

/* Only the person on an answered call (or an admin) may move it. */
static int check_own_call(fd_ctx *ctx, const struct live_call *lc)
{
	if (strcmp(lc->state, "waiting") == 0 || lc->answered_by == ctx->session->staff_id ||
	    (ctx->session->roles & ROLE_ADMIN))
		return FD_OK;
	return fd_fail(&ctx->status, FD_PERMISSION_DENIED, "another staff member has this call");
}

/* A blind transfer target must be able to take it: available now. */
static int check_transfer_target(fd_ctx *ctx, const char *username, int64_t *staff)
{
	db_params p;
	PGresult *r;

	if (phone_staff_id(ctx, username, staff) != FD_OK)
		return ctx->status.code;
	dbp_init(&p);
	dbp_int(&p, *staff);
	if (!(r = db_query(ctx,
			   "SELECT coalesce((SELECT state FROM phone_presence WHERE staff_id = $1), 'offline')",
			   &p)))
		return ctx->status.code;
	char *state = db_str(ctx->arena, r, 0, 0);
	PQclear(r);
	if (strcmp(state, "available") != 0)
		return fd_fail(&ctx->status, FD_FAILED_PRECONDITION,
			       "cannot transfer: that staff member is %s",
			       strcmp(state, "on_call") == 0 ? "on a call" :
			       strcmp(state, "wrap_up") == 0 ? "in wrap-up" : state);
	return FD_OK;
}

/* `to` names a staff member or a queue (`desk call transfer 12 --to X`):
 * which one it is, so the desk need not know. */
static int resolve_transfer_target(fd_ctx *ctx, const char *to, const char **queue,
				   const char **username)
{
	db_params p;
	PGresult *r;

	dbp_init(&p);
	dbp_text(&p, to);
	r = db_query(ctx,
		     "SELECT EXISTS (SELECT 1 FROM staff WHERE username = $1),"
		     " EXISTS (SELECT 1 FROM phone_queues WHERE code = $1)",
		     &p);
	if (!r)
		return ctx->status.code;
	bool is_staff = db_bool(r, 0, 0), is_queue = db_bool(r, 0, 1);
	PQclear(r);
	if (is_staff && is_queue)
		return fd_fail(&ctx->status, FD_INVALID_ARGUMENT,
			       "'%s' is both a staff member and a queue; say which (to_username or to_queue)",
			       to);
	if (!is_staff && !is_queue)
		return fd_fail(&ctx->status, FD_NOT_FOUND, "no staff member or queue is called '%s'", to);
	*(is_queue ? queue : username) = to;
	return FD_OK;
}

int handle_phone_transfer(fd_ctx *ctx, const ProtobufCMessage *in, ProtobufCMessage **out)
{
	const Frontdesk__V1__PhoneTransferRequest *req = (const void *)in;
	Frontdesk__V1__PhoneTransferReply *rep = fd_arena_alloc(ctx->arena, sizeof *rep);
	const char *to_queue = req->to_queue, *to_username = req->to_username;
	int64_t queue = 0, staff = 0;
	struct live_call lc;
	db_params p;

	if (!rep)
		return PHONE_NOMEM(ctx);
	if ((*req->to_queue != 0) + (*req->to_username != 0) + (*req->to != 0) != 1)
		return fd_fail(&ctx->status, FD_INVALID_ARGUMENT,
			       "transfer to either a queue or a staff member");
	if (*req->to && (fd_check_text(ctx, "to", req->to, 1, 64, 0) != FD_OK ||
			 resolve_transfer_target(ctx, req->to, &to_queue, &to_username) != FD_OK))
		return ctx->status.code;
	if (lock_call(ctx, req->call_id, &lc) != FD_OK || check_own_call(ctx, &lc) != FD_OK)
		return ctx->status.code;
	if (*to_queue ? phone_queue_id(ctx, to_queue, &queue) != FD_OK
		      : check_transfer_target(ctx, to_username, &staff) != FD_OK)
		return ctx->status.code;
	dbp_init(&p);
	dbp_int(&p, req->call_id);
	if (db_exec(ctx, "SELECT phone_stop_rings($1, 'stopped', NULL)", &p) != FD_OK ||
	    db_exec(ctx,
		    "UPDATE phone_visits SET left_at = now(), outcome = 'transferred'"
		    " WHERE call_id = $1 AND left_at IS NULL",
		    &p) != FD_OK)
		return ctx->status.code;
	if (lc.answered_by && release_staff(ctx, lc.answered_by, req->call_id) != FD_OK)
		return ctx->status.code;
	dbp_int(&p, queue);
	dbp_int(&p, staff);
	dbp_text(&p, *to_queue ? to_queue : to_username);
	if (db_exec(ctx,
		    "UPDATE phone_calls SET state = 'waiting', queue_id = nullif($2, 0),"
		    " target_staff_id = nullif($3, 0), waiting_since = now(), ring_cycle = 0,"
		    " answered_by = NULL, answered_desk_id = NULL, answered_at = NULL, held_at = NULL,"
		    " route_reason = 'transferred to ' || $4 WHERE id = $1",
		    &p) != FD_OK)
		return ctx->status.code;
	/* The visit row takes three of the four parameters: PostgreSQL
	 * refuses a bind with more parameters than the statement uses. */
	dbp_init(&p);
	dbp_int(&p, req->call_id);
	dbp_int(&p, queue);
	dbp_int(&p, staff);
	if (db_exec(ctx,
		    "INSERT INTO phone_visits (call_id, queue_id, staff_id, entered_at)"
		    " VALUES ($1, nullif($2, 0), nullif($3, 0), now())",
		    &p) != FD_OK)
		return ctx->status.code;
	dbp_init(&p);
	dbp_int(&p, req->call_id);
	if (db_exec(ctx, "SELECT phone_ring($1)", &p) != FD_OK || notify_call(ctx, req->call_id) != FD_OK)
		return ctx->status.code;
	frontdesk__v1__phone_transfer_reply__init(rep);
	if (load_call(ctx, req->call_id, &rep->call) != FD_OK)
		return ctx->status.code;
	fd_ctx_audit(ctx, rep->call->patient_id, fd_arena_printf(ctx->arena, "call:%lld", (long long)req->call_id));
	*out = &rep->base;
	return FD_OK;
}

int handle_phone_hold(fd_ctx *ctx, const ProtobufCMessage *in, ProtobufCMessage **out)
{
	const Frontdesk__V1__PhoneHoldRequest *req = (const void *)in;
	Frontdesk__V1__PhoneHoldReply *rep = fd_arena_alloc(ctx->arena, sizeof *rep);
	const char *from = req->resume ? "on_hold" : "connected";
	struct live_call lc;
	db_params p;

	if (!rep)
		return PHONE_NOMEM(ctx);
	if (lock_call(ctx, req->call_id, &lc) != FD_OK || check_own_call(ctx, &lc) != FD_OK)
		return ctx->status.code;
	if (strcmp(lc.state, from) != 0)
		return explain_state(ctx, req->call_id, from);
	dbp_init(&p);
	dbp_int(&p, req->call_id);
	dbp_bool(&p, req->resume);
	if (db_exec(ctx,
		    "UPDATE phone_calls SET state = CASE WHEN $2 THEN 'connected' ELSE 'on_hold' END,"
		    " held_at = CASE WHEN $2 THEN NULL ELSE now() END WHERE id = $1",
		    &p) != FD_OK ||
	    notify_call(ctx, req->call_id) != FD_OK)
		return ctx->status.code;
	frontdesk__v1__phone_hold_reply__init(rep);
	if (load_call(ctx, req->call_id, &rep->call) != FD_OK)
		return ctx->status.code;
	*out = &rep->base;
	return FD_OK;
}

int handle_phone_end(fd_ctx *ctx, const ProtobufCMessage *in, ProtobufCMessage **out)
{
	static const char *const dispositions[] = { "handled", "message_taken", "voicemail",
						    "abandoned", "wrong_number", NULL };
	const Frontdesk__V1__PhoneEndRequest *req = (const void *)in;
	Frontdesk__V1__PhoneEndReply *rep = fd_arena_alloc(ctx->arena, sizeof *rep);
	const char *disposition = req->disposition;
	struct live_call lc;
	db_params p;
	PGresult *r;

	if (!rep)
		return PHONE_NOMEM(ctx);
	if (*disposition && phone_check_word(ctx, "the disposition", disposition, dispositions) != FD_OK)
		return ctx->status.code;
	if (req->patient_id < 0)
		return fd_fail(&ctx->status, FD_INVALID_ARGUMENT, "a patient id is a positive number");
	if (lock_call(ctx, req->call_id, &lc) != FD_OK || check_own_call(ctx, &lc) != FD_OK)
		return ctx->status.code;
	if (!*disposition)
		disposition = strcmp(lc.state, "waiting") == 0 ? "abandoned" : "handled";
	if (strcmp(disposition, "handled") == 0 && strcmp(lc.state, "waiting") == 0)
		return fd_fail(&ctx->status, FD_FAILED_PRECONDITION,
			       "nobody answered this call, so it cannot end as handled");
	if (req->patient_id) {
		dbp_init(&p);
		dbp_int(&p, req->patient_id);
		if (!(r = db_query(ctx, "SELECT 1 FROM patients WHERE id = $1 AND merged_into IS NULL", &p)))
			return ctx->status.code;
		int found = PQntuples(r);
		PQclear(r);
		if (!found)
			return fd_fail(&ctx->status, FD_NOT_FOUND, "no patient has that id");
	}
	dbp_init(&p);
	dbp_int(&p, req->call_id);
	if (db_exec(ctx, "SELECT phone_stop_rings($1, 'stopped', NULL)", &p) != FD_OK)
		return ctx->status.code;
	dbp_text(&p, disposition);
	if (db_exec(ctx,
		    "UPDATE phone_visits SET left_at = now(), outcome = CASE"
		    " WHEN $2 = 'message_taken' THEN 'message_taken'"
		    " WHEN answered_at IS NULL THEN 'abandoned' ELSE 'handled' END"
		    " WHERE call_id = $1 AND left_at IS NULL",
		    &p) != FD_OK)
		return ctx->status.code;
	dbp_int(&p, req->patient_id);
	if (db_exec(ctx,
		    "UPDATE phone_calls SET state = 'ended', ended_at = now(), disposition = $2,"
		    " waiting_since = NULL, held_at = NULL,"
		    " patient_id = coalesce(nullif($3, 0), patient_id) WHERE id = $1",
		    &p) != FD_OK)
		return ctx->status.code;
	if (lc.answered_by && strcmp(lc.state, "waiting") != 0 &&
	    release_staff(ctx, lc.answered_by, req->call_id) != FD_OK)
		return ctx->status.code;
	if (notify_call(ctx, req->call_id) != FD_OK)
		return ctx->status.code;
	frontdesk__v1__phone_end_reply__init(rep);
	if (load_call(ctx, req->call_id, &rep->call) != FD_OK)
		return ctx->status.code;
	fd_ctx_audit(ctx, rep->call->patient_id, fd_arena_printf(ctx->arena, "call:%lld", (long long)req->call_id));
	*out = &rep->base;
	return FD_OK;
}

/* --- housekeeping ------------------------------------------------------- */

/* PERIODIC: one statement, so one transaction of its own. */
void phone_housekeeping(PGconn *conn)
{
	PGresult *r;

	if (!conn)
		return;
	r = PQexec(conn, "SELECT phone_tick()");
	if (PQresultStatus(r) != PGRES_TUPLES_OK)
		log_warn("phone housekeeping failed: %s", PQresultErrorField(r, PG_DIAG_SQLSTATE)
								  ? PQresultErrorField(r, PG_DIAG_SQLSTATE)
								  : "no connection");
	PQclear(r);
}
