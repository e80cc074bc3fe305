/*
 * hist.h - log-linear latency histogram (HdrHistogram's layout, simplified).
 *
 * Values below 128 ns are exact; above, each power of two is split into
 * 64 equal buckets, and a percentile is reported as the middle of its
 * bucket, so the relative error is at most 1/128 (0.8 %). Values of 2^40 ns
 * (18 minutes) and more land in the last bucket; the exact maximum is kept
 * on the side.
 *
 * Memory is allocated lazily, one block of 64 counters (512 B) per power
 * of two that a value actually falls in, plus a 280-byte table of blocks:
 * real latencies span a few powers of two, so a histogram costs 1-4 KiB
 * instead of the 17.5 KiB of all HIST_BUCKETS counters, and one that
 * recorded a single value costs 0.8 KiB. A block is allocated the first
 * time its power of two is hit - at most HIST_BLOCKS times in a
 * histogram's life, never per value; recording is otherwise a shift, an
 * add and two compares, with no allocation and no system call.
 */
#ifndef DAQMUX_HIST_H
#define DAQMUX_HIST_H

#include <stdint.h>

#define HIST_SUB_BITS   6
#define HIST_SUB        (1u << HIST_SUB_BITS)        /* 64 */
#define HIST_MAX_BITS   40
#define HIST_BUCKETS    ((HIST_MAX_BITS - HIST_SUB_BITS + 1) * HIST_SUB)
#define HIST_BLOCKS     (HIST_BUCKETS / HIST_SUB)     /* 35 */

struct hist {
	uint64_t **blk;         /* HIST_BLOCKS pointers to HIST_SUB counters
				   each, or NULL; NULL until the first value */
	uint64_t n;
	uint64_t min, max;
	double sum;
};

/* An empty histogram; allocates nothing (the first value does). Returns 0. */
int  hist_init(struct hist *h);
void hist_free(struct hist *h);
void hist_reset(struct hist *h);

/* Allocate the block that bucket i lives in (and the table of blocks).
 * 0, or -1 with errno ENOMEM. The slow path of hist_record. */
int  hist_grow(struct hist *h, unsigned i);

/* Count in bucket i (0 where its block was never allocated). */
static inline uint64_t hist_count(const struct hist *h, unsigned i)
{
	const uint64_t *b = h->blk ? h->blk[i / HIST_SUB] : 0;
	return b ? b[i % HIST_SUB] : 0;
}

static inline unsigned hist_index(uint64_t v)
{
	if (v >= (1ull << HIST_MAX_BITS))
		v = (1ull << HIST_MAX_BITS) - 1;
	if (v < 2 * HIST_SUB)
		return (unsigned)v;
	unsigned shift = (unsigned)(63 - __builtin_clzll(v)) - HIST_SUB_BITS;
	return shift * HIST_SUB + (unsigned)(v >> shift);
}

/* 0, or -1 (nothing recorded) when its block could not be allocated. */
static inline int hist_record(struct hist *h, uint64_t v)
{
	unsigned i = hist_index(v);

	if (__builtin_expect(!h->blk || !h->blk[i / HIST_SUB], 0) && hist_grow(h, i) < 0)
		return -1;
	h->blk[i / HIST_SUB][i % HIST_SUB]++;
	if (h->n == 0 || v < h->min)
		h->min = v;
	if (v > h->max)
		h->max = v;
	h->n++;
	h->sum += (double)v;
	return 0;
}

/* Adds src into dst. 0, or -1 when a block of dst could not be allocated
 * (dst then holds part of src: its counters, but not n, min, max, sum). */
int hist_merge(struct hist *dst, const struct hist *src);

/* p in [0, 100]; 0 for an empty histogram. p = 100 gives the exact max. */
uint64_t hist_percentile(const struct hist *h, double p);

/* Smallest and largest value that map to bucket i (for tests and plots). */
uint64_t hist_bucket_low(unsigned i);
uint64_t hist_bucket_high(unsigned i);

#endif
