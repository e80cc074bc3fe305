/*
 * backends.c - the table of backends. Adding one is one `extern` and one
 * line in the table; nothing else in the kit names a backend.
 */
#include <string.h>

#include "backends.h"

extern const struct backend backend_blocking, backend_select, backend_poll,
	backend_epoll, backend_threads, backend_uring, backend_libuv, backend_libevent,
	backend_glib;

const struct backend *const backends[] = {
	&backend_blocking,
	&backend_select,
	&backend_poll,
	&backend_epoll,
	&backend_threads,
	&backend_uring,
	&backend_libuv,
	&backend_libevent,
	&backend_glib,
};

const size_t backend_count = sizeof(backends) / sizeof(backends[0]);

const struct backend *backend_find(const char *name)
{
	for (size_t i = 0; i < backend_count; i++)
		if (strcmp(backends[i]->name, name) == 0)
			return backends[i];
	return NULL;
}
