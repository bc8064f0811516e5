/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The simulated site's own protocol, inside persohub's frames (persohub
 * never looks at it): what a station asks and what a server answers, so a
 * station can check it got *its own* answer.
 *
 *   request:  "PHRQ" station(u16 LE) seq(u32 LE) filler...
 *   response: "PHRS" station(u16 LE) seq(u32 LE) digest(16) server(u16 LE)
 *
 * The digest is a keyed hash of the whole request: two FNV-1a-64 passes
 * keyed differently, each finished with a 64-bit mixer. It is not
 * cryptography, only a check that no answer was swapped or corrupted.
 * Used by build/sitesim on the host and by servers inside the guest.
 *
 * The text dialect carries the same fields as upper-case hex, for links
 * that cannot carry every byte (stx-etx: no STX or ETX in a payload), as
 * payShield-style equipment speaks printable ASCII:
 *
 *   request:  "PHTQ" station(4 hex) seq(8 hex) filler (printable)...
 *   response: "PHTS" station(4) seq(8) digest(32 hex) server(4 hex)
 *
 * A server answers in the dialect of the request it got.
 */
#ifndef SITEPROTO_H
#define SITEPROTO_H

#include <stdint.h>
#include <string.h>

#define SP_REQ_HDR	10
#define SP_RESP_LEN	28
#define SP_DIGEST	16
#define SP_USER_SERVER	0xfffe	/* server index of a userspace server */
#define SP_TREQ_HDR	16	/* text dialect */
#define SP_TRESP_LEN	52

static inline uint64_t sp_mix(uint64_t x)
{
	x ^= x >> 33;
	x *= 0xff51afd7ed558ccdULL;
	x ^= x >> 33;
	x *= 0xc4ceb9fe1a85ec53ULL;
	x ^= x >> 33;
	return x;
}

static inline uint64_t sp_fnv(uint64_t key, const uint8_t *p, size_t n)
{
	uint64_t h = 0xcbf29ce484222325ULL ^ sp_mix(key);
	size_t i;

	for (i = 0; i < n; i++) {
		h ^= p[i];
		h *= 0x100000001b3ULL;
	}
	return sp_mix(h ^ n);
}

static inline void sp_put16(uint8_t *p, uint16_t v)
{
	p[0] = v;
	p[1] = v >> 8;
}

static inline void sp_put32(uint8_t *p, uint32_t v)
{
	sp_put16(p, v);
	sp_put16(p + 2, v >> 16);
}

static inline uint16_t sp_get16(const uint8_t *p)
{
	return p[0] | p[1] << 8;
}

static inline uint32_t sp_get32(const uint8_t *p)
{
	return sp_get16(p) | (uint32_t)sp_get16(p + 2) << 16;
}

/* The request header; the caller fills the rest (len >= SP_REQ_HDR). */
static inline void sp_request(uint8_t *p, uint16_t station, uint32_t seq)
{
	memcpy(p, "PHRQ", 4);
	sp_put16(p + 4, station);
	sp_put32(p + 6, seq);
}

/* The response server @server owes request @req; SP_RESP_LEN bytes. */
static inline void sp_response(uint8_t *out, uint64_t key,
			       const uint8_t *req, size_t len, uint16_t server)
{
	uint64_t a = sp_fnv(key, req, len), b = sp_fnv(~key, req, len);
	int i;

	memcpy(out, "PHRS", 4);
	if (len >= SP_REQ_HDR)
		memcpy(out + 4, req + 4, 6);
	else
		memset(out + 4, 0, 6);
	for (i = 0; i < 8; i++) {
		out[10 + i] = a >> (8 * i);
		out[18 + i] = b >> (8 * i);
	}
	sp_put16(out + 26, server);
}

/* @digits upper-case hex digits of @v, most significant first. */
static inline void sp_hex(uint8_t *p, uint64_t v, int digits)
{
	while (digits--) {
		p[digits] = "0123456789ABCDEF"[v & 15];
		v >>= 4;
	}
}

/* The value of @digits hex digits; -1 if one is not a hex digit. */
static inline int64_t sp_unhex(const uint8_t *p, int digits)
{
	int64_t v = 0;
	int i, d;

	for (i = 0; i < digits; i++) {
		if (p[i] >= '0' && p[i] <= '9')
			d = p[i] - '0';
		else if (p[i] >= 'A' && p[i] <= 'F')
			d = p[i] - 'A' + 10;
		else
			return -1;
		v = v << 4 | d;
	}
	return v;
}

/* The text request header; the caller fills the rest (len >= SP_TREQ_HDR). */
static inline void sp_request_text(uint8_t *p, uint16_t station, uint32_t seq)
{
	memcpy(p, "PHTQ", 4);
	sp_hex(p + 4, station, 4);
	sp_hex(p + 8, seq, 8);
}

/* The text response server @server owes request @req; SP_TRESP_LEN bytes. */
static inline void sp_response_text(uint8_t *out, uint64_t key,
				    const uint8_t *req, size_t len,
				    uint16_t server)
{
	uint64_t a = sp_fnv(key, req, len), b = sp_fnv(~key, req, len);

	memcpy(out, "PHTS", 4);
	if (len >= SP_TREQ_HDR && !memcmp(req, "PHTQ", 4))
		memcpy(out + 4, req + 4, 12);
	else
		memset(out + 4, '0', 12);
	sp_hex(out + 16, a, 16);
	sp_hex(out + 32, b, 16);
	sp_hex(out + 48, server, 4);
}

/*
 * The station and sequence number of a request or response in either
 * dialect: 0, or -1 if @p is none of them.
 */
static inline int sp_ids(const uint8_t *p, size_t len, uint16_t *station,
			 uint32_t *seq)
{
	int64_t st, sq;

	if (len >= SP_REQ_HDR && (!memcmp(p, "PHRQ", 4) ||
				  !memcmp(p, "PHRS", 4))) {
		*station = sp_get16(p + 4);
		*seq = sp_get32(p + 6);
		return 0;
	}
	if (len < SP_TREQ_HDR || (memcmp(p, "PHTQ", 4) && memcmp(p, "PHTS", 4)))
		return -1;
	st = sp_unhex(p + 4, 4);
	sq = sp_unhex(p + 8, 8);
	if (st < 0 || sq < 0)
		return -1;
	*station = st;
	*seq = sq;
	return 0;
}

#endif /* SITEPROTO_H */
