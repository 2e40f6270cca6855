/*
 * `desk console`: the Phones view. Reads calls, the message inbox, who is
 * available and the queues; the screen pop matches the caller's number to
 * patients and their next appointment. Keys answer, hold and resume, end,
 * take a message, transfer to a queue or to a colleague, and work the
 * inbox: mark a message done or assign it to someone else. `f` moves the
 * arrows between the calls and the inbox.
 */
#include <curses.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "console.h"

static bool call_is_mine(const struct console *c, const Frontdesk__V1__PhoneCall *call)
{
	return call->answered_by && !strcmp(call->answered_by, c->login[0].text) &&
	       strcmp(call->state, "ended") != 0;
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

static const Frontdesk__V1__PhoneMessage *selected_message(const struct console *c)
{
	if (!c->messages || c->message_sel >= c->messages->n_messages)
		return NULL;
	return c->messages->messages[c->message_sel];
}

/* --- the screen pop -------------------------------------------------- */

/* `about` carries the pop's generation times 8 plus the patient's row. */
static void next_appointment_read(struct console *c, struct console_reply *r)
{
	Frontdesk__V1__ListAppointmentsReply *appts =
		(Frontdesk__V1__ListAppointmentsReply *)r->msg;
	size_t row = (size_t)(r->about % 8);
	int64_t now = (int64_t)time(NULL) * 1000, *next;

	if (r->code != FD_OK || (unsigned)(r->about / 8) != c->pop.gen ||
	    row >= CONSOLE_POP_MAX)
		return;
	next = &c->pop.next_unix_ms[row];
	for (size_t j = 0; j < appts->n_appointments; j++) {
		const Frontdesk__V1__Appointment *a = appts->appointments[j];

		if (a->starts_unix_ms > now && strcmp(a->status, "cancelled") &&
		    (!*next || a->starts_unix_ms < *next))
			*next = a->starts_unix_ms;
	}
}

static void pop_matched(struct console *c, struct console_reply *r)
{
	if (r->code != FD_OK || (unsigned)r->about != c->pop.gen)
		return;
	CONSOLE_FREE_REPLY(c->pop.patients);
	c->pop.patients = (Frontdesk__V1__FindPatientsReply *)r->msg;
	r->msg = NULL;
	for (size_t i = 0; i < c->pop.patients->n_patients && i < CONSOLE_POP_MAX; i++) {
		Frontdesk__V1__ListAppointmentsRequest list =
			FRONTDESK__V1__LIST_APPOINTMENTS_REQUEST__INIT;

		c->pop.next_unix_ms[i] = 0;
		list.patient_id = c->pop.patients->patients[i]->id;
		console_send(c, &frontdesk__v1__scheduling__descriptor,
			     "ListAppointments", &list.base,
			     "cannot read the caller's appointments",
			     next_appointment_read, (int64_t)c->pop.gen * 8 + (int64_t)i);
	}
}

/* Patients whose number matches the caller, each with their next
 * appointment. Kept while the same call stays selected. */
static void read_pop(struct console *c, const Frontdesk__V1__PhoneCall *call)
{
	Frontdesk__V1__FindPatientsRequest find = FRONTDESK__V1__FIND_PATIENTS_REQUEST__INIT;

	if (call && call->id == c->pop.call_id && c->pop.patients)
		return;
	CONSOLE_FREE_REPLY(c->pop.patients);
	c->pop.gen++;
	c->pop.call_id = 0;
	if (!call || !call->from || !call->from[0])
		return;
	c->pop.call_id = call->id;
	find.phone = call->from;
	find.limit = CONSOLE_POP_MAX;
	console_send(c, &frontdesk__v1__patients__descriptor, "FindPatients",
		     &find.base, "cannot match the caller", pop_matched, c->pop.gen);
}

static void pop_for_selection(struct console *c)
{
	const Frontdesk__V1__PhoneCall *call = console_ringing(c);

	/* The pop reads patient records (and audits them): only for the
	 * Phones view, where it is shown. */
	if (c->view != VIEW_PHONES) {
		read_pop(c, NULL);
		return;
	}
	if (!call && c->calls && c->call_sel < c->calls->n_calls)
		call = c->calls->calls[c->call_sel];
	read_pop(c, call);
}

/* --- reading --------------------------------------------------------- */

static void calls_done(struct console *c, struct console_reply *r)
{
	if (r->code != FD_OK)
		return;
	CONSOLE_FREE_REPLY(c->calls);
	c->calls = (Frontdesk__V1__PhoneListCallsReply *)r->msg;
	r->msg = NULL;
	if (c->call_sel >= c->calls->n_calls)
		c->call_sel = c->calls->n_calls ? c->calls->n_calls - 1 : 0;
	pop_for_selection(c);
}

static void messages_done(struct console *c, struct console_reply *r)
{
	if (r->code != FD_OK)
		return;
	CONSOLE_FREE_REPLY(c->messages);
	c->messages = (Frontdesk__V1__PhoneListMessagesReply *)r->msg;
	r->msg = NULL;
	if (c->message_sel >= c->messages->n_messages)
		c->message_sel = c->messages->n_messages ? c->messages->n_messages - 1 : 0;
}

static void presence_done(struct console *c, struct console_reply *r)
{
	if (r->code != FD_OK)
		return;
	CONSOLE_FREE_REPLY(c->presence);
	c->presence = (Frontdesk__V1__PhoneListPresenceReply *)r->msg;
	r->msg = NULL;
}

static void queues_done(struct console *c, struct console_reply *r)
{
	if (r->code != FD_OK)
		return;
	CONSOLE_FREE_REPLY(c->queues);
	c->queues = (Frontdesk__V1__PhoneListQueuesReply *)r->msg;
	r->msg = NULL;
}

void console_phones_read(struct console *c)
{
	Frontdesk__V1__PhoneListCallsRequest calls = FRONTDESK__V1__PHONE_LIST_CALLS_REQUEST__INIT;
	Frontdesk__V1__PhoneListMessagesRequest msgs =
		FRONTDESK__V1__PHONE_LIST_MESSAGES_REQUEST__INIT;
	Frontdesk__V1__PhoneListPresenceRequest who =
		FRONTDESK__V1__PHONE_LIST_PRESENCE_REQUEST__INIT;
	Frontdesk__V1__PhoneListQueuesRequest queues =
		FRONTDESK__V1__PHONE_LIST_QUEUES_REQUEST__INIT;
	const ProtobufCServiceDescriptor *phone = &frontdesk__v1__phone__descriptor;

	console_send(c, phone, "ListCalls", &calls.base, "cannot list calls",
		     calls_done, 0);
	console_send(c, phone, "ListMessages", &msgs.base, "cannot list messages",
		     messages_done, 0);
	console_send(c, phone, "ListPresence", &who.base, "cannot read presence",
		     presence_done, 0);
	if (c->view == VIEW_PHONES)
		console_send(c, phone, "ListQueues", &queues.base,
			     "cannot list the queues", queues_done, 0);
}

/* --- calls ------------------------------------------------------------ */

/* Puts the call a reply brought back in place of the listed one, so the
 * next key sees its new state before the re-read arrives. The replaced
 * call is freed on its own (protobuf-c allocates each sub-message
 * separately); the reply gives up its pointer. */
static void take_call(struct console *c, Frontdesk__V1__PhoneCall **from_reply)
{
	for (size_t i = 0; c->calls && *from_reply && i < c->calls->n_calls; i++) {
		if (c->calls->calls[i]->id != (*from_reply)->id)
			continue;
		protobuf_c_message_free_unpacked(&c->calls->calls[i]->base, NULL);
		c->calls->calls[i] = *from_reply;
		*from_reply = NULL;
		return;
	}
}

/* After any call action: say so and re-read the phones. */
static void phone_acted(struct console *c, struct console_reply *r, const char *what)
{
	if (r->code != FD_OK)
		return;
	console_set_status(c, "%s", what);
	console_phones_read(c);
}

static void answered(struct console *c, struct console_reply *r)
{
	char what[64];

	snprintf(what, sizeof what, "answered call %lld", (long long)r->about);
	if (r->code == FD_OK) {
		c->view = VIEW_PHONES;
		take_call(c, &((Frontdesk__V1__PhoneAnswerReply *)r->msg)->call);
	}
	phone_acted(c, r, what);
}

void console_answer_first(struct console *c)
{
	const Frontdesk__V1__PhoneCall *call = console_ringing(c);
	Frontdesk__V1__PhoneAnswerRequest req = FRONTDESK__V1__PHONE_ANSWER_REQUEST__INIT;

	if (!call) {
		console_set_status(c, "no call is ringing");
		return;
	}
	req.call_id = call->id;
	console_send(c, &frontdesk__v1__phone__descriptor, "Answer", &req.base,
		     "cannot answer", answered, call->id);
}

static void held(struct console *c, struct console_reply *r)
{
	if (r->code == FD_OK)
		take_call(c, &((Frontdesk__V1__PhoneHoldReply *)r->msg)->call);
	phone_acted(c, r, r->about ? "call resumed" : "call on hold");
}

static void hold_or_resume(struct console *c, const Frontdesk__V1__PhoneCall *call)
{
	Frontdesk__V1__PhoneHoldRequest req = FRONTDESK__V1__PHONE_HOLD_REQUEST__INIT;

	req.call_id = call->id;
	req.resume = !strcmp(call->state, "on_hold");
	console_send(c, &frontdesk__v1__phone__descriptor, "Hold", &req.base,
		     req.resume ? "cannot resume" : "cannot hold", held, req.resume);
}

static void ended(struct console *c, struct console_reply *r)
{
	if (r->code == FD_OK)
		take_call(c, &((Frontdesk__V1__PhoneEndReply *)r->msg)->call);
	phone_acted(c, r, r->about ? "message taken, call ended" : "call ended");
}

/* `message_taken` also says so on the status line when it is done. */
static void end_call(struct console *c, int64_t call_id, const char *disposition)
{
	Frontdesk__V1__PhoneEndRequest req = FRONTDESK__V1__PHONE_END_REQUEST__INIT;

	req.call_id = call_id;
	req.disposition = (char *)disposition;
	console_send(c, &frontdesk__v1__phone__descriptor, "End", &req.base,
		     "cannot end the call", ended, disposition[0] != '\0');
}

static void message_taken(struct console *c, struct console_reply *r)
{
	if (r->code == FD_OK)
		end_call(c, r->about, "message_taken");
}

static void message_entered(struct console *c, const char *text)
{
	const Frontdesk__V1__PhoneCall *call = my_call(c);
	Frontdesk__V1__PhoneTakeMessageRequest req =
		FRONTDESK__V1__PHONE_TAKE_MESSAGE_REQUEST__INIT;

	if (!call || call->id != c->prompt.about) {
		console_set_status(c, "that call is no longer yours");
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
	console_send(c, &frontdesk__v1__phone__descriptor, "TakeMessage", &req.base,
		     "cannot take the message", message_taken, call->id);
}

static void transferred(struct console *c, struct console_reply *r)
{
	if (r->code == FD_OK)
		take_call(c, &((Frontdesk__V1__PhoneTransferReply *)r->msg)->call);
	phone_acted(c, r, "call transferred");
}

static void transfer(struct console *c, const char *queue, const char *user)
{
	Frontdesk__V1__PhoneTransferRequest req =
		FRONTDESK__V1__PHONE_TRANSFER_REQUEST__INIT;

	if ((!queue || !queue[0]) && (!user || !user[0]))
		return;
	req.call_id = c->prompt.about;
	req.to_queue = (char *)(queue ? queue : "");
	req.to_username = (char *)(user ? user : "");
	console_send(c, &frontdesk__v1__phone__descriptor, "Transfer", &req.base,
		     "cannot transfer", transferred, req.call_id);
}

static void queue_entered(struct console *c, const char *text)
{
	transfer(c, text, NULL);
}

static void user_entered(struct console *c, const char *text)
{
	transfer(c, NULL, text);
}

/* `t`: the queues are offered as digits (their codes shown), or a code
 * may be typed. */
static void ask_queue(struct console *c, const Frontdesk__V1__PhoneCall *call)
{
	char label[96];
	size_t n = 0, used;

	used = (size_t)snprintf(label, sizeof label, "Transfer to queue:");
	for (size_t i = 0; c->queues && i < c->queues->n_queues && n < 9; i++) {
		c->queue_codes[n++] = c->queues->queues[i]->code;
		if (used < sizeof label)
			used += (size_t)snprintf(label + used, sizeof label - used, " %zu %s",
						 n, c->queues->queues[i]->code);
	}
	console_open_prompt(c, label, queue_entered);
	c->prompt.quick = c->queue_codes;
	c->prompt.n_quick = n;
	c->prompt.about = call->id;
}

/* Presence goes round available → away → offline → available. */
static void presence_set(struct console *c, struct console_reply *r)
{
	static const char *const names[] = { "available", "away", "offline" };

	if (r->code == FD_OK) {
		console_set_status(c, "you are %s", names[r->about]);
		console_phones_read(c);
	}
}

static void next_presence(struct console *c)
{
	Frontdesk__V1__PhoneSetPresenceRequest req =
		FRONTDESK__V1__PHONE_SET_PRESENCE_REQUEST__INIT;
	const char *now = "offline";
	int64_t next;

	for (size_t i = 0; c->presence && i < c->presence->n_presence; i++)
		if (!strcmp(c->presence->presence[i]->username, c->login[0].text))
			now = c->presence->presence[i]->state;
	next = !strcmp(now, "available") ? 1 : !strcmp(now, "away") ? 2 : 0;
	req.state = next == 1 ? "away" : next == 2 ? "offline" : "available";
	console_send(c, &frontdesk__v1__phone__descriptor, "SetPresence", &req.base,
		     "cannot set presence", presence_set, next);
}

/* --- the inbox -------------------------------------------------------- */

static void message_completed(struct console *c, struct console_reply *r)
{
	char what[64];

	snprintf(what, sizeof what, "message %lld done", (long long)r->about);
	phone_acted(c, r, what);
}

static void complete_message(struct console *c, const Frontdesk__V1__PhoneMessage *m)
{
	Frontdesk__V1__PhoneCompleteMessageRequest req =
		FRONTDESK__V1__PHONE_COMPLETE_MESSAGE_REQUEST__INIT;

	req.message_id = m->id;
	console_send(c, &frontdesk__v1__phone__descriptor, "CompleteMessage",
		     &req.base, "cannot mark the message done", message_completed, m->id);
}

static void message_assigned(struct console *c, struct console_reply *r)
{
	char what[64];

	snprintf(what, sizeof what, "message %lld assigned", (long long)r->about);
	phone_acted(c, r, what);
}

static void assignee_entered(struct console *c, const char *text)
{
	Frontdesk__V1__PhoneAssignMessageRequest req =
		FRONTDESK__V1__PHONE_ASSIGN_MESSAGE_REQUEST__INIT;

	if (!text[0])
		return;
	req.message_id = c->prompt.about;
	req.to_username = (char *)text;
	console_send(c, &frontdesk__v1__phone__descriptor, "AssignMessage", &req.base,
		     "cannot assign the message", message_assigned, req.message_id);
}

static bool inbox_key(struct console *c, int ch)
{
	const Frontdesk__V1__PhoneMessage *m = selected_message(c);

	if (ch != 'c' && ch != 'g')
		return false;
	if (!m) {
		console_set_status(c, "no message selected (f moves to the inbox)");
		return true;
	}
	if (ch == 'c') {
		complete_message(c, m);
	} else {
		console_open_prompt(c, "Assign the message to user", assignee_entered);
		c->prompt.about = m->id;
	}
	return true;
}

/* Keys that act on the call this desk is on. */
static bool my_call_key(struct console *c, int ch)
{
	const Frontdesk__V1__PhoneCall *call;

	if (!strchr("hemtu", ch))
		return false;
	if (!(call = my_call(c))) {
		console_set_status(c, "you are on no call");
		return true;
	}
	switch (ch) {
	case 'h':
		hold_or_resume(c, call);
		break;
	case 'e':
		end_call(c, call->id, "");
		break;
	case 'm':
		console_open_prompt(c, "Message: reason for the callback", message_entered);
		c->prompt.about = call->id;
		break;
	case 't':
		ask_queue(c, call);
		break;
	case 'u':
		console_open_prompt(c, "Transfer to user", user_entered);
		c->prompt.about = call->id;
		break;
	}
	return true;
}

bool console_phones_key(struct console *c, int ch, bool is_key)
{
	if (is_key && (ch == KEY_UP || ch == KEY_DOWN)) {
		if (c->messages_focus) {
			console_move_selection(&c->message_sel,
					       c->messages ? c->messages->n_messages : 0, ch);
			return true;
		}
		console_move_selection(&c->call_sel, c->calls ? c->calls->n_calls : 0, ch);
		pop_for_selection(c);
		return true;
	}
	if (is_key || ch <= 0 || ch > 0x7e)
		return false;
	switch (ch) {
	case 'a':
		console_answer_first(c);
		return true;
	case 'f':
		c->messages_focus = !c->messages_focus;
		console_set_status(c, c->messages_focus ? "arrows move in the inbox"
							: "arrows move in the calls");
		return true;
	case 'p':
		next_presence(c);
		return true;
	case 'r':
		console_phones_read(c);
		return true;
	default:
		return my_call_key(c, ch) || inbox_key(c, ch);
	}
}
