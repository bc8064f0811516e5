/* SPDX-License-Identifier: GPL-2.0 */
/*
 * persohubd's [cascade]: hubs on a LAN pooling their servers through NATS.
 * Without a [cascade] section none of this runs, and no NATS call is made.
 */
#ifndef PH_CASCADE_H
#define PH_CASCADE_H

#include <stdbool.h>
#include <stdint.h>

#include "config.h"
#include "match.h"
#include "phnl.h"

#define CASCADE_STATION	"cascade"	/* /dev/persohub-remote/cascade */

struct cascade_figures {
	uint64_t sent;		/* requests sent out */
	uint64_t answered;	/* answers from other hubs written back */
	uint64_t given_back;	/* no responders, busy, not connected */
	uint64_t failed;	/* error replies and timeouts: a retry */
	uint64_t timeouts;	/* of which no reply in time */
	uint64_t late;		/* replies for requests no longer out */
	uint64_t remote_in;	/* requests other hubs sent us */
	uint64_t served;	/* of which answered here */
	uint64_t remote_failed;	/* ended here without an answer */
	uint64_t busy;		/* busy replies we sent */
	uint64_t connects, disconnects;
	bool connected;
	char name[CONFIG_NAME_LEN];	/* this hub */
	uint32_t depth;		/* overflow servers */
};

/*
 * Start the cascade of @cfg, if it has one: the remote station, the
 * overflow servers, the NATS worker; fds go in @epfd. @m is the daemon's
 * matching (overflow servers, the remote station). 0 or -errno.
 */
int cascade_init(struct phnl *nl, int epfd, const struct config *cfg,
		 struct match *m);
void cascade_fini(void);
bool cascade_on(void);
/* @fd is ours (handled): true. */
bool cascade_handle(int fd);
/* Before the matching: the classes that may go out now. */
void cascade_before_dispatch(uint64_t now);
/* After it: subscribe to what we can serve now, leave what we cannot. */
void cascade_after_dispatch(void);
/* A port of the resync dump: is it one of our overflow servers? */
bool cascade_overflow_server(uint32_t id);
/* Events the cascade follows. */
void cascade_request_new(uint32_t station);
void cascade_resynced(void);
void cascade_server_failed(uint32_t id, uint32_t reason);
const struct cascade_figures *cascade_figures(void);

#endif /* PH_CASCADE_H */
