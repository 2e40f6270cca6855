/*
 * Phone routing end to end against the real server: queue strategies ring
 * members in the right order over a sequence of calls (penalty tiers and
 * wrap-up respected), time conditions route in the location's zone
 * (after hours, lunch, holiday, manual override, a daylight-saving day),
 * caller id finds every patient on a household number, exactly one desk
 * wins a ringing call however many answer at once, overflow after the
 * maximum wait leaves a callback that keeps the caller's place, metrics add
 * up to the second, and ringing / stop-ringing events reach the desks.
 * Then what 0006 added: care teams route a provider's patients to the
 * team's nurse line, configuration changes and removals refuse what is
 * still referred to, routes and the rota take local times, a due callback
 * is offered ahead of later calls, and overflow chains never loop.
 */
#include <stdarg.h>

#include "e2e.h"
#include "frontdesk/v1/phone.pb-c.h"

#define PHONE_SVC (&frontdesk__v1__phone__descriptor)

static tp_server srv;
static char db[64];
static fd_client *admin;

static bool up(void)
{
	if (srv.pid > 0)
		return true;
	if (!e2e_start(&srv, db, sizeof db, "phone", NULL))
		return false;
	admin = tp_client(&srv);
	if (tp_login(admin, "admin", "front-1") != FD_OK)
		return false;
	/* Start from an empty phone setup (the demo seeds one). */
	return tp_db_exec(db, "DELETE FROM phone_rules; DELETE FROM phone_listed_numbers;"
			      " DELETE FROM phone_hours; DELETE FROM phone_on_call;"
			      " DELETE FROM phone_care_team_providers; DELETE FROM phone_care_teams;") == 0;
}

static long long sql_int(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static long long sql_int(const char *fmt, ...)
{
	char sql[2048];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(sql, sizeof sql, fmt, ap);
	va_end(ap);
	return tp_db_scalar(db, sql);
}

static int sql(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int sql(const char *fmt, ...)
{
	char text[4096];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(text, sizeof text, fmt, ap);
	va_end(ap);
	return tp_db_exec(db, text);
}

/* Staff who only need to be rung (never log in). */
static void make_staff(const char *username)
{
	sql("INSERT INTO staff (username, display_name, password_hash, roles)"
	    " VALUES ('%s', '%s', '$argon2id$unused', '{front_desk}') ON CONFLICT DO NOTHING",
	    username, username);
}

static void set_presence(const char *username, const char *state)
{
	sql("INSERT INTO phone_presence (staff_id, state, desk_id)"
	    " SELECT s.id, '%s', (SELECT id FROM desks WHERE code = 'front-1') FROM staff s"
	    " WHERE s.username = '%s' ON CONFLICT (staff_id) DO UPDATE SET state = excluded.state,"
	    " wrap_up_until = NULL, reason = NULL",
	    state, username);
}

static int save_queue(const char *code, const char *strategy, int wrap_up_s, int widen_s,
		      fd_status *st)
{
	Frontdesk__V1__PhoneSaveQueueRequest req = FRONTDESK__V1__PHONE_SAVE_QUEUE_REQUEST__INIT;
	ProtobufCMessage *rep = NULL;

	req.code = (char *)code;
	req.strategy = (char *)strategy;
	req.wrap_up_s = wrap_up_s;
	req.set_wrap_up = true;
	req.penalty_widen_s = widen_s;
	req.set_penalty_widen = true;
	int rc = tp_call(admin, PHONE_SVC, "SaveQueue", &req.base, &rep, st);
	if (rep)
		protobuf_c_message_free_unpacked(rep, NULL);
	return rc;
}

static int add_member(const char *queue, const char *user, int penalty, int position)
{
	Frontdesk__V1__PhoneSetQueueMemberRequest req = FRONTDESK__V1__PHONE_SET_QUEUE_MEMBER_REQUEST__INIT;
	ProtobufCMessage *rep = NULL;
	fd_status st;

	req.queue = (char *)queue;
	req.username = (char *)user;
	req.penalty = penalty;
	req.position = position;
	int rc = tp_call(admin, PHONE_SVC, "SetQueueMember", &req.base, &rep, &st);
	if (rep)
		protobuf_c_message_free_unpacked(rep, NULL);
	return rc;
}

/* Rules for one line only (the time-condition tests use their own line so
 * that the clock of the test run cannot steer the other tests' calls). */
static const char *rule_line = "";

static int add_rule(const char *name, int priority, const char *condition, const char *menu,
		    const char *action, const char *queue, const char *target, fd_status *st)
{
	Frontdesk__V1__PhoneAddRuleRequest req = FRONTDESK__V1__PHONE_ADD_RULE_REQUEST__INIT;
	Frontdesk__V1__PhoneRule rule = FRONTDESK__V1__PHONE_RULE__INIT;
	ProtobufCMessage *rep = NULL;

	rule.name = (char *)name;
	rule.priority = priority;
	rule.condition = (char *)condition;
	rule.menu_choice = (char *)menu;
	rule.action = (char *)action;
	rule.queue = (char *)queue;
	rule.line = (char *)rule_line;
	if (strcmp(action, "answering_service") == 0)
		rule.number = (char *)target;
	if (strcmp(action, "voicemail") == 0)
		rule.voicemail_box = (char *)target;
	req.rule = &rule;
	int rc = tp_call(admin, PHONE_SVC, "AddRule", &req.base, &rep, st);
	if (rep)
		protobuf_c_message_free_unpacked(rep, NULL);
	return rc;
}

/* A line, a catch-all queue and the fallback rule: the minimum to route. */
static bool base_setup(void)
{
	static bool done;
	fd_status st;

	if (done)
		return true;
	Frontdesk__V1__PhoneCreateLineRequest line = FRONTDESK__V1__PHONE_CREATE_LINE_REQUEST__INIT;
	ProtobufCMessage *rep = NULL;
	line.code = "t-main";
	line.name = "Test main line";
	line.number = "+15550000001";
	if (tp_call(admin, PHONE_SVC, "CreateLine", &line.base, &rep, &st) != FD_OK)
		return false;
	protobuf_c_message_free_unpacked(rep, NULL);
	if (save_queue("t-front", "ring_all", 0, 0, &st) != FD_OK)
		return false;
	if (add_rule("t-fallback", 9000, "always", "", "queue", "t-front", "", &st) != FD_OK)
		return false;
	done = true;
	return true;
}

static int incoming_as(fd_client *c, const char *from, const char *menu,
		       Frontdesk__V1__PhoneIncomingReply **out, fd_status *st)
{
	Frontdesk__V1__PhoneIncomingRequest req = FRONTDESK__V1__PHONE_INCOMING_REQUEST__INIT;

	req.from = (char *)from;
	req.line = "t-main";
	req.menu_choice = (char *)menu;
	return tp_call(c, PHONE_SVC, "Incoming", &req.base, (ProtobufCMessage **)out, st);
}

static int incoming(const char *from, const char *menu, Frontdesk__V1__PhoneIncomingReply **out,
		    fd_status *st)
{
	return incoming_as(admin, from, menu, out, st);
}

static int end_call(fd_client *c, int64_t id, const char *disposition, fd_status *st)
{
	Frontdesk__V1__PhoneEndRequest req = FRONTDESK__V1__PHONE_END_REQUEST__INIT;
	ProtobufCMessage *rep = NULL;

	req.call_id = id;
	req.disposition = (char *)disposition;
	int rc = tp_call(c, PHONE_SVC, "End", &req.base, &rep, st);
	if (rep)
		protobuf_c_message_free_unpacked(rep, NULL);
	return rc;
}

/* Incoming on a menu choice; returns the one member rung (username in buf). */
static bool ring_one(const char *menu, char *who, size_t size, int64_t *call_id)
{
	Frontdesk__V1__PhoneIncomingReply *rep = NULL;
	fd_status st;

	if (incoming("+15557770000", menu, &rep, &st) != FD_OK) {
		th_fail(__FILE__, __LINE__, "Incoming: %s", st.message);
		return false;
	}
	bool ok = rep->call && rep->call->n_ringing == 1;
	if (ok) {
		snprintf(who, size, "%s", rep->call->ringing[0]->username);
		*call_id = rep->call->id;
	} else {
		th_fail(__FILE__, __LINE__, "expected one ring, got %zu",
			rep->call ? rep->call->n_ringing : 0);
	}
	protobuf_c_message_free_unpacked(&rep->base, NULL);
	return ok;
}

/* Members ma, mb, mc at positions 1..3 of a queue reached with menu `code`. */
static bool strategy_queue(const char *code, const char *strategy, int priority)
{
	char rule[48];
	fd_status st;

	if (!base_setup())
		return false;
	make_staff("ma");
	make_staff("mb");
	make_staff("mc");
	if (save_queue(code, strategy, 0, 0, &st) != FD_OK)
		return false;
	snprintf(rule, sizeof rule, "menu-%s", code);
	if (add_rule(rule, priority, "menu", code, "queue", code, "", &st) != FD_OK)
		return false;
	return add_member(code, "ma", 0, 1) == FD_OK && add_member(code, "mb", 0, 2) == FD_OK &&
	       add_member(code, "mc", 0, 3) == FD_OK;
}

static void everyone_available(void)
{
	set_presence("ma", "available");
	set_presence("mb", "available");
	set_presence("mc", "available");
}

static void round_robin_remembers_who_was_rung_last(void)
{
	const char *want[] = { "ma", "mb", "mc", "ma", "mb" };
	char who[64];
	int64_t id;
	fd_status st;

	CHECK(up());
	CHECK(strategy_queue("rr", "round_robin", 100));
	everyone_available();
	for (size_t i = 0; i < 5; i++) {
		CHECK(ring_one("rr", who, sizeof who, &id));
		CHECK_STR(who, want[i]);
		CHECK_INT(end_call(admin, id, "abandoned", &st), FD_OK);
	}
}

static void linear_always_starts_at_the_top_and_skips_the_busy(void)
{
	char who[64];
	int64_t id;
	fd_status st;

	CHECK(up());
	CHECK(strategy_queue("lin", "linear", 101));
	everyone_available();
	for (int i = 0; i < 3; i++) {
		CHECK(ring_one("lin", who, sizeof who, &id));
		CHECK_STR(who, "ma");
		CHECK_INT(end_call(admin, id, "abandoned", &st), FD_OK);
	}
	set_presence("ma", "away");
	CHECK(ring_one("lin", who, sizeof who, &id));
	CHECK_STR(who, "mb");
	CHECK_INT(end_call(admin, id, "abandoned", &st), FD_OK);
}

/* Answers as a member by SQL-free means is not possible for staff without
 * passwords, so the answered history is scripted: least-recent and
 * fewest-calls read last_call_ended_at and the day's answered visits. */
static void least_recent_rings_whoever_finished_longest_ago(void)
{
	char who[64];
	int64_t id;
	fd_status st;

	CHECK(up());
	CHECK(strategy_queue("lr", "least_recent", 102));
	everyone_available();
	sql("UPDATE phone_presence SET last_call_ended_at = now() - interval '1 minute'"
	    " WHERE staff_id = (SELECT id FROM staff WHERE username = 'ma')");
	sql("UPDATE phone_presence SET last_call_ended_at = now() - interval '5 minutes'"
	    " WHERE staff_id = (SELECT id FROM staff WHERE username = 'mb')");
	sql("UPDATE phone_presence SET last_call_ended_at = now() - interval '3 minutes'"
	    " WHERE staff_id = (SELECT id FROM staff WHERE username = 'mc')");
	CHECK(ring_one("lr", who, sizeof who, &id));
	CHECK_STR(who, "mb");
	CHECK_INT(end_call(admin, id, "abandoned", &st), FD_OK);
	sql("UPDATE phone_presence SET last_call_ended_at = now()"
	    " WHERE staff_id = (SELECT id FROM staff WHERE username = 'mb')");
	CHECK(ring_one("lr", who, sizeof who, &id));
	CHECK_STR(who, "mc");
	CHECK_INT(end_call(admin, id, "abandoned", &st), FD_OK);
}

static void fewest_calls_rings_whoever_answered_least_today(void)
{
	char who[64];
	int64_t id;
	fd_status st;

	CHECK(up());
	CHECK(strategy_queue("few", "fewest_calls", 103));
	everyone_available();
	/* ma answered two calls today in this queue, mb one, mc none. */
	CHECK(sql("INSERT INTO phone_visits (call_id, queue_id, entered_at, answered_at, answered_by,"
		  " left_at, outcome)"
		  " SELECT c.id, q.id, now() - interval '1 minute', now() - interval '50 seconds', s.id,"
		  " now() - interval '40 seconds', 'handled'"
		  " FROM (SELECT min(id) AS id FROM phone_calls) c, phone_queues q, staff s"
		  " CROSS JOIN generate_series(1, 2) g"
		  " WHERE q.code = 'few' AND (s.username = 'ma' OR (s.username = 'mb' AND g = 1))") == 0);
	CHECK(ring_one("few", who, sizeof who, &id));
	CHECK_STR(who, "mc");
	CHECK_INT(end_call(admin, id, "abandoned", &st), FD_OK);
	set_presence("mc", "away");
	CHECK(ring_one("few", who, sizeof who, &id));
	CHECK_STR(who, "mb");
	CHECK_INT(end_call(admin, id, "abandoned", &st), FD_OK);
}

static void random_rings_every_available_member_and_never_the_away_one(void)
{
	int seen[3] = { 0 };
	char who[64];
	int64_t id;
	fd_status st;

	CHECK(up());
	CHECK(strategy_queue("rnd", "random", 104));
	make_staff("md");
	CHECK_INT(add_member("rnd", "md", 0, 4), FD_OK);
	everyone_available();
	set_presence("md", "away");
	for (int i = 0; i < 40; i++) {
		CHECK(ring_one("rnd", who, sizeof who, &id));
		CHECK_MSG(strcmp(who, "md") != 0, "the away member was rung");
		seen[who[1] - 'a']++;
		CHECK_INT(end_call(admin, id, "abandoned", &st), FD_OK);
	}
	CHECK_MSG(seen[0] && seen[1] && seen[2], "not everyone rang: %d %d %d", seen[0], seen[1], seen[2]);
}

static void ring_all_respects_penalty_tiers_widening_after_the_wait(void)
{
	Frontdesk__V1__PhoneIncomingReply *rep = NULL;
	fd_status st;

	CHECK(up());
	CHECK(strategy_queue("tier", "ring_all", 105));
	CHECK_INT(save_queue("tier", "ring_all", 0, 60, &st), FD_OK);
	CHECK_INT(add_member("tier", "mc", 1, 3), FD_OK); /* nurse tier */
	everyone_available();
	CHECK_INT(incoming("+15557770001", "tier", &rep, &st), FD_OK);
	CHECK_INT(rep->call->n_ringing, 2); /* ma and mb; mc waits for its tier */
	int64_t id = rep->call->id;
	protobuf_c_message_free_unpacked(&rep->base, NULL);
	CHECK(sql_int("SELECT count(*) FROM phone_rings r JOIN staff s ON s.id = r.staff_id"
		      " WHERE r.call_id = %lld AND s.username = 'mc'", (long long)id) == 0);
	/* Tier 0 all busy: still no ring for tier 1 before 60 s of waiting. */
	set_presence("ma", "away");
	set_presence("mb", "away");
	CHECK_INT(incoming("+15557770002", "tier", &rep, &st), FD_OK);
	CHECK_INT(rep->call->n_ringing, 0);
	int64_t second = rep->call->id;
	protobuf_c_message_free_unpacked(&rep->base, NULL);
	/* After a minute of waiting the nurse tier opens. */
	CHECK(sql("UPDATE phone_calls SET waiting_since = now() - interval '61 seconds'"
		  " WHERE id = %lld", (long long)second) == 0);
	CHECK(sql_int("SELECT count(*) FROM (SELECT phone_tick()) t") == 1);
	CHECK(sql_int("SELECT count(*) FROM phone_rings r JOIN staff s ON s.id = r.staff_id"
		      " WHERE r.call_id = %lld AND s.username = 'mc' AND r.stopped_at IS NULL",
		      (long long)second) == 1);
	CHECK_INT(end_call(admin, id, "abandoned", &st), FD_OK);
	CHECK_INT(end_call(admin, second, "abandoned", &st), FD_OK);
}

static void wrap_up_keeps_a_member_from_ringing_until_it_runs_out(void)
{
	Frontdesk__V1__PhoneIncomingReply *rep = NULL;
	fd_status st;

	CHECK(up());
	CHECK(base_setup());
	CHECK_INT(save_queue("wrap", "linear", 30, 0, &st), FD_OK);
	CHECK_INT(add_rule("menu-wrap", 106, "menu", "wrap", "queue", "wrap", "", &st), FD_OK);
	CHECK_INT(add_member("wrap", "reception1", 0, 1), FD_OK);
	CHECK_INT(add_member("wrap", "reception2", 0, 2), FD_OK);
	fd_client *r1 = tp_client(&srv);
	CHECK_INT(tp_login(r1, "reception1", "front-1"), FD_OK);
	set_presence("reception1", "available");
	set_presence("reception2", "available");
	CHECK_INT(incoming("+15557770003", "wrap", &rep, &st), FD_OK);
	CHECK_STR(rep->call->ringing[0]->username, "reception1");
	int64_t id = rep->call->id;
	protobuf_c_message_free_unpacked(&rep->base, NULL);
	Frontdesk__V1__PhoneAnswerRequest ans = FRONTDESK__V1__PHONE_ANSWER_REQUEST__INIT;
	ProtobufCMessage *arep = NULL;
	ans.call_id = id;
	CHECK_INT(tp_call(r1, PHONE_SVC, "Answer", &ans.base, &arep, &st), FD_OK);
	protobuf_c_message_free_unpacked(arep, NULL);
	CHECK_INT(end_call(r1, id, "", &st), FD_OK);
	CHECK(sql_int("SELECT count(*) FROM phone_presence p JOIN staff s ON s.id = p.staff_id"
		      " WHERE s.username = 'reception1' AND p.state = 'wrap_up'") == 1);
	/* In wrap-up: the next call goes to reception2. */
	CHECK_INT(incoming("+15557770004", "wrap", &rep, &st), FD_OK);
	CHECK_STR(rep->call->ringing[0]->username, "reception2");
	id = rep->call->id;
	protobuf_c_message_free_unpacked(&rep->base, NULL);
	CHECK_INT(end_call(admin, id, "abandoned", &st), FD_OK);
	/* Wrap-up over (the periodic tick makes them available again). */
	CHECK(sql("UPDATE phone_presence SET wrap_up_until = now() WHERE staff_id ="
		  " (SELECT id FROM staff WHERE username = 'reception1')") == 0);
	e2e_sleep_ms(2200);
	CHECK(sql_int("SELECT count(*) FROM phone_presence p JOIN staff s ON s.id = p.staff_id"
		      " WHERE s.username = 'reception1' AND p.state = 'available'") == 1);
	CHECK_INT(incoming("+15557770005", "wrap", &rep, &st), FD_OK);
	CHECK_STR(rep->call->ringing[0]->username, "reception1");
	id = rep->call->id;
	protobuf_c_message_free_unpacked(&rep->base, NULL);
	CHECK_INT(end_call(admin, id, "abandoned", &st), FD_OK);
	fd_client_close(r1);
}

/* --- time conditions ------------------------------------------------------ */

static int route_at(const char *menu, const char *when, Frontdesk__V1__PhoneRouteReply **out,
		    fd_status *st)
{
	Frontdesk__V1__PhoneRouteRequest req = FRONTDESK__V1__PHONE_ROUTE_REQUEST__INIT;

	req.from = "+15557770100";
	req.line = "t-hours";
	req.menu_choice = (char *)menu;
	req.at_unix_ms = when ? sql_int("SELECT (extract(epoch FROM timestamptz '%s') * 1000)::bigint", when) : 0;
	return tp_call(admin, PHONE_SVC, "Route", &req.base, (ProtobufCMessage **)out, st);
}

/* The rule that decides a call at `when` (a timestamptz literal). */
static bool rule_at(const char *when, const char *want)
{
	Frontdesk__V1__PhoneRouteReply *rep = NULL;
	fd_status st;

	if (route_at("", when, &rep, &st) != FD_OK) {
		th_fail(__FILE__, __LINE__, "Route at %s: %s", when, st.message);
		return false;
	}
	bool ok = strcmp(rep->decision->rule, want) == 0;
	if (!ok)
		th_fail(__FILE__, __LINE__, "at %s: rule %s, wanted %s (%s)", when, rep->decision->rule,
			want, rep->decision->reason);
	protobuf_c_message_free_unpacked(&rep->base, NULL);
	return ok;
}

static bool time_rules(void)
{
	static bool done;
	fd_status st;

	if (done)
		return true;
	if (!base_setup())
		return false;
	/* The demo location is America/New_York; every day 08:00-17:00 with
	 * lunch 12:00-13:00. */
	if (sql("DELETE FROM phone_hours; INSERT INTO phone_hours"
		" SELECT id, d, '08:00', '17:00', '12:00', '13:00' FROM locations,"
		" generate_series(1, 7) d WHERE code = 'main'") != 0)
		return false;
	Frontdesk__V1__PhoneCreateLineRequest line = FRONTDESK__V1__PHONE_CREATE_LINE_REQUEST__INIT;
	ProtobufCMessage *rep = NULL;
	line.code = "t-hours";
	line.name = "Line with time rules";
	line.number = "+15550000002";
	if (tp_call(admin, PHONE_SVC, "CreateLine", &line.base, &rep, &st) != FD_OK)
		return false;
	protobuf_c_message_free_unpacked(rep, NULL);
	rule_line = "t-hours";
	bool ok = add_rule("t-override", 10, "override", "", "voicemail", "", "weather", &st) == FD_OK &&
	    add_rule("t-holiday", 20, "holiday", "", "voicemail", "", "holiday", &st) == FD_OK &&
	    add_rule("t-lunch", 30, "lunch", "", "voicemail", "", "lunch", &st) == FD_OK &&
	    add_rule("t-after-hours", 40, "after_hours", "", "answering_service", "",
		     "+15559990000", &st) == FD_OK;
	rule_line = "";
	if (!ok) {
		th_fail(__FILE__, __LINE__, "rules: %s", st.message);
		return false;
	}
	done = true;
	return true;
}

static void after_hours_and_lunch_route_in_the_location_time_zone(void)
{
	CHECK(up());
	CHECK(time_rules());
	/* 2024-06-04 is a Tuesday; New York is UTC-4 then. */
	CHECK(rule_at("2024-06-04 14:30:00+00", "t-fallback"));   /* 10:30 open */
	CHECK(rule_at("2024-06-04 16:30:00+00", "t-lunch"));      /* 12:30 lunch */
	CHECK(rule_at("2024-06-04 17:00:00+00", "t-fallback"));   /* 13:00 open again */
	CHECK(rule_at("2024-06-04 21:00:00+00", "t-after-hours")); /* 17:00 closed */
	CHECK(rule_at("2024-06-04 11:59:00+00", "t-after-hours")); /* 07:59 not yet */
}

static void a_daylight_saving_day_uses_the_new_offset(void)
{
	CHECK(up());
	CHECK(time_rules());
	/* 2024-03-10: clocks jump 02:00 -> 03:00 (UTC-5 -> UTC-4). A fixed
	 * UTC-5 would call 12:30Z 07:30 (closed) and 21:30Z 16:30 (open). */
	CHECK(rule_at("2024-03-10 12:30:00+00", "t-fallback"));    /* 08:30 EDT */
	CHECK(rule_at("2024-03-10 21:30:00+00", "t-after-hours")); /* 17:30 EDT */
	CHECK(rule_at("2024-03-09 12:30:00+00", "t-after-hours")); /* 07:30 EST the day before */
}

static void a_holiday_closes_the_whole_local_day(void)
{
	fd_status st;
	Frontdesk__V1__PhoneAddHolidayRequest req = FRONTDESK__V1__PHONE_ADD_HOLIDAY_REQUEST__INIT;
	ProtobufCMessage *rep = NULL;

	CHECK(up());
	CHECK(time_rules());
	req.date = "2024-07-04";
	req.name = "Independence Day";
	CHECK_INT(tp_call(admin, PHONE_SVC, "AddHoliday", &req.base, &rep, &st), FD_OK);
	protobuf_c_message_free_unpacked(rep, NULL);
	CHECK(rule_at("2024-07-04 14:30:00+00", "t-holiday"));
	/* 03:30Z on the 5th is still the 4th in New York (23:30). */
	CHECK(rule_at("2024-07-05 03:30:00+00", "t-holiday"));
	CHECK(rule_at("2024-07-05 14:30:00+00", "t-fallback"));
	req.date = "2024-02-30";
	CHECK_INT(tp_call(admin, PHONE_SVC, "AddHoliday", &req.base, &rep, &st), FD_INVALID_ARGUMENT);
}

static void a_manual_override_beats_the_hours(void)
{
	Frontdesk__V1__PhoneSetOverrideRequest req = FRONTDESK__V1__PHONE_SET_OVERRIDE_REQUEST__INIT;
	Frontdesk__V1__PhoneRouteReply *route = NULL;
	ProtobufCMessage *rep = NULL;
	fd_status st;

	CHECK(up());
	CHECK(time_rules());
	req.state = "closed";
	req.reason = "closed for weather";
	CHECK_INT(tp_call(admin, PHONE_SVC, "SetOverride", &req.base, &rep, &st), FD_OK);
	protobuf_c_message_free_unpacked(rep, NULL);
	CHECK_INT(route_at("", NULL, &route, &st), FD_OK);
	CHECK_STR(route->decision->rule, "t-override");
	CHECK(strstr(route->decision->reason, "weather") != NULL);
	CHECK(route->decision->n_trace >= 1);
	protobuf_c_message_free_unpacked(&route->base, NULL);
	Frontdesk__V1__PhoneSetOverrideRequest clear = FRONTDESK__V1__PHONE_SET_OVERRIDE_REQUEST__INIT;
	clear.clear = true;
	CHECK_INT(tp_call(admin, PHONE_SVC, "SetOverride", &clear.base, &rep, &st), FD_OK);
	protobuf_c_message_free_unpacked(rep, NULL);
	CHECK_INT(route_at("", NULL, &route, &st), FD_OK);
	CHECK(strcmp(route->decision->rule, "t-override") != 0);
	protobuf_c_message_free_unpacked(&route->base, NULL);
}

static void after_hours_goes_to_whoever_is_on_call(void)
{
	Frontdesk__V1__PhoneAddOnCallRequest req = FRONTDESK__V1__PHONE_ADD_ON_CALL_REQUEST__INIT;
	Frontdesk__V1__PhoneOnCallEntry e = FRONTDESK__V1__PHONE_ON_CALL_ENTRY__INIT;
	Frontdesk__V1__PhoneRouteReply *route = NULL;
	ProtobufCMessage *rep = NULL;
	fd_status st;

	CHECK(up());
	CHECK(time_rules());
	rule_line = "t-hours";
	int rc = add_rule("t-on-call", 35, "after_hours", "", "on_call", "", "", &st);
	rule_line = "";
	CHECK_INT(rc, FD_OK);
	/* Nobody on call yet: the on-call rule passes to the answering service. */
	CHECK(rule_at("2024-06-04 23:00:00+00", "t-after-hours"));
	e.username = "drsmith";
	e.number = "+15558880000";
	e.starts_unix_ms = sql_int("SELECT (extract(epoch FROM timestamptz '2024-06-04 21:00+00') * 1000)::bigint");
	e.ends_unix_ms = sql_int("SELECT (extract(epoch FROM timestamptz '2024-06-05 12:00+00') * 1000)::bigint");
	req.entry = &e;
	CHECK_INT(tp_call(admin, PHONE_SVC, "AddOnCall", &req.base, &rep, &st), FD_OK);
	protobuf_c_message_free_unpacked(rep, NULL);
	CHECK_INT(route_at("", "2024-06-04 23:00:00+00", &route, &st), FD_OK);
	CHECK_STR(route->decision->rule, "t-on-call");
	CHECK_STR(route->decision->forward_to, "+15558880000");
	protobuf_c_message_free_unpacked(&route->base, NULL);
	/* An overlapping entry is refused, nothing written. */
	e.starts_unix_ms += 3600 * 1000;
	e.ends_unix_ms += 3600 * 1000;
	CHECK_INT(tp_call(admin, PHONE_SVC, "AddOnCall", &req.base, &rep, &st), FD_FAILED_PRECONDITION);
	CHECK(sql_int("SELECT count(*) FROM phone_on_call") == 1);
}

static void a_rule_set_without_fallback_is_refused(void)
{
	Frontdesk__V1__PhoneDeleteRuleRequest del = FRONTDESK__V1__PHONE_DELETE_RULE_REQUEST__INIT;
	ProtobufCMessage *rep = NULL;
	fd_status st;

	CHECK(up());
	CHECK(base_setup());
	del.name = "t-fallback";
	CHECK_INT(tp_call(admin, PHONE_SVC, "DeleteRule", &del.base, &rep, &st), FD_FAILED_PRECONDITION);
	CHECK(sql_int("SELECT count(*) FROM phone_rules WHERE name = 't-fallback'") == 1);
	/* And the database refuses it too, whoever asks. */
	CHECK(sql("DELETE FROM phone_rules WHERE name = 't-fallback'") != 0);
	/* Bad input: a number that is not a phone number, an unknown line. */
	Frontdesk__V1__PhoneIncomingReply *in = NULL;
	CHECK_INT(incoming("555-1234", "", &in, &st), FD_INVALID_ARGUMENT);
	Frontdesk__V1__PhoneIncomingRequest req = FRONTDESK__V1__PHONE_INCOMING_REQUEST__INIT;
	req.from = "+15557770000";
	req.line = "nope";
	CHECK_INT(tp_call(admin, PHONE_SVC, "Incoming", &req.base, &rep, &st), FD_NOT_FOUND);
}

/* --- caller id ----------------------------------------------------------- */

static void a_household_number_pops_every_patient_on_it(void)
{
	Frontdesk__V1__PhoneIncomingReply *rep = NULL;
	fd_status st;

	CHECK(up());
	CHECK(base_setup());
	CHECK(sql("INSERT INTO patients (family_name, given_name, date_of_birth, phone_e164) VALUES"
		  " ('Garcia', 'Ana', '1980-02-03', '+15553334444'),"
		  " ('Garcia', 'Luis', '2012-07-08', '+15553334444'),"
		  " ('Garcia', 'Sofia', '2015-01-09', '+15553334444'),"
		  " ('Other', 'Person', '1970-01-01', '+15553334445')") == 0);
	CHECK(sql("INSERT INTO patients (family_name, given_name, date_of_birth, phone_e164, merged_into,"
		  " merged_at) SELECT 'Garcia', 'Dup', '1980-02-03', '+15553334444', min(id), now()"
		  " FROM patients") == 0);
	CHECK_INT(incoming("+15553334444", "", &rep, &st), FD_OK);
	CHECK_INT(rep->n_patients, 3);
	CHECK_STR(rep->patients[0]->given_name, "Ana");
	CHECK_STR(rep->patients[2]->given_name, "Sofia");
	CHECK_STR(rep->patients[1]->date_of_birth, "2012-07-08");
	CHECK_INT(rep->decision->matched_patients, 3);
	int64_t id = rep->call->id;
	protobuf_c_message_free_unpacked(&rep->base, NULL);
	/* Every patient shown was audited. */
	CHECK(sql_int("SELECT count(DISTINCT patient_id) FROM audit_log WHERE subject = 'call:%lld'",
		      (long long)id) == 3);
	CHECK_INT(end_call(admin, id, "abandoned", &st), FD_OK);
}

/* --- the answer race -------------------------------------------------------- */

struct answerer {
	pthread_t thread;
	fd_client *client;
	int64_t call_id;
	int code;
	pthread_barrier_t *start;
};

static void *answer(void *arg)
{
	struct answerer *a = arg;
	Frontdesk__V1__PhoneAnswerRequest req = FRONTDESK__V1__PHONE_ANSWER_REQUEST__INIT;
	ProtobufCMessage *rep = NULL;
	fd_status st;

	req.call_id = a->call_id;
	pthread_barrier_wait(a->start);
	a->code = tp_call(a->client, PHONE_SVC, "Answer", &req.base, &rep, &st);
	if (rep)
		protobuf_c_message_free_unpacked(rep, NULL);
	return NULL;
}

static void exactly_one_desk_wins_a_ringing_call(void)
{
	static const char *users[] = { "reception1", "reception2", "nurse1", "billing1", "drsmith", "admin" };
	static const char *desks[] = { "front-1", "front-2", "phone-1", "race-4", "race-5", "race-6" };
	enum { N = 6, ROUNDS = 25 };
	struct answerer a[N];
	pthread_barrier_t start;
	fd_status st;

	CHECK(up());
	CHECK(base_setup());
	CHECK(sql("INSERT INTO desks (code, name, location_id) SELECT c, c, min(l.id) FROM locations l,"
		  " unnest(ARRAY['race-4', 'race-5', 'race-6']) c GROUP BY c ON CONFLICT DO NOTHING") == 0);
	CHECK_INT(save_queue("race", "ring_all", 0, 0, &st), FD_OK);
	CHECK_INT(add_rule("menu-race", 107, "menu", "race", "queue", "race", "", &st), FD_OK);
	for (int i = 0; i < N; i++) {
		CHECK_INT(add_member("race", users[i], 0, i), FD_OK);
		a[i].client = tp_client(&srv);
		CHECK_INT(tp_login(a[i].client, users[i], desks[i]), FD_OK);
		set_presence(users[i], "available");
	}
	for (int round = 0; round < ROUNDS; round++) {
		Frontdesk__V1__PhoneIncomingReply *rep = NULL;
		CHECK_INT(incoming("+15557771111", "race", &rep, &st), FD_OK);
		CHECK_INT(rep->call->n_ringing, N);
		int64_t id = rep->call->id;
		protobuf_c_message_free_unpacked(&rep->base, NULL);
		pthread_barrier_init(&start, NULL, N);
		for (int i = 0; i < N; i++) {
			a[i].call_id = id;
			a[i].start = &start;
			pthread_create(&a[i].thread, NULL, answer, &a[i]);
		}
		int winners = 0, winner = -1;
		for (int i = 0; i < N; i++) {
			pthread_join(a[i].thread, NULL);
			if (a[i].code == FD_OK) {
				winners++;
				winner = i;
			} else {
				CHECK_INT(a[i].code, FD_FAILED_PRECONDITION);
			}
		}
		pthread_barrier_destroy(&start);
		CHECK_INT(winners, 1);
		CHECK(sql_int("SELECT count(*) FROM phone_rings WHERE call_id = %lld AND outcome = 'answered'",
			      (long long)id) == 1);
		CHECK(sql_int("SELECT count(*) FROM phone_rings WHERE call_id = %lld AND stopped_at IS NULL",
			      (long long)id) == 0);
		CHECK_INT(end_call(a[winner].client, id, "", &st), FD_OK);
		/* Ended: a late answer is told so. */
		a[0].call_id = id;
		Frontdesk__V1__PhoneAnswerRequest late = FRONTDESK__V1__PHONE_ANSWER_REQUEST__INIT;
		ProtobufCMessage *lrep = NULL;
		late.call_id = id;
		CHECK_INT(tp_call(a[(winner + 1) % N].client, PHONE_SVC, "Answer", &late.base, &lrep, &st),
			  FD_FAILED_PRECONDITION);
		CHECK(strstr(st.message, "ended") != NULL);
	}
	for (int i = 0; i < N; i++)
		fd_client_close(a[i].client);
}

/* --- overflow and callbacks -------------------------------------------------- */

static void overflow_after_max_wait_leaves_a_callback_that_keeps_its_place(void)
{
	Frontdesk__V1__PhoneIncomingReply *rep = NULL;
	Frontdesk__V1__PhoneListMessagesReply *list = NULL;
	fd_status st;

	CHECK(up());
	CHECK(base_setup());
	CHECK_INT(save_queue("ovf", "ring_all", 0, 0, &st), FD_OK);
	CHECK_INT(add_rule("menu-ovf", 108, "menu", "ovf", "queue", "ovf", "", &st), FD_OK);
	CHECK_INT(incoming("+15557772221", "ovf", &rep, &st), FD_OK);
	int64_t first = rep->call->id;
	CHECK_STR(rep->call->state, "waiting");
	protobuf_c_message_free_unpacked(&rep->base, NULL);
	/* The first caller arrived ten minutes ago and has waited past max. */
	CHECK(sql("UPDATE phone_calls SET received_at = now() - interval '10 minutes',"
		  " waiting_since = now() - interval '10 minutes' WHERE id = %lld", (long long)first) == 0);
	/* A message taken now for a later caller, then the periodic tick. */
	Frontdesk__V1__PhoneTakeMessageRequest take = FRONTDESK__V1__PHONE_TAKE_MESSAGE_REQUEST__INIT;
	ProtobufCMessage *trep = NULL;
	take.for_queue = "ovf";
	take.callback_number = "+15557772222";
	take.reason = "later caller";
	CHECK_INT(tp_call(admin, PHONE_SVC, "TakeMessage", &take.base, &trep, &st), FD_OK);
	protobuf_c_message_free_unpacked(trep, NULL);
	e2e_sleep_ms(2200);
	CHECK(sql_int("SELECT count(*) FROM phone_calls WHERE id = %lld AND state = 'ended'"
		      " AND disposition = 'message_taken'", (long long)first) == 1);
	Frontdesk__V1__PhoneListMessagesRequest lreq = FRONTDESK__V1__PHONE_LIST_MESSAGES_REQUEST__INIT;
	lreq.for_queue = "ovf";
	CHECK_INT(tp_call(admin, PHONE_SVC, "ListMessages", &lreq.base, (ProtobufCMessage **)&list, &st), FD_OK);
	CHECK_INT(list->n_messages, 2);
	/* The overflowed caller came first, so their callback is first. */
	CHECK_STR(list->messages[0]->callback_number, "+15557772221");
	CHECK_INT(list->messages[0]->call_id, first);
	CHECK_STR(list->messages[1]->callback_number, "+15557772222");
	int64_t msg = list->messages[0]->id;
	protobuf_c_message_free_unpacked(&list->base, NULL);
	Frontdesk__V1__PhoneCompleteMessageRequest done = FRONTDESK__V1__PHONE_COMPLETE_MESSAGE_REQUEST__INIT;
	done.message_id = msg;
	CHECK_INT(tp_call(admin, PHONE_SVC, "CompleteMessage", &done.base, &trep, &st), FD_OK);
	protobuf_c_message_free_unpacked(trep, NULL);
	CHECK_INT(tp_call(admin, PHONE_SVC, "CompleteMessage", &done.base, &trep, &st), FD_FAILED_PRECONDITION);
}

/* --- metrics ------------------------------------------------------------- */

static void metrics_add_up_for_a_scripted_day(void)
{
	Frontdesk__V1__PhoneStatsRequest req = FRONTDESK__V1__PHONE_STATS_REQUEST__INIT;
	Frontdesk__V1__PhoneStatsReply *rep = NULL;
	fd_status st;

	CHECK(up());
	CHECK(base_setup());
	CHECK_INT(save_queue("met", "ring_all", 0, 0, &st), FD_OK); /* service level 30 s */
	/* 2024-06-04 New York: five calls into 'met'. Waits 10 s, 30 s, 45 s
	 * (answered), 20 s abandoned, 100 s overflowed; one the day before
	 * in local time (03:30Z on the 4th = 23:30 on the 3rd). */
	CHECK(sql("INSERT INTO phone_calls (id, line_id, caller_e164, state, ended_at, disposition,"
		  " rule_name, route_reason, received_at)"
		  " SELECT 900000 + g, (SELECT id FROM phone_lines WHERE code = 't-main'), '+15550001111',"
		  " 'ended', now(), 'handled', 'x', 'x', now() FROM generate_series(1, 6) g") == 0);
	CHECK(sql("INSERT INTO phone_visits (call_id, queue_id, entered_at, answered_at, answered_by,"
		  " left_at, outcome) SELECT 900000 + v.n, (SELECT id FROM phone_queues WHERE code = 'met'),"
		  " v.e::timestamptz, v.a::timestamptz, CASE WHEN v.a IS NOT NULL THEN"
		  " (SELECT id FROM staff WHERE username = v.who) END, v.l::timestamptz, v.o FROM (VALUES"
		  " (1, '2024-06-04 13:00:00+00', '2024-06-04 13:00:10+00', '2024-06-04 13:05:10+00', 'handled', 'reception1'),"
		  " (2, '2024-06-04 13:20:00+00', '2024-06-04 13:20:30+00', '2024-06-04 13:22:30+00', 'handled', 'reception2'),"
		  " (3, '2024-06-04 15:00:00+00', '2024-06-04 15:00:45+00', '2024-06-04 15:01:45+00', 'handled', 'reception1'),"
		  " (4, '2024-06-04 15:10:00+00', NULL, '2024-06-04 15:10:20+00', 'abandoned', NULL),"
		  " (5, '2024-06-04 16:00:00+00', NULL, '2024-06-04 16:01:40+00', 'overflowed', NULL),"
		  " (6, '2024-06-04 03:30:00+00', '2024-06-04 03:30:05+00', '2024-06-04 03:31:05+00', 'handled', 'reception2'))"
		  " AS v(n, e, a, l, o, who)") == 0);
	req.queue = "met";
	req.date = "2024-06-04";
	CHECK_INT(tp_call(admin, PHONE_SVC, "Stats", &req.base, (ProtobufCMessage **)&rep, &st), FD_OK);
	CHECK_INT(rep->n_queues, 1);
	Frontdesk__V1__PhoneQueueStats *q = rep->queues[0];
	CHECK_INT(q->offered, 5);
	CHECK_INT(q->answered, 3);
	CHECK_INT(q->abandoned, 1);
	CHECK_INT(q->overflowed, 1);
	CHECK_INT(q->answered_within_sl, 2);               /* 10 s and 30 s */
	CHECK_INT((int)(q->average_wait_s * 1000 + 0.5), 28333); /* (10+30+45)/3 */
	CHECK_INT(q->longest_wait_s, 100);
	CHECK_INT((int)(q->service_level_pct * 10 + 0.5), 400);  /* 2 of 5 */
	CHECK_INT(q->n_hours, 3);                           /* 09, 11, 12 local */
	CHECK_INT(q->hours[0]->hour, 9);
	CHECK_INT(q->hours[0]->answered, 2);
	CHECK_INT(rep->n_staff, 2);
	CHECK_STR(rep->staff[0]->username, "reception1");
	CHECK_INT(rep->staff[0]->handled, 2);
	CHECK_INT(rep->staff[0]->talk_time_s, 300 + 60);
	CHECK_INT(rep->staff[1]->talk_time_s, 120);
	protobuf_c_message_free_unpacked(&rep->base, NULL);
	req.date = "2024-02-30";
	CHECK_INT(tp_call(admin, PHONE_SVC, "Stats", &req.base, (ProtobufCMessage **)&rep, &st), FD_INVALID_ARGUMENT);
}

/* --- events ---------------------------------------------------------------- */

static int count_events(fd_events *ev, const char *topic, const char *needle, int wait_ms)
{
	int64_t end = fd_now_mono_ms() + wait_ms;
	int n = 0;

	while (fd_now_mono_ms() < end) {
		Frontdesk__V1__Event *e = NULL;
		bool gap;
		fd_status st;
		int left = (int)(end - fd_now_mono_ms());
		if (fd_events_next(ev, left > 0 ? left : 1, &e, &gap, &st) != FD_OK)
			continue;
		if (strcmp(e->topic, topic) == 0 && strstr(e->subject, needle))
			n++;
		protobuf_c_message_free_unpacked(&e->base, NULL);
	}
	return n;
}

static void ringing_and_stop_ringing_reach_the_right_desks(void)
{
	Frontdesk__V1__PhoneIncomingReply *rep = NULL;
	fd_events *ev;
	fd_status st;
	char needle[64];

	CHECK(up());
	CHECK(base_setup());
	CHECK_INT(save_queue("evq", "ring_all", 0, 0, &st), FD_OK);
	CHECK_INT(add_rule("menu-evq", 109, "menu", "evq", "queue", "evq", "", &st), FD_OK);
	make_staff("eva");
	make_staff("evb");
	CHECK_INT(add_member("evq", "eva", 0, 1), FD_OK);
	CHECK_INT(add_member("evq", "evb", 0, 2), FD_OK);
	set_presence("eva", "available");
	set_presence("evb", "available");
	CHECK(sql("UPDATE phone_presence SET desk_id = (SELECT id FROM desks WHERE code = 'front-2')"
		  " WHERE staff_id = (SELECT id FROM staff WHERE username = 'evb')") == 0);
	CHECK_INT(fd_events_open(&ev, srv.events_url, &st), FD_OK);
	e2e_sleep_ms(300);
	CHECK_INT(incoming("+15557773333", "evq", &rep, &st), FD_OK);
	int64_t id = rep->call->id;
	protobuf_c_message_free_unpacked(&rep->base, NULL);
	long long front2 = sql_int("SELECT id FROM desks WHERE code = 'front-2'");
	snprintf(needle, sizeof needle, "call:%lld desk:%lld", (long long)id, front2);
	CHECK_INT(count_events(ev, "phone.ringing", needle, 800), 1);
	CHECK_INT(end_call(admin, id, "abandoned", &st), FD_OK);
	CHECK_INT(count_events(ev, "phone.ring_stopped", needle, 800), 1);
	fd_events_close(ev);
}

/* --- care teams ------------------------------------------------------------ */

/* A dry run on any line, optionally at a local time there. */
static int route_on(const char *from, const char *line, const char *local,
		    Frontdesk__V1__PhoneRouteReply **out, fd_status *st)
{
	Frontdesk__V1__PhoneRouteRequest req = FRONTDESK__V1__PHONE_ROUTE_REQUEST__INIT;

	req.from = (char *)from;
	req.line = (char *)line;
	req.menu_choice = "";
	req.at_local = (char *)local;
	return tp_call(admin, PHONE_SVC, "Route", &req.base, (ProtobufCMessage **)out, st);
}

static int save_team(const char *code, const char *nurse_queue, fd_status *st)
{
	Frontdesk__V1__PhoneSaveCareTeamRequest req = FRONTDESK__V1__PHONE_SAVE_CARE_TEAM_REQUEST__INIT;
	ProtobufCMessage *rep = NULL;

	req.code = (char *)code;
	req.nurse_queue = (char *)nurse_queue;
	int rc = tp_call(admin, PHONE_SVC, "SaveCareTeam", &req.base, &rep, st);
	if (rep)
		protobuf_c_message_free_unpacked(rep, NULL);
	return rc;
}

static int team_provider(const char *team, const char *provider, fd_status *st)
{
	Frontdesk__V1__PhoneSetCareTeamProviderRequest req = FRONTDESK__V1__PHONE_SET_CARE_TEAM_PROVIDER_REQUEST__INIT;
	ProtobufCMessage *rep = NULL;

	req.team = (char *)team;
	req.provider = (char *)provider;
	int rc = tp_call(admin, PHONE_SVC, "SetCareTeamProvider", &req.base, &rep, st);
	if (rep)
		protobuf_c_message_free_unpacked(rep, NULL);
	return rc;
}

/* A patient on `phone` with an appointment with `provider` `days` from now. */
static bool patient_seeing(const char *phone, const char *provider, int days)
{
	return sql("INSERT INTO patients (family_name, given_name, date_of_birth, phone_e164)"
		   " SELECT 'Team', 'Patient', '1975-05-05', '%s' WHERE NOT EXISTS"
		   " (SELECT 1 FROM patients WHERE phone_e164 = '%s');"
		   " INSERT INTO appointments (patient_id, provider_id, location_id, type_id, starts_at,"
		   " ends_at, blocked_from, blocked_until)"
		   " SELECT p.id, pr.id, l.id, t.id, s, s + interval '20 minutes', s, s + interval '20 minutes'"
		   " FROM patients p, providers pr, locations l, appointment_types t,"
		   " (SELECT date_trunc('hour', now()) + interval '%d days' + interval '7 minutes' * %d AS s) x"
		   " WHERE p.phone_e164 = '%s' AND pr.code = '%s' AND l.code = 'main' AND t.code = 'checkup'",
		   phone, phone, days, (int)(phone[11] - '0'), phone, provider) == 0;
}

/* The rule that decides for `from` on the care-team line, and its reason. */
static bool care_rule_for(const char *from, const char *want_rule, const char *want_in_reason)
{
	Frontdesk__V1__PhoneRouteReply *rep = NULL;
	fd_status st;

	if (route_on(from, "t-care", "", &rep, &st) != FD_OK) {
		th_fail(__FILE__, __LINE__, "Route for %s: %s", from, st.message);
		return false;
	}
	bool ok = strcmp(rep->decision->rule, want_rule) == 0;
	bool why = false;
	for (size_t i = 0; i < rep->decision->n_trace; i++)
		why |= strstr(rep->decision->trace[i], want_in_reason) != NULL;
	if (!ok || !why)
		th_fail(__FILE__, __LINE__, "%s: rule %s (%s), wanted %s with '%s'", from,
			rep->decision->rule, rep->decision->reason, want_rule, want_in_reason);
	protobuf_c_message_free_unpacked(&rep->base, NULL);
	return ok && why;
}

static bool care_setup(void)
{
	static bool done;
	fd_status st;

	if (done)
		return true;
	if (!base_setup())
		return false;
	Frontdesk__V1__PhoneCreateLineRequest line = FRONTDESK__V1__PHONE_CREATE_LINE_REQUEST__INIT;
	ProtobufCMessage *rep = NULL;
	line.code = "t-care";
	line.name = "Nurse line (care teams)";
	line.number = "+15550000003";
	if (tp_call(admin, PHONE_SVC, "CreateLine", &line.base, &rep, &st) != FD_OK)
		return false;
	protobuf_c_message_free_unpacked(rep, NULL);
	rule_line = "t-care";
	int rc = save_queue("t-nurse-a", "ring_all", 0, 0, &st) == FD_OK &&
		 save_team("t-team-a", "t-nurse-a", &st) == FD_OK &&
		 save_team("t-team-b", "", &st) == FD_OK &&
		 team_provider("t-team-a", "smith", &st) == FD_OK &&
		 team_provider("t-team-b", "lee", &st) == FD_OK &&
		 add_rule("t-care-team", 50, "caller_care_team", "", "care_team_queue", "", "", &st) == FD_OK;
	rule_line = "";
	if (!rc) {
		th_fail(__FILE__, __LINE__, "care setup: %s", st.message);
		return false;
	}
	done = true;
	return true;
}

static void a_patient_of_a_provider_whose_team_has_a_nurse_line_goes_there(void)
{
	Frontdesk__V1__PhoneRouteReply *rep = NULL;
	fd_status st;

	CHECK(up());
	CHECK(care_setup());
	/* Next week with Dr. Smith, whose team's nurse line is t-nurse-a. */
	CHECK(patient_seeing("+15556660001", "smith", 7));
	CHECK_INT(route_on("+15556660001", "t-care", "", &rep, &st), FD_OK);
	CHECK_STR(rep->decision->rule, "t-care-team");
	CHECK_STR(rep->decision->action, "queue");
	CHECK_STR(rep->decision->queue, "t-nurse-a");
	CHECK(strstr(rep->decision->reason, "Dr. Jane Smith (next appointment)") != NULL);
	CHECK(strstr(rep->decision->reason, "t-team-a") != NULL);
	protobuf_c_message_free_unpacked(&rep->base, NULL);
	/* Reading whose patient the caller is was audited. */
	CHECK(sql_int("SELECT count(*) FROM audit_log a JOIN patients p ON p.id = a.patient_id"
		      " WHERE a.subject = 'care_team' AND p.phone_e164 = '+15556660001'") == 1);
	/* Only a past visit with Dr. Smith: the latest appointment counts. */
	CHECK(patient_seeing("+15556660002", "smith", -30));
	CHECK(care_rule_for("+15556660002", "t-care-team", "(latest appointment)"));
	/* An incoming call really waits in the nurse line's queue. */
	Frontdesk__V1__PhoneIncomingRequest in = FRONTDESK__V1__PHONE_INCOMING_REQUEST__INIT;
	Frontdesk__V1__PhoneIncomingReply *irep = NULL;
	in.from = "+15556660001";
	in.line = "t-care";
	in.menu_choice = "";
	CHECK_INT(tp_call(admin, PHONE_SVC, "Incoming", &in.base, (ProtobufCMessage **)&irep, &st), FD_OK);
	CHECK_STR(irep->call->queue, "t-nurse-a");
	CHECK_STR(irep->call->rule, "t-care-team");
	int64_t id = irep->call->id;
	protobuf_c_message_free_unpacked(&irep->base, NULL);
	CHECK_INT(end_call(admin, id, "abandoned", &st), FD_OK);
}

static void a_team_without_a_nurse_line_or_a_caller_without_a_provider_falls_through(void)
{
	fd_status st;

	CHECK(up());
	CHECK(care_setup());
	/* Dr. Lee's team has no nurse line. */
	CHECK(patient_seeing("+15556660003", "lee", 3));
	CHECK(care_rule_for("+15556660003", "t-fallback", "which has no nurse line"));
	/* The next appointment decides, not an older one with Dr. Smith. */
	CHECK(patient_seeing("+15556660004", "smith", -10));
	CHECK(patient_seeing("+15556660004", "lee", 2));
	CHECK(care_rule_for("+15556660004", "t-fallback", "Dr. Kim Lee (next appointment)"));
	/* A caller who is no patient; a patient with no appointment at all. */
	CHECK(care_rule_for("+15556669999", "t-fallback", "no patient on the caller's number"));
	CHECK(sql("INSERT INTO patients (family_name, given_name, date_of_birth, phone_e164)"
		  " VALUES ('No', 'Visits', '1990-01-01', '+15556660005')") == 0);
	CHECK(care_rule_for("+15556660005", "t-fallback", "no patient on the number has a provider on a care team"));
	/* Dr. Lee moves to team A: their patients now reach its nurse line. */
	CHECK_INT(team_provider("t-team-a", "lee", &st), FD_OK);
	CHECK(care_rule_for("+15556660003", "t-care-team", "t-team-a"));
	CHECK_INT(team_provider("t-team-b", "lee", &st), FD_OK);
	/* Bad input. */
	CHECK_INT(team_provider("t-team-a", "nobody", &st), FD_NOT_FOUND);
	CHECK_INT(save_team("t-team-c", "no-such-queue", &st), FD_NOT_FOUND);
	CHECK_INT(save_team("Bad Code", "", &st), FD_INVALID_ARGUMENT);
	CHECK_INT(add_rule("t-care-bad", 51, "menu", "x", "care_team_queue", "", "", &st),
		  FD_INVALID_ARGUMENT);
}

/* --- changing and removing configuration ------------------------------------ */

static int delete_by_code(const char *method, const char *code, fd_status *st)
{
	Frontdesk__V1__PhoneDeleteQueueRequest req = FRONTDESK__V1__PHONE_DELETE_QUEUE_REQUEST__INIT;
	ProtobufCMessage *rep = NULL;

	/* DeleteLine, DeleteQueue and DeleteCareTeam all take { string code = 1; }. */
	req.code = (char *)code;
	int rc = tp_call(admin, PHONE_SVC, method, &req.base, &rep, st);
	if (rep)
		protobuf_c_message_free_unpacked(rep, NULL);
	return rc;
}

static int save_overflow(const char *code, const char *target, int max_wait_s, fd_status *st)
{
	Frontdesk__V1__PhoneSaveQueueRequest req = FRONTDESK__V1__PHONE_SAVE_QUEUE_REQUEST__INIT;
	ProtobufCMessage *rep = NULL;

	req.code = (char *)code;
	req.overflow = "queue";
	req.overflow_queue = (char *)target;
	req.max_wait_s = max_wait_s;
	int rc = tp_call(admin, PHONE_SVC, "SaveQueue", &req.base, &rep, st);
	if (rep)
		protobuf_c_message_free_unpacked(rep, NULL);
	return rc;
}

static void a_line_or_queue_still_referred_to_cannot_be_removed(void)
{
	Frontdesk__V1__PhoneCreateLineRequest line = FRONTDESK__V1__PHONE_CREATE_LINE_REQUEST__INIT;
	Frontdesk__V1__PhoneUpdateLineRequest upd = FRONTDESK__V1__PHONE_UPDATE_LINE_REQUEST__INIT;
	Frontdesk__V1__PhoneUpdateLineReply *urep = NULL;
	ProtobufCMessage *rep = NULL;
	fd_status st;

	CHECK(up());
	CHECK(care_setup());
	line.code = "t-spare";
	line.name = "Spare";
	line.number = "+15550000009";
	CHECK_INT(tp_call(admin, PHONE_SVC, "CreateLine", &line.base, &rep, &st), FD_OK);
	protobuf_c_message_free_unpacked(rep, NULL);
	upd.code = "t-spare";
	upd.number = "+15550000019";
	CHECK_INT(tp_call(admin, PHONE_SVC, "UpdateLine", &upd.base, (ProtobufCMessage **)&urep, &st), FD_OK);
	CHECK_STR(urep->line->number, "+15550000019");
	CHECK_STR(urep->line->name, "Spare");
	protobuf_c_message_free_unpacked(&urep->base, NULL);
	upd.number = "555";
	CHECK_INT(tp_call(admin, PHONE_SVC, "UpdateLine", &upd.base, (ProtobufCMessage **)&urep, &st), FD_INVALID_ARGUMENT);
	upd.number = "+15550000001"; /* t-main's */
	CHECK_INT(tp_call(admin, PHONE_SVC, "UpdateLine", &upd.base, (ProtobufCMessage **)&urep, &st), FD_ALREADY_EXISTS);
	CHECK(strstr(st.message, "another phone line has that number") != NULL);
	upd.code = "nope";
	upd.number = "";
	upd.name = "x";
	CHECK_INT(tp_call(admin, PHONE_SVC, "UpdateLine", &upd.base, (ProtobufCMessage **)&urep, &st), FD_NOT_FOUND);
	/* Unused: goes. A line with a rule, or one that took calls, stays. */
	CHECK_INT(delete_by_code("DeleteLine", "t-spare", &st), FD_OK);
	CHECK_INT(delete_by_code("DeleteLine", "t-spare", &st), FD_NOT_FOUND);
	CHECK_INT(delete_by_code("DeleteLine", "t-care", &st), FD_FAILED_PRECONDITION);
	CHECK(strstr(st.message, "t-care-team") != NULL);
	CHECK_INT(delete_by_code("DeleteLine", "t-main", &st), FD_FAILED_PRECONDITION);
	CHECK(strstr(st.message, "history") != NULL);
	CHECK(sql_int("SELECT count(*) FROM phone_lines WHERE code IN ('t-care', 't-main')") == 2);
	/* Queues: each kind of reference is named. */
	CHECK_INT(save_queue("t-unused", "ring_all", 0, 0, &st), FD_OK);
	CHECK_INT(add_member("t-unused", "reception1", 0, 1), FD_OK);
	CHECK_INT(delete_by_code("DeleteQueue", "t-unused", &st), FD_OK);
	CHECK(sql_int("SELECT count(*) FROM phone_queues WHERE code = 't-unused'") == 0);
	CHECK_INT(delete_by_code("DeleteQueue", "t-front", &st), FD_FAILED_PRECONDITION);
	CHECK(strstr(st.message, "t-fallback") != NULL);
	CHECK_INT(delete_by_code("DeleteQueue", "t-nurse-a", &st), FD_FAILED_PRECONDITION);
	CHECK(strstr(st.message, "care team 't-team-a'") != NULL);
	CHECK_INT(save_queue("t-dst", "ring_all", 0, 0, &st), FD_OK);
	CHECK_INT(save_overflow("t-src", "t-dst", 0, &st), FD_OK);
	CHECK_INT(delete_by_code("DeleteQueue", "t-dst", &st), FD_FAILED_PRECONDITION);
	CHECK(strstr(st.message, "'t-src' overflows into it") != NULL);
	CHECK_INT(delete_by_code("DeleteQueue", "nope", &st), FD_NOT_FOUND);
	/* A care team holds no history: it goes with its provider links. */
	CHECK_INT(save_team("t-team-gone", "t-dst", &st), FD_OK);
	CHECK_INT(team_provider("t-team-gone", "okafor", &st), FD_OK);
	CHECK_INT(delete_by_code("DeleteCareTeam", "t-team-gone", &st), FD_OK);
	CHECK(sql_int("SELECT count(*) FROM phone_care_team_providers tp JOIN providers p"
		      " ON p.id = tp.provider_id WHERE p.code = 'okafor'") == 0);
}

static int update_rule(const char *name, int priority, const char *condition, const char *menu,
		       const char *action, const char *queue, const char *box, fd_status *st)
{
	Frontdesk__V1__PhoneUpdateRuleRequest req = FRONTDESK__V1__PHONE_UPDATE_RULE_REQUEST__INIT;
	Frontdesk__V1__PhoneRule rule = FRONTDESK__V1__PHONE_RULE__INIT;
	ProtobufCMessage *rep = NULL;

	rule.name = (char *)name;
	rule.priority = priority;
	rule.condition = (char *)condition;
	rule.menu_choice = (char *)menu;
	rule.action = (char *)action;
	rule.queue = (char *)queue;
	rule.voicemail_box = (char *)box;
	req.rule = &rule;
	int rc = tp_call(admin, PHONE_SVC, "UpdateRule", &req.base, &rep, st);
	if (rep)
		protobuf_c_message_free_unpacked(rep, NULL);
	return rc;
}

static void a_rule_can_be_changed_but_the_last_fallback_must_stay_one(void)
{
	Frontdesk__V1__PhoneIncomingReply *in = NULL;
	fd_status st;

	CHECK(up());
	CHECK(base_setup());
	CHECK_INT(add_rule("t-upd", 120, "menu", "upd", "queue", "t-front", "", &st), FD_OK);
	CHECK_INT(update_rule("t-upd", 121, "menu", "upd2", "voicemail", "", "upd-box", &st), FD_OK);
	CHECK_INT(incoming("+15557775555", "upd2", &in, &st), FD_OK);
	CHECK_STR(in->decision->rule, "t-upd");
	CHECK_STR(in->call->voicemail_box, "upd-box");
	protobuf_c_message_free_unpacked(&in->base, NULL);
	CHECK(sql_int("SELECT priority FROM phone_rules WHERE name = 't-upd'") == 121);
	/* The only fallback cannot stop being one; nothing changes. */
	CHECK_INT(update_rule("t-fallback", 9000, "open", "", "queue", "t-front", "", &st),
		  FD_FAILED_PRECONDITION);
	CHECK(sql_int("SELECT count(*) FROM phone_rules WHERE name = 't-fallback'"
		      " AND condition = 'always'") == 1);
	/* It may change as long as it stays a fallback. */
	CHECK_INT(update_rule("t-fallback", 9001, "always", "", "queue", "t-front", "", &st), FD_OK);
	CHECK_INT(update_rule("t-fallback", 9000, "always", "", "queue", "t-front", "", &st), FD_OK);
	/* Another rule's priority is taken; an unknown rule; a bad shape. */
	CHECK_INT(update_rule("t-upd", 9000, "menu", "upd2", "voicemail", "", "upd-box", &st),
		  FD_ALREADY_EXISTS);
	CHECK(strstr(st.message, "priority") != NULL);
	CHECK_INT(update_rule("t-nope", 122, "always", "", "voicemail", "", "x", &st), FD_NOT_FOUND);
	CHECK_INT(update_rule("t-upd", 121, "menu", "", "voicemail", "", "upd-box", &st), FD_INVALID_ARGUMENT);
}

static int on_call(const char *method, int64_t id, const char *who, const char *from,
		   const char *until, Frontdesk__V1__PhoneOnCallEntry *got, fd_status *st)
{
	Frontdesk__V1__PhoneAddOnCallRequest add = FRONTDESK__V1__PHONE_ADD_ON_CALL_REQUEST__INIT;
	Frontdesk__V1__PhoneOnCallEntry e = FRONTDESK__V1__PHONE_ON_CALL_ENTRY__INIT;
	Frontdesk__V1__PhoneAddOnCallReply *rep = NULL;

	/* AddOnCall and UpdateOnCall both carry { PhoneOnCallEntry entry = 1; }. */
	e.id = id;
	e.username = (char *)who;
	e.number = strcmp(method, "AddOnCall") == 0 ? "+15558880001" : "";
	e.starts_local = (char *)from;
	e.ends_local = (char *)until;
	add.entry = &e;
	int rc = tp_call(admin, PHONE_SVC, method, &add.base, (ProtobufCMessage **)&rep, st);
	if (rc == FD_OK && got) {
		got->id = rep->entry->id;
		got->starts_unix_ms = rep->entry->starts_unix_ms;
		got->ends_unix_ms = rep->entry->ends_unix_ms;
	}
	if (rep)
		protobuf_c_message_free_unpacked(&rep->base, NULL);
	return rc;
}

static void on_call_entries_move_in_local_time_but_never_onto_each_other(void)
{
	Frontdesk__V1__PhoneOnCallEntry a = FRONTDESK__V1__PHONE_ON_CALL_ENTRY__INIT, b = a;
	Frontdesk__V1__PhoneDeleteOnCallRequest del = FRONTDESK__V1__PHONE_DELETE_ON_CALL_REQUEST__INIT;
	ProtobufCMessage *rep = NULL;
	fd_status st;

	CHECK(up());
	CHECK(base_setup());
	/* Local times in New York (EDT in July: UTC-4). */
	CHECK_INT(on_call("AddOnCall", 0, "drsmith", "2026-07-01T17:00", "2026-07-02T08:00", &a, &st), FD_OK);
	CHECK(a.starts_unix_ms == sql_int("SELECT (extract(epoch FROM timestamptz '2026-07-01 21:00+00') * 1000)::bigint"));
	CHECK(a.ends_unix_ms == sql_int("SELECT (extract(epoch FROM timestamptz '2026-07-02 12:00+00') * 1000)::bigint"));
	CHECK_INT(on_call("AddOnCall", 0, "nurse1", "2026-07-02T17:00", "2026-07-03T08:00", &b, &st), FD_OK);
	/* Moving b's start to 07:00 would overlap a: refused, b unchanged. */
	CHECK_INT(on_call("UpdateOnCall", b.id, "", "2026-07-02T07:00", "", NULL, &st), FD_FAILED_PRECONDITION);
	CHECK(strstr(st.message, "drsmith") != NULL);
	CHECK(sql_int("SELECT count(*) FROM phone_on_call WHERE id = %lld AND starts_at ="
		      " timestamptz '2026-07-02 21:00+00'", (long long)b.id) == 1);
	CHECK_INT(on_call("UpdateOnCall", b.id, "drsmith", "", "", NULL, &st), FD_OK);
	CHECK_INT(on_call("UpdateOnCall", 999999, "drsmith", "", "", NULL, &st), FD_NOT_FOUND);
	/* A local time the clocks skip does not exist. */
	CHECK_INT(on_call("AddOnCall", 0, "drsmith", "2026-03-08T02:30", "2026-03-08T08:00", NULL, &st),
		  FD_INVALID_ARGUMENT);
	CHECK_INT(on_call("AddOnCall", 0, "drsmith", "2026-07-05 25:00", "2026-07-06T08:00", NULL, &st),
		  FD_INVALID_ARGUMENT);
	del.id = a.id;
	CHECK_INT(tp_call(admin, PHONE_SVC, "DeleteOnCall", &del.base, &rep, &st), FD_OK);
	protobuf_c_message_free_unpacked(rep, NULL);
	CHECK_INT(tp_call(admin, PHONE_SVC, "DeleteOnCall", &del.base, &rep, &st), FD_NOT_FOUND);
	/* With a gone, b may start at 07:00. */
	CHECK_INT(on_call("UpdateOnCall", b.id, "", "2026-07-02T07:00", "", NULL, &st), FD_OK);
}

static void holidays_and_listed_numbers_can_be_removed(void)
{
	Frontdesk__V1__PhoneAddHolidayRequest add = FRONTDESK__V1__PHONE_ADD_HOLIDAY_REQUEST__INIT;
	Frontdesk__V1__PhoneDeleteHolidayRequest del = FRONTDESK__V1__PHONE_DELETE_HOLIDAY_REQUEST__INIT;
	Frontdesk__V1__PhoneListTimeConditionsRequest list = FRONTDESK__V1__PHONE_LIST_TIME_CONDITIONS_REQUEST__INIT;
	Frontdesk__V1__PhoneListTimeConditionsReply *tc = NULL;
	ProtobufCMessage *rep = NULL;
	fd_status st;

	CHECK(up());
	CHECK(time_rules());
	add.date = "2030-12-25";
	add.name = "Christmas";
	CHECK_INT(tp_call(admin, PHONE_SVC, "AddHoliday", &add.base, &rep, &st), FD_OK);
	protobuf_c_message_free_unpacked(rep, NULL);
	CHECK(rule_at("2030-12-25 15:00:00+00", "t-holiday"));
	CHECK_INT(tp_call(admin, PHONE_SVC, "ListTimeConditions", &list.base, (ProtobufCMessage **)&tc, &st), FD_OK);
	CHECK_STR(tc->time_zone, "America/New_York");
	CHECK_INT(tc->n_hours, 7);
	CHECK_STR(tc->hours[0]->lunch_starts, "12:00");
	bool listed = false;
	for (size_t i = 0; i < tc->n_holidays; i++)
		listed |= strcmp(tc->holidays[i]->date, "2030-12-25") == 0;
	CHECK(listed);
	protobuf_c_message_free_unpacked(&tc->base, NULL);
	del.date = "2030-12-25";
	CHECK_INT(tp_call(admin, PHONE_SVC, "DeleteHoliday", &del.base, &rep, &st), FD_OK);
	protobuf_c_message_free_unpacked(rep, NULL);
	CHECK(rule_at("2030-12-25 15:00:00+00", "t-fallback"));
	CHECK_INT(tp_call(admin, PHONE_SVC, "DeleteHoliday", &del.base, &rep, &st), FD_NOT_FOUND);
	del.date = "2030-02-30";
	CHECK_INT(tp_call(admin, PHONE_SVC, "DeleteHoliday", &del.base, &rep, &st), FD_INVALID_ARGUMENT);

	Frontdesk__V1__PhoneAddListedNumberRequest ln = FRONTDESK__V1__PHONE_ADD_LISTED_NUMBER_REQUEST__INIT;
	Frontdesk__V1__PhoneDeleteListedNumberRequest dl = FRONTDESK__V1__PHONE_DELETE_LISTED_NUMBER_REQUEST__INIT;
	ln.number = "+15554443333";
	ln.name = "Corner Pharmacy";
	ln.queue = "t-front";
	CHECK_INT(tp_call(admin, PHONE_SVC, "AddListedNumber", &ln.base, &rep, &st), FD_OK);
	protobuf_c_message_free_unpacked(rep, NULL);
	dl.number = "+15554443333";
	CHECK_INT(tp_call(admin, PHONE_SVC, "DeleteListedNumber", &dl.base, &rep, &st), FD_OK);
	protobuf_c_message_free_unpacked(rep, NULL);
	CHECK_INT(tp_call(admin, PHONE_SVC, "DeleteListedNumber", &dl.base, &rep, &st), FD_NOT_FOUND);
}

/* --- route at a local time ------------------------------------------------------ */

static bool rule_at_local(const char *local, const char *want)
{
	Frontdesk__V1__PhoneRouteReply *rep = NULL;
	fd_status st;

	if (route_on("+15557770100", "t-hours", local, &rep, &st) != FD_OK) {
		th_fail(__FILE__, __LINE__, "Route at %s: %s", local, st.message);
		return false;
	}
	bool ok = strcmp(rep->decision->rule, want) == 0;
	if (!ok)
		th_fail(__FILE__, __LINE__, "at %s: rule %s, wanted %s (%s)", local, rep->decision->rule,
			want, rep->decision->reason);
	protobuf_c_message_free_unpacked(&rep->base, NULL);
	return ok;
}

static void route_takes_a_local_time_at_the_line_location(void)
{
	Frontdesk__V1__PhoneRouteReply *rep = NULL;
	fd_status st;

	CHECK(up());
	CHECK(time_rules());
	CHECK(rule_at_local("2024-06-04T10:30", "t-fallback"));
	CHECK(rule_at_local("2024-06-04 12:30", "t-lunch"));
	CHECK(rule_at_local("2024-06-05T17:30:00", "t-after-hours"));
	/* Spring forward (2024-03-10): 08:30 is EDT; 02:30 never happens. */
	CHECK(rule_at_local("2024-03-10T08:30", "t-fallback"));
	CHECK_INT(route_on("+15557770100", "t-hours", "2024-03-10T02:30", &rep, &st), FD_INVALID_ARGUMENT);
	CHECK(strstr(st.message, "does not exist") != NULL);
	/* Fall back (2024-11-03): 16:30 is EST and open, 17:30 closed. */
	CHECK(rule_at_local("2024-11-03T16:30", "t-fallback"));
	CHECK(rule_at_local("2024-11-03T17:30", "t-after-hours"));
	/* A clock time alone is today there. */
	CHECK_INT(route_on("+15557770100", "t-hours", "11:00", &rep, &st), FD_OK);
	protobuf_c_message_free_unpacked(&rep->base, NULL);
	CHECK_INT(route_on("+15557770100", "t-hours", "24:00", &rep, &st), FD_INVALID_ARGUMENT);
	CHECK_INT(route_on("+15557770100", "t-hours", "2024-02-30T10:00", &rep, &st), FD_INVALID_ARGUMENT);
	CHECK_INT(route_on("+15557770100", "t-hours", "tomorrow", &rep, &st), FD_INVALID_ARGUMENT);
	CHECK_INT(route_on("+15557770100", "t-nowhere", "10:00", &rep, &st), FD_NOT_FOUND);
}

/* --- callbacks keep their place -------------------------------------------------- */

static int take_callback(int64_t call_id, const char *number, int64_t *id, fd_status *st)
{
	Frontdesk__V1__PhoneTakeMessageRequest req = FRONTDESK__V1__PHONE_TAKE_MESSAGE_REQUEST__INIT;
	Frontdesk__V1__PhoneTakeMessageReply *rep = NULL;

	req.call_id = call_id;
	req.for_queue = "cbq";
	req.callback_number = (char *)number;
	req.reason = "call back";
	req.callback_due_unix_ms = fd_now_unix_ms() - 1000;
	int rc = tp_call(admin, PHONE_SVC, "TakeMessage", &req.base, (ProtobufCMessage **)&rep, st);
	if (rc == FD_OK)
		*id = rep->message->id;
	if (rep)
		protobuf_c_message_free_unpacked(&rep->base, NULL);
	return rc;
}

static int complete_message(int64_t id, fd_status *st)
{
	Frontdesk__V1__PhoneCompleteMessageRequest req = FRONTDESK__V1__PHONE_COMPLETE_MESSAGE_REQUEST__INIT;
	ProtobufCMessage *rep = NULL;

	req.message_id = id;
	int rc = tp_call(admin, PHONE_SVC, "CompleteMessage", &req.base, &rep, st);
	if (rep)
		protobuf_c_message_free_unpacked(rep, NULL);
	return rc;
}

/* Who the queue's callback `id` is offered to, via ListMessages. */
static bool offered_to(int64_t id, const char *want)
{
	Frontdesk__V1__PhoneListMessagesRequest req = FRONTDESK__V1__PHONE_LIST_MESSAGES_REQUEST__INIT;
	Frontdesk__V1__PhoneListMessagesReply *rep = NULL;
	fd_status st;
	bool ok = false;

	req.for_queue = "cbq";
	req.callbacks_only = true;
	if (tp_call(admin, PHONE_SVC, "ListMessages", &req.base, (ProtobufCMessage **)&rep, &st) != FD_OK) {
		th_fail(__FILE__, __LINE__, "ListMessages: %s", st.message);
		return false;
	}
	for (size_t i = 0; i < rep->n_messages; i++)
		if (rep->messages[i]->id == id)
			ok = strcmp(rep->messages[i]->offered_to, want) == 0;
	if (!ok)
		th_fail(__FILE__, __LINE__, "callback %lld is not offered to '%s'", (long long)id, want);
	protobuf_c_message_free_unpacked(&rep->base, NULL);
	return ok;
}

static long long open_rings(int64_t call, const char *who)
{
	return sql_int("SELECT count(*) FROM phone_rings r JOIN staff s ON s.id = r.staff_id"
		       " WHERE r.call_id = %lld AND s.username = '%s' AND r.stopped_at IS NULL",
		       (long long)call, who);
}

static bool callback_queue(void)
{
	static bool done;
	fd_status st;

	if (done)
		return true;
	if (!base_setup())
		return false;
	make_staff("cba");
	done = save_queue("cbq", "linear", 0, 0, &st) == FD_OK &&
	       add_rule("menu-cbq", 110, "menu", "cbq", "queue", "cbq", "", &st) == FD_OK &&
	       add_member("cbq", "cba", 0, 1) == FD_OK;
	return done;
}

static void a_due_callback_is_offered_before_calls_that_arrived_later(void)
{
	Frontdesk__V1__PhoneIncomingReply *rep = NULL;
	int64_t msg;
	fd_status st;

	CHECK(up());
	CHECK(callback_queue());
	set_presence("cba", "away");
	/* The original call came five minutes ago and left a callback. */
	CHECK_INT(incoming("+15557774441", "cbq", &rep, &st), FD_OK);
	int64_t first = rep->call->id;
	protobuf_c_message_free_unpacked(&rep->base, NULL);
	CHECK(sql("UPDATE phone_calls SET received_at = now() - interval '5 minutes',"
		  " waiting_since = now() - interval '5 minutes' WHERE id = %lld", (long long)first) == 0);
	CHECK_INT(take_callback(first, "+15557774441", &msg, &st), FD_OK);
	CHECK_INT(end_call(admin, first, "message_taken", &st), FD_OK);
	/* A later caller waits; nobody is free yet. */
	CHECK_INT(incoming("+15557774442", "cbq", &rep, &st), FD_OK);
	int64_t later = rep->call->id;
	CHECK_INT(rep->call->n_ringing, 0);
	protobuf_c_message_free_unpacked(&rep->base, NULL);
	/* The member comes back: the callback is theirs (an event at their
	 * desk says so), the later call does not ring them. */
	fd_events *ev;
	char needle[96];
	CHECK_INT(fd_events_open(&ev, srv.events_url, &st), FD_OK);
	e2e_sleep_ms(300);
	set_presence("cba", "available");
	CHECK(sql_int("SELECT count(*) FROM (SELECT phone_tick()) t") == 1);
	CHECK(offered_to(msg, "cba"));
	snprintf(needle, sizeof needle, "message:%lld desk:%lld", (long long)msg,
		 sql_int("SELECT id FROM desks WHERE code = 'front-1'"));
	CHECK_INT(count_events(ev, "phone.callback", needle, 800), 1);
	fd_events_close(ev);
	CHECK(open_rings(later, "cba") == 0);
	CHECK(sql_int("SELECT count(*) FROM (SELECT phone_tick()) t") == 1);
	CHECK(open_rings(later, "cba") == 0);
	/* Callback done: now the later call rings them. */
	CHECK_INT(complete_message(msg, &st), FD_OK);
	CHECK(sql_int("SELECT count(*) FROM (SELECT phone_tick()) t") == 1);
	CHECK(open_rings(later, "cba") == 1);
	CHECK_INT(end_call(admin, later, "abandoned", &st), FD_OK);
}

static void a_callback_behind_an_earlier_call_waits_its_turn(void)
{
	Frontdesk__V1__PhoneIncomingReply *rep = NULL;
	int64_t msg;
	fd_status st;

	CHECK(up());
	CHECK(callback_queue());
	set_presence("cba", "away");
	CHECK_INT(incoming("+15557774443", "cbq", &rep, &st), FD_OK);
	int64_t earlier = rep->call->id;
	protobuf_c_message_free_unpacked(&rep->base, NULL);
	CHECK(sql("UPDATE phone_calls SET received_at = now() - interval '1 minute' WHERE id = %lld",
		  (long long)earlier) == 0);
	/* Taken now, no original call: its place is after the waiting caller. */
	CHECK_INT(take_callback(0, "+15557774444", &msg, &st), FD_OK);
	set_presence("cba", "available");
	CHECK(sql_int("SELECT count(*) FROM (SELECT phone_tick()) t") == 1);
	CHECK(open_rings(earlier, "cba") == 1);
	CHECK(offered_to(msg, ""));
	/* The earlier caller gone, the member is free: the callback is theirs. */
	CHECK_INT(end_call(admin, earlier, "abandoned", &st), FD_OK);
	CHECK(sql_int("SELECT count(*) FROM (SELECT phone_tick()) t") == 1);
	CHECK(offered_to(msg, "cba"));
	/* Stepping away hands it back, still in its place. */
	set_presence("cba", "away");
	CHECK(sql_int("SELECT count(*) FROM (SELECT phone_tick()) t") == 1);
	CHECK(offered_to(msg, ""));
	CHECK_INT(complete_message(msg, &st), FD_OK);
}

/* --- overflow chains ---------------------------------------------------------------- */

static void an_overflow_chain_that_loops_is_refused_when_saved(void)
{
	fd_status st;

	CHECK(up());
	CHECK(base_setup());
	CHECK_INT(save_queue("ova", "ring_all", 0, 0, &st), FD_OK);
	CHECK_INT(save_queue("ovb", "ring_all", 0, 0, &st), FD_OK);
	CHECK_INT(save_queue("ovc", "ring_all", 0, 0, &st), FD_OK);
	CHECK_INT(save_overflow("ova", "ovb", 0, &st), FD_OK);
	CHECK_INT(save_overflow("ovb", "ovc", 0, &st), FD_OK);
	CHECK_INT(save_overflow("ovc", "ova", 0, &st), FD_FAILED_PRECONDITION);
	CHECK(strstr(st.message, "ovc -> ova -> ovb -> ovc") != NULL);
	CHECK(sql_int("SELECT count(*) FROM phone_queues WHERE code = 'ovc' AND overflow_queue_id IS NULL") == 1);
	CHECK_INT(save_overflow("ovc", "ovc", 0, &st), FD_INVALID_ARGUMENT);
	/* The database refuses it too, whoever writes it. */
	CHECK(sql("UPDATE phone_queues SET overflow = 'queue', overflow_queue_id ="
		  " (SELECT id FROM phone_queues WHERE code = 'ova') WHERE code = 'ovc'") != 0);
}

static void a_loop_written_around_the_check_ends_in_a_callback_not_a_merry_go_round(void)
{
	Frontdesk__V1__PhoneIncomingReply *rep = NULL;
	fd_status st;

	CHECK(up());
	CHECK(base_setup());
	CHECK_INT(save_queue("lpa", "ring_all", 0, 0, &st), FD_OK);
	CHECK_INT(save_overflow("lpb", "lpa", 10, &st), FD_OK);
	CHECK_INT(add_rule("menu-lpa", 111, "menu", "lpa", "queue", "lpa", "", &st), FD_OK);
	/* A restore from an old dump, say: the loop check did not run. */
	CHECK(sql("SET session_replication_role = replica; UPDATE phone_queues SET overflow = 'queue',"
		  " max_wait_s = 10, overflow_queue_id = (SELECT id FROM phone_queues WHERE code = 'lpb')"
		  " WHERE code = 'lpa'") == 0);
	CHECK_INT(incoming("+15557776661", "lpa", &rep, &st), FD_OK);
	int64_t id = rep->call->id;
	protobuf_c_message_free_unpacked(&rep->base, NULL);
	CHECK(sql("UPDATE phone_calls SET waiting_since = now() - interval '11 seconds' WHERE id = %lld",
		  (long long)id) == 0);
	CHECK(sql_int("SELECT count(*) FROM (SELECT phone_tick()) t") == 1);
	CHECK(sql_int("SELECT count(*) FROM phone_calls c JOIN phone_queues q ON q.id = c.queue_id"
		      " WHERE c.id = %lld AND q.code = 'lpb' AND c.state = 'waiting'", (long long)id) == 1);
	CHECK(sql("UPDATE phone_calls SET waiting_since = now() - interval '11 seconds' WHERE id = %lld",
		  (long long)id) == 0);
	CHECK(sql_int("SELECT count(*) FROM (SELECT phone_tick()) t") == 1);
	/* Back at lpb's door it would loop: the caller gets a callback. */
	CHECK(sql_int("SELECT count(*) FROM phone_calls WHERE id = %lld AND state = 'ended'"
		      " AND disposition = 'message_taken'", (long long)id) == 1);
	CHECK(sql_int("SELECT count(*) FROM phone_messages m JOIN phone_queues q ON q.id = m.for_queue_id"
		      " WHERE m.call_id = %lld AND q.code = 'lpb' AND m.reason LIKE '%%loops%%'",
		      (long long)id) == 1);
	CHECK(sql_int("SELECT count(*) FROM phone_visits WHERE call_id = %lld", (long long)id) == 2);
}

static void the_server_exits_cleanly(void)
{
	CHECK(up());
	fd_client_close(admin);
	e2e_stop(&srv);
}

TH_MAIN(TH_CASE(round_robin_remembers_who_was_rung_last),
	TH_CASE(linear_always_starts_at_the_top_and_skips_the_busy),
	TH_CASE(least_recent_rings_whoever_finished_longest_ago),
	TH_CASE(fewest_calls_rings_whoever_answered_least_today),
	TH_CASE(random_rings_every_available_member_and_never_the_away_one),
	TH_CASE(ring_all_respects_penalty_tiers_widening_after_the_wait),
	TH_CASE(wrap_up_keeps_a_member_from_ringing_until_it_runs_out),
	TH_CASE(after_hours_and_lunch_route_in_the_location_time_zone),
	TH_CASE(a_daylight_saving_day_uses_the_new_offset),
	TH_CASE(a_holiday_closes_the_whole_local_day),
	TH_CASE(a_manual_override_beats_the_hours),
	TH_CASE(after_hours_goes_to_whoever_is_on_call),
	TH_CASE(a_rule_set_without_fallback_is_refused),
	TH_CASE(a_household_number_pops_every_patient_on_it),
	TH_CASE(exactly_one_desk_wins_a_ringing_call),
	TH_CASE(overflow_after_max_wait_leaves_a_callback_that_keeps_its_place),
	TH_CASE(metrics_add_up_for_a_scripted_day),
	TH_CASE(ringing_and_stop_ringing_reach_the_right_desks),
	TH_CASE(a_patient_of_a_provider_whose_team_has_a_nurse_line_goes_there),
	TH_CASE(a_team_without_a_nurse_line_or_a_caller_without_a_provider_falls_through),
	TH_CASE(a_line_or_queue_still_referred_to_cannot_be_removed),
	TH_CASE(a_rule_can_be_changed_but_the_last_fallback_must_stay_one),
	TH_CASE(on_call_entries_move_in_local_time_but_never_onto_each_other),
	TH_CASE(holidays_and_listed_numbers_can_be_removed),
	TH_CASE(route_takes_a_local_time_at_the_line_location),
	TH_CASE(a_due_callback_is_offered_before_calls_that_arrived_later),
	TH_CASE(a_callback_behind_an_earlier_call_waits_its_turn),
	TH_CASE(an_overflow_chain_that_loops_is_refused_when_saved),
	TH_CASE(a_loop_written_around_the_check_ends_in_a_callback_not_a_merry_go_round),
	TH_CASE(the_server_exits_cleanly))
