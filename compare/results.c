/*
 * results.c - the machine-readable half of the report: results.json
 * (every figure of every repetition, the medians, the machine, the plan,
 * the targets) and one CSV per scenario (a row per backend x variant x
 * repetition, then its median, min and max rows).
 */
#include "compare_int.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "util.h"

/* ---- CSV ------------------------------------------------------------------- */

static void cmp_csv_str(FILE *f, const char *s)
{
	fputc('"', f);
	for (; *s; s++) {
		if (*s == '"')
			fputc('"', f);
		fputc(*s == '\n' ? ' ' : *s, f);
	}
	fputc('"', f);
}

/* A figure: integer nanoseconds for times (ns and ns/frame), %.6g
 * otherwise, empty when not measured. */
static void cmp_csv_num(FILE *f, enum cmp_unit u, double v)
{
	if (isnan(v))
		fprintf(f, ",");
	else if (u == CMP_U_NS || u == CMP_U_NSF)
		fprintf(f, ",%.0f", v);
	else
		fprintf(f, ",%.6g", v);
}

static void cmp_csv_head(FILE *f, const struct cmp_case *k)
{
	fprintf(f, "%s,", k->backend);
	cmp_csv_str(f, k->vlabel);
	fprintf(f, ",%g", k->x);
}

static FILE *cmp_csv_open(const struct cmp *c, const char *name, const char *suffix, char *path,
			  size_t len)
{
	cmp_sfmt(path, len, "%s/%s%s.csv", c->out, name, suffix);
	FILE *f = fopen(path, "w");
	if (!f)
		msg("compare: cannot write %s: %s", path, strerror(errno));
	return f;
}

static int cmp_csv_close(FILE *f, const char *path)
{
	if (fclose(f) != 0) {
		msg("compare: writing %s failed: %s", path, strerror(errno));
		return -1;
	}
	return 0;
}

/* SCENARIO.csv: a row per repetition; SCENARIO-medians.csv: a row per
 * case with each figure's median, min and max. */
int cmp_write_csv(const struct cmp *c, const struct cmp_scen *sc)
{
	char path[CMP_PATH + 48], mpath[CMP_PATH + 48];
	FILE *f = cmp_csv_open(c, sc->name, "", path, sizeof(path));
	if (!f)
		return -1;
	FILE *m = cmp_csv_open(c, sc->name, "-medians", mpath, sizeof(mpath));
	if (!m) {
		fclose(f);
		return -1;
	}
	fprintf(f, "backend,variant,x,rep,state");
	fprintf(m, "backend,variant,x,state,repetitions_ok,saturated_reps,client_limited_reps");
	for (unsigned i = 0; i < sc->nmetrics; i++) {
		const char *key = sc->metrics[i].key;
		fprintf(f, ",%s", key);
		fprintf(m, ",%s,%s_min,%s_max", key, key, key);
	}
	fprintf(f, ",wall_ms,note\n");
	fprintf(m, ",note\n");
	for (size_t i = 0; i < c->ncases; i++) {
		const struct cmp_case *k = &c->cases[i];
		if (k->sc != sc)
			continue;
		for (unsigned r = 0; r < k->nrep; r++) {
			const struct cmp_rep *p = &k->rep[r];
			cmp_csv_head(f, k);
			fprintf(f, ",%u,%s", r + 1, cmp_state_name(p->state));
			for (unsigned j = 0; j < sc->nmetrics; j++)
				cmp_csv_num(f, sc->metrics[j].unit, p->m[j]);
			cmp_csv_num(f, CMP_U_COUNT, round(p->wall_s * 1e3));
			fprintf(f, ",");
			cmp_csv_str(f, p->why);
			fprintf(f, "\n");
		}
		cmp_csv_head(m, k);
		fprintf(m, ",%s,%u,%u,%u", cmp_state_name(k->state), k->nok, k->saturated,
			k->client_limited);
		for (unsigned j = 0; j < sc->nmetrics; j++) {
			cmp_csv_num(m, sc->metrics[j].unit, k->med[j]);
			cmp_csv_num(m, sc->metrics[j].unit, k->lo[j]);
			cmp_csv_num(m, sc->metrics[j].unit, k->hi[j]);
		}
		fprintf(m, ",");
		cmp_csv_str(m, k->why);
		fprintf(m, "\n");
	}
	int rc = cmp_csv_close(f, path);
	return cmp_csv_close(m, mpath) < 0 ? -1 : rc;
}

/* ---- results.json ------------------------------------------------------------ */

static void cmp_json_metrics(struct jw *w, const char *key, const struct cmp_scen *sc, const double *m)
{
	jw_obj_begin(w, key);
	for (unsigned i = 0; i < sc->nmetrics; i++)
		if (isnan(m[i]))
			jw_null(w, sc->metrics[i].key);
		else
			jw_num(w, sc->metrics[i].key, m[i]);
	jw_obj_end(w);
}

static const char *cmp_unit_name(enum cmp_unit u)
{
	static const char *const names[] = { "count", "ns", "ns/frame", "1/s", "MB/s", "per frame",
					      "MiB", "ms", "%" };
	return names[u];
}

static void cmp_json_case(struct jw *w, const struct cmp_case *k)
{
	jw_obj_begin(w, NULL);
	jw_str(w, "backend", k->backend);
	jw_str(w, "variant", k->vlabel);
	jw_num(w, "x", k->x);
	jw_str(w, "state", cmp_state_name(k->state));
	jw_str(w, "note", k->why);
	jw_u64(w, "repetitions_ok", k->nok);
	jw_u64(w, "saturated_repetitions", k->saturated);
	jw_u64(w, "client_limited_repetitions", k->client_limited);
	jw_bool(w, "not_accepted", k->not_accepted);
	cmp_json_metrics(w, "median", k->sc, k->med);
	cmp_json_metrics(w, "min", k->sc, k->lo);
	cmp_json_metrics(w, "max", k->sc, k->hi);
	jw_arr_begin(w, "repetitions");
	for (unsigned r = 0; r < k->nrep; r++) {
		jw_obj_begin(w, NULL);
		jw_u64(w, "rep", r + 1);
		jw_str(w, "state", cmp_state_name(k->rep[r].state));
		jw_str(w, "note", k->rep[r].why);
		jw_num(w, "wall_s", k->rep[r].wall_s);
		cmp_json_metrics(w, "metrics", k->sc, k->rep[r].m);
		jw_obj_end(w);
	}
	jw_arr_end(w);
	if (k->nbuckets) {
		/* latency: the histogram of every repetition merged, for the CDF */
		jw_arr_begin(w, "rtt_buckets");
		for (size_t i = 0; i < k->nbuckets; i++) {
			jw_arr_begin(w, NULL);
			jw_num(w, NULL, k->bucket_lo[i]);
			jw_num(w, NULL, k->bucket_n[i]);
			jw_arr_end(w);
		}
		jw_arr_end(w);
	}
	jw_obj_end(w);
}

int cmp_write_json(const struct cmp *c)
{
	char path[CMP_PATH + 32];
	struct cmp_target t[10];
	size_t nt = cmp_targets(c, t, ARRAY_SIZE(t));
	struct jw w;

	cmp_sfmt(path, sizeof(path), "%s/results.json", c->out);
	FILE *f = fopen(path, "w");
	if (!f) {
		msg("compare: cannot write %s: %s", path, strerror(errno));
		return -1;
	}
	jw_init(&w, f);
	jw_obj_begin(&w, NULL);
	meta_write(&w, "daqmux-compare", CMP_SCHEMA_VERSION, &c->mach.start);
	if (c->error[0])
		jw_str(&w, "error", c->error);
	jw_str(&w, "tool", "daqmux compare");
	jw_obj_begin(&w, "machine");
	jw_str(&w, "date", c->mach.date);
	jw_str(&w, "hostname", c->mach.hostname);
	jw_str(&w, "kernel", c->mach.kernel);
	jw_str(&w, "cpu_model", c->mach.cpu_model);
	jw_i64(&w, "cores", c->mach.cores);
	jw_bool(&w, "pinned", c->cpu_server >= 0);
	jw_i64(&w, "server_cpu", c->cpu_server);
	jw_i64(&w, "client_cpu", c->cpu_client);
	jw_i64(&w, "nofile", c->nofile);
	jw_i64(&w, "nofile_hard", c->nofile_hard);
	jw_obj_end(&w);
	jw_obj_begin(&w, "reproducibility");
	jw_arr_begin(&w, "load_before");
	for (int i = 0; i < 3; i++)
		jw_num(&w, NULL, c->mach.load_before[i]);
	jw_arr_end(&w);
	jw_arr_begin(&w, "load_after");
	for (int i = 0; i < 3; i++)
		jw_num(&w, NULL, c->mach.load_after[i]);
	jw_arr_end(&w);
	jw_bool(&w, "busy_before", c->mach.busy);
	jw_str(&w, "governor_server_cpu", c->mach.gov_server[0] ? c->mach.gov_server : NULL);
	jw_str(&w, "governor_client_cpu", c->mach.gov_client[0] ? c->mach.gov_client : NULL);
	jw_bool(&w, "pinned", c->cpu_server >= 0);
	jw_num(&w, "saturated_at_pct", CMP_SATURATED_PCT);
	jw_obj_end(&w);
	jw_obj_begin(&w, "plan");
	jw_bool(&w, "quick", c->o.quick);
	jw_u64(&w, "repeat", c->p.repeat);
	jw_num(&w, "blocked_s", c->p.blocked_s);
	jw_num(&w, "silent_s", c->p.silent_s);
	jw_num(&w, "latency_s", c->p.latency_s);
	jw_num(&w, "sockperf_s", c->p.sockperf_s);
	jw_num(&w, "throughput_s", c->p.throughput_s);
	jw_num(&w, "idle_s", c->p.idle_s);
	jw_arr_begin(&w, "idle_counts");
	for (unsigned i = 0; i < c->p.nidle; i++)
		jw_u64(&w, NULL, c->p.idle_counts[i]);
	jw_arr_end(&w);
	cmp_scaling_plan_json(&w, c);
	jw_obj_end(&w);
	jw_num(&w, "wall_s", c->wall_s);
	jw_num(&w, "estimated_s", c->est_total_s);
	jw_bool(&w, "interrupted", c->interrupted);
	jw_arr_begin(&w, "backends");
	for (size_t i = 0; i < c->nbe; i++) {
		jw_obj_begin(&w, NULL);
		jw_str(&w, "name", c->be[i].be->name);
		jw_bool(&w, "available", c->be[i].available);
		jw_bool(&w, "selected", c->be[i].selected);
		jw_str(&w, "why", c->be[i].available ? NULL : c->be[i].why);
		jw_obj_end(&w);
	}
	jw_arr_end(&w);
	jw_obj_begin(&w, "reference");
	jw_bool(&w, "sockperf", c->have_sockperf);
	jw_str(&w, "sockperf_why", c->have_sockperf ? NULL : c->sockperf_why);
	jw_str(&w, "sockperf_note", "sockperf reports one-way latency = RTT/2; stored here x2 as RTT");
	jw_bool(&w, "gnuplot", c->have_gnuplot);
	jw_str(&w, "gnuplot_terminal", c->have_gnuplot ? c->gp_term : NULL);
	jw_obj_end(&w);
	jw_arr_begin(&w, "targets");
	for (size_t i = 0; i < nt; i++) {
		jw_obj_begin(&w, NULL);
		jw_str(&w, "target", t[i].name);
		jw_str(&w, "verdict", cmp_verdict_name(t[i].verdict));
		jw_str(&w, "measured", t[i].detail);
		jw_obj_end(&w);
	}
	jw_arr_end(&w);
	jw_obj_begin(&w, "scenarios");
	for (int s = 0; s < CMP_NSCENS; s++) {
		const struct cmp_scen *sc = &cmp_scens[s];
		if (!(c->o.scen_mask & (1u << s)))
			continue;
		jw_obj_begin(&w, sc->name);
		jw_str(&w, "title", sc->title);
		jw_arr_begin(&w, "metrics");
		for (unsigned i = 0; i < sc->nmetrics; i++) {
			jw_obj_begin(&w, NULL);
			jw_str(&w, "key", sc->metrics[i].key);
			jw_str(&w, "label", sc->metrics[i].label);
			jw_str(&w, "unit", cmp_unit_name(sc->metrics[i].unit));
			jw_obj_end(&w);
		}
		jw_arr_end(&w);
		jw_arr_begin(&w, "cases");
		for (size_t i = 0; i < c->ncases; i++)
			if (c->cases[i].sc == sc)
				cmp_json_case(&w, &c->cases[i]);
		jw_arr_end(&w);
		jw_obj_end(&w);
	}
	jw_obj_end(&w);
	jw_obj_end(&w);
	int rc = jw_finish(&w);
	if (fclose(f) != 0 || rc < 0) {
		msg("compare: writing %s failed", path);
		return -1;
	}
	return 0;
}
