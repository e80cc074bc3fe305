/*
 * test_discard.c - `daqmux server --discard`, against every backend.
 *
 * A discard run reads exactly as a real one but parses nothing: it must
 * count exactly the bytes the client put on the wire (HELLO, DATA, BYE
 * and any garbage alike) and derive the DATA frames from them, for every
 * backend and variant - blocking's one-frame reads, threads' own
 * buffers, uring's buffer ring (uring/tiny: buffers smaller than a
 * frame) - because all of them hand their bytes to the same conn_input.
 * And its exit status must claim nothing it did not check: a lossy or
 * garbled source is not an error there, a reset connection still is.
 *
 * The expected figures come from the client's own --json (wire_bytes,
 * frames), never from constants. A discard run knows no source ids, so
 * connections are matched to sources as sorted lists.
 *
 *   build/default/tests/test_discard epoll blocking uring/tiny
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "backend.h"
#include "jsonread.h"
#include "proto.h"
#include "support.h"
#include "util.h"

static int u64_order(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return x < y ? -1 : x > y;
}

/* key of every element of arr, sorted, into v (at most cap); how many. */
static size_t sorted_u64s(const struct json *arr, const char *key, uint64_t *v, size_t cap)
{
	size_t n = 0;

	for (const struct json *e = arr ? arr->child : NULL; e && n < cap; e = e->next)
		v[n++] = sup_u64(e, key);
	qsort(v, n, sizeof(*v), u64_order);
	return n;
}

/* Connection by connection (sorted), the server's `skey` equals the
 * client's `ckey` per source. */
static void expect_per_source(struct sup *t, const char *skey, const char *ckey)
{
	uint64_t got[16], sent[16];
	size_t ng = sorted_u64s(json_get(sup_server_json(t), "sources"), skey, got, 16);
	size_t ns = sorted_u64s(json_get(sup_client_json(t), "per_source"), ckey, sent, 16);

	if (ng != ns)
		fail_msg("%s: %zu connections in the server's summary, %zu sources sent",
			 t->v->name, ng, ns);
	for (size_t i = 0; i < ng; i++)
		if (got[i] != sent[i])
			fail_msg("%s: a connection's %s is %llu, the client's %s %llu", t->v->name,
				 skey, (unsigned long long)got[i], ckey,
				 (unsigned long long)sent[i]);
}

/* Not measured, so null: never a 0 that reads as "nothing lost". */
static void expect_null(struct sup *t, const struct json *j, const char *key)
{
	const struct json *v = json_path(j, key);

	if (!v || v->type != JSON_NULL)
		fail_msg("%s: a discard run's \"%s\" should be null (not measured)", t->v->name, key);
}

/*
 * The summary of a discard run with `size`-byte payloads whose sources
 * all ended by closing: every byte the client wrote counted, the DATA
 * frames derived from them, each connection "unchecked", and nothing
 * that was not measured reported as if it had been.
 */
static void expect_discarded(struct sup *t, unsigned sources, unsigned size)
{
	const struct json *sum = sup_server_json(t), *cli = sup_client_json(t);
	uint64_t loop_frames = 0, loop_bytes = 0;

	assert_true(json_num(json_get(sum, "discard"), 0) == 1);
	sup_expect_u64(sum, "discard_frame_bytes", PROTO_HEADER_SIZE + size);
	sup_expect_u64(sum, "bytes", sup_u64(cli, "wire_bytes"));
	sup_expect_u64(sum, "frames", sup_u64(cli, "frames"));
	expect_per_source(t, "bytes", "wire_bytes");
	expect_per_source(t, "frames", "frames");
	sup_expect_u64(sum, "status.unchecked", sources);
	sup_expect_u64(sum, "refused", 0);
	expect_null(t, sum, "lost");
	expect_null(t, sum, "crc_errors");
	expect_null(t, sum, "latency_ns");
	expect_null(t, json_at(json_get(sum, "sources"), 0), "lost");
	for (const struct json *l = json_get(sum, "loops")->child; l; l = l->next) {
		loop_frames += sup_u64(l, "frames");
		loop_bytes += sup_u64(l, "bytes");
	}
	sup_expect_u64(sum, "frames", loop_frames);
	sup_expect_u64(sum, "bytes", loop_bytes);
}

/* One discard run: `sources` sources of `count` frames with `size`-byte
 * payloads at full speed, plus extra client options (NULL or one). */
static void discard_run(struct sup *t, unsigned sources, unsigned count, unsigned size,
			const char *extra)
{
	char n[16], c[16], s[16];

	snprintf(n, sizeof(n), "%u", sources);
	snprintf(c, sizeof(c), "%u", count);
	snprintf(s, sizeof(s), "%u", size);
	sup_server_start(t, "--sources", n, "--discard", "--discard-size", s, NULL);
	int client = sup_client_run(t, "--sources", n, "--rate", "max", "--count", c, "--size", s,
				    extra, NULL);
	assert_int_equal(client, 0);
	assert_int_equal(sup_server_wait(t), 0);
	expect_discarded(t, sources, size);
}

static void scenario_small(void **state)
{
	struct sup *t = sup_begin(state);

	discard_run(t, 4, 5000, 64, NULL);
	sup_passed(t);
}

/* Frames larger than a uring buffer, than a socket buffer's worth. */
static void scenario_large(void **state)
{
	struct sup *t = sup_begin(state);

	discard_run(t, 2, 200, 65536, NULL);
	sup_passed(t);
}

/* Every frame in 1-7 byte pieces: the first header arrives split too.
 * 16-byte payloads make a frame shorter than the HELLO and the BYE
 * together, so a HELLO taken for a frame would show as one too many. */
static void scenario_fragment(void **state)
{
	struct sup *t = sup_begin(state);

	discard_run(t, 3, 300, 16, "--fragment");
	sup_passed(t);
}

/* ---- what the exit status claims ------------------------------------------------ */

/*
 * A lost frame, a bad CRC and 64 bytes of garbage would each make a real
 * run exit 1; a discard run looks at none of them, so it says nothing:
 * exit 0, every connection "unchecked", every byte (the garbage too)
 * counted. The exit status of a discard run is no verdict on the data.
 */
static void scenario_unchecked(void **state)
{
	struct sup *t = sup_begin(state);

	sup_server_start(t, "--sources", "4", "--discard", NULL);
	int client = sup_client_run(t, "--sources", "4", "--rate", "max", "--count", "500",
				    "--fault", "1:skip@10", "--fault", "2:crc@10",
				    "--fault", "3:garbage@100", NULL);
	assert_int_equal(client, 0);
	assert_int_equal(sup_server_wait(t), 0);

	const struct json *sum = sup_server_json(t);
	sup_expect_u64(sum, "bytes", sup_u64(sup_client_json(t), "wire_bytes"));
	expect_per_source(t, "bytes", "wire_bytes");
	sup_expect_u64(sum, "status.unchecked", 4);
	sup_expect_u64(sum, "status.error", 0);
	sup_passed(t);
}

/* A reset is a socket error, seen without parsing anything: it still
 * ends that connection with an error and the run with exit 1. */
static void scenario_reset(void **state)
{
	struct sup *t = sup_begin(state);

	sup_server_start(t, "--sources", "3", "--discard", NULL);
	int client = sup_client_run(t, "--sources", "3", "--rate", "1000", "--count", "200",
				    "--fault", "1:reset@37", NULL);
	assert_int_equal(client, 0);
	assert_int_equal(sup_server_wait(t), 1);

	const struct json *sum = sup_server_json(t);
	sup_expect_u64(sum, "status.error", 1);
	sup_expect_u64(sum, "status.unchecked", 2);
	for (const struct json *s = json_get(sum, "sources")->child; s; s = s->next)
		if (strcmp(sup_str(s, "status"), "error") == 0)
			sup_expect_str(s, "error", "connection reset");
	sup_passed(t);
}

static const struct sup_case scenarios[] = {
	{ "discard 1: 4 sources x 5000 frames of 64 B: bytes counted, frames derived", scenario_small },
	{ "discard 2: 2 sources x 200 frames of 64 KiB", scenario_large },
	{ "discard 3: 3 sources x 300 frames of 16 B, fragmented writes", scenario_fragment },
	{ "discard 4: lost, corrupt and garbage frames are not checked: exit 0", scenario_unchecked },
	{ "discard 5: a reset is still an error: exit 1", scenario_reset },
};

int main(int argc, char **argv)
{
	return sup_main("test_discard", argc, argv, SUP_VARIANTS, scenarios, ARRAY_SIZE(scenarios),
			NULL);
}
