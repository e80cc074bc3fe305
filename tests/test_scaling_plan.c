/*
 * test_scaling_plan.c - what `daqmux compare`'s scaling scenarios plan to
 * run (compare/scaling.c), without running anything: the CPUs each side
 * gets, the N of the server's loops, the client's loops, and which
 * backends run which variant.
 *
 * The plan follows the CPUs this process may use, so the tests set that
 * themselves (sched_setaffinity, within what the machine allows) and skip,
 * saying why, where the machine has too few CPUs for a case.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <sched.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "compare_int.h"

/* Made-up backends with the feature bits that matter here. */
static const struct backend be_loops = { .name = "epoll", .features = BE_LOOPS };
static const struct backend be_uring = { .name = "uring", .features = BE_LOOPS };
static const struct backend be_fdlim = { .name = "select", .features = BE_LOOPS, .fd_limit = 1024 };
static const struct backend be_round = { .name = "blocking", .features = BE_LOOPS | BE_ROUND };
static const struct backend be_threads = { .name = "threads", .features = BE_THREAD_PER_CONN };

static cpu_set_t saved;

static int save_affinity(void **state)
{
	(void)state;
	return sched_getaffinity(0, sizeof(saved), &saved);
}

static int restore_affinity(void **state)
{
	(void)state;
	return sched_setaffinity(0, sizeof(saved), &saved);
}

/* Run this process on the first n of its CPUs; 0, or -1 when it has fewer. */
static int use_cpus(unsigned n)
{
	cpu_set_t set;
	unsigned k = 0;

	CPU_ZERO(&set);
	for (int i = 0; i < CPU_SETSIZE && k < n; i++)
		if (CPU_ISSET(i, &saved)) {
			CPU_SET(i, &set);
			k++;
		}
	if (k < n)
		return -1;
	return sched_setaffinity(0, sizeof(set), &set);
}

static void plan(struct cmp *c, int quick)
{
	memset(c, 0, sizeof(*c));
	c->o.quick = quick;
	cmp_scaling_plan(c);
}

/* The halves never overlap, the server's loops are 1, 2, 4, ... up to its
 * CPUs (2 at least), and the client has one loop per CPU of its own. */
static void check_halves(const struct cmp *c, unsigned ncpus)
{
	const struct cmp_plan *p = &c->p;

	assert_int_equal(p->nserver_cpus, ncpus / 2 > CMP_MAX_LOOPS ? CMP_MAX_LOOPS : ncpus / 2);
	assert_true(p->nserver_cpus + p->nclient_cpus <= ncpus);
	for (unsigned i = 0; i < p->nserver_cpus; i++)
		for (unsigned j = 0; j < p->nclient_cpus; j++)
			assert_int_not_equal(p->server_cpus[i], p->client_cpus[j]);
	assert_int_equal(p->client_loops, p->nclient_cpus ? p->nclient_cpus : 1);
	assert_true(p->nloops >= 2);
	assert_int_equal(p->loops[0], 1);
	for (unsigned i = 1; i < p->nloops; i++) {
		assert_int_equal(p->loops[i], 2 * p->loops[i - 1]);
		if (p->loops[i] > 2)
			assert_true(p->loops[i] <= p->nserver_cpus);
	}
	/* the next N would not fit */
	unsigned next = 2 * p->loops[p->nloops - 1];
	assert_true(next > p->nserver_cpus || next > CMP_MAX_LOOPS || p->nloops == CMP_MAX_LOOPS);
}

static void test_one_cpu_pins_nothing(void **state)
{
	struct cmp c;
	(void)state;
	if (use_cpus(1) < 0)
		skip();
	plan(&c, 0);
	assert_int_equal(c.p.nserver_cpus, 0);
	assert_int_equal(c.p.nclient_cpus, 0);
	assert_int_equal(c.p.client_loops, 1);
	assert_int_equal(c.p.nloops, 2);   /* N = 1 and 2 all the same */
}

static void test_two_cpus_one_each(void **state)
{
	struct cmp c;
	(void)state;
	if (use_cpus(2) < 0) {
		print_message("SKIP: this machine lets us use only one CPU\n");
		skip();
	}
	plan(&c, 0);
	check_halves(&c, 2);
	assert_int_equal(c.p.nserver_cpus, 1);
	assert_int_equal(c.p.nloops, 2);
	assert_int_equal(c.p.loops[1], 2);
}

static void test_all_cpus(void **state)
{
	struct cmp c;
	(void)state;
	plan(&c, 0);
	check_halves(&c, (unsigned)CPU_COUNT(&saved));
}

static void test_quick_is_smaller(void **state)
{
	struct cmp full, quick;
	(void)state;
	plan(&full, 0);
	plan(&quick, 1);
	assert_int_equal(full.p.nscaling_sizes, 2);
	assert_int_equal(quick.p.nscaling_sizes, 1);
	assert_int_equal(full.p.conns, 10000);
	assert_true(quick.p.conns < full.p.conns);
	assert_true(quick.p.scaling_s < full.p.scaling_s);
	/* the connection runs: N = 1 and the largest N; --quick the largest */
	assert_int_equal(full.p.conn_loops[0], 1);
	assert_int_equal(full.p.conn_loops[full.p.nconn_loops - 1], full.p.loops[full.p.nloops - 1]);
	assert_int_equal(quick.p.nconn_loops, 1);
	assert_int_equal(quick.p.conn_loops[0], quick.p.loops[quick.p.nloops - 1]);
}

/* Variant v of scaling is N = loops[v % nloops] at size v / nloops. */
static void test_who_runs_what(void **state)
{
	struct cmp c;
	(void)state;
	plan(&c, 0);
	for (unsigned v = 0; v < cmp_scaling_nvar(&c); v++) {
		char label[40];
		double x;
		cmp_scaling_variant(&c, v, label, sizeof(label), &x);
		assert_true(cmp_scaling_applies(&c, &be_loops, v));
		assert_true(cmp_scaling_applies(&c, &be_fdlim, v));    /* 64 sources fit */
		assert_false(cmp_scaling_applies(&c, &be_round, v));   /* no loops of its own */
		/* the reference runs once per payload, at N = 1 */
		assert_int_equal(cmp_scaling_applies(&c, &be_threads, v), x == 1);
		assert_non_null(strstr(label, x == 1 ? "N=1" : "N="));
	}
	for (unsigned v = 0; v < cmp_conns_nvar(&c); v++) {
		assert_true(cmp_conns_applies(&c, &be_loops, v));
		assert_true(cmp_conns_applies(&c, &be_uring, v));
		assert_false(cmp_conns_applies(&c, &be_fdlim, v));     /* 10,000 > FD_SETSIZE */
		assert_false(cmp_conns_applies(&c, &be_round, v));
		assert_int_equal(cmp_conns_applies(&c, &be_threads, v), v == 0);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_one_cpu_pins_nothing, save_affinity,
						restore_affinity),
		cmocka_unit_test_setup_teardown(test_two_cpus_one_each, save_affinity,
						restore_affinity),
		cmocka_unit_test_setup_teardown(test_all_cpus, save_affinity, restore_affinity),
		cmocka_unit_test_setup_teardown(test_quick_is_smaller, save_affinity,
						restore_affinity),
		cmocka_unit_test_setup_teardown(test_who_runs_what, save_affinity, restore_affinity),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
