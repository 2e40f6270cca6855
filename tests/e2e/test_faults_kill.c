/*
 * The server killed with SIGKILL under load, again and again: four desks
 * (threads, each with its own client and session) book appointments and
 * check patients in while the test kills frontdeskd at random moments and
 * starts it again. Each desk keeps resending a call with the same request id
 * until it is answered, as a real desk does, and records every write the
 * server acknowledged. At the end the server is killed once more and left
 * down long enough that calls in flight are never answered.
 *
 * Then, in the database: every acknowledged write is there exactly once,
 * with the id the desk was told; every write, answered or not, is all or
 * nothing (the appointment with its history row, its stored reply and its
 * audit row; the visit with its first step); and after a restart, resending
 * every request with its original id creates nothing twice.
 *
 * A second case kills the server between COMMIT and the reply (the
 * FRONTDESK_FAULT point in server/dispatch.c): the desk's automatic resend
 * to the restarted server gets the stored reply, and there is one row.
 *
 * Fast in `make test` (3 kills); `make test-faults` sets FD_FAULTS_LONG=1
 * for 30 kills. See docs/RELIABILITY.md.
 */
#include <signal.h>
#include <sys/wait.h>

#include "e2e.h"
#include "faults.h"
#include "faults_load.h"

static tp_server srv;
static char db[64], first_day[16];

static int random_ms(int lo, int hi)
{
	return lo + rand() % (hi - lo + 1);
}

static void acknowledged_writes_survive_repeated_kills_exactly_once(void)
{
	struct fl_desk desks[FL_DESKS];
	int kills = faults_pick(3, 30), cap = faults_long() ? 3000 : 600, resent = 0;

	srand((unsigned)getpid());
	memset(desks, 0, sizeof desks);
	CHECK(e2e_start(&srv, db, sizeof db, "fkill", NULL));
	CHECK(faults_clinic(db, FL_DESKS));
	CHECK(faults_first_day(db, first_day, sizeof first_day) == 0);
	fl.db = db;
	fl.first_day = first_day;
	fl.call_ms = faults_slack(2000);
	for (int i = 0; i < FL_DESKS; i++)
		CHECK(fl_desk_setup(&desks[i], &srv, i, cap));
	for (int i = 0; i < FL_DESKS; i++)
		pthread_create(&desks[i].thread, NULL, fl_desk_run, &desks[i]);

	/* Each kill comes once the desks are busy again: some writes
	 * answered since the restart, then a random moment. */
	int survived = 0, busy = 0;
	for (int k = 0; k < kills; k++) {
		busy += fl_wait_for_writes(atomic_load(&fl.acked), 8);
		e2e_sleep_ms(random_ms(0, 400));
		tp_server_kill(&srv);
		e2e_sleep_ms(random_ms(0, 300)); /* desks resend into the void */
		if (tp_server_restart(&srv, NULL) != 0)
			break;
		survived++;
	}
	/* The last kill stays down past every call's budget: what was in
	 * flight is never answered. */
	busy += fl_wait_for_writes(atomic_load(&fl.acked), 8);
	e2e_sleep_ms(random_ms(0, 400));
	tp_server_kill(&srv);
	atomic_store(&fl.stop, true);
	for (int i = 0; i < FL_DESKS; i++)
		pthread_join(desks[i].thread, NULL);
	CHECK_INT(survived, kills);
	CHECK_MSG(busy == kills + 1, "the desks stalled: only %d of %d kills came under load", busy,
		  kills + 1);

	for (int k = 0; k < FL_DESKS; k++)
		CHECK_MSG(desks[k].refused == 0, "desk %s was refused: %s", desks[k].desk,
			  desks[k].refusal);
	struct fl_totals t = fl_count(desks);
	CHECK(t.acked > 0);
	CHECK(fl_record(desks));
	CHECK(fl_rules_hold("after the last kill"));

	CHECK(tp_server_restart(&srv, NULL) == 0);
	CHECK(fl_resend_everything(desks, &srv, &resent));
	CHECK(fl_record(desks));
	CHECK(fl_rules_hold("after resending every request"));
	CHECK(fl_all_done_once());
	printf("    figures: kills survived %d, writes %d (acknowledged %d, unanswered at the"
	       " last kill %d), desk calls %d, resent after restart %d\n",
	       survived + 1, t.writes, t.acked, t.pending, t.calls, resent);
	for (int i = 0; i < FL_DESKS; i++)
		fl_desk_free(&desks[i]);
	e2e_stop(&srv);
}

/* --- a crash between COMMIT and the reply ----------------------------- */

struct pending_book {
	pthread_t thread;
	fd_client *client;
	uint8_t id[16];
	int64_t patient;
	char at[24];
	int code;
	int64_t appointment;
	char message[256];
};

static void *book_once(void *arg)
{
	struct pending_book *b = arg;
	fd_status st;

	b->code = faults_book(b->client, b->id, b->patient, "fp1", FLT_TYPE, b->at, 0,
			      &b->appointment, &st);
	snprintf(b->message, sizeof b->message, "%s", st.message);
	return NULL;
}

/* Waits up to ms for the server to die; true when SIGKILL ended it. */
static bool server_died_by_sigkill(tp_server *s, int ms)
{
	for (int waited = 0; waited < ms; waited += 20) {
		int status;
		if (waitpid(s->pid, &status, WNOHANG) == s->pid) {
			s->pid = 0;
			return WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL;
		}
		e2e_sleep_ms(20);
	}
	return false;
}

static void a_crash_after_commit_is_answered_from_the_stored_reply(void)
{
	struct pending_book b = { 0 };
	char hex[33];
	tp_server crashy = { 0 };
	fd_client_options o = { .timeout_ms = faults_slack(20000), .resend_ms = 60000 };
	fd_status st;

	if (!db[0]) {
		CHECK(e2e_start(&srv, db, sizeof db, "fkill", NULL));
		CHECK(faults_clinic(db, FL_DESKS));
		CHECK(faults_first_day(db, first_day, sizeof first_day) == 0);
		e2e_stop(&srv);
	}
	setenv("FRONTDESK_FAULT", "crash_after_commit:Book", 1);
	int started = tp_server_start(&crashy, db, NULL);
	unsetenv("FRONTDESK_FAULT");
	CHECK(started == 0);

	o.url = crashy.url;
	CHECK(fd_client_open(&b.client, &o, &st) == FD_OK);
	CHECK_INT(tp_login(b.client, "reception1", "flt-1"), FD_OK);
	CHECK(faults_patients(db, 1, &b.patient) == 0);
	faults_slot(b.at, sizeof b.at, first_day, 7 * FLT_SLOTS_PER_DAY + 3);
	fd_request_id_new(b.id);
	faults_hex(hex, b.id);
	pthread_create(&b.thread, NULL, book_once, &b);

	bool died = server_died_by_sigkill(&crashy, faults_slack(10000));
	if (!died) {
		pthread_join(b.thread, NULL);
		tp_server_kill(&crashy);
		fd_client_close(b.client);
		CHECK_MSG(died, "the fault point did not crash the server (call: %s)",
			  fd_code_name(b.code));
	}
	/* Committed, unanswered: one appointment, its reply stored. */
	CHECK(faults_scalar(db, "SELECT count(*) FROM appointments WHERE patient_id = %lld",
			    (long long)b.patient) == 1);
	CHECK(faults_scalar(db, "SELECT count(*) FROM idempotent_replies WHERE request_id = '\\x%s'"
				" AND reply IS NOT NULL", hex) == 1);

	/* Back without the fault: the desk's REQ socket resends on reconnect. */
	int restarted = tp_server_restart(&crashy, NULL);
	pthread_join(b.thread, NULL);
	fd_client_close(b.client);
	CHECK(restarted == 0);
	CHECK_MSG(b.code == FD_OK, "the resend got %s: %s", fd_code_name(b.code), b.message);
	CHECK(b.appointment == faults_scalar(db, "SELECT id FROM appointments WHERE patient_id = %lld",
					     (long long)b.patient));
	CHECK(faults_scalar(db, "SELECT count(*) FROM appointments WHERE patient_id = %lld",
			    (long long)b.patient) == 1);
	CHECK(faults_scalar(db, "SELECT count(*) FROM audit_log WHERE request_id = '\\x%s'"
				" AND outcome = 'OK'", hex) == 1);
	e2e_stop(&crashy);
}

TH_MAIN(TH_CASE(acknowledged_writes_survive_repeated_kills_exactly_once),
	TH_CASE(a_crash_after_commit_is_answered_from_the_stored_reply))
