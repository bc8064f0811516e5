/* SPDX-License-Identifier: GPL-2.0 */
/* persohubd's TCP backend: userspace servers reached over TCP. */
#ifndef PH_TCP_H
#define PH_TCP_H

#include <stdbool.h>
#include <stdint.h>

#include "config.h"
#include "phnl.h"

struct tcp_figures {
	uint64_t requests, responses, refused, unexpected, connects, timeouts;
};

/* Add a userspace server per [tcp NAME] and connect; fds go in @epfd. */
int tcp_init(struct phnl *nl, int epfd, const struct config *cfg);
/* Remove the servers, close everything. */
void tcp_fini(void);
/* Station devices appeared or went (a role changed). */
void tcp_rescan(void);
/* Slow timer: reconnect what is down. */
void tcp_tick(void);
/* The kernel marked server @id failed (timeout). */
void tcp_server_failed(uint32_t id);
/* An fd of ours is readable: true if it was one. */
bool tcp_handle(int fd);
const struct tcp_figures *tcp_figures(void);

/* A [tcp] link as the daemon sees it (persohubctl daemon shows it). */
enum tcp_link_state {
	TCP_LINK_CONNECTING,	/* connect() under way */
	TCP_LINK_CONNECTED,
	TCP_LINK_BACKOFF,	/* down: tried again on the slow timer */
};

struct tcp_link {
	const char *name;
	const char *host;	/* as configured, no brackets */
	uint16_t port;
	uint32_t id;		/* the kernel's userspace server */
	enum tcp_link_state state;
	uint64_t since_ns;	/* CLOCK_MONOTONIC: in this state since */
	const char *error;	/* the last error, "" if none yet */
};

/* Link @i, from 0: true with @l filled, false past the last. */
bool tcp_link(unsigned int i, struct tcp_link *l);
const char *tcp_link_state_name(enum tcp_link_state s);

#endif /* PH_TCP_H */
