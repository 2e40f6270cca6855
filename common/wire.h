/*
 * Envelope packing shared by the server and the client library: a request or
 * reply is packed straight into an nng message.
 *
 * Ownership: on success *out is a new nng_msg owned by the caller, who either
 * hands it to a successful nng send (nng then owns it) or frees it with
 * nng_msg_free. On failure *out is untouched and nothing is allocated.
 * Thread-safe; scratch memory comes from the caller's arena.
 */
#ifndef FD_WIRE_H
#define FD_WIRE_H

#include <nng/nng.h>
#include <stdint.h>

#include "arena.h"
#include "status.h"
#include "util.h"
#include "frontdesk/v1/envelope.pb-c.h"

/* Full method path from service descriptor and method name:
 * "/frontdesk.v1.Auth/Login". Returns an arena string. */
char *fd_method_path(fd_arena *a, const ProtobufCServiceDescriptor *svc,
		     const char *method);

int fd_wire_pack_request(nng_msg **out, fd_arena *scratch,
			 const uint8_t request_id[FD_REQUEST_ID_LEN],
			 const char *method, uint32_t timeout_ms,
			 const char *token, const ProtobufCMessage *payload)
	__attribute__((warn_unused_result));

/* payload may be NULL (error replies carry none). request_id may be NULL when
 * the request could not be decoded far enough to have one. */
int fd_wire_pack_reply(nng_msg **out, fd_arena *scratch,
		       const ProtobufCBinaryData *request_id,
		       const fd_status *status, const ProtobufCMessage *payload)
	__attribute__((warn_unused_result));

/* Same as fd_wire_pack_reply, with a payload that is already packed bytes
 * (a stored idempotent reply, for example). */
int fd_wire_pack_reply_bytes(nng_msg **out, fd_arena *scratch,
			     const ProtobufCBinaryData *request_id,
			     const fd_status *status, const uint8_t *payload,
			     size_t payload_len)
	__attribute__((warn_unused_result));

/* Packs any message into arena memory; returns NULL on allocation failure. */
uint8_t *fd_pack_to_arena(fd_arena *a, const ProtobufCMessage *m, size_t *len);

#endif
