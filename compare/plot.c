/*
 * plot.c - the report's PNG plots, drawn by gnuplot.
 *
 * Each plot is a data file and a gnuplot script in --out/data/, run with
 * --out as the working directory, so that `cd report && gnuplot
 * data/plot-idle.gp` redraws it by hand. pngcairo when gnuplot has it,
 * else the libgd png terminal; without gnuplot there are no plots and
 * report.md says so.
 *
 * Which plot a scenario has, and its panels, is data: cmp_views in
 * report.c.
 *
 *   blocked-timeline.png  send time vs latency (log) of every frame, one
 *                         panel per backend: the stall is a wall of dots
 *   latency-cdf.png       RTT CDF per backend, 1 and 8 sources, with
 *                         sockperf's as the floor; a distribution known
 *                         only by its percentiles is drawn as those points
 *   throughput.png        frames/s, MB/s and CPU per frame per payload
 *   idle-scaling.png      CPU per frame, p99 and memory vs idle connections
 *   scaling.png           frames/s against the server's event loops N, a
 *                         panel per payload, a line per loop backend, the
 *                         thread-per-connection backend as a flat reference
 *
 * The last two are one kind: a panel per metric, each backend's median
 * with a min-max error bar per variant. A lower bound (client-limited)
 * is labelled ">=", a saturated server "sat", and a case that did not
 * measure (unsupported, failed, not every connection accepted) is not
 * drawn but named at the bottom of the panel. Every backend has its own
 * point and dash type besides its colour, so the plots read in grey.
 */
#include "compare_int.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util.h"

/* One colour, point type and dash type per backend, by its place in the
 * kit's table: the point and dash types tell them apart in grey. */
static const char *const cmp_colours[] = {
	"#d62728", "#ff7f0e", "#2ca02c", "#1f77b4", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f",
};
static const int cmp_points[] = { 7, 5, 9, 11, 13, 4, 6, 8 };

static size_t cmp_be_index(const struct cmp *c, const char *backend)
{
	for (size_t i = 0; i < c->nbe; i++)
		if (strcmp(c->be[i].be->name, backend) == 0)
			return i;
	return 0;
}

static const char *cmp_colour(const struct cmp *c, const char *backend)
{
	return cmp_colours[cmp_be_index(c, backend) % ARRAY_SIZE(cmp_colours)];
}

static int cmp_point(const struct cmp *c, const char *backend)
{
	return cmp_points[cmp_be_index(c, backend) % ARRAY_SIZE(cmp_points)];
}

static int cmp_dash(const struct cmp *c, const char *backend)
{
	return (int)(cmp_be_index(c, backend) % 5) + 1;
}

void cmp_plot_probe(struct cmp *c)
{
	char out[CMP_PATH + 32], why[200], line[512];
	char *argv[] = { "gnuplot", "-e", "set terminal", NULL };

	cmp_sfmt(out, sizeof(out), "%s/gnuplot-terminals.log", c->raw);
	int rc = cmp_exec(argv, out, NULL, 20, why, sizeof(why));
	if (rc != 0) {
		cmp_sfmt(c->gp_why, sizeof(c->gp_why), "gnuplot %s; apt-get install gnuplot-nox, or make "
			 "compare-deps", rc == 127 ? "is not installed (not found in PATH)" :
			 rc < 0 ? why : "does not run");
		unlink(out);
		return;
	}
	FILE *f = fopen(out, "r");
	int cairo = 0, gd = 0;
	while (f && fgets(line, sizeof(line), f)) {
		char word[64];
		if (sscanf(line, " %63s", word) != 1)
			continue;
		cairo |= strcmp(word, "pngcairo") == 0;
		gd |= strcmp(word, "png") == 0;
	}
	if (f)
		fclose(f);
	unlink(out);
	if (cairo || gd) {
		c->have_gnuplot = 1;
		cmp_sfmt(c->gp_term, sizeof(c->gp_term), "%s", cairo ? "pngcairo" : "png");
	} else {
		cmp_sfmt(c->gp_why, sizeof(c->gp_why), "this gnuplot has neither the pngcairo nor the "
			 "png terminal");
	}
}

static FILE *cmp_gp_open(const struct cmp *c, const char *name, char *path, size_t len)
{
	cmp_sfmt(path, len, "%s/data/%s", c->out, name);
	FILE *f = fopen(path, "w");
	if (!f)
		msg("compare: cannot write %s: %s", path, strerror(errno));
	return f;
}

static void cmp_gp_term(FILE *f, const struct cmp *c, int w, int h, const char *png)
{
	if (strcmp(c->gp_term, "pngcairo") == 0)
		fprintf(f, "set terminal pngcairo size %d,%d font 'sans,10' noenhanced\n", w, h);
	else
		fprintf(f, "set terminal png size %d,%d noenhanced\n", w, h);
	fprintf(f, "set output '%s'\nset datafile missing '?'\nset grid lc rgb '#dddddd'\n", png);
	fprintf(f, "set key noenhanced\n");
}

/* Run one script with --out as the working directory. */
static int cmp_gp_run(const struct cmp *c, const char *script, const char *png, char *made,
		      size_t len)
{
	char log[CMP_PATH + 64], why[200], pngpath[CMP_PATH + 64];
	struct stat st;
	char *argv[] = { "gnuplot", (char *)script, NULL };

	cmp_sfmt(log, sizeof(log), "%s/gnuplot-%s.log", c->raw, png);
	cmp_sfmt(pngpath, sizeof(pngpath), "%s/%s", c->out, png);
	int rc = cmp_exec(argv, log, c->out, 60, why, sizeof(why));
	if (rc != 0 || stat(pngpath, &st) < 0 || st.st_size == 0) {
		char line[300] = "";
		cmp_log_line(log, NULL, line, sizeof(line));
		msg("compare: gnuplot failed for %s: %s%s%s", png, rc < 0 ? why : "see its log",
		    line[0] ? ": " : "", line);
		return -1;
	}
	if (st.st_size && stat(log, &st) == 0 && st.st_size == 0)
		unlink(log);
	cmp_sfmt(made + strlen(made), len - strlen(made), "%s%s", made[0] ? ", " : "", png);
	return 0;
}

static const char cmp_time_tics[] =
	"set ytics ('1 us' 1e-6, '10 us' 1e-5, '100 us' 1e-4, '1 ms' 1e-3, '10 ms' 1e-2, "
	"'100 ms' 0.1, '1 s' 1, '10 s' 10)\n";

/* ---- blocked ----------------------------------------------------------------- */

static int cmp_plot_blocked(const struct cmp *c, const struct cmp_view *vw, char *made, size_t len)
{
	const struct cmp_case *k[CMP_MAX_BACKENDS];
	size_t n = 0;
	char path[CMP_PATH + 64];

	for (size_t i = 0; i < c->nbe; i++) {
		const struct cmp_case *x = cmp_find(c, CMP_BLOCKED, c->be[i].be->name, 0);
		if (x && x->plotdata[0])
			k[n++] = x;
	}
	if (!n)
		return 0;
	FILE *f = cmp_gp_open(c, "plot-blocked.gp", path, sizeof(path));
	if (!f)
		return -1;
	cmp_gp_term(f, c, 1000, 120 + 190 * (int)n, vw->png);
	fprintf(f, "set multiplot layout %zu,1 title 'blocked: latency of every frame; source 0 is "
		"silent for the first %.1f s (first repetition)'\n", n, c->p.silent_s);
	fprintf(f, "set logscale y\nset yrange [1e-6:20]\n%s", cmp_time_tics);
	fprintf(f, "set xrange [0:%g]\nset ylabel 'latency'\n", c->p.blocked_s + 0.1);
	/* One key for all panels, under the page title: it hides no data. */
	fprintf(f, "set key at screen 0.98, screen %.4f right top horizontal\n",
		1 - 24.0 / (120 + 190 * (double)n));
	fprintf(f, "set arrow 1 from %g, graph 0 to %g, graph 1 nohead dt 2 lc rgb '#888888'\n",
		c->p.silent_s, c->p.silent_s);
	for (size_t i = 0; i < n; i++) {
		fprintf(f, "set title '%s'\n", k[i]->backend);
		if (i == 1)
			fprintf(f, "unset key\n");
		if (i == n - 1)
			fprintf(f, "set xlabel 'send time (s after the first frame)'\n");
		fprintf(f, "plot '%s' using 1:($3 != 0 ? $2 : 1/0) with points pt 7 ps 0.25 "
			"lc rgb '#1f77b4' title 'sources 1-3 (dots)', "
			"'' using 1:($3 == 0 ? $2 : 1/0) with points pt 2 ps 0.5 lc rgb '#d62728' "
			"title 'source 0, silent at first (crosses)'\n", k[i]->plotdata);
	}
	fprintf(f, "unset multiplot\n");
	fclose(f);
	return cmp_gp_run(c, "data/plot-blocked.gp", vw->png, made, len);
}

/* ---- latency CDF -------------------------------------------------------------- */

static int cmp_cdf_cmp(const void *a, const void *b)
{
	const double *x = a, *y = b;
	return x[0] < y[0] ? -1 : x[0] > y[0];
}

/* The case's CDF as "rtt_us fraction" lines; 0 if there was nothing. */
static int cmp_cdf_write(const struct cmp *c, const struct cmp_case *k, char *rel, size_t len)
{
	char path[CMP_PATH + 64];
	cmp_sfmt(rel, len, "data/latency-cdf-%s-%.0f.dat", k->backend, k->x);
	cmp_sfmt(path, sizeof(path), "%s/%s", c->out, rel);
	if (k->state != CMP_OK || (!k->nbuckets && !k->cdf.n))
		return 0;
	FILE *f = fopen(path, "w");
	if (!f)
		return 0;
	if (k->nbuckets) {
		double (*v)[2] = malloc(k->nbuckets * sizeof(*v)), total = 0, cum = 0;
		if (!v) {
			fclose(f);
			return 0;
		}
		for (size_t i = 0; i < k->nbuckets; i++) {
			v[i][0] = k->bucket_lo[i];
			v[i][1] = k->bucket_n[i];
			total += v[i][1];
		}
		qsort(v, k->nbuckets, sizeof(*v), cmp_cdf_cmp);
		fprintf(f, "# rtt_us fraction<=  (%s, %s; histogram buckets of every repetition)\n",
			k->backend, k->vlabel);
		for (size_t i = 0; i < k->nbuckets; i++) {
			cum += v[i][1];
			fprintf(f, "%.4f %.6f\n", v[i][0] / 1e3, cum / total);
		}
		free(v);
	} else {
		fprintf(f, "# rtt_us fraction<=  (%s, %s; through the percentiles only)\n", k->backend,
			k->vlabel);
		for (size_t i = 0; i < k->cdf.n; i++)
			fprintf(f, "%.4f %.6f\n", k->cdf.x[i] / 1e3, k->cdf.y[i]);
	}
	fclose(f);
	return 1;
}

static int cmp_plot_latency(const struct cmp *c, const struct cmp_view *vw, char *made, size_t len)
{
	char path[CMP_PATH + 64], rel[200];
	char plot[2][2][4096];   /* [variant][cdf, tail] */
	size_t np[2] = { 0, 0 };
	FILE *f = cmp_gp_open(c, "plot-latency.gp", path, sizeof(path));
	if (!f)
		return -1;
	const struct cmp_case *ref = cmp_find(c, CMP_LATENCY, "sockperf", 0);
	for (unsigned v = 0; v < 2; v++) {
		plot[v][0][0] = plot[v][1][0] = '\0';
		for (size_t i = 0; i <= c->nbe; i++) {
			const struct cmp_case *k = i < c->nbe ? cmp_find(c, CMP_LATENCY, c->be[i].be->name, v)
							      : v == 0 ? ref : NULL;
			if (!k || !cmp_cdf_write(c, k, rel, sizeof(rel)))
				continue;
			char style[200], title[160];
			/* Percentiles are points of the curve, not the curve:
			 * drawn as points, never joined. */
			if (k == ref) {
				cmp_sfmt(style, sizeof(style), "points pt 6 ps 1.5 lc rgb '#000000'");
				cmp_sfmt(title, sizeof(title), "sockperf percentiles (floor, 2 x one-way)");
			} else if (k->cdf.from_percentiles && !k->nbuckets) {
				cmp_sfmt(style, sizeof(style), "points pt %d ps 1.2 lc rgb '%s'",
					 cmp_point(c, k->backend), cmp_colour(c, k->backend));
				cmp_sfmt(title, sizeof(title), "%s (percentiles only)", k->backend);
			} else {
				cmp_sfmt(style, sizeof(style), "lines lw 2 dt %d lc rgb '%s'",
					 cmp_dash(c, k->backend), cmp_colour(c, k->backend));
				cmp_sfmt(title, sizeof(title), "%s", k->backend);
			}
			for (int t = 0; t < 2; t++)
				cmp_sfmt(plot[v][t] + strlen(plot[v][t]), sizeof(plot[v][t]) - strlen(plot[v][t]),
					 "%s'%s' using 1:%s with %s title '%s'", np[v] ? ", " : "", rel,
					 t ? "(1 - $2 > 0 ? 1 - $2 : 1/0)" : "2", style, title);
			np[v]++;
		}
	}
	if (!np[0] && !np[1]) {
		fclose(f);
		return 0;
	}
	cmp_gp_term(f, c, 1200, 900, vw->png);
	fprintf(f, "set multiplot layout 2,2 title 'latency: pull-mode RTT (REQUEST sent -> DATA "
		"received), all repetitions; top: CDF, bottom: the tail'\n");
	fprintf(f, "set logscale x\nset xlabel 'round-trip time (us)'\nset key bottom right\n");
	for (int t = 0; t < 2; t++)
		for (unsigned v = 0; v < 2; v++) {
			fprintf(f, "set title '%u source%s%s'\n", c->p.latency_sources[v], v ? "s" : "",
				t ? ": fraction slower than x" : "");
			if (t)
				fprintf(f, "set logscale y\nset yrange [1e-5:1]\nset ylabel 'fraction of round "
					"trips > x'\nset key top right\nset ytics ('100%%%%' 1, '10%%%%' 0.1, "
					"'1%%%%' 0.01, '0.1%%%%' 0.001, '0.01%%%%' 1e-4, '0.001%%%%' 1e-5)\n");
			else
				fprintf(f, "set yrange [0:1.02]\nset ylabel 'fraction of round trips <= x'\n");
			if (np[v])
				fprintf(f, "plot %s\n", plot[v][t]);
			else
				fprintf(f, "set label 1 'no data' at graph 0.5, graph 0.5 center\n"
					"plot 1/0 notitle\nunset label 1\n");
		}
	fprintf(f, "unset multiplot\n");
	fclose(f);
	return cmp_gp_run(c, "data/plot-latency.gp", vw->png, made, len);
}

/* ---- a panel per metric, against the variants ------------------------------- */

/* How a case shows on a panel: drawn (perhaps marked), or not drawn. */
static const char *cmp_mark(const struct cmp *c, const struct cmp_case *k, int m)
{
	unsigned fl = k->sc->metrics[m].flags;
	if ((fl & CMP_MF_RATE) && k->client_limited)
		return strcmp(c->gp_term, "pngcairo") == 0 ? "≥" : ">=";
	if ((fl & CMP_MF_CPU) && k->saturated)
		return "sat";
	return "-";
}

static int cmp_drawn(const struct cmp_case *k, int m)
{
	return k && k->state == CMP_OK && !k->not_accepted && !isnan(k->med[m]) && k->med[m] > 0;
}

/* The panel's data: a row per variant, then per backend its median, min,
 * max (scaled; '?' where not drawn) and its mark. Returns the number of
 * backends with any case. */
static size_t cmp_panel_data(const struct cmp *c, const struct cmp_scen *sc,
			     const struct cmp_panel *pn, const char *rel, const char **cols)
{
	char path[CMP_PATH + 64];
	unsigned nv = sc->nvariants(c);
	size_t ncol = 0;

	for (size_t i = 0; i < c->nbe; i++)
		if (cmp_find(c, sc->id, c->be[i].be->name, 0))
			cols[ncol++] = c->be[i].be->name;
	if (!ncol)
		return 0;
	cmp_sfmt(path, sizeof(path), "%s/%s", c->out, rel);
	FILE *f = fopen(path, "w");
	if (!f)
		return 0;
	fprintf(f, "# %s x%g: variant label, then per backend: median min max mark\n# ", pn->metric,
		pn->scale);
	for (size_t j = 0; j < ncol; j++)
		fprintf(f, " %s", cols[j]);
	fprintf(f, "\n");
	for (unsigned v = 0; v < nv; v++) {
		char label[40];
		double x;
		sc->variant(c, v, label, sizeof(label), &x);
		fprintf(f, "%u \"%s\"", v, label);
		for (size_t j = 0; j < ncol; j++) {
			const struct cmp_case *k = cmp_find(c, sc->id, cols[j], v);
			int m = cmp_metric_index(sc, pn->metric);
			if (!cmp_drawn(k, m))
				fprintf(f, " ? ? ? -");
			else
				fprintf(f, " %.6g %.6g %.6g %s", k->med[m] * pn->scale, k->lo[m] * pn->scale,
					k->hi[m] * pn->scale, cmp_mark(c, k, m));
		}
		fprintf(f, "\n");
	}
	fclose(f);
	return ncol;
}

/* The cases of a panel that are not drawn, named in the right margin
 * under the key, where they hide no point. */
static void cmp_panel_missing(FILE *f, const struct cmp *c, const struct cmp_scen *sc,
			      const struct cmp_panel *pn, const char **cols, size_t n)
{
	int m = cmp_metric_index(sc, pn->metric);
	unsigned nv = sc->nvariants(c), tag = 10;
	double y = 0.40;

	fprintf(f, "unset label\n");
	for (unsigned v = 0; v < nv; v++)
		for (size_t j = 0; j < n; j++) {
			const struct cmp_case *k = cmp_find(c, sc->id, cols[j], v);
			if (!k || cmp_drawn(k, m) || y < 0)
				continue;
			const char *why = k->state != CMP_OK ? cmp_state_name(k->state) :
					  k->not_accepted ? "not accepted" : "no figure";
			if (tag == 10)
				fprintf(f, "set label 9 'not drawn:' at graph 1.03, graph 0.5 left "
					"font ',8'\n");
			fprintf(f, "set label %u \"%s %s\\n  %s\" at graph 1.03, graph %.3f left "
				"font ',8' tc rgb '%s'\n", tag++, cols[j], k->vlabel, why, y,
				cmp_colour(c, cols[j]));
			y -= 0.13;
		}
}

static void cmp_panel_plot(FILE *f, const struct cmp *c, const struct cmp_view *vw, const char *rel,
			   const char **cols, size_t n)
{
	fprintf(f, "plot ");
	for (size_t j = 0; j < n; j++) {
		size_t col = 3 + 4 * j;
		double off = ((double)j - (double)(n - 1) / 2) * (vw->join ? 0.04 : 0.6 / (double)n);
		fprintf(f, "%s'%s' using ($1%+.3f):%zu:%zu:%zu%s with %s lw 1.5 pt %d ps 1.2 dt %d "
			"lc rgb '%s' title '%s', '' using ($1%+.3f):%zu:(strcol(%zu) eq '-' ? '' : "
			"strcol(%zu)) with labels offset 0,1 font ',9' tc rgb '%s' notitle",
			j ? ", " : "", rel, off, col, col + 1, col + 2, j ? "" : ":xtic(2)",
			vw->join ? "yerrorlines" : "yerrorbars", cmp_point(c, cols[j]), cmp_dash(c, cols[j]),
			cmp_colour(c, cols[j]), cols[j], off, col + 2, col + 3, col + 3,
			cmp_colour(c, cols[j]));
	}
	fprintf(f, "\n");
}

static int cmp_plot_variants(const struct cmp *c, const struct cmp_view *vw, enum cmp_scen_id s,
			     char *made, size_t len)
{
	const struct cmp_scen *sc = &cmp_scens[s];
	const char *cols[CMP_MAX_BACKENDS];
	char path[CMP_PATH + 64], script[96], rel[128];
	unsigned nv = sc->nvariants(c);
	size_t np = 0, n = 0;

	while (np < ARRAY_SIZE(vw->panels) && vw->panels[np].metric)
		np++;
	cmp_sfmt(script, sizeof(script), "plot-%s.gp", sc->name);
	FILE *f = cmp_gp_open(c, script, path, sizeof(path));
	if (!f)
		return -1;
	cmp_gp_term(f, c, 1000, 350 * (int)np + 50, vw->png);
	fprintf(f, "set multiplot layout %zu,1 title '%s (medians, bars min-max; >= a lower bound, "
		"sat a saturated server)'\n", np, vw->plot_title);
	fprintf(f, "set xlabel '%s'\nset xrange [-0.4:%u.4]\nset key outside right top\n", vw->xlabel,
		nv - 1);
	for (size_t i = 0; i < np; i++) {
		const struct cmp_panel *pn = &vw->panels[i];
		cmp_sfmt(rel, sizeof(rel), "data/%s-%s.dat", sc->name, pn->metric);
		n = cmp_panel_data(c, sc, pn, rel, cols);
		if (!n)
			break;
		fprintf(f, "set title '%s'\nset ylabel '%s'\n%s%s", pn->title, pn->ylabel,
			pn->logy ? "set logscale y\n" : "unset logscale y\nset yrange [0:*]\n",
			pn->tics ? pn->tics : "set ytics auto\n");
		cmp_panel_missing(f, c, sc, pn, cols, n);
		cmp_panel_plot(f, c, vw, rel, cols, n);
		fprintf(f, "set yrange [*:*]\n");
	}
	fprintf(f, "unset multiplot\n");
	fclose(f);
	if (!n)
		return 0;
	cmp_sfmt(rel, sizeof(rel), "data/%s", script);
	return cmp_gp_run(c, rel, vw->png, made, len);
}

/* ---- frames/s against loops ---------------------------------------------------- */

/* One payload's panel: its data file (a row per N, per loop backend the
 * median, min and max in millions) and its plot command, with the
 * reference backends (a thread per connection: no N) as flat lines. */
static int cmp_scaling_panel(FILE *f, const struct cmp *c, const struct cmp_view *vw,
			     unsigned s)
{
	const struct cmp_plan *p = &c->p;
	const struct cmp_scen *sc = &cmp_scens[CMP_SCALING];
	const char *cols[CMP_MAX_BACKENDS], *refs[CMP_MAX_BACKENDS];
	size_t ncol = 0, nref = 0;
	char rel[128], path[CMP_PATH + 160];
	int m = cmp_metric_index(sc, "frames_per_s");

	for (size_t i = 0; i < c->nbe; i++) {
		const struct cmp_case *k = cmp_find(c, CMP_SCALING, c->be[i].be->name, s * p->nloops);
		if (!k)
			continue;
		if (backend_has(c->be[i].be, BE_THREAD_PER_CONN)) {
			if (cmp_drawn(k, m))
				refs[nref++] = c->be[i].be->name;
		} else {
			cols[ncol++] = c->be[i].be->name;
		}
	}
	if (!ncol)
		return 0;
	cmp_sfmt(rel, sizeof(rel), "data/scaling-%u.dat", p->scaling_sizes[s]);
	cmp_sfmt(path, sizeof(path), "%s/%s", c->out, rel);
	FILE *d = fopen(path, "w");
	if (!d)
		return -1;
	fprintf(d, "# frames/s (millions), %u-byte payloads: N, then per backend median min max\n# N",
		p->scaling_sizes[s]);
	for (size_t j = 0; j < ncol; j++)
		fprintf(d, " %s", cols[j]);
	fprintf(d, "\n");
	for (unsigned i = 0; i < p->nloops; i++) {
		fprintf(d, "%u", p->loops[i]);
		for (size_t j = 0; j < ncol; j++) {
			const struct cmp_case *k = cmp_find(c, CMP_SCALING, cols[j], s * p->nloops + i);
			if (cmp_drawn(k, m))
				fprintf(d, " %.6g %.6g %.6g", k->med[m] * 1e-6, k->lo[m] * 1e-6,
					k->hi[m] * 1e-6);
			else
				fprintf(d, " ? ? ?");
		}
		fprintf(d, "\n");
	}
	fclose(d);
	fprintf(f, "set title '%u-byte payloads'\nplot ", p->scaling_sizes[s]);
	for (size_t j = 0; j < ncol; j++)
		fprintf(f, "%s'%s' using 1:%zu:%zu:%zu with yerrorlines lw 1.5 pt %d ps 1.2 dt %d "
			"lc rgb '%s' title '%s'", j ? ", " : "", rel, 2 + 3 * j, 3 + 3 * j, 4 + 3 * j,
			cmp_point(c, cols[j]), cmp_dash(c, cols[j]), cmp_colour(c, cols[j]), cols[j]);
	for (size_t j = 0; j < nref; j++) {
		const struct cmp_case *k = cmp_find(c, CMP_SCALING, refs[j], s * p->nloops);
		fprintf(f, ", %.6g with lines lw 2 dt 2 lc rgb '%s' title '%s (reference)'",
			k->med[m] * 1e-6, cmp_colour(c, refs[j]), refs[j]);
	}
	fprintf(f, "\n");
	(void)vw;
	return 1;
}

static int cmp_plot_scaling(const struct cmp *c, const struct cmp_view *vw, char *made, size_t len)
{
	const struct cmp_plan *p = &c->p;
	char path[CMP_PATH + 64];
	int any = 0;

	FILE *f = cmp_gp_open(c, "plot-scaling.gp", path, sizeof(path));
	if (!f)
		return -1;
	cmp_gp_term(f, c, 1000, 380 * (int)p->nscaling_sizes + 60, vw->png);
	fprintf(f, "set multiplot layout %u,1 title \"%s (medians, bars min-max)%s\"\n",
		p->nscaling_sizes, vw->plot_title,
		p->nserver_cpus < p->loops[p->nloops - 1] ? "\\n(this machine has too few CPUs "
		"for the curve: its loops share the server CPUs)" : "");
	fprintf(f, "set xlabel '%s'\nset ylabel '%s'\nset key outside right top\n"
		"set logscale x 2\nset xrange [0.8:%g]\nset yrange [0:*]\nset xtics (", vw->xlabel,
		vw->panels[0].ylabel, p->loops[p->nloops - 1] * 1.25);
	for (unsigned i = 0; i < p->nloops; i++)
		fprintf(f, "%s'%u' %u", i ? ", " : "", p->loops[i], p->loops[i]);
	fprintf(f, ")\n");
	for (unsigned s = 0; s < p->nscaling_sizes; s++) {
		int r = cmp_scaling_panel(f, c, vw, s);
		if (r < 0) {
			fclose(f);
			return -1;
		}
		any |= r;
	}
	fprintf(f, "unset multiplot\n");
	fclose(f);
	return any ? cmp_gp_run(c, "data/plot-scaling.gp", vw->png, made, len) : 0;
}

int cmp_plot_all(struct cmp *c, char *made, size_t len)
{
	char p[CMP_PATH + 64];
	int rc = 0;

	/* A plot of an earlier run must not pass for this one's. */
	for (int s = 0; s < CMP_NSCENS; s++) {
		if (!cmp_views[s].png)
			continue;
		cmp_sfmt(p, sizeof(p), "%s/%s", c->out, cmp_views[s].png);
		unlink(p);
	}
	made[0] = '\0';
	if (!c->have_gnuplot)
		return 0;
	for (int s = 0; s < CMP_NSCENS; s++) {
		const struct cmp_view *vw = &cmp_views[s];
		int r = 0;
		if (!(c->o.scen_mask & (1u << s)))
			continue;
		switch (vw->plot) {
		case CMP_P_NONE: break;
		case CMP_P_TIMELINE: r = cmp_plot_blocked(c, vw, made, len); break;
		case CMP_P_CDF: r = cmp_plot_latency(c, vw, made, len); break;
		case CMP_P_VARIANTS: r = cmp_plot_variants(c, vw, (enum cmp_scen_id)s, made, len); break;
		case CMP_P_SCALING: r = cmp_plot_scaling(c, vw, made, len); break;
		}
		if (r < 0)
			rc = -1;
	}
	return rc;
}
