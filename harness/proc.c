/* proc.c - see proc.h. */
#include "proc.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "util.h"

#define PROC_POLL_NS (5 * 1000000ull)   /* how often a wait looks */

/* How long to sleep before the next look: a poll period, or less when
 * the deadline is nearer. */
static uint64_t proc_nap_ns(uint64_t deadline_ns, uint64_t now)
{
	return deadline_ns - now < PROC_POLL_NS ? deadline_ns - now : PROC_POLL_NS;
}

/* EINTR only shortens the nap; the caller looks again either way. */
static void proc_nap(uint64_t ns)
{
	struct timespec ts = { (time_t)(ns / 1000000000u), (long)(ns % 1000000000u) };

	(void)nanosleep(&ts, NULL);
}

void proc_opts_init(struct proc_opts *o)
{
	memset(o, 0, sizeof(*o));
	o->out_fd = -1;
	o->cpu = -1;
}

/* ---- starting one --------------------------------------------------------- */

/* What the child was doing when it gave up, reported through a pipe. */
enum proc_step {
	PROC_STEP_PDEATHSIG, PROC_STEP_ORPHAN, PROC_STEP_SIGNALS, PROC_STEP_STDIO,
	PROC_STEP_NOFILE, PROC_STEP_CPU, PROC_STEP_CWD, PROC_STEP_EXEC,
};

struct proc_failed {
	int step;       /* enum proc_step */
	int err;        /* its errno */
};

/* In the child: fd moved above 0-2 (close-on-exec), so that putting
 * stdin, stdout and stderr in place cannot overwrite it. */
static int proc_lift(int fd)
{
	return fd > STDERR_FILENO ? fd : fcntl(fd, F_DUPFD_CLOEXEC, STDERR_FILENO + 1);
}

/* The child, between fork and exec: only async-signal-safe calls (the
 * parent may have other threads, holding locks we would inherit held). A
 * failed step is written to `report` for the parent to put into words,
 * and the exit status says the rest: 126 set-up, 127 exec. */
static void proc_child(char *const argv[], const struct proc_opts *o, pid_t parent,
		       int in, int out, int err, int report) __attribute__((noreturn));
static void proc_child(char *const argv[], const struct proc_opts *o, pid_t parent,
		       int in, int out, int err, int report)
{
	struct proc_failed f = { PROC_STEP_PDEATHSIG, 0 };
	sigset_t none;

	/* First, so that nothing below can outlive a parent that dies now.
	 * If it is already gone we were adopted before asking: give up. */
	if (o->die_with_parent) {
		if (prctl(PR_SET_PDEATHSIG, SIGKILL) < 0)
			goto fail;
		f.step = PROC_STEP_ORPHAN;
		errno = 0;
		if (getppid() != parent)
			goto fail;
	}
	/* A clean start: the parent may block signals or ignore SIGPIPE
	 * (the tests do, to see EPIPE), and an ignored signal stays ignored
	 * across exec. */
	f.step = PROC_STEP_SIGNALS;
	if (sigemptyset(&none) < 0 || sigprocmask(SIG_SETMASK, &none, NULL) < 0 ||
	    signal(SIGPIPE, SIG_DFL) == SIG_ERR || signal(SIGINT, SIG_DFL) == SIG_ERR)
		goto fail;
	f.step = PROC_STEP_STDIO;
	if ((report = proc_lift(report)) < 0)
		_exit(126);   /* nowhere to say why */
	if ((in = proc_lift(in)) < 0 || (out = proc_lift(out)) < 0 || (err = proc_lift(err)) < 0 ||
	    dup2(in, STDIN_FILENO) < 0 || dup2(out, STDOUT_FILENO) < 0 ||
	    dup2(err, STDERR_FILENO) < 0)
		goto fail;
	if (o->nofile) {
		struct rlimit rl;

		f.step = PROC_STEP_NOFILE;
		if (getrlimit(RLIMIT_NOFILE, &rl) < 0)
			goto fail;
		rl.rlim_cur = o->nofile;
		if (setrlimit(RLIMIT_NOFILE, &rl) < 0)
			goto fail;
	}
	if (o->cpu >= 0) {
		cpu_set_t set;

		f.step = PROC_STEP_CPU;
		CPU_ZERO(&set);
		CPU_SET(o->cpu, &set);
		if (sched_setaffinity(0, sizeof(set), &set) < 0)
			goto fail;
	}
	f.step = PROC_STEP_CWD;
	if (o->cwd && chdir(o->cwd) < 0)
		goto fail;
	f.step = PROC_STEP_EXEC;
	if (strchr(argv[0], '/'))
		execv(argv[0], argv);
	else
		execvp(argv[0], argv);
fail:
	f.err = errno;
	/* If this fails the parent sees a bare 126/127: all it can get. */
	(void)!write(report, &f, sizeof(f));
	_exit(f.step == PROC_STEP_EXEC ? 127 : 126);
}

/* In the parent: wait until the child has exec'd (the report pipe closes
 * without a word) or has said which step failed, and write that on the
 * child's stderr, where a shell would have said it. */
static void proc_report(char *const argv[], const struct proc_opts *o, int rfd, int efd)
{
	static const char *const steps[] = {
		[PROC_STEP_PDEATHSIG] = "prctl(PR_SET_PDEATHSIG)",
		[PROC_STEP_ORPHAN]    = "the process that started it had ended",
		[PROC_STEP_SIGNALS]   = "resetting its signals",
		[PROC_STEP_STDIO]     = "setting up stdin, stdout and stderr",
		[PROC_STEP_NOFILE]    = "setrlimit RLIMIT_NOFILE",
		[PROC_STEP_CPU]       = "sched_setaffinity to CPU",
		[PROC_STEP_CWD]       = "chdir",
		[PROC_STEP_EXEC]      = "exec",
	};
	struct proc_failed f;
	char num[24] = "";
	const char *arg = num;
	ssize_t n;

	do
		n = read(rfd, &f, sizeof(f));
	while (n < 0 && errno == EINTR);
	/* 0: it exec'd. A short report cannot happen (< PIPE_BUF). */
	if (n != (ssize_t)sizeof(f) || f.step < 0 || (size_t)f.step >= ARRAY_SIZE(steps))
		return;
	if (f.step == PROC_STEP_NOFILE)
		snprintf(num, sizeof(num), "%llu", (unsigned long long)o->nofile);
	else if (f.step == PROC_STEP_CPU)
		snprintf(num, sizeof(num), "%d", o->cpu);
	else if (f.step == PROC_STEP_CWD)
		arg = o->cwd;
	else if (f.step == PROC_STEP_EXEC)
		arg = argv[0];
	/* Best effort: the exit status (126, 127) says it anyway. */
	(void)dprintf(efd, "%s%s%s%s%s\n", steps[f.step], *arg ? " " : "", arg,
		      f.err ? ": " : "", f.err ? strerror(f.err) : "");
}

/* The child has its copies. close(2) releases the descriptor even when
 * it reports an error, and nothing was written through ours but a
 * best-effort report, so there is nothing to check. */
static void proc_close(int fd)
{
	if (fd >= 0)
		(void)close(fd);
}

static int proc_create(const char *path, char *why, size_t len)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);

	if (fd < 0)
		snprintf(why, len, "cannot create %s: %s", path, strerror(errno));
	return fd;
}

/* argv joined by spaces, cut short where it does not fit. */
static void proc_join(char *buf, size_t len, char *const argv[])
{
	size_t used = 0;

	buf[0] = '\0';
	for (size_t i = 0; argv[i] && used < len; i++) {
		int n = snprintf(buf + used, len - used, "%s%s", i ? " " : "", argv[i]);
		if (n < 0)
			break;
		used += (size_t)n;
	}
}

/* Where its output goes, into p->out and p->err. 0, or -1 with why. */
static int proc_paths(struct proc *p, const struct proc_opts *o, char *why, size_t len)
{
	int n1 = 0, n2 = 0;

	if (o->logdir) {
		n1 = snprintf(p->out, sizeof(p->out), "%s/%s.out", o->logdir, p->label);
		n2 = snprintf(p->err, sizeof(p->err), "%s/%s.err", o->logdir, p->label);
	} else {
		if (o->out && o->out_fd < 0)
			n1 = snprintf(p->out, sizeof(p->out), "%s", o->out);
		if (o->err || (o->out && o->out_fd < 0))
			n2 = snprintf(p->err, sizeof(p->err), "%s", o->err ? o->err : o->out);
	}
	if (n1 < 0 || n2 < 0 || (size_t)n1 >= sizeof(p->out) || (size_t)n2 >= sizeof(p->err)) {
		snprintf(why, len, "%s: the path of its output is too long", p->label);
		return -1;
	}
	return 0;
}

int proc_spawn(struct proc *p, const char *label, char *const argv[],
	       const struct proc_opts *o, char *why, size_t len)
{
	int nul = -1, out = -1, err = -1, rep[2] = { -1, -1 }, rc = -1;
	int cout, cerr;         /* what becomes the child's stdout and stderr */
	pid_t parent = getpid(), pid;

	memset(p, 0, sizeof(*p));
	p->label = label ? label : "child";
	if (!argv || !argv[0]) {
		snprintf(why, len, "no command to run");
		return -1;
	}
	proc_join(p->cmd, sizeof(p->cmd), argv);
	if (proc_paths(p, o, why, len) < 0)
		return -1;
	if (o->cpu >= CPU_SETSIZE) {
		snprintf(why, len, "CPU %d is beyond CPU_SETSIZE (%d)", o->cpu, CPU_SETSIZE);
		return -1;
	}
	nul = open("/dev/null", O_RDWR | O_CLOEXEC);
	if (nul < 0) {
		snprintf(why, len, "cannot open /dev/null: %s", strerror(errno));
		goto done;
	}
	if (p->out[0] && (out = proc_create(p->out, why, len)) < 0)
		goto done;
	if (p->err[0] && strcmp(p->err, p->out) != 0 && (err = proc_create(p->err, why, len)) < 0)
		goto done;
	if (pipe2(rep, O_CLOEXEC) < 0) {
		snprintf(why, len, "pipe2: %s", strerror(errno));
		goto done;
	}
	cout = o->out_fd >= 0 ? o->out_fd : out >= 0 ? out : nul;
	cerr = err >= 0 ? err : cout;

	pid = fork();
	if (pid < 0) {
		snprintf(why, len, "fork: %s", strerror(errno));
		goto done;
	}
	if (pid == 0)
		proc_child(argv, o, parent, nul, cout, cerr, rep[1]);
	p->pid = pid;
	rc = 0;
	/* With our write end closed, the pipe ends when the child execs or exits. */
	proc_close(rep[1]);
	rep[1] = -1;
	proc_report(argv, o, rep[0], cerr);

done:
	proc_close(nul);
	proc_close(out);
	proc_close(err);
	proc_close(rep[0]);
	proc_close(rep[1]);
	return rc;
}

/* ---- waiting, stopping ----------------------------------------------------- */

int proc_poll(struct proc *p)
{
	pid_t r;
	int st;

	if (p->reaped)
		return 1;
	if (p->pid <= 0) {      /* never waitpid(0) or (-1): any child */
		errno = ECHILD;
		return -1;
	}
	do
		r = waitpid(p->pid, &st, WNOHANG);
	while (r < 0 && errno == EINTR);
	if (r == 0)
		return 0;
	if (r < 0) {
		if (errno == ECHILD) {
			p->status = -1;
			p->reaped = 1;
		}
		return -1;
	}
	p->status = st;
	p->reaped = 1;
	return 1;
}

int proc_wait(struct proc *p, uint64_t deadline_ns)
{
	for (;;) {
		int r = proc_poll(p);
		if (r != 0)
			return r;
		uint64_t now = now_ns();
		if (now >= deadline_ns)
			return 0;
		proc_nap(proc_nap_ns(deadline_ns, now));
	}
}

int proc_signal(struct proc *p, int sig)
{
	if (p->reaped || p->pid <= 0)   /* never kill(0) or kill(-1) */
		return 0;
	return kill(p->pid, sig);
}

int proc_kill(struct proc *p)
{
	if (p->reaped || p->pid <= 0)
		return 0;
	if (proc_signal(p, SIGKILL) < 0) {
		msg("%s: SIGKILL pid %ld: %s", p->label, (long)p->pid, strerror(errno));
		return -1;
	}
	int r = proc_wait(p, now_ns() + PROC_REAP_MS * 1000000ull);
	if (r > 0)
		return 0;
	if (r == 0) {
		msg("%s: pid %ld is still there %g s after SIGKILL; left behind", p->label,
		    (long)p->pid, PROC_REAP_MS / 1000.0);
		errno = ETIMEDOUT;
	} else {
		msg("%s: waitpid(%ld): %s", p->label, (long)p->pid, strerror(errno));
	}
	return -1;
}

int proc_stop(struct proc *p, unsigned grace_ms)
{
	if (p->reaped || p->pid <= 0)
		return 0;
	/* A failed SIGTERM or wait still leaves SIGKILL to try. */
	if (grace_ms && proc_signal(p, SIGTERM) == 0 &&
	    proc_wait(p, now_ns() + grace_ms * 1000000ull) > 0)
		return 0;
	return proc_kill(p);
}

int proc_finish(struct proc *p, uint64_t deadline_ns, unsigned grace_ms)
{
	if (p->pid <= 0)
		return -1;
	int r = proc_wait(p, deadline_ns);
	if (r < 0)
		msg("%s: waitpid(%ld): %s", p->label, (long)p->pid, strerror(errno));
	if (r == 0)
		p->timed_out = 1;
	if (!p->reaped)
		(void)proc_stop(p, grace_ms);   /* it says why when that fails */
	return proc_exit_code(p);
}

int proc_exit_code(const struct proc *p)
{
	if (!p->reaped || p->status < 0)
		return -1;
	if (WIFEXITED(p->status))
		return WEXITSTATUS(p->status);
	if (WIFSIGNALED(p->status))
		return 128 + WTERMSIG(p->status);
	return -1;
}

int proc_run(const char *label, char *const argv[], const struct proc_opts *o,
	     double timeout_s, char *why, size_t len)
{
	struct proc p;

	if (proc_spawn(&p, label, argv, o, why, len) < 0)
		return -1;
	(void)proc_finish(&p, now_ns() + (uint64_t)(timeout_s * 1e9), 0);
	if (p.timed_out || !p.reaped || !WIFEXITED(p.status)) {
		proc_how(&p, why, len);
		return -1;
	}
	return WEXITSTATUS(p.status);
}

const char *proc_describe(int status, char *buf, size_t len)
{
	if (WIFEXITED(status))
		snprintf(buf, len, "exit %d", WEXITSTATUS(status));
	else if (WIFSIGNALED(status))
		snprintf(buf, len, "killed by signal %d (%s)%s", WTERMSIG(status),
			 strsignal(WTERMSIG(status)), WCOREDUMP(status) ? ", core dumped" : "");
	else
		snprintf(buf, len, "wait status 0x%x", (unsigned)status);
	return buf;
}

const char *proc_how(const struct proc *p, char *buf, size_t len)
{
	if (p->timed_out)
		snprintf(buf, len, "did not finish in time and was killed");
	else if (p->reaped && p->status == -1)
		snprintf(buf, len, "reaped elsewhere");
	else if (p->reaped)
		proc_describe(p->status, buf, len);
	else
		snprintf(buf, len, "%s", p->pid > 0 ? "running" : "not started");
	return buf;
}

/* ---- its first line ------------------------------------------------------- */

/* Whether a pipe has something (or its EOF) within ms: 1, 0, -1 errno.
 * EINTR counts as "not yet": the caller looks again. */
static int proc_readable(int fd, int ms)
{
	struct pollfd pfd = { .fd = fd, .events = POLLIN };
	int r = poll(&pfd, 1, ms);

	if (r < 0 && errno == EINTR)
		return 0;
	return r;
}

int proc_wait_line(struct proc *p, int fd, const char *prefix, char *line, size_t len,
		   uint64_t deadline_ns)
{
	struct stat st;
	size_t n = 0;
	int last_look = 0;

	if (len < 2) {
		errno = EINVAL;
		return -1;
	}
	line[0] = '\0';
	if (fstat(fd, &st) < 0)
		return -1;
	/* A file always reads at once (0 bytes: nothing yet); a pipe only
	 * when poll says so (0 bytes: the writer is gone). */
	const int file = S_ISREG(st.st_mode);

	for (;;) {
		int ready = file ? 1 : proc_readable(fd, 0);
		if (ready < 0)
			return -1;
		if (ready) {
			char c;
			ssize_t r = read(fd, &c, 1);
			if (r < 0 && errno == EINTR)
				continue;
			if (r < 0)
				return -1;
			if (r == 1 && c == '\n')
				return strncmp(line, prefix, strlen(prefix)) == 0 ? PROC_LINE_OK
										: PROC_LINE_OTHER;
			if (r == 1 && n + 1 == len)
				return PROC_LINE_OTHER;
			if (r == 1) {
				line[n++] = c;
				line[n] = '\0';
				continue;
			}
			if (!file)
				return PROC_LINE_ENDED;
		}
		if (last_look)
			return PROC_LINE_ENDED;
		int r = proc_poll(p);
		if (r < 0)
			return -1;
		if (r > 0) {
			/* What it wrote before it ended is there: read that first. */
			last_look = 1;
			continue;
		}
		uint64_t now = now_ns();
		if (now >= deadline_ns)
			return PROC_LINE_TIMEOUT;
		uint64_t nap = proc_nap_ns(deadline_ns, now);
		if (file)
			proc_nap(nap);
		else if (proc_readable(fd, (int)(nap / 1000000) + 1) < 0)
			return -1;
	}
}
