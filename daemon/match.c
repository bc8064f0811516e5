// SPDX-License-Identifier: GPL-2.0
/*
 * Matching for persohubd: the best idle server (highest weight, then idle
 * the longest) takes, among the waiting requests it may serve (of one of
 * its classes; a pinned station's only if it is that station's server),
 * the oldest that waited its class's max_wait, else the oldest of the
 * highest priority: the kernel's rule. A server that may serve none
 * leaves the next best to try. Everything is in fixed arrays: no
 * allocation per request.
 */
#include <string.h>

#include "match.h"

void match_init(struct match *m)
{
	unsigned int i;

	memset(m, 0, sizeof(*m));
	for (i = 0; i < MATCH_MAX_SERVERS; i++) {
		m->srv[i].enabled = true;
		m->srv[i].weight = 1;
		m->srv[i].classes = 1;
	}
	m->overflow_classes = ~0ULL;
}

void match_reset(struct match *m)
{
	unsigned int i;

	m->nwaiting = 0;
	memset(m->nclass, 0, sizeof(m->nclass));
	m->classes_waiting = 0;
	for (i = 0; i < MATCH_MAX_SERVERS; i++)
		m->srv[i].idle = false;
}

/* Index of the first waiting id >= @id. */
static unsigned int lower_bound(const struct match *m, uint64_t id)
{
	unsigned int lo = 0, hi = m->nwaiting, mid;

	while (lo < hi) {
		mid = lo + (hi - lo) / 2;
		if (m->waiting[mid] < id)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

void match_request(struct match *m, uint64_t id, uint32_t station)
{
	match_request_class(m, id, station, 0, 0, m->now);
}

void match_request_class(struct match *m, uint64_t id, uint32_t station,
			 uint32_t klass, uint32_t prio, uint64_t rx_ns)
{
	unsigned int i = lower_bound(m, id), n;

	if (i < m->nwaiting && m->waiting[i] == id)
		return;
	if (m->nwaiting == MATCH_MAX_WAITING) {
		m->overflow++;
		return;
	}
	n = m->nwaiting - i;
	memmove(&m->waiting[i + 1], &m->waiting[i], n * sizeof(m->waiting[0]));
	memmove(&m->station[i + 1], &m->station[i], n * sizeof(m->station[0]));
	memmove(&m->klass[i + 1], &m->klass[i], n * sizeof(m->klass[0]));
	memmove(&m->prio[i + 1], &m->prio[i], n * sizeof(m->prio[0]));
	memmove(&m->rx[i + 1], &m->rx[i], n * sizeof(m->rx[0]));
	m->waiting[i] = id;
	m->station[i] = station;
	m->klass[i] = klass < MATCH_CLASSES ? klass : 0;
	m->prio[i] = prio < MATCH_PRIORITIES ? prio : MATCH_PRIORITIES - 1;
	m->rx[i] = rx_ns;
	m->nwaiting++;
	m->nclass[m->klass[i]]++;
	m->classes_waiting |= 1ULL << m->klass[i];
}

static void remove_at(struct match *m, unsigned int i)
{
	unsigned int n = m->nwaiting - i - 1;

	if (!--m->nclass[m->klass[i]])
		m->classes_waiting &= ~(1ULL << m->klass[i]);
	memmove(&m->waiting[i], &m->waiting[i + 1], n * sizeof(m->waiting[0]));
	memmove(&m->station[i], &m->station[i + 1], n * sizeof(m->station[0]));
	memmove(&m->klass[i], &m->klass[i + 1], n * sizeof(m->klass[0]));
	memmove(&m->prio[i], &m->prio[i + 1], n * sizeof(m->prio[0]));
	memmove(&m->rx[i], &m->rx[i + 1], n * sizeof(m->rx[0]));
	m->nwaiting--;
}

void match_request_gone(struct match *m, uint64_t id)
{
	unsigned int i = lower_bound(m, id);

	if (i == m->nwaiting || m->waiting[i] != id)
		return;
	remove_at(m, i);
}

void match_server_ready(struct match *m, uint32_t id, uint64_t now)
{
	struct match_server *s;

	if (id >= MATCH_MAX_SERVERS)
		return;
	s = &m->srv[id];
	s->known = true;
	if (id > m->max_id)
		m->max_id = id;
	if (!s->idle) {
		s->idle = true;
		s->idle_since = now;
	}
}

void match_server_busy(struct match *m, uint32_t id)
{
	if (id < MATCH_MAX_SERVERS)
		m->srv[id].idle = false;
}

void match_server_config(struct match *m, uint32_t id, uint32_t weight,
			 bool enabled)
{
	if (id >= MATCH_MAX_SERVERS)
		return;
	if (id > m->max_id)
		m->max_id = id;
	m->srv[id].weight = weight ? weight : 1;
	m->srv[id].enabled = enabled;
}

void match_server_classes(struct match *m, uint32_t id, uint64_t classes)
{
	if (id < MATCH_MAX_SERVERS)
		m->srv[id].classes = classes ? classes : 1;
}

void match_class_max_wait(struct match *m, uint32_t klass, uint32_t ms)
{
	if (klass >= MATCH_CLASSES)
		return;
	m->max_wait[klass] = ms * 1000000ULL;
	if (ms)
		m->aging |= 1ULL << klass;
	else
		m->aging &= ~(1ULL << klass);
}

void match_clock(struct match *m, uint64_t now)
{
	m->now = now;
}

void match_station_pin(struct match *m, uint32_t station, uint32_t server)
{
	if (station >= MATCH_MAX_SERVERS || server >= MATCH_MAX_SERVERS)
		return;
	if (!m->pin[station] && server)
		m->npins++;
	else if (m->pin[station] && !server)
		m->npins--;
	m->pin[station] = server;
}

void match_server_overflow(struct match *m, uint32_t id, bool overflow)
{
	if (id < MATCH_MAX_SERVERS)
		m->srv[id].overflow = overflow;
}

void match_overflow_classes(struct match *m, uint64_t classes)
{
	m->overflow_classes = classes;
}

void match_station_local(struct match *m, uint32_t station)
{
	m->local_station = station;
}

uint64_t match_idle_classes(const struct match *m)
{
	uint64_t classes = 0;
	unsigned int i;

	for (i = 1; i <= m->max_id; i++)
		if (m->srv[i].idle && m->srv[i].enabled && !m->srv[i].overflow)
			classes |= m->srv[i].classes;
	return classes;
}

/*
 * The best idle, enabled server not in @tried (local before overflow,
 * then by weight, then idle the longest); -1 if none.
 */
static int best_server(const struct match *m, const uint64_t *tried)
{
	const struct match_server *s, *b = NULL;
	int i, best = -1;

	for (i = 1; i <= (int)m->max_id; i++) {
		s = &m->srv[i];
		if (!s->idle || !s->enabled || (tried[i / 64] >> (i % 64) & 1))
			continue;
		if (!b || (b->overflow && !s->overflow) ||
		    (b->overflow == s->overflow &&
		     (s->weight > b->weight ||
		      (s->weight == b->weight &&
		       s->idle_since < b->idle_since)))) {
			b = s;
			best = i;
		}
	}
	return best;
}

static bool aged(const struct match *m, unsigned int i)
{
	uint64_t mw = m->max_wait[m->klass[i]];

	return mw && m->now > m->rx[i] && m->now - m->rx[i] >= mw;
}

/*
 * The request server @s takes: the oldest of its classes that waited its
 * class's max_wait, else the oldest of the highest priority; -1 if none.
 */
static int pick(const struct match *m, uint32_t s)
{
	bool over = m->srv[s].overflow;
	uint64_t classes = m->srv[s].classes & (over ? m->overflow_classes :
						  ~0ULL);
	bool aging = classes & m->aging;
	int i, best = -1;
	uint32_t pin;

	/* Nothing of its classes waits: no need to look. */
	if (!(classes & m->classes_waiting))
		return -1;
	for (i = 0; i < (int)m->nwaiting; i++) {
		if (!(classes >> m->klass[i] & 1))
			continue;
		if (over && m->station[i] == m->local_station &&
		    m->local_station)
			continue;
		if (m->npins) {
			pin = m->station[i] < MATCH_MAX_SERVERS ?
			      m->pin[m->station[i]] : 0;
			if (pin && pin != s)
				continue;
		}
		if (aging && aged(m, i))
			return i;
		if (best < 0 || m->prio[i] > m->prio[best]) {
			best = i;
			if (!aging && m->prio[i] == MATCH_PRIORITIES - 1)
				break;
		}
	}
	return best;
}

int match_next(struct match *m, uint64_t *req, uint32_t *server)
{
	uint64_t tried[MATCH_MAX_SERVERS / 64] = { 0 };
	int s, i;

	if (!m->nwaiting)
		return 0;
	for (;;) {
		s = best_server(m, tried);
		if (s < 0)
			return 0;
		i = pick(m, s);
		if (i >= 0)
			break;
		tried[s / 64] |= 1ULL << (s % 64);
	}
	*req = m->waiting[i];
	*server = s;
	remove_at(m, i);
	m->srv[s].idle = false;
	return 1;
}
