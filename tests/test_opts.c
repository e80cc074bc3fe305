/*
 * test_opts.c - the command lines.
 *
 * Three levels:
 *  - the value parsers of common/util.c: one strict grammar (the whole
 *    string, decimal digits, no sign, space, hex or exponent) and a range,
 *    with a message naming the option and the range;
 *  - each subcommand's option parser, called directly (they return
 *    instead of exiting): the values of issue 11 item 13 are refused with
 *    the option and the accepted range named, -h/--help everywhere, output
 *    files checked at once;
 *  - the real binary: exit status 2 and the message before anything
 *    starts (no "listening on"), exit 0 and the usage for -h and --help
 *    of every subcommand, --version.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <netinet/in.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "client_int.h"
#include "server.h"
#include "server_main.h"
#include "support.h"
#include "util.h"
#include "version.h"

/* ---- what a call printed --------------------------------------------- */

static char said[8192];      /* its stderr */
static char printed[32768];  /* its stdout */

struct capture {
	FILE *out, *err;
	int saved_out, saved_err;
};

static void capture_begin(struct capture *c)
{
	fflush(stdout);
	fflush(stderr);
	c->out = tmpfile();
	c->err = tmpfile();
	assert_non_null(c->out);
	assert_non_null(c->err);
	c->saved_out = dup(STDOUT_FILENO);
	c->saved_err = dup(STDERR_FILENO);
	assert_true(c->saved_out >= 0 && c->saved_err >= 0);
	assert_true(dup2(fileno(c->out), STDOUT_FILENO) >= 0);
	assert_true(dup2(fileno(c->err), STDERR_FILENO) >= 0);
}

static void capture_slurp(FILE *f, char *buf, size_t len)
{
	rewind(f);
	size_t n = fread(buf, 1, len - 1, f);
	buf[n] = '\0';
	fclose(f);
}

static void capture_end(struct capture *c)
{
	fflush(stdout);
	fflush(stderr);
	assert_true(dup2(c->saved_out, STDOUT_FILENO) >= 0);
	assert_true(dup2(c->saved_err, STDERR_FILENO) >= 0);
	close(c->saved_out);
	close(c->saved_err);
	capture_slurp(c->out, printed, sizeof(printed));
	capture_slurp(c->err, said, sizeof(said));
}

#define expect_said(needle)    expect_in(said, "stderr", (needle), __LINE__)
#define expect_printed(needle) expect_in(printed, "stdout", (needle), __LINE__)

static void expect_in(const char *text, const char *what, const char *needle, int line)
{
	if (!strstr(text, needle))
		fail_msg("line %d: expected \"%s\" in %s, which is:\n%s", line, needle, what, text);
}

/* ---- argument vectors ---------------------------------------------------- */

/* Writable copies: getopt permutes argv and the client's parsers write
 * into ID:VALUE words while they read them. */
#define MAX_ARGS 16
struct args {
	int argc;
	char *argv[MAX_ARGS + 1];
	char store[2048];
};

static void args_fill(struct args *a, const char *cmd, const char *const *words)
{
	size_t used = 0;
	a->argc = 0;
	for (const char *w = cmd; w; w = words[a->argc - 1]) {
		size_t n = strlen(w) + 1;
		assert_true(a->argc < MAX_ARGS && used + n <= sizeof(a->store));
		a->argv[a->argc++] = memcpy(a->store + used, w, n);
		used += n;
	}
	a->argv[a->argc] = NULL;
}

/* The words up to NULL, as an array (at most MAX_ARGS - 1). */
#define WORDS(...) ((const char *const[]){ __VA_ARGS__, NULL })

static int server_parse(struct server_opts *o, const char *const *words)
{
	struct args a;
	struct capture c;
	args_fill(&a, "server", words);
	capture_begin(&c);
	int r = server_opts_parse(o, a.argc, a.argv);
	capture_end(&c);
	return r;
}

static int client_parse(struct client_opts *o, const char *const *words)
{
	struct args a;
	struct capture c;
	args_fill(&a, "client", words);
	capture_begin(&c);
	int r = client_opts_parse(o, a.argc, a.argv);
	capture_end(&c);
	client_opts_free(o);   /* the arrays only: the scalars stay readable */
	return r;
}

static int backends_parse(const char *const *words)
{
	struct args a;
	struct capture c;
	args_fill(&a, "backends", words);
	capture_begin(&c);
	int r = backends_opts_parse(a.argc, a.argv);
	capture_end(&c);
	return r;
}

/* Call a value parser with its output captured: 0 or -1. */
#define CAPTURED(call)                                     \
	({                                                 \
		struct capture c_;                         \
		capture_begin(&c_);                        \
		int r_ = (call);                           \
		capture_end(&c_);                          \
		r_;                                        \
	})

/* ---- the value parsers ------------------------------------------------- */

static void test_u64_accepts_decimal_whole_strings(void **state)
{
	(void)state;
	uint64_t v = 7;
	assert_int_equal(CAPTURED(parse_u64("--n", "0", 0, 10, &v)), 0);
	assert_int_equal(v, 0);
	assert_int_equal(CAPTURED(parse_u64("--n", "0010", 0, 10, &v)), 0);
	assert_int_equal(v, 10);
	assert_int_equal(CAPTURED(parse_u64("--n", "18446744073709551615", 0, UINT64_MAX, &v)), 0);
	assert_true(v == UINT64_MAX);
	assert_string_equal(said, "");
}

static void test_u64_rejects_sign_space_hex_and_range(void **state)
{
	(void)state;
	static const char *const bad[] = {
		"", " 4", "4 ", "+4", "-1", " -1", "0x10", "1e3", "4.0", "4k", "four",
		"18446744073709551616", "99999999999999999999999", "11",
	};
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		uint64_t v = 12345;
		if (CAPTURED(parse_u64("--sources", bad[i], 1, 10, &v)) != -1)
			fail_msg("parse_u64 accepted '%s'", bad[i]);
		assert_int_equal(v, 12345);   /* untouched */
		expect_said("--sources");
		expect_said("from 1 to 10");
	}
	uint64_t v;
	assert_int_equal(CAPTURED(parse_u64("--sources", "0", 1, 10, &v)), -1);
}

static void test_seconds_decimal_with_units(void **state)
{
	(void)state;
	static const struct { const char *s; double want; } good[] = {
		{ "2", 2 }, { "0.5", 0.5 }, { ".5", 0.5 }, { "5.", 5 }, { "2s", 2 },
		{ "250ms", 0.25 }, { "0", 0 }, { "600", 600 }, { "1500ms", 1.5 },
	};
	for (size_t i = 0; i < ARRAY_SIZE(good); i++) {
		double v = -1;
		if (CAPTURED(parse_seconds("--duration", good[i].s, 0, 600, &v)) != 0)
			fail_msg("parse_seconds refused '%s': %s", good[i].s, said);
		assert_true(v == good[i].want);
	}
}

static void test_seconds_rejects_hex_exponent_sign_and_range(void **state)
{
	(void)state;
	static const char *const bad[] = {
		"0x10", "1e3", "1E3", " 1", "1 ", "+1", "-1", "inf", "nan", "infinity", "",
		".", "s", "ms", "1sec", "1 s", "1m", "1us", "1.2.3", "601", "600.001",
		"1000000ms0", "0x1p3",
	};
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		double v = -7;
		if (CAPTURED(parse_seconds("--duration", bad[i], 0, 600, &v)) != -1)
			fail_msg("parse_seconds accepted '%s' (%g)", bad[i], v);
		assert_true(v == -7);
		expect_said("--duration");
		expect_said("from 0 to 600 seconds");
	}
	double v;
	assert_int_equal(CAPTURED(parse_seconds("--seconds", "100ms", 0.2, 600, &v)), -1);
	expect_said("from 0.2 to 600");
}

static void test_decimal_rejects_tiny_huge_and_exponents(void **state)
{
	(void)state;
	double v = 0;
	assert_int_equal(CAPTURED(parse_decimal("--rate", "1000", 0.001, 1e9, &v)), 0);
	assert_true(v == 1000);
	assert_int_equal(CAPTURED(parse_decimal("--rate", "0.001", 0.001, 1e9, &v)), 0);
	assert_true(v == 0.001);
	assert_int_equal(CAPTURED(parse_decimal("--rate", "1000000000", 0.001, 1e9, &v)), 0);

	static const char *const bad[] = {
		"1e-300", "0.0009", "0", "0.000", "1000000000.5", "1e9", "2000000000",
		"inf", "nan", "-5", " 5", "0x10", "5hz",
		"1000000000000000000000000000000000000000000000000000000000000000000000000",
	};
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		v = -1;
		if (CAPTURED(parse_decimal("--rate", bad[i], 0.001, 1e9, &v)) != -1)
			fail_msg("parse_decimal accepted '%s' (%g)", bad[i], v);
		assert_true(v == -1);
		expect_said("--rate");
		expect_said("from 0.001 to 1000000000");
	}
}

static void test_size_units_and_range(void **state)
{
	(void)state;
	static const struct { const char *s; uint64_t want; } good[] = {
		{ "64", 64 }, { "4K", 4096 }, { "4k", 4096 }, { "1M", 1 << 20 },
		{ "1G", 1u << 30 }, { "0", 0 },
	};
	for (size_t i = 0; i < ARRAY_SIZE(good); i++) {
		uint64_t v = 1;
		if (CAPTURED(parse_size("--size", good[i].s, 0, 1u << 30, &v)) != 0)
			fail_msg("parse_size refused '%s': %s", good[i].s, said);
		assert_int_equal(v, good[i].want);
	}
	static const char *const bad[] = {
		"", " -1", "-1", "+64", " 64", "0x10", "1e3", "4KB", "4 K", "K", "1T", "1.5K",
		"2G", "1073741825", "18446744073709551615K",
	};
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		uint64_t v = 5;
		if (CAPTURED(parse_size("--budget", bad[i], 0, 1u << 30, &v)) != -1)
			fail_msg("parse_size accepted '%s'", bad[i]);
		assert_int_equal(v, 5);
		expect_said("--budget");
		expect_said("from 0 to 1073741824 bytes");
	}
}

static void test_hostport_port_range(void **state)
{
	(void)state;
	static const char *const good[] = {
		"127.0.0.1:0", "127.0.0.1:65535", ":0", "[::1]:5555", "localhost:80",
	};
	for (size_t i = 0; i < ARRAY_SIZE(good); i++)
		if (CAPTURED(parse_hostport("--listen", good[i], 0)) != 0)
			fail_msg("parse_hostport refused '%s': %s", good[i], said);

	/* getaddrinfo() would take these, keeping the port's low 16 bits. */
	static const char *const bad[] = {
		"127.0.0.1:99999", "127.0.0.1:70000", "127.0.0.1:65536", "127.0.0.1:-1",
		"127.0.0.1: 80", "127.0.0.1:+80", "127.0.0.1:0x50", "127.0.0.1:http",
	};
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		if (CAPTURED(parse_hostport("--listen", bad[i], 0)) != -1)
			fail_msg("parse_hostport accepted '%s'", bad[i]);
		expect_said("--listen");
		expect_said("from 0 to 65535");
	}
	assert_int_equal(CAPTURED(parse_hostport("--connect", "127.0.0.1", 1)), -1);
	expect_said("HOST:PORT");
	assert_int_equal(CAPTURED(parse_hostport("--connect", "127.0.0.1:", 1)), -1);
	assert_int_equal(CAPTURED(parse_hostport("--connect", "127.0.0.1:0", 1)), -1);
	expect_said("from 1 to 65535");
}

static void test_output_file_checked_and_not_left_behind(void **state)
{
	(void)state;
	char dir[PATH_MAX], path[PATH_MAX + 32];
	struct stat st;
	assert_int_equal(sup_mkdtemp(dir, sizeof(dir), "opts"), 0);

	snprintf(path, sizeof(path), "%s/new.json", dir);
	assert_int_equal(CAPTURED(check_output_file("--json", path)), 0);
	assert_int_equal(stat(path, &st), -1);   /* not left behind */

	FILE *f = fopen(path, "w");
	assert_non_null(f);
	fputs("kept", f);
	assert_int_equal(fclose(f), 0);
	assert_int_equal(CAPTURED(check_output_file("--json", path)), 0);
	char *text = sup_read_file(path, NULL);
	assert_non_null(text);
	assert_string_equal(text, "kept");   /* checked, not truncated */
	free(text);

	assert_int_equal(CAPTURED(check_output_file("--trace", dir)), -1);
	expect_said("--trace");
	expect_said(dir);
	snprintf(path, sizeof(path), "%s/no/such/dir.json", dir);
	assert_int_equal(CAPTURED(check_output_file("--json", path)), -1);
	expect_said("--json");
	expect_said(path);
	assert_int_equal(sup_rmdir(dir), 0);
}

/* ---- daqmux server ----------------------------------------------------- */

static void test_server_defaults(void **state)
{
	(void)state;
	struct server_opts o;
	assert_int_equal(server_parse(&o, (const char *const[]){ NULL }), OPTS_RUN);
	assert_string_equal(o.listen, "127.0.0.1:5555");
	assert_int_equal(o.sources, 1);
	assert_true(o.duration == 0);
	assert_int_equal(o.keepalive, 0);
	assert_int_equal(o.max_frame, PROTO_DEFAULT_MAX_FRAME);
	assert_string_equal(said, "");
}

static void test_server_short_and_long_options(void **state)
{
	(void)state;
	struct server_opts o;
	assert_int_equal(server_parse(&o, WORDS("-b", "poll", "-l", "127.0.0.1:0", "-n", "3",
						"-t", "2.5", "-q")), OPTS_RUN);
	assert_string_equal(o.backend, "poll");
	assert_string_equal(o.listen, "127.0.0.1:0");
	assert_int_equal(o.sources, 3);
	assert_true(o.duration == 2.5);
	assert_int_equal(o.quiet, 1);

	assert_int_equal(server_parse(&o, WORDS("-d", "250ms", "--sources=0", "--max-frame", "255",
						"--budget", "1G", "--trace-max", "1")), OPTS_RUN);
	assert_true(o.duration == 0.25);
	assert_int_equal(o.sources, 0);
	assert_int_equal(o.max_frame, 255);
	assert_int_equal(o.budget, 1u << 30);
	assert_int_equal(o.trace_max, 1);

	assert_int_equal(server_parse(&o, WORDS("--max-frame", "4294967294", "--duration",
						"10000000")), OPTS_RUN);
	assert_int_equal(o.max_frame, 4294967294u);
}

static void test_server_keepalive_zero_is_off(void **state)
{
	(void)state;
	static const struct { const char *s; unsigned want; } good[] = {
		{ "0", 0 }, { "1", 1 }, { "30s", 30 }, { "2000ms", 2 }, { "32767", 32767 },
	};
	for (size_t i = 0; i < ARRAY_SIZE(good); i++) {
		struct server_opts o;
		if (server_parse(&o, WORDS("--keepalive", good[i].s)) != OPTS_RUN)
			fail_msg("--keepalive %s refused: %s", good[i].s, said);
		assert_int_equal(o.keepalive, good[i].want);
	}
}

/* Each refused command line and two things its message must say. */
struct refusal {
	const char *words[6];
	const char *needle[2];
};

static const struct refusal server_refusals[] = {
	{ { "--listen", "127.0.0.1:99999" }, { "--listen", "from 0 to 65535" } },
	{ { "-l", "127.0.0.1:70000" }, { "--listen", "from 0 to 65535" } },
	{ { "--listen", "127.0.0.1" }, { "--listen", "HOST:PORT" } },
	{ { "--keepalive", "100000" }, { "--keepalive", "from 0 to 32767" } },
	{ { "--keepalive", "32768" }, { "--keepalive", "from 0 to 32767" } },
	{ { "--keepalive", "0.5" }, { "--keepalive", "whole seconds" } },
	{ { "--keepalive", "-1" }, { "--keepalive", "from 0 to 32767" } },
	{ { "--budget", " -1" }, { "--budget", "from 1 to 1073741824" } },
	{ { "--budget", "0" }, { "--budget", "from 1 to 1073741824" } },
	{ { "--duration", "0x10" }, { "--duration", "from 0 to 10000000 seconds" } },
	{ { "-t", "1e3" }, { "--duration", "from 0 to 10000000 seconds" } },
	{ { "--duration", "-1" }, { "--duration", "from 0 to" } },
	{ { "--duration", "inf" }, { "--duration", "from 0 to" } },
	{ { "--idle-timeout", " 1" }, { "--idle-timeout", "from 0 to" } },
	{ { "--max-frame", "0" }, { "--max-frame", "from 255 to 4294967294" } },
	{ { "--max-frame", "254" }, { "--max-frame", "from 255 to 4294967294" } },
	{ { "--max-frame", "4294967295" }, { "--max-frame", "from 255 to 4294967294" } },
	{ { "--sources", " 4" }, { "--sources", "from 0 to 1000000" } },
	{ { "--sources", "+4" }, { "--sources", "from 0 to 1000000" } },
	{ { "-n", "1000001" }, { "--sources", "from 0 to 1000000" } },
	{ { "--trace-max", "0" }, { "--trace-max", "from 1 to" } },
	{ { "--cpu", "-1" }, { "--cpu", "from 0 to" } },
	{ { "--mode", "sideways" }, { "--mode", "push" } },
	{ { "--discard-size", "64" }, { "--discard-size", "--discard only" } },
	{ { "--discard", "--discard-size", "4294967264" }, { "--discard-size", "from 0 to" } },
	{ { "--discard", "--mode", "pull" }, { "--discard", "pull" } },
	{ { "--discard", "--trace", "t.csv" }, { "--discard", "--trace" } },
	{ { "--bogus" }, { "'--bogus'", "server --help" } },
	{ { "-x" }, { "'-x'", "server --help" } },
	{ { "-qx" }, { "'-x'", "unknown" } },
	{ { "--quiet=1" }, { "'--quiet'", "takes no value" } },
	{ { "--sources" }, { "'--sources'", "needs a value" } },
	{ { "--sou" }, { "'--sources'", "needs a value" } },
	{ { "-n" }, { "'-n'", "needs a value" } },
	{ { "4" }, { "unexpected argument '4'", "server --help" } },
};

/* Each command line must be refused with both needles in the message and
 * nothing on stdout. */
static void expect_refusals(const char *cmd, int (*parse)(const char *const *words),
			    const struct refusal *v, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if (parse(v[i].words) != OPTS_BAD)
			fail_msg("%s %s %s was accepted", cmd, v[i].words[0],
				 v[i].words[1] ? v[i].words[1] : "");
		expect_said(v[i].needle[0]);
		expect_said(v[i].needle[1]);
		assert_string_equal(printed, "");
	}
}

static int server_parse_words(const char *const *words)
{
	struct server_opts o;
	return server_parse(&o, words);
}

static void test_server_help(void **state)
{
	(void)state;
	static const char *const forms[] = { "-h", "--help", "--he" };
	for (size_t i = 0; i < ARRAY_SIZE(forms); i++) {
		struct server_opts o;
		assert_int_equal(server_parse(&o, WORDS(forms[i])), OPTS_HELP);
		expect_printed("usage: daqmux server");
		expect_printed("Exit status");
		assert_string_equal(said, "");
	}
}

static void test_server_output_files_checked_at_once(void **state)
{
	(void)state;
	char dir[PATH_MAX], path[PATH_MAX + 32];
	struct server_opts o;
	struct stat st;
	assert_int_equal(sup_mkdtemp(dir, sizeof(dir), "opts"), 0);

	snprintf(path, sizeof(path), "%s/s.json", dir);
	assert_int_equal(server_parse(&o, WORDS("--json", path, "--trace", path)), OPTS_RUN);
	assert_int_equal(stat(path, &st), -1);

	/* Both files are checked, each before the server starts. */
	snprintf(path, sizeof(path), "%s/missing/t.csv", dir);
	assert_int_equal(server_parse(&o, WORDS("--json", dir, "-n", "2")), OPTS_BAD);
	expect_said("--json");
	assert_int_equal(server_parse(&o, WORDS("-q", "--trace", path)), OPTS_BAD);
	expect_said("--trace");
	assert_int_equal(sup_rmdir(dir), 0);
}

/* ---- daqmux client ----------------------------------------------------- */

static void test_client_short_and_long_options(void **state)
{
	(void)state;
	struct client_opts o;
	assert_int_equal(client_parse(&o, WORDS("-c", "127.0.0.1:6000", "-n", "3", "-r", "0.5",
						"-m", "4K", "-t", "2", "-q")), OPTS_RUN);
	assert_int_equal(o.addr.ss.ss_family, AF_INET);
	assert_int_equal(ntohs(((const struct sockaddr_in *)&o.addr.ss)->sin_port), 6000);
	assert_int_equal(o.sources, 3);
	assert_true(o.rate == 0.5);
	assert_int_equal(o.size_min, 4096);
	assert_int_equal(o.size_max, 4096);
	assert_true(o.duration == 2);
	assert_int_equal(o.use_duration, 1);
	assert_int_equal(o.quiet, 1);
	assert_string_equal(said, "");

	assert_int_equal(client_parse(&o, WORDS("--rate", "max", "--connect", "127.0.0.1:65535",
						"--silent", "0:250ms")), OPTS_RUN);
	assert_true(o.rate == 0);
	assert_int_equal(ntohs(((const struct sockaddr_in *)&o.addr.ss)->sin_port), 65535);
}

static const struct refusal client_refusals[] = {
	{ { "--rate", "1e-300" }, { "--rate", "from 0.001 to 1000000000" } },
	{ { "-r", "0" }, { "--rate", "from 0.001 to 1000000000" } },
	{ { "--rate", "inf" }, { "--rate", "from 0.001" } },
	{ { "--rate", "nan" }, { "--rate", "from 0.001" } },
	{ { "--rate", "0x10" }, { "--rate", "from 0.001" } },
	{ { "--rate", "-5" }, { "--rate", "from 0.001" } },
	{ { "--rate", "2000000000" }, { "--rate", "to 1000000000" } },
	{ { "--slow", "0:1e-300" }, { "--slow", "from 0.001" } },
	{ { "--connect", "127.0.0.1:70000" }, { "--connect", "from 1 to 65535" } },
	{ { "-c", "127.0.0.1:0" }, { "--connect", "from 1 to 65535" } },
	{ { "--sources", " 4" }, { "--sources", "from 1 to 1000000" } },
	{ { "--sources", "+4" }, { "--sources", "from 1 to 1000000" } },
	{ { "-n", "0" }, { "--sources", "from 1 to 1000000" } },
	{ { "--size", "0x10" }, { "--size", "from 0 to 268435456" } },
	{ { "-m", "257M" }, { "--size", "from 0 to 268435456" } },
	{ { "--count", "-1" }, { "--count", "from 0 to" } },
	{ { "--duration", "0x10" }, { "--duration", "from 0 to 10000000 seconds" } },
	{ { "--silent", "0:0x1" }, { "--silent", "seconds" } },
	{ { "--seed", " 1" }, { "--seed", "from 0 to" } },
	{ { "--idle", "1e3" }, { "--idle", "from 0 to 1000000" } },
	{ { "--loops", "0" }, { "--loops", "from 1 to 256" } },
	{ { "--loops", "257" }, { "--loops", "from 1 to 256" } },
	{ { "--loops", "2", "-i", "1" }, { "--interval", "one sending loop" } },
	{ { "-z" }, { "'-z'", "client --help" } },
	{ { "--rate" }, { "'--rate'", "needs a value" } },
	{ { "--burst=yes" }, { "'--burst'", "takes no value" } },
	{ { "extra" }, { "unexpected argument 'extra'", "client --help" } },
};

static int client_parse_words(const char *const *words)
{
	struct client_opts o;
	return client_parse(&o, words);
}

static void test_refusals_name_option_and_range(void **state)
{
	(void)state;
	expect_refusals("server", server_parse_words, server_refusals,
			ARRAY_SIZE(server_refusals));
	expect_refusals("client", client_parse_words, client_refusals,
			ARRAY_SIZE(client_refusals));
}

static void test_client_help_and_json(void **state)
{
	(void)state;
	char dir[PATH_MAX], path[PATH_MAX + 32];
	struct client_opts o;

	assert_int_equal(client_parse(&o, WORDS("-h")), OPTS_HELP);
	expect_printed("usage: daqmux client");
	assert_int_equal(client_parse(&o, WORDS("--count", "5", "--help")), OPTS_HELP);
	expect_printed("usage: daqmux client");

	assert_int_equal(sup_mkdtemp(dir, sizeof(dir), "opts"), 0);
	assert_int_equal(client_parse(&o, WORDS("--json", dir)), OPTS_BAD);
	expect_said("--json");
	snprintf(path, sizeof(path), "%s/missing/c.json", dir);
	assert_int_equal(client_parse(&o, WORDS("--json", path)), OPTS_BAD);
	expect_said(path);
	assert_int_equal(client_parse(&o, WORDS("--json", "-")), OPTS_RUN);
	assert_int_equal(sup_rmdir(dir), 0);
}

/* ---- daqmux backends ------------------------------------------------------- */

static void test_backends_help_and_operands(void **state)
{
	(void)state;
	assert_int_equal(backends_parse((const char *const[]){ NULL }), OPTS_RUN);
	assert_int_equal(backends_parse(WORDS("--help")), OPTS_HELP);
	expect_printed("usage: daqmux backends");
	assert_int_equal(backends_parse(WORDS("-h")), OPTS_HELP);
	assert_int_equal(backends_parse(WORDS("epoll")), OPTS_BAD);
	expect_said("unexpected argument 'epoll'");
	assert_int_equal(backends_parse(WORDS("--all")), OPTS_BAD);
	expect_said("'--all'");
}

/* ---- the binary ----------------------------------------------------------- */

struct run {
	int status;
	char *out, *err;
};

/* bin/daqmux with words; it must end within 10 s (a server that started
 * after all would not) without a sanitizer report. */
static void run_bin(const char *dir, const char *const *words, struct run *r)
{
	struct args a;
	struct proc p;
	struct proc_opts o;
	char why[PATH_MAX + 64];
	args_fill(&a, DAQMUX_BIN, words);
	sup_child_opts(&o, dir);
	if (proc_spawn(&p, "daqmux", a.argv, &o, why, sizeof(why)) < 0)
		fail_msg("daqmux: %s", why);
	if (proc_wait(&p, now_ns() + 10 * 1000000000ull) != 1) {
		proc_kill(&p);
		fail_msg("'%s' did not end within 10 s", p.cmd);
	}
	char report[256];
	if (sup_sanitizer_report(&p, report, sizeof(report)) == 1)
		fail_msg("'%s': %s", p.cmd, report);
	r->status = proc_exit_code(&p);
	r->out = sup_read_file(p.out, NULL);
	r->err = sup_read_file(p.err, NULL);
	assert_non_null(r->out);
	assert_non_null(r->err);
}

static void run_free(struct run *r)
{
	free(r->out);
	free(r->err);
}

static void test_binary_refuses_before_starting(void **state)
{
	(void)state;
	char dir[PATH_MAX], json[PATH_MAX + 32], out[PATH_MAX + 32];
	struct stat st;
	assert_int_equal(sup_mkdtemp(dir, sizeof(dir), "opts"), 0);
	snprintf(json, sizeof(json), "%s/no/such/dir/s.json", dir);
	snprintf(out, sizeof(out), "%s/report", dir);

	const struct refusal cases[] = {
		{ { "server", "--listen", "127.0.0.1:99999" }, { "--listen", "from 0 to 65535" } },
		{ { "server", "--listen", "127.0.0.1:0", "--json", json }, { "--json", json } },
		{ { "server", "--listen", "127.0.0.1:0", "--keepalive", "100000" },
		  { "--keepalive", "32767" } },
		{ { "server", "-l", "127.0.0.1:0", "--sources", "+4" }, { "--sources", "1000000" } },
		{ { "server", "-l", "127.0.0.1:0", "--loops", "0" }, { "--loops", "from 1 to 1024" } },
		{ { "server", "-l", "127.0.0.1:0", "--spread", "hash" }, { "--spread", "reuseport" } },
		{ { "server", "-l", "127.0.0.1:0", "--cpus", "0-x" }, { "--cpus", "from 0 to" } },
		{ { "server", "-l", "127.0.0.1:0", "--cpus", "1,,2" }, { "--cpus", "such as 2,3" } },
		{ { "client", "--rate", "1e-300" }, { "--rate", "from 0.001" } },
		{ { "client", "--connect", "127.0.0.1:70000" }, { "--connect", "from 1 to 65535" } },
		{ { "compare", "--seconds", "0.1", "--out", out }, { "--seconds", "from 0.2 to 600" } },
		{ { "compare", "--client-exec", " ", "--out", out }, { "--client-exec", "empty" } },
		{ { "compare", "--listen", "::1", "--out", out }, { "--listen", "brackets" } },
		{ { "backends", "epoll" }, { "unexpected argument", "backends --help" } },
		{ { "frobnicate" }, { "unknown command 'frobnicate'", "usage" } },
	};
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		struct run r;
		run_bin(dir, cases[i].words, &r);
		if (r.status != 2)
			fail_msg("daqmux %s %s: exit %d, not 2; stderr: %s", cases[i].words[0],
				 cases[i].words[1] ? cases[i].words[1] : "", r.status, r.err);
		expect_in(r.err, "stderr", cases[i].needle[0], __LINE__);
		expect_in(r.err, "stderr", cases[i].needle[1], __LINE__);
		assert_null(strstr(r.out, "listening on"));
		run_free(&r);
	}
	assert_int_equal(stat(out, &st), -1);   /* compare made no report */
	assert_int_equal(sup_rmdir(dir), 0);
}

static void test_binary_help_everywhere(void **state)
{
	(void)state;
	static const char *const cmds[] = { "server", "client", "backends", "compare" };
	char dir[PATH_MAX], usage[64];
	assert_int_equal(sup_mkdtemp(dir, sizeof(dir), "opts"), 0);
	for (size_t i = 0; i < ARRAY_SIZE(cmds); i++) {
		static const char *const forms[] = { "-h", "--help" };
		snprintf(usage, sizeof(usage), "usage: daqmux %s", cmds[i]);
		for (size_t f = 0; f < ARRAY_SIZE(forms); f++) {
			struct run r;
			run_bin(dir, WORDS(cmds[i], forms[f]), &r);
			assert_int_equal(r.status, 0);
			expect_in(r.out, "stdout", usage, __LINE__);
			assert_string_equal(r.err, "");
			run_free(&r);
		}
		struct run r;
		run_bin(dir, WORDS("help", cmds[i]), &r);
		assert_int_equal(r.status, 0);
		expect_in(r.out, "stdout", usage, __LINE__);
		run_free(&r);
	}
	static const char *const top[] = { "-h", "--help", "help" };
	for (size_t i = 0; i < ARRAY_SIZE(top); i++) {
		struct run r;
		run_bin(dir, WORDS(top[i]), &r);
		assert_int_equal(r.status, 0);
		expect_in(r.out, "stdout", "usage: daqmux COMMAND", __LINE__);
		run_free(&r);
	}
	assert_int_equal(sup_rmdir(dir), 0);
}

/* A server that cannot start still writes its --json: the metadata and
 * an "error" (a TEST-NET address is never ours: bind fails, nothing is
 * sent); --json - is accepted as stdout. */
static void test_binary_json_on_failure(void **state)
{
	(void)state;
	char dir[PATH_MAX], json[PATH_MAX + 32], err[256];
	struct run r;
	assert_int_equal(sup_mkdtemp(dir, sizeof(dir), "opts"), 0);
	snprintf(json, sizeof(json), "%s/s.json", dir);
	run_bin(dir, WORDS("server", "--listen", "203.0.113.1:0", "--json", json), &r);
	assert_int_equal(r.status, 2);
	struct json *j = json_parse_file(json, err, sizeof(err));
	if (!j)
		fail_msg("the failed server's --json: %s", err);
	assert_string_equal(json_path_str(j, "schema.name", ""), "daqmux-server");
	assert_string_equal(json_path_str(j, "daqmux_version", ""), daqmux_version());
	assert_non_null(json_path_str(j, "error", NULL));
	assert_int_equal(json_path_u64(j, "exit_status", 0), 2);
	json_free(j);
	run_free(&r);
	run_bin(dir, WORDS("server", "--listen", "203.0.113.1:0", "--json", "-"), &r);
	assert_int_equal(r.status, 2);
	j = json_parse(r.out, err, sizeof(err));
	if (!j)
		fail_msg("--json - did not put the JSON alone on stdout: %s", err);
	assert_non_null(json_path_str(j, "error", NULL));
	json_free(j);
	run_free(&r);
	assert_int_equal(sup_rmdir(dir), 0);
}

static void test_binary_version(void **state)
{
	(void)state;
	char dir[PATH_MAX], want[128];
	const char *v = daqmux_version();
	/* Fixed at build time, one word: "0.2.0", "0.2.0-g3548291-dirty". */
	assert_true(v[0] != '\0');
	assert_null(strpbrk(v, " \t\n\""));
	snprintf(want, sizeof(want), "daqmux %s\n", v);
	assert_int_equal(sup_mkdtemp(dir, sizeof(dir), "opts"), 0);
	static const char *const forms[] = { "--version", "-V", "version" };
	for (size_t i = 0; i < ARRAY_SIZE(forms); i++) {
		struct run r;
		run_bin(dir, WORDS(forms[i]), &r);
		assert_int_equal(r.status, 0);
		if (strcmp(r.out, want) != 0)
			fail_msg("daqmux %s printed '%s', this build is '%s' (a stale %s? "
				 "make test rebuilds both)", forms[i], r.out, v, DAQMUX_BIN);
		run_free(&r);
	}
	struct run r;
	run_bin(dir, WORDS("--version", "extra"), &r);
	assert_int_equal(r.status, 2);
	run_free(&r);
	assert_int_equal(sup_rmdir(dir), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_u64_accepts_decimal_whole_strings),
		cmocka_unit_test(test_u64_rejects_sign_space_hex_and_range),
		cmocka_unit_test(test_seconds_decimal_with_units),
		cmocka_unit_test(test_seconds_rejects_hex_exponent_sign_and_range),
		cmocka_unit_test(test_decimal_rejects_tiny_huge_and_exponents),
		cmocka_unit_test(test_size_units_and_range),
		cmocka_unit_test(test_hostport_port_range),
		cmocka_unit_test(test_output_file_checked_and_not_left_behind),
		cmocka_unit_test(test_server_defaults),
		cmocka_unit_test(test_server_short_and_long_options),
		cmocka_unit_test(test_server_keepalive_zero_is_off),
		cmocka_unit_test(test_server_help),
		cmocka_unit_test(test_server_output_files_checked_at_once),
		cmocka_unit_test(test_client_short_and_long_options),
		cmocka_unit_test(test_refusals_name_option_and_range),
		cmocka_unit_test(test_client_help_and_json),
		cmocka_unit_test(test_backends_help_and_operands),
		cmocka_unit_test(test_binary_refuses_before_starting),
		cmocka_unit_test(test_binary_help_everywhere),
		cmocka_unit_test(test_binary_version),
		cmocka_unit_test(test_binary_json_on_failure),
	};
	return cmocka_run_group_tests_name("opts", tests, NULL, NULL);
}
