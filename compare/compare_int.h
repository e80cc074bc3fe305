/*
 * compare_int.h - what the files of `daqmux compare` share (not part of
 * its interface, which is compare.h).
 *
 *   compare.c     options, the plan and its time budget, the driver loop,
 *                 progress, the machine description
 *   pair.c        one server+client run (over harness/proc.c): its
 *                 command lines, its supervision, its outcome
 *   scenarios.c   the four scenarios: their command lines and what is
 *                 computed from the server's JSON, its trace and the client's
 *   scaling.c     the scaling scenarios: N event loops per server (and
 *                 10,000 connections), the CPUs each side gets
 *   sockperf.c    the reference RTT: sockperf TCP ping-pong on 127.0.0.1
 *   report.c      report.md: tables and the readings under them
 *   results.c     results.json and one CSV per scenario
 *   targets.c     the performance targets, PASS / MISS with the numbers
 *   plot.c        the PNG plots, drawn by gnuplot
 *
 * The data model is deliberately plain: a scenario has variants (1 or 8
 * sources, a payload size, an idle count); a *case* is one backend x one
 * variant; each case holds every repetition's metrics and, once the runs
 * are done, their median, minimum and maximum.
 */
#ifndef DAQMUX_COMPARE_INT_H
#define DAQMUX_COMPARE_INT_H

#include <limits.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>

#include "backends.h"
#include "json.h"
#include "jsonread.h"
#include "meta.h"
#include "proc.h"

#define CMP_MAX_REPEAT   20
#define CMP_MAX_METRICS  24
#define CMP_MAX_BACKENDS 16
#define CMP_MAX_VARIANTS 8
#define CMP_WHY          480
#define CMP_PATH         PATH_MAX
/* results.json's schema ("daqmux-compare"): 2 added the metadata block,
 * saturation, client limits and the reproducibility record. */
#define CMP_SCHEMA_VERSION 2

/* ---- the plan: what runs, how long ------------------------------------- */

enum cmp_scen_id { CMP_BLOCKED, CMP_LATENCY, CMP_THROUGHPUT, CMP_IDLE, CMP_BUILD, CMP_SCALING,
		   CMP_SCALING_CONNS, CMP_NSCENS };

#define CMP_MAX_LOOPS 8                 /* the scaling scenario's N = 1, 2, 4, ... */

struct cmp_plan {
	unsigned repeat;
	double blocked_s, silent_s;     /* the blocked run and source 0's silence */
	double latency_s;               /* each pull-mode run */
	double sockperf_s;              /* sockperf -t (it spends ~0.45 s warming up) */
	double throughput_s;            /* each --rate max run */
	double idle_s;                  /* each idle-scaling run */
	double build_s;                 /* each event-building run */
	unsigned latency_sources[2];
	unsigned sizes[3];              /* throughput payloads */
	unsigned idle_counts[4];
	unsigned nidle;
	/* scaling (scaling.c: cmp_scaling_plan) */
	double scaling_s;               /* each run */
	unsigned loops[CMP_MAX_LOOPS];  /* N = 1, 2, 4, ... */
	unsigned nloops;
	unsigned scaling_sizes[2];
	unsigned nscaling_sizes;
	unsigned conns, conns_busy;     /* 10,000 connections, 64 of them at 1 kHz */
	unsigned conn_loops[2];         /* the N of the connections runs */
	unsigned nconn_loops;
	const char *conn_backends;      /* "epoll,uring,threads" */
	int server_cpus[CMP_MAX_LOOPS]; /* the first half of our CPUs ... */
	unsigned nserver_cpus;
	int client_cpus[64];            /* ... and the rest */
	unsigned nclient_cpus;
	unsigned client_loops;          /* the client's --loops: one per client CPU */
};

struct cmp_opts {
	const char *out;                /* report directory */
	const char *backends;           /* "a,b,c" or NULL for all */
	unsigned scen_mask;             /* 1 << enum cmp_scen_id */
	unsigned repeat;                /* 0 = the plan's default */
	double seconds;                 /* 0 = the plan's default per-run time */
	int quick;
	/* Where the clients run (--client-exec, --listen, --connect-host,
	 * --client-bin): NULL = here, on 127.0.0.1. */
	const char *client_exec;        /* "ssh daq2", "ip netns exec lab" */
	const char *listen_host;        /* the server's --listen host (port 0) */
	const char *connect_host;       /* the clients' --connect host */
	const char *client_bin;         /* daqmux as the prefix finds it */
};

/* ---- results ------------------------------------------------------------ */

enum cmp_state { CMP_OK, CMP_FAILED, CMP_UNSUPPORTED, CMP_SKIPPED, CMP_NOTRUN };
const char *cmp_state_name(enum cmp_state s);

enum cmp_unit {
	CMP_U_COUNT,    /* frames, connections: an integer */
	CMP_U_NS,       /* a latency in ns, shown as ns/us/ms/s */
	CMP_U_NSF,      /* CPU ns per frame */
	CMP_U_RATE,     /* per second, shown with k/M */
	CMP_U_MBS,      /* 10^6 bytes per second */
	CMP_U_RATIO,    /* system calls per frame */
	CMP_U_MIB,      /* memory */
	CMP_U_MS,       /* a duration in ms */
	CMP_U_PCT,      /* a percentage */
};

/* What a figure can be besides a measurement (struct cmp_metric.flags). */
#define CMP_MF_RATE 1   /* a rate the client may have limited: a lower bound then */
#define CMP_MF_CPU  2   /* a CPU cost: a ceiling ("at least") when the server was saturated */

/* A server at or above this share of one core over the measured window
 * was saturated: its rate is what it could do, its CPU per frame a ceiling. */
#define CMP_SATURATED_PCT 90.0

struct cmp_metric {
	const char *key;                /* JSON/CSV name, e.g. "p99_ns" */
	const char *label;              /* table header, e.g. "p99" */
	enum cmp_unit unit;
	unsigned flags;                 /* CMP_MF_* */
};

struct cmp_rep {
	enum cmp_state state;           /* CMP_NOTRUN until it ran */
	char why[CMP_WHY];              /* failed/unsupported: the reason; ok: a note or "" */
	double m[CMP_MAX_METRICS];      /* NaN = not measured */
	double wall_s;
};

/* A latency distribution for the CDF plots: merged histogram buckets, or
 * (where only percentiles are known) points of the CDF. */
struct cmp_cdf {
	double *x, *y;                  /* value (ns) and fraction <= value */
	size_t n, cap;
	int from_percentiles;
};

struct cmp_scen;

struct cmp_case {
	const struct cmp_scen *sc;
	const char *backend;            /* a backend name, or "sockperf" */
	unsigned variant;               /* index into the scenario's variants */
	char vlabel[40];                /* "1 source", "64 B", "1000 idle" */
	double x;                       /* the variant as a number */
	unsigned nrep;
	struct cmp_rep rep[CMP_MAX_REPEAT];

	/* cmp_case_summarise() */
	enum cmp_state state;           /* OK if any repetition was */
	char why[CMP_WHY];              /* the first reason, when not OK */
	unsigned nok;
	double med[CMP_MAX_METRICS], lo[CMP_MAX_METRICS], hi[CMP_MAX_METRICS];
	unsigned saturated;             /* OK repetitions with the server >= CMP_SATURATED_PCT */
	unsigned client_limited;        /* OK repetitions where the client set the pace */
	int not_accepted;               /* idle: the server took fewer connections than offered */

	/* for the plots */
	char plotdata[CMP_PATH];        /* blocked: the timeline data file */
	double *bucket_lo;              /* latency: merged buckets ... */
	double *bucket_n;
	size_t nbuckets;
	struct cmp_cdf cdf;
};

/* ---- a scenario --------------------------------------------------------- */

struct cmp;

struct cmp_scen {
	enum cmp_scen_id id;
	const char *name;               /* --scenarios word and file names */
	const char *title;
	unsigned nmetrics;
	const struct cmp_metric *metrics;
	unsigned (*nvariants)(const struct cmp *c);
	void (*variant)(const struct cmp *c, unsigned v, char *label, size_t len, double *x);
	double (*estimate_s)(const struct cmp *c, unsigned v);  /* wall time of one run */
	void (*run)(struct cmp *c, struct cmp_case *k, unsigned rep);
	/* Whether backend be runs variant v (NULL: every one does); a
	 * combination that does not run has no case at all. */
	int (*applies)(const struct cmp *c, const struct backend *be, unsigned v);
};

extern const struct cmp_scen cmp_scens[CMP_NSCENS];
int cmp_metric_index(const struct cmp_scen *sc, const char *key);   /* aborts if unknown */
int cmp_metric_find(const struct cmp_scen *sc, const char *key);    /* -1 if unknown */

/* snprintf for messages and paths, where cutting a too-long string short
 * is the right outcome (a path that long fails at open() anyway); and the
 * same appending to what buf holds (compare.c). */
void cmp_sfmt(char *buf, size_t len, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
void cmp_cat(char *buf, size_t len, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* ---- the whole comparison ----------------------------------------------- */

struct cmp_backend {
	const struct backend *be;
	int available;
	int selected;
	char why[256];                  /* probe's reason when unavailable */
	unsigned scens;                 /* 1 << enum cmp_scen_id it runs in; 0 = all */
};

/* The uring ladder: rows "uring+defer" ... "uring+inc", each one step of
 * --uring-features more than the one before, in the throughput and idle
 * scenarios. The server's --uring-features for a row's name, or NULL when
 * the name is a plain backend's. */
const char *cmp_ladder_features(const char *name);

struct cmp_machine {
	char kernel[256];               /* uname -srvm */
	char cpu_model[128];
	long cores;                     /* online */
	char date[40];                  /* ISO 8601 UTC */
	char hostname[64];
	struct meta_start start;        /* both clocks at the start */
	/* the reproducibility record */
	double load_before[3], load_after[3];   /* /proc/loadavg; NaN unknown */
	char gov_server[32], gov_client[32];    /* cpufreq governor, "" unreadable */
	int busy;                       /* load before > 0.5 per CPU */
};

struct cmp {
	struct cmp_opts o;
	struct cmp_plan p;
	struct cmp_machine mach;
	char exe[CMP_PATH];             /* ourselves: runs `server` and `client` */
	char out[CMP_PATH];             /* absolute report directory */
	char raw[CMP_PATH];             /* out/raw: every run's JSON and logs */
	int cpu_server, cpu_client;     /* -1: not pinned (one CPU) */
	long nofile;                    /* RLIMIT_NOFILE the children inherit */
	long nofile_hard;

	struct cmp_backend be[CMP_MAX_BACKENDS];
	size_t nbe;

	struct cmp_case *cases;
	size_t ncases, capcases;

	int have_gnuplot;
	char gp_term[16];               /* "pngcairo" or "png" */
	char gp_why[160];
	int have_sockperf;
	char sockperf_why[200];

	uint64_t t0;                    /* CLOCK_MONOTONIC at the start */
	char error[300];                /* results.json's "error": why the comparison failed */
	unsigned run_k, run_n;          /* progress */
	double est_total_s, est_done_s;
	double wall_s;
	volatile int interrupted;
};

/* compare.c */
struct cmp_case *cmp_case_get(struct cmp *c, const struct cmp_scen *sc,
			      const char *backend, unsigned variant);
void cmp_case_summarise(struct cmp_case *k);
void cmp_progress(struct cmp *c, const char *scen, const char *backend,
		  const char *variant, unsigned rep, double est_s);
double cmp_elapsed(const struct cmp *c);

/* ---- processes (pair.c, over harness/proc.c) ---------------------------- */


struct cmp_argv {
	char *v[64];
	int n;
};
void cmp_argv_add(struct cmp_argv *a, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void cmp_argv_free(struct cmp_argv *a);

#define CMP_KILL_GRACE_MS 2000    /* SIGTERM -> SIGKILL */

/* Options for proc_spawn: stdout to out_fd (or the log), stderr to
 * log_path; pinned to cpu when >= 0; killed when compare dies. */
void cmp_proc_opts(struct proc_opts *o, int cpu, int out_fd, const char *log_path);

/* Run a helper command to completion (bounded by timeout_s), its stdout
 * and stderr into out_path. Returns its exit status, or -1 (why). */
int cmp_exec(char *const argv[], const char *out_path, const char *cwd, double timeout_s,
	     char *why, size_t len);

/* The first line of a log containing needle (the last line when needle
 * is NULL), without the "daqmux: " prefix; 0, or -1 when none. */
int cmp_log_line(const char *path, const char *needle, char *buf, size_t len);

/* A CPU-time sample of the server: t is ns since "listening on". */
struct cmp_cpu_sample { uint64_t t, cpu; };

/* Busy time (user + nice + system + softirq) from /proc/stat, in ns: of
 * the server's CPU and of the whole machine. On loopback the sender's
 * CPU runs much of the receiver's TCP in softirq, which the server's own
 * getrusage does not see. */
struct cmp_stat { uint64_t core_ns, all_ns; int ok; };
void cmp_stat_read(const struct cmp *c, struct cmp_stat *s);

/* One measured run: a server with one backend, then a client against it. */
struct cmp_pair {
	/* in */
	const char *tag;                /* file prefix in raw/, e.g. "idle-epoll-1000-r2" */
	const char *backend;
	struct cmp_argv sargs, cargs;   /* options after `server` / `client` */
	double client_s;                /* how long the client should run */
	double setup_s;                 /* allowance for connecting */
	int trace;                      /* server --trace */
	int sample_cpu;                 /* sample the server's CPU clock */
	int own_cpus;                   /* the scenario pins: the server to
					   server_cpus (and its loops in sargs),
					   the client to client_cpus */
	const int *server_cpus, *client_cpus;
	unsigned nserver_cpus, nclient_cpus;

	/* out */
	enum cmp_state state;           /* OK, or FAILED with why */
	char why[CMP_WHY];
	char note[CMP_WHY];             /* OK with a remark (exit 1, ...) */
	int server_exit, client_exit;   /* exit codes; -1 = not a normal exit */
	struct json *sj, *cj;           /* server and client JSON (NULL if absent) */
	char sjson[CMP_PATH], cjson[CMP_PATH], trace_path[CMP_PATH];
	char slog[CMP_PATH], clog[CMP_PATH];
	struct cmp_cpu_sample *cpu;
	size_t ncpu, capcpu;
	struct cmp_stat st0, st1;       /* /proc/stat before and after */
	double wall_s;
};

void cmp_pair_init(struct cmp_pair *p, const char *tag, const char *backend);
int  cmp_pair_run(struct cmp *c, struct cmp_pair *p);   /* 0 ok, -1 failed (p->why) */
void cmp_pair_free(struct cmp_pair *p);                 /* also removes the trace */

/* ---- scaling.c ------------------------------------------------------------ */

/* The N, the payloads and the CPU halves for this machine and plan. */
void cmp_scaling_plan(struct cmp *c);
/* Its members of results.json's "plan", and where the clients ran. */
void cmp_scaling_plan_json(struct jw *w, const struct cmp *c);
unsigned cmp_scaling_nvar(const struct cmp *c);
void cmp_scaling_variant(const struct cmp *c, unsigned v, char *l, size_t len, double *x);
double cmp_scaling_est(const struct cmp *c, unsigned v);
void cmp_scaling_run(struct cmp *c, struct cmp_case *k, unsigned rep);
int cmp_scaling_applies(const struct cmp *c, const struct backend *be, unsigned v);
unsigned cmp_conns_nvar(const struct cmp *c);
void cmp_conns_variant(const struct cmp *c, unsigned v, char *l, size_t len, double *x);
double cmp_conns_est(const struct cmp *c, unsigned v);
void cmp_conns_run(struct cmp *c, struct cmp_case *k, unsigned rep);
int cmp_conns_applies(const struct cmp *c, const struct backend *be, unsigned v);
#define CMP_SCALING_NMETRICS 11
extern const struct cmp_metric cmp_scaling_metrics[CMP_SCALING_NMETRICS];
#define CMP_CONNS_NMETRICS 9
extern const struct cmp_metric cmp_conns_metrics[CMP_CONNS_NMETRICS];
void cmp_intro_scaling(FILE *f, const struct cmp *c);
void cmp_read_scaling(FILE *f, const struct cmp *c);
void cmp_intro_conns(FILE *f, const struct cmp *c);
void cmp_read_conns(FILE *f, const struct cmp *c);

/* ---- the reference (sockperf.c) ----------------------------------------- */

/* sockperf ping-pong spends ~2 s connecting and warming up beyond -t. */
#define CMP_SOCKPERF_EXTRA_S 2.4
void cmp_sockperf_probe(struct cmp *c);
void cmp_sockperf_run(struct cmp *c, struct cmp_case *k, unsigned rep);

/* ---- output (report.c, plot.c) ------------------------------------------ */

void cmp_fmt(char *buf, size_t len, enum cmp_unit u, double v);
void cmp_fmt_cell(char *buf, size_t len, const struct cmp_case *k, int metric);

/* The targets the report states, computed once for report.md and JSON. */
enum cmp_verdict { CMP_PASS, CMP_MISS, CMP_NA };
struct cmp_target {
	char name[80];
	enum cmp_verdict verdict;
	char detail[600];
};
size_t cmp_targets(const struct cmp *c, struct cmp_target *t, size_t max);   /* targets.c */
const char *cmp_verdict_name(enum cmp_verdict v);

/* How report.c and plot.c show one scenario: data, one entry per
 * scenario in cmp_views (report.c). */
enum cmp_table_shape {
	CMP_T_ROWS,     /* a row per variant x backend, a column per metric */
	CMP_T_MATRIX,   /* a row per backend, a column per variant, of one metric */
};

struct cmp_table {
	enum cmp_table_shape shape;
	const char *title;              /* a bold line above it, or NULL */
	const char *variant;            /* ROWS: the variant column's header, NULL none */
	int reference;                  /* ROWS: the sockperf row first */
	const char *cols[10];           /* ROWS: metric keys, NULL-terminated */
	const char *metric;             /* MATRIX */
};

enum cmp_plot_kind {
	CMP_P_NONE,
	CMP_P_TIMELINE, /* blocked: every frame, a panel per backend */
	CMP_P_CDF,      /* latency: the distribution per backend, per variant */
	CMP_P_VARIANTS, /* a panel per metric: medians with min-max against the variant */
	CMP_P_SCALING,  /* frames/s against loops, a panel per payload */
};

struct cmp_panel {
	const char *metric;
	const char *title, *ylabel;
	double scale;                   /* the metric's unit -> ylabel's */
	const char *tics;               /* gnuplot ytics, or NULL */
	int logy;
};

struct cmp_view {
	void (*intro)(FILE *f, const struct cmp *c);
	struct cmp_table tables[6];     /* a zero shape+cols ends the list */
	void (*reading)(FILE *f, const struct cmp *c);
	const char *png, *alt;          /* the plot, and its alt text */
	enum cmp_plot_kind plot;
	int join;                       /* CMP_P_VARIANTS: lines between the variants */
	const char *plot_title, *xlabel;
	struct cmp_panel panels[3];     /* CMP_P_VARIANTS */
};

extern const struct cmp_view cmp_views[CMP_NSCENS];

/* ---- deciding (decide.c) ------------------------------------------------ */

enum cmp_better { CMP_LOWER, CMP_HIGHER };

/* The backends ranked on one metric of one scenario variant. A backend
 * wins only where its min-max range over the repetitions is clear of
 * every other's and each has two or more repetitions; otherwise the
 * leaders are a tie. Client-limited rates, saturated CPU costs and idle
 * cases that did not take every connection take no part: they are
 * listed as such. */
struct cmp_decision {
	int metric;                     /* index, -1 when the scenario did not run */
	const struct cmp_case *rank[CMP_MAX_BACKENDS];   /* candidates, best first */
	size_t nrank;
	size_t ntie;                    /* rank[0 .. ntie-1] tie for first */
	int decided;                    /* one winner, clear of the rest */
	const char *why;                /* when not decided: why not */
	const struct cmp_case *out[CMP_MAX_BACKENDS];    /* no part: lower bounds ... */
	size_t nout;
};
void cmp_decide(const struct cmp *c, enum cmp_scen_id s, unsigned variant, const char *metric,
		enum cmp_better better, struct cmp_decision *d);
/* The decision in words, citing the figures: "**epoll** 23 us (22-24);
 * next **poll** 30 us (29-31)" or "tie: ...". */
void cmp_decision_text(char *buf, size_t len, const struct cmp_decision *d);
/* Why a case takes no part in a decision on metric m, or NULL. */
const char *cmp_excluded(const struct cmp_case *k, int m);

int  cmp_write_report(struct cmp *c);     /* report.md, results.json, CSVs */
int  cmp_write_csv(const struct cmp *c, const struct cmp_scen *sc);   /* results.c: two files */
int  cmp_write_json(const struct cmp *c);
void cmp_plot_probe(struct cmp *c);
int  cmp_plot_all(struct cmp *c, char *made, size_t len);   /* PNGs; made lists them */

/* Helpers shared by the writers. */
const struct cmp_case *cmp_find(const struct cmp *c, enum cmp_scen_id s, const char *backend,
				unsigned variant);
static inline int cmp_idx(const struct cmp_case *k, const char *key)
{
	return cmp_metric_index(k->sc, key);
}
double cmp_med(const struct cmp *c, enum cmp_scen_id s, const char *backend, unsigned variant,
	       const char *metric);

#endif
