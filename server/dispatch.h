/*
 * The dispatch gate: every cross-cutting check runs here, in one order,
 * before any handler (after Redis's processCommand):
 *
 *   on the nng thread (dispatch_accept, no database):
 *     envelope decodes → request id well-formed → API version → method
 *     exists → size under max_request_bytes → deadline computed → inline
 *     method answered, or the call queued (RESOURCE_EXHAUSTED when full)
 *   on a worker (dispatch_run, inside the call's transaction):
 *     deadline not passed (else DEADLINE_EXCEEDED without touching the
 *     database) → database reachable → session token valid → role allowed
 *     → payload unpacks, passes protobuf_c_message_check, UTF-8, no NUL →
 *     stored reply for a repeated request id → handler → stored reply,
 *     audit row → COMMIT
 *
 * Handlers therefore see typed, valid input and never nng types.
 */
#ifndef FD_DISPATCH_H
#define FD_DISPATCH_H

#include <nng/nng.h>

#include "call.h"
#include "db/db.h"

/* Takes ownership of msg. Returns 1 when call->reply is ready to send now,
 * 0 when the call went to the work queue (a worker will reply). */
int dispatch_accept(fd_call *call, nng_msg *msg);

/* Runs a queued call on a worker and hands the reply to the listener. */
void dispatch_run(fd_call *call, db_conn *dc);

/* Builds call->reply from call->status (error replies, no payload). */
void dispatch_reply_error(fd_call *call);

#endif
