/*
 * Small helpers every part needs: clocks, request ids, hex, UTF-8 checks.
 * All functions are thread-safe and allocate nothing.
 */
#ifndef FD_UTIL_H
#define FD_UTIL_H

#include <protobuf-c/protobuf-c.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define FD_REQUEST_ID_LEN 16
#define FD_API_VERSION 1

/* Monotonic milliseconds, for deadlines and durations. */
int64_t fd_now_mono_ms(void);
/* Wall-clock milliseconds since the Unix epoch, for display and storage. */
int64_t fd_now_unix_ms(void);

/* Fills id with 16 random bytes (libsodium; call fd_random_init first). */
int fd_random_init(void) __attribute__((warn_unused_result));
void fd_request_id_new(uint8_t id[FD_REQUEST_ID_LEN]);

/* Writes 2*len hex digits plus NUL into out (out_size >= 2*len+1). */
void fd_hex(char *out, size_t out_size, const uint8_t *bytes, size_t len);

/* True when s[0..len) is well-formed UTF-8 (no overlongs, no surrogates). */
bool fd_utf8_valid(const char *s, size_t len);

/* Walks a message (and its sub-messages) and checks every string field is
 * valid UTF-8 and every nesting stays under max_depth. protobuf-c itself does
 * not check either, and both matter before text reaches PostgreSQL. */
bool fd_message_text_valid(const ProtobufCMessage *msg, int max_depth);

/* True when no string field of the packed message data[0..len) of type d
 * (nested messages included, up to max_depth) holds a NUL byte. Proto3
 * allows U+0000 on the wire, but protobuf-c hands strings over as C
 * strings, so "Front\0desk" would silently arrive as "Front"; PostgreSQL
 * text cannot hold NUL either. Unknown fields are not looked at (they are
 * dropped), and bytes that are not valid protobuf count as NUL-free: the
 * unpacker is the one that refuses those. */
bool fd_wire_text_nul_free(const ProtobufCMessageDescriptor *d, const uint8_t *data,
			   size_t len, int max_depth);

#endif
