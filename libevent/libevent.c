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
 * With --loops N each loop has its own event_base in its own thread (no
 * locking: libevent's bases are independent when not shared).
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

#include "events.h"
#include "server.h"
#include "util.h"

#ifdef HAVE_LIBEVENT
#include <event2/event.h>
#include <stdlib.h>
#include <sys/time.h>

struct lev_loop {
	struct event_base *base;
	struct event *listener, *tick;
	int ms;                  /* this turn's timeout, for --events */
	int waited;              /* --events: this turn's wait line is out */
	int failed;
};

/*
 * --events: libevent's epoll_wait is out of sight, so the wait line comes
 * with the turn's first callback (and lists each connection a callback
 * was for), or after the turn when none came.
 */
static void lev_seen(struct loop *l, struct conn *c)
{
	struct lev_loop *ll = l->priv;

	ev_seen(l, c, &ll->waited, "epoll_wait in event_base_loop", ll->ms);
}

/* Per connection (conn_data): its event, whose argument is the conn. */
struct lev_conn {
	struct event *ev;
	int added;               /* in the base's set (not paused) */
};

static struct lev_conn *lev_conn(struct conn *c)
{
	return conn_data(c);
}

/* In or out of the wait set: one epoll_ctl each (changelist off). */
static int lev_add(struct loop *l, struct conn *c)
{
	struct lev_conn *lc = lev_conn(c);

	l->sc.ctl++;
	if (event_add(lc->ev, NULL) < 0)
		return -1;               /* libevent has logged why */
	lc->added = 1;
	return 0;
}

static void lev_del(struct loop *l, struct conn *c)
{
	struct lev_conn *lc = lev_conn(c);

	if (!lc->added)
		return;
	l->sc.ctl++;
	(void)event_del(lc->ev);
	lc->added = 0;
}

/*
 * Every end of a connection (server_close calls it before the close).
 * Freeing an event inside its own callback is allowed (libevent copies
 * what it needs before calling); a deleted event is never run again, even
 * if it was already active in this turn.
 */
static void lev_forget(struct loop *l, struct conn *c)
{
	struct lev_conn *lc = lev_conn(c);

	lev_del(l, c);
	if (lc->ev)
		event_free(lc->ev);
	lc->ev = NULL;
}

/* Paused: out of the set, the kernel keeps its bytes; back in on resume
 * (level-triggered: what arrived meanwhile is reported at once). */
static void lev_pause(struct loop *l, struct conn *c)
{
	lev_del(l, c);
}

static void lev_resume(struct loop *l, struct conn *c)
{
	if (lev_add(l, c) < 0) {
		conn_error(c, errno ? errno : EINVAL);
		server_close(c);
	}
}

static void lev_read(evutil_socket_t fd, short what, void *arg)
{
	struct conn *c = arg;
	int drained;

	(void)fd;
	(void)what;
	if (c->fd < 0 || c->paused)
		return;
	lev_seen(c->loop, c);
	/* Level-triggered: a source cut short by the budget is reported
	 * again at the next turn, after the others. */
	if (conn_read_some(c, &drained) == CONN_END)
		server_close(c);
}

static void lev_adopt(struct loop *l, struct conn *c)
{
	struct lev_loop *ll = l->priv;
	struct lev_conn *lc = lev_conn(c);

	lc->ev = event_new(ll->base, c->fd, EV_READ | EV_PERSIST, lev_read, c);
	if (!lc->ev) {
		conn_error(c, ENOMEM);
		server_close(c);
	} else if (lev_add(l, c) < 0) {
		conn_error(c, errno ? errno : EINVAL);
		server_close(c);
	}
}

static void lev_accept(evutil_socket_t fd, short what, void *arg)
{
	struct loop *l = arg;
	struct lev_loop *ll = l->priv;
	struct conn *c;
	int rc;

	(void)fd;
	(void)what;
	lev_seen(l, NULL);
	while ((rc = server_accept(l, &c)) == 1)
		lev_adopt(l, c);
	if (rc < 0) {
		ll->failed = 1;
		event_base_loopbreak(ll->base);
	}
}

static void lev_tick(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;                /* only there to end event_base_loop(EVLOOP_ONCE) */
	(void)what;
	(void)arg;
}

static int lev_run(struct loop *l)
{
	struct server *s = l->s;
	struct lev_loop *ll = l->priv;

	if (!(ll->base = event_base_new())) {
		msg("event_base_new failed (libevent says why above)");
		return -1;
	}
	if (strcmp(event_base_get_method(ll->base), "epoll") != 0 && l->id == 0)
		msg("libevent: using %s, not epoll (EVENT_NO* set?)", event_base_get_method(ll->base));
	ll->listener = event_new(ll->base, l->accept_fd, EV_READ | EV_PERSIST, lev_accept, l);
	ll->tick = evtimer_new(ll->base, lev_tick, NULL);
	l->sc.ctl++;
	if (!ll->listener || !ll->tick || event_add(ll->listener, NULL) < 0) {
		msg("libevent: setting up the listener failed");
		ll->failed = 1;
	}

	while (!ll->failed && !server_should_stop(s)) {
		int ms = ll->ms = server_wait_ms(s);
		struct timeval tv = { .tv_sec = ms / 1000, .tv_usec = (ms % 1000) * 1000 };

		ll->waited = 0;

		/* Re-adding a pending timer moves it: no system call. */
		if (evtimer_add(ll->tick, &tv) < 0 || event_base_loop(ll->base, EVLOOP_ONCE) < 0) {
			msg("libevent: event_base_loop failed");
			ll->failed = 1;
			break;
		}
		l->sc.waits++;
		if (!ll->waited)
			ev_wait(l, 0, "epoll_wait in event_base_loop(timeout %d ms) -> no callback "
				"(a timeout, or the library's own wake-up)", ms);
		server_sweep(l);
		server_reap(l);
	}
	/* The core closes what is still open after run(); the events go now,
	 * with the base. */
	for (struct conn *c = l->live; c; c = c->next)
		lev_forget(l, c);
	if (ll->listener)
		event_free(ll->listener);
	if (ll->tick)
		event_free(ll->tick);
	event_base_free(ll->base);
	return ll->failed ? -1 : 0;
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

#define LEV_LOOP_SIZE sizeof(struct lev_loop)
#define LEV_CONN_SIZE sizeof(struct lev_conn)
#define LEV_FORGET lev_forget
#define LEV_PAUSE  lev_pause
#define LEV_RESUME lev_resume

#else  /* !HAVE_LIBEVENT */

static int lev_probe(char *why, size_t len)
{
	return backend_not_compiled_in(why, len, "libevent-dev");
}

#define lev_run backend_never_runs

#define LEV_LOOP_SIZE 0
#define LEV_CONN_SIZE 0
#define LEV_FORGET NULL
#define LEV_PAUSE  NULL
#define LEV_RESUME NULL

#endif

const struct backend backend_libevent = {
	.name = "libevent",
	.summary = "libevent (epoll underneath): EV_READ|EV_PERSIST events, reads to --budget",
	.pref = 8,
	.features = BE_LOOPS | BE_LIBRARY,
	.loop_size = LEV_LOOP_SIZE,
	.conn_size = LEV_CONN_SIZE,
	.probe = lev_probe,
	.run = lev_run,
	.forget = LEV_FORGET,
	.pause = LEV_PAUSE,
	.resume = LEV_RESUME,
};
