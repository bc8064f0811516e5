// SPDX-License-Identifier: GPL-2.0
/*
 * Matching for persohubd: the oldest waiting request goes to the best idle
 * server: highest weight, then idle the longest. A pinned station's
 * request waits for its own server, and younger requests may pass it.
 * Everything is in fixed arrays: no allocation per request.
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
	}
}

void match_reset(struct match *m)
{
	unsigned int i;

	m->nwaiting = 0;
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
	unsigned int i = lower_bound(m, id);

	if (i < m->nwaiting && m->waiting[i] == id)
		return;
	if (m->nwaiting == MATCH_MAX_WAITING) {
		m->overflow++;
		return;
	}
	memmove(&m->waiting[i + 1], &m->waiting[i],
		(m->nwaiting - i) * sizeof(m->waiting[0]));
	memmove(&m->station[i + 1], &m->station[i],
		(m->nwaiting - i) * sizeof(m->station[0]));
	m->waiting[i] = id;
	m->station[i] = station;
	m->nwaiting++;
}

static void remove_at(struct match *m, unsigned int i)
{
	memmove(&m->waiting[i], &m->waiting[i + 1],
		(m->nwaiting - i - 1) * sizeof(m->waiting[0]));
	memmove(&m->station[i], &m->station[i + 1],
		(m->nwaiting - i - 1) * sizeof(m->station[0]));
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

static int best_server(const struct match *m)
{
	const struct match_server *s, *b = NULL;
	int i, best = -1;

	for (i = 1; i <= (int)m->max_id; i++) {
		s = &m->srv[i];
		if (!s->idle || !s->enabled)
			continue;
		if (!b || s->weight > b->weight ||
		    (s->weight == b->weight && s->idle_since < b->idle_since)) {
			b = s;
			best = i;
		}
	}
	return best;
}

static bool server_free(const struct match *m, uint32_t id)
{
	return m->srv[id].idle && m->srv[id].enabled;
}

int match_next(struct match *m, uint64_t *req, uint32_t *server)
{
	unsigned int i;
	uint32_t pin;
	int s = -1;

	if (!m->nwaiting)
		return 0;
	if (!m->npins) {
		/* The common case: the oldest request, the best server. */
		i = 0;
		s = best_server(m);
	} else {
		for (i = 0; i < m->nwaiting; i++) {
			pin = m->station[i] < MATCH_MAX_SERVERS ?
			      m->pin[m->station[i]] : 0;
			s = pin ? (server_free(m, pin) ? (int)pin : -1) :
				  best_server(m);
			if (s >= 0)
				break;
		}
	}
	if (s < 0)
		return 0;
	*req = m->waiting[i];
	*server = s;
	remove_at(m, i);
	m->srv[s].idle = false;
	return 1;
}
