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
 * that a blocked read comes back now and then to look at
 * SIGINT, --duration and --idle-timeout. A read that times out retries
 * the SAME source: the round does not move on. --idle-timeout is what
 * unblocks it - a source silent that long is closed and skipped.
 *
 * In pull mode the round is "ask source 0, wait for its answer; ask
 * source 1, ...": one REQUEST outstanding overall. A pull source becomes
 * a source by its HELLO (daqmux client always sends one): one that says
 * nothing until asked is never asked, as it is not a source yet.
 *
 * The set of sources is fixed once N have delivered their first frame: a
 * connection is not a source until then (an idle connection, a port
 * scanner, junk or a refused source id must not take a place in the
 * round). While it gathers its N, and only then, the server waits with
 * poll() for either a new connection or the first bytes of one it holds,
 * which it reads nonblocking; once it has N it never waits on more than
 * one socket. A source that ends leaves its place in the round empty, and
 * later connections (including a --reconnect) are never accepted.
 *
 * With --loops N, N threads each run such a round over their share of
 * the sources, so a stall stays inside one group: connections reach the
 * loops through the kernel (reuseport) or the acceptor (handoff), and
 * every loop gathers until the loops together hold N sources.
 *
 * Needs: nothing beyond POSIX sockets. --sources N (N >= 1) says how many
 * to accept before the first read. Try it (source 0 silent for a second
 * stalls the other three; compare the max latency with --backend poll):
 *   bin/daqmux server --backend blocking --sources 4 &
 *   bin/daqmux client --sources 4 --rate 1000 --count 3000 --silent 0:1s
 */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>

#include "net.h"
#include "server.h"
#include "util.h"

/* Let a blocked read() return EAGAIN after one tick. */
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
 * A candidate's first frame: read what is there without blocking (one
 * frame at most). 1 when the frame made it a source, 0 not yet, -1 when
 * the connection ended (refused, junk, closed: recorded by the core).
 */
static int blocking_first_frame(struct loop *l, struct conn *c)
{
	int got = 0;

	if (net_set_nonblock(c->fd, 1) < 0 || conn_read_frame(c, &got) == CONN_END)
		return -1;
	if (!got)
		return 0;
	if (net_set_nonblock(c->fd, 0) < 0 || blocking_set_timeout(l, c->fd) < 0) {
		/* Without the timeout a silent source could block us
		 * past SIGINT and --duration: refuse it. */
		conn_error(c, errno);
		return -1;
	}
	return 1;
}

static int blocking_by_id(const void *a, const void *b)
{
	uint32_t x = (*(struct conn *const *)a)->src->id, y = (*(struct conn *const *)b)->src->id;

	return (x > y) - (x < y);
}

/* Have the loops together gathered their N sources? */
static int blocking_all_gathered(struct server *s, unsigned n)
{
	return __atomic_load_n(&s->gathered, __ATOMIC_ACQUIRE) >= n;
}

/*
 * Gather sources until the loops together hold N (or the run ends):
 * accept, and promote a connection once its first frame has arrived.
 * Returns the number of sources this loop holds, or -1 if the listening
 * socket (or hand-off queue) or the wait failed. Candidates still
 * waiting for their first frame stay open, counted as idle. pfd[0] is
 * the loop's accept descriptor and pfd[i + 1] is cand[i], kept in step,
 * so a wakeup costs the wait and the connections that are ready, not a
 * rebuild of the whole set.
 */
static int blocking_gather(struct loop *l, struct conn **conns, unsigned n)
{
	struct server *s = l->s;
	unsigned have = 0, ncand = 0, cap = 64;
	struct conn **cand = malloc(cap * sizeof(*cand));
	struct pollfd *pfd = malloc((cap + 1) * sizeof(*pfd));
	int rc = -1;

	if (!cand || !pfd) {
		msg("out of memory for the connections that are not sources yet");
		goto out;
	}
	pfd[0] = (struct pollfd){ .fd = l->accept_fd, .events = POLLIN };
	while (!blocking_all_gathered(s, n) && !server_should_stop(s)) {
		/* With several loops another one may complete the set while
		 * this one sleeps, and its sources' bytes (or a reset that
		 * discards them) would wait for the tick. Handed-off loops are
		 * woken through their eventfd (server_wake_loops); a listening
		 * socket cannot be woken, so with reuseport a loop looks again
		 * every millisecond once the gathering has begun. */
		int ms = server_wait_ms(s);
		if (s->nloops > 1 && !l->handoff && ms > 1 &&
		    __atomic_load_n(&s->gathered, __ATOMIC_ACQUIRE))
			ms = 1;
		l->sc.waits++;
		int ready = poll(pfd, ncand + 1, ms);
		if (ready < 0 && errno != EINTR) {
			msg("poll: %s", strerror(errno));
			goto out;
		}
		if (ready <= 0)
			continue;
		/* Downwards: a removed candidate's place takes the last one,
		 * which has been looked at already. */
		for (unsigned i = ncand; i-- > 0 && !blocking_all_gathered(s, n);) {
			if (!(pfd[i + 1].revents & (POLLIN | POLLHUP | POLLERR)))
				continue;
			int r = blocking_first_frame(l, cand[i]);
			if (r == 0)
				continue;
			if (r > 0) {
				conns[have++] = cand[i];
				/* The last one: the other loops sleep in poll()
				 * until a tick unless they are told. */
				if (__atomic_add_fetch(&s->gathered, 1, __ATOMIC_RELEASE) == n)
					server_wake_loops(s);
			} else {
				server_close(cand[i]);
			}
			cand[i] = cand[--ncand];
			pfd[i + 1] = pfd[ncand + 1];
		}
		server_reap(l);
		if (!(pfd[0].revents & POLLIN))
			continue;
		for (;;) {
			struct conn *c;
			int a = blocking_all_gathered(s, n) ? 0 : server_accept(l, &c);
			if (a < 0)
				goto out;
			if (a == 0)
				break;      /* nothing pending (or one refused): poll again */
			if (ncand == cap) {
				struct conn **gc = realloc(cand, 2 * cap * sizeof(*cand));
				struct pollfd *gp = gc ? realloc(pfd, (2 * cap + 1) * sizeof(*pfd)) : NULL;
				if (gc)
					cand = gc;
				if (!gp) {
					conn_error(c, ENOMEM);
					server_close(c);
					continue;
				}
				pfd = gp;
				cap *= 2;
			}
			pfd[ncand + 1] = (struct pollfd){ .fd = c->fd, .events = POLLIN };
			cand[ncand++] = c;
		}
	}
	rc = (int)have;
out:
	free(cand);
	free(pfd);
	return rc;
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
	conns = calloc(n, sizeof(*conns));
	if (!conns) {
		msg("out of memory for %u sources", n);
		return -1;
	}
	have = blocking_gather(l, conns, n);
	if (have < 0) {
		free(conns);
		return -1;
	}
	/* The round goes by source id - read(sockfd_0), read(sockfd_1), ...
	 * - whatever order their first frames came in. */
	qsort(conns, (size_t)have, sizeof(*conns), blocking_by_id);

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
	/* No BE_BLOCKING_LISTEN: it gathers its sources with poll() over
	 * the listener and the candidates, then never accepts again. */
	.features = BE_PULL_IN_TURN | BE_ACCEPTS_ALL_FIRST | BE_ROUND | BE_LOOPS,
	.run = blocking_run,
};
