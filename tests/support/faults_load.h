/*
 * Desks at work while something breaks (the kill -9 and database-stop tests,
 * see docs/RELIABILITY.md): FL_DESKS threads, each with its own client and
 * staff session, alternately book an appointment (each desk for its own
 * provider, on its own slots, for a fresh patient) and check in one of its
 * own appointments of today. A write is resent with the same request id until
 * the server answers it, as a desk does, and every third one is sent once
 * more right after its answer; when told to stop, a desk leaves its last
 * write unanswered. Every write and its outcome is kept in memory, then
 * copied into a table fault_ops of the test database so that the rules below
 * are checked with a few set-based queries, however many writes there were.
 *
 * Include once per test binary, after faults.h. The desks share the
 * binary's globals below (one load at a time).
 */
#ifndef FD_TEST_FAULTS_LOAD_H
#define FD_TEST_FAULTS_LOAD_H

#include <stdatomic.h>

#include "faults.h"

enum { FL_DESKS = 4 };
enum fl_kind { FL_BOOK, FL_CHECK_IN };
enum fl_state { FL_PENDING, FL_ACKED, FL_REFUSED };

/* One write a desk attempted. */
struct fl_op {
	enum fl_kind kind;
	enum fl_state state;
	uint8_t id[16];
	int64_t patient;      /* book: the (fresh) patient */
	int64_t appointment;  /* check-in: the appointment */
	char at[24];          /* book: the slot */
	const char *provider; /* book: the desk's own provider */
	int64_t result;       /* the id the server answered */
	int attempts;
};

struct fl_desk {
	pthread_t thread;
	const char *user, *desk, *provider;
	fd_client *client;
	char token[128];
	struct fl_op *ops;
	int n_ops, cap;
	int64_t *patients, *appointments; /* cap/2 + 1 each */
	int refused;
	char refusal[256];
	/* Failed attempts: how many, how many said UNAVAILABLE, any other
	 * code seen, and the longest one (ms). */
	int failed, unavailable, other_code;
	int64_t longest_failure_ms;
};

static struct fl_load {
	const char *db;
	const char *first_day;
	int call_ms;
	atomic_bool stop;
	atomic_int acked; /* acknowledged writes so far, all desks */
} fl;

static inline bool fl_transient(int code)
{
	return code == FD_UNAVAILABLE || code == FD_DEADLINE_EXCEEDED || code == FD_ABORTED ||
	       code == FD_RESOURCE_EXHAUSTED || code == FD_CANCELLED;
}

static inline int fl_send(fd_client *c, struct fl_op *o, int timeout_ms, int64_t *result,
			  fd_status *st)
{
	o->attempts++;
	if (o->kind == FL_BOOK)
		return faults_book(c, o->id, o->patient, o->provider, FLT_TYPE, o->at, timeout_ms,
				   result, st);
	return faults_check_in(c, o->id, o->appointment, timeout_ms, result, st);
}

static inline void fl_prepare(struct fl_desk *d, int i)
{
	struct fl_op *o = &d->ops[i];

	memset(o, 0, sizeof *o);
	o->kind = i % 2 ? FL_CHECK_IN : FL_BOOK;
	fd_request_id_new(o->id);
	if (o->kind == FL_BOOK) {
		o->patient = d->patients[i / 2];
		o->provider = d->provider;
		faults_slot(o->at, sizeof o->at, fl.first_day, i / 2);
	} else {
		o->appointment = d->appointments[i / 2];
	}
}

static inline void fl_note_failure(struct fl_desk *d, int rc, int64_t took_ms)
{
	d->failed++;
	if (rc == FD_UNAVAILABLE)
		d->unavailable++;
	else
		d->other_code = rc;
	if (took_ms > d->longest_failure_ms)
		d->longest_failure_ms = took_ms;
}

/* Every third write is sent again at once with its id, as a desk does when
 * it is unsure its call went through, whatever the server is going through
 * meanwhile: an answer must name the same row (no answer is fine). */
static inline void fl_resend_at_once(struct fl_desk *d, int i)
{
	struct fl_op *o = &d->ops[i];
	fd_status st;
	int64_t again = 0;

	if (i % 3 != 2)
		return;
	int rc = fl_send(d->client, o, fl.call_ms, &again, &st);
	if (rc == FD_OK && again != o->result) {
		d->refused++;
		snprintf(d->refusal, sizeof d->refusal,
			 "write %d resent with its id answered %lld, first %lld", i,
			 (long long)again, (long long)o->result);
	} else if (rc != FD_OK && !fl_transient(rc)) {
		d->refused++;
		snprintf(d->refusal, sizeof d->refusal, "write %d resent: %s: %.180s", i,
			 fd_code_name(rc), st.message);
	}
}

/* The desk's thread: a refusal is a failure of the test (no two desks share
 * a slot or an appointment). */
static inline void *fl_desk_run(void *arg)
{
	struct fl_desk *d = arg;

	for (int i = 0; i < d->cap && !atomic_load(&fl.stop); i++) {
		struct fl_op *o = &d->ops[i];
		fd_status st;
		int64_t result = 0;

		fl_prepare(d, i);
		d->n_ops = i + 1;
		for (;;) {
			int64_t t0 = fd_now_mono_ms();
			int rc = fl_send(d->client, o, fl.call_ms, &result, &st);
			if (rc == FD_OK) {
				o->result = result;
				o->state = FL_ACKED;
				atomic_fetch_add(&fl.acked, 1);
				fl_resend_at_once(d, i);
				break;
			}
			fl_note_failure(d, rc, fd_now_mono_ms() - t0);
			if (!fl_transient(rc)) {
				o->state = FL_REFUSED;
				d->refused++;
				snprintf(d->refusal, sizeof d->refusal, "%s: %.200s",
					 fd_code_name(rc), st.message);
				break;
			}
			if (atomic_load(&fl.stop))
				break;
			e2e_sleep_ms(20);
		}
	}
	return NULL;
}

static const char *const fl_users[FL_DESKS] = { "reception1", "reception2", "nurse1", "admin" };
static const char *const fl_desk_codes[FL_DESKS] = { "flt-1", "flt-2", "flt-3", "flt-4" };
static const char *const fl_providers[FL_DESKS] = { "fp1", "fp2", "fp3", "fp4" };

/* Desk i (0..FL_DESKS-1) with room for cap writes, logged in to s. */
static inline bool fl_desk_setup(struct fl_desk *d, const tp_server *s, int i, int cap)
{
	memset(d, 0, sizeof *d);
	d->user = fl_users[i];
	d->desk = fl_desk_codes[i];
	d->provider = fl_providers[i];
	d->cap = cap;
	d->ops = calloc((size_t)cap, sizeof *d->ops);
	d->patients = calloc((size_t)cap / 2 + 1, sizeof *d->patients);
	d->appointments = calloc((size_t)cap / 2 + 1, sizeof *d->appointments);
	int64_t *visit_patients = calloc((size_t)cap / 2 + 1, sizeof *visit_patients);
	bool ok = d->ops && d->patients && d->appointments && visit_patients &&
		  faults_patients(fl.db, cap / 2 + 1, d->patients) == 0 &&
		  faults_patients(fl.db, cap / 2 + 1, visit_patients) == 0 &&
		  faults_appointments_today(fl.db, cap / 2 + 1, visit_patients, d->appointments) == 0;
	free(visit_patients);
	if (!ok)
		return false;
	d->client = faults_desk(s, d->user, d->desk, fl.call_ms);
	if (!d->client)
		return false;
	snprintf(d->token, sizeof d->token, "%s", fd_client_token(d->client));
	return true;
}

static inline void fl_desk_free(struct fl_desk *d)
{
	if (d->client)
		fd_client_close(d->client);
	free(d->ops);
	free(d->patients);
	free(d->appointments);
	d->client = NULL;
	d->ops = NULL;
	d->patients = d->appointments = NULL;
}

/* Waits (at most 20 s) until the desks have had n more writes acknowledged
 * than `since`: a fault is then injected into a server at work, not into
 * one the desks have not reconnected to yet. */
static inline bool fl_wait_for_writes(int since, int n)
{
	for (int waited = 0; waited < faults_slack(20000); waited += 10) {
		if (atomic_load(&fl.acked) >= since + n)
			return true;
		e2e_sleep_ms(10);
	}
	return false;
}

/* Copies every op of every desk into fault_ops (replacing what was there). */
static inline bool fl_record(struct fl_desk *desks)
{
	if (faults_sql(fl.db, "DROP TABLE IF EXISTS fault_ops; CREATE TABLE fault_ops (kind text,"
			      " state text, request_id bytea, patient bigint, appointment bigint,"
			      " result bigint)") != 0)
		return false;
	for (int k = 0; k < FL_DESKS; k++) {
		struct fl_desk *d = &desks[k];
		for (int i = 0; i < d->n_ops; i += 200) {
			size_t size = 200 * 160 + 128, len = 0;
			char *sql = malloc(size);
			if (!sql)
				return false;
			len += (size_t)snprintf(sql, size, "INSERT INTO fault_ops VALUES ");
			for (int j = i; j < d->n_ops && j < i + 200; j++) {
				const struct fl_op *o = &d->ops[j];
				char hex[33];
				faults_hex(hex, o->id);
				len += (size_t)snprintf(
					sql + len, size - len, "%s('%s', '%s', '\\x%s', %lld, %lld, %lld)",
					j == i ? "" : ",", o->kind == FL_BOOK ? "book" : "check_in",
					o->state == FL_ACKED	 ? "acked"
					: o->state == FL_PENDING ? "pending"
								 : "refused",
					hex, (long long)o->patient, (long long)o->appointment,
					(long long)o->result);
			}
			int rc = tp_db_exec(fl.db, sql);
			free(sql);
			if (rc != 0)
				return false;
		}
	}
	return true;
}

/* Each query counts violations of one rule; all must be 0. */
static const struct fl_rule {
	const char *name, *sql;
} fl_rules[] = {
	{ "an acknowledged booking is there once, with the id the desk was told",
	  "SELECT count(*) FROM fault_ops o WHERE o.kind = 'book' AND o.state = 'acked' AND"
	  " ((SELECT count(*) FROM appointments a WHERE a.patient_id = o.patient) <> 1 OR"
	  "  NOT EXISTS (SELECT 1 FROM appointments a WHERE a.id = o.result"
	  "   AND a.patient_id = o.patient))" },
	{ "an acknowledged check-in is there once, with the id the desk was told",
	  "SELECT count(*) FROM fault_ops o WHERE o.kind = 'check_in' AND o.state = 'acked' AND"
	  " ((SELECT count(*) FROM visits v WHERE v.appointment_id = o.appointment) <> 1 OR"
	  "  NOT EXISTS (SELECT 1 FROM visits v WHERE v.id = o.result"
	  "   AND v.appointment_id = o.appointment))" },
	{ "no write happened twice",
	  "SELECT (SELECT count(*) FROM (SELECT patient_id FROM appointments a JOIN fault_ops o"
	  "  ON o.kind = 'book' AND o.patient = a.patient_id GROUP BY patient_id"
	  "  HAVING count(*) > 1) x)"
	  " + (SELECT count(*) FROM (SELECT appointment_id FROM visits v JOIN fault_ops o"
	  "  ON o.kind = 'check_in' AND o.appointment = v.appointment_id GROUP BY appointment_id"
	  "  HAVING count(*) > 1) y)" },
	{ "each write is all or nothing: effect, stored reply and audit row together",
	  "SELECT count(*) FROM (SELECT o.*,"
	  "  CASE o.kind WHEN 'book' THEN EXISTS (SELECT 1 FROM appointments a"
	  "    WHERE a.patient_id = o.patient)"
	  "  ELSE EXISTS (SELECT 1 FROM visits v WHERE v.appointment_id = o.appointment) END AS done,"
	  "  EXISTS (SELECT 1 FROM idempotent_replies r WHERE r.request_id = o.request_id"
	  "    AND r.reply IS NOT NULL) AS stored,"
	  "  EXISTS (SELECT 1 FROM audit_log l WHERE l.request_id = o.request_id"
	  "    AND l.outcome = 'OK') AS audited FROM fault_ops o) x"
	  " WHERE done <> stored OR done <> audited" },
	{ "no claimed request id is left without its reply",
	  "SELECT count(*) FROM idempotent_replies WHERE reply IS NULL" },
	{ "no appointment without its history row",
	  "SELECT count(*) FROM appointments a WHERE NOT EXISTS (SELECT 1 FROM appointment_history h"
	  " WHERE h.appointment_id = a.id)" },
	{ "no visit without its first step",
	  "SELECT count(*) FROM visits v WHERE NOT EXISTS (SELECT 1 FROM visit_steps s"
	  " WHERE s.visit_id = v.id AND s.from_status IS NULL)" },
	{ "a checked-in appointment says so",
	  "SELECT count(*) FROM visits v JOIN appointments a ON a.id = v.appointment_id"
	  " JOIN fault_ops o ON o.kind = 'check_in' AND o.appointment = a.id"
	  " WHERE a.status <> 'checked_in'" },
};

static inline bool fl_rules_hold(const char *when)
{
	bool ok = true;

	for (size_t i = 0; i < sizeof fl_rules / sizeof fl_rules[0]; i++) {
		long long bad = tp_db_scalar(fl.db, fl_rules[i].sql);
		if (bad != 0) {
			th_fail(__FILE__, __LINE__, "%s: %s (%lld violations)", when,
				fl_rules[i].name, bad);
			ok = false;
		}
	}
	return ok;
}

/* Resends every write with its own id, answered or not: unanswered ones act
 * now if they never did, and every answer must name the same row as the
 * first. Counts the resends in *resent. */
static inline bool fl_resend_everything(struct fl_desk *desks, const tp_server *s, int *resent)
{
	for (int k = 0; k < FL_DESKS; k++) {
		struct fl_desk *d = &desks[k];
		fd_client *c = faults_desk(s, d->user, d->desk, faults_slack(10000));
		if (!c)
			return false;
		fd_client_set_token(c, d->token); /* the session the writes were made in */
		for (int i = 0; i < d->n_ops; i++) {
			struct fl_op *o = &d->ops[i];
			fd_status st;
			int64_t result = 0;
			int rc = fl_send(c, o, 0, &result, &st);
			if (rc != FD_OK) {
				th_fail(__FILE__, __LINE__, "resend of %s %d: %s %s",
					o->kind == FL_BOOK ? "booking" : "check-in", i,
					fd_code_name(rc), st.message);
				fd_client_close(c);
				return false;
			}
			if (o->state == FL_ACKED && result != o->result) {
				th_fail(__FILE__, __LINE__, "resend answered %lld, first answer %lld",
					(long long)result, (long long)o->result);
				fd_client_close(c);
				return false;
			}
			o->state = FL_ACKED;
			o->result = result;
			(*resent)++;
		}
		fd_client_close(c);
	}
	return true;
}

/* Every write of fault_ops happened exactly once. */
static inline bool fl_all_done_once(void)
{
	return faults_scalar(fl.db, "SELECT count(*) FROM appointments a JOIN fault_ops o"
				    " ON o.kind = 'book' AND o.patient = a.patient_id") ==
		       faults_scalar(fl.db, "SELECT count(*) FROM fault_ops WHERE kind = 'book'") &&
	       faults_scalar(fl.db, "SELECT count(*) FROM visits v JOIN fault_ops o"
				    " ON o.kind = 'check_in' AND o.appointment = v.appointment_id") ==
		       faults_scalar(fl.db, "SELECT count(*) FROM fault_ops WHERE kind = 'check_in'");
}

struct fl_totals {
	int writes, acked, pending, refused, calls, failed, unavailable, other_code;
	int64_t longest_failure_ms;
};

static inline struct fl_totals fl_count(const struct fl_desk *desks)
{
	struct fl_totals t = { 0 };

	for (int k = 0; k < FL_DESKS; k++) {
		const struct fl_desk *d = &desks[k];
		for (int i = 0; i < d->n_ops; i++) {
			t.writes++;
			t.calls += d->ops[i].attempts;
			t.acked += d->ops[i].state == FL_ACKED;
			t.pending += d->ops[i].state == FL_PENDING;
			t.refused += d->ops[i].state == FL_REFUSED;
		}
		t.failed += d->failed;
		t.unavailable += d->unavailable;
		if (d->other_code)
			t.other_code = d->other_code;
		if (d->longest_failure_ms > t.longest_failure_ms)
			t.longest_failure_ms = d->longest_failure_ms;
	}
	return t;
}

#endif
