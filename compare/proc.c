/*
 * proc.c - the child processes of `daqmux compare`.
 *
 * Every child is started through common/proc.c, pinned before exec when
 * asked, with its output in a log file, and waited for with a hard
 * deadline: past it the child gets SIGTERM (the server then still writes
 * its summary) and, two seconds later, SIGKILL. Only PIDs started here
 * are ever signalled. What is compare's own is what the wrappers below
 * add: a failure says it with msg(), a timeout is remembered in
 * ch->timed_out, and statuses read "exit status N".
 *
 * One measured run is a *pair*: `daqmux server --listen 127.0.0.1:0`,
 * whose first line on stdout says where it listens, then `daqmux client
 * --connect` to that address. While they run the server's whole-process
 * CPU clock (clock_getcpuclockid) is sampled, so that a steady-state
 * window can be cut out of the run afterwards (see scenarios.c, idle).
 */
#include "compare_int.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "proc.h"
#include "util.h"

#define CMP_START_TIMEOUT_S  5.0     /* "listening on" must come by then */
#define CMP_SAMPLE_MS        20      /* CPU sampling and reaping period */
#define CMP_KILL_GRACE_MS    2000    /* SIGTERM -> SIGKILL */

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

int cmp_spawn(struct cmp_child *ch, char *const argv[], int cpu, int out_fd,
	      const char *log_path, const char *cwd, char *why, size_t len)
{
	struct proc_opts o;

	proc_opts_init(&o);
	if (out_fd >= 0) {
		o.out_fd = out_fd;
		o.err = log_path;
	} else {
		o.out = log_path;       /* and stderr with it */
	}
	o.cwd = cwd;
	o.cpu = cpu;
	/* A compare killed by Ctrl-C twice or by SIGKILL must not leave a
	 * server or a flooding client running behind it. */
	o.die_with_parent = 1;
	ch->timed_out = 0;
	return proc_spawn(&ch->proc, argv, &o, why, len);
}

int cmp_reaped(struct cmp_child *ch)
{
	if (ch->pid <= 0)
		return 1;       /* never started */
	if (proc_poll(&ch->proc) < 0)
		msg("compare: waitpid(%ld): %s", (long)ch->pid, strerror(errno));
	return ch->reaped;
}

void cmp_stop(struct cmp_child *ch, unsigned grace_ms)
{
	if (proc_stop(&ch->proc, grace_ms) == 0)
		return;
	if (errno == ETIMEDOUT)
		msg("compare: pid %ld is still there %g s after SIGKILL; left behind",
		    (long)ch->pid, PROC_REAP_MS / 1000.0);
	else
		msg("compare: stopping pid %ld: %s", (long)ch->pid, strerror(errno));
}

void cmp_wait(struct cmp_child *ch, uint64_t deadline)
{
	if (ch->pid <= 0)
		return;
	int r = proc_wait(&ch->proc, deadline);
	if (r < 0)
		msg("compare: waitpid(%ld): %s", (long)ch->pid, strerror(errno));
	if (r == 0)
		ch->timed_out = 1;
	if (!ch->reaped)
		cmp_stop(ch, CMP_KILL_GRACE_MS);
}

void cmp_describe_status(int st, char *buf, size_t len)
{
	/* The report has always said "exit status N" (proc_describe: "exit N"). */
	if (WIFEXITED(st))
		cmp_sfmt(buf, len, "exit status %d", WEXITSTATUS(st));
	else
		proc_describe(st, buf, len);
}

int cmp_exec(char *const argv[], const char *out_path, const char *cwd, double timeout_s,
	     char *why, size_t len)
{
	struct cmp_child ch;
	if (cmp_spawn(&ch, argv, -1, -1, out_path, cwd, why, len) < 0)
		return -1;
	cmp_wait(&ch, now_ns() + (uint64_t)(timeout_s * 1e9));
	if (ch.timed_out) {
		cmp_sfmt(why, len, "%s did not finish within %.0f s", argv[0], timeout_s);
		return -1;
	}
	if (!WIFEXITED(ch.status)) {
		cmp_describe_status(ch.status, why, len);
		return -1;
	}
	return WEXITSTATUS(ch.status);
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
static int cmp_read_listen(struct cmp_child *srv, int fd, char *addr, size_t len)
{
	static const char want[] = "listening on ";
	char line[256];
	uint64_t deadline = now_ns() + (uint64_t)(CMP_START_TIMEOUT_S * 1e9);

	if (proc_wait_line(&srv->proc, fd, want, line, sizeof(line), deadline) != PROC_LINE_OK ||
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
static void cmp_child_why(const char *who, const struct cmp_child *ch, const char *log,
			  char *why, size_t len)
{
	char st[120], line[300] = "", first[300] = "";
	if (ch->timed_out)
		cmp_sfmt(st, sizeof(st), "did not finish in time and was killed");
	else
		cmp_describe_status(ch->status, st, sizeof(st));
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

int cmp_pair_run(struct cmp *c, struct cmp_pair *p)
{
	struct cmp_argv sa = { .n = 0 }, ca = { .n = 0 };
	struct cmp_child srv = { 0 }, cli = { 0 };
	char addr[220], why[CMP_WHY];
	int pfd[2] = { -1, -1 };
	uint64_t t_start = now_ns(), t_listen;
	clockid_t clk;
	int have_clk = 0;

	cmp_sfmt(p->sjson, sizeof(p->sjson), "%s/%s.server.json", c->raw, p->tag);
	cmp_sfmt(p->cjson, sizeof(p->cjson), "%s/%s.client.json", c->raw, p->tag);
	cmp_sfmt(p->slog, sizeof(p->slog), "%s/%s.server.log", c->raw, p->tag);
	cmp_sfmt(p->clog, sizeof(p->clog), "%s/%s.client.log", c->raw, p->tag);
	if (p->trace)
		cmp_sfmt(p->trace_path, sizeof(p->trace_path), "%s/%s.trace.csv", c->raw, p->tag);
	unlink(p->sjson);
	unlink(p->cjson);

	/* The server bounds itself too: a backend that never sees its sources
	 * end (blocking behind an idle connection) still stops and reports. */
	double bound_s = p->client_s + p->setup_s + 5;
	cmp_argv_add(&sa, "%s", c->exe);
	cmp_argv_add(&sa, "server");
	const char *feat = cmp_ladder_features(p->backend);
	cmp_argv_add(&sa, "--backend=%.*s", (int)strcspn(p->backend, "+"), p->backend);
	if (feat)
		cmp_argv_add(&sa, "--uring-features=%s", feat);
	cmp_argv_add(&sa, "--listen=127.0.0.1:0");
	cmp_argv_add(&sa, "--quiet");
	cmp_argv_add(&sa, "--json=%s", p->sjson);
	cmp_argv_add(&sa, "--duration=%.3f", bound_s);
	if (p->trace)
		cmp_argv_add(&sa, "--trace=%s", p->trace_path);
	if (c->cpu_server >= 0)
		cmp_argv_add(&sa, "--cpu=%d", c->cpu_server);
	for (int i = 0; i < p->sargs.n; i++)
		cmp_argv_add(&sa, "%s", p->sargs.v[i]);

	if (pipe2(pfd, O_CLOEXEC) < 0) {
		cmp_sfmt(p->why, sizeof(p->why), "pipe: %s", strerror(errno));
		goto fail;
	}
	/* The server pins itself (--cpu), so that its own option is what the
	 * run shows; the client is pinned here before exec. */
	if (cmp_spawn(&srv, sa.v, -1, pfd[1], p->slog, NULL, why, sizeof(why)) < 0) {
		cmp_sfmt(p->why, sizeof(p->why), "server: %s", why);
		goto fail;
	}
	close(pfd[1]);
	pfd[1] = -1;
	if (cmp_read_listen(&srv, pfd[0], addr, sizeof(addr)) < 0) {
		cmp_wait(&srv, now_ns() + 2000000000ull);
		cmp_child_why("server did not start:", &srv, p->slog, p->why, sizeof(p->why));
		goto fail;
	}
	t_listen = now_ns();
	(void)fcntl(pfd[0], F_SETFL, O_NONBLOCK);
	if (p->sample_cpu && clock_getcpuclockid(srv.pid, &clk) == 0)
		have_clk = 1;

	cmp_argv_add(&ca, "%s", c->exe);
	cmp_argv_add(&ca, "client");
	cmp_argv_add(&ca, "--connect=%s", addr);
	cmp_argv_add(&ca, "--quiet");
	cmp_argv_add(&ca, "--json=%s", p->cjson);
	for (int i = 0; i < p->cargs.n; i++)
		cmp_argv_add(&ca, "%s", p->cargs.v[i]);
	if (cmp_spawn(&cli, ca.v, c->cpu_client, -1, p->clog, NULL, why, sizeof(why)) < 0) {
		cmp_stop(&srv, CMP_KILL_GRACE_MS);
		cmp_sfmt(p->why, sizeof(p->why), "client: %s", why);
		goto fail;
	}

	/* Both must end by themselves; the hard deadline is the server's own
	 * bound plus a margin, after which both are stopped. */
	uint64_t hard = t_listen + (uint64_t)((bound_s + 10) * 1e9);
	uint64_t client_gone = 0;
	for (;;) {
		int s_done = cmp_reaped(&srv), c_done = cmp_reaped(&cli);
		uint64_t now = now_ns();
		if (s_done && c_done)
			break;
		if (c_done && !client_gone)
			client_gone = now;
		if (c->interrupted || now >= hard ||
		    (client_gone && now - client_gone > (uint64_t)((p->setup_s + 8) * 1e9))) {
			if (!s_done)
				srv.timed_out = 1;
			if (!c_done)
				cli.timed_out = 1;
			cmp_stop(&cli, CMP_KILL_GRACE_MS);
			cmp_stop(&srv, CMP_KILL_GRACE_MS);
			break;
		}
		if (have_clk && !s_done)
			cmp_pair_sample(p, clk, t_listen);
		cmp_drain(pfd[0]);
		cmp_sleep_ms(CMP_SAMPLE_MS);
	}
	cmp_drain(pfd[0]);
	p->wall_s = (double)(now_ns() - t_start) / 1e9;

	if (WIFEXITED(srv.status))
		p->server_exit = WEXITSTATUS(srv.status);
	if (WIFEXITED(cli.status))
		p->client_exit = WEXITSTATUS(cli.status);

	if (c->interrupted) {
		cmp_sfmt(p->why, sizeof(p->why), "interrupted (SIGINT/SIGTERM) before it ended");
		goto fail;
	}
	/* The server decides: exit 0 or 1 with its JSON is a measurement
	 * (1 says a source lost frames or failed: noted), anything else is
	 * a failed run with the reason it gave. */
	if (srv.timed_out || !WIFEXITED(srv.status) || p->server_exit > 1) {
		cmp_child_why("server", &srv, p->slog, p->why, sizeof(p->why));
		goto fail;
	}
	p->sj = cmp_load_json(p->sjson, why, sizeof(why));
	if (!p->sj) {
		cmp_sfmt(p->why, sizeof(p->why), "server: %s", why);
		goto fail;
	}
	if (cli.timed_out || !WIFEXITED(cli.status) || p->client_exit > 1) {
		cmp_child_why("client", &cli, p->clog, p->why, sizeof(p->why));
		goto fail;
	}
	p->cj = cmp_load_json(p->cjson, why, sizeof(why));
	if (p->server_exit == 1)
		cmp_child_why("server", &srv, p->slog, p->note, sizeof(p->note));
	else if (p->client_exit == 1)
		cmp_child_why("client", &cli, p->clog, p->note, sizeof(p->note));
	p->state = CMP_OK;
	cmp_unlink_empty(p->slog);
	cmp_unlink_empty(p->clog);
	if (pfd[0] >= 0)
		close(pfd[0]);
	cmp_argv_free(&sa);
	cmp_argv_free(&ca);
	return 0;

fail:
	if (srv.pid)
		cmp_stop(&srv, CMP_KILL_GRACE_MS);
	if (cli.pid)
		cmp_stop(&cli, CMP_KILL_GRACE_MS);
	if (pfd[0] >= 0)
		close(pfd[0]);
	if (pfd[1] >= 0)
		close(pfd[1]);
	cmp_argv_free(&sa);
	cmp_argv_free(&ca);
	p->wall_s = (double)(now_ns() - t_start) / 1e9;
	p->state = CMP_FAILED;
	cmp_unlink_empty(p->slog);
	cmp_unlink_empty(p->clog);
	return -1;
}
