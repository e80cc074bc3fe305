/*
 * test_decide.c - how `daqmux compare` decides which backend is better
 * at one figure (compare/decide.c), on made-up cases of the throughput
 * scenario.
 *
 * A winner only where its min-max range is clear of the others' and both
 * had two repetitions or more; overlapping ranges are a tie; one
 * repetition decides nothing. A client-limited rate, a saturated server's
 * CPU cost and an idle case that did not take every connection are never
 * ranked, and the text says why; a lower bound shows as ">=".
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "compare_int.h"

static const struct backend be_a = { .name = "alpha" }, be_b = { .name = "beta" },
			    be_c = { .name = "gamma" };

struct world {
	struct cmp c;
	struct cmp_case cases[3];
};

/* Three backends, each with one throughput case at 64 B whose frames/s
 * and CPU per frame are med (lo-hi) over nok repetitions. */
static struct world *world_new(void)
{
	struct world *w = calloc(1, sizeof(*w));
	const struct backend *bes[] = { &be_a, &be_b, &be_c };

	assert_non_null(w);
	w->c.o.scen_mask = 1u << CMP_THROUGHPUT;
	w->c.cases = w->cases;
	for (size_t i = 0; i < 3; i++) {
		struct cmp_case *k = &w->cases[i];
		w->c.be[i].be = bes[i];
		w->c.be[i].available = w->c.be[i].selected = 1;
		k->sc = &cmp_scens[CMP_THROUGHPUT];
		k->backend = bes[i]->name;
		k->state = CMP_OK;
		for (unsigned m = 0; m < CMP_MAX_METRICS; m++)
			k->med[m] = k->lo[m] = k->hi[m] = NAN;
	}
	w->c.nbe = w->c.ncases = 3;
	return w;
}

static void set(struct world *w, size_t i, const char *metric, double med, double lo, double hi,
		unsigned nok)
{
	struct cmp_case *k = &w->cases[i];
	int m = cmp_idx(k, metric);
	k->med[m] = med;
	k->lo[m] = lo;
	k->hi[m] = hi;
	k->nok = nok;
}

static void test_clear_winner(void **state)
{
	(void)state;
	struct world *w = world_new();
	struct cmp_decision d;
	char text[800];

	set(w, 0, "frames_per_s", 5e6, 4.8e6, 5.2e6, 3);
	set(w, 1, "frames_per_s", 8e6, 7.9e6, 8.3e6, 3);
	set(w, 2, "frames_per_s", 2e6, 1.9e6, 2.1e6, 3);
	cmp_decide(&w->c, CMP_THROUGHPUT, 0, "frames_per_s", CMP_HIGHER, &d);
	assert_true(d.decided);
	assert_int_equal(d.nrank, 3);
	assert_int_equal(d.ntie, 1);
	assert_string_equal(d.rank[0]->backend, "beta");
	assert_string_equal(d.rank[1]->backend, "alpha");
	cmp_decision_text(text, sizeof(text), &d);
	assert_non_null(strstr(text, "**beta** 8.00 M"));
	assert_null(strstr(text, "tie"));

	/* Lower is better: the order turns round. */
	cmp_decide(&w->c, CMP_THROUGHPUT, 0, "frames_per_s", CMP_LOWER, &d);
	assert_true(d.decided);
	assert_string_equal(d.rank[0]->backend, "gamma");
	free(w);
}

static void test_overlap_is_a_tie(void **state)
{
	(void)state;
	struct world *w = world_new();
	struct cmp_decision d;
	char text[800];

	set(w, 0, "frames_per_s", 5e6, 4.0e6, 6.0e6, 3);
	set(w, 1, "frames_per_s", 6.2e6, 5.8e6, 6.5e6, 3);
	set(w, 2, "frames_per_s", 1e6, 0.9e6, 1.1e6, 3);
	cmp_decide(&w->c, CMP_THROUGHPUT, 0, "frames_per_s", CMP_HIGHER, &d);
	assert_false(d.decided);
	assert_int_equal(d.ntie, 2);
	cmp_decision_text(text, sizeof(text), &d);
	assert_true(strncmp(text, "tie: ", 5) == 0);
	assert_non_null(strstr(text, "**alpha**"));
	assert_non_null(strstr(text, "**beta**"));
	assert_null(strstr(text, "**gamma**"));
	free(w);
}

static void test_one_repetition_decides_nothing(void **state)
{
	(void)state;
	struct world *w = world_new();
	struct cmp_decision d;
	char text[800];

	set(w, 0, "frames_per_s", 5e6, 5e6, 5e6, 1);
	set(w, 1, "frames_per_s", 8e6, 8e6, 8e6, 1);
	cmp_decide(&w->c, CMP_THROUGHPUT, 0, "frames_per_s", CMP_HIGHER, &d);
	assert_false(d.decided);
	assert_int_equal(d.ntie, 1);
	assert_string_equal(d.rank[0]->backend, "beta");
	cmp_decision_text(text, sizeof(text), &d);
	assert_non_null(strstr(text, "one repetition"));
	free(w);
}

static void test_bounds_never_win(void **state)
{
	(void)state;
	struct world *w = world_new();
	struct cmp_decision d;
	char text[800];

	set(w, 0, "frames_per_s", 5e6, 4.9e6, 5.1e6, 3);
	set(w, 1, "frames_per_s", 9e6, 8.9e6, 9.1e6, 3);
	set(w, 2, "frames_per_s", 4e6, 3.9e6, 4.1e6, 3);
	w->cases[1].client_limited = 2;         /* the best figure is a lower bound */
	cmp_decide(&w->c, CMP_THROUGHPUT, 0, "frames_per_s", CMP_HIGHER, &d);
	assert_true(d.decided);
	assert_string_equal(d.rank[0]->backend, "alpha");
	assert_int_equal(d.nout, 1);
	assert_string_equal(d.out[0]->backend, "beta");
	cmp_decision_text(text, sizeof(text), &d);
	assert_non_null(strstr(text, "**beta** ≥ 9.00 M"));
	assert_non_null(strstr(text, "lower bound"));

	/* A saturated server's CPU per frame is a ceiling: not ranked. A
	 * client limit does not touch a CPU figure. */
	set(w, 0, "cpu_ns_per_frame", 50, 48, 52, 3);
	set(w, 1, "cpu_ns_per_frame", 70, 69, 71, 3);
	set(w, 2, "cpu_ns_per_frame", 40, 39, 41, 3);
	w->cases[2].saturated = 1;
	cmp_decide(&w->c, CMP_THROUGHPUT, 0, "cpu_ns_per_frame", CMP_LOWER, &d);
	assert_string_equal(d.rank[0]->backend, "alpha");
	assert_string_equal(d.rank[1]->backend, "beta");
	assert_int_equal(d.nout, 1);
	assert_string_equal(d.out[0]->backend, "gamma");
	assert_non_null(strstr(cmp_excluded(d.out[0], d.metric), "saturated"));

	/* Not every connection accepted: out of every ranking. */
	w->cases[0].not_accepted = 1;
	cmp_decide(&w->c, CMP_THROUGHPUT, 0, "cpu_ns_per_frame", CMP_LOWER, &d);
	assert_int_equal(d.nrank, 1);
	assert_string_equal(d.rank[0]->backend, "beta");
	assert_false(d.decided);
	free(w);
}

static void test_failed_and_missing_are_left_out(void **state)
{
	(void)state;
	struct world *w = world_new();
	struct cmp_decision d;
	char text[800];

	set(w, 0, "frames_per_s", 5e6, 4.9e6, 5.1e6, 3);
	w->cases[1].state = CMP_FAILED;
	set(w, 1, "frames_per_s", 9e6, 9e6, 9e6, 3);
	/* gamma has no figure at all */
	cmp_decide(&w->c, CMP_THROUGHPUT, 0, "frames_per_s", CMP_HIGHER, &d);
	assert_int_equal(d.nrank, 1);
	assert_false(d.decided);
	cmp_decision_text(text, sizeof(text), &d);
	assert_non_null(strstr(text, "only backend"));

	w->cases[0].state = CMP_UNSUPPORTED;
	cmp_decide(&w->c, CMP_THROUGHPUT, 0, "frames_per_s", CMP_HIGHER, &d);
	assert_int_equal(d.nrank, 0);
	cmp_decision_text(text, sizeof(text), &d);
	assert_non_null(strstr(text, "no backend"));
	free(w);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_clear_winner),
		cmocka_unit_test(test_overlap_is_a_tie),
		cmocka_unit_test(test_one_repetition_decides_nothing),
		cmocka_unit_test(test_bounds_never_win),
		cmocka_unit_test(test_failed_and_missing_are_left_out),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
