/* SPDX-License-Identifier: GPL-2.0 */
/*
 * RFC 1662 async HDLC-like framing, shared by the kernel module and the
 * userspace tools and tests.
 *
 * On the wire a frame is: 0x7E, payload, FCS-16 (little endian, PPP
 * convention: ones-complement of crc_ccitt(0xffff, payload)), 0x7E. Inside a
 * frame 0x7E and 0x7D are sent as 0x7D followed by the byte XOR 0x20.
 * Consecutive frames may share one flag. The payload is opaque.
 *
 * This file is pure C: no allocation, no locking, no sleeping. In the kernel
 * it runs from the UART interrupt, one byte at a time.
 */
#ifndef PERSOHUB_FRAME_H
#define PERSOHUB_FRAME_H

#ifdef __KERNEL__
#include <linux/types.h>
#include <linux/crc-ccitt.h>
#include <linux/string.h>
#else
#include "kcompat.h"
#endif

#define PH_FLAG			0x7e
#define PH_ESC			0x7d
#define PH_ESC_XOR		0x20
#define PH_FCS_INIT		0xffff
#define PH_FCS_GOOD		0xf0b8
#define PH_FCS_LEN		2

#define PH_PAYLOAD_DEFAULT	1024
#define PH_PAYLOAD_MAX		4096

/* Worst case on the wire: two flags and every other byte escaped. */
#define PH_ENCODED_MAX(n)	(2 + 2 * ((n) + PH_FCS_LEN))

/* Size of the receive buffer a deframer needs for a given payload limit. */
#define PH_DEFRAMER_BUF(n)	((n) + PH_FCS_LEN)

/**
 * enum ph_rx_event - what a received byte completed
 * @PH_RX_NONE: nothing yet (inside a frame, or between frames)
 * @PH_RX_FRAME: a frame with a good FCS is in the buffer (may be empty)
 * @PH_RX_BAD_FCS: a frame ended with a bad FCS and was dropped
 * @PH_RX_TOO_SHORT: a frame ended with fewer bytes than an FCS, dropped
 * @PH_RX_TOO_LONG: a frame ended that exceeded the payload limit, dropped
 * @PH_RX_ABORT: the sender aborted the frame (0x7D 0x7E), dropped
 */
enum ph_rx_event {
	PH_RX_NONE = 0,
	PH_RX_FRAME,
	PH_RX_BAD_FCS,
	PH_RX_TOO_SHORT,
	PH_RX_TOO_LONG,
	PH_RX_ABORT,
};

/**
 * struct ph_deframer - streaming receive state of one serial line
 * @buf: caller-provided buffer of PH_DEFRAMER_BUF(@max_payload) bytes
 * @max_payload: largest payload accepted
 * @len: bytes collected for the current frame, FCS included
 * @esc: the previous byte was an escape
 * @overflow: the current frame has exceeded @max_payload
 * @done: the last byte ended a good frame, still in @buf with its @len;
 *	the next byte starts a new frame
 */
struct ph_deframer {
	u8 *buf;
	u16 max_payload;
	u16 len;
	bool esc;
	bool overflow;
	bool done;
};

void ph_deframer_init(struct ph_deframer *d, u8 *buf, u16 max_payload);
void ph_deframer_reset(struct ph_deframer *d);

/*
 * Feed one received byte. On PH_RX_FRAME the payload is d->buf, of
 * ph_deframer_payload_len(d) bytes, valid until ph_deframer_release() or
 * the next call, which wipe it. Dropped frames are wiped at once.
 */
enum ph_rx_event ph_deframer_feed(struct ph_deframer *d, u8 c);
void ph_deframer_release(struct ph_deframer *d);

static inline u16 ph_deframer_payload_len(const struct ph_deframer *d)
{
	return d->len - PH_FCS_LEN;
}

/* FCS-16 of a payload, as sent on the wire (already complemented). */
u16 ph_fcs(const u8 *payload, size_t len);

/*
 * Encode one frame, opening and closing flag included, into @out, which must
 * hold PH_ENCODED_MAX(@len) bytes. Returns the number of bytes written.
 */
size_t ph_frame_encode(u8 *out, const u8 *payload, size_t len);

#endif /* PERSOHUB_FRAME_H */
