/*
 * bench.c - microbenchmarks of the kit's own per-frame work: CRC-32C per
 * implementation, the frame assembler with the accounting the server does
 * per frame, and the histogram record. `make bench` builds and runs it;
 * it is not part of `make test` (figures are not assertions).
 *
 * Each figure is the median of the repetitions (15 unless given), with
 * the min and max beside it so that a noisy machine shows as a wide
 * range. Repetitions are timed in thread CPU time, about 20 ms each.
 * The CRC inputs and the one-source 64 B frames fit in L2, so those are
 * compute costs; the 64 KiB frames (1 MiB) and the 1024 sources (6 MiB)
 * come from L3 or memory, as they would in the server.
 *
 *   make bench                     # or make bench BENCH_REPS=31
 *   build/default/bench/bench [repetitions [crc|frame|hist]]
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "crc32c.h"
#include "frame.h"
#include "hist.h"
#include "proto.h"
#include "source.h"

static unsigned reps = 15;

static uint64_t clock_ns(clockid_t id)
{
	struct timespec ts;
	clock_gettime(id, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* The time frames are stamped with, as the server reads it. */
static uint64_t now_ns(void) { return clock_ns(CLOCK_MONOTONIC); }

/* What a repetition is timed with: this thread's CPU time, so that the
 * time other processes take the core from it (the machine may be shared)
 * is not counted. */
static uint64_t cpu_ns(void) { return clock_ns(CLOCK_THREAD_CPUTIME_ID); }

static uint64_t rng_next(uint64_t *state)
{
	uint64_t z = (*state += 0x9E3779B97F4A7C15ull);
	z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
	z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
	return z ^ (z >> 31);
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return (x > y) - (x < y);
}

/* Per-repetition figures -> "median (min-max)". */
struct stat3 { double med, min, max; };

static struct stat3 summarise(double *v, unsigned n)
{
	qsort(v, n, sizeof(*v), cmp_double);
	return (struct stat3){ v[n / 2], v[0], v[n - 1] };
}

static void print_row(const char *what, const char *unit, struct stat3 s)
{
	printf("  %-34s %9.2f %-5s (%.2f-%.2f)\n", what, s.med, unit, s.min, s.max);
}

static void cpu_model(char *buf, size_t len)
{
	FILE *f = fopen("/proc/cpuinfo", "r");
	char line[256];

	snprintf(buf, len, "unknown (no /proc/cpuinfo)");
	if (!f)
		return;
	while (fgets(line, sizeof(line), f)) {
		char *colon = strchr(line, ':');
		if (strncmp(line, "model name", 10) || !colon)
			continue;
		colon += 1 + (colon[1] == ' ');
		colon[strcspn(colon, "\n")] = '\0';
		snprintf(buf, len, "%s", colon);
		break;
	}
	fclose(f);
}

/* ---- CRC-32C ---------------------------------------------------------- */

/* Enough calls per repetition that one repetition takes about 20 ms. */
static struct stat3 bench_crc(crc32c_fn *fn, const uint8_t *buf, size_t len)
{
	size_t calls = (size_t)(64u << 20) / len + 1;
	double gbs[64];
	volatile uint32_t sink = 0;

	for (unsigned r = 0; r < reps; r++) {
		uint32_t c = 0;
		uint64_t t0 = cpu_ns();
		for (size_t i = 0; i < calls; i++)
			c = fn(c, buf, len);   /* chained, as the assembler chains pieces */
		uint64_t t1 = cpu_ns();
		sink ^= c;
		gbs[r] = (double)(calls * len) / (double)(t1 - t0);
	}
	(void)sink;
	return summarise(gbs, reps);
}

static void run_crc(void)
{
	static const size_t sizes[] = { 64, 4096, 65536 };
	uint8_t *buf = malloc(65536 + 64);
	uint64_t seed = 1;

	if (!buf) {
		perror("bench: malloc");
		exit(1);
	}
	for (size_t i = 0; i < 65536 + 64; i++)
		buf[i] = (uint8_t)rng_next(&seed);
	printf("CRC-32C, GB/s (crc32c() uses \"%s\")\n", crc32c_impl());
	for (int k = 0; k < CRC32C_NKINDS; k++) {
		const char *name, *why;
		crc32c_fn *fn = crc32c_get(k, &name, &why);
		for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
			char what[80];
			snprintf(what, sizeof(what), "%s, %zu B", name, sizes[i]);
			if (!fn) {
				printf("  %-34s skipped: %s\n", what, why);
				break;
			}
			print_row(what, "GB/s", bench_crc(fn, buf, sizes[i]));
		}
	}
	for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		char what[80];
		snprintf(what, sizeof(what), "crc32c() dispatch, %zu B", sizes[i]);
		print_row(what, "GB/s", bench_crc(crc32c, buf, sizes[i]));
	}
	free(buf);
}

/* ---- frame assembler + accounting ------------------------------------- */

/* What is done with each complete frame: the breakdown of the cost. */
enum acct {
	ACCT_NONE,      /* frame_parse only (header, checks, CRC) */
	ACCT_NOLAT,     /* + source_data, frames without a time (no histogram) */
	ACCT_FULL,      /* + the latency into the histogram: what the server does */
};

/* One read's worth of bytes through the assembler and the accounting, as
 * conn_input and conn_frame do for a push source; returns bad frames. */
static uint64_t feed(struct frame_parser *fp, struct source *src, enum acct acct,
		     const uint8_t *p, size_t len)
{
	uint64_t bad = 0, now = now_ns();   /* the server reads the clock per read */
	char why[128];

	while (len) {
		struct frame f;
		size_t used;
		enum frame_result fr = frame_parse(fp, p, len, &used, &f, why, sizeof(why));
		p += used;
		len -= used;
		if (fr == FRAME_MORE)
			break;
		if (fr == FRAME_BAD || !f.crc_ok)
			return bad + 1;
		if (acct == ACCT_NONE)
			continue;
		uint64_t lat = acct == ACCT_NOLAT ? UINT64_MAX :
			       now > f.h.send_ns ? now - f.h.send_ns : 0;
		if (source_data(src, &f.h, f.crc_ok, now, lat) < 0)
			bad++;
	}
	return bad;
}

struct frame_case {
	uint32_t payload;
	unsigned nsrc;          /* sources, each with its own parser and record */
	unsigned nframes;       /* frames per source in the buffer */
	unsigned per_read;      /* frames per read; reads go round the sources */
	enum acct acct;
};

/*
 * Each source's frames lie in its own part of one buffer; a pass reads
 * per_read frames from each source in turn until all are read. Returns
 * ns per frame; *gbs_med is the payload rate.
 */
static struct stat3 bench_frames(const struct frame_case *fc, double *gbs_med)
{
	size_t fsize = PROTO_HEADER_SIZE + fc->payload;
	size_t region = fsize * fc->nframes, piece = fsize * fc->per_read;
	uint8_t *buf = malloc(region * fc->nsrc);
	struct source **src = calloc(fc->nsrc, sizeof(*src));
	struct frame_parser **fp = calloc(fc->nsrc, sizeof(*fp));
	uint64_t seed = 2;
	double ns[64], gbs[64];

	if (!buf || !src || !fp) {
		perror("bench: malloc");
		exit(1);
	}
	for (unsigned k = 0; k < fc->nsrc; k++) {
		/* Separately allocated, as the server allocates them. */
		src[k] = malloc(sizeof(*src[k]));
		fp[k] = malloc(sizeof(*fp[k]));
		if (!src[k] || !fp[k]) {
			perror("bench: malloc");
			exit(1);
		}
		source_init(src[k]);
		frame_parser_init(fp[k], PROTO_DEFAULT_MAX_FRAME);
		for (unsigned i = 0; i < fc->nframes; i++) {
			uint8_t *f = buf + k * region + i * fsize;
			for (uint32_t j = 0; j < fc->payload; j++)
				f[PROTO_HEADER_SIZE + j] = (uint8_t)rng_next(&seed);
			struct proto_header h = proto_make(PROTO_DATA, k, i, 1000 + i, fc->payload,
							   crc32c(0, f + PROTO_HEADER_SIZE, fc->payload));
			proto_encode(&h, f);
		}
	}

	/* Enough passes for about 20 ms per repetition; repetition 0 is
	 * untimed: it allocates the histograms and warms up. */
	unsigned passes = (unsigned)((48u << 20) / (region * fc->nsrc)) + 1;
	for (unsigned r = 0; r <= reps; r++) {
		uint64_t bad = 0;
		uint64_t t0 = cpu_ns();
		for (unsigned pass = 0; pass < passes; pass++) {
			/* Restart the sequences so every frame takes the in-order path. */
			for (unsigned k = 0; k < fc->nsrc; k++) {
				src[k]->next_seq = 0;
				memset(src[k]->seen, 0, sizeof(src[k]->seen));
			}
			for (size_t off = 0; off < region; off += piece)
				for (unsigned k = 0; k < fc->nsrc; k++)
					bad += feed(fp[k], src[k], fc->acct, buf + k * region + off,
						    region - off < piece ? region - off : piece);
		}
		uint64_t t1 = cpu_ns();
		for (unsigned k = 0; k < fc->nsrc; k++)
			bad += src[k]->lost + src[k]->duplicates;
		if (bad) {
			fprintf(stderr, "bench: the frame stream did not parse cleanly\n");
			exit(1);
		}
		if (r == 0)
			continue;
		double n = (double)passes * fc->nframes * fc->nsrc;
		ns[r - 1] = (double)(t1 - t0) / n;
		gbs[r - 1] = (double)fc->payload * n / (double)(t1 - t0);
	}
	for (unsigned k = 0; k < fc->nsrc; k++) {
		source_free(src[k]);
		free(src[k]);
		free(fp[k]);
	}
	free(src);
	free(fp);
	free(buf);
	*gbs_med = summarise(gbs, reps).med;
	return summarise(ns, reps);
}

static void run_frames(void)
{
	static const struct {
		const char *what;
		struct frame_case fc;
	} cases[] = {
		{ "64 B, 1 source, parse only", { 64, 1, 4096, 2730, ACCT_NONE } },
		{ "64 B, 1 source, + accounting", { 64, 1, 4096, 2730, ACCT_NOLAT } },
		{ "64 B, 1 source, + histogram", { 64, 1, 4096, 2730, ACCT_FULL } },
		{ "64 B, 1024 sources, 4 per read", { 64, 1024, 64, 4, ACCT_FULL } },
		{ "64 KiB, 1 source", { 65536, 1, 16, 4, ACCT_FULL } },
	};
	double gbs;

	printf("Frame assembler + accounting, ns/frame (reads of 256 KiB, or N frames)\n");
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		print_row(cases[i].what, "ns", bench_frames(&cases[i].fc, &gbs));
		if (cases[i].fc.payload >= 65536)
			printf("  %-34s %9.2f GB/s (median)\n", "  as payload rate", gbs);
	}
}

/* ---- histogram -------------------------------------------------------- */

static void run_hist(void)
{
	enum { N = 4096 };
	static uint64_t vals[N];
	uint64_t seed = 3;
	struct hist h;
	double ns[64];

	/* Latencies from 1 us to about 1 ms, log-spread, as a loaded run sees. */
	for (unsigned i = 0; i < N; i++)
		vals[i] = 1000 + (rng_next(&seed) >> (64 - 10 - (i % 10)));
	if (hist_init(&h) < 0) {
		perror("bench: hist_init");
		exit(1);
	}
	for (unsigned r = 0; r < reps; r++) {
		unsigned rounds = 1000;
		uint64_t t0 = cpu_ns();
		for (unsigned k = 0; k < rounds; k++)
			for (unsigned i = 0; i < N; i++)
				hist_record(&h, vals[i]);
		uint64_t t1 = cpu_ns();
		ns[r] = (double)(t1 - t0) / ((double)rounds * N);
	}
	if (h.n != (uint64_t)reps * 1000 * N)
		fprintf(stderr, "bench: histogram lost records\n");
	hist_free(&h);
	printf("Histogram\n");
	print_row("hist_record, ns/record", "ns", summarise(ns, reps));
}

int main(int argc, char **argv)
{
	char cpu[160];

	const char *only = argc > 2 ? argv[2] : "";

	if (argc > 1) {
		char *end;
		unsigned long n = strtoul(argv[1], &end, 10);
		if (*end || n < 1 || n > 64 || argc > 3) {
			fprintf(stderr, "usage: %s [repetitions 1..64 [crc|frame|hist]]\n", argv[0]);
			return 2;
		}
		reps = (unsigned)n;
	}
	cpu_model(cpu, sizeof(cpu));
	printf("CPU: %s\n", cpu);
	printf("median of %u repetitions (min-max)\n", reps);
	if (!*only || !strcmp(only, "crc"))
		run_crc();
	if (!*only || !strcmp(only, "frame"))
		run_frames();
	if (!*only || !strcmp(only, "hist"))
		run_hist();
	return 0;
}
