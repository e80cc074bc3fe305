/*
 * source.h - per-source accounting: what arrived, what was lost, how late.
 *
 * One record per source. It is owned by whoever reads that source's
 * connection (the one event loop, or the source's own thread), so the
 * per-frame path touches no shared state and takes no lock; records are
 * summed only when the run ends.
 */
#ifndef DAQMUX_SOURCE_H
#define DAQMUX_SOURCE_H

#include <stdint.h>

#include "hist.h"
#include "proto.h"

enum source_status {
	SRC_ACTIVE,       /* still connected */
	SRC_COMPLETE,     /* BYE received and its count matches what arrived */
	SRC_INCOMPLETE,   /* BYE received, but frames are missing (lost > 0) */
	SRC_CLOSED,       /* peer closed at a frame boundary without BYE */
	SRC_TRUNCATED,    /* peer closed in the middle of a frame */
	SRC_UNCHECKED,    /* --discard: peer closed; bytes counted, nothing
			     else known (no BYE, loss or CRC seen) */
	SRC_ERROR,        /* protocol or socket error; reason in error[] */
};

const char *source_status_name(enum source_status s);

/* Sequence numbers this far behind the newest are still told apart as
 * "late" (an earlier gap filled) or "duplicate"; older ones count as
 * duplicates. 1024 bits = 128 bytes per source. */
#define SOURCE_SEQ_WINDOW 1024u

struct source {
	uint32_t id;
	int      have_id;         /* a frame has named the source */
	int      heard;           /* a byte has arrived on its connection */
	int      registered;      /* a valid frame made it a source: it is in
				     the server's registry (under s->lock) */
	char     name[PROTO_NAME_MAX + 1]; /* the HELLO's bytes, as sent */
	uint16_t name_len;        /* (a name may hold NUL bytes) */
	char     peer[64];        /* "HOST:PORT" of the (latest) connection */

	uint64_t frames;          /* DATA frames received, duplicates included */
	uint64_t bytes;           /* their payload bytes */
	uint64_t lost;            /* sequence numbers never received */
	uint64_t duplicates;
	uint64_t late;            /* arrived after a later one: gap filled */
	uint64_t crc_errors;
	uint64_t next_seq;        /* one past the highest sequence seen */
	uint64_t seen[SOURCE_SEQ_WINDOW / 64]; /* bitmap of seqs below next_seq */
	uint64_t bye_count;       /* seq of the BYE: frames the source says it sent */
	int      got_bye;

	uint64_t first_ns, last_ns; /* first and latest delivery, CLOCK_MONOTONIC */
	uint64_t connected_ns;      /* accepted (the wait before first_ns: the
				       stall "max gap" cannot see) */
	uint64_t max_gap_ns;        /* longest silence between two deliveries */
	unsigned connections;       /* 1, more after a --reconnect resume */
	unsigned broken;            /* earlier connections that ended in an
				       error or mid-frame before a resume */
	int      closed;            /* its connection is closed (under s->lock) */
	unsigned refs;              /* connections pointing here (under s->lock) */
	unsigned slot;              /* its index in the registry */

	struct hist lat;          /* one-way latency (push) or RTT (pull), ns */
	uint64_t unstamped;       /* frames with no time (not in lat) */

	enum source_status status;
	char     error[128];
};

/* An empty, active record; the histogram is allocated by the first
 * DATA frame (if that allocation fails, frames are counted as unstamped). */
void source_init(struct source *s);
void source_free(struct source *s);

/* A sequence number (or a BYE count) more than this far ahead of the
 * last one is garbage; so is UINT64_MAX, which would wrap next_seq. */
#define SOURCE_MAX_JUMP (1ull << 40)

/*
 * Account one DATA frame received at now_ns. latency_ns is what goes into
 * the histogram (computed by the caller: one-way or RTT), or UINT64_MAX
 * when the frame carries no time. Returns -1 (status ERROR, not counted)
 * when the sequence number is implausible.
 */
int source_data(struct source *s, const struct proto_header *h, int crc_ok,
		uint64_t now_ns, uint64_t latency_ns);

/* Account the BYE and set the final status (COMPLETE, INCOMPLETE or ERROR
 * when the source claims fewer frames than arrived, or implausibly many:
 * more than SOURCE_MAX_JUMP beyond them). */
void source_bye(struct source *s, uint64_t count);

/*
 * A new connection of a source whose record ended without a BYE takes
 * the record over: the whole accounting goes on (frames, the window of
 * sequence numbers seen, lost, duplicates, CRC errors, latency), so a
 * gap across the reconnect counts as lost once and a late frame fills
 * it once. An earlier connection that ended in an error or mid-frame is
 * remembered (broken), its reason kept. Returns -1 (nothing changed)
 * when the record cannot be resumed: still active, or it said BYE.
 */
int source_resume(struct source *s, const char *peer);

/* Add r's counts into sum (frames, bytes, lost, ... saturating at
 * UINT64_MAX, so a total is never smaller than one of its parts), its
 * latency histogram and longest gap. 0, or -1 when the histogram could
 * not be merged (out of memory; the counts are added all the same). */
int source_sum(struct source *sum, const struct source *r);

/* Saturating a + b. */
static inline uint64_t source_add_sat(uint64_t a, uint64_t b)
{
	uint64_t r;
	return __builtin_add_overflow(a, b, &r) ? UINT64_MAX : r;
}

/* End without BYE: CLOSED, or TRUNCATED when mid_frame. */
void source_eof(struct source *s, int mid_frame);

/* End of a --discard connection: the peer closed it; whether the source
 * said BYE, lost or corrupted anything is unknown (UNCHECKED). */
void source_eof_unchecked(struct source *s);

/* End on an error; the reason is copied (printf-style). */
void source_fail(struct source *s, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* Terminal means the source will not be read again. */
static inline int source_ended(const struct source *s)
{
	return s->status != SRC_ACTIVE;
}

/* From the connection to its first DATA frame (0: none arrived): how
 * long the server left a new source waiting, or how long it was silent. */
static inline uint64_t source_first_wait(const struct source *s)
{
	return s->first_ns && s->connected_ns && s->first_ns > s->connected_ns
	       ? s->first_ns - s->connected_ns : 0;
}

/* A source whose record counts as a clean run: said BYE with every frame
 * accounted for, nothing lost, nothing twice, every CRC good, and no
 * connection of it broken on the way. */
static inline int source_ok(const struct source *s)
{
	return s->status == SRC_COMPLETE && s->lost == 0 && s->duplicates == 0 &&
	       s->crc_errors == 0 && s->broken == 0;
}

#endif
