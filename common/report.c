/* report.c - the summary a run ends with: a table for people, JSON for
 * scripts and `daqmux compare`, and the optional per-frame trace. */
#include "report.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "json.h"
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
	uint64_t frames, bytes, lost, duplicates, late, crc_errors, unstamped, max_gap_ns;
	unsigned by_status[SRC_ERROR + 1];
	unsigned idle;         /* connected, never sent a byte */
	int bad;               /* some source makes the exit status 1 */
	struct hist lat;
};

/* Connected but never sent a byte (whether still open or closed since):
 * counted, not listed, so 10,000 idle descriptors don't bury the sources. */
static int source_is_idle(const struct source *r)
{
	return !r->heard;
}

static void totals_add(struct totals *t, const struct source *r)
{
	if (source_is_idle(r)) {
		t->idle++;
		return;
	}
	t->frames += r->frames;
	t->bytes += r->bytes;
	t->lost += r->lost;
	t->duplicates += r->duplicates;
	t->late += r->late;
	t->crc_errors += r->crc_errors;
	t->unstamped += r->unstamped;
	if (r->max_gap_ns > t->max_gap_ns)
		t->max_gap_ns = r->max_gap_ns;
	t->by_status[r->status]++;
	if (t->lat.counts)
		hist_merge(&t->lat, &r->lat);
	/* A record a reconnect took over is judged by its successor. */
	if (!r->resumed && (r->lost || r->status == SRC_INCOMPLETE ||
			    r->status == SRC_TRUNCATED || r->status == SRC_ERROR))
		t->bad = 1;
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
	else if (v < 1e6)
		snprintf(buf, len, "%.3gus", v / 1e3);
	else if (v < 1e9)
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

static void print_row(FILE *f, const char *id, const char *name, const char *peer,
		      uint64_t frames, uint64_t bytes, uint64_t lost, uint64_t dup,
		      uint64_t crc, const struct hist *h, uint64_t gap, const char *status)
{
	char a[16], b[16], c[16], d[16];
	fprintf(f, "%8s %-10.10s %-21.21s %9lu %9.2f %6lu %5lu %5lu %8s %8s %8s %8s  %s\n",
		id, name, peer, (unsigned long)frames, (double)bytes / 1e6, (unsigned long)lost,
		(unsigned long)dup, (unsigned long)crc,
		fmt_ns(a, sizeof(a), hist_percentile(h, 50)), fmt_ns(b, sizeof(b), hist_percentile(h, 99)),
		fmt_ns(c, sizeof(c), h->n ? h->max : 0), fmt_ns(d, sizeof(d), gap), status);
}

static void report_table(FILE *f, struct server *s, struct source **v, unsigned n,
			 const struct totals *t, const struct report_usage *u)
{
	const char *kind = s->opt.mode == MODE_PULL ? "RTT" : "latency";
	unsigned shown = 0;
	char st[160], idbuf[16];

	fprintf(f, "\n%s backend%s, %s mode, %u source%s in %.2f s (%s: %s p50/p99/max)\n",
		s->be->name, s->opt.edge ? " (edge-triggered)" : "",
		s->opt.mode == MODE_PULL ? "pull" : "push", n - t->idle, n - t->idle == 1 ? "" : "s",
		u->elapsed_s, kind, s->opt.mode == MODE_PULL ? "REQUEST sent -> DATA received"
							       : "send time -> frame received");
	fprintf(f, "%8s %-10s %-21s %9s %9s %6s %5s %5s %8s %8s %8s %8s  %s\n", "source", "name",
		"peer", "frames", "MB", "lost", "dup", "crc", "p50", "p99", "max", "max gap", "status");
	for (unsigned i = 0; i < n; i++) {
		const struct source *r = v[i];
		if (source_is_idle(r))
			continue;
		if (shown++ == REPORT_MAX_ROWS) {
			fprintf(f, "%8s (%u more sources: see --json)\n", "...", n - t->idle - REPORT_MAX_ROWS);
			break;
		}
		snprintf(idbuf, sizeof(idbuf), r->have_id ? "%u" : "?", r->id);
		snprintf(st, sizeof(st), "%s%s%s%s", source_status_name(r->status),
			 r->resumed ? " (resumed later)" : "", r->error[0] ? ": " : "", r->error);
		print_row(f, idbuf, r->name, r->peer, r->frames, r->bytes, r->lost, r->duplicates,
			  r->crc_errors, &r->lat, r->max_gap_ns, st);
	}
	st[0] = '\0';
	for (int k = 0; k <= SRC_ERROR; k++)
		if (t->by_status[k])
			snprintf(st + strlen(st), sizeof(st) - strlen(st), "%s%u %s", st[0] ? ", " : "",
				 t->by_status[k],
				 source_status_name((enum source_status)k));
	print_row(f, "total", "", "", t->frames, t->bytes, t->lost, t->duplicates, t->crc_errors,
		  &t->lat, t->max_gap_ns, st);
	if (t->idle)
		fprintf(f, "%u idle connection%s (connected, never sent a byte; not sources)\n", t->idle,
			t->idle == 1 ? "" : "s");
	if (s->refused)
		fprintf(f, "%lu connection%s refused (see the messages above)\n",
			(unsigned long)s->refused, s->refused == 1 ? "" : "s");

	const struct syscounts *c = &s->sc;
	double per = t->frames ? 1.0 / (double)t->frames : 0;
	fprintf(f, "system calls: %lu waits, %lu reads (%lu EAGAIN), %lu writes, %lu accepts",
		(unsigned long)c->waits, (unsigned long)c->reads, (unsigned long)c->eagain,
		(unsigned long)c->writes, (unsigned long)c->accepts);
	if (c->ctl)
		fprintf(f, ", %lu ctl", (unsigned long)c->ctl);
	/* The backend's own counters, by the names it gives them. */
	for (unsigned i = 0; i < s->be->ncounters; i++)
		fprintf(f, ", %lu %s", (unsigned long)c->extra[i], s->be->counters[i].text);
	report_loops_table(f, s);
	fprintf(f, "\nper frame: %.3f waits, %.3f reads; cpu %.2f s user + %.2f s sys = %.0f ns/frame; peak RSS %.1f MiB\n",
		(double)c->waits * per, (double)c->reads * per, u->user_s, u->sys_s,
		(u->user_s + u->sys_s) * 1e9 * per, (double)u->max_rss_kib / 1024);
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
	for (unsigned i = 0; h->counts && i < HIST_BUCKETS; i++) {
		if (!h->counts[i])
			continue;
		jw_arr_begin(w, NULL);
		jw_u64(w, NULL, hist_bucket_low(i));
		jw_u64(w, NULL, hist_bucket_high(i));
		jw_u64(w, NULL, h->counts[i]);
		jw_arr_end(w);
	}
	jw_arr_end(w);
}

static int report_json(struct server *s, struct source **v, unsigned n,
		       const struct totals *t, const struct report_usage *u)
{
	const char *lat = s->opt.mode == MODE_PULL ? "rtt_ns" : "latency_ns";
	const struct syscounts *c = &s->sc;
	FILE *f = fopen(s->opt.json, "w");
	struct jw w;

	if (!f) {
		msg("cannot write --json %s: %s", s->opt.json, strerror(errno));
		return -1;
	}
	jw_init(&w, f);
	jw_obj_begin(&w, NULL);
	jw_str(&w, "backend", s->be->name);
	jw_bool(&w, "edge", s->opt.edge);
	jw_u64(&w, "nloops", s->nloops);
	jw_str(&w, "spread", s->nloops < 2 ? "none" :
			     s->opt.spread == SPREAD_REUSEPORT ? "reuseport" : "handoff");
	jw_str(&w, "mode", s->opt.mode == MODE_PULL ? "pull" : "push");
	jw_str(&w, "latency_kind", s->opt.mode == MODE_PULL ? "rtt" : "one-way");
	jw_str(&w, "listen", s->listen_name);
	jw_u64(&w, "sources_expected", s->opt.sources);
	jw_u64(&w, "connections", n);
	jw_u64(&w, "idle_connections", t->idle);
	jw_u64(&w, "refused", s->refused);
	jw_num(&w, "elapsed_s", u->elapsed_s);
	jw_u64(&w, "frames", t->frames);
	jw_u64(&w, "bytes", t->bytes);
	jw_u64(&w, "lost", t->lost);
	jw_u64(&w, "duplicates", t->duplicates);
	jw_u64(&w, "late", t->late);
	jw_u64(&w, "crc_errors", t->crc_errors);
	jw_u64(&w, "unstamped", t->unstamped);
	jw_u64(&w, "max_gap_ns", t->max_gap_ns);
	jw_obj_begin(&w, "status");
	for (int k = 0; k <= SRC_ERROR; k++)
		jw_u64(&w, source_status_name((enum source_status)k), t->by_status[k]);
	jw_obj_end(&w);
	json_hist(&w, lat, &t->lat);
	char bkey[32];
	snprintf(bkey, sizeof(bkey), "%s_buckets", lat);
	json_buckets(&w, bkey, &t->lat);
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
	jw_num(&w, "ns_per_frame", t->frames ? (u->user_s + u->sys_s) * 1e9 / (double)t->frames : 0);
	jw_obj_end(&w);
	jw_u64(&w, "max_rss_kib", (uint64_t)u->max_rss_kib);
	jw_arr_begin(&w, "sources");
	for (unsigned i = 0; i < n; i++) {
		const struct source *r = v[i];
		if (source_is_idle(r))
			continue;
		jw_obj_begin(&w, NULL);
		if (r->have_id)
			jw_u64(&w, "id", r->id);
		else
			jw_null(&w, "id");
		jw_str(&w, "name", r->name);
		jw_str(&w, "peer", r->peer);
		jw_u64(&w, "frames", r->frames);
		jw_u64(&w, "bytes", r->bytes);
		jw_u64(&w, "lost", r->lost);
		jw_u64(&w, "duplicates", r->duplicates);
		jw_u64(&w, "late", r->late);
		jw_u64(&w, "crc_errors", r->crc_errors);
		jw_u64(&w, "unstamped", r->unstamped);
		jw_str(&w, "status", source_status_name(r->status));
		jw_str(&w, "error", r->error);
		jw_bool(&w, "resumed", r->resumed);
		jw_u64(&w, "connections", r->connections);
		if (r->got_bye)
			jw_u64(&w, "bye_count", r->bye_count);
		json_hist(&w, lat, &r->lat);
		jw_u64(&w, "max_gap_ns", r->max_gap_ns);
		jw_u64(&w, "first_ns", r->first_ns ? r->first_ns - s->start_ns : 0);
		jw_u64(&w, "last_ns", r->last_ns ? r->last_ns - s->start_ns : 0);
		jw_obj_end(&w);
	}
	jw_arr_end(&w);
	jw_obj_end(&w);
	int rc = jw_finish(&w);
	if (fclose(f) != 0 || rc < 0) {
		msg("writing --json %s failed: %s", s->opt.json, strerror(errno));
		return -1;
	}
	return 0;
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
	int rc = 0;

	if (hist_init(&t.lat) < 0 || (n && !(v = malloc(n * sizeof(*v))))) {
		msg("out of memory for the summary");
		hist_free(&t.lat);
		return 2;
	}
	if (n) {
		memcpy(v, s->srcs, n * sizeof(*v));
		qsort(v, n, sizeof(*v), by_id);
	}
	for (unsigned i = 0; i < n; i++)
		totals_add(&t, v[i]);

	if (!s->opt.quiet) {
		report_table(stdout, s, v, n, &t, u);
		fflush(stdout);
	}
	if (s->opt.json && report_json(s, v, n, &t, u) < 0)
		rc = 2;
	if (s->opt.trace && report_trace(s) < 0)
		rc = 2;
	if (!rc && t.bad)
		rc = 1;
	hist_free(&t.lat);
	free(v);
	return rc;
}
