/* Envelope packing into nng messages; see wire.h for ownership. */
#include "wire.h"

#include <string.h>

char *fd_method_path(fd_arena *a, const ProtobufCServiceDescriptor *svc,
		     const char *method)
{
	return fd_arena_printf(a, "/%s/%s", svc->name, method);
}

uint8_t *fd_pack_to_arena(fd_arena *a, const ProtobufCMessage *m, size_t *len)
{
	size_t n = protobuf_c_message_get_packed_size(m);
	uint8_t *buf = fd_arena_alloc(a, n ? n : 1);

	if (!buf)
		return NULL;
	*len = protobuf_c_message_pack(m, buf);
	return buf;
}

static int pack_into_msg(nng_msg **out, const ProtobufCMessage *m)
{
	size_t n = protobuf_c_message_get_packed_size(m);
	nng_msg *msg;

	if (nng_msg_alloc(&msg, n) != 0)
		return -1;
	protobuf_c_message_pack(m, nng_msg_body(msg));
	*out = msg;
	return 0;
}

int fd_wire_pack_request(nng_msg **out, fd_arena *scratch,
			 const uint8_t request_id[FD_REQUEST_ID_LEN],
			 const char *method, uint32_t timeout_ms,
			 const char *token, const ProtobufCMessage *payload)
{
	Frontdesk__V1__RequestHeader hdr = FRONTDESK__V1__REQUEST_HEADER__INIT;
	Frontdesk__V1__Request req = FRONTDESK__V1__REQUEST__INIT;
	size_t len = 0;

	hdr.request_id.data = (uint8_t *)request_id;
	hdr.request_id.len = FD_REQUEST_ID_LEN;
	hdr.method = (char *)method;
	hdr.timeout_ms = timeout_ms;
	hdr.session_token = (char *)(token ? token : "");
	hdr.api_version = FD_API_VERSION;
	req.header = &hdr;
	if (payload) {
		req.payload.data = fd_pack_to_arena(scratch, payload, &len);
		if (!req.payload.data)
			return -1;
		req.payload.len = len;
	}
	return pack_into_msg(out, &req.base);
}

int fd_wire_pack_reply_bytes(nng_msg **out, fd_arena *scratch,
			     const ProtobufCBinaryData *request_id,
			     const fd_status *status, const uint8_t *payload,
			     size_t payload_len)
{
	Frontdesk__V1__Reply rep = FRONTDESK__V1__REPLY__INIT;
	Frontdesk__V1__Status st = FRONTDESK__V1__STATUS__INIT;

	(void)scratch;
	if (request_id)
		rep.request_id = *request_id;
	st.code = (uint32_t)status->code;
	st.message = (char *)status->message;
	rep.status = &st;
	rep.payload.data = (uint8_t *)payload;
	rep.payload.len = payload ? payload_len : 0;
	return pack_into_msg(out, &rep.base);
}

int fd_wire_pack_reply(nng_msg **out, fd_arena *scratch,
		       const ProtobufCBinaryData *request_id,
		       const fd_status *status, const ProtobufCMessage *payload)
{
	uint8_t *bytes = NULL;
	size_t len = 0;

	if (payload && status->code == FD_OK) {
		bytes = fd_pack_to_arena(scratch, payload, &len);
		if (!bytes)
			return -1;
	}
	return fd_wire_pack_reply_bytes(out, scratch, request_id, status,
					bytes, len);
}
