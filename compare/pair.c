/*
 * pair.c - one measured run of `daqmux compare`: a server and a client.
 *
 * Every child is started through harness/proc.c, pinned before exec when
 * asked, with its output in a log file, and waited for with a hard
 * deadline: past it the child gets SIGTERM (the server then still writes
 * its summary) and, two seconds later, SIGKILL. Only PIDs started here
 * are ever signalled.
 *
 * A pair is `daqmux server --listen 127.0.0.1:0`, whose first line on
 * stdout says where it listens, then `daqmux client --connect` to that
 * address. While they run the server's whole-process CPU clock
 * (clock_getcpuclockid) is sampled, so that a steady-state window can be
 * cut out of the run afterwards (see scenarios.c, idle).
 *
 * With --client-exec PREFIX the client runs as `PREFIX daqmux client ...`
 * (ssh to another host, ip netns exec into another namespace): the
 * server listens on --listen, the client connects to --connect-host
 * with the port the server announced, and writes its JSON to stdout
 * (--json -), which is kept as the run's client JSON here.
 */
#include "compare_int.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sched.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "proc.h"
#include "util.h"

#define CMP_START_TIMEOUT_S  5.0     /* "listening on" must come by then */
#define CMP_SAMPLE_MS        20      /* CPU sampling and reaping period */

void cmp_argv_add(struct cmp_argv *a, const char *fmt, ...)
{
	va_list ap;
	char *s = NULL;

	if (a->n >= (int)ARRAY_SIZE(a->v) - 1) {
		msg("compare: internal error: too many arguments");
		abort();
	}
	va_start(ap, fmt);
	if (vasprintf(&s, fmt, ap) < 0) {
		msg("compare: out of memory");
		abort();
	}
	va_end(ap);
	a->v[a->n++] = s;
	a->v[a->n] = NULL;
}

void cmp_argv_free(struct cmp_argv *a)
{
	for (int i = 0; i < a->n; i++)
		free(a->v[i]);
	a->n = 0;
	a->v[0] = NULL;
}

static void cmp_sleep_ms(unsigned ms)
{
	struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000L };
	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

void cmp_proc_opts(struct proc_opts *o, int cpu, int out_fd, const char *log_path)
{
	proc_opts_init(o);
	if (out_fd >= 0) {
		o->out_fd = out_fd;
		o->err = log_path;
	} else {
		o->out = log_path;       /* and stderr with it */
	}
	o->cpu = cpu;
	/* A compare killed by Ctrl-C twice or by SIGKILL must not leave a
	 * server or a flooding client running behind it. */
	o->die_with_parent = 1;
}

int cmp_exec(char *const argv[], const char *out_path, const char *cwd, double timeout_s,
	     char *why, size_t len)
{
	struct proc_opts o;

	cmp_proc_opts(&o, -1, -1, out_path);
	o.cwd = cwd;
	return proc_run(argv[0], argv, &o, timeout_s, why, len);
}

int cmp_log_line(const char *path, const char *needle, char *buf, size_t len)
{
	FILE *f = fopen(path, "r");
	char line[1024];
	int found = -1;

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f)) {
		line[strcspn(line, "\n")] = '\0';
		if (!line[0])
			continue;
		if (needle && !strstr(line, needle))
			continue;
		const char *s = strncmp(line, "daqmux: ", 8) == 0 ? line + 8 : line;
		cmp_sfmt(buf, len, "%s", s);
		found = 0;
		if (needle)
			break;
	}
	fclose(f);
	return found;
}

/* ---- one server + client run ------------------------------------------- */

/* raw/ keeps a run's logs only when there is something in them. */
static void cmp_unlink_empty(const char *path)
{
	struct stat st;
	if (stat(path, &st) == 0 && st.st_size == 0)
		unlink(path);
}

void cmp_pair_init(struct cmp_pair *p, const char *tag, const char *backend)
{
	memset(p, 0, sizeof(*p));
	p->tag = tag;
	p->backend = backend;
	p->server_exit = p->client_exit = -1;
}

void cmp_pair_free(struct cmp_pair *p)
{
	cmp_argv_free(&p->sargs);
	cmp_argv_free(&p->cargs);
	json_free(p->sj);
	json_free(p->cj);
	p->sj = p->cj = NULL;
	free(p->cpu);
	p->cpu = NULL;
	if (p->trace_path[0])
		unlink(p->trace_path);
}

static void cmp_pair_sample(struct cmp_pair *p, clockid_t clk, uint64_t t_listen)
{
	struct timespec ts;
	if (clock_gettime(clk, &ts) < 0)
		return;   /* it has exited: the window is over anyway */
	if (p->ncpu == p->capcpu) {
		size_t cap = p->capcpu ? 2 * p->capcpu : 512;
		struct cmp_cpu_sample *n = realloc(p->cpu, cap * sizeof(*n));
		if (!n)
			return;
		p->cpu = n;
		p->capcpu = cap;
	}
	p->cpu[p->ncpu++] = (struct cmp_cpu_sample){
		now_ns() - t_listen,
		(uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec,
	};
}

/* Read the server's first line, "listening on HOST:PORT", within the
 * start timeout. 0 with addr, or -1 (it ended, said something else, or
 * nothing in time). */
static int cmp_read_listen(struct proc *srv, int fd, char *addr, size_t len)
{
	static const char want[] = "listening on ";
	char line[256];
	uint64_t deadline = now_ns() + (uint64_t)(CMP_START_TIMEOUT_S * 1e9);

	if (proc_wait_line(srv, fd, want, line, sizeof(line), deadline) != PROC_LINE_OK ||
	    sscanf(line + sizeof(want) - 1, "%200s", addr) != 1 || strlen(addr) >= len)
		return -1;
	return 0;
}

static void cmp_drain(int fd)
{
	char buf[4096];
	while (read(fd, buf, sizeof(buf)) > 0)
		;
}

static struct json *cmp_load_json(const char *path, char *why, size_t len)
{
	char err[200];
	struct stat st;
	if (stat(path, &st) < 0) {
		cmp_sfmt(why, len, "no JSON summary was written (%s)", path);
		return NULL;
	}
	struct json *j = json_parse_file(path, err, sizeof(err));
	if (!j)
		cmp_sfmt(why, len, "%s: %s", path, err);
	return j;
}

/* Why a child failed: its status, and the last line it said. */
static void cmp_child_why(const char *who, const struct proc *ch, const char *log,
			  char *why, size_t len)
{
	char st[120], line[300] = "", first[300] = "";

	proc_how(ch, st, sizeof(st));
	/* Our own messages say what went wrong; otherwise (getopt, a crash)
	 * the first and the last line it wrote. */
	if (cmp_log_line(log, "daqmux:", line, sizeof(line)) < 0 &&
	    cmp_log_line(log, NULL, line, sizeof(line)) == 0 &&
	    cmp_log_line(log, "", first, sizeof(first)) == 0 && strcmp(first, line) != 0) {
		char both[600];
		cmp_sfmt(both, sizeof(both), "%s ... %s", first, line);
		cmp_sfmt(line, sizeof(line), "%s", both);
	}
	cmp_sfmt(why, len, "%s %s%s%s", who, st, line[0] ? ": " : "", line);
}

/* ---- /proc/stat --------------------------------------------------------- */

void cmp_stat_read(const struct cmp *c, struct cmp_stat *s)
{
	static long hz;
	char line[512], want[24];
	FILE *f = fopen("/proc/stat", "r");

	s->ok = 0;
	s->core_ns = UINT64_MAX;        /* unknown unless the server is pinned */
	s->all_ns = 0;
	if (!hz)
		hz = sysconf(_SC_CLK_TCK);
	if (!f || hz <= 0) {
		if (f)
			fclose(f);
		return;
	}
	cmp_sfmt(want, sizeof(want), "cpu%d ", c->cpu_server);
	while (fgets(line, sizeof(line), f)) {
		unsigned long long user, nice, sys, idle, iowait, irq, softirq;
		int all = strncmp(line, "cpu ", 4) == 0;
		int core = c->cpu_server >= 0 && strncmp(line, want, strlen(want)) == 0;
		if (!all && !core)
			continue;
		if (sscanf(line + strcspn(line, " "), "%llu %llu %llu %llu %llu %llu %llu", &user,
			   &nice, &sys, &idle, &iowait, &irq, &softirq) != 7)
			continue;
		uint64_t ns = (uint64_t)((user + nice + sys + irq + softirq) * (1e9 / (double)hz));
		if (all) {
			s->all_ns = ns;
			s->ok = 1;
		} else {
			s->core_ns = ns;
		}
	}
	fclose(f);
}

/* ---- a pair: the command lines, the supervision, the outcome ------------ */

/* The server bounds itself too: a backend that never sees its sources
 * end (blocking behind an idle connection) still stops and reports. */
static double cmp_pair_bound_s(const struct cmp_pair *p)
{
	return p->client_s + p->setup_s + 5;
}

static void cmp_pair_paths(const struct cmp *c, struct cmp_pair *p)
{
	cmp_sfmt(p->sjson, sizeof(p->sjson), "%s/%s.server.json", c->raw, p->tag);
	cmp_sfmt(p->cjson, sizeof(p->cjson), "%s/%s.client.json", c->raw, p->tag);
	cmp_sfmt(p->slog, sizeof(p->slog), "%s/%s.server.log", c->raw, p->tag);
	cmp_sfmt(p->clog, sizeof(p->clog), "%s/%s.client.log", c->raw, p->tag);
	if (p->trace)
		cmp_sfmt(p->trace_path, sizeof(p->trace_path), "%s/%s.trace.csv", c->raw, p->tag);
	unlink(p->sjson);
	unlink(p->cjson);
}

/* The server pins itself (--cpu), so that its own option is what the run
 * shows; the client is pinned by proc_spawn before exec. */
static void cmp_pair_server_argv(const struct cmp *c, const struct cmp_pair *p,
				 struct cmp_argv *a)
{
	cmp_argv_add(a, "%s", c->exe);
	cmp_argv_add(a, "server");
	const char *feat = cmp_ladder_features(p->backend);
	cmp_argv_add(a, "--backend=%.*s", (int)strcspn(p->backend, "+"), p->backend);
	if (feat)
		cmp_argv_add(a, "--uring-features=%s", feat);
	cmp_argv_add(a, "--listen=%s:0", c->o.listen_host ? c->o.listen_host : "127.0.0.1");
	cmp_argv_add(a, "--quiet");
	cmp_argv_add(a, "--json=%s", p->sjson);
	cmp_argv_add(a, "--duration=%.3f", cmp_pair_bound_s(p));
	if (p->trace)
		cmp_argv_add(a, "--trace=%s", p->trace_path);
	if (c->cpu_server >= 0 && !p->own_cpus)
		cmp_argv_add(a, "--cpu=%d", c->cpu_server);
	for (int i = 0; i < p->sargs.n; i++)
		cmp_argv_add(a, "%s", p->sargs.v[i]);
}

/* The clients' --connect: the server's address, or --connect-host with
 * the port it announced. */
static void cmp_pair_connect(const struct cmp *c, const char *addr, char *buf, size_t len)
{
	const char *port = strrchr(addr, ':'), *h = c->o.connect_host;

	if (!h || !port) {
		cmp_sfmt(buf, len, "%s", addr);
		return;
	}
	/* An IPv6 literal needs its brackets before the port. */
	cmp_sfmt(buf, len, strchr(h, ':') && h[0] != '[' ? "[%s]%s" : "%s%s", h, port);
}

static void cmp_pair_client_argv(const struct cmp *c, const struct cmp_pair *p,
				 const char *addr, struct cmp_argv *a)
{
	char connect[300];

	if (c->o.client_exec) {
		char words[512];
		cmp_sfmt(words, sizeof(words), "%s", c->o.client_exec);
		for (char *save = NULL, *w = strtok_r(words, " \t", &save); w;
		     w = strtok_r(NULL, " \t", &save))
			cmp_argv_add(a, "%s", w);
	}
	cmp_pair_connect(c, addr, connect, sizeof(connect));
	cmp_argv_add(a, "%s", c->o.client_bin ? c->o.client_bin : c->exe);
	cmp_argv_add(a, "client");
	cmp_argv_add(a, "--connect=%s", connect);
	cmp_argv_add(a, "--quiet");
	if (c->o.client_exec)
		cmp_argv_add(a, "--json=-");   /* its files are on the other side */
	else
		cmp_argv_add(a, "--json=%s", p->cjson);
	for (int i = 0; i < p->cargs.n; i++)
		cmp_argv_add(a, "%s", p->cargs.v[i]);
}

/* Start a child on a set of CPUs: proc_spawn pins to one CPU only, so
 * compare itself moves to the set for the fork (the child inherits it)
 * and back. A failure to pin is not fatal: the run is just not pinned. */
static int cmp_spawn_on(const int *cpus, unsigned ncpus, struct proc *ch, const char *label,
			char *const argv[], const struct proc_opts *o, char *why, size_t len)
{
	cpu_set_t old, set;
	int moved = 0;

	if (ncpus && sched_getaffinity(0, sizeof(old), &old) == 0) {
		CPU_ZERO(&set);
		for (unsigned i = 0; i < ncpus; i++)
			CPU_SET(cpus[i], &set);
		moved = sched_setaffinity(0, sizeof(set), &set) == 0;
	}
	int rc = proc_spawn(ch, label, argv, o, why, len);
	if (moved && sched_setaffinity(0, sizeof(old), &old) < 0)
		msg("compare: cannot restore my CPU affinity: %s", strerror(errno));
	return rc;
}

/* What one pair runs: the two children and the server's stdout. */
struct cmp_run {
	struct proc srv, cli;
	int pfd[2];                     /* the server's stdout: its first line */
	uint64_t t_listen;
};

/* Start the server and, once it listens, the client. 0, or -1 with
 * p->why (whatever started is left to cmp_run_end). */
static int cmp_pair_start(const struct cmp *c, struct cmp_pair *p, struct cmp_run *r)
{
	struct cmp_argv sa = { .n = 0 }, ca = { .n = 0 };
	struct proc_opts o;
	char addr[220], why[CMP_WHY];
	int rc = -1;

	cmp_pair_server_argv(c, p, &sa);
	if (pipe2(r->pfd, O_CLOEXEC) < 0) {
		cmp_sfmt(p->why, sizeof(p->why), "pipe: %s", strerror(errno));
		goto out;
	}
	cmp_proc_opts(&o, -1, r->pfd[1], p->slog);
	if (cmp_spawn_on(p->server_cpus, p->nserver_cpus, &r->srv, "server", sa.v, &o, why,
			 sizeof(why)) < 0) {
		cmp_sfmt(p->why, sizeof(p->why), "server: %s", why);
		goto out;
	}
	close(r->pfd[1]);
	r->pfd[1] = -1;
	if (cmp_read_listen(&r->srv, r->pfd[0], addr, sizeof(addr)) < 0) {
		(void)proc_finish(&r->srv, now_ns() + 2000000000ull, CMP_KILL_GRACE_MS);
		cmp_child_why("server did not start:", &r->srv, p->slog, p->why, sizeof(p->why));
		goto out;
	}
	r->t_listen = now_ns();
	(void)fcntl(r->pfd[0], F_SETFL, O_NONBLOCK);

	cmp_pair_client_argv(c, p, addr, &ca);
	cmp_proc_opts(&o, p->own_cpus ? -1 : c->cpu_client, -1, p->clog);
	if (c->o.client_exec) {
		o.out = p->cjson;       /* its JSON, from its stdout */
		o.err = p->clog;
	}
	if (cmp_spawn_on(p->client_cpus, p->nclient_cpus, &r->cli, "client", ca.v, &o, why,
			 sizeof(why)) < 0) {
		cmp_sfmt(p->why, sizeof(p->why), "client: %s", why);
		goto out;
	}
	rc = 0;
out:
	cmp_argv_free(&sa);
	cmp_argv_free(&ca);
	return rc;
}

/* Until both have ended by themselves, sampling the server's CPU clock;
 * past the hard deadline (the server's own bound plus a margin), or
 * long after the client is gone, both are stopped. */
static void cmp_pair_supervise(struct cmp *c, struct cmp_pair *p, struct cmp_run *r)
{
	uint64_t hard = r->t_listen + (uint64_t)((cmp_pair_bound_s(p) + 10) * 1e9);
	uint64_t client_gone = 0;
	clockid_t clk;
	int have_clk = p->sample_cpu && clock_getcpuclockid(r->srv.pid, &clk) == 0;

	for (;;) {
		int s_done = proc_poll(&r->srv) != 0, c_done = proc_poll(&r->cli) != 0;
		uint64_t now = now_ns();
		if (s_done && c_done)
			break;
		if (c_done && !client_gone)
			client_gone = now;
		if (c->interrupted || now >= hard ||
		    (client_gone && now - client_gone > (uint64_t)((p->setup_s + 8) * 1e9))) {
			r->srv.timed_out = !s_done;
			r->cli.timed_out = !c_done;
			break;
		}
		if (have_clk && !s_done)
			cmp_pair_sample(p, clk, r->t_listen);
		cmp_drain(r->pfd[0]);
		cmp_sleep_ms(CMP_SAMPLE_MS);
	}
	(void)proc_stop(&r->cli, CMP_KILL_GRACE_MS);
	(void)proc_stop(&r->srv, CMP_KILL_GRACE_MS);
	cmp_drain(r->pfd[0]);
}

/* The server decides: exit 0 or 1 with its JSON is a measurement (1 says
 * a source lost frames or failed: noted), anything else is a failed run
 * with the reason it gave. 0, or -1 with p->why. */
static int cmp_pair_classify(const struct cmp *c, struct cmp_pair *p, const struct cmp_run *r)
{
	char why[CMP_WHY];

	p->server_exit = r->srv.reaped && WIFEXITED(r->srv.status) ? WEXITSTATUS(r->srv.status) : -1;
	p->client_exit = r->cli.reaped && WIFEXITED(r->cli.status) ? WEXITSTATUS(r->cli.status) : -1;
	if (c->interrupted) {
		cmp_sfmt(p->why, sizeof(p->why), "interrupted (SIGINT/SIGTERM) before it ended");
		return -1;
	}
	if (r->srv.timed_out || p->server_exit < 0 || p->server_exit > 1) {
		cmp_child_why("server", &r->srv, p->slog, p->why, sizeof(p->why));
		return -1;
	}
	p->sj = cmp_load_json(p->sjson, why, sizeof(why));
	if (!p->sj) {
		cmp_sfmt(p->why, sizeof(p->why), "server: %s", why);
		return -1;
	}
	if (r->cli.timed_out || p->client_exit < 0 || p->client_exit > 1) {
		cmp_child_why("client", &r->cli, p->clog, p->why, sizeof(p->why));
		return -1;
	}
	p->cj = cmp_load_json(p->cjson, why, sizeof(why));
	if (p->server_exit == 1)
		cmp_child_why("server", &r->srv, p->slog, p->note, sizeof(p->note));
	else if (p->client_exit == 1)
		cmp_child_why("client", &r->cli, p->clog, p->note, sizeof(p->note));
	return 0;
}

int cmp_pair_run(struct cmp *c, struct cmp_pair *p)
{
	struct cmp_run r = { .pfd = { -1, -1 } };
	uint64_t t_start = now_ns();
	int rc = -1;

	cmp_pair_paths(c, p);
	cmp_stat_read(c, &p->st0);
	if (cmp_pair_start(c, p, &r) == 0) {
		cmp_pair_supervise(c, p, &r);
		cmp_stat_read(c, &p->st1);
		rc = cmp_pair_classify(c, p, &r);
	}
	(void)proc_stop(&r.cli, CMP_KILL_GRACE_MS);
	(void)proc_stop(&r.srv, CMP_KILL_GRACE_MS);
	for (int i = 0; i < 2; i++)
		if (r.pfd[i] >= 0)
			close(r.pfd[i]);
	p->wall_s = (double)(now_ns() - t_start) / 1e9;
	p->state = rc == 0 ? CMP_OK : CMP_FAILED;
	cmp_unlink_empty(p->slog);
	cmp_unlink_empty(p->clog);
	return rc;
}
