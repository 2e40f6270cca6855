/*
 * libFuzzer target: arbitrary bytes as one request envelope, fed to the
 * server's gate (dispatch_accept) exactly as the listener does, in process
 * and without a database (as tests/rpc/test_gate.c drives it). Whatever the
 * bytes, the gate must answer at once with exactly one reply that decodes as
 * a Frontdesk Reply carrying a status; a well-formed call that would go to a
 * worker is refused with RESOURCE_EXHAUSTED here because no work queue runs
 * in the fuzzer (its payload is covered by fuzz_payload). Inline methods
 * (Health.Ping) run their decode-validate path and handler for real.
 */
#include <stdint.h>
#include <string.h>

#include "dispatch.h"
#include "fuzz_common.h"

static fd_call call;

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	fuzz_setup_server_tables();
	fd_arena_init(&call.arena, 0);
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	nng_msg *m;

	if (nng_msg_alloc(&m, size) != 0)
		return 0;
	if (size)
		memcpy(nng_msg_body(m), data, size);
	call.reply = NULL;
	call.request = NULL;
	call.method = NULL;

	/* The gate owns m from here on, whatever happens. */
	if (dispatch_accept(&call, m) != 1 || !call.reply) {
		fprintf(stderr, "fuzz_envelope: the gate gave no immediate reply\n");
		abort();
	}
	Frontdesk__V1__Reply *r =
	    frontdesk__v1__reply__unpack(NULL, nng_msg_len(call.reply), nng_msg_body(call.reply));
	if (!r || !r->status) {
		fprintf(stderr, "fuzz_envelope: the reply is not a Reply with a status\n");
		abort();
	}
	/* An error reply never carries a payload, and always says why. */
	if (r->status->code != FD_OK &&
	    (r->payload.len != 0 || !r->status->message || !*r->status->message)) {
		fprintf(stderr,
		        "fuzz_envelope: error reply %d without a message or with a payload\n",
		        (int)r->status->code);
		abort();
	}
	frontdesk__v1__reply__free_unpacked(r, NULL);
	nng_msg_free(call.reply);
	call.reply = NULL;
	fd_arena_reset(&call.arena);
	return 0;
}
