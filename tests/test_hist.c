/*
 * test_hist.c - the log-linear latency histogram.
 *
 * Percentiles are checked against exact percentiles of the same samples,
 * computed here by sorting: the p-th percentile is the value of rank
 * ceil(p/100 * n) (1-based), and the histogram must report it within 1 %
 * (exactly for values below 128). p0 and p100 are the exact min and max.
 * Also: empty and reset histograms, merging, and the bucket layout
 * (hist_index monotonic, bucket bounds bracketing every value, values
 * of 2^40 and more in the last bucket with the max still exact).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "hist.h"

/* ---- helpers ---------------------------------------------------------- */

static uint64_t rng_next(uint64_t *state)
{
	uint64_t z = (*state += 0x9E3779B97F4A7C15ull);
	z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
	z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
	return z ^ (z >> 31);
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return (x > y) - (x < y);
}

/* Percentiles to check, in thousandths of a percent so that the exact
 * rank ceil(p/100 * n) is computed in integers. */
static const uint64_t pct_milli[] = {
	1, 100, 1000, 5000, 10000, 25000, 33333, 50000, 66667, 75000,
	90000, 95000, 99000, 99500, 99900, 99990, 99999,
};

static uint64_t exact_percentile(const uint64_t *sorted, uint64_t n, uint64_t milli)
{
	uint64_t rank = (milli * n + 99999) / 100000;
	if (rank < 1)
		rank = 1;
	return sorted[rank - 1];
}

static void assert_within_1pct(uint64_t got, uint64_t want, const char *what,
			       double p, uint64_t n)
{
	uint64_t diff = got > want ? got - want : want - got;
	/* diff / want <= 1 %, in integers (want < 2^40 here). */
	if (diff * 100 > want)
		fail_msg("%s: p%g of %llu samples: got %llu, exact %llu",
			 what, p, (unsigned long long)n,
			 (unsigned long long)got, (unsigned long long)want);
}

/* Record samples into a fresh histogram and check every percentile in
 * pct_milli, plus p0 and p100, against the sorted samples. */
static void check_distribution(const char *what, uint64_t *v, uint64_t n)
{
	struct hist h;

	assert_int_equal(hist_init(&h), 0);
	for (uint64_t i = 0; i < n; i++)
		hist_record(&h, v[i]);
	qsort(v, n, sizeof(*v), cmp_u64);

	assert_int_equal(h.n, n);
	assert_int_equal(hist_percentile(&h, 0), v[0]);
	assert_int_equal(hist_percentile(&h, 100), v[n - 1]);
	assert_int_equal(h.min, v[0]);
	assert_int_equal(h.max, v[n - 1]);
	for (size_t k = 0; k < sizeof(pct_milli) / sizeof(pct_milli[0]); k++) {
		double p = (double)pct_milli[k] / 1000.0;
		uint64_t got = hist_percentile(&h, p);
		uint64_t want = exact_percentile(v, n, pct_milli[k]);
		assert_within_1pct(got, want, what, p, n);
		if (want < 2 * HIST_SUB && got != want)
			fail_msg("%s: p%g = %llu, small values must be exact (%llu)",
				 what, p, (unsigned long long)got, (unsigned long long)want);
	}
	hist_free(&h);
}

/* ---- values below 128 ---------------------------------------------------- */

static void test_small_values_exact(void **state)
{
	(void)state;
	struct hist h;

	assert_int_equal(hist_init(&h), 0);
	for (uint64_t v = 0; v < 2 * HIST_SUB; v++) {
		hist_reset(&h);
		hist_record(&h, v);
		assert_int_equal(hist_percentile(&h, 50), v);
		assert_int_equal(hist_percentile(&h, 1), v);
		assert_int_equal(hist_percentile(&h, 99.9), v);
	}

	/* 0..127 once each: the k-th percentile of 128 values is exact. */
	hist_reset(&h);
	for (uint64_t v = 0; v < 2 * HIST_SUB; v++)
		hist_record(&h, v);
	for (uint64_t r = 1; r <= 2 * HIST_SUB; r++) {
		/* p such that ceil(p/100 * 128) == r. */
		double p = ((double)r - 0.5) * 100.0 / (2 * HIST_SUB);
		assert_int_equal(hist_percentile(&h, p), r - 1);
	}
	hist_free(&h);
}

static void test_two_values_rank_rounds_up(void **state)
{
	(void)state;
	struct hist h;

	assert_int_equal(hist_init(&h), 0);
	hist_record(&h, 1);
	hist_record(&h, 2);
	assert_int_equal(hist_percentile(&h, 50), 1);
	assert_int_equal(hist_percentile(&h, 50.1), 2);
	assert_int_equal(hist_percentile(&h, 100), 2);
	assert_int_equal(hist_percentile(&h, 0), 1);
	hist_free(&h);
}

/* ---- random distributions ------------------------------------------------ */

enum dist { UNIFORM_SMALL, UNIFORM_WIDE, LOG_UNIFORM, LONG_TAIL, BIMODAL,
	    CONSTANT, NEAR_POWERS, NDIST };

static uint64_t draw(enum dist d, uint64_t *st, uint64_t param)
{
	uint64_t r = rng_next(st);
	switch (d) {
	case UNIFORM_SMALL:
		return r % 300;
	case UNIFORM_WIDE:
		return r % (1ull << 40);
	case LOG_UNIFORM: {     /* every magnitude from 1 ns to 2^40 ns */
		unsigned bits = 1 + (unsigned)(r % 40);
		return rng_next(st) & ((1ull << bits) - 1);
	}
	case LONG_TAIL: {       /* around `param`, doubling with probability 1/2 */
		unsigned k = (unsigned)__builtin_ctzll(r | (1ull << 24));
		uint64_t x = (param << k) + rng_next(st) % (param + 1);
		return x >= (1ull << 40) ? (1ull << 40) - 1 : x;
	}
	case BIMODAL:           /* fast path around 20 us, slow around 3 ms */
		return r % 10 ? 20000 + rng_next(st) % 2000 : 3000000 + rng_next(st) % 500000;
	case CONSTANT:
		return param;
	case NEAR_POWERS: {     /* just around bucket-group edges */
		unsigned bits = 7 + (unsigned)(r % 33);
		uint64_t base = 1ull << bits;
		return base - 3 + rng_next(st) % 7;
	}
	case NDIST:
		break;
	}
	return 0;
}

static void test_random_distributions_within_1pct(void **state)
{
	(void)state;
	static const uint64_t sizes[] = { 1, 2, 3, 7, 100, 1001, 20000, 200000 };
	static const char *names[NDIST] = {
		"uniform<300", "uniform<2^40", "log-uniform", "long tail",
		"bimodal", "constant", "near powers of 2",
	};
	uint64_t *v = malloc(200000 * sizeof(*v));

	assert_non_null(v);
	for (int d = 0; d < NDIST; d++) {
		for (size_t si = 0; si < sizeof(sizes) / sizeof(sizes[0]); si++) {
			for (uint64_t seed = 1; seed <= 4; seed++) {
				uint64_t st = seed * 1000003u + (uint64_t)d * 77 + si;
				uint64_t param = seed == 1 ? 50000 : seed == 2 ? 1000
					       : seed == 3 ? 127 : 12345678;
				for (uint64_t i = 0; i < sizes[si]; i++)
					v[i] = draw((enum dist)d, &st, param);
				check_distribution(names[d], v, sizes[si]);
			}
		}
	}
	free(v);
}

/* ---- min, max, empty --------------------------------------------------- */

static void test_p0_is_min_and_p100_is_max(void **state)
{
	(void)state;
	struct hist h;
	static const uint64_t vals[] = { 1000001, 5, 77777777777ull, 123456, 129 };

	assert_int_equal(hist_init(&h), 0);
	for (size_t i = 0; i < sizeof(vals) / sizeof(vals[0]); i++)
		hist_record(&h, vals[i]);
	/* Neither is a bucket midpoint: both must be exact. */
	assert_int_equal(hist_percentile(&h, 0), 5);
	assert_int_equal(hist_percentile(&h, 100), 77777777777ull);
	assert_int_equal(hist_percentile(&h, -1), 5);
	assert_int_equal(hist_percentile(&h, 1000), 77777777777ull);
	/* No percentile leaves [min, max]. */
	for (double p = 0; p <= 100; p += 0.25) {
		uint64_t got = hist_percentile(&h, p);
		assert_in_range(got, 5, 77777777777ull);
	}
	hist_free(&h);
}

static void test_empty_returns_zero(void **state)
{
	(void)state;
	struct hist h;

	assert_int_equal(hist_init(&h), 0);
	assert_int_equal(h.n, 0);
	for (double p = 0; p <= 100; p += 12.5)
		assert_int_equal(hist_percentile(&h, p), 0);

	/* Reset brings it back to empty. */
	hist_record(&h, 42);
	hist_record(&h, 4200000);
	hist_reset(&h);
	assert_int_equal(h.n, 0);
	for (double p = 0; p <= 100; p += 12.5)
		assert_int_equal(hist_percentile(&h, p), 0);
	/* And it records afresh: the old max does not survive. */
	hist_record(&h, 7);
	assert_int_equal(hist_percentile(&h, 100), 7);
	assert_int_equal(hist_percentile(&h, 0), 7);
	hist_free(&h);

	/* A freed (or never initialised) histogram reads as empty. */
	assert_null(h.blk);
	assert_int_equal(hist_percentile(&h, 50), 0);
}

/* ---- merge ------------------------------------------------------------- */

static void assert_hist_same(const struct hist *a, const struct hist *b)
{
	assert_int_equal(a->n, b->n);
	assert_int_equal(a->min, b->min);
	assert_int_equal(a->max, b->max);
	/* Sums may be added in another order: equal to rounding. */
	double d = a->sum - b->sum;
	assert_true(d <= 1e-12 * b->sum && -d <= 1e-12 * b->sum);
	for (double p = 0; p <= 100; p += 0.125)
		assert_int_equal(hist_percentile(a, p), hist_percentile(b, p));
}

static void test_merge_equals_recording_into_one(void **state)
{
	(void)state;
	struct hist a, b, all;

	for (uint64_t seed = 1; seed <= 20; seed++) {
		uint64_t st = seed;
		assert_int_equal(hist_init(&a), 0);
		assert_int_equal(hist_init(&b), 0);
		assert_int_equal(hist_init(&all), 0);
		/* b holds both the smallest and the largest values sometimes,
		 * a other times, so min and max must come from either side. */
		for (int i = 0; i < 5000; i++) {
			uint64_t v = draw(LOG_UNIFORM, &st, 0);
			hist_record(rng_next(&st) % (seed % 3 + 2) ? &a : &b, v);
			hist_record(&all, v);
		}
		hist_merge(&a, &b);
		assert_hist_same(&a, &all);
		hist_free(&a);
		hist_free(&b);
		hist_free(&all);
	}
}

static void test_merge_with_empty(void **state)
{
	(void)state;
	struct hist a, empty, copy;

	assert_int_equal(hist_init(&a), 0);
	assert_int_equal(hist_init(&empty), 0);
	assert_int_equal(hist_init(&copy), 0);
	for (uint64_t v = 1000; v < 100000; v += 333) {
		hist_record(&a, v);
		hist_record(&copy, v);
	}
	/* Merging an empty one changes nothing... */
	hist_merge(&a, &empty);
	assert_hist_same(&a, &copy);
	/* ...and merging into an empty one copies (min is not stuck at 0). */
	hist_merge(&empty, &a);
	assert_hist_same(&empty, &copy);
	assert_int_equal(hist_percentile(&empty, 0), 1000);
	hist_free(&a);
	hist_free(&empty);
	hist_free(&copy);
}

/* ---- bucket layout ------------------------------------------------------- */

/* Values to probe: everything below 2^16, and around and between every
 * power of two up to 2^63, plus random values of every magnitude. */
static size_t sample_values(uint64_t *out, size_t cap)
{
	size_t n = 0;
	uint64_t st = 4242;

	for (uint64_t v = 0; v < (1u << 16); v++)
		out[n++] = v;
	for (unsigned b = 16; b < 64; b++) {
		uint64_t base = 1ull << b;
		for (int d = -3; d <= 3; d++)
			out[n++] = base + (uint64_t)(int64_t)d;
		for (int i = 0; i < 200; i++)
			out[n++] = base + (rng_next(&st) & (base - 1));
	}
	out[n++] = UINT64_MAX;
	out[n++] = UINT64_MAX - 1;
	assert_true(n <= cap);
	qsort(out, n, sizeof(*out), cmp_u64);
	return n;
}

static void test_index_monotonic_and_in_range(void **state)
{
	(void)state;
	enum { CAP = 1 << 17 };
	uint64_t *v = malloc(CAP * sizeof(*v));
	size_t n;

	assert_non_null(v);
	n = sample_values(v, CAP);
	unsigned prev = 0;
	for (size_t i = 0; i < n; i++) {
		unsigned idx = hist_index(v[i]);
		assert_true(idx < HIST_BUCKETS);
		if (idx < prev)
			fail_msg("hist_index(%llu) = %u < %u for a smaller value",
				 (unsigned long long)v[i], idx, prev);
		prev = idx;
	}
	free(v);
}

static void test_bucket_bounds_bracket_every_value(void **state)
{
	(void)state;
	enum { CAP = 1 << 17 };
	uint64_t *v = malloc(CAP * sizeof(*v));
	const uint64_t top = 1ull << HIST_MAX_BITS;
	size_t n;

	assert_non_null(v);
	n = sample_values(v, CAP);
	for (size_t i = 0; i < n; i++) {
		unsigned idx = hist_index(v[i]);
		if (v[i] >= top) {
			assert_int_equal(idx, HIST_BUCKETS - 1);
			continue;
		}
		uint64_t lo = hist_bucket_low(idx), hi = hist_bucket_high(idx);
		if (!(lo <= v[i] && v[i] <= hi))
			fail_msg("value %llu in bucket %u = [%llu, %llu]",
				 (unsigned long long)v[i], idx,
				 (unsigned long long)lo, (unsigned long long)hi);
		/* The 1 % promise: a bucket is at most 1/64 of its low end wide,
		 * so its middle is within 1/128 of anything in it. */
		if (v[i] >= 2 * HIST_SUB)
			assert_true((hi - lo + 1) * HIST_SUB <= lo);
		else
			assert_int_equal(lo, hi);
	}
	free(v);
}

static void test_buckets_tile_the_range(void **state)
{
	(void)state;
	/* Consecutive, non-overlapping, from 0 up to 2^40 - 1, and each
	 * bucket's bounds map back to it. */
	assert_int_equal(hist_bucket_low(0), 0);
	for (unsigned i = 0; i < HIST_BUCKETS; i++) {
		uint64_t lo = hist_bucket_low(i), hi = hist_bucket_high(i);
		assert_true(lo <= hi);
		assert_int_equal(hist_index(lo), i);
		assert_int_equal(hist_index(hi), i);
		if (i + 1 < HIST_BUCKETS)
			assert_int_equal(hi + 1, hist_bucket_low(i + 1));
	}
	assert_int_equal(hist_bucket_high(HIST_BUCKETS - 1), (1ull << HIST_MAX_BITS) - 1);
}

static void test_huge_values_in_last_bucket_max_exact(void **state)
{
	(void)state;
	struct hist h;
	const uint64_t top = 1ull << HIST_MAX_BITS;

	assert_int_equal(hist_index(top - 1), HIST_BUCKETS - 1);
	assert_int_equal(hist_index(top), HIST_BUCKETS - 1);
	assert_int_equal(hist_index(top * 1000 + 17), HIST_BUCKETS - 1);
	assert_int_equal(hist_index(UINT64_MAX), HIST_BUCKETS - 1);

	assert_int_equal(hist_init(&h), 0);
	hist_record(&h, 100);
	hist_record(&h, top + 12345);
	assert_int_equal(hist_percentile(&h, 100), top + 12345);
	assert_int_equal(hist_percentile(&h, 0), 100);
	/* The top half is the huge value's bucket, clamped to [min, max]. */
	assert_in_range(hist_percentile(&h, 75), top - (top >> 6), top + 12345);

	hist_record(&h, UINT64_MAX);
	assert_int_equal(hist_percentile(&h, 100), UINT64_MAX);
	assert_int_equal(h.max, UINT64_MAX);
	assert_int_equal(h.n, 3);
	/* Small values are still answered exactly. */
	assert_int_equal(hist_percentile(&h, 33), 100);
	hist_free(&h);
}

/* Issue 11, item 10: memory follows the values, not the range: one block
 * of HIST_SUB counters per power of two that a value fell in. */
static void test_blocks_allocated_lazily(void **state)
{
	(void)state;
	struct hist h;
	unsigned blocks = 0;

	assert_int_equal(hist_init(&h), 0);
	assert_null(h.blk);
	hist_record(&h, 50000);
	hist_record(&h, 50001);
	hist_record(&h, 60000);       /* the same power of two */
	for (unsigned b = 0; b < HIST_BLOCKS; b++)
		blocks += h.blk[b] != NULL;
	assert_int_equal(blocks, 1);
	hist_record(&h, 5000000);
	blocks = 0;
	for (unsigned b = 0; b < HIST_BLOCKS; b++)
		blocks += h.blk[b] != NULL;
	assert_int_equal(blocks, 2);
	assert_int_equal(hist_count(&h, hist_index(50000)), 2);
	assert_int_equal(hist_count(&h, hist_index(500)), 0);
	hist_free(&h);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_small_values_exact),
		cmocka_unit_test(test_two_values_rank_rounds_up),
		cmocka_unit_test(test_random_distributions_within_1pct),
		cmocka_unit_test(test_p0_is_min_and_p100_is_max),
		cmocka_unit_test(test_empty_returns_zero),
		cmocka_unit_test(test_merge_equals_recording_into_one),
		cmocka_unit_test(test_merge_with_empty),
		cmocka_unit_test(test_index_monotonic_and_in_range),
		cmocka_unit_test(test_bucket_bounds_bracket_every_value),
		cmocka_unit_test(test_buckets_tile_the_range),
		cmocka_unit_test(test_huge_values_in_last_bucket_max_exact),
		cmocka_unit_test(test_blocks_allocated_lazily),
	};
	return cmocka_run_group_tests_name("hist", tests, NULL, NULL);
}
