/*
 * server_main.c - `daqmux server` and `daqmux backends`: the command line
 * above the server core. Options become a struct server_opts; the core
 * (common/server.c) and the chosen backend do the rest.
 */
#include <getopt.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>

#include "backends.h"
#include "build.h"
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
"  -b, --backend NAME      blocking, select, poll, epoll, threads, uring,\n"
"                          libuv, libevent or glib\n"
"                          (default: the preferred one that can run here,\n"
"                          marked in `daqmux backends`)\n"
"  -l, --listen HOST:PORT  where to listen (default 127.0.0.1:5555; port 0 to\n"
"                          65535, 0 = any free port). The first line on stdout\n"
"                          is \"listening on HOST:PORT\".\n"
"  -n, --sources N         end when N sources have ended (default 1; 0 = never;\n"
"                          at most 1000000)\n"
"  -t, --duration SECONDS  end after this long at the latest (0 = no limit;\n"
"                          -d is the same)\n"
"      --max-frame BYTES   largest payload accepted (default 1M; from 255, the\n"
"                          longest HELLO name, to 4294967294); larger is a\n"
"                          protocol error for that source\n"
"      --mode push|pull    push: sources stream (default); pull: the server\n"
"                          sends a REQUEST and waits for each DATA\n"
"      --edge              epoll: edge-triggered instead of level-triggered\n"
"      --uring-features LIST  uring: defer,regring,fixed,bundle,inc or all (all\n"
"                          that this kernel and liburing support); a named\n"
"                          feature they lack stops the start with the reason\n"
"      --loops N           N event loops in N threads, each with its own share\n"
"                          of the connections (default 1; not for threads)\n"
"      --spread HOW        with --loops: handoff (default: one acceptor deals the\n"
"                          connections out in turn) or reuseport (a listening\n"
"                          socket per loop; the kernel hashes them)\n"
"      --cpus LIST         with --loops: loop i runs on the i-th CPU of LIST\n"
"                          (e.g. 2,3 or 0-3)\n"
"      --discard           read exactly as usual but parse nothing: count the\n"
"                          bytes, derive frames as bytes / (32 + --discard-size);\n"
"                          the floor of the kit's own work (push mode only)\n"
"      --discard-size BYTES\n"
"                          the payload size the sources send (the client's\n"
"                          --size; default 64)\n"
"      --budget BYTES      bytes read from one source per wakeup before\n"
"                          serving the others (default 256K; 1 to 1G)\n"
"      --idle-timeout S    a source silent this long is closed (\"idle timeout\";\n"
"                          default 0 = never)\n"
"      --keepalive S       TCP keepalive + TCP_USER_TIMEOUT: a dead peer is\n"
"                          detected within about S seconds (whole seconds, 1 to\n"
"                          32767, the kernel's limit; default 0 = off)\n"
"      --json FILE|-       write the summary as JSON (versioned: schema,\n"
"                          daqmux_version, start time, machine); - is stdout,\n"
"                          and the table then goes to stderr\n"
"      --trace FILE        write every frame (source,seq,send_ns,recv_ns) as CSV\n"
"      --trace-max N       at most N frames in the trace (default 1000000;\n"
"                          1 to 100000000)\n"
"      --max-records N     keep at most N ended sources in full (default 1024;\n"
"                          1 to 10000000); later ones are folded into one\n"
"                          \"others\" row with exact counts, so memory stays\n"
"                          bounded however many connections come and go\n"
"      --cpu N             pin the server to CPU N (0 to %d)\n"
"  -i, --interval SECONDS  a line per interval: frames, MB/s, p99, waits, EAGAIN\n"
"                          reads (also \"intervals\" in --json; at least 0.01)\n"
"      --events            a line per wait and per read as it happens, in the\n"
"                          backend's own terms (for teaching and debugging)\n"
"      --events-max N      at most N --events lines, then a summary (default\n"
"                          300; 0 = no limit)\n"
"      --no-drain          teaching, epoll: one read per readiness event instead\n"
"                          of reading until EAGAIN (harmless level-triggered)\n"
"      --edge-no-drain     teaching, epoll: --edge --no-drain, the classic bug:\n"
"                          bytes left after the one read are never reported\n"
"                          again, so a connection hangs (docs/teaching.md)\n"
"      --build             event building: fragment k of every source is event k;\n"
"                          complete when all --sources N are in (push mode;\n"
"                          docs/event-building.md)\n"
"      --build-window W    events in flight (default 64); a source W events ahead\n"
"                          of the oldest incomplete one is paused (not read)\n"
"      --build-timeout MS  an event incomplete this long after its first fragment\n"
"                          is emitted as partial (default 0: wait)\n"
"      --write FILE|-      write built events to FILE ('-': stdout, and then the\n"
"                          listening line and the table go to stderr); format in\n"
"                          docs/protocol.md\n"
"  -q, --quiet             no summary table on stdout\n"
"  -h, --help              this text\n"
"\n"
"SECONDS are decimal, with an optional unit: 2, 0.5, 2s, 250ms. BYTES are\n"
"whole, with an optional K, M or G (binary): 64, 4K, 1M. A value out of its\n"
"range, or a --json or --trace file that cannot be written, is refused at\n"
"once with exit status 2.\n"
"\n"
"Ends when N sources have said BYE or closed, at --duration, or on SIGINT or\n"
"SIGTERM; it always prints the summary and writes the JSON. A connection is a\n"
"source once it has delivered a valid frame; idle and rejected connections\n"
"(junk, a source id already connected) are counted, never taken for sources.\n"
"Exit status: 0 every expected source ended complete (BYE) with nothing lost,\n"
"no duplicate and no CRC error (with --sources 0: every source that came was\n"
"clean, still active ones allowed); 1 otherwise, with one line saying why;\n"
"2 bad usage or failure to start.\n"
"With --discard nothing is checked: 0 says only that no connection failed\n"
"(reset, read error, idle timeout), never that nothing was lost or corrupt.\n"
"\n"
"example:\n"
"  daqmux server --backend epoll --listen 127.0.0.1:0 --sources 4 --json out.json\n",
		CPU_SETSIZE - 1);
}

/* --cpus 0,2,4-7: the CPUs in order, kept for the run (the options live
 * as long as the process). Each number goes through the strict parser. */
static int server_parse_cpus(const char *arg, struct server_opts *o)
{
	static long cpus[CPU_SETSIZE];
	char word[32];
	unsigned n = 0;
	const char *p = arg;

	for (;;) {
		size_t len = strcspn(p, ",");
		char *dash;
		uint64_t lo, hi;

		if (len == 0 || len >= sizeof(word))
			goto bad;
		memcpy(word, p, len);
		word[len] = '\0';
		dash = strchr(word, '-');
		if (dash)
			*dash = '\0';
		if (parse_u64("--cpus", word, 0, CPU_SETSIZE - 1, &lo) ||
		    parse_u64("--cpus", dash ? dash + 1 : word, lo, CPU_SETSIZE - 1, &hi))
			return -1;
		for (uint64_t c = lo; c <= hi; c++) {
			if (n == CPU_SETSIZE)
				goto bad;
			cpus[n++] = (long)c;
		}
		if (!p[len])
			break;
		p += len + 1;
	}
	o->cpus = cpus;
	o->ncpus = n;
	return 0;
bad:
	msg("--cpus: '%s' is not a list of CPUs 0 to %d such as 2,3 or 0-3 (at most %d)", arg,
	    CPU_SETSIZE - 1, CPU_SETSIZE);
	return -1;
}

#define SERVER_MAX_SOURCES   1000000
#define SERVER_MAX_SECONDS   1e7          /* 115 days: a deadline in ns fits easily */
#define SERVER_MAX_BUDGET    (1u << 30)
/* The kernel takes TCP_KEEPIDLE and TCP_KEEPINTVL up to 32767 s;
 * net_set_keepalive() sets them to a third and a sixth of the bound, so
 * every bound up to that is accepted (100000 used to fail on every
 * connection and fall back to the kernel's two hours). */
#define SERVER_MAX_KEEPALIVE 32767
#define SERVER_MAX_LOOPS     1024

int server_opts_parse(struct server_opts *o, int argc, char **argv)
{
	enum { O_MAXFRAME = 256, O_MODE, O_EDGE, O_BUDGET, O_IDLE, O_KEEP, O_JSON,
	       O_TRACE, O_TRACEMAX, O_CPU, O_MAXREC, O_LOOPS, O_SPREAD, O_CPUS,
	       O_EVENTS, O_EVENTSMAX, O_NODRAIN, O_EDGENODRAIN,
	       O_DISCARD, O_DISCARD_SIZE, O_URING_FEAT, O_BUILD, O_BWINDOW, O_BTIMEOUT, O_WRITE };
	static const struct option longs[] = {
		{ "backend", required_argument, NULL, 'b' },
		{ "listen", required_argument, NULL, 'l' },
		{ "sources", required_argument, NULL, 'n' },
		{ "duration", required_argument, NULL, 't' },
		{ "max-frame", required_argument, NULL, O_MAXFRAME },
		{ "mode", required_argument, NULL, O_MODE },
		{ "edge", no_argument, NULL, O_EDGE },
		{ "uring-features", required_argument, NULL, O_URING_FEAT },
		{ "budget", required_argument, NULL, O_BUDGET },
		{ "idle-timeout", required_argument, NULL, O_IDLE },
		{ "keepalive", required_argument, NULL, O_KEEP },
		{ "json", required_argument, NULL, O_JSON },
		{ "trace", required_argument, NULL, O_TRACE },
		{ "trace-max", required_argument, NULL, O_TRACEMAX },
		{ "cpu", required_argument, NULL, O_CPU },
		{ "max-records", required_argument, NULL, O_MAXREC },
		{ "loops", required_argument, NULL, O_LOOPS },
		{ "spread", required_argument, NULL, O_SPREAD },
		{ "cpus", required_argument, NULL, O_CPUS },
		{ "interval", required_argument, NULL, 'i' },
		{ "events", no_argument, NULL, O_EVENTS },
		{ "events-max", required_argument, NULL, O_EVENTSMAX },
		{ "no-drain", no_argument, NULL, O_NODRAIN },
		{ "edge-no-drain", no_argument, NULL, O_EDGENODRAIN },
		{ "discard", no_argument, NULL, O_DISCARD },
		{ "discard-size", required_argument, NULL, O_DISCARD_SIZE },
		{ "build", no_argument, NULL, O_BUILD },
		{ "build-window", required_argument, NULL, O_BWINDOW },
		{ "build-timeout", required_argument, NULL, O_BTIMEOUT },
		{ "write", required_argument, NULL, O_WRITE },
		{ "quiet", no_argument, NULL, 'q' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 }
	};
	uint64_t v;
	double d;
	int ch, discard_size = 0;

	*o = (struct server_opts){
		.backend = NULL, .listen = "127.0.0.1:5555", .sources = 1,
		.max_frame = PROTO_DEFAULT_MAX_FRAME, .budget = 256u << 10,
		.trace_max = 1000000, .cpu = -1, .max_records = SERVER_DEFAULT_MAX_RECORDS,
		.events_max = 300, .discard_size = 64, .build_window = BUILD_DEFAULT_WINDOW,
	};
	optind = 0;     /* glibc: start afresh, whoever parsed before us */
	while ((ch = getopt_long(argc, argv, ":b:l:n:t:d:i:qh", longs, NULL)) != -1) {
		switch (ch) {
		case 'b': o->backend = optarg; break;
		case 'l':
			if (parse_hostport("--listen", optarg, 0)) return OPTS_BAD;
			o->listen = optarg;
			break;
		case 'n':
			if (parse_u64("--sources", optarg, 0, SERVER_MAX_SOURCES, &v))
				return OPTS_BAD;
			o->sources = (unsigned)v;
			break;
		case 't':
		case 'd':
			if (parse_seconds("--duration", optarg, 0, SERVER_MAX_SECONDS, &o->duration))
				return OPTS_BAD;
			break;
		case O_MAXFRAME:
			if (parse_size("--max-frame", optarg, PROTO_NAME_MAX, UINT32_MAX - 1, &v))
				return OPTS_BAD;
			o->max_frame = (uint32_t)v;
			break;
		case O_MODE:
			if (strcmp(optarg, "push") == 0)
				o->mode = MODE_PUSH;
			else if (strcmp(optarg, "pull") == 0)
				o->mode = MODE_PULL;
			else {
				msg("--mode: '%s' is neither push nor pull", optarg);
				return OPTS_BAD;
			}
			break;
		case O_EDGE: o->edge = 1; break;
		case O_URING_FEAT: o->uring_features = optarg; break;
		case O_BUDGET:
			if (parse_size("--budget", optarg, 1, SERVER_MAX_BUDGET, &v)) return OPTS_BAD;
			o->budget = (size_t)v;
			break;
		case O_IDLE:
			if (parse_seconds("--idle-timeout", optarg, 0, SERVER_MAX_SECONDS,
					  &o->idle_timeout))
				return OPTS_BAD;
			break;
		case O_KEEP:
			if (parse_seconds("--keepalive", optarg, 0, SERVER_MAX_KEEPALIVE, &d))
				return OPTS_BAD;
			if (d != (unsigned)d) {
				msg("--keepalive: '%s' is not whole seconds (0 = off, 1 to %u)",
				    optarg, SERVER_MAX_KEEPALIVE);
				return OPTS_BAD;
			}
			o->keepalive = (unsigned)d;
			break;
		case O_JSON: o->json = optarg; break;
		case O_TRACE: o->trace = optarg; break;
		case O_TRACEMAX:
			if (parse_u64("--trace-max", optarg, 1, 100000000, &o->trace_max))
				return OPTS_BAD;
			break;
		case O_CPU:
			if (parse_u64("--cpu", optarg, 0, CPU_SETSIZE - 1, &v)) return OPTS_BAD;
			o->cpu = (long)v;
			break;
		case O_MAXREC:
			if (parse_u64("--max-records", optarg, 1, 10000000, &v)) return OPTS_BAD;
			o->max_records = (unsigned)v;
			break;
		case O_LOOPS:
			if (parse_u64("--loops", optarg, 1, SERVER_MAX_LOOPS, &v)) return OPTS_BAD;
			o->loops = (unsigned)v;
			break;
		case O_SPREAD:
			if (strcmp(optarg, "handoff") == 0)
				o->spread = SPREAD_HANDOFF;
			else if (strcmp(optarg, "reuseport") == 0)
				o->spread = SPREAD_REUSEPORT;
			else {
				msg("--spread: '%s' is neither handoff nor reuseport", optarg);
				return OPTS_BAD;
			}
			break;
		case O_CPUS:
			if (server_parse_cpus(optarg, o) < 0) return OPTS_BAD;
			break;
		case 'i':
			if (parse_seconds("--interval", optarg, 0.01, SERVER_MAX_SECONDS, &o->interval))
				return OPTS_BAD;
			break;
		case O_EVENTS: o->events = 1; break;
		case O_EVENTSMAX:
			if (parse_u64("--events-max", optarg, 0, UINT64_MAX, &o->events_max))
				return OPTS_BAD;
			break;
		case O_EDGENODRAIN: o->edge = 1; /* fall through */
		case O_NODRAIN: o->no_drain = 1; break;
		case O_DISCARD: o->discard = 1; break;
		case O_DISCARD_SIZE:
			if (parse_size("--discard-size", optarg, 0, UINT32_MAX - PROTO_HEADER_SIZE, &v))
				return OPTS_BAD;
			o->discard_size = (uint32_t)v;
			discard_size = 1;
			break;
		case O_BUILD: o->build = 1; break;
		case O_BWINDOW:
			if (parse_u64("--build-window", optarg, 1, 1u << 20, &v)) return OPTS_BAD;
			o->build_window = (unsigned)v;
			break;
		case O_BTIMEOUT:
			if (parse_u64("--build-timeout", optarg, 0, 3600000, &v)) return OPTS_BAD;
			o->build_timeout_ms = (double)v;
			break;
		case O_WRITE: o->write = optarg; break;
		case 'q': o->quiet = 1; break;
		case 'h': server_usage(stdout); return OPTS_HELP;
		default: return opts_getopt_error("server", ch, argv, longs);
		}
	}
	if (opts_no_operands("server", argc, argv) != OPTS_RUN)
		return OPTS_BAD;
	if (discard_size && !o->discard) {
		msg("--discard-size: applies to --discard only");
		return OPTS_BAD;
	}
	/* Both need every frame parsed: a REQUEST goes out per DATA frame,
	 * a trace line is written per frame. */
	if (o->discard && (o->mode == MODE_PULL || o->trace)) {
		msg("--discard parses no frame, so it cannot %s",
		    o->mode == MODE_PULL ? "serve --mode pull" : "write a --trace");
		return OPTS_BAD;
	}
	/* Now, not after the run: a run whose summary cannot be written is
	 * a run wasted. */
	if ((o->json && strcmp(o->json, "-") != 0 && check_output_file("--json", o->json) < 0) ||
	    (o->trace && check_output_file("--trace", o->trace) < 0))
		return OPTS_BAD;
	if (o->write && !o->build) {
		msg("--write writes built events: it needs --build");
		return OPTS_BAD;
	}
	if (o->build && o->mode == MODE_PULL) {
		msg("--build works in push mode (a trigger makes every source send)");
		return OPTS_BAD;
	}
	if (o->build && o->discard) {
		msg("--build combines frames; --discard parses none: use one or the other");
		return OPTS_BAD;
	}
	if (o->build && o->sources < 1) {
		msg("--build needs --sources N >= 1: an event is complete with N fragments");
		return OPTS_BAD;
	}
	return OPTS_RUN;
}

int server_main(int argc, char **argv)
{
	struct server_opts opt;
	const struct backend *be;
	int r = server_opts_parse(&opt, argc, argv);

	if (r != OPTS_RUN)
		return opts_exit_status(r);
	be = opt.backend ? backend_find(opt.backend) : backend_default();
	if (!be) {
		if (opt.backend)
			msg("unknown backend '%s'; `daqmux backends` lists them", opt.backend);
		else
			msg("no backend can run here; `daqmux backends` says why");
		return 2;
	}
	if (opt.no_drain && !backend_has(be, BE_EDGE)) {
		msg("--no-drain and --edge-no-drain: teaching modes of the backends with an "
		    "edge-triggered mode (%s)", backend_list(BE_EDGE));
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

static void backends_usage(FILE *f)
{
	fprintf(f,
"usage: daqmux backends [-h]\n"
"\n"
"Lists every backend compiled into this build, whether it can run on this\n"
"machine and, if not, why and how to fix it (e.g. io_uring disabled by\n"
"sysctl, liburing missing at build time).\n"
"\n"
"  -h, --help   this text\n"
"\n"
"Exit status: 0 the list was printed (whatever it says); 2 bad usage.\n");
}

int backends_opts_parse(int argc, char **argv)
{
	static const struct option longs[] = {
		{ "help", no_argument, NULL, 'h' },
		{ 0 }
	};
	int ch;

	optind = 0;
	while ((ch = getopt_long(argc, argv, ":h", longs, NULL)) != -1) {
		if (ch != 'h')
			return opts_getopt_error("backends", ch, argv, longs);
		backends_usage(stdout);
		return OPTS_HELP;
	}
	return opts_no_operands("backends", argc, argv);
}

int backends_main(int argc, char **argv)
{
	const struct backend *def;
	int r = backends_opts_parse(argc, argv);

	if (r != OPTS_RUN)
		return opts_exit_status(r);
	def = backend_default();
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
