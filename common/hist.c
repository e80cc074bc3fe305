/* hist.c - the parts of the histogram that are not on the per-frame path. */
#include "hist.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

int hist_init(struct hist *h)
{
	memset(h, 0, sizeof(*h));
	return 0;
}

void hist_free(struct hist *h)
{
	if (h->blk)
		for (unsigned b = 0; b < HIST_BLOCKS; b++)
			free(h->blk[b]);
	free(h->blk);
	memset(h, 0, sizeof(*h));
}

void hist_reset(struct hist *h)
{
	if (h->blk)
		for (unsigned b = 0; b < HIST_BLOCKS; b++)
			if (h->blk[b])
				memset(h->blk[b], 0, HIST_SUB * sizeof(*h->blk[b]));
	h->n = h->min = h->max = 0;
	h->sum = 0;
}

int hist_grow(struct hist *h, unsigned i)
{
	unsigned b = i / HIST_SUB;

	if (!h->blk && !(h->blk = calloc(HIST_BLOCKS, sizeof(*h->blk))))
		goto nomem;
	if (!h->blk[b] && !(h->blk[b] = calloc(HIST_SUB, sizeof(*h->blk[b]))))
		goto nomem;
	return 0;
nomem:
	errno = ENOMEM;
	return -1;
}

int hist_merge(struct hist *dst, const struct hist *src)
{
	if (!src->blk || src->n == 0)
		return 0;
	for (unsigned b = 0; b < HIST_BLOCKS; b++) {
		if (!src->blk[b])
			continue;
		if (hist_grow(dst, b * HIST_SUB) < 0)
			return -1;
		for (unsigned k = 0; k < HIST_SUB; k++)
			dst->blk[b][k] += src->blk[b][k];
	}
	if (dst->n == 0 || src->min < dst->min)
		dst->min = src->min;
	if (src->max > dst->max)
		dst->max = src->max;
	dst->n += src->n;
	dst->sum += src->sum;
	return 0;
}

uint64_t hist_bucket_low(unsigned i)
{
	if (i < 2 * HIST_SUB)
		return i;
	unsigned shift = i / HIST_SUB - 1;
	return (uint64_t)(i - shift * HIST_SUB) << shift;
}

uint64_t hist_bucket_high(unsigned i)
{
	if (i < 2 * HIST_SUB)
		return i;
	unsigned shift = i / HIST_SUB - 1;
	return hist_bucket_low(i) + (1ull << shift) - 1;
}

uint64_t hist_percentile(const struct hist *h, double p)
{
	if (!h->blk || h->n == 0)
		return 0;
	if (p >= 100.0)
		return h->max;
	if (p <= 0.0)
		return h->min;
	/* The rank of the p-th percentile, 1-based, rounded up as
	 * HdrHistogram does so that p50 of {1,2} is 1 and p100 is 2. */
	uint64_t rank = (uint64_t)(p / 100.0 * (double)h->n + 0.999999);
	if (rank < 1)
		rank = 1;
	uint64_t seen = 0;
	for (unsigned b = 0; b < HIST_BLOCKS; b++) {
		if (!h->blk[b])
			continue;       /* a power of two no value fell in */
		for (unsigned k = 0; k < HIST_SUB; k++) {
			unsigned i = b * HIST_SUB + k;
			seen += h->blk[b][k];
			if (seen < rank)
				continue;
			uint64_t lo = hist_bucket_low(i), hi = hist_bucket_high(i);
			uint64_t mid = lo + (hi - lo) / 2;
			if (mid < h->min)
				mid = h->min;
			if (mid > h->max)
				mid = h->max;
			return mid;
		}
	}
	return h->max;
}
