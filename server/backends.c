/*
 * backends.c - the table of backends. Adding one is one `extern` and one
 * line in the table; nothing else in the kit names a backend.
 */
#include <stdio.h>
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

const struct backend *backend_default(void)
{
	const struct backend *best = NULL;

	for (size_t i = 0; i < backend_count; i++) {
		const struct backend *b = backends[i];
		char why[256];
		if ((!best || b->pref > best->pref) && (!b->probe || b->probe(why, sizeof(why)) == 0))
			best = b;
	}
	return best;
}

const char *backend_list(unsigned features)
{
	static char buf[256];
	size_t n = 0;

	buf[0] = '\0';
	for (size_t i = 0; i < backend_count && n < sizeof(buf); i++)
		if (backend_has(backends[i], features))
			n += (size_t)snprintf(buf + n, sizeof(buf) - n, "%s%s", n ? ", " : "",
					      backends[i]->name);
	return buf;
}
