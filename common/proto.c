/* proto.c - header encoding and validation for wire protocol v1. */
#include "proto.h"

#include <endian.h>
#include <stdio.h>
#include <string.h>

/*
 * Fixed-width big-endian fields through memcpy and htobe/betoh: the
 * compiler turns each into one byte swap and one unaligned move, and the
 * code never depends on the host's byte order or on struct layout.
 */
static void put16(uint8_t *p, uint16_t v) { v = htobe16(v); memcpy(p, &v, 2); }
static void put32(uint8_t *p, uint32_t v) { v = htobe32(v); memcpy(p, &v, 4); }
static void put64(uint8_t *p, uint64_t v) { v = htobe64(v); memcpy(p, &v, 8); }
static uint16_t get16(const uint8_t *p) { uint16_t v; memcpy(&v, p, 2); return be16toh(v); }
static uint32_t get32(const uint8_t *p) { uint32_t v; memcpy(&v, p, 4); return be32toh(v); }
static uint64_t get64(const uint8_t *p) { uint64_t v; memcpy(&v, p, 8); return be64toh(v); }

void proto_encode(const struct proto_header *h, uint8_t out[PROTO_HEADER_SIZE])
{
	put16(out + 0, h->magic);
	out[2] = h->version;
	out[3] = h->type;
	put32(out + 4, h->source);
	put64(out + 8, h->seq);
	put64(out + 16, h->send_ns);
	put32(out + 24, h->length);
	put32(out + 28, h->crc);
}

void proto_decode(const uint8_t in[PROTO_HEADER_SIZE], struct proto_header *h)
{
	h->magic = get16(in + 0);
	h->version = in[2];
	h->type = in[3];
	h->source = get32(in + 4);
	h->seq = get64(in + 8);
	h->send_ns = get64(in + 16);
	h->length = get32(in + 24);
	h->crc = get32(in + 28);
}

const char *proto_check(const struct proto_header *h, uint32_t max_payload,
			char *why, size_t whylen)
{
	if (h->magic != PROTO_MAGIC)
		snprintf(why, whylen, "bad magic 0x%04x (expected 0x%04x)",
			 h->magic, PROTO_MAGIC);
	else if (h->version != PROTO_VERSION)
		snprintf(why, whylen, "unsupported version %u (expected %u)",
			 h->version, PROTO_VERSION);
	else if (h->type < PROTO_HELLO || h->type > PROTO_BYE)
		snprintf(why, whylen, "unknown message type %u", h->type);
	else if (h->length > max_payload)
		snprintf(why, whylen, "payload length %u exceeds --max-frame %u",
			 h->length, max_payload);
	else if (h->type == PROTO_HELLO && h->length > PROTO_NAME_MAX)
		snprintf(why, whylen, "HELLO name of %u bytes exceeds %u",
			 h->length, PROTO_NAME_MAX);
	else if ((h->type == PROTO_REQUEST || h->type == PROTO_BYE) && h->length != 0)
		snprintf(why, whylen, "%s with non-empty payload (%u bytes)",
			 proto_type_name(h->type), h->length);
	else
		return NULL;
	return why;
}

const char *proto_type_name(unsigned type)
{
	switch (type) {
	case PROTO_HELLO:   return "HELLO";
	case PROTO_DATA:    return "DATA";
	case PROTO_REQUEST: return "REQUEST";
	case PROTO_BYE:     return "BYE";
	default:            return "?";
	}
}
