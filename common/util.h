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

/* Messages go to stderr prefixed with "daqmux: ". */
void msg(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/*
 * The command-line convention of every subcommand.
 *
 * A subcommand's option parser never exits: it returns OPTS_RUN, or
 * OPTS_HELP after printing its --help on stdout (exit status 0), or
 * OPTS_BAD after one message on stderr naming the option, what it got and
 * what it accepts (exit status 2, before anything starts). So every parser
 * can be called from a unit test.
 */
enum opts_result { OPTS_RUN = 0, OPTS_HELP = 1, OPTS_BAD = 2 };

/* The exit status of a subcommand whose parser returned r (not OPTS_RUN). */
static inline int opts_exit_status(int r)
{
	return r == OPTS_HELP ? 0 : 2;
}

/* getopt_long() returned '?' or ':' (the option string must begin with
 * ':'): say which option was unknown, lacks its value or has one it does
 * not take, and where help is. Returns OPTS_BAD. */
struct option;
int opts_getopt_error(const char *cmd, int ch, char **argv, const struct option *longs);

/* Words left after the options: none is allowed. OPTS_RUN or OPTS_BAD. */
int opts_no_operands(const char *cmd, int argc, char **argv);

/*
 * Value parsers, one grammar for every option: the whole string, decimal
 * digits only (no sign, no space, no hex, no exponent), then the range.
 * Each returns 0, or -1 after one message naming opt, the value and the
 * accepted range ("--port: '99999' is not a whole number from 0 to 65535").
 */
int parse_u64(const char *opt, const char *s, uint64_t min, uint64_t max, uint64_t *out);
/* A decimal number with an optional fraction: "1000", "0.5", ".5". */
int parse_decimal(const char *opt, const char *s, double min, double max, double *out);
/* Seconds, a decimal number with an optional unit: "2", "0.5", "2s", "250ms". */
int parse_seconds(const char *opt, const char *s, double min, double max, double *out);
/* Bytes, whole, with an optional binary unit: "64", "4K", "1M", "1G". */
int parse_size(const char *opt, const char *s, uint64_t min, uint64_t max, uint64_t *out);
/* "HOST:PORT", "[V6]:PORT" or ":PORT" whose PORT is from min_port to
 * 65535; the host is resolved later (net_resolve). */
int parse_hostport(const char *opt, const char *s, unsigned min_port);

/* An output file given on the command line can be written: checked at
 * start-up, so that a missing directory or a directory given as the file
 * costs no run. A file that did not exist is not left behind. */
int check_output_file(const char *opt, const char *path);

#endif
