/*
 * The live event feed: an nng SUB socket dialed to the server's PUB URL.
 *
 * PUB/SUB drops messages when a subscriber is slow or disconnected, so the
 * feed is a hint, never the truth: each event carries the publishing
 * server's random epoch and a sequence number counting up from 1, and this
 * file reports a gap whenever the pair does not follow the previous one (a
 * skipped seq, a new epoch after a server restart, or an unreadable message
 * that was dropped). A desk that sees a gap re-reads what it shows.
 *
 * One fd_events belongs to one thread: fd_events_next keeps the last
 * (epoch, seq) it saw and is not meant to be called concurrently. A front
 * end on an event loop watches fd_events_pollfd's descriptor instead of
 * blocking, and drains with fd_events_try_next.
 */
#include "frontdesk.h"

#include <nng/nng.h>
#include <nng/protocol/pubsub0/sub.h>
#include <stdlib.h>

#include "internal.h"

/* Events are a few dozen bytes; anything near this is not ours. */
#define EVENTS_RECV_MAX_BYTES (1024u * 1024)

struct fd_events {
	nng_socket sock;
	bool have_last;      /* false until the first event arrives */
	uint64_t last_epoch;
	uint64_t last_seq;
	bool dropped;        /* an unreadable message was skipped since */
};

int fd_events_open(fd_events **out, const char *url, fd_status *st)
{
	fd_events *ev;
	int rv;

	*out = NULL;
	if (!url || !url[0])
		return fd_fail(st, FD_INVALID_ARGUMENT, "no events URL given");
	if (!(ev = calloc(1, sizeof *ev)))
		return fd_fail(st, FD_RESOURCE_EXHAUSTED, "out of memory");
	if ((rv = nng_sub0_open(&ev->sock)) != 0) {
		free(ev);
		return fd_fail(st, FD_INTERNAL, "cannot open an nng SUB socket: %s",
			       nng_strerror(rv));
	}
	/* An empty topic matches every message: the server publishes bare
	 * Event messages and the desk filters by topic after unpacking. */
	if ((rv = nng_socket_set(ev->sock, NNG_OPT_SUB_SUBSCRIBE, "", 0)) ||
	    (rv = nng_socket_set_size(ev->sock, NNG_OPT_RECVMAXSZ,
				      EVENTS_RECV_MAX_BYTES))) {
		fd_events_close(ev);
		return fd_fail(st, FD_INTERNAL, "cannot configure the SUB socket: %s",
			       nng_strerror(rv));
	}
	/* Non-blocking: the feed connects whenever the server is (or comes)
	 * up, and a desk opened before the server still gets its events. */
	if ((rv = nng_dial(ev->sock, url, NULL, NNG_FLAG_NONBLOCK)) != 0) {
		fd_events_close(ev);
		if (fd_client_url_rejected(rv))
			return fd_fail(st, FD_INVALID_ARGUMENT,
				       "'%s' is not a usable events URL (%s)", url,
				       nng_strerror(rv));
		return fd_client_dial_failure(st, rv, "Frontdesk event feed", url);
	}
	*out = ev;
	fd_status_ok(st);
	return FD_OK;
}

void fd_events_close(fd_events *ev)
{
	if (!ev)
		return;
	nng_close(ev->sock);
	free(ev);
}

/* Whether `e` does not directly follow the previous event, and remembers
 * it as the new previous one. */
static bool follows_gap(fd_events *ev, const Frontdesk__V1__Event *e)
{
	bool gap = ev->dropped;

	if (ev->have_last &&
	    (e->epoch != ev->last_epoch || e->seq != ev->last_seq + 1))
		gap = true;
	ev->have_last = true;
	ev->last_epoch = e->epoch;
	ev->last_seq = e->seq;
	ev->dropped = false;
	return gap;
}

int fd_events_next(fd_events *ev, int timeout_ms, Frontdesk__V1__Event **event,
		   bool *gap, fd_status *st)
{
	int64_t deadline = fd_now_mono_ms() + (timeout_ms > 0 ? timeout_ms : 0);

	*event = NULL;
	*gap = false;
	for (;;) {
		int64_t left = deadline - fd_now_mono_ms();
		nng_duration wait;
		nng_msg *msg;
		int rv;

		if (timeout_ms < 0)
			wait = NNG_DURATION_INFINITE;
		else
			wait = left > 0 ? (nng_duration)left : 0;
		nng_socket_set_ms(ev->sock, NNG_OPT_RECVTIMEO, wait);
		rv = nng_recvmsg(ev->sock, &msg, 0);
		if (rv == NNG_ETIMEDOUT)
			return fd_fail(st, FD_DEADLINE_EXCEEDED,
				       "no event within %d ms", timeout_ms);
		if (rv != 0)
			return fd_fail(st, FD_UNAVAILABLE, "event feed failed: %s",
				       nng_strerror(rv));
		*event = frontdesk__v1__event__unpack(NULL, nng_msg_len(msg),
						      nng_msg_body(msg));
		nng_msg_free(msg);
		if (!*event) {
			/* Skipped, but the desk must still learn that it
			 * missed something. */
			ev->dropped = true;
			continue;
		}
		*gap = follows_gap(ev, *event);
		fd_status_ok(st);
		return FD_OK;
	}
}

int fd_events_pollfd(fd_events *ev, int *fd, fd_status *st)
{
	int rv = nng_socket_get_int(ev->sock, NNG_OPT_RECVFD, fd);

	if (rv != 0) {
		*fd = -1;
		return fd_fail(st, FD_INTERNAL,
			       "the event feed has no pollable descriptor: %s",
			       nng_strerror(rv));
	}
	fd_status_ok(st);
	return FD_OK;
}

int fd_events_try_next(fd_events *ev, Frontdesk__V1__Event **event, bool *gap,
		       fd_status *st)
{
	*event = NULL;
	*gap = false;
	for (;;) {
		nng_msg *msg;
		int rv = nng_recvmsg(ev->sock, &msg, NNG_FLAG_NONBLOCK);

		if (rv == NNG_EAGAIN)
			return fd_fail(st, FD_DEADLINE_EXCEEDED, "no event waiting");
		if (rv != 0)
			return fd_fail(st, FD_UNAVAILABLE, "event feed failed: %s",
				       nng_strerror(rv));
		*event = frontdesk__v1__event__unpack(NULL, nng_msg_len(msg),
						      nng_msg_body(msg));
		nng_msg_free(msg);
		if (!*event) {
			ev->dropped = true; /* reported as a gap with the next one */
			continue;
		}
		*gap = follows_gap(ev, *event);
		fd_status_ok(st);
		return FD_OK;
	}
}
