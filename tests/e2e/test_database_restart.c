/*
 * PostgreSQL going away under a running server: calls fail fast with
 * UNAVAILABLE (no hang), Health reports the database down, and once
 * PostgreSQL is back the same server process serves again and tells desks
 * to resynchronise, since notifications may have been missed meanwhile.
 * Stops and restarts the suite's shared cluster, so it runs alone.
 */
#include "e2e.h"

/* Whether the suite's cluster runs with fsync off (FD_PG_FAST=1, which
 * pgcluster.sh applies at each start): a restart must keep it so, or every
 * later test would run against a slower cluster. */
static bool cluster_fast;

static int cluster(const char *verb)
{
	const char *tool = getenv("FD_PGCLUSTER"), *dir = getenv("FD_PG_DIR");
	char cmd[1024];

	if (!tool || !dir)
		return -1;
	if (strcmp(verb, "stop") == 0)
		cluster_fast = tp_db_scalar("postgres",
					    "SELECT (current_setting('fsync') = 'off')::int") == 1;
	snprintf(cmd, sizeof cmd, "%s%s %s %s >/dev/null 2>&1",
		 cluster_fast && strcmp(verb, "start") == 0 ? "FD_PG_FAST=1 " : "", tool, verb, dir);
	return system(cmd) == 0 ? 0 : -1;
}

static bool ping_says_database_up(fd_client *c)
{
	Frontdesk__V1__PingRequest req = FRONTDESK__V1__PING_REQUEST__INIT;
	ProtobufCMessage *rep = NULL;
	fd_status st;
	bool up = false;

	if (tp_call(c, HEALTH_SVC, "Ping", &req.base, &rep, &st) == FD_OK) {
		up = ((Frontdesk__V1__PingReply *)rep)->database_up;
		protobuf_c_message_free_unpacked(rep, NULL);
	}
	return up;
}

static void calls_fail_fast_while_the_database_is_down_and_recover_after(void)
{
	tp_server s = { 0 };
	char db[64];
	fd_status st;
	fd_events *ev;

	CHECK_MSG(getenv("FD_PGCLUSTER") && getenv("FD_PG_DIR"),
		  "run through tests/run.sh, which says where the cluster is");
	CHECK(e2e_start(&s, db, sizeof db, "dbdown", NULL));
	fd_client *c = tp_client(&s);
	CHECK_INT(tp_login(c, "reception1", "front-1"), FD_OK);
	CHECK(fd_events_open(&ev, s.events_url, &st) == FD_OK);
	e2e_sleep_ms(300);

	CHECK(cluster("stop") == 0);
	for (int i = 0; i < 3; i++) {
		int64_t t0 = fd_now_mono_ms();
		CHECK_INT(call_whoami(c, &st), FD_UNAVAILABLE);
		CHECK_MSG(fd_now_mono_ms() - t0 < 3000, "UNAVAILABLE took %lld ms",
			  (long long)(fd_now_mono_ms() - t0));
	}
	CHECK(!ping_says_database_up(c));

	CHECK(cluster("start") == 0);
	CHECK_MSG(tp_db_scalar("postgres", "SELECT (current_setting('fsync') = 'off')::int") ==
			  (cluster_fast ? 1 : 0),
		  "the cluster came back with other settings");
	int rc = FD_UNAVAILABLE;
	for (int i = 0; i < 100 && rc != FD_OK; i++) {
		e2e_sleep_ms(100);
		rc = call_whoami(c, &st);
	}
	CHECK_MSG(rc == FD_OK, "still %s after the database came back", fd_code_name(rc));
	CHECK(ping_says_database_up(c));

	/* The LISTEN connection came back too and said so. */
	bool resync = false;
	for (int i = 0; i < 50 && !resync; i++) {
		Frontdesk__V1__Event *e = NULL;
		bool gap;
		if (fd_events_next(ev, 100, &e, &gap, &st) == FD_OK) {
			resync = strcmp(e->topic, "resync") == 0;
			protobuf_c_message_free_unpacked(&e->base, NULL);
		}
	}
	CHECK(resync);
	fd_events_close(ev);
	fd_client_close(c);
	e2e_stop(&s);
}

TH_MAIN(TH_CASE(calls_fail_fast_while_the_database_is_down_and_recover_after))
