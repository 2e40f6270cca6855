/* Names and constructors for status codes (gRPC numbering). */
#include "status.h"

#include <stdarg.h>
#include <stdio.h>

static const char *const code_names[FD_CODE_MAX + 1] = {
	"OK", "CANCELLED", "UNKNOWN", "INVALID_ARGUMENT", "DEADLINE_EXCEEDED",
	"NOT_FOUND", "ALREADY_EXISTS", "PERMISSION_DENIED", "RESOURCE_EXHAUSTED",
	"FAILED_PRECONDITION", "ABORTED", "OUT_OF_RANGE", "UNIMPLEMENTED",
	"INTERNAL", "UNAVAILABLE", "DATA_LOSS", "UNAUTHENTICATED",
};

const char *fd_code_name(int code)
{
	if (code < 0 || code > FD_CODE_MAX)
		return "UNKNOWN_CODE";
	return code_names[code];
}

int fd_fail(fd_status *st, int code, const char *fmt, ...)
{
	va_list ap;

	st->code = code;
	va_start(ap, fmt);
	vsnprintf(st->message, sizeof st->message, fmt, ap);
	va_end(ap);
	return code;
}
