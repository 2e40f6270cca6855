/*
 * Intake service: form definitions (a code, numbered versions, a period in
 * use, how long a completion stays valid), a patient's completions with
 * their answers, and readiness: one answer listing everything missing or
 * expired before the patient is seen (forms, insurance missing, expired or
 * not verified recently, a balance due, an interpreter to book).
 *
 * "The form in use" is, per code, the highest version whose period covers
 * today; a completion of an older version counts as outdated.
 */
#include <stdio.h>
#include <string.h>

#include "patients_common.h"
#include "frontdesk/v1/intake.pb-c.h"

int handle_intake_define_form(fd_ctx *ctx, const ProtobufCMessage *in, ProtobufCMessage **out);
int handle_intake_list_forms(fd_ctx *ctx, const ProtobufCMessage *in, ProtobufCMessage **out);
int handle_intake_status(fd_ctx *ctx, const ProtobufCMessage *in, ProtobufCMessage **out);
int handle_intake_complete_form(fd_ctx *ctx, const ProtobufCMessage *in, ProtobufCMessage **out);
int handle_intake_readiness(fd_ctx *ctx, const ProtobufCMessage *in, ProtobufCMessage **out);

#define MAX_ANSWERS_CHARS 65536
#define DEFAULT_VERIFIED_WITHIN_DAYS 30

/* A form's columns, read by form_from_row from column `at` on. */
#define FORM_COLUMNS(f)                                                         \
	" " f ".id, " f ".code, " f ".version, " f ".title,"                     \
	" coalesce(" f ".valid_days, 0), " f ".required, "                       \
	PAT_DATE(f ".in_use_from") ", " PAT_DATE(f ".in_use_until") ","          \
	" " f ".questions::text"

/* The version of each form in use today (a view, migration 0014, shared
 * with readiness). */
#define FORMS_IN_USE "SELECT * FROM intake_forms_in_use"

static Frontdesk__V1__IntakeForm *form_from_row(fd_ctx *ctx, const PGresult *r, int row, int at)
{
	Frontdesk__V1__IntakeForm *f = fd_arena_alloc(ctx->arena, sizeof *f);

	if (!f)
		return NULL;
	frontdesk__v1__intake_form__init(f);
	f->id = db_int(r, row, at);
	f->code = db_str(ctx->arena, r, row, at + 1);
	f->version = (int32_t)db_int(r, row, at + 2);
	f->title = db_str(ctx->arena, r, row, at + 3);
	f->valid_days = (int32_t)db_int(r, row, at + 4);
	f->required = db_bool(r, row, at + 5);
	f->in_use_from = db_str(ctx->arena, r, row, at + 6);
	f->in_use_until = db_str(ctx->arena, r, row, at + 7);
	f->questions_json = db_str(ctx->arena, r, row, at + 8);
	return f;
}

/* --- DefineForm and ListForms ---------------------------------------- */

static int check_form_code(fd_ctx *ctx, const char *code)
{
	size_t len = strlen(code);

	if (len == 0 || len > 48 || strspn(code, "abcdefghijklmnopqrstuvwxyz0123456789_-") != len ||
	    code[0] == '-' || code[0] == '_')
		return fd_fail(&ctx->status, FD_INVALID_ARGUMENT,
			       "a form code is 1-48 lowercase letters, digits, '-' or '_'");
	return FD_OK;
}

int handle_intake_define_form(fd_ctx *ctx, const ProtobufCMessage *in, ProtobufCMessage **out)
{
	const Frontdesk__V1__DefineFormRequest *req = (const void *)in;
	Frontdesk__V1__DefineFormReply *rep = fd_arena_alloc(ctx->arena, sizeof *rep);
	const Frontdesk__V1__IntakeForm *f = req->form;
	db_params p;
	PGresult *r;

	if (!rep)
		return PAT_NOMEM(ctx);
	frontdesk__v1__define_form_reply__init(rep);
	if (!f)
		return fd_fail(&ctx->status, FD_INVALID_ARGUMENT, "give the form");
	if (check_form_code(ctx, f->code) ||
	    pat_check_name(ctx, "the title", f->title, 200, true) ||
	    pat_check_date(ctx, "the first day in use", f->in_use_from, 2000, false, false) ||
	    pat_check_date(ctx, "the last day in use", f->in_use_until, 2000, false, false) ||
	    pat_check_free_text(ctx, "the questions", f->questions_json, MAX_ANSWERS_CHARS))
		return ctx->status.code;
	if (f->valid_days < 0 || f->valid_days > 36500)
		return fd_fail(&ctx->status, FD_INVALID_ARGUMENT,
			       "a completion stays valid 1-36500 days (0: forever)");
	fd_ctx_audit(ctx, 0, fd_arena_printf(ctx->arena, "intake_form:%s", f->code));
	dbp_init(&p);
	dbp_text(&p, f->code);
	dbp_text(&p, f->title);
	dbp_int(&p, f->valid_days);
	dbp_bool(&p, f->required);
	dbp_text_or_null(&p, f->in_use_from);
	dbp_text_or_null(&p, f->in_use_until);
	dbp_text(&p, *f->questions_json ? f->questions_json : "[]");
	r = db_query(ctx,
		     "INSERT INTO intake_forms (code, version, title, valid_days, required,"
		     " in_use_from, in_use_until, questions)"
		     " SELECT $1, coalesce((SELECT max(version) FROM intake_forms WHERE code = $1), 0) + 1,"
		     " $2, nullif($3::int, 0), $4, coalesce($5::date, current_date), $6::date,"
		     " patient_json_array($7)"
		     " WHERE patient_json_array($7) IS NOT NULL"
		     " RETURNING" FORM_COLUMNS("intake_forms"),
		     &p);
	if (!r)
		return ctx->status.code;
	if (PQntuples(r) == 0) {
		PQclear(r);
		return fd_fail(&ctx->status, FD_INVALID_ARGUMENT,
			       "the questions must be a JSON array");
	}
	rep->form = form_from_row(ctx, r, 0, 0);
	PQclear(r);
	if (!rep->form)
		return PAT_NOMEM(ctx);
	*out = &rep->base;
	return FD_OK;
}

int handle_intake_list_forms(fd_ctx *ctx, const ProtobufCMessage *in, ProtobufCMessage **out)
{
	const Frontdesk__V1__ListFormsRequest *req = (const void *)in;
	Frontdesk__V1__ListFormsReply *rep = fd_arena_alloc(ctx->arena, sizeof *rep);
	PGresult *r;

	if (!rep)
		return PAT_NOMEM(ctx);
	frontdesk__v1__list_forms_reply__init(rep);
	r = db_query(ctx,
		     req->include_retired
			     ? "SELECT" FORM_COLUMNS("f") " FROM intake_forms f ORDER BY f.code, f.version"
			     : "SELECT" FORM_COLUMNS("f") " FROM (" FORMS_IN_USE ") f ORDER BY f.code",
		     NULL);
	if (!r)
		return ctx->status.code;
	rep->n_forms = (size_t)PQntuples(r);
	rep->forms = pat_array(ctx, rep->n_forms, sizeof *rep->forms);
	for (size_t i = 0; rep->forms && i < rep->n_forms; i++)
		if (!(rep->forms[i] = form_from_row(ctx, r, (int)i, 0))) {
			PQclear(r);
			return PAT_NOMEM(ctx);
		}
	PQclear(r);
	if (!rep->forms)
		return PAT_NOMEM(ctx);
	*out = &rep->base;
	return FD_OK;
}

/* --- IntakeStatus ---------------------------------------------------- */

/* Each form in use (only `code` when not NULL) with the patient's latest
 * completion of any of its versions, and the state that gives. Expiry
 * follows the validity of the version completed; readiness applies the same
 * rules to the required forms (patient_readiness_gaps(), migration 0014). */
static int load_status(fd_ctx *ctx, int64_t patient_id, const char *code,
		       Frontdesk__V1__FormStatus ***list, size_t *n)
{
	db_params p;
	PGresult *r;

	dbp_init(&p);
	dbp_int(&p, patient_id);
	dbp_text(&p, code);
	r = db_query(ctx,
		     "SELECT" FORM_COLUMNS("f") ", s.state,"
		     " " PAT_MS("s.completed_at") ", coalesce(s.completed_version, 0),"
		     " " PAT_MS("s.expires_at") ", coalesce(s.completion_id, 0)"
		     " FROM patient_form_states(ARRAY[$1::bigint]) s"
		     " JOIN intake_forms f ON f.id = s.form_id"
		     " WHERE $2::text IS NULL OR s.code = $2"
		     " ORDER BY s.code",
		     &p);
	if (!r)
		return ctx->status.code;
	*n = (size_t)PQntuples(r);
	*list = pat_array(ctx, *n, sizeof **list);
	if (!*list) {
		PQclear(r);
		return PAT_NOMEM(ctx);
	}
	for (size_t i = 0; i < *n; i++) {
		Frontdesk__V1__FormStatus *s = fd_arena_alloc(ctx->arena, sizeof *s);
		int row = (int)i;
		if (!s || !(s->form = form_from_row(ctx, r, row, 0))) {
			PQclear(r);
			return PAT_NOMEM(ctx);
		}
		Frontdesk__V1__IntakeForm *form = s->form;
		frontdesk__v1__form_status__init(s);
		s->form = form;
		s->state = db_str(ctx->arena, r, row, 9);
		s->completed_unix_ms = db_int(r, row, 10);
		s->completed_version = (int32_t)db_int(r, row, 11);
		s->expires_unix_ms = db_int(r, row, 12);
		s->completion_id = db_int(r, row, 13);
		(*list)[i] = s;
	}
	PQclear(r);
	return FD_OK;
}

int handle_intake_status(fd_ctx *ctx, const ProtobufCMessage *in, ProtobufCMessage **out)
{
	const Frontdesk__V1__IntakeStatusRequest *req = (const void *)in;
	Frontdesk__V1__IntakeStatusReply *rep = fd_arena_alloc(ctx->arena, sizeof *rep);

	if (!rep)
		return PAT_NOMEM(ctx);
	frontdesk__v1__intake_status_reply__init(rep);
	fd_ctx_audit(ctx, req->patient_id > 0 ? req->patient_id : 0,
		     pat_subject(ctx, req->patient_id));
	if (pat_require_patient(ctx, req->patient_id) != FD_OK ||
	    load_status(ctx, req->patient_id, NULL, &rep->forms, &rep->n_forms) != FD_OK)
		return ctx->status.code;
	*out = &rep->base;
	return FD_OK;
}

/* --- CompleteForm ---------------------------------------------------- */

int handle_intake_complete_form(fd_ctx *ctx, const ProtobufCMessage *in, ProtobufCMessage **out)
{
	const Frontdesk__V1__CompleteFormRequest *req = (const void *)in;
	Frontdesk__V1__CompleteFormReply *rep = fd_arena_alloc(ctx->arena, sizeof *rep);
	const char *answers = *req->answers_json ? req->answers_json : "{}";
	Frontdesk__V1__FormStatus **list;
	size_t n;
	db_params p;
	PGresult *r;

	if (!rep)
		return PAT_NOMEM(ctx);
	frontdesk__v1__complete_form_reply__init(rep);
	fd_ctx_audit(ctx, req->patient_id > 0 ? req->patient_id : 0,
		     pat_subject(ctx, req->patient_id));
	if (check_form_code(ctx, req->form_code) ||
	    pat_check_free_text(ctx, "the answers", answers, MAX_ANSWERS_CHARS) ||
	    pat_require_active_patient(ctx, req->patient_id))
		return ctx->status.code;
	dbp_init(&p);
	dbp_int(&p, req->patient_id);
	dbp_text(&p, req->form_code);
	dbp_text(&p, answers);
	dbp_int(&p, ctx->session->staff_id);
	/* Answers are stored exactly as given (as jsonb): text inside them is
	 * never interpreted, only escaped when printed. */
	r = db_query(ctx,
		     "WITH cur AS (" FORMS_IN_USE "),"
		     " form AS (SELECT id, patient_json_object($3) AS answers FROM cur WHERE code = $2),"
		     " ins AS (INSERT INTO intake_completions (patient_id, form_id, recorded_by, answers)"
		     "   SELECT $1, form.id, $4, form.answers FROM form"
		     "   WHERE form.answers IS NOT NULL RETURNING id)"
		     " SELECT (SELECT count(*) FROM form), (SELECT count(*) FROM ins)",
		     &p);
	if (!r)
		return ctx->status.code;
	int64_t forms = db_int(r, 0, 0), inserted = db_int(r, 0, 1);
	PQclear(r);
	if (!forms)
		return fd_fail(&ctx->status, FD_NOT_FOUND, "no form with code %s is in use today",
			       req->form_code);
	if (!inserted)
		return fd_fail(&ctx->status, FD_INVALID_ARGUMENT,
			       "the answers must be a JSON object ({} for a paper form)");
	if (load_status(ctx, req->patient_id, req->form_code, &list, &n) != FD_OK)
		return ctx->status.code;
	if (n != 1)
		return fd_fail(&ctx->status, FD_INTERNAL, "the completed form was not found");
	rep->status = list[0];
	if (db_notify(ctx, "intake.completed", pat_subject(ctx, req->patient_id)) != FD_OK)
		return ctx->status.code;
	*out = &rep->base;
	return FD_OK;
}

/* --- Readiness ------------------------------------------------------- */

/* The gaps themselves are patient_readiness_gaps() (migration 0014), the
 * one definition check-in and the board's look ahead share. */

/* The appointment's patient, when asked by appointment. */
static int patient_of_appointment(fd_ctx *ctx, int64_t appointment_id, int64_t *patient_id)
{
	db_params p;
	PGresult *r;

	dbp_init(&p);
	dbp_int(&p, appointment_id);
	r = db_query(ctx, "SELECT patient_for_appointment($1)", &p);
	if (!r)
		return ctx->status.code;
	bool unknown = PQgetisnull(r, 0, 0);
	*patient_id = db_int(r, 0, 0);
	PQclear(r);
	if (*patient_id == -1)
		return fd_fail(&ctx->status, FD_FAILED_PRECONDITION,
			       "appointments are not available on this server yet");
	if (unknown)
		return fd_fail(&ctx->status, FD_NOT_FOUND, "no appointment has id %lld",
			       (long long)appointment_id);
	return FD_OK;
}

/* The gaps of one patient, in the desk's order, into rep. */
static int load_gaps(fd_ctx *ctx, int64_t patient_id, uint32_t days,
		     Frontdesk__V1__ReadinessReply *rep)
{
	db_params p;
	PGresult *r;

	dbp_init(&p);
	dbp_int(&p, patient_id);
	dbp_int(&p, days);
	/* One row even with no gaps: it also says whether balances exist
	 * (patient_balance_due()). */
	r = db_query(ctx,
		     "SELECT to_regclass('patient_balances') IS NOT NULL, g.kind, g.detail"
		     " FROM (SELECT 1) one"
		     " LEFT JOIN LATERAL patient_readiness_gaps(ARRAY[$1::bigint], $2) g ON true"
		     " ORDER BY g.ord",
		     &p);
	if (!r)
		return ctx->status.code;
	int n = PQntuples(r), gaps = n > 0 && !PQgetisnull(r, 0, 1) ? n : 0;
	rep->balance_checked = n > 0 && db_bool(r, 0, 0);
	rep->gaps = pat_array(ctx, (size_t)gaps, sizeof *rep->gaps);
	for (int i = 0; rep->gaps && i < gaps; i++) {
		Frontdesk__V1__ReadinessGap *g = fd_arena_alloc(ctx->arena, sizeof *g);
		if (!g)
			break;
		frontdesk__v1__readiness_gap__init(g);
		g->kind = db_str(ctx->arena, r, i, 1);
		g->detail = db_str(ctx->arena, r, i, 2);
		if (!g->kind || !g->detail)
			break;
		rep->gaps[rep->n_gaps++] = g;
	}
	PQclear(r);
	if (rep->n_gaps != (size_t)gaps)
		return PAT_NOMEM(ctx);
	return FD_OK;
}

int handle_intake_readiness(fd_ctx *ctx, const ProtobufCMessage *in, ProtobufCMessage **out)
{
	const Frontdesk__V1__ReadinessRequest *req = (const void *)in;
	Frontdesk__V1__ReadinessReply *rep = fd_arena_alloc(ctx->arena, sizeof *rep);
	uint32_t days = req->verified_within_days ? req->verified_within_days
						  : DEFAULT_VERIFIED_WITHIN_DAYS;
	int64_t patient_id = req->patient_id;

	if (!rep)
		return PAT_NOMEM(ctx);
	frontdesk__v1__readiness_reply__init(rep);
	if (days > 3650)
		return fd_fail(&ctx->status, FD_INVALID_ARGUMENT,
			       "verified_within_days is at most 3650");
	if (req->appointment_id > 0 &&
	    patient_of_appointment(ctx, req->appointment_id, &patient_id) != FD_OK)
		return ctx->status.code;
	/* Both given: they must agree, or one patient's readiness would be
	 * shown under another's id. The answer is the one for an unknown
	 * appointment, so it says nothing about whose it is. */
	if (req->appointment_id > 0 && req->patient_id && req->patient_id != patient_id) {
		fd_ctx_audit(ctx, req->patient_id, pat_subject(ctx, req->patient_id));
		return fd_fail(&ctx->status, FD_NOT_FOUND, "no appointment has id %lld",
			       (long long)req->appointment_id);
	}
	fd_ctx_audit(ctx, patient_id > 0 ? patient_id : 0, pat_subject(ctx, patient_id));
	if (pat_require_active_patient(ctx, patient_id) != FD_OK)
		return ctx->status.code;
	if (load_gaps(ctx, patient_id, days, rep) != FD_OK)
		return ctx->status.code;
	rep->patient_id = patient_id;
	rep->ready = rep->n_gaps == 0;
	*out = &rep->base;
	return FD_OK;
}
