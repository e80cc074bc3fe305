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
 * The loop runs on its own GMainContext, not the global default one.
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

#include "server.h"
#include "util.h"

#ifdef HAVE_GLIB
#include <glib.h>

/* A source of ours: the listener (c == NULL) or one connection. */
struct gl_source {
	GSource base;            /* first: GLib allocates the whole struct */
	struct server *s;
	struct conn *c;
	int failed;              /* listener: accept failed for good */
};

/* Every end of a connection, and --idle-timeout's forget(): once
 * destroyed a source is never dispatched again, even in this turn. */
static void gl_forget(struct server *s, struct conn *c)
{
	GSource *src = c->priv;

	(void)s;
	((struct gl_source *)src)->c = NULL;
	c->priv = NULL;
	g_source_destroy(src);
	g_source_unref(src);
}

static gboolean gl_dispatch_conn(GSource *src, GSourceFunc cb, gpointer data)
{
	struct gl_source *gs = (struct gl_source *)src;
	struct server *s = gs->s;
	int drained;

	(void)cb;
	(void)data;
	/* Level-triggered (poll): a source cut short by the budget is
	 * reported again next turn, after the others. */
	if (conn_read_some(s, gs->c, s->rbuf, s->rbuf_size, s->opt.budget, &drained) == CONN_END) {
		struct conn *c = gs->c;
		gl_forget(s, c);
		server_close(s, c);
	}
	return G_SOURCE_CONTINUE;    /* destroyed ones are dropped anyway */
}

static GSourceFuncs gl_conn_funcs = { .dispatch = gl_dispatch_conn };

static GSource *gl_source(GSourceFuncs *funcs, struct server *s, struct conn *c, int fd,
			  GMainContext *ctx)
{
	GSource *src = g_source_new(funcs, sizeof(struct gl_source));
	struct gl_source *gs = (struct gl_source *)src;

	gs->s = s;
	gs->c = c;
	(void)g_source_add_unix_fd(src, fd, G_IO_IN | G_IO_HUP | G_IO_ERR);
	(void)g_source_attach(src, ctx);
	return src;
}

/* The listener also sets how long the turn's poll() may sleep. */
static gboolean gl_prepare_listener(GSource *src, gint *timeout)
{
	*timeout = server_wait_ms(((struct gl_source *)src)->s);
	return FALSE;
}

static gboolean gl_dispatch_listener(GSource *src, GSourceFunc cb, gpointer data)
{
	struct gl_source *gs = (struct gl_source *)src;
	struct server *s = gs->s;
	struct conn *c;
	int rc;

	(void)cb;
	(void)data;
	while ((rc = server_accept(s, &s->sc, 0, &c)) == 1)
		c->priv = gl_source(&gl_conn_funcs, s, c, c->fd, g_source_get_context(src));
	gs->failed = rc < 0;
	return G_SOURCE_CONTINUE;
}

static GSourceFuncs gl_listener_funcs = {
	.prepare = gl_prepare_listener,
	.dispatch = gl_dispatch_listener,
};

static int gl_run(struct server *s)
{
	GMainContext *ctx = g_main_context_new();
	GSource *listener = gl_source(&gl_listener_funcs, s, NULL, s->lfd, ctx);
	struct gl_source *lg = (struct gl_source *)listener;

	while (!lg->failed && !server_should_stop(s)) {
		/* One turn: prepare every source, one poll(), check, dispatch. */
		(void)g_main_context_iteration(ctx, TRUE);
		s->sc.waits++;
		server_sweep(s, gl_forget);
		server_reap(s);
	}
	int failed = lg->failed;     /* lg goes with the listener's last ref */

	for (struct conn *c = s->live; c; c = c->next)
		if (c->priv)
			gl_forget(s, c);
	g_source_destroy(listener);
	g_source_unref(listener);
	g_main_context_unref(ctx);
	return failed ? -1 : 0;
}

#else  /* !HAVE_GLIB */

static int gl_run(struct server *s)
{
	(void)s;
	return -1;                       /* never called: the probe refuses */
}

#endif

static int gl_probe(char *why, size_t len)
{
#ifdef HAVE_GLIB
	(void)why;
	(void)len;
	return 0;                        /* GLib aborts rather than fail */
#else
	snprintf(why, len, "not compiled in: install libglib2.0-dev "
		 "(apt-get install libglib2.0-dev) and rebuild with make");
	return -1;
#endif
}

const struct backend backend_glib = {
	.name = "glib",
	.summary = "GLib main loop (poll underneath): a GSource per connection, reads to --budget",
	.probe = gl_probe,
	.run = gl_run,
};
