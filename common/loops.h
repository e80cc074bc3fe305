/*
 * loops.h - the server core's event loops (inside the core; backends see
 * struct loop through server.h): one per thread, how connections reach
 * them (--spread), their start, their end.
 */
#ifndef DAQMUX_LOOPS_H
#define DAQMUX_LOOPS_H

#include <sys/socket.h>

#include "server.h"

/* A connection the acceptor took, on its way to a loop. */
struct server_handed {
	int fd;
	struct sockaddr_storage peer;
	socklen_t len;
};

/* One accept4() on lfd with the core's rules (server_accept): 1 with h
 * filled, 0 nothing pending or refused, -1 the listener failed. wait:
 * the caller blocks, so EINTR and refusals return 0 instead of retrying. */
int server_accept_fd(struct server *s, int lfd, int wait, struct syscounts *sc,
		     struct server_handed *h);

/* The next connection handed to l: 1 with h filled, 0 none (after up to a
 * tick when wait is set). */
int loop_take(struct loop *l, int wait, struct server_handed *h);

/* The loops, their buffers and their listening sockets or hand-off
 * queues, after s->lfd is open (s->lfd becomes loop 0's). 0, or -1
 * after saying why. */
int loops_init(struct server *s);

/* Run every loop until the run ends; the loops' counts are added into
 * s->sc. 0, or -1 when a loop (or the acceptor) failed. */
int loops_run(struct server *s);

/* What a loop's connections delivered: closed ones and those still open. */
void loop_figures(const struct loop *l, uint64_t *frames, uint64_t *bytes);

/* Close what is still open (without asking the backend: its loop has
 * ended) and free everything loops_init made. */
void loops_free(struct server *s);

#endif
