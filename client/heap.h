/*
 * heap.h - a binary min-heap of timers, intrusive: each timer is a
 * struct heap_node inside the thing it wakes (a source of the client),
 * which knows its own place in the heap, so changing or cancelling a
 * timer is O(log n) without a search and the heap never allocates after
 * heap_init. The shape of libevent's minheap-internal.h and libuv's
 * heap-inl.h, keyed by a CLOCK_MONOTONIC time in ns.
 *
 * Ties come out in no particular order. Not thread-safe.
 */
#ifndef DAQMUX_HEAP_H
#define DAQMUX_HEAP_H

#include <stddef.h>
#include <stdint.h>

struct heap_node {
	uint64_t key;           /* when it is due */
	int32_t  pos;           /* its index in the heap, -1 when not in it */
};

struct heap {
	struct heap_node **v;
	uint32_t n, cap;
};

/* Room for cap timers; 0, or -1 with errno ENOMEM. */
int  heap_init(struct heap *h, uint32_t cap);
void heap_free(struct heap *h);

static inline void heap_node_init(struct heap_node *x)
{
	x->pos = -1;
}

static inline int heap_queued(const struct heap_node *x)
{
	return x->pos >= 0;
}

/* The earliest timer, NULL when there is none. */
static inline struct heap_node *heap_min(const struct heap *h)
{
	return h->n ? h->v[0] : NULL;
}

/* Set x's key, inserting it if it is not queued. 0, or -1 with errno
 * ENOSPC when the heap already holds cap timers. */
int  heap_set(struct heap *h, struct heap_node *x, uint64_t key);

/* Take x out; nothing when it is not queued. */
void heap_del(struct heap *h, struct heap_node *x);

#endif
