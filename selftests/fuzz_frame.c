// SPDX-License-Identifier: GPL-2.0
/*
 * libFuzzer target for the RFC 1662 framer (kmod/frame.c).
 *
 * Input: the first byte chooses the payload limit (0..254, or 255 for
 * PH_PAYLOAD_MAX); the rest is what arrives on the line. Checked:
 *  - the deframer's events and good frames match a simple model that keeps
 *    the whole frame however long it is (so it cannot overflow);
 *  - every good frame re-encodes and decodes back to itself, with exactly one
 *    event, at its closing flag;
 *  - the line bytes, taken as a payload, survive encode/decode too (or are
 *    dropped as too long, once, when longer than the limit).
 * The deframer's buffer is malloc()ed at its exact size for ASan.
 *
 *   clang -g -O1 -fsanitize=fuzzer,address,undefined -Iuapi -Ikmod -Idaemon \
 *	selftests/fuzz_frame.c kmod/frame.c daemon/crc_ccitt.c \
 *	-o build/fuzz_frame
 *   build/fuzz_frame selftests/fuzz-corpus/frame/
 */
#include <stdlib.h>
#include <string.h>

#include "frame.h"

#define check(cond) do { if (!(cond)) __builtin_trap(); } while (0)

/* The model: the same rules, on an unbounded buffer. */
struct model {
	u8 *buf;
	size_t len;
	bool esc;
};

static enum ph_rx_event model_feed(struct model *m, u16 max, u8 c,
				   size_t *frame_len)
{
	enum ph_rx_event ev;

	if (c != PH_FLAG) {
		if (m->esc) {
			m->buf[m->len++] = c ^ PH_ESC_XOR;
			m->esc = false;
		} else if (c == PH_ESC) {
			m->esc = true;
		} else {
			m->buf[m->len++] = c;
		}
		return PH_RX_NONE;
	}
	if (m->esc)
		ev = PH_RX_ABORT;
	else if (m->len > (size_t)max + PH_FCS_LEN)
		ev = PH_RX_TOO_LONG;
	else if (m->len == 0)
		ev = PH_RX_NONE;
	else if (m->len < PH_FCS_LEN)
		ev = PH_RX_TOO_SHORT;
	else if (crc_ccitt(PH_FCS_INIT, m->buf, m->len) != PH_FCS_GOOD)
		ev = PH_RX_BAD_FCS;
	else
		ev = PH_RX_FRAME;
	*frame_len = m->len;
	m->len = 0;
	m->esc = false;
	return ev;
}

/* Encode @len bytes and decode them with a fresh deframer of limit @max. */
static void round_trip(const u8 *payload, size_t len, u16 max)
{
	u8 *enc = malloc(PH_ENCODED_MAX(len));
	u8 *buf = malloc(PH_DEFRAMER_BUF(max));
	enum ph_rx_event ev, want;
	struct ph_deframer d;
	size_t n, i;

	check(enc && buf);
	n = ph_frame_encode(enc, payload, len);
	check(n >= 4 && n <= PH_ENCODED_MAX(len));
	check(enc[0] == PH_FLAG && enc[n - 1] == PH_FLAG);

	want = len > max ? PH_RX_TOO_LONG : PH_RX_FRAME;
	ph_deframer_init(&d, buf, max);
	for (i = 0; i < n; i++) {
		/* No flag inside, and nothing but the last byte ends it. */
		check(i == 0 || i == n - 1 || enc[i] != PH_FLAG);
		ev = ph_deframer_feed(&d, enc[i]);
		check(ev == (i == n - 1 ? want : PH_RX_NONE));
	}
	if (want == PH_RX_FRAME) {
		check(ph_deframer_payload_len(&d) == len);
		check(!len || !memcmp(buf, payload, len));
	}
	free(buf);
	free(enc);
}

int LLVMFuzzerTestOneInput(const u8 *data, size_t size)
{
	struct ph_deframer d;
	struct model m;
	enum ph_rx_event ev, want;
	size_t i, flen = 0;
	u8 *buf;
	u16 max;

	if (!size)
		return 0;
	max = data[0] == 0xff ? PH_PAYLOAD_MAX : data[0];
	data++;
	size--;

	buf = malloc(PH_DEFRAMER_BUF(max));
	m.buf = malloc(size + 1);
	m.len = 0;
	m.esc = false;
	check(buf && m.buf);
	ph_deframer_init(&d, buf, max);

	for (i = 0; i < size; i++) {
		ev = ph_deframer_feed(&d, data[i]);
		want = model_feed(&m, max, data[i], &flen);
		check(ev == want);
		check(d.len <= PH_DEFRAMER_BUF(max));
		if (ev != PH_RX_FRAME)
			continue;
		check(ph_deframer_payload_len(&d) + PH_FCS_LEN == flen);
		check(ph_deframer_payload_len(&d) <= max);
		check(!memcmp(d.buf, m.buf, flen));
		round_trip(d.buf, ph_deframer_payload_len(&d), max);
	}

	round_trip(data, size, max);

	free(m.buf);
	free(buf);
	return 0;
}
