/* Shared input checks; see validate.h. */
#include "validate.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>

size_t fd_text_chars(const char *s)
{
	size_t n = 0;

	for (; *s; s++)
		if (((unsigned char)*s & 0xc0) != 0x80)
			n++;
	return n;
}

int fd_check_text(fd_ctx *ctx, const char *what, const char *s, size_t min,
		  size_t max, unsigned flags)
{
	size_t n = fd_text_chars(s), bytes = strlen(s);

	if (n < min || n > max) {
		if (min == 0)
			return fd_fail(&ctx->status, FD_INVALID_ARGUMENT,
				       "%s must be at most %zu characters", what, max);
		if (min == 1 && n == 0)
			return fd_fail(&ctx->status, FD_INVALID_ARGUMENT, "%s is required",
				       what);
		return fd_fail(&ctx->status, FD_INVALID_ARGUMENT,
			       "%s must be %zu-%zu characters", what, min, max);
	}
	for (size_t i = 0; i < bytes; i++) {
		unsigned char c = (unsigned char)s[i];
		if ((c < 0x20 && !((flags & TEXT_MULTILINE) && c == '\n')) || c == 0x7f)
			return fd_fail(&ctx->status, FD_INVALID_ARGUMENT,
				       "%s must not contain control characters", what);
	}
	if ((flags & TEXT_TRIMMED) && bytes &&
	    (isspace((unsigned char)s[0]) || isspace((unsigned char)s[bytes - 1])))
		return fd_fail(&ctx->status, FD_INVALID_ARGUMENT,
			       "%s must not start or end with a space", what);
	return FD_OK;
}

int fd_check_code(fd_ctx *ctx, const char *what, const char *s)
{
	size_t n = strlen(s);
	bool ok = n >= 1 && n <= 32 &&
		  (islower((unsigned char)s[0]) || isdigit((unsigned char)s[0]));

	for (size_t i = 0; ok && i < n; i++)
		ok = islower((unsigned char)s[i]) || isdigit((unsigned char)s[i]) ||
		     s[i] == '-' || s[i] == '_';
	if (!ok)
		return fd_fail(&ctx->status, FD_INVALID_ARGUMENT,
			       "%s must be 1-32 lowercase letters, digits, '-' or '_'", what);
	return FD_OK;
}

int fd_check_date(fd_ctx *ctx, const char *what, const char *s)
{
	static const int days[] = { 31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
	int y, m, d, used = 0;

	if (strlen(s) != 10 || strspn(s, "0123456789-") != 10 || s[4] != '-' ||
	    s[7] != '-' || sscanf(s, "%4d-%2d-%2d%n", &y, &m, &d, &used) != 3 || used != 10)
		return fd_fail(&ctx->status, FD_INVALID_ARGUMENT,
			       "%s must be a date like 2026-03-31", what);
	bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
	if (y < 1 || m < 1 || m > 12 || d < 1 || d > days[m - 1] ||
	    (m == 2 && d == 29 && !leap))
		return fd_fail(&ctx->status, FD_INVALID_ARGUMENT,
			       "%s is not a date on the calendar", what);
	return FD_OK;
}
