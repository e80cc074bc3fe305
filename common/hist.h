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
 *
 * hist_init_sub gives a coarser histogram for where there are many of
 * them (the client keeps one per source, up to a million): 2^sub_bits
 * buckets per power of two, e.g. 8 (6 % error, 2.4 KiB) for sub_bits 3.
 * Histograms are merged only with one of the same resolution.
 */
#ifndef DAQMUX_HIST_H
#define DAQMUX_HIST_H

#include <stdint.h>

#define HIST_SUB_BITS   6
#define HIST_SUB        (1u << HIST_SUB_BITS)        /* 64 */
#define HIST_MAX_BITS   40
#define HIST_BUCKETS    ((HIST_MAX_BITS - HIST_SUB_BITS + 1) * HIST_SUB)   /* hist_init's */

/* The number of buckets for 2^sub_bits per power of two. */
#define HIST_NBUCKETS(sub_bits) ((HIST_MAX_BITS - (sub_bits) + 1) << (sub_bits))

struct hist {
	uint64_t *counts;       /* nbuckets entries, NULL until hist_init */
	uint64_t n;
	uint64_t min, max;
	double sum;
	unsigned sub_bits;      /* HIST_SUB_BITS, or fewer: hist_init_sub */
	unsigned nbuckets;
};

/* Allocates the counters; returns 0, or -1 with errno ENOMEM (or EINVAL:
 * sub_bits not in 1..HIST_SUB_BITS). */
int  hist_init(struct hist *h);
int  hist_init_sub(struct hist *h, unsigned sub_bits);
void hist_free(struct hist *h);
void hist_reset(struct hist *h);

static inline unsigned hist_index_sub(uint64_t v, unsigned sub_bits)
{
	if (v >= (1ull << HIST_MAX_BITS))
		v = (1ull << HIST_MAX_BITS) - 1;
	if (v < (2ull << sub_bits))
		return (unsigned)v;
	unsigned shift = (unsigned)(63 - __builtin_clzll(v)) - sub_bits;
	return (shift << sub_bits) + (unsigned)(v >> shift);
}

static inline unsigned hist_index(uint64_t v)
{
	return hist_index_sub(v, HIST_SUB_BITS);
}

static inline void hist_record(struct hist *h, uint64_t v)
{
	h->counts[hist_index_sub(v, h->sub_bits)]++;
	if (h->n == 0 || v < h->min)
		h->min = v;
	if (v > h->max)
		h->max = v;
	h->n++;
	h->sum += (double)v;
}

/* Adds src into dst; dst must be initialised, with src's resolution
 * (a different one is a bug: it aborts). */
void hist_merge(struct hist *dst, const struct hist *src);

/* p in [0, 100]; 0 for an empty histogram. p = 100 gives the exact max. */
uint64_t hist_percentile(const struct hist *h, double p);

/* Smallest and largest value that map to bucket i (for tests and plots);
 * the _sub forms for 2^sub_bits buckets per power of two. */
uint64_t hist_bucket_low_sub(unsigned i, unsigned sub_bits);
uint64_t hist_bucket_high_sub(unsigned i, unsigned sub_bits);
static inline uint64_t hist_bucket_low(unsigned i)
{
	return hist_bucket_low_sub(i, HIST_SUB_BITS);
}
static inline uint64_t hist_bucket_high(unsigned i)
{
	return hist_bucket_high_sub(i, HIST_SUB_BITS);
}

#endif
