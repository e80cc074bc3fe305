/*
 * report.c - report.md: one table per scenario with a short reading of
 * the numbers under it, the targets with PASS/MISS (targets.c), and the
 * runs that did not measure. results.json and the CSVs are results.c.
 *
 * A cell is "median (min-max)" over the repetitions that succeeded. The
 * readings are written from the measured numbers, never assumed: a
 * backend that was expected to stall but did not is reported as it ran.
 */
#include "compare_int.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util.h"

/* ---- numbers ------------------------------------------------------------- */

static void cmp_fmt_fixed(char *buf, size_t len, double v, const char *unit)
{
	const char *f = v >= 99.95 ? "%.0f%s" : v >= 9.995 ? "%.1f%s" : "%.2f%s";
	cmp_sfmt(buf, len, f, v, unit);
}

void cmp_fmt(char *buf, size_t len, enum cmp_unit u, double v)
{
	if (isnan(v)) {
		cmp_sfmt(buf, len, "n/a");
		return;
	}
	switch (u) {
	case CMP_U_COUNT:
		cmp_sfmt(buf, len, "%.0f", v);
		break;
	case CMP_U_NS:
		if (v < 999.5)
			cmp_sfmt(buf, len, "%.0f ns", v);
		else if (v < 999.5e3)
			cmp_fmt_fixed(buf, len, v / 1e3, " us");
		else if (v < 999.5e6)
			cmp_fmt_fixed(buf, len, v / 1e6, " ms");
		else
			cmp_fmt_fixed(buf, len, v / 1e9, " s");
		break;
	case CMP_U_NSF:
		cmp_sfmt(buf, len, "%.0f ns", v);
		break;
	case CMP_U_RATE:
		if (v >= 999.5e3)
			cmp_fmt_fixed(buf, len, v / 1e6, " M");
		else if (v >= 999.5)
			cmp_fmt_fixed(buf, len, v / 1e3, " k");
		else
			cmp_sfmt(buf, len, "%.0f", v);
		break;
	case CMP_U_MBS:
		cmp_fmt_fixed(buf, len, v, "");
		break;
	case CMP_U_RATIO:
		cmp_sfmt(buf, len, v < 10 ? "%.3f" : "%.1f", v);
		break;
	case CMP_U_MIB:
		cmp_fmt_fixed(buf, len, v, " MiB");
		break;
	case CMP_U_MS:
		cmp_fmt_fixed(buf, len, v, " ms");
		break;
	}
}

void cmp_fmt_cell(char *buf, size_t len, const struct cmp_case *k, int m)
{
	char a[32], b[32], d[32];
	if (!k || k->state != CMP_OK) {
		cmp_sfmt(buf, len, "%s", k ? cmp_state_name(k->state) : "not run");
		return;
	}
	enum cmp_unit u = k->sc->metrics[m].unit;
	cmp_fmt(d, sizeof(d), u, k->med[m]);
	cmp_fmt(a, sizeof(a), u, k->lo[m]);
	cmp_fmt(b, sizeof(b), u, k->hi[m]);
	/* "59.1 us (52.8–211)": the range in the median's unit says it once */
	const char *ud = strrchr(d, ' '), *ua = strrchr(a, ' '), *ub = strrchr(b, ' ');
	if (ud && ua && ub && strcmp(ud, ua) == 0 && strcmp(ud, ub) == 0) {
		a[ua - a] = '\0';
		b[ub - b] = '\0';
	}
	if (k->nok > 1 && strcmp(a, b) != 0)
		cmp_sfmt(buf, len, "%s (%s–%s)", d, a, b);
	else
		cmp_sfmt(buf, len, "%s", d);
}

/* The backends in table order (the kit's order), then the reference. */
static const char *cmp_backend_at(const struct cmp *c, size_t i)
{
	return i < c->nbe ? c->be[i].be->name : NULL;
}

/* ---- report.md ----------------------------------------------------------- */

/* A cell, and its footnote number when the case was not OK or had a note. */
struct cmp_notes {
	const struct cmp_case *k[256];
	size_t n;
};

/* mark: this cell carries the case's footnote (the first of its row). */
static void cmp_cell(FILE *f, struct cmp_notes *nt, const struct cmp_case *k, const char *metric,
		     int mark)
{
	char cell[128];
	if (!k) {
		fprintf(f, " not run |");
		return;
	}
	cmp_fmt_cell(cell, sizeof(cell), k, cmp_idx(k, metric));
	size_t i;
	if (mark && k->why[0]) {
		for (i = 0; i < nt->n && nt->k[i] != k; i++)
			;
		if (i == nt->n && nt->n < ARRAY_SIZE(nt->k))
			nt->k[nt->n++] = k;
		fprintf(f, " %s [%zu] |", cell, i + 1);
	} else {
		fprintf(f, " %s |", cell);
	}
}

static void cmp_notes_print(FILE *f, struct cmp_notes *nt)
{
	for (size_t i = 0; i < nt->n; i++)
		fprintf(f, "%s[%zu] %s, %s: %s %s\n", i ? "\n" : "\n", i + 1, nt->k[i]->backend,
			nt->k[i]->vlabel, nt->k[i]->state == CMP_OK ? "note:" : cmp_state_name(nt->k[i]->state),
			nt->k[i]->why);
	nt->n = 0;
}

/* Backends with an OK case for a scenario/variant, joined. */
static void cmp_join(char *buf, size_t len, const char *const *names, size_t n)
{
	buf[0] = '\0';
	for (size_t i = 0; i < n; i++)
		cmp_cat(buf, len, "%s**%s**", i == 0 ? "" : i == n - 1 ? " and " : ", ", names[i]);
}

static void cmp_md_blocked(FILE *f, const struct cmp *c)
{
	struct cmp_notes nt = { .n = 0 };
	const char *stall[CMP_MAX_BACKENDS], *fine[CMP_MAX_BACKENDS];
	size_t nstall = 0, nfine = 0;
	double flo = INFINITY, fhi = 0, plo = INFINITY, phi = 0, smax = 0, sdel = 0;
	char a[32], b[32], d[32], list[300];

	fprintf(f, "4 sources send 64-byte payloads at 1 kHz for %.1f s; source 0 says nothing for "
		"the first %.1f s. *Delivered during the silence*: frames of sources 1–3 received "
		"before source 0's first frame arrived. The latencies are those of the frames sources "
		"1–3 *sent* during the silence, from their scheduled send time to their arrival at the "
		"server - so a client that wrote a frame late adds its lateness (*client behind p99*, "
		"from the client's JSON) to the latency.\n\n", c->p.blocked_s, c->p.silent_s);
	fprintf(f, "| backend | delivered during silence | sent during silence | silence | p50 | p99 | max | max latency, whole run | client behind p99 | lost |\n");
	fprintf(f, "|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|\n");
	for (size_t i = 0; cmp_backend_at(c, i); i++) {
		const struct cmp_case *k = cmp_find(c, CMP_BLOCKED, cmp_backend_at(c, i), 0);
		if (!k)
			continue;
		fprintf(f, "| %s |", k->backend);
		static const char *cols[] = { "delivered", "sent", "silence_ms", "p50_ns", "p99_ns",
					      "max_ns", "max_all_ns", "client_behind_p99_ns", "lost" };
		for (size_t j = 0; j < ARRAY_SIZE(cols); j++)
			cmp_cell(f, &nt, k, cols[j], j == 0);
		fprintf(f, "\n");
		if (k->state != CMP_OK)
			continue;
		double del = k->med[cmp_idx(k, "delivered")], sent = k->med[cmp_idx(k, "sent")];
		if (del < 0.1 * sent) {
			stall[nstall++] = k->backend;
			smax = fmax(smax, k->med[cmp_idx(k, "max_ns")]);
			sdel = fmax(sdel, del);
		} else {
			fine[nfine++] = k->backend;
			flo = fmin(flo, del);
			fhi = fmax(fhi, del);
			plo = fmin(plo, k->med[cmp_idx(k, "p99_ns")]);
			phi = fmax(phi, k->med[cmp_idx(k, "p99_ns")]);
		}
	}
	cmp_notes_print(f, &nt);
	fprintf(f, "\n");
	if (nstall) {
		cmp_join(list, sizeof(list), stall, nstall);
		cmp_fmt(a, sizeof(a), CMP_U_NS, smax);
		fprintf(f, "%s delivered %s%.0f frames from sources 1–3 during the %.1f s silence: every "
			"source waited behind the silent one, and the frames sent meanwhile arrived up to "
			"%s late. ", list, sdel > 0 ? "at most " : "", sdel, c->p.silent_s, a);
	}
	if (nfine) {
		cmp_join(list, sizeof(list), fine, nfine);
		cmp_fmt(a, sizeof(a), CMP_U_NS, plo);
		cmp_fmt(b, sizeof(b), CMP_U_NS, phi);
		cmp_sfmt(d, sizeof(d), flo == fhi ? "%.0f" : "%.0f–%.0f", flo, fhi);
		fprintf(f, "%s delivered %s frames from sources 1–3 while source 0 was silent (p99 "
			"latency %s%s%s): the "
			"silent source did not hold the others up.", list, d, a, nfine > 1 ? " to " : "",
			nfine > 1 ? b : "");
	}
	fprintf(f, "\n");
}

static void cmp_md_latency(FILE *f, const struct cmp *c)
{
	struct cmp_notes nt = { .n = 0 };
	char a[32], b[32];

	fprintf(f, "Pull mode: the server sends a REQUEST, the source answers with one DATA frame "
		"(64-byte payload), the server measures REQUEST sent → DATA received. One run with "
		"1 source, one with 8 (each has its own REQUEST outstanding), %.1f s each. ",
		c->p.latency_s);
	if (c->have_sockperf)
		fprintf(f, "The first row is the floor: `sockperf ping-pong --tcp -m 64` against "
			"`sockperf server --tcp` on 127.0.0.1, pinned the same way, in the same run. "
			"sockperf prints one-way latency, which it computes as RTT/2; the figures "
			"here are multiplied by 2 back into round-trip times.\n\n");
	else
		fprintf(f, "No sockperf reference: %s.\n\n", c->sockperf_why);
	fprintf(f, "| backend | sources | RTT p50 | p99 | p99.9 | max | round trips/s |\n");
	fprintf(f, "|---|--:|--:|--:|--:|--:|--:|\n");
	const struct cmp_case *ref = cmp_find(c, CMP_LATENCY, "sockperf", 0);
	if (ref) {
		fprintf(f, "| sockperf (reference) | 1 |");
		static const char *cols[] = { "p50_ns", "p99_ns", "p999_ns", "max_ns" };
		for (size_t j = 0; j < ARRAY_SIZE(cols); j++)
			cmp_cell(f, &nt, ref, cols[j], j == 0);
		fprintf(f, " |\n");
	}
	for (unsigned v = 0; v < 2; v++)
		for (size_t i = 0; cmp_backend_at(c, i); i++) {
			const struct cmp_case *k = cmp_find(c, CMP_LATENCY, cmp_backend_at(c, i), v);
			if (!k)
				continue;
			fprintf(f, "| %s | %.0f |", k->backend, k->x);
			static const char *cols[] = { "p50_ns", "p99_ns", "p999_ns", "max_ns", "rate" };
			for (size_t j = 0; j < ARRAY_SIZE(cols); j++)
				cmp_cell(f, &nt, k, cols[j], j == 0);
			fprintf(f, "\n");
		}
	cmp_notes_print(f, &nt);

	/* The reading: fastest and slowest p50 per variant, against the floor. */
	double ref50 = cmp_med(c, CMP_LATENCY, "sockperf", 0, "p50_ns");
	fprintf(f, "\n");
	if (!isnan(ref50)) {
		cmp_fmt(a, sizeof(a), CMP_U_NS, ref50);
		fprintf(f, "The kernel's TCP round trip on this machine (sockperf) is %s at the median. ", a);
	}
	for (unsigned v = 0; v < 2; v++) {
		const char *lo_b = NULL, *hi_b = NULL;
		double lo = INFINITY, hi = 0;
		for (size_t i = 0; cmp_backend_at(c, i); i++) {
			double x = cmp_med(c, CMP_LATENCY, cmp_backend_at(c, i), v, "p50_ns");
			if (isnan(x))
				continue;
			if (x < lo) lo = x, lo_b = cmp_backend_at(c, i);
			if (x > hi) hi = x, hi_b = cmp_backend_at(c, i);
		}
		if (!lo_b)
			continue;
		cmp_fmt(a, sizeof(a), CMP_U_NS, lo);
		cmp_fmt(b, sizeof(b), CMP_U_NS, hi);
		fprintf(f, "With %u source%s the median RTT ranges from %s (%s", c->p.latency_sources[v],
			v ? "s" : "", a, lo_b);
		if (!isnan(ref50))
			fprintf(f, ", %.2fx sockperf", lo / ref50);
		fprintf(f, ") to %s (%s", b, hi_b);
		if (!isnan(ref50))
			fprintf(f, ", %.2fx", hi / ref50);
		fprintf(f, ")%s", v == 0 ? ". " : ".");
	}
	fprintf(f, " With 8 sources every round trip also waits for the server to serve the others "
		"that are ready at the same moment; a backend that asks one source at a time "
		"(blocking) has one REQUEST outstanding in all, the others eight.\n");
}

static void cmp_md_throughput(FILE *f, const struct cmp *c)
{
	struct cmp_notes nt = { .n = 0 };
	char a[32], b[32];

	fprintf(f, "8 sources write as fast as the socket takes them (`--rate max`) for %.1f s. "
		"frames/s and MB/s (payload, 10^6 bytes) are counted by the server between the first "
		"and the last frame; *server CPU/frame* is its user+sys time over the run divided by "
		"the frames; *syscalls/frame* counts every wait, read, accept and registration call. "
		"*client blocked* is how long the client waited on a full socket: when it is above "
		"zero the server, not the client, was the limit.\n\n", c->p.throughput_s);
	fprintf(f, "| backend | payload | frames/s | MB/s | server CPU/frame | syscalls/frame | reads/frame | client blocked | lost |\n");
	fprintf(f, "|---|--:|--:|--:|--:|--:|--:|--:|--:|\n");
	for (unsigned v = 0; v < 3; v++)
		for (size_t i = 0; cmp_backend_at(c, i); i++) {
			const struct cmp_case *k = cmp_find(c, CMP_THROUGHPUT, cmp_backend_at(c, i), v);
			if (!k)
				continue;
			fprintf(f, "| %s | %s |", k->backend, k->vlabel);
			static const char *cols[] = { "frames_per_s", "mb_per_s", "cpu_ns_per_frame",
						      "syscalls_per_frame", "reads_per_frame",
						      "client_blocked_ms", "lost" };
			for (size_t j = 0; j < ARRAY_SIZE(cols); j++)
				cmp_cell(f, &nt, k, cols[j], j == 0);
			fprintf(f, "\n");
		}
	cmp_notes_print(f, &nt);
	fprintf(f, "\n");
	for (unsigned v = 0; v < 3; v++) {
		const char *best = NULL, *cheap = NULL, *worst = NULL;
		double bx = 0, cx = INFINITY, wx = INFINITY, cs = NAN;
		char label[40];
		for (size_t i = 0; cmp_backend_at(c, i); i++) {
			const char *be = cmp_backend_at(c, i);
			double x = cmp_med(c, CMP_THROUGHPUT, be, v, "frames_per_s");
			double y = cmp_med(c, CMP_THROUGHPUT, be, v, "cpu_ns_per_frame");
			if (isnan(x))
				continue;
			if (x > bx) bx = x, best = be;
			if (x < wx) wx = x, worst = be;
			if (y < cx) cx = y, cheap = be, cs = cmp_med(c, CMP_THROUGHPUT, be, v, "syscalls_per_frame");
		}
		if (!best)
			continue;
		const struct cmp_case *k = cmp_find(c, CMP_THROUGHPUT, best, v);
		cmp_sfmt(label, sizeof(label), "%s", k->vlabel);
		cmp_fmt(a, sizeof(a), CMP_U_RATE, bx);
		cmp_fmt(b, sizeof(b), CMP_U_RATE, wx);
		fprintf(f, "%s: **%s** received the most, %s frames/s (%.0f MB/s)", label, best, a,
			cmp_med(c, CMP_THROUGHPUT, best, v, "mb_per_s"));
		if (worst && worst != best)
			fprintf(f, ", **%s** the fewest, %s", worst, b);
		if (cheap)
			fprintf(f, "; the cheapest per frame was **%s** at %.0f ns of server CPU and %.3f "
				"system calls per frame", cheap, cx, cs);
		fprintf(f, ".%s", v < 2 ? " " : "\n");
	}
}

static void cmp_md_idle_matrix(FILE *f, const struct cmp *c, struct cmp_notes *nt,
			       const char *metric, const char *title)
{
	fprintf(f, "\n%s\n\n| backend |", title);
	for (unsigned v = 0; v < c->p.nidle; v++)
		fprintf(f, " %u idle |", c->p.idle_counts[v]);
	fprintf(f, " %u vs 0 |\n|---|", c->p.idle_counts[c->p.nidle - 1]);
	for (unsigned v = 0; v <= c->p.nidle; v++)
		fprintf(f, "--:|");
	fprintf(f, "\n");
	for (size_t i = 0; cmp_backend_at(c, i); i++) {
		const char *be = cmp_backend_at(c, i);
		if (!cmp_find(c, CMP_IDLE, be, 0))
			continue;
		fprintf(f, "| %s |", be);
		for (unsigned v = 0; v < c->p.nidle; v++)
			cmp_cell(f, nt, cmp_find(c, CMP_IDLE, be, v), metric, 1);
		double a = cmp_med(c, CMP_IDLE, be, 0, metric);
		double b = cmp_med(c, CMP_IDLE, be, c->p.nidle - 1, metric);
		if (isnan(a) || isnan(b) || a <= 0)
			fprintf(f, " – |\n");
		else
			fprintf(f, " %.2fx |\n", b / a);
	}
}

static void cmp_md_idle(FILE *f, const struct cmp *c)
{
	struct cmp_notes nt = { .n = 0 };

	fprintf(f, "8 sources send 64-byte payloads at 1 kHz for %.1f s while the client also holds "
		"idle connections open that never send a byte (the server runs with `--sources 8`, "
		"so they do not count as sources). *Server CPU/frame (steady)* is the server's CPU "
		"time between 20 %% and 90 %% of the time frames were arriving, divided by the frames "
		"that arrived in that window: it leaves out accepting the idle connections, which is "
		"a one-off cost (the whole-run figure, which includes it, is in the CSV and JSON). "
		"The descriptor limit the children inherit is %ld.\n", c->p.idle_s, c->nofile);
	cmp_md_idle_matrix(f, c, &nt, "cpu_ns_per_frame", "**Server CPU per frame (steady state)**");
	cmp_md_idle_matrix(f, c, &nt, "p99_ns", "**p99 latency** (send → received)");
	cmp_md_idle_matrix(f, c, &nt, "max_rss_mib", "**Peak memory of the server** (max RSS)");
	cmp_notes_print(f, &nt);
	fprintf(f, "\n");
	for (size_t i = 0; cmp_backend_at(c, i); i++) {
		const char *be = cmp_backend_at(c, i);
		const struct cmp_case *k0 = cmp_find(c, CMP_IDLE, be, 0), *kn = NULL;
		unsigned v;
		if (!k0)
			continue;
		if (k0->state != CMP_OK) {
			fprintf(f, "- **%s**: %s even with no idle connection — %s\n", be,
				cmp_state_name(k0->state), k0->why);
			continue;
		}
		/* the largest count that measured, and the first that did not */
		for (v = 0; v < c->p.nidle; v++) {
			const struct cmp_case *x = cmp_find(c, CMP_IDLE, be, v);
			if (!x || x->state != CMP_OK || isnan(x->med[cmp_idx(x, "cpu_ns_per_frame")]))
				break;
			kn = x;
		}
		int m = cmp_idx(k0, "cpu_ns_per_frame"), w = cmp_idx(k0, "cpu_run_ns_per_frame");
		int rss = cmp_idx(k0, "max_rss_mib");
		if (kn && kn != k0) {
			fprintf(f, "- **%s**: %.0f ns of CPU per frame with no idle connection, %.0f ns with "
				"%s (%.2fx); counting the set-up too (whole run) %.0f → %.0f ns; peak memory "
				"%.1f → %.1f MiB", be, k0->med[m], kn->med[m], kn->vlabel,
				kn->med[m] / k0->med[m], k0->med[w], kn->med[w], k0->med[rss], kn->med[rss]);
			double seen = kn->med[cmp_idx(kn, "idle_seen")];
			if (seen < kn->x)
				fprintf(f, " — but the server accepted only %.0f of the %.0f idle connections", seen, kn->x);
			fprintf(f, ".");
		} else {
			fprintf(f, "- **%s**: %.0f ns of CPU per frame with no idle connection.", be, k0->med[m]);
		}
		if (v < c->p.nidle) {
			const struct cmp_case *x = cmp_find(c, CMP_IDLE, be, v);
			if (x)
				fprintf(f, " With %s: %s — %s", x->vlabel, cmp_state_name(x->state), x->why);
		}
		fprintf(f, "\n");
	}
}

static void cmp_md_build(FILE *f, const struct cmp *c)
{
	static const char *cols[] = { "events_per_s", "p50_ns", "p99_ns", "max_ns", "held_mib",
				      "kept_mib", "partial", "paused_ms", "late", "client_blocked_ms",
				      "lock_wait_ms" };
	struct cmp_notes nt = { .n = 0 };

	fprintf(f, "8 sources send a 4 KiB fragment per 1 kHz trigger for %.1f s; the server builds "
		"events (`--build --build-window 64 --build-timeout 100`). *building* latency is the "
		"arrival of an event's last fragment minus its trigger time; *held* is what the ring "
		"of 64 events held at most, *read while paused* what was read beyond a pause; "
		"*paused* the longest any source was paused. docs/event-building.md explains the "
		"differences.\n\n", c->p.build_s);
	fprintf(f, "| backend | source 3 | events/s | building p50 | p99 | max | held | read while "
		"paused | partial | paused | late fragments | client blocked | lock wait |\n");
	fprintf(f, "|---|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|\n");
	for (unsigned v = 0; v < 3; v++)
		for (size_t i = 0; cmp_backend_at(c, i); i++) {
			const struct cmp_case *k = cmp_find(c, CMP_BUILD, cmp_backend_at(c, i), v);
			if (!k)
				continue;
			fprintf(f, "| %s | %s |", k->backend, k->vlabel);
			for (size_t j = 0; j < ARRAY_SIZE(cols); j++)
				cmp_cell(f, &nt, k, cols[j], j == 0);
			fprintf(f, "\n");
		}
	cmp_notes_print(f, &nt);
}

static void cmp_md_header(FILE *f, const struct cmp *c)
{
	fprintf(f, "# daqmux compare\n\n");
	fprintf(f, "How should a program read many sockets at once? Every backend of this build, "
		"through the same scenarios, measured the same way. docs/compare.md explains each "
		"scenario and how to read the numbers. A cell is the **median of the repetitions "
		"(min–max)**.\n\n");
	fprintf(f, "| | |\n|---|---|\n");
	fprintf(f, "| date | %s |\n", c->mach.date);
	fprintf(f, "| machine | %s, %ld CPUs online |\n", c->mach.cpu_model[0] ? c->mach.cpu_model : "?",
		c->mach.cores);
	fprintf(f, "| kernel | %s |\n", c->mach.kernel);
	fprintf(f, "| daqmux | %s |\n", c->mach.revision[0] ? c->mach.revision : "(no git revision)");
	if (c->cpu_server >= 0)
		fprintf(f, "| pinning | server on CPU %d (`--cpu`), client on CPU %d (sched_setaffinity) |\n",
			c->cpu_server, c->cpu_client);
	else
		fprintf(f, "| pinning | **not pinned**: only one CPU, server and client share it |\n");
	fprintf(f, "| repetitions | %u%s |\n", c->p.repeat, c->o.quick ? " (`--quick`: shortened runs)" : "");
	fprintf(f, "| wall time | %.0f s (estimated %.0f s) |\n", c->wall_s, c->est_total_s);
	fprintf(f, "| descriptors | RLIMIT_NOFILE %ld for the children (hard limit %ld) |\n", c->nofile,
		c->nofile_hard);
	if (c->interrupted)
		fprintf(f, "| **interrupted** | the run was stopped early; what is here is what ran |\n");
	fprintf(f, "\n**Backends**: ");
	for (size_t i = 0; i < c->nbe; i++) {
		const struct cmp_backend *b = &c->be[i];
		fprintf(f, "%s%s", i ? "; " : "", b->be->name);
		if (!b->available)
			fprintf(f, " — unavailable: %s", b->why);
		else if (!b->selected)
			fprintf(f, " — not selected (--backends)");
	}
	fprintf(f, ".\n");
	if (!c->have_gnuplot)
		fprintf(f, "\n**No plots**: %s. Every table is here all the same.\n", c->gp_why);
}

static int cmp_png_exists(const struct cmp *c, const char *name)
{
	char p[CMP_PATH + 64];
	struct stat st;
	cmp_sfmt(p, sizeof(p), "%s/%s", c->out, name);
	return stat(p, &st) == 0 && st.st_size > 0;
}

static void cmp_md_png(FILE *f, const struct cmp *c, const char *name, const char *alt)
{
	if (cmp_png_exists(c, name))
		fprintf(f, "\n![%s](%s)\n", alt, name);
}

static void cmp_md_failures(FILE *f, const struct cmp *c)
{
	unsigned n = 0;
	for (size_t i = 0; i < c->ncases; i++) {
		const struct cmp_case *k = &c->cases[i];
		for (unsigned r = 0; r < k->nrep; r++) {
			const struct cmp_rep *p = &k->rep[r];
			if (p->state == CMP_OK || p->state == CMP_NOTRUN)
				continue;
			if (!n++)
				fprintf(f, "\n## Runs that did not measure\n\n"
					"Unsupported and skipped runs are limits of a method or of this "
					"machine; failed runs are failures (the server or client logs are in "
					"raw/).\n\n| scenario | backend | variant | rep | state | reason |\n"
					"|---|---|---|--:|---|---|\n");
			fprintf(f, "| %s | %s | %s | %u | %s | %s |\n", k->sc->name, k->backend, k->vlabel,
				r + 1, cmp_state_name(p->state), p->why);
		}
	}
}

static int cmp_write_md(const struct cmp *c)
{
	char path[CMP_PATH + 32];
	struct cmp_target t[8];
	size_t nt = cmp_targets(c, t, ARRAY_SIZE(t));

	cmp_sfmt(path, sizeof(path), "%s/report.md", c->out);
	FILE *f = fopen(path, "w");
	if (!f) {
		msg("compare: cannot write %s: %s", path, strerror(errno));
		return -1;
	}
	cmp_md_header(f, c);
	if (nt) {
		fprintf(f, "\n## Targets\n\nMeasured in this run, not asserted.");
		if (c->p.repeat < 3)
			fprintf(f, " With %u repetition%s a single noisy run can decide a verdict - above "
				"all the idle and latency ones on a busy or virtual machine: judge by a "
				"default run (3 repetitions).", c->p.repeat, c->p.repeat == 1 ? "" : "s");
		fprintf(f, "\n\n| target | verdict | measured |\n|---|---|---|\n");
		for (size_t i = 0; i < nt; i++)
			fprintf(f, "| %s | **%s** | %s |\n", t[i].name, cmp_verdict_name(t[i].verdict),
				t[i].detail);
	}
	if (c->o.scen_mask & (1u << CMP_BLOCKED)) {
		fprintf(f, "\n## 1. %s\n\n", cmp_scens[CMP_BLOCKED].title);
		cmp_md_blocked(f, c);
		cmp_md_png(f, c, "blocked-timeline.png", "latency of every frame over time, per backend");
	}
	if (c->o.scen_mask & (1u << CMP_LATENCY)) {
		fprintf(f, "\n## 2. %s\n\n", cmp_scens[CMP_LATENCY].title);
		cmp_md_latency(f, c);
		cmp_md_png(f, c, "latency-cdf.png", "RTT CDF per backend");
	}
	if (c->o.scen_mask & (1u << CMP_THROUGHPUT)) {
		fprintf(f, "\n## 3. %s\n\n", cmp_scens[CMP_THROUGHPUT].title);
		cmp_md_throughput(f, c);
		cmp_md_png(f, c, "throughput.png", "throughput and CPU per frame");
	}
	if (c->o.scen_mask & (1u << CMP_IDLE)) {
		fprintf(f, "\n## 4. %s\n\n", cmp_scens[CMP_IDLE].title);
		cmp_md_idle(f, c);
		cmp_md_png(f, c, "idle-scaling.png", "CPU per frame, p99 and memory against idle connections");
	}
	if (c->o.scen_mask & (1u << CMP_BUILD)) {
		fprintf(f, "\n## 5. %s\n\n", cmp_scens[CMP_BUILD].title);
		cmp_md_build(f, c);
	}
	cmp_md_failures(f, c);
	fprintf(f, "\n## Files\n\nresults.json has every figure of every repetition and the machine; "
		"one CSV per scenario; data/ the plotted data and the gnuplot scripts; raw/ each run's "
		"server and client JSON and logs.\n");
	if (fclose(f) != 0) {
		msg("compare: writing %s failed: %s", path, strerror(errno));
		return -1;
	}
	return 0;
}

/* report.md, results.json and one CSV per scenario. */
int cmp_write_report(struct cmp *c)
{
	int rc = 0;
	for (int s = 0; s < CMP_NSCENS; s++)
		if ((c->o.scen_mask & (1u << s)) && cmp_write_csv(c, &cmp_scens[s]) < 0)
			rc = -1;
	if (cmp_write_json(c) < 0)
		rc = -1;
	if (cmp_write_md(c) < 0)
		rc = -1;
	return rc;
}
