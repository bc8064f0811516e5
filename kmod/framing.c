// SPDX-License-Identifier: GPL-2.0
/*
 * The framings of framing.h: one receive state for any of them, fed one
 * byte at a time from the receive path, and one encoder. hdlc is frame.c's
 * deframer and encoder, called through. Built into the module and,
 * unchanged, into the userspace tests (see daemon/kcompat.h).
 */
#include "framing.h"

/* Where a receiver is; stx-etx, stx-len and len16 are in a frame unless idle. */
enum {
	RX_IDLE,	/* stx-*: hunting for STX; len16: count's high byte next */
	RX_COUNT_HI,	/* stx-len: after STX */
	RX_COUNT_LO,	/* stx-len, len16: count's low byte next */
	RX_DATA,	/* payload */
	RX_LRC,		/* stx-etx after ETX, stx-len after the payload */
	RX_ETX,		/* stx-len: after the LRC */
	RX_SKIP,	/* len16: the payload of a frame over the limit */
};

static const char * const ph_framing_names[__PH_FRAMING_MAX] = {
	[PH_FRAMING_HDLC] = "hdlc",
	[PH_FRAMING_STX_ETX] = "stx-etx",
	[PH_FRAMING_STX_LEN] = "stx-len",
	[PH_FRAMING_LEN16] = "len16",
	[PH_FRAMING_GAP] = "gap",
};

/**
 * ph_framing_name() - the name of a framing, as configured and shown
 * @framing: the framing
 *
 * Return: its name ("hdlc", "stx-etx", "stx-len", "len16", "gap"), or NULL
 * if @framing is none of them.
 */
const char *ph_framing_name(enum ph_framing framing)
{
	if ((unsigned int)framing >= __PH_FRAMING_MAX)
		return NULL;
	return ph_framing_names[framing];
}

/**
 * ph_framing_parse() - the framing of a name
 * @name: a NUL-terminated name, as ph_framing_name() gives it; one trailing
 *	newline is allowed, as a sysfs store receives it
 *
 * Return: the enum ph_framing value, or -EINVAL if no framing has that name.
 */
int ph_framing_parse(const char *name)
{
	size_t n;
	int i;

	for (i = 0; i < __PH_FRAMING_MAX; i++) {
		n = strlen(ph_framing_names[i]);
		if (strncmp(name, ph_framing_names[i], n))
			continue;
		if (!name[n] || (name[n] == '\n' && !name[n + 1]))
			return i;
	}
	return -EINVAL;
}

/* Forget the frame in progress, wiping what was collected of it. */
static void rx_drop(struct ph_rx *rx)
{
	if (rx->len)
		memzero_explicit(rx->buf, rx->len);
	rx->len = 0;
	rx->count = 0;
	rx->lrc = 0;
	rx->overflow = false;
	rx->state = RX_IDLE;
}

/* The frame in progress fails with @ev: drop it. */
static int rx_fail(struct ph_rx *rx, int ev)
{
	rx_drop(rx);
	return ev;
}

/* The frame in progress is good: keep its payload until it is released. */
static int rx_deliver(struct ph_rx *rx)
{
	rx->count = 0;
	rx->lrc = 0;
	rx->state = RX_IDLE;
	rx->done = true;
	return PH_RX_FRAME;
}

/* One byte of payload, kept if there is room; otherwise the frame is long. */
static void rx_put(struct ph_rx *rx, u8 c)
{
	if (rx->len < rx->max_payload)
		rx->buf[rx->len++] = c;
	else
		rx->overflow = true;
}

/**
 * ph_rx_init() - prepare the receive state of one line
 * @rx: state to initialise
 * @framing: the line's framing
 * @lrc: stx-etx: an LRC byte follows ETX (ignored by the other framings)
 * @buf: buffer of PH_RX_BUF(@max_payload) bytes
 * @max_payload: largest payload to accept, at most PH_PAYLOAD_MAX (larger
 *	values are clamped to it)
 *
 * In hdlc, bytes before the first flag are a broken frame (frame.c); in
 * stx-etx and stx-len, bytes before the first STX are ignored; in len16 and
 * gap, the first byte starts a frame.
 *
 * Return: 0, or -EINVAL if @framing is not a framing (@rx is then unusable).
 */
int ph_rx_init(struct ph_rx *rx, enum ph_framing framing, bool lrc, u8 *buf,
	       u16 max_payload)
{
	if ((unsigned int)framing >= __PH_FRAMING_MAX)
		return -EINVAL;
	if (max_payload > PH_PAYLOAD_MAX)
		max_payload = PH_PAYLOAD_MAX;
	ph_deframer_init(&rx->hdlc, buf, max_payload);
	/* A new buffer: nothing of it to wipe (the old one is its owner's). */
	rx->buf = buf;
	rx->max_payload = max_payload;
	rx->framing = framing;
	rx->lrc_on = lrc;
	rx->len = 0;
	rx->done = false;
	rx_drop(rx);
	return 0;
}

/**
 * ph_rx_reset() - drop the frame in progress
 * @rx: receive state
 *
 * Used when the line loses bytes (break, overrun). The bytes collected so
 * far are wiped, and so is a delivered frame not yet released. The receiver
 * then waits for the start of a frame: the next flag (hdlc), STX (stx-etx,
 * stx-len); in len16 and gap the next byte starts one.
 */
void ph_rx_reset(struct ph_rx *rx)
{
	if (rx->framing == PH_FRAMING_HDLC) {
		ph_deframer_reset(&rx->hdlc);
		return;
	}
	rx->done = false;
	rx_drop(rx);
}

/**
 * ph_rx_release() - the frame just received has been used: wipe it
 * @rx: receive state, after an event PH_RX_FRAME
 *
 * Nothing of a frame stays in the buffer once its receiver is done with it;
 * the next ph_rx_feed() or ph_rx_gap() does the same if the receiver did
 * not.
 */
void ph_rx_release(struct ph_rx *rx)
{
	if (rx->framing == PH_FRAMING_HDLC) {
		ph_deframer_release(&rx->hdlc);
		return;
	}
	rx->done = false;
	rx_drop(rx);
}

/* ETX, then the LRC if the port has one, ends an stx-etx frame. */
static int rx_stx_etx_end(struct ph_rx *rx, u8 c)
{
	bool good_lrc = !rx->lrc_on || c == rx->lrc;

	if (rx->overflow)
		return rx_fail(rx, PH_RX_TOO_LONG);
	if (good_lrc)
		return rx_deliver(rx);
	/*
	 * The byte after ETX is the LRC, whatever its value: one that is
	 * wrong and happens to be STX starts no frame (or the next frame's
	 * own STX would count a truncation too).
	 */
	return rx_fail(rx, PH_RX_BAD_LRC);
}

static int rx_stx_etx(struct ph_rx *rx, u8 c)
{
	switch (rx->state) {
	case RX_IDLE:
		if (c == PH_STX)
			rx->state = RX_DATA;
		return PH_RX_NONE;
	case RX_DATA:
		if (c == PH_STX) {
			/* A new frame: the one in progress will never end. */
			rx_drop(rx);
			rx->state = RX_DATA;
			return PH_RX_TRUNCATED;
		}
		rx->lrc ^= c;
		if (c != PH_ETX) {
			rx_put(rx, c);
			return PH_RX_NONE;
		}
		if (rx->lrc_on) {
			rx->state = RX_LRC;
			return PH_RX_NONE;
		}
		return rx_stx_etx_end(rx, c);
	default:
		return rx_stx_etx_end(rx, c);
	}
}

static int rx_stx_len(struct ph_rx *rx, u8 c)
{
	switch (rx->state) {
	case RX_IDLE:
		if (c == PH_STX)
			rx->state = RX_COUNT_HI;
		return PH_RX_NONE;
	case RX_COUNT_HI:
		rx->count = c << 8;
		rx->state = RX_COUNT_LO;
		return PH_RX_NONE;
	case RX_COUNT_LO:
		rx->count |= c;
		/* Too long to keep: look for the next STX at once. */
		if (rx->count > rx->max_payload)
			return rx_fail(rx, PH_RX_TOO_LONG);
		rx->state = rx->count ? RX_DATA : RX_LRC;
		return PH_RX_NONE;
	case RX_DATA:
		rx->buf[rx->len++] = c;
		rx->lrc ^= c;
		if (rx->len == rx->count)
			rx->state = RX_LRC;
		return PH_RX_NONE;
	case RX_LRC:
		/* XORed in: a good LRC leaves 0. */
		rx->lrc ^= c;
		rx->state = RX_ETX;
		return PH_RX_NONE;
	default:
		if (c != PH_ETX) {
			/* The count was wrong; an STX here may open the next. */
			rx_drop(rx);
			if (c == PH_STX)
				rx->state = RX_COUNT_HI;
			return PH_RX_BAD_LEN;
		}
		if (rx->lrc)
			return rx_fail(rx, PH_RX_BAD_LRC);
		return rx_deliver(rx);
	}
}

static int rx_len16(struct ph_rx *rx, u8 c)
{
	switch (rx->state) {
	case RX_IDLE:
		rx->count = c << 8;
		rx->state = RX_COUNT_LO;
		return PH_RX_NONE;
	case RX_COUNT_LO:
		rx->count |= c;
		if (!rx->count)
			return rx_deliver(rx);
		/* Too long to keep, but skipped whole to stay in step. */
		rx->state = rx->count > rx->max_payload ? RX_SKIP : RX_DATA;
		return PH_RX_NONE;
	case RX_DATA:
		rx->buf[rx->len++] = c;
		if (rx->len == rx->count)
			return rx_deliver(rx);
		return PH_RX_NONE;
	default:
		if (--rx->count)
			return PH_RX_NONE;
		return rx_fail(rx, PH_RX_TOO_LONG);
	}
}

/**
 * ph_rx_feed() - process one received byte
 * @rx: receive state
 * @c: the byte
 *
 * A frame delivered by the previous call and not released is wiped first.
 *
 * Return: the event this byte completed: a value of enum ph_rx_event or of
 * enum ph_rx_check, PH_RX_NONE if none. On PH_RX_FRAME the payload is
 * @rx->buf, ph_rx_payload_len(@rx) bytes, until ph_rx_release() or the
 * next call. Dropped frames are wiped at once.
 */
int ph_rx_feed(struct ph_rx *rx, u8 c)
{
	if (rx->framing == PH_FRAMING_HDLC)
		return ph_deframer_feed(&rx->hdlc, c);
	if (rx->done)
		ph_rx_release(rx);

	switch (rx->framing) {
	case PH_FRAMING_STX_ETX:
		return rx_stx_etx(rx, c);
	case PH_FRAMING_STX_LEN:
		return rx_stx_len(rx, c);
	case PH_FRAMING_LEN16:
		return rx_len16(rx, c);
	default:
		/* gap: everything is payload until the line is silent. */
		rx_put(rx, c);
		return PH_RX_NONE;
	}
}

/**
 * ph_rx_mid_frame() - whether the receiver holds part of a frame
 * @rx: receive state
 *
 * Return: true if ph_rx_gap() would now end or drop a frame: bytes of a
 * frame not yet complete have arrived (stx-etx, stx-len: since its STX;
 * len16, gap: since the end of the previous frame). Always false in hdlc.
 */
bool ph_rx_mid_frame(const struct ph_rx *rx)
{
	switch (rx->framing) {
	case PH_FRAMING_HDLC:
		return false;
	case PH_FRAMING_GAP:
		return !rx->done && (rx->len || rx->overflow);
	default:
		return rx->state != RX_IDLE;
	}
}

/**
 * ph_rx_gap() - the line has been silent since the last byte
 * @rx: receive state
 *
 * Called by the port when its gap time (a number of character times) has
 * passed since the last byte received. In gap, this ends the frame
 * collected so far, if any. In stx-etx, stx-len and len16, a frame in
 * progress is dropped as truncated and the receiver waits for a new frame,
 * whatever came before (an absurd len16 count included). In hdlc, nothing
 * happens. A frame delivered before and not released is wiped first.
 *
 * Return: the event, as ph_rx_feed() returns it: PH_RX_FRAME (gap),
 * PH_RX_TOO_LONG (gap, over the limit), PH_RX_TRUNCATED (the others), or
 * PH_RX_NONE if no frame was in progress.
 */
int ph_rx_gap(struct ph_rx *rx)
{
	if (rx->framing == PH_FRAMING_HDLC)
		return PH_RX_NONE;
	if (rx->done)
		ph_rx_release(rx);
	if (!ph_rx_mid_frame(rx))
		return PH_RX_NONE;
	if (rx->framing != PH_FRAMING_GAP)
		return rx_fail(rx, PH_RX_TRUNCATED);
	if (rx->overflow)
		return rx_fail(rx, PH_RX_TOO_LONG);
	return rx_deliver(rx);
}

/* XOR of @len bytes: the LRC of stx-etx and stx-len. */
static u8 ph_lrc(const u8 *p, size_t len)
{
	u8 lrc = 0;

	while (len--)
		lrc ^= *p++;
	return lrc;
}

/* The 16-bit count of stx-len and len16, high byte first. */
static u8 *ph_put_count(u8 *p, size_t len)
{
	*p++ = len >> 8;
	*p++ = len & 0xff;
	return p;
}

/**
 * ph_framing_encoded_max() - worst case size of a frame on the wire
 * @framing: the framing
 * @lrc: stx-etx: the port sends an LRC byte
 * @len: payload length
 *
 * Return: the most bytes ph_framing_encode() can write for a payload of
 * @len bytes (exactly as many, but in hdlc), or 0 if @framing is not a
 * framing.
 */
size_t ph_framing_encoded_max(enum ph_framing framing, bool lrc, size_t len)
{
	switch (framing) {
	case PH_FRAMING_HDLC:
		return PH_ENCODED_MAX(len);
	case PH_FRAMING_STX_ETX:
		return 2 + len + (lrc ? 1 : 0);
	case PH_FRAMING_STX_LEN:
		return 5 + len;
	case PH_FRAMING_LEN16:
		return 2 + len;
	case PH_FRAMING_GAP:
		return len;
	default:
		return 0;
	}
}

/**
 * ph_framing_encode() - encode one frame
 * @framing: the framing
 * @lrc: stx-etx: append an LRC byte (ignored by the other framings)
 * @out: where to write the frame
 * @size: room at @out, at least ph_framing_encoded_max(@framing, @lrc, @len)
 * @payload: the payload, may be NULL when @len is 0
 * @len: its length, at most PH_PAYLOAD_MAX
 *
 * In gap the frame is the payload itself, and the transmitter must leave
 * the line silent for the receiver's gap time before the next frame. An
 * empty payload is then 0 bytes: nothing is sent and the peer receives no
 * frame at all; a caller that must answer (an empty error frame, say) sends
 * nothing, and the peer sees only its own timeout.
 *
 * Return: the number of bytes written (0 only for an empty payload in
 * gap); -EINVAL if @framing is not a framing, -EMSGSIZE if @len is over
 * PH_PAYLOAD_MAX, -ENOSPC if @size is too small, -EILSEQ if the payload
 * holds STX or ETX in stx-etx. Nothing is written on error.
 */
int ph_framing_encode(enum ph_framing framing, bool lrc, u8 *out,
		      size_t size, const u8 *payload, size_t len)
{
	u8 *p = out;
	size_t i;

	if ((unsigned int)framing >= __PH_FRAMING_MAX)
		return -EINVAL;
	if (len > PH_PAYLOAD_MAX)
		return -EMSGSIZE;
	if (size < ph_framing_encoded_max(framing, lrc, len))
		return -ENOSPC;

	switch (framing) {
	case PH_FRAMING_HDLC:
		return ph_frame_encode(out, payload, len);
	case PH_FRAMING_STX_ETX:
		for (i = 0; i < len; i++)
			if (payload[i] == PH_STX || payload[i] == PH_ETX)
				return -EILSEQ;
		*p++ = PH_STX;
		break;
	case PH_FRAMING_STX_LEN:
		*p++ = PH_STX;
		p = ph_put_count(p, len);
		break;
	case PH_FRAMING_LEN16:
		p = ph_put_count(p, len);
		break;
	default:
		break;
	}

	if (len)
		memcpy(p, payload, len);
	p += len;

	switch (framing) {
	case PH_FRAMING_STX_ETX:
		*p++ = PH_ETX;
		if (lrc)
			*p++ = ph_lrc(payload, len) ^ PH_ETX;
		break;
	case PH_FRAMING_STX_LEN:
		*p++ = ph_lrc(payload, len);
		*p++ = PH_ETX;
		break;
	default:
		break;
	}
	return p - out;
}
