/*
 * `desk console`: the live event feed, driven by the loop.
 *
 * The feed (an nng SUB socket in the client library) exposes a descriptor
 * that polls readable while an event waits (fd_events_pollfd). A uv_poll
 * watches it; on_feed drains every waiting event without blocking, adds up
 * what they say changed, and re-reads only that (everything after a gap:
 * a skipped seq or a new server epoch). The SUB socket redials by itself
 * after a server restart, so the feed is opened once, when the first Ping
 * tells its URL, and lives until the console exits.
 */
#include <string.h>

#include "console.h"

static unsigned topic_changes(const char *topic)
{
	if (!topic)
		return 0;
	if (!strncmp(topic, "appointment.", 12) || !strncmp(topic, "scheduling.", 11) ||
	    !strncmp(topic, "checkin.", 8) || !strncmp(topic, "visit.", 6) ||
	    !strncmp(topic, "payment.", 8))
		return CHANGED_TODAY;
	if (!strncmp(topic, "phone.", 6))
		return CHANGED_PHONES;
	if (!strncmp(topic, "patient.", 8) || !strncmp(topic, "insurance.", 10) ||
	    !strncmp(topic, "intake.", 7))
		return CHANGED_PATIENTS | CHANGED_TODAY;
	return 0;
}

static void on_feed(uv_poll_t *h, int status, int events)
{
	struct console *c = h->data;
	Frontdesk__V1__Event *event;
	unsigned bits = 0;
	bool gap;
	fd_status st;

	(void)events;
	if (status < 0)
		return;
	while (fd_events_try_next(c->events, &event, &gap, &st) == FD_OK) {
		bits |= gap ? CHANGED_ALL : topic_changes(event->topic);
		protobuf_c_message_free_unpacked(&event->base, NULL);
	}
	if (bits && c->logged_in && !c->locked && c->connected) {
		console_refresh(c, bits);
		console_draw(c);
	}
}

void console_events_start(struct console *c)
{
	fd_status st;
	int fd;

	if (c->events || !c->events_url[0])
		return;
	if (fd_events_open(&c->events, c->events_url, &st) != FD_OK)
		return;
	if (fd_events_pollfd(c->events, &fd, &st) != FD_OK ||
	    uv_poll_init(c->loop, &c->events_watch, fd) != 0) {
		fd_events_close(c->events);
		c->events = NULL;
		return;
	}
	c->events_watch.data = c;
	uv_poll_start(&c->events_watch, UV_READABLE, on_feed);
	c->events_watching = true;
}

void console_events_stop(struct console *c)
{
	if (c->events_watching && !uv_is_closing((uv_handle_t *)&c->events_watch))
		uv_close((uv_handle_t *)&c->events_watch, NULL);
}

void console_events_free(struct console *c)
{
	fd_events_close(c->events);
	c->events = NULL;
	c->events_watching = false;
}
