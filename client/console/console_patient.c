/*
 * `desk console`: the Patients view's search and booking panes. Search as
 * you type (from two letters); a found patient is booked in three Enters
 * (booking on the check-up, first free slot, book), their record opens
 * with → or F6 (console_record.c), and F7 or ^N registers a new patient.
 * Letters are typed text here, so every action key is an arrow, Enter,
 * Esc or a function key.
 */
#include <curses.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "console.h"

static void found_done(struct console *c, struct console_reply *r)
{
	if (r->code != FD_OK)
		return;
	CONSOLE_FREE_REPLY(c->found);
	c->found = (Frontdesk__V1__FindPatientsReply *)r->msg;
	r->msg = NULL;
	if (c->found_sel >= c->found->n_patients)
		c->found_sel = 0;
}

void console_found_read(struct console *c)
{
	Frontdesk__V1__FindPatientsRequest req = FRONTDESK__V1__FIND_PATIENTS_REQUEST__INIT;
	char name[CONSOLE_FIELD_MAX];
	size_t len = c->query.len, skip = 0;

	/* The space between given and family name is typed before the
	 * family name is: search on the words so far, as the server wants a
	 * name without surrounding spaces. */
	while (skip < len && c->query.text[skip] == ' ')
		skip++;
	while (len > skip && c->query.text[len - 1] == ' ')
		len--;
	if (len - skip < 2) {
		CONSOLE_FREE_REPLY(c->found);
		return;
	}
	memcpy(name, c->query.text + skip, len - skip);
	name[len - skip] = 0;
	req.name = name;
	req.limit = 50;
	console_send(c, &frontdesk__v1__patients__descriptor, "FindPatients",
		     &req.base, "cannot search", found_done, 0);
}

static const Frontdesk__V1__PatientSummary *selected_patient(const struct console *c)
{
	if (!c->found || c->found_sel >= c->found->n_patients)
		return NULL;
	return c->found->patients[c->found_sel];
}

/* --- booking ---------------------------------------------------------- */

/* Starts on the check-up: the most common booking is one Enter away. */
static void preselect_checkup(struct console *c)
{
	c->booking.type_index = 0;
	for (size_t i = 0; c->booking.types && i < c->booking.types->n_types; i++)
		if (!strcmp(c->booking.types->types[i]->code, "checkup"))
			c->booking.type_index = i;
}

static void find_first_slot(struct console *c);

static void types_done(struct console *c, struct console_reply *r)
{
	if (r->code != FD_OK)
		return;
	CONSOLE_FREE_REPLY(c->booking.types);
	c->booking.types = (Frontdesk__V1__ListTypesReply *)r->msg;
	r->msg = NULL;
	preselect_checkup(c);
	/* Enter was pressed before the types arrived: do what it asked. */
	if (c->booking.want_slot && c->pane == PANE_BOOKING)
		find_first_slot(c);
	c->booking.want_slot = false;
}

static void open_booking(struct console *c, int64_t patient_id, const char *family,
			 const char *given)
{
	Frontdesk__V1__ListTypesRequest req = FRONTDESK__V1__LIST_TYPES_REQUEST__INIT;

	c->pane = PANE_BOOKING;
	c->booking.patient_id = patient_id;
	snprintf(c->booking.patient_name, sizeof c->booking.patient_name, "%s, %s",
		 family, given);
	CONSOLE_FREE_REPLY(c->booking.slot);
	c->booking.want_slot = false;
	if (!c->booking.types)
		console_send(c, &frontdesk__v1__scheduling__descriptor, "ListTypes",
			     &req.base, "cannot list types", types_done, 0);
	preselect_checkup(c);
}

static void slot_done(struct console *c, struct console_reply *r)
{
	if (r->code != FD_OK || c->pane != PANE_BOOKING)
		return;
	CONSOLE_FREE_REPLY(c->booking.slot);
	c->booking.slot = (Frontdesk__V1__FindSlotsReply *)r->msg;
	r->msg = NULL;
	if (!c->booking.slot->n_slots)
		console_set_status(c, "no free slot in the next days");
}

static void find_first_slot(struct console *c)
{
	Frontdesk__V1__FindSlotsRequest req = FRONTDESK__V1__FIND_SLOTS_REQUEST__INIT;

	if (!c->booking.types) {
		c->booking.want_slot = true;
		return;
	}
	if (c->booking.type_index >= c->booking.types->n_types)
		return;
	req.type = c->booking.types->types[c->booking.type_index]->code;
	req.location = c->location;
	req.first_available = true;
	req.to_date = "";
	console_send(c, &frontdesk__v1__scheduling__descriptor, "FindSlots", &req.base,
		     "cannot find a slot", slot_done, 0);
}

static void booked(struct console *c, struct console_reply *r)
{
	Frontdesk__V1__BookReply *b = (Frontdesk__V1__BookReply *)r->msg;

	CONSOLE_FREE_REPLY(c->booking.slot); /* taken meanwhile: look again */
	if (r->code != FD_OK)
		return;
	console_set_status(c, "booked appointment %lld",
			   b->appointment ? (long long)b->appointment->id : 0LL);
	/* Back to where booking was opened from. */
	c->pane = c->record.patient_id == c->booking.patient_id &&
				  c->record.got ? PANE_RECORD : PANE_SEARCH;
	if (c->pane == PANE_RECORD)
		console_record_read(c);
}

static void book_slot(struct console *c)
{
	const Frontdesk__V1__Slot *s = c->booking.slot->slots[0];
	Frontdesk__V1__BookRequest req = FRONTDESK__V1__BOOK_REQUEST__INIT;

	req.patient_id = c->booking.patient_id;
	req.provider = s->provider;
	req.type = c->booking.types->types[c->booking.type_index]->code;
	req.location = s->location;
	req.at = s->starts_local;
	console_send(c, &frontdesk__v1__scheduling__descriptor, "Book", &req.base,
		     "cannot book", booked, req.patient_id);
}

static bool booking_key(struct console *c, int ch, bool is_key)
{
	size_t n = c->booking.types ? c->booking.types->n_types : 0;

	if (!is_key && ch == 27) {
		c->pane = c->record.got && c->record.patient_id == c->booking.patient_id
				  ? PANE_RECORD : PANE_SEARCH;
		CONSOLE_FREE_REPLY(c->booking.slot);
		console_set_status(c, "booking cancelled");
	} else if (is_key && (ch == KEY_UP || ch == KEY_DOWN)) {
		console_move_selection(&c->booking.type_index, n, ch);
		CONSOLE_FREE_REPLY(c->booking.slot);
	} else if (console_is_enter(ch, is_key)) {
		if (c->booking.slot && c->booking.slot->n_slots)
			book_slot(c);
		else
			find_first_slot(c);
	} else {
		return false;
	}
	return true;
}

/* Booking from a patient's record (its `b` key). */
void console_book_for(struct console *c, int64_t patient_id, const char *family,
		      const char *given)
{
	open_booking(c, patient_id, family, given);
}

/* --- search ----------------------------------------------------------- */

static bool search_key(struct console *c, int ch, bool is_key)
{
	const Frontdesk__V1__PatientSummary *p = selected_patient(c);

	if (console_is_move_key(ch, is_key)) {
		console_move_selection(&c->found_sel, c->found ? c->found->n_patients : 0, ch);
		return true;
	}
	if ((is_key && (ch == KEY_F(7))) || (!is_key && ch == 0x0e)) {
		console_register_open(c);
		return true;
	}
	if (console_is_enter(ch, is_key) || (is_key && (ch == KEY_RIGHT || ch == KEY_F(6)))) {
		if (!p)
			console_set_status(c, "find a patient first (F7 registers a new one)");
		else if (console_is_enter(ch, is_key))
			open_booking(c, p->id, p->family_name, p->given_name);
		else
			console_record_open(c, p->id);
		return true;
	}
	if (!is_key && ch == 27) {
		console_field_clear(&c->query);
		CONSOLE_FREE_REPLY(c->found);
		return true;
	}
	if (console_field_edit(&c->query, (unsigned)ch, is_key)) {
		c->found_sel = 0;
		console_found_read(c);
		return true;
	}
	return false;
}

bool console_patients_key(struct console *c, int ch, bool is_key)
{
	switch (c->pane) {
	case PANE_BOOKING:
		return booking_key(c, ch, is_key);
	case PANE_RECORD:
		return console_record_key(c, ch, is_key);
	default:
		return search_key(c, ch, is_key);
	}
}
