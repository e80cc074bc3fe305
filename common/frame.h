/*
 * frame.h - the streaming frame assembler, shared by every backend.
 *
 * A backend hands it whatever bytes a read returned - one byte, half a
 * header, forty frames at once - and it hands back complete frames one at
 * a time. It never buffers a payload: the CRC is computed as the bytes go
 * by, so per-connection memory is this struct (a few hundred bytes)
 * whatever the wire says, and no allocation is ever sized by a length
 * from the wire. Only a HELLO payload (the source name, at most 255 bytes)
 * is kept.
 */
#ifndef DAQMUX_FRAME_H
#define DAQMUX_FRAME_H

#include <stddef.h>
#include <stdint.h>

#include "proto.h"

struct frame_parser {
	uint32_t max_payload;   /* --max-frame */
	uint32_t have;          /* header bytes collected, 0..PROTO_HEADER_SIZE */
	uint32_t left;          /* payload bytes still to come once have == 32 */
	uint32_t crc;           /* running CRC-32C of the payload so far */
	struct proto_header h;  /* the frame in progress, valid once have == 32 */
	uint8_t  hdr[PROTO_HEADER_SIZE];
	uint16_t name_len;
	char     name[PROTO_NAME_MAX + 1];
};

enum frame_result {
	FRAME_MORE,     /* everything was consumed; the frame is not complete yet */
	FRAME_DONE,     /* one complete frame in *out; the rest of buf is unread */
	FRAME_BAD,      /* protocol error, reason in why; the connection is dead */
};

struct frame {
	struct proto_header h;
	int crc_ok;             /* computed CRC equals h.crc */
	const char *name;       /* HELLO only: NUL-terminated, inside the parser */
	uint16_t name_len;      /* its bytes (the name itself may hold a NUL) */
};

void frame_parser_init(struct frame_parser *p, uint32_t max_payload);

/*
 * Consume bytes from buf until one frame completes, an error is found or
 * buf is exhausted. A bad magic, version or type is found as soon as its
 * byte arrives, not when the whole header is in. *used tells how many bytes were taken; call again
 * with the remainder after FRAME_DONE.
 */
enum frame_result frame_parse(struct frame_parser *p, const uint8_t *buf,
			      size_t len, size_t *used, struct frame *out,
			      char *why, size_t whylen);

/* True when part of a frame has arrived: an EOF now truncates it. */
static inline int frame_partial(const struct frame_parser *p)
{
	return p->have != 0;
}

/* Bytes still needed to complete the current frame (at least 1): what a
 * blocking reader asks read() for so that it stops at a frame boundary. */
static inline size_t frame_want(const struct frame_parser *p)
{
	if (p->have < PROTO_HEADER_SIZE)
		return PROTO_HEADER_SIZE - p->have;
	return p->left ? p->left : 1;
}

#endif
