/*
 * scaling.c - the scaling scenarios of `daqmux compare`: one server with N
 * event loops (`--loops N`) against one client with enough sending loops
 * (`client --loops K`) that it is not the limit where the machine has the
 * cores.
 *
 *   scaling        64 sources at --rate max, 64 B and 4 KiB payloads, for
 *                  N = 1, 2, 4, ... up to the CPUs the server gets, for every
 *                  loop backend; threads (a thread per connection) as the
 *                  reference: frames/s, CPU per frame, per-loop balance
 *   scaling-conns  10,000 connections (--quick: 2,000), 64 of them at 1 kHz,
 *                  over N loops of epoll and uring against threads: p99
 *                  latency, peak memory
 *
 * The CPUs: the server gets the first half of those compare may use (at
 * least one), loop i pinned to the i-th of them (--cpus); the client gets
 * the rest, and one sending loop per CPU. On 2 CPUs that is one each, and
 * N = 2 still runs (two loops sharing the server's one CPU): it shows what
 * a second loop costs, not what it gains, and the report says so.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include "compare_int.h"

#include <math.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"

const struct cmp_metric cmp_scaling_metrics[CMP_SCALING_NMETRICS] = {
	{ "frames_per_s", "frames/s", CMP_U_RATE, CMP_MF_RATE },
	{ "mb_per_s", "MB/s", CMP_U_MBS, CMP_MF_RATE },
	{ "cpu_ns_per_frame", "server CPU/frame", CMP_U_NSF, CMP_MF_CPU },
	{ "server_cpu_pct", "server CPU per core it has", CMP_U_PCT, 0 },
	{ "loop_balance", "busiest loop / mean", CMP_U_RATIO, 0 },
	{ "loop_conns_min", "fewest connections in a loop", CMP_U_COUNT, 0 },
	{ "loop_conns_max", "most connections in a loop", CMP_U_COUNT, 0 },
	{ "client_limited", "client-limited", CMP_U_COUNT, 0 },
	{ "client_cpu_pct", "client CPU", CMP_U_PCT, 0 },
	{ "frames", "frames", CMP_U_COUNT, 0 },
	{ "lost", "lost", CMP_U_COUNT, 0 },
};

const struct cmp_metric cmp_conns_metrics[CMP_CONNS_NMETRICS] = {
	{ "p99_ns", "p99 latency", CMP_U_NS, 0 },
	{ "max_ns", "max latency", CMP_U_NS, 0 },
	{ "max_rss_mib", "peak RSS", CMP_U_MIB, 0 },
	{ "cpu_ns_per_frame", "server CPU/frame (whole run)", CMP_U_NSF, 0 },
	{ "connections", "connections accepted", CMP_U_COUNT, 0 },
	{ "loop_balance", "busiest loop / mean", CMP_U_RATIO, 0 },
	{ "client_behind_p99_ns", "client behind schedule p99", CMP_U_NS, 0 },
	{ "frames", "frames", CMP_U_COUNT, 0 },
	{ "lost", "lost", CMP_U_COUNT, 0 },
};

/* ---- the plan ------------------------------------------------------------- */

void cmp_scaling_plan(struct cmp *c)
{
	struct cmp_plan *p = &c->p;
	cpu_set_t set;
	int cpus[CPU_SETSIZE];
	unsigned n = 0;

	if (sched_getaffinity(0, sizeof(set), &set) == 0)
		for (int i = 0; i < CPU_SETSIZE; i++)
			if (CPU_ISSET(i, &set))
				cpus[n++] = i;
	/* One CPU (or none known): nothing is pinned, both share it. */
	p->nserver_cpus = p->nclient_cpus = 0;
	if (n >= 2) {
		unsigned half = n / 2;
		for (unsigned i = 0; i < n; i++) {
			if (i < half && p->nserver_cpus < CMP_MAX_LOOPS)
				p->server_cpus[p->nserver_cpus++] = cpus[i];
			else if (i >= half && p->nclient_cpus < ARRAY_SIZE(p->client_cpus))
				p->client_cpus[p->nclient_cpus++] = cpus[i];
		}
	}
	p->client_loops = p->nclient_cpus ? p->nclient_cpus : 1;
	/* N = 1, 2, 4, ... up to the server's CPUs, and 2 at least. */
	p->nloops = 0;
	for (unsigned N = 1; N <= CMP_MAX_LOOPS && p->nloops < CMP_MAX_LOOPS; N *= 2) {
		if (N > 2 && N > p->nserver_cpus)
			break;
		p->loops[p->nloops++] = N;
	}
	unsigned top = p->loops[p->nloops - 1];
	/* 0.6 s is millions of frames at 64 B, and keeps `make compare`
	 * inside its 10 minutes on 2 CPUs. */
	p->scaling_s = c->o.seconds > 0 ? c->o.seconds : c->o.quick ? 0.4 : 0.6;
	p->scaling_sizes[0] = 64;
	p->scaling_sizes[1] = 4096;
	p->nscaling_sizes = c->o.quick ? 1 : 2;
	/* --quick: 10,000 threads take ~10 s to start on one busy CPU. */
	p->conns = c->o.quick ? 2000 : 10000;
	p->conns_busy = 64;
	p->conn_backends = "epoll,uring,threads";
	p->nconn_loops = 0;
	if (!c->o.quick)
		p->conn_loops[p->nconn_loops++] = 1;
	if (top > 1 || c->o.quick)
		p->conn_loops[p->nconn_loops++] = top;
}

void cmp_scaling_plan_json(struct jw *w, const struct cmp *c)
{
	const struct cmp_plan *p = &c->p;

	jw_num(w, "scaling_s", p->scaling_s);
	jw_arr_begin(w, "scaling_loops");
	for (unsigned i = 0; i < p->nloops; i++)
		jw_u64(w, NULL, p->loops[i]);
	jw_arr_end(w);
	jw_arr_begin(w, "scaling_sizes");
	for (unsigned i = 0; i < p->nscaling_sizes; i++)
		jw_u64(w, NULL, p->scaling_sizes[i]);
	jw_arr_end(w);
	jw_u64(w, "scaling_connections", p->conns);
	jw_arr_begin(w, "server_cpus");
	for (unsigned i = 0; i < p->nserver_cpus; i++)
		jw_u64(w, NULL, (uint64_t)p->server_cpus[i]);
	jw_arr_end(w);
	jw_arr_begin(w, "client_cpus");
	for (unsigned i = 0; i < p->nclient_cpus; i++)
		jw_u64(w, NULL, (uint64_t)p->client_cpus[i]);
	jw_arr_end(w);
	jw_u64(w, "client_loops", p->client_loops);
	jw_str(w, "client_exec", c->o.client_exec);
	jw_str(w, "listen", c->o.listen_host ? c->o.listen_host : "127.0.0.1");
	jw_str(w, "connect_host", c->o.connect_host);
}

/* "0,1,2": the server's CPUs, for --cpus. */
static void cmp_cpu_list(const struct cmp_plan *p, char *buf, size_t len)
{
	buf[0] = '\0';
	for (unsigned i = 0; i < p->nserver_cpus; i++)
		cmp_cat(buf, len, "%s%d", i ? "," : "", p->server_cpus[i]);
}

static int cmp_is_threads(const struct backend *be)
{
	return backend_has(be, BE_THREAD_PER_CONN);
}

/* A loop backend: N event loops, each with its share of the connections. */
static int cmp_is_loops(const struct backend *be)
{
	return backend_has(be, BE_LOOPS) && !backend_has(be, BE_ROUND);
}

/* ---- one run ---------------------------------------------------------------- */

/* The loops' balance from the server's "loops": the busiest loop's frames
 * over the mean (1 even, N all in one loop), and the fewest and most
 * connections a loop had. */
static void cmp_loops_figures(const struct json *sj, double *balance, double *cmin, double *cmax)
{
	const struct json *l = json_get(sj, "loops");
	double sum = 0, max = 0;

	*balance = *cmin = *cmax = NAN;
	if (!l || l->type != JSON_ARR || l->len == 0)
		return;
	*cmin = INFINITY;
	*cmax = 0;
	for (size_t i = 0; i < l->len; i++) {
		double f = json_num(json_get(json_at(l, i), "frames"), 0);
		double n = json_num(json_get(json_at(l, i), "connections"), 0);
		sum += f;
		max = f > max ? f : max;
		*cmin = n < *cmin ? n : *cmin;
		*cmax = n > *cmax ? n : *cmax;
	}
	if (sum > 0)
		*balance = max / (sum / (double)l->len);
}

/* The server's pinning: its CPUs for the whole process (threads too), and
 * with N loops loop i on the i-th of them. */
static void cmp_scaling_pin(const struct cmp *c, struct cmp_pair *p, unsigned N,
			    const struct backend *be)
{
	char list[256];

	if (!c->p.nserver_cpus)
		return;
	p->own_cpus = 1;
	p->server_cpus = c->p.server_cpus;
	p->nserver_cpus = c->p.nserver_cpus;
	p->client_cpus = c->p.client_cpus;
	p->nclient_cpus = c->p.nclient_cpus;
	cmp_cpu_list(&c->p, list, sizeof(list));
	if (N > 1)
		cmp_argv_add(&p->sargs, "--cpus=%s", list);
	else if (!cmp_is_threads(be))
		cmp_argv_add(&p->sargs, "--cpu=%d", c->p.server_cpus[0]);
	/* threads: its threads go where the kernel puts them, within the
	 * server's CPUs. */
}

static const struct backend *cmp_backend_named(const struct cmp *c, const char *name)
{
	for (size_t i = 0; i < c->nbe; i++)
		if (strcmp(c->be[i].be->name, name) == 0)
			return c->be[i].be;
	return NULL;
}

unsigned cmp_scaling_nvar(const struct cmp *c)
{
	return c->p.nloops * c->p.nscaling_sizes;
}

static unsigned cmp_scaling_n(const struct cmp *c, unsigned v)
{
	return c->p.loops[v % c->p.nloops];
}

static unsigned cmp_scaling_size(const struct cmp *c, unsigned v)
{
	return c->p.scaling_sizes[v / c->p.nloops];
}

void cmp_scaling_variant(const struct cmp *c, unsigned v, char *l, size_t len, double *x)
{
	unsigned s = cmp_scaling_size(c, v);
	*x = cmp_scaling_n(c, v);
	if (s >= 1024)
		cmp_sfmt(l, len, "%u KiB, N=%u", s / 1024, cmp_scaling_n(c, v));
	else
		cmp_sfmt(l, len, "%u B, N=%u", s, cmp_scaling_n(c, v));
}

double cmp_scaling_est(const struct cmp *c, unsigned v)
{
	(void)v;
	return c->p.scaling_s + 0.3;
}

int cmp_scaling_applies(const struct cmp *c, const struct backend *be, unsigned v)
{
	if (cmp_is_threads(be))
		return cmp_scaling_n(c, v) == 1;
	/* 64 sources, the listener, the loops' own descriptors */
	return cmp_is_loops(be) && (!be->fd_limit || be->fd_limit > 128);
}

void cmp_scaling_run(struct cmp *c, struct cmp_case *k, unsigned rep)
{
	struct cmp_rep *r = &k->rep[rep];
	const struct backend *be = cmp_backend_named(c, k->backend);
	unsigned N = cmp_scaling_n(c, k->variant), size = cmp_scaling_size(c, k->variant);
	struct cmp_pair p;
	char tag[128];

	if (be && cmp_is_threads(be))
		cmp_sfmt(k->vlabel, sizeof(k->vlabel), "%s, 64 threads", size >= 1024 ? "4 KiB" : "64 B");
	cmp_sfmt(tag, sizeof(tag), "scaling-%s-%u-n%u-r%u", k->backend, size, N, rep + 1);
	cmp_pair_init(&p, tag, k->backend);
	cmp_argv_add(&p.sargs, "--sources=64");
	if (N > 1)
		cmp_argv_add(&p.sargs, "--loops=%u", N);
	cmp_scaling_pin(c, &p, N, be);
	cmp_argv_add(&p.cargs, "--sources=64");
	cmp_argv_add(&p.cargs, "--rate=max");
	cmp_argv_add(&p.cargs, "--size=%u", size);
	cmp_argv_add(&p.cargs, "--duration=%.3f", c->p.scaling_s);
	cmp_argv_add(&p.cargs, "--loops=%u", c->p.client_loops);
	p.client_s = c->p.scaling_s;
	p.setup_s = 1;
	cmp_pair_run(c, &p);
	r->state = p.state;
	r->wall_s = p.wall_s;
	cmp_sfmt(r->why, sizeof(r->why), "%s", p.state == CMP_OK ? p.note : p.why);
	if (p.state == CMP_OK) {
		double frames = json_path_num(p.sj, "frames", 0);
		double span = json_path_num(p.sj, "elapsed_s", NAN);
		double cpu = json_path_num(p.sj, "cpu.user_s", NAN) + json_path_num(p.sj, "cpu.sys_s", NAN);
		double cores = c->p.nserver_cpus ? (N < c->p.nserver_cpus && !cmp_is_threads(be) ? N
							: c->p.nserver_cpus) : 1;
		double bal, cmin, cmax;
		double cel = json_path_num(p.cj, "elapsed_s", NAN);
		double ccpu = json_path_num(p.cj, "cpu_user_s", NAN) + json_path_num(p.cj, "cpu_sys_s", NAN);

		/* The rate over the frames' own span (first to last frame). */
		const struct json *src = json_get(p.sj, "sources");
		uint64_t first = UINT64_MAX, last = 0;
		for (size_t i = 0; src && i < src->len; i++) {
			uint64_t f = json_u64(json_get(json_at(src, i), "first_ns"), 0);
			uint64_t l = json_u64(json_get(json_at(src, i), "last_ns"), 0);
			first = f && f < first ? f : first;
			last = l > last ? l : last;
		}
		if (last > first && first != UINT64_MAX)
			span = (double)(last - first) / 1e9;
		if (!(frames > 0) || !(span > 0)) {
			r->state = CMP_FAILED;
			cmp_sfmt(r->why, sizeof(r->why), "no frame arrived%s%s", p.note[0] ? ": " : "",
				 p.note);
		} else {
			cmp_loops_figures(p.sj, &bal, &cmin, &cmax);
			r->m[cmp_idx(k, "frames_per_s")] = frames / span;
			r->m[cmp_idx(k, "mb_per_s")] = json_path_num(p.sj, "bytes", NAN) / span / 1e6;
			r->m[cmp_idx(k, "cpu_ns_per_frame")] = cpu * 1e9 / frames;
			r->m[cmp_idx(k, "server_cpu_pct")] = 100 * cpu / span / cores;
			r->m[cmp_idx(k, "loop_balance")] = N > 1 ? bal : NAN;
			r->m[cmp_idx(k, "loop_conns_min")] = N > 1 ? cmin : NAN;
			r->m[cmp_idx(k, "loop_conns_max")] = N > 1 ? cmax : NAN;
			double eagain = json_path_num(p.cj, "eagain_writes", NAN);
			if (!isnan(eagain))
				r->m[cmp_idx(k, "client_limited")] = eagain == 0;
			r->m[cmp_idx(k, "client_cpu_pct")] = 100 * ccpu / cel;
			r->m[cmp_idx(k, "frames")] = frames;
			r->m[cmp_idx(k, "lost")] = json_path_num(p.sj, "lost", NAN);
		}
	}
	cmp_pair_free(&p);
}

/* ---- 10,000 connections ----------------------------------------------------- */

unsigned cmp_conns_nvar(const struct cmp *c)
{
	return c->p.nconn_loops;
}

void cmp_conns_variant(const struct cmp *c, unsigned v, char *l, size_t len, double *x)
{
	*x = c->p.conn_loops[v];
	cmp_sfmt(l, len, "N=%u", c->p.conn_loops[v]);
}

/* Connecting 10,000 (threads: creating 10,000 threads) takes a while. */
double cmp_conns_est(const struct cmp *c, unsigned v)
{
	(void)v;
	return c->p.scaling_s + 0.3 + c->p.conns * 250e-6;
}

int cmp_conns_applies(const struct cmp *c, const struct backend *be, unsigned v)
{
	char list[128], *save = NULL;
	int named = 0;

	cmp_sfmt(list, sizeof(list), "%s", c->p.conn_backends);
	for (char *w = strtok_r(list, ",", &save); w; w = strtok_r(NULL, ",", &save))
		named |= strcmp(w, be->name) == 0;
	if (!named)
		return 0;
	if (be->fd_limit > 0 && (unsigned)be->fd_limit <= c->p.conns + 64)
		return 0;
	return cmp_is_threads(be) ? v == 0 : cmp_is_loops(be);
}

void cmp_conns_run(struct cmp *c, struct cmp_case *k, unsigned rep)
{
	struct cmp_rep *r = &k->rep[rep];
	const struct backend *be = cmp_backend_named(c, k->backend);
	unsigned N = c->p.conn_loops[k->variant], busy = c->p.conns_busy;
	unsigned idle = c->p.conns - busy;
	long need = (long)c->p.conns + 72;
	struct cmp_pair p;
	char tag[128];

	if (be && cmp_is_threads(be)) {
		N = 1;
		cmp_sfmt(k->vlabel, sizeof(k->vlabel), "a thread each");
	}
	if (c->nofile < need) {
		r->state = CMP_SKIPPED;
		cmp_sfmt(r->why, sizeof(r->why), "RLIMIT_NOFILE is %ld (hard limit %ld); %u "
			 "connections need about %ld descriptors: raise it (ulimit -Hn)",
			 c->nofile, c->nofile_hard, c->p.conns, need);
		return;
	}
	cmp_sfmt(tag, sizeof(tag), "scaling-conns-%s-n%u-r%u", k->backend, N, rep + 1);
	cmp_pair_init(&p, tag, k->backend);
	cmp_argv_add(&p.sargs, "--sources=%u", busy);
	if (N > 1)
		cmp_argv_add(&p.sargs, "--loops=%u", N);
	cmp_scaling_pin(c, &p, N, be);
	cmp_argv_add(&p.cargs, "--sources=%u", busy);
	cmp_argv_add(&p.cargs, "--idle=%u", idle);
	cmp_argv_add(&p.cargs, "--rate=1000");
	cmp_argv_add(&p.cargs, "--size=64");
	cmp_argv_add(&p.cargs, "--duration=%.3f", c->p.scaling_s);
	cmp_argv_add(&p.cargs, "--loops=%u", c->p.client_loops);
	p.client_s = c->p.scaling_s;
	/* 10,000 threads on one busy CPU can take 20 s to start: only the
	 * bound, not the run, grows with this. */
	p.setup_s = 1 + c->p.conns / 500.0;
	cmp_pair_run(c, &p);
	r->state = p.state;
	r->wall_s = p.wall_s;
	cmp_sfmt(r->why, sizeof(r->why), "%s", p.state == CMP_OK ? p.note : p.why);
	if (p.state == CMP_OK) {
		double frames = json_path_num(p.sj, "frames", 0), bal, cmin, cmax;
		double conns = json_path_num(p.sj, "connections", NAN);
		if (!(frames > 0)) {
			r->state = CMP_FAILED;
			cmp_sfmt(r->why, sizeof(r->why), "no frame arrived%s%s", p.note[0] ? ": " : "",
				 p.note);
		} else {
			cmp_loops_figures(p.sj, &bal, &cmin, &cmax);
			r->m[cmp_idx(k, "p99_ns")] = json_path_num(p.sj, "latency_ns.p99", NAN);
			r->m[cmp_idx(k, "max_ns")] = json_path_num(p.sj, "latency_ns.max", NAN);
			r->m[cmp_idx(k, "max_rss_mib")] = json_path_num(p.sj, "max_rss_kib", NAN) / 1024;
			r->m[cmp_idx(k, "cpu_ns_per_frame")] = json_path_num(p.sj, "cpu.ns_per_frame", NAN);
			r->m[cmp_idx(k, "connections")] = conns;
			r->m[cmp_idx(k, "loop_balance")] = N > 1 ? bal : NAN;
			r->m[cmp_idx(k, "client_behind_p99_ns")] = json_path_num(p.cj, "behind_ns.p99", NAN);
			r->m[cmp_idx(k, "frames")] = frames;
			r->m[cmp_idx(k, "lost")] = json_path_num(p.sj, "lost", NAN);
			if (conns < c->p.conns && !r->why[0])
				cmp_sfmt(r->why, sizeof(r->why), "the server accepted only %.0f of the %u "
					 "connections", conns, c->p.conns);
		}
	}
	cmp_pair_free(&p);
}

/* ---- the report's words ------------------------------------------------------ */

void cmp_intro_scaling(FILE *f, const struct cmp *c)
{
	const struct cmp_plan *p = &c->p;
	unsigned top = p->loops[p->nloops - 1];

	fprintf(f, "64 sources send as fast as they can for %.1f s; the server runs N event loops "
		"(`--loops N`, connections handed out in turn), N = ", p->scaling_s);
	for (unsigned i = 0; i < p->nloops; i++)
		fprintf(f, "%s%u", i ? ", " : "", p->loops[i]);
	fprintf(f, ". The loop backends run every N; *threads* (a thread per connection) runs "
		"once per payload as the reference. ");
	if (p->nserver_cpus)
		fprintf(f, "The server gets %u of this machine's CPUs (loop i pinned to the i-th), "
			"the client the other %u and `--loops %u`, one sending loop per CPU. ",
			p->nserver_cpus, p->nclient_cpus, p->client_loops);
	else
		fprintf(f, "With one CPU nothing is pinned: the server and the client share it. ");
	fprintf(f, "*server CPU per core it has* is its user+sys time over the frames' span "
		"divided by min(N, its CPUs): at %.0f %% or more it was **saturated**. *busiest "
		"loop / mean* is 1.00 when every loop received as many frames as the others and N "
		"when one loop did all the work (from the server's JSON `loops`). *client-limited*: "
		"the client never found a socket full, so it set the pace and frames/s is a lower "
		"bound.\n\n", CMP_SATURATED_PCT);
	if (p->nserver_cpus < top)
		fprintf(f, "**This machine gives the server %u CPU%s, so N = %u cannot scale here**: "
			"its loops share the server's CPU%s, and the runs show what the extra loops "
			"cost, not what they gain. The curve needs at least %u server CPUs plus the "
			"client's (e.g. %u CPUs for N = 4 with a client of 4 loops).\n\n",
			p->nserver_cpus, p->nserver_cpus == 1 ? "" : "s", top,
			p->nserver_cpus == 1 ? "" : "s", top, 2 * (top > 4 ? top : 4));
}

/* For each loop backend and payload: frames/s at the largest N over N = 1. */
void cmp_read_scaling(FILE *f, const struct cmp *c)
{
	const struct cmp_plan *p = &c->p;
	unsigned top = p->nloops - 1;

	for (unsigned s = 0; s < p->nscaling_sizes; s++)
		for (size_t b = 0; b < c->nbe; b++) {
			const char *be = c->be[b].be->name;
			const struct cmp_case *k1 = cmp_find(c, CMP_SCALING, be, s * p->nloops);
			const struct cmp_case *kn = cmp_find(c, CMP_SCALING, be, s * p->nloops + top);
			if (!k1 || !kn || k1 == kn || k1->state != CMP_OK || kn->state != CMP_OK)
				continue;
			int m = cmp_idx(k1, "frames_per_s"), bal = cmp_idx(kn, "loop_balance");
			char a[64], z[64];
			cmp_fmt_cell(a, sizeof(a), k1, m);
			cmp_fmt_cell(z, sizeof(z), kn, m);
			fprintf(f, "- **%s**, %u B: %s frames/s with one loop, %s with %u: %.2fx (the "
				"issue's target is 0.7 x N = %.1fx, given N server CPUs); busiest loop "
				"%.2f x the mean%s%s.\n", be, p->scaling_sizes[s], a, z, p->loops[top],
				kn->med[m] / k1->med[m], 0.7 * p->loops[top], kn->med[bal],
				k1->client_limited || kn->client_limited ? "; **client-limited** in "
				"some runs: a lower bound" : "",
				p->nserver_cpus < p->loops[top] ? "; the loops shared the server's CPUs" : "");
		}
}

void cmp_intro_conns(FILE *f, const struct cmp *c)
{
	fprintf(f, "%u connections, of which %u send 64-byte frames at 1 kHz for %.1f s and the "
		"rest never send a byte (server `--sources %u`), the client with `--loops %u`: the "
		"loop backends among %s with N loops, against the thread-per-connection one. *p99* "
		"is send → received over every frame; *peak RSS* the server's max RSS (a thread per "
		"connection: 10,000 stacks). A backend that did not accept every connection is "
		"marked.%s\n\n", c->p.conns, c->p.conns_busy, c->p.scaling_s, c->p.conns_busy,
		c->p.client_loops, c->p.conn_backends,
		c->o.quick ? " (`--quick` runs 2,000 connections; a full run 10,000.)" : "");
}

void cmp_read_conns(FILE *f, const struct cmp *c)
{
	const struct cmp_case *t = NULL;

	for (size_t i = 0; i < c->ncases && !t; i++)
		if (c->cases[i].sc->id == CMP_SCALING_CONNS && c->cases[i].state == CMP_OK &&
		    cmp_backend_named(c, c->cases[i].backend) &&
		    cmp_is_threads(cmp_backend_named(c, c->cases[i].backend)))
			t = &c->cases[i];
	for (size_t i = 0; i < c->ncases; i++) {
		const struct cmp_case *k = &c->cases[i];
		if (k->sc->id != CMP_SCALING_CONNS || k->state != CMP_OK || k == t)
			continue;
		int p99 = cmp_idx(k, "p99_ns"), rss = cmp_idx(k, "max_rss_mib");
		char a[64], b[64];
		cmp_fmt_cell(a, sizeof(a), k, p99);
		fprintf(f, "- **%s**, %s: p99 %s, peak RSS %.1f MiB", k->backend, k->vlabel, a,
			k->med[rss]);
		if (t) {
			cmp_fmt_cell(b, sizeof(b), t, p99);
			fprintf(f, " — threads: p99 %s, %.1f MiB; memory %.2f of threads' (the issue's "
				"target: at most 0.20, and a lower p99)", b, t->med[rss],
				k->med[rss] / t->med[rss]);
		}
		fprintf(f, ".\n");
	}
}
