/* PUB socket and the LISTEN connection; see events.h. */
#include "events.h"

#include <libpq-fe.h>
#include <nng/nng.h>
#include <nng/protocol/pubsub0/pub.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "db/db.h"
#include "log.h"
#include "util.h"
#include "frontdesk/v1/events.pb-c.h"

static uv_loop_t *loop;
static nng_socket pub;
static bool pub_open;
static PGconn *listen_conn;
static uv_poll_t *poll_handle;
static uv_timer_t retry_timer;
static bool retry_timer_ready;
static uint64_t epoch, seq;
static char public_url[512];
static bool lost_connection; /* a resync event is owed after reconnect */

static void publish(const char *topic, const char *subject)
{
	Frontdesk__V1__Event ev = FRONTDESK__V1__EVENT__INIT;
	nng_msg *msg;

	ev.epoch = epoch;
	ev.seq = ++seq;
	ev.topic = (char *)topic;
	ev.subject = (char *)subject;
	ev.at_unix_ms = fd_now_unix_ms();
	size_t n = frontdesk__v1__event__get_packed_size(&ev);
	if (nng_msg_alloc(&msg, n) != 0) {
		log_error("events: out of memory; desks will see a gap");
		return;
	}
	frontdesk__v1__event__pack(&ev, nng_msg_body(msg));
	/* PUB never blocks: slow subscribers lose messages (and notice the
	 * gap), they never stall the server. */
	if (nng_sendmsg(pub, msg, NNG_FLAG_NONBLOCK) != 0)
		nng_msg_free(msg);
	log_debug("event %llu %s %s", (unsigned long long)seq, topic, subject);
}

static void drain_notifies(void)
{
	PGnotify *n;

	while ((n = PQnotifies(listen_conn)) != NULL) {
		/* payload is "topic\tsubject" (db_notify). */
		char *tab = strchr(n->extra, '\t');
		if (tab) {
			*tab = '\0';
			publish(n->extra, tab + 1);
		} else {
			publish(n->extra, "");
		}
		PQfreemem(n);
	}
}

static void poll_closed(uv_handle_t *h)
{
	free(h);
}

static void schedule_retry(void);

static void drop_listen_connection(void)
{
	if (poll_handle) {
		uv_poll_stop(poll_handle);
		uv_close((uv_handle_t *)poll_handle, poll_closed);
		poll_handle = NULL;
	}
	if (listen_conn) {
		PQfinish(listen_conn);
		listen_conn = NULL;
	}
}

static void on_readable(uv_poll_t *h, int status, int events)
{
	(void)h;
	(void)events;
	if (status < 0 || !PQconsumeInput(listen_conn)) {
		log_warn("events: LISTEN connection lost; reconnecting");
		lost_connection = true;
		drop_listen_connection();
		schedule_retry();
		return;
	}
	drain_notifies();
}

static int connect_listener(void)
{
	char err[512];
	PGresult *r;

	listen_conn = db_connect(err, sizeof err);
	if (!listen_conn) {
		log_debug("events: cannot connect for LISTEN: %s", err);
		return -1;
	}
	r = PQexec(listen_conn, "LISTEN " DB_EVENT_CHANNEL);
	if (PQresultStatus(r) != PGRES_COMMAND_OK) {
		PQclear(r);
		PQfinish(listen_conn);
		listen_conn = NULL;
		return -1;
	}
	PQclear(r);
	if (PQsetnonblocking(listen_conn, 1) != 0)
		log_warn("events: cannot make LISTEN connection non-blocking");
	poll_handle = malloc(sizeof *poll_handle);
	if (!poll_handle || uv_poll_init(loop, poll_handle, PQsocket(listen_conn)) != 0) {
		free(poll_handle);
		poll_handle = NULL;
		PQfinish(listen_conn);
		listen_conn = NULL;
		return -1;
	}
	uv_poll_start(poll_handle, UV_READABLE, on_readable);
	if (lost_connection) {
		lost_connection = false;
		log_info("events: LISTEN connection restored");
		publish("resync", "");
	}
	return 0;
}

static void on_retry(uv_timer_t *t)
{
	(void)t;
	if (connect_listener() != 0)
		schedule_retry();
}

static void schedule_retry(void)
{
	uv_timer_start(&retry_timer, on_retry, 1000, 0);
}

static int pub_listen(const char *url, char *err, size_t err_size)
{
	int rv = nng_listen(pub, url, NULL, 0);

	if (rv != 0) {
		snprintf(err, err_size, "cannot publish events on %s: %s", url,
			 nng_strerror(rv));
		return -1;
	}
	log_info("publishing events on %s", url);
	return 0;
}

int events_start(uv_loop_t *l, char *err, size_t err_size)
{
	char *urls, *save = NULL;
	int rv;

	loop = l;
	randombytes_buf(&epoch, sizeof epoch);
	epoch &= 0x7fffffffffffffffULL; /* readable in JSON as an integer */
	seq = 0;
	rv = nng_pub0_open(&pub);
	if (rv != 0) {
		snprintf(err, err_size, "cannot open PUB socket: %s", nng_strerror(rv));
		return -1;
	}
	pub_open = true;
	urls = strdup(cfg_str(CFG_EVENTS_LISTEN));
	if (!urls)
		return -1;
	public_url[0] = '\0';
	for (char *u = strtok_r(urls, ",", &save); u; u = strtok_r(NULL, ",", &save)) {
		while (*u == ' ')
			u++;
		if (!*u)
			continue;
		if (pub_listen(u, err, err_size) != 0) {
			free(urls);
			return -1;
		}
		if (!public_url[0])
			snprintf(public_url, sizeof public_url, "%s", u);
	}
	free(urls);
	if (*cfg_str(CFG_EVENTS_URL))
		snprintf(public_url, sizeof public_url, "%s", cfg_str(CFG_EVENTS_URL));
	uv_timer_init(loop, &retry_timer);
	retry_timer_ready = true;
	if (connect_listener() != 0) {
		log_warn("events: database not reachable for LISTEN yet; retrying");
		lost_connection = true;
		schedule_retry();
	}
	return 0;
}

void events_stop(void)
{
	drop_listen_connection();
	if (retry_timer_ready) {
		uv_timer_stop(&retry_timer);
		uv_close((uv_handle_t *)&retry_timer, NULL);
		retry_timer_ready = false;
	}
	if (pub_open) {
		nng_close(pub);
		pub_open = false;
	}
}

const char *events_public_url(void)
{
	return public_url;
}

uint64_t events_epoch(void)
{
	return epoch;
}
