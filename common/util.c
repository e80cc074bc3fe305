/*
 * util.c - messages, the command-line convention and the one strict
 * grammar of option values (util.h). tests/test_opts.c tries each.
 */
#include "util.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

void msg(const char *fmt, ...)
{
	char line[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	/* One fprintf per line so lines from several threads never interleave. */
	fprintf(stderr, "daqmux: %s\n", line);
}

/* ---- the command-line convention ---------------------------------------- */

/* The name of the option getopt_long() stopped at, "--sources" or "-n".
 * getopt leaves only optopt (the option's value, 0 for an unknown long
 * option) and optind behind, and in "-qx" the word before optind may be
 * an earlier long option: a long word counts only if one of the long
 * options it abbreviates has the value optopt. */
static void opts_name(char *buf, size_t len, const char *word, const struct option *longs)
{
	size_t n = strcspn(word, "=");
	if (strncmp(word, "--", 2) == 0) {
		if (optopt == 0) {
			snprintf(buf, len, "%.*s", (int)n, word);
			return;
		}
		for (; longs && longs->name; longs++)
			if (longs->val == optopt && strncmp(longs->name, word + 2, n - 2) == 0) {
				snprintf(buf, len, "--%s", longs->name);
				return;
			}
	}
	snprintf(buf, len, "-%c", optopt);
}

int opts_getopt_error(const char *cmd, int ch, char **argv, const struct option *longs)
{
	char name[64];

	opts_name(name, sizeof(name), optind > 0 ? argv[optind - 1] : "", longs);
	if (ch == ':')
		msg("option '%s' needs a value; try 'daqmux %s --help'", name, cmd);
	else if (name[1] == '-' && optopt)
		msg("option '%s' takes no value; try 'daqmux %s --help'", name, cmd);
	else if (name[1] == '-')
		msg("unknown or ambiguous option '%s'; try 'daqmux %s --help'", name, cmd);
	else
		msg("unknown option '%s'; try 'daqmux %s --help'", name, cmd);
	return OPTS_BAD;
}

int opts_no_operands(const char *cmd, int argc, char **argv)
{
	if (optind >= argc)
		return OPTS_RUN;
	msg("unexpected argument '%s': every value follows its option; try 'daqmux %s --help'",
	    argv[optind], cmd);
	return OPTS_BAD;
}

/* ---- values --------------------------------------------------------------- */

/* The whole of s, decimal digits only, into *out without overflow. */
static int digits_u64(const char *s, size_t len, uint64_t *out)
{
	uint64_t v = 0;
	if (len == 0)
		return -1;
	for (size_t i = 0; i < len; i++) {
		unsigned d = (unsigned)(s[i] - '0');
		if (d > 9 || v > (UINT64_MAX - d) / 10)
			return -1;
		v = v * 10 + d;
	}
	*out = v;
	return 0;
}

int parse_u64(const char *opt, const char *s, uint64_t min, uint64_t max, uint64_t *out)
{
	uint64_t v;
	if (digits_u64(s, strlen(s), &v) < 0 || v < min || v > max) {
		msg("%s: '%s' is not a whole number from %" PRIu64 " to %" PRIu64, opt, s, min, max);
		return -1;
	}
	*out = v;
	return 0;
}

/* Length of the decimal number that begins s (digits, at most one point,
 * at least one digit), 0 if there is none. strtod alone would also take
 * a sign, spaces, hex, exponents, "inf" and "nan". */
static size_t decimal_len(const char *s)
{
	size_t i = 0, digits = 0;
	while (s[i] >= '0' && s[i] <= '9')
		i++, digits++;
	if (s[i] == '.')
		for (i++; s[i] >= '0' && s[i] <= '9'; i++)
			digits++;
	return digits ? i : 0;
}

/* The decimal number that begins s, its length in *len; -1 if none. */
static int decimal_prefix(const char *s, size_t *len, double *out)
{
	char *end;
	size_t n = decimal_len(s);
	if (n == 0)
		return -1;
	*out = strtod(s, &end);       /* the C locale: '.' is the point */
	if (end != s + n)
		return -1;
	*len = n;
	return 0;
}

int parse_decimal(const char *opt, const char *s, double min, double max, double *out)
{
	size_t n;
	double v;
	if (decimal_prefix(s, &n, &v) < 0 || s[n] || !(v >= min && v <= max)) {
		msg("%s: '%s' is not a number from %.15g to %.15g (decimal, e.g. 1000 or 0.5)",
		    opt, s, min, max);
		return -1;
	}
	*out = v;
	return 0;
}

int parse_seconds(const char *opt, const char *s, double min, double max, double *out)
{
	size_t n;
	double v;
	int ok = decimal_prefix(s, &n, &v) == 0;
	if (ok && strcmp(s + n, "ms") == 0)
		v /= 1000.0;
	else if (ok && s[n] && strcmp(s + n, "s") != 0)
		ok = 0;
	if (!ok || !(v >= min && v <= max)) {
		msg("%s: '%s' is not a duration from %.15g to %.15g seconds "
		    "(decimal seconds, e.g. 2, 0.5, 2s or 250ms)", opt, s, min, max);
		return -1;
	}
	*out = v;
	return 0;
}

int parse_size(const char *opt, const char *s, uint64_t min, uint64_t max, uint64_t *out)
{
	size_t n = strspn(s, "0123456789");
	unsigned shift = 0;
	uint64_t v;
	int ok = 1;

	switch (s[n]) {
	case '\0': break;
	case 'k': case 'K': shift = 10; break;
	case 'm': case 'M': shift = 20; break;
	case 'g': case 'G': shift = 30; break;
	default: ok = 0;
	}
	if (shift && s[n + 1])
		ok = 0;
	if (!ok || digits_u64(s, n, &v) < 0 || v > (UINT64_MAX >> shift) ||
	    (v << shift) < min || (v << shift) > max) {
		msg("%s: '%s' is not a size from %" PRIu64 " to %" PRIu64
		    " bytes (whole bytes, or with K, M, G: e.g. 64, 4K, 1M)", opt, s, min, max);
		return -1;
	}
	*out = v << shift;
	return 0;
}

int parse_hostport(const char *opt, const char *s, unsigned min_port)
{
	const char *colon = strrchr(s, ':');
	uint64_t port;
	if (!colon || colon[1] == '\0') {
		msg("%s: '%s' is not HOST:PORT (e.g. 127.0.0.1:5555, [::1]:5555, :%u)",
		    opt, s, min_port ? 5555 : 0);
		return -1;
	}
	/* getaddrinfo() would take 99999 and keep its low 16 bits. */
	if (digits_u64(colon + 1, strlen(colon + 1), &port) < 0 || port < min_port ||
	    port > 65535) {
		msg("%s: the port in '%s' is not a whole number from %u to 65535", opt, s, min_port);
		return -1;
	}
	return 0;
}

int check_output_file(const char *opt, const char *path)
{
	/* Create it to see that we can, and remove it again: the run writes
	 * it at the end, and a run that never starts leaves nothing. */
	int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
	if (fd >= 0) {
		close(fd);
		if (unlink(path) < 0) {
			msg("%s: cannot remove the test file '%s': %s", opt, path, strerror(errno));
			return -1;
		}
		return 0;
	}
	/* It exists: a directory fails with EISDIR; a FIFO without a reader
	 * with ENXIO (O_NONBLOCK: never wait for one), which is writable. */
	if (errno == EEXIST) {
		fd = open(path, O_WRONLY | O_CLOEXEC | O_NONBLOCK);
		if (fd >= 0 || errno == ENXIO) {
			if (fd >= 0)
				close(fd);
			return 0;
		}
	}
	msg("%s: cannot write '%s': %s", opt, path, strerror(errno));
	return -1;
}
