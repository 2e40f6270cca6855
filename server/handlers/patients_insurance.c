/*
 * Insurance service: a patient's policies (one active primary, secondary
 * and tertiary at most; the database enforces it), their copays per visit
 * type in cents, verification (when and by whom eligibility was last
 * confirmed) and the card images. Card images are checked by their first
 * bytes, not by what the caller says they are, and kept apart from the
 * policy row so listing policies never drags images along.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "patients_common.h"
#include "frontdesk/v1/insurance.pb-c.h"

int handle_insurance_add_policy(fd_ctx *ctx, const ProtobufCMessage *in, ProtobufCMessage **out);
int handle_insurance_list_policies(fd_ctx *ctx, const ProtobufCMessage *in, ProtobufCMessage **out);
int handle_insurance_verify_policy(fd_ctx *ctx, const ProtobufCMessage *in, ProtobufCMessage **out);
int handle_insurance_end_policy(fd_ctx *ctx, const ProtobufCMessage *in, ProtobufCMessage **out);
int handle_insurance_put_card(fd_ctx *ctx, const ProtobufCMessage *in, ProtobufCMessage **out);
int handle_insurance_get_card(fd_ctx *ctx, const ProtobufCMessage *in, ProtobufCMessage **out);

/* Largest card image: fits the server's default 1 MiB request with room
 * for the envelope. The migration checks the same bound. */
#define CARD_MAX_BYTES (768 * 1024)
#define MAX_COPAYS 20
#define MAX_COPAY_CENTS 10000000

static const char *const relationships[] = { "self", "spouse", "child", "other", NULL };
static const char *const priorities[] = { "primary", "secondary", "tertiary", NULL };
static const char *const sides[] = { "front", "back", NULL };

/* A policy as replies show it; policy_from_row reads these in order. */
#define POLICY_SELECT                                                            \
	"SELECT p.id, p.patient_id, p.payer, coalesce(p.plan, ''), p.member_id," \
	" coalesce(p.group_number, ''), coalesce(p.subscriber_name, ''),"        \
	" p.subscriber_relationship, p.priority, " PAT_DATE("p.effective_from")  \
	", " PAT_DATE("p.effective_until") ", p.active, "                        \
	PAT_MS("p.last_verified_at") ", coalesce(s.username, ''),"               \
	" EXISTS (SELECT 1 FROM insurance_cards c WHERE c.policy_id = p.id"      \
	"         AND c.side = 'front'),"                                        \
	" EXISTS (SELECT 1 FROM insurance_cards c WHERE c.policy_id = p.id"      \
	"         AND c.side = 'back'),"                                         \
	" coalesce((SELECT string_agg(k.visit_type || ':' || k.copay_cents, ','" \
	"   ORDER BY k.visit_type) FROM insurance_copays k"                      \
	"   WHERE k.policy_id = p.id), '')"                                      \
	" FROM insurance_policies p LEFT JOIN staff s ON s.id = p.last_verified_by"

/* "new:2500,follow-up:1500" (visit type codes hold neither ':' nor ','). */
static int copays_from_text(fd_ctx *ctx, const char *text, Frontdesk__V1__InsurancePolicy *pol)
{
	size_t n = *text ? 1 : 0;
	char *copy = fd_arena_strdup(ctx->arena, text), *save = NULL;

	if (!copy)
		return PAT_NOMEM(ctx);
	for (const char *c = text; *c; c++)
		n += *c == ',';
	pol->copays = pat_array(ctx, n, sizeof *pol->copays);
	if (!pol->copays)
		return PAT_NOMEM(ctx);
	for (char *item = strtok_r(copy, ",", &save); item; item = strtok_r(NULL, ",", &save)) {
		Frontdesk__V1__Copay *k = fd_arena_alloc(ctx->arena, sizeof *k);
		char *colon = strchr(item, ':');
		if (!k || !colon)
			return PAT_NOMEM(ctx);
		frontdesk__v1__copay__init(k);
		*colon = '\0';
		k->visit_type = item;
		k->copay_cents = strtoll(colon + 1, NULL, 10);
		pol->copays[pol->n_copays++] = k;
	}
	return FD_OK;
}

static Frontdesk__V1__InsurancePolicy *policy_from_row(fd_ctx *ctx, const PGresult *r, int row)
{
	Frontdesk__V1__InsurancePolicy *pol = fd_arena_alloc(ctx->arena, sizeof *pol);
	fd_arena *a = ctx->arena;

	if (!pol)
		return NULL;
	frontdesk__v1__insurance_policy__init(pol);
	pol->id = db_int(r, row, 0);
	pol->patient_id = db_int(r, row, 1);
	pol->payer = db_str(a, r, row, 2);
	pol->plan = db_str(a, r, row, 3);
	pol->member_id = db_str(a, r, row, 4);
	pol->group_number = db_str(a, r, row, 5);
	pol->subscriber_name = db_str(a, r, row, 6);
	pol->subscriber_relationship = db_str(a, r, row, 7);
	pol->priority = db_str(a, r, row, 8);
	pol->effective_from = db_str(a, r, row, 9);
	pol->effective_until = db_str(a, r, row, 10);
	pol->active = db_bool(r, row, 11);
	pol->last_verified_unix_ms = db_int(r, row, 12);
	pol->last_verified_by = db_str(a, r, row, 13);
	pol->has_card_front = db_bool(r, row, 14);
	pol->has_card_back = db_bool(r, row, 15);
	if (copays_from_text(ctx, PQgetvalue(r, row, 16), pol) != FD_OK)
		return NULL;
	return pol;
}

/* One policy by id, into *pol. */
static int load_policy(fd_ctx *ctx, int64_t policy_id, Frontdesk__V1__InsurancePolicy **pol)
{
	db_params p;
	PGresult *r;

	dbp_init(&p);
	dbp_int(&p, policy_id);
	r = db_query(ctx, POLICY_SELECT " WHERE p.id = $1", &p);
	if (!r)
		return ctx->status.code;
	*pol = PQntuples(r) ? policy_from_row(ctx, r, 0) : NULL;
	int found = PQntuples(r);
	PQclear(r);
	if (!found)
		return fd_fail(&ctx->status, FD_NOT_FOUND, "no insurance policy has id %lld",
			       (long long)policy_id);
	return *pol ? FD_OK : PAT_NOMEM(ctx);
}

/* The patient a policy belongs to (locked for a change when `lock`), and
 * whether the policy is active. Audits the call against that patient. */
static int policy_owner(fd_ctx *ctx, int64_t policy_id, bool lock, int64_t *patient_id,
			bool *active)
{
	db_params p;
	PGresult *r;

	if (policy_id <= 0)
		return fd_fail(&ctx->status, FD_INVALID_ARGUMENT, "give a policy id");
	dbp_init(&p);
	dbp_int(&p, policy_id);
	r = db_query(ctx,
		     lock ? "SELECT patient_id, active FROM insurance_policies WHERE id = $1 FOR UPDATE"
			  : "SELECT patient_id, active FROM insurance_policies WHERE id = $1",
		     &p);
	if (!r)
		return ctx->status.code;
	int found = PQntuples(r);
	*patient_id = found ? db_int(r, 0, 0) : 0;
	*active = found && db_bool(r, 0, 1);
	PQclear(r);
	if (!found)
		return fd_fail(&ctx->status, FD_NOT_FOUND, "no insurance policy has id %lld",
			       (long long)policy_id);
	fd_ctx_audit(ctx, *patient_id,
		     fd_arena_printf(ctx->arena, "insurance_policy:%lld", (long long)policy_id));
	return FD_OK;
}

/* --- AddPolicy ------------------------------------------------------- */

static int check_policy(fd_ctx *ctx, const Frontdesk__V1__InsurancePolicy *pol)
{
	if (pat_check_name(ctx, "the payer", pol->payer, 200, true) ||
	    pat_check_name(ctx, "the plan", pol->plan, 200, false) ||
	    pat_check_name(ctx, "the member id", pol->member_id, 64, true) ||
	    pat_check_name(ctx, "the group number", pol->group_number, 64, false) ||
	    pat_check_name(ctx, "the subscriber's name", pol->subscriber_name, 200, false) ||
	    pat_check_choice(ctx, "the subscriber's relationship", pol->subscriber_relationship,
			     relationships, false) ||
	    pat_check_choice(ctx, "the priority", pol->priority, priorities, true) ||
	    pat_check_date(ctx, "the effective date", pol->effective_from, 1900, false, true) ||
	    pat_check_date(ctx, "the end date", pol->effective_until, 1900, false, false))
		return ctx->status.code;
	if (*pol->effective_until && strcmp(pol->effective_until, pol->effective_from) < 0)
		return fd_fail(&ctx->status, FD_INVALID_ARGUMENT,
			       "the end date is before the effective date");
	if (pol->n_copays > MAX_COPAYS)
		return fd_fail(&ctx->status, FD_INVALID_ARGUMENT, "at most %d copays per policy",
			       MAX_COPAYS);
	for (size_t i = 0; i < pol->n_copays; i++) {
		const char *t = pol->copays[i]->visit_type;
		size_t len = strlen(t);
		if (len == 0 || len > 32 || strspn(t, "abcdefghijklmnopqrstuvwxyz0123456789_-") != len ||
		    t[0] == '-' || t[0] == '_')
			return fd_fail(&ctx->status, FD_INVALID_ARGUMENT,
				       "a visit type is 1-32 lowercase letters, digits, '-' or '_'");
		if (pol->copays[i]->copay_cents < 0 || pol->copays[i]->copay_cents > MAX_COPAY_CENTS)
			return fd_fail(&ctx->status, FD_INVALID_ARGUMENT,
				       "a copay is 0 to %d cents", MAX_COPAY_CENTS);
		for (size_t k = 0; k < i; k++)
			if (strcmp(pol->copays[k]->visit_type, t) == 0)
				return fd_fail(&ctx->status, FD_INVALID_ARGUMENT,
					       "visit type %s has two copays", t);
	}
	return FD_OK;
}

/* Copays as two array literals; the visit types were checked to need no
 * quoting. */
static int copay_literals(fd_ctx *ctx, const Frontdesk__V1__InsurancePolicy *pol, char **types,
			  char **cents)
{
	size_t cap = 3 + pol->n_copays * 40;

	*types = fd_arena_alloc(ctx->arena, cap);
	*cents = fd_arena_alloc(ctx->arena, cap);
	if (!*types || !*cents)
		return PAT_NOMEM(ctx);
	strcpy(*types, "{");
	strcpy(*cents, "{");
	for (size_t i = 0; i < pol->n_copays; i++) {
		snprintf(*types + strlen(*types), cap - strlen(*types), "%s%s", i ? "," : "",
			 pol->copays[i]->visit_type);
		snprintf(*cents + strlen(*cents), cap - strlen(*cents), "%s%lld", i ? "," : "",
			 (long long)pol->copays[i]->copay_cents);
	}
	strcat(*types, "}");
	strcat(*cents, "}");
	return FD_OK;
}

int handle_insurance_add_policy(fd_ctx *ctx, const ProtobufCMessage *in, ProtobufCMessage **out)
{
	const Frontdesk__V1__AddPolicyRequest *req = (const void *)in;
	Frontdesk__V1__AddPolicyReply *rep = fd_arena_alloc(ctx->arena, sizeof *rep);
	const Frontdesk__V1__InsurancePolicy *pol = req->policy;
	char *types, *cents;
	db_params p;
	PGresult *r;

	if (!rep)
		return PAT_NOMEM(ctx);
	frontdesk__v1__add_policy_reply__init(rep);
	if (!pol)
		return fd_fail(&ctx->status, FD_INVALID_ARGUMENT, "give the policy");
	fd_ctx_audit(ctx, pol->patient_id > 0 ? pol->patient_id : 0,
		     pat_subject(ctx, pol->patient_id));
	if (check_policy(ctx, pol) != FD_OK || copay_literals(ctx, pol, &types, &cents) != FD_OK ||
	    pat_require_active_patient(ctx, pol->patient_id) != FD_OK)
		return ctx->status.code;
	dbp_init(&p);
	dbp_int(&p, pol->patient_id);
	dbp_text(&p, pol->payer);
	dbp_text_or_null(&p, pol->plan);
	dbp_text(&p, pol->member_id);
	dbp_text_or_null(&p, pol->group_number);
	dbp_text_or_null(&p, pol->subscriber_name);
	dbp_text(&p, *pol->subscriber_relationship ? pol->subscriber_relationship : "self");
	dbp_text(&p, pol->priority);
	dbp_text(&p, pol->effective_from);
	dbp_text_or_null(&p, pol->effective_until);
	dbp_text(&p, types);
	dbp_text(&p, cents);
	r = db_query(ctx,
		     "WITH pol AS (INSERT INTO insurance_policies (patient_id, payer, plan,"
		     "   member_id, group_number, subscriber_name, subscriber_relationship,"
		     "   priority, effective_from, effective_until)"
		     "   VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9::date, $10::date) RETURNING id),"
		     " k AS (INSERT INTO insurance_copays (policy_id, visit_type, copay_cents)"
		     "   SELECT pol.id, t, c FROM pol, unnest($11::text[], $12::int[]) AS x(t, c))"
		     " SELECT id FROM pol",
		     &p);
	if (!r)
		return ctx->status.code;
	int64_t id = db_int(r, 0, 0);
	PQclear(r);
	if (load_policy(ctx, id, &rep->policy) != FD_OK)
		return ctx->status.code;
	if (db_notify(ctx, "insurance.changed", pat_subject(ctx, pol->patient_id)) != FD_OK)
		return ctx->status.code;
	*out = &rep->base;
	return FD_OK;
}

/* --- ListPolicies ---------------------------------------------------- */

int handle_insurance_list_policies(fd_ctx *ctx, const ProtobufCMessage *in, ProtobufCMessage **out)
{
	const Frontdesk__V1__ListPoliciesRequest *req = (const void *)in;
	Frontdesk__V1__ListPoliciesReply *rep = fd_arena_alloc(ctx->arena, sizeof *rep);
	db_params p;
	PGresult *r;

	if (!rep)
		return PAT_NOMEM(ctx);
	frontdesk__v1__list_policies_reply__init(rep);
	fd_ctx_audit(ctx, req->patient_id > 0 ? req->patient_id : 0,
		     pat_subject(ctx, req->patient_id));
	if (pat_require_patient(ctx, req->patient_id) != FD_OK)
		return ctx->status.code;
	dbp_init(&p);
	dbp_int(&p, req->patient_id);
	dbp_bool(&p, req->include_inactive);
	r = db_query(ctx,
		     POLICY_SELECT " WHERE p.patient_id = $1 AND (p.active OR $2)"
		     " ORDER BY p.active DESC, array_position(ARRAY['primary','secondary',"
		     "'tertiary'], p.priority), p.id",
		     &p);
	if (!r)
		return ctx->status.code;
	rep->n_policies = (size_t)PQntuples(r);
	rep->policies = pat_array(ctx, rep->n_policies, sizeof *rep->policies);
	for (size_t i = 0; rep->policies && i < rep->n_policies; i++)
		if (!(rep->policies[i] = policy_from_row(ctx, r, (int)i))) {
			PQclear(r);
			return PAT_NOMEM(ctx);
		}
	PQclear(r);
	if (!rep->policies)
		return PAT_NOMEM(ctx);
	*out = &rep->base;
	return FD_OK;
}

/* --- VerifyPolicy and EndPolicy -------------------------------------- */

int handle_insurance_verify_policy(fd_ctx *ctx, const ProtobufCMessage *in, ProtobufCMessage **out)
{
	const Frontdesk__V1__VerifyPolicyRequest *req = (const void *)in;
	Frontdesk__V1__VerifyPolicyReply *rep = fd_arena_alloc(ctx->arena, sizeof *rep);
	int64_t patient_id;
	bool active;
	db_params p;

	if (!rep)
		return PAT_NOMEM(ctx);
	frontdesk__v1__verify_policy_reply__init(rep);
	if (policy_owner(ctx, req->policy_id, true, &patient_id, &active) != FD_OK)
		return ctx->status.code;
	if (!active)
		return fd_fail(&ctx->status, FD_FAILED_PRECONDITION,
			       "policy %lld has ended; add the patient's current policy",
			       (long long)req->policy_id);
	dbp_init(&p);
	dbp_int(&p, req->policy_id);
	dbp_int(&p, ctx->session->staff_id);
	if (db_exec(ctx,
		    "UPDATE insurance_policies SET last_verified_at = now(),"
		    " last_verified_by = $2, updated_at = now() WHERE id = $1",
		    &p) != FD_OK ||
	    load_policy(ctx, req->policy_id, &rep->policy) != FD_OK ||
	    db_notify(ctx, "insurance.changed", pat_subject(ctx, patient_id)) != FD_OK)
		return ctx->status.code;
	*out = &rep->base;
	return FD_OK;
}

int handle_insurance_end_policy(fd_ctx *ctx, const ProtobufCMessage *in, ProtobufCMessage **out)
{
	const Frontdesk__V1__EndPolicyRequest *req = (const void *)in;
	Frontdesk__V1__EndPolicyReply *rep = fd_arena_alloc(ctx->arena, sizeof *rep);
	int64_t patient_id;
	bool active;
	db_params p;

	if (!rep)
		return PAT_NOMEM(ctx);
	frontdesk__v1__end_policy_reply__init(rep);
	if (policy_owner(ctx, req->policy_id, true, &patient_id, &active) != FD_OK ||
	    pat_check_date(ctx, "the end date", req->effective_until, 1900, false, false) != FD_OK)
		return ctx->status.code;
	if (!active)
		return fd_fail(&ctx->status, FD_FAILED_PRECONDITION, "policy %lld has already ended",
			       (long long)req->policy_id);
	dbp_init(&p);
	dbp_int(&p, req->policy_id);
	dbp_text_or_null(&p, req->effective_until);
	/* The end date may not precede the start: the table's check says so
	 * (insurance_policies_dates_check). */
	if (db_exec(ctx,
		    "UPDATE insurance_policies SET active = false,"
		    " effective_until = coalesce($2::date, current_date), updated_at = now()"
		    " WHERE id = $1",
		    &p) != FD_OK ||
	    load_policy(ctx, req->policy_id, &rep->policy) != FD_OK ||
	    db_notify(ctx, "insurance.changed", pat_subject(ctx, patient_id)) != FD_OK)
		return ctx->status.code;
	*out = &rep->base;
	return FD_OK;
}

/* --- Card images ----------------------------------------------------- */

/* What the bytes are, by their signature; NULL when none we accept. */
static const char *card_content_type(const uint8_t *b, size_t n)
{
	static const uint8_t png[] = { 0x89, 'P', 'N', 'G', 0x0d, 0x0a, 0x1a, 0x0a };

	if (n >= 4 && b[0] == 0xff && b[1] == 0xd8 && b[2] == 0xff)
		return "image/jpeg";
	if (n >= sizeof png && memcmp(b, png, sizeof png) == 0)
		return "image/png";
	if (n >= 5 && memcmp(b, "%PDF-", 5) == 0)
		return "application/pdf";
	return NULL;
}

int handle_insurance_put_card(fd_ctx *ctx, const ProtobufCMessage *in, ProtobufCMessage **out)
{
	const Frontdesk__V1__PutCardRequest *req = (const void *)in;
	Frontdesk__V1__PutCardReply *rep = fd_arena_alloc(ctx->arena, sizeof *rep);
	const char *type;
	int64_t patient_id;
	bool active;
	db_params p;

	if (!rep)
		return PAT_NOMEM(ctx);
	frontdesk__v1__put_card_reply__init(rep);
	if (policy_owner(ctx, req->policy_id, true, &patient_id, &active) != FD_OK ||
	    pat_check_choice(ctx, "the side", req->side, sides, true) != FD_OK)
		return ctx->status.code;
	if (req->image.len > CARD_MAX_BYTES)
		return fd_fail(&ctx->status, FD_INVALID_ARGUMENT,
			       "the card image is %zu bytes; at most %d are accepted",
			       req->image.len, CARD_MAX_BYTES);
	type = card_content_type(req->image.data, req->image.len);
	if (!type || req->image.len < 8)
		return fd_fail(&ctx->status, FD_INVALID_ARGUMENT,
			       "the card image must be a JPEG, PNG or PDF file");
	dbp_init(&p);
	dbp_int(&p, req->policy_id);
	dbp_text(&p, req->side);
	dbp_text(&p, type);
	dbp_bytes(&p, req->image.data, req->image.len);
	dbp_int(&p, ctx->session->staff_id);
	dbp_int(&p, patient_id);
	dbp_int(&p, ctx->session->desk_id);
	/* The image itself stays out of the history; what changed is noted. */
	if (db_exec(ctx,
		    "WITH card AS (INSERT INTO insurance_cards (policy_id, side, content_type,"
		    "   image, uploaded_by) VALUES ($1, $2, $3, $4, $5)"
		    "   ON CONFLICT (policy_id, side) DO UPDATE SET content_type = $3,"
		    "   image = $4, uploaded_by = $5, uploaded_at = now() RETURNING 1)"
		    " INSERT INTO patient_history (patient_id, staff_id, desk_id, record,"
		    "   action, changes)"
		    " SELECT $6, $5, $7, 'insurance_card:' || $1 || ':' || $2, 'changed',"
		    "   jsonb_build_object('content_type', $3::text, 'bytes', length($4::bytea))"
		    " FROM card",
		    &p) != FD_OK)
		return ctx->status.code;
	rep->content_type = (char *)type;
	rep->size = (int64_t)req->image.len;
	if (db_notify(ctx, "insurance.changed", pat_subject(ctx, patient_id)) != FD_OK)
		return ctx->status.code;
	*out = &rep->base;
	return FD_OK;
}

int handle_insurance_get_card(fd_ctx *ctx, const ProtobufCMessage *in, ProtobufCMessage **out)
{
	const Frontdesk__V1__GetCardRequest *req = (const void *)in;
	Frontdesk__V1__GetCardReply *rep = fd_arena_alloc(ctx->arena, sizeof *rep);
	int64_t patient_id;
	bool active;
	size_t len = 0;
	db_params p;
	PGresult *r;

	if (!rep)
		return PAT_NOMEM(ctx);
	frontdesk__v1__get_card_reply__init(rep);
	if (policy_owner(ctx, req->policy_id, false, &patient_id, &active) != FD_OK ||
	    pat_check_choice(ctx, "the side", req->side, sides, true) != FD_OK)
		return ctx->status.code;
	dbp_init(&p);
	dbp_int(&p, req->policy_id);
	dbp_text(&p, req->side);
	r = db_query(ctx,
		     "SELECT c.content_type, c.image, " PAT_MS("c.uploaded_at") ", s.username"
		     " FROM insurance_cards c JOIN staff s ON s.id = c.uploaded_by"
		     " WHERE c.policy_id = $1 AND c.side = $2",
		     &p);
	if (!r)
		return ctx->status.code;
	if (PQntuples(r) == 0) {
		PQclear(r);
		return fd_fail(&ctx->status, FD_NOT_FOUND, "policy %lld has no %s card image",
			       (long long)req->policy_id, req->side);
	}
	unsigned char *bytes =
		PQunescapeBytea((const unsigned char *)PQgetvalue(r, 0, 1), &len);
	rep->content_type = db_str(ctx->arena, r, 0, 0);
	rep->uploaded_unix_ms = db_int(r, 0, 2);
	rep->uploaded_by = db_str(ctx->arena, r, 0, 3);
	PQclear(r);
	rep->image.data = bytes ? fd_arena_alloc(ctx->arena, len + 1) : NULL;
	if (!rep->image.data) {
		PQfreemem(bytes);
		return PAT_NOMEM(ctx);
	}
	memcpy(rep->image.data, bytes, len);
	rep->image.len = len;
	PQfreemem(bytes);
	*out = &rep->base;
	return FD_OK;
}
