/*
 * The gate and the transaction around every handler; the order of checks is
 * documented in dispatch.h and must not change without updating it.
 */
#include "dispatch.h"

#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "audit.h"
#include "auth.h"
#include "config.h"
#include "listener.h"
#include "log.h"
#include "util.h"
#include "wire.h"
#include "workq.h"

/* Retries of a transaction that lost a serialization race (40001/40P01),
 * so desks never see those. */
#define MAX_TX_ATTEMPTS 4
/* Nesting deeper than any message we declare means a hostile payload. */
#define MAX_MESSAGE_DEPTH 16

/* Test-only fault point (docs/RELIABILITY.md): with
 * FRONTDESK_FAULT=crash_after_commit:<Method> in the environment at start-up,
 * the server kills itself right after that method's COMMIT and before the
 * reply leaves, so tests can prove that the desk's resend gets the stored
 * reply (mutations: a read that leaves no audit row commits later, with the
 * worker's next statement, and never reaches this point). Read once before
 * main(); unset, it costs one NULL test per commit. */
static const char *crash_after_commit_method;

__attribute__((constructor)) static void read_fault_point(void)
{
	const char *f = getenv("FRONTDESK_FAULT");
	const char *prefix = "crash_after_commit:";

	if (f && strncmp(f, prefix, strlen(prefix)) == 0 && f[strlen(prefix)])
		crash_after_commit_method = f + strlen(prefix);
}

static void maybe_crash_after_commit(const struct fd_method *m)
{
	if (strcmp(crash_after_commit_method, m->name) == 0 ||
	    strcmp(crash_after_commit_method, m->path) == 0) {
		log_error("FRONTDESK_FAULT: crashing after the commit of %s", m->path);
		raise(SIGKILL);
	}
}

static const ProtobufCBinaryData *call_request_id(const fd_call *c)
{
	if (c->request && c->request->header &&
	    c->request->header->request_id.len == FD_REQUEST_ID_LEN)
		return &c->request->header->request_id;
	return NULL;
}

static void log_call(const fd_call *c, int64_t staff_id)
{
	if (FD_LOG_INFO > fd_log_level_current)
		return;
	const ProtobufCBinaryData *id = call_request_id(c);
	char hex[2 * FD_REQUEST_ID_LEN + 1] = "-";

	if (id)
		fd_hex(hex, sizeof hex, id->data, id->len);
	fd_log_write(FD_LOG_INFO, "call %s %s %" PRId64 "ms req=%s staff=%" PRId64,
		     c->method ? c->method->path : "(none)",
		     fd_code_name(c->status.code),
		     fd_now_mono_ms() - c->received_mono_ms, hex, staff_id);
}

void dispatch_reply_error(fd_call *c)
{
	if (fd_wire_pack_reply(&c->reply, &c->arena, call_request_id(c),
			       &c->status, NULL) != 0)
		c->reply = NULL;
}

static void reply_ok(fd_call *c, const uint8_t *payload, size_t len)
{
	if (fd_wire_pack_reply_bytes(&c->reply, &c->arena, call_request_id(c),
				     &c->status, payload, len) != 0)
		c->reply = NULL;
}

/* Unpacks the payload into the call's arena and checks it: required fields,
 * UTF-8 and no NUL in every string, bounded nesting. */
static const ProtobufCMessage *decode_payload(fd_call *c)
{
	const ProtobufCBinaryData *p = &c->request->payload;
	ProtobufCMessage *in = protobuf_c_message_unpack(
		c->method->input, fd_arena_allocator(&c->arena), p->len, p->data);

	if (!in) {
		fd_fail(&c->status, FD_INVALID_ARGUMENT,
			"the request body is not a valid %s",
			c->method->input->short_name);
		return NULL;
	}
	if (!protobuf_c_message_check(in)) {
		fd_fail(&c->status, FD_INVALID_ARGUMENT,
			"the request body %s is incomplete",
			c->method->input->short_name);
		return NULL;
	}
	if (!fd_message_text_valid(in, MAX_MESSAGE_DEPTH)) {
		fd_fail(&c->status, FD_INVALID_ARGUMENT,
			"text in the request must be valid UTF-8");
		return NULL;
	}
	/* protobuf-c would cut "a\0b" to "a" without a word. */
	if (!fd_wire_text_nul_free(c->method->input, p->data, p->len,
				   MAX_MESSAGE_DEPTH)) {
		fd_fail(&c->status, FD_INVALID_ARGUMENT,
			"text in the request must not contain NUL characters");
		return NULL;
	}
	return in;
}

static void run_inline(fd_call *c)
{
	fd_ctx ctx = {
		.arena = &c->arena,
		.method = c->method,
		.deadline_mono_ms = c->deadline_mono_ms,
		.request_id = c->request->header->request_id.data,
	};
	ProtobufCMessage *out = NULL;
	const ProtobufCMessage *in = decode_payload(c);

	fd_status_ok(&ctx.status);
	if (!in) {
		dispatch_reply_error(c);
		return;
	}
	if (c->method->handler(&ctx, in, &out) != FD_OK || !out) {
		c->status = ctx.status;
		if (c->status.code == FD_OK)
			fd_fail(&c->status, FD_INTERNAL, "handler gave no reply");
		dispatch_reply_error(c);
		return;
	}
	size_t len = 0;
	uint8_t *bytes = fd_pack_to_arena(&c->arena, out, &len);
	reply_ok(c, bytes, len);
}

/* Bounds a printable method name for an error message. */
static void quote_method(char *out, size_t n, const char *m)
{
	size_t len = strlen(m);

	if (len > 80 || !fd_utf8_valid(m, len)) {
		snprintf(out, n, "(unreadable method name)");
		return;
	}
	snprintf(out, n, "%s", m);
	for (char *p = out; *p; p++)
		if ((unsigned char)*p < 0x20 || *p == 0x7f)
			*p = '?';
}

int dispatch_accept(fd_call *c, nng_msg *msg)
{
	size_t len = nng_msg_len(msg);
	Frontdesk__V1__RequestHeader *h;
	int timeout;

	c->received_mono_ms = fd_now_mono_ms();
	fd_status_ok(&c->status);
	c->request = frontdesk__v1__request__unpack(
		fd_arena_allocator(&c->arena), len, nng_msg_body(msg));
	nng_msg_free(msg);

	if (!c->request || !c->request->header) {
		c->request = NULL;
		fd_fail(&c->status, FD_INVALID_ARGUMENT,
			"the request is not a Frontdesk envelope");
		goto reply_now;
	}
	h = c->request->header;
	if (h->request_id.len != FD_REQUEST_ID_LEN) {
		fd_fail(&c->status, FD_INVALID_ARGUMENT,
			"the request id must be %d bytes", FD_REQUEST_ID_LEN);
		goto reply_now;
	}
	if (h->api_version != FD_API_VERSION) {
		if (h->api_version == 0)
			fd_fail(&c->status, FD_INVALID_ARGUMENT,
				"the request names no API version");
		else
			fd_fail(&c->status, FD_FAILED_PRECONDITION,
				"the desk speaks API version %u but this server speaks %d: update the desk client",
				h->api_version, FD_API_VERSION);
		goto reply_now;
	}
	c->method = methods_find(h->method ? h->method : "");
	if (!c->method) {
		char name[96];
		quote_method(name, sizeof name, h->method ? h->method : "");
		fd_fail(&c->status, FD_UNIMPLEMENTED,
			"this server has no method %s", name);
		goto reply_now;
	}
	if (len > (size_t)cfg_int(CFG_MAX_REQUEST_BYTES)) {
		fd_fail(&c->status, FD_RESOURCE_EXHAUSTED,
			"the request is %zu bytes; the limit is %d", len,
			cfg_int(CFG_MAX_REQUEST_BYTES));
		goto reply_now;
	}
	timeout = h->timeout_ms ? (int)(h->timeout_ms > INT32_MAX ? INT32_MAX : h->timeout_ms)
				: cfg_int(CFG_DEFAULT_TIMEOUT_MS);
	if (timeout > cfg_int(CFG_MAX_TIMEOUT_MS))
		timeout = cfg_int(CFG_MAX_TIMEOUT_MS);
	c->deadline_mono_ms = c->received_mono_ms + timeout;

	if (c->method->flags & M_INLINE) {
		run_inline(c);
		log_call(c, 0);
		return 1;
	}
	if (workq_submit(c) != 0) {
		fd_fail(&c->status, FD_RESOURCE_EXHAUSTED,
			"the server is busy (%d calls waiting); try again shortly",
			cfg_int(CFG_QUEUE_DEPTH));
		goto reply_now;
	}
	return 0; /* a worker owns the call now */

reply_now:
	log_call(c, 0);
	dispatch_reply_error(c);
	return 1;
}

/* A statement whose failure only matters as a status (COMMIT). */
static int exec_simple(fd_ctx *ctx, const char *sql)
{
	return db_exec(ctx, sql, NULL);
}

/* Claims the request id for this call. Returns FD_OK with *stored NULL when
 * the call is new; FD_OK with *stored set to the first reply's payload when
 * it is a repeat; or an error. A concurrent duplicate waits here on the row
 * lock until the first commits or rolls back. */
static int idempotency_claim(fd_ctx *ctx, const uint8_t **stored,
			     size_t *stored_len)
{
	db_params p;
	PGresult *r;
	int64_t staff = ctx->session ? ctx->session->staff_id : 0;

	*stored = NULL;
	dbp_init(&p);
	dbp_bytes(&p, ctx->request_id, FD_REQUEST_ID_LEN);
	dbp_text(&p, ctx->method->path);
	if (staff)
		dbp_int(&p, staff);
	else
		dbp_text(&p, NULL);
	r = db_query(ctx,
		     "INSERT INTO idempotent_replies (request_id, method, staff_id)"
		     " VALUES ($1, $2, $3) ON CONFLICT (request_id) DO NOTHING"
		     " RETURNING 1",
		     &p);
	if (!r)
		return ctx->status.code;
	int claimed = PQntuples(r);
	PQclear(r);
	if (claimed)
		return FD_OK;

	/* A new statement sees the committed first call. */
	dbp_init(&p);
	dbp_bytes(&p, ctx->request_id, FD_REQUEST_ID_LEN);
	r = db_query(ctx,
		     "SELECT method, coalesce(staff_id, 0), reply"
		     " FROM idempotent_replies WHERE request_id = $1",
		     &p);
	if (!r)
		return ctx->status.code;
	if (PQntuples(r) != 1 || PQgetisnull(r, 0, 2)) {
		PQclear(r);
		return fd_fail(&ctx->status, FD_ABORTED,
			       "the same request is being processed; try again");
	}
	if (strcmp(PQgetvalue(r, 0, 0), ctx->method->path) != 0 ||
	    db_int(r, 0, 1) != staff) {
		PQclear(r);
		return fd_fail(&ctx->status, FD_INVALID_ARGUMENT,
			       "this request id was already used for another call");
	}
	/* reply is bytea in text form (\x...): decode into the arena. */
	size_t n = 0;
	unsigned char *raw = PQunescapeBytea(
		(const unsigned char *)PQgetvalue(r, 0, 2), &n);
	PQclear(r);
	if (!raw)
		return fd_fail(&ctx->status, FD_INTERNAL, "out of memory");
	uint8_t *copy = fd_arena_alloc(ctx->arena, n ? n : 1);
	if (copy)
		memcpy(copy, raw, n);
	PQfreemem(raw);
	if (!copy)
		return fd_fail(&ctx->status, FD_INTERNAL, "out of memory");
	*stored = copy;
	*stored_len = n;
	return FD_OK;
}

/* Sent ahead: it travels with the COMMIT. */
static int store_reply(fd_ctx *ctx, const uint8_t *bytes, size_t len)
{
	db_params p;

	dbp_init(&p);
	dbp_bytes(&p, ctx->request_id, FD_REQUEST_ID_LEN);
	dbp_bytes(&p, bytes ? bytes : (const uint8_t *)"", len);
	return db_send_ahead(ctx,
			     "UPDATE idempotent_replies SET reply = $2 WHERE request_id = $1",
			     &p);
}

/* Sent ahead, after BEGIN: both travel with the session check (or, for a
 * public method, are read before its handler runs). */
static int set_statement_timeout(fd_ctx *ctx)
{
	int64_t left = ctx->deadline_mono_ms - fd_now_mono_ms();
	char ms[24];
	db_params p;

	if (left < 1)
		return fd_fail(&ctx->status, FD_DEADLINE_EXCEEDED,
			       "the call ran out of time");
	snprintf(ms, sizeof ms, "%lld", (long long)left);
	dbp_init(&p);
	dbp_text(&p, ms);
	return db_send_ahead(ctx, "SELECT set_config('statement_timeout', $1, true)", &p);
}

/* One attempt at the whole call inside one transaction. On FD_OK the reply
 * payload is in bytes and len (arena memory).
 *
 * Round trips: BEGIN, the statement timeout and the session check go as
 * one (statements sent ahead, db.h); then the idempotency claim
 * (mutations) and the handler's own statements, one each; then the
 * stored reply, the audit rows and COMMIT as one. A point read with its
 * audit row costs three instead of six. Statuses are those of the
 * statements run one by one: a failure among those sent ahead is
 * reported as theirs, and what PostgreSQL skipped after it never ran. */
static int run_transaction(fd_call *c, fd_ctx *ctx, fd_session *session,
			   const uint8_t **bytes, size_t *len)
{
	const struct fd_method *m = c->method;
	const ProtobufCMessage *in;
	ProtobufCMessage *out = NULL;
	bool replayable = (m->flags & M_MUTATES) && !(m->flags & M_NO_REPLAY);
	bool ahead_failed = false;

	fd_status_ok(&ctx->status);
	ctx->session = NULL;
	ctx->commit_on_error = false;
	ctx->audit = (m->flags & M_AUDIT) != 0;
	ctx->audit_patient_id = 0;
	ctx->audit_subject = NULL;
	ctx->audit_patient_ids = NULL;
	ctx->n_audit_patient_ids = 0;

	if (db_send_ahead(ctx, "BEGIN", NULL) != FD_OK)
		return ctx->status.code;
	if (set_statement_timeout(ctx) != FD_OK)
		goto refuse;
	if (!(m->flags & M_PUBLIC)) {
		if (auth_session_load(ctx, c->request->header->session_token,
				      session) != FD_OK)
			goto refuse;
		ctx->session = session;
		if (!(session->roles & m->roles)) {
			char need[96] = "";
			for (unsigned bit = 1; bit <= ROLE_PROVIDER; bit <<= 1)
				if (m->roles & bit)
					snprintf(need + strlen(need),
						 sizeof need - strlen(need), "%s%s",
						 *need ? " or " : "", fd_role_name(bit));
			fd_fail(&ctx->status, FD_PERMISSION_DENIED,
				"%s needs the %s role", m->name, need);
			goto refuse;
		}
	}
	/* A public method sent BEGIN and the timeout with nothing after
	 * them: read them now, so the handler starts on a plain connection. */
	if (db_catch_up(ctx) != FD_OK)
		goto refuse;
	in = decode_payload(c);
	if (!in) {
		ctx->status = c->status;
		goto refuse;
	}
	if (replayable) {
		if (idempotency_claim(ctx, bytes, len) != FD_OK)
			goto refuse;
		if (*bytes) {
			/* A resend: answer what the first call answered and
			 * change nothing. */
			ctx->audit = false;
			db_rollback(ctx);
			return FD_OK;
		}
	}
	if (m->handler(ctx, in, &out) != FD_OK || !out) {
		if (ctx->status.code == FD_OK)
			fd_fail(&ctx->status, FD_INTERNAL, "handler gave no reply");
		goto refuse;
	}
	*bytes = fd_pack_to_arena(ctx->arena, out, len);
	if (!*bytes) {
		fd_fail(&ctx->status, FD_INTERNAL, "out of memory");
		goto refuse;
	}
	if (replayable && store_reply(ctx, *bytes, *len) != FD_OK)
		goto refuse;
	if (ctx->audit && audit_send_ahead(ctx, "OK") != FD_OK)
		goto refuse;
	if (!(m->flags & M_MUTATES) && !ctx->audit) {
		/* A read that leaves no audit row: nothing in it needs the
		 * COMMIT before the reply, which would cost the call a round
		 * trip of its own; it goes with the worker's next statement
		 * (db_commit_later). */
		if (db_commit_later(ctx) != FD_OK)
			goto refuse;
		return FD_OK;
	}
	if (db_exec_after(ctx, "COMMIT", NULL, &ahead_failed) != FD_OK) {
		/* The reply or audit row failing is refused as before;
		 * COMMIT failing is only rolled back. */
		if (ahead_failed)
			goto refuse;
		db_rollback(ctx);
		return ctx->status.code;
	}
	if (crash_after_commit_method)
		maybe_crash_after_commit(m);
	return FD_OK;

refuse: {
	fd_status keep = ctx->status;
	if (ctx->commit_on_error) {
		if (exec_simple(ctx, "COMMIT") != FD_OK)
			db_rollback(ctx);
	} else {
		db_rollback(ctx);
	}
	/* A refused call that would have been audited still leaves a row:
	 * attempts matter as much as successes. */
	if (ctx->audit && keep.code != FD_UNAVAILABLE &&
	    keep.code != FD_ABORTED) {
		if (audit_write(ctx, fd_code_name(keep.code)) != FD_OK)
			log_error("audit of refused call %s failed", m->path);
	}
	ctx->status = keep;
	return keep.code;
}
}

void dispatch_run(fd_call *c, db_conn *dc)
{
	fd_session session = { 0 };
	fd_ctx ctx = {
		.arena = &c->arena,
		.method = c->method,
		.deadline_mono_ms = c->deadline_mono_ms,
		.request_id = c->request->header->request_id.data,
	};
	const uint8_t *bytes = NULL;
	size_t len = 0;
	int code;

	fd_status_ok(&ctx.status);
	if (fd_now_mono_ms() >= c->deadline_mono_ms) {
		code = fd_fail(&ctx.status, FD_DEADLINE_EXCEEDED,
			       "the call ran out of time waiting for a free worker");
	} else {
		for (int attempt = 1;; attempt++) {
			ctx.conn = db_conn_get(dc);
			if (!ctx.conn) {
				code = fd_fail(&ctx.status, FD_UNAVAILABLE,
					       "the database is unreachable; try again shortly");
				break;
			}
			code = run_transaction(c, &ctx, &session, &bytes, &len);
			/* The connection died (a database restart): one
			 * fresh connection may already work. libpq may not
			 * have seen the end of a connection that died inside
			 * a pipeline yet; db_conn_check knows that case too. */
			if (code == FD_UNAVAILABLE && db_conn_check(dc) && attempt == 1)
				continue;
			if (code == FD_ABORTED && attempt < MAX_TX_ATTEMPTS &&
			    fd_now_mono_ms() < c->deadline_mono_ms)
				continue;
			break;
		}
	}
	c->status = ctx.status;
	c->status.code = code;
	if (code == FD_OK)
		reply_ok(c, bytes, len);
	else
		dispatch_reply_error(c);
	log_call(c, ctx.session ? ctx.session->staff_id : 0);
	listener_reply(c);
}
