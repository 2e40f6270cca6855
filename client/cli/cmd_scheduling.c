/*
 * Scheduling's reference data at the desk: `desk provider|type|room
 * list|save`, `desk template add|list|remove`, `desk exception add` and
 * `desk holiday add|list`. Each command is one Scheduling RPC; the server
 * validates everything (codes, times, ranges) and this file gathers flags
 * and prints what came back, escaped, as a table or one JSON object.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "output.h"
#include "settings.h"
#include "frontdesk/v1/scheduling.pb-c.h"

#define DESK_COMMAND(noun, verb, args, summary, help, action, role, fn) \
	int fn(struct desk *d, int argc, char **argv);
#include "cmd_scheduling.def"
#undef DESK_COMMAND

#define countof(a) (sizeof(a) / sizeof((a)[0]))

static const ProtobufCServiceDescriptor *const scheduling = &frontdesk__v1__scheduling__descriptor;

/* Connects with the saved session and makes the call. */
static int call(struct desk *d, const char *method, const ProtobufCMessage *req,
		ProtobufCMessage **reply)
{
	int rc;

	if ((rc = desk_connect(d, true)) != 0)
		return rc;
	return desk_call(d, scheduling, method, req, reply);
}

/* A whole number flag within [lo, hi]; absent leaves *v alone. */
static int parse_int(struct desk *d, const char *flag, const char *text, int lo, int hi, int32_t *v)
{
	char *end;
	long n;

	if (!text)
		return 0;
	n = strtol(text, &end, 10);
	if (end == text || *end || n < lo || n > hi)
		return desk_usage(d, "%s takes a whole number %d-%d, not '%s'", flag, lo, hi, text);
	*v = (int32_t)n;
	return 0;
}

static void join(char *buf, size_t size, char *const *items, size_t n)
{
	size_t used = 0;

	buf[0] = '\0';
	for (size_t i = 0; i < n && used < size; i++)
		used += (size_t)snprintf(buf + used, size - used, "%s%s", i ? "," : "", items[i]);
}

static const char *yes_no(bool b)
{
	return b ? "yes" : "no";
}

/* --- providers ------------------------------------------------------- */

static void json_provider(struct desk_json *j, const char *key, const Frontdesk__V1__Provider *p)
{
	json_object(j, key);
	json_int(j, "id", p->id);
	json_string(j, "code", p->code);
	json_string(j, "display_name", p->display_name);
	json_string_list(j, "specialties", p->specialties, p->n_specialties);
	json_string_list(j, "locations", p->locations, p->n_locations);
	json_string_list(j, "types", p->types, p->n_types);
	json_bool(j, "active", p->active);
	json_string(j, "staff_username", p->staff_username);
	json_object_end(j);
}

static void print_providers(Frontdesk__V1__Provider *const *ps, size_t n)
{
	struct desk_table t;

	desk_table_init(&t, 7, "ID", "CODE", "NAME", "SPECIALTIES", "LOCATIONS", "TYPES", "ACTIVE");
	for (size_t i = 0; i < n; i++) {
		char id[24], spec[256], locs[256], types[512];
		snprintf(id, sizeof id, "%lld", (long long)ps[i]->id);
		join(spec, sizeof spec, ps[i]->specialties, ps[i]->n_specialties);
		join(locs, sizeof locs, ps[i]->locations, ps[i]->n_locations);
		join(types, sizeof types, ps[i]->types, ps[i]->n_types);
		desk_table_row(&t, id, ps[i]->code, ps[i]->display_name, spec, locs, types,
			       yes_no(ps[i]->active));
	}
	desk_table_print(&t, stdout);
	desk_table_free(&t);
}

int cmd_provider_list(struct desk *d, int argc, char **argv)
{
	Frontdesk__V1__ListProvidersRequest req = FRONTDESK__V1__LIST_PROVIDERS_REQUEST__INIT;
	const char *type = NULL, *location = NULL;
	bool all = false;
	ProtobufCMessage *reply;
	int rc;
	const struct desk_flag flags[] = {
		{ "type", DESK_FLAG_TEXT, &type, "T", "only providers offering this type" },
		{ "location", DESK_FLAG_TEXT, &location, "L", "only providers working here" },
		{ "all", DESK_FLAG_SWITCH, &all, NULL, "include inactive providers" },
	};

	if ((rc = desk_parse_flags(d, flags, countof(flags), argc, argv)) != DESK_GO)
		return rc;
	req.type = type ? (char *)type : "";
	req.location = location ? (char *)location : "";
	req.include_inactive = all;
	if ((rc = call(d, "ListProviders", &req.base, &reply)) != 0)
		return rc;
	Frontdesk__V1__ListProvidersReply *r = (void *)reply;
	if (d->json) {
		struct desk_json j;
		json_begin(&j, stdout);
		json_array(&j, "providers");
		for (size_t i = 0; i < r->n_providers; i++)
			json_provider(&j, NULL, r->providers[i]);
		json_array_end(&j);
		json_end(&j);
	} else {
		print_providers(r->providers, r->n_providers);
	}
	protobuf_c_message_free_unpacked(reply, NULL);
	return 0;
}

int cmd_provider_save(struct desk *d, int argc, char **argv)
{
	Frontdesk__V1__SaveProviderRequest req = FRONTDESK__V1__SAVE_PROVIDER_REQUEST__INIT;
	const char *code = NULL, *name = NULL, *staff = NULL;
	struct desk_list locations = { 0 }, specialties = { 0 }, types = { 0 };
	bool inactive = false;
	ProtobufCMessage *reply;
	int rc;
	const struct desk_flag flags[] = {
		{ "code", DESK_FLAG_TEXT, &code, "C", "short code, e.g. smith" },
		{ "name", DESK_FLAG_TEXT, &name, "TEXT", "name shown to patients and staff" },
		{ "location", DESK_FLAG_LIST, &locations, "L", "a location the provider works at" },
		{ "specialty", DESK_FLAG_LIST, &specialties, "S", "e.g. family_medicine" },
		{ "type", DESK_FLAG_LIST, &types, "T", "an appointment type the provider offers" },
		{ "staff", DESK_FLAG_TEXT, &staff, "USER", "the provider's staff account" },
		{ "inactive", DESK_FLAG_SWITCH, &inactive, NULL, "no longer bookable" },
	};

	if ((rc = desk_parse_flags(d, flags, countof(flags), argc, argv)) != DESK_GO)
		return rc;
	if (!code || !name)
		return desk_usage(d, "give --code C and --name TEXT");
	if (locations.n == 0)
		return desk_usage(d, "give at least one --location L");
	req.code = (char *)code;
	req.display_name = (char *)name;
	req.locations = (char **)locations.items;
	req.n_locations = locations.n;
	req.specialties = (char **)specialties.items;
	req.n_specialties = specialties.n;
	req.types = (char **)types.items;
	req.n_types = types.n;
	req.staff_username = staff ? (char *)staff : "";
	req.inactive = inactive;
	if ((rc = call(d, "SaveProvider", &req.base, &reply)) != 0)
		return rc;
	Frontdesk__V1__SaveProviderReply *r = (void *)reply;
	if (d->json) {
		struct desk_json j;
		json_begin(&j, stdout);
		json_provider(&j, "provider", r->provider);
		json_end(&j);
	} else {
		print_providers(&r->provider, 1);
	}
	protobuf_c_message_free_unpacked(reply, NULL);
	return 0;
}

/* --- appointment types ----------------------------------------------- */

static void json_type(struct desk_json *j, const char *key, const Frontdesk__V1__AppointmentType *t)
{
	json_object(j, key);
	json_int(j, "id", t->id);
	json_string(j, "code", t->code);
	json_string(j, "name", t->name);
	json_int(j, "duration_min", t->duration_min);
	json_int(j, "buffer_before_min", t->buffer_before_min);
	json_int(j, "buffer_after_min", t->buffer_after_min);
	json_string_list(j, "resource_kinds", t->resource_kinds, t->n_resource_kinds);
	json_int(j, "min_notice_min", t->min_notice_min);
	json_int(j, "horizon_days", t->horizon_days);
	json_int(j, "per_day_limit", t->per_day_limit);
	json_int(j, "grid_min", t->grid_min);
	json_string(j, "color", t->color);
	json_array(j, "reminder_minutes");
	for (size_t i = 0; i < t->n_reminder_minutes; i++)
		json_int(j, NULL, t->reminder_minutes[i]);
	json_array_end(j);
	json_bool(j, "active", t->active);
	json_object_end(j);
}

static void print_types(Frontdesk__V1__AppointmentType *const *ts, size_t n)
{
	struct desk_table t;

	desk_table_init(&t, 9, "CODE", "NAME", "MIN", "BUFFERS", "NEEDS", "NOTICE", "HORIZON",
			"PER DAY", "COLOR");
	for (size_t i = 0; i < n; i++) {
		char dur[16], buf[32], needs[256], notice[24], horizon[24], limit[16];
		snprintf(dur, sizeof dur, "%d", (int)ts[i]->duration_min);
		snprintf(buf, sizeof buf, "%d/%d", (int)ts[i]->buffer_before_min,
			 (int)ts[i]->buffer_after_min);
		join(needs, sizeof needs, ts[i]->resource_kinds, ts[i]->n_resource_kinds);
		snprintf(notice, sizeof notice, "%d min", (int)ts[i]->min_notice_min);
		snprintf(horizon, sizeof horizon, "%d days", (int)ts[i]->horizon_days);
		snprintf(limit, sizeof limit, "%s", "-");
		if (ts[i]->per_day_limit)
			snprintf(limit, sizeof limit, "%d", (int)ts[i]->per_day_limit);
		desk_table_row(&t, ts[i]->code, ts[i]->name, dur, buf, needs, notice, horizon, limit,
			       ts[i]->color);
	}
	desk_table_print(&t, stdout);
	desk_table_free(&t);
}

int cmd_type_list(struct desk *d, int argc, char **argv)
{
	Frontdesk__V1__ListTypesRequest req = FRONTDESK__V1__LIST_TYPES_REQUEST__INIT;
	bool all = false;
	ProtobufCMessage *reply;
	int rc;
	const struct desk_flag flags[] = {
		{ "all", DESK_FLAG_SWITCH, &all, NULL, "include inactive types" },
	};

	if ((rc = desk_parse_flags(d, flags, countof(flags), argc, argv)) != DESK_GO)
		return rc;
	req.include_inactive = all;
	if ((rc = call(d, "ListTypes", &req.base, &reply)) != 0)
		return rc;
	Frontdesk__V1__ListTypesReply *r = (void *)reply;
	if (d->json) {
		struct desk_json j;
		json_begin(&j, stdout);
		json_array(&j, "types");
		for (size_t i = 0; i < r->n_types; i++)
			json_type(&j, NULL, r->types[i]);
		json_array_end(&j);
		json_end(&j);
	} else {
		print_types(r->types, r->n_types);
	}
	protobuf_c_message_free_unpacked(reply, NULL);
	return 0;
}

int cmd_type_save(struct desk *d, int argc, char **argv)
{
	Frontdesk__V1__SaveTypeRequest req = FRONTDESK__V1__SAVE_TYPE_REQUEST__INIT;
	Frontdesk__V1__AppointmentType t = FRONTDESK__V1__APPOINTMENT_TYPE__INIT;
	const char *code = NULL, *name = NULL, *dur = NULL, *before = NULL, *after = NULL;
	const char *notice = NULL, *horizon = NULL, *per_day = NULL, *grid = NULL, *color = NULL;
	struct desk_list needs = { 0 }, reminders = { 0 };
	bool no_reminders = false, inactive = false;
	int32_t minutes[DESK_LIST_MAX];
	ProtobufCMessage *reply;
	int rc;
	const struct desk_flag flags[] = {
		{ "code", DESK_FLAG_TEXT, &code, "C", "short code, e.g. checkup" },
		{ "name", DESK_FLAG_TEXT, &name, "TEXT", "name shown at the desk" },
		{ "duration", DESK_FLAG_TEXT, &dur, "MIN", "length in minutes (5-720)" },
		{ "buffer-before", DESK_FLAG_TEXT, &before, "MIN", "free time needed before" },
		{ "buffer-after", DESK_FLAG_TEXT, &after, "MIN", "free time needed after" },
		{ "needs", DESK_FLAG_LIST, &needs, "KIND", "a room or equipment kind it needs" },
		{ "notice", DESK_FLAG_TEXT, &notice, "MIN", "minimum notice in minutes" },
		{ "horizon", DESK_FLAG_TEXT, &horizon, "DAYS", "how far ahead it may be booked" },
		{ "per-day", DESK_FLAG_TEXT, &per_day, "N", "at most N per provider and day" },
		{ "grid", DESK_FLAG_TEXT, &grid, "MIN", "slot starts every MIN minutes" },
		{ "color", DESK_FLAG_TEXT, &color, "#rrggbb", "colour on the schedule" },
		{ "reminder", DESK_FLAG_LIST, &reminders, "MIN", "send a reminder MIN minutes before" },
		{ "no-reminders", DESK_FLAG_SWITCH, &no_reminders, NULL, "send no reminders" },
		{ "inactive", DESK_FLAG_SWITCH, &inactive, NULL, "no longer bookable" },
	};

	if ((rc = desk_parse_flags(d, flags, countof(flags), argc, argv)) != DESK_GO)
		return rc;
	if (!code || !name || !dur)
		return desk_usage(d, "give --code C, --name TEXT and --duration MIN");
	if ((rc = parse_int(d, "--duration", dur, 1, 100000, &t.duration_min)) ||
	    (rc = parse_int(d, "--buffer-before", before, 0, 100000, &t.buffer_before_min)) ||
	    (rc = parse_int(d, "--buffer-after", after, 0, 100000, &t.buffer_after_min)) ||
	    (rc = parse_int(d, "--notice", notice, 0, 1000000, &t.min_notice_min)) ||
	    (rc = parse_int(d, "--horizon", horizon, 1, 100000, &t.horizon_days)) ||
	    (rc = parse_int(d, "--per-day", per_day, 0, 100000, &t.per_day_limit)) ||
	    (rc = parse_int(d, "--grid", grid, 1, 100000, &t.grid_min)))
		return rc;
	for (size_t i = 0; i < reminders.n; i++)
		if ((rc = parse_int(d, "--reminder", reminders.items[i], 1, 1000000, &minutes[i])))
			return rc;
	t.code = (char *)code;
	t.name = (char *)name;
	t.resource_kinds = (char **)needs.items;
	t.n_resource_kinds = needs.n;
	t.color = color ? (char *)color : "";
	t.reminder_minutes = minutes;
	t.n_reminder_minutes = reminders.n;
	req.type = &t;
	req.inactive = inactive;
	req.no_reminders = no_reminders;
	if ((rc = call(d, "SaveType", &req.base, &reply)) != 0)
		return rc;
	Frontdesk__V1__SaveTypeReply *r = (void *)reply;
	if (d->json) {
		struct desk_json j;
		json_begin(&j, stdout);
		json_type(&j, "type", r->type);
		json_end(&j);
	} else {
		print_types(&r->type, 1);
	}
	protobuf_c_message_free_unpacked(reply, NULL);
	return 0;
}

/* --- rooms ----------------------------------------------------------- */

static void json_room(struct desk_json *j, const char *key, const Frontdesk__V1__Room *room)
{
	json_object(j, key);
	json_int(j, "id", room->id);
	json_string(j, "code", room->code);
	json_string(j, "name", room->name);
	json_string(j, "kind", room->kind);
	json_string(j, "location", room->location);
	json_bool(j, "active", room->active);
	json_object_end(j);
}

static void print_rooms(Frontdesk__V1__Room *const *rooms, size_t n)
{
	struct desk_table t;

	desk_table_init(&t, 5, "CODE", "NAME", "KIND", "LOCATION", "ACTIVE");
	for (size_t i = 0; i < n; i++)
		desk_table_row(&t, rooms[i]->code, rooms[i]->name, rooms[i]->kind, rooms[i]->location,
			       yes_no(rooms[i]->active));
	desk_table_print(&t, stdout);
	desk_table_free(&t);
}

int cmd_room_list(struct desk *d, int argc, char **argv)
{
	Frontdesk__V1__ListRoomsRequest req = FRONTDESK__V1__LIST_ROOMS_REQUEST__INIT;
	const char *location = NULL;
	bool all = false;
	ProtobufCMessage *reply;
	int rc;
	const struct desk_flag flags[] = {
		{ "location", DESK_FLAG_TEXT, &location, "L", "only this location" },
		{ "all", DESK_FLAG_SWITCH, &all, NULL, "include rooms out of service" },
	};

	if ((rc = desk_parse_flags(d, flags, countof(flags), argc, argv)) != DESK_GO)
		return rc;
	req.location = location ? (char *)location : "";
	req.include_inactive = all;
	if ((rc = call(d, "ListRooms", &req.base, &reply)) != 0)
		return rc;
	Frontdesk__V1__ListRoomsReply *r = (void *)reply;
	if (d->json) {
		struct desk_json j;
		json_begin(&j, stdout);
		json_array(&j, "rooms");
		for (size_t i = 0; i < r->n_rooms; i++)
			json_room(&j, NULL, r->rooms[i]);
		json_array_end(&j);
		json_end(&j);
	} else {
		print_rooms(r->rooms, r->n_rooms);
	}
	protobuf_c_message_free_unpacked(reply, NULL);
	return 0;
}

int cmd_room_save(struct desk *d, int argc, char **argv)
{
	Frontdesk__V1__SaveRoomRequest req = FRONTDESK__V1__SAVE_ROOM_REQUEST__INIT;
	Frontdesk__V1__Room room = FRONTDESK__V1__ROOM__INIT;
	const char *code = NULL, *name = NULL, *kind = NULL, *location = NULL;
	bool inactive = false;
	ProtobufCMessage *reply;
	int rc;
	const struct desk_flag flags[] = {
		{ "code", DESK_FLAG_TEXT, &code, "C", "short code, e.g. exam-1" },
		{ "name", DESK_FLAG_TEXT, &name, "TEXT", "name shown at the desk" },
		{ "kind", DESK_FLAG_TEXT, &kind, "KIND", "exam_room, procedure_room, ultrasound ..." },
		{ "location", DESK_FLAG_TEXT, &location, "L", "default: the clinic's first location" },
		{ "inactive", DESK_FLAG_SWITCH, &inactive, NULL, "out of service" },
	};

	if ((rc = desk_parse_flags(d, flags, countof(flags), argc, argv)) != DESK_GO)
		return rc;
	if (!code || !name || !kind)
		return desk_usage(d, "give --code C, --name TEXT and --kind KIND");
	room.code = (char *)code;
	room.name = (char *)name;
	room.kind = (char *)kind;
	room.location = location ? (char *)location : "";
	req.room = &room;
	req.inactive = inactive;
	if ((rc = call(d, "SaveRoom", &req.base, &reply)) != 0)
		return rc;
	Frontdesk__V1__SaveRoomReply *r = (void *)reply;
	if (d->json) {
		struct desk_json j;
		json_begin(&j, stdout);
		json_room(&j, "room", r->room);
		json_end(&j);
	} else {
		print_rooms(&r->room, 1);
	}
	protobuf_c_message_free_unpacked(reply, NULL);
	return 0;
}

/* --- weekly windows -------------------------------------------------- */

static const char *const weekday_names[] = { "mon", "tue", "wed", "thu", "fri", "sat", "sun" };

static void json_window(struct desk_json *j, const char *key, const Frontdesk__V1__TemplateWindow *w)
{
	json_object(j, key);
	json_int(j, "id", w->id);
	json_string(j, "provider", w->provider);
	json_string(j, "location", w->location);
	json_int(j, "weekday", w->weekday);
	json_string(j, "start_time", w->start_time);
	json_string(j, "end_time", w->end_time);
	json_string(j, "effective_from", w->effective_from);
	json_string(j, "effective_to", w->effective_to);
	json_object_end(j);
}

static void print_windows(Frontdesk__V1__TemplateWindow *const *ws, size_t n)
{
	struct desk_table t;

	desk_table_init(&t, 7, "ID", "PROVIDER", "LOCATION", "DAY", "HOURS", "FROM", "UNTIL");
	for (size_t i = 0; i < n; i++) {
		char id[24], hours[32];
		int wd = ws[i]->weekday;
		snprintf(id, sizeof id, "%lld", (long long)ws[i]->id);
		snprintf(hours, sizeof hours, "%.5s-%.5s", ws[i]->start_time, ws[i]->end_time);
		desk_table_row(&t, id, ws[i]->provider, ws[i]->location,
			       wd >= 1 && wd <= 7 ? weekday_names[wd - 1] : "?", hours,
			       ws[i]->effective_from, *ws[i]->effective_to ? ws[i]->effective_to : "-");
	}
	desk_table_print(&t, stdout);
	desk_table_free(&t);
}

int cmd_template_add(struct desk *d, int argc, char **argv)
{
	Frontdesk__V1__AddTemplateRequest req = FRONTDESK__V1__ADD_TEMPLATE_REQUEST__INIT;
	Frontdesk__V1__TemplateWindow w = FRONTDESK__V1__TEMPLATE_WINDOW__INIT;
	const char *provider = NULL, *location = NULL, *weekday = NULL, *start = NULL, *end = NULL;
	const char *from = NULL, *until = NULL;
	ProtobufCMessage *reply;
	int rc;
	const struct desk_flag flags[] = {
		{ "provider", DESK_FLAG_TEXT, &provider, "P", "provider code or id" },
		{ "location", DESK_FLAG_TEXT, &location, "L", "default: the provider's location" },
		{ "weekday", DESK_FLAG_TEXT, &weekday, "DAY", "1-7 (Monday 1) or mon..sun" },
		{ "start", DESK_FLAG_TEXT, &start, "HH:MM", "local start time" },
		{ "end", DESK_FLAG_TEXT, &end, "HH:MM", "local end time" },
		{ "from", DESK_FLAG_TEXT, &from, "DATE", "first day it applies (default today)" },
		{ "until", DESK_FLAG_TEXT, &until, "DATE", "last day it applies" },
	};

	if ((rc = desk_parse_flags(d, flags, countof(flags), argc, argv)) != DESK_GO)
		return rc;
	if (!provider || !weekday || !start || !end)
		return desk_usage(d, "give --provider P, --weekday DAY, --start HH:MM and --end HH:MM");
	for (int i = 0; i < 7; i++)
		if (strcasecmp(weekday, weekday_names[i]) == 0)
			w.weekday = i + 1;
	if (!w.weekday && (rc = parse_int(d, "--weekday", weekday, 1, 7, &w.weekday)))
		return rc;
	w.provider = (char *)provider;
	w.location = location ? (char *)location : "";
	w.start_time = (char *)start;
	w.end_time = (char *)end;
	w.effective_from = from ? (char *)from : "";
	w.effective_to = until ? (char *)until : "";
	req.window = &w;
	if ((rc = call(d, "AddTemplate", &req.base, &reply)) != 0)
		return rc;
	Frontdesk__V1__AddTemplateReply *r = (void *)reply;
	if (d->json) {
		struct desk_json j;
		json_begin(&j, stdout);
		json_window(&j, "window", r->window);
		json_end(&j);
	} else {
		print_windows(&r->window, 1);
	}
	protobuf_c_message_free_unpacked(reply, NULL);
	return 0;
}

int cmd_template_list(struct desk *d, int argc, char **argv)
{
	Frontdesk__V1__ListTemplatesRequest req = FRONTDESK__V1__LIST_TEMPLATES_REQUEST__INIT;
	const char *provider = NULL;
	ProtobufCMessage *reply;
	int rc;
	const struct desk_flag flags[] = {
		{ "provider", DESK_FLAG_TEXT, &provider, "P", "only this provider" },
	};

	if ((rc = desk_parse_flags(d, flags, countof(flags), argc, argv)) != DESK_GO)
		return rc;
	req.provider = provider ? (char *)provider : "";
	if ((rc = call(d, "ListTemplates", &req.base, &reply)) != 0)
		return rc;
	Frontdesk__V1__ListTemplatesReply *r = (void *)reply;
	if (d->json) {
		struct desk_json j;
		json_begin(&j, stdout);
		json_array(&j, "windows");
		for (size_t i = 0; i < r->n_windows; i++)
			json_window(&j, NULL, r->windows[i]);
		json_array_end(&j);
		json_end(&j);
	} else {
		print_windows(r->windows, r->n_windows);
	}
	protobuf_c_message_free_unpacked(reply, NULL);
	return 0;
}

int cmd_template_remove(struct desk *d, int argc, char **argv)
{
	Frontdesk__V1__RemoveTemplateRequest req = FRONTDESK__V1__REMOVE_TEMPLATE_REQUEST__INIT;
	const char *id = argc > 0 && argv[0][0] != '-' ? argv[0] : NULL;
	ProtobufCMessage *reply;
	int rc;

	if ((rc = desk_parse_flags(d, NULL, 0, argc - (id != NULL), argv + (id != NULL))) != DESK_GO)
		return rc;
	if ((rc = desk_parse_id(d, "ID", id, &req.id)) != 0)
		return rc;
	if ((rc = call(d, "RemoveTemplate", &req.base, &reply)) != 0)
		return rc;
	protobuf_c_message_free_unpacked(reply, NULL);
	if (d->json) {
		struct desk_json j;
		json_begin(&j, stdout);
		json_int(&j, "removed", req.id);
		json_end(&j);
	} else {
		printf("Removed weekly window #%lld.\n", (long long)req.id);
	}
	return 0;
}

/* --- exceptions and holidays ----------------------------------------- */

int cmd_exception_add(struct desk *d, int argc, char **argv)
{
	Frontdesk__V1__AddExceptionRequest req = FRONTDESK__V1__ADD_EXCEPTION_REQUEST__INIT;
	Frontdesk__V1__AvailabilityException x = FRONTDESK__V1__AVAILABILITY_EXCEPTION__INIT;
	const char *provider = NULL, *location = NULL, *kind = NULL, *from = NULL, *to = NULL;
	const char *reason = NULL;
	ProtobufCMessage *reply;
	int rc;
	const struct desk_flag flags[] = {
		{ "provider", DESK_FLAG_TEXT, &provider, "P", "provider code or id" },
		{ "kind", DESK_FLAG_TEXT, &kind, "off|extra", "time off or extra hours" },
		{ "from", DESK_FLAG_TEXT, &from, "'DATE HH:MM'", "local start" },
		{ "to", DESK_FLAG_TEXT, &to, "'DATE HH:MM'", "local end" },
		{ "location", DESK_FLAG_TEXT, &location, "L", "needed for extra hours" },
		{ "reason", DESK_FLAG_TEXT, &reason, "TEXT", "e.g. vacation" },
	};

	if ((rc = desk_parse_flags(d, flags, countof(flags), argc, argv)) != DESK_GO)
		return rc;
	if (!provider || !kind || !from || !to)
		return desk_usage(d, "give --provider P, --kind off|extra, --from and --to");
	x.provider = (char *)provider;
	x.kind = (char *)kind;
	x.starts_local = (char *)from;
	x.ends_local = (char *)to;
	x.location = location ? (char *)location : "";
	x.reason = reason ? (char *)reason : "";
	req.exception = &x;
	if ((rc = call(d, "AddException", &req.base, &reply)) != 0)
		return rc;
	Frontdesk__V1__AddExceptionReply *r = (void *)reply;
	if (d->json) {
		struct desk_json j;
		json_begin(&j, stdout);
		json_object(&j, "exception");
		json_int(&j, "id", r->exception->id);
		json_string(&j, "provider", r->exception->provider);
		json_string(&j, "kind", r->exception->kind);
		json_string(&j, "starts_local", r->exception->starts_local);
		json_string(&j, "ends_local", r->exception->ends_local);
		json_object_end(&j);
		json_end(&j);
	} else {
		printf("Added exception #%lld (", (long long)r->exception->id);
		desk_print_text(stdout, r->exception->kind);
		fputs(") ", stdout);
		desk_print_text(stdout, r->exception->starts_local);
		fputs(" to ", stdout);
		desk_print_text(stdout, r->exception->ends_local);
		fputs(".\n", stdout);
	}
	protobuf_c_message_free_unpacked(reply, NULL);
	return 0;
}

static void print_holidays(Frontdesk__V1__Holiday *const *hs, size_t n)
{
	struct desk_table t;

	desk_table_init(&t, 4, "ID", "DATE", "LOCATION", "NAME");
	for (size_t i = 0; i < n; i++) {
		char id[24];
		snprintf(id, sizeof id, "%lld", (long long)hs[i]->id);
		desk_table_row(&t, id, hs[i]->date, *hs[i]->location ? hs[i]->location : "(all)",
			       hs[i]->name);
	}
	desk_table_print(&t, stdout);
	desk_table_free(&t);
}

static void json_holidays(Frontdesk__V1__Holiday *const *hs, size_t n)
{
	struct desk_json j;

	json_begin(&j, stdout);
	json_array(&j, "holidays");
	for (size_t i = 0; i < n; i++) {
		json_object(&j, NULL);
		json_int(&j, "id", hs[i]->id);
		json_string(&j, "date", hs[i]->date);
		json_string(&j, "location", hs[i]->location);
		json_string(&j, "name", hs[i]->name);
		json_object_end(&j);
	}
	json_array_end(&j);
	json_end(&j);
}

int cmd_holiday_add(struct desk *d, int argc, char **argv)
{
	Frontdesk__V1__AddHolidayRequest req = FRONTDESK__V1__ADD_HOLIDAY_REQUEST__INIT;
	Frontdesk__V1__Holiday h = FRONTDESK__V1__HOLIDAY__INIT;
	const char *date = NULL, *name = NULL, *location = NULL;
	ProtobufCMessage *reply;
	int rc;
	const struct desk_flag flags[] = {
		{ "date", DESK_FLAG_TEXT, &date, "DATE", "the local date, YYYY-MM-DD" },
		{ "name", DESK_FLAG_TEXT, &name, "TEXT", "e.g. Thanksgiving" },
		{ "location", DESK_FLAG_TEXT, &location, "L", "default: every location" },
	};

	if ((rc = desk_parse_flags(d, flags, countof(flags), argc, argv)) != DESK_GO)
		return rc;
	if (!date || !name)
		return desk_usage(d, "give --date DATE and --name TEXT");
	h.date = (char *)date;
	h.name = (char *)name;
	h.location = location ? (char *)location : "";
	req.holiday = &h;
	if ((rc = call(d, "AddHoliday", &req.base, &reply)) != 0)
		return rc;
	Frontdesk__V1__AddHolidayReply *r = (void *)reply;
	if (d->json)
		json_holidays(&r->holiday, 1);
	else
		print_holidays(&r->holiday, 1);
	protobuf_c_message_free_unpacked(reply, NULL);
	return 0;
}

int cmd_holiday_list(struct desk *d, int argc, char **argv)
{
	Frontdesk__V1__ListHolidaysRequest req = FRONTDESK__V1__LIST_HOLIDAYS_REQUEST__INIT;
	const char *from = NULL, *to = NULL;
	ProtobufCMessage *reply;
	int rc;
	const struct desk_flag flags[] = {
		{ "from", DESK_FLAG_TEXT, &from, "DATE", "default: a month ago" },
		{ "to", DESK_FLAG_TEXT, &to, "DATE", "default: a year ahead" },
	};

	if ((rc = desk_parse_flags(d, flags, countof(flags), argc, argv)) != DESK_GO)
		return rc;
	req.from_date = from ? (char *)from : "";
	req.to_date = to ? (char *)to : "";
	if ((rc = call(d, "ListHolidays", &req.base, &reply)) != 0)
		return rc;
	Frontdesk__V1__ListHolidaysReply *r = (void *)reply;
	if (d->json)
		json_holidays(r->holidays, r->n_holidays);
	else
		print_holidays(r->holidays, r->n_holidays);
	protobuf_c_message_free_unpacked(reply, NULL);
	return 0;
}
