/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The controller's matching, free of I/O so it can be tested on the host:
 * waiting requests in arrival order, idle servers by weight then longest
 * idle, per-server enable flag, and stations pinned to one server (static
 * assignment, for a station that must talk to one server only). No
 * allocation after match_init().
 */
#ifndef PH_MATCH_H
#define PH_MATCH_H

#include <stdbool.h>
#include <stdint.h>

#define MATCH_MAX_WAITING	4096
#define MATCH_MAX_SERVERS	1024	/* server ids below this */

struct match_server {
	bool known;		/* a server we have heard of */
	bool idle;
	bool enabled;		/* from the configuration */
	uint32_t weight;	/* higher first; default 1 */
	uint64_t idle_since;
};

struct match {
	uint64_t waiting[MATCH_MAX_WAITING];	/* request ids, ascending */
	uint32_t station[MATCH_MAX_WAITING];	/* each one's station */
	unsigned int nwaiting;
	uint32_t pin[MATCH_MAX_SERVERS];	/* station -> server, 0: any */
	unsigned int npins;
	struct match_server srv[MATCH_MAX_SERVERS];
	uint64_t overflow;	/* requests we could not track */
	unsigned int max_id;	/* highest server id seen */
};

void match_init(struct match *m);
/* Forget requests and idleness (before a resync); keeps configuration. */
void match_reset(struct match *m);
/* A request waits (again); ids are arrival order. Duplicates ignored. */
void match_request(struct match *m, uint64_t id, uint32_t station);
/* A request no longer waits (dispatched elsewhere, ended). */
void match_request_gone(struct match *m, uint64_t id);
void match_server_ready(struct match *m, uint32_t id, uint64_t now);
void match_server_busy(struct match *m, uint32_t id);
void match_server_config(struct match *m, uint32_t id, uint32_t weight,
			 bool enabled);
/* Requests of @station go to @server only (0: to any server). */
void match_station_pin(struct match *m, uint32_t station, uint32_t server);
/* Take the next pair to dispatch: 1 and the pair, or 0 if none. */
int match_next(struct match *m, uint64_t *req, uint32_t *server);

#endif /* PH_MATCH_H */
