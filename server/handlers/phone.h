/*
 * What the phone handler files share: input checks in the clinic's words
 * (phone numbers, codes, free text), lookups of lines, queues and staff by
 * the names receptionists type, and the route evaluation used by both the
 * dry-run Route RPC and Incoming. Everything runs on a worker thread inside
 * the call's transaction; strings returned live in ctx->arena.
 */
#ifndef FD_PHONE_H
#define FD_PHONE_H

#include <stdbool.h>
#include <stdint.h>

#include "db/db.h"
#include "frontdesk/v1/phone.pb-c.h"

#define PHONE_NOMEM(ctx) fd_fail(&(ctx)->status, FD_RESOURCE_EXHAUSTED, "out of memory")

/* Each returns FD_OK or fails ctx->status with INVALID_ARGUMENT naming `what`. */
int phone_check_e164(fd_ctx *ctx, const char *what, const char *number);
/* Text, codes and dates: fd_check_text, fd_check_code, fd_check_date
 * (validate.h), shared with every domain. */
/* s must be one of the NULL-terminated words. */
int phone_check_word(fd_ctx *ctx, const char *what, const char *s,
		     const char *const *words);

/* Id lookups: FD_OK with *id, or NOT_FOUND naming the thing. Empty
 * location means the clinic's first location. */
int phone_location_id(fd_ctx *ctx, const char *code, int64_t *id);
int phone_queue_id(fd_ctx *ctx, const char *code, int64_t *id);
int phone_staff_id(fd_ctx *ctx, const char *username, int64_t *id);

/* "HH:MM" (or "HH:MM:SS" when seconds are allowed), a real clock time. */
bool phone_is_clock(const char *t, bool seconds);

/* A local wall-clock time at a location, as staff type it:
 * "2026-11-27T14:30", "2026-11-27 14:30[:ss]" or "14:30" (today there), to
 * unix ms. INVALID_ARGUMENT naming `what` for another form, an impossible
 * date, or a time the zone skips (clocks spring forward). */
int phone_local_instant(fd_ctx *ctx, const char *what, const char *text, int64_t location,
			int64_t *unix_ms);

/* The outcome of the routing rules for one caller on one line at one time.
 * line_id/location_id are the dialed line's. */
struct phone_route {
	int64_t line_id;
	int64_t location_id;
	int64_t queue_id; /* action queue or message; 0 otherwise */
	Frontdesk__V1__PhoneRouteDecision *decision; /* arena */
};

/* Evaluates the rules for `from` dialing `line` with `menu` (may be "") at
 * at_unix_ms (0: now). Fails with NOT_FOUND for an unknown line and
 * FAILED_PRECONDITION when no rule decides (an empty rule set). */
int phone_route_evaluate(fd_ctx *ctx, const char *from, const char *line,
			 const char *menu, int64_t at_unix_ms,
			 struct phone_route *out);

#endif
