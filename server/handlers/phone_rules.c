/*
 * Routing rules as data and the time conditions they consult: opening
 * hours with a lunch closure, holidays, manual overrides ("closed for
 * weather"), the on-call rota, listed numbers (pharmacies, hospitals). And
 * the evaluation itself: the facts about one call (the location's time
 * state, patients on the caller's number, a listed number, who is on call)
 * are read once, then the rules are walked in priority order in C, each
 * leaving a line in the trace, until one whose condition holds can act.
 * A rule set must always keep a fallback; saving one without it is refused.
 * Care teams (phone_care.c) add one fact, read only when a rule asks for
 * it: the nurse line of the caller's provider's team.
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
int handle_phone_update_rule(fd_ctx *ctx, const ProtobufCMessage *in, ProtobufCMessage **out);
int handle_phone_delete_holiday(fd_ctx *ctx, const ProtobufCMessage *in, ProtobufCMessage **out);
int handle_phone_delete_listed_number(fd_ctx *ctx, const ProtobufCMessage *in, ProtobufCMessage **out);
int handle_phone_list_time_conditions(fd_ctx *ctx, const ProtobufCMessage *in, ProtobufCMessage **out);
int handle_phone_update_on_call(fd_ctx *ctx, const ProtobufCMessage *in, ProtobufCMessage **out);
int handle_phone_delete_on_call(fd_ctx *ctx, const ProtobufCMessage *in, ProtobufCMessage **out);

static const char *const conditions[] = { "always", "open", "closed", "after_hours", "lunch",
					  "holiday", "override", "caller_patient",
					  "caller_patient_today", "caller_listed", "caller_care_team",
					  "menu", NULL };
static const char *const actions[] = { "queue", "listed_queue", "care_team_queue", "on_call",
				       "answering_service", "voicemail", "message", NULL };

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
	if (strcmp(rule->action, "care_team_queue") == 0 &&
	    strcmp(rule->condition, "caller_care_team") != 0)
		return fd_fail(&ctx->status, FD_INVALID_ARGUMENT,
			       "the action 'care_team_queue' goes with the condition 'caller_care_team'");
	return FD_OK;
}

/* The line and queue a rule names, as ids (0 when it names none). */
static int rule_targets(fd_ctx *ctx, const Frontdesk__V1__PhoneRule *rule, int64_t *line,
			int64_t *queue)
{
	db_params lp;
	PGresult *r;

	*line = *queue = 0;
	if (*rule->line) {
		dbp_init(&lp);
		dbp_text(&lp, rule->line);
		if (!(r = db_query(ctx, "SELECT id FROM phone_lines WHERE code = $1", &lp)))
			return ctx->status.code;
		*line = PQntuples(r) ? db_int(r, 0, 0) : 0;
		PQclear(r);
		if (!*line)
			return fd_fail(&ctx->status, FD_NOT_FOUND, "no phone line has that code");
	}
	if (*rule->queue && phone_queue_id(ctx, rule->queue, queue) != FD_OK)
		return ctx->status.code;
	return FD_OK;
}

/* Reads back one rule by name into *rule. */
static int load_rule(fd_ctx *ctx, const char *name, Frontdesk__V1__PhoneRule **rule)
{
	char sql[1024];
	db_params p;
	PGresult *r;

	snprintf(sql, sizeof sql, "%s WHERE r.name = $1", rule_columns);
	dbp_init(&p);
	dbp_text(&p, name);
	if (!(r = db_query(ctx, sql, &p)))
		return ctx->status.code;
	*rule = PQntuples(r) == 1 ? rule_from_row(ctx, r, 0) : NULL;
	int found = PQntuples(r);
	PQclear(r);
	if (!found)
		return fd_fail(&ctx->status, FD_NOT_FOUND, "no routing rule has that name");
	return *rule ? FD_OK : PHONE_NOMEM(ctx);
}

int handle_phone_add_rule(fd_ctx *ctx, const ProtobufCMessage *in, ProtobufCMessage **out)
{
	const Frontdesk__V1__PhoneAddRuleRequest *req = (const void *)in;
	Frontdesk__V1__PhoneAddRuleReply *rep = fd_arena_alloc(ctx->arena, sizeof *rep);
	const Frontdesk__V1__PhoneRule *rule = req->rule;
	int64_t line = 0, queue = 0;
	long long fallbacks = 0;
	db_params p;

	if (!rep)
		return PHONE_NOMEM(ctx);
	if (!rule)
		return fd_fail(&ctx->status, FD_INVALID_ARGUMENT, "give the rule to add");
	if (check_rule_shape(ctx, rule) != FD_OK || rule_targets(ctx, rule, &line, &queue) != FD_OK)
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
	frontdesk__v1__phone_add_rule_reply__init(rep);
	if (load_rule(ctx, rule->name, &rep->rule) != FD_OK)
		return ctx->status.code;
	char *subject = fd_arena_printf(ctx->arena, "rule:%lld", (long long)rep->rule->id);
	fd_ctx_audit(ctx, 0, subject);
	if (db_notify(ctx, "phone.rules", subject) != FD_OK)
		return ctx->status.code;
	*out = &rep->base;
	return FD_OK;
}

/* Replaces every field of the named rule. The rule set must keep a
 * fallback: turning the last one into something else is refused. */
int handle_phone_update_rule(fd_ctx *ctx, const ProtobufCMessage *in, ProtobufCMessage **out)
{
	const Frontdesk__V1__PhoneUpdateRuleRequest *req = (const void *)in;
	Frontdesk__V1__PhoneUpdateRuleReply *rep = fd_arena_alloc(ctx->arena, sizeof *rep);
	const Frontdesk__V1__PhoneRule *rule = req->rule;
	Frontdesk__V1__PhoneRule *existing; /* only to say NOT_FOUND clearly */
	int64_t line = 0, queue = 0;
	long long fallbacks = 0;
	db_params p;

	if (!rep)
		return PHONE_NOMEM(ctx);
	if (!rule)
		return fd_fail(&ctx->status, FD_INVALID_ARGUMENT, "give the rule to change");
	if (check_rule_shape(ctx, rule) != FD_OK || load_rule(ctx, rule->name, &existing) != FD_OK ||
	    rule_targets(ctx, rule, &line, &queue) != FD_OK ||
	    count_fallbacks(ctx, rule->name, &fallbacks) != FD_OK)
		return ctx->status.code;
	if (!fallbacks && !is_fallback(rule->condition, rule->line, rule->action))
		return fd_fail(&ctx->status, FD_FAILED_PRECONDITION,
			       "that is the last fallback rule; it must stay a fallback (condition"
			       " 'always', every line, action queue, voicemail, message or"
			       " answering_service) until another fallback exists");
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
		    "UPDATE phone_rules SET priority = $2, line_id = nullif($3, 0), condition = $4,"
		    " menu_choice = $5, action = $6, queue_id = nullif($7, 0), number_e164 = $8,"
		    " voicemail_box = $9 WHERE name = $1",
		    &p) != FD_OK)
		return ctx->status.code;
	frontdesk__v1__phone_update_rule_reply__init(rep);
	if (load_rule(ctx, rule->name, &rep->rule) != FD_OK)
		return ctx->status.code;
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
	if (!phone_is_clock(t, false))
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
		int64_t until = req->until_unix_ms;
		if (phone_check_word(ctx, "the override", req->state, states) != FD_OK ||
		    fd_check_text(ctx, "the reason", req->reason, 1, 200, 0) != FD_OK)
			return ctx->status.code;
		if (until && *req->until_local)
			return fd_fail(&ctx->status, FD_INVALID_ARGUMENT,
				       "give the end of the override once: unix time or local time");
		if (*req->until_local &&
		    phone_local_instant(ctx, "the end of the override", req->until_local, location,
					&until) != FD_OK)
			return ctx->status.code;
		if (until && until <= fd_now_unix_ms())
			return fd_fail(&ctx->status, FD_INVALID_ARGUMENT,
				       "the override must end in the future");
		dbp_text(&p, req->state);
		dbp_text(&p, req->reason);
		dbp_int(&p, until);
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
	" (extract(epoch FROM o.ends_at) * 1000)::bigint,"
	" to_char(o.starts_at AT TIME ZONE l.time_zone, 'YYYY-MM-DD\"T\"HH24:MI'),"
	" to_char(o.ends_at AT TIME ZONE l.time_zone, 'YYYY-MM-DD\"T\"HH24:MI')"
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
	e->starts_local = db_str(ctx->arena, r, row, 7);
	e->ends_local = db_str(ctx->arena, r, row, 8);
	return e;
}

/* An entry's start and end in unix ms: the unix times, or the local times
 * at the entry's location when those are given. */
static int on_call_times(fd_ctx *ctx, const Frontdesk__V1__PhoneOnCallEntry *e, int64_t location,
			 int64_t *starts, int64_t *ends)
{
	if ((*e->starts_local && e->starts_unix_ms) || (*e->ends_local && e->ends_unix_ms))
		return fd_fail(&ctx->status, FD_INVALID_ARGUMENT,
			       "give each on-call time once: unix time or local time");
	if (*e->starts_local &&
	    phone_local_instant(ctx, "the on-call start", e->starts_local, location, starts) != FD_OK)
		return ctx->status.code;
	if (*e->ends_local &&
	    phone_local_instant(ctx, "the on-call end", e->ends_local, location, ends) != FD_OK)
		return ctx->status.code;
	if (e->starts_unix_ms)
		*starts = e->starts_unix_ms;
	if (e->ends_unix_ms)
		*ends = e->ends_unix_ms;
	if (*starts <= 0 || *ends <= *starts)
		return fd_fail(&ctx->status, FD_INVALID_ARGUMENT, "an on-call entry must end after it starts");
	return FD_OK;
}

/* No two entries of a location may overlap (`except` is the entry being
 * changed). The exclusion constraint holds the same; this says it clearly. */
static int check_on_call_free(fd_ctx *ctx, int64_t location, int64_t starts, int64_t ends,
			      int64_t except)
{
	db_params p;
	PGresult *r;

	dbp_init(&p);
	dbp_int(&p, location);
	dbp_int(&p, starts);
	dbp_int(&p, ends);
	dbp_int(&p, except);
	if (!(r = db_query(ctx,
			   "SELECT s.username FROM phone_on_call o JOIN staff s ON s.id = o.staff_id"
			   " WHERE o.location_id = $1 AND o.id <> $4 AND tstzrange(o.starts_at, o.ends_at)"
			   " && tstzrange(to_timestamp($2 / 1000.0), to_timestamp($3 / 1000.0))"
			   " ORDER BY o.starts_at LIMIT 1",
			   &p)))
		return ctx->status.code;
	char *who = PQntuples(r) ? db_str(ctx->arena, r, 0, 0) : NULL;
	PQclear(r);
	if (who)
		return fd_fail(&ctx->status, FD_FAILED_PRECONDITION,
			       "that time overlaps another on-call entry for this location (%s)", who);
	return FD_OK;
}

/* Reads back one on-call entry by id. */
static int load_on_call(fd_ctx *ctx, int64_t id, Frontdesk__V1__PhoneOnCallEntry **e)
{
	char sql[1024];
	db_params p;
	PGresult *r;

	snprintf(sql, sizeof sql, "%s WHERE o.id = $1", on_call_columns);
	dbp_init(&p);
	dbp_int(&p, id);
	if (!(r = db_query(ctx, sql, &p)))
		return ctx->status.code;
	int found = PQntuples(r);
	*e = found ? on_call_from_row(ctx, r, 0) : NULL;
	PQclear(r);
	if (!found)
		return fd_fail(&ctx->status, FD_NOT_FOUND, "no on-call entry has id %lld", (long long)id);
	return *e ? FD_OK : PHONE_NOMEM(ctx);
}

int handle_phone_add_on_call(fd_ctx *ctx, const ProtobufCMessage *in, ProtobufCMessage **out)
{
	const Frontdesk__V1__PhoneAddOnCallRequest *req = (const void *)in;
	Frontdesk__V1__PhoneAddOnCallReply *rep = fd_arena_alloc(ctx->arena, sizeof *rep);
	const Frontdesk__V1__PhoneOnCallEntry *e = req->entry;
	int64_t location, staff, starts = 0, ends = 0;
	db_params p;
	PGresult *r;

	if (!rep)
		return PHONE_NOMEM(ctx);
	if (!e)
		return fd_fail(&ctx->status, FD_INVALID_ARGUMENT, "give the on-call entry");
	if (phone_check_e164(ctx, "the on-call number", e->number) != FD_OK ||
	    phone_location_id(ctx, e->location, &location) != FD_OK ||
	    phone_staff_id(ctx, e->username, &staff) != FD_OK ||
	    on_call_times(ctx, e, location, &starts, &ends) != FD_OK ||
	    check_on_call_free(ctx, location, starts, ends, 0) != FD_OK)
		return ctx->status.code;
	dbp_init(&p);
	dbp_int(&p, location);
	dbp_int(&p, starts);
	dbp_int(&p, ends);
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
	frontdesk__v1__phone_add_on_call_reply__init(rep);
	if (load_on_call(ctx, id, &rep->entry) != FD_OK)
		return ctx->status.code;
	fd_ctx_audit(ctx, 0, fd_arena_printf(ctx->arena, "on_call:%lld", (long long)id));
	*out = &rep->base;
	return FD_OK;
}

/* Changes an entry by id: each field given replaces the current one. */
int handle_phone_update_on_call(fd_ctx *ctx, const ProtobufCMessage *in, ProtobufCMessage **out)
{
	const Frontdesk__V1__PhoneUpdateOnCallRequest *req = (const void *)in;
	Frontdesk__V1__PhoneUpdateOnCallReply *rep = fd_arena_alloc(ctx->arena, sizeof *rep);
	const Frontdesk__V1__PhoneOnCallEntry *e = req->entry;
	int64_t location, staff, starts, ends;
	db_params p;
	PGresult *r;

	if (!rep)
		return PHONE_NOMEM(ctx);
	if (!e || e->id <= 0)
		return fd_fail(&ctx->status, FD_INVALID_ARGUMENT, "give the on-call entry's id");
	if ((*e->number && phone_check_e164(ctx, "the on-call number", e->number) != FD_OK))
		return ctx->status.code;
	dbp_init(&p);
	dbp_int(&p, e->id);
	if (!(r = db_query(ctx,
			   "SELECT location_id, staff_id, (extract(epoch FROM starts_at) * 1000)::bigint,"
			   " (extract(epoch FROM ends_at) * 1000)::bigint FROM phone_on_call"
			   " WHERE id = $1 FOR UPDATE",
			   &p)))
		return ctx->status.code;
	int found = PQntuples(r);
	location = found ? db_int(r, 0, 0) : 0;
	staff = found ? db_int(r, 0, 1) : 0;
	starts = found ? db_int(r, 0, 2) : 0;
	ends = found ? db_int(r, 0, 3) : 0;
	PQclear(r);
	if (!found)
		return fd_fail(&ctx->status, FD_NOT_FOUND, "no on-call entry has id %lld", (long long)e->id);
	if ((*e->location && phone_location_id(ctx, e->location, &location) != FD_OK) ||
	    (*e->username && phone_staff_id(ctx, e->username, &staff) != FD_OK) ||
	    on_call_times(ctx, e, location, &starts, &ends) != FD_OK ||
	    check_on_call_free(ctx, location, starts, ends, e->id) != FD_OK)
		return ctx->status.code;
	dbp_int(&p, location);
	dbp_int(&p, staff);
	dbp_int(&p, starts);
	dbp_int(&p, ends);
	dbp_text_or_null(&p, e->number);
	if (db_exec(ctx,
		    "UPDATE phone_on_call SET location_id = $2, staff_id = $3,"
		    " starts_at = to_timestamp($4 / 1000.0), ends_at = to_timestamp($5 / 1000.0),"
		    " number_e164 = coalesce($6, number_e164) WHERE id = $1",
		    &p) != FD_OK)
		return ctx->status.code;
	frontdesk__v1__phone_update_on_call_reply__init(rep);
	if (load_on_call(ctx, e->id, &rep->entry) != FD_OK)
		return ctx->status.code;
	fd_ctx_audit(ctx, 0, fd_arena_printf(ctx->arena, "on_call:%lld", (long long)e->id));
	*out = &rep->base;
	return FD_OK;
}

int handle_phone_delete_on_call(fd_ctx *ctx, const ProtobufCMessage *in, ProtobufCMessage **out)
{
	const Frontdesk__V1__PhoneDeleteOnCallRequest *req = (const void *)in;
	Frontdesk__V1__PhoneDeleteOnCallReply *rep = fd_arena_alloc(ctx->arena, sizeof *rep);
	db_params p;
	PGresult *r;

	if (!rep)
		return PHONE_NOMEM(ctx);
	dbp_init(&p);
	dbp_int(&p, req->id);
	if (!(r = db_query(ctx, "DELETE FROM phone_on_call WHERE id = $1 RETURNING id", &p)))
		return ctx->status.code;
	int found = PQntuples(r);
	PQclear(r);
	if (!found)
		return fd_fail(&ctx->status, FD_NOT_FOUND, "no on-call entry has id %lld", (long long)req->id);
	fd_ctx_audit(ctx, 0, fd_arena_printf(ctx->arena, "on_call:%lld", (long long)req->id));
	frontdesk__v1__phone_delete_on_call_reply__init(rep);
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

int handle_phone_delete_listed_number(fd_ctx *ctx, const ProtobufCMessage *in, ProtobufCMessage **out)
{
	const Frontdesk__V1__PhoneDeleteListedNumberRequest *req = (const void *)in;
	Frontdesk__V1__PhoneDeleteListedNumberReply *rep = fd_arena_alloc(ctx->arena, sizeof *rep);
	db_params p;
	PGresult *r;

	if (!rep)
		return PHONE_NOMEM(ctx);
	if (phone_check_e164(ctx, "the number", req->number) != FD_OK)
		return ctx->status.code;
	dbp_init(&p);
	dbp_text(&p, req->number);
	if (!(r = db_query(ctx, "DELETE FROM phone_listed_numbers WHERE number_e164 = $1 RETURNING 1", &p)))
		return ctx->status.code;
	int found = PQntuples(r);
	PQclear(r);
	if (!found)
		return fd_fail(&ctx->status, FD_NOT_FOUND, "that number is not listed");
	fd_ctx_audit(ctx, 0, "listed_numbers");
	frontdesk__v1__phone_delete_listed_number_reply__init(rep);
	*out = &rep->base;
	return FD_OK;
}

int handle_phone_delete_holiday(fd_ctx *ctx, const ProtobufCMessage *in, ProtobufCMessage **out)
{
	const Frontdesk__V1__PhoneDeleteHolidayRequest *req = (const void *)in;
	Frontdesk__V1__PhoneDeleteHolidayReply *rep = fd_arena_alloc(ctx->arena, sizeof *rep);
	int64_t location;
	db_params p;
	PGresult *r;

	if (!rep)
		return PHONE_NOMEM(ctx);
	if (phone_location_id(ctx, req->location, &location) != FD_OK ||
	    fd_check_date(ctx, "the date", req->date) != FD_OK)
		return ctx->status.code;
	dbp_init(&p);
	dbp_int(&p, location);
	dbp_text(&p, req->date);
	if (!(r = db_query(ctx,
			   "DELETE FROM phone_holidays WHERE location_id = $1 AND day = $2::date RETURNING 1",
			   &p)))
		return ctx->status.code;
	int found = PQntuples(r);
	PQclear(r);
	if (!found)
		return fd_fail(&ctx->status, FD_NOT_FOUND,
			       "the phones have no holiday on that day (scheduling's holidays are"
			       " changed in scheduling)");
	fd_ctx_audit(ctx, 0, fd_arena_printf(ctx->arena, "location:%lld", (long long)location));
	frontdesk__v1__phone_delete_holiday_reply__init(rep);
	*out = &rep->base;
	return FD_OK;
}

/* Fills the hours, holidays (today on) and overrides (current and future)
 * of one location from three small queries. */
static int load_time_conditions(fd_ctx *ctx, int64_t location,
				Frontdesk__V1__PhoneListTimeConditionsReply *rep)
{
	db_params p;
	PGresult *h, *d, *o;

	dbp_init(&p);
	dbp_int(&p, location);
	h = db_query(ctx,
		     "SELECT weekday, to_char(opens, 'HH24:MI'), to_char(closes, 'HH24:MI'),"
		     " coalesce(to_char(lunch_starts, 'HH24:MI'), ''), coalesce(to_char(lunch_ends, 'HH24:MI'), '')"
		     " FROM phone_hours WHERE location_id = $1 ORDER BY weekday",
		     &p);
	d = h ? db_query(ctx,
			 "SELECT h.day::text, h.name FROM phone_holidays h JOIN locations l ON l.id = h.location_id"
			 " WHERE h.location_id = $1 AND h.day >= (now() AT TIME ZONE l.time_zone)::date"
			 " ORDER BY h.day LIMIT 200",
			 &p) : NULL;
	o = d ? db_query(ctx,
			 "SELECT o.id, o.state, o.reason,"
			 " to_char(o.starts_at AT TIME ZONE l.time_zone, 'YYYY-MM-DD\"T\"HH24:MI'),"
			 " CASE WHEN o.ends_at = 'infinity' THEN '' ELSE"
			 "  to_char(o.ends_at AT TIME ZONE l.time_zone, 'YYYY-MM-DD\"T\"HH24:MI') END"
			 " FROM phone_overrides o JOIN locations l ON l.id = o.location_id"
			 " WHERE o.location_id = $1 AND o.ends_at > now() ORDER BY o.starts_at",
			 &p) : NULL;
	int rc = o ? FD_OK : ctx->status.code;
	rep->hours = rc == FD_OK ? fd_arena_alloc(ctx->arena, ((size_t)PQntuples(h) + 1) * sizeof *rep->hours) : NULL;
	rep->holidays = rc == FD_OK ? fd_arena_alloc(ctx->arena, ((size_t)PQntuples(d) + 1) * sizeof *rep->holidays) : NULL;
	rep->overrides = rc == FD_OK ? fd_arena_alloc(ctx->arena, ((size_t)PQntuples(o) + 1) * sizeof *rep->overrides) : NULL;
	if (rc == FD_OK && (!rep->hours || !rep->holidays || !rep->overrides))
		rc = PHONE_NOMEM(ctx);
	for (int i = 0; rc == FD_OK && i < PQntuples(h); i++) {
		Frontdesk__V1__PhoneHours *x = fd_arena_alloc(ctx->arena, sizeof *x);
		if (!x) {
			rc = PHONE_NOMEM(ctx);
			break;
		}
		frontdesk__v1__phone_hours__init(x);
		x->weekday = (int32_t)db_int(h, i, 0);
		x->opens = db_str(ctx->arena, h, i, 1);
		x->closes = db_str(ctx->arena, h, i, 2);
		x->lunch_starts = db_str(ctx->arena, h, i, 3);
		x->lunch_ends = db_str(ctx->arena, h, i, 4);
		rep->hours[rep->n_hours++] = x;
	}
	for (int i = 0; rc == FD_OK && i < PQntuples(d); i++) {
		Frontdesk__V1__PhoneHoliday *x = fd_arena_alloc(ctx->arena, sizeof *x);
		if (!x) {
			rc = PHONE_NOMEM(ctx);
			break;
		}
		frontdesk__v1__phone_holiday__init(x);
		x->date = db_str(ctx->arena, d, i, 0);
		x->name = db_str(ctx->arena, d, i, 1);
		rep->holidays[rep->n_holidays++] = x;
	}
	for (int i = 0; rc == FD_OK && i < PQntuples(o); i++) {
		Frontdesk__V1__PhoneOverride *x = fd_arena_alloc(ctx->arena, sizeof *x);
		if (!x) {
			rc = PHONE_NOMEM(ctx);
			break;
		}
		frontdesk__v1__phone_override__init(x);
		x->id = db_int(o, i, 0);
		x->state = db_str(ctx->arena, o, i, 1);
		x->reason = db_str(ctx->arena, o, i, 2);
		x->starts_local = db_str(ctx->arena, o, i, 3);
		x->ends_local = db_str(ctx->arena, o, i, 4);
		rep->overrides[rep->n_overrides++] = x;
	}
	PQclear(h);
	PQclear(d);
	PQclear(o);
	return rc;
}

int handle_phone_list_time_conditions(fd_ctx *ctx, const ProtobufCMessage *in, ProtobufCMessage **out)
{
	const Frontdesk__V1__PhoneListTimeConditionsRequest *req = (const void *)in;
	Frontdesk__V1__PhoneListTimeConditionsReply *rep = fd_arena_alloc(ctx->arena, sizeof *rep);
	int64_t location;
	db_params p;
	PGresult *r;

	if (!rep)
		return PHONE_NOMEM(ctx);
	if (phone_location_id(ctx, req->location, &location) != FD_OK)
		return ctx->status.code;
	dbp_init(&p);
	dbp_int(&p, location);
	if (!(r = db_query(ctx,
			   "SELECT l.code, l.time_zone, ts.state, ts.reason FROM locations l"
			   " CROSS JOIN LATERAL phone_time_state(l.id, now()) ts WHERE l.id = $1",
			   &p)))
		return ctx->status.code;
	frontdesk__v1__phone_list_time_conditions_reply__init(rep);
	rep->location = db_str(ctx->arena, r, 0, 0);
	rep->time_zone = db_str(ctx->arena, r, 0, 1);
	rep->state_now = db_str(ctx->arena, r, 0, 2);
	rep->reason_now = db_str(ctx->arena, r, 0, 3);
	PQclear(r);
	if (load_time_conditions(ctx, location, rep) != FD_OK)
		return ctx->status.code;
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
	/* The care team fact, read only when a rule asks for it. */
	const char *from, *at;
	bool care_read;
	int64_t care_queue_id;
	const char *care_queue, *care_why;
};

/* Reads the caller's care team and its nurse line (0006's
 * phone_care_team_of_caller) and says in words what was found. */
static int read_care_team(fd_ctx *ctx, struct route_facts *f)
{
	db_params p;
	PGresult *r;

	f->care_read = true;
	if (!f->patients) {
		f->care_why = "no patient on the caller's number";
		return FD_OK;
	}
	dbp_init(&p);
	dbp_text(&p, f->from);
	dbp_text(&p, f->at);
	if (!(r = db_query(ctx,
			   "SELECT coalesce(queue_id, 0), coalesce(queue_code, ''), coalesce(team_code, ''),"
			   " coalesce(provider_name, ''), coalesce(basis, ''), coalesce(patient_id, 0)"
			   " FROM phone_care_team_of_caller($1, $2::timestamptz)",
			   &p)))
		return ctx->status.code;
	f->care_queue_id = db_int(r, 0, 0);
	f->care_queue = db_str(ctx->arena, r, 0, 1);
	const char *team = PQgetvalue(r, 0, 2), *provider = PQgetvalue(r, 0, 3),
		   *basis = PQgetvalue(r, 0, 4);
	/* Whose provider this is, is patient data: the read is audited. */
	if (db_int(r, 0, 5))
		fd_ctx_audit(ctx, db_int(r, 0, 5), "care_team");
	if (!*team)
		f->care_why = "no patient on the number has a provider on a care team";
	else if (!f->care_queue_id)
		f->care_why = fd_arena_printf(ctx->arena, "%s (%s) is on care team %s, which has no nurse line",
					      provider, basis, team);
	else
		f->care_why = fd_arena_printf(ctx->arena, "%s (%s) is on care team %s, nurse line %s",
					      provider, basis, team, f->care_queue);
	PQclear(r);
	return f->care_why ? FD_OK : PHONE_NOMEM(ctx);
}

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
	if (strcmp(cond, "caller_care_team") == 0) {
		*why = f->care_why;
		return f->care_queue_id != 0;
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
	} else if (strcmp(action, "care_team_queue") == 0) {
		d->queue = (char *)f->care_queue;
		out->queue_id = f->care_queue_id;
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
	struct route_facts f = { .menu = menu, .from = from };
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
	at = f.at = db_str(ctx->arena, r, 0, 0);
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
		if (!other_line && !f.care_read && strcmp(PQgetvalue(r, i, 4), "caller_care_team") == 0 &&
		    read_care_team(ctx, &f) != FD_OK) {
			PQclear(r);
			return ctx->status.code;
		}
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

/* A local time at the dialed line's location (the zone its rules use). */
static int line_local_instant(fd_ctx *ctx, const char *line, const char *text, int64_t *at)
{
	db_params p;
	PGresult *r;

	if (fd_check_code(ctx, "the line", line) != FD_OK)
		return ctx->status.code;
	dbp_init(&p);
	dbp_text(&p, line);
	if (!(r = db_query(ctx, "SELECT location_id FROM phone_lines WHERE code = $1", &p)))
		return ctx->status.code;
	int64_t location = PQntuples(r) ? db_int(r, 0, 0) : 0;
	PQclear(r);
	if (!location)
		return fd_fail(&ctx->status, FD_NOT_FOUND, "no phone line has that code");
	return phone_local_instant(ctx, "the time", text, location, at);
}

int handle_phone_route(fd_ctx *ctx, const ProtobufCMessage *in, ProtobufCMessage **out)
{
	const Frontdesk__V1__PhoneRouteRequest *req = (const void *)in;
	Frontdesk__V1__PhoneRouteReply *rep = fd_arena_alloc(ctx->arena, sizeof *rep);
	struct phone_route route;

	if (!rep)
		return PHONE_NOMEM(ctx);
	int64_t at = req->at_unix_ms;
	if (at < 0)
		return fd_fail(&ctx->status, FD_INVALID_ARGUMENT, "the time must be after 1970");
	if (at && *req->at_local)
		return fd_fail(&ctx->status, FD_INVALID_ARGUMENT,
			       "give the time once: unix time or local time");
	if (*req->at_local && line_local_instant(ctx, req->line, req->at_local, &at) != FD_OK)
		return ctx->status.code;
	if (phone_route_evaluate(ctx, req->from, req->line, req->menu_choice, at, &route) != FD_OK)
		return ctx->status.code;
	frontdesk__v1__phone_route_reply__init(rep);
	rep->decision = route.decision;
	*out = &rep->base;
	return FD_OK;
}
