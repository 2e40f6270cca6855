/*
 * `desk console`: the loop, login and lock, and the keys every view shares.
 *
 * Everything happens on one libuv loop: stdin is a uv_poll (keys are read
 * with ncurses' non-blocking get_wch until it runs dry; a click arrives as
 * KEY_MOUSE), SIGWINCH a uv_signal that resizes curses, the idle lock and
 * the heartbeat timers, the event feed a uv_poll (console_events.c) and
 * replies an async handle (console_calls.c). No call blocks the loop. The
 * heartbeat (a Health Ping) is what notices a server that went away while
 * the desk is quiet: the banner goes up, typed text stays where it is, and
 * the first Ping that answers again re-reads everything.
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

void console_set_status(struct console *c, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(c->status, sizeof c->status, fmt, ap);
	va_end(ap);
}

/* --- the link -------------------------------------------------------- */

static void ping_done(struct console *c, struct console_reply *r)
{
	Frontdesk__V1__PingReply *ping = (Frontdesk__V1__PingReply *)r->msg;
	bool was = c->connected;

	c->link_checked = true;
	if (r->code != FD_OK) {
		c->connected = false;
		return;
	}
	c->connected = true;
	if (!c->events_url[0] && ping->events_url)
		snprintf(c->events_url, sizeof c->events_url, "%s", ping->events_url);
	console_events_start(c);
	if (!was && c->logged_in && !c->locked) {
		console_set_status(c, "reconnected");
		console_refresh(c, CHANGED_ALL);
	}
}

static void on_heartbeat(uv_timer_t *t)
{
	console_send_ping(t->data, ping_done);
}

/* --- login and lock -------------------------------------------------- */

void console_lock(struct console *c, const char *why)
{
	if (!c->logged_in || c->locked)
		return;
	c->locked = true;
	c->session_gen++; /* replies already on their way are dropped */
	c->prompt.active = false;
	c->form.open = false;
	c->login_focus = FIELD_PASSWORD;
	console_forget(c);
	console_set_status(c, "%s", why);
}

static void on_idle(uv_timer_t *t)
{
	struct console *c = t->data;
	char why[64];

	snprintf(why, sizeof why, "locked after %u s without a key", c->lock_after_s);
	console_lock(c, why);
	console_draw(c);
}

static void idle_restart(struct console *c)
{
	if (c->logged_in && !c->locked && c->lock_after_s)
		uv_timer_start(&c->idle_timer, on_idle, c->lock_after_s * 1000ull, 0);
}

static void login_done(struct console *c, struct console_reply *r)
{
	Frontdesk__V1__LoginReply *login = (Frontdesk__V1__LoginReply *)r->msg;

	if (r->code != FD_OK)
		return;
	snprintf(c->display_name, sizeof c->display_name, "%s",
		 login->staff && login->staff->display_name ? login->staff->display_name
							     : c->login[FIELD_USER].text);
	c->idle_timeout_s = login->idle_timeout_s;
	if (!c->lock_after_s ||
	    (login->idle_timeout_s && c->lock_after_s > login->idle_timeout_s))
		c->lock_after_s = login->idle_timeout_s;
	c->logged_in = true;
	c->locked = false;
	if (c->view == VIEW_LOGIN)
		c->view = VIEW_TODAY;
	console_set_status(c, "welcome");
	console_refresh(c, CHANGED_ALL);
	idle_restart(c);
}

/* Logs in with the form's fields; also how a locked screen unlocks (a
 * fresh session, so an expired one does not matter). The password is
 * wiped from the form as soon as the request holds its copy. */
static void submit_login(struct console *c)
{
	Frontdesk__V1__LoginRequest req = FRONTDESK__V1__LOGIN_REQUEST__INIT;

	if (!c->login[FIELD_USER].len || !c->login[FIELD_PASSWORD].len ||
	    !c->login[FIELD_DESK].len) {
		console_set_status(c, "user, password and desk are all needed");
		return;
	}
	if (!c->connected)
		console_send_ping(c, ping_done);
	req.username = c->login[FIELD_USER].text;
	req.password = c->login[FIELD_PASSWORD].text;
	req.desk = c->login[FIELD_DESK].text;
	console_set_status(c, "logging in...");
	console_send_login(c, &req, login_done);
	console_field_clear(&c->login[FIELD_PASSWORD]);
}

static void login_key(struct console *c, unsigned ch, bool is_key)
{
	if (ch == '\t' || (is_key && ch == KEY_DOWN)) {
		c->login_focus = (c->login_focus + 1) % 3;
		return;
	}
	if (is_key && (ch == KEY_UP || ch == KEY_BTAB)) {
		c->login_focus = (c->login_focus + 2) % 3;
		return;
	}
	if (console_is_enter((int)ch, is_key)) {
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
	console_field_edit(&c->login[c->login_focus], ch, is_key);
}

/* --- keys ------------------------------------------------------------ */

static void switch_view(struct console *c, enum console_view v)
{
	c->view = v;
	c->help = false;
	console_receipt_close(c);
	console_refresh(c, v == VIEW_PHONES ? CHANGED_PHONES
			   : v == VIEW_PATIENTS ? CHANGED_PATIENTS
						: CHANGED_TODAY);
}

/* Letters are typed text in the search field; elsewhere they are keys. */
static bool typing(const struct console *c)
{
	return c->view == VIEW_PATIENTS && c->pane == PANE_SEARCH;
}

/* Keys that mean the same in every view once logged in. */
static bool global_key(struct console *c, unsigned ch, bool is_key)
{
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
		console_lock(c, "locked");
	} else if (!is_key && ch == 0x11) { /* ^Q */
		c->quit = true;
	} else if (!is_key && ch == '?') {
		c->help = !c->help;
	} else if (c->help && !is_key && ch == 27) {
		c->help = false;
	} else if (!typing(c) && !is_key && ch >= '1' && ch <= '4') {
		switch_view(c, ch == '1'   ? VIEW_TODAY
			       : ch == '2' ? VIEW_PHONES
			       : ch == '3' ? VIEW_PATIENTS
					   : VIEW_BOARD);
	} else if (!typing(c) && !is_key && ch == 'q') {
		c->quit = true;
	} else {
		return false;
	}
	return true;
}

/* A click on a tab switches to it; a click on a row of the list on
 * screen selects that row. Mouse is optional: every click has a key. */
static void mouse_key(struct console *c)
{
	struct console_click *k = &c->click;
	MEVENT m;

	/* Releases are in the mask only so they are consumed; the press acts. */
	if (getmouse(&m) != OK || !(m.bstate & (BUTTON1_CLICKED | BUTTON1_PRESSED)))
		return;
	if (m.y == 0) {
		enum console_view v = console_tab_at(m.x);

		if (v != VIEW_LOGIN)
			switch_view(c, v);
		return;
	}
	if (k->sel && m.y >= k->top && m.y < k->top + k->rows &&
	    k->first + (size_t)(m.y - k->top) < k->n) {
		*k->sel = k->first + (size_t)(m.y - k->top);
		if (k->sel == &c->today_sel)
			c->today_moved = true;
		if (k->sel == &c->call_sel)
			c->messages_focus = false;
		if (k->sel == &c->message_sel)
			c->messages_focus = true;
	}
}

static void handle_key(struct console *c, unsigned ch, bool is_key)
{
	if (is_key && ch == KEY_RESIZE)
		return;
	if (!c->logged_in || c->locked) {
		if (!is_key && ch == 0x11)
			c->quit = true;
		else if (!(is_key && ch == KEY_MOUSE))
			login_key(c, ch, is_key);
		return;
	}
	idle_restart(c);
	if (is_key && ch == KEY_MOUSE) {
		if (!c->prompt.active && !c->form.open)
			mouse_key(c);
		return;
	}
	if (c->prompt.active) {
		console_prompt_key(c, ch, is_key);
		return;
	}
	if (c->form.open) {
		console_form_key(c, ch, is_key);
		return;
	}
	if (c->receipt.open) {
		/* The receipt covers the view: its keys, or the global ones. */
		if (!console_receipt_key(c, (int)ch, is_key) && !global_key(c, ch, is_key))
			console_set_status(c, "w saves the receipt, Esc closes it");
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

	(void)events;
	if (status < 0) {
		c->quit = true;
	} else {
		int keys = 0;

		while ((rc = get_wch(&ch)) != ERR) {
			handle_key(c, (unsigned)ch, rc == KEY_CODE_YES);
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

	(void)signum;
	if (ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_row && ws.ws_col)
		resizeterm(ws.ws_row, ws.ws_col);
	clear();
	console_draw(c);
}

static void on_quit_signal(uv_signal_t *h, int signum)
{
	struct console *c = h->data;

	(void)signum;
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
	console_field_set(&c->login[FIELD_USER], user);
	console_field_set(&c->login[FIELD_DESK], desk_code(c->d, desk_flag));
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
	mousemask(BUTTON1_CLICKED | BUTTON1_PRESSED | BUTTON1_RELEASED, NULL);
	mouseinterval(0);
	console_colors();
}

static void close_walk(uv_handle_t *h, void *arg)
{
	(void)arg;
	if (!uv_is_closing(h))
		uv_close(h, NULL);
}

/* After the call thread stopped, the client is the main thread's: one
 * last blocking call ends the session on the server. */
static void logout(struct console *c)
{
	Frontdesk__V1__LogoutRequest req = FRONTDESK__V1__LOGOUT_REQUEST__INIT;
	ProtobufCMessage *reply = NULL;
	fd_status st;

	if (!c->client || !c->logged_in || !c->connected)
		return;
	if (fd_client_call(c->client, "/frontdesk.v1.Auth/Logout", &req.base,
			   &frontdesk__v1__logout_reply__descriptor, &reply,
			   CONSOLE_PING_MS, &st) == FD_OK)
		protobuf_c_message_free_unpacked(reply, NULL);
}

static int run_loop(struct console *c)
{
	int rc = 0;

	uv_poll_init(c->loop, &c->stdin_watch, STDIN_FILENO);
	uv_signal_init(c->loop, &c->winch);
	uv_signal_init(c->loop, &c->sigterm);
	uv_signal_init(c->loop, &c->sighup);
	uv_timer_init(c->loop, &c->idle_timer);
	uv_timer_init(c->loop, &c->heartbeat_timer);
	c->stdin_watch.data = c->winch.data = c->sigterm.data = c->sighup.data = c;
	c->idle_timer.data = c->heartbeat_timer.data = c;
	if (console_calls_start(c) == 0) {
		uv_poll_start(&c->stdin_watch, UV_READABLE, on_stdin);
		uv_signal_start(&c->winch, on_winch, SIGWINCH);
		uv_signal_start(&c->sigterm, on_quit_signal, SIGTERM);
		uv_signal_start(&c->sighup, on_quit_signal, SIGHUP);
		uv_timer_start(&c->heartbeat_timer, on_heartbeat, 0, CONSOLE_HEARTBEAT_MS);
		console_draw(c);
		uv_run(c->loop, UV_RUN_DEFAULT);
	} else {
		rc = -1;
	}
	/* The call thread goes first: it may still wake the loop. */
	console_calls_stop(c);
	console_events_stop(c);
	uv_walk(c->loop, close_walk, NULL);
	uv_run(c->loop, UV_RUN_DEFAULT);
	console_events_free(c);
	return rc;
}

int console_main(struct desk *d, int argc, char **argv)
{
	struct console *c;
	uv_loop_t loop;
	int rc;

	/* Large (replies, forms): on the heap, zeroed. */
	if (!(c = calloc(1, sizeof *c)))
		return desk_fail_local(d, FD_RESOURCE_EXHAUSTED, NULL, "out of memory");
	c->d = d;
	if ((rc = parse_flags(c, argc, argv)) != DESK_GO)
		goto out;
	if (!isatty(STDIN_FILENO) || !isatty(STDOUT_FILENO)) {
		rc = desk_usage(d, "the console needs a terminal (stdin and stdout)");
		goto out;
	}
	if (sodium_init() < 0 || uv_loop_init(&loop) != 0) {
		rc = desk_fail_local(d, FD_INTERNAL, NULL, "cannot start the console");
		goto out;
	}
	c->loop = &loop;
	snprintf(c->server_url, sizeof c->server_url, "%s", desk_server_url(d));
	signal(SIGPIPE, SIG_IGN);
	start_curses();
	rc = run_loop(c) == 0 ? 0 : 70;
	endwin();
	logout(c);
	console_forget(c);
	console_field_clear(&c->login[FIELD_PASSWORD]);
	if (c->client)
		fd_client_close(c->client);
	if (uv_loop_close(&loop) != 0)
		rc = 70;
out:
	free(c);
	return rc;
}
