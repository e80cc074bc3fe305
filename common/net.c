/* net.c - see net.h. */
#include "net.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "util.h"

int net_resolve(const char *hostport, int passive, struct net_addr *out)
{
	char host[256];
	const char *colon = strrchr(hostport, ':');
	const char *h = hostport;
	size_t hl;

	if (!colon || colon[1] == '\0') {
		msg("'%s' is not HOST:PORT (e.g. 127.0.0.1:5555, [::1]:5555, :0)", hostport);
		return -1;
	}
	hl = (size_t)(colon - hostport);
	if (hl >= 2 && h[0] == '[' && h[hl - 1] == ']')
		h++, hl -= 2;
	if (hl >= sizeof(host)) {
		msg("host name in '%s' is too long", hostport);
		return -1;
	}
	memcpy(host, h, hl);
	host[hl] = '\0';

	struct addrinfo hints = {
		.ai_family = AF_UNSPEC,
		.ai_socktype = SOCK_STREAM,
		.ai_flags = (passive ? AI_PASSIVE : 0) | AI_NUMERICSERV,
	}, *res;
	int rc = getaddrinfo(hl ? host : (passive ? NULL : "127.0.0.1"), colon + 1, &hints, &res);
	if (rc) {
		msg("cannot resolve '%s': %s", hostport,
		    rc == EAI_SYSTEM ? strerror(errno) : gai_strerror(rc));
		return -1;
	}
	memcpy(&out->ss, res->ai_addr, res->ai_addrlen);
	out->len = res->ai_addrlen;
	freeaddrinfo(res);
	return 0;
}

int net_listen(const struct net_addr *a, int backlog, unsigned flags)
{
	char name[128];
	int one = 1;
	int fd = socket(a->ss.ss_family,
			SOCK_STREAM | SOCK_CLOEXEC | (flags & NET_NONBLOCK ? SOCK_NONBLOCK : 0), 0);

	net_format((const struct sockaddr *)&a->ss, a->len, name, sizeof(name));
	if (fd < 0) {
		msg("socket: %s", strerror(errno));
		return -1;
	}
	if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0 ||
	    ((flags & NET_REUSEPORT) &&
	     setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one)) < 0) ||
	    bind(fd, (const struct sockaddr *)&a->ss, a->len) < 0 ||
	    listen(fd, backlog) < 0) {
		int e = errno;
		msg("cannot listen on %s: %s%s", name, strerror(e),
		    e == EADDRINUSE ? " (choose another --listen port, or :0 for any free one)" : "");
		close(fd);
		return -1;
	}
	return fd;
}

void net_format(const struct sockaddr *sa, socklen_t len, char *buf, size_t buflen)
{
	char host[INET6_ADDRSTRLEN], port[16];
	if (getnameinfo(sa, len, host, sizeof(host), port, sizeof(port),
			NI_NUMERICHOST | NI_NUMERICSERV)) {
		snprintf(buf, buflen, "?");
		return;
	}
	snprintf(buf, buflen, sa->sa_family == AF_INET6 ? "[%s]:%s" : "%s:%s", host, port);
}

static int net_name(int fd, int peer, char *buf, size_t len)
{
	struct sockaddr_storage ss;
	socklen_t sl = sizeof(ss);
	int rc = peer ? getpeername(fd, (struct sockaddr *)&ss, &sl)
		      : getsockname(fd, (struct sockaddr *)&ss, &sl);
	if (rc < 0) {
		snprintf(buf, len, "?");
		return -1;
	}
	net_format((struct sockaddr *)&ss, sl, buf, len);
	return 0;
}

int net_local_name(int fd, char *buf, size_t len) { return net_name(fd, 0, buf, len); }
int net_peer_name(int fd, char *buf, size_t len) { return net_name(fd, 1, buf, len); }

int net_set_nonblock(int fd, int on)
{
	int fl = fcntl(fd, F_GETFL);
	if (fl < 0 || fcntl(fd, F_SETFL, on ? fl | O_NONBLOCK : fl & ~O_NONBLOCK) < 0) {
		msg("fcntl(O_NONBLOCK) on descriptor %d: %s", fd, strerror(errno));
		return -1;
	}
	return 0;
}

int net_set_nodelay(int fd)
{
	int one = 1;
	if (setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one)) < 0) {
		msg("setsockopt(TCP_NODELAY): %s", strerror(errno));
		return -1;
	}
	return 0;
}

int net_set_keepalive(int fd, unsigned timeout_s)
{
	/* Probe after a third of the bound, then every sixth, three times:
	 * the peer is declared dead within roughly timeout_s. */
	int one = 1;
	int idle = timeout_s / 3 ? (int)(timeout_s / 3) : 1;
	int intvl = timeout_s / 6 ? (int)(timeout_s / 6) : 1;
	int cnt = 3;
	unsigned user_ms = timeout_s * 1000u;
	if (setsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &one, sizeof(one)) < 0 ||
	    setsockopt(fd, IPPROTO_TCP, TCP_KEEPIDLE, &idle, sizeof(idle)) < 0 ||
	    setsockopt(fd, IPPROTO_TCP, TCP_KEEPINTVL, &intvl, sizeof(intvl)) < 0 ||
	    setsockopt(fd, IPPROTO_TCP, TCP_KEEPCNT, &cnt, sizeof(cnt)) < 0 ||
	    setsockopt(fd, IPPROTO_TCP, TCP_USER_TIMEOUT, &user_ms, sizeof(user_ms)) < 0) {
		msg("setting TCP keepalive: %s", strerror(errno));
		return -1;
	}
	return 0;
}

long net_raise_nofile(long want)
{
	struct rlimit rl;
	if (getrlimit(RLIMIT_NOFILE, &rl) < 0)
		return -1;
	if ((rlim_t)want > rl.rlim_cur) {
		rl.rlim_cur = (rlim_t)want < rl.rlim_max ? (rlim_t)want : rl.rlim_max;
		if (setrlimit(RLIMIT_NOFILE, &rl) < 0)
			getrlimit(RLIMIT_NOFILE, &rl);
	}
	return (long)rl.rlim_cur;
}
