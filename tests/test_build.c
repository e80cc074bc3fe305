/*
 * test_build.c - event building (`daqmux server --build`), run against
 * every backend.
 *
 * One definition per property, the same for every backend (one cmocka
 * group each, the backend as the tests' prestate; an unavailable backend
 * is skipped with its reason):
 *   1. complete events equal the triggers sent, nothing is lost, and the
 *      --write stream holds each of them whole (CRCs checked);
 *   2. a source that stops (closes without BYE) makes every later event
 *      partial at once, naming it as the missing one;
 *   3. the builder's memory stays within the window: held bytes never
 *      exceed W x N x the largest fragment, while a late source holds
 *      the others back;
 *   4. a flooding source is paused, not buffered: the builder holds no
 *      more than the window, and TCP pushes back on the sender;
 *   5. the --write stream, parsed back, is byte for byte what was sent.
 * Backends that read in a fixed round (BE_ROUND: blocking) never get a
 * source ahead of the others, so they have nothing to pause; cases 3 and
 * 4 check the pause only where it can happen and the memory bound always.
 *
 * Run one backend or one case:
 *   build/default/tests/test_build epoll
 *   DAQMUX_TEST_FILTER='*case 4*' build/default/tests/test_build
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmocka.h>

#include "build.h"
#include "crc32c.h"
#include "proto.h"
#include "server.h"
#include "support.h"
#include "util.h"

/* ---- the --write stream ---------------------------------------------------- */

struct ev_frag {
	uint32_t source;
	const uint8_t *frame;       /* header and payload, as received */
	uint32_t len;
};

#define EV_MAX_FRAGS 8

struct ev {
	uint64_t event;
	int partial;
	unsigned nfrag;
	struct ev_frag frag[EV_MAX_FRAGS];
};

static uint32_t get32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static uint64_t get64(const uint8_t *p)
{
	return (uint64_t)get32(p) << 32 | get32(p + 4);
}

/*
 * The next event at *off in buf: its header checked (magic, version,
 * reserved, the byte count against its fragments), each fragment a DATA
 * frame of this event with a good CRC, in ascending source id. 0 at the
 * end of the stream; fails the test on anything malformed.
 */
static int ev_next(const uint8_t *buf, size_t len, size_t *off, struct ev *ev)
{
	const uint8_t *h = buf + *off;
	size_t end;

	if (*off == len)
		return 0;
	if (len - *off < BUILD_EV_HEADER)
		fail_msg("--write: %zu stray bytes at the end", len - *off);
	if ((h[0] << 8 | h[1]) != BUILD_EV_MAGIC || h[2] != BUILD_EV_VERSION || get32(h + 20))
		fail_msg("--write: bad event header at byte %zu", *off);
	memset(ev, 0, sizeof(*ev));
	ev->event = get64(h + 4);
	ev->partial = h[3] & BUILD_EV_PARTIAL;
	ev->nfrag = get32(h + 12);
	end = *off + BUILD_EV_HEADER + get32(h + 16);
	if (ev->nfrag > EV_MAX_FRAGS || end > len)
		fail_msg("--write: event %lu claims %u fragments, %u bytes", (unsigned long)ev->event,
			 ev->nfrag, get32(h + 16));
	*off += BUILD_EV_HEADER;
	for (unsigned i = 0; i < ev->nfrag; i++) {
		struct proto_header ph;
		if (end - *off < PROTO_HEADER_SIZE)
			fail_msg("--write: event %lu is cut short", (unsigned long)ev->event);
		proto_decode(buf + *off, &ph);
		if (ph.magic != PROTO_MAGIC || ph.type != PROTO_DATA || ph.seq != ev->event ||
		    ph.length > end - *off - PROTO_HEADER_SIZE)
			fail_msg("--write: event %lu fragment %u is not its DATA frame",
				 (unsigned long)ev->event, i);
		if (crc32c(0, buf + *off + PROTO_HEADER_SIZE, ph.length) != ph.crc)
			fail_msg("--write: event %lu fragment of source %u: CRC differs",
				 (unsigned long)ev->event, ph.source);
		if (i && ph.source <= ev->frag[i - 1].source)
			fail_msg("--write: event %lu: fragments not in ascending source id",
				 (unsigned long)ev->event);
		ev->frag[i] = (struct ev_frag){ ph.source, buf + *off, PROTO_HEADER_SIZE + ph.length };
		*off += PROTO_HEADER_SIZE + ph.length;
	}
	if (*off != end)
		fail_msg("--write: event %lu: %zu bytes beyond its fragments",
			 (unsigned long)ev->event, end - *off);
	return 1;
}

static const char *in_dir(const struct sup *t, const char *name, char *buf, size_t len)
{
	if ((size_t)snprintf(buf, len, "%s/%s", t->dir, name) >= len)
		fail_msg("%s/%s: path too long", t->dir, name);
	return buf;
}

static uint8_t *load(const struct sup *t, const char *name, size_t *len)
{
	char path[PATH_MAX];
	uint8_t *buf = (uint8_t *)sup_read_file(in_dir(t, name, path, sizeof(path)), len);

	if (!buf)
		fail_msg("cannot read %s: %s", path, strerror(errno));
	return buf;
}

/* build.sources[] entry of source id. */
static const struct json *build_source(struct sup *t, uint64_t id)
{
	const struct json *s = sup_find_id(json_path(sup_server_json(t), "build.sources"), id);

	if (!s)
		fail_msg("%s: build.sources has no source %lu", t->be->name, (unsigned long)id);
	return s;
}

static int can_get_ahead(const struct sup *t)
{
	return !backend_has(t->be, BE_ROUND);
}

/* ---- 1: complete events ------------------------------------------------------ */

#define C1_SOURCES 4
#define C1_EVENTS 500

static void case_complete(void **state)
{
	struct sup *t = sup_begin(state);
	char out[PATH_MAX], n[16], count[16];
	uint64_t next = 0, bytes = 0, sent = 0;
	size_t len, off = 0;
	struct ev ev;

	snprintf(n, sizeof(n), "%d", C1_SOURCES);
	snprintf(count, sizeof(count), "%d", C1_EVENTS);
	sup_server_start(t, "--sources", n, "--build", "--build-window", "32",
			 "--write", in_dir(t, "events", out, sizeof(out)), NULL);
	assert_int_equal(sup_client_run(t, "--sources", n, "--burst", "--rate", "2000",
					"--count", count, "--size", "64-2K", NULL), 0);
	assert_int_equal(sup_server_wait(t), 0);

	const struct json *sum = sup_server_json(t);
	for (unsigned id = 0; id < C1_SOURCES; id++) {
		sup_expect_complete(t, id, C1_EVENTS);
		sent += sup_u64(sup_expect_source(t, id), "bytes") + PROTO_HEADER_SIZE * C1_EVENTS;
		sup_expect_u64(build_source(t, id), "missing", 0);
	}
	sup_expect_u64(sum, "build.events_complete", C1_EVENTS);
	sup_expect_u64(sum, "build.events_partial", 0);
	sup_expect_u64(sum, "build.fragments_late", 0);
	sup_expect_u64(sum, "build.fragments_duplicate", 0);
	sup_expect_u64(sum, "build.latency_ns.count", C1_EVENTS);

	uint8_t *buf = load(t, "events", &len);
	while (ev_next(buf, len, &off, &ev)) {
		if (ev.event != next++ || ev.partial || ev.nfrag != C1_SOURCES)
			fail_msg("%s: event %lu (expected %lu): %s, %u fragments", t->be->name,
				 (unsigned long)ev.event, (unsigned long)next - 1,
				 ev.partial ? "partial" : "complete", ev.nfrag);
		for (unsigned i = 0; i < ev.nfrag; i++)
			bytes += ev.frag[i].len;
	}
	free(buf);
	assert_int_equal(next, C1_EVENTS);
	assert_int_equal(bytes, sent);
	sup_passed(t);
}

/* ---- 2: a stopped source ---------------------------------------------------- */

#define C2_EVENTS 300
#define C2_STOP 100      /* source 1 closes after this many fragments */

static void case_stopped_source(void **state)
{
	struct sup *t = sup_begin(state);
	char out[PATH_MAX], count[16], fault[32];
	uint64_t next = 0;
	size_t len, off = 0;
	struct ev ev;

	snprintf(count, sizeof(count), "%d", C2_EVENTS);
	snprintf(fault, sizeof(fault), "1:close@%d", C2_STOP);
	sup_server_start(t, "--sources", "3", "--build", "--build-window", "32",
			 "--write", in_dir(t, "events", out, sizeof(out)), NULL);
	(void)sup_client_run(t, "--sources", "3", "--burst", "--rate", "2000", "--count", count,
			     "--size", "1K", "--fault", fault, NULL);
	(void)sup_server_wait(t);

	const struct json *sum = sup_server_json(t);
	sup_expect_str(sup_expect_source(t, 1), "status", "closed");
	sup_expect_u64(sum, "build.events_complete", C2_STOP);
	sup_expect_u64(sum, "build.events_partial", C2_EVENTS - C2_STOP);
	sup_expect_u64(build_source(t, 0), "missing", 0);
	sup_expect_u64(build_source(t, 1), "missing", C2_EVENTS - C2_STOP);
	sup_expect_u64(build_source(t, 2), "missing", 0);
	/* The summary names the first partial event and the source it missed. */
	sup_expect_u64(sum, "build.partial_first[0].event", C2_STOP);
	sup_expect_u64(sum, "build.partial_first[0].missing_count", 1);
	sup_expect_u64(sum, "build.partial_first[0].missing[0]", 1);

	/* Partial exactly from the stop on, and without source 1 only. */
	uint8_t *buf = load(t, "events", &len);
	while (ev_next(buf, len, &off, &ev)) {
		int late = ev.event >= C2_STOP;
		if (ev.event != next++ || ev.partial != late || ev.nfrag != (late ? 2u : 3u) ||
		    ev.frag[0].source != 0 || ev.frag[ev.nfrag - 1].source != 2)
			fail_msg("%s: event %lu: %s with %u fragments; expected %s", t->be->name,
				 (unsigned long)ev.event, ev.partial ? "partial" : "complete",
				 ev.nfrag, late ? "partial without source 1" : "complete");
	}
	free(buf);
	assert_int_equal(next, C2_EVENTS);
	sup_passed(t);
}

/* ---- 3: memory within the window -------------------------------------------- */

#define C3_WINDOW 8
#define C3_SOURCES 4
#define C3_SIZE 2048

static void case_window_memory(void **state)
{
	struct sup *t = sup_begin(state);
	char w[16], n[16], size[16];
	uint64_t paused = 0;

	snprintf(w, sizeof(w), "%d", C3_WINDOW);
	snprintf(n, sizeof(n), "%d", C3_SOURCES);
	snprintf(size, sizeof(size), "%d", C3_SIZE);
	sup_server_start(t, "--sources", n, "--build", "--build-window", w, NULL);
	/* Source 0 starts 0.3 s late and stays that late: the others run a
	 * window ahead of it all the way. */
	assert_int_equal(sup_client_run(t, "--sources", n, "--burst", "--rate", "2000",
					"--count", "400", "--size", size, "--silent", "0:0.3", NULL), 0);
	assert_int_equal(sup_server_wait(t), 0);

	const struct json *sum = sup_server_json(t);
	sup_expect_u64(sum, "build.events_complete", 400);
	uint64_t held = sup_u64(sum, "build.held_bytes_max");
	uint64_t bound = (uint64_t)C3_WINDOW * C3_SOURCES * (PROTO_HEADER_SIZE + C3_SIZE);
	if (held == 0 || held > bound)
		fail_msg("%s: held_bytes_max %lu, expected 1..%lu (W x N x largest fragment)",
			 t->be->name, (unsigned long)held, (unsigned long)bound);
	/* Besides the ring: at most one read per source, beyond its pause. */
	uint64_t kept = sup_u64(sum, "build.kept_bytes_max");
	if (kept > (uint64_t)C3_SOURCES * SERVER_RBUF_SIZE)
		fail_msg("%s: kept_bytes_max %lu beyond one read per source", t->be->name,
			 (unsigned long)kept);
	for (unsigned id = 1; id < C3_SOURCES; id++)
		paused += sup_u64(build_source(t, id), "paused_ns");
	if (can_get_ahead(t) && paused == 0)
		fail_msg("%s: sources 1-3 ran ahead of source 0 but were never paused", t->be->name);
	sup_passed(t);
}

/* ---- 4: a flooding source --------------------------------------------------- */

#define C4_WINDOW 4
#define C4_EVENTS 300
#define C4_FLOOD_SIZE 65536

static void case_flood_paused(void **state)
{
	struct sup *t = sup_begin(state);
	char w[16], count[16], size[16], path[PATH_MAX], err[256];

	snprintf(w, sizeof(w), "%d", C4_WINDOW);
	snprintf(count, sizeof(count), "%d", C4_EVENTS);
	snprintf(size, sizeof(size), "%d", C4_FLOOD_SIZE);
	sup_server_start(t, "--sources", "2", "--build", "--build-window", w, NULL);
	/* Source 1 sends 20 MB as fast as it can while source 0 paces the
	 * events at 100 Hz: the builder takes the flood at 6.5 MB/s, and the
	 * socket buffers (a few MB on loopback) fill within a second even
	 * for a client slowed down by a sanitizer. */
	struct proc *flood = sup_extra_client_start(t, "flood", "--first-id", "1", "--rate",
							"max", "--count", count, "--size", size,
							NULL);
	sup_client_start(t, "--sources", "1", "--rate", "100", "--count", count, "--size", "4K",
			 NULL);
	assert_int_equal(sup_client_wait(t), 0);
	assert_int_equal(sup_finish(t, flood), 0);
	assert_int_equal(sup_server_wait(t), 0);

	const struct json *sum = sup_server_json(t);
	sup_expect_u64(sum, "build.events_complete", C4_EVENTS);
	uint64_t held = sup_u64(sum, "build.held_bytes_max");
	uint64_t bound = (uint64_t)C4_WINDOW * 2 * (PROTO_HEADER_SIZE + C4_FLOOD_SIZE);
	if (held > bound)
		fail_msg("%s: held_bytes_max %lu beyond the window (%lu)", t->be->name,
			 (unsigned long)held, (unsigned long)bound);
	uint64_t kept = sup_u64(sum, "build.kept_bytes_max");
	if (kept > 2 * SERVER_RBUF_SIZE && t->v->unfair)
		print_message("%s: kept_bytes_max %lu, printed, not judged: %s\n", t->v->name,
			      (unsigned long)kept, t->v->unfair);
	else if (kept > 2 * SERVER_RBUF_SIZE)
		fail_msg("%s: kept_bytes_max %lu: the flood was buffered", t->be->name,
			 (unsigned long)kept);
	if (can_get_ahead(t) && sup_u64(build_source(t, 1), "paused_ns") == 0)
		fail_msg("%s: the flooding source was never paused", t->be->name);

	/* TCP pushed back: the flood's writes found full socket buffers. */
	struct json *fj = json_parse_file(in_dir(t, "flood.json", path, sizeof(path)), err,
					  sizeof(err));
	if (!fj)
		fail_msg("flood summary: %s", err);
	uint64_t blocked = json_path_u64(fj, "blocked_ns", 0);
	json_free(fj);
	if (blocked == 0)
		fail_msg("%s: the flooding source was never blocked: it was buffered", t->be->name);
	sup_passed(t);
}

/* ---- 5: the stream, byte for byte -------------------------------------------- */

#define C5_SOURCES 3
#define C5_EVENTS 40

/* Frame seq of source id as this test sends it: a payload of a length
 * and bytes that depend on both, a send time of its own. */
static size_t c5_frame(uint32_t id, uint64_t seq, uint8_t *out)
{
	uint32_t len = (uint32_t)((id * 97 + seq * 31) % 300);
	uint8_t *p = out + PROTO_HEADER_SIZE;

	for (uint32_t i = 0; i < len; i++)
		p[i] = (uint8_t)(id * 7 + seq * 13 + i);
	struct proto_header h = proto_make(PROTO_DATA, id, seq, 1000000 + seq, len,
					   crc32c(0, p, len));
	proto_encode(&h, out);
	return PROTO_HEADER_SIZE + len;
}

static void send_all(int fd, const uint8_t *p, size_t len)
{
	while (len) {
		ssize_t n = send(fd, p, len, MSG_NOSIGNAL);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			fail_msg("send: %s", n < 0 ? strerror(errno) : "0 bytes");
		p += n;
		len -= (size_t)n;
	}
}

static void case_write_exact(void **state)
{
	struct sup *t = sup_begin(state);
	char out[PATH_MAX], n[16];
	uint8_t frame[PROTO_HEADER_SIZE + 300];
	int fds[C5_SOURCES];
	size_t len, off = 0;
	uint64_t next = 0;
	struct ev ev;

	snprintf(n, sizeof(n), "%d", C5_SOURCES);
	sup_server_start(t, "--sources", n, "--build",
			 "--write", in_dir(t, "events", out, sizeof(out)), NULL);
	/* Every source connected before the first byte: the blocking backend
	 * accepts all of them before it reads. */
	for (unsigned i = 0; i < C5_SOURCES; i++)
		fds[i] = sup_connect(t);
	for (uint64_t seq = 0; seq < C5_EVENTS; seq++)
		for (unsigned i = 0; i < C5_SOURCES; i++)
			send_all(fds[i], frame, c5_frame(i, seq, frame));
	for (unsigned i = 0; i < C5_SOURCES; i++) {
		assert_int_equal(sup_send_frame(fds[i], PROTO_BYE, i, C5_EVENTS, NULL, 0), 0);
		close(fds[i]);
	}
	assert_int_equal(sup_server_wait(t), 0);
	sup_expect_u64(sup_server_json(t), "build.events_complete", C5_EVENTS);

	uint8_t *buf = load(t, "events", &len);
	while (ev_next(buf, len, &off, &ev)) {
		if (ev.event != next++ || ev.partial || ev.nfrag != C5_SOURCES)
			fail_msg("%s: event %lu not complete in order", t->be->name,
				 (unsigned long)ev.event);
		for (unsigned i = 0; i < ev.nfrag; i++) {
			size_t want = c5_frame(i, ev.event, frame);
			if (ev.frag[i].source != i || ev.frag[i].len != want ||
			    memcmp(ev.frag[i].frame, frame, want) != 0)
				fail_msg("%s: event %lu, source %u: not the frame that was sent",
					 t->be->name, (unsigned long)ev.event, i);
		}
	}
	free(buf);
	assert_int_equal(next, C5_EVENTS);
	sup_passed(t);
}

/* ---- the table ------------------------------------------------------------------ */

static const struct sup_case cases[] = {
	{ "case 1: complete events equal the triggers, nothing lost", case_complete },
	{ "case 2: a stopped source makes later events partial, named", case_stopped_source },
	{ "case 3: held bytes stay within the window", case_window_memory },
	{ "case 4: a flooding source is paused, not buffered", case_flood_paused },
	{ "case 5: the --write stream is byte for byte what was sent", case_write_exact },
};

int main(int argc, char **argv)
{
	return sup_main("test_build", argc, argv, SUP_VARIANTS, cases, ARRAY_SIZE(cases), NULL);
}
