/*
 * libuv/libuv.c - the libuv backend: Node.js's event loop reads for us.
 *
 * What it shows: what a library costs on top of the system call it wraps.
 * libuv on Linux is epoll underneath (uv__io_poll), level-triggered, so
 * the comparison is with the epoll backend. Here libuv does the reading
 * itself: each connection is a uv_tcp_t adopted with uv_tcp_open() and
 * uv_read_start(); libuv asks our allocation callback for a buffer before
 * every read(2), and we hand out the loop's read buffer (a
 * single-threaded loop consumes it before the next read), so no byte is
 * copied and nothing is allocated per frame. The read callback hands the
 * bytes to the core's frame assembler. The listener is a uv_poll_t on the
 * core's listening socket, so accepting (limits, EMFILE) stays the core's.
 *
 * libuv reads a ready stream up to 32 times per wakeup (stopping early
 * when a read does not fill the buffer): 8 MiB with our buffer, enough for
 * one flooding source to delay the others by milliseconds. So --budget is
 * kept the way a libuv program applies back-pressure: a stream that has
 * had its budget in this turn is stopped (uv_read_stop) and started again
 * after the turn; being level-triggered, epoll reports it again. That
 * costs libuv an epoll_ctl or two per throttled turn, not per frame.
 *
 * A reset that arrives behind data is reported by libuv as an EOF: on a
 * hang-up after a short read it does not read again (uv__stream_io's
 * POLLHUP short cut). The pending error is still on the socket, so an EOF
 * asks for it (getsockopt SO_ERROR, once per connection) and a reset is
 * reported as one, as with the other backends.
 *
 * What we can count: every read(2) (one read callback each; nread == 0 is
 * libuv's EAGAIN) and every turn of the loop (one epoll_wait, except when
 * a turn fills libuv's 1024-event array). The epoll_ctl calls libuv makes
 * are not visible and not counted.
 *
 * A uv_tcp_t owns its descriptor: uv_close() closes it. The core closes
 * c->fd as well, right after (server_close calls our forget first), which
 * finds it already closed (EBADF, ignored by the core); in one thread
 * nothing opens a descriptor in between, so the number cannot have been
 * reused - which is why this backend runs one loop only (no --loops).
 *
 * Needs: libuv >= 1.x (`apt-get install libuv1-dev`, then make). Try it:
 *   bin/daqmux server --backend libuv --sources 2 &
 *   bin/daqmux client --sources 2 --count 1000
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "events.h"
#include "server.h"
#include "util.h"

#ifdef HAVE_LIBUV
#include <fcntl.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <uv.h>

struct luv_loop {
	uv_loop_t uv;            /* uv.data = the core's struct loop */
	uv_poll_t listener;
	uv_timer_t tick;         /* bounds each turn by server_wait_ms() */
	struct luv_conn *stopped;  /* stopped for the rest of this turn (budget) */
	uint64_t turn;
	int ms;                  /* this turn's timeout, for --events */
	int waited;              /* --events: this turn's wait line is out */
	int failed;
};

/*
 * --events: libuv's epoll_wait is out of sight, so the wait line comes
 * with the turn's first callback (and lists each connection a callback
 * was for), or after the turn when none came.
 */
static void luv_seen(struct loop *l, struct conn *c)
{
	struct luv_loop *ll = l->priv;

	ev_seen(l, c, &ll->waited, "epoll_wait in uv_run", ll->ms);
}

/* Per connection (conn_data, freed by server_reap): the handle. Every
 * handle closed in a turn has had its close callback by the end of that
 * uv_run, and the loop reaps only after it, so the memory outlives
 * libuv's use of it. */
struct luv_conn {
	uv_tcp_t h;              /* h.data = the conn */
	int open;                /* uv_tcp_init done: must go through uv_close */
	int reading;             /* uv_read_start in force */
	struct luv_conn *next_stopped;
	uint64_t turn;           /* the turn `bytes` counts for */
	size_t bytes;            /* read in that turn */
};

static struct luv_conn *luv_conn(struct conn *c)
{
	return conn_data(c);
}

static struct loop *luv_loop_of(const uv_handle_t *h)
{
	return h->loop->data;
}

static void luv_read(uv_stream_t *st, ssize_t n, const uv_buf_t *buf);

/* The loop's buffer for every read: libuv calls this right before each
 * read(2) and hands the bytes back before asking again. */
static void luv_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
	struct loop *l = luv_loop_of(h);

	(void)suggested;
	*buf = uv_buf_init((char *)l->rbuf, (unsigned)l->rbuf_size);
}

static int luv_start(struct luv_conn *lc)
{
	int err = 0;

	if (!lc->reading && (err = uv_read_start((uv_stream_t *)&lc->h, luv_alloc, luv_read)) == 0)
		lc->reading = 1;
	return err;
}

static void luv_stop(struct luv_conn *lc)
{
	if (lc->reading && uv_read_stop((uv_stream_t *)&lc->h) == 0)
		lc->reading = 0;
}

/* Every end of a connection (server_close calls it right before its own
 * close of the descriptor, which uv_close has closed already). */
static void luv_forget(struct loop *l, struct conn *c)
{
	struct luv_conn *lc = luv_conn(c);

	(void)l;
	if (!lc->open)
		return;
	lc->open = 0;
	lc->reading = 0;
	lc->h.data = NULL;
	uv_close((uv_handle_t *)&lc->h, NULL);
}

static void luv_pause(struct loop *l, struct conn *c)
{
	(void)l;
	luv_stop(luv_conn(c));
}

static void luv_resume(struct loop *l, struct conn *c)
{
	int err = luv_start(luv_conn(c));

	(void)l;
	if (err < 0) {
		conn_error(c, -err);
		server_close(c);
	}
}

/* The budget: stop reading a stream that has had its share of this turn. */
static void luv_charge(struct loop *l, struct luv_conn *lc, size_t n)
{
	struct luv_loop *ll = l->priv;

	if (lc->turn != ll->turn) {
		lc->turn = ll->turn;
		lc->bytes = 0;
	}
	lc->bytes += n;
	if (lc->bytes >= l->s->opt.budget && lc->reading) {
		luv_stop(lc);
		lc->next_stopped = ll->stopped;
		ll->stopped = lc;
	}
}

/* After the turn: every stream stopped for its budget reads again, unless
 * it was paused meanwhile (its resume starts it) or ended. */
static void luv_restart(struct loop *l)
{
	struct luv_loop *ll = l->priv;
	int err;

	while (ll->stopped) {
		struct luv_conn *lc = ll->stopped;
		struct conn *c = lc->h.data;

		ll->stopped = lc->next_stopped;
		if (!c || c->paused)
			continue;
		if ((err = luv_start(lc)) < 0) {
			conn_error(c, -err);
			server_close(c);
		}
	}
}

/* libuv's EOF may be a reset it did not read (see the top): ask. */
static void luv_eof(struct conn *c)
{
	int err = 0;
	socklen_t len = sizeof(err);

	if (getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &len) == 0 && err)
		conn_error(c, err);
	else
		conn_eof(c);
}

static void luv_read(uv_stream_t *st, ssize_t n, const uv_buf_t *buf)
{
	struct luv_conn *lc = (struct luv_conn *)st;
	struct conn *c = st->data;

	if (!c)
		return;                  /* ended: libuv stops reading at uv_close */
	c->sc->reads++;
	luv_seen(c->loop, c);
	ev_read(c, n > 0 ? n : n == 0 ? -1 : n == UV_EOF ? 0 : -1,
		n == 0 ? EAGAIN : n < 0 && n != UV_EOF ? (int)-n : 0, "read");
	if (n > 0) {
		if (conn_input(c, (const uint8_t *)buf->base, (size_t)n, now_ns()) == CONN_END)
			server_close(c);
		else
			luv_charge(c->loop, lc, (size_t)n);
	} else if (n == 0) {
		c->sc->eagain++;         /* libuv's word for EAGAIN */
	} else {
		if (n == UV_EOF)
			luv_eof(c);
		else
			conn_error(c, (int)-n);   /* libuv errors are -errno on Unix */
		server_close(c);
	}
}

static void luv_adopt(struct loop *l, struct conn *c)
{
	struct luv_loop *ll = l->priv;
	struct luv_conn *lc = luv_conn(c);
	int err;

	if ((err = uv_tcp_init(&ll->uv, &lc->h)) < 0) {
		conn_error(c, -err);
		server_close(c);
		return;
	}
	lc->open = 1;
	lc->h.data = c;
	/* uv_tcp_open: from here libuv owns the descriptor (see the top). */
	if ((err = uv_tcp_open(&lc->h, c->fd)) < 0 || (err = luv_start(lc)) < 0) {
		conn_error(c, -err);
		server_close(c);
	}
}

static void luv_accept(uv_poll_t *p, int status, int events)
{
	struct loop *l = luv_loop_of((uv_handle_t *)p);
	struct luv_loop *ll = l->priv;
	struct conn *c;
	int rc;

	(void)events;
	luv_seen(l, NULL);
	if (status < 0) {
		msg("libuv: polling %s: %s", l->s->listen_name, uv_strerror(status));
		ll->failed = 1;
		return;
	}
	while ((rc = server_accept(l, &c)) == 1)
		luv_adopt(l, c);
	if (rc < 0)
		ll->failed = 1;
}

static void luv_tick(uv_timer_t *t)
{
	(void)t;                 /* only there to end uv_run(UV_RUN_ONCE) */
}

/*
 * Stopping: every handle closed and its close callback run, so that
 * uv_loop_close() finds nothing open. The core closes the descriptors of
 * the connections still open after run(), after the summary; so that it
 * closes one of its own and not a number libuv freed, each gets a
 * duplicate first (if even that fails, the core's close finds EBADF).
 */
static void luv_close_all(struct loop *l)
{
	struct luv_loop *ll = l->priv;

	for (struct conn *c = l->live; c; c = c->next) {
		int keep = luv_conn(c)->open ? fcntl(c->fd, F_DUPFD_CLOEXEC, 0) : -1;

		luv_forget(l, c);
		if (keep >= 0)
			c->fd = keep;
	}
	uv_close((uv_handle_t *)&ll->listener, NULL);
	uv_close((uv_handle_t *)&ll->tick, NULL);
	(void)uv_run(&ll->uv, UV_RUN_DEFAULT);
}

static int luv_run(struct loop *l)
{
	struct server *s = l->s;
	struct luv_loop *ll = l->priv;
	int err;

	if ((err = uv_loop_init(&ll->uv)) < 0) {
		msg("uv_loop_init: %s", uv_strerror(err));
		return -1;
	}
	ll->uv.data = l;
	(void)uv_timer_init(&ll->uv, &ll->tick);         /* cannot fail */
	if ((err = uv_poll_init_socket(&ll->uv, &ll->listener, l->accept_fd)) < 0) {
		msg("libuv: uv_poll_init_socket(%s): %s", s->listen_name, uv_strerror(err));
		uv_close((uv_handle_t *)&ll->tick, NULL);
		(void)uv_run(&ll->uv, UV_RUN_DEFAULT);
		(void)uv_loop_close(&ll->uv);
		return -1;
	}
	if ((err = uv_poll_start(&ll->listener, UV_READABLE, luv_accept)) < 0) {
		msg("libuv: uv_poll_start(%s): %s", s->listen_name, uv_strerror(err));
		ll->failed = 1;
	}

	while (!ll->failed && !server_should_stop(s)) {
		/* Before the turn, so that the handles it closes have their
		 * close callbacks in the turn, before the reap. */
		server_sweep(l);
		ll->ms = server_wait_ms(s);
		ll->waited = 0;
		if ((err = uv_timer_start(&ll->tick, luv_tick, (uint64_t)ll->ms, 0)) < 0) {
			msg("uv_timer_start: %s", uv_strerror(err));
			ll->failed = 1;
			break;
		}
		/* One turn: one epoll_wait, then every callback it made due,
		 * then the close callbacks of the handles closed in it. */
		(void)uv_run(&ll->uv, UV_RUN_ONCE);
		l->sc.waits++;
		if (!ll->waited)
			ev_wait(l, 0, "epoll_wait in uv_run(timeout %d ms) -> no callback "
				"(a timeout, or the library's own wake-up)", ll->ms);
		ll->turn++;
		luv_restart(l);
		server_reap(l);
	}
	luv_close_all(l);
	if ((err = uv_loop_close(&ll->uv)) < 0)
		msg("uv_loop_close: %s", uv_strerror(err));
	return ll->failed ? -1 : 0;
}

static int luv_probe(char *why, size_t len)
{
	uv_loop_t loop;
	int err = uv_loop_init(&loop);

	if (err < 0) {
		snprintf(why, len, "uv_loop_init: %s", uv_strerror(err));
		return -1;
	}
	(void)uv_loop_close(&loop);
	return 0;
}

#define LUV_LOOP_SIZE sizeof(struct luv_loop)
#define LUV_CONN_SIZE sizeof(struct luv_conn)
#define LUV_FORGET luv_forget
#define LUV_PAUSE  luv_pause
#define LUV_RESUME luv_resume

#else  /* !HAVE_LIBUV */

static int luv_probe(char *why, size_t len)
{
	return backend_not_compiled_in(why, len, "libuv1-dev");
}

#define luv_run backend_never_runs

#define LUV_LOOP_SIZE 0
#define LUV_CONN_SIZE 0
#define LUV_FORGET NULL
#define LUV_PAUSE  NULL
#define LUV_RESUME NULL

#endif

/* No BE_LOOPS: libuv closes a connection's descriptor itself and the core
 * closes it again right after (see the top); with loops in other threads
 * accepting meanwhile, that second close could hit a reused number. */
const struct backend backend_libuv = {
	.name = "libuv",
	.summary = "libuv (epoll underneath): uv_read_start into the loop's buffer",
	.pref = 9,
	.features = BE_LIBRARY,
	.loop_size = LUV_LOOP_SIZE,
	.conn_size = LUV_CONN_SIZE,
	.probe = luv_probe,
	.run = luv_run,
	.forget = LUV_FORGET,
	.pause = LUV_PAUSE,
	.resume = LUV_RESUME,
};
