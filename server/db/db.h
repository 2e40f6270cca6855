/*
 * The database layer handlers use: parameter lists, one query helper that
 * turns any failure into a status for the caller (and detail for the log),
 * NOTIFY for events, and the per-worker connection.
 *
 * Every statement is parameterised (prepared once per connection); no SQL
 * is ever built from input. Results returned to the caller are theirs to
 * PQclear. Thread: the caller's worker thread, with its own PGconn.
 */
#ifndef FD_DB_H
#define FD_DB_H

#include <libpq-fe.h>
#include <stdbool.h>
#include <stdint.h>

#include "handler.h"

#define DB_MAX_PARAMS 24

typedef struct db_params {
	int n;
	const char *values[DB_MAX_PARAMS];
	int lengths[DB_MAX_PARAMS];
	int formats[DB_MAX_PARAMS];
	char ints[DB_MAX_PARAMS][24]; /* text form of integer parameters */
} db_params;

static inline void dbp_init(db_params *p)
{
	p->n = 0;
}
/* A text parameter; NULL is SQL NULL. Strings are not copied. */
void dbp_text(db_params *p, const char *s);
/* Text parameter that is NULL when s is empty (optional proto3 fields). */
void dbp_text_or_null(db_params *p, const char *s);
void dbp_int(db_params *p, long long v);
void dbp_bool(db_params *p, bool v);
/* A binary (bytea) parameter; bytes are not copied. */
void dbp_bytes(db_params *p, const void *bytes, size_t len);
/* v as a bigint[] literal ("{1,2,3}") in the arena, to pass as a text
 * parameter cast with $n::bigint[] (one statement for many ids); NULL when
 * the arena is out of memory. */
char *db_bigint_array(fd_arena *a, const int64_t *v, size_t n);

/* Runs sql with p (may be NULL). Returns the result when it is
 * PGRES_TUPLES_OK or PGRES_COMMAND_OK (caller PQclears it); otherwise NULL
 * with ctx->status set from the SQLSTATE (sqlstate.c) and the detail
 * logged, never sent to the client. */
PGresult *db_query(fd_ctx *ctx, const char *sql, const db_params *p)
	__attribute__((warn_unused_result));

/* Runs a statement and only reports success: FD_OK or the mapped status. */
int db_exec(fd_ctx *ctx, const char *sql, const db_params *p)
	__attribute__((warn_unused_result));

/*
 * Statements sent ahead, to save round trips (libpq pipeline mode): the
 * dispatcher's fixed statements around a handler (BEGIN, the statement
 * timeout, the stored reply, the audit row) go out without waiting, and
 * travel with the next statement on the connection, whose call reads
 * their results first, in the same round trip. A failure in one of them
 * is that call's failure (same status as if it had run alone), and
 * PostgreSQL skips what follows it up to that call's statement included.
 * Only the dispatcher sends ahead; handlers never see a connection with
 * statements in flight.
 */
/* Sends sql without waiting. FD_OK, or the status of a lost connection. */
int db_send_ahead(fd_ctx *ctx, const char *sql, const db_params *p)
	__attribute__((warn_unused_result));
/* Reads the results of the statements sent ahead (nothing to do: FD_OK).
 * Returns FD_OK or the status of the first that failed. */
int db_catch_up(fd_ctx *ctx) __attribute__((warn_unused_result));
/* db_exec of sql after the statements sent ahead, in one round trip;
 * on failure *ahead_failed says whether one sent ahead failed (then sql
 * did not run) or sql itself. */
int db_exec_after(fd_ctx *ctx, const char *sql, const db_params *p,
		  bool *ahead_failed) __attribute__((warn_unused_result));
/* Commits a call that changed nothing and leaves no audit row without
 * waiting: the COMMIT goes with the next statement on the connection (the
 * worker's next call, in the round trip of its BEGIN) or with db_settle.
 * Its reply leaves first; all it can lose is the session's idle-timer
 * touch. If it fails, the next call on the connection is ABORTED and
 * retried, and the failure is logged. */
int db_commit_later(fd_ctx *ctx) __attribute__((warn_unused_result));
/* Ends the transaction whatever its state, after reading anything sent
 * ahead; leaves ctx->status as it was and logs nothing of its own. */
void db_rollback(fd_ctx *ctx);

/* Raises a live event inside the call's transaction: published only if the
 * transaction commits (PostgreSQL delivers NOTIFY at commit). */
int db_notify(fd_ctx *ctx, const char *topic, const char *subject)
	__attribute__((warn_unused_result));

/* Says why the call changes what it changes, for the history triggers
 * (transaction-local `frontdesk.reason`; who and from which desk were set
 * by the session check). */
int db_set_reason(fd_ctx *ctx, const char *reason)
	__attribute__((warn_unused_result));

/* Field helpers for results. */
int64_t db_int(const PGresult *r, int row, int col);
bool db_bool(const PGresult *r, int row, int col);
/* Copies a field into the arena (NULL field gives ""). */
char *db_str(fd_arena *a, const PGresult *r, int row, int col);
/* Parses a text[] field ({a,b}) into an arena array of strings. */
char **db_text_array(fd_arena *a, const PGresult *r, int row, int col,
		     size_t *n);

/* SQLSTATE → status: the one table (sqlstate.c). `sqlstate` may be NULL
 * (connection lost). Fills a short client message in st. */
int db_status_from_sqlstate(const char *sqlstate, const char *constraint,
			    fd_status *st);

/* The channel NOTIFY uses and the LISTEN connection listens on. */
#define DB_EVENT_CHANNEL "frontdesk_events"

/* A worker's connection, reconnected on demand. */
typedef struct db_conn {
	PGconn *conn;
	int64_t last_attempt_ms; /* monotonic; throttles reconnects */
} db_conn;

/* Returns a usable connection or NULL when the database is unreachable
 * (then at most one reconnect attempt is made per second, so a down
 * database costs callers milliseconds, not connect timeouts). */
PGconn *db_conn_get(db_conn *dc);
/* After a failure: if the connection is broken (or was left in pipeline
 * mode by a pipeline that lost step), drop it and return true: the next
 * db_conn_get reconnects at once. */
bool db_conn_check(db_conn *dc);
void db_conn_close(db_conn *dc);
/* Reads whatever is still in flight on the connection (a COMMIT sent by
 * db_commit_later): the worker calls it before it waits for work or runs a
 * job, so no transaction stays open while the worker is idle and jobs get a
 * plain connection. Failures are logged. */
void db_settle(db_conn *dc);
/* True while something is in flight on the connection (db_settle's work). */
bool db_unsettled(const db_conn *dc);
/* Opens a connection with the configured conninfo and our session settings
 * (application_name, UTC). Used by workers, LISTEN and admin tools.
 * On failure returns NULL and copies the reason into err. */
PGconn *db_connect(char *err, size_t err_size);
/* Switches c to the configured db_role (SET ROLE; nothing when db_role is
 * empty), so worker connections act with the server's least privileges
 * rather than the owner's. db_conn_get does it on every new worker
 * connection; the startup check calls it once to refuse a bad setting.
 * Returns 0, or -1 with the reason (and the fix) in err. */
int db_assume_role(PGconn *c, char *err, size_t err_size)
	__attribute__((warn_unused_result));

/* Health: the last state any worker saw (true = reachable). */
extern volatile int db_up;

#endif
