/*
 * The Frontdesk client library: the only thing desk front ends link.
 *
 * A client holds one nng REQ socket dialed to a server URL (tcp://, ipc://,
 * tls+tcp://). Each call opens its own nng context, so one fd_client may be
 * used from several threads at once. A call carries a fresh random request id
 * that is kept across every resend and retry of that call: the server uses it
 * as the idempotency key, so a retried mutation acts once.
 *
 * Ownership:
 * - fd_client_open returns a client the caller closes with fd_client_close.
 * - On FD_OK, fd_client_call stores in *reply a message unpacked with the
 *   default allocator; the caller frees it with
 *   protobuf_c_message_free_unpacked(*reply, NULL). On any other status
 *   *reply is NULL and st->message says what happened.
 * - Strings passed in are copied; nothing passed in is kept after return.
 */
#ifndef FRONTDESK_CLIENT_H
#define FRONTDESK_CLIENT_H

#include <protobuf-c/protobuf-c.h>
#include <stdbool.h>
#include <stdint.h>

#include "status.h"
#include "util.h"
#include "frontdesk/v1/envelope.pb-c.h"
#include "frontdesk/v1/events.pb-c.h"

typedef struct fd_client fd_client;

typedef struct fd_client_options {
	const char *url;            /* required */
	int timeout_ms;             /* default per-call budget; 0 means 10000 */
	int resend_ms;              /* REQ timer resend; 0 means 10000. nng also
	                             * resends at once after a reconnect. A short
	                             * timer only duplicates calls still running. */
	const char *tls_ca_file;    /* tls+tcp://: CA bundle to verify the server */
	const char *tls_server_name;/* tls+tcp://: expected name; default host */
	const char *tls_cert_file;  /* optional desk certificate (PEM, key inside or in tls_key_file) */
	const char *tls_key_file;
} fd_client_options;

/* Dials the server. Returns FD_OK, or FD_UNAVAILABLE when nothing answers
 * at the URL (the message names the URL), or FD_INVALID_ARGUMENT for a
 * malformed URL. */
int fd_client_open(fd_client **out, const fd_client_options *opts,
		   fd_status *st) __attribute__((warn_unused_result));
void fd_client_close(fd_client *c);

/* Session token sent with every call (copied); NULL or "" clears it. */
void fd_client_set_token(fd_client *c, const char *token);
const char *fd_client_token(const fd_client *c);

/* Calls `method` ("/frontdesk.v1.Auth/Login") with `request`; timeout_ms 0
 * uses the client default. Returns the status code (also in st). */
int fd_client_call(fd_client *c, const char *method,
		   const ProtobufCMessage *request,
		   const ProtobufCMessageDescriptor *reply_desc,
		   ProtobufCMessage **reply, int timeout_ms, fd_status *st);

/* Same, with a caller-chosen request id: lets tests (and callers that persist
 * their own ids across restarts) repeat a request exactly. */
int fd_client_call_with_id(fd_client *c, const uint8_t id[FD_REQUEST_ID_LEN],
			   const char *method, const ProtobufCMessage *request,
			   const ProtobufCMessageDescriptor *reply_desc,
			   ProtobufCMessage **reply, int timeout_ms,
			   fd_status *st);

/* Sends raw bytes as the request body and returns the raw reply envelope
 * (free with protobuf_c_message_free_unpacked(&(*reply)->base, NULL)).
 * For tests of malformed input. Returns a status code for transport-level
 * failures; the server's verdict is in (*reply)->status. */
int fd_client_call_raw(fd_client *c, const void *bytes, size_t len,
		       Frontdesk__V1__Reply **reply, int timeout_ms,
		       fd_status *st);

/* Live events from a server's PUB socket (url from Health.Ping). */
typedef struct fd_events fd_events;

int fd_events_open(fd_events **out, const char *url, fd_status *st)
	__attribute__((warn_unused_result));
/* Waits up to timeout_ms for the next event. On FD_OK, *event is owned by
 * the caller (free with protobuf_c_message_free_unpacked(&(*event)->base,
 * NULL)) and *gap is true when events were missed since the previous one
 * (a seq skipped or a new server epoch): the caller should resynchronise.
 * FD_DEADLINE_EXCEEDED when nothing arrived in time. */
int fd_events_next(fd_events *ev, int timeout_ms, Frontdesk__V1__Event **event,
		   bool *gap, fd_status *st);
void fd_events_close(fd_events *ev);

/* For a front end on an event loop (libuv, poll): instead of a thread
 * blocked in fd_events_next, watch a descriptor and take events without
 * waiting.
 *
 * fd_events_pollfd stores in *fd a descriptor that polls readable while an
 * event is waiting (nng's NNG_OPT_RECVFD of the SUB socket). It belongs to
 * the fd_events: never read, write or close it; it stays valid until
 * fd_events_close, so stop watching it (uv_poll_stop / uv_close, and let
 * the close finish) before closing the feed. Readability is a hint: drain
 * with fd_events_try_next until it says nothing is waiting.
 *
 * fd_events_try_next never blocks: FD_OK with *event (owned by the caller,
 * as for fd_events_next) and *gap, or FD_DEADLINE_EXCEEDED when no event
 * is waiting. Both are for the one thread that owns the fd_events, and
 * mix freely with fd_events_next (the gap tracking is shared). */
int fd_events_pollfd(fd_events *ev, int *fd, fd_status *st)
	__attribute__((warn_unused_result));
int fd_events_try_next(fd_events *ev, Frontdesk__V1__Event **event, bool *gap,
		       fd_status *st);

#endif
