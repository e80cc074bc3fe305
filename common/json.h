/*
 * json.h - a small streaming JSON writer with no dependencies.
 *
 * The server and the client write their run summaries with it (no tree,
 * no allocation, so it works even when memory is what ran out). The
 * reader that the tests and `daqmux compare` use lives in the harness
 * layer (harness/jsonread.h): the server never parses JSON.
 *
 * Writer misuse (a key inside an array, a missing key inside an object,
 * unbalanced begin/end, nesting deeper than JW_MAX_DEPTH) is reported the
 * same way as a failed write: jw_finish returns -1, so a broken summary is
 * never mistaken for a good one.
 */
#ifndef DAQMUX_JSON_H
#define DAQMUX_JSON_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define JW_MAX_DEPTH    31      /* need_comma[0] is the top level */

/* Writer: streaming, pretty-printed with 2-space indent, to a FILE*. */
struct jw { FILE *f; int depth; int need_comma[32]; int err; };
void jw_init(struct jw *w, FILE *f);
void jw_obj_begin(struct jw *w, const char *key);   /* key NULL at top level or inside arrays */
void jw_obj_end(struct jw *w);
void jw_arr_begin(struct jw *w, const char *key);
void jw_arr_end(struct jw *w);
void jw_str(struct jw *w, const char *key, const char *val); /* NULL val -> null */
/* len bytes of anything (NULs too): the output is valid JSON whatever
 * they are - escaped, and NUL and bytes that are not UTF-8 replaced by
 * U+FFFD. */
void jw_strn(struct jw *w, const char *key, const char *val, size_t len);
void jw_u64(struct jw *w, const char *key, uint64_t v);
void jw_i64(struct jw *w, const char *key, int64_t v);
void jw_num(struct jw *w, const char *key, double v);      /* %.6g; NaN/Inf -> null */
void jw_bool(struct jw *w, const char *key, int v);
void jw_null(struct jw *w, const char *key);
int  jw_finish(struct jw *w);  /* final newline + flush; 0, or -1 on write error or misuse */

#endif
