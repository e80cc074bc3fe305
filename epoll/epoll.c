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

struct epoll_loop {
	int epfd;
	int edge;
	struct conn **ready;     /* edge mode: served to the budget, not drained */
	size_t nready, cap;
};

struct epoll_conn {
	int in_set;              /* in the interest set (not paused) */
	int in_ready;            /* on the ready list */
};

static struct epoll_conn *epoll_conn(struct conn *c)
{
	return conn_data(c);
}

/* 0, or the errno after saying it. */
static int epoll_ctl_fd(struct loop *l, int op, int fd, void *ptr)
{
	struct epoll_loop *el = l->priv;
	struct epoll_event ev = {
		.events = EPOLLIN | (el->edge ? EPOLLET : 0),
		.data.ptr = ptr,
	};

	l->sc.ctl++;
	if (epoll_ctl(el->epfd, op, fd, &ev) < 0) {
		int err = errno;
		msg("epoll_ctl(%s, %d): %s", op == EPOLL_CTL_ADD ? "ADD" : "DEL", fd, strerror(err));
		return err;
	}
	return 0;
}

/* close() would drop it too; saying so keeps the count honest and does
 * not depend on the descriptor never having been dup'ed. A paused
 * connection is out of the set already. */
static void epoll_forget(struct loop *l, struct conn *c)
{
	if (epoll_conn(c)->in_set)
		(void)epoll_ctl_fd(l, EPOLL_CTL_DEL, c->fd, NULL);
	epoll_conn(c)->in_set = 0;
}

/* Into the interest set; a failure ends the connection (reported). */
static void epoll_add(struct loop *l, struct conn *c)
{
	int err = epoll_ctl_fd(l, EPOLL_CTL_ADD, c->fd, c);

	if (!err) {
		epoll_conn(c)->in_set = 1;
		return;
	}
	conn_error(c, err);
	server_close(c);
}

/* Paused: out of the interest set; the kernel keeps its bytes. */
static void epoll_pause(struct loop *l, struct conn *c)
{
	epoll_forget(l, c);
}

/* Back in: ADD looks at the socket at once, so bytes that arrived while
 * it was out are reported, in edge mode too. */
static void epoll_resume(struct loop *l, struct conn *c)
{
	epoll_add(l, c);
}

static int epoll_mark_ready(struct epoll_loop *el, struct conn *c)
{
	if (epoll_conn(c)->in_ready)
		return 0;
	if (el->nready == el->cap) {
		size_t cap = el->cap ? 2 * el->cap : 64;
		struct conn **v = realloc(el->ready, cap * sizeof(*v));
		if (!v)
			return -1;
		el->ready = v;
		el->cap = cap;
	}
	el->ready[el->nready++] = c;
	epoll_conn(c)->in_ready = 1;
	return 0;
}

/* --no-drain: one read of this much per event. */
#define EPOLL_NO_DRAIN_READ 4096

/* Read what one connection has, within the budget. */
static void epoll_serve(struct loop *l, struct conn *c)
{
	struct epoll_loop *el = l->priv;
	int drained;

	if (c->fd < 0 || c->paused)
		return;       /* closed or paused earlier in this batch */
	if (l->s->opt.no_drain) {
		/* TEACHING MODE (--no-drain, --edge-no-drain), wrong on
		 * purpose: one read per event, and what it left behind is
		 * not remembered. Level-triggered, the next epoll_wait
		 * reports the socket again; edge-triggered it never does
		 * until more bytes arrive - and a sender that has filled the
		 * window sends none: the connection hangs. */
		if (conn_read_one(c, EPOLL_NO_DRAIN_READ) == CONN_END)
			server_close(c);
		return;
	}
	if (conn_read_some(c, &drained) == CONN_END) {
		server_close(c);
	} else if (el->edge && !drained && epoll_mark_ready(el, c) < 0) {
		/* Without the list the kernel would never tell us again. */
		conn_error(c, ENOMEM);
		server_close(c);
	}
}

static int epoll_accept_all(struct loop *l)
{
	struct conn *c;
	int rc;

	while ((rc = server_accept(l, &c)) == 1)
		epoll_add(l, c);
	return rc;
}

static int epoll_run(struct loop *l)
{
	struct server *s = l->s;
	struct epoll_loop *el = l->priv;
	struct epoll_event ev[EPOLL_BATCH];
	int rc = -1;

	el->edge = s->opt.edge;
	el->epfd = epoll_create1(EPOLL_CLOEXEC);
	if (el->epfd < 0) {
		msg("epoll_create1: %s", strerror(errno));
		return -1;
	}
	if (epoll_ctl_fd(l, EPOLL_CTL_ADD, l->accept_fd, NULL))
		goto out;

	while (!server_should_stop(s)) {
		/* Sources cut short by the budget are still readable: do not
		 * sleep while they wait. */
		int ms = el->nready ? 0 : server_wait_ms(s);
		int n = epoll_wait(el->epfd, ev, EPOLL_BATCH, ms);
		l->sc.waits++;
		ev_wait(l, n, "epoll_wait(timeout %d ms)", ms);
		for (int i = 0; EV_ON(s) && i < n; i++)
			ev_ready(l, ev[i].data.ptr);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			msg("epoll_wait: %s", strerror(errno));
			goto out;
		}

		/* Edge mode: last round's leftovers first (round-robin), then
		 * the new events. Serving may append to the list again, so walk
		 * the part that was there and slide the rest down after. */
		size_t carried = el->nready;
		for (size_t i = 0; i < carried; i++) {
			epoll_conn(el->ready[i])->in_ready = 0;
			epoll_serve(l, el->ready[i]);
		}
		for (int i = 0; i < n; i++) {
			struct conn *c = ev[i].data.ptr;
			if (!c) {
				if (epoll_accept_all(l) < 0)
					goto out;
				continue;
			}
			epoll_serve(l, c);
		}
		server_sweep(l);

		/* Drop what was served and what closed in this batch before
		 * server_reap() frees the closed ones. */
		size_t keep = 0;
		for (size_t i = carried; i < el->nready; i++)
			if (el->ready[i]->fd >= 0)
				el->ready[keep++] = el->ready[i];
		el->nready = keep;
		server_reap(l);
	}
	rc = 0;
out:
	free(el->ready);
	close(el->epfd);
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
	.pref = 40,
	.features = BE_EDGE | BE_LOOPS,
	.loop_size = sizeof(struct epoll_loop),
	.conn_size = sizeof(struct epoll_conn),
	.probe = epoll_probe,
	.run = epoll_run,
	.forget = epoll_forget,
	.pause = epoll_pause,
	.resume = epoll_resume,
};
