/*
 * `desk phone ...` administration beyond creating things: changing and
 * removing lines, queues, holidays and listed numbers; the time conditions
 * of a location at a glance; the on-call rota (times typed as local times
 * at the location, or unix seconds); care teams and their nurse lines; and
 * the callbacks waiting in line. Like cmd_phone.c, each verb is one Phone
 * RPC and every server string is printed through output.c's escaping.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "output.h"
#include "settings.h"
#include "frontdesk/v1/phone.pb-c.h"

/* This file's commands (their rows are in cmd_phone.def). */
int cmd_phone_line_update(struct desk *d, int argc, char **argv);
int cmd_phone_line_delete(struct desk *d, int argc, char **argv);
int cmd_phone_queue_delete(struct desk *d, int argc, char **argv);
int cmd_phone_holiday_delete(struct desk *d, int argc, char **argv);
int cmd_phone_listed_add(struct desk *d, int argc, char **argv);
int cmd_phone_listed_delete(struct desk *d, int argc, char **argv);
int cmd_phone_time_conditions(struct desk *d, int argc, char **argv);
int cmd_phone_on_call(struct desk *d, int argc, char **argv);
int cmd_phone_on_call_add(struct desk *d, int argc, char **argv);
int cmd_phone_on_call_update(struct desk *d, int argc, char **argv);
int cmd_phone_on_call_delete(struct desk *d, int argc, char **argv);
int cmd_phone_care_teams(struct desk *d, int argc, char **argv);
int cmd_phone_care_team_save(struct desk *d, int argc, char **argv);
int cmd_phone_care_team_delete(struct desk *d, int argc, char **argv);
int cmd_phone_care_team_provider(struct desk *d, int argc, char **argv);
int cmd_phone_callbacks(struct desk *d, int argc, char **argv);

#define countof(a) (sizeof(a) / sizeof((a)[0]))

static const ProtobufCServiceDescriptor *const phone = &frontdesk__v1__phone__descriptor;

static const char *or_empty(const char *s)
{
	return s ? s : "";
}

/* Prints {"ok":true} or a sentence for replies that carry nothing. */
static int done(struct desk *d, ProtobufCMessage *reply, const char *sentence)
{
	protobuf_c_message_free_unpacked(reply, NULL);
	if (d->json) {
		struct desk_json j;
		json_begin(&j, stdout);
		json_bool(&j, "ok", true);
		json_end(&j);
	} else {
		puts(sentence);
	}
	return 0;
}

/* A removal whose only flag is one required text value: parses it into
 * *value, which `req` already points at, and makes the call. */
static int remove_one(struct desk *d, int argc, char **argv, const struct desk_flag *flag,
		      const char **value, const char *method, ProtobufCMessage *req,
		      const char *sentence)
{
	ProtobufCMessage *reply;
	int rc;

	if ((rc = desk_parse_flags(d, flag, 1, argc, argv)) != DESK_GO)
		return rc;
	if (!*value)
		return desk_usage(d, "missing --%s %s", flag->name, flag->value_name);
	if ((rc = desk_connect(d, true)) != 0 || (rc = desk_call(d, phone, method, req, &reply)) != 0)
		return rc;
	return done(d, reply, sentence);
}

/* A time flag: unix seconds (all digits), else a local time at the
 * location that the server reads in the location's zone. */
static int parse_time(struct desk *d, const char *flag, const char *text, int64_t *unix_ms,
		      char **local)
{
	if (text && *text && strspn(text, "0123456789") == strlen(text)) {
		long long s = strtoll(text, NULL, 10);
		if (s <= 0 || s > 253402300799LL)
			return desk_usage(d, "%s takes unix seconds or a local time, not '%s'", flag, text);
		*unix_ms = s * 1000;
	} else if (text) {
		*local = (char *)text;
	}
	return 0;
}

/* --- lines, queues, holidays, listed numbers ------------------------------------ */

int cmd_phone_line_update(struct desk *d, int argc, char **argv)
{
	Frontdesk__V1__PhoneUpdateLineRequest req = FRONTDESK__V1__PHONE_UPDATE_LINE_REQUEST__INIT;
	const char *code = NULL, *name = NULL, *number = NULL, *location = NULL;
	ProtobufCMessage *reply;
	int rc;
	const struct desk_flag flags[] = {
		{ "code", DESK_FLAG_TEXT, &code, "CODE", "the line to change" },
		{ "name", DESK_FLAG_TEXT, &name, "TEXT", "new name" },
		{ "number", DESK_FLAG_TEXT, &number, "NUMBER", "new number, E.164" },
		{ "location", DESK_FLAG_TEXT, &location, "CODE", "new location" },
	};

	if ((rc = desk_parse_flags(d, flags, countof(flags), argc, argv)) != DESK_GO)
		return rc;
	if (!code || (!name && !number && !location))
		return desk_usage(d, "give --code CODE and what changes: --name, --number or --location");
	if ((rc = desk_connect(d, true)) != 0)
		return rc;
	req.code = (char *)code;
	req.name = (char *)or_empty(name);
	req.number = (char *)or_empty(number);
	req.location = (char *)or_empty(location);
	if ((rc = desk_call(d, phone, "UpdateLine", &req.base, &reply)) != 0)
		return rc;
	Frontdesk__V1__PhoneLine *l = ((Frontdesk__V1__PhoneUpdateLineReply *)reply)->line;
	if (d->json) {
		struct desk_json j;
		json_begin(&j, stdout);
		json_object(&j, "line");
		json_string(&j, "code", l ? l->code : "");
		json_string(&j, "name", l ? l->name : "");
		json_string(&j, "number", l ? l->number : "");
		json_string(&j, "location", l ? l->location : "");
		json_object_end(&j);
		json_end(&j);
	} else if (l) {
		fputs("Line ", stdout);
		desk_print_text(stdout, l->code);
		fputs(" is now ", stdout);
		desk_print_text(stdout, l->number);
		fputs(" (", stdout);
		desk_print_text(stdout, l->name);
		fputs(")\n", stdout);
	}
	protobuf_c_message_free_unpacked(reply, NULL);
	return 0;
}

int cmd_phone_line_delete(struct desk *d, int argc, char **argv)
{
	Frontdesk__V1__PhoneDeleteLineRequest req = FRONTDESK__V1__PHONE_DELETE_LINE_REQUEST__INIT;
	const struct desk_flag flag = { "code", DESK_FLAG_TEXT, &req.code, "CODE", "the line" };

	req.code = NULL;
	return remove_one(d, argc, argv, &flag, (const char **)&req.code, "DeleteLine", &req.base, "Line removed.");
}

int cmd_phone_queue_delete(struct desk *d, int argc, char **argv)
{
	Frontdesk__V1__PhoneDeleteQueueRequest req = FRONTDESK__V1__PHONE_DELETE_QUEUE_REQUEST__INIT;
	const struct desk_flag flag = { "code", DESK_FLAG_TEXT, &req.code, "CODE", "the queue" };

	req.code = NULL;
	return remove_one(d, argc, argv, &flag, (const char **)&req.code, "DeleteQueue", &req.base, "Queue removed.");
}

int cmd_phone_holiday_delete(struct desk *d, int argc, char **argv)
{
	Frontdesk__V1__PhoneDeleteHolidayRequest req = FRONTDESK__V1__PHONE_DELETE_HOLIDAY_REQUEST__INIT;
	const char *date = NULL, *location = NULL;
	ProtobufCMessage *reply;
	int rc;
	const struct desk_flag flags[] = {
		{ "date", DESK_FLAG_TEXT, &date, "YYYY-MM-DD", "the holiday" },
		{ "location", DESK_FLAG_TEXT, &location, "CODE", "location (default: the first)" },
	};

	if ((rc = desk_parse_flags(d, flags, countof(flags), argc, argv)) != DESK_GO)
		return rc;
	if (!date)
		return desk_usage(d, "missing --date YYYY-MM-DD");
	if ((rc = desk_connect(d, true)) != 0)
		return rc;
	req.date = (char *)date;
	req.location = (char *)or_empty(location);
	if ((rc = desk_call(d, phone, "DeleteHoliday", &req.base, &reply)) != 0)
		return rc;
	return done(d, reply, "Holiday removed.");
}

int cmd_phone_listed_add(struct desk *d, int argc, char **argv)
{
	Frontdesk__V1__PhoneAddListedNumberRequest req = FRONTDESK__V1__PHONE_ADD_LISTED_NUMBER_REQUEST__INIT;
	const char *number = NULL, *name = NULL, *queue = NULL;
	ProtobufCMessage *reply;
	int rc;
	const struct desk_flag flags[] = {
		{ "number", DESK_FLAG_TEXT, &number, "NUMBER", "the number, E.164" },
		{ "name", DESK_FLAG_TEXT, &name, "TEXT", "who it is: Main Street Pharmacy" },
		{ "queue", DESK_FLAG_TEXT, &queue, "CODE", "the queue their calls go to" },
	};

	if ((rc = desk_parse_flags(d, flags, countof(flags), argc, argv)) != DESK_GO)
		return rc;
	if (!number || !name || !queue)
		return desk_usage(d, "missing --number, --name or --queue");
	if ((rc = desk_connect(d, true)) != 0)
		return rc;
	req.number = (char *)number;
	req.name = (char *)name;
	req.queue = (char *)queue;
	if ((rc = desk_call(d, phone, "AddListedNumber", &req.base, &reply)) != 0)
		return rc;
	return done(d, reply, "Number listed.");
}

int cmd_phone_listed_delete(struct desk *d, int argc, char **argv)
{
	Frontdesk__V1__PhoneDeleteListedNumberRequest req = FRONTDESK__V1__PHONE_DELETE_LISTED_NUMBER_REQUEST__INIT;
	const struct desk_flag flag = { "number", DESK_FLAG_TEXT, &req.number, "NUMBER", "the listed number" };

	req.number = NULL;
	return remove_one(d, argc, argv, &flag, (const char **)&req.number, "DeleteListedNumber", &req.base,
			  "Number no longer listed.");
}

int cmd_phone_time_conditions(struct desk *d, int argc, char **argv)
{
	static const char *const days[] = { "", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun" };
	Frontdesk__V1__PhoneListTimeConditionsRequest req = FRONTDESK__V1__PHONE_LIST_TIME_CONDITIONS_REQUEST__INIT;
	const char *location = NULL;
	ProtobufCMessage *reply;
	int rc;
	const struct desk_flag flags[] = {
		{ "location", DESK_FLAG_TEXT, &location, "CODE", "location (default: the first)" },
	};

	if ((rc = desk_parse_flags(d, flags, countof(flags), argc, argv)) != DESK_GO ||
	    (rc = desk_connect(d, true)) != 0)
		return rc;
	req.location = (char *)or_empty(location);
	if ((rc = desk_call(d, phone, "ListTimeConditions", &req.base, &reply)) != 0)
		return rc;
	Frontdesk__V1__PhoneListTimeConditionsReply *r = (Frontdesk__V1__PhoneListTimeConditionsReply *)reply;
	if (d->json) {
		struct desk_json j;
		json_begin(&j, stdout);
		json_string(&j, "location", r->location);
		json_string(&j, "time_zone", r->time_zone);
		json_string(&j, "state_now", r->state_now);
		json_string(&j, "reason_now", r->reason_now);
		json_array(&j, "hours");
		for (size_t i = 0; i < r->n_hours; i++) {
			json_object(&j, NULL);
			json_int(&j, "weekday", r->hours[i]->weekday);
			json_string(&j, "opens", r->hours[i]->opens);
			json_string(&j, "closes", r->hours[i]->closes);
			json_string(&j, "lunch_starts", r->hours[i]->lunch_starts);
			json_string(&j, "lunch_ends", r->hours[i]->lunch_ends);
			json_object_end(&j);
		}
		json_array_end(&j);
		json_array(&j, "holidays");
		for (size_t i = 0; i < r->n_holidays; i++) {
			json_object(&j, NULL);
			json_string(&j, "date", r->holidays[i]->date);
			json_string(&j, "name", r->holidays[i]->name);
			json_object_end(&j);
		}
		json_array_end(&j);
		json_array(&j, "overrides");
		for (size_t i = 0; i < r->n_overrides; i++) {
			json_object(&j, NULL);
			json_int(&j, "id", r->overrides[i]->id);
			json_string(&j, "state", r->overrides[i]->state);
			json_string(&j, "reason", r->overrides[i]->reason);
			json_string(&j, "starts_local", r->overrides[i]->starts_local);
			json_string(&j, "ends_local", r->overrides[i]->ends_local);
			json_object_end(&j);
		}
		json_array_end(&j);
		json_end(&j);
	} else {
		desk_print_text(stdout, r->location);
		fputs(" (", stdout);
		desk_print_text(stdout, r->time_zone);
		fputs("), now ", stdout);
		desk_print_text(stdout, r->reason_now);
		fputc('\n', stdout);
		for (size_t i = 0; i < r->n_hours; i++) {
			const Frontdesk__V1__PhoneHours *h = r->hours[i];
			printf("  %s ", h->weekday >= 1 && h->weekday <= 7 ? days[h->weekday] : "?");
			desk_print_text(stdout, h->opens);
			fputc('-', stdout);
			desk_print_text(stdout, h->closes);
			if (*h->lunch_starts) {
				fputs(", lunch ", stdout);
				desk_print_text(stdout, h->lunch_starts);
				fputc('-', stdout);
				desk_print_text(stdout, h->lunch_ends);
			}
			fputc('\n', stdout);
		}
		for (size_t i = 0; i < r->n_holidays; i++) {
			fputs("  holiday ", stdout);
			desk_print_text(stdout, r->holidays[i]->date);
			fputc(' ', stdout);
			desk_print_text(stdout, r->holidays[i]->name);
			fputc('\n', stdout);
		}
		for (size_t i = 0; i < r->n_overrides; i++) {
			fputs("  override ", stdout);
			desk_print_text(stdout, r->overrides[i]->state);
			fputs(" from ", stdout);
			desk_print_text(stdout, r->overrides[i]->starts_local);
			fputs(" until ", stdout);
			desk_print_text(stdout, *r->overrides[i]->ends_local ? r->overrides[i]->ends_local : "cleared");
			fputs(": ", stdout);
			desk_print_text(stdout, r->overrides[i]->reason);
			fputc('\n', stdout);
		}
	}
	protobuf_c_message_free_unpacked(reply, NULL);
	return 0;
}

/* --- the on-call rota --------------------------------------------------------------- */

static void json_on_call(struct desk_json *j, const char *key, const Frontdesk__V1__PhoneOnCallEntry *e)
{
	if (!e) {
		json_null(j, key);
		return;
	}
	json_object(j, key);
	json_int(j, "id", e->id);
	json_string(j, "location", e->location);
	json_string(j, "username", e->username);
	json_string(j, "number", e->number);
	json_string(j, "starts_local", e->starts_local);
	json_string(j, "ends_local", e->ends_local);
	json_int(j, "starts_unix_ms", e->starts_unix_ms);
	json_int(j, "ends_unix_ms", e->ends_unix_ms);
	json_object_end(j);
}

int cmd_phone_on_call(struct desk *d, int argc, char **argv)
{
	Frontdesk__V1__PhoneListOnCallRequest req = FRONTDESK__V1__PHONE_LIST_ON_CALL_REQUEST__INIT;
	ProtobufCMessage *reply;
	int rc;

	if ((rc = desk_parse_flags(d, NULL, 0, argc, argv)) != DESK_GO || (rc = desk_connect(d, true)) != 0)
		return rc;
	if ((rc = desk_call(d, phone, "ListOnCall", &req.base, &reply)) != 0)
		return rc;
	Frontdesk__V1__PhoneListOnCallReply *r = (Frontdesk__V1__PhoneListOnCallReply *)reply;
	if (d->json) {
		struct desk_json j;
		json_begin(&j, stdout);
		json_array(&j, "entries");
		for (size_t i = 0; i < r->n_entries; i++)
			json_on_call(&j, NULL, r->entries[i]);
		json_array_end(&j);
		json_end(&j);
	} else {
		struct desk_table t;
		desk_table_init(&t, 6, "ID", "WHO", "NUMBER", "FROM (LOCAL)", "UNTIL (LOCAL)", "LOCATION");
		for (size_t i = 0; i < r->n_entries; i++) {
			const Frontdesk__V1__PhoneOnCallEntry *e = r->entries[i];
			char id[24];
			snprintf(id, sizeof id, "%lld", (long long)e->id);
			desk_table_row(&t, id, e->username, e->number, e->starts_local, e->ends_local, e->location);
		}
		desk_table_print(&t, stdout);
		desk_table_free(&t);
	}
	protobuf_c_message_free_unpacked(reply, NULL);
	return 0;
}

/* on-call-add and on-call-update share their flags; update needs --id and
 * changes only what is given. */
static int save_on_call(struct desk *d, int argc, char **argv, bool update)
{
	Frontdesk__V1__PhoneAddOnCallRequest add = FRONTDESK__V1__PHONE_ADD_ON_CALL_REQUEST__INIT;
	Frontdesk__V1__PhoneUpdateOnCallRequest change = FRONTDESK__V1__PHONE_UPDATE_ON_CALL_REQUEST__INIT;
	Frontdesk__V1__PhoneOnCallEntry e = FRONTDESK__V1__PHONE_ON_CALL_ENTRY__INIT;
	const char *id = NULL, *user = NULL, *number = NULL, *from = NULL, *until = NULL,
		   *location = NULL;
	ProtobufCMessage *reply;
	int rc;
	const struct desk_flag flags[] = {
		{ "id", DESK_FLAG_TEXT, &id, "ENTRY", "the entry to change (on-call-update)" },
		{ "user", DESK_FLAG_TEXT, &user, "NAME", "who is on call" },
		{ "number", DESK_FLAG_TEXT, &number, "NUMBER", "where calls are forwarded, E.164" },
		{ "from", DESK_FLAG_TEXT, &from, "TIME",
		  "start: local at the location (2026-11-27T17:00, or 17:00 today) or unix seconds" },
		{ "until", DESK_FLAG_TEXT, &until, "TIME", "end, the same way" },
		{ "location", DESK_FLAG_TEXT, &location, "CODE", "location (default: the first)" },
	};

	if ((rc = desk_parse_flags(d, flags, countof(flags), argc, argv)) != DESK_GO)
		return rc;
	if (update ? !id : (id || !user || !number || !from || !until))
		return desk_usage(d, update ? "missing --id ENTRY"
					    : "missing --user, --number, --from or --until");
	if ((update && (rc = desk_parse_id(d, "--id", id, &e.id)) != 0) ||
	    (rc = parse_time(d, "--from", from, &e.starts_unix_ms, &e.starts_local)) != 0 ||
	    (rc = parse_time(d, "--until", until, &e.ends_unix_ms, &e.ends_local)) != 0 ||
	    (rc = desk_connect(d, true)) != 0)
		return rc;
	e.username = (char *)or_empty(user);
	e.number = (char *)or_empty(number);
	e.location = (char *)or_empty(location);
	add.entry = change.entry = &e;
	if ((rc = desk_call(d, phone, update ? "UpdateOnCall" : "AddOnCall",
			    update ? &change.base : &add.base, &reply)) != 0)
		return rc;
	/* Both replies are { PhoneOnCallEntry entry = 1; }. */
	Frontdesk__V1__PhoneOnCallEntry *got = update ? ((Frontdesk__V1__PhoneUpdateOnCallReply *)reply)->entry
						      : ((Frontdesk__V1__PhoneAddOnCallReply *)reply)->entry;
	if (d->json) {
		struct desk_json j;
		json_begin(&j, stdout);
		json_on_call(&j, "entry", got);
		json_end(&j);
	} else if (got) {
		printf("On-call entry #%lld: ", (long long)got->id);
		desk_print_text(stdout, got->username);
		fputs(" from ", stdout);
		desk_print_text(stdout, got->starts_local);
		fputs(" until ", stdout);
		desk_print_text(stdout, got->ends_local);
		fputs(" (local)\n", stdout);
	}
	protobuf_c_message_free_unpacked(reply, NULL);
	return 0;
}

int cmd_phone_on_call_add(struct desk *d, int argc, char **argv)
{
	return save_on_call(d, argc, argv, false);
}

int cmd_phone_on_call_update(struct desk *d, int argc, char **argv)
{
	return save_on_call(d, argc, argv, true);
}

int cmd_phone_on_call_delete(struct desk *d, int argc, char **argv)
{
	Frontdesk__V1__PhoneDeleteOnCallRequest req = FRONTDESK__V1__PHONE_DELETE_ON_CALL_REQUEST__INIT;
	ProtobufCMessage *reply;
	const char *id = NULL;
	int rc;
	const struct desk_flag flags[] = { { "id", DESK_FLAG_TEXT, &id, "ENTRY", "the entry" } };

	if ((rc = desk_parse_flags(d, flags, countof(flags), argc, argv)) != DESK_GO ||
	    (rc = desk_parse_id(d, "--id", id, &req.id)) != 0 || (rc = desk_connect(d, true)) != 0)
		return rc;
	if ((rc = desk_call(d, phone, "DeleteOnCall", &req.base, &reply)) != 0)
		return rc;
	return done(d, reply, "On-call entry removed.");
}

/* --- care teams ----------------------------------------------------------------------- */

static void json_team(struct desk_json *j, const char *key, const Frontdesk__V1__PhoneCareTeam *t)
{
	if (!t) {
		json_null(j, key);
		return;
	}
	json_object(j, key);
	json_int(j, "id", t->id);
	json_string(j, "code", t->code);
	json_string(j, "name", t->name);
	json_string(j, "nurse_queue", t->nurse_queue);
	json_string_list(j, "providers", t->providers, t->n_providers);
	json_object_end(j);
}

static void print_team(const Frontdesk__V1__PhoneCareTeam *t)
{
	desk_print_text(stdout, t->code);
	fputs(" (", stdout);
	desk_print_text(stdout, t->name);
	fputs("): nurse line ", stdout);
	desk_print_text(stdout, *t->nurse_queue ? t->nurse_queue : "none");
	fputs(", providers", stdout);
	for (size_t i = 0; i < t->n_providers; i++) {
		fputc(' ', stdout);
		desk_print_text(stdout, t->providers[i]);
	}
	if (!t->n_providers)
		fputs(" none", stdout);
	fputc('\n', stdout);
}

static int print_team_reply(struct desk *d, ProtobufCMessage *reply, const Frontdesk__V1__PhoneCareTeam *t)
{
	if (d->json) {
		struct desk_json j;
		json_begin(&j, stdout);
		json_team(&j, "team", t);
		json_end(&j);
	} else if (t) {
		print_team(t);
	}
	protobuf_c_message_free_unpacked(reply, NULL);
	return 0;
}

int cmd_phone_care_teams(struct desk *d, int argc, char **argv)
{
	Frontdesk__V1__PhoneListCareTeamsRequest req = FRONTDESK__V1__PHONE_LIST_CARE_TEAMS_REQUEST__INIT;
	ProtobufCMessage *reply;
	int rc;

	if ((rc = desk_parse_flags(d, NULL, 0, argc, argv)) != DESK_GO || (rc = desk_connect(d, true)) != 0)
		return rc;
	if ((rc = desk_call(d, phone, "ListCareTeams", &req.base, &reply)) != 0)
		return rc;
	Frontdesk__V1__PhoneListCareTeamsReply *r = (Frontdesk__V1__PhoneListCareTeamsReply *)reply;
	if (d->json) {
		struct desk_json j;
		json_begin(&j, stdout);
		json_array(&j, "teams");
		for (size_t i = 0; i < r->n_teams; i++)
			json_team(&j, NULL, r->teams[i]);
		json_array_end(&j);
		json_end(&j);
	} else {
		for (size_t i = 0; i < r->n_teams; i++)
			print_team(r->teams[i]);
	}
	protobuf_c_message_free_unpacked(reply, NULL);
	return 0;
}

int cmd_phone_care_team_save(struct desk *d, int argc, char **argv)
{
	Frontdesk__V1__PhoneSaveCareTeamRequest req = FRONTDESK__V1__PHONE_SAVE_CARE_TEAM_REQUEST__INIT;
	const char *code = NULL, *name = NULL, *queue = NULL;
	bool no_queue = false;
	ProtobufCMessage *reply;
	int rc;
	const struct desk_flag flags[] = {
		{ "code", DESK_FLAG_TEXT, &code, "CODE", "the team: smith-team" },
		{ "name", DESK_FLAG_TEXT, &name, "TEXT", "what staff call it" },
		{ "nurse-queue", DESK_FLAG_TEXT, &queue, "CODE", "the queue that is the team's nurse line" },
		{ "no-nurse-queue", DESK_FLAG_SWITCH, &no_queue, NULL, "the team has no nurse line" },
	};

	if ((rc = desk_parse_flags(d, flags, countof(flags), argc, argv)) != DESK_GO)
		return rc;
	if (!code)
		return desk_usage(d, "missing --code CODE");
	if ((rc = desk_connect(d, true)) != 0)
		return rc;
	req.code = (char *)code;
	req.name = (char *)or_empty(name);
	req.nurse_queue = (char *)or_empty(queue);
	req.no_nurse_queue = no_queue;
	if ((rc = desk_call(d, phone, "SaveCareTeam", &req.base, &reply)) != 0)
		return rc;
	return print_team_reply(d, reply, ((Frontdesk__V1__PhoneSaveCareTeamReply *)reply)->team);
}

int cmd_phone_care_team_delete(struct desk *d, int argc, char **argv)
{
	Frontdesk__V1__PhoneDeleteCareTeamRequest req = FRONTDESK__V1__PHONE_DELETE_CARE_TEAM_REQUEST__INIT;
	const struct desk_flag flag = { "code", DESK_FLAG_TEXT, &req.code, "CODE", "the team" };

	req.code = NULL;
	return remove_one(d, argc, argv, &flag, (const char **)&req.code, "DeleteCareTeam", &req.base, "Care team removed.");
}

int cmd_phone_care_team_provider(struct desk *d, int argc, char **argv)
{
	Frontdesk__V1__PhoneSetCareTeamProviderRequest req = FRONTDESK__V1__PHONE_SET_CARE_TEAM_PROVIDER_REQUEST__INIT;
	const char *team = NULL, *provider = NULL;
	bool remove = false;
	ProtobufCMessage *reply;
	int rc;
	const struct desk_flag flags[] = {
		{ "team", DESK_FLAG_TEXT, &team, "CODE", "the care team" },
		{ "provider", DESK_FLAG_TEXT, &provider, "CODE", "the provider's code (smith)" },
		{ "remove", DESK_FLAG_SWITCH, &remove, NULL, "take the provider off the team" },
	};

	if ((rc = desk_parse_flags(d, flags, countof(flags), argc, argv)) != DESK_GO)
		return rc;
	if (!team || !provider)
		return desk_usage(d, "missing --team CODE or --provider CODE");
	if ((rc = desk_connect(d, true)) != 0)
		return rc;
	req.team = (char *)team;
	req.provider = (char *)provider;
	req.remove = remove;
	if ((rc = desk_call(d, phone, "SetCareTeamProvider", &req.base, &reply)) != 0)
		return rc;
	return print_team_reply(d, reply, ((Frontdesk__V1__PhoneSetCareTeamProviderReply *)reply)->team);
}

/* --- callbacks ------------------------------------------------------------------------- */

int cmd_phone_callbacks(struct desk *d, int argc, char **argv)
{
	Frontdesk__V1__PhoneListMessagesRequest req = FRONTDESK__V1__PHONE_LIST_MESSAGES_REQUEST__INIT;
	const char *user = NULL, *queue = NULL;
	ProtobufCMessage *reply;
	int rc;
	const struct desk_flag flags[] = {
		{ "for", DESK_FLAG_TEXT, &user, "USER", "a staff member's callbacks" },
		{ "queue", DESK_FLAG_TEXT, &queue, "CODE", "a queue's callbacks" },
	};

	if ((rc = desk_parse_flags(d, flags, countof(flags), argc, argv)) != DESK_GO ||
	    (rc = desk_connect(d, true)) != 0)
		return rc;
	req.for_username = (char *)or_empty(user);
	req.for_queue = (char *)or_empty(queue);
	req.callbacks_only = true;
	if ((rc = desk_call(d, phone, "ListMessages", &req.base, &reply)) != 0)
		return rc;
	Frontdesk__V1__PhoneListMessagesReply *r = (Frontdesk__V1__PhoneListMessagesReply *)reply;
	if (d->json) {
		struct desk_json j;
		json_begin(&j, stdout);
		json_array(&j, "callbacks");
		for (size_t i = 0; i < r->n_messages; i++) {
			const Frontdesk__V1__PhoneMessage *m = r->messages[i];
			json_object(&j, NULL);
			json_int(&j, "id", m->id);
			json_int(&j, "call_id", m->call_id);
			json_string(&j, "for_username", m->for_username);
			json_string(&j, "for_queue", m->for_queue);
			json_string(&j, "callback_number", m->callback_number);
			json_string(&j, "reason", m->reason);
			json_string(&j, "urgency", m->urgency);
			json_int(&j, "place_unix_ms", m->place_unix_ms);
			json_int(&j, "callback_due_unix_ms", m->callback_due_unix_ms);
			json_string(&j, "offered_to", m->offered_to);
			json_object_end(&j);
		}
		json_array_end(&j);
		json_end(&j);
	} else {
		struct desk_table t;
		desk_table_init(&t, 6, "ID", "FOR", "CALLBACK", "PLACE", "OFFERED TO", "REASON");
		for (size_t i = 0; i < r->n_messages; i++) {
			const Frontdesk__V1__PhoneMessage *m = r->messages[i];
			char id[24], place[64];
			snprintf(id, sizeof id, "%lld", (long long)m->id);
			desk_format_time(place, sizeof place, m->place_unix_ms);
			desk_table_row(&t, id, *m->for_username ? m->for_username : m->for_queue,
				       m->callback_number, place, m->offered_to, m->reason);
		}
		desk_table_print(&t, stdout);
		desk_table_free(&t);
	}
	protobuf_c_message_free_unpacked(reply, NULL);
	return 0;
}
