/*
 * `desk console`: drawing the Patients view (search, booking, a patient's
 * record and its tabs) and the two overlays any view may show: a form and
 * a receipt. As everywhere, text from the server goes through console_put
 * (escaped, clipped by display width); the receipt is drawn line by line
 * the same way, so a receipt cannot move the cursor either.
 */
#include <curses.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "console.h"

static void local_date(char *buf, size_t size, int64_t unix_ms)
{
	time_t t = (time_t)(unix_ms / 1000);
	struct tm tm;

	if (!unix_ms || !localtime_r(&t, &tm))
		snprintf(buf, size, "-");
	else
		strftime(buf, size, "%Y-%m-%d", &tm);
}

static void title(int y, const char *text)
{
	attron(A_BOLD);
	mvaddnstr(y, 0, text, COLS);
	attroff(A_BOLD);
}

/* --- search and booking ---------------------------------------------- */

static void draw_booking(struct console *c, int top, int bottom)
{
	const Frontdesk__V1__ListTypesReply *t = c->booking.types;
	char line[400];
	int y = top + 2;

	console_put(top, 0, 11, "Book for: ");
	console_put(top, 10, COLS - 10, c->booking.patient_name);
	if (!t)
		mvaddstr(y++, 2, "Reading the appointment types...");
	for (size_t i = 0; t && i < t->n_types && y < bottom - 2; i++, y++) {
		if (i == c->booking.type_index)
			attron(A_REVERSE);
		snprintf(line, sizeof line, "%-14s %s (%d min)", t->types[i]->code,
			 t->types[i]->name, t->types[i]->duration_min);
		console_put(y, 2, COLS - 4, line);
		attroff(A_REVERSE);
	}
	y++;
	if (c->booking.slot && c->booking.slot->n_slots) {
		const Frontdesk__V1__Slot *s = c->booking.slot->slots[0];

		snprintf(line, sizeof line, "First free: %s with %s - Enter books it",
			 s->starts_local, s->provider_name);
		attron(A_BOLD);
		console_put(y, 0, COLS, line);
		attroff(A_BOLD);
	} else {
		mvaddstr(y, 0, "Enter finds the first free slot of this type.");
	}
}

static void draw_search(struct console *c, int top, int bottom)
{
	size_t n = c->found ? c->found->n_patients : 0, first = 0;
	int rows = bottom - top - 2;

	mvaddstr(top, 0, "Find: ");
	attron(A_UNDERLINE);
	mvhline(top, 6, ' ', COLS - 8);
	console_put(top, 6, COLS - 8, c->query.text);
	attroff(A_UNDERLINE);
	attron(A_BOLD);
	mvaddstr(top + 1, 0, "MRN         Name                              Born        Phone");
	attroff(A_BOLD);
	if (!n) {
		mvaddstr(top + 2, 2,
			 c->query.len < 2
				 ? "Type at least two letters of a name; F7 registers a new patient."
				 : "Nobody found. F7 registers a new patient.");
		return;
	}
	if (rows > 0 && c->found_sel >= (size_t)rows)
		first = c->found_sel - (size_t)rows + 1;
	c->click = (struct console_click){ .top = top + 2, .rows = rows, .first = first,
					   .n = n, .sel = &c->found_sel };
	for (size_t i = first; i < n && (int)(i - first) < rows; i++) {
		const Frontdesk__V1__PatientSummary *p = c->found->patients[i];
		int y = top + 2 + (int)(i - first);
		char name[300];

		if (i == c->found_sel)
			attron(A_REVERSE);
		mvhline(y, 0, ' ', COLS);
		snprintf(name, sizeof name, "%s, %s", p->family_name, p->given_name);
		console_put(y, 0, 11, p->mrn);
		console_put(y, 12, 33, name);
		console_put(y, 46, 11, p->date_of_birth);
		console_put(y, 58, COLS - 58, p->phone_e164);
		attroff(A_REVERSE);
	}
}

/* --- a patient's record ---------------------------------------------- */

static int row(int y, const char *label, const char *value)
{
	mvaddstr(y, 2, label);
	console_put(y, 20, COLS - 21, value);
	return y + 1;
}

static void draw_details(const Frontdesk__V1__Patient *p, int y, int bottom)
{
	const Frontdesk__V1__PatientFields *f = p->fields;
	char line[300];

	if (!f)
		return;
	snprintf(line, sizeof line, "%s, %s", f->family_name, f->given_name);
	y = row(y, "Name", line);
	y = row(y, "Preferred name", f->preferred_name);
	y = row(y, "Date of birth", f->date_of_birth);
	y = row(y, "Sex at birth", f->sex_at_birth);
	y = row(y, "Phone", f->phone);
	y = row(y, "Email", f->email);
	snprintf(line, sizeof line, "%s%s", f->preferred_language,
		 f->interpreter_needed ? "  (interpreter needed)" : "");
	y = row(y, "Language", line);
	if (y < bottom)
		y = row(y, "Address", f->address);
	if (y < bottom)
		row(y, "Emergency contact", f->emergency_contact);
}

static void draw_policies(struct console *c, int y, int bottom)
{
	const Frontdesk__V1__ListPoliciesReply *l = c->record.policies;
	char line[400], verified[16], copay[32];

	mvaddstr(y++, 0, "Priority   Payer / plan               Member       Copay     Verified");
	if (!l || !l->n_policies) {
		mvaddstr(y, 2, l ? "No insurance on file. a adds a policy." : "Reading...");
		return;
	}
	for (size_t i = 0; i < l->n_policies && y < bottom; i++, y++) {
		const Frontdesk__V1__InsurancePolicy *p = l->policies[i];

		local_date(verified, sizeof verified, p->last_verified_unix_ms);
		if (p->n_copays)
			console_money(copay, sizeof copay, p->copays[0]->copay_cents);
		else
			snprintf(copay, sizeof copay, "-");
		if (i == c->record.policy_sel)
			attron(A_REVERSE);
		mvhline(y, 0, ' ', COLS);
		snprintf(line, sizeof line, "%-10.10s %-26.26s %-12.12s %-9s %s%s", p->priority,
			 p->payer, p->member_id, copay,
			 p->last_verified_unix_ms ? "verified " : "NOT VERIFIED",
			 p->last_verified_unix_ms ? verified : "");
		console_put(y, 0, COLS, line);
		attroff(A_REVERSE);
	}
	c->click = (struct console_click){ .top = y - (int)l->n_policies, .rows = (int)l->n_policies,
					   .n = l->n_policies, .sel = &c->record.policy_sel };
}

static void draw_forms(const Frontdesk__V1__IntakeStatusReply *r, int y, int bottom)
{
	char line[300], done[16], expires[16];

	mvaddstr(y++, 0, "Form                               State             Completed   Expires");
	if (!r || !r->n_forms) {
		mvaddstr(y, 2, r ? "No forms in use." : "Reading...");
		return;
	}
	for (size_t i = 0; i < r->n_forms && y < bottom; i++, y++) {
		const Frontdesk__V1__FormStatus *f = r->forms[i];

		local_date(done, sizeof done, f->completed_unix_ms);
		local_date(expires, sizeof expires, f->expires_unix_ms);
		snprintf(line, sizeof line, "%-34.34s %-17s %-11s %s",
			 f->form && f->form->title ? f->form->title : "", f->state, done,
			 expires);
		console_put(y, 0, COLS, line);
	}
}

static void draw_upcoming(const Frontdesk__V1__ListAppointmentsReply *r, int y, int bottom)
{
	int64_t today = ((int64_t)time(NULL) - 86400) * 1000;
	char line[400];
	int shown = 0;

	mvaddstr(y++, 0, "When              Provider            Type          Status");
	for (size_t i = 0; r && i < r->n_appointments && y < bottom; i++) {
		const Frontdesk__V1__Appointment *a = r->appointments[i];

		if (a->starts_unix_ms < today || !strcmp(a->status, "cancelled") ||
		    !strcmp(a->status, "rescheduled"))
			continue;
		snprintf(line, sizeof line, "%-17.17s %-19.19s %-13.13s %s", a->starts_local,
			 a->provider_name, a->type_name, a->status);
		console_put(y++, 0, COLS, line);
		shown++;
	}
	if (!shown)
		mvaddstr(y, 2, r ? "Nothing booked. b books." : "Reading...");
}

/* The balance in one line above the payments. */
static int draw_balance(const Frontdesk__V1__PatientBalanceReply *b, int y)
{
	char charges[32], paid[32], refunded[32], balance[32], line[200];

	console_money(charges, sizeof charges, b->charges_cents);
	console_money(paid, sizeof paid, b->paid_cents);
	console_money(refunded, sizeof refunded, b->refunded_cents);
	console_money(balance, sizeof balance, b->balance_cents);
	snprintf(line, sizeof line, "Balance %s", balance);
	attron(A_BOLD);
	console_put(y, 2, 24, line);
	attroff(A_BOLD);
	snprintf(line, sizeof line, "copays charged %s, paid %s, refunded %s", charges, paid,
		 refunded);
	console_put(y, 26, COLS - 27, line);
	return y + 1;
}

/* One payment's row: a refund shows as money going back (negative) and
 * names the payment it returns; a voided row says so, since it no longer
 * counts in the balance. */
static void payment_row(const Frontdesk__V1__Payment *y, int at)
{
	bool refund = !strcmp(y->kind, "refund");
	char amount[32], marks[64], line[300];

	console_money(amount, sizeof amount, refund ? -y->amount_cents : y->amount_cents);
	if (refund)
		snprintf(marks, sizeof marks, "REFUND of #%lld%s", (long long)y->refund_of,
			 y->voided ? " VOIDED" : "");
	else
		snprintf(marks, sizeof marks, "%s", y->voided ? "VOIDED" : "");
	snprintf(line, sizeof line, "%-16.16s %9s  %-6.6s %-10.10s %-7lld %s", y->received_local,
		 amount, y->method, y->receipt_number, (long long)y->visit_id, marks);
	console_put(at, 0, COLS, line);
}

static void draw_payments(struct console *c, int y, int bottom)
{
	const Frontdesk__V1__ListPaymentsReply *l = c->record.payments;
	size_t first = 0;

	if (!l || !l->balance) {
		mvaddstr(y, 2, "Reading...");
		return;
	}
	y = draw_balance(l->balance, y);
	mvaddnstr(y++, 2, "Enter or g shows the selected receipt. Copays: Waiting room, c.",
		  COLS - 3);
	attron(A_BOLD);
	mvaddnstr(y++, 0, "Received            Amount  Method Receipt    Visit   Marks", COLS);
	attroff(A_BOLD);
	if (!l->n_payments) {
		mvaddstr(y, 2, "No payments yet.");
		return;
	}
	int rows = bottom - y - (l->truncated ? 1 : 0);
	if (rows > 0 && c->record.payment_sel >= (size_t)rows)
		first = c->record.payment_sel - (size_t)rows + 1;
	c->click = (struct console_click){ .top = y, .rows = rows, .first = first,
					   .n = l->n_payments, .sel = &c->record.payment_sel };
	for (size_t i = first; i < l->n_payments && (int)(i - first) < rows; i++, y++) {
		if (i == c->record.payment_sel)
			attron(A_REVERSE);
		mvhline(y, 0, ' ', COLS);
		payment_row(l->payments[i], y);
		attroff(A_REVERSE);
	}
	if (l->truncated && y < bottom)
		mvaddnstr(y, 2, "(only the newest are listed; desk payment list --from/--to for older)",
			  COLS - 3);
}

static void draw_record(struct console *c, int top, int bottom)
{
	static const char *const tabs[] = { "d Details", "n Insurance", "f Forms",
					    "u Upcoming", "p Payments" };
	const Frontdesk__V1__Patient *p = c->record.got ? c->record.got->patient : NULL;
	char line[300];
	int x = 0;

	if (p && p->fields)
		snprintf(line, sizeof line, "%s, %s   MRN %s   born %s", p->fields->family_name,
			 p->fields->given_name, p->mrn, p->fields->date_of_birth);
	else
		snprintf(line, sizeof line, "Reading the record...");
	attron(A_BOLD);
	console_put(top, 0, COLS, line);
	attroff(A_BOLD);
	for (int i = 0; i < 5; i++) {
		if ((int)c->record.tab == i)
			attron(A_REVERSE);
		mvaddstr(top + 1, x, tabs[i]);
		attroff(A_REVERSE);
		x += (int)strlen(tabs[i]) + 2;
	}
	top += 3;
	switch (c->record.tab) {
	case TAB_DETAILS:
		if (p)
			draw_details(p, top, bottom);
		break;
	case TAB_INSURANCE:
		draw_policies(c, top, bottom);
		break;
	case TAB_FORMS:
		draw_forms(c->record.forms, top, bottom);
		break;
	case TAB_UPCOMING:
		draw_upcoming(c->record.appointments, top, bottom);
		break;
	case TAB_PAYMENTS:
		draw_payments(c, top, bottom);
		break;
	}
}

void console_draw_patients(struct console *c, int top, int bottom)
{
	if (c->pane == PANE_BOOKING)
		draw_booking(c, top, bottom);
	else if (c->pane == PANE_RECORD)
		draw_record(c, top, bottom);
	else
		draw_search(c, top, bottom);
}

/* --- overlays --------------------------------------------------------- */

void console_draw_form(struct console *c, int top, int bottom)
{
	const struct console_form *f = &c->form;
	int y = top + 2;

	title(top, f->title);
	for (size_t i = 0; i < f->n && y < bottom; i++, y++) {
		const struct console_form_field *field = &f->fields[i];
		char value[CONSOLE_FIELD_MAX + 2];

		mvaddstr(y, 2, field->label);
		if (i == f->focus)
			attron(A_UNDERLINE | A_BOLD);
		mvhline(y, 20, ' ', 34);
		snprintf(value, sizeof value, "%s%s", field->value.text, i == f->focus ? "_" : "");
		console_put(y, 20, 34, value);
		attroff(A_UNDERLINE | A_BOLD);
		console_put(y, 56, COLS - 57, field->hint);
	}
}

void console_draw_receipt(struct console *c, int top, int bottom)
{
	const char *p = c->receipt.text ? c->receipt.text : "";
	int y = top + 1;

	title(top, "Receipt (w saves it to a file, Esc closes)");
	while (*p && y < bottom) {
		const char *end = strchr(p, '\n');
		size_t len = end ? (size_t)(end - p) : strlen(p);
		char *line = strndup(p, len);

		if (line)
			console_put(y++, 2, COLS - 3, line);
		free(line);
		p += len + (end ? 1 : 0);
	}
}
