/*
 * How the desk CLI speaks: human text or one JSON object per command on
 * stdout, errors on stderr (and, with --json, also as a JSON object on
 * stdout), and the sysexits.h exit code for every status.
 *
 * Everything a server sends is text from the database, typed by someone at
 * some desk. It is never written to the terminal raw: text mode escapes
 * control characters, ESC, C1 controls, bidi overrides and malformed UTF-8
 * (`\x1b`, `\u202e`), and JSON escapes them as \uXXXX, so a name can
 * neither move the cursor, recolour the screen nor reorder a line.
 *
 * Memory: functions returning char * return malloc'd strings the caller
 * frees; a desk_table owns copies of its cells until desk_table_free.
 * Single-threaded, like the CLI.
 */
#ifndef DESK_OUTPUT_H
#define DESK_OUTPUT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "status.h"
#include "frontdesk/v1/auth.pb-c.h"

/* --- exit codes ------------------------------------------------------ */

/* The sysexits.h code for a status: 0 OK; 65 bad input (INVALID_ARGUMENT,
 * OUT_OF_RANGE, FAILED_PRECONDITION, ALREADY_EXISTS); 66 NOT_FOUND; 69
 * UNAVAILABLE; 75 temporary (DEADLINE_EXCEEDED, ABORTED,
 * RESOURCE_EXHAUSTED); 77 UNAUTHENTICATED, PERMISSION_DENIED; 70 else. */
int desk_exit_code(int code);

/* --- text ------------------------------------------------------------ */

/* Writes s with every byte that could steer a terminal escaped:
 * C0 controls and DEL as \xNN (\n \t \r as such), C1 controls, bidi
 * controls and line/paragraph separators as \uXXXX, malformed UTF-8 bytes
 * as \xNN and the backslash itself as \\. NULL prints as nothing. */
void desk_print_text(FILE *out, const char *s);
/* The same escaping into a new string (malloc'd; NULL if out of memory). */
char *desk_escape_text(const char *s);

/* Roles as "admin, front_desk" (escaped); "(none)" when there are none. */
void desk_print_roles(FILE *out, char *const *roles, size_t n);

/* "2024-05-01 18:30 CEST" in the desk's local time zone; "-" for 0. */
void desk_format_time(char *buf, size_t size, int64_t unix_ms);
/* "15 min", "1 h 30 min", "45 s". */
void desk_format_duration(char *buf, size_t size, int64_t seconds);

/* A text table with aligned columns. Cells are escaped when added. */
struct desk_table {
	size_t columns;
	size_t rows;     /* data rows, without the heading */
	size_t capacity; /* in rows */
	char **cells;    /* (rows + 1) * columns, heading first */
	bool failed;     /* ran out of memory; prints what it has */
};

void desk_table_init(struct desk_table *t, size_t columns, ...);
/* Adds one row of `columns` strings (NULL prints as empty). */
void desk_table_row(struct desk_table *t, ...);
void desk_table_print(const struct desk_table *t, FILE *out);
void desk_table_free(struct desk_table *t);

/* --- JSON ------------------------------------------------------------ */

#define DESK_JSON_MAX_DEPTH 16

/* A streaming JSON writer for one object on one line. Keys are given by
 * the caller as literals; inside arrays pass NULL as the key. */
struct desk_json {
	FILE *out;
	int depth;
	bool first[DESK_JSON_MAX_DEPTH];
};

void json_begin(struct desk_json *j, FILE *out); /* writes "{" */
void json_end(struct desk_json *j);               /* writes "}\n" */
void json_object(struct desk_json *j, const char *key);
void json_object_end(struct desk_json *j);
void json_array(struct desk_json *j, const char *key);
void json_array_end(struct desk_json *j);
void json_string(struct desk_json *j, const char *key, const char *value);
void json_int(struct desk_json *j, const char *key, int64_t value);
void json_uint(struct desk_json *j, const char *key, uint64_t value);
void json_bool(struct desk_json *j, const char *key, bool value);
/* A number with `decimals` digits after the point (for durations). */
void json_fixed(struct desk_json *j, const char *key, double value,
		int decimals);
void json_string_list(struct desk_json *j, const char *key,
		      char *const *values, size_t n);
void json_null(struct desk_json *j, const char *key);
/* {"id":..,"username":..,"display_name":..,"roles":[..]}, or null. */
void json_staff_summary(struct desk_json *j, const char *key,
			const Frontdesk__V1__StaffSummary *staff);
/* Writes s as a JSON string literal, quotes included. */
void json_write_string(FILE *out, const char *s);

/* --- errors ---------------------------------------------------------- */

/* Reports a failed step:
 *   desk: <action>: <message> (<CODE_NAME>)
 *   hint: <what to do next>
 * on stderr, plus {"error":{"code":N,"name":"...","message":"..."}} on
 * stdout when `json`. `hint` may be NULL for the default hint of the code;
 * `role` (may be NULL) names the role a PERMISSION_DENIED needs and
 * `server` the URL an UNAVAILABLE is about. Returns desk_exit_code. */
int desk_report(bool json, const char *action, const fd_status *st,
		const char *hint, const char *role, const char *server);

#endif
