/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The framings a port can speak, shared by the kernel module and the
 * userspace tools and tests, as frame.h is.
 *
 * hdlc     RFC 1662 async HDLC-like framing: frame.h, wrapped, not repeated.
 *
 * stx-etx  STX (0x02), payload, ETX (0x03), then, when the port's lrc
 *          option is on, an LRC byte: the XOR of every byte after STX up to
 *          and including ETX. The payload cannot hold STX or ETX (the
 *          encoder refuses it). Bytes outside a frame (between ETX or LRC
 *          and the next STX: ACK, NAK, line noise) are ignored. An STX inside
 *          a frame drops it and opens a new one, so the receiver is back in
 *          step at the next STX after any error.
 *
 * stx-len  Thales payShield "transparent async": STX, COUNT (2 bytes), the
 *          payload, LRC, ETX; binary safe. Source: the payShield host
 *          programmer's manual, section "Transparent Asynchronous
 *          Communications" (a copy found by search, payShield 9000 era):
 *          "COUNT is a two-byte hexadecimal value in the range X'0003 to
 *          X'03FB inclusive, representing the number of bytes in the
 *          COMMAND/DATA field. The count excludes the STX, COUNT, LRC and
 *          ETX", and the LRC "is calculated by performing an exclusive-OR on
 *          each byte of the data sent over the communications link excluding
 *          the STX, COUNT, LRC and the ETX". The manual writes the count as a
 *          16-bit value (X'03FB) without naming a byte order; its TCP framing
 *          sends the same kind of length high byte first (NC example:
 *          X'00 X'06 "1234NC"). Implemented: COUNT big-endian, equal to the
 *          payload length; LRC = XOR of the payload bytes only. The HSM's
 *          own range (3 to 1019) is its policy, not the framing's: any count
 *          up to the port's payload limit is accepted, 0 included. The lrc
 *          option does not apply (the LRC is always there). A count over the
 *          limit is reported at once and the receiver hunts for the next STX;
 *          so it does after a frame whose ETX is not where COUNT puts it.
 *
 * len16    COUNT (2 bytes, big-endian, the payload length), payload: the TCP
 *          framing of payShield and network HSMs. Nothing marks where a
 *          frame starts, so len16 cannot find its way back into step by
 *          itself once a count is wrong: only a gap (ph_rx_gap()) does. A
 *          count over the limit is trusted: its bytes are skipped and the
 *          frame reported too long at its last byte.
 *
 * gap      No framing of its own: a frame is whatever arrives until the line
 *          is silent for the port's gap time (Modbus RTU style). Frames sent
 *          must be separated by that silence; an empty payload is nothing on
 *          the wire (see ph_framing_encode()).
 *
 * The receive side runs one byte at a time from an interrupt or the tty
 * receive path: no allocation, no locking, no sleeping. Frames carry key
 * material: a frame's bytes are wiped as soon as it is dropped, released or
 * superseded.
 */
#ifndef PERSOHUB_FRAMING_H
#define PERSOHUB_FRAMING_H

#include "frame.h"

#ifdef __KERNEL__
#include <linux/errno.h>
#else
#include <errno.h>
#endif

#define PH_STX			0x02
#define PH_ETX			0x03

/* Size of the receive buffer struct ph_rx needs, whatever its framing. */
#define PH_RX_BUF(n)		PH_DEFRAMER_BUF(n)

/* Worst case on the wire of an @n byte payload, whatever the framing. */
#define PH_FRAMING_ENCODED_MAX(n)	PH_ENCODED_MAX(n)

/**
 * enum ph_framing - how a port delimits its frames
 * @PH_FRAMING_HDLC: "hdlc", RFC 1662 (frame.h); the default
 * @PH_FRAMING_STX_ETX: "stx-etx", STX payload ETX [LRC]
 * @PH_FRAMING_STX_LEN: "stx-len", STX count payload LRC ETX (payShield)
 * @PH_FRAMING_LEN16: "len16", big-endian 16-bit count, payload
 * @PH_FRAMING_GAP: "gap", silence on the line ends a frame
 * @__PH_FRAMING_MAX: number of framings
 */
enum ph_framing {
	PH_FRAMING_HDLC = 0,
	PH_FRAMING_STX_ETX,
	PH_FRAMING_STX_LEN,
	PH_FRAMING_LEN16,
	PH_FRAMING_GAP,
	__PH_FRAMING_MAX
};

/**
 * enum ph_rx_check - outcomes of a received byte beyond enum ph_rx_event
 * @PH_RX_BAD_LRC: a frame ended with a bad LRC and was dropped
 * @PH_RX_BAD_LEN: a frame's end is not where its count puts it (stx-len:
 *	no ETX there), dropped
 * @PH_RX_TRUNCATED: a frame was cut short, by an STX inside it (stx-etx) or
 *	by a gap in the middle of it, and dropped
 * @__PH_RX_MAX: number of events, both enums together
 *
 * They continue enum ph_rx_event's numbering: ph_rx_feed() and ph_rx_gap()
 * return a value of either. (They are kept apart so that a switch over enum
 * ph_rx_event written for the hdlc deframer alone stays complete.)
 */
enum ph_rx_check {
	PH_RX_BAD_LRC = PH_RX_ABORT + 1,
	PH_RX_BAD_LEN,
	PH_RX_TRUNCATED,
	__PH_RX_MAX
};

/**
 * struct ph_rx - streaming receive state of one line, in any framing
 * @hdlc: the RFC 1662 deframer, used for hdlc only
 * @buf: caller-provided buffer of PH_RX_BUF(@max_payload) bytes
 * @max_payload: largest payload accepted
 * @len: payload bytes collected for the current frame
 * @count: stx-len, len16: the count announced (len16 over the limit: the
 *	bytes still to skip)
 * @framing: enum ph_framing
 * @state: where the receiver is in a frame (framing.c)
 * @lrc: stx-etx, stx-len: XOR of the bytes the LRC covers, so far
 * @lrc_on: stx-etx: an LRC byte follows ETX
 * @overflow: the current frame has exceeded @max_payload
 * @done: the last event delivered a frame, still in @buf with its @len;
 *	the next call wipes it
 */
struct ph_rx {
	struct ph_deframer hdlc;
	u8 *buf;
	u16 max_payload;
	u16 len;
	u16 count;
	u8 framing;
	u8 state;
	u8 lrc;
	bool lrc_on;
	bool overflow;
	bool done;
};

const char *ph_framing_name(enum ph_framing framing);
int ph_framing_parse(const char *name);

int ph_rx_init(struct ph_rx *rx, enum ph_framing framing, bool lrc, u8 *buf,
	       u16 max_payload);
void ph_rx_reset(struct ph_rx *rx);
int ph_rx_feed(struct ph_rx *rx, u8 c);
int ph_rx_gap(struct ph_rx *rx);
bool ph_rx_mid_frame(const struct ph_rx *rx);
void ph_rx_release(struct ph_rx *rx);

/**
 * ph_rx_payload_len() - length of the frame just delivered
 * @rx: receive state, after ph_rx_feed() or ph_rx_gap() returned PH_RX_FRAME
 *
 * Return: the payload length; the payload is @rx->buf.
 */
static inline u16 ph_rx_payload_len(const struct ph_rx *rx)
{
	if (rx->framing == PH_FRAMING_HDLC)
		return ph_deframer_payload_len(&rx->hdlc);
	return rx->len;
}

size_t ph_framing_encoded_max(enum ph_framing framing, bool lrc, size_t len);
int ph_framing_encode(enum ph_framing framing, bool lrc, u8 *out,
		      size_t size, const u8 *payload, size_t len);

#endif /* PERSOHUB_FRAMING_H */
