/*
 * `desk console`: which view reads what, and which keys go where. Each
 * view's reads and actions live in its own file (console_today.c,
 * console_checkin.c, console_phone.c, console_patient.c,
 * console_record.c); reads replace the view's reply wholesale when it
 * arrives, so a failed read leaves the last good picture on screen with
 * the status line saying why.
 */
#include <stdlib.h>

#include "console.h"

void console_forget(struct console *c)
{
	CONSOLE_FREE_REPLY(c->today);
	CONSOLE_FREE_REPLY(c->board);
	CONSOLE_FREE_REPLY(c->calls);
	CONSOLE_FREE_REPLY(c->messages);
	CONSOLE_FREE_REPLY(c->presence);
	CONSOLE_FREE_REPLY(c->queues);
	CONSOLE_FREE_REPLY(c->found);
	CONSOLE_FREE_REPLY(c->booking.types);
	CONSOLE_FREE_REPLY(c->booking.slot);
	CONSOLE_FREE_REPLY(c->pop.patients);
	c->pop.call_id = 0;
	c->pop.gen++;
	console_record_forget(c);
	console_receipt_close(c);
	/* The form may hold what was typed about a patient. */
	for (size_t i = 0; i < CONSOLE_FORM_MAX; i++)
		console_field_clear(&c->form.fields[i].value);
	c->form.open = false;
	if (c->pane != PANE_SEARCH)
		c->pane = PANE_SEARCH;
	c->click.sel = NULL;
}

void console_refresh(struct console *c, unsigned what)
{
	if (!c->logged_in || c->locked)
		return;
	if ((what & CHANGED_TODAY) && c->view == VIEW_TODAY)
		console_today_read(c);
	if ((what & CHANGED_TODAY) && c->view == VIEW_BOARD)
		console_board_read(c);
	/* Phones are read whatever the view: the ringing banner needs them. */
	if (what & CHANGED_PHONES)
		console_phones_read(c);
	if ((what & (CHANGED_PATIENTS | CHANGED_TODAY)) && c->view == VIEW_PATIENTS &&
	    c->pane == PANE_RECORD)
		console_record_read(c);
	else if ((what & CHANGED_PATIENTS) && c->view == VIEW_PATIENTS)
		console_found_read(c);
}

bool console_view_key(struct console *c, int ch, bool is_key)
{
	switch (c->view) {
	case VIEW_TODAY:
		return console_today_key(c, ch, is_key);
	case VIEW_PHONES:
		return console_phones_key(c, ch, is_key);
	case VIEW_PATIENTS:
		return console_patients_key(c, ch, is_key);
	case VIEW_BOARD:
		return console_board_key(c, ch, is_key);
	default:
		return false;
	}
}
