/*
 * test_heap.c - the client's timer heap (client/heap.c).
 *
 * Random inserts, key changes (earlier and later) and deletions, checked
 * after every step against a plain array: the heap's minimum is the
 * smallest queued key, every node's pos says where it is, the heap
 * property holds, and draining gives the keys in order. Also: a full
 * heap refuses (ENOSPC), deleting what is not queued does nothing.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include <cmocka.h>

#include "heap.h"

#define N 200

static uint64_t rng(uint64_t *s)
{
	uint64_t z = (*s += 0x9E3779B97F4A7C15ull);
	z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
	z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
	return z ^ (z >> 31);
}

/* The heap against the nodes that should be in it. */
static void check(const struct heap *h, const struct heap_node *nodes, size_t n)
{
	uint32_t queued = 0;
	const struct heap_node *least = NULL;

	for (size_t i = 0; i < n; i++) {
		if (!heap_queued(&nodes[i]))
			continue;
		queued++;
		assert_true((uint32_t)nodes[i].pos < h->n);
		assert_ptr_equal(h->v[nodes[i].pos], &nodes[i]);
		if (!least || nodes[i].key < least->key)
			least = &nodes[i];
	}
	assert_int_equal(h->n, queued);
	for (uint32_t i = 1; i < h->n; i++)
		if (h->v[(i - 1) / 2]->key > h->v[i]->key)
			fail_msg("heap property broken at %u", i);
	if (!least)
		assert_null(heap_min(h));
	else
		assert_true(heap_min(h)->key == least->key);
}

static void test_heap_random_against_array(void **state)
{
	(void)state;
	static struct heap_node nodes[N];
	struct heap h;
	uint64_t seed = 12345;

	assert_int_equal(heap_init(&h, N), 0);
	for (size_t i = 0; i < N; i++)
		heap_node_init(&nodes[i]);
	for (int step = 0; step < 20000; step++) {
		struct heap_node *x = &nodes[rng(&seed) % N];
		uint64_t r = rng(&seed);
		/* Few distinct keys, so ties happen too. */
		uint64_t key = rng(&seed) % 64;
		if (r % 4 == 0)
			heap_del(&h, x);
		else
			assert_int_equal(heap_set(&h, x, key), 0);
		if (step % 7 == 0)
			check(&h, nodes, N);
	}
	check(&h, nodes, N);

	/* Draining gives the keys in order. */
	uint64_t last = 0;
	while (heap_min(&h)) {
		struct heap_node *x = heap_min(&h);
		assert_true(x->key >= last);
		last = x->key;
		heap_del(&h, x);
		assert_false(heap_queued(x));
	}
	check(&h, nodes, N);
	heap_free(&h);
}

static void test_heap_full_and_not_queued(void **state)
{
	(void)state;
	struct heap_node a, b, c;
	struct heap h;

	assert_int_equal(heap_init(&h, 2), 0);
	heap_node_init(&a);
	heap_node_init(&b);
	heap_node_init(&c);
	heap_del(&h, &a);                       /* not queued: nothing */
	assert_int_equal(h.n, 0);
	assert_int_equal(heap_set(&h, &a, 30), 0);
	assert_int_equal(heap_set(&h, &b, 20), 0);
	errno = 0;
	assert_int_equal(heap_set(&h, &c, 10), -1);
	assert_int_equal(errno, ENOSPC);
	assert_false(heap_queued(&c));
	/* Re-setting a queued one needs no room. */
	assert_int_equal(heap_set(&h, &a, 5), 0);
	assert_ptr_equal(heap_min(&h), &a);
	assert_int_equal(heap_set(&h, &a, 50), 0);
	assert_ptr_equal(heap_min(&h), &b);
	heap_del(&h, &b);
	heap_del(&h, &b);
	assert_ptr_equal(heap_min(&h), &a);
	assert_int_equal(h.n, 1);
	heap_free(&h);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_heap_random_against_array),
		cmocka_unit_test(test_heap_full_and_not_queued),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
