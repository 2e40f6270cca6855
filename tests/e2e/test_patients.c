/*
 * Patients end to end, against the real server on a seeded database:
 * registration (names of every script round-trip, phones become E.164, an
 * MRN is generated), bad input refused with nothing written, fuzzy search,
 * the duplicate warning, updates with history and stale-version refusal,
 * merge moving everything, audit rows for every read and write, insurance
 * copays and the verification window, card images, readiness gaps,
 * intake completions, immunizations and the refill queue.
 */
#include <stdarg.h>

#include "e2e.h"
#include "frontdesk/v1/insurance.pb-c.h"
#include "frontdesk/v1/intake.pb-c.h"
#include "frontdesk/v1/patients.pb-c.h"
#include "frontdesk/v1/records.pb-c.h"

#define PATIENTS_SVC (&frontdesk__v1__patients__descriptor)
#define INSURANCE_SVC (&frontdesk__v1__insurance__descriptor)
#define INTAKE_SVC (&frontdesk__v1__intake__descriptor)
#define RECORDS_SVC (&frontdesk__v1__records__descriptor)

static tp_server srv;
static char db[64];
static fd_client *desk; /* reception1 at front-1 */

static bool up(void)
{
	if (srv.pid > 0)
		return true;
	if (!e2e_start(&srv, db, sizeof db, "patients", NULL))
		return false;
	desk = tp_client(&srv);
	return tp_login(desk, "reception1", "front-1") == FD_OK;
}

static fd_client *login_as(const char *user)
{
	fd_client *c = tp_client(&srv);
	if (tp_login(c, user, "front-2") != FD_OK) {
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

static long long audit_rows(long long patient_id)
{
	return scalar("SELECT count(*) FROM audit_log WHERE patient_id = %lld", patient_id);
}

/* --- call helpers ---------------------------------------------------- */

static int reg(fd_client *c, Frontdesk__V1__PatientFields *f, bool confirm,
	       Frontdesk__V1__RegisterPatientReply **rep, fd_status *st)
{
	Frontdesk__V1__RegisterPatientRequest req = FRONTDESK__V1__REGISTER_PATIENT_REQUEST__INIT;
	req.fields = f;
	req.confirm_not_duplicate = confirm;
	*rep = NULL;
	return tp_call(c, PATIENTS_SVC, "RegisterPatient", &req.base, (ProtobufCMessage **)rep, st);
}

/* Registers a person and returns the new id (0 on failure). */
static int64_t register_person(const char *given, const char *family, const char *dob,
			       const char *phone)
{
	Frontdesk__V1__PatientFields f = FRONTDESK__V1__PATIENT_FIELDS__INIT;
	Frontdesk__V1__RegisterPatientReply *rep;
	fd_status st;
	int64_t id = 0;

	f.given_name = (char *)given;
	f.family_name = (char *)family;
	f.date_of_birth = (char *)dob;
	f.phone = (char *)(phone ? phone : "");
	if (reg(desk, &f, true, &rep, &st) == FD_OK) {
		id = rep->patient ? rep->patient->id : 0;
		protobuf_c_message_free_unpacked(&rep->base, NULL);
	} else {
		printf("    register %s %s: %s\n", given, family, st.message);
	}
	return id;
}

static int find(const char *name, const char *dob, const char *phone, const char *mrn,
		Frontdesk__V1__FindPatientsReply **rep, fd_status *st)
{
	Frontdesk__V1__FindPatientsRequest req = FRONTDESK__V1__FIND_PATIENTS_REQUEST__INIT;
	req.name = (char *)(name ? name : "");
	req.date_of_birth = (char *)(dob ? dob : "");
	req.phone = (char *)(phone ? phone : "");
	req.mrn = (char *)(mrn ? mrn : "");
	*rep = NULL;
	return tp_call(desk, PATIENTS_SVC, "FindPatients", &req.base, (ProtobufCMessage **)rep, st);
}

static int get_patient(int64_t id, Frontdesk__V1__GetPatientReply **rep, fd_status *st)
{
	Frontdesk__V1__GetPatientRequest req = FRONTDESK__V1__GET_PATIENT_REQUEST__INIT;
	req.patient_id = id;
	*rep = NULL;
	return tp_call(desk, PATIENTS_SVC, "GetPatient", &req.base, (ProtobufCMessage **)rep, st);
}

static int readiness(int64_t id, uint32_t days, Frontdesk__V1__ReadinessReply **rep, fd_status *st)
{
	Frontdesk__V1__ReadinessRequest req = FRONTDESK__V1__READINESS_REQUEST__INIT;
	req.patient_id = id;
	req.verified_within_days = days;
	*rep = NULL;
	return tp_call(desk, INTAKE_SVC, "Readiness", &req.base, (ProtobufCMessage **)rep, st);
}

static bool has_gap(const Frontdesk__V1__ReadinessReply *r, const char *kind, const char *detail)
{
	for (size_t i = 0; i < r->n_gaps; i++)
		if (strcmp(r->gaps[i]->kind, kind) == 0 &&
		    (!detail || strcmp(r->gaps[i]->detail, detail) == 0))
			return true;
	return false;
}

static int add_policy(int64_t patient_id, const char *priority, int64_t copay_new,
		      int64_t *policy_id, fd_status *st)
{
	Frontdesk__V1__AddPolicyRequest req = FRONTDESK__V1__ADD_POLICY_REQUEST__INIT;
	Frontdesk__V1__InsurancePolicy pol = FRONTDESK__V1__INSURANCE_POLICY__INIT;
	Frontdesk__V1__Copay k1 = FRONTDESK__V1__COPAY__INIT, k2 = FRONTDESK__V1__COPAY__INIT;
	Frontdesk__V1__Copay *ks[] = { &k1, &k2 };
	ProtobufCMessage *rep = NULL;

	pol.patient_id = patient_id;
	pol.payer = "Blue Shield";
	pol.plan = "PPO";
	pol.member_id = "XY123456";
	pol.group_number = "G-77";
	pol.priority = (char *)priority;
	pol.effective_from = "2024-01-01";
	k1.visit_type = "new";
	k1.copay_cents = copay_new;
	k2.visit_type = "follow-up";
	k2.copay_cents = 1500;
	pol.copays = ks;
	pol.n_copays = 2;
	req.policy = &pol;
	int rc = tp_call(desk, INSURANCE_SVC, "AddPolicy", &req.base, &rep, st);
	if (rc == FD_OK) {
		*policy_id = ((Frontdesk__V1__AddPolicyReply *)rep)->policy->id;
		protobuf_c_message_free_unpacked(rep, NULL);
	}
	return rc;
}

static int simple_call(fd_client *c, const ProtobufCServiceDescriptor *svc, const char *method,
		       const ProtobufCMessage *req, fd_status *st)
{
	ProtobufCMessage *rep = NULL;
	int rc = tp_call(c, svc, method, req, &rep, st);
	if (rep)
		protobuf_c_message_free_unpacked(rep, NULL);
	return rc;
}

static int complete_form(int64_t patient_id, const char *code, const char *answers, fd_status *st)
{
	Frontdesk__V1__CompleteFormRequest req = FRONTDESK__V1__COMPLETE_FORM_REQUEST__INIT;
	req.patient_id = patient_id;
	req.form_code = (char *)code;
	req.answers_json = (char *)answers;
	return simple_call(desk, INTAKE_SVC, "CompleteForm", &req.base, st);
}

static const char *const demo_forms[] = { "allergies", "consent-to-treat", "current-medications",
					  "demographics", "financial-policy", "medical-history",
					  "privacy-notice" };

/* --- registration ---------------------------------------------------- */

static void names_of_every_script_round_trip_and_phones_become_e164(void)
{
	static const char *const names[][2] = {
		{ "Siobhán", "O'Brien" }, { "José", "Fernández" }, { "小龍", "李" },
		{ "Thị Minh", "Nguyễn" }, { "Zoë", "Ñúñez-D'Arcy" },
	};
	CHECK(up());
	for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
		Frontdesk__V1__PatientFields f = FRONTDESK__V1__PATIENT_FIELDS__INIT;
		Frontdesk__V1__RegisterPatientReply *rep;
		Frontdesk__V1__GetPatientReply *got;
		fd_status st;
		char phone[32];

		snprintf(phone, sizeof phone, "(617) 555-01%02zu", i);
		f.given_name = (char *)names[i][0];
		f.family_name = (char *)names[i][1];
		f.date_of_birth = "1970-05-17";
		f.phone = phone;
		CHECK_INT(reg(desk, &f, true, &rep, &st), FD_OK);
		CHECK(rep->patient != NULL);
		CHECK(strncmp(rep->patient->mrn, "MRN", 3) == 0);
		int64_t id = rep->patient->id;
		protobuf_c_message_free_unpacked(&rep->base, NULL);
		CHECK_INT(get_patient(id, &got, &st), FD_OK);
		CHECK_STR(got->patient->fields->given_name, names[i][0]);
		CHECK_STR(got->patient->fields->family_name, names[i][1]);
		snprintf(phone, sizeof phone, "+161755501%02zu", i);
		CHECK_STR(got->patient->fields->phone, phone);
		protobuf_c_message_free_unpacked(&got->base, NULL);
	}
	/* International numbers keep their country code. */
	Frontdesk__V1__PatientFields f = FRONTDESK__V1__PATIENT_FIELDS__INIT;
	Frontdesk__V1__RegisterPatientReply *rep;
	fd_status st;
	f.given_name = "Ada";
	f.family_name = "Byron";
	f.date_of_birth = "1815-12-10";
	CHECK_INT(reg(desk, &f, true, &rep, &st), FD_INVALID_ARGUMENT); /* before 1880 */
	f.date_of_birth = "1980-12-10";
	f.phone = "0044 20 7946 0958";
	CHECK_INT(reg(desk, &f, true, &rep, &st), FD_OK);
	CHECK_STR(rep->patient->fields->phone, "+442079460958");
	protobuf_c_message_free_unpacked(&rep->base, NULL);
}

static void bad_input_is_refused_and_nothing_is_written(void)
{
	static char huge[10001];
	static const struct {
		const char *given, *dob, *phone, *email;
	} bad[] = {
		{ huge, "1970-01-01", "", "" },
		{ "Ann", "2001-02-30", "", "" },
		{ "Ann", "2023-02-29", "", "" },
		{ "Ann", "2999-01-01", "", "" },
		{ "Ann", "1970-13-01", "", "" },
		{ "Ann", "70-01-01", "", "" },
		{ "Ann", "1970-01-01", "555-CALL-NOW", "" },
		{ "Ann", "1970-01-01", "12345", "" },
		{ "\x1b[31mAnn", "1970-01-01", "", "" },
		{ "Ann\n", "1970-01-01", "", "" },
		{ "", "1970-01-01", "", "" },
		{ "Ann", "1970-01-01", "", "not-an-email" },
	};
	CHECK(up());
	memset(huge, 'a', sizeof huge - 1);
	long long before = tp_db_scalar(db, "SELECT count(*) FROM patients");
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		Frontdesk__V1__PatientFields f = FRONTDESK__V1__PATIENT_FIELDS__INIT;
		Frontdesk__V1__RegisterPatientReply *rep;
		fd_status st;
		f.given_name = (char *)bad[i].given;
		f.family_name = "Example";
		f.date_of_birth = (char *)bad[i].dob;
		f.phone = (char *)bad[i].phone;
		f.email = (char *)bad[i].email;
		CHECK_MSG(reg(desk, &f, true, &rep, &st) == FD_INVALID_ARGUMENT, "case %zu: %s", i,
			  st.message);
		CHECK(strstr(st.message, "Example") == NULL); /* no patient data echoed */
	}
	CHECK(tp_db_scalar(db, "SELECT count(*) FROM patients") == before);

	/* Free text is stored exactly as given, escape sequences included. */
	Frontdesk__V1__PatientFields f = FRONTDESK__V1__PATIENT_FIELDS__INIT;
	Frontdesk__V1__RegisterPatientReply *rep;
	Frontdesk__V1__GetPatientReply *got;
	fd_status st;
	f.given_name = "Esc";
	f.family_name = "Sequence";
	f.date_of_birth = "1990-01-01";
	f.address = "1 Main St\n\x1b[2J\xe2\x80\xae Apt 3";
	CHECK_INT(reg(desk, &f, true, &rep, &st), FD_OK);
	CHECK_INT(get_patient(rep->patient->id, &got, &st), FD_OK);
	CHECK_STR(got->patient->fields->address, f.address);
	protobuf_c_message_free_unpacked(&rep->base, NULL);
	protobuf_c_message_free_unpacked(&got->base, NULL);

	/* Unknown ids are NOT_FOUND. */
	CHECK_INT(get_patient(987654321, &got, &st), FD_NOT_FOUND);
}

/* --- search ---------------------------------------------------------- */

static void fuzzy_search_finds_typos_and_swapped_words(void)
{
	Frontdesk__V1__FindPatientsReply *rep;
	fd_status st;

	CHECK(up());
	int64_t id = register_person("Bartholomew", "Quigley", "1961-03-04", "+1 212 555 0199");
	CHECK(id > 0);
	CHECK(register_person("Bertha", "Quinn", "1962-03-04", NULL) > 0);
	static const char *const typed[] = { "Bartholomwe Quigly", "Quigley Bartholomew",
					     "bartolomew quigley", "BARTHOLOMEW QUIGLY" };
	for (size_t i = 0; i < sizeof typed / sizeof typed[0]; i++) {
		CHECK_INT(find(typed[i], NULL, NULL, NULL, &rep, &st), FD_OK);
		CHECK_MSG(rep->n_patients >= 1 && rep->patients[0]->id == id,
			  "\"%s\" did not rank the patient first", typed[i]);
		protobuf_c_message_free_unpacked(&rep->base, NULL);
	}
	/* The example against the demo clinic's John Smiths. */
	CHECK_INT(find("Jonh Smtih", NULL, NULL, NULL, &rep, &st), FD_OK);
	CHECK(rep->n_patients >= 1);
	CHECK_STR(rep->patients[0]->given_name, "John");
	CHECK_STR(rep->patients[0]->family_name, "Smith");
	for (size_t i = 1; i < rep->n_patients; i++)
		CHECK(rep->patients[i]->score <= rep->patients[i - 1]->score);
	protobuf_c_message_free_unpacked(&rep->base, NULL);
}

/* Typed without accents, the name still meets the record as registered:
 * a close namesake written without accents (which the search meets first,
 * as a close match) does not hide it. */
static void search_without_accents_finds_the_accented_name(void)
{
	Frontdesk__V1__FindPatientsReply *rep;
	fd_status st;
	bool found = false;

	CHECK(up());
	int64_t jose = register_person("José", "Garcíaño", "1970-01-02", NULL);
	CHECK(jose > 0);
	int64_t josef = register_person("Josef", "Garciano", "1971-01-02", NULL);
	CHECK(josef > 0);
	CHECK_INT(find("jose garciano", NULL, NULL, NULL, &rep, &st), FD_OK);
	for (size_t i = 0; i < rep->n_patients; i++)
		found = found || rep->patients[i]->id == jose;
	CHECK_MSG(found, "\"jose garciano\" did not find José Garcíaño");
	protobuf_c_message_free_unpacked(&rep->base, NULL);
}

static void search_by_birth_date_phone_and_mrn_combines_filters(void)
{
	Frontdesk__V1__FindPatientsReply *rep;
	Frontdesk__V1__GetPatientReply *got;
	fd_status st;

	CHECK(up());
	int64_t a = register_person("Filter", "Person", "1955-07-08", "212-555-0147");
	int64_t b = register_person("Other", "Person", "1955-07-08", "212-555-0148");
	CHECK(a > 0 && b > 0);
	CHECK_INT(find(NULL, "1955-07-08", NULL, NULL, &rep, &st), FD_OK);
	CHECK_INT(rep->n_patients, 2);
	protobuf_c_message_free_unpacked(&rep->base, NULL);
	CHECK_INT(find(NULL, "1955-07-08", "(212) 555 0147", NULL, &rep, &st), FD_OK);
	CHECK_INT(rep->n_patients, 1);
	CHECK_INT(rep->patients[0]->id, a);
	protobuf_c_message_free_unpacked(&rep->base, NULL);
	CHECK_INT(find("Filter Person", "1999-01-01", NULL, NULL, &rep, &st), FD_OK);
	CHECK_INT(rep->n_patients, 0);
	protobuf_c_message_free_unpacked(&rep->base, NULL);
	CHECK_INT(get_patient(b, &got, &st), FD_OK);
	char mrn[32];
	snprintf(mrn, sizeof mrn, "%s", got->patient->mrn);
	protobuf_c_message_free_unpacked(&got->base, NULL);
	for (char *p = mrn; *p; p++)
		*p = (char)(*p | 0x20); /* any case */
	CHECK_INT(find(NULL, NULL, NULL, mrn, &rep, &st), FD_OK);
	CHECK_INT(rep->n_patients, 1);
	CHECK_INT(rep->patients[0]->id, b);
	protobuf_c_message_free_unpacked(&rep->base, NULL);
	CHECK_INT(find(NULL, NULL, NULL, NULL, &rep, &st), FD_INVALID_ARGUMENT);
}

/* --- duplicates, updates, history ------------------------------------ */

static void a_possible_duplicate_is_shown_and_can_be_registered_anyway(void)
{
	Frontdesk__V1__PatientFields f = FRONTDESK__V1__PATIENT_FIELDS__INIT;
	Frontdesk__V1__RegisterPatientReply *rep;
	fd_status st;

	CHECK(up());
	int64_t first = register_person("Dup", "Licate", "1977-07-07", "+1 303 555 0100");
	CHECK(first > 0);
	long long before = tp_db_scalar(db, "SELECT count(*) FROM patients");
	f.given_name = "DUP";
	f.family_name = "licate";
	f.date_of_birth = "1977-07-07";
	CHECK_INT(reg(desk, &f, false, &rep, &st), FD_OK);
	CHECK(rep->patient == NULL);
	CHECK_INT(rep->n_possible_duplicates, 1);
	CHECK_INT(rep->possible_duplicates[0]->id, first);
	CHECK_STR(rep->possible_duplicates[0]->match, "name_and_birth_date");
	protobuf_c_message_free_unpacked(&rep->base, NULL);
	/* Showing the possible duplicate is a read of that record: audited. */
	CHECK(scalar("SELECT count(*) FROM audit_log WHERE patient_id = %lld"
		     " AND method LIKE '%%RegisterPatient'", (long long)first) == 2);
	/* Same phone, different person. */
	f.given_name = "Other";
	f.date_of_birth = "1990-01-01";
	f.phone = "303.555.0100";
	CHECK_INT(reg(desk, &f, false, &rep, &st), FD_OK);
	CHECK(rep->patient == NULL);
	CHECK_INT(rep->n_possible_duplicates, 1);
	CHECK_STR(rep->possible_duplicates[0]->match, "phone");
	protobuf_c_message_free_unpacked(&rep->base, NULL);
	CHECK(tp_db_scalar(db, "SELECT count(*) FROM patients") == before);
	CHECK_INT(reg(desk, &f, true, &rep, &st), FD_OK);
	CHECK(rep->patient != NULL && rep->patient->id != first);
	protobuf_c_message_free_unpacked(&rep->base, NULL);
}

static int update_phone(fd_client *c, int64_t id, const char *phone, int32_t version,
			fd_status *st)
{
	Frontdesk__V1__UpdatePatientRequest req = FRONTDESK__V1__UPDATE_PATIENT_REQUEST__INIT;
	Frontdesk__V1__PatientFields f = FRONTDESK__V1__PATIENT_FIELDS__INIT;
	char *mask[] = { "phone" };
	f.phone = (char *)phone;
	req.patient_id = id;
	req.fields = &f;
	req.update_mask = mask;
	req.n_update_mask = 1;
	req.expected_version = version;
	return simple_call(c, PATIENTS_SVC, "UpdatePatient", &req.base, st);
}

static void updates_are_kept_in_the_history_with_who_and_what(void)
{
	Frontdesk__V1__PatientHistoryRequest req = FRONTDESK__V1__PATIENT_HISTORY_REQUEST__INIT;
	Frontdesk__V1__PatientHistoryReply *rep = NULL;
	fd_status st;

	CHECK(up());
	int64_t id = register_person("Hist", "Ory", "1966-06-06", "+1 415 555 0111");
	CHECK(id > 0);
	CHECK_INT(update_phone(desk, id, "415 555 0122", 1, &st), FD_OK);
	req.patient_id = id;
	CHECK_INT(tp_call(desk, PATIENTS_SVC, "PatientHistory", &req.base,
			  (ProtobufCMessage **)&rep, &st),
		  FD_OK);
	CHECK_INT(rep->n_changes, 2);
	CHECK_STR(rep->changes[0]->action, "changed");
	CHECK_STR(rep->changes[0]->staff_username, "reception1");
	CHECK_STR(rep->changes[0]->desk, "front-1");
	CHECK(strstr(rep->changes[0]->changes_json, "\"phone_e164\"") != NULL);
	CHECK(strstr(rep->changes[0]->changes_json, "+14155550111") != NULL);
	CHECK(strstr(rep->changes[0]->changes_json, "+14155550122") != NULL);
	CHECK_STR(rep->changes[1]->action, "created");
	protobuf_c_message_free_unpacked(&rep->base, NULL);
	/* A mask naming a field that does not exist is refused. */
	Frontdesk__V1__UpdatePatientRequest u = FRONTDESK__V1__UPDATE_PATIENT_REQUEST__INIT;
	char *mask[] = { "mrn" };
	u.patient_id = id;
	u.update_mask = mask;
	u.n_update_mask = 1;
	CHECK_INT(simple_call(desk, PATIENTS_SVC, "UpdatePatient", &u.base, &st),
		  FD_INVALID_ARGUMENT);
	/* Clearing the family name is refused. */
	char *family[] = { "family_name" };
	u.update_mask = family;
	CHECK_INT(simple_call(desk, PATIENTS_SVC, "UpdatePatient", &u.base, &st),
		  FD_INVALID_ARGUMENT);
}

struct updater {
	pthread_t thread;
	const char *token;
	const char *phone;
	int64_t id;
	int code;
};

static void *update_concurrently(void *arg)
{
	struct updater *u = arg;
	fd_status st;
	fd_client *c = tp_client(&srv);
	fd_client_set_token(c, u->token);
	u->code = update_phone(c, u->id, u->phone, 1, &st);
	fd_client_close(c);
	return NULL;
}

static void two_desks_updating_the_same_version_one_wins_the_other_is_told(void)
{
	struct updater u[2];

	CHECK(up());
	int64_t id = register_person("Race", "Condition", "1950-05-05", NULL);
	CHECK(id > 0);
	fd_client *other = login_as("reception2");
	CHECK(other != NULL);
	u[0] = (struct updater){ .token = fd_client_token(desk), .phone = "2125550170", .id = id };
	u[1] = (struct updater){ .token = fd_client_token(other), .phone = "2125550171", .id = id };
	for (int i = 0; i < 2; i++)
		pthread_create(&u[i].thread, NULL, update_concurrently, &u[i]);
	for (int i = 0; i < 2; i++)
		pthread_join(u[i].thread, NULL);
	CHECK_MSG((u[0].code == FD_OK) != (u[1].code == FD_OK), "codes %d and %d", u[0].code,
		  u[1].code);
	CHECK(u[0].code == FD_ABORTED || u[1].code == FD_ABORTED);
	CHECK(scalar("SELECT version FROM patients WHERE id = %lld", (long long)id) == 2);
	fd_client_close(other);
}

/* --- merge ----------------------------------------------------------- */

static void merge_moves_everything_to_the_survivor(void)
{
	Frontdesk__V1__MergePatientsRequest req = FRONTDESK__V1__MERGE_PATIENTS_REQUEST__INIT;
	Frontdesk__V1__MergePatientsReply *rep = NULL;
	fd_status st;
	int64_t pol_a, pol_b, pol_c;

	CHECK(up());
	int64_t keep = register_person("Merge", "Keeper", "1944-04-04", NULL);
	int64_t dup = register_person("Merge", "Keeper", "1944-04-04", NULL);
	CHECK(keep > 0 && dup > 0);
	CHECK_INT(add_policy(keep, "primary", 2500, &pol_a, &st), FD_OK);
	CHECK_INT(add_policy(dup, "primary", 3000, &pol_b, &st), FD_OK);
	CHECK_INT(add_policy(dup, "secondary", 0, &pol_c, &st), FD_OK);
	CHECK_INT(complete_form(dup, "allergies", "{\"allergies\":\"none\"}", &st), FD_OK);
	Frontdesk__V1__AddImmunizationRequest ir = FRONTDESK__V1__ADD_IMMUNIZATION_REQUEST__INIT;
	Frontdesk__V1__Immunization im = FRONTDESK__V1__IMMUNIZATION__INIT;
	im.patient_id = dup;
	im.cvx_code = "141";
	im.administered_on = "2024-10-01";
	im.source = "historical";
	ir.immunization = &im;
	CHECK_INT(simple_call(desk, RECORDS_SVC, "AddImmunization", &ir.base, &st), FD_OK);
	Frontdesk__V1__AddRefillRequest rr = FRONTDESK__V1__ADD_REFILL_REQUEST__INIT;
	Frontdesk__V1__Refill rf = FRONTDESK__V1__REFILL__INIT;
	rf.patient_id = dup;
	rf.medication = "Lisinopril 10 mg";
	rf.requested_by = "patient";
	rr.refill = &rf;
	CHECK_INT(simple_call(desk, RECORDS_SVC, "AddRefill", &rr.base, &st), FD_OK);

	/* A table a later migration might add (visits, payments): moved too,
	 * because it declares its foreign key to patients. */
	char sql[256];
	CHECK(tp_db_exec(db, "CREATE TABLE IF NOT EXISTS merge_probe (id serial PRIMARY KEY,"
			     " patient_id bigint NOT NULL REFERENCES patients (id))") == 0);
	snprintf(sql, sizeof sql, "INSERT INTO merge_probe (patient_id) VALUES (%lld), (%lld)",
		 (long long)dup, (long long)dup);
	CHECK(tp_db_exec(db, sql) == 0);

	req.survivor_id = keep;
	req.merged_id = dup;
	req.reason = "same person registered twice";
	CHECK_INT(tp_call(desk, PATIENTS_SVC, "MergePatients", &req.base,
			  (ProtobufCMessage **)&rep, &st),
		  FD_OK);
	CHECK(rep->rows_moved >= 7);
	CHECK_INT(rep->survivor->id, keep);
	protobuf_c_message_free_unpacked(&rep->base, NULL);

	CHECK(scalar("SELECT merged_into FROM patients WHERE id = %lld", (long long)dup) == keep);
	CHECK(scalar("SELECT (SELECT count(*) FROM insurance_policies WHERE patient_id = %lld)"
		     " + (SELECT count(*) FROM intake_completions WHERE patient_id = %lld)"
		     " + (SELECT count(*) FROM immunizations WHERE patient_id = %lld)"
		     " + (SELECT count(*) FROM refill_requests WHERE patient_id = %lld)",
		     (long long)dup, (long long)dup, (long long)dup, (long long)dup) == 0);
	CHECK(scalar("SELECT count(*) FROM insurance_policies WHERE patient_id = %lld", (long long)keep) == 3);
	/* Two primaries cannot both stay active: the duplicate's is kept inactive. */
	CHECK(scalar("SELECT count(*) FROM insurance_policies WHERE patient_id = %lld"
		     " AND active AND priority = 'primary'", (long long)keep) == 1);
	CHECK(scalar("SELECT count(*) FROM immunizations WHERE patient_id = %lld", (long long)keep) == 1);
	CHECK(scalar("SELECT count(*) FROM refill_requests WHERE patient_id = %lld", (long long)keep) == 1);
	CHECK(scalar("SELECT count(*) FROM intake_completions WHERE patient_id = %lld", (long long)keep) == 1);
	CHECK(scalar("SELECT count(*) FROM merge_probe WHERE patient_id = %lld", (long long)keep) == 2);
	CHECK(scalar("SELECT count(*) FROM appointments WHERE patient_id = %lld", (long long)dup) <= 0);
	/* Audited against both records; the history says merged. */
	CHECK(scalar("SELECT count(*) FROM audit_log WHERE method LIKE '%%MergePatients'"
		     " AND patient_id = %lld", (long long)dup) == 1);
	CHECK(scalar("SELECT count(*) FROM audit_log WHERE method LIKE '%%MergePatients'"
		     " AND patient_id = %lld", (long long)keep) == 1);
	CHECK(scalar("SELECT count(*) FROM patient_history WHERE patient_id = %lld"
		     " AND action = 'merged' AND record = 'patient'", (long long)dup) == 1);
	/* The merged record takes no new data and cannot be merged again. */
	CHECK_INT(update_phone(desk, dup, "2125550100", 0, &st), FD_FAILED_PRECONDITION);
	CHECK_INT(add_policy(dup, "tertiary", 0, &pol_c, &st), FD_FAILED_PRECONDITION);
	CHECK_INT(tp_call(desk, PATIENTS_SVC, "MergePatients", &req.base,
			  (ProtobufCMessage **)&rep, &st),
		  FD_FAILED_PRECONDITION);
	req.merged_id = keep;
	CHECK_INT(tp_call(desk, PATIENTS_SVC, "MergePatients", &req.base,
			  (ProtobufCMessage **)&rep, &st),
		  FD_INVALID_ARGUMENT);
	/* Search hides merged records unless asked. */
	Frontdesk__V1__FindPatientsReply *found;
	CHECK_INT(find("Merge Keeper", NULL, NULL, NULL, &found, &st), FD_OK);
	CHECK_INT(found->n_patients, 1);
	protobuf_c_message_free_unpacked(&found->base, NULL);
}

/* --- audit ----------------------------------------------------------- */

static void every_read_and_write_of_a_patient_leaves_an_audit_row(void)
{
	Frontdesk__V1__GetPatientReply *got;
	Frontdesk__V1__FindPatientsReply *found;
	Frontdesk__V1__ReadinessReply *ready;
	fd_status st;
	int64_t pol;

	CHECK(up());
	int64_t id = register_person("Audit", "Trail", "1933-03-03", NULL);
	CHECK(id > 0);
	long long n = audit_rows(id);
	CHECK(n == 1);
	CHECK_INT(get_patient(id, &got, &st), FD_OK);
	protobuf_c_message_free_unpacked(&got->base, NULL);
	CHECK(audit_rows(id) == ++n);
	CHECK_INT(find("Audit Trail", NULL, NULL, NULL, &found, &st), FD_OK);
	protobuf_c_message_free_unpacked(&found->base, NULL);
	CHECK(audit_rows(id) == ++n);
	CHECK_INT(update_phone(desk, id, "2125550190", 0, &st), FD_OK);
	CHECK(audit_rows(id) == ++n);
	CHECK_INT(add_policy(id, "primary", 100, &pol, &st), FD_OK);
	CHECK(audit_rows(id) == ++n);
	Frontdesk__V1__ListPoliciesRequest lp = FRONTDESK__V1__LIST_POLICIES_REQUEST__INIT;
	lp.patient_id = id;
	CHECK_INT(simple_call(desk, INSURANCE_SVC, "ListPolicies", &lp.base, &st), FD_OK);
	CHECK(audit_rows(id) == ++n);
	CHECK_INT(readiness(id, 0, &ready, &st), FD_OK);
	protobuf_c_message_free_unpacked(&ready->base, NULL);
	CHECK(audit_rows(id) == ++n);
	Frontdesk__V1__IntakeStatusRequest is = FRONTDESK__V1__INTAKE_STATUS_REQUEST__INIT;
	is.patient_id = id;
	CHECK_INT(simple_call(desk, INTAKE_SVC, "IntakeStatus", &is.base, &st), FD_OK);
	CHECK(audit_rows(id) == ++n);
	Frontdesk__V1__ListImmunizationsRequest li = FRONTDESK__V1__LIST_IMMUNIZATIONS_REQUEST__INIT;
	li.patient_id = id;
	CHECK_INT(simple_call(desk, RECORDS_SVC, "ListImmunizations", &li.base, &st), FD_OK);
	CHECK(audit_rows(id) == ++n);
	Frontdesk__V1__AddRefillRequest ar = FRONTDESK__V1__ADD_REFILL_REQUEST__INIT;
	Frontdesk__V1__Refill rf = FRONTDESK__V1__REFILL__INIT;
	rf.patient_id = id;
	rf.medication = "Atorvastatin 20 mg";
	rf.requested_by = "patient";
	ar.refill = &rf;
	CHECK_INT(simple_call(desk, RECORDS_SVC, "AddRefill", &ar.base, &st), FD_OK);
	CHECK(audit_rows(id) == ++n);
	Frontdesk__V1__ListRefillsRequest lr = FRONTDESK__V1__LIST_REFILLS_REQUEST__INIT;
	lr.patient_id = id;
	CHECK_INT(simple_call(desk, RECORDS_SVC, "ListRefills", &lr.base, &st), FD_OK);
	CHECK(audit_rows(id) == ++n);
	lr.patient_id = 0; /* the whole queue shows this patient once */
	CHECK_INT(simple_call(desk, RECORDS_SVC, "ListRefills", &lr.base, &st), FD_OK);
	CHECK(audit_rows(id) == ++n);
	Frontdesk__V1__PatientHistoryRequest hr = FRONTDESK__V1__PATIENT_HISTORY_REQUEST__INIT;
	hr.patient_id = id;
	CHECK_INT(simple_call(desk, PATIENTS_SVC, "PatientHistory", &hr.base, &st), FD_OK);
	CHECK(audit_rows(id) == ++n);
	/* A refused write is audited too, with its outcome. */
	CHECK_INT(update_phone(desk, id, "not a phone", 0, &st), FD_INVALID_ARGUMENT);
	CHECK(audit_rows(id) == ++n);
	CHECK(scalar("SELECT count(*) FROM audit_log WHERE patient_id = %lld"
		     " AND outcome = 'INVALID_ARGUMENT'", (long long)id) == 1);
	CHECK(scalar("SELECT count(*) FROM audit_log WHERE patient_id = %lld"
		     " AND staff_id IS NULL", (long long)id) == 0);
}

/* --- insurance ------------------------------------------------------- */

static void insurance_copays_priorities_and_the_verification_window(void)
{
	Frontdesk__V1__ListPoliciesRequest lp = FRONTDESK__V1__LIST_POLICIES_REQUEST__INIT;
	Frontdesk__V1__ListPoliciesReply *list = NULL;
	Frontdesk__V1__ReadinessReply *ready;
	fd_status st;
	int64_t pol, other;
	char sql[256];

	CHECK(up());
	int64_t id = register_person("Insured", "Person", "1988-08-08", NULL);
	CHECK(id > 0);
	CHECK_INT(add_policy(id, "primary", -1, &pol, &st), FD_INVALID_ARGUMENT);
	CHECK_INT(add_policy(id, "quaternary", 100, &pol, &st), FD_INVALID_ARGUMENT);
	CHECK_INT(add_policy(987654321, "primary", 100, &pol, &st), FD_NOT_FOUND);
	CHECK_INT(add_policy(id, "primary", 2500, &pol, &st), FD_OK);
	CHECK_INT(add_policy(id, "primary", 2500, &other, &st), FD_ALREADY_EXISTS);
	lp.patient_id = id;
	CHECK_INT(tp_call(desk, INSURANCE_SVC, "ListPolicies", &lp.base,
			  (ProtobufCMessage **)&list, &st),
		  FD_OK);
	CHECK_INT(list->n_policies, 1);
	CHECK_INT(list->policies[0]->n_copays, 2);
	CHECK_STR(list->policies[0]->copays[0]->visit_type, "follow-up");
	CHECK_INT(list->policies[0]->copays[0]->copay_cents, 1500);
	CHECK_STR(list->policies[0]->copays[1]->visit_type, "new");
	CHECK_INT(list->policies[0]->copays[1]->copay_cents, 2500);
	CHECK_INT(list->policies[0]->last_verified_unix_ms, 0);
	protobuf_c_message_free_unpacked(&list->base, NULL);

	CHECK_INT(readiness(id, 0, &ready, &st), FD_OK);
	CHECK(has_gap(ready, "insurance_not_verified", "primary"));
	protobuf_c_message_free_unpacked(&ready->base, NULL);
	Frontdesk__V1__VerifyPolicyRequest vr = FRONTDESK__V1__VERIFY_POLICY_REQUEST__INIT;
	vr.policy_id = pol;
	CHECK_INT(simple_call(desk, INSURANCE_SVC, "VerifyPolicy", &vr.base, &st), FD_OK);
	CHECK_INT(readiness(id, 0, &ready, &st), FD_OK);
	CHECK(!has_gap(ready, "insurance_not_verified", NULL));
	CHECK(!has_gap(ready, "insurance_missing", NULL));
	protobuf_c_message_free_unpacked(&ready->base, NULL);
	CHECK(scalar("SELECT count(*) FROM insurance_policies p JOIN staff s"
		     " ON s.id = p.last_verified_by WHERE p.id = %lld AND s.username = 'reception1'",
		     (long long)pol) == 1);
	/* Verified 40 days ago: stale for a 30-day window, fine for 60. */
	snprintf(sql, sizeof sql,
		 "UPDATE insurance_policies SET last_verified_at = now() - interval '40 days'"
		 " WHERE id = %lld", (long long)pol);
	CHECK(tp_db_exec(db, sql) == 0);
	CHECK_INT(readiness(id, 30, &ready, &st), FD_OK);
	CHECK(has_gap(ready, "insurance_not_verified", "primary"));
	protobuf_c_message_free_unpacked(&ready->base, NULL);
	CHECK_INT(readiness(id, 60, &ready, &st), FD_OK);
	CHECK(!has_gap(ready, "insurance_not_verified", NULL));
	protobuf_c_message_free_unpacked(&ready->base, NULL);
	/* Ended yesterday: expired. */
	snprintf(sql, sizeof sql,
		 "UPDATE insurance_policies SET effective_until = current_date - 1 WHERE id = %lld",
		 (long long)pol);
	CHECK(tp_db_exec(db, sql) == 0);
	CHECK_INT(readiness(id, 60, &ready, &st), FD_OK);
	CHECK(has_gap(ready, "insurance_expired", "primary"));
	protobuf_c_message_free_unpacked(&ready->base, NULL);
	/* Ending it frees the primary slot for the new policy. */
	Frontdesk__V1__EndPolicyRequest er = FRONTDESK__V1__END_POLICY_REQUEST__INIT;
	er.policy_id = pol;
	CHECK_INT(simple_call(desk, INSURANCE_SVC, "EndPolicy", &er.base, &st), FD_OK);
	CHECK_INT(simple_call(desk, INSURANCE_SVC, "VerifyPolicy", &vr.base, &st),
		  FD_FAILED_PRECONDITION);
	CHECK_INT(add_policy(id, "primary", 2000, &other, &st), FD_OK);
	/* Billing may verify; a nurse may not. */
	fd_client *nurse = login_as("nurse1");
	CHECK(nurse != NULL);
	vr.policy_id = other;
	CHECK_INT(simple_call(nurse, INSURANCE_SVC, "VerifyPolicy", &vr.base, &st),
		  FD_PERMISSION_DENIED);
	fd_client_close(nurse);
}

static void card_images_are_type_checked_size_limited_and_retrievable(void)
{
	static uint8_t png[64] = { 0x89, 'P', 'N', 'G', 0x0d, 0x0a, 0x1a, 0x0a };
	Frontdesk__V1__PutCardRequest put = FRONTDESK__V1__PUT_CARD_REQUEST__INIT;
	Frontdesk__V1__GetCardRequest get = FRONTDESK__V1__GET_CARD_REQUEST__INIT;
	Frontdesk__V1__GetCardReply *card = NULL;
	fd_status st;
	int64_t pol;

	CHECK(up());
	int64_t id = register_person("Card", "Holder", "1977-01-01", NULL);
	CHECK(id > 0);
	CHECK_INT(add_policy(id, "primary", 0, &pol, &st), FD_OK);
	for (size_t i = 8; i < sizeof png; i++)
		png[i] = (uint8_t)(i * 7);
	put.policy_id = pol;
	put.side = "front";
	put.image.data = png;
	put.image.len = sizeof png;
	CHECK_INT(simple_call(desk, INSURANCE_SVC, "PutCard", &put.base, &st), FD_OK);
	get.policy_id = pol;
	get.side = "front";
	CHECK_INT(tp_call(desk, INSURANCE_SVC, "GetCard", &get.base, (ProtobufCMessage **)&card,
			  &st),
		  FD_OK);
	CHECK_STR(card->content_type, "image/png");
	CHECK_INT(card->image.len, sizeof png);
	CHECK(memcmp(card->image.data, png, sizeof png) == 0);
	CHECK_STR(card->uploaded_by, "reception1");
	protobuf_c_message_free_unpacked(&card->base, NULL);
	get.side = "back";
	CHECK_INT(tp_call(desk, INSURANCE_SVC, "GetCard", &get.base, (ProtobufCMessage **)&card,
			  &st),
		  FD_NOT_FOUND);
	/* Not an image: refused whatever it is called. */
	put.side = "back";
	put.image.data = (uint8_t *)"GIF89a this is not accepted";
	put.image.len = 27;
	CHECK_INT(simple_call(desk, INSURANCE_SVC, "PutCard", &put.base, &st), FD_INVALID_ARGUMENT);
	/* Too big, though a real JPEG header. */
	size_t big = 800 * 1024;
	uint8_t *jpeg = calloc(1, big);
	CHECK(jpeg != NULL);
	jpeg[0] = 0xff, jpeg[1] = 0xd8, jpeg[2] = 0xff;
	put.image.data = jpeg;
	put.image.len = big;
	int rc = simple_call(desk, INSURANCE_SVC, "PutCard", &put.base, &st);
	free(jpeg);
	CHECK_INT(rc, FD_INVALID_ARGUMENT);
	put.side = "sideways";
	put.image.data = png;
	put.image.len = sizeof png;
	CHECK_INT(simple_call(desk, INSURANCE_SVC, "PutCard", &put.base, &st), FD_INVALID_ARGUMENT);
	CHECK(scalar("SELECT count(*) FROM insurance_cards WHERE policy_id = %lld", (long long)pol) == 1);
}

/* --- intake and readiness -------------------------------------------- */

static void readiness_lists_every_gap_until_each_is_fixed(void)
{
	Frontdesk__V1__ReadinessReply *ready;
	fd_status st;
	int64_t pol;
	char sql[256];

	CHECK(up());
	int64_t id = register_person("Ready", "Ornot", "1999-09-09", NULL);
	CHECK(id > 0);
	CHECK(tp_db_exec(db, "UPDATE patients SET interpreter_needed = true,"
			     " preferred_language = 'vi' WHERE family_name = 'Ornot'") == 0);
	CHECK_INT(readiness(id, 0, &ready, &st), FD_OK);
	CHECK(!ready->ready);
	for (size_t i = 0; i < sizeof demo_forms / sizeof demo_forms[0]; i++)
		CHECK_MSG(has_gap(ready, "form_missing", demo_forms[i]), "%s", demo_forms[i]);
	CHECK(has_gap(ready, "insurance_missing", NULL));
	CHECK(has_gap(ready, "interpreter_needed", "vi"));
	protobuf_c_message_free_unpacked(&ready->base, NULL);

	for (size_t i = 0; i < sizeof demo_forms / sizeof demo_forms[0]; i++)
		CHECK_INT(complete_form(id, demo_forms[i], "{\"signed\":true}", &st), FD_OK);
	CHECK_INT(complete_form(id, "allergies", "[1,2]", &st), FD_INVALID_ARGUMENT);
	CHECK_INT(complete_form(id, "allergies", "{broken", &st), FD_INVALID_ARGUMENT);
	CHECK_INT(complete_form(id, "no-such-form", "{}", &st), FD_NOT_FOUND);
	CHECK_INT(add_policy(id, "primary", 0, &pol, &st), FD_OK);
	Frontdesk__V1__VerifyPolicyRequest vr = FRONTDESK__V1__VERIFY_POLICY_REQUEST__INIT;
	vr.policy_id = pol;
	CHECK_INT(simple_call(desk, INSURANCE_SVC, "VerifyPolicy", &vr.base, &st), FD_OK);
	CHECK_INT(readiness(id, 0, &ready, &st), FD_OK);
	CHECK_INT(ready->n_gaps, 1); /* only the interpreter remains */
	CHECK(has_gap(ready, "interpreter_needed", "vi"));
	protobuf_c_message_free_unpacked(&ready->base, NULL);

	/* A completion older than the form's validity has expired. */
	snprintf(sql, sizeof sql,
		 "UPDATE intake_completions SET completed_at = now() - interval '400 days'"
		 " WHERE patient_id = %lld AND form_id = (SELECT id FROM intake_forms"
		 " WHERE code = 'allergies' AND version = 1)", (long long)id);
	CHECK(tp_db_exec(db, sql) == 0);
	/* A new version of a form makes older completions outdated. */
	fd_client *admin = login_as("admin");
	CHECK(admin != NULL);
	Frontdesk__V1__DefineFormRequest dr = FRONTDESK__V1__DEFINE_FORM_REQUEST__INIT;
	Frontdesk__V1__IntakeForm form = FRONTDESK__V1__INTAKE_FORM__INIT;
	Frontdesk__V1__DefineFormReply *defined = NULL;
	form.code = "financial-policy";
	form.title = "Financial policy (2026)";
	form.valid_days = 365;
	form.required = true;
	form.questions_json = "[{\"id\":\"accepted\"}]";
	dr.form = &form;
	CHECK_INT(tp_call(admin, INTAKE_SVC, "DefineForm", &dr.base,
			  (ProtobufCMessage **)&defined, &st),
		  FD_OK);
	CHECK_INT(defined->form->version, 2);
	protobuf_c_message_free_unpacked(&defined->base, NULL);
	form.questions_json = "{\"not\":\"an array\"}";
	CHECK_INT(tp_call(admin, INTAKE_SVC, "DefineForm", &dr.base,
			  (ProtobufCMessage **)&defined, &st),
		  FD_INVALID_ARGUMENT);
	CHECK_INT(tp_call(desk, INTAKE_SVC, "DefineForm", &dr.base,
			  (ProtobufCMessage **)&defined, &st),
		  FD_PERMISSION_DENIED);
	fd_client_close(admin);
	CHECK_INT(readiness(id, 0, &ready, &st), FD_OK);
	CHECK(has_gap(ready, "form_expired", "allergies"));
	CHECK(has_gap(ready, "form_outdated", "financial-policy"));
	CHECK_INT(ready->n_gaps, 3);
	protobuf_c_message_free_unpacked(&ready->base, NULL);
	/* Readiness by appointment needs the appointment to exist. */
	Frontdesk__V1__ReadinessRequest rq = FRONTDESK__V1__READINESS_REQUEST__INIT;
	rq.appointment_id = 987654321;
	int rc = simple_call(desk, INTAKE_SVC, "Readiness", &rq.base, &st);
	CHECK(rc == FD_NOT_FOUND || rc == FD_FAILED_PRECONDITION);
}

/* --- records --------------------------------------------------------- */

static int add_shot(int64_t patient_id, const char *cvx, const char *date, fd_status *st)
{
	Frontdesk__V1__AddImmunizationRequest req = FRONTDESK__V1__ADD_IMMUNIZATION_REQUEST__INIT;
	Frontdesk__V1__Immunization im = FRONTDESK__V1__IMMUNIZATION__INIT;
	im.patient_id = patient_id;
	im.cvx_code = (char *)cvx;
	im.administered_on = (char *)date;
	im.lot_number = "AB123";
	im.site = "left deltoid";
	im.source = "administered";
	req.immunization = &im;
	return simple_call(desk, RECORDS_SVC, "AddImmunization", &req.base, st);
}

static void immunizations_are_listed_in_date_order_with_who_entered_them(void)
{
	Frontdesk__V1__ListImmunizationsRequest req = FRONTDESK__V1__LIST_IMMUNIZATIONS_REQUEST__INIT;
	Frontdesk__V1__ListImmunizationsReply *rep = NULL;
	fd_status st;

	CHECK(up());
	int64_t id = register_person("Vax", "Record", "2010-02-02", NULL);
	CHECK(id > 0);
	CHECK_INT(add_shot(id, "213", "2024-09-01", &st), FD_OK);
	CHECK_INT(add_shot(id, "141", "2023-10-15", &st), FD_OK);
	CHECK_INT(add_shot(id, "12345", "2023-10-15", &st), FD_INVALID_ARGUMENT);
	CHECK_INT(add_shot(id, "141", "2999-10-15", &st), FD_INVALID_ARGUMENT);
	CHECK_INT(add_shot(id, "141", "2023-02-30", &st), FD_INVALID_ARGUMENT);
	req.patient_id = id;
	CHECK_INT(tp_call(desk, RECORDS_SVC, "ListImmunizations", &req.base,
			  (ProtobufCMessage **)&rep, &st),
		  FD_OK);
	CHECK_INT(rep->n_immunizations, 2);
	CHECK_STR(rep->immunizations[0]->cvx_code, "141");
	CHECK_STR(rep->immunizations[1]->cvx_code, "213");
	CHECK_STR(rep->immunizations[0]->entered_by, "reception1");
	CHECK_STR(rep->immunizations[0]->site, "left deltoid");
	protobuf_c_message_free_unpacked(&rep->base, NULL);
}

static int refill_step(fd_client *c, int64_t id, const char *status, fd_status *st)
{
	Frontdesk__V1__UpdateRefillRequest req = FRONTDESK__V1__UPDATE_REFILL_REQUEST__INIT;
	req.refill_id = id;
	req.status = (char *)status;
	req.note = "noted";
	return simple_call(c, RECORDS_SVC, "UpdateRefill", &req.base, st);
}

static void refill_requests_move_through_the_queue_with_who_and_when(void)
{
	Frontdesk__V1__AddRefillRequest add = FRONTDESK__V1__ADD_REFILL_REQUEST__INIT;
	Frontdesk__V1__Refill rf = FRONTDESK__V1__REFILL__INIT;
	Frontdesk__V1__AddRefillReply *added = NULL;
	Frontdesk__V1__ListRefillsRequest lr = FRONTDESK__V1__LIST_REFILLS_REQUEST__INIT;
	Frontdesk__V1__ListRefillsReply *list = NULL;
	fd_status st;

	CHECK(up());
	int64_t id = register_person("Refill", "Needed", "1940-04-04", NULL);
	CHECK(id > 0);
	rf.patient_id = id;
	rf.medication = "Metformin 500 mg";
	rf.pharmacy = "Corner Pharmacy";
	rf.requested_by = "daughter";
	rf.channel = "phone";
	add.refill = &rf;
	CHECK_INT(tp_call(desk, RECORDS_SVC, "AddRefill", &add.base, (ProtobufCMessage **)&added,
			  &st),
		  FD_OK);
	int64_t refill = added->refill->id;
	CHECK_STR(added->refill->status, "new");
	CHECK_INT(added->refill->n_steps, 1);
	protobuf_c_message_free_unpacked(&added->base, NULL);

	CHECK_INT(refill_step(desk, refill, "done", &st), FD_FAILED_PRECONDITION);
	CHECK(strstr(st.message, "sent_to_provider") != NULL); /* names the allowed steps */
	CHECK_INT(refill_step(desk, refill, "sent_to_provider", &st), FD_OK);
	CHECK_INT(refill_step(desk, refill, "approved", &st), FD_PERMISSION_DENIED);
	fd_client *doctor = login_as("drsmith");
	CHECK(doctor != NULL);
	CHECK_INT(refill_step(doctor, refill, "approved", &st), FD_OK);
	fd_client_close(doctor);
	CHECK_INT(refill_step(desk, refill, "denied", &st), FD_FAILED_PRECONDITION);
	CHECK_INT(refill_step(desk, refill, "done", &st), FD_OK);
	CHECK_INT(refill_step(desk, 987654321, "done", &st), FD_NOT_FOUND);

	lr.patient_id = id;
	CHECK_INT(tp_call(desk, RECORDS_SVC, "ListRefills", &lr.base, (ProtobufCMessage **)&list,
			  &st),
		  FD_OK);
	CHECK_INT(list->n_refills, 1);
	CHECK_STR(list->refills[0]->status, "done");
	CHECK_INT(list->refills[0]->n_steps, 4);
	CHECK_STR(list->refills[0]->steps[0]->status, "new");
	CHECK_STR(list->refills[0]->steps[2]->status, "approved");
	CHECK_STR(list->refills[0]->steps[2]->staff_username, "drsmith");
	CHECK_STR(list->refills[0]->steps[3]->staff_username, "reception1");
	CHECK(list->refills[0]->steps[3]->at_unix_ms >= list->refills[0]->steps[0]->at_unix_ms);
	protobuf_c_message_free_unpacked(&list->base, NULL);
	/* The open queue no longer shows it. */
	lr.open_only = true;
	CHECK_INT(tp_call(desk, RECORDS_SVC, "ListRefills", &lr.base, (ProtobufCMessage **)&list,
			  &st),
		  FD_OK);
	CHECK_INT(list->n_refills, 0);
	protobuf_c_message_free_unpacked(&list->base, NULL);
}

static void server_exits_cleanly(void)
{
	CHECK(up());
	fd_client_close(desk);
	desk = NULL;
	e2e_stop(&srv);
}

TH_MAIN(TH_CASE(names_of_every_script_round_trip_and_phones_become_e164),
	TH_CASE(bad_input_is_refused_and_nothing_is_written),
	TH_CASE(fuzzy_search_finds_typos_and_swapped_words),
	TH_CASE(search_without_accents_finds_the_accented_name),
	TH_CASE(search_by_birth_date_phone_and_mrn_combines_filters),
	TH_CASE(a_possible_duplicate_is_shown_and_can_be_registered_anyway),
	TH_CASE(updates_are_kept_in_the_history_with_who_and_what),
	TH_CASE(two_desks_updating_the_same_version_one_wins_the_other_is_told),
	TH_CASE(merge_moves_everything_to_the_survivor),
	TH_CASE(every_read_and_write_of_a_patient_leaves_an_audit_row),
	TH_CASE(insurance_copays_priorities_and_the_verification_window),
	TH_CASE(card_images_are_type_checked_size_limited_and_retrievable),
	TH_CASE(readiness_lists_every_gap_until_each_is_fixed),
	TH_CASE(immunizations_are_listed_in_date_order_with_who_entered_them),
	TH_CASE(refill_requests_move_through_the_queue_with_who_and_when),
	TH_CASE(server_exits_cleanly))
