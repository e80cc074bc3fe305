/*
 * json.h - a small JSON writer and reader with no dependencies.
 *
 * The server writes its run summary with the streaming writer (no tree,
 * no allocation, so it works even when memory is what ran out); the tests
 * and `daqmux compare` read that summary back with the tree reader and
 * pick fields out by path ("latency_ns.p50", "sources[3].status").
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
#define JSON_MAX_DEPTH  64      /* deeper input is an error, not a stack overflow */

/* Writer: streaming, pretty-printed with 2-space indent, to a FILE*. */
struct jw { FILE *f; int depth; int need_comma[32]; int err; };
void jw_init(struct jw *w, FILE *f);
void jw_obj_begin(struct jw *w, const char *key);   /* key NULL at top level or inside arrays */
void jw_obj_end(struct jw *w);
void jw_arr_begin(struct jw *w, const char *key);
void jw_arr_end(struct jw *w);
void jw_str(struct jw *w, const char *key, const char *val); /* NULL val -> null */
void jw_u64(struct jw *w, const char *key, uint64_t v);
void jw_i64(struct jw *w, const char *key, int64_t v);
void jw_num(struct jw *w, const char *key, double v);      /* %.6g; NaN/Inf -> null */
void jw_bool(struct jw *w, const char *key, int v);
void jw_null(struct jw *w, const char *key);
int  jw_finish(struct jw *w);  /* final newline + flush; 0, or -1 on write error or misuse */

/* Reader: parses a whole document into a tree. */
enum json_type { JSON_NULL, JSON_BOOL, JSON_NUM, JSON_STR, JSON_ARR, JSON_OBJ };
struct json {
	enum json_type type;
	char *key;            /* member name when inside an object, else NULL */
	char *str;            /* JSON_STR: unescaped, NUL-terminated; JSON_NUM: the number's original text */
	double num;           /* JSON_NUM, JSON_BOOL (0/1) */
	struct json *child;   /* first element/member of ARR/OBJ */
	struct json *next;    /* next sibling */
	size_t len;           /* number of children for ARR/OBJ */
};

/* NULL on error, with "line:col: what" in err (err may be NULL). */
struct json *json_parse(const char *text, char *err, size_t errlen);
struct json *json_parse_file(const char *path, char *err, size_t errlen);
void json_free(struct json *j);

/* Lookups take and return NULL freely, so they chain without checks. */
const struct json *json_get(const struct json *obj, const char *key);    /* first member named key */
const struct json *json_at(const struct json *arr, size_t i);
/* "latency_ns.p50", "sources[3].status", "a.b[0][1].c"; "" is root. */
const struct json *json_path(const struct json *root, const char *path);
double      json_num(const struct json *j, double dflt);   /* dflt unless NUM/BOOL */
uint64_t    json_u64(const struct json *j, uint64_t dflt); /* exact to 2^64-1; dflt unless a non-negative integer */
const char *json_str(const struct json *j, const char *dflt);
double      json_path_num(const struct json *root, const char *path, double dflt);
uint64_t    json_path_u64(const struct json *root, const char *path, uint64_t dflt);
const char *json_path_str(const struct json *root, const char *path, const char *dflt);

#endif
