/*
 * threads/threads.c - the threads backend: one thread per source, each
 * sleeping in its own blocking read().
 *
 * What it shows: the classic thread-per-client server. There is no event
 * loop - the kernel scheduler is the multiplexer: every reader sleeps in
 * read() on its one socket and the kernel wakes exactly the thread whose
 * bytes arrived. The code per source is the simplest there is (read, hand
 * the bytes to the core, repeat); the price is a kernel thread and a stack
 * per source and a context switch per wakeup.
 *
 * The thread that calls run() is the acceptor. It sleeps in poll() on the
 * listening socket and on an eventfd that finishing readers write to, so
 * it accepts at once, joins finished readers at once (their stacks do not
 * pile up) and sees "all sources done" at once. Readers are born with
 * SIGINT and SIGTERM blocked, so a signal always interrupts the acceptor's
 * poll(). To stop, it shuts every socket down (server_shutdown_all), which
 * wakes each reader from read() with an EOF the core knows is ours, and
 * joins them all.
 *
 * Nothing per frame is shared: a reader owns its connection, its source
 * record, its read buffer and its own syscounts, which the acceptor adds
 * to the server's when it joins the thread.
 *
 * Needs: Linux (eventfd), POSIX threads, and one thread per source:
 * `ulimit -u`, kernel.threads-max and a cgroup's pids.max must allow it.
 * Try it:
 *   bin/daqmux server --backend threads --sources 2 &
 *   bin/daqmux client --sources 2 --count 1000
 */
#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include "server.h"
#include "util.h"

/*
 * 64 KiB of stack is four times what a reader uses at most: about 8 KiB
 * when reading, 17 KiB on its deepest path, an error message (msg's 1 KiB
 * line plus stdio's 8 KiB buffer for unbuffered stderr) - measured by
 * painting the stack. Ten thousand readers reserve 640 MiB of address
 * space, of which only the touched pages cost memory. Sanitizers run
 * their runtime on the same stack and pad every frame with redzones, so
 * they get 512 KiB.
 */
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define THREADS_SANITIZED 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer)
#define THREADS_SANITIZED 1
#endif
#endif
#ifdef THREADS_SANITIZED
#define THREADS_STACK (512u << 10)
#else
#define THREADS_STACK (64u << 10)
#endif

/* Per reader, on the heap (not the small stack). A blocked reader is
 * woken for whatever has arrived, usually a frame or a few: 16 KiB takes
 * a burst of small frames in one read, and pages a reader never fills
 * are never touched. */
#define THREADS_BUF (16u << 10)

struct threads_pool;

/* One source's thread. Its fields belong to that thread until it puts
 * itself on the done list, and to the acceptor after that. */
struct threads_reader {
	struct threads_pool *pool;
	struct conn *c;               /* NULL once closed: the core may free it */
	pthread_t tid;
	struct syscounts sc;          /* this reader's, added up when joined */
	struct threads_reader *next;  /* on the done list */
	uint8_t buf[];                /* THREADS_BUF bytes */
};

struct threads_pool {
	struct server *s;
	struct loop *l;
	pthread_attr_t attr;          /* the readers' small stacks */
	sigset_t stopsigs;            /* SIGINT, SIGTERM: the acceptor's to see */
	int efd;                      /* eventfd: "a reader has finished" */
	unsigned running;             /* started, not yet joined (acceptor only) */
	int stopping;                 /* set once, before the sockets are shut */
	pthread_mutex_t lock;         /* guards done; paused readers wait on it */
	pthread_cond_t resumed;       /* a paused connection was resumed, or stop */
	struct threads_reader *done;  /* finished, waiting to be joined */
};

/* Locking, unlocking and joining fail only when misused (EINVAL,
 * EDEADLK): a bug that leaves the state unknown, so stop here. */
static void threads_check(int err, const char *what)
{
	if (err) {
		msg("%s: %s", what, strerror(err));
		abort();
	}
}

/* SO_RCVTIMEO: a blocking read() gives EAGAIN after ns of silence. A
 * zero timeval would mean "wait forever", so round up to 1 us. */
static int threads_rcvtimeo(int fd, uint64_t ns)
{
	uint64_t us = ns / 1000 ? ns / 1000 : 1;
	struct timeval tv = { .tv_sec = (time_t)(us / 1000000),
			      .tv_usec = (suseconds_t)(us % 1000000) };

	return setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
}

/*
 * --idle-timeout: read() returned EAGAIN. The socket timer counts from
 * the start of that read and in jiffies, so it may fire a little before
 * the source has really been silent for the limit: conn_idle_expired
 * decides, and if the source still has time, the next read waits only
 * for the rest of it. True when the connection must end.
 */
static int threads_idle(struct server *s, struct conn *c)
{
	uint64_t now = now_ns(), limit = (uint64_t)(s->opt.idle_timeout * 1e9);

	if (conn_idle_expired(c, now))
		return 1;
	if (threads_rcvtimeo(c->fd, limit - (now - c->last_rx_ns)) < 0) {
		conn_fail(c, "setsockopt(SO_RCVTIMEO): %s", strerror(errno));
		return 1;
	}
	return 0;
}

/* Tell the acceptor to join us. If the write fails the join waits for
 * the acceptor's next tick instead: late, not lost. */
static void threads_notify(struct threads_pool *p)
{
	uint64_t one = 1;
	ssize_t n;

	do
		n = write(p->efd, &one, sizeof(one));
	while (n < 0 && errno == EINTR);
	/* EAGAIN: the counter is full of unread wakeups already. */
	if (n < 0 && errno != EAGAIN)
		msg("eventfd write: %s", strerror(errno));
}

/*
 * Paused (conn_pause, from any thread): sleep until conn_resume or the
 * end of the run. The flag is read without the lock on every read, so
 * the lock is taken only by a reader that is paused: nothing per frame.
 */
static void threads_wait_resumed(struct threads_pool *p, struct conn *c)
{
	threads_check(pthread_mutex_lock(&p->lock), "pthread_mutex_lock");
	while (__atomic_load_n(&c->paused, __ATOMIC_RELAXED) &&
	       !__atomic_load_n(&p->stopping, __ATOMIC_RELAXED))
		threads_check(pthread_cond_wait(&p->resumed, &p->lock), "pthread_cond_wait");
	threads_check(pthread_mutex_unlock(&p->lock), "pthread_mutex_unlock");
	/* Silent because we did not read it: the idle clock starts again. */
	c->last_rx_ns = now_ns();
}

/* conn_resume has cleared c->paused; wake the readers that wait, under
 * the lock so that none is between its look at the flag and its wait. */
static void threads_resume(struct loop *l, struct conn *c)
{
	struct threads_pool *p = l->priv;

	(void)c;
	threads_check(pthread_mutex_lock(&p->lock), "pthread_mutex_lock");
	threads_check(pthread_cond_broadcast(&p->resumed), "pthread_cond_broadcast");
	threads_check(pthread_mutex_unlock(&p->lock), "pthread_mutex_unlock");
}

/*
 * The reader's whole job: one blocking read() per wakeup, the bytes to
 * the core, until the connection ends. Returns when it must be closed.
 */
static void threads_read_loop(struct server *s, struct threads_reader *r)
{
	struct conn *c = r->c;

	for (;;) {
		ssize_t n;

		if (__atomic_load_n(&c->paused, __ATOMIC_RELAXED))
			threads_wait_resumed(r->pool, c);
		ev_block(c);
		n = read(c->fd, r->buf, THREADS_BUF);
		r->sc.reads++;
		ev_read(c, n, errno, "read");
		if (n > 0) {
			/* The run is over: count nothing more, as an event
			 * loop that has stopped reading would not. Without
			 * this, a source that sees our FIN on one socket and
			 * says BYE on the others would complete after the end
			 * (Linux TCP still takes data after SHUT_RD). */
			if (__atomic_load_n(&r->pool->stopping, __ATOMIC_RELAXED))
				return;
			if (conn_input(c, r->buf, (size_t)n, now_ns()) == CONN_END)
				return;
		} else if (n == 0) {
			conn_eof(c);    /* ignored when we shut it down */
			return;
		} else if (errno == EAGAIN || errno == EWOULDBLOCK) {
			/* The socket blocks, so this is SO_RCVTIMEO, which is
			 * set only for --idle-timeout. */
			r->sc.eagain++;
			if (threads_idle(s, c))
				return;
		} else if (errno != EINTR) {
			conn_error(c, errno);
			return;
		}
	}
}

static void *threads_reader_main(void *arg)
{
	struct threads_reader *r = arg;
	struct threads_pool *p = r->pool;

	threads_read_loop(p->s, r);
	/* After server_close the connection is the core's to free
	 * (server_reap); this thread never looks at it again. When the
	 * run is stopping, leave it open: the core closes what is left
	 * after run() returns, one by one, instead of every reader queueing
	 * on the registry lock at once (measured: 10,000 readers stop in
	 * 0.4 s instead of 0.65 s). */
	if (!__atomic_load_n(&p->stopping, __ATOMIC_RELAXED))
		server_close(r->c);
	else
		r->c->sc = &p->l->sc;   /* it outlives r->sc, freed at the join */
	r->c = NULL;

	threads_check(pthread_mutex_lock(&p->lock), "pthread_mutex_lock");
	r->next = p->done;
	p->done = r;
	threads_check(pthread_mutex_unlock(&p->lock), "pthread_mutex_unlock");
	threads_notify(p);
	return NULL;
}

/* Give an accepted connection its thread. A failure refuses this one
 * connection - its record says why - and the server goes on. */
static void threads_start(struct threads_pool *p, struct conn *c)
{
	struct server *s = p->s;
	struct threads_reader *r;
	sigset_t old;
	int err;

	if (s->opt.idle_timeout > 0 &&
	    threads_rcvtimeo(c->fd, (uint64_t)(s->opt.idle_timeout * 1e9)) < 0) {
		conn_fail(c, "setsockopt(SO_RCVTIMEO): %s", strerror(errno));
		server_close(c);
		return;
	}
	/* malloc, not calloc: only the header is cleared, so the buffer's
	 * pages stay untouched until reads fill them. */
	r = malloc(sizeof(*r) + THREADS_BUF);
	if (!r) {
		conn_fail(c, "no memory for a reader (%zu bytes)", sizeof(*r) + THREADS_BUF);
		server_close(c);
		return;
	}
	*r = (struct threads_reader){ .pool = p, .c = c };
	/* From here on the reader counts its own reads; the first REQUEST of
	 * pull mode, sent by server_accept, went to the acceptor's l->sc. */
	c->sc = &r->sc;

	/* The new thread inherits the acceptor's mask with SIGINT and SIGTERM
	 * blocked, so signals always land on the acceptor (whose poll they
	 * interrupt) and never on a reader (whose read would only retry). */
	threads_check(pthread_sigmask(SIG_BLOCK, &p->stopsigs, &old), "pthread_sigmask");
	err = pthread_create(&r->tid, &p->attr, threads_reader_main, r);
	threads_check(pthread_sigmask(SIG_SETMASK, &old, NULL), "pthread_sigmask");
	if (err) {
		c->sc = &p->l->sc;
		free(r);
		conn_fail(c, "cannot start its thread: %s (%u running; see `ulimit -u`, "
			     "kernel.threads-max, pids.max)", strerror(err), p->running);
		server_close(c);
		return;
	}
	p->running++;   /* c is the reader's now: not touched here again */
}

/* Join the readers that have finished and add their counts up. They have
 * returned or are about to, so pthread_join does not wait. */
static void threads_join_done(struct threads_pool *p)
{
	struct threads_reader *r, *next;
	uint64_t n;

	/* Reset the eventfd BEFORE taking the list: a reader that finishes
	 * in between writes again, so no wakeup is lost. EAGAIN: nothing
	 * was written since the last reset. */
	while (read(p->efd, &n, sizeof(n)) < 0 && errno != EAGAIN) {
		if (errno != EINTR) {
			msg("eventfd read: %s", strerror(errno));
			break;
		}
	}
	threads_check(pthread_mutex_lock(&p->lock), "pthread_mutex_lock");
	r = p->done;
	p->done = NULL;
	threads_check(pthread_mutex_unlock(&p->lock), "pthread_mutex_unlock");

	for (; r; r = next) {
		next = r->next;
		threads_check(pthread_join(r->tid, NULL), "pthread_join");
		syscounts_add(&p->l->sc, &r->sc);
		free(r);
		p->running--;
	}
}

static int threads_pool_init(struct threads_pool *p, struct loop *l)
{
	size_t stack = THREADS_STACK;
	int err;

	*p = (struct threads_pool){ .s = l->s, .l = l, .lock = PTHREAD_MUTEX_INITIALIZER,
				    .resumed = PTHREAD_COND_INITIALIZER };
	/* PTHREAD_STACK_MIN is a run-time value in glibc >= 2.34. */
	if (stack < (size_t)PTHREAD_STACK_MIN)
		stack = (size_t)PTHREAD_STACK_MIN;
	err = pthread_attr_init(&p->attr);
	if (err) {
		msg("pthread_attr_init: %s", strerror(err));
		return -1;
	}
	err = pthread_attr_setstacksize(&p->attr, stack);
	if (err) {
		msg("pthread_attr_setstacksize(%zu): %s", stack, strerror(err));
		goto fail;
	}
	if (sigemptyset(&p->stopsigs) < 0 || sigaddset(&p->stopsigs, SIGINT) < 0 ||
	    sigaddset(&p->stopsigs, SIGTERM) < 0) {
		msg("sigaddset: %s", strerror(errno));
		goto fail;
	}
	/* Nonblocking, so that resetting it never waits. */
	p->efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (p->efd < 0) {
		msg("eventfd: %s", strerror(errno));
		goto fail;
	}
	return 0;
fail:
	(void)pthread_attr_destroy(&p->attr);
	return -1;
}

static int threads_run(struct loop *l)
{
	struct server *s = l->s;
	struct threads_pool *p = l->priv;
	int rc = 0;

	if (threads_pool_init(p, l) < 0)
		return -1;

	while (!server_should_stop(s)) {
		struct pollfd pfd[2] = {
			{ .fd = l->accept_fd, .events = POLLIN },
			{ .fd = p->efd, .events = POLLIN },
		};
		struct conn *c;
		int ms = server_wait_ms(s);
		int n = poll(pfd, 2, ms);

		l->sc.waits++;
		ev_wait(l, n, "acceptor: poll(listener, eventfd; timeout %d ms)", ms);
		if (n < 0) {
			if (errno == EINTR)
				continue;       /* a signal: server_should_stop() */
			msg("poll: %s", strerror(errno));
			rc = -1;
			break;
		}
		/* A reader finished, or a tick passed (in case its eventfd
		 * write failed). */
		if (pfd[1].revents || n == 0)
			threads_join_done(p);
		/* One accept per wakeup: the listener blocks (so accepted
		 * sockets do too), and only this thread accepts, so a listener
		 * that poll() called readable has a connection waiting. */
		if (pfd[0].revents) {
			int got = server_accept(l, &c);
			if (got < 0) {
				rc = -1;
				break;
			}
			if (got)
				threads_start(p, c);
		}
		/* Readers let go of their connection at server_close, so
		 * whatever is on the dead list is no thread's any more. */
		server_reap(l);
	}

	/* Stop every reader at once - relaxed is enough, as any byte read
	 * after this passed through the kernel after this store - then wake
	 * those blocked in read(): shutdown makes it return 0, which the
	 * core does not count as the peer's EOF - and those paused. Wait for
	 * all of them; the tick only guards a lost eventfd write. */
	__atomic_store_n(&p->stopping, 1, __ATOMIC_RELAXED);
	server_shutdown_all(s);
	threads_resume(l, NULL);
	while (p->running) {
		struct pollfd pfd = { .fd = p->efd, .events = POLLIN };
		if (poll(&pfd, 1, SERVER_TICK_MS) < 0 && errno != EINTR) {
			msg("poll: %s", strerror(errno));
			rc = -1;
		}
		threads_join_done(p);
	}
	server_reap(l);
	(void)close(p->efd);   /* nothing to retry: see server_close */
	(void)pthread_attr_destroy(&p->attr);   /* fails only on a bad attr */
	return rc;
}

const struct backend backend_threads = {
	.name = "threads",
	.summary = "a thread per source in a blocking read(); the scheduler multiplexes",
	.pref = 30,
	.features = BE_BLOCKING_LISTEN | BE_THREAD_PER_CONN,
	.loop_size = sizeof(struct threads_pool),
	.run = threads_run,
	.resume = threads_resume,
};
