// SPDX-License-Identifier: GPL-2.0
/*
 * libFuzzer target for one framing's receiver (kmod/framing.c), built once
 * per framing with -DPH_FUZZ_FRAMING='"<name>"' (fuzz_framing-<name>).
 *
 * Input: byte 0 chooses the payload limit (bits 0-6: 0..126, or 127 for
 * PH_PAYLOAD_MAX) and the lrc option (bit 7); byte 1 is the gap marker:
 * wherever it appears in the rest, the line falls silent (ph_rx_gap())
 * instead of carrying that byte. The rest is what arrives. Checked:
 *  - every event is one this framing can give, from the call that can give
 *    it; the receiver never holds more than the limit;
 *  - the buffer holds nothing but the frame in progress: after an event,
 *    everything past the bytes collected is zero (frames are wiped);
 *  - a good frame's encoding is exactly what just arrived (but in hdlc,
 *    whose peers may escape more and share flags: fuzz_frame has a model):
 *    nothing unchecked, nothing invented; in gap, all since the last gap;
 *  - every good frame re-encodes, and decodes back to itself with exactly
 *    one event, at its last byte (in gap, at the silence after it);
 *  - after a gap (after anything at all, in hdlc), a frame sent is received
 *    intact: every framing but hdlc resynchronises on silence;
 *  - the line bytes taken as one payload survive encode/decode too, or are
 *    refused (stx-etx: STX, ETX) or dropped as too long, once.
 * The receive buffer is malloc()ed at its exact size for ASan.
 *
 *   clang -g -O1 -fsanitize=fuzzer,address,undefined -Iuapi -Ikmod -Idaemon \
 *	-DPH_FUZZ_FRAMING='"stx-len"' selftests/fuzz_framing.c \
 *	kmod/framing.c kmod/frame.c daemon/crc_ccitt.c \
 *	-o build/fuzz/fuzz_framing-stx-len
 *   build/fuzz/fuzz_framing-stx-len selftests/fuzz-corpus/framing-stx-len/
 */
#include <stdlib.h>
#include <string.h>

#include "framing.h"

#ifndef PH_FUZZ_FRAMING
#error "build with -DPH_FUZZ_FRAMING='\"<framing name>\"'"
#endif

#define check(cond) do { if (!(cond)) __builtin_trap(); } while (0)

static enum ph_framing framing;

static bool all_zero(const u8 *p, size_t n)
{
	while (n--)
		if (*p++)
			return false;
	return true;
}

/* Bytes of the frame in progress, which the buffer may hold. */
static size_t held(const struct ph_rx *rx)
{
	if (framing == PH_FRAMING_HDLC)
		return rx->hdlc.len;
	return rx->len;
}

/* Whether @ev may come from ph_rx_feed() (@gap false) or ph_rx_gap(). */
static bool possible(int ev, bool gap, bool lrc)
{
	if (ev == PH_RX_NONE)
		return true;
	switch (framing) {
	case PH_FRAMING_HDLC:
		return !gap && ev >= PH_RX_FRAME && ev <= PH_RX_ABORT;
	case PH_FRAMING_STX_ETX:
		if (gap)
			return ev == PH_RX_TRUNCATED;
		return ev == PH_RX_FRAME || ev == PH_RX_TOO_LONG ||
		       ev == PH_RX_TRUNCATED || (lrc && ev == PH_RX_BAD_LRC);
	case PH_FRAMING_STX_LEN:
		if (gap)
			return ev == PH_RX_TRUNCATED;
		return ev == PH_RX_FRAME || ev == PH_RX_TOO_LONG ||
		       ev == PH_RX_BAD_LRC || ev == PH_RX_BAD_LEN;
	case PH_FRAMING_LEN16:
		if (gap)
			return ev == PH_RX_TRUNCATED;
		return ev == PH_RX_FRAME || ev == PH_RX_TOO_LONG;
	default:
		return gap && (ev == PH_RX_FRAME || ev == PH_RX_TOO_LONG);
	}
}

/* Wire bytes of one frame; NULL if the framing refuses the payload. */
static u8 *encode(const u8 *payload, size_t len, bool lrc, int *n)
{
	size_t size = ph_framing_encoded_max(framing, lrc, len);
	u8 *out = malloc(size + 1);
	size_t i;

	check(out);
	*n = ph_framing_encode(framing, lrc, out, size, payload, len);
	if (*n == -EILSEQ) {
		check(framing == PH_FRAMING_STX_ETX);
		for (i = 0; i < len && payload[i] != PH_STX &&
		     payload[i] != PH_ETX; i++)
			;
		check(i < len);
		free(out);
		return NULL;
	}
	if (len > PH_PAYLOAD_MAX) {
		check(*n == -EMSGSIZE);
		free(out);
		return NULL;
	}
	check(*n >= 0 && (size_t)*n <= size);
	check(framing == PH_FRAMING_HDLC || (size_t)*n == size);
	return out;
}

/*
 * Feed one encoded frame to @rx, then a gap in gap framing. Expect one
 * event at its end, @want (a frame of @payload), and before it nothing,
 * but for @lead: any event at the first byte, which ends what came
 * before (hdlc: the opening flag).
 */
static void feed_frame(struct ph_rx *rx, const u8 *wire, int n, int want,
		       const u8 *payload, size_t len, bool lead)
{
	int i, ev;

	for (i = 0; i < n; i++) {
		ev = ph_rx_feed(rx, wire[i]);
		if (framing == PH_FRAMING_STX_LEN && want == PH_RX_TOO_LONG &&
		    i == 2) {
			/* stx-len reports a long count at once. */
			check(ev == want);
			return;
		}
		if (i == n - 1 && framing != PH_FRAMING_GAP)
			check(ev == want);
		else if (i == 0 && lead)
			continue;	/* the end of what came before */
		else
			check(ev == PH_RX_NONE);
	}
	if (framing == PH_FRAMING_GAP)
		check(ph_rx_gap(rx) == (len ? want : PH_RX_NONE));
	if (want == PH_RX_FRAME && (len || framing != PH_FRAMING_GAP)) {
		check(ph_rx_payload_len(rx) == len);
		check(!len || !memcmp(rx->buf, payload, len));
	}
}

/* The frame of @payload is the end of @hist (all of it, in gap). */
static void check_arrived(const u8 *hist, size_t nh, const u8 *payload,
			  size_t len, bool lrc)
{
	u8 *wire;
	int n;

	if (framing == PH_FRAMING_HDLC)
		return;
	wire = encode(payload, len, lrc, &n);
	check(wire);
	check((size_t)n <= nh);
	check(framing != PH_FRAMING_GAP || (size_t)n == nh);
	check(!memcmp(hist + nh - n, wire, n));
	free(wire);
}

/* Encode @len bytes and decode them with a fresh receiver of limit @max. */
static void round_trip(const u8 *payload, size_t len, u16 max, bool lrc)
{
	u8 *buf = calloc(1, PH_RX_BUF(max));
	struct ph_rx rx;
	u8 *wire;
	int n;

	check(buf);
	check(!ph_rx_init(&rx, framing, lrc, buf, max));
	wire = encode(payload, len, lrc, &n);
	if (wire) {
		feed_frame(&rx, wire, n,
			   len > max ? PH_RX_TOO_LONG : PH_RX_FRAME,
			   payload, len, false);
		ph_rx_release(&rx);
		check(all_zero(buf, PH_RX_BUF(max)));
		free(wire);
	}
	free(buf);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	int f = ph_framing_parse(PH_FUZZ_FRAMING);

	(void)argc;
	(void)argv;
	check(f >= 0);
	framing = f;
	return 0;
}

int LLVMFuzzerTestOneInput(const u8 *data, size_t size)
{
	static const u8 probe[] = "probe\x01\x7e";
	bool lrc, gap, stop;
	struct ph_rx rx;
	u8 marker, *buf, *wire, *hist;
	size_t i, bufsize, nh = 0;
	u16 max;
	int ev, n;

	if (size < 2)
		return 0;
	max = (data[0] & 0x7f) == 0x7f ? PH_PAYLOAD_MAX : data[0] & 0x7f;
	lrc = data[0] & 0x80;
	marker = data[1];
	data += 2;
	size -= 2;

	bufsize = PH_RX_BUF(max);
	buf = calloc(1, bufsize);
	hist = malloc(size + 1);
	check(buf && hist);
	check(!ph_rx_init(&rx, framing, lrc, buf, max));

	for (i = 0; i < size; i++) {
		gap = data[i] == marker;
		if (!gap)
			hist[nh++] = data[i];
		ev = gap ? ph_rx_gap(&rx) : ph_rx_feed(&rx, data[i]);
		check(ev >= PH_RX_NONE && ev < __PH_RX_MAX);
		check(possible(ev, gap, lrc));
		check(held(&rx) <= PH_RX_BUF(max));
		check(framing == PH_FRAMING_HDLC || rx.len <= max);
		if (gap && framing != PH_FRAMING_HDLC)
			check(!ph_rx_mid_frame(&rx));
		if (ev == PH_RX_FRAME)
			check_arrived(hist, nh, buf, ph_rx_payload_len(&rx),
				      lrc);
		/* What came before a gap is never part of a frame after it. */
		if (gap)
			nh = 0;
		if (ev == PH_RX_NONE)
			continue;
		if (ev != PH_RX_FRAME) {
			check(all_zero(buf + held(&rx), bufsize - held(&rx)));
			continue;
		}
		n = ph_rx_payload_len(&rx);
		check(n <= max);
		/* hdlc keeps the FCS after the payload, until released. */
		check(all_zero(buf + held(&rx), bufsize - held(&rx)));
		round_trip(buf, n, max, lrc);
		/* Released now, or wiped by the next call. */
		if (data[i] & 1) {
			ph_rx_release(&rx);
			check(all_zero(buf, bufsize));
		}
	}

	/* After silence, whatever came before, a frame gets through. */
	stop = framing != PH_FRAMING_HDLC;
	if (stop) {
		ph_rx_gap(&rx);
		check(!ph_rx_mid_frame(&rx));
	}
	n = 0;
	i = max < sizeof(probe) - 1 ? max : sizeof(probe) - 1;
	wire = encode(probe, i, lrc, &n);
	check(wire);
	feed_frame(&rx, wire, n, PH_RX_FRAME, probe, i, !stop);
	free(wire);
	ph_rx_reset(&rx);
	check(all_zero(buf, bufsize));

	round_trip(data, size, max, lrc);
	free(hist);
	free(buf);
	return 0;
}
