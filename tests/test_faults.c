/*
 * test_faults.c - what goes wrong on the wire, run against every backend.
 *
 * The conformance suite shows that every backend delivers what well-behaved
 * sources send; this one shows what each does when a source, the client
 * process or the server itself misbehaves: a reset, a killed client,
 * garbage and lies on the wire, a flooding source beside paced ones, a
 * shutdown while every source is silent, descriptor numbers reused while
 * connections churn, and a client whose server goes away. The cases are
 * those of docs/faults.md (which also says what each backend did).
 *
 * As in test_conformance.c, the same functions run for every backend in
 * backends[] and its variants (one cmocka group each: "epoll/loops2",
 * "uring/tiny", ...), and an unavailable backend is skipped with its
 * reason. Where a backend cannot be expected to cope (a BE_ROUND backend
 * with a flooding source), the test asserts that documented behaviour
 * instead. The
 * client's own failures (nothing listening, the server killed) do not
 * depend on the server's backend: they run once, in a group of their own
 * named "client", against the default backend.
 *
 * Case 6 depends on timing: the paced sources' p99 under 10 ms, measured
 * at 2.5-6 ms (uring 4-9.5 ms) on a quiet shared 2-CPU machine; like the
 * conformance suite's scenario 5 it runs up to three times and passes if
 * one run meets the bound, and under a sanitizer it only prints the
 * latency. Case 9 bounds a shutdown at one second; the servers take a
 * few ms after SIGINT and at most one 100 ms tick after --duration.
 * Every test has its own hard time limit.
 *
 * Run one backend, one case, or only the client's cases:
 *   build/default/tests/test_faults epoll uring uring/singleshot
 *   DAQMUX_TEST_FILTER='*case 10*' build/default/tests/test_faults
 *   build/default/tests/test_faults client
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "backend.h"
#include "json.h"
#include "proto.h"
#include "support.h"
#include "util.h"

#define MS     1000000ull   /* ns */
#define MIB    1024ull      /* KiB */


static void nap_ms(unsigned ms)
{
	struct timespec ts = { (time_t)(ms / 1000), (long)(ms % 1000) * 1000000L };

	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

/* DIR/name, for the files a test asks the server to write. */
static const char *in_dir(const struct sup *t, const char *name, char *buf, size_t len)
{
	if ((size_t)snprintf(buf, len, "%s/%s", t->dir, name) >= len)
		fail_msg("%s/%s: path too long", t->dir, name);
	return buf;
}

/* A source's record says lost, duplicates, late and crc_errors are 0. */
static void expect_clean(const struct json *s)
{
	sup_expect_u64(s, "lost", 0);
	sup_expect_u64(s, "duplicates", 0);
	sup_expect_u64(s, "late", 0);
	sup_expect_u64(s, "crc_errors", 0);
}

/* Source id delivered exactly the DATA frames and bytes the client (its
 * --json, parsed in cj) says it sent. */
static void expect_as_sent(struct sup *t, const struct json *cj, unsigned id)
{
	const struct json *sent = sup_find_id(json_get(cj, "per_source"), id);
	const struct json *got = sup_expect_source(t, id);

	if (!sent)
		fail_msg("%s: the client's summary has no source %u", t->v->name, id);
	sup_expect_u64(got, "frames", sup_u64(sent, "frames"));
	sup_expect_u64(got, "bytes", sup_u64(sent, "bytes"));
}

/* ---- the server's --trace: every DATA frame in the order it arrived ----- */

struct trace {
	size_t n;
	uint32_t *src;
	uint64_t *seq;
};

static void trace_load(struct trace *tr, const char *path)
{
	size_t len, cap = 0;
	char *text = sup_read_file(path, &len), *p;

	memset(tr, 0, sizeof(*tr));
	if (!text)
		fail_msg("cannot read the trace %s: %s", path, strerror(errno));
	for (size_t i = 0; i < len; i++)
		cap += text[i] == '\n';
	tr->src = calloc(cap + 1, sizeof(*tr->src));
	tr->seq = calloc(cap + 1, sizeof(*tr->seq));
	if (!tr->src || !tr->seq)
		fail_msg("out of memory for a trace of %zu frames", cap);
	p = strchr(text, '\n');          /* the header line */
	while (p && *++p) {
		char *end;
		unsigned long src = strtoul(p, &end, 10);
		if (*end != ',')
			fail_msg("%s: line %zu is not source,seq,...", path, tr->n + 2);
		tr->src[tr->n] = (uint32_t)src;
		tr->seq[tr->n] = strtoull(end + 1, &end, 10);
		tr->n++;
		p = strchr(end, '\n');
	}
	free(text);
}

static void trace_free(struct trace *tr)
{
	free(tr->src);
	free(tr->seq);
	memset(tr, 0, sizeof(*tr));
}

/* ---- case 1: a source resets its connection ----------------------------- */

/*
 * Source 1 of 3 closes with SO_LINGER {on, 0} after 37 frames while the
 * others still stream: the server reads the 37 frames the kernel holds,
 * then ECONNRESET, reported as an error with the reason "connection
 * reset"; the other two complete with exactly what was sent.
 */
static const struct json *reset_run(struct sup *t, const char *rate)
{
	sup_set_limit(t, 20);
	sup_server_start(t, "--sources", "3", NULL);
	int client = sup_client_run(t, "--sources", "3", "--rate", rate, "--count", "200",
				    "--fault", "1:reset@37", NULL);
	assert_int_equal(client, 0);
	assert_int_equal(sup_server_wait(t), 1);

	const struct json *s1 = sup_expect_source(t, 1);
	sup_expect_str(s1, "status", "error");
	sup_expect_str(s1, "error", "connection reset");
	sup_expect_u64(s1, "frames", 37);
	expect_clean(s1);
	sup_expect_complete(t, 0, 200);
	sup_expect_complete(t, 2, 200);
	return s1;
}

/* Paced at 1 kHz; the one message line names the source and its peer. */
static void case_reset(void **state)
{
	struct sup *t = sup_begin(state);

	reset_run(t, "1000");
	expect_as_sent(t, sup_client_json(t), 0);
	expect_as_sent(t, sup_client_json(t), 2);

	const struct json *sum = sup_server_json(t);
	sup_expect_u64(sum, "frames", 200 + 37 + 200);
	sup_expect_u64(sum, "status.error", 1);
	sup_expect_u64(sum, "status.complete", 2);

	/* The one line: "source 1 (127.0.0.1:PORT): connection reset; ..." */
	char *err = sup_read_file(t->server.err, NULL);
	assert_non_null(err);
	int named = strstr(err, "source 1 (127.0.0.1:") && strstr(err, "connection reset");
	if (!named)
		fail_msg("%s: the server's stderr has no line \"source 1 (127.0.0.1:PORT): "
			 "connection reset\":\n%s", t->v->name, err);
	free(err);
	sup_passed(t);
}

/*
 * The same at full speed: the 37 frames and the RST usually reach the
 * server's kernel before the server has even accepted the connection.
 * The kernel still holds the frames, so they are counted all the same.
 * accept() knows the peer's address even then, so the line names it; the
 * io_uring backend's multishot accept does not ask for it, and once the
 * peer has reset the socket cannot tell it, so uring says "?".
 */
static void case_reset_early(void **state)
{
	struct sup *t = sup_begin(state);
	const struct json *s1 = reset_run(t, "max");

	if (!backend_has(t->be, BE_PEER_UNKNOWN_EARLY))
		sup_expect_contains(s1, "peer", "127.0.0.1:");
	sup_passed(t);
}

/* ---- case 2: the client is killed ----------------------------------------- */

/*
 * 8 sources stream at full speed, frames of 1-64 KiB, and the client gets
 * SIGKILL after half a second. The kernel closes its sockets after sending
 * what they hold, so each source ends closed (at a frame boundary) or
 * truncated (inside a frame). After a SIGKILL the sequence numbers are
 * the only record of what was sent: each source's frames, in the order
 * the server's --trace saw them, must be exactly 0, 1, 2, ... - nothing
 * lost, nothing twice, nothing invented, and the summary counts agree.
 */
static void case_killed_client(void **state)
{
	struct sup *t = sup_begin(state);
	char trace_path[PATH_MAX];
	uint64_t next[8] = { 0 };
	struct trace tr;

	sup_set_limit(t, 30);
	in_dir(t, "trace.csv", trace_path, sizeof(trace_path));
	sup_server_start(t, "--sources", "8", "--trace", trace_path, NULL);
	sup_client_start(t, "--sources", "8", "--rate", "max", "--duration", "30",
			 "--size", "1K-64K", NULL);
	nap_ms(500);
	if (proc_signal(&t->client, SIGKILL) < 0 || proc_wait(&t->client, t->deadline_ns) != 1)
		fail_msg("cannot kill and reap the client");

	/* The server ends by itself once all 8 have ended, exit 1: none
	 * said BYE (sup_server_wait fails on a crash). */
	int rc = sup_server_wait(t);

	trace_load(&tr, trace_path);
	for (size_t i = 0; i < tr.n; i++) {
		uint32_t id = tr.src[i];
		if (id >= 8 || tr.seq[i] != next[id]) {
			fail_msg("%s: trace line %zu: source %u seq %llu, expected seq %llu",
				 t->v->name, i + 2, id, (unsigned long long)tr.seq[i],
				 id < 8 ? (unsigned long long)next[id] : 0ull);
		}
		next[id]++;
	}
	const struct json *sum = sup_server_json(t);
	uint64_t total = 0;
	unsigned truncated = 0;
	for (unsigned id = 0; id < 8; id++) {
		const struct json *s = sup_expect_source(t, id);
		const char *status = sup_str(s, "status");
		if (strcmp(status, "closed") == 0) {
			sup_expect_str(s, "error", "");
		} else if (strcmp(status, "truncated") == 0) {
			sup_expect_contains(s, "error", "mid-frame");
			truncated++;
		} else {
			fail_msg("%s: source %u is %s, expected closed or truncated",
				 t->v->name, id, status);
		}
		sup_expect_u64(s, "frames", next[id]);
		expect_clean(s);
		assert_true(next[id] > 0);
		total += next[id];
	}
	sup_expect_u64(sum, "frames", total);
	assert_int_equal(tr.n, total);
	assert_int_equal(rc, 1);
	trace_free(&tr);
	print_message("%s: %llu frames, each source a clean prefix; %u closed, %u truncated\n",
		      t->v->name, (unsigned long long)total, 8 - truncated, truncated);
	sup_passed(t);
}

/* ---- case 5: garbage and lies ---------------------------------------------- */

#define GARBAGE_COUNT 100   /* frames per source, 64-byte payloads */

/* What the server must make of each fault: one source each, ids 0-8,
 * the fault after 10 good frames (the BYE faults at the BYE); source 9
 * is clean. */
static const struct {
	const char *fault;
	const char *status;
	uint64_t frames, bytes, lost, duplicates, late, crc_errors;
	const char *error;      /* the reason, in part; NULL: none */
} garbage_cases[] = {
	/* 64 random bytes: the first two are not the magic */
	{ "0:garbage@10",  "error",      10, 10 * 64,  0, 0, 0, 0, "protocol error: bad magic" },
	/* a header saying 4 GiB: refused on the header, nothing read or allocated */
	{ "1:oversize@10", "error",      10, 10 * 64,  0, 0, 0, 0,
	  "payload length 4294967295 exceeds --max-frame" },
	/* an empty payload is a valid frame */
	{ "2:zero@10",     "complete",  100, 99 * 64,  0, 0, 0, 0, NULL },
	/* BYE says 105: the 5 never seen are lost */
	{ "3:bye-more",    "incomplete", 100, 100 * 64, 5, 0, 0, 0, NULL },
	/* BYE says 99 after seq 99 arrived: a lie the server cannot square */
	{ "4:bye-less",    "error",     100, 100 * 64, 0, 0, 0, 0,
	  "BYE says 99 frames were sent but sequence 99 arrived" },
	{ "5:dup@10",      "complete",  101, 101 * 64, 0, 1, 0, 0, NULL },
	/* 11 before 10: 10 counted lost, then late, no longer lost */
	{ "6:reorder@10",  "complete",  100, 100 * 64, 0, 0, 1, 0, NULL },
	{ "7:skip@10",     "incomplete", 99, 99 * 64,  1, 0, 0, 0, NULL },
	/* a bad CRC is counted, not fatal */
	{ "8:crc@10",      "complete",  100, 100 * 64, 0, 0, 0, 1, NULL },
};

static void case_garbage(void **state)
{
	struct sup *t = sup_begin(state);
	const char *args[64];
	size_t n = 0;
	unsigned clean = ARRAY_SIZE(garbage_cases);
	char count[16], sources[16];

	sup_set_limit(t, 20);
	snprintf(count, sizeof(count), "%d", GARBAGE_COUNT);
	snprintf(sources, sizeof(sources), "%u", clean + 1);
	sup_server_start(t, "--sources", sources, NULL);
	args[n++] = "--sources";
	args[n++] = sources;
	args[n++] = "--rate";
	args[n++] = "max";
	args[n++] = "--count";
	args[n++] = count;
	for (size_t i = 0; i < ARRAY_SIZE(garbage_cases); i++) {
		args[n++] = "--fault";
		args[n++] = garbage_cases[i].fault;
	}
	args[n] = NULL;
	assert_int_equal(sup_client_runv(t, args), 0);
	assert_int_equal(sup_server_wait(t), 1);

	for (unsigned id = 0; id < ARRAY_SIZE(garbage_cases); id++) {
		const struct json *s = sup_expect_source(t, id);
		sup_expect_str(s, "status", garbage_cases[id].status);
		sup_expect_u64(s, "frames", garbage_cases[id].frames);
		sup_expect_u64(s, "bytes", garbage_cases[id].bytes);
		sup_expect_u64(s, "lost", garbage_cases[id].lost);
		sup_expect_u64(s, "duplicates", garbage_cases[id].duplicates);
		sup_expect_u64(s, "late", garbage_cases[id].late);
		sup_expect_u64(s, "crc_errors", garbage_cases[id].crc_errors);
		if (garbage_cases[id].error)
			sup_expect_contains(s, "error", garbage_cases[id].error);
		else
			sup_expect_str(s, "error", "");
	}
	sup_expect_complete(t, clean, GARBAGE_COUNT);
	expect_as_sent(t, sup_client_json(t), clean);

	/* The 4 GiB header allocated nothing: the server's peak stays that
	 * of a server with ten small sources. */
	const struct json *sum = sup_server_json(t);
	uint64_t rss = sup_u64(sum, "max_rss_kib");
	if (rss >= 64 * MIB)
		fail_msg("%s: the server's peak memory is %llu KiB after a 4 GiB length; "
			 "expected under 64 MiB", t->v->name, (unsigned long long)rss);
	sup_expect_u64(sum, "status.error", 3);
	sup_passed(t);
}

/* ---- case 5b: a 4 GiB frame the server was told to accept ------------------- */

/* Bytes of the 4 GiB payload sent in one run and in the other. Even the
 * smaller is 4 times uring's shared buffer ring (16 MiB), so that every
 * buffer has been written (and, under TSan, shadowed) in both runs. */
#define HUGE_SMALL (64u << 20)
#define HUGE_BIG   (512u << 20)

/* One run: a source announces 4 GiB - 2 bytes, sends `streamed` of them
 * and closes. The server's peak memory, in KiB. */
static uint64_t huge_run(struct sup *t, size_t streamed)
{
	static uint8_t chunk[1u << 16];
	uint8_t hdr[PROTO_HEADER_SIZE];
	struct timeval tv = { .tv_sec = 5 };   /* a server that stops reading fails the test */
	const uint32_t len = 0xFFFFFFFEu;
	char missing[96];

	sup_server_start(t, "--sources", "1", "--max-frame", "4294967294", NULL);
	int fd = sup_connect(t);
	if (setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv)) < 0)
		fail_msg("SO_SNDTIMEO: %s", strerror(errno));
	assert_int_equal(sup_send_frame(fd, PROTO_HELLO, 7, 0, "huge", 4), 0);
	struct proto_header h = proto_make(PROTO_DATA, 7, 0, now_ns(), len, 0);
	proto_encode(&h, hdr);
	if (send(fd, hdr, sizeof(hdr), MSG_NOSIGNAL) != (ssize_t)sizeof(hdr))
		fail_msg("send the header: %s", strerror(errno));
	for (size_t sent = 0; sent < streamed;) {
		size_t n = streamed - sent < sizeof(chunk) ? streamed - sent : sizeof(chunk);
		ssize_t w = send(fd, chunk, n, MSG_NOSIGNAL);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0) {
			int e = errno;
			(void)close(fd);
			fail_msg("%s: sending the payload stopped after %zu bytes: %s",
				 t->v->name, sent, strerror(e));
		}
		sent += (size_t)w;
	}
	assert_int_equal(close(fd), 0);
	assert_int_equal(sup_server_wait(t), 1);

	const struct json *s = sup_expect_source(t, 7);
	snprintf(missing, sizeof(missing), "closed mid-frame: %llu payload bytes missing",
		 (unsigned long long)(len - streamed));
	sup_expect_str(s, "status", "truncated");
	sup_expect_str(s, "error", missing);
	sup_expect_str(s, "name", "huge");
	sup_expect_u64(s, "frames", 0);
	return sup_u64(sup_server_json(t), "max_rss_kib");
}

/*
 * --max-frame 4294967294 lets a header announce a 4 GiB payload. The
 * server must stream it through the CRC, never allocating by the length:
 * it reads 64 MiB of it in one run, 512 MiB in another, each time ending
 * truncated with the missing bytes named, and its peak memory is the
 * same after both (within 8 MiB) - it does not grow with what arrives.
 * (Compared, not bounded: a sanitizer's shadow memory adds tens of MiB,
 * to both runs alike.)
 */
static void case_huge_length(void **state)
{
	struct sup *t = sup_begin(state);

	sup_set_limit(t, 60);
	uint64_t small = huge_run(t, HUGE_SMALL);
	sup_reset(t);
	uint64_t big = huge_run(t, HUGE_BIG);
	if (big > small + 8 * MIB)
		fail_msg("%s: the server's peak memory grew from %llu KiB (%u MiB of a 4 GiB "
			 "payload read) to %llu KiB (%u MiB read); it must not depend on the length",
			 t->v->name, (unsigned long long)small, HUGE_SMALL >> 20,
			 (unsigned long long)big, HUGE_BIG >> 20);
	print_message("%s: peak memory %llu KiB after %u MiB of a 4 GiB payload, %llu KiB after "
		      "%u MiB\n", t->v->name, (unsigned long long)small, HUGE_SMALL >> 20,
		      (unsigned long long)big, HUGE_BIG >> 20);
	sup_passed(t);
}

/* ---- case 6: one flooding source beside seven paced ones ----------------- */

#define FLOOD_RUNS 3

struct flood_result {
	uint64_t worst_p99;      /* the largest p99 latency of sources 1-7 */
	uint64_t flood_p50;      /* source 0's median latency */
	size_t   flood_while_1;  /* source 0's frames before source 1's last */
	uint64_t frames_1;       /* source 1's frames */
};

/*
 * One run: source 0 (its own client) as fast as it can for 2 s, sources
 * 1-7 (another client) at 1 kHz for 2 s. All eight complete.
 */
static struct flood_result flood_run(struct sup *t)
{
	struct flood_result r = { 0 };
	char trace_path[PATH_MAX];
	struct trace tr;

	in_dir(t, "trace.csv", trace_path, sizeof(trace_path));
	sup_server_start(t, "--sources", "8", "--trace", trace_path, "--trace-max", "200000",
			 NULL);
	struct proc *flood = sup_extra_client_start(t, "flood", "--sources", "1",
							"--first-id", "0", "--rate", "max",
							"--duration", "2", NULL);
	sup_client_start(t, "--sources", "7", "--first-id", "1", "--rate", "1000",
			 "--duration", "2", NULL);
	assert_int_equal(sup_finish(t, flood), 0);
	assert_int_equal(sup_client_wait(t), 0);
	assert_int_equal(sup_server_wait(t), 0);

	const struct json *s0 = sup_expect_source(t, 0);
	sup_expect_str(s0, "status", "complete");
	expect_clean(s0);
	r.flood_p50 = sup_u64(s0, "latency_ns.p50");
	for (unsigned id = 1; id < 8; id++) {
		const struct json *s = sup_expect_source(t, id);
		sup_expect_complete(t, id, sup_u64(s, "frames"));
		expect_as_sent(t, sup_client_json(t), id);
		uint64_t p99 = sup_u64(s, "latency_ns.p99");
		if (p99 > r.worst_p99)
			r.worst_p99 = p99;
	}
	r.frames_1 = sup_u64(sup_expect_source(t, 1), "frames");

	/* In arrival order: source 0's frames up to source 1's last one. */
	trace_load(&tr, trace_path);
	size_t last1 = 0, n0 = 0;
	for (size_t i = 0; i < tr.n; i++)
		if (tr.src[i] == 1)
			last1 = i;
	for (size_t i = 0; i < last1; i++)
		n0 += tr.src[i] == 0;
	r.flood_while_1 = n0;
	trace_free(&tr);
	return r;
}

/*
 * Every multiplexing backend keeps the paced sources' p99 latency under
 * 10 ms while one source floods. Measured on the shared 2-CPU machine
 * (the flood client, the server and the paced client share the 2 CPUs),
 * normal build, quiet machine: select, poll, epoll, threads 2.5-6 ms;
 * uring 4-9.5 ms - its flood can fill the whole shared buffer ring
 * (256 x 64 KiB) ahead of a paced frame, where the others read at most
 * --budget (256 KiB) from one source per turn. With another process
 * busy on one CPU all of them reach 12-40 ms now and then.
 *
 * So, like the conformance suite's scenario 5: a run over 10 ms runs
 * again, up to FLOOD_RUNS in all, and the case fails only if every run
 * was over. Under a sanitizer (ASan about 2-3x the per-frame cost, TSan
 * 5-15x; measured under TSan: uring 29-126 ms, the others 4-42 ms) the
 * latency is printed, not judged: those builds are there for memory and
 * race errors.
 *
 * The blocking backend reads one frame from each source in a fixed
 * round, so its round goes at the pace of the paced sources and they
 * are served on time too (0.1-1.6 ms); the flood source is what pays:
 * one frame per round (as many as source 1 while source 1 lasts, give or
 * take its HELLO and BYE turns), the rest waiting in the kernel's
 * buffers, so its median latency is about the length of the run
 * (measured: 2.0 s in a 2 s run; asserted: over 0.5 s). Those are
 * asserted in every build.
 */
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define FLOOD_TIMED 0
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer)
#define FLOOD_TIMED 0
#endif
#endif
#ifndef FLOOD_TIMED
#define FLOOD_TIMED 1
#endif

static void case_flood(void **state)
{
	struct sup *t = sup_begin(state);
	struct flood_result r;

	sup_set_limit(t, 20 * FLOOD_RUNS);
	r = flood_run(t);
	if (t->v->unfair)
		print_message("%s: the latency beside a flood is printed, not judged: %s\n",
			      t->v->name, t->v->unfair);
	for (int run = 2; FLOOD_TIMED && !t->v->unfair && r.worst_p99 >= 10 * MS; run++) {
		if (run > FLOOD_RUNS)
			fail_msg("%s: the paced sources' p99 latency was up to %.2f ms beside a "
				 "flooding source, in each of %d runs; expected under 10 ms",
				 t->v->name, (double)r.worst_p99 / 1e6, FLOOD_RUNS);
		print_message("%s: the paced sources' p99 latency was up to %.2f ms; "
			      "a busy machine? run %d of %d\n", t->v->name,
			      (double)r.worst_p99 / 1e6, run, FLOOD_RUNS);
		sup_reset(t);
		r = flood_run(t);
	}
	print_message("%s: paced sources' p99 up to %.2f ms; the flooding source's p50 %.2f ms, "
		      "%zu of its frames while source 1 sent %llu\n", t->v->name,
		      (double)r.worst_p99 / 1e6, (double)r.flood_p50 / 1e6, r.flood_while_1,
		      (unsigned long long)r.frames_1);
	/* One frame per round holds for sources in the same round: with
	 * several loops, sources 0 and 1 are in different ones. */
	if (backend_has(t->be, BE_ROUND) && t->v->loops == 1) {
		if (r.flood_while_1 + 3 < r.frames_1 || r.flood_while_1 > r.frames_1 + 3)
			fail_msg("%s: source 0 delivered %zu frames while source 1 delivered "
				 "%llu; one frame per round expects as many, give or take 3",
				 t->v->name, r.flood_while_1, (unsigned long long)r.frames_1);
		if (r.flood_p50 < 500 * MS)
			fail_msg("%s: the flooding source's median latency is %.1f ms; held "
				 "to one frame per round it should wait in the kernel's buffers "
				 "(over 500 ms)", t->v->name, (double)r.flood_p50 / 1e6);
	}
	sup_passed(t);
}

/* ---- case 9: stopping while every source is silent --------------------- */

/*
 * Four connections that say nothing: sources 0 and 1 said HELLO and one
 * frame at once (--burst: no offset between sources) and then wait 10 s
 * for their next; 2 and 3 have not said a word
 * (idle connections, not sources yet). The server must still stop within
 * a second of SIGINT or of --duration, with its summary written - even
 * the blocking backend, stuck in read() on a silent source, and threads,
 * each blocked in its own read().
 */
static const char *const silent_client[] = {
	"--sources", "4", "--rate", "0.1", "--count", "3", "--burst",
	"--silent", "2:60", "--silent", "3:60", NULL,
};

static void expect_silent_summary(struct sup *t)
{
	const struct json *sum = sup_server_json(t), *all = json_get(sum, "sources");

	sup_expect_u64(sum, "connections", 4);
	assert_non_null(all);
	/* The blocking round may be stuck at a silent connection before it
	 * reads a source's HELLO; the others have read both sources' frame. */
	for (const struct json *s = all->child; s; s = s->next) {
		uint64_t id = sup_u64(s, "id");
		if (id > 1)
			fail_msg("%s: silent connection %llu is listed as a source",
				 t->v->name, (unsigned long long)id);
		sup_expect_str(s, "status", "active");
		expect_clean(s);
		if (!backend_has(t->be, BE_ROUND))
			sup_expect_u64(s, "frames", 1);
		else if (sup_u64(s, "frames") > 1)
			fail_msg("%s: source %llu delivered more than its one frame", t->v->name,
				 (unsigned long long)id);
	}
	/* blocking too: it reads each connection's first frame while it
	 * gathers its sources, so the silent ones are never taken for two. */
	assert_int_equal(all->len, 2);
	sup_expect_u64(sum, "idle_connections", 2);
	/* Stopped before any of the 4 expected sources completed: a failed
	 * run, and the summary says why. */
	sup_expect_contains(sum, "verdict", "0 of 4 expected sources");
}

/* The client's connections are closed under it: it reports that and
 * ends (1), or ends cleanly on our SIGINT if it has not noticed yet (0). */
static void stop_silent_client(struct sup *t)
{
	(void)proc_signal(&t->client, SIGINT);
	int rc = sup_client_wait(t);
	if (rc != 0 && rc != 1)
		fail_msg("%s: the client ended with status %d", t->v->name, rc);
}

static void case_stop_sigint(void **state)
{
	struct sup *t = sup_begin(state);

	sup_set_limit(t, 20);
	sup_server_start(t, "--sources", "4", NULL);
	sup_client_startv(t, silent_client);
	nap_ms(500);

	uint64_t t0 = now_ns();
	sup_server_signal(t, SIGINT);
	int rc = sup_server_wait(t);
	double took = (double)(now_ns() - t0) / 1e9;
	assert_int_equal(rc, 1);
	if (took >= 1.0)
		fail_msg("%s: the server took %.3f s to stop after SIGINT; expected under 1 s",
			 t->v->name, took);
	print_message("%s: stopped %.1f ms after SIGINT\n", t->v->name, took * 1e3);
	expect_silent_summary(t);
	stop_silent_client(t);
	sup_passed(t);
}

static void case_stop_duration(void **state)
{
	struct sup *t = sup_begin(state);

	sup_set_limit(t, 20);
	uint64_t t0 = now_ns();
	sup_server_start(t, "--sources", "4", "--duration", "1", NULL);
	sup_client_startv(t, silent_client);
	int rc = sup_server_wait(t);
	double took = (double)(now_ns() - t0) / 1e9;
	assert_int_equal(rc, 1);
	if (took >= 2.0)
		fail_msg("%s: with --duration 1 the server ran %.3f s; expected under 2 s",
			 t->v->name, took);
	double elapsed = json_num(json_get(sup_server_json(t), "elapsed_s"), -1);
	if (elapsed < 1.0 || elapsed >= 2.0)
		fail_msg("%s: elapsed_s is %.3f with --duration 1", t->v->name, elapsed);
	print_message("%s: --duration 1 ended after %.3f s (its own count), %.3f s from its "
		      "start here\n", t->v->name, elapsed, took);
	expect_silent_summary(t);
	stop_silent_client(t);
	sup_passed(t);
}

/* ---- case 10: descriptor numbers reused while connections churn ----------- */

#define CHURN_WAVES 40
#define CHURN_WAVE  16                      /* connections open at once */
#define CHURN_TOTAL (CHURN_WAVES * CHURN_WAVE)
#define CHURN_ID0   1000u                   /* their source ids */
#define CHURN_DATA  3                       /* DATA frames each */

enum churn_end { CHURN_BYE, CHURN_CLOSE, CHURN_RESET, CHURN_GARBAGE, CHURN_ENDS };

static enum churn_end churn_end_of(unsigned i)
{
	return (enum churn_end)(i % CHURN_ENDS);
}

/*
 * Waves of 16 short connections, each a source of its own (id 1000+i):
 * HELLO, 3 DATA, then BYE and close, or close without BYE, or a RST, or
 * a frame with a bad magic followed by 3 more DATA frames and a close -
 * the server closes that one on the protocol error while its last bytes
 * are still arriving (for io_uring: completions for a connection already
 * closed, in the same batch). A wave is opened, written and closed at
 * once, so the server closes some and accepts others in the same batch
 * of events, the new ones on the descriptor numbers just freed.
 */
static void churn(struct sup *t)
{
	int fds[CHURN_WAVE];

	for (unsigned w = 0; w < CHURN_WAVES; w++) {
		for (unsigned k = 0; k < CHURN_WAVE; k++)
			fds[k] = sup_connect(t);
		for (unsigned k = 0; k < CHURN_WAVE; k++) {
			unsigned i = w * CHURN_WAVE + k;
			uint32_t id = CHURN_ID0 + i;
			char name[32];
			int bad = 0;

			snprintf(name, sizeof(name), "churn-%u", i);
			bad |= sup_send_frame(fds[k], PROTO_HELLO, id, 0, name, (uint32_t)strlen(name));
			for (uint64_t seq = 0; seq < CHURN_DATA; seq++)
				bad |= sup_send_frame(fds[k], PROTO_DATA, id, seq, NULL, 64);
			if (churn_end_of(i) == CHURN_BYE)
				bad |= sup_send_frame(fds[k], PROTO_BYE, id, CHURN_DATA, NULL, 0);
			if (churn_end_of(i) == CHURN_GARBAGE) {
				uint8_t junk[PROTO_HEADER_SIZE];
				memset(junk, 0xEE, sizeof(junk));
				/* The server may have closed it already: EPIPE,
				 * ECONNRESET are fine from here on. */
				(void)!send(fds[k], junk, sizeof(junk), MSG_NOSIGNAL);
				for (uint64_t seq = CHURN_DATA; seq < 2 * CHURN_DATA; seq++)
					(void)sup_send_frame(fds[k], PROTO_DATA, id, seq, NULL, 64);
			}
			if (bad)
				fail_msg("%s: churn connection %u: send: %s", t->v->name, i,
					 strerror(errno));
		}
		for (unsigned k = 0; k < CHURN_WAVE; k++) {
			unsigned i = w * CHURN_WAVE + k;
			int rc = churn_end_of(i) == CHURN_RESET ? sup_close_reset(fds[k])
								 : close(fds[k]);
			if (rc < 0)
				fail_msg("churn connection %u: close: %s", i, strerror(errno));
		}
	}
}

/*
 * While 4 long sources stream at full speed, 640 short ones come and go.
 * An event meant for a closed connection must never reach the one that
 * now has its descriptor number: every record is exact - the long ones
 * complete with what was sent, each short one has its own name, its 3
 * frames and the end it chose, and no "source id changed" anywhere.
 */
static void case_fd_reuse(void **state)
{
	struct sup *t = sup_begin(state);
	char sources[16];

	sup_set_limit(t, 60);
	sup_need_nofile(t, 2 * CHURN_TOTAL + 256);   /* blocking holds them all */
	snprintf(sources, sizeof(sources), "%u", 4 + CHURN_TOTAL);
	sup_server_start(t, "--sources", sources, NULL);
	sup_client_start(t, "--sources", "4", "--rate", "max", "--count", "50000",
			 "--size", "0-2048", NULL);
	churn(t);
	assert_int_equal(sup_client_wait(t), 0);
	assert_int_equal(sup_server_wait(t), 1);   /* the resets are errors */

	const struct json *sum = sup_server_json(t), *cj = sup_client_json(t);
	for (unsigned id = 0; id < 4; id++) {
		sup_expect_complete(t, id, 50000);
		expect_as_sent(t, cj, id);
	}
	unsigned want[CHURN_ENDS] = { 0 };
	for (unsigned i = 0; i < CHURN_TOTAL; i++) {
		const struct json *s = sup_expect_source(t, CHURN_ID0 + i);
		char name[32];

		snprintf(name, sizeof(name), "churn-%u", i);
		sup_expect_str(s, "name", name);
		sup_expect_u64(s, "frames", CHURN_DATA);
		sup_expect_u64(s, "bytes", CHURN_DATA * 64);
		expect_clean(s);
		switch (churn_end_of(i)) {
		case CHURN_BYE:
			sup_expect_str(s, "status", "complete");
			break;
		case CHURN_CLOSE:
			sup_expect_str(s, "status", "closed");
			sup_expect_str(s, "error", "");
			break;
		case CHURN_RESET:
			sup_expect_str(s, "status", "error");
			sup_expect_str(s, "error", "connection reset");
			break;
		case CHURN_GARBAGE:
			sup_expect_str(s, "status", "error");
			sup_expect_str(s, "error", "protocol error: bad magic 0xeeee (expected 0xda7a)");
			break;
		case CHURN_ENDS:
			break;
		}
		want[churn_end_of(i)]++;
	}
	assert_int_equal(json_get(sum, "sources")->len, 4 + CHURN_TOTAL);
	sup_expect_u64(sum, "connections", 4 + CHURN_TOTAL);
	sup_expect_u64(sum, "refused", 0);
	sup_expect_u64(sum, "frames", 4 * 50000 + CHURN_TOTAL * CHURN_DATA);
	sup_expect_u64(sum, "status.complete", 4 + want[CHURN_BYE]);
	sup_expect_u64(sum, "status.closed", want[CHURN_CLOSE]);
	sup_expect_u64(sum, "status.error", want[CHURN_RESET] + want[CHURN_GARBAGE]);
	sup_passed(t);
}

/* ---- case 11: the client loses its server and finds another ------------- */

/* Copies of what we need from server A's summary before it is freed. */
struct server_a {
	uint64_t frames, lost, duplicates;
	char status[32];
};

/*
 * Server A takes source 0 (1 kHz, 1500 frames) for half a second and is
 * stopped with SIGTERM, so that its summary says what it received; the
 * client, with --reconnect, backs off (100 ms, 200 ms, ...) while no one
 * listens, and server B on the same port takes the rest. The client
 * resumes with the first frame it had not handed to the kernel whole:
 * B's record starts there, and counts the frames before it as lost - the
 * gap is accounted, not hidden. A's frames are at most that point (what
 * A's kernel held when it stopped never arrived: the "gap"), and A + B
 * never exceed what the client sent.
 */
static void case_reconnect(void **state)
{
	struct sup *t = sup_begin(state);
	struct server_a a = { 0 };
	char port_addr[sizeof(t->addr)];

	sup_set_limit(t, 30);
	sup_server_start(t, "--sources", "1", NULL);
	memcpy(port_addr, t->addr, sizeof(port_addr));
	sup_client_start(t, "--sources", "1", "--rate", "1000", "--count", "1500",
			 "--reconnect", NULL);
	nap_ms(500);
	sup_server_signal(t, SIGTERM);
	int rc_a = sup_server_wait(t);
	const struct json *sa = sup_expect_source(t, 0);
	a.frames = sup_u64(sa, "frames");
	a.lost = sup_u64(sa, "lost");
	a.duplicates = sup_u64(sa, "duplicates");
	snprintf(a.status, sizeof(a.status), "%s", sup_str(sa, "status"));
	assert_int_equal(rc_a, 1);      /* stopped mid-stream: not a clean run */
	sup_server_next(t);

	/* Let the client find nobody at least once: it must back off. */
	nap_ms(300);
	sup_server_start(t, "--sources", "1", "--listen", port_addr, NULL);
	assert_string_equal(t->addr, port_addr);
	assert_int_equal(sup_client_wait(t), 0);
	int rc_b = sup_server_wait(t);

	const struct json *cs = sup_find_id(json_get(sup_client_json(t), "per_source"), 0);
	assert_non_null(cs);
	sup_expect_u64(cs, "frames", 1500);
	sup_expect_u64(cs, "bye_count", 1500);
	sup_expect_u64(cs, "connections", 2);

	const struct json *sb = sup_expect_source(t, 0);
	uint64_t resumed = sup_u64(sb, "lost"), b_frames = sup_u64(sb, "frames");
	sup_expect_u64(sb, "bye_count", 1500);
	sup_expect_u64(sb, "duplicates", 0);
	sup_expect_u64(sb, "late", 0);
	sup_expect_str(sb, "status", resumed ? "incomplete" : "complete");
	assert_int_equal(rc_b, resumed ? 1 : 0);

	/* A saw a clean prefix and was still reading when it stopped. */
	assert_string_equal(a.status, "active");
	assert_int_equal(a.lost, 0);
	assert_int_equal(a.duplicates, 0);
	/* B starts where the client resumed, and accounts for the rest. */
	if (resumed + b_frames != 1500)
		fail_msg("%s: B received %llu frames and counts %llu lost; the BYE says 1500",
			 t->v->name, (unsigned long long)b_frames, (unsigned long long)resumed);
	if (a.frames > resumed)
		fail_msg("%s: A received %llu frames but the client resumed at %llu",
			 t->v->name, (unsigned long long)a.frames, (unsigned long long)resumed);
	assert_true(a.frames > 0);
	assert_true(a.frames + b_frames <= 1500);

	/* The client said where it resumed, and it is where B starts. */
	char *err = sup_read_file(t->client.err, NULL), want[64];
	assert_non_null(err);
	snprintf(want, sizeof(want), "resuming at frame %llu", (unsigned long long)resumed);
	int said = strstr(err, "reconnecting to") && strstr(err, want);
	if (!said)
		fail_msg("%s: the client's stderr does not say \"reconnecting to\" and \"%s\":\n%s",
			 t->v->name, want, err);
	free(err);
	print_message("%s: A got %llu frames, the client resumed at %llu (a gap of %llu "
		      "in A's buffers), B got %llu\n", t->v->name, (unsigned long long)a.frames,
		      (unsigned long long)resumed, (unsigned long long)(resumed - a.frames),
		      (unsigned long long)b_frames);
	sup_passed(t);
}

/* A port on 127.0.0.1 where nothing listens: one the kernel just gave
 * us, closed again. */
static void free_port(struct sup *t)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t len = sizeof(a);
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	if (fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof(a)) < 0 ||
	    getsockname(fd, (struct sockaddr *)&a, &len) < 0)
		fail_msg("a free port: %s", strerror(errno));
	(void)close(fd);
	snprintf(t->addr, sizeof(t->addr), "127.0.0.1:%u", ntohs(a.sin_port));
}

/* Nothing listens: the client fails at once (1), naming the address and
 * what to check. */
static void case_refused(void **state)
{
	struct sup *t = sup_begin(state);

	sup_set_limit(t, 10);
	free_port(t);
	uint64_t t0 = now_ns();
	int rc = sup_client_run(t, "--sources", "2", "--count", "10", NULL);
	double took = (double)(now_ns() - t0) / 1e9;
	assert_int_equal(rc, 1);
	assert_true(took < 2.0);

	char *err = sup_read_file(t->client.err, NULL);
	assert_non_null(err);
	int clear = strstr(err, "Connection refused") && strstr(err, t->addr) &&
		    strstr(err, "is the server running");
	if (!clear)
		fail_msg("the client's message does not say \"Connection refused\", %s and "
			 "\"is the server running\":\n%s", t->addr, err);
	free(err);
	sup_passed(t);
}

/* The server is killed mid-run: the client fails within a second (1),
 * naming the address, the frames sent and what to check. */
static void case_server_killed(void **state)
{
	struct sup *t = sup_begin(state);

	sup_set_limit(t, 20);
	sup_server_start(t, "--sources", "2", NULL);
	sup_client_start(t, "--sources", "2", "--rate", "1000", "--count", "5000", NULL);
	nap_ms(300);
	if (proc_signal(&t->server, SIGKILL) < 0 || proc_wait(&t->server, t->deadline_ns) != 1)
		fail_msg("cannot kill and reap the server");
	uint64_t t0 = now_ns();
	int rc = sup_client_wait(t);
	double took = (double)(now_ns() - t0) / 1e9;
	assert_int_equal(rc, 1);
	if (took >= 1.0)
		fail_msg("the client took %.3f s to notice its server was gone", took);

	char *err = sup_read_file(t->client.err, NULL);
	assert_non_null(err);
	int clear = strstr(err, t->addr) && strstr(err, "frames sent") &&
		    (strstr(err, "Connection reset by peer") ||
		     strstr(err, "the server closed the connection")) &&
		    strstr(err, "did the server stop");
	if (!clear)
		fail_msg("the client's message does not name %s, the frames sent, the reset or "
			 "close, and \"did the server stop\":\n%s", t->addr, err);
	free(err);
	sup_passed(t);
}

/* ---- the tables ------------------------------------------------------------ */

static const struct sup_case scenarios[] = {
	{ "case 1: a source resets (SO_LINGER 0) after 37 frames", case_reset },
	{ "case 1b: a source resets after 37 frames at full speed, maybe before its accept",
	  case_reset_early },
	{ "case 2: the client is killed while 8 sources stream", case_killed_client },
	{ "case 5: garbage, 4 GiB length, zero, BYE lies, dup, reorder, skip, crc", case_garbage },
	{ "case 5b: a 4 GiB payload accepted by --max-frame is streamed, not allocated",
	  case_huge_length },
	{ "case 6: one source at max rate, seven at 1 kHz", case_flood },
	{ "case 9a: SIGINT while every source is silent", case_stop_sigint },
	{ "case 9b: --duration while every source is silent", case_stop_duration },
	{ "case 10: 640 short connections churn beside 4 long sources", case_fd_reuse },
	{ "case 11c: --reconnect resumes on a new server, the gap accounted", case_reconnect },
};

/* The client's own failures, whatever the server's backend. */
static const struct sup_case client_scenarios[] = {
	{ "case 11a: nothing listening", case_refused },
	{ "case 11b: the server is killed mid-run", case_server_killed },
};

#define CLIENT_GROUP "client"

int main(int argc, char **argv)
{
	const char *filter = getenv("DAQMUX_TEST_FILTER");
	int failed = 0;

	for (int i = 1; i < argc; i++) {
		if (!sup_known_name(argv[i], SUP_VARIANTS) && strcmp(argv[i], CLIENT_GROUP) != 0) {
			fprintf(stderr, "test_faults: no backend or variant '%s' (or '%s')\n",
				argv[i], CLIENT_GROUP);
			return 2;
		}
	}
	if (filter && *filter)
		cmocka_set_test_filter(filter);
	if (sup_run_variants(argc, argv, SUP_VARIANTS, scenarios, ARRAY_SIZE(scenarios), NULL))
		failed = 1;
	/* The client against the default backend's server. */
	if (sup_wanted(CLIENT_GROUP, argc, argv) &&
	    sup_run_group(CLIENT_GROUP, sup_variant_default(), client_scenarios,
			  ARRAY_SIZE(client_scenarios), NULL) != 0)
		failed = 1;
	return failed;
}
