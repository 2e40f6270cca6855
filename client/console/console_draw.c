/*
 * `desk console`: drawing. Every screen is redrawn whole from struct
 * console (curses sends only what changed), so a resize or a reconnect
 * needs nothing special. Every string that came from the server goes
 * through console_put, which escapes it exactly as the CLI does
 * (output.c's desk_escape_text: control characters, ESC, C1, bidi
 * overrides, bad UTF-8) and clips it to its column by display width.
 *
 * Layout: line 0 the header and view tabs; line 1 the banner (server
 * unreachable, or a call ringing); the view's body; the status line; the
 * keys of the view on the last line.
 */
#include <curses.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <wchar.h>

#include "console.h"
#include "output.h"

enum {
	PAIR_HEADER = 1,
	PAIR_BANNER,
	PAIR_RING,
	PAIR_CONFIRMED,
	PAIR_ARRIVED,
	PAIR_IN_ROOM,
	PAIR_NO_SHOW,
	PAIR_CANCELLED,
	PAIR_DONE,
	PAIR_KEYS,
};

void console_colors(void)
{
	if (!has_colors())
		return;
	start_color();
	use_default_colors();
	init_pair(PAIR_HEADER, COLOR_WHITE, COLOR_BLUE);
	init_pair(PAIR_BANNER, COLOR_WHITE, COLOR_RED);
	init_pair(PAIR_RING, COLOR_BLACK, COLOR_YELLOW);
	init_pair(PAIR_CONFIRMED, COLOR_CYAN, -1);
	init_pair(PAIR_ARRIVED, COLOR_YELLOW, -1);
	init_pair(PAIR_IN_ROOM, COLOR_GREEN, -1);
	init_pair(PAIR_NO_SHOW, COLOR_MAGENTA, -1);
	init_pair(PAIR_CANCELLED, COLOR_RED, -1);
	init_pair(PAIR_DONE, COLOR_BLUE, -1);
	init_pair(PAIR_KEYS, COLOR_BLACK, COLOR_WHITE);
}

void console_put(int y, int x, int width, const char *text)
{
	char *safe = desk_escape_text(text ? text : "");
	const char *p = safe;
	mbstate_t ps;
	int used = 0;

	if (!safe || width <= 0)
		goto out;
	memset(&ps, 0, sizeof ps);
	move(y, x);
	while (*p && used < width) {
		wchar_t wc;
		size_t n = mbrtowc(&wc, p, strlen(p), &ps);
		int w;

		if (n == 0 || n == (size_t)-1 || n == (size_t)-2)
			break; /* cannot happen after escaping; stop, never guess */
		w = wcwidth(wc);
		if (w < 0 || used + w > width)
			break;
		addnwstr(&wc, 1);
		used += w;
		p += n;
	}
out:
	free(safe);
}

/* A whole line in one colour pair, padded to the screen's width. */
static void fill_line(int y, int pair)
{
	attron(COLOR_PAIR(pair));
	mvhline(y, 0, ' ', COLS);
	attroff(COLOR_PAIR(pair));
}

static int status_pair(const char *status)
{
	if (!status)
		return 0;
	if (!strcmp(status, "confirmed"))
		return PAIR_CONFIRMED;
	if (!strcmp(status, "arrived") || !strcmp(status, "checked_in"))
		return PAIR_ARRIVED;
	if (!strcmp(status, "in_room") || !strcmp(status, "with_provider"))
		return PAIR_IN_ROOM;
	if (!strcmp(status, "no_show"))
		return PAIR_NO_SHOW;
	if (!strcmp(status, "cancelled"))
		return PAIR_CANCELLED;
	if (!strcmp(status, "completed") || !strcmp(status, "checked_out"))
		return PAIR_DONE;
	return 0;
}

static void local_hhmm(char *buf, size_t size, int64_t unix_ms)
{
	time_t t = (time_t)(unix_ms / 1000);
	struct tm tm;

	if (!unix_ms || !localtime_r(&t, &tm))
		snprintf(buf, size, "-");
	else
		strftime(buf, size, "%a %d %b %H:%M", &tm);
}

/* --- frame ----------------------------------------------------------- */

/* The view tabs on line 0, in screen order, from column TABS_X. */
#define TABS_X 12
static const char *const tab_names[] = { "F1 Today", "F2 Phones", "F3 Patients",
					 "F5 Waiting" };
static const enum console_view tab_views[] = { VIEW_TODAY, VIEW_PHONES, VIEW_PATIENTS,
					       VIEW_BOARD };

enum console_view console_tab_at(int x)
{
	int left = TABS_X;

	for (size_t i = 0; i < 4; i++) {
		int right = left + (int)strlen(tab_names[i]);

		if (x >= left && x < right)
			return tab_views[i];
		left = right + 2;
	}
	return VIEW_LOGIN;
}

void console_money(char *buf, size_t size, int64_t cents)
{
	snprintf(buf, size, "%s%lld.%02lld", cents < 0 ? "-" : "",
		 (long long)(llabs(cents) / 100), (long long)(llabs(cents) % 100));
}

static void draw_header(struct console *c)
{
	char clock[16], who[300];
	time_t now = time(NULL);
	struct tm tm;
	int x = TABS_X;

	fill_line(0, PAIR_HEADER);
	attron(COLOR_PAIR(PAIR_HEADER) | A_BOLD);
	mvaddstr(0, 0, "Frontdesk");
	attroff(A_BOLD);
	if (c->logged_in && !c->locked) {
		for (int i = 0; i < 4; i++) {
			if (c->view == tab_views[i])
				attron(A_REVERSE);
			mvaddstr(0, x, tab_names[i]);
			attroff(A_REVERSE);
			x += (int)strlen(tab_names[i]) + 2;
		}
		snprintf(who, sizeof who, "%s @ %s", c->login[0].text, c->login[2].text);
		console_put(0, x, COLS - x - 9, who);
	}
	/* A call on its way: the keyboard stays live meanwhile. */
	if (c->in_flight)
		mvaddstr(0, COLS - 8, "*");
	localtime_r(&now, &tm);
	strftime(clock, sizeof clock, "%H:%M", &tm);
	mvaddstr(0, COLS - 6, clock);
	attroff(COLOR_PAIR(PAIR_HEADER));
}

/* Remembers where a list is drawn, so a click can select its rows. */
static void clickable(struct console *c, size_t *sel, int top, int rows, size_t first,
		      size_t n)
{
	c->click = (struct console_click){ .top = top, .rows = rows, .first = first,
					   .n = n, .sel = sel };
}

static void draw_banner(struct console *c)
{
	const Frontdesk__V1__PhoneCall *ringing;
	char line[200];

	if (!c->connected && c->link_checked) {
		fill_line(1, PAIR_BANNER);
		attron(COLOR_PAIR(PAIR_BANNER) | A_BOLD);
		mvaddnstr(1, 1, "SERVER UNREACHABLE - reconnecting; what you type is kept",
			  COLS - 2);
		attroff(COLOR_PAIR(PAIR_BANNER) | A_BOLD);
		return;
	}
	if (!c->logged_in || c->locked || !(ringing = console_ringing(c)))
		return;
	fill_line(1, PAIR_RING);
	attron(COLOR_PAIR(PAIR_RING) | A_BOLD);
	snprintf(line, sizeof line, "RINGING %s on %s - F4 answers", ringing->from,
		 ringing->line);
	console_put(1, 1, COLS - 2, line);
	attroff(COLOR_PAIR(PAIR_RING) | A_BOLD);
}

static void draw_keys(struct console *c, const char *keys)
{
	int y = LINES - 1;

	fill_line(y, PAIR_KEYS);
	attron(COLOR_PAIR(PAIR_KEYS));
	mvaddnstr(y, 0, keys, COLS);
	attroff(COLOR_PAIR(PAIR_KEYS));
	/* With a prompt open the last outcome (often the reason it was
	 * opened) moves up a line. */
	mvhline(c->prompt.active ? LINES - 3 : LINES - 2, 0, ' ', COLS);
	console_put(c->prompt.active ? LINES - 3 : LINES - 2, 0, COLS, c->status);
}

/* --- login and lock -------------------------------------------------- */

static void draw_login(struct console *c)
{
	static const char *const labels[] = { "User     ", "Password ", "Desk     " };
	int y = LINES / 2 - 4 > 2 ? LINES / 2 - 4 : 2;

	if (c->locked) {
		attron(A_BOLD);
		mvaddstr(y, 4, "Locked. Patient data is hidden until you enter your password.");
		attroff(A_BOLD);
	} else {
		mvaddstr(y, 4, "Log in to the front desk");
	}
	for (int i = 0; i < 3; i++) {
		int row = y + 2 + i;

		mvaddstr(row, 4, labels[i]);
		if (i == c->login_focus)
			attron(A_UNDERLINE | A_BOLD);
		mvhline(row, 14, ' ', 30);
		/* The password is never echoed, not even as stars. */
		if (i != 1)
			console_put(row, 14, 30, c->login[i].text);
		attroff(A_UNDERLINE | A_BOLD);
	}
	draw_keys(c, c->locked ? " Enter unlock  ^Q quit"
			       : " Tab next field  Enter log in  ^Q quit");
}

/* --- Today ----------------------------------------------------------- */

/* The board's readiness for an appointment expected soon, or NULL. */
static const Frontdesk__V1__ExpectedPatient *expected(const struct console *c, int64_t appt)
{
	for (size_t i = 0; c->board && i < c->board->n_expected; i++)
		if (c->board->expected[i]->appointment_id == appt)
			return c->board->expected[i];
	return NULL;
}

static void draw_today(struct console *c, int top, int bottom)
{
	const Frontdesk__V1__ListAppointmentsReply *r = c->today;
	size_t n = r ? r->n_appointments : 0, first = 0;
	int rows = bottom - top - 1, name_w = COLS - 54;

	attron(A_BOLD);
	mvaddstr(top, 0, "Time   Provider        Patient");
	mvaddstr(top, COLS - 24, "Type");
	mvaddstr(top, COLS - 11, "Status");
	attroff(A_BOLD);
	if (!n) {
		mvaddstr(top + 2, 2, r ? "No appointments today." : "Reading the schedule...");
		return;
	}
	if (rows > 0 && c->today_sel >= (size_t)rows)
		first = c->today_sel - (size_t)rows + 1;
	clickable(c, &c->today_sel, top + 1, rows, first, n);
	for (size_t i = first; i < n && (int)(i - first) < rows; i++) {
		const Frontdesk__V1__Appointment *a = r->appointments[i];
		int y = top + 1 + (int)(i - first), pair = status_pair(a->status);
		const char *t = a->starts_local ? a->starts_local : "";
		const char *hhmm = strlen(t) >= 16 ? t + 11 : t;

		if (i == c->today_sel)
			attron(A_REVERSE);
		mvhline(y, 0, ' ', COLS);
		console_put(y, 0, 5, hhmm);
		console_put(y, 7, 15, a->provider_name);
		/* '!': something to fix before this patient is at the window. */
		const Frontdesk__V1__ExpectedPatient *e = expected(c, a->id);
		if (e && !e->ready) {
			attron(COLOR_PAIR(PAIR_CANCELLED) | A_BOLD);
			mvaddch(y, 22, '!');
			attroff(COLOR_PAIR(PAIR_CANCELLED) | A_BOLD);
		}
		console_put(y, 23, name_w + 6, a->patient_name);
		console_put(y, COLS - 24, 12, a->type_name);
		if (pair)
			attron(COLOR_PAIR(pair) | A_BOLD);
		console_put(y, COLS - 11, 11, a->status);
		if (pair)
			attroff(COLOR_PAIR(pair) | A_BOLD);
		attroff(A_REVERSE);
	}
}

/* --- Waiting room --------------------------------------------------- */

/* "form_missing x7, insurance_missing": each kind of gap once, with how
 * many (the details, such as which forms, are on the patient's record). */
static void gap_summary(const Frontdesk__V1__ExpectedPatient *e, char *out, size_t size)
{
	out[0] = '\0';
	for (size_t g = 0; g < e->n_readiness_gaps; g++) {
		const char *gap = e->readiness_gaps[g];
		size_t kind = strcspn(gap, ":"), same = 0;
		bool seen = false;

		for (size_t h = 0; h < e->n_readiness_gaps; h++) {
			bool match = strncmp(e->readiness_gaps[h], gap, kind) == 0 &&
				     strcspn(e->readiness_gaps[h], ":") == kind;
			seen |= match && h < g;
			same += match;
		}
		if (seen)
			continue;
		snprintf(out + strlen(out), size - strlen(out), same > 1 ? "%s%.*s x%zu" : "%s%.*s",
			 out[0] ? ", " : "", (int)kind, gap, same);
	}
}

/* Who is expected next and what is missing for each: the desk fixes a
 * form or a policy before the patient is at the window. */
static void draw_expected(const Frontdesk__V1__BoardReply *r, int top, int rows)
{
	attron(A_BOLD);
	mvhline(top, 0, ' ', COLS);
	mvaddstr(top, 0, "Expected     Patient                   Missing before arrival");
	attroff(A_BOLD);
	for (size_t i = 0; i < r->n_expected && (int)i < rows - 1; i++) {
		const Frontdesk__V1__ExpectedPatient *e = r->expected[i];
		const char *t = e->appointment_local;
		char when[16], missing[256] = "";
		int y = top + 1 + (int)i;

		snprintf(when, sizeof when, "%.5s%s", strlen(t) >= 16 ? t + 11 : t,
			 e->minutes_until < 0 ? " late" : "");
		gap_summary(e, missing, sizeof missing);
		mvhline(y, 0, ' ', COLS);
		console_put(y, 0, 12, when);
		console_put(y, 13, 25, e->patient_name);
		if (!e->ready)
			attron(COLOR_PAIR(PAIR_CANCELLED) | A_BOLD);
		console_put(y, 39, COLS - 39, e->ready ? "ready" : missing);
		attroff(COLOR_PAIR(PAIR_CANCELLED) | A_BOLD);
	}
}

static void draw_board(struct console *c, int top, int bottom)
{
	const Frontdesk__V1__BoardReply *r = c->board;
	size_t n = r ? r->n_visits : 0, first = 0;
	int rows = bottom - top - 1;
	/* The expected list takes the lower third at most; the present
	 * patients keep the rest. */
	int exp_rows = r && r->n_expected ? (int)r->n_expected + 1 : 0;

	if (exp_rows > rows / 3)
		exp_rows = rows / 3 >= 2 ? rows / 3 : 0;
	rows -= exp_rows;
	if (exp_rows)
		draw_expected(r, bottom - exp_rows, exp_rows);
	attron(A_BOLD);
	mvaddstr(top, 0, "Patient                   Status        Provider        Room      Min");
	attroff(A_BOLD);
	if (!n) {
		mvaddstr(top + 2, 2, r ? "Nobody is waiting." : "Reading the board...");
		return;
	}
	if (rows > 0 && c->board_sel >= (size_t)rows)
		first = c->board_sel - (size_t)rows + 1;
	clickable(c, &c->board_sel, top + 1, rows, first, n);
	for (size_t i = first; i < n && (int)(i - first) < rows; i++) {
		const Frontdesk__V1__Visit *v = r->visits[i];
		int y = top + 1 + (int)(i - first), pair = status_pair(v->status);
		char minutes[48];

		if (i == c->board_sel)
			attron(A_REVERSE);
		mvhline(y, 0, ' ', COLS);
		console_put(y, 0, 25, v->patient_name);
		if (pair)
			attron(COLOR_PAIR(pair) | A_BOLD);
		console_put(y, 26, 13, v->status);
		if (pair)
			attroff(COLOR_PAIR(pair) | A_BOLD);
		console_put(y, 40, 15, v->provider_name);
		console_put(y, 56, 9, v->room);
		snprintf(minutes, sizeof minutes, "%d%s", v->minutes_in_status,
			 v->waiting_too_long ? " LONG WAIT" : v->late ? " late" : "");
		if (v->waiting_too_long)
			attron(COLOR_PAIR(PAIR_CANCELLED) | A_BOLD);
		console_put(y, 66, COLS - 66, minutes);
		attroff(COLOR_PAIR(PAIR_CANCELLED) | A_BOLD | A_REVERSE);
	}
}

/* --- Phones ---------------------------------------------------------- */

static const char *my_presence(const struct console *c)
{
	for (size_t i = 0; c->presence && i < c->presence->n_presence; i++)
		if (!strcmp(c->presence->presence[i]->username, c->login[0].text))
			return c->presence->presence[i]->state;
	return "offline";
}

static int draw_calls(struct console *c, int y, int bottom)
{
	size_t n = c->calls ? c->calls->n_calls : 0;

	attron(A_BOLD);
	mvaddstr(y++, 0, "Calls   State      From             Line     Queue    Answered by");
	attroff(A_BOLD);
	if (!n)
		mvaddstr(y++, 2, "No calls.");
	if (!c->messages_focus)
		clickable(c, &c->call_sel, y, bottom - y, 0, n);
	for (size_t i = 0; i < n && y < bottom; i++, y++) {
		const Frontdesk__V1__PhoneCall *call = c->calls->calls[i];
		char id[24];

		if (i == c->call_sel && !c->messages_focus)
			attron(A_REVERSE);
		if (!strcmp(call->state, "waiting"))
			attron(COLOR_PAIR(PAIR_ARRIVED) | A_BOLD);
		mvhline(y, 0, ' ', COLS);
		snprintf(id, sizeof id, "%lld", (long long)call->id);
		console_put(y, 0, 7, id);
		console_put(y, 8, 10, call->state);
		console_put(y, 19, 16, call->from);
		console_put(y, 36, 8, call->line);
		console_put(y, 45, 8, call->queue);
		console_put(y, 54, COLS - 54, call->answered_by);
		attroff(COLOR_PAIR(PAIR_ARRIVED) | A_BOLD | A_REVERSE);
	}
	return y;
}

static int draw_pop(struct console *c, int y, int bottom)
{
	const Frontdesk__V1__FindPatientsReply *p = c->pop.patients;

	if (!c->pop.call_id || y >= bottom)
		return y;
	attron(A_BOLD);
	mvaddstr(y++, 0, "Caller matches");
	attroff(A_BOLD);
	if (!p || !p->n_patients)
		mvaddstr(y++, 2, "No patient has this number.");
	for (size_t i = 0; p && i < p->n_patients && i < CONSOLE_POP_MAX && y < bottom; i++, y++) {
		char line[400], next[48];

		local_hhmm(next, sizeof next, c->pop.next_unix_ms[i]);
		snprintf(line, sizeof line, "%s, %s  born %s  next: %s",
			 p->patients[i]->family_name, p->patients[i]->given_name,
			 p->patients[i]->date_of_birth,
			 c->pop.next_unix_ms[i] ? next : "none");
		console_put(y, 2, COLS - 2, line);
	}
	return y;
}

static void draw_phones(struct console *c, int top, int bottom)
{
	size_t n = c->messages ? c->messages->n_messages : 0;
	char line[200];
	int y;

	snprintf(line, sizeof line, "You are %s.", my_presence(c));
	console_put(top, 0, COLS, line);
	y = draw_calls(c, top + 1, bottom);
	y = draw_pop(c, y, bottom);
	if (y >= bottom)
		return;
	attron(A_BOLD);
	snprintf(line, sizeof line, "Messages to call back (%zu)%s", n,
		 c->messages_focus ? "  - arrows here, c done, g assign" : "  - f selects");
	mvaddstr(y++, 0, line);
	attroff(A_BOLD);
	if (c->messages_focus)
		clickable(c, &c->message_sel, y, bottom - y, 0, n);
	for (size_t i = 0; i < n && y < bottom; i++, y++) {
		const Frontdesk__V1__PhoneMessage *m = c->messages->messages[i];
		char id[24];

		if (c->messages_focus && i == c->message_sel)
			attron(A_REVERSE);
		mvhline(y, 0, ' ', COLS);
		snprintf(id, sizeof id, "#%lld", (long long)m->id);
		console_put(y, 0, 7, id);
		snprintf(line, sizeof line, "%-8s %-16s %s: %s", m->urgency,
			 m->callback_number, m->caller_name, m->reason);
		console_put(y, 8, COLS - 8, line);
		attroff(A_REVERSE);
	}
}

/* --- help and the whole screen --------------------------------------- */

static void draw_help(int top)
{
	static const char *const lines[] = {
		"Everywhere: F1/1 Today F2/2 Phones F3/3 Patients F5/4 Waiting  Tab next",
		"  F4 answer the ringing call  F12/^L lock  ? help  ^Q quit",
		"  mouse (optional): click a tab to switch, a row to select it",
		"Today:    arrows move  i check in  c copay after check-in  ! readiness gaps",
		"  k confirm  n no-show  x cancel  s move to the first free slot  r re-read",
		"Waiting:  arrows move  c collect copay  o room  d check out  r re-read",
		"Receipt:  w save to a file  Esc/Enter close",
		"Phones:   a answer  h hold/resume  e end  m take message + end  p presence",
		"  t transfer to a queue  u transfer to a user  f calls <-> inbox",
		"  inbox:  c mark the message done  g assign it to a user",
		"Patients: type a name  arrows pick  Enter book  -> or F6 record",
		"  F7 or ^N register a new patient  Esc clear",
		"Booking:  arrows type  Enter first free slot  Enter again books  Esc back",
		"Record:   d details n insurance f forms u upcoming p payments",
		"  e edit  b book  a add policy  v verify policy  g receipt  Esc back",
		"  payments tab: arrows pick  Enter/g its receipt  (no rows: g asks a number)",
		"Forms:    Tab/Enter next field  ^S send  Esc close",
		"Prompts:  Enter accept  Esc cancel (a digit picks a listed answer)",
		"Changes at other desks appear by themselves (live events).",
	};

	for (size_t i = 0; i < sizeof lines / sizeof lines[0] && top + (int)i < LINES - 2; i++)
		mvaddnstr(top + (int)i, 1, lines[i], COLS - 2);
}

static const char *view_keys(const struct console *c)
{
	if (c->prompt.active)
		return " Enter accept  Esc cancel";
	if (c->form.open)
		return " Tab/Enter next field  ^S send  Esc close";
	if (c->receipt.open)
		return " w save to a file  Esc close  ? help";
	switch (c->view) {
	case VIEW_TODAY:
		return " i check-in c copay k confirm n no-show x cancel s move  ? help";
	case VIEW_PHONES:
		return c->messages_focus
			       ? " inbox: c done  g assign  f back to calls  a answer  ? help"
			       : " a answer h hold e end m msg t queue u user f inbox p presence ?";
	case VIEW_BOARD:
		return " Up/Down move  c copay  o room  d check out  r re-read  ? help";
	case VIEW_PATIENTS:
		return c->pane == PANE_BOOKING ? " Up/Down type  Enter find/book  Esc back  ? help"
		       : c->pane == PANE_RECORD && c->record.tab == TAB_PAYMENTS
			       ? " Up/Down pick  Enter/g receipt  d n f u p tabs  e edit  Esc back"
		       : c->pane == PANE_RECORD
			       ? " d n f u p tabs e edit b book a policy v verify g receipt Esc"
			       : " type to search Up/Down Enter book -> record F7 new Esc clear";
	default:
		return "";
	}
}

static void draw_view(struct console *c, int top, int bottom)
{
	if (c->form.open)
		console_draw_form(c, top, bottom);
	else if (c->receipt.open)
		console_draw_receipt(c, top, bottom);
	else if (c->view == VIEW_TODAY)
		draw_today(c, top, bottom);
	else if (c->view == VIEW_PHONES)
		draw_phones(c, top, bottom);
	else if (c->view == VIEW_BOARD)
		draw_board(c, top, bottom);
	else
		console_draw_patients(c, top, bottom);
}

void console_draw(struct console *c)
{
	int top = 2, bottom = LINES - 2;

	erase();
	c->click.sel = NULL;
	draw_header(c);
	draw_banner(c);
	if (!c->logged_in || c->locked) {
		draw_login(c);
	} else if (c->help) {
		draw_help(top);
		draw_keys(c, " Esc or ? close help");
	} else {
		draw_view(c, top, bottom);
		draw_keys(c, view_keys(c));
		if (c->prompt.active) {
			char line[300];

			snprintf(line, sizeof line, "%s: %s_", c->prompt.label,
				 c->prompt.input.text);
			attron(A_BOLD);
			console_put(LINES - 2, 0, COLS, line);
			attroff(A_BOLD);
		}
	}
	refresh();
}
