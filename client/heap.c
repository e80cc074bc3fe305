/* heap.c - see heap.h. */
#include "heap.h"

#include <errno.h>
#include <stdlib.h>

int heap_init(struct heap *h, uint32_t cap)
{
	h->n = 0;
	h->cap = cap;
	h->v = calloc(cap ? cap : 1, sizeof(*h->v));
	if (!h->v) {
		errno = ENOMEM;
		return -1;
	}
	return 0;
}

void heap_free(struct heap *h)
{
	free(h->v);
	h->v = NULL;
	h->n = h->cap = 0;
}

static void heap_put(struct heap *h, uint32_t i, struct heap_node *x)
{
	h->v[i] = x;
	x->pos = (int32_t)i;
}

/* Move the node at i towards the root while its parent is later. */
static void heap_up(struct heap *h, uint32_t i)
{
	struct heap_node *x = h->v[i];

	while (i > 0 && h->v[(i - 1) / 2]->key > x->key) {
		heap_put(h, i, h->v[(i - 1) / 2]);
		i = (i - 1) / 2;
	}
	heap_put(h, i, x);
}

/* Move the node at i towards the leaves while a child is earlier. */
static void heap_down(struct heap *h, uint32_t i)
{
	struct heap_node *x = h->v[i];

	for (;;) {
		uint32_t l = 2 * i + 1, m = l;
		if (l >= h->n)
			break;
		if (l + 1 < h->n && h->v[l + 1]->key < h->v[l]->key)
			m = l + 1;
		if (h->v[m]->key >= x->key)
			break;
		heap_put(h, i, h->v[m]);
		i = m;
	}
	heap_put(h, i, x);
}

int heap_set(struct heap *h, struct heap_node *x, uint64_t key)
{
	if (x->pos < 0) {
		if (h->n == h->cap) {
			errno = ENOSPC;
			return -1;
		}
		x->key = key;
		heap_put(h, h->n++, x);
		heap_up(h, (uint32_t)x->pos);
		return 0;
	}
	uint64_t old = x->key;
	x->key = key;
	if (key < old)
		heap_up(h, (uint32_t)x->pos);
	else
		heap_down(h, (uint32_t)x->pos);
	return 0;
}

void heap_del(struct heap *h, struct heap_node *x)
{
	if (x->pos < 0)
		return;
	uint32_t i = (uint32_t)x->pos;
	x->pos = -1;
	if (i == --h->n)
		return;
	/* The last node fills the hole and goes whichever way it must. */
	struct heap_node *y = h->v[h->n];
	heap_put(h, i, y);
	heap_down(h, i);
	if (y->pos == (int32_t)i)
		heap_up(h, i);
}
