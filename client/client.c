/*
 * client.c - `daqmux client`: set up the sources, run the loop, report.
 *
 * The report answers two questions: did every source send what it was
 * asked to (frames, status), and who was the limit? A client that stays
 * on schedule with few EAGAIN writes measured the server; one that was
 * blocked on full socket buffers for long measured the server's reading
 * speed; one that fell behind schedule without being blocked measured
 * itself, and its numbers say so.
 * Try it:
 *   bin/daqmux server --backend epoll --listen 127.0.0.1:5555 --sources 4 &
 *   bin/daqmux client --sources 4 --rate 1000 --count 2000 --json client.json
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/time.h>

#include "client.h"
#include "client_int.h"
#include "json.h"
#include "meta.h"
#include "util.h"

/* Beyond this many sources the table lists only those that were not ok;
 * --json always has all of them. */
#define CLIENT_TABLE_MAX 64

static const char *client_status_name(enum client_status st)
{
	switch (st) {
	case CLIENT_OK:      return "ok";
	case CLIENT_FAILED:  return "failed";
	case CLIENT_FAULT:   return "fault";
	case CLIENT_RUNNING: break;
	}
	return "failed";
}

static double client_src_rate(const struct client_src *s)
{
	/* A paced source's last frame takes up one period too: 10 frames
	 * at 100 Hz are 0.1 s of schedule, not the 0.09 s until the last. */
	double span = (double)(s->t_end - s->start_ns) +
		      (s->end_ns == UINT64_MAX ? s->period_ns : 0);
	if (s->t_end <= s->start_ns || s->frames == 0)
		return 0;
	return (double)s->frames * 1e9 / span;
}

struct client_totals {
	uint64_t frames, bytes, wire_bytes, eagain, blocked_ns, partial;
	uint64_t t_last;
	uint32_t ok, failed, fault;
	struct hist lag;
	double user_s, sys_s;
};

/* 0, or -1 (ENOMEM) with nothing to free. */
static int client_totals(const struct client_run *r, struct client_totals *t)
{
	memset(t, 0, sizeof(*t));
	if (hist_init(&t->lag) < 0)
		return -1;
	for (uint32_t i = 0; i < r->nsrc; i++) {
		const struct client_src *s = &r->src[i];
		t->frames += s->frames;
		t->bytes += s->bytes;
		t->wire_bytes += s->wire_bytes;
		t->eagain += s->eagain;
		t->blocked_ns += s->blocked_ns;
		t->partial += s->partial;
		if (s->t_end > t->t_last)
			t->t_last = s->t_end;
		t->ok += s->status == CLIENT_OK;
		t->fault += s->status == CLIENT_FAULT;
		t->failed += s->status != CLIENT_OK && s->status != CLIENT_FAULT;
		hist_merge(&t->lag, &s->lag);
	}
	return 0;
}

static double client_elapsed(const struct client_run *r, const struct client_totals *t)
{
	if (!r->t0 || t->t_last <= r->t0)
		return 0;
	return (double)(t->t_last - r->t0) / 1e9;
}

/* --loops K: a line per sending loop, so that an uneven share shows, and
 * whether one loop ran out of CPU (cpu close to the elapsed time). */
static void client_loops_table(FILE *f, const struct client_run *r)
{
	if (r->nloops < 2)
		return;
	for (uint32_t k = 0; k < r->nloops; k++) {
		const struct client_loopstat *l = &r->loops[k];
		fprintf(f, "loop %u: %u sources, %llu frames, %.1f MB, %llu waits, %llu EAGAIN, "
			"cpu %.3f s\n", k, l->sources, (unsigned long long)l->frames,
			(double)l->bytes / 1e6, (unsigned long long)l->waits,
			(unsigned long long)l->eagain, (double)l->cpu_ns / 1e9);
	}
}

static void client_table(FILE *f, const struct client_run *r, const struct client_totals *t)
{
	const struct client_opts *o = r->o;
	uint32_t shown = 0, hidden = 0;
	double el = client_elapsed(r, t);

	fprintf(f, "%10s %12s %14s %11s %10s %10s %9s %11s  %s\n", "source", "frames",
		"bytes", "rate/s", "p99 ms", "max ms", "EAGAIN", "blocked ms", "status");
	for (uint32_t i = 0; i < r->nsrc; i++) {
		const struct client_src *s = &r->src[i];
		if (r->nsrc > CLIENT_TABLE_MAX && (s->status == CLIENT_OK || shown >= CLIENT_TABLE_MAX)) {
			hidden++;
			continue;
		}
		shown++;
		fprintf(f, "%10u %12llu %14llu %11.1f %10.3f %10.3f %9llu %11.1f  %s\n", s->id,
			(unsigned long long)s->frames, (unsigned long long)s->bytes,
			client_src_rate(s), (double)hist_percentile(&s->lag, 99) / 1e6,
			(double)s->lag.max / 1e6, (unsigned long long)s->eagain,
			(double)s->blocked_ns / 1e6, client_status_name(s->status));
		if (s->error[0])
			fprintf(f, "%10s %s\n", "", s->error);
		else if (s->nfaults)
			fprintf(f, "%10s fault %s\n", "", s->fault_desc);
	}
	if (hidden)
		fprintf(f, "%10s (%u more sources, all ok: --json lists every one)\n", "", hidden);
	fprintf(f, "%10s %12llu %14llu %11.1f %10.3f %10.3f %9llu %11.1f  %u ok, %u fault, %u failed\n",
		"total", (unsigned long long)t->frames, (unsigned long long)t->bytes,
		el > 0 ? (double)t->frames / el : 0, (double)hist_percentile(&t->lag, 99) / 1e6,
		(double)t->lag.max / 1e6, (unsigned long long)t->eagain, (double)t->blocked_ns / 1e6,
		t->ok, t->fault, t->failed);
	fprintf(f, "\n%u source%s sent %llu frames (%.1f MB with headers) in %.3f s: %.0f frames/s, "
		"%.1f MB/s; client CPU %.2f s user, %.2f s system\n",
		r->nsrc, r->nsrc == 1 ? "" : "s", (unsigned long long)t->frames,
		(double)t->wire_bytes / 1e6, el, el > 0 ? (double)t->frames / el : 0,
		el > 0 ? (double)t->wire_bytes / 1e6 / el : 0, t->user_s, t->sys_s);
	client_loops_table(f, r);
	if (o->pull)
		fprintf(f, "pull mode: p99/max are from reading a REQUEST to writing its answer\n");
	else if (o->rate == 0 && !o->nslow)
		fprintf(f, "max rate: p99/max are from encoding a batch to its write\n");
	else
		fprintf(f, "p99/max: how far behind its scheduled time each frame was written\n");
	if (t->eagain == 0)
		fprintf(f, "no write found a full socket: the server kept up with the client\n");
	else
		fprintf(f, "%llu writes found a full socket, blocked %.1f ms in all (summed over "
			"sources): there the server was the limit, not the client\n",
			(unsigned long long)t->eagain, (double)t->blocked_ns / 1e6);
	if (o->idle)
		fprintf(f, "idle connections: %u of %u established, %u of them closed by the "
			"server%s\n", r->idle_connected, o->idle, r->idle_lost,
			r->idle_lost || r->idle_connected < o->idle
			? " (it may turn away descriptors it cannot watch, or stop accepting)" : "");
	if (r->signalled)
		fprintf(f, "stopped early by a signal: sources sent BYE where they could\n");
}

static void client_interval_one(struct client_run *r, uint64_t end);

void client_interval_end(struct client_run *r, uint64_t now, int last)
{
	/* Every whole interval that has passed (a late wake-up may have
	 * missed one: what it counted goes to the first), then, at the
	 * end, the part of one that was under way. */
	while (now >= r->iv->next_ns)
		client_interval_one(r, r->iv->next_ns);
	if (last)
		client_interval_one(r, now);
}

/* The interval from iv->start_ns to end: its line, its JSON entry. */
static void client_interval_one(struct client_run *r, uint64_t end)
{
	struct client_ivals *iv = r->iv;
	struct client_interval x = { 0 };
	uint64_t frames = 0, bytes = 0, eagain = 0;
	FILE *f = r->o->json && strcmp(r->o->json, "-") == 0 ? stderr : stdout;

	if (end <= iv->start_ns)
		return;
	for (uint32_t i = 0; i < r->nsrc; i++) {
		frames += r->src[i].frames;
		bytes += r->src[i].bytes;
		eagain += r->src[i].eagain;
	}
	x.t_s = (double)(end - iv->t0_ns) / 1e9;
	x.dur_s = (double)(end - iv->start_ns) / 1e9;
	x.frames = frames - iv->frames;
	x.bytes = bytes - iv->bytes;
	x.eagain = eagain - iv->eagain;
	x.waits = r->waits - iv->waits;
	x.p99_ns = hist_percentile(&iv->lag, 99);
	iv->frames = frames;
	iv->bytes = bytes;
	iv->eagain = eagain;
	iv->waits = r->waits;
	hist_reset(&iv->lag);
	iv->start_ns = end;
	iv->next_ns = end + iv->period_ns;

	if (iv->n == iv->cap) {
		size_t cap = iv->cap ? 2 * iv->cap : 64;
		struct client_interval *v = realloc(iv->v, cap * sizeof(*v));
		if (!v) {
			msg("-i: out of memory; the JSON lacks the intervals after %.1f s", x.t_s);
			return;
		}
		iv->v = v;
		iv->cap = cap;
	}
	iv->v[iv->n++] = x;
	if (iv->n == 1)
		fprintf(f, "%-15s %10s %9s %12s %9s %9s\n", "interval", "frames", "MB/s",
			"behind p99 ms", "waits", "EAGAIN");
	char span[32];
	snprintf(span, sizeof(span), "%.2f-%.2f s", x.t_s - x.dur_s, x.t_s);
	fprintf(f, "%-15s %10lu %9.3f %12.3f %9lu %9lu\n", span, (unsigned long)x.frames,
		x.dur_s > 0 ? (double)x.bytes / 1e6 / x.dur_s : 0, (double)x.p99_ns / 1e6,
		(unsigned long)x.waits, (unsigned long)x.eagain);
	fflush(f);
}

/* Set up -i before the loop: every source records into one histogram. */
static int client_intervals_init(struct client_run *r)
{
	if (r->o->interval <= 0)
		return 0;
	r->iv = calloc(1, sizeof(*r->iv));
	if (!r->iv || hist_init(&r->iv->lag) < 0) {
		msg("out of memory for -i");
		return -1;
	}
	r->iv->period_ns = (uint64_t)(r->o->interval * 1e9);
	r->iv->t0_ns = r->iv->start_ns = now_ns();
	r->iv->next_ns = r->iv->start_ns + r->iv->period_ns;
	for (uint32_t i = 0; i < r->nsrc; i++)
		r->src[i].ilag = &r->iv->lag;
	return 0;
}

static int client_json(const struct client_run *r, const struct client_totals *t, FILE *f)
{
	const struct client_opts *o = r->o;
	struct jw w;
	char name[PROTO_NAME_MAX + 64];

	jw_init(&w, f);
	jw_obj_begin(&w, NULL);
	meta_write(&w, "daqmux-client", 1, &r->start);
	if (r->failed || t->failed)
		jw_str(&w, "error", t->failed ? "a source failed: per_source[].error says why"
					      : "the run failed: its messages on stderr say why");
	jw_str(&w, "connect", o->connect);
	jw_str(&w, "mode", o->pull ? "pull" : "push");
	jw_u64(&w, "sources", r->nsrc);
	jw_u64(&w, "frames", t->frames);
	jw_u64(&w, "bytes", t->bytes);
	jw_u64(&w, "wire_bytes", t->wire_bytes);
	jw_num(&w, "elapsed_s", client_elapsed(r, t));
	jw_u64(&w, "eagain_writes", t->eagain);
	jw_u64(&w, "partial_writes", t->partial);
	jw_u64(&w, "blocked_ns", t->blocked_ns);
	jw_obj_begin(&w, "behind_ns");
	jw_u64(&w, "p50", hist_percentile(&t->lag, 50));
	jw_u64(&w, "p99", hist_percentile(&t->lag, 99));
	jw_u64(&w, "max", t->lag.max);
	jw_obj_end(&w);
	jw_num(&w, "cpu_user_s", t->user_s);
	jw_num(&w, "cpu_sys_s", t->sys_s);
	jw_u64(&w, "idle", o->idle);
	jw_u64(&w, "idle_connected", r->idle_connected);
	jw_u64(&w, "idle_closed_by_server", r->idle_lost);
	jw_bool(&w, "signalled", r->signalled != 0);
	jw_u64(&w, "ok", t->ok);
	jw_u64(&w, "fault", t->fault);
	jw_u64(&w, "failed", t->failed);
	/* The sending loops (--loops), as the server's "loops": each one's
	 * own share; the totals above are their sums. */
	jw_arr_begin(&w, "loops");
	for (uint32_t k = 0; k < r->nloops; k++) {
		const struct client_loopstat *l = &r->loops[k];
		jw_obj_begin(&w, NULL);
		jw_u64(&w, "sources", l->sources);
		jw_u64(&w, "idle", l->idle);
		jw_u64(&w, "frames", l->frames);
		jw_u64(&w, "bytes", l->bytes);
		jw_u64(&w, "eagain_writes", l->eagain);
		jw_u64(&w, "blocked_ns", l->blocked_ns);
		jw_u64(&w, "cpu_ns", l->cpu_ns);
		jw_u64(&w, "waits", l->waits);
		jw_obj_end(&w);
	}
	jw_arr_end(&w);
	jw_arr_begin(&w, "per_source");
	for (uint32_t i = 0; i < r->nsrc; i++) {
		const struct client_src *s = &r->src[i];
		jw_obj_begin(&w, NULL);
		jw_u64(&w, "id", s->id);
		client_src_name(o, s->index, name, sizeof(name));
		jw_str(&w, "name", name);
		jw_u64(&w, "frames", s->frames);
		jw_u64(&w, "bytes", s->bytes);
		jw_u64(&w, "wire_bytes", s->wire_bytes);
		jw_num(&w, "rate_fps", client_src_rate(s));
		if (s->bye_sent)
			jw_u64(&w, "bye_count", s->bye_count);
		else
			jw_null(&w, "bye_count");
		jw_u64(&w, "behind_p99_ns", hist_percentile(&s->lag, 99));
		jw_u64(&w, "behind_max_ns", s->lag.max);
		jw_u64(&w, "eagain_writes", s->eagain);
		jw_u64(&w, "partial_writes", s->partial);
		jw_u64(&w, "blocked_ns", s->blocked_ns);
		jw_u64(&w, "connections", s->connections);
		jw_str(&w, "status", client_status_name(s->status));
		jw_str(&w, "fault", s->nfaults ? s->fault_desc : NULL);
		jw_str(&w, "error", s->error[0] ? s->error : NULL);
		jw_obj_end(&w);
	}
	jw_arr_end(&w);
	if (r->iv) {
		jw_arr_begin(&w, "intervals");
		for (size_t i = 0; i < r->iv->n; i++) {
			const struct client_interval *x = &r->iv->v[i];
			jw_obj_begin(&w, NULL);
			jw_num(&w, "t_s", x->t_s);
			jw_num(&w, "dur_s", x->dur_s);
			jw_u64(&w, "frames", x->frames);
			jw_u64(&w, "bytes", x->bytes);
			jw_u64(&w, "p99_ns", x->p99_ns);
			jw_u64(&w, "waits", x->waits);
			jw_u64(&w, "eagain", x->eagain);
			jw_obj_end(&w);
		}
		jw_arr_end(&w);
	}
	jw_obj_end(&w);
	return jw_finish(&w);
}

/* f was opened before the run, so a bad path costs no run. */
static int client_write_json(const struct client_run *r, const struct client_totals *t, FILE *f)
{
	const char *path = r->o->json;
	int rc = client_json(r, t, f);
	int e = errno;

	if (f != stdout && fclose(f) != 0 && rc == 0) {
		rc = -1;
		e = errno;
	}
	if (rc < 0)
		msg("writing --json %s failed: %s", path, strerror(e));
	return rc;
}

/* CPU seconds this process has used, user and system. */
static void client_cpu(double *user, double *sys)
{
	struct rusage ru;
	*user = *sys = 0;
	if (getrusage(RUSAGE_SELF, &ru) < 0)
		return;         /* only the report's CPU line is lost */
	*user = (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6;
	*sys = (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6;
}

/* RLIMIT_NOFILE: enough for every connection, or exit 2 saying so. */
static int client_check_nofile(const struct client_opts *o, uint32_t nall)
{
	/* One descriptor per connection, plus epoll, stdio, the JSON file. */
	long need = (long)nall + 16;
	long have = net_raise_nofile(need);
	struct rlimit rl;

	if (have < 0) {
		msg("getrlimit(RLIMIT_NOFILE): %s", strerror(errno));
		return -1;
	}
	if (have >= need)
		return 0;
	if (getrlimit(RLIMIT_NOFILE, &rl) < 0)
		rl.rlim_max = (rlim_t)have;
	msg("%u sources and %u idle connections need %ld descriptors, but only %ld are "
	    "allowed (hard limit %llu): raise it (ulimit -n %ld) or use fewer",
	    o->sources, o->idle, need, have, (unsigned long long)rl.rlim_max, need);
	return -1;
}

int client_main(int argc, char **argv)
{
	struct client_opts o;
	struct client_run r;
	struct client_totals t;
	double u0, s0, u1, s1;
	FILE *jf = NULL;
	uint32_t inited = 0;
	int rc = client_opts_parse(&o, argc, argv);

	memset(&r, 0, sizeof(r));
	meta_start_now(&r.start);
	if (rc) {
		rc = rc == 1 ? 0 : 2;
		goto out;
	}
	r.o = &o;
	r.nsrc = o.sources;
	r.nall = o.sources + o.idle;
	r.nloops = o.loops < o.sources ? o.loops : o.sources;
	rc = 2;
	if (client_check_nofile(&o, r.nall) < 0)
		goto out;
	if (o.json) {
		/* Opened now, so that a bad path costs no run. */
		jf = strcmp(o.json, "-") == 0 ? stdout : fopen(o.json, "w");
		if (!jf) {
			msg("cannot write --json %s: %s", o.json, strerror(errno));
			goto out;
		}
	}

	rc = 1;
	if (client_gen_init(&r.gen, &o) < 0) {
		msg("out of memory for payloads of up to %u bytes",
		    o.size_max > o.big_bytes ? o.size_max : o.big_bytes);
		goto out;
	}
	if (r.gen.max_payload > PROTO_DEFAULT_MAX_FRAME)
		msg("note: payloads of up to %u bytes are above the server's default --max-frame "
		    "(%u): start the server with --max-frame %u", r.gen.max_payload,
		    PROTO_DEFAULT_MAX_FRAME, r.gen.max_payload);
	r.src = calloc(r.nall, sizeof(*r.src));
	r.loops = calloc(r.nloops, sizeof(*r.loops));
	if (!r.src || !r.loops) {
		msg("out of memory for %u connections", r.nall);
		goto out;
	}
	for (; inited < r.nall; inited++) {
		int idle = inited >= r.nsrc;
		if (client_src_init(&r.gen, &r.src[inited], idle ? inited - r.nsrc : inited,
				    idle) < 0) {
			msg("out of memory setting up source %u of %u", inited, r.nall);
			goto out;
		}
	}

	if (client_intervals_init(&r) < 0)
		goto out;
	client_cpu(&u0, &s0);
	if (client_loop(&r) < 0)
		r.failed = 1;
	client_cpu(&u1, &s1);

	for (uint32_t i = 0; i < r.nsrc; i++) {
		struct client_src *s = &r.src[i];
		char what[64];
		unsigned n = client_faults_pending(s, what, sizeof(what));
		if (n && s->status != CLIENT_FAILED && !s->stopping) {
			msg("source %u: fault %s never fired (%llu frames sent)%s", s->id, what,
			    (unsigned long long)s->frames, n > 1 ? ", nor did others" : "");
			r.failed = 1;
		}
	}

	if (r.idle_connected < o.idle || r.idle_lost)
		msg("note: %u of %u idle connections were established and %u of those closed "
		    "by the server (a limit of the server, not counted as a failure)",
		    r.idle_connected, o.idle, r.idle_lost);
	if (client_totals(&r, &t) < 0) {
		msg("out of memory for the totals");
		rc = 1;
		goto out;
	}
	t.user_s = u1 - u0;
	t.sys_s = s1 - s0;
	if (!o.quiet) {
		FILE *f = jf == stdout ? stderr : stdout;
		client_table(f, &r, &t);
		fflush(f);
	}
	if (jf && client_write_json(&r, &t, jf) < 0)
		r.failed = 1;
	jf = NULL;
	rc = r.failed || t.failed ? 1 : 0;
	hist_free(&t.lag);
out:
	if (jf && jf != stdout)
		fclose(jf);     /* only on the way out after an error */
	for (uint32_t i = 0; i < inited; i++)
		client_src_free(&r.src[i]);
	free(r.src);
	free(r.loops);
	if (r.iv) {
		free(r.iv->v);
		hist_free(&r.iv->lag);
	}
	free(r.iv);
	client_gen_free(&r.gen);
	client_opts_free(&o);
	return rc;
}
