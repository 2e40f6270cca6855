/*
 * The raw nng limit of `make bench`: a REQ/REP echo with the message sizes
 * of a Health.Ping call, over the same transport and with the same number
 * of closed-loop clients as the load generator. Health.Ping does no
 * database work, so Health calls/s divided by this echo rate is what the
 * RPC layer (envelope, dispatch gate, worker hand-off, logging) keeps of
 * what nng alone can do.
 *
 * The echo server is a forked child (forked before nng starts, so it has
 * its own nng threads) with a REP socket and --contexts asynchronous
 * contexts, like frontdeskd's listener; it answers every request with a
 * reply the size of a Ping reply envelope. Each client is a thread with
 * its own REQ socket and dialer, as each simulated desk has its own
 * fd_client. The sizes come from packing the same envelopes a Ping call
 * sends and receives (a 64-hex-digit session token included).
 */
#include <nng/nng.h>
#include <nng/protocol/reqrep0/rep.h>
#include <nng/protocol/reqrep0/req.h>
#include <pthread.h>
#include <signal.h>
#include <sys/prctl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "frontdesk/v1/envelope.pb-c.h"
#include "frontdesk/v1/health.pb-c.h"

struct options {
	const char *url;
	int clients, contexts;
	double seconds;
	int json;
	const char *label;
};

/* --- message sizes ------------------------------------------------------- */

static size_t ping_request_size(void)
{
	Frontdesk__V1__RequestHeader h = FRONTDESK__V1__REQUEST_HEADER__INIT;
	Frontdesk__V1__Request r = FRONTDESK__V1__REQUEST__INIT;
	uint8_t id[16] = {1};
	char token[65];

	memset(token, 'a', 64);
	token[64] = 0;
	h.request_id.data = id;
	h.request_id.len = sizeof id;
	h.method = "/frontdesk.v1.Health/Ping";
	h.timeout_ms = 30000;
	h.session_token = token;
	h.api_version = 1;
	r.header = &h; /* an empty PingRequest packs to no bytes */
	return frontdesk__v1__request__get_packed_size(&r);
}

static size_t ping_reply_size(const char *events_url)
{
	Frontdesk__V1__PingReply p = FRONTDESK__V1__PING_REPLY__INIT;
	Frontdesk__V1__Status st = FRONTDESK__V1__STATUS__INIT;
	Frontdesk__V1__Reply r = FRONTDESK__V1__REPLY__INIT;
	uint8_t id[16] = {1}, payload[512];

	p.server_version = "0.1.0";
	p.api_version = 1;
	p.schema_version = 4;
	p.server_time_unix_ms = 1790000000000;
	p.events_url = (char *)events_url;
	p.database_up = 1;
	r.request_id.data = id;
	r.request_id.len = sizeof id;
	r.status = &st;
	r.payload.data = payload;
	r.payload.len = frontdesk__v1__ping_reply__pack(&p, payload);
	return frontdesk__v1__reply__get_packed_size(&r);
}

/* --- the echo server (child process) ------------------------------------- */

struct server_ctx {
	nng_socket sock;
	nng_ctx ctx;
	nng_aio *aio;
	size_t reply_size;
	int sending;
};

static void server_cb(void *arg)
{
	struct server_ctx *s = arg;

	if (nng_aio_result(s->aio) != 0) {
		if (s->sending)
			nng_msg_free(nng_aio_get_msg(s->aio));
		s->sending = 0;
		nng_ctx_recv(s->ctx, s->aio);
		return;
	}
	if (s->sending) {
		s->sending = 0;
		nng_ctx_recv(s->ctx, s->aio);
		return;
	}
	nng_msg *m = nng_aio_get_msg(s->aio);
	if (nng_msg_realloc(m, s->reply_size) != 0) {
		nng_msg_free(m);
		nng_ctx_recv(s->ctx, s->aio);
		return;
	}
	s->sending = 1;
	nng_aio_set_msg(s->aio, m);
	nng_ctx_send(s->ctx, s->aio);
}

static void serve(const struct options *o, size_t reply_size)
{
	nng_socket sock;
	struct server_ctx *ctxs = calloc((size_t)o->contexts, sizeof *ctxs);

	if (!ctxs || nng_rep0_open(&sock) != 0 || nng_listen(sock, o->url, NULL, 0) != 0) {
		fprintf(stderr, "echo: cannot listen on %s\n", o->url);
		_exit(1);
	}
	for (int i = 0; i < o->contexts; i++) {
		ctxs[i].sock = sock;
		ctxs[i].reply_size = reply_size;
		if (nng_aio_alloc(&ctxs[i].aio, server_cb, &ctxs[i]) != 0 ||
		    nng_ctx_open(&ctxs[i].ctx, sock) != 0)
			_exit(1);
		nng_ctx_recv(ctxs[i].ctx, ctxs[i].aio);
	}
	for (;;)
		pause(); /* the parent ends us with SIGTERM */
}

/* --- the clients ------------------------------------------------------- */

struct client {
	const struct options *o;
	pthread_t thread;
	size_t request_size;
	uint32_t *us;
	size_t n, cap;
	int failures;
};

static pthread_barrier_t connected, go;
static int64_t deadline_ns;

static int64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static int round_trip(nng_socket sock, size_t size)
{
	nng_msg *m;
	int rv;

	if ((rv = nng_msg_alloc(&m, size)) != 0)
		return rv;
	memset(nng_msg_body(m), 'x', size);
	if ((rv = nng_sendmsg(sock, m, 0)) != 0) {
		nng_msg_free(m);
		return rv;
	}
	if ((rv = nng_recvmsg(sock, &m, 0)) != 0)
		return rv;
	nng_msg_free(m);
	return 0;
}

static void *client_main(void *arg)
{
	struct client *c = arg;
	nng_socket sock;
	int ok = nng_req0_open(&sock) == 0 &&
	         nng_socket_set_ms(sock, NNG_OPT_RECVTIMEO, 10000) == 0 &&
	         nng_dial(sock, c->o->url, NULL, 0) == 0;

	/* One round trip before the clock starts: the pipe is up. */
	if (ok && round_trip(sock, c->request_size) != 0)
		ok = 0;
	pthread_barrier_wait(&connected);
	pthread_barrier_wait(&go);
	while (ok && now_ns() < deadline_ns) {
		int64_t t0 = now_ns();
		if (round_trip(sock, c->request_size) != 0) {
			c->failures++;
			continue;
		}
		if (c->n == c->cap) {
			size_t cap = c->cap ? c->cap * 2 : 8192;
			uint32_t *grown = realloc(c->us, cap * sizeof *grown);
			if (!grown)
				break;
			c->us = grown;
			c->cap = cap;
		}
		c->us[c->n++] = (uint32_t)((now_ns() - t0) / 1000);
	}
	if (!ok)
		c->failures++;
	nng_close(sock);
	return NULL;
}

static int cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return x < y ? -1 : x > y;
}

static double pct(const uint32_t *v, size_t n, double q)
{
	return n ? v[(size_t)(q * (double)(n - 1) + 0.5)] / 1000.0 : 0;
}

static void usage(void)
{
	fprintf(stderr, "usage: echo --url URL [--clients N] [--contexts N] [--seconds S]"
	                " [--label TEXT] [--json]\n");
	exit(64);
}

static void parse_args(int argc, char **argv, struct options *o)
{
	*o = (struct options){.clients = 16, .contexts = 128, .seconds = 5, .label = "echo"};
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--json") == 0) {
			o->json = 1;
			continue;
		}
		if (i + 1 >= argc)
			usage();
		const char *v = argv[++i];
		if (strcmp(argv[i - 1], "--url") == 0)
			o->url = v;
		else if (strcmp(argv[i - 1], "--clients") == 0)
			o->clients = atoi(v);
		else if (strcmp(argv[i - 1], "--contexts") == 0)
			o->contexts = atoi(v);
		else if (strcmp(argv[i - 1], "--seconds") == 0)
			o->seconds = atof(v);
		else if (strcmp(argv[i - 1], "--label") == 0)
			o->label = v;
		else
			usage();
	}
	if (!o->url || o->clients < 1 || o->clients > 1024 || o->contexts < 1 || o->seconds <= 0)
		usage();
}

int main(int argc, char **argv)
{
	struct options o;
	size_t request_size, reply_size;

	parse_args(argc, argv, &o);
	request_size = ping_request_size();
	reply_size = ping_reply_size("ipc:///tmp/frontdesk-bench/events");

	pid_t child = fork();
	if (child < 0) {
		perror("echo: fork");
		return 71;
	}
	if (child == 0) {
		/* Ends with the parent, however the parent ends. */
		prctl(PR_SET_PDEATHSIG, SIGTERM);
		serve(&o, reply_size);
	}
	usleep(200000); /* the listener is up; dialers retry anyway */

	struct client *clients = calloc((size_t)o.clients, sizeof *clients);
	if (!clients || pthread_barrier_init(&connected, NULL, (unsigned)o.clients + 1) != 0 ||
	    pthread_barrier_init(&go, NULL, (unsigned)o.clients + 1) != 0) {
		kill(child, SIGTERM);
		return 71;
	}
	for (int i = 0; i < o.clients; i++) {
		clients[i].o = &o;
		clients[i].request_size = request_size;
		pthread_create(&clients[i].thread, NULL, client_main, &clients[i]);
	}
	pthread_barrier_wait(&connected);
	int64_t t0 = now_ns();
	deadline_ns = t0 + (int64_t)(o.seconds * 1e9);
	pthread_barrier_wait(&go);

	size_t total = 0;
	int failures = 0;
	for (int i = 0; i < o.clients; i++) {
		pthread_join(clients[i].thread, NULL);
		total += clients[i].n;
		failures += clients[i].failures;
	}
	double elapsed = (double)(now_ns() - t0) / 1e9;
	kill(child, SIGTERM);
	waitpid(child, NULL, 0);

	uint32_t *all = malloc((total ? total : 1) * sizeof *all);
	size_t n = 0;
	for (int i = 0; i < o.clients && all; i++) {
		memcpy(all + n, clients[i].us, clients[i].n * sizeof *all);
		n += clients[i].n;
		free(clients[i].us);
	}
	if (all && n)
		qsort(all, n, sizeof *all, cmp_u32);
	if (o.json)
		printf("{\"label\": \"%s\", \"clients\": %d, \"seconds\": %.2f, \"request_bytes\": "
		       "%zu,"
		       " \"reply_bytes\": %zu, \"round_trips\": %zu, \"per_s\": %.1f, \"p50_ms\": "
		       "%.3f,"
		       " \"p99_ms\": %.3f, \"failures\": %d}\n",
		       o.label, o.clients, elapsed, request_size, reply_size, n,
		       (double)n / elapsed, pct(all, n, 0.5), pct(all, n, 0.99), failures);
	else
		printf("nng echo %s: %d clients, %zu/%zu bytes, %.1f round trips/s,"
		       " p50 %.3f ms, p99 %.3f ms, %d failures\n",
		       o.url, o.clients, request_size, reply_size, (double)n / elapsed,
		       pct(all, n, 0.5), pct(all, n, 0.99), failures);
	free(all);
	free(clients);
	return failures ? 1 : 0;
}
