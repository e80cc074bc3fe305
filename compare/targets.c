/*
 * targets.c - the performance targets report.md and results.json state,
 * each judged from this run's medians with PASS / MISS and the numbers:
 *
 *   - the client is never the bottleneck (throughput: it found the socket
 *     full at least once, so the server set the pace)
 *   - pull-mode RTT p50 with epoll within 1.25x of sockperf's TCP RTT
 *   - 64-byte throughput: server CPU per frame <= 150 ns, epoll and uring
 *   - idle scaling: epoll and uring CPU per frame with 10,000 idle
 *     connections within 1.25x of none (select and poll alongside)
 *   - the kit's own work beside its floor (server --discard), epoll:
 *     framing overhead at 64 B <= 10 ns per frame, CPU per frame at the
 *     largest payload within 1.3x of the floor (docs/performance.md)
 *
 * A target whose data is missing is n/a, with the reason.
 */
#include "compare_int.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "util.h"

#define CMP_TARGET_RATIO   1.25   /* RTT vs sockperf; idle 10,000 vs none */
#define CMP_TARGET_CPU_NS  150.0  /* 64-byte throughput, epoll and uring */
#define CMP_TARGET_FRAMING_NS 10.0  /* smallest payload: real - floor, epoll */
#define CMP_TARGET_FLOOR_RATIO 1.3  /* largest payload: real / floor, epoll */

static void cmp_tf(struct cmp_target *t, enum cmp_verdict v, const char *name, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
static void cmp_tf(struct cmp_target *t, enum cmp_verdict v, const char *name, const char *fmt, ...)
{
	va_list ap;
	cmp_sfmt(t->name, sizeof(t->name), "%s", name);
	t->verdict = v;
	va_start(ap, fmt);
	vsnprintf(t->detail, sizeof(t->detail), fmt, ap);
	va_end(ap);
}

const char *cmp_verdict_name(enum cmp_verdict v)
{
	return v == CMP_PASS ? "PASS" : v == CMP_MISS ? "MISS" : "n/a";
}

/* "99 %" or "35–60 %": a range only where the rounded ends differ. */
static const char *cmp_pct_range(char *buf, size_t len, double lo, double hi)
{
	if (lround(lo) == lround(hi))
		snprintf(buf, len, "%.0f %%", hi);
	else
		snprintf(buf, len, "%.0f–%.0f %%", lo, hi);
	return buf;
}

static void cmp_target_client(const struct cmp *c, struct cmp_target *t)
{
	char limited[300] = "", blocked[300] = "";
	unsigned n = 0, nlim = 0;
	double lo = INFINITY, hi = 0, cpu_lo = INFINITY, cpu_hi = 0, sys_lo = INFINITY, sys_hi = 0;

	for (size_t i = 0; i < c->ncases; i++) {
		const struct cmp_case *k = &c->cases[i];
		if (k->sc->id != CMP_THROUGHPUT || k->state != CMP_OK)
			continue;
		double ms = k->med[cmp_idx(k, "client_blocked_ms")];
		double eag = k->med[cmp_idx(k, "client_eagain")];
		if (isnan(ms) && isnan(eag))
			continue;
		n++;
		if (ms > 0 || eag > 0) {
			lo = fmin(lo, ms);
			hi = fmax(hi, ms);
		} else {
			double cpu = k->med[cmp_idx(k, "client_cpu_pct")];
			double sys = k->med[cmp_idx(k, "client_sys_pct")];
			nlim++;
			cmp_cat(limited, sizeof(limited), "%s%s %s", nlim > 1 ? ", " : "", k->backend, k->vlabel);
			if (!isnan(cpu)) {
				cpu_lo = fmin(cpu_lo, cpu), cpu_hi = fmax(cpu_hi, cpu);
				sys_lo = fmin(sys_lo, sys), sys_hi = fmax(sys_hi, sys);
			}
		}
	}
	if (!n) {
		cmp_tf(t, CMP_NA, "client is never the bottleneck", "no throughput run with the client's "
		       "JSON (blocked_ns, eagain_writes) to judge by");
		return;
	}
	if (hi > 0)
		cmp_sfmt(blocked, sizeof(blocked), " (blocked on a full socket for %.0f–%.0f ms per run)", lo, hi);
	if (!nlim)
		cmp_tf(t, CMP_PASS, "client is never the bottleneck",
		       "in all %u throughput cases the client found the socket full (EAGAIN)%s: the "
		       "server was the limit", n, blocked);
	else {
		char busy[240] = "", cpu[32], sys[32];
		if (cpu_hi > 0)
			cmp_sfmt(busy, sizeof(busy), "; in those runs the client's core was %s busy (%s in "
				 "the kernel: over loopback the sender also pays for the receiving side of TCP)",
				 cmp_pct_range(cpu, sizeof(cpu), cpu_lo, cpu_hi),
				 cmp_pct_range(sys, sizeof(sys), sys_lo, sys_hi));
		cmp_tf(t, CMP_MISS, "client is never the bottleneck",
		       "the client never blocked in %u of %u throughput cases (%s): there the client "
		       "may have been the limit, and the figures are a lower bound for the server%s",
		       nlim, n, limited, busy);
	}
}

static void cmp_target_rtt(const struct cmp *c, struct cmp_target *t)
{
	const char *name = "pull RTT p50 (epoll, 1 source) <= 1.25 x sockperf";
	double ref = cmp_med(c, CMP_LATENCY, "sockperf", 0, "p50_ns");
	double ep = cmp_med(c, CMP_LATENCY, "epoll", 0, "p50_ns");
	char a[32], b[32], lim[32];
	if (isnan(ref)) {
		cmp_tf(t, CMP_NA, name, "no sockperf reference in this run: %s",
		       c->sockperf_why[0] ? c->sockperf_why : "it failed (see the runs that did not measure)");
		return;
	}
	if (isnan(ep)) {
		cmp_tf(t, CMP_NA, name, "epoll's latency run did not complete in this run");
		return;
	}
	cmp_fmt(a, sizeof(a), CMP_U_NS, ep);
	cmp_fmt(b, sizeof(b), CMP_U_NS, ref);
	cmp_fmt(lim, sizeof(lim), CMP_U_NS, ref * CMP_TARGET_RATIO);
	cmp_tf(t, ep <= ref * CMP_TARGET_RATIO ? CMP_PASS : CMP_MISS, name,
	       "epoll %s vs sockperf TCP ping-pong %s (RTT = sockperf's one-way x 2): %.2fx, limit %s",
	       a, b, ep / ref, lim);
}

static void cmp_target_cpu(const struct cmp *c, struct cmp_target *t, const char *be)
{
	char name[80];
	cmp_sfmt(name, sizeof(name), "64 B throughput: %s server CPU/frame <= %.0f ns", be, CMP_TARGET_CPU_NS);
	const struct cmp_case *k = cmp_find(c, CMP_THROUGHPUT, be, 0);
	if (!k || k->state != CMP_OK) {
		cmp_tf(t, CMP_NA, name, "%s", !k ? "not run" : k->why[0] ? k->why : cmp_state_name(k->state));
		return;
	}
	int m = cmp_idx(k, "cpu_ns_per_frame");
	cmp_tf(t, k->med[m] <= CMP_TARGET_CPU_NS ? CMP_PASS : CMP_MISS, name,
	       "%.0f ns per frame (median of %u; %.0f–%.0f), %.3f system calls per frame",
	       k->med[m], k->nok, k->lo[m], k->hi[m], k->med[cmp_idx(k, "syscalls_per_frame")]);
}

/* The throughput variant v of epoll against its --discard floor: the
 * overhead in ns at the smallest payload, the ratio at the others. */
static void cmp_target_floor(const struct cmp *c, struct cmp_target *t, unsigned v)
{
	const struct cmp_case *k = cmp_find(c, CMP_THROUGHPUT, "epoll", v);
	char name[100], label[40];
	double x;
	int small = v == 0;

	cmp_scens[CMP_THROUGHPUT].variant(c, v, label, sizeof(label), &x);
	if (small)
		cmp_sfmt(name, sizeof(name), "%s throughput: epoll framing overhead (real - --discard) "
			 "<= %.0f ns", label, CMP_TARGET_FRAMING_NS);
	else
		cmp_sfmt(name, sizeof(name), "%s throughput: epoll server CPU/frame <= %.1f x --discard",
			 label, CMP_TARGET_FLOOR_RATIO);
	if (!k || k->state != CMP_OK) {
		cmp_tf(t, CMP_NA, name, "%s", !k ? "not run" : k->why[0] ? k->why : cmp_state_name(k->state));
		return;
	}
	int m = cmp_idx(k, small ? "framing_ns_per_frame" : "cpu_vs_floor");
	double real = k->med[cmp_idx(k, "cpu_ns_per_frame")], floor = k->med[cmp_idx(k, "floor_ns_per_frame")];
	if (isnan(k->med[m])) {
		cmp_tf(t, CMP_NA, name, "the --discard runs did not measure: %s", k->why);
		return;
	}
	if (small)
		cmp_tf(t, k->med[m] <= CMP_TARGET_FRAMING_NS ? CMP_PASS : CMP_MISS, name,
		       "%.0f ns per frame (median of %u; %.0f–%.0f): %.0f ns real, %.0f ns floor",
		       k->med[m], k->nok, k->lo[m], k->hi[m], real, floor);
	else
		cmp_tf(t, k->med[m] <= CMP_TARGET_FLOOR_RATIO ? CMP_PASS : CMP_MISS, name,
		       "%.2fx (median of %u; %.2f–%.2f): %.0f ns real, %.0f ns floor per frame",
		       k->med[m], k->nok, k->lo[m], k->hi[m], real, floor);
}

static void cmp_target_idle(const struct cmp *c, struct cmp_target *t, const char *be)
{
	unsigned last = c->p.nidle - 1, top = c->p.idle_counts[last];
	char name[100];
	cmp_sfmt(name, sizeof(name), "idle: %s CPU/frame with %u idle <= 1.25 x with none", be, top);
	const struct cmp_case *k0 = cmp_find(c, CMP_IDLE, be, 0), *kn = cmp_find(c, CMP_IDLE, be, last);
	if (!k0 || !kn || k0->state != CMP_OK || kn->state != CMP_OK) {
		const struct cmp_case *bad = !k0 || k0->state != CMP_OK ? k0 : kn;
		cmp_tf(t, CMP_NA, name, "%s", !bad ? "not run" : bad->why[0] ? bad->why :
		       cmp_state_name(bad->state));
		return;
	}
	int m = cmp_idx(k0, "cpu_ns_per_frame");
	double a = k0->med[m], b = kn->med[m];
	if (isnan(a) || isnan(b)) {
		cmp_tf(t, CMP_NA, name, "the steady-state CPU window could not be measured");
		return;
	}
	char growth[300] = "";
	const char *others[] = { "select", "poll" };
	for (size_t i = 0; i < ARRAY_SIZE(others); i++) {
		double o0 = cmp_med(c, CMP_IDLE, others[i], 0, "cpu_ns_per_frame");
		const struct cmp_case *ok = NULL;
		for (unsigned v = last + 1; v-- > 1 && !ok;) {
			const struct cmp_case *x = cmp_find(c, CMP_IDLE, others[i], v);
			if (x && x->state == CMP_OK && !isnan(x->med[m]))
				ok = x;
		}
		if (isnan(o0) || !ok)
			continue;
		cmp_cat(growth, sizeof(growth), "; %s grows %.0f -> %.0f ns (%.1fx) at %s", others[i], o0,
			ok->med[m], ok->med[m] / o0, ok->vlabel);
		const struct cmp_case *x = cmp_find(c, CMP_IDLE, others[i], last);
		if (x && x->state == CMP_UNSUPPORTED)
			cmp_cat(growth, sizeof(growth), " and is unsupported at %u", top);
	}
	cmp_tf(t, b <= a * CMP_TARGET_RATIO ? CMP_PASS : CMP_MISS, name,
	       "%.0f ns with none, %.0f ns with %u idle: %.2fx (steady-state window)%s", a, b, top,
	       b / a, growth);
}

size_t cmp_targets(const struct cmp *c, struct cmp_target *t, size_t max)
{
	size_t n = 0;
	if (max < 8)
		return 0;
	if (c->o.scen_mask & (1u << CMP_THROUGHPUT))
		cmp_target_client(c, &t[n++]);
	if (c->o.scen_mask & (1u << CMP_LATENCY))
		cmp_target_rtt(c, &t[n++]);
	if (c->o.scen_mask & (1u << CMP_THROUGHPUT)) {
		cmp_target_cpu(c, &t[n++], "epoll");
		cmp_target_cpu(c, &t[n++], "uring");
		cmp_target_floor(c, &t[n++], 0);
		cmp_target_floor(c, &t[n++], cmp_scens[CMP_THROUGHPUT].nvariants(c) - 1);
	}
	if (c->o.scen_mask & (1u << CMP_IDLE)) {
		cmp_target_idle(c, &t[n++], "epoll");
		cmp_target_idle(c, &t[n++], "uring");
	}
	return n;
}
