/*
 * test_hostile.c - peers that lie, and exit codes that must not, run
 * against every backend (issue 11; docs/faults.md, "Hostile peers").
 *
 * Each case hand-makes its byte streams on plain TCP connections
 * (sup_connect, sup_send_frame), so that the order of events is exact:
 * where the server must have seen one connection end before the next
 * begins, the test closes its side and waits for the server's EOF. The
 * cases are the items of the issue: a refused duplicate must never become
 * the record a reconnect resumes (1); a resume carries the whole
 * accounting, so loss and errors on the way are not forgotten (2, 3); BYE
 * counts and sequence numbers are bounded (4) and totals never smaller
 * than a part (5); a connection that never delivered a valid frame is no
 * source and cannot end the run or take a source's place (6, 7); names
 * are made safe for JSON and for the terminal (8, 9); memory is bounded
 * by --max-records (10); a foreign protocol is refused at its second byte
 * (11); the exit status tells the truth (12).
 *
 * blocking accepts a fixed set of sources and never a connection after
 * them, so the cases that need a reconnect, a later connection or
 * --sources 0 are skipped there, saying so.
 *
 *   build/default/tests/test_hostile epoll
 *   DAQMUX_TEST_FILTER='*item 7*' build/default/tests/test_hostile
 */
#include <errno.h>
#include <iconv.h>
#include <poll.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "backend.h"
#include "proto.h"
#include "support.h"
#include "util.h"

#define ANCHOR_ID   100      /* the source that keeps a run open */
#define H_PAYLOAD   64       /* DATA payload bytes */
#define H_EOF_S     10.0     /* a server closing a connection: far less */

static void nap_ms(unsigned ms)
{
	struct timespec ts = { (time_t)(ms / 1000), (long)(ms % 1000) * 1000000L };

	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

/* blocking never accepts a connection after its N sources. */
static void need_later_connections(struct sup *t)
{
	if (backend_has(t->be, BE_ACCEPTS_ALL_FIRST))
		sup_skip(t, "%s reads a fixed set of N sources and never accepts a "
			 "connection after them, so no reconnect or intruder is ever read "
			 "(docs/backend-blocking.md)", t->v->name);
}

static void h_send(struct sup *t, int fd, unsigned type, uint32_t id, uint64_t seq,
		   const void *payload, uint32_t len)
{
	if (sup_send_frame(fd, type, id, seq, payload, len) < 0)
		fail_msg("%s: sending %s %llu of source %u: %s", t->v->name,
			 proto_type_name(type), (unsigned long long)seq, id, strerror(errno));
}

static void h_data(struct sup *t, int fd, uint32_t id, uint64_t from, uint64_t to)
{
	for (uint64_t q = from; q < to; q++)
		h_send(t, fd, PROTO_DATA, id, q, NULL, H_PAYLOAD);
}

static void h_hello(struct sup *t, int fd, uint32_t id, const char *name, uint32_t len)
{
	h_send(t, fd, PROTO_HELLO, id, 0, name, len);
}

/* Wait until the server has closed the connection (EOF or a reset),
 * discarding whatever it sends. */
static void h_wait_eof(struct sup *t, int fd)
{
	uint64_t end = now_ns() + (uint64_t)(H_EOF_S * 1e9);
	char buf[256];

	for (;;) {
		uint64_t now = now_ns();
		if (now >= end)
			fail_msg("%s: the server did not close a connection within %.0f s",
				 t->v->name, H_EOF_S);
		struct pollfd p = { .fd = fd, .events = POLLIN };
		int r = poll(&p, 1, (int)((end - now) / 1000000) + 1);
		if (r < 0 && errno != EINTR)
			fail_msg("poll: %s", strerror(errno));
		if (r <= 0)
			continue;
		ssize_t n = read(fd, buf, sizeof(buf));
		if (n == 0 || (n < 0 && errno == ECONNRESET))
			return;
		if (n < 0 && errno != EINTR)
			fail_msg("read: %s", strerror(errno));
	}
}

/* The server closes (after a BYE or a refusal): wait for it, then close. */
static void h_end(struct sup *t, int fd)
{
	h_wait_eof(t, fd);
	close(fd);
}

/* Close at a frame boundary, and return once the server has seen it. */
static void h_close(struct sup *t, int fd)
{
	if (shutdown(fd, SHUT_WR) < 0)
		fail_msg("shutdown: %s", strerror(errno));
	h_end(t, fd);
}

/* A source that opens the run and ends it last, so that the run (which
 * ends when --sources have ended) outlasts the scenario. */
static int anchor_open(struct sup *t)
{
	int fd = sup_connect(t);
	h_hello(t, fd, ANCHOR_ID, "anchor", 6);
	h_data(t, fd, ANCHOR_ID, 0, 1);
	return fd;
}

static void anchor_close(struct sup *t, int fd)
{
	h_data(t, fd, ANCHOR_ID, 1, 2);
	h_send(t, fd, PROTO_BYE, ANCHOR_ID, 2, NULL, 0);
	h_end(t, fd);
}

/* The anchor completed cleanly, whatever else happened. */
static void expect_anchor(struct sup *t)
{
	sup_expect_complete(t, ANCHOR_ID, 2);
}

/* A client whose server stopped under it: it says so (1) or had finished
 * (0); anything else is a failure of its own. */
static void expect_client_stopped(struct sup *t, struct proc *p)
{
	int rc = sup_finish(t, p);
	if (rc != 0 && rc != 1)
		fail_msg("%s: the client ended with status %d", t->v->name, rc);
}

/* --sources `expect`, a client with `sources` streaming `count` frames at
 * `rate`, SIGINT after ms: the run was stopped short, exit 1. */
static void sigint_mid_run(struct sup *t, const char *expect, const char *sources,
			   const char *rate, const char *count, unsigned ms)
{
	sup_server_start(t, "--sources", expect, NULL);
	sup_client_start(t, "--sources", sources, "--rate", rate, "--count", count, NULL);
	nap_ms(ms);
	sup_server_signal(t, SIGINT);
	assert_int_equal(sup_server_wait(t), 1);
	expect_client_stopped(t, &t->client);
}

/* ---- item 1: the resume hijack ------------------------------------------ */

/*
 * Source 7 streams 0..49 and stays connected; an intruder claiming id 7
 * is refused; 7 closes at a frame boundary, reconnects, sends 50..99 and
 * BYE 100. The reconnect resumes 7's own record: complete, its name, two
 * connections, nothing lost; the intruder is a rejected connection.
 */
static void item1_resume_hijack(void **state)
{
	struct sup *t = sup_begin(state);

	need_later_connections(t);
	sup_server_start(t, "--sources", "2", NULL);
	int a = anchor_open(t);
	int s7 = sup_connect(t);
	h_hello(t, s7, 7, "seven", 5);
	h_data(t, s7, 7, 0, 50);
	/* Nothing tells us when the server has read 7's first frame (threads
	 * reads each connection in its own thread, in any order); it takes
	 * microseconds, so 200 ms makes the order certain. */
	nap_ms(200);
	int intruder = sup_connect(t);
	h_hello(t, intruder, 7, "intruder", 8);
	h_end(t, intruder);
	h_close(t, s7);
	s7 = sup_connect(t);
	h_hello(t, s7, 7, "seven", 5);
	h_data(t, s7, 7, 50, 100);
	h_send(t, s7, PROTO_BYE, 7, 100, NULL, 0);
	h_end(t, s7);
	anchor_close(t, a);
	assert_int_equal(sup_server_wait(t), 0);

	const struct json *sum = sup_server_json(t), *r = sup_expect_source(t, 7);
	sup_expect_complete(t, 7, 100);
	sup_expect_str(r, "name", "seven");
	sup_expect_u64(r, "connections", 2);
	expect_anchor(t);
	sup_expect_u64(sum, "rejected", 1);
	sup_expect_contains(sum, "rejected_reasons[0].reason", "source id 7 is already connected");
	assert_int_equal(json_get(sum, "sources")->len, 2);
	sup_passed(t);
}

/* ---- items 2 to 4: what a resume carries -------------------------------- */

/*
 * Source 7's connections as a script, under an anchor (--sources 2):
 * "Dn" DATA n, "Bn" BYE n, "X" 32 bytes of junk (a bad magic), "|" close
 * at a frame boundary. After a BYE, junk or the end of the script the
 * server closes the connection; each connection begins once the server
 * has seen the previous one end. A connection the server refuses at its
 * first frame may meet a closed socket with the rest: that is allowed.
 * Returns the server's exit status.
 */
static int source7_script(struct sup *t, const char *script)
{
	int a, s = -1;

	need_later_connections(t);
	sup_server_start(t, "--sources", "2", NULL);
	a = anchor_open(t);
	for (const char *p = script; *p;) {
		char op = *p++;
		uint64_t n = strtoull(p, (char **)&p, 10);
		uint8_t junk[PROTO_HEADER_SIZE];

		if (op == ' ')
			continue;
		if (s < 0)
			s = sup_connect(t);
		switch (op) {
		case 'D':
			(void)sup_send_frame(s, PROTO_DATA, 7, n, NULL, H_PAYLOAD);
			break;
		case 'B':
		case 'X':
			memset(junk, 0xEE, sizeof(junk));
			if (op == 'B')
				(void)sup_send_frame(s, PROTO_BYE, 7, n, NULL, 0);
			else
				(void)!send(s, junk, sizeof(junk), MSG_NOSIGNAL);
			h_end(t, s);
			s = -1;
			break;
		case '|':
			h_close(t, s);
			s = -1;
			break;
		default:
			fail_msg("bad script step '%c' in \"%s\"", op, script);
		}
	}
	if (s >= 0)
		h_close(t, s);
	anchor_close(t, a);
	return sup_server_wait(t);
}

/* Item 2a. Frames 0 and 2, close; a new connection with 3 and BYE 4: one
 * frame lost across the resume, so the run failed. */
static void item2a_loss_across_resume(void **state)
{
	struct sup *t = sup_begin(state);

	assert_int_equal(source7_script(t, "D0 D2 | D3 B4"), 1);
	const struct json *sum = sup_server_json(t), *r = sup_expect_source(t, 7);
	sup_expect_str(r, "status", "incomplete");
	sup_expect_u64(r, "frames", 3);
	sup_expect_u64(r, "lost", 1);
	sup_expect_u64(r, "connections", 2);
	sup_expect_u64(sum, "lost", 1);
	sup_expect_contains(sum, "verdict", "FAILED");
	sup_expect_contains(sum, "verdict", "source 7: incomplete, 1 lost");
	expect_anchor(t);
	sup_passed(t);
}

/* Item 2b. 0..9 and BYE 15 (5 lost); a new connection with 15..19 and
 * BYE 20 is refused: a source that said BYE has ended, its loss stands. */
static void item2b_no_resume_after_bye(void **state)
{
	struct sup *t = sup_begin(state);

	assert_int_equal(source7_script(t, "D0 D1 D2 D3 D4 D5 D6 D7 D8 D9 B15 "
					   "D15 D16 D17 D18 D19 B20"), 1);
	const struct json *sum = sup_server_json(t), *r = sup_expect_source(t, 7);
	sup_expect_str(r, "status", "incomplete");
	sup_expect_u64(r, "frames", 10);
	sup_expect_u64(r, "lost", 5);
	sup_expect_u64(r, "bye_count", 15);
	sup_expect_u64(r, "connections", 1);
	sup_expect_u64(sum, "rejected", 1);
	sup_expect_contains(sum, "rejected_reasons[0].reason", "already said BYE");
	sup_passed(t);
}

/* Item 2c. 0..9, then a bad magic; a new connection with 10..19 and BYE
 * 20: every frame arrived, but one connection broke: not a clean run. */
static void item2c_error_before_resume(void **state)
{
	struct sup *t = sup_begin(state);

	assert_int_equal(source7_script(t, "D0 D1 D2 D3 D4 D5 D6 D7 D8 D9 X "
					   "D10 D11 D12 D13 D14 D15 D16 D17 D18 D19 B20"), 1);
	const struct json *sum = sup_server_json(t), *r = sup_expect_source(t, 7);
	sup_expect_str(r, "status", "complete");
	sup_expect_u64(r, "frames", 20);
	sup_expect_u64(r, "lost", 0);
	sup_expect_u64(r, "broken_connections", 1);
	sup_expect_contains(r, "error", "bad magic 0xeeee");
	sup_expect_contains(sum, "verdict", "source 7: 1 broken connection");
	sup_passed(t);
}

/* Item 3. 0, 2, close; a new connection with 1, 3, BYE 4: the late 1
 * fills the gap counted on the first connection - once: complete. */
static void item3_late_fills_gap_once(void **state)
{
	struct sup *t = sup_begin(state);

	assert_int_equal(source7_script(t, "D0 D2 | D1 D3 B4"), 0);
	const struct json *sum = sup_server_json(t), *r = sup_expect_source(t, 7);
	sup_expect_str(r, "status", "complete");
	sup_expect_u64(r, "frames", 4);
	sup_expect_u64(r, "lost", 0);
	sup_expect_u64(r, "late", 1);
	sup_expect_u64(r, "duplicates", 0);
	sup_expect_u64(sum, "lost", 0);
	sup_passed(t);
}

/* Item 4. DATA 0, BYE 2^64-1: no source sent that many; an error, not
 * 2^64-2 lost. A reconnect (DATA 2^64-1, 0, BYE 1) cannot make it
 * complete. */
static void item4_bye_bounded_no_wrap(void **state)
{
	struct sup *t = sup_begin(state);

	assert_int_equal(source7_script(t, "D0 B18446744073709551615 "
					   "D18446744073709551615 D0 B1"), 1);
	const struct json *sum = sup_server_json(t), *r = sup_expect_source(t, 7);
	sup_expect_str(r, "status", "error");
	sup_expect_contains(r, "error", "implausibly many");
	sup_expect_u64(r, "frames", 1);
	sup_expect_u64(r, "lost", 0);
	sup_expect_u64(sum, "lost", 0);
	sup_expect_u64(sum, "status.complete", 1);      /* the anchor only */
	sup_passed(t);
}

/* ---- item 5: totals ----------------------------------------------------- */

/* Two sources each claim 2^63+1 frames in their BYE: each is an error (a
 * BYE is bounded like a jump), and no total is smaller than a part. */
static void item5_totals_never_smaller(void **state)
{
	struct sup *t = sup_begin(state);
	const uint64_t claim = (1ull << 63) + 1;

	sup_server_start(t, "--sources", "2", NULL);
	int s1 = sup_connect(t), s2 = sup_connect(t);
	h_data(t, s1, 1, 0, 1);
	h_data(t, s2, 2, 0, 1);
	h_send(t, s1, PROTO_BYE, 1, claim, NULL, 0);
	h_send(t, s2, PROTO_BYE, 2, claim, NULL, 0);
	h_end(t, s1);
	h_end(t, s2);
	assert_int_equal(sup_server_wait(t), 1);

	const struct json *sum = sup_server_json(t);
	uint64_t total = sup_u64(sum, "lost");
	for (uint32_t id = 1; id <= 2; id++) {
		const struct json *r = sup_expect_source(t, id);
		sup_expect_str(r, "status", "error");
		if (sup_u64(r, "lost") > total)
			fail_msg("%s: source %u lost %llu, more than the total %llu", t->v->name,
				 id, (unsigned long long)sup_u64(r, "lost"),
				 (unsigned long long)total);
	}
	sup_expect_u64(sum, "frames", 2);
	sup_passed(t);
}

/* ---- item 6: junk is no source -------------------------------------------- */

/*
 * --sources 2: two good sources send 300 frames each at 1 kHz; one
 * connection sends 32 zero bytes before they start, two more 60 ms into
 * their run. The junk neither ends the run nor counts towards N: both
 * sources complete, and each junk connection is rejected with its reason
 * (blocking never accepts the two that come after its sources).
 */
static void item6_junk_is_no_source(void **state)
{
	struct sup *t = sup_begin(state);
	static const uint8_t zeros[32];
	int blocking = backend_has(t->be, BE_ACCEPTS_ALL_FIRST);

	sup_server_start(t, "--sources", "2", NULL);
	int j0 = sup_connect(t);
	if (send(j0, zeros, sizeof(zeros), MSG_NOSIGNAL) != (ssize_t)sizeof(zeros))
		fail_msg("send: %s", strerror(errno));
	h_end(t, j0);
	sup_client_start(t, "--sources", "2", "--rate", "1000", "--count", "300", NULL);
	nap_ms(60);
	int j[2];
	for (int k = 0; k < 2; k++) {
		j[k] = sup_connect(t);
		(void)!send(j[k], zeros, sizeof(zeros), MSG_NOSIGNAL);
	}
	if (!blocking)
		for (int k = 0; k < 2; k++)
			h_end(t, j[k]);
	assert_int_equal(sup_client_wait(t), 0);
	assert_int_equal(sup_server_wait(t), 0);
	if (blocking)
		for (int k = 0; k < 2; k++)
			close(j[k]);

	const struct json *sum = sup_server_json(t);
	sup_expect_complete(t, 0, 300);
	sup_expect_complete(t, 1, 300);
	assert_int_equal(json_get(sum, "sources")->len, 2);
	sup_expect_u64(sum, "rejected", blocking ? 1 : 3);
	sup_expect_contains(sum, "rejected_reasons[0].reason", "bad magic 0x0000");
	sup_passed(t);
}

/* ---- item 7: empty connections take no source's place --------------------- */

/*
 * --sources 2: before the sources come, one connection resets, one sits
 * idle and closes, one sits idle and stays. None of them is a source:
 * every backend - blocking, which gathers its N, too - goes on to read the
 * two real ones, which complete, and the run exits 0.
 */
static void item7a_empty_connections(void **state)
{
	struct sup *t = sup_begin(state);

	sup_server_start(t, "--sources", "2", NULL);
	int rst = sup_connect(t), gone = sup_connect(t), stay = sup_connect(t);
	nap_ms(50);
	if (sup_close_reset(rst) < 0)
		fail_msg("close with RST: %s", strerror(errno));
	h_close(t, gone);
	assert_int_equal(sup_client_run(t, "--sources", "2", "--rate", "1000", "--count", "150",
					NULL), 0);
	assert_int_equal(sup_server_wait(t), 0);
	close(stay);

	const struct json *sum = sup_server_json(t);
	sup_expect_complete(t, 0, 150);
	sup_expect_complete(t, 1, 150);
	assert_int_equal(json_get(sum, "sources")->len, 2);
	uint64_t idle = sup_u64(sum, "idle_connections");
	if (idle < 1 || idle > 3)
		fail_msg("%s: %llu idle connections; expected 1 to 3 (the one still open, "
			 "and the reset and closed ones if they were accepted)", t->v->name,
			 (unsigned long long)idle);
	sup_expect_u64(sum, "rejected", 0);
	sup_passed(t);
}

/*
 * --sources 3, two sources send 150 frames each, SIGINT while the server
 * still waits for the third: the two are reported as sources (blocking
 * holds their first frame), not as idle connections, and the run failed.
 */
static void item7b_sigint_while_gathering(void **state)
{
	struct sup *t = sup_begin(state);

	sigint_mid_run(t, "3", "2", "1000", "150", 400);

	const struct json *sum = sup_server_json(t);
	for (uint32_t id = 0; id < 2; id++) {
		const struct json *r = sup_expect_source(t, id);
		/* blocking has read their HELLO (what made them sources); the
		 * others had all 150 frames before the signal. */
		if (backend_has(t->be, BE_ROUND))
			sup_expect_str(r, "status", "active");
		else
			sup_expect_complete(t, id, 150);
	}
	sup_expect_u64(sum, "idle_connections", 0);
	sup_expect_contains(sum, "verdict", "of 3 expected sources");
	sup_passed(t);
}

/* ---- items 8 and 9: names ------------------------------------------------- */

/* Is the file valid UTF-8? (glibc's iconv refuses any ill-formed byte.) */
static int utf8_valid(const char *buf, size_t len)
{
	iconv_t cd = iconv_open("UTF-8", "UTF-8");
	char out[4096], *in = (char *)buf;
	size_t left = len;
	int ok = 1;

	if (cd == (iconv_t)-1)
		fail_msg("iconv_open: %s", strerror(errno));
	while (left && ok) {
		char *o = out;
		size_t room = sizeof(out);
		if (iconv(cd, &in, &left, &o, &room) == (size_t)-1 && errno != E2BIG)
			ok = 0;
	}
	iconv_close(cd);
	return ok;
}

/*
 * HELLO names with bytes that are not UTF-8, NUL, control characters,
 * quotes, backslashes and a terminal escape: the JSON is valid UTF-8 and
 * parses, the names come back as far as JSON can say them, and the table
 * shows them with visible escapes - no raw ESC, no extra "total" line.
 */
static void item8_9_names(void **state)
{
	static const char bad_utf8[] = "\xff\xfe\xc3";
	static const char mixed[] = "a\"b\\c\0d\x01\t";
	static const char inject[] = "\n  total\x1b[1A";
	struct sup *t = sup_begin(state);
	const char *const names[] = { bad_utf8, mixed, inject };
	const uint32_t lens[] = { sizeof(bad_utf8) - 1, sizeof(mixed) - 1, sizeof(inject) - 1 };

	sup_server_start(t, "--sources", "3", NULL);
	int fd[3];
	for (uint32_t id = 0; id < 3; id++) {
		fd[id] = sup_connect(t);
		h_hello(t, fd[id], id, names[id], lens[id]);
		h_data(t, fd[id], id, 0, 3);
		h_send(t, fd[id], PROTO_BYE, id, 3, NULL, 0);
	}
	for (uint32_t id = 0; id < 3; id++)
		h_end(t, fd[id]);
	assert_int_equal(sup_server_wait(t), 0);

	size_t len;
	char *raw = sup_read_file(t->json_path, &len);
	assert_non_null(raw);
	if (!utf8_valid(raw, len))
		fail_msg("%s: the JSON summary is not valid UTF-8", t->v->name);
	free(raw);
	sup_expect_str(sup_expect_source(t, 0), "name", "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd");
	sup_expect_str(sup_expect_source(t, 1), "name", "a\"b\\c\xef\xbf\xbd" "d\x01\t");
	sup_expect_str(sup_expect_source(t, 2), "name", inject);

	char *out = sup_read_file(t->server.out, &len);
	assert_non_null(out);
	unsigned totals = 0;
	for (char *l = out; l; l = strchr(l, '\n')) {
		l += *l == '\n';
		if (strncmp(l, "   total", 8) == 0 || strncmp(l, "  total", 7) == 0)
			totals++;
	}
	int esc = memchr(out, 0x1b, len) != NULL;
	int shown = strstr(out, "\\x0a  tota") != NULL && strstr(out, "\\xff\\xfe") != NULL;
	free(out);
	if (esc)
		fail_msg("%s: the summary table carries a raw ESC", t->v->name);
	if (totals != 1)
		fail_msg("%s: %u lines of the table start like its total row", t->v->name, totals);
	if (!shown)
		fail_msg("%s: the names are not shown with visible escapes", t->v->name);
	sup_passed(t);
}

/* ---- item 10: bounded memory ------------------------------------------------- */

#define MANY_SHORT 300       /* one-frame connections */
#define MANY_KEEP  16        /* --max-records */

/*
 * MANY_SHORT connections, each a source of its own sending one DATA frame
 * and closing: beyond --max-records the ended records are folded into one
 * "others" row whose counts are exact.
 */
static void item10_max_records(void **state)
{
	struct sup *t = sup_begin(state);
	char n[16], keep[16];

	sup_need_nofile(t, MANY_SHORT + 256);
	snprintf(n, sizeof(n), "%u", MANY_SHORT);
	snprintf(keep, sizeof(keep), "%u", MANY_KEEP);
	sup_server_start(t, "--sources", n, "--max-records", keep, NULL);
	for (uint32_t id = 0; id < MANY_SHORT; id++) {
		int fd = sup_connect(t);
		h_data(t, fd, 1000 + id, 0, 1);
		if (backend_has(t->be, BE_ROUND))
			close(fd);      /* read in its round, after all have come */
		else
			h_close(t, fd);
	}
	assert_int_equal(sup_server_wait(t), 1);      /* closed without BYE */

	const struct json *sum = sup_server_json(t);
	assert_int_equal(json_get(sum, "sources")->len, MANY_KEEP);
	sup_expect_u64(sum, "others.sources", MANY_SHORT - MANY_KEEP);
	sup_expect_u64(sum, "others.status.closed", MANY_SHORT - MANY_KEEP);
	sup_expect_u64(sum, "others.frames", MANY_SHORT - MANY_KEEP);
	sup_expect_u64(sum, "others.bytes", (MANY_SHORT - MANY_KEEP) * H_PAYLOAD);
	sup_expect_u64(sum, "frames", MANY_SHORT);
	sup_expect_u64(sum, "source_count", MANY_SHORT);
	sup_expect_u64(sum, "status.closed", MANY_SHORT);
	sup_expect_u64(sum, "latency_ns.count", MANY_SHORT);
	sup_passed(t);
}

/* ---- item 11: a foreign protocol ------------------------------------------ */

/* A 27-byte HTTP request, then a wait for the answer: refused at once
 * (its second byte is enough), not left to a timeout. */
static void item11_http_refused_at_once(void **state)
{
	static const char req[] = "GET / HTTP/1.1\r\nHost: x\r\n\r\n";
	struct sup *t = sup_begin(state);

	sup_server_start(t, "--sources", "1", NULL);
	int fd = sup_connect(t);
	if (send(fd, req, sizeof(req) - 1, MSG_NOSIGNAL) != (ssize_t)sizeof(req) - 1)
		fail_msg("send: %s", strerror(errno));
	h_end(t, fd);
	assert_int_equal(sup_client_run(t, "--sources", "1", "--count", "10", NULL), 0);
	assert_int_equal(sup_server_wait(t), 0);

	const struct json *sum = sup_server_json(t);
	sup_expect_complete(t, 0, 10);
	sup_expect_u64(sum, "rejected", 1);
	sup_expect_contains(sum, "rejected_reasons[0].reason", "bad magic 0x4745");
	sup_passed(t);
}

/* ---- item 12: exit codes ------------------------------------------------------ */

/* None of the 2 expected sources came before --duration: a failure. */
static void item12a_nobody_came(void **state)
{
	struct sup *t = sup_begin(state);

	sup_server_start(t, "--sources", "2", "--duration", "0.3", NULL);
	assert_int_equal(sup_server_wait(t), 1);
	sup_expect_contains(sup_server_json(t), "verdict", "0 of 2 expected sources");
	sup_passed(t);
}

/* --sources 0 --duration S: any number of sources; nothing went wrong
 * (one source complete, one still streaming at the end) is exit 0. */
static void item12b_sources_0_clean(void **state)
{
	struct sup *t = sup_begin(state);

	if (backend_has(t->be, BE_ACCEPTS_ALL_FIRST))
		sup_skip(t, "%s reads a fixed set of N sources: --sources 0 is refused",
			 t->v->name);
	sup_server_start(t, "--sources", "0", "--duration", "1", NULL);
	assert_int_equal(sup_client_run(t, "--sources", "1", "--count", "20", NULL), 0);
	struct proc *p = sup_extra_client_start(t, "streamer", "--sources", "1",
						    "--first-id", "1", "--rate", "100",
						    "--count", "100000", NULL);
	assert_int_equal(sup_server_wait(t), 0);
	expect_client_stopped(t, p);
	sup_expect_complete(t, 0, 20);
	sup_expect_str(sup_expect_source(t, 1), "status", "active");
	sup_passed(t);
}

/* A source still streaming when SIGINT stops a run that waited for it. */
static void item12c_active_at_signal(void **state)
{
	struct sup *t = sup_begin(state);

	sigint_mid_run(t, "1", "1", "200", "100000", 300);
	sup_expect_contains(sup_server_json(t), "verdict", "still active");
	sup_passed(t);
}

/* A CRC error is not a clean run, even with every frame there. */
static void item12d_crc_error(void **state)
{
	struct sup *t = sup_begin(state);

	sup_server_start(t, "--sources", "1", NULL);
	assert_int_equal(sup_client_run(t, "--sources", "1", "--count", "20", "--fault",
					"0:crc@5", NULL), 0);
	assert_int_equal(sup_server_wait(t), 1);
	const struct json *r = sup_expect_source(t, 0);
	sup_expect_str(r, "status", "complete");
	sup_expect_u64(r, "crc_errors", 1);
	sup_expect_contains(sup_server_json(t), "verdict", "1 CRC errors");
	sup_passed(t);
}

static const struct sup_case cases[] = {
	{ "item 1: a refused duplicate never becomes the record a reconnect resumes",
	  item1_resume_hijack },
	{ "item 2a: a frame lost across a resume fails the run", item2a_loss_across_resume },
	{ "item 2b: no resume after a BYE", item2b_no_resume_after_bye },
	{ "item 2c: an error before a resume fails the run", item2c_error_before_resume },
	{ "item 3: a late frame after a resume fills its gap once", item3_late_fills_gap_once },
	{ "item 4: BYE 2^64-1 is an error, no sequence wraps", item4_bye_bounded_no_wrap },
	{ "item 5: a total is never smaller than a part", item5_totals_never_smaller },
	{ "item 6: junk connections are rejected, not sources", item6_junk_is_no_source },
	{ "item 7a: empty connections take no source's place", item7a_empty_connections },
	{ "item 7b: SIGINT while gathering sources", item7b_sigint_while_gathering },
	{ "items 8, 9: names are valid JSON and safe on a terminal", item8_9_names },
	{ "item 10: --max-records folds ended sources into others", item10_max_records },
	{ "item 11: a 27-byte HTTP request is refused at once", item11_http_refused_at_once },
	{ "item 12a: none of the expected sources came: exit 1", item12a_nobody_came },
	{ "item 12b: --sources 0 --duration, nothing wrong: exit 0", item12b_sources_0_clean },
	{ "item 12c: a source active at SIGINT: exit 1", item12c_active_at_signal },
	{ "item 12d: a CRC error: exit 1", item12d_crc_error },
};

int main(int argc, char **argv)
{
	return sup_main("test_hostile", argc, argv, 0, cases, ARRAY_SIZE(cases), NULL);
}
