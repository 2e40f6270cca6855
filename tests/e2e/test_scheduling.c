/*
 * Scheduling end to end, against the real frontdeskd: the admin data that
 * drives availability, open-slot search and each rule that shapes it
 * (template, buffers, notice, horizon, per-day limit, exceptions, holidays,
 * a daylight-saving day), booking and its refusals, reschedule and cancel,
 * the schedule views, reminders, and 50 separate desk processes racing for
 * one slot (also for one provider in two rooms and for one room wanted by
 * two providers).
 *
 * Every scenario uses its own provider and type at a test location in
 * America/New_York, on weeks at least two weeks ahead, so cases never see
 * each other's bookings and do not depend on the time of day they run.
 */
#include <fcntl.h>
#include <stdio.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include "e2e.h"
#include "handlers/scheduling.h"
#include "frontdesk/v1/scheduling.pb-c.h"

#define SCHED_SVC (&frontdesk__v1__scheduling__descriptor)
#define ZONE "America/New_York"

static tp_server srv;
static char db[64];
static fd_client *admin, *desk;

static fd_client *login_as(const char *user)
{
	fd_client *c = tp_client(&srv);
	if (tp_login(c, user, "front-1") != FD_OK) {
		fd_client_close(c);
		return NULL;
	}
	return c;
}

static bool up(void)
{
	if (srv.pid > 0)
		return true;
	if (!e2e_start(&srv, db, sizeof db, "sched", NULL))
		return false;
	if (tp_db_exec(db, "INSERT INTO locations (code, name, time_zone)"
			   " VALUES ('tst', 'Test clinic', '" ZONE "')") != 0)
		return false;
	admin = login_as("admin");
	desk = login_as("reception1");
	return admin && desk;
}

/* The local date `offset` days after the Monday two weeks from now. */
static void day(char *out, size_t size, int offset)
{
	char sql[256];
	PGconn *c = tp_db_connect(db);
	snprintf(sql, sizeof sql,
		 "SELECT (date_trunc('week', now() AT TIME ZONE '" ZONE "')::date + 14 + %d)::text",
		 offset);
	PGresult *r = PQexec(c, sql);
	snprintf(out, size, "%s", PQresultStatus(r) == PGRES_TUPLES_OK ? PQgetvalue(r, 0, 0) : "");
	PQclear(r);
	PQfinish(c);
}

static int64_t new_patient(void)
{
	return tp_db_scalar(db, "INSERT INTO patients (family_name, given_name, date_of_birth)"
				" VALUES ('Tester', 'Pat', '1980-01-01') RETURNING id");
}

struct type_opts {
	int duration, before, after, notice, horizon, per_day, grid;
	const char *needs; /* a resource kind or NULL */
	int reminder;      /* minutes before; 0: none */
};

static int save_type(const char *code, const struct type_opts *o, fd_status *st)
{
	Frontdesk__V1__SaveTypeRequest req = FRONTDESK__V1__SAVE_TYPE_REQUEST__INIT;
	Frontdesk__V1__AppointmentType t = FRONTDESK__V1__APPOINTMENT_TYPE__INIT;
	char *kinds[1] = { (char *)o->needs };
	int32_t reminder = o->reminder;
	ProtobufCMessage *rep = NULL;

	t.code = (char *)code;
	t.name = "Test type";
	t.duration_min = o->duration;
	t.buffer_before_min = o->before;
	t.buffer_after_min = o->after;
	t.min_notice_min = o->notice;
	t.horizon_days = o->horizon ? o->horizon : 730;
	t.per_day_limit = o->per_day;
	t.grid_min = o->grid ? o->grid : 30;
	t.resource_kinds = kinds;
	t.n_resource_kinds = o->needs ? 1 : 0;
	t.reminder_minutes = &reminder;
	t.n_reminder_minutes = o->reminder ? 1 : 0;
	req.type = &t;
	req.no_reminders = o->reminder == 0;
	int rc = tp_call(admin, SCHED_SVC, "SaveType", &req.base, &rep, st);
	if (rep)
		protobuf_c_message_free_unpacked(rep, NULL);
	return rc;
}

static int save_provider(const char *code, const char *type, fd_status *st)
{
	Frontdesk__V1__SaveProviderRequest req = FRONTDESK__V1__SAVE_PROVIDER_REQUEST__INIT;
	char *locations[] = { "tst" }, *types[] = { (char *)type };
	ProtobufCMessage *rep = NULL;

	req.code = (char *)code;
	req.display_name = "Dr. Test";
	req.locations = locations;
	req.n_locations = 1;
	req.types = types;
	req.n_types = 1;
	int rc = tp_call(admin, SCHED_SVC, "SaveProvider", &req.base, &rep, st);
	if (rep)
		protobuf_c_message_free_unpacked(rep, NULL);
	return rc;
}

static int add_window(const char *provider, int weekday, const char *start, const char *end,
		      fd_status *st)
{
	Frontdesk__V1__AddTemplateRequest req = FRONTDESK__V1__ADD_TEMPLATE_REQUEST__INIT;
	Frontdesk__V1__TemplateWindow w = FRONTDESK__V1__TEMPLATE_WINDOW__INIT;
	ProtobufCMessage *rep = NULL;

	w.provider = (char *)provider;
	w.weekday = weekday;
	w.start_time = (char *)start;
	w.end_time = (char *)end;
	req.window = &w;
	int rc = tp_call(admin, SCHED_SVC, "AddTemplate", &req.base, &rep, st);
	if (rep)
		protobuf_c_message_free_unpacked(rep, NULL);
	return rc;
}

/* A type and a provider offering it at 'tst', Monday-Friday 09:00-12:00. */
static bool bookable(const char *provider, const char *type, const struct type_opts *o)
{
	fd_status st;

	if (save_type(type, o, &st) != FD_OK || save_provider(provider, type, &st) != FD_OK) {
		th_fail(__FILE__, __LINE__, "setup: %s", st.message);
		return false;
	}
	for (int wd = 1; wd <= 5; wd++)
		if (add_window(provider, wd, "09:00", "12:00", &st) != FD_OK) {
			th_fail(__FILE__, __LINE__, "setup: %s", st.message);
			return false;
		}
	return true;
}

/* Open slots; returns how many (or -1), the first start in first. */
static int slots(const char *type, const char *provider, const char *from, const char *to,
		 char *first, size_t first_size)
{
	Frontdesk__V1__FindSlotsRequest req = FRONTDESK__V1__FIND_SLOTS_REQUEST__INIT;
	ProtobufCMessage *rep = NULL;
	fd_status st;

	req.type = (char *)type;
	req.provider = (char *)(provider ? provider : "");
	req.location = "tst";
	req.from_date = (char *)from;
	req.to_date = (char *)to;
	req.limit = 500;
	if (tp_call(desk, SCHED_SVC, "FindSlots", &req.base, &rep, &st) != FD_OK) {
		printf("    FindSlots: %s\n", st.message);
		return -1;
	}
	Frontdesk__V1__FindSlotsReply *r = (void *)rep;
	int n = (int)r->n_slots;
	if (first)
		snprintf(first, first_size, "%s", n ? r->slots[0]->starts_local : "");
	protobuf_c_message_free_unpacked(rep, NULL);
	return n;
}

static int book_full(fd_client *c, int64_t patient, const char *provider, const char *type,
		     const char *at, bool overbook, Frontdesk__V1__Appointment **out, fd_status *st)
{
	Frontdesk__V1__BookRequest req = FRONTDESK__V1__BOOK_REQUEST__INIT;
	ProtobufCMessage *rep = NULL;

	req.patient_id = patient;
	req.provider = (char *)provider;
	req.type = (char *)type;
	req.at = (char *)at;
	req.overbook = overbook;
	req.overbook_reason = overbook ? "urgent, squeezed in" : "";
	int rc = tp_call(c, SCHED_SVC, "Book", &req.base, &rep, st);
	if (rc == FD_OK && out)
		*out = ((Frontdesk__V1__BookReply *)rep)->appointment, ((Frontdesk__V1__BookReply *)rep)->appointment = NULL;
	if (rep)
		protobuf_c_message_free_unpacked(rep, NULL);
	return rc;
}

static int book(int64_t patient, const char *provider, const char *type, const char *at,
		int64_t *id, fd_status *st)
{
	Frontdesk__V1__Appointment *a = NULL;
	int rc = book_full(desk, patient, provider, type, at, false, &a, st);

	if (a) {
		if (id)
			*id = a->id;
		protobuf_c_message_free_unpacked(&a->base, NULL);
	}
	return rc;
}

static int cancel(int64_t id, const char *reason, fd_status *st)
{
	Frontdesk__V1__CancelRequest req = FRONTDESK__V1__CANCEL_REQUEST__INIT;
	ProtobufCMessage *rep = NULL;

	req.appointment_id = id;
	req.reason_code = (char *)reason;
	int rc = tp_call(desk, SCHED_SVC, "Cancel", &req.base, &rep, st);
	if (rep)
		protobuf_c_message_free_unpacked(rep, NULL);
	return rc;
}

static char *at(char *buf, size_t size, const char *date, const char *time)
{
	snprintf(buf, size, "%s %s", date, time);
	return buf;
}

/* --- admin data ------------------------------------------------------ */

static void admin_data_is_saved_listed_and_checked(void)
{
	struct type_opts o = { .duration = 30 };
	fd_status st;

	CHECK(up());
	CHECK(bookable("adm", "t-adm", &o));
	Frontdesk__V1__ListProvidersRequest lp = FRONTDESK__V1__LIST_PROVIDERS_REQUEST__INIT;
	ProtobufCMessage *rep = NULL;
	lp.type = "t-adm";
	CHECK_INT(tp_call(desk, SCHED_SVC, "ListProviders", &lp.base, &rep, &st), FD_OK);
	Frontdesk__V1__ListProvidersReply *providers = (void *)rep;
	CHECK_INT(providers->n_providers, 1);
	CHECK_STR(providers->providers[0]->code, "adm");
	CHECK_STR(providers->providers[0]->locations[0], "tst");
	protobuf_c_message_free_unpacked(rep, NULL);

	struct type_opts zero = { .duration = 0 }, two_days = { .duration = 2880 };
	CHECK_INT(save_type("t-bad", &zero, &st), FD_INVALID_ARGUMENT);
	CHECK_INT(save_type("t-bad", &two_days, &st), FD_INVALID_ARGUMENT);
	CHECK(tp_db_scalar(db, "SELECT count(*) FROM appointment_types WHERE code = 't-bad'") == 0);
	CHECK_INT(add_window("adm", 1, "12:00", "09:00", &st), FD_INVALID_ARGUMENT);
	CHECK_INT(add_window("adm", 8, "09:00", "10:00", &st), FD_INVALID_ARGUMENT);
	CHECK_INT(add_window("nobody", 1, "09:00", "10:00", &st), FD_NOT_FOUND);
	CHECK_INT(add_window("adm", 1, "25:00", "26:00", &st), FD_INVALID_ARGUMENT);
	CHECK_INT(save_provider("adm\x1b", "t-adm", &st), FD_INVALID_ARGUMENT);
	CHECK_INT(save_provider("adm2", "no-such-type", &st), FD_NOT_FOUND);
	CHECK(tp_db_scalar(db, "SELECT count(*) FROM providers WHERE code = 'adm2'") == 0);

	/* The front desk reads this data but may not change it. */
	Frontdesk__V1__SaveTypeRequest req = FRONTDESK__V1__SAVE_TYPE_REQUEST__INIT;
	Frontdesk__V1__AppointmentType t = FRONTDESK__V1__APPOINTMENT_TYPE__INIT;
	t.code = "t-desk";
	t.name = "Desk type";
	t.duration_min = 30;
	req.type = &t;
	rep = NULL;
	CHECK_INT(tp_call(desk, SCHED_SVC, "SaveType", &req.base, &rep, &st), FD_PERMISSION_DENIED);
}

/* --- open-slot search ------------------------------------------------ */

static void slots_follow_the_weekly_template_on_the_grid(void)
{
	struct type_opts o = { .duration = 30, .grid = 30 };
	char mon[16], sat[16], first[32];

	CHECK(up());
	CHECK(bookable("tpl", "t-tpl", &o));
	day(mon, sizeof mon, 0);
	day(sat, sizeof sat, 5);
	CHECK_INT(slots("t-tpl", "tpl", mon, mon, first, sizeof first), 6); /* 09:00 .. 11:30 */
	char want[32];
	CHECK_STR(first, at(want, sizeof want, mon, "09:00"));
	CHECK_INT(slots("t-tpl", "tpl", sat, sat, NULL, 0), 0); /* no weekend hours */
	CHECK_INT(slots("t-tpl", "tpl", mon, sat, NULL, 0), 30);
}

static void booking_takes_a_slot_and_cancel_frees_it(void)
{
	struct type_opts o = { .duration = 30 };
	char mon[16], when[32];
	int64_t id = 0, patient = new_patient();
	fd_status st;

	CHECK(up());
	CHECK(bookable("bk", "t-bk", &o));
	day(mon, sizeof mon, 0);
	fd_events *ev = NULL;
	CHECK_INT(fd_events_open(&ev, srv.events_url, &st), FD_OK);
	e2e_sleep_ms(300);
	CHECK_INT(book(patient, "bk", "t-bk", at(when, sizeof when, mon, "09:00"), &id, &st), FD_OK);
	CHECK_INT(slots("t-bk", "bk", mon, mon, NULL, 0), 5);
	/* The same slot again is "just taken", with the next free times. */
	CHECK_INT(book(new_patient(), "bk", "t-bk", when, NULL, &st), FD_ALREADY_EXISTS);
	CHECK(strstr(st.message, "just taken") && strstr(st.message, "09:30"));
	CHECK_INT(cancel(id, "weather", &st), FD_OK);
	CHECK_INT(slots("t-bk", "bk", mon, mon, NULL, 0), 6);
	CHECK_INT(cancel(id, "weather", &st), FD_FAILED_PRECONDITION);
	CHECK_INT(cancel(id, "bored", &st), FD_INVALID_ARGUMENT);
	/* History and events: booked then cancelled, both published. */
	char sql[160];
	snprintf(sql, sizeof sql, "SELECT count(*) FROM appointment_history WHERE appointment_id = %lld",
		 (long long)id);
	CHECK(tp_db_scalar(db, sql) == 2);
	int seen = 0;
	int64_t end = fd_now_mono_ms() + 3000;
	while (seen < 2 && fd_now_mono_ms() < end) {
		Frontdesk__V1__Event *e = NULL;
		bool gap;
		if (fd_events_next(ev, 200, &e, &gap, &st) != FD_OK)
			continue;
		seen += strcmp(e->topic, "appointment.booked") == 0 ||
			strcmp(e->topic, "appointment.cancelled") == 0;
		protobuf_c_message_free_unpacked(&e->base, NULL);
	}
	fd_events_close(ev);
	CHECK_INT(seen, 2);
	/* Every read and write of the appointment audited its patient. */
	snprintf(sql, sizeof sql, "SELECT count(*) FROM audit_log WHERE patient_id = %lld", (long long)patient);
	CHECK(tp_db_scalar(db, sql) >= 2);
}

static void buffers_keep_neighbouring_slots_free(void)
{
	struct type_opts o = { .duration = 30, .after = 30, .grid = 30 };
	char mon[16], when[32], first[32], want[32];
	fd_status st;

	CHECK(up());
	CHECK(bookable("buf", "t-buf", &o));
	day(mon, sizeof mon, 0);
	CHECK_INT(slots("t-buf", "buf", mon, mon, NULL, 0), 6);
	CHECK_INT(book(new_patient(), "buf", "t-buf", at(when, sizeof when, mon, "09:30"), NULL, &st), FD_OK);
	/* 09:30 blocks 09:30-10:30 for itself and needs 09:00's buffer
	 * (09:00-10:00) free: 09:00 and 10:00 both go. */
	CHECK_INT(slots("t-buf", "buf", mon, mon, first, sizeof first), 3);
	CHECK_STR(first, at(want, sizeof want, mon, "10:30"));
	CHECK_INT(book(new_patient(), "buf", "t-buf", at(when, sizeof when, mon, "10:00"), NULL, &st),
		  FD_ALREADY_EXISTS);
}

/* "First available" from `from` at a time of day ("", "morning" or
 * "afternoon"): the first start, or "" when none. */
static int first_available_at(const char *type, const char *provider, const char *from,
			      const char *time_of_day, char *first, size_t first_size)
{
	Frontdesk__V1__FindSlotsRequest req = FRONTDESK__V1__FIND_SLOTS_REQUEST__INIT;
	ProtobufCMessage *rep = NULL;
	fd_status st;

	req.type = (char *)type;
	req.provider = (char *)provider;
	req.location = "tst";
	req.from_date = (char *)from;
	req.time_of_day = (char *)time_of_day;
	req.first_available = true;
	if (tp_call(desk, SCHED_SVC, "FindSlots", &req.base, &rep, &st) != FD_OK) {
		printf("    FindSlots: %s\n", st.message);
		return -1;
	}
	Frontdesk__V1__FindSlotsReply *r = (void *)rep;
	int n = (int)r->n_slots;
	snprintf(first, first_size, "%s", n ? r->slots[0]->starts_local : "");
	protobuf_c_message_free_unpacked(rep, NULL);
	return n;
}

static int first_available(const char *type, const char *provider, const char *from,
			   char *first, size_t first_size)
{
	return first_available_at(type, provider, from, "", first, first_size);
}

/* A window opening off the grid's round times (09:05, 15-minute grid) cuts
 * its slots from its own start, also when the time asked for lies inside
 * it: booking asks open_slots() about one minute, which then lays out the
 * window's steps from 09:05, not from the minute asked. So 09:20 books,
 * 09:25 is off the grid, and the search keeps 09:05's steps around the
 * booking. */
static void a_window_off_the_hour_keeps_its_own_grid(void)
{
	struct type_opts o = { .duration = 15, .grid = 15 };
	char tue[16], first[32], want[32], when[32];
	fd_status st;

	CHECK(up());
	CHECK(save_type("t-odd", &o, &st) == FD_OK && save_provider("odd", "t-odd", &st) == FD_OK &&
	      add_window("odd", 2, "09:05", "12:00", &st) == FD_OK);
	day(tue, sizeof tue, 1);
	CHECK_INT(slots("t-odd", "odd", tue, tue, first, sizeof first), 11); /* 09:05 .. 11:35 */
	CHECK_STR(first, at(want, sizeof want, tue, "09:05"));
	CHECK_INT(book(new_patient(), "odd", "t-odd", at(when, sizeof when, tue, "09:25"), NULL, &st),
		  FD_FAILED_PRECONDITION);
	CHECK(strstr(st.message, "grid"));
	CHECK_INT(book(new_patient(), "odd", "t-odd", at(when, sizeof when, tue, "09:20"), NULL, &st),
		  FD_OK);
	CHECK_INT(book(new_patient(), "odd", "t-odd", at(when, sizeof when, tue, "11:35"), NULL, &st),
		  FD_OK);
	CHECK_INT(slots("t-odd", "odd", tue, tue, first, sizeof first), 9);
	CHECK_STR(first, at(want, sizeof want, tue, "09:05"));
	CHECK_INT(book(new_patient(), "odd", "t-odd", at(when, sizeof when, tue, "09:05"), NULL, &st),
		  FD_OK);
	CHECK_INT(first_available("t-odd", "odd", tue, first, sizeof first), 1);
	CHECK_STR(first, at(want, sizeof want, tue, "09:35"));
}

/* One hour a week (Wednesday 09:00): "first available" looks one local day
 * at a time up to the horizon; each booking pushes the answer a week
 * further (past the first week, past four weeks), and it is always the
 * earliest free start. */
static void first_available_widens_until_it_finds_the_earliest_slot(void)
{
	struct type_opts o = { .duration = 60, .grid = 60, .horizon = 60 };
	char mon[16], wed[16], first[32], want[32];
	fd_status st;

	CHECK(up());
	CHECK(save_type("t-wide", &o, &st) == FD_OK && save_provider("wide", "t-wide", &st) == FD_OK &&
	      add_window("wide", 3, "09:00", "10:00", &st) == FD_OK);
	day(mon, sizeof mon, 0);
	day(wed, sizeof wed, 2);
	CHECK_INT(first_available("t-wide", "wide", wed, first, sizeof first), 1); /* the first day */
	CHECK_STR(first, at(want, sizeof want, wed, "09:00"));
	/* Book Wednesday after Wednesday: from Monday the answer moves from
	 * the first week into four weeks, then past them to the horizon. */
	for (int week = 0; week < 5; week++) {
		day(wed, sizeof wed, 2 + 7 * week);
		CHECK_INT(first_available("t-wide", "wide", mon, first, sizeof first), 1);
		CHECK_STR(first, at(want, sizeof want, wed, "09:00"));
		CHECK_INT(book(new_patient(), "wide", "t-wide", want, NULL, &st), FD_OK);
	}
}

/* Thursday 10:00-15:00: an afternoon search passes the free morning and
 * finds 12:00, a morning search stops at 10:00; once the afternoon is
 * booked, the afternoon search moves on to the next Thursday. */
static void first_available_keeps_to_the_time_of_day(void)
{
	struct type_opts o = { .duration = 60, .grid = 60, .horizon = 60 };
	char mon[16], thu[16], first[32], want[32];
	fd_status st;

	CHECK(up());
	CHECK(save_type("t-tod", &o, &st) == FD_OK && save_provider("tod", "t-tod", &st) == FD_OK &&
	      add_window("tod", 4, "10:00", "15:00", &st) == FD_OK);
	day(mon, sizeof mon, 0);
	day(thu, sizeof thu, 3);
	CHECK_INT(first_available_at("t-tod", "tod", mon, "afternoon", first, sizeof first), 1);
	CHECK_STR(first, at(want, sizeof want, thu, "12:00"));
	CHECK_INT(first_available_at("t-tod", "tod", mon, "morning", first, sizeof first), 1);
	CHECK_STR(first, at(want, sizeof want, thu, "10:00"));
	static const char *const afternoon[] = { "12:00", "13:00", "14:00" };
	for (size_t i = 0; i < sizeof afternoon / sizeof afternoon[0]; i++)
		CHECK_INT(book(new_patient(), "tod", "t-tod", at(want, sizeof want, thu, afternoon[i]),
			       NULL, &st),
			  FD_OK);
	day(thu, sizeof thu, 10);
	CHECK_INT(first_available_at("t-tod", "tod", mon, "afternoon", first, sizeof first), 1);
	CHECK_STR(first, at(want, sizeof want, thu, "12:00"));
	day(thu, sizeof thu, 3);
	CHECK_INT(first_available_at("t-tod", "tod", mon, "", first, sizeof first), 1);
	CHECK_STR(first, at(want, sizeof want, thu, "10:00"));
}

static void minimum_notice_and_horizon_limit_the_search(void)
{
	struct type_opts o = { .duration = 30, .horizon = 7 };
	char mon[16], when[32];
	fd_status st;

	CHECK(up());
	CHECK(bookable("hor", "t-hor", &o));
	day(mon, sizeof mon, 0);
	CHECK_INT(slots("t-hor", "hor", mon, mon, NULL, 0), 0); /* two weeks out, horizon 7 days */
	CHECK_INT(book(new_patient(), "hor", "t-hor", at(when, sizeof when, mon, "09:00"), NULL, &st),
		  FD_FAILED_PRECONDITION);
	CHECK(strstr(st.message, "days ahead"));
	o.horizon = 60;
	CHECK_INT(save_type("t-hor", &o, &st), FD_OK);
	CHECK_INT(slots("t-hor", "hor", mon, mon, NULL, 0), 6);
	o.notice = 43200; /* thirty days' notice */
	CHECK_INT(save_type("t-hor", &o, &st), FD_OK);
	CHECK_INT(slots("t-hor", "hor", mon, mon, NULL, 0), 0);
	CHECK_INT(book(new_patient(), "hor", "t-hor", when, NULL, &st), FD_FAILED_PRECONDITION);
	CHECK(strstr(st.message, "notice"));
}

static void a_per_day_limit_caps_each_providers_day(void)
{
	struct type_opts o = { .duration = 30, .per_day = 2 };
	char mon[16], tue[16], when[32];
	fd_status st;

	CHECK(up());
	CHECK(bookable("lim", "t-lim", &o));
	day(mon, sizeof mon, 0);
	day(tue, sizeof tue, 1);
	CHECK_INT(book(new_patient(), "lim", "t-lim", at(when, sizeof when, mon, "09:00"), NULL, &st), FD_OK);
	CHECK_INT(slots("t-lim", "lim", mon, mon, NULL, 0), 5);
	CHECK_INT(book(new_patient(), "lim", "t-lim", at(when, sizeof when, mon, "11:00"), NULL, &st), FD_OK);
	CHECK_INT(slots("t-lim", "lim", mon, mon, NULL, 0), 0);
	CHECK_INT(slots("t-lim", "lim", tue, tue, NULL, 0), 6);
	CHECK_INT(book(new_patient(), "lim", "t-lim", at(when, sizeof when, mon, "10:00"), NULL, &st),
		  FD_FAILED_PRECONDITION);
	CHECK(strstr(st.message, "limit"));
}

static void exceptions_and_holidays_change_the_search(void)
{
	struct type_opts o = { .duration = 30 };
	char mon[16], tue[16], sun[16], next_mon[16], from[32], to[32];
	fd_status st;

	CHECK(up());
	CHECK(bookable("exc", "t-exc", &o));
	day(mon, sizeof mon, 0);
	day(tue, sizeof tue, 1);
	day(sun, sizeof sun, 6);
	day(next_mon, sizeof next_mon, 7);

	/* Time off 09:00-10:00 takes two slots. */
	Frontdesk__V1__AddExceptionRequest xr = FRONTDESK__V1__ADD_EXCEPTION_REQUEST__INIT;
	Frontdesk__V1__AvailabilityException x = FRONTDESK__V1__AVAILABILITY_EXCEPTION__INIT;
	ProtobufCMessage *rep = NULL;
	x.provider = "exc";
	x.kind = "off";
	x.starts_local = at(from, sizeof from, mon, "09:00");
	x.ends_local = at(to, sizeof to, mon, "10:00");
	x.reason = "dentist";
	xr.exception = &x;
	CHECK_INT(tp_call(admin, SCHED_SVC, "AddException", &xr.base, &rep, &st), FD_OK);
	protobuf_c_message_free_unpacked(rep, NULL);
	CHECK_INT(slots("t-exc", "exc", mon, mon, NULL, 0), 4);
	CHECK_INT(book(new_patient(), "exc", "t-exc", from, NULL, &st), FD_FAILED_PRECONDITION);
	CHECK(strstr(st.message, "away"));

	/* Extra hours on a Sunday add slots where the template has none. */
	CHECK_INT(slots("t-exc", "exc", sun, sun, NULL, 0), 0);
	x.kind = "extra";
	x.location = "tst";
	x.starts_local = at(from, sizeof from, sun, "14:00");
	x.ends_local = at(to, sizeof to, sun, "15:00");
	rep = NULL;
	CHECK_INT(tp_call(admin, SCHED_SVC, "AddException", &xr.base, &rep, &st), FD_OK);
	protobuf_c_message_free_unpacked(rep, NULL);
	CHECK_INT(slots("t-exc", "exc", sun, sun, NULL, 0), 2);

	/* An end before the start is refused. */
	x.starts_local = to;
	x.ends_local = from;
	rep = NULL;
	CHECK_INT(tp_call(admin, SCHED_SVC, "AddException", &xr.base, &rep, &st), FD_INVALID_ARGUMENT);

	/* A holiday at the location closes the whole day. */
	CHECK_INT(slots("t-exc", "exc", next_mon, next_mon, NULL, 0), 6);
	Frontdesk__V1__AddHolidayRequest hr = FRONTDESK__V1__ADD_HOLIDAY_REQUEST__INIT;
	Frontdesk__V1__Holiday h = FRONTDESK__V1__HOLIDAY__INIT;
	h.date = next_mon;
	h.name = "Founders' day";
	h.location = "tst";
	hr.holiday = &h;
	rep = NULL;
	CHECK_INT(tp_call(admin, SCHED_SVC, "AddHoliday", &hr.base, &rep, &st), FD_OK);
	protobuf_c_message_free_unpacked(rep, NULL);
	CHECK_INT(slots("t-exc", "exc", next_mon, next_mon, NULL, 0), 0);
	CHECK_INT(slots("t-exc", "exc", tue, tue, NULL, 0), 6);
	h.date = "2027-02-30";
	rep = NULL;
	CHECK_INT(tp_call(admin, SCHED_SVC, "AddHoliday", &hr.base, &rep, &st), FD_INVALID_ARGUMENT);
}

/* The next day in the zone that is 23 hours long (clocks spring forward). */
static void spring_forward_day(char *out, size_t size)
{
	PGconn *c = tp_db_connect(db);
	PGresult *r = PQexec(c,
			     "SELECT d::date::text FROM generate_series(current_date + 1, current_date + 400,"
			     " interval '1 day') d WHERE ((d::date + 1)::timestamp AT TIME ZONE '" ZONE "')"
			     " - (d::date::timestamp AT TIME ZONE '" ZONE "') = interval '23 hours'"
			     " ORDER BY d LIMIT 1");
	snprintf(out, size, "%s", PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) ? PQgetvalue(r, 0, 0) : "");
	PQclear(r);
	PQfinish(c);
}

static long long instant_ms(const char *local)
{
	char sql[200];
	snprintf(sql, sizeof sql,
		 "SELECT (extract(epoch FROM '%s'::timestamp AT TIME ZONE '" ZONE "') * 1000)::bigint", local);
	return tp_db_scalar(db, sql);
}

static void a_daylight_saving_week_keeps_wall_clock_times(void)
{
	struct type_opts o = { .duration = 60, .grid = 60 };
	char dst[16], when[32];
	fd_status st;

	CHECK(up());
	CHECK(save_type("t-dst", &o, &st) == FD_OK && save_provider("dst", "t-dst", &st) == FD_OK);
	spring_forward_day(dst, sizeof dst);
	CHECK(dst[0]);
	/* Every day 00:00-05:00 and 09:00-10:00 wall-clock time. */
	for (int wd = 1; wd <= 7; wd++) {
		CHECK_INT(add_window("dst", wd, "00:00", "05:00", &st), FD_OK);
		CHECK_INT(add_window("dst", wd, "09:00", "10:00", &st), FD_OK);
	}
	Frontdesk__V1__FindSlotsRequest req = FRONTDESK__V1__FIND_SLOTS_REQUEST__INIT;
	ProtobufCMessage *rep = NULL;
	req.type = "t-dst";
	req.location = "tst";
	req.from_date = dst;
	req.to_date = dst;
	CHECK_INT(tp_call(desk, SCHED_SVC, "FindSlots", &req.base, &rep, &st), FD_OK);
	Frontdesk__V1__FindSlotsReply *r = (void *)rep;
	/* 00:00-05:00 is four real hours that day: 02:00 does not exist. */
	const char *want[] = { "00:00", "01:00", "03:00", "04:00", "09:00" };
	CHECK_INT(r->n_slots, 5);
	for (size_t i = 0; i < 5; i++) {
		char local[32];
		at(local, sizeof local, dst, want[i]);
		CHECK_STR(r->slots[i]->starts_local, local);
		CHECK_INT(r->slots[i]->starts_unix_ms, instant_ms(local));
	}
	CHECK_INT(r->slots[2]->starts_unix_ms - r->slots[1]->starts_unix_ms, 3600000);
	protobuf_c_message_free_unpacked(rep, NULL);

	/* 02:30 that day does not exist; 09:00 books at 09:00 local, which is
	 * 23 hours after the day before's 09:00... plus one day of 24. */
	CHECK_INT(book(new_patient(), "dst", "t-dst", at(when, sizeof when, dst, "02:30"), NULL, &st),
		  FD_INVALID_ARGUMENT);
	CHECK(strstr(st.message, "does not exist"));
	Frontdesk__V1__Appointment *a = NULL;
	CHECK_INT(book_full(desk, new_patient(), "dst", "t-dst", at(when, sizeof when, dst, "09:00"), false,
			    &a, &st),
		  FD_OK);
	CHECK_STR(a->starts_local, when);
	CHECK_INT(a->starts_unix_ms, instant_ms(when));
	CHECK_STR(a->ends_local + 11, "10:00");
	protobuf_c_message_free_unpacked(&a->base, NULL);
}

/* --- booking rules and refusals -------------------------------------- */

static void bad_bookings_get_clear_statuses_and_write_nothing(void)
{
	struct type_opts o = { .duration = 30 };
	char mon[16], when[32];
	int64_t patient = new_patient();
	fd_status st;

	CHECK(up());
	CHECK(bookable("bad", "t-bad2", &o));
	day(mon, sizeof mon, 0);
	long long before = tp_db_scalar(db, "SELECT count(*) FROM appointments");
	CHECK_INT(book(patient, "bad", "t-bad2", "2027-02-30 09:00", NULL, &st), FD_INVALID_ARGUMENT);
	CHECK_INT(book(patient, "bad", "t-bad2", "tomorrow at nine", NULL, &st), FD_INVALID_ARGUMENT);
	CHECK_INT(book(patient, "bad", "t-bad2", "2001-01-01 09:00", NULL, &st), FD_INVALID_ARGUMENT);
	CHECK(strstr(st.message, "past"));
	CHECK_INT(book(patient, "bad", "t-bad2", at(when, sizeof when, mon, "13:00"), NULL, &st),
		  FD_FAILED_PRECONDITION);
	CHECK(strstr(st.message, "outside"));
	CHECK_INT(book(patient, "bad", "t-bad2", at(when, sizeof when, mon, "09:10"), NULL, &st),
		  FD_FAILED_PRECONDITION);
	CHECK(strstr(st.message, "grid"));
	at(when, sizeof when, mon, "09:00");
	CHECK_INT(book(patient, "nobody", "t-bad2", when, NULL, &st), FD_NOT_FOUND);
	CHECK_INT(book(patient, "bad", "no-type", when, NULL, &st), FD_NOT_FOUND);
	CHECK_INT(book(99999999, "bad", "t-bad2", when, NULL, &st), FD_NOT_FOUND);
	CHECK_INT(book(patient, "bad", "checkup", when, NULL, &st), FD_FAILED_PRECONDITION);
	/* Overbooking: not for the front desk; an admin may, with a reason. */
	CHECK_INT(book(patient, "bad", "t-bad2", when, NULL, &st), FD_OK);
	CHECK_INT(book_full(desk, new_patient(), "bad", "t-bad2", when, true, NULL, &st),
		  FD_PERMISSION_DENIED);
	CHECK_INT(tp_db_scalar(db, "SELECT count(*) FROM appointments"), before + 1);
	Frontdesk__V1__Appointment *a = NULL;
	CHECK_INT(book_full(admin, new_patient(), "bad", "t-bad2", when, true, &a, &st), FD_OK);
	CHECK(a->overbooked);
	char sql[160];
	snprintf(sql, sizeof sql,
		 "SELECT count(*) FROM audit_log WHERE subject = 'appointment:%lld'"
		 " AND method LIKE '%%Book'", (long long)a->id);
	protobuf_c_message_free_unpacked(&a->base, NULL);
	CHECK(tp_db_scalar(db, sql) == 1);
	/* A no-show before the start is refused. */
	Frontdesk__V1__MarkNoShowRequest ns = FRONTDESK__V1__MARK_NO_SHOW_REQUEST__INIT;
	ProtobufCMessage *rep = NULL;
	ns.appointment_id = tp_db_scalar(db, "SELECT max(id) FROM appointments");
	CHECK_INT(tp_call(desk, SCHED_SVC, "MarkNoShow", &ns.base, &rep, &st), FD_FAILED_PRECONDITION);
	ns.appointment_id = 99999999;
	CHECK_INT(tp_call(desk, SCHED_SVC, "MarkNoShow", &ns.base, &rep, &st), FD_NOT_FOUND);
}

static void reschedule_links_to_the_original_and_frees_its_slot(void)
{
	struct type_opts o = { .duration = 30 };
	char mon[16], when[32];
	int64_t id = 0;
	fd_status st;

	CHECK(up());
	CHECK(bookable("rs", "t-rs", &o));
	day(mon, sizeof mon, 0);
	CHECK_INT(book(new_patient(), "rs", "t-rs", at(when, sizeof when, mon, "09:00"), &id, &st), FD_OK);
	Frontdesk__V1__RescheduleRequest req = FRONTDESK__V1__RESCHEDULE_REQUEST__INIT;
	ProtobufCMessage *rep = NULL;
	req.appointment_id = id;
	req.at = at(when, sizeof when, mon, "09:30"); /* overlaps the old one: fine */
	req.reason = "patient asked";
	CHECK_INT(tp_call(desk, SCHED_SVC, "Reschedule", &req.base, &rep, &st), FD_OK);
	Frontdesk__V1__Appointment *moved = ((Frontdesk__V1__RescheduleReply *)rep)->appointment;
	CHECK_INT(moved->rescheduled_from, id);
	CHECK_STR(moved->starts_local, when);
	protobuf_c_message_free_unpacked(rep, NULL);
	char sql[160];
	snprintf(sql, sizeof sql, "SELECT (status = 'rescheduled')::int FROM appointments WHERE id = %lld", (long long)id);
	CHECK(tp_db_scalar(db, sql) == 1);
	CHECK_INT(slots("t-rs", "rs", mon, mon, NULL, 0), 5); /* 09:00 free again */
	/* The moved-away appointment cannot move again. */
	rep = NULL;
	CHECK_INT(tp_call(desk, SCHED_SVC, "Reschedule", &req.base, &rep, &st), FD_FAILED_PRECONDITION);
}

/* --- views ----------------------------------------------------------- */

static void schedule_views_show_days_patients_and_no_shows(void)
{
	struct type_opts o = { .duration = 30 };
	char mon[16], when[32], sql[512];
	int64_t patient = new_patient();
	fd_status st;

	CHECK(up());
	CHECK(bookable("vw", "t-vw", &o));
	day(mon, sizeof mon, 0);
	CHECK_INT(book(patient, "vw", "t-vw", at(when, sizeof when, mon, "10:00"), NULL, &st), FD_OK);
	CHECK_INT(book(new_patient(), "vw", "t-vw", at(when, sizeof when, mon, "09:00"), NULL, &st), FD_OK);
	/* A visit an hour ago that nobody came to (written directly: the
	 * rules refuse bookings in the past). */
	snprintf(sql, sizeof sql,
		 "INSERT INTO appointments (patient_id, provider_id, location_id, type_id, starts_at,"
		 " ends_at, blocked_from, blocked_until) SELECT %lld, p.id, l.id, t.id,"
		 " now() - interval '1 hour', now() - interval '30 minutes', now() - interval '1 hour',"
		 " now() - interval '30 minutes' FROM providers p, locations l, appointment_types t"
		 " WHERE p.code = 'vw' AND l.code = 'tst' AND t.code = 't-vw' RETURNING id",
		 (long long)patient);
	int64_t past = tp_db_scalar(db, sql);
	CHECK(past > 0);
	Frontdesk__V1__MarkNoShowRequest ns = FRONTDESK__V1__MARK_NO_SHOW_REQUEST__INIT;
	ProtobufCMessage *rep = NULL;
	ns.appointment_id = past;
	CHECK_INT(tp_call(desk, SCHED_SVC, "MarkNoShow", &ns.base, &rep, &st), FD_OK);
	protobuf_c_message_free_unpacked(rep, NULL);

	Frontdesk__V1__ListAppointmentsRequest req = FRONTDESK__V1__LIST_APPOINTMENTS_REQUEST__INIT;
	req.provider = "vw";
	req.date = mon;
	rep = NULL;
	CHECK_INT(tp_call(desk, SCHED_SVC, "ListAppointments", &req.base, &rep, &st), FD_OK);
	Frontdesk__V1__ListAppointmentsReply *r = (void *)rep;
	CHECK_INT(r->n_appointments, 2);
	CHECK_STR(r->appointments[0]->starts_local + 11, "09:00"); /* in time order */
	protobuf_c_message_free_unpacked(rep, NULL);

	Frontdesk__V1__ListAppointmentsRequest mine = FRONTDESK__V1__LIST_APPOINTMENTS_REQUEST__INIT;
	mine.patient_id = patient;
	rep = NULL;
	CHECK_INT(tp_call(desk, SCHED_SVC, "ListAppointments", &mine.base, &rep, &st), FD_OK);
	r = (void *)rep;
	CHECK_INT(r->n_appointments, 2); /* the past no-show and the upcoming visit */
	CHECK_STR(r->appointments[0]->status, "no_show");
	protobuf_c_message_free_unpacked(rep, NULL);

	Frontdesk__V1__ListAppointmentsRequest noshows = FRONTDESK__V1__LIST_APPOINTMENTS_REQUEST__INIT;
	noshows.location = "tst";
	noshows.status = "no_show";
	/* The no-show's own local day: "today" would miss it in the hour
	 * after the clinic's midnight. */
	char noshow_day[48];
	snprintf(sql, sizeof sql,
		 "SELECT to_char(a.starts_at AT TIME ZONE l.time_zone, 'YYYYMMDD')::bigint"
		 " FROM appointments a JOIN locations l ON l.id = a.location_id WHERE a.id = %lld",
		 (long long)past);
	long long ymd = tp_db_scalar(db, sql);
	snprintf(noshow_day, sizeof noshow_day, "%04lld-%02lld-%02lld", ymd / 10000,
		 ymd / 100 % 100, ymd % 100);
	noshows.date = noshow_day;
	rep = NULL;
	CHECK_INT(tp_call(desk, SCHED_SVC, "ListAppointments", &noshows.base, &rep, &st), FD_OK);
	r = (void *)rep;
	bool found = false;
	for (size_t i = 0; i < r->n_appointments; i++)
		found |= r->appointments[i]->id == past;
	protobuf_c_message_free_unpacked(rep, NULL);
	CHECK(found);
}

/* --- reminders ------------------------------------------------------- */

struct captured {
	int n;
	char message[512];
};

static int capture(void *self, const struct sched_reminder *m)
{
	struct captured *c = self;
	c->n++;
	snprintf(c->message, sizeof c->message, "%s", m->message);
	return 0;
}

static void reminders_are_scheduled_fall_due_and_are_withdrawn(void)
{
	struct type_opts o = { .duration = 30, .reminder = 120 };
	char mon[16], when[32], sql[256];
	int64_t kept = 0, dropped = 0;
	fd_status st;

	CHECK(up());
	CHECK(bookable("rem", "t-rem", &o));
	day(mon, sizeof mon, 0);
	CHECK_INT(book(new_patient(), "rem", "t-rem", at(when, sizeof when, mon, "09:00"), &kept, &st), FD_OK);
	CHECK_INT(book(new_patient(), "rem", "t-rem", at(when, sizeof when, mon, "10:00"), &dropped, &st), FD_OK);
	snprintf(sql, sizeof sql,
		 "SELECT count(*) FROM appointment_reminders r JOIN appointments a ON a.id = r.appointment_id"
		 " WHERE a.id = %lld AND r.status = 'pending' AND r.send_at = a.starts_at - interval '2 hours'",
		 (long long)kept);
	CHECK(tp_db_scalar(db, sql) == 1);
	CHECK_INT(cancel(dropped, "patient", &st), FD_OK);
	snprintf(sql, sizeof sql, "SELECT count(*) FROM appointment_reminders WHERE appointment_id = %lld"
				  " AND status = 'withdrawn'", (long long)dropped);
	CHECK(tp_db_scalar(db, sql) == 1);

	/* Time passes: the server's timer marks the reminder due. */
	snprintf(sql, sizeof sql, "UPDATE appointment_reminders SET send_at = now() - interval '1 minute'"
				  " WHERE appointment_id IN (%lld, %lld)", (long long)kept, (long long)dropped);
	CHECK(tp_db_exec(db, sql) == 0);
	snprintf(sql, sizeof sql, "SELECT count(*) FROM appointment_reminders WHERE appointment_id = %lld"
				  " AND status = 'due'", (long long)kept);
	int64_t end = fd_now_mono_ms() + 15000;
	while (tp_db_scalar(db, sql) != 1 && fd_now_mono_ms() < end)
		e2e_sleep_ms(200);
	CHECK(tp_db_scalar(db, sql) == 1);

	/* A sender (here a test double) delivers it once; the withdrawn one
	 * never goes out. */
	struct captured got = { 0 };
	struct sched_reminder_sender sender = { .name = "double", .deliver = capture, .self = &got };
	PGconn *c = tp_db_connect(db);
	int sent = sched_reminders_run(c, &sender);
	int again = sched_reminders_run(c, &sender);
	PQfinish(c);
	CHECK_INT(sent, 1);
	CHECK_INT(again, 0);
	CHECK(strstr(got.message, "Pat") && strstr(got.message, at(when, sizeof when, mon, "09:00")));
	snprintf(sql, sizeof sql, "SELECT count(*) FROM appointment_reminders WHERE appointment_id = %lld"
				  " AND status = 'sent'", (long long)kept);
	CHECK(tp_db_scalar(db, sql) == 1);

	/* The spool sender writes one whole file per message. */
	char dir[] = "/tmp/fd-spool-XXXXXX", path[128];
	CHECK(mkdtemp(dir) != NULL);
	struct sched_reminder m = { .id = 7, .appointment_id = kept, .phone = "+15551234567", .message = "hello" };
	CHECK_INT(sched_spool_deliver(dir, &m), 0);
	snprintf(path, sizeof path, "%s/reminder-7.txt", dir);
	struct stat sb;
	CHECK(stat(path, &sb) == 0 && sb.st_size > 0);
	unlink(path);
	rmdir(dir);
}

/* --- 50 desks race for one slot -------------------------------------- */

/* Forks n `desk appt book` processes that wait on one pipe and start
 * together. variant(i) gives child i's provider and room. Counts winners
 * and "just taken" answers. */
static void race(int n, const char *type, const char *at_local, const char *(*provider_of)(int),
		 const char *(*room_of)(int), int *won, int *taken)
{
	char token[128], dir[] = "/tmp/fd-race-XXXXXX";
	int gate[2];
	pid_t pids[64];

	*won = *taken = 0;
	snprintf(token, sizeof token, "%s", fd_client_token(desk));
	if (!mkdtemp(dir) || pipe(gate) != 0)
		return;
	for (int i = 0; i < n; i++) {
		char patient[24], out[96];
		snprintf(patient, sizeof patient, "%lld", (long long)new_patient());
		snprintf(out, sizeof out, "%s/%d.json", dir, i);
		const char *room = room_of ? room_of(i) : NULL;
		pids[i] = fork();
		if (pids[i] == 0) {
			char byte;
			close(gate[1]);
			(void)!read(gate[0], &byte, 1); /* EOF when the parent opens the gate */
			int fd = open(out, O_WRONLY | O_CREAT | O_TRUNC, 0600);
			dup2(fd, 1);
			dup2(fd, 2);
			setenv("FRONTDESK_TOKEN", token, 1);
			setenv("FRONTDESK_SERVER", srv.url, 1);
			execl(tp_bin("desk"), "desk", "--json", "appt", "book", "--patient", patient,
			      "--provider", provider_of(i), "--type", type, "--at", at_local,
			      room ? "--room" : NULL, room, (char *)NULL);
			_exit(127);
		}
	}
	close(gate[0]);
	close(gate[1]);
	for (int i = 0; i < n; i++) {
		int status = 0;
		char path[96], buf[1024] = "";
		waitpid(pids[i], &status, 0);
		snprintf(path, sizeof path, "%s/%d.json", dir, i);
		FILE *f = fopen(path, "r");
		if (f) {
			buf[fread(buf, 1, sizeof buf - 1, f)] = '\0';
			fclose(f);
		}
		unlink(path);
		if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
			(*won)++;
		else if (strstr(buf, "ALREADY_EXISTS") && strstr(buf, "just taken"))
			(*taken)++;
		else
			printf("    child %d: %.300s\n", i, buf);
	}
	rmdir(dir);
}

static const char *provider_r1(int i)
{
	(void)i;
	return "r1";
}

static const char *two_rooms(int i)
{
	return i % 2 ? "rm-a" : "rm-b";
}

static const char *two_providers(int i)
{
	return i % 2 ? "r3a" : "r3b";
}

static long long active_at(const char *type)
{
	char sql[200];
	snprintf(sql, sizeof sql,
		 "SELECT count(*) FROM appointments a JOIN appointment_types t ON t.id = a.type_id"
		 " WHERE t.code = '%s' AND appointment_status_active(a.status)", type);
	return tp_db_scalar(db, sql);
}

static void fifty_desks_racing_for_one_slot_book_it_once(void)
{
	struct type_opts o = { .duration = 30 };
	char mon[16], when[32];
	int won, taken;

	CHECK(up());
	CHECK(bookable("r1", "t-race", &o));
	day(mon, sizeof mon, 0);
	race(50, "t-race", at(when, sizeof when, mon, "09:00"), provider_r1, NULL, &won, &taken);
	CHECK_INT(won, 1);
	CHECK_INT(taken, 49);
	CHECK_INT(active_at("t-race"), 1);
}

static const char *provider_r2(int i)
{
	(void)i;
	return "r2";
}

static void one_provider_in_two_rooms_is_booked_once(void)
{
	struct type_opts o = { .duration = 30, .needs = "race_room" };
	char mon[16], when[32];
	int won, taken;

	CHECK(up());
	CHECK(tp_db_exec(db, "INSERT INTO resources (location_id, code, name, kind) SELECT id, c, c,"
			     " 'race_room' FROM locations, (VALUES ('rm-a'), ('rm-b')) v(c)"
			     " WHERE code = 'tst'") == 0);
	CHECK(bookable("r2", "t-race2", &o));
	day(mon, sizeof mon, 0);
	race(50, "t-race2", at(when, sizeof when, mon, "09:00"), provider_r2, two_rooms, &won, &taken);
	CHECK_INT(won, 1);
	CHECK_INT(taken, 49);
	CHECK_INT(active_at("t-race2"), 1);
}

static void two_providers_wanting_one_room_get_it_once(void)
{
	struct type_opts o = { .duration = 30, .needs = "solo_room" };
	char mon[16], when[32];
	int won, taken;
	fd_status st;

	CHECK(up());
	CHECK(tp_db_exec(db, "INSERT INTO resources (location_id, code, name, kind) SELECT id,"
			     " 'solo-1', 'The only one', 'solo_room' FROM locations WHERE code = 'tst'") == 0);
	CHECK(bookable("r3a", "t-race3", &o));
	CHECK_INT(save_provider("r3b", "t-race3", &st), FD_OK);
	CHECK_INT(add_window("r3b", 1, "09:00", "12:00", &st), FD_OK);
	day(mon, sizeof mon, 0);
	race(50, "t-race3", at(when, sizeof when, mon, "09:00"), two_providers, NULL, &won, &taken);
	CHECK_INT(won, 1);
	CHECK_INT(taken, 49);
	CHECK_INT(active_at("t-race3"), 1);
	/* Cancel frees the room: the other provider can now have it. */
	int64_t id = tp_db_scalar(db, "SELECT a.id FROM appointments a JOIN appointment_types t"
				      " ON t.id = a.type_id WHERE t.code = 't-race3'");
	CHECK_INT(cancel(id, "clinic", &st), FD_OK);
	CHECK_INT(book(new_patient(), "r3a", "t-race3", when, NULL, &st), FD_OK);
}

static void the_server_exits_cleanly(void)
{
	CHECK(up());
	fd_client_close(admin);
	fd_client_close(desk);
	e2e_stop(&srv);
}

/* Which of the demo's providers at 'main' a consultation search offers
 * over the next three weeks, as "smith,lee" flags; -1 on an error (its
 * status in *code). */
static int consult_offers(const char *provider, const char *specialty, bool *smith, bool *lee,
			  int *code)
{
	Frontdesk__V1__FindSlotsRequest req = FRONTDESK__V1__FIND_SLOTS_REQUEST__INIT;
	ProtobufCMessage *rep = NULL;
	char from[11], to[11];
	time_t now = time(NULL);
	fd_status st;

	strftime(from, sizeof from, "%Y-%m-%d", localtime(&(time_t){ now + 2 * 86400 }));
	strftime(to, sizeof to, "%Y-%m-%d", localtime(&(time_t){ now + 23 * 86400 }));
	req.type = "consult";
	req.location = "main";
	req.provider = (char *)provider;
	req.specialty = (char *)specialty;
	req.from_date = from;
	req.to_date = to;
	req.limit = 500;
	*smith = *lee = false;
	*code = tp_call(desk, SCHED_SVC, "FindSlots", &req.base, &rep, &st);
	if (*code != FD_OK)
		return -1;
	Frontdesk__V1__FindSlotsReply *r = (void *)rep;
	for (size_t k = 0; k < r->n_slots; k++) {
		*smith = *smith || strcmp(r->slots[k]->provider, "smith") == 0;
		*lee = *lee || strcmp(r->slots[k]->provider, "lee") == 0;
	}
	int n = (int)r->n_slots;
	protobuf_c_message_free_unpacked(rep, NULL);
	return n;
}

/* A search with everything but the one field under test set to what the
 * demo has ('consult' at 'main', from the day after tomorrow); the status,
 * its message in st, and the slots' start instants in ms (up to 500). */
static int search(const char *type, const char *location, const char *provider, int from_day,
		  int to_day, bool first, fd_status *st, int64_t *starts, int *n)
{
	Frontdesk__V1__FindSlotsRequest req = FRONTDESK__V1__FIND_SLOTS_REQUEST__INIT;
	ProtobufCMessage *rep = NULL;
	char from[11] = "", to[11] = "";
	time_t now = time(NULL);

	strftime(from, sizeof from, "%Y-%m-%d", localtime(&(time_t){ now + from_day * 86400 }));
	if (to_day >= 0)
		strftime(to, sizeof to, "%Y-%m-%d", localtime(&(time_t){ now + to_day * 86400 }));
	req.type = (char *)type;
	req.location = (char *)location;
	req.provider = (char *)provider;
	req.from_date = from;
	req.to_date = to;
	req.first_available = first;
	req.limit = 500;
	*n = 0;
	int code = tp_call(desk, SCHED_SVC, "FindSlots", &req.base, &rep, st);
	if (code == FD_OK) {
		Frontdesk__V1__FindSlotsReply *r = (void *)rep;
		for (size_t k = 0; k < r->n_slots && k < 500; k++)
			starts[(*n)++] = r->slots[k]->starts_unix_ms;
		protobuf_c_message_free_unpacked(rep, NULL);
	}
	return code;
}

/* What the search cannot resolve and the ranges it refuses get their own
 * status and words, in a fixed order (scheduling_slots.c), and the slots
 * come earliest first. */
static void a_slot_search_names_what_it_cannot_find_and_the_ranges_it_refuses(void)
{
	static int64_t starts[500];
	fd_status st;
	int n;

	CHECK(up());
	CHECK_INT(search("no-such-type", "main", "", 2, 9, false, &st, starts, &n), FD_NOT_FOUND);
	CHECK(strstr(st.message, "appointment type") != NULL);
	CHECK_INT(search("consult", "nowhere", "", 2, 9, false, &st, starts, &n), FD_NOT_FOUND);
	CHECK(strstr(st.message, "location") != NULL);
	CHECK_INT(search("consult", "main", "nobody", 2, 9, true, &st, starts, &n), FD_NOT_FOUND);
	CHECK(strstr(st.message, "provider") != NULL);
	/* The type is checked first, whatever else is wrong. */
	CHECK_INT(search("no-such-type", "nowhere", "nobody", 9, 2, false, &st, starts, &n),
		  FD_NOT_FOUND);
	CHECK(strstr(st.message, "appointment type") != NULL);
	CHECK_INT(search("consult", "main", "", 9, 2, false, &st, starts, &n), FD_INVALID_ARGUMENT);
	CHECK(strstr(st.message, "before the first") != NULL);
	CHECK_INT(search("consult", "main", "", 9, 2, true, &st, starts, &n), FD_INVALID_ARGUMENT);
	/* 92 days is the most one search covers; 93 is refused. */
	CHECK_INT(search("consult", "main", "", 2, 2 + 92, false, &st, starts, &n),
		  FD_INVALID_ARGUMENT);
	CHECK(strstr(st.message, "at most 92 days") != NULL);
	CHECK_INT(search("consult", "main", "", 2, 2 + 91, false, &st, starts, &n), FD_OK);
	CHECK(n > 1);
	for (int k = 1; k < n; k++)
		CHECK_MSG(starts[k - 1] <= starts[k], "slot %d starts before slot %d", k, k - 1);
	/* First available within the range is the earliest of the list. */
	int64_t earliest = n ? starts[0] : 0;
	CHECK_INT(search("consult", "main", "", 2, 2 + 91, true, &st, starts, &n), FD_OK);
	CHECK_INT(n, 1);
	CHECK(n == 1 && starts[0] == earliest);
}

/* The search's statement names only the filters set (scheduling_slots.c):
 * each combination of provider and specialty still filters. */
static void slot_search_filters_by_provider_and_specialty(void)
{
	bool smith, lee;
	int code;

	CHECK(up());
	CHECK(consult_offers("", "", &smith, &lee, &code) > 0);
	CHECK(smith && lee);
	CHECK(consult_offers("", "pediatrics", &smith, &lee, &code) > 0);
	CHECK(!smith && lee);
	CHECK(consult_offers("smith", "", &smith, &lee, &code) > 0);
	CHECK(smith && !lee);
	CHECK(consult_offers("lee", "family_medicine", &smith, &lee, &code) > 0);
	CHECK(!smith && lee);
	CHECK_INT(consult_offers("smith", "pediatrics", &smith, &lee, &code), 0);
	CHECK_INT(consult_offers("", "dermatology", &smith, &lee, &code), 0);
	CHECK_INT(consult_offers("nobody-by-that-code", "", &smith, &lee, &code), -1);
	CHECK_INT(code, FD_NOT_FOUND);
}

TH_MAIN(TH_CASE(admin_data_is_saved_listed_and_checked),
	TH_CASE(slot_search_filters_by_provider_and_specialty),
	TH_CASE(a_slot_search_names_what_it_cannot_find_and_the_ranges_it_refuses),
	TH_CASE(slots_follow_the_weekly_template_on_the_grid),
	TH_CASE(booking_takes_a_slot_and_cancel_frees_it),
	TH_CASE(buffers_keep_neighbouring_slots_free),
	TH_CASE(a_window_off_the_hour_keeps_its_own_grid),
	TH_CASE(first_available_widens_until_it_finds_the_earliest_slot),
	TH_CASE(first_available_keeps_to_the_time_of_day),
	TH_CASE(minimum_notice_and_horizon_limit_the_search),
	TH_CASE(a_per_day_limit_caps_each_providers_day),
	TH_CASE(exceptions_and_holidays_change_the_search),
	TH_CASE(a_daylight_saving_week_keeps_wall_clock_times),
	TH_CASE(bad_bookings_get_clear_statuses_and_write_nothing),
	TH_CASE(reschedule_links_to_the_original_and_frees_its_slot),
	TH_CASE(schedule_views_show_days_patients_and_no_shows),
	TH_CASE(reminders_are_scheduled_fall_due_and_are_withdrawn),
	TH_CASE(fifty_desks_racing_for_one_slot_book_it_once),
	TH_CASE(one_provider_in_two_rooms_is_booked_once),
	TH_CASE(two_providers_wanting_one_room_get_it_once),
	TH_CASE(the_server_exits_cleanly))
