/*
 * The database failing under a running server.
 *
 * A slow database: a row the handler needs is locked by another session.
 * Calls that wait on it end with DEADLINE_EXCEEDED within their budget
 * (statement_timeout comes from the call's deadline; a call whose deadline
 * passes in the queue never reaches the database) and write nothing;
 * meanwhile Ping and reads of other rows keep being answered, and once the
 * stuck calls have given up the workers serve again, with the lock still
 * held. When the lock goes, the same request id succeeds, once. A statement
 * that runs long (pg_sleep in a trigger) is cancelled at the call's deadline.
 *
 * PostgreSQL stopped with `pg_ctl stop -m immediate` under load from four
 * desks, then started again: every failed call during the outage is
 * UNAVAILABLE and none takes longer than its budget plus a second; the
 * same server process serves again by itself; and nothing it acknowledged
 * is lost or doubled (the rules of tests/support/faults_load.h). The suite's
 * cluster is restarted with the settings it had, so later tests see it as
 * before. Fast in `make test` (one stop); FD_FAULTS_LONG=1 stops it five
 * times.
 */
#include "e2e.h"
#include "faults.h"
#include "faults_load.h"

static tp_server srv;
static char db[64], first_day[16];

static bool up(void)
{
	if (srv.pid > 0)
		return true;
	if (!e2e_start(&srv, db, sizeof db, "fdb", NULL) || !faults_clinic(db, FL_DESKS) ||
	    faults_first_day(db, first_day, sizeof first_day) != 0)
		return false;
	/* Restart so every worker connection has the clinic's
	 * synchronous_commit = on (set per database by faults_clinic). */
	if (tp_server_stop(&srv) != 0)
		return false;
	return tp_server_restart(&srv, NULL) == 0;
}

/* --- a slow database ------------------------------------------------------ */

struct stuck_call {
	pthread_t thread;
	fd_client *client;
	int64_t appointment;
	int budget_ms;
	uint8_t id[16];
	int code;
	bool from_server;
	int64_t took_ms;
};

/* A check-in with a budget of budget_ms, waited for three times as long. */
static void *check_in_on_locked_row(void *arg)
{
	Frontdesk__V1__CheckInRequest req = FRONTDESK__V1__CHECK_IN_REQUEST__INIT;
	struct stuck_call *s = arg;
	fd_status st;
	int64_t t0 = fd_now_mono_ms();

	req.appointment_id = s->appointment;
	req.override_readiness = true;
	req.override_reason = "fault test";
	s->code = faults_call_budget(s->client, s->id, "/frontdesk.v1.Checkin/CheckIn", &req.base,
				     (uint32_t)s->budget_ms, 3 * s->budget_ms, &s->from_server, &st);
	s->took_ms = fd_now_mono_ms() - t0;
	return NULL;
}

static int get_appointment(fd_client *c, int64_t id, fd_status *st)
{
	Frontdesk__V1__GetAppointmentRequest req = FRONTDESK__V1__GET_APPOINTMENT_REQUEST__INIT;
	ProtobufCMessage *rep = NULL;

	req.appointment_id = id;
	int rc = tp_call(c, &frontdesk__v1__scheduling__descriptor, "GetAppointment", &req.base, &rep,
			 st);
	if (rep)
		protobuf_c_message_free_unpacked(rep, NULL);
	return rc;
}

/* Starts n check-ins of the locked appointment, each from its own desk
 * client, and waits for them all. */
static void run_stuck_calls(struct stuck_call *calls, int n, fd_client *other, int64_t other_row,
			    int *reads_ok, int *pings_ok)
{
	fd_status st;

	for (int i = 0; i < n; i++)
		pthread_create(&calls[i].thread, NULL, check_in_on_locked_row, &calls[i]);
	/* While they wait: Ping is answered without the database, and a read
	 * of another row gets a worker when one is free. */
	e2e_sleep_ms(100);
	for (int i = 0; i < 5; i++) {
		*pings_ok += call_ping(other, &st) == FD_OK;
		*reads_ok += get_appointment(other, other_row, &st) == FD_OK;
	}
	for (int i = 0; i < n; i++)
		pthread_join(calls[i].thread, NULL);
}

static void a_locked_row_ends_in_deadline_exceeded_and_other_calls_keep_going(void)
{
	enum { FEW = 2, MANY = 6 }; /* the server has 3 workers */
	struct stuck_call calls[MANY];
	int64_t patients[2], appts[2];
	int budget = faults_slack(1500), slack = faults_slack(1000);
	int reads_ok = 0, pings_ok = 0;
	fd_status st;

	CHECK(up());
	CHECK(faults_patients(db, 2, patients) == 0);
	CHECK(faults_appointments_today(db, 2, patients, appts) == 0);
	fd_client *other = faults_desk(&srv, "reception2", "flt-2", faults_slack(10000));
	CHECK(other != NULL);
	for (int i = 0; i < MANY; i++) {
		calls[i] = (struct stuck_call){ .appointment = appts[0], .budget_ms = budget };
		calls[i].client = faults_desk(&srv, "reception1", "flt-1", faults_slack(10000));
		CHECK(calls[i].client != NULL);
		fd_request_id_new(calls[i].id);
	}

	PGconn *locker = tp_db_connect(db);
	char sql[160];
	snprintf(sql, sizeof sql, "BEGIN; SELECT 1 FROM appointments WHERE id = %lld FOR UPDATE",
		 (long long)appts[0]);
	PGresult *r = PQexec(locker, sql);
	bool locked = PQresultStatus(r) == PGRES_TUPLES_OK;
	PQclear(r);
	CHECK(locked);

	/* Fewer stuck calls than workers: reads of other rows go on at once. */
	run_stuck_calls(calls, FEW, other, appts[1], &reads_ok, &pings_ok);
	CHECK_INT(pings_ok, 5);
	CHECK_INT(reads_ok, 5);
	/* More stuck calls than workers: every one ends within its budget. */
	run_stuck_calls(calls + FEW, MANY - FEW, other, appts[1], &reads_ok, &pings_ok);
	int64_t longest = 0;
	for (int i = 0; i < MANY; i++) {
		CHECK_MSG(calls[i].code == FD_DEADLINE_EXCEEDED && calls[i].from_server,
			  "stuck call %d: %s (%s)", i, fd_code_name(calls[i].code),
			  calls[i].from_server ? "the server's answer" : "no answer");
		CHECK_MSG(calls[i].took_ms <= budget + slack, "stuck call %d took %lld ms", i,
			  (long long)calls[i].took_ms);
		if (calls[i].took_ms > longest)
			longest = calls[i].took_ms;
	}
	CHECK_INT(pings_ok, 10);
	/* Nothing of them was written, and the workers are free again while
	 * the lock is still held. */
	CHECK(faults_scalar(db, "SELECT count(*) FROM visits WHERE appointment_id = %lld",
			    (long long)appts[0]) == 0);
	for (int i = 0; i < MANY; i++) {
		char hex[33];
		faults_hex(hex, calls[i].id);
		CHECK(faults_scalar(db, "SELECT count(*) FROM idempotent_replies WHERE request_id ="
					" '\\x%s'", hex) == 0);
	}
	CHECK_INT(get_appointment(other, appts[1], &st), FD_OK);

	r = PQexec(locker, "ROLLBACK");
	PQclear(r);
	PQfinish(locker);
	/* The lock is gone: a desk retrying with its request id checks in once. */
	int64_t visit = 0;
	CHECK_INT(faults_check_in(calls[0].client, calls[0].id, appts[0], 0, &visit, &st), FD_OK);
	CHECK_INT(faults_check_in(calls[0].client, calls[0].id, appts[0], 0, &visit, &st), FD_OK);
	CHECK(faults_scalar(db, "SELECT count(*) FROM visits WHERE appointment_id = %lld",
			    (long long)appts[0]) == 1);
	printf("    figures: %d calls stuck on a locked row (budget %d ms) ended in %lld ms at"
	       " most; %d reads and %d pings answered meanwhile\n",
	       MANY, budget, (long long)longest, reads_ok, pings_ok);
	for (int i = 0; i < MANY; i++)
		fd_client_close(calls[i].client);
	fd_client_close(other);
}

/* A statement that runs long (pg_sleep in a trigger on this test database
 * only, for one patient): statement_timeout from the call's deadline cancels
 * it, the desk hears DEADLINE_EXCEEDED within its budget, the booking is
 * rolled back whole, and the worker is free for the next call at once. */
static void a_slow_statement_is_cancelled_at_the_call_deadline(void)
{
	int64_t slow_patient, quick_patient, id_unused = 0;
	int budget = faults_slack(1000), slack = faults_slack(1000);
	char at[24];
	uint8_t id[16];
	fd_status st;

	CHECK(up());
	CHECK(faults_patients(db, 1, &slow_patient) == 0);
	CHECK(faults_patients(db, 1, &quick_patient) == 0);
	CHECK(faults_sql(db,
			 "CREATE FUNCTION fault_slow_booking() RETURNS trigger LANGUAGE plpgsql AS $$"
			 " BEGIN IF NEW.patient_id = %lld THEN PERFORM pg_sleep(30); END IF;"
			 " RETURN NEW; END $$;"
			 "CREATE TRIGGER fault_slow_booking BEFORE INSERT ON appointments"
			 " FOR EACH ROW EXECUTE FUNCTION fault_slow_booking()",
			 (long long)slow_patient) == 0);
	fd_client *desk = faults_desk(&srv, "reception1", "flt-1", faults_slack(10000));
	CHECK(desk != NULL);
	faults_slot(at, sizeof at, first_day, 20 * FLT_SLOTS_PER_DAY);
	fd_request_id_new(id);
	Frontdesk__V1__BookRequest req = FRONTDESK__V1__BOOK_REQUEST__INIT;
	req.patient_id = slow_patient;
	req.provider = "fp2";
	req.type = FLT_TYPE;
	req.location = FLT_LOCATION;
	req.at = at;
	bool from_server;
	int64_t t0 = fd_now_mono_ms();
	int rc = faults_call_budget(desk, id, "/frontdesk.v1.Scheduling/Book", &req.base,
				    (uint32_t)budget, 5 * budget, &from_server, &st);
	int64_t took = fd_now_mono_ms() - t0;
	CHECK_MSG(rc == FD_DEADLINE_EXCEEDED && from_server, "the slow booking got %s (%s)",
		  fd_code_name(rc), from_server ? "the server's answer" : "no answer");
	CHECK_MSG(took <= budget + slack, "the slow booking took %lld ms", (long long)took);
	CHECK(faults_scalar(db, "SELECT count(*) FROM appointments WHERE patient_id = %lld",
			    (long long)slow_patient) == 0);
	/* Cancelled, not left running: no backend of this database sleeps. */
	CHECK(faults_scalar(db, "SELECT count(*) FROM pg_stat_activity WHERE datname ="
				" current_database() AND wait_event = 'PgSleep'") == 0);
	/* The same slot, another patient: the worker and the slot are free. */
	fd_request_id_new(id);
	CHECK_INT(faults_book(desk, id, quick_patient, "fp2", FLT_TYPE, at, budget, &id_unused, &st),
		  FD_OK);
	CHECK(faults_sql(db, "DROP TRIGGER fault_slow_booking ON appointments;"
			     " DROP FUNCTION fault_slow_booking()") == 0);
	printf("    figures: a 30 s statement cancelled after %lld ms (budget %d ms)\n",
	       (long long)took, budget);
	fd_client_close(desk);
}

/* --- PostgreSQL stopped hard ----------------------------------------------- */

/* Waits until an authenticated call succeeds again (the server reconnected
 * by itself); false after 30 s. */
static bool serves_again(fd_client *c)
{
	fd_status st;

	for (int i = 0; i < 300; i++) {
		if (call_whoami(c, &st) == FD_OK)
			return true;
		e2e_sleep_ms(100);
	}
	return false;
}

static void an_immediate_database_stop_fails_fast_and_loses_nothing_acknowledged(void)
{
	struct fl_desk desks[FL_DESKS];
	int stops = faults_pick(1, 5), cap = faults_long() ? 4000 : 400, resent = 0;
	int budget = faults_slack(3000), slack = faults_slack(1000);
	int outages = 0, back = 0;

	CHECK_MSG(faults_have_cluster(), "run through tests/run.sh, which says where the cluster is");
	CHECK(up());
	bool fast = faults_pg_is_fast();
	fd_client *watcher = faults_desk(&srv, "admin", "flt-5", faults_slack(5000));
	CHECK(watcher != NULL);
	memset(desks, 0, sizeof desks);
	fl.db = db;
	fl.first_day = first_day;
	fl.call_ms = budget;
	atomic_store(&fl.stop, false);
	for (int i = 0; i < FL_DESKS; i++)
		CHECK(fl_desk_setup(&desks[i], &srv, i, cap));
	for (int i = 0; i < FL_DESKS; i++)
		pthread_create(&desks[i].thread, NULL, fl_desk_run, &desks[i]);

	for (int k = 0; k < stops; k++) {
		e2e_sleep_ms(500);
		if (faults_pg_stop_immediate() != 0)
			break;
		outages++;
		e2e_sleep_ms(1500); /* the desks keep calling into the outage */
		/* Always started again, whatever happens next: the rest of the
		 * suite shares this cluster. */
		if (faults_pg_start(fast) != 0)
			break;
		if (!serves_again(watcher))
			break;
		back++;
	}
	e2e_sleep_ms(500);
	atomic_store(&fl.stop, true);
	for (int i = 0; i < FL_DESKS; i++)
		pthread_join(desks[i].thread, NULL);
	CHECK_INT(outages, stops);
	CHECK_MSG(back == stops, "the server did not serve again by itself after outage %d", back + 1);
	CHECK_MSG(faults_pg_is_fast() == fast, "the cluster came back with other settings");

	struct fl_totals t = fl_count(desks);
	for (int k = 0; k < FL_DESKS; k++)
		CHECK_MSG(desks[k].refused == 0, "desk %s was refused: %s", desks[k].desk,
			  desks[k].refusal);
	CHECK_MSG(t.unavailable > 0, "no call noticed the outage");
	CHECK_MSG(t.other_code == 0, "a failed call said %s, not UNAVAILABLE",
		  fd_code_name(t.other_code));
	CHECK_MSG(t.longest_failure_ms <= budget + slack, "a failed call took %lld ms (budget %d)",
		  (long long)t.longest_failure_ms, budget);
	CHECK(fl_record(desks));
	CHECK(fl_rules_hold("after the database came back"));
	CHECK(fl_resend_everything(desks, &srv, &resent));
	CHECK(fl_record(desks));
	CHECK(fl_rules_hold("after resending every request"));
	CHECK(fl_all_done_once());
	printf("    figures: %d immediate stops, writes %d (acknowledged %d), failed calls %d"
	       " (all UNAVAILABLE), longest failed call %lld ms (budget %d ms), resent %d\n",
	       outages, t.writes, t.acked, t.failed, (long long)t.longest_failure_ms, budget,
	       resent);
	for (int i = 0; i < FL_DESKS; i++)
		fl_desk_free(&desks[i]);
	fd_client_close(watcher);
}

static void the_server_exits_cleanly(void)
{
	CHECK(up());
	e2e_stop(&srv);
}

TH_MAIN(TH_CASE(a_locked_row_ends_in_deadline_exceeded_and_other_calls_keep_going),
	TH_CASE(a_slow_statement_is_cancelled_at_the_call_deadline),
	TH_CASE(an_immediate_database_stop_fails_fast_and_loses_nothing_acknowledged),
	TH_CASE(the_server_exits_cleanly))
