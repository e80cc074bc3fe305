/*
 * client_loop.c - every source's connection, driven by one epoll loop.
 *
 * One thread, nonblocking sockets, edge-triggered epoll, and one timer
 * heap keyed by each source's next deadline (its next frame, the end of
 * its silence, a fragment pause, a reconnect backoff, a connect or
 * linger timeout). The wait sleeps until the earliest deadline with
 * epoll_pwait2's nanosecond timeout, so a thousand paced sources cost one
 * thread and no timer descriptors. A source whose socket is full waits
 * for EPOLLOUT alone; the others keep their schedules.
 *
 * Start-up: connect everything (at most CLIENT_CONNECT_WINDOW at a time,
 * so a small listen backlog is not flooded with SYNs), then start every
 * schedule from one t0, source i offset by i/N of its period (--burst:
 * no offset). Idle connections a server stops accepting do not hold up
 * the start; they are counted. The run ends when every source has ended.
 *
 * --loops K runs K such loops in K threads, loop k owning every K-th
 * source and idle connection: its own epoll set, timer heap and counters,
 * so no frame touches anything another thread writes (the generator is
 * read-only once set up). The loops meet only at the start (the
 * last one ready sets the common t0) and at a stop (a failed source or a
 * signal stops every loop); an eventfd per loop wakes it for those.
 * Try it: bin/daqmux client --sources 100 --rate 1000 --duration 2
 *         bin/daqmux client --sources 64 --rate max --duration 2 --loops 2
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <pthread.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "client_int.h"
#include "util.h"

/* What the loops share; every field is read and written atomically. */
struct client_shared {
	uint32_t nloops;
	uint32_t window;            /* connects in flight per loop */
	uint32_t sources_up;        /* loops whose sources are all connected */
	uint32_t ready;             /* loops whose connections are all up */
	uint64_t t0;                /* the common start, set by the last ready loop */
	int      stop;              /* 0; 1 being written; 2 stop_why is set */
	char     stop_why[96];      /* why the other loops stop */
	int      announced;         /* the signal message was printed */
	int     *wake;              /* an eventfd per loop (nloops > 1) */
};

struct client_ev {
	struct client_run *r;
	struct client_shared *sh;
	uint32_t idx;               /* this loop's number */
	struct client_src **own;    /* its sources, then its idle connections */
	uint32_t nown_src, nown;
	int      epfd;
	struct heap timers;         /* room for every connection */
	uint32_t next_connect;      /* next of own[] to open first time */
	uint32_t inflight;          /* of those, connects in flight */
	uint32_t active_pending;    /* start-up: sources not connected yet */
	uint32_t idle_pending;      /* idle connections neither up nor given up */
	uint64_t last_progress;     /* a connect last completed or failed */
	uint32_t active_left;       /* sources (not idle) not DONE */
	int      started;
	int      stopping;
	uint64_t stop_deadline;
	unsigned sig_seen;
	unsigned notes;             /* reconnect messages printed */
	sigset_t waitmask;          /* the mask during the wait: signals open */
	char     peer[80];          /* --connect, for messages */
	int      sources_up;        /* counted in sh->sources_up */
	int      ready;             /* counted in sh->ready */
	int      failed;            /* a source failed or the loop did */
	int      signalled;
	uint32_t idle_connected, idle_lost;
	int      epoll_fallback;    /* epoll_pwait2 missing: ms timeouts */
	uint64_t waits;
	pthread_t thread;
	int      have_thread;
	int      rc;
};

/* ---- signals: blocked except inside the wait (client_proc_setup) ---- */

static volatile sig_atomic_t client_signals;
static volatile sig_atomic_t client_last_signal;

/* Atomics (lock-free, so async-signal-safe): every loop thread reads them. */
static void client_on_signal(int sig)
{
	__atomic_store_n(&client_last_signal, sig, __ATOMIC_RELAXED);
	__atomic_fetch_add(&client_signals, 1, __ATOMIC_RELEASE);
}

/* ---- the loops' meeting points ---- */

/* Wake every other loop from its wait, to look at the shared state. An
 * eventfd write fails only when its counter would overflow, and then a
 * wake-up is pending anyway. */
static void client_wake_all(struct client_ev *ev)
{
	const uint64_t one = 1;
	for (uint32_t i = 0; i < ev->sh->nloops; i++)
		if (i != ev->idx && ev->sh->wake && write(ev->sh->wake[i], &one, sizeof(one)) < 0 &&
		    errno != EAGAIN)
			msg("waking sending loop %u: %s", i, strerror(errno));
}

/* Ask every other loop to stop, saying why; the first asker's reason wins. */
static void client_stop_others(struct client_ev *ev, const char *why)
{
	int expect = 0;
	if (!__atomic_compare_exchange_n(&ev->sh->stop, &expect, 1, 0, __ATOMIC_ACQ_REL,
					 __ATOMIC_RELAXED))
		return;
	snprintf(ev->sh->stop_why, sizeof(ev->sh->stop_why), "%s", why);
	__atomic_store_n(&ev->sh->stop, 2, __ATOMIC_RELEASE);
	client_wake_all(ev);
}

/* ---- timers: one per source, in client/heap.c ---- */

static struct client_src *client_of_timer(struct heap_node *x)
{
	return (struct client_src *)((char *)x - offsetof(struct client_src, timer));
}

static void client_timer_del(struct client_ev *ev, struct client_src *s)
{
	heap_del(&ev->timers, &s->timer);
}

/* The heap has room for every connection, each at most once: it cannot
 * be full. */
static void client_timer_set(struct client_ev *ev, struct client_src *s, uint64_t wake)
{
	if (wake == UINT64_MAX)
		heap_del(&ev->timers, &s->timer);
	else
		(void)heap_set(&ev->timers, &s->timer, wake);
}

/* ---- ends of a source ---- */

static const char *client_who(const struct client_src *s, char *buf, size_t len)
{
	if (s->idle)
		snprintf(buf, len, "idle connection %u", s->index);
	else
		snprintf(buf, len, "source %u", s->id);
	return buf;
}

static void client_set_error(struct client_src *s, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void client_set_error(struct client_src *s, const char *fmt, ...)
{
	va_list ap;
	if (s->error[0])
		return;         /* the first reason is the one that explains */
	va_start(ap, fmt);
	vsnprintf(s->error, sizeof(s->error), fmt, ap);
	va_end(ap);
}

static void client_close_fd(struct client_src *s)
{
	/* close() also takes the descriptor out of the epoll set. Its error
	 * (EINTR, or EIO on some file systems) cannot be acted on for a
	 * socket: the descriptor is gone either way. */
	if (s->fd >= 0)
		close(s->fd);
	s->fd = -1;
}

static void client_done(struct client_ev *ev, struct client_src *s, enum client_status st,
			uint64_t now)
{
	if (s->state == CS_DONE)
		return;
	client_timer_del(ev, s);
	client_close_fd(s);
	if (s->blocked) {
		s->blocked_ns += now - s->blocked_since;
		s->blocked = 0;
	}
	if (s->windowed) {
		s->windowed = 0;
		ev->inflight--;
	}
	if (!s->t_end)
		s->t_end = now;
	if (s->idle && s->connections == 0) {
		ev->idle_pending--;     /* resolved: it never will connect */
		ev->last_progress = now;
	}
	s->state = CS_DONE;
	s->status = s->faulted && st != CLIENT_FAILED ? CLIENT_FAULT : st;
	if (!s->idle)
		ev->active_left--;
}

static void client_stop(struct client_ev *ev, uint64_t now, const char *why);
static void client_open(struct client_ev *ev, struct client_src *s, uint64_t now);
static void client_service(struct client_ev *ev, struct client_src *s, uint64_t now);

/* Reconnect progress: a server restart under a thousand sources would
 * otherwise print two thousand lines. */
#define CLIENT_MAX_NOTES 8

static void client_note(struct client_ev *ev, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void client_note(struct client_ev *ev, const char *fmt, ...)
{
	char line[256];
	va_list ap;

	if (ev->notes > CLIENT_MAX_NOTES)
		return;
	if (ev->notes++ == CLIENT_MAX_NOTES) {
		msg("(more reconnect messages are not shown; the summary has every source)");
		return;
	}
	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	msg("%s", line);
}

/* One source failed: the run fails, and the others stop with a BYE. */
static void client_fail_run(struct client_ev *ev, struct client_src *s, uint64_t now)
{
	char who[48], why[80];
	ev->failed = 1;
	snprintf(why, sizeof(why), "after %s failed", client_who(s, who, sizeof(who)));
	client_stop(ev, now, why);
	client_stop_others(ev, why);
}

/* What to check, for the message that ends a run. */
static const char *client_hint(int err)
{
	switch (err) {
	case 0:
	case ECONNRESET:
	case EPIPE:
		return "did the server stop, crash or reject this source? (see its output)";
	case ECONNREFUSED:
		return "is the server running and listening there?";
	case ETIMEDOUT:
		return "no answer in time: is the server accepting (listen backlog full?)";
	case EMFILE:
	case ENFILE:
		return "out of descriptors: raise ulimit -n";
	default:
		return "check the server and --connect";
	}
}

/*
 * The connection is gone (err: an errno, 0 for the server's EOF). After
 * a fault or the BYE this is expected; with --reconnect it is retried;
 * otherwise the source has failed, and so has the run.
 */
static void client_lost(struct client_ev *ev, struct client_src *s, int err, const char *what,
			uint64_t now)
{
	const struct client_opts *o = ev->r->o;
	char who[48], why[96];

	if (s->state == CS_DONE)
		return;
	if (err)
		snprintf(why, sizeof(why), "%s: %s", what, strerror(err));
	else
		snprintf(why, sizeof(why), "the server closed the connection");
	if (s->state == CS_CLOSING) {
		client_done(ev, s, CLIENT_OK, now);
		return;
	}
	if (s->faulted) {
		client_set_error(s, "fault %s injected; then %s", s->fault_desc, why);
		client_done(ev, s, CLIENT_FAULT, now);
		return;
	}
	int connecting = s->state == CS_CONNECTING || s->state == CS_IDLE;
	if (s->idle && (!connecting || !o->reconnect || ev->stopping ||
			(s->fail_since && now - s->fail_since >= CLIENT_BACKOFF_GIVEUP))) {
		/* Idle connections are background load, not sources: one the
		 * server turns away (select beyond FD_SETSIZE, a full listen
		 * backlog) is counted and reported, not a failure. */
		if (!connecting)
			ev->idle_lost++;
		client_set_error(s, "%s", why);
		client_done(ev, s, CLIENT_OK, now);
		return;
	}
	if (o->reconnect && !ev->stopping) {
		if (!s->fail_since) {
			s->fail_since = now;
			s->backoff_ns = CLIENT_BACKOFF_FIRST;
			client_note(ev, "%s: %s after %llu frames; reconnecting to %s",
				    client_who(s, who, sizeof(who)), why,
				    (unsigned long long)s->frames, ev->peer);
		}
		if (now - s->fail_since >= CLIENT_BACKOFF_GIVEUP) {
			client_set_error(s, "gave up reconnecting after %.0f s; last: %s",
					 (double)(now - s->fail_since) / 1e9, why);
			msg("%s: %s: %s", client_who(s, who, sizeof(who)), s->error, client_hint(err));
			client_done(ev, s, CLIENT_FAILED, now);
			client_fail_run(ev, s, now);
			return;
		}
		if (!ev->started && s->state == CS_READY)
			ev->active_pending++;   /* idle ones never get here */
		if (s->windowed) {
			s->windowed = 0;
			ev->inflight--;
		}
		client_close_fd(s);
		if (s->blocked) {
			s->blocked_ns += now - s->blocked_since;
			s->blocked = 0;
		}
		if (!s->idle)
			client_rewind(s);
		s->state = CS_BACKOFF;
		client_timer_set(ev, s, now + s->backoff_ns);
		s->backoff_ns = s->backoff_ns * 2 > CLIENT_BACKOFF_MAX ? CLIENT_BACKOFF_MAX
									: s->backoff_ns * 2;
		return;
	}
	client_set_error(s, "%s", why);
	if (!ev->stopping)
		msg("%s: %s (%s, %llu frames sent): %s", client_who(s, who, sizeof(who)), why,
		    ev->peer, (unsigned long long)s->frames, client_hint(err));
	client_done(ev, s, CLIENT_FAILED, now);
	client_fail_run(ev, s, now);
}

/* A protocol problem on the server's side: reconnecting would not help. */
static void client_proto_fail(struct client_ev *ev, struct client_src *s, uint64_t now,
			      const char *fmt, ...) __attribute__((format(printf, 4, 5)));

static void client_proto_fail(struct client_ev *ev, struct client_src *s, uint64_t now,
			      const char *fmt, ...)
{
	char who[48];
	va_list ap;
	if (s->faulted) {
		client_done(ev, s, CLIENT_FAULT, now);
		return;
	}
	va_start(ap, fmt);
	vsnprintf(s->error, sizeof(s->error), fmt, ap);
	va_end(ap);
	msg("%s: %s", client_who(s, who, sizeof(who)), s->error);
	client_done(ev, s, CLIENT_FAILED, now);
	client_fail_run(ev, s, now);
}

/* ---- reading: REQUESTs in pull mode, the EOF in any mode ---- */

static void client_read(struct client_ev *ev, struct client_src *s, uint64_t now)
{
	uint8_t in[4096];
	const struct client_opts *o = ev->r->o;

	for (;;) {
		if (s->pending_req >= CLIENT_PULL_BACKLOG) {
			/* Answers are not getting out: leave the REQUESTs in
			 * the socket, so the server feels the back-pressure. */
			s->read_more = 1;
			return;
		}
		ssize_t n = recv(s->fd, in, sizeof(in), 0);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN || errno == EWOULDBLOCK) {
				s->read_more = 0;
				return;
			}
			client_lost(ev, s, errno, "read", now);
			return;
		}
		if (n == 0) {
			s->got_eof = 1;
			if (s->state == CS_CLOSING)
				client_done(ev, s, CLIENT_OK, now);
			else
				client_lost(ev, s, 0, "read", now);
			return;
		}
		if (s->state == CS_CLOSING || s->idle)
			continue;
		if (!o->pull) {
			client_proto_fail(ev, s, now, "the server sent %zd bytes to a push source "
					  "(a pull-mode server? then use --mode pull)", n);
			return;
		}
		size_t off = 0, used;
		struct frame fr;
		char why[128];
		while (off < (size_t)n) {
			enum frame_result fres = frame_parse(&s->fp, in + off, (size_t)n - off,
							     &used, &fr, why, sizeof(why));
			off += used;
			if (fres == FRAME_BAD) {
				client_proto_fail(ev, s, now, "the server sent a bad frame: %s", why);
				return;
			}
			if (fres == FRAME_MORE)
				break;
			if (fr.h.type != PROTO_REQUEST) {
				client_proto_fail(ev, s, now, "the server sent %s, but a pull source "
						  "expects only REQUEST", proto_type_name(fr.h.type));
				return;
			}
			s->pending_req++;
		}
	}
}

/* ---- writing ---- */

enum { FL_DONE, FL_BLOCKED, FL_PAUSED, FL_FAILED };

/* Write what the buffer holds; *err is the errno behind FL_FAILED. */
static int client_flush(struct client_ev *ev, struct client_src *s, uint64_t *now, int *err)
{
	int frag = ev->r->o->fragment;

	while (s->off < s->len) {
		size_t n = s->len - s->off;
		if (frag) {
			if (*now < s->frag_ready)
				return FL_PAUSED;
			size_t piece = 1 + (size_t)(client_rand(&s->rng) % 7);
			if (n > piece)
				n = piece;
		}
		/* MSG_NOSIGNAL: a closed peer is an EPIPE here, not a SIGPIPE. */
		ssize_t w = send(s->fd, s->buf + s->off, n, MSG_NOSIGNAL);
		if (w < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN || errno == EWOULDBLOCK) {
				s->eagain++;
				s->blocked = 1;
				s->blocked_since = *now;
				return FL_BLOCKED;
			}
			*err = errno;
			return FL_FAILED;
		}
		s->off += (size_t)w;
		if ((size_t)w < n)
			s->partial++;
		*now = now_ns();
		uint64_t before = s->frames;
		client_account(s, *now);
		/* Only DATA getting through ends an outage: a server that
		 * accepts and drops us at once must not reset the backoff. */
		if (s->frames != before)
			s->fail_since = 0;
		if (frag)
			s->frag_ready = *now + 50000 + client_rand(&s->rng) % 250001;
	}
	if (s->acked == s->len) {
		s->len = s->off = s->acked = 0;
		s->raw = SIZE_MAX;
	}
	return FL_DONE;
}

/* Everything this source will say is written: half-close and wait for
 * the server's EOF, so that nothing we send is ever overtaken by a RST. */
static void client_close_phase(struct client_ev *ev, struct client_src *s, uint64_t now)
{
	s->t_end = now;
	if (s->fatal && s->fatal_kind == CF_RESET) {
		/* Linger {on, 0 s}: close() sends RST instead of FIN. */
		struct linger lg = { .l_onoff = 1, .l_linger = 0 };
		if (setsockopt(s->fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg)) < 0)
			client_set_error(s, "SO_LINGER for the reset fault: %s", strerror(errno));
		client_done(ev, s, CLIENT_FAULT, now);
		return;
	}
	if (shutdown(s->fd, SHUT_WR) < 0) {
		/* ENOTCONN: the server is gone already; nothing to wait for. */
		client_done(ev, s, CLIENT_OK, now);
		return;
	}
	s->state = CS_CLOSING;
	if (s->got_eof) {
		client_done(ev, s, CLIENT_OK, now);
		return;
	}
	client_timer_set(ev, s, now + CLIENT_LINGER);
	client_read(ev, s, now);
}

static void client_service(struct client_ev *ev, struct client_src *s, uint64_t now)
{
	struct client_gen *g = &ev->r->gen;
	int err = 0;

	/* A few buffers per turn, then the others get theirs: one max-rate
	 * source must not starve the rest of the loop. */
	for (int round = 0; round < 4; round++) {
		if (s->state != CS_RUN || s->blocked)
			return;
		if (s->read_more && s->pending_req < CLIENT_PULL_BACKLOG / 2) {
			client_read(ev, s, now);
			if (s->state != CS_RUN)
				return;
		}
		client_fill(g, s, now);
		switch (client_flush(ev, s, &now, &err)) {
		case FL_FAILED:
			client_lost(ev, s, err, "write", now);
			return;
		case FL_BLOCKED:
			client_timer_del(ev, s);
			return;
		case FL_PAUSED:
			client_timer_set(ev, s, s->frag_ready);
			return;
		}
		if (s->bye_queued) {
			client_close_phase(ev, s, now);
			return;
		}
		uint64_t due = client_next_due(g, s, now);
		if (due > now) {
			client_timer_set(ev, s, due);
			return;
		}
	}
	client_timer_set(ev, s, now);
}

/* ---- connections ---- */

static void client_begin(struct client_ev *ev, struct client_src *s, uint64_t now)
{
	s->state = CS_RUN;
	s->hello_due = 1;
	client_service(ev, s, now);
}

static void client_connected(struct client_ev *ev, struct client_src *s, uint64_t now)
{
	char who[48];

	client_timer_del(ev, s);
	s->connections++;
	if (s->windowed) {
		s->windowed = 0;
		ev->inflight--;
	}
	ev->last_progress = now;
	if (s->idle) {
		s->state = CS_READY;
		if (s->connections == 1) {
			ev->idle_pending--;
			ev->idle_connected++;
		}
		return;
	}
	if (!ev->started) {
		s->state = CS_READY;
		ev->active_pending--;
		return;
	}
	if (s->fail_since)
		client_note(ev, "%s: reconnected after %.1f s, resuming at frame %llu",
			    client_who(s, who, sizeof(who)), (double)(now - s->fail_since) / 1e9,
			    (unsigned long long)s->next_seq);
	if (now < s->start_ns) {
		s->state = CS_SILENT;
		client_timer_set(ev, s, s->start_ns);
		return;
	}
	client_begin(ev, s, now);
}

/* A failure here goes through client_lost like any other. */
static void client_open(struct client_ev *ev, struct client_src *s, uint64_t now)
{
	const struct client_opts *o = ev->r->o;
	int fd = socket(o->addr.ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);

	if (fd < 0) {
		client_lost(ev, s, errno, "socket", now);
		return;
	}
	s->fd = fd;
	s->got_eof = 0;
	s->state = CS_CONNECTING;
	if (!s->idle && net_set_nodelay(fd) < 0) {
		client_lost(ev, s, errno, "TCP_NODELAY", now);
		return;
	}
	/* Edge-triggered: EPOLLOUT reports once that a full socket has room
	 * again, without re-arming it around every blocked write. */
	struct epoll_event e = {
		.events = EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET,
		.data.ptr = s,
	};
	if (epoll_ctl(ev->epfd, EPOLL_CTL_ADD, fd, &e) < 0) {
		client_lost(ev, s, errno, "epoll_ctl", now);
		return;
	}
	/* Nonblocking, so EINTR does not cancel it: it goes on, as with
	 * EINPROGRESS, and EPOLLOUT tells the outcome. */
	if (connect(fd, (const struct sockaddr *)&o->addr.ss, o->addr.len) < 0 &&
	    errno != EINPROGRESS && errno != EINTR) {
		client_lost(ev, s, errno, "connect", now);
		return;
	}
	client_timer_set(ev, s, now + CLIENT_CONNECT_TIMEOUT);
}

static void client_connect_event(struct client_ev *ev, struct client_src *s, uint32_t events,
				 uint64_t now)
{
	int err = 0;
	socklen_t len = sizeof(err);
	if (getsockopt(s->fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0)
		err = errno;
	if (!err && (events & (EPOLLERR | EPOLLHUP)))
		err = ECONNRESET;
	if (err) {
		client_lost(ev, s, err, "connect", now);
		return;
	}
	if (!(events & EPOLLOUT))
		return;
	client_connected(ev, s, now);
	/* Edge-triggered: bytes that came with the connect (a pull server's
	 * first REQUEST, or its EOF) are reported now or never. */
	if ((events & (EPOLLIN | EPOLLRDHUP)) && s->state != CS_DONE && s->state != CS_BACKOFF)
		client_read(ev, s, now);
	if (s->state == CS_RUN && s->pending_req && !s->blocked)
		client_service(ev, s, now);
}

/* ---- the start and the stop ---- */

/* Every source is connected, and so is every idle connection, or those
 * still trying have made no progress for CLIENT_IDLE_STALL: a server that
 * stops accepting (the blocking backend, busy with its sources) must not
 * hold the run back, and its refusal is reported, not fatal. */
static int client_may_start(const struct client_ev *ev, uint64_t now)
{
	return ev->active_pending == 0 &&
	       (ev->idle_pending == 0 || now - ev->last_progress >= CLIENT_IDLE_STALL);
}

/* Every schedule from t0 (the common start, at most now). */
static void client_start(struct client_ev *ev, uint64_t t0, uint64_t now)
{
	struct client_run *r = ev->r;

	ev->started = 1;
	for (uint32_t i = 0; i < ev->nown_src; i++) {
		struct client_src *s = ev->own[i];
		/* Spread the sources over one period: one thread cannot write
		 * to N sockets in the same microsecond, so in-phase schedules
		 * would make the last of each burst late by the client's own
		 * doing (N sends, several us each on loopback) and the
		 * server's latency figures would measure that. */
		uint64_t phase = r->o->burst ? 0 : (uint64_t)(s->period_ns * s->index / r->nsrc);
		s->start_ns = t0 + s->silent_ns + phase;
		s->end_ns = r->o->use_duration ? t0 + (uint64_t)(r->o->duration * 1e9) : UINT64_MAX;
		if (s->state != CS_READY)
			continue;
		if (s->silent_ns && s->start_ns > now) {
			s->state = CS_SILENT;
			client_timer_set(ev, s, s->start_ns);
		} else {
			client_begin(ev, s, now);
		}
	}
}

/* Stop every source: those running say BYE at their next chance, those
 * that never started are closed. Bounded by CLIENT_STOP_GRACE. */
static void client_stop(struct client_ev *ev, uint64_t now, const char *why)
{
	if (ev->stopping)
		return;
	ev->stopping = 1;
	ev->stop_deadline = now + CLIENT_STOP_GRACE;
	for (uint32_t i = 0; i < ev->nown_src; i++) {
		struct client_src *s = ev->own[i];
		switch (s->state) {
		case CS_IDLE:
		case CS_CONNECTING:
		case CS_READY:
		case CS_BACKOFF:
			if (s->state == CS_READY && ev->started)
				break;
			client_set_error(s, "%s", ev->started ? "stopped while reconnecting"
							      : "the run stopped before the start");
			client_done(ev, s, CLIENT_FAILED, now);
			break;
		case CS_SILENT:
		case CS_RUN:
			/* The BYE still carries the true count, so the server
			 * sees a clean end; the note says it came early. */
			if (s->bye_queued)
				break;  /* done already, the BYE is on its way */
			client_set_error(s, "stopped early, %s", why);
			s->stopping = 1;
			if (s->state == CS_SILENT)
				client_begin(ev, s, now);
			else
				client_service(ev, s, now);
			break;
		case CS_CLOSING:
		case CS_DONE:
			break;
		}
	}
}

/* The grace after a stop is over, or a second signal came. */
static void client_force(struct client_ev *ev, uint64_t now)
{
	for (uint32_t i = 0; i < ev->nown_src; i++) {
		struct client_src *s = ev->own[i];
		if (s->state == CS_DONE)
			continue;
		if (s->state == CS_CLOSING) {
			client_done(ev, s, CLIENT_OK, now);
			continue;
		}
		snprintf(s->error, sizeof(s->error), "stopped before its BYE could be written "
			 "(is the server reading?)");
		client_done(ev, s, CLIENT_FAILED, now);
		ev->failed = 1;
	}
}

/* ---- the loop ---- */

static void client_on_timer(struct client_ev *ev, struct client_src *s, uint64_t now)
{
	switch (s->state) {
	case CS_CONNECTING:
		client_lost(ev, s, ETIMEDOUT, "connect", now);
		break;
	case CS_SILENT:
		client_begin(ev, s, now);
		break;
	case CS_RUN:
		client_service(ev, s, now);
		break;
	case CS_BACKOFF:
		client_open(ev, s, now);
		break;
	case CS_CLOSING:
		/* No EOF within the linger time: what we sent is in the
		 * kernel's hands, which is all a sender can know. */
		client_done(ev, s, CLIENT_OK, now);
		break;
	default:
		break;
	}
}

static void client_on_event(struct client_ev *ev, struct client_src *s, uint32_t events,
			    uint64_t now)
{
	if (s->state == CS_CONNECTING) {
		client_connect_event(ev, s, events, now);
		return;
	}
	if (s->state == CS_DONE || s->state == CS_BACKOFF)
		return;
	if (events & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR)) {
		client_read(ev, s, now);
		if (s->state == CS_DONE || s->state == CS_BACKOFF)
			return;
	}
	if ((events & EPOLLOUT) && s->blocked) {
		s->blocked = 0;
		s->blocked_ns += now - s->blocked_since;
		client_service(ev, s, now);
	} else if (s->state == CS_RUN && s->pending_req && !s->blocked) {
		client_service(ev, s, now);
	}
}

static int client_wait(struct client_ev *ev, struct epoll_event *evs, int max, uint64_t timeout)
{
#if defined(__GLIBC__) && (__GLIBC__ > 2 || (__GLIBC__ == 2 && __GLIBC_MINOR__ >= 35))
	if (!ev->epoll_fallback) {
		struct timespec ts = {
			.tv_sec = (time_t)(timeout / CLIENT_NS),
			.tv_nsec = (long)(timeout % CLIENT_NS),
		};
		int n = epoll_pwait2(ev->epfd, evs, max, timeout == UINT64_MAX ? NULL : &ts,
				     &ev->waitmask);
		if (n >= 0 || errno != ENOSYS)
			return n;
		/* Kernel older than 5.11: millisecond timeouts it is. */
		ev->epoll_fallback = 1;
	}
#endif
	int ms = -1;
	if (timeout != UINT64_MAX)
		ms = timeout / CLIENT_MS >= INT_MAX ? INT_MAX
						    : (int)((timeout + CLIENT_MS - 1) / CLIENT_MS);
	return epoll_pwait(ev->epfd, evs, max, ms, &ev->waitmask);
}

static void client_format_peer(struct client_ev *ev)
{
	const struct net_addr *a = &ev->r->o->addr;
	net_format((const struct sockaddr *)&a->ss, a->len, ev->peer, sizeof(ev->peer));
}

/* What the run changes in the process, put back afterwards (except the
 * SIGINT/SIGTERM handlers: see client_proc_restore). */
struct client_proc {
	struct sigaction pipe_old;
	int      have_pipe, have_mask;
	sigset_t oldmask;
	int      slack;
};

static const int client_sigs[2] = { SIGINT, SIGTERM };

static void client_proc_setup(struct client_proc *p, sigset_t *waitmask)
{
	struct sigaction sa = { .sa_handler = client_on_signal };
	struct sigaction ign = { .sa_handler = SIG_IGN };
	sigset_t block;

	memset(p, 0, sizeof(*p));
	/* The kernel's default timer slack (50 us) would delay every paced
	 * wake-up by up to that much; ask for wake-ups on time instead.
	 * Failing that, pacing is just a little less tight. */
	p->slack = prctl(PR_GET_TIMERSLACK, 0, 0, 0, 0);
	if (p->slack > 0 && prctl(PR_SET_TIMERSLACK, 1UL, 0, 0, 0) < 0)
		p->slack = -1;

	client_signals = 0;
	sigemptyset(&sa.sa_mask);
	sigaddset(&sa.sa_mask, SIGINT);
	sigaddset(&sa.sa_mask, SIGTERM);
	sigemptyset(&block);
	for (int i = 0; i < 2; i++) {
		struct sigaction old;
		/* A signal ignored by whoever started us (a shell's
		 * background job ignores SIGINT) stays ignored. */
		if (sigaction(client_sigs[i], NULL, &old) < 0 || old.sa_handler == SIG_IGN)
			continue;
		if (sigaction(client_sigs[i], &sa, NULL) < 0) {
			msg("sigaction(%s): %s; it will end the client without a summary",
			    strsignal(client_sigs[i]), strerror(errno));
			continue;
		}
		sigaddset(&block, client_sigs[i]);
	}
	/* Belt and braces with MSG_NOSIGNAL: nothing here may die of a
	 * write to a closed socket. */
	sigemptyset(&ign.sa_mask);
	p->have_pipe = sigaction(SIGPIPE, &ign, &p->pipe_old) == 0;

	/* Blocked except inside the wait, which unblocks them atomically:
	 * a signal can never slip in between checking the flag and going
	 * to sleep. */
	if (sigprocmask(SIG_BLOCK, &block, &p->oldmask) < 0) {
		msg("sigprocmask: %s", strerror(errno));
		sigemptyset(&p->oldmask);
	} else {
		p->have_mask = 1;
	}
	*waitmask = p->oldmask;
	sigdelset(waitmask, SIGINT);
	sigdelset(waitmask, SIGTERM);
}

static void client_proc_restore(struct client_proc *p)
{
	/* SIGINT and SIGTERM keep the flag-only handler: the run is over,
	 * and a late signal must not kill the client while it writes the
	 * summary the signal asked for. */
	if (p->have_mask && sigprocmask(SIG_SETMASK, &p->oldmask, NULL) < 0)
		msg("sigprocmask (restoring): %s", strerror(errno));
	if (p->have_pipe && sigaction(SIGPIPE, &p->pipe_old, NULL) < 0)
		msg("sigaction (restoring SIGPIPE): %s", strerror(errno));
	if (p->slack > 0 && prctl(PR_SET_TIMERSLACK, (unsigned long)p->slack, 0, 0, 0) < 0)
		msg("prctl(PR_SET_TIMERSLACK) (restoring): %s", strerror(errno));
}

/* The top of a loop's turn: signals, a stop asked by another loop, the
 * start barrier. */
static void client_turn(struct client_ev *ev, uint64_t now)
{
	struct client_shared *sh = ev->sh;
	unsigned sigs = (unsigned)__atomic_load_n(&client_signals, __ATOMIC_ACQUIRE);

	if (sigs != ev->sig_seen) {
		int sig = __atomic_load_n(&client_last_signal, __ATOMIC_RELAXED);
		if (ev->sig_seen == 0) {
			ev->signalled = sig;
			if (!ev->r->o->quiet && !__atomic_exchange_n(&sh->announced, 1, __ATOMIC_RELAXED))
				msg("%s: stopping, sending BYE (again to stop at once)",
				    sig == SIGINT ? "SIGINT" : "SIGTERM");
			client_stop(ev, now, sig == SIGINT ? "by SIGINT" : "by SIGTERM");
		} else {
			client_force(ev, now);
		}
		ev->sig_seen = sigs;
		/* The signal woke one loop only. */
		client_wake_all(ev);
	}
	if (!ev->stopping && __atomic_load_n(&sh->stop, __ATOMIC_ACQUIRE) == 2)
		client_stop(ev, now, sh->stop_why);
	if (ev->stopping && now >= ev->stop_deadline)
		client_force(ev, now);
	/* Sources first (they come first in own[]), then the idle
	 * connections, and with several loops only once every loop's sources
	 * are connected: a server that accepts --sources N connections and
	 * no more (blocking) must get the sources. */
	if (!ev->sources_up && ev->active_pending == 0 && ev->next_connect >= ev->nown_src) {
		ev->sources_up = 1;
		if (__atomic_add_fetch(&sh->sources_up, 1, __ATOMIC_ACQ_REL) == sh->nloops)
			client_wake_all(ev);
	}
	uint32_t upto = sh->nloops == 1 ||
			__atomic_load_n(&sh->sources_up, __ATOMIC_ACQUIRE) == sh->nloops
			? ev->nown : ev->nown_src;
	/* The idle connections' stall is counted from their first connect,
	 * not from the wait for the other loops. */
	if (sh->nloops > 1 && upto > ev->nown_src && ev->next_connect == ev->nown_src)
		ev->last_progress = now;
	while (ev->inflight < sh->window && ev->next_connect < upto && !ev->stopping) {
		struct client_src *s = ev->own[ev->next_connect++];
		s->windowed = 1;
		ev->inflight++;
		client_open(ev, s, now);
	}
	if (ev->started || ev->stopping)
		return;
	if (!ev->ready && client_may_start(ev, now)) {
		ev->ready = 1;
		if (__atomic_add_fetch(&sh->ready, 1, __ATOMIC_ACQ_REL) == sh->nloops) {
			ev->r->t0 = now;
			__atomic_store_n(&sh->t0, now, __ATOMIC_RELEASE);
			client_wake_all(ev);
		}
	}
	if (ev->ready) {
		uint64_t t0 = __atomic_load_n(&sh->t0, __ATOMIC_ACQUIRE);
		if (t0)
			client_start(ev, t0, now);
	}
}

/* One loop, run to its end: every source of its own done. */
static void client_loop_run(struct client_ev *ev)
{
	struct client_run *r = ev->r;
	struct epoll_event evs[256];
	struct timespec c0, c1;
	int have_cpu = clock_gettime(CLOCK_THREAD_CPUTIME_ID, &c0) == 0;

	ev->rc = -1;
	ev->active_pending = ev->nown_src;
	ev->idle_pending = ev->nown - ev->nown_src;
	ev->last_progress = now_ns();
	ev->active_left = ev->nown_src;
	for (;;) {
		uint64_t now = now_ns();

		client_turn(ev, now);
		if (ev->active_left == 0)
			break;

		/* Due timers. Only as many as were queued: a source that
		 * re-arms itself for "now" (max rate) waits for the next
		 * turn, after the events. */
		for (uint32_t n = ev->timers.n; n > 0 && ev->timers.n && heap_min(&ev->timers)->key <= now;
		     n--) {
			struct client_src *s = client_of_timer(heap_min(&ev->timers));
			client_timer_del(ev, s);
			client_on_timer(ev, s, now);
			now = now_ns();
		}
		if (ev->active_left == 0)
			break;

		uint64_t timeout = UINT64_MAX;
		const struct heap_node *first = heap_min(&ev->timers);
		if (first)
			timeout = first->key > now ? first->key - now : 0;
		if (ev->stopping) {
			uint64_t t = ev->stop_deadline > now ? ev->stop_deadline - now : 0;
			if (t < timeout)
				timeout = t;
		} else if (!ev->started && !ev->ready && ev->active_pending == 0) {
			uint64_t at = ev->last_progress + CLIENT_IDLE_STALL;
			uint64_t t = at > now ? at - now : 0;
			if (t < timeout)
				timeout = t;
		}
		if (r->iv) {
			if (now >= r->iv->next_ns)
				client_interval_end(r, now, 0);
			if (r->iv->next_ns - now < timeout)
				timeout = r->iv->next_ns > now ? r->iv->next_ns - now : 0;
		}
		int n = client_wait(ev, evs, (int)ARRAY_SIZE(evs), timeout);
		ev->waits++;
		if (r->iv)
			r->waits = ev->waits;   /* -i runs one loop (client_opts.c) */
		if (n < 0) {
			if (errno == EINTR)
				continue;       /* a signal: the top of the loop sees it */
			msg("epoll wait: %s", strerror(errno));
			ev->failed = 1;
			client_stop_others(ev, "after a sending loop failed");
			goto out;
		}
		now = now_ns();
		for (int i = 0; i < n; i++) {
			if (!evs[i].data.ptr) {
				/* The wake-up eventfd: reset it; the top of
				 * the loop looks at why. */
				uint64_t v;
				if (read(ev->sh->wake[ev->idx], &v, sizeof(v)) < 0 && errno != EAGAIN)
					msg("reading the wake-up eventfd: %s", strerror(errno));
				continue;
			}
			client_on_event(ev, evs[i].data.ptr, evs[i].events, now);
		}
	}
	ev->rc = 0;
out:
	{
		/* The idle connections stay open until here, as asked. */
		struct client_loopstat *st = &r->loops[ev->idx];
		uint64_t now = now_ns();
		for (uint32_t i = 0; i < ev->nown; i++) {
			struct client_src *s = ev->own[i];
			if (s->state != CS_DONE)
				client_done(ev, s, s->idle ? CLIENT_OK : CLIENT_FAILED, now);
			if (s->idle)
				continue;
			st->frames += s->frames;
			st->bytes += s->bytes;
			st->eagain += s->eagain;
			st->blocked_ns += s->blocked_ns;
		}
		st->sources = ev->nown_src;
		st->idle = ev->nown - ev->nown_src;
		st->waits = ev->waits;
		if (have_cpu && clock_gettime(CLOCK_THREAD_CPUTIME_ID, &c1) == 0)
			st->cpu_ns = (uint64_t)(c1.tv_sec - c0.tv_sec) * CLIENT_NS +
				     (uint64_t)c1.tv_nsec - (uint64_t)c0.tv_nsec;
		if (r->iv)
			client_interval_end(r, now, 1);
	}
}

static void *client_loop_thread(void *arg)
{
	client_loop_run(arg);
	return NULL;
}

/* Loop k's epoll set, timer heap and connections. 0, or -1 (said why). */
static int client_ev_init(struct client_ev *ev, struct client_run *r, struct client_shared *sh,
			  uint32_t k, struct client_src **own)
{
	uint32_t K = sh->nloops, nidle = r->nall - r->nsrc;

	ev->r = r;
	ev->sh = sh;
	ev->idx = k;
	ev->own = own;
	for (uint32_t i = k; i < r->nsrc; i += K)
		own[ev->nown++] = &r->src[i];
	ev->nown_src = ev->nown;
	for (uint32_t j = k; j < nidle; j += K)
		own[ev->nown++] = &r->src[r->nsrc + j];
	client_format_peer(ev);
	if (heap_init(&ev->timers, ev->nown ? ev->nown : 1) < 0) {
		msg("out of memory for %u connections", ev->nown);
		return -1;
	}
	ev->epfd = epoll_create1(EPOLL_CLOEXEC);
	if (ev->epfd < 0) {
		msg("epoll_create1: %s", strerror(errno));
		return -1;
	}
	if (sh->wake) {
		struct epoll_event e = { .events = EPOLLIN, .data.ptr = NULL };
		sh->wake[k] = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
		if (sh->wake[k] < 0) {
			msg("eventfd: %s", strerror(errno));
			return -1;
		}
		if (epoll_ctl(ev->epfd, EPOLL_CTL_ADD, sh->wake[k], &e) < 0) {
			msg("epoll_ctl (wake-up eventfd): %s", strerror(errno));
			return -1;
		}
	}
	return 0;
}

static void client_ev_free(struct client_ev *ev)
{
	if (ev->epfd >= 0 && close(ev->epfd) < 0)
		msg("close(epoll): %s", strerror(errno));
	heap_free(&ev->timers);
}

int client_loop(struct client_run *r)
{
	struct client_shared sh = { .nloops = r->nloops ? r->nloops : 1 };
	struct client_ev *evs = NULL;
	struct client_src **own = NULL;
	struct client_proc proc;
	sigset_t waitmask;
	uint32_t K = sh.nloops, inited = 0;
	int rc = -1;

	/* The start's window of connects in flight is shared out. */
	sh.window = (CLIENT_CONNECT_WINDOW + K - 1) / K;
	evs = calloc(K, sizeof(*evs));
	own = calloc(r->nall ? r->nall : 1, sizeof(*own));
	if (K > 1)
		sh.wake = malloc(K * sizeof(*sh.wake));
	if (!evs || !own || (K > 1 && !sh.wake)) {
		msg("out of memory for %u sending loops", K);
		goto out_free;
	}
	for (uint32_t k = 0; k < K; k++) {
		evs[k].epfd = -1;
		if (sh.wake)
			sh.wake[k] = -1;
	}
	/* Loop k's connections are own[] from the sum of the earlier ones'. */
	for (uint32_t off = 0; inited < K; inited++) {
		if (client_ev_init(&evs[inited], r, &sh, inited, own + off) < 0) {
			inited++;
			goto out_free;
		}
		off += evs[inited].nown;
	}

	/* Before any thread exists, so that they all inherit the mask and
	 * the timer slack. */
	client_proc_setup(&proc, &waitmask);
	for (uint32_t k = 0; k < K; k++)
		evs[k].waitmask = waitmask;
	for (uint32_t k = 1; k < K; k++) {
		int e = pthread_create(&evs[k].thread, NULL, client_loop_thread, &evs[k]);
		if (e) {
			msg("cannot start sending loop %u of %u: %s", k, K, strerror(e));
			evs[0].failed = 1;
			client_stop_others(&evs[0], "after a sending loop could not start");
			break;
		}
		evs[k].have_thread = 1;
	}
	client_loop_run(&evs[0]);
	rc = evs[0].rc;
	for (uint32_t k = 1; k < K; k++) {
		int e;
		if (!evs[k].have_thread) {
			rc = -1;
			continue;
		}
		if ((e = pthread_join(evs[k].thread, NULL)) != 0)
			msg("pthread_join (sending loop %u): %s", k, strerror(e));
		if (evs[k].rc < 0)
			rc = -1;
	}
	r->t_end = now_ns();
	for (uint32_t k = 0; k < K; k++) {
		struct client_ev *ev = &evs[k];
		r->failed |= ev->failed;
		if (ev->signalled && !r->signalled)
			r->signalled = ev->signalled;
		r->idle_connected += ev->idle_connected;
		r->idle_lost += ev->idle_lost;
		/* A loop that never ran still owes its connections a status. */
		if (k && !ev->have_thread)
			for (uint32_t i = 0; i < ev->nown; i++)
				if (ev->own[i]->state != CS_DONE)
					client_done(ev, ev->own[i], CLIENT_FAILED, r->t_end);
	}
	client_proc_restore(&proc);
out_free:
	for (uint32_t k = 0; k < inited; k++)
		client_ev_free(&evs[k]);
	if (sh.wake)
		for (uint32_t k = 0; k < K; k++)
			if (sh.wake[k] >= 0 && close(sh.wake[k]) < 0)
				msg("close(eventfd): %s", strerror(errno));
	free(sh.wake);
	free(own);
	free(evs);
	return rc;
}
