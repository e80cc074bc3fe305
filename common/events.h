/*
 * events.h - seeing inside a run while it happens: `--events` and `-i`.
 *
 * --events prints one line per wait and per read, stamped with the
 * seconds since the start, in the backend's own terms:
 *
 *     0.213104  select(nfds=9) -> 2 ready: fd 5 (src 1), fd 7 (src 3)
 *     0.213121  read(fd 5, src 1) -> 4096 bytes = 42 frames + 16 bytes of a header
 *     0.213130  read(fd 5, src 1) -> EAGAIN (drained)
 *     0.000412  read(fd 4, src 0) blocking... while src 1 has 4,800 bytes waiting
 *
 * up to --events-max lines, then a one-line summary of what was not
 * shown. -i SECONDS prints a line per interval (frames, MB/s, p99,
 * waits, EAGAIN reads) and keeps them for the JSON's "intervals".
 *
 * A backend calls the ev_* macros below at its wait and read points; the
 * core's read helpers (conn_read_some, conn_read_frame) do it for the
 * reads they make. With neither option s->ev is NULL and every call is
 * one predictable branch: nothing is formatted, nothing is counted, no
 * system call is made. With either, the counts are atomic, so loops and
 * reader threads may call from any thread; lines are written whole.
 */
#ifndef DAQMUX_EVENTS_H
#define DAQMUX_EVENTS_H

#include <errno.h>
#include <stddef.h>
#include <stdint.h>

struct server;
struct loop;
struct conn;

#define EV_ON(s) __builtin_expect((s)->ev != NULL, 0)

/*
 * A wait returned n: ready descriptors, events or completions, or -1
 * with errno. The rest is the wait as a printf format, e.g.
 * ev_wait(l, n, "select(nfds=%d)", maxfd + 1), to which " -> 2 ready",
 * " -> 0 (timeout)" or the error is added - unless it says " -> "
 * itself, in the backend's own words. Call it right after the wait,
 * before anything can change errno.
 */
#define ev_wait(l, n, ...)                                              \
	do {                                                            \
		if (EV_ON((l)->s))                                      \
			ev_wait_line((l), (n), errno, __VA_ARGS__);     \
	} while (0)

/* After ev_wait: one ready connection (NULL: the listening socket),
 * listed on the wait's line as "fd 5 (src 1)". */
#define ev_ready(l, c)                                                  \
	do {                                                            \
		if (EV_ON((l)->s))                                      \
			ev_ready_add((l), (c));                         \
	} while (0)

/* Before a read that may sleep (a blocking socket): when nothing is
 * waiting in c, says "blocking..." and what waits meanwhile in the
 * other sockets of the loop (FIONREAD), so the stall is visible. */
#define ev_block(c)                                                     \
	do {                                                            \
		if (EV_ON((c)->loop->s))                                \
			ev_block_line(c);                               \
	} while (0)

/*
 * A read of c returned n: bytes (> 0), 0 for EOF, or -1 with errno err.
 * The rest names the call as a printf format ("read", "cqe recv, buffer
 * %u"). A read that brought bytes is written once conn_input has framed
 * them, so the line can say how many frames they made.
 */
#define ev_read(c, n, err, ...)                                         \
	do {                                                            \
		if (EV_ON((c)->loop->s))                                \
			ev_read_line((c), (long)(n), (err), __VA_ARGS__); \
	} while (0)

/* Anything else worth a line: "submit 3", "accepted fd 7". */
#define ev_note(l, ...)                                                 \
	do {                                                            \
		if (EV_ON((l)->s))                                      \
			ev_note_line((l), __VA_ARGS__);                 \
	} while (0)

/*
 * For a backend whose wait happens inside a library (libuv, libevent,
 * GLib) and is out of sight: the turn's first callback writes the wait
 * line - `what`, with its timeout - and every callback adds its
 * connection to it. *waited is the turn's flag (cleared by the backend
 * when a turn begins).
 */
#define ev_seen(l, c, waited, what, ms)                                  \
	do {                                                            \
		if (EV_ON((l)->s))                                      \
			ev_seen_line((l), (c), (waited), (what), (ms)); \
	} while (0)

/* ---- the slow paths behind the macros ------------------------------------ */

void ev_wait_line(struct loop *l, int n, int err, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
void ev_ready_add(struct loop *l, struct conn *c);
void ev_seen_line(struct loop *l, struct conn *c, int *waited, const char *what, int ms);
void ev_block_line(struct conn *c);
void ev_read_line(struct conn *c, long n, int err, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
void ev_note_line(struct loop *l, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* ---- for the core ---------------------------------------------------------- */

/* conn_input has framed the bytes of a read: write its pending line. */
void ev_input_done(struct conn *c);

/* One DATA frame accounted (for -i): payload bytes, latency or
 * UINT64_MAX when it carries no time. */
void ev_frame(struct server *s, uint64_t bytes, uint64_t lat_ns);

/* -i: write the interval that has ended, if one has. Called by
 * server_should_stop(), which every loop calls at least once a tick. */
void ev_tick(struct server *s);

/* -i: ms until the next interval ends (caps the wait), INT_MAX if off. */
int ev_wait_ms(struct server *s);

/* One -i interval, as in the JSON. */
struct ev_interval {
	double   t_s;        /* its end, seconds since the start */
	double   dur_s;      /* its length (the last one may be shorter) */
	uint64_t frames, bytes, p99_ns, waits, eagain;
};

/* Set up s->ev when --events or -i asks for it: 0, or -1 (said why). */
int  ev_init(struct server *s);
/* The run is over: the last interval and the --events summary line. */
void ev_finish(struct server *s);
/* The intervals kept for the JSON (NULL, 0 without -i). */
const struct ev_interval *ev_intervals(const struct server *s, size_t *n);
void ev_free(struct server *s);

#endif
