/*
 * events.c - `--events` (a line per wait and per read) and `-i` (a line
 * per interval): the slow paths behind the ev_* macros of events.h.
 *
 * Only reached when one of the options is on. Counting is atomic (loops
 * and reader threads share one struct events); what a thread is in the
 * middle of saying - a wait's list of ready descriptors, a read whose
 * frames conn_input is still counting - is kept per thread, so a line is
 * always written whole, under one lock, and flushed at once so that a
 * reader watching the terminal sees the stall while it happens.
 */
#include "events.h"

#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "hist.h"
#include "server.h"
#include "util.h"

#define EV_LINE      512
#define EV_READY_MAX 8      /* ready descriptors named on a wait's line */

enum ev_kind { EV_K_WAIT, EV_K_READ, EV_K_OTHER, EV_K_N };

struct events {
	struct server *s;
	int print;                  /* --events */
	uint64_t max_lines;         /* 0 = no limit */
	uint64_t lines;             /* lines asked for (atomic) */
	uint64_t unshown[EV_K_N];   /* beyond --events-max, by kind (atomic) */
	pthread_mutex_t lock;       /* one line at a time; the intervals */

	/* -i: the counts of the interval under way (atomic) */
	uint64_t period_ns;         /* 0 = no -i */
	uint64_t next_ns;           /* when it ends (atomic) */
	uint64_t frames, bytes, waits, eagain;
	uint64_t *lat;              /* HIST_BUCKETS latency counts */
	uint64_t *snap;             /* the ended interval's, under lock */
	struct ev_interval *iv;     /* every ended interval, under lock */
	size_t niv, cap;
};

/* What a thread is in the middle of saying. Allocated by the thread's
 * first event and freed when it ends (a thread key, not a __thread
 * variable: static TLS would cost every reader thread of the threads
 * backend a kilobyte of touched memory even with --events off). */
struct ev_tls {
	struct events *ev;          /* whose (a test process may run several) */
	char   wait[EV_LINE];       /* a wait's line, collecting ready fds */
	size_t wlen;
	int    wpending, wlisted;
	unsigned loop;              /* the loop it serves */
	struct conn *rc;            /* a read whose bytes are being framed */
	char   read[EV_LINE];
	uint64_t rframes;           /* rc->nframes before them */
	char   rcall[128];          /* its call, "read" or "cqe recv, buffer 3" */
	long   rn;                  /* its bytes */
	uint64_t rblocked;          /* how long it slept first, 0 = not */
	struct conn *bc;            /* blocked in a read of bc ... */
	uint64_t block_ns;          /* ... since then */
	uint64_t call_ns;           /* when that read() call began */
};

static pthread_key_t ev_key;
static pthread_once_t ev_key_once = PTHREAD_ONCE_INIT;
static struct ev_tls ev_sink;      /* for a thread that could not get its own */

static void ev_key_make(void)
{
	if (pthread_key_create(&ev_key, free) != 0)
		msg("--events: no thread key; lines may mix (pthread_key_create failed)");
}

/* This thread's state. Out of memory, it shares ev_sink, and only its
 * lines may come out garbled: the counts stay exact. */
static struct ev_tls *ev_tls(void)
{
	struct ev_tls *t = pthread_getspecific(ev_key);

	if (t)
		return t;
	t = calloc(1, sizeof(*t));
	if (!t || pthread_setspecific(ev_key, t) != 0) {
		free(t);
		return &ev_sink;
	}
	return t;
}

#define ev_t (*ev_tls())

/* 48000 -> "48,000": the FIONREAD figures are read aloud in a lecture. */
static const char *ev_count(char *buf, size_t len, uint64_t v)
{
	char tmp[32];
	int n = snprintf(tmp, sizeof(tmp), "%lu", (unsigned long)v), o = 0;

	for (int i = 0; i < n && (size_t)o + 2 < len; i++) {
		if (i && (n - i) % 3 == 0)
			buf[o++] = ',';
		buf[o++] = tmp[i];
	}
	buf[o] = '\0';
	return buf;
}

/* "0.250 s", "100 ms", "35 us": how long a read or a stall took. */
static const char *ev_dur(char *buf, size_t len, uint64_t ns)
{
	if (ns >= 1000000000u)
		snprintf(buf, len, "%.3f s", (double)ns / 1e9);
	else if (ns >= 1000000u)
		snprintf(buf, len, "%.0f ms", (double)ns / 1e6);
	else
		snprintf(buf, len, "%.0f us", (double)ns / 1e3);
	return buf;
}

/* "fd 5, src 1" or "fd 5, src ?" before the first frame has named it. */
static const char *ev_who(const struct conn *c, char *buf, size_t len)
{
	if (c->src->have_id)
		snprintf(buf, len, "fd %d, src %u", c->fd, c->src->id);
	else
		snprintf(buf, len, "fd %d, src ?", c->fd);
	return buf;
}

/* --events-max reached: count the line as not shown, and say so, so that
 * the caller skips formatting it (what a long run does after the first
 * few hundred lines). */
static int ev_full(struct events *ev, enum ev_kind kind)
{
	if (!ev->max_lines || __atomic_load_n(&ev->lines, __ATOMIC_RELAXED) < ev->max_lines)
		return 0;
	__atomic_add_fetch(&ev->lines, 1, __ATOMIC_RELAXED);
	__atomic_add_fetch(&ev->unshown[kind], 1, __ATOMIC_RELAXED);
	return 1;
}

static void ev_emit(struct events *ev, enum ev_kind kind, const char *text)
{
	struct server *s = ev->s;
	char who[32] = "";
	uint64_t k;

	if (!ev->print)
		return;
	k = __atomic_fetch_add(&ev->lines, 1, __ATOMIC_RELAXED);
	if (ev->max_lines && k >= ev->max_lines) {
		__atomic_add_fetch(&ev->unshown[kind], 1, __ATOMIC_RELAXED);
		return;
	}
	/* Several threads: say whose line it is. gettid() is a system call,
	 * made only here, with --events on. */
	if (backend_has(s->be, BE_THREAD_PER_CONN))
		snprintf(who, sizeof(who), "thread %d  ", (int)gettid());
	else if (s->nloops > 1)
		snprintf(who, sizeof(who), "loop %u  ", ev_t.loop);
	pthread_mutex_lock(&ev->lock);
	printf("%11.6f  %s%s\n", (double)(now_ns() - s->start_ns) / 1e9, who, text);
	fflush(stdout);
	pthread_mutex_unlock(&ev->lock);
}

/* A wait's line waits for its list of ready descriptors; anything else
 * this thread says next ends it. */
static void ev_flush_wait(void)
{
	if (ev_t.wpending) {
		ev_t.wpending = 0;
		ev_emit(ev_t.ev, EV_K_WAIT, ev_t.wait);
	}
}

/* A read whose frames were never counted (its connection ended in
 * between): say what is known. */
static void ev_flush_read(void)
{
	if (ev_t.rc) {
		ev_t.rc = NULL;
		ev_emit(ev_t.ev, EV_K_READ, ev_t.read);
	}
}

/* Start saying something for l's server: finish what this thread was
 * saying. */
static struct events *ev_begin(struct loop *l)
{
	if (ev_t.ev != l->s->ev) {
		memset(&ev_t, 0, sizeof(ev_t));
		ev_t.ev = l->s->ev;
	}
	ev_t.loop = l->id;
	ev_flush_wait();
	ev_flush_read();
	return l->s->ev;
}

void ev_wait_line(struct loop *l, int n, int err, const char *fmt, ...)
{
	struct events *ev = ev_begin(l);
	va_list ap;
	int len;

	if (ev->period_ns)
		__atomic_add_fetch(&ev->waits, 1, __ATOMIC_RELAXED);
	if (!ev->print || ev_full(ev, EV_K_WAIT))
		return;
	va_start(ap, fmt);
	len = vsnprintf(ev_t.wait, sizeof(ev_t.wait), fmt, ap);
	va_end(ap);
	if (len < 0 || (size_t)len >= sizeof(ev_t.wait))
		len = (int)strlen(ev_t.wait);
	if (strstr(ev_t.wait, " -> "))
		;   /* the backend said what came back, in its own words */
	else if (n > 0)
		snprintf(ev_t.wait + len, sizeof(ev_t.wait) - (size_t)len, " -> %d ready", n);
	else if (n == 0)
		snprintf(ev_t.wait + len, sizeof(ev_t.wait) - (size_t)len, " -> 0 (timeout)");
	else
		snprintf(ev_t.wait + len, sizeof(ev_t.wait) - (size_t)len, " -> %s",
			 err == EINTR ? "EINTR (a signal)" : strerror(err));
	ev_t.wlen = strlen(ev_t.wait);
	ev_t.wlisted = 0;
	ev_t.wpending = 1;
}

void ev_ready_add(struct loop *l, struct conn *c)
{
	const char *sep = ev_t.wlisted ? ", " : ": ";

	if (!l->s->ev->print || !ev_t.wpending || ev_t.ev != l->s->ev)
		return;
	if (ev_t.wlisted == EV_READY_MAX) {
		snprintf(ev_t.wait + ev_t.wlen, sizeof(ev_t.wait) - ev_t.wlen, ", ...");
	} else if (ev_t.wlisted < EV_READY_MAX) {
		if (!c)
			snprintf(ev_t.wait + ev_t.wlen, sizeof(ev_t.wait) - ev_t.wlen, "%slistener", sep);
		else if (c->src->have_id)
			snprintf(ev_t.wait + ev_t.wlen, sizeof(ev_t.wait) - ev_t.wlen,
				 "%sfd %d (src %u)", sep, c->fd, c->src->id);
		else
			snprintf(ev_t.wait + ev_t.wlen, sizeof(ev_t.wait) - ev_t.wlen,
				 "%sfd %d (src ?)", sep, c->fd);
	}
	ev_t.wlisted++;
	ev_t.wlen = strlen(ev_t.wait);
}

void ev_seen_line(struct loop *l, struct conn *c, int *waited, const char *what, int ms)
{
	if (!*waited) {
		ev_wait_line(l, 1, 0, "%s(timeout %d ms) -> ready", what, ms);
		*waited = 1;
	}
	ev_ready_add(l, c);
}

/* ", while src 1 has 4,800 bytes waiting, src 2 has 96" - the other
 * sockets of c's loop with bytes the kernel holds for us. Not for
 * thread-per-connection backends: their records belong to other
 * threads, and none of them waits behind this read anyway. */
static void ev_others(const struct conn *c, char *buf, size_t len)
{
	const struct server *s = c->loop->s;
	size_t o = strlen(buf);
	int listed = 0;

	if (backend_has(s->be, BE_THREAD_PER_CONN))
		return;
	for (const struct conn *x = c->loop->live; x && o + 64 < len; x = x->next) {
		char n1[32];
		int avail = 0;
		if (x == c || x->fd < 0 || ioctl(x->fd, FIONREAD, &avail) < 0 || avail <= 0)
			continue;
		if (listed++ == EV_READY_MAX) {
			snprintf(buf + o, len - o, ", ...");
			break;
		}
		if (x->src->have_id)
			snprintf(buf + o, len - o, "%s src %u has %s bytes", listed == 1 ? " while" : ",",
				 x->src->id, ev_count(n1, sizeof(n1), (uint64_t)avail));
		else
			snprintf(buf + o, len - o, "%s fd %d has %s bytes", listed == 1 ? " while" : ",",
				 x->fd, ev_count(n1, sizeof(n1), (uint64_t)avail));
		o = strlen(buf);
	}
	if (listed)
		snprintf(buf + o, len - o, " waiting");
}

void ev_block_line(struct conn *c)
{
	struct events *ev = ev_begin(c->loop);
	char line[EV_LINE], who[32];
	int avail = 0;

	if (!ev->print || (ev->max_lines && __atomic_load_n(&ev->lines, __ATOMIC_RELAXED) >=
					    ev->max_lines))
		return;
	ev_t.call_ns = now_ns();
	if (ioctl(c->fd, FIONREAD, &avail) == 0 && avail > 0)
		return;             /* bytes are there: this read will not sleep */
	if (ev_t.bc == c)
		return;             /* said already; the tick's EAGAIN line says more */
	ev_t.bc = c;
	ev_t.block_ns = ev_t.call_ns;
	snprintf(line, sizeof(line), "read(%s) blocking...", ev_who(c, who, sizeof(who)));
	ev_others(c, line, sizeof(line));
	ev_emit(ev, EV_K_READ, line);
}

/* "read(fd 5, src 1) -> ", or "cqe recv(fd 7, src 1, buffer 3) -> " for
 * the call "cqe recv, buffer 3". */
static void ev_read_head(char *line, size_t len, const char *call, const struct conn *c)
{
	char who[32];
	const char *extra = strstr(call, ", ");
	int head = extra ? (int)(extra - call) : (int)strlen(call);

	snprintf(line, len, "%.*s(%s%s%s) -> ", head, call, ev_who(c, who, sizeof(who)),
		 extra ? ", " : "", extra ? extra + 2 : "");
}

/* "4,096 bytes", " after 1.002 s blocked" */
static void ev_read_bytes(char *line, size_t len, long n, uint64_t blocked)
{
	char nb[32], d[32];
	size_t o = strlen(line);

	snprintf(line + o, len - o, "%s bytes", ev_count(nb, sizeof(nb), (uint64_t)n));
	o = strlen(line);
	if (blocked)
		snprintf(line + o, len - o, " after %s blocked", ev_dur(d, sizeof(d), blocked));
}

void ev_read_line(struct conn *c, long n, int err, const char *fmt, ...)
{
	struct events *ev = ev_begin(c->loop);
	char line[EV_LINE], d1[32], d2[32];
	uint64_t now, blocked = 0;
	size_t o;
	va_list ap;

	if (ev->period_ns && n < 0 && (err == EAGAIN || err == EWOULDBLOCK))
		__atomic_add_fetch(&ev->eagain, 1, __ATOMIC_RELAXED);
	if (!ev->print || ev_full(ev, EV_K_READ)) {
		ev_t.bc = NULL;
		return;
	}
	now = now_ns();
	if (ev_t.bc == c)
		blocked = now - ev_t.block_ns;
	char call[128];
	va_start(ap, fmt);
	vsnprintf(call, sizeof(call), fmt, ap);
	va_end(ap);
	ev_read_head(line, sizeof(line), call, c);
	o = strlen(line);
	if (n > 0) {
		ev_read_bytes(line, sizeof(line), n, blocked);
		ev_t.bc = NULL;
		/* conn_input frames them next; ev_input_done writes the line
		 * then, naming the source if these bytes named it. */
		memcpy(ev_t.read, line, sizeof(line));
		memcpy(ev_t.rcall, call, sizeof(call));
		ev_t.rn = n;
		ev_t.rblocked = blocked;
		ev_t.rc = c;
		ev_t.rframes = c->nframes;
		return;
	}
	if (n == 0) {
		snprintf(line + o, sizeof(line) - o, "0: EOF, the peer closed");
		ev_t.bc = NULL;
	} else if ((err == EAGAIN || err == EWOULDBLOCK) && blocked) {
		/* A blocking socket with SO_RCVTIMEO: the timeout, not data. */
		snprintf(line + o, sizeof(line) - o,
			 "EAGAIN after %s: the SO_RCVTIMEO tick, blocked %s so far; the same source again",
			 ev_dur(d1, sizeof(d1), now - ev_t.call_ns), ev_dur(d2, sizeof(d2), blocked));
		ev_others(c, line, sizeof(line));
	} else if (err == EAGAIN || err == EWOULDBLOCK) {
		snprintf(line + o, sizeof(line) - o, "EAGAIN (drained)");
	} else if (err == EINTR) {
		snprintf(line + o, sizeof(line) - o, "EINTR (a signal)");
	} else {
		snprintf(line + o, sizeof(line) - o, "%s", strerror(err));
		ev_t.bc = NULL;
	}
	ev_emit(ev, EV_K_READ, line);
}

void ev_input_done(struct conn *c)
{
	char *line = ev_t.read;
	const size_t len = sizeof(ev_t.read);
	size_t o;
	uint64_t frames;

	if (ev_t.rc != c || ev_t.ev != c->loop->s->ev)
		return;
	ev_t.rc = NULL;
	frames = c->nframes - ev_t.rframes;
	ev_read_head(line, len, ev_t.rcall, c);
	ev_read_bytes(line, len, ev_t.rn, ev_t.rblocked);
	o = strlen(line);
	if (frames || !frame_partial(&c->fp))
		snprintf(line + o, len - o, " = %lu frame%s", (unsigned long)frames,
			 frames == 1 ? "" : "s");
	else
		snprintf(line + o, len - o, " = part of a frame");
	o = strlen(line);
	if (frame_partial(&c->fp) && frames) {
		if (c->fp.have < PROTO_HEADER_SIZE)
			snprintf(line + o, len - o, " + %u bytes of a header", c->fp.have);
		else
			snprintf(line + o, len - o, " + a header and part of its payload "
				 "(%u bytes to come)", c->fp.left);
	}
	ev_emit(c->loop->s->ev, EV_K_READ, line);
}

void ev_note_line(struct loop *l, const char *fmt, ...)
{
	struct events *ev = ev_begin(l);
	char line[EV_LINE];
	va_list ap;

	if (!ev->print || ev_full(ev, EV_K_OTHER))
		return;
	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	ev_emit(ev, EV_K_OTHER, line);
}

/* ---- -i: intervals ---------------------------------------------------------- */

void ev_frame(struct server *s, uint64_t bytes, uint64_t lat_ns)
{
	struct events *ev = s->ev;

	if (!ev->period_ns)
		return;
	__atomic_add_fetch(&ev->frames, 1, __ATOMIC_RELAXED);
	__atomic_add_fetch(&ev->bytes, bytes, __ATOMIC_RELAXED);
	if (lat_ns != UINT64_MAX)
		__atomic_add_fetch(&ev->lat[hist_index(lat_ns)], 1, __ATOMIC_RELAXED);
}

/* The interval that ended at end_ns, dur_ns long: take its counts (what
 * arrives meanwhile goes to the next one, so the intervals add up to the
 * totals exactly), keep it, print it. Under ev->lock. */
static void ev_interval_end(struct events *ev, uint64_t end_ns, uint64_t dur_ns)
{
	struct server *s = ev->s;
	struct ev_interval iv = {
		.t_s = (double)(end_ns - s->start_ns) / 1e9,
		.dur_s = (double)dur_ns / 1e9,
	};
	/* A histogram over the flat snapshot: every block present. */
	uint64_t *blk[HIST_BLOCKS];
	struct hist h = { .blk = blk };

	for (unsigned b = 0; b < HIST_BLOCKS; b++)
		blk[b] = ev->snap + (size_t)b * HIST_SUB;

	iv.frames = __atomic_exchange_n(&ev->frames, 0, __ATOMIC_RELAXED);
	iv.bytes = __atomic_exchange_n(&ev->bytes, 0, __ATOMIC_RELAXED);
	iv.waits = __atomic_exchange_n(&ev->waits, 0, __ATOMIC_RELAXED);
	iv.eagain = __atomic_exchange_n(&ev->eagain, 0, __ATOMIC_RELAXED);
	for (unsigned i = 0; i < HIST_BUCKETS; i++) {
		ev->snap[i] = __atomic_exchange_n(&ev->lat[i], 0, __ATOMIC_RELAXED);
		h.n += ev->snap[i];
		if (ev->snap[i])
			h.max = hist_bucket_high(i);
	}
	iv.p99_ns = hist_percentile(&h, 99);

	if (ev->niv == ev->cap) {
		size_t cap = ev->cap ? 2 * ev->cap : 64;
		struct ev_interval *v = realloc(ev->iv, cap * sizeof(*v));
		if (v) {
			ev->iv = v;
			ev->cap = cap;
		}
	}
	if (ev->niv < ev->cap)
		ev->iv[ev->niv++] = iv;
	else if (ev->niv == ev->cap)
		msg("-i: out of memory; the JSON lacks the intervals after %.1f s", iv.t_s);

	if (ev->niv == 1)
		printf("%-15s %10s %9s %10s %9s %9s\n", "interval", "frames", "MB/s", "p99 ms",
		       "waits", "EAGAIN");
	char span[32];
	snprintf(span, sizeof(span), "%.2f-%.2f s", iv.t_s - iv.dur_s, iv.t_s);
	printf("%-15s %10lu %9.3f %10.3f %9lu %9lu\n", span, (unsigned long)iv.frames,
	       iv.dur_s > 0 ? (double)iv.bytes / 1e6 / iv.dur_s : 0, (double)iv.p99_ns / 1e6,
	       (unsigned long)iv.waits, (unsigned long)iv.eagain);
	fflush(stdout);
}

void ev_tick(struct server *s)
{
	struct events *ev = s->ev;
	uint64_t next;

	if (!ev->period_ns)
		return;
	next = __atomic_load_n(&ev->next_ns, __ATOMIC_RELAXED);
	if (now_ns() < next)
		return;
	/* Whichever thread moves the end on writes the interval. */
	if (!__atomic_compare_exchange_n(&ev->next_ns, &next, next + ev->period_ns, 0,
					 __ATOMIC_RELAXED, __ATOMIC_RELAXED))
		return;
	pthread_mutex_lock(&ev->lock);
	ev_interval_end(ev, next, ev->period_ns);
	pthread_mutex_unlock(&ev->lock);
}

int ev_wait_ms(struct server *s)
{
	struct events *ev = s->ev;
	uint64_t next, now;

	if (!ev->period_ns)
		return INT_MAX;
	next = __atomic_load_n(&ev->next_ns, __ATOMIC_RELAXED);
	now = now_ns();
	return next > now ? (int)((next - now + 999999) / 1000000) : 0;
}

/* ---- set-up and the end ------------------------------------------------------ */

int ev_init(struct server *s)
{
	struct events *ev;

	if (!s->opt.events && s->opt.interval <= 0)
		return 0;
	ev = calloc(1, sizeof(*ev));
	if (!ev)
		goto nomem;
	(void)pthread_once(&ev_key_once, ev_key_make);
	ev->s = s;
	ev->print = s->opt.events;
	ev->max_lines = s->opt.events_max;
	pthread_mutex_init(&ev->lock, NULL);
	if (s->opt.interval > 0) {
		ev->period_ns = (uint64_t)(s->opt.interval * 1e9);
		if (!ev->period_ns)
			ev->period_ns = 1;
		ev->next_ns = s->start_ns + ev->period_ns;
		ev->lat = calloc(HIST_BUCKETS, sizeof(*ev->lat));
		ev->snap = calloc(HIST_BUCKETS, sizeof(*ev->snap));
		if (!ev->lat || !ev->snap) {
			s->ev = ev;
			ev_free(s);
			goto nomem;
		}
	}
	s->ev = ev;
	return 0;
nomem:
	msg("out of memory for --events / -i");
	return -1;
}

void ev_finish(struct server *s)
{
	struct events *ev = s->ev;
	uint64_t now = now_ns(), start, shown, more = 0;

	if (!ev)
		return;
	if (ev_t.ev == ev) {
		ev_flush_wait();
		ev_flush_read();
		ev_t.ev = NULL;
	}
	if (ev->period_ns) {
		/* Whole intervals the last ticks missed, then the part of one
		 * that was under way. The loops have stopped: no CAS needed. */
		pthread_mutex_lock(&ev->lock);
		while (now >= ev->next_ns) {
			ev_interval_end(ev, ev->next_ns, ev->period_ns);
			ev->next_ns += ev->period_ns;
		}
		start = ev->next_ns - ev->period_ns;
		if (now > start)
			ev_interval_end(ev, now, now - start);
		pthread_mutex_unlock(&ev->lock);
	}
	if (!ev->print)
		return;
	for (int k = 0; k < EV_K_N; k++)
		more += ev->unshown[k];
	shown = ev->lines - more;
	char a[32], b[32], c[32], d[32], e[32];
	if (more)
		printf("--events: %s lines shown, %s more not (%s waits, %s reads, %s other): "
		       "raise --events-max to see them\n", ev_count(a, sizeof(a), shown),
		       ev_count(b, sizeof(b), more), ev_count(c, sizeof(c), ev->unshown[EV_K_WAIT]),
		       ev_count(d, sizeof(d), ev->unshown[EV_K_READ]),
		       ev_count(e, sizeof(e), ev->unshown[EV_K_OTHER]));
	else
		printf("--events: all %s lines shown\n", ev_count(a, sizeof(a), shown));
	fflush(stdout);
}

const struct ev_interval *ev_intervals(const struct server *s, size_t *n)
{
	*n = s->ev ? s->ev->niv : 0;
	return s->ev ? s->ev->iv : NULL;
}

void ev_free(struct server *s)
{
	struct events *ev = s->ev;

	if (!ev)
		return;
	pthread_mutex_destroy(&ev->lock);
	free(ev->lat);
	free(ev->snap);
	free(ev->iv);
	free(ev);
	s->ev = NULL;
}
