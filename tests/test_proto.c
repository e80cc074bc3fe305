/*
 * test_proto.c - wire protocol v1 header encoding and validation.
 *
 * Covers: proto_encode/proto_decode round trips (including extreme field
 * values) and the exact big-endian byte layout; proto_check accepting
 * every valid type and rejecting each kind of bad header with a reason
 * that names the offending value. CRC-32C is tested in test_crc32c.c.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "proto.h"

/* ---- helpers ---------------------------------------------------------- */

/* splitmix64: small, deterministic, good enough for test data. */
static uint64_t rng_next(uint64_t *state)
{
	uint64_t z = (*state += 0x9E3779B97F4A7C15ull);
	z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
	z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
	return z ^ (z >> 31);
}

static void assert_header_equal(const struct proto_header *a,
				const struct proto_header *b)
{
	assert_int_equal(a->magic, b->magic);
	assert_int_equal(a->version, b->version);
	assert_int_equal(a->type, b->type);
	assert_int_equal(a->source, b->source);
	assert_int_equal(a->seq, b->seq);
	assert_int_equal(a->send_ns, b->send_ns);
	assert_int_equal(a->length, b->length);
	assert_int_equal(a->crc, b->crc);
}

static void round_trip(const struct proto_header *h)
{
	uint8_t wire[PROTO_HEADER_SIZE];
	struct proto_header back;

	memset(wire, 0xCC, sizeof(wire));
	memset(&back, 0x55, sizeof(back));
	proto_encode(h, wire);
	proto_decode(wire, &back);
	assert_header_equal(h, &back);
}

/* Run proto_check on h; it must reject, and the reason must contain each
 * of the given substrings (NULL-terminated list). */
static void assert_rejected(const struct proto_header *h, uint32_t max_payload, ...)
{
	char why[128];
	va_list ap;

	memset(why, 0, sizeof(why));
	const char *r = proto_check(h, max_payload, why, sizeof(why));
	assert_non_null(r);
	assert_true(r[0] != '\0');
	va_start(ap, max_payload);
	for (const char *want; (want = va_arg(ap, const char *)) != NULL;) {
		if (!strstr(r, want)) {
			va_end(ap);
			fail_msg("reason \"%s\" does not mention \"%s\"", r, want);
		}
	}
	va_end(ap);
}

static void assert_accepted(const struct proto_header *h, uint32_t max_payload)
{
	char why[128] = "";
	const char *r = proto_check(h, max_payload, why, sizeof(why));
	if (r)
		fail_msg("valid header rejected: %s", r);
}

/* ---- encode / decode -------------------------------------------------- */

static void test_round_trip_extremes(void **state)
{
	(void)state;
	static const uint64_t v64[] = {
		0, 1, 0xFF, 0x100, 0x7FFFFFFFFFFFFFFFull, 0x8000000000000000ull,
		0xFFFFFFFFull, 0x100000000ull, 0x0102030405060708ull, UINT64_MAX,
	};
	static const uint32_t v32[] = {
		0, 1, 0xFF, 0x100, 0x7FFFFFFFu, 0x80000000u, 0x01020304u, UINT32_MAX,
	};
	static const uint16_t v16[] = { 0, 1, 0xFF, 0x100, 0xDA7A, 0x7ADA, UINT16_MAX };
	static const uint8_t v8[] = { 0, 1, 2, 4, 5, 0x7F, 0x80, UINT8_MAX };

	/* Every field at every extreme, the others at a distinct pattern. */
	for (size_t i = 0; i < sizeof(v64) / sizeof(v64[0]); i++) {
		struct proto_header h = proto_make(PROTO_DATA, 0xA1B2C3D4u, v64[i],
						   v64[sizeof(v64) / sizeof(v64[0]) - 1 - i],
						   0x11223344u, 0x55667788u);
		round_trip(&h);
	}
	for (size_t i = 0; i < sizeof(v32) / sizeof(v32[0]); i++) {
		for (size_t j = 0; j < sizeof(v32) / sizeof(v32[0]); j++) {
			struct proto_header h = proto_make(PROTO_BYE, v32[i], 42, 43,
							   v32[j], v32[i] ^ v32[j]);
			round_trip(&h);
		}
	}
	for (size_t i = 0; i < sizeof(v16) / sizeof(v16[0]); i++) {
		for (size_t j = 0; j < sizeof(v8) / sizeof(v8[0]); j++) {
			struct proto_header h = proto_make(v8[j], 1, 2, 3, 4, 5);
			h.magic = v16[i];
			h.version = v8[sizeof(v8) / sizeof(v8[0]) - 1 - j];
			round_trip(&h);
		}
	}
	struct proto_header all_ones = {
		UINT16_MAX, UINT8_MAX, UINT8_MAX, UINT32_MAX,
		UINT64_MAX, UINT64_MAX, UINT32_MAX, UINT32_MAX,
	};
	struct proto_header all_zero = { 0, 0, 0, 0, 0, 0, 0, 0 };
	round_trip(&all_ones);
	round_trip(&all_zero);
}

static void test_round_trip_random(void **state)
{
	(void)state;
	uint64_t st = 0xDA7A0001;

	for (int i = 0; i < 100000; i++) {
		struct proto_header h;
		uint64_t a = rng_next(&st), b = rng_next(&st);
		h.magic = (uint16_t)a;
		h.version = (uint8_t)(a >> 16);
		h.type = (uint8_t)(a >> 24);
		h.source = (uint32_t)(a >> 32);
		h.seq = b;
		h.send_ns = rng_next(&st);
		h.length = (uint32_t)rng_next(&st);
		h.crc = (uint32_t)rng_next(&st);
		round_trip(&h);
	}
}

static void test_encode_byte_order(void **state)
{
	(void)state;
	struct proto_header h = proto_make(PROTO_DATA, 0xA1B2C3D4u,
					   0x0102030405060708ull,
					   0x1112131415161718ull,
					   0x21222324u, 0x31323334u);
	static const uint8_t expected[PROTO_HEADER_SIZE] = {
		0xDA, 0x7A,                                     /* magic   @0  */
		0x01,                                           /* version @2  */
		0x02,                                           /* type    @3  */
		0xA1, 0xB2, 0xC3, 0xD4,                         /* source  @4  */
		0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08, /* seq     @8  */
		0x11, 0x12, 0x13, 0x14, 0x15, 0x16, 0x17, 0x18, /* send_ns @16 */
		0x21, 0x22, 0x23, 0x24,                         /* length  @24 */
		0x31, 0x32, 0x33, 0x34,                         /* crc     @28 */
	};
	uint8_t wire[PROTO_HEADER_SIZE];

	memset(wire, 0xEE, sizeof(wire));
	proto_encode(&h, wire);
	assert_memory_equal(wire, expected, sizeof(expected));
}

static void test_decode_byte_order(void **state)
{
	(void)state;
	static const uint8_t wire[PROTO_HEADER_SIZE] = {
		0xDA, 0x7A, 0x01, 0x04,
		0x00, 0x00, 0x00, 0x2A,
		0x80, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01,
		0xFF, 0xFE, 0xFD, 0xFC, 0xFB, 0xFA, 0xF9, 0xF8,
		0x00, 0x01, 0x00, 0x00,
		0xE3, 0x06, 0x92, 0x83,
	};
	struct proto_header h;

	proto_decode(wire, &h);
	assert_int_equal(h.magic, 0xDA7A);
	assert_int_equal(h.version, 1);
	assert_int_equal(h.type, PROTO_BYE);
	assert_int_equal(h.source, 42);
	assert_int_equal(h.seq, 0x8000000000000001ull);
	assert_int_equal(h.send_ns, 0xFFFEFDFCFBFAF9F8ull);
	assert_int_equal(h.length, 65536);
	assert_int_equal(h.crc, 0xE3069283u);
}

static void test_proto_make_presets_magic_and_version(void **state)
{
	(void)state;
	struct proto_header h = proto_make(PROTO_HELLO, 9, 8, 7, 6, 5);
	uint8_t wire[PROTO_HEADER_SIZE];

	proto_encode(&h, wire);
	assert_int_equal(wire[0], 0xDA);
	assert_int_equal(wire[1], 0x7A);
	assert_int_equal(wire[2], PROTO_VERSION);
	assert_int_equal(wire[3], PROTO_HELLO);
}

/* ---- proto_check ------------------------------------------------------ */

static void test_check_accepts_every_valid_type(void **state)
{
	(void)state;
	const uint32_t max = PROTO_DEFAULT_MAX_FRAME;
	struct proto_header h;

	h = proto_make(PROTO_HELLO, 1, 0, 0, 0, 0);
	assert_accepted(&h, max);
	h = proto_make(PROTO_HELLO, 1, 0, 0, 7, 0x12345678u);
	assert_accepted(&h, max);
	h = proto_make(PROTO_HELLO, 1, 0, 0, PROTO_NAME_MAX, 0);
	assert_accepted(&h, max);
	h = proto_make(PROTO_DATA, 1, 0, 0, 0, 0);
	assert_accepted(&h, max);
	h = proto_make(PROTO_DATA, UINT32_MAX, UINT64_MAX, UINT64_MAX, 1000, 0xFFFFFFFFu);
	assert_accepted(&h, max);
	h = proto_make(PROTO_REQUEST, 1, 5, 0, 0, 0);
	assert_accepted(&h, max);
	h = proto_make(PROTO_BYE, 1, 1000000, 0, 0, 0);
	assert_accepted(&h, max);
}

static void test_check_rejects_bad_magic(void **state)
{
	(void)state;
	struct proto_header h = proto_make(PROTO_DATA, 1, 0, 0, 0, 0);

	h.magic = 0xDA7B;
	assert_rejected(&h, PROTO_DEFAULT_MAX_FRAME, "da7b", NULL);
	h.magic = 0x7ADA;       /* byte-swapped magic: a little-endian sender */
	assert_rejected(&h, PROTO_DEFAULT_MAX_FRAME, "7ada", NULL);
	h.magic = 0;
	assert_rejected(&h, PROTO_DEFAULT_MAX_FRAME, "0x0000", NULL);
}

static void test_check_rejects_bad_version(void **state)
{
	(void)state;
	struct proto_header h = proto_make(PROTO_DATA, 1, 0, 0, 0, 0);

	h.version = 2;
	assert_rejected(&h, PROTO_DEFAULT_MAX_FRAME, "version", "2", NULL);
	h.version = 0;
	assert_rejected(&h, PROTO_DEFAULT_MAX_FRAME, "version", "0", NULL);
	h.version = 255;
	assert_rejected(&h, PROTO_DEFAULT_MAX_FRAME, "version", "255", NULL);
}

static void test_check_rejects_unknown_types(void **state)
{
	(void)state;
	struct proto_header h = proto_make(0, 1, 0, 0, 0, 0);

	assert_rejected(&h, PROTO_DEFAULT_MAX_FRAME, "type", "0", NULL);
	h.type = 5;
	assert_rejected(&h, PROTO_DEFAULT_MAX_FRAME, "type", "5", NULL);
	h.type = 255;
	assert_rejected(&h, PROTO_DEFAULT_MAX_FRAME, "type", "255", NULL);
}

static void test_check_length_limit(void **state)
{
	(void)state;
	struct proto_header h;

	h = proto_make(PROTO_DATA, 1, 0, 0, 1000, 0);
	assert_accepted(&h, 1000);
	h.length = 1001;
	assert_rejected(&h, 1000, "1001", "1000", NULL);

	h = proto_make(PROTO_DATA, 1, 0, 0, PROTO_DEFAULT_MAX_FRAME, 0);
	assert_accepted(&h, PROTO_DEFAULT_MAX_FRAME);
	h.length = PROTO_DEFAULT_MAX_FRAME + 1;
	assert_rejected(&h, PROTO_DEFAULT_MAX_FRAME, "1048577", NULL);
	h.length = UINT32_MAX;
	assert_rejected(&h, PROTO_DEFAULT_MAX_FRAME, "4294967295", NULL);

	/* max_payload 0 allows only empty messages. */
	h = proto_make(PROTO_DATA, 1, 0, 0, 0, 0);
	assert_accepted(&h, 0);
	h.length = 1;
	assert_rejected(&h, 0, "1", NULL);
}

static void test_check_rejects_long_hello(void **state)
{
	(void)state;
	struct proto_header h = proto_make(PROTO_HELLO, 1, 0, 0, PROTO_NAME_MAX + 1, 0);

	assert_rejected(&h, PROTO_DEFAULT_MAX_FRAME, "HELLO", "256", NULL);
	h.length = 70000;
	assert_rejected(&h, PROTO_DEFAULT_MAX_FRAME, "70000", NULL);
}

static void test_check_rejects_request_and_bye_with_payload(void **state)
{
	(void)state;
	struct proto_header h = proto_make(PROTO_REQUEST, 1, 0, 0, 7, 0);

	assert_rejected(&h, PROTO_DEFAULT_MAX_FRAME, "REQUEST", "7", NULL);
	h = proto_make(PROTO_BYE, 1, 10, 0, 1, 0);
	assert_rejected(&h, PROTO_DEFAULT_MAX_FRAME, "BYE", "1", NULL);
	h.length = 4096;
	assert_rejected(&h, PROTO_DEFAULT_MAX_FRAME, "BYE", "4096", NULL);
}

static void test_type_names(void **state)
{
	(void)state;
	assert_string_equal(proto_type_name(PROTO_HELLO), "HELLO");
	assert_string_equal(proto_type_name(PROTO_DATA), "DATA");
	assert_string_equal(proto_type_name(PROTO_REQUEST), "REQUEST");
	assert_string_equal(proto_type_name(PROTO_BYE), "BYE");
	assert_non_null(proto_type_name(0));
	assert_non_null(proto_type_name(5));
	assert_non_null(proto_type_name(255));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_round_trip_extremes),
		cmocka_unit_test(test_round_trip_random),
		cmocka_unit_test(test_encode_byte_order),
		cmocka_unit_test(test_decode_byte_order),
		cmocka_unit_test(test_proto_make_presets_magic_and_version),
		cmocka_unit_test(test_check_accepts_every_valid_type),
		cmocka_unit_test(test_check_rejects_bad_magic),
		cmocka_unit_test(test_check_rejects_bad_version),
		cmocka_unit_test(test_check_rejects_unknown_types),
		cmocka_unit_test(test_check_length_limit),
		cmocka_unit_test(test_check_rejects_long_hello),
		cmocka_unit_test(test_check_rejects_request_and_bye_with_payload),
		cmocka_unit_test(test_type_names),
	};
	return cmocka_run_group_tests_name("proto", tests, NULL, NULL);
}
