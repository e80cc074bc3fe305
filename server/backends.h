/*
 * backends.h - the table of backends compiled into this build.
 */
#ifndef DAQMUX_BACKENDS_H
#define DAQMUX_BACKENDS_H

#include <stddef.h>

#include "backend.h"

/*
 * All backends known to the build, in the order `daqmux backends` lists
 * them. A backend whose library was missing at build time is still listed,
 * with a probe that says how to get it.
 */
extern const struct backend *const backends[];
extern const size_t backend_count;

const struct backend *backend_find(const char *name);

/* The available backend (its probe says yes) with the highest pref, or
 * NULL when none can run here. */
const struct backend *backend_default(void);

/* "epoll, uring": the names of the backends with all these features, for
 * messages (a static buffer). */
const char *backend_list(unsigned features);

#endif
