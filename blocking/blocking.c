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

#include "build.h"
#include "server.h"
#include "util.h"

/* Let a blocked accept() or read() return EAGAIN after one tick. */
static int blocking_set_timeout(struct server *s, int fd)
{
	struct timeval tv = {
		.tv_sec = SERVER_TICK_MS / 1000,
		.tv_usec = (SERVER_TICK_MS % 1000) * 1000,
	};
	/* The one per-connection set-up call; counted with the registration
	 * calls of the other backends. */
	s->sc.ctl++;
	return setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
}

/*
 * Accept until all N sources are connected (or the run ends first).
 * Returns the number accepted, or -1 if the listening socket failed.
 */
static int blocking_accept_all(struct server *s, struct conn **conns, unsigned n)
{
	unsigned have = 0;

	while (have < n && !server_should_stop(s)) {
		struct conn *c;
		int rc = server_accept(s, &s->sc, 0, &c);
		if (rc < 0)
			return -1;
		if (rc == 0)
			continue;   /* a tick passed, a signal, or a refused peer */
		if (blocking_set_timeout(s, c->fd) < 0) {
			/* Without the timeout a silent source could block us
			 * past SIGINT and --duration: refuse it. */
			conn_error(s, c, errno);
			server_close(s, c);
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
static enum conn_state blocking_read_next(struct server *s, struct conn *c)
{
	int pull = s->opt.mode == MODE_PULL;
	uint64_t before = c->src->frames;
	int got = 0;

	if (pull && conn_request(s, c) == CONN_END)
		return CONN_END;
	for (;;) {
		if (conn_read_frame(s, c, s->rbuf, s->rbuf_size, &got) == CONN_END)
			return CONN_END;
		if (got && (!pull || c->src->frames != before))
			return CONN_OPEN;
		/* Timed out (conn_read_frame has checked --idle-timeout), a
		 * signal, or a HELLO while we wait for the answer. */
		if (!got && server_should_stop(s))
			return CONN_OPEN;
	}
}

static int blocking_run(struct server *s)
{
	unsigned n = s->opt.sources;
	struct conn **conns;
	int have, live;

	if (n < 1) {
		msg("the blocking backend accepts a fixed number of sources before it "
		    "reads: give --sources N with N >= 1");
		return -1;
	}
	if (blocking_set_timeout(s, s->lfd) < 0) {
		msg("setsockopt(SO_RCVTIMEO) on %s: %s", s->listen_name, strerror(errno));
		return -1;
	}
	conns = calloc(n, sizeof(*conns));
	if (!conns) {
		msg("out of memory for %u sources", n);
		return -1;
	}
	have = blocking_accept_all(s, conns, n);
	if (have < 0) {
		free(conns);
		return -1;
	}

	/* The round: one frame from each live source in turn, always in the
	 * same order. An ended source leaves an empty place. */
	live = have;
	while (live > 0 && !server_should_stop(s)) {
		for (int i = 0; i < have && !server_should_stop(s); i++) {
			/* --build: a paused source sits out the round. */
			if (!conns[i] || conns[i]->paused)
				continue;
			if (blocking_read_next(s, conns[i]) == CONN_END) {
				server_close(s, conns[i]);
				conns[i] = NULL;   /* freed by the reap below */
				live--;
			}
		}
		/* --build: timeouts, between rounds only - while the round
		 * waits in read() for one source, nothing else happens. */
		build_sweep(s, NULL);
		server_reap(s);
	}
	free(conns);
	return 0;
}

const struct backend backend_blocking = {
	.name = "blocking",
	.summary = "blocking reads, one frame per source in a fixed round (shows the stall)",
	.run = blocking_run,
	.blocking_listen = 1,
	.pull_in_turn = 1,
};
