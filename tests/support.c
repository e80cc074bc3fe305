/*
 * support.c - run the real daqmux server and client from cmocka tests
 * (see support.h for the shape of a scenario and the two layers).
 *
 * Starting, waiting for (always against a deadline: a test must never
 * hang the suite) and killing a process is harness/proc.c's, used
 * directly here as in `daqmux compare`; what is added here is the tests'
 * own: messages through cmocka, failing the test at the caller's line,
 * sanitizer reports, the logs of a test that failed.
 */
#include "support.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "crc32c.h"
#include "net.h"
#include "proto.h"
#include "util.h"
#include "version.h"

#ifndef DAQMUX_BIN
#error "DAQMUX_BIN (the absolute path of bin/daqmux) is defined by the Makefile"
#endif

#define SUP_MAX_ARGS    128

static uint64_t sup_after(double seconds)
{
	return now_ns() + (uint64_t)(seconds * 1e9);
}

/* Fail the current test at file:line with a message (does not return:
 * cmocka's _fail jumps back to the runner). */
static void sup_fail_at(const char *file, int line, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static void sup_fail_at(const char *file, int line, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vprint_error(fmt, ap);
	va_end(ap);
	print_error("\n");
	_fail(file, line);
}

/* Fail at the line of the scenario that made the sup_* call under way. */
#define sup_tfail(t, ...) sup_fail_at((t)->at_file, (t)->at_line, __VA_ARGS__)

static void sup_at(struct sup *t, const char *file, int line)
{
	t->at_file = file;
	t->at_line = line;
}

/* ---- one child process -------------------------------------------------- */

void sup_child_opts(struct proc_opts *o, const char *dir)
{
	proc_opts_init(o);
	o->logdir = dir;
	o->die_with_parent = 1;   /* the tests are single-threaded: see support.h */
}

/* proc_spawn with sup_child_opts; 0, or -1 after saying why. */
static int sup_spawn(struct proc *p, const char *label, const char *dir, char *const argv[])
{
	struct proc_opts o;
	char why[PATH_MAX + 64];

	sup_child_opts(&o, dir);
	if (proc_spawn(p, label, argv, &o, why, sizeof(why)) < 0) {
		print_error("%s: %s\n", label, why);
		return -1;
	}
	return 0;
}

static void sup_dump_file(const char *label, const char *what, const char *path,
			  unsigned lines)
{
	size_t len;
	char *text = sup_read_file(path, &len);
	const char *from;

	if (!text) {
		print_message("  [%s.%s] cannot read %s: %s\n", label, what, path, strerror(errno));
		return;
	}
	if (len && text[len - 1] == '\n')
		text[--len] = '\0';
	/* Back up over `lines` newlines from the end. */
	from = text + len;
	for (unsigned n = 0; from > text; from--)
		if (from[-1] == '\n' && ++n == lines)
			break;
	if (from > text)
		print_message("  [%s.%s] ...\n", label, what);
	while (*from) {
		const char *eol = strchr(from, '\n');
		int n = eol ? (int)(eol - from) : (int)strlen(from);
		print_message("  [%s.%s] %.*s\n", label, what, n, from);
		from += n + (eol != NULL);
	}
	free(text);
}

/* The last `lines` lines of its stdout and stderr, prefixed with the
 * label, through cmocka's print_message. */
static void sup_dump(const struct proc *p, unsigned lines)
{
	char how[96];

	if (p->pid <= 0)
		return;
	print_message("  %s: %s  (%s)\n", p->label, p->cmd, proc_how(p, how, sizeof(how)));
	sup_dump_file(p->label, "out", p->out, lines);
	sup_dump_file(p->label, "err", p->err, lines);
}

int sup_sanitizer_report(const struct proc *p, char *buf, size_t len)
{
	static const char *const marks[] = {
		"AddressSanitizer", "LeakSanitizer", "ThreadSanitizer", "MemorySanitizer",
		"UndefinedBehaviorSanitizer", "runtime error: ",
	};
	size_t n;
	char *text = sup_read_file(p->err, &n);

	if (!text)
		return -1;
	for (char *line = text; *line;) {
		char *eol = strchr(line, '\n');
		if (eol)
			*eol = '\0';
		for (size_t i = 0; i < ARRAY_SIZE(marks); i++) {
			if (strstr(line, marks[i])) {
				snprintf(buf, len, "%s", line);
				free(text);
				return 1;
			}
		}
		if (!eol)
			break;
		line = eol + 1;
	}
	free(text);
	return 0;
}

/* ---- files -------------------------------------------------------------- */

int sup_mkdtemp(char *buf, size_t len, const char *tag)
{
	const char *tmp = getenv("TMPDIR");

	if (!tmp || !*tmp)
		tmp = "/tmp";
	if ((size_t)snprintf(buf, len, "%s/daqmux-%s.XXXXXX", tmp, tag) >= len) {
		print_error("temporary directory name too long under %s\n", tmp);
		return -1;
	}
	if (!mkdtemp(buf)) {
		print_error("mkdtemp %s: %s\n", buf, strerror(errno));
		return -1;
	}
	return 0;
}

int sup_rmdir(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	int rc = 0;

	if (!d) {
		print_error("opendir %s: %s\n", dir, strerror(errno));
		return -1;
	}
	errno = 0;
	while ((e = readdir(d)) != NULL) {
		if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
			continue;
		if (unlinkat(dirfd(d), e->d_name, 0) < 0) {
			print_error("unlink %s/%s: %s\n", dir, e->d_name, strerror(errno));
			rc = -1;
		}
		errno = 0;
	}
	if (errno) {
		print_error("readdir %s: %s\n", dir, strerror(errno));
		rc = -1;
	}
	if (closedir(d) < 0) {
		print_error("closedir %s: %s\n", dir, strerror(errno));
		rc = -1;
	}
	if (rc == 0 && rmdir(dir) < 0) {
		print_error("rmdir %s: %s\n", dir, strerror(errno));
		rc = -1;
	}
	return rc;
}

char *sup_read_file(const char *path, size_t *lenp)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	size_t len = 0, cap = 4096;
	char *buf;

	if (fd < 0)
		return NULL;
	buf = malloc(cap);
	if (!buf)
		goto fail;
	for (;;) {
		if (cap - len < 2) {
			char *grown = realloc(buf, cap * 2);
			if (!grown)
				goto fail;
			buf = grown;
			cap *= 2;
		}
		ssize_t n = read(fd, buf + len, cap - len - 1);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			goto fail;
		}
		if (n == 0)
			break;
		len += (size_t)n;
	}
	(void)close(fd);   /* read-only: a close error loses nothing */
	buf[len] = '\0';
	if (lenp)
		*lenp = len;
	return buf;

fail:;
	int saved = errno;
	free(buf);
	(void)close(fd);
	errno = saved;
	return NULL;
}

/* ---- one test's world ----------------------------------------------------- */

int sup_setup(void **state)
{
	const struct sup_variant *v = *state;
	const struct backend *be = v ? v->be : NULL;
	struct sup *t;

	if (!v) {
		print_error("sup_setup: the test's prestate must be its variant\n");
		return -1;
	}
	t = calloc(1, sizeof(*t));
	if (!t) {
		print_error("sup_setup: out of memory\n");
		return -1;
	}
	t->be = be;
	t->v = v;
	sup_at(t, __FILE__, __LINE__);
	t->server.label = "server";
	t->client.label = "client";
	if (sup_mkdtemp(t->dir, sizeof(t->dir), be->name) < 0) {
		free(t);
		return -1;
	}
	if ((size_t)snprintf(t->json_path, sizeof(t->json_path), "%s/server.json", t->dir) >=
	    sizeof(t->json_path) ||
	    (size_t)snprintf(t->client_json_path, sizeof(t->client_json_path), "%s/client.json",
			     t->dir) >= sizeof(t->client_json_path)) {
		print_error("sup_setup: %s: path too long\n", t->dir);
		(void)sup_rmdir(t->dir);
		free(t);
		return -1;
	}
	sup_set_limit(t, SUP_TIME_LIMIT_S);
	*state = t;
	return 0;
}

int sup_teardown(void **state)
{
	struct sup *t = *state;

	if (!t)
		return 0;
	/* A test that failed half way leaves its processes running. */
	for (unsigned i = 0; i < t->nextra; i++)
		proc_kill(&t->extra[i]);
	proc_kill(&t->client);
	proc_kill(&t->server);
	if (!t->passed && !t->skipped) {
		print_message("  --- %s: the test did not pass; its processes' output "
			      "(all of it in %s):\n", t->v->name, t->dir);
		sup_dump(&t->server, SUP_LOG_LINES);
		sup_dump(&t->client, SUP_LOG_LINES);
		for (unsigned i = 0; i < t->nextra; i++)
			sup_dump(&t->extra[i], SUP_LOG_LINES);
	} else {
		(void)sup_rmdir(t->dir);   /* says why if it fails; not the test's fault */
	}
	json_free(t->json);
	json_free(t->client_json);
	free(t);
	*state = NULL;
	return 0;
}

int sup_backend_available(const struct backend *be, char *why, size_t len)
{
	if (len)
		why[0] = '\0';
	if (!be->probe || be->probe(why, len) == 0)
		return 1;
	if (len && !why[0])
		snprintf(why, len, "its probe failed without saying why");
	return 0;
}

void sup_skip(struct sup *t, const char *fmt, ...)
{
	char why[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(why, sizeof(why), fmt, ap);
	va_end(ap);
	print_message("SKIP %s: %s\n", t->v->name, why);
	t->skipped = 1;
	skip();
}

struct sup *sup_begin(void **state)
{
	struct sup *t = *state;
	char why[256];

	if (!sup_backend_available(t->be, why, sizeof(why)))
		sup_skip(t, "%s", why);
	return t;
}

void sup_set_limit(struct sup *t, double seconds)
{
	t->limit_s = seconds;
	t->deadline_ns = sup_after(seconds);
}

void sup_reset(struct sup *t)
{
	for (unsigned i = 0; i < t->nextra; i++)
		proc_kill(&t->extra[i]);
	memset(t->extra, 0, sizeof(t->extra));
	t->nextra = 0;
	proc_kill(&t->client);
	proc_kill(&t->server);
	memset(&t->client, 0, sizeof(t->client));
	memset(&t->server, 0, sizeof(t->server));
	t->client.label = "client";
	t->server.label = "server";
	t->addr[0] = '\0';
	json_free(t->json);
	json_free(t->client_json);
	t->json = t->client_json = NULL;
}

void sup_need_nofile_at(struct sup *t, rlim_t n, const char *file, int line)
{
	struct rlimit rl;

	sup_at(t, file, line);
	if (getrlimit(RLIMIT_NOFILE, &rl) < 0)
		sup_tfail(t, "getrlimit(RLIMIT_NOFILE): %s", strerror(errno));
	if (rl.rlim_cur == RLIM_INFINITY || rl.rlim_cur >= n)
		return;
	if (rl.rlim_max != RLIM_INFINITY && rl.rlim_max < n)
		sup_skip(t, "needs %llu descriptors per process, but RLIMIT_NOFILE is "
			 "%llu soft / %llu hard (raise the hard limit: ulimit -Hn, limits.conf)",
			 (unsigned long long)n, (unsigned long long)rl.rlim_cur,
			 (unsigned long long)rl.rlim_max);
	rl.rlim_cur = n;
	if (setrlimit(RLIMIT_NOFILE, &rl) < 0)
		sup_tfail(t, "setrlimit(RLIMIT_NOFILE, %llu): %s", (unsigned long long)n,
			 strerror(errno));
}

/* fixed[] then args[] (NULL-terminated) into argv (with its NULL). */
static void sup_argv(struct sup *t, char *argv[], size_t cap, const char *const fixed[],
		     size_t nfixed, const char *const args[])
{
	size_t n = 0;

	for (size_t i = 0; i < nfixed; i++)
		argv[n++] = (char *)fixed[i];
	for (size_t i = 0; args && args[i]; i++) {
		if (n + 1 >= cap)
			sup_tfail(t, "more than %zu arguments", cap - 1);
		argv[n++] = (char *)args[i];
	}
	argv[n] = NULL;
}

/* A NULL-terminated variadic list of strings into args[] (with its NULL);
 * 0, or -1 when there are more than fit. */
static int sup_collect(const char *args[], size_t cap, va_list ap)
{
	size_t n = 0;
	const char *a;

	while ((a = va_arg(ap, const char *)) != NULL) {
		if (n + 1 >= cap)
			return -1;
		args[n++] = a;
	}
	args[n] = NULL;
	return 0;
}

/* After a process ended: a signal or a sanitizer report fails the test. */
static void sup_check_end(struct sup *t, struct proc *p)
{
	char how[96], report[512];

	if (WIFSIGNALED(p->status))
		sup_tfail(t, "%s %s: %s", t->be->name, p->label,
			 proc_how(p, how, sizeof(how)));
	int r = sup_sanitizer_report(p, report, sizeof(report));
	if (r < 0)
		sup_tfail(t, "%s: cannot read %s: %s", p->label, p->err, strerror(errno));
	if (r > 0)
		sup_tfail(t, "%s %s: sanitizer report: %s", t->be->name, p->label, report);
}

/* Wait for p until the test's deadline; kill it and fail at the deadline. */
static int sup_wait_or_kill(struct sup *t, struct proc *p)
{
	int r = proc_wait(p, t->deadline_ns);

	if (r < 0)
		sup_tfail(t, "%s: cannot wait for it: %s", p->label, strerror(errno));
	if (r == 0) {
		(void)proc_kill(p);   /* says why if it cannot */
		sup_tfail(t, "%s %s: still running at the test's time limit of %g s; killed",
			 t->be->name, p->label, t->limit_s);
	}
	sup_check_end(t, p);
	return proc_exit_code(p);
}

/* Wait for the server's first line, "listening on HOST:PORT", and set
 * t->addr; fail the test if it ends, says something else or nothing in
 * time (then it is killed). */
static void sup_read_listening(struct sup *t, uint64_t deadline)
{
	static const char want[] = "listening on ";
	char line[160], how[96];
	int fd = open(t->server.out, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		sup_tfail(t, "server: cannot open %s: %s", t->server.out, strerror(errno));
	int r = proc_wait_line(&t->server, fd, want, line, sizeof(line), deadline);
	int saved = errno;
	(void)close(fd);   /* read-only */
	if (r < 0)
		sup_tfail(t, "server: read %s: %s", t->server.out, strerror(saved));
	if (r == PROC_LINE_OTHER)
		sup_tfail(t, "server: the first line on stdout is \"%s\", not \"%sHOST:PORT\"",
			 line, want);
	/* A server that said its line and died at once did not start either. */
	if (r == PROC_LINE_OK && proc_poll(&t->server) < 0)
		sup_tfail(t, "server: cannot wait for it: %s", strerror(errno));
	if (r == PROC_LINE_ENDED || t->server.reaped) {
		sup_check_end(t, &t->server);
		sup_tfail(t, "%s server ended (%s) instead of serving",
			 t->be->name, proc_how(&t->server, how, sizeof(how)));
	}
	if (r == PROC_LINE_TIMEOUT) {
		proc_kill(&t->server);
		sup_tfail(t, "%s server: no \"listening on\" line within %g s; killed",
			 t->be->name, SUP_START_TIMEOUT_S);
	}
	const char *addr = line + sizeof(want) - 1, *colon = strrchr(addr, ':');
	size_t len = strlen(addr);
	if (!colon || atoi(colon + 1) <= 0 || len >= sizeof(t->addr))
		sup_tfail(t, "server: \"%s\" has no usable HOST:PORT", line);
	memcpy(t->addr, addr, len + 1);
}

void sup_server_startv_at(struct sup *t, const char *const args[], const char *file, int line)
{
	const char *fixed[] = {
		DAQMUX_BIN, "server", "--backend", t->be->name, "--listen", "127.0.0.1:0",
		"--json", t->json_path,
	};
	char *argv[SUP_MAX_ARGS], *env = NULL;
	uint64_t deadline = sup_after(SUP_START_TIMEOUT_S);
	size_t n = ARRAY_SIZE(fixed);
	int rc;

	sup_at(t, file, line);
	if (t->server.pid > 0)
		sup_tfail(t, "the server of this test is already started");
	if (deadline > t->deadline_ns)
		deadline = t->deadline_ns;
	sup_argv(t, argv, ARRAY_SIZE(argv), fixed, ARRAY_SIZE(fixed), args);
	/* The variant's arguments after the test's: they are options, so
	 * the order does not matter, and the fixed ones stay first. */
	while (argv[n])
		n++;
	sup_variant_args(t, argv, &n, ARRAY_SIZE(argv));
	/* The variant's environment for the server only: set around the
	 * spawn (the tests are single-threaded; the child inherits it). */
	if (t->v->env && (!(env = strdup(t->v->env)) || putenv(env) != 0))
		sup_tfail(t, "cannot set %s for the server", t->v->env);
	rc = sup_spawn(&t->server, "server", t->dir, argv);
	if (env) {
		*strchr(env, '=') = '\0';
		(void)unsetenv(env);   /* putenv's string is no longer in environ */
		free(env);
	}
	if (rc < 0)
		sup_tfail(t, "cannot start the server");
	sup_read_listening(t, deadline);
}

/* The NULL-terminated argument list of a *_start_at into an array. */
#define SUP_COLLECT(t, last, args)                                              \
	do {                                                                    \
		va_list ap_;                                                    \
		va_start(ap_, last);                                            \
		int rc_ = sup_collect((args), ARRAY_SIZE(args), ap_);           \
		va_end(ap_);                                                    \
		if (rc_ < 0)                                                    \
			sup_tfail((t), "more than %zu arguments", ARRAY_SIZE(args) - 1); \
	} while (0)

void sup_server_start_at(const char *file, int line, struct sup *t, ...)
{
	const char *args[SUP_MAX_ARGS];

	sup_at(t, file, line);
	SUP_COLLECT(t, t, args);
	sup_server_startv_at(t, args, file, line);
}

int sup_server_wait_at(struct sup *t, const char *file, int line)
{
	sup_at(t, file, line);
	if (t->server.pid <= 0)
		sup_tfail(t, "the server of this test was never started");
	return sup_wait_or_kill(t, &t->server);
}

void sup_server_signal_at(struct sup *t, int sig, const char *file, int line)
{
	sup_at(t, file, line);
	if (t->server.pid <= 0 || t->server.reaped)
		sup_tfail(t, "server: not running, cannot send it %s", strsignal(sig));
	if (proc_signal(&t->server, sig) < 0)
		sup_tfail(t, "server: cannot send it %s: %s", strsignal(sig), strerror(errno));
}

void sup_client_startv_at(struct sup *t, const char *const args[], const char *file, int line)
{
	const char *fixed[] = {
		DAQMUX_BIN, "client", "--connect", t->addr, "--json", t->client_json_path,
	};
	char *argv[SUP_MAX_ARGS];

	sup_at(t, file, line);

	if (!t->addr[0])
		sup_tfail(t, "start the server before the client");
	if (t->client.pid > 0)
		sup_tfail(t, "the client of this test is already started");
	sup_argv(t, argv, ARRAY_SIZE(argv), fixed, ARRAY_SIZE(fixed), args);
	if (sup_spawn(&t->client, "client", t->dir, argv) < 0)
		sup_tfail(t, "cannot start the client");
}

void sup_client_start_at(const char *file, int line, struct sup *t, ...)
{
	const char *args[SUP_MAX_ARGS];

	sup_at(t, file, line);
	SUP_COLLECT(t, t, args);
	sup_client_startv_at(t, args, file, line);
}

int sup_client_wait_at(struct sup *t, const char *file, int line)
{
	sup_at(t, file, line);
	if (t->client.pid <= 0)
		sup_tfail(t, "the client of this test was never started");
	return sup_wait_or_kill(t, &t->client);
}

int sup_client_runv_at(struct sup *t, const char *const args[], const char *file, int line)
{
	sup_client_startv_at(t, args, file, line);
	return sup_client_wait_at(t, file, line);
}

int sup_client_run_at(const char *file, int line, struct sup *t, ...)
{
	const char *args[SUP_MAX_ARGS];

	sup_at(t, file, line);
	SUP_COLLECT(t, t, args);
	return sup_client_runv_at(t, args, file, line);
}

int sup_connect_at(struct sup *t, const char *file, int line)
{
	struct net_addr a;
	int fd;

	sup_at(t, file, line);

	if (!t->addr[0])
		sup_tfail(t, "start the server before connecting to it");
	/* A write to a connection the server closed must fail (EPIPE), not
	 * kill the test. */
	if (signal(SIGPIPE, SIG_IGN) == SIG_ERR)
		sup_tfail(t, "signal(SIGPIPE): %s", strerror(errno));
	if (net_resolve(t->addr, 0, &a) < 0)
		sup_tfail(t, "cannot resolve %s", t->addr);
	fd = socket(a.ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		sup_tfail(t, "socket: %s", strerror(errno));
	if (connect(fd, (struct sockaddr *)&a.ss, a.len) < 0) {
		int saved = errno;
		(void)close(fd);
		sup_tfail(t, "connect %s: %s", t->addr, strerror(saved));
	}
	return fd;
}

const struct json *sup_server_json_at(struct sup *t, const char *file, int line)
{
	char err[256];
	const char *be;

	sup_at(t, file, line);

	if (t->json)
		return t->json;
	if (!t->server.reaped)
		sup_tfail(t, "read the server's summary after sup_server_wait()");
	t->json = json_parse_file(t->json_path, err, sizeof(err));
	if (!t->json)
		sup_tfail(t, "%s server summary %s: %s", t->be->name, t->json_path, err);
	be = json_str(json_get(t->json, "backend"), NULL);
	if (!be || strcmp(be, t->be->name) != 0)
		sup_tfail(t, "the summary says backend \"%s\", the test ran \"%s\"",
			 be ? be : "(none)", t->be->name);
	/* Every summary says what it is and which build wrote it. */
	if (strcmp(json_path_str(t->json, "schema.name", ""), "daqmux-server") != 0 ||
	    strcmp(json_path_str(t->json, "daqmux_version", ""), daqmux_version()) != 0)
		sup_tfail(t, "the summary's schema.name or daqmux_version is not "
			  "\"daqmux-server\", \"%s\"", daqmux_version());
	return t->json;
}

const struct json *sup_client_json_at(struct sup *t, const char *file, int line)
{
	char err[256];

	sup_at(t, file, line);
	if (t->client_json)
		return t->client_json;
	if (!t->client.reaped)
		sup_tfail(t, "read the client's summary after it ended");
	t->client_json = json_parse_file(t->client_json_path, err, sizeof(err));
	if (!t->client_json)
		sup_tfail(t, "client summary %s: %s", t->client_json_path, err);
	return t->client_json;
}

const struct json *sup_find_id(const struct json *arr, uint64_t id)
{
	if (!arr || arr->type != JSON_ARR)
		return NULL;
	for (const struct json *s = arr->child; s; s = s->next) {
		const struct json *v = json_get(s, "id");
		if (v && v->type == JSON_NUM && json_u64(v, UINT64_MAX) == id)
			return s;
	}
	return NULL;
}

const struct json *sup_source(const struct json *summary, uint64_t id)
{
	return sup_find_id(json_get(summary, "sources"), id);
}

void sup_passed_at(struct sup *t, const char *file, int line)
{
	sup_at(t, file, line);
	for (unsigned i = 0; i < t->nextra; i++)
		if (!t->extra[i].reaped)
			sup_tfail(t, "the test ended with its %s still running", t->extra[i].label);
	if (t->client.pid > 0 && !t->client.reaped)
		sup_tfail(t, "the test ended with its client still running");
	if (t->server.pid > 0 && !t->server.reaped)
		sup_tfail(t, "the test ended with its server still running");
	t->passed = 1;
}

/* ---- assertions ----------------------------------------------------------- */

/* What j is, for a message: "source 3 (status error: why)" for a record
 * of sources[], "summary" for the top level. */
static const char *sup_what(const struct json *j, char *buf, size_t len)
{
	const struct json *id = json_get(j, "id"), *st = json_get(j, "status");

	if (id && json_get(j, "peer")) {
		const char *status = json_str(st, "?"), *error = json_str(json_get(j, "error"), "");
		snprintf(buf, len, "source %s (status %s%s%s)", id->type == JSON_NUM ? id->str : "?",
			 status, *error ? ": " : "", error);
	} else {
		snprintf(buf, len, "summary");
	}
	return buf;
}

static int sup_is_uint(const struct json *v)
{
	if (!v || v->type != JSON_NUM || !v->str || !*v->str)
		return 0;
	for (const char *c = v->str; *c; c++)
		if (*c < '0' || *c > '9')
			return 0;
	return 1;
}

static const char *sup_type_name(const struct json *v)
{
	static const char *const names[] = {
		[JSON_NULL] = "null", [JSON_BOOL] = "a boolean", [JSON_NUM] = "a number",
		[JSON_STR] = "a string", [JSON_ARR] = "an array", [JSON_OBJ] = "an object",
	};
	return v ? names[v->type] : "missing";
}

uint64_t sup_u64_at(const struct json *j, const char *path, const char *file, int line)
{
	const struct json *v = json_path(j, path);
	char what[256];

	if (!sup_is_uint(v))
		sup_fail_at(file, line, "%s: \"%s\" is %s%s%s, expected a non-negative integer",
			    sup_what(j, what, sizeof(what)), path, sup_type_name(v),
			    v && v->type == JSON_NUM ? " " : "", v && v->type == JSON_NUM ? v->str : "");
	return json_u64(v, 0);
}

const char *sup_str_at(const struct json *j, const char *path, const char *file, int line)
{
	const struct json *v = json_path(j, path);
	char what[256];

	if (!v || v->type != JSON_STR)
		sup_fail_at(file, line, "%s: \"%s\" is %s, expected a string",
			    sup_what(j, what, sizeof(what)), path, sup_type_name(v));
	return v->str;
}

void sup_expect_u64_at(const struct json *j, const char *path, uint64_t want,
		       const char *file, int line)
{
	uint64_t got = sup_u64_at(j, path, file, line);
	char what[256];

	if (got != want)
		sup_fail_at(file, line, "%s: %s is %llu, expected %llu",
			    sup_what(j, what, sizeof(what)), path,
			    (unsigned long long)got, (unsigned long long)want);
}

void sup_expect_str_at(const struct json *j, const char *path, const char *want,
		       const char *file, int line)
{
	const char *got = sup_str_at(j, path, file, line);
	char what[256];

	if (strcmp(got, want) != 0)
		sup_fail_at(file, line, "%s: %s is \"%s\", expected \"%s\"",
			    sup_what(j, what, sizeof(what)), path, got, want);
}

void sup_expect_contains_at(const struct json *j, const char *path, const char *needle,
			    const char *file, int line)
{
	const char *got = sup_str_at(j, path, file, line);
	char what[256];

	if (!strstr(got, needle))
		sup_fail_at(file, line, "%s: %s \"%s\" does not mention \"%s\"",
			    sup_what(j, what, sizeof(what)), path, got, needle);
}

const struct json *sup_expect_source_at(struct sup *t, uint64_t id, const char *file, int line)
{
	const struct json *s = sup_source(sup_server_json_at(t, file, line), id);

	if (!s)
		sup_fail_at(file, line, "%s: the summary has no record of source %llu",
			    t->be->name, (unsigned long long)id);
	return s;
}

void sup_expect_complete_at(struct sup *t, uint64_t id, uint64_t frames,
			    const char *file, int line)
{
	static const char *const zero[] = { "lost", "duplicates", "late", "crc_errors" };
	const struct json *s = sup_expect_source_at(t, id, file, line);
	char what[256], bad[512] = "";
	size_t used = 0;

	/* Every mismatch in one message: "frames 50 (want 100), lost 2". */
#define SUP_BAD(...) \
	used += (size_t)snprintf(bad + used, used < sizeof(bad) ? sizeof(bad) - used : 0, __VA_ARGS__)
	uint64_t got = sup_u64_at(s, "frames", file, line);
	if (got != frames)
		SUP_BAD("%sframes %llu (expected %llu)", used ? ", " : "",
			(unsigned long long)got, (unsigned long long)frames);
	for (size_t i = 0; i < ARRAY_SIZE(zero); i++) {
		got = sup_u64_at(s, zero[i], file, line);
		if (got)
			SUP_BAD("%s%s %llu", used ? ", " : "", zero[i], (unsigned long long)got);
	}
	if (strcmp(sup_str_at(s, "status", file, line), "complete") != 0)
		SUP_BAD("%snot complete", used ? ", " : "");
#undef SUP_BAD
	if (used)
		sup_fail_at(file, line, "%s %s: %s", t->be->name, sup_what(s, what, sizeof(what)), bad);
}

/* ---- more processes, hand-made connections ------------------------------ */

struct proc *sup_extra_client_start_at(const char *file, int line, struct sup *t,
					   const char *label, ...)
{
	const char *args[SUP_MAX_ARGS];
	char json[PATH_MAX], *argv[SUP_MAX_ARGS];
	struct proc *p;

	sup_at(t, file, line);
	SUP_COLLECT(t, label, args);
	if (!t->addr[0])
		sup_tfail(t, "start the server before the client");
	if (t->nextra >= SUP_MAX_EXTRA)
		sup_tfail(t, "more than %d extra clients", SUP_MAX_EXTRA);
	if ((size_t)snprintf(json, sizeof(json), "%s/%s.json", t->dir, label) >= sizeof(json))
		sup_tfail(t, "%s: path too long under %s", label, t->dir);

	const char *fixed[] = {
		DAQMUX_BIN, "client", "--connect", t->addr, "--json", json,
	};
	sup_argv(t, argv, ARRAY_SIZE(argv), fixed, ARRAY_SIZE(fixed), args);
	p = &t->extra[t->nextra];
	if (sup_spawn(p, label, t->dir, argv) < 0)
		sup_tfail(t, "cannot start %s", label);
	t->nextra++;
	return p;
}

int sup_finish_at(struct sup *t, struct proc *p, const char *file, int line)
{
	sup_at(t, file, line);
	if (p->pid <= 0)
		sup_tfail(t, "%s: never started", p->label ? p->label : "process");
	return sup_wait_or_kill(t, p);
}

void sup_server_next_at(struct sup *t, const char *file, int line)
{
	static const char *const ext[] = { "out", "err", "json" };
	char from[PATH_MAX + 16], to[PATH_MAX + 16];

	sup_at(t, file, line);
	if (t->server.pid <= 0 || !t->server.reaped)
		sup_tfail(t, "sup_server_next: the server has not ended");
	for (size_t i = 0; i < ARRAY_SIZE(ext); i++) {
		snprintf(from, sizeof(from), "%s/server.%s", t->dir, ext[i]);
		snprintf(to, sizeof(to), "%s/server.1.%s", t->dir, ext[i]);
		/* No summary is normal after a SIGKILL. */
		if (rename(from, to) < 0 && errno != ENOENT)
			sup_tfail(t, "rename %s: %s", from, strerror(errno));
	}
	json_free(t->json);
	t->json = NULL;
	memset(&t->server, 0, sizeof(t->server));
	t->server.label = "server";
}

void sup_payload(uint32_t id, uint64_t seq, void *buf, size_t len)
{
	uint64_t x = ((uint64_t)id << 40) ^ seq ^ 0x9E3779B97F4A7C15ull;
	uint8_t *p = buf;

	for (size_t i = 0; i < len; i++) {
		if (i % 8 == 0) {       /* splitmix64, one word per 8 bytes */
			uint64_t z = (x += 0x9E3779B97F4A7C15ull);
			z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
			z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
			x ^= z ^ (z >> 31);
		}
		p[i] = (uint8_t)(x >> (8 * (i % 8)));
	}
}

int sup_send_frame(int fd, unsigned type, uint32_t id, uint64_t seq,
		   const void *payload, uint32_t len)
{
	uint8_t buf[PROTO_HEADER_SIZE + 4096];
	struct proto_header h;
	size_t n = PROTO_HEADER_SIZE + len, off = 0;

	if (len > sizeof(buf) - PROTO_HEADER_SIZE) {
		errno = EMSGSIZE;
		return -1;
	}
	if (len && !payload) {
		sup_payload(id, seq, buf + PROTO_HEADER_SIZE, len);
		payload = buf + PROTO_HEADER_SIZE;
	}
	h = proto_make(type, id, seq, now_ns(), len, len ? crc32c(0, payload, len) : 0);
	proto_encode(&h, buf);
	if (len && payload != buf + PROTO_HEADER_SIZE)
		memcpy(buf + PROTO_HEADER_SIZE, payload, len);
	while (off < n) {
		ssize_t w = send(fd, buf + off, n - off, MSG_NOSIGNAL);
		if (w < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		off += (size_t)w;
	}
	return 0;
}

int sup_close_reset(int fd)
{
	struct linger lg = { .l_onoff = 1, .l_linger = 0 };

	if (setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg)) < 0) {
		int saved = errno;
		(void)close(fd);
		errno = saved;
		return -1;
	}
	return close(fd);
}

/* ---- a suite run against every backend ---------------------------------- */

int sup_wanted(const char *name, int argc, char **argv)
{
	if (argc < 2)
		return 1;
	for (int i = 1; i < argc; i++)
		if (strcmp(argv[i], name) == 0)
			return 1;
	return 0;
}

/* Which build this is: the variants that run depend on it. */
#if defined(__SANITIZE_THREAD__)
#define SUP_TSAN 1
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define SUP_TSAN 1
#endif
#endif
#if defined(__SANITIZE_ADDRESS__)
#define SUP_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define SUP_ASAN 1
#endif
#endif
#ifndef SUP_TSAN
#define SUP_TSAN 0
#endif
#ifndef SUP_ASAN
#define SUP_ASAN 0
#endif

#define SUP_MAX_VARIANTS 64

static struct sup_variant sup_variant_table[2][SUP_MAX_VARIANTS];
static size_t sup_nvariant[2];

static void sup_variant_add(struct sup_variant *tab, size_t *n, const struct backend *be,
			    const char *suffix)
{
	struct sup_variant *v;

	if (*n == SUP_MAX_VARIANTS)
		return;
	v = &tab[(*n)++];
	*v = (struct sup_variant){ .be = be, .loops = 1 };
	snprintf(v->name, sizeof(v->name), "%s%s%s", be->name, suffix ? "/" : "",
		 suffix ? suffix : "");
}

const struct sup_variant *sup_variants(unsigned flags, size_t *n)
{
	int all = (flags & SUP_VARIANTS) != 0;
	struct sup_variant *tab = sup_variant_table[all];
	size_t *len = &sup_nvariant[all];

	if (*len) {
		*n = *len;
		return tab;
	}
	for (size_t b = 0; b < backend_count; b++) {
		const struct backend *be = backends[b];
		sup_variant_add(tab, len, be, NULL);
		if (!all)
			continue;
		/* Several loops add threads (and the hand-off): worth the plain
		 * and the ThreadSanitizer builds, not another memory check. */
		if (backend_has(be, BE_LOOPS) && !SUP_ASAN) {
			sup_variant_add(tab, len, be, "loops2");
			tab[*len - 1].args[0] = "--loops";
			tab[*len - 1].args[1] = "2";
			tab[*len - 1].loops = 2;
		}
		/* A backend's own variants are single-threaded paths through
		 * its buffers: the plain and the AddressSanitizer builds. */
		for (unsigned i = 0; i < be->nvariants && !SUP_TSAN; i++) {
			sup_variant_add(tab, len, be, be->variants[i].name);
			tab[*len - 1].env = be->variants[i].env;
			tab[*len - 1].unfair = be->variants[i].unfair;
		}
	}
	*n = *len;
	return tab;
}

const struct sup_variant *sup_variant_default(void)
{
	const struct backend *def = backend_default();
	size_t n;
	const struct sup_variant *v = sup_variants(0, &n);

	for (size_t i = 0; i < n; i++)
		if (v[i].be == def)
			return &v[i];
	return &v[0];   /* none can run: its tests skip with the reason */
}

int sup_known_name(const char *name, unsigned flags)
{
	size_t n;
	const struct sup_variant *v = sup_variants(flags, &n);

	for (size_t i = 0; i < n; i++)
		if (strcmp(v[i].name, name) == 0 || strcmp(v[i].be->name, name) == 0)
			return 1;
	return 0;
}

int sup_wanted_variant(const struct sup_variant *v, int argc, char **argv)
{
	return sup_wanted(v->name, argc, argv) || (argc > 1 && sup_wanted(v->be->name, argc, argv));
}

void sup_variant_args(struct sup *t, char *argv[], size_t *n, size_t cap)
{
	for (size_t i = 0; t->v->args[i]; i++) {
		if (*n + 1 >= cap)
			sup_tfail(t, "more than %zu arguments", cap - 1);
		argv[(*n)++] = (char *)t->v->args[i];
	}
	argv[*n] = NULL;
}

int sup_run_group(const char *group, const struct sup_variant *v, const struct sup_case *cases,
		  size_t n, int (*teardown)(void **state))
{
	struct CMUnitTest *tests = calloc(n, sizeof(*tests));
	char (*names)[160] = calloc(n, sizeof(*names));
	int failed;

	if (!tests || !names) {
		fprintf(stderr, "%s: out of memory for the test list\n", group);
		free(tests);
		free(names);
		return 1;
	}
	for (size_t i = 0; i < n; i++) {
		snprintf(names[i], sizeof(names[i]), "%s: %s", group, cases[i].name);
		tests[i] = (struct CMUnitTest){
			.name = names[i],
			.test_func = cases[i].run,
			.setup_func = sup_setup,
			.teardown_func = teardown ? teardown : sup_teardown,
			.initial_state = (void *)v,
		};
	}
	failed = _cmocka_run_group_tests(group, tests, n, NULL, NULL);
	free(tests);
	free(names);
	return failed;
}

int sup_run_variants(int argc, char **argv, unsigned flags, const struct sup_case *cases,
		     size_t n, int (*teardown)(void **state))
{
	size_t nv;
	const struct sup_variant *v = sup_variants(flags, &nv);
	int failed = 0;

	for (size_t i = 0; i < nv; i++)
		if (sup_wanted_variant(&v[i], argc, argv) &&
		    sup_run_group(v[i].name, &v[i], cases, n, teardown) != 0)
			failed++;
	return failed;
}

int sup_main(const char *prog, int argc, char **argv, unsigned flags,
	     const struct sup_case *cases, size_t n, int (*teardown)(void **state))
{
	const char *filter = getenv("DAQMUX_TEST_FILTER");

	for (int i = 1; i < argc; i++) {
		if (!sup_known_name(argv[i], flags)) {
			fprintf(stderr, "%s: no backend or variant '%s'\n", prog, argv[i]);
			return 2;
		}
	}
	if (filter && *filter)
		cmocka_set_test_filter(filter);
	return sup_run_variants(argc, argv, flags, cases, n, teardown) ? 1 : 0;
}
