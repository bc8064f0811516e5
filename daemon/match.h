/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The controller's matching, free of I/O so it can be tested on the host:
 * waiting requests in arrival order, each of a class (0-63) and a priority
 * (0-7); idle servers by weight then longest idle, each serving a set of
 * classes; per-server enable flag, and stations pinned to one server
 * (static assignment, for a station that must talk to one server only).
 * The kernel's rule between classes and priorities: a server takes, among
 * the requests of its classes, the oldest that waited its class's
 * max_wait, else the oldest of the highest priority. No allocation after
 * match_init().
 *
 * Overflow servers (the cascade's: requests sent to other hubs) come after
 * every local server: one takes a request only when no idle local server
 * would, only of the classes match_overflow_classes() allows now, and
 * never one of the station match_station_local() names (the requests
 * other hubs sent us: never sent out again).
 */
#ifndef PH_MATCH_H
#define PH_MATCH_H

#include <stdbool.h>
#include <stdint.h>

#define MATCH_MAX_WAITING	4096
#define MATCH_MAX_SERVERS	1024	/* server ids below this */
#define MATCH_CLASSES		64	/* PERSOHUB_CLASS_MAX + 1 */
#define MATCH_PRIORITIES	8	/* PERSOHUB_PRIORITY_MAX + 1 */

struct match_server {
	bool known;		/* a server we have heard of */
	bool idle;
	bool enabled;		/* from the configuration */
	uint32_t weight;	/* higher first; default 1 */
	uint64_t idle_since;
	uint64_t classes;	/* bit N: serves class N; default 1 */
	bool overflow;		/* the cascade's: after every local server */
};

struct match {
	uint64_t waiting[MATCH_MAX_WAITING];	/* request ids, ascending */
	uint32_t station[MATCH_MAX_WAITING];	/* each one's station */
	uint8_t klass[MATCH_MAX_WAITING];	/* each one's class */
	uint8_t prio[MATCH_MAX_WAITING];	/* and priority */
	uint64_t rx[MATCH_MAX_WAITING];		/* when complete, ns */
	unsigned int nwaiting;
	uint32_t nclass[MATCH_CLASSES];		/* waiting, per class */
	uint64_t classes_waiting;		/* bit N: nclass[N] > 0 */
	uint32_t pin[MATCH_MAX_SERVERS];	/* station -> server, 0: any */
	unsigned int npins;
	struct match_server srv[MATCH_MAX_SERVERS];
	uint64_t overflow;	/* requests we could not track */
	unsigned int max_id;	/* highest server id seen */
	uint64_t max_wait[MATCH_CLASSES];	/* ns; 0: never aged */
	uint64_t aging;		/* bit N: class N has a max_wait */
	uint64_t now;		/* for the max_wait, ns (match_clock()) */
	uint64_t overflow_classes;	/* overflow servers take these now */
	uint32_t local_station;	/* its requests stay here; 0: none */
};

void match_init(struct match *m);
/* Forget requests and idleness (before a resync); keeps configuration. */
void match_reset(struct match *m);
/* A request waits (again); ids are arrival order. Duplicates ignored. */
void match_request(struct match *m, uint64_t id, uint32_t station);
/*
 * The same, of class @klass (0-63; more is class 0) and priority @prio
 * (0-7, higher first), complete at @rx_ns (the clock of match_clock()).
 */
void match_request_class(struct match *m, uint64_t id, uint32_t station,
			 uint32_t klass, uint32_t prio, uint64_t rx_ns);
/* A request no longer waits (dispatched elsewhere, ended). */
void match_request_gone(struct match *m, uint64_t id);
void match_server_ready(struct match *m, uint32_t id, uint64_t now);
void match_server_busy(struct match *m, uint32_t id);
void match_server_config(struct match *m, uint32_t id, uint32_t weight,
			 bool enabled);
/* The classes server @id serves, bit N for class N (0: class 0 only). */
void match_server_classes(struct match *m, uint32_t id, uint64_t classes);
/* Class @klass's requests that waited @ms go first (0: never). */
void match_class_max_wait(struct match *m, uint32_t klass, uint32_t ms);
/* The time match_next() judges waits by, ns. */
void match_clock(struct match *m, uint64_t now);
/* Requests of @station go to @server only (0: to any server). */
void match_station_pin(struct match *m, uint32_t station, uint32_t server);
/* Server @id is an overflow server (or not). */
void match_server_overflow(struct match *m, uint32_t id, bool overflow);
/* Overflow servers take requests of these classes only (bit N: class N). */
void match_overflow_classes(struct match *m, uint64_t classes);
/* Requests of @station never go to an overflow server (0: none). */
void match_station_local(struct match *m, uint32_t station);
/*
 * The classes an idle, enabled local server serves (bit N: class N):
 * after match_next() has given out all it could, no waiting request
 * wants those servers.
 */
uint64_t match_idle_classes(const struct match *m);
/* Take the next pair to dispatch: 1 and the pair, or 0 if none. */
int match_next(struct match *m, uint64_t *req, uint32_t *server);

#endif /* PH_MATCH_H */
