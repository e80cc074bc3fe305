/*
 * poll/poll.c - the poll backend: one poll() over an array of pollfds.
 *
 * What it shows: select without its limit. The interest set is an array
 * of struct pollfd (8 bytes each) instead of a 1024-bit map, so any
 * descriptor number works and ten thousand sources are fine. What stays
 * is the cost model: the whole array goes into the kernel on every call
 * and we scan all of it afterwards, O(connections) per wakeup even when
 * one source is ready (epoll's kernel-side interest set removes that).
 *
 * The array is kept stable: the listener is slot 0, a closed connection's
 * slot gets fd = -1 (which poll ignores) and goes on a free list for the
 * next connection, and the array grows by doubling. Slots never move, so
 * a slot index stays valid through a batch in which others close.
 *
 * Sockets are nonblocking; each ready source is read until EAGAIN or the
 * per-wakeup budget (--budget). poll is level-triggered, so a source cut
 * short by the budget is ready again next round, after the others.
 *
 * Needs: nothing beyond POSIX. Try it:
 *   bin/daqmux server --backend poll --sources 4 &
 *   bin/daqmux client --sources 4 --count 1000
 */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "server.h"
#include "util.h"

#define POLL_FIRST_CAP 64

struct poll_loop {
	struct pollfd *pfd;      /* what poll() looks at; slot 0 = listener */
	struct conn **conn;      /* slot -> connection, NULL when free */
	size_t *freed;           /* stack of free slots below used */
	size_t nfreed;
	size_t used;             /* slots ever handed out: poll's nfds */
	size_t cap;
};

static int poll_grow(struct poll_loop *l)
{
	size_t cap = l->cap ? 2 * l->cap : POLL_FIRST_CAP;
	struct pollfd *pfd = realloc(l->pfd, cap * sizeof(*pfd));
	if (!pfd)
		return -1;
	l->pfd = pfd;
	struct conn **conn = realloc(l->conn, cap * sizeof(*conn));
	if (!conn)
		return -1;
	l->conn = conn;
	size_t *fr = realloc(l->freed, cap * sizeof(*fr));
	if (!fr)
		return -1;
	l->freed = fr;
	l->cap = cap;   /* only once all three are this big */
	return 0;
}

/* A slot for fd: a freed one if any, else the next new one. */
static int poll_watch(struct poll_loop *l, int fd, struct conn *c)
{
	size_t i;

	if (l->nfreed)
		i = l->freed[--l->nfreed];
	else if (l->used < l->cap || poll_grow(l) == 0)
		i = l->used++;
	else
		return -1;
	/* revents = 0: a slot taken during a batch must not look ready. */
	l->pfd[i] = (struct pollfd){ .fd = fd, .events = POLLIN };
	l->conn[i] = c;
	if (c) {
		/* server_sweep()'s forget callback gets only the connection,
		 * so it carries both: the loop, and its slot in the backend's
		 * own word (poll has no flags to keep there; slots are bounded
		 * by RLIMIT_NOFILE, far below UINT_MAX). */
		c->priv = l;
		c->bflags = (unsigned)i;
	}
	return 0;
}

/* Give c's slot back before server_close() releases its descriptor. */
static void poll_forget(struct server *s, struct conn *c)
{
	struct poll_loop *l = c->priv;
	size_t i = c->bflags;

	(void)s;
	l->pfd[i].fd = -1;   /* poll skips it and leaves revents 0 */
	l->pfd[i].revents = 0;
	l->conn[i] = NULL;
	l->freed[l->nfreed++] = i;   /* nfreed < used <= cap */
}

/* Backpressure: a negative descriptor is skipped by poll(), POLLHUP and
 * POLLERR included (events = 0 would still report those). ~fd keeps it. */
static void poll_pause(struct server *s, struct conn *c)
{
	struct poll_loop *l = c->priv;

	(void)s;
	l->pfd[c->bflags].fd = ~c->fd;
	l->pfd[c->bflags].revents = 0;
}

static void poll_resume(struct server *s, struct conn *c)
{
	struct poll_loop *l = c->priv;

	(void)s;
	l->pfd[c->bflags].fd = c->fd;
}

static int poll_accept_all(struct server *s, struct poll_loop *l)
{
	struct conn *c;
	int rc;

	while ((rc = server_accept(s, &s->sc, 0, &c)) == 1) {
		if (poll_watch(l, c->fd, c) < 0) {
			conn_error(s, c, ENOMEM);
			server_close(s, c);
		}
	}
	return rc;
}

static void poll_serve(struct server *s, struct conn *c, short rev)
{
	int drained;
	enum conn_state st;

	if (rev & POLLNVAL) {
		/* Not open: a bug here, but only this connection pays. */
		conn_error(s, c, EBADF);
		st = CONN_END;
	} else {
		/* POLLIN, and POLLHUP/POLLERR too: read() returns the EOF or
		 * the error, which the core records with its reason. */
		st = conn_read_some(s, c, s->rbuf, s->rbuf_size, s->opt.budget, &drained);
	}
	if (st == CONN_END) {
		poll_forget(s, c);
		server_close(s, c);
	}
}

static int poll_run(struct server *s)
{
	struct poll_loop l = { 0 };
	int rc = -1;

	if (poll_watch(&l, s->lfd, NULL) < 0) {
		msg("out of memory for the pollfd array");
		goto out;
	}

	while (!server_should_stop(s)) {
		/* nfds_t is unsigned long: used fits. Unlike select, the array
		 * is both the question and the answer (events in, revents out),
		 * so nothing needs copying between rounds. */
		size_t top = l.used;
		int n = poll(l.pfd, (nfds_t)top, server_wait_ms(s));

		s->sc.waits++;
		if (n < 0) {
			if (errno == EINTR)
				continue;
			msg("poll: %s", strerror(errno));
			goto out;
		}

		/* Slot 0 first: accepting may grow (move) the arrays, so
		 * everything below works with slot indices, not pointers. */
		if (n > 0 && l.pfd[0].revents) {
			n--;
			/* Whatever it reports, accept4() says what it means. */
			if (poll_accept_all(s, &l) < 0)
				goto out;
		}
		/* Every ready source once, up to the budget. Slots taken by the
		 * accepts above start with revents 0; slots freed in this batch
		 * are cleared by poll_forget. */
		for (size_t i = 1; i < top && n > 0; i++) {
			short rev = l.pfd[i].revents;
			if (!rev)
				continue;
			n--;
			if (l.conn[i])
				poll_serve(s, l.conn[i], rev);
		}
		server_sweep(s, poll_forget);
		server_reap(s);
	}
	rc = 0;
out:
	free(l.pfd);
	free(l.conn);
	free(l.freed);
	return rc;
}

const struct backend backend_poll = {
	.name = "poll",
	.summary = "poll over nonblocking sockets; O(connections) per wait, no fd limit",
	.run = poll_run,
	.pause = poll_pause,
	.resume = poll_resume,
};
