/*
 * Booking at the desk: `desk slots`, `desk appt book|reschedule|cancel|
 * noshow|confirm|show|list|noshows` and `desk schedule`. Times are typed
 * and shown as the location's wall-clock time ("2025-03-10 09:30"), which
 * the server converts; a refused booking prints the server's reason (for a
 * slot just taken, with the next free times). Every string from the server
 * goes through output.c's escaping.
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

static const ProtobufCServiceDescriptor *const scheduling = &frontdesk__v1__scheduling__descriptor;

/* Calls the Scheduling service. A refused time gets a hint in booking
 * words: the generic ALREADY_EXISTS hint ("pick another name") does not
 * fit a slot that was just taken or is held for the waitlist. */
static int call(struct desk *d, const char *method, const ProtobufCMessage *req,
		ProtobufCMessage **reply)
{
	fd_status st;
	int rc;

	if ((rc = desk_connect(d, true)) != 0)
		return rc;
	if (desk_call_quiet(d, scheduling, method, req, reply, &st) == FD_OK)
		return 0;
	const char *hint = NULL;
	if (st.code == FD_ALREADY_EXISTS)
		hint = "pick one of the next free times above, or search with `desk slots`";
	return desk_report(d->json, d->cmd ? d->cmd->action : "error", &st, hint,
			   d->cmd ? d->cmd->role : NULL, desk_server_url(d));
}

static const char *or_empty(const char *s)
{
	return s ? s : "";
}

/* The leading record id of `desk appt show 12 ...`: argv[0] when it is not
 * a flag. *skip is how many words it took. */
static const char *leading_id(int argc, char **argv, int *skip)
{
	*skip = argc > 0 && argv[0][0] != '-';
	return *skip ? argv[0] : NULL;
}

/* --- printing appointments ------------------------------------------- */

static void json_appointment(struct desk_json *j, const char *key, const Frontdesk__V1__Appointment *a)
{
	if (!a) {
		json_null(j, key);
		return;
	}
	json_object(j, key);
	json_int(j, "id", a->id);
	json_int(j, "patient_id", a->patient_id);
	json_string(j, "patient_name", a->patient_name);
	json_int(j, "provider_id", a->provider_id);
	json_string(j, "provider", a->provider);
	json_string(j, "provider_name", a->provider_name);
	json_string(j, "type", a->type);
	json_string(j, "type_name", a->type_name);
	json_string(j, "location", a->location);
	json_string(j, "time_zone", a->time_zone);
	json_string(j, "starts_local", a->starts_local);
	json_string(j, "ends_local", a->ends_local);
	json_int(j, "starts_unix_ms", a->starts_unix_ms);
	json_int(j, "ends_unix_ms", a->ends_unix_ms);
	json_string(j, "status", a->status);
	json_string(j, "reason", a->reason);
	json_string(j, "notes", a->notes);
	json_string_list(j, "rooms", a->rooms, a->n_rooms);
	json_bool(j, "overbooked", a->overbooked);
	json_string(j, "overbook_reason", a->overbook_reason);
	json_string(j, "cancel_reason", a->cancel_reason);
	json_int(j, "rescheduled_from", a->rescheduled_from);
	json_int(j, "rescheduled_to", a->rescheduled_to);
	json_string(j, "booked_by", a->booked_by);
	json_int(j, "booked_unix_ms", a->booked_unix_ms);
	json_object_end(j);
}

static void print_appointment_line(const char *verb, const Frontdesk__V1__Appointment *a)
{
	printf("%s appointment #%lld: ", verb, (long long)a->id);
	desk_print_text(stdout, a->starts_local);
	fputs("-", stdout);
	desk_print_text(stdout, strlen(a->ends_local) > 11 ? a->ends_local + 11 : a->ends_local);
	fputs(" ", stdout);
	desk_print_text(stdout, a->time_zone);
	fputs(", ", stdout);
	desk_print_text(stdout, a->type_name);
	fputs(" with ", stdout);
	desk_print_text(stdout, a->provider_name);
	printf(" for patient #%lld (", (long long)a->patient_id);
	desk_print_text(stdout, a->patient_name);
	fputs("), ", stdout);
	desk_print_text(stdout, a->status);
	if (a->n_rooms) {
		fputs(", room ", stdout);
		for (size_t i = 0; i < a->n_rooms; i++) {
			if (i)
				fputs(", ", stdout);
			desk_print_text(stdout, a->rooms[i]);
		}
	}
	fputs(a->overbooked ? " (overbooked)" : "", stdout);
	fputs(".\n", stdout);
}

static void print_appointment_table(Frontdesk__V1__Appointment *const *as, size_t n, bool with_date)
{
	struct desk_table t;

	desk_table_init(&t, 8, "ID", with_date ? "WHEN" : "TIME", "PROVIDER", "TYPE", "PATIENT",
			"STATUS", "ROOMS", "LOCATION");
	for (size_t i = 0; i < n; i++) {
		const Frontdesk__V1__Appointment *a = as[i];
		char id[24], when[48], rooms[128], patient[256];
		size_t used = 0;
		snprintf(id, sizeof id, "%lld", (long long)a->id);
		snprintf(when, sizeof when, "%s-%s", with_date ? a->starts_local : a->starts_local + 11,
			 strlen(a->ends_local) > 11 ? a->ends_local + 11 : a->ends_local);
		rooms[0] = '\0';
		for (size_t k = 0; k < a->n_rooms && used < sizeof rooms; k++)
			used += (size_t)snprintf(rooms + used, sizeof rooms - used, "%s%s", k ? "," : "",
						 a->rooms[k]);
		snprintf(patient, sizeof patient, "#%lld %s", (long long)a->patient_id, a->patient_name);
		desk_table_row(&t, id, when, a->provider_name, a->type_name, patient,
			       a->overbooked ? "overbooked" : a->status, rooms, a->location);
	}
	desk_table_print(&t, stdout);
	desk_table_free(&t);
}

/* Prints the reply's one appointment as a line or {"appointment":...}. */
static void print_one(const struct desk *d, const char *verb, const Frontdesk__V1__Appointment *a)
{
	if (d->json) {
		struct desk_json j;
		json_begin(&j, stdout);
		json_appointment(&j, "appointment", a);
		json_end(&j);
	} else if (a) {
		print_appointment_line(verb, a);
	}
}

static void print_list(const struct desk *d, Frontdesk__V1__Appointment *const *as, size_t n,
		       bool with_date)
{
	if (d->json) {
		struct desk_json j;
		json_begin(&j, stdout);
		json_array(&j, "appointments");
		for (size_t i = 0; i < n; i++)
			json_appointment(&j, NULL, as[i]);
		json_array_end(&j);
		json_end(&j);
	} else if (n == 0) {
		puts("No appointments.");
	} else {
		print_appointment_table(as, n, with_date);
	}
}

/* --- slots ----------------------------------------------------------- */

int cmd_slots(struct desk *d, int argc, char **argv)
{
	Frontdesk__V1__FindSlotsRequest req = FRONTDESK__V1__FIND_SLOTS_REQUEST__INIT;
	const char *type = NULL, *provider = NULL, *specialty = NULL, *location = NULL;
	const char *from = NULL, *to = NULL, *limit = NULL;
	bool morning = false, afternoon = false, first = false;
	ProtobufCMessage *reply;
	int rc;
	const struct desk_flag flags[] = {
		{ "type", DESK_FLAG_TEXT, &type, "T", "appointment type code" },
		{ "provider", DESK_FLAG_TEXT, &provider, "P", "only this provider" },
		{ "specialty", DESK_FLAG_TEXT, &specialty, "S", "only providers with this specialty" },
		{ "location", DESK_FLAG_TEXT, &location, "L", "default: the clinic's first location" },
		{ "from", DESK_FLAG_TEXT, &from, "DATE", "first day (default today)" },
		{ "to", DESK_FLAG_TEXT, &to, "DATE", "last day (default a week on)" },
		{ "morning", DESK_FLAG_SWITCH, &morning, NULL, "starts before 12:00" },
		{ "afternoon", DESK_FLAG_SWITCH, &afternoon, NULL, "starts at 12:00 or later" },
		{ "first", DESK_FLAG_SWITCH, &first, NULL, "only the first available slot" },
		{ "limit", DESK_FLAG_TEXT, &limit, "N", "at most N slots (default 50)" },
	};

	if ((rc = desk_parse_flags(d, flags, countof(flags), argc, argv)) != DESK_GO)
		return rc;
	if (!type)
		return desk_usage(d, "missing --type T");
	if (morning && afternoon)
		return desk_usage(d, "give --morning or --afternoon, not both");
	if (limit) {
		char *end;
		long n = strtol(limit, &end, 10);
		if (end == limit || *end || n < 1 || n > 500)
			return desk_usage(d, "--limit takes a number 1-500");
		req.limit = (int32_t)n;
	}
	req.type = (char *)type;
	req.provider = (char *)or_empty(provider);
	req.specialty = (char *)or_empty(specialty);
	req.location = (char *)or_empty(location);
	req.from_date = (char *)or_empty(from);
	req.to_date = (char *)or_empty(to);
	req.time_of_day = morning ? "morning" : afternoon ? "afternoon" : "";
	req.first_available = first;
	if ((rc = call(d, "FindSlots", &req.base, &reply)) != 0)
		return rc;
	Frontdesk__V1__FindSlotsReply *r = (void *)reply;
	if (d->json) {
		struct desk_json j;
		json_begin(&j, stdout);
		json_array(&j, "slots");
		for (size_t i = 0; i < r->n_slots; i++) {
			const Frontdesk__V1__Slot *s = r->slots[i];
			json_object(&j, NULL);
			json_int(&j, "provider_id", s->provider_id);
			json_string(&j, "provider", s->provider);
			json_string(&j, "provider_name", s->provider_name);
			json_string(&j, "location", s->location);
			json_string(&j, "time_zone", s->time_zone);
			json_string(&j, "starts_local", s->starts_local);
			json_string(&j, "ends_local", s->ends_local);
			json_int(&j, "starts_unix_ms", s->starts_unix_ms);
			json_int(&j, "ends_unix_ms", s->ends_unix_ms);
			json_object_end(&j);
		}
		json_array_end(&j);
		json_end(&j);
	} else if (r->n_slots == 0) {
		puts("No open slots in that range.");
	} else {
		struct desk_table t;
		desk_table_init(&t, 4, "START", "END", "PROVIDER", "LOCATION");
		for (size_t i = 0; i < r->n_slots; i++) {
			const Frontdesk__V1__Slot *s = r->slots[i];
			char where[96];
			snprintf(where, sizeof where, "%s (%s)", s->location, s->time_zone);
			desk_table_row(&t, s->starts_local,
				       strlen(s->ends_local) > 11 ? s->ends_local + 11 : s->ends_local,
				       s->provider_name, where);
		}
		desk_table_print(&t, stdout);
		desk_table_free(&t);
	}
	protobuf_c_message_free_unpacked(reply, NULL);
	return 0;
}

/* --- book, reschedule, cancel, no-show, confirm ---------------------- */

/* A recurring booking: one line per occurrence, booked or why not with
 * the next free times; JSON {"appointment":..,"occurrences":[..]}. */
static void print_series(const struct desk *d, const Frontdesk__V1__BookReply *r)
{
	if (d->json) {
		struct desk_json j;
		json_begin(&j, stdout);
		json_appointment(&j, "appointment", r->appointment);
		json_array(&j, "occurrences");
		for (size_t i = 0; i < r->n_occurrences; i++) {
			const Frontdesk__V1__Occurrence *o = r->occurrences[i];
			json_object(&j, NULL);
			json_int(&j, "index", o->index);
			json_string(&j, "starts_local", o->starts_local);
			json_appointment(&j, "appointment", o->appointment);
			json_string(&j, "status", o->status);
			json_string(&j, "problem", o->problem);
			json_string(&j, "next_free", o->next_free);
			json_object_end(&j);
		}
		json_array_end(&j);
		json_end(&j);
		return;
	}
	size_t booked = 0;
	for (size_t i = 0; i < r->n_occurrences; i++) {
		const Frontdesk__V1__Occurrence *o = r->occurrences[i];
		printf("%2d  ", (int)o->index);
		desk_print_text(stdout, o->starts_local);
		if (o->appointment) {
			printf("  booked as appointment #%lld\n", (long long)o->appointment->id);
			booked++;
			continue;
		}
		fputs("  NOT booked: ", stdout);
		desk_print_text(stdout, o->problem);
		fputs("\n      next free: ", stdout);
		desk_print_text(stdout, *o->next_free ? o->next_free : "none in the next four weeks");
		fputs("\n", stdout);
	}
	printf("Booked %zu of %zu occurrences.\n", booked, r->n_occurrences);
}

int cmd_appt_book(struct desk *d, int argc, char **argv)
{
	Frontdesk__V1__BookRequest req = FRONTDESK__V1__BOOK_REQUEST__INIT;
	const char *patient = NULL, *provider = NULL, *type = NULL, *at = NULL, *location = NULL;
	const char *room = NULL, *reason = NULL, *notes = NULL, *overbook_reason = NULL;
	const char *repeat = NULL, *count = NULL;
	bool overbook = false, partial = false;
	ProtobufCMessage *reply;
	int rc;
	const struct desk_flag flags[] = {
		{ "patient", DESK_FLAG_TEXT, &patient, "ID", "patient id" },
		{ "provider", DESK_FLAG_TEXT, &provider, "P", "provider code or id" },
		{ "type", DESK_FLAG_TEXT, &type, "T", "appointment type code" },
		{ "at", DESK_FLAG_TEXT, &at, "'DATE HH:MM'", "local start time" },
		{ "location", DESK_FLAG_TEXT, &location, "L", "default: the provider's location" },
		{ "room", DESK_FLAG_TEXT, &room, "R", "this room instead of any free one" },
		{ "reason", DESK_FLAG_TEXT, &reason, "TEXT", "reason for the visit" },
		{ "notes", DESK_FLAG_TEXT, &notes, "TEXT", "notes for the provider" },
		{ "overbook", DESK_FLAG_SWITCH, &overbook, NULL, "book over other appointments" },
		{ "overbook-reason", DESK_FLAG_TEXT, &overbook_reason, "TEXT", "why (needed with --overbook)" },
		{ "repeat", DESK_FLAG_TEXT, &repeat, "weekly|daily", "book a series at the same time" },
		{ "count", DESK_FLAG_TEXT, &count, "N", "occurrences in the series (2-52)" },
		{ "partial", DESK_FLAG_SWITCH, &partial, NULL, "book what fits, report the rest" },
	};

	if ((rc = desk_parse_flags(d, flags, countof(flags), argc, argv)) != DESK_GO)
		return rc;
	if (!provider || !type || !at)
		return desk_usage(d, "give --patient ID, --provider P, --type T and --at 'DATE HH:MM'");
	if ((rc = desk_parse_id(d, "--patient", patient, &req.patient_id)) != 0)
		return rc;
	if (overbook && !overbook_reason)
		return desk_usage(d, "--overbook needs --overbook-reason TEXT");
	if ((repeat || count || partial) && !(repeat && count))
		return desk_usage(d, "a series needs --repeat weekly|daily and --count N");
	if (count) {
		char *end;
		long n = strtol(count, &end, 10);
		if (end == count || *end || n < 2 || n > 52)
			return desk_usage(d, "--count takes a number 2-52");
		req.count = (int32_t)n;
	}
	req.repeat = (char *)or_empty(repeat);
	req.partial = partial;
	req.provider = (char *)provider;
	req.type = (char *)type;
	req.at = (char *)at;
	req.location = (char *)or_empty(location);
	req.room = (char *)or_empty(room);
	req.reason = (char *)or_empty(reason);
	req.notes = (char *)or_empty(notes);
	req.overbook = overbook;
	req.overbook_reason = (char *)or_empty(overbook_reason);
	if ((rc = call(d, "Book", &req.base, &reply)) != 0)
		return rc;
	Frontdesk__V1__BookReply *r = (void *)reply;
	if (r->n_occurrences)
		print_series(d, r);
	else
		print_one(d, "Booked", r->appointment);
	protobuf_c_message_free_unpacked(reply, NULL);
	return 0;
}

int cmd_appt_reschedule(struct desk *d, int argc, char **argv)
{
	Frontdesk__V1__RescheduleRequest req = FRONTDESK__V1__RESCHEDULE_REQUEST__INIT;
	const char *at = NULL, *provider = NULL, *room = NULL, *reason = NULL;
	int skip;
	const char *id = leading_id(argc, argv, &skip);
	ProtobufCMessage *reply;
	int rc;
	const struct desk_flag flags[] = {
		{ "at", DESK_FLAG_TEXT, &at, "'DATE HH:MM'", "new local start time" },
		{ "provider", DESK_FLAG_TEXT, &provider, "P", "another provider" },
		{ "room", DESK_FLAG_TEXT, &room, "R", "this room instead of any free one" },
		{ "reason", DESK_FLAG_TEXT, &reason, "TEXT", "why it moves" },
	};

	if ((rc = desk_parse_flags(d, flags, countof(flags), argc - skip, argv + skip)) != DESK_GO)
		return rc;
	if ((rc = desk_parse_id(d, "ID", id, &req.appointment_id)) != 0)
		return rc;
	if (!at)
		return desk_usage(d, "missing --at 'DATE HH:MM'");
	req.at = (char *)at;
	req.provider = (char *)or_empty(provider);
	req.room = (char *)or_empty(room);
	req.reason = (char *)or_empty(reason);
	if ((rc = call(d, "Reschedule", &req.base, &reply)) != 0)
		return rc;
	print_one(d, "Rescheduled to", ((Frontdesk__V1__RescheduleReply *)reply)->appointment);
	protobuf_c_message_free_unpacked(reply, NULL);
	return 0;
}

int cmd_appt_cancel(struct desk *d, int argc, char **argv)
{
	Frontdesk__V1__CancelRequest req = FRONTDESK__V1__CANCEL_REQUEST__INIT;
	const char *reason = NULL, *note = NULL;
	int skip;
	const char *id = leading_id(argc, argv, &skip);
	ProtobufCMessage *reply;
	int rc;
	const struct desk_flag flags[] = {
		{ "reason", DESK_FLAG_TEXT, &reason, "CODE", "patient, provider, clinic, weather or other" },
		{ "note", DESK_FLAG_TEXT, &note, "TEXT", "more detail" },
	};

	if ((rc = desk_parse_flags(d, flags, countof(flags), argc - skip, argv + skip)) != DESK_GO)
		return rc;
	if ((rc = desk_parse_id(d, "ID", id, &req.appointment_id)) != 0)
		return rc;
	if (!reason)
		return desk_usage(d, "missing --reason CODE");
	req.reason_code = (char *)reason;
	req.note = (char *)or_empty(note);
	if ((rc = call(d, "Cancel", &req.base, &reply)) != 0)
		return rc;
	print_one(d, "Cancelled", ((Frontdesk__V1__CancelReply *)reply)->appointment);
	protobuf_c_message_free_unpacked(reply, NULL);
	return 0;
}

/* No-show and confirm: an id in, the changed appointment out. */
static int status_command(struct desk *d, int argc, char **argv, const char *method,
			  const char *verb)
{
	Frontdesk__V1__MarkNoShowRequest noshow = FRONTDESK__V1__MARK_NO_SHOW_REQUEST__INIT;
	Frontdesk__V1__ConfirmRequest confirm = FRONTDESK__V1__CONFIRM_REQUEST__INIT;
	bool is_noshow = strcmp(method, "MarkNoShow") == 0;
	int64_t *target = is_noshow ? &noshow.appointment_id : &confirm.appointment_id;
	int skip;
	const char *id = leading_id(argc, argv, &skip);
	ProtobufCMessage *reply;
	int rc;

	if ((rc = desk_parse_flags(d, NULL, 0, argc - skip, argv + skip)) != DESK_GO)
		return rc;
	if ((rc = desk_parse_id(d, "ID", id, target)) != 0)
		return rc;
	if ((rc = call(d, method, is_noshow ? &noshow.base : &confirm.base, &reply)) != 0)
		return rc;
	/* Both replies hold one appointment as field 1. */
	print_one(d, verb, is_noshow ? ((Frontdesk__V1__MarkNoShowReply *)reply)->appointment
				     : ((Frontdesk__V1__ConfirmReply *)reply)->appointment);
	protobuf_c_message_free_unpacked(reply, NULL);
	return 0;
}

int cmd_appt_noshow(struct desk *d, int argc, char **argv)
{
	return status_command(d, argc, argv, "MarkNoShow", "No-show for");
}

int cmd_appt_confirm(struct desk *d, int argc, char **argv)
{
	return status_command(d, argc, argv, "Confirm", "Confirmed");
}

/* --- show and lists -------------------------------------------------- */

int cmd_appt_show(struct desk *d, int argc, char **argv)
{
	Frontdesk__V1__GetAppointmentRequest req = FRONTDESK__V1__GET_APPOINTMENT_REQUEST__INIT;
	int skip;
	const char *id = leading_id(argc, argv, &skip);
	ProtobufCMessage *reply;
	int rc;

	if ((rc = desk_parse_flags(d, NULL, 0, argc - skip, argv + skip)) != DESK_GO)
		return rc;
	if ((rc = desk_parse_id(d, "ID", id, &req.appointment_id)) != 0)
		return rc;
	if ((rc = call(d, "GetAppointment", &req.base, &reply)) != 0)
		return rc;
	Frontdesk__V1__GetAppointmentReply *r = (void *)reply;
	if (d->json) {
		struct desk_json j;
		json_begin(&j, stdout);
		json_appointment(&j, "appointment", r->appointment);
		json_array(&j, "history");
		for (size_t i = 0; i < r->n_history; i++) {
			const Frontdesk__V1__HistoryEntry *h = r->history[i];
			json_object(&j, NULL);
			json_string(&j, "at_local", h->at_local);
			json_int(&j, "at_unix_ms", h->at_unix_ms);
			json_string(&j, "by", h->by);
			json_string(&j, "action", h->action);
			json_string(&j, "from_status", h->from_status);
			json_string(&j, "to_status", h->to_status);
			json_string(&j, "starts_local", h->starts_local);
			json_string(&j, "reason", h->reason);
			json_object_end(&j);
		}
		json_array_end(&j);
		json_end(&j);
	} else if (r->appointment) {
		const Frontdesk__V1__Appointment *a = r->appointment;
		struct desk_table t;
		print_appointment_line("Showing", a);
		if (*a->reason) {
			fputs("reason: ", stdout);
			desk_print_text(stdout, a->reason);
			fputs("\n", stdout);
		}
		if (a->rescheduled_from)
			printf("moved here from appointment #%lld\n", (long long)a->rescheduled_from);
		if (a->rescheduled_to)
			printf("moved to appointment #%lld\n", (long long)a->rescheduled_to);
		desk_table_init(&t, 5, "WHEN", "BY", "ACTION", "STATUS", "WHY");
		for (size_t i = 0; i < r->n_history; i++) {
			const Frontdesk__V1__HistoryEntry *h = r->history[i];
			char status[64];
			snprintf(status, sizeof status, "%s%s%s", h->from_status, *h->from_status ? " -> " : "",
				 h->to_status);
			desk_table_row(&t, h->at_local, *h->by ? h->by : "-", h->action, status, h->reason);
		}
		fputs("\n", stdout);
		desk_table_print(&t, stdout);
		desk_table_free(&t);
	}
	protobuf_c_message_free_unpacked(reply, NULL);
	return 0;
}

static int list_appointments(struct desk *d, Frontdesk__V1__ListAppointmentsRequest *req, bool with_date)
{
	ProtobufCMessage *reply;
	int rc;

	if ((rc = call(d, "ListAppointments", &req->base, &reply)) != 0)
		return rc;
	Frontdesk__V1__ListAppointmentsReply *r = (void *)reply;
	print_list(d, r->appointments, r->n_appointments, with_date);
	protobuf_c_message_free_unpacked(reply, NULL);
	return 0;
}

int cmd_appt_list(struct desk *d, int argc, char **argv)
{
	Frontdesk__V1__ListAppointmentsRequest req = FRONTDESK__V1__LIST_APPOINTMENTS_REQUEST__INIT;
	const char *patient = NULL;
	int rc;
	const struct desk_flag flags[] = {
		{ "patient", DESK_FLAG_TEXT, &patient, "ID", "patient id" },
	};

	if ((rc = desk_parse_flags(d, flags, countof(flags), argc, argv)) != DESK_GO)
		return rc;
	if ((rc = desk_parse_id(d, "--patient", patient, &req.patient_id)) != 0)
		return rc;
	return list_appointments(d, &req, true);
}

int cmd_appt_noshows(struct desk *d, int argc, char **argv)
{
	Frontdesk__V1__ListAppointmentsRequest req = FRONTDESK__V1__LIST_APPOINTMENTS_REQUEST__INIT;
	const char *date = NULL, *location = NULL;
	int rc;
	const struct desk_flag flags[] = {
		{ "date", DESK_FLAG_TEXT, &date, "DATE", "default: today" },
		{ "location", DESK_FLAG_TEXT, &location, "L", "default: the clinic's first location" },
	};

	if ((rc = desk_parse_flags(d, flags, countof(flags), argc, argv)) != DESK_GO)
		return rc;
	req.date = (char *)or_empty(date);
	req.location = (char *)or_empty(location);
	req.status = "no_show";
	return list_appointments(d, &req, false);
}

int cmd_schedule(struct desk *d, int argc, char **argv)
{
	Frontdesk__V1__ListAppointmentsRequest req = FRONTDESK__V1__LIST_APPOINTMENTS_REQUEST__INIT;
	const char *provider = NULL, *location = NULL, *date = NULL;
	bool week = false, all = false;
	int rc;
	const struct desk_flag flags[] = {
		{ "provider", DESK_FLAG_TEXT, &provider, "P", "one provider (default: everyone)" },
		{ "location", DESK_FLAG_TEXT, &location, "L", "default: the provider's location" },
		{ "date", DESK_FLAG_TEXT, &date, "DATE", "first day (default today)" },
		{ "week", DESK_FLAG_SWITCH, &week, NULL, "seven days from the date" },
		{ "all", DESK_FLAG_SWITCH, &all, NULL, "include cancelled and rescheduled" },
	};

	if ((rc = desk_parse_flags(d, flags, countof(flags), argc, argv)) != DESK_GO)
		return rc;
	req.provider = (char *)or_empty(provider);
	req.location = (char *)or_empty(location);
	req.date = (char *)or_empty(date);
	req.days = week ? 7 : 1;
	req.include_cancelled = all;
	return list_appointments(d, &req, week);
}
