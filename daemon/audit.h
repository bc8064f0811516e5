/* SPDX-License-Identifier: GPL-2.0 */
/*
 * persohubd's audit trail: one structured journal record per finished
 * request, from the kernel's REQUEST_DONE events, with PERSOHUB_* fields
 * (see persohubd(8), "AUDIT TRAIL"). Never a payload byte: the events
 * carry none.
 */
#ifndef PH_AUDIT_H
#define PH_AUDIT_H

#include <stdbool.h>
#include <stdint.h>

#include "phnl.h"

struct audit_figures {
	uint64_t records;	/* request records written */
	uint64_t gaps;		/* gap records written */
	uint64_t gap_requests;	/* requests those gaps cover */
	uint64_t errors;	/* records the journal refused */
	uint64_t cpu_ns;	/* CPU time spent writing records */
};

/* Records on (the configuration's "audit") or off. */
void audit_enable(bool on);
/* A port's name and role, from a PORT_GET reply or a PORT_CHANGED event. */
void audit_port(const struct phnl_attrs *at);
/* A REQUEST_DONE event: its record is queued until audit_flush(). */
void audit_done(const struct phnl_attrs *at);
/* Write the queued records (after the wakeup's dispatches are sent). */
void audit_flush(void);
const struct audit_figures *audit_figures(void);

#endif /* PH_AUDIT_H */
