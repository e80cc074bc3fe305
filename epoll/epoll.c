/*
 * epoll/epoll.c - the epoll backend: one epoll_wait for every connection.
 *
 * What it shows: the kernel keeps the interest set, so a wait costs in
 * proportion to the connections that are READY, not to all of them -
 * ten thousand idle sockets cost nothing per wakeup. Level-triggered by
 * default (a socket with bytes left is reported again, so the per-wakeup
 * budget needs no bookkeeping); --edge switches to edge-triggered, where
 * the kernel reports a socket once per arrival, so a source cut short by
 * the budget must be remembered here and served again without waiting.
 *
 * Needs: Linux. Try it:
 *   bin/daqmux server --backend epoll --sources 2 &
 *   bin/daqmux client --sources 2 --count 1000
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <unistd.h>

#include "server.h"
#include "util.h"

#define EPOLL_BATCH 256
#define EPOLL_READY 1u        /* conn->bflags: in the ready list */
#define EPOLL_PAUSED 2u       /* conn->bflags: out of the interest set */

struct epoll_loop {
	int epfd;
	int edge;
	struct conn **ready;     /* edge mode: served to the budget, not drained */
	size_t nready, cap;
};

static int epoll_watch(struct server *s, struct epoll_loop *l, int fd, void *ptr)
{
	struct epoll_event ev = {
		.events = EPOLLIN | (l->edge ? EPOLLET : 0),
		.data.ptr = ptr,
	};
	s->sc.ctl++;
	if (epoll_ctl(l->epfd, EPOLL_CTL_ADD, fd, &ev) < 0) {
		msg("epoll_ctl(ADD, %d): %s", fd, strerror(errno));
		return -1;
	}
	return 0;
}

static void epoll_forget(struct server *s, struct conn *c)
{
	struct epoll_loop *l = c->priv;

	if (c->bflags & EPOLL_PAUSED)
		return;               /* not in the set */
	/* close() would drop it too; saying so keeps the count honest and
	 * does not depend on the descriptor never having been dup'ed. */
	s->sc.ctl++;
	if (epoll_ctl(l->epfd, EPOLL_CTL_DEL, c->fd, NULL) < 0)
		msg("epoll_ctl(DEL, %d): %s", c->fd, strerror(errno));
}

/* Backpressure: out of the interest set until resumed. Deleting (not a
 * MOD to no events) because EPOLLHUP and EPOLLERR are always reported,
 * and a reset peer would then wake a level-triggered loop forever. */
static void epoll_pause(struct server *s, struct conn *c)
{
	epoll_forget(s, c);
	c->bflags |= EPOLL_PAUSED;
}

/* Back in: ADD reports bytes that are already waiting, edge mode too. */
static void epoll_resume(struct server *s, struct conn *c)
{
	struct epoll_loop *l = c->priv;

	c->bflags &= ~EPOLL_PAUSED;
	if (epoll_watch(s, l, c->fd, c) < 0) {
		conn_error(s, c, errno);
		server_close(s, c);
	}
}

static int epoll_mark_ready(struct epoll_loop *l, struct conn *c)
{
	if (c->bflags & EPOLL_READY)
		return 0;
	if (l->nready == l->cap) {
		size_t cap = l->cap ? 2 * l->cap : 64;
		struct conn **v = realloc(l->ready, cap * sizeof(*v));
		if (!v)
			return -1;
		l->ready = v;
		l->cap = cap;
	}
	l->ready[l->nready++] = c;
	c->bflags |= EPOLL_READY;
	return 0;
}

/* Read what one connection has, within the budget. */
static void epoll_serve(struct server *s, struct epoll_loop *l, struct conn *c)
{
	int drained;

	if (c->fd < 0)
		return;       /* closed earlier in this batch */
	if (conn_read_some(s, c, s->rbuf, s->rbuf_size, s->opt.budget, &drained) == CONN_END) {
		epoll_forget(s, c);
		server_close(s, c);
	} else if (l->edge && !drained && epoll_mark_ready(l, c) < 0) {
		/* Without the list the kernel would never tell us again. */
		conn_error(s, c, ENOMEM);
		epoll_forget(s, c);
		server_close(s, c);
	}
}

static int epoll_accept_all(struct server *s, struct epoll_loop *l)
{
	struct conn *c;
	int rc;

	while ((rc = server_accept(s, &s->sc, 0, &c)) == 1) {
		c->priv = l;
		if (epoll_watch(s, l, c->fd, c) < 0) {
			conn_error(s, c, errno);
			server_close(s, c);
		}
	}
	return rc;
}

static int epoll_run(struct server *s)
{
	struct epoll_loop l = { .edge = s->opt.edge };
	struct epoll_event ev[EPOLL_BATCH];
	int rc = -1;

	l.epfd = epoll_create1(EPOLL_CLOEXEC);
	if (l.epfd < 0) {
		msg("epoll_create1: %s", strerror(errno));
		return -1;
	}
	if (epoll_watch(s, &l, s->lfd, NULL) < 0)
		goto out;

	while (!server_should_stop(s)) {
		/* Sources cut short by the budget are still readable: do not
		 * sleep while they wait. */
		int n = epoll_wait(l.epfd, ev, EPOLL_BATCH, l.nready ? 0 : server_wait_ms(s));
		s->sc.waits++;
		if (n < 0) {
			if (errno == EINTR)
				continue;
			msg("epoll_wait: %s", strerror(errno));
			goto out;
		}

		/* Edge mode: last round's leftovers first (round-robin), then
		 * the new events. Serving may append to the list again, so walk
		 * the part that was there and slide the rest down after. */
		size_t carried = l.nready;
		for (size_t i = 0; i < carried; i++) {
			l.ready[i]->bflags &= ~EPOLL_READY;
			epoll_serve(s, &l, l.ready[i]);
		}
		for (int i = 0; i < n; i++) {
			struct conn *c = ev[i].data.ptr;
			if (!c) {
				if (epoll_accept_all(s, &l) < 0)
					goto out;
				continue;
			}
			epoll_serve(s, &l, c);
		}
		server_sweep(s, epoll_forget);

		/* Drop what was served and what closed in this batch before
		 * server_reap() frees the closed ones. */
		size_t keep = 0;
		for (size_t i = carried; i < l.nready; i++)
			if (l.ready[i]->fd >= 0)
				l.ready[keep++] = l.ready[i];
		l.nready = keep;
		server_reap(s);
	}
	rc = 0;
out:
	free(l.ready);
	close(l.epfd);
	return rc;
}

static int epoll_probe(char *why, size_t len)
{
	int fd = epoll_create1(EPOLL_CLOEXEC);
	if (fd < 0) {
		snprintf(why, len, "epoll_create1: %s", strerror(errno));
		return -1;
	}
	close(fd);
	return 0;
}

const struct backend backend_epoll = {
	.name = "epoll",
	.summary = "epoll_wait over nonblocking sockets; level-triggered, --edge for edge",
	.probe = epoll_probe,
	.run = epoll_run,
	.pause = epoll_pause,
	.resume = epoll_resume,
};
