/*
 * test_crc32c.c - every CRC-32C implementation against a bitwise reference.
 *
 * Each implementation (table; sse4.2, one chain; sse4.2x3+pclmul and
 * sse4.2x3+vpclmulqdq, three chains and a fold) is run on its own,
 * through crc32c_get, so that a bug in one cannot hide behind the
 * dispatcher; an implementation this CPU lacks is skipped with the
 * reason. Per implementation: the published check
 * values; every length 0..4096 at every alignment 0..7 and at random
 * offsets, from zero and from a running CRC; long buffers that reach the
 * largest three-chain blocks; and incremental computation split at many
 * points. The reference is the definition, one bit at a time, so it
 * shares no table or constant with the code under test. Last, crc32c()
 * itself and the name crc32c_impl() reports.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "crc32c.h"

/* ---- helpers ---------------------------------------------------------- */

static uint64_t rng_next(uint64_t *state)
{
	uint64_t z = (*state += 0x9E3779B97F4A7C15ull);
	z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
	z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
	return z ^ (z >> 31);
}

static void fill_random(uint8_t *buf, size_t len, uint64_t seed)
{
	uint64_t st = seed;
	for (size_t i = 0; i < len; i++)
		buf[i] = (uint8_t)rng_next(&st);
}

/* The register after one more byte: the definition, bit by bit. */
static uint32_t ref_byte(uint32_t reg, uint8_t b)
{
	reg ^= b;
	for (int k = 0; k < 8; k++)
		reg = reg & 1 ? (reg >> 1) ^ 0x82F63B78u : reg >> 1;
	return reg;
}

static uint32_t ref_crc(uint32_t crc, const uint8_t *p, size_t len)
{
	uint32_t reg = ~crc;
	while (len--)
		reg = ref_byte(reg, *p++);
	return ~reg;
}

/* The implementation under test, or a skip that says why it is missing. */
static crc32c_fn *impl_or_skip(void **state)
{
	const char *name, *why;
	crc32c_fn *fn = crc32c_get(*(const int *)*state, &name, &why);
	if (!fn) {
		printf("skipped: %s: %s\n", name, why);
		skip();
	}
	return fn;
}

/*
 * fn over len bytes that start off bytes into a heap block of exactly
 * off + len bytes, so that ASan sees any read past the end.
 */
static uint32_t crc_at(crc32c_fn *fn, uint32_t crc, const uint8_t *src,
		       size_t off, size_t len)
{
	uint8_t *mem = malloc(off + len + (off + len == 0));
	assert_non_null(mem);
	memcpy(mem + off, src, len);
	uint32_t c = fn(crc, mem + off, len);
	free(mem);
	return c;
}

/* ---- per implementation ----------------------------------------------- */

static void test_check_values(void **state)
{
	crc32c_fn *fn = impl_or_skip(state);
	uint8_t buf[32], b = 0x5A;

	assert_int_equal(fn(0, "123456789", 9), 0xE3069283u);
	/* RFC 3720 (iSCSI) appendix B.4 vectors. */
	memset(buf, 0, sizeof(buf));
	assert_int_equal(fn(0, buf, 32), 0x8A9136AAu);
	memset(buf, 0xFF, sizeof(buf));
	assert_int_equal(fn(0, buf, 32), 0x62A8AB43u);
	for (int i = 0; i < 32; i++)
		buf[i] = (uint8_t)i;
	assert_int_equal(fn(0, buf, 32), 0x46DD794Eu);
	for (int i = 0; i < 32; i++)
		buf[i] = (uint8_t)(31 - i);
	assert_int_equal(fn(0, buf, 32), 0x113FDB5Cu);
	/* Empty: zero from zero, and a running CRC passes unchanged. */
	assert_int_equal(fn(0, &b, 0), 0);
	assert_int_equal(fn(0xE3069283u, &b, 0), 0xE3069283u);
}

/*
 * Every length 0..4096 at alignments 0..7 and at 8 random offsets, each
 * from its own starting CRC. The reference walks the bytes once per
 * offset, so each length costs one byte of reference work.
 */
static void test_every_length(void **state)
{
	crc32c_fn *fn = impl_or_skip(state);
	enum { MAXLEN = 4096, RANDOM_OFFSETS = 8 };
	uint8_t *src = malloc(2 * MAXLEN);
	uint64_t st = 77;

	assert_non_null(src);
	fill_random(src, 2 * MAXLEN, 5);
	for (unsigned o = 0; o < 8 + RANDOM_OFFSETS; o++) {
		size_t off = o < 8 ? o : 8 + rng_next(&st) % (MAXLEN - 8);
		uint32_t init = o < 8 ? 0 : (uint32_t)rng_next(&st);
		uint32_t reg = ~init;
		for (size_t len = 0; len <= MAXLEN; len++) {
			if (len)
				reg = ref_byte(reg, src[off + len - 1]);
			uint32_t got = crc_at(fn, init, src + off, off, len);
			if (got != ~reg)
				fail_msg("len %zu offset %zu from 0x%08x: got 0x%08x, want 0x%08x",
					 len, off, init, got, ~reg);
		}
	}
	free(src);
}

/* Lengths past 4 KiB, up to 96 KiB, so that the longest rounds of the
 * three-chain code and each smaller tier after them are all used. */
static void test_long_buffers(void **state)
{
	crc32c_fn *fn = impl_or_skip(state);
	enum { MAXLEN = 96 * 1024 };
	uint8_t *src = malloc(MAXLEN + 64);
	uint64_t st = 78;

	assert_non_null(src);
	fill_random(src, MAXLEN + 64, 6);
	for (size_t len = 4097; len <= MAXLEN; len += 1 + rng_next(&st) % 3000) {
		size_t off = rng_next(&st) % 64;
		uint32_t init = (uint32_t)rng_next(&st);
		uint32_t want = ref_crc(init, src + off, len);
		uint32_t got = crc_at(fn, init, src + off, off, len);
		if (got != want)
			fail_msg("len %zu offset %zu: got 0x%08x, want 0x%08x", len, off, got, want);
	}
	/* Exactly one and three of the longest rounds (2 or 4 KiB folded +
	 * three 2 KiB chains), one of three chains only, and around them. */
	static const size_t edge[] = { 6143, 6144, 6145, 8191, 8192, 8193,
				       10239, 10240, 10241, 24575, 24576, 24577,
				       30719, 30720, 30721, 65536 };
	for (size_t i = 0; i < sizeof(edge) / sizeof(edge[0]); i++)
		assert_int_equal(crc_at(fn, 0, src, 0, edge[i]), ref_crc(0, src, edge[i]));
	free(src);
}

/* crc(crc(0, a), b) == crc(0, a b) with the split at every point of a
 * short buffer, at many points of a long one, and in three pieces. */
static void test_incremental(void **state)
{
	crc32c_fn *fn = impl_or_skip(state);
	enum { SHORT = 1000, LONG = 40000 };
	uint8_t *buf = malloc(LONG);

	assert_non_null(buf);
	fill_random(buf, LONG, 1234);
	uint32_t whole = ref_crc(0, buf, SHORT);
	for (size_t k = 0; k <= SHORT; k++)
		assert_int_equal(fn(fn(0, buf, k), buf + k, SHORT - k), whole);
	for (size_t a = 0; a <= SHORT; a += 37)
		for (size_t b = a; b <= SHORT; b += 41)
			assert_int_equal(fn(fn(fn(0, buf, a), buf + a, b - a), buf + b, SHORT - b),
					 whole);
	uint32_t c = 0;
	for (size_t i = 0; i < SHORT; i++)
		c = fn(c, buf + i, 1);
	assert_int_equal(c, whole);

	whole = ref_crc(0, buf, LONG);
	for (size_t k = 0; k <= LONG; k += 331)
		assert_int_equal(fn(fn(0, buf, k), buf + k, LONG - k), whole);
	free(buf);
}

/* ---- the dispatcher --------------------------------------------------- */

static void test_dispatch(void **state)
{
	(void)state;
	enum { MAXLEN = 20000 };
	uint8_t *src = malloc(MAXLEN);
	int named = 0;

	assert_non_null(src);
	fill_random(src, MAXLEN, 9);
	for (size_t len = 0; len <= MAXLEN; len = len < 300 ? len + 1 : len * 5 / 4)
		assert_int_equal(crc32c(3, src, len), ref_crc(3, src, len));
	/* It names an implementation this CPU has. */
	for (int k = 0; k < CRC32C_NKINDS; k++) {
		const char *name, *why;
		if (crc32c_get(k, &name, &why) && strcmp(name, crc32c_impl()) == 0)
			named = 1;
	}
	assert_true(named);
	free(src);
}

int main(void)
{
	static int kinds[CRC32C_NKINDS];
	static char names[CRC32C_NKINDS][4][80];
	static const struct { const char *what; CMUnitTestFunction fn; } per[4] = {
		{ "check values", test_check_values },
		{ "every length 0..4096 at 16 offsets", test_every_length },
		{ "long buffers up to 96 KiB", test_long_buffers },
		{ "incremental", test_incremental },
	};
	struct CMUnitTest tests[CRC32C_NKINDS * 4 + 1];
	size_t n = 0;

	for (int k = 0; k < CRC32C_NKINDS; k++) {
		const char *name, *why;
		kinds[k] = k;
		crc32c_get(k, &name, &why);
		for (int i = 0; i < 4; i++) {
			snprintf(names[k][i], sizeof(names[k][i]), "%s: %s", name, per[i].what);
			tests[n++] = (struct CMUnitTest){ .name = names[k][i],
				.test_func = per[i].fn, .initial_state = &kinds[k] };
		}
	}
	tests[n++] = (struct CMUnitTest){ .name = "crc32c() and crc32c_impl()",
					  .test_func = test_dispatch };
	return _cmocka_run_group_tests("crc32c", tests, n, NULL, NULL);
}
