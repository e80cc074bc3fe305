/*
 * test_pause.c - backpressure through the core: conn_pause() and
 * conn_resume() on every backend, driven directly, in this process.
 *
 * The event builder (issue 10) will pause a source that runs too far
 * ahead and resume it when the others catch up; each backend stops
 * reading in its own way (out of the wait set, the receive cancelled, the
 * turn skipped, the reader asleep). This test is that builder in
 * miniature: the server core runs in a thread of this process with a
 * frame hook (struct server_hooks), and the hook pauses source B at its
 * 5th frame and resumes it at source A's 9th. The test writes the bytes
 * itself, in steps, so that it knows what was on the wire when:
 *
 *   A0..A4 and B0..B4      B is paused by its B4
 *   B5..B9, then A5..A7    A's frames arrive; B's must not
 *   A8 (resumes B), BYE A  B5..B9 arrive now, in order
 *   BYE B                  the run ends with both sources complete
 *
 * "Must not arrive" is checked when A7 has arrived (written after B9)
 * and again 100 ms later: a backend that kept reading B would deliver B5
 * before or with A5. Nothing here depends on timing otherwise.
 *
 * Run one backend: build/default/tests/test_pause epoll
 */
#include <errno.h>
#include <pthread.h>
#include <setjmp.h>
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

#include "backends.h"
#include "net.h"
#include "proto.h"
#include "server.h"
#include "support.h"
#include "util.h"

#define PAUSE_WAIT_S  10.0   /* for any one step; a hang fails the test */
#define PAUSE_AT      4      /* B's sequence number that pauses it */
#define RESUME_AT     8      /* A's sequence number that resumes B */
#define FRAMES_B      10

struct pause_run {
	const struct backend *be;
	pthread_t tid;
	int rc;
	pthread_mutex_t lock;        /* guards everything below */
	pthread_cond_t changed;
	char addr[80];               /* set by the listening hook */
	uint64_t seen[2];            /* DATA frames per source, A = 0, B = 1 */
	uint64_t next_b;             /* B's next expected sequence number */
	int b_paused;                /* between the pause and the resume */
	uint64_t b_while_paused;     /* B's frames delivered while paused */
	uint64_t b_out_of_order;
	struct conn *b;              /* B's connection, once paused */
	int ended;                   /* server_run returned */
};

static void pause_listening(struct server *s, void *arg)
{
	struct pause_run *r = arg;

	pthread_mutex_lock(&r->lock);
	snprintf(r->addr, sizeof(r->addr), "%s", s->listen_name);
	pthread_cond_broadcast(&r->changed);
	pthread_mutex_unlock(&r->lock);
}

/* The builder in miniature; runs in the loop's thread (or the source's
 * reader thread), so conn_pause/conn_resume are called where they may be. */
static void pause_frame(struct conn *c, const struct proto_header *h, uint64_t now, void *arg)
{
	struct pause_run *r = arg;
	struct conn *resume = NULL;
	int pause = 0;

	(void)now;
	pthread_mutex_lock(&r->lock);
	if (h->source < 2)
		r->seen[h->source]++;
	if (h->source == 1) {
		r->b_while_paused += r->b_paused;
		r->b_out_of_order += h->seq != r->next_b;
		r->next_b = h->seq + 1;
		if (h->seq == PAUSE_AT) {
			r->b = c;
			r->b_paused = pause = 1;
		}
	} else if (h->source == 0 && h->seq == RESUME_AT && r->b) {
		resume = r->b;
		r->b_paused = 0;
	}
	pthread_cond_broadcast(&r->changed);
	pthread_mutex_unlock(&r->lock);
	/* Outside the lock: a resume may deliver held bytes at once, and so
	 * call this hook again. */
	if (pause)
		conn_pause(c);
	if (resume)
		conn_resume(resume);
}

static void *pause_server(void *arg)
{
	struct pause_run *r = arg;
	struct server_opts o = {
		.backend = r->be->name, .listen = "127.0.0.1:0", .sources = 2,
		.max_frame = PROTO_DEFAULT_MAX_FRAME, .budget = 256u << 10, .quiet = 1,
		.trace_max = 1, .cpu = -1, .loops = 1,
	};
	struct server_hooks hooks = {
		.arg = r, .listening = pause_listening, .frame = pause_frame,
	};
	int rc = server_run(&o, r->be, &hooks);

	pthread_mutex_lock(&r->lock);
	r->rc = rc;
	r->ended = 1;
	pthread_cond_broadcast(&r->changed);
	pthread_mutex_unlock(&r->lock);
	return NULL;
}

/* Wait (bounded) until *v >= want, or the server ended; *v then. */
static uint64_t pause_until(struct pause_run *r, const uint64_t *v, uint64_t want)
{
	struct timespec until;
	uint64_t got;

	clock_gettime(CLOCK_REALTIME, &until);
	until.tv_sec += (time_t)PAUSE_WAIT_S;
	pthread_mutex_lock(&r->lock);
	while (*v < want && !r->ended &&
	       pthread_cond_timedwait(&r->changed, &r->lock, &until) != ETIMEDOUT)
		;
	got = *v;
	pthread_mutex_unlock(&r->lock);
	return got;
}

static uint64_t pause_get(struct pause_run *r, const uint64_t *v)
{
	pthread_mutex_lock(&r->lock);
	uint64_t got = *v;
	pthread_mutex_unlock(&r->lock);
	return got;
}

static int pause_connect(const char *addr)
{
	struct net_addr a;
	int fd;

	if (net_resolve(addr, 0, &a) < 0)
		return -1;
	fd = socket(a.ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	if (connect(fd, (struct sockaddr *)&a.ss, a.len) < 0) {
		close(fd);
		return -1;
	}
	return fd;
}

static void pause_send(int fd, uint32_t id, uint64_t from, uint64_t to)
{
	static const char payload[16] = "pause-and-resume";

	for (uint64_t seq = from; seq < to; seq++)
		if (sup_send_frame(fd, PROTO_DATA, id, seq, payload, sizeof(payload)) < 0)
			fail_msg("source %u: sending frame %llu: %s", id, (unsigned long long)seq,
				 strerror(errno));
}

static void pause_nap_ms(unsigned ms)
{
	struct timespec ts = { 0, (long)ms * 1000000L };

	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

static void test_pause_resume(void **state)
{
	const struct backend *be = *state;
	struct pause_run *r;
	char why[256];
	int fa = -1, fb = -1;

	if (be->probe && be->probe(why, sizeof(why)) < 0) {
		print_message("SKIP %s: %s\n", be->name, why);
		skip();
	}
	r = calloc(1, sizeof(*r));
	assert_non_null(r);
	r->be = be;
	pthread_mutex_init(&r->lock, NULL);
	pthread_cond_init(&r->changed, NULL);
	assert_int_equal(pthread_create(&r->tid, NULL, pause_server, r), 0);

	/* Listening: A first (a BE_ROUND backend reads in accept order). */
	struct timespec until;
	clock_gettime(CLOCK_REALTIME, &until);
	until.tv_sec += (time_t)PAUSE_WAIT_S;
	pthread_mutex_lock(&r->lock);
	while (!r->addr[0] && !r->ended &&
	       pthread_cond_timedwait(&r->changed, &r->lock, &until) != ETIMEDOUT)
		;
	pthread_mutex_unlock(&r->lock);
	assert_true(r->addr[0]);
	fa = pause_connect(r->addr);
	assert_true(fa >= 0);
	fb = pause_connect(r->addr);
	assert_true(fb >= 0);

	/* Interleaved, so that a round reads them in turn: B4 pauses B. */
	for (uint64_t seq = 0; seq <= PAUSE_AT; seq++) {
		pause_send(fa, 0, seq, seq + 1);
		pause_send(fb, 1, seq, seq + 1);
	}
	if (pause_until(r, &r->seen[1], PAUSE_AT + 1) < PAUSE_AT + 1)
		fail_msg("%s: B delivered %llu of its first %d frames", r->be->name,
			 (unsigned long long)pause_get(r, &r->seen[1]), PAUSE_AT + 1);

	/* B's next frames go out first; A's after them arrive, B's must not. */
	pause_send(fb, 1, PAUSE_AT + 1, FRAMES_B);
	pause_send(fa, 0, PAUSE_AT + 1, RESUME_AT);
	if (pause_until(r, &r->seen[0], RESUME_AT) < RESUME_AT)
		fail_msg("%s: A delivered %llu of %d frames while B was paused", r->be->name,
			 (unsigned long long)pause_get(r, &r->seen[0]), RESUME_AT);
	pause_nap_ms(100);
	if (pause_get(r, &r->seen[1]) != PAUSE_AT + 1 || pause_get(r, &r->b_while_paused))
		fail_msg("%s: B delivered %llu frames (%llu while paused); paused after %d, it "
			 "should have delivered no more", r->be->name,
			 (unsigned long long)pause_get(r, &r->seen[1]),
			 (unsigned long long)pause_get(r, &r->b_while_paused), PAUSE_AT + 1);

	/* A's next frame resumes B; A says BYE (a round then has only B). */
	pause_send(fa, 0, RESUME_AT, RESUME_AT + 1);
	assert_int_equal(sup_send_frame(fa, PROTO_BYE, 0, RESUME_AT + 1, NULL, 0), 0);
	if (pause_until(r, &r->seen[1], FRAMES_B) < FRAMES_B)
		fail_msg("%s: after the resume B delivered %llu of %d frames", r->be->name,
			 (unsigned long long)pause_get(r, &r->seen[1]), FRAMES_B);
	assert_int_equal(pause_get(r, &r->b_while_paused), 0);
	assert_int_equal(pause_get(r, &r->b_out_of_order), 0);

	/* Both complete: the run ends by itself, exit status 0. */
	assert_int_equal(sup_send_frame(fb, PROTO_BYE, 1, FRAMES_B, NULL, 0), 0);
	assert_int_equal(pthread_join(r->tid, NULL), 0);
	assert_int_equal(r->rc, 0);
	close(fa);
	close(fb);
	pthread_cond_destroy(&r->changed);
	pthread_mutex_destroy(&r->lock);
	free(r);
}

int main(int argc, char **argv)
{
	struct CMUnitTest tests[16];
	char names[16][64];
	size_t n = 0;

	for (size_t b = 0; b < backend_count && n < 16; b++) {
		if (!sup_wanted(backends[b]->name, argc, argv))
			continue;
		snprintf(names[n], sizeof(names[n]), "%s: pause B, resume it from A",
			 backends[b]->name);
		tests[n] = (struct CMUnitTest){
			.name = names[n],
			.test_func = test_pause_resume,
			.initial_state = (void *)backends[b],
		};
		n++;
	}
	return _cmocka_run_group_tests("pause", tests, n, NULL, NULL) ? 1 : 0;
}
