/*
 * sockperf.c - the reference floor for the latency scenario.
 *
 * `sockperf ping-pong --tcp` bounces a 64-byte message between two
 * processes over loopback TCP as fast as it can: the round trip of the
 * kernel's TCP path and two wake-ups, with no protocol and no framing.
 * daqmux's pull mode does the same work plus its own (REQUEST -> DATA with
 * a header and a CRC), so its RTT cannot be lower; how close it comes is
 * the measure.
 *
 * sockperf reports one-way latency, which it computes as RTT / 2; every
 * figure kept here is multiplied by 2 back into a round-trip time.
 * Both ends are pinned like the daqmux server and client, the server
 * listens on a free port of 127.0.0.1, the client is bounded by -t and
 * our hard timeout, and the server - started here - is stopped here.
 */
#include "compare_int.h"

#include <arpa/inet.h>
#include <errno.h>
#include <math.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "util.h"

void cmp_sockperf_probe(struct cmp *c)
{
	char out[CMP_PATH + 32], why[200];
	char *argv[] = { "sockperf", "--version", NULL };

	cmp_sfmt(out, sizeof(out), "%s/sockperf-version.log", c->raw);
	int rc = cmp_exec(argv, out, NULL, 10, why, sizeof(why));
	c->have_sockperf = rc == 0;
	if (rc != 0)
		cmp_sfmt(c->sockperf_why, sizeof(c->sockperf_why), "sockperf %s; apt-get install "
			 "sockperf, or make compare-deps", rc == 127 ? "is not installed" : "does not run");
	unlink(out);
}

/* A port on 127.0.0.1 that nobody listens on right now. */
static int cmp_free_port(void)
{
	struct sockaddr_in sin = { .sin_family = AF_INET, .sin_port = 0 };
	socklen_t sl = sizeof(sin);
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	int port = -1;

	if (fd < 0)
		return -1;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (bind(fd, (struct sockaddr *)&sin, sizeof(sin)) == 0 &&
	    getsockname(fd, (struct sockaddr *)&sin, &sl) == 0)
		port = ntohs(sin.sin_port);
	close(fd);
	return port;
}

/* Wait until something accepts on 127.0.0.1:port (the sockperf server). */
static int cmp_port_ready(int port, double timeout_s)
{
	uint64_t deadline = now_ns() + (uint64_t)(timeout_s * 1e9);
	struct sockaddr_in sin = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);

	while (now_ns() < deadline) {
		int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
		if (fd < 0)
			return -1;
		int ok = connect(fd, (struct sockaddr *)&sin, sizeof(sin)) == 0;
		close(fd);
		if (ok)
			return 0;
		struct timespec ts = { 0, 20 * 1000000L };
		nanosleep(&ts, NULL);
	}
	return -1;
}

/*
 * sockperf's summary lines (colour escapes aside):
 *   sockperf: ---> <MAX> observation =  749.699
 *   sockperf: ---> percentile 99.900 =   49.844
 *   sockperf: ---> <MIN> observation =    9.719
 *   sockperf: [Valid Duration] RunTime=0.550 sec; SentMessages=9866; ReceivedMessages=9866
 * in microseconds of one-way latency.
 */
static int cmp_sockperf_parse(const char *path, struct cmp_case *k, struct cmp_rep *r)
{
	FILE *f = fopen(path, "r");
	char line[512];
	double p[6] = { NAN, NAN, NAN, NAN, NAN, NAN };   /* min p50 p99 p999 max count */
	double pts_x[16], pts_y[16];
	size_t npts = 0;

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f)) {
		double pc, v, runtime;
		unsigned long sent, recvd;
		char *s = strstr(line, "--->");
		if (s) {
			if (sscanf(s, "---> percentile %lf = %lf", &pc, &v) == 2) {
				v *= 2000;   /* one-way us -> RTT ns */
				if (fabs(pc - 50) < 1e-6) p[1] = v;
				if (fabs(pc - 99) < 1e-6) p[2] = v;
				if (fabs(pc - 99.9) < 1e-6) p[3] = v;
				if (npts < 16) {
					pts_x[npts] = v;
					pts_y[npts++] = pc / 100;
				}
			} else if (sscanf(s, "---> <MAX> observation = %lf", &v) == 1) {
				p[4] = v * 2000;
			} else if (sscanf(s, "---> <MIN> observation = %lf", &v) == 1) {
				p[0] = v * 2000;
			}
		} else if ((s = strstr(line, "[Valid Duration]")) &&
			   sscanf(s, "[Valid Duration] RunTime=%lf sec; SentMessages=%lu; ReceivedMessages=%lu",
				  &runtime, &sent, &recvd) == 3) {
			p[5] = (double)recvd;
		}
	}
	fclose(f);
	if (isnan(p[1]))
		return -1;
	r->m[cmp_metric_index(k->sc, "p50_ns")] = p[1];
	r->m[cmp_metric_index(k->sc, "p99_ns")] = p[2];
	r->m[cmp_metric_index(k->sc, "p999_ns")] = p[3];
	r->m[cmp_metric_index(k->sc, "max_ns")] = p[4];
	r->m[cmp_metric_index(k->sc, "requests")] = p[5];

	/* Only percentiles are known: the CDF is drawn through them (the
	 * first repetition's; they hardly differ). */
	if (k->cdf.n == 0) {
		struct cmp_cdf *d = &k->cdf;
		size_t n = npts + 2;
		d->x = calloc(n, sizeof(double));
		d->y = calloc(n, sizeof(double));
		if (d->x && d->y) {
			d->from_percentiles = 1;
			if (!isnan(p[0])) {
				d->x[d->n] = p[0];
				d->y[d->n++] = 0;
			}
			for (size_t i = npts; i-- > 0;) {   /* sockperf lists them high to low */
				d->x[d->n] = pts_x[i];
				d->y[d->n++] = pts_y[i];
			}
			if (!isnan(p[4])) {
				d->x[d->n] = p[4];
				d->y[d->n++] = 1;
			}
		}
	}
	return 0;
}

void cmp_sockperf_run(struct cmp *c, struct cmp_case *k, unsigned rep)
{
	struct cmp_rep *r = &k->rep[rep];
	struct proc srv;
	char slog[CMP_PATH + 64], clog[CMP_PATH + 64], port_s[16], time_s[16], why[CMP_WHY];
	uint64_t t0 = now_ns();
	int port = cmp_free_port();

	for (unsigned i = 0; i < CMP_MAX_METRICS; i++)
		r->m[i] = NAN;
	if (port < 0) {
		r->state = CMP_FAILED;
		cmp_sfmt(r->why, sizeof(r->why), "no free port on 127.0.0.1");
		return;
	}
	cmp_sfmt(port_s, sizeof(port_s), "%d", port);
	cmp_sfmt(time_s, sizeof(time_s), "%.0f", c->p.sockperf_s);
	cmp_sfmt(slog, sizeof(slog), "%s/latency-sockperf-r%u.server.log", c->raw, rep + 1);
	cmp_sfmt(clog, sizeof(clog), "%s/latency-sockperf-r%u.client.log", c->raw, rep + 1);

	char *sargv[] = { "sockperf", "server", "--tcp", "-i", "127.0.0.1", "-p", port_s, NULL };
	char *cargv[] = { "sockperf", "ping-pong", "--tcp", "-i", "127.0.0.1", "-p", port_s,
			  "-m", "64", "-t", time_s, NULL };

	struct proc_opts o;
	cmp_proc_opts(&o, c->cpu_server, -1, slog);
	if (proc_spawn(&srv, "sockperf server", sargv, &o, why, sizeof(why)) < 0) {
		r->state = CMP_FAILED;
		cmp_sfmt(r->why, sizeof(r->why), "sockperf server: %s", why);
		return;
	}
	if (cmp_port_ready(port, 5) < 0) {
		(void)proc_stop(&srv, 1000);
		r->state = CMP_FAILED;
		cmp_sfmt(r->why, sizeof(r->why), "sockperf server did not listen on 127.0.0.1:%d", port);
		return;
	}
	struct proc cli;
	int rc = -1;
	cmp_proc_opts(&o, c->cpu_client, -1, clog);
	if (proc_spawn(&cli, "sockperf ping-pong", cargv, &o, why, sizeof(why)) == 0) {
		rc = proc_finish(&cli, now_ns() + (uint64_t)((c->p.sockperf_s + 15) * 1e9),
				 CMP_KILL_GRACE_MS);
		if (rc != 0)
			proc_how(&cli, why, sizeof(why));
	}
	(void)proc_stop(&srv, 200);    /* sockperf's server runs until killed */
	r->wall_s = (double)(now_ns() - t0) / 1e9;
	if (rc == 0 && cmp_sockperf_parse(clog, k, r) == 0) {
		r->state = CMP_OK;   /* the x2 is said in the report's text */
		return;
	}
	r->state = CMP_FAILED;
	if (rc == 0)
		cmp_sfmt(why, sizeof(why), "no percentiles in its output (%s)", clog);
	cmp_sfmt(r->why, sizeof(r->why), "sockperf ping-pong: %s", why);
}
