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
 * --uring-features LIST adds io_uring's newer features one by one, each
 * probed at start (uring_features_open): defer (SINGLE_ISSUER |
 * DEFER_TASKRUN, 6.1: completions are run only when we ask for them),
 * regring (the ring's descriptor registered, 5.18: no fdget per enter),
 * fixed (each connection in the ring's file table, 5.19: receives need no
 * file lookup), bundle (a receive fills several buffers, 6.10) and inc
 * (buffers consumed piece by piece, 6.12). liburing 2.3 lacks the last
 * two's constants: uring_compat.h.
 *
 * Needs: Linux >= 5.19 (provided buffer rings, multishot accept; multishot
 * receive from 6.0) and liburing >= 2.3 (`apt-get install liburing-dev`,
 * then make). Try it:
 *   bin/daqmux server --backend uring --sources 2 &
 *   bin/daqmux client --sources 2 --count 1000
 *   bin/daqmux server --backend uring --uring-features all --sources 2 &
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "server.h"
#include "util.h"

/* The backend's own counters, named in backend_uring.counters. */
enum { URING_C_ENTERS, URING_C_SQES, URING_C_CQES, URING_C_NOBUFS, URING_C_OVERFLOWS };

#ifdef HAVE_URING
#include <liburing.h>
#include <poll.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/utsname.h>
#include <unistd.h>

#include "uring_compat.h"

/* The rings' sizes, and DAQMUX_URING_TINY's: rings of 8 submissions, 16
 * completions and 4 buffers, so that CQ overflows and -ENOBUFS happen on
 * every run (the test suites run the backend that way too). */
#define URING_SQ_ENTRIES 1024
#define URING_CQ_ENTRIES 16384  /* room for a burst from many sources */
#define URING_NBUFS      256    /* provided buffers, a power of two */
#define URING_TINY_SQ    8
#define URING_TINY_CQ    16
#define URING_TINY_NBUFS 4
#define URING_BUFSZ    (64u << 10)        /* many frames per receive */
#define URING_RINGSZ   4096               /* the buffer ring: one page */
#define URING_BGID     0
#define URING_BATCH    1024               /* completions between reaps */
#define URING_NONE     UINT32_MAX
#define URING_MAX_FIXED 65536u            /* fixed: file table size, at most */
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
/* --uring-features: bits, in the order of the ladder. */
enum {
	URING_F_DEFER = 1u << 0, URING_F_REGRING = 1u << 1, URING_F_FIXED = 1u << 2,
	URING_F_BUNDLE = 1u << 3, URING_F_INC = 1u << 4,
};
static const struct uring_feature {
	const char *name;
	unsigned bit;
} uring_features[] = {
	{ "defer", URING_F_DEFER }, { "regring", URING_F_REGRING }, { "fixed", URING_F_FIXED },
	{ "bundle", URING_F_BUNDLE }, { "inc", URING_F_INC },
};
#define URING_F_ALL (URING_F_DEFER | URING_F_REGRING | URING_F_FIXED | URING_F_BUNDLE | URING_F_INC)
/* With these the kernel takes buffers in ring order and a completion may
 * not name all it used: followed by uring_take(), not by buffer id. */
#define URING_F_WALK (URING_F_BUNDLE | URING_F_INC)
#define URING_GEN(ud)  ((uint32_t)((ud) >> 32))
/* On the listener: the multishot accept, or (out of descriptors, nothing
 * pending) a one-shot poll that says when a connection is waiting. */
#define URING_UD_ACCEPT  URING_UD(URING_ACCEPT, 0, 0)
#define URING_UD_LPOLL   URING_UD(URING_ACCEPT, 1, 0)
/* On the listener: the multishot accept, or (out of descriptors, nothing
 * pending) a one-shot poll that says when a connection is waiting. */
#define URING_UD_ACCEPT  URING_UD(URING_ACCEPT, 0, 0)
#define URING_UD_LPOLL   URING_UD(URING_ACCEPT, 1, 0)
/* --spread handoff: a multishot poll on the loop's hand-off eventfd. */
#define URING_UD_HANDOFF URING_UD(URING_ACCEPT, 2, 0)

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
	uint16_t held_head, held_tail;   /* buffers held while paused */
	int fixed;           /* fixed: in the file table at this slot's index */
	uint8_t *copy;       /* bundle/inc, paused: the bytes held, copied */
	size_t ncopy, capcopy;
};

struct uring_loop {
	struct io_uring ring;
	int have_ring, have_bufs, multishot, accept_armed, stopping, failed, overflowed;
	uint64_t listen_ud;          /* what is armed on the listener */
	uint8_t *mem;                /* the buffer ring's page, then the buffers */
	struct io_uring_buf_ring *br;
	uint64_t inflight;           /* requests whose last completion is due */
	struct uring_slot *slots;    /* a conn's slot index is in its uring_conn */
	uint32_t nslots, cap, free_head, starved_head, starved_tail;
	unsigned sq_entries, cq_entries, nbufs;
	/* Paused connections keep the buffers the kernel filled for them
	 * before the cancel landed, in order: held_next links a slot's
	 * buffers (held_head/tail in the slot), held_len their bytes. */
	uint16_t held_next[URING_NBUFS];
	uint32_t held_len[URING_NBUFS];
	struct loop *lp;             /* the core's loop */
	unsigned feat;               /* URING_F_*: in effect */
	uint32_t bhead;              /* walk: the kernel's buffer-ring head, followed */
	uint32_t boff[URING_NBUFS];  /* inc: bytes of each buffer already used */
	uint32_t nfixed;             /* fixed: entries in the file table */
};

#define URING_SC(l) ((l)->lp->sc)

struct uring_conn {
	uint32_t slot;
	uint8_t attached;    /* has the slot (uring_attach) */
	uint8_t eof_held;    /* paused: the peer closed behind the held buffers */
	uint8_t single;      /* paused before: single-shot receives from now on */
};

static struct uring_conn *uring_conn(struct conn *c)
{
	return conn_data(c);
}

#define URING_HELD_NONE UINT16_MAX
#define URING_BUF(l, bid) ((l)->mem + URING_RINGSZ + (size_t)(bid) * URING_BUFSZ)
#define URING_MEMSZ(l) (URING_RINGSZ + (size_t)(l)->nbufs * URING_BUFSZ)

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
	if (l->mem && munmap(l->mem, URING_MEMSZ(l)) < 0)
		msg("munmap: %s", strerror(errno));
	free(l->slots);
}

/* ---- --uring-features: parsed, then probed while the ring is set up ---- */

/* LIST is names separated by commas, or "all". 0, or -1 with why. */
static int uring_features_parse(const char *list, unsigned *want, int *all, char *why, size_t len)
{
	*want = 0;
	*all = 0;
	for (const char *p = list; p && *p; ) {
		size_t n = strcspn(p, ",");
		size_t i;

		if (n == 3 && strncmp(p, "all", 3) == 0) {
			*want |= URING_F_ALL;
			*all = 1;
		} else {
			for (i = 0; i < sizeof(uring_features) / sizeof(uring_features[0]); i++)
				if (strlen(uring_features[i].name) == n &&
				    strncmp(p, uring_features[i].name, n) == 0)
					break;
			if (i == sizeof(uring_features) / sizeof(uring_features[0])) {
				snprintf(why, len, "--uring-features: unknown feature '%.*s' "
					 "(known: defer, regring, fixed, bundle, inc, all)", (int)n, p);
				return -1;
			}
			*want |= uring_features[i].bit;
		}
		p += n + (p[n] == ',');
	}
	return 0;
}

static const char *uring_feature_name(unsigned bit)
{
	for (size_t i = 0; i < sizeof(uring_features) / sizeof(uring_features[0]); i++)
		if (uring_features[i].bit == bit)
			return uring_features[i].name;
	return "?";
}

/*
 * A feature this machine lacks: with `all` it is dropped and the reason
 * kept for the start-up line (notes); named on its own it stops the start
 * with the reason. 0 (dropped) or -1.
 */
static int uring_lack(struct uring_loop *l, unsigned bit, int all, char *notes, size_t nlen,
		      char *why, size_t len, int err, const char *what, const char *needs)
{
	struct utsname u;
	char *to = all ? notes + strlen(notes) : why;
	size_t room = all ? nlen - strlen(notes) : len;

	if (uname(&u) < 0)
		snprintf(u.release, sizeof(u.release), "?");
	snprintf(to, room, "%s%s: %s: %s (kernel %s; needs %s)", all && notes[0] ? "; " : "",
		 uring_feature_name(bit), what, strerror(err), u.release, needs);
	l->feat &= ~bit;
	return all ? 0 : -1;
}

static unsigned uring_setup_flags(unsigned feat)
{
	/* SUBMIT_ALL: one bad SQE does not hold back the rest. COOP_TASKRUN:
	 * we enter the kernel to wait anyway, no interrupt needed to run
	 * completions; DEFER_TASKRUN goes further: they run only when we
	 * enter to wait, in batches, never in between. */
	unsigned f = IORING_SETUP_CQSIZE | IORING_SETUP_SUBMIT_ALL;

	return f | (feat & URING_F_DEFER ? IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_DEFER_TASKRUN
				       : IORING_SETUP_COOP_TASKRUN);
}

/* The features that come after the ring exists: regring, bundle, fixed.
 * 0, or -1 with why. */
static int uring_features_open(struct uring_loop *l, const struct io_uring_params *p, int all,
			       char *notes, size_t nlen, char *why, size_t len)
{
	struct rlimit rl;
	int ret;

	if ((l->feat & URING_F_REGRING) && (ret = io_uring_register_ring_fd(&l->ring)) != 1 &&
	    uring_lack(l, URING_F_REGRING, all, notes, nlen, why, len, ret < 0 ? -ret : EINVAL,
		       "io_uring_register_ring_fd", "Linux 5.18") < 0)
		return -1;
	if ((l->feat & URING_F_BUNDLE) && !(p->features & IORING_FEAT_RECVSEND_BUNDLE) &&
	    uring_lack(l, URING_F_BUNDLE, all, notes, nlen, why, len, EINVAL,
		       "no IORING_FEAT_RECVSEND_BUNDLE", "Linux 6.10") < 0)
		return -1;
	if (!(l->feat & URING_F_FIXED))
		return 0;
	/* One table entry per connection slot; the kernel refuses a table
	 * larger than RLIMIT_NOFILE. */
	if (getrlimit(RLIMIT_NOFILE, &rl) < 0)
		rl.rlim_cur = 1024;
	ret = io_uring_register_files_sparse(&l->ring, rl.rlim_cur < URING_MAX_FIXED ?
					     (unsigned)rl.rlim_cur : URING_MAX_FIXED);
	if (ret < 0)
		return uring_lack(l, URING_F_FIXED, all, notes, nlen, why, len, -ret,
				  "io_uring_register_files_sparse", "Linux 5.19");
	l->nfixed = rl.rlim_cur < URING_MAX_FIXED ? (uint32_t)rl.rlim_cur : URING_MAX_FIXED;
	return 0;
}

/* The provided-buffer ring; inc asks for incremental consumption, which a
 * kernel before 6.12 refuses with EINVAL. */
static int uring_bufs_open(struct uring_loop *l, int all, char *notes, size_t nlen,
			   char *why, size_t len)
{
	struct uring_buf_reg reg = { .ring_entries = l->nbufs, .bgid = URING_BGID };
	int ret;

	reg.ring_addr = (uintptr_t)l->br;
	if (l->feat & URING_F_INC) {
		reg.flags = IOU_PBUF_RING_INC;
		ret = io_uring_register_buf_ring(&l->ring, (struct io_uring_buf_reg *)&reg, 0);
		if (ret >= 0)
			return 0;
		if (uring_lack(l, URING_F_INC, all, notes, nlen, why, len, -ret,
			       "io_uring_register_buf_ring(IOU_PBUF_RING_INC)", "Linux 6.12") < 0)
			return -1;
		reg.flags = 0;
	}
	if ((ret = io_uring_register_buf_ring(&l->ring, (struct io_uring_buf_reg *)&reg, 0)) < 0) {
		uring_explain(-ret, "io_uring_register_buf_ring", why, len);
		return -1;
	}
	return 0;
}

/* The rings and the buffer ring, with the features asked for (want; all:
 * those this machine has, the others listed in notes). The probe runs
 * exactly this, so a backend that `daqmux backends` calls available also
 * starts. */
static int uring_open(struct uring_loop *l, unsigned want, int all, char *notes, size_t nlen,
		      char *why, size_t len)
{
	struct io_uring_params p = {
		.flags = uring_setup_flags(want), .cq_entries = l->cq_entries,
	};
	int ret = io_uring_queue_init_params(l->sq_entries, &l->ring, &p);

	_Static_assert(URING_NBUFS * sizeof(struct io_uring_buf) <= URING_RINGSZ, "ring page");
	l->free_head = l->starved_head = l->starved_tail = URING_NONE;
	l->feat = want;
	if (ret == -EINVAL && (want & URING_F_DEFER)) {
		if (uring_lack(l, URING_F_DEFER, all, notes, nlen, why, len, EINVAL,
			       "io_uring_setup(SINGLE_ISSUER | DEFER_TASKRUN)", "Linux 6.1") < 0)
			return -1;
		p = (struct io_uring_params){
			.flags = uring_setup_flags(l->feat), .cq_entries = l->cq_entries,
		};
		ret = io_uring_queue_init_params(l->sq_entries, &l->ring, &p);
	}
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
	if (uring_features_open(l, &p, all, notes, nlen, why, len) < 0)
		return -1;
	/* Page-aligned as the buffer ring must be; pages the kernel never
	 * fills cost nothing. */
	l->mem = mmap(NULL, URING_MEMSZ(l), PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (l->mem == MAP_FAILED) {
		l->mem = NULL;
		snprintf(why, len, "mmap of the receive buffers: %s", strerror(errno));
		return -1;
	}
	l->br = (struct io_uring_buf_ring *)l->mem;
	if (uring_bufs_open(l, all, notes, nlen, why, len) < 0)
		return -1;
	l->have_bufs = 1;
	io_uring_buf_ring_init(l->br);
	for (unsigned i = 0; i < l->nbufs; i++)
		io_uring_buf_ring_add(l->br, URING_BUF(l, i), URING_BUFSZ, i,
				      io_uring_buf_ring_mask(l->nbufs), i);
	io_uring_buf_ring_advance(l->br, l->nbufs);
	return 0;
}

/* A buffer goes back as soon as conn_input() is done with it (it keeps
 * nothing). Not saved up for the end of the batch: pull mode's send() runs
 * task work that posts more completions meanwhile, and one batch could
 * then empty the ring by itself. */
static void uring_recycle(struct uring_loop *l, unsigned bid)
{
	io_uring_buf_ring_add(l->br, URING_BUF(l, bid), URING_BUFSZ, bid,
			      io_uring_buf_ring_mask(l->nbufs), 0);
	io_uring_buf_ring_advance(l->br, 1);
}

/* bundle/inc: a paused connection's bytes, kept for its resume. */
static enum conn_state uring_copy_aside(struct uring_loop *l, struct conn *c,
					const uint8_t *p, size_t n)
{
	struct uring_slot *sl = &l->slots[uring_conn(c)->slot];

	if (sl->ncopy + n > sl->capcopy) {
		size_t cap = sl->capcopy ? 2 * sl->capcopy : URING_BUFSZ;
		uint8_t *v;

		while (cap < sl->ncopy + n)
			cap *= 2;
		if (!(v = realloc(sl->copy, cap))) {
			conn_error(c, ENOMEM);
			return CONN_END;
		}
		sl->copy = v;
		sl->capcopy = cap;
	}
	memcpy(sl->copy + sl->ncopy, p, n);
	sl->ncopy += n;
	return CONN_OPEN;
}

static void uring_copy_free(struct uring_slot *sl)
{
	free(sl->copy);
	sl->copy = NULL;
	sl->ncopy = sl->capcopy = 0;
}

/*
 * The bytes of one receive completion that has a buffer, to c (NULL: the
 * connection has ended, the buffers only go back). Plain rings: the
 * buffer the completion names. bundle and inc: the kernel takes buffers
 * from the ring in order and posts the completions in that order (one
 * issuer, under the ring's lock), so l->bhead follows its head: a bundle
 * fills the buffer the completion names and those after it in the ring,
 * every one full but the last; with inc a buffer serves completion after
 * completion (IORING_CQE_F_BUF_MORE: the kernel keeps it) from where the
 * last one ended (l->boff). A completion that does not start at our head
 * means that order was lost: the run fails rather than misread a byte.
 * A paused connection's bytes are copied aside for its resume (a buffer
 * here may be shared with other connections; pauses are rare, and what
 * lands between a pause and its cancel is one batch at most).
 * Returns CONN_END when c ended on these bytes.
 */
static enum conn_state uring_take(struct uring_loop *l, struct conn *c,
				  const struct io_uring_cqe *cqe, uint64_t now)
{
	unsigned bid = cqe->flags >> IORING_CQE_BUFFER_SHIFT;
	unsigned mask = (unsigned)io_uring_buf_ring_mask(l->nbufs);
	enum conn_state st = CONN_OPEN;
	size_t left;

	if (!(l->feat & URING_F_WALK)) {
		if (c && cqe->res > 0)
			st = conn_input(c, URING_BUF(l, bid), (size_t)cqe->res, now);
		uring_recycle(l, bid);
		return st;
	}
	if (cqe->res <= 0)
		return st;               /* nothing was taken from the ring */
	if (l->br->bufs[l->bhead & mask].bid != bid) {
		msg("io_uring: a completion in buffer %u, the ring's head is %u: order lost",
		    bid, l->br->bufs[l->bhead & mask].bid);
		l->failed = 1;
		return c ? CONN_END : st;
	}
	for (left = (size_t)cqe->res; left; ) {
		unsigned b = l->br->bufs[l->bhead & mask].bid;
		uint32_t off = l->boff[b];
		size_t n = left < URING_BUFSZ - off ? left : URING_BUFSZ - off;

		if (c && st == CONN_OPEN)
			st = c->paused ? uring_copy_aside(l, c, URING_BUF(l, b) + off, n)
				       : conn_input(c, URING_BUF(l, b) + off, n, now);
		left -= n;
		if (!left && (cqe->flags & IORING_CQE_F_BUF_MORE)) {
			l->boff[b] = off + (uint32_t)n;
			break;
		}
		l->boff[b] = 0;
		l->bhead++;
		uring_recycle(l, b);
	}
	return st;
}

/*
 * Counting: liburing enters the kernel in io_uring_submit*() and in the
 * timed waits, never in get_sqe, peek or cq_advance. We count one enter per
 * call that may enter; a timed submit-and-wait may enter twice (submit,
 * then wait) - strace -c agreed with our count to within the start-up test.
 */
static struct io_uring_sqe *uring_sqe(struct uring_loop *l)
{
	struct io_uring_sqe *sqe = io_uring_get_sqe(&l->ring);
	int ret;

	if (!sqe) {              /* the SQ is full: hand it in to make room */
		URING_SC(l).extra[URING_C_ENTERS]++;
		if ((ret = io_uring_submit(&l->ring)) < 0)
			msg("io_uring_submit: %s", strerror(-ret));
		sqe = io_uring_get_sqe(&l->ring);
	}
	if (sqe) {
		URING_SC(l).extra[URING_C_SQES]++;
		l->inflight++;
	}
	return sqe;
}

static void uring_slot_put(struct uring_loop *l, uint32_t i)
{
	l->slots[i] = (struct uring_slot){
		.gen = l->slots[i].gen + 1, .next = l->free_head, .state = URING_FREE,
		.held_head = URING_HELD_NONE, .held_tail = URING_HELD_NONE,
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

static void uring_arm_recv(struct uring_loop *l, uint32_t i)
{
	struct uring_slot *sl = &l->slots[i];
	struct io_uring_sqe *sqe = uring_sqe(l);

	if (!sqe) {
		uring_starve(l, i);      /* the SQ stayed full: next round */
		return;
	}
	/* Length 0 + BUFFER_SELECT: the kernel takes a whole buffer only when
	 * bytes are there, so a waiting receive holds no memory. */
	if (l->multishot && !uring_conn(sl->c)->single)
		io_uring_prep_recv_multishot(sqe, sl->fixed ? (int)i : sl->c->fd, NULL, 0, 0);
	else
		io_uring_prep_recv(sqe, sl->fixed ? (int)i : sl->c->fd, NULL, 0, 0);
	sqe->flags |= IOSQE_BUFFER_SELECT | (sl->fixed ? IOSQE_FIXED_FILE : 0);
	/* A bundle takes as many buffers as the socket holds: not for a
	 * connection that has been paused, whose receives take one buffer. */
	if ((l->feat & URING_F_BUNDLE) && !uring_conn(sl->c)->single)
		sqe->ioprio |= IORING_RECVSEND_BUNDLE;
	sqe->buf_group = URING_BGID;
	io_uring_sqe_set_data64(sqe, URING_UD(URING_RECV, i, sl->gen));
	sl->state = URING_ARMED;
}

/*
 * fixed: the connection's descriptor also sits in the ring's file table,
 * at its slot's index, so a receive names it by index (IOSQE_FIXED_FILE)
 * and the kernel skips the file lookup. Set and cleared synchronously (one
 * io_uring_register each, counted as ctl): the next tenant of the slot is
 * registered only after this one was cleared. The core keeps the ordinary
 * descriptor (peer name, pull-mode REQUESTs, keepalive, close).
 */
static void uring_fix(struct uring_loop *l, uint32_t i, int fd)
{
	int ret;

	if (!(l->feat & URING_F_FIXED) || i >= l->nfixed)
		return;                  /* beyond the table: served by descriptor */
	URING_SC(l).ctl++;
	ret = io_uring_register_files_update(&l->ring, i, &fd, 1);
	l->slots[i].fixed = ret == 1;
	if (ret < 0)
		msg("io_uring_register_files_update(%u): %s; this connection by descriptor",
		    i, strerror(-ret));
}

static void uring_unfix(struct uring_loop *l, uint32_t i)
{
	int none = -1, ret;

	URING_SC(l).ctl++;
	/* The armed receive holds its own reference until it is cancelled. */
	if ((ret = io_uring_register_files_update(&l->ring, i, &none, 1)) < 0)
		msg("io_uring_register_files_update(%u, -1): %s", i, strerror(-ret));
	l->slots[i].fixed = 0;
}

/* By user_data the kernel finds the request by hash; IORING_ASYNC_CANCEL_ANY
 * rescans every request per match - quadratic in connections at teardown. */
static int uring_cancel(struct uring_loop *l, uint64_t ud)
{
	struct io_uring_sqe *sqe = uring_sqe(l);

	if (!sqe)
		return -1;
	io_uring_prep_cancel64(sqe, ud, 0);
	io_uring_sqe_set_data64(sqe, URING_UD(URING_CANCEL, 0, 0));
	return 0;
}

/* A paused connection's buffer, filled before its cancel landed: kept,
 * in order, for its resume. */
static void uring_hold(struct uring_loop *l, uint32_t i, unsigned bid, uint32_t len)
{
	struct uring_slot *sl = &l->slots[i];

	l->held_next[bid] = URING_HELD_NONE;
	l->held_len[bid] = len;
	if (sl->held_tail == URING_HELD_NONE)
		sl->held_head = (uint16_t)bid;
	else
		l->held_next[sl->held_tail] = (uint16_t)bid;
	sl->held_tail = (uint16_t)bid;
}

/* The oldest held buffer of slot i, or URING_HELD_NONE; unlinked. */
static unsigned uring_unhold(struct uring_loop *l, uint32_t i)
{
	struct uring_slot *sl = &l->slots[i];
	unsigned bid = sl->held_head;

	if (bid != URING_HELD_NONE) {
		sl->held_head = l->held_next[bid];
		if (sl->held_head == URING_HELD_NONE)
			sl->held_tail = URING_HELD_NONE;
	}
	return bid;
}

/* Every end of a connection, and --idle-timeout's: the core closes the
 * descriptor right after, but an armed receive holds its own reference to
 * the socket, so it is cancelled; the slot stays until its last
 * completion says the kernel has let go. */
static void uring_forget(struct loop *lp, struct conn *c)
{
	struct uring_loop *l = lp->priv;
	uint32_t i = uring_conn(c)->slot;
	struct uring_slot *sl;
	unsigned bid;

	if (!uring_conn(c)->attached)
		return;          /* closed before it had a slot */
	sl = &l->slots[i];
	sl->c = NULL;
	while ((bid = uring_unhold(l, i)) != URING_HELD_NONE)
		uring_recycle(l, bid);
	uring_copy_free(sl);
	if (sl->fixed)
		uring_unfix(l, i);
	if (sl->state == URING_IDLE)
		uring_slot_put(l, i);
	else if (sl->state == URING_ARMED &&
		 uring_cancel(l, URING_UD(URING_RECV, i, sl->gen)) < 0)
		(void)shutdown(c->fd, SHUT_RDWR);  /* no SQE: this ends it too */
	/* STARVED: freed when the starved queue comes round to it. */
}

/* Paused: cancel the receive, so the kernel stops taking its bytes; what
 * completes before the cancel lands is held (uring_on_recv), and the
 * receive is not re-armed until the resume. STARVED or IDLE: nothing is
 * in the kernel, and nothing will be armed while paused. */
static void uring_pause(struct loop *lp, struct conn *c)
{
	struct uring_loop *l = lp->priv;
	uint32_t i = uring_conn(c)->slot;

	/* A multishot receive fills buffer after buffer until the cancel
	 * lands - and again at once after each resume, a socket buffer's
	 * worth held every time. Once paused, a connection gets single-shot
	 * receives: at most one buffer lands beyond a pause. */
	uring_conn(c)->single = 1;
	/* No SQE for the cancel: the receive stays armed and what it takes
	 * is held - a paused source may then pin buffers until its resume. */
	if (l->slots[i].state == URING_ARMED)
		(void)uring_cancel(l, URING_UD(URING_RECV, i, l->slots[i].gen));
}

/* Resumed: first what was held, then a new receive - unless the old one
 * is still in the kernel (its cancel not yet complete), whose last
 * completion re-arms it. */
static void uring_resume(struct loop *lp, struct conn *c)
{
	struct uring_loop *l = lp->priv;
	uint32_t i = uring_conn(c)->slot;
	uint64_t now = now_ns();
	unsigned bid;

	if (l->slots[i].ncopy) {
		struct uring_slot *sl = &l->slots[i];
		enum conn_state st = conn_input(c, sl->copy, sl->ncopy, now);

		/* A pause again in the middle of these bytes is not possible
		 * to honour without a second copy: the frame path delivers
		 * what was read, as conn_read_some does with its buffer. */
		uring_copy_free(sl);
		if (st == CONN_END) {
			server_close(c);
			return;
		}
	}
	while (!c->paused && (bid = uring_unhold(l, i)) != URING_HELD_NONE) {
		enum conn_state st = conn_input(c, URING_BUF(l, bid), l->held_len[bid], now);
		uring_recycle(l, bid);
		if (st == CONN_END) {
			server_close(c);   /* uring_forget returns the rest */
			return;
		}
	}
	if (!c->paused && uring_conn(c)->eof_held) {
		conn_eof(c);           /* its turn came, after the held bytes */
		server_close(c);
		return;
	}
	if (!c->paused && l->slots[i].state == URING_IDLE)
		uring_arm_recv(l, i);
}

/* Re-arm the receives that found the buffer ring empty, oldest first and
 * at most as many as there are buffers, so that ten thousand starved
 * sources take turns instead of all failing again at once. A paused one
 * stays idle: its resume arms it. */
static void uring_feed_starved(struct uring_loop *l)
{
	for (unsigned n = 0; n < l->nbufs && l->starved_head != URING_NONE; n++) {
		uint32_t i = l->starved_head;
		l->starved_head = l->slots[i].next;
		if (l->starved_head == URING_NONE)
			l->starved_tail = URING_NONE;
		l->slots[i].state = URING_IDLE;
		if (!l->slots[i].c)
			uring_slot_put(l, i);
		else if (!l->slots[i].c->paused)
			uring_arm_recv(l, i);
	}
}

static void uring_arm_accept(struct uring_loop *l)
{
	struct io_uring_sqe *sqe = uring_sqe(l);

	if (!sqe)
		return;                  /* SQ full: next round */
	if (l->lp->handoff) {
		/* Connections come from the acceptor, announced on an eventfd. */
		io_uring_prep_poll_multishot(sqe, l->lp->accept_fd, POLLIN);
		io_uring_sqe_set_data64(sqe, URING_UD_HANDOFF);
		l->listen_ud = URING_UD_HANDOFF;
	} else {
		/* Blocking sockets are fine: io_uring never blocks in a receive. */
		io_uring_prep_multishot_accept(sqe, l->lp->accept_fd, NULL, NULL, SOCK_CLOEXEC);
		io_uring_sqe_set_data64(sqe, URING_UD_ACCEPT);
		l->listen_ud = URING_UD_ACCEPT;
	}
	l->accept_armed = 1;
}

/*
 * Out of descriptors with nothing pending: an accept would fail with
 * -EMFILE at once (the kernel takes the descriptor before it looks for a
 * connection), and re-arming it every round would spin. Wait instead for
 * a connection to be pending; the accept re-armed then takes it, or sheds
 * it if the table is still full. SQ full: the accept is re-armed next round.
 */
static void uring_park_accept(struct uring_loop *l)
{
	struct io_uring_sqe *sqe = uring_sqe(l);

	if (!sqe)
		return;
	io_uring_prep_poll_add(sqe, l->lp->accept_fd, POLLIN);
	io_uring_sqe_set_data64(sqe, URING_UD_LPOLL);
	l->accept_armed = 1;
	l->listen_ud = URING_UD_LPOLL;
}

/* A slot and a receive for a registered connection. */
static void uring_attach(struct uring_loop *l, struct conn *c)
{
	uint32_t i = l->free_head;

	if (i != URING_NONE) {
		l->free_head = l->slots[i].next;
	} else {
		if (l->nslots == l->cap) {
			uint32_t cap = l->cap ? 2 * l->cap : 256;
			struct uring_slot *v = cap < (1u << 30) ? realloc(l->slots, cap * sizeof(*v)) : NULL;
			if (!v) {
				conn_error(c, ENOMEM);
				server_close(c);
				return;
			}
			l->slots = v;
			l->cap = cap;
		}
		i = l->nslots++;
		l->slots[i] = (struct uring_slot){ .gen = 0 };   /* realloc's memory is not zeroed */
	}
	l->slots[i].c = c;
	l->slots[i].held_head = l->slots[i].held_tail = URING_HELD_NONE;
	l->slots[i].fixed = 0;
	uring_conn(c)->slot = i;
	uring_conn(c)->attached = 1;
	uring_fix(l, i, c->fd);
	uring_arm_recv(l, i);
}

static void uring_on_accept(struct uring_loop *l, const struct io_uring_cqe *cqe)
{
	struct conn *c;

	if (!(cqe->flags & IORING_CQE_F_MORE))
		l->accept_armed = 0;     /* re-armed at the top of the loop */
	if (cqe->user_data == URING_UD_LPOLL)
		return;                  /* a connection is pending: accept again */
	if (cqe->user_data == URING_UD_HANDOFF) {
		while (server_accept(l->lp, &c) == 1)
			uring_attach(l, c);
		return;
	}
	URING_SC(l).accepts++;
	if (cqe->res >= 0) {
		if ((c = server_adopt(l->lp, cqe->res)) != NULL)
			uring_attach(l, c);
		return;                  /* or refused and reported by the core */
	}
	switch (-cqe->res) {
	case EMFILE: case ENFILE: case ENOBUFS: case ENOMEM:
		if (!server_shed(l->lp, -cqe->res) && !l->accept_armed)
			uring_park_accept(l);
		break;
	/* accept(2): errors of the pending connection, not ours. */
	case ECONNABORTED: case EPROTO: case ENETDOWN: case ENOPROTOOPT: case EHOSTDOWN:
	case ENONET: case EHOSTUNREACH: case ENETUNREACH: case EINTR: case EAGAIN:
		break;
	default:
		msg("accept on %s: %s", l->lp->s->listen_name, strerror(-cqe->res));
		l->failed = 1;
	}
}

static void uring_on_recv(struct uring_loop *l, const struct io_uring_cqe *cqe,
			  uint64_t now)
{
	uint32_t i = URING_IDX(cqe->user_data);
	int res = cqe->res, last = !(cqe->flags & IORING_CQE_F_MORE);
	unsigned bid = cqe->flags >> IORING_CQE_BUFFER_SHIFT;
	int has_buf = (cqe->flags & IORING_CQE_F_BUFFER) && bid < l->nbufs;
	struct uring_slot *sl;
	struct conn *c;

	if (i >= l->nslots || l->slots[i].gen != URING_GEN(cqe->user_data)) {
		if (has_buf)             /* cannot happen; the buffer still counts */
			(void)uring_take(l, NULL, cqe, now);
		return;
	}
	sl = &l->slots[i];
	c = sl->c;
	if (last)
		sl->state = URING_IDLE;
	URING_SC(l).extra[URING_C_NOBUFS] += res == -ENOBUFS;
	URING_SC(l).reads += res > 0;
	if (c)
		ev_read(c, res > 0 ? res : res == 0 ? 0 : -1, -res, "cqe recv, buffer %d",
			has_buf ? (int)bid : -1);
	if (!c) {
		/* Ended earlier (in this batch, maybe): bytes after a BYE or an
		 * error, or the -ECANCELED we asked for. Only the buffer counts. */
		if (has_buf)
			(void)uring_take(l, NULL, cqe, now);
	} else if (res > 0 && has_buf && c->paused && !(l->feat & URING_F_WALK)) {
		uring_hold(l, i, bid, (uint32_t)res);   /* the resume gives it back */
	} else if (res == 0 && c->paused) {
		uring_conn(c)->eof_held = 1;   /* after the held bytes, at the resume */
	} else if (res > 0 && has_buf) {
		if (uring_take(l, c, cqe, now) == CONN_END)
			server_close(c);
	} else {
		if (has_buf)
			(void)uring_take(l, NULL, cqe, now);
		if (res == -ECANCELED) {
			/* The pause's cancel (only a pause cancels a live
			 * connection's receive): idle until the resume, or
			 * re-armed below if that came first. */
		} else if (res != -ENOBUFS) {
			if (res == 0)
				conn_eof(c);
			else
				conn_error(c, res > 0 ? EFAULT : -res);   /* EFAULT: bytes, no buffer */
			server_close(c);
		}
	}
	if (!last || sl->state == URING_FREE)
		return;                  /* still armed, or ended and freed */
	if (!sl->c)
		uring_slot_put(l, i);    /* the last word on an ended connection */
	else if (sl->c->paused || uring_conn(sl->c)->eof_held)
		return;                  /* idle until the resume */
	else if (res == -ENOBUFS)
		uring_starve(l, i);      /* back-pressure: the bytes wait in the socket */
	else
		uring_arm_recv(l, i); /* single-shot, or a multishot the kernel ended
					    (CQ overflow), or a resume before the
					    pause's cancel landed: nothing is lost */
}

/* One batch: the completions there now (more may land while we work),
 * released to the kernel with one cq_advance at the end. */
static void uring_complete(struct uring_loop *l)
{
	struct io_uring_cqe *cqe;
	unsigned head, n = 0, batch = io_uring_cq_ready(&l->ring);
	uint64_t now = now_ns();
	int over = io_uring_cq_has_overflow(&l->ring);

	/* Overflow: the kernel parks the completions it had no room for (NODROP)
	 * and ends multishot requests; their last completions re-arm them.
	 * Counted once per episode. */
	URING_SC(l).extra[URING_C_OVERFLOWS] += over && !l->overflowed;
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
			uring_on_recv(l, cqe, now);
		} else if (kind == URING_ACCEPT) {
			uring_on_accept(l, cqe);
		} else if (kind == URING_CANCEL && cqe->res < 0 && cqe->res != -ENOENT &&
			   cqe->res != -EALREADY) {
			/* ENOENT: the receive had just ended by itself. */
			msg("io_uring cancel: %s", strerror(-cqe->res));
		}
	}
	io_uring_cq_advance(&l->ring, n);
	URING_SC(l).extra[URING_C_CQES] += n;
}

/* Hand in what is queued; if nothing is waiting, sleep until a completion
 * arrives or ms pass. */
static int uring_wait(struct uring_loop *l, int ms)
{
	struct __kernel_timespec ts = { .tv_sec = ms / 1000, .tv_nsec = (ms % 1000) * 1000000L };
	struct io_uring_cqe *cqe;
	int ret;

	if (io_uring_cq_ready(&l->ring)) {
		if (!io_uring_sq_ready(&l->ring))
			return 0;
		URING_SC(l).extra[URING_C_ENTERS]++;
		ret = io_uring_submit(&l->ring);
	} else {
		unsigned queued = io_uring_sq_ready(&l->ring);
		URING_SC(l).extra[URING_C_ENTERS]++;
		URING_SC(l).waits++;
		ret = io_uring_submit_and_wait_timeout(&l->ring, &cqe, 1, &ts, NULL);
		ev_wait(l->lp, (int)io_uring_cq_ready(&l->ring),
			"io_uring_submit_and_wait(submit %u, timeout %d ms) -> %u completions%s%s",
			queued, ms, io_uring_cq_ready(&l->ring), ret < 0 ? ", " : "",
			ret == -ETIME ? "ETIME (the timeout)" : ret < 0 ? strerror(-ret) : "");
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
 * without F_MORE (flag ignored). Start-up cost, not counted.
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
			(void)uring_take(l, NULL, cqe, 0);
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
static void uring_drain(struct uring_loop *l)
{
	uint64_t until = now_ns() + URING_DRAIN_NS;

	l->stopping = 1;
	if (l->accept_armed)
		(void)uring_cancel(l, l->listen_ud);
	for (uint32_t i = 0; i < l->nslots; i++)
		if (l->slots[i].state == URING_ARMED &&
		    uring_cancel(l, URING_UD(URING_RECV, i, l->slots[i].gen)) < 0)
			break;
	while (l->inflight && now_ns() < until) {
		if (uring_wait(l, SERVER_TICK_MS) < 0)
			break;
		uring_complete(l);
	}
	if (l->inflight)
		msg("io_uring: %lu requests still in the kernel at exit", (unsigned long)l->inflight);
}

/* The rings' sizes: DAQMUX_URING_TINY (set and not "0") shrinks them. */
static int uring_env(const char *name)
{
	const char *v = getenv(name);

	return v && *v && strcmp(v, "0") != 0;
}

static void uring_sizes(struct uring_loop *l)
{
	int tiny = uring_env("DAQMUX_URING_TINY");

	l->sq_entries = tiny ? URING_TINY_SQ : URING_SQ_ENTRIES;
	l->cq_entries = tiny ? URING_TINY_CQ : URING_CQ_ENTRIES;
	l->nbufs = tiny ? URING_TINY_NBUFS : URING_NBUFS;
}

/* One line at start: the features in effect, and why any of `all` is not. */
static void uring_features_say(const struct uring_loop *l, const char *notes)
{
	char on[64] = "";

	for (size_t i = 0; i < sizeof(uring_features) / sizeof(uring_features[0]); i++)
		if (l->feat & uring_features[i].bit)
			snprintf(on + strlen(on), sizeof(on) - strlen(on), "%s%s", on[0] ? "," : "",
				 uring_features[i].name);
	msg("uring: features %s%s%s", on[0] ? on : "none", notes[0] ? "; not here: " : "", notes);
}

static int uring_run(struct loop *lp)
{
	struct server *s = lp->s;
	struct uring_loop *l = lp->priv;
	/* The environment's list serves where no command line reaches the
	 * server (the test suites' variants); the option wins. */
	const char *list = s->opt.uring_features ? s->opt.uring_features
						 : getenv("DAQMUX_URING_FEATURES");
	char why[256], notes[512] = "";
	unsigned want = 0;
	int rc = -1, all = 0;

	l->lp = lp;
	uring_sizes(l);
	if (uring_features_parse(list, &want, &all, why, sizeof(why)) < 0) {
		msg("%s", why);
		return -1;
	}
	if (uring_open(l, want, all, notes, sizeof(notes), why, sizeof(why)) < 0) {
		msg("%s", why);
		goto out;
	}
	if (list && *list && lp->id == 0)
		uring_features_say(l, notes);
	if (l->nbufs != URING_NBUFS && lp->id == 0)
		msg("uring: DAQMUX_URING_TINY is set: %u SQ, %u CQ entries, %u buffers",
		    l->sq_entries, l->cq_entries, l->nbufs);
	if (uring_env("DAQMUX_URING_SINGLESHOT")) {
		if (lp->id == 0)
			msg("uring: DAQMUX_URING_SINGLESHOT is set: single-shot receives");
	} else if ((l->multishot = uring_multishot_works(l)) < 0) {
		goto out;
	} else if (!l->multishot && lp->id == 0) {
		msg("uring: this kernel has no multishot receive: single-shot receives");
	}

	while (!server_should_stop(s) && !l->failed) {
		if (!l->accept_armed)
			uring_arm_accept(l);
		uring_feed_starved(l);
		if (uring_wait(l, server_wait_ms(s)) < 0)
			goto out;
		uring_complete(l);
		server_sweep(lp);
		server_reap(lp);         /* conns closed in this batch; slots stay */
	}
	rc = l->failed ? -1 : 0;
out:
	if (l->have_ring)
		uring_drain(l);
	uring_close(l);
	return rc;
}

static int uring_probe(char *why, size_t len)
{
	struct uring_loop l = { 0 };
	int rc;

	uring_sizes(&l);
	rc = uring_open(&l, 0, 0, NULL, 0, why, len);
	uring_close(&l);
	return rc;
}

#define URING_LOOP_SIZE sizeof(struct uring_loop)
#define URING_CONN_SIZE sizeof(struct uring_conn)
#define URING_FORGET uring_forget
#define URING_PAUSE  uring_pause
#define URING_RESUME uring_resume

#else  /* !HAVE_URING */

static int uring_probe(char *why, size_t len)
{
	return backend_not_compiled_in(why, len, "liburing-dev");
}

#define uring_run backend_never_runs

#define URING_LOOP_SIZE 0
#define URING_CONN_SIZE 0
#define URING_FORGET NULL
#define URING_PAUSE  NULL
#define URING_RESUME NULL

#endif

static const struct backend_counter uring_counters[] = {
	[URING_C_ENTERS]    = { "io_uring_enter", "io_uring_enter", BC_CALLS_WITH_WAITS },
	[URING_C_SQES]      = { "sqes", "sqes", BC_INFO },
	[URING_C_CQES]      = { "cqes", "cqes", BC_INFO },
	[URING_C_NOBUFS]    = { "nobufs", "ENOBUFS", BC_INFO },
	[URING_C_OVERFLOWS] = { "cq_overflows", "CQ overflows", BC_INFO },
};

/* The paths the default sizes and a new kernel never take, for the tests. */
static const struct backend_variant uring_variants[] = {
	{ "tiny", "DAQMUX_URING_TINY=1",
	  "the buffer ring is too small on purpose: a flooding source holds its buffers "
	  "and the others wait for -ENOBUFS re-arms" },
	{ "singleshot", "DAQMUX_URING_SINGLESHOT=1", NULL },
	/* The --uring-features ladder, one step at a time (each step keeps
	 * the ones before it), and everything this machine has. */
	{ "defer", "DAQMUX_URING_FEATURES=defer", NULL },
	{ "regring", "DAQMUX_URING_FEATURES=defer,regring", NULL },
	{ "fixed", "DAQMUX_URING_FEATURES=defer,regring,fixed", NULL },
	{ "bundle", "DAQMUX_URING_FEATURES=defer,regring,fixed,bundle", NULL },
	{ "all", "DAQMUX_URING_FEATURES=all",
	  "with incremental buffer consumption (inc) a flooding source's receive keeps "
	  "its buffer: measured 12-50 ms p99 for paced sources beside a flood, and up "
	  "to 6.5 MB read past a pause under ASan before the cancel lands - an open "
	  "problem (docs/backend-uring.md)" },
};


const struct backend backend_uring = {
	.name = "uring",
	.summary = "io_uring: multishot accept + multishot recv into a shared provided-buffer ring",
	.pref = 35,
	.features = BE_LOOPS | BE_PEER_UNKNOWN_EARLY,
	.loop_size = URING_LOOP_SIZE,
	.conn_size = URING_CONN_SIZE,
	.counters = uring_counters,
	.ncounters = sizeof(uring_counters) / sizeof(uring_counters[0]),
	.variants = uring_variants,
	.nvariants = sizeof(uring_variants) / sizeof(uring_variants[0]),
	.probe = uring_probe,
	.run = uring_run,
	.forget = URING_FORGET,
	.pause = URING_PAUSE,
	.resume = URING_RESUME,
};
