/*
 * blocking/blocking.c - the blocking backend: read(fd_0); read(fd_1); ...
 *
 * What it shows: the naive way to read N sources from one thread. The
 * sockets stay blocking; the server accepts all N sources first, then
 * reads one whole frame from source 0, one from source 1, and so on, in a
 * fixed round. A source that has nothing to say stalls every source
 * behind it, however busy they are: their bytes pile up in the kernel
 * and their latency grows by the length of the stall. That is the
 * problem the other backends solve; this one exists to show it honestly,
 * so it does not work around it.
 *
 * Each socket has SO_RCVTIMEO set to one tick (SERVER_TICK_MS) only so
 * that a blocked accept or read comes back now and then to look at
 * SIGINT, --duration and --idle-timeout. A read that times out retries
 * the SAME source: the round does not move on. --idle-timeout is what
 * unblocks it - a source silent that long is closed and skipped.
 *
 * In pull mode the round is "ask source 0, wait for its answer; ask
 * source 1, ...": one REQUEST outstanding overall.
 *
 * The set of sources is fixed once all N have connected: a source that
 * ends leaves its place in the round empty, and later connections
 * (including a --reconnect) are never accepted.
 *
 * Needs: nothing beyond POSIX sockets. --sources N (N >= 1) says how many
 * to accept before the first read. Try it (source 0 silent for a second
 * stalls the other three; compare the max latency with --backend poll):
 *   bin/daqmux server --backend blocking --sources 4 &
 *   bin/daqmux client --sources 4 --rate 1000 --count 3000 --silent 0:1s
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>

#include "server.h"
#include "util.h"

/* Let a blocked accept() or read() return EAGAIN after one tick. */
static int blocking_set_timeout(struct loop *l, int fd)
{
	struct timeval tv = {
		.tv_sec = SERVER_TICK_MS / 1000,
		.tv_usec = (SERVER_TICK_MS % 1000) * 1000,
	};
	/* The one per-connection set-up call; counted with the registration
	 * calls of the other backends. */
	l->sc.ctl++;
	return setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
}

/*
 * Accept until all N sources are connected (or the run ends first).
 * With several loops each takes its share: handed off in turn, loop i of
 * L gets exactly the i-th, (i+L)-th, ... connection, so it waits for
 * those; with SO_REUSEPORT the kernel decides, so it takes what comes
 * until the loops together have N. Returns the number this loop
 * accepted, or -1 if the listening socket failed.
 */
static int blocking_accept_all(struct loop *l, struct conn **conns, unsigned n)
{
	struct server *s = l->s;
	unsigned have = 0, nl = s->nloops;
	unsigned want = l->handoff ? n / nl + (l->id < n % nl) : n;

	while (have < want && !server_should_stop(s)) {
		struct conn *c;
		int rc;

		if (!l->handoff) {
			pthread_mutex_lock(&s->lock);
			rc = s->accepted >= n;
			pthread_mutex_unlock(&s->lock);
			if (rc)
				break;      /* the other loops took the rest */
		}
		rc = server_accept(l, &c);
		if (rc < 0)
			return -1;
		if (rc == 0)
			continue;   /* a tick passed, a signal, or a refused peer */
		if (blocking_set_timeout(l, c->fd) < 0) {
			/* Without the timeout a silent source could block us
			 * past SIGINT and --duration: refuse it. */
			conn_error(c, errno);
			server_close(c);
			continue;
		}
		conns[have++] = c;
	}
	return (int)have;
}

/*
 * Read source c's next frame - in pull mode, ask for it first and wait
 * for the DATA that answers (a HELLO may come before it). A read that
 * times out goes back to the same source: this is the stall the backend
 * demonstrates. Returns CONN_OPEN when the frame arrived or the run is
 * stopping, CONN_END when the connection ended (recorded by the core).
 */
static enum conn_state blocking_read_next(struct conn *c)
{
	struct server *s = c->loop->s;
	int pull = s->opt.mode == MODE_PULL;
	uint64_t before = c->src->frames;
	int got = 0;

	if (pull && conn_request(c) == CONN_END)
		return CONN_END;
	for (;;) {
		if (conn_read_frame(c, &got) == CONN_END)
			return CONN_END;
		if (got && (!pull || c->src->frames != before))
			return CONN_OPEN;
		/* Timed out (conn_read_frame has checked --idle-timeout), a
		 * signal, or a HELLO while we wait for the answer. */
		if (!got && server_should_stop(s))
			return CONN_OPEN;
	}
}

/* Nobody's turn: every live source is paused. Nap instead of spinning
 * until one is resumed (by a hook of this loop - or the run ends). */
static void blocking_nap(void)
{
	struct timespec ts = { 0, 1000000 };

	(void)nanosleep(&ts, NULL);   /* EINTR: the caller looks at the signal */
}

static int blocking_run(struct loop *l)
{
	struct server *s = l->s;
	unsigned n = s->opt.sources;
	struct conn **conns;
	int have, live;

	if (n < 1) {
		msg("the blocking backend accepts a fixed number of sources before it "
		    "reads: give --sources N with N >= 1");
		return -1;
	}
	if (!l->handoff && blocking_set_timeout(l, l->accept_fd) < 0) {
		msg("setsockopt(SO_RCVTIMEO) on %s: %s", s->listen_name, strerror(errno));
		return -1;
	}
	conns = calloc(n, sizeof(*conns));
	if (!conns) {
		msg("out of memory for %u sources", n);
		return -1;
	}
	have = blocking_accept_all(l, conns, n);
	if (have < 0) {
		free(conns);
		return -1;
	}

	/* The round: one frame from each live source in turn, always in the
	 * same order. An ended source leaves an empty place; a paused one
	 * loses its turn until it is resumed. */
	live = have;
	while (live > 0 && !server_should_stop(s)) {
		int served = 0;
		for (int i = 0; i < have && !server_should_stop(s); i++) {
			if (!conns[i] || conns[i]->paused)
				continue;
			served = 1;
			if (blocking_read_next(conns[i]) == CONN_END) {
				server_close(conns[i]);
				conns[i] = NULL;   /* freed by the reap below */
				live--;
			}
		}
		server_reap(l);
		if (!served && live > 0)
			blocking_nap();
	}
	free(conns);
	return 0;
}

const struct backend backend_blocking = {
	.name = "blocking",
	.summary = "blocking reads, one frame per source in a fixed round (shows the stall)",
	.pref = 0,
	.features = BE_BLOCKING_LISTEN | BE_PULL_IN_TURN | BE_ACCEPTS_ALL_FIRST | BE_ROUND |
		    BE_LOOPS,
	.run = blocking_run,
};
