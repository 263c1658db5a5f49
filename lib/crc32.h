/* SPDX-License-Identifier: MIT */
/*
 * CRC-32/IEEE (the zlib, Ethernet and PNG CRC: reflected polynomial
 * 0xEDB88320, initial value and final xor 0xFFFFFFFF) for on-disk records.
 * Portable C, a 16-entry table (64 bytes of flash) instead of the usual
 * 1 KiB one: journals are small and this stays fast enough.
 */
#ifndef KHIEN_LIB_CRC32_H
#define KHIEN_LIB_CRC32_H

#include <stddef.h>
#include <stdint.h>

/*
 * CRC of data, continuing from crc (pass 0 to start), so that
 * kh_crc32(kh_crc32(0, a, n), b, m) is the CRC of a followed by b.
 * kh_crc32(0, "123456789", 9) == 0xCBF43926.
 */
uint32_t kh_crc32(uint32_t crc, const void *data, size_t len);

#endif
