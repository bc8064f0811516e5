// SPDX-License-Identifier: GPL-2.0
/*
 * Host unit tests of the framings (kmod/framing.c), with the kselftest
 * harness: hand-written wire bytes of each framing (payShield-style
 * commands among them), round trips, every error event, resynchronisation
 * after garbage and after gaps, the payload limit, the wiping of received
 * frames and the encoder's refusals.
 *
 * A line is a sequence of symbols: a byte (0..255) or GAP, the port
 * telling the receiver that the line has been silent (ph_rx_gap()). Events
 * are asserted with the index of the symbol that produced them. The receive
 * buffer is allocated with exactly PH_RX_BUF(max_payload) bytes followed by
 * a guard area that must be untouched at teardown.
 */
#include <stdlib.h>
#include <string.h>

#include "framing.h"

#include "kselftest_harness.h"
#include "test_rxlog.h"

#define GAP		0x100
#define LINE_SIZE	(4 * PH_FRAMING_ENCODED_MAX(PH_PAYLOAD_MAX) + 8192)
#define GUARD_SIZE	64
#define GUARD_BYTE	0xa5


/* Symbols on the line, built piece by piece. */
struct line {
	size_t n;
	u16 s[LINE_SIZE];
};

#include "test_rng.h"

/* Random bytes; in stx-etx none can be STX or ETX. */
static void fill_random(u8 *p, size_t n, enum ph_framing f)
{
	while (n--) {
		do
			*p = rng();
		while (f == PH_FRAMING_STX_ETX && (*p == PH_STX || *p == PH_ETX));
		p++;
	}
}

static bool all_zero(const u8 *p, size_t n)
{
	while (n--)
		if (*p++)
			return false;
	return true;
}

static void log_clear(struct rx_log *log)
{
	log->n = 0;
	log->full = false;
	log->used = 0;
}

static void log_event(struct ph_rx *rx, struct rx_log *log, int ev, size_t at)
{
	size_t len;

	if (ev == PH_RX_NONE)
		return;
	if (log->n == MAX_EVENTS) {
		log->full = true;
		return;
	}
	log->ev[log->n] = ev;
	log->at[log->n] = at;
	log->len[log->n] = 0;
	log->off[log->n] = log->used;
	if (ev == PH_RX_FRAME) {
		len = ph_rx_payload_len(rx);
		if (log->used + len > ARENA_SIZE) {
			log->full = true;
			return;
		}
		memcpy(log->arena + log->used, rx->buf, len);
		log->len[log->n] = len;
		log->used += len;
	}
	log->n++;
}

/* Feed symbols [from, to) of @l; positions in the log are symbol indexes. */
static void feed_range(struct ph_rx *rx, struct rx_log *log,
		       const struct line *l, size_t from, size_t to)
{
	size_t i;
	int ev;

	for (i = from; i < to; i++) {
		if (l->s[i] == GAP)
			ev = ph_rx_gap(rx);
		else
			ev = ph_rx_feed(rx, l->s[i]);
		log_event(rx, log, ev, i);
	}
}

static void feed(struct ph_rx *rx, struct rx_log *log, const struct line *l)
{
	feed_range(rx, log, l, 0, l->n);
}

static void line_bytes(struct line *l, const void *p, size_t n)
{
	const u8 *b = p;

	while (n--)
		l->s[l->n++] = *b++;
}

static void line_byte(struct line *l, u8 c)
{
	l->s[l->n++] = c;
}

static void line_gap(struct line *l)
{
	l->s[l->n++] = GAP;
}

/*
 * The framings written out again, straight from their description, with
 * no limit on the payload (to build frames longer than any receiver takes).
 */
static size_t ref_encode(enum ph_framing f, bool lrc, u8 *out,
			 const u8 *payload, size_t len)
{
	size_t n = 0, i;
	u8 x = 0;

	if (f == PH_FRAMING_HDLC)
		return ph_frame_encode(out, payload, len);
	if (f == PH_FRAMING_STX_ETX || f == PH_FRAMING_STX_LEN)
		out[n++] = PH_STX;
	if (f == PH_FRAMING_STX_LEN || f == PH_FRAMING_LEN16) {
		out[n++] = len >> 8;
		out[n++] = len;
	}
	for (i = 0; i < len; i++) {
		out[n++] = payload[i];
		x ^= payload[i];
	}
	if (f == PH_FRAMING_STX_ETX) {
		out[n++] = PH_ETX;
		if (lrc)
			out[n++] = x ^ PH_ETX;
	} else if (f == PH_FRAMING_STX_LEN) {
		out[n++] = x;
		out[n++] = PH_ETX;
	}
	return n;
}

/*
 * One frame as its framing sends it; gap frames end with a gap. The
 * encoder must agree with the reference, up to PH_PAYLOAD_MAX.
 */
static size_t line_frame(struct line *l, enum ph_framing f, bool lrc,
			 const u8 *payload, size_t len)
{
	static u8 out[PH_FRAMING_ENCODED_MAX(PH_PAYLOAD_MAX + 2)];
	static u8 ref[PH_FRAMING_ENCODED_MAX(PH_PAYLOAD_MAX + 2)];
	size_t n = ref_encode(f, lrc, ref, payload, len);
	int got;

	if (len <= PH_PAYLOAD_MAX) {
		got = ph_framing_encode(f, lrc, out, sizeof(out), payload,
					len);
		if (got < 0 || (size_t)got != n || memcmp(out, ref, n))
			abort();
	}
	line_bytes(l, ref, n);
	if (f == PH_FRAMING_GAP)
		line_gap(l);
	return l->n - 1;
}

/*
 * Decode @wire (no gaps) with a fresh receiver of limit 64 and expect
 * exactly one event, @ev at the last byte (a frame of @payload), nothing
 * before. In gap, the frame ends at a gap after the bytes.
 */
static void expect_wire(struct __test_metadata *_metadata, enum ph_framing f,
			bool lrc, const u8 *wire, size_t n, int ev,
			const u8 *payload, size_t len)
{
	u8 buf[PH_RX_BUF(64)];
	struct ph_rx rx;
	size_t i;
	int got;

	ASSERT_EQ(0, ph_rx_init(&rx, f, lrc, buf, 64));
	for (i = 0; i < n; i++) {
		got = ph_rx_feed(&rx, wire[i]);
		if (i < n - 1 || f == PH_FRAMING_GAP)
			ASSERT_EQ(PH_RX_NONE, got);
	}
	if (f == PH_FRAMING_GAP)
		got = ph_rx_gap(&rx);
	ASSERT_EQ(ev, got);
	if (ev == PH_RX_FRAME) {
		ASSERT_EQ(len, ph_rx_payload_len(&rx));
		ASSERT_EQ(0, memcmp(payload, buf, len));
	}
}

/* Encode @payload and expect exactly the bytes @wire. */
static void expect_encode(struct __test_metadata *_metadata,
			  enum ph_framing f, bool lrc, const u8 *payload,
			  size_t len, const u8 *wire, size_t n)
{
	u8 out[PH_FRAMING_ENCODED_MAX(64)];

	ASSERT_LE(n, ph_framing_encoded_max(f, lrc, len));
	ASSERT_EQ((int)n, ph_framing_encode(f, lrc, out, sizeof(out),
					    payload, len));
	ASSERT_EQ(0, memcmp(wire, out, n));
}

TEST(names)
{
	static const char * const names[] = {
		"hdlc", "stx-etx", "stx-len", "len16", "gap",
	};
	static const char * const bad[] = {
		"", "HDLC", "hdlc\n\n", "hdlc ", " hdlc", "stx", "stx-", "stx_etx",
		"stx-etx-lrc", "len", "len16\r", "gap2", "\n", "hd\nlc",
	};
	char s[16];
	int i;

	ASSERT_EQ(5, __PH_FRAMING_MAX);
	ASSERT_EQ(0, PH_FRAMING_HDLC);
	for (i = 0; i < __PH_FRAMING_MAX; i++) {
		ASSERT_STREQ(names[i], ph_framing_name(i));
		ASSERT_EQ(i, ph_framing_parse(names[i]));
		/* As a sysfs store receives it. */
		snprintf(s, sizeof(s), "%s\n", names[i]);
		ASSERT_EQ(i, ph_framing_parse(s));
	}
	ASSERT_EQ(NULL, ph_framing_name(__PH_FRAMING_MAX));
	ASSERT_EQ(NULL, ph_framing_name(-1));
	for (i = 0; i < (int)(sizeof(bad) / sizeof(bad[0])); i++)
		ASSERT_EQ(-EINVAL, ph_framing_parse(bad[i]));
}

TEST(events_continue_frame_h)
{
	/* New events after enum ph_rx_event's, all distinct. */
	ASSERT_EQ(PH_RX_ABORT + 1, PH_RX_BAD_LRC);
	ASSERT_EQ(PH_RX_ABORT + 2, PH_RX_BAD_LEN);
	ASSERT_EQ(PH_RX_ABORT + 3, PH_RX_TRUNCATED);
	ASSERT_EQ(PH_RX_ABORT + 4, __PH_RX_MAX);
}

TEST(init_rejects_unknown_framing)
{
	u8 buf[PH_RX_BUF(8)];
	struct ph_rx rx;

	ASSERT_EQ(-EINVAL, ph_rx_init(&rx, __PH_FRAMING_MAX, false, buf, 8));
	ASSERT_EQ(-EINVAL, ph_rx_init(&rx, -1, false, buf, 8));
	ASSERT_EQ(0, ph_rx_init(&rx, PH_FRAMING_GAP, false, buf, 8));
}

TEST(encoded_max)
{
	ASSERT_EQ(PH_ENCODED_MAX(10), ph_framing_encoded_max(PH_FRAMING_HDLC,
							     false, 10));
	ASSERT_EQ(12, ph_framing_encoded_max(PH_FRAMING_STX_ETX, false, 10));
	ASSERT_EQ(13, ph_framing_encoded_max(PH_FRAMING_STX_ETX, true, 10));
	ASSERT_EQ(15, ph_framing_encoded_max(PH_FRAMING_STX_LEN, false, 10));
	ASSERT_EQ(15, ph_framing_encoded_max(PH_FRAMING_STX_LEN, true, 10));
	ASSERT_EQ(12, ph_framing_encoded_max(PH_FRAMING_LEN16, false, 10));
	ASSERT_EQ(10, ph_framing_encoded_max(PH_FRAMING_GAP, true, 10));
	ASSERT_EQ(0, ph_framing_encoded_max(__PH_FRAMING_MAX, false, 10));
	/* The worst case of all framings bounds each of them. */
	ASSERT_LE(ph_framing_encoded_max(PH_FRAMING_STX_LEN, false,
					 PH_PAYLOAD_MAX),
		  PH_FRAMING_ENCODED_MAX(PH_PAYLOAD_MAX));
}

/*
 * A payShield diagnostics command (NC) with the 4-byte message header
 * "1234", in each framing. The len16 bytes are the manual's own example.
 */
static const u8 nc[] = "1234NC";
#define NC_LEN	6

TEST(payshield_nc_len16)
{
	static const u8 wire[] = {
		0x00, 0x06, 0x31, 0x32, 0x33, 0x34, 0x4e, 0x43,
	};

	expect_encode(_metadata, PH_FRAMING_LEN16, false, nc, NC_LEN,
		      wire, sizeof(wire));
	expect_wire(_metadata, PH_FRAMING_LEN16, false, wire, sizeof(wire),
		    PH_RX_FRAME, nc, NC_LEN);
}

TEST(payshield_nc_stx_len)
{
	/* LRC over the command only: 31^32^33^34^4e^43 = 09. */
	static const u8 wire[] = {
		0x02, 0x00, 0x06, 0x31, 0x32, 0x33, 0x34, 0x4e, 0x43,
		0x09, 0x03,
	};

	expect_encode(_metadata, PH_FRAMING_STX_LEN, false, nc, NC_LEN,
		      wire, sizeof(wire));
	expect_encode(_metadata, PH_FRAMING_STX_LEN, true, nc, NC_LEN,
		      wire, sizeof(wire));
	expect_wire(_metadata, PH_FRAMING_STX_LEN, false, wire, sizeof(wire),
		    PH_RX_FRAME, nc, NC_LEN);
}

TEST(payshield_nc_stx_etx)
{
	/* LRC over the command and ETX: 09^03 = 0a. */
	static const u8 with_lrc[] = {
		0x02, 0x31, 0x32, 0x33, 0x34, 0x4e, 0x43, 0x03, 0x0a,
	};

	expect_encode(_metadata, PH_FRAMING_STX_ETX, true, nc, NC_LEN,
		      with_lrc, sizeof(with_lrc));
	expect_wire(_metadata, PH_FRAMING_STX_ETX, true, with_lrc,
		    sizeof(with_lrc), PH_RX_FRAME, nc, NC_LEN);
	/* Without the lrc option the frame stops at ETX. */
	expect_encode(_metadata, PH_FRAMING_STX_ETX, false, nc, NC_LEN,
		      with_lrc, sizeof(with_lrc) - 1);
	expect_wire(_metadata, PH_FRAMING_STX_ETX, false, with_lrc,
		    sizeof(with_lrc) - 1, PH_RX_FRAME, nc, NC_LEN);
}

TEST(payshield_nc_hdlc_and_gap)
{
	/* FCS-16 of "1234NC" is 0xd634, sent low byte first. */
	static const u8 hdlc[] = {
		0x7e, 0x31, 0x32, 0x33, 0x34, 0x4e, 0x43, 0x34, 0xd6, 0x7e,
	};

	expect_encode(_metadata, PH_FRAMING_HDLC, false, nc, NC_LEN,
		      hdlc, sizeof(hdlc));
	expect_wire(_metadata, PH_FRAMING_HDLC, false, hdlc, sizeof(hdlc),
		    PH_RX_FRAME, nc, NC_LEN);
	expect_encode(_metadata, PH_FRAMING_GAP, false, nc, NC_LEN,
		      nc, NC_LEN);
	expect_wire(_metadata, PH_FRAMING_GAP, false, nc, NC_LEN,
		    PH_RX_FRAME, nc, NC_LEN);
}

TEST(payshield_nd_response)
{
	/* The answer: header, ND, error 00, LMK check, firmware number. */
	static const u8 nd[] = "1234ND007D2A0B1C9E34F0561500-0031";
	u8 wire[64];

	ASSERT_EQ(33, sizeof(nd) - 1);
	wire[0] = 0x02;
	wire[1] = 0x00;
	wire[2] = 0x21;
	memcpy(wire + 3, nd, 33);
	wire[36] = 0x2b;
	wire[37] = 0x03;
	expect_encode(_metadata, PH_FRAMING_STX_LEN, false, nd, 33, wire, 38);
	expect_wire(_metadata, PH_FRAMING_STX_LEN, false, wire, 38,
		    PH_RX_FRAME, nd, 33);

	memcpy(wire + 1, nd, 33);
	wire[34] = 0x03;
	wire[35] = 0x28;
	expect_encode(_metadata, PH_FRAMING_STX_ETX, true, nd, 33, wire, 36);
	expect_wire(_metadata, PH_FRAMING_STX_ETX, true, wire, 36,
		    PH_RX_FRAME, nd, 33);

	wire[0] = 0x00;
	wire[1] = 0x21;
	memcpy(wire + 2, nd, 33);
	expect_encode(_metadata, PH_FRAMING_LEN16, false, nd, 33, wire, 35);
	expect_wire(_metadata, PH_FRAMING_LEN16, false, wire, 35,
		    PH_RX_FRAME, nd, 33);
}

TEST(stx_len_is_binary_safe)
{
	/* STX, ETX and a flag in the payload; LRC 0x7e. */
	static const u8 payload[] = {
		0x30, 0x30, 0x30, 0x31, 0x02, 0x03, 0x7e, 0x00,
	};
	static const u8 wire[] = {
		0x02, 0x00, 0x08, 0x30, 0x30, 0x30, 0x31, 0x02, 0x03, 0x7e,
		0x00, 0x7e, 0x03,
	};
	static const u8 empty[] = { 0x02, 0x00, 0x00, 0x00, 0x03 };
	u8 big[0x203], out[0x203 + 5];
	u8 buf[PH_RX_BUF(0x203)];
	struct ph_rx rx;
	size_t i;
	int n;

	expect_encode(_metadata, PH_FRAMING_STX_LEN, false, payload,
		      sizeof(payload), wire, sizeof(wire));
	expect_wire(_metadata, PH_FRAMING_STX_LEN, false, wire, sizeof(wire),
		    PH_RX_FRAME, payload, sizeof(payload));
	expect_encode(_metadata, PH_FRAMING_STX_LEN, false, NULL, 0,
		      empty, sizeof(empty));
	expect_wire(_metadata, PH_FRAMING_STX_LEN, false, empty, sizeof(empty),
		    PH_RX_FRAME, NULL, 0);

	/* A count whose bytes are STX and ETX, a payload of them too. */
	for (i = 0; i < sizeof(big); i++)
		big[i] = i & 1 ? PH_ETX : PH_STX;
	n = ph_framing_encode(PH_FRAMING_STX_LEN, false, out, sizeof(out),
			      big, sizeof(big));
	ASSERT_EQ(sizeof(out), n);
	ASSERT_EQ(PH_STX, out[1]);
	ASSERT_EQ(PH_ETX, out[2]);
	ASSERT_EQ(0, ph_rx_init(&rx, PH_FRAMING_STX_LEN, false, buf,
				sizeof(big)));
	for (i = 0; i < sizeof(out) - 1; i++)
		ASSERT_EQ(PH_RX_NONE, ph_rx_feed(&rx, out[i]));
	ASSERT_EQ(PH_RX_FRAME, ph_rx_feed(&rx, out[i]));
	ASSERT_EQ(sizeof(big), ph_rx_payload_len(&rx));
	ASSERT_EQ(0, memcmp(big, buf, sizeof(big)));
}

TEST(len16_empty_and_binary)
{
	static const u8 empty[] = { 0x00, 0x00 };
	static const u8 bin[] = { 0x00, 0x03, 0x00, 0x00, 0x02 };

	expect_encode(_metadata, PH_FRAMING_LEN16, false, NULL, 0,
		      empty, sizeof(empty));
	expect_wire(_metadata, PH_FRAMING_LEN16, false, empty, sizeof(empty),
		    PH_RX_FRAME, NULL, 0);
	expect_wire(_metadata, PH_FRAMING_LEN16, false, bin, sizeof(bin),
		    PH_RX_FRAME, bin + 2, 3);
}

TEST(stx_etx_hand_errors)
{
	/* Bad LRC (0x0b for 0x0a). */
	static const u8 bad_lrc[] = {
		0x02, 0x31, 0x32, 0x33, 0x34, 0x4e, 0x43, 0x03, 0x0b,
	};
	/* An LRC equal to STX is an LRC: 01 ^ 03 = 02. */
	static const u8 lrc_stx[] = { 0x02, 0x01, 0x03, 0x02 };
	static const u8 one[] = { 0x01 };
	static const u8 empty[] = { 0x02, 0x03, 0x03 };

	expect_wire(_metadata, PH_FRAMING_STX_ETX, true, bad_lrc,
		    sizeof(bad_lrc), PH_RX_BAD_LRC, NULL, 0);
	expect_wire(_metadata, PH_FRAMING_STX_ETX, true, lrc_stx,
		    sizeof(lrc_stx), PH_RX_FRAME, one, 1);
	expect_encode(_metadata, PH_FRAMING_STX_ETX, true, one, 1,
		      lrc_stx, sizeof(lrc_stx));
	expect_wire(_metadata, PH_FRAMING_STX_ETX, true, empty, sizeof(empty),
		    PH_RX_FRAME, NULL, 0);
	expect_wire(_metadata, PH_FRAMING_STX_ETX, false, empty, 2,
		    PH_RX_FRAME, NULL, 0);
}

/*
 * A wrong LRC that happens to be STX is still the LRC: the next frame
 * starts at its own STX, and nothing is counted but the bad LRC.
 */
TEST(stx_etx_bad_lrc_equal_to_stx)
{
	/* 01 ^ 03 = 02 is the LRC; 02 sent for "05" is wrong. */
	static const u8 wire[] = {
		0x02, 0x05, 0x03, 0x02,		/* bad LRC, STX's value */
		0x02, 0x01, 0x03, 0x02,		/* good: "01" */
	};
	struct ph_rx rx;
	u8 buf[PH_RX_BUF(16)];
	int ev[8];
	size_t i;

	ASSERT_EQ(0, ph_rx_init(&rx, PH_FRAMING_STX_ETX, true, buf, 16));
	for (i = 0; i < sizeof(wire); i++)
		ev[i] = ph_rx_feed(&rx, wire[i]);
	EXPECT_EQ(PH_RX_BAD_LRC, ev[3]);
	EXPECT_EQ(PH_RX_NONE, ev[4]);
	EXPECT_EQ(PH_RX_NONE, ev[5]);
	EXPECT_EQ(PH_RX_NONE, ev[6]);
	ASSERT_EQ(PH_RX_FRAME, ev[7]);
	EXPECT_EQ(1, ph_rx_payload_len(&rx));
	EXPECT_EQ(0x01, rx.buf[0]);
}

TEST(stx_len_hand_errors)
{
	/* Bad LRC. */
	static const u8 bad_lrc[] = {
		0x02, 0x00, 0x06, 0x31, 0x32, 0x33, 0x34, 0x4e, 0x43,
		0x08, 0x03,
	};
	/* Count one short: the LRC lands where ETX should be. */
	static const u8 short_count[] = {
		0x02, 0x00, 0x05, 0x31, 0x32, 0x33, 0x34, 0x4e, 0x43,
		0x09,
	};
	/* Count one long: the ETX is taken as data, then no ETX. */
	static const u8 long_count[] = {
		0x02, 0x00, 0x07, 0x31, 0x32, 0x33, 0x34, 0x4e, 0x43,
		0x09, 0x03, 0x41,
	};
	/* Both wrong: the count is reported (as payShield does: 92). */
	static const u8 both[] = {
		0x02, 0x00, 0x05, 0x31, 0x32, 0x33, 0x34, 0x4e, 0x43,
		0x08,
	};
	/* Over the limit of 64: reported at the count. */
	static const u8 too_long[] = { 0x02, 0x00, 0x41 };

	expect_wire(_metadata, PH_FRAMING_STX_LEN, false, bad_lrc,
		    sizeof(bad_lrc), PH_RX_BAD_LRC, NULL, 0);
	expect_wire(_metadata, PH_FRAMING_STX_LEN, false, short_count,
		    sizeof(short_count), PH_RX_BAD_LEN, NULL, 0);
	expect_wire(_metadata, PH_FRAMING_STX_LEN, false, long_count,
		    sizeof(long_count), PH_RX_BAD_LEN, NULL, 0);
	expect_wire(_metadata, PH_FRAMING_STX_LEN, false, both,
		    sizeof(both), PH_RX_BAD_LEN, NULL, 0);
	expect_wire(_metadata, PH_FRAMING_STX_LEN, false, too_long,
		    sizeof(too_long), PH_RX_TOO_LONG, NULL, 0);
}

TEST(stx_len_next_frame_after_errors)
{
	static const u8 bad[] = {
		/* A count one short whose ETX position holds the next STX. */
		0x02, 0x00, 0x01, 0x41, 0x41,
		0x02, 0x00, 0x01, 0x42, 0x42, 0x03,
		/* Over the limit (64), its body holding no STX. */
		0x02, 0x10, 0x00, 0x41, 0x41, 0x41,
		0x02, 0x00, 0x01, 0x43, 0x43, 0x03,
	};
	struct rx_log *log = calloc(1, sizeof(*log));
	struct line *l = calloc(1, sizeof(*l));
	u8 buf[PH_RX_BUF(64)];
	struct ph_rx rx;

	ASSERT_NE(NULL, log);
	ASSERT_NE(NULL, l);
	line_bytes(l, bad, sizeof(bad));
	ASSERT_EQ(0, ph_rx_init(&rx, PH_FRAMING_STX_LEN, false, buf, 64));
	feed(&rx, log, l);
	ASSERT_EQ(4, log->n);
	check_event(_metadata, log, 0, 5, PH_RX_BAD_LEN);
	check_frame(_metadata, log, 1, 10, (const u8 *)"B", 1);
	check_event(_metadata, log, 2, 13, PH_RX_TOO_LONG);
	check_frame(_metadata, log, 3, 22, (const u8 *)"C", 1);
	free(l);
	free(log);
}

TEST(len16_too_long_is_skipped_in_step)
{
	struct rx_log *log = calloc(1, sizeof(*log));
	struct line *l = calloc(1, sizeof(*l));
	u8 buf[PH_RX_BUF(4)];
	struct ph_rx rx;
	size_t end;

	ASSERT_NE(NULL, log);
	ASSERT_NE(NULL, l);
	/* Five bytes over a limit of 4, each looking like a count. */
	line_bytes(l, "\x00\x05\x00\x01\x00\x01\x00", 7);
	end = l->n - 1;
	line_frame(l, PH_FRAMING_LEN16, false, (const u8 *)"ok", 2);
	ASSERT_EQ(0, ph_rx_init(&rx, PH_FRAMING_LEN16, false, buf, 4));
	feed(&rx, log, l);
	ASSERT_EQ(2, log->n);
	check_event(_metadata, log, 0, end, PH_RX_TOO_LONG);
	check_frame(_metadata, log, 1, l->n - 1, (const u8 *)"ok", 2);
	free(l);
	free(log);
}

TEST(len16_absurd_count_then_gap)
{
	struct rx_log *log = calloc(1, sizeof(*log));
	struct line *l = calloc(1, sizeof(*l));
	u8 buf[PH_RX_BUF(PH_PAYLOAD_MAX)];
	struct ph_rx rx;
	size_t gap, i;

	ASSERT_NE(NULL, log);
	ASSERT_NE(NULL, l);
	/* 0xffff: nothing could wait that long; a gap says it is over. */
	line_bytes(l, "\xff\xff", 2);
	for (i = 0; i < 100; i++)
		line_byte(l, i);
	line_gap(l);
	gap = l->n - 1;
	line_frame(l, PH_FRAMING_LEN16, false, nc, NC_LEN);
	ASSERT_EQ(0, ph_rx_init(&rx, PH_FRAMING_LEN16, false, buf,
				PH_PAYLOAD_MAX));
	feed(&rx, log, l);
	ASSERT_EQ(2, log->n);
	check_event(_metadata, log, 0, gap, PH_RX_TRUNCATED);
	check_frame(_metadata, log, 1, l->n - 1, nc, NC_LEN);

	/* A lone count byte, then silence, is a truncated frame too. */
	ASSERT_TRUE(ph_rx_mid_frame(&rx) == false);
	ASSERT_EQ(PH_RX_NONE, ph_rx_feed(&rx, 0x00));
	ASSERT_TRUE(ph_rx_mid_frame(&rx));
	ASSERT_EQ(PH_RX_TRUNCATED, ph_rx_gap(&rx));
	ASSERT_FALSE(ph_rx_mid_frame(&rx));
	ASSERT_EQ(PH_RX_NONE, ph_rx_gap(&rx));
	free(l);
	free(log);
}

TEST(gap_framing)
{
	u8 buf[PH_RX_BUF(4)];
	struct ph_rx rx;
	int i;

	ASSERT_EQ(0, ph_rx_init(&rx, PH_FRAMING_GAP, false, buf, 4));
	/* Silence with nothing received is no frame. */
	ASSERT_FALSE(ph_rx_mid_frame(&rx));
	ASSERT_EQ(PH_RX_NONE, ph_rx_gap(&rx));
	/* Bytes never end a frame by themselves; any byte is payload. */
	for (i = 0; i < 4; i++)
		ASSERT_EQ(PH_RX_NONE, ph_rx_feed(&rx, "\x7e\x02\x03\x00"[i]));
	ASSERT_TRUE(ph_rx_mid_frame(&rx));
	ASSERT_EQ(PH_RX_FRAME, ph_rx_gap(&rx));
	ASSERT_EQ(4, ph_rx_payload_len(&rx));
	ASSERT_EQ(0, memcmp(buf, "\x7e\x02\x03\x00", 4));
	ASSERT_FALSE(ph_rx_mid_frame(&rx));
	/* A second gap: nothing more, and the frame is wiped. */
	ASSERT_EQ(PH_RX_NONE, ph_rx_gap(&rx));
	ASSERT_TRUE(all_zero(buf, sizeof(buf)));
	/* Over the limit: too long, at the gap. */
	for (i = 0; i < 5; i++)
		ASSERT_EQ(PH_RX_NONE, ph_rx_feed(&rx, 0x11));
	ASSERT_EQ(PH_RX_TOO_LONG, ph_rx_gap(&rx));
	ASSERT_TRUE(all_zero(buf, sizeof(buf)));
	ASSERT_EQ(PH_RX_NONE, ph_rx_feed(&rx, 0x22));
	ASSERT_EQ(PH_RX_FRAME, ph_rx_gap(&rx));
	ASSERT_EQ(1, ph_rx_payload_len(&rx));
}

TEST(hdlc_wrapper)
{
	static const u8 bad_fcs[] = { 0x7e, 0x41, 0x00, 0x00, 0x7e };
	static const u8 too_short[] = { 0x7e, 0x41, 0x7e };
	static const u8 abort_seq[] = { 0x7e, 0x41, 0x7d, 0x7e };
	u8 out[PH_FRAMING_ENCODED_MAX(8)];
	u8 buf[PH_RX_BUF(4)];
	struct ph_rx rx;
	int i, n;

	expect_wire(_metadata, PH_FRAMING_HDLC, false, bad_fcs,
		    sizeof(bad_fcs), PH_RX_BAD_FCS, NULL, 0);
	expect_wire(_metadata, PH_FRAMING_HDLC, false, too_short,
		    sizeof(too_short), PH_RX_TOO_SHORT, NULL, 0);
	expect_wire(_metadata, PH_FRAMING_HDLC, false, abort_seq,
		    sizeof(abort_seq), PH_RX_ABORT, NULL, 0);

	/* Too long for 4; a gap changes nothing in hdlc, even mid-frame. */
	n = ph_framing_encode(PH_FRAMING_HDLC, false, out, sizeof(out),
			      (const u8 *)"12345", 5);
	ASSERT_LT(0, n);
	ASSERT_EQ(0, ph_rx_init(&rx, PH_FRAMING_HDLC, true, buf, 4));
	for (i = 0; i < n - 1; i++) {
		ASSERT_EQ(PH_RX_NONE, ph_rx_feed(&rx, out[i]));
		ASSERT_FALSE(ph_rx_mid_frame(&rx));
		ASSERT_EQ(PH_RX_NONE, ph_rx_gap(&rx));
	}
	ASSERT_EQ(PH_RX_TOO_LONG, ph_rx_feed(&rx, out[n - 1]));
	n = ph_framing_encode(PH_FRAMING_HDLC, false, out, sizeof(out),
			      (const u8 *)"1234", 4);
	for (i = 0; i < n - 1; i++)
		ASSERT_EQ(PH_RX_NONE, ph_rx_feed(&rx, out[i]));
	ASSERT_EQ(PH_RX_NONE, ph_rx_gap(&rx));
	ASSERT_EQ(PH_RX_FRAME, ph_rx_feed(&rx, out[n - 1]));
	ASSERT_EQ(4, ph_rx_payload_len(&rx));
	ASSERT_EQ(0, memcmp(buf, "1234", 4));
	/* The buffer is the deframer's: released through the wrapper. */
	ph_rx_release(&rx);
	ASSERT_TRUE(all_zero(buf, sizeof(buf)));
}

TEST(encoder_refusals)
{
	u8 payload[PH_PAYLOAD_MAX + 1];
	u8 *out = malloc(PH_FRAMING_ENCODED_MAX(70000));
	size_t size = PH_FRAMING_ENCODED_MAX(70000);
	int f;

	ASSERT_NE(NULL, out);
	memset(payload, 0x41, sizeof(payload));
	memset(out, 0xee, size);

	/* stx-etx cannot carry STX or ETX, wherever they are. */
	payload[0] = PH_STX;
	ASSERT_EQ(-EILSEQ, ph_framing_encode(PH_FRAMING_STX_ETX, true, out,
					     size, payload, 8));
	payload[0] = 0x41;
	payload[7] = PH_ETX;
	ASSERT_EQ(-EILSEQ, ph_framing_encode(PH_FRAMING_STX_ETX, false, out,
					     size, payload, 8));
	payload[7] = 0x41;
	ASSERT_EQ(0xee, out[0]);
	/* Every other framing carries them. */
	payload[3] = PH_STX;
	payload[4] = PH_ETX;
	for (f = 0; f < __PH_FRAMING_MAX; f++)
		if (f != PH_FRAMING_STX_ETX)
			ASSERT_LT(0, ph_framing_encode(f, true, out, size,
						       payload, 8));
	payload[3] = 0x41;
	payload[4] = 0x41;

	for (f = 0; f < __PH_FRAMING_MAX; f++) {
		/* Over PH_PAYLOAD_MAX, over 65535: no framing takes it. */
		ASSERT_EQ(-EMSGSIZE, ph_framing_encode(f, true, out, size,
						       payload,
						       PH_PAYLOAD_MAX + 1));
		ASSERT_EQ(-EMSGSIZE, ph_framing_encode(f, true, out, size,
						       payload, 65536));
		/* The buffer must hold the worst case. */
		ASSERT_EQ(-ENOSPC, ph_framing_encode(f, true, out,
			  ph_framing_encoded_max(f, true, 8) - 1, payload, 8));
		ASSERT_LT(0, ph_framing_encode(f, true, out,
			  ph_framing_encoded_max(f, true, 8), payload, 8));
		/* The limit itself is carried. */
		ASSERT_LE(PH_PAYLOAD_MAX,
			  ph_framing_encode(f, true, out, size, payload,
					    PH_PAYLOAD_MAX));
	}
	ASSERT_EQ(-EINVAL, ph_framing_encode(__PH_FRAMING_MAX, false, out,
					     size, payload, 1));

	/* gap: an empty payload is nothing at all on the wire. */
	memset(out, 0xee, 4);
	ASSERT_EQ(0, ph_framing_encode(PH_FRAMING_GAP, false, out, 0,
				       NULL, 0));
	ASSERT_EQ(0xee, out[0]);
	free(out);
}

TEST(wiped_after_release_and_drops)
{
	static const u8 nc_lrc[] = {
		0x02, 0x31, 0x32, 0x33, 0x34, 0x4e, 0x43, 0x03, 0x0a,
	};
	u8 buf[PH_RX_BUF(16)];
	struct ph_rx rx;
	size_t i;

	memset(buf, 0, sizeof(buf));
	ASSERT_EQ(0, ph_rx_init(&rx, PH_FRAMING_STX_ETX, true, buf, 16));

	/* Delivered: kept until released. */
	for (i = 0; i < sizeof(nc_lrc) - 1; i++)
		ASSERT_EQ(PH_RX_NONE, ph_rx_feed(&rx, nc_lrc[i]));
	ASSERT_EQ(PH_RX_FRAME, ph_rx_feed(&rx, nc_lrc[i]));
	ASSERT_EQ(0, memcmp(buf, nc, NC_LEN));
	ph_rx_release(&rx);
	EXPECT_TRUE(all_zero(buf, sizeof(buf)));

	/* Not released: the next byte wipes it, junk or not. */
	for (i = 0; i < sizeof(nc_lrc); i++)
		ph_rx_feed(&rx, nc_lrc[i]);
	ASSERT_EQ(PH_RX_NONE, ph_rx_feed(&rx, 0x06));
	EXPECT_TRUE(all_zero(buf, sizeof(buf)));
	/* So does a gap. */
	for (i = 0; i < sizeof(nc_lrc); i++)
		ph_rx_feed(&rx, nc_lrc[i]);
	ASSERT_EQ(PH_RX_NONE, ph_rx_gap(&rx));
	EXPECT_TRUE(all_zero(buf, sizeof(buf)));

	/* Bad LRC: wiped when it ends. */
	for (i = 0; i < sizeof(nc_lrc) - 1; i++)
		ph_rx_feed(&rx, nc_lrc[i]);
	ASSERT_EQ(PH_RX_BAD_LRC, ph_rx_feed(&rx, 0x0b));
	EXPECT_TRUE(all_zero(buf, sizeof(buf)));

	/* Truncated by STX, by a gap, cut by a reset. */
	for (i = 0; i < 5; i++)
		ph_rx_feed(&rx, nc_lrc[i]);
	ASSERT_EQ(PH_RX_TRUNCATED, ph_rx_feed(&rx, PH_STX));
	EXPECT_TRUE(all_zero(buf, sizeof(buf)));
	for (i = 1; i < 5; i++)
		ph_rx_feed(&rx, nc_lrc[i]);
	ASSERT_EQ(PH_RX_TRUNCATED, ph_rx_gap(&rx));
	EXPECT_TRUE(all_zero(buf, sizeof(buf)));
	for (i = 0; i < 5; i++)
		ph_rx_feed(&rx, nc_lrc[i]);
	ph_rx_reset(&rx);
	EXPECT_TRUE(all_zero(buf, sizeof(buf)));
	ASSERT_FALSE(ph_rx_mid_frame(&rx));

	/* Too long: wiped, the whole buffer was filled. */
	ph_rx_feed(&rx, PH_STX);
	for (i = 0; i < 40; i++)
		ph_rx_feed(&rx, 0x55);
	ph_rx_feed(&rx, PH_ETX);
	ASSERT_EQ(PH_RX_TOO_LONG, ph_rx_feed(&rx, 0x00));
	EXPECT_TRUE(all_zero(buf, sizeof(buf)));
}

TEST(init_clamps_max_payload)
{
	u8 *buf = malloc(PH_RX_BUF(PH_PAYLOAD_MAX));
	struct ph_rx rx;
	int f;

	ASSERT_NE(NULL, buf);
	for (f = 0; f < __PH_FRAMING_MAX; f++) {
		ASSERT_EQ(0, ph_rx_init(&rx, f, false, buf, 0xffff));
		ASSERT_EQ(PH_PAYLOAD_MAX, rx.max_payload);
	}
	/* len16: a count of PH_PAYLOAD_MAX + 1 is over the clamped limit. */
	ASSERT_EQ(0, ph_rx_init(&rx, PH_FRAMING_STX_LEN, false, buf, 0xffff));
	ph_rx_feed(&rx, PH_STX);
	ph_rx_feed(&rx, (PH_PAYLOAD_MAX + 1) >> 8);
	ASSERT_EQ(PH_RX_TOO_LONG, ph_rx_feed(&rx, (PH_PAYLOAD_MAX + 1) & 0xff));
	free(buf);
}

/* The same tests in every framing, with several payload limits. */
FIXTURE(rx) {
	struct ph_rx rx;
	enum ph_framing f;
	bool lrc;
	u16 max;
	u8 *buf;
	struct rx_log log;
	struct line l;
	u8 a[PH_PAYLOAD_MAX + 2];
	u8 b[PH_PAYLOAD_MAX + 2];
};

FIXTURE_VARIANT(rx) {
	enum ph_framing framing;
	bool lrc;
	u16 max_payload;
};

#define RX_VARIANT(name, fr, l, max)			\
	FIXTURE_VARIANT_ADD(rx, name) {			\
		.framing = fr,				\
		.lrc = l,				\
		.max_payload = max,			\
	}

RX_VARIANT(hdlc_1024, PH_FRAMING_HDLC, false, 1024);
RX_VARIANT(stx_etx_1, PH_FRAMING_STX_ETX, false, 1);
RX_VARIANT(stx_etx_1024, PH_FRAMING_STX_ETX, false, 1024);
RX_VARIANT(stx_etx_lrc_1, PH_FRAMING_STX_ETX, true, 1);
RX_VARIANT(stx_etx_lrc_1024, PH_FRAMING_STX_ETX, true, 1024);
RX_VARIANT(stx_etx_lrc_4096, PH_FRAMING_STX_ETX, true, 4096);
RX_VARIANT(stx_len_1, PH_FRAMING_STX_LEN, false, 1);
RX_VARIANT(stx_len_1024, PH_FRAMING_STX_LEN, false, 1024);
RX_VARIANT(stx_len_4096, PH_FRAMING_STX_LEN, false, 4096);
RX_VARIANT(len16_1, PH_FRAMING_LEN16, false, 1);
RX_VARIANT(len16_1024, PH_FRAMING_LEN16, false, 1024);
RX_VARIANT(len16_4096, PH_FRAMING_LEN16, false, 4096);
RX_VARIANT(gap_1, PH_FRAMING_GAP, false, 1);
RX_VARIANT(gap_1024, PH_FRAMING_GAP, false, 1024);
RX_VARIANT(gap_4096, PH_FRAMING_GAP, false, 4096);

FIXTURE_SETUP(rx)
{
	size_t size = PH_RX_BUF(variant->max_payload);

	self->f = variant->framing;
	self->lrc = variant->lrc;
	self->max = variant->max_payload;
	self->buf = malloc(size + GUARD_SIZE);
	ASSERT_NE(NULL, self->buf);
	memset(self->buf, 0, size);
	memset(self->buf + size, GUARD_BYTE, GUARD_SIZE);
	ASSERT_EQ(0, ph_rx_init(&self->rx, self->f, self->lrc, self->buf,
				self->max));
	log_clear(&self->log);
	self->l.n = 0;
	rng_state = 0x2545f491 ^ (self->max << 4) ^ (self->f << 1) ^ self->lrc;
}

FIXTURE_TEARDOWN(rx)
{
	size_t size = PH_RX_BUF(self->max);
	int i;

	if (!self->buf)
		return;
	for (i = 0; i < GUARD_SIZE; i++)
		EXPECT_EQ(GUARD_BYTE, self->buf[size + i]);
	free(self->buf);
}

static void restart(FIXTURE_DATA(rx) *self)
{
	ph_rx_reset(&self->rx);
	log_clear(&self->log);
	self->l.n = 0;
}

/* Encode, feed, and expect exactly one good frame at its end. */
static void round_trip(struct __test_metadata *_metadata,
		       FIXTURE_DATA(rx) *self, const u8 *payload, size_t len)
{
	size_t at;

	restart(self);
	at = line_frame(&self->l, self->f, self->lrc, payload, len);
	feed(&self->rx, &self->log, &self->l);
	if (self->f == PH_FRAMING_GAP && !len) {
		/* Nothing on the wire, nothing received. */
		ASSERT_EQ(0, self->log.n);
		return;
	}
	ASSERT_EQ(1, self->log.n);
	check_frame(_metadata, &self->log, 0, at, payload, len);
}

TEST_F(rx, every_single_byte_payload)
{
	int c, n;
	u8 out[8];

	for (c = 0; c < 256; c++) {
		self->a[0] = c;
		if (self->f == PH_FRAMING_STX_ETX &&
		    (c == PH_STX || c == PH_ETX)) {
			n = ph_framing_encode(self->f, self->lrc, out,
					      sizeof(out), self->a, 1);
			ASSERT_EQ(-EILSEQ, n);
			continue;
		}
		round_trip(_metadata, self, self->a, 1);
		ASSERT_EQ(1, ph_rx_payload_len(&self->rx));
		ASSERT_EQ(c, self->buf[0]);
	}
}

TEST_F(rx, empty_payload)
{
	round_trip(_metadata, self, NULL, 0);
}

TEST_F(rx, max_payload_exact)
{
	fill_random(self->a, self->max, self->f);
	round_trip(_metadata, self, self->a, self->max);
	ASSERT_EQ(self->max, ph_rx_payload_len(&self->rx));
}

TEST_F(rx, random_round_trips)
{
	size_t end[64], len[64], off[64], used = 0;
	u8 *pool = malloc(64 * (size_t)PH_PAYLOAD_MAX);
	int i, k;

	ASSERT_NE(NULL, pool);
	for (k = 0; k < 8; k++) {
		/* Frames back to back, as a busy line carries them. */
		restart(self);
		used = 0;
		for (i = 0; i < 64; i++) {
			len[i] = rng() % (self->max + 1u);
			if (self->f == PH_FRAMING_GAP && !len[i])
				len[i] = 1;
			off[i] = used;
			fill_random(pool + used, len[i], self->f);
			used += len[i];
			if (self->l.n + PH_FRAMING_ENCODED_MAX(len[i]) + 1 >
			    LINE_SIZE)
				break;
			end[i] = line_frame(&self->l, self->f, self->lrc,
					    pool + off[i], len[i]);
		}
		feed(&self->rx, &self->log, &self->l);
		ASSERT_EQ(i, self->log.n);
		while (i--)
			check_frame(_metadata, &self->log, i, end[i],
				    pool + off[i], len[i]);
	}
	free(pool);
}

TEST_F(rx, one_past_max_payload)
{
	size_t len = self->max + 1, at, i;

	/*
	 * Too long, then a good frame: dropped once, then in step. (No STX
	 * in stx-len's long body: it is hunted through, see below.)
	 */
	fill_random(self->a, len, self->f == PH_FRAMING_STX_LEN ?
		    PH_FRAMING_STX_ETX : self->f);
	fill_random(self->b, self->max, self->f);
	at = line_frame(&self->l, self->f, self->lrc, self->a, len);
	/* stx-len reports it at the count, before the payload. */
	if (self->f == PH_FRAMING_STX_LEN)
		at = 2;
	line_frame(&self->l, self->f, self->lrc, self->b, self->max);
	feed(&self->rx, &self->log, &self->l);
	ASSERT_EQ(2, self->log.n);
	check_event(_metadata, &self->log, 0, at, PH_RX_TOO_LONG);
	check_frame(_metadata, &self->log, 1, self->l.n - 1, self->b,
		    self->max);

	/* Far past it, and every byte wiped when dropped. */
	restart(self);
	for (i = 0; i < 2 * self->max + 100u; i++)
		self->a[i % sizeof(self->a)] = 0x5a;
	if (self->f == PH_FRAMING_STX_ETX) {
		line_byte(&self->l, PH_STX);
		for (i = 0; i < 2 * self->max + 100u; i++)
			line_byte(&self->l, 0x5a);
		line_byte(&self->l, PH_ETX);
		if (self->lrc)
			line_byte(&self->l, 0x00);
		feed(&self->rx, &self->log, &self->l);
		ASSERT_EQ(1, self->log.n);
		check_event(_metadata, &self->log, 0, self->l.n - 1,
			    PH_RX_TOO_LONG);
		ASSERT_TRUE(all_zero(self->buf, PH_RX_BUF(self->max)));
	}
}

TEST_F(rx, garbage_then_gap_then_frame)
{
	u8 junk[300];
	size_t n, at, i;
	int round;

	for (round = 0; round < 300; round++) {
		restart(self);
		n = 1 + rng() % sizeof(junk);
		for (i = 0; i < n; i++)
			junk[i] = rng();
		/* Bias towards the bytes that mean something. */
		for (i = 0; i < n / 8; i++)
			junk[rng() % n] = "\x02\x03\x7e\x7d\x00\xff"[rng() % 6];
		line_bytes(&self->l, junk, n);
		line_gap(&self->l);
		fill_random(self->a, self->max < 8 ? self->max : 8, self->f);
		at = line_frame(&self->l, self->f, self->lrc, self->a,
				self->max < 8 ? self->max : 8);
		feed(&self->rx, &self->log, &self->l);
		ASSERT_LE(1, self->log.n);
		check_frame(_metadata, &self->log, self->log.n - 1, at,
			    self->a, self->max < 8 ? self->max : 8);
		/* Before it: only what the junk itself made. */
		for (i = 0; i + 1 < self->log.n; i++)
			ASSERT_GE(n + (self->f == PH_FRAMING_HDLC),
				  self->log.at[i]);
	}
}

TEST_F(rx, junk_then_frame_without_gap)
{
	u8 junk[64];
	size_t n, at, i;
	int round;

	for (round = 0; round < 300; round++) {
		restart(self);
		n = 1 + rng() % sizeof(junk);
		for (i = 0; i < n; i++) {
			do
				junk[i] = rng();
			while (junk[i] == PH_STX || junk[i] == PH_ETX ||
			       junk[i] == PH_FLAG || junk[i] == PH_ESC);
		}
		/* A frame cut short, but in stx-len (junk) and len16. */
		if (self->f == PH_FRAMING_HDLC)
			line_byte(&self->l, PH_FLAG);
		else if (self->f == PH_FRAMING_STX_ETX)
			line_byte(&self->l, PH_STX);
		else if (self->f == PH_FRAMING_LEN16)
			n = 1;
		line_bytes(&self->l, junk, n);
		self->a[0] = round;
		if (self->f == PH_FRAMING_STX_ETX &&
		    (self->a[0] == PH_STX || self->a[0] == PH_ETX))
			self->a[0] = 0x41;
		at = line_frame(&self->l, self->f, self->lrc, self->a, 1);
		feed(&self->rx, &self->log, &self->l);

		switch (self->f) {
		case PH_FRAMING_HDLC:
			/* The frame's opening flag ends the broken one. */
			ASSERT_EQ(2, self->log.n);
			ASSERT_NE(PH_RX_FRAME, self->log.ev[0]);
			ASSERT_EQ(n + 1, self->log.at[0]);
			break;
		case PH_FRAMING_STX_ETX:
			/* The new STX cut the old frame. */
			ASSERT_EQ(2, self->log.n);
			check_event(_metadata, &self->log, 0, n + 1,
				    PH_RX_TRUNCATED);
			break;
		case PH_FRAMING_STX_LEN:
			/* Bytes outside a frame are ignored. */
			ASSERT_EQ(1, self->log.n);
			break;
		case PH_FRAMING_LEN16:
			/*
			 * One stray byte and every count after it is read
			 * wrong: the frame is lost, until a gap.
			 */
			for (i = 0; i < self->log.n; i++)
				ASSERT_FALSE(self->log.ev[i] == PH_RX_FRAME &&
					     self->log.at[i] == at);
			line_gap(&self->l);
			n = self->l.n;
			at = line_frame(&self->l, self->f, self->lrc, self->a,
					1);
			log_clear(&self->log);
			feed_range(&self->rx, &self->log, &self->l, n - 1,
				   self->l.n);
			ASSERT_GE(2, self->log.n);
			break;
		default:
			/* Without silence between, junk and frame are one. */
			ASSERT_EQ(1, self->log.n);
			memmove(self->a + n, self->a, 1);
			memcpy(self->a, junk, n);
			if (n + 1 <= self->max) {
				check_frame(_metadata, &self->log, 0, at,
					    self->a, n + 1);
			} else {
				check_event(_metadata, &self->log, 0, at,
					    PH_RX_TOO_LONG);
			}
			continue;
		}
		check_frame(_metadata, &self->log, self->log.n - 1, at,
			    self->a, 1);
	}
}

TEST_F(rx, gap_at_every_point_of_a_frame)
{
	size_t len = self->max < 12 ? self->max : 12;
	u8 out[PH_FRAMING_ENCODED_MAX(12)];
	size_t cut, at, i;
	int n;

	fill_random(self->a, len, self->f);
	/* Keep STX out of stx-len's body here: no false start after a cut. */
	for (i = 0; i < len; i++)
		if (self->a[i] == PH_STX)
			self->a[i] = 0x41;
	self->b[0] = 0xb0;
	n = ph_framing_encode(self->f, self->lrc, out, sizeof(out), self->a,
			      len);
	ASSERT_LT(0, n);

	for (cut = 1; cut < (size_t)n; cut++) {
		/* Silence inside the frame, then its rest, silence, another. */
		restart(self);
		line_bytes(&self->l, out, cut);
		line_gap(&self->l);
		line_bytes(&self->l, out + cut, n - cut);
		line_gap(&self->l);
		at = line_frame(&self->l, self->f, self->lrc, self->b, 1);
		feed(&self->rx, &self->log, &self->l);

		switch (self->f) {
		case PH_FRAMING_HDLC:
			/* Gaps mean nothing: the frame arrives whole. */
			ASSERT_EQ(2, self->log.n);
			check_frame(_metadata, &self->log, 0, n, self->a, len);
			break;
		case PH_FRAMING_GAP:
			/* Two frames: before and after the silence. */
			ASSERT_EQ(3, self->log.n);
			check_frame(_metadata, &self->log, 0, cut, self->a,
				    cut);
			check_frame(_metadata, &self->log, 1, n + 1,
				    self->a + cut, len - cut);
			break;
		case PH_FRAMING_STX_ETX:
			/* Dropped at the gap; the rest, without STX, ignored. */
			ASSERT_EQ(2, self->log.n);
			check_event(_metadata, &self->log, 0, cut,
				    PH_RX_TRUNCATED);
			break;
		default:
			/* Dropped at the gap; the rest may look like anything. */
			ASSERT_LE(2, self->log.n);
			check_event(_metadata, &self->log, 0, cut,
				    PH_RX_TRUNCATED);
			break;
		}
		check_frame(_metadata, &self->log, self->log.n - 1, at,
			    self->b, 1);
	}
}

/* A flip of @c that is neither STX nor ETX. */
static u8 flip(u8 c)
{
	u8 d = c ^ 0x40;

	return d == PH_STX || d == PH_ETX ? c ^ 0x80 : d;
}

TEST_F(rx, corrupt_byte_then_frame)
{
	size_t len = self->max < 6 ? self->max : 6;
	size_t at, n, i, first;
	bool checked;
	u8 c;

	/* Only hdlc, stx-len and stx-etx with lrc check their frames. */
	checked = self->f == PH_FRAMING_HDLC || self->f == PH_FRAMING_STX_LEN ||
		  (self->f == PH_FRAMING_STX_ETX && self->lrc);
	first = self->f == PH_FRAMING_STX_ETX ? 1 :
		self->f == PH_FRAMING_STX_LEN ? 3 :
		self->f == PH_FRAMING_LEN16 ? 2 : 0;
	fill_random(self->a, len, self->f);
	self->b[0] = 0x42;
	restart(self);
	n = ph_framing_encoded_max(self->f, self->lrc, len);
	if (self->f == PH_FRAMING_HDLC)
		n = line_frame(&self->l, self->f, false, self->a, len) + 1;

	for (i = 0; i < n; i++) {
		restart(self);
		line_frame(&self->l, self->f, self->lrc, self->a, len);
		c = self->l.s[i];
		switch (self->f) {
		case PH_FRAMING_HDLC:
			/* Not a flag, an escape, or a byte becoming one. */
			if (c == PH_FLAG || c == PH_ESC ||
			    flip(c) == PH_FLAG || flip(c) == PH_ESC)
				continue;
			break;
		case PH_FRAMING_STX_ETX:
			/* Payload, and the LRC after ETX. */
			if (i < first || i == first + len)
				continue;
			break;
		default:
			/* Payload, and in stx-len the LRC before ETX. */
			if (i < first || i >= first + len + checked)
				continue;
			break;
		}
		self->l.s[i] = flip(c);
		at = line_frame(&self->l, self->f, self->lrc, self->b, 1);
		feed(&self->rx, &self->log, &self->l);
		ASSERT_EQ(2, self->log.n);
		if (checked) {
			check_event(_metadata, &self->log, 0, n - 1,
				    self->f == PH_FRAMING_HDLC ?
				    PH_RX_BAD_FCS : PH_RX_BAD_LRC);
		} else {
			/* Nothing to tell: the changed payload arrives. */
			self->a[i - first] = flip(self->a[i - first]);
			check_frame(_metadata, &self->log, 0,
				    n - (self->f != PH_FRAMING_GAP), self->a,
				    len);
			self->a[i - first] = c;
		}
		check_frame(_metadata, &self->log, 1, at, self->b, 1);
		/* The bad frame was wiped; the good one (and FCS) remains. */
		c = 1 + (self->f == PH_FRAMING_HDLC ? PH_FCS_LEN : 0);
		ASSERT_TRUE(all_zero(self->buf + c, PH_RX_BUF(self->max) - c));
	}
}

TEST_F(rx, reset_mid_frame)
{
	size_t len = self->max < 16 ? self->max : 16;
	size_t n, i;

	fill_random(self->a, len, self->f);
	restart(self);
	line_frame(&self->l, self->f, self->lrc, self->a, len);
	n = self->l.n;
	/* A break anywhere inside: nothing of the frame is delivered. */
	for (i = 1; i + 1 < n; i++) {
		ph_rx_reset(&self->rx);
		log_clear(&self->log);
		feed_range(&self->rx, &self->log, &self->l, 0, i);
		ph_rx_reset(&self->rx);
		ASSERT_TRUE(all_zero(self->buf, PH_RX_BUF(self->max)));
		ASSERT_FALSE(ph_rx_mid_frame(&self->rx));
		ASSERT_EQ(0, self->log.n);
		round_trip(_metadata, self, self->a, len);
		restart(self);
		line_frame(&self->l, self->f, self->lrc, self->a, len);
	}
}

TEST_F(rx, frame_wiped_after_release_and_next_call)
{
	size_t len = self->max < 8 ? self->max : 8;
	size_t size = PH_RX_BUF(self->max);

	memset(self->a, 0x77, len);
	round_trip(_metadata, self, self->a, len);
	ASSERT_EQ(0, memcmp(self->buf, self->a, len));
	ph_rx_release(&self->rx);
	ASSERT_TRUE(all_zero(self->buf, size));

	round_trip(_metadata, self, self->a, len);
	/* Silence after a frame: in hdlc the frame stays, else it goes. */
	ph_rx_gap(&self->rx);
	if (self->f == PH_FRAMING_HDLC)
		ph_rx_feed(&self->rx, PH_FLAG);
	ASSERT_TRUE(all_zero(self->buf, size));

	round_trip(_metadata, self, self->a, len);
	ph_rx_feed(&self->rx, 0x00);
	ASSERT_TRUE(all_zero(self->buf, size));
}

TEST_HARNESS_MAIN
