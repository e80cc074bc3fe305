/*
 * backend.h - the one interface every server backend implements.
 *
 * A backend is one file exporting one `const struct backend`. It knows
 * only how to wait and how to read; everything else - accepting and
 * naming connections, framing, accounting, timers, output - it asks of
 * the server core (server.h). The shape follows HAProxy's `struct poller`
 * (name, preference, probe, flags) and libevent's `struct eventop`
 * (features, per-descriptor data sized by the backend, state handed back
 * to every call).
 *
 * The unit of work is a `struct loop` (server.h): one wait set, one read
 * buffer, one set of system-call counts and the connections it owns. A
 * server runs one loop per thread (--loops N, for backends with
 * BE_LOOPS); the core allocates `loop_size` bytes of backend state per
 * loop (l->priv) and `conn_size` bytes per connection (conn_data(c)), and
 * hands the loop to every callback, so a backend never needs a global or
 * a field borrowed from the connection.
 */
#ifndef DAQMUX_BACKEND_H
#define DAQMUX_BACKEND_H

#include <stddef.h>
#include <stdio.h>

struct loop;
struct conn;

/* What a backend can do, or how it behaves: the core and the tests ask
 * these, never the backend's name. */
enum backend_feature {
	BE_EDGE            = 1u << 0, /* --edge: edge-triggered waits */
	BE_BLOCKING_LISTEN = 1u << 1, /* wants a blocking listening socket */
	BE_PULL_IN_TURN    = 1u << 2, /* pull mode: sends each REQUEST itself,
					 one source at a time */
	BE_ACCEPTS_ALL_FIRST = 1u << 3, /* accepts --sources N before reading,
					 and no connection after them */
	BE_ROUND           = 1u << 4, /* reads one frame per source in a fixed
					 round: a silent source stalls the rest */
	BE_LOOPS           = 1u << 5, /* --loops N: N loops in N threads */
	BE_THREAD_PER_CONN = 1u << 6, /* one thread per connection */
	BE_PEER_UNKNOWN_EARLY = 1u << 7, /* its accept does not learn the peer's
					 address; one that reset first is "?" */
	BE_LIBRARY         = 1u << 8, /* waits through a third-party event
					 library (one of the raw ones beneath) */
};

/* A counter of the backend's own, beside the core's waits, reads, ...
 * (struct syscounts' extra[i] is named by counters[i]). */
enum backend_counter_kind {
	BC_INFO,            /* not a system call (submissions, completions) */
	BC_CALLS,           /* system calls of their own: part of the total */
	BC_CALLS_WITH_WAITS /* system calls that include those counted as
			       waits: the total adds the difference */
};

struct backend_counter {
	const char *json;   /* key under "syscalls" in --json */
	const char *text;   /* words in the summary line */
	enum backend_counter_kind kind;
};

#define BACKEND_MAX_COUNTERS 6

/* Another way to run the same backend, for the test suites: an
 * environment setting that sends it down a path that is otherwise hard
 * to reach (a tiny buffer ring, a kernel feature switched off). */
struct backend_variant {
	const char *name;   /* "tiny": the suites call it "uring/tiny" */
	const char *env;    /* "NAME=VALUE" set for the server */
	const char *unfair; /* why a flooding source may hold up the others
			       here: the suites then print that latency
			       instead of judging it; NULL: judged */
};

struct backend {
	const char *name;
	const char *summary;     /* one line for `daqmux backends` */
	int pref;                /* the default is the available backend with
				    the highest pref */
	unsigned features;       /* enum backend_feature bits */
	int fd_limit;            /* descriptors >= this are refused; 0 = none */
	size_t loop_size;        /* bytes of backend state per loop (l->priv) */
	size_t conn_size;        /* bytes of backend state per connection */
	const struct backend_counter *counters;     /* up to BACKEND_MAX_COUNTERS */
	unsigned ncounters;
	const struct backend_variant *variants;     /* for the tests */
	unsigned nvariants;

	/*
	 * Can this backend run on this machine? Returns 0, or -1 with the
	 * reason written to why (e.g. "io_uring_setup: Operation not
	 * permitted (kernel.io_uring_disabled=2)"). NULL means always able.
	 */
	int (*probe)(char *why, size_t len);

	/*
	 * Serve loop l until server_should_stop(). Called once per loop, in
	 * the loop's own thread, with l->priv zeroed. The loop's accept
	 * descriptor (l->accept_fd) is nonblocking unless BE_BLOCKING_LISTEN.
	 * Returns 0, or -1 after printing why the server itself failed (the
	 * run then exits 2).
	 */
	int (*run)(struct loop *l);

	/*
	 * Drop c from the wait set: server_close() calls it, in the loop's
	 * thread, before it closes the descriptor. NULL: nothing to drop.
	 */
	void (*forget)(struct loop *l, struct conn *c);

	/*
	 * Backpressure: stop reading c / read it again (conn_pause() and
	 * conn_resume() call these after setting c->paused). Bytes already
	 * read are still delivered; nothing more is read from the socket
	 * until resume, so TCP flow control pushes back on the sender.
	 * NULL: the flag is all the backend needs.
	 */
	void (*pause)(struct loop *l, struct conn *c);
	void (*resume)(struct loop *l, struct conn *c);
};

static inline int backend_has(const struct backend *be, unsigned features)
{
	return (be->features & features) == features;
}

/*
 * For a backend whose library was missing at build time: still listed,
 * with a probe that names the package to install, and a run that the
 * refusing probe keeps from ever being called.
 */
static inline int backend_not_compiled_in(char *why, size_t len, const char *package)
{
	snprintf(why, len, "not compiled in: install %s (apt-get install %s) and rebuild with make",
		 package, package);
	return -1;
}

static inline int backend_never_runs(struct loop *l)
{
	(void)l;
	return -1;
}

#endif
