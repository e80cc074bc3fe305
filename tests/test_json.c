/*
 * test_json.c - the JSON writer (common/json.c) and reader
 * (harness/jsonread.c), each against the other and against hand-written
 * text.
 *
 * Writer: escaping of quotes, backslashes and control characters, UTF-8
 * passed through, nesting and empty containers, NaN and Inf as null,
 * and every kind of misuse (a key inside an array, a missing key inside
 * an object, unbalanced or mismatched ends, two top-level values,
 * nesting past JW_MAX_DEPTH) making jw_finish return -1; a write error
 * (a full stream) too.
 * Reader: paths ("a.b[2].c"), errors with line:col, the depth limit,
 * u64 exactness above 2^53, escapes and surrogate pairs, and a NUL byte
 * in a file being an error rather than the end of the document.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <unistd.h>

#include <cmocka.h>

#include "json.h"
#include "jsonread.h"

/* ---- helpers ------------------------------------------------------------ */

/* A writer into memory; jw_done finishes it and returns the text
 * (malloc'ed) with jw_finish's result in *rc. */
struct mem {
	char *buf;
	size_t len;
	FILE *f;
	struct jw w;
};

static void mem_open(struct mem *m)
{
	m->buf = NULL;
	m->len = 0;
	m->f = open_memstream(&m->buf, &m->len);
	assert_non_null(m->f);
	jw_init(&m->w, m->f);
}

static char *mem_done(struct mem *m, int *rc)
{
	*rc = jw_finish(&m->w);
	assert_int_equal(fclose(m->f), 0);
	return m->buf;
}

static struct json *parse_ok(const char *text)
{
	char err[200];
	struct json *j = json_parse(text, err, sizeof(err));
	if (!j)
		fail_msg("parse failed: %s\n--- text:\n%s", err, text);
	return j;
}

/* Parse text that must fail; the error must start with "line:col: ". */
static void parse_bad(const char *text, const char *want_at, const char *want_what)
{
	char err[200];
	struct json *j = json_parse(text, err, sizeof(err));
	if (j) {
		json_free(j);
		fail_msg("\"%s\" parsed; expected an error at %s", text, want_at);
	}
	if (strncmp(err, want_at, strlen(want_at)) != 0 || err[strlen(want_at)] != ':')
		fail_msg("\"%s\": error \"%s\", expected it at %s", text, err, want_at);
	if (want_what && !strstr(err, want_what))
		fail_msg("\"%s\": error \"%s\", expected it to say \"%s\"", text, err, want_what);
}

/* ---- the writer ---------------------------------------------------------- */

static void test_writer_round_trip(void **state)
{
	(void)state;
	struct mem m;
	int rc;

	mem_open(&m);
	jw_obj_begin(&m.w, NULL);
	jw_str(&m.w, "s", "plain");
	jw_u64(&m.w, "big", UINT64_MAX);
	jw_i64(&m.w, "neg", INT64_MIN);
	jw_num(&m.w, "half", 0.5);
	jw_bool(&m.w, "yes", 1);
	jw_bool(&m.w, "no", 0);
	jw_null(&m.w, "nothing");
	jw_str(&m.w, "nullstr", NULL);
	jw_arr_begin(&m.w, "list");
	jw_u64(&m.w, NULL, 1);
	jw_obj_begin(&m.w, NULL);
	jw_arr_begin(&m.w, "inner");
	jw_arr_end(&m.w);
	jw_obj_end(&m.w);
	jw_arr_end(&m.w);
	jw_obj_begin(&m.w, "empty");
	jw_obj_end(&m.w);
	jw_obj_end(&m.w);
	char *text = mem_done(&m, &rc);
	assert_int_equal(rc, 0);

	struct json *j = parse_ok(text);
	assert_string_equal(json_path_str(j, "s", "?"), "plain");
	assert_true(json_path_u64(j, "big", 0) == UINT64_MAX);
	assert_string_equal(json_path(j, "neg")->str, "-9223372036854775808");
	assert_true(json_path_num(j, "half", 0) == 0.5);
	assert_true(json_path(j, "yes")->type == JSON_BOOL && json_path_num(j, "yes", -1) == 1);
	assert_true(json_path_num(j, "no", -1) == 0);
	assert_int_equal(json_path(j, "nothing")->type, JSON_NULL);
	assert_int_equal(json_path(j, "nullstr")->type, JSON_NULL);
	assert_int_equal(json_path(j, "list")->len, 2);
	assert_int_equal(json_path(j, "list[1].inner")->type, JSON_ARR);
	assert_int_equal(json_path(j, "list[1].inner")->len, 0);
	assert_int_equal(json_path(j, "empty")->type, JSON_OBJ);
	/* Empty containers stay on one line. */
	assert_non_null(strstr(text, "\"inner\": []"));
	assert_non_null(strstr(text, "\"empty\": {}"));
	json_free(j);
	free(text);
}

static void test_writer_escapes(void **state)
{
	(void)state;
	/* Every byte from 1 to 0x7f, then UTF-8 ("é", "€", U+1F600). */
	char in[160], *o = in;
	for (int c = 1; c < 0x80; c++)
		*o++ = (char)c;
	strcpy(o, "\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80");
	struct mem m;
	int rc;

	mem_open(&m);
	jw_obj_begin(&m.w, NULL);
	jw_str(&m.w, "key \"with\" \\ and \n", in);
	jw_obj_end(&m.w);
	char *text = mem_done(&m, &rc);
	assert_int_equal(rc, 0);
	/* No raw control character reaches the output (but the layout's newlines). */
	for (const char *c = text; *c; c++)
		if ((unsigned char)*c < 0x20 && *c != '\n')
			fail_msg("raw control character 0x%02x in the output", *c);
	assert_non_null(strstr(text, "\\u0001"));
	assert_non_null(strstr(text, "\\\"with\\\""));

	struct json *j = parse_ok(text);
	assert_int_equal(j->len, 1);
	assert_string_equal(j->child->key, "key \"with\" \\ and \n");
	assert_string_equal(j->child->str, in);
	json_free(j);
	free(text);
}

static void test_writer_nan_inf_are_null(void **state)
{
	(void)state;
	struct mem m;
	int rc;

	mem_open(&m);
	jw_arr_begin(&m.w, NULL);
	jw_num(&m.w, NULL, NAN);
	jw_num(&m.w, NULL, INFINITY);
	jw_num(&m.w, NULL, -INFINITY);
	jw_num(&m.w, NULL, 1e300);
	jw_num(&m.w, NULL, -0.000125);
	jw_arr_end(&m.w);
	char *text = mem_done(&m, &rc);
	assert_int_equal(rc, 0);
	struct json *j = parse_ok(text);
	for (size_t i = 0; i < 3; i++)
		assert_int_equal(json_at(j, i)->type, JSON_NULL);
	assert_true(json_num(json_at(j, 3), 0) == 1e300);
	assert_true(json_num(json_at(j, 4), 0) == -0.000125);
	json_free(j);
	free(text);
}

/* One way of misusing the writer; each must make jw_finish say -1. */
static void misuse_key_in_array(struct jw *w)
{
	jw_arr_begin(w, NULL);
	jw_u64(w, "k", 1);
	jw_arr_end(w);
}
static void misuse_no_key_in_object(struct jw *w)
{
	jw_obj_begin(w, NULL);
	jw_u64(w, NULL, 1);
	jw_obj_end(w);
}
static void misuse_unclosed(struct jw *w)
{
	jw_obj_begin(w, NULL);
	jw_arr_begin(w, "a");
	jw_arr_end(w);
}
static void misuse_extra_end(struct jw *w)
{
	jw_obj_begin(w, NULL);
	jw_obj_end(w);
	jw_obj_end(w);
}
static void misuse_mismatched_end(struct jw *w)
{
	jw_obj_begin(w, NULL);
	jw_arr_end(w);
}
static void misuse_two_documents(struct jw *w)
{
	jw_obj_begin(w, NULL);
	jw_obj_end(w);
	jw_obj_begin(w, NULL);
	jw_obj_end(w);
}
static void misuse_top_level_key(struct jw *w)
{
	jw_u64(w, "k", 1);
}
static void misuse_too_deep(struct jw *w)
{
	for (int i = 0; i <= JW_MAX_DEPTH; i++)
		jw_arr_begin(w, NULL);
	for (int i = 0; i <= JW_MAX_DEPTH; i++)
		jw_arr_end(w);
}

static void test_writer_misuse_fails(void **state)
{
	(void)state;
	static const struct {
		const char *name;
		void (*fn)(struct jw *w);
	} cases[] = {
		{ "a key inside an array", misuse_key_in_array },
		{ "no key inside an object", misuse_no_key_in_object },
		{ "a container left open", misuse_unclosed },
		{ "an end too many", misuse_extra_end },
		{ "] closing {", misuse_mismatched_end },
		{ "two top-level values", misuse_two_documents },
		{ "a key at the top level", misuse_top_level_key },
		{ "nesting past JW_MAX_DEPTH", misuse_too_deep },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct mem m;
		int rc;
		mem_open(&m);
		cases[i].fn(&m.w);
		free(mem_done(&m, &rc));
		if (rc != -1)
			fail_msg("%s: jw_finish returned %d, expected -1", cases[i].name, rc);
	}
}

/* As deep as allowed is fine, and reads back. */
static void test_writer_max_depth_ok(void **state)
{
	(void)state;
	struct mem m;
	int rc;

	mem_open(&m);
	for (int i = 0; i < JW_MAX_DEPTH; i++)
		jw_arr_begin(&m.w, NULL);
	for (int i = 0; i < JW_MAX_DEPTH; i++)
		jw_arr_end(&m.w);
	char *text = mem_done(&m, &rc);
	assert_int_equal(rc, 0);
	json_free(parse_ok(text));
	free(text);
}

static void test_writer_write_error_fails(void **state)
{
	(void)state;
	char small[8];
	FILE *f = fmemopen(small, sizeof(small), "w");
	struct jw w;

	assert_non_null(f);
	setvbuf(f, NULL, _IONBF, 0);    /* the error shows at once, not at the flush */
	jw_init(&w, f);
	jw_obj_begin(&w, NULL);
	jw_str(&w, "a long key", "that does not fit in eight bytes");
	jw_obj_end(&w);
	assert_int_equal(jw_finish(&w), -1);
	fclose(f);
}

/* ---- the reader ------------------------------------------------------------ */

static void test_reader_paths(void **state)
{
	(void)state;
	struct json *j = parse_ok("{\"a\": {\"b\": [10, [20, 21], {\"c\": \"x\"}]}, \"d.e\": 1,"
				  " \"a\": 2}");

	assert_true(json_path_num(j, "a.b[0]", -1) == 10);
	assert_true(json_path_num(j, "a.b[1][1]", -1) == 21);
	assert_string_equal(json_path_str(j, "a.b[2].c", "?"), "x");
	assert_ptr_equal(json_path(j, ""), j);
	/* The first member of a name wins. */
	assert_int_equal(json_path(j, "a")->type, JSON_OBJ);
	/* Missing, out of range, wrong type, malformed: NULL, and the defaults. */
	assert_null(json_path(j, "a.b[3]"));
	assert_null(json_path(j, "a.x"));
	assert_null(json_path(j, "a[0]"));
	assert_null(json_path(j, "a.b.c"));
	assert_null(json_path(j, "a.b[x]"));
	assert_null(json_path(j, "a.b[1"));
	assert_null(json_path(j, "a..b"));
	assert_null(json_path(j, "d.e"));     /* a dot always separates */
	assert_null(json_path(NULL, "a"));
	assert_null(json_path(j, NULL));
	assert_true(json_path_num(j, "nope", 7.5) == 7.5);
	assert_string_equal(json_path_str(j, "a.b[0]", "dflt"), "dflt");
	assert_int_equal(json_path_u64(j, "a.b[2].c", 3), 3);
	json_free(j);
}

static void test_reader_u64_exact(void **state)
{
	(void)state;
	struct json *j = parse_ok("[18446744073709551615, 9007199254740993, 18446744073709551616,"
				  " -1, 1.5, 1e+06, 0, 1e30]");

	assert_true(json_u64(json_at(j, 0), 0) == UINT64_MAX);
	assert_true(json_u64(json_at(j, 1), 0) == 9007199254740993ull);   /* 2^53 + 1 */
	assert_true(json_u64(json_at(j, 2), 7) == 7);                     /* 2^64: too big */
	assert_true(json_u64(json_at(j, 3), 7) == 7);
	assert_true(json_u64(json_at(j, 4), 7) == 7);
	assert_true(json_u64(json_at(j, 5), 7) == 1000000);
	assert_true(json_u64(json_at(j, 6), 7) == 0);
	assert_true(json_u64(json_at(j, 7), 7) == 7);
	json_free(j);
}

static void test_reader_escapes(void **state)
{
	(void)state;
	struct json *j = parse_ok("[\"\\\"\\\\\\/\\b\\f\\n\\r\\t\", \"\\u00e9\\u20AC\", "
				  "\"\\ud83d\\ude00\", \"caf\xc3\xa9\"]");

	assert_string_equal(json_at(j, 0)->str, "\"\\/\b\f\n\r\t");
	assert_string_equal(json_at(j, 1)->str, "\xc3\xa9\xe2\x82\xac");
	assert_string_equal(json_at(j, 2)->str, "\xf0\x9f\x98\x80");
	assert_string_equal(json_at(j, 3)->str, "caf\xc3\xa9");
	json_free(j);
}

static void test_reader_errors_say_where(void **state)
{
	(void)state;
	parse_bad("", "1:1", "end of input");
	parse_bad("{\"a\": 1,\n  \"b\" 2}", "2:7", "expected ':'");
	parse_bad("[1, 2\n\n", "3:1", "expected ','");
	parse_bad("[1] x", "1:5", "trailing garbage");
	parse_bad("{\"a\": tru}", "1:7", "expected a value");
	parse_bad("[01]", "1:3", NULL);
	parse_bad("[1.]", "1:4", "after '.'");
	parse_bad("[1e]", "1:4", "exponent");
	parse_bad("{1: 2}", "1:2", "string key");
	parse_bad("\"abc", "1:1", "unterminated");
	parse_bad("\"a\tb\"", "1:3", "control character");
	parse_bad("\"\\x\"", "1:2", "bad escape");
	parse_bad("\"\\u12g4\"", "1:6", "hex digit");
	parse_bad("\"\\ud83d\"", "1:8", "high surrogate");
	parse_bad("\"\\ude00\"", "1:2", "low surrogate");
	parse_bad("\"\\u0000\"", "1:2", "\\u0000");
}

static void test_reader_depth_limit(void **state)
{
	(void)state;
	char deep[2 * JSON_MAX_DEPTH + 8];
	char *o = deep;

	for (int i = 0; i < JSON_MAX_DEPTH; i++)
		*o++ = '[';
	for (int i = 0; i < JSON_MAX_DEPTH; i++)
		*o++ = ']';
	*o = '\0';
	json_free(parse_ok(deep));      /* as deep as allowed */

	o = deep;
	for (int i = 0; i <= JSON_MAX_DEPTH; i++)
		*o++ = '[';
	*o = '\0';
	char at[16];
	snprintf(at, sizeof(at), "1:%d", JSON_MAX_DEPTH + 1);
	parse_bad(deep, at, "nesting deeper");
}

static void test_reader_nul_in_file(void **state)
{
	(void)state;
	char path[] = "/tmp/daqmux-test-json.XXXXXX", err[300];
	static const char text[] = "{\"a\": \"x\"}\0{\"b\": 1}";
	int fd = mkstemp(path);

	assert_true(fd >= 0);
	assert_int_equal(write(fd, text, sizeof(text) - 1), (ssize_t)(sizeof(text) - 1));
	assert_int_equal(close(fd), 0);
	struct json *j = json_parse_file(path, err, sizeof(err));
	if (j)
		fail_msg("a file with a NUL after the document parsed");
	assert_non_null(strstr(err, path));
	assert_non_null(strstr(err, "1:11"));

	/* And inside a string. */
	static const char text2[] = "[\"a\0b\"]";
	fd = open(path, O_WRONLY | O_TRUNC);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, text2, sizeof(text2) - 1), (ssize_t)(sizeof(text2) - 1));
	assert_int_equal(close(fd), 0);
	assert_null(json_parse_file(path, err, sizeof(err)));
	assert_non_null(strstr(err, "control character"));
	unlink(path);

	assert_null(json_parse_file(path, err, sizeof(err)));   /* gone: ENOENT */
	assert_non_null(strstr(err, "No such file"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_writer_round_trip),
		cmocka_unit_test(test_writer_escapes),
		cmocka_unit_test(test_writer_nan_inf_are_null),
		cmocka_unit_test(test_writer_misuse_fails),
		cmocka_unit_test(test_writer_max_depth_ok),
		cmocka_unit_test(test_writer_write_error_fails),
		cmocka_unit_test(test_reader_paths),
		cmocka_unit_test(test_reader_u64_exact),
		cmocka_unit_test(test_reader_escapes),
		cmocka_unit_test(test_reader_errors_say_where),
		cmocka_unit_test(test_reader_depth_limit),
		cmocka_unit_test(test_reader_nul_in_file),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
