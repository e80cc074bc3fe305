/*
 * client_opts.c - the client's command line and its --help.
 *
 * Every value is checked before anything is opened, and a bad one is
 * reported with what to write instead (exit status 2). Options that
 * contradict each other are refused rather than silently ignored.
 * Try it: bin/daqmux client --help
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "client_int.h"
#include "util.h"

static const char *const client_fault_names[CF_NKINDS] = {
	[CF_TRUNCATE] = "truncate", [CF_RESET] = "reset", [CF_CLOSE] = "close",
	[CF_BAD_MAGIC] = "bad-magic", [CF_BAD_VERSION] = "bad-version",
	[CF_BAD_TYPE] = "bad-type", [CF_OVERSIZE] = "oversize",
	[CF_ID_CHANGE] = "id-change", [CF_GARBAGE] = "garbage", [CF_CRC] = "crc",
	[CF_DUP] = "dup", [CF_REORDER] = "reorder", [CF_SKIP] = "skip",
	[CF_BYE_MORE] = "bye-more", [CF_BYE_LESS] = "bye-less", [CF_ZERO] = "zero",
};

const char *client_fault_name(enum client_fault_kind k)
{
	return (unsigned)k < CF_NKINDS ? client_fault_names[k] : "?";
}

static void client_usage(FILE *f)
{
	fprintf(f,
"usage: daqmux client [options]\n"
"\n"
"Streams DAQ frames (wire protocol v1) from N sources to a daqmux server,\n"
"one TCP connection per source, driven by one epoll loop (or --loops K), and\n"
"prints what each source sent and how well it kept its schedule.\n"
"\n"
"  -c, --connect HOST:PORT  server address (default 127.0.0.1:5555; port 1 to\n"
"                           65535)\n"
"  -n, --sources N          number of sources, one connection each (default 1;\n"
"                           1 to 1000000)\n"
"  -r, --rate HZ|max        frames/s per source on a fixed schedule (default\n"
"                           1000; decimal, 0.001 to 1000000000); max: no\n"
"                           schedule, as fast as the socket takes them\n"
"  -m, --size BYTES|MIN-MAX payload size, or uniform in [MIN,MAX] (default 64;\n"
"                           0 to 256M)\n"
"      --big EVERY:BYTES    every EVERY-th frame (seq %% EVERY == EVERY-1) has\n"
"                           BYTES instead\n"
"      --count N            DATA frames per source (default 1000)\n"
"  -t, --duration SECONDS   send until SECONDS after the start instead of --count\n"
"      --silent ID:SECONDS  source ID connects, then sends nothing, not even\n"
"                           HELLO, for SECONDS (repeatable)\n"
"      --silent ID:SECONDS@AT  source ID stops AT seconds after the start, for\n"
"                           SECONDS, then sends what fell due meanwhile at once\n"
"                           (still stamped with the scheduled times)\n"
"      --jitter ID:US       source ID's frames leave up to US microseconds\n"
"                           (uniform random) after their scheduled time, which\n"
"                           they still carry (repeatable; paced sources; 0 to\n"
"                           60000000)\n"
"      --slow ID:HZ         source ID alone sends at HZ (repeatable)\n"
"      --burst              all sources' frames due at the same instants, like a\n"
"                           trigger (default: source i is i/N of a period later)\n"
"      --fragment           write each frame in 1-7 byte pieces 50-300 us apart,\n"
"                           so the server sees split headers (meant for a few\n"
"                           hundred frames)\n"
"      --seed N             seed of the payload sizes and bytes (default 1)\n"
"      --mode push|pull     push: send on the schedule; pull: answer each REQUEST\n"
"                           with one DATA frame, and the one after the last\n"
"                           with BYE\n"
"      --first-id N         source id of the first source; source i is N+i\n"
"                           (default 0)\n"
"      --name PREFIX        HELLO names are PREFIX-i (default src)\n"
"      --idle N             also hold N connections open that never send\n"
"                           anything, until the sources finish (descriptor\n"
"                           scaling; at most 1000000)\n"
"      --loops K            K sending threads, each with its own epoll loop and\n"
"                           every K-th source (default 1, at most 256; at most\n"
"                           one per source): one client can then outrun a\n"
"                           server with N loops\n"
"      --reconnect          on a refused or lost connection retry (100 ms\n"
"                           doubling to 2 s, give up after 30 s) and resume the\n"
"                           sequence\n"
"      --fault ID:KIND[@N]  inject KIND into source ID after N DATA frames\n"
"                           (default 0: before the first); repeatable, kinds\n"
"                           below\n"
"  -i, --interval SECONDS   a line per interval: frames, MB/s, p99 behind\n"
"                           schedule, epoll waits, EAGAIN writes (also\n"
"                           \"intervals\" in --json; at least 0.01; with one\n"
"                           sending loop only)\n"
"      --json FILE          write the run summary as JSON to FILE ('-': stdout,\n"
"                           and the table goes to stderr)\n"
"  -q, --quiet              no table at the end\n"
"  -h, --help               this text\n"
"\n"
"SECONDS are decimal, with an optional unit (2, 0.5, 2s, 250ms; at most\n"
"10000000); BYTES are whole, with an optional K, M or G (64, 4K, 1M); every\n"
"other number is a whole decimal number. A value out of its range, or a\n"
"--json file that cannot be written, is refused at once with exit status 2.\n"
"\n"
"ID is a source id (--first-id + i). Fault kinds; the first group ends the\n"
"source and closes its connection, the second continues normally:\n"
"  truncate     half of the next frame, then close    reset      close with RST\n"
"  close        close at a frame boundary, no BYE     garbage    64 random bytes, close\n"
"  bad-magic, bad-version, bad-type (type 9)          the next frame is malformed\n"
"  oversize     a header saying length 0xFFFFFFFF     id-change  next frame has id+1000\n"
"  --\n"
"  crc          next frame has a wrong CRC            dup        next frame sent twice\n"
"  reorder      the next two frames swapped           skip       one sequence number lost\n"
"  zero         next frame has an empty payload\n"
"  bye-more     BYE claims 5 frames more than sent    bye-less   BYE claims one fewer\n"
"               (with @N: the BYE comes after N frames)\n"
"\n"
"Examples:\n"
"  daqmux client --sources 4 --rate 1000 --count 2000 --silent 0:1\n"
"  daqmux client --sources 1 --rate max --duration 5 --json run.json\n"
"  daqmux client --sources 2 --size 64-4K --big 100:1M --count 10000\n"
"  daqmux client --sources 1 --count 300 --fragment\n"
"  daqmux client --sources 3 --fault 1:crc@10 --fault 2:truncate@50\n"
"  daqmux client --sources 8 --mode pull --duration 2\n"
"  daqmux client --sources 16 --idle 5000 --rate 100 --duration 10\n"
"  daqmux client --sources 64 --rate max --duration 5 --loops 4\n"
"\n"
"A failed source (refused, lost connection) stops the run unless --reconnect;\n"
"the others end with a BYE. SIGINT or SIGTERM does the same (a second one\n"
"stops at once), and the summary is printed either way.\n"
"Exit status: 0 everything was sent as asked, or a signal stopped it cleanly;\n"
"1 a failure during the run (refused or lost connection, a fault that never\n"
"fired); 2 bad usage.\n");
}

/* Options with a short form (sockperf's and iperf3's letters where they
 * have one) are their own letter; the others count from 256. */
enum {
	OPT_CONNECT = 'c', OPT_SOURCES = 'n', OPT_RATE = 'r', OPT_SIZE = 'm',
	OPT_DURATION = 't', OPT_QUIET = 'q', OPT_HELP = 'h', OPT_INTERVAL = 'i',
	OPT_BIG = 256, OPT_COUNT, OPT_SILENT, OPT_SLOW, OPT_FRAGMENT, OPT_SEED, OPT_MODE,
	OPT_FIRST_ID, OPT_NAME, OPT_IDLE, OPT_RECONNECT, OPT_FAULT, OPT_JSON, OPT_BURST, OPT_JITTER,
	OPT_LOOPS,
};

static const struct option client_longopts[] = {
	{ "connect",   required_argument, NULL, OPT_CONNECT },
	{ "sources",   required_argument, NULL, OPT_SOURCES },
	{ "rate",      required_argument, NULL, OPT_RATE },
	{ "size",      required_argument, NULL, OPT_SIZE },
	{ "big",       required_argument, NULL, OPT_BIG },
	{ "count",     required_argument, NULL, OPT_COUNT },
	{ "duration",  required_argument, NULL, OPT_DURATION },
	{ "silent",    required_argument, NULL, OPT_SILENT },
	{ "slow",      required_argument, NULL, OPT_SLOW },
	{ "fragment",  no_argument,       NULL, OPT_FRAGMENT },
	{ "burst",     no_argument,       NULL, OPT_BURST },
	{ "jitter",    required_argument, NULL, OPT_JITTER },
	{ "seed",      required_argument, NULL, OPT_SEED },
	{ "mode",      required_argument, NULL, OPT_MODE },
	{ "first-id",  required_argument, NULL, OPT_FIRST_ID },
	{ "name",      required_argument, NULL, OPT_NAME },
	{ "idle",      required_argument, NULL, OPT_IDLE },
	{ "loops",     required_argument, NULL, OPT_LOOPS },
	{ "reconnect", no_argument,       NULL, OPT_RECONNECT },
	{ "fault",     required_argument, NULL, OPT_FAULT },
	{ "json",      required_argument, NULL, OPT_JSON },
	{ "quiet",     no_argument,       NULL, OPT_QUIET },
	{ "interval",  required_argument, NULL, OPT_INTERVAL },
	{ "help",      no_argument,       NULL, OPT_HELP },
	{ NULL, 0, NULL, 0 },
};

/* A frequency, frames per second: at most one frame per nanosecond, at
 * least one per 1000 s, so that the period (1e9 / HZ ns) and every due
 * time of a run fit in 64 bits. */
#define CLIENT_MIN_HZ 0.001
#define CLIENT_MAX_HZ 1e9

static int client_parse_hz(const char *opt, const char *s, double *out)
{
	return parse_decimal(opt, s, CLIENT_MIN_HZ, CLIENT_MAX_HZ, out);
}

#define CLIENT_MAX_SECONDS 1e7     /* --duration, --silent: 115 days */
#define CLIENT_MAX_SOURCES 1000000

/* The payload limit is the protocol's length field, but the client keeps
 * two of the largest frames per source in memory, so stay sane. */
#define CLIENT_PAYLOAD_LIMIT (256u << 20)

static int client_parse_payload(const char *opt, const char *s, uint32_t *out)
{
	uint64_t v;
	if (parse_size(opt, s, 0, CLIENT_PAYLOAD_LIMIT, &v) < 0)
		return -1;
	*out = (uint32_t)v;
	return 0;
}

/* "ID:REST": the id, and REST is left in *rest. */
static int client_parse_id(const char *opt, char *s, uint32_t *id, char **rest)
{
	char *colon = strchr(s, ':');
	uint64_t v;
	if (!colon || colon == s || colon[1] == '\0') {
		msg("%s: '%s' is not ID:VALUE (e.g. %s 0:%s)", opt, s, opt,
		    strcmp(opt, "--fault") == 0 ? "crc@10" : "2");
		return -1;
	}
	*colon = '\0';
	int rc = parse_u64(opt, s, 0, UINT32_MAX, &v);
	*colon = ':';
	if (rc < 0)
		return -1;
	*id = (uint32_t)v;
	*rest = colon + 1;
	return 0;
}

static int client_parse_fault(char *arg, struct client_fault *f)
{
	char *rest, *at;
	memset(f, 0, sizeof(*f));
	if (client_parse_id("--fault", arg, &f->id, &rest) < 0)
		return -1;
	at = strchr(rest, '@');
	if (at)
		*at = '\0';
	unsigned k;
	for (k = 0; k < CF_NKINDS; k++)
		if (strcmp(rest, client_fault_names[k]) == 0)
			break;
	if (k == CF_NKINDS) {
		msg("--fault: unknown kind '%s'; one of: truncate reset close bad-magic "
		    "bad-version bad-type oversize id-change garbage crc dup reorder "
		    "skip zero bye-more bye-less", rest);
		return -1;
	}
	f->kind = (enum client_fault_kind)k;
	if (at) {
		*at = '@';
		if (parse_u64("--fault (after @)", at + 1, 0, UINT64_MAX - 1, &f->at) < 0)
			return -1;
		f->at_given = 1;
	}
	return 0;
}

/* The id must name one of this run's sources; said once, after all
 * options are in, because --first-id and --sources may come later. */
static int client_check_id(const struct client_opts *o, const char *opt, uint32_t id)
{
	if (id < o->first_id || id - o->first_id >= o->sources) {
		msg("%s: source id %u is not one of this run's sources (%u..%u: "
		    "--first-id %u, --sources %u)", opt, id, o->first_id,
		    o->first_id + o->sources - 1, o->first_id, o->sources);
		return -1;
	}
	return 0;
}

static int client_opts_check(struct client_opts *o)
{
	if ((uint64_t)o->first_id + o->sources - 1 > UINT32_MAX) {
		msg("--first-id %u with --sources %u runs past source id %u",
		    o->first_id, o->sources, UINT32_MAX);
		return -1;
	}
	if (o->size_min > o->size_max) {
		msg("--size: MIN %u is larger than MAX %u (write MIN-MAX)", o->size_min, o->size_max);
		return -1;
	}
	if (o->pull && (o->rate_given || o->nslow)) {
		msg("--rate and --slow do not apply to --mode pull: the server paces a "
		    "pull source with its REQUESTs; drop them");
		return -1;
	}
	char name[PROTO_NAME_MAX + 64];
	client_src_name(o, o->sources - 1, name, sizeof(name));
	if (strlen(name) > PROTO_NAME_MAX) {
		msg("--name: the HELLO name '%s' is longer than %u bytes", name, PROTO_NAME_MAX);
		return -1;
	}
	for (size_t i = 0; i < o->nsilent; i++)
		if (client_check_id(o, "--silent", o->silent[i].id) < 0)
			return -1;
	for (size_t i = 0; i < o->nslow; i++)
		if (client_check_id(o, "--slow", o->slow[i].id) < 0)
			return -1;
	for (size_t i = 0; i < o->njitter; i++)
		if (client_check_id(o, "--jitter", o->jitter[i].id) < 0)
			return -1;
	int moved = o->njitter > 0;
	for (size_t i = 0; i < o->nsilent; i++)
		moved |= o->silent[i].at_given;
	if (moved && (o->pull || o->rate == 0)) {
		msg("--jitter and --silent ID:S@AT move frames against a schedule: they "
		    "need a --rate (not max, not --mode pull)");
		return -1;
	}
	for (size_t i = 0; i < o->nfaults; i++) {
		struct client_fault *f = &o->faults[i];
		unsigned same = 0;
		if (client_check_id(o, "--fault", f->id) < 0)
			return -1;
		for (size_t j = 0; j < o->nfaults; j++)
			same += o->faults[j].id == f->id;
		if (same > CLIENT_MAX_FAULTS) {
			msg("--fault: at most %d faults per source (source %u has %u)",
			    CLIENT_MAX_FAULTS, f->id, same);
			return -1;
		}
		/* With --count the frames are known, so a fault that could
		 * never fire is a mistake in the command line, said now. */
		if (o->use_duration)
			continue;
		uint64_t last = client_fault_fatal(f->kind) || client_fault_at_bye(f->kind)
				? o->count : o->count - 1;
		if (o->count == 0 && !client_fault_fatal(f->kind) && !client_fault_at_bye(f->kind)) {
			msg("--fault %u:%s needs a frame to act on, but --count is 0",
			    f->id, client_fault_name(f->kind));
			return -1;
		}
		if (f->at > last) {
			msg("--fault %u:%s@%llu never fires: the source sends only %llu frames "
			    "(use @N with N <= %llu)", f->id, client_fault_name(f->kind),
			    (unsigned long long)f->at, (unsigned long long)o->count,
			    (unsigned long long)last);
			return -1;
		}
		if (f->kind == CF_BYE_LESS && (f->at_given ? f->at : o->count) == 0) {
			msg("--fault %u:bye-less needs at least one frame sent before the BYE",
			    f->id);
			return -1;
		}
	}
	return 0;
}

int client_opts_parse(struct client_opts *o, int argc, char **argv)
{
	uint64_t v;
	char *rest;

	memset(o, 0, sizeof(*o));
	o->connect = "127.0.0.1:5555";
	o->sources = 1;
	o->rate = 1000;
	o->size_min = o->size_max = 64;
	o->count = 1000;
	o->seed = 1;
	o->name_prefix = "src";
	o->loops = 1;
	/* Repeatable options cannot occur more often than there are words. */
	o->silent = calloc((size_t)argc, sizeof(*o->silent));
	o->slow = calloc((size_t)argc, sizeof(*o->slow));
	o->jitter = calloc((size_t)argc, sizeof(*o->jitter));
	o->faults = calloc((size_t)argc, sizeof(*o->faults));
	if (!o->silent || !o->slow || !o->jitter || !o->faults) {
		msg("out of memory parsing the command line");
		return OPTS_BAD;
	}

	int count_given = 0;
	optind = 0;     /* glibc: start afresh, whoever parsed before us */
	for (;;) {
		int c = getopt_long(argc, argv, ":c:n:r:m:t:i:qh", client_longopts, NULL);
		if (c == -1)
			break;
		char *arg = optarg;
		switch (c) {
		case OPT_CONNECT:
			if (parse_hostport("--connect", arg, 1) < 0)
				return OPTS_BAD;
			o->connect = arg;
			break;
		case OPT_SOURCES:
			if (parse_u64("--sources", arg, 1, CLIENT_MAX_SOURCES, &v) < 0)
				return OPTS_BAD;
			o->sources = (uint32_t)v;
			break;
		case OPT_RATE:
			o->rate_given = 1;
			if (strcmp(arg, "max") == 0)
				o->rate = 0;
			else if (client_parse_hz("--rate", arg, &o->rate) < 0)
				return OPTS_BAD;
			break;
		case OPT_SIZE: {
			char *dash = strchr(arg, '-');
			if (dash) {
				*dash = '\0';
				int bad = client_parse_payload("--size", arg, &o->size_min) < 0 ||
					  client_parse_payload("--size", dash + 1, &o->size_max) < 0;
				*dash = '-';
				if (bad)
					return OPTS_BAD;
			} else {
				if (client_parse_payload("--size", arg, &o->size_min) < 0)
					return OPTS_BAD;
				o->size_max = o->size_min;
			}
			break;
		}
		case OPT_BIG: {
			char *colon = strchr(arg, ':');
			if (!colon) {
				msg("--big: '%s' is not EVERY:BYTES (e.g. --big 100:1M)", arg);
				return OPTS_BAD;
			}
			*colon = '\0';
			int bad = parse_u64("--big (EVERY)", arg, 1, UINT64_MAX, &o->big_every) < 0 ||
				  client_parse_payload("--big (BYTES)", colon + 1, &o->big_bytes) < 0;
			*colon = ':';
			if (bad)
				return OPTS_BAD;
			break;
		}
		case OPT_COUNT:
			if (parse_u64("--count", arg, 0, UINT64_MAX - 1, &o->count) < 0)
				return OPTS_BAD;
			count_given = 1;
			break;
		case OPT_DURATION:
			if (parse_seconds("--duration", arg, 0, CLIENT_MAX_SECONDS, &o->duration) < 0)
				return OPTS_BAD;
			o->use_duration = 1;
			break;
		case OPT_SILENT:
		case OPT_SLOW: {
			const char *opt = c == OPT_SILENT ? "--silent" : "--slow";
			struct client_idval *iv = c == OPT_SILENT ? &o->silent[o->nsilent++]
								  : &o->slow[o->nslow++];
			if (client_parse_id(opt, arg, &iv->id, &rest) < 0)
				return OPTS_BAD;
			char *at = c == OPT_SILENT ? strchr(rest, '@') : NULL;
			if (at) {
				*at = '\0';
				iv->at_given = 1;
				if (parse_seconds("--silent (@AT)", at + 1, 0, CLIENT_MAX_SECONDS,
						  &iv->at) < 0)
					return OPTS_BAD;
			}
			if (c == OPT_SILENT ? parse_seconds(opt, rest, 0, CLIENT_MAX_SECONDS, &iv->v) < 0
					    : client_parse_hz(opt, rest, &iv->v) < 0)
				return OPTS_BAD;
			break;
		}
		case OPT_JITTER: {
			struct client_idval *iv = &o->jitter[o->njitter++];
			if (client_parse_id("--jitter", arg, &iv->id, &rest) < 0 ||
			    parse_u64("--jitter (US)", rest, 0, 60000000, &v) < 0)
				return OPTS_BAD;
			iv->v = (double)v;
			break;
		}
		case OPT_FRAGMENT:
			o->fragment = 1;
			break;
		case OPT_BURST:
			o->burst = 1;
			break;
		case OPT_SEED:
			if (parse_u64("--seed", arg, 0, UINT64_MAX, &o->seed) < 0)
				return OPTS_BAD;
			break;
		case OPT_MODE:
			if (strcmp(arg, "push") == 0) {
				o->pull = 0;
			} else if (strcmp(arg, "pull") == 0) {
				o->pull = 1;
			} else {
				msg("--mode: '%s' is neither push nor pull", arg);
				return OPTS_BAD;
			}
			break;
		case OPT_FIRST_ID:
			if (parse_u64("--first-id", arg, 0, UINT32_MAX, &v) < 0)
				return OPTS_BAD;
			o->first_id = (uint32_t)v;
			break;
		case OPT_NAME:
			o->name_prefix = arg;
			break;
		case OPT_IDLE:
			if (parse_u64("--idle", arg, 0, 1000000, &v) < 0)
				return OPTS_BAD;
			o->idle = (uint32_t)v;
			break;
		case OPT_LOOPS:
			if (parse_u64("--loops", arg, 1, CLIENT_MAX_LOOPS, &v) < 0)
				return 2;
			o->loops = (uint32_t)v;
			break;
		case OPT_RECONNECT:
			o->reconnect = 1;
			break;
		case OPT_FAULT:
			if (client_parse_fault(arg, &o->faults[o->nfaults++]) < 0)
				return OPTS_BAD;
			break;
		case OPT_JSON:
			o->json = arg;
			break;
		case OPT_QUIET:
			o->quiet = 1;
			break;
		case OPT_INTERVAL:
			if (parse_seconds("--interval", arg, 0.01, CLIENT_MAX_SECONDS, &o->interval) < 0)
				return 2;
			break;
		case OPT_HELP:
			client_usage(stdout);
			return OPTS_HELP;
		default:
			return opts_getopt_error("client", c, argv, client_longopts);
		}
	}
	if (opts_no_operands("client", argc, argv) != OPTS_RUN)
		return OPTS_BAD;
	/* The interval lines read every source's counters as they go, which
	 * only the one loop that owns them all may do. */
	if (o->interval > 0 && o->loops > 1) {
		msg("--interval and --loops %u: interval lines need one sending loop; drop one "
		    "of them", o->loops);
		return OPTS_BAD;
	}
	if (count_given && o->use_duration) {
		msg("--count and --duration both given: choose one");
		return OPTS_BAD;
	}
	if (client_opts_check(o) < 0)
		return OPTS_BAD;
	if (o->json && strcmp(o->json, "-") != 0 && check_output_file("--json", o->json) < 0)
		return OPTS_BAD;
	if (net_resolve(o->connect, 0, &o->addr) < 0)
		return OPTS_BAD;
	return OPTS_RUN;
}

void client_opts_free(struct client_opts *o)
{
	free(o->silent);
	free(o->slow);
	free(o->jitter);
	free(o->faults);
}
