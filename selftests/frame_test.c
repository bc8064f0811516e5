// SPDX-License-Identifier: GPL-2.0
/*
 * Host unit tests of the RFC 1662 framer (kmod/frame.c) and of the userspace
 * CRC-CCITT twin (daemon/crc_ccitt.c), with the kselftest harness.
 *
 * Every test asserts exact outcomes: which event, at which byte of the
 * stream, with which payload. The deframer's buffer is allocated with exactly
 * PH_DEFRAMER_BUF(max_payload) bytes followed by a guard area that must be
 * untouched at teardown.
 */
#include <stdlib.h>
#include <string.h>

#include "frame.h"

#include "kselftest_harness.h"
#include "test_rxlog.h"

#define WIRE_SIZE	(4 * PH_ENCODED_MAX(PH_PAYLOAD_MAX) + 4096)
#define GUARD_SIZE	64
#define GUARD_BYTE	0xa5


/* A stream of bytes on the line, built piece by piece. */
struct wire {
	size_t n;
	u8 b[WIRE_SIZE];
};

#include "test_rng.h"

static void fill_random(u8 *p, size_t n)
{
	while (n--)
		*p++ = rng();
}

/* Reference CRC: one bit at a time, straight from the definition. */
static u16 crc_bitwise(u16 crc, const u8 *p, size_t n)
{
	int i;

	while (n--) {
		crc ^= *p++;
		for (i = 0; i < 8; i++)
			crc = (crc >> 1) ^ ((crc & 1) ? 0x8408 : 0);
	}
	return crc;
}

static bool is_special(u8 c)
{
	return c == PH_FLAG || c == PH_ESC;
}

/* Exact encoded size of a payload: flags, bytes, FCS, one extra per escape. */
static size_t encoded_len(const u8 *payload, size_t len)
{
	u16 fcs = ph_fcs(payload, len);
	size_t n = 2 + len + PH_FCS_LEN;
	size_t i;

	for (i = 0; i < len; i++)
		n += is_special(payload[i]);
	return n + is_special(fcs & 0xff) + is_special(fcs >> 8);
}

static void log_clear(struct rx_log *log)
{
	log->pos = 0;
	log->n = 0;
	log->full = false;
	log->used = 0;
}

static void feed(struct ph_deframer *d, struct rx_log *log,
		 const u8 *p, size_t n)
{
	enum ph_rx_event ev;
	size_t i, len;

	for (i = 0; i < n; i++, log->pos++) {
		ev = ph_deframer_feed(d, p[i]);
		if (ev == PH_RX_NONE)
			continue;
		if (log->n == MAX_EVENTS) {
			log->full = true;
			continue;
		}
		log->ev[log->n] = ev;
		log->at[log->n] = log->pos;
		log->len[log->n] = 0;
		log->off[log->n] = log->used;
		if (ev == PH_RX_FRAME) {
			len = ph_deframer_payload_len(d);
			if (log->used + len > ARENA_SIZE) {
				log->full = true;
				continue;
			}
			memcpy(log->arena + log->used, d->buf, len);
			log->len[log->n] = len;
			log->used += len;
		}
		log->n++;
	}
}

static void wire_put(struct wire *w, const void *p, size_t n)
{
	memcpy(w->b + w->n, p, n);
	w->n += n;
}

static void wire_byte(struct wire *w, u8 c)
{
	w->b[w->n++] = c;
}

static size_t wire_frame(struct wire *w, const u8 *payload, size_t len)
{
	size_t n = ph_frame_encode(w->b + w->n, payload, len);

	w->n += n;
	return n;
}

/* A frame whose opening flag is the previous frame's closing one. */
static void wire_frame_shared(struct wire *w, const u8 *payload, size_t len)
{
	size_t n = ph_frame_encode(w->b + w->n, payload, len);

	memmove(w->b + w->n, w->b + w->n + 1, n - 1);
	w->n += n - 1;
}

/* Raw frame content (FCS included, chosen by the caller), escaped. */
static void wire_escaped(struct wire *w, const u8 *p, size_t n)
{
	while (n--) {
		if (is_special(*p)) {
			wire_byte(w, PH_ESC);
			wire_byte(w, *p++ ^ PH_ESC_XOR);
		} else {
			wire_byte(w, *p++);
		}
	}
}

TEST(crc_ccitt_test_vectors)
{
	static const u8 check[] = "123456789";
	u8 frame[11];
	u16 fcs;

	/* PPP FCS-16 (RFC 1662 appendix C) and CRC-16/KERMIT check values. */
	ASSERT_EQ(0x906e, crc_ccitt(0xffff, check, 9) ^ 0xffff);
	ASSERT_EQ(0x906e, ph_fcs(check, 9));
	ASSERT_EQ(0x2189, crc_ccitt(0, check, 9));
	ASSERT_EQ(0xffff, crc_ccitt(0xffff, check, 0));

	/* Payload plus FCS, low byte first, leaves the good residue. */
	fcs = ph_fcs(check, 9);
	memcpy(frame, check, 9);
	frame[9] = fcs & 0xff;
	frame[10] = fcs >> 8;
	ASSERT_EQ(0x6e, frame[9]);
	ASSERT_EQ(0x90, frame[10]);
	ASSERT_EQ(PH_FCS_GOOD, crc_ccitt(PH_FCS_INIT, frame, sizeof(frame)));
}

TEST(crc_ccitt_matches_bit_loop)
{
	u8 data[300];
	u16 init;
	size_t n;
	int i, c;

	/* Each table entry on its own, from several starting values. */
	for (c = 0; c < 256; c++) {
		data[0] = c;
		ASSERT_EQ(crc_bitwise(0, data, 1), crc_ccitt(0, data, 1));
		ASSERT_EQ(crc_bitwise(0xffff, data, 1),
			  crc_ccitt(0xffff, data, 1));
		ASSERT_EQ(crc_bitwise(c << 8 | c, data, 1),
			  crc_ccitt(c << 8 | c, data, 1));
	}
	for (i = 0; i < 1000; i++) {
		n = rng() % sizeof(data);
		init = rng();
		fill_random(data, n);
		ASSERT_EQ(crc_bitwise(init, data, n), crc_ccitt(init, data, n));
	}
}

TEST(empty_frame_bytes)
{
	static const u8 expect[] = { 0x7e, 0x00, 0x00, 0x7e };
	struct ph_deframer d;
	u8 out[PH_ENCODED_MAX(0)];
	u8 buf[PH_DEFRAMER_BUF(0)];
	int i;

	ASSERT_EQ(0x0000, ph_fcs(NULL, 0));
	ASSERT_EQ(sizeof(expect), ph_frame_encode(out, NULL, 0));
	ASSERT_EQ(0, memcmp(expect, out, sizeof(expect)));

	/* It decodes as a good empty frame, even with no payload room. */
	ph_deframer_init(&d, buf, 0);
	for (i = 0; i < 3; i++)
		ASSERT_EQ(PH_RX_NONE, ph_deframer_feed(&d, expect[i]));
	ASSERT_EQ(PH_RX_FRAME, ph_deframer_feed(&d, expect[3]));
	ASSERT_EQ(0, ph_deframer_payload_len(&d));
}

TEST(encoder_escapes_flag_and_escape_only)
{
	u8 payload[256], out[PH_ENCODED_MAX(256)], raw[258];
	size_t n, i, j;
	u16 fcs;

	for (i = 0; i < 256; i++)
		payload[i] = i;
	fcs = ph_fcs(payload, 256);
	memcpy(raw, payload, 256);
	raw[256] = fcs & 0xff;
	raw[257] = fcs >> 8;

	n = ph_frame_encode(out, payload, 256);
	ASSERT_EQ(encoded_len(payload, 256), n);
	ASSERT_EQ(PH_FLAG, out[0]);
	ASSERT_EQ(PH_FLAG, out[n - 1]);
	/* Unescape by hand: every byte but 0x7e/0x7d (controls too) verbatim. */
	for (i = 1, j = 0; i < n - 1; i++, j++) {
		ASSERT_NE(PH_FLAG, out[i]);
		ASSERT_LT(j, sizeof(raw));
		if (out[i] == PH_ESC) {
			ASSERT_TRUE(is_special(raw[j]));
			ASSERT_EQ(raw[j] ^ PH_ESC_XOR, out[++i]);
		} else {
			ASSERT_EQ(raw[j], out[i]);
		}
	}
	ASSERT_EQ(sizeof(raw), j);
}

TEST(decoder_accepts_any_escaped_byte)
{
	u8 payload[256], raw[258], buf[PH_DEFRAMER_BUF(256)];
	struct ph_deframer d;
	enum ph_rx_event ev;
	size_t i;
	u16 fcs;

	/*
	 * A peer with a full async control map escapes more than we do. Every
	 * byte is escaped here but 0x5e, whose escaped form would be a flag.
	 */
	for (i = 0; i < 256; i++)
		payload[i] = i;
	fcs = ph_fcs(payload, 256);
	memcpy(raw, payload, 256);
	raw[256] = fcs & 0xff;
	raw[257] = fcs >> 8;

	ph_deframer_init(&d, buf, 256);
	ASSERT_EQ(PH_RX_NONE, ph_deframer_feed(&d, PH_FLAG));
	for (i = 0; i < sizeof(raw); i++) {
		if (raw[i] == (PH_FLAG ^ PH_ESC_XOR)) {
			ev = ph_deframer_feed(&d, raw[i]);
		} else {
			ASSERT_EQ(PH_RX_NONE, ph_deframer_feed(&d, PH_ESC));
			ev = ph_deframer_feed(&d, raw[i] ^ PH_ESC_XOR);
		}
		ASSERT_EQ(PH_RX_NONE, ev);
	}
	ASSERT_EQ(PH_RX_FRAME, ph_deframer_feed(&d, PH_FLAG));
	ASSERT_EQ(256, ph_deframer_payload_len(&d));
	ASSERT_EQ(0, memcmp(payload, buf, 256));
}

TEST(init_clamps_max_payload)
{
	u8 *buf = malloc(PH_DEFRAMER_BUF(0xffff));
	u8 payload[PH_PAYLOAD_MAX + 1];
	u8 *out = malloc(PH_ENCODED_MAX(PH_PAYLOAD_MAX + 1));
	struct ph_deframer d;
	enum ph_rx_event ev = PH_RX_NONE;
	size_t n, i;

	ASSERT_NE(NULL, buf);
	ASSERT_NE(NULL, out);
	ph_deframer_init(&d, buf, 0xffff);
	ASSERT_EQ(PH_PAYLOAD_MAX, d.max_payload);

	memset(payload, 0x55, sizeof(payload));
	n = ph_frame_encode(out, payload, PH_PAYLOAD_MAX);
	for (i = 0; i < n; i++)
		ev = ph_deframer_feed(&d, out[i]);
	ASSERT_EQ(PH_RX_FRAME, ev);
	ASSERT_EQ(PH_PAYLOAD_MAX, ph_deframer_payload_len(&d));

	n = ph_frame_encode(out, payload, PH_PAYLOAD_MAX + 1);
	for (i = 0; i < n; i++)
		ev = ph_deframer_feed(&d, out[i]);
	ASSERT_EQ(PH_RX_TOO_LONG, ev);
	free(out);
	free(buf);
}

FIXTURE(deframer) {
	struct ph_deframer d;
	u16 max;
	u8 *buf;
	struct rx_log log;
	struct wire w;
	u8 a[PH_PAYLOAD_MAX + 2];
	u8 b[PH_PAYLOAD_MAX + 2];
};

FIXTURE_VARIANT(deframer) {
	u16 max_payload;
};

FIXTURE_VARIANT_ADD(deframer, max1) {
	.max_payload = 1,
};

FIXTURE_VARIANT_ADD(deframer, max1024) {
	.max_payload = PH_PAYLOAD_DEFAULT,
};

FIXTURE_VARIANT_ADD(deframer, max4096) {
	.max_payload = PH_PAYLOAD_MAX,
};

FIXTURE_SETUP(deframer)
{
	size_t size = PH_DEFRAMER_BUF(variant->max_payload);

	self->max = variant->max_payload;
	self->buf = malloc(size + GUARD_SIZE);
	ASSERT_NE(NULL, self->buf);
	memset(self->buf + size, GUARD_BYTE, GUARD_SIZE);
	ph_deframer_init(&self->d, self->buf, self->max);
	log_clear(&self->log);
	self->w.n = 0;
	rng_state = 0x2545f491 ^ self->max;
}

FIXTURE_TEARDOWN(deframer)
{
	size_t size = PH_DEFRAMER_BUF(self->max);
	int i;

	if (!self->buf)
		return;
	for (i = 0; i < GUARD_SIZE; i++)
		EXPECT_EQ(GUARD_BYTE, self->buf[size + i]);
	free(self->buf);
}

/* Encode @payload, feed it, and expect exactly one good frame at its end. */
static void round_trip(struct __test_metadata *_metadata,
		       FIXTURE_DATA(deframer) *self, const u8 *payload,
		       size_t len)
{
	size_t n;

	self->w.n = 0;
	log_clear(&self->log);
	n = wire_frame(&self->w, payload, len);
	ASSERT_EQ(encoded_len(payload, len), n);
	ASSERT_LE(n, PH_ENCODED_MAX(len));
	feed(&self->d, &self->log, self->w.b, n);
	ASSERT_EQ(1, self->log.n);
	check_frame(_metadata, &self->log, 0, n - 1, payload, len);
}

TEST_F(deframer, every_single_byte_payload)
{
	int c;

	for (c = 0; c < 256; c++) {
		self->a[0] = c;
		round_trip(_metadata, self, self->a, 1);
		ASSERT_EQ(1, ph_deframer_payload_len(&self->d));
		ASSERT_EQ(c, self->buf[0]);
	}
}

TEST_F(deframer, every_byte_value_in_one_payload)
{
	size_t n;
	int c;

	for (c = 0; c < 256; c++)
		self->a[c] = c;
	if (self->max >= 256) {
		round_trip(_metadata, self, self->a, 256);
		return;
	}
	n = wire_frame(&self->w, self->a, 256);
	ASSERT_EQ(encoded_len(self->a, 256), n);
	feed(&self->d, &self->log, self->w.b, n);
	ASSERT_EQ(1, self->log.n);
	check_event(_metadata, &self->log, 0, n - 1, PH_RX_TOO_LONG);
}

TEST_F(deframer, payload_all_flags)
{
	size_t n = self->max;
	u16 fcs;

	memset(self->a, PH_FLAG, n);
	fcs = ph_fcs(self->a, n);
	round_trip(_metadata, self, self->a, n);
	ASSERT_EQ(2 + 2 * n + 2 + is_special(fcs & 0xff) +
		  is_special(fcs >> 8), self->w.n);
}

TEST_F(deframer, payload_all_escapes)
{
	size_t n = self->max;
	u16 fcs;

	memset(self->a, PH_ESC, n);
	fcs = ph_fcs(self->a, n);
	round_trip(_metadata, self, self->a, n);
	ASSERT_EQ(2 + 2 * n + 2 + is_special(fcs & 0xff) +
		  is_special(fcs >> 8), self->w.n);
}

TEST_F(deframer, payload_flags_and_escapes_mixed)
{
	size_t i;

	for (i = 0; i < self->max; i++)
		self->a[i] = (rng() & 1) ? PH_FLAG : PH_ESC;
	round_trip(_metadata, self, self->a, self->max);
}

TEST_F(deframer, empty_payload)
{
	round_trip(_metadata, self, NULL, 0);
	ASSERT_EQ(4, self->w.n);
}

TEST_F(deframer, max_payload_exact)
{
	fill_random(self->a, self->max);
	round_trip(_metadata, self, self->a, self->max);
	ASSERT_EQ(self->max, ph_deframer_payload_len(&self->d));
}

TEST_F(deframer, one_past_max_payload)
{
	size_t len = self->max + 1;
	size_t n1, n2;

	/* Too long, then a good frame with its own flag. */
	fill_random(self->a, len);
	fill_random(self->b, self->max);
	n1 = wire_frame(&self->w, self->a, len);
	n2 = wire_frame(&self->w, self->b, self->max);
	feed(&self->d, &self->log, self->w.b, self->w.n);
	ASSERT_EQ(2, self->log.n);
	check_event(_metadata, &self->log, 0, n1 - 1, PH_RX_TOO_LONG);
	check_frame(_metadata, &self->log, 1, n1 + n2 - 1, self->b, self->max);

	/* Same, the good frame sharing the long one's closing flag. */
	self->w.n = 0;
	log_clear(&self->log);
	wire_frame(&self->w, self->a, len);
	wire_frame_shared(&self->w, self->b, self->max);
	feed(&self->d, &self->log, self->w.b, self->w.n);
	ASSERT_EQ(2, self->log.n);
	check_event(_metadata, &self->log, 0, n1 - 1, PH_RX_TOO_LONG);
	check_frame(_metadata, &self->log, 1, self->w.n - 1, self->b,
		    self->max);
}

TEST_F(deframer, far_past_max_payload)
{
	size_t len = 2 * self->max + 100, i;
	size_t n;

	/* Escapes keep being decoded while the frame is being discarded. */
	wire_byte(&self->w, PH_FLAG);
	for (i = 0; i < len; i++) {
		wire_byte(&self->w, PH_ESC);
		wire_byte(&self->w, (i & 1 ? PH_ESC : PH_FLAG) ^ PH_ESC_XOR);
	}
	wire_byte(&self->w, PH_FLAG);
	n = self->w.n;
	fill_random(self->b, self->max);
	wire_frame_shared(&self->w, self->b, self->max);
	feed(&self->d, &self->log, self->w.b, self->w.n);
	ASSERT_EQ(2, self->log.n);
	check_event(_metadata, &self->log, 0, n - 1, PH_RX_TOO_LONG);
	check_frame(_metadata, &self->log, 1, self->w.n - 1, self->b,
		    self->max);
}

TEST_F(deframer, repeated_flags)
{
	size_t len = self->max < 5 ? self->max : 5;
	size_t at;

	memcpy(self->a, "hello", len);
	wire_put(&self->w, "\x7e\x7e\x7e\x7e", 4);
	wire_frame(&self->w, self->a, len);
	at = self->w.n - 1;
	wire_put(&self->w, "\x7e\x7e\x7e\x7e", 4);
	feed(&self->d, &self->log, self->w.b, self->w.n);
	ASSERT_EQ(1, self->log.n);
	check_frame(_metadata, &self->log, 0, at, self->a, len);
}

TEST_F(deframer, frames_sharing_flags)
{
	size_t end[4];
	size_t la = self->max, lb = self->max < 3 ? self->max : 3;

	/* Long, short, empty, long: each must start from an empty buffer. */
	fill_random(self->a, la);
	fill_random(self->b, lb);
	wire_frame(&self->w, self->a, la);
	end[0] = self->w.n - 1;
	wire_frame_shared(&self->w, self->b, lb);
	end[1] = self->w.n - 1;
	wire_frame_shared(&self->w, NULL, 0);
	end[2] = self->w.n - 1;
	wire_frame_shared(&self->w, self->a, la);
	end[3] = self->w.n - 1;
	feed(&self->d, &self->log, self->w.b, self->w.n);
	ASSERT_EQ(4, self->log.n);
	check_frame(_metadata, &self->log, 0, end[0], self->a, la);
	check_frame(_metadata, &self->log, 1, end[1], self->b, lb);
	check_frame(_metadata, &self->log, 2, end[2], NULL, 0);
	check_frame(_metadata, &self->log, 3, end[3], self->a, la);
}

TEST_F(deframer, frame_not_delivered_twice)
{
	self->a[0] = 0x42;
	round_trip(_metadata, self, self->a, 1);
	/* Closing flags repeated: the frame stays as it was, no new event. */
	ASSERT_EQ(PH_RX_NONE, ph_deframer_feed(&self->d, PH_FLAG));
	ASSERT_EQ(PH_RX_NONE, ph_deframer_feed(&self->d, PH_FLAG));
	round_trip(_metadata, self, self->a, 1);
}

TEST_F(deframer, join_line_at_every_position)
{
	size_t la = self->max < 20 ? self->max : 20;
	size_t lb = self->max < 7 ? self->max : 7;
	size_t na, cut;
	u8 enc[PH_ENCODED_MAX(20)];

	/* Frame A has escapes (payload and FCS) so cuts land inside them. */
	fill_random(self->a, la);
	if (la > 2) {
		self->a[1] = PH_FLAG;
		self->a[2] = PH_ESC;
	}
	fill_random(self->b, lb);
	na = ph_frame_encode(enc, self->a, la);

	for (cut = 0; cut < na; cut++) {
		ph_deframer_reset(&self->d);
		log_clear(&self->log);
		self->w.n = 0;
		wire_put(&self->w, enc + cut, na - cut);
		wire_frame_shared(&self->w, self->b, lb);
		feed(&self->d, &self->log, self->w.b, self->w.n);

		if (cut <= 1) {
			/* Joined at (or just after) the opening flag. */
			ASSERT_EQ(2, self->log.n);
			check_frame(_metadata, &self->log, 0, na - cut - 1,
				    self->a, la);
		} else if (cut == na - 1) {
			/* Only the closing flag was seen: nothing to drop. */
			ASSERT_EQ(1, self->log.n);
		} else {
			ASSERT_EQ(2, self->log.n);
			ASSERT_NE(PH_RX_FRAME, self->log.ev[0]);
			ASSERT_EQ(na - cut - 1, self->log.at[0]);
		}
		check_frame(_metadata, &self->log, self->log.n - 1,
			    self->w.n - 1, self->b, lb);
	}
}

TEST_F(deframer, junk_before_first_flag)
{
	static const char text[] = "persohub noise";
	size_t at;

	/* Bytes before any flag are a broken frame, dropped at the flag. */
	wire_put(&self->w, text, sizeof(text) - 1);
	at = self->w.n;
	self->a[0] = 0x99;
	wire_frame(&self->w, self->a, 1);
	feed(&self->d, &self->log, self->w.b, self->w.n);
	ASSERT_NE(PH_FCS_GOOD, crc_ccitt(PH_FCS_INIT, (const u8 *)text,
					 sizeof(text) - 1));
	ASSERT_EQ(2, self->log.n);
	check_event(_metadata, &self->log, 0, at,
		    sizeof(text) - 1 > (size_t)PH_DEFRAMER_BUF(self->max) ?
		    PH_RX_TOO_LONG : PH_RX_BAD_FCS);
	check_frame(_metadata, &self->log, 1, self->w.n - 1, self->a, 1);
}

TEST_F(deframer, stray_byte_between_flags)
{
	wire_put(&self->w, "\x7e\x41\x7e", 3);
	wire_put(&self->w, "\x7d\x5e\x7e", 3);
	wire_put(&self->w, "\x7e\x7e", 2);
	feed(&self->d, &self->log, self->w.b, self->w.n);
	ASSERT_EQ(2, self->log.n);
	check_event(_metadata, &self->log, 0, 2, PH_RX_TOO_SHORT);
	check_event(_metadata, &self->log, 1, 5, PH_RX_TOO_SHORT);
}

TEST_F(deframer, noise_then_good_frame)
{
	u8 noise[64];
	size_t len, i, at;
	int round;

	for (round = 0; round < 200; round++) {
		len = 1 + rng() % sizeof(noise);
		for (i = 0; i < len; i++) {
			do
				noise[i] = rng();
			while (is_special(noise[i]));
		}
		ph_deframer_reset(&self->d);
		log_clear(&self->log);
		self->w.n = 0;
		wire_byte(&self->w, PH_FLAG);
		wire_put(&self->w, noise, len);
		at = self->w.n;
		self->a[0] = round;
		wire_frame(&self->w, self->a, 1);
		feed(&self->d, &self->log, self->w.b, self->w.n);

		ASSERT_EQ(2, self->log.n);
		if (len == 1)
			check_event(_metadata, &self->log, 0, at,
				    PH_RX_TOO_SHORT);
		else if (len > (size_t)PH_DEFRAMER_BUF(self->max))
			check_event(_metadata, &self->log, 0, at,
				    PH_RX_TOO_LONG);
		else if (crc_ccitt(PH_FCS_INIT, noise, len) != PH_FCS_GOOD)
			check_event(_metadata, &self->log, 0, at,
				    PH_RX_BAD_FCS);
		check_frame(_metadata, &self->log, 1, self->w.n - 1,
			    self->a, 1);
	}
}

TEST_F(deframer, abort_sequence)
{
	size_t at[5], i;

	/* Abort, then a frame opened by the abort's own flag. */
	wire_put(&self->w, "\x7e\x01\x7d", 3);
	wire_byte(&self->w, PH_FLAG);
	at[0] = self->w.n - 1;
	self->a[0] = 0x7d;
	wire_frame_shared(&self->w, self->a, 1);
	at[1] = self->w.n - 1;
	/* An abort right after a flag. */
	wire_put(&self->w, "\x7d\x7e", 2);
	at[2] = self->w.n - 1;
	/* An abort of a frame already too long: one event, the abort. */
	for (i = 0; i < self->max + 10u; i++)
		wire_byte(&self->w, 0x33);
	wire_put(&self->w, "\x7d\x7e", 2);
	at[3] = self->w.n - 1;
	wire_frame_shared(&self->w, self->a, 1);
	at[4] = self->w.n - 1;
	feed(&self->d, &self->log, self->w.b, self->w.n);

	ASSERT_EQ(5, self->log.n);
	check_event(_metadata, &self->log, 0, at[0], PH_RX_ABORT);
	check_frame(_metadata, &self->log, 1, at[1], self->a, 1);
	check_event(_metadata, &self->log, 2, at[2], PH_RX_ABORT);
	check_event(_metadata, &self->log, 3, at[3], PH_RX_ABORT);
	check_frame(_metadata, &self->log, 4, at[4], self->a, 1);
}

TEST_F(deframer, escaped_escape_is_data)
{
	u8 raw[3];
	u16 fcs;

	/* 0x7d 0x5d is a 0x7d byte, not a second escape. */
	raw[0] = PH_ESC;
	fcs = ph_fcs(raw, 1);
	raw[1] = fcs & 0xff;
	raw[2] = fcs >> 8;
	wire_byte(&self->w, PH_FLAG);
	wire_escaped(&self->w, raw, 3);
	wire_byte(&self->w, PH_FLAG);
	ASSERT_EQ(PH_ESC, self->w.b[1]);
	ASSERT_EQ(0x5d, self->w.b[2]);
	feed(&self->d, &self->log, self->w.b, self->w.n);
	ASSERT_EQ(1, self->log.n);
	check_frame(_metadata, &self->log, 0, self->w.n - 1, raw, 1);
}

TEST_F(deframer, every_bit_flip_of_a_small_frame)
{
	static const u8 sample[8] = { 0x01, 0x7e, 0x7d, 0xff,
				      0x20, 0x5e, 0x00, 0x41 };
	size_t la = self->max < 8 ? self->max : 8;
	size_t na, pos, i;
	u8 enc[PH_ENCODED_MAX(8)];
	int bit;

	memcpy(self->a, sample, la);
	self->b[0] = 0xbb;
	na = ph_frame_encode(enc, self->a, la);

	/* Flags and escapes included: a flip may split or merge frames. */
	for (pos = 0; pos < na; pos++) {
		for (bit = 0; bit < 8; bit++) {
			ph_deframer_reset(&self->d);
			log_clear(&self->log);
			self->w.n = 0;
			wire_put(&self->w, enc, na);
			self->w.b[pos] ^= 1 << bit;
			wire_frame(&self->w, self->b, 1);
			feed(&self->d, &self->log, self->w.b, self->w.n);

			ASSERT_LE(2, self->log.n);
			for (i = 0; i < self->log.n - 1; i++)
				ASSERT_NE(PH_RX_FRAME, self->log.ev[i]);
			check_frame(_metadata, &self->log, self->log.n - 1,
				    self->w.n - 1, self->b, 1);
		}
	}
}

TEST_F(deframer, byte_error_in_max_frame)
{
	size_t len = self->max + PH_FCS_LEN, pos, start;
	u8 *raw = self->a;
	u16 fcs;

	/* Any error within 16 bits is caught: one corrupt byte anywhere. */
	fill_random(raw, self->max);
	fcs = ph_fcs(raw, self->max);
	raw[self->max] = fcs & 0xff;
	raw[self->max + 1] = fcs >> 8;
	self->b[0] = 0x5a;

	for (pos = 0; pos < len; pos++) {
		ph_deframer_reset(&self->d);
		log_clear(&self->log);
		self->w.n = 0;
		raw[pos] ^= 1 + pos % 255;
		wire_byte(&self->w, PH_FLAG);
		wire_escaped(&self->w, raw, len);
		wire_byte(&self->w, PH_FLAG);
		start = self->w.n - 1;
		raw[pos] ^= 1 + pos % 255;
		wire_frame_shared(&self->w, self->b, 1);
		feed(&self->d, &self->log, self->w.b, self->w.n);

		ASSERT_EQ(2, self->log.n);
		check_event(_metadata, &self->log, 0, start, PH_RX_BAD_FCS);
		check_frame(_metadata, &self->log, 1, self->w.n - 1,
			    self->b, 1);
	}
	/* And the uncorrupted frame still passes. */
	round_trip(_metadata, self, raw, self->max);
}

TEST_F(deframer, reset_mid_frame)
{
	size_t len = self->max < 16 ? self->max : 16;
	size_t n, half, i;
	u8 enc[PH_ENCODED_MAX(16)];

	fill_random(self->a, len);
	n = ph_frame_encode(enc, self->a, len);
	half = n / 2;

	/* Half a frame, a break, then a whole frame. */
	feed(&self->d, &self->log, enc, half);
	ph_deframer_reset(&self->d);
	round_trip(_metadata, self, self->a, len);

	/*
	 * A break inside a frame: its tail is dropped, never delivered. (A
	 * break right after the opening flag loses nothing: i starts at 2.)
	 */
	for (i = 2; i < n - 1; i++) {
		ph_deframer_reset(&self->d);
		log_clear(&self->log);
		feed(&self->d, &self->log, enc, i);
		ph_deframer_reset(&self->d);
		feed(&self->d, &self->log, enc + i, n - i);
		ASSERT_EQ(1, self->log.n);
		ASSERT_NE(PH_RX_FRAME, self->log.ev[0]);
		round_trip(_metadata, self, self->a, len);
	}

	/* A pending escape does not survive a reset. */
	ASSERT_EQ(PH_RX_NONE, ph_deframer_feed(&self->d, PH_ESC));
	ph_deframer_reset(&self->d);
	ASSERT_EQ(PH_RX_NONE, ph_deframer_feed(&self->d, PH_FLAG));

	/* Nor does an overflow. */
	for (i = 0; i < self->max + 5u; i++)
		ASSERT_EQ(PH_RX_NONE, ph_deframer_feed(&self->d, 0x11));
	ph_deframer_reset(&self->d);
	round_trip(_metadata, self, self->a, len);
}

/* Frames carry keys: nothing of one stays in the receive buffer. */
static bool all_zero(const u8 *p, size_t n)
{
	while (n--)
		if (*p++)
			return false;
	return true;
}

TEST(received_frames_are_wiped)
{
	u8 payload[32], out[PH_ENCODED_MAX(32)], buf[PH_DEFRAMER_BUF(64)];
	struct ph_deframer d;
	size_t n, i;

	for (i = 0; i < sizeof(payload); i++)
		payload[i] = 0xa0 + i;
	n = ph_frame_encode(out, payload, sizeof(payload));
	ph_deframer_init(&d, buf, 64);
	memset(buf, 0, sizeof(buf));

	/* A good frame: in the buffer until released, then wiped. */
	for (i = 0; i < n - 1; i++)
		ASSERT_EQ(PH_RX_NONE, ph_deframer_feed(&d, out[i]));
	ASSERT_EQ(PH_RX_FRAME, ph_deframer_feed(&d, out[n - 1]));
	ASSERT_EQ(0, memcmp(buf, payload, sizeof(payload)));
	ph_deframer_release(&d);
	EXPECT_TRUE(all_zero(buf, sizeof(buf)));

	/* Not released: the next byte wipes it before anything else. */
	for (i = 0; i < n; i++)
		ph_deframer_feed(&d, out[i]);
	ASSERT_EQ(sizeof(payload), ph_deframer_payload_len(&d));
	ASSERT_EQ(PH_RX_NONE, ph_deframer_feed(&d, PH_FLAG));
	EXPECT_TRUE(all_zero(buf, sizeof(buf)));

	/* A frame dropped for its FCS is wiped when it ends. */
	out[3] ^= 0x01;
	for (i = 1; i < n - 1; i++)
		ph_deframer_feed(&d, out[i]);
	ASSERT_EQ(PH_RX_BAD_FCS, ph_deframer_feed(&d, out[n - 1]));
	EXPECT_TRUE(all_zero(buf, sizeof(buf)));

	/* And so is a frame cut by a reset (a line break). */
	for (i = 0; i < n / 2; i++)
		ph_deframer_feed(&d, out[i]);
	ph_deframer_reset(&d);
	EXPECT_TRUE(all_zero(buf, sizeof(buf)));
}

TEST_HARNESS_MAIN
