// SPDX-License-Identifier: GPL-2.0
/*
 * The metrics file: node_exporter's textfile collector reads every *.prom
 * file of its directory (Debian: /var/lib/prometheus/node-exporter) on
 * each scrape, in the Prometheus text exposition format (version 0.0.4):
 *
 *   # HELP persohub_port_requests_total Station: request frames received; ...
 *   # TYPE persohub_port_requests_total counter
 *   persohub_port_requests_total{port="m1-st1",role="station"} 1234
 *
 * Every family has its HELP and TYPE lines and its samples together;
 * counters end in _total; times are in seconds; histograms have
 * cumulative _bucket{le="..."} samples, the last le="+Inf", then _sum and
 * _count. The file is written whole under a temporary name in the same
 * directory (not ending in .prom, so the collector skips it) and renamed
 * over the old one: a scrape sees the old file or the new, never half.
 * No fsync: after a crash the next interval writes it again.
 *
 * Off the hot path: three dumps and a reply every metrics_interval_ms.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/stat.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include "audit.h"
#include "log.h"
#include "metrics.h"
#include "phlimits.h"
#include "cascade.h"
#include "tcp.h"

#define HIST_MAX	64

static const char *const stat_help[PERSOHUB_STAT_MAX + 1] = {
	[PERSOHUB_STAT_RX_BYTES] = "Bytes received.",
	[PERSOHUB_STAT_TX_BYTES] = "Bytes sent.",
	[PERSOHUB_STAT_OVERRUNS] = "Receive overruns (bytes lost by the UART).",
	[PERSOHUB_STAT_FRAMING_ERRORS] = "Bytes received with a framing error.",
	[PERSOHUB_STAT_PARITY_ERRORS] = "Bytes received with a parity error.",
	[PERSOHUB_STAT_BREAKS] = "Line breaks received.",
	[PERSOHUB_STAT_RX_FRAMES] = "Frames received with a good check.",
	[PERSOHUB_STAT_TX_FRAMES] = "Frames sent.",
	[PERSOHUB_STAT_FCS_ERRORS] = "Frames dropped for a bad FCS.",
	[PERSOHUB_STAT_FRAME_TOO_LONG] = "Frames dropped for exceeding max_payload.",
	[PERSOHUB_STAT_FRAME_TOO_SHORT] = "Frames dropped for being too short.",
	[PERSOHUB_STAT_FRAME_ABORTS] = "Frames aborted by their sender.",
	[PERSOHUB_STAT_REQUESTS] = "Station: request frames received; server: requests dispatched to it.",
	[PERSOHUB_STAT_RESPONSES] = "Station: responses sent to it; server: responses received from it.",
	[PERSOHUB_STAT_ERRORS_SENT] = "Error frames sent to a station.",
	[PERSOHUB_STAT_TIMEOUTS] = "Server: responses not received in time.",
	[PERSOHUB_STAT_RETRIES] = "Station: its requests dispatched again after a server failed.",
	[PERSOHUB_STAT_QUEUE_FULL] = "Station: requests beyond queue_depth.",
	[PERSOHUB_STAT_UNEXPECTED_FRAMES] = "Frames nobody asked for.",
	[PERSOHUB_STAT_DROPPED] = "Requests, responses or frames dropped.",
	[PERSOHUB_STAT_BUSY_NS] = "Server: time spent serving requests.",
	[PERSOHUB_STAT_LRC_ERRORS] = "Frames dropped for a bad LRC.",
	[PERSOHUB_STAT_LENGTH_ERRORS] = "Frames dropped for a wrong length.",
	[PERSOHUB_STAT_FRAME_TRUNCATED] = "Frames cut short and dropped.",
	[PERSOHUB_STAT_FRAME_REFUSED] = "Payloads this port's framing cannot carry.",
};

struct mport {
	uint32_t id, role, state;
	bool enabled, user, have_stats;
	uint32_t queue;
	char name[PHNL_NAME_LEN];
	uint64_t stats[PERSOHUB_STAT_MAX + 1];
};

static struct {
	struct phnl *nl;
	void (*figures)(struct metrics_daemon *);
	int tfd;
	char dir[sizeof(((struct config *)0)->metrics_dir)];
	unsigned int interval_ms;
	int last_err;		/* logged once until it changes */
	/* what one pass gathers */
	struct mport port[PH_MAX_PORTS];
	unsigned int nports;
	uint32_t waiting;
	uint64_t next_id, events_dropped, hist_sum_ns;
	uint8_t attached;
	uint64_t hist[HIST_MAX];
	unsigned int hist_n;
	/* the classes: their names in the configuration, their waits */
	char class_name[PERSOHUB_CLASS_MAX + 1][CONFIG_NAME_LEN];
	struct mclass {
		bool seen;
		uint64_t dispatched, waiting, wait_ns;
		uint64_t hist[HIST_MAX];
		unsigned int hist_n;
	} class[PERSOHUB_CLASS_MAX + 1];
} m = { .tfd = -1 };

static struct mport *port_by_id(uint32_t id)
{
	unsigned int i;

	for (i = 0; i < m.nports; i++)
		if (m.port[i].id == id)
			return &m.port[i];
	return NULL;
}

static int port_cb(const struct phnl_attrs *at, void *data)
{
	struct mport *p;

	(void)data;
	if (m.nports == PH_MAX_PORTS || !at->a[PERSOHUB_A_PORT_ID])
		return 0;
	p = &m.port[m.nports++];
	memset(p, 0, sizeof(*p));
	p->id = phnl_u32(at, PERSOHUB_A_PORT_ID, 0);
	p->role = phnl_u32(at, PERSOHUB_A_PORT_ROLE, 0);
	p->state = phnl_u32(at, PERSOHUB_A_PORT_STATE, 0);
	p->enabled = phnl_u8(at, PERSOHUB_A_PORT_ENABLED, 1);
	p->user = at->a[PERSOHUB_A_PORT_USER] != NULL;
	p->queue = phnl_u32(at, PERSOHUB_A_PORT_QUEUE, 0);
	snprintf(p->name, sizeof(p->name), "%s",
		 phnl_str(at, PERSOHUB_A_PORT_NAME));
	return 0;
}

static int stats_cb(const struct phnl_attrs *at, void *data)
{
	struct mport *p = port_by_id(phnl_u32(at, PERSOHUB_A_PORT_ID, 0));
	const struct nlattr *a;
	uint16_t t;

	(void)data;
	if (!p || !at->a[PERSOHUB_A_STATS])
		return 0;
	mnl_attr_for_each_nested(a, at->a[PERSOHUB_A_STATS]) {
		t = mnl_attr_get_type(a);
		if (t && t <= PERSOHUB_STAT_MAX &&
		    mnl_attr_get_payload_len(a) == sizeof(uint64_t))
			p->stats[t] = mnl_attr_get_u64(a);
	}
	p->have_stats = true;
	return 0;
}

/* A PERSOHUB_A_HIST nest: bucket i is attribute type i + 1. */
static void hist_get(const struct nlattr *nest, uint64_t *hist,
		     unsigned int *n)
{
	const struct nlattr *a;
	uint16_t t;

	*n = 0;
	if (!nest)
		return;
	mnl_attr_for_each_nested(a, nest) {
		t = mnl_attr_get_type(a);
		if (t && t <= HIST_MAX &&
		    mnl_attr_get_payload_len(a) == sizeof(uint64_t)) {
			hist[t - 1] = mnl_attr_get_u64(a);
			if (t > *n)
				*n = t;
		}
	}
}

static int hub_cb(const struct phnl_attrs *at, void *data)
{
	(void)data;
	m.waiting = phnl_u32(at, PERSOHUB_A_HUB_WAITING, 0);
	m.next_id = phnl_u64(at, PERSOHUB_A_HUB_NEXT_ID, 1);
	m.events_dropped = phnl_u64(at, PERSOHUB_A_HUB_EVENTS_DROPPED, 0);
	m.hist_sum_ns = phnl_u64(at, PERSOHUB_A_HUB_DISPATCH_NS, 0);
	m.attached = phnl_u8(at, PERSOHUB_A_CTRL_ATTACHED, 0);
	hist_get(at->a[PERSOHUB_A_HIST], m.hist, &m.hist_n);
	return 0;
}

static int class_cb(const struct phnl_attrs *at, void *data)
{
	uint32_t id = phnl_u32(at, PERSOHUB_A_CLASS_ID, PERSOHUB_CLASS_MAX + 1);
	const struct nlattr *a;
	struct mclass *c;
	uint16_t t;

	(void)data;
	if (id > PERSOHUB_CLASS_MAX || !at->a[PERSOHUB_A_CLASS_STATS])
		return 0;
	c = &m.class[id];
	memset(c, 0, sizeof(*c));
	c->seen = true;
	mnl_attr_for_each_nested(a, at->a[PERSOHUB_A_CLASS_STATS]) {
		t = mnl_attr_get_type(a);
		if (mnl_attr_get_payload_len(a) != sizeof(uint64_t))
			continue;
		if (t == PERSOHUB_CLASS_STAT_DISPATCHED)
			c->dispatched = mnl_attr_get_u64(a);
		else if (t == PERSOHUB_CLASS_STAT_WAITING)
			c->waiting = mnl_attr_get_u64(a);
		else if (t == PERSOHUB_CLASS_STAT_WAIT_NS)
			c->wait_ns = mnl_attr_get_u64(a);
	}
	hist_get(at->a[PERSOHUB_A_HIST], c->hist, &c->hist_n);
	return 0;
}

/* Ask the kernel for ports, their counters and the hub's. */
static int gather(void)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	int ret;

	m.nports = 0;
	ret = phnl_talk(m.nl, phnl_msg(m.nl, buf, PERSOHUB_CMD_PORT_GET,
				       NLM_F_DUMP), port_cb, NULL);
	if (!ret)
		ret = phnl_talk(m.nl, phnl_msg(m.nl, buf,
					       PERSOHUB_CMD_STATS_GET,
					       NLM_F_DUMP), stats_cb, NULL);
	if (!ret)
		ret = phnl_talk(m.nl, phnl_msg(m.nl, buf,
					       PERSOHUB_CMD_STATS_GET, 0),
				hub_cb, NULL);
	memset(m.class, 0, sizeof(m.class));
	if (!ret)
		ret = phnl_talk(m.nl, phnl_msg(m.nl, buf,
					       PERSOHUB_CMD_CLASS_GET,
					       NLM_F_DUMP), class_cb, NULL);
	return ret;
}

/* A label value: backslash, double quote and newline escaped. */
static void label(FILE *f, const char *s)
{
	for (; *s; s++) {
		if (*s == '\\' || *s == '"')
			fprintf(f, "\\%c", *s);
		else if (*s == '\n')
			fputs("\\n", f);
		else
			fputc(*s, f);
	}
}

static void family(FILE *f, const char *name, const char *type,
		   const char *help)
{
	fprintf(f, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

static void one(FILE *f, const char *name, const char *type,
		const char *help, unsigned long long v)
{
	family(f, name, type, help);
	fprintf(f, "%s %llu\n", name, v);
}

/* Nanoseconds as seconds, exactly: 1023 -> 0.000001023 */
static void secs(FILE *f, uint64_t ns)
{
	fprintf(f, "%llu.%09llu", (unsigned long long)(ns / 1000000000ULL),
		(unsigned long long)(ns % 1000000000ULL));
}

static void port_labels(FILE *f, const struct mport *p)
{
	fputs("{port=\"", f);
	label(f, p->name);
	fprintf(f, "\",role=\"%s\"", p->role < 3 ? phnl_role_names[p->role] :
		"unknown");
}

/*
 * A histogram of power-of-two buckets, as the hub and the daemon keep
 * them: bucket 0 holds 0 ns, bucket i [2^(i-1), 2^i) ns (at most
 * 2^i - 1, its le), the last is open-ended.
 */
static void hist_samples(FILE *f, const char *name, const char *labels,
			 const uint64_t *b, unsigned int n, uint64_t sum_ns)
{
	const char *sep = labels[0] ? "," : "";
	unsigned long long acc = 0;
	unsigned int i;

	for (i = 0; i + 1 < n && i < 63; i++) {
		acc += b[i];
		fprintf(f, "%s_bucket{%s%sle=\"", name, labels, sep);
		secs(f, i ? (1ULL << i) - 1 : 0);
		fprintf(f, "\"} %llu\n", acc);
	}
	for (; i < n; i++)
		acc += b[i];
	fprintf(f, "%s_bucket{%s%sle=\"+Inf\"} %llu\n", name, labels, sep,
		acc);
	fprintf(f, labels[0] ? "%s_sum{%s} " : "%s_sum%s ", name, labels);
	secs(f, sum_ns);
	fprintf(f, labels[0] ? "\n%s_count{%s} %llu\n" : "\n%s_count%s %llu\n",
		name, labels, acc);
}

static void histogram(FILE *f, const char *name, const char *help,
		      const uint64_t *b, unsigned int n, uint64_t sum_ns)
{
	family(f, name, "histogram", help);
	hist_samples(f, name, "", b, n, sum_ns);
}

static void write_ports(FILE *f)
{
	char name[96];
	unsigned int s, i, k;

	for (s = 1; s <= PERSOHUB_STAT_MAX; s++) {
		if (!phnl_stat_names[s])
			continue;
		if (s == PERSOHUB_STAT_BUSY_NS)
			snprintf(name, sizeof(name),
				 "persohub_port_busy_seconds_total");
		else
			snprintf(name, sizeof(name), "persohub_port_%s_total",
				 phnl_stat_names[s]);
		family(f, name, "counter", stat_help[s] ? stat_help[s] :
		       phnl_stat_names[s]);
		for (i = 0; i < m.nports; i++) {
			if (!m.port[i].have_stats)
				continue;
			fputs(name, f);
			port_labels(f, &m.port[i]);
			fputs("} ", f);
			if (s == PERSOHUB_STAT_BUSY_NS)
				secs(f, m.port[i].stats[s]);
			else
				fprintf(f, "%llu", (unsigned long long)
					m.port[i].stats[s]);
			fputc('\n', f);
		}
	}
	family(f, "persohub_port_queue", "gauge",
	       "Station: requests outstanding now.");
	for (i = 0; i < m.nports; i++) {
		if (m.port[i].role != PERSOHUB_ROLE_STATION)
			continue;
		fputs("persohub_port_queue", f);
		port_labels(f, &m.port[i]);
		fprintf(f, "} %u\n", m.port[i].queue);
	}
	family(f, "persohub_port_state", "gauge",
	       "Server: 1 for its state now (idle, busy, failed), else 0.");
	for (i = 0; i < m.nports; i++) {
		if (m.port[i].role != PERSOHUB_ROLE_SERVER)
			continue;
		for (k = 0; k < 3; k++) {
			fputs("persohub_port_state", f);
			port_labels(f, &m.port[i]);
			fprintf(f, ",state=\"%s\"} %d\n", phnl_state_names[k],
				m.port[i].state == k);
		}
	}
	family(f, "persohub_port_enabled", "gauge",
	       "Server: 1 if it may take requests, 0 if an administrator "
	       "took it out of service.");
	for (i = 0; i < m.nports; i++) {
		if (m.port[i].role != PERSOHUB_ROLE_SERVER)
			continue;
		fputs("persohub_port_enabled", f);
		port_labels(f, &m.port[i]);
		fprintf(f, "} %d\n", m.port[i].enabled);
	}
}

static void write_hub(FILE *f)
{
	one(f, "persohub_hub_waiting_requests", "gauge",
	    "Requests waiting for a server now.", m.waiting);
	one(f, "persohub_hub_requests_total", "counter",
	    "Requests the hub made (ids given) since the module loaded.",
	    m.next_id ? m.next_id - 1 : 0);
	one(f, "persohub_hub_events_dropped_total", "counter",
	    "Events the hub could not allocate.", m.events_dropped);
	one(f, "persohub_hub_controller_attached", "gauge",
	    "1 while a controller is attached and in charge.", m.attached);
	histogram(f, "persohub_hub_dispatch_latency_seconds",
		  "From a request's arrival to its dispatch, in the kernel.",
		  m.hist, m.hist_n, m.hist_sum_ns);
}

/* The [cascade]'s, when one runs. */
static void write_cascade(FILE *f)
{
	const struct cascade_figures *c = cascade_figures();

	one(f, "persohub_cascade_connected", "gauge",
	    "1 while connected to a NATS server.", c->connected);
	one(f, "persohub_cascade_sent_total", "counter",
	    "Requests sent to other hubs.", c->sent);
	one(f, "persohub_cascade_answered_total", "counter",
	    "Answers from other hubs given to our stations.", c->answered);
	one(f, "persohub_cascade_given_back_total", "counter",
	    "Requests out given back (no responders, busy, link lost).",
	    c->given_back);
	one(f, "persohub_cascade_failed_total", "counter",
	    "Requests out failed (error reply or timeout): retried.",
	    c->failed);
	one(f, "persohub_cascade_timeouts_total", "counter",
	    "Requests out with no reply in time.", c->timeouts);
	one(f, "persohub_cascade_late_replies_total", "counter",
	    "Replies discarded: their request was no longer out.", c->late);
	one(f, "persohub_cascade_remote_requests_total", "counter",
	    "Requests other hubs sent us.", c->remote_in);
	one(f, "persohub_cascade_remote_served_total", "counter",
	    "Requests of other hubs answered here.", c->served);
	one(f, "persohub_cascade_remote_failed_total", "counter",
	    "Requests of other hubs that ended here unanswered.",
	    c->remote_failed);
	one(f, "persohub_cascade_busy_replies_total", "counter",
	    "Busy replies sent: no idle server when a request came.",
	    c->busy);
	one(f, "persohub_cascade_connects_total", "counter",
	    "Connections made to a NATS server.", c->connects);
}

/* Class 0, every class the configuration names, and any with figures. */
static bool class_shown(unsigned int id)
{
	const struct mclass *c = &m.class[id];

	return c->seen && (!id || m.class_name[id][0] || c->dispatched ||
			   c->waiting);
}

/*
 * Each class's wait, arrival to dispatch, from the kernel's histogram of
 * it: one family, a series per class, labelled with its number and, when
 * the configuration names it (class 0 is always "default"), its name.
 */
static void write_classes(FILE *f)
{
	static const char wait[] = "persohub_class_wait_seconds";
	char labels[32 + 2 * CONFIG_NAME_LEN];
	unsigned int id;
	size_t n;
	FILE *lf;

	family(f, "persohub_class_waiting_requests", "gauge",
	       "Requests of the class waiting now.");
	for (id = 0; id <= PERSOHUB_CLASS_MAX; id++)
		if (class_shown(id))
			fprintf(f, "persohub_class_waiting_requests{class=\"%u\"} %llu\n",
				id, (unsigned long long)m.class[id].waiting);
	family(f, wait, "histogram",
	       "From a request's arrival to its dispatch, per class.");
	for (id = 0; id <= PERSOHUB_CLASS_MAX; id++) {
		if (!class_shown(id))
			continue;
		lf = fmemopen(labels, sizeof(labels), "w");
		if (!lf)
			continue;
		fprintf(lf, "class=\"%u\"", id);
		if (m.class_name[id][0]) {
			fputs(",name=\"", lf);
			label(lf, m.class_name[id]);
			fputc('"', lf);
		}
		n = ftell(lf);
		fclose(lf);
		labels[n < sizeof(labels) ? n : sizeof(labels) - 1] = '\0';
		hist_samples(f, wait, labels, m.class[id].hist,
			     m.class[id].hist_n, m.class[id].wait_ns);
	}
}

static void write_daemon(FILE *f)
{
	const struct audit_figures *a = audit_figures();
	const struct tcp_figures *t = tcp_figures();
	struct metrics_daemon d = { 0 };

	m.figures(&d);
	one(f, "persohub_daemon_dispatches_total", "counter",
	    "Dispatches persohubd sent.", d.dispatches);
	one(f, "persohub_daemon_dispatch_batches_total", "counter",
	    "sendmsg() calls carrying dispatches.", d.batches);
	one(f, "persohub_daemon_dispatches_refused_total", "counter",
	    "Dispatches the kernel refused (a stale view, resynced).",
	    d.refused);
	one(f, "persohub_daemon_resyncs_total", "counter",
	    "Times persohubd read the kernel's state again.", d.resyncs);
	one(f, "persohub_daemon_lost_events_total", "counter",
	    "Times events were lost (ENOBUFS on the event socket).",
	    d.lost_events);
	one(f, "persohub_daemon_bad_events_total", "counter",
	    "Malformed events ignored.", d.bad_events);
	one(f, "persohub_daemon_events_total", "counter",
	    "Events received.", d.events);
	one(f, "persohub_daemon_keepalives_total", "counter",
	    "Keepalives sent to the hub.", d.keepalives);
	one(f, "persohub_daemon_probes_total", "counter",
	    "Health probes sent to failed servers.", d.probes);
	one(f, "persohub_daemon_probes_answered_total", "counter",
	    "Failed servers back in service after a probe.", d.probes_back);
	one(f, "persohub_daemon_waiting_requests", "gauge",
	    "Requests waiting, as persohubd sees them.", d.waiting);
	one(f, "persohub_daemon_tcp_requests_total", "counter",
	    "Requests sent to TCP servers.", t->requests);
	one(f, "persohub_daemon_tcp_responses_total", "counter",
	    "Responses received from TCP servers.", t->responses);
	one(f, "persohub_daemon_tcp_connects_total", "counter",
	    "Connections made to TCP servers.", t->connects);
	one(f, "persohub_daemon_tcp_ktls_links", "gauge",
	    "TLS links up whose records the kernel carries (kTLS).",
	    t->ktls_links);
	one(f, "persohub_daemon_audit_records_total", "counter",
	    "Audit records written, one per finished request.", a->records);
	one(f, "persohub_daemon_audit_gaps_total", "counter",
	    "Audit gap records written.", a->gaps);
	one(f, "persohub_daemon_audit_gap_requests_total", "counter",
	    "Requests covered by audit gap records.", a->gap_requests);
	one(f, "persohub_daemon_audit_errors_total", "counter",
	    "Audit records the journal refused.", a->errors);
	family(f, "persohub_daemon_audit_cpu_seconds_total", "counter",
	       "CPU time persohubd spent writing audit records.");
	fputs("persohub_daemon_audit_cpu_seconds_total ", f);
	secs(f, a->cpu_ns);
	fputc('\n', f);
	if (cascade_on())
		write_cascade(f);
	histogram(f, "persohub_daemon_wakeup_to_dispatch_seconds",
		  "From persohubd's wakeup to its dispatches sent.",
		  d.lat_hist, d.lat_buckets, d.lat_sum_ns);
}

int metrics_write(void)
{
	char path[sizeof(m.dir) + 32], tmp[sizeof(m.dir) + 32];
	FILE *f;
	int fd, ret;

	if (!m.dir[0])
		return 0;
	ret = gather();
	if (ret)
		goto out;
	snprintf(path, sizeof(path), "%s/" METRICS_FILE, m.dir);
	snprintf(tmp, sizeof(tmp), "%s/." METRICS_FILE ".tmp", m.dir);
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	/*
	 * node_exporter reads it as its own user: 0644 whatever the umask
	 * (persohubd.service sets 0077). Counters only, nothing secret.
	 */
	if (fd >= 0 && fchmod(fd, 0644)) {
		ret = -errno;
		close(fd);
		unlink(tmp);
		goto out;
	}
	f = fd < 0 ? NULL : fdopen(fd, "w");
	if (!f) {
		ret = -errno;
		if (fd >= 0)
			close(fd);
		goto out;
	}
	write_ports(f);
	write_hub(f);
	write_classes(f);
	write_daemon(f);
	ret = ferror(f) ? -EIO : 0;
	if (fclose(f) && !ret)
		ret = -errno;
	if (!ret && rename(tmp, path))
		ret = -errno;
	if (ret)
		unlink(tmp);
out:
	if (ret && ret != m.last_err)
		warn("metrics: %s/" METRICS_FILE ": %s", m.dir, strerror(-ret));
	else if (!ret && m.last_err)
		info("metrics: %s/" METRICS_FILE " written again", m.dir);
	m.last_err = ret;
	return ret;
}

static void set_timer(void)
{
	struct itimerspec its = { 0 };
	unsigned int ms = m.dir[0] ? m.interval_ms : 0;

	its.it_interval.tv_sec = ms / 1000;
	its.it_interval.tv_nsec = (ms % 1000) * 1000000L;
	its.it_value = its.it_interval;
	timerfd_settime(m.tfd, 0, &its, NULL);
}

void metrics_config(const struct config *cfg)
{
	bool changed = strcmp(m.dir, cfg->metrics_dir) ||
		       m.interval_ms != cfg->metrics_interval_ms;
	unsigned int i;

	if (changed && cfg->metrics_dir[0])
		info("metrics: %s/" METRICS_FILE " every %u ms",
		     cfg->metrics_dir, cfg->metrics_interval_ms);
	else if (changed && m.dir[0])
		info("metrics: off");
	snprintf(m.dir, sizeof(m.dir), "%s", cfg->metrics_dir);
	m.interval_ms = cfg->metrics_interval_ms;
	memset(m.class_name, 0, sizeof(m.class_name));
	for (i = 0; i < cfg->nclasses; i++)
		if (cfg->classes[i].id <= PERSOHUB_CLASS_MAX)
			snprintf(m.class_name[cfg->classes[i].id],
				 sizeof(m.class_name[0]), "%s",
				 cfg->classes[i].name);
	/* "default" names class 0, with a section or without */
	if (!m.class_name[0][0])
		snprintf(m.class_name[0], sizeof(m.class_name[0]), "default");
	m.last_err = 0;
	set_timer();
	metrics_write();
}

int metrics_init(struct phnl *nl, int epfd, const struct config *cfg,
		 void (*figures)(struct metrics_daemon *))
{
	struct epoll_event e = { .events = EPOLLIN };

	m.nl = nl;
	m.figures = figures;
	m.tfd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK);
	if (m.tfd < 0)
		return -errno;
	e.data.fd = m.tfd;
	if (epoll_ctl(epfd, EPOLL_CTL_ADD, m.tfd, &e))
		return -errno;
	metrics_config(cfg);
	return 0;
}

bool metrics_handle(int fd)
{
	uint64_t ticks;

	if (fd != m.tfd || m.tfd < 0)
		return false;
	if (read(m.tfd, &ticks, sizeof(ticks)) > 0)
		metrics_write();
	return true;
}
