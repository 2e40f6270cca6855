/*
 * Phone administration: the lines patients dial, queues (departments) and
 * their strategies, who serves which queue at what penalty, staff
 * extensions, and presence (available, on a call, wrap-up, away with a
 * reason, offline). Also the checks and lookups the other phone files share
 * (phone.h). The database holds every rule as a constraint; the checks here
 * exist to give the receptionist a clear message first.
 */
#include <ctype.h>
#include <stdio.h>
#include <string.h>

#include "phone.h"
#include "validate.h"

int handle_phone_create_line(fd_ctx *ctx, const ProtobufCMessage *in, ProtobufCMessage **out);
int handle_phone_list_lines(fd_ctx *ctx, const ProtobufCMessage *in, ProtobufCMessage **out);
int handle_phone_save_queue(fd_ctx *ctx, const ProtobufCMessage *in, ProtobufCMessage **out);
int handle_phone_list_queues(fd_ctx *ctx, const ProtobufCMessage *in, ProtobufCMessage **out);
int handle_phone_set_queue_member(fd_ctx *ctx, const ProtobufCMessage *in, ProtobufCMessage **out);
int handle_phone_set_extension(fd_ctx *ctx, const ProtobufCMessage *in, ProtobufCMessage **out);
int handle_phone_set_presence(fd_ctx *ctx, const ProtobufCMessage *in, ProtobufCMessage **out);
int handle_phone_list_presence(fd_ctx *ctx, const ProtobufCMessage *in, ProtobufCMessage **out);
int handle_phone_update_line(fd_ctx *ctx, const ProtobufCMessage *in, ProtobufCMessage **out);
int handle_phone_delete_line(fd_ctx *ctx, const ProtobufCMessage *in, ProtobufCMessage **out);
int handle_phone_delete_queue(fd_ctx *ctx, const ProtobufCMessage *in, ProtobufCMessage **out);

/* --- shared checks (phone.h) ------------------------------------------ */

int phone_check_e164(fd_ctx *ctx, const char *what, const char *number)
{
	size_t n = strlen(number);

	if (n < 8 || n > 16 || number[0] != '+' || number[1] < '1' || number[1] > '9')
		return fd_fail(&ctx->status, FD_INVALID_ARGUMENT,
			       "%s must be an E.164 phone number like +15551234567", what);
	for (size_t i = 1; i < n; i++)
		if (!isdigit((unsigned char)number[i]))
			return fd_fail(&ctx->status, FD_INVALID_ARGUMENT,
				       "%s must be an E.164 phone number like +15551234567", what);
	return FD_OK;
}

int phone_check_word(fd_ctx *ctx, const char *what, const char *s, const char *const *words)
{
	char list[256] = "";
	size_t used = 0;

	for (const char *const *w = words; *w; w++) {
		if (strcmp(s, *w) == 0)
			return FD_OK;
		used += (size_t)snprintf(list + used, used < sizeof list ? sizeof list - used : 0,
					 "%s%s", w == words ? "" : ", ", *w);
	}
	return fd_fail(&ctx->status, FD_INVALID_ARGUMENT, "%s must be one of: %s", what, list);
}

/* Runs a one-row id lookup; NOT_FOUND with `missing` when there is no row. */
static int lookup_id(fd_ctx *ctx, const char *sql, const char *key, const char *missing,
		     int64_t *id)
{
	db_params p;
	PGresult *r;

	dbp_init(&p);
	dbp_text(&p, key);
	if (!(r = db_query(ctx, sql, &p)))
		return ctx->status.code;
	if (PQntuples(r) != 1) {
		PQclear(r);
		return fd_fail(&ctx->status, FD_NOT_FOUND, "%s", missing);
	}
	*id = db_int(r, 0, 0);
	PQclear(r);
	return FD_OK;
}

int phone_location_id(fd_ctx *ctx, const char *code, int64_t *id)
{
	return lookup_id(ctx,
			 "SELECT id FROM locations WHERE code = $1 OR"
			 " ($1 = '' AND id = (SELECT min(id) FROM locations))",
			 code, *code ? "no location has that code" : "the clinic has no location yet",
			 id);
}

int phone_queue_id(fd_ctx *ctx, const char *code, int64_t *id)
{
	return lookup_id(ctx, "SELECT id FROM phone_queues WHERE code = $1", code,
			 "no phone queue has that code", id);
}

int phone_staff_id(fd_ctx *ctx, const char *username, int64_t *id)
{
	return lookup_id(ctx, "SELECT id FROM staff WHERE username = $1 AND active", username,
			 "no active staff member has that user name", id);
}

bool phone_is_clock(const char *t, bool seconds)
{
	size_t n = strlen(t);

	if (n != 5 && !(seconds && n == 8))
		return false;
	for (size_t i = 0; i < n; i++)
		if ((i % 3 == 2) != (t[i] == ':') || (i % 3 != 2 && !isdigit((unsigned char)t[i])))
			return false;
	return (t[0] < '2' || (t[0] == '2' && t[1] <= '3')) && t[3] <= '5' && (n == 5 || t[6] <= '5');
}

int phone_local_instant(fd_ctx *ctx, const char *what, const char *text, int64_t location,
			int64_t *unix_ms)
{
	char date[11];
	db_params p;
	PGresult *r;
	size_t n = strlen(text);
	bool ok = phone_is_clock(text, false);

	if (!ok && (n == 16 || n == 19) && (text[10] == 'T' || text[10] == ' ') &&
	    phone_is_clock(text + 11, true)) {
		memcpy(date, text, 10);
		date[10] = '\0';
		if (fd_check_date(ctx, what, date) != FD_OK)
			return ctx->status.code;
		ok = true;
	}
	if (!ok)
		return fd_fail(&ctx->status, FD_INVALID_ARGUMENT,
			       "%s must be a local time like 2026-11-27T14:30 or 14:30 (today)", what);
	dbp_init(&p);
	dbp_text(&p, text);
	dbp_int(&p, location);
	/* A wall-clock time the zone skips (spring forward) has no instant:
	 * local_instant() round-trips it and gives NULL. */
	if (!(r = db_query(ctx,
			   "SELECT (extract(epoch FROM local_instant(CASE WHEN length($1) = 5"
			   "  THEN (now() AT TIME ZONE l.time_zone)::date + $1::time"
			   "  ELSE replace($1, 'T', ' ')::timestamp END, l.time_zone)) * 1000)::bigint"
			   " FROM locations l WHERE l.id = $2",
			   &p)))
		return ctx->status.code;
	bool exists = PQntuples(r) == 1 && !PQgetisnull(r, 0, 0);
	*unix_ms = exists ? db_int(r, 0, 0) : 0;
	PQclear(r);
	if (!exists)
		return fd_fail(&ctx->status, FD_INVALID_ARGUMENT,
			       "%s does not exist at that location (the clocks jump forward then)", what);
	return FD_OK;
}

/* --- lines ------------------------------------------------------------ */

static const char line_columns[] =
	"SELECT pl.id, pl.code, pl.name, pl.number_e164, l.code"
	" FROM phone_lines pl JOIN locations l ON l.id = pl.location_id";

static Frontdesk__V1__PhoneLine *line_from_row(fd_ctx *ctx, const PGresult *r, int row)
{
	Frontdesk__V1__PhoneLine *line = fd_arena_alloc(ctx->arena, sizeof *line);

	if (!line)
		return NULL;
	frontdesk__v1__phone_line__init(line);
	line->id = db_int(r, row, 0);
	line->code = db_str(ctx->arena, r, row, 1);
	line->name = db_str(ctx->arena, r, row, 2);
	line->number = db_str(ctx->arena, r, row, 3);
	line->location = db_str(ctx->arena, r, row, 4);
	return line;
}

int handle_phone_create_line(fd_ctx *ctx, const ProtobufCMessage *in, ProtobufCMessage **out)
{
	const Frontdesk__V1__PhoneCreateLineRequest *req = (const void *)in;
	Frontdesk__V1__PhoneCreateLineReply *rep = fd_arena_alloc(ctx->arena, sizeof *rep);
	int64_t location;
	char sql[512];
	db_params p;
	PGresult *r;

	if (!rep)
		return PHONE_NOMEM(ctx);
	if (fd_check_code(ctx, "the line code", req->code) != FD_OK ||
	    fd_check_text(ctx, "the line name", req->name, 1, 200, 0) != FD_OK ||
	    phone_check_e164(ctx, "the line number", req->number) != FD_OK ||
	    phone_location_id(ctx, req->location, &location) != FD_OK)
		return ctx->status.code;
	dbp_init(&p);
	dbp_text(&p, req->code);
	dbp_text(&p, req->name);
	dbp_text(&p, req->number);
	dbp_int(&p, location);
	if (db_exec(ctx,
		    "INSERT INTO phone_lines (code, name, number_e164, location_id)"
		    " VALUES ($1, $2, $3, $4)",
		    &p) != FD_OK)
		return ctx->status.code;
	snprintf(sql, sizeof sql, "%s WHERE pl.code = $1", line_columns);
	dbp_init(&p);
	dbp_text(&p, req->code);
	if (!(r = db_query(ctx, sql, &p)))
		return ctx->status.code;
	frontdesk__v1__phone_create_line_reply__init(rep);
	rep->line = line_from_row(ctx, r, 0);
	PQclear(r);
	if (!rep->line)
		return PHONE_NOMEM(ctx);
	char *subject = fd_arena_printf(ctx->arena, "line:%lld", (long long)rep->line->id);
	fd_ctx_audit(ctx, 0, subject);
	if (db_notify(ctx, "phone.line", subject) != FD_OK)
		return ctx->status.code;
	*out = &rep->base;
	return FD_OK;
}

int handle_phone_list_lines(fd_ctx *ctx, const ProtobufCMessage *in, ProtobufCMessage **out)
{
	Frontdesk__V1__PhoneListLinesReply *rep = fd_arena_alloc(ctx->arena, sizeof *rep);
	char sql[512];
	PGresult *r;

	(void)in;
	if (!rep)
		return PHONE_NOMEM(ctx);
	snprintf(sql, sizeof sql, "%s ORDER BY pl.code", line_columns);
	if (!(r = db_query(ctx, sql, NULL)))
		return ctx->status.code;
	frontdesk__v1__phone_list_lines_reply__init(rep);
	rep->n_lines = (size_t)PQntuples(r);
	rep->lines = fd_arena_alloc(ctx->arena, (rep->n_lines + 1) * sizeof *rep->lines);
	for (size_t i = 0; rep->lines && i < rep->n_lines; i++)
		if (!(rep->lines[i] = line_from_row(ctx, r, (int)i)))
			rep->lines = NULL;
	PQclear(r);
	if (!rep->lines)
		return PHONE_NOMEM(ctx);
	*out = &rep->base;
	return FD_OK;
}

int handle_phone_update_line(fd_ctx *ctx, const ProtobufCMessage *in, ProtobufCMessage **out)
{
	const Frontdesk__V1__PhoneUpdateLineRequest *req = (const void *)in;
	Frontdesk__V1__PhoneUpdateLineReply *rep = fd_arena_alloc(ctx->arena, sizeof *rep);
	int64_t location = 0;
	char sql[512];
	db_params p;
	PGresult *r;

	if (!rep)
		return PHONE_NOMEM(ctx);
	if (fd_check_code(ctx, "the line code", req->code) != FD_OK ||
	    (*req->name && fd_check_text(ctx, "the line name", req->name, 1, 200, 0) != FD_OK) ||
	    (*req->number && phone_check_e164(ctx, "the line number", req->number) != FD_OK) ||
	    (*req->location && phone_location_id(ctx, req->location, &location) != FD_OK))
		return ctx->status.code;
	dbp_init(&p);
	dbp_text(&p, req->code);
	dbp_text_or_null(&p, req->name);
	dbp_text_or_null(&p, req->number);
	dbp_int(&p, location);
	if (!(r = db_query(ctx,
			   "UPDATE phone_lines SET name = coalesce($2, name),"
			   " number_e164 = coalesce($3, number_e164),"
			   " location_id = coalesce(nullif($4, 0), location_id)"
			   " WHERE code = $1 RETURNING id",
			   &p)))
		return ctx->status.code;
	int found = PQntuples(r);
	int64_t id = found ? db_int(r, 0, 0) : 0;
	PQclear(r);
	if (!found)
		return fd_fail(&ctx->status, FD_NOT_FOUND, "no phone line has that code");
	snprintf(sql, sizeof sql, "%s WHERE pl.id = $1", line_columns);
	dbp_init(&p);
	dbp_int(&p, id);
	if (!(r = db_query(ctx, sql, &p)))
		return ctx->status.code;
	frontdesk__v1__phone_update_line_reply__init(rep);
	rep->line = line_from_row(ctx, r, 0);
	PQclear(r);
	if (!rep->line)
		return PHONE_NOMEM(ctx);
	char *subject = fd_arena_printf(ctx->arena, "line:%lld", (long long)id);
	fd_ctx_audit(ctx, 0, subject);
	if (db_notify(ctx, "phone.line", subject) != FD_OK)
		return ctx->status.code;
	*out = &rep->base;
	return FD_OK;
}

/* Why a line or queue may not be removed (what still refers to it), or ""
 * when nothing does. One statement of COALESCEd reasons, first one wins. */
/* Deletes row `id` of a piece of routing unless something still refers
 * to it: `refs_sql` ($1 = id) answers the first reason in the clinic's
 * words, or '' when nothing does. Then the row goes, audited and
 * announced as phone.<kind> with subject <kind>:<id>. */
static int delete_unless_referred(fd_ctx *ctx, const char *refs_sql, const char *delete_sql,
				  int64_t id, const char *kind)
{
	db_params p;
	PGresult *r;

	dbp_init(&p);
	dbp_int(&p, id);
	if (!(r = db_query(ctx, refs_sql, &p)))
		return ctx->status.code;
	char *why = db_str(ctx->arena, r, 0, 0);
	PQclear(r);
	if (!why)
		return PHONE_NOMEM(ctx);
	if (*why)
		return fd_fail(&ctx->status, FD_FAILED_PRECONDITION, "%s", why);
	if (db_exec(ctx, delete_sql, &p) != FD_OK)
		return ctx->status.code;
	char *subject = fd_arena_printf(ctx->arena, "%s:%lld", kind, (long long)id);
	char *topic = fd_arena_printf(ctx->arena, "phone.%s", kind);
	if (!subject || !topic)
		return PHONE_NOMEM(ctx);
	fd_ctx_audit(ctx, 0, subject);
	return db_notify(ctx, topic, subject);
}

int handle_phone_delete_line(fd_ctx *ctx, const ProtobufCMessage *in, ProtobufCMessage **out)
{
	const Frontdesk__V1__PhoneDeleteLineRequest *req = (const void *)in;
	Frontdesk__V1__PhoneDeleteLineReply *rep = fd_arena_alloc(ctx->arena, sizeof *rep);
	int64_t id;

	if (!rep)
		return PHONE_NOMEM(ctx);
	if (fd_check_code(ctx, "the line code", req->code) != FD_OK ||
	    lookup_id(ctx, "SELECT id FROM phone_lines WHERE code = $1", req->code,
		      "no phone line has that code", &id) != FD_OK)
		return ctx->status.code;
	if (delete_unless_referred(ctx,
			   "SELECT coalesce("
			   " (SELECT 'routing rule ''' || name || ''' is for this line; change or remove it first'"
			   "   FROM phone_rules WHERE line_id = $1 ORDER BY priority LIMIT 1),"
			   " (SELECT 'the line has call history, which is kept; change its number or name instead'"
			   "   FROM phone_calls WHERE line_id = $1 LIMIT 1), '')",
			   "DELETE FROM phone_lines WHERE id = $1", id, "line") != FD_OK)
		return ctx->status.code;
	frontdesk__v1__phone_delete_line_reply__init(rep);
	*out = &rep->base;
	return FD_OK;
}

/* --- queues ----------------------------------------------------------- */

static const char *const strategies[] = { "ring_all", "round_robin", "least_recent",
					  "fewest_calls", "linear", "random", NULL };
static const char *const overflows[] = { "queue", "voicemail", "message", NULL };

/* Loads one queue (by id) or all (id 0) with members into *queues. */
static int load_queues(fd_ctx *ctx, int64_t id, Frontdesk__V1__PhoneQueue ***queues, size_t *n)
{
	db_params p;
	PGresult *r, *m;

	dbp_init(&p);
	dbp_int(&p, id);
	r = db_query(ctx,
		     "SELECT q.id, q.code, q.name, l.code, q.strategy, q.ring_timeout_s, q.wrap_up_s,"
		     " q.max_wait_s, q.max_length, q.penalty_widen_s, q.overflow,"
		     " coalesce(o.code, ''), q.service_level_s,"
		     " (SELECT count(*) FROM phone_calls c WHERE c.queue_id = q.id AND c.state = 'waiting')"
		     " FROM phone_queues q JOIN locations l ON l.id = q.location_id"
		     " LEFT JOIN phone_queues o ON o.id = q.overflow_queue_id"
		     " WHERE $1::bigint = 0 OR q.id = $1 ORDER BY q.code",
		     &p);
	if (!r)
		return ctx->status.code;
	m = db_query(ctx,
		     "SELECT m.queue_id, s.id, s.username, s.display_name, m.penalty, m.position,"
		     " coalesce(p.state, 'offline'), coalesce(e.extension, '')"
		     " FROM phone_queue_members m JOIN staff s ON s.id = m.staff_id"
		     " LEFT JOIN phone_presence p ON p.staff_id = s.id"
		     " LEFT JOIN phone_extensions e ON e.staff_id = s.id"
		     " WHERE $1::bigint = 0 OR m.queue_id = $1"
		     " ORDER BY m.queue_id, m.penalty, m.position, s.username",
		     &p);
	if (!m) {
		PQclear(r);
		return ctx->status.code;
	}
	*n = (size_t)PQntuples(r);
	*queues = fd_arena_alloc(ctx->arena, (*n + 1) * sizeof **queues);
	for (size_t i = 0; *queues && i < *n; i++) {
		Frontdesk__V1__PhoneQueue *q = fd_arena_alloc(ctx->arena, sizeof *q);
		int row = (int)i, members = 0;

		if (!q) {
			*queues = NULL;
			break;
		}
		frontdesk__v1__phone_queue__init(q);
		q->id = db_int(r, row, 0);
		q->code = db_str(ctx->arena, r, row, 1);
		q->name = db_str(ctx->arena, r, row, 2);
		q->location = db_str(ctx->arena, r, row, 3);
		q->strategy = db_str(ctx->arena, r, row, 4);
		q->ring_timeout_s = (int32_t)db_int(r, row, 5);
		q->wrap_up_s = (int32_t)db_int(r, row, 6);
		q->max_wait_s = (int32_t)db_int(r, row, 7);
		q->max_length = (int32_t)db_int(r, row, 8);
		q->penalty_widen_s = (int32_t)db_int(r, row, 9);
		q->overflow = db_str(ctx->arena, r, row, 10);
		q->overflow_queue = db_str(ctx->arena, r, row, 11);
		q->service_level_s = (int32_t)db_int(r, row, 12);
		q->waiting = (int32_t)db_int(r, row, 13);
		for (int k = 0; k < PQntuples(m); k++)
			members += db_int(m, k, 0) == q->id;
		q->members = fd_arena_alloc(ctx->arena, ((size_t)members + 1) * sizeof *q->members);
		for (int k = 0; q->members && k < PQntuples(m); k++) {
			if (db_int(m, k, 0) != q->id)
				continue;
			Frontdesk__V1__PhoneQueueMember *mem = fd_arena_alloc(ctx->arena, sizeof *mem);
			if (!mem) {
				q->members = NULL;
				break;
			}
			frontdesk__v1__phone_queue_member__init(mem);
			mem->staff_id = db_int(m, k, 1);
			mem->username = db_str(ctx->arena, m, k, 2);
			mem->display_name = db_str(ctx->arena, m, k, 3);
			mem->penalty = (int32_t)db_int(m, k, 4);
			mem->position = (int32_t)db_int(m, k, 5);
			mem->presence = db_str(ctx->arena, m, k, 6);
			mem->extension = db_str(ctx->arena, m, k, 7);
			q->members[q->n_members++] = mem;
		}
		if (!q->members)
			*queues = NULL;
		else
			(*queues)[i] = q;
	}
	PQclear(r);
	PQclear(m);
	return *queues ? FD_OK : PHONE_NOMEM(ctx);
}

static int check_queue_numbers(fd_ctx *ctx, const Frontdesk__V1__PhoneSaveQueueRequest *req)
{
	const struct {
		const char *what;
		int32_t value, lo, hi;
	} limits[] = {
		{ "the ring timeout", req->ring_timeout_s, 5, 300 },
		{ "the wrap-up time", req->wrap_up_s, 0, 3600 },
		{ "the maximum wait", req->max_wait_s, 10, 7200 },
		{ "the maximum queue length", req->max_length, 1, 1000 },
		{ "the penalty widening time", req->penalty_widen_s, 0, 3600 },
		{ "the service level target", req->service_level_s, 1, 3600 },
	};

	for (size_t i = 0; i < sizeof limits / sizeof limits[0]; i++)
		if (limits[i].value != 0 && (limits[i].value < limits[i].lo || limits[i].value > limits[i].hi))
			return fd_fail(&ctx->status, FD_INVALID_ARGUMENT, "%s must be %d-%d seconds",
				       limits[i].what, limits[i].lo, limits[i].hi);
	return FD_OK;
}

/* Overflowing `code` into `target` must not close a loop: the chain from
 * target may not lead back to code. The refusal names the loop; the
 * database checks the same at commit (0006). */
static int check_overflow_chain(fd_ctx *ctx, const char *code, int64_t target)
{
	db_params p;
	PGresult *r;

	dbp_init(&p);
	dbp_int(&p, target);
	dbp_text(&p, code);
	if (!(r = db_query(ctx,
			   "WITH RECURSIVE chain (id, code, path, depth) AS ("
			   "  SELECT id, code, code, 1 FROM phone_queues WHERE id = $1"
			   "  UNION ALL SELECT q.id, q.code, chain.path || ' -> ' || q.code, chain.depth + 1"
			   "  FROM chain JOIN phone_queues p ON p.id = chain.id"
			   "  JOIN phone_queues q ON q.id = p.overflow_queue_id"
			   "  WHERE chain.code <> $2 AND chain.depth < 100)"
			   " SELECT path FROM chain WHERE code = $2 LIMIT 1",
			   &p)))
		return ctx->status.code;
	char *loop = PQntuples(r) ? db_str(ctx->arena, r, 0, 0) : NULL;
	PQclear(r);
	if (loop)
		return fd_fail(&ctx->status, FD_FAILED_PRECONDITION,
			       "that overflow would loop: %s -> %s", code, loop);
	return FD_OK;
}

int handle_phone_save_queue(fd_ctx *ctx, const ProtobufCMessage *in, ProtobufCMessage **out)
{
	const Frontdesk__V1__PhoneSaveQueueRequest *req = (const void *)in;
	Frontdesk__V1__PhoneSaveQueueReply *rep = fd_arena_alloc(ctx->arena, sizeof *rep);
	int64_t location = 0, overflow_queue = 0;
	Frontdesk__V1__PhoneQueue **queues;
	size_t n;
	db_params p;
	PGresult *r;

	if (!rep)
		return PHONE_NOMEM(ctx);
	if (fd_check_code(ctx, "the queue code", req->code) != FD_OK ||
	    (*req->name && fd_check_text(ctx, "the queue name", req->name, 1, 200, 0) != FD_OK) ||
	    (*req->strategy && phone_check_word(ctx, "the strategy", req->strategy, strategies) != FD_OK) ||
	    (*req->overflow && phone_check_word(ctx, "the overflow", req->overflow, overflows) != FD_OK) ||
	    check_queue_numbers(ctx, req) != FD_OK ||
	    phone_location_id(ctx, req->location, &location) != FD_OK)
		return ctx->status.code;
	if (strcmp(req->overflow, "queue") == 0) {
		if (!*req->overflow_queue)
			return fd_fail(&ctx->status, FD_INVALID_ARGUMENT,
				       "overflow to a queue needs the queue to overflow to");
		if (strcmp(req->overflow_queue, req->code) == 0)
			return fd_fail(&ctx->status, FD_INVALID_ARGUMENT,
				       "a queue cannot overflow into itself");
		if (phone_queue_id(ctx, req->overflow_queue, &overflow_queue) != FD_OK ||
		    check_overflow_chain(ctx, req->code, overflow_queue) != FD_OK)
			return ctx->status.code;
	} else if (*req->overflow_queue) {
		return fd_fail(&ctx->status, FD_INVALID_ARGUMENT,
			       "an overflow queue is only used with overflow 'queue'");
	}
	dbp_init(&p);
	dbp_text(&p, req->code);
	dbp_text_or_null(&p, req->name);
	dbp_int(&p, location);
	dbp_text_or_null(&p, req->strategy);
	dbp_int(&p, req->ring_timeout_s);
	dbp_int(&p, req->wrap_up_s);
	dbp_bool(&p, req->set_wrap_up || req->wrap_up_s != 0);
	dbp_int(&p, req->max_wait_s);
	dbp_int(&p, req->max_length);
	dbp_int(&p, req->penalty_widen_s);
	dbp_bool(&p, req->set_penalty_widen || req->penalty_widen_s != 0);
	dbp_text_or_null(&p, req->overflow);
	dbp_int(&p, overflow_queue);
	dbp_int(&p, req->service_level_s);
	r = db_query(ctx,
		     "INSERT INTO phone_queues AS q (code, name, location_id, strategy, ring_timeout_s,"
		     "  wrap_up_s, max_wait_s, max_length, penalty_widen_s, overflow, overflow_queue_id,"
		     "  service_level_s)"
		     " VALUES ($1, coalesce($2, $1), $3, coalesce($4, 'ring_all'),"
		     "  coalesce(nullif($5, 0), 15), CASE WHEN $7 THEN $6 ELSE 30 END,"
		     "  coalesce(nullif($8, 0), 300), coalesce(nullif($9, 0), 20),"
		     "  CASE WHEN $11 THEN $10 ELSE 60 END, coalesce($12, 'message'), nullif($13, 0),"
		     "  coalesce(nullif($14, 0), 30))"
		     " ON CONFLICT (code) DO UPDATE SET name = coalesce($2, q.name),"
		     "  strategy = coalesce($4, q.strategy),"
		     "  ring_timeout_s = coalesce(nullif($5, 0), q.ring_timeout_s),"
		     "  wrap_up_s = CASE WHEN $7 THEN $6 ELSE q.wrap_up_s END,"
		     "  max_wait_s = coalesce(nullif($8, 0), q.max_wait_s),"
		     "  max_length = coalesce(nullif($9, 0), q.max_length),"
		     "  penalty_widen_s = CASE WHEN $11 THEN $10 ELSE q.penalty_widen_s END,"
		     "  overflow = coalesce($12, q.overflow),"
		     "  overflow_queue_id = CASE WHEN $12 IS NULL THEN q.overflow_queue_id"
		     "                      ELSE nullif($13, 0) END,"
		     "  service_level_s = coalesce(nullif($14, 0), q.service_level_s)"
		     " RETURNING id",
		     &p);
	if (!r)
		return ctx->status.code;
	int64_t id = db_int(r, 0, 0);
	PQclear(r);
	if (load_queues(ctx, id, &queues, &n) != FD_OK)
		return ctx->status.code;
	frontdesk__v1__phone_save_queue_reply__init(rep);
	rep->queue = queues[0];
	char *subject = fd_arena_printf(ctx->arena, "queue:%lld", (long long)id);
	fd_ctx_audit(ctx, 0, subject);
	if (db_notify(ctx, "phone.queue", subject) != FD_OK)
		return ctx->status.code;
	*out = &rep->base;
	return FD_OK;
}

int handle_phone_delete_queue(fd_ctx *ctx, const ProtobufCMessage *in, ProtobufCMessage **out)
{
	const Frontdesk__V1__PhoneDeleteQueueRequest *req = (const void *)in;
	Frontdesk__V1__PhoneDeleteQueueReply *rep = fd_arena_alloc(ctx->arena, sizeof *rep);
	int64_t id;

	if (!rep)
		return PHONE_NOMEM(ctx);
	if (fd_check_code(ctx, "the queue code", req->code) != FD_OK ||
	    phone_queue_id(ctx, req->code, &id) != FD_OK)
		return ctx->status.code;
	if (delete_unless_referred(ctx,
			   "SELECT coalesce("
			   " (SELECT 'routing rule ''' || name || ''' sends calls to it; change or remove it first'"
			   "   FROM phone_rules WHERE queue_id = $1 ORDER BY priority LIMIT 1),"
			   " (SELECT 'queue ''' || code || ''' overflows into it; change that queue first'"
			   "   FROM phone_queues WHERE overflow_queue_id = $1 ORDER BY code LIMIT 1),"
			   " (SELECT 'care team ''' || code || ''' uses it as its nurse line'"
			   "   FROM phone_care_teams WHERE nurse_queue_id = $1 ORDER BY code LIMIT 1),"
			   " (SELECT 'a listed number goes to it: ' || number_e164"
			   "   FROM phone_listed_numbers WHERE queue_id = $1 ORDER BY 1 LIMIT 1),"
			   " (SELECT 'calls are waiting in it' FROM phone_calls"
			   "   WHERE queue_id = $1 AND state <> 'ended' LIMIT 1),"
			   " (SELECT 'its inbox has open messages' FROM phone_messages"
			   "   WHERE for_queue_id = $1 AND done_at IS NULL LIMIT 1),"
			   " (SELECT 'the queue has call history, which is kept; take its rules and"
			   " members away instead' WHERE EXISTS (SELECT 1 FROM phone_visits WHERE queue_id = $1)"
			   "   OR EXISTS (SELECT 1 FROM phone_calls WHERE queue_id = $1)"
			   "   OR EXISTS (SELECT 1 FROM phone_messages WHERE for_queue_id = $1)), '')",
			   "DELETE FROM phone_queues WHERE id = $1", id, "queue") != FD_OK)
		return ctx->status.code;
	frontdesk__v1__phone_delete_queue_reply__init(rep);
	*out = &rep->base;
	return FD_OK;
}

int handle_phone_list_queues(fd_ctx *ctx, const ProtobufCMessage *in, ProtobufCMessage **out)
{
	Frontdesk__V1__PhoneListQueuesReply *rep = fd_arena_alloc(ctx->arena, sizeof *rep);

	(void)in;
	if (!rep)
		return PHONE_NOMEM(ctx);
	frontdesk__v1__phone_list_queues_reply__init(rep);
	if (load_queues(ctx, 0, &rep->queues, &rep->n_queues) != FD_OK)
		return ctx->status.code;
	*out = &rep->base;
	return FD_OK;
}

int handle_phone_set_queue_member(fd_ctx *ctx, const ProtobufCMessage *in, ProtobufCMessage **out)
{
	const Frontdesk__V1__PhoneSetQueueMemberRequest *req = (const void *)in;
	Frontdesk__V1__PhoneSetQueueMemberReply *rep = fd_arena_alloc(ctx->arena, sizeof *rep);
	Frontdesk__V1__PhoneQueue **queues;
	int64_t queue, staff;
	size_t n;
	db_params p;

	if (!rep)
		return PHONE_NOMEM(ctx);
	if (req->penalty < 0 || req->penalty > 9)
		return fd_fail(&ctx->status, FD_INVALID_ARGUMENT, "the penalty must be 0-9");
	if (req->position < 0 || req->position > 1000)
		return fd_fail(&ctx->status, FD_INVALID_ARGUMENT, "the position must be 0-1000");
	if (phone_queue_id(ctx, req->queue, &queue) != FD_OK ||
	    phone_staff_id(ctx, req->username, &staff) != FD_OK)
		return ctx->status.code;
	dbp_init(&p);
	dbp_int(&p, queue);
	dbp_int(&p, staff);
	if (req->remove) {
		if (db_exec(ctx, "DELETE FROM phone_queue_members WHERE queue_id = $1 AND staff_id = $2",
			    &p) != FD_OK)
			return ctx->status.code;
	} else {
		dbp_int(&p, req->penalty);
		dbp_int(&p, req->position);
		if (db_exec(ctx,
			    "INSERT INTO phone_queue_members (queue_id, staff_id, penalty, position)"
			    " VALUES ($1, $2, $3, $4) ON CONFLICT (queue_id, staff_id)"
			    " DO UPDATE SET penalty = $3, position = $4",
			    &p) != FD_OK)
			return ctx->status.code;
	}
	if (load_queues(ctx, queue, &queues, &n) != FD_OK)
		return ctx->status.code;
	frontdesk__v1__phone_set_queue_member_reply__init(rep);
	rep->queue = queues[0];
	char *subject = fd_arena_printf(ctx->arena, "queue:%lld", (long long)queue);
	fd_ctx_audit(ctx, 0, subject);
	if (db_notify(ctx, "phone.queue", subject) != FD_OK)
		return ctx->status.code;
	*out = &rep->base;
	return FD_OK;
}

int handle_phone_set_extension(fd_ctx *ctx, const ProtobufCMessage *in, ProtobufCMessage **out)
{
	const Frontdesk__V1__PhoneSetExtensionRequest *req = (const void *)in;
	Frontdesk__V1__PhoneSetExtensionReply *rep = fd_arena_alloc(ctx->arena, sizeof *rep);
	size_t len = strlen(req->extension);
	int64_t staff;
	db_params p;

	if (!rep)
		return PHONE_NOMEM(ctx);
	if (len < 2 || len > 6 || strspn(req->extension, "0123456789") != len)
		return fd_fail(&ctx->status, FD_INVALID_ARGUMENT, "an extension is 2-6 digits");
	if (phone_staff_id(ctx, req->username, &staff) != FD_OK)
		return ctx->status.code;
	dbp_init(&p);
	dbp_int(&p, staff);
	dbp_text(&p, req->extension);
	if (db_exec(ctx,
		    "INSERT INTO phone_extensions (staff_id, extension) VALUES ($1, $2)"
		    " ON CONFLICT (staff_id) DO UPDATE SET extension = $2",
		    &p) != FD_OK)
		return ctx->status.code;
	fd_ctx_audit(ctx, 0, fd_arena_printf(ctx->arena, "staff:%lld", (long long)staff));
	frontdesk__v1__phone_set_extension_reply__init(rep);
	*out = &rep->base;
	return FD_OK;
}

/* --- presence --------------------------------------------------------- */

static const char presence_columns[] =
	"SELECT s.id, s.username, s.display_name, coalesce(p.state, 'offline'),"
	" coalesce(p.reason, ''), coalesce(d.code, ''),"
	" coalesce((extract(epoch FROM p.since) * 1000)::bigint, 0),"
	" coalesce((extract(epoch FROM p.wrap_up_until) * 1000)::bigint, 0),"
	" coalesce(e.extension, '')"
	" FROM staff s LEFT JOIN phone_presence p ON p.staff_id = s.id"
	" LEFT JOIN desks d ON d.id = p.desk_id"
	" LEFT JOIN phone_extensions e ON e.staff_id = s.id";

static Frontdesk__V1__PhonePresenceRecord *presence_from_row(fd_ctx *ctx, const PGresult *r,
							     int row)
{
	Frontdesk__V1__PhonePresenceRecord *pr = fd_arena_alloc(ctx->arena, sizeof *pr);

	if (!pr)
		return NULL;
	frontdesk__v1__phone_presence_record__init(pr);
	pr->staff_id = db_int(r, row, 0);
	pr->username = db_str(ctx->arena, r, row, 1);
	pr->display_name = db_str(ctx->arena, r, row, 2);
	pr->state = db_str(ctx->arena, r, row, 3);
	pr->reason = db_str(ctx->arena, r, row, 4);
	pr->desk = db_str(ctx->arena, r, row, 5);
	pr->since_unix_ms = db_int(r, row, 6);
	pr->wrap_up_until_unix_ms = db_int(r, row, 7);
	pr->extension = db_str(ctx->arena, r, row, 8);
	return pr;
}

/* Someone on a call cannot declare themselves available or away: the call
 * has to end first (wrap-up then runs its course). */
static int check_not_on_call(fd_ctx *ctx, int64_t staff)
{
	db_params p;
	PGresult *r;

	dbp_init(&p);
	dbp_int(&p, staff);
	if (!(r = db_query(ctx,
			   "SELECT 1 FROM phone_calls WHERE answered_by = $1"
			   " AND state IN ('connected', 'on_hold')",
			   &p)))
		return ctx->status.code;
	int busy = PQntuples(r);
	PQclear(r);
	if (busy)
		return fd_fail(&ctx->status, FD_FAILED_PRECONDITION,
			       "that staff member is on a call; end it first");
	return FD_OK;
}

int handle_phone_set_presence(fd_ctx *ctx, const ProtobufCMessage *in, ProtobufCMessage **out)
{
	static const char *const settable[] = { "available", "away", "offline", NULL };
	const Frontdesk__V1__PhoneSetPresenceRequest *req = (const void *)in;
	Frontdesk__V1__PhoneSetPresenceReply *rep = fd_arena_alloc(ctx->arena, sizeof *rep);
	int64_t staff = ctx->session->staff_id, desk = ctx->session->desk_id;
	char sql[1024];
	db_params p;
	PGresult *r;

	if (!rep)
		return PHONE_NOMEM(ctx);
	if (phone_check_word(ctx, "the presence", req->state, settable) != FD_OK)
		return ctx->status.code;
	if (*req->reason && strcmp(req->state, "away") != 0)
		return fd_fail(&ctx->status, FD_INVALID_ARGUMENT, "only 'away' takes a reason");
	if (*req->reason && fd_check_text(ctx, "the reason", req->reason, 1, 100, 0) != FD_OK)
		return ctx->status.code;
	if (*req->username && strcmp(req->username, ctx->session->username) != 0) {
		if (!(ctx->session->roles & ROLE_ADMIN))
			return fd_fail(&ctx->status, FD_PERMISSION_DENIED,
				       "only an admin may set someone else's presence");
		if (phone_staff_id(ctx, req->username, &staff) != FD_OK)
			return ctx->status.code;
		desk = 0; /* their own latest desk, below */
	}
	if (check_not_on_call(ctx, staff) != FD_OK)
		return ctx->status.code;
	dbp_init(&p);
	dbp_int(&p, staff);
	dbp_int(&p, desk);
	dbp_text(&p, req->state);
	dbp_text_or_null(&p, req->reason);
	r = db_query(ctx,
		     "WITH d AS (SELECT coalesce(nullif($2, 0),"
		     "   (SELECT desk_id FROM sessions WHERE staff_id = $1 AND ended_at IS NULL"
		     "     ORDER BY last_seen_at DESC LIMIT 1),"
		     "   (SELECT desk_id FROM phone_presence WHERE staff_id = $1)) AS desk_id)"
		     " INSERT INTO phone_presence AS pp (staff_id, state, reason, desk_id, since)"
		     " SELECT $1, $3, $4, d.desk_id, now() FROM d"
		     " WHERE $3 <> 'available' OR d.desk_id IS NOT NULL"
		     " ON CONFLICT (staff_id) DO UPDATE SET state = $3, reason = $4,"
		     "  desk_id = coalesce(excluded.desk_id, pp.desk_id), since = now(),"
		     "  wrap_up_until = NULL"
		     " RETURNING staff_id",
		     &p);
	if (!r)
		return ctx->status.code;
	int set = PQntuples(r);
	PQclear(r);
	if (!set)
		return fd_fail(&ctx->status, FD_FAILED_PRECONDITION,
			       "to be available, log in at a desk first");
	snprintf(sql, sizeof sql, "%s WHERE s.id = $1", presence_columns);
	dbp_init(&p);
	dbp_int(&p, staff);
	if (!(r = db_query(ctx, sql, &p)))
		return ctx->status.code;
	frontdesk__v1__phone_set_presence_reply__init(rep);
	rep->presence = presence_from_row(ctx, r, 0);
	PQclear(r);
	if (!rep->presence)
		return PHONE_NOMEM(ctx);
	char *subject = fd_arena_printf(ctx->arena, "staff:%lld", (long long)staff);
	if (db_notify(ctx, "phone.presence", subject) != FD_OK)
		return ctx->status.code;
	*out = &rep->base;
	return FD_OK;
}

int handle_phone_list_presence(fd_ctx *ctx, const ProtobufCMessage *in, ProtobufCMessage **out)
{
	Frontdesk__V1__PhoneListPresenceReply *rep = fd_arena_alloc(ctx->arena, sizeof *rep);
	char sql[1024];
	PGresult *r;

	(void)in;
	if (!rep)
		return PHONE_NOMEM(ctx);
	snprintf(sql, sizeof sql, "%s WHERE s.active ORDER BY s.username", presence_columns);
	if (!(r = db_query(ctx, sql, NULL)))
		return ctx->status.code;
	frontdesk__v1__phone_list_presence_reply__init(rep);
	rep->n_presence = (size_t)PQntuples(r);
	rep->presence = fd_arena_alloc(ctx->arena, (rep->n_presence + 1) * sizeof *rep->presence);
	for (size_t i = 0; rep->presence && i < rep->n_presence; i++)
		if (!(rep->presence[i] = presence_from_row(ctx, r, (int)i)))
			rep->presence = NULL;
	PQclear(r);
	if (!rep->presence)
		return PHONE_NOMEM(ctx);
	*out = &rep->base;
	return FD_OK;
}
