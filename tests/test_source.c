/*
 * test_source.c - per-source sequence accounting.
 *
 * Drives a struct source through source_data/source_bye/source_eof/
 * source_fail with hand-picked sequence numbers and checks what it
 * concludes: frames, bytes, lost, duplicates, late, CRC errors, the final
 * status and its reason, the longest silence between deliveries and the
 * latency histogram.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "hist.h"
#include "proto.h"
#include "source.h"

/* ---- helpers ---------------------------------------------------------- */

static int src_setup(void **state)
{
	struct source *s = malloc(sizeof(*s));
	if (!s)
		return -1;
	source_init(s);
	*state = s;
	return 0;
}

static int src_teardown(void **state)
{
	struct source *s = *state;
	source_free(s);
	free(s);
	return 0;
}

/* Deliver DATA seq with a 100-byte payload, a good CRC, 1 ms apart and a
 * 5 us latency; the details do not matter to the sequence tests. */
static void data(struct source *s, uint64_t seq)
{
	struct proto_header h = proto_make(PROTO_DATA, 7, seq, 1, 100, 0);
	source_data(s, &h, 1, 1000000 * (s->frames + 1), 5000);
}

static void data_range(struct source *s, uint64_t from, uint64_t to_excl)
{
	for (uint64_t q = from; q < to_excl; q++)
		data(s, q);
}

static void assert_counts(const struct source *s, uint64_t frames, uint64_t lost,
			  uint64_t dups, uint64_t late)
{
	assert_int_equal(s->frames, frames);
	assert_int_equal(s->lost, lost);
	assert_int_equal(s->duplicates, dups);
	assert_int_equal(s->late, late);
}

/* ---- sequence accounting ------------------------------------------------ */

static void test_fresh_source_is_active(void **state)
{
	struct source *s = *state;

	assert_int_equal(s->status, SRC_ACTIVE);
	assert_false(source_ended(s));
	assert_counts(s, 0, 0, 0, 0);
	assert_int_equal(s->lat.n, 0);
}

static void test_in_order_then_bye_is_complete(void **state)
{
	struct source *s = *state;

	data_range(s, 0, 1000);
	assert_int_equal(s->status, SRC_ACTIVE);
	source_bye(s, 1000);
	assert_counts(s, 1000, 0, 0, 0);
	assert_int_equal(s->bytes, 1000 * 100);
	assert_int_equal(s->crc_errors, 0);
	assert_int_equal(s->status, SRC_COMPLETE);
	assert_true(source_ended(s));
	assert_true(source_ok(s));
	assert_string_equal(source_status_name(s->status), "complete");
}

static void test_empty_source_bye_zero_is_complete(void **state)
{
	struct source *s = *state;

	source_bye(s, 0);
	assert_counts(s, 0, 0, 0, 0);
	assert_int_equal(s->status, SRC_COMPLETE);
	assert_true(source_ok(s));
}

static void test_gap_counts_lost_and_bye_is_incomplete(void **state)
{
	struct source *s = *state;

	data_range(s, 0, 10);
	data_range(s, 15, 30);          /* 10..14 skipped */
	assert_int_equal(s->lost, 5);
	source_bye(s, 30);
	assert_counts(s, 25, 5, 0, 0);
	assert_int_equal(s->status, SRC_INCOMPLETE);
	assert_true(source_ended(s));
	assert_false(source_ok(s));
}

static void test_first_frame_not_zero_counts_lost(void **state)
{
	struct source *s = *state;

	data_range(s, 3, 6);
	assert_int_equal(s->lost, 3);
	source_bye(s, 6);
	assert_int_equal(s->status, SRC_INCOMPLETE);
}

static void test_duplicate_not_lost(void **state)
{
	struct source *s = *state;

	data_range(s, 0, 5);
	data(s, 3);
	data_range(s, 5, 10);
	source_bye(s, 10);
	assert_counts(s, 11, 0, 1, 0);
	assert_int_equal(s->status, SRC_COMPLETE);
}

static void test_duplicate_of_newest(void **state)
{
	struct source *s = *state;

	data(s, 0);
	data(s, 0);
	data(s, 1);
	data(s, 1);
	source_bye(s, 2);
	assert_counts(s, 4, 0, 2, 0);
	assert_int_equal(s->status, SRC_COMPLETE);
}

static void test_reordered_counts_late(void **state)
{
	struct source *s = *state;

	data(s, 0);
	data(s, 2);
	assert_int_equal(s->lost, 1);   /* provisionally, until 1 turns up */
	data(s, 1);
	assert_counts(s, 3, 0, 0, 1);
	source_bye(s, 3);
	assert_counts(s, 3, 0, 0, 1);
	assert_int_equal(s->status, SRC_COMPLETE);
}

static void test_late_then_duplicate_of_late(void **state)
{
	struct source *s = *state;

	data(s, 0);
	data(s, 3);
	data(s, 1);     /* late */
	data(s, 1);     /* now a duplicate */
	source_bye(s, 4);
	assert_counts(s, 4, 1, 1, 1);   /* 2 never came */
	assert_int_equal(s->status, SRC_INCOMPLETE);
}

static void test_whole_gap_filled_is_complete(void **state)
{
	struct source *s = *state;

	data(s, 0);
	data(s, 100);
	for (uint64_t q = 99; q >= 1; q--)
		data(s, q);
	source_bye(s, 101);
	assert_counts(s, 101, 0, 0, 99);
	assert_int_equal(s->status, SRC_COMPLETE);
}

static void test_duplicate_older_than_window(void **state)
{
	struct source *s = *state;

	data_range(s, 0, 3 * SOURCE_SEQ_WINDOW);
	data(s, 0);
	data(s, SOURCE_SEQ_WINDOW);
	data(s, 2 * SOURCE_SEQ_WINDOW - 1);
	source_bye(s, 3 * SOURCE_SEQ_WINDOW);
	assert_counts(s, 3 * SOURCE_SEQ_WINDOW + 3, 0, 3, 0);
	assert_int_equal(s->status, SRC_COMPLETE);
}

static void test_duplicate_inside_window_after_wrap(void **state)
{
	struct source *s = *state;

	/* The window has been reused several times; recent history must
	 * still be told apart from stale bits. */
	data_range(s, 0, 5 * SOURCE_SEQ_WINDOW + 17);
	data(s, 5 * SOURCE_SEQ_WINDOW + 10);                 /* duplicate */
	data(s, 4 * SOURCE_SEQ_WINDOW + 17);                 /* oldest in window: duplicate */
	data_range(s, 5 * SOURCE_SEQ_WINDOW + 20, 5 * SOURCE_SEQ_WINDOW + 30);
	data(s, 5 * SOURCE_SEQ_WINDOW + 18);                 /* late */
	assert_counts(s, 5 * SOURCE_SEQ_WINDOW + 17 + 2 + 10 + 1, 2, 2, 1);
}

static void test_late_at_window_edge(void **state)
{
	struct source *s = *state;

	/* 0 missing, then 1..WINDOW-1: 0 is the oldest seq still in the
	 * window, so its arrival fills the gap. */
	data_range(s, 1, SOURCE_SEQ_WINDOW);
	assert_int_equal(s->lost, 1);
	data(s, 0);
	assert_counts(s, SOURCE_SEQ_WINDOW, 0, 0, 1);
}

static void test_late_beyond_window_counts_as_duplicate(void **state)
{
	struct source *s = *state;

	/* One step further and 0 has left the window: documented as
	 * counted among duplicates, and its loss stands. */
	data_range(s, 1, SOURCE_SEQ_WINDOW + 1);
	data(s, 0);
	assert_counts(s, SOURCE_SEQ_WINDOW + 1, 1, 1, 0);
}

static void test_big_jump_then_late_and_stale(void **state)
{
	struct source *s = *state;

	data(s, 0);
	data(s, 5000);                   /* 1..4999 missing: gap >= window */
	assert_int_equal(s->lost, 4999);
	data(s, 4500);                   /* within the window: late */
	data(s, 4500);                   /* and then a duplicate */
	data(s, 5001 - SOURCE_SEQ_WINDOW); /* oldest in window: late */
	data(s, 5000 - SOURCE_SEQ_WINDOW); /* one older: counted as duplicate */
	data(s, 2000);                   /* too old to tell: duplicate */
	assert_counts(s, 7, 4997, 3, 2);
	source_bye(s, 5001);
	assert_int_equal(s->lost, 4997);
	assert_int_equal(s->status, SRC_INCOMPLETE);
}

static void test_gap_just_below_window_then_fill(void **state)
{
	struct source *s = *state;

	/* A gap of WINDOW-1 keeps the window's history: the seqs of the
	 * gap are all still in it and can all arrive late. */
	data(s, 0);
	data(s, SOURCE_SEQ_WINDOW);
	assert_int_equal(s->lost, SOURCE_SEQ_WINDOW - 1);
	data_range(s, 1, SOURCE_SEQ_WINDOW);
	data(s, 0);                      /* duplicate, just left the window */
	assert_counts(s, SOURCE_SEQ_WINDOW + 2, 0, 1, SOURCE_SEQ_WINDOW - 1);
}

static void test_gap_after_full_window_then_fill(void **state)
{
	struct source *s = *state;

	/* Every bit of the window is set by the in-order run; the gap's
	 * numbers reuse those bits and must not look already seen. */
	data_range(s, 0, 2 * SOURCE_SEQ_WINDOW);
	data(s, 2 * SOURCE_SEQ_WINDOW + 5);
	assert_int_equal(s->lost, 5);
	data_range(s, 2 * SOURCE_SEQ_WINDOW, 2 * SOURCE_SEQ_WINDOW + 5);
	assert_counts(s, 2 * SOURCE_SEQ_WINDOW + 6, 0, 0, 5);
	source_bye(s, 2 * SOURCE_SEQ_WINDOW + 6);
	assert_int_equal(s->status, SRC_COMPLETE);
}

static void test_big_gap_after_full_window_then_fill(void **state)
{
	struct source *s = *state;

	/* The same with a gap wider than the window. */
	data_range(s, 0, SOURCE_SEQ_WINDOW);
	data(s, 3 * SOURCE_SEQ_WINDOW);
	data_range(s, 2 * SOURCE_SEQ_WINDOW + 1, 3 * SOURCE_SEQ_WINDOW);
	assert_counts(s, 2 * SOURCE_SEQ_WINDOW, SOURCE_SEQ_WINDOW + 1, 0,
		      SOURCE_SEQ_WINDOW - 1);
}

/* ---- BYE ---------------------------------------------------------------- */

static void test_bye_count_larger_than_received(void **state)
{
	struct source *s = *state;

	data_range(s, 0, 10);
	source_bye(s, 15);
	assert_int_equal(s->lost, 5);
	assert_int_equal(s->bye_count, 15);
	assert_true(s->got_bye);
	assert_int_equal(s->status, SRC_INCOMPLETE);
	assert_false(source_ok(s));
}

static void test_bye_after_gap_adds_tail_loss(void **state)
{
	struct source *s = *state;

	data_range(s, 0, 4);
	data_range(s, 6, 8);            /* 4, 5 lost */
	source_bye(s, 10);              /* 8, 9 lost at the tail */
	assert_int_equal(s->lost, 4);
	assert_int_equal(s->status, SRC_INCOMPLETE);
}

static void test_bye_count_smaller_than_seen_is_error(void **state)
{
	struct source *s = *state;

	data_range(s, 0, 10);
	source_bye(s, 5);
	assert_int_equal(s->status, SRC_ERROR);
	assert_true(source_ended(s));
	assert_false(source_ok(s));
	assert_true(s->error[0] != '\0');
	/* The reason names the claimed count and the sequence that disproves it. */
	if (!strstr(s->error, "5") || !strstr(s->error, "9"))
		fail_msg("reason \"%s\" should mention 5 and 9", s->error);
}

static void test_bye_zero_after_data_is_error(void **state)
{
	struct source *s = *state;

	data(s, 0);
	source_bye(s, 0);
	assert_int_equal(s->status, SRC_ERROR);
	assert_true(s->error[0] != '\0');
}

/* ---- CRC, end of stream, failure ------------------------------------------ */

static void test_crc_errors_counted(void **state)
{
	struct source *s = *state;
	struct proto_header h;

	data(s, 0);
	h = proto_make(PROTO_DATA, 7, 1, 1, 64, 0xBAD);
	source_data(s, &h, 0, 5000000, 5000);
	data(s, 2);
	h = proto_make(PROTO_DATA, 7, 3, 1, 64, 0xBAD);
	source_data(s, &h, 0, 9000000, 5000);
	assert_int_equal(s->crc_errors, 2);
	assert_int_equal(s->frames, 4);
	assert_int_equal(s->bytes, 100 + 64 + 100 + 64);
}

static void test_eof_mid_frame_is_truncated(void **state)
{
	struct source *s = *state;

	data_range(s, 0, 3);
	source_eof(s, 1);
	assert_int_equal(s->status, SRC_TRUNCATED);
	assert_true(source_ended(s));
	assert_false(source_ok(s));
	assert_true(s->error[0] != '\0');
	assert_string_equal(source_status_name(s->status), "truncated");
}

static void test_eof_at_boundary_is_closed(void **state)
{
	struct source *s = *state;

	data_range(s, 0, 3);
	source_eof(s, 0);
	assert_int_equal(s->status, SRC_CLOSED);
	assert_true(source_ended(s));
	assert_false(source_ok(s));
	assert_int_equal(s->lost, 0);
	assert_string_equal(source_status_name(s->status), "closed");
}

static void test_fail_sets_error_and_reason(void **state)
{
	struct source *s = *state;

	data(s, 0);
	source_fail(s, "read: %s (errno %d)", "Connection reset by peer", 104);
	assert_int_equal(s->status, SRC_ERROR);
	assert_string_equal(s->error, "read: Connection reset by peer (errno 104)");
	assert_true(source_ended(s));
	assert_false(source_ok(s));
	assert_string_equal(source_status_name(s->status), "error");
}

static void test_fail_reason_truncated_safely(void **state)
{
	struct source *s = *state;
	char longmsg[1000];

	memset(longmsg, 'x', sizeof(longmsg) - 1);
	longmsg[sizeof(longmsg) - 1] = '\0';
	source_fail(s, "%s", longmsg);
	assert_int_equal(s->status, SRC_ERROR);
	assert_int_equal(strlen(s->error), sizeof(s->error) - 1);
}

static void test_status_names_distinct(void **state)
{
	(void)state;
	static const enum source_status all[] = {
		SRC_ACTIVE, SRC_COMPLETE, SRC_INCOMPLETE, SRC_CLOSED,
		SRC_TRUNCATED, SRC_ERROR,
	};
	for (size_t i = 0; i < sizeof(all) / sizeof(all[0]); i++) {
		assert_non_null(source_status_name(all[i]));
		for (size_t j = 0; j < i; j++)
			assert_string_not_equal(source_status_name(all[i]),
						source_status_name(all[j]));
	}
}

/* ---- timing and latency ------------------------------------------------- */

static void test_max_gap_and_delivery_times(void **state)
{
	struct source *s = *state;
	static const uint64_t at[] = { 1000, 1500, 4000, 4100, 6000 };

	for (size_t i = 0; i < sizeof(at) / sizeof(at[0]); i++) {
		struct proto_header h = proto_make(PROTO_DATA, 7, i, 0, 10, 0);
		source_data(s, &h, 1, at[i], UINT64_MAX);
	}
	assert_int_equal(s->first_ns, 1000);
	assert_int_equal(s->last_ns, 6000);
	assert_int_equal(s->max_gap_ns, 2500);
}

static void test_single_delivery_has_no_gap(void **state)
{
	struct source *s = *state;

	data(s, 0);
	assert_int_equal(s->max_gap_ns, 0);
	assert_int_equal(s->first_ns, s->last_ns);
}

static void test_latency_histogram_and_unstamped(void **state)
{
	struct source *s = *state;
	static const uint64_t lat[] = { 100, 200, UINT64_MAX, 50, UINT64_MAX, 120 };

	for (size_t i = 0; i < sizeof(lat) / sizeof(lat[0]); i++) {
		struct proto_header h = proto_make(PROTO_DATA, 7, i, lat[i] == UINT64_MAX ? 0 : 1,
						   10, 0);
		source_data(s, &h, 1, 1000 * (i + 1), lat[i]);
	}
	assert_int_equal(s->frames, 6);
	assert_int_equal(s->unstamped, 2);
	assert_int_equal(s->lat.n, 4);
	assert_int_equal(hist_percentile(&s->lat, 0), 50);
	assert_int_equal(hist_percentile(&s->lat, 100), 200);
	assert_int_equal(hist_percentile(&s->lat, 50), 100);
}

static void test_all_unstamped_leaves_histogram_empty(void **state)
{
	struct source *s = *state;

	for (uint64_t q = 0; q < 10; q++) {
		struct proto_header h = proto_make(PROTO_DATA, 7, q, 0, 10, 0);
		source_data(s, &h, 1, 1000 * (q + 1), UINT64_MAX);
	}
	assert_int_equal(s->unstamped, 10);
	assert_int_equal(s->lat.n, 0);
	assert_int_equal(hist_percentile(&s->lat, 50), 0);
	assert_int_equal(hist_percentile(&s->lat, 100), 0);
}

static void test_zero_latency_is_recorded(void **state)
{
	struct source *s = *state;
	struct proto_header h = proto_make(PROTO_DATA, 7, 0, 1, 10, 0);

	source_data(s, &h, 1, 1000, 0);
	assert_int_equal(s->lat.n, 1);
	assert_int_equal(s->unstamped, 0);
	assert_int_equal(hist_percentile(&s->lat, 100), 0);
}

static void test_implausible_sequence_is_error_not_wrap(void **state)
{
	struct source *s = *state;
	struct proto_header h = proto_make(PROTO_DATA, 7, UINT64_MAX, 1, 100, 0);

	data_range(s, 0, 3);
	assert_int_equal(source_data(s, &h, 1, 99000000, 5000), -1);
	assert_int_equal(s->status, SRC_ERROR);
	assert_non_null(strstr(s->error, "jumps"));
	assert_int_equal(s->next_seq, 3);       /* untouched, not wrapped */
	assert_counts(s, 3, 0, 0, 0);
}

static void test_largest_plausible_jump_is_a_gap(void **state)
{
	struct source *s = *state;
	struct proto_header h = proto_make(PROTO_DATA, 7, SOURCE_MAX_JUMP, 1, 100, 0);

	assert_int_equal(source_data(s, &h, 1, 1000, 5000), 0);
	assert_int_equal(s->status, SRC_ACTIVE);
	assert_counts(s, 1, SOURCE_MAX_JUMP, 0, 0);
}

/* Issue 11, item 4: from just below 2^64, sequence 2^64-1 is no jump, but
 * next_seq would wrap to 0 and every later frame look new. */
static void test_last_sequence_number_would_wrap(void **state)
{
	struct source *s = *state;
	struct proto_header h = proto_make(PROTO_DATA, 7, UINT64_MAX, 1, 100, 0);

	s->next_seq = UINT64_MAX - 5;
	assert_int_equal(source_data(s, &h, 1, 1000, 5000), -1);
	assert_int_equal(s->status, SRC_ERROR);
	assert_int_equal(s->next_seq, UINT64_MAX - 5);
}

/* A BYE is bounded like a DATA jump: 2^64-1 frames after one is garbage,
 * not 2^64-2 lost; the largest plausible count is still a loss. */
static void test_bye_count_bounded(void **state)
{
	struct source *s = *state, t;

	data(s, 0);
	source_bye(s, UINT64_MAX);
	assert_int_equal(s->status, SRC_ERROR);
	assert_non_null(strstr(s->error, "implausibly many"));
	assert_int_equal(s->lost, 0);

	source_init(&t);
	data(&t, 0);
	source_bye(&t, 1 + SOURCE_MAX_JUMP);
	assert_int_equal(t.status, SRC_INCOMPLETE);
	assert_int_equal(t.lost, SOURCE_MAX_JUMP);
	source_free(&t);
}

/* Issue 11, items 2 and 3: a resume goes on with the same accounting: the
 * gap left by the first connection is filled once by a late frame; an
 * error on the way is remembered; no resume after a BYE. */
static void test_resume_carries_the_accounting(void **state)
{
	struct source *s = *state;

	data(s, 0);
	data(s, 2);
	source_eof(s, 0);
	assert_int_equal(source_resume(s, "peer-2"), 0);
	assert_int_equal(s->status, SRC_ACTIVE);
	assert_int_equal(s->connections, 1);    /* set by the registry */
	data(s, 1);
	data(s, 3);
	source_bye(s, 4);
	assert_counts(s, 4, 0, 0, 1);
	assert_true(source_ok(s));
	assert_string_equal(s->peer, "peer-2");
	assert_int_equal(source_resume(s, "peer-3"), -1);   /* it said BYE */

	struct source e;
	source_init(&e);
	data(&e, 0);
	source_fail(&e, "protocol error: bad magic 0xeeee");
	assert_int_equal(source_resume(&e, "peer-2"), 0);
	data(&e, 1);
	source_bye(&e, 2);
	assert_int_equal(e.status, SRC_COMPLETE);
	assert_int_equal(e.broken, 1);
	assert_non_null(strstr(e.error, "bad magic"));
	assert_false(source_ok(&e));
	source_free(&e);

	struct source a;
	source_init(&a);
	assert_int_equal(source_resume(&a, "x"), -1);       /* still active */
	source_free(&a);
}

/* Issue 11, item 5: sums saturate; a total is never below a part. */
static void test_sum_saturates(void **state)
{
	struct source *s = *state, r;

	source_init(&r);
	r.lost = (1ull << 63) + 1;
	r.frames = UINT64_MAX - 1;
	r.crc_errors = 3;
	assert_int_equal(source_sum(s, &r), 0);
	assert_int_equal(source_sum(s, &r), 0);
	assert_int_equal(s->lost, UINT64_MAX);
	assert_int_equal(s->frames, UINT64_MAX);
	assert_int_equal(s->crc_errors, 6);
	source_free(&r);
}

/* A duplicate or a CRC error is not a clean source, even when complete. */
static void test_ok_means_clean(void **state)
{
	struct source *s = *state;

	data_range(s, 0, 3);
	data(s, 1);
	source_bye(s, 3);
	assert_int_equal(s->status, SRC_COMPLETE);
	assert_false(source_ok(s));
}

static void test_first_delivery_at_time_zero_counts(void **state)
{
	struct source *s = *state;
	const uint64_t at[] = { 0, 5000, 6000 };

	for (uint64_t i = 0; i < 3; i++) {
		struct proto_header h = proto_make(PROTO_DATA, 7, i, 1, 100, 0);
		source_data(s, &h, 1, at[i], 10);
	}
	assert_int_equal(s->first_ns, 0);
	assert_int_equal(s->max_gap_ns, 5000);
}

#define T(f) cmocka_unit_test_setup_teardown(f, src_setup, src_teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_fresh_source_is_active),
		T(test_in_order_then_bye_is_complete),
		T(test_empty_source_bye_zero_is_complete),
		T(test_gap_counts_lost_and_bye_is_incomplete),
		T(test_first_frame_not_zero_counts_lost),
		T(test_duplicate_not_lost),
		T(test_duplicate_of_newest),
		T(test_reordered_counts_late),
		T(test_late_then_duplicate_of_late),
		T(test_whole_gap_filled_is_complete),
		T(test_duplicate_older_than_window),
		T(test_duplicate_inside_window_after_wrap),
		T(test_late_at_window_edge),
		T(test_late_beyond_window_counts_as_duplicate),
		T(test_big_jump_then_late_and_stale),
		T(test_gap_just_below_window_then_fill),
		T(test_gap_after_full_window_then_fill),
		T(test_big_gap_after_full_window_then_fill),
		T(test_bye_count_larger_than_received),
		T(test_bye_after_gap_adds_tail_loss),
		T(test_bye_count_smaller_than_seen_is_error),
		T(test_bye_zero_after_data_is_error),
		T(test_crc_errors_counted),
		T(test_eof_mid_frame_is_truncated),
		T(test_eof_at_boundary_is_closed),
		T(test_fail_sets_error_and_reason),
		T(test_fail_reason_truncated_safely),
		T(test_status_names_distinct),
		T(test_max_gap_and_delivery_times),
		T(test_single_delivery_has_no_gap),
		T(test_latency_histogram_and_unstamped),
		T(test_all_unstamped_leaves_histogram_empty),
		T(test_zero_latency_is_recorded),
		T(test_implausible_sequence_is_error_not_wrap),
		T(test_largest_plausible_jump_is_a_gap),
		T(test_first_delivery_at_time_zero_counts),
		T(test_last_sequence_number_would_wrap),
		T(test_bye_count_bounded),
		T(test_resume_carries_the_accounting),
		T(test_sum_saturates),
		T(test_ok_means_clean),
	};
	return cmocka_run_group_tests_name("source", tests, NULL, NULL);
}
