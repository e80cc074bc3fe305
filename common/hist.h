/*
 * hist.h - log-linear latency histogram (HdrHistogram's layout, simplified).
 *
 * Values below 128 ns are exact; above, each power of two is split into
 * 64 equal buckets, and a percentile is reported as the middle of its
 * bucket, so the relative error is at most 1/128 (0.8 %). Memory is fixed
 * at HIST_BUCKETS counters (17.5 KiB of uint64_t) whatever the values, and recording
 * is a shift, an add and two compares: no allocation, no system call.
 * Values of 2^40 ns (18 minutes) and more land in the last bucket; the
 * exact maximum is kept on the side.
 */
#ifndef DAQMUX_HIST_H
#define DAQMUX_HIST_H

#include <stdint.h>

#define HIST_SUB_BITS   6
#define HIST_SUB        (1u << HIST_SUB_BITS)        /* 64 */
#define HIST_MAX_BITS   40
#define HIST_BUCKETS    ((HIST_MAX_BITS - HIST_SUB_BITS + 1) * HIST_SUB)

struct hist {
	uint64_t *counts;       /* HIST_BUCKETS entries, NULL until hist_init */
	uint64_t n;
	uint64_t min, max;
	double sum;
};

/* Allocates the counters; returns 0, or -1 with errno ENOMEM. */
int  hist_init(struct hist *h);
void hist_free(struct hist *h);
void hist_reset(struct hist *h);

static inline unsigned hist_index(uint64_t v)
{
	if (v >= (1ull << HIST_MAX_BITS))
		v = (1ull << HIST_MAX_BITS) - 1;
	if (v < 2 * HIST_SUB)
		return (unsigned)v;
	unsigned shift = (unsigned)(63 - __builtin_clzll(v)) - HIST_SUB_BITS;
	return shift * HIST_SUB + (unsigned)(v >> shift);
}

static inline void hist_record(struct hist *h, uint64_t v)
{
	h->counts[hist_index(v)]++;
	if (h->n == 0 || v < h->min)
		h->min = v;
	if (v > h->max)
		h->max = v;
	h->n++;
	h->sum += (double)v;
}

/* Adds src into dst; dst must be initialised. */
void hist_merge(struct hist *dst, const struct hist *src);

/* p in [0, 100]; 0 for an empty histogram. p = 100 gives the exact max. */
uint64_t hist_percentile(const struct hist *h, double p);

/* Smallest and largest value that map to bucket i (for tests and plots). */
uint64_t hist_bucket_low(unsigned i);
uint64_t hist_bucket_high(unsigned i);

#endif
