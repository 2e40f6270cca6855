/*
 * Checks and lookups the patients handlers share; see patients_common.h.
 */
#include "patients_common.h"
#include "validate.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

const char *pat_subject(fd_ctx *ctx, int64_t patient_id)
{
	return fd_arena_printf(ctx->arena, "patient:%lld", (long long)patient_id);
}

void *pat_array(fd_ctx *ctx, size_t n, size_t elem_size)
{
	return fd_arena_alloc(ctx->arena, (n + 1) * elem_size);
}

/* Characters, not bytes: the dispatcher has already checked the UTF-8. */
static size_t utf8_length(const char *s)
{
	size_t n = 0;

	for (; *s; s++)
		if (((unsigned char)*s & 0xc0) != 0x80)
			n++;
	return n;
}

int pat_check_free_text(fd_ctx *ctx, const char *what, const char *s, size_t max)
{
	if (utf8_length(s) > max)
		return fd_fail(&ctx->status, FD_INVALID_ARGUMENT,
			       "%s must be at most %zu characters", what, max);
	return FD_OK;
}

int pat_check_name(fd_ctx *ctx, const char *what, const char *s, size_t max,
		   bool required)
{
	size_t len = utf8_length(s);

	if (len == 0 && required)
		return fd_fail(&ctx->status, FD_INVALID_ARGUMENT, "%s is required", what);
	if (len > max)
		return fd_fail(&ctx->status, FD_INVALID_ARGUMENT,
			       "%s must be at most %zu characters", what, max);
	for (const char *p = s; *p; p++)
		if ((unsigned char)*p < 0x20 || *p == 0x7f)
			return fd_fail(&ctx->status, FD_INVALID_ARGUMENT,
				       "%s must not contain control characters", what);
	if (len && (isspace((unsigned char)s[0]) || isspace((unsigned char)s[strlen(s) - 1])))
		return fd_fail(&ctx->status, FD_INVALID_ARGUMENT,
			       "%s must not start or end with a space", what);
	return FD_OK;
}

int pat_check_choice(fd_ctx *ctx, const char *what, const char *s,
		     const char *const *choices, bool required)
{
	char list[256] = "";

	if (!*s && !required)
		return FD_OK;
	for (size_t i = 0; choices[i]; i++) {
		if (strcmp(s, choices[i]) == 0)
			return FD_OK;
		snprintf(list + strlen(list), sizeof list - strlen(list), "%s%s",
			 i ? ", " : "", choices[i]);
	}
	return fd_fail(&ctx->status, FD_INVALID_ARGUMENT, "%s must be one of: %s", what, list);
}

int pat_check_date(fd_ctx *ctx, const char *what, const char *s, int min_year,
		   bool not_future, bool required)
{
	int y;

	if (!*s) {
		if (required)
			return fd_fail(&ctx->status, FD_INVALID_ARGUMENT, "%s is required", what);
		return FD_OK;
	}
	/* The calendar check is shared, and never echoes the date: a birth
	 * date is patient data. */
	if (fd_check_date(ctx, what, s) != FD_OK)
		return ctx->status.code;
	y = atoi(s);
	if (y < min_year)
		return fd_fail(&ctx->status, FD_INVALID_ARGUMENT,
			       "%s must not be before %d", what, min_year);
	if (not_future) {
		/* Today in UTC plus a day: a desk west or east of UTC may be a
		 * calendar day apart, never more. */
		time_t tomorrow = time(NULL) + 86400;
		struct tm t;
		char limit[11];

		gmtime_r(&tomorrow, &t);
		strftime(limit, sizeof limit, "%Y-%m-%d", &t);
		if (strcmp(s, limit) > 0)
			return fd_fail(&ctx->status, FD_INVALID_ARGUMENT,
				       "%s must not be in the future", what);
	}
	return FD_OK;
}

int pat_phone_e164(fd_ctx *ctx, const char *what, const char *in, char *out)
{
	char digits[32];
	size_t n = 0;
	bool plus = false, seen_digit = false;

	out[0] = '\0';
	if (!*in)
		return FD_OK;
	for (const char *p = in; *p; p++) {
		unsigned char c = (unsigned char)*p;
		if (isdigit(c)) {
			if (n + 1 >= sizeof digits)
				goto bad;
			digits[n++] = (char)c;
			seen_digit = true;
		} else if (c == '+' && !seen_digit && !plus) {
			plus = true;
		} else if (c != ' ' && c != '-' && c != '.' && c != '(' && c != ')' &&
			   c != '/') {
			goto bad;
		}
	}
	digits[n] = '\0';
	if (!plus && n > 2 && digits[0] == '0' && digits[1] == '0') {
		/* 00 is the international prefix in most of the world. */
		memmove(digits, digits + 2, n - 1);
		n -= 2;
		plus = true;
	}
	if (!plus) {
		/* No country code: a North American number. */
		if (n == 11 && digits[0] == '1') {
			memmove(digits, digits + 1, n);
			n--;
		}
		if (n != 10 || digits[0] < '2' || digits[3] < '2')
			goto bad;
		out[0] = '+';
		out[1] = '1';
		memcpy(out + 2, digits, 11);
		return FD_OK;
	}
	if (n < 7 || n > 15 || digits[0] == '0')
		goto bad;
	out[0] = '+';
	memcpy(out + 1, digits, n + 1);
	return FD_OK;
bad:
	return fd_fail(&ctx->status, FD_INVALID_ARGUMENT,
		       "%s is not a phone number: give 10 digits, or + and the country code",
		       what);
}

static int lookup_patient(fd_ctx *ctx, int64_t patient_id, bool active)
{
	db_params p;
	PGresult *r;

	if (patient_id <= 0)
		return fd_fail(&ctx->status, FD_INVALID_ARGUMENT, "give a patient id");
	dbp_init(&p);
	dbp_int(&p, patient_id);
	r = db_query(ctx,
		     active ? "SELECT coalesce(merged_into, 0) FROM patients WHERE id = $1 FOR SHARE"
			    : "SELECT coalesce(merged_into, 0) FROM patients WHERE id = $1",
		     &p);
	if (!r)
		return ctx->status.code;
	int found = PQntuples(r);
	int64_t merged_into = found ? db_int(r, 0, 0) : 0;
	PQclear(r);
	if (!found)
		return fd_fail(&ctx->status, FD_NOT_FOUND, "no patient has id %lld",
			       (long long)patient_id);
	if (active && merged_into)
		return fd_fail(&ctx->status, FD_FAILED_PRECONDITION,
			       "patient %lld was merged into patient %lld; use that record",
			       (long long)patient_id, (long long)merged_into);
	return FD_OK;
}

int pat_require_active_patient(fd_ctx *ctx, int64_t patient_id)
{
	return lookup_patient(ctx, patient_id, true);
}

int pat_require_patient(fd_ctx *ctx, int64_t patient_id)
{
	return lookup_patient(ctx, patient_id, false);
}
