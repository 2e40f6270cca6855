/*
 * Shared pieces of the fault and race tests (tests/e2e/test_faults_*.c, see
 * docs/RELIABILITY.md): how hard to push (FD_FAULTS_LONG=1 under `make
 * test-faults`), a test clinic seeded in SQL where every desk books for its
 * own provider on its own slots, calls that carry a caller-chosen request id
 * (so a test can resend exactly what a desk sent), and control of the
 * suite's PostgreSQL cluster (FD_PG_DIR, FD_PGCLUSTER from tests/run.sh).
 *
 * Everything is static inline: each test binary includes this once, after
 * e2e.h. Helpers return a status or -1; none aborts the binary, so a test
 * can check PostgreSQL while it is down.
 */
#ifndef FD_TEST_FAULTS_H
#define FD_TEST_FAULTS_H

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "e2e/e2e.h"
#include "wire.h"
#include "frontdesk/v1/checkin.pb-c.h"
#include "frontdesk/v1/scheduling.pb-c.h"

/* The clinic's codes: location, appointment type, desks flt-1..flt-8 and
 * providers fp1..fpN (one per desk, so desks never compete for slots unless a
 * test wants them to). */
#define FLT_LOCATION "flt"
#define FLT_TYPE "flt-15"
#define FLT_SLOTS_PER_DAY 90 /* 15-minute slots from 00:00 */

static inline bool faults_long(void)
{
	const char *v = getenv("FD_FAULTS_LONG");
	return v && strcmp(v, "1") == 0;
}

static inline bool faults_valgrind(void)
{
	const char *v = getenv("FD_VALGRIND");
	return v && strcmp(v, "1") == 0;
}

/* A count of rounds, kills or stops: `fast` in `make test`, `slow` under
 * FD_FAULTS_LONG=1. Under valgrind (everything ~30x slower, and the point
 * is memory errors, not numbers) a sixth of `fast`, at least one. */
static inline int faults_pick(int fast, int slow)
{
	if (faults_long())
		return slow;
	if (faults_valgrind())
		return fast / 6 > 0 ? fast / 6 : 1;
	return fast;
}

/* Bounds stated in the docs are for the plain build; they grow here so that
 * a valgrind run checks correctness without timing out. */
static inline int faults_slack(int ms)
{
	return faults_valgrind() ? ms * 20 : ms;
}

static inline int faults_sql(const char *db, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
static inline int faults_sql(const char *db, const char *fmt, ...)
{
	char sql[4096];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(sql, sizeof sql, fmt, ap);
	va_end(ap);
	return tp_db_exec(db, sql);
}

static inline long long faults_scalar(const char *db, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
static inline long long faults_scalar(const char *db, const char *fmt, ...)
{
	char sql[4096];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(sql, sizeof sql, fmt, ap);
	va_end(ap);
	return tp_db_scalar(db, sql);
}

/* A location whose local clock is near noon now (UTC+N as Etc/GMT-N), so
 * appointments an hour either side of now are "today"; desks flt-1..8; a
 * 15-minute type bookable 00:00-22:30 every day for providers fp1..fpN; four
 * exam rooms; no no-show sweep. Also turns synchronous_commit back on for
 * this database (the suite's cluster runs with it off for speed), because
 * these tests stop PostgreSQL hard and a commit must then mean durable. */
static inline bool faults_clinic(const char *db, int providers)
{
	long long hour = tp_db_scalar(db, "SELECT extract(hour FROM now() AT TIME ZONE 'UTC')::int");
	long long offset = 12 - hour;
	char zone[32];

	if (offset == 0)
		snprintf(zone, sizeof zone, "UTC");
	else
		snprintf(zone, sizeof zone, "Etc/GMT%c%lld", offset > 0 ? '-' : '+',
			 offset > 0 ? offset : -offset);
	return faults_sql(db, "ALTER DATABASE \"%s\" SET synchronous_commit = on", db) == 0 &&
	       faults_sql(db,
			  "INSERT INTO locations (code, name, time_zone) VALUES ('" FLT_LOCATION
			  "', 'Fault clinic', '%s');"
			  "INSERT INTO desks (code, name, location_id) SELECT 'flt-' || i, 'Fault desk ' || i,"
			  "  l.id FROM locations l, generate_series(1, 8) i WHERE l.code = '" FLT_LOCATION "';"
			  "INSERT INTO providers (code, display_name) SELECT 'fp' || i, 'Dr. Fault ' || i"
			  "  FROM generate_series(1, %d) i;"
			  "INSERT INTO provider_locations SELECT p.id, l.id FROM providers p, locations l"
			  "  WHERE p.code ~ '^fp[0-9]+$' AND l.code = '" FLT_LOCATION "';"
			  "INSERT INTO appointment_types (code, name, duration_min, grid_min, horizon_days)"
			  "  VALUES ('" FLT_TYPE "', 'Fault visit', 15, 15, 730);"
			  "INSERT INTO provider_types SELECT p.id, t.id FROM providers p, appointment_types t"
			  "  WHERE p.code ~ '^fp[0-9]+$' AND t.code = '" FLT_TYPE "';"
			  "INSERT INTO availability_templates (provider_id, location_id, weekday, start_time,"
			  "  end_time, effective_from) SELECT p.id, l.id, w, '00:00', '22:30', current_date - 2"
			  "  FROM providers p, locations l, generate_series(1, 7) w"
			  "  WHERE p.code ~ '^fp[0-9]+$' AND l.code = '" FLT_LOCATION "';"
			  "INSERT INTO resources (location_id, code, name, kind) SELECT id, 'flt-room' || i,"
			  "  'Room ' || i, 'exam_room' FROM locations, generate_series(1, 4) i"
			  "  WHERE code = '" FLT_LOCATION "';"
			  "INSERT INTO checkin_settings (location_id, no_show_sweep) SELECT id, false"
			  "  FROM locations WHERE code = '" FLT_LOCATION "'",
			  zone, providers) == 0;
}

/* n new patients; their ids in out[0..n-1]. Returns 0. */
static inline int faults_patients(const char *db, int n, int64_t *out)
{
	char sql[256];
	PGconn *c = tp_db_connect(db);
	int rc = -1;

	snprintf(sql, sizeof sql,
		 "INSERT INTO patients (family_name, given_name, date_of_birth)"
		 " SELECT 'Fault', 'Pat' || i, '1980-01-01' FROM generate_series(1, %d) i RETURNING id",
		 n);
	PGresult *r = PQexec(c, sql);
	if (PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) == n) {
		for (int i = 0; i < n; i++)
			out[i] = atoll(PQgetvalue(r, i, 0));
		rc = 0;
	}
	PQclear(r);
	PQfinish(c);
	return rc;
}

/* n appointments today for patients[0..n-1] with provider fp1, starting a
 * few minutes from now (overbooked, so they never collide); their ids in
 * out. One statement, so thousands are cheap. */
static inline int faults_appointments_today(const char *db, int n, const int64_t *patients,
					    int64_t *out)
{
	size_t size = (size_t)n * 24 + 1024, len = 0;
	char *sql = malloc(size);
	int rc = -1;

	if (!sql)
		return -1;
	len += (size_t)snprintf(sql, size,
				"SELECT set_config('frontdesk.reason', 'test', false);"
				"INSERT INTO appointments (patient_id, provider_id, location_id, type_id,"
				" starts_at, ends_at, blocked_from, blocked_until, status, overbooked,"
				" overbook_reason) SELECT x.patient, p.id, l.id, t.id,"
				" now() + (5 + x.n %% 40) * interval '1 min',"
				" now() + (20 + x.n %% 40) * interval '1 min',"
				" now() + (5 + x.n %% 40) * interval '1 min',"
				" now() + (20 + x.n %% 40) * interval '1 min', 'booked', true, 'test'"
				" FROM unnest(ARRAY[");
	for (int i = 0; i < n; i++)
		len += (size_t)snprintf(sql + len, size - len, "%s%lld", i ? "," : "",
					(long long)patients[i]);
	snprintf(sql + len, size - len,
		 "]::bigint[]) WITH ORDINALITY x(patient, n), providers p, locations l,"
		 " appointment_types t WHERE p.code = 'fp1' AND l.code = '" FLT_LOCATION "'"
		 " AND t.code = '" FLT_TYPE "' ORDER BY x.n RETURNING id");
	PGconn *c = tp_db_connect(db);
	PGresult *r = PQexec(c, sql);
	if (PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) == n) {
		for (int i = 0; i < n; i++)
			out[i] = atoll(PQgetvalue(r, i, 0));
		rc = 0;
	} else {
		printf("    appointment insert failed: %s\n", PQerrorMessage(c));
	}
	PQclear(r);
	PQfinish(c);
	free(sql);
	return rc;
}

/* The local date two days from now at the clinic, as "YYYY-MM-DD". */
static inline int faults_first_day(const char *db, char *out, size_t size)
{
	PGconn *c = tp_db_connect(db);
	PGresult *r = PQexec(c, "SELECT ((now() AT TIME ZONE l.time_zone)::date + 2)::text"
				" FROM locations l WHERE l.code = '" FLT_LOCATION "'");
	int rc = -1;

	if (PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) == 1) {
		snprintf(out, size, "%s", PQgetvalue(r, 0, 0));
		rc = 0;
	}
	PQclear(r);
	PQfinish(c);
	return rc;
}

/* The k-th 15-minute slot from first_day 00:00 (90 a day), as the local
 * "YYYY-MM-DD HH:MM" Book wants. */
static inline void faults_slot(char *out, size_t size, const char *first_day, int k)
{
	struct tm tm = { 0 };
	int y = 0, m = 0, d = 0;

	sscanf(first_day, "%d-%d-%d", &y, &m, &d);
	tm.tm_year = y - 1900;
	tm.tm_mon = m - 1;
	tm.tm_mday = d + k / FLT_SLOTS_PER_DAY;
	tm.tm_hour = 12;
	time_t t = timegm(&tm);
	gmtime_r(&t, &tm);
	int minute = (k % FLT_SLOTS_PER_DAY) * 15;
	char text[64];
	snprintf(text, sizeof text, "%04d-%02d-%02d %02d:%02d", tm.tm_year + 1900, tm.tm_mon + 1,
		 tm.tm_mday, minute / 60, minute % 60);
	snprintf(out, size, "%.16s", text); /* "YYYY-MM-DD HH:MM" */
}

/* Book with a given request id; on FD_OK *appointment_id is the new id. */
static inline int faults_book(fd_client *c, const uint8_t id[16], int64_t patient,
			      const char *provider, const char *type, const char *at,
			      int timeout_ms, int64_t *appointment_id, fd_status *st)
{
	Frontdesk__V1__BookRequest req = FRONTDESK__V1__BOOK_REQUEST__INIT;
	ProtobufCMessage *rep = NULL;

	req.patient_id = patient;
	req.provider = (char *)provider;
	req.type = (char *)type;
	req.location = FLT_LOCATION;
	req.at = (char *)at;
	int rc = fd_client_call_with_id(c, id, "/frontdesk.v1.Scheduling/Book", &req.base,
					&frontdesk__v1__book_reply__descriptor, &rep, timeout_ms, st);
	if (rc == FD_OK) {
		Frontdesk__V1__BookReply *r = (Frontdesk__V1__BookReply *)rep;
		*appointment_id = r->appointment ? r->appointment->id : 0;
		protobuf_c_message_free_unpacked(rep, NULL);
	}
	return rc;
}

/* CheckIn (readiness overridden) with a given request id; on FD_OK
 * *visit_id is the new visit. */
static inline int faults_check_in(fd_client *c, const uint8_t id[16], int64_t appointment,
				  int timeout_ms, int64_t *visit_id, fd_status *st)
{
	Frontdesk__V1__CheckInRequest req = FRONTDESK__V1__CHECK_IN_REQUEST__INIT;
	ProtobufCMessage *rep = NULL;

	req.appointment_id = appointment;
	req.override_readiness = true;
	req.override_reason = "fault test";
	int rc = fd_client_call_with_id(c, id, "/frontdesk.v1.Checkin/CheckIn", &req.base,
					&frontdesk__v1__check_in_reply__descriptor, &rep,
					timeout_ms, st);
	if (rc == FD_OK) {
		Frontdesk__V1__CheckInReply *r = (Frontdesk__V1__CheckInReply *)rep;
		*visit_id = r->visit ? r->visit->id : 0;
		protobuf_c_message_free_unpacked(rep, NULL);
	}
	return rc;
}

/* Sends method with request under request id `id`, asking the server for a
 * budget of budget_ms while this desk waits up to wait_ms, so a
 * DEADLINE_EXCEEDED is the server's verdict, not the client giving up.
 * Returns the status code; *from_server says whether a reply came. */
static inline int faults_call_budget(fd_client *c, const uint8_t id[16], const char *method,
				     const ProtobufCMessage *request, uint32_t budget_ms,
				     int wait_ms, bool *from_server, fd_status *st)
{
	Frontdesk__V1__Reply *rep = NULL;
	fd_arena a;
	nng_msg *m;
	int code;

	*from_server = false;
	fd_arena_init(&a, 0);
	if (fd_wire_pack_request(&m, &a, id, method, budget_ms, fd_client_token(c), request) != 0) {
		fd_arena_destroy(&a);
		return fd_fail(st, FD_INTERNAL, "test bug: cannot pack %s", method);
	}
	code = fd_client_call_raw(c, nng_msg_body(m), nng_msg_len(m), &rep, wait_ms, st);
	nng_msg_free(m);
	fd_arena_destroy(&a);
	if (code == FD_OK && rep && rep->status) {
		*from_server = true;
		code = (int)rep->status->code;
		snprintf(st->message, sizeof st->message, "%s",
			 rep->status->message ? rep->status->message : "");
	}
	if (rep)
		frontdesk__v1__reply__free_unpacked(rep, NULL);
	return code;
}

/* A client with a short call budget and a long REQ resend timer, logged in
 * as user at desk; NULL when that fails. */
static inline fd_client *faults_desk(const tp_server *s, const char *user, const char *desk,
				     int timeout_ms)
{
	fd_client_options o = { .url = s->url, .timeout_ms = timeout_ms, .resend_ms = 60000 };
	fd_client *c;
	fd_status st;

	if (fd_client_open(&c, &o, &st) != FD_OK)
		return NULL;
	if (tp_login(c, user, desk) != FD_OK) {
		fd_client_close(c);
		return NULL;
	}
	return c;
}

/* "\x..." hex of a request id, for SQL. */
static inline void faults_hex(char out[33], const uint8_t id[16])
{
	fd_hex(out, 33, id, 16);
}

/* --- the suite's PostgreSQL cluster ----------------------------------- */

static inline bool faults_have_cluster(void)
{
	return getenv("FD_PGCLUSTER") && getenv("FD_PG_DIR");
}

/* pg_ctl stop -m immediate: every backend dies at once, no checkpoint, as
 * in a power cut of the database alone. As root the cluster belongs to the
 * `frontdesk` system user (see pgcluster.sh). */
static inline int faults_pg_stop_immediate(void)
{
	char cmd[1024];
	const char *dir = getenv("FD_PG_DIR");

	if (!dir)
		return -1;
	snprintf(cmd, sizeof cmd,
		 "%s /usr/lib/postgresql/15/bin/pg_ctl stop -D '%s/data' -m immediate -w -t 30 -s"
		 " >/dev/null 2>&1",
		 geteuid() == 0 ? "runuser -u frontdesk --" : "", dir);
	return system(cmd) == 0 ? 0 : -1;
}

/* Starts the cluster again with the settings it had: the suite starts it
 * with FD_PG_FAST=1, which pgcluster.sh rewrites at each start, so ask for
 * it again when the running configuration had it. */
static inline int faults_pg_start(bool fast)
{
	char cmd[1024];
	const char *tool = getenv("FD_PGCLUSTER"), *dir = getenv("FD_PG_DIR");

	if (!tool || !dir)
		return -1;
	snprintf(cmd, sizeof cmd, "%s%s start '%s' >/dev/null 2>&1", fast ? "FD_PG_FAST=1 " : "",
		 tool, dir);
	return system(cmd) == 0 ? 0 : -1;
}

/* Whether the running cluster was started with FD_PG_FAST=1 (fsync off). */
static inline bool faults_pg_is_fast(void)
{
	return tp_db_scalar("postgres", "SELECT (current_setting('fsync') = 'off')::int") == 1;
}

#endif
