/*
 * The server under pressure: a call whose deadline passes in the queue, a
 * full queue, oversized messages, and SIGTERM while calls are in flight.
 * A table lock held from a test connection keeps the single worker busy, so
 * every case is deterministic without sleeping on timing.
 */
#include "e2e.h"

#include <errno.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>

#include <nng/nng.h>

#include "wire.h"

static tp_server srv;
static char db[64];
static PGconn *locker;

static const char *const extra[] = { "--workers=1", "--queue-depth=1", NULL };

static bool up(void)
{
	if (srv.pid > 0)
		return true;
	return e2e_start(&srv, db, sizeof db, "res", extra);
}

/* Every authenticated call reads desks in its session check, so locking the
 * table parks the worker on the first such call. */
static void lock_desks(void)
{
	locker = tp_db_connect(db);
	PGresult *r = PQexec(locker, "BEGIN; LOCK TABLE desks IN ACCESS EXCLUSIVE MODE");
	PQclear(r);
}

static void unlock_desks(void)
{
	PGresult *r = PQexec(locker, "ROLLBACK");
	PQclear(r);
	PQfinish(locker);
	locker = NULL;
}

struct bg_call {
	pthread_t thread;
	fd_client *client;
	int code;
	int64_t took_ms;
};

static void *whoami_thread(void *arg)
{
	struct bg_call *b = arg;
	fd_status st;
	int64_t t0 = fd_now_mono_ms();

	b->code = call_whoami(b->client, &st);
	b->took_ms = fd_now_mono_ms() - t0;
	return NULL;
}

/* Logs in first: Login reads desks too, so it must happen before the lock. */
static void prepare_bg(struct bg_call *b)
{
	b->client = tp_client(&srv);
	if (tp_login(b->client, "reception1", "front-1") != FD_OK)
		b->code = -2;
}

static void start_bg(struct bg_call *b)
{
	pthread_create(&b->thread, NULL, whoami_thread, b);
}

static void finish_bg(struct bg_call *b)
{
	pthread_join(b->thread, NULL);
	fd_client_close(b->client);
}

/* Sends a CreateDesk whose envelope asks for budget_ms while the client
 * itself waits wait_ms: the server's verdict comes back, not a client-side
 * timeout. */
static int create_desk_with_budget(fd_client *c, const uint8_t id[16], const char *code,
				   uint32_t budget_ms, int wait_ms)
{
	Frontdesk__V1__CreateDeskRequest req = FRONTDESK__V1__CREATE_DESK_REQUEST__INIT;
	Frontdesk__V1__Reply *rep = NULL;
	fd_arena a;
	nng_msg *m;
	fd_status st;
	int code_out = -1;

	req.code = (char *)code;
	req.name = "Late desk";
	fd_arena_init(&a, 0);
	if (fd_wire_pack_request(&m, &a, id, "/frontdesk.v1.Admin/CreateDesk", budget_ms,
				 fd_client_token(c), &req.base) == 0) {
		if (fd_client_call_raw(c, nng_msg_body(m), nng_msg_len(m), &rep, wait_ms,
				       &st) == FD_OK &&
		    rep && rep->status)
			code_out = (int)rep->status->code;
		nng_msg_free(m);
	}
	if (rep)
		frontdesk__v1__reply__free_unpacked(rep, NULL);
	fd_arena_destroy(&a);
	return code_out;
}

static fd_client *admin_client(void)
{
	fd_client_options o = { .url = srv.url, .timeout_ms = 10000, .resend_ms = 60000 };
	fd_client *c;
	fd_status st;

	if (fd_client_open(&c, &o, &st) != FD_OK)
		return NULL;
	if (tp_login(c, "admin", "front-1") != FD_OK) {
		fd_client_close(c);
		return NULL;
	}
	return c;
}

static void *unlock_later(void *arg)
{
	e2e_sleep_ms((int)(intptr_t)arg);
	unlock_desks();
	return NULL;
}

static void deadline_passing_in_the_queue_never_touches_the_database(void)
{
	struct bg_call busy = { 0 };
	pthread_t releaser;
	uint8_t id[16];
	char sql[256], hex[33];

	CHECK(up());
	fd_client *admin = admin_client();
	CHECK(admin != NULL);
	prepare_bg(&busy);
	lock_desks();
	start_bg(&busy); /* takes the only worker and waits on the lock */
	e2e_sleep_ms(300);
	/* The lock goes 1 s from now; the queued call's budget is 300 ms. */
	pthread_create(&releaser, NULL, unlock_later, (void *)(intptr_t)1000);
	fd_request_id_new(id);
	fd_hex(hex, sizeof hex, id, 16);
	int code = create_desk_with_budget(admin, id, "late-desk", 300, 8000);
	pthread_join(releaser, NULL);
	finish_bg(&busy);
	CHECK_INT(busy.code, FD_OK);
	CHECK_INT(code, FD_DEADLINE_EXCEEDED);
	CHECK(tp_db_scalar(db, "SELECT count(*) FROM desks WHERE code = 'late-desk'") == 0);
	snprintf(sql, sizeof sql,
		 "SELECT (SELECT count(*) FROM idempotent_replies WHERE request_id = '\\x%s')"
		 " + (SELECT count(*) FROM audit_log WHERE request_id = '\\x%s')",
		 hex, hex);
	CHECK(tp_db_scalar(db, sql) == 0);
	fd_client_close(admin);
}

static void full_queue_answers_resource_exhausted_at_once(void)
{
	struct bg_call calls[4] = { 0 };
	int exhausted = 0, ok = 0;

	CHECK(up());
	for (int i = 0; i < 4; i++)
		prepare_bg(&calls[i]);
	lock_desks();
	/* One call in the worker, one in the queue (depth 1), the rest refused. */
	for (int i = 0; i < 4; i++) {
		start_bg(&calls[i]);
		e2e_sleep_ms(100);
	}
	e2e_sleep_ms(300);
	unlock_desks();
	for (int i = 0; i < 4; i++) {
		finish_bg(&calls[i]);
		if (calls[i].code == FD_RESOURCE_EXHAUSTED) {
			exhausted++;
			CHECK_MSG(calls[i].took_ms < 400, "refusal took %lld ms",
				  (long long)calls[i].took_ms);
		} else if (calls[i].code == FD_OK) {
			ok++;
		}
	}
	CHECK_INT(ok, 2);
	CHECK_INT(exhausted, 2);
	fd_status st;
	fd_client *c = admin_client();
	CHECK(c != NULL);
	CHECK_INT(call_whoami(c, &st), FD_OK);
	fd_client_close(c);
}

static int ping_with_echo(fd_client *c, size_t size, int timeout_ms, fd_status *st)
{
	Frontdesk__V1__PingRequest req = FRONTDESK__V1__PING_REQUEST__INIT;
	ProtobufCMessage *rep = NULL;

	req.echo.data = calloc(1, size);
	req.echo.len = size;
	int rc = fd_client_call(c, "/frontdesk.v1.Health/Ping", &req.base,
				&frontdesk__v1__ping_reply__descriptor, &rep, timeout_ms, st);
	if (rep)
		protobuf_c_message_free_unpacked(rep, NULL);
	free(req.echo.data);
	return rc;
}

/*
 * Speaks nng's IPC framing over a plain Unix socket: the 8-byte SP handshake
 * as a REQ peer, then a message header announcing 6 MB, over
 * NNG_OPT_RECVMAXSZ. The server must hang up on reading the header alone.
 * A plain socket because an nng REQ socket would reconnect and resend the
 * message on its own after the drop, and every step here has a time limit,
 * so a server that never hangs up fails the case instead of hanging it.
 */
static bool oversized_frame_drops_the_connection(void)
{
	static const uint8_t hello[8] = { 0x00, 'S', 'P', 0x00, 0x00, 0x30, 0x00, 0x00 };
	uint8_t frame[9 + 64] = { 0x01 };
	uint64_t announced = 6u << 20;
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	uint8_t buf[64];
	bool dropped = false;

	for (int i = 0; i < 8; i++)
		frame[1 + i] = (uint8_t)(announced >> (56 - 8 * i));
	if (strncmp(srv.url, "ipc://", 6) != 0 || strlen(srv.url + 6) >= sizeof sa.sun_path)
		return false;
	strcpy(sa.sun_path, srv.url + 6);
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return false;
	struct timeval tv = { .tv_sec = 5 };
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
	if (connect(fd, (struct sockaddr *)&sa, sizeof sa) != 0 ||
	    send(fd, hello, sizeof hello, MSG_NOSIGNAL) != (ssize_t)sizeof hello ||
	    recv(fd, buf, 8, MSG_WAITALL) != 8 || buf[5] != 0x31 /* REP */ ||
	    send(fd, frame, sizeof frame, MSG_NOSIGNAL) != (ssize_t)sizeof frame)
		goto out;
	/* EOF or a reset: the server hung up. A timeout (EAGAIN) is not. */
	ssize_t n = recv(fd, buf, sizeof buf, 0);
	dropped = n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK);
out:
	close(fd);
	return dropped;
}

static void oversized_messages_are_refused_and_the_server_keeps_serving(void)
{
	fd_status st;

	CHECK(up());
	fd_client *c = tp_client(&srv);
	/* Over max_request_bytes: a clear refusal. */
	CHECK_INT(ping_with_echo(c, 2 << 20, 5000, &st), FD_RESOURCE_EXHAUSTED);
	fd_client_close(c);
	/* Over NNG_OPT_RECVMAXSZ: nng drops the sender's connection and sends
	 * no reply. */
	CHECK_MSG(oversized_frame_drops_the_connection(),
		  "the server kept a connection that announced a 6 MB message");
	c = tp_client(&srv);
	CHECK_INT(call_ping(c, &st), FD_OK);
	CHECK_INT(ping_with_echo(c, 1000, 5000, &st), FD_OK);
	fd_client_close(c);
}

static void garbage_and_truncated_envelopes_get_a_reply_and_the_next_call_works(void)
{
	static const uint8_t garbage[] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
					   0xff, 0xff, 0xff, 0x01, 'x', 'y' };
	uint8_t id[16];
	fd_arena a;
	nng_msg *m;
	fd_status st;
	Frontdesk__V1__Reply *rep = NULL;

	CHECK(up());
	fd_client *c = tp_client(&srv);
	CHECK_INT(fd_client_call_raw(c, garbage, sizeof garbage, &rep, 5000, &st), FD_OK);
	CHECK(rep && rep->status);
	CHECK_INT(rep->status->code, FD_INVALID_ARGUMENT);
	frontdesk__v1__reply__free_unpacked(rep, NULL);
	rep = NULL;

	fd_arena_init(&a, 0);
	fd_request_id_new(id);
	CHECK(fd_wire_pack_request(&m, &a, id, "/frontdesk.v1.Auth/WhoAmI", 1000, "", NULL) == 0);
	CHECK_INT(fd_client_call_raw(c, nng_msg_body(m), nng_msg_len(m) - 3, &rep, 5000, &st),
		  FD_OK);
	nng_msg_free(m);
	fd_arena_destroy(&a);
	CHECK(rep && rep->status);
	CHECK_INT(rep->status->code, FD_INVALID_ARGUMENT);
	frontdesk__v1__reply__free_unpacked(rep, NULL);

	CHECK_INT(call_ping(c, &st), FD_OK);
	fd_client_close(c);
}

static void sigterm_lets_calls_in_flight_finish_then_exits_zero(void)
{
	struct bg_call busy = { 0 };
	int status;

	CHECK(up());
	prepare_bg(&busy);
	lock_desks();
	start_bg(&busy);
	e2e_sleep_ms(300);
	kill(srv.pid, SIGTERM);
	e2e_sleep_ms(300);
	CHECK_MSG(waitpid(srv.pid, &status, WNOHANG) == 0,
		  "the server exited with a call in flight");
	unlock_desks();
	finish_bg(&busy);
	CHECK_INT(busy.code, FD_OK);
	/* No second signal: the first one is still being honoured. */
	CHECK_INT(tp_server_wait_exit(&srv), 0);
}

TH_MAIN(TH_CASE(deadline_passing_in_the_queue_never_touches_the_database),
	TH_CASE(full_queue_answers_resource_exhausted_at_once),
	TH_CASE(oversized_messages_are_refused_and_the_server_keeps_serving),
	TH_CASE(garbage_and_truncated_envelopes_get_a_reply_and_the_next_call_works),
	TH_CASE(sigterm_lets_calls_in_flight_finish_then_exits_zero))
