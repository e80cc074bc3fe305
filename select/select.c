/*
 * select/select.c - the select backend: one select() over every socket.
 *
 * What it shows: the oldest readiness interface. One thread waits for
 * all sources at once, so a silent source no longer stalls the others
 * (compare the blocking backend). Its costs are the price of its age:
 * the interest set is a bitmap the caller hands in on every call, so each
 * wait costs O(highest descriptor) to build, for the kernel to check and
 * for us to scan afterwards, whether one source is ready or a thousand;
 * and the bitmap has FD_SETSIZE (1024) bits, so a descriptor at or above
 * that cannot be waited for at all. FD_SET beyond it writes past the
 * fd_set - with _FORTIFY_SOURCE the program aborts, without it memory is
 * silently corrupted - so such a connection is refused with a message
 * (the server keeps serving the others), never added.
 *
 * Sockets are nonblocking; each ready source is read until EAGAIN or the
 * per-wakeup budget (--budget), so a flooding source cannot starve the
 * rest: select is level-triggered, a source cut short is simply ready
 * again next round, and every ready source gets its turn in between.
 *
 * Needs: nothing beyond POSIX; at most FD_SETSIZE - 1 as the highest
 * descriptor (about 1000 sources). Try it:
 *   bin/daqmux server --backend select --sources 4 &
 *   bin/daqmux client --sources 4 --count 1000
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/select.h>

#include "server.h"
#include "util.h"

struct select_loop {
	fd_set want;                       /* every descriptor we wait for */
	int maxfd;                         /* the highest one in want */
	struct conn *by_fd[FD_SETSIZE];    /* descriptor -> connection */
};

/* server_accept refuses descriptors >= FD_SETSIZE, so fd is in range. */
static void select_watch(struct select_loop *l, int fd, struct conn *c)
{
	FD_SET(fd, &l->want);
	l->by_fd[fd] = c;
	if (fd > l->maxfd)
		l->maxfd = fd;
}

/* Drop c from the set before server_close() releases its descriptor. */
static void select_forget(struct server *s, struct conn *c)
{
	struct select_loop *l = c->priv;

	(void)s;
	FD_CLR(c->fd, &l->want);
	l->by_fd[c->fd] = NULL;
	/* Keep the bound tight: select's cost follows maxfd, not the count. */
	while (l->maxfd >= 0 && !FD_ISSET(l->maxfd, &l->want))
		l->maxfd--;
}

/* Backpressure: out of the interest set (by_fd keeps it) until resumed. */
static void select_pause(struct server *s, struct conn *c)
{
	struct select_loop *l = c->priv;

	(void)s;
	FD_CLR(c->fd, &l->want);
}

static void select_resume(struct server *s, struct conn *c)
{
	struct select_loop *l = c->priv;

	(void)s;
	select_watch(l, c->fd, c);
}

static int select_accept_all(struct server *s, struct select_loop *l)
{
	struct conn *c;
	int rc;

	/* FD_SETSIZE as the limit: the core refuses (with a message) any
	 * connection whose descriptor FD_SET could not hold. */
	while ((rc = server_accept(s, &s->sc, FD_SETSIZE, &c)) == 1) {
		c->priv = l;
		select_watch(l, c->fd, c);
	}
	return rc;
}

static void select_serve(struct server *s, struct conn *c)
{
	int drained;

	if (conn_read_some(s, c, s->rbuf, s->rbuf_size, s->opt.budget, &drained) == CONN_END) {
		select_forget(s, c);
		server_close(s, c);
	}
	/* Not drained (budget spent): level-triggered, so the next select
	 * reports it again at once, after the others had their turn. */
}

static int select_run(struct server *s)
{
	struct select_loop l = { .maxfd = -1 };

	if (s->lfd >= FD_SETSIZE) {
		msg("the select backend cannot wait for the listening socket: descriptor %d "
		    "is beyond FD_SETSIZE (%d)", s->lfd, FD_SETSIZE);
		return -1;
	}
	FD_ZERO(&l.want);
	select_watch(&l, s->lfd, NULL);

	while (!server_should_stop(s)) {
		/* select() overwrites its sets with the result, so it gets a
		 * copy of the interest set each round, and a fresh timeout
		 * (Linux writes the time left into it). */
		fd_set rd = l.want;
		int ms = server_wait_ms(s);
		struct timeval tv = { .tv_sec = ms / 1000, .tv_usec = (ms % 1000) * 1000 };
		int top = l.maxfd;   /* rd holds nothing above it */
		int n = select(top + 1, &rd, NULL, NULL, &tv);

		s->sc.waits++;
		if (n < 0) {
			if (errno == EINTR)
				continue;
			msg("select: %s", strerror(errno));
			return -1;
		}

		/* New connections first: they get descriptors that were free
		 * when rd was copied, so none of them is in rd by mistake. */
		if (n > 0 && FD_ISSET(s->lfd, &rd)) {
			n--;
			if (select_accept_all(s, &l) < 0)
				return -1;
		}
		/* Every ready source once, up to the budget. A connection
		 * closed in this batch is no longer in by_fd (and no accept
		 * reuses its descriptor before the next select). */
		for (int fd = 0; fd <= top && n > 0; fd++) {
			if (fd == s->lfd || !FD_ISSET(fd, &rd))
				continue;
			n--;
			if (l.by_fd[fd])
				select_serve(s, l.by_fd[fd]);
		}
		server_sweep(s, select_forget);
		server_reap(s);
	}
	return 0;
}

const struct backend backend_select = {
	.name = "select",
	.summary = "select over nonblocking sockets; O(max fd) per wait, fds < FD_SETSIZE only",
	.run = select_run,
	.pause = select_pause,
	.resume = select_resume,
};
