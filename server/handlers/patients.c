/*
 * Patients service: registration with a duplicate warning, fuzzy search,
 * the record, updates that cannot silently overwrite a colleague's, the
 * merge of two records, and the change history. Every call audits each
 * patient it shows or changes (the method table marks them M_AUDIT, so
 * refused attempts leave a row too). The change history itself is written
 * by a trigger (migrations/0002_patients.sql) from the actor set here.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "patients_common.h"
#include "frontdesk/v1/patients.pb-c.h"

int handle_patients_register(fd_ctx *ctx, const ProtobufCMessage *in, ProtobufCMessage **out);
int handle_patients_find(fd_ctx *ctx, const ProtobufCMessage *in, ProtobufCMessage **out);
int handle_patients_get(fd_ctx *ctx, const ProtobufCMessage *in, ProtobufCMessage **out);
int handle_patients_update(fd_ctx *ctx, const ProtobufCMessage *in, ProtobufCMessage **out);
int handle_patients_merge(fd_ctx *ctx, const ProtobufCMessage *in, ProtobufCMessage **out);
int handle_patients_history(fd_ctx *ctx, const ProtobufCMessage *in, ProtobufCMessage **out);

/* The record as every reply shows it; patient_from_row reads these in
 * this order. */
#define PATIENT_COLUMNS                                                        \
	" id, mrn, family_name, given_name, coalesce(preferred_name, ''), "   \
	PAT_DATE("date_of_birth") ", coalesce(sex_at_birth, ''),"             \
	" coalesce(gender_identity, ''), coalesce(phone_e164, ''),"           \
	" coalesce(phone2_e164, ''), coalesce(email, ''), coalesce(address, ''),"\
	" coalesce(preferred_language, ''), interpreter_needed,"              \
	" coalesce(emergency_contact, ''), consent_sms, consent_voice,"       \
	" consent_email, coalesce(merged_into, 0), version, "                 \
	PAT_MS("created_at") ", " PAT_MS("updated_at")

static Frontdesk__V1__Patient *patient_from_row(fd_ctx *ctx, const PGresult *r, int row)
{
	Frontdesk__V1__Patient *pt = fd_arena_alloc(ctx->arena, sizeof *pt);
	Frontdesk__V1__PatientFields *f = fd_arena_alloc(ctx->arena, sizeof *f);
	fd_arena *a = ctx->arena;

	if (!pt || !f)
		return NULL;
	frontdesk__v1__patient__init(pt);
	frontdesk__v1__patient_fields__init(f);
	pt->id = db_int(r, row, 0);
	pt->mrn = db_str(a, r, row, 1);
	f->family_name = db_str(a, r, row, 2);
	f->given_name = db_str(a, r, row, 3);
	f->preferred_name = db_str(a, r, row, 4);
	f->date_of_birth = db_str(a, r, row, 5);
	f->sex_at_birth = db_str(a, r, row, 6);
	f->gender_identity = db_str(a, r, row, 7);
	f->phone = db_str(a, r, row, 8);
	f->phone2 = db_str(a, r, row, 9);
	f->email = db_str(a, r, row, 10);
	f->address = db_str(a, r, row, 11);
	f->preferred_language = db_str(a, r, row, 12);
	f->interpreter_needed = db_bool(r, row, 13);
	f->emergency_contact = db_str(a, r, row, 14);
	f->consent_sms = db_bool(r, row, 15);
	f->consent_voice = db_bool(r, row, 16);
	f->consent_email = db_bool(r, row, 17);
	pt->merged_into = db_int(r, row, 18);
	pt->version = (int32_t)db_int(r, row, 19);
	pt->created_unix_ms = db_int(r, row, 20);
	pt->updated_unix_ms = db_int(r, row, 21);
	pt->fields = f;
	return pt;
}

#define SUMMARY_COLUMNS                                                        \
	" id, mrn, family_name, given_name, coalesce(preferred_name, ''), "   \
	PAT_DATE("date_of_birth") ", coalesce(phone_e164, ''),"                \
	" coalesce(merged_into, 0)"

/* A summary row: SUMMARY_COLUMNS, then the score and the match kind. */
static Frontdesk__V1__PatientSummary *summary_from_row(fd_ctx *ctx, const PGresult *r, int row)
{
	Frontdesk__V1__PatientSummary *s = fd_arena_alloc(ctx->arena, sizeof *s);

	if (!s)
		return NULL;
	frontdesk__v1__patient_summary__init(s);
	s->id = db_int(r, row, 0);
	s->mrn = db_str(ctx->arena, r, row, 1);
	s->family_name = db_str(ctx->arena, r, row, 2);
	s->given_name = db_str(ctx->arena, r, row, 3);
	s->preferred_name = db_str(ctx->arena, r, row, 4);
	s->date_of_birth = db_str(ctx->arena, r, row, 5);
	s->phone_e164 = db_str(ctx->arena, r, row, 6);
	s->merged_into = db_int(r, row, 7);
	s->score = strtod(PQgetvalue(r, row, 8), NULL);
	s->match = db_str(ctx->arena, r, row, 9);
	return s;
}

/* Summaries of every row, and their ids for the audit. */
static int summaries_from_result(fd_ctx *ctx, const PGresult *r,
				 Frontdesk__V1__PatientSummary ***list, size_t *n,
				 int64_t **ids)
{
	*n = (size_t)PQntuples(r);
	*list = pat_array(ctx, *n, sizeof **list);
	*ids = pat_array(ctx, *n, sizeof **ids);
	if (!*list || !*ids)
		return PAT_NOMEM(ctx);
	for (size_t i = 0; i < *n; i++) {
		if (!((*list)[i] = summary_from_row(ctx, r, (int)i)))
			return PAT_NOMEM(ctx);
		(*ids)[i] = (*list)[i]->id;
	}
	return FD_OK;
}

static const char *const sexes[] = { "female", "male", "intersex", "unknown", NULL };

/* The fields the desk may set, checked one by one; `mask` NULL checks all
 * (registration), else only the named ones. Phones are normalised into
 * phone/phone2 (17 bytes each). */
static bool masked(char *const *mask, size_t n, const char *name)
{
	if (!mask)
		return true;
	for (size_t i = 0; i < n; i++)
		if (strcmp(mask[i], name) == 0)
			return true;
	return false;
}

static int check_fields(fd_ctx *ctx, const Frontdesk__V1__PatientFields *f,
			char *const *mask, size_t n_mask, char *phone, char *phone2)
{
#define WANT(name) masked(mask, n_mask, name)
	phone[0] = phone2[0] = '\0';
	if ((WANT("family_name") &&
	     pat_check_name(ctx, "the family name", f->family_name, 200, true)) ||
	    (WANT("given_name") &&
	     pat_check_name(ctx, "the given name", f->given_name, 200, true)) ||
	    (WANT("preferred_name") &&
	     pat_check_name(ctx, "the preferred name", f->preferred_name, 200, false)) ||
	    (WANT("date_of_birth") &&
	     pat_check_date(ctx, "the date of birth", f->date_of_birth, 1880, true, true)) ||
	    (WANT("sex_at_birth") &&
	     pat_check_choice(ctx, "sex at birth", f->sex_at_birth, sexes, false)) ||
	    (WANT("gender_identity") &&
	     pat_check_name(ctx, "the gender identity", f->gender_identity, 100, false)) ||
	    (WANT("phone") && pat_phone_e164(ctx, "the phone", f->phone, phone)) ||
	    (WANT("phone2") && pat_phone_e164(ctx, "the second phone", f->phone2, phone2)) ||
	    (WANT("email") && pat_check_name(ctx, "the email", f->email, 254, false)) ||
	    (WANT("address") && pat_check_free_text(ctx, "the address", f->address, 500)) ||
	    (WANT("preferred_language") &&
	     pat_check_name(ctx, "the preferred language", f->preferred_language, 50, false)) ||
	    (WANT("emergency_contact") &&
	     pat_check_free_text(ctx, "the emergency contact", f->emergency_contact, 300)))
		return ctx->status.code;
#undef WANT
	if (*f->email && (!strchr(f->email, '@') || f->email[0] == '@' ||
			  f->email[strlen(f->email) - 1] == '@' || strchr(f->email, ' ')))
		return fd_fail(&ctx->status, FD_INVALID_ARGUMENT,
			       "the email must look like name@example.org");
	return FD_OK;
}

/* The 16 field values as parameters, in PatientFields order. */
static void field_params(db_params *p, const Frontdesk__V1__PatientFields *f,
			 const char *phone, const char *phone2)
{
	dbp_text(p, f->family_name);
	dbp_text(p, f->given_name);
	dbp_text_or_null(p, f->preferred_name);
	dbp_text_or_null(p, f->date_of_birth);
	dbp_text_or_null(p, f->sex_at_birth);
	dbp_text_or_null(p, f->gender_identity);
	dbp_text_or_null(p, phone);
	dbp_text_or_null(p, phone2);
	dbp_text_or_null(p, f->email);
	dbp_text_or_null(p, f->address);
	dbp_text_or_null(p, f->preferred_language);
	dbp_bool(p, f->interpreter_needed);
	dbp_text_or_null(p, f->emergency_contact);
	dbp_bool(p, f->consent_sms);
	dbp_bool(p, f->consent_voice);
	dbp_bool(p, f->consent_email);
}

/* --- RegisterPatient ------------------------------------------------- */

/* Records that look like the same person: the same name (any case) and
 * birth date, or a phone in common. */
static int find_duplicates(fd_ctx *ctx, const Frontdesk__V1__PatientFields *f,
			   const char *phone, const char *phone2,
			   Frontdesk__V1__RegisterPatientReply *rep)
{
	int64_t *ids;
	db_params p;
	PGresult *r;

	dbp_init(&p);
	dbp_text(&p, f->given_name);
	dbp_text(&p, f->family_name);
	dbp_text(&p, f->date_of_birth);
	dbp_text_or_null(&p, phone);
	dbp_text_or_null(&p, phone2);
	r = db_query(ctx,
		     "SELECT" SUMMARY_COLUMNS ", 0,"
		     " CASE WHEN search_name = lower($1 || ' ' || $2)"
		     "       AND date_of_birth = $3::date"
		     "      THEN 'name_and_birth_date' ELSE 'phone' END"
		     " FROM patients"
		     " WHERE merged_into IS NULL AND ("
		     "   (search_name = lower($1 || ' ' || $2) AND date_of_birth = $3::date)"
		     "   OR phone_e164 IN ($4, $5) OR phone2_e164 IN ($4, $5))"
		     " ORDER BY id LIMIT 20",
		     &p);
	if (!r)
		return ctx->status.code;
	int rc = summaries_from_result(ctx, r, &rep->possible_duplicates,
				       &rep->n_possible_duplicates, &ids);
	PQclear(r);
	if (rc == FD_OK && rep->n_possible_duplicates)
		fd_ctx_audit_patients(ctx, ids, rep->n_possible_duplicates,
				      "patient:possible-duplicates");
	return rc;
}

int handle_patients_register(fd_ctx *ctx, const ProtobufCMessage *in, ProtobufCMessage **out)
{
	const Frontdesk__V1__RegisterPatientRequest *req = (const void *)in;
	Frontdesk__V1__RegisterPatientReply *rep = fd_arena_alloc(ctx->arena, sizeof *rep);
	const Frontdesk__V1__PatientFields *f = req->fields;
	char phone[17], phone2[17];
	db_params p;
	PGresult *r;

	if (!rep)
		return PAT_NOMEM(ctx);
	frontdesk__v1__register_patient_reply__init(rep);
	if (!f)
		return fd_fail(&ctx->status, FD_INVALID_ARGUMENT, "give the patient's details");
	if (check_fields(ctx, f, NULL, 0, phone, phone2) != FD_OK)
		return ctx->status.code;
	if (!req->confirm_not_duplicate) {
		if (find_duplicates(ctx, f, phone, phone2, rep) != FD_OK)
			return ctx->status.code;
		if (rep->n_possible_duplicates) {
			*out = &rep->base;
			return FD_OK;
		}
	}
	dbp_init(&p);
	field_params(&p, f, phone, phone2);
	r = db_query(ctx,
		     "INSERT INTO patients (family_name, given_name, preferred_name,"
		     " date_of_birth, sex_at_birth, gender_identity, phone_e164,"
		     " phone2_e164, email, address, preferred_language,"
		     " interpreter_needed, emergency_contact, consent_sms,"
		     " consent_voice, consent_email)"
		     " VALUES ($1, $2, $3, $4::date, $5, $6, $7, $8, $9, $10, $11,"
		     " $12, $13, $14, $15, $16) RETURNING" PATIENT_COLUMNS,
		     &p);
	if (!r)
		return ctx->status.code;
	rep->patient = patient_from_row(ctx, r, 0);
	PQclear(r);
	if (!rep->patient)
		return PAT_NOMEM(ctx);
	const char *subject = pat_subject(ctx, rep->patient->id);
	fd_ctx_audit(ctx, rep->patient->id, subject);
	if (db_notify(ctx, "patient.registered", subject) != FD_OK)
		return ctx->status.code;
	*out = &rep->base;
	return FD_OK;
}

/* --- FindPatients ---------------------------------------------------- */

int handle_patients_find(fd_ctx *ctx, const ProtobufCMessage *in, ProtobufCMessage **out)
{
	const Frontdesk__V1__FindPatientsRequest *req = (const void *)in;
	Frontdesk__V1__FindPatientsReply *rep = fd_arena_alloc(ctx->arena, sizeof *rep);
	uint32_t limit = req->limit ? req->limit : 20;
	char phone[17];
	int64_t *ids;
	db_params p;
	PGresult *r;

	if (!rep)
		return PAT_NOMEM(ctx);
	frontdesk__v1__find_patients_reply__init(rep);
	if (!*req->name && !*req->date_of_birth && !*req->phone && !*req->mrn)
		return fd_fail(&ctx->status, FD_INVALID_ARGUMENT,
			       "give a name, birth date, phone or MRN to search by");
	if (limit > 100)
		limit = 100;
	if (pat_check_name(ctx, "the name searched", req->name, 200, false) != FD_OK ||
	    pat_check_date(ctx, "the birth date searched", req->date_of_birth, 1880, false,
			   false) != FD_OK ||
	    pat_phone_e164(ctx, "the phone searched", req->phone, phone) != FD_OK ||
	    pat_check_name(ctx, "the MRN searched", req->mrn, 32, false) != FD_OK)
		return ctx->status.code;
	dbp_init(&p);
	dbp_text_or_null(&p, req->name);
	dbp_text_or_null(&p, req->date_of_birth);
	dbp_text_or_null(&p, phone);
	dbp_text_or_null(&p, req->mrn);
	dbp_bool(&p, req->include_merged);
	dbp_int(&p, limit);
	/* A name goes through patients_named() (migrations/0008): two
	 * trigram keys, the lowered name (typos, missing letters) and the
	 * letters sorted per word (swapped letters, swapped words), close
	 * matches first, the score adding both; its plans are kept between
	 * calls. Without a name, parameters are planned as values, so the
	 * unused filters fold away and the btree indexes serve the rest. */
	if (*req->name)
		r = db_query(ctx,
			     "SELECT" SUMMARY_COLUMNS ", n.score, ''"
			     " FROM patients_named($1, $2::date, $3, $4, $5, $6) n"
			     " JOIN patients USING (id)"
			     " ORDER BY n.score DESC, family_name, given_name, id",
			     &p);
	else
		r = db_query(ctx,
			     "SELECT" SUMMARY_COLUMNS ", 0, ''"
			     " FROM patients"
			     " WHERE $1::text IS NULL"
			     "   AND ($2::date IS NULL OR date_of_birth = $2::date)"
			     "   AND ($3::text IS NULL OR phone_e164 = $3 OR phone2_e164 = $3)"
			     "   AND ($4::text IS NULL OR mrn = upper($4))"
			     "   AND ($5 OR merged_into IS NULL)"
			     " ORDER BY family_name, given_name, id LIMIT $6",
			     &p);
	if (!r)
		return ctx->status.code;
	int rc = summaries_from_result(ctx, r, &rep->patients, &rep->n_patients, &ids);
	PQclear(r);
	if (rc != FD_OK)
		return rc;
	fd_ctx_audit_patients(ctx, ids, rep->n_patients, "patient:search");
	*out = &rep->base;
	return FD_OK;
}

/* --- GetPatient ------------------------------------------------------ */

int handle_patients_get(fd_ctx *ctx, const ProtobufCMessage *in, ProtobufCMessage **out)
{
	const Frontdesk__V1__GetPatientRequest *req = (const void *)in;
	Frontdesk__V1__GetPatientReply *rep = fd_arena_alloc(ctx->arena, sizeof *rep);
	db_params p;
	PGresult *r;

	if (!rep)
		return PAT_NOMEM(ctx);
	frontdesk__v1__get_patient_reply__init(rep);
	if (req->patient_id <= 0 && !*req->mrn)
		return fd_fail(&ctx->status, FD_INVALID_ARGUMENT, "give a patient id or an MRN");
	if (pat_check_name(ctx, "the MRN", req->mrn, 32, false) != FD_OK)
		return ctx->status.code;
	dbp_init(&p);
	dbp_int(&p, req->patient_id);
	dbp_text_or_null(&p, req->mrn);
	/* Two statements rather than one with "$1 <= 0 OR id = $1": each
	 * keeps one generic plan on its index, where the combined one was
	 * planned again for its values on every call (a point read's largest
	 * cost in PostgreSQL). Both given: both must match (one patient,
	 * never the MRN's record under another id). */
	if (req->patient_id > 0)
		r = db_query(ctx,
			     "SELECT" PATIENT_COLUMNS " FROM patients"
			     " WHERE id = $1 AND ($2::text IS NULL OR mrn = upper($2))",
			     &p);
	else
		r = db_query(ctx,
			     "SELECT" PATIENT_COLUMNS " FROM patients"
			     " WHERE mrn = upper($2) AND $1::bigint <= 0",
			     &p);
	if (!r)
		return ctx->status.code;
	if (PQntuples(r) == 1)
		rep->patient = patient_from_row(ctx, r, 0);
	int found = PQntuples(r);
	PQclear(r);
	if (!found)
		return fd_fail(&ctx->status, FD_NOT_FOUND, "no patient has that %s",
			       !*req->mrn ? "id" : req->patient_id > 0 ? "id and MRN" : "MRN");
	if (!rep->patient)
		return PAT_NOMEM(ctx);
	fd_ctx_audit(ctx, rep->patient->id, pat_subject(ctx, rep->patient->id));
	*out = &rep->base;
	return FD_OK;
}

/* --- UpdatePatient --------------------------------------------------- */

static const char *const field_names[] = {
	"family_name", "given_name", "preferred_name", "date_of_birth",
	"sex_at_birth", "gender_identity", "phone", "phone2", "email", "address",
	"preferred_language", "interpreter_needed", "emergency_contact",
	"consent_sms", "consent_voice", "consent_email", NULL,
};

/* The mask as a text[] literal; only names from field_names get in, so it
 * needs no quoting. */
static int mask_literal(fd_ctx *ctx, char *const *mask, size_t n, char **lit)
{
	char *s = fd_arena_alloc(ctx->arena, 3 + n * 24);

	if (!s)
		return PAT_NOMEM(ctx);
	if (n == 0 || n > 16)
		return fd_fail(&ctx->status, FD_INVALID_ARGUMENT,
			       "name the fields to change (update_mask)");
	strcpy(s, "{");
	for (size_t i = 0; i < n; i++) {
		if (pat_check_choice(ctx, "each field to change", mask[i], field_names, true))
			return ctx->status.code;
		if (i)
			strcat(s, ",");
		strcat(s, mask[i]);
	}
	strcat(s, "}");
	*lit = s;
	return FD_OK;
}

/* Locks the record and checks it may change: exists, not merged, and
 * still the version the desk read. */
static int lock_for_update(fd_ctx *ctx, int64_t id, int32_t expected_version)
{
	db_params p;
	PGresult *r;

	dbp_init(&p);
	dbp_int(&p, id);
	r = db_query(ctx,
		     "SELECT coalesce(merged_into, 0), version FROM patients"
		     " WHERE id = $1 FOR UPDATE",
		     &p);
	if (!r)
		return ctx->status.code;
	int found = PQntuples(r);
	int64_t merged = found ? db_int(r, 0, 0) : 0;
	int64_t version = found ? db_int(r, 0, 1) : 0;
	PQclear(r);
	if (!found)
		return fd_fail(&ctx->status, FD_NOT_FOUND, "no patient has id %lld", (long long)id);
	if (merged)
		return fd_fail(&ctx->status, FD_FAILED_PRECONDITION,
			       "patient %lld was merged into patient %lld; change that record",
			       (long long)id, (long long)merged);
	if (expected_version && version != expected_version)
		return fd_fail(&ctx->status, FD_ABORTED,
			       "the record was changed by someone else since you read it"
			       " (now version %lld); read it again",
			       (long long)version);
	return FD_OK;
}

int handle_patients_update(fd_ctx *ctx, const ProtobufCMessage *in, ProtobufCMessage **out)
{
	const Frontdesk__V1__UpdatePatientRequest *req = (const void *)in;
	Frontdesk__V1__UpdatePatientReply *rep = fd_arena_alloc(ctx->arena, sizeof *rep);
	Frontdesk__V1__PatientFields empty = FRONTDESK__V1__PATIENT_FIELDS__INIT;
	const Frontdesk__V1__PatientFields *f = req->fields ? req->fields : &empty;
	char phone[17], phone2[17], *mask = NULL;
	db_params p;
	PGresult *r;

	if (!rep)
		return PAT_NOMEM(ctx);
	frontdesk__v1__update_patient_reply__init(rep);
	if (req->patient_id <= 0)
		return fd_fail(&ctx->status, FD_INVALID_ARGUMENT, "give a patient id");
	fd_ctx_audit(ctx, req->patient_id, pat_subject(ctx, req->patient_id));
	if (mask_literal(ctx, req->update_mask, req->n_update_mask, &mask) != FD_OK ||
	    check_fields(ctx, f, req->update_mask, req->n_update_mask, phone, phone2) != FD_OK ||
	    lock_for_update(ctx, req->patient_id, req->expected_version) != FD_OK)
		return ctx->status.code;
	dbp_init(&p);
	field_params(&p, f, phone, phone2);
	dbp_int(&p, req->patient_id);
	dbp_text(&p, mask);
#define SET(col, name, n) " " col " = CASE WHEN '" name "' = ANY($18::text[]) THEN $" #n " ELSE " col " END,"
	r = db_query(ctx,
		     "UPDATE patients SET"
		     SET("family_name", "family_name", 1)
		     SET("given_name", "given_name", 2)
		     SET("preferred_name", "preferred_name", 3)
		     " date_of_birth = CASE WHEN 'date_of_birth' = ANY($18::text[])"
		     "   THEN $4::date ELSE date_of_birth END,"
		     SET("sex_at_birth", "sex_at_birth", 5)
		     SET("gender_identity", "gender_identity", 6)
		     SET("phone_e164", "phone", 7)
		     SET("phone2_e164", "phone2", 8)
		     SET("email", "email", 9)
		     SET("address", "address", 10)
		     SET("preferred_language", "preferred_language", 11)
		     SET("interpreter_needed", "interpreter_needed", 12)
		     SET("emergency_contact", "emergency_contact", 13)
		     SET("consent_sms", "consent_sms", 14)
		     SET("consent_voice", "consent_voice", 15)
		     SET("consent_email", "consent_email", 16)
		     " version = version + 1, updated_at = now()"
		     " WHERE id = $17 RETURNING" PATIENT_COLUMNS,
		     &p);
#undef SET
	if (!r)
		return ctx->status.code;
	rep->patient = patient_from_row(ctx, r, 0);
	PQclear(r);
	if (!rep->patient)
		return PAT_NOMEM(ctx);
	if (db_notify(ctx, "patient.updated", pat_subject(ctx, req->patient_id)) != FD_OK)
		return ctx->status.code;
	*out = &rep->base;
	return FD_OK;
}

/* --- MergePatients --------------------------------------------------- */

/* Locks both records (in id order, so two merges cannot deadlock) and
 * checks both exist and neither was merged already. */
static int lock_pair(fd_ctx *ctx, int64_t survivor, int64_t merged)
{
	db_params p;
	PGresult *r;
	int64_t found[2] = { 0, 0 }, into[2] = { 0, 0 };

	dbp_init(&p);
	dbp_int(&p, survivor);
	dbp_int(&p, merged);
	r = db_query(ctx,
		     "SELECT id, coalesce(merged_into, 0) FROM patients"
		     " WHERE id IN ($1, $2) ORDER BY id FOR UPDATE",
		     &p);
	if (!r)
		return ctx->status.code;
	for (int i = 0; i < PQntuples(r); i++) {
		int k = db_int(r, i, 0) == survivor ? 0 : 1;
		found[k] = 1;
		into[k] = db_int(r, i, 1);
	}
	PQclear(r);
	for (int k = 0; k < 2; k++) {
		int64_t id = k ? merged : survivor;
		if (!found[k])
			return fd_fail(&ctx->status, FD_NOT_FOUND, "no patient has id %lld",
				       (long long)id);
		if (into[k])
			return fd_fail(&ctx->status, FD_FAILED_PRECONDITION,
				       "patient %lld was already merged into patient %lld",
				       (long long)id, (long long)into[k]);
	}
	return FD_OK;
}

int handle_patients_merge(fd_ctx *ctx, const ProtobufCMessage *in, ProtobufCMessage **out)
{
	const Frontdesk__V1__MergePatientsRequest *req = (const void *)in;
	Frontdesk__V1__MergePatientsReply *rep = fd_arena_alloc(ctx->arena, sizeof *rep);
	int64_t both[2] = { req->survivor_id, req->merged_id };
	db_params p;
	PGresult *r;

	if (!rep)
		return PAT_NOMEM(ctx);
	frontdesk__v1__merge_patients_reply__init(rep);
	if (req->survivor_id <= 0 || req->merged_id <= 0)
		return fd_fail(&ctx->status, FD_INVALID_ARGUMENT,
			       "give the surviving and the duplicate patient ids");
	if (req->survivor_id == req->merged_id)
		return fd_fail(&ctx->status, FD_INVALID_ARGUMENT,
			       "a record cannot be merged into itself");
	fd_ctx_audit_patients(ctx, both, 2,
			      fd_arena_printf(ctx->arena, "patient:%lld<-%lld",
					      (long long)req->survivor_id,
					      (long long)req->merged_id));
	if (pat_check_free_text(ctx, "the reason", req->reason, 500) != FD_OK ||
	    lock_pair(ctx, req->survivor_id, req->merged_id) != FD_OK)
		return ctx->status.code;
	/* Everything that points at the duplicate moves first (the function
	 * finds every foreign key to patients, appointments and visits
	 * included once those tables exist); then the duplicate is marked. */
	dbp_init(&p);
	dbp_int(&p, req->survivor_id);
	dbp_int(&p, req->merged_id);
	r = db_query(ctx, "SELECT patient_merge($1, $2)", &p);
	if (!r)
		return ctx->status.code;
	rep->rows_moved = db_int(r, 0, 0);
	PQclear(r);
	dbp_text_or_null(&p, req->reason);
	if (db_exec(ctx,
		    "UPDATE patients SET merged_into = $1, merged_at = now(),"
		    " merge_reason = $3, version = version + 1, updated_at = now()"
		    " WHERE id = $2",
		    &p) != FD_OK)
		return ctx->status.code;
	dbp_init(&p);
	dbp_int(&p, req->survivor_id);
	r = db_query(ctx, "SELECT" PATIENT_COLUMNS " FROM patients WHERE id = $1", &p);
	if (!r)
		return ctx->status.code;
	rep->survivor = patient_from_row(ctx, r, 0);
	PQclear(r);
	if (!rep->survivor)
		return PAT_NOMEM(ctx);
	if (db_notify(ctx, "patient.merged", pat_subject(ctx, req->survivor_id)) != FD_OK)
		return ctx->status.code;
	*out = &rep->base;
	return FD_OK;
}

/* --- PatientHistory -------------------------------------------------- */

int handle_patients_history(fd_ctx *ctx, const ProtobufCMessage *in, ProtobufCMessage **out)
{
	const Frontdesk__V1__PatientHistoryRequest *req = (const void *)in;
	Frontdesk__V1__PatientHistoryReply *rep = fd_arena_alloc(ctx->arena, sizeof *rep);
	uint32_t limit = req->limit ? req->limit : 200;
	db_params p;
	PGresult *r;

	if (!rep)
		return PAT_NOMEM(ctx);
	frontdesk__v1__patient_history_reply__init(rep);
	if (limit > 1000)
		limit = 1000;
	fd_ctx_audit(ctx, req->patient_id > 0 ? req->patient_id : 0,
		     pat_subject(ctx, req->patient_id));
	if (pat_require_patient(ctx, req->patient_id) != FD_OK)
		return ctx->status.code;
	dbp_init(&p);
	dbp_int(&p, req->patient_id);
	dbp_int(&p, limit);
	/* The survivor's history includes the records merged into it. */
	r = db_query(ctx,
		     "SELECT " PAT_MS("h.at") ", coalesce(s.username, ''),"
		     " coalesce(d.code, ''), h.record, h.action, h.changes::text, h.patient_id"
		     " FROM patient_history h"
		     " LEFT JOIN staff s ON s.id = h.staff_id"
		     " LEFT JOIN desks d ON d.id = h.desk_id"
		     " WHERE h.patient_id = $1 OR h.patient_id IN"
		     "   (SELECT id FROM patients WHERE merged_into = $1)"
		     " ORDER BY h.at DESC, h.id DESC LIMIT $2",
		     &p);
	if (!r)
		return ctx->status.code;
	rep->n_changes = (size_t)PQntuples(r);
	rep->changes = pat_array(ctx, rep->n_changes, sizeof *rep->changes);
	if (!rep->changes) {
		PQclear(r);
		return PAT_NOMEM(ctx);
	}
	for (size_t i = 0; i < rep->n_changes; i++) {
		Frontdesk__V1__PatientChange *c = fd_arena_alloc(ctx->arena, sizeof *c);
		if (!c) {
			PQclear(r);
			return PAT_NOMEM(ctx);
		}
		frontdesk__v1__patient_change__init(c);
		c->at_unix_ms = db_int(r, (int)i, 0);
		c->staff_username = db_str(ctx->arena, r, (int)i, 1);
		c->desk = db_str(ctx->arena, r, (int)i, 2);
		c->record = db_str(ctx->arena, r, (int)i, 3);
		c->action = db_str(ctx->arena, r, (int)i, 4);
		c->changes_json = db_str(ctx->arena, r, (int)i, 5);
		c->patient_id = db_int(r, (int)i, 6);
		rep->changes[i] = c;
	}
	PQclear(r);
	*out = &rep->base;
	return FD_OK;
}
