/*
 * Private helpers shared by the client library's two halves (client.c for
 * calls, events.c for the live event feed). Nothing here is part of the API
 * front ends link against; frontdesk.h is.
 */
#ifndef FRONTDESK_CLIENT_INTERNAL_H
#define FRONTDESK_CLIENT_INTERNAL_H

#include "status.h"

/* Turns an nng error from creating or starting a dialer for `url` into a
 * status a person can act on: a malformed or unsupported URL is
 * FD_INVALID_ARGUMENT, anything else (refused, no such ipc path, name not
 * resolvable, TLS handshake refused) is FD_UNAVAILABLE. `what` says which
 * server ("Frontdesk server", "Frontdesk event feed"). Returns the code. */
int fd_client_dial_failure(fd_status *st, int nng_rv, const char *what,
			   const char *url);

/* True when nng rejected the URL itself rather than failing to reach it. */
int fd_client_url_rejected(int nng_rv);

#endif
