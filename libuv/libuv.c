/*
 * libuv/libuv.c - the libuv backend: Node.js's event loop reads for us.
 *
 * What it shows: what a library costs on top of the system call it wraps.
 * libuv on Linux is epoll underneath (uv__io_poll), level-triggered, so
 * the comparison is with the epoll backend. Here libuv does the reading
 * itself: each connection is a uv_tcp_t adopted with uv_tcp_open() and
 * uv_read_start(); libuv asks our allocation callback for a buffer before
 * every read(2), and we hand out the server's one read buffer (a
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
 * c->fd as well, right after, which finds it already closed (EBADF,
 * ignored by the core); nothing opens a descriptor in between, so the
 * number cannot have been reused.
 *
 * Needs: libuv >= 1.x (`apt-get install libuv1-dev`, then make). Try it:
 *   bin/daqmux server --backend libuv --sources 2 &
 *   bin/daqmux client --sources 2 --count 1000
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "server.h"
#include "util.h"

#ifdef HAVE_LIBUV
#include <stdlib.h>
#include <sys/socket.h>
#include <uv.h>

struct luv_loop {
	uv_loop_t loop;          /* loop.data = this */
	uv_poll_t listener;
	uv_timer_t tick;         /* bounds each turn by server_wait_ms() */
	struct server *s;
	struct luv_conn *paused; /* stopped for the rest of this turn (budget) */
	uint64_t turn;
	int failed;
};

/* One per connection, freed by libuv's close callback: the handle must
 * outlive the connection until libuv says it has let go. */
struct luv_conn {
	uv_tcp_t h;              /* first: a uv_handle_t * is a luv_conn * */
	struct conn *c;          /* NULL once ended */
	struct luv_conn *next_paused;
	uint64_t turn;           /* the turn `bytes` counts for */
	size_t bytes;            /* read in that turn */
};

static struct luv_loop *luv_of(const uv_handle_t *h)
{
	return h->loop->data;
}

static void luv_freed(uv_handle_t *h)
{
	free(h);
}

/* Every end of a connection, and --idle-timeout's forget(). */
static void luv_forget(struct server *s, struct conn *c)
{
	struct luv_conn *lc = c->priv;

	(void)s;
	lc->c = NULL;
	uv_close((uv_handle_t *)&lc->h, luv_freed);
}

static void luv_end(struct server *s, struct conn *c)
{
	luv_forget(s, c);
	server_close(s, c);
}

/* The server's buffer for every read: libuv calls this right before each
 * read(2) and hands the bytes back before asking again. */
static void luv_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
	struct server *s = luv_of(h)->s;

	(void)suggested;
	*buf = uv_buf_init((char *)s->rbuf, (unsigned)s->rbuf_size);
}

static void luv_read(uv_stream_t *st, ssize_t n, const uv_buf_t *buf);

/* The budget: stop reading a stream that has had its share of this turn. */
static void luv_charge(struct luv_loop *l, struct luv_conn *lc, size_t n)
{
	if (lc->turn != l->turn) {
		lc->turn = l->turn;
		lc->bytes = 0;
	}
	lc->bytes += n;
	if (lc->bytes >= l->s->opt.budget && uv_read_stop((uv_stream_t *)&lc->h) == 0) {
		lc->next_paused = l->paused;
		l->paused = lc;
	}
}

/* After the turn: every stream stopped for its budget reads again. None
 * has ended meanwhile (a stopped stream gets no callback). */
static void luv_resume(struct server *s, struct luv_loop *l)
{
	int err;

	while (l->paused) {
		struct luv_conn *lc = l->paused;
		l->paused = lc->next_paused;
		if ((err = uv_read_start((uv_stream_t *)&lc->h, luv_alloc, luv_read)) < 0) {
			conn_error(s, lc->c, -err);
			luv_end(s, lc->c);
		}
	}
}

/* libuv's EOF may be a reset it did not read (see the top): ask. */
static void luv_eof(struct server *s, struct conn *c)
{
	int err = 0;
	socklen_t len = sizeof(err);

	if (getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &len) == 0 && err)
		conn_error(s, c, err);
	else
		conn_eof(s, c);
}

static void luv_read(uv_stream_t *st, ssize_t n, const uv_buf_t *buf)
{
	struct luv_conn *lc = (struct luv_conn *)st;
	struct luv_loop *l = luv_of((uv_handle_t *)st);
	struct server *s = l->s;
	struct conn *c = lc->c;

	if (!c)
		return;                  /* ended: libuv stops reading at uv_close */
	c->sc->reads++;
	if (n > 0) {
		if (conn_input(s, c, (const uint8_t *)buf->base, (size_t)n, now_ns()) == CONN_END)
			luv_end(s, c);
		else
			luv_charge(l, lc, (size_t)n);
	} else if (n == 0) {
		c->sc->eagain++;         /* libuv's word for EAGAIN */
	} else {
		if (n == UV_EOF)
			luv_eof(s, c);
		else
			conn_error(s, c, (int)-n);   /* libuv errors are -errno on Unix */
		luv_end(s, c);
	}
}

static void luv_adopt(struct server *s, struct luv_loop *l, struct conn *c)
{
	struct luv_conn *lc = calloc(1, sizeof(*lc));
	int err;

	if (!lc) {
		conn_error(s, c, ENOMEM);
		server_close(s, c);
		return;
	}
	if ((err = uv_tcp_init(&l->loop, &lc->h)) < 0) {
		free(lc);
		conn_error(s, c, -err);
		server_close(s, c);
		return;
	}
	lc->c = c;
	c->priv = lc;
	/* From here the handle exists and must be closed through libuv. */
	if ((err = uv_tcp_open(&lc->h, c->fd)) < 0 ||
	    (err = uv_read_start((uv_stream_t *)&lc->h, luv_alloc, luv_read)) < 0) {
		conn_error(s, c, -err);
		luv_end(s, c);
	}
}

static void luv_accept(uv_poll_t *p, int status, int events)
{
	struct luv_loop *l = luv_of((uv_handle_t *)p);
	struct server *s = l->s;
	struct conn *c;
	int rc;

	(void)events;
	if (status < 0) {
		msg("libuv: polling %s: %s", s->listen_name, uv_strerror(status));
		l->failed = 1;
		return;
	}
	while ((rc = server_accept(s, &s->sc, 0, &c)) == 1)
		luv_adopt(s, l, c);
	if (rc < 0)
		l->failed = 1;
}

static void luv_tick(uv_timer_t *t)
{
	(void)t;                 /* only there to end uv_run(UV_RUN_ONCE) */
}

/* Close every handle and let libuv run their close callbacks, so that
 * uv_loop_close() finds nothing open. */
static void luv_close_all(struct server *s, struct luv_loop *l)
{
	for (struct conn *c = s->live; c; c = c->next)
		if (c->priv)
			luv_forget(s, c);
	uv_close((uv_handle_t *)&l->listener, NULL);
	uv_close((uv_handle_t *)&l->tick, NULL);
	(void)uv_run(&l->loop, UV_RUN_DEFAULT);
}

static int luv_run(struct server *s)
{
	struct luv_loop l = { .s = s };
	int err;

	if ((err = uv_loop_init(&l.loop)) < 0) {
		msg("uv_loop_init: %s", uv_strerror(err));
		return -1;
	}
	l.loop.data = &l;
	(void)uv_timer_init(&l.loop, &l.tick);           /* cannot fail */
	if ((err = uv_poll_init_socket(&l.loop, &l.listener, s->lfd)) < 0) {
		msg("libuv: uv_poll_init_socket(%s): %s", s->listen_name, uv_strerror(err));
		uv_close((uv_handle_t *)&l.tick, NULL);
		(void)uv_run(&l.loop, UV_RUN_DEFAULT);
		(void)uv_loop_close(&l.loop);
		return -1;
	}
	if ((err = uv_poll_start(&l.listener, UV_READABLE, luv_accept)) < 0) {
		msg("libuv: uv_poll_start(%s): %s", s->listen_name, uv_strerror(err));
		l.failed = 1;
	}

	while (!l.failed && !server_should_stop(s)) {
		if ((err = uv_timer_start(&l.tick, luv_tick, (uint64_t)server_wait_ms(s), 0)) < 0) {
			msg("uv_timer_start: %s", uv_strerror(err));
			l.failed = 1;
			break;
		}
		/* One turn: one epoll_wait, then every callback it made due.
		 * Handles closed in this turn get their close callbacks at the
		 * end of it; conns are freed by server_reap() and a luv_conn
		 * no longer points to its conn once ended. */
		(void)uv_run(&l.loop, UV_RUN_ONCE);
		s->sc.waits++;
		l.turn++;
		luv_resume(s, &l);
		server_sweep(s, luv_forget);
		server_reap(s);
	}
	luv_close_all(s, &l);
	if ((err = uv_loop_close(&l.loop)) < 0)
		msg("uv_loop_close: %s", uv_strerror(err));
	return l.failed ? -1 : 0;
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

#else  /* !HAVE_LIBUV */

static int luv_probe(char *why, size_t len)
{
	snprintf(why, len, "not compiled in: install libuv1-dev (apt-get install libuv1-dev) "
		 "and rebuild with make");
	return -1;
}

static int luv_run(struct server *s)
{
	(void)s;
	return -1;                       /* never called: the probe refuses */
}

#endif

const struct backend backend_libuv = {
	.name = "libuv",
	.summary = "libuv (epoll underneath): uv_read_start into the server's buffer",
	.probe = luv_probe,
	.run = luv_run,
};
