/*
 * Input checks every domain's handlers share, so a field means the same
 * thing everywhere: text lengths in characters (UTF-8 code points, the
 * gate has already checked the encoding), no control characters unless a
 * field is multi-line, short codes people type, calendar dates. Each check
 * returns FD_OK or fills ctx->status with INVALID_ARGUMENT and a message
 * naming the field. Thread-safe; allocates nothing.
 */
#ifndef FD_VALIDATE_H
#define FD_VALIDATE_H

#include <stdbool.h>
#include <stddef.h>

#include "handler.h"

enum fd_text_flags {
	TEXT_MULTILINE = 1u << 0, /* newlines allowed (notes, messages) */
	TEXT_TRIMMED = 1u << 1,   /* no leading or trailing space (names) */
};

/* Characters (code points) in a valid UTF-8 string. */
size_t fd_text_chars(const char *s);

/* min 0 makes the field optional. */
int fd_check_text(fd_ctx *ctx, const char *what, const char *s, size_t min,
		  size_t max, unsigned flags);

/* A code staff type: 1-32 of [a-z0-9_-], starting with a letter or digit. */
int fd_check_code(fd_ctx *ctx, const char *what, const char *s);

/* YYYY-MM-DD that exists on the calendar (no Feb 30). */
int fd_check_date(fd_ctx *ctx, const char *what, const char *s);

#endif
