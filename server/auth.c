/* Password hashing, tokens and the session check; see auth.h. */
#include "auth.h"

#include <string.h>

#include "config.h"
#include "db/db.h"

static const struct {
	const char *name;
	unsigned bit;
} role_names[] = {
	{ "admin", ROLE_ADMIN },       { "front_desk", ROLE_FRONT_DESK },
	{ "billing", ROLE_BILLING },   { "nurse", ROLE_NURSE },
	{ "provider", ROLE_PROVIDER },
};

unsigned fd_role_from_name(const char *name)
{
	for (size_t i = 0; i < sizeof role_names / sizeof role_names[0]; i++)
		if (strcmp(role_names[i].name, name) == 0)
			return role_names[i].bit;
	return 0;
}

const char *fd_role_name(unsigned bit)
{
	for (size_t i = 0; i < sizeof role_names / sizeof role_names[0]; i++)
		if (role_names[i].bit == bit)
			return role_names[i].name;
	return "?";
}

unsigned auth_roles_from_names(char **names, size_t n)
{
	unsigned roles = 0;

	for (size_t i = 0; i < n; i++)
		roles |= fd_role_from_name(names[i]);
	return roles;
}

int auth_password_policy(const char *password, fd_status *st)
{
	size_t n = strlen(password);

	if (n < AUTH_PASSWORD_MIN)
		return fd_fail(st, FD_INVALID_ARGUMENT,
			       "passwords need at least %d characters",
			       AUTH_PASSWORD_MIN);
	if (n > AUTH_PASSWORD_MAX)
		return fd_fail(st, FD_INVALID_ARGUMENT,
			       "passwords are at most %d characters",
			       AUTH_PASSWORD_MAX);
	return FD_OK;
}

static void hash_cost(unsigned long long *ops, size_t *mem)
{
	const char *cost = cfg_str(CFG_PASSWORD_HASH_COST);

	if (strcmp(cost, "min") == 0) {
		/* Only for test suites and valgrind runs. */
		*ops = crypto_pwhash_OPSLIMIT_MIN;
		*mem = crypto_pwhash_MEMLIMIT_MIN;
	} else if (strcmp(cost, "moderate") == 0) {
		*ops = crypto_pwhash_OPSLIMIT_MODERATE;
		*mem = crypto_pwhash_MEMLIMIT_MODERATE;
	} else {
		*ops = crypto_pwhash_OPSLIMIT_INTERACTIVE;
		*mem = crypto_pwhash_MEMLIMIT_INTERACTIVE;
	}
}

int auth_hash_password(const char *password, char out[crypto_pwhash_STRBYTES])
{
	unsigned long long ops;
	size_t mem;

	hash_cost(&ops, &mem);
	return crypto_pwhash_str_alg(out, password, strlen(password), ops, mem,
				     crypto_pwhash_ALG_ARGON2ID13);
}

bool auth_verify_password(const char *hash, const char *password)
{
	return crypto_pwhash_str_verify(hash, password, strlen(password)) == 0;
}

void auth_verify_dummy(const char *password)
{
	/* A hash made once at the configured cost; verifying against it
	 * costs what a real account's verification costs. */
	static char dummy[crypto_pwhash_STRBYTES];
	static int ready;

	if (!__atomic_load_n(&ready, __ATOMIC_ACQUIRE)) {
		char h[crypto_pwhash_STRBYTES];
		if (auth_hash_password("frontdesk-no-such-user", h) != 0)
			return;
		memcpy(dummy, h, sizeof h);
		__atomic_store_n(&ready, 1, __ATOMIC_RELEASE);
	}
	(void)auth_verify_password(dummy, password);
}

void auth_new_token(char hex[AUTH_TOKEN_HEX_LEN + 1], uint8_t hash[AUTH_HASH_LEN])
{
	uint8_t raw[32];

	randombytes_buf(raw, sizeof raw);
	sodium_bin2hex(hex, AUTH_TOKEN_HEX_LEN + 1, raw, sizeof raw);
	crypto_hash_sha256(hash, (const unsigned char *)hex, AUTH_TOKEN_HEX_LEN);
	sodium_memzero(raw, sizeof raw);
}

int auth_token_hash(const char *token, uint8_t hash[AUTH_HASH_LEN])
{
	size_t n = strlen(token);

	if (n != AUTH_TOKEN_HEX_LEN)
		return -1;
	for (size_t i = 0; i < n; i++) {
		char c = token[i];
		if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f')))
			return -1;
	}
	crypto_hash_sha256(hash, (const unsigned char *)token, n);
	return 0;
}

int auth_session_load(fd_ctx *ctx, const char *token, fd_session *s)
{
	/* Read, and touched only when last seen over 10 s ago (a quarter of
	 * the idle timeout if that is shorter): the idle timeout (minutes)
	 * does not need every call's time, and a write per call (a new row
	 * version, its WAL, its vacuum) was the largest cost of a point read
	 * after the read itself. So the idle limit allows that much on top
	 * (here and in the janitor, server.c): a session ends at most 10 s
	 * after its timeout, never before it, and a desk that locks at its
	 * timeout (the console) is never surprised. The UPDATE runs whatever the
	 * SELECT does with it (a data-modifying WITH always runs); with no
	 * session it matches nothing. */
	static const char sql[] =
		"WITH s AS ("
		"  SELECT s.id, st.id AS staff_id, d.id AS desk_id, st.username,"
		"         st.display_name, st.roles, d.code, s.created_at, s.expires_at,"
		"         s.last_seen_at"
		"    FROM sessions s"
		"    JOIN staff st ON st.id = s.staff_id AND st.active"
		"    JOIN desks d ON d.id = s.desk_id AND d.active"
		"   WHERE s.token_hash = $1 AND s.ended_at IS NULL"
		"     AND s.expires_at > now()"
		"     AND s.last_seen_at > now() - make_interval(secs => $2::float8)"
		"                        - least(interval '10 seconds', make_interval(secs => $2::float8 / 4))),"
		" touched AS ("
		"  UPDATE sessions SET last_seen_at = now()"
		"   WHERE id = (SELECT id FROM s)"
		"     AND last_seen_at < now() - least(interval '10 seconds', make_interval(secs => $2::float8 / 4)))"
		" SELECT id, staff_id, desk_id, username, display_name, roles, code,"
		"   (extract(epoch FROM created_at) * 1000)::bigint,"
		"   (extract(epoch FROM expires_at) * 1000)::bigint,"
		/* Who is acting, for the history triggers of every domain:
		 * set here once per call, inside the call's transaction. */
		"   set_config('frontdesk.staff_id', staff_id::text, true),"
		"   set_config('frontdesk.desk_id', desk_id::text, true)"
		"  FROM s";
	uint8_t hash[AUTH_HASH_LEN];
	db_params p;
	PGresult *r;

	if (!token || auth_token_hash(token, hash) != 0)
		return fd_fail(&ctx->status, FD_UNAUTHENTICATED,
			       "not logged in: log in with `desk login`");
	dbp_init(&p);
	dbp_bytes(&p, hash, sizeof hash);
	dbp_int(&p, cfg_int(CFG_SESSION_IDLE_TIMEOUT_S));
	r = db_query(ctx, sql, &p);
	if (!r)
		return ctx->status.code;
	if (PQntuples(r) != 1) {
		PQclear(r);
		return fd_fail(&ctx->status, FD_UNAUTHENTICATED,
			       "session expired or not valid: log in again");
	}
	s->session_id = db_int(r, 0, 0);
	s->staff_id = db_int(r, 0, 1);
	s->desk_id = db_int(r, 0, 2);
	s->username = db_str(ctx->arena, r, 0, 3);
	s->display_name = db_str(ctx->arena, r, 0, 4);
	s->role_names = db_text_array(ctx->arena, r, 0, 5, &s->n_role_names);
	s->roles = auth_roles_from_names(s->role_names, s->n_role_names);
	s->desk_code = db_str(ctx->arena, r, 0, 6);
	s->created_unix_ms = db_int(r, 0, 7);
	s->expires_unix_ms = db_int(r, 0, 8);
	PQclear(r);
	return FD_OK;
}
