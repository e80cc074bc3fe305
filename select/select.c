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

/* The core refuses descriptors >= FD_SETSIZE (fd_limit), so fd is in range. */
static void select_watch(struct select_loop *sl, int fd)
{
	FD_SET(fd, &sl->want);
	if (fd > sl->maxfd)
		sl->maxfd = fd;
}

static void select_unwatch(struct select_loop *sl, int fd)
{
	FD_CLR(fd, &sl->want);
	/* Keep the bound tight: select's cost follows maxfd, not the count. */
	while (sl->maxfd >= 0 && !FD_ISSET(sl->maxfd, &sl->want))
		sl->maxfd--;
}

/* Drop c before server_close() releases its descriptor. */
static void select_forget(struct loop *l, struct conn *c)
{
	struct select_loop *sl = l->priv;

	select_unwatch(sl, c->fd);
	sl->by_fd[c->fd] = NULL;
}

/* Paused: out of the set, still known by its descriptor. */
static void select_pause(struct loop *l, struct conn *c)
{
	select_unwatch(l->priv, c->fd);
}

static void select_resume(struct loop *l, struct conn *c)
{
	select_watch(l->priv, c->fd);
}

static int select_accept_all(struct loop *l)
{
	struct select_loop *sl = l->priv;
	struct conn *c;
	int rc;

	while ((rc = server_accept(l, &c)) == 1) {
		sl->by_fd[c->fd] = c;
		select_watch(sl, c->fd);
	}
	return rc;
}

static void select_serve(struct conn *c)
{
	int drained;

	/* Paused earlier in this batch: its bit in rd is stale. */
	if (c->paused)
		return;
	if (conn_read_some(c, &drained) == CONN_END)
		server_close(c);
	/* Not drained (budget spent): level-triggered, so the next select
	 * reports it again at once, after the others had their turn. */
}

static int select_run(struct loop *l)
{
	struct server *s = l->s;
	struct select_loop *sl = l->priv;

	if (l->accept_fd >= FD_SETSIZE) {
		msg("the select backend cannot wait for the listening socket: descriptor %d "
		    "is beyond FD_SETSIZE (%d)", l->accept_fd, FD_SETSIZE);
		return -1;
	}
	sl->maxfd = -1;
	FD_ZERO(&sl->want);
	select_watch(sl, l->accept_fd);

	while (!server_should_stop(s)) {
		/* select() overwrites its sets with the result, so it gets a
		 * copy of the interest set each round, and a fresh timeout
		 * (Linux writes the time left into it). */
		fd_set rd = sl->want;
		int ms = server_wait_ms(s);
		struct timeval tv = { .tv_sec = ms / 1000, .tv_usec = (ms % 1000) * 1000 };
		int top = sl->maxfd;   /* rd holds nothing above it */
		int n = select(top + 1, &rd, NULL, NULL, &tv);

		l->sc.waits++;
		ev_wait(l, n, "select(nfds=%d, timeout %d ms)", top + 1, ms);
		for (int fd = 0; EV_ON(s) && n > 0 && fd <= top; fd++)
			if (FD_ISSET(fd, &rd))
				ev_ready(l, fd == l->accept_fd ? NULL : sl->by_fd[fd]);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			msg("select: %s", strerror(errno));
			return -1;
		}

		/* New connections first: they get descriptors that were free
		 * when rd was copied, so none of them is in rd by mistake. */
		if (n > 0 && FD_ISSET(l->accept_fd, &rd)) {
			n--;
			if (select_accept_all(l) < 0)
				return -1;
		}
		/* Every ready source once, up to the budget. A connection
		 * closed in this batch is no longer in by_fd (and no accept
		 * reuses its descriptor before the next select). */
		for (int fd = 0; fd <= top && n > 0; fd++) {
			if (fd == l->accept_fd || !FD_ISSET(fd, &rd))
				continue;
			n--;
			if (sl->by_fd[fd])
				select_serve(sl->by_fd[fd]);
		}
		server_sweep(l);
		server_reap(l);
	}
	return 0;
}

const struct backend backend_select = {
	.name = "select",
	.summary = "select over nonblocking sockets; O(max fd) per wait, fds < FD_SETSIZE only",
	.pref = 10,
	.features = BE_LOOPS,
	/* The core refuses (with a message) any connection whose descriptor
	 * FD_SET could not hold. */
	.fd_limit = FD_SETSIZE,
	.loop_size = sizeof(struct select_loop),
	.run = select_run,
	.forget = select_forget,
	.pause = select_pause,
	.resume = select_resume,
};
