/*
 * What the check-in handler files share: the handler prototypes (rows of
 * checkin.def), the actor settings the visit and appointment triggers read,
 * and the one query shape that turns visit rows into Visit messages, so the
 * check-in reply, the board and a visit's page show a visit the same way.
 *
 * Everything runs on a worker thread inside the call's transaction; strings
 * returned live in ctx->arena.
 */
#ifndef FD_HANDLERS_CHECKIN_H
#define FD_HANDLERS_CHECKIN_H

#include <libpq-fe.h>
#include <stdbool.h>
#include <stdint.h>

#include "db/db.h"
#include "handler.h"
#include "frontdesk/v1/checkin.pb-c.h"

#define CHECKIN_NOMEM(ctx) fd_fail(&(ctx)->status, FD_RESOURCE_EXHAUSTED, "out of memory")

#define CHECKIN_HANDLER(fn) \
	int fn(fd_ctx *ctx, const ProtobufCMessage *in, ProtobufCMessage **out)
CHECKIN_HANDLER(handle_checkin_check_in);
CHECKIN_HANDLER(handle_checkin_set_visit_status);
CHECKIN_HANDLER(handle_checkin_assign_room);
CHECKIN_HANDLER(handle_checkin_check_out);
CHECKIN_HANDLER(handle_checkin_get_visit);
CHECKIN_HANDLER(handle_checkin_board);
CHECKIN_HANDLER(handle_checkin_take_payment);
CHECKIN_HANDLER(handle_checkin_void_payment);
CHECKIN_HANDLER(handle_checkin_refund_payment);
CHECKIN_HANDLER(handle_checkin_get_receipt);
CHECKIN_HANDLER(handle_checkin_patient_balance);
CHECKIN_HANDLER(handle_checkin_list_payments);
CHECKIN_HANDLER(handle_checkin_ledger);
CHECKIN_HANDLER(handle_checkin_get_settings);
CHECKIN_HANDLER(handle_checkin_save_settings);

/* The patients domain's readiness handler (patients_intake.c), called in
 * process so check-in asks exactly what `desk readiness` shows. */
CHECKIN_HANDLER(handle_intake_readiness);
/* Asks that readiness for a patient (and audits it): *gaps gets "kind" or
 * "kind:detail" strings, *kinds the kinds alone (for a refusal message),
 * *checked true once asked. */
int checkin_readiness(fd_ctx *ctx, int64_t patient_id, char ***gaps, size_t *n, char **kinds,
		      bool *checked) __attribute__((warn_unused_result));

/* PERIODIC: marks no-show the appointments nobody arrived for (see
 * checkin_no_show_run). */
void checkin_no_show_tick(PGconn *conn);
/* Marks no_show every booked/confirmed appointment without a visit (an
 * undone one does not count), at a location that has a checkin_settings
 * row, whose start plus the location's no_show_after_min has passed, once
 * the local day's no_show_sweep_at time has come (earlier days at any
 * time). Opens
 * its own transaction. Returns how many were marked, or -1 on a database
 * error. Used by the PERIODIC row and by tests. */
int checkin_no_show_run(PGconn *conn);


/* The location a call is about: a code, or the caller's desk's location
 * when empty. NOT_FOUND for an unknown code. */
int checkin_resolve_location(fd_ctx *ctx, const char *code, int64_t *id, char **zone)
	__attribute__((warn_unused_result));

/* The board's expected patients (checkin_expected.c): appointments at the
 * location starting within within_min minutes (late ones until the
 * no-show time), not arrived, each with readiness. 0 lists none. */
int checkin_load_expected(fd_ctx *ctx, int64_t location_id, uint32_t within_min,
			  Frontdesk__V1__BoardReply *rep) __attribute__((warn_unused_result));

/* Select list and joins sched over visits v; append a WHERE / ORDER BY. */
extern const char checkin_visit_select[];
Frontdesk__V1__Visit *checkin_visit_from_row(fd_ctx *ctx, const PGresult *r, int row);
/* Loads one visit (NOT_FOUND when there is none). */
int checkin_load_visit(fd_ctx *ctx, int64_t id, Frontdesk__V1__Visit **out)
	__attribute__((warn_unused_result));

/* Column list for payments p (with visits v, locations l, staff, desks);
 * read with checkin_payment_from_row. */
extern const char checkin_payment_select[];
Frontdesk__V1__Payment *checkin_payment_from_row(fd_ctx *ctx, const PGresult *r, int row);

/* A patient's charges, payments, refunds and balance due (all dates),
 * the PatientBalance reply; NOT_FOUND for an unknown patient. Does not
 * audit: the calling handler does. */
int checkin_patient_balance(fd_ctx *ctx, int64_t patient_id, Frontdesk__V1__PatientBalanceReply *rep)
	__attribute__((warn_unused_result));

/* "25.00" for 2500 cents (negative amounts with a leading '-'). */
char *checkin_money(fd_ctx *ctx, int64_t cents);

#endif
