/*
 * test_frame.c - the streaming frame assembler (frame_parse).
 *
 * A reference byte stream of several frames (HELLO with a name, DATA of
 * awkward payload sizes with correct CRCs, one DATA with a wrong CRC, BYE)
 * is fed to the parser cut up in every way a socket might deliver it: all
 * at once, a byte at a time, split in two at every offset, and in random
 * pieces. Whatever the cuts, exactly the same frames must come out, and
 * every call that does not complete a frame must return FRAME_MORE having
 * consumed its whole piece. Each piece is copied into its own exactly
 * sized allocation, so under ASan a read past the end of a piece fails.
 *
 * Also: frame_partial()/frame_want() at header and payload boundaries,
 * protocol errors (whole or byte by byte) and the payload size limit; the
 * whole-frame fast path refusing exactly what proto_check refuses.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "crc32c.h"
#include "frame.h"
#include "proto.h"

/* ---- building streams ------------------------------------------------- */

struct stream {
	uint8_t *data;
	size_t len, cap;
};

static void stream_put(struct stream *s, const void *p, size_t n)
{
	if (s->len + n > s->cap) {
		size_t cap = s->cap ? s->cap : 4096;
		while (cap < s->len + n)
			cap *= 2;
		s->data = realloc(s->data, cap);
		assert_non_null(s->data);
		s->cap = cap;
	}
	if (n)
		memcpy(s->data + s->len, p, n);
	s->len += n;
}

static void stream_free(struct stream *s)
{
	free(s->data);
	memset(s, 0, sizeof(*s));
}

/* Append one frame; its header's CRC is computed from the payload, then
 * XORed with crc_xor (non-zero to corrupt it). Returns the header. */
static struct proto_header put_frame(struct stream *s, unsigned type, uint32_t source,
				     uint64_t seq, uint64_t send_ns,
				     const void *payload, uint32_t len, uint32_t crc_xor)
{
	struct proto_header h = proto_make(type, source, seq, send_ns, len,
					   (len ? crc32c(0, payload, len) : 0) ^ crc_xor);
	uint8_t hdr[PROTO_HEADER_SIZE];

	proto_encode(&h, hdr);
	stream_put(s, hdr, sizeof(hdr));
	stream_put(s, payload, len);
	return h;
}

/* Append a raw header (possibly invalid) with no payload. */
static void put_header(struct stream *s, const struct proto_header *h)
{
	uint8_t hdr[PROTO_HEADER_SIZE];

	proto_encode(h, hdr);
	stream_put(s, hdr, sizeof(hdr));
}

static uint64_t rng_next(uint64_t *state)
{
	uint64_t z = (*state += 0x9E3779B97F4A7C15ull);
	z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
	z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
	return z ^ (z >> 31);
}

/* ---- what the parser should produce ----------------------------------- */

#define MAX_FRAMES 32

struct expect {
	struct proto_header h;
	int crc_ok;
	const char *name;       /* HELLO only */
};

struct got {
	struct proto_header h;
	int crc_ok;
	int has_name;
	char name[PROTO_NAME_MAX + 1];
};

struct run {
	struct frame_parser p;
	size_t n;
	struct got got[MAX_FRAMES];
};

static void run_init(struct run *r, uint32_t max_payload)
{
	memset(r, 0, sizeof(*r));
	frame_parser_init(&r->p, max_payload);
}

/* Feed one piece as a socket read would deliver it: call frame_parse
 * until the piece is used up, collecting frames. Protocol errors fail. */
static void feed(struct run *r, const uint8_t *piece, size_t len)
{
	uint8_t *copy = malloc(len ? len : 1);
	size_t off = 0;

	assert_non_null(copy);
	memcpy(copy, piece, len);
	while (off < len) {
		struct frame f;
		char why[160] = "";
		size_t used = (size_t)-1;
		enum frame_result res = frame_parse(&r->p, copy + off, len - off,
						    &used, &f, why, sizeof(why));
		if (res == FRAME_BAD)
			fail_msg("unexpected FRAME_BAD: %s", why);
		assert_true(used <= len - off);
		if (res == FRAME_MORE) {
			/* MORE means the whole piece was taken. */
			assert_int_equal(used, len - off);
			assert_true(frame_partial(&r->p));
			break;
		}
		assert_int_equal(res, FRAME_DONE);
		assert_true(used > 0);
		assert_true(r->n < MAX_FRAMES);
		struct got *g = &r->got[r->n++];
		g->h = f.h;
		g->crc_ok = f.crc_ok;
		g->has_name = f.name != NULL;
		if (f.name) {
			assert_true(strlen(f.name) <= PROTO_NAME_MAX);
			strcpy(g->name, f.name);
		}
		off += used;
	}
	free(copy);
}

static void check_run(const struct run *r, const struct expect *exp, size_t nexp)
{
	if (r->n != nexp)
		fail_msg("got %zu frames, expected %zu", r->n, nexp);
	for (size_t i = 0; i < nexp; i++) {
		const struct got *g = &r->got[i];
		const struct expect *e = &exp[i];
		assert_int_equal(g->h.type, e->h.type);
		assert_int_equal(g->h.source, e->h.source);
		assert_int_equal(g->h.seq, e->h.seq);
		assert_int_equal(g->h.send_ns, e->h.send_ns);
		assert_int_equal(g->h.length, e->h.length);
		assert_int_equal(g->h.crc, e->h.crc);
		assert_int_equal(g->crc_ok, e->crc_ok);
		if (e->h.type == PROTO_HELLO) {
			assert_true(g->has_name);
			assert_string_equal(g->name, e->name);
		}
	}
	/* The stream ends on a frame boundary. */
	assert_false(frame_partial(&r->p));
	assert_int_equal(frame_want(&r->p), PROTO_HEADER_SIZE);
}

/* ---- the reference stream --------------------------------------------- */

static struct stream ref;
static struct expect ref_exp[MAX_FRAMES];
static size_t ref_n;
static uint8_t *ref_payload;    /* 70000 bytes of pattern */

#define SRC 0x0000BEEFu
#define NAME "detector-7/north"

static void add_ref(unsigned type, uint64_t seq, const void *payload, uint32_t len,
		    uint32_t crc_xor, const char *name)
{
	struct expect *e = &ref_exp[ref_n++];
	e->h = put_frame(&ref, type, SRC, seq, 1000000000ull + seq, payload, len, crc_xor);
	e->crc_ok = crc_xor == 0;
	e->name = name;
}

static int ref_setup(void **state)
{
	(void)state;
	static const uint32_t sizes[] = { 0, 1, 31, 32, 33, 1000, 70000 };
	uint64_t seq = 0;

	ref_payload = malloc(70000);
	if (!ref_payload)
		return -1;
	for (size_t i = 0; i < 70000; i++)
		ref_payload[i] = (uint8_t)(i * 131 + (i >> 8));

	add_ref(PROTO_HELLO, 0, NAME, (uint32_t)strlen(NAME), 0, NAME);
	for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++)
		add_ref(PROTO_DATA, seq++, ref_payload, sizes[i], 0, NULL);
	add_ref(PROTO_DATA, seq++, ref_payload + 5, 100, 0x00010000u, NULL); /* bad CRC */
	add_ref(PROTO_BYE, seq, NULL, 0, 0, NULL);
	return 0;
}

static int ref_teardown(void **state)
{
	(void)state;
	stream_free(&ref);
	free(ref_payload);
	ref_n = 0;
	return 0;
}

/* ---- feeding the reference stream in pieces ---------------------------- */

static void test_all_at_once(void **state)
{
	(void)state;
	struct run r;

	run_init(&r, PROTO_DEFAULT_MAX_FRAME);
	feed(&r, ref.data, ref.len);
	check_run(&r, ref_exp, ref_n);
}

static void test_one_byte_pieces(void **state)
{
	(void)state;
	struct run r;

	run_init(&r, PROTO_DEFAULT_MAX_FRAME);
	for (size_t i = 0; i < ref.len; i++)
		feed(&r, ref.data + i, 1);
	check_run(&r, ref_exp, ref_n);
}

static void test_split_at_every_offset(void **state)
{
	(void)state;
	struct run r;

	for (size_t k = 0; k <= ref.len; k++) {
		run_init(&r, PROTO_DEFAULT_MAX_FRAME);
		feed(&r, ref.data, k);
		feed(&r, ref.data + k, ref.len - k);
		check_run(&r, ref_exp, ref_n);
	}
}

static void test_random_pieces(void **state)
{
	(void)state;
	struct run r;

	for (uint64_t seed = 1; seed <= 300; seed++) {
		uint64_t st = seed;
		/* Mix of tiny, header-sized and huge reads, varying per seed. */
		size_t scale = (size_t[]){ 3, 40, 700, 100000 }[seed % 4];
		run_init(&r, PROTO_DEFAULT_MAX_FRAME);
		for (size_t off = 0; off < ref.len;) {
			size_t n = 1 + (size_t)(rng_next(&st) % scale);
			if (n > ref.len - off)
				n = ref.len - off;
			feed(&r, ref.data + off, n);
			off += n;
		}
		check_run(&r, ref_exp, ref_n);
	}
}

/* ---- individual behaviours --------------------------------------------- */

static void test_hello_name_does_not_leak_into_next_hello(void **state)
{
	(void)state;
	struct stream s = { 0 };
	struct run r;
	char longname[PROTO_NAME_MAX + 1];

	memset(longname, 'n', PROTO_NAME_MAX);
	longname[PROTO_NAME_MAX] = '\0';
	put_frame(&s, PROTO_HELLO, 1, 0, 0, longname, PROTO_NAME_MAX, 0);
	put_frame(&s, PROTO_HELLO, 1, 0, 0, "x", 1, 0);
	put_frame(&s, PROTO_HELLO, 1, 0, 0, NULL, 0, 0);
	run_init(&r, PROTO_DEFAULT_MAX_FRAME);
	feed(&r, s.data, s.len);
	assert_int_equal(r.n, 3);
	assert_string_equal(r.got[0].name, longname);
	assert_string_equal(r.got[1].name, "x");
	assert_true(r.got[2].has_name);
	assert_string_equal(r.got[2].name, "");
	for (int i = 0; i < 3; i++)
		assert_true(r.got[i].crc_ok);
	stream_free(&s);
}

static void test_data_frames_carry_no_name(void **state)
{
	(void)state;
	struct stream s = { 0 };
	struct frame_parser p;
	struct frame f;
	char why[128];
	size_t used;

	put_frame(&s, PROTO_DATA, 1, 0, 0, "abc", 3, 0);
	frame_parser_init(&p, 1000);
	assert_int_equal(frame_parse(&p, s.data, s.len, &used, &f, why, sizeof(why)),
			 FRAME_DONE);
	assert_int_equal(used, s.len);
	assert_null(f.name);
	assert_true(f.crc_ok);
	stream_free(&s);
}

static void test_empty_payload_with_nonzero_crc_is_flagged(void **state)
{
	(void)state;
	struct stream s = { 0 };
	struct run r;

	put_frame(&s, PROTO_DATA, 1, 0, 0, NULL, 0, 0x1234u);
	put_frame(&s, PROTO_DATA, 1, 1, 0, NULL, 0, 0);
	run_init(&r, 1000);
	feed(&r, s.data, s.len);
	assert_int_equal(r.n, 2);
	assert_false(r.got[0].crc_ok);
	assert_true(r.got[1].crc_ok);
	stream_free(&s);
}

static void test_done_leaves_rest_of_buffer_unread(void **state)
{
	(void)state;
	struct stream s = { 0 };
	struct frame_parser p;
	struct frame f;
	char why[128];
	size_t used;

	put_frame(&s, PROTO_DATA, 1, 0, 0, "hello", 5, 0);
	put_frame(&s, PROTO_DATA, 1, 1, 0, "world!", 6, 0);
	frame_parser_init(&p, 1000);
	assert_int_equal(frame_parse(&p, s.data, s.len, &used, &f, why, sizeof(why)),
			 FRAME_DONE);
	assert_int_equal(used, PROTO_HEADER_SIZE + 5);
	assert_int_equal(f.h.seq, 0);
	assert_int_equal(frame_parse(&p, s.data + used, s.len - used, &used, &f,
				     why, sizeof(why)), FRAME_DONE);
	assert_int_equal(used, PROTO_HEADER_SIZE + 6);
	assert_int_equal(f.h.seq, 1);
	assert_int_equal(f.h.length, 6);
	stream_free(&s);
}

static void test_partial_and_want_at_boundaries(void **state)
{
	(void)state;
	struct stream s = { 0 };
	struct frame_parser p;
	struct frame f;
	char why[128];
	size_t used;
	uint8_t payload[100];

	memset(payload, 0xA5, sizeof(payload));
	put_frame(&s, PROTO_DATA, 1, 0, 0, payload, 100, 0);
	put_frame(&s, PROTO_BYE, 1, 1, 0, NULL, 0, 0);
	frame_parser_init(&p, 1000);

	/* Fresh parser: nothing pending, a whole header wanted. */
	assert_false(frame_partial(&p));
	assert_int_equal(frame_want(&p), PROTO_HEADER_SIZE);

	/* Part of the header. */
	assert_int_equal(frame_parse(&p, s.data, 1, &used, &f, why, sizeof(why)), FRAME_MORE);
	assert_true(frame_partial(&p));
	assert_int_equal(frame_want(&p), PROTO_HEADER_SIZE - 1);
	assert_int_equal(frame_parse(&p, s.data + 1, 30, &used, &f, why, sizeof(why)), FRAME_MORE);
	assert_int_equal(frame_want(&p), 1);

	/* Header complete, payload pending: want is the payload length. */
	assert_int_equal(frame_parse(&p, s.data + 31, 1, &used, &f, why, sizeof(why)), FRAME_MORE);
	assert_int_equal(used, 1);
	assert_true(frame_partial(&p));
	assert_int_equal(frame_want(&p), 100);

	/* Part of the payload. */
	assert_int_equal(frame_parse(&p, s.data + 32, 40, &used, &f, why, sizeof(why)), FRAME_MORE);
	assert_true(frame_partial(&p));
	assert_int_equal(frame_want(&p), 60);
	assert_int_equal(frame_parse(&p, s.data + 72, 59, &used, &f, why, sizeof(why)), FRAME_MORE);
	assert_int_equal(frame_want(&p), 1);

	/* Reading exactly what was wanted completes the frame, on a boundary. */
	assert_int_equal(frame_parse(&p, s.data + 131, 1, &used, &f, why, sizeof(why)), FRAME_DONE);
	assert_true(f.crc_ok);
	assert_false(frame_partial(&p));
	assert_int_equal(frame_want(&p), PROTO_HEADER_SIZE);

	/* An empty-payload frame completes with its header. */
	assert_int_equal(frame_parse(&p, s.data + 132, 31, &used, &f, why, sizeof(why)), FRAME_MORE);
	assert_int_equal(frame_want(&p), 1);
	assert_int_equal(frame_parse(&p, s.data + 163, 1, &used, &f, why, sizeof(why)), FRAME_DONE);
	assert_int_equal(f.h.type, PROTO_BYE);
	assert_false(frame_partial(&p));
	assert_int_equal(frame_want(&p), PROTO_HEADER_SIZE);
	assert_int_equal(s.len, 164);
	stream_free(&s);
}

static void test_reading_frame_want_stops_on_boundaries(void **state)
{
	(void)state;
	struct run r;

	/* What a blocking reader does: never ask for more than frame_want(),
	 * so every read ends inside or exactly at the end of a frame. */
	run_init(&r, PROTO_DEFAULT_MAX_FRAME);
	for (size_t off = 0; off < ref.len;) {
		size_t n = frame_want(&r.p);
		size_t before = r.n;
		assert_true(n >= 1);
		assert_true(n <= ref.len - off);
		feed(&r, ref.data + off, n);
		off += n;
		/* A frame completed exactly when the want was a frame's end. */
		assert_true(r.n == before || !frame_partial(&r.p));
	}
	check_run(&r, ref_exp, ref_n);
}

/* ---- protocol errors -------------------------------------------------- */

/* Feed a stream whole, then byte by byte; both must end in FRAME_BAD, with
 * a reason containing want: whole, after taking bad_whole bytes (the bad
 * header is taken whole when it is there), byte by byte once bad_at bytes
 * have been given. */
static void expect_bad2(const struct stream *s, uint32_t max_payload, size_t bad_whole,
			size_t bad_at, size_t frames_before, const char *want)
{
	struct frame_parser p;
	struct frame f;
	char why[160];
	size_t used, off = 0, nframes = 0;
	enum frame_result res;

	/* Whole buffer. */
	frame_parser_init(&p, max_payload);
	for (;;) {
		memset(why, 0, sizeof(why));
		res = frame_parse(&p, s->data + off, s->len - off, &used, &f, why, sizeof(why));
		off += used;
		if (res != FRAME_DONE)
			break;
		nframes++;
	}
	assert_int_equal(res, FRAME_BAD);
	assert_int_equal(nframes, frames_before);
	assert_int_equal(off, bad_whole);
	if (!strstr(why, want))
		fail_msg("reason \"%s\" does not mention \"%s\"", why, want);

	/* Byte by byte, each byte in its own allocation. */
	frame_parser_init(&p, max_payload);
	nframes = 0;
	for (off = 0; off < s->len; off++) {
		uint8_t *b = malloc(1);
		assert_non_null(b);
		*b = s->data[off];
		memset(why, 0, sizeof(why));
		res = frame_parse(&p, b, 1, &used, &f, why, sizeof(why));
		free(b);
		assert_int_equal(used, 1);
		if (res == FRAME_DONE)
			nframes++;
		else if (res == FRAME_BAD)
			break;
	}
	assert_int_equal(res, FRAME_BAD);
	assert_int_equal(off + 1, bad_at);
	assert_int_equal(nframes, frames_before);
	if (!strstr(why, want))
		fail_msg("reason \"%s\" does not mention \"%s\"", why, want);
}

static void expect_bad(const struct stream *s, uint32_t max_payload, size_t bad_at,
		       size_t frames_before, const char *want)
{
	expect_bad2(s, max_payload, bad_at, bad_at, frames_before, want);
}

/* How many bytes of a bad header the assembler needs to refuse it: the
 * magic, version and type are judged as soon as their byte is in (frame.h),
 * the rest once the whole header is. */
static size_t bad_needs(const struct proto_header *h)
{
	if (h->magic != PROTO_MAGIC)
		return 2;
	if (h->version != PROTO_VERSION)
		return 3;
	if (h->type < PROTO_HELLO || h->type > PROTO_BYE)
		return 4;
	return PROTO_HEADER_SIZE;
}

/* A good DATA frame, then the given bad header, then more good data. */
static void bad_after_good(struct proto_header bad, uint32_t max_payload, const char *want)
{
	struct stream s = { 0 };
	uint8_t junk[64];
	size_t need = bad_needs(&bad);

	memset(junk, 0x42, sizeof(junk));
	put_frame(&s, PROTO_DATA, 1, 0, 0, junk, 10, 0);
	put_header(&s, &bad);
	stream_put(&s, junk, sizeof(junk));
	expect_bad2(&s, max_payload, 2 * PROTO_HEADER_SIZE + 10, PROTO_HEADER_SIZE + 10 + need,
		    1, want);
	stream_free(&s);

	/* And as the very first header. */
	put_header(&s, &bad);
	stream_put(&s, junk, sizeof(junk));
	expect_bad2(&s, max_payload, PROTO_HEADER_SIZE, need, 0, want);
	stream_free(&s);
}

/* Issue 11, item 11: a peer speaking HTTP sends 27 bytes and waits for an
 * answer. Refused at its second byte, not left waiting for 32. */
static void test_short_foreign_request_refused_at_once(void **state)
{
	(void)state;
	static const char req[] = "GET / HTTP/1.1\r\nHost: x\r\n\r\n";
	struct stream s = { 0 };

	assert_int_equal(sizeof(req) - 1, 27);
	stream_put(&s, req, sizeof(req) - 1);
	expect_bad2(&s, PROTO_DEFAULT_MAX_FRAME, 27, 2, 0, "bad magic 0x4745");
	stream_free(&s);

	/* The right magic, then a version 9: refused at the third byte. */
	static const uint8_t v9[] = { 0xDA, 0x7A, 9, 2, 0, 0 };
	stream_put(&s, v9, sizeof(v9));
	expect_bad2(&s, PROTO_DEFAULT_MAX_FRAME, sizeof(v9), 3, 0, "version 9");
	stream_free(&s);
}

static void test_bad_magic(void **state)
{
	(void)state;
	struct proto_header h = proto_make(PROTO_DATA, 1, 1, 0, 0, 0);
	h.magic = 0x7ADA;
	bad_after_good(h, PROTO_DEFAULT_MAX_FRAME, "7ada");
	h.magic = 0x4745;       /* "GE": somebody speaking HTTP at us */
	bad_after_good(h, PROTO_DEFAULT_MAX_FRAME, "4745");
}

static void test_bad_version(void **state)
{
	(void)state;
	struct proto_header h = proto_make(PROTO_DATA, 1, 1, 0, 0, 0);
	h.version = 2;
	bad_after_good(h, PROTO_DEFAULT_MAX_FRAME, "version 2");
	h.version = 0;
	bad_after_good(h, PROTO_DEFAULT_MAX_FRAME, "version 0");
}

static void test_bad_type(void **state)
{
	(void)state;
	bad_after_good(proto_make(0, 1, 1, 0, 0, 0), PROTO_DEFAULT_MAX_FRAME, "type 0");
	bad_after_good(proto_make(5, 1, 1, 0, 0, 0), PROTO_DEFAULT_MAX_FRAME, "type 5");
	bad_after_good(proto_make(255, 1, 1, 0, 0, 0), PROTO_DEFAULT_MAX_FRAME, "type 255");
}

static void test_oversize_length(void **state)
{
	(void)state;
	bad_after_good(proto_make(PROTO_DATA, 1, 1, 0, 0xFFFFFFFFu, 0),
		       PROTO_DEFAULT_MAX_FRAME, "4294967295");
	bad_after_good(proto_make(PROTO_DATA, 1, 1, 0, PROTO_DEFAULT_MAX_FRAME + 1, 0),
		       PROTO_DEFAULT_MAX_FRAME, "1048577");
}

static void test_bad_lengths_for_type(void **state)
{
	(void)state;
	bad_after_good(proto_make(PROTO_HELLO, 1, 0, 0, PROTO_NAME_MAX + 1, 0),
		       PROTO_DEFAULT_MAX_FRAME, "256");
	bad_after_good(proto_make(PROTO_BYE, 1, 1, 0, 8, 0),
		       PROTO_DEFAULT_MAX_FRAME, "BYE");
	bad_after_good(proto_make(PROTO_REQUEST, 1, 1, 0, 8, 0),
		       PROTO_DEFAULT_MAX_FRAME, "REQUEST");
}

/*
 * A whole frame in one buffer takes the assembler's fast path, which
 * checks a DATA header itself; a split one goes through proto_check. Both
 * must refuse exactly the same headers: every combination of edge values
 * of magic, version, type and length, whole and split after the header.
 */
static void test_whole_and_split_agree_with_proto_check(void **state)
{
	(void)state;
	enum { MAX = 300 };
	static const uint16_t magics[] = { PROTO_MAGIC, PROTO_MAGIC ^ 1, 0 };
	static const uint8_t versions[] = { PROTO_VERSION, 0, PROTO_VERSION + 1 };
	static const uint8_t types[] = { 0, PROTO_HELLO, PROTO_DATA, PROTO_REQUEST, PROTO_BYE, 5 };
	static const uint32_t lengths[] = { 0, 1, PROTO_NAME_MAX, PROTO_NAME_MAX + 1, MAX, MAX + 1 };
	uint8_t buf[PROTO_HEADER_SIZE + MAX + 8];
	char why[128];

	memset(buf, 'x', sizeof(buf));
	for (size_t m = 0; m < sizeof(magics) / sizeof(magics[0]); m++)
	for (size_t v = 0; v < sizeof(versions); v++)
	for (size_t t = 0; t < sizeof(types); t++)
	for (size_t l = 0; l < sizeof(lengths) / sizeof(lengths[0]); l++) {
		struct proto_header h = proto_make(types[t], 9, 3, 0, lengths[l], 0);
		h.magic = magics[m];
		h.version = versions[v];
		h.crc = h.length <= MAX ? crc32c(0, buf + PROTO_HEADER_SIZE, h.length) : 0;
		proto_encode(&h, buf);
		int refused = proto_check(&h, MAX, why, sizeof(why)) != NULL;
		size_t whole = PROTO_HEADER_SIZE + (h.length <= MAX ? h.length : 0);

		for (int split = 0; split < 2; split++) {
			struct frame_parser p;
			struct frame f;
			size_t used = 0, n = split ? PROTO_HEADER_SIZE : whole;
			frame_parser_init(&p, MAX);
			enum frame_result r = frame_parse(&p, buf, n, &used, &f, why, sizeof(why));
			if (r == FRAME_MORE && !refused) {
				size_t more;
				r = frame_parse(&p, buf + used, whole - used, &more, &f, why, sizeof(why));
				used += more;
			}
			if (refused != (r == FRAME_BAD))
				fail_msg("magic 0x%04x version %u type %u length %u, %s: "
					 "proto_check %s, frame_parse %d", h.magic, h.version,
					 h.type, h.length, split ? "split" : "whole",
					 refused ? "refuses" : "accepts", (int)r);
			if (refused)
				continue;
			assert_int_equal(r, FRAME_DONE);
			assert_int_equal(used, whole);
			assert_int_equal(f.h.type, h.type);
			assert_int_equal(f.h.length, h.length);
			assert_true(f.crc_ok);
		}
	}
}

static void test_payload_limit_exact_max_accepted(void **state)
{
	(void)state;
	const uint32_t max = 1000;
	uint8_t payload[1001];
	struct stream s = { 0 };
	struct run r;

	for (size_t i = 0; i < sizeof(payload); i++)
		payload[i] = (uint8_t)(i ^ 0x5A);

	/* Exactly max: accepted, whole or byte by byte. */
	put_frame(&s, PROTO_DATA, 1, 0, 0, payload, max, 0);
	run_init(&r, max);
	feed(&r, s.data, s.len);
	assert_int_equal(r.n, 1);
	assert_int_equal(r.got[0].h.length, max);
	assert_true(r.got[0].crc_ok);
	run_init(&r, max);
	for (size_t i = 0; i < s.len; i++)
		feed(&r, s.data + i, 1);
	assert_int_equal(r.n, 1);
	stream_free(&s);

	/* One more: rejected as soon as the header is in. */
	put_frame(&s, PROTO_DATA, 1, 0, 0, payload, max + 1, 0);
	expect_bad(&s, max, PROTO_HEADER_SIZE, 0, "1001");
	stream_free(&s);
}

static void test_default_max_frame_accepted(void **state)
{
	(void)state;
	uint8_t *payload = malloc(PROTO_DEFAULT_MAX_FRAME);
	struct stream s = { 0 };
	struct run r;

	assert_non_null(payload);
	for (size_t i = 0; i < PROTO_DEFAULT_MAX_FRAME; i++)
		payload[i] = (uint8_t)(i * 7);
	put_frame(&s, PROTO_DATA, 3, 9, 0, payload, PROTO_DEFAULT_MAX_FRAME, 0);
	run_init(&r, PROTO_DEFAULT_MAX_FRAME);
	for (size_t off = 0; off < s.len; off += 4096)
		feed(&r, s.data + off, s.len - off < 4096 ? s.len - off : 4096);
	assert_int_equal(r.n, 1);
	assert_int_equal(r.got[0].h.length, PROTO_DEFAULT_MAX_FRAME);
	assert_true(r.got[0].crc_ok);
	stream_free(&s);
	free(payload);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_all_at_once),
		cmocka_unit_test(test_one_byte_pieces),
		cmocka_unit_test(test_split_at_every_offset),
		cmocka_unit_test(test_random_pieces),
		cmocka_unit_test(test_reading_frame_want_stops_on_boundaries),
		cmocka_unit_test(test_hello_name_does_not_leak_into_next_hello),
		cmocka_unit_test(test_data_frames_carry_no_name),
		cmocka_unit_test(test_empty_payload_with_nonzero_crc_is_flagged),
		cmocka_unit_test(test_done_leaves_rest_of_buffer_unread),
		cmocka_unit_test(test_partial_and_want_at_boundaries),
		cmocka_unit_test(test_bad_magic),
		cmocka_unit_test(test_short_foreign_request_refused_at_once),
		cmocka_unit_test(test_bad_version),
		cmocka_unit_test(test_bad_type),
		cmocka_unit_test(test_oversize_length),
		cmocka_unit_test(test_bad_lengths_for_type),
		cmocka_unit_test(test_whole_and_split_agree_with_proto_check),
		cmocka_unit_test(test_payload_limit_exact_max_accepted),
		cmocka_unit_test(test_default_max_frame_accepted),
	};
	return cmocka_run_group_tests_name("frame", tests, ref_setup, ref_teardown);
}
