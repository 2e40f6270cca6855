/*
 * The nng-side half of the dispatch gate, in process: crafted envelopes go
 * straight into dispatch_accept and the reply it builds is decoded. No
 * network and no database: these are the checks that must answer before a
 * worker (or PostgreSQL) is involved.
 */
#include <stdlib.h>

#include "config.h"
#include "dispatch.h"
#include "log.h"
#include "harness.h"
#include "methods.h"
#include "util.h"
#include "wire.h"
#include "frontdesk/v1/health.pb-c.h"

static fd_call call;

static void setup(void)
{
	static bool done;
	char err[128];
	int argc;
	char **rest;
	char *argv[] = { "test", NULL };

	if (!done) {
		if (config_load(1, argv, &argc, &rest, err, sizeof err) != 0 ||
		    methods_init() != 0 || fd_random_init() != 0)
			abort();
		fd_log_level_current = FD_LOG_WARN; /* a line per call is noise here */
		done = true;
	}
	if (call.arena.head)
		fd_arena_reset(&call.arena);
	else
		fd_arena_init(&call.arena, 0);
	call.reply = NULL;
	call.request = NULL;
	call.method = NULL;
}

/* Feeds bytes to the gate; returns the decoded reply (caller frees). */
static Frontdesk__V1__Reply *gate(const void *bytes, size_t len)
{
	nng_msg *m;

	setup();
	if (nng_msg_alloc(&m, len) != 0)
		return NULL;
	memcpy(nng_msg_body(m), bytes, len);
	if (dispatch_accept(&call, m) != 1 || !call.reply)
		return NULL;
	Frontdesk__V1__Reply *r = frontdesk__v1__reply__unpack(
		NULL, nng_msg_len(call.reply), nng_msg_body(call.reply));
	nng_msg_free(call.reply);
	call.reply = NULL;
	return r;
}

static Frontdesk__V1__Reply *gate_envelope(const char *method, uint32_t api,
					   size_t id_len, const ProtobufCMessage *payload)
{
	Frontdesk__V1__RequestHeader h = FRONTDESK__V1__REQUEST_HEADER__INIT;
	Frontdesk__V1__Request req = FRONTDESK__V1__REQUEST__INIT;
	uint8_t id[32] = { 1, 2, 3 };
	fd_arena a;
	size_t n = 0;

	fd_arena_init(&a, 0);
	h.request_id.data = id;
	h.request_id.len = id_len;
	h.method = (char *)method;
	h.api_version = api;
	req.header = &h;
	if (payload) {
		req.payload.data = fd_pack_to_arena(&a, payload, &n);
		req.payload.len = n;
	}
	uint8_t *bytes = fd_pack_to_arena(&a, &req.base, &n);
	Frontdesk__V1__Reply *r = gate(bytes, n);
	fd_arena_destroy(&a);
	return r;
}

static int code_of(Frontdesk__V1__Reply *r)
{
	int code = r && r->status ? (int)r->status->code : -1;
	if (r)
		frontdesk__v1__reply__free_unpacked(r, NULL);
	return code;
}

static void garbage_bytes_get_invalid_argument(void)
{
	const char junk[] = "\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\x01garbage";
	CHECK_INT(code_of(gate(junk, sizeof junk)), FD_INVALID_ARGUMENT);
	CHECK_INT(code_of(gate("", 0)), FD_INVALID_ARGUMENT); /* no header */
}

static void truncated_envelope_gets_invalid_argument(void)
{
	Frontdesk__V1__PingRequest p = FRONTDESK__V1__PING_REQUEST__INIT;
	Frontdesk__V1__RequestHeader h = FRONTDESK__V1__REQUEST_HEADER__INIT;
	Frontdesk__V1__Request req = FRONTDESK__V1__REQUEST__INIT;
	uint8_t id[16] = { 9 }, buf[512];

	(void)p;
	h.request_id.data = id;
	h.request_id.len = 16;
	h.method = "/frontdesk.v1.Health/Ping";
	h.api_version = 1;
	req.header = &h;
	size_t n = frontdesk__v1__request__pack(&req, buf);
	for (size_t cut = 1; cut < n; cut++)
		CHECK_MSG(code_of(gate(buf, n - cut)) == FD_INVALID_ARGUMENT,
			  "cut %zu bytes", cut);
	CHECK_INT(code_of(gate(buf, n)), FD_OK);
}

static void unknown_method_gets_unimplemented(void)
{
	Frontdesk__V1__Reply *r = gate_envelope("/frontdesk.v1.Health/Pong", 1, 16, NULL);
	CHECK(r && r->status);
	CHECK_INT(r->status->code, FD_UNIMPLEMENTED);
	CHECK(strstr(r->status->message, "Pong") != NULL);
	CHECK_INT(r->request_id.len, 16); /* the reply names the request */
	frontdesk__v1__reply__free_unpacked(r, NULL);
	CHECK_INT(code_of(gate_envelope("", 1, 16, NULL)), FD_UNIMPLEMENTED);
}

static void api_versions_other_than_ours_are_refused(void)
{
	CHECK_INT(code_of(gate_envelope("/frontdesk.v1.Health/Ping", 0, 16, NULL)),
		  FD_INVALID_ARGUMENT);
	CHECK_INT(code_of(gate_envelope("/frontdesk.v1.Health/Ping", 999, 16, NULL)),
		  FD_FAILED_PRECONDITION);
}

static void request_id_must_be_16_bytes(void)
{
	CHECK_INT(code_of(gate_envelope("/frontdesk.v1.Health/Ping", 1, 0, NULL)),
		  FD_INVALID_ARGUMENT);
	CHECK_INT(code_of(gate_envelope("/frontdesk.v1.Health/Ping", 1, 17, NULL)),
		  FD_INVALID_ARGUMENT);
}

static void oversized_request_gets_resource_exhausted(void)
{
	Frontdesk__V1__PingRequest p = FRONTDESK__V1__PING_REQUEST__INIT;
	size_t big = (size_t)cfg_int(CFG_MAX_REQUEST_BYTES) + 10;

	p.echo.data = calloc(1, big);
	p.echo.len = big;
	CHECK_INT(code_of(gate_envelope("/frontdesk.v1.Health/Ping", 1, 16, &p.base)),
		  FD_RESOURCE_EXHAUSTED);
	free(p.echo.data);
}

static void ping_is_answered_inline_with_its_echo(void)
{
	Frontdesk__V1__PingRequest p = FRONTDESK__V1__PING_REQUEST__INIT;
	uint8_t echo[] = "hello desk";

	p.echo.data = echo;
	p.echo.len = sizeof echo;
	Frontdesk__V1__Reply *r = gate_envelope("/frontdesk.v1.Health/Ping", 1, 16, &p.base);
	CHECK(r && r->status);
	CHECK_INT(r->status->code, FD_OK);
	Frontdesk__V1__PingReply *pr =
		frontdesk__v1__ping_reply__unpack(NULL, r->payload.len, r->payload.data);
	CHECK(pr != NULL);
	CHECK_INT(pr->echo.len, sizeof echo);
	CHECK(memcmp(pr->echo.data, echo, sizeof echo) == 0);
	CHECK_INT(pr->api_version, FD_API_VERSION);
	frontdesk__v1__ping_reply__free_unpacked(pr, NULL);
	frontdesk__v1__reply__free_unpacked(r, NULL);
}

static void unknown_fields_pass_and_malformed_payloads_are_refused(void)
{
	/* PingRequest has no strings, so use a raw payload that claims to be
	 * a PingRequest but carries an unknown field: unknown fields are
	 * ignored, not errors. */
	uint8_t payload[] = { 0x12, 0x02, 0xff, 0xfe }; /* field 2, bytes */
	Frontdesk__V1__RequestHeader h = FRONTDESK__V1__REQUEST_HEADER__INIT;
	Frontdesk__V1__Request req = FRONTDESK__V1__REQUEST__INIT;
	uint8_t id[16] = { 7 }, buf[256];

	h.request_id.data = id;
	h.request_id.len = 16;
	h.method = "/frontdesk.v1.Health/Ping";
	h.api_version = 1;
	req.header = &h;
	req.payload.data = payload;
	req.payload.len = sizeof payload;
	size_t n = frontdesk__v1__request__pack(&req, buf);
	CHECK_INT(code_of(gate(buf, n)), FD_OK);
	/* A payload that is not protobuf at all. */
	uint8_t junk[] = { 0x0a, 0x7f, 0x01 };
	req.payload.data = junk;
	req.payload.len = sizeof junk;
	n = frontdesk__v1__request__pack(&req, buf);
	CHECK_INT(code_of(gate(buf, n)), FD_INVALID_ARGUMENT);
}

TH_MAIN(TH_CASE(garbage_bytes_get_invalid_argument),
	TH_CASE(truncated_envelope_gets_invalid_argument),
	TH_CASE(unknown_method_gets_unimplemented),
	TH_CASE(api_versions_other_than_ours_are_refused),
	TH_CASE(request_id_must_be_16_bytes),
	TH_CASE(oversized_request_gets_resource_exhausted),
	TH_CASE(ping_is_answered_inline_with_its_echo),
	TH_CASE(unknown_fields_pass_and_malformed_payloads_are_refused))
