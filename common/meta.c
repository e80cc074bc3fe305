/* meta.c - see meta.h. */
#include "meta.h"

#include <stdio.h>
#include <string.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

#ifdef HAVE_URING
#include <liburing.h>
#endif

#include "util.h"
#include "version.h"

static int64_t meta_clock_ns(clockid_t id)
{
	struct timespec ts;

	if (clock_gettime(id, &ts) < 0)
		return 0;
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

void meta_start_now(struct meta_start *s)
{
	/* Realtime between two monotonic reads: the offset is taken at
	 * their middle, so it is off by half their distance at most. */
	int64_t m0 = meta_clock_ns(CLOCK_MONOTONIC);
	s->realtime_ns = meta_clock_ns(CLOCK_REALTIME);
	int64_t m1 = meta_clock_ns(CLOCK_MONOTONIC);
	s->monotonic_ns = m0 + (m1 - m0) / 2;
}

void meta_kernel(char *buf, size_t len)
{
	struct utsname u;

	if (uname(&u) < 0)
		snprintf(buf, len, "%s", "");
	else
		snprintf(buf, len, "%s %s %s %s", u.sysname, u.release, u.version, u.machine);
}

void meta_cpu_model(char *buf, size_t len)
{
	char line[512];
	FILE *f = fopen("/proc/cpuinfo", "r");

	snprintf(buf, len, "%s", "");
	while (f && fgets(line, sizeof(line), f)) {
		char *colon = strchr(line, ':');
		if (colon && strncmp(line, "model name", 10) == 0) {
			colon += 1 + (colon[1] == ' ');
			colon[strcspn(colon, "\n")] = '\0';
			snprintf(buf, len, "%s", colon);
			break;
		}
	}
	if (f)
		fclose(f);
}

#define META_STR2(x) #x
#define META_STR(x) META_STR2(x)

const char *meta_liburing(void)
{
#if defined(HAVE_URING) && defined(DAQMUX_LIBURING_VERSION)
	return DAQMUX_LIBURING_VERSION;     /* pkg-config's, at build time */
#elif defined(HAVE_URING) && defined(IO_URING_VERSION_MAJOR)
	return META_STR(IO_URING_VERSION_MAJOR) "." META_STR(IO_URING_VERSION_MINOR);
#elif defined(HAVE_URING)
	return "unknown version";
#else
	return "not built in";
#endif
}

const char *meta_compiler(void)
{
#if defined(__clang__)
	return "clang " __clang_version__;
#elif defined(__GNUC__)
	return "gcc " __VERSION__;
#else
	return "unknown";
#endif
}

void meta_utc(char *buf, size_t len, int64_t realtime_ns)
{
	time_t t = (time_t)(realtime_ns / 1000000000);
	struct tm tm;
	char day[32];

	if (!gmtime_r(&t, &tm) || !strftime(day, sizeof(day), "%Y-%m-%dT%H:%M:%S", &tm)) {
		snprintf(buf, len, "%s", "");
		return;
	}
	snprintf(buf, len, "%s.%09lldZ", day, (long long)(realtime_ns % 1000000000));
}

void meta_write(struct jw *w, const char *schema, int version, const struct meta_start *start)
{
	struct meta_start now;
	char buf[512], host[256];

	if (!start) {
		meta_start_now(&now);
		start = &now;
	}
	jw_obj_begin(w, "schema");
	jw_str(w, "name", schema);
	jw_i64(w, "version", version);
	jw_obj_end(w);
	jw_str(w, "daqmux_version", daqmux_version());
	meta_utc(buf, sizeof(buf), start->realtime_ns);
	jw_str(w, "start_utc", buf);
	jw_i64(w, "start_realtime_ns", start->realtime_ns);
	jw_i64(w, "monotonic_minus_realtime_ns", start->monotonic_ns - start->realtime_ns);
	if (gethostname(host, sizeof(host)) < 0)
		host[0] = '\0';
	host[sizeof(host) - 1] = '\0';
	jw_str(w, "host", host);
	meta_kernel(buf, sizeof(buf));
	jw_str(w, "kernel", buf);
	meta_cpu_model(buf, sizeof(buf));
	jw_str(w, "cpu_model", buf);
	jw_str(w, "liburing", meta_liburing());
	jw_str(w, "compiler", meta_compiler());
}
