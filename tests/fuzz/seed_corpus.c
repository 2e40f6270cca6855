/*
 * Writes the fuzzers' seed corpus from the method table: for every method a
 * default (empty) request and one with every field filled (strings, numbers,
 * enums, nested and repeated messages), so the fuzzers start from valid
 * requests of every type instead of guessing the wire format. The output is
 * committed under tests/fuzz/corpus/; rerun (tests/fuzz/run.sh --seed) when
 * methods are added.
 *
 *   seed_corpus OUT_DIR   writes one file per seed into OUT_DIR/fuzz_payload/
 *                         and OUT_DIR/fuzz_envelope/
 *
 * fuzz_payload inputs are "<method path>\n<payload>"; fuzz_envelope inputs
 * are whole Request envelopes, plus a few the gate must refuse.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "arena.h"
#include "config.h"
#include "methods.h"
#include "util.h"
#include "wire.h"
#include "frontdesk/v1/envelope.pb-c.h"

/* Deep enough for every request we declare; recursive types stop here. */
#define FILL_DEPTH 4

static fd_arena arena;
static unsigned n_written;

static size_t scalar_size(ProtobufCType t)
{
	switch (t) {
	case PROTOBUF_C_TYPE_INT64:
	case PROTOBUF_C_TYPE_SINT64:
	case PROTOBUF_C_TYPE_SFIXED64:
	case PROTOBUF_C_TYPE_UINT64:
	case PROTOBUF_C_TYPE_FIXED64:
	case PROTOBUF_C_TYPE_DOUBLE:
		return 8;
	case PROTOBUF_C_TYPE_STRING:
	case PROTOBUF_C_TYPE_MESSAGE:
		return sizeof(void *);
	case PROTOBUF_C_TYPE_BYTES:
		return sizeof(ProtobufCBinaryData);
	default: /* 32-bit ints, float, bool, enum */
		return 4;
	}
}

static ProtobufCMessage *filled(const ProtobufCMessageDescriptor *d, int depth);

/* Writes one sample value of field f's type at p. */
static void sample_value(const ProtobufCFieldDescriptor *f, void *p, int depth)
{
	switch (f->type) {
	case PROTOBUF_C_TYPE_INT64:
	case PROTOBUF_C_TYPE_SINT64:
	case PROTOBUF_C_TYPE_SFIXED64:
	case PROTOBUF_C_TYPE_UINT64:
	case PROTOBUF_C_TYPE_FIXED64:
		*(int64_t *)p = 1;
		break;
	case PROTOBUF_C_TYPE_DOUBLE:
		*(double *)p = 1.5;
		break;
	case PROTOBUF_C_TYPE_FLOAT:
		*(float *)p = 1.5f;
		break;
	case PROTOBUF_C_TYPE_ENUM: {
		const ProtobufCEnumDescriptor *e = f->descriptor;
		*(int32_t *)p = e->n_values > 1 ? e->values[1].value : e->values[0].value;
		break;
	}
	case PROTOBUF_C_TYPE_STRING:
		*(char **)p = "seed text";
		break;
	case PROTOBUF_C_TYPE_BYTES: {
		ProtobufCBinaryData *b = p;
		b->data = (uint8_t *)"seed";
		b->len = 4;
		break;
	}
	case PROTOBUF_C_TYPE_MESSAGE:
		*(ProtobufCMessage **)p = filled(f->descriptor, depth - 1);
		break;
	default: /* 32-bit ints and bool */
		*(int32_t *)p = 1;
		break;
	}
}

static ProtobufCMessage *filled(const ProtobufCMessageDescriptor *d, int depth)
{
	ProtobufCMessage *m = fd_arena_alloc(&arena, d->sizeof_message);

	if (!m)
		abort();
	protobuf_c_message_init(d, m);
	if (depth <= 0)
		return m;
	for (unsigned i = 0; i < d->n_fields; i++) {
		const ProtobufCFieldDescriptor *f = &d->fields[i];
		char *member = (char *)m + f->offset;

		if (f->flags & PROTOBUF_C_FIELD_FLAG_ONEOF) {
			/* Only the first member of each oneof. */
			uint32_t *which = (uint32_t *)((char *)m + f->quantifier_offset);
			if (*which != 0)
				continue;
			*which = f->id;
			sample_value(f, member, depth);
		} else if (f->label == PROTOBUF_C_LABEL_REPEATED) {
			size_t sz = scalar_size(f->type);
			char *items = fd_arena_alloc(&arena, 2 * sz);
			if (!items)
				abort();
			for (int k = 0; k < 2; k++)
				sample_value(f, items + k * sz, depth);
			*(size_t *)((char *)m + f->quantifier_offset) = 2;
			*(void **)member = items;
		} else {
			if (f->quantifier_offset && f->type != PROTOBUF_C_TYPE_STRING &&
			    f->type != PROTOBUF_C_TYPE_MESSAGE)
				*(protobuf_c_boolean *)((char *)m + f->quantifier_offset) = 1;
			sample_value(f, member, depth);
		}
	}
	return m;
}

static void write_file(const char *dir, const char *name, const uint8_t *head, size_t head_len,
                       const uint8_t *body, size_t body_len)
{
	char path[512];
	FILE *f;

	snprintf(path, sizeof path, "%s/%s", dir, name);
	f = fopen(path, "wb");
	if (!f || (head_len && fwrite(head, 1, head_len, f) != head_len) ||
	    (body_len && fwrite(body, 1, body_len, f) != body_len) || fclose(f) != 0) {
		fprintf(stderr, "seed_corpus: cannot write %s: %s\n", path, strerror(errno));
		exit(1);
	}
	n_written++;
}

/* "/frontdesk.v1.Admin/CreateDesk" -> "Admin.CreateDesk-<suffix>". */
static void file_name(char *out, size_t n, const char *path, const char *suffix)
{
	const char *svc = strrchr(path, '.');
	snprintf(out, n, "%s-%s", svc ? svc + 1 : path, suffix);
	for (char *p = out; *p; p++)
		if (*p == '/')
			*p = '.';
}

static void write_envelope(const char *dir, const char *name, const char *method, uint32_t api,
                           size_t id_len, const ProtobufCMessage *payload)
{
	Frontdesk__V1__RequestHeader h = FRONTDESK__V1__REQUEST_HEADER__INIT;
	Frontdesk__V1__Request req = FRONTDESK__V1__REQUEST__INIT;
	uint8_t id[32] = {0x5e, 0xed};
	size_t n = 0;

	h.request_id.data = id;
	h.request_id.len = id_len;
	h.method = (char *)method;
	h.api_version = api;
	h.session_token = "seed-session-token";
	h.timeout_ms = 5000;
	req.header = &h;
	if (payload) {
		req.payload.data = fd_pack_to_arena(&arena, payload, &n);
		req.payload.len = n;
	}
	uint8_t *bytes = fd_pack_to_arena(&arena, &req.base, &n);
	write_file(dir, name, NULL, 0, bytes, n);
}

static void make_dir(const char *path)
{
	if (mkdir(path, 0755) != 0 && errno != EEXIST) {
		fprintf(stderr, "seed_corpus: cannot create %s: %s\n", path, strerror(errno));
		exit(1);
	}
}

int main(int argc, char **argv)
{
	char payload_dir[400], envelope_dir[400], name[200], err[128];
	int cargc;
	char **rest;
	char *cargv[] = {"seed_corpus", NULL};
	size_t n_methods;

	if (argc != 2) {
		fprintf(stderr, "usage: seed_corpus OUT_DIR\n");
		return 2;
	}
	if (config_load(1, cargv, &cargc, &rest, err, sizeof err) != 0 || methods_init() != 0) {
		fprintf(stderr, "seed_corpus: cannot build the method table\n");
		return 1;
	}
	fd_arena_init(&arena, 0);
	snprintf(payload_dir, sizeof payload_dir, "%s/fuzz_payload", argv[1]);
	snprintf(envelope_dir, sizeof envelope_dir, "%s/fuzz_envelope", argv[1]);
	make_dir(argv[1]);
	make_dir(payload_dir);
	make_dir(envelope_dir);

	const struct fd_method *table = methods_all(&n_methods);
	for (size_t i = 0; i < n_methods; i++) {
		const struct fd_method *m = &table[i];
		ProtobufCMessage *full = filled(m->input, FILL_DEPTH);
		size_t n = 0;
		uint8_t *bytes = fd_pack_to_arena(&arena, full, &n);
		char head[256];
		int hl = snprintf(head, sizeof head, "%s\n", m->path);

		file_name(name, sizeof name, m->path, "empty");
		write_file(payload_dir, name, (uint8_t *)head, (size_t)hl, NULL, 0);
		file_name(name, sizeof name, m->path, "filled");
		write_file(payload_dir, name, (uint8_t *)head, (size_t)hl, bytes, n);
		write_envelope(envelope_dir, name, m->path, FD_API_VERSION, FD_REQUEST_ID_LEN,
		               full);
		fd_arena_reset(&arena);
	}
	/* Envelopes the gate must refuse, one reason each. */
	const char *ping = "/frontdesk.v1.Health/Ping";
	write_envelope(envelope_dir, "refuse-api-0", ping, 0, FD_REQUEST_ID_LEN, NULL);
	write_envelope(envelope_dir, "refuse-api-999", ping, 999, FD_REQUEST_ID_LEN, NULL);
	write_envelope(envelope_dir, "refuse-short-id", ping, FD_API_VERSION, 3, NULL);
	write_envelope(envelope_dir, "refuse-no-method", "/frontdesk.v1.Health/Pong",
	               FD_API_VERSION, FD_REQUEST_ID_LEN, NULL);
	write_file(envelope_dir, "refuse-empty", NULL, 0, NULL, 0);
	/* Inputs that once found bugs, kept as regressions: an inline call
	 * with no payload at all (the NUL scan did arithmetic on NULL), and a
	 * field number 0 spelled 80 00 (protobuf-c keeps it as an unknown
	 * field it cannot write back). */
	write_envelope(envelope_dir, "regress-ping-no-payload", ping, FD_API_VERSION,
	               FD_REQUEST_ID_LEN, NULL);
	{
		char head[256];
		int hl = snprintf(head, sizeof head, "%s\n", table[0].path);
		write_file(payload_dir, "regress-field-zero", (uint8_t *)head, (size_t)hl,
		           (const uint8_t *)"\x80\x00\x04", 3);
	}
	fd_arena_destroy(&arena);
	printf("seed_corpus: wrote %u files for %zu methods under %s\n", n_written, n_methods,
	       argv[1]);
	return 0;
}
