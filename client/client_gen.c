/*
 * client_gen.c - what the client writes: frames, faults, and the
 * accounting of what actually left.
 *
 * Nothing here allocates per frame. Every payload is a window of one
 * pseudo-random pattern, at an offset drawn from (source, sequence), with
 * the source id and the sequence number XORed into its first 12 bytes:
 * no two frames carry the same bytes, so a server that handed over stale
 * bytes of another frame of the same length would fail the CRC. A frame
 * is a 32-byte header, a memcpy and a CRC-32C of the payload (with
 * SSE4.2 about as fast as the copy). Frames are encoded into the source's
 * output buffer; the event loop (client_loop.c) writes the buffer and
 * client_account() walks the headers that went out whole, which is where
 * frames are counted and how far behind schedule they were is measured.
 * Try it: bin/daqmux client --sources 2 --size 16-4K --count 100 --json -
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "client_int.h"
#include "crc32c.h"

/* ---- payload sizes and bytes ---- */

/* Offsets a payload window may start at: the pattern is this much longer
 * than the largest payload. */
#define CLIENT_PAYLOAD_SHIFTS 4096u

/* The payload of frame seq of source s, written to dst; returns its CRC. */
static uint32_t client_payload(const struct client_gen *g, const struct client_src *s,
			       uint64_t seq, uint8_t *dst, uint32_t len)
{
	uint64_t mix = client_mix(s->key ^ (seq * CLIENT_GOLDEN + 0x632BE59BD9B4E019ull));
	uint8_t stamp[12];

	memcpy(dst, g->pattern + mix % CLIENT_PAYLOAD_SHIFTS, len);
	for (unsigned i = 0; i < 4; i++)
		stamp[i] = (uint8_t)(s->id >> (24 - 8 * i));
	for (unsigned i = 0; i < 8; i++)
		stamp[4 + i] = (uint8_t)(seq >> (56 - 8 * i));
	for (uint32_t i = 0; i < len && i < sizeof(stamp); i++)
		dst[i] ^= stamp[i];
	return crc32c(0, dst, len);
}

static inline uint32_t client_size(const struct client_gen *g, const struct client_src *s,
				   uint64_t seq)
{
	const struct client_opts *o = g->o;
	if (o->big_every && seq % o->big_every == o->big_every - 1)
		return o->big_bytes;
	if (o->size_min == o->size_max)
		return o->size_min;
	uint64_t span = (uint64_t)o->size_max - o->size_min + 1;
	/* The modulo bias is below 2^-35 for spans the options allow. */
	return o->size_min + (uint32_t)(client_mix(s->key + seq * CLIENT_GOLDEN) % span);
}

int client_gen_init(struct client_gen *g, const struct client_opts *o)
{
	memset(g, 0, sizeof(*g));
	g->o = o;
	g->max_payload = o->size_max > o->big_bytes ? o->size_max : o->big_bytes;
	size_t plen = (size_t)g->max_payload + CLIENT_PAYLOAD_SHIFTS + 8;

	g->pattern = malloc(plen);
	if (!g->pattern) {
		errno = ENOMEM;
		return -1;
	}
	uint64_t st = o->seed;
	for (size_t i = 0; i + 8 <= plen; i += 8) {
		uint64_t v = client_rand(&st);
		memcpy(g->pattern + i, &v, 8);
	}
	return 0;
}

void client_gen_free(struct client_gen *g)
{
	free(g->pattern);
	memset(g, 0, sizeof(*g));
}

void client_src_name(const struct client_opts *o, uint32_t index, char *buf, size_t len)
{
	snprintf(buf, len, "%s-%u", o->name_prefix, index);
}

/* ---- sources ---- */

int client_src_init(struct client_gen *g, struct client_src *s, uint32_t index, int idle)
{
	const struct client_opts *o = g->o;

	memset(s, 0, sizeof(*s));
	s->index = index;
	s->id = o->first_id + index;
	s->idle = idle;
	s->fd = -1;
	heap_node_init(&s->timer);
	s->raw = SIZE_MAX;
	s->status = CLIENT_RUNNING;
	if (idle)
		return 0;

	double rate = o->rate;
	for (size_t i = 0; i < o->nslow; i++)
		if (o->slow[i].id == s->id)
			rate = o->slow[i].v;
	for (size_t i = 0; i < o->nsilent; i++)
		if (o->silent[i].id == s->id)
			s->silent_ns = (uint64_t)(o->silent[i].v * 1e9);
	s->period_ns = rate > 0 && !o->pull ? 1e9 / rate : 0;
	s->quota = o->use_duration ? UINT64_MAX : o->count;
	s->key = client_mix(client_mix(o->seed) + (uint64_t)index * CLIENT_GOLDEN);
	s->rng = s->key ^ 0x5bd1e995u;     /* a stream apart from the sizes' */

	char *d = s->fault_desc;
	size_t dl = sizeof(s->fault_desc);
	for (size_t i = 0; i < o->nfaults; i++) {
		struct client_fault *f = &o->faults[i];
		if (f->id != s->id)
			continue;
		s->faults[s->nfaults++] = f;
		int n = snprintf(d, dl, "%s%s@%llu", d == s->fault_desc ? "" : ",",
				 client_fault_name(f->kind), (unsigned long long)f->at);
		if (n > 0 && (size_t)n < dl) {
			d += n;
			dl -= (size_t)n;
		}
		/* bye-more@N and bye-less@N end the source after N frames. */
		if (client_fault_at_bye(f->kind) && f->at_given && f->at < s->quota)
			s->quota = f->at;
	}

	/* A max-rate buffer batches many frames per write; many max-rate
	 * sources share a budget so that a thousand of them still fit. */
	size_t base = CLIENT_BUF_PACED;
	if (s->period_ns == 0 && !o->pull) {
		uint64_t share = CLIENT_BUF_BUDGET / o->sources;
		base = share > CLIENT_BUF_MAX_RATE ? CLIENT_BUF_MAX_RATE : share;
		if (base < CLIENT_BUF_PACED)
			base = CLIENT_BUF_PACED;
	}
	size_t need = 2 * ((size_t)PROTO_HEADER_SIZE + g->max_payload) + 128;
	s->cap = base > need ? base : need;
	s->buf = malloc(s->cap);
	if (!s->buf || hist_init(&s->lag) < 0) {
		client_src_free(s);
		errno = ENOMEM;
		return -1;
	}
	frame_parser_init(&s->fp, 0);
	return 0;
}

void client_src_free(struct client_src *s)
{
	free(s->buf);
	hist_free(&s->lag);
	s->buf = NULL;
}

/* ---- encoding ---- */

/* Room for need more bytes at the end of the buffer, moving the unsent
 * tail to the front when that makes room. The tail starts at acked, the
 * first frame not yet written whole, so the accounting walk still starts
 * on a header. */
static int client_room(struct client_src *s, size_t need)
{
	if (s->cap - s->len >= need)
		return 1;
	if (s->acked == 0 || s->cap - (s->len - s->acked) < need)
		return 0;
	memmove(s->buf, s->buf + s->acked, s->len - s->acked);
	s->len -= s->acked;
	s->off -= s->acked;
	if (s->raw != SIZE_MAX)
		s->raw -= s->acked;
	s->acked = 0;
	return 1;
}

static void client_put(struct client_src *s, const struct proto_header *h,
		       const uint8_t *payload, uint32_t len)
{
	proto_encode(h, s->buf + s->len);
	if (len)        /* memcpy from NULL is undefined even for 0 bytes */
		memcpy(s->buf + s->len + PROTO_HEADER_SIZE, payload, len);
	s->len += PROTO_HEADER_SIZE + len;
}

/* A frame with its payload: h gives everything but the CRC, which is
 * computed (and XORed with crc_xor, to make a bad one on purpose). */
static void client_put_frame(const struct client_gen *g, struct client_src *s,
			     struct proto_header *h, uint32_t crc_xor)
{
	uint8_t *payload = s->buf + s->len + PROTO_HEADER_SIZE;

	h->crc = (h->length ? client_payload(g, s, h->seq, payload, h->length) : 0) ^ crc_xor;
	proto_encode(h, s->buf + s->len);
	s->len += PROTO_HEADER_SIZE + h->length;
}

static void client_put_data(struct client_gen *g, struct client_src *s, uint64_t seq,
			    uint64_t send_ns)
{
	struct proto_header h = proto_make(PROTO_DATA, s->id, seq, send_ns,
					   client_size(g, s, seq), 0);
	client_put_frame(g, s, &h, 0);
}

static size_t client_worst(const struct client_gen *g)
{
	return 2 * ((size_t)PROTO_HEADER_SIZE + g->max_payload) + 128;
}

/* A fault whose moment (after `at` DATA frames) has come. */
static struct client_fault *client_fault_due(struct client_src *s, int fatal_only)
{
	for (unsigned i = 0; i < s->nfaults; i++) {
		struct client_fault *f = s->faults[i];
		if (!f->done && f->at == s->next_seq && !client_fault_at_bye(f->kind) &&
		    (!fatal_only || client_fault_fatal(f->kind)))
			return f;
	}
	return NULL;
}

static void client_fault_note(struct client_src *s, struct client_fault *f)
{
	f->done = 1;
	s->faulted = 1;
}

/* The fatal faults: whatever goes out is marked raw (not counted as
 * frames) and is the last thing this connection carries. */
static void client_put_fatal(struct client_gen *g, struct client_src *s,
			     struct client_fault *f, uint64_t send_ns)
{
	uint64_t seq = s->next_seq;
	uint32_t len = client_size(g, s, seq);
	struct proto_header h = proto_make(PROTO_DATA, s->id, seq, send_ns, len, 0);
	size_t start = s->len;

	client_fault_note(s, f);
	s->fatal = 1;
	s->fatal_kind = f->kind;
	s->bye_queued = 1;
	s->raw = start;
	switch (f->kind) {
	case CF_TRUNCATE:
		client_put_frame(g, s, &h, 0);
		s->len = start + (PROTO_HEADER_SIZE + len) / 2;
		break;
	case CF_BAD_MAGIC:
		h.magic = 0xBAD0;
		client_put_frame(g, s, &h, 0);
		break;
	case CF_BAD_VERSION:
		h.version = PROTO_VERSION + 1;
		client_put_frame(g, s, &h, 0);
		break;
	case CF_BAD_TYPE:
		h.type = 9;
		client_put_frame(g, s, &h, 0);
		break;
	case CF_ID_CHANGE:
		h.source = s->id + 1000;
		client_put_frame(g, s, &h, 0);
		break;
	case CF_OVERSIZE:
	case CF_GARBAGE: {
		/* Random bytes, not the pattern: garbage must not look like
		 * the start of a payload the server has seen before. */
		size_t n = f->kind == CF_GARBAGE ? 64 : 16;
		if (f->kind == CF_OVERSIZE) {
			h.length = 0xFFFFFFFFu;
			h.crc = 0;
			proto_encode(&h, s->buf + s->len);
			s->len += PROTO_HEADER_SIZE;
		}
		for (size_t i = 0; i < n; i += 8) {
			uint64_t v = client_rand(&s->rng);
			memcpy(s->buf + s->len + i, &v, 8);
		}
		s->len += n;
		break;
	}
	case CF_RESET:
	case CF_CLOSE:
	default:
		break;
	}
}

static inline uint64_t client_due(const struct client_src *s, uint64_t seq)
{
	/* Absolute: frame k is due at start + k * period, computed afresh
	 * each time, so rounding never accumulates into drift. */
	return s->start_ns + (uint64_t)((double)seq * s->period_ns);
}

/* Is there another DATA frame to send? now matters for --duration. */
static int client_has_next(const struct client_src *s, uint64_t now)
{
	if (s->next_seq >= s->quota)
		return 0;
	if (s->end_ns == UINT64_MAX)
		return 1;
	return (s->period_ns > 0 ? client_due(s, s->next_seq) : now) < s->end_ns;
}

enum { STEP_FULL, STEP_SENT, STEP_NOTHING };

/*
 * One turn of the schedule (push) or one REQUEST (pull): normally one
 * DATA frame, with the fault that is due applied. Nothing changes when
 * there is no room.
 */
static int client_step(struct client_gen *g, struct client_src *s, uint64_t send_ns,
		       uint64_t now)
{
	int pull = g->o->pull;
	struct client_fault *f = client_fault_due(s, 0);

	if (s->held || f) {
		if (!client_room(s, client_worst(g)))
			return STEP_FULL;
	} else if (!client_room(s, PROTO_HEADER_SIZE + client_size(g, s, s->next_seq))) {
		return STEP_FULL;
	}

	if (s->held) {
		/* reorder, second half: the successor, then the held frame */
		if (!pull && client_has_next(s, now))
			client_put_data(g, s, s->next_seq++, send_ns);
		client_put_data(g, s, s->held_seq, s->held_send_ns);
		s->held = 0;
		return STEP_SENT;
	}
	if (!f) {
		client_put_data(g, s, s->next_seq++, send_ns);
		return STEP_SENT;
	}
	if (client_fault_fatal(f->kind)) {
		client_put_fatal(g, s, f, send_ns);
		return STEP_SENT;
	}

	uint64_t seq = s->next_seq;
	uint32_t len = client_size(g, s, seq);
	struct proto_header h;

	client_fault_note(s, f);
	switch (f->kind) {
	case CF_CRC:
		h = proto_make(PROTO_DATA, s->id, seq, send_ns, len, 0);
		client_put_frame(g, s, &h, 0x5A5A5A5Au);
		s->next_seq++;
		return STEP_SENT;
	case CF_ZERO:
		h = proto_make(PROTO_DATA, s->id, seq, send_ns, 0, 0);
		client_put_frame(g, s, &h, 0);
		s->next_seq++;
		return STEP_SENT;
	case CF_DUP:
		client_put_data(g, s, seq, send_ns);
		client_put_data(g, s, seq, send_ns);
		s->next_seq++;
		return STEP_SENT;
	case CF_SKIP:
		/* Push: the turn of the skipped frame passes empty. Pull: the
		 * REQUEST gets the next frame, if there is one. */
		s->next_seq++;
		if (pull && client_has_next(s, now)) {
			client_put_data(g, s, s->next_seq++, send_ns);
			return STEP_SENT;
		}
		return STEP_NOTHING;
	case CF_REORDER:
		s->next_seq++;
		if (!client_has_next(s, now)) {
			/* the last frame: nothing to swap it with */
			client_put_data(g, s, seq, send_ns);
			return STEP_SENT;
		}
		s->held = 1;
		s->held_seq = seq;
		s->held_send_ns = send_ns;
		if (pull) {
			client_put_data(g, s, s->next_seq++, send_ns);
			return STEP_SENT;
		}
		return STEP_NOTHING;
	default:
		return STEP_NOTHING;
	}
}

/* The end of the source: a fatal fault due now, or the BYE. */
static void client_finish(struct client_gen *g, struct client_src *s, uint64_t now)
{
	if (!client_room(s, client_worst(g)))
		return;
	if (s->held) {
		client_put_data(g, s, s->held_seq, s->held_send_ns);
		s->held = 0;
	}
	struct client_fault *f = client_fault_due(s, 1);
	if (f) {
		client_put_fatal(g, s, f, now);
		return;
	}
	uint64_t count = s->next_seq;
	for (unsigned i = 0; i < s->nfaults; i++) {
		f = s->faults[i];
		if (f->done || !client_fault_at_bye(f->kind))
			continue;
		if (f->kind == CF_BYE_MORE) {
			count += 5;
		} else if (count > 0) {
			count -= 1;
		} else {
			continue;       /* bye-less with nothing sent: never fires */
		}
		client_fault_note(s, f);
	}
	struct proto_header h = proto_make(PROTO_BYE, s->id, count, now, 0, 0);
	client_put(s, &h, NULL, 0);
	s->bye_queued = 1;
}

static void client_fill_pull(struct client_gen *g, struct client_src *s, uint64_t now)
{
	while (s->pending_req > 0 && !s->bye_queued) {
		if (!s->held && !client_has_next(s, now)) {
			client_finish(g, s, now);
			if (s->bye_queued)
				s->pending_req--;
			return;
		}
		int r = client_step(g, s, now, now);
		if (r == STEP_FULL)
			return;
		if (r == STEP_SENT)
			s->pending_req--;
	}
}

void client_fill(struct client_gen *g, struct client_src *s, uint64_t now)
{
	if (s->state != CS_RUN || s->bye_queued)
		return;
	if (s->hello_due) {
		char name[PROTO_NAME_MAX + 64];
		client_src_name(g->o, s->index, name, sizeof(name));
		uint32_t len = (uint32_t)strlen(name);
		if (!client_room(s, PROTO_HEADER_SIZE + len))
			return;
		struct proto_header h = proto_make(PROTO_HELLO, s->id, 0, now, len,
						   crc32c(0, name, len));
		client_put(s, &h, (const uint8_t *)name, len);
		s->hello_due = 0;
	}
	if (s->stopping) {
		client_finish(g, s, now);
		return;
	}
	if (g->o->pull) {
		client_fill_pull(g, s, now);
		return;
	}
	while (!s->bye_queued) {        /* a fatal fault ends it too */
		if (!s->held && !client_has_next(s, now)) {
			/* With --duration a paced source says BYE at the end
			 * time, not early after its last turn. */
			if (s->period_ns == 0 || s->end_ns == UINT64_MAX || now >= s->end_ns)
				client_finish(g, s, now);
			return;
		}
		/* A fragmented frame takes milliseconds to trickle out: encode
		 * the next only when it is due to start, so that a max-rate or
		 * late source does not queue seconds of frames (and --duration
		 * still ends on time). */
		if (g->o->fragment && s->len > s->off)
			return;
		uint64_t send_ns = now;
		if (s->period_ns > 0) {
			send_ns = client_due(s, s->next_seq);
			if (send_ns > now)
				return;
		}
		if (client_step(g, s, send_ns, now) == STEP_FULL)
			return;
	}
}

uint64_t client_next_due(struct client_gen *g, const struct client_src *s, uint64_t now)
{
	if (s->state != CS_RUN || s->bye_queued)
		return UINT64_MAX;
	if (s->hello_due || s->stopping)
		return now;
	if (g->o->pull)
		return s->pending_req ? now : UINT64_MAX;  /* the REQUESTs drive it */
	if (s->period_ns == 0)
		return now;
	if (s->held || client_has_next(s, now))
		return client_due(s, s->next_seq);
	return s->end_ns != UINT64_MAX && s->end_ns > now ? s->end_ns : now;
}

/* ---- what went out ---- */

uint64_t client_account(struct client_src *s, uint64_t now)
{
	uint64_t n = 0;
	struct proto_header h;

	while (s->acked < s->off) {
		if (s->acked >= s->raw) {
			/* fault bytes: not frames, nothing to count but bytes */
			s->wire_bytes += s->off - s->acked;
			s->acked = s->off;
			break;
		}
		if (s->off - s->acked < PROTO_HEADER_SIZE)
			break;
		proto_decode(s->buf + s->acked, &h);
		size_t end = s->acked + PROTO_HEADER_SIZE + h.length;
		if (end > s->off)
			break;
		if (h.type == PROTO_DATA) {
			s->frames++;
			s->bytes += h.length;
			/* Paced: send_ns is the scheduled time, so this is how
			 * late the frame really left, blocked writes included. */
			hist_record(&s->lag, now > h.send_ns ? now - h.send_ns : 0);
			if (s->ilag)
				hist_record(s->ilag, now > h.send_ns ? now - h.send_ns : 0);
		} else if (h.type == PROTO_BYE) {
			s->bye_sent = 1;
			s->bye_count = h.seq;
		}
		s->wire_bytes += PROTO_HEADER_SIZE + h.length;
		s->acked = end;
		n++;
	}
	return n;
}

void client_rewind(struct client_src *s)
{
	struct proto_header h;
	size_t p = s->acked, end = s->raw < s->len ? s->raw : s->len;

	/* Frames handed to the kernel whole are not sent again, even if the
	 * kernel lost them with the connection: the server sees that gap. */
	while (p + PROTO_HEADER_SIZE <= end) {
		proto_decode(s->buf + p, &h);
		if (h.type == PROTO_DATA && h.seq < s->next_seq)
			s->next_seq = h.seq;
		p += PROTO_HEADER_SIZE + h.length;
	}
	s->len = s->off = s->acked = 0;
	s->raw = SIZE_MAX;
	s->bye_queued = 0;
	s->hello_due = 1;
	s->pending_req = 0;
	s->read_more = 0;
	frame_parser_init(&s->fp, 0);
}

unsigned client_faults_pending(const struct client_src *s, char *buf, size_t len)
{
	unsigned n = 0;
	for (unsigned i = 0; i < s->nfaults; i++) {
		const struct client_fault *f = s->faults[i];
		if (f->done)
			continue;
		if (n++ == 0)
			snprintf(buf, len, "%s@%llu", client_fault_name(f->kind),
				 (unsigned long long)f->at);
	}
	return n;
}
