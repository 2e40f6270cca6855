/*
 * `frontdeskd serve`: wires the parts together on one libuv loop. The loop
 * thread owns signals, the janitor timer and the events module; nng's
 * threads run the listener's state machines; the workers run handlers.
 *
 * Shutdown (SIGTERM/SIGINT): stop receiving, let every received call finish
 * and its reply leave, then close the socket, stop the workers, close every
 * handle and exit 0. SIGHUP reloads the configuration's reloadable items.
 */
#include "server.h"

#include <signal.h>
#include <stdlib.h>
#include <sysexits.h>

#include "config.h"
#include "db/db.h"
#include "events.h"
#include "listener.h"
#include "log.h"
#include "methods.h"
#include "migrate.h"
#include "util.h"
#include "version.h"
#include "workq.h"

static uv_loop_t loop;
static uv_signal_t sig_term, sig_int, sig_hup;
static uv_timer_t janitor_timer, drain_timer;
static fd_listener *listener;
static int64_t drain_started_ms;

#define JANITOR_INTERVAL_MS 60000

/* Housekeeping on a worker: forget old stored replies, close sessions that
 * ran out, so the tables stay small. Bounded batches keep each run short. */
static void janitor_run(fd_job *job, PGconn *conn)
{
	char secs[24];
	const char *params[1] = { secs };

	if (conn) {
		snprintf(secs, sizeof secs, "%d", cfg_int(CFG_IDEMPOTENCY_RETENTION_S));
		PGresult *r = PQexecParams(
			conn,
			"DELETE FROM idempotent_replies WHERE request_id IN ("
			" SELECT request_id FROM idempotent_replies"
			" WHERE created_at < now() - make_interval(secs => $1)"
			" LIMIT 10000)",
			1, NULL, params, NULL, NULL, 0);
		PQclear(r);
		snprintf(secs, sizeof secs, "%d", cfg_int(CFG_SESSION_IDLE_TIMEOUT_S));
		r = PQexecParams(
			conn,
			"UPDATE sessions SET ended_at = now(), end_reason ="
			" CASE WHEN expires_at <= now() THEN 'expired' ELSE 'idle' END"
			" WHERE ended_at IS NULL AND (expires_at <= now() OR"
			/* The slack auth_session_load() allows. */
			" last_seen_at <= now() - make_interval(secs => $1::float8)"
			"   - least(interval '10 seconds', make_interval(secs => $1::float8 / 4)))",
			1, NULL, params, NULL, NULL, 0);
		PQclear(r);
	}
	free(job);
}

static void on_janitor(uv_timer_t *t)
{
	fd_job *job = malloc(sizeof *job);

	(void)t;
	if (!job)
		return;
	job->run = janitor_run;
	workq_submit_job(job);
}

/* Domain housekeeping from methods.def PERIODIC rows. */
#define SERVICE(svc)
#define METHOD(svc, nm, fn, roles, flags)
#define PERIODIC(name, fn, ms) void fn(PGconn *conn);
#include "methods.def"
#undef PERIODIC

struct periodic {
	const char *name;
	void (*run)(PGconn *conn);
	uint64_t interval_ms;
	uv_timer_t timer;
};

#define PERIODIC(nm, fn, ms) { .name = nm, .run = fn, .interval_ms = ms },
static struct periodic periodics[] = {
#include "methods.def"
	{ .name = NULL },
};
#undef PERIODIC
#undef METHOD
#undef SERVICE

struct periodic_job {
	fd_job job;
	struct periodic *task;
};

static void periodic_run(fd_job *job, PGconn *conn)
{
	struct periodic_job *pj = (struct periodic_job *)job;

	pj->task->run(conn);
	free(pj);
}

static void on_periodic(uv_timer_t *t)
{
	struct periodic_job *pj = malloc(sizeof *pj);

	if (!pj)
		return;
	pj->task = t->data;
	pj->job.run = periodic_run;
	workq_submit_job(&pj->job);
}

static void periodics_start(void)
{
	for (struct periodic *p = periodics; p->name; p++) {
		uv_timer_init(&loop, &p->timer);
		p->timer.data = p;
		uv_timer_start(&p->timer, on_periodic, p->interval_ms, p->interval_ms);
	}
}

static void periodics_stop(void)
{
	for (struct periodic *p = periodics; p->name; p++) {
		uv_timer_stop(&p->timer);
		uv_close((uv_handle_t *)&p->timer, NULL);
	}
}

static void close_all(void)
{
	uv_close((uv_handle_t *)&sig_term, NULL);
	uv_close((uv_handle_t *)&sig_int, NULL);
	uv_close((uv_handle_t *)&sig_hup, NULL);
	uv_close((uv_handle_t *)&janitor_timer, NULL);
	uv_close((uv_handle_t *)&drain_timer, NULL);
	periodics_stop();
	events_stop();
}

static void on_drain_tick(uv_timer_t *t)
{
	int in_flight = listener_in_flight(listener);
	int64_t waited = fd_now_mono_ms() - drain_started_ms;

	(void)t;
	/* Every received call has a deadline, so this ends; the bound is a
	 * guard against a bug, not part of the protocol. */
	if (in_flight > 0 && waited < cfg_int(CFG_MAX_TIMEOUT_MS) + 5000)
		return;
	if (in_flight > 0)
		log_error("shutdown: %d calls still unanswered after %lld ms", in_flight,
			  (long long)waited);
	uv_timer_stop(&drain_timer);
	close_all();
}

static void begin_shutdown(const char *why)
{
	if (drain_started_ms)
		return;
	log_info("%s: finishing calls in flight, then exiting", why);
	drain_started_ms = fd_now_mono_ms();
	uv_timer_stop(&janitor_timer);
	for (struct periodic *p = periodics; p->name; p++)
		uv_timer_stop(&p->timer);
	listener_drain(listener);
	uv_timer_start(&drain_timer, on_drain_tick, 0, 10);
}

static void on_signal(uv_signal_t *h, int signum)
{
	(void)h;
	if (signum == SIGHUP) {
		char err[512];
		if (config_reload(err, sizeof err) != 0)
			log_error("reload failed, keeping the old settings: %s", err);
		else
			log_info("configuration reloaded");
		return;
	}
	begin_shutdown(signum == SIGTERM ? "SIGTERM" : "SIGINT");
}

static int check_schema(void)
{
	char err[512], msg[512];
	PGconn *c = db_connect(err, sizeof err);

	if (!c) {
		log_error("cannot reach the database: %s (set FRONTDESK_DB or the PG* variables)",
			  err);
		return EX_UNAVAILABLE;
	}
	if (migrate_check_schema(c, FD_SCHEMA_VERSION, msg, sizeof msg) != 0 ||
	    db_assume_role(c, msg, sizeof msg) != 0) {
		log_error("%s", msg);
		PQfinish(c);
		return EX_CONFIG;
	}
	PQfinish(c);
	return 0;
}

int server_serve(void)
{
	char err[512];
	int rc;

	signal(SIGPIPE, SIG_IGN);
	if (methods_init() != 0)
		return EX_SOFTWARE;
	if ((rc = check_schema()) != 0)
		return rc;
	if (uv_loop_init(&loop) != 0)
		return EX_OSERR;
	if (workq_start(cfg_int(CFG_WORKERS) > 0 ? cfg_int(CFG_WORKERS) : 1,
			cfg_int(CFG_QUEUE_DEPTH)) != 0) {
		log_error("cannot start the workers");
		return EX_OSERR;
	}
	if (events_start(&loop, err, sizeof err) != 0) {
		log_error("%s", err);
		events_stop();
		workq_stop();
		uv_run(&loop, UV_RUN_DEFAULT);
		uv_loop_close(&loop);
		return EX_UNAVAILABLE;
	}
	if (listener_start(&listener, err, sizeof err) != 0) {
		log_error("%s", err);
		events_stop();
		workq_stop();
		uv_run(&loop, UV_RUN_DEFAULT);
		uv_loop_close(&loop);
		return EX_UNAVAILABLE;
	}
	uv_signal_init(&loop, &sig_term);
	uv_signal_init(&loop, &sig_int);
	uv_signal_init(&loop, &sig_hup);
	uv_signal_start(&sig_term, on_signal, SIGTERM);
	uv_signal_start(&sig_int, on_signal, SIGINT);
	uv_signal_start(&sig_hup, on_signal, SIGHUP);
	uv_timer_init(&loop, &janitor_timer);
	uv_timer_init(&loop, &drain_timer);
	uv_timer_start(&janitor_timer, on_janitor, 1000, JANITOR_INTERVAL_MS);
	periodics_start();
	log_info("frontdeskd %s ready (schema version %d, %d workers)",
		 FD_SERVER_VERSION, FD_SCHEMA_VERSION, cfg_int(CFG_WORKERS));

	uv_run(&loop, UV_RUN_DEFAULT);

	/* Workers first: a call still queued is answered (or refused) while
	 * its slot and the socket exist; then the socket closes. */
	workq_stop();
	listener_close(listener);
	listener = NULL;
	rc = uv_loop_close(&loop);
	if (rc != 0)
		log_error("event loop closed with handles open: %s", uv_strerror(rc));
	log_info("frontdeskd stopped");
	return rc == 0 ? 0 : EX_SOFTWARE;
}
