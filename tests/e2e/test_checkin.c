/*
 * Check-in end to end, against the real frontdeskd: checking in booked
 * appointments and walk-ins, every step of the flow and every refused one,
 * readiness gaps and their override, eight desks racing to check in one
 * appointment, the waiting-room board's order and flags, directing a
 * patient to a room (and the provider's station hearing of it), payments,
 * receipts, voids and refunds, balances, the day's ledger reconciling to
 * the cent, the no-show sweep, and the audit rows of all of it.
 *
 * Appointments are inserted straight into the database around "now" at a
 * test location whose zone puts the local clock near noon, so every case
 * sees "today" whatever the time of day it runs. Each case uses its own
 * patients, so cases never see each other's visits.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "e2e.h"
#include "handlers/checkin.h"
#include "frontdesk/v1/checkin.pb-c.h"

#define CHECKIN_SVC (&frontdesk__v1__checkin__descriptor)

static tp_server srv;
static char db[64];
static fd_client *admin, *desk, *billing;

static fd_client *login_as(const char *user, const char *desk_code)
{
	fd_client *c = tp_client(&srv);
	if (tp_login(c, user, desk_code) != FD_OK) {
		fd_client_close(c);
		return NULL;
	}
	return c;
}

/* A zone whose local time is near noon now: UTC+N as Etc/GMT-N. */
static bool up(void)
{
	if (srv.pid > 0)
		return true;
	if (!e2e_start(&srv, db, sizeof db, "checkin", NULL))
		return false;
	long long hour = tp_db_scalar(db, "SELECT extract(hour FROM now() AT TIME ZONE 'UTC')::int");
	long long offset = 12 - hour;
	char zone[32], sql[1400];
	if (offset == 0)
		snprintf(zone, sizeof zone, "UTC");
	else
		snprintf(zone, sizeof zone, "Etc/GMT%c%lld", offset > 0 ? '-' : '+',
			 offset > 0 ? offset : -offset);
	snprintf(sql, sizeof sql,
		 "INSERT INTO locations (code, name, time_zone) VALUES ('tst', 'Test clinic', '%s');"
		 "INSERT INTO desks (code, name, location_id) SELECT 'tst-1', 'Test desk 1', id"
		 "  FROM locations WHERE code = 'tst';"
		 "INSERT INTO desks (code, name, location_id) SELECT 'tst-2', 'Test desk 2', id"
		 "  FROM locations WHERE code = 'tst';"
		 "INSERT INTO providers (code, display_name) VALUES ('tdoc', 'Dr. Test'), ('tdoc2', 'Dr. Two');"
		 "INSERT INTO provider_locations SELECT p.id, l.id FROM providers p, locations l"
		 "  WHERE p.code IN ('tdoc', 'tdoc2') AND l.code = 'tst';"
		 "INSERT INTO appointment_types (code, name, duration_min) VALUES ('tst-visit', 'Test visit', 20);"
		 "INSERT INTO resources (location_id, code, name, kind) SELECT id, c, c, 'exam_room'"
		 "  FROM locations, unnest(ARRAY['tst-room1', 'tst-room2', 'tst-room3', 'tst-room4']) c WHERE code = 'tst';"
		 "INSERT INTO checkin_settings (location_id, late_after_min, no_show_after_min,"
		 "  no_show_sweep_at, alert_checked_in_min) SELECT id, 10, 30, '00:00', 20"
		 "  FROM locations WHERE code = 'tst';",
		 zone);
	if (tp_db_exec(db, sql) != 0)
		return false;
	admin = login_as("admin", "tst-1");
	desk = login_as("reception1", "tst-1");
	billing = login_as("billing1", "tst-2");
	return admin && desk && billing;
}

static int64_t new_patient(const char *family)
{
	char sql[256];
	snprintf(sql, sizeof sql,
		 "INSERT INTO patients (family_name, given_name, date_of_birth)"
		 " VALUES ('%s', 'Pat', '1980-01-01') RETURNING id",
		 family);
	return tp_db_scalar(db, sql);
}

/* A patient with every form in use completed and a verified primary policy
 * that expects a copay of copay_cents for 'tst-visit'. */
static int64_t ready_patient(const char *family, int copay_cents)
{
	int64_t id = new_patient(family);
	char sql[1400];
	snprintf(sql, sizeof sql,
		 "INSERT INTO intake_completions (patient_id, form_id, recorded_by)"
		 " SELECT %lld, f.id, (SELECT id FROM staff WHERE username = 'admin') FROM intake_forms f"
		 " WHERE f.in_use_from <= current_date AND (f.in_use_until IS NULL OR f.in_use_until >= current_date);"
		 "WITH p AS (INSERT INTO insurance_policies (patient_id, payer, member_id, priority,"
		 "  effective_from, last_verified_at, last_verified_by) VALUES (%lld, 'Acme Health', 'M-1',"
		 "  'primary', current_date - 30, now(), (SELECT id FROM staff WHERE username = 'admin'))"
		 "  RETURNING id)"
		 " INSERT INTO insurance_copays (policy_id, visit_type, copay_cents)"
		 " SELECT id, 'tst-visit', %d FROM p",
		 (long long)id, (long long)id, copay_cents);
	return tp_db_exec(db, sql) == 0 ? id : -1;
}

/* An appointment for patient starting `minutes` from now (negative: in
 * the past), with status. Overbooked so test appointments never collide. */
static int64_t appointment(int64_t patient, int minutes, const char *status)
{
	char sql[1024];
	snprintf(sql, sizeof sql,
		 "SELECT set_config('frontdesk.reason', 'test', false);"
		 "INSERT INTO appointments (patient_id, provider_id, location_id, type_id, starts_at,"
		 " ends_at, blocked_from, blocked_until, status, overbooked, overbook_reason, cancel_reason)"
		 " SELECT %lld, p.id, l.id, t.id, now() + interval '%d min', now() + interval '%d min',"
		 " now() + interval '%d min', now() + interval '%d min', '%s', true, 'test',"
		 " CASE WHEN '%s' = 'cancelled' THEN 'patient' END"
		 " FROM providers p, locations l, appointment_types t"
		 " WHERE p.code = 'tdoc' AND l.code = 'tst' AND t.code = 'tst-visit' RETURNING id",
		 (long long)patient, minutes, minutes + 20, minutes, minutes + 20, status, status);
	PGconn *c = tp_db_connect(db);
	PGresult *r = PQexec(c, sql);
	int64_t id = PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) == 1
			     ? atoll(PQgetvalue(r, 0, 0))
			     : -1;
	if (id < 0)
		printf("appointment insert failed: %s\n", PQerrorMessage(c));
	PQclear(r);
	PQfinish(c);
	return id;
}

/* The first value of a query built from a format (ids only). */
static long long scalar_of(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static long long scalar_of(const char *fmt, ...)
{
	char sql[1024];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(sql, sizeof sql, fmt, ap);
	va_end(ap);
	return tp_db_scalar(db, sql);
}
#define scalar(fmt, id) scalar_of(fmt, (long long)(id))

static int call(fd_client *c, const char *method, const ProtobufCMessage *req, ProtobufCMessage **rep,
		fd_status *st)
{
	*rep = NULL;
	return tp_call(c, CHECKIN_SVC, method, req, rep, st);
}

static void drop(ProtobufCMessage *m)
{
	if (m)
		protobuf_c_message_free_unpacked(m, NULL);
}

/* Checks in an appointment; returns the visit id or 0 (st says why). */
static int64_t check_in(fd_client *c, int64_t appt, const char *override, bool arrived_only,
			fd_status *st)
{
	Frontdesk__V1__CheckInRequest req = FRONTDESK__V1__CHECK_IN_REQUEST__INIT;
	ProtobufCMessage *rep;

	req.appointment_id = appt;
	req.arrived_only = arrived_only;
	req.override_readiness = override != NULL;
	req.override_reason = (char *)(override ? override : "");
	if (call(c, "CheckIn", &req.base, &rep, st) != FD_OK)
		return 0;
	int64_t id = ((Frontdesk__V1__CheckInReply *)rep)->visit->id;
	drop(rep);
	return id;
}

static int set_status(int64_t visit, const char *status, const char *reason, fd_status *st)
{
	Frontdesk__V1__SetVisitStatusRequest req = FRONTDESK__V1__SET_VISIT_STATUS_REQUEST__INIT;
	ProtobufCMessage *rep;

	req.visit_id = visit;
	req.status = (char *)status;
	req.reason = (char *)(reason ? reason : "");
	int rc = call(desk, "SetVisitStatus", &req.base, &rep, st);
	drop(rep);
	return rc;
}

static int room(int64_t visit, const char *room_code, const char *provider, fd_status *st)
{
	Frontdesk__V1__AssignRoomRequest req = FRONTDESK__V1__ASSIGN_ROOM_REQUEST__INIT;
	ProtobufCMessage *rep;

	req.visit_id = visit;
	req.room = (char *)room_code;
	req.provider = (char *)(provider ? provider : "");
	int rc = call(desk, "AssignRoom", &req.base, &rep, st);
	drop(rep);
	return rc;
}

static char *appt_status(int64_t appt)
{
	static char buf[32];
	char sql[128];
	snprintf(sql, sizeof sql, "SELECT status FROM appointments WHERE id = %lld", (long long)appt);
	PGconn *c = tp_db_connect(db);
	PGresult *r = PQexec(c, sql);
	snprintf(buf, sizeof buf, "%s", PQntuples(r) == 1 ? PQgetvalue(r, 0, 0) : "?");
	PQclear(r);
	PQfinish(c);
	return buf;
}

/* --- check-in -------------------------------------------------------- */

static void checking_in_a_booked_appointment_records_arrival_copay_and_who(void)
{
	fd_status st;
	ProtobufCMessage *rep;
	CHECK(up());
	int64_t pat = ready_patient("Arrival", 2500);
	int64_t appt = appointment(pat, -25, "booked");
	Frontdesk__V1__CheckInRequest req = FRONTDESK__V1__CHECK_IN_REQUEST__INIT;
	req.appointment_id = appt;
	CHECK_INT(call(desk, "CheckIn", &req.base, &rep, &st), FD_OK);
	if (!rep)
		return;
	Frontdesk__V1__CheckInReply *r = (void *)rep;
	CHECK_STR(r->visit->status, "checked_in");
	CHECK_INT(r->visit->appointment_id, appt);
	CHECK(!r->visit->walk_in);
	CHECK(r->readiness_checked);
	CHECK_INT(r->n_readiness_gaps, 0);
	CHECK(r->visit->arrival_offset_min >= 24 && r->visit->arrival_offset_min <= 26);
	CHECK(r->visit->late); /* 25 min against a late_after_min of 10 */
	CHECK_INT(r->visit->expected_copay_cents, 2500);
	CHECK_INT(r->balance_cents, 2500);
	CHECK_STR(r->visit->checked_in_by, "reception1");
	CHECK_STR(r->visit->provider, "tdoc");
	CHECK_STR(appt_status(appt), "checked_in");
	CHECK_INT(scalar("SELECT count(*) FROM visit_steps s JOIN staff st ON st.id = s.staff_id"
			 " JOIN desks d ON d.id = s.desk_id WHERE s.visit_id = %lld AND st.username ="
			 " 'reception1' AND d.code = 'tst-1' AND s.to_status = 'checked_in'",
			 r->visit->id),
		  1);
	drop(rep);

	/* Early arrival: recorded as a negative offset, not late. */
	int64_t pat2 = ready_patient("Early", 0);
	int64_t appt2 = appointment(pat2, 15, "confirmed");
	req.appointment_id = appt2;
	CHECK_INT(call(desk, "CheckIn", &req.base, &rep, &st), FD_OK);
	if (rep) {
		r = (void *)rep;
		CHECK(r->visit->arrival_offset_min <= -14 && r->visit->arrival_offset_min >= -16);
		CHECK(!r->visit->late);
		CHECK_INT(r->visit->expected_copay_cents, 0);
		drop(rep);
	}
}

static void readiness_gaps_block_check_in_unless_overridden_with_a_reason(void)
{
	fd_status st;
	CHECK(up());
	int64_t pat = new_patient("Unready"); /* no forms, no insurance */
	int64_t appt = appointment(pat, -5, "booked");

	CHECK_INT(check_in(desk, appt, NULL, false, &st), 0);
	CHECK_INT(st.code, FD_FAILED_PRECONDITION);
	CHECK(strstr(st.message, "insurance_missing") != NULL);
	CHECK(strstr(st.message, "override") != NULL);
	CHECK_INT(scalar("SELECT count(*) FROM visits WHERE appointment_id = %lld", appt), 0);
	CHECK_STR(appt_status(appt), "booked");

	CHECK_INT(check_in(desk, appt, "", false, &st), 0);
	CHECK_INT(st.code, FD_INVALID_ARGUMENT);

	int64_t visit = check_in(desk, appt, "patient in pain, forms after", false, &st);
	CHECK(visit > 0);
	CHECK_INT(scalar("SELECT count(*) FROM visits WHERE id = %lld AND override_reason ="
			 " 'patient in pain, forms after' AND 'insurance_missing' = ANY (readiness_gaps)",
			 visit),
		  1);
}

static void a_walk_in_gets_a_visit_without_an_appointment(void)
{
	fd_status st;
	ProtobufCMessage *rep;
	CHECK(up());
	int64_t pat = ready_patient("Walkin", 4000);
	Frontdesk__V1__CheckInRequest req = FRONTDESK__V1__CHECK_IN_REQUEST__INIT;
	req.walk_in_patient_id = pat;
	req.provider = "tdoc2";
	req.type = "tst-visit";
	CHECK_INT(call(desk, "CheckIn", &req.base, &rep, &st), FD_OK);
	if (!rep)
		return;
	Frontdesk__V1__CheckInReply *r = (void *)rep;
	CHECK(r->visit->walk_in);
	CHECK_INT(r->visit->appointment_id, 0);
	CHECK_STR(r->visit->location, "tst"); /* the desk's location */
	CHECK_STR(r->visit->provider, "tdoc2");
	CHECK_INT(r->visit->expected_copay_cents, 4000);
	CHECK(!r->visit->late);
	drop(rep);
	CHECK_INT(scalar("SELECT count(*) FROM appointments WHERE patient_id = %lld", pat), 0);

	/* The same patient cannot be checked in twice. */
	CHECK_INT(call(desk, "CheckIn", &req.base, &rep, &st), FD_ALREADY_EXISTS);
	CHECK(strstr(st.message, "reception1") != NULL);
	/* Unknown patient, unknown provider, both ids, neither. */
	req.walk_in_patient_id = 999999999;
	CHECK_INT(call(desk, "CheckIn", &req.base, &rep, &st), FD_NOT_FOUND);
	req.walk_in_patient_id = new_patient("Walkin2");
	req.provider = "nobody";
	CHECK_INT(call(desk, "CheckIn", &req.base, &rep, &st), FD_NOT_FOUND);
	req.appointment_id = 1;
	CHECK_INT(call(desk, "CheckIn", &req.base, &rep, &st), FD_INVALID_ARGUMENT);
	req.appointment_id = 0;
	req.walk_in_patient_id = 0;
	CHECK_INT(call(desk, "CheckIn", &req.base, &rep, &st), FD_INVALID_ARGUMENT);
}

static void appointments_that_cannot_be_checked_in_are_refused(void)
{
	fd_status st;
	CHECK(up());
	int64_t pat = ready_patient("Refused", 0);

	CHECK_INT(check_in(desk, appointment(pat, -5, "cancelled"), NULL, false, &st), 0);
	CHECK_INT(st.code, FD_FAILED_PRECONDITION);
	CHECK(strstr(st.message, "cancelled") != NULL);
	CHECK_INT(check_in(desk, appointment(pat, 3 * 24 * 60, "booked"), NULL, false, &st), 0);
	CHECK_INT(st.code, FD_FAILED_PRECONDITION);
	CHECK(strstr(st.message, "not today") != NULL);
	CHECK_INT(check_in(desk, 987654321, NULL, false, &st), 0);
	CHECK_INT(st.code, FD_NOT_FOUND);
	char long_reason[700];
	memset(long_reason, 'x', sizeof long_reason - 1);
	long_reason[sizeof long_reason - 1] = 0;
	CHECK_INT(check_in(desk, appointment(pat, -5, "booked"), long_reason, false, &st), 0);
	CHECK_INT(st.code, FD_INVALID_ARGUMENT);
	CHECK_INT(check_in(desk, appointment(pat, -5, "booked"), "bad\x1b[2Jreason", false, &st), 0);
	CHECK_INT(st.code, FD_INVALID_ARGUMENT);
	CHECK_INT(scalar("SELECT count(*) FROM visits WHERE patient_id = %lld", pat), 0);
}

/* --- the flow -------------------------------------------------------- */

static void every_flow_step_is_stamped_and_moves_the_appointment(void)
{
	fd_status st;
	CHECK(up());
	int64_t pat = ready_patient("Flow", 0);
	int64_t appt = appointment(pat, -2, "booked");
	int64_t v = check_in(desk, appt, NULL, true, &st);
	CHECK(v > 0);
	CHECK_STR(appt_status(appt), "arrived");
	CHECK_INT(set_status(v, "checked_in", NULL, &st), FD_OK);
	CHECK_STR(appt_status(appt), "checked_in");
	CHECK_INT(room(v, "tst-room1", "tdoc", &st), FD_OK);
	CHECK_STR(appt_status(appt), "in_room");
	CHECK_INT(set_status(v, "with_provider", NULL, &st), FD_OK);
	CHECK_INT(set_status(v, "in_room", "provider stepped out", &st), FD_OK);
	CHECK_INT(set_status(v, "with_provider", NULL, &st), FD_OK);
	CHECK_INT(set_status(v, "checked_out", NULL, &st), FD_OK);
	CHECK_STR(appt_status(appt), "completed");
	CHECK_INT(scalar("SELECT count(*) FROM visit_steps WHERE visit_id = %lld AND staff_id IS NOT NULL"
			 " AND desk_id IS NOT NULL",
			 v),
		  7);
	CHECK_INT(scalar("SELECT count(*) FROM visit_steps WHERE visit_id = %lld"
			 " AND reason = 'provider stepped out' AND to_status = 'in_room'",
			 v),
		  1);
	CHECK_INT(scalar("SELECT count(*) FROM visits WHERE id = %lld AND closed_at IS NOT NULL", v), 1);
	/* The room is free again. */
	int64_t v2 = check_in(desk, appointment(ready_patient("Flow2", 0), -1, "booked"), NULL, false, &st);
	CHECK_INT(room(v2, "tst-room1", NULL, &st), FD_OK);

	/* GetVisit shows the steps in order. */
	Frontdesk__V1__GetVisitRequest req = FRONTDESK__V1__GET_VISIT_REQUEST__INIT;
	ProtobufCMessage *rep;
	req.visit_id = v;
	CHECK_INT(call(desk, "GetVisit", &req.base, &rep, &st), FD_OK);
	if (rep) {
		Frontdesk__V1__GetVisitReply *g = (void *)rep;
		CHECK_INT(g->n_steps, 7);
		if (g->n_steps == 7) {
			CHECK_STR(g->steps[0]->to_status, "arrived");
			CHECK_STR(g->steps[2]->room, "tst-room1");
			CHECK_STR(g->steps[6]->to_status, "checked_out");
			CHECK_STR(g->steps[6]->by, "reception1");
			CHECK_STR(g->steps[6]->desk, "tst-1");
		}
		CHECK_INT(g->visit->n_next_statuses, 0);
		drop(rep);
	}
}

static void impossible_steps_are_refused_naming_the_allowed_ones(void)
{
	fd_status st;
	CHECK(up());
	int64_t v = check_in(desk, appointment(ready_patient("Refuse", 0), -2, "booked"), NULL, false, &st);
	CHECK(v > 0);
	CHECK_INT(set_status(v, "with_provider", NULL, &st), FD_FAILED_PRECONDITION);
	CHECK(strstr(st.message, "allowed: in_room, left_without_being_seen, undone") != NULL);
	CHECK_INT(set_status(v, "checked_out", NULL, &st), FD_FAILED_PRECONDITION);
	CHECK_INT(set_status(v, "arrived", NULL, &st), FD_FAILED_PRECONDITION);
	/* in_room needs a room: the flow allows it but the desk must say which. */
	CHECK_INT(set_status(v, "in_room", NULL, &st), FD_FAILED_PRECONDITION);
	CHECK(strstr(st.message, "room") != NULL);
	CHECK_INT(set_status(v, "sleeping", NULL, &st), FD_INVALID_ARGUMENT);
	CHECK_INT(set_status(424242, "checked_in", NULL, &st), FD_NOT_FOUND);
	/* with_provider needs a provider on the visit: a walk-in without one. */
	Frontdesk__V1__CheckInRequest req = FRONTDESK__V1__CHECK_IN_REQUEST__INIT;
	ProtobufCMessage *rep;
	req.walk_in_patient_id = ready_patient("NoDoc", 0);
	CHECK_INT(call(desk, "CheckIn", &req.base, &rep, &st), FD_OK);
	if (rep) {
		int64_t w = ((Frontdesk__V1__CheckInReply *)rep)->visit->id;
		drop(rep);
		CHECK_INT(room(w, "tst-room3", NULL, &st), FD_OK);
		CHECK_INT(set_status(w, "with_provider", NULL, &st), FD_FAILED_PRECONDITION);
		CHECK(strstr(st.message, "provider") != NULL);
		/* A taken room is refused, naming the visit in it. */
		CHECK_INT(room(v, "tst-room3", NULL, &st), FD_FAILED_PRECONDITION);
		CHECK(strstr(st.message, "taken") != NULL);
		CHECK_INT(room(v, "no-such-room", NULL, &st), FD_NOT_FOUND);
	}
	/* The database refuses the same moves on its own. */
	char sql[128];
	snprintf(sql, sizeof sql, "UPDATE visits SET status = 'checked_out' WHERE id = %lld", (long long)v);
	CHECK(tp_db_exec(db, sql) != 0);
	CHECK_STR(appt_status(scalar("SELECT appointment_id FROM visits WHERE id = %lld", v)), "checked_in");
	/* A closed visit moves nowhere. */
	CHECK_INT(set_status(v, "left_without_being_seen", "waited too long", &st), FD_OK);
	CHECK_INT(set_status(v, "checked_in", NULL, &st), FD_FAILED_PRECONDITION);
	CHECK(strstr(st.message, "closed") != NULL);
	CHECK_INT(set_status(v, "undone", "oops", &st), FD_FAILED_PRECONDITION);
}

static void leaving_unseen_cancels_and_undo_restores_the_appointment(void)
{
	fd_status st;
	CHECK(up());
	int64_t appt = appointment(ready_patient("Leaver", 0), -2, "booked");
	int64_t v = check_in(desk, appt, NULL, false, &st);
	CHECK_INT(set_status(v, "left_without_being_seen", "", &st), FD_OK);
	CHECK_STR(appt_status(appt), "cancelled");
	CHECK_INT(scalar("SELECT count(*) FROM appointments WHERE id = %lld AND cancel_reason = 'patient'",
			 appt),
		  1);

	int64_t appt2 = appointment(ready_patient("Undo", 1500), -2, "booked");
	int64_t v2 = check_in(desk, appt2, NULL, false, &st);
	CHECK(v2 > 0);
	CHECK_INT(set_status(v2, "undone", "", &st), FD_INVALID_ARGUMENT); /* needs a reason */
	CHECK_STR(appt_status(appt2), "checked_in");
	CHECK_INT(set_status(v2, "undone", "wrong patient", &st), FD_OK);
	/* The appointment is expected again, as it was before the patient
	 * arrived, and its history says the arrival was undone and why. */
	CHECK_STR(appt_status(appt2), "booked");
	CHECK_INT(scalar("SELECT count(*) FROM appointment_history WHERE appointment_id = %lld"
			 " AND action = 'arrival_undone' AND from_status = 'checked_in'"
			 " AND to_status = 'booked' AND reason = 'wrong patient'",
			 appt2),
		  1);
	/* Undone visits owe nothing and the appointment can be checked in again. */
	CHECK_INT(scalar("SELECT coalesce(patient_balance_due(patient_id), 0) FROM visits WHERE id = %lld", v2), 0);
	int64_t v3 = check_in(desk, appt2, NULL, false, &st);
	CHECK(v3 > 0 && v3 != v2);
	CHECK_STR(appt_status(appt2), "checked_in");

	/* A confirmed appointment returns to confirmed, also from a room. */
	int64_t appt3 = appointment(ready_patient("Undo2", 0), -2, "confirmed");
	int64_t v4 = check_in(desk, appt3, NULL, false, &st);
	CHECK_INT(room(v4, "tst-room4", NULL, &st), FD_OK);
	CHECK_STR(appt_status(appt3), "in_room");
	CHECK_INT(set_status(v4, "undone", "checked in the wrong appointment", &st), FD_OK);
	CHECK_STR(appt_status(appt3), "confirmed");

	/* The database allows that move back only for an undone check-in: an
	 * appointment whose visit is open cannot be pushed back by hand. */
	char sql[160];
	snprintf(sql, sizeof sql, "UPDATE appointments SET status = 'booked' WHERE id = %lld",
		 (long long)appt2);
	CHECK(tp_db_exec(db, sql) != 0);
	CHECK_STR(appt_status(appt2), "checked_in");
}

/* --- two desks at once ----------------------------------------------- */

struct racer {
	int64_t appt;
	int index;
	int code;
	char message[256];
};

static void *race_check_in(void *arg)
{
	struct racer *r = arg;
	fd_client *c = login_as(r->index % 2 ? "reception2" : "reception1", r->index % 2 ? "tst-2" : "tst-1");
	fd_status st = { 0 };

	r->code = -1;
	if (!c)
		return NULL;
	check_in(c, r->appt, NULL, false, &st);
	r->code = st.code;
	snprintf(r->message, sizeof r->message, "%s", st.message);
	fd_client_close(c);
	return NULL;
}

static void desks_checking_in_one_appointment_at_once_admit_one(void)
{
	enum { N = 8 };
	struct racer r[N];
	pthread_t t[N];
	CHECK(up());
	int64_t appt = appointment(ready_patient("Race", 0), -2, "booked");

	for (int i = 0; i < N; i++) {
		r[i] = (struct racer){ .appt = appt, .index = i };
		pthread_create(&t[i], NULL, race_check_in, &r[i]);
	}
	int won = 0, told = 0;
	for (int i = 0; i < N; i++) {
		pthread_join(t[i], NULL);
		if (r[i].code == FD_OK)
			won++;
		else if (r[i].code == FD_ALREADY_EXISTS && strstr(r[i].message, "already checked in by reception") &&
			 strstr(r[i].message, "at desk tst-"))
			told++;
		else
			printf("racer %d: %d %s\n", i, r[i].code, r[i].message);
	}
	CHECK_INT(won, 1);
	CHECK_INT(told, N - 1);
	CHECK_INT(scalar("SELECT count(*) FROM visits WHERE appointment_id = %lld", appt), 1);
}

/* --- the board ------------------------------------------------------- */

static void the_board_orders_by_stage_and_flags_lateness_and_long_waits(void)
{
	fd_status st;
	ProtobufCMessage *rep;
	CHECK(up());
	/* Close everything earlier cases left open at the test location. */
	CHECK(tp_db_exec(db, "SELECT set_config('frontdesk.reason', 'test', false);"
			     " UPDATE visits SET status = 'undone' WHERE visit_status_open(status)"
			     " AND status <> 'in_room' AND status <> 'with_provider';"
			     " UPDATE visits SET status = 'checked_out' WHERE visit_status_open(status)") == 0);
	int64_t on_time = check_in(desk, appointment(ready_patient("BoardA", 0), 5, "booked"), NULL, false, &st);
	int64_t late = check_in(desk, appointment(ready_patient("BoardB", 0), -40, "booked"), NULL, false, &st);
	int64_t roomed = check_in(desk, appointment(ready_patient("BoardC", 0), -3, "booked"), NULL, false, &st);
	int64_t arrived = check_in(desk, appointment(ready_patient("BoardD", 0), -1, "booked"), NULL, true, &st);
	CHECK(on_time > 0 && late > 0 && roomed > 0 && arrived > 0);
	CHECK_INT(room(roomed, "tst-room2", "tdoc", &st), FD_OK);
	/* on_time has waited 25 minutes in checked_in (alert at 20); late 5. */
	char sql[256];
	snprintf(sql, sizeof sql, "UPDATE visits SET status_since = now() - interval '25 min' WHERE id = %lld;"
				  "UPDATE visits SET status_since = now() - interval '5 min' WHERE id = %lld",
		 (long long)on_time, (long long)late);
	CHECK(tp_db_exec(db, sql) == 0);

	Frontdesk__V1__BoardRequest req = FRONTDESK__V1__BOARD_REQUEST__INIT;
	CHECK_INT(call(desk, "Board", &req.base, &rep, &st), FD_OK);
	if (!rep)
		return;
	Frontdesk__V1__BoardReply *b = (void *)rep;
	CHECK_STR(b->location, "tst");
	CHECK_INT(b->n_visits, 4);
	if (b->n_visits == 4) {
		CHECK_INT(b->visits[0]->id, arrived);
		CHECK_INT(b->visits[1]->id, on_time); /* longest in checked_in first */
		CHECK_INT(b->visits[2]->id, late);
		CHECK_INT(b->visits[3]->id, roomed);
		CHECK(b->visits[1]->waiting_too_long);
		CHECK(b->visits[1]->minutes_in_status >= 25);
		CHECK_INT(b->visits[1]->alert_after_min, 20);
		CHECK(!b->visits[1]->late);
		CHECK(b->visits[2]->late);
		CHECK(!b->visits[2]->waiting_too_long);
		CHECK_STR(b->visits[3]->room, "tst-room2");
		CHECK_STR(b->visits[3]->status, "in_room");
		CHECK_STR(b->visits[3]->provider, "tdoc");
	}
	drop(rep);
	/* Every patient shown is audited. */
	CHECK_INT(scalar("SELECT count(DISTINCT patient_id) FROM audit_log WHERE method LIKE '%%Checkin/Board'"
			 " AND patient_id IN (SELECT patient_id FROM visits WHERE id IN (%lld))",
			 on_time),
		  1);
	req.location = "nowhere";
	CHECK_INT(call(desk, "Board", &req.base, &rep, &st), FD_NOT_FOUND);
}

/* The position of appointment appt in the board's expected list, or -1. */
static int expected_at(const Frontdesk__V1__BoardReply *b, int64_t appt)
{
	for (size_t i = 0; i < b->n_expected; i++)
		if (b->expected[i]->appointment_id == appt)
			return (int)i;
	return -1;
}

static bool has_gap(const Frontdesk__V1__ExpectedPatient *e, const char *kind)
{
	for (size_t i = 0; i < e->n_readiness_gaps; i++)
		if (strncmp(e->readiness_gaps[i], kind, strlen(kind)) == 0)
			return true;
	return false;
}

static void the_board_lists_who_is_expected_with_their_readiness_gaps(void)
{
	fd_status st;
	ProtobufCMessage *rep;
	CHECK(up());
	int64_t ready = appointment(ready_patient("ExpReady", 0), 30, "booked");
	int64_t gaps = appointment(new_patient("ExpGaps"), 45, "confirmed");
	int64_t later = appointment(ready_patient("ExpLater", 0), 300, "booked");
	int64_t here = appointment(ready_patient("ExpHere", 0), 10, "booked");
	int64_t late = appointment(ready_patient("ExpLate", 0), -20, "booked");
	int64_t gone = appointment(ready_patient("ExpGone", 0), 20, "cancelled");
	int64_t past = appointment(ready_patient("ExpPast", 0), -90, "booked");
	CHECK(check_in(desk, here, NULL, false, &st) > 0);

	Frontdesk__V1__BoardRequest req = FRONTDESK__V1__BOARD_REQUEST__INIT;
	CHECK_INT(call(desk, "Board", &req.base, &rep, &st), FD_OK);
	if (rep) /* not asked: none listed */
		CHECK_INT(((Frontdesk__V1__BoardReply *)rep)->n_expected, 0);
	drop(rep);

	req.expected_within_min = 120;
	CHECK_INT(call(desk, "Board", &req.base, &rep, &st), FD_OK);
	if (!rep)
		return;
	Frontdesk__V1__BoardReply *b = (void *)rep;
	int i_ready = expected_at(b, ready), i_gaps = expected_at(b, gaps), i_late = expected_at(b, late);
	CHECK(i_late >= 0 && i_ready > i_late && i_gaps > i_ready); /* by start */
	CHECK_INT(expected_at(b, later), -1);			      /* beyond 120 minutes */
	CHECK_INT(expected_at(b, here), -1);			      /* already arrived */
	CHECK_INT(expected_at(b, gone), -1);			      /* cancelled */
	CHECK_INT(expected_at(b, past), -1); /* past the no-show window (60 min) */
	if (i_ready >= 0 && i_gaps >= 0 && i_late >= 0) {
		const Frontdesk__V1__ExpectedPatient *r = b->expected[i_ready], *g = b->expected[i_gaps];
		CHECK(r->ready);
		CHECK_INT(r->n_readiness_gaps, 0);
		CHECK_STR(r->patient_name, "ExpReady, Pat");
		CHECK_STR(r->provider, "tdoc");
		CHECK(r->minutes_until >= 28 && r->minutes_until <= 30);
		CHECK(!g->ready);
		CHECK_STR(g->appointment_status, "confirmed");
		CHECK(has_gap(g, "insurance_missing"));
		CHECK(has_gap(g, "form_missing"));
		CHECK(b->expected[i_late]->minutes_until < 0);
	}
	drop(rep);
	/* Every expected patient shown (with readiness read for them) is a
	 * patient-data access: each audited, not only the last one asked. */
	const int64_t shown[] = { ready, gaps, late };
	for (size_t k = 0; k < sizeof shown / sizeof shown[0]; k++)
		CHECK_MSG(scalar("SELECT count(*) FROM audit_log WHERE method LIKE '%%Checkin/Board'"
				 " AND patient_id = (SELECT patient_id FROM appointments WHERE id = %lld)",
				 shown[k]) >= 1,
			  "expected appointment %lld: its patient was not audited", (long long)shown[k]);
	req.expected_within_min = 721;
	CHECK_INT(call(desk, "Board", &req.base, &rep, &st), FD_INVALID_ARGUMENT);
}

static int count_events(fd_events *ev, const char *topic, const char *subject, int wait_ms)
{
	int64_t end = fd_now_mono_ms() + wait_ms;
	int n = 0;

	while (fd_now_mono_ms() < end) {
		Frontdesk__V1__Event *e = NULL;
		bool gap = false;
		fd_status st;
		int left = (int)(end - fd_now_mono_ms());
		if (fd_events_next(ev, left > 0 ? left : 1, &e, &gap, &st) != FD_OK)
			continue;
		if (strcmp(e->topic, topic) == 0 && strcmp(e->subject, subject) == 0)
			n++;
		protobuf_c_message_free_unpacked(&e->base, NULL);
	}
	return n;
}

static void rooming_a_patient_tells_the_providers_station(void)
{
	fd_status st;
	fd_events *ev;
	CHECK(up());
	CHECK_INT(fd_events_open(&ev, srv.events_url, &st), FD_OK);
	e2e_sleep_ms(300);
	int64_t v = check_in(desk, appointment(ready_patient("Station", 0), -1, "booked"), NULL, false, &st);
	CHECK(v > 0);
	CHECK(tp_db_exec(db, "SELECT set_config('frontdesk.reason', 'test', false);"
			     " UPDATE visits SET status = 'checked_out' WHERE room_id ="
			     " (SELECT id FROM resources WHERE code = 'tst-room1') AND visit_status_open(status)") == 0);
	CHECK_INT(room(v, "tst-room1", "tdoc2", &st), FD_OK);
	char subject[64];
	snprintf(subject, sizeof subject, "provider:%lld",
		 tp_db_scalar(db, "SELECT id FROM providers WHERE code = 'tdoc2'"));
	CHECK_INT(count_events(ev, "provider.patient_in_room", subject, 1500), 1);
	fd_events_close(ev);
}

/* --- money ----------------------------------------------------------- */

static int64_t pay(fd_client *c, int64_t visit, int64_t cents, const char *method, const char *check,
		   fd_status *st, char **receipt)
{
	Frontdesk__V1__TakePaymentRequest req = FRONTDESK__V1__TAKE_PAYMENT_REQUEST__INIT;
	ProtobufCMessage *rep;

	req.visit_id = visit;
	req.amount_cents = cents;
	req.method = (char *)method;
	req.check_number = (char *)(check ? check : "");
	if (call(c, "TakePayment", &req.base, &rep, st) != FD_OK)
		return 0;
	Frontdesk__V1__PaymentReply *r = (void *)rep;
	int64_t id = r->payment->id;
	if (receipt)
		*receipt = strdup(r->receipt_text);
	drop(rep);
	return id;
}

static void payments_settle_the_copay_with_receipts_voids_and_refunds(void)
{
	fd_status st;
	ProtobufCMessage *rep;
	char *receipt = NULL;
	CHECK(up());
	int64_t pat = ready_patient("Payer", 3000);
	int64_t v = check_in(desk, appointment(pat, -1, "booked"), NULL, false, &st);
	CHECK_INT(scalar("SELECT patient_balance_due(%lld)", pat), 3000);

	int64_t cash = pay(desk, v, 2000, "cash", NULL, &st, &receipt);
	CHECK(cash > 0);
	CHECK(receipt && strstr(receipt, "Payment: cash 20.00") && strstr(receipt, "Receipt R"));
	free(receipt);
	int64_t chk = pay(desk, v, 1000, "check", "10045", &st, NULL);
	CHECK(chk > 0);
	CHECK_INT(scalar("SELECT patient_balance_due(%lld)", pat), 0);
	CHECK_INT(scalar("SELECT count(DISTINCT receipt_number) FROM payments WHERE visit_id = %lld", v), 2);

	/* Bad payments write nothing. */
	CHECK_INT(pay(desk, v, -500, "cash", NULL, &st, NULL), 0);
	CHECK_INT(st.code, FD_INVALID_ARGUMENT);
	CHECK_INT(pay(desk, v, 0, "cash", NULL, &st, NULL), 0);
	CHECK_INT(pay(desk, v, 500, "check", NULL, &st, NULL), 0);
	CHECK(strstr(st.message, "check number") != NULL);
	CHECK_INT(pay(desk, v, 500, "bitcoin", NULL, &st, NULL), 0);
	CHECK_INT(pay(desk, v, 500, "cash", "123", &st, NULL), 0);
	CHECK_INT(pay(desk, 777777, 500, "cash", NULL, &st, NULL), 0);
	CHECK_INT(st.code, FD_NOT_FOUND);
	CHECK_INT(scalar("SELECT count(*) FROM payments WHERE visit_id = %lld", v), 2);

	/* Voids and refunds: billing or admin only, with a reason. */
	Frontdesk__V1__VoidPaymentRequest vr = FRONTDESK__V1__VOID_PAYMENT_REQUEST__INIT;
	vr.payment_id = chk;
	vr.reason = "check bounced";
	CHECK_INT(call(desk, "VoidPayment", &vr.base, &rep, &st), FD_PERMISSION_DENIED);
	vr.reason = "";
	CHECK_INT(call(billing, "VoidPayment", &vr.base, &rep, &st), FD_INVALID_ARGUMENT);
	vr.reason = "check bounced";
	CHECK_INT(call(billing, "VoidPayment", &vr.base, &rep, &st), FD_OK);
	if (rep) {
		Frontdesk__V1__PaymentReply *r = (void *)rep;
		CHECK(r->payment->voided);
		CHECK_INT(r->balance_cents, 1000);
		CHECK(strstr(r->receipt_text, "VOIDED by billing1: check bounced") != NULL);
		drop(rep);
	}
	CHECK_INT(call(billing, "VoidPayment", &vr.base, &rep, &st), FD_FAILED_PRECONDITION);

	Frontdesk__V1__RefundPaymentRequest rr = FRONTDESK__V1__REFUND_PAYMENT_REQUEST__INIT;
	rr.payment_id = cash;
	rr.amount_cents = 500;
	rr.reason = "overpaid";
	CHECK_INT(call(desk, "RefundPayment", &rr.base, &rep, &st), FD_PERMISSION_DENIED);
	CHECK_INT(call(billing, "RefundPayment", &rr.base, &rep, &st), FD_OK);
	drop(rep);
	rr.amount_cents = 1600; /* only 15.00 is left */
	CHECK_INT(call(billing, "RefundPayment", &rr.base, &rep, &st), FD_FAILED_PRECONDITION);
	CHECK(strstr(st.message, "15.00") != NULL);
	/* The database refuses it as well. */
	char sql[512];
	snprintf(sql, sizeof sql,
		 "INSERT INTO payments (visit_id, patient_id, kind, refund_of, amount_cents, method, reason,"
		 " received_by) SELECT visit_id, patient_id, 'refund', id, 1600, method, 'x', received_by"
		 " FROM payments WHERE id = %lld",
		 (long long)cash);
	CHECK(tp_db_exec(db, sql) != 0);
	snprintf(sql, sizeof sql, "DELETE FROM payments WHERE id = %lld", (long long)cash);
	CHECK(tp_db_exec(db, sql) != 0);

	Frontdesk__V1__PatientBalanceRequest br = FRONTDESK__V1__PATIENT_BALANCE_REQUEST__INIT;
	br.patient_id = pat;
	CHECK_INT(call(desk, "PatientBalance", &br.base, &rep, &st), FD_OK);
	if (rep) {
		Frontdesk__V1__PatientBalanceReply *b = (void *)rep;
		CHECK_INT(b->charges_cents, 3000);
		CHECK_INT(b->paid_cents, 2000);
		CHECK_INT(b->refunded_cents, 500);
		CHECK_INT(b->balance_cents, 1500);
		drop(rep);
	}

	/* A receipt is found by its number. */
	Frontdesk__V1__GetReceiptRequest gr = FRONTDESK__V1__GET_RECEIPT_REQUEST__INIT;
	char number[32];
	snprintf(number, sizeof number, "R%08lld",
		 scalar("SELECT substr(receipt_number, 2)::bigint FROM payments WHERE id = %lld", cash));
	gr.receipt_number = number;
	CHECK_INT(call(desk, "GetReceipt", &gr.base, &rep, &st), FD_OK);
	if (rep) {
		CHECK_INT(((Frontdesk__V1__PaymentReply *)rep)->payment->id, cash);
		drop(rep);
	}
	gr.receipt_number = "R99999999";
	CHECK_INT(call(desk, "GetReceipt", &gr.base, &rep, &st), FD_NOT_FOUND);
}

static void the_days_ledger_reconciles_to_the_cent(void)
{
	fd_status st;
	ProtobufCMessage *rep;
	CHECK(up());
	int64_t v1 = check_in(desk, appointment(ready_patient("LedgerA", 0), -1, "booked"), NULL, false, &st);
	int64_t v2 = check_in(desk, appointment(ready_patient("LedgerB", 0), -1, "booked"), NULL, false, &st);
	CHECK(pay(desk, v1, 1234, "cash", NULL, &st, NULL) > 0);
	CHECK(pay(desk, v1, 999, "card", NULL, &st, NULL) > 0);
	int64_t b = pay(billing, v2, 5001, "check", "77", &st, NULL);
	CHECK(b > 0);
	CHECK(pay(billing, v2, 1, "cash", NULL, &st, NULL) > 0);
	Frontdesk__V1__RefundPaymentRequest rr = FRONTDESK__V1__REFUND_PAYMENT_REQUEST__INIT;
	rr.payment_id = b;
	rr.amount_cents = 2;
	rr.reason = "rounding";
	CHECK_INT(call(billing, "RefundPayment", &rr.base, &rep, &st), FD_OK);
	drop(rep);

	Frontdesk__V1__LedgerRequest req = FRONTDESK__V1__LEDGER_REQUEST__INIT;
	CHECK_INT(call(desk, "Ledger", &req.base, &rep, &st), FD_OK);
	if (!rep)
		return;
	Frontdesk__V1__LedgerReply *l = (void *)rep;
	int64_t lines = 0, methods = 0, desks = 0, paid = 0, refunded = 0;
	for (size_t i = 0; i < l->n_lines; i++) {
		lines += l->lines[i]->net_cents;
		paid += l->lines[i]->paid_cents;
		refunded += l->lines[i]->refunded_cents;
	}
	for (size_t i = 0; i < l->n_by_method; i++)
		methods += l->by_method[i]->net_cents;
	for (size_t i = 0; i < l->n_by_desk; i++)
		desks += l->by_desk[i]->net_cents;
	long long direct = tp_db_scalar(
		db, "SELECT sum(CASE kind WHEN 'payment' THEN amount_cents ELSE -amount_cents END)"
		    " FROM payments y JOIN visits v ON v.id = y.visit_id JOIN locations l ON l.id = v.location_id"
		    " WHERE l.code = 'tst' AND y.voided_at IS NULL");
	CHECK(direct > 0);
	CHECK_INT(l->net_cents, direct);
	CHECK_INT(lines, direct);
	CHECK_INT(methods, direct);
	CHECK_INT(desks, direct);
	CHECK_INT(l->paid_cents - l->refunded_cents, l->net_cents);
	CHECK_INT(paid, l->paid_cents);
	CHECK_INT(refunded, l->refunded_cents);
	CHECK_STR(l->location, "tst");
	bool check_line = false;
	for (size_t i = 0; i < l->n_lines; i++)
		if (strcmp(l->lines[i]->desk, "tst-2") == 0 && strcmp(l->lines[i]->method, "check") == 0)
			check_line = l->lines[i]->paid_cents >= 5001 && l->lines[i]->refunded_cents >= 2;
	CHECK(check_line);
	drop(rep);
	req.date = "2026-02-30";
	CHECK_INT(call(desk, "Ledger", &req.base, &rep, &st), FD_INVALID_ARGUMENT);
	req.date = "2001-01-01";
	CHECK_INT(call(desk, "Ledger", &req.base, &rep, &st), FD_OK);
	if (rep) {
		CHECK_INT(((Frontdesk__V1__LedgerReply *)rep)->net_cents, 0);
		drop(rep);
	}
}

/* --- one patient's payments ------------------------------------------ */

static Frontdesk__V1__ListPaymentsReply *list_payments(fd_client *c, int64_t patient, const char *from,
						       const char *to, bool voided, fd_status *st)
{
	Frontdesk__V1__ListPaymentsRequest req = FRONTDESK__V1__LIST_PAYMENTS_REQUEST__INIT;
	ProtobufCMessage *rep;

	req.patient_id = patient;
	req.from_date = (char *)(from ? from : "");
	req.to_date = (char *)(to ? to : "");
	req.include_voided = voided;
	if (call(c, "ListPayments", &req.base, &rep, st) != FD_OK)
		return NULL;
	return (void *)rep;
}

static bool listed(const Frontdesk__V1__ListPaymentsReply *r, int64_t payment)
{
	for (size_t i = 0; r && i < r->n_payments; i++)
		if (r->payments[i]->id == payment)
			return true;
	return false;
}

/* The test location's local day `days` from today, as YYYY-MM-DD. */
static void local_day(int days, char *buf, size_t size)
{
	char sql[256];
	snprintf(sql, sizeof sql,
		 "SELECT ((now() AT TIME ZONE time_zone)::date + %d)::text FROM locations WHERE code = 'tst'",
		 days);
	PGconn *c = tp_db_connect(db);
	PGresult *r = PQexec(c, sql);
	snprintf(buf, size, "%s", PQresultStatus(r) == PGRES_TUPLES_OK ? PQgetvalue(r, 0, 0) : "?");
	PQclear(r);
	PQfinish(c);
}

/* A payment on the visit received `days_ago` days ago, written straight
 * into the table (the desk can only take money now). */
static int64_t old_payment(int64_t visit, int days_ago, int cents)
{
	char sql[512];
	snprintf(sql, sizeof sql,
		 "INSERT INTO payments (visit_id, patient_id, amount_cents, method, received_at, received_by)"
		 " SELECT id, patient_id, %d, 'cash', now() - interval '%d days',"
		 " (SELECT id FROM staff WHERE username = 'admin') FROM visits WHERE id = %lld RETURNING id",
		 cents, days_ago, (long long)visit);
	return tp_db_scalar(db, sql);
}

static int64_t refund(int64_t payment, int64_t cents, fd_status *st)
{
	Frontdesk__V1__RefundPaymentRequest req = FRONTDESK__V1__REFUND_PAYMENT_REQUEST__INIT;
	ProtobufCMessage *rep;

	req.payment_id = payment;
	req.amount_cents = cents;
	req.reason = "overpaid";
	if (call(billing, "RefundPayment", &req.base, &rep, st) != FD_OK)
		return 0;
	int64_t id = ((Frontdesk__V1__PaymentReply *)rep)->payment->id;
	drop(rep);
	return id;
}

static void a_patients_payment_list_shows_payments_and_refunds_newest_first_with_receipts(void)
{
	fd_status st;
	ProtobufCMessage *rep;
	CHECK(up());
	int64_t pat = ready_patient("Lister", 3000);
	int64_t v = check_in(desk, appointment(pat, -1, "booked"), NULL, false, &st);
	int64_t old = old_payment(v, 40, 700);
	int64_t cash = pay(desk, v, 1000, "cash", NULL, &st, NULL);
	int64_t card = pay(desk, v, 2000, "card", NULL, &st, NULL);
	int64_t back = refund(cash, 400, &st);
	CHECK(old > 0 && cash > 0 && card > 0 && back > 0);
	/* Someone else's money at the same desk on the same day. */
	int64_t other = ready_patient("NotLister", 3000);
	int64_t ov = check_in(desk, appointment(other, -1, "booked"), NULL, false, &st);
	int64_t theirs = pay(desk, ov, 1500, "cash", NULL, &st, NULL);
	CHECK(theirs > 0);

	Frontdesk__V1__ListPaymentsReply *r = list_payments(desk, pat, NULL, NULL, false, &st);
	CHECK_MSG(r != NULL, "ListPayments: %s", st.message);
	if (!r)
		return;
	CHECK_INT(r->patient_id, pat);
	CHECK(!r->truncated);
	CHECK_INT(r->n_payments, 4);
	const int64_t order[] = { back, card, cash, old };
	for (size_t i = 0; i < r->n_payments && i < 4; i++) {
		const Frontdesk__V1__Payment *y = r->payments[i];
		CHECK_INT(y->id, order[i]);
		CHECK_INT(y->patient_id, pat);
		CHECK_INT(y->visit_id, v);
		char sql[160];
		snprintf(sql, sizeof sql,
			 "SELECT count(*) FROM payments WHERE id = %lld AND receipt_number = '%s'",
			 (long long)y->id, y->receipt_number);
		CHECK_MSG(*y->receipt_number && tp_db_scalar(db, sql) == 1, "receipt of payment %lld",
			  (long long)y->id);
	}
	if (r->n_payments == 4) {
		CHECK_STR(r->payments[0]->kind, "refund");
		CHECK_INT(r->payments[0]->refund_of, cash);
		CHECK_INT(r->payments[0]->amount_cents, 400);
		CHECK_STR(r->payments[1]->method, "card");
	}
	/* Another patient's payments are never in the list. */
	CHECK(!listed(r, theirs));
	/* The balance on top is what PatientBalance says. */
	Frontdesk__V1__PatientBalanceRequest br = FRONTDESK__V1__PATIENT_BALANCE_REQUEST__INIT;
	br.patient_id = pat;
	CHECK_INT(call(desk, "PatientBalance", &br.base, &rep, &st), FD_OK);
	CHECK(r->balance != NULL);
	if (rep && r->balance) {
		const Frontdesk__V1__PatientBalanceReply *b = (void *)rep;
		CHECK_INT(r->balance->charges_cents, b->charges_cents);
		CHECK_INT(r->balance->paid_cents, 3700);
		CHECK_INT(r->balance->refunded_cents, 400);
		CHECK_INT(r->balance->balance_cents, b->balance_cents);
	}
	drop(rep);
	drop(&r->base);
	/* Reading the list is a patient-data access: audited. */
	CHECK_INT(scalar("SELECT count(*) FROM audit_log WHERE method = '/frontdesk.v1.Checkin/ListPayments'"
			 " AND patient_id = %lld AND outcome = 'OK'",
			 pat),
		  1);
}

static void voided_payments_are_listed_only_when_asked(void)
{
	fd_status st;
	ProtobufCMessage *rep;
	CHECK(up());
	int64_t pat = ready_patient("Voider", 2000);
	int64_t v = check_in(desk, appointment(pat, -1, "booked"), NULL, false, &st);
	int64_t kept = pay(desk, v, 1000, "cash", NULL, &st, NULL);
	int64_t bounced = pay(desk, v, 1000, "check", "555", &st, NULL);
	Frontdesk__V1__VoidPaymentRequest vr = FRONTDESK__V1__VOID_PAYMENT_REQUEST__INIT;
	vr.payment_id = bounced;
	vr.reason = "check bounced";
	CHECK_INT(call(billing, "VoidPayment", &vr.base, &rep, &st), FD_OK);
	drop(rep);

	Frontdesk__V1__ListPaymentsReply *r = list_payments(desk, pat, NULL, NULL, false, &st);
	CHECK(r != NULL);
	CHECK(listed(r, kept) && !listed(r, bounced));
	CHECK_INT(r ? r->n_payments : 0, 1);
	if (r)
		drop(&r->base);
	r = list_payments(desk, pat, NULL, NULL, true, &st);
	CHECK(r != NULL);
	CHECK(listed(r, kept) && listed(r, bounced));
	for (size_t i = 0; r && i < r->n_payments; i++)
		CHECK(r->payments[i]->voided == (r->payments[i]->id == bounced));
	if (r)
		drop(&r->base);
}

static void a_payment_list_keeps_to_its_date_range_and_refuses_bad_dates(void)
{
	fd_status st;
	char today[16], long_ago[16], before[16], after[16], next_year[16];
	CHECK(up());
	int64_t pat = ready_patient("Ranger", 0);
	int64_t v = check_in(desk, appointment(pat, -1, "booked"), NULL, false, &st);
	int64_t old = old_payment(v, 40, 900);
	int64_t now = pay(desk, v, 100, "cash", NULL, &st, NULL);
	CHECK(old > 0 && now > 0);
	local_day(0, today, sizeof today);
	local_day(-40, long_ago, sizeof long_ago);
	local_day(-45, before, sizeof before);
	local_day(-35, after, sizeof after);
	local_day(366, next_year, sizeof next_year);

	Frontdesk__V1__ListPaymentsReply *r = list_payments(desk, pat, today, today, false, &st);
	CHECK(r && listed(r, now) && !listed(r, old));
	if (r)
		drop(&r->base);
	r = list_payments(desk, pat, before, after, false, &st);
	CHECK(r && listed(r, old) && !listed(r, now));
	if (r)
		drop(&r->base);
	/* One bound alone: from that day on, or up to it. */
	r = list_payments(desk, pat, long_ago, NULL, false, &st);
	CHECK(r && listed(r, old) && listed(r, now));
	if (r)
		drop(&r->base);
	r = list_payments(desk, pat, NULL, after, false, &st);
	CHECK(r && listed(r, old) && !listed(r, now));
	if (r)
		drop(&r->base);

	/* Impossible dates, reversed and over-long ranges are refused. */
	CHECK(!list_payments(desk, pat, "2026-02-30", NULL, false, &st));
	CHECK_INT(st.code, FD_INVALID_ARGUMENT);
	CHECK(!list_payments(desk, pat, NULL, "yesterday", false, &st));
	CHECK_INT(st.code, FD_INVALID_ARGUMENT);
	CHECK(!list_payments(desk, pat, today, long_ago, false, &st));
	CHECK_INT(st.code, FD_INVALID_ARGUMENT);
	CHECK(!list_payments(desk, pat, today, next_year, false, &st));
	CHECK_INT(st.code, FD_INVALID_ARGUMENT);
	CHECK(strstr(st.message, "366") != NULL);
	/* A whole leap year is allowed. */
	r = list_payments(desk, pat, "2024-01-01", "2024-12-31", false, &st);
	CHECK(r != NULL);
	if (r)
		drop(&r->base);
}

static void a_payment_list_for_an_unknown_patient_is_not_found(void)
{
	fd_status st;
	CHECK(up());
	CHECK(!list_payments(desk, 987654321, NULL, NULL, false, &st));
	CHECK_INT(st.code, FD_NOT_FOUND);
	CHECK(!list_payments(desk, 0, NULL, NULL, false, &st));
	CHECK_INT(st.code, FD_INVALID_ARGUMENT);
}

static void a_long_payment_history_is_capped_and_says_so(void)
{
	fd_status st;
	CHECK(up());
	int64_t pat = ready_patient("Regular", 0);
	int64_t v = check_in(desk, appointment(pat, -1, "booked"), NULL, false, &st);
	char sql[512];
	snprintf(sql, sizeof sql,
		 "INSERT INTO payments (visit_id, patient_id, amount_cents, method, received_at, received_by)"
		 " SELECT %lld, %lld, 100, 'cash', now() - n * interval '1 hour',"
		 " (SELECT id FROM staff WHERE username = 'admin') FROM generate_series(1, 501) n",
		 (long long)v, (long long)pat);
	CHECK_INT(tp_db_exec(db, sql), 0);
	Frontdesk__V1__ListPaymentsReply *r = list_payments(desk, pat, NULL, NULL, false, &st);
	CHECK(r != NULL);
	if (!r)
		return;
	CHECK_INT(r->n_payments, 500);
	CHECK(r->truncated);
	CHECK_INT(r->balance ? r->balance->paid_cents : 0, 50100); /* the balance counts them all */
	drop(&r->base);
}

/* --- the no-show sweep and the audit trail --------------------------- */

static void the_sweep_marks_no_shows_nobody_arrived_for(void)
{
	fd_status st;
	CHECK(up());
	int64_t gone = appointment(new_patient("NoShow"), -90, "booked");
	int64_t recent = appointment(new_patient("NotYet"), -10, "confirmed");
	int64_t came = appointment(ready_patient("Came", 0), -90, "booked");
	CHECK(check_in(desk, came, NULL, false, &st) > 0);
	/* A check-in that was undone does not count as arriving. */
	int64_t undone = appointment(ready_patient("Undone", 0), -90, "booked");
	int64_t uv = check_in(desk, undone, NULL, false, &st);
	CHECK_INT(set_status(uv, "undone", "wrong patient", &st), FD_OK);
	PGconn *c = tp_db_connect(db);
	CHECK(checkin_no_show_run(c) >= 1);
	PQfinish(c);
	CHECK_STR(appt_status(gone), "no_show");
	CHECK_STR(appt_status(recent), "confirmed");
	CHECK_STR(appt_status(came), "checked_in");
	CHECK_STR(appt_status(undone), "no_show");
	CHECK_INT(scalar("SELECT count(*) FROM appointment_history WHERE appointment_id = %lld"
			 " AND to_status = 'no_show' AND reason = 'no-show sweep'",
			 gone),
		  1);
}

static void every_check_in_call_leaves_an_audit_row_for_its_patient(void)
{
	fd_status st;
	ProtobufCMessage *rep;
	CHECK(up());
	int64_t pat = ready_patient("Audited", 500);
	int64_t v = check_in(desk, appointment(pat, -1, "booked"), NULL, false, &st);
	CHECK_INT(room(v, "tst-room3", "tdoc", &st), FD_OK);
	int64_t y = pay(desk, v, 500, "card", NULL, &st, NULL);
	CHECK(y > 0);
	Frontdesk__V1__GetVisitRequest gv = FRONTDESK__V1__GET_VISIT_REQUEST__INIT;
	gv.visit_id = v;
	CHECK_INT(call(desk, "GetVisit", &gv.base, &rep, &st), FD_OK);
	drop(rep);
	Frontdesk__V1__GetReceiptRequest gr = FRONTDESK__V1__GET_RECEIPT_REQUEST__INIT;
	gr.payment_id = y;
	CHECK_INT(call(desk, "GetReceipt", &gr.base, &rep, &st), FD_OK);
	drop(rep);
	Frontdesk__V1__CheckOutRequest co = FRONTDESK__V1__CHECK_OUT_REQUEST__INIT;
	co.visit_id = v;
	CHECK_INT(call(desk, "CheckOut", &co.base, &rep, &st), FD_OK);
	if (rep) {
		CHECK_INT(((Frontdesk__V1__CheckOutReply *)rep)->balance_cents, 0);
		drop(rep);
	}
	const char *methods[] = { "CheckIn", "AssignRoom", "TakePayment", "GetVisit", "GetReceipt", "CheckOut" };
	for (size_t i = 0; i < sizeof methods / sizeof methods[0]; i++) {
		char sql[256];
		snprintf(sql, sizeof sql,
			 "SELECT count(*) FROM audit_log WHERE method = '/frontdesk.v1.Checkin/%s'"
			 " AND patient_id = %lld AND outcome = 'OK'",
			 methods[i], (long long)pat);
		CHECK_MSG(tp_db_scalar(db, sql) == 1, "no audit row for %s", methods[i]);
	}
	/* A refused call is audited too. */
	CHECK_INT(set_status(v, "checked_in", NULL, &st), FD_FAILED_PRECONDITION);
	CHECK_INT(scalar("SELECT count(*) FROM audit_log WHERE method = '/frontdesk.v1.Checkin/SetVisitStatus'"
			 " AND patient_id = %lld AND outcome <> 'OK'",
			 pat),
		  1);
}

static void a_patient_merge_moves_visits_and_payments_to_the_survivor(void)
{
	fd_status st;
	CHECK(up());
	int64_t loser = ready_patient("MergeLoser", 1000), survivor = ready_patient("MergeSurvivor", 0);
	int64_t v = check_in(desk, appointment(loser, -1, "booked"), NULL, false, &st);
	int64_t y = pay(desk, v, 1000, "cash", NULL, &st, NULL);
	CHECK(v > 0 && y > 0);
	CHECK_INT(set_status(v, "left_without_being_seen", "", &st), FD_OK);
	char sql[160];
	snprintf(sql, sizeof sql, "SELECT patient_merge(%lld, %lld)", (long long)survivor, (long long)loser);
	CHECK(tp_db_exec(db, sql) == 0);
	CHECK_INT(scalar("SELECT patient_id FROM visits WHERE id = %lld", v), survivor);
	CHECK_INT(scalar("SELECT patient_id FROM payments WHERE id = %lld", y), survivor);
	/* A closed visit and a payment still refuse every other change. */
	snprintf(sql, sizeof sql, "UPDATE visits SET expected_copay_cents = 1 WHERE id = %lld", (long long)v);
	CHECK(tp_db_exec(db, sql) != 0);
	snprintf(sql, sizeof sql, "UPDATE payments SET amount_cents = 1 WHERE id = %lld", (long long)y);
	CHECK(tp_db_exec(db, sql) != 0);
}

static void a_locations_timings_are_shown_saved_by_admins_and_drive_the_sweep(void)
{
	fd_status st;
	ProtobufCMessage *rep;
	CHECK(up());
	CHECK(tp_db_exec(db, "INSERT INTO locations (code, name, time_zone) VALUES ('tst-b', 'B', 'UTC')") == 0);
	Frontdesk__V1__GetSettingsRequest g = FRONTDESK__V1__GET_SETTINGS_REQUEST__INIT;
	g.location = "tst-b";
	CHECK_INT(call(desk, "GetSettings", &g.base, &rep, &st), FD_OK);
	if (rep) {
		const Frontdesk__V1__CheckinSettings *c = ((Frontdesk__V1__SettingsReply *)rep)->settings;
		CHECK(!c->configured);
		CHECK(!c->no_show_sweep); /* unconfigured locations are never swept */
		CHECK_INT(c->late_after_min, 10);
		CHECK_STR(c->no_show_sweep_at, "19:00");
		drop(rep);
	}
	Frontdesk__V1__CheckinSettings c = FRONTDESK__V1__CHECKIN_SETTINGS__INIT;
	Frontdesk__V1__SaveSettingsRequest save = FRONTDESK__V1__SAVE_SETTINGS_REQUEST__INIT;
	c.location = "tst-b";
	c.late_after_min = 7;
	c.no_show_sweep_at = "25:00";
	save.settings = &c;
	CHECK_INT(call(desk, "SaveSettings", &save.base, &rep, &st), FD_PERMISSION_DENIED);
	CHECK_INT(call(admin, "SaveSettings", &save.base, &rep, &st), FD_INVALID_ARGUMENT);
	c.no_show_sweep_at = "";
	c.alert_in_room_min = 5000;
	CHECK_INT(call(admin, "SaveSettings", &save.base, &rep, &st), FD_INVALID_ARGUMENT);
	c.alert_in_room_min = 0;
	c.no_show_sweep = true;
	CHECK_INT(call(admin, "SaveSettings", &save.base, &rep, &st), FD_OK);
	if (rep) {
		const Frontdesk__V1__CheckinSettings *r = ((Frontdesk__V1__SettingsReply *)rep)->settings;
		CHECK(r->configured && r->no_show_sweep);
		CHECK_INT(r->late_after_min, 7);
		CHECK_INT(r->alert_in_room_min, 15); /* kept */
		drop(rep);
	}
	/* Sweep off: the test location's overdue appointment stays booked. */
	c.location = "tst";
	c.late_after_min = 0;
	c.no_show_sweep = false;
	CHECK_INT(call(admin, "SaveSettings", &save.base, &rep, &st), FD_OK);
	drop(rep);
	int64_t overdue = appointment(new_patient("Overdue"), -120, "booked");
	PGconn *conn = tp_db_connect(db);
	CHECK(checkin_no_show_run(conn) >= 0);
	CHECK_STR(appt_status(overdue), "booked");
	c.no_show_sweep = true;
	CHECK_INT(call(admin, "SaveSettings", &save.base, &rep, &st), FD_OK);
	drop(rep);
	CHECK(checkin_no_show_run(conn) >= 1);
	CHECK_STR(appt_status(overdue), "no_show");
	PQfinish(conn);
}

static void the_server_exits_cleanly(void)
{
	CHECK(up());
	fd_client_close(admin);
	fd_client_close(desk);
	fd_client_close(billing);
	e2e_stop(&srv);
}

TH_MAIN(TH_CASE(checking_in_a_booked_appointment_records_arrival_copay_and_who),
	TH_CASE(readiness_gaps_block_check_in_unless_overridden_with_a_reason),
	TH_CASE(a_walk_in_gets_a_visit_without_an_appointment),
	TH_CASE(appointments_that_cannot_be_checked_in_are_refused),
	TH_CASE(every_flow_step_is_stamped_and_moves_the_appointment),
	TH_CASE(impossible_steps_are_refused_naming_the_allowed_ones),
	TH_CASE(leaving_unseen_cancels_and_undo_restores_the_appointment),
	TH_CASE(desks_checking_in_one_appointment_at_once_admit_one),
	TH_CASE(the_board_orders_by_stage_and_flags_lateness_and_long_waits),
	TH_CASE(the_board_lists_who_is_expected_with_their_readiness_gaps),
	TH_CASE(rooming_a_patient_tells_the_providers_station),
	TH_CASE(payments_settle_the_copay_with_receipts_voids_and_refunds),
	TH_CASE(the_days_ledger_reconciles_to_the_cent),
	TH_CASE(a_patients_payment_list_shows_payments_and_refunds_newest_first_with_receipts),
	TH_CASE(voided_payments_are_listed_only_when_asked),
	TH_CASE(a_payment_list_keeps_to_its_date_range_and_refuses_bad_dates),
	TH_CASE(a_payment_list_for_an_unknown_patient_is_not_found),
	TH_CASE(a_long_payment_history_is_capped_and_says_so),
	TH_CASE(the_sweep_marks_no_shows_nobody_arrived_for),
	TH_CASE(every_check_in_call_leaves_an_audit_row_for_its_patient),
	TH_CASE(a_patient_merge_moves_visits_and_payments_to_the_survivor),
	TH_CASE(a_locations_timings_are_shown_saved_by_admins_and_drive_the_sweep),
	TH_CASE(the_server_exits_cleanly))
