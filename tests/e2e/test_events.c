/*
 * Live events: raised with NOTIFY inside the handler's transaction, so a
 * committed change is published exactly once and a rolled-back one never;
 * sequence numbers count up without gaps; a second server sharing the
 * database publishes the first one's changes to its own desks.
 */
#include "e2e.h"

static tp_server srv, srv2;
static char db[64];

static bool up(void)
{
	if (srv.pid > 0)
		return true;
	return e2e_start(&srv, db, sizeof db, "ev", NULL);
}

static fd_events *subscribe(const tp_server *s)
{
	fd_events *ev;
	fd_status st;

	if (fd_events_open(&ev, s->events_url, &st) != FD_OK)
		return NULL;
	e2e_sleep_ms(300); /* let the subscription reach the server */
	return ev;
}

static fd_client *admin_on(const tp_server *s)
{
	fd_client *c = tp_client(s);
	if (tp_login(c, "admin", "front-1") != FD_OK) {
		fd_client_close(c);
		return NULL;
	}
	return c;
}

/* Collects events for wait_ms; counts those matching topic+subject. */
static int count_events(fd_events *ev, const char *topic, const char *subject, int wait_ms,
			bool *any_gap, uint64_t *last_seq)
{
	int64_t end = fd_now_mono_ms() + wait_ms;
	int n = 0;

	while (fd_now_mono_ms() < end) {
		Frontdesk__V1__Event *e = NULL;
		bool gap = false;
		fd_status st;
		int left = (int)(end - fd_now_mono_ms());

		if (fd_events_next(ev, left > 0 ? left : 1, &e, &gap, &st) != FD_OK)
			continue;
		if (gap && any_gap)
			*any_gap = true;
		if (last_seq)
			*last_seq = e->seq;
		if (strcmp(e->topic, topic) == 0 && (!subject || strcmp(e->subject, subject) == 0))
			n++;
		protobuf_c_message_free_unpacked(&e->base, NULL);
	}
	return n;
}

static void a_committed_change_is_published_once(void)
{
	fd_status st;
	int64_t id;
	char subject[64];

	CHECK(up());
	fd_events *ev = subscribe(&srv);
	CHECK(ev != NULL);
	fd_client *c = admin_on(&srv);
	CHECK(c != NULL);
	CHECK_INT(call_create_desk(c, "ev-desk-1", &id, &st), FD_OK);
	snprintf(subject, sizeof subject, "desk:%lld", (long long)id);
	CHECK_INT(count_events(ev, "desk.created", subject, 800, NULL, NULL), 1);
	fd_client_close(c);
	fd_events_close(ev);
}

static void a_rolled_back_change_is_never_published(void)
{
	fd_status st;

	CHECK(up());
	fd_events *ev = subscribe(&srv);
	CHECK(ev != NULL);
	fd_client *c = admin_on(&srv);
	CHECK(c != NULL);
	/* A failure before the NOTIFY... */
	CHECK_INT(call_create_desk(c, "front-1", NULL, &st), FD_ALREADY_EXISTS);
	/* ...and one after it: the handler inserts the desk and raises
	 * desk.created, then the audit row (written last, in the same
	 * transaction) is refused by a trigger, so everything rolls back. */
	CHECK(tp_db_exec(db,
			 "CREATE FUNCTION doom() RETURNS trigger LANGUAGE plpgsql AS $$"
			 " BEGIN IF NEW.subject = 'desk:' || (SELECT id FROM desks"
			 "   WHERE code = 'ev-doomed') THEN RAISE EXCEPTION 'doomed'; END IF;"
			 " RETURN NEW; END $$;"
			 " CREATE TRIGGER doom BEFORE INSERT ON audit_log"
			 " FOR EACH ROW EXECUTE FUNCTION doom()") == 0);
	CHECK(call_create_desk(c, "ev-doomed", NULL, &st) != FD_OK);
	CHECK(tp_db_scalar(db, "SELECT count(*) FROM desks WHERE code = 'ev-doomed'") == 0);
	CHECK_INT(count_events(ev, "desk.created", NULL, 800, NULL, NULL), 0);
	CHECK(tp_db_exec(db, "DROP TRIGGER doom ON audit_log") == 0);
	fd_client_close(c);
	fd_events_close(ev);
}

static void sequence_numbers_have_no_gaps(void)
{
	fd_status st;
	bool gap = false;
	uint64_t last = 0;
	char code[32];

	CHECK(up());
	fd_events *ev = subscribe(&srv);
	CHECK(ev != NULL);
	fd_client *c = admin_on(&srv);
	CHECK(c != NULL);
	for (int i = 0; i < 5; i++) {
		snprintf(code, sizeof code, "ev-seq-%d", i);
		CHECK_INT(call_create_desk(c, code, NULL, &st), FD_OK);
	}
	CHECK_INT(count_events(ev, "desk.created", NULL, 800, &gap, &last), 5);
	CHECK(!gap);
	CHECK(last >= 5);
	fd_client_close(c);
	fd_events_close(ev);
}

static void a_change_through_one_server_reaches_desks_of_the_other(void)
{
	fd_status st;
	int64_t id;
	char subject[64];

	CHECK(up());
	if (srv2.pid <= 0)
		CHECK(tp_server_start(&srv2, db, NULL) == 0);
	fd_events *ev = subscribe(&srv);
	CHECK(ev != NULL);
	fd_client *c = admin_on(&srv2);
	CHECK(c != NULL);
	CHECK_INT(call_create_desk(c, "ev-other-server", &id, &st), FD_OK);
	snprintf(subject, sizeof subject, "desk:%lld", (long long)id);
	CHECK_INT(count_events(ev, "desk.created", subject, 1000, NULL, NULL), 1);
	fd_client_close(c);
	fd_events_close(ev);
}

static void ping_tells_desks_where_events_are(void)
{
	Frontdesk__V1__PingRequest req = FRONTDESK__V1__PING_REQUEST__INIT;
	ProtobufCMessage *rep = NULL;
	fd_status st;

	CHECK(up());
	fd_client *c = tp_client(&srv);
	CHECK_INT(tp_call(c, HEALTH_SVC, "Ping", &req.base, &rep, &st), FD_OK);
	CHECK_STR(((Frontdesk__V1__PingReply *)rep)->events_url, srv.events_url);
	CHECK(((Frontdesk__V1__PingReply *)rep)->database_up);
	protobuf_c_message_free_unpacked(rep, NULL);
	fd_client_close(c);
}

static void both_servers_exit_cleanly(void)
{
	CHECK(up());
	if (srv2.pid > 0)
		e2e_stop(&srv2);
	e2e_stop(&srv);
}

TH_MAIN(TH_CASE(a_committed_change_is_published_once),
	TH_CASE(a_rolled_back_change_is_never_published),
	TH_CASE(sequence_numbers_have_no_gaps),
	TH_CASE(a_change_through_one_server_reaches_desks_of_the_other),
	TH_CASE(ping_tells_desks_where_events_are), TH_CASE(both_servers_exit_cleanly))
