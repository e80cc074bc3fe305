/*
 * uring/uring.c - the io_uring backend: the kernel reads, the loop reaps.
 *
 * What it shows: with io_uring the question is no longer "which socket is
 * ready?" but "what arrived?". One multishot accept stays armed on the
 * listener and posts a completion per new connection; one multishot
 * receive per connection stays armed and posts a completion each time
 * bytes land in a buffer the kernel took from a ring of provided buffers
 * that all connections share. The loop hands in its few submissions and
 * waits in one io_uring_enter, feeds each completion's bytes to the core
 * and gives the buffer back. An idle connection costs one slot here and
 * one armed request in the kernel - no buffer until bytes arrive.
 *
 * Where the kernel has no multishot receive (5.19) every receive is
 * single-shot and re-armed after each completion: still one
 * io_uring_enter per batch, but one submission per receive.
 * DAQMUX_URING_SINGLESHOT=1 forces that path.
 *
 * Needs: Linux >= 5.19 (provided buffer rings, multishot accept; multishot
 * receive from 6.0) and liburing >= 2.3 (`apt-get install liburing-dev`,
 * then make). Try it:
 *   bin/daqmux server --backend uring --sources 2 &
 *   bin/daqmux client --sources 2 --count 1000
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "build.h"
#include "server.h"
#include "util.h"

#ifdef HAVE_URING
#include <liburing.h>
#include <poll.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/utsname.h>
#include <unistd.h>

#ifndef URING_TINY              /* -DURING_TINY: force CQ overflow, ENOBUFS */
#define URING_SQ_ENTRIES 1024
#define URING_CQ_ENTRIES 16384  /* room for a burst from many sources */
#define URING_NBUFS      256    /* provided buffers, a power of two */
#else
#define URING_SQ_ENTRIES 8
#define URING_CQ_ENTRIES 16
#define URING_NBUFS      4
#endif
#define URING_BUFSZ    (64u << 10)        /* many frames per receive */
#define URING_RINGSZ   4096               /* the buffer ring: one page */
#define URING_BGID     0
#define URING_BATCH    1024               /* completions between reaps */
#define URING_NONE     UINT32_MAX
#define URING_DRAIN_NS 1000000000ull      /* teardown waits at most this */

/*
 * user_data names a slot by index and generation, never a descriptor and
 * never a conn pointer: a descriptor number is reused by the next accept,
 * and a conn is freed by server_reap() (or by server_sweep()'s close)
 * while the kernel may still hold a receive for it, with completions for
 * it in the very batch that closed it. So the slot outlives its
 * connection until the receive's last completion (no IORING_CQE_F_MORE);
 * a completion whose slot has no conn any more only returns its buffer,
 * and the generation keeps a late cancel from matching the next tenant.
 */
enum { URING_RECV, URING_ACCEPT, URING_CANCEL, URING_TEST };
#define URING_UD(kind, idx, gen) ((uint64_t)(gen) << 32 | (uint64_t)(idx) << 2 | (kind))
#define URING_KIND(ud) ((unsigned)((ud) & 3))
#define URING_IDX(ud)  ((uint32_t)(ud) >> 2)
#define URING_GEN(ud)  ((uint32_t)((ud) >> 32))
/* On the listener: the multishot accept, or (out of descriptors, nothing
 * pending) a one-shot poll that says when a connection is waiting. */
#define URING_UD_ACCEPT  URING_UD(URING_ACCEPT, 0, 0)
#define URING_UD_LPOLL   URING_UD(URING_ACCEPT, 1, 0)

enum uring_state {
	URING_FREE,      /* on the free list */
	URING_IDLE,      /* nothing in the kernel: about to be re-armed or freed */
	URING_ARMED,     /* a receive is in the kernel */
	URING_STARVED,   /* -ENOBUFS: queued until buffers are back */
};

struct uring_slot {
	struct conn *c;      /* NULL once the connection is closed */
	uint32_t gen, next;  /* next: free list or starved queue */
	enum uring_state state;
	int paused_cancel;   /* its receive was cancelled by a pause */
	int single;          /* paused before: single-shot receives from now on */
};

struct uring_loop {
	struct io_uring ring;
	int have_ring, have_bufs, multishot, accept_armed, stopping, failed, overflowed;
	uint64_t listen_ud;          /* what is armed on the listener */
	uint8_t *mem;                /* the buffer ring's page, then the buffers */
	struct io_uring_buf_ring *br;
	uint64_t inflight;           /* requests whose last completion is due */
	struct uring_slot *slots;    /* a conn's slot index is c->bflags */
	uint32_t nslots, cap, free_head, starved_head, starved_tail;
};

#define URING_BUF(l, bid) ((l)->mem + URING_RINGSZ + (size_t)(bid) * URING_BUFSZ)
#define URING_MEMSZ (URING_RINGSZ + (size_t)URING_NBUFS * URING_BUFSZ)

/* Turn a set-up failure into a reason a user can act on. */
static void uring_explain(int err, const char *what, char *why, size_t len)
{
	FILE *f = fopen("/proc/sys/kernel/io_uring_disabled", "re");
	char hint[160] = "";
	struct utsname u;
	long dis = 0;                    /* no such file before 6.6: 0 */

	if (f && fscanf(f, "%ld", &dis) != 1)
		dis = 0;
	if (f)
		fclose(f);
	if (uname(&u) < 0)
		snprintf(u.release, sizeof(u.release), "?");
	if (err == EPERM)
		snprintf(hint, sizeof(hint), " (kernel.io_uring_disabled=%ld: %s)", dis,
			 dis == 2 ? "off for everyone" : dis == 1 ? "only for kernel.io_uring_group"
			 : "so a seccomp filter, e.g. a container's, forbids it");
	else if (err == ENOSYS || err == EINVAL)
		snprintf(hint, sizeof(hint), " (kernel %s: %s)", u.release, err == ENOSYS ?
			 "built without io_uring, or a seccomp filter hides it" :
			 "this backend needs Linux >= 5.19");
	snprintf(why, len, "%s: %s%s", what, strerror(err), hint);
}

static void uring_close(struct uring_loop *l)
{
	int ret;

	if (l->have_bufs && (ret = io_uring_unregister_buf_ring(&l->ring, URING_BGID)) < 0)
		msg("io_uring_unregister_buf_ring: %s", strerror(-ret));
	if (l->have_ring)
		io_uring_queue_exit(&l->ring);
	if (l->mem && munmap(l->mem, URING_MEMSZ) < 0)
		msg("munmap: %s", strerror(errno));
	free(l->slots);
}

/* The rings and the buffer ring. The probe runs exactly this, so a backend
 * that `daqmux backends` calls available also starts. */
static int uring_open(struct uring_loop *l, char *why, size_t len)
{
	/* SUBMIT_ALL: one bad SQE does not hold back the rest; COOP_TASKRUN:
	 * we enter the kernel to wait anyway, no interrupt needed to run
	 * completions. */
	struct io_uring_params p = {
		.flags = IORING_SETUP_CQSIZE | IORING_SETUP_SUBMIT_ALL | IORING_SETUP_COOP_TASKRUN,
		.cq_entries = URING_CQ_ENTRIES,
	};
	struct io_uring_buf_reg reg = { .ring_entries = URING_NBUFS, .bgid = URING_BGID };
	int ret = io_uring_queue_init_params(URING_SQ_ENTRIES, &l->ring, &p);

	_Static_assert(URING_NBUFS * sizeof(struct io_uring_buf) <= URING_RINGSZ, "ring page");
	l->free_head = l->starved_head = l->starved_tail = URING_NONE;
	if (ret < 0) {
		uring_explain(-ret, "io_uring_setup", why, len);
		return -1;
	}
	l->have_ring = 1;
	/* NODROP: a full CQ is queued in the kernel, not dropped (no byte is
	 * lost); EXT_ARG: the timed wait needs no timeout SQE. Both < 5.19. */
	if (!(p.features & IORING_FEAT_NODROP) || !(p.features & IORING_FEAT_EXT_ARG)) {
		uring_explain(EINVAL, "io_uring without NODROP or EXT_ARG", why, len);
		return -1;
	}
	/* Page-aligned as the buffer ring must be; pages the kernel never
	 * fills cost nothing. */
	l->mem = mmap(NULL, URING_MEMSZ, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (l->mem == MAP_FAILED) {
		l->mem = NULL;
		snprintf(why, len, "mmap of the receive buffers: %s", strerror(errno));
		return -1;
	}
	l->br = (struct io_uring_buf_ring *)l->mem;
	reg.ring_addr = (uintptr_t)l->br;
	if ((ret = io_uring_register_buf_ring(&l->ring, &reg, 0)) < 0) {
		uring_explain(-ret, "io_uring_register_buf_ring", why, len);
		return -1;
	}
	l->have_bufs = 1;
	io_uring_buf_ring_init(l->br);
	for (unsigned i = 0; i < URING_NBUFS; i++)
		io_uring_buf_ring_add(l->br, URING_BUF(l, i), URING_BUFSZ, i,
				      io_uring_buf_ring_mask(URING_NBUFS), i);
	io_uring_buf_ring_advance(l->br, URING_NBUFS);
	return 0;
}

/* A buffer goes back as soon as conn_input() is done with it (it keeps
 * nothing). Not saved up for the end of the batch: pull mode's send() runs
 * task work that posts more completions meanwhile, and one batch could
 * then empty the ring by itself. */
static void uring_recycle(struct uring_loop *l, unsigned bid)
{
	io_uring_buf_ring_add(l->br, URING_BUF(l, bid), URING_BUFSZ, bid,
			      io_uring_buf_ring_mask(URING_NBUFS), 0);
	io_uring_buf_ring_advance(l->br, 1);
}

/*
 * Counting: liburing enters the kernel in io_uring_submit*() and in the
 * timed waits, never in get_sqe, peek or cq_advance. We count one enter per
 * call that may enter; a timed submit-and-wait may enter twice (submit,
 * then wait) - strace -c agreed with our count to within the start-up test.
 */
static struct io_uring_sqe *uring_sqe(struct server *s, struct uring_loop *l)
{
	struct io_uring_sqe *sqe = io_uring_get_sqe(&l->ring);
	int ret;

	if (!sqe) {              /* the SQ is full: hand it in to make room */
		s->sc.enters++;
		if ((ret = io_uring_submit(&l->ring)) < 0)
			msg("io_uring_submit: %s", strerror(-ret));
		sqe = io_uring_get_sqe(&l->ring);
	}
	if (sqe) {
		s->sc.sqes++;
		l->inflight++;
	}
	return sqe;
}

static void uring_slot_put(struct uring_loop *l, uint32_t i)
{
	l->slots[i] = (struct uring_slot){
		.gen = l->slots[i].gen + 1, .next = l->free_head, .state = URING_FREE,
	};
	l->free_head = i;
}

static void uring_starve(struct uring_loop *l, uint32_t i)
{
	l->slots[i].state = URING_STARVED;
	l->slots[i].next = URING_NONE;
	if (l->starved_tail == URING_NONE)
		l->starved_head = i;
	else
		l->slots[l->starved_tail].next = i;
	l->starved_tail = i;
}

static void uring_arm_recv(struct server *s, struct uring_loop *l, uint32_t i)
{
	struct uring_slot *sl = &l->slots[i];
	struct io_uring_sqe *sqe = uring_sqe(s, l);

	if (!sqe) {
		uring_starve(l, i);      /* the SQ stayed full: next round */
		return;
	}
	/* Length 0 + BUFFER_SELECT: the kernel takes a whole buffer only when
	 * bytes are there, so a waiting receive holds no memory. */
	if (l->multishot && !sl->single)
		io_uring_prep_recv_multishot(sqe, sl->c->fd, NULL, 0, 0);
	else
		io_uring_prep_recv(sqe, sl->c->fd, NULL, 0, 0);
	sqe->flags |= IOSQE_BUFFER_SELECT;
	sqe->buf_group = URING_BGID;
	io_uring_sqe_set_data64(sqe, URING_UD(URING_RECV, i, sl->gen));
	sl->state = URING_ARMED;
}

/* By user_data the kernel finds the request by hash; IORING_ASYNC_CANCEL_ANY
 * rescans every request per match - quadratic in connections at teardown. */
static int uring_cancel(struct server *s, struct uring_loop *l, uint64_t ud)
{
	struct io_uring_sqe *sqe = uring_sqe(s, l);

	if (!sqe)
		return -1;
	io_uring_prep_cancel64(sqe, ud, 0);
	io_uring_sqe_set_data64(sqe, URING_UD(URING_CANCEL, 0, 0));
	return 0;
}

/* Every end of a connection, and --idle-timeout's: the core closes the
 * descriptor right after, but an armed receive holds its own reference to
 * the socket, so it is cancelled; the slot stays until its last
 * completion says the kernel has let go. */
static void uring_forget(struct server *s, struct conn *c)
{
	struct uring_loop *l = c->priv;
	uint32_t i = c->bflags;
	struct uring_slot *sl = &l->slots[i];

	sl->c = NULL;
	if (sl->state == URING_IDLE)
		uring_slot_put(l, i);
	else if (sl->state == URING_ARMED && uring_cancel(s, l, URING_UD(URING_RECV, i, sl->gen)) < 0)
		(void)shutdown(c->fd, SHUT_RDWR);  /* no SQE: this ends it too */
	/* STARVED: freed when the starved queue comes round to it. */
}

static void uring_end(struct server *s, struct conn *c)
{
	uring_forget(s, c);
	server_close(s, c);
}

/* Backpressure: cancel the receive. Completions already on their way
 * still come; the core keeps their bytes until the resume. */
static void uring_pause(struct server *s, struct conn *c)
{
	struct uring_loop *l = c->priv;
	struct uring_slot *sl = &l->slots[c->bflags];

	/* A multishot receive keeps filling provided buffers until the cancel
	 * lands, and again at once after every resume - all of it kept, a
	 * socket buffer's worth each time. Single-shot from now on: at most
	 * one buffer arrives beyond a pause. */
	sl->single = 1;
	if (sl->state == URING_ARMED && !sl->paused_cancel &&
	    uring_cancel(s, l, URING_UD(URING_RECV, c->bflags, sl->gen)) == 0)
		sl->paused_cancel = 1;
	/* No SQE for the cancel: it stays armed and its bytes are kept. */
}

/* Armed again unless its cancelled receive has not ended yet: then its
 * last completion re-arms it (it is no longer paused). */
static void uring_resume(struct server *s, struct conn *c)
{
	struct uring_loop *l = c->priv;

	if (l->slots[c->bflags].state == URING_IDLE)
		uring_arm_recv(s, l, c->bflags);
}

/* Re-arm the receives that found the buffer ring empty, oldest first and
 * at most as many as there are buffers, so that ten thousand starved
 * sources take turns instead of all failing again at once. */
static void uring_feed_starved(struct server *s, struct uring_loop *l)
{
	for (unsigned n = 0; n < URING_NBUFS && l->starved_head != URING_NONE; n++) {
		uint32_t i = l->starved_head;
		l->starved_head = l->slots[i].next;
		if (l->starved_head == URING_NONE)
			l->starved_tail = URING_NONE;
		l->slots[i].state = URING_IDLE;
		if (!l->slots[i].c)
			uring_slot_put(l, i);
		else if (!l->slots[i].c->paused)
			uring_arm_recv(s, l, i);   /* paused: its resume arms it */
	}
}

static void uring_arm_accept(struct server *s, struct uring_loop *l)
{
	struct io_uring_sqe *sqe = uring_sqe(s, l);

	if (!sqe)
		return;                  /* SQ full: next round */
	/* Blocking sockets are fine: io_uring never blocks in a receive. */
	io_uring_prep_multishot_accept(sqe, s->lfd, NULL, NULL, SOCK_CLOEXEC);
	io_uring_sqe_set_data64(sqe, URING_UD_ACCEPT);
	l->accept_armed = 1;
	l->listen_ud = URING_UD_ACCEPT;
}

/*
 * Out of descriptors with nothing pending: an accept would fail with
 * -EMFILE at once (the kernel takes the descriptor before it looks for a
 * connection), and re-arming it every round would spin. Wait instead for
 * a connection to be pending; the accept re-armed then takes it, or sheds
 * it if the table is still full. SQ full: the accept is re-armed next round.
 */
static void uring_park_accept(struct server *s, struct uring_loop *l)
{
	struct io_uring_sqe *sqe = uring_sqe(s, l);

	if (!sqe)
		return;
	io_uring_prep_poll_add(sqe, s->lfd, POLLIN);
	io_uring_sqe_set_data64(sqe, URING_UD_LPOLL);
	l->accept_armed = 1;
	l->listen_ud = URING_UD_LPOLL;
}

static void uring_adopt(struct server *s, struct uring_loop *l, int fd)
{
	struct conn *c = server_adopt(s, fd, &s->sc);
	uint32_t i = l->free_head;

	if (!c)
		return;                  /* refused and reported by the core */
	if (i != URING_NONE) {
		l->free_head = l->slots[i].next;
	} else {
		if (l->nslots == l->cap) {
			uint32_t cap = l->cap ? 2 * l->cap : 256;
			struct uring_slot *v = cap < (1u << 30) ? realloc(l->slots, cap * sizeof(*v)) : NULL;
			if (!v) {
				conn_error(s, c, ENOMEM);
				server_close(s, c);
				return;
			}
			l->slots = v;
			l->cap = cap;
		}
		i = l->nslots++;
		l->slots[i] = (struct uring_slot){ .gen = 0 };
	}
	l->slots[i].c = c;
	c->priv = l;
	c->bflags = i;
	uring_arm_recv(s, l, i);
}

static void uring_on_accept(struct server *s, struct uring_loop *l, const struct io_uring_cqe *cqe)
{
	if (!(cqe->flags & IORING_CQE_F_MORE))
		l->accept_armed = 0;     /* re-armed at the top of the loop */
	if (cqe->user_data == URING_UD_LPOLL)
		return;                  /* a connection is pending: accept again */
	s->sc.accepts++;
	if (cqe->res >= 0) {
		uring_adopt(s, l, cqe->res);
		return;
	}
	switch (-cqe->res) {
	case EMFILE: case ENFILE: case ENOBUFS: case ENOMEM:
		if (!server_shed(s, -cqe->res) && !l->accept_armed)
			uring_park_accept(s, l);
		break;
	/* accept(2): errors of the pending connection, not ours. */
	case ECONNABORTED: case EPROTO: case ENETDOWN: case ENOPROTOOPT: case EHOSTDOWN:
	case ENONET: case EHOSTUNREACH: case ENETUNREACH: case EINTR: case EAGAIN:
		break;
	default:
		msg("accept on %s: %s", s->listen_name, strerror(-cqe->res));
		l->failed = 1;
	}
}

static void uring_on_recv(struct server *s, struct uring_loop *l, const struct io_uring_cqe *cqe,
			  uint64_t now)
{
	uint32_t i = URING_IDX(cqe->user_data);
	int res = cqe->res, last = !(cqe->flags & IORING_CQE_F_MORE);
	unsigned bid = cqe->flags >> IORING_CQE_BUFFER_SHIFT;
	int has_buf = (cqe->flags & IORING_CQE_F_BUFFER) && bid < URING_NBUFS;
	struct uring_slot *sl;
	struct conn *c;

	if (i >= l->nslots || l->slots[i].gen != URING_GEN(cqe->user_data)) {
		if (has_buf)             /* cannot happen; the buffer still counts */
			uring_recycle(l, bid);
		return;
	}
	sl = &l->slots[i];
	c = sl->c;
	if (last) {
		sl->state = URING_IDLE;
		if (sl->paused_cancel && res == -ECANCELED) {
			/* The cancel a pause asked for: no error. Armed again
			 * by the resume, or now if the resume came first. */
			sl->paused_cancel = 0;
			if (!c)
				uring_slot_put(l, i);
			else if (!c->paused)
				uring_arm_recv(s, l, i);
			return;
		}
		sl->paused_cancel = 0;
	}
	s->sc.nobufs += res == -ENOBUFS;
	s->sc.reads += res > 0;
	if (!c) {
		/* Ended earlier (in this batch, maybe): bytes after a BYE or an
		 * error, or the -ECANCELED we asked for. Only the buffer counts. */
	} else if (res > 0 && has_buf) {
		if (conn_input(s, c, URING_BUF(l, bid), (size_t)res, now) == CONN_END)
			uring_end(s, c);
	} else if (res == 0 && s->build && build_hold_eof(c)) {
		/* Paused: the bytes before this EOF wait for the resume. */
	} else if (res != -ENOBUFS) {
		if (res == 0)
			conn_eof(s, c);
		else
			conn_error(s, c, res > 0 ? EFAULT : -res);   /* EFAULT: bytes, no buffer */
		uring_end(s, c);
	}
	if (has_buf)
		uring_recycle(l, bid);
	if (!last || sl->state == URING_FREE)
		return;                  /* still armed, or ended and freed */
	if (!sl->c)
		uring_slot_put(l, i);    /* the last word on an ended connection */
	else if (res == -ENOBUFS)
		uring_starve(l, i);      /* back-pressure: the bytes wait in the socket */
	else if (sl->c->paused || (res == 0 && sl->c))
		;                        /* paused (or its EOF kept): resume arms it */
	else
		uring_arm_recv(s, l, i); /* single-shot, or a multishot the kernel ended
					    (CQ overflow): nothing is lost */
}

/* One batch: the completions there now (more may land while we work),
 * released to the kernel with one cq_advance at the end. */
static void uring_complete(struct server *s, struct uring_loop *l)
{
	struct io_uring_cqe *cqe;
	unsigned head, n = 0, batch = io_uring_cq_ready(&l->ring);
	uint64_t now = now_ns();
	int over = io_uring_cq_has_overflow(&l->ring);

	/* Overflow: the kernel parks the completions it had no room for (NODROP)
	 * and ends multishot requests; their last completions re-arm them.
	 * Counted once per episode. */
	s->sc.overflows += over && !l->overflowed;
	l->overflowed = over;
	if (batch > URING_BATCH)
		batch = URING_BATCH;
	io_uring_for_each_cqe(&l->ring, head, cqe) {
		unsigned kind = URING_KIND(cqe->user_data);
		if (n == batch)
			break;
		n++;
		if (!(cqe->flags & IORING_CQE_F_MORE))
			l->inflight--;
		if (l->stopping) {
			if (cqe->user_data == URING_UD_ACCEPT && cqe->res >= 0)
				close(cqe->res);   /* arrived during teardown */
		} else if (kind == URING_RECV) {
			uring_on_recv(s, l, cqe, now);
		} else if (kind == URING_ACCEPT) {
			uring_on_accept(s, l, cqe);
		} else if (kind == URING_CANCEL && cqe->res < 0 && cqe->res != -ENOENT &&
			   cqe->res != -EALREADY) {
			/* ENOENT: the receive had just ended by itself. */
			msg("io_uring cancel: %s", strerror(-cqe->res));
		}
	}
	io_uring_cq_advance(&l->ring, n);
	s->sc.cqes += n;
}

/* Hand in what is queued; if nothing is waiting, sleep until a completion
 * arrives or ms pass. */
static int uring_wait(struct server *s, struct uring_loop *l, int ms)
{
	struct __kernel_timespec ts = { .tv_sec = ms / 1000, .tv_nsec = (ms % 1000) * 1000000L };
	struct io_uring_cqe *cqe;
	int ret;

	if (io_uring_cq_ready(&l->ring)) {
		if (!io_uring_sq_ready(&l->ring))
			return 0;
		s->sc.enters++;
		ret = io_uring_submit(&l->ring);
	} else {
		s->sc.enters++;
		s->sc.waits++;
		ret = io_uring_submit_and_wait_timeout(&l->ring, &cqe, 1, &ts, NULL);
	}
	/* ETIME: the tick; EINTR: a signal, the loop looks at it; EBUSY and
	 * EAGAIN: the kernel is short of room, the SQEs stay queued. */
	if (ret >= 0 || ret == -ETIME || ret == -EINTR || ret == -EBUSY || ret == -EAGAIN)
		return 0;
	if (ret == -EBADR)
		msg("io_uring: the kernel dropped completions (no memory for its overflow list)");
	else
		msg("io_uring_enter: %s", strerror(-ret));
	return -1;
}

/*
 * Multishot receive (6.0) does not show in io_uring_get_probe(): it is the
 * old RECV opcode with a flag, and the kernel version lies on distribution
 * kernels. So ask the real question once: one byte and an EOF on a
 * socketpair. Multishot answers res == 1 with IORING_CQE_F_MORE, then the
 * EOF; an older kernel answers -EINVAL (flag unknown) or one completion
 * without F_MORE (flag ignored). Start-up cost, not counted in s->sc.
 */
static int uring_multishot_works(struct uring_loop *l)
{
	struct __kernel_timespec ts = { .tv_sec = 1 };
	struct io_uring_sqe *sqe = io_uring_get_sqe(&l->ring);
	struct io_uring_cqe *cqe;
	int sv[2], works = -1, more = 1, ret = 0;

	if (!sqe || socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0) {
		msg("testing multishot receive: %s", sqe ? strerror(errno) : "no SQE");
		return -1;
	}
	if (write(sv[1], "x", 1) != 1)
		msg("testing multishot receive: write: %s", strerror(errno));
	close(sv[1]);
	io_uring_prep_recv_multishot(sqe, sv[0], NULL, 0, 0);
	sqe->flags |= IOSQE_BUFFER_SELECT;
	sqe->buf_group = URING_BGID;
	io_uring_sqe_set_data64(sqe, URING_UD(URING_TEST, 0, 0));
	/* Until the last completion (the kernel has let go); bounded. */
	for (int round = 0; more && round < 4; round++) {
		cqe = NULL;
		ret = io_uring_submit_and_wait_timeout(&l->ring, &cqe, 1, &ts, NULL);
		if ((ret < 0 && ret != -EINTR && ret != -ETIME) || !cqe)
			continue;            /* may submit, then time out: no cqe */
		if (works < 0)
			works = cqe->res == 1 && (cqe->flags & IORING_CQE_F_MORE);
		if (cqe->flags & IORING_CQE_F_BUFFER)
			uring_recycle(l, cqe->flags >> IORING_CQE_BUFFER_SHIFT);
		more = cqe->flags & IORING_CQE_F_MORE;
		io_uring_cqe_seen(&l->ring, cqe);
	}
	close(sv[0]);
	if (works < 0 || more) {
		msg("testing multishot receive: no answer (%s)", ret < 0 ? strerror(-ret) : "?");
		return -1;
	}
	return works;
}

/* Stopping: cancel everything and wait (bounded) until the kernel has let
 * go of every request, so that no receive writes into unmapped memory. */
static void uring_drain(struct server *s, struct uring_loop *l)
{
	uint64_t until = now_ns() + URING_DRAIN_NS;

	l->stopping = 1;
	if (l->accept_armed)
		(void)uring_cancel(s, l, l->listen_ud);
	for (uint32_t i = 0; i < l->nslots; i++)
		if (l->slots[i].state == URING_ARMED &&
		    uring_cancel(s, l, URING_UD(URING_RECV, i, l->slots[i].gen)) < 0)
			break;
	while (l->inflight && now_ns() < until) {
		if (uring_wait(s, l, SERVER_TICK_MS) < 0)
			break;
		uring_complete(s, l);
	}
	if (l->inflight)
		msg("io_uring: %lu requests still in the kernel at exit", (unsigned long)l->inflight);
}

static int uring_run(struct server *s)
{
	struct uring_loop l = { 0 };
	const char *env = getenv("DAQMUX_URING_SINGLESHOT");
	char why[256];
	int rc = -1;

	if (uring_open(&l, why, sizeof(why)) < 0) {
		msg("%s", why);
		goto out;
	}
	if (env && *env && strcmp(env, "0") != 0)
		msg("uring: DAQMUX_URING_SINGLESHOT is set: single-shot receives");
	else if ((l.multishot = uring_multishot_works(&l)) < 0)
		goto out;
	else if (!l.multishot)
		msg("uring: this kernel has no multishot receive: single-shot receives");

	while (!server_should_stop(s) && !l.failed) {
		if (!l.accept_armed)
			uring_arm_accept(s, &l);
		uring_feed_starved(s, &l);
		if (uring_wait(s, &l, server_wait_ms(s)) < 0)
			goto out;
		uring_complete(s, &l);
		server_sweep(s, uring_forget);
		server_reap(s);          /* conns closed in this batch; slots stay */
	}
	rc = l.failed ? -1 : 0;
out:
	if (l.have_ring)
		uring_drain(s, &l);
	uring_close(&l);
	return rc;
}

static int uring_probe(char *why, size_t len)
{
	struct uring_loop l = { 0 };
	int rc = uring_open(&l, why, len);

	uring_close(&l);
	return rc;
}

#else  /* !HAVE_URING */

static int uring_probe(char *why, size_t len)
{
	snprintf(why, len, "not compiled in: install liburing-dev (apt-get install liburing-dev) "
		 "and rebuild with make");
	return -1;
}

static int uring_run(struct server *s)
{
	(void)s;
	return -1;                       /* never called: the probe refuses */
}

#endif

const struct backend backend_uring = {
	.name = "uring",
	.summary = "io_uring: multishot accept + multishot recv into a shared provided-buffer ring",
	.probe = uring_probe,
	.run = uring_run,
#ifdef HAVE_URING
	.pause = uring_pause,
	.resume = uring_resume,
#endif
};
