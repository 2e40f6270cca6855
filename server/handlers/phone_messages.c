/*
 * Messages and callbacks, and the queue metrics. A message is for one
 * staff member or one queue's inbox; taken from a call it keeps that
 * call's arrival time as the caller's place in line, and inboxes list
 * callbacks in that order, so a callback comes before calls that arrived
 * after it. A callback (a queue message with a due time) is also offered
 * to one free member of its queue, ahead of calls that arrived after it
 * (0006's phone_offer_callbacks, run when a later call would ring and by
 * the periodic tick); the message then shows who it is offered to.
 * Messages hold patient data (name, reason): every read and
 * write is audited. Metrics come from the per-queue visits, counted in the
 * queue location's own day and hours.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "phone.h"
#include "validate.h"

int handle_phone_take_message(fd_ctx *ctx, const ProtobufCMessage *in, ProtobufCMessage **out);
int handle_phone_list_messages(fd_ctx *ctx, const ProtobufCMessage *in, ProtobufCMessage **out);
int handle_phone_complete_message(fd_ctx *ctx, const ProtobufCMessage *in, ProtobufCMessage **out);
int handle_phone_assign_message(fd_ctx *ctx, const ProtobufCMessage *in, ProtobufCMessage **out);
int handle_phone_stats(fd_ctx *ctx, const ProtobufCMessage *in, ProtobufCMessage **out);

#define MS(col) "coalesce((extract(epoch FROM " col ") * 1000)::bigint, 0)"

static const char message_columns[] =
	"SELECT m.id, coalesce(m.call_id, 0), coalesce(fs.username, ''), coalesce(fq.code, ''),"
	" coalesce(m.caller_name, ''), m.callback_e164, coalesce(m.patient_id, 0), m.reason,"
	" m.urgency, coalesce(tb.username, ''), " MS("m.taken_at") ", " MS("m.place_at") ","
	" " MS("m.callback_due_at") ", " MS("m.done_at") ", coalesce(db.username, ''),"
	" coalesce(ot.username, ''), " MS("m.offered_at")
	" FROM phone_messages m LEFT JOIN staff fs ON fs.id = m.for_staff_id"
	" LEFT JOIN staff ot ON ot.id = m.offered_to"
	" LEFT JOIN phone_queues fq ON fq.id = m.for_queue_id"
	" LEFT JOIN staff tb ON tb.id = m.taken_by LEFT JOIN staff db ON db.id = m.done_by";

static Frontdesk__V1__PhoneMessage *message_from_row(fd_ctx *ctx, const PGresult *r, int row)
{
	Frontdesk__V1__PhoneMessage *m = fd_arena_alloc(ctx->arena, sizeof *m);

	if (!m)
		return NULL;
	frontdesk__v1__phone_message__init(m);
	m->id = db_int(r, row, 0);
	m->call_id = db_int(r, row, 1);
	m->for_username = db_str(ctx->arena, r, row, 2);
	m->for_queue = db_str(ctx->arena, r, row, 3);
	m->caller_name = db_str(ctx->arena, r, row, 4);
	m->callback_number = db_str(ctx->arena, r, row, 5);
	m->patient_id = db_int(r, row, 6);
	m->reason = db_str(ctx->arena, r, row, 7);
	m->urgency = db_str(ctx->arena, r, row, 8);
	m->taken_by = db_str(ctx->arena, r, row, 9);
	m->taken_unix_ms = db_int(r, row, 10);
	m->place_unix_ms = db_int(r, row, 11);
	m->callback_due_unix_ms = db_int(r, row, 12);
	m->done_unix_ms = db_int(r, row, 13);
	m->done_by = db_str(ctx->arena, r, row, 14);
	m->offered_to = db_str(ctx->arena, r, row, 15);
	m->offered_unix_ms = db_int(r, row, 16);
	return m;
}

static int load_message(fd_ctx *ctx, int64_t id, Frontdesk__V1__PhoneMessage **m)
{
	char sql[2048];
	db_params p;
	PGresult *r;

	snprintf(sql, sizeof sql, "%s WHERE m.id = $1", message_columns);
	dbp_init(&p);
	dbp_int(&p, id);
	if (!(r = db_query(ctx, sql, &p)))
		return ctx->status.code;
	if (PQntuples(r) != 1) {
		PQclear(r);
		return fd_fail(&ctx->status, FD_NOT_FOUND, "no message has id %lld", (long long)id);
	}
	*m = message_from_row(ctx, r, 0);
	PQclear(r);
	if (!*m)
		return PHONE_NOMEM(ctx);
	fd_ctx_audit(ctx, (*m)->patient_id, fd_arena_printf(ctx->arena, "message:%lld", (long long)id));
	return FD_OK;
}

static int check_message(fd_ctx *ctx, const Frontdesk__V1__PhoneTakeMessageRequest *req)
{
	static const char *const urgencies[] = { "routine", "urgent", NULL };

	if (!*req->for_username == !*req->for_queue)
		return fd_fail(&ctx->status, FD_INVALID_ARGUMENT,
			       "a message is for either a staff member or a queue");
	if (phone_check_e164(ctx, "the callback number", req->callback_number) != FD_OK ||
	    fd_check_text(ctx, "the reason", req->reason, 1, 1000, 0) != FD_OK ||
	    (*req->caller_name && fd_check_text(ctx, "the caller's name", req->caller_name, 1, 200, 0) != FD_OK) ||
	    (*req->urgency && phone_check_word(ctx, "the urgency", req->urgency, urgencies) != FD_OK))
		return ctx->status.code;
	if (req->patient_id < 0 || req->call_id < 0 || req->callback_due_unix_ms < 0)
		return fd_fail(&ctx->status, FD_INVALID_ARGUMENT, "ids and times are positive numbers");
	if (req->callback_due_unix_ms && *req->callback_due_local)
		return fd_fail(&ctx->status, FD_INVALID_ARGUMENT,
			       "give the due time once: unix time or local time");
	return FD_OK;
}

/* A callback due time typed as a local time: at the queue's location, or
 * the clinic's first location for a staff member's inbox. */
static int local_due(fd_ctx *ctx, const char *text, int64_t queue, int64_t *due)
{
	int64_t location = 0;
	db_params p;
	PGresult *r;

	if (queue) {
		dbp_init(&p);
		dbp_int(&p, queue);
		if (!(r = db_query(ctx, "SELECT location_id FROM phone_queues WHERE id = $1", &p)))
			return ctx->status.code;
		location = db_int(r, 0, 0);
		PQclear(r);
	} else if (phone_location_id(ctx, "", &location) != FD_OK) {
		return ctx->status.code;
	}
	return phone_local_instant(ctx, "the callback due time", text, location, due);
}

int handle_phone_take_message(fd_ctx *ctx, const ProtobufCMessage *in, ProtobufCMessage **out)
{
	const Frontdesk__V1__PhoneTakeMessageRequest *req = (const void *)in;
	Frontdesk__V1__PhoneTakeMessageReply *rep = fd_arena_alloc(ctx->arena, sizeof *rep);
	int64_t staff = 0, queue = 0;
	db_params p;
	PGresult *r;

	if (!rep)
		return PHONE_NOMEM(ctx);
	int64_t due = req->callback_due_unix_ms;
	if (check_message(ctx, req) != FD_OK ||
	    (*req->for_username && phone_staff_id(ctx, req->for_username, &staff) != FD_OK) ||
	    (*req->for_queue && phone_queue_id(ctx, req->for_queue, &queue) != FD_OK) ||
	    (*req->callback_due_local && local_due(ctx, req->callback_due_local, queue, &due) != FD_OK))
		return ctx->status.code;
	dbp_init(&p);
	dbp_int(&p, req->call_id);
	dbp_int(&p, req->patient_id);
	if (!(r = db_query(ctx,
			   "SELECT ($1::bigint = 0 OR EXISTS (SELECT 1 FROM phone_calls WHERE id = $1)),"
			   " ($2::bigint = 0 OR EXISTS (SELECT 1 FROM patients WHERE id = $2 AND merged_into IS NULL))",
			   &p)))
		return ctx->status.code;
	bool call_ok = db_bool(r, 0, 0), patient_ok = db_bool(r, 0, 1);
	PQclear(r);
	if (!call_ok)
		return fd_fail(&ctx->status, FD_NOT_FOUND, "no call has that id");
	if (!patient_ok)
		return fd_fail(&ctx->status, FD_NOT_FOUND, "no patient has that id");
	dbp_init(&p);
	dbp_int(&p, req->call_id);
	dbp_int(&p, staff);
	dbp_int(&p, queue);
	dbp_text_or_null(&p, req->caller_name);
	dbp_text(&p, req->callback_number);
	dbp_int(&p, req->patient_id);
	dbp_text(&p, req->reason);
	dbp_text(&p, *req->urgency ? req->urgency : "routine");
	dbp_int(&p, ctx->session->staff_id);
	dbp_int(&p, due);
	/* The caller's place in line is the call's arrival, when there was one. */
	if (!(r = db_query(ctx,
			   "INSERT INTO phone_messages (call_id, for_staff_id, for_queue_id, caller_name,"
			   " callback_e164, patient_id, reason, urgency, taken_by, place_at, callback_due_at)"
			   " VALUES (nullif($1, 0), nullif($2, 0), nullif($3, 0), $4, $5, nullif($6, 0), $7,"
			   "  $8, $9, coalesce((SELECT received_at FROM phone_calls WHERE id = $1), now()),"
			   "  CASE WHEN $10::bigint > 0 THEN to_timestamp($10 / 1000.0) END)"
			   " RETURNING id",
			   &p)))
		return ctx->status.code;
	int64_t id = db_int(r, 0, 0);
	PQclear(r);
	frontdesk__v1__phone_take_message_reply__init(rep);
	if (load_message(ctx, id, &rep->message) != FD_OK ||
	    db_notify(ctx, "phone.message", fd_arena_printf(ctx->arena, "message:%lld", (long long)id)) != FD_OK)
		return ctx->status.code;
	*out = &rep->base;
	return FD_OK;
}

int handle_phone_list_messages(fd_ctx *ctx, const ProtobufCMessage *in, ProtobufCMessage **out)
{
	const Frontdesk__V1__PhoneListMessagesRequest *req = (const void *)in;
	Frontdesk__V1__PhoneListMessagesReply *rep = fd_arena_alloc(ctx->arena, sizeof *rep);
	int64_t staff = 0, queue = 0;
	char sql[3072];
	db_params p;
	PGresult *r;

	if (!rep)
		return PHONE_NOMEM(ctx);
	if ((*req->for_username && phone_staff_id(ctx, req->for_username, &staff) != FD_OK) ||
	    (*req->for_queue && phone_queue_id(ctx, req->for_queue, &queue) != FD_OK))
		return ctx->status.code;
	/* Without a filter: my own inbox and those of the queues I serve.
	 * Inboxes put urgent messages first; callbacks keep strict place
	 * order, the order they are offered in. */
	snprintf(sql, sizeof sql,
		 "%s WHERE ($3 OR m.done_at IS NULL) AND (NOT $5 OR m.callback_due_at IS NOT NULL) AND CASE"
		 " WHEN $1::bigint > 0 THEN m.for_staff_id = $1 WHEN $2::bigint > 0 THEN m.for_queue_id = $2"
		 " ELSE m.for_staff_id = $4 OR m.for_queue_id IN"
		 "  (SELECT queue_id FROM phone_queue_members WHERE staff_id = $4) END"
		 " ORDER BY m.done_at IS NOT NULL, NOT $5 AND m.urgency = 'urgent' DESC, m.place_at, m.id"
		 " LIMIT 500",
		 message_columns);
	dbp_init(&p);
	dbp_int(&p, staff);
	dbp_int(&p, queue);
	dbp_bool(&p, req->include_done);
	dbp_int(&p, ctx->session->staff_id);
	dbp_bool(&p, req->callbacks_only);
	if (!(r = db_query(ctx, sql, &p)))
		return ctx->status.code;
	size_t n = (size_t)PQntuples(r);
	int64_t *patients = fd_arena_alloc(ctx->arena, (n + 1) * sizeof *patients);
	size_t n_patients = 0;
	frontdesk__v1__phone_list_messages_reply__init(rep);
	rep->messages = fd_arena_alloc(ctx->arena, (n + 1) * sizeof *rep->messages);
	for (size_t i = 0; patients && rep->messages && i < n; i++) {
		if (!(rep->messages[i] = message_from_row(ctx, r, (int)i))) {
			rep->messages = NULL;
			break;
		}
		if (rep->messages[i]->patient_id)
			patients[n_patients++] = rep->messages[i]->patient_id;
	}
	rep->n_messages = rep->messages ? n : 0;
	PQclear(r);
	if (!patients || !rep->messages)
		return PHONE_NOMEM(ctx);
	fd_ctx_audit(ctx, 0, "messages");
	if (n_patients)
		fd_ctx_audit_patients(ctx, patients, n_patients, "messages");
	*out = &rep->base;
	return FD_OK;
}

int handle_phone_complete_message(fd_ctx *ctx, const ProtobufCMessage *in, ProtobufCMessage **out)
{
	const Frontdesk__V1__PhoneCompleteMessageRequest *req = (const void *)in;
	Frontdesk__V1__PhoneCompleteMessageReply *rep = fd_arena_alloc(ctx->arena, sizeof *rep);
	db_params p;
	PGresult *r;

	if (!rep)
		return PHONE_NOMEM(ctx);
	dbp_init(&p);
	dbp_int(&p, req->message_id);
	dbp_int(&p, ctx->session->staff_id);
	if (!(r = db_query(ctx,
			   "UPDATE phone_messages SET done_at = now(), done_by = $2"
			   " WHERE id = $1 AND done_at IS NULL RETURNING id",
			   &p)))
		return ctx->status.code;
	int done = PQntuples(r);
	PQclear(r);
	frontdesk__v1__phone_complete_message_reply__init(rep);
	if (load_message(ctx, req->message_id, &rep->message) != FD_OK)
		return ctx->status.code;
	if (!done)
		return fd_fail(&ctx->status, FD_FAILED_PRECONDITION, "that message is already done");
	if (db_notify(ctx, "phone.message", fd_arena_printf(ctx->arena, "message:%lld", (long long)req->message_id)) != FD_OK)
		return ctx->status.code;
	*out = &rep->base;
	return FD_OK;
}

int handle_phone_assign_message(fd_ctx *ctx, const ProtobufCMessage *in, ProtobufCMessage **out)
{
	const Frontdesk__V1__PhoneAssignMessageRequest *req = (const void *)in;
	Frontdesk__V1__PhoneAssignMessageReply *rep = fd_arena_alloc(ctx->arena, sizeof *rep);
	int64_t staff;
	db_params p;
	PGresult *r;

	if (!rep)
		return PHONE_NOMEM(ctx);
	if (phone_staff_id(ctx, req->to_username, &staff) != FD_OK)
		return ctx->status.code;
	dbp_init(&p);
	dbp_int(&p, req->message_id);
	dbp_int(&p, staff);
	if (!(r = db_query(ctx,
			   "UPDATE phone_messages SET for_staff_id = $2, for_queue_id = NULL,"
			   " offered_to = NULL, offered_at = NULL WHERE id = $1 AND done_at IS NULL RETURNING id",
			   &p)))
		return ctx->status.code;
	int moved = PQntuples(r);
	PQclear(r);
	frontdesk__v1__phone_assign_message_reply__init(rep);
	if (load_message(ctx, req->message_id, &rep->message) != FD_OK)
		return ctx->status.code;
	if (!moved)
		return fd_fail(&ctx->status, FD_FAILED_PRECONDITION, "that message is already done");
	if (db_notify(ctx, "phone.message", fd_arena_printf(ctx->arena, "message:%lld", (long long)req->message_id)) != FD_OK)
		return ctx->status.code;
	*out = &rep->base;
	return FD_OK;
}

/* --- metrics ---------------------------------------------------------------- */

/* Per queue for one local day: offered (visits that began), answered,
 * abandoned, overflowed, answered within the service level, the average
 * speed of answer and the longest wait (a caller still waiting counts up
 * to now), then per local hour. */
static const char queue_stats_sql[] =
	"WITH d AS (SELECT q.id, q.code, q.service_level_s, l.time_zone,"
	"  (CASE WHEN $2 = '' THEN (now() AT TIME ZONE l.time_zone)::date ELSE $2::date END) AS day"
	"  FROM phone_queues q JOIN locations l ON l.id = q.location_id"
	"  WHERE $1 = '' OR q.code = $1),"
	" v AS (SELECT d.id AS qid, v.call_id, v.answered_at, v.outcome,"
	"  extract(epoch FROM coalesce(v.answered_at, v.left_at, now()) - v.entered_at) AS wait"
	"  FROM d JOIN phone_visits v ON v.queue_id = d.id"
	"   AND v.entered_at >= d.day::timestamp AT TIME ZONE d.time_zone"
	"   AND v.entered_at < (d.day + 1)::timestamp AT TIME ZONE d.time_zone)"
	" SELECT d.code, d.service_level_s, count(v.call_id),"
	"  count(v.answered_at), count(*) FILTER (WHERE v.outcome = 'abandoned'),"
	"  count(*) FILTER (WHERE v.outcome IN ('overflowed', 'message_taken')),"
	"  count(*) FILTER (WHERE v.answered_at IS NOT NULL AND v.wait <= d.service_level_s),"
	"  coalesce(avg(v.wait) FILTER (WHERE v.answered_at IS NOT NULL), 0)::float8,"
	"  coalesce(max(v.wait), 0)::integer"
	" FROM d LEFT JOIN v ON v.qid = d.id GROUP BY d.code, d.service_level_s ORDER BY d.code";

static const char hour_stats_sql[] =
	"WITH d AS (SELECT q.id, q.code, l.time_zone,"
	"  (CASE WHEN $2 = '' THEN (now() AT TIME ZONE l.time_zone)::date ELSE $2::date END) AS day"
	"  FROM phone_queues q JOIN locations l ON l.id = q.location_id"
	"  WHERE $1 = '' OR q.code = $1)"
	" SELECT d.code, extract(hour FROM v.entered_at AT TIME ZONE d.time_zone)::integer AS hour,"
	"  count(*), count(v.answered_at), count(*) FILTER (WHERE v.outcome = 'abandoned')"
	" FROM d JOIN phone_visits v ON v.queue_id = d.id"
	"  AND v.entered_at >= d.day::timestamp AT TIME ZONE d.time_zone"
	"  AND v.entered_at < (d.day + 1)::timestamp AT TIME ZONE d.time_zone"
	" GROUP BY 1, 2 ORDER BY 1, 2";

/* Handled calls and talk time per staff member, over the same queues and
 * day (the first queue's zone decides the day when no queue is named). */
static const char staff_stats_sql[] =
	"WITH d AS (SELECT q.id, l.time_zone,"
	"  (CASE WHEN $2 = '' THEN (now() AT TIME ZONE l.time_zone)::date ELSE $2::date END) AS day"
	"  FROM phone_queues q JOIN locations l ON l.id = q.location_id"
	"  WHERE $1 = '' OR q.code = $1)"
	" SELECT s.username, count(*),"
	"  coalesce(sum(extract(epoch FROM coalesce(v.left_at, now()) - v.answered_at)), 0)::integer"
	" FROM d JOIN phone_visits v ON v.queue_id = d.id AND v.answered_at IS NOT NULL"
	"  AND v.entered_at >= d.day::timestamp AT TIME ZONE d.time_zone"
	"  AND v.entered_at < (d.day + 1)::timestamp AT TIME ZONE d.time_zone"
	" JOIN staff s ON s.id = v.answered_by GROUP BY s.username ORDER BY s.username";

static int add_hours(fd_ctx *ctx, const PGresult *h, Frontdesk__V1__PhoneQueueStats *qs)
{
	qs->hours = fd_arena_alloc(ctx->arena, ((size_t)PQntuples(h) + 1) * sizeof *qs->hours);
	if (!qs->hours)
		return PHONE_NOMEM(ctx);
	for (int k = 0; k < PQntuples(h); k++) {
		if (strcmp(PQgetvalue(h, k, 0), qs->queue) != 0)
			continue;
		Frontdesk__V1__PhoneHourStats *hs = fd_arena_alloc(ctx->arena, sizeof *hs);
		if (!hs)
			return PHONE_NOMEM(ctx);
		frontdesk__v1__phone_hour_stats__init(hs);
		hs->hour = (int32_t)db_int(h, k, 1);
		hs->offered = (int32_t)db_int(h, k, 2);
		hs->answered = (int32_t)db_int(h, k, 3);
		hs->abandoned = (int32_t)db_int(h, k, 4);
		qs->hours[qs->n_hours++] = hs;
	}
	return FD_OK;
}

int handle_phone_stats(fd_ctx *ctx, const ProtobufCMessage *in, ProtobufCMessage **out)
{
	const Frontdesk__V1__PhoneStatsRequest *req = (const void *)in;
	Frontdesk__V1__PhoneStatsReply *rep = fd_arena_alloc(ctx->arena, sizeof *rep);
	int64_t queue;
	db_params p;
	PGresult *q, *h, *s;

	if (!rep)
		return PHONE_NOMEM(ctx);
	if ((*req->queue && phone_queue_id(ctx, req->queue, &queue) != FD_OK) ||
	    (*req->date && fd_check_date(ctx, "the date", req->date) != FD_OK))
		return ctx->status.code;
	dbp_init(&p);
	dbp_text(&p, req->queue);
	dbp_text(&p, req->date);
	if (!(q = db_query(ctx, queue_stats_sql, &p)))
		return ctx->status.code;
	if (!(h = db_query(ctx, hour_stats_sql, &p))) {
		PQclear(q);
		return ctx->status.code;
	}
	if (!(s = db_query(ctx, staff_stats_sql, &p))) {
		PQclear(q);
		PQclear(h);
		return ctx->status.code;
	}
	frontdesk__v1__phone_stats_reply__init(rep);
	rep->queues = fd_arena_alloc(ctx->arena, ((size_t)PQntuples(q) + 1) * sizeof *rep->queues);
	rep->staff = fd_arena_alloc(ctx->arena, ((size_t)PQntuples(s) + 1) * sizeof *rep->staff);
	int rc = rep->queues && rep->staff ? FD_OK : PHONE_NOMEM(ctx);
	for (int i = 0; rc == FD_OK && i < PQntuples(q); i++) {
		Frontdesk__V1__PhoneQueueStats *qs = fd_arena_alloc(ctx->arena, sizeof *qs);
		if (!qs) {
			rc = PHONE_NOMEM(ctx);
			break;
		}
		frontdesk__v1__phone_queue_stats__init(qs);
		qs->queue = db_str(ctx->arena, q, i, 0);
		qs->service_level_s = (int32_t)db_int(q, i, 1);
		qs->offered = (int32_t)db_int(q, i, 2);
		qs->answered = (int32_t)db_int(q, i, 3);
		qs->abandoned = (int32_t)db_int(q, i, 4);
		qs->overflowed = (int32_t)db_int(q, i, 5);
		qs->answered_within_sl = (int32_t)db_int(q, i, 6);
		qs->service_level_pct = qs->offered ? 100.0 * qs->answered_within_sl / qs->offered : 0;
		qs->average_wait_s = strtod(PQgetvalue(q, i, 7), NULL);
		qs->longest_wait_s = (int32_t)db_int(q, i, 8);
		rc = add_hours(ctx, h, qs);
		rep->queues[rep->n_queues++] = qs;
	}
	for (int i = 0; rc == FD_OK && i < PQntuples(s); i++) {
		Frontdesk__V1__PhoneStaffStats *ss = fd_arena_alloc(ctx->arena, sizeof *ss);
		if (!ss) {
			rc = PHONE_NOMEM(ctx);
			break;
		}
		frontdesk__v1__phone_staff_stats__init(ss);
		ss->username = db_str(ctx->arena, s, i, 0);
		ss->handled = (int32_t)db_int(s, i, 1);
		ss->talk_time_s = (int32_t)db_int(s, i, 2);
		rep->staff[rep->n_staff++] = ss;
	}
	PQclear(q);
	PQclear(h);
	PQclear(s);
	if (rc != FD_OK)
		return rc;
	*out = &rep->base;
	return FD_OK;
}
