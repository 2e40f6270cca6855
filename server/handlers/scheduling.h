/*
 * What the scheduling handler files share: the handler prototypes (rows of
 * scheduling.def), input checks that give a receptionist a clear message
 * (text, dates, wall-clock times), the one SELECT that turns appointment
 * rows into Appointment messages, and the reminder sender interface.
 *
 * Everything runs on a worker thread inside the call's transaction; strings
 * returned live in ctx->arena.
 */
#ifndef FD_HANDLERS_SCHEDULING_H
#define FD_HANDLERS_SCHEDULING_H

#include <libpq-fe.h>
#include <stdbool.h>
#include <stdint.h>

#include "db/db.h"
#include "handler.h"
#include "frontdesk/v1/scheduling.pb-c.h"

#define SCHED_NOMEM(ctx) fd_fail(&(ctx)->status, FD_RESOURCE_EXHAUSTED, "out of memory")

#define SCHED_HANDLER(fn) \
	int fn(fd_ctx *ctx, const ProtobufCMessage *in, ProtobufCMessage **out)
SCHED_HANDLER(handle_sched_list_providers);
SCHED_HANDLER(handle_sched_save_provider);
SCHED_HANDLER(handle_sched_list_types);
SCHED_HANDLER(handle_sched_save_type);
SCHED_HANDLER(handle_sched_list_rooms);
SCHED_HANDLER(handle_sched_save_room);
SCHED_HANDLER(handle_sched_add_template);
SCHED_HANDLER(handle_sched_list_templates);
SCHED_HANDLER(handle_sched_remove_template);
SCHED_HANDLER(handle_sched_add_exception);
SCHED_HANDLER(handle_sched_add_holiday);
SCHED_HANDLER(handle_sched_list_holidays);
SCHED_HANDLER(handle_sched_find_slots);
SCHED_HANDLER(handle_sched_book);
SCHED_HANDLER(handle_sched_reschedule);
SCHED_HANDLER(handle_sched_cancel);
SCHED_HANDLER(handle_sched_mark_no_show);
SCHED_HANDLER(handle_sched_confirm);
SCHED_HANDLER(handle_sched_get_appointment);
SCHED_HANDLER(handle_sched_list_appointments);
SCHED_HANDLER(handle_sched_add_waitlist);
SCHED_HANDLER(handle_sched_list_waitlist);
SCHED_HANDLER(handle_sched_accept_offer);
SCHED_HANDLER(handle_sched_decline_offer);
SCHED_HANDLER(handle_sched_remove_waitlist);
SCHED_HANDLER(handle_sched_set_offer_hold);

/* PERIODIC: marks reminders due and hands them to the configured sender. */
void sched_reminders_tick(PGconn *conn);
/* PERIODIC: expired waitlist offers move on to the next entry. */
void sched_waitlist_tick(PGconn *conn);

/* SQL that names a record by code or by decimal id: use with the code or
 * id text as the parameter, e.g. "code = $1 OR id = " SCHED_ID_OF("$1"). */
#define SCHED_ID_OF(p) "CASE WHEN " p " ~ '^[0-9]{1,18}$' THEN " p "::bigint END"

/* Text of at most max bytes without control characters; empty allowed only
 * when min is 0. newlines_ok lets multi-line notes through. */
int sched_check_text(fd_ctx *ctx, const char *what, const char *s, size_t min,
		     size_t max, bool newlines_ok) __attribute__((warn_unused_result));
/* A code (provider, type, room, location): 1-32 of a-z 0-9 . _ - */
int sched_check_code(fd_ctx *ctx, const char *what, const char *s)
	__attribute__((warn_unused_result));
/* A calendar date "YYYY-MM-DD" that exists (no Feb 30). */
int sched_check_date(fd_ctx *ctx, const char *what, const char *s)
	__attribute__((warn_unused_result));
/* A wall-clock time "HH:MM" (24 h). */
int sched_check_time(fd_ctx *ctx, const char *what, const char *s)
	__attribute__((warn_unused_result));
/* "YYYY-MM-DD HH:MM" (a 'T' between is accepted); *local gets the
 * normalised text for SQL ("YYYY-MM-DD HH:MM"). Whether the time exists in
 * the location's zone is checked in SQL with local_instant(). */
int sched_check_local(fd_ctx *ctx, const char *what, const char *s, char **local)
	__attribute__((warn_unused_result));

/* A provider at a location: resolved from codes (or decimal ids). An
 * empty location means the provider's only (or first) location. */
struct sched_place {
	int64_t provider_id;
	int64_t location_id;
	const char *time_zone;
	const char *location;
};
/* NOT_FOUND for an unknown provider or location, FAILED_PRECONDITION when
 * the provider does not work at the location or is inactive. */
int sched_resolve_place(fd_ctx *ctx, const char *provider, const char *location,
			struct sched_place *out) __attribute__((warn_unused_result));
/* The instant of a checked local time in a zone, as text for SQL
 * ("2025-03-10 14:30:00+00"); INVALID_ARGUMENT when the wall-clock time
 * does not exist there (the hour skipped when clocks spring forward). */
int sched_local_instant(fd_ctx *ctx, const char *what, const char *local,
			const char *zone, char **instant) __attribute__((warn_unused_result));


/* The select list and joins that sched_appointment_from_row reads; append
 * a WHERE over alias a (appointments), p, t, l, pa. */
extern const char sched_appointment_select[];
Frontdesk__V1__Appointment *sched_appointment_from_row(fd_ctx *ctx, const PGresult *r, int row);
/* Loads one appointment by id (NOT_FOUND when there is none). */
int sched_load_appointment(fd_ctx *ctx, int64_t id, Frontdesk__V1__Appointment **out)
	__attribute__((warn_unused_result));

/* Up to three next open slots of the provider after `after` (an instant
 * as text), as "2025-03-10 09:45, 2025-03-10 10:00" in the location's
 * zone (empty when none within four weeks). For the "slot just taken"
 * answer. ignore: an appointment being moved (0: none). */
int sched_next_free(fd_ctx *ctx, int64_t type_id, int64_t location_id, int64_t provider_id,
		    const char *after, int64_t ignore, char **list) __attribute__((warn_unused_result));

/* One booking as the booking path takes it (Book, Reschedule, a
 * recurring series, a waitlist offer accepted): codes or decimal ids. */
struct sched_booking {
	int64_t patient_id;
	const char *provider, *type, *location, *at, *room, *reason, *notes;
	bool overbook;
	const char *overbook_reason;
	int64_t rescheduled_from; /* 0: a new booking */
	int64_t offer_id; /* the waitlist offer being accepted (0: none): its held rooms are taken */
};
/* Books one appointment with every rule checked (open slot, rooms,
 * reminders); *id is the new appointment's. */
int sched_book(fd_ctx *ctx, const struct sched_booking *b, int64_t *id)
	__attribute__((warn_unused_result));
/* Loads the appointment for the reply, audits its patient and raises the
 * event topic (NULL: none; delivered after commit). */
int sched_finish(fd_ctx *ctx, int64_t id, const char *topic, Frontdesk__V1__Appointment **a)
	__attribute__((warn_unused_result));
/* Offers the slot an appointment just freed (cancel, reschedule, no-show)
 * to the waitlist: SQL waitlist_offer_slot() picks the first matching
 * entry, holds the slot and raises waitlist.offer. */
int sched_offer_freed(fd_ctx *ctx, int64_t appointment_id) __attribute__((warn_unused_result));
/* A recurring Book (req->repeat set): every occurrence through sched_book,
 * all or nothing, or partial with a report per occurrence. */
int sched_book_series(fd_ctx *ctx, const Frontdesk__V1__BookRequest *req,
		      Frontdesk__V1__BookReply *rep) __attribute__((warn_unused_result));

/* A reminder handed to a sender: the text to deliver and where. */
struct sched_reminder {
	int64_t id;
	int64_t appointment_id;
	const char *phone;   /* E.164 or "" when the patient has none */
	const char *message; /* the reminder text */
};

/* A delivery channel. deliver returns 0 when the message is handed over,
 * -1 when it should be marked failed. Called on a worker thread. */
struct sched_reminder_sender {
	const char *name;
	int (*deliver)(void *self, const struct sched_reminder *m);
	void *self;
};

/* Marks due every pending reminder whose time has come and delivers every
 * due one through sender (NULL: only marks). Returns how many were sent, or
 * -1 on a database error. Used by the PERIODIC row and by tests with a
 * test double. */
int sched_reminders_run(PGconn *conn, const struct sched_reminder_sender *sender);

/* The spool-folder sender: one file per message in dir. */
int sched_spool_deliver(void *dir, const struct sched_reminder *m);

#endif
