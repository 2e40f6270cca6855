/*
 * The waitlist and recurring appointments, end to end against the real
 * frontdeskd: a cancelled appointment's slot is offered to the first
 * matching waitlist entry (priority, then request time) with a
 * `waitlist.offer` event; the held slot is neither found nor bookable by
 * anyone else; accepting books it exactly once; an expired offer (the
 * server's timer) or a declined one moves on to the next entry. A weekly
 * series with one conflicting occurrence is refused whole by default and
 * booked around the conflict (with alternatives) when partial.
 *
 * Each scenario has its own provider and type at a test location in
 * America/New_York, on weeks at least two weeks ahead.
 */
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "e2e.h"
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
	if (!e2e_start(&srv, db, sizeof db, "schedwl", NULL))
		return false;
	if (tp_db_exec(db, "INSERT INTO locations (code, name, time_zone)"
			   " VALUES ('tst', 'Test clinic', '" ZONE "')") != 0)
		return false;
	admin = login_as("admin");
	desk = login_as("reception1");
	return admin && desk;
}

/* "DATE HH:MM" on the local date `offset` days after the Monday two weeks
 * from now. */
static void at(char *out, size_t size, int offset, const char *time)
{
	char sql[256];
	PGconn *c = tp_db_connect(db);
	snprintf(sql, sizeof sql,
		 "SELECT (date_trunc('week', now() AT TIME ZONE '" ZONE "')::date + 14 + %d)::text",
		 offset);
	PGresult *r = PQexec(c, sql);
	snprintf(out, size, "%s %s", PQresultStatus(r) == PGRES_TUPLES_OK ? PQgetvalue(r, 0, 0) : "",
		 time);
	PQclear(r);
	PQfinish(c);
}

static int64_t new_patient(void)
{
	return tp_db_scalar(db, "INSERT INTO patients (family_name, given_name, date_of_birth)"
				" VALUES ('Waiter', 'Pat', '1980-01-01') RETURNING id");
}

static int call(fd_client *c, const char *method, const ProtobufCMessage *req, fd_status *st)
{
	ProtobufCMessage *rep = NULL;
	int rc = tp_call(c, SCHED_SVC, method, req, &rep, st);
	if (rep)
		protobuf_c_message_free_unpacked(rep, NULL);
	return rc;
}

/* Saves a type of `minutes` (30-minute grid) and has the provider offer
 * exactly `types` (which name it) at 'tst'. */
static bool also_offers(const char *provider, char **types, size_t n_types, const char *type,
			int minutes)
{
	Frontdesk__V1__SaveTypeRequest tr = FRONTDESK__V1__SAVE_TYPE_REQUEST__INIT;
	Frontdesk__V1__AppointmentType t = FRONTDESK__V1__APPOINTMENT_TYPE__INIT;
	Frontdesk__V1__SaveProviderRequest pr = FRONTDESK__V1__SAVE_PROVIDER_REQUEST__INIT;
	char *locations[] = { "tst" };
	fd_status st;

	t.code = (char *)type;
	t.name = "Waitlist type";
	t.duration_min = minutes;
	t.grid_min = 30;
	t.horizon_days = 730;
	tr.type = &t;
	tr.no_reminders = true;
	pr.code = (char *)provider;
	pr.display_name = "Dr. Wait";
	pr.locations = locations;
	pr.n_locations = 1;
	pr.types = types;
	pr.n_types = n_types;
	if (call(admin, "SaveType", &tr.base, &st) != FD_OK ||
	    call(admin, "SaveProvider", &pr.base, &st) != FD_OK) {
		th_fail(__FILE__, __LINE__, "setup: %s", st.message);
		return false;
	}
	return true;
}

/* A 30-minute type on a 30-minute grid and a provider offering it at
 * 'tst', Monday-Friday 09:00-12:00. */
static bool bookable(const char *provider, const char *type)
{
	char *types[] = { (char *)type };
	fd_status st;

	if (!also_offers(provider, types, 1, type, 30))
		return false;
	for (int wd = 1; wd <= 5; wd++) {
		Frontdesk__V1__AddTemplateRequest req = FRONTDESK__V1__ADD_TEMPLATE_REQUEST__INIT;
		Frontdesk__V1__TemplateWindow w = FRONTDESK__V1__TEMPLATE_WINDOW__INIT;
		w.provider = (char *)provider;
		w.weekday = wd;
		w.start_time = "09:00";
		w.end_time = "12:00";
		req.window = &w;
		if (call(admin, "AddTemplate", &req.base, &st) != FD_OK) {
			th_fail(__FILE__, __LINE__, "setup: %s", st.message);
			return false;
		}
	}
	return true;
}

static int book(int64_t patient, const char *provider, const char *type, const char *when,
		int64_t *id, fd_status *st)
{
	Frontdesk__V1__BookRequest req = FRONTDESK__V1__BOOK_REQUEST__INIT;
	ProtobufCMessage *rep = NULL;

	req.patient_id = patient;
	req.provider = (char *)provider;
	req.type = (char *)type;
	req.at = (char *)when;
	int rc = tp_call(desk, SCHED_SVC, "Book", &req.base, &rep, st);
	if (rc == FD_OK && id)
		*id = ((Frontdesk__V1__BookReply *)rep)->appointment->id;
	if (rep)
		protobuf_c_message_free_unpacked(rep, NULL);
	return rc;
}

static int cancel(int64_t id, fd_status *st)
{
	Frontdesk__V1__CancelRequest req = FRONTDESK__V1__CANCEL_REQUEST__INIT;
	req.appointment_id = id;
	req.reason_code = "patient";
	return call(desk, "Cancel", &req.base, st);
}

static int wait_add(int64_t patient, const char *type, int priority, int32_t *weekdays,
		    size_t n_weekdays, int64_t *id, fd_status *st)
{
	Frontdesk__V1__AddWaitlistRequest req = FRONTDESK__V1__ADD_WAITLIST_REQUEST__INIT;
	ProtobufCMessage *rep = NULL;

	req.patient_id = patient;
	req.type = (char *)type;
	req.location = "tst";
	req.priority = priority;
	req.weekdays = weekdays;
	req.n_weekdays = n_weekdays;
	int rc = tp_call(desk, SCHED_SVC, "AddWaitlist", &req.base, &rep, st);
	if (rc == FD_OK && id)
		*id = ((Frontdesk__V1__AddWaitlistReply *)rep)->entry->id;
	if (rep)
		protobuf_c_message_free_unpacked(rep, NULL);
	return rc;
}

/* The entry's status and its open offer's start ("" when none). */
static int entry_state(int64_t id, char *status, size_t ssize, char *offer, size_t osize)
{
	Frontdesk__V1__ListWaitlistRequest req = FRONTDESK__V1__LIST_WAITLIST_REQUEST__INIT;
	ProtobufCMessage *rep = NULL;
	fd_status st;

	req.location = "tst";
	req.include_closed = true;
	if (tp_call(desk, SCHED_SVC, "ListWaitlist", &req.base, &rep, &st) != FD_OK)
		return -1;
	Frontdesk__V1__ListWaitlistReply *r = (void *)rep;
	int found = 0;
	for (size_t i = 0; i < r->n_entries; i++)
		if (r->entries[i]->id == id) {
			snprintf(status, ssize, "%s", r->entries[i]->status);
			snprintf(offer, osize, "%s", r->entries[i]->offer_starts_local);
			found = 1;
		}
	protobuf_c_message_free_unpacked(rep, NULL);
	return found ? 0 : -1;
}

static int answer(const char *method, int64_t entry, int64_t *appointment, fd_status *st)
{
	Frontdesk__V1__AcceptOfferRequest req = FRONTDESK__V1__ACCEPT_OFFER_REQUEST__INIT;
	Frontdesk__V1__DeclineOfferRequest dreq = FRONTDESK__V1__DECLINE_OFFER_REQUEST__INIT;
	ProtobufCMessage *rep = NULL;
	int rc;

	req.entry_id = dreq.entry_id = entry;
	if (strcmp(method, "AcceptOffer") == 0) {
		rc = tp_call(desk, SCHED_SVC, method, &req.base, &rep, st);
		if (rc == FD_OK && appointment)
			*appointment = ((Frontdesk__V1__AcceptOfferReply *)rep)->appointment->id;
	} else {
		rc = tp_call(desk, SCHED_SVC, method, &dreq.base, &rep, st);
	}
	if (rep)
		protobuf_c_message_free_unpacked(rep, NULL);
	return rc;
}

/* Whether a FindSlots over the day of `when` lists it. */
static bool slot_listed(const char *provider, const char *type, const char *when)
{
	Frontdesk__V1__FindSlotsRequest req = FRONTDESK__V1__FIND_SLOTS_REQUEST__INIT;
	ProtobufCMessage *rep = NULL;
	char date[16];
	fd_status st;
	bool listed = false;

	snprintf(date, sizeof date, "%.10s", when);
	req.type = (char *)type;
	req.provider = (char *)provider;
	req.location = "tst";
	req.from_date = req.to_date = date;
	if (tp_call(desk, SCHED_SVC, "FindSlots", &req.base, &rep, &st) != FD_OK)
		return false;
	Frontdesk__V1__FindSlotsReply *r = (void *)rep;
	for (size_t i = 0; i < r->n_slots; i++)
		listed |= strcmp(r->slots[i]->starts_local, when) == 0;
	protobuf_c_message_free_unpacked(rep, NULL);
	return listed;
}

/* Waits (up to ~5 s) for a notification payload on the event channel. */
static bool heard(PGconn *listener, const char *payload)
{
	for (int i = 0; i < 50; i++) {
		PGnotify *n;
		PQconsumeInput(listener);
		while ((n = PQnotifies(listener))) {
			bool match = strcmp(n->extra, payload) == 0;
			PQfreemem(n);
			if (match)
				return true;
		}
		struct pollfd pfd = { .fd = PQsocket(listener), .events = POLLIN };
		poll(&pfd, 1, 100);
	}
	return false;
}

/* --- waitlist -------------------------------------------------------- */

static int64_t first_entry, second_entry, held_patient;
static char held_at[32];

static void cancel_frees_the_slot_and_offers_it_to_the_waitlist(void)
{
	int32_t tuesday_only[] = { 2 };
	int64_t appt, eb, ec, ed;
	char status[16], offer[32], payload[64];
	fd_status st;

	CHECK(up());
	int64_t a = new_patient(), b = new_patient(), c = new_patient(), d = new_patient();
	CHECK(bookable("wl-a", "wl-a"));
	at(held_at, sizeof held_at, 0, "09:00"); /* a Monday */
	CHECK_MSG(book(a, "wl-a", "wl-a", held_at, &appt, &st) == FD_OK, "%s", st.message);
	/* b asked first at routine priority; c later but urgent; d only
	 * wants Tuesdays. */
	CHECK_MSG(wait_add(b, "wl-a", 3, NULL, 0, &eb, &st) == FD_OK, "%s", st.message);
	CHECK_MSG(wait_add(c, "wl-a", 1, NULL, 0, &ec, &st) == FD_OK, "%s", st.message);
	CHECK_MSG(wait_add(d, "wl-a", 1, tuesday_only, 1, &ed, &st) == FD_OK, "%s", st.message);
	CHECK(entry_state(ec, status, sizeof status, offer, sizeof offer) == 0);
	CHECK_STR(status, "waiting");

	PGconn *listener = tp_db_connect(db);
	PQclear(PQexec(listener, "LISTEN frontdesk_events"));
	CHECK_MSG(cancel(appt, &st) == FD_OK, "%s", st.message);
	snprintf(payload, sizeof payload, "waitlist.offer\twaitlist:%lld", (long long)ec);
	bool got = heard(listener, payload);
	PQfinish(listener);
	CHECK_MSG(got, "no waitlist.offer event for the urgent entry");
	CHECK(entry_state(ec, status, sizeof status, offer, sizeof offer) == 0);
	CHECK_STR(status, "offered");
	CHECK_STR(offer, held_at);
	CHECK(entry_state(eb, status, sizeof status, offer, sizeof offer) == 0);
	CHECK_STR(status, "waiting");
	CHECK(entry_state(ed, status, sizeof status, offer, sizeof offer) == 0);
	CHECK_STR(status, "waiting");
	first_entry = ec;
	second_entry = eb;
	held_patient = c;
}

static void a_held_slot_is_neither_found_nor_bookable_by_others(void)
{
	int64_t other = new_patient(), held_appt = 0;
	char status[16], offer[32], next[32];
	fd_status st;

	CHECK(up() && first_entry);
	CHECK(!slot_listed("wl-a", "wl-a", held_at));
	at(next, sizeof next, 0, "09:30");
	CHECK(slot_listed("wl-a", "wl-a", next)); /* the search itself still works */
	CHECK_INT(book(other, "wl-a", "wl-a", held_at, NULL, &st), FD_ALREADY_EXISTS);
	CHECK_MSG(strstr(st.message, "held for a waitlist patient"), "%s", st.message);
	/* Not even the held patient books it outside the offer. */
	CHECK_INT(book(held_patient, "wl-a", "wl-a", held_at, &held_appt, &st), FD_ALREADY_EXISTS);
	/* The next entry is not offered the same slot meanwhile. */
	CHECK(entry_state(second_entry, status, sizeof status, offer, sizeof offer) == 0);
	CHECK_STR(status, "waiting");
	CHECK_INT(tp_db_scalar(db, "SELECT count(*) FROM waitlist_offers WHERE status = 'open'"), 1);
}

static void accepting_an_offer_books_it_exactly_once(void)
{
	int64_t first = 0, again = 0;
	char status[16], offer[32], sql[160];
	fd_status st;

	CHECK(up() && first_entry);
	CHECK_MSG(answer("AcceptOffer", first_entry, &first, &st) == FD_OK, "%s", st.message);
	CHECK(first > 0);
	CHECK_MSG(answer("AcceptOffer", first_entry, &again, &st) == FD_OK, "%s", st.message);
	CHECK_INT(again, first);
	snprintf(sql, sizeof sql,
		 "SELECT count(*) FROM appointments WHERE patient_id = %lld AND status = 'booked'",
		 (long long)held_patient);
	CHECK_INT(tp_db_scalar(db, sql), 1);
	CHECK(entry_state(first_entry, status, sizeof status, offer, sizeof offer) == 0);
	CHECK_STR(status, "booked");
	CHECK_STR(offer, "");
	CHECK(!slot_listed("wl-a", "wl-a", held_at));
	/* Declining what is already booked is refused. */
	CHECK_INT(answer("DeclineOffer", first_entry, NULL, &st), FD_FAILED_PRECONDITION);
}

static void an_expired_offer_moves_on_and_a_declined_one_too(void)
{
	int64_t a = new_patient(), b = new_patient(), c = new_patient();
	int64_t appt, eb, ec;
	char when[32], status[16], offer[32], sql[200];
	fd_status st;

	CHECK(up());
	CHECK(bookable("wl-b", "wl-b"));
	at(when, sizeof when, 1, "10:00");
	CHECK_MSG(book(a, "wl-b", "wl-b", when, &appt, &st) == FD_OK, "%s", st.message);
	CHECK_MSG(wait_add(b, "wl-b", 2, NULL, 0, &eb, &st) == FD_OK, "%s", st.message);
	CHECK_MSG(wait_add(c, "wl-b", 3, NULL, 0, &ec, &st) == FD_OK, "%s", st.message);
	CHECK_MSG(cancel(appt, &st) == FD_OK, "%s", st.message);
	CHECK(entry_state(eb, status, sizeof status, offer, sizeof offer) == 0);
	CHECK_STR(status, "offered");
	/* The clinic default holds an offer 30 minutes. */
	snprintf(sql, sizeof sql,
		 "SELECT count(*) FROM waitlist_offers WHERE entry_id = %lld"
		 " AND expires_at - created_at = interval '30 minutes'", (long long)eb);
	CHECK_INT(tp_db_scalar(db, sql), 1);

	/* Its time runs out: the server's timer passes the slot to c. */
	snprintf(sql, sizeof sql,
		 "UPDATE waitlist_offers SET expires_at = now() - interval '1 second'"
		 " WHERE entry_id = %lld AND status = 'open'", (long long)eb);
	CHECK(tp_db_exec(db, sql) == 0);
	for (int i = 0; i < 100; i++) {
		CHECK(entry_state(ec, status, sizeof status, offer, sizeof offer) == 0);
		if (strcmp(status, "offered") == 0)
			break;
		e2e_sleep_ms(100);
	}
	CHECK_STR(status, "offered");
	CHECK_STR(offer, when);
	CHECK_INT(answer("AcceptOffer", eb, NULL, &st), FD_FAILED_PRECONDITION);
	CHECK(entry_state(eb, status, sizeof status, offer, sizeof offer) == 0);
	CHECK_STR(status, "waiting");

	/* c declines; b already had this slot, so nobody is left and the
	 * slot is free for anyone. */
	CHECK_MSG(answer("DeclineOffer", ec, NULL, &st) == FD_OK, "%s", st.message);
	CHECK(entry_state(ec, status, sizeof status, offer, sizeof offer) == 0);
	CHECK_STR(status, "waiting");
	CHECK(slot_listed("wl-b", "wl-b", when));
}

static void a_removed_entry_passes_its_offer_on(void)
{
	int64_t a = new_patient(), b = new_patient(), c = new_patient();
	int64_t appt, eb, ec;
	char when[32], status[16], offer[32];
	fd_status st;

	CHECK(up());
	CHECK(bookable("wl-c", "wl-c"));
	at(when, sizeof when, 2, "11:00");
	CHECK_MSG(book(a, "wl-c", "wl-c", when, &appt, &st) == FD_OK, "%s", st.message);
	CHECK_MSG(wait_add(b, "wl-c", 1, NULL, 0, &eb, &st) == FD_OK, "%s", st.message);
	CHECK_MSG(wait_add(c, "wl-c", 2, NULL, 0, &ec, &st) == FD_OK, "%s", st.message);
	CHECK_MSG(cancel(appt, &st) == FD_OK, "%s", st.message);
	Frontdesk__V1__RemoveWaitlistRequest req = FRONTDESK__V1__REMOVE_WAITLIST_REQUEST__INIT;
	req.entry_id = eb;
	CHECK_MSG(call(desk, "RemoveWaitlist", &req.base, &st) == FD_OK, "%s", st.message);
	CHECK(entry_state(eb, status, sizeof status, offer, sizeof offer) == 0);
	CHECK_STR(status, "removed");
	CHECK(entry_state(ec, status, sizeof status, offer, sizeof offer) == 0);
	CHECK_STR(status, "offered");
	CHECK_STR(offer, when);
}

static void a_freed_slot_goes_to_a_patient_waiting_for_another_type_that_fits(void)
{
	char *types[] = { "wl-x1", "wl-x2", "wl-x3" };
	int64_t a = new_patient(), b = new_patient(), long_wait = new_patient(), other = new_patient();
	int64_t appt, after, e_long, e_other, booked = 0;
	char when[32], next[32], status[16], offer[32], sql[200];
	fd_status st;

	CHECK(up());
	CHECK(bookable("wl-x", "wl-x1"));
	CHECK(also_offers("wl-x", types, 2, "wl-x2", 30));
	CHECK(also_offers("wl-x", types, 3, "wl-x3", 60));
	at(when, sizeof when, 2, "10:00");
	at(next, sizeof next, 2, "10:30");
	CHECK_MSG(book(a, "wl-x", "wl-x1", when, &appt, &st) == FD_OK, "%s", st.message);
	CHECK_MSG(book(b, "wl-x", "wl-x1", next, &after, &st) == FD_OK, "%s", st.message);
	/* The urgent entry needs an hour (10:30 is taken, so it cannot fit at
	 * 10:00); the routine one wants 30 minutes of another type. */
	CHECK_MSG(wait_add(long_wait, "wl-x3", 1, NULL, 0, &e_long, &st) == FD_OK, "%s", st.message);
	CHECK_MSG(wait_add(other, "wl-x2", 3, NULL, 0, &e_other, &st) == FD_OK, "%s", st.message);
	CHECK_MSG(cancel(appt, &st) == FD_OK, "%s", st.message);
	CHECK(entry_state(e_long, status, sizeof status, offer, sizeof offer) == 0);
	CHECK_STR(status, "waiting");
	CHECK(entry_state(e_other, status, sizeof status, offer, sizeof offer) == 0);
	CHECK_STR(status, "offered");
	CHECK_STR(offer, when);
	/* Accepting books the type the patient waited for. */
	CHECK_MSG(answer("AcceptOffer", e_other, &booked, &st) == FD_OK, "%s", st.message);
	snprintf(sql, sizeof sql,
		 "SELECT count(*) FROM appointments a JOIN appointment_types t ON t.id = a.type_id"
		 " WHERE a.id = %lld AND t.code = 'wl-x2' AND a.patient_id = %lld",
		 (long long)booked, (long long)other);
	CHECK_INT(tp_db_scalar(db, sql), 1);

	/* Freeing 10:30 too: 10:30-11:30 is free, so the hour fits there and
	 * goes to the urgent entry. */
	CHECK_MSG(cancel(after, &st) == FD_OK, "%s", st.message);
	CHECK(entry_state(e_long, status, sizeof status, offer, sizeof offer) == 0);
	CHECK_STR(status, "offered");
	CHECK_STR(offer, next);

	/* At equal priority the slot goes first to whoever waits for its own
	 * type, even when another type's request is older. */
	int64_t c = new_patient(), older = new_patient(), same = new_patient(), e_older, e_same;
	at(when, sizeof when, 3, "10:00");
	CHECK_MSG(book(c, "wl-x", "wl-x1", when, &appt, &st) == FD_OK, "%s", st.message);
	CHECK_MSG(wait_add(older, "wl-x2", 2, NULL, 0, &e_older, &st) == FD_OK, "%s", st.message);
	CHECK_MSG(wait_add(same, "wl-x1", 2, NULL, 0, &e_same, &st) == FD_OK, "%s", st.message);
	CHECK_MSG(cancel(appt, &st) == FD_OK, "%s", st.message);
	CHECK(entry_state(e_same, status, sizeof status, offer, sizeof offer) == 0);
	CHECK_STR(status, "offered");
	CHECK(entry_state(e_older, status, sizeof status, offer, sizeof offer) == 0);
	CHECK_STR(status, "waiting");
}

/* Two desks accepting the same offer at the same moment. */
struct racing_accept {
	pthread_t thread;
	fd_client *client;
	int64_t entry, appointment;
	int code;
};

static void *accept_thread(void *arg)
{
	struct racing_accept *a = arg;
	Frontdesk__V1__AcceptOfferRequest req = FRONTDESK__V1__ACCEPT_OFFER_REQUEST__INIT;
	ProtobufCMessage *rep = NULL;
	fd_status st;

	req.entry_id = a->entry;
	a->code = tp_call(a->client, SCHED_SVC, "AcceptOffer", &req.base, &rep, &st);
	if (a->code == FD_OK)
		a->appointment = ((Frontdesk__V1__AcceptOfferReply *)rep)->appointment->id;
	if (rep)
		protobuf_c_message_free_unpacked(rep, NULL);
	return NULL;
}

static void two_desks_accepting_at_once_book_once(void)
{
	struct racing_accept desks[2] = { 0 };
	int64_t appt, eb;
	char when[32], sql[200];
	fd_status st;

	CHECK(up());
	int64_t a = new_patient(), b = new_patient();
	CHECK(bookable("wl-g", "wl-g"));
	at(when, sizeof when, 7, "10:30");
	CHECK_MSG(book(a, "wl-g", "wl-g", when, &appt, &st) == FD_OK, "%s", st.message);
	CHECK_MSG(wait_add(b, "wl-g", 0, NULL, 0, &eb, &st) == FD_OK, "%s", st.message);
	CHECK_MSG(cancel(appt, &st) == FD_OK, "%s", st.message);
	for (int i = 0; i < 2; i++) {
		desks[i].client = login_as(i ? "reception2" : "reception1");
		desks[i].entry = eb;
		CHECK(desks[i].client);
	}
	for (int i = 0; i < 2; i++)
		pthread_create(&desks[i].thread, NULL, accept_thread, &desks[i]);
	for (int i = 0; i < 2; i++) {
		pthread_join(desks[i].thread, NULL);
		fd_client_close(desks[i].client);
	}
	CHECK_INT(desks[0].code, FD_OK);
	CHECK_INT(desks[1].code, FD_OK);
	CHECK_INT(desks[0].appointment, desks[1].appointment);
	snprintf(sql, sizeof sql,
		 "SELECT count(*) FROM appointments WHERE patient_id = %lld", (long long)b);
	CHECK_INT(tp_db_scalar(db, sql), 1);
}

static void a_rescheduled_appointments_old_slot_goes_to_the_waitlist(void)
{
	Frontdesk__V1__RescheduleRequest req = FRONTDESK__V1__RESCHEDULE_REQUEST__INIT;
	int64_t appt, eb;
	char old_at[32], new_at[32], status[16], offer[32];
	fd_status st;

	CHECK(up());
	int64_t a = new_patient(), b = new_patient();
	CHECK(bookable("wl-f", "wl-f"));
	at(old_at, sizeof old_at, 4, "09:00");
	at(new_at, sizeof new_at, 4, "09:30");
	CHECK_MSG(book(a, "wl-f", "wl-f", old_at, &appt, &st) == FD_OK, "%s", st.message);
	CHECK_MSG(wait_add(b, "wl-f", 0, NULL, 0, &eb, &st) == FD_OK, "%s", st.message);
	req.appointment_id = appt;
	req.at = new_at;
	CHECK_MSG(call(desk, "Reschedule", &req.base, &st) == FD_OK, "%s", st.message);
	CHECK(entry_state(eb, status, sizeof status, offer, sizeof offer) == 0);
	CHECK_STR(status, "offered");
	CHECK_STR(offer, old_at);
}

static void a_clinic_sets_how_long_an_offer_holds(void)
{
	Frontdesk__V1__SetOfferHoldRequest req = FRONTDESK__V1__SET_OFFER_HOLD_REQUEST__INIT;
	int64_t a = new_patient(), b = new_patient(), appt, eb;
	char when[32], sql[200];
	fd_status st;

	CHECK(up());
	req.location = "tst";
	req.minutes = 0;
	CHECK_INT(call(admin, "SetOfferHold", &req.base, &st), FD_INVALID_ARGUMENT);
	req.minutes = 10;
	CHECK_INT(call(desk, "SetOfferHold", &req.base, &st), FD_PERMISSION_DENIED);
	CHECK_MSG(call(admin, "SetOfferHold", &req.base, &st) == FD_OK, "%s", st.message);
	CHECK(bookable("wl-d", "wl-d"));
	at(when, sizeof when, 3, "09:30");
	CHECK_MSG(book(a, "wl-d", "wl-d", when, &appt, &st) == FD_OK, "%s", st.message);
	CHECK_MSG(wait_add(b, "wl-d", 0, NULL, 0, &eb, &st) == FD_OK, "%s", st.message);
	CHECK_MSG(cancel(appt, &st) == FD_OK, "%s", st.message);
	snprintf(sql, sizeof sql,
		 "SELECT count(*) FROM waitlist_offers WHERE entry_id = %lld AND status = 'open'"
		 " AND expires_at - created_at = interval '10 minutes'", (long long)eb);
	CHECK_INT(tp_db_scalar(db, sql), 1);
}

static void bad_waitlist_requests_get_clear_statuses(void)
{
	int64_t p = new_patient(), e;
	int32_t bad_day[] = { 8 }, twice[] = { 1, 1 };
	fd_status st;

	CHECK(up());
	CHECK(bookable("wl-e", "wl-e"));
	CHECK_INT(wait_add(999999999, "wl-e", 0, NULL, 0, &e, &st), FD_NOT_FOUND);
	CHECK_INT(wait_add(p, "no-such-type", 0, NULL, 0, &e, &st), FD_NOT_FOUND);
	CHECK_INT(wait_add(p, "wl-e", 6, NULL, 0, &e, &st), FD_INVALID_ARGUMENT);
	CHECK_INT(wait_add(p, "wl-e", 0, bad_day, 1, &e, &st), FD_INVALID_ARGUMENT);
	CHECK_INT(wait_add(p, "wl-e", 0, twice, 2, &e, &st), FD_INVALID_ARGUMENT);
	CHECK_INT(tp_db_scalar(db, "SELECT count(*) FROM waitlist_entries WHERE type_id ="
				   " (SELECT id FROM appointment_types WHERE code = 'wl-e')"), 0);
	CHECK_MSG(wait_add(p, "wl-e", 0, NULL, 0, &e, &st) == FD_OK, "%s", st.message);
	CHECK_INT(wait_add(p, "wl-e", 0, NULL, 0, NULL, &st), FD_ALREADY_EXISTS);
	CHECK_INT(answer("AcceptOffer", e, NULL, &st), FD_FAILED_PRECONDITION);
	CHECK_INT(answer("AcceptOffer", 999999999, NULL, &st), FD_NOT_FOUND);
}

/* --- an offer holds the rooms its type needs -------------------------- */

/* Book in a named room ("" lets the server choose). */
static int book_room(int64_t patient, const char *provider, const char *type, const char *when,
		     const char *room, int64_t *id, fd_status *st)
{
	Frontdesk__V1__BookRequest req = FRONTDESK__V1__BOOK_REQUEST__INIT;
	ProtobufCMessage *rep = NULL;

	req.patient_id = patient;
	req.provider = (char *)provider;
	req.type = (char *)type;
	req.at = (char *)when;
	req.room = (char *)room;
	int rc = tp_call(desk, SCHED_SVC, "Book", &req.base, &rep, st);
	if (rc == FD_OK && id)
		*id = ((Frontdesk__V1__BookReply *)rep)->appointment->id;
	if (rep)
		protobuf_c_message_free_unpacked(rep, NULL);
	return rc;
}

/* Open holds of the room `code` by the entry's open offer. */
static long long rooms_held(int64_t entry, const char *code)
{
	char sql[400];
	snprintf(sql, sizeof sql,
		 "SELECT count(*) FROM waitlist_offer_resources h"
		 " JOIN waitlist_offers o ON o.id = h.offer_id JOIN resources r ON r.id = h.resource_id"
		 " WHERE o.entry_id = %lld AND o.status = 'open' AND h.active AND r.code = '%s'",
		 (long long)entry, code);
	return tp_db_scalar(db, sql);
}

/* Whether ListWaitlist shows the entry's open offer holding room `code`. */
static bool offer_room_listed(int64_t entry, const char *code)
{
	Frontdesk__V1__ListWaitlistRequest req = FRONTDESK__V1__LIST_WAITLIST_REQUEST__INIT;
	ProtobufCMessage *rep = NULL;
	fd_status st;
	bool listed = false;

	req.location = "tst";
	if (tp_call(desk, SCHED_SVC, "ListWaitlist", &req.base, &rep, &st) != FD_OK)
		return false;
	Frontdesk__V1__ListWaitlistReply *r = (void *)rep;
	for (size_t i = 0; i < r->n_entries; i++)
		for (size_t k = 0; r->entries[i]->id == entry && k < r->entries[i]->n_offer_rooms; k++)
			listed |= strcmp(r->entries[i]->offer_rooms[k], code) == 0;
	protobuf_c_message_free_unpacked(rep, NULL);
	return listed;
}

/* Whether the appointment holds the room `code`. */
static long long appointment_in(int64_t appointment, const char *code)
{
	char sql[300];
	snprintf(sql, sizeof sql,
		 "SELECT count(*) FROM appointment_resources ar JOIN resources r ON r.id = ar.resource_id"
		 " WHERE ar.appointment_id = %lld AND ar.active AND r.code = '%s'",
		 (long long)appointment, code);
	return tp_db_scalar(db, sql);
}

/* Two providers, each with a type needing the clinic's only 'wl_proc'
 * room: a slot offered to one's waitlist holds the room, so the other
 * cannot have it at that time until the offer is accepted or runs out. */
static void an_offer_holds_the_room_its_type_needs(void)
{
	int64_t a = new_patient(), b = new_patient(), other = new_patient();
	int64_t appt, eb, booked = 0, refused = 0;
	char when[32], status[16], offer[32];
	fd_status st;

	CHECK(up());
	CHECK(bookable("wl-r", "wl-r1"));
	CHECK(bookable("wl-r2", "wl-r2"));
	CHECK(tp_db_exec(db, "INSERT INTO resources (location_id, code, name, kind) SELECT id,"
			     " 'wl-proc-1', 'Procedure room', 'wl_proc' FROM locations WHERE code = 'tst'") == 0);
	CHECK(tp_db_exec(db, "UPDATE appointment_types SET resource_kinds = '{wl_proc}'"
			     " WHERE code IN ('wl-r1', 'wl-r2')") == 0);
	at(when, sizeof when, 9, "09:00");
	CHECK_MSG(book(a, "wl-r", "wl-r1", when, &appt, &st) == FD_OK, "%s", st.message);
	CHECK_INT(appointment_in(appt, "wl-proc-1"), 1);
	CHECK_MSG(wait_add(b, "wl-r1", 0, NULL, 0, &eb, &st) == FD_OK, "%s", st.message);
	CHECK_MSG(cancel(appt, &st) == FD_OK, "%s", st.message);
	CHECK(entry_state(eb, status, sizeof status, offer, sizeof offer) == 0);
	CHECK_STR(status, "offered");
	CHECK_INT(rooms_held(eb, "wl-proc-1"), 1);
	CHECK(offer_room_listed(eb, "wl-proc-1")); /* the desk sees which room */

	/* The other provider is free at that time, the room is not. */
	CHECK(!slot_listed("wl-r2", "wl-r2", when));
	CHECK_INT(book(other, "wl-r2", "wl-r2", when, &refused, &st), FD_ALREADY_EXISTS);
	CHECK_MSG(strstr(st.message, "held for a waitlist patient until"), "%s", st.message);
	CHECK_INT(book_room(other, "wl-r2", "wl-r2", when, "wl-proc-1", &refused, &st), FD_ALREADY_EXISTS);
	CHECK_MSG(strstr(st.message, "held for a waitlist patient until"), "%s", st.message);

	/* Accepting books the held room and releases the hold. */
	CHECK_MSG(answer("AcceptOffer", eb, &booked, &st) == FD_OK, "%s", st.message);
	CHECK_INT(appointment_in(booked, "wl-proc-1"), 1);
	CHECK_INT(tp_db_scalar(db, "SELECT count(*) FROM waitlist_offer_resources h"
				   " JOIN resources r ON r.id = h.resource_id"
				   " WHERE r.code = 'wl-proc-1' AND h.active"), 0);
}

static void an_expired_offer_releases_its_room(void)
{
	int64_t a = new_patient(), b = new_patient(), other = new_patient();
	int64_t appt, eb, booked = 0;
	char when[32], status[16], offer[32], sql[200];
	fd_status st;

	CHECK(up());
	CHECK(tp_db_scalar(db, "SELECT count(*) FROM resources WHERE code = 'wl-proc-1'") == 1);
	at(when, sizeof when, 9, "10:00");
	CHECK_MSG(book(a, "wl-r", "wl-r1", when, &appt, &st) == FD_OK, "%s", st.message);
	CHECK_MSG(wait_add(b, "wl-r1", 0, NULL, 0, &eb, &st) == FD_OK, "%s", st.message);
	CHECK_MSG(cancel(appt, &st) == FD_OK, "%s", st.message);
	CHECK_INT(rooms_held(eb, "wl-proc-1"), 1);
	CHECK(!slot_listed("wl-r2", "wl-r2", when));

	/* The database keeps a second hold off the same room and time. */
	CHECK(tp_db_exec(db, "INSERT INTO waitlist_offer_resources (offer_id, resource_id,"
			     " blocked_from, blocked_until)"
			     " SELECT (SELECT min(id) FROM waitlist_offers), h.resource_id, h.blocked_from,"
			     "  h.blocked_until FROM waitlist_offer_resources h WHERE h.active") != 0);

	snprintf(sql, sizeof sql,
		 "UPDATE waitlist_offers SET expires_at = now() - interval '1 second'"
		 " WHERE entry_id = %lld AND status = 'open'", (long long)eb);
	CHECK(tp_db_exec(db, sql) == 0);
	for (int i = 0; i < 100; i++) {
		CHECK(entry_state(eb, status, sizeof status, offer, sizeof offer) == 0);
		if (strcmp(status, "waiting") == 0)
			break;
		e2e_sleep_ms(100);
	}
	CHECK_STR(status, "waiting");
	CHECK_INT(rooms_held(eb, "wl-proc-1"), 0);
	CHECK(slot_listed("wl-r2", "wl-r2", when));
	CHECK_MSG(book(other, "wl-r2", "wl-r2", when, &booked, &st) == FD_OK, "%s", st.message);
	CHECK_INT(appointment_in(booked, "wl-proc-1"), 1);
	/* b leaves the list, so the next case's slot goes to its own entry. */
	Frontdesk__V1__RemoveWaitlistRequest req = FRONTDESK__V1__REMOVE_WAITLIST_REQUEST__INIT;
	req.entry_id = eb;
	CHECK_MSG(call(desk, "RemoveWaitlist", &req.base, &st) == FD_OK, "%s", st.message);
}

/* With a second room of the kind, a booking may still take the free one,
 * but not the held one by name; the accept gets the held one. */
static void a_held_room_is_refused_by_name_and_never_picked(void)
{
	int64_t a = new_patient(), b = new_patient(), other = new_patient();
	int64_t appt, eb, booked = 0, mine = 0;
	char when[32];
	fd_status st;

	CHECK(up());
	CHECK(tp_db_exec(db, "INSERT INTO resources (location_id, code, name, kind) SELECT id,"
			     " 'wl-proc-2', 'Second procedure room', 'wl_proc' FROM locations"
			     " WHERE code = 'tst'") == 0);
	at(when, sizeof when, 9, "11:00");
	CHECK_MSG(book(a, "wl-r", "wl-r1", when, &appt, &st) == FD_OK, "%s", st.message);
	CHECK_INT(appointment_in(appt, "wl-proc-1"), 1);
	CHECK_MSG(wait_add(b, "wl-r1", 0, NULL, 0, &eb, &st) == FD_OK, "%s", st.message);
	CHECK_MSG(cancel(appt, &st) == FD_OK, "%s", st.message);
	CHECK_INT(rooms_held(eb, "wl-proc-1"), 1);

	CHECK_INT(book_room(other, "wl-r2", "wl-r2", when, "wl-proc-1", NULL, &st), FD_ALREADY_EXISTS);
	CHECK_MSG(strstr(st.message, "that room is held for a waitlist patient until"), "%s", st.message);
	CHECK_MSG(book(other, "wl-r2", "wl-r2", when, &mine, &st) == FD_OK, "%s", st.message);
	CHECK_INT(appointment_in(mine, "wl-proc-2"), 1);
	CHECK_MSG(answer("AcceptOffer", eb, &booked, &st) == FD_OK, "%s", st.message);
	CHECK_INT(appointment_in(booked, "wl-proc-1"), 1);
}

/* --- recurring ------------------------------------------------------- */

static int book_series(int64_t patient, const char *first, bool partial,
		       Frontdesk__V1__BookReply **out, fd_status *st)
{
	Frontdesk__V1__BookRequest req = FRONTDESK__V1__BOOK_REQUEST__INIT;
	ProtobufCMessage *rep = NULL;

	req.patient_id = patient;
	req.provider = "rec";
	req.type = "rec";
	req.at = (char *)first;
	req.repeat = "weekly";
	req.count = 4;
	req.partial = partial;
	int rc = tp_call(desk, SCHED_SVC, "Book", &req.base, &rep, st);
	*out = (void *)rep;
	return rc;
}

static long long active_for(int64_t patient)
{
	char sql[160];
	snprintf(sql, sizeof sql,
		 "SELECT count(*) FROM appointments WHERE patient_id = %lld AND status = 'booked'",
		 (long long)patient);
	return tp_db_scalar(db, sql);
}

static void a_weekly_series_with_one_conflict_is_all_or_nothing_or_partial(void)
{
	int64_t other = new_patient(), p = new_patient();
	char first[32], third[32];
	Frontdesk__V1__BookReply *r = NULL;
	fd_status st;

	CHECK(up());
	CHECK(bookable("rec", "rec"));
	at(first, sizeof first, 0, "10:00");
	at(third, sizeof third, 14, "10:00");
	CHECK_MSG(book(other, "rec", "rec", third, NULL, &st) == FD_OK, "%s", st.message);

	/* All or nothing: refused whole, naming the occurrence. */
	CHECK_INT(book_series(p, first, false, &r, &st), FD_ALREADY_EXISTS);
	CHECK_MSG(strstr(st.message, "occurrence 3") && strstr(st.message, "nothing was booked"),
		  "%s", st.message);
	CHECK_INT(active_for(p), 0);

	/* Partial: three booked at the same wall-clock time, the third
	 * reported with alternatives. */
	CHECK_MSG(book_series(p, first, true, &r, &st) == FD_OK, "%s", st.message);
	CHECK_INT(r->n_occurrences, 4);
	for (size_t i = 0; i < 4; i++) {
		Frontdesk__V1__Occurrence *o = r->occurrences[i];
		CHECK_INT(o->index, (int)i + 1);
		CHECK_MSG(strcmp(o->starts_local + 10, " 10:00") == 0, "%s", o->starts_local);
		if (i == 2) {
			CHECK_STR(o->starts_local, third);
			CHECK(!o->appointment);
			CHECK_STR(o->status, "ALREADY_EXISTS");
			CHECK_MSG(strncmp(o->next_free, third, 10) == 0, "next free: %s", o->next_free);
		} else {
			CHECK(o->appointment);
			CHECK_STR(o->status, "OK");
			CHECK_STR(o->appointment->starts_local, o->starts_local);
		}
	}
	CHECK_INT(r->appointment->id, r->occurrences[0]->appointment->id);
	protobuf_c_message_free_unpacked(&r->base, NULL);
	CHECK_INT(active_for(p), 3);
	CHECK_INT(active_for(other), 1);
}

static void bad_series_requests_are_refused(void)
{
	Frontdesk__V1__BookRequest req = FRONTDESK__V1__BOOK_REQUEST__INIT;
	int64_t p = new_patient();
	char first[32];
	fd_status st;

	CHECK(up());
	at(first, sizeof first, 1, "09:00");
	req.patient_id = p;
	req.provider = "rec";
	req.type = "rec";
	req.at = first;
	req.repeat = "monthly";
	req.count = 3;
	CHECK_INT(call(desk, "Book", &req.base, &st), FD_INVALID_ARGUMENT);
	req.repeat = "weekly";
	req.count = 53;
	CHECK_INT(call(desk, "Book", &req.base, &st), FD_INVALID_ARGUMENT);
	req.count = 3;
	req.patient_id = 999999999;
	req.partial = true;
	CHECK_INT(call(desk, "Book", &req.base, &st), FD_NOT_FOUND);
	CHECK_INT(active_for(p), 0);
}

static void the_server_exits_cleanly(void)
{
	CHECK(up());
	fd_client_close(admin);
	fd_client_close(desk);
	e2e_stop(&srv);
}

TH_MAIN(TH_CASE(cancel_frees_the_slot_and_offers_it_to_the_waitlist),
	TH_CASE(a_held_slot_is_neither_found_nor_bookable_by_others),
	TH_CASE(accepting_an_offer_books_it_exactly_once),
	TH_CASE(two_desks_accepting_at_once_book_once),
	TH_CASE(an_expired_offer_moves_on_and_a_declined_one_too),
	TH_CASE(a_removed_entry_passes_its_offer_on),
	TH_CASE(a_freed_slot_goes_to_a_patient_waiting_for_another_type_that_fits),
	TH_CASE(a_rescheduled_appointments_old_slot_goes_to_the_waitlist),
	TH_CASE(a_clinic_sets_how_long_an_offer_holds),
	TH_CASE(bad_waitlist_requests_get_clear_statuses),
	TH_CASE(an_offer_holds_the_room_its_type_needs),
	TH_CASE(an_expired_offer_releases_its_room),
	TH_CASE(a_held_room_is_refused_by_name_and_never_picked),
	TH_CASE(a_weekly_series_with_one_conflict_is_all_or_nothing_or_partial),
	TH_CASE(bad_series_requests_are_refused),
	TH_CASE(the_server_exits_cleanly))
