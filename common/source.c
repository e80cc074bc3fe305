/* source.c - sequence accounting for one source; see source.h. */
#include "source.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

const char *source_status_name(enum source_status s)
{
	switch (s) {
	case SRC_ACTIVE:     return "active";
	case SRC_COMPLETE:   return "complete";
	case SRC_INCOMPLETE: return "incomplete";
	case SRC_CLOSED:     return "closed";
	case SRC_TRUNCATED:  return "truncated";
	case SRC_UNCHECKED:  return "unchecked";
	case SRC_ERROR:      return "error";
	}
	return "?";
}

void source_init(struct source *s)
{
	memset(s, 0, sizeof(*s));
	s->status = SRC_ACTIVE;
}

void source_free(struct source *s)
{
	hist_free(&s->lat);
}

/* The window bitmap holds seqs [next_seq - WINDOW, next_seq); bit i of the
 * ring is seq % WINDOW. */
static int seen_test_set(struct source *s, uint64_t seq)
{
	uint64_t bit = seq % SOURCE_SEQ_WINDOW;
	uint64_t mask = 1ull << (bit % 64);
	uint64_t *w = &s->seen[bit / 64];
	int was = (*w & mask) != 0;
	*w |= mask;
	return was;
}

static void seen_clear(struct source *s, uint64_t seq)
{
	uint64_t bit = seq % SOURCE_SEQ_WINDOW;
	s->seen[bit / 64] &= ~(1ull << (bit % 64));
}

/* Advance next_seq to seq + 1, forgetting the bits that leave the window
 * (they are reused by the new numbers) and counting the skipped ones. */
static void advance(struct source *s, uint64_t seq)
{
	uint64_t gap = seq - s->next_seq;
	s->lost += gap;
	if (gap >= SOURCE_SEQ_WINDOW) {
		memset(s->seen, 0, sizeof(s->seen));
	} else {
		for (uint64_t q = s->next_seq; q < seq; q++)
			seen_clear(s, q);
	}
	seen_clear(s, seq);
	seen_test_set(s, seq);
	s->next_seq = seq + 1;
}

int source_data(struct source *s, const struct proto_header *h, int crc_ok,
		uint64_t now_ns, uint64_t latency_ns)
{
	/* A jump no real source can make: the sequence field is garbage,
	 * not a gap. UINT64_MAX is one too: next_seq would wrap to 0, and
	 * every later frame would look new. */
	if (h->seq >= s->next_seq &&
	    (h->seq - s->next_seq > SOURCE_MAX_JUMP || h->seq == UINT64_MAX)) {
		source_fail(s, "sequence number jumps from %llu to %llu",
			    (unsigned long long)s->next_seq, (unsigned long long)h->seq);
		return -1;
	}
	s->frames++;
	s->bytes += h->length;
	if (!crc_ok)
		s->crc_errors++;

	if (h->seq >= s->next_seq) {
		if (h->seq == s->next_seq) {
			/* The common case: no gap, one bit to set. */
			seen_clear(s, h->seq);
			seen_test_set(s, h->seq);
			s->next_seq++;
		} else {
			advance(s, h->seq);
		}
	} else if (s->next_seq - h->seq > SOURCE_SEQ_WINDOW) {
		s->duplicates++;        /* too old to tell: see SOURCE_SEQ_WINDOW */
	} else if (seen_test_set(s, h->seq)) {
		s->duplicates++;
	} else {
		s->late++;              /* fills a gap counted as lost */
		s->lost--;
	}

	if (s->frames == 1)
		s->first_ns = now_ns;
	else if (now_ns - s->last_ns > s->max_gap_ns)
		s->max_gap_ns = now_ns - s->last_ns;
	s->last_ns = now_ns;

	/* The histogram grows a block the first time a latency falls in a
	 * power of two (hist.h): ten thousand idle connections cost none. */
	if (latency_ns == UINT64_MAX || hist_record(&s->lat, latency_ns) < 0)
		s->unstamped++;
	return 0;
}

void source_bye(struct source *s, uint64_t count)
{
	s->got_bye = 1;
	s->bye_count = count;
	if (count < s->next_seq) {
		source_fail(s, "BYE says %llu frames were sent but sequence %llu arrived",
			    (unsigned long long)count,
			    (unsigned long long)(s->next_seq - 1));
		return;
	}
	/* Bounded like a DATA jump: a count no source can have sent would
	 * otherwise turn into an astronomical `lost`. */
	if (count - s->next_seq > SOURCE_MAX_JUMP) {
		source_fail(s, "BYE says %llu frames were sent, implausibly many after "
			    "sequence %llu (more than 2^40 missing)",
			    (unsigned long long)count, (unsigned long long)s->next_seq);
		return;
	}
	s->lost += count - s->next_seq;
	s->next_seq = count;
	s->status = s->lost ? SRC_INCOMPLETE : SRC_COMPLETE;
}

void source_eof(struct source *s, int mid_frame)
{
	s->status = mid_frame ? SRC_TRUNCATED : SRC_CLOSED;
	if (mid_frame)
		snprintf(s->error, sizeof(s->error), "connection closed mid-frame");
}

void source_eof_unchecked(struct source *s)
{
	s->status = SRC_UNCHECKED;
}

void source_fail(struct source *s, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(s->error, sizeof(s->error), fmt, ap);
	va_end(ap);
	s->status = SRC_ERROR;
}

int source_resume(struct source *s, const char *peer)
{
	if (!source_ended(s) || s->got_bye)
		return -1;
	if (s->status == SRC_ERROR || s->status == SRC_TRUNCATED) {
		/* Keep why: a clean end later must not hide it. */
		if (s->broken++ == 0) {
			char why[sizeof(s->error)];
			snprintf(why, sizeof(why), "%s", s->error);
			snprintf(s->error, sizeof(s->error), "connection %u: %.100s",
				 s->connections, why);
		}
	} else if (!s->broken) {
		s->error[0] = '\0';
	}
	s->status = SRC_ACTIVE;
	s->connections++;
	snprintf(s->peer, sizeof(s->peer), "%s", peer);
	return 0;
}

int source_sum(struct source *t, const struct source *r)
{
	t->frames = source_add_sat(t->frames, r->frames);
	t->bytes = source_add_sat(t->bytes, r->bytes);
	t->lost = source_add_sat(t->lost, r->lost);
	t->duplicates = source_add_sat(t->duplicates, r->duplicates);
	t->late = source_add_sat(t->late, r->late);
	t->crc_errors = source_add_sat(t->crc_errors, r->crc_errors);
	t->unstamped = source_add_sat(t->unstamped, r->unstamped);
	t->broken += r->broken;
	if (r->max_gap_ns > t->max_gap_ns)
		t->max_gap_ns = r->max_gap_ns;
	return hist_merge(&t->lat, &r->lat);
}
