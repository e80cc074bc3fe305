/*
 * loops.c - the server's event loops: one per thread (--loops N), each
 * with its own wait set, read buffer, counts and connections, and how
 * connections reach them (--spread).
 *
 * One loop (the default) runs in the calling thread on the listening
 * socket: exactly the single-threaded server. With N loops:
 *  - handoff: the calling thread is the acceptor; it accepts every
 *    connection and deals them out round-robin, each into the chosen
 *    loop's queue with a write to that loop's eventfd, which the loop
 *    watches in place of a listening socket. Exact balance, whatever the
 *    ports; one extra hop per connection (not per frame).
 *  - reuseport: one listening socket per loop on the same port
 *    (SO_REUSEPORT); the kernel hashes each connection to one of them.
 *    No acceptor, no hop; the balance is the hash's.
 * Nothing per frame is shared between loops: each owns its connections
 * and their source records, and the figures are added up at the end.
 */
#include "loops.h"

#include <errno.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#include "net.h"
#include "util.h"

static uint64_t loop_cpu_ns(void)
{
	struct timespec ts;

	if (clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts) < 0)
		return 0;
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* ---- the hand-off queue ------------------------------------------------- */

static int loop_pop(struct loop *l, struct server_handed *h)
{
	int got = 0;

	pthread_mutex_lock(&l->qlock);
	if (l->qlen) {
		*h = l->q[l->qhead];
		l->qhead = (l->qhead + 1) % l->qcap;
		l->qlen--;
		got = 1;
	}
	pthread_mutex_unlock(&l->qlock);
	return got;
}

static void loop_wake(struct loop *l)
{
	uint64_t one = 1;
	ssize_t n;

	do
		n = write(l->accept_fd, &one, sizeof(one));
	while (n < 0 && errno == EINTR);
	/* EAGAIN: the counter is full of unread wake-ups already. */
	if (n < 0 && errno != EAGAIN)
		msg("eventfd write: %s", strerror(errno));
}

void server_wake_loops(struct server *s)
{
	for (unsigned i = 0; i < s->nloops; i++)
		if (s->loops[i].handoff)
			loop_wake(&s->loops[i]);
}

/* Acceptor: queue h for l and wake it. 0, or -1 (out of memory: the
 * caller refuses the connection). */
static int loop_hand(struct loop *l, const struct server_handed *h)
{
	pthread_mutex_lock(&l->qlock);
	if (l->qlen == l->qcap) {
		unsigned cap = l->qcap ? 2 * l->qcap : 64;
		struct server_handed *q = malloc(cap * sizeof(*q));
		if (!q) {
			pthread_mutex_unlock(&l->qlock);
			return -1;
		}
		for (unsigned i = 0; i < l->qlen; i++)
			q[i] = l->q[(l->qhead + i) % l->qcap];
		free(l->q);
		l->q = q;
		l->qhead = 0;
		l->qcap = cap;
	}
	l->q[(l->qhead + l->qlen) % l->qcap] = *h;
	l->qlen++;
	pthread_mutex_unlock(&l->qlock);
	loop_wake(l);
	return 0;
}

static void loop_drain_wake(struct loop *l)
{
	uint64_t v;

	while (read(l->accept_fd, &v, sizeof(v)) < 0 && errno == EINTR)
		;   /* EAGAIN: nothing to reset */
}

int loop_take(struct loop *l, int wait, struct server_handed *h)
{
	if (loop_pop(l, h))
		return 1;
	/* Empty: reset the eventfd, then look again - a hand-off between the
	 * first look and the reset would otherwise wait for the next one. */
	loop_drain_wake(l);
	if (loop_pop(l, h))
		return 1;
	if (wait && !server_should_stop(l->s)) {
		struct pollfd p = { .fd = l->accept_fd, .events = POLLIN };
		if (poll(&p, 1, server_wait_ms(l->s)) > 0) {
			loop_drain_wake(l);
			return loop_pop(l, h);
		}
	}
	return 0;
}

/* The calling thread, with several loops and --spread handoff. */
static int loops_acceptor(struct server *s)
{
	struct syscounts *sc = &s->acceptor_sc;
	unsigned next = 0;
	int all_first = backend_has(s->be, BE_ACCEPTS_ALL_FIRST) && s->opt.sources, rc = 0;

	while (!server_should_stop(s)) {
		/* A backend that takes N sources and no more: once the loops
		 * hold N (connections that delivered a frame: an idle or junk
		 * connection is no source), leave the rest in the backlog, as
		 * its single loop does. */
		int full = all_first &&
			   __atomic_load_n(&s->gathered, __ATOMIC_ACQUIRE) >= s->opt.sources;
		struct pollfd p = { .fd = s->lfd, .events = POLLIN };
		int n = poll(&p, full ? 0 : 1, server_wait_ms(s));
		struct server_handed h;
		int got;

		sc->waits++;
		if (n < 0 && errno != EINTR) {
			msg("poll: %s", strerror(errno));
			rc = -1;
			break;
		}
		if (n <= 0 || full)
			continue;
		while ((got = server_accept_fd(s, s->lfd, 0, sc, &h)) == 1) {
			struct loop *l = &s->loops[next++ % s->nloops];
			if (loop_hand(l, &h) < 0) {
				msg("refused a connection: out of memory for the hand-off queue");
				close(h.fd);
				__atomic_add_fetch(&s->refused, 1, __ATOMIC_RELAXED);
			}
			s->handed++;
		}
		if (got < 0) {
			rc = -1;
			break;
		}
	}
	/* The loops notice the end at their next tick; wake them now. */
	for (unsigned i = 0; i < s->nloops; i++)
		loop_wake(&s->loops[i]);
	syscounts_add(&s->sc, sc);
	return rc;
}

/* ---- one loop ----------------------------------------------------------- */

static void loop_pin(struct loop *l)
{
	const struct server_opts *o = &l->s->opt;
	cpu_set_t set;
	int err;

	if (!o->ncpus)
		return;
	CPU_ZERO(&set);
	CPU_SET(o->cpus[l->id % o->ncpus], &set);
	err = pthread_setaffinity_np(pthread_self(), sizeof(set), &set);
	if (err)
		msg("--cpus: loop %u on CPU %ld: %s", l->id, o->cpus[l->id % o->ncpus], strerror(err));
}

static int loop_run(struct loop *l)
{
	uint64_t cpu0;

	loop_pin(l);
	cpu0 = loop_cpu_ns();
	l->started = 1;
	l->rc = l->s->be->run(l);
	l->started = 0;
	l->cpu_ns = loop_cpu_ns() - cpu0;
	if (l->rc < 0)
		__atomic_store_n(&l->s->failed, 1, __ATOMIC_RELAXED);
	return l->rc;
}

static void *loop_main(void *arg)
{
	(void)loop_run(arg);
	return NULL;
}

int loops_run(struct server *s)
{
	unsigned first = s->loops[0].handoff ? 0 : 1;
	sigset_t stop, old;
	int rc = 0, err;

	if (s->nloops == 1) {
		rc = loop_run(&s->loops[0]);
		syscounts_add(&s->sc, &s->loops[0].sc);
		return rc;
	}
	/* Signals go to this thread, whose wait they interrupt; the loops
	 * see the end at their next tick (or the acceptor's wake-up). */
	sigemptyset(&stop);
	sigaddset(&stop, SIGINT);
	sigaddset(&stop, SIGTERM);
	pthread_sigmask(SIG_BLOCK, &stop, &old);
	for (unsigned i = first; i < s->nloops; i++) {
		err = pthread_create(&s->loops[i].tid, NULL, loop_main, &s->loops[i]);
		if (err) {
			msg("cannot start loop %u: %s", i, strerror(err));
			__atomic_store_n(&s->failed, 1, __ATOMIC_RELAXED);
			break;
		}
		s->loops[i].thread = 1;
	}
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (!s->failed)
		rc = first ? loop_run(&s->loops[0]) : loops_acceptor(s);
	if (rc < 0)
		__atomic_store_n(&s->failed, 1, __ATOMIC_RELAXED);
	for (unsigned i = first; i < s->nloops; i++) {
		if (!s->loops[i].thread)
			continue;
		if ((err = pthread_join(s->loops[i].tid, NULL)) != 0)
			msg("pthread_join: %s", strerror(err));
	}
	for (unsigned i = 0; i < s->nloops; i++) {
		syscounts_add(&s->sc, &s->loops[i].sc);
		if (s->loops[i].rc < 0)
			rc = -1;
	}
	return s->failed ? -1 : rc;
}

/* ---- set-up and the end ------------------------------------------------- */

int loops_init(struct server *s)
{
	unsigned n = s->opt.loops ? s->opt.loops : 1;
	int handoff = n > 1 && s->opt.spread == SPREAD_HANDOFF;
	struct net_addr bound = { .len = sizeof(bound.ss) };

	s->loops = aligned_alloc(_Alignof(struct loop), n * sizeof(*s->loops));
	if (!s->loops) {
		msg("out of memory for %u loops", n);
		return -1;
	}
	memset(s->loops, 0, n * sizeof(*s->loops));
	s->nloops = n;
	for (unsigned i = 0; i < n; i++) {
		struct loop *l = &s->loops[i];
		l->s = s;
		l->id = i;
		l->accept_fd = l->listen_fd = -1;
		pthread_mutex_init(&l->qlock, NULL);
	}
	if (n > 1 && !handoff && getsockname(s->lfd, (struct sockaddr *)&bound.ss, &bound.len) < 0) {
		msg("getsockname: %s", strerror(errno));
		return -1;
	}
	for (unsigned i = 0; i < n; i++) {
		struct loop *l = &s->loops[i];
		l->rbuf_size = SERVER_RBUF_SIZE;
		l->rbuf = malloc(l->rbuf_size);
		l->priv = calloc(1, s->be->loop_size ? s->be->loop_size : 1);
		if (!l->rbuf || !l->priv) {
			msg("out of memory for loop %u", i);
			return -1;
		}
		if (handoff) {
			l->handoff = 1;
			/* Nonblocking, so that resetting it never waits. */
			l->accept_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
			if (l->accept_fd < 0) {
				msg("eventfd: %s", strerror(errno));
				return -1;
			}
		} else if (i == 0) {
			l->accept_fd = l->listen_fd = s->lfd;
		} else {
			/* The port loop 0 got (--listen :0 picks one). */
			unsigned flags = NET_REUSEPORT |
				(backend_has(s->be, BE_BLOCKING_LISTEN) ? 0 : NET_NONBLOCK);
			l->accept_fd = l->listen_fd = net_listen(&bound, 4096, flags);
			if (l->listen_fd < 0)
				return -1;
		}
	}
	return 0;
}

void loop_figures(const struct loop *l, uint64_t *frames, uint64_t *bytes)
{
	*frames = l->frames;
	*bytes = l->bytes;
	for (const struct conn *c = l->live; c; c = c->next) {
		*frames += c->src->frames - c->src_frames0;
		*bytes += c->src->bytes - c->src_bytes0;
	}
}

void loops_free(struct server *s)
{
	struct server_handed h;

	for (unsigned i = 0; i < s->nloops; i++) {
		struct loop *l = &s->loops[i];
		for (struct conn *c = l->live, *next; c; c = next) {
			next = c->next;
			server_close(c);
		}
		server_reap(l);
		while (l->handoff && loop_pop(l, &h))
			close(h.fd);
		if (l->handoff && l->accept_fd >= 0)
			close(l->accept_fd);
		if (l->listen_fd >= 0 && l->listen_fd != s->lfd)
			close(l->listen_fd);
		free(l->q);
		free(l->rbuf);
		free(l->priv);
		pthread_mutex_destroy(&l->qlock);
	}
	free(s->loops);
	s->loops = NULL;
	s->nloops = 0;
}
