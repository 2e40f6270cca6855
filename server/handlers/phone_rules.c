/*
 * Routing rules as data and the time conditions they consult: opening
 * hours with a lunch closure, holidays, manual overrides ("closed for
 * weather"), the on-call rota, listed numbers (pharmacies, hospitals). And
 * the evaluation itself: the facts about one call (the location's time
 * state, patients on the caller's number, a listed number, who is on call)
 * are read once, then the rules are walked in priority order in C, each
 * leaving a line in the trace, until one whose condition holds can act.
 * A rule set must always keep a fallback; saving one without it is refused.
 */
#include <stdio.h>
#include <string.h>

#include "phone.h"
#include "validate.h"
#include "util.h"

int handle_phone_add_rule(fd_ctx *ctx, const ProtobufCMessage *in, ProtobufCMessage **out);
int handle_phone_list_rules(fd_ctx *ctx, const ProtobufCMessage *in, ProtobufCMessage **out);
int handle_phone_delete_rule(fd_ctx *ctx, const ProtobufCMessage *in, ProtobufCMessage **out);
int handle_phone_set_hours(fd_ctx *ctx, const ProtobufCMessage *in, ProtobufCMessage **out);
int handle_phone_add_holiday(fd_ctx *ctx, const ProtobufCMessage *in, ProtobufCMessage **out);
int handle_phone_set_override(fd_ctx *ctx, const ProtobufCMessage *in, ProtobufCMessage **out);
int handle_phone_add_on_call(fd_ctx *ctx, const ProtobufCMessage *in, ProtobufCMessage **out);
int handle_phone_list_on_call(fd_ctx *ctx, const ProtobufCMessage *in, ProtobufCMessage **out);
int handle_phone_add_listed_number(fd_ctx *ctx, const ProtobufCMessage *in, ProtobufCMessage **out);
int handle_phone_route(fd_ctx *ctx, const ProtobufCMessage *in, ProtobufCMessage **out);

static const char *const conditions[] = { "always", "open", "closed", "after_hours", "lunch",
					  "holiday", "override", "caller_patient",
					  "caller_patient_today", "caller_listed", "menu", NULL };
static const char *const actions[] = { "queue", "listed_queue", "on_call", "answering_service",
				       "voicemail", "message", NULL };

/* A fallback always decides: no condition, every line, an action that
 * cannot come up empty (on-call can: nobody may be on the rota). */
static bool is_fallback(const char *condition, const char *line, const char *action)
{
	return strcmp(condition, "always") == 0 && !*line &&
	       (strcmp(action, "queue") == 0 || strcmp(action, "voicemail") == 0 ||
		strcmp(action, "message") == 0 || strcmp(action, "answering_service") == 0);
}

static int count_fallbacks(fd_ctx *ctx, const char *except_name, long long *n)
{
	db_params p;
	PGresult *r;

	dbp_init(&p);
	dbp_text(&p, except_name);
	if (!(r = db_query(ctx,
			   "SELECT count(*) FROM phone_rules WHERE condition = 'always'"
			   " AND line_id IS NULL AND name <> $1"
			   " AND action IN ('queue', 'voicemail', 'message', 'answering_service')",
			   &p)))
		return ctx->status.code;
	*n = db_int(r, 0, 0);
	PQclear(r);
	return FD_OK;
}

static const char rule_columns[] =
	"SELECT r.id, r.name, r.priority, coalesce(l.code, ''), r.condition,"
	" coalesce(r.menu_choice, ''), r.action, coalesce(q.code, ''),"
	" coalesce(r.number_e164, ''), coalesce(r.voicemail_box, ''), r.line_id, r.queue_id"
	" FROM phone_rules r LEFT JOIN phone_lines l ON l.id = r.line_id"
	" LEFT JOIN phone_queues q ON q.id = r.queue_id";

static Frontdesk__V1__PhoneRule *rule_from_row(fd_ctx *ctx, const PGresult *r, int row)
{
	Frontdesk__V1__PhoneRule *rule = fd_arena_alloc(ctx->arena, sizeof *rule);

	if (!rule)
		return NULL;
	frontdesk__v1__phone_rule__init(rule);
	rule->id = db_int(r, row, 0);
	rule->name = db_str(ctx->arena, r, row, 1);
	rule->priority = (int32_t)db_int(r, row, 2);
	rule->line = db_str(ctx->arena, r, row, 3);
	rule->condition = db_str(ctx->arena, r, row, 4);
	rule->menu_choice = db_str(ctx->arena, r, row, 5);
	rule->action = db_str(ctx->arena, r, row, 6);
	rule->queue = db_str(ctx->arena, r, row, 7);
	rule->number = db_str(ctx->arena, r, row, 8);
	rule->voicemail_box = db_str(ctx->arena, r, row, 9);
	return rule;
}

/* The parts of a rule that depend on its action must match it exactly. */
static int check_rule_shape(fd_ctx *ctx, const Frontdesk__V1__PhoneRule *rule)
{
	bool wants_queue = strcmp(rule->action, "queue") == 0 || strcmp(rule->action, "message") == 0;

	if (fd_check_code(ctx, "the rule name", rule->name) != FD_OK ||
	    phone_check_word(ctx, "the condition", rule->condition, conditions) != FD_OK ||
	    phone_check_word(ctx, "the action", rule->action, actions) != FD_OK)
		return ctx->status.code;
	if (rule->priority < 1 || rule->priority > 10000)
		return fd_fail(&ctx->status, FD_INVALID_ARGUMENT, "the priority must be 1-10000");
	if ((strcmp(rule->condition, "menu") == 0) != (*rule->menu_choice != '\0'))
		return fd_fail(&ctx->status, FD_INVALID_ARGUMENT,
			       "a menu choice goes with the condition 'menu', and only with it");
	if (*rule->menu_choice && fd_check_code(ctx, "the menu choice", rule->menu_choice) != FD_OK)
		return ctx->status.code;
	if (wants_queue != (*rule->queue != '\0'))
		return fd_fail(&ctx->status, FD_INVALID_ARGUMENT,
			       "actions 'queue' and 'message' need a queue; others take none");
	if ((strcmp(rule->action, "answering_service") == 0) != (*rule->number != '\0'))
		return fd_fail(&ctx->status, FD_INVALID_ARGUMENT,
			       "the action 'answering_service' needs a number; others take none");
	if (*rule->number && phone_check_e164(ctx, "the answering service number", rule->number) != FD_OK)
		return ctx->status.code;
	if ((strcmp(rule->action, "voicemail") == 0) != (*rule->voicemail_box != '\0'))
		return fd_fail(&ctx->status, FD_INVALID_ARGUMENT,
			       "the action 'voicemail' needs a voicemail box; others take none");
	if (*rule->voicemail_box &&
	    fd_check_code(ctx, "the voicemail box", rule->voicemail_box) != FD_OK)
		return ctx->status.code;
	if (strcmp(rule->action, "listed_queue") == 0 && strcmp(rule->condition, "caller_listed") != 0)
		return fd_fail(&ctx->status, FD_INVALID_ARGUMENT,
			       "the action 'listed_queue' goes with the condition 'caller_listed'");
	return FD_OK;
}

int handle_phone_add_rule(fd_ctx *ctx, const ProtobufCMessage *in, ProtobufCMessage **out)
{
	const Frontdesk__V1__PhoneAddRuleRequest *req = (const void *)in;
	Frontdesk__V1__PhoneAddRuleReply *rep = fd_arena_alloc(ctx->arena, sizeof *rep);
	const Frontdesk__V1__PhoneRule *rule = req->rule;
	int64_t line = 0, queue = 0;
	long long fallbacks = 0;
	char sql[1024];
	db_params p;
	PGresult *r;

	if (!rep)
		return PHONE_NOMEM(ctx);
	if (!rule)
		return fd_fail(&ctx->status, FD_INVALID_ARGUMENT, "give the rule to add");
	if (check_rule_shape(ctx, rule) != FD_OK)
		return ctx->status.code;
	if (*rule->line) {
		db_params lp;
		dbp_init(&lp);
		dbp_text(&lp, rule->line);
		if (!(r = db_query(ctx, "SELECT id FROM phone_lines WHERE code = $1", &lp)))
			return ctx->status.code;
		line = PQntuples(r) ? db_int(r, 0, 0) : 0;
		PQclear(r);
		if (!line)
			return fd_fail(&ctx->status, FD_NOT_FOUND, "no phone line has that code");
	}
	if (*rule->queue && phone_queue_id(ctx, rule->queue, &queue) != FD_OK)
		return ctx->status.code;
	if (count_fallbacks(ctx, "", &fallbacks) != FD_OK)
		return ctx->status.code;
	if (!fallbacks && !is_fallback(rule->condition, rule->line, rule->action))
		return fd_fail(&ctx->status, FD_FAILED_PRECONDITION,
			       "the rules have no fallback yet: add one first (condition 'always', every"
			       " line, action queue, voicemail, message or answering_service)");
	dbp_init(&p);
	dbp_text(&p, rule->name);
	dbp_int(&p, rule->priority);
	dbp_int(&p, line);
	dbp_text(&p, rule->condition);
	dbp_text_or_null(&p, rule->menu_choice);
	dbp_text(&p, rule->action);
	dbp_int(&p, queue);
	dbp_text_or_null(&p, rule->number);
	dbp_text_or_null(&p, rule->voicemail_box);
	if (db_exec(ctx,
		    "INSERT INTO phone_rules (name, priority, line_id, condition, menu_choice, action,"
		    " queue_id, number_e164, voicemail_box)"
		    " VALUES ($1, $2, nullif($3, 0), $4, $5, $6, nullif($7, 0), $8, $9)",
		    &p) != FD_OK)
		return ctx->status.code;
	snprintf(sql, sizeof sql, "%s WHERE r.name = $1", rule_columns);
	dbp_init(&p);
	dbp_text(&p, rule->name);
	if (!(r = db_query(ctx, sql, &p)))
		return ctx->status.code;
	frontdesk__v1__phone_add_rule_reply__init(rep);
	rep->rule = rule_from_row(ctx, r, 0);
	PQclear(r);
	if (!rep->rule)
		return PHONE_NOMEM(ctx);
	char *subject = fd_arena_printf(ctx->arena, "rule:%lld", (long long)rep->rule->id);
	fd_ctx_audit(ctx, 0, subject);
	if (db_notify(ctx, "phone.rules", subject) != FD_OK)
		return ctx->status.code;
	*out = &rep->base;
	return FD_OK;
}

int handle_phone_list_rules(fd_ctx *ctx, const ProtobufCMessage *in, ProtobufCMessage **out)
{
	Frontdesk__V1__PhoneListRulesReply *rep = fd_arena_alloc(ctx->arena, sizeof *rep);
	char sql[1024];
	PGresult *r;

	(void)in;
	if (!rep)
		return PHONE_NOMEM(ctx);
	snprintf(sql, sizeof sql, "%s ORDER BY r.priority", rule_columns);
	if (!(r = db_query(ctx, sql, NULL)))
		return ctx->status.code;
	frontdesk__v1__phone_list_rules_reply__init(rep);
	rep->n_rules = (size_t)PQntuples(r);
	rep->rules = fd_arena_alloc(ctx->arena, (rep->n_rules + 1) * sizeof *rep->rules);
	for (size_t i = 0; rep->rules && i < rep->n_rules; i++)
		if (!(rep->rules[i] = rule_from_row(ctx, r, (int)i)))
			rep->rules = NULL;
	PQclear(r);
	if (!rep->rules)
		return PHONE_NOMEM(ctx);
	*out = &rep->base;
	return FD_OK;
}

int handle_phone_delete_rule(fd_ctx *ctx, const ProtobufCMessage *in, ProtobufCMessage **out)
{
	const Frontdesk__V1__PhoneDeleteRuleRequest *req = (const void *)in;
	Frontdesk__V1__PhoneDeleteRuleReply *rep = fd_arena_alloc(ctx->arena, sizeof *rep);
	long long fallbacks = 0;
	db_params p;
	PGresult *r;

	if (!rep)
		return PHONE_NOMEM(ctx);
	if (fd_check_code(ctx, "the rule name", req->name) != FD_OK ||
	    count_fallbacks(ctx, req->name, &fallbacks) != FD_OK)
		return ctx->status.code;
	dbp_init(&p);
	dbp_text(&p, req->name);
	if (!(r = db_query(ctx,
			   "SELECT (SELECT count(*) FROM phone_rules WHERE name = $1),"
			   " (SELECT count(*) FROM phone_rules WHERE name <> $1)",
			   &p)))
		return ctx->status.code;
	long long found = db_int(r, 0, 0), others = db_int(r, 0, 1);
	PQclear(r);
	if (!found)
		return fd_fail(&ctx->status, FD_NOT_FOUND, "no routing rule has that name");
	if (others && !fallbacks)
		return fd_fail(&ctx->status, FD_FAILED_PRECONDITION,
			       "that is the last fallback rule; add another fallback before removing it");
	if (db_exec(ctx, "DELETE FROM phone_rules WHERE name = $1", &p) != FD_OK)
		return ctx->status.code;
	fd_ctx_audit(ctx, 0, fd_arena_printf(ctx->arena, "rule:%s", req->name));
	if (db_notify(ctx, "phone.rules", "rules") != FD_OK)
		return ctx->status.code;
	frontdesk__v1__phone_delete_rule_reply__init(rep);
	*out = &rep->base;
	return FD_OK;
}

/* --- time conditions ---------------------------------------------------- */

/* "HH:MM", 00:00-23:59. */
static int check_clock(fd_ctx *ctx, const char *what, const char *t)
{
	if (strlen(t) != 5 || t[2] != ':' || t[0] < '0' || t[0] > '2' || t[1] < '0' || t[1] > '9' ||
	    t[3] < '0' || t[3] > '5' || t[4] < '0' || t[4] > '9' || (t[0] == '2' && t[1] > '3'))
		return fd_fail(&ctx->status, FD_INVALID_ARGUMENT, "%s must be a time like 08:30", what);
	return FD_OK;
}

int handle_phone_set_hours(fd_ctx *ctx, const ProtobufCMessage *in, ProtobufCMessage **out)
{
	const Frontdesk__V1__PhoneSetHoursRequest *req = (const void *)in;
	Frontdesk__V1__PhoneSetHoursReply *rep = fd_arena_alloc(ctx->arena, sizeof *rep);
	int64_t location;
	db_params p;

	if (!rep)
		return PHONE_NOMEM(ctx);
	if (req->weekday < 1 || req->weekday > 7)
		return fd_fail(&ctx->status, FD_INVALID_ARGUMENT,
			       "the weekday must be 1 (Monday) to 7 (Sunday)");
	if (phone_location_id(ctx, req->location, &location) != FD_OK)
		return ctx->status.code;
	dbp_init(&p);
	dbp_int(&p, location);
	dbp_int(&p, req->weekday);
	if (req->closed) {
		if (db_exec(ctx, "DELETE FROM phone_hours WHERE location_id = $1 AND weekday = $2",
			    &p) != FD_OK)
			return ctx->status.code;
	} else {
		if (check_clock(ctx, "the opening time", req->opens) != FD_OK ||
		    check_clock(ctx, "the closing time", req->closes) != FD_OK ||
		    (*req->lunch_starts && check_clock(ctx, "the lunch start", req->lunch_starts) != FD_OK) ||
		    (*req->lunch_ends && check_clock(ctx, "the lunch end", req->lunch_ends) != FD_OK))
			return ctx->status.code;
		if (!*req->lunch_starts != !*req->lunch_ends)
			return fd_fail(&ctx->status, FD_INVALID_ARGUMENT,
				       "a lunch closure needs both its start and its end");
		/* Fixed-width HH:MM strings compare in time order. */
		if (strcmp(req->opens, req->closes) >= 0 ||
		    (*req->lunch_starts && (strcmp(req->opens, req->lunch_starts) >= 0 ||
					    strcmp(req->lunch_starts, req->lunch_ends) >= 0 ||
					    strcmp(req->lunch_ends, req->closes) >= 0)))
			return fd_fail(&ctx->status, FD_INVALID_ARGUMENT,
				       "times must run opens < lunch start < lunch end < closes");
		dbp_text(&p, req->opens);
		dbp_text(&p, req->closes);
		dbp_text_or_null(&p, req->lunch_starts);
		dbp_text_or_null(&p, req->lunch_ends);
		if (db_exec(ctx,
			    "INSERT INTO phone_hours (location_id, weekday, opens, closes, lunch_starts,"
			    " lunch_ends) VALUES ($1, $2, $3::time, $4::time, $5::time, $6::time)"
			    " ON CONFLICT (location_id, weekday) DO UPDATE SET opens = $3::time,"
			    " closes = $4::time, lunch_starts = $5::time, lunch_ends = $6::time",
			    &p) != FD_OK)
			return ctx->status.code;
	}
	fd_ctx_audit(ctx, 0, fd_arena_printf(ctx->arena, "location:%lld", (long long)location));
	frontdesk__v1__phone_set_hours_reply__init(rep);
	*out = &rep->base;
	return FD_OK;
}

int handle_phone_add_holiday(fd_ctx *ctx, const ProtobufCMessage *in, ProtobufCMessage **out)
{
	const Frontdesk__V1__PhoneAddHolidayRequest *req = (const void *)in;
	Frontdesk__V1__PhoneAddHolidayReply *rep = fd_arena_alloc(ctx->arena, sizeof *rep);
	int64_t location;
	db_params p;

	if (!rep)
		return PHONE_NOMEM(ctx);
	if (fd_check_text(ctx, "the holiday name", req->name, 1, 200, 0) != FD_OK ||
	    phone_location_id(ctx, req->location, &location) != FD_OK)
		return ctx->status.code;
	if (fd_check_date(ctx, "the date", req->date) != FD_OK)
		return ctx->status.code;
	dbp_init(&p);
	dbp_int(&p, location);
	dbp_text(&p, req->date);
	dbp_text(&p, req->name);
	if (db_exec(ctx,
		    "INSERT INTO phone_holidays (location_id, day, name) VALUES ($1, $2::date, $3)"
		    " ON CONFLICT (location_id, day) DO UPDATE SET name = $3",
		    &p) != FD_OK)
		return ctx->status.code;
	fd_ctx_audit(ctx, 0, fd_arena_printf(ctx->arena, "location:%lld", (long long)location));
	frontdesk__v1__phone_add_holiday_reply__init(rep);
	*out = &rep->base;
	return FD_OK;
}

int handle_phone_set_override(fd_ctx *ctx, const ProtobufCMessage *in, ProtobufCMessage **out)
{
	static const char *const states[] = { "closed", "open", NULL };
	const Frontdesk__V1__PhoneSetOverrideRequest *req = (const void *)in;
	Frontdesk__V1__PhoneSetOverrideReply *rep = fd_arena_alloc(ctx->arena, sizeof *rep);
	int64_t location;
	db_params p;

	if (!rep)
		return PHONE_NOMEM(ctx);
	if (phone_location_id(ctx, req->location, &location) != FD_OK)
		return ctx->status.code;
	dbp_init(&p);
	dbp_int(&p, location);
	/* Whatever override is in force ends now: a new one replaces it. */
	if (db_exec(ctx,
		    "UPDATE phone_overrides SET ends_at = now() WHERE location_id = $1"
		    " AND starts_at < now() AND ends_at > now()",
		    &p) != FD_OK ||
	    db_exec(ctx, "DELETE FROM phone_overrides WHERE location_id = $1 AND starts_at >= now()",
		    &p) != FD_OK)
		return ctx->status.code;
	if (!req->clear) {
		if (phone_check_word(ctx, "the override", req->state, states) != FD_OK ||
		    fd_check_text(ctx, "the reason", req->reason, 1, 200, 0) != FD_OK)
			return ctx->status.code;
		if (req->until_unix_ms && req->until_unix_ms <= fd_now_unix_ms())
			return fd_fail(&ctx->status, FD_INVALID_ARGUMENT,
				       "the override must end in the future");
		dbp_text(&p, req->state);
		dbp_text(&p, req->reason);
		dbp_int(&p, req->until_unix_ms);
		if (db_exec(ctx,
			    "INSERT INTO phone_overrides (location_id, state, reason, starts_at, ends_at)"
			    " VALUES ($1, $2, $3, now(), CASE WHEN $4::bigint = 0 THEN 'infinity'"
			    " ELSE to_timestamp($4 / 1000.0) END)",
			    &p) != FD_OK)
			return ctx->status.code;
	}
	char *subject = fd_arena_printf(ctx->arena, "location:%lld", (long long)location);
	fd_ctx_audit(ctx, 0, subject);
	if (db_notify(ctx, "phone.override", subject) != FD_OK)
		return ctx->status.code;
	frontdesk__v1__phone_set_override_reply__init(rep);
	*out = &rep->base;
	return FD_OK;
}

static const char on_call_columns[] =
	"SELECT o.id, l.code, s.username, s.display_name, o.number_e164,"
	" (extract(epoch FROM o.starts_at) * 1000)::bigint,"
	" (extract(epoch FROM o.ends_at) * 1000)::bigint"
	" FROM phone_on_call o JOIN locations l ON l.id = o.location_id"
	" JOIN staff s ON s.id = o.staff_id";

static Frontdesk__V1__PhoneOnCallEntry *on_call_from_row(fd_ctx *ctx, const PGresult *r, int row)
{
	Frontdesk__V1__PhoneOnCallEntry *e = fd_arena_alloc(ctx->arena, sizeof *e);

	if (!e)
		return NULL;
	frontdesk__v1__phone_on_call_entry__init(e);
	e->id = db_int(r, row, 0);
	e->location = db_str(ctx->arena, r, row, 1);
	e->username = db_str(ctx->arena, r, row, 2);
	e->display_name = db_str(ctx->arena, r, row, 3);
	e->number = db_str(ctx->arena, r, row, 4);
	e->starts_unix_ms = db_int(r, row, 5);
	e->ends_unix_ms = db_int(r, row, 6);
	return e;
}

int handle_phone_add_on_call(fd_ctx *ctx, const ProtobufCMessage *in, ProtobufCMessage **out)
{
	const Frontdesk__V1__PhoneAddOnCallRequest *req = (const void *)in;
	Frontdesk__V1__PhoneAddOnCallReply *rep = fd_arena_alloc(ctx->arena, sizeof *rep);
	const Frontdesk__V1__PhoneOnCallEntry *e = req->entry;
	int64_t location, staff;
	char sql[1024];
	db_params p;
	PGresult *r;

	if (!rep)
		return PHONE_NOMEM(ctx);
	if (!e)
		return fd_fail(&ctx->status, FD_INVALID_ARGUMENT, "give the on-call entry");
	if (phone_check_e164(ctx, "the on-call number", e->number) != FD_OK ||
	    phone_location_id(ctx, e->location, &location) != FD_OK ||
	    phone_staff_id(ctx, e->username, &staff) != FD_OK)
		return ctx->status.code;
	if (e->starts_unix_ms <= 0 || e->ends_unix_ms <= e->starts_unix_ms)
		return fd_fail(&ctx->status, FD_INVALID_ARGUMENT, "an on-call entry must end after it starts");
	dbp_init(&p);
	dbp_int(&p, location);
	dbp_int(&p, e->starts_unix_ms);
	dbp_int(&p, e->ends_unix_ms);
	if (!(r = db_query(ctx,
			   "SELECT 1 FROM phone_on_call WHERE location_id = $1 AND tstzrange(starts_at,"
			   " ends_at) && tstzrange(to_timestamp($2 / 1000.0), to_timestamp($3 / 1000.0))",
			   &p)))
		return ctx->status.code;
	int overlaps = PQntuples(r);
	PQclear(r);
	if (overlaps)
		return fd_fail(&ctx->status, FD_FAILED_PRECONDITION,
			       "that time overlaps another on-call entry for this location");
	dbp_int(&p, staff);
	dbp_text(&p, e->number);
	if (!(r = db_query(ctx,
			   "INSERT INTO phone_on_call (location_id, starts_at, ends_at, staff_id, number_e164)"
			   " VALUES ($1, to_timestamp($2 / 1000.0), to_timestamp($3 / 1000.0), $4, $5)"
			   " RETURNING id",
			   &p)))
		return ctx->status.code;
	int64_t id = db_int(r, 0, 0);
	PQclear(r);
	snprintf(sql, sizeof sql, "%s WHERE o.id = $1", on_call_columns);
	dbp_init(&p);
	dbp_int(&p, id);
	if (!(r = db_query(ctx, sql, &p)))
		return ctx->status.code;
	frontdesk__v1__phone_add_on_call_reply__init(rep);
	rep->entry = on_call_from_row(ctx, r, 0);
	PQclear(r);
	if (!rep->entry)
		return PHONE_NOMEM(ctx);
	fd_ctx_audit(ctx, 0, fd_arena_printf(ctx->arena, "on_call:%lld", (long long)id));
	*out = &rep->base;
	return FD_OK;
}

int handle_phone_list_on_call(fd_ctx *ctx, const ProtobufCMessage *in, ProtobufCMessage **out)
{
	Frontdesk__V1__PhoneListOnCallReply *rep = fd_arena_alloc(ctx->arena, sizeof *rep);
	char sql[1024];
	PGresult *r;

	(void)in;
	if (!rep)
		return PHONE_NOMEM(ctx);
	snprintf(sql, sizeof sql, "%s WHERE o.ends_at > now() ORDER BY o.starts_at", on_call_columns);
	if (!(r = db_query(ctx, sql, NULL)))
		return ctx->status.code;
	frontdesk__v1__phone_list_on_call_reply__init(rep);
	rep->n_entries = (size_t)PQntuples(r);
	rep->entries = fd_arena_alloc(ctx->arena, (rep->n_entries + 1) * sizeof *rep->entries);
	for (size_t i = 0; rep->entries && i < rep->n_entries; i++)
		if (!(rep->entries[i] = on_call_from_row(ctx, r, (int)i)))
			rep->entries = NULL;
	PQclear(r);
	if (!rep->entries)
		return PHONE_NOMEM(ctx);
	*out = &rep->base;
	return FD_OK;
}

int handle_phone_add_listed_number(fd_ctx *ctx, const ProtobufCMessage *in, ProtobufCMessage **out)
{
	const Frontdesk__V1__PhoneAddListedNumberRequest *req = (const void *)in;
	Frontdesk__V1__PhoneAddListedNumberReply *rep = fd_arena_alloc(ctx->arena, sizeof *rep);
	int64_t queue;
	db_params p;

	if (!rep)
		return PHONE_NOMEM(ctx);
	if (phone_check_e164(ctx, "the number", req->number) != FD_OK ||
	    fd_check_text(ctx, "the name", req->name, 1, 200, 0) != FD_OK ||
	    phone_queue_id(ctx, req->queue, &queue) != FD_OK)
		return ctx->status.code;
	dbp_init(&p);
	dbp_text(&p, req->number);
	dbp_text(&p, req->name);
	dbp_int(&p, queue);
	if (db_exec(ctx,
		    "INSERT INTO phone_listed_numbers (number_e164, name, queue_id) VALUES ($1, $2, $3)"
		    " ON CONFLICT (number_e164) DO UPDATE SET name = $2, queue_id = $3",
		    &p) != FD_OK)
		return ctx->status.code;
	fd_ctx_audit(ctx, 0, "listed_numbers");
	frontdesk__v1__phone_add_listed_number_reply__init(rep);
	*out = &rep->base;
	return FD_OK;
}

/* --- evaluation ----------------------------------------------------------- */

/* What is true about one call, read before any rule is looked at. */
struct route_facts {
	int64_t line_id, location_id;
	const char *time_state, *time_reason;
	long long patients;
	bool patient_today;
	int64_t listed_queue_id;
	const char *listed_name, *listed_queue;
	const char *on_call_number, *on_call_name;
	const char *menu;
};

/* An appointment today for any patient on the number. The appointments
 * table belongs to scheduling and may not exist yet: looked up by name
 * first, so this file works with or without it. */
static int patient_has_appointment_today(fd_ctx *ctx, const char *from, int64_t location,
					 const char *at, bool *today)
{
	db_params p;
	PGresult *r;

	*today = false;
	if (!(r = db_query(ctx, "SELECT to_regclass('appointments') IS NOT NULL", NULL)))
		return ctx->status.code;
	bool exists = db_bool(r, 0, 0);
	PQclear(r);
	if (!exists)
		return FD_OK;
	dbp_init(&p);
	dbp_text(&p, from);
	dbp_int(&p, location);
	dbp_text(&p, at);
	if (!(r = db_query(ctx,
			   "SELECT EXISTS (SELECT 1 FROM appointments a JOIN patients pt ON pt.id = a.patient_id,"
			   "  locations l WHERE l.id = $2 AND pt.phone_e164 = $1 AND pt.merged_into IS NULL"
			   "  AND a.status NOT IN ('cancelled', 'no_show', 'rescheduled')"
			   "  AND (a.starts_at AT TIME ZONE l.time_zone)::date ="
			   "      ($3::timestamptz AT TIME ZONE l.time_zone)::date)",
			   &p)))
		return ctx->status.code;
	*today = db_bool(r, 0, 0);
	PQclear(r);
	return FD_OK;
}

static int read_facts(fd_ctx *ctx, const char *from, const char *line, const char *at,
		      struct route_facts *f)
{
	db_params p;
	PGresult *r;

	dbp_init(&p);
	dbp_text(&p, line);
	dbp_text(&p, from);
	dbp_text(&p, at);
	r = db_query(ctx,
		     "SELECT pl.id, pl.location_id, ts.state, ts.reason,"
		     " (SELECT count(*) FROM patients WHERE phone_e164 = $2 AND merged_into IS NULL),"
		     " coalesce(ln.queue_id, 0), coalesce(ln.name, ''), coalesce(lq.code, ''),"
		     " coalesce(oc.number_e164, ''), coalesce(ocs.display_name, '')"
		     " FROM phone_lines pl"
		     " CROSS JOIN LATERAL phone_time_state(pl.location_id, $3::timestamptz) ts"
		     " LEFT JOIN phone_listed_numbers ln ON ln.number_e164 = $2"
		     " LEFT JOIN phone_queues lq ON lq.id = ln.queue_id"
		     " LEFT JOIN phone_on_call oc ON oc.location_id = pl.location_id"
		     "   AND oc.starts_at <= $3::timestamptz AND $3::timestamptz < oc.ends_at"
		     " LEFT JOIN staff ocs ON ocs.id = oc.staff_id"
		     " WHERE pl.code = $1",
		     &p);
	if (!r)
		return ctx->status.code;
	if (PQntuples(r) != 1) {
		PQclear(r);
		return fd_fail(&ctx->status, FD_NOT_FOUND, "no phone line has that code");
	}
	f->line_id = db_int(r, 0, 0);
	f->location_id = db_int(r, 0, 1);
	f->time_state = db_str(ctx->arena, r, 0, 2);
	f->time_reason = db_str(ctx->arena, r, 0, 3);
	f->patients = db_int(r, 0, 4);
	f->listed_queue_id = db_int(r, 0, 5);
	f->listed_name = db_str(ctx->arena, r, 0, 6);
	f->listed_queue = db_str(ctx->arena, r, 0, 7);
	f->on_call_number = db_str(ctx->arena, r, 0, 8);
	f->on_call_name = db_str(ctx->arena, r, 0, 9);
	PQclear(r);
	if (f->patients)
		return patient_has_appointment_today(ctx, from, f->location_id, at, &f->patient_today);
	return FD_OK;
}

/* Whether a rule's condition holds; *why says so in words either way. */
static bool condition_holds(fd_ctx *ctx, const struct route_facts *f, const char *cond,
			    const char *menu_choice, const char **why)
{
	bool open = strcmp(f->time_state, "open") == 0;

	if (strcmp(cond, "always") == 0) {
		*why = "always";
		return true;
	}
	if (strcmp(cond, "open") == 0 || strcmp(cond, "closed") == 0 ||
	    strcmp(cond, "after_hours") == 0 || strcmp(cond, "lunch") == 0 ||
	    strcmp(cond, "holiday") == 0 || strcmp(cond, "override") == 0) {
		*why = f->time_reason;
		if (strcmp(cond, "closed") == 0)
			return !open;
		return strcmp(cond, f->time_state) == 0;
	}
	if (strcmp(cond, "caller_patient") == 0) {
		*why = fd_arena_printf(ctx->arena, "%lld patient(s) on the caller's number", f->patients);
		return f->patients > 0;
	}
	if (strcmp(cond, "caller_patient_today") == 0) {
		*why = f->patient_today ? "a patient on the number has an appointment today"
					: "no appointment today for a patient on the number";
		return f->patient_today;
	}
	if (strcmp(cond, "caller_listed") == 0) {
		*why = f->listed_queue_id ? fd_arena_printf(ctx->arena, "listed number: %s", f->listed_name)
					  : "not a listed number";
		return f->listed_queue_id != 0;
	}
	/* menu */
	*why = *f->menu ? fd_arena_printf(ctx->arena, "menu choice %s", f->menu) : "no menu choice";
	return strcmp(menu_choice, f->menu) == 0;
}

/* Fills the decision from a rule whose condition holds; false when the
 * action cannot be carried out (nobody on call), so the next rule is tried. */
static bool take_action(fd_ctx *ctx, const struct route_facts *f, const PGresult *r, int row,
			struct phone_route *out, const char **why)
{
	Frontdesk__V1__PhoneRouteDecision *d = out->decision;
	const char *action = PQgetvalue(r, row, 6);

	if (strcmp(action, "on_call") == 0) {
		if (!*f->on_call_number) {
			*why = "nobody is on call now";
			return false;
		}
		d->forward_to = (char *)f->on_call_number;
		*why = fd_arena_printf(ctx->arena, "on call: %s", f->on_call_name);
	} else if (strcmp(action, "listed_queue") == 0) {
		d->queue = (char *)f->listed_queue;
		out->queue_id = f->listed_queue_id;
		action = "queue";
	} else if (strcmp(action, "answering_service") == 0) {
		d->forward_to = db_str(ctx->arena, r, row, 8);
	} else if (strcmp(action, "voicemail") == 0) {
		d->voicemail_box = db_str(ctx->arena, r, row, 9);
	} else {
		d->queue = db_str(ctx->arena, r, row, 7);
		out->queue_id = db_int(r, row, 11);
	}
	d->action = fd_arena_strdup(ctx->arena, action);
	return true;
}

int phone_route_evaluate(fd_ctx *ctx, const char *from, const char *line, const char *menu,
			 int64_t at_unix_ms, struct phone_route *out)
{
	Frontdesk__V1__PhoneRouteDecision *d = fd_arena_alloc(ctx->arena, sizeof *d);
	struct route_facts f = { .menu = menu };
	char sql[1024];
	const char *at;
	db_params tp;
	PGresult *r;

	if (!d)
		return PHONE_NOMEM(ctx);
	frontdesk__v1__phone_route_decision__init(d);
	memset(out, 0, sizeof *out);
	out->decision = d;
	if (phone_check_e164(ctx, "the caller's number", from) != FD_OK ||
	    fd_check_code(ctx, "the line", line) != FD_OK ||
	    (*menu && fd_check_code(ctx, "the menu choice", menu) != FD_OK))
		return ctx->status.code;
	/* One instant for every fact: the transaction's now() or the time asked. */
	dbp_init(&tp);
	dbp_int(&tp, at_unix_ms);
	if (!(r = db_query(ctx,
			   "SELECT (CASE WHEN $1::bigint = 0 THEN now() ELSE to_timestamp($1 / 1000.0) END)::text",
			   &tp)))
		return ctx->status.code;
	at = db_str(ctx->arena, r, 0, 0);
	PQclear(r);
	if (read_facts(ctx, from, line, at, &f) != FD_OK)
		return ctx->status.code;
	out->line_id = f.line_id;
	out->location_id = f.location_id;
	d->time_state = (char *)f.time_state;
	d->matched_patients = (int32_t)f.patients;
	snprintf(sql, sizeof sql, "%s ORDER BY r.priority", rule_columns);
	if (!(r = db_query(ctx, sql, NULL)))
		return ctx->status.code;
	int n = PQntuples(r);
	d->trace = fd_arena_alloc(ctx->arena, ((size_t)n + 1) * sizeof *d->trace);
	if (!d->trace) {
		PQclear(r);
		return PHONE_NOMEM(ctx);
	}
	for (int i = 0; i < n && !*d->rule; i++) {
		const char *name = PQgetvalue(r, i, 1), *why = "";
		bool other_line = !PQgetisnull(r, i, 10) && db_int(r, i, 10) != f.line_id;
		bool holds = !other_line && condition_holds(ctx, &f, PQgetvalue(r, i, 4),
							    PQgetvalue(r, i, 5), &why);
		if (other_line)
			why = "for another line";
		if (holds && take_action(ctx, &f, r, i, out, &why)) {
			d->rule = db_str(ctx->arena, r, i, 1);
			d->reason = fd_arena_printf(ctx->arena, "%s: %s", d->rule, why);
		}
		d->trace[d->n_trace++] = fd_arena_printf(ctx->arena, "%s (%s): %s — %s", name,
							 PQgetvalue(r, i, 4),
							 *d->rule ? "decides" : "no", why);
	}
	PQclear(r);
	if (!*d->rule)
		return fd_fail(&ctx->status, FD_FAILED_PRECONDITION,
			       "no routing rule decides this call; add a fallback rule");
	return FD_OK;
}

int handle_phone_route(fd_ctx *ctx, const ProtobufCMessage *in, ProtobufCMessage **out)
{
	const Frontdesk__V1__PhoneRouteRequest *req = (const void *)in;
	Frontdesk__V1__PhoneRouteReply *rep = fd_arena_alloc(ctx->arena, sizeof *rep);
	struct phone_route route;

	if (!rep)
		return PHONE_NOMEM(ctx);
	if (req->at_unix_ms < 0)
		return fd_fail(&ctx->status, FD_INVALID_ARGUMENT, "the time must be after 1970");
	if (phone_route_evaluate(ctx, req->from, req->line, req->menu_choice, req->at_unix_ms,
				 &route) != FD_OK)
		return ctx->status.code;
	frontdesk__v1__phone_route_reply__init(rep);
	rep->decision = route.decision;
	*out = &rep->base;
	return FD_OK;
}
