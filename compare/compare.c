/*
 * compare.c - `daqmux compare`: every backend through the same scenarios,
 * measured the same way, written up in one report.
 *
 * This file is the driver: the options, the plan and its time budget
 * (computed and printed before the first run), the loop over scenarios x
 * repetitions x backends x variants with progress on stderr, the median
 * of the repetitions, and the description of the machine. The runs
 * themselves are in scenarios.c and proc.c, the output in report.c and
 * plot.c. docs/compare.md says what each scenario measures.
 *
 * Repetitions are interleaved (all backends once, then all again) so that
 * a slow minute of the machine does not land on one backend only.
 *
 * Try it: make && bin/daqmux compare --quick && less report/report.md
 */
#include "compare.h"
#include "compare_int.h"

#include <dirent.h>
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "util.h"

static struct cmp *cmp_current;   /* for the signal handler */

static void cmp_on_signal(int sig)
{
	(void)sig;
	if (cmp_current)
		cmp_current->interrupted = 1;
}

const char *cmp_state_name(enum cmp_state s)
{
	switch (s) {
	case CMP_OK: return "ok";
	case CMP_FAILED: return "failed";
	case CMP_UNSUPPORTED: return "unsupported";
	case CMP_SKIPPED: return "skipped";
	case CMP_NOTRUN: return "not run";
	}
	return "?";
}

void cmp_sfmt(char *buf, size_t len, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(buf, len, fmt, ap);
	va_end(ap);
}

void cmp_cat(char *buf, size_t len, const char *fmt, ...)
{
	size_t n = strlen(buf);
	va_list ap;
	if (n >= len - 1)
		return;
	va_start(ap, fmt);
	vsnprintf(buf + n, len - n, fmt, ap);
	va_end(ap);
}

double cmp_elapsed(const struct cmp *c)
{
	return (double)(now_ns() - c->t0) / 1e9;
}

/* ---- options and the plan ----------------------------------------------- */

static void cmp_usage(FILE *f)
{
	fprintf(f,
"usage: daqmux compare [options]\n"
"\n"
"Runs every available backend through the same six scenarios, the server\n"
"pinned to one CPU and the client to another, each run repeated, and writes\n"
"a report that opens with which backend to pick and why: report.md (medians\n"
"with min-max, ties where the ranges overlap), results.json, per scenario a\n"
"CSV of every repetition and one of the medians, and PNG plots (gnuplot).\n"
"docs/compare.md explains the scenarios.\n"
"\n"
"  blocked      4 sources at 1 kHz, source 0 silent for the first 2 s: which\n"
"               backends keep delivering the other three?\n"
"  latency      pull mode, 1 and 8 sources: REQUEST->DATA round-trip time,\n"
"               next to sockperf's TCP ping-pong on the same machine\n"
"  throughput   8 sources at --rate max, 64 B, 4 KiB, 64 KiB payloads: frames/s,\n"
"               MB/s, server CPU and system calls per frame\n"
"  idle         8 sources at 1 kHz plus 0, 100, 1000, 10000 idle connections:\n"
"               server CPU per frame, p99 latency, peak memory\n"
"  build        event building (--build): 8 sources, 1 kHz triggers, 4 KiB\n"
"               fragments - healthy, one source jittering by up to 5 ms, one\n"
"               stopping for 1 s: events/s, building latency, memory, partial\n"
"               events, time paused\n"
"  scaling      64 sources at --rate max, 64 B and 4 KiB, the server with\n"
"               --loops N = 1, 2, 4, ... up to half the CPUs (threads as the\n"
"               reference): frames/s, CPU per frame, per-loop balance\n"
"  scaling-conns  10,000 connections (--quick 2,000), 64 of them at 1 kHz,\n"
"               over N loops (epoll, uring) against threads: p99, peak memory\n"
"\n"
"      --backends a,b,c   only these backends (default: all available)\n"
"      --scenarios a,b,c  only these scenarios (default: all seven)\n"
"      --repeat N         repetitions of each run (default 2, --quick 1; 1 to %d)\n"
"      --seconds S        length of each latency, throughput, idle and scaling\n"
"                         run (default 0.6, --quick 0.4; decimal, 0.2 to 600,\n"
"                         e.g. 0.5 or 500ms)\n"
"  -q, --quick            a reduced run of about a minute: one repetition,\n"
"                         shorter runs, idle counts 0, 1000 and 10000\n"
"  -o, --out DIR          where the report goes (default report)\n"
"      --client-exec PREFIX  start every client as `PREFIX daqmux client ...`,\n"
"                         e.g. 'ssh daq2' or 'ip netns exec lab': its JSON\n"
"                         comes back on its stdout (--json -)\n"
"      --listen HOST      the server listens on HOST (default 127.0.0.1)\n"
"      --connect-host HOST  the clients connect to HOST (default: the --listen\n"
"                         host)\n"
"      --client-bin PATH  daqmux as PREFIX finds it (default: this binary)\n"
"  -h, --help             this text\n"
"\n"
"Progress and the time estimate go to stderr. A run that fails (server exit 2,\n"
"a crash, a timeout) is reported with its reason; the rest of the report still\n"
"comes out. Only 127.0.0.1 is used, unless --listen says otherwise.\n"
"Exit status: 0 the report was written; 1 it was written but some runs\n"
"failed; 2 bad usage or no report.\n"
"\n"
"examples:\n"
"  daqmux compare --quick\n"
"  daqmux compare --backends epoll,uring --scenarios throughput --repeat 5\n"
"  ip netns exec lab-a daqmux compare --listen 10.77.0.1 \\\n"
"      --client-exec 'ip netns exec lab-b' --scenarios throughput\n",
		CMP_MAX_REPEAT);
}

static void cmp_plan_default(struct cmp_plan *p, int quick)
{
	*p = (struct cmp_plan){
		/* Sized so that the whole plan - every backend, the io_uring
		 * ladder, seven scenarios - stays under 10 minutes on a 2-core
		 * machine: two repetitions give each figure its min-max, and
		 * runs of 0.6 s are ~10^5-10^7 frames at these rates. */
		.repeat = 2, .blocked_s = 3, .silent_s = 2, .latency_s = 0.6, .sockperf_s = 2,
		.throughput_s = 0.6, .idle_s = 0.6, .build_s = 2.5,
		.latency_sources = { 1, 8 }, .sizes = { 64, 4096, 65536 },
		.idle_counts = { 0, 100, 1000, 10000 }, .nidle = 4,
	};
	/* --quick: every scenario and every backend, shorter. The idle
	 * counts keep 10,000 (the target) and 1,000 (select's last). */
	if (quick) {
		p->repeat = 1;
		p->blocked_s = 1.6;
		p->silent_s = 0.8;
		p->latency_s = p->throughput_s = 0.4;
		p->idle_s = 0.6;   /* its steady window is 70 % of the run */
		p->build_s = 2;    /* still room for the 1 s stop */
		p->sockperf_s = 1;
		p->idle_counts[1] = 1000;
		p->idle_counts[2] = 10000;
		p->nidle = 3;
	}
}

/* "a,b,c": each word to each(); stops at the first it refuses. */
static int cmp_parse_list(const char *arg, int (*each)(void *, const char *), void *ctx)
{
	char buf[512];
	cmp_sfmt(buf, sizeof(buf), "%s", arg);
	for (char *save = NULL, *w = strtok_r(buf, ",", &save); w; w = strtok_r(NULL, ",", &save))
		if (each(ctx, w) < 0)
			return -1;
	return 0;
}

static int cmp_one_scen(void *ctx, const char *w)
{
	unsigned *mask = ctx;
	for (int i = 0; i < CMP_NSCENS; i++)
		if (strcmp(cmp_scens[i].name, w) == 0) {
			*mask |= 1u << i;
			return 0;
		}
	msg("--scenarios: unknown scenario '%s' (blocked, latency, throughput, idle, scaling, "
	    "scaling-conns)", w);
	return -1;
}

static int cmp_one_backend(void *ctx, const char *w)
{
	struct cmp *c = ctx;
	for (size_t i = 0; i < c->nbe; i++)
		if (strcmp(c->be[i].be->name, w) == 0) {
			c->be[i].selected = 1;
			return 0;
		}
	char names[256] = "";
	for (size_t i = 0; i < c->nbe; i++)
		cmp_sfmt(names + strlen(names), sizeof(names) - strlen(names), "%s%s",
			 i ? ", " : "", c->be[i].be->name);
	msg("--backends: unknown backend '%s' (this build has: %s)", w, names);
	return -1;
}

static int cmp_parse(struct cmp *c, int argc, char **argv)
{
	enum { O_BACKENDS = 256, O_SCENARIOS, O_REPEAT, O_SECONDS, O_CLIENT_EXEC, O_LISTEN,
	       O_CONNECT_HOST, O_CLIENT_BIN };
	static const struct option longs[] = {
		{ "backends", required_argument, NULL, O_BACKENDS },
		{ "scenarios", required_argument, NULL, O_SCENARIOS },
		{ "repeat", required_argument, NULL, O_REPEAT },
		{ "seconds", required_argument, NULL, O_SECONDS },
		{ "quick", no_argument, NULL, 'q' },
		{ "out", required_argument, NULL, 'o' },
		{ "client-exec", required_argument, NULL, O_CLIENT_EXEC },
		{ "listen", required_argument, NULL, O_LISTEN },
		{ "connect-host", required_argument, NULL, O_CONNECT_HOST },
		{ "client-bin", required_argument, NULL, O_CLIENT_BIN },
		{ "help", no_argument, NULL, 'h' },
		{ 0 }
	};
	struct cmp_opts *o = &c->o;
	uint64_t v;
	int ch;

	*o = (struct cmp_opts){ .out = "report" };
	optind = 0;     /* glibc: start afresh, whoever parsed before us */
	while ((ch = getopt_long(argc, argv, ":qo:h", longs, NULL)) != -1) {
		switch (ch) {
		case O_BACKENDS: o->backends = optarg; break;
		case O_SCENARIOS:
			if (cmp_parse_list(optarg, cmp_one_scen, &o->scen_mask) < 0)
				return OPTS_BAD;
			break;
		case O_REPEAT:
			if (parse_u64("--repeat", optarg, 1, CMP_MAX_REPEAT, &v) < 0)
				return OPTS_BAD;
			o->repeat = (unsigned)v;
			break;
		case O_SECONDS:
			if (parse_seconds("--seconds", optarg, 0.2, 600, &o->seconds) < 0)
				return OPTS_BAD;
			break;
		case 'q': o->quick = 1; break;
		case 'o': o->out = optarg; break;
		case O_CLIENT_EXEC: o->client_exec = optarg; break;
		case O_LISTEN: o->listen_host = optarg; break;
		case O_CONNECT_HOST: o->connect_host = optarg; break;
		case O_CLIENT_BIN: o->client_bin = optarg; break;
		case 'h': cmp_usage(stdout); return OPTS_HELP;
		default: return opts_getopt_error("compare", ch, argv, longs);
		}
	}
	if (opts_no_operands("compare", argc, argv) != OPTS_RUN)
		return OPTS_BAD;
	if (o->client_exec && !o->client_exec[strspn(o->client_exec, " \t")]) {
		msg("--client-exec: an empty command");
		return OPTS_BAD;
	}
	if (o->listen_host && strchr(o->listen_host, ':') && o->listen_host[0] != '[') {
		msg("--listen: write an IPv6 address in brackets, e.g. [::1]");
		return OPTS_BAD;
	}
	if (!o->scen_mask)
		o->scen_mask = (1u << CMP_NSCENS) - 1;
	cmp_plan_default(&c->p, o->quick);
	if (o->repeat)
		c->p.repeat = o->repeat;
	if (o->seconds > 0)
		c->p.latency_s = c->p.throughput_s = c->p.idle_s = o->seconds;
	/* sockperf measures -t minus ~0.45 s of warm-up: as long as ours. */
	if (c->p.sockperf_s < ceil(c->p.latency_s + 0.45))
		c->p.sockperf_s = ceil(c->p.latency_s + 0.45);
	return OPTS_RUN;
}

/* ---- the machine ---------------------------------------------------------- */

/* The 1, 5 and 15 minute load averages; NaN when unreadable. */
static void cmp_loadavg(double l[3])
{
	FILE *f = fopen("/proc/loadavg", "r");

	l[0] = l[1] = l[2] = NAN;
	if (f && fscanf(f, "%lf %lf %lf", &l[0], &l[1], &l[2]) != 3)
		l[0] = l[1] = l[2] = NAN;
	if (f)
		fclose(f);
}

static void cmp_governor(int cpu, char *buf, size_t len)
{
	char path[96];
	FILE *f;

	buf[0] = '\0';
	if (cpu < 0)
		return;
	cmp_sfmt(path, sizeof(path), "/sys/devices/system/cpu/cpu%d/cpufreq/scaling_governor", cpu);
	if ((f = fopen(path, "r")) != NULL) {
		if (fgets(buf, (int)len, f))
			buf[strcspn(buf, "\n")] = '\0';
		fclose(f);
	}
}

static void cmp_machine(struct cmp *c)
{
	struct cmp_machine *m = &c->mach;

	meta_kernel(m->kernel, sizeof(m->kernel));
	meta_cpu_model(m->cpu_model, sizeof(m->cpu_model));
	if (gethostname(m->hostname, sizeof(m->hostname)) < 0)
		m->hostname[0] = '\0';
	m->hostname[sizeof(m->hostname) - 1] = '\0';
	m->cores = sysconf(_SC_NPROCESSORS_ONLN);
	meta_utc(m->date, sizeof(m->date), m->start.realtime_ns);
	m->date[19] = '\0';   /* to the second */
	cmp_sfmt(m->date + 19, sizeof(m->date) - 19, "Z");
	cmp_loadavg(m->load_before);
	m->busy = m->cores > 0 && m->load_before[0] > 0.5 * (double)m->cores;
	cmp_governor(c->cpu_server, m->gov_server, sizeof(m->gov_server));
	cmp_governor(c->cpu_client, m->gov_client, sizeof(m->gov_client));
}

/* Server on one CPU, client on another, when we may use two. */
static void cmp_cpus(struct cmp *c)
{
	cpu_set_t set;
	c->cpu_server = c->cpu_client = -1;
	if (sched_getaffinity(0, sizeof(set), &set) < 0 || CPU_COUNT(&set) < 2)
		return;
	for (int i = 0; i < CPU_SETSIZE; i++) {
		if (!CPU_ISSET(i, &set))
			continue;
		if (c->cpu_server < 0)
			c->cpu_server = i;
		else {
			c->cpu_client = i;
			break;
		}
	}
}

/* The children inherit our descriptor limit: raise it as far as allowed. */
static void cmp_nofile(struct cmp *c)
{
	struct rlimit rl;
	if (getrlimit(RLIMIT_NOFILE, &rl) < 0)
		return;
	c->nofile_hard = rl.rlim_max == RLIM_INFINITY ? -1 : (long)rl.rlim_max;
	if (rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		if (setrlimit(RLIMIT_NOFILE, &rl) < 0)
			getrlimit(RLIMIT_NOFILE, &rl);
	}
	c->nofile = rl.rlim_cur == RLIM_INFINITY ? 1L << 30 : (long)rl.rlim_cur;
}

/* ---- the output directory ----------------------------------------------- */

static int cmp_mkdir(const char *path)
{
	if (mkdir(path, 0755) < 0 && errno != EEXIST) {
		msg("compare: cannot create %s: %s", path, strerror(errno));
		return -1;
	}
	return 0;
}

/* Files of an earlier run in raw/ and data/ would mix with this one's. */
static void cmp_clean_dir(const char *path)
{
	DIR *d = opendir(path);
	struct dirent *e;
	char f[CMP_PATH + 300];
	while (d && (e = readdir(d)) != NULL) {
		if (e->d_name[0] == '.')
			continue;
		cmp_sfmt(f, sizeof(f), "%s/%s", path, e->d_name);
		unlink(f);
	}
	if (d)
		closedir(d);
}

static int cmp_outdir(struct cmp *c)
{
	char p[CMP_PATH + 16];
	if (cmp_mkdir(c->o.out) < 0 || !realpath(c->o.out, c->out)) {
		msg("compare: cannot use --out %s: %s", c->o.out, strerror(errno));
		return -1;
	}
	cmp_sfmt(c->raw, sizeof(c->raw), "%s/raw", c->out);
	cmp_sfmt(p, sizeof(p), "%s/data", c->out);
	if (cmp_mkdir(c->raw) < 0 || cmp_mkdir(p) < 0)
		return -1;
	cmp_clean_dir(c->raw);
	cmp_clean_dir(p);
	return 0;
}

/* ---- cases ------------------------------------------------------------------ */

const struct cmp_case *cmp_find(const struct cmp *c, enum cmp_scen_id s, const char *backend,
				unsigned variant)
{
	for (size_t i = 0; i < c->ncases; i++) {
		const struct cmp_case *k = &c->cases[i];
		if (k->sc->id == s && k->variant == variant && strcmp(k->backend, backend) == 0)
			return k;
	}
	return NULL;
}

double cmp_med(const struct cmp *c, enum cmp_scen_id s, const char *backend, unsigned variant,
	       const char *metric)
{
	const struct cmp_case *k = cmp_find(c, s, backend, variant);
	if (!k || k->state != CMP_OK)
		return NAN;
	return k->med[cmp_metric_index(k->sc, metric)];
}

struct cmp_case *cmp_case_get(struct cmp *c, const struct cmp_scen *sc, const char *backend,
			      unsigned variant)
{
	struct cmp_case *k = (struct cmp_case *)cmp_find(c, sc->id, backend, variant);
	if (k)
		return k;
	if (c->ncases == c->capcases) {
		size_t cap = c->capcases ? 2 * c->capcases : 64;
		struct cmp_case *n = realloc(c->cases, cap * sizeof(*n));
		if (!n) {
			msg("compare: out of memory");
			exit(2);
		}
		c->cases = n;
		c->capcases = cap;
	}
	k = &c->cases[c->ncases++];
	memset(k, 0, sizeof(*k));
	k->sc = sc;
	k->backend = backend;
	k->variant = variant;
	k->state = CMP_NOTRUN;
	if (strcmp(backend, "sockperf") == 0) {
		cmp_sfmt(k->vlabel, sizeof(k->vlabel), "1 connection");
		k->x = 1;
	} else {
		sc->variant(c, variant, k->vlabel, sizeof(k->vlabel), &k->x);
	}
	for (unsigned r = 0; r < CMP_MAX_REPEAT; r++) {
		k->rep[r].state = CMP_NOTRUN;
		for (unsigned m = 0; m < CMP_MAX_METRICS; m++)
			k->rep[r].m[m] = NAN;
	}
	return k;
}

static int cmp_dbl(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

void cmp_case_summarise(struct cmp_case *k)
{
	double v[CMP_MAX_REPEAT];
	int unsupported = -1, skipped = -1, failed = -1, noted = -1;

	k->nok = 0;
	for (unsigned r = 0; r < k->nrep; r++) {
		const struct cmp_rep *p = &k->rep[r];
		if (p->state == CMP_OK) {
			k->nok++;
			if (noted < 0 && p->why[0])
				noted = (int)r;
		} else if (p->state == CMP_UNSUPPORTED && unsupported < 0) {
			unsupported = (int)r;
		} else if (p->state == CMP_SKIPPED && skipped < 0) {
			skipped = (int)r;
		} else if (p->state == CMP_FAILED && failed < 0) {
			failed = (int)r;
		}
	}
	k->why[0] = '\0';
	if (k->nok) {
		k->state = CMP_OK;
		int w = failed >= 0 ? failed : noted;   /* a failed repetition is worth saying */
		if (w >= 0)
			cmp_sfmt(k->why, sizeof(k->why), "%s%s", k->rep[w].state == CMP_FAILED ?
				 "a repetition failed: " : "", k->rep[w].why);
	} else {
		int w = unsupported >= 0 ? unsupported : skipped >= 0 ? skipped : failed;
		k->state = w >= 0 ? k->rep[w].state : CMP_NOTRUN;
		if (w >= 0)
			cmp_sfmt(k->why, sizeof(k->why), "%s", k->rep[w].why);
	}
	int sat = cmp_metric_find(k->sc, "server_cpu_pct"), lim = cmp_metric_find(k->sc, "client_limited");
	k->saturated = k->client_limited = 0;
	for (unsigned r = 0; r < k->nrep; r++) {
		const struct cmp_rep *p = &k->rep[r];
		if (p->state != CMP_OK)
			continue;
		k->saturated += sat >= 0 && p->m[sat] >= CMP_SATURATED_PCT;
		k->client_limited += lim >= 0 && p->m[lim] > 0;
	}
	for (unsigned m = 0; m < k->sc->nmetrics; m++) {
		unsigned n = 0;
		for (unsigned r = 0; r < k->nrep; r++)
			if (k->rep[r].state == CMP_OK && !isnan(k->rep[r].m[m]))
				v[n++] = k->rep[r].m[m];
		if (!n) {
			k->med[m] = k->lo[m] = k->hi[m] = NAN;
			continue;
		}
		qsort(v, n, sizeof(double), cmp_dbl);
		k->med[m] = n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
		k->lo[m] = v[0];
		k->hi[m] = v[n - 1];
	}
	int seen = cmp_metric_find(k->sc, "idle_seen");
	k->not_accepted = k->state == CMP_OK && seen >= 0 && k->lo[seen] < k->x;
}

/* ---- progress --------------------------------------------------------------- */

static void cmp_clock(char *buf, size_t len, double s)
{
	if (s < 0)
		s = 0;
	cmp_sfmt(buf, len, "%d:%02d", (int)(s / 60), (int)fmod(s, 60));
}

void cmp_progress(struct cmp *c, const char *scen, const char *backend, const char *variant,
		  unsigned rep, double est_s)
{
	char el[16], left[16];
	double elapsed = cmp_elapsed(c);
	/* What is left, scaled by how the estimates have held up so far. */
	double scale = c->est_done_s > 5 ? elapsed / c->est_done_s : 1;
	cmp_clock(el, sizeof(el), elapsed);
	cmp_clock(left, sizeof(left), (c->est_total_s - c->est_done_s) * scale);
	c->run_k++;
	fprintf(stderr, "compare: [%3u/%u %s, ~%s left] %-10s %-9s %-10s rep %u/%u\n", c->run_k,
		c->run_n, el, left, scen, backend, variant, rep + 1, c->p.repeat);
	c->est_done_s += est_s;
}

/* ---- the driver ------------------------------------------------------------- */

static int cmp_backend_on(const struct cmp *c, size_t i, int scen)
{
	return c->be[i].available && c->be[i].selected &&
	       (!c->be[i].scens || (c->be[i].scens & (1u << scen)));
}

/* The ladder's rows: the uring backend under another name, one feature
 * more per step (docs/backend-uring.md). */
static const struct cmp_ladder {
	const char *name, *features;
} cmp_ladder[] = {
	{ "uring+defer", "defer" },
	{ "uring+regring", "defer,regring" },
	{ "uring+fixed", "defer,regring,fixed" },
	{ "uring+bundle", "defer,regring,fixed,bundle" },
	{ "uring+inc", "defer,regring,fixed,bundle,inc" },
};
#define CMP_NLADDER (sizeof(cmp_ladder) / sizeof(cmp_ladder[0]))

const char *cmp_ladder_features(const char *name)
{
	for (size_t i = 0; i < CMP_NLADDER; i++)
		if (strcmp(cmp_ladder[i].name, name) == 0)
			return cmp_ladder[i].features;
	return NULL;
}

static void cmp_add_ladder(struct cmp *c, const struct backend *uring)
{
	static struct backend rows[CMP_NLADDER];

	for (size_t i = 0; i < CMP_NLADDER && c->nbe < CMP_MAX_BACKENDS; i++) {
		struct cmp_backend *b = &c->be[c->nbe++];
		rows[i] = *uring;
		rows[i].name = cmp_ladder[i].name;
		b->be = &rows[i];
		b->available = !uring->probe || uring->probe(b->why, sizeof(b->why)) == 0;
		b->scens = 1u << CMP_THROUGHPUT | 1u << CMP_IDLE;
	}
}

static void cmp_estimate(struct cmp *c)
{
	c->run_n = 0;
	c->est_total_s = 0;
	for (int s = 0; s < CMP_NSCENS; s++) {
		const struct cmp_scen *sc = &cmp_scens[s];
		if (!(c->o.scen_mask & (1u << s)))
			continue;
		for (unsigned r = 0; r < c->p.repeat; r++) {
			if (s == CMP_LATENCY && c->have_sockperf) {
				c->run_n++;
				c->est_total_s += c->p.sockperf_s + CMP_SOCKPERF_EXTRA_S;
			}
			for (size_t b = 0; b < c->nbe; b++) {
				if (!cmp_backend_on(c, b, s))
					continue;
				for (unsigned v = 0; v < sc->nvariants(c); v++) {
					if (sc->applies && !sc->applies(c, c->be[b].be, v))
						continue;
					c->run_n++;
					c->est_total_s += sc->estimate_s(c, v);
				}
			}
		}
	}
	c->est_total_s += 3;   /* plots and the report */
}

static void cmp_report_run(const struct cmp_case *k, unsigned rep)
{
	const struct cmp_rep *r = &k->rep[rep];
	if (r->state != CMP_OK)
		fprintf(stderr, "compare:     %s: %s\n", cmp_state_name(r->state), r->why);
}

static void cmp_run_all(struct cmp *c)
{
	for (int s = 0; s < CMP_NSCENS && !c->interrupted; s++) {
		const struct cmp_scen *sc = &cmp_scens[s];
		if (!(c->o.scen_mask & (1u << s)))
			continue;
		for (unsigned r = 0; r < c->p.repeat && !c->interrupted; r++) {
			if (s == CMP_LATENCY && c->have_sockperf) {
				struct cmp_case *k = cmp_case_get(c, sc, "sockperf", 0);
				cmp_progress(c, sc->name, "sockperf", "reference", r,
					     c->p.sockperf_s + CMP_SOCKPERF_EXTRA_S);
				cmp_sockperf_run(c, k, r);
				k->nrep = r + 1;
				cmp_report_run(k, r);
			}
			for (size_t b = 0; b < c->nbe && !c->interrupted; b++) {
				if (!cmp_backend_on(c, b, s))
					continue;
				for (unsigned v = 0; v < sc->nvariants(c) && !c->interrupted; v++) {
					if (sc->applies && !sc->applies(c, c->be[b].be, v))
						continue;
					struct cmp_case *k = cmp_case_get(c, sc, c->be[b].be->name, v);
					cmp_progress(c, sc->name, k->backend, k->vlabel, r, sc->estimate_s(c, v));
					sc->run(c, k, r);
					k->nrep = r + 1;
					if (c->interrupted && k->rep[r].state == CMP_FAILED)
						k->rep[r].state = CMP_SKIPPED;   /* cut short, not failed */
					cmp_report_run(k, r);
				}
			}
		}
	}
	for (size_t i = 0; i < c->ncases; i++)
		cmp_case_summarise(&c->cases[i]);
}

static void cmp_free(struct cmp *c)
{
	for (size_t i = 0; i < c->ncases; i++) {
		struct cmp_case *k = &c->cases[i];
		free(k->bucket_lo);
		free(k->bucket_n);
		free(k->cdf.x);
		free(k->cdf.y);
	}
	free(c->cases);
}

int compare_main(int argc, char **argv)
{
	static struct cmp cmp;   /* large; one per process */
	struct cmp *c = &cmp;
	char plots[512] = "";
	int rc = 0;

	memset(c, 0, sizeof(*c));
	c->t0 = now_ns();
	meta_start_now(&c->mach.start);
	for (size_t i = 0; i < backend_count && i < CMP_MAX_BACKENDS; i++) {
		struct cmp_backend *b = &c->be[c->nbe++];
		b->be = backends[i];
		b->available = !b->be->probe || b->be->probe(b->why, sizeof(b->why)) == 0;
	}
	if (backend_find("uring"))
		cmp_add_ladder(c, backend_find("uring"));
	int r = cmp_parse(c, argc, argv);
	if (r != OPTS_RUN)
		return opts_exit_status(r);
	/* --quick keeps to the raw strategies: the library backends and the
	 * ladder's rows run when asked for by name (--backends libuv,...). */
	if (c->o.quick && !c->o.backends)
		for (unsigned i = 0; i < c->nbe; i++)
			if (c->be[i].scens || backend_has(c->be[i].be, BE_LIBRARY))
				c->be[i].scens = 1u << CMP_NSCENS;   /* no scenario */
	if (c->o.backends) {
		if (cmp_parse_list(c->o.backends, cmp_one_backend, c) < 0)
			return 2;
	} else {
		for (size_t i = 0; i < c->nbe; i++)
			c->be[i].selected = 1;
	}
	ssize_t n = readlink("/proc/self/exe", c->exe, sizeof(c->exe) - 1);
	if (n <= 0) {
		msg("compare: cannot find my own binary (/proc/self/exe): %s", strerror(errno));
		return 2;
	}
	c->exe[n] = '\0';
	if (cmp_outdir(c) < 0)
		return 2;

	cmp_current = c;
	struct sigaction sa = { .sa_handler = cmp_on_signal };
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);

	cmp_cpus(c);
	cmp_scaling_plan(c);
	cmp_nofile(c);
	cmp_machine(c);
	cmp_plot_probe(c);
	if (c->o.scen_mask & (1u << CMP_LATENCY))
		cmp_sockperf_probe(c);
	else
		cmp_sfmt(c->sockperf_why, sizeof(c->sockperf_why), "the latency scenario was not run");

	size_t nsel = 0;
	for (size_t i = 0; i < c->nbe; i++) {
		if (!c->be[i].selected)
			continue;
		if (c->be[i].available)
			nsel++;
		else
			fprintf(stderr, "compare: %s is unavailable here: %s\n", c->be[i].be->name,
				c->be[i].why);
	}
	cmp_estimate(c);
	fprintf(stderr, "compare: %zu backend%s, %u repetition%s, %u runs; estimated %.0f s "
		"(%d:%02d)%s\n", nsel, nsel == 1 ? "" : "s", c->p.repeat, c->p.repeat == 1 ? "" : "s",
		c->run_n, c->est_total_s, (int)(c->est_total_s / 60), (int)fmod(c->est_total_s, 60),
		c->o.quick ? " (--quick)" : "");
	if (c->cpu_server >= 0)
		fprintf(stderr, "compare: server pinned to CPU %d, client to CPU %d\n", c->cpu_server,
			c->cpu_client);
	else
		fprintf(stderr, "compare: only one CPU: server and client are NOT pinned and share it\n");
	if ((c->o.scen_mask & (1u << CMP_IDLE)) &&
	    c->nofile < (long)c->p.idle_counts[c->p.nidle - 1] + 72)
		fprintf(stderr, "compare: RLIMIT_NOFILE is only %ld: the largest idle counts will be "
			"skipped (raise the hard limit: ulimit -Hn)\n", c->nofile);
	if (!c->have_sockperf && (c->o.scen_mask & (1u << CMP_LATENCY)))
		fprintf(stderr, "compare: no sockperf reference: %s\n", c->sockperf_why);
	if (!c->have_gnuplot)
		fprintf(stderr, "compare: no plots: %s\n", c->gp_why);

	if (nsel == 0)
		fprintf(stderr, "compare: no selected backend can run here; the report says why\n");
	else
		cmp_run_all(c);
	if (c->interrupted)
		fprintf(stderr, "compare: interrupted; writing the report of what ran\n");

	cmp_loadavg(c->mach.load_after);
	if (c->mach.busy)
		fprintf(stderr, "compare: WARNING: the machine was busy before the run (load %.2f on "
			"%ld CPUs): the figures may be off; the report says so\n", c->mach.load_before[0],
			c->mach.cores);
	unsigned nfailed = 0;
	for (size_t i = 0; i < c->ncases; i++)
		nfailed += c->cases[i].state == CMP_FAILED;
	if (nsel == 0)
		cmp_sfmt(c->error, sizeof(c->error), "no selected backend can run here");
	else if (c->interrupted)
		cmp_sfmt(c->error, sizeof(c->error), "interrupted: only part of the plan ran");
	else if (nfailed)
		cmp_sfmt(c->error, sizeof(c->error), "%u case%s failed: report.md lists the runs that "
			 "did not measure", nfailed, nfailed == 1 ? "" : "s");
	cmp_plot_all(c, plots, sizeof(plots));
	c->wall_s = cmp_elapsed(c);
	if (cmp_write_report(c) < 0)
		rc = 2;
	for (size_t i = 0; i < c->ncases && rc == 0; i++)
		if (c->cases[i].state == CMP_FAILED)
			rc = 1;
	if (rc != 2)
		fprintf(stderr, "compare: done in %.0f s (estimated %.0f s): %s/report.md%s%s\n",
			c->wall_s, c->est_total_s, c->o.out, plots[0] ? ", " : "", plots);
	cmp_free(c);
	cmp_current = NULL;
	return c->interrupted && rc == 0 ? 1 : rc;
}
