/* frame.c - see frame.h. */
#include "frame.h"

#include <string.h>

#include "crc32c.h"

void frame_parser_init(struct frame_parser *p, uint32_t max_payload)
{
	memset(p, 0, sizeof(*p));
	p->max_payload = max_payload;
}

static enum frame_result frame_finish(struct frame_parser *p, struct frame *out)
{
	out->h = p->h;
	out->crc_ok = p->crc == p->h.crc;
	out->name = NULL;
	out->name_len = 0;
	if (p->h.type == PROTO_HELLO) {
		p->name[p->name_len] = '\0';
		out->name = p->name;
		out->name_len = p->name_len;
	}
	p->have = 0;
	return FRAME_DONE;
}

/*
 * The first four header bytes (magic, version, type) can be judged before
 * the other 28 arrive: a peer speaking another protocol (an HTTP request,
 * a TLS hello: often fewer than 32 bytes, then a wait for the answer) is
 * refused at once instead of sitting until a timeout. The fields not yet
 * here are given acceptable values, so proto_check says the same words
 * as it will for a whole header.
 */
static const char *frame_check_prefix(const struct frame_parser *p, char *why, size_t whylen)
{
	struct proto_header h = proto_make(PROTO_DATA, 0, 0, 0, 0, 0);

	if (p->have >= 2)
		h.magic = (uint16_t)(p->hdr[0] << 8 | p->hdr[1]);
	if (p->have >= 3)
		h.version = p->hdr[2];
	if (p->have >= 4)
		h.type = p->hdr[3];
	return proto_check(&h, p->max_payload, why, whylen);
}

enum frame_result frame_parse(struct frame_parser *p, const uint8_t *buf,
			      size_t len, size_t *used, struct frame *out,
			      char *why, size_t whylen)
{
	size_t off = 0;

	/*
	 * The common case on a busy connection: a whole frame at the start of
	 * buf. It is decoded from buf straight into *out, with no copy into
	 * the parser and back (a copy that also stalls: the struct is written
	 * field by field and read back in 16-byte moves). Only a DATA frame
	 * passes here, checked inline with the rules proto_check applies to
	 * DATA (a call to it cost about 2 ns a frame); anything else - a split
	 * frame, another type, a bad header - takes the general path below,
	 * which decodes again and lets proto_check give the reason. Keep the
	 * two in step: test_frame checks they refuse the same headers.
	 */
	if (p->have == 0 && len >= PROTO_HEADER_SIZE) {
		proto_decode(buf, &out->h);
		if (out->h.type == PROTO_DATA && out->h.magic == PROTO_MAGIC &&
		    out->h.version == PROTO_VERSION && out->h.length <= p->max_payload &&
		    out->h.length <= len - PROTO_HEADER_SIZE) {
			out->crc_ok = crc32c(0, buf + PROTO_HEADER_SIZE, out->h.length) == out->h.crc;
			out->name = NULL;
			*used = PROTO_HEADER_SIZE + out->h.length;
			return FRAME_DONE;
		}
	}

	if (p->have < PROTO_HEADER_SIZE) {
		size_t n = PROTO_HEADER_SIZE - p->have;
		if (n > len)
			n = len;
		memcpy(p->hdr + p->have, buf, n);
		p->have += (uint32_t)n;
		off = n;
		if (p->have < PROTO_HEADER_SIZE) {
			*used = off;
			if (p->have >= 2 && p->have - n < 4 &&
			    frame_check_prefix(p, why, whylen))
				return FRAME_BAD;
			return FRAME_MORE;
		}
		proto_decode(p->hdr, &p->h);
		if (proto_check(&p->h, p->max_payload, why, whylen)) {
			*used = off;
			return FRAME_BAD;
		}
		p->left = p->h.length;
		p->crc = 0;
		p->name_len = 0;
		if (p->left == 0) {
			*used = off;
			return frame_finish(p, out);
		}
	}

	size_t n = len - off;
	if (n > p->left)
		n = p->left;
	p->crc = crc32c(p->crc, buf + off, n);
	if (p->h.type == PROTO_HELLO) {
		/* proto_check bounded a HELLO to PROTO_NAME_MAX bytes. */
		memcpy(p->name + p->name_len, buf + off, n);
		p->name_len += (uint16_t)n;
	}
	p->left -= (uint32_t)n;
	*used = off + n;
	if (p->left)
		return FRAME_MORE;
	return frame_finish(p, out);
}
