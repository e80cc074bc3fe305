/*
 * json.c - see json.h.
 */
#include "json.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

/*
 * Writer. need_comma[] holds two flags per open container: whether it has
 * an element yet (so the next one needs a comma, and the close needs its
 * own line) and whether it is an object (so misplaced keys are caught).
 */
#define JW_SEEN 1
#define JW_OBJ  2

void jw_init(struct jw *w, FILE *f)
{
	memset(w, 0, sizeof(*w));
	w->f = f;
}

/* Past JW_MAX_DEPTH err is already set; the clamp only keeps us in bounds. */
static int *json_slot(struct jw *w)
{
	return &w->need_comma[w->depth < JW_MAX_DEPTH ? w->depth : JW_MAX_DEPTH];
}

/* Length of the well-formed UTF-8 sequence at p (at most n bytes), or 0
 * when it is not one: a stray continuation byte, an overlong form, a
 * surrogate, beyond U+10FFFF, or cut short (RFC 3629, section 4). */
static size_t json_utf8_len(const unsigned char *p, size_t n)
{
	unsigned char c = p[0], lo = 0x80, hi = 0xBF;
	size_t len;

	if (c < 0x80)
		return 1;
	if (c >= 0xC2 && c <= 0xDF)
		len = 2;
	else if (c >= 0xE0 && c <= 0xEF)
		len = 3;
	else if (c >= 0xF0 && c <= 0xF4)
		len = 4;
	else
		return 0;
	if (c == 0xE0)
		lo = 0xA0;
	else if (c == 0xED)
		hi = 0x9F;
	else if (c == 0xF0)
		lo = 0x90;
	else if (c == 0xF4)
		hi = 0x8F;
	if (n < len || p[1] < lo || p[1] > hi)
		return 0;
	for (size_t k = 2; k < len; k++)
		if (p[k] < 0x80 || p[k] > 0xBF)
			return 0;
	return len;
}

/* Whatever the bytes (a peer's HELLO name is anything at all), the output
 * is a valid JSON string: quotes, backslashes and control characters
 * escaped, well-formed UTF-8 passed through, and each byte that is not
 * part of it - and NUL - replaced by U+FFFD, as a decoder would show it. */
static void json_wstr(FILE *f, const char *str, size_t n)
{
	const unsigned char *c = (const unsigned char *)str;

	fputc('"', f);
	for (size_t i = 0; i < n;) {
		size_t len = json_utf8_len(c + i, n - i);
		/* NUL too: "\u0000" is valid JSON, but readers that keep
		 * strings NUL-terminated (ours, many in C) refuse or cut it. */
		if (len == 0 || c[i] == '\0') {
			fputs("\\ufffd", f);
			i++;
		} else if (len > 1) {
			fwrite(c + i, 1, len, f);
			i += len;
		} else {
			if (c[i] == '"' || c[i] == '\\')
				fprintf(f, "\\%c", c[i]);
			else if (c[i] < 0x20 || c[i] == 0x7f)
				fprintf(f, "\\u%04x", c[i]);
			else
				fputc(c[i], f);
			i++;
		}
	}
	fputc('"', f);
}

static void json_pre(struct jw *w, const char *key)
{
	int *s = json_slot(w);

	if (w->depth > 0) {
		if (*s & JW_SEEN)
			fputc(',', w->f);
		fprintf(w->f, "\n%*s", 2 * w->depth, "");
	} else if (*s & JW_SEEN) {
		w->err = 1;     /* a second top-level value is not a document */
	}
	*s |= JW_SEEN;
	if (*s & JW_OBJ) {
		if (!key) {
			w->err = 1;
			key = "";
		}
		json_wstr(w->f, key, strlen(key));
		fputs(": ", w->f);
	} else if (key) {
		w->err = 1;
	}
}

static void json_open(struct jw *w, const char *key, int c, int flags)
{
	json_pre(w, key);
	fputc(c, w->f);
	if (w->depth >= JW_MAX_DEPTH)
		w->err = 1;
	w->depth++;
	*json_slot(w) = flags;
}

static void json_close(struct jw *w, int c, int flags)
{
	if (w->depth == 0) {
		w->err = 1;
		return;
	}
	int s = *json_slot(w);
	if ((s & JW_OBJ) != flags)
		w->err = 1;
	w->depth--;
	if (s & JW_SEEN)        /* empty containers stay on one line: {} [] */
		fprintf(w->f, "\n%*s", 2 * w->depth, "");
	fputc(c, w->f);
}

void jw_obj_begin(struct jw *w, const char *key) { json_open(w, key, '{', JW_OBJ); }
void jw_obj_end(struct jw *w)                    { json_close(w, '}', JW_OBJ); }
void jw_arr_begin(struct jw *w, const char *key) { json_open(w, key, '[', 0); }
void jw_arr_end(struct jw *w)                    { json_close(w, ']', 0); }

void jw_str(struct jw *w, const char *key, const char *val)
{
	json_pre(w, key);
	if (val)
		json_wstr(w->f, val, strlen(val));
	else
		fputs("null", w->f);
}

void jw_strn(struct jw *w, const char *key, const char *val, size_t len)
{
	json_pre(w, key);
	json_wstr(w->f, val, len);
}

void jw_num(struct jw *w, const char *key, double v)
{
	json_pre(w, key);
	if (isfinite(v))
		fprintf(w->f, "%.6g", v);
	else
		fputs("null", w->f);    /* JSON has no spelling for NaN or Inf */
}

void jw_u64(struct jw *w, const char *key, uint64_t v) { json_pre(w, key); fprintf(w->f, "%llu", (unsigned long long)v); }
void jw_i64(struct jw *w, const char *key, int64_t v)  { json_pre(w, key); fprintf(w->f, "%lld", (long long)v); }
void jw_bool(struct jw *w, const char *key, int v)     { json_pre(w, key); fputs(v ? "true" : "false", w->f); }
void jw_null(struct jw *w, const char *key)            { json_pre(w, key); fputs("null", w->f); }

int jw_finish(struct jw *w)
{
	if (w->depth != 0)
		w->err = 1;
	fputc('\n', w->f);
	/* A full disk often shows only at the flush. */
	if (fflush(w->f) != 0 || ferror(w->f))
		return -1;
	return w->err ? -1 : 0;
}
