/* report.c - the summary a run ends with: a table for people, JSON for
 * scripts and `daqmux compare`, and the optional per-frame trace. */
#include "report.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "build.h"
#include "events.h"
#include "json.h"
#include "meta.h"
#include "loops.h"
#include "server.h"
#include "util.h"

#define REPORT_MAX_ROWS 64   /* the JSON has every source; the table the first */

static double tv_s(struct timeval tv) { return (double)tv.tv_sec + (double)tv.tv_usec / 1e6; }

void report_usage_start(struct report_usage *u)
{
	memset(u, 0, sizeof(*u));
	getrusage(RUSAGE_SELF, &u->start);
}

/* Peak resident memory of this address space. ru_maxrss is inherited
 * across execve, so a server started by a big parent would report the
 * parent's peak; VmHWM starts afresh with the new image. */
static long report_peak_rss_kib(const struct rusage *ru)
{
	char line[128];
	long kib = -1;
	FILE *f = fopen("/proc/self/status", "r");

	while (f && fgets(line, sizeof(line), f))
		if (sscanf(line, "VmHWM: %ld kB", &kib) == 1)
			break;
	if (f)
		fclose(f);
	return kib >= 0 ? kib : ru->ru_maxrss;
}

void report_usage_stop(struct report_usage *u, const struct server *s)
{
	getrusage(RUSAGE_SELF, &u->stop);
	u->user_s = tv_s(u->stop.ru_utime) - tv_s(u->start.ru_utime);
	u->sys_s = tv_s(u->stop.ru_stime) - tv_s(u->start.ru_stime);
	u->max_rss_kib = report_peak_rss_kib(&u->stop);
	u->elapsed_s = (double)(now_ns() - s->start_ns) / 1e9;
}

struct totals {
	struct source sum;     /* every source's counts, saturating (source_sum) */
	uint64_t nsources;     /* records shown + folded into others */
	uint64_t by_status[SRC_ERROR + 1];
	uint64_t idle;         /* connections that never delivered a frame */
	uint64_t complete_ok;  /* sources that ended clean (source_ok) */
	uint64_t bad;          /* sources that make the run a failure */
	uint64_t first_wait_ns; /* the longest connection -> first frame */
	char why[512];         /* the verdict, one line */
};

/* Why a source makes the run a failure, or NULL when it does not. A source
 * still active is a failure when the run waited for N sources (it was cut
 * off); with --sources 0 the duration or a signal is the plan, not a fault. */
static const char *report_fault(const struct server *s, const struct source *r,
				char *buf, size_t len)
{
	size_t n = 0;

	buf[0] = '\0';
	if (r->status == SRC_ACTIVE) {
		if (s->opt.sources)
			n += (size_t)snprintf(buf, len, "still active when the run ended");
	} else if (r->status != SRC_COMPLETE) {
		n += (size_t)snprintf(buf, len, "%s", source_status_name(r->status));
	}
	if (r->lost && n < len)
		n += (size_t)snprintf(buf + n, len - n, "%s%llu lost", n ? ", " : "",
				      (unsigned long long)r->lost);
	if (r->duplicates && n < len)
		n += (size_t)snprintf(buf + n, len - n, "%s%llu duplicates", n ? ", " : "",
				      (unsigned long long)r->duplicates);
	if (r->crc_errors && n < len)
		n += (size_t)snprintf(buf + n, len - n, "%s%llu CRC errors", n ? ", " : "",
				      (unsigned long long)r->crc_errors);
	if (r->broken && n < len)
		n += (size_t)snprintf(buf + n, len - n, "%s%u broken connection%s", n ? ", " : "",
				      r->broken, r->broken == 1 ? "" : "s");
	return buf[0] ? buf : NULL;
}

static void totals_add(struct totals *t, const struct server *s, const struct source *r,
		       char *faults, size_t flen)
{
	char buf[128], id[16];

	(void)source_sum(&t->sum, r);   /* out of memory: the latency is partial */
	t->nsources++;
	if (source_first_wait(r) > t->first_wait_ns)
		t->first_wait_ns = source_first_wait(r);
	t->by_status[r->status]++;
	if (source_ok(r))
		t->complete_ok++;
	if (!report_fault(s, r, buf, sizeof(buf)))
		return;
	if (t->bad++ < 3) {
		size_t n = strlen(faults);
		snprintf(id, sizeof(id), r->have_id ? "%u" : "?", r->id);
		snprintf(faults + n, flen - n, "; source %s: %s", id, buf);
	}
}

/* The folded records: their counts are exact, their faults summed up
 * (each was judged with source_ok when it was folded). */
static void totals_add_others(struct totals *t, const struct server *s,
			      char *faults, size_t flen)
{
	uint64_t bad = s->nothers - s->others_ok;

	if (!s->nothers)
		return;
	(void)source_sum(&t->sum, &s->others);
	t->nsources += s->nothers;
	for (int k = 0; k <= SRC_ERROR; k++)
		t->by_status[k] += s->others_status[k];
	t->complete_ok += s->others_ok;
	if (bad) {
		size_t n = strlen(faults);
		t->bad += bad;
		snprintf(faults + n, flen - n, "; %llu of the %llu others (beyond --max-records) "
			 "not clean", (unsigned long long)bad, (unsigned long long)s->nothers);
	}
}

/* The one line that says why the exit status is what it is. 0 or 1. */
static int report_verdict(const struct server *s, struct totals *t, const char *faults)
{
	unsigned want = s->opt.sources;

	/* --discard checks nothing: only a connection that failed (reset,
	 * read error, idle timeout) is known to be wrong. */
	if (s->opt.discard) {
		uint64_t failed = t->by_status[SRC_ERROR];
		if (failed) {
			snprintf(t->why, sizeof(t->why), "FAILED: %llu connection%s failed (discard "
				 "run: nothing else was checked)%s", (unsigned long long)failed,
				 failed == 1 ? "" : "s", faults);
			return 1;
		}
		snprintf(t->why, sizeof(t->why), "ok: discard run, %llu source%s, no connection "
			 "failed (loss, duplicates and CRC were not checked)",
			 (unsigned long long)t->nsources, t->nsources == 1 ? "" : "s");
		return 0;
	}
	if (want && t->complete_ok < want) {
		snprintf(t->why, sizeof(t->why),
			 "FAILED: %llu of %u expected source%s ended complete and clean%s",
			 (unsigned long long)t->complete_ok, want, want == 1 ? "" : "s", faults);
		return 1;
	}
	if (t->bad) {
		snprintf(t->why, sizeof(t->why), "FAILED: %llu source%s not clean%s%s",
			 (unsigned long long)t->bad, t->bad == 1 ? "" : "s", faults,
			 t->bad > 3 ? "; ..." : "");
		return 1;
	}
	if (want)
		snprintf(t->why, sizeof(t->why),
			 "ok: %llu source%s complete, nothing lost, no duplicates, no CRC errors",
			 (unsigned long long)t->complete_ok, t->complete_ok == 1 ? "" : "s");
	else
		snprintf(t->why, sizeof(t->why),
			 "ok: %llu source%s, nothing lost, no duplicates, no CRC errors "
			 "(--sources 0: active sources allowed)",
			 (unsigned long long)t->nsources, t->nsources == 1 ? "" : "s");
	return 0;
}

/*
 * A peer's bytes made safe for a terminal: printable ASCII as is, a
 * backslash doubled, anything else (control characters, ESC, NUL, bytes
 * of other encodings) as a visible \xNN - so a name can neither split
 * the table nor drive the terminal.
 */
static const char *report_visible(const char *in, size_t n, char *out, size_t len)
{
	size_t o = 0;

	for (size_t i = 0; i < n && o + 5 <= len; i++) {
		unsigned char c = (unsigned char)in[i];
		if (c == '\\') {
			out[o++] = '\\';
			out[o++] = '\\';
		} else if (c >= 0x20 && c < 0x7f) {
			out[o++] = (char)c;
		} else {
			o += (size_t)snprintf(out + o, len - o, "\\x%02x", c);
		}
	}
	out[o < len ? o : len - 1] = '\0';
	return out;
}

static int by_id(const void *a, const void *b)
{
	const struct source *x = *(struct source *const *)a, *y = *(struct source *const *)b;
	if (x->have_id != y->have_id)
		return y->have_id - x->have_id;
	return x->id < y->id ? -1 : x->id > y->id;
}

/* 1234 -> "1.23us": three significant digits, the unit that fits. */
static const char *fmt_ns(char *buf, size_t len, uint64_t ns)
{
	double v = (double)ns;
	if (ns < 1000)
		snprintf(buf, len, "%luns", (unsigned long)ns);
	else if (v < 999.5e3)   /* not "1e+03us" */
		snprintf(buf, len, "%.3gus", v / 1e3);
	else if (v < 999.5e6)
		snprintf(buf, len, "%.3gms", v / 1e6);
	else
		snprintf(buf, len, "%.3gs", v / 1e9);
	return buf;
}

/* Every system call: the core's kinds, and the backend's counters that
 * are calls (a kind that includes the waits adds only the difference). */
static uint64_t report_syscalls_total(const struct server *s)
{
	const struct syscounts *c = &s->sc;
	uint64_t total = c->waits + c->reads + c->writes + c->accepts + c->ctl;
	uint64_t loop_waits = c->waits - s->acceptor_sc.waits;   /* the backend's own */

	for (unsigned i = 0; i < s->be->ncounters; i++) {
		if (s->be->counters[i].kind == BC_CALLS)
			total += c->extra[i];
		else if (s->be->counters[i].kind == BC_CALLS_WITH_WAITS && c->extra[i] > loop_waits)
			total += c->extra[i] - loop_waits;
	}
	return total;
}

/* Several loops: one line each, so an uneven spread shows. */
static void report_loops_table(FILE *f, const struct server *s)
{
	if (s->nloops < 2)
		return;
	for (unsigned i = 0; i < s->nloops; i++) {
		const struct loop *l = &s->loops[i];
		uint64_t frames, bytes;
		loop_figures(l, &frames, &bytes);
		fprintf(f, "\nloop %u: %lu connections, %lu frames, %.2f MB, %lu waits, cpu %.3f s", i,
			(unsigned long)l->conns, (unsigned long)frames, (double)bytes / 1e6,
			(unsigned long)l->sc.waits, (double)l->cpu_ns / 1e9);
	}
}

static void report_loops_json(struct jw *w, const struct server *s)
{
	jw_arr_begin(w, "loops");
	for (unsigned i = 0; i < s->nloops; i++) {
		const struct loop *l = &s->loops[i];
		uint64_t frames, bytes;
		loop_figures(l, &frames, &bytes);
		jw_obj_begin(w, NULL);
		jw_u64(w, "connections", l->conns);
		jw_u64(w, "frames", frames);
		jw_u64(w, "bytes", bytes);
		jw_u64(w, "cpu_ns", l->cpu_ns);
		jw_u64(w, "waits", l->sc.waits);
		jw_obj_end(w);
	}
	jw_arr_end(w);
}

/* checked: the frames were parsed; without (--discard) lost, dup, crc,
 * latency and gap are unknown and shown as "-", never as 0. */
static void print_row(FILE *f, int checked, const char *id, const char *name, const char *peer,
		      uint64_t frames, uint64_t bytes, uint64_t lost, uint64_t dup,
		      uint64_t crc, const struct hist *h, uint64_t gap, uint64_t first,
		      const char *status)
{
	char l[24] = "-", du[24] = "-", cr[24] = "-", a[16] = "-", b[16] = "-", c[16] = "-",
	     d[16] = "-", e[16] = "-";

	if (checked) {
		snprintf(l, sizeof(l), "%lu", (unsigned long)lost);
		snprintf(du, sizeof(du), "%lu", (unsigned long)dup);
		snprintf(cr, sizeof(cr), "%lu", (unsigned long)crc);
		fmt_ns(a, sizeof(a), hist_percentile(h, 50));
		fmt_ns(b, sizeof(b), hist_percentile(h, 99));
		fmt_ns(c, sizeof(c), h->n ? h->max : 0);
		fmt_ns(d, sizeof(d), gap);
		if (first)
			fmt_ns(e, sizeof(e), first);
	}
	fprintf(f, "%8s %-10.10s %-21.21s %9lu %9.2f %6s %5s %5s %8s %8s %8s %8s %9s  %s\n",
		id, name, peer, (unsigned long)frames, (double)bytes / 1e6, l, du, cr, a, b, c, d, e,
		status);
}

static void report_table(FILE *f, struct server *s, struct source **v, unsigned n,
			 const struct totals *t, const struct report_usage *u)
{
	const char *kind = s->opt.mode == MODE_PULL ? "RTT" : "latency";
	int checked = !s->opt.discard;
	char st[160], idbuf[16], name[4 * PROTO_NAME_MAX + 1];

	if (checked)
		fprintf(f, "\n%s backend%s, %s mode, %llu source%s in %.2f s (%s: %s p50/p99/max)\n",
			s->be->name, s->opt.edge ? " (edge-triggered)" : "",
			s->opt.mode == MODE_PULL ? "pull" : "push", (unsigned long long)t->nsources,
			t->nsources == 1 ? "" : "s", u->elapsed_s, kind,
			s->opt.mode == MODE_PULL ? "REQUEST sent -> DATA received"
						 : "send time -> frame received");
	else
		fprintf(f, "\n%s backend%s, DISCARD run: %llu source%s in %.2f s, bytes read and "
			"counted, nothing parsed;\nframes derived as bytes / %lu (--discard-size %u); "
			"no latency, loss, duplicate or CRC accounting\n",
			s->be->name, s->opt.edge ? " (edge-triggered)" : "",
			(unsigned long long)t->nsources, t->nsources == 1 ? "" : "s", u->elapsed_s,
			(unsigned long)(PROTO_HEADER_SIZE + (uint64_t)s->opt.discard_size),
			s->opt.discard_size);
	fprintf(f, "%8s %-10s %-21s %9s %9s %6s %5s %5s %8s %8s %8s %8s %9s  %s\n", "source", "name",
		"peer", "frames", checked ? "MB" : "MB read", "lost", "dup", "crc", "p50", "p99",
		"max", "max gap", "1st frame", "status");
	for (unsigned i = 0; i < n; i++) {
		const struct source *r = v[i];
		if (i == REPORT_MAX_ROWS) {
			fprintf(f, "%8s (%u more sources: see --json)\n", "...", n - REPORT_MAX_ROWS);
			break;
		}
		snprintf(idbuf, sizeof(idbuf), r->have_id ? "%u" : "?", r->id);
		snprintf(st, sizeof(st), "%s%s%s", source_status_name(r->status),
			 r->error[0] ? ": " : "", r->error);
		report_visible(r->name, r->name_len, name, sizeof(name));
		print_row(f, checked, idbuf, name, r->peer, r->frames, r->bytes, r->lost, r->duplicates,
			  r->crc_errors, &r->lat, r->max_gap_ns, source_first_wait(r), st);
	}
	if (s->nothers) {
		const struct source *o = &s->others;
		snprintf(st, sizeof(st), "%llu sources beyond --max-records %u",
			 (unsigned long long)s->nothers, s->opt.max_records);
		print_row(f, checked, "others", "", "", o->frames, o->bytes, o->lost, o->duplicates,
			  o->crc_errors, &o->lat, o->max_gap_ns, 0, st);
	}
	st[0] = '\0';
	for (int k = 0; k <= SRC_ERROR; k++)
		if (t->by_status[k])
			snprintf(st + strlen(st), sizeof(st) - strlen(st), "%s%llu %s", st[0] ? ", " : "",
				 (unsigned long long)t->by_status[k],
				 source_status_name((enum source_status)k));
	print_row(f, checked, "total", "", "", t->sum.frames, t->sum.bytes, t->sum.lost, t->sum.duplicates,
		  t->sum.crc_errors, &t->sum.lat, t->sum.max_gap_ns, t->first_wait_ns, st);
	if (t->idle)
		fprintf(f, "%llu idle connection%s (never delivered a frame; not sources)\n",
			(unsigned long long)t->idle, t->idle == 1 ? "" : "s");
	if (s->rejected) {
		fprintf(f, "%llu connection%s rejected (never sources):", (unsigned long long)s->rejected,
			s->rejected == 1 ? "" : "s");
		for (unsigned k = 0; k < SERVER_REJECT_REASONS && s->reject_why[k].n; k++)
			fprintf(f, "%s %llu %s", k ? ";" : "", (unsigned long long)s->reject_why[k].n,
				s->reject_why[k].why);
		if (s->reject_why_other)
			fprintf(f, "; %llu for other reasons", (unsigned long long)s->reject_why_other);
		fputc('\n', f);
	}
	if (s->refused)
		fprintf(f, "%lu connection%s refused (see the messages above)\n",
			(unsigned long)s->refused, s->refused == 1 ? "" : "s");

	const struct syscounts *c = &s->sc;
	double per = t->sum.frames ? 1.0 / (double)t->sum.frames : 0;
	fprintf(f, "system calls: %lu waits, %lu reads (%lu EAGAIN), %lu writes, %lu accepts",
		(unsigned long)c->waits, (unsigned long)c->reads, (unsigned long)c->eagain,
		(unsigned long)c->writes, (unsigned long)c->accepts);
	if (c->ctl)
		fprintf(f, ", %lu ctl", (unsigned long)c->ctl);
	/* The backend's own counters, by the names it gives them. */
	for (unsigned i = 0; i < s->be->ncounters; i++)
		fprintf(f, ", %lu %s", (unsigned long)c->extra[i], s->be->counters[i].text);
	report_loops_table(f, s);
	fprintf(f, "\nper %sframe: %.3f waits, %.3f reads; cpu %.2f s user + %.2f s sys = %.0f ns/frame; peak RSS %.1f MiB\n",
		checked ? "" : "derived ", (double)c->waits * per, (double)c->reads * per, u->user_s,
		u->sys_s, (u->user_s + u->sys_s) * 1e9 * per, (double)u->max_rss_kib / 1024);
	fprintf(f, "%s\n", t->why);
	build_report(f, s);
}

static void json_hist(struct jw *w, const char *key, const struct hist *h)
{
	jw_obj_begin(w, key);
	jw_u64(w, "count", h->n);
	jw_u64(w, "min", h->n ? h->min : 0);
	jw_u64(w, "mean", h->n ? (uint64_t)(h->sum / (double)h->n) : 0);
	jw_u64(w, "p50", hist_percentile(h, 50));
	jw_u64(w, "p90", hist_percentile(h, 90));
	jw_u64(w, "p99", hist_percentile(h, 99));
	jw_u64(w, "p999", hist_percentile(h, 99.9));
	jw_u64(w, "max", h->n ? h->max : 0);
	jw_obj_end(w);
}

/* The nonzero buckets of a histogram as [low_ns, high_ns, count], so that
 * a reader (daqmux compare's CDF plot) has the whole distribution, not
 * only its percentiles. At most a few hundred entries for real latencies. */
static void json_buckets(struct jw *w, const char *key, const struct hist *h)
{
	jw_arr_begin(w, key);
	for (unsigned i = 0; h->blk && i < HIST_BUCKETS; i++) {
		uint64_t count = hist_count(h, i);
		if (!count)
			continue;
		jw_arr_begin(w, NULL);
		jw_u64(w, NULL, hist_bucket_low(i));
		jw_u64(w, NULL, hist_bucket_high(i));
		jw_u64(w, NULL, count);
		jw_arr_end(w);
	}
	jw_arr_end(w);
}

/* The counts every level of the summary has: a source, others, the total. */
/* A figure --discard never measured: null, not a 0 that reads as "none". */
static void jw_u64_known(struct jw *w, const char *key, uint64_t v, int known)
{
	if (known)
		jw_u64(w, key, v);
	else
		jw_null(w, key);
}

static void json_counts(struct jw *w, const struct source *r, int checked)
{
	jw_u64(w, "frames", r->frames);
	jw_u64(w, "bytes", r->bytes);
	jw_u64_known(w, "lost", r->lost, checked);
	jw_u64_known(w, "duplicates", r->duplicates, checked);
	jw_u64_known(w, "late", r->late, checked);
	jw_u64_known(w, "crc_errors", r->crc_errors, checked);
	jw_u64_known(w, "unstamped", r->unstamped, checked);
	jw_u64(w, "broken_connections", r->broken);
}

static void json_status(struct jw *w, const uint64_t by_status[SRC_ERROR + 1])
{
	jw_obj_begin(w, "status");
	for (int k = 0; k <= SRC_ERROR; k++)
		jw_u64(w, source_status_name((enum source_status)k), by_status[k]);
	jw_obj_end(w);
}

/* -i: one entry per interval (events.h); absent without -i. */
static void json_intervals(struct jw *w, const struct server *s)
{
	size_t n;
	const struct ev_interval *iv = ev_intervals(s, &n);

	if (!iv)
		return;
	jw_arr_begin(w, "intervals");
	for (size_t i = 0; i < n; i++) {
		jw_obj_begin(w, NULL);
		jw_num(w, "t_s", iv[i].t_s);
		jw_num(w, "dur_s", iv[i].dur_s);
		jw_u64(w, "frames", iv[i].frames);
		jw_u64(w, "bytes", iv[i].bytes);
		jw_u64(w, "p99_ns", iv[i].p99_ns);
		jw_u64(w, "waits", iv[i].waits);
		jw_u64(w, "eagain", iv[i].eagain);
		jw_obj_end(w);
	}
	jw_arr_end(w);
}

/* --json FILE, or - for stdout (the table then goes to stderr). */
static FILE *report_json_open(const struct server *s)
{
	FILE *f = strcmp(s->opt.json, "-") == 0 ? stdout : fopen(s->opt.json, "w");

	if (!f)
		msg("cannot write --json %s: %s", s->opt.json, strerror(errno));
	return f;
}

static int report_json_close(const struct server *s, FILE *f, struct jw *w)
{
	int rc = jw_finish(w);

	if ((f == stdout ? fflush(f) : fclose(f)) != 0 || rc < 0) {
		msg("writing --json %s failed: %s", s->opt.json, strerror(errno));
		return -1;
	}
	return 0;
}

static int report_json(struct server *s, struct source **v, unsigned n,
		       const struct totals *t, const struct report_usage *u, int rc)
{
	const int checked = !s->opt.discard;
	const char *lat = s->opt.mode == MODE_PULL ? "rtt_ns" : "latency_ns";
	const struct syscounts *c = &s->sc;
	FILE *f = report_json_open(s);
	struct jw w;

	if (!f)
		return -1;
	jw_init(&w, f);
	jw_obj_begin(&w, NULL);
	meta_write(&w, "daqmux-server", REPORT_SCHEMA_VERSION, &s->meta);
	jw_str(&w, "backend", s->be->name);
	jw_bool(&w, "edge", s->opt.edge);
	jw_u64(&w, "nloops", s->nloops);
	jw_str(&w, "spread", s->nloops < 2 ? "none" :
			     s->opt.spread == SPREAD_REUSEPORT ? "reuseport" : "handoff");
	jw_str(&w, "mode", s->opt.mode == MODE_PULL ? "pull" : "push");
	jw_str(&w, "latency_kind", s->opt.mode == MODE_PULL ? "rtt" : "one-way");
	/* --discard: bytes are what was read, frames derived from them. */
	jw_bool(&w, "discard", s->opt.discard);
	if (s->opt.discard)
		jw_u64(&w, "discard_frame_bytes", PROTO_HEADER_SIZE + (uint64_t)s->opt.discard_size);
	jw_str(&w, "listen", s->listen_name);
	jw_u64(&w, "sources_expected", s->opt.sources);
	jw_u64(&w, "connections", s->connections);
	jw_u64(&w, "idle_connections", t->idle);
	jw_u64(&w, "rejected", s->rejected);
	jw_arr_begin(&w, "rejected_reasons");
	for (unsigned k = 0; k < SERVER_REJECT_REASONS && s->reject_why[k].n; k++) {
		jw_obj_begin(&w, NULL);
		jw_str(&w, "reason", s->reject_why[k].why);
		jw_u64(&w, "count", s->reject_why[k].n);
		jw_obj_end(&w);
	}
	if (s->reject_why_other) {
		jw_obj_begin(&w, NULL);
		jw_null(&w, "reason");
		jw_u64(&w, "count", s->reject_why_other);
		jw_obj_end(&w);
	}
	jw_arr_end(&w);
	jw_u64(&w, "refused", s->refused);
	jw_num(&w, "elapsed_s", u->elapsed_s);
	jw_u64(&w, "source_count", t->nsources);
	json_counts(&w, &t->sum, checked);
	jw_u64_known(&w, "max_gap_ns", t->sum.max_gap_ns, checked);
	jw_u64(&w, "exit_status", (uint64_t)rc);
	jw_str(&w, "verdict", t->why);
	json_status(&w, t->by_status);
	char bkey[32];
	snprintf(bkey, sizeof(bkey), "%s_buckets", lat);
	if (checked) {
		json_hist(&w, lat, &t->sum.lat);
		json_buckets(&w, bkey, &t->sum.lat);
	} else {
		jw_null(&w, lat);
		jw_null(&w, bkey);
	}
	jw_obj_begin(&w, "syscalls");
	jw_u64(&w, "waits", c->waits);
	jw_u64(&w, "reads", c->reads);
	jw_u64(&w, "eagain", c->eagain);
	jw_u64(&w, "writes", c->writes);
	jw_u64(&w, "accepts", c->accepts);
	jw_u64(&w, "ctl", c->ctl);
	for (unsigned i = 0; i < s->be->ncounters; i++)
		jw_u64(&w, s->be->counters[i].json, c->extra[i]);
	jw_u64(&w, "total", report_syscalls_total(s));
	jw_obj_end(&w);
	report_loops_json(&w, s);
	jw_obj_begin(&w, "cpu");
	jw_num(&w, "user_s", u->user_s);
	jw_num(&w, "sys_s", u->sys_s);
	jw_num(&w, "ns_per_frame", t->sum.frames ?
	       (u->user_s + u->sys_s) * 1e9 / (double)t->sum.frames : 0);
	jw_obj_end(&w);
	jw_u64(&w, "max_rss_kib", (uint64_t)u->max_rss_kib);
	json_intervals(&w, s);
	jw_arr_begin(&w, "sources");
	for (unsigned i = 0; i < n; i++) {
		const struct source *r = v[i];
		jw_obj_begin(&w, NULL);
		if (r->have_id)
			jw_u64(&w, "id", r->id);
		else
			jw_null(&w, "id");
		jw_strn(&w, "name", r->name, r->name_len);
		jw_str(&w, "peer", r->peer);
		json_counts(&w, r, checked);
		jw_str(&w, "status", source_status_name(r->status));
		jw_str(&w, "error", r->error);
		jw_u64(&w, "connections", r->connections);
		if (r->got_bye)
			jw_u64(&w, "bye_count", r->bye_count);
		if (checked)
			json_hist(&w, lat, &r->lat);
		else
			jw_null(&w, lat);
		jw_u64_known(&w, "max_gap_ns", r->max_gap_ns, checked);
		jw_u64_known(&w, "first_frame_ns", source_first_wait(r), checked);
		jw_u64(&w, "first_ns", r->first_ns ? r->first_ns - s->start_ns : 0);
		jw_u64(&w, "last_ns", r->last_ns ? r->last_ns - s->start_ns : 0);
		jw_obj_end(&w);
	}
	jw_arr_end(&w);
	build_json(&w, s);
	jw_obj_begin(&w, "others");
	jw_u64(&w, "sources", s->nothers);
	jw_u64(&w, "clean", s->others_ok);
	json_counts(&w, &s->others, checked);
	json_status(&w, s->others_status);
	jw_obj_end(&w);
	jw_obj_end(&w);
	return report_json_close(s, f, &w);
}

/* A run that could not start still leaves its --json: what it was and
 * why not (the message on stderr says more), like iperf3 -J. */
int report_json_error(struct server *s, const char *error)
{
	FILE *f = report_json_open(s);
	struct jw w;

	if (!f)
		return -1;
	jw_init(&w, f);
	jw_obj_begin(&w, NULL);
	meta_write(&w, "daqmux-server", REPORT_SCHEMA_VERSION, &s->meta);
	jw_str(&w, "backend", s->be ? s->be->name : NULL);
	jw_str(&w, "listen", s->opt.listen);
	jw_str(&w, "error", error);
	jw_u64(&w, "exit_status", 2);
	jw_obj_end(&w);
	return report_json_close(s, f, &w);
}

static int report_trace(struct server *s)
{
	uint64_t n = s->trace_n < s->opt.trace_max ? s->trace_n : s->opt.trace_max;
	FILE *f = fopen(s->opt.trace, "w");

	if (!f) {
		msg("cannot write --trace %s: %s", s->opt.trace, strerror(errno));
		return -1;
	}
	fprintf(f, "source,seq,send_ns,recv_ns\n");
	for (uint64_t i = 0; i < n; i++) {
		const struct trace_rec *r = &s->trace[i];
		fprintf(f, "%u,%lu,%lu,%lu\n", r->source, (unsigned long)r->seq,
			(unsigned long)(r->send_ns > s->start_ns ? r->send_ns - s->start_ns : 0),
			(unsigned long)(r->recv_ns - s->start_ns));
	}
	if (fclose(f) != 0) {
		msg("writing --trace %s failed: %s", s->opt.trace, strerror(errno));
		return -1;
	}
	if (s->trace_n > n)
		msg("--trace kept the first %lu of %lu frames (raise --trace-max)",
		    (unsigned long)n, (unsigned long)s->trace_n);
	return 0;
}

int report_write(struct server *s, const struct report_usage *u)
{
	struct totals t = { 0 };
	struct source **v = NULL;
	unsigned n = s->nsrcs;
	char faults[400] = "";
	int rc = 0, verdict;

	source_init(&t.sum);
	if (n && !(v = malloc(n * sizeof(*v)))) {
		msg("out of memory for the summary");
		return 2;
	}
	if (n) {
		memcpy(v, s->srcs, n * sizeof(*v));
		qsort(v, n, sizeof(*v), by_id);
	}
	for (unsigned i = 0; i < n; i++)
		totals_add(&t, s, v[i], faults, sizeof(faults));
	totals_add_others(&t, s, faults, sizeof(faults));
	t.idle = s->idle_closed;
	for (unsigned i = 0; i < s->nloops; i++)
		for (const struct conn *c = s->loops[i].live; c; c = c->next)
			if (!c->src->registered)
				t.idle++;
	verdict = report_verdict(s, &t, faults);

	if (!s->opt.quiet) {
		report_table(server_talk(s), s, v, n, &t, u);
		fflush(server_talk(s));
	} else if (verdict) {
		msg("%s", t.why);
	}
	if (s->opt.json && report_json(s, v, n, &t, u, verdict) < 0)
		rc = 2;
	if (s->opt.trace && report_trace(s) < 0)
		rc = 2;
	if (!rc)
		rc = verdict;
	source_free(&t.sum);
	free(v);
	return rc;
}
