/*
 * Slow and idle clients must not starve the other desks.
 *
 * Hundreds of idle connections: 300 raw connections to the server's socket
 * that never say a word, plus 50 nng REQ sockets dialed and idle. A client
 * that never reads: it speaks the SP protocol by hand over the same socket,
 * sends hundreds of Ping requests with a 64 KiB echo (each reply is as big)
 * as fast as the server takes them, and never reads a byte back, so the
 * server's replies to it pile up.
 *
 * The bound (docs/RELIABILITY.md): while both go on, every call from a
 * normal desk succeeds and none takes longer than 4 s (the listener gives up
 * on a reply a peer has not taken within 2 s, see server/listener.c; without
 * that, the never-reading client holds every call slot and desks wait
 * forever). Calls normally take milliseconds; the bound is slack, not a
 * speed claim. FD_FAULTS_LONG=1 holds the pressure longer.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>

#include <nng/nng.h>
#include <nng/protocol/reqrep0/req.h>

#include "e2e.h"
#include "faults.h"
#include "wire.h"

enum { IDLE_RAW = 300, IDLE_NNG = 50, BOUND_MS = 4000 };

static tp_server srv;
static char db[64];

static bool up(void)
{
	if (srv.pid > 0)
		return true;
	return e2e_start(&srv, db, sizeof db, "fcli", NULL);
}

/* A unix socket connected to the server's ipc:// path, or -1. */
static int raw_connect(void)
{
	struct sockaddr_un a = { .sun_family = AF_UNIX };
	const char *path = srv.url + strlen("ipc://");
	int fd = socket(AF_UNIX, SOCK_STREAM, 0);

	if (fd < 0)
		return -1;
	snprintf(a.sun_path, sizeof a.sun_path, "%.100s", path);
	if (connect(fd, (struct sockaddr *)&a, sizeof a) != 0) {
		close(fd);
		return -1;
	}
	return fd;
}

struct desk_calls {
	int ok, failed;
	int64_t longest_ms;
	int last_code;
};

/* A normal desk's calls: an authenticated read and a Ping, n times each. */
static void desk_works(fd_client *c, int n, struct desk_calls *out)
{
	for (int i = 0; i < n; i++) {
		fd_status st;
		int64_t t0 = fd_now_mono_ms();
		int rc = call_whoami(c, &st);
		int rc2 = call_ping(c, &st);
		int64_t took = fd_now_mono_ms() - t0;
		if (took > out->longest_ms)
			out->longest_ms = took;
		if (rc != FD_OK || rc2 != FD_OK) {
			out->failed++;
			out->last_code = rc != FD_OK ? rc : rc2;
			return; /* one is enough: the rest would only wait as long */
		}
		out->ok++;
	}
}

static void hundreds_of_idle_connections_do_not_slow_a_working_desk(void)
{
	int fds[IDLE_RAW];
	nng_socket idle[IDLE_NNG];
	int opened = 0, dialed = 0;
	struct desk_calls calls = { 0 };

	CHECK(up());
	for (int i = 0; i < IDLE_RAW; i++) {
		fds[i] = raw_connect();
		opened += fds[i] >= 0;
	}
	for (int i = 0; i < IDLE_NNG; i++)
		if (nng_req0_open(&idle[dialed]) == 0) {
			if (nng_dial(idle[dialed], srv.url, NULL, 0) == 0)
				dialed++;
			else
				nng_close(idle[dialed]);
		}
	fd_client *desk = faults_desk(&srv, "reception1", "front-1", faults_slack(BOUND_MS));
	bool logged_in = desk != NULL;
	if (desk) {
		desk_works(desk, faults_pick(50, 500), &calls);
		fd_client_close(desk);
	}
	for (int i = 0; i < IDLE_RAW; i++)
		if (fds[i] >= 0)
			close(fds[i]);
	for (int i = 0; i < dialed; i++)
		nng_close(idle[i]);
	CHECK_INT(opened, IDLE_RAW);
	CHECK_INT(dialed, IDLE_NNG);
	CHECK(logged_in);
	CHECK_MSG(calls.failed == 0, "%d calls failed (last: %s)", calls.failed,
		  fd_code_name(calls.last_code));
	CHECK_MSG(calls.longest_ms <= faults_slack(BOUND_MS), "a call took %lld ms",
		  (long long)calls.longest_ms);
	printf("    figures: %d idle connections; %d desk calls ok, longest %lld ms\n",
	       opened + dialed, 2 * calls.ok, (long long)calls.longest_ms);
}

/* --- a client that never reads --------------------------------------------- */

/* One SP-over-IPC frame: type 1, 64-bit big-endian length, then the REQ
 * header (request number with the top bit set) and the envelope. */
static bool send_frame(int fd, uint32_t number, const uint8_t *body, size_t len)
{
	uint8_t head[13];
	uint64_t n = len + 4;

	head[0] = 1;
	for (int i = 0; i < 8; i++)
		head[1 + i] = (uint8_t)(n >> (56 - 8 * i));
	uint32_t be = htonl(number | 0x80000000u);
	memcpy(head + 9, &be, 4);
	if (send(fd, head, sizeof head, MSG_NOSIGNAL) != (ssize_t)sizeof head)
		return false;
	size_t sent = 0;
	while (sent < len) {
		ssize_t w = send(fd, body + sent, len - sent, MSG_NOSIGNAL);
		if (w <= 0)
			return false; /* the 200 ms send timeout: the server stopped taking */
		sent += (size_t)w;
	}
	return true;
}

/* Connects, says "I am a REQ socket" and sends Pings until the server stops
 * taking them (or n were sent). Returns the socket (never read), or -1. */
static int never_reading_client(int n, int *sent)
{
	static const uint8_t hello[8] = { 0, 'S', 'P', 0, 0, 48 /* REQ */, 0, 0 };
	struct timeval tv = { .tv_sec = 0, .tv_usec = 200000 };
	Frontdesk__V1__PingRequest req = FRONTDESK__V1__PING_REQUEST__INIT;
	int fd = raw_connect();

	*sent = 0;
	if (fd < 0)
		return -1;
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
	if (send(fd, hello, sizeof hello, MSG_NOSIGNAL) != (ssize_t)sizeof hello) {
		close(fd);
		return -1;
	}
	req.echo.len = 64 * 1024;
	req.echo.data = calloc(1, req.echo.len);
	for (int i = 0; i < n && req.echo.data; i++) {
		uint8_t id[16];
		fd_arena a;
		nng_msg *m;
		fd_request_id_new(id);
		fd_arena_init(&a, 0);
		bool ok = fd_wire_pack_request(&m, &a, id, "/frontdesk.v1.Health/Ping", 60000, "",
					       &req.base) == 0;
		if (ok) {
			ok = send_frame(fd, (uint32_t)i + 1, nng_msg_body(m), nng_msg_len(m));
			nng_msg_free(m);
		}
		fd_arena_destroy(&a);
		if (!ok)
			break;
		(*sent)++;
	}
	free(req.echo.data);
	return fd;
}

static void a_client_that_never_reads_does_not_starve_other_desks(void)
{
	struct desk_calls calls = { 0 };
	int sent = 0, rounds = faults_pick(1, 5);

	CHECK(up());
	fd_client *desk = faults_desk(&srv, "reception2", "front-2", faults_slack(10000));
	CHECK(desk != NULL);
	for (int r = 0; r < rounds; r++) {
		int more = 0;
		/* More requests than the server has call slots (contexts=128). */
		int fd = never_reading_client(400, &more);
		CHECK_MSG(fd >= 0, "cannot connect the never-reading client");
		sent += more;
		desk_works(desk, faults_pick(10, 40), &calls);
		close(fd);
	}
	fd_client_close(desk);
	CHECK_MSG(sent >= 128, "the never-reading client only got %d requests in", sent);
	CHECK_MSG(calls.failed == 0, "%d desk calls failed (last: %s)", calls.failed,
		  fd_code_name(calls.last_code));
	CHECK_MSG(calls.longest_ms <= faults_slack(BOUND_MS), "a desk call took %lld ms",
		  (long long)calls.longest_ms);
	/* And the server is still whole afterwards. */
	fd_status st;
	fd_client *after = tp_client(&srv);
	CHECK_INT(call_ping(after, &st), FD_OK);
	fd_client_close(after);
	printf("    figures: %d unread requests of 64 KiB; %d desk calls ok meanwhile, longest"
	       " %lld ms\n",
	       sent, 2 * calls.ok, (long long)calls.longest_ms);
}

static void the_server_exits_cleanly(void)
{
	CHECK(up());
	e2e_stop(&srv);
}

TH_MAIN(TH_CASE(hundreds_of_idle_connections_do_not_slow_a_working_desk),
	TH_CASE(a_client_that_never_reads_does_not_starve_other_desks),
	TH_CASE(the_server_exits_cleanly))
