/* build.c - the event builder; see build.h. */
#include "build.h"

#include <endian.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "hist.h"
#include "json.h"
#include "loops.h"
#include "server.h"
#include "util.h"

#define BUILD_OUT_SIZE (1u << 20)   /* one write per this many bytes of events */
#define BUILD_OUT_BUFS 4            /* filled by the builder, written by the writer */
#define BUILD_NOTED 16              /* partial events named in the summary */
#define BUILD_NOTED_IDS 8           /* missing sources named per event */

struct build_frag {
	uint8_t *p;
	uint32_t len, cap;
};

/* Per connection (c->bc), touched only by the thread that reads it. */
struct build_conn {
	int paused;                 /* the builder's pause: keep what arrives */
	struct build_frag cur;      /* the fragment streaming in (--write) */
	int cur_ok;                 /* cur holds this frame's header and bytes */
	uint8_t *kept;              /* read while paused: fed again on resume */
	size_t kept_len, kept_cap;
	int eof_kept;               /* the peer closed behind the kept bytes */
};

enum { SLOT_FREE, SLOT_OPEN, SLOT_COMPLETE };

struct build_slot {
	uint64_t event;
	uint32_t have;              /* fragments in */
	int state;
	uint64_t first_ns;          /* arrival of the first fragment */
	uint64_t trigger_ns;        /* earliest send time stamped */
	uint64_t bytes;             /* fragment bytes held (headers included) */
};

struct build_src {
	uint32_t id;
	int ended;                  /* its connection ended; nothing more comes */
	uint64_t next_seq;          /* one past the highest event it delivered */
	struct conn *paused;        /* its connection while paused */
	uint64_t paused_since, paused_ns;
	uint64_t last_count;        /* events it completed (it was the last) */
	uint64_t missing;           /* partial events it was missing from */
};

struct build {
	pthread_mutex_t lock;       /* taken only when mt */
	pthread_cond_t resumed;
	int mt;                     /* several threads feed it */
	int per_conn;               /* a thread per connection */
	unsigned n, w, words;
	uint64_t timeout_ns;
	uint64_t base;              /* the oldest event the ring can hold */
	unsigned inflight;          /* slots not free */
	struct build_slot *slot;    /* w */
	uint64_t *bits;             /* w * words: who delivered */
	struct build_frag *frag;    /* w * n, with --write */
	struct build_src *src;      /* n, in the order sources were first seen */
	unsigned nsrc;
	unsigned *order;            /* source indices by ascending id */
	int lossy;                  /* a source ended or skipped an event */
	unsigned npaused;
	struct conn **replay;       /* resumed, kept bytes still to feed */
	unsigned nreplay, replay_cap;

	int writing;                /* --write: set once, read by every thread */
	int fd, own_fd, write_failed, oom_said;
	uint8_t *out;               /* the buffer being filled: one of wbuf */
	size_t out_len;
	uint64_t written;
	pthread_t writer;
	int writer_started;
	pthread_mutex_t wlock;      /* guards the w* fields below */
	pthread_cond_t wcond;       /* a buffer was handed over, or written */
	uint8_t *wbuf[BUILD_OUT_BUFS];
	size_t wlen[BUILD_OUT_BUFS];
	unsigned whead, wfull;      /* wbuf[whead ...] wait to be written */
	int wclosing;

	uint64_t complete, partial, late, dups, held, held_max, kept, kept_max;
	struct {
		uint64_t event;
		unsigned nmissing;          /* sources missing */
		unsigned nids;              /* of them named: seen, at most BUILD_NOTED_IDS */
		uint32_t ids[BUILD_NOTED_IDS];
	} noted[BUILD_NOTED];           /* the first partial events */
	uint64_t allocs, lock_n, lock_contended, lock_wait_ns;
	struct hist lat;
};

static void build_lock(struct build *b)
{
	if (!b->mt)
		return;
	if (pthread_mutex_trylock(&b->lock) != 0) {
		/* Only a wait is timed, so the uncontended path costs one
		 * atomic operation: what the lock costs is what we report. */
		uint64_t t = now_ns();
		pthread_mutex_lock(&b->lock);
		b->lock_wait_ns += now_ns() - t;
		b->lock_contended++;
	}
	b->lock_n++;
}

static void build_unlock(struct build *b)
{
	if (b->mt)
		pthread_mutex_unlock(&b->lock);
}

static inline uint64_t *build_bits(struct build *b, uint64_t e)
{
	return b->bits + (size_t)(e % b->w) * b->words;
}

static inline int bit_get(const uint64_t *v, unsigned i)
{
	return (v[i / 64] >> (i % 64)) & 1;
}

/* Grow a buffer to need bytes; need is bounded by the caller (a checked
 * frame length, or one read). Counted: steady state must not grow. */
static int build_grow(struct build *b, uint8_t **p, size_t *cap, size_t need)
{
	uint8_t *v;

	if (need <= *cap)
		return 0;
	v = realloc(*p, need);
	if (!v)
		return -1;
	*p = v;
	*cap = need;
	__atomic_add_fetch(&b->allocs, 1, __ATOMIC_RELAXED);
	return 0;
}

/* ---- the --write stream -------------------------------------------------- */

/* The writer thread: --write must not stall reading, so the reading
 * thread only fills buffers and hands them over; this one write()s them,
 * in order. Only when every buffer is waiting to be written - the disk or
 * the consumer of a pipe is slower than the sources - does the reader wait
 * for one: then the sources are held back, as a DAQ must be. */
static int build_write_all(struct build *b, const uint8_t *p, size_t len)
{
	while (len) {
		ssize_t n = write(b->fd, p, len);
		if (n > 0) {
			p += n;
			len -= (size_t)n;
			__atomic_add_fetch(&b->written, (uint64_t)n, __ATOMIC_RELAXED);
		} else if (n < 0 && errno == EINTR) {
			continue;
		} else if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
			struct pollfd pfd = { .fd = b->fd, .events = POLLOUT };
			(void)poll(&pfd, 1, SERVER_TICK_MS);
		} else {
			msg("--write: %s; no more events are written",
			    n < 0 ? strerror(errno) : "write returned 0");
			__atomic_store_n(&b->write_failed, 1, __ATOMIC_RELAXED);
			return -1;
		}
	}
	return 0;
}

static void *build_writer(void *arg)
{
	struct build *b = arg;

	pthread_mutex_lock(&b->wlock);
	for (;;) {
		while (!b->wfull && !b->wclosing)
			pthread_cond_wait(&b->wcond, &b->wlock);
		if (!b->wfull)
			break;              /* closing, and everything written */
		unsigned i = b->whead;
		pthread_mutex_unlock(&b->wlock);
		if (!__atomic_load_n(&b->write_failed, __ATOMIC_RELAXED))
			(void)build_write_all(b, b->wbuf[i], b->wlen[i]);
		pthread_mutex_lock(&b->wlock);
		b->whead = (b->whead + 1) % BUILD_OUT_BUFS;
		b->wfull--;
		pthread_cond_broadcast(&b->wcond);
	}
	pthread_mutex_unlock(&b->wlock);
	return NULL;
}

/* Hand the buffer being filled to the writer and take the next one,
 * waiting while none is free. (head + full) is the buffer after the last
 * full one whatever the writer does meanwhile: it moves both together. */
static void build_flush(struct build *b)
{
	unsigned fill;

	if (!b->out_len)
		return;
	pthread_mutex_lock(&b->wlock);
	fill = (b->whead + b->wfull) % BUILD_OUT_BUFS;
	b->wlen[fill] = b->out_len;
	b->wfull++;
	pthread_cond_broadcast(&b->wcond);
	while (b->wfull == BUILD_OUT_BUFS)
		pthread_cond_wait(&b->wcond, &b->wlock);
	b->out = b->wbuf[(fill + 1) % BUILD_OUT_BUFS];
	pthread_mutex_unlock(&b->wlock);
	b->out_len = 0;
}

/* Everything handed over has been written. */
static void build_drain(struct build *b)
{
	build_flush(b);
	pthread_mutex_lock(&b->wlock);
	while (b->wfull)
		pthread_cond_wait(&b->wcond, &b->wlock);
	pthread_mutex_unlock(&b->wlock);
}

static void build_put(struct build *b, const void *p, size_t len)
{
	if (__atomic_load_n(&b->write_failed, __ATOMIC_RELAXED))
		return;
	if (b->out_len + len > BUILD_OUT_SIZE)
		build_flush(b);
	if (len > BUILD_OUT_SIZE) {
		/* One huge fragment: after what is queued, from here. */
		build_drain(b);
		(void)build_write_all(b, p, len);
		return;
	}
	memcpy(b->out + b->out_len, p, len);
	b->out_len += len;
}

static void be_put32(uint8_t *p, uint32_t v)
{
	v = htobe32(v);
	memcpy(p, &v, 4);
}

static void build_put_event(struct build *b, struct build_slot *sl, const uint64_t *bits,
			    int partial)
{
	struct build_frag *fr = b->frag + (size_t)(sl->event % b->w) * b->n;
	uint8_t h[BUILD_EV_HEADER] = { 0 };
	uint16_t magic = htobe16(BUILD_EV_MAGIC);
	uint64_t ev = htobe64(sl->event);
	uint32_t bytes = 0, nfrag = 0;

	/* A fragment whose buffer could not grow (said so) is left out. */
	for (unsigned i = 0; i < b->n; i++)
		if (bit_get(bits, i) && fr[i].len) {
			bytes += fr[i].len;
			nfrag++;
		}
	memcpy(h, &magic, 2);
	h[2] = BUILD_EV_VERSION;
	h[3] = partial ? BUILD_EV_PARTIAL : 0;
	memcpy(h + 4, &ev, 8);
	be_put32(h + 12, nfrag);
	be_put32(h + 16, bytes);
	build_put(b, h, sizeof(h));
	for (unsigned k = 0; k < b->nsrc; k++) {
		unsigned i = b->order[k];
		if (bit_get(bits, i) && fr[i].len) {
			build_put(b, fr[i].p, fr[i].len);
			fr[i].len = 0;
		}
	}
}

/* ---- the ring ------------------------------------------------------------ */

/* Has every source that has not delivered event e ended, or moved past e
 * (TCP is in order: it never will)? */
static int build_decided(const struct build *b, uint64_t e, const uint64_t *bits)
{
	for (unsigned i = 0; i < b->n; i++) {
		if (bit_get(bits, i))
			continue;
		if (i >= b->nsrc || (!b->src[i].ended && b->src[i].next_seq <= e))
			return 0;
	}
	return 1;
}

/* Emit the event at base (complete or partial) and free its slot. */
static void build_emit(struct build *b, struct build_slot *sl)
{
	uint64_t *bits = build_bits(b, sl->event);
	int partial = sl->state != SLOT_COMPLETE;

	if (partial) {
		/* The first few are named in the summary: which event, which
		 * sources (in ascending id; a source never seen has no id). */
		unsigned nt = b->partial < BUILD_NOTED ? (unsigned)b->partial : BUILD_NOTED;
		if (nt < BUILD_NOTED) {
			b->noted[nt].event = sl->event;
			b->noted[nt].nmissing = b->n - sl->have;
			b->noted[nt].nids = 0;
		}
		b->partial++;
		for (unsigned k = 0; k < b->nsrc; k++) {
			unsigned i = b->order[k];
			if (bit_get(bits, i))
				continue;
			b->src[i].missing++;
			if (nt < BUILD_NOTED && b->noted[nt].nids < BUILD_NOTED_IDS)
				b->noted[nt].ids[b->noted[nt].nids++] = b->src[i].id;
		}
	} else {
		b->complete++;
	}
	if (b->writing)
		build_put_event(b, sl, bits, partial);
	b->held -= sl->bytes;
	memset(bits, 0, b->words * 8);   /* a free slot has no bits */
	sl->state = SLOT_FREE;
	b->inflight--;
}

static void build_resume(struct build *b, unsigned i, uint64_t now)
{
	struct build_src *src = &b->src[i];
	struct conn *c = src->paused;

	/* Several threads: now is when the resuming fragment was read, maybe
	 * long before this thread got the lock; the clock, under the lock,
	 * orders pause and resume. */
	if (b->mt)
		now = now_ns();
	src->paused_ns += now > src->paused_since ? now - src->paused_since : 0;
	src->paused = NULL;
	b->npaused--;
	__atomic_store_n(&c->bc->paused, 0, __ATOMIC_RELAXED);
	if (b->per_conn) {
		/* Any thread may resume a reader thread; it feeds its kept
		 * bytes itself when it wakes (build_replay). */
		conn_resume(c);
		return;
	}
	/* Its loop feeds its kept bytes, then resumes it, in build_sweep:
	 * not here, deep inside another connection's input, and perhaps on
	 * another loop's thread. A connection still receiving what its
	 * backend had taken before the pause may pause and resume again
	 * before that: once in the list is enough. */
	for (unsigned k = 0; k < b->nreplay; k++)
		if (b->replay[k] == c)
			return;
	b->replay[b->nreplay++] = c;
	if (b->mt && c->loop->handoff)
		loop_wake(c->loop);     /* it may be asleep in its wait */
}

/* Emit what is done at the head of the ring, then resume the sources the
 * ring has room for again. */
static void build_advance(struct build *b, uint64_t now)
{
	while (b->inflight) {
		struct build_slot *sl = &b->slot[b->base % b->w];
		if (sl->state == SLOT_FREE) {
			/* Nobody has sent this event: skip it only when every
			 * source is past it, else someone still owes it. */
			if (!b->lossy || !build_decided(b, b->base, build_bits(b, b->base)))
				break;
		} else if (sl->state == SLOT_COMPLETE ||
			   (b->lossy && build_decided(b, sl->event, build_bits(b, sl->event)))) {
			build_emit(b, sl);
		} else {
			break;
		}
		b->base++;
	}
	for (unsigned i = 0; b->npaused && i < b->nsrc; i++)
		if (b->src[i].paused && b->src[i].next_seq < b->base + b->w)
			build_resume(b, i, now);
}

/* e is beyond the ring (a source skipped ahead): make room by emitting
 * the oldest events as they are. With nothing in flight, just jump. */
static void build_make_room(struct build *b, uint64_t e, uint64_t now)
{
	while (e >= b->base + b->w) {
		struct build_slot *sl = &b->slot[b->base % b->w];
		if (!b->inflight) {
			b->base = e - b->w + 1;
			break;
		}
		if (sl->state != SLOT_FREE)
			build_emit(b, sl);
		b->base++;
	}
	build_advance(b, now);
}

static int build_source_index(struct build *b, uint32_t id)
{
	unsigned i, k;

	for (i = 0; i < b->nsrc; i++)
		if (b->src[i].id == id)
			return (int)i;
	if (b->nsrc == b->n)
		return -1;
	b->src[i].id = id;
	/* Keep the output order (ascending id) as sources appear. */
	for (k = b->nsrc; k > 0 && b->src[b->order[k - 1]].id > id; k--)
		b->order[k] = b->order[k - 1];
	b->order[k] = i;
	b->nsrc++;
	return (int)i;
}

/* ---- hooks ---------------------------------------------------------------- */

static struct build_conn *build_conn_of(struct conn *c)
{
	if (!c->bc)
		c->bc = calloc(1, sizeof(*c->bc));
	return c->bc;
}

/* c's buffer for a fragment of len bytes (a length frame_parse checked
 * against --max-frame); NULL when it cannot grow (said once). */
static struct build_conn *build_cur(struct build *b, struct conn *c, size_t len)
{
	struct build_conn *bc = build_conn_of(c);
	size_t cap;

	if (!bc)
		return NULL;            /* build_fragment says so */
	bc->cur_ok = 0;
	cap = bc->cur.cap;
	if (build_grow(b, &bc->cur.p, &cap, len) < 0) {
		if (!__atomic_exchange_n(&b->oom_said, 1, __ATOMIC_RELAXED))
			msg("--write: out of memory for a %zu-byte fragment; --write leaves "
			    "such fragments out", len);
		return NULL;
	}
	bc->cur.cap = (uint32_t)cap;
	bc->cur.len = 0;
	return bc;
}

void build_stream(struct conn *c, uint32_t have0, const uint8_t *buf, size_t used,
		  const struct frame *f)
{
	struct build *b = c->loop->s->build;
	struct frame_parser *p = &c->fp;
	struct build_conn *bc;
	size_t hdr = 0;

	if (!b || !b->writing)
		return;
	if (have0 == 0 && f) {
		/* A whole frame in this one piece of buf - frame_parse may have
		 * decoded it straight from buf, past its own header copy. */
		if (f->h.type != PROTO_DATA) {
			if (c->bc)
				c->bc->cur_ok = 0;
			return;
		}
		if ((bc = build_cur(b, c, used)) != NULL) {
			memcpy(bc->cur.p, buf, used);
			bc->cur.len = (uint32_t)used;
			bc->cur_ok = 1;
		}
		return;
	}
	if (have0 < PROTO_HEADER_SIZE) {
		hdr = PROTO_HEADER_SIZE - have0;
		if (hdr > used)
			hdr = used;
		if (have0 + hdr < PROTO_HEADER_SIZE)
			return;             /* the header is still incomplete */
		/* A new frame, split across reads: the parser has its header. */
		if (p->h.type != PROTO_DATA) {
			if (c->bc)
				c->bc->cur_ok = 0;
			return;
		}
		if (!(bc = build_cur(b, c, PROTO_HEADER_SIZE + (size_t)p->h.length)))
			return;
		memcpy(bc->cur.p, p->hdr, PROTO_HEADER_SIZE);
		bc->cur.len = PROTO_HEADER_SIZE;
		bc->cur_ok = 1;
	}
	bc = c->bc;
	if (!bc || !bc->cur_ok || used == hdr)
		return;
	memcpy(bc->cur.p + bc->cur.len, buf + hdr, used - hdr);
	bc->cur.len += (uint32_t)(used - hdr);
}

int build_held(const struct conn *c)
{
	return c->bc && (__atomic_load_n(&c->bc->paused, __ATOMIC_RELAXED) || c->bc->kept_len);
}

int build_hold(struct conn *c, const uint8_t *buf, size_t len)
{
	if (!build_held(c))
		return 0;
	build_keep(c, buf, len);
	return 1;
}

void build_keep(struct conn *c, const uint8_t *buf, size_t len)
{
	struct build *b = c->loop->s->build;
	struct build_conn *bc = build_conn_of(c);

	if (!bc) {
		msg("out of memory for a paused source's bytes");
		abort();    /* losing them silently would be worse */
	}
	if (bc->kept && buf >= bc->kept && buf < bc->kept + bc->kept_cap) {
		/* Feeding the kept bytes paused it again: keep the rest. */
		memmove(bc->kept + bc->kept_len, buf, len);
	} else {
		/* Doubling, from 64 KiB: what a paused source reads beyond its
		 * pause is one read, so this settles after a few pauses. */
		size_t want = bc->kept_cap ? bc->kept_cap : 65536;
		while (want < bc->kept_len + len)
			want *= 2;
		if (build_grow(b, &bc->kept, &bc->kept_cap, want) < 0) {
			msg("out of memory for a paused source's bytes");
			abort();
		}
		memcpy(bc->kept + bc->kept_len, buf, len);
	}
	bc->kept_len += len;
	build_lock(b);
	b->kept += len;
	if (b->kept > b->kept_max)
		b->kept_max = b->kept;
	build_unlock(b);
}

int build_fragment(struct conn *c, const struct proto_header *h, uint64_t now)
{
	struct build *b = c->loop->s->build;
	struct build_src *src;
	struct build_slot *sl;
	uint64_t e = h->seq, *bits, bytes = PROTO_HEADER_SIZE + (uint64_t)h->length;
	int i;

	if (!build_conn_of(c)) {
		msg("out of memory for a connection's builder state");
		return -1;
	}
	build_lock(b);
	if (!c->bsrc) {
		i = build_source_index(b, h->source);
		if (i < 0) {
			build_unlock(b);
			return -1;
		}
		c->bsrc = (unsigned)i + 1;
	}
	i = (int)c->bsrc - 1;
	src = &b->src[i];
	src->ended = 0;             /* a reconnect takes it up again */
	if (e > src->next_seq && src->next_seq)
		b->lossy = 1;           /* it skipped events: they will not come */
	if (e >= src->next_seq)
		src->next_seq = e + 1;
	if (e < b->base) {
		b->late++;              /* its event has been emitted */
		goto out;
	}
	if (e >= b->base + b->w)
		build_make_room(b, e, now);
	sl = &b->slot[e % b->w];
	bits = build_bits(b, e);
	if (sl->state == SLOT_FREE) {
		*sl = (struct build_slot){ .event = e, .state = SLOT_OPEN, .first_ns = now,
					   .trigger_ns = h->send_ns ? h->send_ns : now };
		memset(bits, 0, b->words * 8);
		b->inflight++;
	}
	if (bit_get(bits, (unsigned)i)) {
		b->dups++;
		goto out;
	}
	bits[i / 64] |= 1ull << (i % 64);
	sl->have++;
	sl->bytes += bytes;
	b->held += bytes;
	if (b->held > b->held_max)
		b->held_max = b->held;
	if (h->send_ns && h->send_ns < sl->trigger_ns)
		sl->trigger_ns = h->send_ns;
	if (b->writing) {
		struct build_frag *f = &b->frag[(size_t)(e % b->w) * b->n + (unsigned)i];
		struct build_frag t = *f;
		if (c->bc && c->bc->cur_ok && c->bc->cur.len == bytes) {
			*f = c->bc->cur;    /* swapped, not copied */
			c->bc->cur = t;
			c->bc->cur.len = 0;
			c->bc->cur_ok = 0;
		} else {
			f->len = 0;         /* out of memory earlier: said so */
		}
	}
	if (sl->have == b->n) {
		sl->state = SLOT_COMPLETE;
		hist_record(&b->lat, now > sl->trigger_ns ? now - sl->trigger_ns : 0);
		src->last_count++;
	}
	build_advance(b, now);
out:
	if (src->next_seq >= b->base + b->w && !src->paused) {
		/* On c's own thread: the core's pause may be called here. */
		src->paused = c;
		src->paused_since = b->mt ? now_ns() : now;
		b->npaused++;
		__atomic_store_n(&c->bc->paused, 1, __ATOMIC_RELAXED);
		conn_pause(c);
	}
	build_unlock(b);
	return 0;
}

void build_conn_closed(struct conn *c)
{
	struct build *b = c->loop->s->build;
	uint64_t now = now_ns();

	if (!b)
		return;
	build_lock(b);
	for (unsigned k = 0; k < b->nreplay; k++)
		if (b->replay[k] == c)
			b->replay[k] = b->replay[--b->nreplay];
	if (c->bsrc) {
		struct build_src *src = &b->src[c->bsrc - 1];
		if (src->paused == c) {
			src->paused_ns += now > src->paused_since ? now - src->paused_since : 0;
			src->paused = NULL;
			b->npaused--;
		}
		/* Ended - not stopped by us: what it has not sent never comes. */
		if (!__atomic_load_n(&c->shut_by_us, __ATOMIC_RELAXED) && source_ended(c->src)) {
			src->ended = 1;
			b->lossy = 1;
			build_advance(b, now);
		}
	}
	if (c->bc)
		b->kept -= c->bc->kept_len;
	build_unlock(b);
	if (c->bc) {
		free(c->bc->cur.p);
		free(c->bc->kept);
		free(c->bc);
		c->bc = NULL;
	}
}

enum conn_state build_replay(struct conn *c)
{
	struct build *b = c->loop->s->build;
	struct build_conn *bc = c->bc;
	size_t len;

	if (!b || !bc || !bc->kept_len || __atomic_load_n(&bc->paused, __ATOMIC_RELAXED))
		return CONN_OPEN;
	len = bc->kept_len;
	bc->kept_len = 0;
	build_lock(b);
	b->kept -= len;
	build_unlock(b);
	return conn_input(c, bc->kept, len, now_ns());
}

/* Events older than --build-timeout, oldest first (emission is in order). */
static void build_expire(struct build *b, uint64_t now)
{
	build_advance(b, now);
	while (b->timeout_ns && b->inflight) {
		struct build_slot *sl = &b->slot[b->base % b->w];
		if (sl->state == SLOT_FREE) {
			/* Nobody sent the oldest event yet; if a later one has
			 * expired, this one is older still: skip it. */
			uint64_t e = b->base + 1;
			while (e < b->base + b->w && b->slot[e % b->w].state == SLOT_FREE)
				e++;
			if (e == b->base + b->w || now - b->slot[e % b->w].first_ns < b->timeout_ns)
				break;
		} else if (now - sl->first_ns >= b->timeout_ns) {
			build_emit(b, sl);
		} else {
			break;
		}
		b->base++;
		build_advance(b, now);
	}
}

/* The next connection of loop l that was resumed, or NULL. */
static struct conn *build_next_resumed(struct build *b, const struct loop *l)
{
	struct conn *c = NULL;

	build_lock(b);
	for (unsigned k = 0; k < b->nreplay; k++) {
		if (b->replay[k]->loop == l) {
			c = b->replay[k];
			b->replay[k] = b->replay[--b->nreplay];
			break;
		}
	}
	build_unlock(b);
	return c;
}

void build_sweep(struct loop *l)
{
	struct build *b = l->s->build;
	struct conn *c;

	if (!b)
		return;
	build_lock(b);
	build_expire(b, now_ns());
	build_unlock(b);
	/* This loop's resumed connections: first the bytes read beyond the
	 * pause, then the backend reads again (and delivers what it had
	 * taken meanwhile, e.g. uring's buffers) - unless those bytes
	 * paused it again. */
	while ((c = build_next_resumed(b, l)) != NULL) {
		if (build_replay(c) == CONN_END)
			server_close(c);
		else if (!build_held(c))
			conn_resume(c);
	}
}

int build_wait_ms(struct server *s, int ms)
{
	struct build *b = s->build;

	if (!b)
		return ms;
	build_lock(b);
	/* Resumed on another loop that cannot be woken (--spread reuseport):
	 * look again soon rather than a tick later. */
	if (b->nreplay && ms > 1)
		ms = 1;
	if (b->timeout_ns && b->inflight) {
		const struct build_slot *sl = &b->slot[b->base % b->w];
		if (sl->state != SLOT_FREE) {
			uint64_t due = sl->first_ns + b->timeout_ns, now = now_ns();
			uint64_t left = due > now ? (due - now + 999999) / 1000000 : 0;
			if (left < (uint64_t)ms)
				ms = (int)left;
		}
	}
	build_unlock(b);
	return ms;
}

/* ---- set-up and the end ------------------------------------------------- */

int build_open(struct server *s)
{
	struct build *b;
	unsigned n = s->opt.sources, w = s->opt.build_window;

	if (n < 1) {
		msg("--build: give --sources N (N >= 1): an event is complete with N fragments");
		return -1;
	}
	b = calloc(1, sizeof(*b));
	if (!b)
		goto nomem;
	s->build = b;
	b->n = n;
	b->w = w;
	b->words = (n + 63) / 64;
	b->fd = -1;
	b->per_conn = backend_has(s->be, BE_THREAD_PER_CONN);
	b->mt = b->per_conn || s->opt.loops > 1;
	b->timeout_ns = (uint64_t)(s->opt.build_timeout_ms * 1e6);
	pthread_mutex_init(&b->lock, NULL);
	pthread_cond_init(&b->resumed, NULL);
	pthread_mutex_init(&b->wlock, NULL);
	pthread_cond_init(&b->wcond, NULL);
	b->slot = calloc(w, sizeof(*b->slot));
	b->bits = calloc((size_t)w * b->words, sizeof(*b->bits));
	b->src = calloc(n, sizeof(*b->src));
	b->order = calloc(n, sizeof(*b->order));
	b->replay = calloc(n, sizeof(*b->replay));
	if (!b->slot || !b->bits || !b->src || !b->order || !b->replay || hist_init(&b->lat) < 0)
		goto nomem;
	if (s->opt.write) {
		b->frag = calloc((size_t)w * n, sizeof(*b->frag));
		if (!b->frag)
			goto nomem;
		for (unsigned i = 0; i < BUILD_OUT_BUFS; i++)
			if (!(b->wbuf[i] = malloc(BUILD_OUT_SIZE)))
				goto nomem;
		b->out = b->wbuf[0];
		b->writing = 1;
		if (strcmp(s->opt.write, "-") == 0) {
			b->fd = STDOUT_FILENO;
		} else {
			b->fd = open(s->opt.write, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
			if (b->fd < 0) {
				msg("--write %s: %s", s->opt.write, strerror(errno));
				return -1;
			}
			b->own_fd = 1;
		}
		int err = pthread_create(&b->writer, NULL, build_writer, b);
		if (err) {
			msg("--write: cannot start the writer thread: %s", strerror(err));
			return -1;
		}
		b->writer_started = 1;
	}
	return 0;
nomem:
	msg("out of memory for --build-window %u x --sources %u", w, n);
	return -1;
}

/* Write what is left, then let the writer end. */
static void build_writer_stop(struct build *b)
{
	if (!b->writer_started)
		return;
	build_flush(b);
	pthread_mutex_lock(&b->wlock);
	b->wclosing = 1;
	pthread_cond_broadcast(&b->wcond);
	pthread_mutex_unlock(&b->wlock);
	pthread_join(b->writer, NULL);
	b->writer_started = 0;
}

int build_finish(struct server *s)
{
	struct build *b = s->build;
	uint64_t now = now_ns();

	if (!b)
		return 0;
	/* The run is over: what is in flight now is as complete as it gets. */
	while (b->inflight) {
		struct build_slot *sl = &b->slot[b->base % b->w];
		if (sl->state != SLOT_FREE)
			build_emit(b, sl);
		b->base++;
	}
	for (unsigned i = 0; i < b->nsrc; i++)
		if (b->src[i].paused) {
			b->src[i].paused_ns += now > b->src[i].paused_since ?
					       now - b->src[i].paused_since : 0;
			b->src[i].paused = NULL;
		}
	b->npaused = 0;
	b->nreplay = 0;
	build_writer_stop(b);
	if (b->own_fd && close(b->fd) < 0 && !b->write_failed) {
		msg("--write %s: %s", s->opt.write, strerror(errno));
		b->write_failed = 1;
	}
	b->own_fd = 0;
	return b->write_failed ? -1 : 0;
}

void build_free(struct server *s)
{
	struct build *b = s->build;

	if (!b)
		return;
	build_writer_stop(b);      /* set-up failed after it started */
	if (b->own_fd)
		(void)close(b->fd);
	for (size_t i = 0; b->frag && i < (size_t)b->w * b->n; i++)
		free(b->frag[i].p);
	free(b->frag);
	for (unsigned i = 0; i < BUILD_OUT_BUFS; i++)
		free(b->wbuf[i]);
	free(b->slot);
	free(b->bits);
	free(b->src);
	free(b->order);
	free(b->replay);
	hist_free(&b->lat);
	pthread_mutex_destroy(&b->lock);
	pthread_cond_destroy(&b->resumed);
	pthread_mutex_destroy(&b->wlock);
	pthread_cond_destroy(&b->wcond);
	free(b);
	s->build = NULL;
}

/* ---- the summary ---------------------------------------------------------- */

static const char *build_fmt_ns(char *buf, size_t len, uint64_t ns)
{
	if (ns < 1000)
		snprintf(buf, len, "%luns", (unsigned long)ns);
	else if (ns < 1000000)
		snprintf(buf, len, "%.3gus", (double)ns / 1e3);
	else if (ns < 1000000000)
		snprintf(buf, len, "%.3gms", (double)ns / 1e6);
	else
		snprintf(buf, len, "%.3gs", (double)ns / 1e9);
	return buf;
}

void build_report(FILE *f, struct server *s)
{
	struct build *b = s->build;
	char p50[16], p99[16], mx[16], to[32];

	if (!b)
		return;
	if (b->timeout_ns)
		snprintf(to, sizeof(to), "%.0f ms", (double)b->timeout_ns / 1e6);
	else
		snprintf(to, sizeof(to), "none");
	fprintf(f, "event building (window %u, timeout %s): %lu complete, %lu partial; "
		"building latency p50 %s p99 %s max %s\n", b->w, to,
		(unsigned long)b->complete, (unsigned long)b->partial,
		build_fmt_ns(p50, sizeof(p50), hist_percentile(&b->lat, 50)),
		build_fmt_ns(p99, sizeof(p99), hist_percentile(&b->lat, 99)),
		build_fmt_ns(mx, sizeof(mx), b->lat.n ? b->lat.max : 0));
	fprintf(f, "  held max %.2f MiB in the ring + %.2f MiB read while paused; %lu late, "
		"%lu duplicate fragments; %lu buffer allocations",
		(double)b->held_max / 1048576, (double)b->kept_max / 1048576,
		(unsigned long)b->late, (unsigned long)b->dups, (unsigned long)b->allocs);
	if (b->mt)
		fprintf(f, "; lock waited %lu of %lu times, %.3f ms in all",
			(unsigned long)b->lock_contended, (unsigned long)b->lock_n,
			(double)b->lock_wait_ns / 1e6);
	if (s->opt.write)
		fprintf(f, "; %.2f MB written", (double)b->written / 1e6);
	if (b->partial) {
		unsigned m = b->noted[0].nmissing;
		fprintf(f, "\n  first partial event %lu, missing %u source%s:",
			(unsigned long)b->noted[0].event, m, m == 1 ? "" : "s");
		for (unsigned k = 0; k < b->noted[0].nids; k++)
			fprintf(f, " %u", b->noted[0].ids[k]);
		if (m > b->noted[0].nids)
			fprintf(f, " (+%u %s)", m - b->noted[0].nids,
				b->nsrc < b->n ? "never seen, or more" : "more");
	}
	fprintf(f, "\n  %8s %10s %10s %10s\n", "source", "last", "missing", "paused");
	for (unsigned k = 0; k < b->nsrc && k < 64; k++) {
		const struct build_src *r = &b->src[b->order[k]];
		fprintf(f, "  %8u %10lu %10lu %9.3fs\n", r->id, (unsigned long)r->last_count,
			(unsigned long)r->missing, (double)r->paused_ns / 1e9);
	}
}

void build_json(struct jw *w, struct server *s)
{
	struct build *b = s->build;

	if (!b)
		return;
	jw_obj_begin(w, "build");
	jw_u64(w, "window", b->w);
	jw_num(w, "timeout_ms", (double)b->timeout_ns / 1e6);
	jw_u64(w, "events_complete", b->complete);
	jw_u64(w, "events_partial", b->partial);
	jw_obj_begin(w, "latency_ns");
	jw_u64(w, "count", b->lat.n);
	jw_u64(w, "p50", hist_percentile(&b->lat, 50));
	jw_u64(w, "p90", hist_percentile(&b->lat, 90));
	jw_u64(w, "p99", hist_percentile(&b->lat, 99));
	jw_u64(w, "p999", hist_percentile(&b->lat, 99.9));
	jw_u64(w, "max", b->lat.n ? b->lat.max : 0);
	jw_obj_end(w);
	jw_u64(w, "held_bytes_max", b->held_max);
	jw_u64(w, "kept_bytes_max", b->kept_max);
	jw_u64(w, "fragments_late", b->late);
	jw_u64(w, "fragments_duplicate", b->dups);
	jw_u64(w, "buffer_allocs", b->allocs);
	jw_u64(w, "written_bytes", b->written);
	jw_obj_begin(w, "lock");
	jw_bool(w, "used", b->mt);
	jw_u64(w, "acquired", b->lock_n);
	jw_u64(w, "contended", b->lock_contended);
	jw_u64(w, "wait_ns", b->lock_wait_ns);
	jw_obj_end(w);
	/* The first partial events and the sources they missed: the ids of
	 * those seen, at most BUILD_NOTED_IDS; missing_count counts also
	 * the sources that never connected. */
	jw_arr_begin(w, "partial_first");
	for (unsigned e = 0; e < b->partial && e < BUILD_NOTED; e++) {
		jw_obj_begin(w, NULL);
		jw_u64(w, "event", b->noted[e].event);
		jw_u64(w, "missing_count", b->noted[e].nmissing);
		jw_arr_begin(w, "missing");
		for (unsigned k = 0; k < b->noted[e].nids; k++)
			jw_u64(w, NULL, b->noted[e].ids[k]);
		jw_arr_end(w);
		jw_obj_end(w);
	}
	jw_arr_end(w);
	jw_arr_begin(w, "sources");
	for (unsigned k = 0; k < b->nsrc; k++) {
		const struct build_src *r = &b->src[b->order[k]];
		jw_obj_begin(w, NULL);
		jw_u64(w, "id", r->id);
		jw_u64(w, "last_count", r->last_count);
		jw_u64(w, "paused_ns", r->paused_ns);
		jw_u64(w, "missing", r->missing);
		jw_obj_end(w);
	}
	jw_arr_end(w);
	jw_obj_end(w);
}
