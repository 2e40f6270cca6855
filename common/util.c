/* Clocks, ids, hex and UTF-8 validation; see util.h. */
#include "util.h"

#include <sodium.h>
#include <string.h>
#include <time.h>

int64_t fd_now_mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int64_t fd_now_unix_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int fd_random_init(void)
{
	return sodium_init() < 0 ? -1 : 0;
}

void fd_request_id_new(uint8_t id[FD_REQUEST_ID_LEN])
{
	randombytes_buf(id, FD_REQUEST_ID_LEN);
}

void fd_hex(char *out, size_t out_size, const uint8_t *bytes, size_t len)
{
	static const char digits[] = "0123456789abcdef";
	size_t i;

	if (out_size == 0)
		return;
	for (i = 0; i < len && 2 * i + 2 < out_size; i++) {
		out[2 * i] = digits[bytes[i] >> 4];
		out[2 * i + 1] = digits[bytes[i] & 15];
	}
	out[2 * i] = '\0';
}

bool fd_utf8_valid(const char *str, size_t len)
{
	const unsigned char *s = (const unsigned char *)str;
	size_t i = 0;

	while (i < len) {
		unsigned c = s[i];
		size_t n;
		uint32_t cp;

		if (c < 0x80) {
			i++;
			continue;
		} else if ((c & 0xE0) == 0xC0) {
			n = 1, cp = c & 0x1F;
		} else if ((c & 0xF0) == 0xE0) {
			n = 2, cp = c & 0x0F;
		} else if ((c & 0xF8) == 0xF0) {
			n = 3, cp = c & 0x07;
		} else {
			return false;
		}
		if (len - i <= n) /* the sequence runs past the end */
			return false;
		for (size_t k = 1; k <= n; k++) {
			if ((s[i + k] & 0xC0) != 0x80)
				return false;
			cp = (cp << 6) | (s[i + k] & 0x3F);
		}
		if ((n == 1 && cp < 0x80) || (n == 2 && cp < 0x800) ||
		    (n == 3 && cp < 0x10000) || cp > 0x10FFFF ||
		    (cp >= 0xD800 && cp <= 0xDFFF))
			return false;
		i += n + 1;
	}
	return true;
}

static bool field_valid(const ProtobufCFieldDescriptor *f, const void *member,
			int depth)
{
	if (f->type == PROTOBUF_C_TYPE_STRING) {
		const char *s = *(char *const *)member;
		if (s && !fd_utf8_valid(s, strlen(s)))
			return false;
	} else if (f->type == PROTOBUF_C_TYPE_MESSAGE) {
		const ProtobufCMessage *m = *(ProtobufCMessage *const *)member;
		if (m && !fd_message_text_valid(m, depth - 1))
			return false;
	}
	return true;
}

bool fd_message_text_valid(const ProtobufCMessage *msg, int max_depth)
{
	const ProtobufCMessageDescriptor *d = msg->descriptor;

	if (max_depth <= 0)
		return false;
	for (unsigned i = 0; i < d->n_fields; i++) {
		const ProtobufCFieldDescriptor *f = &d->fields[i];
		const char *base = (const char *)msg + f->offset;

		if (f->type != PROTOBUF_C_TYPE_STRING &&
		    f->type != PROTOBUF_C_TYPE_MESSAGE)
			continue;
		/* Members of a oneof share one union: only the member set
		 * holds a pointer; reading another would follow an integer. */
		if ((f->flags & PROTOBUF_C_FIELD_FLAG_ONEOF) &&
		    *(const uint32_t *)((const char *)msg + f->quantifier_offset) != f->id)
			continue;
		if (f->label == PROTOBUF_C_LABEL_REPEATED) {
			size_t n = *(const size_t *)((const char *)msg +
						     f->quantifier_offset);
			const char *const *items = *(const char *const *const *)base;
			for (size_t k = 0; k < n; k++)
				if (!field_valid(f, &items[k], max_depth))
					return false;
		} else if (!field_valid(f, base, max_depth)) {
			return false;
		}
	}
	return true;
}

/* Reads one base-128 varint; false when it is cut short or over 10 bytes. */
static bool wire_varint(const uint8_t **p, const uint8_t *end, uint64_t *v)
{
	uint64_t x = 0;

	for (unsigned shift = 0; shift < 70 && *p < end; shift += 7) {
		uint8_t b = *(*p)++;
		x |= (uint64_t)(b & 0x7f) << shift;
		if (!(b & 0x80)) {
			*v = x;
			return true;
		}
	}
	return false;
}

bool fd_wire_text_nul_free(const ProtobufCMessageDescriptor *d, const uint8_t *data,
			   size_t len, int max_depth)
{
	const uint8_t *p, *end;
	uint64_t key, n;

	if (len == 0) /* an empty payload may come as NULL */
		return true;
	if (max_depth <= 0)
		return true; /* fd_message_text_valid refuses the depth itself */
	p = data;
	end = data + len;
	while (p < end) {
		if (!wire_varint(&p, end, &key))
			return true;
		switch (key & 7) {
		case 0:
			if (!wire_varint(&p, end, &n))
				return true;
			continue;
		case 1:
			n = 8;
			break;
		case 5:
			n = 4;
			break;
		case 2: {
			if (!wire_varint(&p, end, &n) || n > (uint64_t)(end - p))
				return true;
			const ProtobufCFieldDescriptor *f =
				key >> 3 <= UINT32_MAX
					? protobuf_c_message_descriptor_get_field(d, (unsigned)(key >> 3))
					: NULL;
			if (f && f->type == PROTOBUF_C_TYPE_STRING && memchr(p, 0, n))
				return false;
			if (f && f->type == PROTOBUF_C_TYPE_MESSAGE &&
			    !fd_wire_text_nul_free(f->descriptor, p, n, max_depth - 1))
				return false;
			break;
		}
		default: /* groups: protobuf-c refuses them */
			return true;
		}
		if (n > (uint64_t)(end - p))
			return true;
		p += n;
	}
	return true;
}
