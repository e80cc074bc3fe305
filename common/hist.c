/* hist.c - the parts of the histogram that are not on the per-frame path. */
#include "hist.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int hist_init_sub(struct hist *h, unsigned sub_bits)
{
	memset(h, 0, sizeof(*h));
	if (sub_bits < 1 || sub_bits > HIST_SUB_BITS) {
		errno = EINVAL;
		return -1;
	}
	h->sub_bits = sub_bits;
	h->nbuckets = HIST_NBUCKETS(sub_bits);
	h->counts = calloc(h->nbuckets, sizeof(*h->counts));
	if (!h->counts) {
		errno = ENOMEM;
		return -1;
	}
	return 0;
}

int hist_init(struct hist *h)
{
	return hist_init_sub(h, HIST_SUB_BITS);
}

void hist_free(struct hist *h)
{
	free(h->counts);
	memset(h, 0, sizeof(*h));
}

void hist_reset(struct hist *h)
{
	if (h->counts)
		memset(h->counts, 0, h->nbuckets * sizeof(*h->counts));
	h->n = h->min = h->max = 0;
	h->sum = 0;
}

void hist_merge(struct hist *dst, const struct hist *src)
{
	if (!src->counts || src->n == 0)
		return;
	if (src->sub_bits != dst->sub_bits) {
		fprintf(stderr, "hist_merge: %u and %u sub-bucket bits\n", src->sub_bits,
			dst->sub_bits);
		abort();
	}
	for (unsigned i = 0; i < src->nbuckets; i++)
		dst->counts[i] += src->counts[i];
	if (dst->n == 0 || src->min < dst->min)
		dst->min = src->min;
	if (src->max > dst->max)
		dst->max = src->max;
	dst->n += src->n;
	dst->sum += src->sum;
}

uint64_t hist_bucket_low_sub(unsigned i, unsigned sub_bits)
{
	if (i < (2u << sub_bits))
		return i;
	unsigned shift = (i >> sub_bits) - 1;
	return (uint64_t)(i - (shift << sub_bits)) << shift;
}

uint64_t hist_bucket_high_sub(unsigned i, unsigned sub_bits)
{
	if (i < (2u << sub_bits))
		return i;
	unsigned shift = (i >> sub_bits) - 1;
	return hist_bucket_low_sub(i, sub_bits) + (1ull << shift) - 1;
}

uint64_t hist_percentile(const struct hist *h, double p)
{
	if (!h->counts || h->n == 0)
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
	for (unsigned i = 0; i < h->nbuckets; i++) {
		seen += h->counts[i];
		if (seen >= rank) {
			uint64_t lo = hist_bucket_low_sub(i, h->sub_bits);
			uint64_t hi = hist_bucket_high_sub(i, h->sub_bits);
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
