/*
 * Insecure direct object references and borrowed identities. Every request
 * that carries two references which must agree (a room and the location it
 * is used at, an appointment and the patient it is asked for, a patient id
 * and an MRN) is sent with references that belong to different places or
 * patients: each is refused (NOT_FOUND or FAILED_PRECONDITION), the message
 * names nothing of the other record, and nothing is written; the same call
 * with agreeing references succeeds, so the refusal is the check and not
 * some other failure. Fields that name who did something (entered_by,
 * last_verified_by, a refill step's staff, presence for someone else) are
 * ignored or refused: the server records the session's staff and desk.
 *
 * Staff are not scoped to a location (any staff member may work at every
 * location of the clinic), so "another location" means references that
 * disagree with each other, not a location the caller may not see.
 */
#include "e2e.h"

#include <stdarg.h>

#include "frontdesk/v1/checkin.pb-c.h"
#include "frontdesk/v1/insurance.pb-c.h"
#include "frontdesk/v1/intake.pb-c.h"
#include "frontdesk/v1/patients.pb-c.h"
#include "frontdesk/v1/phone.pb-c.h"
#include "frontdesk/v1/records.pb-c.h"
#include "frontdesk/v1/scheduling.pb-c.h"

#define SCHED (&frontdesk__v1__scheduling__descriptor)
#define CHECKIN (&frontdesk__v1__checkin__descriptor)
#define INTAKE (&frontdesk__v1__intake__descriptor)
#define PATIENTS (&frontdesk__v1__patients__descriptor)
#define RECORDS (&frontdesk__v1__records__descriptor)
#define INSURANCE (&frontdesk__v1__insurance__descriptor)
#define PHONE (&frontdesk__v1__phone__descriptor)

static tp_server srv;
static char db[64];
static fd_client *admin, *desk; /* desk: reception1 at idy-1 (location Y) */
static int64_t patient_a, patient_b;
static int64_t appointment_a; /* patient A's, at Y */
static int64_t visit_b;       /* patient B's, at Y */
static char day[16];          /* a local date three days from now */

static fd_client *login_as(const char *user, const char *desk_code)
{
	fd_client *c = tp_client(&srv);
	if (tp_login(c, user, desk_code) != FD_OK) {
		fd_client_close(c);
		return NULL;
	}
	return c;
}

static long long scalar(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static long long scalar(const char *fmt, ...)
{
	char sql[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(sql, sizeof sql, fmt, ap);
	va_end(ap);
	return tp_db_scalar(db, sql);
}

static void drop(ProtobufCMessage *m)
{
	if (m)
		protobuf_c_message_free_unpacked(m, NULL);
}

/* A refusal must not quote the other record: no patient name, no MRN. */
static void check_no_leak(const fd_status *st)
{
	CHECK_MSG(strstr(st->message, "Idor") == NULL && strstr(st->message, "Alpha") == NULL &&
			  strstr(st->message, "Bravo") == NULL,
		  "message leaks a patient: %s", st->message);
}

/* Later cases need the server the first one started. */
#define NEED_SERVER()                                               \
	do {                                                        \
		if (!desk) {                                        \
			th_fail(__FILE__, __LINE__, "no server to test"); \
			return;                                     \
		}                                                   \
	} while (0)

/*
 * Two locations, X (idx) and Y (idy), one room each; a provider working at
 * Y only, every day; patients A and B.
 */
static void two_locations_two_patients(void)
{
	CHECK(e2e_start(&srv, db, sizeof db, "idor", NULL));
	if (th_failed())
		return;
	CHECK_INT(tp_db_exec(db,
			     "INSERT INTO locations (code, name, time_zone) VALUES"
			     "  ('idx', 'Location X', 'UTC'), ('idy', 'Location Y', 'UTC');"
			     "INSERT INTO desks (code, name, location_id)"
			     "  SELECT code || '-1', name || ' desk', id FROM locations WHERE code IN ('idx', 'idy');"
			     "INSERT INTO providers (code, display_name) VALUES ('iddoc', 'Dr. Y');"
			     "INSERT INTO provider_locations SELECT p.id, l.id FROM providers p, locations l"
			     "  WHERE p.code = 'iddoc' AND l.code = 'idy';"
			     "INSERT INTO appointment_types (code, name, duration_min, grid_min, horizon_days,"
			     "  resource_kinds) VALUES ('idvisit', 'Visit', 20, 20, 730, '{exam_room}');"
			     "INSERT INTO provider_types SELECT p.id, t.id FROM providers p, appointment_types t"
			     "  WHERE p.code = 'iddoc' AND t.code = 'idvisit';"
			     "INSERT INTO availability_templates (provider_id, location_id, weekday, start_time,"
			     "  end_time, effective_from)"
			     "  SELECT p.id, l.id, d, '00:00', '23:40', current_date - 1"
			     "  FROM providers p, locations l, generate_series(1, 7) d"
			     "  WHERE p.code = 'iddoc' AND l.code = 'idy';"
			     "INSERT INTO resources (location_id, code, name, kind)"
			     "  SELECT id, code || '-room', 'Room', 'exam_room' FROM locations"
			     "  WHERE code IN ('idx', 'idy');"),
		  0);
	patient_a = tp_db_scalar(db, "INSERT INTO patients (family_name, given_name, date_of_birth)"
				     " VALUES ('Idor', 'Alpha', '1970-01-01') RETURNING id");
	patient_b = tp_db_scalar(db, "INSERT INTO patients (family_name, given_name, date_of_birth)"
				     " VALUES ('Idor', 'Bravo', '1980-01-01') RETURNING id");
	CHECK(patient_a > 0 && patient_b > 0);
	PGconn *c = tp_db_connect(db);
	PGresult *r = PQexec(c, "SELECT (current_date + 3)::text");
	snprintf(day, sizeof day, "%s", PQgetvalue(r, 0, 0));
	PQclear(r);
	PQfinish(c);
	admin = login_as("admin", "idy-1");
	desk = login_as("reception1", "idy-1");
	CHECK(admin && desk);
	if (!admin)
		desk = NULL; /* NEED_SERVER: both or neither */
}

static int book(int64_t patient, const char *at_time, const char *room, int64_t *id, fd_status *st)
{
	Frontdesk__V1__BookRequest req = FRONTDESK__V1__BOOK_REQUEST__INIT;
	ProtobufCMessage *rep = NULL;
	char at[32];

	snprintf(at, sizeof at, "%s %s", day, at_time);
	req.patient_id = patient;
	req.provider = "iddoc";
	req.type = "idvisit";
	req.location = "idy";
	req.at = at;
	req.room = (char *)room;
	int rc = tp_call(desk, SCHED, "Book", &req.base, &rep, st);
	if (rc == FD_OK && id)
		*id = ((Frontdesk__V1__BookReply *)rep)->appointment->id;
	drop(rep);
	return rc;
}

static void booking_with_a_room_of_another_location_is_refused(void)
{
	NEED_SERVER();
	fd_status st;

	CHECK_INT(book(patient_a, "10:00", "idx-room", NULL, &st), FD_NOT_FOUND);
	check_no_leak(&st);
	CHECK_INT(scalar("SELECT count(*) FROM appointments WHERE patient_id = %lld", (long long)patient_a), 0);
	/* The same booking with the location's own room is fine. */
	CHECK_INT(book(patient_a, "10:00", "idy-room", &appointment_a, &st), FD_OK);
	CHECK(appointment_a > 0);
}

static void rescheduling_into_a_room_of_another_location_is_refused(void)
{
	NEED_SERVER();
	Frontdesk__V1__RescheduleRequest req = FRONTDESK__V1__RESCHEDULE_REQUEST__INIT;
	ProtobufCMessage *rep = NULL;
	fd_status st;
	char at[32];

	snprintf(at, sizeof at, "%s 11:00", day);
	req.appointment_id = appointment_a;
	req.at = at;
	req.room = "idx-room";
	int rc = tp_call(desk, SCHED, "Reschedule", &req.base, &rep, &st);
	drop(rep);
	CHECK_MSG(rc == FD_NOT_FOUND || rc == FD_FAILED_PRECONDITION, "%d %s", rc, st.message);
	check_no_leak(&st);
	CHECK_INT(scalar("SELECT count(*) FROM appointments WHERE patient_id = %lld", (long long)patient_a), 1);
	CHECK_INT(scalar("SELECT count(*) FROM appointments WHERE id = %lld AND status = 'booked'",
			 (long long)appointment_a),
		  1);
	CHECK_INT(scalar("SELECT count(*) FROM appointment_resources ar JOIN resources r"
			 " ON r.id = ar.resource_id WHERE r.code = 'idx-room' AND ar.appointment_id >= %lld",
			 (long long)appointment_a),
		  0);
	/* Into the location's own room it moves (the new appointment is A's). */
	req.room = "idy-room";
	rep = NULL;
	CHECK_MSG(tp_call(desk, SCHED, "Reschedule", &req.base, &rep, &st) == FD_OK, "%s",
		  st.message);
	if (rep)
		appointment_a = ((Frontdesk__V1__RescheduleReply *)rep)->appointment->id;
	drop(rep);
}

static int readiness(int64_t patient, int64_t appointment, fd_status *st)
{
	Frontdesk__V1__ReadinessRequest req = FRONTDESK__V1__READINESS_REQUEST__INIT;
	ProtobufCMessage *rep = NULL;

	req.patient_id = patient;
	req.appointment_id = appointment;
	int rc = tp_call(desk, INTAKE, "Readiness", &req.base, &rep, st);
	drop(rep);
	return rc;
}

static void readiness_for_one_patient_with_anothers_appointment_is_refused(void)
{
	NEED_SERVER();
	fd_status st;

	CHECK_INT(readiness(patient_b, appointment_a, &st), FD_NOT_FOUND);
	check_no_leak(&st);
	/* Agreeing, or by appointment alone, it answers. */
	CHECK_INT(readiness(patient_a, appointment_a, &st), FD_OK);
	CHECK_INT(readiness(0, appointment_a, &st), FD_OK);
}

static int get_patient(int64_t id, const char *mrn, fd_status *st)
{
	Frontdesk__V1__GetPatientRequest req = FRONTDESK__V1__GET_PATIENT_REQUEST__INIT;
	ProtobufCMessage *rep = NULL;

	req.patient_id = id;
	req.mrn = (char *)mrn;
	int rc = tp_call(desk, PATIENTS, "GetPatient", &req.base, &rep, st);
	drop(rep);
	return rc;
}

static void a_patient_id_with_anothers_mrn_is_refused(void)
{
	NEED_SERVER();
	char mrn_a[40] = "", sql[128];
	fd_status st;
	PGconn *c = tp_db_connect(db);

	snprintf(sql, sizeof sql, "SELECT mrn FROM patients WHERE id = %lld", (long long)patient_a);
	PGresult *r = PQexec(c, sql);
	if (PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) == 1)
		snprintf(mrn_a, sizeof mrn_a, "%s", PQgetvalue(r, 0, 0));
	PQclear(r);
	PQfinish(c);
	CHECK(mrn_a[0] != '\0');
	CHECK_INT(get_patient(patient_b, mrn_a, &st), FD_NOT_FOUND);
	check_no_leak(&st);
	CHECK_MSG(strstr(st.message, mrn_a) == NULL, "%s", st.message);
	CHECK_INT(get_patient(patient_a, mrn_a, &st), FD_OK);
	CHECK_INT(get_patient(0, mrn_a, &st), FD_OK);
}

static int walk_in(const char *location, int64_t *visit, fd_status *st)
{
	Frontdesk__V1__CheckInRequest req = FRONTDESK__V1__CHECK_IN_REQUEST__INIT;
	ProtobufCMessage *rep = NULL;

	req.walk_in_patient_id = patient_b;
	req.location = (char *)location;
	req.provider = "iddoc";
	req.type = "idvisit";
	req.override_readiness = true;
	req.override_reason = "test";
	int rc = tp_call(desk, CHECKIN, "CheckIn", &req.base, &rep, st);
	if (rc == FD_OK && visit)
		*visit = ((Frontdesk__V1__CheckInReply *)rep)->visit->id;
	drop(rep);
	return rc;
}

static void a_walk_in_with_a_provider_of_another_location_is_refused(void)
{
	NEED_SERVER();
	fd_status st;

	CHECK_INT(walk_in("idx", NULL, &st), FD_FAILED_PRECONDITION);
	check_no_leak(&st);
	CHECK_INT(scalar("SELECT count(*) FROM visits WHERE patient_id = %lld", (long long)patient_b), 0);
	CHECK_INT(walk_in("idy", &visit_b, &st), FD_OK);
	CHECK(visit_b > 0);
}

static void booking_a_provider_at_a_location_they_do_not_work_at_is_refused(void)
{
	NEED_SERVER();
	Frontdesk__V1__BookRequest req = FRONTDESK__V1__BOOK_REQUEST__INIT;
	ProtobufCMessage *rep = NULL;
	fd_status st;
	char at[32];

	snprintf(at, sizeof at, "%s 12:00", day);
	req.patient_id = patient_b;
	req.provider = "iddoc";
	req.type = "idvisit";
	req.location = "idx";
	req.at = at;
	int rc = tp_call(desk, SCHED, "Book", &req.base, &rep, &st);
	drop(rep);
	CHECK_MSG(rc == FD_NOT_FOUND || rc == FD_FAILED_PRECONDITION, "%d %s", rc, st.message);
	check_no_leak(&st);
	CHECK_INT(scalar("SELECT count(*) FROM appointments WHERE patient_id = %lld", (long long)patient_b), 0);
}

static int assign_room_with(int64_t visit, const char *room, const char *provider, fd_status *st)
{
	Frontdesk__V1__AssignRoomRequest req = FRONTDESK__V1__ASSIGN_ROOM_REQUEST__INIT;
	ProtobufCMessage *rep = NULL;

	req.visit_id = visit;
	req.room = (char *)room;
	req.provider = (char *)provider;
	int rc = tp_call(desk, CHECKIN, "AssignRoom", &req.base, &rep, st);
	drop(rep);
	return rc;
}

static int assign_room(int64_t visit, const char *room, fd_status *st)
{
	return assign_room_with(visit, room, "", st);
}

static void a_room_of_another_location_is_not_given_to_a_visit(void)
{
	NEED_SERVER();
	fd_status st;

	CHECK_INT(assign_room(visit_b, "idx-room", &st), FD_FAILED_PRECONDITION);
	check_no_leak(&st);
	CHECK_INT(scalar("SELECT count(*) FROM visits WHERE id = %lld AND room_id IS NULL"
			 " AND status = 'checked_in'",
			 (long long)visit_b),
		  1);
	/* Nor a provider who does not work where the visit is (smith: main). */
	CHECK_INT(assign_room_with(visit_b, "idy-room", "smith", &st), FD_FAILED_PRECONDITION);
	CHECK_INT(scalar("SELECT count(*) FROM visits WHERE id = %lld AND room_id IS NULL",
			 (long long)visit_b),
		  1);
	CHECK_INT(assign_room_with(visit_b, "idy-room", "iddoc", &st), FD_OK);
}

/* --- who did it: the session, not the request ----------------------- */

static void an_immunization_is_entered_by_the_caller_whatever_the_request_says(void)
{
	NEED_SERVER();
	Frontdesk__V1__AddImmunizationRequest req = FRONTDESK__V1__ADD_IMMUNIZATION_REQUEST__INIT;
	Frontdesk__V1__Immunization im = FRONTDESK__V1__IMMUNIZATION__INIT;
	ProtobufCMessage *rep = NULL;
	fd_status st;

	im.patient_id = patient_a;
	im.cvx_code = "140";
	im.vaccine_name = "Influenza";
	im.administered_on = "2024-10-01";
	im.source = "historical";
	im.entered_by = "admin";
	im.entered_unix_ms = 1000;
	req.immunization = &im;
	CHECK_MSG(tp_call(desk, RECORDS, "AddImmunization", &req.base, &rep, &st) == FD_OK, "%s",
		  st.message);
	if (rep)
		CHECK_STR(((Frontdesk__V1__AddImmunizationReply *)rep)->immunization->entered_by,
			  "reception1");
	drop(rep);
	CHECK_INT(scalar("SELECT count(*) FROM immunizations i JOIN staff s ON s.id = i.entered_by"
			 " WHERE i.patient_id = %lld AND s.username = 'reception1'",
			 (long long)patient_a),
		  1);
}

static void a_refill_step_is_the_callers_whatever_the_request_says(void)
{
	NEED_SERVER();
	Frontdesk__V1__AddRefillRequest req = FRONTDESK__V1__ADD_REFILL_REQUEST__INIT;
	Frontdesk__V1__Refill f = FRONTDESK__V1__REFILL__INIT;
	Frontdesk__V1__RefillStep step = FRONTDESK__V1__REFILL_STEP__INIT;
	Frontdesk__V1__RefillStep *steps[] = { &step };
	ProtobufCMessage *rep = NULL;
	fd_status st;

	step.status = "approved";
	step.staff_username = "drsmith";
	f.patient_id = patient_a;
	f.medication = "Lisinopril 10 mg";
	f.pharmacy = "Corner Pharmacy";
	f.requested_by = "patient";
	f.channel = "desk";
	f.status = "approved";
	f.steps = steps;
	f.n_steps = 1;
	req.refill = &f;
	CHECK_MSG(tp_call(desk, RECORDS, "AddRefill", &req.base, &rep, &st) == FD_OK, "%s", st.message);
	if (rep) {
		const Frontdesk__V1__Refill *got = ((Frontdesk__V1__AddRefillReply *)rep)->refill;
		CHECK_INT(got->n_steps, 1);
		if (got->n_steps == 1)
			CHECK_STR(got->steps[0]->staff_username, "reception1");
		CHECK_STR(got->status, "new");
	}
	drop(rep);
	CHECK_INT(scalar("SELECT count(*) FROM refill_request_steps t JOIN staff s ON s.id = t.staff_id"
			 " WHERE s.username = 'drsmith' AND t.refill_id IN"
			 " (SELECT id FROM refill_requests WHERE patient_id = %lld)",
			 (long long)patient_a),
		  0);
}

static void a_new_policy_is_not_verified_by_whoever_the_request_names(void)
{
	NEED_SERVER();
	Frontdesk__V1__AddPolicyRequest req = FRONTDESK__V1__ADD_POLICY_REQUEST__INIT;
	Frontdesk__V1__InsurancePolicy pol = FRONTDESK__V1__INSURANCE_POLICY__INIT;
	ProtobufCMessage *rep = NULL;
	fd_status st;

	pol.patient_id = patient_a;
	pol.payer = "Acme Health";
	pol.member_id = "M-77";
	pol.subscriber_relationship = "self";
	pol.priority = "primary";
	pol.effective_from = "2024-01-01";
	pol.last_verified_by = "admin";
	pol.last_verified_unix_ms = 1700000000000;
	req.policy = &pol;
	CHECK_MSG(tp_call(desk, INSURANCE, "AddPolicy", &req.base, &rep, &st) == FD_OK, "%s",
		  st.message);
	if (rep) {
		const Frontdesk__V1__InsurancePolicy *got = ((Frontdesk__V1__AddPolicyReply *)rep)->policy;
		CHECK_STR(got->last_verified_by, "");
		CHECK(got->last_verified_unix_ms == 0);
	}
	drop(rep);
	CHECK_INT(scalar("SELECT count(*) FROM insurance_policies WHERE patient_id = %lld"
			 " AND (last_verified_by IS NOT NULL OR last_verified_at IS NOT NULL)",
			 (long long)patient_a),
		  0);
}

static int set_presence(fd_client *c, const char *username, const char *state, fd_status *st,
			char *who, size_t who_size)
{
	Frontdesk__V1__PhoneSetPresenceRequest req = FRONTDESK__V1__PHONE_SET_PRESENCE_REQUEST__INIT;
	ProtobufCMessage *rep = NULL;

	req.state = (char *)state;
	req.username = (char *)username;
	int rc = tp_call(c, PHONE, "SetPresence", &req.base, &rep, st);
	if (rc == FD_OK && who)
		snprintf(who, who_size, "%s",
			 ((Frontdesk__V1__PhoneSetPresenceReply *)rep)->presence->username);
	drop(rep);
	return rc;
}

static long long presence_rows(const char *username, const char *state)
{
	char sql[256];
	snprintf(sql, sizeof sql,
		 "SELECT count(*) FROM phone_presence p JOIN staff s ON s.id = p.staff_id"
		 " WHERE s.username = '%s' AND p.state = '%s'",
		 username, state);
	return tp_db_scalar(db, sql);
}

static void presence_for_someone_else_needs_an_admin(void)
{
	NEED_SERVER();
	char who[64] = "";
	fd_status st;

	CHECK_INT(presence_rows("reception2", "offline"), 0);
	CHECK_INT(set_presence(desk, "reception2", "offline", &st, NULL, 0), FD_PERMISSION_DENIED);
	CHECK_INT(presence_rows("reception2", "offline"), 0);
	/* Yourself, by name or by leaving it empty; an admin explicitly. */
	CHECK_INT(set_presence(desk, "reception1", "available", &st, who, sizeof who), FD_OK);
	CHECK_STR(who, "reception1");
	CHECK_INT(set_presence(desk, "", "offline", &st, who, sizeof who), FD_OK);
	CHECK_STR(who, "reception1");
	CHECK_INT(set_presence(admin, "reception2", "offline", &st, who, sizeof who), FD_OK);
	CHECK_STR(who, "reception2");
	CHECK_INT(presence_rows("reception2", "offline"), 1);
}

static void a_payment_is_received_by_the_caller_at_the_callers_desk(void)
{
	NEED_SERVER();
	Frontdesk__V1__TakePaymentRequest req = FRONTDESK__V1__TAKE_PAYMENT_REQUEST__INIT;
	ProtobufCMessage *rep = NULL;
	fd_status st;

	req.visit_id = visit_b;
	req.amount_cents = 2500;
	req.method = "cash";
	CHECK_MSG(tp_call(desk, CHECKIN, "TakePayment", &req.base, &rep, &st) == FD_OK, "%s",
		  st.message);
	if (rep) {
		const Frontdesk__V1__Payment *pay = ((Frontdesk__V1__PaymentReply *)rep)->payment;
		CHECK_STR(pay->received_by, "reception1");
		CHECK_STR(pay->desk, "idy-1");
	}
	drop(rep);
}

static void a_phone_message_is_taken_by_the_caller(void)
{
	NEED_SERVER();
	Frontdesk__V1__PhoneTakeMessageRequest req = FRONTDESK__V1__PHONE_TAKE_MESSAGE_REQUEST__INIT;
	ProtobufCMessage *rep = NULL;
	fd_status st;

	req.for_username = "drsmith";
	req.caller_name = "A caller";
	req.callback_number = "+12025550123";
	req.reason = "question about a bill";
	CHECK_MSG(tp_call(desk, PHONE, "TakeMessage", &req.base, &rep, &st) == FD_OK, "%s",
		  st.message);
	if (rep)
		CHECK_STR(((Frontdesk__V1__PhoneTakeMessageReply *)rep)->message->taken_by,
			  "reception1");
	drop(rep);
}

/* Everything above sent or read patient data, and some of it was refused:
 * the server's log (info level, the default) names methods, statuses and
 * ids, never a patient's name, birth date, MRN, phone number, medication,
 * pharmacy or insurer. */
static void the_log_holds_no_patient_data(void)
{
	NEED_SERVER();
	static char log[1 << 20];
	char mrn_a[40] = "", sql[128];
	FILE *f;
	size_t n = 0;

	snprintf(sql, sizeof sql, "SELECT mrn FROM patients WHERE id = %lld", (long long)patient_a);
	PGconn *c = tp_db_connect(db);
	PGresult *r = PQexec(c, sql);
	if (PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) == 1)
		snprintf(mrn_a, sizeof mrn_a, "%s", PQgetvalue(r, 0, 0));
	PQclear(r);
	PQfinish(c);
	fd_client_close(admin);
	fd_client_close(desk);
	e2e_stop(&srv);
	f = fopen(srv.log_path, "r");
	CHECK(f != NULL);
	if (f) {
		n = fread(log, 1, sizeof log - 1, f);
		fclose(f);
	}
	log[n] = '\0';
	CHECK_MSG(strstr(log, "call /frontdesk.v1.Intake/Readiness NOT_FOUND") != NULL,
		  "the log has no call lines: %.400s", log);
	const char *secrets[] = { "Idor", "Alpha", "Bravo", "1970-01-01", "1980-01-01",
				  "2025550123", "Lisinopril", "Corner Pharmacy", "Acme Health",
				  "M-77", "question about a bill", mrn_a };
	for (size_t i = 0; i < sizeof secrets / sizeof secrets[0]; i++)
		CHECK_MSG(secrets[i][0] && strstr(log, secrets[i]) == NULL, "the log holds '%s'",
			  secrets[i]);
}

TH_MAIN(TH_CASE(two_locations_two_patients),
	TH_CASE(booking_with_a_room_of_another_location_is_refused),
	TH_CASE(rescheduling_into_a_room_of_another_location_is_refused),
	TH_CASE(readiness_for_one_patient_with_anothers_appointment_is_refused),
	TH_CASE(a_patient_id_with_anothers_mrn_is_refused),
	TH_CASE(booking_a_provider_at_a_location_they_do_not_work_at_is_refused),
	TH_CASE(a_walk_in_with_a_provider_of_another_location_is_refused),
	TH_CASE(a_room_of_another_location_is_not_given_to_a_visit),
	TH_CASE(an_immunization_is_entered_by_the_caller_whatever_the_request_says),
	TH_CASE(a_refill_step_is_the_callers_whatever_the_request_says),
	TH_CASE(a_new_policy_is_not_verified_by_whoever_the_request_names),
	TH_CASE(presence_for_someone_else_needs_an_admin),
	TH_CASE(a_payment_is_received_by_the_caller_at_the_callers_desk),
	TH_CASE(a_phone_message_is_taken_by_the_caller),
	TH_CASE(the_log_holds_no_patient_data))
