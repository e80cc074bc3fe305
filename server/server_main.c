/*
 * server_main.c - `daqmux server` and `daqmux backends`: the command line
 * above the server core. Options become a struct server_opts; the core
 * (common/server.c) and the chosen backend do the rest.
 */
#include <getopt.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backends.h"
#include "server.h"
#include "server_main.h"
#include "util.h"

static void server_usage(FILE *f)
{
	fprintf(f,
"usage: daqmux server [options]\n"
"\n"
"Reads N DAQ sources concurrently with one backend and reports, per source,\n"
"what arrived, what was lost and how late (see docs/protocol.md).\n"
"\n"
"  -b, --backend NAME      blocking, select, poll, epoll, threads or uring\n"
"                          (default: the preferred one that can run here,\n"
"                          marked in `daqmux backends`)\n"
"  -l, --listen HOST:PORT  where to listen (default 127.0.0.1:5555; port 0 = any\n"
"                          free port). The first line on stdout is\n"
"                          \"listening on HOST:PORT\".\n"
"  -n, --sources N         end when N sources have ended (default 1; 0 = never)\n"
"  -d, --duration SECONDS  end after this long at the latest\n"
"      --max-frame BYTES   largest payload accepted (default 1M); larger is a\n"
"                          protocol error for that source\n"
"      --mode push|pull    push: sources stream (default); pull: the server\n"
"                          sends a REQUEST and waits for each DATA\n"
"      --edge              epoll: edge-triggered instead of level-triggered\n"
"      --loops N           N event loops in N threads, each with its own share\n"
"                          of the connections (default 1; not for threads)\n"
"      --spread HOW        with --loops: handoff (default: one acceptor deals the\n"
"                          connections out in turn) or reuseport (a listening\n"
"                          socket per loop; the kernel hashes them)\n"
"      --cpus LIST         with --loops: loop i runs on the i-th CPU of LIST\n"
"                          (e.g. 2,3 or 0-3)\n"
"      --budget BYTES      bytes read from one source per wakeup before\n"
"                          serving the others (default 256K)\n"
"      --idle-timeout S    a source silent this long is closed (\"idle timeout\")\n"
"      --keepalive S       TCP keepalive + TCP_USER_TIMEOUT: a dead peer is\n"
"                          detected within about S seconds\n"
"      --json FILE         write the summary as JSON\n"
"      --trace FILE        write every frame (source,seq,send_ns,recv_ns) as CSV\n"
"      --trace-max N       at most N frames in the trace (default 1000000)\n"
"      --cpu N             pin the server to CPU N\n"
"  -q, --quiet             no summary table on stdout\n"
"  -h, --help              this text\n"
"\n"
"Ends when N sources have said BYE or closed, at --duration, or on SIGINT or\n"
"SIGTERM; it always prints the summary and writes the JSON.\n"
"Exit status: 0 every source ended cleanly with nothing lost; 1 a source lost\n"
"frames, was truncated or had an error; 2 bad usage or failure to start.\n"
"\n"
"example:\n"
"  daqmux server --backend epoll --listen 127.0.0.1:0 --sources 4 --json out.json\n");
}

#define SERVER_MAX_LOOPS 1024

/* --cpus 0,2,4-7: the CPUs in order, kept for the run (the options live
 * as long as the process). */
static int server_parse_cpus(const char *arg, struct server_opts *o)
{
	static long cpus[CPU_SETSIZE];
	unsigned n = 0;
	const char *p = arg;

	while (*p) {
		char *end;
		long lo = strtol(p, &end, 10), hi = lo;
		if (end == p || lo < 0 || lo >= CPU_SETSIZE)
			goto bad;
		if (*end == '-') {
			p = end + 1;
			hi = strtol(p, &end, 10);
			if (end == p || hi < lo || hi >= CPU_SETSIZE)
				goto bad;
		}
		for (long c = lo; c <= hi; c++) {
			if (n == CPU_SETSIZE)
				goto bad;
			cpus[n++] = c;
		}
		if (*end == ',')
			end++;
		else if (*end)
			goto bad;
		p = end;
	}
	if (!n)
		goto bad;
	o->cpus = cpus;
	o->ncpus = n;
	return 0;
bad:
	msg("--cpus: '%s' is not a list of CPUs 0-%d such as 2,3 or 0-3", arg, CPU_SETSIZE - 1);
	return -1;
}

static int server_parse(struct server_opts *o, int argc, char **argv)
{
	enum { O_MAXFRAME = 256, O_MODE, O_EDGE, O_BUDGET, O_IDLE, O_KEEP, O_JSON,
	       O_TRACE, O_TRACEMAX, O_CPU, O_LOOPS, O_SPREAD, O_CPUS };
	static const struct option longs[] = {
		{ "backend", required_argument, NULL, 'b' },
		{ "listen", required_argument, NULL, 'l' },
		{ "sources", required_argument, NULL, 'n' },
		{ "duration", required_argument, NULL, 'd' },
		{ "max-frame", required_argument, NULL, O_MAXFRAME },
		{ "mode", required_argument, NULL, O_MODE },
		{ "edge", no_argument, NULL, O_EDGE },
		{ "budget", required_argument, NULL, O_BUDGET },
		{ "idle-timeout", required_argument, NULL, O_IDLE },
		{ "keepalive", required_argument, NULL, O_KEEP },
		{ "json", required_argument, NULL, O_JSON },
		{ "trace", required_argument, NULL, O_TRACE },
		{ "trace-max", required_argument, NULL, O_TRACEMAX },
		{ "cpu", required_argument, NULL, O_CPU },
		{ "loops", required_argument, NULL, O_LOOPS },
		{ "spread", required_argument, NULL, O_SPREAD },
		{ "cpus", required_argument, NULL, O_CPUS },
		{ "quiet", no_argument, NULL, 'q' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 }
	};
	uint64_t v;
	double d;
	int ch;

	*o = (struct server_opts){
		.backend = NULL, .listen = "127.0.0.1:5555", .sources = 1,
		.max_frame = PROTO_DEFAULT_MAX_FRAME, .budget = 256u << 10,
		.trace_max = 1000000, .cpu = -1,
	};
	optind = 1;
	while ((ch = getopt_long(argc, argv, "b:l:n:d:qh", longs, NULL)) != -1) {
		switch (ch) {
		case 'b': o->backend = optarg; break;
		case 'l': o->listen = optarg; break;
		case 'n':
			if (parse_u64("--sources", optarg, 0, 1000000, &v)) return -1;
			o->sources = (unsigned)v;
			break;
		case 'd':
			if (parse_seconds("--duration", optarg, &o->duration)) return -1;
			break;
		case O_MAXFRAME:
			if (parse_size("--max-frame", optarg, &v)) return -1;
			if (v > UINT32_MAX - 1) {
				msg("--max-frame: at most %u bytes", UINT32_MAX - 1);
				return -1;
			}
			o->max_frame = (uint32_t)v;
			break;
		case O_MODE:
			if (strcmp(optarg, "push") == 0)
				o->mode = MODE_PUSH;
			else if (strcmp(optarg, "pull") == 0)
				o->mode = MODE_PULL;
			else {
				msg("--mode: '%s' is neither push nor pull", optarg);
				return -1;
			}
			break;
		case O_EDGE: o->edge = 1; break;
		case O_BUDGET:
			if (parse_size("--budget", optarg, &v)) return -1;
			if (v < 1) {
				msg("--budget: at least 1 byte");
				return -1;
			}
			o->budget = (size_t)v;
			break;
		case O_IDLE:
			if (parse_seconds("--idle-timeout", optarg, &o->idle_timeout)) return -1;
			break;
		case O_KEEP:
			if (parse_seconds("--keepalive", optarg, &d)) return -1;
			o->keepalive = d < 1 ? 1 : (unsigned)d;
			break;
		case O_JSON: o->json = optarg; break;
		case O_TRACE: o->trace = optarg; break;
		case O_TRACEMAX:
			if (parse_u64("--trace-max", optarg, 1, 100000000, &o->trace_max)) return -1;
			break;
		case O_CPU:
			if (parse_u64("--cpu", optarg, 0, CPU_SETSIZE - 1, &v)) return -1;
			o->cpu = (long)v;
			break;
		case O_LOOPS:
			if (parse_u64("--loops", optarg, 1, SERVER_MAX_LOOPS, &v)) return -1;
			o->loops = (unsigned)v;
			break;
		case O_SPREAD:
			if (strcmp(optarg, "handoff") == 0)
				o->spread = SPREAD_HANDOFF;
			else if (strcmp(optarg, "reuseport") == 0)
				o->spread = SPREAD_REUSEPORT;
			else {
				msg("--spread: '%s' is neither handoff nor reuseport", optarg);
				return -1;
			}
			break;
		case O_CPUS:
			if (server_parse_cpus(optarg, o) < 0) return -1;
			break;
		case 'q': o->quiet = 1; break;
		case 'h': server_usage(stdout); exit(0);
		default:
			fprintf(stderr, "try 'daqmux server --help'\n");
			return -1;
		}
	}
	if (optind < argc) {
		msg("unexpected argument '%s'; try 'daqmux server --help'", argv[optind]);
		return -1;
	}
	return 0;
}

int server_main(int argc, char **argv)
{
	struct server_opts opt;
	const struct backend *be;

	if (server_parse(&opt, argc, argv) < 0)
		return 2;
	be = opt.backend ? backend_find(opt.backend) : backend_default();
	if (!be) {
		if (opt.backend)
			msg("unknown backend '%s'; `daqmux backends` lists them", opt.backend);
		else
			msg("no backend can run here; `daqmux backends` says why");
		return 2;
	}
	if (opt.edge && !backend_has(be, BE_EDGE)) {
		msg("--edge: the %s backend has no edge-triggered mode (%s)", be->name,
		    backend_list(BE_EDGE));
		return 2;
	}
	if (opt.loops > 1 && !backend_has(be, BE_LOOPS)) {
		msg("--loops: the %s backend runs no event loops of its own (%s)", be->name,
		    backend_list(BE_LOOPS));
		return 2;
	}
	if ((opt.ncpus || opt.spread != SPREAD_HANDOFF) && opt.loops < 2)
		msg("--spread and --cpus apply to --loops N with N >= 2; ignored");
	return server_run(&opt, be, NULL);
}

int backends_main(int argc, char **argv)
{
	const struct backend *def = backend_default();

	(void)argc;
	(void)argv;
	printf("Available backends:\n");
	for (size_t i = 0; i < backend_count; i++) {
		const struct backend *b = backends[i];
		char why[256] = "";
		int ok = !b->probe || b->probe(why, sizeof(why)) == 0;
		printf("  %-9s %-13s %s%s\n", b->name, ok ? "available" : "UNAVAILABLE",
		       ok ? b->summary : why, b == def ? " (the default)" : "");
	}
	return 0;
}
