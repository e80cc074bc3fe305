/* util.c - messages and option value parsing. */
#include "util.h"

#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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

int parse_u64(const char *opt, const char *s, uint64_t min, uint64_t max, uint64_t *out)
{
	char *end;
	errno = 0;
	unsigned long long v = strtoull(s, &end, 10);
	if (errno || end == s || *end || s[0] == '-' || v < min || v > max) {
		msg("%s: '%s' is not a whole number from %" PRIu64 " to %" PRIu64, opt, s, min, max);
		return -1;
	}
	*out = v;
	return 0;
}

int parse_seconds(const char *opt, const char *s, double *out)
{
	char *end;
	errno = 0;
	double v = strtod(s, &end);
	if (end != s && strcmp(end, "ms") == 0)
		v /= 1000.0, end += 2;
	else if (end != s && strcmp(end, "s") == 0)
		end += 1;
	if (errno || end == s || *end || !isfinite(v) || v < 0 || v > 1e7) {
		msg("%s: '%s' is not a duration (seconds, e.g. 2, 0.5 or 250ms)", opt, s);
		return -1;
	}
	*out = v;
	return 0;
}

int parse_size(const char *opt, const char *s, uint64_t *out)
{
	char *end;
	errno = 0;
	unsigned long long v = strtoull(s, &end, 10);
	unsigned shift = 0;
	if (end != s && (*end == 'k' || *end == 'K'))
		shift = 10, end++;
	else if (end != s && (*end == 'm' || *end == 'M'))
		shift = 20, end++;
	else if (end != s && (*end == 'g' || *end == 'G'))
		shift = 30, end++;
	if (errno || end == s || *end || s[0] == '-' || v > (UINT64_MAX >> shift)) {
		msg("%s: '%s' is not a size (bytes, e.g. 64, 4K, 1M)", opt, s);
		return -1;
	}
	*out = (uint64_t)v << shift;
	return 0;
}
