/*
 * test_payload.c - payload bytes depend on (source, sequence).
 *
 * If every payload of one length had the same bytes (as they once did:
 * each was a prefix of one pattern), a backend that handed over stale
 * bytes of an earlier frame of the right length would pass every CRC.
 * These tests generate frames the way `daqmux client` does (its
 * generator, client_gen.c) and the way the suites' own frame builder does
 * (sup_send_frame's sup_payload), parse them back with the server's
 * assembler, and check that every CRC is good and no two frames of one
 * length share their payload (issue 11, item 14).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "client_int.h"
#include "crc32c.h"
#include "frame.h"
#include "support.h"
#include "util.h"

#define NSRC    3
#define NFRAMES 200

struct seen { uint32_t crc[NSRC * NFRAMES]; unsigned n; };

/* Every CRC must be new: two equal ones mean equal payloads (or a 2^-32
 * accident, far below the chance of this test running twice a day). */
static void seen_add(struct seen *s, uint32_t crc, uint32_t id, uint64_t seq)
{
	for (unsigned i = 0; i < s->n; i++)
		if (s->crc[i] == crc)
			fail_msg("source %u frame %llu carries the payload of an earlier frame "
				 "(CRC 0x%08x)", id, (unsigned long long)seq, crc);
	assert_true(s->n < NSRC * NFRAMES);
	s->crc[s->n++] = crc;
}

static void test_client_payloads_differ(void **state)
{
	(void)state;
	char *argv[] = { "client", "--sources", "3", "--count", "200", "--size", "64",
			 "--rate", "max", NULL };
	struct client_opts o;
	struct client_gen g;
	struct client_src src[NSRC];
	struct seen seen = { 0 };

	assert_int_equal(client_opts_parse(&o, (int)ARRAY_SIZE(argv) - 1, argv), 0);
	assert_int_equal(client_gen_init(&g, &o), 0);
	for (uint32_t i = 0; i < NSRC; i++) {
		struct client_src *s = &src[i];
		struct frame_parser p;
		size_t off = 0, data = 0;

		assert_int_equal(client_src_init(&g, s, i, 0), 0);
		s->state = CS_RUN;
		s->end_ns = UINT64_MAX;
		client_fill(&g, s, now_ns());
		frame_parser_init(&p, 1u << 20);
		while (off < s->len) {
			struct frame f;
			char why[128];
			size_t used;
			enum frame_result r = frame_parse(&p, s->buf + off, s->len - off, &used, &f,
							  why, sizeof(why));
			if (r == FRAME_BAD)
				fail_msg("source %u: %s", i, why);
			off += used;
			if (r != FRAME_DONE || f.h.type != PROTO_DATA)
				continue;
			assert_true(f.crc_ok);
			assert_int_equal(f.h.length, 64);
			seen_add(&seen, f.h.crc, i, f.h.seq);
			data++;
		}
		assert_int_equal(data, NFRAMES);
		client_src_free(s);
	}
	client_gen_free(&g);
	client_opts_free(&o);
}

static void test_suite_payloads_differ(void **state)
{
	(void)state;
	struct seen seen = { 0 };
	uint8_t buf[64];

	for (uint32_t id = 0; id < NSRC; id++)
		for (uint64_t seq = 0; seq < NFRAMES; seq++) {
			sup_payload(id, seq, buf, sizeof(buf));
			seen_add(&seen, crc32c(0, buf, sizeof(buf)), id, seq);
		}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_client_payloads_differ),
		cmocka_unit_test(test_suite_payloads_differ),
	};
	return cmocka_run_group_tests_name("payload", tests, NULL, NULL);
}
