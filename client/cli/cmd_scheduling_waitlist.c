/*
 * The waitlist at the desk: `desk waitlist add|list|accept|decline|remove`
 * and the admin's `desk waitlist hold`. When a matching slot frees up the
 * server holds it for the first entry and says so on the event stream
 * (`waitlist.offer`); the desk sees the offer in `desk waitlist list`, calls
 * the patient and answers it. Every string from the server goes through
 * output.c's escaping.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "output.h"
#include "settings.h"
#include "frontdesk/v1/scheduling.pb-c.h"

#define DESK_COMMAND(noun, verb, args, summary, help, action, role, fn) \
	int fn(struct desk *d, int argc, char **argv);
#include "cmd_scheduling.def"
#undef DESK_COMMAND

#define countof(a) (sizeof(a) / sizeof((a)[0]))

/* Calls the Scheduling service; a refusal gets a hint in waitlist words
 * (the generic ALREADY_EXISTS hint talks about picking another name). */
static int call(struct desk *d, const char *method, const ProtobufCMessage *req,
		ProtobufCMessage **reply)
{
	fd_status st;
	int rc;

	if ((rc = desk_connect(d, true)) != 0)
		return rc;
	if (desk_call_quiet(d, &frontdesk__v1__scheduling__descriptor, method, req, reply, &st) == FD_OK)
		return 0;
	const char *hint = NULL;
	if (st.code == FD_ALREADY_EXISTS)
		hint = "see the patient's entry with `desk waitlist list --patient ID`";
	else if (st.code == FD_FAILED_PRECONDITION && strcmp(method, "AcceptOffer") == 0)
		hint = "see the entry's offer with `desk waitlist list`";
	return desk_report(d->json, d->cmd ? d->cmd->action : "error", &st, hint,
			   d->cmd ? d->cmd->role : NULL, desk_server_url(d));
}

static const char *or_empty(const char *s)
{
	return s ? s : "";
}

/* --- printing -------------------------------------------------------- */

static void json_entry(struct desk_json *j, const char *key, const Frontdesk__V1__WaitlistEntry *e)
{
	if (!e) {
		json_null(j, key);
		return;
	}
	json_object(j, key);
	json_int(j, "id", e->id);
	json_int(j, "patient_id", e->patient_id);
	json_string(j, "patient_name", e->patient_name);
	json_string(j, "type", e->type);
	json_string(j, "provider", e->provider);
	json_string(j, "location", e->location);
	json_string(j, "time_zone", e->time_zone);
	json_array(j, "weekdays");
	for (size_t i = 0; i < e->n_weekdays; i++)
		json_int(j, NULL, e->weekdays[i]);
	json_array_end(j);
	json_string(j, "time_of_day", e->time_of_day);
	json_string(j, "from_date", e->from_date);
	json_string(j, "to_date", e->to_date);
	json_int(j, "priority", e->priority);
	json_string(j, "note", e->note);
	json_string(j, "status", e->status);
	json_int(j, "requested_unix_ms", e->requested_unix_ms);
	json_int(j, "offer_id", e->offer_id);
	json_string(j, "offer_provider", e->offer_provider);
	json_string(j, "offer_starts_local", e->offer_starts_local);
	json_string(j, "offer_expires_local", e->offer_expires_local);
	json_int(j, "offer_expires_unix_ms", e->offer_expires_unix_ms);
	json_string_list(j, "offer_rooms", e->offer_rooms, e->n_offer_rooms);
	json_int(j, "appointment_id", e->appointment_id);
	json_object_end(j);
}

static const char *const day_names[] = { "mon", "tue", "wed", "thu", "fri", "sat", "sun" };

/* "mon,thu 09:00-12:00 from 2027-03-01" style summary of what is wanted. */
static void describe_wish(const Frontdesk__V1__WaitlistEntry *e, char *out, size_t size)
{
	size_t used = 0;

	out[0] = '\0';
	for (size_t i = 0; i < e->n_weekdays && used < size; i++)
		if (e->weekdays[i] >= 1 && e->weekdays[i] <= 7)
			used += (size_t)snprintf(out + used, size - used, "%s%s", i ? "," : "",
						 day_names[e->weekdays[i] - 1]);
	if (*e->time_of_day && used < size)
		used += (size_t)snprintf(out + used, size - used, "%s%s", used ? " " : "", e->time_of_day);
	if (*e->from_date && used < size)
		used += (size_t)snprintf(out + used, size - used, "%sfrom %s", used ? " " : "", e->from_date);
	if (*e->to_date && used < size)
		used += (size_t)snprintf(out + used, size - used, "%still %s", used ? " " : "", e->to_date);
	if (!used)
		snprintf(out, size, "any time");
}

static void print_entry_line(const char *verb, const Frontdesk__V1__WaitlistEntry *e)
{
	printf("%s waitlist entry #%lld: patient #%lld (", verb, (long long)e->id,
	       (long long)e->patient_id);
	desk_print_text(stdout, e->patient_name);
	fputs("), ", stdout);
	desk_print_text(stdout, e->type);
	if (*e->provider) {
		fputs(" with ", stdout);
		desk_print_text(stdout, e->provider);
	}
	fputs(", ", stdout);
	desk_print_text(stdout, e->status);
	if (e->offer_id) {
		fputs(": holding ", stdout);
		desk_print_text(stdout, e->offer_starts_local);
		fputs(" until ", stdout);
		desk_print_text(stdout, e->offer_expires_local);
		for (size_t i = 0; i < e->n_offer_rooms; i++) {
			fputs(i ? ", " : " in ", stdout);
			desk_print_text(stdout, e->offer_rooms[i]);
		}
	}
	if (e->appointment_id)
		printf(" as appointment #%lld", (long long)e->appointment_id);
	fputs(".\n", stdout);
}

static void print_entry(const struct desk *d, const char *verb, const Frontdesk__V1__WaitlistEntry *e)
{
	if (d->json) {
		struct desk_json j;
		json_begin(&j, stdout);
		json_entry(&j, "entry", e);
		json_end(&j);
	} else if (e) {
		print_entry_line(verb, e);
	}
}

/* --- commands -------------------------------------------------------- */

static int parse_weekday(const char *s)
{
	if (s[0] >= '1' && s[0] <= '7' && !s[1])
		return s[0] - '0';
	for (int i = 0; i < 7; i++)
		if (strcmp(s, day_names[i]) == 0)
			return i + 1;
	return 0;
}

int cmd_waitlist_add(struct desk *d, int argc, char **argv)
{
	Frontdesk__V1__AddWaitlistRequest req = FRONTDESK__V1__ADD_WAITLIST_REQUEST__INIT;
	const char *patient = NULL, *type = NULL, *provider = NULL, *location = NULL;
	const char *from = NULL, *to = NULL, *priority = NULL, *note = NULL;
	bool morning = false, afternoon = false;
	struct desk_list days = { 0 };
	int32_t weekdays[DESK_LIST_MAX];
	ProtobufCMessage *reply;
	int rc;
	const struct desk_flag flags[] = {
		{ "patient", DESK_FLAG_TEXT, &patient, "ID", "patient id" },
		{ "type", DESK_FLAG_TEXT, &type, "T", "appointment type code" },
		{ "provider", DESK_FLAG_TEXT, &provider, "P", "only this provider" },
		{ "location", DESK_FLAG_TEXT, &location, "L", "default: the clinic's first location" },
		{ "day", DESK_FLAG_LIST, &days, "mon..sun|1-7", "only this weekday (repeatable)" },
		{ "morning", DESK_FLAG_SWITCH, &morning, NULL, "only starts before 12:00" },
		{ "afternoon", DESK_FLAG_SWITCH, &afternoon, NULL, "only starts at 12:00 or later" },
		{ "from", DESK_FLAG_TEXT, &from, "DATE", "not before this date" },
		{ "to", DESK_FLAG_TEXT, &to, "DATE", "not after this date" },
		{ "priority", DESK_FLAG_TEXT, &priority, "1-5", "1 is offered first (default 3)" },
		{ "note", DESK_FLAG_TEXT, &note, "TEXT", "for the desk" },
	};

	if ((rc = desk_parse_flags(d, flags, countof(flags), argc, argv)) != DESK_GO)
		return rc;
	if (!type)
		return desk_usage(d, "give --patient ID and --type T");
	if ((rc = desk_parse_id(d, "--patient", patient, &req.patient_id)) != 0)
		return rc;
	if (morning && afternoon)
		return desk_usage(d, "give --morning or --afternoon, not both");
	for (size_t i = 0; i < days.n; i++)
		if (!(weekdays[i] = parse_weekday(days.items[i])))
			return desk_usage(d, "--day takes mon..sun or 1-7");
	if (priority) {
		char *end;
		long n = strtol(priority, &end, 10);
		if (end == priority || *end || n < 1 || n > 5)
			return desk_usage(d, "--priority takes 1-5");
		req.priority = (int32_t)n;
	}
	req.type = (char *)type;
	req.provider = (char *)or_empty(provider);
	req.location = (char *)or_empty(location);
	req.weekdays = weekdays;
	req.n_weekdays = days.n;
	req.time_of_day = morning ? "morning" : afternoon ? "afternoon" : "";
	req.from_date = (char *)or_empty(from);
	req.to_date = (char *)or_empty(to);
	req.note = (char *)or_empty(note);
	if ((rc = call(d, "AddWaitlist", &req.base, &reply)) != 0)
		return rc;
	print_entry(d, "Added", ((Frontdesk__V1__AddWaitlistReply *)reply)->entry);
	protobuf_c_message_free_unpacked(reply, NULL);
	return 0;
}

int cmd_waitlist_list(struct desk *d, int argc, char **argv)
{
	Frontdesk__V1__ListWaitlistRequest req = FRONTDESK__V1__LIST_WAITLIST_REQUEST__INIT;
	const char *type = NULL, *location = NULL, *patient = NULL;
	bool all = false;
	ProtobufCMessage *reply;
	int rc;
	const struct desk_flag flags[] = {
		{ "type", DESK_FLAG_TEXT, &type, "T", "only this appointment type" },
		{ "location", DESK_FLAG_TEXT, &location, "L", "only this location" },
		{ "patient", DESK_FLAG_TEXT, &patient, "ID", "only this patient's entries" },
		{ "all", DESK_FLAG_SWITCH, &all, NULL, "also booked and removed entries" },
	};

	if ((rc = desk_parse_flags(d, flags, countof(flags), argc, argv)) != DESK_GO)
		return rc;
	if (patient && (rc = desk_parse_id(d, "--patient", patient, &req.patient_id)) != 0)
		return rc;
	req.type = (char *)or_empty(type);
	req.location = (char *)or_empty(location);
	req.include_closed = all;
	if ((rc = call(d, "ListWaitlist", &req.base, &reply)) != 0)
		return rc;
	Frontdesk__V1__ListWaitlistReply *r = (void *)reply;
	if (d->json) {
		struct desk_json j;
		json_begin(&j, stdout);
		json_array(&j, "entries");
		for (size_t i = 0; i < r->n_entries; i++)
			json_entry(&j, NULL, r->entries[i]);
		json_array_end(&j);
		json_end(&j);
	} else if (r->n_entries == 0) {
		puts("Nobody is waiting.");
	} else {
		struct desk_table t;
		desk_table_init(&t, 8, "ID", "PRIO", "PATIENT", "TYPE", "PROVIDER", "WANTS", "STATUS",
				"OFFER (HELD UNTIL)");
		for (size_t i = 0; i < r->n_entries; i++) {
			const Frontdesk__V1__WaitlistEntry *e = r->entries[i];
			char id[24], prio[8], patient_col[256], wish[96], offer[96];
			snprintf(id, sizeof id, "%lld", (long long)e->id);
			snprintf(prio, sizeof prio, "%d", (int)e->priority);
			snprintf(patient_col, sizeof patient_col, "#%lld %s", (long long)e->patient_id,
				 e->patient_name);
			describe_wish(e, wish, sizeof wish);
			if (e->offer_id)
				snprintf(offer, sizeof offer, "%s %s (%s)", e->offer_provider,
					 e->offer_starts_local,
					 strlen(e->offer_expires_local) > 11 ? e->offer_expires_local + 11
									     : e->offer_expires_local);
			else if (e->appointment_id)
				snprintf(offer, sizeof offer, "appointment #%lld", (long long)e->appointment_id);
			else
				offer[0] = '\0';
			desk_table_row(&t, id, prio, patient_col, e->type, *e->provider ? e->provider : "any",
				       wish, e->status, offer);
		}
		desk_table_print(&t, stdout);
		desk_table_free(&t);
	}
	protobuf_c_message_free_unpacked(reply, NULL);
	return 0;
}

/* accept, decline and remove: an entry id in. */
static int entry_command(struct desk *d, int argc, char **argv, const char *method)
{
	Frontdesk__V1__AcceptOfferRequest accept = FRONTDESK__V1__ACCEPT_OFFER_REQUEST__INIT;
	Frontdesk__V1__DeclineOfferRequest decline = FRONTDESK__V1__DECLINE_OFFER_REQUEST__INIT;
	Frontdesk__V1__RemoveWaitlistRequest remove = FRONTDESK__V1__REMOVE_WAITLIST_REQUEST__INIT;
	int skip = argc > 0 && argv[0][0] != '-';
	const char *id = skip ? argv[0] : NULL;
	const ProtobufCMessage *req;
	ProtobufCMessage *reply;
	int64_t entry;
	int rc;

	if ((rc = desk_parse_flags(d, NULL, 0, argc - skip, argv + skip)) != DESK_GO)
		return rc;
	if ((rc = desk_parse_id(d, "ID", id, &entry)) != 0)
		return rc;
	accept.entry_id = decline.entry_id = remove.entry_id = entry;
	req = strcmp(method, "AcceptOffer") == 0    ? &accept.base
	      : strcmp(method, "DeclineOffer") == 0 ? &decline.base
						    : &remove.base;
	if ((rc = call(d, method, req, &reply)) != 0)
		return rc;
	if (req == &accept.base) {
		Frontdesk__V1__AcceptOfferReply *r = (void *)reply;
		if (d->json) {
			struct desk_json j;
			json_begin(&j, stdout);
			json_entry(&j, "entry", r->entry);
			json_end(&j);
		} else if (r->appointment) {
			printf("Booked appointment #%lld: ", (long long)r->appointment->id);
			desk_print_text(stdout, r->appointment->starts_local);
			fputs(" ", stdout);
			desk_print_text(stdout, r->appointment->time_zone);
			fputs(" with ", stdout);
			desk_print_text(stdout, r->appointment->provider_name);
			printf(" for patient #%lld.\n", (long long)r->appointment->patient_id);
		}
	} else {
		/* Both replies hold the entry as field 1. */
		print_entry(d, req == &decline.base ? "Declined; back in line:" : "Removed",
			    req == &decline.base ? ((Frontdesk__V1__DeclineOfferReply *)reply)->entry
						 : ((Frontdesk__V1__RemoveWaitlistReply *)reply)->entry);
	}
	protobuf_c_message_free_unpacked(reply, NULL);
	return 0;
}

int cmd_waitlist_accept(struct desk *d, int argc, char **argv)
{
	return entry_command(d, argc, argv, "AcceptOffer");
}

int cmd_waitlist_decline(struct desk *d, int argc, char **argv)
{
	return entry_command(d, argc, argv, "DeclineOffer");
}

int cmd_waitlist_remove(struct desk *d, int argc, char **argv)
{
	return entry_command(d, argc, argv, "RemoveWaitlist");
}

int cmd_waitlist_hold(struct desk *d, int argc, char **argv)
{
	Frontdesk__V1__SetOfferHoldRequest req = FRONTDESK__V1__SET_OFFER_HOLD_REQUEST__INIT;
	const char *minutes = NULL, *location = NULL;
	ProtobufCMessage *reply;
	char *end;
	int rc;
	const struct desk_flag flags[] = {
		{ "minutes", DESK_FLAG_TEXT, &minutes, "MIN", "how long an offer holds its slot" },
		{ "location", DESK_FLAG_TEXT, &location, "L", "default: the clinic's first location" },
	};

	if ((rc = desk_parse_flags(d, flags, countof(flags), argc, argv)) != DESK_GO)
		return rc;
	long n = minutes ? strtol(minutes, &end, 10) : 0;
	if (!minutes || end == minutes || *end || n < 1 || n > 1440)
		return desk_usage(d, "--minutes takes 1-1440");
	req.minutes = (int32_t)n;
	req.location = (char *)or_empty(location);
	if ((rc = call(d, "SetOfferHold", &req.base, &reply)) != 0)
		return rc;
	if (d->json) {
		struct desk_json j;
		json_begin(&j, stdout);
		json_int(&j, "offer_hold_min", req.minutes);
		json_end(&j);
	} else {
		printf("Waitlist offers now hold their slot for %d minutes.\n", (int)req.minutes);
	}
	protobuf_c_message_free_unpacked(reply, NULL);
	return 0;
}
