/*
 * support.h - running the real daqmux server and client from a cmocka test.
 *
 * A scenario is: start `daqmux server` on port 0, run `daqmux client`
 * against it, wait for the server to end, then check its --json summary.
 * This file gives each step one call, with a time limit on every wait, so
 * that a hung or crashed process fails its test instead of hanging the
 * suite:
 *
 *	static void scenario(void **state)
 *	{
 *		struct sup *t = sup_begin(state);   // skips if the backend can't run
 *
 *		sup_server_start(t, "--sources", "2", NULL);
 *		assert_int_equal(sup_client_run(t, "--sources", "2", "--count", "100", NULL), 0);
 *		assert_int_equal(sup_server_wait(t), 0);
 *		sup_expect_complete(t, 0, 100);
 *		sup_passed(t);
 *	}
 *	... cmocka_unit_test_prestate_setup_teardown(scenario, sup_setup, sup_teardown, backend)
 *
 * Two layers:
 *  - harness/proc.h: one child process, its stdout and stderr in files.
 *    Its calls return -1 and never end the test themselves.
 *  - sup_* on a struct sup: one test's world (a backend, a temporary
 *    directory, the server, the client, the summary). These fail the
 *    test themselves, at the caller's line where it matters, so a
 *    scenario reads as set-up, run, assertions.
 *
 * The binary is DAQMUX_BIN, the absolute path of bin/daqmux of the same
 * build configuration (the Makefile defines it for every test object).
 *
 * Every child gets SIGKILL when the test process dies (PR_SET_PDEATHSIG),
 * and sup_teardown kills whatever is still running, so no server outlives
 * its test. A test that did not reach sup_passed() (failed, or a crash
 * caught by cmocka) has the tail of each process's output printed and its
 * directory kept for a post-mortem; otherwise the directory is removed.
 *
 * Child output is scanned for sanitizer reports (ASan, UBSan, LSan, TSan):
 * under `make test SANITIZE=...` a report from the server or the client
 * fails the test even when the exit status looks right (UBSan does not
 * change it at all, and ASan's exit status 1 means "a source had an
 * error" to the server's callers).
 */
#ifndef DAQMUX_TEST_SUPPORT_H
#define DAQMUX_TEST_SUPPORT_H

#include <limits.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/resource.h>
#include <sys/types.h>

#include "backends.h"
#include "json.h"
#include "jsonread.h"
#include "proc.h"

#define SUP_TIME_LIMIT_S    60.0  /* default hard limit of one test */
#define SUP_START_TIMEOUT_S 10.0  /* server start to its "listening on" line */
#define SUP_LOG_LINES       25    /* lines of each output shown on failure */
#define SUP_MAX_EXTRA       4     /* clients beside t->client in one test */

/* ---- one child process -------------------------------------------------- */

/* The tests' children are a struct proc (harness/proc.h) each, started
 * with proc_opts.logdir = the test's directory (LABEL.out, LABEL.err)
 * and die_with_parent (PR_SET_PDEATHSIG follows the thread that forked;
 * the tests are single-threaded). */
void sup_child_opts(struct proc_opts *o, const char *dir);

/* ---- files -------------------------------------------------------------- */

/* A fresh directory $TMPDIR/daqmux-TAG.XXXXXX (/tmp without TMPDIR),
 * its path in buf; 0 or -1. */
int sup_mkdtemp(char *buf, size_t len, const char *tag);

/* Remove a directory and the files in it (one level: the tests make no
 * subdirectories); 0 or -1 after saying why. */
int sup_rmdir(const char *dir);

/* Read a whole file, NUL-terminated, into malloc'ed memory (NULL and
 * errno set on failure). */
char *sup_read_file(const char *path, size_t *len);

/* The first sanitizer report line in p's stderr, copied into buf; 1 if
 * there is one, 0 if not, -1 if the file could not be read. */
int sup_sanitizer_report(const struct proc *p, char *buf, size_t len);

/* ---- one test's world ----------------------------------------------------- */

/*
 * One way to run a backend in a suite: the backend alone ("epoll"), with
 * several loops ("epoll/loops2": --loops 2 for BE_LOOPS backends), or in
 * one of the variants its table entry lists ("uring/tiny": an environment
 * setting for the server). Which run in which build: sup_variants().
 */
struct sup_variant {
	const struct backend *be;
	char name[48];
	const char *args[3];        /* more server arguments, NULL-terminated */
	const char *env;            /* "NAME=VALUE" for the server, or NULL */
	const char *unfair;         /* backend_variant.unfair: bounds beside a
				       flood (latency, bytes read past a
				       pause) are printed, not judged */
	unsigned loops;             /* the server's loops */
};

struct sup {
	const struct backend *be;
	const struct sup_variant *v;
	char     dir[PATH_MAX];     /* this test's temporary directory */
	uint64_t deadline_ns;       /* the hard limit, CLOCK_MONOTONIC */
	double   limit_s;
	struct proc server, client;
	char     addr[64];          /* "127.0.0.1:PORT" the server listens on */
	char     json_path[PATH_MAX];
	struct json *json;          /* the server's summary, once loaded */
	char     client_json_path[PATH_MAX];
	struct json *client_json;   /* the client's, once loaded */
	struct proc extra[SUP_MAX_EXTRA]; /* more clients: sup_extra_client_start */
	unsigned nextra;
	int      passed;            /* reached sup_passed() */
	int      skipped;           /* went through sup_skip() */
	const char *at_file;        /* the caller of the sup_* call under way, */
	int      at_line;           /* where its failure is reported */
};

/*
 * cmocka fixtures, one test at a time: sup_setup finds the variant in
 * *state (the test's prestate), replaces it with a struct sup with its
 * temporary directory and the default time limit; sup_teardown kills
 * what still runs, shows the logs of a test that did not pass, and
 * cleans up.
 */
int sup_setup(void **state);
int sup_teardown(void **state);

/* ---- a suite run against every backend ---------------------------------- */

/* One test of a suite: written once, run once per backend. */
struct sup_case {
	const char *name;
	void (*run)(void **state);
};

/* Is name one of the groups asked for on the command line (all if none)? */
int sup_wanted(const char *name, int argc, char **argv);

/* Run cases as the cmocka group `group`, each test named "group: case"
 * (cmocka 1.1 prints no group names), with v as its variant. teardown
 * NULL means sup_teardown. Returns cmocka's count of failures. */
int sup_run_group(const char *group, const struct sup_variant *v, const struct sup_case *cases,
		  size_t n, int (*teardown)(void **state));

/*
 * The variants a suite runs, in table order: every backend alone, and
 * with SUP_VARIANTS also each BE_LOOPS backend with --loops 2 (in the
 * plain and the ThreadSanitizer builds: threads are what they add) and
 * each variant of a backend's table entry (in the plain and the
 * AddressSanitizer builds: they are memory paths). *n is set.
 */
#define SUP_VARIANTS 1
const struct sup_variant *sup_variants(unsigned flags, size_t *n);

/* The variant that runs the default backend alone. */
const struct sup_variant *sup_variant_default(void);

/* Is name a variant ("uring/tiny") or a backend ("uring": all of its
 * variants) that `prog NAME...` may ask for? */
int sup_known_name(const char *name, unsigned flags);

/* Does the command line ask for variant v (all when it names none)? */
int sup_wanted_variant(const struct sup_variant *v, int argc, char **argv);

/* Run cases against every wanted variant; the number of groups that failed. */
int sup_run_variants(int argc, char **argv, unsigned flags, const struct sup_case *cases,
		     size_t n, int (*teardown)(void **state));

/* The whole main of a suite: `prog [NAME...]` runs cases against those
 * variants or backends (all when none); DAQMUX_TEST_FILTER selects tests
 * by name. Returns the exit status: 0 passed, 1 a test failed, 2 bad
 * argument. */
int sup_main(const char *prog, int argc, char **argv, unsigned flags,
	     const struct sup_case *cases, size_t n, int (*teardown)(void **state));

/* The server arguments of t's variant (--loops 2 ...), appended to argv
 * at *n (bounded by cap, the NULL included). */
void sup_variant_args(struct sup *t, char *argv[], size_t *n, size_t cap);

/* The test's struct sup; skips the test (after "SKIP <backend>: <why>")
 * when the backend's probe says it cannot run here. */
struct sup *sup_begin(void **state);

/* Whether a backend can run here: 1, or 0 with the reason in why. */
int sup_backend_available(const struct backend *be, char *why, size_t len);

/* Print "SKIP <backend>: <reason>" and skip the test (does not return). */
void sup_skip(struct sup *t, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* Restart the test's hard limit: `seconds` from now. */
void sup_set_limit(struct sup *t, double seconds);

/* Ready for another run in the same test: kill what still runs, forget
 * both processes and both summaries (their files are overwritten by the
 * next run). The time limit goes on. */
void sup_reset(struct sup *t);

/*
 * The calls below fail the test themselves (a timeout, a crash, a
 * sanitizer report, a missing summary), reported at the caller's line:
 * each is a macro over a function taking __FILE__ and __LINE__.
 */

/* Make sure this process (and so the children it starts) may open n
 * descriptors: raise the soft RLIMIT_NOFILE if needed; skip the test,
 * with the numbers, when the hard limit is below n. */
#define sup_need_nofile(t, n)  sup_need_nofile_at((t), (n), __FILE__, __LINE__)

/*
 * Start `daqmux server --backend B --listen 127.0.0.1:0 --json DIR/server.json`
 * plus the given arguments (NULL-terminated; the _v form takes an array),
 * and wait for its "listening on" line, which fills t->addr. Fails the
 * test if it exits or says nothing within SUP_START_TIMEOUT_S.
 */
#define sup_server_start(t, ...)  sup_server_start_at(__FILE__, __LINE__, (t), __VA_ARGS__)
#define sup_server_startv(t, args) sup_server_startv_at((t), (args), __FILE__, __LINE__)

/* Wait for the server to end by itself; its exit status. A server still
 * running at the test's deadline is killed and the test fails, as it does
 * on a signal or a sanitizer report. */
#define sup_server_wait(t)  sup_server_wait_at((t), __FILE__, __LINE__)

/* Send sig to the running server (e.g. SIGINT to end a run early). */
#define sup_server_signal(t, sig)  sup_server_signal_at((t), (sig), __FILE__, __LINE__)

/*
 * `daqmux client --connect ADDR --json DIR/client.json` plus the given
 * arguments (NULL-terminated,
 * or an array for the _v forms). sup_client_run starts it and waits for
 * it; sup_client_start only starts it and sup_client_wait waits. The exit
 * status is returned; the test's deadline, a signal or a sanitizer report
 * fails the test.
 */
#define sup_client_run(t, ...)    sup_client_run_at(__FILE__, __LINE__, (t), __VA_ARGS__)
#define sup_client_runv(t, args)  sup_client_runv_at((t), (args), __FILE__, __LINE__)
#define sup_client_start(t, ...)  sup_client_start_at(__FILE__, __LINE__, (t), __VA_ARGS__)
#define sup_client_startv(t, args) sup_client_startv_at((t), (args), __FILE__, __LINE__)
#define sup_client_wait(t)        sup_client_wait_at((t), __FILE__, __LINE__)

/* A blocking TCP connection to the server, for hand-made byte streams;
 * the caller closes it. SIGPIPE is ignored from then on, so writing to a
 * connection the server closed fails with EPIPE. */
#define sup_connect(t)  sup_connect_at((t), __FILE__, __LINE__)

/* The server's --json summary, parsed once (after sup_server_wait) and
 * checked to name the test's backend; freed by sup_teardown. */
#define sup_server_json(t)  sup_server_json_at((t), __FILE__, __LINE__)

/* The client's --json summary, parsed once (after the client ended). */
#define sup_client_json(t)  sup_client_json_at((t), __FILE__, __LINE__)

/* The element of the server summary's sources[] whose "id" is id, or NULL. */
const struct json *sup_source(const struct json *summary, uint64_t id);

/* The element of an array of objects whose "id" is id, or NULL (e.g. the
 * client summary's per_source[]). */
const struct json *sup_find_id(const struct json *arr, uint64_t id);

/* Mark the test as passed: its directory is removed, no logs shown.
 * Fails if the server or the client is still running. */
#define sup_passed(t)  sup_passed_at((t), __FILE__, __LINE__)

void sup_need_nofile_at(struct sup *t, rlim_t n, const char *file, int line);
void sup_server_start_at(const char *file, int line, struct sup *t, ...)
	__attribute__((sentinel));
void sup_server_startv_at(struct sup *t, const char *const args[], const char *file, int line);
int  sup_server_wait_at(struct sup *t, const char *file, int line);
void sup_server_signal_at(struct sup *t, int sig, const char *file, int line);
int  sup_client_run_at(const char *file, int line, struct sup *t, ...)
	__attribute__((sentinel));
int  sup_client_runv_at(struct sup *t, const char *const args[], const char *file, int line);
void sup_client_start_at(const char *file, int line, struct sup *t, ...)
	__attribute__((sentinel));
void sup_client_startv_at(struct sup *t, const char *const args[], const char *file, int line);
int  sup_client_wait_at(struct sup *t, const char *file, int line);
int  sup_connect_at(struct sup *t, const char *file, int line);
const struct json *sup_server_json_at(struct sup *t, const char *file, int line);
const struct json *sup_client_json_at(struct sup *t, const char *file, int line);
void sup_passed_at(struct sup *t, const char *file, int line);

/* ---- more processes, hand-made connections ------------------------------ */

/*
 * Another `daqmux client --connect ADDR --json DIR/LABEL.json` plus the
 * given arguments, beside t->client: e.g. a max-rate source and paced
 * sources as two processes. LABEL (a string literal: it is kept) names
 * its files. At most SUP_MAX_EXTRA per test; sup_teardown and sup_reset
 * kill them and show their output like the client's.
 */
#define sup_extra_client_start(t, label, ...) \
	sup_extra_client_start_at(__FILE__, __LINE__, (t), (label), __VA_ARGS__)

/* Wait for p (t->server, t->client or an extra client) until the test's
 * deadline; its exit status. Fails the test like sup_client_wait: killed
 * at the deadline, a signal, a sanitizer report. */
#define sup_finish(t, p)  sup_finish_at((t), (p), __FILE__, __LINE__)

/*
 * The server has ended (reaped): make room for another in the same test,
 * e.g. on the first one's port (pass "--listen", t->addr) to see a client
 * reconnect. Its output and summary are kept as server.1.out, .err and
 * .json for a post-mortem; the parsed summary (t->json) is freed, so copy
 * what you need from it first. The clients go on.
 */
#define sup_server_next(t)  sup_server_next_at((t), __FILE__, __LINE__)

/*
 * One frame (header and payload, with its CRC-32C and send time now) on
 * a connection from sup_connect; the whole of it is written. payload
 * NULL: sup_payload's bytes for (id, seq). 0, or -1 with errno (EPIPE:
 * the server closed it). Does not fail the test.
 */
int sup_send_frame(int fd, unsigned type, uint32_t id, uint64_t seq,
		   const void *payload, uint32_t len);

/* Payload bytes that differ with (id, seq), so that stale bytes of another
 * frame of the same length can never pass the CRC (issue 11, item 14). */
void sup_payload(uint32_t id, uint64_t seq, void *buf, size_t len);

/* Close with a RST instead of a FIN (SO_LINGER on, 0 s): what the
 * server sees as ECONNRESET. 0, or -1 with errno. */
int sup_close_reset(int fd);

struct proc *sup_extra_client_start_at(const char *file, int line, struct sup *t,
					   const char *label, ...) __attribute__((sentinel));
int  sup_finish_at(struct sup *t, struct proc *p, const char *file, int line);
void sup_server_next_at(struct sup *t, const char *file, int line);

/* ---- assertions on the summary, reported at the caller's line ------------ */

/* The value at path (json_path syntax) under j: a non-negative integer /
 * a string; the test fails if it is missing or of another type. */
#define sup_u64(j, path)  sup_u64_at((j), (path), __FILE__, __LINE__)
#define sup_str(j, path)  sup_str_at((j), (path), __FILE__, __LINE__)

/* j[path] == want / is the string want / contains needle. */
#define sup_expect_u64(j, path, want) \
	sup_expect_u64_at((j), (path), (want), __FILE__, __LINE__)
#define sup_expect_str(j, path, want) \
	sup_expect_str_at((j), (path), (want), __FILE__, __LINE__)
#define sup_expect_contains(j, path, needle) \
	sup_expect_contains_at((j), (path), (needle), __FILE__, __LINE__)

/* The summary's record of source id; fails the test if there is none. */
#define sup_expect_source(t, id)  sup_expect_source_at((t), (id), __FILE__, __LINE__)

/* Source id delivered exactly `frames` DATA frames, each once, in order,
 * with good CRCs, and said BYE: frames, lost, duplicates, late,
 * crc_errors and status "complete". */
#define sup_expect_complete(t, id, frames) \
	sup_expect_complete_at((t), (id), (frames), __FILE__, __LINE__)

uint64_t    sup_u64_at(const struct json *j, const char *path, const char *file, int line);
const char *sup_str_at(const struct json *j, const char *path, const char *file, int line);
void sup_expect_u64_at(const struct json *j, const char *path, uint64_t want,
		       const char *file, int line);
void sup_expect_str_at(const struct json *j, const char *path, const char *want,
		       const char *file, int line);
void sup_expect_contains_at(const struct json *j, const char *path, const char *needle,
			    const char *file, int line);
const struct json *sup_expect_source_at(struct sup *t, uint64_t id, const char *file, int line);
void sup_expect_complete_at(struct sup *t, uint64_t id, uint64_t frames,
			    const char *file, int line);

#endif
