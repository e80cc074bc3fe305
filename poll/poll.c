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

/* Per connection: its slot. Slot 0 is the listener's, so 0 means none. */
struct poll_conn {
	size_t slot;
};

static struct poll_conn *poll_conn(struct conn *c)
{
	return conn_data(c);
}

static int poll_grow(struct poll_loop *pl)
{
	size_t cap = pl->cap ? 2 * pl->cap : POLL_FIRST_CAP;
	struct pollfd *pfd = realloc(pl->pfd, cap * sizeof(*pfd));
	if (!pfd)
		return -1;
	pl->pfd = pfd;
	struct conn **conn = realloc(pl->conn, cap * sizeof(*conn));
	if (!conn)
		return -1;
	pl->conn = conn;
	size_t *fr = realloc(pl->freed, cap * sizeof(*fr));
	if (!fr)
		return -1;
	pl->freed = fr;
	pl->cap = cap;   /* only once all three are this big */
	return 0;
}

/* A slot for fd: a freed one if any, else the next new one. */
static int poll_watch(struct poll_loop *pl, int fd, struct conn *c)
{
	size_t i;

	if (pl->nfreed)
		i = pl->freed[--pl->nfreed];
	else if (pl->used < pl->cap || poll_grow(pl) == 0)
		i = pl->used++;
	else
		return -1;
	/* revents = 0: a slot taken during a batch must not look ready. */
	pl->pfd[i] = (struct pollfd){ .fd = fd, .events = POLLIN };
	pl->conn[i] = c;
	if (c)
		poll_conn(c)->slot = i;
	return 0;
}

/* Give c's slot back before server_close() releases its descriptor. */
static void poll_forget(struct loop *l, struct conn *c)
{
	struct poll_loop *pl = l->priv;
	size_t i = poll_conn(c)->slot;

	if (!i)
		return;       /* it never had one */
	pl->pfd[i].fd = -1;   /* poll skips it and leaves revents 0 */
	pl->pfd[i].revents = 0;
	pl->conn[i] = NULL;
	pl->freed[pl->nfreed++] = i;   /* nfreed < used <= cap */
}

/* Paused: the slot stays the connection's, with a negative descriptor,
 * which poll skips; resuming puts the descriptor back. */
static void poll_pause(struct loop *l, struct conn *c)
{
	struct poll_loop *pl = l->priv;
	size_t i = poll_conn(c)->slot;

	pl->pfd[i].fd = -1;
	pl->pfd[i].revents = 0;
}

static void poll_resume(struct loop *l, struct conn *c)
{
	struct poll_loop *pl = l->priv;

	pl->pfd[poll_conn(c)->slot].fd = c->fd;
}

static int poll_accept_all(struct loop *l)
{
	struct conn *c;
	int rc;

	while ((rc = server_accept(l, &c)) == 1) {
		if (poll_watch(l->priv, c->fd, c) < 0) {
			conn_error(c, ENOMEM);
			server_close(c);
		}
	}
	return rc;
}

static void poll_serve(struct conn *c, short rev)
{
	int drained;
	enum conn_state st;

	if (rev & POLLNVAL) {
		/* Not open: a bug here, but only this connection pays. */
		conn_error(c, EBADF);
		st = CONN_END;
	} else {
		/* POLLIN, and POLLHUP/POLLERR too: read() returns the EOF or
		 * the error, which the core records with its reason. */
		st = conn_read_some(c, &drained);
	}
	if (st == CONN_END)
		server_close(c);
}

static int poll_run(struct loop *l)
{
	struct server *s = l->s;
	struct poll_loop *pl = l->priv;
	int rc = -1;

	if (poll_watch(pl, l->accept_fd, NULL) < 0) {
		msg("out of memory for the pollfd array");
		goto out;
	}

	while (!server_should_stop(s)) {
		/* nfds_t is unsigned long: used fits. Unlike select, the array
		 * is both the question and the answer (events in, revents out),
		 * so nothing needs copying between rounds. */
		size_t top = pl->used;
		int ms = server_wait_ms(s);
		int n = poll(pl->pfd, (nfds_t)top, ms);

		l->sc.waits++;
		ev_wait(l, n, "poll(%zu fds, timeout %d ms)", top, ms);
		for (size_t i = 0; EV_ON(s) && n > 0 && i < top; i++)
			if (pl->pfd[i].revents)
				ev_ready(l, pl->conn[i]);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			msg("poll: %s", strerror(errno));
			goto out;
		}

		/* Slot 0 first: accepting may grow (move) the arrays, so
		 * everything below works with slot indices, not pointers. */
		if (n > 0 && pl->pfd[0].revents) {
			n--;
			/* Whatever it reports, accept4() says what it means. */
			if (poll_accept_all(l) < 0)
				goto out;
		}
		/* Every ready source once, up to the budget. Slots taken by the
		 * accepts above start with revents 0; slots freed or paused in
		 * this batch are cleared by poll_forget and poll_pause. */
		for (size_t i = 1; i < top && n > 0; i++) {
			short rev = pl->pfd[i].revents;
			if (!rev)
				continue;
			n--;
			if (pl->conn[i])
				poll_serve(pl->conn[i], rev);
		}
		server_sweep(l);
		server_reap(l);
	}
	rc = 0;
out:
	/* The core closes what is still open after run() without asking
	 * poll_forget, so the arrays can go now. */
	free(pl->pfd);
	free(pl->conn);
	free(pl->freed);
	return rc;
}

const struct backend backend_poll = {
	.name = "poll",
	.summary = "poll over nonblocking sockets; O(connections) per wait, no fd limit",
	.pref = 20,
	.features = BE_LOOPS,
	.loop_size = sizeof(struct poll_loop),
	.conn_size = sizeof(struct poll_conn),
	.run = poll_run,
	.forget = poll_forget,
	.pause = poll_pause,
	.resume = poll_resume,
};
