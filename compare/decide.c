/*
 * decide.c - which backend is better at one figure, and only where the
 * run shows it: the report's "Which backend for you" table and the
 * readings under each scenario's tables come from here.
 *
 * A difference is named only when the min-max ranges of the repetitions
 * do not overlap, and each side has two repetitions or more (one run
 * has no spread to judge by). A figure that is not a measurement of the
 * backend takes no part: a rate the client limited (a lower bound), a
 * CPU cost of a saturated server (a ceiling), an idle case where the
 * server did not take every connection.
 */
#include "compare_int.h"

#include <math.h>
#include <string.h>

#include "util.h"

const char *cmp_excluded(const struct cmp_case *k, int m)
{
	unsigned flags = k->sc->metrics[m].flags;

	if (k->not_accepted)
		return "did not accept every idle connection";
	if ((flags & CMP_MF_RATE) && k->client_limited)
		return "client-limited: a lower bound";
	if ((flags & CMP_MF_CPU) && k->saturated)
		return "server saturated: a ceiling, not a cost";
	return NULL;
}

static int cmp_overlap(const struct cmp_case *a, const struct cmp_case *b, int m)
{
	return a->lo[m] <= b->hi[m] && b->lo[m] <= a->hi[m];
}

void cmp_decide(const struct cmp *c, enum cmp_scen_id s, unsigned variant, const char *metric,
		enum cmp_better better, struct cmp_decision *d)
{
	memset(d, 0, sizeof(*d));
	d->metric = -1;
	for (size_t i = 0; i < c->nbe; i++) {
		const struct cmp_case *k = cmp_find(c, s, c->be[i].be->name, variant);
		if (!k || k->state != CMP_OK)
			continue;
		int m = d->metric = cmp_idx(k, metric);
		if (isnan(k->med[m]))
			continue;
		if (cmp_excluded(k, m)) {
			d->out[d->nout++] = k;
			continue;
		}
		/* insertion, best first */
		size_t j = d->nrank++;
		for (; j > 0; j--) {
			double a = d->rank[j - 1]->med[m], b = k->med[m];
			if (better == CMP_LOWER ? a <= b : a >= b)
				break;
			d->rank[j] = d->rank[j - 1];
		}
		d->rank[j] = k;
	}
	if (!d->nrank) {
		d->why = "no backend measured it";
		return;
	}
	int m = d->metric;
	d->ntie = 1;
	for (size_t j = 1; j < d->nrank; j++)
		if (cmp_overlap(d->rank[0], d->rank[j], m))
			d->ntie = j + 1;
	if (d->nrank == 1)
		d->why = "the only backend measured";
	else if (d->ntie > 1)
		d->why = "their min-max ranges overlap";
	else if (d->rank[0]->nok < 2 || d->rank[1]->nok < 2)
		d->why = "one repetition: no spread to judge the difference by";
	else
		d->decided = 1;
}

static void cmp_cite(char *buf, size_t len, const struct cmp_case *k, int m)
{
	char cell[96];
	cmp_fmt_cell(cell, sizeof(cell), k, m);
	cmp_cat(buf, len, "**%s** %s", k->backend, cell);
}

void cmp_decision_text(char *buf, size_t len, const struct cmp_decision *d)
{
	buf[0] = '\0';
	if (d->metric < 0) {
		cmp_sfmt(buf, len, "not measured in this run");
		return;
	}
	int m = d->metric;
	if (d->nrank && d->ntie > 1) {
		cmp_cat(buf, len, "tie: ");
		for (size_t j = 0; j < d->ntie; j++) {
			cmp_cat(buf, len, "%s", j ? ", " : "");
			cmp_cite(buf, len, d->rank[j], m);
		}
		cmp_cat(buf, len, " (%s)", d->why);
	} else if (d->nrank) {
		cmp_cite(buf, len, d->rank[0], m);
		if (d->nrank > 1) {
			cmp_cat(buf, len, "; next ");
			cmp_cite(buf, len, d->rank[1], m);
		}
		if (!d->decided)
			cmp_cat(buf, len, " (%s)", d->why);
	} else {
		cmp_cat(buf, len, "%s", d->why);
	}
	for (size_t j = 0; j < d->nout; j++) {
		cmp_cat(buf, len, "%s", j ? "; " : d->nrank ? ". Not ranked: " : ". ");
		cmp_cite(buf, len, d->out[j], m);
		cmp_cat(buf, len, " (%s)", cmp_excluded(d->out[j], m));
	}
}
