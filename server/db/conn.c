/*
 * Connections and the query helpers of db.h. A worker keeps one PGconn for
 * its lifetime and reconnects on demand after the database comes back; the
 * reconnect is throttled so a down database answers UNAVAILABLE at once.
 * Statements are prepared once per connection, and the dispatcher's fixed
 * ones can be sent ahead in pipeline mode to share a round trip.
 */
#include "db.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "methods.h"
#include "log.h"
#include "util.h"

volatile int db_up = 1;

/*
 * Prepared statements. Each statement a worker sends is prepared once on
 * its connection (found again by its SQL text) and executed by name after
 * that, so PostgreSQL plans it once per connection instead of on every
 * call: planning was 30% of the database's time in the bench's front-desk
 * mix, and preparing about doubled the mix's calls/s (docs/PERFORMANCE.md).
 * After five executions PostgreSQL keeps a generic plan where it costs no
 * more than one made for the values; a statement whose plan depends on
 * them ("$2 IS NULL OR ...") goes on being planned for its values.
 *
 * One PGconn per worker thread, so the list belongs to the thread and is
 * forgotten whenever the thread's connection is made, dropped or replaced
 * (a new PGconn can reuse a freed one's address). Past PREPARED_MAX
 * different statements the rest are sent unprepared.
 */
#define PREPARED_MAX 512

static _Thread_local struct {
	PGconn *conn; /* the connection the statements below exist on */
	int n;
	struct {
		uint32_t hash;
		char *sql;
	} stmt[PREPARED_MAX];
} prepared;

/*
 * Statements sent ahead (db_send_ahead): already on their way in libpq's
 * pipeline mode, their results not read yet. The next statement on the
 * connection goes into the same pipeline, then one sync, so all of them
 * cost one round trip; each entry says how many results it owes (two when
 * its statement was prepared in the same pipeline) and which prepared
 * statement to forget again if that preparing failed.
 */
#define AHEAD_MAX 8

static _Thread_local struct {
	PGconn *conn; /* the connection in pipeline mode, while n > 0 */
	int n;
	struct {
		int results;
		int prepared; /* index prepared in this pipeline, or -1 */
		bool earlier; /* an earlier call's COMMIT (db_commit_later) */
	} stmt[AHEAD_MAX + 1];
} ahead;

static void prepared_forget(void)
{
	for (int i = 0; i < prepared.n; i++)
		free(prepared.stmt[i].sql);
	prepared.n = 0;
	prepared.conn = NULL;
	ahead.n = 0;
	ahead.conn = NULL;
}

static uint32_t sql_hash(const char *sql)
{
	uint32_t h = 2166136261u; /* FNV-1a */

	for (; *sql; sql++)
		h = (h ^ (uint8_t)*sql) * 16777619u;
	return h;
}

/* The index of `sql` among the statements prepared on this thread's
 * connection, or -1. A statement whose preparing failed in a pipeline
 * keeps its slot (names are slot numbers) with its text gone. */
static int prepared_find(const char *sql, uint32_t h)
{
	for (int i = 0; i < prepared.n; i++)
		if (prepared.stmt[i].hash == h && prepared.stmt[i].sql &&
		    strcmp(prepared.stmt[i].sql, sql) == 0)
			return i;
	return -1;
}

/* The index of `sql` among the statements prepared on `c`, preparing it
 * first if it is new; -1 when the list is full. A failed prepare (an
 * error in the statement) hands its result back in *failed, owned by the
 * caller, so the error reaches the caller as if it had been executed. */
static int prepared_index(PGconn *c, const char *sql, int n_params, PGresult **failed)
{
	uint32_t h = sql_hash(sql);
	char name[16];

	*failed = NULL;
	if (prepared.conn != c) {
		prepared_forget();
		prepared.conn = c;
	}
	int k = prepared_find(sql, h);
	if (k >= 0)
		return k;
	if (prepared.n == PREPARED_MAX)
		return -1;
	char *copy = strdup(sql);
	if (!copy)
		return -1;
	snprintf(name, sizeof name, "fd%d", prepared.n);
	PGresult *r = PQprepare(c, name, sql, n_params, NULL);
	if (PQresultStatus(r) != PGRES_COMMAND_OK) {
		free(copy);
		*failed = r;
		return -1;
	}
	PQclear(r);
	prepared.stmt[prepared.n].hash = h;
	prepared.stmt[prepared.n].sql = copy;
	return prepared.n++;
}

static PGresult *exec_statement(PGconn *c, const char *sql, const db_params *p)
{
	int n = p ? p->n : 0;
	const char *const *values = p ? p->values : NULL;
	const int *lengths = p ? p->lengths : NULL, *formats = p ? p->formats : NULL;
	PGresult *failed;
	char name[16];
	int k = prepared_index(c, sql, n, &failed);

	if (failed)
		return failed;
	if (k < 0)
		return PQexecParams(c, sql, n, NULL, values, lengths, formats, 0);
	snprintf(name, sizeof name, "fd%d", k);
	return PQexecPrepared(c, name, n, values, lengths, formats, 0);
}

void dbp_text(db_params *p, const char *s)
{
	p->values[p->n] = s;
	p->lengths[p->n] = 0;
	p->formats[p->n] = 0;
	p->n++;
}

void dbp_text_or_null(db_params *p, const char *s)
{
	dbp_text(p, s && *s ? s : NULL);
}

void dbp_int(db_params *p, long long v)
{
	snprintf(p->ints[p->n], sizeof p->ints[p->n], "%lld", v);
	dbp_text(p, p->ints[p->n]);
}

void dbp_bool(db_params *p, bool v)
{
	dbp_text(p, v ? "t" : "f");
}

void dbp_bytes(db_params *p, const void *bytes, size_t len)
{
	p->values[p->n] = bytes;
	p->lengths[p->n] = (int)len;
	p->formats[p->n] = 1;
	p->n++;
}

char *db_bigint_array(fd_arena *a, const int64_t *v, size_t n)
{
	size_t cap = n * 21 + 3, len = 0; /* 20 digits and a sign, or a comma */
	char *s = fd_arena_alloc(a, cap);

	if (!s)
		return NULL;
	s[len++] = '{';
	for (size_t i = 0; i < n; i++)
		len += (size_t)snprintf(s + len, cap - len, "%s%lld", i ? "," : "", (long long)v[i]);
	s[len++] = '}';
	s[len] = '\0';
	return s;
}

PGconn *db_connect(char *err, size_t err_size)
{
	/* Our own keywords first; the operator's conninfo (expanded by
	 * libpq, so "postgresql://" URIs work too) overrides them, and PG*
	 * environment variables fill in whatever neither names. */
	const char *keys[] = { "connect_timeout", "application_name",
			       "options", "dbname", NULL };
	const char *vals[] = { "3", "frontdeskd", "-c TimeZone=UTC",
			       cfg_str(CFG_DB), NULL };
	PGconn *c = PQconnectdbParams(keys, vals, 1);

	if (PQstatus(c) != CONNECTION_OK) {
		snprintf(err, err_size, "%s", PQerrorMessage(c));
		size_t n = strlen(err);
		while (n && (err[n - 1] == '\n' || err[n - 1] == ' '))
			err[--n] = '\0';
		PQfinish(c);
		return NULL;
	}
	return c;
}

int db_assume_role(PGconn *c, char *err, size_t err_size)
{
	const char *role = cfg_str(CFG_DB_ROLE);
	const char *values[] = { role };
	PGresult *r;
	int ok;

	if (!*role)
		return 0;
	/* set_config('role', ..., false) is SET ROLE for the session, with
	 * the name as a parameter rather than spliced into the SQL. */
	r = PQexecParams(c, "SELECT set_config('role', $1, false)", 1, NULL, values,
			 NULL, NULL, 0);
	ok = PQresultStatus(r) == PGRES_TUPLES_OK;
	if (!ok) {
		const char *state = PQresultErrorField(r, PG_DIAG_SQLSTATE);
		snprintf(err, err_size,
			 "cannot act as database role %s (sqlstate %s): run `frontdeskd migrate up`"
			 " (migration 0007 makes it and grants it to the schema owner),"
			 " or set db_role to another role, or empty to act as the connecting user",
			 role, state ? state : "none");
	}
	PQclear(r);
	return ok ? 0 : -1;
}

/* Open, and not left in pipeline mode by a pipeline that lost step
 * (pipeline_finish): such a connection's next statement could not run.
 * In pipeline mode with statements of ours in flight (db_commit_later)
 * it is fine: the next statement joins them. */
static bool conn_usable(PGconn *c)
{
	return PQstatus(c) == CONNECTION_OK &&
	       (PQpipelineStatus(c) == PQ_PIPELINE_OFF || (ahead.n > 0 && ahead.conn == c));
}

PGconn *db_conn_get(db_conn *dc)
{
	char err[512];
	int64_t now = fd_now_mono_ms();

	if (dc->conn && conn_usable(dc->conn))
		return dc->conn;
	prepared_forget();
	if (dc->conn) {
		PQfinish(dc->conn);
		dc->conn = NULL;
	}
	if (dc->last_attempt_ms && now - dc->last_attempt_ms < 1000)
		return NULL;
	dc->last_attempt_ms = now;
	dc->conn = db_connect(err, sizeof err);
	if (dc->conn && db_assume_role(dc->conn, err, sizeof err) != 0) {
		log_error("%s", err);
		PQfinish(dc->conn);
		dc->conn = NULL;
		return NULL;
	}
	if (!dc->conn) {
		if (db_up)
			log_error("database unreachable: %s", err);
		db_up = 0;
		return NULL;
	}
	if (!db_up)
		log_info("database reachable again");
	db_up = 1;
	return dc->conn;
}

bool db_conn_check(db_conn *dc)
{
	if (!dc->conn || conn_usable(dc->conn))
		return false;
	prepared_forget();
	PQfinish(dc->conn);
	dc->conn = NULL;
	db_up = 0;
	/* Allow an immediate retry: the next call reconnects at once if the
	 * database is already back (a restart). */
	dc->last_attempt_ms = 0;
	return true;
}

void db_conn_close(db_conn *dc)
{
	prepared_forget();
	if (dc->conn)
		PQfinish(dc->conn);
	dc->conn = NULL;
}

/* A statement's failure as the caller's status (and a log line without
 * the message, which can quote patient data); r may be NULL (connection
 * lost). Clears r; returns the status code. */
static int query_failed(fd_ctx *ctx, PGresult *r)
{
	const char *state = r ? PQresultErrorField(r, PG_DIAG_SQLSTATE) : NULL;
	const char *constraint =
		r ? PQresultErrorField(r, PG_DIAG_CONSTRAINT_NAME) : NULL;
	int code = db_status_from_sqlstate(state, constraint, &ctx->status);
	/* The primary message can quote values (patient data): only the
	 * SQLSTATE, the constraint and the method go to the log. */
	if (code == FD_INTERNAL || code == FD_UNAVAILABLE)
		log_error("database error in %s: sqlstate %s constraint %s: %s",
			  ctx->method ? ctx->method->path : "?",
			  state ? state : "none",
			  constraint ? constraint : "none",
			  state ? "see PostgreSQL log" : "connection lost");
	else
		log_debug("database refused %s: sqlstate %s constraint %s",
			  ctx->method ? ctx->method->path : "?", state,
			  constraint ? constraint : "none");
	PQclear(r);
	return code;
}

/* --- Pipelines: statements sent ahead ------------------------------------ */

/* Forgets a statement whose preparing in a pipeline failed or was skipped
 * (PostgreSQL made no statement of that name). Everything prepared after
 * it in the same pipeline was skipped too, so the dead slots are the last
 * ones and are given back: calls failing before COMMIT was ever prepared
 * do not fill the list. */
static void prepared_drop(int k)
{
	free(prepared.stmt[k].sql);
	prepared.stmt[k].sql = NULL;
	prepared.stmt[k].hash = 0;
	while (prepared.n > 0 && !prepared.stmt[prepared.n - 1].sql)
		prepared.n--;
}

/* Queues one statement on c, in pipeline mode, as entry ahead.n: by name
 * when it is prepared on c, else prepared first in the same pipeline (its
 * preparing is one more result to read). Returns 1 when libpq took it. */
static int pipeline_send(PGconn *c, const char *sql, const db_params *p)
{
	int n = p ? p->n : 0;
	const char *const *values = p ? p->values : NULL;
	const int *lengths = p ? p->lengths : NULL, *formats = p ? p->formats : NULL;
	uint32_t h = sql_hash(sql);
	int k = prepared_find(sql, h);
	char name[16];

	ahead.stmt[ahead.n].results = 1;
	ahead.stmt[ahead.n].prepared = -1;
	ahead.stmt[ahead.n].earlier = false;
	if (k < 0 && prepared.n < PREPARED_MAX) {
		char *copy = strdup(sql);
		if (copy) {
			k = prepared.n++;
			prepared.stmt[k].hash = h;
			prepared.stmt[k].sql = copy;
			snprintf(name, sizeof name, "fd%d", k);
			if (!PQsendPrepare(c, name, sql, n, NULL)) {
				prepared_drop(k);
				return 0;
			}
			ahead.stmt[ahead.n].results = 2;
			ahead.stmt[ahead.n].prepared = k;
		}
	}
	if (k < 0)
		return PQsendQueryParams(c, sql, n, NULL, values, lengths, formats, 0);
	snprintf(name, sizeof name, "fd%d", k);
	return PQsendQueryPrepared(c, name, n, values, lengths, formats, 0);
}

/* The next result of the pipeline and the NULL that ends it; NULL when
 * none came (the connection is gone). A statement gives one result, so
 * more than a few before the NULL means the pipeline is out of step. */
static PGresult *pipeline_result(PGconn *c, bool *lost)
{
	PGresult *r = PQgetResult(c), *extra;
	int extras = 0;

	if (!r) {
		*lost = true;
		return NULL;
	}
	if (PQresultStatus(r) == PGRES_PIPELINE_SYNC)
		return r; /* no NULL follows a sync */
	while ((extra = PQgetResult(c)) != NULL) {
		PQclear(extra);
		if (++extras == 4) {
			*lost = true;
			break;
		}
	}
	return r;
}

/* Sends `sql` (NULL: nothing more) after the statements sent ahead, then a
 * sync, and reads every result in order: one round trip. Returns FD_OK
 * with *own holding sql's result; or the status of the first statement
 * that failed (PostgreSQL skips the rest up to the sync:
 * PGRES_PIPELINE_ABORTED), *ahead_failed saying whether it was one sent
 * ahead. Leaves the connection out of pipeline mode, or, if it is lost or
 * out of step, still in it: db_conn_get then replaces it. */
static int pipeline_finish(fd_ctx *ctx, const char *sql, const db_params *p,
			   PGresult **own, bool *ahead_failed)
{
	PGconn *c = ctx->conn;
	int sent_ahead = ahead.n, failed_at = -1;
	PGresult *failure = NULL, *r;
	bool lost = false, earlier_failed = false;

	*own = NULL;
	*ahead_failed = false;
	if (sql) {
		if (pipeline_send(c, sql, p))
			ahead.n++;
		else
			lost = true;
	}
	if (!lost && PQpipelineSync(c) != 1)
		lost = true;
	for (int i = 0; i < ahead.n && !lost; i++) {
		for (int j = 0; j < ahead.stmt[i].results && !lost; j++) {
			bool preparing = j == 0 && ahead.stmt[i].results == 2;
			r = pipeline_result(c, &lost);
			if (!r)
				break;
			ExecStatusType rs = PQresultStatus(r);
			if (rs == PGRES_TUPLES_OK || rs == PGRES_COMMAND_OK) {
				if (sql && !preparing && i == ahead.n - 1)
					*own = r;
				else
					PQclear(r);
				continue;
			}
			if (preparing)
				prepared_drop(ahead.stmt[i].prepared);
			if (!failure && rs != PGRES_PIPELINE_ABORTED) {
				failure = r;
				failed_at = i;
			} else {
				PQclear(r);
			}
		}
	}
	if (!lost) {
		r = pipeline_result(c, &lost);
		if (r && PQresultStatus(r) != PGRES_PIPELINE_SYNC)
			lost = true;
		PQclear(r);
	}
	if (!lost && PQexitPipelineMode(c) != 1)
		lost = true;
	earlier_failed = failure && ahead.stmt[failed_at].earlier;
	ahead.n = 0;
	ahead.conn = NULL;
	if (earlier_failed) {
		/* Not this call's failure, but everything after it was
		 * skipped: the call starts again (ABORTED is retried). */
		log_error("the COMMIT of a call that changed nothing failed: sqlstate %s",
			  PQresultErrorField(failure, PG_DIAG_SQLSTATE)
				  ? PQresultErrorField(failure, PG_DIAG_SQLSTATE)
				  : "none");
		PQclear(failure);
		PQclear(*own);
		*own = NULL;
		*ahead_failed = true;
		return fd_fail(&ctx->status, FD_ABORTED,
			       "the database interrupted the call; try again");
	}
	if (failure || lost) {
		PQclear(*own);
		*own = NULL;
		*ahead_failed = failure ? failed_at < sent_ahead : sent_ahead > 0;
		/* A lost connection's own error (57P01, 08xxx) says more
		 * than "no result". */
		return query_failed(ctx, failure);
	}
	return FD_OK;
}

static bool sent_ahead_on(const PGconn *c)
{
	return ahead.n > 0 && ahead.conn == c;
}

int db_send_ahead(fd_ctx *ctx, const char *sql, const db_params *p)
{
	PGconn *c = ctx->conn;

	if (ahead.n == AHEAD_MAX)
		return fd_fail(&ctx->status, FD_INTERNAL,
			       "internal error; the server log has details");
	if (prepared.conn != c) {
		prepared_forget();
		prepared.conn = c;
	}
	if (ahead.n == 0) {
		if (PQenterPipelineMode(c) != 1)
			return query_failed(ctx, NULL);
		ahead.conn = c;
	}
	if (!pipeline_send(c, sql, p)) {
		/* Out of step: the connection stays in pipeline mode and
		 * is replaced before its next call. */
		ahead.n = 0;
		ahead.conn = NULL;
		return query_failed(ctx, NULL);
	}
	ahead.n++;
	return FD_OK;
}

int db_commit_later(fd_ctx *ctx)
{
	if (db_send_ahead(ctx, "COMMIT", NULL) != FD_OK)
		return ctx->status.code;
	ahead.stmt[ahead.n - 1].earlier = true;
	return FD_OK;
}

bool db_unsettled(const db_conn *dc)
{
	return dc->conn && sent_ahead_on(dc->conn);
}

void db_settle(db_conn *dc)
{
	fd_ctx ctx = { .conn = dc->conn };
	PGresult *none;
	bool ahead_failed;

	fd_status_ok(&ctx.status);
	if (db_unsettled(dc))
		(void)pipeline_finish(&ctx, NULL, NULL, &none, &ahead_failed);
}

int db_catch_up(fd_ctx *ctx)
{
	PGresult *none;
	bool ahead_failed;

	if (!sent_ahead_on(ctx->conn))
		return FD_OK;
	return pipeline_finish(ctx, NULL, NULL, &none, &ahead_failed);
}

int db_exec_after(fd_ctx *ctx, const char *sql, const db_params *p,
		  bool *ahead_failed)
{
	PGresult *r;

	*ahead_failed = false;
	if (!sent_ahead_on(ctx->conn))
		return db_exec(ctx, sql, p);
	if (pipeline_finish(ctx, sql, p, &r, ahead_failed) != FD_OK)
		return ctx->status.code;
	PQclear(r);
	return FD_OK;
}

void db_rollback(fd_ctx *ctx)
{
	fd_status keep = ctx->status;

	/* Not in the same pipeline: after a failed statement there, a
	 * ROLLBACK would be skipped too. */
	if (sent_ahead_on(ctx->conn)) {
		PGresult *none;
		bool ahead_failed;
		pipeline_finish(ctx, NULL, NULL, &none, &ahead_failed);
	}
	PQclear(PQexec(ctx->conn, "ROLLBACK"));
	ctx->status = keep;
}

PGresult *db_query(fd_ctx *ctx, const char *sql, const db_params *p)
{
	PGresult *r;
	bool ahead_failed;

	if (sent_ahead_on(ctx->conn)) {
		if (pipeline_finish(ctx, sql, p, &r, &ahead_failed) != FD_OK)
			return NULL;
		return r;
	}
	r = exec_statement(ctx->conn, sql, p);
	ExecStatusType rs = PQresultStatus(r);

	if (rs == PGRES_TUPLES_OK || rs == PGRES_COMMAND_OK)
		return r;
	query_failed(ctx, r);
	return NULL;
}

int db_exec(fd_ctx *ctx, const char *sql, const db_params *p)
{
	PGresult *r = db_query(ctx, sql, p);

	if (!r)
		return ctx->status.code;
	PQclear(r);
	return FD_OK;
}

int db_notify(fd_ctx *ctx, const char *topic, const char *subject)
{
	db_params p;
	char payload[256];

	snprintf(payload, sizeof payload, "%s\t%s", topic, subject ? subject : "");
	dbp_init(&p);
	dbp_text(&p, DB_EVENT_CHANNEL);
	dbp_text(&p, payload);
	return db_exec(ctx, "SELECT pg_notify($1, $2)", &p);
}

int db_set_reason(fd_ctx *ctx, const char *reason)
{
	db_params p;

	dbp_init(&p);
	dbp_text(&p, reason ? reason : "");
	return db_exec(ctx, "SELECT set_config('frontdesk.reason', $1, true)", &p);
}

int64_t db_int(const PGresult *r, int row, int col)
{
	if (PQgetisnull(r, row, col))
		return 0;
	return strtoll(PQgetvalue(r, row, col), NULL, 10);
}

bool db_bool(const PGresult *r, int row, int col)
{
	return PQgetvalue(r, row, col)[0] == 't';
}

char *db_str(fd_arena *a, const PGresult *r, int row, int col)
{
	return fd_arena_strndup(a, PQgetvalue(r, row, col),
				(size_t)PQgetlength(r, row, col));
}

char **db_text_array(fd_arena *a, const PGresult *r, int row, int col,
		     size_t *n)
{
	/* Only for arrays of simple words (role names): no quoting inside. */
	const char *s = PQgetvalue(r, row, col);
	size_t count = 0, len = strlen(s);
	char **items;

	*n = 0;
	if (len < 2 || s[0] != '{' || len == 2)
		return NULL;
	for (size_t i = 1; i < len - 1; i++)
		if (s[i] == ',')
			count++;
	count++;
	items = fd_arena_alloc(a, count * sizeof *items);
	if (!items)
		return NULL;
	const char *start = s + 1;
	for (size_t i = 0; i < count; i++) {
		const char *end = strchr(start, i + 1 < count ? ',' : '}');
		items[i] = fd_arena_strndup(a, start, (size_t)(end - start));
		start = end + 1;
	}
	*n = count;
	return items;
}
