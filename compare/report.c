/*
 * report.c - report.md. It opens with the answer, "Which backend for
 * you", a decision table whose every cell cites this run's figures
 * (decide.c: ties where the min-max ranges overlap, lower bounds and
 * saturated figures never winners); then one section per scenario, as
 * cmp_views below describes it: an introduction, its tables, a reading
 * of them, its plot; the runs that did not measure; the kit's own
 * targets in an appendix. results.json and the CSVs are results.c, the
 * plots plot.c (from the same views).
 *
 * A cell is "median (min-max)" over the repetitions that succeeded;
 * ">= x" where x is a lower bound (the client set the pace) or a
 * ceiling (the server's core was saturated). The readings are written
 * from the measured numbers, never assumed.
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
#include "version.h"

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
	case CMP_U_PCT:
		cmp_sfmt(buf, len, "%.0f %%", v);
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
	unsigned fl = k->sc->metrics[m].flags;
	/* A rate the client held back, a cost of a saturated core: at least. */
	const char *ge = ((fl & CMP_MF_RATE) && k->client_limited) ||
			 ((fl & CMP_MF_CPU) && k->saturated) ? "≥ " : "";
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
		cmp_sfmt(buf, len, "%s%s (%s–%s)", ge, d, a, b);
	else
		cmp_sfmt(buf, len, "%s%s", ge, d);
	/* The utilisation says it in words where it crossed the line. */
	if (strcmp(k->sc->metrics[m].key, "server_cpu_pct") == 0 && k->saturated)
		cmp_cat(buf, len, " **saturated**");
}

/* The backends in table order (the kit's order), then the reference. */
static const char *cmp_backend_at(const struct cmp *c, size_t i)
{
	return i < c->nbe ? c->be[i].be->name : NULL;
}

static int cmp_ran(const struct cmp *c, enum cmp_scen_id s)
{
	return (c->o.scen_mask & (1u << s)) != 0;
}

/* ---- tables ---------------------------------------------------------------- */

/* Footnotes of one section: the cases that were not OK or had a note. */
struct cmp_notes {
	const struct cmp_case *k[256];
	size_t n;
};

/* mark: this cell carries the case's footnote (the first of its row). */
static void cmp_cell(FILE *f, struct cmp_notes *nt, const struct cmp_case *k, const char *metric,
		     int mark)
{
	char cell[160];
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
		fprintf(f, "\n[%zu] %s, %s: %s %s\n", i + 1, nt->k[i]->backend, nt->k[i]->vlabel,
			nt->k[i]->state == CMP_OK ? "note:" : cmp_state_name(nt->k[i]->state),
			nt->k[i]->why);
	nt->n = 0;
}

static unsigned cmp_ncols(const struct cmp_table *t)
{
	unsigned n = 0;
	while (n < ARRAY_SIZE(t->cols) && t->cols[n])
		n++;
	return n;
}

static void cmp_md_row(FILE *f, struct cmp_notes *nt, const struct cmp_table *t,
		       const struct cmp_case *k, const char *name)
{
	fprintf(f, "| %s |", name);
	if (t->variant)
		fprintf(f, " %s |", k->vlabel);
	for (unsigned j = 0; j < cmp_ncols(t); j++)
		cmp_cell(f, nt, k, t->cols[j], j == 0);
	fprintf(f, "\n");
}

/* A row per variant x backend, a column per metric. */
static void cmp_md_rows(FILE *f, const struct cmp *c, const struct cmp_scen *sc,
			const struct cmp_table *t, struct cmp_notes *nt)
{
	fprintf(f, "| backend |");
	if (t->variant)
		fprintf(f, " %s |", t->variant);
	for (unsigned j = 0; j < cmp_ncols(t); j++)
		fprintf(f, " %s |", sc->metrics[cmp_metric_index(sc, t->cols[j])].label);
	fprintf(f, "\n|---|%s", t->variant ? "--:|" : "");
	for (unsigned j = 0; j < cmp_ncols(t); j++)
		fprintf(f, "--:|");
	fprintf(f, "\n");
	const struct cmp_case *ref = t->reference ? cmp_find(c, sc->id, "sockperf", 0) : NULL;
	if (ref)
		cmp_md_row(f, nt, t, ref, "sockperf (reference)");
	for (unsigned v = 0; v < sc->nvariants(c); v++)
		for (size_t i = 0; cmp_backend_at(c, i); i++) {
			const struct cmp_case *k = cmp_find(c, sc->id, cmp_backend_at(c, i), v);
			if (k)
				cmp_md_row(f, nt, t, k, k->backend);
		}
}

/* A row per backend, a column per variant, of one metric, and how the
 * last variant compares with the first. */
static void cmp_md_matrix(FILE *f, const struct cmp *c, const struct cmp_scen *sc,
			  const struct cmp_table *t, struct cmp_notes *nt)
{
	unsigned nv = sc->nvariants(c);
	char label[40];
	double x;

	fprintf(f, "| backend |");
	for (unsigned v = 0; v < nv; v++) {
		sc->variant(c, v, label, sizeof(label), &x);
		fprintf(f, " %s |", label);
	}
	sc->variant(c, nv - 1, label, sizeof(label), &x);
	fprintf(f, " %s vs first |\n|---|", label);
	for (unsigned v = 0; v <= nv; v++)
		fprintf(f, "--:|");
	fprintf(f, "\n");
	for (size_t i = 0; cmp_backend_at(c, i); i++) {
		const char *be = cmp_backend_at(c, i);
		if (!cmp_find(c, sc->id, be, 0))
			continue;
		fprintf(f, "| %s |", be);
		for (unsigned v = 0; v < nv; v++)
			cmp_cell(f, nt, cmp_find(c, sc->id, be, v), t->metric, 1);
		double a = cmp_med(c, sc->id, be, 0, t->metric);
		double b = cmp_med(c, sc->id, be, nv - 1, t->metric);
		if (isnan(a) || isnan(b) || a <= 0)
			fprintf(f, " – |\n");
		else
			fprintf(f, " %.2fx |\n", b / a);
	}
}

/* ---- the scenarios: introductions and readings ------------------------------ */

/* Backends with an OK case for a scenario/variant, joined. */
static void cmp_join(char *buf, size_t len, const char *const *names, size_t n)
{
	buf[0] = '\0';
	for (size_t i = 0; i < n; i++)
		cmp_cat(buf, len, "%s**%s**", i == 0 ? "" : i == n - 1 ? " and " : ", ", names[i]);
}

static void cmp_intro_blocked(FILE *f, const struct cmp *c)
{
	fprintf(f, "4 sources send 64-byte payloads at 1 kHz for %.1f s; source 0 says nothing for "
		"the first %.1f s. *Delivered during the silence*: frames of sources 1–3 received "
		"before source 0's first frame arrived. The latencies are those of the frames sources "
		"1–3 *sent* during the silence, from their scheduled send time to their arrival at the "
		"server - so a client that wrote a frame late adds its lateness (*client behind p99*, "
		"from the client's JSON) to the latency.\n\n", c->p.blocked_s, c->p.silent_s);
}

/* Who stalls behind the silent source: fewer than a tenth of the frames
 * sent during the silence delivered in it. */
static int cmp_stalled(const struct cmp_case *k)
{
	return k->med[cmp_idx(k, "delivered")] < 0.1 * k->med[cmp_idx(k, "sent")];
}

static void cmp_read_blocked(FILE *f, const struct cmp *c)
{
	const char *stall[CMP_MAX_BACKENDS], *fine[CMP_MAX_BACKENDS];
	size_t nstall = 0, nfine = 0;
	double flo = INFINITY, fhi = 0, plo = INFINITY, phi = 0, smax = 0, sdel = 0;
	char a[32], b[32], d[32], list[300];

	for (size_t i = 0; cmp_backend_at(c, i); i++) {
		const struct cmp_case *k = cmp_find(c, CMP_BLOCKED, cmp_backend_at(c, i), 0);
		if (!k || k->state != CMP_OK)
			continue;
		double del = k->med[cmp_idx(k, "delivered")];
		if (cmp_stalled(k)) {
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
			"latency %s%s%s): the silent source did not hold the others up.", list, d, a,
			nfine > 1 ? " to " : "", nfine > 1 ? b : "");
	}
	fprintf(f, "\n");
}

static void cmp_intro_latency(FILE *f, const struct cmp *c)
{
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
}

static void cmp_read_latency(FILE *f, const struct cmp *c)
{
	struct cmp_decision d;
	char a[32], text[1200];
	double ref50 = cmp_med(c, CMP_LATENCY, "sockperf", 0, "p50_ns");

	if (!isnan(ref50)) {
		cmp_fmt(a, sizeof(a), CMP_U_NS, ref50);
		fprintf(f, "The kernel's TCP round trip on this machine (sockperf) is %s at the median.\n\n",
			a);
	}
	for (unsigned v = 0; v < 2; v++) {
		cmp_decide(c, CMP_LATENCY, v, "p50_ns", CMP_LOWER, &d);
		if (!d.nrank)
			continue;
		cmp_decision_text(text, sizeof(text), &d);
		fprintf(f, "- Lowest median RTT with %u source%s: %s", c->p.latency_sources[v],
			v ? "s" : "", text);
		if (!isnan(ref50))
			fprintf(f, " — %.2fx sockperf", d.rank[0]->med[d.metric] / ref50);
		fprintf(f, ".\n");
	}
	fprintf(f, "\nWith 8 sources every round trip also waits for the server to serve the others "
		"that are ready at the same moment; a backend that asks one source at a time "
		"(blocking) has one REQUEST outstanding in all, the others eight.\n");
}

static void cmp_intro_throughput(FILE *f, const struct cmp *c)
{
	fprintf(f, "8 sources write as fast as the socket takes them (`--rate max`) for %.1f s. "
		"frames/s and MB/s (payload, 10^6 bytes) are counted by the server between the first "
		"and the last frame. *server CPU* is its user+sys time over that span as a share of "
		"one core: at %.0f %% or more it was **saturated**, so its rate is all it could do and "
		"its CPU per frame is a ceiling (shown as ≥). *server CPU/frame* is that time divided "
		"by the frames; *server core* and *machine CPU/frame* come from /proc/stat around the "
		"run (user, system and softirq of the server's CPU, and of every CPU): on loopback "
		"the sender's CPU runs much of the receiver's TCP in softirq, which the server's own "
		"figure does not see. *client blocked* is how long the client waited on a full socket: "
		"where the client never found it full, it set the pace, and frames/s and MB/s are a "
		"lower bound (≥) that wins nothing.\n\n"
		"Each run is followed by its **floor**: the same backend, client and payload with "
		"`daqmux server --discard`, which waits and reads exactly as the backend does but "
		"parses nothing (it counts bytes and derives the frames from the fixed size). "
		"*Framing overhead* is the real CPU/frame minus the floor's, per repetition: what "
		"the kit's framing, CRC-32C and accounting cost per frame, beside what the backend's "
		"waits and reads cost.\n\n", c->p.throughput_s, CMP_SATURATED_PCT);
}

/* One line per payload: each backend's framing overhead over its floor. */
static void cmp_read_floor(FILE *f, const struct cmp *c, unsigned v, const char *label)
{
	char cell[64], ratio[64];
	int any = 0;

	for (size_t i = 0; cmp_backend_at(c, i); i++) {
		const struct cmp_case *k = cmp_find(c, CMP_THROUGHPUT, cmp_backend_at(c, i), v);
		if (!k || k->state != CMP_OK || isnan(k->med[cmp_idx(k, "framing_ns_per_frame")]))
			continue;
		cmp_fmt_cell(cell, sizeof(cell), k, cmp_idx(k, "framing_ns_per_frame"));
		cmp_fmt_cell(ratio, sizeof(ratio), k, cmp_idx(k, "cpu_vs_floor"));
		if (!any)
			fprintf(f, "- %s, framing overhead per frame (real − `--discard`): ", label);
		fprintf(f, "%s**%s** %s, %s× the floor", any ? "; " : "", k->backend, cell, ratio);
		any = 1;
	}
	if (any)
		fprintf(f, ".\n");
}

static void cmp_read_throughput(FILE *f, const struct cmp *c)
{
	struct cmp_decision d;
	char text[1500], label[40];
	double x;

	for (unsigned v = 0; v < cmp_scens[CMP_THROUGHPUT].nvariants(c); v++) {
		cmp_scens[CMP_THROUGHPUT].variant(c, v, label, sizeof(label), &x);
		cmp_decide(c, CMP_THROUGHPUT, v, "frames_per_s", CMP_HIGHER, &d);
		if (d.metric < 0)
			continue;
		cmp_decision_text(text, sizeof(text), &d);
		fprintf(f, "- %s, most frames/s: %s.\n", label, text);
		cmp_decide(c, CMP_THROUGHPUT, v, "cpu_ns_per_frame", CMP_LOWER, &d);
		cmp_decision_text(text, sizeof(text), &d);
		fprintf(f, "- %s, least server CPU per frame: %s.\n", label, text);
		cmp_read_floor(f, c, v, label);
	}
}

static void cmp_intro_build(FILE *f, const struct cmp *c)
{
	fprintf(f, "8 sources send a 4 KiB fragment per 1 kHz trigger (`--burst`) for %.1f s and the "
		"server builds events (`--build --build-window 64 --build-timeout 100`): source 3 "
		"healthy, jittering by up to 5 ms, or stopping for 1 s and then sending what fell "
		"due. *building* latency is the arrival of an event's last fragment minus its "
		"trigger time (complete events); *held* what the ring of 64 events held at most; "
		"*read while paused* what was read beyond a pause; *paused* the longest any source "
		"was not read; *lock wait* the time threads waited for the shared builder. "
		"docs/event-building.md explains the differences.\n\n", c->p.build_s);
}

static void cmp_read_build(FILE *f, const struct cmp *c)
{
	struct cmp_decision d;
	char text[1500], label[40];
	double x;

	for (unsigned v = 0; v < cmp_scens[CMP_BUILD].nvariants(c); v++) {
		cmp_scens[CMP_BUILD].variant(c, v, label, sizeof(label), &x);
		cmp_decide(c, CMP_BUILD, v, "p99_ns", CMP_LOWER, &d);
		if (d.metric < 0)
			continue;
		cmp_decision_text(text, sizeof(text), &d);
		fprintf(f, "- source 3 %s, lowest building p99: %s.\n", label, text);
	}
}

static void cmp_intro_idle(FILE *f, const struct cmp *c)
{
	fprintf(f, "8 sources send 64-byte payloads at 1 kHz for %.1f s while the client also holds "
		"idle connections open that never send a byte (the server runs with `--sources 8`, "
		"so they do not count as sources). *Server CPU/frame (steady)* is the server's CPU "
		"time between 20 %% and 90 %% of the time frames were arriving, divided by the frames "
		"that arrived in that window: it leaves out accepting the idle connections, a one-off "
		"cost. Where the server's core was %.0f %% busy or more in that window it was "
		"**saturated**: 8,000 frames/s took all it had, and CPU/frame is a ceiling (≥), not a "
		"cost. *CPU per wait per descriptor* is the honest O(n) figure: the window's CPU "
		"divided by its waits (its share of the run's `syscalls.waits`) and by the descriptors "
		"each wait watches (the connections and the listener). A backend that did not accept "
		"every idle connection is marked and left out of every ranking. The descriptor limit "
		"the children inherit is %ld.\n", c->p.idle_s, CMP_SATURATED_PCT, c->nofile);
}

static void cmp_read_idle(FILE *f, const struct cmp *c)
{
	for (size_t i = 0; cmp_backend_at(c, i); i++) {
		const char *be = cmp_backend_at(c, i);
		const struct cmp_case *k0 = cmp_find(c, CMP_IDLE, be, 0), *kn = NULL;
		unsigned v;
		char a[64], b[64], w[64];
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
		int m = cmp_idx(k0, "cpu_ns_per_frame"), rss = cmp_idx(k0, "max_rss_mib");
		int wfd = cmp_idx(k0, "ns_per_wait_fd");
		cmp_fmt_cell(a, sizeof(a), k0, m);
		if (kn && kn != k0) {
			cmp_fmt_cell(b, sizeof(b), kn, m);
			fprintf(f, "- **%s**: CPU per frame %s with no idle connection, %s with %s; peak "
				"memory %.1f → %.1f MiB", be, a, b, kn->vlabel, k0->med[rss], kn->med[rss]);
			if (!isnan(kn->med[wfd])) {
				cmp_fmt_cell(w, sizeof(w), kn, wfd);
				fprintf(f, "; %s per wait per watched descriptor", w);
			}
			if (kn->saturated)
				fprintf(f, " — **saturated** with %s: its core was busy %.0f %% of the window",
					kn->vlabel, kn->med[cmp_idx(kn, "server_cpu_pct")]);
			if (kn->not_accepted)
				fprintf(f, " — but the server accepted only %.0f of the %.0f idle connections",
					kn->med[cmp_idx(kn, "idle_seen")], kn->x);
			fprintf(f, ".");
		} else {
			fprintf(f, "- **%s**: CPU per frame %s with no idle connection.", be, a);
		}
		if (v < c->p.nidle) {
			const struct cmp_case *x = cmp_find(c, CMP_IDLE, be, v);
			if (x)
				fprintf(f, " With %s: %s — %s", x->vlabel, cmp_state_name(x->state), x->why);
		}
		fprintf(f, "\n");
	}
}

/* Log axes with 1-2-5 steps: easier to read off than powers of ten alone. */
#define CMP_TICS_125 \
	"set ytics ('0.1' 0.1, '0.2' 0.2, '0.5' 0.5, '1' 1, '2' 2, '5' 5, '10' 10, '20' 20, " \
	"'50' 50, '100' 100, '200' 200, '500' 500, '1000' 1000, '2000' 2000, '5000' 5000, " \
	"'10000' 10000)\n"
#define CMP_TICS_TIME125 \
	"set ytics ('10 us' 1e-5, '20 us' 2e-5, '50 us' 5e-5, '100 us' 1e-4, '200 us' 2e-4, " \
	"'500 us' 5e-4, '1 ms' 1e-3, '2 ms' 2e-3, '5 ms' 5e-3, '10 ms' 1e-2, '20 ms' 2e-2, " \
	"'50 ms' 5e-2, '100 ms' 0.1, '200 ms' 0.2, '500 ms' 0.5, '1 s' 1, '2 s' 2, '5 s' 5)\n"

const struct cmp_view cmp_views[CMP_NSCENS] = {
	[CMP_BLOCKED] = {
		.intro = cmp_intro_blocked,
		.tables = { { .shape = CMP_T_ROWS, .cols = { "delivered", "sent", "silence_ms",
			"p50_ns", "p99_ns", "max_ns", "max_all_ns", "client_behind_p99_ns", "lost" } } },
		.reading = cmp_read_blocked,
		.png = "blocked-timeline.png", .alt = "latency of every frame over time, per backend",
		.plot = CMP_P_TIMELINE,
	},
	[CMP_LATENCY] = {
		.intro = cmp_intro_latency,
		.tables = { { .shape = CMP_T_ROWS, .variant = "sources", .reference = 1,
			.cols = { "p50_ns", "p99_ns", "p999_ns", "max_ns", "rate", "server_cpu_pct" } } },
		.reading = cmp_read_latency,
		.png = "latency-cdf.png", .alt = "RTT CDF per backend",
		.plot = CMP_P_CDF,
	},
	[CMP_THROUGHPUT] = {
		.intro = cmp_intro_throughput,
		.tables = { { .shape = CMP_T_ROWS, .variant = "payload",
			.cols = { "frames_per_s", "mb_per_s", "server_cpu_pct", "cpu_ns_per_frame",
				  "core_ns_per_frame", "machine_ns_per_frame", "syscalls_per_frame",
				  "client_blocked_ms", "lost" } },
			{ .shape = CMP_T_ROWS, .variant = "payload",
			  .title = "**The floor: the same backend with `daqmux server --discard`** "
				   "(the same reads, nothing parsed), right after each real run",
			  .cols = { "cpu_ns_per_frame", "floor_ns_per_frame", "framing_ns_per_frame",
				    "cpu_vs_floor", "server_cpu_pct", "floor_server_cpu_pct" } } },
		.reading = cmp_read_throughput,
		.png = "throughput.png", .alt = "throughput and CPU per frame",
		.plot = CMP_P_VARIANTS,
		.plot_title = "throughput: 8 sources at --rate max",
		.xlabel = "payload",
		.panels = {
			{ "frames_per_s", "frames received per second", "million frames/s", 1e-6, NULL, 1 },
			{ "mb_per_s", "payload bytes received per second", "MB/s", 1, NULL, 0 },
			{ "cpu_ns_per_frame", "server CPU (user+sys) per frame", "ns per frame", 1, NULL, 1 },
		},
	},
	[CMP_IDLE] = {
		.intro = cmp_intro_idle,
		.tables = {
			{ .shape = CMP_T_MATRIX, .metric = "cpu_ns_per_frame",
			  .title = "**Server CPU per frame (steady state)**" },
			{ .shape = CMP_T_MATRIX, .metric = "ns_per_wait_fd",
			  .title = "**Server CPU per wait per watched descriptor** (steady state)" },
			{ .shape = CMP_T_MATRIX, .metric = "server_cpu_pct",
			  .title = "**Server CPU, share of one core** (steady state)" },
			{ .shape = CMP_T_MATRIX, .metric = "machine_ns_per_frame",
			  .title = "**Machine CPU per frame** (/proc/stat, every CPU, whole run)" },
			{ .shape = CMP_T_MATRIX, .metric = "p99_ns",
			  .title = "**p99 latency** (send → received)" },
			{ .shape = CMP_T_MATRIX, .metric = "max_rss_mib",
			  .title = "**Peak memory of the server** (max RSS)" },
		},
		.reading = cmp_read_idle,
		.png = "idle-scaling.png", .alt = "CPU per frame, p99 and memory against idle connections",
		.plot = CMP_P_VARIANTS, .join = 1,
		.plot_title = "idle scaling: 8 sources at 1 kHz plus N idle connections",
		.xlabel = "idle connections",
		.panels = {
			{ "cpu_ns_per_frame", "server CPU per frame (steady state)", "us per frame", 1e-3,
			  CMP_TICS_125, 1 },
			{ "p99_ns", "p99 latency", "latency", 1e-9, CMP_TICS_TIME125, 1 },
			{ "max_rss_mib", "peak memory of the server (max RSS)", "MiB", 1, CMP_TICS_125, 1 },
		},
	},
	[CMP_BUILD] = {
		.intro = cmp_intro_build,
		.tables = {
			{ .shape = CMP_T_ROWS, .variant = "source 3",
			  .cols = { "events_per_s", "p50_ns", "p99_ns", "max_ns", "held_mib", "kept_mib",
				    "partial", "paused_ms", "lock_wait_ms" } },
			{ .shape = CMP_T_ROWS, .variant = "source 3",
			  .title = "**Events, late fragments, the client**",
			  .cols = { "complete", "partial", "late", "client_blocked_ms" } },
		},
		.reading = cmp_read_build,
	},
	[CMP_SCALING] = {
		.intro = cmp_intro_scaling,
		.tables = { { .shape = CMP_T_ROWS, .variant = "payload, loops",
			.cols = { "frames_per_s", "mb_per_s", "cpu_ns_per_frame", "server_cpu_pct",
				  "loop_balance", "loop_conns_min", "loop_conns_max", "client_cpu_pct",
				  "lost" } } },
		.reading = cmp_read_scaling,
		.png = "scaling.png", .alt = "frames/s against the number of event loops, per backend",
		.plot = CMP_P_SCALING,
		.plot_title = "scaling: 64 sources at --rate max, N event loops",
		.xlabel = "event loops N (server --loops)",
		.panels = {
			{ "frames_per_s", "frames received per second", "million frames/s", 1e-6, NULL, 0 },
		},
	},
	[CMP_SCALING_CONNS] = {
		.intro = cmp_intro_conns,
		.tables = { { .shape = CMP_T_ROWS, .variant = "loops",
			.cols = { "p99_ns", "max_ns", "max_rss_mib", "cpu_ns_per_frame", "connections",
				  "loop_balance", "client_behind_p99_ns", "lost" } } },
		.reading = cmp_read_conns,
	},
};

/* ---- which backend for you -------------------------------------------------- */

/* The rows of "Which backend for you" that rank one figure. %s in need
 * and what is the variant ("10000 idle", "64 KiB"); variant -1 is the
 * last. */
static const struct cmp_answer {
	const char *need, *what;
	enum cmp_scen_id s;
	int variant;
	const char *metric;
	enum cmp_better better;
} cmp_answers[] = {
	{ "A few sockets, the lowest latency", "pull-mode round trip, %s, median",
	  CMP_LATENCY, 0, "p50_ns", CMP_LOWER },
	/* Not their latency: a backend that asks one source at a time has one
	 * REQUEST outstanding where the others have eight. */
	{ "Several busy sockets, each answered quickly", "pull-mode round trips served per second, "
	  "%s each with a REQUEST outstanding", CMP_LATENCY, 1, "rate", CMP_HIGHER },
	{ "Throughput with small messages", "frames/s, 8 sources at full speed, %s payloads",
	  CMP_THROUGHPUT, 0, "frames_per_s", CMP_HIGHER },
	{ "Throughput with large messages", "MB/s, 8 sources at full speed, %s payloads",
	  CMP_THROUGHPUT, -1, "mb_per_s", CMP_HIGHER },
	{ "The least CPU per message", "server CPU per frame, %s at full speed",
	  CMP_THROUGHPUT, 0, "cpu_ns_per_frame", CMP_LOWER },
	{ "Many sockets, few of them busy (%s)", "server CPU per frame, 8 sources at 1 kHz among "
	  "the idle connections (steady state)", CMP_IDLE, -1, "cpu_ns_per_frame", CMP_LOWER },
	{ "Many sockets, steady latency", "p99 latency, 8 sources at 1 kHz and %s",
	  CMP_IDLE, -1, "p99_ns", CMP_LOWER },
	{ "Little memory with many connections", "peak RSS of the server with %s",
	  CMP_IDLE, -1, "max_rss_mib", CMP_LOWER },
};

static void cmp_md_decide_row(FILE *f, const struct cmp *c, const struct cmp_answer *a)
{
	const struct cmp_scen *sc = &cmp_scens[a->s];
	struct cmp_decision d;
	char text[1500], label[40], need[160], what[240];
	unsigned v = a->variant < 0 ? sc->nvariants(c) - 1 : (unsigned)a->variant;
	double x;

	if (!cmp_ran(c, a->s))
		return;
	sc->variant(c, v, label, sizeof(label), &x);
	/* the formats are the table's own, each with one %s at most */
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wformat-nonliteral"
	cmp_sfmt(need, sizeof(need), a->need, label);
	cmp_sfmt(what, sizeof(what), a->what, label);
#pragma GCC diagnostic pop
	cmp_decide(c, a->s, v, a->metric, a->better, &d);
	cmp_decision_text(text, sizeof(text), &d);
	fprintf(f, "| %s | %s | %s |\n", need, what, text);
}

/* The simplest backend (the kit's table goes from the simplest up) that
 * neither stalled behind a silent source nor turned idle connections
 * away, with the figures that say so. */
static void cmp_md_simplest(FILE *f, const struct cmp *c)
{
	if (!cmp_ran(c, CMP_BLOCKED) && !cmp_ran(c, CMP_IDLE))
		return;
	unsigned last = c->p.nidle - 1;
	for (size_t i = 0; cmp_backend_at(c, i); i++) {
		const char *be = cmp_backend_at(c, i);
		const struct cmp_case *b = cmp_find(c, CMP_BLOCKED, be, 0);
		const struct cmp_case *k = cmp_find(c, CMP_IDLE, be, last);
		if (cmp_ran(c, CMP_BLOCKED) && (!b || b->state != CMP_OK || cmp_stalled(b)))
			continue;
		if (cmp_ran(c, CMP_IDLE) && (!k || k->state != CMP_OK || k->not_accepted || k->saturated))
			continue;
		fprintf(f, "| Simplest code that does the job | the first in the kit's order (simplest "
			"first) that kept delivering behind a silent source and took every idle "
			"connection without saturating | **%s**", be);
		if (b)
			fprintf(f, ": %.0f frames delivered during the silence", b->med[cmp_idx(b, "delivered")]);
		if (k)
			fprintf(f, "%s%.0f of %.0f idle connections accepted, its core %.0f %% busy",
				b ? ", " : ": ", k->med[cmp_idx(k, "idle_seen")], k->x,
				k->med[cmp_idx(k, "server_cpu_pct")]);
		fprintf(f, " |\n");
		return;
	}
	fprintf(f, "| Simplest code that does the job | | no backend both kept delivering behind a "
		"silent source and took every idle connection without saturating in this run |\n");
}

static void cmp_md_stall_row(FILE *f, const struct cmp *c)
{
	char ok[400] = "", bad[400] = "";

	if (!cmp_ran(c, CMP_BLOCKED))
		return;
	for (size_t i = 0; cmp_backend_at(c, i); i++) {
		const struct cmp_case *k = cmp_find(c, CMP_BLOCKED, cmp_backend_at(c, i), 0);
		if (!k || k->state != CMP_OK)
			continue;
		char *to = cmp_stalled(k) ? bad : ok;
		cmp_cat(to, 400, "%s**%s** %.0f", to[0] ? ", " : "", k->backend,
			k->med[cmp_idx(k, "delivered")]);
	}
	fprintf(f, "| One slow or silent source must not hold up the others | frames of the other "
		"sources delivered during a %.1f s silence | %s%s%s%s |\n", c->p.silent_s,
		ok[0] ? "keep going: " : "", ok, bad[0] ? (ok[0] ? "; stall: " : "stall: ") : "", bad);
}

static void cmp_md_answer(FILE *f, const struct cmp *c)
{
	fprintf(f, "\n## Which backend for you\n\nEach answer cites this run's figures: the median "
		"(min–max) of the repetitions. A backend is named better only where its range is clear "
		"of the others' (and each had two repetitions or more); otherwise the leaders are a "
		"**tie**. A figure marked ≥ is a lower bound (the client set the pace) or a ceiling "
		"(the server's core was saturated) and wins nothing; backends that did not accept "
		"every connection are not ranked. The sections below have every figure.\n\n");
	fprintf(f, "| you need | judged by | answer from this run |\n|---|---|---|\n");
	for (size_t i = 0; i < ARRAY_SIZE(cmp_answers); i++)
		cmp_md_decide_row(f, c, &cmp_answers[i]);
	cmp_md_stall_row(f, c);
	cmp_md_simplest(f, c);
	/* Several loops on several cores: an answer only where the server had
	 * the cores for it; section "Scaling" has the figures either way. */
	if (!cmp_ran(c, CMP_SCALING))
		fprintf(f, "\nNot measured in this run: several event loops on several cores "
			"(`--scenarios scaling`).\n");
	else if (c->p.nserver_cpus < 2)
		fprintf(f, "\nSeveral event loops on several cores: **not answerable on this "
			"machine** - the server had %u CPU, so its loops shared one core; the "
			"*Scaling* section shows what extra loops cost here, and the curve needs "
			"a machine with more cores (at least 2 server CPUs plus the client's).\n",
			c->p.nserver_cpus);
	else
		fprintf(f, "\nSeveral event loops on several cores: see the *Scaling* section "
			"(frames/s against N loops, %u server CPUs).\n", c->p.nserver_cpus);
}

/* ---- the rest of report.md -------------------------------------------------- */

static void cmp_md_header(FILE *f, const struct cmp *c)
{
	const struct cmp_machine *m = &c->mach;

	fprintf(f, "# daqmux compare\n\n");
	fprintf(f, "How should a program read many sockets at once? Every backend of this build, "
		"through the same scenarios, measured the same way. docs/compare.md explains each "
		"scenario and how to read the numbers.\n");
	if (m->busy)
		fprintf(f, "\n> **Warning: the machine was busy before this run** (load average %.2f "
			"on %ld CPUs, above 0.5 per CPU): other work competed with the runs, and the "
			"figures may be worse and noisier than this machine can do.\n", m->load_before[0],
			m->cores);
	if (c->interrupted)
		fprintf(f, "\n> **Interrupted**: the run was stopped early; what is here is what ran.\n");
	if (c->p.repeat < 2)
		fprintf(f, "\n> One repetition: no spread to judge differences by, so nothing below is "
			"named better than anything else (a default run has 3).\n");
}

static void cmp_md_machine(FILE *f, const struct cmp *c)
{
	const struct cmp_machine *m = &c->mach;

	fprintf(f, "\n## This run\n\n| | |\n|---|---|\n");
	fprintf(f, "| date | %s |\n", m->date);
	fprintf(f, "| machine | %s, %ld CPUs online |\n", m->cpu_model[0] ? m->cpu_model : "?", m->cores);
	fprintf(f, "| kernel | %s |\n", m->kernel);
	fprintf(f, "| daqmux | %s; liburing %s; %s |\n", daqmux_version(),
		meta_liburing(), meta_compiler());
	if (c->cpu_server >= 0)
		fprintf(f, "| pinning | server on CPU %d (`--cpu`), client on CPU %d (sched_setaffinity) |\n",
			c->cpu_server, c->cpu_client);
	else
		fprintf(f, "| pinning | **not pinned**: only one CPU, server and client share it |\n");
	if (c->o.client_exec)
		fprintf(f, "| clients | started as `%s daqmux client`, connecting to %s (the server "
			"listens on %s) |\n", c->o.client_exec,
			c->o.connect_host ? c->o.connect_host : c->o.listen_host ? c->o.listen_host
									: "127.0.0.1",
			c->o.listen_host ? c->o.listen_host : "127.0.0.1");
	fprintf(f, "| CPU frequency governor | %s |\n", m->gov_server[0] || m->gov_client[0] ?
		m->gov_server : "not readable here (no cpufreq in /sys: a virtual machine?)");
	fprintf(f, "| load average (1, 5, 15 min) | before %.2f %.2f %.2f, after %.2f %.2f %.2f%s |\n",
		m->load_before[0], m->load_before[1], m->load_before[2], m->load_after[0],
		m->load_after[1], m->load_after[2], m->busy ? " — **busy before the run**" : "");
	fprintf(f, "| repetitions | %u%s |\n", c->p.repeat, c->o.quick ? " (`--quick`: shortened runs)" : "");
	fprintf(f, "| wall time | %.0f s (estimated %.0f s) |\n", c->wall_s, c->est_total_s);
	fprintf(f, "| descriptors | RLIMIT_NOFILE %ld for the children (hard limit %ld) |\n", c->nofile,
		c->nofile_hard);
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

/* One scenario's section, as its view describes it. */
static void cmp_md_scenario(FILE *f, const struct cmp *c, enum cmp_scen_id s, unsigned n)
{
	const struct cmp_scen *sc = &cmp_scens[s];
	const struct cmp_view *vw = &cmp_views[s];
	struct cmp_notes nt = { .n = 0 };

	fprintf(f, "\n## %u. %s\n\n", n, sc->title);
	vw->intro(f, c);
	for (size_t t = 0; t < ARRAY_SIZE(vw->tables); t++) {
		const struct cmp_table *tb = &vw->tables[t];
		if (tb->shape == CMP_T_ROWS && !tb->cols[0])
			break;
		if (tb->title)
			fprintf(f, "\n%s\n\n", tb->title);
		if (tb->shape == CMP_T_ROWS)
			cmp_md_rows(f, c, sc, tb, &nt);
		else
			cmp_md_matrix(f, c, sc, tb, &nt);
	}
	cmp_notes_print(f, &nt);
	fprintf(f, "\n");
	vw->reading(f, c);
	if (vw->png && cmp_png_exists(c, vw->png))
		fprintf(f, "\n![%s](%s)\n", vw->alt, vw->png);
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

static void cmp_md_targets(FILE *f, const struct cmp *c)
{
	struct cmp_target t[10];
	size_t nt = cmp_targets(c, t, ARRAY_SIZE(t));

	if (!nt)
		return;
	fprintf(f, "\n## Appendix: the kit's own targets\n\nWhat the kit aims for, judged on this "
		"run's medians; they say how the kit does, not which backend to pick.");
	if (c->p.repeat < 3)
		fprintf(f, " With %u repetition%s a single noisy run can decide a verdict - above "
			"all the idle and latency ones on a busy or virtual machine: judge by a "
			"default run (3 repetitions).", c->p.repeat, c->p.repeat == 1 ? "" : "s");
	fprintf(f, "\n\n| target | verdict | measured |\n|---|---|---|\n");
	for (size_t i = 0; i < nt; i++)
		fprintf(f, "| %s | **%s** | %s |\n", t[i].name, cmp_verdict_name(t[i].verdict),
			t[i].detail);
}

static int cmp_write_md(const struct cmp *c)
{
	char path[CMP_PATH + 32];
	unsigned n = 0;

	cmp_sfmt(path, sizeof(path), "%s/report.md", c->out);
	FILE *f = fopen(path, "w");
	if (!f) {
		msg("compare: cannot write %s: %s", path, strerror(errno));
		return -1;
	}
	cmp_md_header(f, c);
	cmp_md_answer(f, c);
	cmp_md_machine(f, c);
	for (int s = 0; s < CMP_NSCENS; s++)
		if (cmp_ran(c, (enum cmp_scen_id)s))
			cmp_md_scenario(f, c, (enum cmp_scen_id)s, ++n);
	cmp_md_failures(f, c);
	cmp_md_targets(f, c);
	fprintf(f, "\n## Files\n\nresults.json has every figure of every repetition, the machine "
		"and the reproducibility record; per scenario SCENARIO.csv (a row per repetition, "
		"times in integer ns) and SCENARIO-medians.csv (median, min and max per case); data/ "
		"the plotted data and the gnuplot scripts; raw/ each run's server and client JSON and "
		"logs.\n");
	if (fclose(f) != 0) {
		msg("compare: writing %s failed: %s", path, strerror(errno));
		return -1;
	}
	return 0;
}

/* report.md, results.json and the CSVs. */
int cmp_write_report(struct cmp *c)
{
	int rc = 0;
	for (int s = 0; s < CMP_NSCENS; s++)
		if (cmp_ran(c, (enum cmp_scen_id)s) && cmp_write_csv(c, &cmp_scens[s]) < 0)
			rc = -1;
	if (cmp_write_json(c) < 0)
		rc = -1;
	if (cmp_write_md(c) < 0)
		rc = -1;
	return rc;
}
