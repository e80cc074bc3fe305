/*
 * server.h - the server core: everything a backend asks for.
 *
 * The core owns the listening socket, every connection and its source
 * record, the frame assembler, timers, signals and the summary. A backend
 * (backend.h) owns only its wait: it learns that bytes are ready, reads
 * them, and hands them to conn_input() or one of the conn_read_*()
 * helpers, which do the framing and the accounting.
 *
 * The server runs one or more loops (struct loop, --loops N), each in its
 * own thread with its own wait set, buffer, counts and connections; the
 * backend's run() serves one loop, and every call below names the loop
 * or the connection (which knows its loop), never a global.
 *
 * Threading: the per-frame path (conn_input and what it calls) touches
 * only the connection, its source record and the syscounts the connection
 * points to. Creating, ending and closing connections take s->lock, so a
 * thread-per-connection backend may call them from any thread.
 */
#ifndef DAQMUX_SERVER_H
#define DAQMUX_SERVER_H

#include <pthread.h>
#include <signal.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <stdio.h>

#include "backend.h"
#include "events.h"
#include "frame.h"
#include "meta.h"
#include "source.h"

enum server_mode { MODE_PUSH, MODE_PULL };

/* --spread: how connections reach the loops when there are several.
 * HANDOFF: one acceptor deals them out round-robin (the default: exact
 * balance for a few long-lived sources); REUSEPORT: a listening socket
 * per loop, SO_REUSEPORT, the kernel hashes each connection to one. */
enum server_spread { SPREAD_HANDOFF, SPREAD_REUSEPORT };

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
	int         edge;          /* BE_EDGE backends: edge-triggered */
	const char *uring_features; /* uring: --uring-features LIST, NULL = none */
	int         quiet;
	const char *json;
	const char *trace;         /* per-frame CSV: source,seq,send_ns,recv_ns */
	uint64_t    trace_max;
	long        cpu;           /* pin to this CPU, -1 = no */
	unsigned    max_records;   /* ended sources kept in full; later ones are
				      folded into one "others" record */
	unsigned    loops;         /* event loops, each in its own thread (0 = 1) */
	enum server_spread spread; /* how connections reach the loops */
	const long *cpus;          /* --cpus: loop i runs on cpus[i % ncpus] */
	unsigned    ncpus;
	/* Seeing inside (events.h) */
	int         events;        /* --events: a line per wait and per read */
	uint64_t    events_max;    /* at most this many lines, 0 = no limit */
	double      interval;      /* -i SECONDS: a line per interval, 0 = off */
	int         no_drain;      /* teaching: one read per readiness event */
	int         discard;       /* --discard: count bytes, parse nothing */
	uint32_t    discard_size;  /* the sources' payload size: frames are
				      derived as bytes / (header + this) */
	int         build;         /* --build: event building (build.h) */
	unsigned    build_window;  /* events in flight */
	double      build_timeout_ms; /* 0 = wait for every fragment */
	const char *write;         /* built events to this file, "-" = stdout */
};

#define SERVER_DEFAULT_MAX_RECORDS 1024
#define SERVER_REJECT_REASONS 8    /* distinct reasons kept, the rest summed */

/*
 * System calls a backend made, so that strategies can be compared by
 * their cost per frame. Each loop counts into its own (l->sc); a
 * thread-per-connection backend gives each thread its own and adds them
 * up when it joins it. extra[i] is the backend's own counter i, named by
 * be->counters[i].
 */
struct syscounts {
	uint64_t waits;      /* select, poll, epoll_wait, io_uring_enter that waited */
	uint64_t reads;      /* read/recv calls, or receive completions (uring) */
	uint64_t eagain;     /* reads that found nothing (EAGAIN) */
	uint64_t writes;     /* REQUESTs sent in pull mode */
	uint64_t accepts;    /* accept calls, or accept completions (uring) */
	uint64_t ctl;        /* epoll_ctl and similar registration calls */
	uint64_t extra[BACKEND_MAX_COUNTERS];
};

void syscounts_add(struct syscounts *dst, const struct syscounts *src);

struct conn {
	int fd;                     /* -1 once closed */
	struct loop *loop;          /* the loop that owns it */
	struct source *src;         /* this connection's accounting */
	struct frame_parser fp;
	struct syscounts *sc;       /* where this connection's reads count */
	uint64_t last_rx_ns;        /* for --idle-timeout */
	uint64_t req_ns;            /* pull: when the outstanding REQUEST left */
	int      named;             /* a frame has fixed the source id */
	uint64_t nframes;           /* frames of any type on this connection */
	uint64_t src_frames0, src_bytes0; /* the record's figures when this
				       connection took it over (a resume) */
	int      shut_by_us;        /* stopping: an EOF now is ours, not the peer's */
	int      paused;            /* conn_pause(): not read until conn_resume() */
	uint64_t discard_pos;       /* --discard: bytes into the current frame, */
	uint64_t discard_len;       /* its length (0 until the first header is in), */
	int      discard_hello;     /* whether it is the HELLO (conn.c) */
	struct conn *prev, *next;   /* the loop's live list, or its dead list */
	unsigned bsrc;              /* --build: the builder's source index + 1 */
	struct build_conn *bc;      /* --build: its fragment and kept bytes */
	_Alignas(max_align_t) unsigned char data[];  /* be->conn_size bytes */
};

/* The backend's per-connection state (be->conn_size bytes, zeroed). */
static inline void *conn_data(struct conn *c)
{
	return c->data;
}

/*
 * One event loop: its own wait set (the backend's state in priv), its own
 * read buffer, system-call counts and connections. Everything here
 * belongs to the loop's thread; the lists change under s->lock only so
 * that server_shutdown_all() may walk them from another thread.
 */
struct loop {
	_Alignas(64) struct server *s;   /* loops side by side share no cache line */
	unsigned id;
	void *priv;                /* be->loop_size bytes, zeroed */
	int accept_fd;             /* readable when a connection is waiting:
				      the listening socket, or the hand-off
				      queue's eventfd (handoff is set) */
	int listen_fd;             /* the listening socket it accepts on; -1
				      when connections are handed over */
	int handoff;               /* connections come from the acceptor */
	struct syscounts sc;
	uint8_t *rbuf;             /* for backends that read into one buffer */
	size_t rbuf_size;
	uint64_t next_sweep_ns;    /* server_sweep */
	struct conn *live;         /* open connections */
	struct conn *dead;         /* closed, freed by server_reap() */
	unsigned nlive;

	/* Figures for the summary: connections taken, and what the
	 * connections closed so far delivered (live ones are added at the
	 * end); the loop thread's CPU time. Never written per frame. */
	uint64_t conns, frames, bytes, cpu_ns;

	/* The hand-off queue (handoff only): connections accepted by the
	 * acceptor thread, waiting for this loop to register them. */
	pthread_mutex_t qlock;
	struct server_handed *q;
	unsigned qhead, qlen, qcap;

	pthread_t tid;
	int thread;                /* tid is a thread of its own */
	int started;               /* in be->run: forget() may be called */
	int rc;                    /* what be->run returned */
};

struct trace_rec {
	uint32_t source;
	uint64_t seq, send_ns, recv_ns;
};

/*
 * Ways to watch a run from inside the process, for what is built on the
 * core (the event builder) and for the tests that drive it directly.
 * Every hook is optional.
 */
struct server_hooks {
	void *arg;
	/* The listening socket is open: s->listen_name is set. */
	void (*listening)(struct server *s, void *arg);
	/* A DATA frame was accounted, in the connection's loop thread. */
	void (*frame)(struct conn *c, const struct proto_header *h, uint64_t now_ns, void *arg);
};

struct server {
	struct server_opts opt;
	struct meta_start meta;    /* when and where it ran, for every JSON */
	const struct backend *be;
	struct server_hooks hooks;
	int lfd;                   /* listening socket (loop 0's with reuseport) */
	char listen_name[80];
	struct syscounts sc;       /* every loop's and the acceptor's, added up
				      after the run */
	struct syscounts acceptor_sc; /* the acceptor's own (--spread handoff) */
	uint64_t start_ns, deadline_ns;
	struct loop *loops;
	unsigned nloops;
	uint64_t handed;           /* connections the acceptor handed on */
	int failed;                /* a loop failed: every loop stops */

	pthread_mutex_t lock;      /* guards everything below, and the loops'
				      connection lists */
	struct source **srcs;      /* the registry: a record per source (a
				      connection that delivered a valid frame) */
	unsigned nsrcs, srcs_cap;
	unsigned nsrcs_ended;      /* of them, ended and closed */
	unsigned ended;            /* records that reached a final status */
	unsigned gathered;         /* BE_ACCEPTS_ALL_FIRST: sources the loops
				      have taken so far (atomic) */
	uint64_t refused;          /* connections turned away (limits) */
	uint64_t connections;      /* connections accepted */
	uint64_t idle_closed;      /* closed before sending a byte */
	uint64_t rejected;         /* sent bytes, never a source: junk, refused id */
	struct { char why[128]; uint64_t n; } reject_why[SERVER_REJECT_REASONS];
	uint64_t reject_why_other; /* rejections beyond the distinct reasons kept */
	struct source others;      /* ended records folded beyond --max-records */
	uint64_t nothers;
	uint64_t others_ok;        /* of them, clean (source_ok) */
	uint64_t others_status[SRC_ERROR + 1];
	int reserve_fd;            /* spare descriptor for EMFILE */

	struct trace_rec *trace;
	uint64_t trace_n;          /* records written (atomic when threaded) */

	struct events *ev;         /* --events, -i (events.h); NULL when off */
	struct build *build;       /* --build, else NULL */
};

/* Where people's text goes: stderr when --write - gives stdout to events. */
static inline FILE *server_talk(const struct server *s)
{
	/* stdout carries the events (--write -) or the JSON (--json -) */
	return (s->opt.write && strcmp(s->opt.write, "-") == 0) ||
	       (s->opt.json && strcmp(s->opt.json, "-") == 0) ? stderr : stdout;
}

/* ---- for backends ------------------------------------------------------ */

/* True once the run should end: signal, --duration, or all sources done. */
int server_should_stop(struct server *s);

/* How long a wait may sleep (ms): the time to the next deadline, capped
 * at SERVER_TICK_MS so a signal is noticed promptly even if it lands
 * between the check and the wait. */
#define SERVER_TICK_MS 100
#define SERVER_RBUF_SIZE (256u << 10)   /* many frames per read */
int server_wait_ms(struct server *s);

/*
 * Take one waiting connection for loop l and register it: accept one on
 * l->accept_fd, or (l->handoff) take one the acceptor handed over.
 * Returns 1 with *out set, 0 when nothing is pending (EAGAIN, or a
 * connection that was refused and reported), -1 when the listening
 * socket itself failed. Descriptors beyond the backend's fd_limit are
 * refused with a message; EMFILE is handled with a reserve descriptor so
 * that it never becomes a busy loop. With BE_BLOCKING_LISTEN it waits up
 * to a tick.
 */
int server_accept(struct loop *l, struct conn **out);

/* EMFILE/ENFILE while a connection is pending: accept it with the reserve
 * descriptor and close it at once, with a message, so the listener does
 * not stay readable forever (no busy loop). For accepts done elsewhere
 * (io_uring completions carry -EMFILE). 1 when a connection was shed, 0
 * when none was pending (EMFILE comes whenever the table is full): then
 * do not ask again until the listener is readable or a tick has passed. */
int server_shed(struct loop *l, int err);

/* Register a descriptor accepted by other means (io_uring) in loop l.
 * Returns the connection, or NULL when it could not be registered
 * (reported, closed). */
struct conn *server_adopt(struct loop *l, int fd);

enum conn_state { CONN_OPEN, CONN_END };

/*
 * Feed bytes that arrived at now_ns. CONN_END means the connection is
 * finished - a BYE, or a protocol error that was reported and recorded -
 * and the backend must call server_close().
 *
 * With --discard this is where parsing stops, for every backend alike:
 * the bytes are counted (and whole frames of the fixed size derived from
 * them), nothing else - no frame, no BYE, no hooks.frame, never CONN_END.
 * The connection then ends only by EOF, an error or --idle-timeout.
 */
enum conn_state conn_input(struct conn *c, const uint8_t *buf, size_t len, uint64_t now_ns);

/* The peer closed (read returned 0) / a read failed with err. Both end
 * the connection: server_close() it. */
void conn_eof(struct conn *c);
void conn_error(struct conn *c, int err);

/* End c's source with an error of ours: one line naming the source, the
 * peer and the reason; the caller closes it. */
void conn_fail(struct conn *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/*
 * Nonblocking burst into the loop's buffer: read until EAGAIN, --budget
 * bytes, or the connection is paused, feeding every read to conn_input.
 * *drained says whether the backend need not come back without a new
 * readiness event (EAGAIN seen, or paused: resume re-arms it); an
 * edge-triggered loop must come back otherwise.
 */
enum conn_state conn_read_some(struct conn *c, int *drained);

/* One read() of at most want bytes, whatever is left behind: the
 * teaching mode --no-drain (an edge-triggered loop that reads this way
 * never hears of the rest: docs/teaching.md, lab 5). */
enum conn_state conn_read_one(struct conn *c, size_t want);

/*
 * Blocking: read exactly one whole frame, asking read() only for the bytes
 * that frame still needs - the classic readn. A socket timeout (the
 * blocking backend sets SO_RCVTIMEO to the tick) returns CONN_OPEN with
 * the frame unfinished, so the caller can look at server_should_stop().
 */
enum conn_state conn_read_frame(struct conn *c, int *got_frame);

/* --idle-timeout: true (and the source failed with "idle timeout") when
 * nothing arrived for longer than the timeout. For loops that wait on one
 * connection at a time (blocking, threads). */
int conn_idle_expired(struct conn *c, uint64_t now);

/* Pull mode: send the next REQUEST (done by conn_input itself unless the
 * backend is BE_PULL_IN_TURN). CONN_END if the send failed (recorded). */
enum conn_state conn_request(struct conn *c);

/*
 * Backpressure (the event builder's): stop reading c until conn_resume(c).
 * Sets c->paused, then asks the backend (be->pause/resume) to leave the
 * descriptor out of its wait (epoll: out of the interest set; poll and
 * select: out of the set; uring: the receive is cancelled; blocking: its
 * turn is skipped; threads: the reader waits on a condition variable).
 * Bytes already read are delivered; the kernel keeps the rest and TCP
 * pushes back on the sender. A paused connection is not idle
 * (--idle-timeout counts again from its resume).
 *
 * Call both from the thread of c's loop - e.g. from the hooks.frame
 * callback of any connection of that loop - or, for BE_THREAD_PER_CONN
 * backends, from any thread. No effect when already paused / running.
 */
void conn_pause(struct conn *c);
void conn_resume(struct conn *c);

/*
 * --idle-timeout: end every connection of l that has been silent too
 * long (the backend's forget() runs first, via server_close). Cheap when
 * no timeout is set.
 */
void server_sweep(struct loop *l);

/* Drop c from the backend's wait (be->forget), close the descriptor and
 * move the connection to its loop's dead list; its memory stays valid
 * until server_reap(), so events already fetched in the same batch can
 * still be matched to it (and skipped: fd == -1). */
void server_close(struct conn *c);
void server_reap(struct loop *l);

/* Wake every loop that waits on a hand-off eventfd (--spread handoff), so
 * that it looks again at a condition another loop has changed (e.g. the
 * loops together have gathered their sources). With one loop there is no
 * other; with reuseport a loop notices at its next tick. */
void server_wake_loops(struct server *s);

/* Stopping: shut every live connection down so that threads blocked in
 * read() wake up; their EOF is then not counted as the peer's. */
void server_shutdown_all(struct server *s);

/* ---- inside the core (conn.c) -------------------------------------------- */

enum registry_verdict { REG_NEW, REG_RESUMED, REG_REFUSED };

/*
 * The connection's first valid frame says it is source `id`: make it a
 * source. REG_NEW: a record of its own enters the registry. REG_RESUMED:
 * an earlier connection of the same source ended without a BYE, and this
 * one takes its record over (c->src now points to it). REG_REFUSED, with
 * the reason in why: that source is connected right now, or has said BYE;
 * the connection stays no source (counted as rejected when it closes).
 */
enum registry_verdict registry_name(struct server *s, struct conn *c, uint32_t id,
				    char *why, size_t whylen);

/* ---- for the command line ---------------------------------------------- */

/* Listen, run the backend until the run ends, print and write the summary.
 * Returns the exit status: 0 clean, 1 a source was not, 2 failure to start.
 * hooks may be NULL. */
int server_run(const struct server_opts *opt, const struct backend *be,
	       const struct server_hooks *hooks);

#endif
