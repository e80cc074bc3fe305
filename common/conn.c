/*
 * conn.c - one connection's life: bytes in, frames out, accounting.
 *
 * This is the per-frame path of every backend. It touches only the
 * connection, its source record and its syscounts, so it needs no lock;
 * what it shares with other threads (the record list, the count of ended
 * sources) is touched only when a connection is named or closed.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "build.h"
#include "server.h"
#include "util.h"

/* "source 3 (127.0.0.1:40312)", or "source ? (...)" before any frame. */
static const char *conn_label(const struct conn *c, char *buf, size_t len)
{
	if (c->src->have_id)
		snprintf(buf, len, "source %u (%s)", c->src->id, c->src->peer);
	else
		snprintf(buf, len, "source ? (%s)", c->src->peer);
	return buf;
}

/* One line naming the source, the peer and the reason, then the record. */
static void conn_fail(struct conn *c, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
static void conn_fail(struct conn *c, const char *fmt, ...)
{
	char why[sizeof(c->src->error)], who[96];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(why, sizeof(why), fmt, ap);
	va_end(ap);
	source_fail(c->src, "%s", why);
	msg("%s: %s; connection closed", conn_label(c, who, sizeof(who)), why);
}

/*
 * The first frame names the source. If an earlier connection of the same
 * source ended without a BYE, this one resumes its sequence accounting
 * (client --reconnect), so a gap across the reconnect counts as lost.
 * The scan is linear, but runs once per connection under the lock, never
 * per frame.
 */
static enum conn_state conn_name(struct server *s, struct conn *c, uint32_t id)
{
	struct source *me = c->src, *prev = NULL;
	const char *clash = NULL;

	pthread_mutex_lock(&s->lock);
	for (unsigned i = s->nsrcs; i-- > 0;) {
		struct source *r = s->srcs[i];
		if (r == me || !r->have_id || r->id != id)
			continue;
		/* Under the lock only `closed` is settled: a record still
		 * open may be changing in its reader's thread right now. */
		if (!r->closed || r->status == SRC_ACTIVE)
			clash = r->peer;
		else if (!r->resumed && r->status != SRC_COMPLETE)
			prev = r;
		break;
	}
	me->id = id;
	me->have_id = 1;
	if (!clash && prev) {
		prev->resumed = 1;
		__atomic_sub_fetch(&s->ended, 1, __ATOMIC_RELAXED);
		me->next_seq = prev->next_seq;
		memcpy(me->seen, prev->seen, sizeof(me->seen));
		me->connections = prev->connections + 1;
		memcpy(me->name, prev->name, sizeof(me->name));
	}
	pthread_mutex_unlock(&s->lock);
	c->named = 1;
	if (clash) {
		conn_fail(c, "source id %u is already connected from %s", id, clash);
		return CONN_END;
	}
	return CONN_OPEN;
}

static enum conn_state conn_frame(struct server *s, struct conn *c,
				  const struct frame *f, uint64_t now)
{
	struct source *src = c->src;
	const struct proto_header *h = &f->h;

	if (!c->named) {
		if (conn_name(s, c, h->source) == CONN_END)
			return CONN_END;
	} else if (h->source != src->id) {
		conn_fail(c, "source id changed from %u to %u", src->id, h->source);
		return CONN_END;
	}

	switch (h->type) {
	case PROTO_DATA: {
		uint64_t lat = UINT64_MAX;
		if (s->opt.mode == MODE_PULL)
			lat = c->req_ns && now > c->req_ns ? now - c->req_ns : UINT64_MAX;
		else if (h->send_ns)
			lat = now > h->send_ns ? now - h->send_ns : 0;
		if (source_data(src, h, f->crc_ok, now, lat) < 0) {
			char who[96];
			msg("%s: %s; connection closed", conn_label(c, who, sizeof(who)), src->error);
			return CONN_END;
		}
		c->nframes++;
		if (s->build && build_fragment(s, c, h, now) < 0) {
			conn_fail(c, "--build: more source ids than --sources %u", s->opt.sources);
			return CONN_END;
		}
		if (s->trace) {
			uint64_t i = __atomic_fetch_add(&s->trace_n, 1, __ATOMIC_RELAXED);
			if (i < s->opt.trace_max)
				s->trace[i] = (struct trace_rec){ h->source, h->seq, h->send_ns, now };
		}
		if (s->opt.mode == MODE_PULL && !s->be->pull_in_turn)
			return conn_request(s, c);
		return CONN_OPEN;
	}
	case PROTO_HELLO:
		if (c->nframes) {
			conn_fail(c, "HELLO after the first frame");
			return CONN_END;
		}
		snprintf(src->name, sizeof(src->name), "%s", f->name);
		c->nframes++;
		return CONN_OPEN;
	case PROTO_BYE:
		source_bye(src, h->seq);
		if (src->status == SRC_ERROR) {
			char who[96];
			msg("%s: %s; connection closed", conn_label(c, who, sizeof(who)), src->error);
		}
		return CONN_END;
	default:
		conn_fail(c, "%s is sent by the server, never by a source",
			  proto_type_name(h->type));
		return CONN_END;
	}
}

enum conn_state conn_input(struct server *s, struct conn *c,
			   const uint8_t *buf, size_t len, uint64_t now_ns)
{
	c->last_rx_ns = now_ns;
	c->src->heard = 1;
	if (s->build && build_hold(s, c, buf, len))
		return CONN_OPEN;
	while (len) {
		struct frame f;
		char why[128];
		size_t used;
		uint32_t have0 = c->fp.have;
		enum frame_result r = frame_parse(&c->fp, buf, len, &used, &f, why, sizeof(why));

		if (s->build && r != FRAME_BAD)
			build_stream(s, c, have0, buf, used);
		buf += used;
		len -= used;
		if (r == FRAME_MORE)
			break;
		if (r == FRAME_BAD) {
			conn_fail(c, "protocol error: %s", why);
			return CONN_END;
		}
		if (conn_frame(s, c, &f, now_ns) == CONN_END)
			return CONN_END;
		/* Backpressure: the rest of this read waits for the resume. */
		if (len && __atomic_load_n(&c->paused, __ATOMIC_RELAXED)) {
			build_keep(s, c, buf, len);
			break;
		}
	}
	return CONN_OPEN;
}

void conn_eof(struct server *s, struct conn *c)
{
	(void)s;
	/* Atomic: server_shutdown_all() sets it from another thread. */
	if (__atomic_load_n(&c->shut_by_us, __ATOMIC_RELAXED))
		return;     /* we shut it down to stop: the source is still active */
	source_eof(c->src, frame_partial(&c->fp));
	if (c->src->status == SRC_TRUNCATED) {
		char who[96];
		if (c->fp.have < PROTO_HEADER_SIZE)
			snprintf(c->src->error, sizeof(c->src->error),
				 "closed mid-frame: %u of %u header bytes", c->fp.have, PROTO_HEADER_SIZE);
		else
			snprintf(c->src->error, sizeof(c->src->error),
				 "closed mid-frame: %u payload bytes missing", c->fp.left);
		msg("%s: %s", conn_label(c, who, sizeof(who)), c->src->error);
	}
}

void conn_error(struct server *s, struct conn *c, int err)
{
	(void)s;
	if (__atomic_load_n(&c->shut_by_us, __ATOMIC_RELAXED))
		return;
	switch (err) {
	case ECONNRESET:
		conn_fail(c, "connection reset");
		break;
	case ETIMEDOUT:
		conn_fail(c, "connection timed out (keepalive or TCP_USER_TIMEOUT)");
		break;
	default:
		conn_fail(c, "read: %s", strerror(err));
	}
}

int conn_idle_expired(struct server *s, struct conn *c, uint64_t now)
{
	uint64_t limit = (uint64_t)(s->opt.idle_timeout * 1e9);

	/* A paused source is not read: its silence is ours. */
	if (!limit || now - c->last_rx_ns < limit || __atomic_load_n(&c->paused, __ATOMIC_RELAXED))
		return 0;
	conn_fail(c, "idle timeout (nothing for %.3g s)", s->opt.idle_timeout);
	return 1;
}

enum conn_state conn_read_some(struct server *s, struct conn *c, uint8_t *buf,
			       size_t bufsize, size_t budget, int *drained)
{
	size_t total = 0;

	*drained = 0;
	while (total < budget) {
		/* Paused (--build): not read until resumed; the resume makes
		 * the socket look ready again. */
		if (__atomic_load_n(&c->paused, __ATOMIC_RELAXED)) {
			*drained = 1;
			return CONN_OPEN;
		}
		ssize_t n = read(c->fd, buf, bufsize);
		c->sc->reads++;
		if (n > 0) {
			total += (size_t)n;
			if (conn_input(s, c, buf, (size_t)n, now_ns()) == CONN_END)
				return CONN_END;
		} else if (n == 0) {
			conn_eof(s, c);
			return CONN_END;
		} else if (errno == EAGAIN || errno == EWOULDBLOCK) {
			c->sc->eagain++;
			*drained = 1;
			return CONN_OPEN;
		} else if (errno != EINTR) {
			conn_error(s, c, errno);
			return CONN_END;
		}
	}
	return CONN_OPEN;
}

enum conn_state conn_read_frame(struct server *s, struct conn *c, uint8_t *buf,
				size_t bufsize, int *got_frame)
{
	*got_frame = 0;
	for (;;) {
		size_t want = frame_want(&c->fp);
		ssize_t n = read(c->fd, buf, want < bufsize ? want : bufsize);
		c->sc->reads++;
		if (n > 0) {
			if (conn_input(s, c, buf, (size_t)n, now_ns()) == CONN_END)
				return CONN_END;
			/* We never ask for more than the frame needs, so no
			 * partial frame left means one just completed. */
			if (!frame_partial(&c->fp)) {
				*got_frame = 1;
				return CONN_OPEN;
			}
		} else if (n == 0) {
			conn_eof(s, c);
			return CONN_END;
		} else if (errno == EAGAIN || errno == EWOULDBLOCK) {
			/* SO_RCVTIMEO expired: nothing arrived for one tick. */
			c->sc->eagain++;
			return conn_idle_expired(s, c, now_ns()) ? CONN_END : CONN_OPEN;
		} else if (errno == EINTR) {
			return CONN_OPEN;   /* a signal: let the caller look at it */
		} else {
			conn_error(s, c, errno);
			return CONN_END;
		}
	}
}

enum conn_state conn_request(struct server *s, struct conn *c)
{
	uint8_t hdr[PROTO_HEADER_SIZE];
	struct proto_header h = proto_make(PROTO_REQUEST, c->src->id, c->nframes, 0, 0, 0);
	ssize_t n;

	(void)s;
	c->req_ns = now_ns();
	h.send_ns = c->req_ns;
	proto_encode(&h, hdr);
	do {
		n = send(c->fd, hdr, sizeof(hdr), MSG_NOSIGNAL | MSG_DONTWAIT);
		c->sc->writes++;
	} while (n < 0 && errno == EINTR);
	if (n == (ssize_t)sizeof(hdr))
		return CONN_OPEN;
	/* Stopping: server_shutdown_all() may have shut it down under a
	 * reader thread that was still in conn_input; EPIPE is ours. */
	if (__atomic_load_n(&c->shut_by_us, __ATOMIC_RELAXED))
		return CONN_END;
	/* One REQUEST is outstanding at a time, so a full send buffer means
	 * the source has stopped reading: that is its fault, not a state. */
	if (n >= 0 || errno == EAGAIN || errno == EWOULDBLOCK)
		conn_fail(c, "cannot send REQUEST: the source is not reading (send buffer full)");
	else if (errno == EPIPE || errno == ECONNRESET)
		conn_fail(c, "connection reset");
	else
		conn_fail(c, "sending REQUEST: %s", strerror(errno));
	return CONN_END;
}
