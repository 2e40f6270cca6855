/*
 * The RPC listener: one nng REP socket on every configured URL, served by
 * `contexts` small state machines (fd_call, see call.h) rather than threads,
 * after nng's demo/async/server.c.
 *
 * Threads: listener_start/drain/close on the main thread; listener_reply on
 * the worker that ran the call; the callbacks on nng's threads.
 */
#ifndef FD_LISTENER_H
#define FD_LISTENER_H

#include <stdbool.h>
#include <stddef.h>

#include "call.h"

typedef struct fd_listener fd_listener;

/* Opens the socket, listens on cfg listen URLs (tls+tcp:// with the
 * configured certificate), sets NNG_OPT_RECVMAXSZ and starts receiving. */
int listener_start(fd_listener **out, char *err, size_t err_size)
	__attribute__((warn_unused_result));
/* Sends call->reply (ownership passes to nng, or back to the slot on a
 * failed send, which frees it). */
void listener_reply(fd_call *call);
/* Stops receiving new calls; calls already received still complete. */
void listener_drain(fd_listener *l);
/* Number of call slots busy: a call received and its reply not yet
 * gone (the drain waits for 0). */
int listener_in_flight(fd_listener *l);
/* Closes the socket and frees every slot (after the drain finished). */
void listener_close(fd_listener *l);
/* True for a plaintext URL (tcp://, ws://) on an address that is not
 * loopback: listener_start refuses it unless allow_plaintext_remote = 1. */
bool listener_url_is_plaintext_remote(const char *url);

#endif
