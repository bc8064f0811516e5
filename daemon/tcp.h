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
	uint64_t connect_failures, given_up, tls_failures;
	uint64_t ktls_links;	/* links up whose records the kernel carries */
};

/*
 * Add the userspace servers of each [tcp NAME] and start connecting; fds
 * go in @epfd. Never blocks on the network.
 */
int tcp_init(struct phnl *nl, int epfd, const struct config *cfg);
/* Remove the servers, close everything. */
void tcp_fini(void);
/* The kernel marked server @id failed (enum persohub_reason @reason). */
void tcp_server_failed(uint32_t id, uint32_t reason);
/* Server @id is back in service. */
void tcp_server_ready(uint32_t id);
/* An fd of ours is ready (the backend's own timer too): true if ours. */
bool tcp_handle(int fd);
const struct tcp_figures *tcp_figures(void);

/* What persohubctl daemon shows of a link. */
enum tcp_link_state {
	TCP_LINK_CONNECTING,	/* resolving, connect() or the TLS handshake */
	TCP_LINK_CONNECTED,
	TCP_LINK_BACKOFF,	/* down after a failure: tried again later */
};

struct tcp_link_info {
	const char *name;
	const char *host;	/* as configured, no brackets */
	uint16_t port;
	uint32_t id;		/* the kernel's userspace server (the first) */
	enum tcp_link_state state;
	uint64_t since_ns;	/* CLOCK_MONOTONIC: in this state since */
	const char *error;	/* the last error, "" if none yet */
};

/* Link @i, from 0: true with @info filled, false past the last. */
bool tcp_link_info(unsigned int i, struct tcp_link_info *info);
const char *tcp_link_state_name(enum tcp_link_state s);

#endif /* PH_TCP_H */
