/*
 * `desk console`: the check-in flow. Check in (from Today, with a one-digit
 * override reason when readiness has gaps), the waiting-room board, room
 * the patient, collect the copay (a form whose amount comes from the copay
 * the visit expects, which the server took from the patient's policy, less
 * what is paid), the receipt the server renders shown in a pane and, on
 * `w`, written to a file, and check out.
 *
 * Receipt files go to $XDG_DATA_HOME/frontdesk/receipts (by default
 * ~/.local/share/frontdesk/receipts), or to $TMPDIR (else /tmp) when that
 * cannot be made; mode 0600, since a receipt names the patient. The status
 * line says the path.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "console.h"

/* --- check in -------------------------------------------------------- */

static void check_in_override(struct console *c, const char *text);

static void checked_in(struct console *c, struct console_reply *r)
{
	Frontdesk__V1__CheckInReply *in = (Frontdesk__V1__CheckInReply *)r->msg;
	static const char *const reasons[] = { "will complete forms in the waiting room",
					       "insurance card to follow",
					       "provider agreed to see the patient" };
	char due[32] = "";

	if (r->code == FD_FAILED_PRECONDITION && r->about > 0 &&
	    strstr(c->status, "not ready")) {
		/* The refusal listing the gaps stays on screen above. */
		console_open_prompt(c, "Override: 1 forms here 2 card to follow 3 provider ok, or type",
				    check_in_override);
		c->prompt.quick = reasons;
		c->prompt.n_quick = 3;
		c->prompt.about = r->about;
		return;
	}
	if (r->code != FD_OK)
		return;
	if (in->visit) {
		c->last_visit_id = in->visit->id;
		if (in->visit->expected_copay_cents > in->visit->paid_cents)
			console_money(due, sizeof due,
				      in->visit->expected_copay_cents - in->visit->paid_cents);
	}
	console_set_status(c, "checked in%s%s%s",
			   in->n_readiness_gaps ? " with readiness gaps noted" : "",
			   due[0] ? "; c collects the copay of " : "", due);
	console_today_read(c);
}

/* `about` is the appointment, negative once an override was given (so a
 * second refusal is not offered the override again). */
void console_check_in(struct console *c, int64_t appointment_id,
		      const char *override_reason)
{
	Frontdesk__V1__CheckInRequest req = FRONTDESK__V1__CHECK_IN_REQUEST__INIT;

	req.appointment_id = appointment_id;
	if (override_reason) {
		req.override_readiness = true;
		req.override_reason = (char *)override_reason;
	}
	console_send(c, &frontdesk__v1__checkin__descriptor, "CheckIn", &req.base,
		     "cannot check in", checked_in,
		     override_reason ? -appointment_id : appointment_id);
}

static void check_in_override(struct console *c, const char *text)
{
	if (!text[0]) {
		console_set_status(c, "not checked in: an override needs a reason");
		return;
	}
	console_check_in(c, c->prompt.about, text);
}

/* --- the board ------------------------------------------------------- */

static const Frontdesk__V1__Visit *selected_visit(const struct console *c)
{
	if (!c->board || c->board_sel >= c->board->n_visits)
		return NULL;
	return c->board->visits[c->board_sel];
}

/* The board is ordered by flow stage, so a visit moves as it goes on:
 * the selection follows the visit, not the row. */
static void board_done(struct console *c, struct console_reply *r)
{
	const Frontdesk__V1__Visit *was = selected_visit(c);
	int64_t keep_id = was ? was->id : 0;

	if (r->code != FD_OK)
		return;
	CONSOLE_FREE_REPLY(c->board);
	c->board = (Frontdesk__V1__BoardReply *)r->msg;
	r->msg = NULL;
	for (size_t i = 0; keep_id && i < c->board->n_visits; i++)
		if (c->board->visits[i]->id == keep_id)
			c->board_sel = i;
	if (c->board_sel >= c->board->n_visits)
		c->board_sel = c->board->n_visits ? c->board->n_visits - 1 : 0;
}

void console_board_read(struct console *c)
{
	Frontdesk__V1__BoardRequest req = FRONTDESK__V1__BOARD_REQUEST__INIT;

	req.location = c->location;
	/* Readiness of whoever is expected in the next hours: the board's
	 * lower list and the '!' flags on Today. */
	req.expected_within_min = CONSOLE_EXPECTED_MIN;
	console_send(c, &frontdesk__v1__checkin__descriptor, "Board", &req.base,
		     "cannot read the waiting room", board_done, 0);
}

static void roomed(struct console *c, struct console_reply *r)
{
	if (r->code != FD_OK)
		return;
	console_set_status(c, "visit %lld roomed", (long long)r->about);
	console_board_read(c);
}

static void room_entered(struct console *c, const char *text)
{
	Frontdesk__V1__AssignRoomRequest req = FRONTDESK__V1__ASSIGN_ROOM_REQUEST__INIT;

	if (!text[0])
		return;
	req.visit_id = c->prompt.about;
	req.room = (char *)text;
	console_send(c, &frontdesk__v1__checkin__descriptor, "AssignRoom", &req.base,
		     "cannot room the patient", roomed, req.visit_id);
}

static void checked_out(struct console *c, struct console_reply *r)
{
	Frontdesk__V1__CheckOutReply *out = (Frontdesk__V1__CheckOutReply *)r->msg;
	char balance[32];

	if (r->code != FD_OK)
		return;
	console_money(balance, sizeof balance, out->balance_cents);
	console_set_status(c, "checked out; balance %s", balance);
	console_board_read(c);
}

static void check_out(struct console *c, const Frontdesk__V1__Visit *v)
{
	Frontdesk__V1__CheckOutRequest req = FRONTDESK__V1__CHECK_OUT_REQUEST__INIT;

	req.visit_id = v->id;
	console_send(c, &frontdesk__v1__checkin__descriptor, "CheckOut", &req.base,
		     "cannot check out", checked_out, v->id);
}

bool console_board_key(struct console *c, int ch, bool is_key)
{
	const Frontdesk__V1__Visit *v = selected_visit(c);

	if (console_is_move_key(ch, is_key)) {
		console_move_selection(&c->board_sel, c->board ? c->board->n_visits : 0, ch);
		return true;
	}
	if (is_key || ch <= 0 || ch > 0x7e || !strchr("rocd", ch))
		return false;
	if (ch == 'r') {
		console_board_read(c);
		return true;
	}
	if (!v) {
		console_set_status(c, "no visit selected");
		return true;
	}
	if (ch == 'o') {
		console_open_prompt(c, "Room code (e.g. exam-1)", room_entered);
		c->prompt.about = v->id;
	} else if (ch == 'c') {
		console_collect_copay(c, v->id);
	} else {
		check_out(c, v);
	}
	return true;
}

/* --- copay and receipt ----------------------------------------------- */

enum { COPAY_AMOUNT, COPAY_METHOD, COPAY_CHECK, COPAY_NOTE };

void console_receipt_close(struct console *c)
{
	free(c->receipt.text);
	memset(&c->receipt, 0, sizeof c->receipt);
}

static void paid(struct console *c, struct console_reply *r)
{
	Frontdesk__V1__PaymentReply *p = (Frontdesk__V1__PaymentReply *)r->msg;
	char amount[32], balance[32];

	if (r->code != FD_OK)
		return; /* the form stays filled in: fix and send again */
	c->form.open = false;
	console_receipt_close(c);
	c->receipt.open = true;
	c->receipt.text = strdup(p->receipt_text ? p->receipt_text : "");
	snprintf(c->receipt.number, sizeof c->receipt.number, "%s",
		 p->payment && p->payment->receipt_number ? p->payment->receipt_number : "");
	console_money(amount, sizeof amount, p->payment ? p->payment->amount_cents : 0);
	console_money(balance, sizeof balance, p->balance_cents);
	console_set_status(c, "paid %s, receipt %s; balance %s", amount,
			   c->receipt.number, balance);
	if (c->view == VIEW_BOARD)
		console_board_read(c);
}

static void submit_copay(struct console *c)
{
	Frontdesk__V1__TakePaymentRequest req = FRONTDESK__V1__TAKE_PAYMENT_REQUEST__INIT;
	const char *method = console_form_value(c, COPAY_METHOD);

	if (!console_parse_cents(console_form_value(c, COPAY_AMOUNT), &req.amount_cents) ||
	    req.amount_cents <= 0) {
		console_set_status(c, "the amount is dollars and cents, e.g. 25.00");
		c->form.focus = COPAY_AMOUNT;
		return;
	}
	if (strcmp(method, "cash") && strcmp(method, "card") && strcmp(method, "check")) {
		console_set_status(c, "the method is cash, card or check");
		c->form.focus = COPAY_METHOD;
		return;
	}
	req.visit_id = c->form.about;
	req.method = (char *)method;
	req.check_number = (char *)console_form_value(c, COPAY_CHECK);
	req.note = (char *)console_form_value(c, COPAY_NOTE);
	console_set_status(c, "taking the payment...");
	console_send(c, &frontdesk__v1__checkin__descriptor, "TakePayment", &req.base,
		     "cannot take the payment", paid, req.visit_id);
}

static void visit_read_for_copay(struct console *c, struct console_reply *r)
{
	Frontdesk__V1__GetVisitReply *got = (Frontdesk__V1__GetVisitReply *)r->msg;
	const Frontdesk__V1__Visit *v;
	char title[96], amount[32] = "";

	if (r->code != FD_OK || !(v = got->visit))
		return;
	if (v->expected_copay_cents > v->paid_cents)
		console_money(amount, sizeof amount, v->expected_copay_cents - v->paid_cents);
	snprintf(title, sizeof title, "Copay for visit %lld (%.40s)", (long long)v->id,
		 v->patient_name ? v->patient_name : "");
	console_form_open(c, title, submit_copay, v->id);
	console_form_add(c, "Amount", amount[0] ? "from the policy copay" : "no copay on file",
			 amount);
	console_form_add(c, "Method", "cash, card or check", "card");
	console_form_add(c, "Check number", "for a check", "");
	console_form_add(c, "Note", "", "");
	c->form.focus = amount[0] ? COPAY_METHOD : COPAY_AMOUNT;
}

void console_collect_copay(struct console *c, int64_t visit_id)
{
	Frontdesk__V1__GetVisitRequest req = FRONTDESK__V1__GET_VISIT_REQUEST__INIT;

	req.visit_id = visit_id;
	console_send(c, &frontdesk__v1__checkin__descriptor, "GetVisit", &req.base,
		     "cannot read the visit", visit_read_for_copay, visit_id);
}

/* Makes `dir` and its parents (0700); true when it exists afterwards. */
static bool make_dirs(const char *dir)
{
	char path[512];

	snprintf(path, sizeof path, "%s", dir);
	for (char *p = path + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(path, 0700) != 0 && errno != EEXIST)
			return false;
		*p = '/';
	}
	return mkdir(path, 0700) == 0 || errno == EEXIST;
}

static void receipt_dir(char *buf, size_t size)
{
	const char *xdg = getenv("XDG_DATA_HOME"), *home = getenv("HOME");
	const char *tmp = getenv("TMPDIR");

	if (xdg && xdg[0] == '/')
		snprintf(buf, size, "%s/frontdesk/receipts", xdg);
	else if (home && home[0] == '/')
		snprintf(buf, size, "%s/.local/share/frontdesk/receipts", home);
	else
		buf[0] = '\0';
	if (!buf[0] || !make_dirs(buf))
		snprintf(buf, size, "%s", tmp && tmp[0] == '/' ? tmp : "/tmp");
}

static void save_receipt(struct console *c)
{
	char dir[400], path[512], name[64];
	size_t n = 0, len;
	int fd;

	/* The number comes from the server: keep only safe characters. */
	for (const char *p = c->receipt.number; *p && n + 1 < sizeof name; p++)
		if ((*p >= '0' && *p <= '9') || (*p >= 'A' && *p <= 'Z') ||
		    (*p >= 'a' && *p <= 'z') || *p == '-' || *p == '_')
			name[n++] = *p;
	name[n] = '\0';
	receipt_dir(dir, sizeof dir);
	snprintf(path, sizeof path, "%s/receipt-%s.txt", dir, n ? name : "unnumbered");
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	len = strlen(c->receipt.text);
	if (fd < 0 || write(fd, c->receipt.text, len) != (ssize_t)len) {
		console_set_status(c, "cannot write the receipt to %s: %s", path,
				   strerror(errno));
		if (fd >= 0)
			close(fd);
		return;
	}
	close(fd);
	snprintf(c->receipt.saved_to, sizeof c->receipt.saved_to, "%s", path);
	console_set_status(c, "receipt saved to %s", path);
}

bool console_receipt_key(struct console *c, int ch, bool is_key)
{
	if (!is_key && ch == 'w') {
		save_receipt(c);
		return true;
	}
	if ((!is_key && ch == 27) || console_is_enter(ch, is_key)) {
		console_receipt_close(c);
		return true;
	}
	return false;
}
