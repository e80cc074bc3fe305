/*
 * client_int.h - what the client's files share (not part of its interface).
 *
 *   client.c        client_main: set-up, the summary table and JSON
 *   client_opts.c   the command line and --help
 *   client_gen.c    frame generation: sizes, payload bytes, faults,
 *                   the output buffer and what was written of it
 *   client_loop.c   connections and the epoll event loops (one per --loops)
 *
 * Try it: make && bin/daqmux client --help
 */
#ifndef DAQMUX_CLIENT_INT_H
#define DAQMUX_CLIENT_INT_H

#include <stddef.h>
#include <stdint.h>

#include "frame.h"
#include "heap.h"
#include "hist.h"
#include "meta.h"
#include "net.h"
#include "proto.h"

#define CLIENT_GOLDEN           0x9e3779b97f4a7c15ull

/* splitmix64's output function: a good 64-bit mix, so that a payload
 * size can be a pure function of (source, seq) and survive a rewind. */
static inline uint64_t client_mix(uint64_t z)
{
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

/* splitmix64: the fragment pieces and pauses, garbage bytes, the pattern. */
static inline uint64_t client_rand(uint64_t *state)
{
	*state += CLIENT_GOLDEN;
	return client_mix(*state);
}

#define CLIENT_NS               1000000000ull
#define CLIENT_MS               1000000ull

/* Output buffer per source. Paced sources rarely hold more than a frame
 * or two; a max-rate source batches as many frames as fit into one write,
 * so a bigger buffer means fewer system calls per frame. Either way it is
 * at least two of the largest frames, which a dup or reorder emits at once. */
#define CLIENT_BUF_PACED        (64u << 10)
#define CLIENT_BUF_MAX_RATE     (256u << 10)
#define CLIENT_BUF_BUDGET       (512ull << 20) /* all max-rate buffers together */

#define CLIENT_CONNECT_WINDOW   64      /* connects in flight at once */
#define CLIENT_IDLE_STALL       (1 * CLIENT_NS)  /* idle connects this stuck: start anyway */
#define CLIENT_CONNECT_TIMEOUT  (10 * CLIENT_NS)
#define CLIENT_LINGER           (2 * CLIENT_NS)  /* wait for the server's EOF */
#define CLIENT_STOP_GRACE       (1 * CLIENT_NS)  /* after a stop, to send BYE: well
                                                 * inside a supervisor's SIGKILL grace */
#define CLIENT_BACKOFF_FIRST    (100 * CLIENT_MS)
#define CLIENT_BACKOFF_MAX      (2 * CLIENT_NS)
#define CLIENT_BACKOFF_GIVEUP   (30 * CLIENT_NS)
#define CLIENT_PULL_BACKLOG     65536   /* unanswered REQUESTs before we stop reading */

enum client_fault_kind {
	CF_TRUNCATE, CF_RESET, CF_CLOSE, CF_BAD_MAGIC, CF_BAD_VERSION,
	CF_BAD_TYPE, CF_OVERSIZE, CF_ID_CHANGE, CF_GARBAGE,     /* fatal */
	CF_CRC, CF_DUP, CF_REORDER, CF_SKIP, CF_BYE_MORE, CF_BYE_LESS, CF_ZERO,
	CF_NKINDS
};

static inline int client_fault_fatal(enum client_fault_kind k)
{
	return k <= CF_GARBAGE;
}

static inline int client_fault_at_bye(enum client_fault_kind k)
{
	return k == CF_BYE_MORE || k == CF_BYE_LESS;
}

const char *client_fault_name(enum client_fault_kind k);

#define CLIENT_MAX_FAULTS 8            /* per source */

struct client_fault {
	uint32_t id;               /* source id */
	enum client_fault_kind kind;
	uint64_t at;               /* after this many DATA frames */
	int      at_given;         /* @N was written */
	int      done;             /* injected */
};

struct client_idval {              /* --silent ID:SECONDS[@AT], --slow ID:HZ,
				      --jitter ID:US */
	uint32_t id;
	double   v;
	double   at;                /* --silent ...@AT: seconds after the start */
	int      at_given;
};

struct client_opts {
	const char *connect;
	struct net_addr addr;
	uint32_t sources;
	double   rate;              /* frames/s per source; 0 = max */
	int      rate_given;
	uint32_t size_min, size_max;
	uint64_t big_every;         /* 0 = no --big */
	uint32_t big_bytes;
	uint64_t count;
	double   duration;          /* seconds, when use_duration (else --count) */
	int      use_duration;
	struct client_idval *silent, *slow, *jitter;
	size_t   nsilent, nslow, njitter;
	struct client_fault *faults;
	size_t   nfaults;
	int      fragment, pull, reconnect, quiet;
	int      burst;             /* all schedules in phase (default: spread) */
	uint64_t seed;
	uint32_t first_id;
	const char *name_prefix;
	uint32_t idle;
	uint32_t loops;             /* sending threads, each with its own epoll loop */
	const char *json;
	double   interval;          /* -i SECONDS, 0 = no interval lines */
};

#define CLIENT_MAX_LOOPS 256

/* Returns 0 to run, 1 when --help was printed, 2 on bad usage (said why). */
int  client_opts_parse(struct client_opts *o, int argc, char **argv);
void client_opts_free(struct client_opts *o);

enum client_state {
	CS_IDLE,        /* not connected yet (waiting for a connect slot) */
	CS_CONNECTING,  /* nonblocking connect in flight */
	CS_READY,       /* connected, waiting for the others (start barrier) */
	CS_SILENT,      /* connected, --silent: says nothing until wake */
	CS_RUN,         /* sending, or answering REQUESTs */
	CS_BACKOFF,     /* --reconnect: waiting to try again */
	CS_CLOSING,     /* last bytes written, SHUT_WR sent, awaiting the EOF */
	CS_DONE,        /* descriptor closed, status final */
};

enum client_status { CLIENT_RUNNING, CLIENT_OK, CLIENT_FAILED, CLIENT_FAULT };

struct client_src {
	uint32_t index, id;
	int      idle;              /* an --idle connection: never sends */
	int      fd;
	enum client_state state;
	struct heap_node timer;     /* its next deadline, when queued */

	/* schedule: frame k is due at start_ns + k * period_ns */
	double   period_ns;         /* 0 = --rate max */
	uint64_t start_ns;          /* t0, plus the --silent time */
	uint64_t silent_ns;
	uint64_t stall_at_ns, stall_ns; /* --silent ID:S@AT: after start_ns */
	uint64_t jitter_ns;         /* --jitter: frames leave up to this late */
	uint64_t end_ns;            /* --duration: t0 + duration, else UINT64_MAX */
	uint64_t quota;             /* frames to send; UINT64_MAX with --duration */

	/* generator */
	uint64_t next_seq;          /* next DATA sequence number to encode */
	uint64_t key;               /* payload sizes: a function of (key, seq) */
	uint64_t rng;               /* fragment pieces and pauses, garbage */
	int      hello_due;         /* encode HELLO before anything else */
	int      bye_queued;        /* BYE (or a fatal fault) is in the buffer */
	int      held;              /* reorder: held_seq waits for its successor */
	uint64_t held_seq, held_send_ns;
	struct client_fault *faults[CLIENT_MAX_FAULTS];
	unsigned nfaults;
	int      faulted;           /* a fault went out: server closes are expected */
	int      fatal;             /* ... and it was one that ends the source */
	enum client_fault_kind fatal_kind;
	char     fault_desc[64];    /* "crc@10,dup@20" */

	/* output buffer: [0, acked) written and counted, [acked, off)
	 * written but the frame there not whole yet, [off, len) not
	 * written; [raw, len) are fault bytes, not frames (raw = SIZE_MAX
	 * when there are none) */
	uint8_t *buf;
	size_t   cap, len, off, acked, raw;
	int      blocked;           /* waiting for EPOLLOUT */
	uint64_t blocked_since;
	uint64_t frag_ready;        /* --fragment: next piece not before */

	/* pull mode */
	struct frame_parser fp;
	uint64_t pending_req;       /* REQUESTs read, not answered yet */
	int      read_more;         /* stopped reading with bytes left */

	/* connection */
	uint64_t fail_since;        /* first failure of this outage, 0 = none */
	uint64_t backoff_ns;
	unsigned connections;
	int      windowed;          /* counted in the start's connect window */
	int      stopping;          /* stop asked: BYE at the next chance */
	int      got_eof;

	/* what went out */
	uint64_t frames, bytes, wire_bytes;
	uint64_t eagain, blocked_ns, partial;
	int      bye_sent;          /* the BYE went out whole, claiming bye_count */
	uint64_t bye_count;
	uint64_t t_end;             /* when the BYE (or the last byte) went out */
	struct hist lag;            /* how far behind schedule frames were written;
				       lazily allocated (about 1 KiB a source) */
	struct hist *ilag;          /* -i: the run's interval histogram, or NULL */
	enum client_status status;
	char     error[200];
};

/* The frame generator: one for the run, read-only after client_gen_init,
 * so the --loops threads share it. */
struct client_gen {
	const struct client_opts *o;
	uint8_t  *pattern;          /* payload bytes: every payload is a window */
	uint32_t  max_payload;
};

int  client_gen_init(struct client_gen *g, const struct client_opts *o);
void client_gen_free(struct client_gen *g);

/* Set up source i (buffers, schedule, faults); 0 or -1 (ENOMEM). */
int  client_src_init(struct client_gen *g, struct client_src *s, uint32_t index, int idle);
void client_src_free(struct client_src *s);

/* Encode whatever is due at now into the buffer: HELLO, DATA frames, a
 * fault, the BYE. In pull mode one answer per pending REQUEST. */
void client_fill(struct client_gen *g, struct client_src *s, uint64_t now);

/* The time at which client_fill has something new to do (UINT64_MAX:
 * nothing until an event), for a source that is not blocked. */
uint64_t client_next_due(struct client_gen *g, const struct client_src *s, uint64_t now);

/* Account frames written up to s->off at time now (complete frames
 * only); returns the number of frames accounted. */
uint64_t client_account(struct client_src *s, uint64_t now);

/* After a lost connection: forget what was not written and rewind the
 * sequence to the first DATA frame that did not go out whole. */
void client_rewind(struct client_src *s);

/* The source's next HELLO name, e.g. "src-3". */
void client_src_name(const struct client_opts *o, uint32_t index, char *buf, size_t len);

/* Faults that never fired: describe the first into buf, return how many. */
unsigned client_faults_pending(const struct client_src *s, char *buf, size_t len);

/* What one sending loop did (--loops K: one per thread). Source i and
 * idle connection j belong to loop i % K and j % K; these figures are
 * that loop's own, summed over its connections when it ends. */
struct client_loopstat {
	uint32_t sources, idle;
	uint64_t frames, bytes, eagain, blocked_ns;
	uint64_t waits;             /* epoll waits */
	uint64_t cpu_ns;            /* the thread's CPU time */
};

/* One run: the options, the generator, every connection. */
struct client_run {
	const struct client_opts *o;
	struct client_gen gen;
	struct client_src *src;     /* sources, then idle connections */
	uint32_t nsrc, nall;
	uint32_t nloops;            /* --loops, at most one per source */
	struct client_loopstat *loops;
	uint64_t t0, t_end;
	int      failed;            /* a source failed: exit 1 */
	int      signalled;         /* SIGINT/SIGTERM seen */
	uint32_t idle_connected;    /* idle connections that were established */
	uint32_t idle_lost;         /* ... and then closed by the server */
	struct meta_start start;    /* for the JSON */
	uint64_t waits;             /* epoll waits */
	struct client_ivals *iv;    /* -i, or NULL */
};

/* -i: one interval, as in the JSON. */
struct client_interval {
	double   t_s, dur_s;        /* its end (seconds since the loop began), length */
	uint64_t frames, bytes, p99_ns, waits, eagain;
};

/* -i: what the intervals need. Counts are the totals at the start of
 * the interval under way; its own are the differences. */
struct client_ivals {
	uint64_t period_ns, start_ns, next_ns, t0_ns;
	uint64_t frames, bytes, eagain, waits;
	struct hist lag;            /* this interval's lateness */
	struct client_interval *v;
	size_t n, cap;
};

/* -i: the interval ends at now (last: the run ended, maybe early):
 * print its line, keep it for the JSON, start the next. */
void client_interval_end(struct client_run *r, uint64_t now, int last);

/* Connect everything, run every source to its end (or a stop), close
 * the idle connections: in r->nloops threads, each with its share of the
 * connections (r->loops has room for them). 0, or -1 when a loop itself
 * failed (said why). */
int client_loop(struct client_run *r);

#endif
