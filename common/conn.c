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
void conn_fail(struct conn *c, const char *fmt, ...)
{
	char why[sizeof(c->src->error)], who[96];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(why, sizeof(why), fmt, ap);
	va_end(ap);
	source_fail(c->src, "%s", why);
	msg("%s: %s; connection closed", conn_label(c, who, sizeof(who)), why);
}

/* The first frame names the source (server.h: registry_name). */
static enum conn_state conn_name(struct conn *c, uint32_t id)
{
	struct server *s = c->loop->s;
	char why[sizeof(c->src->error)];

	c->named = 1;
	if (registry_name(s, c, id, why, sizeof(why)) == REG_REFUSED) {
		conn_fail(c, "%s", why);
		return CONN_END;
	}
	return CONN_OPEN;
}

static enum conn_state conn_frame(struct conn *c, const struct frame *f, uint64_t now)
{
	struct server *s = c->loop->s;
	const struct proto_header *h = &f->h;
	struct source *src;

	if (!c->named) {
		if (conn_name(c, h->source) == CONN_END)
			return CONN_END;
	} else if (h->source != c->src->id) {
		conn_fail(c, "source id changed from %u to %u", c->src->id, h->source);
		return CONN_END;
	}
	src = c->src;   /* naming may have resumed an earlier record */

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
		if (s->trace) {
			uint64_t i = __atomic_fetch_add(&s->trace_n, 1, __ATOMIC_RELAXED);
			if (i < s->opt.trace_max)
				s->trace[i] = (struct trace_rec){ h->source, h->seq, h->send_ns, now };
		}
		if (s->hooks.frame)
			s->hooks.frame(c, h, now, s->hooks.arg);
		if (EV_ON(s))
			ev_frame(s, h->length, lat);
		if (s->opt.mode == MODE_PULL && !backend_has(s->be, BE_PULL_IN_TURN))
			return conn_request(c);
		return CONN_OPEN;
	}
	case PROTO_HELLO:
		if (c->nframes) {
			conn_fail(c, "HELLO after the first frame");
			return CONN_END;
		}
		/* Byte for byte, NULs and all: made safe where it is shown. */
		memcpy(src->name, f->name, f->name_len);
		src->name[f->name_len] = '\0';
		src->name_len = f->name_len;
		c->nframes++;
		return CONN_OPEN;
	case PROTO_BYE:
		c->nframes++;       /* for --events' "= N frames" */
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

static enum conn_state conn_frames(struct conn *c, const uint8_t *buf, size_t len,
				   uint64_t now_ns);

/* The bytes of one frame with --discard: the header and the payload
 * size the sources were said to send. */
static inline uint64_t conn_discard_frame(const struct conn *c)
{
	return PROTO_HEADER_SIZE + (uint64_t)c->loop->s->opt.discard_size;
}

/*
 * --discard: the floor of the kit's own work per read - count the bytes
 * and note when they came (for the rate), nothing per frame. Whole
 * frames are derived as they complete, with one division per read that
 * completes any (a read() costs far more), so that every figure that
 * counts frames - per loop, per connection, the totals - stays exact at
 * any moment without a pass at the end.
 *
 * A source's optional HELLO is shorter than its frames. The first
 * header of a connection is decoded, once, to learn its length: the HELLO
 * is then counted as bytes but not as a frame, and a blocking reader's
 * reads (conn_want) stay on the frame boundaries, exactly as in a real
 * run. Any other first header is taken for a frame of the fixed size.
 */
static enum conn_state conn_discard(struct conn *c, const uint8_t *buf, size_t len,
				    uint64_t now_ns)
{
	uint64_t fb = conn_discard_frame(c);

	if (!c->discard_len) {
		/* The first header may come in pieces (a fragmenting sender);
		 * they are kept in the assembler's header buffer, which a
		 * discard run never uses otherwise. */
		size_t n = PROTO_HEADER_SIZE - (size_t)c->discard_pos;
		n = len < n ? len : n;
		memcpy(c->fp.hdr + c->discard_pos, buf, n);
		if (c->discard_pos + n == PROTO_HEADER_SIZE) {
			struct proto_header h;
			proto_decode(c->fp.hdr, &h);
			c->discard_hello = h.type == PROTO_HELLO && h.length <= PROTO_NAME_MAX;
			c->discard_len = c->discard_hello ? PROTO_HEADER_SIZE + h.length : fb;
			/* Its first header makes it a source, as a first valid
			 * frame does in a real run (unchecked: its id is all a
			 * discard run reads of it). */
			if (conn_name(c, h.source) == CONN_END)
				return CONN_END;
		}
	}
	struct source *src = c->src;   /* naming may have resumed a record */
	src->bytes += len;
	if (!src->first_ns)
		src->first_ns = now_ns;
	src->last_ns = now_ns;
	c->discard_pos += len;
	if (!c->discard_len || c->discard_pos < c->discard_len)
		return CONN_OPEN;
	if (c->discard_hello) {
		c->discard_pos -= c->discard_len;
		c->discard_len = fb;
		c->discard_hello = 0;
	}
	if (c->discard_pos >= fb) {
		uint64_t k = c->discard_pos / fb;
		src->frames += k;
		c->discard_pos -= k * fb;
	}
	return CONN_OPEN;
}

enum conn_state conn_input(struct conn *c, const uint8_t *buf, size_t len, uint64_t now_ns)
{
	enum conn_state st = conn_frames(c, buf, len, now_ns);

	if (EV_ON(c->loop->s))
		ev_input_done(c);
	return st;
}

/* Frame the bytes and account every frame they complete. */
static enum conn_state conn_frames(struct conn *c, const uint8_t *buf, size_t len,
				   uint64_t now_ns)
{
	c->last_rx_ns = now_ns;
	c->src->heard = 1;
	if (c->loop->s->opt.discard)
		return conn_discard(c, buf, len, now_ns);
	while (len) {
		struct frame f;
		char why[128];
		size_t used;
		enum frame_result r = frame_parse(&c->fp, buf, len, &used, &f, why, sizeof(why));

		buf += used;
		len -= used;
		if (r == FRAME_MORE)
			break;
		if (r == FRAME_BAD) {
			conn_fail(c, "protocol error: %s", why);
			return CONN_END;
		}
		if (conn_frame(c, &f, now_ns) == CONN_END)
			return CONN_END;
	}
	return CONN_OPEN;
}

void conn_eof(struct conn *c)
{
	/* Atomic: server_shutdown_all() sets it from another thread. */
	if (__atomic_load_n(&c->shut_by_us, __ATOMIC_RELAXED))
		return;     /* we shut it down to stop: the source is still active */
	if (c->loop->s->opt.discard) {
		source_eof_unchecked(c->src);
		return;
	}
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

void conn_error(struct conn *c, int err)
{
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

int conn_idle_expired(struct conn *c, uint64_t now)
{
	const struct server *s = c->loop->s;
	uint64_t limit = (uint64_t)(s->opt.idle_timeout * 1e9);

	if (!limit || now - c->last_rx_ns < limit)
		return 0;
	conn_fail(c, "idle timeout (nothing for %.3g s)", s->opt.idle_timeout);
	return 1;
}

/* What one read() came to. */
enum conn_read { CONN_GOT, CONN_AGAIN, CONN_INTR, CONN_GONE };

/* One read() of up to want bytes into the loop's buffer, fed to
 * conn_input; the read loops below differ only in how much they ask for
 * and when they stop. CONN_GONE: ended and recorded (EOF, error, BYE). */
static enum conn_read conn_read_once(struct conn *c, size_t want, size_t *got)
{
	ssize_t n = read(c->fd, c->loop->rbuf, want);

	c->sc->reads++;
	ev_read(c, n, errno, "read");
	if (n > 0) {
		*got = (size_t)n;
		return conn_input(c, c->loop->rbuf, (size_t)n, now_ns()) == CONN_END ? CONN_GONE
										: CONN_GOT;
	}
	if (n == 0) {
		conn_eof(c);
		return CONN_GONE;
	}
	if (errno == EAGAIN || errno == EWOULDBLOCK) {
		c->sc->eagain++;
		return CONN_AGAIN;
	}
	if (errno == EINTR)
		return CONN_INTR;
	conn_error(c, errno);
	return CONN_GONE;
}

enum conn_state conn_read_some(struct conn *c, int *drained)
{
	size_t budget = c->loop->s->opt.budget, total = 0, got = 0;

	*drained = 0;
	while (total < budget) {
		switch (conn_read_once(c, c->loop->rbuf_size, &got)) {
		case CONN_GONE:
			return CONN_END;
		case CONN_AGAIN:
			*drained = 1;
			return CONN_OPEN;
		case CONN_INTR:
			break;
		case CONN_GOT:
			total += got;
			/* Paused by what it just delivered: resume re-arms it. */
			if (__atomic_load_n(&c->paused, __ATOMIC_RELAXED)) {
				*drained = 1;
				return CONN_OPEN;
			}
			break;
		}
	}
	return CONN_OPEN;
}

/* What a blocking reader asks read() for: the rest of the header, then
 * the rest of the payload - with --discard the same two reads per frame,
 * from the fixed frame size instead of the header just read. */
static size_t conn_want(const struct conn *c)
{
	if (!c->loop->s->opt.discard)
		return frame_want(&c->fp);
	if (c->discard_pos < PROTO_HEADER_SIZE)
		return PROTO_HEADER_SIZE - (size_t)c->discard_pos;
	return (size_t)(c->discard_len - c->discard_pos);
}

static int conn_partial(const struct conn *c)
{
	return c->loop->s->opt.discard ? c->discard_pos != 0 : frame_partial(&c->fp);
}

enum conn_state conn_read_one(struct conn *c, size_t want)
{
	size_t got;

	if (want > c->loop->rbuf_size)
		want = c->loop->rbuf_size;
	return conn_read_once(c, want, &got) == CONN_GONE ? CONN_END : CONN_OPEN;
}

enum conn_state conn_read_frame(struct conn *c, int *got_frame)
{
	size_t got;

	*got_frame = 0;
	for (;;) {
		size_t want = conn_want(c);
		ev_block(c);
		switch (conn_read_once(c, want < c->loop->rbuf_size ? want : c->loop->rbuf_size, &got)) {
		case CONN_GONE:
			return CONN_END;
		case CONN_AGAIN:
			/* SO_RCVTIMEO expired: nothing arrived for one tick. */
			return conn_idle_expired(c, now_ns()) ? CONN_END : CONN_OPEN;
		case CONN_INTR:
			return CONN_OPEN;   /* a signal: let the caller look at it */
		case CONN_GOT:
			/* We never ask for more than the frame needs, so no
			 * partial frame left means one just completed. */
			if (!conn_partial(c)) {
				*got_frame = 1;
				return CONN_OPEN;
			}
			break;
		}
	}
}

enum conn_state conn_request(struct conn *c)
{
	uint8_t hdr[PROTO_HEADER_SIZE];
	struct proto_header h = proto_make(PROTO_REQUEST, c->src->id, c->nframes, 0, 0, 0);
	ssize_t n;

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
