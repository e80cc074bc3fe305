/*
 * compare_int.h - what the files of `daqmux compare` share (not part of
 * its interface, which is compare.h).
 *
 *   compare.c     options, the plan and its time budget, the driver loop,
 *                 progress, the machine description
 *   proc.c        child processes (over common/proc.c): spawn (pinned),
 *                 wait with a hard timeout, kill only what we started; one
 *                 server+client run
 *   scenarios.c   the four scenarios: their command lines and what is
 *                 computed from the server's JSON, its trace and the client's
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
#include <sys/types.h>

#include "backends.h"
#include "json.h"
#include "jsonread.h"
#include "proc.h"

#define CMP_MAX_REPEAT   20
#define CMP_MAX_METRICS  12
#define CMP_MAX_BACKENDS 16
#define CMP_MAX_VARIANTS 8
#define CMP_WHY          480
#define CMP_PATH         PATH_MAX

/* ---- the plan: what runs, how long ------------------------------------- */

enum cmp_scen_id { CMP_BLOCKED, CMP_LATENCY, CMP_THROUGHPUT, CMP_IDLE, CMP_BUILD, CMP_NSCENS };

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
};

struct cmp_opts {
	const char *out;                /* report directory */
	const char *backends;           /* "a,b,c" or NULL for all */
	unsigned scen_mask;             /* 1 << enum cmp_scen_id */
	unsigned repeat;                /* 0 = the plan's default */
	double seconds;                 /* 0 = the plan's default per-run time */
	int quick;
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
};

struct cmp_metric {
	const char *key;                /* JSON/CSV name, e.g. "p99_ns" */
	const char *label;              /* table header, e.g. "p99" */
	enum cmp_unit unit;
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
};

extern const struct cmp_scen cmp_scens[CMP_NSCENS];
int cmp_metric_index(const struct cmp_scen *sc, const char *key);   /* aborts if unknown */

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
};

struct cmp_machine {
	char kernel[256];               /* uname -srvm */
	char cpu_model[128];
	long cores;                     /* online */
	char date[40];                  /* ISO 8601 UTC */
	char revision[64];              /* git describe, or "" */
	char hostname[64];
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

/* ---- processes (proc.c) ------------------------------------------------- */


struct cmp_argv {
	char *v[64];
	int n;
};
void cmp_argv_add(struct cmp_argv *a, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void cmp_argv_free(struct cmp_argv *a);

/* A child: a struct proc (common/proc.h), also readable by the names
 * used here and in sockperf.c (pid, status, reaped: one and the same
 * storage), and whether compare had to stop it. */
struct cmp_child {
	union {
		struct proc proc;
		struct {
			pid_t pid;      /* kept once reaped; 0 if never started */
			int status;     /* waitpid status once reaped */
			int reaped;
		};
	};
	int timed_out;
};
_Static_assert(offsetof(struct cmp_child, status) == offsetof(struct cmp_child, proc.status) &&
	       offsetof(struct cmp_child, reaped) == offsetof(struct cmp_child, proc.reaped),
	       "struct proc must begin with pid, status, reaped");

/* Start argv (argv[0] a path) with stdin from /dev/null, stdout to
 * out_fd (or the log) and stderr to log_path; pinned to cpu when >= 0;
 * in directory cwd when not NULL. 0, or -1 with why. */
int cmp_spawn(struct cmp_child *ch, char *const argv[], int cpu, int out_fd,
	      const char *log_path, const char *cwd, char *why, size_t len);

/* Reap without blocking: 1 when it has ended (ch->status set) or was
 * never started, else 0. */
int cmp_reaped(struct cmp_child *ch);

/* Wait until it ends or until deadline (CLOCK_MONOTONIC ns); past the
 * deadline it is stopped (SIGTERM, then SIGKILL after 2 s) and
 * ch->timed_out set. Reaps it (see cmp_stop). */
void cmp_wait(struct cmp_child *ch, uint64_t deadline);

/* SIGTERM, up to grace_ms, then SIGKILL; reaps (a child stuck in the
 * kernel PROC_REAP_MS after SIGKILL is reported and left behind). */
void cmp_stop(struct cmp_child *ch, unsigned grace_ms);

/* Run a helper command to completion (bounded by timeout_s), its stdout
 * and stderr into out_path. Returns its exit status, or -1 (why). */
int cmp_exec(char *const argv[], const char *out_path, const char *cwd, double timeout_s,
	     char *why, size_t len);

/* "exit status 2", "killed by signal 11 (Segmentation fault)", ... */
void cmp_describe_status(int status, char *buf, size_t len);

/* The first line of a log containing needle (the last line when needle
 * is NULL), without the "daqmux: " prefix; 0, or -1 when none. */
int cmp_log_line(const char *path, const char *needle, char *buf, size_t len);

/* A CPU-time sample of the server: t is ns since "listening on". */
struct cmp_cpu_sample { uint64_t t, cpu; };

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
	double wall_s;
};

void cmp_pair_init(struct cmp_pair *p, const char *tag, const char *backend);
int  cmp_pair_run(struct cmp *c, struct cmp_pair *p);   /* 0 ok, -1 failed (p->why) */
void cmp_pair_free(struct cmp_pair *p);                 /* also removes the trace */

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

int  cmp_write_report(struct cmp *c);     /* report.md, results.json, CSVs */
int  cmp_write_csv(const struct cmp *c, const struct cmp_scen *sc);   /* results.c */
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
