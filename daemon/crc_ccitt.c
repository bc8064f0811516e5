// SPDX-License-Identifier: GPL-2.0
/*
 * Userspace twin of the kernel's lib/crc-ccitt.c: CRC-CCITT in its reflected
 * form (polynomial x^16 + x^12 + x^5 + 1, bit-reversed 0x8408), one table
 * lookup per byte. The caller chooses the initial value and any final XOR,
 * exactly as with the kernel's crc_ccitt().
 *
 * The table is computed by the compiler, so it is constant, shared by all
 * threads and needs no initialisation.
 */
#include "kcompat.h"

/*
 * Entry n is n shifted through the register eight times, XORing 0x8408 in
 * whenever a 1 falls out. Because the polynomial's terms are x^12 and x^5,
 * the eight steps reduce to: fold the low nibble into the high one, then
 * combine three shifts of the result (the usual byte-wise CRC-CCITT
 * identity; selftests/frame_test.c checks it against the bit loop).
 */
#define CRC_FOLD(n)	(((n) ^ ((n) << 4)) & 0xff)
#define CRC_ENTRY(n)	((u16)((CRC_FOLD(n) << 8) ^ (CRC_FOLD(n) << 3) ^ \
			       (CRC_FOLD(n) >> 4)))

#define CRC_ROW4(n)	CRC_ENTRY((n) + 0), CRC_ENTRY((n) + 1), \
			CRC_ENTRY((n) + 2), CRC_ENTRY((n) + 3)
#define CRC_ROW16(n)	CRC_ROW4((n) + 0), CRC_ROW4((n) + 4), \
			CRC_ROW4((n) + 8), CRC_ROW4((n) + 12)
#define CRC_ROW64(n)	CRC_ROW16((n) + 0), CRC_ROW16((n) + 16), \
			CRC_ROW16((n) + 32), CRC_ROW16((n) + 48)

static const u16 crc_ccitt_table[256] = {
	CRC_ROW64(0), CRC_ROW64(64), CRC_ROW64(128), CRC_ROW64(192),
};

u16 crc_ccitt(u16 crc, const u8 *buffer, size_t len)
{
	while (len--)
		crc = (crc >> 8) ^ crc_ccitt_table[(crc ^ *buffer++) & 0xff];
	return crc;
}
