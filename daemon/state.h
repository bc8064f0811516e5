/* SPDX-License-Identifier: GPL-2.0 */
/*
 * What persohubd decides, published for persohubctl daemon: a text file
 * the daemon writes to a temporary name and renames over the old one
 * (readers never see half a file), at most every STATE_MIN_MS while
 * anything happens, and at every resync. One fact per line, a record
 * type first, then key=value words; a record's last key, "error", takes
 * the rest of the line:
 *
 *   persohubd-state 1
 *   pid 412
 *   started_ns 8123456789          CLOCK_MONOTONIC
 *   updated_ns 9123456789
 *   config /etc/persohub/persohub.conf
 *   resync_ms 1000
 *   held_total 1                   requests held (held lines may stop)
 *   port 5 name=hsm1 role=server state=idle weight=2 config_enabled=1
 *        kernel_enabled=1 classes=0x1 pin=0 user=0 held=0     (one line)
 *   tcp 9 name=net0 address=[::1]:7001 state=backoff since_ns=8200000000
 *       error=Connection refused                          (one line)
 *   held 17 station=1 server=5 reason=pinned-server-busy
 *   cascade 4 name=hub-a site=plant1 connected=1 sent=12 answered=11
 *       given_back=1 failed=0 timeouts=0 late=0 remote_in=3 served=3
 *       remote_failed=0 busy=0      (one line; 4: its overflow servers)
 *
 * Unknown records and keys are skipped, so the file may grow.
 */
#ifndef PH_STATE_H
#define PH_STATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config.h"
#include "phlimits.h"

#define STATE_FILE	"/run/persohub/persohubd.state"
#define STATE_VERSION	1
#define STATE_MIN_MS	100	/* between two writes, at most this often */
#define STATE_MAX_HELD	4096

/* Why a request waits in the daemon. */
enum state_reason {
	HELD_DISPATCHING,	/* an idle server exists: it goes out next */
	HELD_NO_SERVER,		/* no port is a server */
	HELD_NO_ENABLED,	/* every server disabled */
	HELD_NO_IDLE,		/* every enabled server busy or failed */
	HELD_PIN_GONE,		/* the pinned port is not a server (now) */
	HELD_PIN_DISABLED_CONFIG,
	HELD_PIN_DISABLED_KERNEL,
	HELD_PIN_FAILED,
	HELD_PIN_BUSY,
	HELD_REASONS
};

struct state_port {
	uint32_t id;
	char name[CONFIG_NAME_LEN];
	uint32_t role;		/* enum persohub_role */
	char state[8];		/* the daemon's view: idle, busy, failed, "-" */
	uint32_t weight;
	bool config_enabled;	/* the configuration's enabled = */
	bool kernel_enabled;	/* the kernel's enabled flag */
	uint64_t classes;	/* classes served, bit N: class N */
	uint32_t pin;		/* station: its only server, 0: any */
	bool user;		/* a userspace server */
	uint32_t held;		/* station: its requests held */
};

struct state_tcp {
	uint32_t id;
	char name[CONFIG_NAME_LEN];
	char address[80];	/* host:port, [v6]:port */
	char state[12];		/* connecting, connected, backoff */
	uint64_t since_ns;
	char error[160];	/* "" if none */
};

/* The [cascade]'s counters, in the file's order. */
enum state_cascade_counter {
	CASC_SENT, CASC_ANSWERED, CASC_GIVEN_BACK, CASC_FAILED, CASC_TIMEOUTS,
	CASC_LATE, CASC_REMOTE_IN, CASC_SERVED, CASC_REMOTE_FAILED, CASC_BUSY,
	CASC_COUNTERS
};

extern const char *const state_cascade_keys[CASC_COUNTERS];

struct state_cascade {
	bool present;		/* a [cascade] runs */
	uint32_t depth;		/* overflow servers */
	char name[CONFIG_NAME_LEN];
	char site[CONFIG_NAME_LEN];
	bool connected;
	uint64_t v[CASC_COUNTERS];
};

struct state_held {
	uint64_t req;
	uint32_t station;
	uint32_t server;	/* the pinned server, 0: any */
	enum state_reason reason;
};

struct state {
	int pid;
	uint64_t started_ns, updated_ns;
	char config[256];	/* "" without a configuration file */
	uint32_t resync_ms;
	unsigned int nports, ntcp, nheld;
	uint64_t held_total;	/* nheld may stop at STATE_MAX_HELD */
	struct state_port ports[PH_MAX_PORTS];
	struct state_tcp tcp[CONFIG_MAX_TCP];
	struct state_held held[STATE_MAX_HELD];
	struct state_cascade cascade;
};

/* "no-idle-server"; "no idle server" for people. */
const char *state_reason_key(enum state_reason r);
const char *state_reason_text(enum state_reason r);

/* Write @st to @path through @path.tmp and rename(): 0 or -errno. */
int state_save(const char *path, const struct state *st);
/*
 * Read @path into @st: 0, -ENOENT without the file, or -EINVAL with
 * @err saying which line is wrong.
 */
int state_load(const char *path, struct state *st, char *err, size_t len);

#endif /* PH_STATE_H */
