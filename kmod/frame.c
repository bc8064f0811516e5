// SPDX-License-Identifier: GPL-2.0
/*
 * RFC 1662 async HDLC-like framing: the streaming deframer that runs from the
 * UART interrupt and the encoder for outgoing frames. Built into the module
 * and, unchanged, into the userspace tests (see daemon/kcompat.h).
 */
#include "frame.h"

/**
 * ph_deframer_init() - prepare the receive state of one line
 * @d: state to initialise
 * @buf: buffer of PH_DEFRAMER_BUF(@max_payload) bytes
 * @max_payload: largest payload to accept, at most PH_PAYLOAD_MAX (larger
 *	values are clamped to it, so that @d->len cannot wrap)
 *
 * Everything received before the first flag is treated as the tail of a
 * broken frame and dropped when that flag arrives.
 */
void ph_deframer_init(struct ph_deframer *d, u8 *buf, u16 max_payload)
{
	if (max_payload > PH_PAYLOAD_MAX)
		max_payload = PH_PAYLOAD_MAX;
	/* A new buffer: nothing of it to wipe (the old one is its owner's). */
	d->buf = buf;
	d->max_payload = max_payload;
	d->len = 0;
	ph_deframer_reset(d);
}

/**
 * ph_deframer_reset() - drop the frame in progress
 * @d: receive state
 *
 * Used when the line loses bytes (break, overrun): whatever follows up to the
 * next flag is then dropped as a broken frame. The bytes collected so far
 * are wiped: frames carry key material.
 */
void ph_deframer_reset(struct ph_deframer *d)
{
	if (d->len)
		memzero_explicit(d->buf, d->len);
	d->len = 0;
	d->esc = false;
	d->overflow = false;
	d->done = false;
}

/* A flag arrived: judge the bytes collected since the previous one. */
static enum ph_rx_event ph_deframer_end(const struct ph_deframer *d)
{
	if (d->esc)
		return PH_RX_ABORT;
	if (d->overflow)
		return PH_RX_TOO_LONG;
	if (!d->len)
		return PH_RX_NONE;
	if (d->len < PH_FCS_LEN)
		return PH_RX_TOO_SHORT;
	if (crc_ccitt(PH_FCS_INIT, d->buf, d->len) != PH_FCS_GOOD)
		return PH_RX_BAD_FCS;
	return PH_RX_FRAME;
}

/**
 * ph_deframer_feed() - process one received byte
 * @d: receive state
 * @c: the byte
 *
 * Return: the event this byte completed, PH_RX_NONE if none. On PH_RX_FRAME
 * the payload is @d->buf, ph_deframer_payload_len(@d) bytes, until the next
 * call.
 */
enum ph_rx_event ph_deframer_feed(struct ph_deframer *d, u8 c)
{
	enum ph_rx_event ev;
	u16 len;

	if (d->done)
		ph_deframer_release(d);

	if (c == PH_FLAG) {
		ev = ph_deframer_end(d);
		if (ev != PH_RX_FRAME) {
			ph_deframer_reset(d);
			return ev;
		}
		/* Keep the frame and its length until it is released. */
		len = d->len;
		d->len = 0;
		ph_deframer_reset(d);
		d->len = len;
		d->done = true;
		return ev;
	}

	if (d->esc) {
		d->esc = false;
		c ^= PH_ESC_XOR;
	} else if (c == PH_ESC) {
		d->esc = true;
		return PH_RX_NONE;
	}

	if (d->len < PH_DEFRAMER_BUF(d->max_payload))
		d->buf[d->len++] = c;
	else
		d->overflow = true;
	return PH_RX_NONE;
}

/**
 * ph_deframer_release() - the frame just received has been used: wipe it
 * @d: receive state, after ph_deframer_feed() returned PH_RX_FRAME
 *
 * Nothing of a frame stays in the buffer once its receiver is done with it;
 * the next ph_deframer_feed() does the same if the receiver did not.
 */
void ph_deframer_release(struct ph_deframer *d)
{
	d->done = false;
	ph_deframer_reset(d);
}

/**
 * ph_fcs() - FCS-16 of a payload, as sent on the wire
 * @payload: the payload
 * @len: its length
 *
 * Return: the ones-complement of crc_ccitt(0xffff, @payload), to be sent low
 * byte first.
 */
u16 ph_fcs(const u8 *payload, size_t len)
{
	return crc_ccitt(PH_FCS_INIT, payload, len) ^ 0xffff;
}

/* Append one byte of payload or FCS, escaped if it is a flag or an escape. */
static u8 *ph_put(u8 *p, u8 c)
{
	if (c == PH_FLAG || c == PH_ESC) {
		*p++ = PH_ESC;
		c ^= PH_ESC_XOR;
	}
	*p++ = c;
	return p;
}

/**
 * ph_frame_encode() - encode one frame
 * @out: buffer of PH_ENCODED_MAX(@len) bytes
 * @payload: the payload, may be NULL when @len is 0
 * @len: its length
 *
 * Only 0x7E and 0x7D are escaped: the lines are 8-bit clean, so no control
 * character map is negotiated.
 *
 * Return: the number of bytes written, both flags included.
 */
size_t ph_frame_encode(u8 *out, const u8 *payload, size_t len)
{
	u16 fcs = ph_fcs(payload, len);
	u8 *p = out;
	size_t i;

	*p++ = PH_FLAG;
	for (i = 0; i < len; i++)
		p = ph_put(p, payload[i]);
	p = ph_put(p, fcs & 0xff);
	p = ph_put(p, fcs >> 8);
	*p++ = PH_FLAG;
	return p - out;
}
