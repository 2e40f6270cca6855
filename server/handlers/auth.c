/*
 * Auth service: Login, Logout, WhoAmI. Login answers the same way for an
 * unknown user name and a wrong password (and spends the same time), and
 * counts failures per typed name in the database, so a lockout survives
 * restarts and holds across every server sharing the database.
 */
#include "auth.h"

#include <ctype.h>
#include <string.h>

#include "config.h"
#include "db/db.h"
#include "util.h"
#include "frontdesk/v1/auth.pb-c.h"

int handle_auth_login(fd_ctx *ctx, const ProtobufCMessage *in, ProtobufCMessage **out);
int handle_auth_logout(fd_ctx *ctx, const ProtobufCMessage *in, ProtobufCMessage **out);
int handle_auth_whoami(fd_ctx *ctx, const ProtobufCMessage *in, ProtobufCMessage **out);

#define LOGIN_FAILED_MESSAGE \
	"unknown user name or wrong password (repeated failures lock the account for a while)"

static int record_failure(fd_ctx *ctx, const char *username)
{
	db_params p;

	dbp_init(&p);
	dbp_text(&p, username);
	dbp_int(&p, cfg_int(CFG_LOGIN_MAX_FAILURES));
	dbp_int(&p, cfg_int(CFG_LOGIN_LOCKOUT_S));
	/* A lock that has run out starts a fresh count. */
	if (db_exec(ctx,
		    "INSERT INTO login_failures AS f (username, failures)"
		    " VALUES ($1, 1)"
		    " ON CONFLICT (username) DO UPDATE SET"
		    "  failures = CASE WHEN f.locked_until IS NOT NULL"
		    "   AND f.locked_until <= now() THEN 1 ELSE f.failures + 1 END,"
		    "  last_failure_at = now(),"
		    "  locked_until = CASE"
		    "   WHEN f.locked_until IS NOT NULL AND f.locked_until > now()"
		    "    THEN f.locked_until"
		    "   WHEN f.locked_until IS NULL AND f.failures + 1 >= $2"
		    "    THEN now() + make_interval(secs => $3)"
		    "   ELSE NULL END",
		    &p) != FD_OK)
		return ctx->status.code;
	ctx->commit_on_error = true;
	return fd_fail(&ctx->status, FD_UNAUTHENTICATED, LOGIN_FAILED_MESSAGE);
}

static Frontdesk__V1__StaffSummary *staff_summary(fd_arena *a, int64_t id,
						  const char *username,
						  const char *display_name,
						  char **roles, size_t n_roles)
{
	Frontdesk__V1__StaffSummary *s = fd_arena_alloc(a, sizeof *s);

	if (!s)
		return NULL;
	frontdesk__v1__staff_summary__init(s);
	s->id = id;
	s->username = (char *)username;
	s->display_name = (char *)display_name;
	s->roles = roles;
	s->n_roles = n_roles;
	return s;
}

int handle_auth_login(fd_ctx *ctx, const ProtobufCMessage *in, ProtobufCMessage **out)
{
	const Frontdesk__V1__LoginRequest *req = (const void *)in;
	char username[65];
	size_t n = strlen(req->username);
	db_params p;
	PGresult *r;

	if (n == 0 || n > 64 || !*req->password || !*req->desk)
		return fd_fail(&ctx->status, FD_INVALID_ARGUMENT,
			       "log in with a user name, a password and a desk code");
	if (strlen(req->password) > AUTH_PASSWORD_MAX)
		return record_failure(ctx, "(oversized)");
	for (size_t i = 0; i <= n; i++)
		username[i] = (char)tolower((unsigned char)req->username[i]);

	dbp_init(&p);
	dbp_text(&p, username);
	r = db_query(ctx,
		     "SELECT s.id, s.password_hash, s.display_name, s.roles, s.active,"
		     "  coalesce((SELECT f.locked_until > now() FROM login_failures f"
		     "            WHERE f.username = $1), false)"
		     " FROM (SELECT 1) one LEFT JOIN staff s ON s.username = $1",
		     &p);
	if (!r)
		return ctx->status.code;
	bool found = !PQgetisnull(r, 0, 0);
	bool locked = db_bool(r, 0, 5);
	bool ok;
	if (found) {
		ok = auth_verify_password(PQgetvalue(r, 0, 1), req->password) &&
		     db_bool(r, 0, 4);
	} else {
		auth_verify_dummy(req->password);
		ok = false;
	}
	if (!ok || locked) {
		PQclear(r);
		return record_failure(ctx, username);
	}
	int64_t staff_id = db_int(r, 0, 0);
	char *display = db_str(ctx->arena, r, 0, 2);
	size_t n_roles = 0;
	char **roles = db_text_array(ctx->arena, r, 0, 3, &n_roles);
	PQclear(r);

	dbp_init(&p);
	dbp_text(&p, username);
	if (db_exec(ctx, "DELETE FROM login_failures WHERE username = $1", &p) != FD_OK)
		return ctx->status.code;

	dbp_init(&p);
	dbp_text(&p, req->desk);
	r = db_query(ctx, "SELECT id, code FROM desks WHERE code = $1 AND active", &p);
	if (!r)
		return ctx->status.code;
	if (PQntuples(r) != 1) {
		PQclear(r);
		return fd_fail(&ctx->status, FD_NOT_FOUND,
			       "no active desk has that code: ask an admin for your desk's code (`desk desks list`)");
	}
	int64_t desk_id = db_int(r, 0, 0);
	char *desk_code = db_str(ctx->arena, r, 0, 1);
	PQclear(r);

	char token[AUTH_TOKEN_HEX_LEN + 1];
	uint8_t hash[AUTH_HASH_LEN];
	auth_new_token(token, hash);
	dbp_init(&p);
	dbp_bytes(&p, hash, sizeof hash);
	dbp_int(&p, staff_id);
	dbp_int(&p, desk_id);
	dbp_int(&p, cfg_int(CFG_SESSION_LIFETIME_S));
	r = db_query(ctx,
		     "INSERT INTO sessions (token_hash, staff_id, desk_id, expires_at)"
		     " VALUES ($1, $2, $3, now() + make_interval(secs => $4))"
		     " RETURNING id, (extract(epoch FROM expires_at) * 1000)::bigint",
		     &p);
	if (!r)
		return ctx->status.code;
	int64_t expires = db_int(r, 0, 1);
	PQclear(r);

	/* The audit row names who logged in where. */
	fd_session *who = fd_arena_alloc(ctx->arena, sizeof *who);
	Frontdesk__V1__LoginReply *rep = fd_arena_alloc(ctx->arena, sizeof *rep);
	if (!who || !rep)
		return fd_fail(&ctx->status, FD_RESOURCE_EXHAUSTED, "out of memory");
	who->staff_id = staff_id;
	who->desk_id = desk_id;
	ctx->session = who;
	fd_ctx_audit(ctx, 0, fd_arena_printf(ctx->arena, "staff:%lld", (long long)staff_id));

	frontdesk__v1__login_reply__init(rep);
	rep->session_token = fd_arena_strdup(ctx->arena, token);
	sodium_memzero(token, sizeof token);
	rep->staff = staff_summary(ctx->arena, staff_id, fd_arena_strdup(ctx->arena, username),
				   display, roles, n_roles);
	rep->desk = desk_code;
	rep->idle_timeout_s = (uint32_t)cfg_int(CFG_SESSION_IDLE_TIMEOUT_S);
	rep->expires_unix_ms = expires;
	if (!rep->session_token || !rep->staff)
		return fd_fail(&ctx->status, FD_RESOURCE_EXHAUSTED, "out of memory");
	*out = &rep->base;
	return FD_OK;
}

int handle_auth_logout(fd_ctx *ctx, const ProtobufCMessage *in, ProtobufCMessage **out)
{
	Frontdesk__V1__LogoutReply *rep = fd_arena_alloc(ctx->arena, sizeof *rep);
	db_params p;

	(void)in;
	if (!rep)
		return fd_fail(&ctx->status, FD_RESOURCE_EXHAUSTED, "out of memory");
	dbp_init(&p);
	dbp_int(&p, ctx->session->session_id);
	if (db_exec(ctx,
		    "UPDATE sessions SET ended_at = now(), end_reason = 'logout'"
		    " WHERE id = $1 AND ended_at IS NULL",
		    &p) != FD_OK)
		return ctx->status.code;
	fd_ctx_audit(ctx, 0, fd_arena_printf(ctx->arena, "staff:%lld",
					     (long long)ctx->session->staff_id));
	frontdesk__v1__logout_reply__init(rep);
	*out = &rep->base;
	return FD_OK;
}

int handle_auth_whoami(fd_ctx *ctx, const ProtobufCMessage *in, ProtobufCMessage **out)
{
	const fd_session *s = ctx->session;
	Frontdesk__V1__WhoAmIReply *rep = fd_arena_alloc(ctx->arena, sizeof *rep);

	(void)in;
	if (!rep)
		return fd_fail(&ctx->status, FD_RESOURCE_EXHAUSTED, "out of memory");
	frontdesk__v1__who_am_ireply__init(rep);
	rep->staff = staff_summary(ctx->arena, s->staff_id, s->username,
				   s->display_name, s->role_names, s->n_role_names);
	if (!rep->staff)
		return fd_fail(&ctx->status, FD_RESOURCE_EXHAUSTED, "out of memory");
	rep->desk = (char *)s->desk_code;
	rep->session_started_unix_ms = s->created_unix_ms;
	rep->expires_unix_ms = s->expires_unix_ms;
	rep->idle_timeout_s = (uint32_t)cfg_int(CFG_SESSION_IDLE_TIMEOUT_S);
	*out = &rep->base;
	return FD_OK;
}
