/*
 * crc32c.c - CRC-32C four ways, chosen once at run time so the build
 * stays portable:
 *
 * - "table": slicing-by-8, for CPUs without SSE4.2;
 * - "sse4.2": one chain of crc32 instructions. Each depends on the one
 *   before, so it runs at one instruction per latency (3 cycles on current
 *   x86): 8 bytes per 3 cycles. Best for short payloads;
 * - "sse4.2x3+pclmul": the CPU can start one crc32 per cycle, so a long
 *   buffer is cut into three consecutive blocks whose CRCs are computed
 *   side by side, then joined. Joining needs CRC(A) shifted over the bytes
 *   that follow it, a multiplication by x^(8n) mod P: one carry-less
 *   multiply (PCLMULQDQ) by a precomputed constant and one crc32 to reduce.
 *   In the longest rounds a fourth block is folded with PCLMULQDQ at the
 *   same time, on units the crc32 chains leave idle;
 * - "sse4.2x3+vpclmulqdq": the same, folding with 256-bit registers where
 *   the CPU has AVX2 and VPCLMULQDQ, two chunks per instruction.
 *
 * The CRC register arithmetic, reflected (bit 31 is x^0): processing n
 * bytes M from state S gives S * x^(8n) + M * x^32 (mod P), so the state
 * after A then B is state(A) * x^(8|B|) xor the state of B from zero.
 */
#include "crc32c.h"

#include <pthread.h>
#include <string.h>

#define POLY 0x82F63B78u

static uint32_t table[8][256];
static pthread_once_t table_once = PTHREAD_ONCE_INIT;

static void table_init(void)
{
	for (uint32_t n = 0; n < 256; n++) {
		uint32_t c = n;
		for (int k = 0; k < 8; k++)
			c = c & 1 ? (c >> 1) ^ POLY : c >> 1;
		table[0][n] = c;
	}
	for (uint32_t n = 0; n < 256; n++)
		for (int k = 1; k < 8; k++)
			table[k][n] = (table[k - 1][n] >> 8) ^ table[0][table[k - 1][n] & 0xff];
}

uint32_t crc32c_sw(uint32_t crc, const void *buf, size_t len)
{
	const uint8_t *p = buf;

	pthread_once(&table_once, table_init);
	crc = ~crc;
	while (len && ((uintptr_t)p & 7)) {
		crc = (crc >> 8) ^ table[0][(crc ^ *p++) & 0xff];
		len--;
	}
	while (len >= 8) {
		uint64_t w;
		memcpy(&w, p, 8);
		/* The tables assume little-endian words. */
#if __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
		w = __builtin_bswap64(w);
#endif
		w ^= crc;
		crc = table[7][w & 0xff] ^ table[6][(w >> 8) & 0xff] ^
		      table[5][(w >> 16) & 0xff] ^ table[4][(w >> 24) & 0xff] ^
		      table[3][(w >> 32) & 0xff] ^ table[2][(w >> 40) & 0xff] ^
		      table[1][(w >> 48) & 0xff] ^ table[0][w >> 56];
		p += 8;
		len -= 8;
	}
	while (len--)
		crc = (crc >> 8) ^ table[0][(crc ^ *p++) & 0xff];
	return ~crc;
}

#if defined(__x86_64__)
#include <immintrin.h>

/* a * b mod P, reflected. Only for the constants, once. */
static uint32_t gf_mul(uint32_t a, uint32_t b)
{
	uint32_t p = 0;
	for (int i = 0; i < 32; i++) {
		if (a & (0x80000000u >> i))
			p ^= b;
		b = b & 1 ? (b >> 1) ^ POLY : b >> 1;
	}
	return p;
}

/* x^n mod P, reflected, by squaring. */
static uint32_t gf_xpow(uint64_t n)
{
	uint32_t r = 0x80000000u, sq = 0x40000000u;   /* 1 and x */
	for (; n; n >>= 1) {
		if (n & 1)
			r = gf_mul(r, sq);
		sq = gf_mul(sq, sq);
	}
	return r;
}

/*
 * Block sizes per chain, largest first: a long buffer goes through rounds
 * of three 2 KiB chains (with a fold beside them, below), where the join
 * (about 10 cycles) is 1 % of the round; the smaller ones take what is
 * left. Below 3 * 64 bytes one chain is faster.
 */
#define X3_TIERS 3
static const size_t x3_block[X3_TIERS] = { 2048, 256, 64 };
#define X3_MIN (3 * 64)
/* x3_k[t][0] shifts a CRC over x3_block[t] bytes, [1] over twice that. */
static uint32_t x3_k[X3_TIERS][2];
static pthread_once_t x3_once = PTHREAD_ONCE_INIT;

/*
 * Folding, for the fourth stream of the longest rounds: a 16-byte chunk
 * A = L x^64 + H (L its first 8 bytes) moved d bytes on is
 * L x^(8d+64) + H x^(8d). The same clmul identity turns that into two
 * multiplies by x^(8d+31) and x^(8d-33), a 128-bit value congruent mod P
 * to A shifted, which is XORed into the chunk d bytes on. What is left
 * at the end is 16 bytes with the CRC of the whole region.
 */
#define FOLD_BLOCK 2048         /* bytes folded per round, beside 3 chains */
static __m128i fold_k[4];       /* for d = 64 (the loop), 48, 32, 16 */
static __m128i fold_kw[4];      /* for d = 128 (the wide loop), 96, 64, 32 */
static uint32_t fold_k3;        /* shifts a CRC over 3 chains' blocks */

static void x3_init(void)
{
	for (int t = 0; t < X3_TIERS; t++) {
		x3_k[t][0] = gf_xpow(8 * x3_block[t] - 33);
		x3_k[t][1] = gf_xpow(16 * x3_block[t] - 33);
	}
	static const unsigned dist[4] = { 64, 48, 32, 16 };
	for (int i = 0; i < 4; i++)
		fold_k[i] = _mm_set_epi64x(gf_xpow(8 * dist[i] - 33), gf_xpow(8 * dist[i] + 31));
	for (int i = 0; i < 4; i++)
		fold_kw[i] = _mm_set_epi64x(gf_xpow(8 * 2 * dist[i] - 33),
					    gf_xpow(8 * 2 * dist[i] + 31));
	fold_k3 = gf_xpow(8 * 3 * x3_block[0] - 33);
}

/*
 * clmul(S, K) is the 64-bit product S*K*x in the reflected layout (the
 * product has 63 bits; bit 0 is x^63 of the 64-bit word), and crc32 of
 * that word from zero multiplies by x^32 and reduces: S*K*x^33. With
 * K = x^(8n - 33) that is S shifted over n bytes.
 */
__attribute__((target("sse4.2,pclmul")))
static inline uint32_t x3_shift(uint64_t s, uint32_t k)
{
	__m128i p = _mm_clmulepi64_si128(_mm_cvtsi32_si128((int)(uint32_t)s),
					 _mm_cvtsi32_si128((int)k), 0);
	return (uint32_t)_mm_crc32_u64(0, (uint64_t)_mm_cvtsi128_si64(p));
}

static inline uint64_t load64(const uint8_t *p)
{
	uint64_t w;
	memcpy(&w, p, 8);
	return w;
}

/* A 16-byte chunk moved on by the distance k was made for. */
__attribute__((target("sse4.2,pclmul")))
static inline __m128i clmul1(__m128i acc, __m128i k)
{
	return _mm_xor_si128(_mm_clmulepi64_si128(acc, k, 0x00),
			     _mm_clmulepi64_si128(acc, k, 0x11));
}

__attribute__((target("sse4.2,pclmul")))
static inline __m128i fold16(__m128i acc, __m128i k, const uint8_t *next)
{
	return _mm_xor_si128(clmul1(acc, k), _mm_loadu_si128((const __m128i *)next));
}

/* The CRC state of a folded region from its last 16 bytes, shifted over
 * the three chains' blocks that follow it, joined with theirs. */
__attribute__((target("sse4.2,pclmul")))
static inline uint64_t x4_join(__m128i f, uint64_t a, uint64_t b, uint64_t d)
{
	uint64_t s = _mm_crc32_u64(0, (uint64_t)_mm_cvtsi128_si64(f));
	s = _mm_crc32_u64(s, (uint64_t)_mm_extract_epi64(f, 1));
	return x3_shift(s, fold_k3) ^ x3_shift(a, x3_k[0][1]) ^ x3_shift(b, x3_k[0][0]) ^ d;
}

/*
 * The longest round: FOLD_BLOCK bytes folded by PCLMULQDQ and three
 * blocks of x3_block[0] bytes by crc32 chains, all at once - the two use
 * different execution units, so the folding is nearly free throughput.
 * The 3 : 1 split matches this CPU family's rates (crc32 one per cycle,
 * PCLMULQDQ one per two). Returns the state after the round.
 */
__attribute__((target("sse4.2,pclmul")))
static uint64_t x4_round(uint64_t c, const uint8_t *p)
{
	const size_t blk = x3_block[0];
	const uint8_t *q = p + FOLD_BLOCK;
	uint64_t a = 0, b = 0, d = 0;
	/* The incoming state joins the message: XORed into its first bytes
	 * it adds c x^(8n), exactly what starting from c would. */
	__m128i f0 = _mm_xor_si128(_mm_loadu_si128((const __m128i *)p),
				   _mm_cvtsi32_si128((int)(uint32_t)c));
	__m128i f1 = _mm_loadu_si128((const __m128i *)(p + 16));
	__m128i f2 = _mm_loadu_si128((const __m128i *)(p + 32));
	__m128i f3 = _mm_loadu_si128((const __m128i *)(p + 48));

	for (size_t j = 0; j < FOLD_BLOCK; j += 64) {
		if (j) {
			f0 = fold16(f0, fold_k[0], p + j);
			f1 = fold16(f1, fold_k[0], p + j + 16);
			f2 = fold16(f2, fold_k[0], p + j + 32);
			f3 = fold16(f3, fold_k[0], p + j + 48);
		}
		/* blk / FOLD_BLOCK = 1: 64 bytes of each chain per 64 folded. */
		for (size_t i = j; i < j + 64; i += 8) {
			a = _mm_crc32_u64(a, load64(q + i));
			b = _mm_crc32_u64(b, load64(q + blk + i));
			d = _mm_crc32_u64(d, load64(q + 2 * blk + i));
		}
	}
	/* Four registers into the last one. */
	f3 = _mm_xor_si128(f3, clmul1(f0, fold_k[1]));
	f3 = _mm_xor_si128(f3, clmul1(f1, fold_k[2]));
	f3 = _mm_xor_si128(f3, clmul1(f2, fold_k[3]));
	return x4_join(f3, a, b, d);
}

#define WIDE_TARGET "sse4.2,pclmul,avx2,vpclmulqdq"
#define FOLD_BLOCK_WIDE 4096    /* the same with 256-bit registers */

/* Two 16-byte chunks moved on by the distance k was made for. */
__attribute__((target(WIDE_TARGET)))
static inline __m256i clmul2(__m256i acc, __m256i k)
{
	return _mm256_xor_si256(_mm256_clmulepi64_epi128(acc, k, 0x00),
				_mm256_clmulepi64_epi128(acc, k, 0x11));
}

__attribute__((target(WIDE_TARGET)))
static inline __m256i fold32(__m256i acc, __m256i k, const uint8_t *next)
{
	return _mm256_xor_si256(clmul2(acc, k), _mm256_loadu_si256((const __m256i *)next));
}

/*
 * x4_round with VPCLMULQDQ: each 256-bit register folds two 16-byte
 * chunks at once, so twice the bytes are folded beside the same chains.
 */
__attribute__((target(WIDE_TARGET)))
static uint64_t x4_round_wide(uint64_t c, const uint8_t *p)
{
	const size_t blk = x3_block[0];
	const uint8_t *q = p + FOLD_BLOCK_WIDE;
	const __m256i k128 = _mm256_broadcastsi128_si256(fold_kw[0]);
	const __m256i zero = _mm256_setzero_si256();
	uint64_t a = 0, b = 0, d = 0;
	__m256i f0 = _mm256_xor_si256(_mm256_loadu_si256((const __m256i *)p),
				      _mm256_inserti128_si256(zero, _mm_cvtsi32_si128((int)(uint32_t)c), 0));
	__m256i f1 = _mm256_loadu_si256((const __m256i *)(p + 32));
	__m256i f2 = _mm256_loadu_si256((const __m256i *)(p + 64));
	__m256i f3 = _mm256_loadu_si256((const __m256i *)(p + 96));

	for (size_t j = 0; j < FOLD_BLOCK_WIDE; j += 128) {
		if (j) {
			f0 = fold32(f0, k128, p + j);
			f1 = fold32(f1, k128, p + j + 32);
			f2 = fold32(f2, k128, p + j + 64);
			f3 = fold32(f3, k128, p + j + 96);
		}
		/* 64 bytes of each chain per 128 folded. */
		for (size_t i = j / 2; i < j / 2 + 64; i += 8) {
			a = _mm_crc32_u64(a, load64(q + i));
			b = _mm_crc32_u64(b, load64(q + blk + i));
			d = _mm_crc32_u64(d, load64(q + 2 * blk + i));
		}
	}
	/* Four registers into one, then its two halves into one. */
	f3 = _mm256_xor_si256(f3, clmul2(f0, _mm256_broadcastsi128_si256(fold_kw[1])));
	f3 = _mm256_xor_si256(f3, clmul2(f1, _mm256_broadcastsi128_si256(fold_kw[2])));
	f3 = _mm256_xor_si256(f3, clmul2(f2, _mm256_broadcastsi128_si256(fold_kw[3])));
	__m128i lo = _mm256_castsi256_si128(f3), hi = _mm256_extracti128_si256(f3, 1);
	return x4_join(_mm_xor_si128(hi, clmul1(lo, fold_k[3])), a, b, d);
}

/* One chain over len bytes from state c (not inverted). The buffer is
 * mostly 8-aligned by the callers' prologue; unaligned loads are only
 * slower when they cross a cache line. */
__attribute__((target("sse4.2")))
static inline uint64_t hw_chain(uint64_t c, const uint8_t *p, size_t len)
{
	for (; len >= 8; p += 8, len -= 8)
		c = _mm_crc32_u64(c, load64(p));
	if (len & 4) {
		uint32_t w;
		memcpy(&w, p, 4);
		c = _mm_crc32_u32((uint32_t)c, w);
		p += 4;
	}
	if (len & 2) {
		uint16_t w;
		memcpy(&w, p, 2);
		c = _mm_crc32_u16((uint32_t)c, w);
		p += 2;
	}
	if (len & 1)
		c = _mm_crc32_u8((uint32_t)c, *p);
	return c;
}

__attribute__((target("sse4.2")))
static uint32_t crc32c_hw1(uint32_t crc, const void *buf, size_t len)
{
	return ~(uint32_t)hw_chain(~crc, buf, len);
}

/*
 * The long-buffer code for both fold widths: wide selects the round, a
 * constant in each caller, so each gets its own copy with its own target.
 */
__attribute__((target("sse4.2,pclmul"), always_inline))
static inline uint32_t hw3_body(uint32_t crc, const uint8_t *p, size_t len, int wide)
{
	const size_t round = (wide ? FOLD_BLOCK_WIDE : FOLD_BLOCK) + 3 * x3_block[0];
	uint64_t c = ~crc;

	if (len < X3_MIN)
		return ~(uint32_t)hw_chain(c, p, len);
	pthread_once(&x3_once, x3_init);
	/* Aligned words, so that no load of the three chains splits a line. */
	size_t head = (8 - ((uintptr_t)p & 7)) & 7;
	c = hw_chain(c, p, head);
	p += head;
	len -= head;
	for (; len >= round; len -= round, p += round)
		c = wide ? x4_round_wide(c, p) : x4_round(c, p);
	for (int t = 0; t < X3_TIERS; t++) {
		const size_t blk = x3_block[t];
		while (len >= 3 * blk) {
			const uint8_t *end = p + blk;
			uint64_t a = c, b = 0, d = 0;
			do {
				a = _mm_crc32_u64(a, load64(p));
				b = _mm_crc32_u64(b, load64(p + blk));
				d = _mm_crc32_u64(d, load64(p + 2 * blk));
				p += 8;
			} while (p < end);
			c = x3_shift(a, x3_k[t][1]) ^ x3_shift(b, x3_k[t][0]) ^ d;
			p += 2 * blk;
			len -= 3 * blk;
		}
	}
	return ~(uint32_t)hw_chain(c, p, len);
}

__attribute__((target("sse4.2,pclmul")))
static uint32_t crc32c_hw3(uint32_t crc, const void *buf, size_t len)
{
	return hw3_body(crc, buf, len, 0);
}

__attribute__((target(WIDE_TARGET)))
static uint32_t crc32c_hw3_wide(uint32_t crc, const void *buf, size_t len)
{
	return hw3_body(crc, buf, len, 1);
}

/* 0 table, 1 SSE4.2, 2 and PCLMULQDQ, 3 and AVX2 with VPCLMULQDQ. */
static int hw_level(void)
{
	__builtin_cpu_init();
	if (!__builtin_cpu_supports("sse4.2"))
		return 0;
	if (!__builtin_cpu_supports("pclmul"))
		return 1;
	if (!__builtin_cpu_supports("avx2") || !__builtin_cpu_supports("vpclmulqdq"))
		return 2;
	return 3;
}

/* Below X3_MIN the three chains are not worth their join. */
__attribute__((target("sse4.2,pclmul")))
static uint32_t crc32c_best(uint32_t crc, const void *buf, size_t len)
{
	if (len < X3_MIN)
		return ~(uint32_t)hw_chain(~crc, buf, len);
	return crc32c_hw3(crc, buf, len);
}

__attribute__((target(WIDE_TARGET)))
static uint32_t crc32c_best_wide(uint32_t crc, const void *buf, size_t len)
{
	if (len < X3_MIN)
		return ~(uint32_t)hw_chain(~crc, buf, len);
	return crc32c_hw3_wide(crc, buf, len);
}

static crc32c_fn *const level_fn[] = { crc32c_sw, crc32c_hw1, crc32c_best, crc32c_best_wide };
static const char *const level_name[] = {
	"table", "sse4.2", "sse4.2x3+pclmul", "sse4.2x3+vpclmulqdq"
};

/*
 * The choice, cached: crc32c() runs once per frame, so it is one load
 * and one indirect call. Relaxed atomics: every thread computes the same
 * answer, so a race to fill the cache is harmless, but it must not be a
 * data race.
 */
static crc32c_fn *best;

uint32_t crc32c(uint32_t crc, const void *buf, size_t len)
{
	crc32c_fn *fn = __atomic_load_n(&best, __ATOMIC_RELAXED);
	if (!fn) {
		fn = level_fn[hw_level()];
		__atomic_store_n(&best, fn, __ATOMIC_RELAXED);
	}
	return fn(crc, buf, len);
}

const char *crc32c_impl(void) { return level_name[hw_level()]; }

crc32c_fn *crc32c_get(int kind, const char **name, const char **why)
{
	int level = hw_level();

	*why = NULL;
	switch (kind) {
	case CRC32C_TABLE:
		*name = "table";
		return crc32c_sw;
	case CRC32C_SSE42:
		*name = "sse4.2";
		if (level >= 1)
			return crc32c_hw1;
		*why = "this CPU has no SSE4.2";
		return NULL;
	case CRC32C_SSE42X3:
		*name = "sse4.2x3+pclmul";
		if (level >= 2)
			return crc32c_hw3;
		*why = level ? "this CPU has no PCLMULQDQ" : "this CPU has no SSE4.2";
		return NULL;
	case CRC32C_SSE42X3_WIDE:
		*name = "sse4.2x3+vpclmulqdq";
		if (level >= 3)
			return crc32c_hw3_wide;
		*why = "this CPU lacks AVX2 or VPCLMULQDQ (or SSE4.2, PCLMULQDQ)";
		return NULL;
	}
	*name = "?";
	*why = "no such implementation";
	return NULL;
}
#else
uint32_t crc32c(uint32_t crc, const void *buf, size_t len) { return crc32c_sw(crc, buf, len); }
const char *crc32c_impl(void) { return "table"; }

crc32c_fn *crc32c_get(int kind, const char **name, const char **why)
{
	static const char *const names[] = {
		"table", "sse4.2", "sse4.2x3+pclmul", "sse4.2x3+vpclmulqdq"
	};
	*name = kind >= 0 && kind < CRC32C_NKINDS ? names[kind] : "?";
	*why = kind == CRC32C_TABLE ? NULL : "not an x86-64 build";
	return kind == CRC32C_TABLE ? crc32c_sw : NULL;
}
#endif
