/*
 * test_limits.c - the server at the edges of the machine, against every
 * backend: a peer that falls silent (--idle-timeout) or whose link goes
 * dark (--keepalive), descriptor numbers at and beyond FD_SETSIZE, no
 * descriptors left at all (EMFILE), ten thousand concurrent sources, and
 * what a flooding source does to the server's memory.
 *
 * As in test_conformance.c, one set of functions runs for every backend in
 * backends[] (one cmocka group per backend, the backend as the prestate);
 * an unavailable backend is skipped with its reason. Where a backend cannot
 * be expected to cope, the test asserts its documented behaviour instead:
 * select refuses descriptors >= FD_SETSIZE, blocking accepts its N sources
 * and then never another connection.
 *
 * Timing bounds, with what was measured on a 2-core VM (-O2, and under
 * ASan+UBSan and TSan, which measured the same within a few ms):
 *  - idle timeout 0.5 s: a source is ended 0.5-1.0 s after its last byte
 *    (measured 0.502-0.505 s for the event loops, up to 0.53 s threads,
 *    0.55 s blocking);
 *  - keepalive 2 s: ended < 2 x 2 + 1 = 5 s after its link went down
 *    (measured 1.89-1.96 s: TCP_USER_TIMEOUT at an unanswered probe);
 *  - EMFILE: < 0.3 s of server CPU over 1.5 s of refused connections
 *    (measured 0-0.03 s, 0.06 s under TSan; the busy loops this found
 *    burnt the whole 1.5 s).
 * Every test has its own hard time limit.
 *
 * Needs: for the keepalive test, root and iproute2 (`ip netns`, veth); it
 * makes two network namespaces named dqlim<pid>-s and dqlim<pid>-c joined
 * by a veth pair with 10.213.7.1/30 and .2/30 inside them - no traffic
 * leaves them - and deletes them whatever happens (a namespace left by a
 * killed run is deleted by the next one). Without root or network
 * namespaces it is skipped with the reason. For EMFILE: prlimit (util-
 * linux), to start the server with RLIMIT_NOFILE 64 (set before exec: an
 * io_uring accept takes the limit when it is armed). For 10,000 sources:
 * RLIMIT_NOFILE >= 10,256 per process (the soft limit is raised to it;
 * a lower hard limit skips the test with the numbers). Under TSan the
 * threads backend gets 2,000 sources instead (see LIM_MANY).
 *
 * Run one backend or one test while working on it:
 *   build/default/tests/test_limits epoll uring
 *   DAQMUX_TEST_FILTER='*EMFILE*' build/default/tests/test_limits
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/select.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#include <linux/sockios.h>

#include <cmocka.h>

#include "backend.h"
#include "crc32c.h"
#include "json.h"
#include "proto.h"
#include "support.h"
#include "util.h"

#define MS  1000000ull   /* ns */

/*
 * Ten thousand sources, and fewer in one case: the threads backend under
 * ThreadSanitizer, where each of the 10,000 threads gets TSan's shadow
 * state - measured 33 s and 8 GB of peak RSS for the server, against
 * ~1 s and 0.7 GB for 4,000. There it runs LIM_MANY_TSAN_THREADS sources
 * and says so. Everything else keeps 10,000 under the sanitizers
 * (measured: ASan threads 5.5 s and 1.3 GB; TSan epoll 5.3 s and 1 GB).
 */
#define LIM_MANY              10000
#define LIM_MANY_TSAN_THREADS 2000
#if defined(__SANITIZE_THREAD__)
#define LIM_TSAN 1
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define LIM_TSAN 1
#endif
#endif

#define LIM_MAX_FDS   2048           /* raw connections one test holds */
#define LIM_NS_SRV    "10.213.7.1"   /* inside our own namespaces only */
#define LIM_NS_CLI    "10.213.7.2"

/*
 * What a test made that must go whatever happens to it: its raw
 * connections and its network namespaces. cmocka leaves a failed test by
 * longjmp, so lim_teardown removes them, not the test.
 */
static struct {
	int fds[LIM_MAX_FDS];
	size_t nfds;
	const char *ip;          /* iproute2's ip, once found */
	char ns_srv[32], ns_cli[32], veth_srv[16], veth_cli[16];
	int made_srv, made_cli;  /* namespaces we created */
	int orig_ns;             /* our own network namespace, -1 if not open */
	int in_ns;               /* this thread is in another one */
	int lent_to;             /* descriptors FD_SETSIZE..lent_to-1 lent to a server */
} lim = { .orig_ns = -1 };


static void nap_ms(unsigned ms)
{
	struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000L };

	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

static double secs(uint64_t ns)
{
	return (double)ns / 1e9;
}

/* ---- raw connections ---------------------------------------------------- */

/* A connection from this process that lim_teardown closes. */
static int lim_connect(struct sup *t)
{
	int fd;

	if (lim.nfds == LIM_MAX_FDS)
		fail_msg("more than %d raw connections in one test", LIM_MAX_FDS);
	fd = sup_connect(t);
	lim.fds[lim.nfds++] = fd;
	return fd;
}

static void lim_close_all(void)
{
	for (size_t i = 0; i < lim.nfds; i++)
		(void)close(lim.fds[i]);   /* ours, read-only use: nothing to lose */
	lim.nfds = 0;
}

/* The descriptors lent to a server by being inherited (7a): not one more
 * child may get them. */
static void lim_close_lent(void)
{
	for (int fd = FD_SETSIZE; fd < lim.lent_to; fd++)
		(void)close(fd);
	lim.lent_to = 0;
}

/* One frame: header, then the payload (a HELLO's name), with its CRC. */
static void lim_send(int fd, unsigned type, uint32_t id, uint64_t seq, const char *payload)
{
	uint8_t buf[PROTO_HEADER_SIZE + PROTO_NAME_MAX];
	uint32_t len = payload ? (uint32_t)strlen(payload) : 0;
	struct proto_header h = proto_make(type, id, seq, type == PROTO_DATA ? now_ns() : 0, len,
					   len ? crc32c(0, payload, len) : 0);
	size_t total = PROTO_HEADER_SIZE + len, done = 0;

	assert_true(len <= PROTO_NAME_MAX);
	proto_encode(&h, buf);
	if (len)
		memcpy(buf + PROTO_HEADER_SIZE, payload, len);
	while (done < total) {
		ssize_t n = write(fd, buf + done, total - done);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			fail_msg("writing a %s frame: %s", proto_type_name(type), strerror(errno));
		done += (size_t)n;
	}
}

/* HELLO, then DATA 0 .. frames-1: a source that says a little. Returns
 * the time just before its last byte was written: the server cannot have
 * heard from it later than that. */
static uint64_t lim_send_some(int fd, uint32_t id, unsigned frames)
{
	uint64_t last = now_ns();
	char name[32];

	snprintf(name, sizeof(name), "raw-%u", id);
	lim_send(fd, PROTO_HELLO, id, 0, name);
	for (unsigned seq = 0; seq < frames; seq++) {
		last = now_ns();
		lim_send(fd, PROTO_DATA, id, seq, NULL);
	}
	return last;
}

/* Wait until the server closes fd (EOF or an error); when, or 0 if it did
 * not within timeout_s. */
static uint64_t lim_wait_closed(int fd, double timeout_s)
{
	uint64_t until = now_ns() + (uint64_t)(timeout_s * 1e9);
	char c;

	for (uint64_t now = now_ns(); now < until; now = now_ns()) {
		struct pollfd p = { .fd = fd, .events = POLLIN | POLLRDHUP };
		int n = poll(&p, 1, (int)((until - now) / MS) + 1);
		if (n < 0 && errno != EINTR)
			fail_msg("poll: %s", strerror(errno));
		if (n <= 0)
			continue;
		ssize_t r = recv(fd, &c, 1, MSG_DONTWAIT);
		if (r == 0 || (r < 0 && errno != EAGAIN && errno != EINTR))
			return now_ns();
		if (r > 0)
			fail_msg("the server sent a byte to a push source");
	}
	return 0;
}

/* Until the peer has acknowledged every byte written on fd. */
static void lim_wait_acked(int fd, double timeout_s)
{
	uint64_t until = now_ns() + (uint64_t)(timeout_s * 1e9);
	int queued = 1;

	while (now_ns() < until) {
		if (ioctl(fd, SIOCOUTQ, &queued) < 0)
			fail_msg("ioctl(SIOCOUTQ): %s", strerror(errno));
		if (queued == 0)
			return;
		nap_ms(5);
	}
	fail_msg("%d bytes still unacknowledged after %g s", queued, timeout_s);
}

/* ---- looking at the server from outside ------------------------------- */

/* The server's CPU time so far (user + system), from /proc/PID/stat. */
static double lim_cpu_s(pid_t pid)
{
	char path[64], *text, *p;
	unsigned long long ut = 0, st = 0;

	snprintf(path, sizeof(path), "/proc/%ld/stat", (long)pid);
	text = sup_read_file(path, NULL);
	if (!text)
		fail_msg("cannot read %s: %s", path, strerror(errno));
	/* comm may hold spaces and parentheses: the fields start after the
	 * last ')'. utime and stime are fields 14 and 15; ')' ends field 2. */
	p = strrchr(text, ')');
	if (!p || sscanf(p + 1, " %*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu",
			 &ut, &st) != 2) {
		free(text);
		fail_msg("cannot parse %s", path);
	}
	free(text);
	return (double)(ut + st) / (double)sysconf(_SC_CLK_TCK);
}

struct lim_fds {
	unsigned sockets;   /* the listener and the connections */
	unsigned below;     /* descriptors < FD_SETSIZE, of any kind */
};

static struct lim_fds lim_scan_fds(pid_t pid)
{
	struct lim_fds f = { 0 };
	char dir[64], path[64 + sizeof(((struct dirent *)0)->d_name)], link[64];
	struct dirent *e;
	DIR *d;

	snprintf(dir, sizeof(dir), "/proc/%ld/fd", (long)pid);
	d = opendir(dir);
	if (!d)
		fail_msg("opendir %s: %s", dir, strerror(errno));
	while ((e = readdir(d)) != NULL) {
		if (e->d_name[0] < '0' || e->d_name[0] > '9')
			continue;
		if (atoi(e->d_name) < FD_SETSIZE)
			f.below++;
		snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
		ssize_t n = readlink(path, link, sizeof(link) - 1);
		if (n > 0) {
			link[n] = '\0';
			f.sockets += strncmp(link, "socket:", 7) == 0;
		}
	}
	(void)closedir(d);
	return f;
}

/* Whether descriptor fd of the server is a socket. */
static int lim_fd_is_socket(pid_t pid, int fd)
{
	char path[64], link[64];
	ssize_t n;

	snprintf(path, sizeof(path), "/proc/%ld/fd/%d", (long)pid, fd);
	n = readlink(path, link, sizeof(link) - 1);
	if (n <= 0)
		return 0;
	link[n] = '\0';
	return strncmp(link, "socket:", 7) == 0;
}

/* Until the server holds exactly `want` sockets (listener included). */
static void lim_wait_sockets(struct sup *t, unsigned want, double timeout_s)
{
	uint64_t until = now_ns() + (uint64_t)(timeout_s * 1e9);
	struct lim_fds f;

	do {
		f = lim_scan_fds(t->server.pid);
		if (f.sockets == want)
			return;
		if (proc_poll(&t->server) != 0)
			fail_msg("%s server ended while we waited for it to hold %u sockets",
				 t->be->name, want);
		nap_ms(5);
	} while (now_ns() < until);
	fail_msg("%s server holds %u sockets after %g s, expected %u", t->be->name, f.sockets,
		 timeout_s, want);
}

/* Lines of a file that contain needle. */
static unsigned lim_count_lines(const char *path, const char *needle)
{
	char *text = sup_read_file(path, NULL);
	unsigned n = 0;

	if (!text)
		fail_msg("cannot read %s: %s", path, strerror(errno));
	for (char *p = text; (p = strstr(p, needle)) != NULL; n++) {
		p = strchr(p, '\n');
		if (!p)
			break;
	}
	free(text);
	return n;
}

/* Until the server's stderr has `want` lines with needle. */
static void lim_wait_lines(struct sup *t, const char *needle, unsigned want, double timeout_s)
{
	uint64_t until = now_ns() + (uint64_t)(timeout_s * 1e9);
	unsigned got;

	do {
		got = lim_count_lines(t->server.err, needle);
		if (got >= want)
			return;
		nap_ms(5);
	} while (now_ns() < until);
	fail_msg("%s server: %u lines with \"%s\" after %g s, expected %u", t->be->name, got,
		 needle, timeout_s, want);
}

/* Source id's record: complete, with the frames the client says it sent. */
static void lim_expect_as_sent(struct sup *t, unsigned id)
{
	const struct json *sent = sup_find_id(json_get(sup_client_json(t), "per_source"), id);

	if (!sent)
		fail_msg("%s: the client's summary has no source %u", t->be->name, id);
	sup_expect_complete(t, id, sup_u64(sent, "frames"));
	sup_expect_u64(sup_expect_source(t, id), "bytes", sup_u64(sent, "bytes"));
}

/* ---- a server with a descriptor limit ---------------------------------- */

static const char *lim_find_tool(const char *name)
{
	static const char *const dirs[] = { "/usr/bin", "/bin", "/usr/sbin", "/sbin" };
	static char found[4][64];
	static int slot;

	for (size_t i = 0; i < ARRAY_SIZE(dirs); i++) {
		char *p = found[slot % ARRAY_SIZE(found)];
		snprintf(p, sizeof(found[0]), "%s/%s", dirs[i], name);
		if (access(p, X_OK) == 0) {
			slot++;
			return p;
		}
	}
	return NULL;
}

/* The server's first line, "listening on HOST:PORT", into t->addr. */
static int lim_read_listening(struct sup *t)
{
	static const char want[] = "listening on ";
	char *text = sup_read_file(t->server.out, NULL), *eol;

	if (!text)
		fail_msg("cannot read %s: %s", t->server.out, strerror(errno));
	eol = strchr(text, '\n');
	if (!eol) {
		free(text);
		return 0;
	}
	*eol = '\0';
	if (strncmp(text, want, sizeof(want) - 1) != 0 ||
	    strlen(text + sizeof(want) - 1) >= sizeof(t->addr)) {
		print_error("server: first line \"%s\"\n", text);
		free(text);
		fail_msg("the server's first line is not \"listening on HOST:PORT\"");
	}
	snprintf(t->addr, sizeof(t->addr), "%s", text + sizeof(want) - 1);
	free(text);
	return 1;
}

/*
 * sup_server_start, with RLIMIT_NOFILE soft = hard = nofile from before
 * exec: `prlimit --nofile=N:N daqmux server ...` (prlimit execs it in the
 * same process). Set afterwards (prlimit --pid) it would miss what takes
 * the limit at start: an io_uring multishot accept keeps the one it was
 * armed with.
 */
static void lim_server_start_nofile(struct sup *t, unsigned nofile, ...)
{
	const char *prlimit = lim_find_tool("prlimit");
	char opt[32], how[96];
	char *argv[64];
	size_t n = 0;
	va_list ap;
	const char *a;

	if (!prlimit)
		sup_skip(t, "no prlimit (util-linux) to start the server with RLIMIT_NOFILE %u",
			 nofile);
	snprintf(opt, sizeof(opt), "--nofile=%u:%u", nofile, nofile);
	argv[n++] = (char *)prlimit;
	argv[n++] = opt;
	argv[n++] = (char *)DAQMUX_BIN;
	argv[n++] = (char *)"server";
	argv[n++] = (char *)"--backend";
	argv[n++] = (char *)t->be->name;
	argv[n++] = (char *)"--listen";
	argv[n++] = (char *)"127.0.0.1:0";
	argv[n++] = (char *)"--json";
	argv[n++] = t->json_path;
	sup_variant_args(t, argv, &n, ARRAY_SIZE(argv));
	va_start(ap, nofile);
	while ((a = va_arg(ap, const char *)) != NULL && n + 1 < ARRAY_SIZE(argv))
		argv[n++] = (char *)a;
	va_end(ap);
	argv[n] = NULL;

	struct proc_opts o;
	char why[PATH_MAX + 64];
	sup_child_opts(&o, t->dir);
	if (proc_spawn(&t->server, "server", argv, &o, why, sizeof(why)) < 0)
		fail_msg("cannot start the server: %s", why);
	uint64_t until = now_ns() + (uint64_t)(SUP_START_TIMEOUT_S * 1e9);
	while (!lim_read_listening(t)) {
		if (proc_poll(&t->server) != 0)
			fail_msg("%s server ended (%s) instead of serving", t->be->name,
				 proc_how(&t->server, how, sizeof(how)));
		if (now_ns() >= until)
			fail_msg("%s server: no \"listening on\" line within %g s", t->be->name,
				 SUP_START_TIMEOUT_S);
		nap_ms(5);
	}
}

/* ---- network namespaces ----------------------------------------------- */

/* Run `ip ARGS...` (NULL-terminated) and wait for it; its exit status,
 * with its first line of stderr printed when it failed. */
static int lim_ip(const char *dir, ...)
{
	struct proc p;
	char *argv[16], how[96];
	size_t n = 0;
	va_list ap;
	const char *a;

	argv[n++] = (char *)lim.ip;
	va_start(ap, dir);
	while ((a = va_arg(ap, const char *)) != NULL && n + 1 < ARRAY_SIZE(argv))
		argv[n++] = (char *)a;
	va_end(ap);
	argv[n] = NULL;
	struct proc_opts o;
	char why[PATH_MAX + 64];
	sup_child_opts(&o, dir);
	if (proc_spawn(&p, "ip", argv, &o, why, sizeof(why)) < 0) {
		print_error("%s\n", why);
		return -1;
	}
	if (proc_finish(&p, now_ns() + 10000 * MS, 0) < 0 && p.timed_out) {
		print_error("%s: no answer within 10 s\n", p.cmd);
		return -1;
	}
	int rc = proc_exit_code(&p);
	if (rc != 0) {
		char *err = sup_read_file(p.err, NULL);
		char *eol = err ? strchr(err, '\n') : NULL;
		if (eol)
			*eol = '\0';
		print_message("  %s: %s: %s\n", p.cmd, proc_how(&p, how, sizeof(how)),
			      err ? err : "");
		free(err);
	}
	return rc;
}

static void lim_netns_enter(const char *name)
{
	char path[96];
	int fd;

	snprintf(path, sizeof(path), "/run/netns/%s", name);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		fail_msg("open %s: %s", path, strerror(errno));
	if (setns(fd, CLONE_NEWNET) < 0) {
		int e = errno;
		(void)close(fd);
		fail_msg("setns(%s): %s", name, strerror(e));
	}
	(void)close(fd);
	lim.in_ns = 1;
}

/* Back to our own namespace (also from lim_teardown, after a failure). */
static void lim_netns_leave(void)
{
	if (!lim.in_ns)
		return;
	if (setns(lim.orig_ns, CLONE_NEWNET) < 0) {
		/* Every later test would run in the wrong namespace. */
		print_error("setns(back to our own namespace): %s\n", strerror(errno));
		abort();
	}
	lim.in_ns = 0;
}

static void lim_netns_delete(const char *dir)
{
	if (lim.made_cli && lim_ip(dir, "netns", "del", lim.ns_cli, NULL) == 0)
		lim.made_cli = 0;
	if (lim.made_srv && lim_ip(dir, "netns", "del", lim.ns_srv, NULL) == 0)
		lim.made_srv = 0;
	if (lim.made_cli || lim.made_srv)
		print_error("could not delete network namespace %s%s%s: delete it with "
			    "`ip netns del NAME`\n", lim.made_srv ? lim.ns_srv : "",
			    lim.made_srv && lim.made_cli ? " and " : "",
			    lim.made_cli ? lim.ns_cli : "");
	lim.made_cli = lim.made_srv = 0;
}

/* Whether pid is a live process: a zombie (killed, not yet reaped) is
 * not, though kill(pid, 0) still finds it. */
static int lim_pid_alive(long pid)
{
	char path[64], *text, *p;
	int alive;

	if (kill((pid_t)pid, 0) < 0 && errno == ESRCH)
		return 0;
	snprintf(path, sizeof(path), "/proc/%ld/stat", pid);
	text = sup_read_file(path, NULL);
	if (!text)
		return errno != ENOENT;
	p = strrchr(text, ')');
	alive = !(p && p[1] == ' ' && p[2] == 'Z');
	free(text);
	return alive;
}

/* Namespaces of an earlier run of this test that was killed before its
 * teardown: ours by name, their process gone. */
static void lim_netns_sweep_stale(const char *dir)
{
	DIR *d = opendir("/run/netns");
	struct dirent *e;
	char names[16][sizeof(((struct dirent *)0)->d_name)];
	unsigned n = 0;

	if (!d)
		return;
	while ((e = readdir(d)) != NULL && n < ARRAY_SIZE(names)) {
		long pid;
		char side;
		if (sscanf(e->d_name, "dqlim%ld-%c", &pid, &side) != 2 || pid == (long)getpid() ||
		    lim_pid_alive(pid))
			continue;
		snprintf(names[n++], sizeof(names[0]), "%s", e->d_name);
	}
	(void)closedir(d);
	for (unsigned i = 0; i < n; i++) {
		print_message("  deleting network namespace %s, left by a killed run\n", names[i]);
		(void)lim_ip(dir, "netns", "del", names[i], NULL);
	}
}

/*
 * Two namespaces joined by a veth pair: the server's side 10.213.7.1/30
 * (and lo, for sources running beside the server), the client's side
 * 10.213.7.2/30. Skips the test, with the reason, where that cannot be
 * done: not root, no iproute2, no network namespaces or veth.
 */
static void lim_netns_setup(struct sup *t)
{
	if (geteuid() != 0)
		sup_skip(t, "needs root for network namespaces and a veth pair (uid %ld)",
			 (long)geteuid());
	lim.ip = lim_find_tool("ip");
	if (!lim.ip)
		sup_skip(t, "no `ip` (iproute2: apt-get install iproute2)");
	if (lim.orig_ns < 0) {
		lim.orig_ns = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
		if (lim.orig_ns < 0)
			sup_skip(t, "cannot open /proc/self/ns/net: %s", strerror(errno));
	}
	lim_netns_sweep_stale(t->dir);
	snprintf(lim.ns_srv, sizeof(lim.ns_srv), "dqlim%ld-s", (long)getpid());
	snprintf(lim.ns_cli, sizeof(lim.ns_cli), "dqlim%ld-c", (long)getpid());
	/* Interface names have at most 15 bytes; pids at most 7 digits. */
	snprintf(lim.veth_srv, sizeof(lim.veth_srv), "dql%u-s", (unsigned)getpid() % 10000000u);
	snprintf(lim.veth_cli, sizeof(lim.veth_cli), "dql%u-c", (unsigned)getpid() % 10000000u);

	if (lim_ip(t->dir, "netns", "add", lim.ns_srv, NULL) != 0)
		sup_skip(t, "cannot create a network namespace (`ip netns add` failed, above)");
	lim.made_srv = 1;
	if (lim_ip(t->dir, "netns", "add", lim.ns_cli, NULL) != 0)
		sup_skip(t, "cannot create a second network namespace (above)");
	lim.made_cli = 1;
	/* Made inside the namespaces: the root namespace never sees them. */
	if (lim_ip(t->dir, "link", "add", lim.veth_srv, "netns", lim.ns_srv, "type", "veth",
		   "peer", "name", lim.veth_cli, "netns", lim.ns_cli, NULL) != 0)
		sup_skip(t, "cannot create a veth pair between network namespaces (above)");
	if (lim_ip(t->dir, "-n", lim.ns_srv, "addr", "add", LIM_NS_SRV "/30", "dev",
		   lim.veth_srv, NULL) != 0 ||
	    lim_ip(t->dir, "-n", lim.ns_srv, "link", "set", lim.veth_srv, "up", NULL) != 0 ||
	    lim_ip(t->dir, "-n", lim.ns_srv, "link", "set", "lo", "up", NULL) != 0 ||
	    lim_ip(t->dir, "-n", lim.ns_cli, "addr", "add", LIM_NS_CLI "/30", "dev",
		   lim.veth_cli, NULL) != 0 ||
	    lim_ip(t->dir, "-n", lim.ns_cli, "link", "set", lim.veth_cli, "up", NULL) != 0)
		fail_msg("cannot set up the veth pair (above)");
}

/* sup_teardown, after what this file made: the raw connections, the lent
 * descriptors, the namespaces (with their veth pair), our own namespace
 * back. */
static int lim_teardown(void **state)
{
	struct sup *t = *state;

	if (t) {
		/* The server may live in a namespace about to go. */
		(void)proc_kill(&t->client);
		(void)proc_kill(&t->server);
	}
	lim_close_all();
	lim_close_lent();
	lim_netns_leave();
	if (lim.made_srv || lim.made_cli)
		lim_netns_delete(t ? t->dir : "/tmp");
	return sup_teardown(state);
}

/* ---- 3a: a silent peer: --idle-timeout -------------------------------- */

/*
 * Source 0, a raw connection, says HELLO and 3 DATA frames, then nothing;
 * sources 1-3 (the client) stream 1.5 s at 1 kHz. With --idle-timeout 0.5
 * source 0 is ended ("idle timeout") 0.5-1.0 s after its last frame, its
 * 3 frames counted, and the others complete. The blocking backend, whose
 * round is stuck in read() on source 0 (the first it accepted), is freed
 * by the same timeout - SO_RCVTIMEO gives it a tick to look at the clock -
 * so sources 1-3 wait about the timeout, then complete.
 */
static void limits_idle_timeout(void **state)
{
	struct sup *t = sup_begin(state);

	sup_set_limit(t, 30);
	sup_server_start(t, "--sources", "4", "--idle-timeout", "0.5", NULL);
	int fd = lim_connect(t);   /* first: the blocking backend reads it first */
	uint64_t last = lim_send_some(fd, 0, 3);
	sup_client_start(t, "--first-id", "1", "--sources", "3", "--rate", "1000",
			 "--count", "1500", NULL);

	uint64_t closed = lim_wait_closed(fd, 5.0);
	assert_int_equal(sup_client_wait(t), 0);
	assert_int_equal(sup_server_wait(t), 1);

	const struct json *s0 = sup_expect_source(t, 0);
	sup_expect_str(s0, "status", "error");
	sup_expect_contains(s0, "error", "idle timeout");
	sup_expect_u64(s0, "frames", 3);
	for (unsigned id = 1; id <= 3; id++)
		lim_expect_as_sent(t, id);
	sup_expect_u64(sup_server_json(t), "status.complete", 3);

	if (!closed)
		fail_msg("%s: source 0 was still open 5 s after its last frame", t->be->name);
	double after = secs(closed - last);
	uint64_t worst = 0;
	for (unsigned id = 1; id <= 3; id++) {
		uint64_t max = sup_u64(sup_expect_source(t, id), "latency_ns.max");
		worst = max > worst ? max : worst;
	}
	print_message("  %s: source 0 ended %.3f s after its last frame; sources 1-3 waited "
		      "at most %.1f ms\n", t->be->name, after, (double)worst / 1e6);
	if (after < 0.5 || after > 1.0)
		fail_msg("%s: source 0 ended %.3f s after its last frame; --idle-timeout 0.5 "
			 "should end it within 0.5-1.0 s", t->be->name, after);
	if (backend_has(t->be, BE_ROUND) && worst < 400 * MS)
		fail_msg("%s: sources 1-3 waited at most %.1f ms; stuck behind the silent "
			 "source 0 until its idle timeout, they should wait about 0.5 s",
			 t->v->name, (double)worst / 1e6);
	sup_passed(t);
}

/* ---- 3b: a peer whose link goes dark: --keepalive --------------------- */

#define LIM_KEEPALIVE_S 2

/*
 * Source 0 connects from another network namespace over a veth pair,
 * says HELLO and 3 DATA frames (acknowledged), then its side of the link
 * goes down: no FIN, no RST, nothing - the server's keepalive probes go
 * unanswered. Sources 1-2 (the client, beside the server) send 50 frames
 * each and complete. With --keepalive 2 the server ends source 0 with
 * "connection timed out" within 2 x 2 + 1 s of the link going down, and
 * the run ends; without keepalive it would wait for source 0 forever.
 * The blocking backend's round is in read() on source 0 (accepted first),
 * which returns ETIMEDOUT as the others' read() does.
 */
static void limits_keepalive(void **state)
{
	struct sup *t = sup_begin(state);
	char ka[16];

	sup_set_limit(t, 30);
	lim_netns_setup(t);
	snprintf(ka, sizeof(ka), "%d", LIM_KEEPALIVE_S);

	lim_netns_enter(lim.ns_srv);
	sup_server_start(t, "--listen", LIM_NS_SRV ":0", "--sources", "3", "--keepalive", ka,
			 NULL);
	lim_netns_leave();
	lim_netns_enter(lim.ns_cli);
	int fd = lim_connect(t);
	lim_netns_leave();
	(void)lim_send_some(fd, 0, 3);
	lim_wait_acked(fd, 5.0);
	lim_netns_enter(lim.ns_srv);
	sup_client_start(t, "--first-id", "1", "--sources", "2", "--rate", "100", "--count", "50",
			 NULL);
	lim_netns_leave();
	nap_ms(100);   /* the blocking backend is in read() on source 0 now */

	if (lim_ip(t->dir, "-n", lim.ns_cli, "link", "set", lim.veth_cli, "down", NULL) != 0)
		fail_msg("cannot take the client's side of the link down (above)");
	uint64_t down = now_ns();
	double bound = 2.0 * LIM_KEEPALIVE_S + 1;
	int r = proc_wait(&t->server, down + (uint64_t)(bound * 1e9));
	if (r < 0)
		fail_msg("cannot wait for the server: %s", strerror(errno));
	if (r == 0)
		fail_msg("%s: the server still runs %.0f s after source 0's link went down; "
			 "--keepalive %d should have ended it", t->be->name, bound, LIM_KEEPALIVE_S);
	double after = secs(now_ns() - down);

	assert_int_equal(sup_client_wait(t), 0);
	assert_int_equal(sup_server_wait(t), 1);
	const struct json *s0 = sup_expect_source(t, 0);
	sup_expect_str(s0, "status", "error");
	sup_expect_contains(s0, "error", "timed out");
	sup_expect_u64(s0, "frames", 3);
	lim_expect_as_sent(t, 1);
	lim_expect_as_sent(t, 2);
	print_message("  %s: source 0 ended (\"%s\") %.2f s after its link went down "
		      "(--keepalive %d, bound %.0f s)\n", t->be->name, sup_str(s0, "error"), after,
		      LIM_KEEPALIVE_S, bound);
	sup_passed(t);
}

/* ---- 7a: descriptors at and beyond FD_SETSIZE -------------------------- */

#define LIM_BEYOND 8   /* connections offered past the last descriptor below FD_SETSIZE */

/*
 * One run: sources 0-3 (the client) connect and stream; then idle raw
 * connections fill every descriptor the server has left below FD_SETSIZE
 * - the last lands on 1023 - and LIM_BEYOND more follow. Those get the
 * server's lowest free descriptor above, `first_beyond`: 1024, or 1025 or
 * 1100 when the server was started holding the descriptors from 1024 up
 * to it (inherited from us, as a server holds files and other sockets).
 *
 * select refuses each of those (it could not FD_SET them: with
 * _FORTIFY_SOURCE that would abort), one message per connection naming
 * the descriptor, and serves on; poll, epoll, threads and uring hold them
 * all; blocking has its 4 sources and accepts no connection after them.
 * Sources 0-3 complete either way.
 */
static void fd_setsize_run(struct sup *t, int first_beyond)
{
	/* A backend with a descriptor limit refuses beyond it; one that
	 * accepts its sources first takes no more connections at all. */
	int select_be = t->be->fd_limit == FD_SETSIZE,
	    blocking = backend_has(t->be, BE_ACCEPTS_ALL_FIRST);
	char needle[96];

	/* The descriptors the server shall find taken: ours, inherited. */
	for (int fd = FD_SETSIZE; fd < first_beyond; fd++) {
		if (fcntl(fd, F_GETFD) >= 0 || errno != EBADF)
			fail_msg("descriptor %d of this process is in use; cannot lend it", fd);
		int nul = open("/dev/null", O_RDONLY | O_CLOEXEC);
		if (nul < 0 || dup2(nul, fd) < 0)   /* dup2: without CLOEXEC */
			fail_msg("/dev/null as descriptor %d: %s", fd, strerror(errno));
		(void)close(nul);
		lim.lent_to = fd + 1;
	}
	sup_server_start(t, "--sources", "4", NULL);
	lim_close_lent();
	/* Until SIGINT: it then says BYE for every source. */
	sup_client_start(t, "--sources", "4", "--rate", "200", "--duration", "60", NULL);
	lim_wait_sockets(t, 1 + 4, 10.0);

	unsigned room = FD_SETSIZE - lim_scan_fds(t->server.pid).below;
	for (unsigned i = 0; i < room + LIM_BEYOND; i++)
		(void)lim_connect(t);
	if (select_be) {
		lim_wait_sockets(t, 1 + 4 + room, 10.0);
		lim_wait_lines(t, "refused connection", LIM_BEYOND, 10.0);
	} else if (blocking) {
		nap_ms(200);   /* time enough to do what it must not */
		lim_wait_sockets(t, 1 + 4, 0.1);
	} else {
		lim_wait_sockets(t, 1 + 4 + room + LIM_BEYOND, 20.0);
	}
	int at_1023 = lim_fd_is_socket(t->server.pid, FD_SETSIZE - 1);
	int at_beyond = lim_fd_is_socket(t->server.pid, first_beyond);

	assert_int_equal(proc_signal(&t->client, SIGINT), 0);
	assert_int_equal(sup_client_wait(t), 0);
	assert_int_equal(sup_server_wait(t), 0);
	for (unsigned id = 0; id < 4; id++)
		lim_expect_as_sent(t, id);
	const struct json *sum = sup_server_json(t);
	sup_expect_u64(sum, "status.complete", 4);

	snprintf(needle, sizeof(needle), "descriptor %d is beyond the %s backend's limit of %d",
		 first_beyond, t->be->name, FD_SETSIZE - 1);
	if (select_be) {
		sup_expect_u64(sum, "refused", LIM_BEYOND);
		sup_expect_u64(sum, "idle_connections", room);
		assert_true(at_1023);
		assert_int_equal(lim_count_lines(t->server.err, needle), LIM_BEYOND);
		assert_int_equal(lim_count_lines(t->server.err, "refused connection"), LIM_BEYOND);
	} else if (blocking) {
		sup_expect_u64(sum, "refused", 0);
		sup_expect_u64(sum, "idle_connections", 0);
	} else {
		sup_expect_u64(sum, "refused", 0);
		sup_expect_u64(sum, "idle_connections", room + LIM_BEYOND);
		assert_true(at_1023);
		assert_true(at_beyond);
	}
	print_message("  %s: %u idle connections to descriptor %d, then %d at %d and up: %llu "
		      "refused, %llu held\n", t->be->name, room, FD_SETSIZE - 1, LIM_BEYOND,
		      first_beyond, (unsigned long long)sup_u64(sum, "refused"),
		      (unsigned long long)sup_u64(sum, "idle_connections"));
	lim_close_all();
}

static void limits_fd_setsize(void **state)
{
	static const int beyond[] = { FD_SETSIZE, FD_SETSIZE + 1, FD_SETSIZE + 76 };
	struct sup *t = sup_begin(state);

	sup_set_limit(t, 60);
	/* Our raw connections, the descriptors we lend, the harness's own. */
	sup_need_nofile(t, 4096);
	for (size_t i = 0; i < ARRAY_SIZE(beyond); i++) {
		if (i)
			sup_reset(t);
		fd_setsize_run(t, beyond[i]);
	}
	sup_passed(t);
}

/* ---- 7b: out of descriptors (EMFILE) ---------------------------------- */

#define LIM_NOFILE      64
#define LIM_FLOOD_FIRST 100    /* connections at once ... */
#define LIM_FLOOD_TICK  5      /* ... then this many every 100 ms */
#define LIM_FLOOD_MS    1500   /* for this long */
#define LIM_CPU_MAX_S   0.3    /* server CPU over those 1.5 s */

/* Connections the server must refuse or hold while it has no descriptor
 * to spare; the server's CPU time over the LIM_FLOOD_MS this takes. */
static double emfile_flood(struct sup *t, unsigned *offered)
{
	double cpu = lim_cpu_s(t->server.pid);
	uint64_t start = now_ns(), until = start + LIM_FLOOD_MS * MS;

	for (unsigned i = 0; i < LIM_FLOOD_FIRST; i++)
		(void)lim_connect(t);
	*offered = LIM_FLOOD_FIRST;
	while (now_ns() < until) {
		nap_ms(100);
		for (unsigned i = 0; i < LIM_FLOOD_TICK; i++)
			(void)lim_connect(t);
		*offered += LIM_FLOOD_TICK;
	}
	cpu = lim_cpu_s(t->server.pid) - cpu;
	print_message("  %s: %u connections offered over %.2f s at RLIMIT_NOFILE %d: "
		      "server CPU %.3f s\n", t->be->name, *offered, secs(now_ns() - start),
		      LIM_NOFILE, cpu);
	if (cpu > LIM_CPU_MAX_S)
		fail_msg("%s: the server used %.2f s of CPU in %.1f s of refused connections; a "
			 "busy loop? (expected < %.1f s)", t->be->name, cpu, LIM_FLOOD_MS / 1e3,
			 LIM_CPU_MAX_S);
	return cpu;
}

/* Until the server has dealt with every connection offered: it holds it
 * (a socket beside its listener and its `sources`) or has refused it (a
 * line on its stderr). Before the run may end. */
static void emfile_wait_dealt(struct sup *t, unsigned sources, unsigned offered)
{
	uint64_t until = now_ns() + 10000 * MS;
	unsigned held, refused;

	do {
		unsigned sockets = lim_scan_fds(t->server.pid).sockets;
		held = sockets > 1 + sources ? sockets - 1 - sources : 0;
		refused = lim_count_lines(t->server.err, "refused connection");
		if (held + refused >= offered)
			return;
		nap_ms(5);
	} while (now_ns() < until);
	fail_msg("%s: of %u connections offered, the server holds %u and has refused %u "
		 "after 10 s", t->be->name, offered, held, refused);
}

/* Every offered connection was either held (an idle connection) or
 * refused, each refusal with its line saying what to do. */
static void emfile_expect_refused(struct sup *t, unsigned offered)
{
	const struct json *sum = sup_server_json(t);
	uint64_t refused = sup_u64(sum, "refused"), held = sup_u64(sum, "idle_connections");

	if (refused == 0)
		fail_msg("%s: no connection refused with %u offered at RLIMIT_NOFILE %d",
			 t->be->name, offered, LIM_NOFILE);
	sup_expect_u64(sum, "idle_connections", offered - refused);
	assert_true(held < LIM_NOFILE);
	assert_int_equal(lim_count_lines(t->server.err, "refused connection"), refused);
	assert_int_equal(lim_count_lines(t->server.err, "Too many open files (raise `ulimit -n`"),
			 refused);
	print_message("  %s: %llu held, %llu refused\n", t->be->name, (unsigned long long)held,
		      (unsigned long long)refused);
}

/*
 * The server runs with RLIMIT_NOFILE 64. Run 1: sources 0-3 connect and
 * stream; then connections keep coming for 1.5 s, far more than fit. The
 * server holds what fits, refuses the rest at once (a reserve descriptor
 * accepts and closes each, so the listener is not left readable), says
 * "raise `ulimit -n`", spends next to no CPU, and sources 0-3 complete.
 * The blocking backend accepts its 4 sources and then no connection at
 * all: none is refused, the rest wait in the backlog.
 *
 * Run 2: --sources 100, the same flood and nothing else, until
 * --duration: every backend, blocking included (it is still accepting its
 * 100), holds what fits and refuses the rest, and at the end, with every
 * descriptor taken, still writes its summary.
 */
static void limits_emfile(void **state)
{
	struct sup *t = sup_begin(state);
	unsigned offered;

	sup_set_limit(t, 40);
	sup_need_nofile(t, 1024);

	lim_server_start_nofile(t, LIM_NOFILE, "--sources", "4", NULL);
	sup_client_start(t, "--sources", "4", "--rate", "100", "--duration", "60", NULL);
	lim_wait_sockets(t, 1 + 4, 10.0);
	emfile_flood(t, &offered);
	if (!backend_has(t->be, BE_ACCEPTS_ALL_FIRST))
		emfile_wait_dealt(t, 4, offered);
	assert_int_equal(proc_signal(&t->client, SIGINT), 0);
	assert_int_equal(sup_client_wait(t), 0);
	assert_int_equal(sup_server_wait(t), 0);
	for (unsigned id = 0; id < 4; id++)
		lim_expect_as_sent(t, id);
	if (backend_has(t->be, BE_ACCEPTS_ALL_FIRST)) {
		sup_expect_u64(sup_server_json(t), "refused", 0);
		sup_expect_u64(sup_server_json(t), "idle_connections", 0);
		print_message("  %s: accepted its 4 sources, then none of the %u others "
			      "(left in the backlog): 0 refused\n", t->be->name, offered);
	} else {
		emfile_expect_refused(t, offered);
	}

	sup_reset(t);
	lim_close_all();
	lim_server_start_nofile(t, LIM_NOFILE, "--sources", "100", "--duration", "2.5", NULL);
	emfile_flood(t, &offered);
	emfile_wait_dealt(t, 0, offered);
	/* None of the 100 expected sources came: a failed run. */
	assert_int_equal(sup_server_wait(t), 1);
	emfile_expect_refused(t, offered);
	sup_expect_u64(sup_server_json(t), "frames", 0);
	lim_close_all();
	sup_passed(t);
}

/* ---- 8: ten thousand sources --------------------------------------------- */

/* Every one of sources 0..n-1 complete with `frames` frames: one pass
 * over the summary (sup_expect_complete per id would be quadratic). */
static void many_expect_all(struct sup *t, unsigned n, uint64_t frames)
{
	const struct json *sum = sup_server_json(t), *all = json_get(sum, "sources");
	unsigned char *seen = calloc(n, 1);
	unsigned count = 0;

	assert_non_null(seen);
	assert_non_null(all);
	for (const struct json *s = all->child; s; s = s->next, count++) {
		uint64_t id = sup_u64(s, "id");
		if (id >= n || seen[id]) {
			free(seen);
			fail_msg("%s: source %llu is unexpected or listed twice", t->be->name,
				 (unsigned long long)id);
		}
		seen[id] = 1;
		if (sup_u64(s, "frames") != frames || sup_u64(s, "lost") || sup_u64(s, "duplicates") ||
		    strcmp(sup_str(s, "status"), "complete") != 0) {
			free(seen);
			sup_expect_complete(t, id, frames);   /* says what is wrong */
		}
	}
	free(seen);
	assert_int_equal(count, n);
	sup_expect_u64(sum, "status.complete", n);
	sup_expect_u64(sum, "frames", n * frames);
	sup_expect_u64(sum, "lost", 0);
	sup_expect_u64(sum, "duplicates", 0);
	sup_expect_u64(sum, "crc_errors", 0);
	sup_expect_u64(sum, "refused", 0);
}

/*
 * 10,000 sources at once, 10 frames each at 10 Hz, all connected before
 * the first frame: every frame delivered, by poll, epoll, threads, uring,
 * and blocking too (one frame per source per round). select cannot watch
 * descriptors of FD_SETSIZE and up: it refuses those connections with a
 * message and serves on; the client, refused, stops its run (exit 1), and
 * the server, still up, is stopped with SIGINT.
 */
static void limits_many(void **state)
{
	struct sup *t = sup_begin(state);
	unsigned many = LIM_MANY;
	char n[16];

	sup_set_limit(t, 120);
#ifdef LIM_TSAN
	if (backend_has(t->be, BE_THREAD_PER_CONN)) {
		many = LIM_MANY_TSAN_THREADS;
		print_message("  %s: %u sources, not %u: a thread each, under ThreadSanitizer "
			      "(see LIM_MANY_TSAN_THREADS)\n", t->be->name, many, LIM_MANY);
	}
#endif
	/* RLIMIT_NOFILE is per process: the server and the client each need
	 * one descriptor per source and a few of their own. */
	sup_need_nofile(t, many + 256);
	snprintf(n, sizeof(n), "%u", many);

	/* Every source keeps its row (beyond --max-records they would be
	 * folded into "others"). */
	sup_server_start(t, "--sources", n, "--max-records", n, NULL);
	uint64_t start = now_ns();
	int client = sup_client_run(t, "--sources", n, "--rate", "10", "--count", "10", NULL);
	if (t->be->fd_limit && t->be->fd_limit < (int)many) {
		char needle[96];
		assert_int_equal(client, 1);
		assert_int_equal(proc_poll(&t->server), 0);   /* still up */
		sup_server_signal(t, SIGINT);
		/* None of the expected sources completed: a failed run. */
		assert_int_equal(sup_server_wait(t), 1);
		const struct json *sum = sup_server_json(t);
		uint64_t refused = sup_u64(sum, "refused"), held = sup_u64(sum, "idle_connections");
		if (refused == 0)
			fail_msg("%s: no connection refused out of %u", t->be->name, many);
		assert_true(held < (uint64_t)t->be->fd_limit);
		sup_expect_u64(sum, "frames", 0);
		snprintf(needle, sizeof(needle), "beyond the %s backend's limit of %d", t->be->name,
			 t->be->fd_limit - 1);
		assert_true(lim_count_lines(t->server.err, needle) == refused);
		print_message("  %s: %llu connections held below its descriptor limit, %llu "
			      "refused; the client gave up\n", t->be->name, (unsigned long long)held,
			      (unsigned long long)refused);
		sup_passed(t);
		return;
	}
	assert_int_equal(client, 0);
	assert_int_equal(sup_server_wait(t), 0);
	many_expect_all(t, many, 10);
	print_message("  %s: %u sources x 10 frames delivered in %.2f s; peak RSS %.1f MiB\n",
		      t->be->name, many, secs(now_ns() - start),
		      (double)sup_u64(sup_server_json(t), "max_rss_kib") / 1024);
	sup_passed(t);
}

/* ---- a flooding source and the server's memory -------------------------- */

/* TSan keeps ~4 bytes of shadow per byte the program touches: uring's
 * 16 MiB of receive buffers alone become ~80 MiB (measured 91.5 MiB peak,
 * against 18.5 MiB without TSan), so the bound is 5 x 64 MiB there - still
 * far below what a server buffering the flood (0.5-9 GB in 2.5 s) needs. */
#ifdef LIM_TSAN
#define LIM_RSS_MAX_KIB (5 * 64 * 1024)
#else
#define LIM_RSS_MAX_KIB (64 * 1024)
#endif

/*
 * One source at --rate max for 2.5 s, payloads of 64 B to 64 KiB: the
 * server never buffers a payload or a backlog of frames (the kernel's
 * socket buffer holds what it has not read), so its peak RSS stays below
 * 64 MiB on every backend, whatever the rate (5 x 64 MiB under TSan).
 */
static void limits_flood_memory(void **state)
{
	struct sup *t = sup_begin(state);

	sup_set_limit(t, 30);
	sup_server_start(t, "--sources", "1", NULL);
	int client = sup_client_run(t, "--sources", "1", "--rate", "max", "--duration", "2.5",
				    "--size", "64-64K", NULL);
	assert_int_equal(client, 0);
	assert_int_equal(sup_server_wait(t), 0);
	lim_expect_as_sent(t, 0);

	const struct json *sum = sup_server_json(t);
	uint64_t rss = sup_u64(sum, "max_rss_kib");
	print_message("  %s: %llu frames, %.0f MB in 2.5 s; peak RSS %.1f MiB\n", t->be->name,
		      (unsigned long long)sup_u64(sum, "frames"), (double)sup_u64(sum, "bytes") / 1e6,
		      (double)rss / 1024);
	if (sup_u64(sum, "frames") < 1000)
		fail_msg("%s: only %llu frames in 2.5 s at --rate max: no flood", t->be->name,
			 (unsigned long long)sup_u64(sum, "frames"));
	if (rss >= LIM_RSS_MAX_KIB)
		fail_msg("%s: peak RSS %.1f MiB under a flooding source, expected < %d MiB",
			 t->be->name, (double)rss / 1024, LIM_RSS_MAX_KIB / 1024);
	sup_passed(t);
}

/* ---- the table ------------------------------------------------------------ */

static const struct sup_case limits[] = {
	{ "limits 3a: --idle-timeout 0.5 ends a source silent after 3 frames", limits_idle_timeout },
	{ "limits 3b: --keepalive 2 ends a source whose link went down (netns)", limits_keepalive },
	{ "limits 7a: descriptors 1023, 1024, 1025, 1100 (select: FD_SETSIZE)", limits_fd_setsize },
	{ "limits 7b: EMFILE at RLIMIT_NOFILE 64: refused, no busy loop", limits_emfile },
	{ "limits 8: 10000 concurrent sources x 10 frames", limits_many },
	{ "limits 9: a source at --rate max: peak RSS < 64 MiB", limits_flood_memory },
};

int main(int argc, char **argv)
{
	return sup_main("test_limits", argc, argv, 0, limits, ARRAY_SIZE(limits), lim_teardown);
}
