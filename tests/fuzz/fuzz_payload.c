/*
 * libFuzzer target: the decode-validate path of every request type, the one
 * decode_payload in server/dispatch.c takes before any handler sees input:
 * protobuf_c_message_unpack into a call arena with the method's input
 * descriptor, then protobuf_c_message_check, then fd_message_text_valid
 * (UTF-8 in every string, bounded nesting).
 *
 * Input: "<method path>\n<payload bytes>" picks the method by name (the seed
 * corpus is written that way, so it stays right when methods are added);
 * anything else picks method data[0] % count and the rest is the payload.
 *
 * Besides "no crash", the target checks what the server relies on: the
 * arena decodes exactly what the heap decoder does (same accept/refuse, same
 * verdicts), and a payload the gate accepts packs and decodes again. The
 * heap-allocated copy is what lets ASan see the exact bounds of every string
 * and array while our validator walks them (arena blocks are larger).
 */
#include <stdint.h>
#include <string.h>

#include "arena.h"
#include "fuzz_common.h"

/* dispatch.c's MAX_MESSAGE_DEPTH. */
#define GATE_MAX_DEPTH 16

static fd_arena arena;
static const struct fd_method *table;
static size_t n_methods;

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	fuzz_setup_server_tables();
	table = methods_all(&n_methods);
	if (!table || n_methods == 0)
		abort();
	fd_arena_init(&arena, 0);
	return 0;
}

static const struct fd_method *pick_method(const uint8_t **data, size_t *size)
{
	const uint8_t *nl = *size ? memchr(*data, '\n', *size < 128 ? *size : 128) : NULL;

	if (nl) {
		size_t n = (size_t)(nl - *data);
		for (size_t i = 0; i < n_methods; i++)
			if (strlen(table[i].path) == n && memcmp(table[i].path, *data, n) == 0) {
				*size -= n + 1;
				*data = nl + 1;
				return &table[i];
			}
	}
	if (*size == 0)
		return &table[0];
	const struct fd_method *m = &table[(*data)[0] % n_methods];
	(*data)++;
	(*size)--;
	return m;
}

enum verdict { INCOMPLETE, BAD_TEXT, HAS_NUL, ACCEPTED };

/* What decode_payload decides about one decoded message and its bytes. */
static enum verdict gate_verdict(const ProtobufCMessage *in, const uint8_t *wire, size_t len)
{
	if (!protobuf_c_message_check(in))
		return INCOMPLETE;
	if (!fd_message_text_valid(in, GATE_MAX_DEPTH))
		return BAD_TEXT;
	if (!fd_wire_text_nul_free(in->descriptor, wire, len, GATE_MAX_DEPTH))
		return HAS_NUL;
	return ACCEPTED;
}

/* Forgets the unknown fields of m and every message under it (arena copy
 * only: the arena owns that memory). The server ignores unknown fields and
 * never repacks a request, and protobuf-c keeps some it cannot write back
 * (a field number 0 spelled as the two-byte varint 80 00 is accepted on
 * unpack and refused on the next unpack), so the round trip is checked on
 * the fields the server actually reads. */
static void forget_unknown_fields(ProtobufCMessage *m)
{
	const ProtobufCMessageDescriptor *d = m->descriptor;

	m->n_unknown_fields = 0;
	m->unknown_fields = NULL;
	for (unsigned i = 0; i < d->n_fields; i++) {
		const ProtobufCFieldDescriptor *f = &d->fields[i];
		char *member = (char *)m + f->offset;

		if (f->type != PROTOBUF_C_TYPE_MESSAGE)
			continue;
		if (f->label == PROTOBUF_C_LABEL_REPEATED) {
			size_t n = *(size_t *)((char *)m + f->quantifier_offset);
			ProtobufCMessage **items = *(ProtobufCMessage ***)member;
			for (size_t k = 0; k < n; k++)
				if (items[k])
					forget_unknown_fields(items[k]);
		} else if (*(ProtobufCMessage **)member) {
			forget_unknown_fields(*(ProtobufCMessage **)member);
		}
	}
}

static void repack_must_decode(ProtobufCMessage *in)
{
	size_t len = protobuf_c_message_get_packed_size(in);
	uint8_t *buf = malloc(len ? len : 1);

	if (!buf)
		return;
	if (protobuf_c_message_pack(in, buf) != len) {
		fprintf(stderr, "fuzz_payload: pack wrote a different size than it promised\n");
		abort();
	}
	ProtobufCMessage *again = protobuf_c_message_unpack(in->descriptor, NULL, len, buf);
	if (!again || gate_verdict(again, buf, len) != ACCEPTED) {
		fprintf(stderr, "fuzz_payload: an accepted %s does not survive pack/unpack\n",
		        in->descriptor->name);
		abort();
	}
	protobuf_c_message_free_unpacked(again, NULL);
	free(buf);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const struct fd_method *m = pick_method(&data, &size);
	ProtobufCMessage *in =
	    protobuf_c_message_unpack(m->input, fd_arena_allocator(&arena), size, data);
	ProtobufCMessage *heap = protobuf_c_message_unpack(m->input, NULL, size, data);

	if (!in != !heap) {
		fprintf(stderr, "fuzz_payload: %s: the arena and heap decoders disagree\n",
		        m->path);
		abort();
	}
	if (in) {
		enum verdict verdict = gate_verdict(in, data, size);
		if (verdict != gate_verdict(heap, data, size)) {
			fprintf(stderr,
			        "fuzz_payload: %s: verdicts differ between arena and heap copies\n",
			        m->path);
			abort();
		}
		protobuf_c_message_free_unpacked(heap, NULL);
		if (verdict == ACCEPTED) {
			forget_unknown_fields(in);
			repack_must_decode(in);
		}
	}
	fd_arena_reset(&arena);
	return 0;
}
