/*
 * `desk console`: the loop, the link to the server, login and lock.
 *
 * Everything happens on one libuv loop: stdin is a uv_poll (keys are read
 * with ncurses' non-blocking get_wch until it runs dry), SIGWINCH a
 * uv_signal that resizes curses, the idle lock and the heartbeat timers.
 * Live events come from a listener thread (events_main) that blocks on the
 * PUB feed and only sets bits and wakes the loop; the loop re-reads the
 * views those bits name, and everything on a gap. The heartbeat (a Health
 * Ping) is what notices a server that went away while the desk is quiet:
 * the banner goes up, typed text stays where it is, and the first Ping
 * that answers again re-reads everything.
 */
#include <curses.h>
#include <errno.h>
#include <locale.h>
#include <signal.h>
#include <sodium.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "console.h"
#include "output.h"

#define countof(a) (sizeof(a) / sizeof((a)[0]))

enum { FIELD_USER, FIELD_PASSWORD, FIELD_DESK };

/* --- status and prompts ---------------------------------------------- */

void console_set_status(struct console *c, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(c->status, sizeof c->status, fmt, ap);
	va_end(ap);
}

void console_open_prompt(struct console *c, const char *label,
			 console_prompt_done done)
{
	c->prompt.active = true;
	snprintf(c->prompt.label, sizeof c->prompt.label, "%s", label);
	c->prompt.input.len = 0;
	c->prompt.input.text[0] = '\0';
	c->prompt.done = done;
	c->prompt.quick = NULL;
	c->prompt.n_quick = 0;
}

static void field_clear(struct console_field *f)
{
	sodium_memzero(f->text, sizeof f->text);
	f->len = 0;
}

static void field_set(struct console_field *f, const char *s)
{
	snprintf(f->text, sizeof f->text, "%s", s ? s : "");
	f->len = strlen(f->text);
}

/* Appends one typed character (as UTF-8); printable ones only, so a
 * pasted escape sequence cannot end up in a request. */
static void field_type(struct console_field *f, wint_t ch)
{
	char mb[MB_LEN_MAX];
	mbstate_t ps;
	size_t n;

	if (ch < 0x20 || ch == 0x7f || (ch >= 0x80 && ch < 0xa0))
		return;
	memset(&ps, 0, sizeof ps);
	n = wcrtomb(mb, (wchar_t)ch, &ps);
	if (n == (size_t)-1 || f->len + n >= sizeof f->text)
		return;
	memcpy(f->text + f->len, mb, n);
	f->len += n;
	f->text[f->len] = '\0';
}

/* Removes the last character, whole (UTF-8 continuation bytes too). */
static void field_backspace(struct console_field *f)
{
	while (f->len > 0) {
		unsigned char b = (unsigned char)f->text[--f->len];

		if ((b & 0xc0) != 0x80)
			break;
	}
	f->text[f->len] = '\0';
}

/* Edits a field with one key; true when the key was an edit. */
static bool field_edit(struct console_field *f, wint_t ch, bool is_key)
{
	if ((is_key && ch == KEY_BACKSPACE) || (!is_key && (ch == 0x7f || ch == 8))) {
		field_backspace(f);
		return true;
	}
	if (!is_key && ch == 0x15) { /* ^U clears the line */
		field_clear(f);
		return true;
	}
	if (!is_key && ch >= 0x20) {
		field_type(f, ch);
		return true;
	}
	return false;
}

/* --- calls ----------------------------------------------------------- */

static void link_lost(struct console *c)
{
	c->connected = false;
}

int console_call(struct console *c, const ProtobufCServiceDescriptor *svc,
		 const char *method, const ProtobufCMessage *request,
		 ProtobufCMessage **reply, const char *action)
{
	const ProtobufCMethodDescriptor *m =
		protobuf_c_service_descriptor_get_method_by_name(svc, method);
	char path[256];
	fd_status st;

	*reply = NULL;
	if (!m || m->input != request->descriptor) {
		console_set_status(c, "%s: desk bug: no method %s", action, method);
		return FD_INTERNAL;
	}
	/* While the banner is up, calls fail at once instead of freezing the
	 * keyboard for a deadline each; the heartbeat brings the link back
	 * and re-reads what is shown. */
	if (!c->client || !c->connected) {
		console_set_status(c, "%s: the server is unreachable", action);
		return FD_UNAVAILABLE;
	}
	snprintf(path, sizeof path, "/%s/%s", svc->name, m->name);
	if (fd_client_call(c->client, path, request, m->output, reply,
			   CONSOLE_CALL_MS, &st) == FD_OK)
		return FD_OK;
	{
		char *msg = desk_escape_text(st.message);

		console_set_status(c, "%s: %s", action, msg ? msg : "failed");
		free(msg);
	}
	if (st.code == FD_UNAVAILABLE || st.code == FD_DEADLINE_EXCEEDED)
		link_lost(c);
	else if (st.code == FD_UNAUTHENTICATED && c->logged_in && !c->locked) {
		/* The server ended the session: ask for the password again. */
		c->locked = true;
		console_forget(c);
	}
	return st.code;
}

/* --- events ---------------------------------------------------------- */

static unsigned topic_changes(const char *topic)
{
	if (!topic)
		return 0;
	if (!strncmp(topic, "appointment.", 12) || !strncmp(topic, "scheduling.", 11) ||
	    !strncmp(topic, "checkin.", 8) || !strncmp(topic, "visit.", 6))
		return CHANGED_TODAY;
	if (!strncmp(topic, "phone.", 6))
		return CHANGED_PHONES;
	if (!strncmp(topic, "patient.", 8))
		return CHANGED_PATIENTS | CHANGED_TODAY;
	return 0;
}

/* The listener thread: waits on the feed, marks what changed, wakes the
 * loop. It touches nothing else of the console. */
static void *events_main(void *arg)
{
	struct console *c = arg;
	fd_events *ev = NULL;
	fd_status st;

	if (fd_events_open(&ev, c->events_thread_url, &st) != FD_OK)
		return NULL;
	while (!atomic_load(&c->events_stop)) {
		Frontdesk__V1__Event *event = NULL;
		bool gap = false;
		unsigned bits;

		if (fd_events_next(ev, 250, &event, &gap, &st) != FD_OK)
			continue;
		bits = gap ? CHANGED_ALL : topic_changes(event->topic);
		protobuf_c_message_free_unpacked(&event->base, NULL);
		if (!bits)
			continue;
		pthread_mutex_lock(&c->events_lock);
		c->pending |= bits;
		pthread_mutex_unlock(&c->events_lock);
		uv_async_send(&c->events_wake);
	}
	fd_events_close(ev);
	return NULL;
}

static void events_start(struct console *c)
{
	if (c->events_running || !c->events_url[0])
		return;
	snprintf(c->events_thread_url, sizeof c->events_thread_url, "%s",
		 c->events_url);
	atomic_store(&c->events_stop, false);
	if (pthread_create(&c->events_thread, NULL, events_main, c) == 0)
		c->events_running = true;
}

static void events_stop(struct console *c)
{
	if (!c->events_running)
		return;
	atomic_store(&c->events_stop, true);
	pthread_join(c->events_thread, NULL);
	c->events_running = false;
}

static void on_events(uv_async_t *h)
{
	struct console *c = h->data;
	unsigned bits;

	pthread_mutex_lock(&c->events_lock);
	bits = c->pending;
	c->pending = 0;
	pthread_mutex_unlock(&c->events_lock);
	if (bits && c->logged_in && !c->locked && c->connected) {
		console_refresh(c, bits);
		console_draw(c);
	}
}

/* --- the link -------------------------------------------------------- */

/* Pings the server; on the way back up re-reads everything. */
static void check_link(struct console *c)
{
	Frontdesk__V1__PingRequest req = FRONTDESK__V1__PING_REQUEST__INIT;
	Frontdesk__V1__PingReply *r = NULL;
	bool was = c->connected;
	fd_status st;

	if (!c->client) {
		fd_client_options o = { .url = desk_server_url(c->d),
					.timeout_ms = CONSOLE_CALL_MS,
					.resend_ms = 1000 };

		if (fd_client_open(&c->client, &o, &st) != FD_OK) {
			c->connected = false;
			return;
		}
	}
	if (fd_client_call(c->client, "/frontdesk.v1.Health/Ping", &req.base,
			   &frontdesk__v1__ping_reply__descriptor,
			   (ProtobufCMessage **)&r, CONSOLE_PING_MS, &st) != FD_OK) {
		c->connected = false;
		return;
	}
	c->connected = true;
	if (!c->events_url[0] && r->events_url)
		snprintf(c->events_url, sizeof c->events_url, "%s", r->events_url);
	protobuf_c_message_free_unpacked(&r->base, NULL);
	events_start(c);
	if (!was && c->logged_in && !c->locked) {
		console_set_status(c, "reconnected");
		console_refresh(c, CHANGED_ALL);
	}
}

static void on_heartbeat(uv_timer_t *t)
{
	struct console *c = t->data;
	bool was = c->connected;

	check_link(c);
	if (was != c->connected || !c->connected)
		console_draw(c);
}

/* --- login and lock -------------------------------------------------- */

static void on_idle(uv_timer_t *t)
{
	struct console *c = t->data;

	if (!c->logged_in || c->locked)
		return;
	c->locked = true;
	c->prompt.active = false;
	c->login_focus = FIELD_PASSWORD;
	console_forget(c);
	console_set_status(c, "locked after %u s without a key", c->lock_after_s);
	console_draw(c);
}

static void idle_restart(struct console *c)
{
	if (c->logged_in && !c->locked && c->lock_after_s)
		uv_timer_start(&c->idle_timer, on_idle, c->lock_after_s * 1000ull, 0);
}

/* Logs in with the form's fields; also how a locked screen unlocks (a
 * fresh session, so an expired one does not matter). */
static void submit_login(struct console *c)
{
	Frontdesk__V1__LoginRequest req = FRONTDESK__V1__LOGIN_REQUEST__INIT;
	Frontdesk__V1__LoginReply *r;
	ProtobufCMessage *reply;

	if (!c->login[FIELD_USER].len || !c->login[FIELD_PASSWORD].len ||
	    !c->login[FIELD_DESK].len) {
		console_set_status(c, "user, password and desk are all needed");
		return;
	}
	if (!c->connected)
		check_link(c);
	req.username = c->login[FIELD_USER].text;
	req.password = c->login[FIELD_PASSWORD].text;
	req.desk = c->login[FIELD_DESK].text;
	fd_client_set_token(c->client, NULL);
	if (console_call(c, &frontdesk__v1__auth__descriptor, "Login", &req.base,
			 &reply, "cannot log in") != FD_OK) {
		field_clear(&c->login[FIELD_PASSWORD]);
		return;
	}
	field_clear(&c->login[FIELD_PASSWORD]);
	r = (Frontdesk__V1__LoginReply *)reply;
	fd_client_set_token(c->client, r->session_token);
	sodium_memzero(r->session_token, strlen(r->session_token));
	snprintf(c->display_name, sizeof c->display_name, "%s",
		 r->staff && r->staff->display_name ? r->staff->display_name
						     : c->login[FIELD_USER].text);
	c->idle_timeout_s = r->idle_timeout_s;
	if (!c->lock_after_s ||
	    (r->idle_timeout_s && c->lock_after_s > r->idle_timeout_s))
		c->lock_after_s = r->idle_timeout_s;
	protobuf_c_message_free_unpacked(reply, NULL);
	c->logged_in = true;
	c->locked = false;
	if (c->view == VIEW_LOGIN)
		c->view = VIEW_TODAY;
	console_set_status(c, "welcome");
	console_refresh(c, CHANGED_ALL);
	idle_restart(c);
}

static void login_key(struct console *c, wint_t ch, bool is_key)
{
	if (ch == '\t' || (is_key && ch == KEY_DOWN)) {
		c->login_focus = (c->login_focus + 1) % 3;
		return;
	}
	if (is_key && (ch == KEY_UP || ch == KEY_BTAB)) {
		c->login_focus = (c->login_focus + 2) % 3;
		return;
	}
	if (ch == '\n' || ch == '\r' || (is_key && ch == KEY_ENTER)) {
		if (!c->locked && c->login_focus != FIELD_DESK &&
		    !c->login[c->login_focus + 1].len) {
			c->login_focus++;
			return;
		}
		submit_login(c);
		return;
	}
	/* A locked screen only takes the password of whoever locked it. */
	if (c->locked && c->login_focus != FIELD_PASSWORD)
		c->login_focus = FIELD_PASSWORD;
	field_edit(&c->login[c->login_focus], ch, is_key);
}

/* --- keys ------------------------------------------------------------ */

static void prompt_key(struct console *c, wint_t ch, bool is_key)
{
	if (!is_key && ch == 27) {
		c->prompt.active = false;
		console_set_status(c, "cancelled");
		return;
	}
	if (ch == '\n' || ch == '\r' || (is_key && ch == KEY_ENTER)) {
		char text[CONSOLE_FIELD_MAX];

		c->prompt.active = false;
		snprintf(text, sizeof text, "%s", c->prompt.input.text);
		c->prompt.done(c, text);
		return;
	}
	if (!is_key && !c->prompt.input.len && ch >= '1' &&
	    ch < '1' + (wint_t)c->prompt.n_quick) {
		c->prompt.active = false;
		c->prompt.done(c, c->prompt.quick[ch - '1']);
		return;
	}
	field_edit(&c->prompt.input, ch, is_key);
}

static void switch_view(struct console *c, enum console_view v)
{
	c->view = v;
	c->help = false;
	console_refresh(c, v == VIEW_PHONES ? CHANGED_PHONES
			   : v == VIEW_PATIENTS ? CHANGED_PATIENTS
						: CHANGED_TODAY);
}

/* Keys that mean the same in every view once logged in. */
static bool global_key(struct console *c, wint_t ch, bool is_key)
{
	bool typing = c->view == VIEW_PATIENTS && !c->booking.open;

	if (is_key && ch == KEY_F(1)) {
		switch_view(c, VIEW_TODAY);
	} else if (is_key && ch == KEY_F(2)) {
		switch_view(c, VIEW_PHONES);
	} else if (is_key && ch == KEY_F(3)) {
		switch_view(c, VIEW_PATIENTS);
	} else if (is_key && ch == KEY_F(4)) {
		console_answer_first(c);
	} else if (is_key && ch == KEY_F(5)) {
		switch_view(c, VIEW_BOARD);
	} else if (!is_key && ch == '\t') {
		switch_view(c, c->view == VIEW_TODAY      ? VIEW_BOARD
			       : c->view == VIEW_BOARD    ? VIEW_PHONES
			       : c->view == VIEW_PHONES   ? VIEW_PATIENTS
							  : VIEW_TODAY);
	} else if ((is_key && ch == KEY_F(12)) || (!is_key && ch == 0x0c)) {
		uv_timer_stop(&c->idle_timer);
		on_idle(&c->idle_timer);
	} else if (!is_key && ch == 0x11) { /* ^Q */
		c->quit = true;
	} else if (!is_key && ch == '?') {
		c->help = !c->help;
	} else if (c->help && !is_key && ch == 27) {
		c->help = false;
	} else if (!typing && !is_key && ch >= '1' && ch <= '4') {
		switch_view(c, ch == '1'   ? VIEW_TODAY
			       : ch == '2' ? VIEW_PHONES
			       : ch == '3' ? VIEW_PATIENTS
					   : VIEW_BOARD);
	} else if (!typing && !is_key && ch == 'q') {
		c->quit = true;
	} else {
		return false;
	}
	return true;
}

static void handle_key(struct console *c, wint_t ch, bool is_key)
{
	if (is_key && ch == KEY_RESIZE)
		return;
	if (!c->logged_in || c->locked) {
		if (!is_key && ch == 0x11)
			c->quit = true;
		else
			login_key(c, ch, is_key);
		return;
	}
	idle_restart(c);
	if (c->prompt.active) {
		prompt_key(c, ch, is_key);
		return;
	}
	if (global_key(c, ch, is_key))
		return;
	if (!console_view_key(c, (int)ch, is_key))
		console_set_status(c, "that key does nothing here; ? for help");
}

static void on_stdin(uv_poll_t *h, int status, int events)
{
	struct console *c = h->data;
	wint_t ch;
	int rc;

	if (status < 0) {
		c->quit = true;
	} else {
		int keys = 0;

		while ((rc = get_wch(&ch)) != ERR) {
			handle_key(c, ch, rc == KEY_CODE_YES);
			keys++;
		}
		/* A terminal that hung up stays readable with nothing to read;
		 * quit rather than spin. */
		c->empty_wakeups = keys ? 0 : c->empty_wakeups + 1;
		if (c->empty_wakeups > 1000)
			c->quit = true;
	}
	if (c->quit)
		uv_stop(c->loop);
	else
		console_draw(c);
}

static void on_winch(uv_signal_t *h, int signum)
{
	struct console *c = h->data;
	struct winsize ws;

	if (ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_row && ws.ws_col)
		resizeterm(ws.ws_row, ws.ws_col);
	clear();
	console_draw(c);
}

static void on_quit_signal(uv_signal_t *h, int signum)
{
	struct console *c = h->data;

	c->quit = true;
	uv_stop(c->loop);
}

/* --- start and stop -------------------------------------------------- */

static int parse_flags(struct console *c, int argc, char **argv)
{
	const char *desk_flag = NULL, *user = NULL, *location = NULL,
		   *lock_after = NULL;
	const struct desk_flag flags[] = {
		{ "desk", DESK_FLAG_TEXT, &desk_flag, "CODE",
		  "the desk you sit at (FRONTDESK_DESK, `desk =` in desk.conf)" },
		{ "user", DESK_FLAG_TEXT, &user, "NAME", "fill in the user name" },
		{ "location", DESK_FLAG_TEXT, &location, "CODE",
		  "the location whose day is shown (default: the clinic's first)" },
		{ "lock-after", DESK_FLAG_TEXT, &lock_after, "SECONDS",
		  "lock sooner than the session's idle timeout" },
	};
	int rc;

	if ((rc = desk_parse_flags(c->d, flags, countof(flags), argc, argv)) != DESK_GO)
		return rc;
	if (lock_after) {
		char *end;
		long s;

		errno = 0;
		s = strtol(lock_after, &end, 10);
		if (errno || *end || s < 1 || s > 86400)
			return desk_usage(c->d, "--lock-after wants 1 to 86400 seconds");
		c->lock_after_s = (unsigned)s;
	}
	field_set(&c->login[FIELD_USER], user);
	field_set(&c->login[FIELD_DESK], desk_code(c->d, desk_flag));
	snprintf(c->location, sizeof c->location, "%s", location ? location : "");
	c->login_focus = user ? FIELD_PASSWORD : FIELD_USER;
	return DESK_GO;
}

static void start_curses(void)
{
	setlocale(LC_ALL, "");
	initscr();
	raw();
	noecho();
	nonl();
	keypad(stdscr, TRUE);
	nodelay(stdscr, TRUE);
	set_escdelay(25);
	curs_set(0);
	console_colors();
}

static void close_walk(uv_handle_t *h, void *arg)
{
	if (!uv_is_closing(h))
		uv_close(h, NULL);
}

static void logout(struct console *c)
{
	Frontdesk__V1__LogoutRequest req = FRONTDESK__V1__LOGOUT_REQUEST__INIT;
	ProtobufCMessage *reply;

	if (!c->logged_in || !c->connected)
		return;
	if (console_call(c, &frontdesk__v1__auth__descriptor, "Logout", &req.base,
			 &reply, "cannot log out") == FD_OK)
		protobuf_c_message_free_unpacked(reply, NULL);
}

static void run_loop(struct console *c)
{
	uv_poll_init(c->loop, &c->stdin_watch, STDIN_FILENO);
	uv_signal_init(c->loop, &c->winch);
	uv_signal_init(c->loop, &c->sigterm);
	uv_signal_init(c->loop, &c->sighup);
	uv_timer_init(c->loop, &c->idle_timer);
	uv_timer_init(c->loop, &c->heartbeat_timer);
	uv_async_init(c->loop, &c->events_wake, on_events);
	c->stdin_watch.data = c->winch.data = c->sigterm.data = c->sighup.data = c;
	c->idle_timer.data = c->heartbeat_timer.data = c->events_wake.data = c;
	uv_poll_start(&c->stdin_watch, UV_READABLE, on_stdin);
	uv_signal_start(&c->winch, on_winch, SIGWINCH);
	uv_signal_start(&c->sigterm, on_quit_signal, SIGTERM);
	uv_signal_start(&c->sighup, on_quit_signal, SIGHUP);
	uv_timer_start(&c->heartbeat_timer, on_heartbeat, CONSOLE_HEARTBEAT_MS,
		       CONSOLE_HEARTBEAT_MS);
	check_link(c);
	console_draw(c);
	uv_run(c->loop, UV_RUN_DEFAULT);
	events_stop(c);
	uv_walk(c->loop, close_walk, NULL);
	uv_run(c->loop, UV_RUN_DEFAULT);
}

int console_main(struct desk *d, int argc, char **argv)
{
	struct console c;
	uv_loop_t loop;
	int rc;

	memset(&c, 0, sizeof c);
	c.d = d;
	if ((rc = parse_flags(&c, argc, argv)) != DESK_GO)
		return rc;
	if (!isatty(STDIN_FILENO) || !isatty(STDOUT_FILENO))
		return desk_usage(d, "the console needs a terminal (stdin and stdout)");
	if (sodium_init() < 0 || uv_loop_init(&loop) != 0)
		return desk_fail_local(d, FD_INTERNAL, NULL, "cannot start the console");
	c.loop = &loop;
	pthread_mutex_init(&c.events_lock, NULL);
	signal(SIGPIPE, SIG_IGN);
	start_curses();
	run_loop(&c);
	logout(&c);
	endwin();
	console_forget(&c);
	field_clear(&c.login[FIELD_PASSWORD]);
	if (c.client)
		fd_client_close(c.client);
	pthread_mutex_destroy(&c.events_lock);
	return uv_loop_close(&loop) == 0 ? 0 : 70;
}
