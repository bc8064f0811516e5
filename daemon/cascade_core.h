/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The cascade's decisions, free of I/O so they are tested on the host:
 * which request out is still in flight (a reply is taken once, by slot
 * and sequence number; anything else is late), what a reply means for
 * the request (answer, give back, fail), which classes may go out now
 * (not those that just found nobody free, until a hub announces a free
 * server or a short backoff ends), and which request subjects to listen
 * on (a class we offer while an idle local server of it wants nothing).
 */
#ifndef PH_CASCADE_CORE_H
#define PH_CASCADE_CORE_H

#include <stdbool.h>
#include <stdint.h>

#include "config.h"

#define CASC_SLOTS		CONFIG_CASCADE_DEPTH
#define CASC_CLASSES		64
#define CASC_BACKOFF_NS		(100 * 1000000ULL)

/* What came back for a request out. */
enum casc_reply {
	CASC_REPLY_ANSWER,	/* Persohub-Status 0: the answer */
	CASC_REPLY_NO_RESPONDERS,	/* nobody listens (or not connected) */
	CASC_REPLY_BUSY,	/* a hub listened but had no idle server */
	CASC_REPLY_ERROR,	/* a hub took it and could not serve it */
};

/* What to write back on the overflow server's device. */
enum casc_action {
	CASC_ACT_ANSWER,
	CASC_ACT_GIVE_BACK,
	CASC_ACT_FAILED,
	CASC_ACT_LATE,		/* not in flight (any more): discarded */
};

struct casc_slot {
	bool flight;
	uint64_t seq;		/* of the request in flight; never reused */
	uint64_t req_id;	/* the kernel's */
	uint8_t klass;
	uint64_t deadline;	/* ns: FAILED then */
};

struct casc_core {
	struct casc_slot slot[CASC_SLOTS];
	unsigned int nslots;
	uint64_t seq;		/* the last one given */
	uint64_t use;		/* classes we send out */
	uint64_t offer;		/* classes we serve for others */
	uint64_t backoff_until[CASC_CLASSES];	/* ns; 0: none */
	bool connected;
	uint64_t subscribed;	/* classes whose request subject we listen on */
};

void casc_init(struct casc_core *c, unsigned int nslots, uint64_t use,
	       uint64_t offer);
/* Request @req_id of @klass goes out on @slot until @deadline: its seq. */
uint64_t casc_start(struct casc_core *c, unsigned int slot, uint64_t req_id,
		    unsigned int klass, uint64_t deadline);
/*
 * @kind came back for (@slot, @seq) at @now: what to do. Anything but
 * CASC_ACT_LATE ends the flight. No responders and busy back the class
 * off until a free announcement or CASC_BACKOFF_NS.
 */
enum casc_action casc_reply(struct casc_core *c, unsigned int slot,
			    uint64_t seq, enum casc_reply kind, uint64_t now);
/* The first slot past its deadline at @now (its flight ends), or -1. */
int casc_expired(struct casc_core *c, uint64_t now);
/* The slot that holds @req_id in flight, or -1. */
int casc_find(const struct casc_core *c, uint64_t req_id);
/* End @slot's flight (given back for another reason); its reply is late. */
void casc_end(struct casc_core *c, unsigned int slot);
/* A hub announced a free server of @klass: it may go out again. */
void casc_free(struct casc_core *c, unsigned int klass);
void casc_connected(struct casc_core *c, bool up);
/* The classes that may go out at @now (none while not connected). */
uint64_t casc_out_classes(const struct casc_core *c, uint64_t now);
/* The next deadline or backoff end after @now, 0 if none. */
uint64_t casc_next_due(const struct casc_core *c, uint64_t now);
/*
 * @idle: classes with an idle local server no waiting request wants.
 * The classes to subscribe to (@sub) and to leave (@unsub) now; the
 * core then counts them as done.
 */
void casc_offer(struct casc_core *c, uint64_t idle, uint64_t *sub,
		uint64_t *unsub);
/* The reply's kind from its status header (NULL: none) and no-responders. */
enum casc_reply casc_reply_kind(bool no_responders, const char *status);
/* "SLOT.SEQ" at the end of a reply subject: 0, or -1 if malformed. */
int casc_token_parse(const char *subject, unsigned int *slot, uint64_t *seq);

#endif /* PH_CASCADE_CORE_H */
