/*
 * glib/glib.c - the GLib backend: the GNOME main loop, as DAQ control GUIs
 * use it.
 *
 * What it shows: what a library costs on top of the system call it wraps.
 * GLib's main loop on Linux is poll() underneath (g_poll), and every turn
 * walks every source twice (prepare, check) and rebuilds the pollfd
 * array, so it grows with the number of connections like the poll
 * backend, which is its comparison. Each connection is one GSource of our
 * own (g_source_new with room for the connection, g_source_add_unix_fd
 * for G_IO_IN): one allocation, and GLib dispatches it whenever poll()
 * reports its descriptor. The dispatch reads the nonblocking socket until
 * EAGAIN or --budget and hands the bytes to the core's frame assembler.
 * Each loop runs on its own GMainContext, not the global default one, so
 * --loops N gives N independent contexts in N threads.
 *
 * What we count: every read(2) and EAGAIN (ours), and one wait per
 * g_main_context_iteration() (exactly one poll() per iteration). GLib's
 * own wake-up eventfd and its locking are not counted.
 *
 * Needs: GLib 2.36 or later (`apt-get install libglib2.0-dev`, then make).
 * Try it:
 *   bin/daqmux server --backend glib --sources 2 &
 *   bin/daqmux client --sources 2 --count 1000
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "events.h"
#include "server.h"
#include "util.h"

#ifdef HAVE_GLIB
#include <glib.h>

/* A source of ours: the listener (c == NULL) or one connection. */
struct gl_source {
	GSource base;            /* first: GLib allocates the whole struct */
	struct loop *l;
	struct conn *c;
	gpointer tag;            /* g_source_add_unix_fd's; NULL while paused */
	int failed;              /* listener: accept failed for good */
};

struct gl_loop {
	GMainContext *ctx;
	int ms;                  /* this turn's timeout, for --events */
	int waited;              /* --events: this turn's wait line is out */
};

/*
 * --events: GLib's poll() is out of sight, so the wait line comes with
 * the turn's first dispatch (and lists each connection dispatched), or
 * after the turn when none came.
 */
static void gl_seen(struct loop *l, struct conn *c)
{
	struct gl_loop *gl = l->priv;

	ev_seen(l, c, &gl->waited, "poll in g_main_context_iteration", gl->ms);
}

/* Per connection (conn_data): its source. */
struct gl_conn {
	GSource *src;
};

static struct gl_conn *gl_conn(struct conn *c)
{
	return conn_data(c);
}

/* Every end of a connection (server_close calls it before the close):
 * once destroyed a source is never dispatched again, even in this turn. */
static void gl_forget(struct loop *l, struct conn *c)
{
	GSource *src = gl_conn(c)->src;

	(void)l;
	if (!src)
		return;
	((struct gl_source *)src)->c = NULL;
	gl_conn(c)->src = NULL;
	g_source_destroy(src);
	g_source_unref(src);
}

/* Paused: the descriptor leaves the source's poll set (with events 0 it
 * would still be polled, and a hang-up would be reported every turn). */
static void gl_pause(struct loop *l, struct conn *c)
{
	struct gl_source *gs = (struct gl_source *)gl_conn(c)->src;

	(void)l;
	if (gs && gs->tag) {
		g_source_remove_unix_fd(&gs->base, gs->tag);
		gs->tag = NULL;
	}
}

static void gl_resume(struct loop *l, struct conn *c)
{
	struct gl_source *gs = (struct gl_source *)gl_conn(c)->src;

	(void)l;
	if (gs && !gs->tag)
		gs->tag = g_source_add_unix_fd(&gs->base, c->fd, G_IO_IN | G_IO_HUP | G_IO_ERR);
}

static gboolean gl_dispatch_conn(GSource *src, GSourceFunc cb, gpointer data)
{
	struct gl_source *gs = (struct gl_source *)src;
	int drained;

	(void)cb;
	(void)data;
	/* Level-triggered (poll): a source cut short by the budget is
	 * reported again next turn, after the others. */
	if (!gs->c || gs->c->paused)
		return G_SOURCE_CONTINUE;
	gl_seen(gs->l, gs->c);
	if (conn_read_some(gs->c, &drained) == CONN_END)
		server_close(gs->c);
	return G_SOURCE_CONTINUE;    /* destroyed ones are dropped anyway */
}

static GSourceFuncs gl_conn_funcs = { .dispatch = gl_dispatch_conn };

static GSource *gl_source(GSourceFuncs *funcs, struct loop *l, struct conn *c, int fd,
			  GMainContext *ctx)
{
	GSource *src = g_source_new(funcs, sizeof(struct gl_source));
	struct gl_source *gs = (struct gl_source *)src;

	gs->l = l;
	gs->c = c;
	gs->tag = g_source_add_unix_fd(src, fd, G_IO_IN | G_IO_HUP | G_IO_ERR);
	/* Otherwise GLib blocks a source while it dispatches it: its
	 * descriptor leaves the poll set and comes back, each time with a
	 * write to the context's wake-up eventfd, which makes the next poll()
	 * return at once to read it - two writes, a poll and a read more per
	 * wakeup. Our dispatch never runs the loop again, so it cannot recurse. */
	g_source_set_can_recurse(src, TRUE);
	(void)g_source_attach(src, ctx);
	return src;
}

/* The listener also sets how long the turn's poll() may sleep. */
static gboolean gl_prepare_listener(GSource *src, gint *timeout)
{
	struct loop *l = ((struct gl_source *)src)->l;

	*timeout = ((struct gl_loop *)l->priv)->ms = server_wait_ms(l->s);
	return FALSE;
}

static gboolean gl_dispatch_listener(GSource *src, GSourceFunc cb, gpointer data)
{
	struct gl_source *gs = (struct gl_source *)src;
	struct conn *c;
	int rc;

	(void)cb;
	(void)data;
	gl_seen(gs->l, NULL);
	while ((rc = server_accept(gs->l, &c)) == 1)
		gl_conn(c)->src = gl_source(&gl_conn_funcs, gs->l, c, c->fd,
					    g_source_get_context(src));
	gs->failed = rc < 0;
	return G_SOURCE_CONTINUE;
}

static GSourceFuncs gl_listener_funcs = {
	.prepare = gl_prepare_listener,
	.dispatch = gl_dispatch_listener,
};

static int gl_run(struct loop *l)
{
	struct server *s = l->s;
	struct gl_loop *gl = l->priv;
	GSource *listener;
	int failed;

	gl->ctx = g_main_context_new();
	listener = gl_source(&gl_listener_funcs, l, NULL, l->accept_fd, gl->ctx);
	while (!((struct gl_source *)listener)->failed && !server_should_stop(s)) {
		/* One turn: prepare every source, one poll(), check, dispatch. */
		gl->waited = 0;
		(void)g_main_context_iteration(gl->ctx, TRUE);
		l->sc.waits++;
		if (!gl->waited)
			ev_wait(l, 0, "poll in g_main_context_iteration(timeout %d ms) -> no callback "
				"(a timeout, or the library's own wake-up)", gl->ms);
		server_sweep(l);
		server_reap(l);
	}
	/* Read before the listener's last reference goes. The core closes
	 * what is still open after run(); the sources go now, with the
	 * context. */
	failed = ((struct gl_source *)listener)->failed;
	for (struct conn *c = l->live; c; c = c->next)
		gl_forget(l, c);
	g_source_destroy(listener);
	g_source_unref(listener);
	g_main_context_unref(gl->ctx);
	return failed ? -1 : 0;
}

#define GL_LOOP_SIZE sizeof(struct gl_loop)
#define GL_CONN_SIZE sizeof(struct gl_conn)
#define GL_FORGET gl_forget
#define GL_PAUSE  gl_pause
#define GL_RESUME gl_resume

#else  /* !HAVE_GLIB */

static int gl_run(struct loop *l)
{
	(void)l;
	return -1;                       /* never called: the probe refuses */
}

#define GL_LOOP_SIZE 0
#define GL_CONN_SIZE 0
#define GL_FORGET NULL
#define GL_PAUSE  NULL
#define GL_RESUME NULL

#endif

static int gl_probe(char *why, size_t len)
{
#ifdef HAVE_GLIB
	(void)why;
	(void)len;
	return 0;                        /* GLib aborts rather than fail */
#else
	return backend_not_compiled_in(why, len, "libglib2.0-dev");
#endif
}

const struct backend backend_glib = {
	.name = "glib",
	.summary = "GLib main loop (poll underneath): a GSource per connection, reads to --budget",
	.pref = 5,
	.features = BE_LOOPS | BE_LIBRARY,
	.loop_size = GL_LOOP_SIZE,
	.conn_size = GL_CONN_SIZE,
	.probe = gl_probe,
	.run = gl_run,
	.forget = GL_FORGET,
	.pause = GL_PAUSE,
	.resume = GL_RESUME,
};
