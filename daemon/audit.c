// SPDX-License-Identifier: GPL-2.0
/*
 * The audit trail: every REQUEST_DONE event becomes one journal record,
 * sent with sd_journal_sendv() (libsystemd speaks the journal's protocol),
 * with fields a site queries by station or server:
 *
 *   journalctl -u persohubd PERSOHUB_STATION=m1-st1
 *
 * Records are queued while the wakeup's events are read and written after
 * its dispatches are sent (audit_flush()), so the journal is never on the
 * way from an event to its dispatch.
 *
 * Events can be lost (ENOBUFS). Every request carries its number among its
 * station's (PERSOHUB_A_REQ_SEQ, the station's requests counter when it
 * arrived), and a station's requests end in that order: a number skipped
 * is a request without a record, and a gap record (PERSOHUB_GAP=n) says so
 * before the station's next record. Records plus gaps then add up to the
 * station's requests counter, counted from its first request that ended
 * while persohubd ran. A skipped number is also a frame the hub dropped
 * without making it a request (a station sending on past its queue_depth
 * and the few error answers it gets, or no memory): those are counted in
 * the requests counter too.
 */
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/uio.h>
#include <syslog.h>
#include <time.h>

/* no CODE_FILE, CODE_LINE, CODE_FUNC fields: the record says it all */
#define SD_JOURNAL_SUPPRESS_LOCATION
#include <systemd/sd-journal.h>

#include "audit.h"
#include "log.h"
#include "phlimits.h"

/* journalctl MESSAGE_ID=... finds every record of one kind */
#define MSGID_REQUEST	"7b8a01d552fa476f95fac0517fcc9800"
#define MSGID_GAP	"2f4549d3db5c47bba0d9540aab3939e5"

#define QUEUE_LEN	256
#define FIELDS		16
#define FIELD_LEN	160

struct entry {
	bool gap;
	uint32_t station, server;
	uint64_t id, seq;	/* gap: its first missing number */
	uint64_t count;		/* gap: requests it covers */
	uint64_t latency_ns, wait_ns;
	uint32_t len, retries, result, klass, priority;
	bool dispatched, timed_out;
};

static struct {
	bool on;
	struct {
		char name[PHNL_NAME_LEN];
		uint64_t last_seq;	/* 0: none seen yet */
	} port[PH_MAX_PORTS + 1];
	struct entry q[QUEUE_LEN];
	unsigned int n;
	struct audit_figures fig;
} a;

void audit_enable(bool on)
{
	/* Requests that ended while it was on keep their records. */
	if (!on)
		audit_flush();
	a.on = on;
}

void audit_port(const struct phnl_attrs *at)
{
	uint32_t id = phnl_u32(at, PERSOHUB_A_PORT_ID, 0);

	if (!id || id > PH_MAX_PORTS || !at->a[PERSOHUB_A_PORT_NAME])
		return;
	snprintf(a.port[id].name, sizeof(a.port[id].name), "%s",
		 phnl_str(at, PERSOHUB_A_PORT_NAME));
}

static const char *port_name(uint32_t id, char *buf, size_t len)
{
	if (id && id <= PH_MAX_PORTS && a.port[id].name[0])
		return a.port[id].name;
	snprintf(buf, len, "#%u", id);
	return buf;
}

static const char *outcome(const struct entry *e, char *buf, size_t len)
{
	switch (e->result) {
	case PERSOHUB_RESULT_OK:
		return "ok";
	case PERSOHUB_RESULT_ERROR:
		return e->timed_out ? "timeout" : "error";
	case PERSOHUB_RESULT_REJECTED:
		return "rejected";
	case PERSOHUB_RESULT_DROPPED:
		return "dropped";
	}
	snprintf(buf, len, "result-%u", e->result);
	return buf;
}

/* One field of a record: KEY=value, formatted into its own slot. */
struct rec {
	struct iovec iov[FIELDS];
	char buf[FIELDS][FIELD_LEN];
	int n;
};

static void field(struct rec *r, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void field(struct rec *r, const char *fmt, ...)
{
	va_list ap;
	int len;

	va_start(ap, fmt);
	len = vsnprintf(r->buf[r->n], FIELD_LEN, fmt, ap);
	va_end(ap);
	if (len >= FIELD_LEN)
		len = FIELD_LEN - 1;
	r->iov[r->n].iov_base = r->buf[r->n];
	r->iov[r->n].iov_len = len;
	r->n++;
}

static void send_rec(struct rec *r)
{
	int ret = sd_journal_sendv(r->iov, r->n);

	if (!ret)
		return;
	a.fig.errors++;
	/* The 1st, 2nd, 4th... time: a journal that is gone stays readable. */
	if (!(a.fig.errors & (a.fig.errors - 1)))
		warn("audit: the journal refused a record (%llu so far): %s",
		     (unsigned long long)a.fig.errors, strerror(-ret));
}

static void write_gap(const struct entry *e)
{
	char sb[24];
	const char *st = port_name(e->station, sb, sizeof(sb));
	struct rec r = { .n = 0 };

	field(&r, "MESSAGE=%s: no audit record for %" PRIu64 " requests "
	      "from number %" PRIu64 " (events lost, audit off, or frames "
	      "dropped)", st, e->count, e->seq);
	field(&r, "MESSAGE_ID=" MSGID_GAP);
	field(&r, "PRIORITY=%d", LOG_WARNING);
	field(&r, "SYSLOG_IDENTIFIER=persohubd");
	field(&r, "PERSOHUB_STATION=%s", st);
	field(&r, "PERSOHUB_GAP=%" PRIu64, e->count);
	field(&r, "PERSOHUB_SEQ=%" PRIu64, e->seq);
	send_rec(&r);
	a.fig.gaps++;
	a.fig.gap_requests += e->count;
}

static void write_request(const struct entry *e)
{
	char sb[24], vb[24], ob[24];
	const char *st = port_name(e->station, sb, sizeof(sb));
	const char *srv = e->dispatched ?
			  port_name(e->server, vb, sizeof(vb)) : "-";
	const char *out = outcome(e, ob, sizeof(ob));
	uint64_t wait = e->dispatched ? e->wait_ns : e->latency_ns;
	uint64_t service = e->latency_ns > wait ? e->latency_ns - wait : 0;
	struct rec r = { .n = 0 };

	field(&r, "MESSAGE=%s request %" PRIu64 ": %s, server %s, %" PRIu64
	      " us", st, e->id, out, srv, e->latency_ns / 1000);
	field(&r, "MESSAGE_ID=" MSGID_REQUEST);
	field(&r, "PRIORITY=%d", e->result == PERSOHUB_RESULT_OK ?
	      LOG_INFO : LOG_NOTICE);
	field(&r, "SYSLOG_IDENTIFIER=persohubd");
	field(&r, "PERSOHUB_REQUEST=%" PRIu64, e->id);
	field(&r, "PERSOHUB_STATION=%s", st);
	if (e->dispatched)
		field(&r, "PERSOHUB_SERVER=%s", srv);
	field(&r, "PERSOHUB_CLASS=%u", e->klass);
	field(&r, "PERSOHUB_PRIORITY=%u", e->priority);
	field(&r, "PERSOHUB_LENGTH=%u", e->len);
	field(&r, "PERSOHUB_WAIT_US=%" PRIu64, wait / 1000);
	field(&r, "PERSOHUB_SERVICE_US=%" PRIu64, service / 1000);
	field(&r, "PERSOHUB_RETRIES=%u", e->retries);
	field(&r, "PERSOHUB_OUTCOME=%s", out);
	field(&r, "PERSOHUB_SEQ=%" PRIu64, e->seq);
	send_rec(&r);
	a.fig.records++;
}

static uint64_t thread_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return ts.tv_sec * 1000000000ULL + ts.tv_nsec;
}

void audit_flush(void)
{
	uint64_t t0;
	unsigned int i;

	if (!a.n)
		return;
	t0 = thread_ns();
	for (i = 0; i < a.n; i++) {
		if (a.q[i].gap)
			write_gap(&a.q[i]);
		else
			write_request(&a.q[i]);
	}
	a.n = 0;
	a.fig.cpu_ns += thread_ns() - t0;
}

static struct entry *queue_slot(void)
{
	if (a.n == QUEUE_LEN)
		audit_flush();
	memset(&a.q[a.n], 0, sizeof(a.q[a.n]));
	return &a.q[a.n++];
}

/*
 * Number @seq ended on @station: the numbers skipped since its last are
 * a gap. A number not above the last one is a station counting anew (its
 * id now names another port): the numbers before it are the gap.
 */
static void account(uint32_t station, uint64_t seq)
{
	uint64_t last, from;
	struct entry *e;

	if (!station || station > PH_MAX_PORTS || !seq)
		return;
	last = a.port[station].last_seq;
	a.port[station].last_seq = seq;
	if (!last)
		return;		/* the first this run: where the trail starts */
	from = seq > last ? last + 1 : 1;
	if (seq == from)
		return;
	e = queue_slot();
	e->gap = true;
	e->station = station;
	e->seq = from;
	e->count = seq - from;
}

void audit_done(const struct phnl_attrs *at)
{
	struct entry *e;
	uint32_t station;

	if (!a.on)
		return;
	station = phnl_u32(at, PERSOHUB_A_PORT_ID, 0);
	account(station, phnl_u64(at, PERSOHUB_A_REQ_SEQ, 0));
	e = queue_slot();
	e->station = station;
	e->id = phnl_u64(at, PERSOHUB_A_REQ_ID, 0);
	e->seq = phnl_u64(at, PERSOHUB_A_REQ_SEQ, 0);
	e->dispatched = at->a[PERSOHUB_A_SERVER_ID] != NULL;
	e->server = phnl_u32(at, PERSOHUB_A_SERVER_ID, 0);
	e->latency_ns = phnl_u64(at, PERSOHUB_A_LATENCY_NS, 0);
	e->wait_ns = phnl_u64(at, PERSOHUB_A_REQ_WAIT_NS, 0);
	e->len = phnl_u32(at, PERSOHUB_A_REQ_LEN, 0);
	e->retries = phnl_u32(at, PERSOHUB_A_REQ_RETRIES, 0);
	e->klass = phnl_u32(at, PERSOHUB_A_REQ_CLASS, 0);
	e->priority = phnl_u32(at, PERSOHUB_A_REQ_PRIORITY, 0);
	e->result = phnl_u32(at, PERSOHUB_A_RESULT, 0);
	e->timed_out = phnl_u32(at, PERSOHUB_A_REASON, ~0u) ==
		       PERSOHUB_REASON_TIMEOUT;
}

const struct audit_figures *audit_figures(void)
{
	return &a.fig;
}
