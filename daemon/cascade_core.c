// SPDX-License-Identifier: GPL-2.0
/* The cascade's decisions (cascade_core.h): no I/O, no allocation. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cascade_core.h"

void casc_init(struct casc_core *c, unsigned int nslots, uint64_t use,
	       uint64_t offer)
{
	memset(c, 0, sizeof(*c));
	c->nslots = nslots < CASC_SLOTS ? nslots : CASC_SLOTS;
	c->use = use;
	c->offer = offer;
}

uint64_t casc_start(struct casc_core *c, unsigned int slot, uint64_t req_id,
		    unsigned int klass, uint64_t deadline)
{
	struct casc_slot *s = &c->slot[slot];

	s->flight = true;
	s->seq = ++c->seq;
	s->req_id = req_id;
	s->klass = klass < CASC_CLASSES ? klass : 0;
	s->deadline = deadline;
	return s->seq;
}

enum casc_action casc_reply(struct casc_core *c, unsigned int slot,
			    uint64_t seq, enum casc_reply kind, uint64_t now)
{
	struct casc_slot *s;

	if (slot >= c->nslots)
		return CASC_ACT_LATE;
	s = &c->slot[slot];
	if (!s->flight || s->seq != seq)
		return CASC_ACT_LATE;
	s->flight = false;
	switch (kind) {
	case CASC_REPLY_ANSWER:
		return CASC_ACT_ANSWER;
	case CASC_REPLY_NO_RESPONDERS:
	case CASC_REPLY_BUSY:
		c->backoff_until[s->klass] = now + CASC_BACKOFF_NS;
		return CASC_ACT_GIVE_BACK;
	case CASC_REPLY_ERROR:
		break;
	}
	return CASC_ACT_FAILED;
}

int casc_expired(struct casc_core *c, uint64_t now)
{
	unsigned int i;

	for (i = 0; i < c->nslots; i++)
		if (c->slot[i].flight && c->slot[i].deadline <= now) {
			c->slot[i].flight = false;
			return i;
		}
	return -1;
}

int casc_find(const struct casc_core *c, uint64_t req_id)
{
	unsigned int i;

	for (i = 0; i < c->nslots; i++)
		if (c->slot[i].flight && c->slot[i].req_id == req_id)
			return i;
	return -1;
}

void casc_end(struct casc_core *c, unsigned int slot)
{
	if (slot < c->nslots)
		c->slot[slot].flight = false;
}

void casc_free(struct casc_core *c, unsigned int klass)
{
	if (klass < CASC_CLASSES)
		c->backoff_until[klass] = 0;
}

void casc_connected(struct casc_core *c, bool up)
{
	c->connected = up;
}

uint64_t casc_out_classes(const struct casc_core *c, uint64_t now)
{
	uint64_t classes = 0;
	unsigned int k;

	if (!c->connected)
		return 0;
	for (k = 0; k < CASC_CLASSES; k++)
		if ((c->use >> k & 1) && c->backoff_until[k] <= now)
			classes |= 1ULL << k;
	return classes;
}

uint64_t casc_next_due(const struct casc_core *c, uint64_t now)
{
	uint64_t due = 0;
	unsigned int i;

	for (i = 0; i < c->nslots; i++)
		if (c->slot[i].flight && (!due || c->slot[i].deadline < due))
			due = c->slot[i].deadline;
	for (i = 0; i < CASC_CLASSES; i++)
		if (c->backoff_until[i] > now &&
		    (!due || c->backoff_until[i] < due))
			due = c->backoff_until[i];
	return due;
}

void casc_offer(struct casc_core *c, uint64_t idle, uint64_t *sub,
		uint64_t *unsub)
{
	uint64_t want = idle & c->offer;

	*sub = want & ~c->subscribed;
	*unsub = c->subscribed & ~want;
	c->subscribed = want;
}

enum casc_reply casc_reply_kind(bool no_responders, const char *status)
{
	if (no_responders)
		return CASC_REPLY_NO_RESPONDERS;
	if (!status)
		return CASC_REPLY_ERROR;	/* not a hub's reply */
	if (!strcmp(status, "0"))
		return CASC_REPLY_ANSWER;
	if (!strcmp(status, "busy"))
		return CASC_REPLY_BUSY;
	return CASC_REPLY_ERROR;
}

int casc_token_parse(const char *subject, unsigned int *slot, uint64_t *seq)
{
	const char *dot, *p;
	unsigned long long q;
	unsigned long n;
	char *end;

	if (!subject)
		return -1;
	dot = strrchr(subject, '.');
	if (!dot || dot == subject)
		return -1;
	for (p = dot - 1; p > subject && p[-1] != '.'; p--)
		;
	if (p == subject || *p < '0' || *p > '9' || dot[1] < '0' ||
	    dot[1] > '9')
		return -1;
	n = strtoul(p, &end, 10);
	if (end != dot || n >= CASC_SLOTS)
		return -1;
	q = strtoull(dot + 1, &end, 10);
	if (*end)
		return -1;
	*slot = n;
	*seq = q;
	return 0;
}
