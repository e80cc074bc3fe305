/*
 * net.h - socket set-up shared by the server, the client and the tests.
 * Every function reports its own failure with msg() and returns -1.
 */
#ifndef DAQMUX_NET_H
#define DAQMUX_NET_H

#include <stddef.h>
#include <sys/socket.h>

struct net_addr {
	struct sockaddr_storage ss;
	socklen_t len;
};

/* "HOST:PORT", "[v6]:PORT" or ":PORT"; HOST may be a name. */
int net_resolve(const char *hostport, int passive, struct net_addr *out);

/* A listening TCP socket with SO_REUSEADDR, and O_NONBLOCK and
 * SO_REUSEPORT (one socket per event loop on one port) when asked. */
#define NET_NONBLOCK  1u
#define NET_REUSEPORT 2u
int net_listen(const struct net_addr *a, int backlog, unsigned flags);

/* "HOST:PORT" of a socket's local end (for "listening on"), or its peer. */
int net_local_name(int fd, char *buf, size_t len);
int net_peer_name(int fd, char *buf, size_t len);
void net_format(const struct sockaddr *sa, socklen_t len, char *buf, size_t buflen);

int net_set_nonblock(int fd, int on);
int net_set_nodelay(int fd);

/* TCP keepalive with short probes and TCP_USER_TIMEOUT, so a peer whose
 * link went dark is declared dead within about timeout_s seconds. */
int net_set_keepalive(int fd, unsigned timeout_s);

/* Raise RLIMIT_NOFILE's soft limit towards want (capped at the hard
 * limit). Returns the soft limit now in force. */
long net_raise_nofile(long want);

#endif
