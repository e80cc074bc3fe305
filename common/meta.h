/*
 * meta.h - what every JSON the kit writes says about itself and the
 * machine, so that a file kept for years still says what wrote it, where
 * and when (like iperf3 -J's "start" block):
 *
 *   "schema": {"name": "daqmux-server", "version": 1},
 *   "daqmux_version": "...", "start_utc": "2026-12-04T18:35:36.123456789Z",
 *   "start_realtime_ns": ..., "monotonic_minus_realtime_ns": ...,
 *   "host": ..., "kernel": ..., "cpu_model": ..., "liburing": ...,
 *   "compiler": ...
 *
 * monotonic_minus_realtime_ns lines the CLOCK_MONOTONIC times of the
 * protocol and the traces up with CLOCK_REALTIME ones (packet captures):
 * realtime = monotonic - offset. It is taken from two clock reads next to
 * each other, so it is good to a microsecond or so.
 */
#ifndef DAQMUX_META_H
#define DAQMUX_META_H

#include <stddef.h>
#include <stdint.h>

#include "json.h"

/* The start of a run: both clocks, read together. */
struct meta_start {
	int64_t realtime_ns, monotonic_ns;
};

void meta_start_now(struct meta_start *s);

/* The members above into the object w has open. start NULL: now. */
void meta_write(struct jw *w, const char *schema, int version, const struct meta_start *start);

/* The pieces, for reports that print them ("" when unknown). */
void meta_kernel(char *buf, size_t len);        /* "Linux 6.1.0 #1 SMP ... x86_64" */
void meta_cpu_model(char *buf, size_t len);     /* /proc/cpuinfo's first "model name" */
const char *meta_liburing(void);                /* "2.3" (built with), or "not built in" */
const char *meta_compiler(void);                /* "gcc 12.2.0", "clang 14.0.6" */
void meta_utc(char *buf, size_t len, int64_t realtime_ns);   /* ISO 8601 with ns */

#endif
