/*
 * util.h - the one error convention and the small helpers every part uses.
 *
 * Error convention (written once, followed everywhere):
 *  - every system call is checked against the failure value its man page
 *    gives (-1, NULL, or a negative errno for io_uring completions);
 *  - EINTR from a wait or a read means "nothing happened, go round again";
 *  - EAGAIN/EWOULDBLOCK on a nonblocking descriptor is a state (the kernel
 *    has nothing more for us now), never an error;
 *  - a failure that concerns one connection closes that connection with
 *    one line naming the source, the peer and the reason; only a failure
 *    of the server itself (listen, the wait) ends the run.
 */
#ifndef DAQMUX_UTIL_H
#define DAQMUX_UTIL_H

#include <stdint.h>
#include <time.h>

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

/* CLOCK_MONOTONIC in nanoseconds: the clock of the wire protocol. It is a
 * vDSO call, no system call, so it is cheap enough to take once per read. */
static inline uint64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* The version fixed at build time (common/version.c), "unknown" when the
 * build gave none. */
const char *daqmux_version(void);

/* Messages go to stderr prefixed with "daqmux: ". */
void msg(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Parse helpers for the command lines; each returns 0, or -1 after
 * printing what was wrong with the value of option opt. */
int parse_u64(const char *opt, const char *s, uint64_t min, uint64_t max, uint64_t *out);
int parse_seconds(const char *opt, const char *s, double *out);  /* "2", "0.5", "250ms" */
int parse_size(const char *opt, const char *s, uint64_t *out);   /* "64", "4K", "1M" (binary) */

#endif
