/*
 * server.c - the server core: set-up, the connection registry, timers and
 * signals. The wait itself belongs to the chosen backend; the command line
 * is server/server_main.c's.
 */
#include "server.h"

#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include "build.h"
#include "loops.h"
#include "net.h"
#include "report.h"
#include "util.h"

static volatile sig_atomic_t server_signalled;

/* Atomic as well as volatile: with --loops every loop thread reads it. */
static void server_on_signal(int sig)
{
	__atomic_store_n(&server_signalled, sig, __ATOMIC_RELAXED);
}

void syscounts_add(struct syscounts *d, const struct syscounts *s)
{
	d->waits += s->waits;
	d->reads += s->reads;
	d->eagain += s->eagain;
	d->writes += s->writes;
	d->accepts += s->accepts;
	d->ctl += s->ctl;
	for (unsigned i = 0; i < BACKEND_MAX_COUNTERS; i++)
		d->extra[i] += s->extra[i];
}

int server_should_stop(struct server *s)
{
	if (EV_ON(s))
		ev_tick(s);
	if (__atomic_load_n(&server_signalled, __ATOMIC_RELAXED) ||
	    __atomic_load_n(&s->failed, __ATOMIC_RELAXED))
		return 1;
	if (s->deadline_ns && now_ns() >= s->deadline_ns)
		return 1;
	return s->opt.sources &&
	       __atomic_load_n(&s->ended, __ATOMIC_RELAXED) >= s->opt.sources;
}

int server_wait_ms(struct server *s)
{
	int ms = SERVER_TICK_MS;
	if (s->deadline_ns) {
		uint64_t now = now_ns();
		uint64_t left = s->deadline_ns > now ? (s->deadline_ns - now + 999999) / 1000000 : 0;
		if (left < (uint64_t)ms)
			ms = (int)left;
	}
	/* -i: wake for the end of the interval, so its line is on time. */
	if (EV_ON(s)) {
		int iv = ev_wait_ms(s);
		if (iv < ms)
			ms = iv;
	}
	return build_wait_ms(s, ms);
}

/* ---- the registry ------------------------------------------------------- */

static void list_push(struct conn **head, struct conn *c)
{
	c->prev = NULL;
	c->next = *head;
	if (*head)
		(*head)->prev = c;
	*head = c;
}

static void list_unlink(struct conn **head, struct conn *c)
{
	if (c->prev)
		c->prev->next = c->next;
	else
		*head = c->next;
	if (c->next)
		c->next->prev = c->prev;
}

/*
 * Sources. A connection is not a source until it has delivered a valid
 * frame: until then its record is its own (provisional, not in the
 * registry), so an idle connection, a port scanner or a peer speaking
 * another protocol can neither take the place of one of the N expected
 * sources nor end the run; when it closes it is only counted, as idle
 * (never sent a byte) or rejected (with its reason), and its record is
 * freed. The first valid frame names the source (registry_name).
 *
 * A record may be pointed to by several connections over time (a resume),
 * so it carries a count of them and is freed when the last one is reaped
 * and it is no longer in the registry.
 */

/* A new record in the registry; under s->lock. 0, or -1 out of memory. */
static int registry_add(struct server *s, struct source *r)
{
	if (s->nsrcs == s->srcs_cap) {
		unsigned cap = s->srcs_cap ? 2 * s->srcs_cap : 64;
		struct source **grown = realloc(s->srcs, cap * sizeof(*grown));
		if (!grown)
			return -1;
		s->srcs = grown;
		s->srcs_cap = cap;
	}
	r->slot = s->nsrcs;
	s->srcs[s->nsrcs++] = r;
	r->registered = 1;
	return 0;
}

static void registry_remove(struct server *s, struct source *r)
{
	struct source *last = s->srcs[--s->nsrcs];
	s->srcs[r->slot] = last;
	last->slot = r->slot;
	r->registered = 0;
}

enum registry_verdict registry_name(struct server *s, struct conn *c, uint32_t id,
				    char *why, size_t whylen)
{
	struct source *me = c->src, *r = NULL;
	enum registry_verdict v = REG_NEW;

	pthread_mutex_lock(&s->lock);
	/* Linear, but once per connection and never per frame. */
	for (unsigned i = 0; i < s->nsrcs; i++)
		if (s->srcs[i]->id == id) {
			r = s->srcs[i];
			break;
		}
	me->id = id;
	me->have_id = 1;
	if (r && !r->closed) {
		snprintf(why, whylen, "source id %u is already connected from %s", id, r->peer);
		v = REG_REFUSED;
	} else if (r && r->got_bye) {
		snprintf(why, whylen, "source id %u has already said BYE (from %s); "
			 "a source resumes only after a connection that ended without one",
			 id, r->peer);
		v = REG_REFUSED;
	} else if (r && source_resume(r, me->peer) == 0) {
		/* The record goes on; this connection's provisional one is
		 * dropped (it has counted nothing: this is its first frame). */
		r->closed = 0;
		r->refs++;
		s->nsrcs_ended--;
		__atomic_sub_fetch(&s->ended, 1, __ATOMIC_RELAXED);
		c->src = r;
		/* The loop's figures count what this connection brings. */
		c->src_frames0 = r->frames;
		c->src_bytes0 = r->bytes;
		v = REG_RESUMED;
	} else if (r) {
		snprintf(why, whylen, "source id %u is still open", id);  /* stopping */
		v = REG_REFUSED;
	} else if (registry_add(s, me) < 0) {
		snprintf(why, whylen, "out of memory for source %u's record", id);
		v = REG_REFUSED;
	}
	pthread_mutex_unlock(&s->lock);
	if (v == REG_RESUMED) {
		source_free(me);
		free(me);
	}
	return v;
}

/* Count a rejection by its reason; at most SERVER_REJECT_REASONS distinct
 * ones are kept, so that a peer cannot grow memory by varying its junk. */
static void registry_reject(struct server *s, const char *why)
{
	s->rejected++;
	for (unsigned i = 0; i < SERVER_REJECT_REASONS; i++) {
		if (!s->reject_why[i].n)
			snprintf(s->reject_why[i].why, sizeof(s->reject_why[i].why), "%s", why);
		else if (strcmp(s->reject_why[i].why, why))
			continue;
		s->reject_why[i].n++;
		return;
	}
	s->reject_why_other++;
}

/* Fold an ended record into "others": exact counts, one histogram. */
static void registry_fold(struct server *s, struct source *r)
{
	if (source_sum(&s->others, r) < 0)
		s->others.unstamped = source_add_sat(s->others.unstamped, r->lat.n);
	s->nothers++;
	s->others_ok += source_ok(r);
	s->others_status[r->status]++;
	registry_remove(s, r);
}

/* Its connection has closed; under s->lock. */
static void registry_closed(struct server *s, struct conn *c)
{
	struct source *r = c->src;

	r->closed = 1;
	if (!r->registered) {
		if (!r->heard)
			s->idle_closed++;
		else if (source_ended(r))
			registry_reject(s, r->error[0] ? r->error : source_status_name(r->status));
		else
			s->idle_closed++;   /* part of a frame, then we stopped */
		return;
	}
	if (!source_ended(r))
		return;                     /* we stopped: it stays "active" */
	__atomic_add_fetch(&s->ended, 1, __ATOMIC_RELAXED);
	/* Beyond --max-records the newest ended record is folded, so memory
	 * stays bounded whatever peers do; the first ones keep their rows. */
	if (s->nsrcs_ended >= s->opt.max_records)
		registry_fold(s, r);
	else
		s->nsrcs_ended++;
}

/* Register fd in loop l; peer is the address accept() gave (NULL: ask
 * the socket, which no longer knows once the peer has reset the
 * connection). */
static struct conn *server_register(struct loop *l, int fd, const struct sockaddr *peer,
				    socklen_t peer_len)
{
	struct server *s = l->s;
	struct conn *c = calloc(1, sizeof(*c) + s->be->conn_size);
	struct source *src = calloc(1, sizeof(*src));

	if (!c || !src)
		goto nomem;
	source_init(src);
	src->connections = 1;
	src->refs = 1;
	if (peer)
		net_format(peer, peer_len, src->peer, sizeof(src->peer));
	else
		net_peer_name(fd, src->peer, sizeof(src->peer));
	c->fd = fd;
	c->loop = l;
	c->src = src;
	c->sc = &l->sc;
	c->last_rx_ns = now_ns();
	src->connected_ns = c->last_rx_ns;
	frame_parser_init(&c->fp, s->opt.max_frame);

	/* Best effort: a failure here costs latency, not correctness. */
	if (s->opt.mode == MODE_PULL)
		(void)net_set_nodelay(fd);
	if (s->opt.keepalive)
		(void)net_set_keepalive(fd, s->opt.keepalive);

	pthread_mutex_lock(&s->lock);
	list_push(&l->live, c);
	l->nlive++;
	l->conns++;
	s->connections++;
	pthread_mutex_unlock(&s->lock);

	ev_note(l, "accepted fd %d from %s", fd, src->peer);
	if (s->opt.mode == MODE_PULL && !backend_has(s->be, BE_PULL_IN_TURN) &&
	    conn_request(c) == CONN_END) {
		server_close(c);
		return NULL;
	}
	return c;

nomem:
	msg("refused connection from %s: out of memory", src ? src->peer : "?");
	free(c);
	free(src);
	close(fd);
	__atomic_add_fetch(&s->refused, 1, __ATOMIC_RELAXED);
	return NULL;
}

struct conn *server_adopt(struct loop *l, int fd)
{
	return server_register(l, fd, NULL, 0);
}

/* Out of descriptors: the pending connection would make the listener
 * readable forever. Spend the reserve descriptor to accept it and close
 * it at once, so the peer hears a clear "no" and the loop does not spin.
 * 1 when a connection was shed; 0 when none was pending - accept4() says
 * EMFILE whenever the table is full, pending connection or not, so that
 * is no refusal (nothing is counted or printed) and the caller must stop
 * asking, or it would ask again at once, forever. The reserve is one
 * descriptor for every loop: taken under the lock. */
static int server_shed_on(struct server *s, int lfd, int err)
{
	char peer[80];
	struct sockaddr_storage ss;
	socklen_t sl = sizeof(ss);
	int fd = -1;

	pthread_mutex_lock(&s->lock);
	if (s->reserve_fd >= 0) {
		close(s->reserve_fd);
		fd = accept(lfd, (struct sockaddr *)&ss, &sl);
		if (fd >= 0) {
			net_format((struct sockaddr *)&ss, sl, peer, sizeof(peer));
			close(fd);
		}
		s->reserve_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
	}
	pthread_mutex_unlock(&s->lock);
	if (fd < 0)
		return 0;
	__atomic_add_fetch(&s->refused, 1, __ATOMIC_RELAXED);
	msg("refused connection from %s: %s (raise `ulimit -n`, now %ld)",
	    peer, strerror(err), net_raise_nofile(0));
	return 1;
}

int server_shed(struct loop *l, int err)
{
	return server_shed_on(l->s, l->listen_fd >= 0 ? l->listen_fd : l->s->lfd, err);
}

int server_accept_fd(struct server *s, int lfd, int wait, struct syscounts *sc,
		     struct server_handed *h)
{
	int nonblock = !backend_has(s->be, BE_BLOCKING_LISTEN);

	for (;;) {
		h->len = sizeof(h->peer);
		int fd = accept4(lfd, (struct sockaddr *)&h->peer, &h->len,
				 SOCK_CLOEXEC | (nonblock ? SOCK_NONBLOCK : 0));
		sc->accepts++;
		if (fd < 0) {
			switch (errno) {
			case EAGAIN:
#if EAGAIN != EWOULDBLOCK
			case EWOULDBLOCK:
#endif
				return 0;
			case EINTR:
				if (wait)
					return 0;   /* let a blocking caller look at the signal */
				continue;
			/* accept(2): errors of the pending connection, not ours. */
			case ECONNABORTED: case EPROTO: case ENETDOWN: case ENOPROTOOPT:
			case EHOSTDOWN: case ENONET: case EHOSTUNREACH: case ENETUNREACH:
				continue;
			case EMFILE: case ENFILE: case ENOBUFS: case ENOMEM:
				/* Nothing was pending: the table is full, the
				 * backlog empty; asking again would spin. */
				if (!server_shed_on(s, lfd, errno) || wait)
					return 0;
				continue;
			default:
				msg("accept on %s: %s", s->listen_name, strerror(errno));
				return -1;
			}
		}
		if (s->be->fd_limit && fd >= s->be->fd_limit) {
			char peer[80];
			net_format((struct sockaddr *)&h->peer, h->len, peer, sizeof(peer));
			close(fd);
			__atomic_add_fetch(&s->refused, 1, __ATOMIC_RELAXED);
			msg("refused connection from %s: descriptor %d is beyond the %s backend's limit "
			    "of %d (FD_SETSIZE); use poll or epoll for this many connections",
			    peer, fd, s->be->name, s->be->fd_limit - 1);
			if (wait)
				return 0;
			continue;
		}
		h->fd = fd;
		return 1;
	}
}

int server_accept(struct loop *l, struct conn **out)
{
	struct server *s = l->s;
	int wait = backend_has(s->be, BE_BLOCKING_LISTEN);
	struct server_handed h;

	for (;;) {
		int rc = l->handoff ? loop_take(l, wait, &h)
				    : server_accept_fd(s, l->accept_fd, wait, &l->sc, &h);
		if (rc <= 0)
			return rc;
		*out = server_register(l, h.fd, (struct sockaddr *)&h.peer, h.len);
		if (*out)
			return 1;
		if (wait)
			return 0;
	}
}

void server_close(struct conn *c)
{
	struct loop *l = c->loop;
	struct server *s = l->s;

	if (c->fd < 0)
		return;
	build_conn_closed(c);
	if (s->be->forget && l->started)
		s->be->forget(l, c);
	pthread_mutex_lock(&s->lock);
	/* Under the lock: server_shutdown_all() must never see a descriptor
	 * number that a concurrent accept has already reused. close(2) on
	 * Linux releases the descriptor even when it reports an error, so
	 * there is nothing to retry. */
	(void)close(c->fd);
	c->fd = -1;
	list_unlink(&l->live, c);
	l->nlive--;
	list_push(&l->dead, c);
	l->frames += c->src->frames - c->src_frames0;
	l->bytes += c->src->bytes - c->src_bytes0;
	registry_closed(s, c);
	pthread_mutex_unlock(&s->lock);
}

void server_reap(struct loop *l)
{
	pthread_mutex_lock(&l->s->lock);
	struct conn *c = l->dead;
	l->dead = NULL;
	/* A record goes with its last connection unless the registry holds
	 * it; c->src NULL below means "not mine to free". */
	for (struct conn *d = c; d; d = d->next)
		if (--d->src->refs || d->src->registered)
			d->src = NULL;
	pthread_mutex_unlock(&l->s->lock);
	while (c) {
		struct conn *next = c->next;
		if (c->src) {
			source_free(c->src);
			free(c->src);
		}
		free(c);
		c = next;
	}
}

void server_sweep(struct loop *l)
{
	struct server *s = l->s;
	uint64_t now;

	build_sweep(l);
	if (s->opt.idle_timeout <= 0)
		return;
	now = now_ns();
	if (now < l->next_sweep_ns)
		return;
	/* An eighth of the timeout: a silent source is ended at most 12.5 %
	 * late, and the walk over every connection stays rare. */
	l->next_sweep_ns = now + (uint64_t)(s->opt.idle_timeout * 1e9 / 8);
	for (struct conn *c = l->live, *next; c; c = next) {
		next = c->next;
		if (!c->paused && conn_idle_expired(c, now))
			server_close(c);
	}
}

void conn_pause(struct conn *c)
{
	struct loop *l = c->loop;

	if (c->fd < 0 || __atomic_load_n(&c->paused, __ATOMIC_RELAXED))
		return;
	__atomic_store_n(&c->paused, 1, __ATOMIC_RELAXED);
	if (l->s->be->pause)
		l->s->be->pause(l, c);
}

void conn_resume(struct conn *c)
{
	struct loop *l = c->loop;

	if (c->fd < 0 || !__atomic_load_n(&c->paused, __ATOMIC_RELAXED))
		return;
	/* Silent because we did not read it: the idle clock starts again
	 * (a reader thread restarts its own, after it wakes). */
	if (!backend_has(l->s->be, BE_THREAD_PER_CONN))
		c->last_rx_ns = now_ns();
	__atomic_store_n(&c->paused, 0, __ATOMIC_RELAXED);
	if (l->s->be->resume)
		l->s->be->resume(l, c);
}

void server_shutdown_all(struct server *s)
{
	pthread_mutex_lock(&s->lock);
	for (unsigned i = 0; i < s->nloops; i++) {
		for (struct conn *c = s->loops[i].live; c; c = c->next) {
			__atomic_store_n(&c->shut_by_us, 1, __ATOMIC_RELAXED);
			(void)shutdown(c->fd, SHUT_RDWR);   /* ENOTCONN if the peer went first */
		}
	}
	pthread_mutex_unlock(&s->lock);
}

/* ---- set-up ------------------------------------------------------------- */

static int server_signals(void)
{
	struct sigaction sa = { .sa_handler = server_on_signal };

	/* No SA_RESTART: a blocked wait or read must return EINTR so the loop
	 * sees the flag. Writes to a closed peer must fail, not kill us. */
	sigemptyset(&sa.sa_mask);
	if (sigaction(SIGINT, &sa, NULL) < 0 || sigaction(SIGTERM, &sa, NULL) < 0 ||
	    signal(SIGPIPE, SIG_IGN) == SIG_ERR) {
		msg("sigaction: %s", strerror(errno));
		return -1;
	}
	return 0;
}

static int server_setup(struct server *s)
{
	struct net_addr addr;
	char why[256];
	unsigned loops = s->opt.loops ? s->opt.loops : 1, flags = 0;

	if (s->be->probe && s->be->probe(why, sizeof(why)) < 0) {
		msg("the %s backend cannot run here: %s", s->be->name, why);
		return -1;
	}
	if (loops > 1 && !backend_has(s->be, BE_LOOPS)) {
		msg("the %s backend runs no event loops of its own: --loops applies to "
		    "backends that do (`daqmux backends`)", s->be->name);
		return -1;
	}
	if (loops > 1 && s->opt.ncpus) {
		cpu_set_t mine;
		if (sched_getaffinity(0, sizeof(mine), &mine) < 0) {
			msg("sched_getaffinity: %s", strerror(errno));
			return -1;
		}
		for (unsigned i = 0; i < s->opt.ncpus && i < loops; i++) {
			if (!CPU_ISSET(s->opt.cpus[i], &mine)) {
				msg("--cpus: this process may not run on CPU %ld", s->opt.cpus[i]);
				return -1;
			}
		}
	}
	if (s->opt.cpu >= 0) {
		cpu_set_t set;
		CPU_ZERO(&set);
		CPU_SET(s->opt.cpu, &set);
		if (sched_setaffinity(0, sizeof(set), &set) < 0) {
			msg("--cpu %ld: %s", s->opt.cpu, strerror(errno));
			return -1;
		}
	}
	/* Every source is a descriptor; let the hard limit be the limit. */
	net_raise_nofile(1L << 20);
	if (server_signals() < 0 || net_resolve(s->opt.listen, 1, &addr) < 0)
		return -1;
	/* The acceptor of several loops polls the listener, whatever the
	 * backend wants of the descriptors it accepts. */
	if (!backend_has(s->be, BE_BLOCKING_LISTEN) ||
	    (loops > 1 && s->opt.spread == SPREAD_HANDOFF))
		flags |= NET_NONBLOCK;
	if (loops > 1 && s->opt.spread == SPREAD_REUSEPORT)
		flags |= NET_REUSEPORT;
	s->lfd = net_listen(&addr, 4096, flags);
	if (s->lfd < 0)
		return -1;
	net_local_name(s->lfd, s->listen_name, sizeof(s->listen_name));
	s->reserve_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
	if (s->opt.trace)
		s->trace = calloc(s->opt.trace_max, sizeof(*s->trace));
	if (s->opt.trace && !s->trace) {
		msg("out of memory for --trace-max");
		return -1;
	}
	if (s->opt.build && build_open(s) < 0)
		return -1;
	return loops_init(s);
}

static void server_free(struct server *s)
{
	if (s->loops)
		loops_free(s);
	build_free(s);
	for (unsigned i = 0; i < s->nsrcs; i++) {
		source_free(s->srcs[i]);
		free(s->srcs[i]);
	}
	free(s->srcs);
	source_free(&s->others);
	free(s->trace);
	ev_free(s);
	if (s->lfd >= 0)
		close(s->lfd);
	if (s->reserve_fd >= 0)
		close(s->reserve_fd);
	pthread_mutex_destroy(&s->lock);
}

int server_run(const struct server_opts *opt, const struct backend *be,
	       const struct server_hooks *hooks)
{
	struct server s = { .opt = *opt, .be = be, .lfd = -1, .reserve_fd = -1 };
	struct report_usage usage;
	int rc;

	if (!s.opt.max_records)
		s.opt.max_records = SERVER_DEFAULT_MAX_RECORDS;
	if (hooks)
		s.hooks = *hooks;
	meta_start_now(&s.meta);
	pthread_mutex_init(&s.lock, NULL);
	if (server_setup(&s) < 0) {
		if (s.opt.json)
			(void)report_json_error(&s, "the server could not start (its message on "
						"stderr says why)");
		server_free(&s);
		return 2;
	}
	fprintf(server_talk(&s), "listening on %s\n", s.listen_name);
	fflush(server_talk(&s));
	if (s.hooks.listening)
		s.hooks.listening(&s, s.hooks.arg);

	report_usage_start(&usage);
	s.start_ns = now_ns();
	if (s.opt.duration > 0)
		s.deadline_ns = s.start_ns + (uint64_t)(s.opt.duration * 1e9);
	if (ev_init(&s) < 0) {
		server_free(&s);
		return 2;
	}
	rc = loops_run(&s);
	ev_finish(&s);
	/* No accept after the loops: give the reserve descriptor back, so
	 * that the summary (and /proc/self/status for its peak RSS) can be
	 * opened even when the connections hold every other descriptor. */
	if (s.reserve_fd >= 0) {
		close(s.reserve_fd);
		s.reserve_fd = -1;
	}
	/* Whatever is still connected stays "active": we stopped, not it. */
	for (unsigned i = 0; i < s.nloops; i++)
		for (struct conn *c = s.loops[i].live; c; c = c->next)
			c->shut_by_us = 1;
	report_usage_stop(&usage, &s);

	if (rc < 0) {
		server_free(&s);
		return 2;
	}
	int wrc = build_finish(&s);
	rc = report_write(&s, &usage);
	if (wrc < 0)
		rc = 2;
	server_free(&s);
	return rc;
}
