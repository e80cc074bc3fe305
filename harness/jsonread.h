/*
 * jsonread.h - a small JSON reader for the harness: the tests and
 * `daqmux compare` read the JSON that the server and the client wrote and
 * pick fields out by path ("latency_ns.p50", "sources[3].status").
 * Part of the harness layer: the server binary's core never parses JSON.
 */
#ifndef DAQMUX_JSONREAD_H
#define DAQMUX_JSONREAD_H

#include <stddef.h>
#include <stdint.h>

#define JSON_MAX_DEPTH  64      /* deeper input is an error, not a stack overflow */

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
