/*
 * Admin service: staff accounts and desks. Only admins reach these (the
 * method table says so); every change is audited by the dispatcher and
 * announced as an event once committed.
 */
#include <stdio.h>
#include <string.h>

#include "auth.h"
#include "db/db.h"
#include "validate.h"
#include "frontdesk/v1/admin.pb-c.h"

int handle_admin_create_staff(fd_ctx *ctx, const ProtobufCMessage *in, ProtobufCMessage **out);
int handle_admin_list_staff(fd_ctx *ctx, const ProtobufCMessage *in, ProtobufCMessage **out);
int handle_admin_update_staff(fd_ctx *ctx, const ProtobufCMessage *in, ProtobufCMessage **out);
int handle_admin_reset_password(fd_ctx *ctx, const ProtobufCMessage *in, ProtobufCMessage **out);
int handle_admin_unlock_staff(fd_ctx *ctx, const ProtobufCMessage *in, ProtobufCMessage **out);
int handle_admin_create_desk(fd_ctx *ctx, const ProtobufCMessage *in, ProtobufCMessage **out);
int handle_admin_list_desks(fd_ctx *ctx, const ProtobufCMessage *in, ProtobufCMessage **out);

#define NOMEM(ctx) fd_fail(&(ctx)->status, FD_RESOURCE_EXHAUSTED, "out of memory")

/* Validates role names and renders them as a text[] literal parameter.
 * Only names from the fixed role list get through, so the literal needs no
 * quoting. */
static int roles_literal(fd_ctx *ctx, char **roles, size_t n, char **lit)
{
	size_t cap = 2 + n * 16;
	char *s;

	if (n == 0)
		return fd_fail(&ctx->status, FD_INVALID_ARGUMENT,
			       "give at least one role: admin, front_desk, billing, nurse or provider");
	if (n > 5)
		return fd_fail(&ctx->status, FD_INVALID_ARGUMENT, "at most 5 roles");
	s = fd_arena_alloc(ctx->arena, cap);
	if (!s)
		return NOMEM(ctx);
	strcpy(s, "{");
	for (size_t i = 0; i < n; i++) {
		if (!fd_role_from_name(roles[i]))
			return fd_fail(&ctx->status, FD_INVALID_ARGUMENT,
				       "unknown role; roles are admin, front_desk, billing, nurse and provider");
		if (i)
			strcat(s, ",");
		strcat(s, roles[i]);
	}
	strcat(s, "}");
	*lit = s;
	return FD_OK;
}

static const char staff_columns[] =
	" id, username, display_name, roles, active,"
	" coalesce((SELECT f.locked_until > now() FROM login_failures f"
	"           WHERE f.username = staff.username), false),"
	" (extract(epoch FROM created_at) * 1000)::bigint";

static Frontdesk__V1__StaffRecord *staff_record(fd_ctx *ctx, const PGresult *r, int row)
{
	Frontdesk__V1__StaffRecord *rec = fd_arena_alloc(ctx->arena, sizeof *rec);
	Frontdesk__V1__StaffSummary *s = fd_arena_alloc(ctx->arena, sizeof *s);

	if (!rec || !s)
		return NULL;
	frontdesk__v1__staff_record__init(rec);
	frontdesk__v1__staff_summary__init(s);
	s->id = db_int(r, row, 0);
	s->username = db_str(ctx->arena, r, row, 1);
	s->display_name = db_str(ctx->arena, r, row, 2);
	s->roles = db_text_array(ctx->arena, r, row, 3, &s->n_roles);
	rec->staff = s;
	rec->active = db_bool(r, row, 4);
	rec->locked = db_bool(r, row, 5);
	rec->created_unix_ms = db_int(r, row, 6);
	return rec;
}

int handle_admin_create_staff(fd_ctx *ctx, const ProtobufCMessage *in, ProtobufCMessage **out)
{
	const Frontdesk__V1__CreateStaffRequest *req = (const void *)in;
	char hash[crypto_pwhash_STRBYTES], *roles;
	Frontdesk__V1__CreateStaffReply *rep;
	db_params p;
	PGresult *r;

	if (fd_check_text(ctx, "the user name", req->username, 1, 64, 0) != FD_OK ||
	    fd_check_text(ctx, "the display name", req->display_name, 1, 200, TEXT_TRIMMED) != FD_OK ||
	    auth_password_policy(req->password, &ctx->status) != FD_OK ||
	    roles_literal(ctx, req->roles, req->n_roles, &roles) != FD_OK)
		return ctx->status.code;
	if (auth_hash_password(req->password, hash) != 0)
		return NOMEM(ctx);
	dbp_init(&p);
	dbp_text(&p, req->username);
	dbp_text(&p, req->display_name);
	dbp_text(&p, hash);
	dbp_text(&p, roles);
	r = db_query(ctx,
		     "INSERT INTO staff (username, display_name, password_hash, roles)"
		     " VALUES ($1, $2, $3, $4::text[]) RETURNING id, username,"
		     " display_name, roles",
		     &p);
	if (!r)
		return ctx->status.code;
	rep = fd_arena_alloc(ctx->arena, sizeof *rep);
	Frontdesk__V1__StaffSummary *s = fd_arena_alloc(ctx->arena, sizeof *s);
	if (!rep || !s) {
		PQclear(r);
		return NOMEM(ctx);
	}
	frontdesk__v1__create_staff_reply__init(rep);
	frontdesk__v1__staff_summary__init(s);
	s->id = db_int(r, 0, 0);
	s->username = db_str(ctx->arena, r, 0, 1);
	s->display_name = db_str(ctx->arena, r, 0, 2);
	s->roles = db_text_array(ctx->arena, r, 0, 3, &s->n_roles);
	PQclear(r);
	rep->staff = s;
	char *subject = fd_arena_printf(ctx->arena, "staff:%lld", (long long)s->id);
	fd_ctx_audit(ctx, 0, subject);
	if (db_notify(ctx, "staff.created", subject) != FD_OK)
		return ctx->status.code;
	*out = &rep->base;
	return FD_OK;
}

int handle_admin_list_staff(fd_ctx *ctx, const ProtobufCMessage *in, ProtobufCMessage **out)
{
	const Frontdesk__V1__ListStaffRequest *req = (const void *)in;
	Frontdesk__V1__ListStaffReply *rep = fd_arena_alloc(ctx->arena, sizeof *rep);
	char sql[512];
	db_params p;
	PGresult *r;

	if (!rep)
		return NOMEM(ctx);
	snprintf(sql, sizeof sql,
		 "SELECT%s FROM staff WHERE active OR $1 ORDER BY username",
		 staff_columns);
	dbp_init(&p);
	dbp_bool(&p, req->include_inactive);
	r = db_query(ctx, sql, &p);
	if (!r)
		return ctx->status.code;
	frontdesk__v1__list_staff_reply__init(rep);
	rep->n_staff = (size_t)PQntuples(r);
	rep->staff = fd_arena_alloc(ctx->arena, (rep->n_staff + 1) * sizeof *rep->staff);
	if (!rep->staff) {
		PQclear(r);
		return NOMEM(ctx);
	}
	for (size_t i = 0; i < rep->n_staff; i++)
		if (!(rep->staff[i] = staff_record(ctx, r, (int)i))) {
			PQclear(r);
			return NOMEM(ctx);
		}
	PQclear(r);
	*out = &rep->base;
	return FD_OK;
}

int handle_admin_update_staff(fd_ctx *ctx, const ProtobufCMessage *in, ProtobufCMessage **out)
{
	const Frontdesk__V1__UpdateStaffRequest *req = (const void *)in;
	Frontdesk__V1__UpdateStaffReply *rep = fd_arena_alloc(ctx->arena, sizeof *rep);
	char *roles = NULL, sql[1024];
	db_params p;
	PGresult *r;

	if (!rep)
		return NOMEM(ctx);
	if (*req->display_name &&
	    fd_check_text(ctx, "the display name", req->display_name, 1, 200, TEXT_TRIMMED) != FD_OK)
		return ctx->status.code;
	if (req->n_roles && roles_literal(ctx, req->roles, req->n_roles, &roles) != FD_OK)
		return ctx->status.code;
	if (req->staff_id == ctx->session->staff_id && req->set_active && !req->active)
		return fd_fail(&ctx->status, FD_FAILED_PRECONDITION,
			       "you cannot deactivate your own account");
	snprintf(sql, sizeof sql,
		 "UPDATE staff SET display_name = coalesce($2, display_name),"
		 " roles = coalesce($3::text[], roles),"
		 " active = CASE WHEN $4 THEN $5 ELSE active END,"
		 " updated_at = now() WHERE id = $1 RETURNING%s",
		 staff_columns);
	dbp_init(&p);
	dbp_int(&p, req->staff_id);
	dbp_text_or_null(&p, req->display_name);
	dbp_text(&p, roles);
	dbp_bool(&p, req->set_active);
	dbp_bool(&p, req->active);
	r = db_query(ctx, sql, &p);
	if (!r)
		return ctx->status.code;
	if (PQntuples(r) != 1) {
		PQclear(r);
		return fd_fail(&ctx->status, FD_NOT_FOUND, "no staff member has id %lld",
			       (long long)req->staff_id);
	}
	frontdesk__v1__update_staff_reply__init(rep);
	rep->staff = staff_record(ctx, r, 0);
	PQclear(r);
	if (!rep->staff)
		return NOMEM(ctx);
	char *subject = fd_arena_printf(ctx->arena, "staff:%lld", (long long)req->staff_id);
	fd_ctx_audit(ctx, 0, subject);
	if (req->set_active && !req->active) {
		/* A deactivated account's sessions end now, not at their
		 * idle timeout. */
		dbp_init(&p);
		dbp_int(&p, req->staff_id);
		if (db_exec(ctx,
			    "UPDATE sessions SET ended_at = now(), end_reason = 'revoked'"
			    " WHERE staff_id = $1 AND ended_at IS NULL",
			    &p) != FD_OK)
			return ctx->status.code;
	}
	if (db_notify(ctx, "staff.updated", subject) != FD_OK)
		return ctx->status.code;
	*out = &rep->base;
	return FD_OK;
}

int handle_admin_reset_password(fd_ctx *ctx, const ProtobufCMessage *in, ProtobufCMessage **out)
{
	const Frontdesk__V1__ResetPasswordRequest *req = (const void *)in;
	Frontdesk__V1__ResetPasswordReply *rep = fd_arena_alloc(ctx->arena, sizeof *rep);
	char hash[crypto_pwhash_STRBYTES];
	db_params p;
	PGresult *r;

	if (!rep)
		return NOMEM(ctx);
	if (auth_password_policy(req->new_password, &ctx->status) != FD_OK)
		return ctx->status.code;
	if (auth_hash_password(req->new_password, hash) != 0)
		return NOMEM(ctx);
	dbp_init(&p);
	dbp_int(&p, req->staff_id);
	dbp_text(&p, hash);
	r = db_query(ctx,
		     "UPDATE staff SET password_hash = $2, updated_at = now()"
		     " WHERE id = $1 RETURNING username",
		     &p);
	if (!r)
		return ctx->status.code;
	int found = PQntuples(r);
	PQclear(r);
	if (!found)
		return fd_fail(&ctx->status, FD_NOT_FOUND, "no staff member has id %lld",
			       (long long)req->staff_id);
	/* A new password ends the account's sessions: whoever knew the old
	 * one is logged out everywhere. */
	dbp_init(&p);
	dbp_int(&p, req->staff_id);
	if (db_exec(ctx,
		    "UPDATE sessions SET ended_at = now(), end_reason = 'revoked'"
		    " WHERE staff_id = $1 AND ended_at IS NULL",
		    &p) != FD_OK)
		return ctx->status.code;
	fd_ctx_audit(ctx, 0, fd_arena_printf(ctx->arena, "staff:%lld", (long long)req->staff_id));
	frontdesk__v1__reset_password_reply__init(rep);
	*out = &rep->base;
	return FD_OK;
}

int handle_admin_unlock_staff(fd_ctx *ctx, const ProtobufCMessage *in, ProtobufCMessage **out)
{
	const Frontdesk__V1__UnlockStaffRequest *req = (const void *)in;
	Frontdesk__V1__UnlockStaffReply *rep = fd_arena_alloc(ctx->arena, sizeof *rep);
	db_params p;
	PGresult *r;

	if (!rep)
		return NOMEM(ctx);
	dbp_init(&p);
	dbp_int(&p, req->staff_id);
	r = db_query(ctx,
		     "WITH s AS (SELECT username FROM staff WHERE id = $1)"
		     " , d AS (DELETE FROM login_failures f USING s"
		     "          WHERE f.username = s.username RETURNING 1)"
		     " SELECT (SELECT count(*) FROM s), (SELECT count(*) FROM d)",
		     &p);
	if (!r)
		return ctx->status.code;
	int found = (int)db_int(r, 0, 0);
	PQclear(r);
	if (!found)
		return fd_fail(&ctx->status, FD_NOT_FOUND, "no staff member has id %lld",
			       (long long)req->staff_id);
	fd_ctx_audit(ctx, 0, fd_arena_printf(ctx->arena, "staff:%lld", (long long)req->staff_id));
	frontdesk__v1__unlock_staff_reply__init(rep);
	*out = &rep->base;
	return FD_OK;
}

static Frontdesk__V1__Desk *desk_from_row(fd_ctx *ctx, const PGresult *r, int row)
{
	Frontdesk__V1__Desk *d = fd_arena_alloc(ctx->arena, sizeof *d);

	if (!d)
		return NULL;
	frontdesk__v1__desk__init(d);
	d->id = db_int(r, row, 0);
	d->code = db_str(ctx->arena, r, row, 1);
	d->name = db_str(ctx->arena, r, row, 2);
	d->location = db_str(ctx->arena, r, row, 3);
	d->active = db_bool(r, row, 4);
	return d;
}

int handle_admin_create_desk(fd_ctx *ctx, const ProtobufCMessage *in, ProtobufCMessage **out)
{
	const Frontdesk__V1__CreateDeskRequest *req = (const void *)in;
	Frontdesk__V1__CreateDeskReply *rep = fd_arena_alloc(ctx->arena, sizeof *rep);
	db_params p;
	PGresult *r;

	if (!rep)
		return NOMEM(ctx);
	if (fd_check_text(ctx, "the desk code", req->code, 1, 32, 0) != FD_OK ||
	    fd_check_text(ctx, "the desk name", req->name, 1, 200, TEXT_TRIMMED) != FD_OK)
		return ctx->status.code;
	dbp_init(&p);
	dbp_text(&p, req->code);
	dbp_text(&p, req->name);
	dbp_text_or_null(&p, req->location);
	r = db_query(ctx,
		     "WITH loc AS (SELECT id, code FROM locations"
		     "              WHERE code = $3 OR ($3 IS NULL AND id ="
		     "                (SELECT min(id) FROM locations)))"
		     " INSERT INTO desks (code, name, location_id)"
		     " SELECT $1, $2, loc.id FROM loc"
		     " RETURNING id, code, name, (SELECT code FROM locations l"
		     "   WHERE l.id = location_id), active",
		     &p);
	if (!r)
		return ctx->status.code;
	if (PQntuples(r) != 1) {
		PQclear(r);
		return fd_fail(&ctx->status, FD_NOT_FOUND,
			       *req->location ? "no location has that code"
					      : "the clinic has no location yet");
	}
	frontdesk__v1__create_desk_reply__init(rep);
	rep->desk = desk_from_row(ctx, r, 0);
	PQclear(r);
	if (!rep->desk)
		return NOMEM(ctx);
	char *subject = fd_arena_printf(ctx->arena, "desk:%lld", (long long)rep->desk->id);
	fd_ctx_audit(ctx, 0, subject);
	if (db_notify(ctx, "desk.created", subject) != FD_OK)
		return ctx->status.code;
	*out = &rep->base;
	return FD_OK;
}

int handle_admin_list_desks(fd_ctx *ctx, const ProtobufCMessage *in, ProtobufCMessage **out)
{
	Frontdesk__V1__ListDesksReply *rep = fd_arena_alloc(ctx->arena, sizeof *rep);
	PGresult *r;

	(void)in;
	if (!rep)
		return NOMEM(ctx);
	r = db_query(ctx,
		     "SELECT d.id, d.code, d.name, l.code, d.active"
		     " FROM desks d JOIN locations l ON l.id = d.location_id"
		     " ORDER BY d.code",
		     NULL);
	if (!r)
		return ctx->status.code;
	frontdesk__v1__list_desks_reply__init(rep);
	rep->n_desks = (size_t)PQntuples(r);
	rep->desks = fd_arena_alloc(ctx->arena, (rep->n_desks + 1) * sizeof *rep->desks);
	if (!rep->desks) {
		PQclear(r);
		return NOMEM(ctx);
	}
	for (size_t i = 0; i < rep->n_desks; i++)
		if (!(rep->desks[i] = desk_from_row(ctx, r, (int)i))) {
			PQclear(r);
			return NOMEM(ctx);
		}
	PQclear(r);
	*out = &rep->base;
	return FD_OK;
}
