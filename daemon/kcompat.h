/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Userspace stand-ins for the few kernel types and helpers that the code
 * shared with the module (kmod/frame.c) uses, so that it compiles unchanged
 * in the daemon and the host tests.
 */
#ifndef PERSOHUB_KCOMPAT_H
#define PERSOHUB_KCOMPAT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

typedef uint8_t u8;
typedef uint16_t u16;
typedef uint32_t u32;
typedef uint64_t u64;
typedef int8_t s8;
typedef int16_t s16;
typedef int32_t s32;
typedef int64_t s64;

/*
 * CRC-CCITT as lib/crc-ccitt.c computes it: reflected, polynomial 0x8408, no
 * final XOR; daemon/crc_ccitt.c.
 */
u16 crc_ccitt(u16 crc, const u8 *buffer, size_t len);

/* A wipe the compiler may not drop, as the kernel's. */
#define memzero_explicit(p, n)	explicit_bzero(p, n)

#endif /* PERSOHUB_KCOMPAT_H */
