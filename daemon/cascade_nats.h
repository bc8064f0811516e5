/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The cascade's NATS side: every nats.c call is made by one worker thread
 * of ordinary priority, or by nats.c's own threads; the daemon's realtime
 * loop only puts messages in one ring and takes them from another, under
 * a priority-inheriting mutex held for a copy, woken by an eventfd.
 */
#ifndef PH_CASCADE_NATS_H
#define PH_CASCADE_NATS_H

#include <stdbool.h>
#include <stdint.h>

#include <linux/persohub.h>

#include "config.h"

#define CN_SUBJECT_LEN	160

enum cn_type {
	/* loop -> NATS */
	CN_REQUEST,	/* slot, seq, klass, prio, req (header), data */
	CN_SUB,		/* klass: listen on its request subject, announce */
	CN_UNSUB,	/* klass */
	CN_REPLY,	/* subject, status (0, an errno, or busy), server, data */
	/* NATS -> loop */
	CN_ANSWER,	/* slot, seq, kind (enum casc_reply), server, data */
	CN_REMOTE,	/* subject (to reply to), klass, prio, req, data */
	CN_FREE,	/* klass: a hub announced a free server */
	CN_CONN,	/* status: 1 connected, 0 not */
};

#define CN_STATUS_BUSY	0xffff

struct cn_msg {
	uint8_t type;
	uint8_t klass, prio;
	uint8_t kind;
	uint16_t status;
	uint32_t slot, server;
	uint64_t seq;
	char subject[CN_SUBJECT_LEN];
	char req[CN_SUBJECT_LEN];	/* Persohub-Req: hub/req_id */
	uint32_t len;
	uint8_t data[PERSOHUB_PAYLOAD_MAX];
};

struct cn_figures {
	uint64_t dropped_in, dropped_out, publish_errors, connects;
	uint64_t disconnects;
};

/*
 * Start the worker (SCHED_OTHER whatever the caller's policy): it
 * connects to @c's servers, and keeps at it. The eventfd to watch for
 * messages from NATS; -errno.
 */
int cn_start(const struct config *cfg, const char *name);
/* Stop the worker and close the connection. */
void cn_stop(void);
/* Queue @m for the worker: 0, or -EAGAIN if its ring is full. */
int cn_put(const struct cn_msg *m);
/* Take a message from NATS: true, or false if none. */
bool cn_take(struct cn_msg *m);
/* Clear the eventfd (before draining with cn_take()). */
void cn_ack(void);
const struct cn_figures *cn_figures(void);

#endif /* PH_CASCADE_NATS_H */
