/*
 * What the patients handlers share (patients.c, patients_insurance.c,
 * patients_intake.c, patients_records.c): checking text, dates, phone
 * numbers and money the same way everywhere, naming who acts for the
 * history trigger, and finding a patient record that may be written to.
 *
 * Text rules, per kind of field (docs/patients.md says the same):
 *  - identity text (names, codes, member ids, email): 1..max characters,
 *    no control characters (C0, DEL): these are searched, matched and
 *    printed on labels, and a control character in them is always a typo
 *    or an attack;
 *  - free text (address, emergency contact, notes, answers): stored exactly
 *    as given, control characters included; every printer escapes them.
 * Lengths count characters (as PostgreSQL's length() does), not bytes.
 *
 * Every function returns FD_OK or a status with ctx->status filled.
 * Worker thread; strings returned live in the call's arena.
 */
#ifndef FD_PATIENTS_COMMON_H
#define FD_PATIENTS_COMMON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "db/db.h"

#define PAT_NOMEM(ctx) fd_fail(&(ctx)->status, FD_RESOURCE_EXHAUSTED, "out of memory")

/* Names of the patient shown in the audit log ("patient:12"). */
const char *pat_subject(fd_ctx *ctx, int64_t patient_id);

/* Identity text; `required` refuses an empty value. */
int pat_check_name(fd_ctx *ctx, const char *what, const char *s, size_t max,
		   bool required) __attribute__((warn_unused_result));
/* Free text: only the length is checked. */
int pat_check_free_text(fd_ctx *ctx, const char *what, const char *s,
			size_t max) __attribute__((warn_unused_result));
/* One of a fixed list of words (NULL-terminated); empty allowed when
 * !required. */
int pat_check_choice(fd_ctx *ctx, const char *what, const char *s,
		     const char *const *choices, bool required)
	__attribute__((warn_unused_result));

/* A calendar date "YYYY-MM-DD" that exists (no Feb 30), not before
 * `min_year`, and not after today (UTC, plus one day of slack) when
 * `not_future`. Empty is refused when `required`. */
int pat_check_date(fd_ctx *ctx, const char *what, const char *s,
		   int min_year, bool not_future, bool required)
	__attribute__((warn_unused_result));

/* Normalises a phone number as typed ("(555) 123-4567", "+44 20 7946
 * 0958", "0044 20...") to E.164 in out (at least 17 bytes). Numbers
 * without a country code are taken as North American (+1, ten digits).
 * Empty input gives an empty out. */
int pat_phone_e164(fd_ctx *ctx, const char *what, const char *in, char *out)
	__attribute__((warn_unused_result));

/* A patient that may be given new records: exists (NOT_FOUND) and was not
 * merged away (FAILED_PRECONDITION naming the survivor). Takes a share
 * lock so a merge running at the same time finishes first. */
int pat_require_active_patient(fd_ctx *ctx, int64_t patient_id)
	__attribute__((warn_unused_result));
/* Only that it exists (reads of merged records are allowed). */
int pat_require_patient(fd_ctx *ctx, int64_t patient_id)
	__attribute__((warn_unused_result));

/* Unix milliseconds of a timestamptz column, for SELECT lists. */
#define PAT_MS(col) "coalesce((extract(epoch FROM " col ") * 1000)::bigint, 0)"
/* A date column as YYYY-MM-DD (empty when NULL). */
#define PAT_DATE(col) "coalesce(to_char(" col ", 'YYYY-MM-DD'), '')"

/* An arena array of n pointers (plus one), or NULL. */
void *pat_array(fd_ctx *ctx, size_t n, size_t elem_size);

#endif
