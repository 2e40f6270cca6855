/*
 * Records service: immunization records (CVX code, date, lot, site, source,
 * who entered them) and prescription refill requests taken at the desk or
 * on the phone, moved through the provider's queue:
 *
 *   new → sent_to_provider → approved | denied → done     (new → denied too)
 *
 * Each step is kept with who and when. Approving or denying is a clinical
 * decision, so only a provider (or an admin) may take those steps; the
 * database refuses any other move as well (refill_request_check_step).
 */
#include <stdio.h>
#include <string.h>

#include "patients_common.h"
#include "frontdesk/v1/records.pb-c.h"

int handle_records_add_immunization(fd_ctx *ctx, const ProtobufCMessage *in, ProtobufCMessage **out);
int handle_records_list_immunizations(fd_ctx *ctx, const ProtobufCMessage *in, ProtobufCMessage **out);
int handle_records_add_refill(fd_ctx *ctx, const ProtobufCMessage *in, ProtobufCMessage **out);
int handle_records_list_refills(fd_ctx *ctx, const ProtobufCMessage *in, ProtobufCMessage **out);
int handle_records_update_refill(fd_ctx *ctx, const ProtobufCMessage *in, ProtobufCMessage **out);

#define MAX_REFILLS_LISTED 500

static const char *const sources[] = { "administered", "historical", "registry",
				       "patient_reported", NULL };
static const char *const channels[] = { "desk", "phone", NULL };
static const char *const statuses[] = { "new", "sent_to_provider", "approved", "denied",
					"done", NULL };

/* --- immunizations --------------------------------------------------- */

#define IMMUNIZATION_SELECT                                                      \
	"SELECT i.id, i.patient_id, i.cvx_code, coalesce(i.vaccine_name, ''), "  \
	PAT_DATE("i.administered_on") ", coalesce(i.lot_number, ''),"            \
	" coalesce(i.site, ''), i.source, s.username, " PAT_MS("i.entered_at")   \
	" FROM immunizations i JOIN staff s ON s.id = i.entered_by"

static Frontdesk__V1__Immunization *immunization_from_row(fd_ctx *ctx, const PGresult *r, int row)
{
	Frontdesk__V1__Immunization *v = fd_arena_alloc(ctx->arena, sizeof *v);
	fd_arena *a = ctx->arena;

	if (!v)
		return NULL;
	frontdesk__v1__immunization__init(v);
	v->id = db_int(r, row, 0);
	v->patient_id = db_int(r, row, 1);
	v->cvx_code = db_str(a, r, row, 2);
	v->vaccine_name = db_str(a, r, row, 3);
	v->administered_on = db_str(a, r, row, 4);
	v->lot_number = db_str(a, r, row, 5);
	v->site = db_str(a, r, row, 6);
	v->source = db_str(a, r, row, 7);
	v->entered_by = db_str(a, r, row, 8);
	v->entered_unix_ms = db_int(r, row, 9);
	return v;
}

static int check_immunization(fd_ctx *ctx, const Frontdesk__V1__Immunization *v)
{
	size_t len = strlen(v->cvx_code);

	if (len == 0 || len > 3 || strspn(v->cvx_code, "0123456789") != len)
		return fd_fail(&ctx->status, FD_INVALID_ARGUMENT,
			       "the CVX code is 1-3 digits (CDC vaccine code)");
	if (pat_check_name(ctx, "the vaccine name", v->vaccine_name, 200, false) ||
	    pat_check_date(ctx, "the date given", v->administered_on, 1900, true, true) ||
	    pat_check_name(ctx, "the lot number", v->lot_number, 64, false) ||
	    pat_check_name(ctx, "the site", v->site, 100, false) ||
	    pat_check_choice(ctx, "the source", v->source, sources, true))
		return ctx->status.code;
	return FD_OK;
}

int handle_records_add_immunization(fd_ctx *ctx, const ProtobufCMessage *in, ProtobufCMessage **out)
{
	const Frontdesk__V1__AddImmunizationRequest *req = (const void *)in;
	Frontdesk__V1__AddImmunizationReply *rep = fd_arena_alloc(ctx->arena, sizeof *rep);
	const Frontdesk__V1__Immunization *v = req->immunization;
	db_params p;
	PGresult *r;

	if (!rep)
		return PAT_NOMEM(ctx);
	frontdesk__v1__add_immunization_reply__init(rep);
	if (!v)
		return fd_fail(&ctx->status, FD_INVALID_ARGUMENT, "give the immunization");
	fd_ctx_audit(ctx, v->patient_id > 0 ? v->patient_id : 0, pat_subject(ctx, v->patient_id));
	if (check_immunization(ctx, v) || pat_require_active_patient(ctx, v->patient_id))
		return ctx->status.code;
	dbp_init(&p);
	dbp_int(&p, v->patient_id);
	dbp_text(&p, v->cvx_code);
	dbp_text_or_null(&p, v->vaccine_name);
	dbp_text(&p, v->administered_on);
	dbp_text_or_null(&p, v->lot_number);
	dbp_text_or_null(&p, v->site);
	dbp_text(&p, v->source);
	dbp_int(&p, ctx->session->staff_id);
	r = db_query(ctx,
		     "INSERT INTO immunizations (patient_id, cvx_code, vaccine_name,"
		     " administered_on, lot_number, site, source, entered_by)"
		     " VALUES ($1, $2, $3, $4::date, $5, $6, $7, $8) RETURNING id",
		     &p);
	if (!r)
		return ctx->status.code;
	dbp_init(&p);
	dbp_int(&p, db_int(r, 0, 0));
	PQclear(r);
	r = db_query(ctx, IMMUNIZATION_SELECT " WHERE i.id = $1", &p);
	if (!r)
		return ctx->status.code;
	rep->immunization = PQntuples(r) ? immunization_from_row(ctx, r, 0) : NULL;
	PQclear(r);
	if (!rep->immunization)
		return PAT_NOMEM(ctx);
	*out = &rep->base;
	return FD_OK;
}

int handle_records_list_immunizations(fd_ctx *ctx, const ProtobufCMessage *in, ProtobufCMessage **out)
{
	const Frontdesk__V1__ListImmunizationsRequest *req = (const void *)in;
	Frontdesk__V1__ListImmunizationsReply *rep = fd_arena_alloc(ctx->arena, sizeof *rep);
	db_params p;
	PGresult *r;

	if (!rep)
		return PAT_NOMEM(ctx);
	frontdesk__v1__list_immunizations_reply__init(rep);
	fd_ctx_audit(ctx, req->patient_id > 0 ? req->patient_id : 0,
		     pat_subject(ctx, req->patient_id));
	if (pat_require_patient(ctx, req->patient_id) != FD_OK)
		return ctx->status.code;
	dbp_init(&p);
	dbp_int(&p, req->patient_id);
	r = db_query(ctx, IMMUNIZATION_SELECT " WHERE i.patient_id = $1"
			  " ORDER BY i.administered_on, i.id", &p);
	if (!r)
		return ctx->status.code;
	rep->n_immunizations = (size_t)PQntuples(r);
	rep->immunizations = pat_array(ctx, rep->n_immunizations, sizeof *rep->immunizations);
	for (size_t i = 0; rep->immunizations && i < rep->n_immunizations; i++)
		if (!(rep->immunizations[i] = immunization_from_row(ctx, r, (int)i))) {
			PQclear(r);
			return PAT_NOMEM(ctx);
		}
	PQclear(r);
	if (!rep->immunizations)
		return PAT_NOMEM(ctx);
	*out = &rep->base;
	return FD_OK;
}

/* --- refill requests ------------------------------------------------- */

#define REFILL_SELECT                                                          \
	"SELECT r.id, r.patient_id, r.medication, coalesce(r.pharmacy, ''),"   \
	" r.requested_by, r.channel, r.status, " PAT_MS("r.created_at")        \
	" FROM refill_requests r"

static Frontdesk__V1__Refill *refill_from_row(fd_ctx *ctx, const PGresult *r, int row)
{
	Frontdesk__V1__Refill *f = fd_arena_alloc(ctx->arena, sizeof *f);
	fd_arena *a = ctx->arena;

	if (!f)
		return NULL;
	frontdesk__v1__refill__init(f);
	f->id = db_int(r, row, 0);
	f->patient_id = db_int(r, row, 1);
	f->medication = db_str(a, r, row, 2);
	f->pharmacy = db_str(a, r, row, 3);
	f->requested_by = db_str(a, r, row, 4);
	f->channel = db_str(a, r, row, 5);
	f->status = db_str(a, r, row, 6);
	f->created_unix_ms = db_int(r, row, 7);
	return f;
}

/* Fills each refill's steps, in order, with one query for all of them. */
static int attach_steps(fd_ctx *ctx, Frontdesk__V1__Refill **refills, size_t n)
{
	char *ids = fd_arena_alloc(ctx->arena, 3 + n * 21);
	db_params p;
	PGresult *r;

	if (!ids)
		return PAT_NOMEM(ctx);
	strcpy(ids, "{");
	for (size_t i = 0; i < n; i++)
		sprintf(ids + strlen(ids), "%s%lld", i ? "," : "", (long long)refills[i]->id);
	strcat(ids, "}");
	dbp_init(&p);
	dbp_text(&p, ids);
	r = db_query(ctx,
		     "SELECT t.refill_id, t.status, " PAT_MS("t.at") ", s.username,"
		     " coalesce(t.note, '') FROM refill_request_steps t"
		     " JOIN staff s ON s.id = t.staff_id"
		     " WHERE t.refill_id = ANY($1::bigint[]) ORDER BY t.refill_id, t.at, t.id",
		     &p);
	if (!r)
		return ctx->status.code;
	int rows = PQntuples(r);
	for (size_t i = 0; i < n; i++) {
		Frontdesk__V1__Refill *f = refills[i];
		size_t count = 0;
		for (int k = 0; k < rows; k++)
			count += db_int(r, k, 0) == f->id;
		f->steps = pat_array(ctx, count, sizeof *f->steps);
		if (!f->steps) {
			PQclear(r);
			return PAT_NOMEM(ctx);
		}
		for (int k = 0; k < rows; k++) {
			if (db_int(r, k, 0) != f->id)
				continue;
			Frontdesk__V1__RefillStep *s = fd_arena_alloc(ctx->arena, sizeof *s);
			if (!s) {
				PQclear(r);
				return PAT_NOMEM(ctx);
			}
			frontdesk__v1__refill_step__init(s);
			s->status = db_str(ctx->arena, r, k, 1);
			s->at_unix_ms = db_int(r, k, 2);
			s->staff_username = db_str(ctx->arena, r, k, 3);
			s->note = db_str(ctx->arena, r, k, 4);
			f->steps[f->n_steps++] = s;
		}
	}
	PQclear(r);
	return FD_OK;
}

static int load_refill(fd_ctx *ctx, int64_t id, Frontdesk__V1__Refill **out)
{
	db_params p;
	PGresult *r;

	dbp_init(&p);
	dbp_int(&p, id);
	r = db_query(ctx, REFILL_SELECT " WHERE r.id = $1", &p);
	if (!r)
		return ctx->status.code;
	*out = PQntuples(r) ? refill_from_row(ctx, r, 0) : NULL;
	PQclear(r);
	if (!*out)
		return PAT_NOMEM(ctx);
	return attach_steps(ctx, out, 1);
}

int handle_records_add_refill(fd_ctx *ctx, const ProtobufCMessage *in, ProtobufCMessage **out)
{
	const Frontdesk__V1__AddRefillRequest *req = (const void *)in;
	Frontdesk__V1__AddRefillReply *rep = fd_arena_alloc(ctx->arena, sizeof *rep);
	const Frontdesk__V1__Refill *f = req->refill;
	db_params p;
	PGresult *r;

	if (!rep)
		return PAT_NOMEM(ctx);
	frontdesk__v1__add_refill_reply__init(rep);
	if (!f)
		return fd_fail(&ctx->status, FD_INVALID_ARGUMENT, "give the refill request");
	fd_ctx_audit(ctx, f->patient_id > 0 ? f->patient_id : 0, pat_subject(ctx, f->patient_id));
	if (pat_check_free_text(ctx, "the medication", f->medication, 300) ||
	    pat_check_free_text(ctx, "the pharmacy", f->pharmacy, 300) ||
	    pat_check_free_text(ctx, "who asked", f->requested_by, 200) ||
	    pat_check_free_text(ctx, "the note", req->note, 1000) ||
	    pat_check_choice(ctx, "the channel", f->channel, channels, false))
		return ctx->status.code;
	if (!*f->medication || !*f->requested_by)
		return fd_fail(&ctx->status, FD_INVALID_ARGUMENT,
			       "give the medication and who asked for it");
	if (pat_require_active_patient(ctx, f->patient_id))
		return ctx->status.code;
	dbp_init(&p);
	dbp_int(&p, f->patient_id);
	dbp_text(&p, f->medication);
	dbp_text_or_null(&p, f->pharmacy);
	dbp_text(&p, f->requested_by);
	dbp_text(&p, *f->channel ? f->channel : "desk");
	dbp_int(&p, ctx->session->staff_id);
	dbp_text_or_null(&p, req->note);
	r = db_query(ctx,
		     "WITH f AS (INSERT INTO refill_requests (patient_id, medication, pharmacy,"
		     "   requested_by, channel, created_by) VALUES ($1, $2, $3, $4, $5, $6)"
		     "   RETURNING id),"
		     " s AS (INSERT INTO refill_request_steps (refill_id, status, staff_id, note)"
		     "   SELECT id, 'new', $6, $7 FROM f)"
		     " SELECT id FROM f",
		     &p);
	if (!r)
		return ctx->status.code;
	int64_t id = db_int(r, 0, 0);
	PQclear(r);
	if (load_refill(ctx, id, &rep->refill) != FD_OK ||
	    db_notify(ctx, "refill.changed", fd_arena_printf(ctx->arena, "refill:%lld",
							    (long long)id)) != FD_OK)
		return ctx->status.code;
	*out = &rep->base;
	return FD_OK;
}

int handle_records_list_refills(fd_ctx *ctx, const ProtobufCMessage *in, ProtobufCMessage **out)
{
	const Frontdesk__V1__ListRefillsRequest *req = (const void *)in;
	Frontdesk__V1__ListRefillsReply *rep = fd_arena_alloc(ctx->arena, sizeof *rep);
	int64_t *ids;
	db_params p;
	PGresult *r;

	if (!rep)
		return PAT_NOMEM(ctx);
	frontdesk__v1__list_refills_reply__init(rep);
	if (pat_check_choice(ctx, "the status", req->status, statuses, false))
		return ctx->status.code;
	if (req->patient_id && pat_require_patient(ctx, req->patient_id))
		return ctx->status.code;
	dbp_init(&p);
	dbp_int(&p, req->patient_id);
	dbp_text_or_null(&p, req->status);
	dbp_bool(&p, req->open_only);
	dbp_int(&p, MAX_REFILLS_LISTED);
	r = db_query(ctx,
		     REFILL_SELECT " WHERE ($1 = 0 OR r.patient_id = $1)"
		     " AND ($2::text IS NULL OR r.status = $2)"
		     " AND (NOT $3 OR r.status <> 'done')"
		     " ORDER BY r.created_at, r.id LIMIT $4",
		     &p);
	if (!r)
		return ctx->status.code;
	rep->n_refills = (size_t)PQntuples(r);
	rep->refills = pat_array(ctx, rep->n_refills, sizeof *rep->refills);
	ids = pat_array(ctx, rep->n_refills, sizeof *ids);
	size_t n_ids = 0;
	for (size_t i = 0; rep->refills && ids && i < rep->n_refills; i++) {
		if (!(rep->refills[i] = refill_from_row(ctx, r, (int)i))) {
			PQclear(r);
			return PAT_NOMEM(ctx);
		}
		/* Each patient shown once in the audit, however many requests. */
		size_t k = 0;
		while (k < n_ids && ids[k] != rep->refills[i]->patient_id)
			k++;
		if (k == n_ids)
			ids[n_ids++] = rep->refills[i]->patient_id;
	}
	PQclear(r);
	if (!rep->refills || !ids)
		return PAT_NOMEM(ctx);
	if (req->patient_id)
		fd_ctx_audit(ctx, req->patient_id, pat_subject(ctx, req->patient_id));
	else
		fd_ctx_audit_patients(ctx, ids, n_ids, "refill:queue");
	if (rep->n_refills && attach_steps(ctx, rep->refills, rep->n_refills) != FD_OK)
		return ctx->status.code;
	*out = &rep->base;
	return FD_OK;
}

/* The steps a request may take next, for the refusal message. */
static const char *next_steps(const char *status)
{
	if (strcmp(status, "new") == 0)
		return "sent_to_provider or denied";
	if (strcmp(status, "sent_to_provider") == 0)
		return "approved or denied";
	if (strcmp(status, "approved") == 0 || strcmp(status, "denied") == 0)
		return "done";
	return NULL;
}

static bool step_allowed(const char *from, const char *to)
{
	return (strcmp(from, "new") == 0 && (strcmp(to, "sent_to_provider") == 0 ||
					     strcmp(to, "denied") == 0)) ||
	       (strcmp(from, "sent_to_provider") == 0 &&
		(strcmp(to, "approved") == 0 || strcmp(to, "denied") == 0)) ||
	       ((strcmp(from, "approved") == 0 || strcmp(from, "denied") == 0) &&
		strcmp(to, "done") == 0);
}

int handle_records_update_refill(fd_ctx *ctx, const ProtobufCMessage *in, ProtobufCMessage **out)
{
	const Frontdesk__V1__UpdateRefillRequest *req = (const void *)in;
	Frontdesk__V1__UpdateRefillReply *rep = fd_arena_alloc(ctx->arena, sizeof *rep);
	db_params p;
	PGresult *r;

	if (!rep)
		return PAT_NOMEM(ctx);
	frontdesk__v1__update_refill_reply__init(rep);
	if (req->refill_id <= 0)
		return fd_fail(&ctx->status, FD_INVALID_ARGUMENT, "give a refill request id");
	if (pat_check_choice(ctx, "the next status", req->status, statuses, true) ||
	    pat_check_free_text(ctx, "the note", req->note, 1000))
		return ctx->status.code;
	dbp_init(&p);
	dbp_int(&p, req->refill_id);
	r = db_query(ctx, "SELECT status, patient_id FROM refill_requests WHERE id = $1 FOR UPDATE",
		     &p);
	if (!r)
		return ctx->status.code;
	int found = PQntuples(r);
	char *status = found ? db_str(ctx->arena, r, 0, 0) : NULL;
	int64_t patient_id = found ? db_int(r, 0, 1) : 0;
	PQclear(r);
	if (!found)
		return fd_fail(&ctx->status, FD_NOT_FOUND, "no refill request has id %lld",
			       (long long)req->refill_id);
	fd_ctx_audit(ctx, patient_id,
		     fd_arena_printf(ctx->arena, "refill:%lld", (long long)req->refill_id));
	if (!status || !step_allowed(status, req->status)) {
		const char *next = status ? next_steps(status) : NULL;
		if (!next)
			return fd_fail(&ctx->status, FD_FAILED_PRECONDITION,
				       "the request is %s; nothing follows", status ? status : "?");
		return fd_fail(&ctx->status, FD_FAILED_PRECONDITION,
			       "the request is %s; it can go to %s", status, next);
	}
	if ((strcmp(req->status, "approved") == 0 || strcmp(req->status, "denied") == 0) &&
	    !(ctx->session->roles & (ROLE_PROVIDER | ROLE_ADMIN)))
		return fd_fail(&ctx->status, FD_PERMISSION_DENIED,
			       "only a provider may approve or deny a refill");
	dbp_text(&p, req->status);
	dbp_int(&p, ctx->session->staff_id);
	dbp_text_or_null(&p, req->note);
	if (db_exec(ctx,
		    "WITH u AS (UPDATE refill_requests SET status = $2, updated_at = now()"
		    "   WHERE id = $1 RETURNING id)"
		    " INSERT INTO refill_request_steps (refill_id, status, staff_id, note)"
		    " SELECT id, $2, $3, $4 FROM u",
		    &p) != FD_OK ||
	    load_refill(ctx, req->refill_id, &rep->refill) != FD_OK ||
	    db_notify(ctx, "refill.changed",
		      fd_arena_printf(ctx->arena, "refill:%lld", (long long)req->refill_id)) != FD_OK)
		return ctx->status.code;
	*out = &rep->base;
	return FD_OK;
}
