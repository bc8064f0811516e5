// SPDX-License-Identifier: GPL-2.0
/*
 * persohubd: the site's controller. It attaches to the persohub hub over
 * generic netlink, learns from events which requests wait and which servers
 * are idle, and dispatches: the best idle server (by weight, then idle
 * the longest) takes a request of its classes, as the kernel would (one
 * that waited its class's max_wait, else the highest priority, the oldest
 * first), every possible dispatch of one wakeup in one sendmsg().
 *
 * One epoll loop over the event socket, the command socket (asynchronous
 * dispatch errors), a signalfd and one timerfd for slow work (periodic
 * reconciliation with the kernel, the statistics file). Nothing on the hot
 * path allocates or sleeps. Events may be lost (ENOBUFS): the daemon then
 * re-reads the kernel's state; the kernel never depends on the daemon.
 *
 * With a [cascade] section it also pools servers with other hubs through
 * NATS (cascade.c): requests no idle local server takes go out on
 * overflow servers, and other hubs' requests come in on a remote station.
 *
 * What it decides (weights, pins, enabled flags, TCP links, requests it
 * holds back and why) goes to a state file for persohubctl daemon
 * (state.h), at most every STATE_MIN_MS.
 */
#include <errno.h>
#include <getopt.h>
#include <linux/netlink.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/mman.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#include <systemd/sd-daemon.h>

#include "audit.h"
#include "cascade.h"
#include "config.h"
#include "framing.h"
#include "log.h"
#include "match.h"
#include "metrics.h"
#include "phnl.h"
#include "state.h"
#include "tcp.h"

#define DEFAULT_CONFIG	"/etc/persohub/persohub.conf"
#define LAT_BUCKETS	40
#define BATCH_SIZE	(64 * 1024)
/* Exit status when the hub went away (the module was unloaded). */
#define EXIT_HUB_GONE	3

struct daemon {
	struct phnl cmd;	/* commands; this socket is the controller */
	struct phnl ev;		/* events */
	struct match m;
	struct config cfg;
	const char *cfg_path;
	int epfd, sigfd, tfd, probefd, kafd, uevfd;
	bool quit;
	int status;		/* exit status */
	unsigned int grace_ms;	/* the hub's ctrl_grace_ms */
	bool ka_armed;		/* kafd ticks while requests wait */
	bool failed[MATCH_MAX_SERVERS];	/* serial servers to probe */
	/* ports by id: in the last dump (a new id is configured) */
	bool seen[PH_MAX_PORTS + 1], seen_next[PH_MAX_PORTS + 1];
	/* servers the administrator disabled in the kernel, by id */
	bool disabled[PH_MAX_PORTS + 1];
	bool warned_id;		/* a port id past PH_MAX_PORTS was logged */
	/* ports that appeared (uevents), by device name, to configure */
	char appeared[16][PHNL_NAME_LEN];
	unsigned int nappeared;
	bool configure_new;	/* a pass over new ports is due */
	uint64_t refusals_seen;	/* d.cmd.async_errors accounted */
	bool resync_due;
	bool regain;		/* the hub stopped waiting for us */
	const char *stats_path;	/* -s: wins over the configuration */
	/* the state file (-S; NULL: none) and what it shows of each port */
	const char *state_path;
	int statefd;		/* one-shot: the next write is due */
	bool state_armed, state_dirty, state_warned;
	uint64_t started_ns, state_ns;	/* the last write */
	struct {
		bool present;	/* in the last dump */
		bool user;
		bool cfg_enabled;
		uint32_t role, kstate;
		char name[PHNL_NAME_LEN];
	} view[PH_MAX_PORTS + 1], view_next[PH_MAX_PORTS + 1];
	uint64_t probes, probes_back;
	/* figures */
	uint64_t lat_hist[LAT_BUCKETS];	/* wakeup to dispatch sent, ns */
	uint64_t lat_max, lat_sum;
	uint64_t dispatches, batches, stale, resyncs, lost_events, events;
	uint64_t bad_events;
	uint64_t keepalives;
	char batch[BATCH_SIZE];
};

static struct daemon d;

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000000ULL + ts.tv_nsec;
}

/*
 * The only messages sent on the command socket without waiting for their
 * answer are dispatches: an error answering one means it was refused, and
 * our view is stale. Whichever call reads it (this drain, or phnl_talk()
 * of any other command, the TCP backend's included) counts it in
 * d.cmd.async_errors; take_refusals() turns the count into a resync.
 */
static void cmd_answer(const struct nlmsghdr *nlh)
{
	const struct nlmsgerr *e;

	if (nlh->nlmsg_type != NLMSG_ERROR ||
	    nlh->nlmsg_len < mnl_nlmsg_size(sizeof(*e)))
		return;
	e = mnl_nlmsg_get_payload(nlh);
	if (e->error) {
		d.cmd.async_errors++;
		if (e->error == -ENOENT || e->error == -EOPNOTSUPP)
			d.resync_due = true;	/* the family may be gone */
	}
}

/* Dispatches refused since last asked: counted, logged; how many. */
static uint64_t take_refusals(void)
{
	uint64_t n = d.cmd.async_errors - d.refusals_seen;
	uint64_t i;

	if (!n)
		return 0;
	d.refusals_seen = d.cmd.async_errors;
	/* Logged the 1st, 2nd, 4th, 8th... time: a flood stays readable. */
	for (i = 0; i < n; i++) {
		d.stale++;
		if (!(d.stale & (d.stale - 1)))
			warn("dispatch refused (%llu so far); resyncing",
			     (unsigned long long)d.stale);
	}
	return n;
}

/* Read what the command socket holds; true if a dispatch was refused. */
static bool cmd_drain(void)
{
	char buf[8192];
	ssize_t n;

	while ((n = recv(phnl_fd(&d.cmd), buf, sizeof(buf),
			 MSG_DONTWAIT)) > 0) {
		const struct nlmsghdr *nlh = (const void *)buf;
		int len = n;

		for (; mnl_nlmsg_ok(nlh, len); nlh = mnl_nlmsg_next(nlh, &len))
			cmd_answer(nlh);
	}
	return d.cmd.async_errors != d.refusals_seen;
}

/*
 * A command failed with @ret: if the family is gone (the module was
 * unloaded; commands then get -ENOENT, or -EOPNOTSUPP from a new family
 * at the old id), note it; the loop then exits. True if gone.
 */
static bool hub_gone(int ret)
{
	if (d.ev.gone || d.cmd.gone)
		return true;
	if (ret != -ENOENT && ret != -EOPNOTSUPP)
		return false;
	return phnl_family_check(&d.cmd) == -ENOENT;
}

/* A port id the daemon can manage; one past the limit is logged once. */
static bool id_ok(uint32_t id)
{
	if (id && id <= PH_MAX_PORTS)
		return true;
	if (id && !d.warned_id)
		warn("port id %u: past the %u ports persohubd manages; the "
		     "kernel matches for it", id, PH_MAX_PORTS);
	d.warned_id |= id != 0;
	return false;
}

static int resync_port_cb(const struct phnl_attrs *at, void *data)
{
	const struct config_port *cp = NULL;
	bool enabled;
	uint32_t id = phnl_u32(at, PERSOHUB_A_PORT_ID, 0);
	uint64_t now = *(uint64_t *)data;

	audit_port(at);
	if (!id_ok(id))
		return 0;
	/*
	 * Ports seen stay seen while present; a port never configured since
	 * it appeared stays new until apply_config() has configured it.
	 */
	d.seen_next[id] = d.seen[id];
	if (!d.seen[id] && !at->a[PERSOHUB_A_PORT_USER])
		d.configure_new = true;
	if (!at->a[PERSOHUB_A_PORT_USER])
		cp = at->a[PERSOHUB_A_PORT_TTY] ?
		     config_port_find_tty(&d.cfg,
					  phnl_str(at, PERSOHUB_A_PORT_TTY)) :
		     config_port_find(&d.cfg,
				      phnl_str(at, PERSOHUB_A_PORT_CARD),
				      phnl_u32(at, PERSOHUB_A_PORT_INDEX, 0));
	/* What the state file shows of the port. */
	d.view_next[id].present = true;
	d.view_next[id].user = at->a[PERSOHUB_A_PORT_USER];
	d.view_next[id].cfg_enabled = cp ? cp->enabled : true;
	d.view_next[id].role = phnl_u32(at, PERSOHUB_A_PORT_ROLE, 0);
	d.view_next[id].kstate = phnl_u32(at, PERSOHUB_A_PORT_STATE, 0);
	snprintf(d.view_next[id].name, PHNL_NAME_LEN, "%s",
		 phnl_str(at, PERSOHUB_A_PORT_NAME));
	if (phnl_u32(at, PERSOHUB_A_PORT_ROLE, 0) != PERSOHUB_ROLE_SERVER)
		return 0;
	match_server_classes(&d.m, id, phnl_u64(at, PERSOHUB_A_PORT_CLASSES, 1));
	match_server_overflow(&d.m, id, at->a[PERSOHUB_A_PORT_OVERFLOW] ||
			      cascade_overflow_server(id));
	/*
	 * No section (any more): the defaults. A server the administrator
	 * disabled in the kernel takes nothing, whatever the section says.
	 */
	enabled = phnl_u8(at, PERSOHUB_A_PORT_ENABLED, 1);
	d.disabled[id] = !enabled;
	if (!at->a[PERSOHUB_A_PORT_USER])
		match_server_config(&d.m, id, cp ? cp->weight : 1,
				    (cp ? cp->enabled : true) && enabled);
	if (!enabled)
		match_server_busy(&d.m, id);
	else if (phnl_u32(at, PERSOHUB_A_PORT_STATE, 0) == PERSOHUB_STATE_IDLE)
		match_server_ready(&d.m, id, now);
	if (id < MATCH_MAX_SERVERS)
		d.failed[id] = !at->a[PERSOHUB_A_PORT_USER] &&
			phnl_u32(at, PERSOHUB_A_PORT_STATE, 0) ==
			PERSOHUB_STATE_FAILED;
	return 0;
}

/* A waiting request, from REQUEST_NEW or the REQUEST_GET dump. */
static void request_waits(const struct phnl_attrs *at, uint64_t now)
{
	match_request_class(&d.m, phnl_u64(at, PERSOHUB_A_REQ_ID, 0),
			    phnl_u32(at, PERSOHUB_A_PORT_ID, 0),
			    phnl_u32(at, PERSOHUB_A_REQ_CLASS, 0),
			    phnl_u32(at, PERSOHUB_A_REQ_PRIORITY, 0),
			    phnl_u64(at, PERSOHUB_A_REQ_RX_NS, now));
}

static int resync_req_cb(const struct phnl_attrs *at, void *data)
{
	if (!at->a[PERSOHUB_A_SERVER_ID])
		request_waits(at, *(uint64_t *)data);
	return 0;
}

/* The classes' max_wait_ms, as the kernel has them. */
static int resync_class_cb(const struct phnl_attrs *at, void *data)
{
	(void)data;
	match_class_max_wait(&d.m, phnl_u32(at, PERSOHUB_A_CLASS_ID, 0),
			     phnl_u32(at, PERSOHUB_A_CLASS_MAX_WAIT_MS, 0));
	return 0;
}

static void dispatch_all(uint64_t t0);
static void set_probe_timer(void);

#define GRACE_PARAM "/sys/module/persohub/parameters/ctrl_grace_ms"

/* How long the hub waits on us before it matches by itself (0: never). */
static unsigned int read_grace_ms(void)
{
	unsigned int ms = 0;
	FILE *f = fopen(GRACE_PARAM, "r");

	if (f) {
		if (fscanf(f, "%u", &ms) != 1)
			ms = 0;
		fclose(f);
	}
	return ms;
}

static int event_cb(const struct phnl_attrs *at, void *data);

/*
 * Re-read the kernel's truth: waiting requests and idle servers. Events
 * still queued were sent before the dumps ended; they are applied at once,
 * before any dispatch rests on the dumps. Applied later, an old
 * SERVER_READY would mark idle a server we had just given a request.
 */
static void set_timer(int fd, unsigned int ms);

static int resync(void)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	unsigned int tries = 0, grace;
	uint64_t now;
	int ret;

	grace = read_grace_ms();
	if (grace != d.grace_ms && d.ka_armed) {
		/* An administrator changed it: keep up with the new period. */
		set_timer(d.kafd, !grace ? 0 : grace / 4 ? grace / 4 : 1);
		d.ka_armed = grace != 0;
	}
	d.grace_ms = grace;
	d.resync_due = false;
	do {
		d.resyncs++;
		now = now_ns();
		/* Refusals read from here on are answered by this resync. */
		cmd_drain();
		take_refusals();
		match_reset(&d.m);
		memset(d.seen_next, 0, sizeof(d.seen_next));
		memset(d.view_next, 0, sizeof(d.view_next));
		ret = phnl_talk(&d.cmd,
				phnl_msg(&d.cmd, buf, PERSOHUB_CMD_PORT_GET,
					 NLM_F_DUMP), resync_port_cb, &now);
		if (!ret) {
			memcpy(d.seen, d.seen_next, sizeof(d.seen));
			memcpy(d.view, d.view_next, sizeof(d.view));
		}
		if (!ret)
			ret = phnl_talk(&d.cmd,
					phnl_msg(&d.cmd, buf,
						 PERSOHUB_CMD_REQUEST_GET,
						 NLM_F_DUMP), resync_req_cb,
					&now);
		if (!ret)
			ret = phnl_talk(&d.cmd,
					phnl_msg(&d.cmd, buf,
						 PERSOHUB_CMD_CLASS_GET,
						 NLM_F_DUMP), resync_class_cb,
					NULL);
		if (ret)
			break;
		ret = phnl_drain(&d.ev, event_cb, &now);
		if (ret != -ENOBUFS)
			ret = ret < 0 ? ret : 0;
		else
			d.lost_events++;	/* and read the truth again */
	} while (ret == -ENOBUFS && ++tries < 4);
	if (!ret)
		cascade_resynced();
	take_refusals();
	if (ret && !hub_gone(ret))
		error("resync: %s", strerror(-ret));
	return ret;
}

static int event_cb(const struct phnl_attrs *at, void *data)
{
	uint64_t now = *(uint64_t *)data;
	uint32_t id;

	d.events++;
	switch (at->cmd) {
	case PERSOHUB_CMD_REQUEST_NEW:
		request_waits(at, now);
		cascade_request_new(phnl_u32(at, PERSOHUB_A_PORT_ID, 0));
		break;
	case PERSOHUB_CMD_REQUEST_DONE:
		match_request_gone(&d.m, phnl_u64(at, PERSOHUB_A_REQ_ID, 0));
		audit_done(at);
		break;
	case PERSOHUB_CMD_SERVER_READY:
		id = phnl_u32(at, PERSOHUB_A_SERVER_ID, 0);
		match_server_ready(&d.m, id, now);
		tcp_server_ready(id);
		if (id < MATCH_MAX_SERVERS && d.failed[id]) {
			d.failed[id] = false;
			d.probes_back++;
		}
		break;
	case PERSOHUB_CMD_SERVER_FAILED:
		id = phnl_u32(at, PERSOHUB_A_SERVER_ID, 0);
		match_server_busy(&d.m, id);
		if (id < MATCH_MAX_SERVERS)
			d.failed[id] = phnl_u32(at, PERSOHUB_A_REASON, 0) ==
				       PERSOHUB_REASON_TIMEOUT;
		tcp_server_failed(id, phnl_u32(at, PERSOHUB_A_REASON, 0));
		cascade_server_failed(id, phnl_u32(at, PERSOHUB_A_REASON, 0));
		break;
	case PERSOHUB_CMD_CTRL_CHANGED:
		/* Stalled (we were stopped): take control back. */
		if (!phnl_u8(at, PERSOHUB_A_CTRL_ATTACHED, 1))
			d.regain = true;
		break;
	case PERSOHUB_CMD_PORT_CHANGED:
		audit_port(at);
		id = phnl_u32(at, PERSOHUB_A_PORT_ID, 0);
		if (phnl_u32(at, PERSOHUB_A_PORT_ROLE, 0) != PERSOHUB_ROLE_SERVER ||
		    !phnl_u8(at, PERSOHUB_A_PORT_ENABLED, 1))
			match_server_busy(&d.m, id);
		else
			match_server_classes(&d.m, id,
					     phnl_u64(at, PERSOHUB_A_PORT_CLASSES,
						      1));
		/* Enabled or disabled by the administrator: read it again. */
		if (phnl_u32(at, PERSOHUB_A_PORT_ROLE, 0) == PERSOHUB_ROLE_SERVER &&
		    id_ok(id) && d.disabled[id] !=
		    !phnl_u8(at, PERSOHUB_A_PORT_ENABLED, 1))
			d.resync_due = true;
		/* A port we do not know yet: configure it (after the events). */
		if (id_ok(id) && !d.seen[id] && !at->a[PERSOHUB_A_PORT_USER])
			d.configure_new = true;
		break;
	}
	return 0;
}

/* Health: a failed serial server gets the probe frame; its answer brings
 * it back (the kernel announces SERVER_READY).
 */
static void probe_failed(void)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct nlmsghdr *nlh;
	unsigned int i;
	int ret;

	for (i = 1; i <= d.m.max_id; i++) {
		if (!d.failed[i])
			continue;
		cmd_drain();
		nlh = phnl_msg(&d.cmd, buf, PERSOHUB_CMD_SERVER_PROBE, 0);
		mnl_attr_put_u32(nlh, PERSOHUB_A_SERVER_ID, i);
		mnl_attr_put(nlh, PERSOHUB_A_PAYLOAD, d.cfg.probe_len,
			     d.cfg.probe_frame);
		ret = phnl_talk(&d.cmd, nlh, NULL, NULL);
		if (hub_gone(ret))
			return;
		if (ret == -EINVAL || ret == -ENODEV || ret == -EOPNOTSUPP)
			d.failed[i] = false;	/* not failed any more */
		else if (!ret)
			d.probes++;
	}
}

static void lat_add(uint64_t ns)
{
	unsigned int b = 0;

	while (b < LAT_BUCKETS - 1 && (1ULL << b) <= ns)
		b++;
	d.lat_hist[b]++;
	d.lat_sum += ns;
	if (ns > d.lat_max)
		d.lat_max = ns;
}

/* Every dispatch possible now, in one sendmsg(). */
static void dispatch_all(uint64_t t0)
{
	struct mnl_nlmsg_batch *b;
	struct nlmsghdr *nlh;
	uint64_t req;
	uint32_t srv;
	unsigned int n = 0;

	b = mnl_nlmsg_batch_start(d.batch, sizeof(d.batch));
	match_clock(&d.m, t0);
	/* The classes that may go to other hubs now (none without one). */
	cascade_before_dispatch(t0);
	while (match_next(&d.m, &req, &srv)) {
		nlh = phnl_msg(&d.cmd, mnl_nlmsg_batch_current(b),
			       PERSOHUB_CMD_DISPATCH, 0);
		mnl_attr_put_u64(nlh, PERSOHUB_A_REQ_ID, req);
		mnl_attr_put_u32(nlh, PERSOHUB_A_SERVER_ID, srv);
		n++;
		if (!mnl_nlmsg_batch_next(b))
			break;
	}
	if (n) {
		if (mnl_socket_sendto(d.cmd.nl, mnl_nlmsg_batch_head(b),
				      mnl_nlmsg_batch_size(b)) < 0) {
			error("dispatch: %s", strerror(errno));
			resync();
		} else {
			d.dispatches += n;
			d.batches++;
			lat_add(now_ns() - t0);
		}
	}
	mnl_nlmsg_batch_stop(b);
	/* Listen for other hubs' requests while a server stays idle. */
	cascade_after_dispatch();
}

static uint64_t lat_pct(double p)
{
	uint64_t total = 0, acc = 0;
	unsigned int i;

	for (i = 0; i < LAT_BUCKETS; i++)
		total += d.lat_hist[i];
	if (!total)
		return 0;
	for (i = 0; i < LAT_BUCKETS; i++) {
		acc += d.lat_hist[i];
		if (acc < p * total)
			continue;
		if (!i)
			return 0;
		/* the bucket's upper bound, never above the largest seen */
		return (1ULL << i) < d.lat_max ? 1ULL << i : d.lat_max;
	}
	return d.lat_max;
}

static void write_stats(FILE *f)
{
	fprintf(f, "dispatches %llu\nbatches %llu\nstale %llu\n"
		"resyncs %llu\nlost_events %llu\nbad_events %llu\n"
		"events %llu\nwaiting %u\n"
		"keepalives %llu\n"
		"probes %llu\nprobes_back %llu\n"
		"tcp_requests %llu\ntcp_responses %llu\ntcp_connects %llu\n"
		"tcp_connect_failures %llu\ntcp_tls_failures %llu\n"
		"tcp_timeouts %llu\ntcp_ktls %llu\n"
		"tcp_given_up %llu\ntcp_unexpected %llu\ntcp_refused %llu\n"
		"wakeup_to_dispatch_p50_ns %llu\nwakeup_to_dispatch_p99_ns %llu\n"
		"wakeup_to_dispatch_max_ns %llu\n",
		(unsigned long long)d.dispatches,
		(unsigned long long)d.batches, (unsigned long long)d.stale,
		(unsigned long long)d.resyncs,
		(unsigned long long)d.lost_events,
		(unsigned long long)d.bad_events,
		(unsigned long long)d.events, d.m.nwaiting,
		(unsigned long long)d.keepalives,
		(unsigned long long)d.probes,
		(unsigned long long)d.probes_back,
		(unsigned long long)tcp_figures()->requests,
		(unsigned long long)tcp_figures()->responses,
		(unsigned long long)tcp_figures()->connects,
		(unsigned long long)tcp_figures()->connect_failures,
		(unsigned long long)tcp_figures()->tls_failures,
		(unsigned long long)tcp_figures()->timeouts,
		(unsigned long long)tcp_figures()->ktls_links,
		(unsigned long long)tcp_figures()->given_up,
		(unsigned long long)tcp_figures()->unexpected,
		(unsigned long long)tcp_figures()->refused,
		(unsigned long long)lat_pct(0.5),
		(unsigned long long)lat_pct(0.99),
		(unsigned long long)d.lat_max);
	fprintf(f, "audit_records %llu\naudit_cpu_ns %llu\n",
		(unsigned long long)audit_figures()->records,
		(unsigned long long)audit_figures()->cpu_ns);
	if (cascade_on()) {
		const struct cascade_figures *c = cascade_figures();

		fprintf(f, "cascade_connected %d\ncascade_sent %llu\n"
			"cascade_answered %llu\ncascade_given_back %llu\n"
			"cascade_failed %llu\ncascade_timeouts %llu\n"
			"cascade_late %llu\ncascade_remote_in %llu\n"
			"cascade_served %llu\ncascade_remote_failed %llu\n"
			"cascade_busy %llu\ncascade_connects %llu\n"
			"cascade_disconnects %llu\n", c->connected,
			(unsigned long long)c->sent,
			(unsigned long long)c->answered,
			(unsigned long long)c->given_back,
			(unsigned long long)c->failed,
			(unsigned long long)c->timeouts,
			(unsigned long long)c->late,
			(unsigned long long)c->remote_in,
			(unsigned long long)c->served,
			(unsigned long long)c->remote_failed,
			(unsigned long long)c->busy,
			(unsigned long long)c->connects,
			(unsigned long long)c->disconnects);
	}
}

static void save_stats(void)
{
	char tmp[300];
	FILE *f;

	if (!d.cfg.stats_file[0])
		return;
	snprintf(tmp, sizeof(tmp), "%s.tmp", d.cfg.stats_file);
	f = fopen(tmp, "w");
	if (!f)
		return;
	write_stats(f);
	fclose(f);
	rename(tmp, d.cfg.stats_file);
}

/* The daemon's figures for the metrics file. */
static void daemon_figures(struct metrics_daemon *f)
{
	f->dispatches = d.dispatches;
	f->batches = d.batches;
	f->refused = d.stale;
	f->resyncs = d.resyncs;
	f->lost_events = d.lost_events;
	f->bad_events = d.bad_events;
	f->events = d.events;
	f->keepalives = d.keepalives;
	f->probes = d.probes;
	f->probes_back = d.probes_back;
	f->waiting = d.m.nwaiting;
	f->lat_hist = d.lat_hist;
	f->lat_buckets = LAT_BUCKETS;
	f->lat_sum_ns = d.lat_sum;
}

/* What systemctl status shows. */
static void notify_status(void)
{
	sd_notifyf(0, "STATUS=dispatching: %llu dispatches, %llu refused, "
		   "%llu lost events, %llu resyncs",
		   (unsigned long long)d.dispatches,
		   (unsigned long long)d.stale,
		   (unsigned long long)d.lost_events,
		   (unsigned long long)d.resyncs);
}

/* How the configuration names a port: card-index, or the tty's path. */
static const char *port_label(const struct config_port *cp)
{
	static char buf[48];

	if (cp->tty[0])
		return cp->tty;
	snprintf(buf, sizeof(buf), "%s-%u", cp->card, cp->index);
	return buf;
}

struct port_ident {
	int n;
	struct {
		uint32_t id, index, role;
		char card[32], name[32], tty[32];
		/* the framing settings in force */
		uint32_t framing, lrc, gap_chars, error_len;
		uint8_t error_frame[CONFIG_ERROR_FRAME_MAX];
	} p[PH_MAX_PORTS];
};

/* The section of @cfg for port @i of @pi, if any. */
static const struct config_port *ident_config(const struct config *cfg,
					      const struct port_ident *pi,
					      int i)
{
	if (pi->p[i].tty[0])
		return config_port_find_tty(cfg, pi->p[i].tty);
	return config_port_find(cfg, pi->p[i].card, pi->p[i].index);
}

static int ident_cb(const struct phnl_attrs *at, void *data)
{
	struct port_ident *pi = data;
	const struct nlattr *ef = at->a[PERSOHUB_A_PORT_ERROR_FRAME];

	if (at->a[PERSOHUB_A_PORT_USER] || pi->n == PH_MAX_PORTS ||
	    !id_ok(phnl_u32(at, PERSOHUB_A_PORT_ID, 0)))
		return 0;
	pi->p[pi->n].id = phnl_u32(at, PERSOHUB_A_PORT_ID, 0);
	snprintf(pi->p[pi->n].card, 32, "%s",
		 phnl_str(at, PERSOHUB_A_PORT_CARD));
	pi->p[pi->n].index = phnl_u32(at, PERSOHUB_A_PORT_INDEX, 0);
	pi->p[pi->n].role = phnl_u32(at, PERSOHUB_A_PORT_ROLE, 0);
	snprintf(pi->p[pi->n].name, 32, "%s",
		 phnl_str(at, PERSOHUB_A_PORT_NAME));
	snprintf(pi->p[pi->n].tty, 32, "%s",
		 phnl_str(at, PERSOHUB_A_PORT_TTY));
	pi->p[pi->n].framing = phnl_u32(at, PERSOHUB_A_PORT_FRAMING, 0);
	pi->p[pi->n].lrc = phnl_u8(at, PERSOHUB_A_PORT_LRC, 0);
	pi->p[pi->n].gap_chars = phnl_u32(at, PERSOHUB_A_PORT_GAP_CHARS, 0);
	/* at most 64 bytes: the policy checked it */
	pi->p[pi->n].error_len = ef ? mnl_attr_get_payload_len(ef) : 0;
	if (ef)
		memcpy(pi->p[pi->n].error_frame, mnl_attr_get_payload(ef),
		       pi->p[pi->n].error_len);
	pi->n++;
	return 0;
}

/*
 * A station's name is its device's (/dev/persohub/NAME): the kernel
 * renames a station only while it is off. Take it off first (refused
 * while it has requests outstanding); the PORT_SET that follows names it
 * and puts it back. 1 if it took the station off, 0 if there was
 * nothing to do, -1 if the kernel refused.
 */
static int rename_station(const struct config_port *cp, uint32_t role,
			  uint32_t id, const char *cur)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct nlmsghdr *nlh;
	int ret;

	if (!cp->name[0] || !strcmp(cp->name, cur) ||
	    role != PERSOHUB_ROLE_STATION)
		return 0;
	nlh = phnl_msg(&d.cmd, buf, PERSOHUB_CMD_PORT_SET, 0);
	mnl_attr_put_u32(nlh, PERSOHUB_A_PORT_ID, id);
	mnl_attr_put_u32(nlh, PERSOHUB_A_PORT_ROLE, PERSOHUB_ROLE_OFF);
	ret = phnl_talk(&d.cmd, nlh, NULL, NULL);
	if (ret) {
		warn("port %s: renaming %s to %s: %s%s%s; reload when it is "
		     "idle", port_label(cp), cur, cp->name,
		     strerror(-ret), d.cmd.errmsg[0] ? ": " : "",
		     d.cmd.errmsg);
		return -1;
	}
	info("port %s: station %s renamed %s", port_label(cp), cur,
	     cp->name);
	return 1;
}

static int ident_find(const struct port_ident *pi, const char *card,
		      uint32_t index)
{
	int i;

	for (i = 0; i < pi->n; i++)
		if (pi->p[i].index == index && !strcmp(pi->p[i].card, card))
			return i;
	return -1;
}

/* Stations pinned to one server ("server =" in their section). */
static int apply_pins(const struct config *cfg, const struct port_ident *pi)
{
	const struct config_port *cp;
	int i, s, failed = 0;

	for (i = 0; i < pi->n; i++) {
		match_station_pin(&d.m, pi->p[i].id, 0);
		cp = ident_config(cfg, pi, i);
		if (!cp || !cp->pin_card[0])
			continue;
		s = ident_find(pi, cp->pin_card, cp->pin_index);
		if (s < 0) {
			warn("port %s: server %s-%u: no such port", port_label(cp),
			     cp->pin_card, cp->pin_index);
			failed++;
			continue;
		}
		match_station_pin(&d.m, pi->p[i].id, pi->p[s].id);
	}
	return failed;
}

static void put_opt(struct nlmsghdr *nlh, int type, struct config_u32 v)
{
	if (v.set)
		mnl_attr_put_u32(nlh, type, v.v);
}

/*
 * Attach every configured tty that is plugged in ([tty PATH] sections);
 * one plugged in later is attached when udev reloads persohubd.
 */
static void attach_ttys(const struct config *cfg)
{
	char buf[MNL_SOCKET_BUFFER_SIZE], name[32];
	struct nlmsghdr *nlh;
	unsigned int i;
	int ret;

	for (i = 0; i < cfg->nports; i++) {
		if (!cfg->ports[i].tty[0])
			continue;
		ret = config_tty_name(&cfg->ports[i], name, sizeof(name));
		if (ret) {
			warn("%s:%u: [tty %s]: %s; attached when it appears",
			     d.cfg_path, cfg->ports[i].line, cfg->ports[i].tty,
			     strerror(-ret));
			continue;
		}
		nlh = phnl_msg(&d.cmd, buf, PERSOHUB_CMD_PORT_ADD, 0);
		mnl_attr_put_strz(nlh, PERSOHUB_A_PORT_TTY, name);
		ret = phnl_talk(&d.cmd, nlh, NULL, NULL);
		if (ret == 0)
			info("tty %s: %s attached", cfg->ports[i].tty, name);
		else if (ret != -EEXIST)
			warn("tty %s: attaching %s: %s%s%s", cfg->ports[i].tty,
			     name, strerror(-ret), d.cmd.errmsg[0] ? ": " : "",
			     d.cmd.errmsg);
	}
}

/* Port @i of @pi appeared since the last dump: a new id, or a uevent. */
static bool ident_new(const struct port_ident *pi, int i)
{
	char dev[48];
	unsigned int k;

	if (!d.seen[pi->p[i].id])
		return true;
	if (pi->p[i].tty[0])
		snprintf(dev, sizeof(dev), "%s", pi->p[i].tty);
	else
		snprintf(dev, sizeof(dev), "%s-%u", pi->p[i].card,
			 pi->p[i].index);
	for (k = 0; k < d.nappeared; k++)
		if (!strcmp(d.appeared[k], dev))
			return true;
	return false;
}

/* The framing keys of @cp that differ from what port @i of @pi has. */
static bool framing_differs(const struct config_port *cp,
			    const struct port_ident *pi, int i)
{
	return (cp->framing.set && cp->framing.v != pi->p[i].framing) ||
	       (cp->lrc.set && cp->lrc.v != pi->p[i].lrc) ||
	       (cp->gap_chars.set && cp->gap_chars.v != pi->p[i].gap_chars) ||
	       (cp->error_set && (cp->error_len != pi->p[i].error_len ||
				  memcmp(cp->error_frame, pi->p[i].error_frame,
					 cp->error_len)));
}

/*
 * The framing keys of @cp, in a PORT_SET of their own, sent only when one
 * differs from the kernel's: the kernel changes a framing only while the
 * port is idle, and refuses the whole message otherwise (-EBUSY), which
 * must not hold back the port's other settings. Sent before those, so
 * that a port the configuration makes a station or a server speaks its
 * framing from its first frame. 0, or -1 if the kernel refused (logged;
 * a reload, or persohubctl set, applies it once the port is idle).
 */
static int apply_framing(const struct config_port *cp,
			 const struct port_ident *pi, int i)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct nlmsghdr *nlh;
	int ret;

	if (!framing_differs(cp, pi, i))
		return 0;
	nlh = phnl_msg(&d.cmd, buf, PERSOHUB_CMD_PORT_SET, 0);
	mnl_attr_put_u32(nlh, PERSOHUB_A_PORT_ID, pi->p[i].id);
	put_opt(nlh, PERSOHUB_A_PORT_FRAMING, cp->framing);
	if (cp->lrc.set)
		mnl_attr_put_u8(nlh, PERSOHUB_A_PORT_LRC, cp->lrc.v);
	put_opt(nlh, PERSOHUB_A_PORT_GAP_CHARS, cp->gap_chars);
	if (cp->error_set)
		mnl_attr_put(nlh, PERSOHUB_A_PORT_ERROR_FRAME, cp->error_len,
			     cp->error_frame);
	ret = phnl_talk(&d.cmd, nlh, NULL, NULL);
	if (ret) {
		warn("%s:%u: port %s: framing settings refused: %s%s%s; "
		     "reload when the port is idle", d.cfg_path, cp->line,
		     port_label(cp), strerror(-ret),
		     d.cmd.errmsg[0] ? ": " : "", d.cmd.errmsg);
		return -1;
	}
	info("port %s: framing %s%s, gap_chars %u, error_frame %u bytes",
	     port_label(cp),
	     ph_framing_name(cp->framing.set ? cp->framing.v :
			     pi->p[i].framing) ?: "?",
	     (cp->lrc.set ? cp->lrc.v : pi->p[i].lrc) ? " with lrc" : "",
	     cp->gap_chars.set ? cp->gap_chars.v : pi->p[i].gap_chars,
	     cp->error_set ? cp->error_len : pi->p[i].error_len);
	return 0;
}

/* The class keys of @cp: class, priority, classifier, classes. */
static void put_class_keys(struct nlmsghdr *nlh, const struct config_port *cp)
{
	struct persohub_classifier c;
	unsigned int r;

	put_opt(nlh, PERSOHUB_A_PORT_CLASS, cp->klass);
	put_opt(nlh, PERSOHUB_A_PORT_PRIORITY, cp->priority);
	if (cp->classes_set)
		mnl_attr_put_u64(nlh, PERSOHUB_A_PORT_CLASSES, cp->classes);
	if (!cp->classifier.set)
		return;
	memset(&c, 0, sizeof(c));
	c.offset = cp->classifier.offset;
	c.len = cp->classifier.len;
	c.nrules = cp->classifier.nrules;
	for (r = 0; r < c.nrules; r++) {
		memcpy(c.rules[r].value, cp->classifier.rules[r].value,
		       sizeof(c.rules[r].value));
		c.rules[r].class_id = cp->classifier.rules[r].klass;
	}
	mnl_attr_put(nlh, PERSOHUB_A_PORT_CLASSIFIER, sizeof(c), &c);
}

/*
 * Each class's max_wait_ms: the file's, 0 for a class it does not name
 * (sent only if this file or the one applied before had classes).
 * Failures logged; the count of them returned.
 */
static int apply_classes(const struct config *cfg)
{
	static bool had_classes;
	char buf[MNL_SOCKET_BUFFER_SIZE];
	const struct config_class *cl;
	struct nlmsghdr *nlh;
	uint32_t id;
	int ret, failed = 0;

	if (!cfg->nclasses && !had_classes)
		return 0;
	had_classes = cfg->nclasses;
	for (id = 0; id <= PERSOHUB_CLASS_MAX; id++) {
		cl = config_class_find(cfg, id);
		nlh = phnl_msg(&d.cmd, buf, PERSOHUB_CMD_CLASS_SET, 0);
		mnl_attr_put_u32(nlh, PERSOHUB_A_CLASS_ID, id);
		mnl_attr_put_u32(nlh, PERSOHUB_A_CLASS_MAX_WAIT_MS,
				 cl ? cl->max_wait_ms : 0);
		ret = phnl_talk(&d.cmd, nlh, NULL, NULL);
		if (ret) {
			warn("class %u%s%s: max_wait_ms: %s%s%s", id,
			     cl ? " " : "", cl ? cl->name : "", strerror(-ret),
			     d.cmd.errmsg[0] ? ": " : "", d.cmd.errmsg);
			failed++;
		}
	}
	return failed;
}

/* Set port @i of @pi as its section @cp says; 0 or -1 if refused. */
static int apply_port(const struct config_port *cp,
		      const struct port_ident *pi, int i)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct nlmsghdr *nlh;
	int ret, off, failed = 0;

	off = rename_station(cp, pi->p[i].role, pi->p[i].id, pi->p[i].name);
	if (off < 0)
		failed = -1;
	if (apply_framing(cp, pi, i))
		failed = -1;
	nlh = phnl_msg(&d.cmd, buf, PERSOHUB_CMD_PORT_SET, 0);
	mnl_attr_put_u32(nlh, PERSOHUB_A_PORT_ID, pi->p[i].id);
	if (cp->name[0] && off >= 0)
		mnl_attr_put_strz(nlh, PERSOHUB_A_PORT_NAME, cp->name);
	put_opt(nlh, PERSOHUB_A_PORT_BAUD, cp->baud);
	put_opt(nlh, PERSOHUB_A_PORT_DATA_BITS, cp->data_bits);
	put_opt(nlh, PERSOHUB_A_PORT_PARITY, cp->parity);
	put_opt(nlh, PERSOHUB_A_PORT_STOP_BITS, cp->stop_bits);
	put_opt(nlh, PERSOHUB_A_PORT_TIMEOUT_MS, cp->timeout_ms);
	put_opt(nlh, PERSOHUB_A_PORT_QUEUE_DEPTH, cp->queue_depth);
	put_opt(nlh, PERSOHUB_A_PORT_MAX_PAYLOAD, cp->max_payload);
	put_opt(nlh, PERSOHUB_A_PORT_SETTLE_MS, cp->settle_ms);
	put_class_keys(nlh, cp);
	if (cp->role.set)
		put_opt(nlh, PERSOHUB_A_PORT_ROLE, cp->role);
	else if (off > 0)	/* back on, under its new name */
		mnl_attr_put_u32(nlh, PERSOHUB_A_PORT_ROLE,
				 PERSOHUB_ROLE_STATION);
	ret = phnl_talk(&d.cmd, nlh, NULL, NULL);
	if (ret) {
		warn("port %s: %s%s%s", port_label(cp), strerror(-ret),
		     d.cmd.errmsg[0] ? ": " : "", d.cmd.errmsg);
		failed = -1;
	}
	return failed;
}

/*
 * PORT_SET for every configured port found on this machine (@all), or
 * only for those that appeared since the last dump (a card bound again,
 * a tty attached). Sections that name no port are reported with their
 * file:line, at start and reload; they are applied when the port comes.
 */
static int apply_config(const struct config *cfg, bool all)
{
	static struct port_ident pi;
	static bool found[CONFIG_MAX_PORTS];
	char buf[MNL_SOCKET_BUFFER_SIZE], label[160];
	const struct config_port *cp;
	int i, ret, failed = 0, applied = 0;
	unsigned int k;

	cmd_drain();
	if (all)
		attach_ttys(cfg);
	pi.n = 0;
	ret = phnl_talk(&d.cmd, phnl_msg(&d.cmd, buf, PERSOHUB_CMD_PORT_GET,
					 NLM_F_DUMP), ident_cb, &pi);
	if (ret) {
		if (!hub_gone(ret))
			error("reading the ports: %s", strerror(-ret));
		return ret;
	}
	memset(found, 0, sizeof(found));
	for (i = 0; i < pi.n; i++) {
		cp = ident_config(cfg, &pi, i);
		/* weight and enabled: the section's, or the defaults */
		match_server_config(&d.m, pi.p[i].id, cp ? cp->weight : 1,
				    cp ? cp->enabled : true);
		if (!cp)
			continue;
		found[cp - cfg->ports] = true;
		if (!all && !ident_new(&pi, i))
			continue;
		if (apply_port(cp, &pi, i))
			failed++;
		applied++;
		if (!all)
			info("%s:%u: %s: the port appeared (id %u); configured",
			     d.cfg_path, cp->line,
			     config_port_label(cp, label, sizeof(label)),
			     pi.p[i].id);
	}
	failed += apply_pins(cfg, &pi);
	if (all)
		failed += apply_classes(cfg);
	d.nappeared = 0;
	for (i = 0; i < pi.n; i++)
		d.seen[pi.p[i].id] = true;
	if (!all)
		return 0;
	for (k = 0; k < cfg->nports; k++)
		if (!found[k] && !cfg->ports[k].tty[0])
			warn("%s:%u: %s: no such port; configured when it "
			     "appears", d.cfg_path, cfg->ports[k].line,
			     config_port_label(&cfg->ports[k], label,
					       sizeof(label)));
	info("configuration applied to %d of %d ports%s", applied, pi.n,
	     failed ? " (some settings refused)" : "");
	return 0;
}

static void set_timer(int fd, unsigned int ms);
static void realtime(const struct config *cfg, const struct config *was);
static void set_event_buffer(unsigned int bytes);

static bool same_tcp(const struct config *a, const struct config *b)
{
	unsigned int i;

	if (a->ntcp != b->ntcp)
		return false;
	for (i = 0; i < a->ntcp; i++)
		if (strcmp(a->tcp[i].name, b->tcp[i].name) ||
		    strcmp(a->tcp[i].host, b->tcp[i].host) ||
		    a->tcp[i].port != b->tcp[i].port ||
		    a->tcp[i].timeout_ms != b->tcp[i].timeout_ms ||
		    a->tcp[i].framing != b->tcp[i].framing ||
		    a->tcp[i].classes != b->tcp[i].classes ||
		    a->tcp[i].header_len != b->tcp[i].header_len ||
		    a->tcp[i].queue_depth != b->tcp[i].queue_depth ||
		    a->tcp[i].tls != b->tcp[i].tls ||
		    strcmp(a->tcp[i].ca, b->tcp[i].ca) ||
		    strcmp(a->tcp[i].cert, b->tcp[i].cert) ||
		    strcmp(a->tcp[i].key, b->tcp[i].key) ||
		    a->tcp[i].pin_set != b->tcp[i].pin_set ||
		    memcmp(a->tcp[i].pin, b->tcp[i].pin, sizeof(a->tcp[i].pin)) ||
		    a->tcp[i].tls_min != b->tcp[i].tls_min)
			return false;
	return true;
}

/*
 * SIGHUP: every key takes effect. Ports as at start (a section removed:
 * the port's weight, enabled and server go back to the defaults; what the
 * section had set in the kernel stays, as after any live change), the
 * [daemon] keys at once, [tcp] servers removed and added again when
 * their sections changed (a request on one is dispatched again), and so
 * is the [cascade].
 */
static void reload(void)
{
	static struct config next, was;
	char err[512], label[160];
	unsigned int i;

	if (!d.cfg_path)
		return;
	if (config_load(d.cfg_path, &next, err, sizeof(err))) {
		error("%s; keeping the running configuration", err);
		return;
	}
	if (d.stats_path)
		snprintf(next.stats_file, sizeof(next.stats_file), "%s",
			 d.stats_path);
	was = d.cfg;
	d.cfg = next;
	for (i = 0; i < was.nports; i++)
		if (!(was.ports[i].tty[0] ?
		      config_port_find_tty_path(&next, was.ports[i].tty) :
		      config_port_find(&next, was.ports[i].card,
				       was.ports[i].index)))
			info("%s: section removed: weight, enabled and server "
			     "back to their defaults; the port keeps its "
			     "settings in the kernel",
			     config_port_label(&was.ports[i], label,
					       sizeof(label)));
	if (next.probe_interval_ms != was.probe_interval_ms)
		info("probe_interval_ms: %u", next.probe_interval_ms);
	set_probe_timer();
	if (next.resync_ms != was.resync_ms) {
		set_timer(d.tfd, next.resync_ms);
		info("resync_ms: %u", next.resync_ms);
	}
	if (next.event_buffer != was.event_buffer)
		set_event_buffer(next.event_buffer);
	if (strcmp(next.stats_file, was.stats_file))
		info("stats_file: %s", next.stats_file[0] ? next.stats_file :
		     "none");
	if (next.audit != was.audit)
		info("audit: %s", next.audit ? "yes" : "no");
	audit_enable(next.audit);
	metrics_config(&next);
	realtime(&next, &was);
	apply_config(&d.cfg, true);
	if (!same_tcp(&next, &was)) {
		info("[tcp] sections changed: servers added again");
		tcp_fini();
		tcp_init(&d.cmd, d.epfd, &d.cfg);
	}
	if (memcmp(&next.cascade, &was.cascade, sizeof(next.cascade))) {
		/* What is out on its servers goes back to the queue. */
		info("[cascade] changed: started again");
		cascade_fini();
		if (cascade_init(&d.cmd, d.epfd, &d.cfg, &d.m))
			error("cascade: not started; this hub works alone");
	}
	resync();
	info("configuration reloaded from %s", d.cfg_path);
}

static int attach(void)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	int ret;

	ret = phnl_talk(&d.cmd, phnl_msg(&d.cmd, buf,
					 PERSOHUB_CMD_CTRL_ATTACH, 0),
			NULL, NULL);
	if (ret && !hub_gone(ret))
		error("attach: %s%s%s", strerror(-ret),
		      d.cmd.errmsg[0] ? ": " : "", d.cmd.errmsg);
	return ret;
}

static void detach(void)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];

	cmd_drain();
	phnl_talk(&d.cmd, phnl_msg(&d.cmd, buf, PERSOHUB_CMD_CTRL_DETACH, 0),
		  NULL, NULL);
}

/*
 * Real time as the configuration says: at start (@was NULL) and again on
 * reload, where only what changed is done, in either direction.
 */
static void realtime(const struct config *cfg, const struct config *was)
{
	struct sched_param sp = { .sched_priority = cfg->priority };
	long i, ncpu;
	cpu_set_t set;

	if (!was || cfg->cpu != was->cpu) {
		CPU_ZERO(&set);
		if (cfg->cpu >= 0) {
			CPU_SET(cfg->cpu, &set);
		} else {
			ncpu = sysconf(_SC_NPROCESSORS_CONF);
			for (i = 0; i < ncpu && i < CPU_SETSIZE; i++)
				CPU_SET(i, &set);
		}
		if ((cfg->cpu >= 0 || was) &&
		    sched_setaffinity(0, sizeof(set), &set))
			warn("cpu %d: %s", cfg->cpu, strerror(errno));
		else if (was)
			info("cpu: %d", cfg->cpu);
	}
	if (was && cfg->realtime == was->realtime &&
	    (!cfg->realtime || cfg->priority == was->priority))
		return;
	if (!cfg->realtime) {
		if (!was)
			return;
		sp.sched_priority = 0;
		munlockall();
		if (sched_setscheduler(0, SCHED_OTHER, &sp))
			warn("SCHED_OTHER: %s", strerror(errno));
		else
			info("realtime: no");
		return;
	}
	if ((!was || !was->realtime) && mlockall(MCL_CURRENT | MCL_FUTURE))
		warn("mlockall: %s", strerror(errno));
	if (sched_setscheduler(0, SCHED_FIFO, &sp))
		warn("SCHED_FIFO %d: %s", cfg->priority, strerror(errno));
	else if (was)
		info("realtime: yes, priority %d", cfg->priority);
}

/* The event socket's receive buffer: events queue there while we work. */
static void set_event_buffer(unsigned int bytes)
{
	bool forced;
	int got = phnl_set_rcvbuf(&d.ev, bytes, &forced);

	if (got < 0)
		warn("event_buffer %u: %s", bytes, strerror(-got));
	else if (!forced && (unsigned int)got < bytes)
		warn("event_buffer %u: SO_RCVBUFFORCE refused (no "
		     "CAP_NET_ADMIN), SO_RCVBUF gave %d bytes (raise "
		     "net.core.rmem_max)", bytes, got);
	else
		info("event buffer: %d bytes", got);
}

/* A timer ticking every @ms (0: stopped). */
static void set_timer(int fd, unsigned int ms)
{
	struct itimerspec its = { 0 };

	its.it_interval.tv_sec = ms / 1000;
	its.it_interval.tv_nsec = (ms % 1000) * 1000000L;
	its.it_value = its.it_interval;
	timerfd_settime(fd, 0, &its, NULL);
}

static void set_probe_timer(void)
{
	set_timer(d.probefd, d.cfg.probe_interval_ms);
}

/*
 * Requests we leave waiting (a pinned station's server is busy, a server
 * is disabled) must not look like a stalled controller to the hub: while
 * any wait, we say we are alive four times per grace period. Off the hot
 * path: the timer is started when requests are left waiting, and stops
 * at the first tick that finds none.
 */
static void keepalive_arm(void)
{
	if (d.ka_armed || !d.m.nwaiting || !d.grace_ms)
		return;
	set_timer(d.kafd, d.grace_ms / 4 ? d.grace_ms / 4 : 1);
	d.ka_armed = true;
}

static void keepalive_tick(void)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	int ret;

	if (!d.m.nwaiting) {
		set_timer(d.kafd, 0);
		d.ka_armed = false;
		return;
	}
	if (cmd_drain()) {
		resync();
		return;
	}
	ret = phnl_talk(&d.cmd, phnl_msg(&d.cmd, buf,
					 PERSOHUB_CMD_CTRL_KEEPALIVE, 0),
			NULL, NULL);
	if (ret && !hub_gone(ret))
		error("keepalive: %s", strerror(-ret));
	else if (!ret)
		d.keepalives++;
}

/*
 * The state file: what the daemon decides, for persohubctl daemon. Built
 * from the matching's view (idle, weights, pins, waiting requests), the
 * last dump (roles, names, the kernel's enabled flags) and the TCP links.
 */
static struct state st;

static bool is_server(uint32_t id)
{
	return id && id <= PH_MAX_PORTS && d.view[id].present &&
	       d.view[id].role == PERSOHUB_ROLE_SERVER;
}

/* Enabled by both the configuration and the kernel. */
static bool server_on(uint32_t id)
{
	return is_server(id) && d.view[id].cfg_enabled && !d.disabled[id];
}

static bool server_idle(uint32_t id)
{
	return id < MATCH_MAX_SERVERS && d.m.srv[id].idle;
}

static bool server_failed(uint32_t id)
{
	return (id < MATCH_MAX_SERVERS && d.failed[id]) ||
	       d.view[id].kstate == PERSOHUB_STATE_FAILED;
}

/* Servers: in all, enabled, enabled and idle. */
struct server_count {
	uint32_t all, on, idle;
};

/* Why request @i of the matching still waits. */
static enum state_reason held_reason(unsigned int i, uint32_t *server,
				     const struct server_count *n)
{
	uint32_t station = d.m.station[i], id;

	*server = station < MATCH_MAX_SERVERS ? d.m.pin[station] : 0;
	if (*server) {
		id = *server;
		if (!is_server(id))
			return HELD_PIN_GONE;
		if (!d.view[id].cfg_enabled)
			return HELD_PIN_DISABLED_CONFIG;
		if (d.disabled[id])
			return HELD_PIN_DISABLED_KERNEL;
		if (!server_idle(id) && server_failed(id))
			return HELD_PIN_FAILED;
		return server_idle(id) ? HELD_DISPATCHING : HELD_PIN_BUSY;
	}
	if (!n->all)
		return HELD_NO_SERVER;
	if (!n->on)
		return HELD_NO_ENABLED;
	return n->idle ? HELD_DISPATCHING : HELD_NO_IDLE;
}

static void state_port(struct state_port *sp, uint32_t id)
{
	memset(sp, 0, sizeof(*sp));
	sp->id = id;
	snprintf(sp->name, sizeof(sp->name), "%s", d.view[id].name);
	sp->role = d.view[id].role;
	sp->user = d.view[id].user;
	sp->config_enabled = d.view[id].cfg_enabled;
	sp->kernel_enabled = !d.disabled[id];
	sp->weight = id < MATCH_MAX_SERVERS ? d.m.srv[id].weight : 1;
	sp->pin = id < MATCH_MAX_SERVERS ? d.m.pin[id] : 0;
	sp->classes = id < MATCH_MAX_SERVERS ? d.m.srv[id].classes : 1;
	if (sp->role != PERSOHUB_ROLE_SERVER)
		snprintf(sp->state, sizeof(sp->state), "-");
	else
		snprintf(sp->state, sizeof(sp->state), "%s",
			 server_idle(id) ? "idle" :
			 server_failed(id) ? "failed" :
			 /* disabled: the matching never marks it idle */
			 !server_on(id) ? phnl_state_names[d.view[id].kstate % 3] :
			 "busy");
}

static void state_build(uint64_t now)
{
	static unsigned int at[PH_MAX_PORTS + 1];	/* id -> ports[] */
	struct server_count n = { 0 };
	struct tcp_link_info l;
	unsigned int i;
	uint32_t id;

	st.pid = getpid();
	st.started_ns = d.started_ns;
	st.updated_ns = now;
	snprintf(st.config, sizeof(st.config), "%s",
		 d.cfg_path ? d.cfg_path : "");
	st.resync_ms = d.cfg.resync_ms;
	st.nports = 0;
	for (id = 1; id <= PH_MAX_PORTS; id++) {
		if (!d.view[id].present)
			continue;
		at[id] = st.nports;
		state_port(&st.ports[st.nports++], id);
		n.all += is_server(id);
		n.on += server_on(id);
		n.idle += server_on(id) && server_idle(id);
	}
	for (st.ntcp = 0; st.ntcp < CONFIG_MAX_TCP &&
	     tcp_link_info(st.ntcp, &l); st.ntcp++) {
		struct state_tcp *t = &st.tcp[st.ntcp];

		t->id = l.id;
		snprintf(t->name, sizeof(t->name), "%s", l.name);
		snprintf(t->address, sizeof(t->address),
			 strchr(l.host, ':') ? "[%s]:%u" : "%s:%u", l.host,
			 l.port);
		snprintf(t->state, sizeof(t->state), "%s",
			 tcp_link_state_name(l.state));
		t->since_ns = l.since_ns;
		snprintf(t->error, sizeof(t->error), "%s", l.error);
	}
	memset(&st.cascade, 0, sizeof(st.cascade));
	if (cascade_on()) {
		const struct cascade_figures *f = cascade_figures();
		uint64_t *v = st.cascade.v;

		st.cascade.present = true;
		st.cascade.depth = f->depth;
		snprintf(st.cascade.name, sizeof(st.cascade.name), "%s",
			 f->name);
		snprintf(st.cascade.site, sizeof(st.cascade.site), "%s",
			 d.cfg.cascade.site);
		st.cascade.connected = f->connected;
		v[CASC_SENT] = f->sent;
		v[CASC_ANSWERED] = f->answered;
		v[CASC_GIVEN_BACK] = f->given_back;
		v[CASC_FAILED] = f->failed;
		v[CASC_TIMEOUTS] = f->timeouts;
		v[CASC_LATE] = f->late;
		v[CASC_REMOTE_IN] = f->remote_in;
		v[CASC_SERVED] = f->served;
		v[CASC_REMOTE_FAILED] = f->remote_failed;
		v[CASC_BUSY] = f->busy;
	}
	st.held_total = d.m.nwaiting;
	st.nheld = 0;
	for (i = 0; i < d.m.nwaiting; i++) {
		id = d.m.station[i];
		if (id && id <= PH_MAX_PORTS && d.view[id].present)
			st.ports[at[id]].held++;
		if (st.nheld == STATE_MAX_HELD)
			continue;
		st.held[st.nheld].req = d.m.waiting[i];
		st.held[st.nheld].station = id;
		st.held[st.nheld].reason =
			held_reason(i, &st.held[st.nheld].server, &n);
		st.nheld++;
	}
}

static void set_oneshot(int fd, uint64_t ns)
{
	struct itimerspec its = { 0 };

	its.it_value.tv_sec = ns / 1000000000;
	its.it_value.tv_nsec = ns % 1000000000;
	timerfd_settime(fd, 0, &its, NULL);
}

/*
 * Something may have changed: write the state file now, or when
 * STATE_MIN_MS have passed since the last write (a one-shot timer), so
 * that a busy site costs at most one write per STATE_MIN_MS.
 */
static void state_publish(uint64_t now)
{
	uint64_t min = STATE_MIN_MS * 1000000ULL;
	int ret;

	if (!d.state_path || !d.state_dirty)
		return;
	if (d.state_ns && now - d.state_ns < min) {
		if (!d.state_armed)
			set_oneshot(d.statefd, d.state_ns + min - now);
		d.state_armed = true;
		return;
	}
	d.state_dirty = false;
	d.state_ns = now;
	state_build(now);
	ret = state_save(d.state_path, &st);
	if (ret && !d.state_warned)
		warn("state file %s: %s", d.state_path, strerror(-ret));
	else if (!ret && d.state_warned)
		info("state file %s written again", d.state_path);
	d.state_warned = ret != 0;
}

/* The directory of the default state file, as systemd would make it. */
static void state_dir(void)
{
	char dir[256], *slash;

	if (!d.state_path)
		return;
	snprintf(dir, sizeof(dir), "%s", d.state_path);
	slash = strrchr(dir, '/');
	if (slash && slash != dir) {
		*slash = '\0';
		if (mkdir(dir, 0755) && errno != EEXIST)
			warn("%s: %s", dir, strerror(errno));
	}
}

static int add_fd(int fd)
{
	struct epoll_event e = { .events = EPOLLIN, .data.fd = fd };

	return epoll_ctl(d.epfd, EPOLL_CTL_ADD, fd, &e);
}

/*
 * The kernel's uevents: a port's device added to the persohub class
 * (a card bound, a tty attached) is a port to configure. The hub sends
 * no event of its own for a new port; the periodic resync would find it
 * only by a new id, and a card bound again gets its old ids back.
 */
static int uevent_open(void)
{
	struct sockaddr_nl sa = { .nl_family = AF_NETLINK, .nl_groups = 1 };
	int fd = socket(AF_NETLINK, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK,
			NETLINK_KOBJECT_UEVENT);

	if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof(sa))) {
		warn("uevents: %s; new ports are configured at the next "
		     "resync", strerror(errno));
		if (fd >= 0)
			close(fd);
		return -1;
	}
	return fd;
}

static void on_uevent(void)
{
	char buf[4096], *p, *end, *name;
	bool ours;
	ssize_t n;

	while ((n = recv(d.uevfd, buf, sizeof(buf) - 1, 0)) > 0) {
		buf[n] = '\0';
		/* "add@DEVPATH\0KEY=VALUE\0..." from the kernel */
		if (strncmp(buf, "add@", 4))
			continue;
		ours = false;
		for (p = buf + strlen(buf) + 1, end = buf + n; p < end;
		     p += strlen(p) + 1)
			ours |= !strcmp(p, "SUBSYSTEM=persohub");
		name = strrchr(buf, '/');
		if (!ours || !name || strlen(name + 1) >= PHNL_NAME_LEN)
			continue;
		if (d.nappeared < sizeof(d.appeared) / sizeof(d.appeared[0]))
			snprintf(d.appeared[d.nappeared++], PHNL_NAME_LEN,
				 "%s", name + 1);
		else
			memset(d.seen, 0, sizeof(d.seen));	/* all anew */
		d.configure_new = true;
	}
}

static int setup(void)
{
	sigset_t mask;
	int ret;

	ret = phnl_open(&d.cmd);
	if (!ret)
		ret = phnl_open(&d.ev);
	if (ret) {
		error("persohub netlink family: %s (is the module loaded?)",
		      strerror(-ret));
		return ret;
	}
	/* The family's removal (rmmod) is announced on the event socket. */
	ret = phnl_watch_family(&d.ev);
	if (ret) {
		error("nlctrl notify group: %s", strerror(-ret));
		return ret;
	}
	set_event_buffer(d.cfg.event_buffer);
	/* Subscribe before the first dump, so nothing falls between. */
	ret = phnl_subscribe(&d.ev);
	if (ret) {
		error("events group: %s", strerror(-ret));
		return ret;
	}
	d.uevfd = uevent_open();

	sigemptyset(&mask);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGINT);
	sigaddset(&mask, SIGHUP);
	sigaddset(&mask, SIGUSR1);
	d.sigfd = signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK);
	d.tfd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK);
	d.probefd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK);
	d.kafd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK);
	d.statefd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK);
	d.epfd = epoll_create1(EPOLL_CLOEXEC);
	if (d.sigfd < 0 || d.tfd < 0 || d.probefd < 0 || d.kafd < 0 ||
	    d.statefd < 0 || d.epfd < 0) {
		error("setup: %s", strerror(errno));
		return -errno;
	}
	set_timer(d.tfd, d.cfg.resync_ms);
	set_probe_timer();
	if (add_fd(phnl_fd(&d.ev)) || add_fd(phnl_fd(&d.cmd)) ||
	    add_fd(d.sigfd) || add_fd(d.tfd) || add_fd(d.probefd) ||
	    add_fd(d.kafd) || add_fd(d.statefd) ||
	    (d.uevfd >= 0 && add_fd(d.uevfd))) {
		error("epoll: %s", strerror(errno));
		return -errno;
	}
	return 0;
}

static void on_signal(void)
{
	struct signalfd_siginfo si;

	while (read(d.sigfd, &si, sizeof(si)) == sizeof(si)) {
		switch (si.ssi_signo) {
		case SIGTERM:
		case SIGINT:
			d.quit = true;
			break;
		case SIGHUP:
			reload();
			break;
		case SIGUSR1:
			write_stats(stderr);
			break;
		}
	}
}

static int attach(void);

/* The hub stopped waiting for us (we were stalled): take control back. */
static void regain(void)
{
	d.regain = false;
	warn("the hub matched without us (stalled?); attaching again");
	if (!attach())
		resync();
}

static int audit_cb(const struct phnl_attrs *at, void *data)
{
	(void)data;
	if (at->cmd == PERSOHUB_CMD_REQUEST_DONE)
		audit_done(at);
	return 0;
}

static void on_events(uint64_t t0)
{
	uint64_t bad = d.ev.bad_msgs;
	int ret = phnl_drain(&d.ev, event_cb, &t0);

	if (d.ev.bad_msgs != bad) {
		/* An event we could not read is an event lost. */
		d.bad_events += d.ev.bad_msgs - bad;
		warn("malformed event ignored (%llu so far); resyncing",
		     (unsigned long long)d.bad_events);
		d.resync_due = true;
	}
	if (ret == -ENOBUFS) {
		/* Events were lost: the kernel's state is the truth. */
		d.lost_events++;
		/* The 1st, 2nd, 4th, 8th... time: a flood stays readable. */
		if (!(d.lost_events & (d.lost_events - 1)))
			warn("events lost (ENOBUFS, %llu so far); resyncing",
			     (unsigned long long)d.lost_events);
		/* Stale for matching, but each end is an audit record. */
		phnl_drain(&d.ev, audit_cb, NULL);
		resync();
	}
}

/*
 * The module went away (rmmod): its family is gone, and with it the ids
 * this daemon resolved. Exit with EXIT_HUB_GONE rather than talk to
 * nobody: systemd starts the daemon again (Restart=on-failure), and so
 * does udev when the module's ports come back.
 */
static bool gone(void)
{
	if (!d.ev.gone && !d.cmd.gone)
		return false;
	error("the persohub module was unloaded (its netlink family is "
	      "gone); exiting with status %d, to be started again with it",
	      EXIT_HUB_GONE);
	d.status = EXIT_HUB_GONE;
	return true;
}

static void loop(void)
{
	struct epoll_event evs[8];
	uint64_t t0, ticks;
	int i, n;

	while (!d.quit) {
		n = epoll_wait(d.epfd, evs, 8, -1);
		t0 = now_ns();
		if (n < 0) {
			if (errno == EINTR)
				continue;
			error("epoll_wait: %s", strerror(errno));
			return;
		}
		for (i = 0; i < n; i++) {
			int fd = evs[i].data.fd;

			if (fd == phnl_fd(&d.ev)) {
				on_events(t0);
			} else if (fd == phnl_fd(&d.cmd)) {
				if (cmd_drain())
					resync();
			} else if (fd == d.sigfd) {
				on_signal();
			} else if (fd == d.uevfd) {
				on_uevent();
			} else if (fd == d.kafd) {
				if (read(d.kafd, &ticks, sizeof(ticks)) > 0)
					keepalive_tick();
			} else if (fd == d.statefd) {
				if (read(d.statefd, &ticks, sizeof(ticks)) > 0)
					d.state_armed = false;
			} else if (fd == d.probefd) {
				if (read(d.probefd, &ticks, sizeof(ticks)) > 0) {
					probe_failed();
				}
			} else if (tcp_handle(fd) || metrics_handle(fd) ||
				   cascade_handle(fd)) {
				continue;
			} else if (fd == d.tfd) {
				if (read(d.tfd, &ticks, sizeof(ticks)) > 0) {
					/* Slow path: reconcile, publish. */
					resync();
					save_stats();
					notify_status();
				}
			}
		}
		if (gone())
			return;
		/* Seen in events, whichever way they were read. */
		if (d.regain)
			regain();
		/* New ports: configured as at start, then counted in. */
		if (d.configure_new) {
			d.configure_new = false;
			apply_config(&d.cfg, false);
			d.resync_due = true;
		}
		/* A refused dispatch, read by whichever call: resync. */
		if (take_refusals() || d.resync_due)
			resync();
		if (gone())
			return;
		dispatch_all(t0);
		/* The journal after the dispatches, never before. */
		audit_flush();
		keepalive_arm();
		/* Any wakeup may change what the state file says. */
		d.state_dirty = true;
		state_publish(now_ns());
	}
}

static void usage(FILE *f)
{
	fprintf(f,
		"Usage: persohubd [-c FILE] [-s FILE] [-S FILE] [-d] [-V]\n"
		"The persohub controller: attaches to the hub and dispatches\n"
		"every waiting request to the best idle server.\n"
		"  -c, --config FILE   configuration (default " DEFAULT_CONFIG
		");\n"
		"                      'none' to run without one\n"
		"  -s, --stats FILE    write figures to FILE every resync\n"
		"  -S, --state FILE    write what the daemon decides to FILE\n"
		"                      (default " STATE_FILE ";\n"
		"                      'none': no file), read by persohubctl\n"
		"                      daemon\n"
		"  -d, --debug         log debugging messages too\n"
		"  -V, --version       print the version and exit\n"
		"Signals: HUP reloads the configuration, USR1 prints figures,\n"
		"TERM detaches (the kernel matches again) and exits.\n"
		"Exits with status %d when the persohub module is unloaded.\n",
		EXIT_HUB_GONE);
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "stats", required_argument, NULL, 's' },
		{ "state", required_argument, NULL, 'S' },
		{ "debug", no_argument, NULL, 'd' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ }
	};
	const char *stats = NULL;
	bool debug = false;
	char err[512];
	sigset_t mask;
	int c, ret;

	d.cfg_path = DEFAULT_CONFIG;
	d.state_path = STATE_FILE;
	d.uevfd = -1;
	d.started_ns = now_ns();
	while ((c = getopt_long(argc, argv, "c:s:S:dhV", opts, NULL)) != -1) {
		switch (c) {
		case 'V':
			printf("persohubd %s\n", PH_VERSION);
			return 0;
		case 'd':
			debug = true;
			break;
		case 'c':
			d.cfg_path = strcmp(optarg, "none") ? optarg : NULL;
			break;
		case 's':
			stats = optarg;
			break;
		case 'S':
			d.state_path = strcmp(optarg, "none") ? optarg : NULL;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	/* Signals are read from a signalfd; none may act before that. */
	sigemptyset(&mask);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGINT);
	sigaddset(&mask, SIGHUP);
	sigaddset(&mask, SIGUSR1);
	sigprocmask(SIG_BLOCK, &mask, NULL);
	setvbuf(stderr, NULL, _IOLBF, 0);
	log_init(debug);
	config_defaults(&d.cfg);
	match_init(&d.m);
	if (d.cfg_path && access(d.cfg_path, F_OK) && !strcmp(d.cfg_path,
							       DEFAULT_CONFIG)) {
		info("no %s, running with the kernel's settings", d.cfg_path);
		d.cfg_path = NULL;
	}
	if (d.cfg_path && config_load(d.cfg_path, &d.cfg, err, sizeof(err))) {
		error("%s", err);
		return 1;
	}
	d.stats_path = stats;
	if (stats)
		snprintf(d.cfg.stats_file, sizeof(d.cfg.stats_file), "%s",
			 stats);
	if (setup())
		return 1;
	if (d.cfg_path && apply_config(&d.cfg, true))
		return gone() ? EXIT_HUB_GONE : 1;
	realtime(&d.cfg, NULL);
	if (attach())
		return gone() ? EXIT_HUB_GONE : 1;
	tcp_init(&d.cmd, d.epfd, &d.cfg);
	/* Before the first dump, so its servers are seen as overflow. */
	if (cascade_init(&d.cmd, d.epfd, &d.cfg, &d.m))
		error("cascade: not started; this hub works alone");
	audit_enable(d.cfg.audit);
	resync();
	ret = metrics_init(&d.cmd, d.epfd, &d.cfg, daemon_figures);
	if (ret)
		warn("metrics: %s", strerror(-ret));
	info("attached as controller; %u requests waiting", d.m.nwaiting);
	sd_notify(0, "READY=1\nSTATUS=dispatching");
	dispatch_all(now_ns());
	state_dir();
	d.state_dirty = true;
	state_publish(now_ns());
	loop();
	audit_flush();
	sd_notify(0, "STOPPING=1");
	/* No daemon, no state: persohubctl daemon then says so. */
	if (d.state_path)
		unlink(d.state_path);
	if (d.status == EXIT_HUB_GONE) {
		save_stats();
		write_stats(stderr);
		return d.status;
	}
	cascade_fini();
	tcp_fini();
	detach();
	save_stats();
	info("detached; the kernel matches again");
	write_stats(stderr);
	return d.status;
}
