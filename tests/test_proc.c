/*
 * test_proc.c - the harness's process control (harness/proc.c), on
 * plain commands (sh, sleep, a missing program).
 *
 * Output goes where the options say (a log directory with LABEL.out and
 * LABEL.err, one file for both, /dev/null); exit statuses and signals
 * come back as a shell would say them; a child past its deadline is
 * stopped and marked timed out; a missing program ends with 127 and the
 * reason on its stderr; a signalled or reaped process is never signalled
 * again; the first line is read from a pipe or a file.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "proc.h"
#include "support.h"
#include "util.h"

#define SEC 1000000000ull

static char dir[PATH_MAX];

static int setup(void **state)
{
	(void)state;
	return sup_mkdtemp(dir, sizeof(dir), "proc");
}

static int teardown(void **state)
{
	(void)state;
	return sup_rmdir(dir);
}

static char *slurp(const char *path)
{
	char *s = sup_read_file(path, NULL);
	if (!s)
		fail_msg("cannot read %s: %s", path, strerror(errno));
	return s;
}

static void test_logdir_and_exit_status(void **state)
{
	(void)state;
	char *argv[] = { "sh", "-c", "echo out; echo err >&2; exit 3", NULL };
	struct proc_opts o;
	struct proc p;
	char why[256], how[64];

	proc_opts_init(&o);
	o.logdir = dir;
	assert_int_equal(proc_spawn(&p, "sh3", argv, &o, why, sizeof(why)), 0);
	assert_true(p.pid > 0);
	assert_string_equal(p.cmd, "sh -c echo out; echo err >&2; exit 3");
	assert_int_equal(proc_finish(&p, now_ns() + 10 * SEC, 0), 3);
	assert_false(p.timed_out);
	assert_string_equal(proc_how(&p, how, sizeof(how)), "exit 3");
	char *out = slurp(p.out), *err = slurp(p.err);
	assert_string_equal(out, "out\n");
	assert_string_equal(err, "err\n");
	free(out);
	free(err);
	/* Reaped: never signalled again, even with its PID at hand. */
	assert_int_equal(proc_signal(&p, SIGKILL), 0);
	assert_int_equal(proc_kill(&p), 0);
}

static void test_one_file_for_both(void **state)
{
	(void)state;
	char *argv[] = { "sh", "-c", "echo a; echo b >&2", NULL };
	char path[PATH_MAX + 16], why[256];
	struct proc_opts o;

	snprintf(path, sizeof(path), "%s/both.log", dir);
	proc_opts_init(&o);
	o.out = path;
	assert_int_equal(proc_run("both", argv, &o, 10, why, sizeof(why)), 0);
	char *text = slurp(path);
	assert_string_equal(text, "a\nb\n");
	free(text);
}

static void test_signal_and_deadline(void **state)
{
	(void)state;
	char *argv[] = { "sleep", "30", NULL };
	struct proc_opts o;
	struct proc p;
	char why[256], how[64];

	proc_opts_init(&o);
	assert_int_equal(proc_spawn(&p, "sleep", argv, &o, why, sizeof(why)), 0);
	assert_int_equal(proc_poll(&p), 0);                     /* still running */
	assert_string_equal(proc_how(&p, how, sizeof(how)), "running");
	assert_int_equal(proc_exit_code(&p), -1);
	/* The deadline passes: stopped with SIGTERM, marked. */
	assert_int_equal(proc_finish(&p, now_ns() + SEC / 5, 2000), 128 + SIGTERM);
	assert_true(p.timed_out);
	assert_true(p.reaped);
	assert_non_null(strstr(proc_how(&p, how, sizeof(how)), "did not finish in time"));

	assert_int_equal(proc_spawn(&p, "sleep", argv, &o, why, sizeof(why)), 0);
	assert_int_equal(proc_kill(&p), 0);
	assert_int_equal(proc_exit_code(&p), 128 + SIGKILL);
	assert_non_null(strstr(proc_describe(p.status, how, sizeof(how)), "killed by signal 9"));

	/* proc_run: out of time is an error with the reason. */
	assert_int_equal(proc_run("sleep", argv, &o, 0.2, why, sizeof(why)), -1);
	assert_non_null(strstr(why, "did not finish in time"));
}

static void test_missing_program(void **state)
{
	(void)state;
	char *argv[] = { "daqmux-no-such-program", NULL };
	struct proc_opts o;
	struct proc p;
	char why[256];

	proc_opts_init(&o);
	o.logdir = dir;
	assert_int_equal(proc_spawn(&p, "missing", argv, &o, why, sizeof(why)), 0);
	assert_int_equal(proc_finish(&p, now_ns() + 10 * SEC, 0), 127);
	char *err = slurp(p.err);
	assert_non_null(strstr(err, "exec daqmux-no-such-program"));
	free(err);
	/* Set-up that fails in the child: 126 with the step named. */
	o.cwd = "/nonexistent-daqmux-dir";
	assert_int_equal(proc_spawn(&p, "cwd", argv, &o, why, sizeof(why)), 0);
	assert_int_equal(proc_finish(&p, now_ns() + 10 * SEC, 0), 126);
	err = slurp(p.err);
	assert_non_null(strstr(err, "chdir /nonexistent-daqmux-dir"));
	free(err);
	/* Nothing to run at all. */
	char *none[] = { NULL };
	assert_int_equal(proc_spawn(&p, "none", none, &o, why, sizeof(why)), -1);
	assert_int_equal(p.pid, 0);
	assert_int_equal(proc_signal(&p, SIGKILL), 0);   /* never kill(0) */
}

static void test_first_line(void **state)
{
	(void)state;
	char *argv[] = { "sh", "-c", "echo 'listening on 1.2.3.4:5'; echo more; sleep 30", NULL };
	char *quiet[] = { "sh", "-c", "sleep 30", NULL };
	char *other[] = { "sh", "-c", "echo hello; exit 0", NULL };
	struct proc_opts o;
	struct proc p;
	char why[256], line[64];
	int fd[2];

	/* From a pipe: the line, and nothing past it consumed. */
	assert_int_equal(pipe2(fd, O_CLOEXEC), 0);
	proc_opts_init(&o);
	o.out_fd = fd[1];
	assert_int_equal(proc_spawn(&p, "line", argv, &o, why, sizeof(why)), 0);
	close(fd[1]);
	assert_int_equal(proc_wait_line(&p, fd[0], "listening on ", line, sizeof(line),
					now_ns() + 10 * SEC), PROC_LINE_OK);
	assert_string_equal(line, "listening on 1.2.3.4:5");
	assert_int_equal(proc_wait_line(&p, fd[0], "more", line, sizeof(line), now_ns() + 10 * SEC),
			 PROC_LINE_OK);
	assert_int_equal(proc_kill(&p), 0);
	close(fd[0]);

	/* From its output file: nothing within the deadline; it still runs. */
	proc_opts_init(&o);
	o.logdir = dir;
	assert_int_equal(proc_spawn(&p, "quiet", quiet, &o, why, sizeof(why)), 0);
	int rfd = open(p.out, O_RDONLY | O_CLOEXEC);
	assert_true(rfd >= 0);
	assert_int_equal(proc_wait_line(&p, rfd, "listening on ", line, sizeof(line),
					now_ns() + SEC / 5), PROC_LINE_TIMEOUT);
	assert_int_equal(proc_kill(&p), 0);
	close(rfd);

	/* Another line, then it ends. */
	assert_int_equal(proc_spawn(&p, "other", other, &o, why, sizeof(why)), 0);
	rfd = open(p.out, O_RDONLY | O_CLOEXEC);
	assert_true(rfd >= 0);
	assert_int_equal(proc_wait_line(&p, rfd, "listening on ", line, sizeof(line),
					now_ns() + 10 * SEC), PROC_LINE_OTHER);
	assert_string_equal(line, "hello");
	assert_int_equal(proc_wait_line(&p, rfd, "listening on ", line, sizeof(line),
					now_ns() + 10 * SEC), PROC_LINE_ENDED);
	close(rfd);
	assert_int_equal(proc_finish(&p, now_ns() + 10 * SEC, 0), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_logdir_and_exit_status),
		cmocka_unit_test(test_one_file_for_both),
		cmocka_unit_test(test_signal_and_deadline),
		cmocka_unit_test(test_missing_program),
		cmocka_unit_test(test_first_line),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
