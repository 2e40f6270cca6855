/*
 * `desk phone ...`: the phone panel and its administration. Each verb is
 * one Phone RPC; the server validates everything (numbers, codes, state
 * changes) and owns the routing, so this file gathers flags and prints
 * replies: text tables with every server string escaped, or one JSON
 * object with --json. `desk call incoming --json` is the PBX adapter's
 * surface: it records the call and prints the extensions to ring in order.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "output.h"
#include "settings.h"
#include "frontdesk/v1/phone.pb-c.h"

/* Prototypes of this file's commands, from their table rows. */
#define DESK_COMMAND(noun, verb, args, summary, help, action, role, fn) \
	int fn(struct desk *d, int argc, char **argv);
#include "cmd_phone.def"
#undef DESK_COMMAND

#define countof(a) (sizeof(a) / sizeof((a)[0]))

static const ProtobufCServiceDescriptor *const phone = &frontdesk__v1__phone__descriptor;

/* Parses flags and connects with the saved session: DESK_GO to go on,
 * else the exit code (0 after --help). */
static int start(struct desk *d, const struct desk_flag *flags, size_t n, int argc, char **argv)
{
	int rc = desk_parse_flags(d, flags, n, argc, argv);

	if (rc != DESK_GO)
		return rc;
	rc = desk_connect(d, true);
	return rc ? rc : DESK_GO;
}

/* A small non-negative number flag (seconds, penalty, priority). */
static int parse_count(struct desk *d, const char *flag, const char *text, int32_t *out)
{
	char *end;
	long v;

	if (!text)
		return 0;
	v = strtol(text, &end, 10);
	if (end == text || *end || v < 0 || v > 100000)
		return desk_usage(d, "%s takes a number, not '%s'", flag, text);
	*out = (int32_t)v;
	return 0;
}

static const char *or_empty(const char *s)
{
	return s ? s : "";
}

/* A time flag: unix seconds (all digits), else a local time at the
 * location ("2026-11-27T14:30", "14:30") that the server reads in the
 * location's zone and checks. */
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

/* --- printing --------------------------------------------------------------- */

static void json_ring(struct desk_json *j, const Frontdesk__V1__PhoneRing *r)
{
	json_object(j, NULL);
	json_int(j, "staff_id", r->staff_id);
	json_string(j, "username", r->username);
	json_string(j, "display_name", r->display_name);
	json_string(j, "extension", r->extension);
	json_string(j, "desk", r->desk);
	json_object_end(j);
}

static void json_call(struct desk_json *j, const char *key, const Frontdesk__V1__PhoneCall *c)
{
	if (!c) {
		json_null(j, key);
		return;
	}
	json_object(j, key);
	json_int(j, "id", c->id);
	json_string(j, "line", c->line);
	json_string(j, "from", c->from);
	json_string(j, "menu_choice", c->menu_choice);
	json_string(j, "state", c->state);
	json_string(j, "queue", c->queue);
	json_string(j, "target", c->target);
	json_string(j, "answered_by", c->answered_by);
	json_string(j, "answered_desk", c->answered_desk);
	json_string(j, "disposition", c->disposition);
	json_string(j, "forwarded_to", c->forwarded_to);
	json_string(j, "voicemail_box", c->voicemail_box);
	json_string(j, "rule", c->rule);
	json_string(j, "reason", c->reason);
	json_int(j, "received_unix_ms", c->received_unix_ms);
	json_int(j, "answered_unix_ms", c->answered_unix_ms);
	json_int(j, "ended_unix_ms", c->ended_unix_ms);
	json_int(j, "patient_id", c->patient_id);
	json_array(j, "ringing");
	for (size_t i = 0; i < c->n_ringing; i++)
		json_ring(j, c->ringing[i]);
	json_array_end(j);
	json_object_end(j);
}

static void json_decision(struct desk_json *j, const Frontdesk__V1__PhoneRouteDecision *dec)
{
	if (!dec) {
		json_null(j, "decision");
		return;
	}
	json_object(j, "decision");
	json_string(j, "rule", dec->rule);
	json_string(j, "reason", dec->reason);
	json_string(j, "action", dec->action);
	json_string(j, "queue", dec->queue);
	json_string(j, "forward_to", dec->forward_to);
	json_string(j, "voicemail_box", dec->voicemail_box);
	json_string(j, "time_state", dec->time_state);
	json_int(j, "matched_patients", dec->matched_patients);
	json_string_list(j, "trace", dec->trace, dec->n_trace);
	json_object_end(j);
}

static void print_call_line(const Frontdesk__V1__PhoneCall *c)
{
	printf("Call #%lld from ", (long long)c->id);
	desk_print_text(stdout, c->from);
	fputs(" on ", stdout);
	desk_print_text(stdout, c->line);
	fputs(": ", stdout);
	desk_print_text(stdout, c->state);
	if (*c->queue) {
		fputs(" in queue ", stdout);
		desk_print_text(stdout, c->queue);
	}
	if (*c->answered_by) {
		fputs(", with ", stdout);
		desk_print_text(stdout, c->answered_by);
	}
	if (*c->disposition) {
		fputs(" (", stdout);
		desk_print_text(stdout, c->disposition);
		fputs(")", stdout);
	}
	fputs("\n  rule: ", stdout);
	desk_print_text(stdout, c->reason);
	fputc('\n', stdout);
	for (size_t i = 0; i < c->n_ringing; i++) {
		fputs("  ringing: ", stdout);
		desk_print_text(stdout, c->ringing[i]->username);
		fputs(" at desk ", stdout);
		desk_print_text(stdout, c->ringing[i]->desk);
		if (*c->ringing[i]->extension) {
			fputs(", ext ", stdout);
			desk_print_text(stdout, c->ringing[i]->extension);
		}
		fputc('\n', stdout);
	}
}

/* Prints a reply that holds one call (Answer, Transfer, Hold, End). */
static int print_call_reply(struct desk *d, ProtobufCMessage *reply, Frontdesk__V1__PhoneCall *c)
{
	if (d->json) {
		struct desk_json j;
		json_begin(&j, stdout);
		json_call(&j, "call", c);
		json_end(&j);
	} else if (c) {
		print_call_line(c);
	}
	protobuf_c_message_free_unpacked(reply, NULL);
	return 0;
}

/* --- calls --------------------------------------------------------------------- */

int cmd_phone_incoming(struct desk *d, int argc, char **argv)
{
	Frontdesk__V1__PhoneIncomingRequest req = FRONTDESK__V1__PHONE_INCOMING_REQUEST__INIT;
	const char *from = NULL, *line = NULL, *menu = NULL;
	ProtobufCMessage *reply;
	int rc;
	const struct desk_flag flags[] = {
		{ "from", DESK_FLAG_TEXT, &from, "NUMBER", "caller's number, E.164 (+15551234567)" },
		{ "line", DESK_FLAG_TEXT, &line, "CODE", "the line dialed (desk phone lines)" },
		{ "menu", DESK_FLAG_TEXT, &menu, "CHOICE", "menu choice: refills, billing, nurse..." },
	};

	if ((rc = desk_parse_flags(d, flags, countof(flags), argc, argv)) != DESK_GO)
		return rc;
	if (!from || !line)
		return desk_usage(d, "missing --from NUMBER or --line CODE");
	if ((rc = desk_connect(d, true)) != 0)
		return rc;
	req.from = (char *)from;
	req.line = (char *)line;
	req.menu_choice = (char *)or_empty(menu);
	if ((rc = desk_call(d, phone, "Incoming", &req.base, &reply)) != 0)
		return rc;
	Frontdesk__V1__PhoneIncomingReply *r = (Frontdesk__V1__PhoneIncomingReply *)reply;
	if (d->json) {
		struct desk_json j;
		json_begin(&j, stdout);
		json_call(&j, "call", r->call);
		json_decision(&j, r->decision);
		/* The dial plan reads this: extensions in ring order. */
		json_array(&j, "extensions");
		for (size_t i = 0; i < r->n_ring_order; i++)
			if (*r->ring_order[i]->extension)
				json_string(&j, NULL, r->ring_order[i]->extension);
		json_array_end(&j);
		json_array(&j, "ring_order");
		for (size_t i = 0; i < r->n_ring_order; i++)
			json_ring(&j, r->ring_order[i]);
		json_array_end(&j);
		json_array(&j, "patients");
		for (size_t i = 0; i < r->n_patients; i++) {
			const Frontdesk__V1__PhoneScreenPop *p = r->patients[i];
			json_object(&j, NULL);
			json_int(&j, "patient_id", p->patient_id);
			json_string(&j, "family_name", p->family_name);
			json_string(&j, "given_name", p->given_name);
			json_string(&j, "date_of_birth", p->date_of_birth);
			json_int(&j, "next_appointment_unix_ms", p->next_appointment_unix_ms);
			json_object_end(&j);
		}
		json_array_end(&j);
		json_end(&j);
	} else {
		if (r->call)
			print_call_line(r->call);
		for (size_t i = 0; i < r->n_patients; i++) {
			char when[64];
			desk_format_time(when, sizeof when, r->patients[i]->next_appointment_unix_ms);
			printf("  patient #%lld ", (long long)r->patients[i]->patient_id);
			desk_print_text(stdout, r->patients[i]->family_name);
			fputs(", ", stdout);
			desk_print_text(stdout, r->patients[i]->given_name);
			fputs(" born ", stdout);
			desk_print_text(stdout, r->patients[i]->date_of_birth);
			printf(", next appointment %s\n", when);
		}
	}
	protobuf_c_message_free_unpacked(reply, NULL);
	return 0;
}

int cmd_phone_route(struct desk *d, int argc, char **argv)
{
	Frontdesk__V1__PhoneRouteRequest req = FRONTDESK__V1__PHONE_ROUTE_REQUEST__INIT;
	const char *from = NULL, *line = NULL, *menu = NULL, *at = NULL;
	ProtobufCMessage *reply;
	int rc;
	const struct desk_flag flags[] = {
		{ "from", DESK_FLAG_TEXT, &from, "NUMBER", "caller's number, E.164" },
		{ "line", DESK_FLAG_TEXT, &line, "CODE", "the line dialed" },
		{ "menu", DESK_FLAG_TEXT, &menu, "CHOICE", "menu choice" },
		{ "at", DESK_FLAG_TEXT, &at, "TIME",
		  "evaluate at this time instead of now: local at the line's location"
		  " (2026-11-27T14:30, or 14:30 today) or unix seconds" },
	};

	if ((rc = desk_parse_flags(d, flags, countof(flags), argc, argv)) != DESK_GO)
		return rc;
	if (!from || !line)
		return desk_usage(d, "missing --from NUMBER or --line CODE");
	if ((rc = parse_time(d, "--at", at, &req.at_unix_ms, &req.at_local)) != 0 ||
	    (rc = desk_connect(d, true)) != 0)
		return rc;
	req.from = (char *)from;
	req.line = (char *)line;
	req.menu_choice = (char *)or_empty(menu);
	if ((rc = desk_call(d, phone, "Route", &req.base, &reply)) != 0)
		return rc;
	Frontdesk__V1__PhoneRouteDecision *dec = ((Frontdesk__V1__PhoneRouteReply *)reply)->decision;
	if (d->json) {
		struct desk_json j;
		json_begin(&j, stdout);
		json_decision(&j, dec);
		json_end(&j);
	} else if (dec) {
		fputs("Decided by ", stdout);
		desk_print_text(stdout, dec->reason);
		fputs("\naction: ", stdout);
		desk_print_text(stdout, dec->action);
		fputc(' ', stdout);
		desk_print_text(stdout, *dec->queue ? dec->queue : *dec->forward_to ? dec->forward_to : dec->voicemail_box);
		fputs("\ntrace:\n", stdout);
		for (size_t i = 0; i < dec->n_trace; i++) {
			fputs("  ", stdout);
			desk_print_text(stdout, dec->trace[i]);
			fputc('\n', stdout);
		}
	}
	protobuf_c_message_free_unpacked(reply, NULL);
	return 0;
}

int cmd_phone_calls(struct desk *d, int argc, char **argv)
{
	Frontdesk__V1__PhoneListCallsRequest req = FRONTDESK__V1__PHONE_LIST_CALLS_REQUEST__INIT;
	ProtobufCMessage *reply;
	bool all = false;
	int rc;
	const struct desk_flag flags[] = {
		{ "all", DESK_FLAG_SWITCH, &all, NULL, "include calls that ended in the last day" },
	};

	if ((rc = start(d, flags, countof(flags), argc, argv)) != DESK_GO)
		return rc;
	req.include_ended = all;
	if ((rc = desk_call(d, phone, "ListCalls", &req.base, &reply)) != 0)
		return rc;
	Frontdesk__V1__PhoneListCallsReply *r = (Frontdesk__V1__PhoneListCallsReply *)reply;
	if (d->json) {
		struct desk_json j;
		json_begin(&j, stdout);
		json_array(&j, "calls");
		for (size_t i = 0; i < r->n_calls; i++)
			json_call(&j, NULL, r->calls[i]);
		json_array_end(&j);
		json_end(&j);
	} else {
		struct desk_table t;
		desk_table_init(&t, 7, "ID", "FROM", "LINE", "STATE", "QUEUE", "WITH", "RINGING");
		for (size_t i = 0; i < r->n_calls; i++) {
			const Frontdesk__V1__PhoneCall *c = r->calls[i];
			char id[24], ringing[16];
			snprintf(id, sizeof id, "%lld", (long long)c->id);
			snprintf(ringing, sizeof ringing, "%zu desk(s)", c->n_ringing);
			desk_table_row(&t, id, c->from, c->line, c->state, c->queue, c->answered_by, ringing);
		}
		desk_table_print(&t, stdout);
		desk_table_free(&t);
	}
	protobuf_c_message_free_unpacked(reply, NULL);
	return 0;
}

int cmd_phone_answer(struct desk *d, int argc, char **argv)
{
	Frontdesk__V1__PhoneAnswerRequest req = FRONTDESK__V1__PHONE_ANSWER_REQUEST__INIT;
	ProtobufCMessage *reply;
	const char *id = NULL;
	int rc;
	const struct desk_flag flags[] = { { "id", DESK_FLAG_TEXT, &id, "CALL", "the ringing call" } };

	if ((rc = desk_parse_flags(d, flags, countof(flags), argc, argv)) != DESK_GO ||
	    (rc = desk_parse_id(d, "--id", id, &req.call_id)) != 0 || (rc = desk_connect(d, true)) != 0)
		return rc;
	if ((rc = desk_call(d, phone, "Answer", &req.base, &reply)) != 0)
		return rc;
	return print_call_reply(d, reply, ((Frontdesk__V1__PhoneAnswerReply *)reply)->call);
}

int cmd_phone_transfer(struct desk *d, int argc, char **argv)
{
	Frontdesk__V1__PhoneTransferRequest req = FRONTDESK__V1__PHONE_TRANSFER_REQUEST__INIT;
	const char *id = NULL, *to = NULL, *queue = NULL;
	ProtobufCMessage *reply;
	int rc;
	const struct desk_flag flags[] = {
		{ "id", DESK_FLAG_TEXT, &id, "CALL", "the call" },
		{ "to", DESK_FLAG_TEXT, &to, "STAFF|QUEUE", "a staff member's username or a queue's code" },
		{ "queue", DESK_FLAG_TEXT, &queue, "CODE", "a queue (when a queue and a user share a name)" },
	};

	if ((rc = desk_parse_flags(d, flags, countof(flags), argc, argv)) != DESK_GO ||
	    (rc = desk_parse_id(d, "--id", id, &req.call_id)) != 0)
		return rc;
	if (!to == !queue)
		return desk_usage(d, "give either --to STAFF|QUEUE or --queue CODE");
	if ((rc = desk_connect(d, true)) != 0)
		return rc;
	/* The server finds out whether --to is a person or a queue. */
	req.to = (char *)or_empty(to);
	req.to_queue = (char *)or_empty(queue);
	if ((rc = desk_call(d, phone, "Transfer", &req.base, &reply)) != 0)
		return rc;
	return print_call_reply(d, reply, ((Frontdesk__V1__PhoneTransferReply *)reply)->call);
}

static int hold_or_resume(struct desk *d, int argc, char **argv, bool resume)
{
	Frontdesk__V1__PhoneHoldRequest req = FRONTDESK__V1__PHONE_HOLD_REQUEST__INIT;
	ProtobufCMessage *reply;
	const char *id = NULL;
	int rc;
	const struct desk_flag flags[] = { { "id", DESK_FLAG_TEXT, &id, "CALL", "the call" } };

	if ((rc = desk_parse_flags(d, flags, countof(flags), argc, argv)) != DESK_GO ||
	    (rc = desk_parse_id(d, "--id", id, &req.call_id)) != 0 || (rc = desk_connect(d, true)) != 0)
		return rc;
	req.resume = resume;
	if ((rc = desk_call(d, phone, "Hold", &req.base, &reply)) != 0)
		return rc;
	return print_call_reply(d, reply, ((Frontdesk__V1__PhoneHoldReply *)reply)->call);
}

int cmd_phone_hold(struct desk *d, int argc, char **argv)
{
	return hold_or_resume(d, argc, argv, false);
}

int cmd_phone_resume(struct desk *d, int argc, char **argv)
{
	return hold_or_resume(d, argc, argv, true);
}

int cmd_phone_end(struct desk *d, int argc, char **argv)
{
	Frontdesk__V1__PhoneEndRequest req = FRONTDESK__V1__PHONE_END_REQUEST__INIT;
	const char *id = NULL, *disposition = NULL, *patient = NULL;
	ProtobufCMessage *reply;
	int rc;
	const struct desk_flag flags[] = {
		{ "id", DESK_FLAG_TEXT, &id, "CALL", "the call" },
		{ "disposition", DESK_FLAG_TEXT, &disposition, "D",
		  "handled, message_taken, voicemail, abandoned or wrong_number" },
		{ "patient", DESK_FLAG_TEXT, &patient, "ID", "link the call to this patient" },
	};

	if ((rc = desk_parse_flags(d, flags, countof(flags), argc, argv)) != DESK_GO ||
	    (rc = desk_parse_id(d, "--id", id, &req.call_id)) != 0 ||
	    (patient && (rc = desk_parse_id(d, "--patient", patient, &req.patient_id)) != 0) ||
	    (rc = desk_connect(d, true)) != 0)
		return rc;
	req.disposition = (char *)or_empty(disposition);
	if ((rc = desk_call(d, phone, "End", &req.base, &reply)) != 0)
		return rc;
	return print_call_reply(d, reply, ((Frontdesk__V1__PhoneEndReply *)reply)->call);
}

/* --- presence ------------------------------------------------------------------ */

static void json_presence(struct desk_json *j, const Frontdesk__V1__PhonePresenceRecord *p)
{
	json_object(j, NULL);
	json_int(j, "staff_id", p->staff_id);
	json_string(j, "username", p->username);
	json_string(j, "state", p->state);
	json_string(j, "reason", p->reason);
	json_string(j, "desk", p->desk);
	json_string(j, "extension", p->extension);
	json_int(j, "since_unix_ms", p->since_unix_ms);
	json_object_end(j);
}

int cmd_phone_presence(struct desk *d, int argc, char **argv)
{
	Frontdesk__V1__PhoneSetPresenceRequest req = FRONTDESK__V1__PHONE_SET_PRESENCE_REQUEST__INIT;
	const char *state = NULL, *reason = NULL, *user = NULL;
	ProtobufCMessage *reply;
	int rc;
	const struct desk_flag flags[] = {
		{ "set", DESK_FLAG_TEXT, &state, "STATE", "available, away or offline (or as the first word)" },
		{ "reason", DESK_FLAG_TEXT, &reason, "TEXT", "why away: lunch, at the window" },
		{ "user", DESK_FLAG_TEXT, &user, "NAME", "someone else (admin only)" },
	};
	/* `desk presence set away --reason lunch`: the state is the first word. */
	int skip = argc > 0 && argv[0][0] != '-';

	if (skip)
		state = argv[0];
	if ((rc = desk_parse_flags(d, flags, countof(flags), argc - skip, argv + skip)) != DESK_GO)
		return rc;
	if (!state)
		return desk_usage(d, "missing the state: available, away or offline");
	if ((rc = desk_connect(d, true)) != 0)
		return rc;
	req.state = (char *)state;
	req.reason = (char *)or_empty(reason);
	req.username = (char *)or_empty(user);
	if ((rc = desk_call(d, phone, "SetPresence", &req.base, &reply)) != 0)
		return rc;
	Frontdesk__V1__PhonePresenceRecord *p = ((Frontdesk__V1__PhoneSetPresenceReply *)reply)->presence;
	if (d->json) {
		struct desk_json j;
		json_begin(&j, stdout);
		json_array(&j, "presence");
		if (p)
			json_presence(&j, p);
		json_array_end(&j);
		json_end(&j);
	} else if (p) {
		desk_print_text(stdout, p->username);
		fputs(" is now ", stdout);
		desk_print_text(stdout, p->state);
		if (*p->reason) {
			fputs(" (", stdout);
			desk_print_text(stdout, p->reason);
			fputc(')', stdout);
		}
		fputc('\n', stdout);
	}
	protobuf_c_message_free_unpacked(reply, NULL);
	return 0;
}

int cmd_phone_who(struct desk *d, int argc, char **argv)
{
	Frontdesk__V1__PhoneListPresenceRequest req = FRONTDESK__V1__PHONE_LIST_PRESENCE_REQUEST__INIT;
	ProtobufCMessage *reply;
	int rc;

	if ((rc = start(d, NULL, 0, argc, argv)) != DESK_GO)
		return rc;
	if ((rc = desk_call(d, phone, "ListPresence", &req.base, &reply)) != 0)
		return rc;
	Frontdesk__V1__PhoneListPresenceReply *r = (Frontdesk__V1__PhoneListPresenceReply *)reply;
	if (d->json) {
		struct desk_json j;
		json_begin(&j, stdout);
		json_array(&j, "presence");
		for (size_t i = 0; i < r->n_presence; i++)
			json_presence(&j, r->presence[i]);
		json_array_end(&j);
		json_end(&j);
	} else {
		struct desk_table t;
		desk_table_init(&t, 5, "USER", "STATE", "REASON", "DESK", "EXT");
		for (size_t i = 0; i < r->n_presence; i++) {
			const Frontdesk__V1__PhonePresenceRecord *p = r->presence[i];
			desk_table_row(&t, p->username, p->state, p->reason, p->desk, p->extension);
		}
		desk_table_print(&t, stdout);
		desk_table_free(&t);
	}
	protobuf_c_message_free_unpacked(reply, NULL);
	return 0;
}

/* --- lines, queues, members -------------------------------------------------------- */

int cmd_phone_line_add(struct desk *d, int argc, char **argv)
{
	Frontdesk__V1__PhoneCreateLineRequest req = FRONTDESK__V1__PHONE_CREATE_LINE_REQUEST__INIT;
	const char *code = NULL, *name = NULL, *number = NULL, *location = NULL;
	ProtobufCMessage *reply;
	int rc;
	const struct desk_flag flags[] = {
		{ "code", DESK_FLAG_TEXT, &code, "CODE", "short name: main, nurse, refills" },
		{ "name", DESK_FLAG_TEXT, &name, "TEXT", "what patients know it as" },
		{ "number", DESK_FLAG_TEXT, &number, "NUMBER", "the number patients dial, E.164" },
		{ "location", DESK_FLAG_TEXT, &location, "CODE", "location (default: the first)" },
	};

	if ((rc = desk_parse_flags(d, flags, countof(flags), argc, argv)) != DESK_GO)
		return rc;
	if (!code || !name || !number)
		return desk_usage(d, "missing --code, --name or --number");
	if ((rc = desk_connect(d, true)) != 0)
		return rc;
	req.code = (char *)code;
	req.name = (char *)name;
	req.number = (char *)number;
	req.location = (char *)or_empty(location);
	if ((rc = desk_call(d, phone, "CreateLine", &req.base, &reply)) != 0)
		return rc;
	Frontdesk__V1__PhoneLine *l = ((Frontdesk__V1__PhoneCreateLineReply *)reply)->line;
	if (d->json) {
		struct desk_json j;
		json_begin(&j, stdout);
		json_object(&j, "line");
		json_int(&j, "id", l ? l->id : 0);
		json_string(&j, "code", l ? l->code : "");
		json_string(&j, "number", l ? l->number : "");
		json_object_end(&j);
		json_end(&j);
	} else if (l) {
		printf("Created line #%lld ", (long long)l->id);
		desk_print_text(stdout, l->code);
		fputc('\n', stdout);
	}
	protobuf_c_message_free_unpacked(reply, NULL);
	return 0;
}

int cmd_phone_lines(struct desk *d, int argc, char **argv)
{
	Frontdesk__V1__PhoneListLinesRequest req = FRONTDESK__V1__PHONE_LIST_LINES_REQUEST__INIT;
	ProtobufCMessage *reply;
	int rc;

	if ((rc = start(d, NULL, 0, argc, argv)) != DESK_GO)
		return rc;
	if ((rc = desk_call(d, phone, "ListLines", &req.base, &reply)) != 0)
		return rc;
	Frontdesk__V1__PhoneListLinesReply *r = (Frontdesk__V1__PhoneListLinesReply *)reply;
	if (d->json) {
		struct desk_json j;
		json_begin(&j, stdout);
		json_array(&j, "lines");
		for (size_t i = 0; i < r->n_lines; i++) {
			json_object(&j, NULL);
			json_int(&j, "id", r->lines[i]->id);
			json_string(&j, "code", r->lines[i]->code);
			json_string(&j, "name", r->lines[i]->name);
			json_string(&j, "number", r->lines[i]->number);
			json_string(&j, "location", r->lines[i]->location);
			json_object_end(&j);
		}
		json_array_end(&j);
		json_end(&j);
	} else {
		struct desk_table t;
		desk_table_init(&t, 4, "CODE", "NAME", "NUMBER", "LOCATION");
		for (size_t i = 0; i < r->n_lines; i++)
			desk_table_row(&t, r->lines[i]->code, r->lines[i]->name, r->lines[i]->number,
				       r->lines[i]->location);
		desk_table_print(&t, stdout);
		desk_table_free(&t);
	}
	protobuf_c_message_free_unpacked(reply, NULL);
	return 0;
}

static void json_queue(struct desk_json *j, const Frontdesk__V1__PhoneQueue *q)
{
	json_object(j, NULL);
	json_int(j, "id", q->id);
	json_string(j, "code", q->code);
	json_string(j, "name", q->name);
	json_string(j, "strategy", q->strategy);
	json_int(j, "ring_timeout_s", q->ring_timeout_s);
	json_int(j, "wrap_up_s", q->wrap_up_s);
	json_int(j, "max_wait_s", q->max_wait_s);
	json_int(j, "max_length", q->max_length);
	json_int(j, "penalty_widen_s", q->penalty_widen_s);
	json_string(j, "overflow", q->overflow);
	json_string(j, "overflow_queue", q->overflow_queue);
	json_int(j, "waiting", q->waiting);
	json_array(j, "members");
	for (size_t i = 0; i < q->n_members; i++) {
		json_object(j, NULL);
		json_string(j, "username", q->members[i]->username);
		json_int(j, "penalty", q->members[i]->penalty);
		json_int(j, "position", q->members[i]->position);
		json_string(j, "presence", q->members[i]->presence);
		json_object_end(j);
	}
	json_array_end(j);
	json_object_end(j);
}

static int print_queues(struct desk *d, ProtobufCMessage *reply, Frontdesk__V1__PhoneQueue **qs,
			size_t n)
{
	if (d->json) {
		struct desk_json j;
		json_begin(&j, stdout);
		json_array(&j, "queues");
		for (size_t i = 0; i < n; i++)
			json_queue(&j, qs[i]);
		json_array_end(&j);
		json_end(&j);
	} else {
		struct desk_table t;
		desk_table_init(&t, 5, "QUEUE", "STRATEGY", "WAITING", "OVERFLOW", "MEMBERS");
		for (size_t i = 0; i < n; i++) {
			char waiting[16], members[512] = "";
			size_t used = 0;
			snprintf(waiting, sizeof waiting, "%d", qs[i]->waiting);
			for (size_t k = 0; k < qs[i]->n_members && used < sizeof members; k++)
				used += (size_t)snprintf(members + used, sizeof members - used, "%s%s(%d)",
							 k ? " " : "", qs[i]->members[k]->username,
							 qs[i]->members[k]->penalty);
			desk_table_row(&t, qs[i]->code, qs[i]->strategy, waiting, qs[i]->overflow, members);
		}
		desk_table_print(&t, stdout);
		desk_table_free(&t);
	}
	protobuf_c_message_free_unpacked(reply, NULL);
	return 0;
}

int cmd_phone_queues(struct desk *d, int argc, char **argv)
{
	Frontdesk__V1__PhoneListQueuesRequest req = FRONTDESK__V1__PHONE_LIST_QUEUES_REQUEST__INIT;
	ProtobufCMessage *reply;
	int rc;

	if ((rc = start(d, NULL, 0, argc, argv)) != DESK_GO)
		return rc;
	if ((rc = desk_call(d, phone, "ListQueues", &req.base, &reply)) != 0)
		return rc;
	Frontdesk__V1__PhoneListQueuesReply *r = (Frontdesk__V1__PhoneListQueuesReply *)reply;
	return print_queues(d, reply, r->queues, r->n_queues);
}

int cmd_phone_queue_save(struct desk *d, int argc, char **argv)
{
	Frontdesk__V1__PhoneSaveQueueRequest req = FRONTDESK__V1__PHONE_SAVE_QUEUE_REQUEST__INIT;
	const char *code = NULL, *name = NULL, *strategy = NULL, *overflow = NULL, *overflow_queue = NULL,
		   *timeout = NULL, *wrap = NULL, *max_wait = NULL, *max_len = NULL, *widen = NULL,
		   *location = NULL;
	ProtobufCMessage *reply;
	int rc;
	const struct desk_flag flags[] = {
		{ "code", DESK_FLAG_TEXT, &code, "CODE", "queue code: front, nurses, billing" },
		{ "name", DESK_FLAG_TEXT, &name, "TEXT", "display name" },
		{ "location", DESK_FLAG_TEXT, &location, "CODE", "location (default: the first)" },
		{ "strategy", DESK_FLAG_TEXT, &strategy, "S",
		  "ring_all, round_robin, least_recent, fewest_calls, linear, random" },
		{ "ring-timeout", DESK_FLAG_TEXT, &timeout, "SECONDS", "ring one member this long" },
		{ "wrap-up", DESK_FLAG_TEXT, &wrap, "SECONDS", "pause after each call" },
		{ "max-wait", DESK_FLAG_TEXT, &max_wait, "SECONDS", "then overflow" },
		{ "max-length", DESK_FLAG_TEXT, &max_len, "N", "callers waiting at most" },
		{ "penalty-widen", DESK_FLAG_TEXT, &widen, "SECONDS", "open the next penalty tier after" },
		{ "overflow", DESK_FLAG_TEXT, &overflow, "KIND", "queue, voicemail or message" },
		{ "overflow-queue", DESK_FLAG_TEXT, &overflow_queue, "CODE", "with --overflow queue" },
	};

	if ((rc = desk_parse_flags(d, flags, countof(flags), argc, argv)) != DESK_GO)
		return rc;
	if (!code)
		return desk_usage(d, "missing --code CODE");
	if ((rc = parse_count(d, "--ring-timeout", timeout, &req.ring_timeout_s)) ||
	    (rc = parse_count(d, "--wrap-up", wrap, &req.wrap_up_s)) ||
	    (rc = parse_count(d, "--max-wait", max_wait, &req.max_wait_s)) ||
	    (rc = parse_count(d, "--max-length", max_len, &req.max_length)) ||
	    (rc = parse_count(d, "--penalty-widen", widen, &req.penalty_widen_s)))
		return rc;
	if ((rc = desk_connect(d, true)) != 0)
		return rc;
	req.code = (char *)code;
	req.name = (char *)or_empty(name);
	req.location = (char *)or_empty(location);
	req.strategy = (char *)or_empty(strategy);
	req.overflow = (char *)or_empty(overflow);
	req.overflow_queue = (char *)or_empty(overflow_queue);
	req.set_wrap_up = wrap != NULL;
	req.set_penalty_widen = widen != NULL;
	if ((rc = desk_call(d, phone, "SaveQueue", &req.base, &reply)) != 0)
		return rc;
	Frontdesk__V1__PhoneSaveQueueReply *r = (Frontdesk__V1__PhoneSaveQueueReply *)reply;
	return print_queues(d, reply, &r->queue, r->queue ? 1 : 0);
}

int cmd_phone_member(struct desk *d, int argc, char **argv)
{
	Frontdesk__V1__PhoneSetQueueMemberRequest req = FRONTDESK__V1__PHONE_SET_QUEUE_MEMBER_REQUEST__INIT;
	const char *queue = NULL, *user = NULL, *penalty = NULL, *position = NULL;
	bool remove_member = false;
	ProtobufCMessage *reply;
	int rc;
	const struct desk_flag flags[] = {
		{ "queue", DESK_FLAG_TEXT, &queue, "CODE", "the queue" },
		{ "user", DESK_FLAG_TEXT, &user, "NAME", "the staff member" },
		{ "penalty", DESK_FLAG_TEXT, &penalty, "0-9", "skill tier; lower rings first" },
		{ "position", DESK_FLAG_TEXT, &position, "N", "order for linear and round-robin" },
		{ "remove", DESK_FLAG_SWITCH, &remove_member, NULL, "take them off the queue" },
	};

	if ((rc = desk_parse_flags(d, flags, countof(flags), argc, argv)) != DESK_GO)
		return rc;
	if (!queue || !user)
		return desk_usage(d, "missing --queue CODE or --user NAME");
	if ((rc = parse_count(d, "--penalty", penalty, &req.penalty)) ||
	    (rc = parse_count(d, "--position", position, &req.position)) || (rc = desk_connect(d, true)))
		return rc;
	req.queue = (char *)queue;
	req.username = (char *)user;
	req.remove = remove_member;
	if ((rc = desk_call(d, phone, "SetQueueMember", &req.base, &reply)) != 0)
		return rc;
	Frontdesk__V1__PhoneSetQueueMemberReply *r = (Frontdesk__V1__PhoneSetQueueMemberReply *)reply;
	return print_queues(d, reply, &r->queue, r->queue ? 1 : 0);
}

int cmd_phone_extension(struct desk *d, int argc, char **argv)
{
	Frontdesk__V1__PhoneSetExtensionRequest req = FRONTDESK__V1__PHONE_SET_EXTENSION_REQUEST__INIT;
	const char *user = NULL, *ext = NULL;
	ProtobufCMessage *reply;
	int rc;
	const struct desk_flag flags[] = {
		{ "user", DESK_FLAG_TEXT, &user, "NAME", "the staff member" },
		{ "ext", DESK_FLAG_TEXT, &ext, "DIGITS", "2-6 digit extension" },
	};

	if ((rc = desk_parse_flags(d, flags, countof(flags), argc, argv)) != DESK_GO)
		return rc;
	if (!user || !ext)
		return desk_usage(d, "missing --user NAME or --ext DIGITS");
	if ((rc = desk_connect(d, true)) != 0)
		return rc;
	req.username = (char *)user;
	req.extension = (char *)ext;
	if ((rc = desk_call(d, phone, "SetExtension", &req.base, &reply)) != 0)
		return rc;
	protobuf_c_message_free_unpacked(reply, NULL);
	if (d->json) {
		struct desk_json j;
		json_begin(&j, stdout);
		json_bool(&j, "ok", true);
		json_end(&j);
	} else {
		puts("Extension saved.");
	}
	return 0;
}

/* --- rules and time conditions ---------------------------------------------------- */

/* rule-add and rule-update take the same flags: update replaces every
 * field of the named rule. */
static int save_rule(struct desk *d, int argc, char **argv, bool update)
{
	Frontdesk__V1__PhoneAddRuleRequest add = FRONTDESK__V1__PHONE_ADD_RULE_REQUEST__INIT;
	Frontdesk__V1__PhoneUpdateRuleRequest change = FRONTDESK__V1__PHONE_UPDATE_RULE_REQUEST__INIT;
	Frontdesk__V1__PhoneRule rule = FRONTDESK__V1__PHONE_RULE__INIT;
	const char *name = NULL, *priority = NULL, *condition = NULL, *action = NULL, *menu = NULL,
		   *queue = NULL, *number = NULL, *box = NULL, *line = NULL;
	ProtobufCMessage *reply;
	int rc;
	const struct desk_flag flags[] = {
		{ "name", DESK_FLAG_TEXT, &name, "NAME", "rule name, shown in every decision" },
		{ "priority", DESK_FLAG_TEXT, &priority, "N", "lower is looked at first (1-10000)" },
		{ "condition", DESK_FLAG_TEXT, &condition, "C",
		  "always, open, closed, after_hours, lunch, holiday, override, caller_patient,"
		  " caller_patient_today, caller_listed, caller_care_team, menu" },
		{ "menu", DESK_FLAG_TEXT, &menu, "CHOICE", "with --condition menu" },
		{ "line", DESK_FLAG_TEXT, &line, "CODE", "only calls to this line" },
		{ "action", DESK_FLAG_TEXT, &action, "A",
		  "queue, listed_queue, care_team_queue, on_call, answering_service, voicemail,"
		  " message" },
		{ "queue", DESK_FLAG_TEXT, &queue, "CODE", "with queue / message" },
		{ "number", DESK_FLAG_TEXT, &number, "NUMBER", "with answering_service" },
		{ "box", DESK_FLAG_TEXT, &box, "NAME", "with voicemail" },
	};

	if ((rc = desk_parse_flags(d, flags, countof(flags), argc, argv)) != DESK_GO)
		return rc;
	if (!name || !priority || !condition || !action)
		return desk_usage(d, "missing --name, --priority, --condition or --action");
	if ((rc = parse_count(d, "--priority", priority, &rule.priority)) || (rc = desk_connect(d, true)))
		return rc;
	rule.name = (char *)name;
	rule.condition = (char *)condition;
	rule.action = (char *)action;
	rule.menu_choice = (char *)or_empty(menu);
	rule.line = (char *)or_empty(line);
	rule.queue = (char *)or_empty(queue);
	rule.number = (char *)or_empty(number);
	rule.voicemail_box = (char *)or_empty(box);
	add.rule = change.rule = &rule;
	if ((rc = desk_call(d, phone, update ? "UpdateRule" : "AddRule",
			    update ? &change.base : &add.base, &reply)) != 0)
		return rc;
	/* Both replies are { PhoneRule rule = 1; }. */
	Frontdesk__V1__PhoneRule *r = update ? ((Frontdesk__V1__PhoneUpdateRuleReply *)reply)->rule
					     : ((Frontdesk__V1__PhoneAddRuleReply *)reply)->rule;
	if (d->json) {
		struct desk_json j;
		json_begin(&j, stdout);
		json_object(&j, "rule");
		json_int(&j, "id", r ? r->id : 0);
		json_string(&j, "name", r ? r->name : "");
		json_int(&j, "priority", r ? r->priority : 0);
		json_object_end(&j);
		json_end(&j);
	} else if (r) {
		fputs(update ? "Changed rule " : "Added rule ", stdout);
		desk_print_text(stdout, r->name);
		printf(" at priority %d.\n", r->priority);
	}
	protobuf_c_message_free_unpacked(reply, NULL);
	return 0;
}

int cmd_phone_rule_add(struct desk *d, int argc, char **argv)
{
	return save_rule(d, argc, argv, false);
}

int cmd_phone_rule_update(struct desk *d, int argc, char **argv)
{
	return save_rule(d, argc, argv, true);
}

int cmd_phone_rules(struct desk *d, int argc, char **argv)
{
	Frontdesk__V1__PhoneListRulesRequest req = FRONTDESK__V1__PHONE_LIST_RULES_REQUEST__INIT;
	ProtobufCMessage *reply;
	int rc;

	if ((rc = start(d, NULL, 0, argc, argv)) != DESK_GO)
		return rc;
	if ((rc = desk_call(d, phone, "ListRules", &req.base, &reply)) != 0)
		return rc;
	Frontdesk__V1__PhoneListRulesReply *r = (Frontdesk__V1__PhoneListRulesReply *)reply;
	if (d->json) {
		struct desk_json j;
		json_begin(&j, stdout);
		json_array(&j, "rules");
		for (size_t i = 0; i < r->n_rules; i++) {
			const Frontdesk__V1__PhoneRule *x = r->rules[i];
			json_object(&j, NULL);
			json_string(&j, "name", x->name);
			json_int(&j, "priority", x->priority);
			json_string(&j, "line", x->line);
			json_string(&j, "condition", x->condition);
			json_string(&j, "menu_choice", x->menu_choice);
			json_string(&j, "action", x->action);
			json_string(&j, "queue", x->queue);
			json_string(&j, "number", x->number);
			json_string(&j, "voicemail_box", x->voicemail_box);
			json_object_end(&j);
		}
		json_array_end(&j);
		json_end(&j);
	} else {
		struct desk_table t;
		desk_table_init(&t, 6, "PRIO", "NAME", "LINE", "CONDITION", "ACTION", "TARGET");
		for (size_t i = 0; i < r->n_rules; i++) {
			const Frontdesk__V1__PhoneRule *x = r->rules[i];
			char prio[16], cond[80];
			snprintf(prio, sizeof prio, "%d", x->priority);
			snprintf(cond, sizeof cond, "%s%s%s", x->condition, *x->menu_choice ? " " : "",
				 x->menu_choice);
			desk_table_row(&t, prio, x->name, x->line, cond, x->action,
				       *x->queue ? x->queue : *x->number ? x->number : x->voicemail_box);
		}
		desk_table_print(&t, stdout);
		desk_table_free(&t);
	}
	protobuf_c_message_free_unpacked(reply, NULL);
	return 0;
}

/* Prints {"ok":true} or a sentence for commands whose reply is empty. */
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

int cmd_phone_rule_delete(struct desk *d, int argc, char **argv)
{
	Frontdesk__V1__PhoneDeleteRuleRequest req = FRONTDESK__V1__PHONE_DELETE_RULE_REQUEST__INIT;
	ProtobufCMessage *reply;
	const char *name = NULL;
	int rc;
	const struct desk_flag flags[] = { { "name", DESK_FLAG_TEXT, &name, "NAME", "the rule" } };

	if ((rc = desk_parse_flags(d, flags, countof(flags), argc, argv)) != DESK_GO)
		return rc;
	if (!name)
		return desk_usage(d, "missing --name NAME");
	if ((rc = desk_connect(d, true)) != 0)
		return rc;
	req.name = (char *)name;
	if ((rc = desk_call(d, phone, "DeleteRule", &req.base, &reply)) != 0)
		return rc;
	return done(d, reply, "Rule removed.");
}

int cmd_phone_hours(struct desk *d, int argc, char **argv)
{
	Frontdesk__V1__PhoneSetHoursRequest req = FRONTDESK__V1__PHONE_SET_HOURS_REQUEST__INIT;
	const char *day = NULL, *opens = NULL, *closes = NULL, *lunch = NULL, *lunch_end = NULL,
		   *location = NULL;
	bool closed = false;
	ProtobufCMessage *reply;
	int rc;
	const struct desk_flag flags[] = {
		{ "weekday", DESK_FLAG_TEXT, &day, "1-7", "1 Monday .. 7 Sunday" },
		{ "opens", DESK_FLAG_TEXT, &opens, "HH:MM", "opening time (local)" },
		{ "closes", DESK_FLAG_TEXT, &closes, "HH:MM", "closing time (local)" },
		{ "lunch", DESK_FLAG_TEXT, &lunch, "HH:MM", "lunch closure starts" },
		{ "lunch-end", DESK_FLAG_TEXT, &lunch_end, "HH:MM", "lunch closure ends" },
		{ "closed", DESK_FLAG_SWITCH, &closed, NULL, "closed all day" },
		{ "location", DESK_FLAG_TEXT, &location, "CODE", "location (default: the first)" },
	};

	if ((rc = desk_parse_flags(d, flags, countof(flags), argc, argv)) != DESK_GO)
		return rc;
	if (!day || (!closed && (!opens || !closes)))
		return desk_usage(d, "missing --weekday N and --opens/--closes (or --closed)");
	if ((rc = parse_count(d, "--weekday", day, &req.weekday)) || (rc = desk_connect(d, true)))
		return rc;
	req.opens = (char *)or_empty(opens);
	req.closes = (char *)or_empty(closes);
	req.lunch_starts = (char *)or_empty(lunch);
	req.lunch_ends = (char *)or_empty(lunch_end);
	req.closed = closed;
	req.location = (char *)or_empty(location);
	if ((rc = desk_call(d, phone, "SetHours", &req.base, &reply)) != 0)
		return rc;
	return done(d, reply, "Hours saved.");
}

int cmd_phone_holiday(struct desk *d, int argc, char **argv)
{
	Frontdesk__V1__PhoneAddHolidayRequest req = FRONTDESK__V1__PHONE_ADD_HOLIDAY_REQUEST__INIT;
	const char *date = NULL, *name = NULL, *location = NULL;
	ProtobufCMessage *reply;
	int rc;
	const struct desk_flag flags[] = {
		{ "date", DESK_FLAG_TEXT, &date, "YYYY-MM-DD", "the day (local)" },
		{ "name", DESK_FLAG_TEXT, &name, "TEXT", "e.g. Thanksgiving" },
		{ "location", DESK_FLAG_TEXT, &location, "CODE", "location (default: the first)" },
	};

	if ((rc = desk_parse_flags(d, flags, countof(flags), argc, argv)) != DESK_GO)
		return rc;
	if (!date || !name)
		return desk_usage(d, "missing --date or --name");
	if ((rc = desk_connect(d, true)) != 0)
		return rc;
	req.date = (char *)date;
	req.name = (char *)name;
	req.location = (char *)or_empty(location);
	if ((rc = desk_call(d, phone, "AddHoliday", &req.base, &reply)) != 0)
		return rc;
	return done(d, reply, "Holiday saved.");
}

int cmd_phone_override(struct desk *d, int argc, char **argv)
{
	Frontdesk__V1__PhoneSetOverrideRequest req = FRONTDESK__V1__PHONE_SET_OVERRIDE_REQUEST__INIT;
	const char *state = NULL, *reason = NULL, *location = NULL, *until = NULL;
	bool clear = false;
	ProtobufCMessage *reply;
	int rc;
	const struct desk_flag flags[] = {
		{ "set", DESK_FLAG_TEXT, &state, "closed|open", "force the clinic closed or open" },
		{ "reason", DESK_FLAG_TEXT, &reason, "TEXT", "e.g. closed for weather" },
		{ "until", DESK_FLAG_TEXT, &until, "TIME",
		  "end it then (local 2026-11-27T18:00 or 18:00, or unix seconds); default: until cleared" },
		{ "clear", DESK_FLAG_SWITCH, &clear, NULL, "end the override now" },
		{ "location", DESK_FLAG_TEXT, &location, "CODE", "location (default: the first)" },
	};

	if ((rc = desk_parse_flags(d, flags, countof(flags), argc, argv)) != DESK_GO)
		return rc;
	if (!clear && (!state || !reason))
		return desk_usage(d, "give --set closed|open --reason TEXT, or --clear");
	if ((rc = parse_time(d, "--until", until, &req.until_unix_ms, &req.until_local)) != 0 ||
	    (rc = desk_connect(d, true)) != 0)
		return rc;
	req.state = (char *)or_empty(state);
	req.reason = (char *)or_empty(reason);
	req.clear = clear;
	req.location = (char *)or_empty(location);
	if ((rc = desk_call(d, phone, "SetOverride", &req.base, &reply)) != 0)
		return rc;
	return done(d, reply, clear ? "Override cleared." : "Override in force.");
}

/* --- messages and stats ------------------------------------------------------------ */

static void json_message(struct desk_json *j, const char *key, const Frontdesk__V1__PhoneMessage *m)
{
	if (!m) {
		json_null(j, key);
		return;
	}
	json_object(j, key);
	json_int(j, "id", m->id);
	json_int(j, "call_id", m->call_id);
	json_string(j, "for_username", m->for_username);
	json_string(j, "for_queue", m->for_queue);
	json_string(j, "caller_name", m->caller_name);
	json_string(j, "callback_number", m->callback_number);
	json_int(j, "patient_id", m->patient_id);
	json_string(j, "reason", m->reason);
	json_string(j, "urgency", m->urgency);
	json_int(j, "place_unix_ms", m->place_unix_ms);
	json_int(j, "callback_due_unix_ms", m->callback_due_unix_ms);
	json_string(j, "offered_to", m->offered_to);
	json_int(j, "offered_unix_ms", m->offered_unix_ms);
	json_int(j, "done_unix_ms", m->done_unix_ms);
	json_object_end(j);
}

int cmd_phone_message_take(struct desk *d, int argc, char **argv)
{
	Frontdesk__V1__PhoneTakeMessageRequest req = FRONTDESK__V1__PHONE_TAKE_MESSAGE_REQUEST__INIT;
	const char *user = NULL, *queue = NULL, *name = NULL, *number = NULL, *reason = NULL,
		   *call = NULL, *patient = NULL, *due = NULL;
	bool urgent = false;
	ProtobufCMessage *reply;
	int rc;
	const struct desk_flag flags[] = {
		{ "for", DESK_FLAG_TEXT, &user, "USER", "staff member's inbox" },
		{ "queue", DESK_FLAG_TEXT, &queue, "CODE", "or a queue's inbox" },
		{ "caller", DESK_FLAG_TEXT, &name, "NAME", "who called" },
		{ "number", DESK_FLAG_TEXT, &number, "NUMBER", "callback number, E.164" },
		{ "reason", DESK_FLAG_TEXT, &reason, "TEXT", "what it is about" },
		{ "call", DESK_FLAG_TEXT, &call, "ID", "the call it came from (keeps its place)" },
		{ "patient", DESK_FLAG_TEXT, &patient, "ID", "the patient it is about" },
		{ "urgent", DESK_FLAG_SWITCH, &urgent, NULL, "urgent" },
		{ "due", DESK_FLAG_TEXT, &due, "TIME",
		  "a callback due then: local time at the queue (15:00, 2026-11-27T15:00) or unix seconds" },
	};

	if ((rc = desk_parse_flags(d, flags, countof(flags), argc, argv)) != DESK_GO)
		return rc;
	if (!number || !reason)
		return desk_usage(d, "missing --number or --reason");
	if ((call && (rc = desk_parse_id(d, "--call", call, &req.call_id)) != 0) ||
	    (patient && (rc = desk_parse_id(d, "--patient", patient, &req.patient_id)) != 0) ||
	    (rc = parse_time(d, "--due", due, &req.callback_due_unix_ms, &req.callback_due_local)) != 0 ||
	    (rc = desk_connect(d, true)) != 0)
		return rc;
	req.for_username = (char *)or_empty(user);
	req.for_queue = (char *)or_empty(queue);
	req.caller_name = (char *)or_empty(name);
	req.callback_number = (char *)number;
	req.reason = (char *)reason;
	req.urgency = urgent ? "urgent" : "routine";
	if ((rc = desk_call(d, phone, "TakeMessage", &req.base, &reply)) != 0)
		return rc;
	Frontdesk__V1__PhoneMessage *m = ((Frontdesk__V1__PhoneTakeMessageReply *)reply)->message;
	if (d->json) {
		struct desk_json j;
		json_begin(&j, stdout);
		json_message(&j, "message", m);
		json_end(&j);
	} else if (m) {
		printf("Message #%lld taken.\n", (long long)m->id);
	}
	protobuf_c_message_free_unpacked(reply, NULL);
	return 0;
}

int cmd_phone_messages(struct desk *d, int argc, char **argv)
{
	Frontdesk__V1__PhoneListMessagesRequest req = FRONTDESK__V1__PHONE_LIST_MESSAGES_REQUEST__INIT;
	const char *user = NULL, *queue = NULL;
	bool all = false;
	ProtobufCMessage *reply;
	int rc;
	const struct desk_flag flags[] = {
		{ "for", DESK_FLAG_TEXT, &user, "USER", "a staff member's inbox" },
		{ "queue", DESK_FLAG_TEXT, &queue, "CODE", "a queue's inbox" },
		{ "all", DESK_FLAG_SWITCH, &all, NULL, "include handled messages" },
	};

	if ((rc = start(d, flags, countof(flags), argc, argv)) != DESK_GO)
		return rc;
	req.for_username = (char *)or_empty(user);
	req.for_queue = (char *)or_empty(queue);
	req.include_done = all;
	if ((rc = desk_call(d, phone, "ListMessages", &req.base, &reply)) != 0)
		return rc;
	Frontdesk__V1__PhoneListMessagesReply *r = (Frontdesk__V1__PhoneListMessagesReply *)reply;
	if (d->json) {
		struct desk_json j;
		json_begin(&j, stdout);
		json_array(&j, "messages");
		for (size_t i = 0; i < r->n_messages; i++)
			json_message(&j, NULL, r->messages[i]);
		json_array_end(&j);
		json_end(&j);
	} else {
		struct desk_table t;
		desk_table_init(&t, 6, "ID", "FOR", "CALLBACK", "URGENCY", "PLACE", "REASON");
		for (size_t i = 0; i < r->n_messages; i++) {
			const Frontdesk__V1__PhoneMessage *m = r->messages[i];
			char id[24], place[64];
			snprintf(id, sizeof id, "%lld", (long long)m->id);
			desk_format_time(place, sizeof place, m->place_unix_ms);
			desk_table_row(&t, id, *m->for_username ? m->for_username : m->for_queue,
				       m->callback_number, m->urgency, place, m->reason);
		}
		desk_table_print(&t, stdout);
		desk_table_free(&t);
	}
	protobuf_c_message_free_unpacked(reply, NULL);
	return 0;
}

int cmd_phone_message_done(struct desk *d, int argc, char **argv)
{
	Frontdesk__V1__PhoneCompleteMessageRequest req = FRONTDESK__V1__PHONE_COMPLETE_MESSAGE_REQUEST__INIT;
	ProtobufCMessage *reply;
	const char *id = NULL;
	int rc;
	const struct desk_flag flags[] = { { "id", DESK_FLAG_TEXT, &id, "MESSAGE", "the message" } };

	if ((rc = desk_parse_flags(d, flags, countof(flags), argc, argv)) != DESK_GO ||
	    (rc = desk_parse_id(d, "--id", id, &req.message_id)) != 0 || (rc = desk_connect(d, true)) != 0)
		return rc;
	if ((rc = desk_call(d, phone, "CompleteMessage", &req.base, &reply)) != 0)
		return rc;
	return done(d, reply, "Message marked handled.");
}

int cmd_phone_message_assign(struct desk *d, int argc, char **argv)
{
	Frontdesk__V1__PhoneAssignMessageRequest req = FRONTDESK__V1__PHONE_ASSIGN_MESSAGE_REQUEST__INIT;
	ProtobufCMessage *reply;
	const char *id = NULL, *to = NULL;
	int rc;
	const struct desk_flag flags[] = {
		{ "id", DESK_FLAG_TEXT, &id, "MESSAGE", "the message" },
		{ "to", DESK_FLAG_TEXT, &to, "USER", "who should handle it" },
	};

	if ((rc = desk_parse_flags(d, flags, countof(flags), argc, argv)) != DESK_GO ||
	    (rc = desk_parse_id(d, "--id", id, &req.message_id)) != 0)
		return rc;
	if (!to)
		return desk_usage(d, "missing --to USER");
	if ((rc = desk_connect(d, true)) != 0)
		return rc;
	req.to_username = (char *)to;
	if ((rc = desk_call(d, phone, "AssignMessage", &req.base, &reply)) != 0)
		return rc;
	return done(d, reply, "Message assigned.");
}

int cmd_phone_stats(struct desk *d, int argc, char **argv)
{
	Frontdesk__V1__PhoneStatsRequest req = FRONTDESK__V1__PHONE_STATS_REQUEST__INIT;
	const char *queue = NULL, *date = NULL;
	ProtobufCMessage *reply;
	int rc;
	const struct desk_flag flags[] = {
		{ "queue", DESK_FLAG_TEXT, &queue, "CODE", "one queue (default: all)" },
		{ "date", DESK_FLAG_TEXT, &date, "YYYY-MM-DD", "local day (default: today)" },
	};

	if ((rc = start(d, flags, countof(flags), argc, argv)) != DESK_GO)
		return rc;
	req.queue = (char *)or_empty(queue);
	req.date = (char *)or_empty(date);
	if ((rc = desk_call(d, phone, "Stats", &req.base, &reply)) != 0)
		return rc;
	Frontdesk__V1__PhoneStatsReply *r = (Frontdesk__V1__PhoneStatsReply *)reply;
	if (d->json) {
		struct desk_json j;
		json_begin(&j, stdout);
		json_array(&j, "queues");
		for (size_t i = 0; i < r->n_queues; i++) {
			const Frontdesk__V1__PhoneQueueStats *q = r->queues[i];
			json_object(&j, NULL);
			json_string(&j, "queue", q->queue);
			json_int(&j, "offered", q->offered);
			json_int(&j, "answered", q->answered);
			json_int(&j, "abandoned", q->abandoned);
			json_int(&j, "overflowed", q->overflowed);
			json_int(&j, "answered_within_sl", q->answered_within_sl);
			json_int(&j, "service_level_s", q->service_level_s);
			json_fixed(&j, "service_level_pct", q->service_level_pct, 1);
			json_fixed(&j, "average_wait_s", q->average_wait_s, 1);
			json_int(&j, "longest_wait_s", q->longest_wait_s);
			json_object_end(&j);
		}
		json_array_end(&j);
		json_array(&j, "staff");
		for (size_t i = 0; i < r->n_staff; i++) {
			json_object(&j, NULL);
			json_string(&j, "username", r->staff[i]->username);
			json_int(&j, "handled", r->staff[i]->handled);
			json_int(&j, "talk_time_s", r->staff[i]->talk_time_s);
			json_object_end(&j);
		}
		json_array_end(&j);
		json_end(&j);
	} else {
		struct desk_table t;
		desk_table_init(&t, 7, "QUEUE", "OFFERED", "ANSWERED", "ABANDONED", "SL%", "ASA(s)", "LONGEST(s)");
		for (size_t i = 0; i < r->n_queues; i++) {
			const Frontdesk__V1__PhoneQueueStats *q = r->queues[i];
			char o[16], a[16], ab[16], sl[16], asa[16], lw[16];
			snprintf(o, sizeof o, "%d", q->offered);
			snprintf(a, sizeof a, "%d", q->answered);
			snprintf(ab, sizeof ab, "%d", q->abandoned);
			snprintf(sl, sizeof sl, "%.1f", q->service_level_pct);
			snprintf(asa, sizeof asa, "%.1f", q->average_wait_s);
			snprintf(lw, sizeof lw, "%d", q->longest_wait_s);
			desk_table_row(&t, q->queue, o, a, ab, sl, asa, lw);
		}
		desk_table_print(&t, stdout);
		desk_table_free(&t);
	}
	protobuf_c_message_free_unpacked(reply, NULL);
	return 0;
}
