/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Which request an answer on a TCP link belongs to.
 *
 * With a header (payShield's: the first @hlen bytes of a request, echoed
 * at the start of its answer), each request sent gets a tag of its own in
 * place of its header, the answer is known by its tag and gets the
 * station's header back: several requests may be in flight at once, and a
 * late answer to a request given up on is recognised and dropped. Without
 * one, an answer belongs to the one request in flight, and a link where a
 * request was given up on cannot be trusted any more (tcp.c closes it).
 */
#ifndef PH_TCP_CORR_H
#define PH_TCP_CORR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define TCP_HEADER_MAX		16
#define TCP_DEPTH_MAX		64

struct tcp_inflight {
	bool busy;
	uint8_t tag[TCP_HEADER_MAX];
	uint8_t hdr[TCP_HEADER_MAX];	/* the station's, given back */
};

struct tcp_corr {
	unsigned int hlen;		/* 0: no tag, depth 1 */
	unsigned int depth;
	uint64_t next;			/* the next tag, in decimal */
	struct tcp_inflight slot[TCP_DEPTH_MAX];
};

void tcp_corr_init(struct tcp_corr *c, unsigned int hlen, unsigned int depth);
/*
 * Request @buf (@len bytes) goes out on slot @slot: its header is
 * replaced by a fresh tag. -EMSGSIZE if shorter than the header, -EBUSY
 * if the slot (without a tag: the link) still has a request in flight.
 */
int tcp_corr_send(struct tcp_corr *c, unsigned int slot, uint8_t *buf,
		  size_t len);
/*
 * Answer @buf (@len bytes) came: the slot it belongs to, its station's
 * header put back; -1 if no request in flight is waiting for it.
 */
int tcp_corr_answer(struct tcp_corr *c, uint8_t *buf, size_t len);
/* Slot @slot's request was given up on (or answered elsewhere). */
void tcp_corr_drop(struct tcp_corr *c, unsigned int slot);
/* Requests in flight. */
unsigned int tcp_corr_busy(const struct tcp_corr *c);

#endif /* PH_TCP_CORR_H */
