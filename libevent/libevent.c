/*
 * libevent/libevent.c - the libevent backend: memcached's and Tor's loop.
 *
 * What it shows: what a library costs on top of the system call it wraps.
 * libevent on Linux is epoll underneath (its "epoll" method, level-
 * triggered, changelist off), so the comparison is with the epoll
 * backend. The usage is the one memcached and tmux use: one persistent
 * read event per connection (event_add with EV_READ | EV_PERSIST); its
 * callback reads the nonblocking socket until EAGAIN or --budget, handing
 * the bytes to the core's frame assembler. A bufferevent would read into
 * an evbuffer first and cost a copy per byte; the DAQ reader wants the
 * bytes where the assembler is.
 *
 * What we count: every read(2) and EAGAIN (ours), one wait per turn of
 * event_base_loop(EVLOOP_ONCE) (one epoll_wait; a turn that wakes with
 * nothing to run, e.g. EINTR, waits again inside uncounted), and one ctl
 * per event_add/event_del of a connection (libevent's epoll method makes
 * exactly one epoll_ctl for each when the changelist is off, the default).
 *
 * Needs: libevent 2.x (`apt-get install libevent-dev`, then make). Try it:
 *   bin/daqmux server --backend libevent --sources 2 &
 *   bin/daqmux client --sources 2 --count 1000
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "server.h"
#include "util.h"

#ifdef HAVE_LIBEVENT
#include <event2/event.h>
#include <stdlib.h>
#include <sys/time.h>

struct lev_loop {
	struct event_base *base;
	struct event *listener, *tick;
	struct server *s;
	int failed;
};

/* One per connection: the callback's argument. */
struct lev_conn {
	struct event *ev;
	struct lev_loop *l;
	struct conn *c;
};

/* Every end of a connection, and --idle-timeout's forget(). Freeing an
 * event inside its own callback is allowed (libevent copies what it
 * needs before calling); a deleted event is never run again, even if it
 * was already active in this turn. */
static void lev_forget(struct server *s, struct conn *c)
{
	struct lev_conn *lc = c->priv;

	s->sc.ctl++;
	event_free(lc->ev);          /* event_del, then free */
	free(lc);
	c->priv = NULL;
}

static void lev_end(struct server *s, struct conn *c)
{
	lev_forget(s, c);
	server_close(s, c);
}

static void lev_read(evutil_socket_t fd, short what, void *arg)
{
	struct lev_conn *lc = arg;
	struct server *s = lc->l->s;
	int drained;

	(void)fd;
	(void)what;
	/* Level-triggered: a source cut short by the budget is reported
	 * again at the next turn, after the others. */
	if (conn_read_some(s, lc->c, s->rbuf, s->rbuf_size, s->opt.budget, &drained) == CONN_END)
		lev_end(s, lc->c);
}

static void lev_adopt(struct server *s, struct lev_loop *l, struct conn *c)
{
	struct lev_conn *lc = malloc(sizeof(*lc));

	if (!lc || !(lc->ev = event_new(l->base, c->fd, EV_READ | EV_PERSIST, lev_read, lc))) {
		free(lc);
		conn_error(s, c, ENOMEM);
		server_close(s, c);
		return;
	}
	lc->l = l;
	lc->c = c;
	c->priv = lc;
	s->sc.ctl++;
	if (event_add(lc->ev, NULL) < 0) {
		/* libevent has logged why; errno is all it leaves us. */
		conn_error(s, c, errno ? errno : EINVAL);
		lev_end(s, c);
	}
}

static void lev_accept(evutil_socket_t fd, short what, void *arg)
{
	struct lev_loop *l = arg;
	struct conn *c;
	int rc;

	(void)fd;
	(void)what;
	while ((rc = server_accept(l->s, &l->s->sc, 0, &c)) == 1)
		lev_adopt(l->s, l, c);
	if (rc < 0) {
		l->failed = 1;
		event_base_loopbreak(l->base);
	}
}

static void lev_tick(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;                /* only there to end event_base_loop(EVLOOP_ONCE) */
	(void)what;
	(void)arg;
}

static void lev_free(struct server *s, struct lev_loop *l)
{
	for (struct conn *c = s->live; c; c = c->next)
		if (c->priv)
			lev_forget(s, c);
	if (l->listener)
		event_free(l->listener);
	if (l->tick)
		event_free(l->tick);
	event_base_free(l->base);
}

static int lev_run(struct server *s)
{
	struct lev_loop l = { .s = s };

	if (!(l.base = event_base_new())) {
		msg("event_base_new failed (libevent says why above)");
		return -1;
	}
	if (strcmp(event_base_get_method(l.base), "epoll") != 0)
		msg("libevent: using %s, not epoll (EVENT_NO* set?)", event_base_get_method(l.base));
	l.listener = event_new(l.base, s->lfd, EV_READ | EV_PERSIST, lev_accept, &l);
	l.tick = evtimer_new(l.base, lev_tick, NULL);
	s->sc.ctl++;
	if (!l.listener || !l.tick || event_add(l.listener, NULL) < 0) {
		msg("libevent: setting up the listener failed");
		l.failed = 1;
	}

	while (!l.failed && !server_should_stop(s)) {
		int ms = server_wait_ms(s);
		struct timeval tv = { .tv_sec = ms / 1000, .tv_usec = (ms % 1000) * 1000 };

		/* Re-adding a pending timer moves it: no system call. */
		if (evtimer_add(l.tick, &tv) < 0 || event_base_loop(l.base, EVLOOP_ONCE) < 0) {
			msg("libevent: event_base_loop failed");
			l.failed = 1;
			break;
		}
		s->sc.waits++;
		server_sweep(s, lev_forget);
		server_reap(s);
	}
	lev_free(s, &l);
	return l.failed ? -1 : 0;
}

static int lev_probe(char *why, size_t len)
{
	struct event_base *b = event_base_new();

	if (!b) {
		snprintf(why, len, "event_base_new failed: no usable method (%s)", strerror(errno));
		return -1;
	}
	event_base_free(b);
	return 0;
}

#else  /* !HAVE_LIBEVENT */

static int lev_probe(char *why, size_t len)
{
	snprintf(why, len, "not compiled in: install libevent-dev (apt-get install libevent-dev) "
		 "and rebuild with make");
	return -1;
}

static int lev_run(struct server *s)
{
	(void)s;
	return -1;                       /* never called: the probe refuses */
}

#endif

const struct backend backend_libevent = {
	.name = "libevent",
	.summary = "libevent (epoll underneath): EV_READ|EV_PERSIST events, reads to --budget",
	.probe = lev_probe,
	.run = lev_run,
};
