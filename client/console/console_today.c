/*
 * `desk console`: the Today view. Reads the location's schedule for the
 * day; its keys confirm, mark no-show, cancel, reschedule to the first
 * free slot of the same type, check in (console_checkin.c) and collect the
 * copay of the visit the last check-in opened. Every action re-reads the
 * schedule when its reply arrives (the event it raises would too, but the
 * reply is the quicker of the two).
 */
#include <stdio.h>
#include <string.h>

#include "console.h"

/* Until the receptionist moves it, the selection sits on the first
 * appointment still expected (booked or confirmed): checking that patient
 * in is one key. */
static void select_next_arrival(struct console *c)
{
	for (size_t i = 0; i < c->today->n_appointments; i++) {
		const char *status = c->today->appointments[i]->status;

		if (!strcmp(status, "booked") || !strcmp(status, "confirmed")) {
			c->today_sel = i;
			return;
		}
	}
}

static void today_done(struct console *c, struct console_reply *r)
{
	if (r->code != FD_OK)
		return;
	CONSOLE_FREE_REPLY(c->today);
	c->today = (Frontdesk__V1__ListAppointmentsReply *)r->msg;
	r->msg = NULL;
	if (!c->today_moved)
		select_next_arrival(c);
	if (c->today_sel >= c->today->n_appointments)
		c->today_sel = c->today->n_appointments ? c->today->n_appointments - 1 : 0;
}

void console_today_read(struct console *c)
{
	Frontdesk__V1__ListAppointmentsRequest req =
		FRONTDESK__V1__LIST_APPOINTMENTS_REQUEST__INIT;

	req.location = c->location;
	req.include_cancelled = true;
	console_send(c, &frontdesk__v1__scheduling__descriptor, "ListAppointments",
		     &req.base, "cannot read today's schedule", today_done, 0);
	/* The board brings the readiness behind Today's '!' flags. */
	console_board_read(c);
}

static const Frontdesk__V1__Appointment *selected(const struct console *c)
{
	if (!c->today || c->today_sel >= c->today->n_appointments)
		return NULL;
	return c->today->appointments[c->today_sel];
}

/* After an action: say what happened and show the schedule as it is. */
static void acted(struct console *c, struct console_reply *r, const char *what)
{
	if (r->code != FD_OK)
		return;
	console_set_status(c, "appointment %lld %s", (long long)r->about, what);
	console_today_read(c);
}

static void confirm_done(struct console *c, struct console_reply *r)
{
	acted(c, r, "confirmed");
}

static void no_show_done(struct console *c, struct console_reply *r)
{
	acted(c, r, "marked no-show");
}

static void cancelled(struct console *c, struct console_reply *r)
{
	acted(c, r, "cancelled");
}

static void confirm(struct console *c, const Frontdesk__V1__Appointment *a)
{
	Frontdesk__V1__ConfirmRequest req = FRONTDESK__V1__CONFIRM_REQUEST__INIT;

	req.appointment_id = a->id;
	console_send(c, &frontdesk__v1__scheduling__descriptor, "Confirm", &req.base,
		     "cannot confirm", confirm_done, a->id);
}

static void mark_no_show(struct console *c, const Frontdesk__V1__Appointment *a)
{
	Frontdesk__V1__MarkNoShowRequest req = FRONTDESK__V1__MARK_NO_SHOW_REQUEST__INIT;

	req.appointment_id = a->id;
	console_send(c, &frontdesk__v1__scheduling__descriptor, "MarkNoShow",
		     &req.base, "cannot mark no-show", no_show_done, a->id);
}

static void cancel_entered(struct console *c, const char *text)
{
	Frontdesk__V1__CancelRequest req = FRONTDESK__V1__CANCEL_REQUEST__INIT;

	req.appointment_id = c->prompt.about;
	req.reason_code = (char *)(text[0] ? text : "patient");
	console_send(c, &frontdesk__v1__scheduling__descriptor, "Cancel", &req.base,
		     "cannot cancel", cancelled, req.appointment_id);
}

static void rescheduled(struct console *c, struct console_reply *r)
{
	Frontdesk__V1__RescheduleReply *moved = (Frontdesk__V1__RescheduleReply *)r->msg;

	if (r->code != FD_OK)
		return;
	console_set_status(c, "moved to appointment %lld",
			   moved->appointment ? (long long)moved->appointment->id : 0LL);
	console_today_read(c);
}

static void reschedule_entered(struct console *c, const char *text)
{
	Frontdesk__V1__RescheduleRequest req = FRONTDESK__V1__RESCHEDULE_REQUEST__INIT;

	req.appointment_id = c->move_id;
	req.at = c->move_at;
	req.provider = c->move_provider;
	req.reason = (char *)text;
	console_send(c, &frontdesk__v1__scheduling__descriptor, "Reschedule",
		     &req.base, "cannot reschedule", rescheduled, c->move_id);
}

/* The first free slot of the type arrived: offer it; Enter moves. */
static void slot_found(struct console *c, struct console_reply *r)
{
	Frontdesk__V1__FindSlotsReply *found = (Frontdesk__V1__FindSlotsReply *)r->msg;
	char label[96];

	if (r->code != FD_OK)
		return;
	if (!found->n_slots) {
		console_set_status(c, "no free slot of this type in the next days");
		return;
	}
	c->move_id = r->about;
	snprintf(c->move_at, sizeof c->move_at, "%s", found->slots[0]->starts_local);
	snprintf(c->move_provider, sizeof c->move_provider, "%s",
		 found->slots[0]->provider);
	snprintf(label, sizeof label, "Move to %.20s with %.24s? reason, Enter",
		 found->slots[0]->starts_local, found->slots[0]->provider);
	console_open_prompt(c, label, reschedule_entered);
}

static void offer_reschedule(struct console *c, const Frontdesk__V1__Appointment *a)
{
	Frontdesk__V1__FindSlotsRequest req = FRONTDESK__V1__FIND_SLOTS_REQUEST__INIT;

	req.type = a->type;
	req.location = a->location;
	req.first_available = true;
	console_send(c, &frontdesk__v1__scheduling__descriptor, "FindSlots", &req.base,
		     "cannot find a slot", slot_found, a->id);
}

/* `c`: the copay of the patient this desk checked in last. The selection
 * has already moved on to the next arrival by then, so it is not used;
 * the form's title names the patient. Other visits: the waiting room. */
static void collect_last(struct console *c)
{
	if (c->last_visit_id)
		console_collect_copay(c, c->last_visit_id);
	else
		console_set_status(c, "check a patient in first, or collect from the Waiting room (F5, c)");
}

bool console_today_key(struct console *c, int ch, bool is_key)
{
	const Frontdesk__V1__Appointment *a = selected(c);

	if (console_is_move_key(ch, is_key)) {
		console_move_selection(&c->today_sel,
				       c->today ? c->today->n_appointments : 0, ch);
		c->today_moved = true;
		return true;
	}
	/* strchr would match a wide character by its low byte: ASCII only. */
	if (is_key || ch <= 0 || ch > 0x7e || !strchr("ikcnxsr", ch))
		return false;
	if (ch == 'r') {
		console_today_read(c);
		return true;
	}
	if (!a) {
		console_set_status(c, "no appointment selected");
		return true;
	}
	switch (ch) {
	case 'i':
		console_check_in(c, a->id, NULL);
		break;
	case 'k':
		confirm(c, a);
		break;
	case 'n':
		mark_no_show(c, a);
		break;
	case 'x':
		console_open_prompt(c, "Cancel: reason (patient/provider/clinic/weather/other)",
				    cancel_entered);
		c->prompt.about = a->id;
		break;
	case 's':
		offer_reschedule(c, a);
		break;
	case 'c':
		collect_last(c);
		break;
	}
	return true;
}
