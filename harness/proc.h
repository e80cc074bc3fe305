/*
 * proc.h - child processes: start one with its output in files, wait for
 * it against a deadline, stop it, reap it, say how it ended, and read the
 * line it announces itself with.
 *
 * Why it is here: `daqmux compare` and the tests both drive bin/daqmux as
 * child processes (a server, whose first line says "listening on
 * HOST:PORT", then clients against that address), and both need the same
 * care, so it is written once:
 *  - no wait without a deadline: a hung child must fail a run or a test,
 *    never hang it. Waits poll waitpid(WNOHANG) every few milliseconds
 *    (a blocking waitpid cannot time out); what is measured is measured
 *    by the server itself, so the polling costs a little CPU, nothing else;
 *  - only PIDs started here are ever signalled, never one already reaped
 *    (it may belong to someone else by then), and never 0 or -1;
 *  - every child is reaped (a zombie only survives a child stuck in the
 *    kernel beyond SIGKILL, which is reported, not waited for forever);
 *  - every descriptor opened here is close-on-exec, so one child's output
 *    file or pipe never leaks into another child.
 *
 * Not thread-safe per struct proc. proc_spawn may be called from a
 * threaded process: between fork and exec the child makes only
 * async-signal-safe calls, and a failure there is reported to the parent
 * through a close-on-exec pipe and written out by the parent.
 */
#ifndef DAQMUX_PROC_H
#define DAQMUX_PROC_H

#include <limits.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/resource.h>
#include <sys/types.h>

struct proc {
	pid_t pid;      /* > 0 once started, and kept once reaped (for messages) */
	int   status;   /* its waitpid status, once reaped */
	int   reaped;   /* waited for (or lost to someone else's wait: proc_poll) */
	int   timed_out; /* proc_finish stopped it at its deadline */
	const char *label;      /* "server", "gnuplot": names it in messages and
				   its files under proc_opts.logdir */
	char  out[PATH_MAX];    /* the file of its stdout, "" if none */
	char  err[PATH_MAX];    /* the file of its stderr (may be out), "" if none */
	char  cmd[512];         /* its command line, for messages */
};

struct proc_opts {
	const char *out;        /* stdout: this file, created or truncated ... */
	int out_fd;             /* ... or this descriptor (>= 0: e.g. a pipe);
				   neither: /dev/null */
	const char *err;        /* stderr: this file; NULL: the same as stdout */
	const char *logdir;     /* instead: stdout in LOGDIR/LABEL.out, stderr in
				   LOGDIR/LABEL.err */
	const char *cwd;        /* its working directory; NULL: ours */
	int cpu;                /* pinned to this CPU before exec; -1: not pinned */
	rlim_t nofile;          /* its soft RLIMIT_NOFILE (at most the hard
				   limit); 0: ours */
	int die_with_parent;    /* SIGKILL when the thread that started it ends
				   (PR_SET_PDEATHSIG) */
};

/* Defaults: /dev/null for output, not pinned, everything else ours. */
void proc_opts_init(struct proc_opts *o);

/*
 * fork and exec argv (argv[0] with a '/' is a path, without one it is
 * looked up in PATH), with stdin from /dev/null, stdout and stderr as o
 * says, the signal mask empty and SIGINT and SIGPIPE at their defaults
 * (an ignored signal stays ignored across exec). 0 when the child exists;
 * -1 with the reason in why (and nothing left behind) otherwise.
 *
 * Like a shell, a child that could not set itself up ends with status
 * 126 (pinning, rlimit, cwd, ...) or 127 (exec: e.g. not installed), the
 * reason ("exec gnuplot: No such file or directory") on its stderr; by
 * the time proc_spawn returns it has either exec'd or written that.
 */
int proc_spawn(struct proc *p, const char *label, char *const argv[],
	       const struct proc_opts *o, char *why, size_t len);

/* Reap it if it has ended, without waiting: 1 ended (p->status set), 0
 * still running, -1 waitpid failed (errno; ECHILD also for one never
 * started). On ECHILD it is marked reaped with status -1: someone else
 * reaped it, and its PID must not be signalled any more. */
int proc_poll(struct proc *p);

/* proc_poll every few ms until it ends or until deadline_ns
 * (CLOCK_MONOTONIC; 0: just look). 1 ended, 0 still running, -1 as
 * proc_poll. */
int proc_wait(struct proc *p, uint64_t deadline_ns);

/* kill(2) unless it has been reaped or was never started (then 0). 0, or
 * -1 with errno. */
int proc_signal(struct proc *p, int sig);

/* SIGKILL and reap, waiting at most PROC_REAP_MS. 0 (also when nothing
 * runs), or -1 with errno after a message on stderr: ETIMEDOUT when it is
 * still there, stuck in the kernel, and left behind. */
#define PROC_REAP_MS 5000
int proc_kill(struct proc *p);

/* SIGTERM, up to grace_ms for it to end by itself (a server still writes
 * its summary), then proc_kill. 0, or -1 as proc_kill. */
int proc_stop(struct proc *p, unsigned grace_ms);

/* Wait until it ends or until deadline_ns; past that it is stopped
 * (proc_stop with grace_ms) and p->timed_out set. Its proc_exit_code. */
int proc_finish(struct proc *p, uint64_t deadline_ns, unsigned grace_ms);

/* The exit status of a reaped process, 128 + N for signal N (as a shell
 * says it), -1 if not reaped. */
int proc_exit_code(const struct proc *p);

/* Run argv to completion, at most timeout_s (then it is killed). Its exit
 * status; -1 with why when it could not start, ran out of time or was
 * killed by a signal. */
int proc_run(const char *label, char *const argv[], const struct proc_opts *o,
	     double timeout_s, char *why, size_t len);

/* "exit 1", "killed by signal 11 (Segmentation fault)[, core dumped]",
 * "wait status 0x..." for a waitpid status; returns buf. */
const char *proc_describe(int status, char *buf, size_t len);

/* The same for p, also "running", "not started", and "did not finish in
 * time and was killed" when proc_finish stopped it; returns buf. */
const char *proc_how(const struct proc *p, char *buf, size_t len);

/*
 * The first line p writes to fd (without its newline, in line), read
 * until deadline_ns. fd is a pipe from its stdout (EOF: it has closed it)
 * or its output file opened for reading (nothing yet: proc_poll says
 * whether more can come). It is read byte by byte, so nothing past the
 * line is consumed.
 */
enum proc_line {
	PROC_LINE_OK,           /* a line starting with prefix */
	PROC_LINE_OTHER,        /* a line that does not (or longer than len - 1) */
	PROC_LINE_ENDED,        /* it ended or closed fd first; line has what came */
	PROC_LINE_TIMEOUT,      /* no line by the deadline; it still runs */
};
int proc_wait_line(struct proc *p, int fd, const char *prefix, char *line, size_t len,
		   uint64_t deadline_ns);   /* an enum proc_line, or -1 with errno */

#endif
