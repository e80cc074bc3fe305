/*
 * proto.h - daqmux wire protocol v1 (see docs/protocol.md).
 *
 * Every message is a 32-byte header followed by `length` payload bytes.
 * All integers are big-endian and are encoded byte by byte: a packed
 * struct cast would tie the wire format to the host's layout and
 * alignment rules, which is exactly the bug this kit teaches about.
 */
#ifndef DAQMUX_PROTO_H
#define DAQMUX_PROTO_H

#include <stddef.h>
#include <stdint.h>

#define PROTO_MAGIC       0xDA7Au
#define PROTO_VERSION     1u
#define PROTO_HEADER_SIZE 32u
#define PROTO_NAME_MAX    255u          /* longest HELLO payload */
#define PROTO_DEFAULT_MAX_FRAME (1u << 20) /* server --max-frame default */

enum proto_type {
	PROTO_HELLO   = 1,  /* optional first message, payload = source name */
	PROTO_DATA    = 2,  /* one event fragment */
	PROTO_REQUEST = 3,  /* server -> source in pull mode, empty payload */
	PROTO_BYE     = 4,  /* last message, seq = number of DATA frames sent */
};

struct proto_header {
	uint16_t magic;
	uint8_t  version;
	uint8_t  type;
	uint32_t source;
	uint64_t seq;
	uint64_t send_ns;   /* sender's CLOCK_MONOTONIC, 0 = not set */
	uint32_t length;    /* payload bytes that follow */
	uint32_t crc;       /* CRC-32C of the payload, 0 when empty */
};

void proto_encode(const struct proto_header *h, uint8_t out[PROTO_HEADER_SIZE]);
void proto_decode(const uint8_t in[PROTO_HEADER_SIZE], struct proto_header *h);

/*
 * Check magic, version, type and length against max_payload.
 * Returns NULL when the header is acceptable, otherwise a reason that
 * names the offending value (written into why, which is returned).
 */
const char *proto_check(const struct proto_header *h, uint32_t max_payload,
			char *why, size_t whylen);

const char *proto_type_name(unsigned type);

/* Fill a header for the common case (magic and version preset). */
static inline struct proto_header proto_make(unsigned type, uint32_t source,
					     uint64_t seq, uint64_t send_ns,
					     uint32_t length, uint32_t crc)
{
	struct proto_header h = {
		.magic = PROTO_MAGIC, .version = PROTO_VERSION, .type = (uint8_t)type,
		.source = source, .seq = seq, .send_ns = send_ns,
		.length = length, .crc = crc,
	};
	return h;
}

#endif
