/* SPDX-License-Identifier: GPL-2.0 */
/*
 * persohubd's metrics: every counter of the ports, the hub and the daemon
 * in the Prometheus text format, in METRICS_FILE of the configuration's
 * metrics_dir, for node_exporter's textfile collector.
 */
#ifndef PH_METRICS_H
#define PH_METRICS_H

#include <stdbool.h>
#include <stdint.h>

#include "config.h"
#include "phnl.h"

#define METRICS_FILE	"persohub.prom"

/* The daemon's own figures, as persohubd keeps them. */
struct metrics_daemon {
	uint64_t dispatches, batches, refused, resyncs, lost_events;
	uint64_t bad_events, events, keepalives, probes, probes_back;
	unsigned int waiting;
	/* wakeup to dispatch sent: bucket 0 is 0 ns, bucket i counts
	 * [2^(i-1), 2^i) ns, the last is open-ended
	 */
	const uint64_t *lat_hist;
	unsigned int lat_buckets;
	uint64_t lat_sum_ns;
};

/*
 * Start writing every cfg->metrics_interval_ms, if cfg->metrics_dir is
 * set; kernel figures are asked on @nl, the daemon's from @figures. The
 * timer's fd goes in @epfd. 0 or -errno.
 */
int metrics_init(struct phnl *nl, int epfd, const struct config *cfg,
		 void (*figures)(struct metrics_daemon *));
/* The configuration changed (SIGHUP): directory, interval. */
void metrics_config(const struct config *cfg);
/* @fd is readable: true if it was the metrics timer (the file written). */
bool metrics_handle(int fd);
/* Write the file now; 0 or -errno (logged). */
int metrics_write(void);

#endif /* PH_METRICS_H */
