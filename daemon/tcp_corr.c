// SPDX-License-Identifier: GPL-2.0
/* Matching answers to requests on a TCP link (tcp_corr.h). */
#include <errno.h>
#include <string.h>

#include "tcp_corr.h"

void tcp_corr_init(struct tcp_corr *c, unsigned int hlen, unsigned int depth)
{
	memset(c, 0, sizeof(*c));
	c->hlen = hlen < TCP_HEADER_MAX ? hlen : TCP_HEADER_MAX;
	c->depth = depth < 1 ? 1 : depth > TCP_DEPTH_MAX ? TCP_DEPTH_MAX :
		   depth;
	if (!c->hlen)
		c->depth = 1;
}

/* The next tag: hlen decimal digits, as printable as a header must be. */
static void next_tag(struct tcp_corr *c, uint8_t *tag)
{
	uint64_t v = c->next++;
	unsigned int i;

	for (i = c->hlen; i--; v /= 10)
		tag[i] = '0' + v % 10;
}

static bool tag_in_use(const struct tcp_corr *c, const uint8_t *tag)
{
	unsigned int i;

	for (i = 0; i < c->depth; i++)
		if (c->slot[i].busy && !memcmp(c->slot[i].tag, tag, c->hlen))
			return true;
	return false;
}

int tcp_corr_send(struct tcp_corr *c, unsigned int slot, uint8_t *buf,
		  size_t len)
{
	struct tcp_inflight *f;
	unsigned int tries;

	if (slot >= c->depth)
		return -EINVAL;
	f = &c->slot[slot];
	if (f->busy)
		return -EBUSY;
	if (len < c->hlen)
		return -EMSGSIZE;
	if (c->hlen) {
		/* Never two alike in flight, even once the digits wrap. */
		tries = 0;
		do
			next_tag(c, f->tag);
		while (tag_in_use(c, f->tag) && ++tries < 2 * TCP_DEPTH_MAX);
		memcpy(f->hdr, buf, c->hlen);
		memcpy(buf, f->tag, c->hlen);
	}
	f->busy = true;
	return 0;
}

int tcp_corr_answer(struct tcp_corr *c, uint8_t *buf, size_t len)
{
	unsigned int i;

	if (!c->hlen)
		return c->slot[0].busy ? (c->slot[0].busy = false, 0) : -1;
	if (len < c->hlen)
		return -1;
	for (i = 0; i < c->depth; i++) {
		struct tcp_inflight *f = &c->slot[i];

		if (f->busy && !memcmp(f->tag, buf, c->hlen)) {
			memcpy(buf, f->hdr, c->hlen);
			f->busy = false;
			memset(f->hdr, 0, sizeof(f->hdr));
			return i;
		}
	}
	return -1;
}

void tcp_corr_drop(struct tcp_corr *c, unsigned int slot)
{
	if (slot < c->depth) {
		c->slot[slot].busy = false;
		memset(c->slot[slot].hdr, 0, sizeof(c->slot[slot].hdr));
	}
}

unsigned int tcp_corr_busy(const struct tcp_corr *c)
{
	unsigned int i, n = 0;

	for (i = 0; i < c->depth; i++)
		n += c->slot[i].busy;
	return n;
}
