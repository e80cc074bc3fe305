/*
 * server.h - the server core: everything a backend asks for.
 *
 * The core owns the listening socket, every connection and its source
 * record, the frame assembler, timers, signals and the summary. A backend
 * (backend.h) owns only its wait: it learns that bytes are ready, reads
 * them, and hands them to conn_input() or one of the conn_read_*()
 * helpers, which do the framing and the accounting.
 *
 * Threading: the per-frame path (conn_input and what it calls) touches
 * only the connection, its source record and the syscounts the connection
 * points to. Creating, ending and closing connections take s->lock, so a
 * threaded backend may call them from any thread.
 */
#ifndef DAQMUX_SERVER_H
#define DAQMUX_SERVER_H

#include <pthread.h>
#include <signal.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "backend.h"
#include "frame.h"
#include "source.h"

enum server_mode { MODE_PUSH, MODE_PULL };

struct server_opts {
	const char *backend;
	const char *listen;        /* HOST:PORT */
	unsigned    sources;       /* the run ends when this many have ended */
	double      duration;      /* seconds, 0 = until the sources end */
	uint32_t    max_frame;     /* largest accepted payload */
	size_t      budget;        /* bytes read per connection per wakeup */
	double      idle_timeout;  /* seconds, 0 = none */
	unsigned    keepalive;     /* seconds, 0 = off */
	enum server_mode mode;
	int         edge;          /* epoll: edge-triggered */
	int         quiet;
	const char *json;
	const char *trace;         /* per-frame CSV: source,seq,send_ns,recv_ns */
	uint64_t    trace_max;
	long        cpu;           /* pin to this CPU, -1 = no */
	int         build;         /* --build: event building (build.h) */
	unsigned    build_window;  /* events in flight */
	double      build_timeout_ms; /* 0 = wait for every fragment */
	const char *write;         /* built events to this file, "-" = stdout */
};

/*
 * System calls a backend made, so that strategies can be compared by
 * their cost per frame. A single-threaded backend counts into s->sc; a
 * threaded one gives each thread its own and adds them up at the end.
 */
struct syscounts {
	uint64_t waits;      /* select, poll, epoll_wait, io_uring_enter that waited */
	uint64_t reads;      /* read/recv calls, or receive completions (uring) */
	uint64_t eagain;     /* reads that found nothing (EAGAIN) */
	uint64_t writes;     /* REQUESTs sent in pull mode */
	uint64_t accepts;    /* accept calls, or accept completions (uring) */
	uint64_t ctl;        /* epoll_ctl and similar registration calls */
	uint64_t enters;     /* io_uring_enter calls, waiting or not */
	uint64_t sqes;       /* submissions (uring) */
	uint64_t cqes;       /* completions reaped (uring) */
	uint64_t nobufs;     /* -ENOBUFS: buffer ring empty, receive re-armed */
	uint64_t overflows;  /* completion-queue overflows seen */
};

void syscounts_add(struct syscounts *dst, const struct syscounts *src);

struct conn {
	int fd;                     /* -1 once closed */
	struct source *src;         /* this connection's accounting */
	struct frame_parser fp;
	struct syscounts *sc;       /* where this connection's reads count */
	uint64_t last_rx_ns;        /* for --idle-timeout */
	uint64_t req_ns;            /* pull: when the outstanding REQUEST left */
	int      named;             /* a frame has fixed the source id */
	uint64_t nframes;           /* frames of any type on this connection */
	int      shut_by_us;        /* stopping: an EOF now is ours, not the peer's */
	void    *priv;              /* the backend's, e.g. its loop or slot */
	unsigned bflags;            /* the backend's flags */
	struct conn *prev, *next;   /* live list, or the dead list once closed */
	unsigned bsrc;              /* --build: the builder's source index + 1 */
	int      paused;            /* --build backpressure: not to be read */
	struct build_conn *bc;      /* --build: its fragment and kept bytes */
};

struct trace_rec {
	uint32_t source;
	uint64_t seq, send_ns, recv_ns;
};

struct server {
	struct server_opts opt;
	const struct backend *be;
	int lfd;                   /* listening socket */
	char listen_name[80];
	struct syscounts sc;
	uint8_t *rbuf;             /* one read buffer for single-threaded loops */
	size_t rbuf_size;
	uint64_t start_ns, deadline_ns;
	uint64_t next_sweep_ns;    /* server_sweep: event-loop backends only */

	pthread_mutex_t lock;      /* guards everything below */
	struct conn *live;         /* open connections */
	struct conn *dead;         /* closed, freed by server_reap() */
	unsigned nlive;
	struct source **srcs;      /* every record, in order of arrival */
	unsigned nsrcs, srcs_cap;
	unsigned ended;            /* records that reached a final status */
	uint64_t refused;          /* connections turned away (limits) */
	int reserve_fd;            /* spare descriptor for EMFILE */

	struct trace_rec *trace;
	uint64_t trace_n;          /* records written (atomic when threaded) */
	struct build *build;       /* --build, else NULL */
};

/* Where people's text goes: stderr when --write - gives stdout to events. */
static inline FILE *server_talk(const struct server *s)
{
	return s->opt.write && s->opt.write[0] == '-' && !s->opt.write[1] ? stderr : stdout;
}

/* ---- for backends ------------------------------------------------------ */

/* True once the run should end: signal, --duration, or all sources done. */
int server_should_stop(struct server *s);

/* How long a wait may sleep (ms): the time to the next deadline, capped
 * at SERVER_TICK_MS so a signal is noticed promptly even if it lands
 * between the check and the wait. */
#define SERVER_TICK_MS 100
int server_wait_ms(struct server *s);

/*
 * Accept one pending connection on s->lfd and register it. Returns 1 with
 * *out set, 0 when nothing is pending (EAGAIN, or a connection that was
 * refused and reported), -1 when the listening socket itself failed.
 * Connections beyond the backend's descriptor limit (fd_limit, 0 = none)
 * are refused with a message; EMFILE is handled with a reserve descriptor
 * so that it never becomes a busy loop.
 */
int server_accept(struct server *s, struct syscounts *sc, int fd_limit, struct conn **out);

/* EMFILE/ENFILE while a connection is pending: accept it with the reserve
 * descriptor and close it at once, with a message, so the listener does
 * not stay readable forever (no busy loop). For accepts done elsewhere
 * (io_uring completions carry -EMFILE). 1 when a connection was shed, 0
 * when none was pending (EMFILE comes whenever the table is full): then
 * do not ask again until the listener is readable or a tick has passed. */
int server_shed(struct server *s, int err);

/* Register a descriptor accepted by other means (io_uring). Returns the
 * connection, or NULL when it could not be registered (reported, closed). */
struct conn *server_adopt(struct server *s, int fd, struct syscounts *sc);

enum conn_state { CONN_OPEN, CONN_END };

/*
 * Feed bytes that arrived at now_ns. CONN_END means the connection is
 * finished - a BYE, or a protocol error that was reported and recorded -
 * and the backend must forget it and call server_close().
 */
enum conn_state conn_input(struct server *s, struct conn *c,
			   const uint8_t *buf, size_t len, uint64_t now_ns);

/* The peer closed (read returned 0) / a read failed with err. Both end
 * the connection: forget it, then server_close(). */
void conn_eof(struct server *s, struct conn *c);
void conn_error(struct server *s, struct conn *c, int err);

/*
 * Nonblocking burst: read into buf until EAGAIN or `budget` bytes, feeding
 * every read to conn_input. *drained says whether EAGAIN was seen (an
 * edge-triggered loop must come back otherwise).
 */
enum conn_state conn_read_some(struct server *s, struct conn *c, uint8_t *buf,
			       size_t bufsize, size_t budget, int *drained);

/*
 * Blocking: read exactly one whole frame, asking read() only for the bytes
 * that frame still needs - the classic readn. A socket timeout (the
 * blocking backend sets SO_RCVTIMEO to the tick) returns CONN_OPEN with
 * the frame unfinished, so the caller can look at server_should_stop().
 */
enum conn_state conn_read_frame(struct server *s, struct conn *c, uint8_t *buf,
				size_t bufsize, int *got_frame);

/* --idle-timeout: true (and the source failed with "idle timeout") when
 * nothing arrived for longer than the timeout. For loops that wait on one
 * connection at a time (blocking, threads). */
int conn_idle_expired(struct server *s, struct conn *c, uint64_t now);

/* Pull mode: send the next REQUEST (done by conn_input itself unless the
 * backend is pull_in_turn). CONN_END if the send failed (recorded). */
enum conn_state conn_request(struct server *s, struct conn *c);

/*
 * --idle-timeout: end every connection that has been silent too long.
 * forget() is called first so the backend can drop it from its interest
 * set; then the connection is closed. Cheap when no timeout is set.
 */
void server_sweep(struct server *s, void (*forget)(struct server *, struct conn *));

/* Close the descriptor and move the connection to the dead list; its
 * memory stays valid until server_reap(), so events already fetched in
 * the same batch can still be matched to it (and skipped: fd == -1). */
void server_close(struct server *s, struct conn *c);
void server_reap(struct server *s);

/* Stopping: shut every live connection down so that threads blocked in
 * read() wake up; their EOF is then not counted as the peer's. */
void server_shutdown_all(struct server *s);

/* ---- for the command line ---------------------------------------------- */

/* Listen, run the backend until the run ends, print and write the summary.
 * Returns the exit status: 0 clean, 1 a source was not, 2 failure to start. */
int server_run(const struct server_opts *opt, const struct backend *be);

#endif
