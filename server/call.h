/*
 * One RPC in flight, and the nng context that received it. A call object is
 * a long-lived slot: the listener owns an array of them, each walks
 * RECV → (inline handler | queued → WORK on a worker) → SEND → RECV, and all
 * per-call memory comes from the slot's arena, reset once the reply is sent
 * (listener.c, call_recycle).
 *
 * Threads: the nng callback thread owns the slot in RECV; a worker owns it
 * between workq_submit and listener_reply, and keeps it through SEND when
 * the peer's connection takes the reply at once (the usual case); a reply
 * that has to wait for its peer belongs to the listener's reply waiter
 * until it left or timed out. Never two at once.
 */
#ifndef FD_CALL_H
#define FD_CALL_H

#include <nng/nng.h>
#include <pthread.h>
#include <stdint.h>

#include "arena.h"
#include "methods.h"
#include "status.h"
#include "frontdesk/v1/envelope.pb-c.h"

enum call_state { CALL_IDLE, CALL_RECV, CALL_WORK, CALL_SEND };

typedef struct fd_call {
	/* Listener-owned. */
	struct fd_listener *listener;
	nng_ctx ctx;
	nng_aio *aio;      /* receives; its callback is the slot's state machine */
	nng_aio *send_aio; /* sends; no callback (listener.c, listener_reply) */
	pthread_mutex_t lock; /* guards state against the drain */
	enum call_state state;

	/* Per call; reset by call_recycle. */
	fd_arena arena;
	int64_t received_mono_ms;
	int64_t deadline_mono_ms;
	Frontdesk__V1__Request *request; /* unpacked into arena */
	const struct fd_method *method;
	fd_status status;
	nng_msg *reply; /* built by the worker or inline handler */
	struct fd_call *next_queued; /* work queue link */
	struct fd_call *next_unsent; /* reply waiter's queue link */
} fd_call;

#endif
