/*
 * report.h - the end of a run: the summary table, the JSON, the trace.
 */
#ifndef DAQMUX_REPORT_H
#define DAQMUX_REPORT_H

#include <sys/resource.h>

struct server;

/* CPU and memory the server spent while serving (getrusage). */
struct report_usage {
	struct rusage start, stop;
	double user_s, sys_s;
	long max_rss_kib;
	double elapsed_s;
};

void report_usage_start(struct report_usage *u);
void report_usage_stop(struct report_usage *u, const struct server *s);

/* Prints the table (unless --quiet), writes --json and --trace.
 * Returns the exit status: 0 when every expected source ended complete
 * and clean (source_ok; with --sources 0, active sources allowed), 1
 * otherwise - the table's last line, the JSON's "verdict" (and stderr
 * with --quiet) say why - 2 when an output file could not be written. */
int report_write(struct server *s, const struct report_usage *u);

/* The schema version of the server's --json ("daqmux-server"). */
#define REPORT_SCHEMA_VERSION 1

/* --json for a run that failed to start: the metadata and an "error". */
int report_json_error(struct server *s, const char *error);

#endif
