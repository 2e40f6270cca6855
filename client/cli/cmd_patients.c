/*
 * The patients verbs: `desk patient add|find|show|update|merge|history`,
 * `desk readiness` and `desk intake status|complete`. Each is one RPC of
 * the Patients or Intake service; the server validates every value (names,
 * dates, phones) and owns every rule, so this file gathers flags, turns
 * yes/no words into booleans, and prints what came back: tables for
 * people, one JSON object with --json. Everything from the server goes
 * through output.c's escaping. Insurance and the records verbs live in
 * cmd_patients_records.c.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmd_patients.h"

static const ProtobufCServiceDescriptor *const patients_svc = &frontdesk__v1__patients__descriptor;
static const ProtobufCServiceDescriptor *const intake_svc = &frontdesk__v1__intake__descriptor;

/* --- printing -------------------------------------------------------- */

static void json_fields(struct desk_json *j, const Frontdesk__V1__PatientFields *f)
{
	json_string(j, "family_name", f->family_name);
	json_string(j, "given_name", f->given_name);
	json_string(j, "preferred_name", f->preferred_name);
	json_string(j, "date_of_birth", f->date_of_birth);
	json_string(j, "sex_at_birth", f->sex_at_birth);
	json_string(j, "gender_identity", f->gender_identity);
	json_string(j, "phone", f->phone);
	json_string(j, "phone2", f->phone2);
	json_string(j, "email", f->email);
	json_string(j, "address", f->address);
	json_string(j, "preferred_language", f->preferred_language);
	json_bool(j, "interpreter_needed", f->interpreter_needed);
	json_string(j, "emergency_contact", f->emergency_contact);
	json_bool(j, "consent_sms", f->consent_sms);
	json_bool(j, "consent_voice", f->consent_voice);
	json_bool(j, "consent_email", f->consent_email);
}

void pat_json_patient(struct desk_json *j, const char *key, const Frontdesk__V1__Patient *p)
{
	if (!p || !p->fields) {
		json_null(j, key);
		return;
	}
	json_object(j, key);
	json_int(j, "id", p->id);
	json_string(j, "mrn", p->mrn);
	json_fields(j, p->fields);
	json_int(j, "merged_into", p->merged_into);
	json_int(j, "version", p->version);
	json_int(j, "created_unix_ms", p->created_unix_ms);
	json_int(j, "updated_unix_ms", p->updated_unix_ms);
	json_object_end(j);
}

static void json_summary(struct desk_json *j, const Frontdesk__V1__PatientSummary *s)
{
	json_object(j, NULL);
	json_int(j, "id", s->id);
	json_string(j, "mrn", s->mrn);
	json_string(j, "family_name", s->family_name);
	json_string(j, "given_name", s->given_name);
	json_string(j, "preferred_name", s->preferred_name);
	json_string(j, "date_of_birth", s->date_of_birth);
	json_string(j, "phone_e164", s->phone_e164);
	json_int(j, "merged_into", s->merged_into);
	json_fixed(j, "score", s->score, 4);
	if (*s->match)
		json_string(j, "match", s->match);
	json_object_end(j);
}

static void print_summaries(Frontdesk__V1__PatientSummary *const *list, size_t n)
{
	struct desk_table t;

	desk_table_init(&t, 7, "ID", "MRN", "FAMILY", "GIVEN", "BORN", "PHONE", "NOTE");
	for (size_t i = 0; i < n; i++) {
		const Frontdesk__V1__PatientSummary *s = list[i];
		char id[24], note[64] = "";
		snprintf(id, sizeof id, "%lld", (long long)s->id);
		if (s->merged_into)
			snprintf(note, sizeof note, "merged into %lld", (long long)s->merged_into);
		else if (*s->match)
			snprintf(note, sizeof note, "same %s",
				 strcmp(s->match, "phone") == 0 ? "phone" : "name and birth date");
		desk_table_row(&t, id, s->mrn, s->family_name, s->given_name, s->date_of_birth,
			       s->phone_e164, note);
	}
	desk_table_print(&t, stdout);
	desk_table_free(&t);
}

static void print_line(const char *label, const char *value)
{
	if (!value || !*value)
		return;
	printf("%-20s", label);
	desk_print_text(stdout, value);
	putchar('\n');
}

static void print_patient(const Frontdesk__V1__Patient *p)
{
	const Frontdesk__V1__PatientFields *f = p->fields;
	char buf[64];

	if (!f)
		return;
	printf("%-20s%lld\n", "id", (long long)p->id);
	print_line("mrn", p->mrn);
	print_line("family name", f->family_name);
	print_line("given name", f->given_name);
	print_line("preferred name", f->preferred_name);
	print_line("date of birth", f->date_of_birth);
	print_line("sex at birth", f->sex_at_birth);
	print_line("gender identity", f->gender_identity);
	print_line("phone", f->phone);
	print_line("second phone", f->phone2);
	print_line("email", f->email);
	print_line("address", f->address);
	print_line("language", f->preferred_language);
	print_line("interpreter", f->interpreter_needed ? "needed" : "");
	print_line("emergency contact", f->emergency_contact);
	printf("%-20ssms %s, voice %s, email %s\n", "may contact by", f->consent_sms ? "yes" : "no",
	       f->consent_voice ? "yes" : "no", f->consent_email ? "yes" : "no");
	if (p->merged_into)
		printf("%-20s%lld\n", "merged into", (long long)p->merged_into);
	desk_format_time(buf, sizeof buf, p->updated_unix_ms);
	printf("%-20s%d (changed %s)\n", "version", p->version, buf);
}

/* --- patient flags shared by add and update -------------------------- */

struct patient_flags {
	const char *family, *given, *preferred, *dob, *sex, *gender, *phone, *phone2, *email,
		*address, *language, *interpreter, *emergency, *sms, *voice, *email_ok;
};

#define PATIENT_FLAGS(pf)                                                                   \
	{ "family", DESK_FLAG_TEXT, &(pf).family, "NAME", "legal family name" },            \
	{ "given", DESK_FLAG_TEXT, &(pf).given, "NAME", "legal given name(s)" },            \
	{ "preferred", DESK_FLAG_TEXT, &(pf).preferred, "NAME", "the name they go by" },    \
	{ "dob", DESK_FLAG_TEXT, &(pf).dob, "YYYY-MM-DD", "date of birth" },                \
	{ "sex", DESK_FLAG_TEXT, &(pf).sex, "SEX", "female, male, intersex or unknown" },   \
	{ "gender", DESK_FLAG_TEXT, &(pf).gender, "TEXT", "gender identity" },              \
	{ "phone", DESK_FLAG_TEXT, &(pf).phone, "NUMBER", "phone; stored as E.164" },       \
	{ "phone2", DESK_FLAG_TEXT, &(pf).phone2, "NUMBER", "second phone" },               \
	{ "email", DESK_FLAG_TEXT, &(pf).email, "ADDRESS", "email address" },               \
	{ "address", DESK_FLAG_TEXT, &(pf).address, "TEXT", "postal address" },             \
	{ "language", DESK_FLAG_TEXT, &(pf).language, "LANG", "preferred language" },       \
	{ "interpreter", DESK_FLAG_TEXT, &(pf).interpreter, "yes|no", "needs an interpreter" }, \
	{ "emergency-contact", DESK_FLAG_TEXT, &(pf).emergency, "TEXT", "name and phone" },  \
	{ "sms", DESK_FLAG_TEXT, &(pf).sms, "yes|no", "consents to text messages" },        \
	{ "voice", DESK_FLAG_TEXT, &(pf).voice, "yes|no", "consents to phone calls" },      \
	{ "email-ok", DESK_FLAG_TEXT, &(pf).email_ok, "yes|no", "consents to email" }

/* Copies the flags given into f and names them in mask (when not NULL).
 * Returns 0 or a usage exit code. */
static int fields_from_flags(struct desk *d, const struct patient_flags *pf,
			     Frontdesk__V1__PatientFields *f, char **mask, size_t *n_mask)
{
	const struct {
		const char *value, *name;
		char **target;
	} text[] = {
		{ pf->family, "family_name", &f->family_name },
		{ pf->given, "given_name", &f->given_name },
		{ pf->preferred, "preferred_name", &f->preferred_name },
		{ pf->dob, "date_of_birth", &f->date_of_birth },
		{ pf->sex, "sex_at_birth", &f->sex_at_birth },
		{ pf->gender, "gender_identity", &f->gender_identity },
		{ pf->phone, "phone", &f->phone },
		{ pf->phone2, "phone2", &f->phone2 },
		{ pf->email, "email", &f->email },
		{ pf->address, "address", &f->address },
		{ pf->language, "preferred_language", &f->preferred_language },
		{ pf->emergency, "emergency_contact", &f->emergency_contact },
	};
	const struct {
		const char *value, *flag, *name;
		protobuf_c_boolean *target;
	} yes_no[] = {
		{ pf->interpreter, "--interpreter", "interpreter_needed", &f->interpreter_needed },
		{ pf->sms, "--sms", "consent_sms", &f->consent_sms },
		{ pf->voice, "--voice", "consent_voice", &f->consent_voice },
		{ pf->email_ok, "--email-ok", "consent_email", &f->consent_email },
	};
	int rc;

	for (size_t i = 0; i < sizeof text / sizeof text[0]; i++) {
		if (!text[i].value)
			continue;
		*text[i].target = (char *)text[i].value;
		if (mask)
			mask[(*n_mask)++] = (char *)text[i].name;
	}
	for (size_t i = 0; i < sizeof yes_no / sizeof yes_no[0]; i++) {
		bool v;
		if (!yes_no[i].value)
			continue;
		if ((rc = desk_parse_yes_no(d, yes_no[i].flag, yes_no[i].value, &v)) != 0)
			return rc;
		*yes_no[i].target = v;
		if (mask)
			mask[(*n_mask)++] = (char *)yes_no[i].name;
	}
	return 0;
}

/* --- patient add ----------------------------------------------------- */

int cmd_patient_add(struct desk *d, int argc, char **argv)
{
	Frontdesk__V1__RegisterPatientRequest req = FRONTDESK__V1__REGISTER_PATIENT_REQUEST__INIT;
	Frontdesk__V1__PatientFields f = FRONTDESK__V1__PATIENT_FIELDS__INIT;
	Frontdesk__V1__RegisterPatientReply *r;
	struct patient_flags pf = { 0 };
	bool confirm = false;
	ProtobufCMessage *reply;
	int rc;
	const struct desk_flag flags[] = {
		PATIENT_FLAGS(pf),
		{ "confirm-duplicate", DESK_FLAG_SWITCH, &confirm, NULL,
		  "register even though a record looks like the same person" },
	};

	if ((rc = desk_parse_flags(d, flags, countof(flags), argc, argv)) != DESK_GO)
		return rc;
	if (!pf.family || !pf.given || !pf.dob)
		return desk_usage(d, "give --family, --given and --dob");
	if ((rc = fields_from_flags(d, &pf, &f, NULL, NULL)) != 0)
		return rc;
	if ((rc = desk_connect(d, true)) != 0)
		return rc;
	req.fields = &f;
	req.confirm_not_duplicate = confirm;
	if ((rc = desk_call(d, patients_svc, "RegisterPatient", &req.base, &reply)) != 0)
		return rc;
	r = (Frontdesk__V1__RegisterPatientReply *)reply;
	rc = r->patient ? 0 : 65;
	if (d->json) {
		struct desk_json j;
		json_begin(&j, stdout);
		pat_json_patient(&j, "patient", r->patient);
		json_array(&j, "possible_duplicates");
		for (size_t i = 0; i < r->n_possible_duplicates; i++)
			json_summary(&j, r->possible_duplicates[i]);
		json_array_end(&j);
		json_end(&j);
	} else if (r->patient) {
		printf("Registered patient #%lld, MRN ", (long long)r->patient->id);
		desk_print_text(stdout, r->patient->mrn);
		fputs(".\n", stdout);
	} else {
		print_summaries(r->possible_duplicates, r->n_possible_duplicates);
	}
	if (!r->patient) {
		fprintf(stderr, "desk: not registered: %zu record(s) look like the same person\n"
				"hint: use one of them, or add --confirm-duplicate to register anyway\n",
			r->n_possible_duplicates);
	}
	protobuf_c_message_free_unpacked(reply, NULL);
	return rc;
}

/* --- patient find ---------------------------------------------------- */

int cmd_patient_find(struct desk *d, int argc, char **argv)
{
	Frontdesk__V1__FindPatientsRequest req = FRONTDESK__V1__FIND_PATIENTS_REQUEST__INIT;
	const char *name = NULL, *dob = NULL, *phone = NULL, *mrn = NULL, *limit = NULL;
	bool merged = false;
	Frontdesk__V1__FindPatientsReply *r;
	ProtobufCMessage *reply;
	int rc;
	const struct desk_flag flags[] = {
		{ "name", DESK_FLAG_TEXT, &name, "TEXT", "name, typos allowed" },
		{ "dob", DESK_FLAG_TEXT, &dob, "YYYY-MM-DD", "date of birth" },
		{ "phone", DESK_FLAG_TEXT, &phone, "NUMBER", "phone, any format" },
		{ "mrn", DESK_FLAG_TEXT, &mrn, "MRN", "medical record number" },
		{ "include-merged", DESK_FLAG_SWITCH, &merged, NULL, "show merged records too" },
		{ "limit", DESK_FLAG_TEXT, &limit, "N", "at most N results (default 20, max 100)" },
	};

	if ((rc = desk_parse_flags(d, flags, countof(flags), argc, argv)) != DESK_GO)
		return rc;
	if (!name && !dob && !phone && !mrn)
		return desk_usage(d, "give --name, --dob, --phone or --mrn");
	if (limit) {
		int64_t n;
		if ((rc = desk_parse_id(d, "--limit", limit, &n)) != 0)
			return rc;
		req.limit = n > 100 ? 100 : (uint32_t)n;
	}
	if ((rc = desk_connect(d, true)) != 0)
		return rc;
	req.name = (char *)(name ? name : "");
	req.date_of_birth = (char *)(dob ? dob : "");
	req.phone = (char *)(phone ? phone : "");
	req.mrn = (char *)(mrn ? mrn : "");
	req.include_merged = merged;
	if ((rc = desk_call(d, patients_svc, "FindPatients", &req.base, &reply)) != 0)
		return rc;
	r = (Frontdesk__V1__FindPatientsReply *)reply;
	if (d->json) {
		struct desk_json j;
		json_begin(&j, stdout);
		json_array(&j, "patients");
		for (size_t i = 0; i < r->n_patients; i++)
			json_summary(&j, r->patients[i]);
		json_array_end(&j);
		json_end(&j);
	} else if (r->n_patients == 0) {
		puts("No patient matches.");
	} else {
		print_summaries(r->patients, r->n_patients);
	}
	protobuf_c_message_free_unpacked(reply, NULL);
	return 0;
}

/* --- patient show ---------------------------------------------------- */

int cmd_patient_show(struct desk *d, int argc, char **argv)
{
	Frontdesk__V1__GetPatientRequest req = FRONTDESK__V1__GET_PATIENT_REQUEST__INIT;
	const char *id = NULL, *mrn = NULL;
	ProtobufCMessage *reply;
	int rc;
	const struct desk_flag flags[] = {
		{ "id", DESK_FLAG_TEXT, &id, "N", "patient id" },
		{ "mrn", DESK_FLAG_TEXT, &mrn, "MRN", "or the medical record number" },
	};

	if ((rc = desk_parse_flags(d, flags, countof(flags), argc, argv)) != DESK_GO)
		return rc;
	if (mrn)
		req.mrn = (char *)mrn;
	else if ((rc = desk_parse_id(d, "--id", id, &req.patient_id)) != 0)
		return rc;
	if ((rc = desk_connect(d, true)) != 0)
		return rc;
	if ((rc = desk_call(d, patients_svc, "GetPatient", &req.base, &reply)) != 0)
		return rc;
	const Frontdesk__V1__Patient *p = ((Frontdesk__V1__GetPatientReply *)reply)->patient;
	if (d->json) {
		struct desk_json j;
		json_begin(&j, stdout);
		pat_json_patient(&j, "patient", p);
		json_end(&j);
	} else if (p) {
		print_patient(p);
	}
	protobuf_c_message_free_unpacked(reply, NULL);
	return 0;
}

/* --- patient update -------------------------------------------------- */

int cmd_patient_update(struct desk *d, int argc, char **argv)
{
	Frontdesk__V1__UpdatePatientRequest req = FRONTDESK__V1__UPDATE_PATIENT_REQUEST__INIT;
	Frontdesk__V1__PatientFields f = FRONTDESK__V1__PATIENT_FIELDS__INIT;
	struct patient_flags pf = { 0 };
	const char *id = NULL, *version = NULL;
	char *mask[16];
	size_t n_mask = 0;
	ProtobufCMessage *reply;
	int rc;
	const struct desk_flag flags[] = {
		{ "id", DESK_FLAG_TEXT, &id, "N", "patient id" },
		{ "version", DESK_FLAG_TEXT, &version, "V",
		  "refuse if the record changed since you read version V" },
		PATIENT_FLAGS(pf),
	};

	if ((rc = desk_parse_flags(d, flags, countof(flags), argc, argv)) != DESK_GO)
		return rc;
	if ((rc = desk_parse_id(d, "--id", id, &req.patient_id)) != 0)
		return rc;
	if (version) {
		int64_t v;
		if ((rc = desk_parse_id(d, "--version", version, &v)) != 0)
			return rc;
		req.expected_version = (int32_t)v;
	}
	if ((rc = fields_from_flags(d, &pf, &f, mask, &n_mask)) != 0)
		return rc;
	if (n_mask == 0)
		return desk_usage(d, "nothing to change: give a field flag (an empty value clears it)");
	if ((rc = desk_connect(d, true)) != 0)
		return rc;
	req.fields = &f;
	req.update_mask = mask;
	req.n_update_mask = n_mask;
	if ((rc = desk_call(d, patients_svc, "UpdatePatient", &req.base, &reply)) != 0)
		return rc;
	const Frontdesk__V1__Patient *p = ((Frontdesk__V1__UpdatePatientReply *)reply)->patient;
	if (d->json) {
		struct desk_json j;
		json_begin(&j, stdout);
		pat_json_patient(&j, "patient", p);
		json_end(&j);
	} else if (p) {
		printf("Updated patient #%lld (now version %d).\n", (long long)p->id, p->version);
	}
	protobuf_c_message_free_unpacked(reply, NULL);
	return 0;
}

/* --- patient merge --------------------------------------------------- */

int cmd_patient_merge(struct desk *d, int argc, char **argv)
{
	Frontdesk__V1__MergePatientsRequest req = FRONTDESK__V1__MERGE_PATIENTS_REQUEST__INIT;
	const char *keep = NULL, *dup = NULL, *reason = NULL;
	Frontdesk__V1__MergePatientsReply *r;
	ProtobufCMessage *reply;
	int rc;
	const struct desk_flag flags[] = {
		{ "survivor", DESK_FLAG_TEXT, &keep, "N", "the record that stays" },
		{ "duplicate", DESK_FLAG_TEXT, &dup, "N", "the record merged into it" },
		{ "reason", DESK_FLAG_TEXT, &reason, "TEXT", "why (kept with the record)" },
	};

	if ((rc = desk_parse_flags(d, flags, countof(flags), argc, argv)) != DESK_GO)
		return rc;
	if ((rc = desk_parse_id(d, "--survivor", keep, &req.survivor_id)) != 0 ||
	    (rc = desk_parse_id(d, "--duplicate", dup, &req.merged_id)) != 0)
		return rc;
	if ((rc = desk_connect(d, true)) != 0)
		return rc;
	req.reason = (char *)(reason ? reason : "");
	if ((rc = desk_call(d, patients_svc, "MergePatients", &req.base, &reply)) != 0)
		return rc;
	r = (Frontdesk__V1__MergePatientsReply *)reply;
	if (d->json) {
		struct desk_json j;
		json_begin(&j, stdout);
		pat_json_patient(&j, "survivor", r->survivor);
		json_int(&j, "rows_moved", r->rows_moved);
		json_end(&j);
	} else {
		printf("Merged patient #%lld into #%lld; %lld record(s) moved.\n",
		       (long long)req.merged_id, (long long)req.survivor_id,
		       (long long)r->rows_moved);
	}
	protobuf_c_message_free_unpacked(reply, NULL);
	return 0;
}

/* --- patient history ------------------------------------------------- */

int cmd_patient_history(struct desk *d, int argc, char **argv)
{
	Frontdesk__V1__PatientHistoryRequest req = FRONTDESK__V1__PATIENT_HISTORY_REQUEST__INIT;
	Frontdesk__V1__PatientHistoryReply *r;
	const char *id = NULL;
	ProtobufCMessage *reply;
	int rc;
	const struct desk_flag flags[] = {
		{ "id", DESK_FLAG_TEXT, &id, "N", "patient id" },
	};

	if ((rc = desk_parse_flags(d, flags, countof(flags), argc, argv)) != DESK_GO)
		return rc;
	if ((rc = desk_parse_id(d, "--id", id, &req.patient_id)) != 0)
		return rc;
	if ((rc = desk_connect(d, true)) != 0)
		return rc;
	if ((rc = desk_call(d, patients_svc, "PatientHistory", &req.base, &reply)) != 0)
		return rc;
	r = (Frontdesk__V1__PatientHistoryReply *)reply;
	if (d->json) {
		struct desk_json j;
		json_begin(&j, stdout);
		json_array(&j, "changes");
		for (size_t i = 0; i < r->n_changes; i++) {
			const Frontdesk__V1__PatientChange *c = r->changes[i];
			json_object(&j, NULL);
			json_int(&j, "at_unix_ms", c->at_unix_ms);
			json_string(&j, "staff_username", c->staff_username);
			json_string(&j, "desk", c->desk);
			json_string(&j, "record", c->record);
			json_string(&j, "action", c->action);
			json_string(&j, "changes_json", c->changes_json);
			json_int(&j, "patient_id", c->patient_id);
			json_object_end(&j);
		}
		json_array_end(&j);
		json_end(&j);
	} else {
		struct desk_table t;
		desk_table_init(&t, 6, "WHEN", "WHO", "DESK", "RECORD", "ACTION", "CHANGES");
		for (size_t i = 0; i < r->n_changes; i++) {
			const Frontdesk__V1__PatientChange *c = r->changes[i];
			char when[64];
			desk_format_time(when, sizeof when, c->at_unix_ms);
			desk_table_row(&t, when, c->staff_username, c->desk, c->record, c->action,
				       c->changes_json);
		}
		desk_table_print(&t, stdout);
		desk_table_free(&t);
	}
	protobuf_c_message_free_unpacked(reply, NULL);
	return 0;
}

/* --- readiness ------------------------------------------------------- */

int cmd_readiness(struct desk *d, int argc, char **argv)
{
	Frontdesk__V1__ReadinessRequest req = FRONTDESK__V1__READINESS_REQUEST__INIT;
	const char *patient = NULL, *appointment = NULL, *days = NULL;
	Frontdesk__V1__ReadinessReply *r;
	ProtobufCMessage *reply;
	int rc;
	const struct desk_flag flags[] = {
		{ "patient", DESK_FLAG_TEXT, &patient, "N", "patient id" },
		{ "appointment", DESK_FLAG_TEXT, &appointment, "N", "or an appointment id" },
		{ "verified-within", DESK_FLAG_TEXT, &days, "DAYS",
		  "insurance verified within DAYS (default 30)" },
	};

	if ((rc = desk_parse_flags(d, flags, countof(flags), argc, argv)) != DESK_GO)
		return rc;
	if (appointment)
		rc = desk_parse_id(d, "--appointment", appointment, &req.appointment_id);
	else
		rc = desk_parse_id(d, "--patient", patient, &req.patient_id);
	if (rc != 0)
		return rc;
	if (days) {
		int64_t n;
		if ((rc = desk_parse_id(d, "--verified-within", days, &n)) != 0)
			return rc;
		req.verified_within_days = (uint32_t)(n > 100000 ? 100000 : n);
	}
	if ((rc = desk_connect(d, true)) != 0)
		return rc;
	if ((rc = desk_call(d, intake_svc, "Readiness", &req.base, &reply)) != 0)
		return rc;
	r = (Frontdesk__V1__ReadinessReply *)reply;
	if (d->json) {
		struct desk_json j;
		json_begin(&j, stdout);
		json_int(&j, "patient_id", r->patient_id);
		json_bool(&j, "ready", r->ready);
		json_bool(&j, "balance_checked", r->balance_checked);
		json_array(&j, "gaps");
		for (size_t i = 0; i < r->n_gaps; i++) {
			json_object(&j, NULL);
			json_string(&j, "kind", r->gaps[i]->kind);
			json_string(&j, "detail", r->gaps[i]->detail);
			json_object_end(&j);
		}
		json_array_end(&j);
		json_end(&j);
	} else if (r->ready) {
		printf("Patient #%lld is ready.\n", (long long)r->patient_id);
	} else {
		printf("Patient #%lld is not ready:\n", (long long)r->patient_id);
		for (size_t i = 0; i < r->n_gaps; i++) {
			fputs("  ", stdout);
			desk_print_text(stdout, r->gaps[i]->kind);
			if (*r->gaps[i]->detail) {
				fputs(" ", stdout);
				desk_print_text(stdout, r->gaps[i]->detail);
			}
			putchar('\n');
		}
	}
	if (!d->json && !r->balance_checked)
		puts("(balance not checked: no balance source on this server yet)");
	protobuf_c_message_free_unpacked(reply, NULL);
	return 0;
}

/* --- intake status and complete -------------------------------------- */

static void json_form_status(struct desk_json *j, const char *key,
			     const Frontdesk__V1__FormStatus *s)
{
	json_object(j, key);
	json_string(j, "code", s->form ? s->form->code : "");
	json_int(j, "version", s->form ? s->form->version : 0);
	json_string(j, "title", s->form ? s->form->title : "");
	json_bool(j, "required", s->form && s->form->required);
	json_string(j, "state", s->state);
	json_int(j, "completed_unix_ms", s->completed_unix_ms);
	json_int(j, "completed_version", s->completed_version);
	json_int(j, "expires_unix_ms", s->expires_unix_ms);
	json_object_end(j);
}

int cmd_intake_status(struct desk *d, int argc, char **argv)
{
	Frontdesk__V1__IntakeStatusRequest req = FRONTDESK__V1__INTAKE_STATUS_REQUEST__INIT;
	Frontdesk__V1__IntakeStatusReply *r;
	const char *patient = NULL;
	ProtobufCMessage *reply;
	int rc;
	const struct desk_flag flags[] = {
		{ "patient", DESK_FLAG_TEXT, &patient, "N", "patient id" },
	};

	if ((rc = desk_parse_flags(d, flags, countof(flags), argc, argv)) != DESK_GO)
		return rc;
	if ((rc = desk_parse_id(d, "--patient", patient, &req.patient_id)) != 0)
		return rc;
	if ((rc = desk_connect(d, true)) != 0)
		return rc;
	if ((rc = desk_call(d, intake_svc, "IntakeStatus", &req.base, &reply)) != 0)
		return rc;
	r = (Frontdesk__V1__IntakeStatusReply *)reply;
	if (d->json) {
		struct desk_json j;
		json_begin(&j, stdout);
		json_array(&j, "forms");
		for (size_t i = 0; i < r->n_forms; i++)
			json_form_status(&j, NULL, r->forms[i]);
		json_array_end(&j);
		json_end(&j);
	} else {
		struct desk_table t;
		desk_table_init(&t, 5, "FORM", "VERSION", "STATE", "COMPLETED", "EXPIRES");
		for (size_t i = 0; i < r->n_forms; i++) {
			const Frontdesk__V1__FormStatus *s = r->forms[i];
			char version[16], done[64], expires[64];
			snprintf(version, sizeof version, "%d", s->form ? s->form->version : 0);
			desk_format_time(done, sizeof done, s->completed_unix_ms);
			desk_format_time(expires, sizeof expires, s->expires_unix_ms);
			desk_table_row(&t, s->form ? s->form->code : "", version, s->state, done,
				       expires);
		}
		desk_table_print(&t, stdout);
		desk_table_free(&t);
	}
	protobuf_c_message_free_unpacked(reply, NULL);
	return 0;
}

int cmd_intake_complete(struct desk *d, int argc, char **argv)
{
	Frontdesk__V1__CompleteFormRequest req = FRONTDESK__V1__COMPLETE_FORM_REQUEST__INIT;
	const char *patient = NULL, *form = NULL, *answers = NULL;
	ProtobufCMessage *reply;
	int rc;
	const struct desk_flag flags[] = {
		{ "patient", DESK_FLAG_TEXT, &patient, "N", "patient id" },
		{ "form", DESK_FLAG_TEXT, &form, "CODE", "form code, e.g. medical-history" },
		{ "answers", DESK_FLAG_TEXT, &answers, "JSON",
		  "answers as a JSON object (default {} for a paper form)" },
	};

	if ((rc = desk_parse_flags(d, flags, countof(flags), argc, argv)) != DESK_GO)
		return rc;
	if ((rc = desk_parse_id(d, "--patient", patient, &req.patient_id)) != 0)
		return rc;
	if (!form || !*form)
		return desk_usage(d, "missing --form CODE");
	if ((rc = desk_connect(d, true)) != 0)
		return rc;
	req.form_code = (char *)form;
	req.answers_json = (char *)(answers ? answers : "");
	if ((rc = desk_call(d, intake_svc, "CompleteForm", &req.base, &reply)) != 0)
		return rc;
	const Frontdesk__V1__FormStatus *s = ((Frontdesk__V1__CompleteFormReply *)reply)->status;
	if (d->json) {
		struct desk_json j;
		json_begin(&j, stdout);
		if (s)
			json_form_status(&j, "status", s);
		json_end(&j);
	} else if (s && s->form) {
		fputs("Recorded form ", stdout);
		desk_print_text(stdout, s->form->code);
		printf(" version %d for patient #%lld: ", s->form->version,
		       (long long)req.patient_id);
		desk_print_text(stdout, s->state);
		putchar('\n');
	}
	protobuf_c_message_free_unpacked(reply, NULL);
	return 0;
}
