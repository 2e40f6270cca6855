/*
 * Live events. Handlers raise them with db_notify() inside their
 * transaction; PostgreSQL delivers the NOTIFY only if that transaction
 * commits, to every frontdeskd LISTENing on the database. This module owns
 * that LISTEN connection (on the libuv loop, through uv_poll) and the nng
 * PUB socket desks subscribe to; it stamps each event with this process's
 * epoch and the next sequence number. After the LISTEN connection is lost
 * and regained it publishes a "resync" event, since notifications sent in
 * between were missed.
 *
 * Threads: everything here runs on the loop thread.
 */
#ifndef FD_EVENTS_H
#define FD_EVENTS_H

#include <stdint.h>
#include <uv.h>

int events_start(uv_loop_t *loop, char *err, size_t err_size)
	__attribute__((warn_unused_result));
/* Closes the PUB socket, the LISTEN connection and their handles. */
void events_stop(void);
/* The URL desks should subscribe to (for Health.Ping). Thread-safe after
 * events_start. */
const char *events_public_url(void);
uint64_t events_epoch(void);

#endif
