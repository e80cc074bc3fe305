/*
 * crc32c.h - CRC-32C (Castagnoli, reflected polynomial 0x82F63B78).
 *
 * crc32c(0, "123456789", 9) == 0xE3069283. The function is incremental:
 * crc32c(crc32c(0, a, n), b, m) is the CRC of a followed by b, which is
 * what lets the server check a payload as it trickles in without ever
 * buffering it.
 */
#ifndef DAQMUX_CRC32C_H
#define DAQMUX_CRC32C_H

#include <stddef.h>
#include <stdint.h>

uint32_t crc32c(uint32_t crc, const void *buf, size_t len);

/* The portable table implementation (slicing-by-8). */
uint32_t crc32c_sw(uint32_t crc, const void *buf, size_t len);

/* "sse4.2x3+vpclmulqdq", "sse4.2x3+pclmul", "sse4.2" or "table": what
 * crc32c() uses here. */
const char *crc32c_impl(void);

/*
 * Every implementation, callable one by one so that tests can hold each
 * against the table and `make bench` can time each. crc32c_get returns
 * NULL when this CPU or build lacks implementation k, with *why saying
 * what is missing; *name is set either way.
 */
enum crc32c_kind {
	CRC32C_TABLE,    /* slicing-by-8, any CPU */
	CRC32C_SSE42,    /* one chain of crc32 instructions */
	CRC32C_SSE42X3,  /* three chains (and a PCLMULQDQ fold), joined by
			    carry-less multiplication */
	CRC32C_SSE42X3_WIDE, /* the same, folding with 256-bit VPCLMULQDQ */
	CRC32C_NKINDS
};
typedef uint32_t crc32c_fn(uint32_t crc, const void *buf, size_t len);
crc32c_fn *crc32c_get(int kind, const char **name, const char **why);

#endif
