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

/* The portable table implementation, exposed so tests can compare it
 * with the hardware path on the same inputs. */
uint32_t crc32c_sw(uint32_t crc, const void *buf, size_t len);

/* "sse4.2" or "table": which implementation crc32c() uses here. */
const char *crc32c_impl(void);

#endif
