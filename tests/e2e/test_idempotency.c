/*
 * Idempotency by request id: a mutating call sent again with the same id
 * acts once and answers the same, whether the first reply was lost, the
 * resends race each other, or they reach two different servers sharing the
 * database.
 */
#include "e2e.h"

static tp_server srv, srv2;
static char db[64];

static bool up(void)
{
	if (srv.pid > 0)
		return true;
	return e2e_start(&srv, db, sizeof db, "idem", NULL);
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

static int create_desk_id(fd_client *c, const uint8_t id[16], const char *code,
			  int64_t *desk_id, fd_status *st)
{
	Frontdesk__V1__CreateDeskRequest req = FRONTDESK__V1__CREATE_DESK_REQUEST__INIT;
	ProtobufCMessage *rep = NULL;

	req.code = (char *)code;
	req.name = "Idempotent desk";
	int rc = fd_client_call_with_id(c, id, "/frontdesk.v1.Admin/CreateDesk", &req.base,
					&frontdesk__v1__create_desk_reply__descriptor, &rep, 0, st);
	if (rc == FD_OK) {
		*desk_id = ((Frontdesk__V1__CreateDeskReply *)rep)->desk->id;
		protobuf_c_message_free_unpacked(rep, NULL);
	}
	return rc;
}

static long long desks_with_code(const char *code)
{
	char sql[128];
	snprintf(sql, sizeof sql, "SELECT count(*) FROM desks WHERE code = '%s'", code);
	return tp_db_scalar(db, sql);
}

static void the_same_request_twice_acts_once_and_answers_the_same(void)
{
	uint8_t id[16];
	int64_t a = 0, b = 0;
	fd_status st;

	CHECK(up());
	fd_client *c = admin_on(&srv);
	CHECK(c != NULL);
	fd_request_id_new(id);
	CHECK_INT(create_desk_id(c, id, "idem-1", &a, &st), FD_OK);
	CHECK_INT(create_desk_id(c, id, "idem-1", &b, &st), FD_OK);
	CHECK_INT(a, b);
	CHECK(desks_with_code("idem-1") == 1);
	CHECK(tp_db_scalar(db, "SELECT count(*) FROM audit_log WHERE subject = 'desk:' ||"
			       " (SELECT id FROM desks WHERE code = 'idem-1')") == 1);
	fd_client_close(c);
}

static void a_lost_reply_is_answered_from_the_stored_one(void)
{
	uint8_t id[16];
	int64_t a = 0, b = 0;
	fd_status st;

	CHECK(up());
	fd_client *first = admin_on(&srv);
	CHECK(first != NULL);
	fd_request_id_new(id);
	CHECK_INT(create_desk_id(first, id, "idem-2", &a, &st), FD_OK);
	/* The desk never saw that reply: it reconnects and resends. */
	char token[80];
	snprintf(token, sizeof token, "%s", fd_client_token(first));
	fd_client_close(first);
	fd_client *again = tp_client(&srv);
	fd_client_set_token(again, token);
	CHECK_INT(create_desk_id(again, id, "idem-2", &b, &st), FD_OK);
	CHECK_INT(a, b);
	CHECK(desks_with_code("idem-2") == 1);
	/* Even a changed body gets the first answer: the id names the call. */
	CHECK_INT(create_desk_id(again, id, "idem-2-changed", &b, &st), FD_OK);
	CHECK_INT(a, b);
	CHECK(desks_with_code("idem-2-changed") == 0);
	fd_client_close(again);
}

static void a_request_id_reused_for_another_method_is_refused(void)
{
	uint8_t id[16];
	int64_t a = 0;
	fd_status st;

	CHECK(up());
	fd_client *c = admin_on(&srv);
	CHECK(c != NULL);
	fd_request_id_new(id);
	CHECK_INT(create_desk_id(c, id, "idem-3", &a, &st), FD_OK);
	Frontdesk__V1__UnlockStaffRequest req = FRONTDESK__V1__UNLOCK_STAFF_REQUEST__INIT;
	ProtobufCMessage *rep = NULL;
	req.staff_id = 1;
	CHECK_INT(fd_client_call_with_id(c, id, "/frontdesk.v1.Admin/UnlockStaff", &req.base,
					 &frontdesk__v1__unlock_staff_reply__descriptor, &rep, 0,
					 &st),
		  FD_INVALID_ARGUMENT);
	fd_client_close(c);
}

struct racer {
	pthread_t thread;
	const tp_server *server;
	const char *token;
	const uint8_t *id;
	int code;
	int64_t desk_id;
};

static void *race(void *arg)
{
	struct racer *r = arg;
	fd_status st;
	fd_client *c = tp_client(r->server);

	fd_client_set_token(c, r->token);
	r->code = create_desk_id(c, r->id, "idem-race", &r->desk_id, &st);
	fd_client_close(c);
	return NULL;
}

static void racing_resends_act_once(void)
{
	struct racer racers[8];
	uint8_t id[16];

	CHECK(up());
	fd_client *c = admin_on(&srv);
	CHECK(c != NULL);
	fd_request_id_new(id);
	for (int i = 0; i < 8; i++) {
		racers[i] = (struct racer){ .server = &srv, .token = fd_client_token(c), .id = id };
		pthread_create(&racers[i].thread, NULL, race, &racers[i]);
	}
	for (int i = 0; i < 8; i++)
		pthread_join(racers[i].thread, NULL);
	for (int i = 0; i < 8; i++) {
		CHECK_INT(racers[i].code, FD_OK);
		CHECK_INT(racers[i].desk_id, racers[0].desk_id);
	}
	CHECK(desks_with_code("idem-race") == 1);
	fd_client_close(c);
}

static void a_refused_call_is_not_stored_and_runs_again(void)
{
	uint8_t id[16];
	int64_t a = 0;
	fd_status st;
	char sql[160], hex[33];

	CHECK(up());
	fd_client *c = admin_on(&srv);
	CHECK(c != NULL);
	fd_request_id_new(id);
	fd_hex(hex, sizeof hex, id, 16);
	/* front-1 exists: refused, nothing stored... */
	CHECK_INT(create_desk_id(c, id, "front-1", &a, &st), FD_ALREADY_EXISTS);
	snprintf(sql, sizeof sql,
		 "SELECT count(*) FROM idempotent_replies WHERE request_id = '\\x%s'", hex);
	CHECK(tp_db_scalar(db, sql) == 0);
	/* ...so the same id may succeed once the clash is gone. */
	CHECK(tp_db_exec(db, "UPDATE desks SET code = 'front-1-old' WHERE code = 'front-1'") == 0);
	CHECK_INT(create_desk_id(c, id, "front-1", &a, &st), FD_OK);
	CHECK(tp_db_scalar(db, sql) == 1);
	fd_client_close(c);
}

static void idempotency_holds_across_two_servers(void)
{
	uint8_t id[16];
	int64_t a = 0, b = 0;
	fd_status st;

	CHECK(up());
	if (srv2.pid <= 0)
		CHECK(tp_server_start(&srv2, db, NULL) == 0);
	fd_client *one = admin_on(&srv);
	CHECK(one != NULL);
	fd_client *two = tp_client(&srv2);
	fd_client_set_token(two, fd_client_token(one)); /* sessions live in the database */
	fd_request_id_new(id);
	CHECK_INT(create_desk_id(one, id, "idem-two-servers", &a, &st), FD_OK);
	CHECK_INT(create_desk_id(two, id, "idem-two-servers", &b, &st), FD_OK);
	CHECK_INT(a, b);
	CHECK(desks_with_code("idem-two-servers") == 1);
	fd_client_close(one);
	fd_client_close(two);
}

static void both_servers_exit_cleanly(void)
{
	CHECK(up());
	if (srv2.pid > 0)
		e2e_stop(&srv2);
	e2e_stop(&srv);
}

TH_MAIN(TH_CASE(the_same_request_twice_acts_once_and_answers_the_same),
	TH_CASE(a_lost_reply_is_answered_from_the_stored_one),
	TH_CASE(a_request_id_reused_for_another_method_is_refused),
	TH_CASE(racing_resends_act_once), TH_CASE(a_refused_call_is_not_stored_and_runs_again),
	TH_CASE(idempotency_holds_across_two_servers), TH_CASE(both_servers_exit_cleanly))
