/*
 * The desk CLI's output: escaping of server-supplied text, a small table
 * printer, a streaming JSON writer, and the one place that turns a status
 * into an error message, a hint and an exit code. See output.h for the
 * escaping rules and why they exist.
 */
#include "output.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <time.h>

/* --- exit codes ------------------------------------------------------ */

int desk_exit_code(int code)
{
	switch (code) {
	case FD_OK:
		return EX_OK;
	case FD_INVALID_ARGUMENT:
	case FD_OUT_OF_RANGE:
	case FD_FAILED_PRECONDITION:
	case FD_ALREADY_EXISTS:
		return EX_DATAERR;
	case FD_NOT_FOUND:
		return EX_NOINPUT;
	case FD_UNAVAILABLE:
		return EX_UNAVAILABLE;
	case FD_DEADLINE_EXCEEDED:
	case FD_ABORTED:
	case FD_RESOURCE_EXHAUSTED:
		return EX_TEMPFAIL;
	case FD_UNAUTHENTICATED:
	case FD_PERMISSION_DENIED:
		return EX_NOPERM;
	default:
		return EX_SOFTWARE;
	}
}

/* --- UTF-8 ----------------------------------------------------------- */

/* Decodes one well-formed UTF-8 sequence at s (len bytes left, len >= 1).
 * Returns its length and sets *cp, or 0 when the bytes are malformed
 * (stray continuation, overlong, surrogate, past U+10FFFF, truncated). */
static size_t utf8_next(const unsigned char *s, size_t len, uint32_t *cp)
{
	unsigned c = s[0];
	size_t n;
	uint32_t v;

	if (c < 0x80) {
		*cp = c;
		return 1;
	} else if ((c & 0xE0) == 0xC0) {
		n = 2, v = c & 0x1F;
	} else if ((c & 0xF0) == 0xE0) {
		n = 3, v = c & 0x0F;
	} else if ((c & 0xF8) == 0xF0) {
		n = 4, v = c & 0x07;
	} else {
		return 0;
	}
	if (len < n)
		return 0;
	for (size_t k = 1; k < n; k++) {
		if ((s[k] & 0xC0) != 0x80)
			return 0;
		v = (v << 6) | (s[k] & 0x3F);
	}
	if ((n == 2 && v < 0x80) || (n == 3 && v < 0x800) ||
	    (n == 4 && v < 0x10000) || v > 0x10FFFF ||
	    (v >= 0xD800 && v <= 0xDFFF))
		return 0;
	*cp = v;
	return n;
}

/* Code points above ASCII that a terminal acts on or that reorder or break
 * the line a person reads: C1 controls (U+0085 NEL, U+009B CSI ...), the
 * bidi embeddings, overrides and isolates, the implicit direction marks,
 * and the Unicode line and paragraph separators. */
static bool steers_terminal(uint32_t cp)
{
	return (cp >= 0x80 && cp <= 0x9F) || cp == 0x061C ||
	       cp == 0x200E || cp == 0x200F || cp == 0x2028 || cp == 0x2029 ||
	       (cp >= 0x202A && cp <= 0x202E) || (cp >= 0x2066 && cp <= 0x2069);
}

/* --- text ------------------------------------------------------------ */

/* Calls emit for each piece of the escaped text; shared by the printer
 * and the string builder so both escape exactly alike. */
typedef void (*emit_fn)(void *sink, const char *bytes, size_t n);

static void escape_text(const char *str, emit_fn emit, void *sink)
{
	const unsigned char *s = (const unsigned char *)str;
	size_t len = str ? strlen(str) : 0, i = 0;
	char buf[16];

	while (i < len) {
		uint32_t cp;
		size_t n = utf8_next(s + i, len - i, &cp);

		if (n == 0) {
			snprintf(buf, sizeof buf, "\\x%02x", s[i]);
			emit(sink, buf, 4);
			i++;
			continue;
		}
		if (cp == '\\') {
			emit(sink, "\\\\", 2);
		} else if (cp == '\n') {
			emit(sink, "\\n", 2);
		} else if (cp == '\t') {
			emit(sink, "\\t", 2);
		} else if (cp == '\r') {
			emit(sink, "\\r", 2);
		} else if (cp < 0x20 || cp == 0x7F) {
			snprintf(buf, sizeof buf, "\\x%02x", (unsigned)cp);
			emit(sink, buf, 4);
		} else if (steers_terminal(cp)) {
			snprintf(buf, sizeof buf, "\\u%04x", (unsigned)cp);
			emit(sink, buf, 6);
		} else {
			emit(sink, (const char *)s + i, n);
		}
		i += n;
	}
}

static void emit_to_file(void *sink, const char *bytes, size_t n)
{
	fwrite(bytes, 1, n, sink);
}

void desk_print_text(FILE *out, const char *s)
{
	escape_text(s, emit_to_file, out);
}

struct growing_string {
	char *buf;
	size_t len, cap;
	bool failed;
};

static void emit_to_string(void *sink, const char *bytes, size_t n)
{
	struct growing_string *g = sink;

	if (g->failed)
		return;
	if (g->len + n + 1 > g->cap) {
		size_t cap = (g->len + n + 1) * 2;
		char *p = realloc(g->buf, cap);
		if (!p) {
			g->failed = true;
			return;
		}
		g->buf = p;
		g->cap = cap;
	}
	memcpy(g->buf + g->len, bytes, n);
	g->len += n;
	g->buf[g->len] = '\0';
}

char *desk_escape_text(const char *s)
{
	struct growing_string g = { 0 };

	emit_to_string(&g, "", 0); /* so an empty input gives "" */
	escape_text(s, emit_to_string, &g);
	if (g.failed) {
		free(g.buf);
		return NULL;
	}
	return g.buf;
}

void desk_print_roles(FILE *out, char *const *roles, size_t n)
{
	if (n == 0)
		fputs("(none)", out);
	for (size_t i = 0; i < n; i++) {
		if (i)
			fputs(", ", out);
		desk_print_text(out, roles[i]);
	}
}

void desk_format_time(char *buf, size_t size, int64_t unix_ms)
{
	time_t t = (time_t)(unix_ms / 1000);
	struct tm tm;

	if (unix_ms <= 0 || !localtime_r(&t, &tm) ||
	    strftime(buf, size, "%Y-%m-%d %H:%M %Z", &tm) == 0)
		snprintf(buf, size, "-");
}

void desk_format_duration(char *buf, size_t size, int64_t seconds)
{
	int64_t h = seconds / 3600, m = (seconds % 3600) / 60;

	if (seconds < 60)
		snprintf(buf, size, "%lld s", (long long)seconds);
	else if (h == 0)
		snprintf(buf, size, "%lld min", (long long)m);
	else if (m == 0)
		snprintf(buf, size, "%lld h", (long long)h);
	else
		snprintf(buf, size, "%lld h %lld min", (long long)h,
			 (long long)m);
}

/* --- tables ---------------------------------------------------------- */

/* Columns on a terminal: one per code point of the escaped text (which is
 * printable by then). Wide CJK characters count as one; good enough for a
 * staff list. */
static size_t display_width(const char *s)
{
	size_t w = 0;

	for (; *s; s++)
		if (((unsigned char)*s & 0xC0) != 0x80)
			w++;
	return w;
}

/* Stores row `r` (0 is the heading) from `columns` string arguments.
 * Returns false, leaving no trace of the row, when memory runs out. */
static bool table_add(struct desk_table *t, size_t r, va_list ap)
{
	size_t base = r * t->columns;

	if (t->failed)
		return false;
	if (r >= t->capacity) {
		size_t cap = t->capacity ? t->capacity * 2 : 8;
		char **cells = realloc(t->cells, cap * t->columns * sizeof *cells);
		if (!cells) {
			t->failed = true;
			return false;
		}
		t->cells = cells;
		t->capacity = cap;
	}
	for (size_t c = 0; c < t->columns; c++) {
		const char *v = va_arg(ap, const char *);
		t->cells[base + c] = desk_escape_text(v ? v : "");
		if (!t->cells[base + c]) {
			while (c-- > 0)
				free(t->cells[base + c]);
			t->failed = true;
			return false;
		}
	}
	return true;
}

void desk_table_init(struct desk_table *t, size_t columns, ...)
{
	va_list ap;

	memset(t, 0, sizeof *t);
	t->columns = columns;
	va_start(ap, columns);
	if (!table_add(t, 0, ap))
		t->columns = 0; /* no heading: print nothing */
	va_end(ap);
}

void desk_table_row(struct desk_table *t, ...)
{
	va_list ap;

	if (t->columns == 0)
		return;
	va_start(ap, t);
	if (table_add(t, t->rows + 1, ap))
		t->rows++;
	va_end(ap);
}

void desk_table_print(const struct desk_table *t, FILE *out)
{
	size_t width[32] = { 0 };
	size_t columns = t->columns < 32 ? t->columns : 32;

	if (!t->cells || t->columns == 0)
		return;
	for (size_t r = 0; r <= t->rows; r++)
		for (size_t c = 0; c < columns; c++) {
			const char *cell = t->cells[r * t->columns + c];
			size_t w = cell ? display_width(cell) : 0;
			if (w > width[c])
				width[c] = w;
		}
	for (size_t r = 0; r <= t->rows; r++) {
		for (size_t c = 0; c < columns; c++) {
			const char *cell = t->cells[r * t->columns + c];
			bool last = c + 1 == columns;

			if (!cell)
				cell = "";
			fputs(cell, out);
			if (!last)
				fprintf(out, "%*s", (int)(width[c] - display_width(cell) + 2),
					"");
		}
		fputc('\n', out);
	}
	if (t->failed)
		fputs("(out of memory: list cut short)\n", out);
}

void desk_table_free(struct desk_table *t)
{
	if (t->cells && t->columns)
		for (size_t i = 0; i < (t->rows + 1) * t->columns; i++)
			free(t->cells[i]);
	free(t->cells);
	memset(t, 0, sizeof *t);
}

/* --- JSON ------------------------------------------------------------ */

void json_write_string(FILE *out, const char *str)
{
	const unsigned char *s = (const unsigned char *)(str ? str : "");
	size_t len = strlen((const char *)s), i = 0;

	fputc('"', out);
	while (i < len) {
		uint32_t cp;
		size_t n = utf8_next(s + i, len - i, &cp);

		if (n == 0) {
			/* JSON must be UTF-8: a malformed byte becomes U+FFFD. */
			fputs("\\ufffd", out);
			i++;
			continue;
		}
		switch (cp) {
		case '"': fputs("\\\"", out); break;
		case '\\': fputs("\\\\", out); break;
		case '\n': fputs("\\n", out); break;
		case '\r': fputs("\\r", out); break;
		case '\t': fputs("\\t", out); break;
		case '\b': fputs("\\b", out); break;
		case '\f': fputs("\\f", out); break;
		default:
			if (cp < 0x20 || cp == 0x7F || steers_terminal(cp))
				fprintf(out, "\\u%04x", (unsigned)cp);
			else
				fwrite(s + i, 1, n, out);
		}
		i += n;
	}
	fputc('"', out);
}

/* Writes the comma (when needed) and the key of the next member. */
static void json_member(struct desk_json *j, const char *key)
{
	if (!j->first[j->depth])
		fputc(',', j->out);
	j->first[j->depth] = false;
	if (key) {
		json_write_string(j->out, key);
		fputc(':', j->out);
	}
}

static void json_open(struct desk_json *j, const char *key, char bracket)
{
	json_member(j, key);
	fputc(bracket, j->out);
	if (j->depth + 1 < DESK_JSON_MAX_DEPTH)
		j->depth++;
	j->first[j->depth] = true;
}

static void json_close(struct desk_json *j, char bracket)
{
	fputc(bracket, j->out);
	if (j->depth > 0)
		j->depth--;
}

void json_begin(struct desk_json *j, FILE *out)
{
	memset(j, 0, sizeof *j);
	j->out = out;
	fputc('{', out);
	j->first[0] = true;
}

void json_end(struct desk_json *j)
{
	fputs("}\n", j->out);
	fflush(j->out);
}

void json_object(struct desk_json *j, const char *key)
{
	json_open(j, key, '{');
}

void json_object_end(struct desk_json *j)
{
	json_close(j, '}');
}

void json_array(struct desk_json *j, const char *key)
{
	json_open(j, key, '[');
}

void json_array_end(struct desk_json *j)
{
	json_close(j, ']');
}

void json_string(struct desk_json *j, const char *key, const char *value)
{
	json_member(j, key);
	json_write_string(j->out, value);
}

void json_int(struct desk_json *j, const char *key, int64_t value)
{
	json_member(j, key);
	fprintf(j->out, "%lld", (long long)value);
}

void json_uint(struct desk_json *j, const char *key, uint64_t value)
{
	json_member(j, key);
	fprintf(j->out, "%llu", (unsigned long long)value);
}

void json_bool(struct desk_json *j, const char *key, bool value)
{
	json_member(j, key);
	fputs(value ? "true" : "false", j->out);
}

void json_fixed(struct desk_json *j, const char *key, double value,
		int decimals)
{
	json_member(j, key);
	fprintf(j->out, "%.*f", decimals, value);
}

void json_null(struct desk_json *j, const char *key)
{
	json_member(j, key);
	fputs("null", j->out);
}

void json_staff_summary(struct desk_json *j, const char *key,
			const Frontdesk__V1__StaffSummary *staff)
{
	if (!staff) {
		json_null(j, key);
		return;
	}
	json_object(j, key);
	json_int(j, "id", staff->id);
	json_string(j, "username", staff->username);
	json_string(j, "display_name", staff->display_name);
	json_string_list(j, "roles", staff->roles, staff->n_roles);
	json_object_end(j);
}

void json_string_list(struct desk_json *j, const char *key,
		      char *const *values, size_t n)
{
	json_array(j, key);
	for (size_t i = 0; i < n; i++)
		json_string(j, NULL, values[i]);
	json_array_end(j);
}

/* --- errors ---------------------------------------------------------- */

static const char *default_hint(int code, const char *role,
				const char *server, char *buf, size_t size)
{
	switch (code) {
	case FD_UNAUTHENTICATED:
		return "log in again with `desk login --user NAME`";
	case FD_PERMISSION_DENIED:
		snprintf(buf, size, "this needs the %s role; ask an admin",
			 role ? role : "right");
		return buf;
	case FD_UNAVAILABLE:
		snprintf(buf, size,
			 "is frontdeskd running at %s (and its database up)? "
			 "set FRONTDESK_SERVER or --server",
			 server ? server : "the server URL");
		return buf;
	case FD_DEADLINE_EXCEEDED:
		return "the server did not answer in time; try again, or allow "
		       "more with --timeout MS";
	case FD_ABORTED:
	case FD_RESOURCE_EXHAUSTED:
		return "the server is busy; try again in a moment";
	case FD_INVALID_ARGUMENT:
	case FD_OUT_OF_RANGE:
		return "check the values given; `--help` shows what each flag takes";
	case FD_ALREADY_EXISTS:
		return "pick another name, or use the existing record";
	case FD_FAILED_PRECONDITION:
		return "the record is not in a state that allows this";
	case FD_NOT_FOUND:
		return "check the id or code; the list commands show what exists";
	case FD_UNIMPLEMENTED:
		return "the server does not know this command; is it older than "
		       "this desk?";
	default:
		return "this looks like a fault in the server or the desk; the "
		       "server log has details";
	}
}

int desk_report(bool json, const char *action, const fd_status *st,
		const char *hint, const char *role, const char *server)
{
	char buf[512];

	if (!hint)
		hint = default_hint(st->code, role, server, buf, sizeof buf);
	fflush(stdout);
	fprintf(stderr, "desk: %s: ", action);
	desk_print_text(stderr, st->message[0] ? st->message : "failed");
	fprintf(stderr, " (%s)\n", fd_code_name(st->code));
	fprintf(stderr, "hint: %s\n", hint);
	if (json) {
		struct desk_json j;

		json_begin(&j, stdout);
		json_object(&j, "error");
		json_int(&j, "code", st->code);
		json_string(&j, "name", fd_code_name(st->code));
		json_string(&j, "message", st->message);
		json_object_end(&j);
		json_end(&j);
	}
	return desk_exit_code(st->code);
}
