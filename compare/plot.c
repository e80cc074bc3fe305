/*
 * plot.c - the report's PNG plots, drawn by gnuplot.
 *
 * Each plot is a data file and a gnuplot script in --out/data/, run with
 * --out as the working directory, so that `cd report && gnuplot
 * data/plot-idle.gp` redraws it by hand. pngcairo when gnuplot has it,
 * else the libgd png terminal; without gnuplot there are no plots and
 * report.md says so.
 *
 *   blocked-timeline.png  send time vs latency (log) of every frame, one
 *                         panel per backend: the stall is a wall of dots
 *   latency-cdf.png       RTT CDF per backend, 1 and 8 sources, with
 *                         sockperf's as the floor
 *   throughput.png        frames/s, MB/s and CPU per frame, bars per backend
 *   idle-scaling.png      CPU per frame, p99 and memory vs idle connections
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

/* One colour per backend, by its place in the kit's table. */
static const char *const cmp_colours[] = {
	"#d62728", "#ff7f0e", "#2ca02c", "#1f77b4", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f",
};

static const char *cmp_colour(const struct cmp *c, const char *backend)
{
	for (size_t i = 0; i < c->nbe; i++)
		if (strcmp(c->be[i].be->name, backend) == 0)
			return cmp_colours[i % ARRAY_SIZE(cmp_colours)];
	return "#000000";
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

/* Log axes with 1-2-5 steps: easier to read off than powers of ten alone. */
static const char cmp_125_tics[] =
	"set ytics ('0.1' 0.1, '0.2' 0.2, '0.5' 0.5, '1' 1, '2' 2, '5' 5, '10' 10, '20' 20, "
	"'50' 50, '100' 100, '200' 200, '500' 500, '1000' 1000, '2000' 2000, '5000' 5000, "
	"'10000' 10000)\n";

static const char cmp_time125_tics[] =
	"set ytics ('10 us' 1e-5, '20 us' 2e-5, '50 us' 5e-5, '100 us' 1e-4, '200 us' 2e-4, "
	"'500 us' 5e-4, '1 ms' 1e-3, '2 ms' 2e-3, '5 ms' 5e-3, '10 ms' 1e-2, '20 ms' 2e-2, "
	"'50 ms' 5e-2, '100 ms' 0.1, '200 ms' 0.2, '500 ms' 0.5, '1 s' 1, '2 s' 2, '5 s' 5)\n";

/* ---- blocked ----------------------------------------------------------------- */

static int cmp_plot_blocked(const struct cmp *c, char *made, size_t len)
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
	cmp_gp_term(f, c, 1000, 120 + 190 * (int)n, "blocked-timeline.png");
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
			"lc rgb '#1f77b4' title 'sources 1-3', "
			"'' using 1:($3 == 0 ? $2 : 1/0) with points pt 7 ps 0.25 lc rgb '#d62728' "
			"title 'source 0 (silent at first)'\n", k[i]->plotdata);
	}
	fprintf(f, "unset multiplot\n");
	fclose(f);
	return cmp_gp_run(c, "data/plot-blocked.gp", "blocked-timeline.png", made, len);
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

static int cmp_plot_latency(const struct cmp *c, char *made, size_t len)
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
			if (k == ref) {
				cmp_sfmt(style, sizeof(style), "linespoints lw 2 dt 2 pt 6 lc rgb '#000000'");
				cmp_sfmt(title, sizeof(title), "sockperf TCP ping-pong (floor; RTT = 2 x its one-way)");
			} else {
				cmp_sfmt(style, sizeof(style), "lines lw 2 lc rgb '%s'", cmp_colour(c, k->backend));
				cmp_sfmt(title, sizeof(title), "%s%s", k->backend,
					 k->cdf.from_percentiles && !k->nbuckets ? " (percentiles)" : "");
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
	cmp_gp_term(f, c, 1200, 900, "latency-cdf.png");
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
	return cmp_gp_run(c, "data/plot-latency.gp", "latency-cdf.png", made, len);
}

/* ---- throughput bars ---------------------------------------------------------- */

/* A table file: one row per variant, one column per backend; '?' where
 * there is no figure. Returns the number of backends with any figure. */
static size_t cmp_table_write(const struct cmp *c, enum cmp_scen_id s, unsigned nvar,
			      const char *metric, double scale, const char *rel, const char **cols)
{
	char path[CMP_PATH + 64];
	size_t ncol = 0;

	for (size_t i = 0; i < c->nbe; i++) {
		const char *be = c->be[i].be->name;
		for (unsigned v = 0; v < nvar; v++)
			if (!isnan(cmp_med(c, s, be, v, metric))) {
				cols[ncol++] = be;
				break;
			}
	}
	if (!ncol)
		return 0;
	cmp_sfmt(path, sizeof(path), "%s/%s", c->out, rel);
	FILE *f = fopen(path, "w");
	if (!f)
		return 0;
	fprintf(f, "# %s: variant", metric);
	for (size_t j = 0; j < ncol; j++)
		fprintf(f, " %s", cols[j]);
	fprintf(f, "\n");
	for (unsigned v = 0; v < nvar; v++) {
		const struct cmp_case *k = cmp_find(c, s, cols[0], v);
		fprintf(f, "%u \"%s\"", v, k ? k->vlabel : "?");
		for (size_t j = 0; j < ncol; j++) {
			double x = cmp_med(c, s, cols[j], v, metric);
			if (isnan(x) || x <= 0)
				fprintf(f, " ?");
			else
				fprintf(f, " %.6g", x * scale);
		}
		fprintf(f, "\n");
	}
	fclose(f);
	return ncol;
}

static void cmp_gp_bars(FILE *f, const struct cmp *c, const char *rel, const char **cols, size_t n)
{
	fprintf(f, "plot ");
	for (size_t j = 0; j < n; j++)
		fprintf(f, "%s'%s' using %zu%s lc rgb '%s' title '%s'", j ? ", " : "", rel, j + 3,
			j ? "" : ":xtic(2)", cmp_colour(c, cols[j]), cols[j]);
	fprintf(f, "\n");
}

static int cmp_plot_throughput(const struct cmp *c, char *made, size_t len)
{
	const char *cols[CMP_MAX_BACKENDS];
	char path[CMP_PATH + 64];
	size_t n;

	FILE *f = cmp_gp_open(c, "plot-throughput.gp", path, sizeof(path));
	if (!f)
		return -1;
	cmp_gp_term(f, c, 1000, 1050, "throughput.png");
	fprintf(f, "set multiplot layout 3,1 title 'throughput: 8 sources at --rate max (medians)'\n");
	fprintf(f, "set style data histograms\nset style histogram clustered gap 1\n"
		"set style fill solid 0.85 border -1\nset boxwidth 0.9\nset key outside right top\n"
		"set xlabel 'payload'\nset xrange [-0.55:2.55]\n");
	n = cmp_table_write(c, CMP_THROUGHPUT, 3, "frames_per_s", 1e-6, "data/throughput-fps.dat", cols);
	if (!n) {
		fclose(f);
		return 0;
	}
	fprintf(f, "set title 'frames received per second'\nset logscale y\nset ylabel 'million frames/s'\n");
	cmp_gp_bars(f, c, "data/throughput-fps.dat", cols, n);
	n = cmp_table_write(c, CMP_THROUGHPUT, 3, "mb_per_s", 1, "data/throughput-mbs.dat", cols);
	fprintf(f, "set title 'payload bytes received per second'\nunset logscale y\nset yrange [0:*]\n"
		"set ylabel 'MB/s'\n");
	cmp_gp_bars(f, c, "data/throughput-mbs.dat", cols, n);
	n = cmp_table_write(c, CMP_THROUGHPUT, 3, "cpu_ns_per_frame", 1, "data/throughput-cpu.dat", cols);
	fprintf(f, "set title 'server CPU (user+sys) per frame; the target for epoll and uring at 64 B "
		"is 150 ns (dashed)'\nset logscale y\nset yrange [*:*]\nset ylabel 'ns per frame'\n");
	fprintf(f, "set arrow 2 from graph 0, first 150 to graph 1, first 150 nohead dt 2 lc rgb '#444444'\n");
	cmp_gp_bars(f, c, "data/throughput-cpu.dat", cols, n);
	fprintf(f, "unset multiplot\n");
	fclose(f);
	return cmp_gp_run(c, "data/plot-throughput.gp", "throughput.png", made, len);
}

/* ---- idle scaling ----------------------------------------------------------------- */

static void cmp_gp_lines(FILE *f, const struct cmp *c, const char *rel, const char **cols, size_t n)
{
	fprintf(f, "plot ");
	for (size_t j = 0; j < n; j++)
		fprintf(f, "%s'%s' using 1:%zu%s with linespoints lw 2 pt 7 lc rgb '%s' title '%s'",
			j ? ", " : "", rel, j + 3, j ? "" : ":xtic(2)", cmp_colour(c, cols[j]), cols[j]);
	fprintf(f, "\n");
}

static int cmp_plot_idle(const struct cmp *c, char *made, size_t len)
{
	const char *cols[CMP_MAX_BACKENDS];
	char path[CMP_PATH + 64];
	size_t n;

	FILE *f = cmp_gp_open(c, "plot-idle.gp", path, sizeof(path));
	if (!f)
		return -1;
	cmp_gp_term(f, c, 1000, 1050, "idle-scaling.png");
	fprintf(f, "set multiplot layout 3,1 title 'idle scaling: 8 sources at 1 kHz plus N idle "
		"connections (medians; a missing point is unsupported or failed)'\n");
	fprintf(f, "set xlabel 'idle connections'\nset xrange [-0.2:%u.2]\nset key outside right top\n"
		"set logscale y\n", c->p.nidle - 1);
	n = cmp_table_write(c, CMP_IDLE, c->p.nidle, "cpu_ns_per_frame", 1e-3, "data/idle-cpu.dat", cols);
	if (!n) {
		fclose(f);
		return 0;
	}
	fprintf(f, "set title 'server CPU per frame (steady state)'\nset ylabel 'us per frame'\n%s",
		cmp_125_tics);
	cmp_gp_lines(f, c, "data/idle-cpu.dat", cols, n);
	n = cmp_table_write(c, CMP_IDLE, c->p.nidle, "p99_ns", 1e-9, "data/idle-p99.dat", cols);
	fprintf(f, "set title 'p99 latency'\nset ylabel 'latency'\n%s", cmp_time125_tics);
	cmp_gp_lines(f, c, "data/idle-p99.dat", cols, n);
	n = cmp_table_write(c, CMP_IDLE, c->p.nidle, "max_rss_mib", 1, "data/idle-rss.dat", cols);
	fprintf(f, "set title 'peak memory of the server (max RSS)'\nset ylabel 'MiB'\n%s", cmp_125_tics);
	cmp_gp_lines(f, c, "data/idle-rss.dat", cols, n);
	fprintf(f, "unset multiplot\n");
	fclose(f);
	return cmp_gp_run(c, "data/plot-idle.gp", "idle-scaling.png", made, len);
}

int cmp_plot_all(struct cmp *c, char *made, size_t len)
{
	static const char *const pngs[] = { "blocked-timeline.png", "latency-cdf.png",
					    "throughput.png", "idle-scaling.png" };
	char p[CMP_PATH + 64];
	int rc = 0;

	/* A plot of an earlier run must not pass for this one's. */
	for (size_t i = 0; i < ARRAY_SIZE(pngs); i++) {
		cmp_sfmt(p, sizeof(p), "%s/%s", c->out, pngs[i]);
		unlink(p);
	}
	made[0] = '\0';
	if (!c->have_gnuplot)
		return 0;
	if ((c->o.scen_mask & (1u << CMP_BLOCKED)) && cmp_plot_blocked(c, made, len) < 0)
		rc = -1;
	if ((c->o.scen_mask & (1u << CMP_LATENCY)) && cmp_plot_latency(c, made, len) < 0)
		rc = -1;
	if ((c->o.scen_mask & (1u << CMP_THROUGHPUT)) && cmp_plot_throughput(c, made, len) < 0)
		rc = -1;
	if ((c->o.scen_mask & (1u << CMP_IDLE)) && cmp_plot_idle(c, made, len) < 0)
		rc = -1;
	return rc;
}
