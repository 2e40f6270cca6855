/*
 * `desk console`: typed input. A field is one line of text that keeps
 * printable characters only (so a pasted escape sequence cannot reach a
 * request); a prompt is one field under a label on the status line; a form
 * is a column of labelled fields for register, edit, a new policy or a
 * copay. List selection moves live here too, shared by every view.
 */
#include <curses.h>
#include <limits.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <wchar.h>

#include "console.h"

void console_field_clear(struct console_field *f)
{
	sodium_memzero(f->text, sizeof f->text);
	f->len = 0;
}

void console_field_set(struct console_field *f, const char *s)
{
	snprintf(f->text, sizeof f->text, "%s", s ? s : "");
	f->len = strlen(f->text);
}

/* Appends one typed character (as UTF-8); printable ones only. */
static void field_type(struct console_field *f, wint_t ch)
{
	char mb[MB_LEN_MAX];
	mbstate_t ps;
	size_t n;

	if (ch < 0x20 || ch == 0x7f || (ch >= 0x80 && ch < 0xa0))
		return;
	memset(&ps, 0, sizeof ps);
	n = wcrtomb(mb, (wchar_t)ch, &ps);
	if (n == (size_t)-1 || f->len + n >= sizeof f->text)
		return;
	memcpy(f->text + f->len, mb, n);
	f->len += n;
	f->text[f->len] = '\0';
}

/* Removes the last character, whole (UTF-8 continuation bytes too). */
static void field_backspace(struct console_field *f)
{
	while (f->len > 0) {
		unsigned char b = (unsigned char)f->text[--f->len];

		if ((b & 0xc0) != 0x80)
			break;
	}
	f->text[f->len] = '\0';
}

bool console_field_edit(struct console_field *f, unsigned ch, bool is_key)
{
	if ((is_key && ch == KEY_BACKSPACE) || (!is_key && (ch == 0x7f || ch == 8))) {
		field_backspace(f);
		return true;
	}
	if (!is_key && ch == 0x15) { /* ^U clears the line */
		console_field_clear(f);
		return true;
	}
	if (!is_key && ch >= 0x20) {
		field_type(f, (wint_t)ch);
		return true;
	}
	return false;
}

bool console_is_enter(int ch, bool is_key)
{
	return (is_key && ch == KEY_ENTER) || (!is_key && (ch == '\n' || ch == '\r'));
}

bool console_is_move_key(int ch, bool is_key)
{
	return is_key && (ch == KEY_UP || ch == KEY_DOWN || ch == KEY_PPAGE ||
			  ch == KEY_NPAGE);
}

void console_move_selection(size_t *sel, size_t n, int ch)
{
	if (ch == KEY_UP && *sel > 0)
		(*sel)--;
	else if (ch == KEY_DOWN && *sel + 1 < n)
		(*sel)++;
	else if (ch == KEY_PPAGE)
		*sel = *sel > 10 ? *sel - 10 : 0;
	else if (ch == KEY_NPAGE && n)
		*sel = *sel + 10 < n ? *sel + 10 : n - 1;
}

bool console_parse_cents(const char *text, int64_t *cents)
{
	long long whole = 0, part = 0;
	int digits = 0;
	const char *p = text;

	if (!*p)
		return false;
	for (; *p >= '0' && *p <= '9'; p++) {
		whole = whole * 10 + (*p - '0');
		if (whole > 10000000)
			return false;
	}
	if (*p == '.')
		for (p++; *p >= '0' && *p <= '9' && digits < 2; p++, digits++)
			part = part * 10 + (*p - '0');
	if (*p || p == text)
		return false;
	if (digits == 1)
		part *= 10;
	*cents = whole * 100 + part;
	return true;
}

/* --- prompts ---------------------------------------------------------- */

void console_open_prompt(struct console *c, const char *label,
			 console_prompt_done done)
{
	c->prompt.active = true;
	snprintf(c->prompt.label, sizeof c->prompt.label, "%s", label);
	c->prompt.input.len = 0;
	c->prompt.input.text[0] = '\0';
	c->prompt.done = done;
	c->prompt.quick = NULL;
	c->prompt.n_quick = 0;
	c->prompt.about = 0;
}

void console_prompt_key(struct console *c, unsigned ch, bool is_key)
{
	if (!is_key && ch == 27) {
		c->prompt.active = false;
		console_set_status(c, "cancelled");
		return;
	}
	if (console_is_enter((int)ch, is_key)) {
		char text[CONSOLE_FIELD_MAX];

		c->prompt.active = false;
		snprintf(text, sizeof text, "%s", c->prompt.input.text);
		c->prompt.done(c, text);
		return;
	}
	if (!is_key && !c->prompt.input.len && ch >= '1' &&
	    ch < '1' + (unsigned)c->prompt.n_quick) {
		c->prompt.active = false;
		c->prompt.done(c, c->prompt.quick[ch - '1']);
		return;
	}
	console_field_edit(&c->prompt.input, ch, is_key);
}

/* --- forms ------------------------------------------------------------ */

void console_form_open(struct console *c, const char *title,
		       void (*submit)(struct console *c), int64_t about)
{
	memset(&c->form, 0, sizeof c->form);
	c->form.open = true;
	snprintf(c->form.title, sizeof c->form.title, "%s", title);
	c->form.submit = submit;
	c->form.about = about;
}

void console_form_add(struct console *c, const char *label, const char *hint,
		      const char *value)
{
	struct console_form_field *f;

	if (c->form.n >= CONSOLE_FORM_MAX)
		return;
	f = &c->form.fields[c->form.n++];
	snprintf(f->label, sizeof f->label, "%s", label);
	snprintf(f->hint, sizeof f->hint, "%s", hint ? hint : "");
	console_field_set(&f->value, value);
}

const char *console_form_value(const struct console *c, size_t i)
{
	return i < c->form.n ? c->form.fields[i].value.text : "";
}

void console_form_key(struct console *c, unsigned ch, bool is_key)
{
	struct console_form *f = &c->form;

	if (!is_key && ch == 27) {
		f->open = false;
		console_set_status(c, "%s: closed, nothing sent", f->title);
		return;
	}
	/* ^S sends from any field; Enter on the last one does too. */
	if ((!is_key && ch == 0x13) ||
	    (console_is_enter((int)ch, is_key) && f->focus + 1 >= f->n)) {
		f->submit(c);
		return;
	}
	if (console_is_enter((int)ch, is_key) || (!is_key && ch == '\t') ||
	    (is_key && ch == KEY_DOWN)) {
		f->focus = (f->focus + 1) % f->n;
		return;
	}
	if (is_key && (ch == KEY_UP || ch == KEY_BTAB)) {
		f->focus = (f->focus + f->n - 1) % f->n;
		return;
	}
	console_field_edit(&f->fields[f->focus].value, ch, is_key);
}
