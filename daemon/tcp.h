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

#endif /* PH_TCP_H */
