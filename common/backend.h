/*
 * backend.h - the one interface every server backend implements.
 *
 * A backend is one file exporting one `const struct backend`. It knows
 * only how to wait and how to read; everything else - accepting and
 * naming connections, framing, accounting, timers, output - it asks of
 * the server core (server.h). The shape follows HAProxy's `struct poller`
 * and libevent's `struct eventop`: a name, a run-time probe that says why
 * the backend cannot run here, and the loop itself.
 */
#ifndef DAQMUX_BACKEND_H
#define DAQMUX_BACKEND_H

#include <stddef.h>

struct server;
struct conn;

struct backend {
	const char *name;
	const char *summary;     /* one line for `daqmux backends` */

	/*
	 * Can this backend run on this machine? Returns 0, or -1 with the
	 * reason written to why (e.g. "io_uring_setup: Operation not
	 * permitted (kernel.io_uring_disabled=2)"). NULL means always able.
	 */
	int (*probe)(char *why, size_t len);

	/*
	 * Serve until server_should_stop(). The listening socket is
	 * nonblocking unless `blocking_listen` is set. Returns 0, or -1 after
	 * printing why the server itself failed (the run then exits 2).
	 */
	int (*run)(struct server *s);

	/*
	 * Backpressure (--build): stop reading c until resume(); bytes
	 * already read wait in the core. pause is called from c's own input
	 * (it has just run too far ahead), resume from the loop's timer
	 * sweep (build_sweep), both on the loop's thread. NULL: the backend
	 * looks at c->paused itself (blocking skips it in the round; a
	 * thread waits in build_wait_resumed).
	 */
	void (*pause)(struct server *s, struct conn *c);
	void (*resume)(struct server *s, struct conn *c);

	unsigned blocking_listen : 1;  /* wants a blocking listening socket */
	unsigned pull_in_turn : 1;     /* pull mode: sends each REQUEST itself,
					  one source at a time (blocking) */
	unsigned threaded : 1;         /* reads from several threads at once */
};

#endif
