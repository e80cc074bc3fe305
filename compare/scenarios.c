/*
 * scenarios.c - the four scenarios of `daqmux compare`: what each runs and
 * what it computes from the server's JSON, the server's --trace and the
 * client's JSON. docs/compare.md explains what each one measures.
 *
 *   blocked     4 sources at 1 kHz, source 0 silent at first: who stalls?
 *   latency     pull mode, 1 and 8 sources: REQUEST -> DATA round trips
 *   throughput  8 sources at --rate max, 64 B / 4 KiB / 64 KiB payloads
 *   idle        8 sources at 1 kHz plus 0 ... 10,000 idle connections
 *   build       event building: 8 sources, 1 kHz triggers, 4 KiB fragments;
 *               healthy, one jittering, one stopping for a second
 *
 * Every figure is per repetition; compare.c takes the median.
 */
#include "compare_int.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"

int cmp_metric_find(const struct cmp_scen *sc, const char *key)
{
	for (unsigned i = 0; i < sc->nmetrics; i++)
		if (strcmp(sc->metrics[i].key, key) == 0)
			return (int)i;
	return -1;
}

int cmp_metric_index(const struct cmp_scen *sc, const char *key)
{
	int i = cmp_metric_find(sc, key);
	if (i >= 0)
		return i;
	msg("compare: internal error: no metric %s in %s", key, sc->name);
	abort();
}

static void cmp_set(struct cmp_rep *r, const struct cmp_case *k, const char *key, double v)
{
	r->m[cmp_metric_index(k->sc, key)] = v;
}

/* The outcome of a pair as the repetition's state. */
static void cmp_rep_from_pair(struct cmp_rep *r, const struct cmp_pair *p)
{
	r->state = p->state;
	r->wall_s = p->wall_s;
	cmp_sfmt(r->why, sizeof(r->why), "%s", p->state == CMP_OK ? p->note : p->why);
}

/* Time over which frames arrived: first frame of any source to the last. */
static double cmp_span_s(const struct json *sj)
{
	const struct json *v = json_get(sj, "sources");
	uint64_t first = UINT64_MAX, last = 0;
	for (size_t i = 0; v && i < v->len; i++) {
		const struct json *s = json_at(v, i);
		uint64_t f = json_u64(json_get(s, "first_ns"), 0), l = json_u64(json_get(s, "last_ns"), 0);
		if (f && f < first)
			first = f;
		if (l > last)
			last = l;
	}
	return last > first && first != UINT64_MAX ? (double)(last - first) / 1e9 : NAN;
}

/* The server's user+sys CPU over a span, as a percentage of one core. */
static double cmp_cpu_pct(const struct json *sj, double span_s)
{
	double cpu = json_path_num(sj, "cpu.user_s", NAN) + json_path_num(sj, "cpu.sys_s", NAN);
	return span_s > 0 ? 100 * cpu / span_s : NAN;
}

/* Busy CPU from /proc/stat around the run, per frame: the server's core
 * and the whole machine (with the client and the softirq work of TCP). */
static void cmp_set_stat(struct cmp_rep *r, const struct cmp_case *k, const struct cmp_pair *p,
			 double frames)
{
	if (!p->st0.ok || !p->st1.ok || !(frames > 0))
		return;
	if (p->st1.core_ns >= p->st0.core_ns && p->st0.core_ns != UINT64_MAX)
		r->m[cmp_idx(k, "core_ns_per_frame")] = (double)(p->st1.core_ns - p->st0.core_ns) / frames;
	if (p->st1.all_ns >= p->st0.all_ns)
		r->m[cmp_idx(k, "machine_ns_per_frame")] = (double)(p->st1.all_ns - p->st0.all_ns) / frames;
}

/* ---- the server's --trace ------------------------------------------------ */

struct cmp_frame { uint32_t src; uint64_t send, recv; };

struct cmp_trace {
	struct cmp_frame *f;
	size_t n;
};

static int cmp_trace_load(const char *path, struct cmp_trace *t, char *why, size_t len)
{
	FILE *fp = fopen(path, "r");
	char line[256];
	size_t cap = 0;

	memset(t, 0, sizeof(*t));
	if (!fp) {
		cmp_sfmt(why, len, "no trace: %s: %s", path, strerror(errno));
		return -1;
	}
	while (fgets(line, sizeof(line), fp)) {
		unsigned src;
		unsigned long long seq, send, recv;
		if (sscanf(line, "%u,%llu,%llu,%llu", &src, &seq, &send, &recv) != 4)
			continue;   /* the header */
		if (t->n == cap) {
			cap = cap ? 2 * cap : 16384;
			struct cmp_frame *g = realloc(t->f, cap * sizeof(*g));
			if (!g) {
				fclose(fp);
				cmp_sfmt(why, len, "out of memory reading %s", path);
				return -1;
			}
			t->f = g;
		}
		t->f[t->n++] = (struct cmp_frame){ src, send, recv };
	}
	fclose(fp);
	return 0;
}

static int cmp_u64_cmp(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return x < y ? -1 : x > y;
}

/* Nearest-rank percentile of a sorted array. */
static double cmp_pct(const uint64_t *v, size_t n, double p)
{
	if (!n)
		return NAN;
	size_t i = (size_t)ceil(p / 100 * (double)n);
	return (double)v[i ? i - 1 : 0];
}

/* ---- 1. blocked ------------------------------------------------------------ */

static const struct cmp_metric cmp_blocked_metrics[] = {
	{ "delivered", "delivered during silence", CMP_U_COUNT, 0 },
	{ "sent", "sent during silence", CMP_U_COUNT, 0 },
	{ "p50_ns", "p50", CMP_U_NS, 0 },
	{ "p99_ns", "p99", CMP_U_NS, 0 },
	{ "max_ns", "max", CMP_U_NS, 0 },
	{ "silence_ms", "silence", CMP_U_MS, 0 },
	{ "max_all_ns", "max latency, whole run", CMP_U_NS, 0 },
	{ "client_behind_p99_ns", "client behind schedule p99", CMP_U_NS, 0 },
	{ "frames", "frames", CMP_U_COUNT, 0 },
	{ "lost", "lost", CMP_U_COUNT, 0 },
	{ "server_cpu_pct", "server CPU", CMP_U_PCT, 0 },
};

static unsigned cmp_one_variant(const struct cmp *c) { (void)c; return 1; }

static void cmp_blocked_variant(const struct cmp *c, unsigned v, char *l, size_t len, double *x)
{
	(void)c; (void)v;
	cmp_sfmt(l, len, "4 sources");
	*x = 4;
}

static double cmp_blocked_est(const struct cmp *c, unsigned v)
{
	(void)v;
	return c->p.blocked_s + 0.05;
}

/* The timeline of the first good repetition, for the plot: send time
 * (s after the first frame was sent), latency (s), source. */
static void cmp_blocked_keep(struct cmp *c, struct cmp_case *k, const struct cmp_trace *t,
			     uint64_t t_first)
{
	char path[CMP_PATH + 64];
	cmp_sfmt(path, sizeof(path), "%s/data/blocked-%s.dat", c->out, k->backend);
	FILE *f = fopen(path, "w");
	if (!f)
		return;
	fprintf(f, "# send_s latency_s source   (%s, blocked scenario)\n", k->backend);
	for (size_t i = 0; i < t->n; i++) {
		const struct cmp_frame *fr = &t->f[i];
		if (!fr->send || fr->send < t_first)
			continue;
		fprintf(f, "%.6f %.9f %u\n", (double)(fr->send - t_first) / 1e9,
			(double)(fr->recv > fr->send ? fr->recv - fr->send : 1) / 1e9, fr->src);
	}
	if (fclose(f) == 0)
		cmp_sfmt(k->plotdata, sizeof(k->plotdata), "data/blocked-%s.dat", k->backend);
}

static void cmp_blocked_analyse(struct cmp *c, struct cmp_case *k, struct cmp_rep *r,
				const struct cmp_pair *p)
{
	struct cmp_trace t;
	char why[CMP_WHY];
	uint64_t t_first = UINT64_MAX, s0_first = UINT64_MAX, max_all = 0;
	size_t delivered = 0, nsent = 0;

	if (cmp_trace_load(p->trace_path, &t, why, sizeof(why)) < 0) {
		r->state = CMP_FAILED;
		cmp_sfmt(r->why, sizeof(r->why), "%s", why);
		return;
	}
	for (size_t i = 0; i < t.n; i++) {
		const struct cmp_frame *f = &t.f[i];
		if (f->src != 0 && f->send && f->send < t_first)
			t_first = f->send;
		if (f->src == 0 && f->recv < s0_first)
			s0_first = f->recv;
	}
	if (t_first == UINT64_MAX) {
		r->state = CMP_FAILED;
		cmp_sfmt(r->why, sizeof(r->why), "no frame from sources 1-3 in the trace");
		free(t.f);
		return;
	}
	/* The silence: from the first frame sent to the arrival of source
	 * 0's first frame - or its nominal length if source 0 never came. */
	uint64_t nominal_end = t_first + (uint64_t)(c->p.silent_s * 1e9);
	uint64_t end = s0_first != UINT64_MAX ? s0_first : nominal_end;
	uint64_t *lat = malloc((t.n + 1) * sizeof(*lat));
	if (!lat) {
		r->state = CMP_FAILED;
		cmp_sfmt(r->why, sizeof(r->why), "out of memory");
		free(t.f);
		return;
	}
	for (size_t i = 0; i < t.n; i++) {
		const struct cmp_frame *f = &t.f[i];
		if (f->src == 0)
			continue;
		uint64_t l = f->recv > f->send ? f->recv - f->send : 0;
		if (l > max_all)
			max_all = l;
		if (f->recv < end)
			delivered++;
		if (f->send < nominal_end)
			lat[nsent++] = l;
	}
	qsort(lat, nsent, sizeof(*lat), cmp_u64_cmp);
	cmp_set(r, k, "delivered", (double)delivered);
	cmp_set(r, k, "sent", (double)nsent);
	cmp_set(r, k, "p50_ns", cmp_pct(lat, nsent, 50));
	cmp_set(r, k, "p99_ns", cmp_pct(lat, nsent, 99));
	cmp_set(r, k, "max_ns", nsent ? (double)lat[nsent - 1] : NAN);
	cmp_set(r, k, "silence_ms", (double)(end - t_first) / 1e6);
	cmp_set(r, k, "max_all_ns", (double)max_all);
	cmp_set(r, k, "client_behind_p99_ns", json_path_num(p->cj, "behind_ns.p99", NAN));
	cmp_set(r, k, "frames", json_path_num(p->sj, "frames", NAN));
	cmp_set(r, k, "lost", json_path_num(p->sj, "lost", NAN));
	cmp_set(r, k, "server_cpu_pct", cmp_cpu_pct(p->sj, json_path_num(p->sj, "elapsed_s", NAN)));
	if (!k->plotdata[0])
		cmp_blocked_keep(c, k, &t, t_first);
	free(lat);
	free(t.f);
}

static void cmp_blocked_run(struct cmp *c, struct cmp_case *k, unsigned rep)
{
	struct cmp_rep *r = &k->rep[rep];
	struct cmp_pair p;
	char tag[128];

	cmp_sfmt(tag, sizeof(tag), "blocked-%s-r%u", k->backend, rep + 1);
	cmp_pair_init(&p, tag, k->backend);
	cmp_argv_add(&p.sargs, "--sources=4");
	cmp_argv_add(&p.cargs, "--sources=4");
	cmp_argv_add(&p.cargs, "--rate=1000");
	cmp_argv_add(&p.cargs, "--size=64");
	cmp_argv_add(&p.cargs, "--duration=%.3f", c->p.blocked_s);
	cmp_argv_add(&p.cargs, "--silent=0:%.3f", c->p.silent_s);
	p.client_s = c->p.blocked_s;
	p.setup_s = 1;
	p.trace = 1;
	cmp_pair_run(c, &p);
	cmp_rep_from_pair(r, &p);
	if (p.state == CMP_OK)
		cmp_blocked_analyse(c, k, r, &p);
	cmp_pair_free(&p);
}

/* ---- 2. latency (pull mode) -------------------------------------------------- */

static const struct cmp_metric cmp_latency_metrics[] = {
	{ "p50_ns", "RTT p50", CMP_U_NS, 0 },
	{ "p99_ns", "p99", CMP_U_NS, 0 },
	{ "p999_ns", "p99.9", CMP_U_NS, 0 },
	{ "max_ns", "max", CMP_U_NS, 0 },
	{ "requests", "round trips", CMP_U_COUNT, 0 },
	{ "rate", "round trips/s", CMP_U_RATE, 0 },
	{ "server_cpu_pct", "server CPU", CMP_U_PCT, 0 },
};

static unsigned cmp_latency_nvar(const struct cmp *c) { (void)c; return 2; }

static void cmp_latency_variant(const struct cmp *c, unsigned v, char *l, size_t len, double *x)
{
	*x = c->p.latency_sources[v];
	cmp_sfmt(l, len, "%u source%s", c->p.latency_sources[v], *x == 1 ? "" : "s");
}

static double cmp_latency_est(const struct cmp *c, unsigned v)
{
	(void)v;
	return c->p.latency_s + 0.05;
}

/* Merge the run's histogram buckets ([low, high, count], the new
 * "rtt_ns_buckets" of the server JSON) into the case, for the CDF. */
static int cmp_latency_buckets(struct cmp_case *k, const struct json *b)
{
	if (!b || b->type != JSON_ARR)
		return -1;
	for (size_t i = 0; i < b->len; i++) {
		const struct json *e = json_at(b, i);
		double lo = json_num(json_at(e, 0), NAN), n = json_num(json_at(e, 2), 0);
		if (isnan(lo) || n <= 0)
			continue;
		size_t j;
		for (j = 0; j < k->nbuckets && k->bucket_lo[j] != lo; j++)
			;
		if (j == k->nbuckets) {
			double *a = realloc(k->bucket_lo, (j + 1) * sizeof(double));
			if (!a)
				return -1;
			k->bucket_lo = a;
			double *m = realloc(k->bucket_n, (j + 1) * sizeof(double));
			if (!m)
				return -1;
			k->bucket_n = m;
			k->bucket_lo[j] = lo;
			k->bucket_n[j] = 0;
			k->nbuckets++;
		}
		k->bucket_n[j] += n;
	}
	return 0;
}

/* Without buckets only percentiles are known: the CDF goes through them. */
static void cmp_latency_cdf_points(struct cmp_case *k, const struct json *h)
{
	static const struct { const char *key; double y; } pts[] = {
		{ "min", 0 }, { "p50", .5 }, { "p90", .9 }, { "p99", .99 }, { "p999", .999 }, { "max", 1 },
	};
	struct cmp_cdf *d = &k->cdf;
	if (d->n)
		return;
	d->x = calloc(ARRAY_SIZE(pts), sizeof(double));
	d->y = calloc(ARRAY_SIZE(pts), sizeof(double));
	if (!d->x || !d->y)
		return;
	d->from_percentiles = 1;
	for (size_t i = 0; i < ARRAY_SIZE(pts); i++) {
		d->x[d->n] = json_num(json_get(h, pts[i].key), NAN);
		d->y[d->n] = pts[i].y;
		if (!isnan(d->x[d->n]))
			d->n++;
	}
}

static void cmp_latency_run(struct cmp *c, struct cmp_case *k, unsigned rep)
{
	struct cmp_rep *r = &k->rep[rep];
	struct cmp_pair p;
	char tag[128];
	unsigned n = (unsigned)k->x;

	cmp_sfmt(tag, sizeof(tag), "latency-%s-%u-r%u", k->backend, n, rep + 1);
	cmp_pair_init(&p, tag, k->backend);
	cmp_argv_add(&p.sargs, "--mode=pull");
	cmp_argv_add(&p.sargs, "--sources=%u", n);
	cmp_argv_add(&p.cargs, "--mode=pull");
	cmp_argv_add(&p.cargs, "--sources=%u", n);
	cmp_argv_add(&p.cargs, "--size=64");
	cmp_argv_add(&p.cargs, "--duration=%.3f", c->p.latency_s);
	p.client_s = c->p.latency_s;
	p.setup_s = 1;
	cmp_pair_run(c, &p);
	cmp_rep_from_pair(r, &p);
	if (p.state == CMP_OK) {
		const struct json *h = json_get(p.sj, "rtt_ns");
		double frames = json_path_num(p.sj, "frames", NAN);
		if (!h) {
			r->state = CMP_FAILED;
			cmp_sfmt(r->why, sizeof(r->why), "the server JSON has no rtt_ns (not pull mode?)");
		} else if (!(frames > 0)) {
			r->state = CMP_FAILED;
			cmp_sfmt(r->why, sizeof(r->why), "no round trip completed%s%s",
				 p.note[0] ? ": " : "", p.note);
		} else {
			cmp_set(r, k, "p50_ns", json_num(json_get(h, "p50"), NAN));
			cmp_set(r, k, "p99_ns", json_num(json_get(h, "p99"), NAN));
			cmp_set(r, k, "p999_ns", json_num(json_get(h, "p999"), NAN));
			cmp_set(r, k, "max_ns", json_num(json_get(h, "max"), NAN));
			cmp_set(r, k, "requests", frames);
			cmp_set(r, k, "rate", frames / cmp_span_s(p.sj));
			cmp_set(r, k, "server_cpu_pct", cmp_cpu_pct(p.sj, cmp_span_s(p.sj)));
			if (cmp_latency_buckets(k, json_get(p.sj, "rtt_ns_buckets")) < 0)
				cmp_latency_cdf_points(k, h);
		}
	}
	cmp_pair_free(&p);
}

/* ---- 3. throughput ------------------------------------------------------------ */

static const struct cmp_metric cmp_tput_metrics[] = {
	{ "frames_per_s", "frames/s", CMP_U_RATE, CMP_MF_RATE },
	{ "mb_per_s", "MB/s", CMP_U_MBS, CMP_MF_RATE },
	{ "cpu_ns_per_frame", "server CPU/frame", CMP_U_NSF, CMP_MF_CPU },
	{ "server_cpu_pct", "server CPU", CMP_U_PCT, 0 },
	{ "core_ns_per_frame", "server core CPU/frame", CMP_U_NSF, CMP_MF_CPU },
	{ "machine_ns_per_frame", "machine CPU/frame", CMP_U_NSF, 0 },
	{ "client_limited", "client-limited", CMP_U_COUNT, 0 },
	{ "syscalls_per_frame", "syscalls/frame", CMP_U_RATIO, 0 },
	{ "reads_per_frame", "reads/frame", CMP_U_RATIO, 0 },
	{ "waits_per_frame", "waits/frame", CMP_U_RATIO, 0 },
	{ "client_blocked_ms", "client blocked", CMP_U_MS, 0 },
	{ "client_eagain", "client EAGAIN writes", CMP_U_COUNT, 0 },
	{ "client_cpu_pct", "client CPU %", CMP_U_RATIO, 0 },
	{ "client_sys_pct", "client kernel CPU %", CMP_U_RATIO, 0 },
	{ "frames", "frames", CMP_U_COUNT, 0 },
	{ "lost", "lost", CMP_U_COUNT, 0 },
	/* The floor: the same backend, payload and client with --discard,
	 * run right after the real one (see cmp_tput_floor). */
	{ "floor_ns_per_frame", "floor CPU/frame (--discard)", CMP_U_NSF, 0 },
	{ "framing_ns_per_frame", "framing overhead (real − floor)", CMP_U_NSF, 0 },
	{ "cpu_vs_floor", "real / floor", CMP_U_RATIO, 0 },
	{ "floor_server_cpu_pct", "floor server CPU", CMP_U_PCT, 0 },
};

static unsigned cmp_tput_nvar(const struct cmp *c) { (void)c; return 3; }

static void cmp_tput_variant(const struct cmp *c, unsigned v, char *l, size_t len, double *x)
{
	unsigned s = c->p.sizes[v];
	*x = s;
	if (s >= 1024 && s % 1024 == 0)
		cmp_sfmt(l, len, "%u KiB", s / 1024);
	else
		cmp_sfmt(l, len, "%u B", s);
}

/* Two runs per repetition: the real one and its floor. */
static double cmp_tput_est(const struct cmp *c, unsigned v)
{
	(void)v;
	return 2 * (c->p.throughput_s + 0.15);
}

/* One throughput run of k's backend and payload; with discard, the
 * server only counts the bytes (`daqmux server --discard`). */
static void cmp_tput_pair(struct cmp *c, struct cmp_case *k, unsigned rep, int discard,
			  struct cmp_pair *p)
{
	char tag[128];

	cmp_sfmt(tag, sizeof(tag), "throughput-%s-%.0f%s-r%u", k->backend, k->x,
		 discard ? "-discard" : "", rep + 1);
	cmp_pair_init(p, tag, k->backend);
	cmp_argv_add(&p->sargs, "--sources=8");
	if (discard) {
		cmp_argv_add(&p->sargs, "--discard");
		cmp_argv_add(&p->sargs, "--discard-size=%.0f", k->x);
	}
	cmp_argv_add(&p->cargs, "--sources=8");
	cmp_argv_add(&p->cargs, "--rate=max");
	cmp_argv_add(&p->cargs, "--size=%.0f", k->x);
	cmp_argv_add(&p->cargs, "--duration=%.3f", c->p.throughput_s);
	p->client_s = c->p.throughput_s;
	p->setup_s = 1;
	cmp_pair_run(c, p);
}

/*
 * The floor of a measured repetition, the way sockperf is the latency
 * scenario's: the same backend reads the same stream with --discard
 * (the same waits and reads, no framing, CRC or accounting), right
 * after the real run. framing_ns_per_frame is real - floor of this
 * repetition, so the median is of the differences, each within one
 * pair of runs. A floor that did not measure leaves these figures out
 * and says why in the repetition's note; the real figures stand.
 */
static void cmp_tput_floor(struct cmp *c, struct cmp_case *k, unsigned rep, double real_ns)
{
	struct cmp_rep *r = &k->rep[rep];
	struct cmp_pair p;

	cmp_tput_pair(c, k, rep, 1, &p);
	double frames = p.sj ? json_path_num(p.sj, "frames", 0) : 0;
	double cpu = p.sj ? json_path_num(p.sj, "cpu.user_s", NAN) +
			    json_path_num(p.sj, "cpu.sys_s", NAN) : NAN;
	if (p.state != CMP_OK || !(frames > 0) || isnan(cpu)) {
		cmp_cat(r->why, sizeof(r->why), "%sno floor: the --discard run %s", r->why[0] ? "; " : "",
			p.state != CMP_OK ? p.why : "counted no frame");
	} else {
		double floor = cpu * 1e9 / frames;
		cmp_set(r, k, "floor_ns_per_frame", floor);
		cmp_set(r, k, "framing_ns_per_frame", real_ns - floor);
		cmp_set(r, k, "cpu_vs_floor", floor > 0 ? real_ns / floor : NAN);
		cmp_set(r, k, "floor_server_cpu_pct", cmp_cpu_pct(p.sj, cmp_span_s(p.sj)));
	}
	cmp_pair_free(&p);
}

static void cmp_tput_run(struct cmp *c, struct cmp_case *k, unsigned rep)
{
	struct cmp_rep *r = &k->rep[rep];
	struct cmp_pair p;

	cmp_tput_pair(c, k, rep, 0, &p);
	cmp_rep_from_pair(r, &p);
	if (p.state == CMP_OK) {
		double frames = json_path_num(p.sj, "frames", 0);
		double span = cmp_span_s(p.sj);
		double cpu = json_path_num(p.sj, "cpu.user_s", NAN) + json_path_num(p.sj, "cpu.sys_s", NAN);
		if (!(frames > 0)) {
			r->state = CMP_FAILED;
			cmp_sfmt(r->why, sizeof(r->why), "no frame arrived%s%s", p.note[0] ? ": " : "", p.note);
		} else {
			cmp_set(r, k, "frames_per_s", frames / span);
			cmp_set(r, k, "mb_per_s", json_path_num(p.sj, "bytes", NAN) / span / 1e6);
			cmp_set(r, k, "cpu_ns_per_frame", cpu * 1e9 / frames);
			cmp_set(r, k, "syscalls_per_frame", json_path_num(p.sj, "syscalls.total", NAN) / frames);
			cmp_set(r, k, "reads_per_frame", json_path_num(p.sj, "syscalls.reads", NAN) / frames);
			cmp_set(r, k, "waits_per_frame", json_path_num(p.sj, "syscalls.waits", NAN) / frames);
			cmp_set(r, k, "client_blocked_ms", json_path_num(p.cj, "blocked_ns", NAN) / 1e6);
			cmp_set(r, k, "client_eagain", json_path_num(p.cj, "eagain_writes", NAN));
			/* How busy the client's one core was: near 100 % with no
			 * EAGAIN means the client, not the server, was the limit. */
			double cel = json_path_num(p.cj, "elapsed_s", NAN);
			double csys = json_path_num(p.cj, "cpu_sys_s", NAN);
			cmp_set(r, k, "client_cpu_pct",
				100 * (json_path_num(p.cj, "cpu_user_s", NAN) + csys) / cel);
			cmp_set(r, k, "client_sys_pct", 100 * csys / cel);
			cmp_set(r, k, "server_cpu_pct", cmp_cpu_pct(p.sj, span));
			/* The client never found the socket full: it, not the
			 * server, set the pace, and the rate is a lower bound. */
			double eagain = json_path_num(p.cj, "eagain_writes", NAN);
			if (!isnan(eagain))
				cmp_set(r, k, "client_limited", eagain == 0);
			cmp_set_stat(r, k, &p, frames);
			cmp_set(r, k, "frames", frames);
			cmp_set(r, k, "lost", json_path_num(p.sj, "lost", NAN));
		}
	}
	cmp_pair_free(&p);
	if (r->state == CMP_OK)
		cmp_tput_floor(c, k, rep, r->m[cmp_idx(k, "cpu_ns_per_frame")]);
}

/* ---- 4. idle scaling -------------------------------------------------------------- */

static const struct cmp_metric cmp_idle_metrics[] = {
	{ "cpu_ns_per_frame", "server CPU/frame (steady)", CMP_U_NSF, CMP_MF_CPU },
	{ "cpu_run_ns_per_frame", "CPU/frame (whole run)", CMP_U_NSF, CMP_MF_CPU },
	{ "server_cpu_pct", "server CPU (steady)", CMP_U_PCT, 0 },
	{ "ns_per_wait_fd", "CPU per wait per descriptor", CMP_U_NSF, 0 },
	{ "core_ns_per_frame", "server core CPU/frame (whole run)", CMP_U_NSF, CMP_MF_CPU },
	{ "machine_ns_per_frame", "machine CPU/frame (whole run)", CMP_U_NSF, 0 },
	{ "p99_ns", "p99 latency", CMP_U_NS, 0 },
	{ "max_ns", "max latency", CMP_U_NS, 0 },
	{ "max_rss_mib", "peak RSS", CMP_U_MIB, 0 },
	{ "idle_seen", "idle connections accepted", CMP_U_COUNT, 0 },
	{ "client_behind_p99_ns", "client behind schedule p99", CMP_U_NS, 0 },
	{ "frames", "frames", CMP_U_COUNT, 0 },
	{ "window_frames", "frames in window", CMP_U_COUNT, 0 },
};

static unsigned cmp_idle_nvar(const struct cmp *c) { return c->p.nidle; }

static void cmp_idle_variant(const struct cmp *c, unsigned v, char *l, size_t len, double *x)
{
	*x = c->p.idle_counts[v];
	cmp_sfmt(l, len, "%u idle", c->p.idle_counts[v]);
}

/* Connecting and accepting 10,000 connections takes a while (threads:
 * 10,000 thread creations). */
static double cmp_idle_setup_s(unsigned idle) { return 1 + idle / 2000.0; }

static double cmp_idle_est(const struct cmp *c, unsigned v)
{
	return c->p.idle_s + 0.05 + c->p.idle_counts[v] * 100e-6;
}

/* Descriptors each process needs: the connections plus a margin for
 * stdio, the listener, epoll/uring and the log files. */
static long cmp_idle_fds(unsigned idle) { return (long)idle + 8 + 64; }

/*
 * Server CPU per frame in the steady state. The server's JSON has the CPU
 * time of the whole run, which includes accepting the idle connections -
 * a one-off cost that would make 10,000 idle connections look expensive
 * per frame when they cost nothing while idle. So the window from 20 % to
 * 90 % of the time frames were arriving is cut out: the CPU spent there
 * comes from the samples of the server's CPU clock, the frames received
 * there from the trace.
 */
static void cmp_idle_steady(struct cmp_case *k, struct cmp_rep *r, const struct cmp_pair *p)
{
	struct cmp_trace t;
	char why[CMP_WHY];
	uint64_t t0 = UINT64_MAX, t1 = 0;

	if (p->ncpu < 4 || cmp_trace_load(p->trace_path, &t, why, sizeof(why)) < 0)
		return;
	for (size_t i = 0; i < t.n; i++) {
		if (t.f[i].recv < t0)
			t0 = t.f[i].recv;
		if (t.f[i].recv > t1)
			t1 = t.f[i].recv;
	}
	if (t.n < 100 || t1 <= t0) {
		free(t.f);
		return;
	}
	uint64_t ws = t0 + (t1 - t0) / 5, we = t1 - (t1 - t0) / 10;
	const struct cmp_cpu_sample *a = NULL, *b = NULL;
	for (size_t i = 0; i < p->ncpu; i++) {
		if (!a && p->cpu[i].t >= ws)
			a = &p->cpu[i];
		if (p->cpu[i].t <= we)
			b = &p->cpu[i];
	}
	if (a && b && b > a) {
		size_t n = 0;
		for (size_t i = 0; i < t.n; i++)
			n += t.f[i].recv >= a->t && t.f[i].recv < b->t;
		if (n >= 100) {
			double cpu = (double)(b->cpu - a->cpu), frames = json_path_num(p->sj, "frames", NAN);
			cmp_set(r, k, "cpu_ns_per_frame", cpu / (double)n);
			cmp_set(r, k, "window_frames", (double)n);
			cmp_set(r, k, "server_cpu_pct", 100 * cpu / (double)(b->t - a->t));
			/* The O(n) figure: what one wait costs per descriptor it
			 * watches (the 8 sources, the idle ones, the listener).
			 * The JSON counts the waits of the whole run; the window
			 * has its share of them, in proportion to its frames. */
			double waits = json_path_num(p->sj, "syscalls.waits", NAN) * (double)n / frames;
			double fds = json_path_num(p->sj, "connections", NAN) + 1;
			if (waits >= 1 && fds >= 1)
				cmp_set(r, k, "ns_per_wait_fd", cpu / waits / fds);
		}
	}
	free(t.f);
}

static void cmp_idle_run(struct cmp *c, struct cmp_case *k, unsigned rep)
{
	struct cmp_rep *r = &k->rep[rep];
	unsigned idle = (unsigned)k->x;
	long need = cmp_idle_fds(idle);
	struct cmp_pair p;
	char tag[128];

	/* A limit of the machine, or what an earlier run showed: no run. */
	if (c->nofile < need) {
		r->state = CMP_SKIPPED;
		cmp_sfmt(r->why, sizeof(r->why),
			 "RLIMIT_NOFILE is %ld (hard limit %ld); %u idle connections need about %ld "
			 "descriptors in the server and in the client: raise it (ulimit -Hn, limits.conf)",
			 c->nofile, c->nofile_hard, idle, need);
		return;
	}
	/* More idle connections are never easier: once a backend could not
	 * take N (unsupported) or failed with N, the same or a larger count is
	 * not tried again - such a failure can cost a 10 s connect timeout. */
	for (unsigned v = 0; v <= k->variant; v++) {
		const struct cmp_case *o = cmp_find(c, CMP_IDLE, k->backend, v);
		for (unsigned i = 0; o && i < CMP_MAX_REPEAT; i++) {
			const struct cmp_rep *e = &o->rep[i];
			if ((o == k && i >= rep) || (e->state != CMP_UNSUPPORTED && e->state != CMP_FAILED))
				continue;
			r->state = e->state == CMP_UNSUPPORTED ? CMP_UNSUPPORTED : CMP_SKIPPED;
			if (strncmp(e->why, "as with", 7) == 0)
				cmp_sfmt(r->why, sizeof(r->why), "%s", e->why);
			else
				cmp_sfmt(r->why, sizeof(r->why), "as with %s (repetition %u), which %s: %s",
					 o->vlabel, i + 1, e->state == CMP_FAILED ? "failed" :
					 "was unsupported", e->why);
			return;
		}
	}

	cmp_sfmt(tag, sizeof(tag), "idle-%s-%u-r%u", k->backend, idle, rep + 1);
	cmp_pair_init(&p, tag, k->backend);
	cmp_argv_add(&p.sargs, "--sources=8");
	cmp_argv_add(&p.cargs, "--sources=8");
	cmp_argv_add(&p.cargs, "--rate=1000");
	cmp_argv_add(&p.cargs, "--size=64");
	cmp_argv_add(&p.cargs, "--duration=%.3f", c->p.idle_s);
	if (idle)
		cmp_argv_add(&p.cargs, "--idle=%u", idle);
	p.client_s = c->p.idle_s;
	p.setup_s = cmp_idle_setup_s(idle);
	p.trace = 1;
	p.sample_cpu = 1;
	cmp_pair_run(c, &p);
	cmp_rep_from_pair(r, &p);
	if (p.state != CMP_OK) {
		cmp_pair_free(&p);
		return;
	}
	double refused = json_path_num(p.sj, "refused", 0);
	double frames = json_path_num(p.sj, "frames", 0);
	/* Accepted beyond the 8 sources. Not "idle_connections": that counts
	 * only those still open at the end, and a backend that wakes its
	 * readers by shutting connections down (threads) closes them first. */
	double seen = json_path_num(p.sj, "connections", NAN) - 8;
	if (refused > 0) {
		/* The backend turned connections away (select beyond
		 * FD_SETSIZE): a limit of the method, not a failure. */
		char line[CMP_WHY - 64] = "";
		const char *s;
		cmp_log_line(p.slog, "refused connection", line, sizeof(line));
		s = strstr(line, ": ");   /* skip "refused connection from PEER" */
		r->state = CMP_UNSUPPORTED;
		cmp_sfmt(r->why, sizeof(r->why), "%s (%.0f connection%s refused before the run ended)",
			 s ? s + 2 : line[0] ? line : "connections refused", refused,
			 refused == 1 ? "" : "s");
	} else if (!(frames > 0) && idle > 0 && seen == 0) {
		/* A backend that accepts its sources and nobody else (blocking):
		 * the idle connections filled the listen backlog and the rest
		 * could not connect - a limit of the method, like select's. */
		r->state = CMP_UNSUPPORTED;
		cmp_sfmt(r->why, sizeof(r->why), "the server accepted none of the idle connections (it "
			 "takes its 8 sources and no one else); beyond the listen backlog the client could "
			 "not connect%s%s", p.note[0] ? " - " : "", p.note);
	} else if (!(frames > 0)) {
		r->state = CMP_FAILED;
		cmp_sfmt(r->why, sizeof(r->why), "no frame arrived%s%s", p.note[0] ? ": " : "", p.note);
	} else {
		cmp_set(r, k, "cpu_run_ns_per_frame", json_path_num(p.sj, "cpu.ns_per_frame", NAN));
		cmp_set(r, k, "p99_ns", json_path_num(p.sj, "latency_ns.p99", NAN));
		cmp_set(r, k, "max_ns", json_path_num(p.sj, "latency_ns.max", NAN));
		cmp_set(r, k, "max_rss_mib", json_path_num(p.sj, "max_rss_kib", NAN) / 1024);
		cmp_set(r, k, "idle_seen", seen);
		cmp_set(r, k, "client_behind_p99_ns", json_path_num(p.cj, "behind_ns.p99", NAN));
		cmp_set(r, k, "frames", frames);
		cmp_set(r, k, "server_cpu_pct", cmp_cpu_pct(p.sj, json_path_num(p.sj, "elapsed_s", NAN)));
		cmp_set_stat(r, k, &p, frames);
		cmp_idle_steady(k, r, &p);
		/* blocking accepts its N sources and no one else */
		if (seen < idle && !r->why[0])
			cmp_sfmt(r->why, sizeof(r->why), "the server accepted only %.0f of the %u idle "
				 "connections before the run ended (the others waited in the listen backlog)",
				 seen, idle);
	}
	cmp_pair_free(&p);
}

/* ---- 5. event building ----------------------------------------------------------- */

static const struct cmp_metric cmp_build_metrics[] = {
	{ "events_per_s", "events/s", CMP_U_RATE, 0 },
	{ "p50_ns", "building p50", CMP_U_NS, 0 },
	{ "p99_ns", "p99", CMP_U_NS, 0 },
	{ "max_ns", "max", CMP_U_NS, 0 },
	{ "held_mib", "held max", CMP_U_MIB, 0 },
	{ "kept_mib", "read while paused", CMP_U_MIB, 0 },
	{ "partial", "partial events", CMP_U_COUNT, 0 },
	{ "complete", "complete events", CMP_U_COUNT, 0 },
	{ "paused_ms", "paused (most)", CMP_U_MS, 0 },
	{ "late", "late fragments", CMP_U_COUNT, 0 },
	{ "client_blocked_ms", "client blocked", CMP_U_MS, 0 },
	{ "lock_wait_ms", "builder lock wait", CMP_U_MS, 0 },
};

/* Source 3 misbehaves; --silent ID:S@AT keeps its schedule, so what fell
 * due during its stop leaves at once when it resumes. */
static const char *const cmp_build_labels[] = { "healthy", "jitter 5 ms", "stop 1 s" };
static const char *const cmp_build_fault[] = { NULL, "--jitter=3:5000", "--silent=3:1@0.5" };

/* --quick runs the one that tells the strategies apart: the stop. */
static unsigned cmp_build_nvar(const struct cmp *c) { return c->o.quick ? 1 : 3; }

static unsigned cmp_build_which(const struct cmp *c, unsigned v) { return c->o.quick ? 2 : v; }

static void cmp_build_variant(const struct cmp *c, unsigned v, char *l, size_t len, double *x)
{
	*x = cmp_build_which(c, v);
	cmp_sfmt(l, len, "%s", cmp_build_labels[cmp_build_which(c, v)]);
}

static double cmp_build_est(const struct cmp *c, unsigned v)
{
	(void)v;
	return c->p.build_s + 0.2;
}

static void cmp_build_run(struct cmp *c, struct cmp_case *k, unsigned rep)
{
	struct cmp_rep *r = &k->rep[rep];
	struct cmp_pair p;
	char tag[128];

	cmp_sfmt(tag, sizeof(tag), "build-%s-%u-r%u", k->backend, k->variant, rep + 1);
	cmp_pair_init(&p, tag, k->backend);
	cmp_argv_add(&p.sargs, "--sources=8");
	cmp_argv_add(&p.sargs, "--build");
	cmp_argv_add(&p.sargs, "--build-window=64");
	cmp_argv_add(&p.sargs, "--build-timeout=100");
	cmp_argv_add(&p.cargs, "--sources=8");
	cmp_argv_add(&p.cargs, "--burst");
	cmp_argv_add(&p.cargs, "--rate=1000");
	cmp_argv_add(&p.cargs, "--size=4096");
	cmp_argv_add(&p.cargs, "--duration=%.3f", c->p.build_s);
	if (cmp_build_fault[cmp_build_which(c, k->variant)])
		cmp_argv_add(&p.cargs, "%s", cmp_build_fault[cmp_build_which(c, k->variant)]);
	p.client_s = c->p.build_s;
	p.setup_s = 1;
	cmp_pair_run(c, &p);
	cmp_rep_from_pair(r, &p);
	if (p.state == CMP_OK) {
		const struct json *b = json_get(p.sj, "build"), *v = json_get(b, "sources");
		double complete = json_path_num(b, "events_complete", NAN);
		double partial = json_path_num(b, "events_partial", NAN);
		double paused = 0;
		for (size_t i = 0; v && i < v->len; i++) {
			double x = json_num(json_get(json_at(v, i), "paused_ns"), 0);
			if (x > paused)
				paused = x;
		}
		if (!b || !(complete + partial > 0)) {
			r->state = CMP_FAILED;
			cmp_sfmt(r->why, sizeof(r->why), "no event was built%s%s",
				 p.note[0] ? ": " : "", p.note);
		} else {
			cmp_set(r, k, "events_per_s", (complete + partial) / cmp_span_s(p.sj));
			cmp_set(r, k, "p50_ns", json_path_num(b, "latency_ns.p50", NAN));
			cmp_set(r, k, "p99_ns", json_path_num(b, "latency_ns.p99", NAN));
			cmp_set(r, k, "max_ns", json_path_num(b, "latency_ns.max", NAN));
			cmp_set(r, k, "held_mib", json_path_num(b, "held_bytes_max", NAN) / 1048576);
			cmp_set(r, k, "kept_mib", json_path_num(b, "kept_bytes_max", NAN) / 1048576);
			cmp_set(r, k, "partial", partial);
			cmp_set(r, k, "complete", complete);
			cmp_set(r, k, "paused_ms", paused / 1e6);
			cmp_set(r, k, "late", json_path_num(b, "fragments_late", NAN));
			cmp_set(r, k, "client_blocked_ms", json_path_num(p.cj, "blocked_ns", NAN) / 1e6);
			cmp_set(r, k, "lock_wait_ms", json_path_num(b, "lock.wait_ns", NAN) / 1e6);
		}
	}
	cmp_pair_free(&p);
}

/* ---- the table -------------------------------------------------------------------- */

const struct cmp_scen cmp_scens[CMP_NSCENS] = {
	[CMP_BLOCKED] = {
		.id = CMP_BLOCKED, .name = "blocked",
		.title = "Blocked: one silent source among four",
		.nmetrics = ARRAY_SIZE(cmp_blocked_metrics), .metrics = cmp_blocked_metrics,
		.nvariants = cmp_one_variant, .variant = cmp_blocked_variant,
		.estimate_s = cmp_blocked_est, .run = cmp_blocked_run,
	},
	[CMP_LATENCY] = {
		.id = CMP_LATENCY, .name = "latency",
		.title = "Latency: pull-mode round trips",
		.nmetrics = ARRAY_SIZE(cmp_latency_metrics), .metrics = cmp_latency_metrics,
		.nvariants = cmp_latency_nvar, .variant = cmp_latency_variant,
		.estimate_s = cmp_latency_est, .run = cmp_latency_run,
	},
	[CMP_THROUGHPUT] = {
		.id = CMP_THROUGHPUT, .name = "throughput",
		.title = "Throughput: 8 sources as fast as they can",
		.nmetrics = ARRAY_SIZE(cmp_tput_metrics), .metrics = cmp_tput_metrics,
		.nvariants = cmp_tput_nvar, .variant = cmp_tput_variant,
		.estimate_s = cmp_tput_est, .run = cmp_tput_run,
	},
	[CMP_IDLE] = {
		.id = CMP_IDLE, .name = "idle",
		.title = "Idle scaling: 8 busy sources among many idle connections",
		.nmetrics = ARRAY_SIZE(cmp_idle_metrics), .metrics = cmp_idle_metrics,
		.nvariants = cmp_idle_nvar, .variant = cmp_idle_variant,
		.estimate_s = cmp_idle_est, .run = cmp_idle_run,
	},
	[CMP_BUILD] = {
		.id = CMP_BUILD, .name = "build",
		.title = "Event building: 8 sources, 1 kHz triggers, 4 KiB fragments",
		.nmetrics = ARRAY_SIZE(cmp_build_metrics), .metrics = cmp_build_metrics,
		.nvariants = cmp_build_nvar, .variant = cmp_build_variant,
		.estimate_s = cmp_build_est, .run = cmp_build_run,
	},
	[CMP_SCALING] = {
		.id = CMP_SCALING, .name = "scaling",
		.title = "Scaling: N event loops, 64 sources as fast as they can",
		.nmetrics = CMP_SCALING_NMETRICS, .metrics = cmp_scaling_metrics,
		.nvariants = cmp_scaling_nvar, .variant = cmp_scaling_variant,
		.estimate_s = cmp_scaling_est, .run = cmp_scaling_run,
		.applies = cmp_scaling_applies,
	},
	[CMP_SCALING_CONNS] = {
		.id = CMP_SCALING_CONNS, .name = "scaling-conns",
		.title = "Scaling: many connections, 64 of them busy, over N loops",
		.nmetrics = CMP_CONNS_NMETRICS, .metrics = cmp_conns_metrics,
		.nvariants = cmp_conns_nvar, .variant = cmp_conns_variant,
		.estimate_s = cmp_conns_est, .run = cmp_conns_run,
		.applies = cmp_conns_applies,
	},
};
