/*
 * test_client_loops.c - the client with several sending loops
 * (`daqmux client --loops K`), run against every backend.
 *
 * The same kind of run as the conformance suite (the real server, the
 * real client, the server's --json summary), with the client's sources
 * shared out over K threads: the server must see exactly what it sees
 * from one loop (every frame once, in order, intact, every BYE), and the
 * client's summary must stay exact: its per-loop figures ("loops") add
 * up to its totals, which are what the server received. The last two
 * scenarios check that the loops stop together: a failed source in one
 * loop, or a signal that only one thread receives, ends every loop.
 *
 * Only those two depend on timing, with margins of an order of magnitude
 * (the run ends within 10 s where it was asked to last 30 s).
 *
 * Run one backend or one scenario:
 *   build/default/tests/test_client_loops epoll
 *   DAQMUX_TEST_FILTER='*signal*' build/default/tests/test_client_loops
 */
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "json.h"
#include "support.h"
#include "util.h"

/* The client's "loops": `loops` entries, loop k holding every loops-th
 * source from k (so the shares differ by one at most), each with its own
 * frames, their sums equal to the client's totals. */
static void expect_client_loops(struct sup *t, unsigned loops, unsigned sources)
{
	const struct json *c = sup_client_json(t), *arr = json_get(c, "loops");
	uint64_t frames = 0, bytes = 0, eagain = 0;
	unsigned k = 0;

	assert_non_null(arr);
	if (arr->len != loops)
		fail_msg("%s: the client's summary has %zu loops, expected %u", t->v->name,
			 (size_t)arr->len, loops);
	for (const struct json *l = arr->child; l; l = l->next, k++) {
		sup_expect_u64(l, "sources", (sources - k + loops - 1) / loops);
		frames += sup_u64(l, "frames");
		bytes += sup_u64(l, "bytes");
		eagain += sup_u64(l, "eagain_writes");
		(void)sup_u64(l, "cpu_ns");
		(void)sup_u64(l, "waits");
		if (sup_u64(l, "frames") == 0)
			fail_msg("%s: client loop %u sent nothing", t->v->name, k);
	}
	sup_expect_u64(c, "frames", frames);
	sup_expect_u64(c, "bytes", bytes);
	sup_expect_u64(c, "eagain_writes", eagain);
}

/* Sources 0..n-1 each delivered `frames` frames, complete, with the bytes
 * the client counted for that source; the server's totals are the
 * client's. */
static void expect_delivered(struct sup *t, unsigned n, uint64_t frames)
{
	const struct json *c = sup_client_json(t), *sum = sup_server_json(t);

	for (unsigned id = 0; id < n; id++) {
		const struct json *sent = sup_find_id(json_get(c, "per_source"), id);
		const struct json *got = sup_expect_source(t, id);

		sup_expect_complete(t, id, frames);
		if (!sent)
			fail_msg("%s: the client's summary has no source %u", t->v->name, id);
		sup_expect_u64(got, "bytes", sup_u64(sent, "bytes"));
	}
	sup_expect_u64(sum, "frames", sup_u64(c, "frames"));
	sup_expect_u64(sum, "bytes", sup_u64(c, "bytes"));
	sup_expect_u64(sum, "status.complete", n);
	sup_expect_u64(c, "ok", n);
}

/* 8 sources x 5000 frames flat out over 2 loops, payloads of 0-4 KiB. */
static void scenario_max_rate(void **state)
{
	struct sup *t = sup_begin(state);

	sup_server_start(t, "--sources", "8", NULL);
	assert_int_equal(sup_client_run(t, "--sources", "8", "--loops", "2", "--rate", "max",
					"--count", "5000", "--size", "0-4096", NULL), 0);
	assert_int_equal(sup_server_wait(t), 0);
	expect_delivered(t, 8, 5000);
	expect_client_loops(t, 2, 8);
	sup_passed(t);
}

/* 7 paced sources over 3 loops (shares 3, 2, 2), 2 kHz, and idle
 * connections shared out too. */
static void scenario_paced(void **state)
{
	struct sup *t = sup_begin(state);

	sup_server_start(t, "--sources", "7", NULL);
	assert_int_equal(sup_client_run(t, "--sources", "7", "--loops", "3", "--rate", "2000",
					"--count", "400", "--idle", "12", NULL), 0);
	assert_int_equal(sup_server_wait(t), 0);
	expect_delivered(t, 7, 400);
	expect_client_loops(t, 3, 7);
	sup_expect_u64(sup_client_json(t), "idle_connected", 12);
	sup_passed(t);
}

/* Pull mode: each loop reads its sources' REQUESTs and answers them. */
static void scenario_pull(void **state)
{
	struct sup *t = sup_begin(state);

	sup_server_start(t, "--sources", "6", "--mode", "pull", NULL);
	assert_int_equal(sup_client_run(t, "--sources", "6", "--loops", "2", "--mode", "pull",
					"--count", "300", NULL), 0);
	assert_int_equal(sup_server_wait(t), 0);
	expect_delivered(t, 6, 300);
	expect_client_loops(t, 2, 6);
	sup_passed(t);
}

/* The client's elapsed time, against a run asked to last 30 s. */
static void expect_stopped_early(struct sup *t, const char *why)
{
	double el = json_num(json_get(sup_client_json(t), "elapsed_s"), -1);

	if (el < 0 || el > 10)
		fail_msg("%s: the client ran %.1f s after %s; every loop should have stopped "
			 "within a second or two, not at the end of its 30 s", t->v->name, el, why);
}

/*
 * Source 1 (client loop 1) sends one frame a second; the server closes
 * it after 0.5 s without one (--idle-timeout), so it fails, and that must
 * stop the sources of loop 0 as well, each with a BYE: the client exits
 * 1, the others are complete at the server. (Its first frame makes it a
 * source: a connection that never sent one is not, for every backend.)
 */
static void scenario_failure_stops_all(void **state)
{
	struct sup *t = sup_begin(state);

	sup_server_start(t, "--sources", "4", "--idle-timeout", "0.5", NULL);
	assert_int_equal(sup_client_run(t, "--sources", "4", "--loops", "2", "--rate", "1000",
					"--duration", "30", "--slow", "1:1", NULL), 1);
	(void)sup_server_wait(t);

	const struct json *c = sup_client_json(t), *per = json_get(c, "per_source");
	for (unsigned id = 0; id < 4; id++) {
		const struct json *s = sup_find_id(per, id);
		assert_non_null(s);
		if (id == 1) {
			sup_expect_str(s, "status", "failed");
			continue;
		}
		sup_expect_str(s, "status", "ok");
		sup_expect_contains(s, "error", "after source 1 failed");
		sup_expect_str(sup_expect_source(t, id), "status", "complete");
	}
	expect_stopped_early(t, "source 1 failed");
	sup_passed(t);
}

/*
 * SIGINT to the client: the kernel hands it to one thread; every loop
 * must stop, its sources sending BYE, and the client exit 0.
 */
static void scenario_signal(void **state)
{
	struct sup *t = sup_begin(state);
	struct timespec ts = { .tv_sec = 0, .tv_nsec = 500 * 1000 * 1000 };

	sup_server_start(t, "--sources", "6", NULL);
	sup_client_start(t, "--sources", "6", "--loops", "3", "--rate", "1000", "--duration", "30",
			 NULL);
	while (nanosleep(&ts, &ts) < 0)
		;
	if (proc_signal(&t->client, SIGINT) < 0)
		fail_msg("%s: cannot signal the client", t->v->name);
	assert_int_equal(sup_client_wait(t), 0);
	assert_int_equal(sup_server_wait(t), 0);

	const struct json *c = sup_client_json(t);
	if (json_get(c, "signalled")->type != JSON_BOOL || !json_num(json_get(c, "signalled"), 0))
		fail_msg("%s: the client's summary does not say it was signalled", t->v->name);
	sup_expect_u64(c, "ok", 6);
	for (unsigned id = 0; id < 6; id++)
		sup_expect_str(sup_expect_source(t, id), "status", "complete");
	expect_client_loops(t, 3, 6);
	expect_stopped_early(t, "SIGINT");
	sup_passed(t);
}

static const struct sup_case scenarios[] = {
	{ "client loops 1: 8 sources x 5000 frames, 0-4 KiB, max rate, --loops 2", scenario_max_rate },
	{ "client loops 2: 7 paced sources and 12 idle connections, --loops 3", scenario_paced },
	{ "client loops 3: pull mode, 6 sources x 300 frames, --loops 2", scenario_pull },
	{ "client loops 4: a source failing in one loop stops the other", scenario_failure_stops_all },
	{ "client loops 5: a signal stops every loop", scenario_signal },
};

int main(int argc, char **argv)
{
	return sup_main("test_client_loops", argc, argv, 0, scenarios, ARRAY_SIZE(scenarios), NULL);
}
