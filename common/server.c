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
#include "net.h"
#include "report.h"
#include "util.h"

#define SERVER_RBUF_SIZE (256u << 10)   /* many frames per read */

static volatile sig_atomic_t server_signalled;

static void server_on_signal(int sig)
{
	server_signalled = sig;
}

void syscounts_add(struct syscounts *d, const struct syscounts *s)
{
	d->waits += s->waits;
	d->reads += s->reads;
	d->eagain += s->eagain;
	d->writes += s->writes;
	d->accepts += s->accepts;
	d->ctl += s->ctl;
	d->enters += s->enters;
	d->sqes += s->sqes;
	d->cqes += s->cqes;
	d->nobufs += s->nobufs;
	d->overflows += s->overflows;
}

int server_should_stop(struct server *s)
{
	if (server_signalled)
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

/* Register fd; peer is the address accept() gave (NULL: ask the socket,
 * which no longer knows once the peer has reset the connection). */
static struct conn *server_register(struct server *s, int fd, struct syscounts *sc,
				    const struct sockaddr *peer, socklen_t peer_len)
{
	struct conn *c = calloc(1, sizeof(*c));
	struct source *src = calloc(1, sizeof(*src));
	struct source **grown = NULL;

	if (!c || !src)
		goto nomem;
	source_init(src);
	src->connections = 1;
	if (peer)
		net_format(peer, peer_len, src->peer, sizeof(src->peer));
	else
		net_peer_name(fd, src->peer, sizeof(src->peer));
	c->fd = fd;
	c->src = src;
	c->sc = sc;
	c->last_rx_ns = now_ns();
	frame_parser_init(&c->fp, s->opt.max_frame);

	/* Best effort: a failure here costs latency, not correctness. */
	if (s->opt.mode == MODE_PULL)
		(void)net_set_nodelay(fd);
	if (s->opt.keepalive)
		(void)net_set_keepalive(fd, s->opt.keepalive);

	pthread_mutex_lock(&s->lock);
	if (s->nsrcs == s->srcs_cap) {
		unsigned cap = s->srcs_cap ? 2 * s->srcs_cap : 64;
		grown = realloc(s->srcs, cap * sizeof(*grown));
		if (!grown) {
			pthread_mutex_unlock(&s->lock);
			goto nomem;
		}
		s->srcs = grown;
		s->srcs_cap = cap;
	}
	s->srcs[s->nsrcs++] = src;
	list_push(&s->live, c);
	s->nlive++;
	pthread_mutex_unlock(&s->lock);

	if (s->opt.mode == MODE_PULL && !s->be->pull_in_turn &&
	    conn_request(s, c) == CONN_END) {
		server_close(s, c);
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

struct conn *server_adopt(struct server *s, int fd, struct syscounts *sc)
{
	return server_register(s, fd, sc, NULL, 0);
}

/* Out of descriptors: the pending connection would make the listener
 * readable forever. Spend the reserve descriptor to accept it and close
 * it at once, so the peer hears a clear "no" and the loop does not spin.
 * 1 when a connection was shed; 0 when none was pending - accept4() says
 * EMFILE whenever the table is full, pending connection or not, so that
 * is no refusal (nothing is counted or printed) and the caller must stop
 * asking, or it would ask again at once, forever. */
int server_shed(struct server *s, int err)
{
	char peer[80];
	struct sockaddr_storage ss;
	socklen_t sl = sizeof(ss);
	int fd = -1;

	if (s->reserve_fd >= 0) {
		close(s->reserve_fd);
		fd = accept(s->lfd, (struct sockaddr *)&ss, &sl);
		if (fd >= 0) {
			net_format((struct sockaddr *)&ss, sl, peer, sizeof(peer));
			close(fd);
		}
		s->reserve_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
	}
	if (fd < 0)
		return 0;
	__atomic_add_fetch(&s->refused, 1, __ATOMIC_RELAXED);
	msg("refused connection from %s: %s (raise `ulimit -n`, now %ld)",
	    peer, strerror(err), net_raise_nofile(0));
	return 1;
}

int server_accept(struct server *s, struct syscounts *sc, int fd_limit, struct conn **out)
{
	int nonblock = !s->be->blocking_listen;

	for (;;) {
		struct sockaddr_storage ss;
		socklen_t sl = sizeof(ss);
		int fd = accept4(s->lfd, (struct sockaddr *)&ss, &sl,
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
				if (!nonblock)
					return 0;   /* let a blocking caller look at the signal */
				continue;
			/* accept(2): errors of the pending connection, not ours. */
			case ECONNABORTED: case EPROTO: case ENETDOWN: case ENOPROTOOPT:
			case EHOSTDOWN: case ENONET: case EHOSTUNREACH: case ENETUNREACH:
				continue;
			case EMFILE: case ENFILE: case ENOBUFS: case ENOMEM:
				/* Nothing was pending: the table is full, the
				 * backlog empty; asking again would spin. */
				if (!server_shed(s, errno) || !nonblock)
					return 0;
				continue;
			default:
				msg("accept on %s: %s", s->listen_name, strerror(errno));
				return -1;
			}
		}
		if (fd_limit && fd >= fd_limit) {
			char peer[80];
			net_format((struct sockaddr *)&ss, sl, peer, sizeof(peer));
			close(fd);
			__atomic_add_fetch(&s->refused, 1, __ATOMIC_RELAXED);
			msg("refused connection from %s: descriptor %d is beyond the %s backend's limit "
			    "of %d (FD_SETSIZE); use poll or epoll for this many connections",
			    peer, fd, s->be->name, fd_limit - 1);
			if (!nonblock)
				return 0;
			continue;
		}
		*out = server_register(s, fd, sc, (struct sockaddr *)&ss, sl);
		if (*out)
			return 1;
		if (!nonblock)
			return 0;
	}
}

void server_close(struct server *s, struct conn *c)
{
	if (c->fd < 0)
		return;
	build_conn_closed(s, c);
	pthread_mutex_lock(&s->lock);
	/* Under the lock: server_shutdown_all() must never see a descriptor
	 * number that a concurrent accept has already reused. close(2) on
	 * Linux releases the descriptor even when it reports an error, so
	 * there is nothing to retry. */
	(void)close(c->fd);
	c->fd = -1;
	list_unlink(&s->live, c);
	s->nlive--;
	list_push(&s->dead, c);
	c->src->closed = 1;
	/* A connection that never sent a byte is not a source: it must not
	 * end a run that waits for --sources N. */
	if (c->src->heard && source_ended(c->src))
		__atomic_add_fetch(&s->ended, 1, __ATOMIC_RELAXED);
	pthread_mutex_unlock(&s->lock);
}

void server_reap(struct server *s)
{
	pthread_mutex_lock(&s->lock);
	struct conn *c = s->dead;
	s->dead = NULL;
	pthread_mutex_unlock(&s->lock);
	while (c) {
		struct conn *next = c->next;
		free(c);
		c = next;
	}
}

void server_sweep(struct server *s, void (*forget)(struct server *, struct conn *))
{
	uint64_t now;

	build_sweep(s, forget);
	if (s->opt.idle_timeout <= 0)
		return;
	now = now_ns();
	if (now < s->next_sweep_ns)
		return;
	/* An eighth of the timeout: a silent source is ended at most 12.5 %
	 * late, and the walk over every connection stays rare. */
	s->next_sweep_ns = now + (uint64_t)(s->opt.idle_timeout * 1e9 / 8);
	for (struct conn *c = s->live, *next; c; c = next) {
		next = c->next;
		if (conn_idle_expired(s, c, now)) {
			if (forget)
				forget(s, c);
			server_close(s, c);
		}
	}
}

void server_shutdown_all(struct server *s)
{
	pthread_mutex_lock(&s->lock);
	for (struct conn *c = s->live; c; c = c->next) {
		__atomic_store_n(&c->shut_by_us, 1, __ATOMIC_RELAXED);
		(void)shutdown(c->fd, SHUT_RDWR);   /* ENOTCONN if the peer went first */
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

	if (s->be->probe && s->be->probe(why, sizeof(why)) < 0) {
		msg("the %s backend cannot run here: %s", s->be->name, why);
		return -1;
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
	s->lfd = net_listen(&addr, 4096, !s->be->blocking_listen);
	if (s->lfd < 0)
		return -1;
	net_local_name(s->lfd, s->listen_name, sizeof(s->listen_name));
	s->reserve_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
	s->rbuf_size = SERVER_RBUF_SIZE;
	s->rbuf = malloc(s->rbuf_size);
	if (s->opt.trace)
		s->trace = calloc(s->opt.trace_max, sizeof(*s->trace));
	if (!s->rbuf || (s->opt.trace && !s->trace)) {
		msg("out of memory for the read buffer or --trace-max");
		return -1;
	}
	if (s->opt.build && build_open(s) < 0)
		return -1;
	return 0;
}

static void server_free(struct server *s)
{
	for (struct conn *c = s->live, *next; c; c = next) {
		next = c->next;
		server_close(s, c);
	}
	server_reap(s);
	build_free(s);
	for (unsigned i = 0; i < s->nsrcs; i++) {
		source_free(s->srcs[i]);
		free(s->srcs[i]);
	}
	free(s->srcs);
	free(s->rbuf);
	free(s->trace);
	if (s->lfd >= 0)
		close(s->lfd);
	if (s->reserve_fd >= 0)
		close(s->reserve_fd);
	pthread_mutex_destroy(&s->lock);
}

int server_run(const struct server_opts *opt, const struct backend *be)
{
	struct server s = { .opt = *opt, .be = be, .lfd = -1, .reserve_fd = -1 };
	struct report_usage usage;
	int rc;

	pthread_mutex_init(&s.lock, NULL);
	if (server_setup(&s) < 0) {
		server_free(&s);
		return 2;
	}
	fprintf(server_talk(&s), "listening on %s\n", s.listen_name);
	fflush(server_talk(&s));

	report_usage_start(&usage);
	s.start_ns = now_ns();
	if (s.opt.duration > 0)
		s.deadline_ns = s.start_ns + (uint64_t)(s.opt.duration * 1e9);
	rc = s.be->run(&s);
	/* No accept after run(): give the reserve descriptor back, so that the
	 * summary (and /proc/self/status for its peak RSS) can be opened even
	 * when the connections hold every other descriptor. */
	if (s.reserve_fd >= 0) {
		close(s.reserve_fd);
		s.reserve_fd = -1;
	}
	/* Whatever is still connected stays "active": we stopped, not it. */
	for (struct conn *c = s.live; c; c = c->next)
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

