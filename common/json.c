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

static void json_wstr(FILE *f, const char *s)
{
	fputc('"', f);
	for (const unsigned char *c = (const unsigned char *)s; *c; c++) {
		if (*c == '"' || *c == '\\')
			fprintf(f, "\\%c", *c);
		else if (*c < 0x20)
			fprintf(f, "\\u%04x", *c);
		else
			fputc(*c, f);   /* UTF-8 passes through untouched */
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
		json_wstr(w->f, key);
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
		json_wstr(w->f, val);
	else
		fputs("null", w->f);
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
