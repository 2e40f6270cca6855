/*
 * `desk console`: what each view reads from the server and what its keys
 * do. Reads replace the view's reply wholesale (the old one is freed), so
 * a failed read leaves the last good picture on screen with the status
 * line saying why. Actions are one call each; the event they raise brings
 * every desk's screen up to date, this one included.
 */
#include <curses.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "console.h"
#include "output.h"

#define FREE_REPLY(p)                                                        \
	do {                                                                 \
		if (p)                                                       \
			protobuf_c_message_free_unpacked(&(p)->base, NULL);  \
		(p) = NULL;                                                  \
	} while (0)

static bool is_enter(int ch, bool is_key)
{
	return (is_key && ch == KEY_ENTER) || (!is_key && (ch == '\n' || ch == '\r'));
}

static void move_selection(size_t *sel, size_t n, int ch)
{
	if (ch == KEY_UP && *sel > 0)
		(*sel)--;
	else if (ch == KEY_DOWN && *sel + 1 < n)
		(*sel)++;
	else if (ch == KEY_PPAGE)
		*sel = *sel > 10 ? *sel - 10 : 0;
	else if (ch == KEY_NPAGE && n)
		*sel = *sel + 10 < n ? *sel + 10 : n - 1;
}

static void pop_forget(struct console_pop *pop)
{
	FREE_REPLY(pop->patients);
	pop->call_id = 0;
}

void console_forget(struct console *c)
{
	FREE_REPLY(c->today);
	FREE_REPLY(c->board);
	FREE_REPLY(c->calls);
	FREE_REPLY(c->messages);
	FREE_REPLY(c->presence);
	FREE_REPLY(c->found);
	FREE_REPLY(c->booking.types);
	FREE_REPLY(c->booking.slot);
	c->booking.open = false;
	pop_forget(&c->pop);
}

static void check_in_override(struct console *c, const char *text);

/* --- Today ----------------------------------------------------------- */

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

static void read_today(struct console *c)
{
	Frontdesk__V1__ListAppointmentsRequest req =
		FRONTDESK__V1__LIST_APPOINTMENTS_REQUEST__INIT;
	ProtobufCMessage *reply;

	req.location = c->location;
	req.include_cancelled = true;
	if (console_call(c, &frontdesk__v1__scheduling__descriptor,
			 "ListAppointments", &req.base, &reply,
			 "cannot read today's schedule") != FD_OK)
		return;
	FREE_REPLY(c->today);
	c->today = (Frontdesk__V1__ListAppointmentsReply *)reply;
	if (!c->today_moved)
		select_next_arrival(c);
	if (c->today_sel >= c->today->n_appointments)
		c->today_sel = c->today->n_appointments ? c->today->n_appointments - 1 : 0;
}

static const Frontdesk__V1__Appointment *selected_appointment(const struct console *c)
{
	if (!c->today || c->today_sel >= c->today->n_appointments)
		return NULL;
	return c->today->appointments[c->today_sel];
}

/* Runs one appointment call (Confirm, MarkNoShow) by id. */
static void appointment_action(struct console *c, const char *method,
			       const char *done, const char *action)
{
	const Frontdesk__V1__Appointment *a = selected_appointment(c);
	Frontdesk__V1__ConfirmRequest confirm = FRONTDESK__V1__CONFIRM_REQUEST__INIT;
	Frontdesk__V1__MarkNoShowRequest no_show =
		FRONTDESK__V1__MARK_NO_SHOW_REQUEST__INIT;
	ProtobufCMessage *reply;
	const ProtobufCMessage *req;

	if (!a) {
		console_set_status(c, "no appointment selected");
		return;
	}
	confirm.appointment_id = no_show.appointment_id = a->id;
	req = !strcmp(method, "Confirm") ? &confirm.base : &no_show.base;
	if (console_call(c, &frontdesk__v1__scheduling__descriptor, method, req,
			 &reply, action) != FD_OK)
		return;
	protobuf_c_message_free_unpacked(reply, NULL);
	console_set_status(c, "appointment %lld %s", (long long)confirm.appointment_id,
			   done);
	read_today(c);
}

static void cancel_done(struct console *c, const char *text)
{
	const Frontdesk__V1__Appointment *a = selected_appointment(c);
	Frontdesk__V1__CancelRequest req = FRONTDESK__V1__CANCEL_REQUEST__INIT;
	ProtobufCMessage *reply;

	if (!a)
		return;
	req.appointment_id = a->id;
	req.reason_code = (char *)(text[0] ? text : "patient");
	if (console_call(c, &frontdesk__v1__scheduling__descriptor, "Cancel",
			 &req.base, &reply, "cannot cancel") != FD_OK)
		return;
	protobuf_c_message_free_unpacked(reply, NULL);
	console_set_status(c, "appointment %lld cancelled", (long long)req.appointment_id);
	read_today(c);
}

/* Checks in the selected appointment; with an override reason when the
 * patient is not ready (the server lists the gaps in its refusal, which
 * the status line shows while the prompt asks for the reason). */
static void check_in_with(struct console *c, const char *override_reason)
{
	const Frontdesk__V1__Appointment *a = selected_appointment(c);
	Frontdesk__V1__CheckInRequest req = FRONTDESK__V1__CHECK_IN_REQUEST__INIT;
	Frontdesk__V1__CheckInReply *r;
	ProtobufCMessage *reply;
	int code;

	if (!a) {
		console_set_status(c, "no appointment selected");
		return;
	}
	req.appointment_id = a->id;
	if (override_reason) {
		req.override_readiness = true;
		req.override_reason = (char *)override_reason;
	}
	code = console_call(c, &frontdesk__v1__checkin__descriptor, "CheckIn",
			    &req.base, &reply, "cannot check in");
	if (code == FD_FAILED_PRECONDITION && !override_reason &&
	    strstr(c->status, "not ready")) {
		static const char *const reasons[] = { "will complete forms in the waiting room",
						       "insurance card to follow",
						       "provider agreed to see the patient" };

		console_open_prompt(c, "Override: 1 forms here 2 card to follow 3 provider ok, or type",
				    check_in_override);
		c->prompt.quick = reasons;
		c->prompt.n_quick = 3;
		return;
	}
	if (code != FD_OK)
		return;
	r = (Frontdesk__V1__CheckInReply *)reply;
	if (r->n_readiness_gaps)
		console_set_status(c, "checked in with %zu readiness gap(s) noted",
				   r->n_readiness_gaps);
	else
		console_set_status(c, "checked in");
	protobuf_c_message_free_unpacked(reply, NULL);
	read_today(c);
}

static void check_in_override(struct console *c, const char *text)
{
	if (!text[0]) {
		console_set_status(c, "not checked in: an override needs a reason");
		return;
	}
	check_in_with(c, text);
}

static void reschedule_done(struct console *c, const char *text)
{
	Frontdesk__V1__RescheduleRequest req = FRONTDESK__V1__RESCHEDULE_REQUEST__INIT;
	Frontdesk__V1__RescheduleReply *r;
	ProtobufCMessage *reply;

	req.appointment_id = c->move_id;
	req.at = c->move_at;
	req.provider = c->move_provider;
	req.reason = (char *)text;
	if (console_call(c, &frontdesk__v1__scheduling__descriptor, "Reschedule",
			 &req.base, &reply, "cannot reschedule") != FD_OK)
		return;
	r = (Frontdesk__V1__RescheduleReply *)reply;
	console_set_status(c, "moved to appointment %lld",
			   r->appointment ? (long long)r->appointment->id : 0LL);
	protobuf_c_message_free_unpacked(reply, NULL);
	read_today(c);
}

/* Offers the first free slot of the same type (any provider) and moves
 * the appointment there on Enter. */
static void offer_reschedule(struct console *c)
{
	const Frontdesk__V1__Appointment *a = selected_appointment(c);
	Frontdesk__V1__FindSlotsRequest req = FRONTDESK__V1__FIND_SLOTS_REQUEST__INIT;
	Frontdesk__V1__FindSlotsReply *r;
	ProtobufCMessage *reply;
	char label[96];

	if (!a) {
		console_set_status(c, "no appointment selected");
		return;
	}
	req.type = a->type;
	req.location = a->location;
	req.first_available = true;
	if (console_call(c, &frontdesk__v1__scheduling__descriptor, "FindSlots",
			 &req.base, &reply, "cannot find a slot") != FD_OK)
		return;
	r = (Frontdesk__V1__FindSlotsReply *)reply;
	if (!r->n_slots) {
		console_set_status(c, "no free slot of this type in the next days");
	} else {
		c->move_id = a->id;
		snprintf(c->move_at, sizeof c->move_at, "%s", r->slots[0]->starts_local);
		snprintf(c->move_provider, sizeof c->move_provider, "%s",
			 r->slots[0]->provider);
		snprintf(label, sizeof label, "Move to %.20s with %.24s? reason, Enter",
			 r->slots[0]->starts_local, r->slots[0]->provider);
		console_open_prompt(c, label, reschedule_done);
	}
	protobuf_c_message_free_unpacked(reply, NULL);
}

static bool today_key(struct console *c, int ch, bool is_key)
{
	if (is_key && (ch == KEY_UP || ch == KEY_DOWN || ch == KEY_PPAGE ||
		       ch == KEY_NPAGE)) {
		move_selection(&c->today_sel,
			       c->today ? c->today->n_appointments : 0, ch);
		c->today_moved = true;
		return true;
	}
	if (is_key)
		return false;
	switch (ch) {
	case 'i':
		check_in_with(c, NULL);
		return true;
	case 'k':
		appointment_action(c, "Confirm", "confirmed", "cannot confirm");
		return true;
	case 'n':
		appointment_action(c, "MarkNoShow", "marked no-show",
				   "cannot mark no-show");
		return true;
	case 'x':
		if (selected_appointment(c))
			console_open_prompt(c, "Cancel: reason (patient/provider/clinic/weather/other)",
					    cancel_done);
		return true;
	case 's':
		offer_reschedule(c);
		return true;
	case 'r':
		read_today(c);
		return true;
	default:
		return false;
	}
}

/* --- Waiting room --------------------------------------------------- */

static void read_board(struct console *c)
{
	Frontdesk__V1__BoardRequest req = FRONTDESK__V1__BOARD_REQUEST__INIT;
	ProtobufCMessage *reply;

	req.location = c->location;
	if (console_call(c, &frontdesk__v1__checkin__descriptor, "Board", &req.base,
			 &reply, "cannot read the waiting room") != FD_OK)
		return;
	FREE_REPLY(c->board);
	c->board = (Frontdesk__V1__BoardReply *)reply;
	if (c->board_sel >= c->board->n_visits)
		c->board_sel = c->board->n_visits ? c->board->n_visits - 1 : 0;
}

static const Frontdesk__V1__Visit *selected_visit(const struct console *c)
{
	if (!c->board || c->board_sel >= c->board->n_visits)
		return NULL;
	return c->board->visits[c->board_sel];
}

static void room_done(struct console *c, const char *text)
{
	const Frontdesk__V1__Visit *v = selected_visit(c);
	Frontdesk__V1__AssignRoomRequest req = FRONTDESK__V1__ASSIGN_ROOM_REQUEST__INIT;
	ProtobufCMessage *reply;

	if (!v || !text[0])
		return;
	req.visit_id = v->id;
	req.room = (char *)text;
	if (console_call(c, &frontdesk__v1__checkin__descriptor, "AssignRoom",
			 &req.base, &reply, "cannot room the patient") != FD_OK)
		return;
	protobuf_c_message_free_unpacked(reply, NULL);
	console_set_status(c, "visit %lld roomed", (long long)req.visit_id);
	read_board(c);
}

static void check_out(struct console *c)
{
	const Frontdesk__V1__Visit *v = selected_visit(c);
	Frontdesk__V1__CheckOutRequest req = FRONTDESK__V1__CHECK_OUT_REQUEST__INIT;
	Frontdesk__V1__CheckOutReply *r;
	ProtobufCMessage *reply;

	if (!v) {
		console_set_status(c, "no visit selected");
		return;
	}
	req.visit_id = v->id;
	if (console_call(c, &frontdesk__v1__checkin__descriptor, "CheckOut",
			 &req.base, &reply, "cannot check out") != FD_OK)
		return;
	r = (Frontdesk__V1__CheckOutReply *)reply;
	console_set_status(c, "checked out; balance %lld.%02lld",
			   (long long)(r->balance_cents / 100),
			   (long long)llabs(r->balance_cents % 100));
	protobuf_c_message_free_unpacked(reply, NULL);
	read_board(c);
}

static bool board_key(struct console *c, int ch, bool is_key)
{
	if (is_key && (ch == KEY_UP || ch == KEY_DOWN || ch == KEY_PPAGE ||
		       ch == KEY_NPAGE)) {
		move_selection(&c->board_sel, c->board ? c->board->n_visits : 0, ch);
		return true;
	}
	if (!is_key && ch == 'r') {
		read_board(c);
		return true;
	}
	if (!is_key && ch == 'o') {
		if (selected_visit(c))
			console_open_prompt(c, "Room code (e.g. exam-1)", room_done);
		return true;
	}
	if (!is_key && ch == 'd') {
		check_out(c);
		return true;
	}
	return false;
}

/* --- Phones ---------------------------------------------------------- */

static bool call_is_mine(const struct console *c, const Frontdesk__V1__PhoneCall *call)
{
	return call->answered_by && !strcmp(call->answered_by, c->login[0].text) &&
	       strcmp(call->state, "ended") != 0;
}

/* The screen pop: patients whose number matches the caller, each with
 * their next appointment. */
static void read_pop(struct console *c, const Frontdesk__V1__PhoneCall *call)
{
	Frontdesk__V1__FindPatientsRequest find = FRONTDESK__V1__FIND_PATIENTS_REQUEST__INIT;
	ProtobufCMessage *reply;
	int64_t now = (int64_t)time(NULL) * 1000;

	pop_forget(&c->pop);
	if (!call || !call->from || !call->from[0])
		return;
	find.phone = call->from;
	find.limit = CONSOLE_POP_MAX;
	if (console_call(c, &frontdesk__v1__patients__descriptor, "FindPatients",
			 &find.base, &reply, "cannot match the caller") != FD_OK)
		return;
	c->pop.patients = (Frontdesk__V1__FindPatientsReply *)reply;
	c->pop.call_id = call->id;
	for (size_t i = 0; i < c->pop.patients->n_patients && i < CONSOLE_POP_MAX; i++) {
		Frontdesk__V1__ListAppointmentsRequest list =
			FRONTDESK__V1__LIST_APPOINTMENTS_REQUEST__INIT;
		Frontdesk__V1__ListAppointmentsReply *appts;

		c->pop.next_unix_ms[i] = 0;
		list.patient_id = c->pop.patients->patients[i]->id;
		if (console_call(c, &frontdesk__v1__scheduling__descriptor,
				 "ListAppointments", &list.base, &reply,
				 "cannot read the caller's appointments") != FD_OK)
			continue;
		appts = (Frontdesk__V1__ListAppointmentsReply *)reply;
		for (size_t j = 0; j < appts->n_appointments; j++) {
			const Frontdesk__V1__Appointment *a = appts->appointments[j];

			if (a->starts_unix_ms > now && strcmp(a->status, "cancelled") &&
			    (!c->pop.next_unix_ms[i] || a->starts_unix_ms < c->pop.next_unix_ms[i]))
				c->pop.next_unix_ms[i] = a->starts_unix_ms;
		}
		protobuf_c_message_free_unpacked(reply, NULL);
	}
}

const Frontdesk__V1__PhoneCall *console_ringing(const struct console *c)
{
	if (!c->calls)
		return NULL;
	if (c->call_sel < c->calls->n_calls &&
	    !strcmp(c->calls->calls[c->call_sel]->state, "waiting"))
		return c->calls->calls[c->call_sel];
	for (size_t i = 0; i < c->calls->n_calls; i++)
		if (!strcmp(c->calls->calls[i]->state, "waiting"))
			return c->calls->calls[i];
	return NULL;
}

static void read_phones(struct console *c)
{
	Frontdesk__V1__PhoneListCallsRequest calls = FRONTDESK__V1__PHONE_LIST_CALLS_REQUEST__INIT;
	Frontdesk__V1__PhoneListMessagesRequest msgs =
		FRONTDESK__V1__PHONE_LIST_MESSAGES_REQUEST__INIT;
	Frontdesk__V1__PhoneListPresenceRequest who =
		FRONTDESK__V1__PHONE_LIST_PRESENCE_REQUEST__INIT;
	const Frontdesk__V1__PhoneCall *ringing;
	ProtobufCMessage *reply;

	if (console_call(c, &frontdesk__v1__phone__descriptor, "ListCalls",
			 &calls.base, &reply, "cannot list calls") == FD_OK) {
		FREE_REPLY(c->calls);
		c->calls = (Frontdesk__V1__PhoneListCallsReply *)reply;
		if (c->call_sel >= c->calls->n_calls)
			c->call_sel = c->calls->n_calls ? c->calls->n_calls - 1 : 0;
	}
	if (console_call(c, &frontdesk__v1__phone__descriptor, "ListMessages",
			 &msgs.base, &reply, "cannot list messages") == FD_OK) {
		FREE_REPLY(c->messages);
		c->messages = (Frontdesk__V1__PhoneListMessagesReply *)reply;
	}
	if (console_call(c, &frontdesk__v1__phone__descriptor, "ListPresence",
			 &who.base, &reply, "cannot read presence") == FD_OK) {
		FREE_REPLY(c->presence);
		c->presence = (Frontdesk__V1__PhoneListPresenceReply *)reply;
	}
	/* The screen pop reads patient records (and audits them): only for
	 * the Phones view, where it is shown. */
	if (c->view != VIEW_PHONES) {
		pop_forget(&c->pop);
		return;
	}
	ringing = console_ringing(c);
	if (!ringing && c->calls && c->call_sel < c->calls->n_calls)
		ringing = c->calls->calls[c->call_sel];
	read_pop(c, ringing);
}

/* The call this desk is on (answered by us and not ended), or NULL. */
static const Frontdesk__V1__PhoneCall *my_call(const struct console *c)
{
	if (!c->calls)
		return NULL;
	if (c->call_sel < c->calls->n_calls &&
	    call_is_mine(c, c->calls->calls[c->call_sel]))
		return c->calls->calls[c->call_sel];
	for (size_t i = 0; i < c->calls->n_calls; i++)
		if (call_is_mine(c, c->calls->calls[i]))
			return c->calls->calls[i];
	return NULL;
}

void console_answer_first(struct console *c)
{
	const Frontdesk__V1__PhoneCall *call;
	Frontdesk__V1__PhoneAnswerRequest req = FRONTDESK__V1__PHONE_ANSWER_REQUEST__INIT;
	ProtobufCMessage *reply;

	if (!c->calls)
		read_phones(c);
	if (!(call = console_ringing(c))) {
		console_set_status(c, "no call is ringing");
		return;
	}
	req.call_id = call->id;
	if (console_call(c, &frontdesk__v1__phone__descriptor, "Answer", &req.base,
			 &reply, "cannot answer") != FD_OK)
		return;
	protobuf_c_message_free_unpacked(reply, NULL);
	console_set_status(c, "answered call %lld", (long long)req.call_id);
	c->view = VIEW_PHONES;
	read_phones(c);
}

static void hold_or_resume(struct console *c)
{
	const Frontdesk__V1__PhoneCall *call = my_call(c);
	Frontdesk__V1__PhoneHoldRequest req = FRONTDESK__V1__PHONE_HOLD_REQUEST__INIT;
	ProtobufCMessage *reply;

	if (!call) {
		console_set_status(c, "you are on no call");
		return;
	}
	req.call_id = call->id;
	req.resume = !strcmp(call->state, "on_hold");
	if (console_call(c, &frontdesk__v1__phone__descriptor, "Hold", &req.base,
			 &reply, req.resume ? "cannot resume" : "cannot hold") != FD_OK)
		return;
	protobuf_c_message_free_unpacked(reply, NULL);
	console_set_status(c, req.resume ? "call resumed" : "call on hold");
	read_phones(c);
}

static void end_call(struct console *c, const char *disposition)
{
	const Frontdesk__V1__PhoneCall *call = my_call(c);
	Frontdesk__V1__PhoneEndRequest req = FRONTDESK__V1__PHONE_END_REQUEST__INIT;
	ProtobufCMessage *reply;

	if (!call) {
		console_set_status(c, "you are on no call");
		return;
	}
	req.call_id = call->id;
	req.disposition = (char *)disposition;
	if (console_call(c, &frontdesk__v1__phone__descriptor, "End", &req.base,
			 &reply, "cannot end the call") != FD_OK)
		return;
	protobuf_c_message_free_unpacked(reply, NULL);
	console_set_status(c, "call ended");
	read_phones(c);
}

static void message_done(struct console *c, const char *text)
{
	const Frontdesk__V1__PhoneCall *call = my_call(c);
	Frontdesk__V1__PhoneTakeMessageRequest req =
		FRONTDESK__V1__PHONE_TAKE_MESSAGE_REQUEST__INIT;
	ProtobufCMessage *reply;

	if (!call) {
		console_set_status(c, "you are on no call");
		return;
	}
	req.call_id = call->id;
	req.for_queue = (char *)(call->queue && call->queue[0] ? call->queue : "front");
	req.callback_number = call->from;
	req.reason = (char *)text;
	req.urgency = "routine";
	if (c->pop.call_id == call->id && c->pop.patients &&
	    c->pop.patients->n_patients == 1)
		req.patient_id = c->pop.patients->patients[0]->id;
	if (console_call(c, &frontdesk__v1__phone__descriptor, "TakeMessage",
			 &req.base, &reply, "cannot take the message") != FD_OK)
		return;
	protobuf_c_message_free_unpacked(reply, NULL);
	end_call(c, "message_taken");
	console_set_status(c, "message taken, call ended");
}

static void transfer_done(struct console *c, const char *text)
{
	const Frontdesk__V1__PhoneCall *call = my_call(c);
	Frontdesk__V1__PhoneTransferRequest req =
		FRONTDESK__V1__PHONE_TRANSFER_REQUEST__INIT;
	ProtobufCMessage *reply;

	if (!call || !text[0])
		return;
	req.call_id = call->id;
	req.to_username = (char *)text;
	if (console_call(c, &frontdesk__v1__phone__descriptor, "Transfer",
			 &req.base, &reply, "cannot transfer") != FD_OK)
		return;
	protobuf_c_message_free_unpacked(reply, NULL);
	console_set_status(c, "call transferred");
	read_phones(c);
}

/* Presence goes round available → away → offline → available. */
static void next_presence(struct console *c)
{
	Frontdesk__V1__PhoneSetPresenceRequest req =
		FRONTDESK__V1__PHONE_SET_PRESENCE_REQUEST__INIT;
	const char *now = "offline";
	ProtobufCMessage *reply;

	for (size_t i = 0; c->presence && i < c->presence->n_presence; i++)
		if (!strcmp(c->presence->presence[i]->username, c->login[0].text))
			now = c->presence->presence[i]->state;
	req.state = !strcmp(now, "available") ? "away"
		    : !strcmp(now, "away")    ? "offline"
					      : "available";
	if (console_call(c, &frontdesk__v1__phone__descriptor, "SetPresence",
			 &req.base, &reply, "cannot set presence") != FD_OK)
		return;
	protobuf_c_message_free_unpacked(reply, NULL);
	console_set_status(c, "you are %s", req.state);
	read_phones(c);
}

static bool phones_key(struct console *c, int ch, bool is_key)
{
	if (is_key && (ch == KEY_UP || ch == KEY_DOWN)) {
		move_selection(&c->call_sel, c->calls ? c->calls->n_calls : 0, ch);
		read_pop(c, c->calls && c->call_sel < c->calls->n_calls
				    ? c->calls->calls[c->call_sel]
				    : NULL);
		return true;
	}
	if (is_key)
		return false;
	switch (ch) {
	case 'a':
		console_answer_first(c);
		return true;
	case 'h':
		hold_or_resume(c);
		return true;
	case 'e':
		end_call(c, "");
		return true;
	case 'm':
		if (my_call(c))
			console_open_prompt(c, "Message: reason for the callback", message_done);
		else
			console_set_status(c, "you are on no call");
		return true;
	case 't':
		if (my_call(c))
			console_open_prompt(c, "Transfer to user", transfer_done);
		else
			console_set_status(c, "you are on no call");
		return true;
	case 'p':
		next_presence(c);
		return true;
	case 'r':
		read_phones(c);
		return true;
	default:
		return false;
	}
}

/* --- Patients and booking -------------------------------------------- */

static void read_found(struct console *c)
{
	Frontdesk__V1__FindPatientsRequest req = FRONTDESK__V1__FIND_PATIENTS_REQUEST__INIT;
	ProtobufCMessage *reply;

	if (c->query.len < 2) {
		FREE_REPLY(c->found);
		return;
	}
	req.name = c->query.text;
	req.limit = 50;
	if (console_call(c, &frontdesk__v1__patients__descriptor, "FindPatients",
			 &req.base, &reply, "cannot search") != FD_OK)
		return;
	FREE_REPLY(c->found);
	c->found = (Frontdesk__V1__FindPatientsReply *)reply;
	if (c->found_sel >= c->found->n_patients)
		c->found_sel = 0;
}

static void open_booking(struct console *c)
{
	const Frontdesk__V1__PatientSummary *p;
	Frontdesk__V1__ListTypesRequest req = FRONTDESK__V1__LIST_TYPES_REQUEST__INIT;
	ProtobufCMessage *reply;

	if (!c->found || c->found_sel >= c->found->n_patients) {
		console_set_status(c, "find a patient first");
		return;
	}
	p = c->found->patients[c->found_sel];
	if (!c->booking.types) {
		if (console_call(c, &frontdesk__v1__scheduling__descriptor, "ListTypes",
				 &req.base, &reply, "cannot list types") != FD_OK)
			return;
		c->booking.types = (Frontdesk__V1__ListTypesReply *)reply;
	}
	c->booking.open = true;
	c->booking.patient_id = p->id;
	snprintf(c->booking.patient_name, sizeof c->booking.patient_name, "%s, %s",
		 p->family_name, p->given_name);
	FREE_REPLY(c->booking.slot);
	/* Start on the check-up: the most common booking is one Enter away. */
	c->booking.type_index = 0;
	for (size_t i = 0; i < c->booking.types->n_types; i++)
		if (!strcmp(c->booking.types->types[i]->code, "checkup"))
			c->booking.type_index = i;
}

static void find_first_slot(struct console *c)
{
	Frontdesk__V1__FindSlotsRequest req = FRONTDESK__V1__FIND_SLOTS_REQUEST__INIT;
	ProtobufCMessage *reply;

	if (!c->booking.types || c->booking.type_index >= c->booking.types->n_types)
		return;
	req.type = c->booking.types->types[c->booking.type_index]->code;
	req.location = c->location;
	req.first_available = true;
	req.to_date = "";
	if (console_call(c, &frontdesk__v1__scheduling__descriptor, "FindSlots",
			 &req.base, &reply, "cannot find a slot") != FD_OK)
		return;
	FREE_REPLY(c->booking.slot);
	c->booking.slot = (Frontdesk__V1__FindSlotsReply *)reply;
	if (!c->booking.slot->n_slots)
		console_set_status(c, "no free slot in the next days");
}

static void book_slot(struct console *c)
{
	const Frontdesk__V1__Slot *s = c->booking.slot->slots[0];
	Frontdesk__V1__BookRequest req = FRONTDESK__V1__BOOK_REQUEST__INIT;
	Frontdesk__V1__BookReply *r;
	ProtobufCMessage *reply;

	req.patient_id = c->booking.patient_id;
	req.provider = s->provider;
	req.type = c->booking.types->types[c->booking.type_index]->code;
	req.location = s->location;
	req.at = s->starts_local;
	if (console_call(c, &frontdesk__v1__scheduling__descriptor, "Book",
			 &req.base, &reply, "cannot book") != FD_OK) {
		FREE_REPLY(c->booking.slot); /* taken meanwhile: look again */
		return;
	}
	r = (Frontdesk__V1__BookReply *)reply;
	console_set_status(c, "booked appointment %lld",
			   r->appointment ? (long long)r->appointment->id : 0LL);
	protobuf_c_message_free_unpacked(reply, NULL);
	c->booking.open = false;
	FREE_REPLY(c->booking.slot);
}

static bool booking_key(struct console *c, int ch, bool is_key)
{
	size_t n = c->booking.types ? c->booking.types->n_types : 0;

	if (!is_key && ch == 27) {
		c->booking.open = false;
		FREE_REPLY(c->booking.slot);
		console_set_status(c, "booking cancelled");
	} else if (is_key && (ch == KEY_UP || ch == KEY_DOWN)) {
		move_selection(&c->booking.type_index, n, ch);
		FREE_REPLY(c->booking.slot);
	} else if (is_enter(ch, is_key)) {
		if (c->booking.slot && c->booking.slot->n_slots)
			book_slot(c);
		else
			find_first_slot(c);
	} else {
		return false;
	}
	return true;
}

static bool patients_key(struct console *c, int ch, bool is_key)
{
	if (c->booking.open)
		return booking_key(c, ch, is_key);
	if (is_key && (ch == KEY_UP || ch == KEY_DOWN || ch == KEY_PPAGE ||
		       ch == KEY_NPAGE)) {
		move_selection(&c->found_sel, c->found ? c->found->n_patients : 0, ch);
		return true;
	}
	if (is_enter(ch, is_key)) {
		open_booking(c);
		return true;
	}
	if (!is_key && ch == 27) {
		c->query.len = 0;
		c->query.text[0] = '\0';
		FREE_REPLY(c->found);
		return true;
	}
	if ((is_key && ch == KEY_BACKSPACE) || (!is_key && (ch == 0x7f || ch == 8))) {
		while (c->query.len > 0 &&
		       ((unsigned char)c->query.text[--c->query.len] & 0xc0) == 0x80)
			;
		c->query.text[c->query.len] = '\0';
		read_found(c);
		return true;
	}
	if (!is_key && ch >= 0x20 && ch != 0x7f && !(ch >= 0x80 && ch < 0xa0)) {
		char mb[8];
		int n = wctomb(mb, (wchar_t)ch);

		if (n > 0 && c->query.len + (size_t)n < sizeof c->query.text) {
			memcpy(c->query.text + c->query.len, mb, (size_t)n);
			c->query.len += (size_t)n;
			c->query.text[c->query.len] = '\0';
		}
		c->found_sel = 0;
		read_found(c);
		return true;
	}
	return false;
}

/* --- dispatch -------------------------------------------------------- */

void console_refresh(struct console *c, unsigned what)
{
	if (!c->logged_in || c->locked)
		return;
	if ((what & CHANGED_TODAY) && c->view == VIEW_TODAY)
		read_today(c);
	if ((what & CHANGED_TODAY) && c->view == VIEW_BOARD)
		read_board(c);
	/* Phones are read whatever the view: the ringing banner needs them. */
	if (what & CHANGED_PHONES)
		read_phones(c);
	if ((what & CHANGED_PATIENTS) && c->view == VIEW_PATIENTS)
		read_found(c);
}

bool console_view_key(struct console *c, int ch, bool is_key)
{
	switch (c->view) {
	case VIEW_TODAY:
		return today_key(c, ch, is_key);
	case VIEW_PHONES:
		return phones_key(c, ch, is_key);
	case VIEW_PATIENTS:
		return patients_key(c, ch, is_key);
	case VIEW_BOARD:
		return board_key(c, ch, is_key);
	default:
		return false;
	}
}
