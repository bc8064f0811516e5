// SPDX-License-Identifier: GPL-2.0
/*
 * persohubd's [cascade]: hubs on a LAN pool their servers through NATS.
 * The rule stays "to any free server, as soon as it is free"; local
 * servers first; the hub that took a request from its station owns it to
 * the end.
 *
 * Using side: depth overflow servers cascade-1..N (userspace servers the
 * kernel never matches by itself) serve the classes we use. The daemon's
 * matching gives one a request only when no idle local server would take
 * it (match.h), in a class not backed off. The request is read from
 * /dev/persohub-server/cascade-N and sent as a NATS request on
 * persohub.SITE.req.CLASS, its reply subject naming the slot and a
 * sequence number never reused. The reply decides (cascade_core.h): an
 * answer is written back (ANSWER); no responders or "busy" gives it back
 * to its place in the queue (GIVE_BACK), the class not tried out again
 * until a free announcement or a short backoff; an error reply or no
 * reply by timeout_ms fails it (FAILED: a retry, here or elsewhere). A
 * reply for a request no longer in flight on its slot is discarded and
 * counted. Losing the NATS connection gives back what was out.
 *
 * Offering side: the remote station /dev/persohub-remote/cascade carries
 * requests from other hubs into our kernel, where they wait and are
 * matched like our stations' (never sent out again). We listen on a class
 * we offer (queue group persohub.SITE.CLASS, so one hub takes each) only
 * while an idle local server of it wants nothing here, and announce it on
 * persohub.SITE.free.CLASS; a request that arrives when none is idle any
 * more is answered "busy" at once. The answer is replied with the headers
 * Persohub-Status (0, an errno, or busy) and Persohub-Server (hub/id).
 *
 * This file runs in the realtime loop and never calls nats.c: see
 * cascade_nats.c for how the two meet.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/stat.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#include "cascade.h"
#include "cascade_core.h"
#include "cascade_nats.h"
#include "log.h"

#define SERVER_DEVDIR	"/dev/persohub-server"
#define REMOTE_DEVDIR	"/dev/persohub-remote"
#define REMOTE_MAX	64	/* requests of other hubs in our kernel */
#define KERNEL_MARGIN_MS 1000	/* the kernel's timeout, after ours */

struct slot {
	uint32_t id;
	int devfd;
	char name[CONFIG_NAME_LEN];
};

struct remote {
	bool used;
	uint64_t tag;
	char reply[CN_SUBJECT_LEN];
};

static struct {
	bool on;
	struct phnl *nl;
	struct match *m;
	int epfd, efd, tfd, stationfd;
	uint32_t station;
	char name[CONFIG_NAME_LEN];
	uint64_t use, offer;
	uint32_t timeout_ms[CASC_CLASSES];
	struct casc_core core;
	unsigned int nslots;
	struct slot slot[CASC_SLOTS];
	struct remote remote[REMOTE_MAX];
	uint64_t tag;
	unsigned int unseen;	/* remote requests written, not yet seen */
	struct cascade_figures fig;
	struct cn_msg msg;	/* scratch, too big for the stack */
	struct cn_msg out;	/* replies: @msg may be what they answer */
	struct {
		struct persohub_msg h;
		uint8_t data[PERSOHUB_PAYLOAD_MAX];
	} io;
} c = { .efd = -1, .tfd = -1, .stationfd = -1 };

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000000ULL + ts.tv_nsec;
}

bool cascade_on(void)
{
	return c.on;
}

const struct cascade_figures *cascade_figures(void)
{
	const struct cn_figures *f = c.on ? cn_figures() : NULL;

	if (f) {
		c.fig.connects = f->connects;
		c.fig.disconnects = f->disconnects;
	}
	return &c.fig;
}

static int id_cb(const struct phnl_attrs *at, void *data)
{
	*(uint32_t *)data = phnl_u32(at, PERSOHUB_A_PORT_ID, 0);
	return 0;
}

static int add_fd(int fd)
{
	struct epoll_event e = { .events = EPOLLIN, .data.fd = fd };

	return epoll_ctl(c.epfd, EPOLL_CTL_ADD, fd, &e);
}

/* A class's timeout: timeout_ms, else the longest of its servers'. */
static void class_timeouts(const struct config *cfg)
{
	unsigned int k, i;

	for (k = 0; k < CASC_CLASSES; k++) {
		uint32_t t = 0;

		for (i = 0; i < cfg->nports; i++) {
			const struct config_port *p = &cfg->ports[i];

			if (p->timeout_ms.set && p->timeout_ms.v > t &&
			    (p->classes_set ? p->classes : 1) >> k & 1)
				t = p->timeout_ms.v;
		}
		c.timeout_ms[k] = cfg->cascade.timeout_ms ?
				  cfg->cascade.timeout_ms : t ? t : 2000;
	}
}

static int overflow_servers(void)
{
	char buf[MNL_SOCKET_BUFFER_SIZE], path[64];
	uint32_t timeout = 0;
	struct nlmsghdr *nlh;
	unsigned int i, k;
	int ret;

	for (k = 0; k < CASC_CLASSES; k++)
		if ((c.use >> k & 1) && c.timeout_ms[k] > timeout)
			timeout = c.timeout_ms[k];
	timeout += KERNEL_MARGIN_MS;
	for (i = 0; i < c.nslots; i++) {
		struct slot *s = &c.slot[i];

		snprintf(s->name, sizeof(s->name), "cascade-%u", i + 1);
		/* One left by a daemon that died: its requests go back. */
		nlh = phnl_msg(c.nl, buf, PERSOHUB_CMD_USER_SERVER_DEL, 0);
		mnl_attr_put_strz(nlh, PERSOHUB_A_PORT_NAME, s->name);
		phnl_talk(c.nl, nlh, NULL, NULL);
		nlh = phnl_msg(c.nl, buf, PERSOHUB_CMD_USER_SERVER_ADD, 0);
		mnl_attr_put_strz(nlh, PERSOHUB_A_PORT_NAME, s->name);
		mnl_attr_put_u32(nlh, PERSOHUB_A_PORT_TIMEOUT_MS, timeout);
		mnl_attr_put_u64(nlh, PERSOHUB_A_PORT_CLASSES, c.use);
		mnl_attr_put(nlh, PERSOHUB_A_PORT_OVERFLOW, 0, NULL);
		ret = phnl_talk(c.nl, nlh, id_cb, &s->id);
		if (!ret && !s->id) {
			nlh = phnl_msg(c.nl, buf, PERSOHUB_CMD_PORT_GET, 0);
			mnl_attr_put_strz(nlh, PERSOHUB_A_PORT_NAME, s->name);
			ret = phnl_talk(c.nl, nlh, id_cb, &s->id);
		}
		if (ret) {
			error("cascade: overflow server %s: %s%s%s", s->name,
			      strerror(-ret), c.nl->errmsg[0] ? ": " : "",
			      c.nl->errmsg);
			return ret;
		}
		match_server_overflow(c.m, s->id, true);
		snprintf(path, sizeof(path), SERVER_DEVDIR "/%s", s->name);
		s->devfd = open(path, O_RDWR | O_NONBLOCK | O_CLOEXEC);
		if (s->devfd < 0 || add_fd(s->devfd)) {
			ret = -errno;
			error("cascade: %s: %s", path, strerror(errno));
			return ret;
		}
	}
	return 0;
}

static int remote_station(void)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct nlmsghdr *nlh;
	int ret;

	/* Requests of a daemon that died: their askers gave up on them. */
	nlh = phnl_msg(c.nl, buf, PERSOHUB_CMD_USER_STATION_DEL, 0);
	mnl_attr_put_strz(nlh, PERSOHUB_A_PORT_NAME, CASCADE_STATION);
	phnl_talk(c.nl, nlh, NULL, NULL);
	nlh = phnl_msg(c.nl, buf, PERSOHUB_CMD_USER_STATION_ADD, 0);
	mnl_attr_put_strz(nlh, PERSOHUB_A_PORT_NAME, CASCADE_STATION);
	mnl_attr_put_u32(nlh, PERSOHUB_A_PORT_QUEUE_DEPTH, REMOTE_MAX);
	ret = phnl_talk(c.nl, nlh, id_cb, &c.station);
	if (ret) {
		error("cascade: remote station: %s%s%s", strerror(-ret),
		      c.nl->errmsg[0] ? ": " : "", c.nl->errmsg);
		return ret;
	}
	match_station_local(c.m, c.station);
	c.stationfd = open(REMOTE_DEVDIR "/" CASCADE_STATION,
			   O_RDWR | O_NONBLOCK | O_CLOEXEC);
	if (c.stationfd < 0 || add_fd(c.stationfd)) {
		ret = -errno;
		error("cascade: " REMOTE_DEVDIR "/" CASCADE_STATION ": %s",
		      strerror(errno));
		return ret;
	}
	return 0;
}

/* The key must be the hub's alone, as [tcp]'s. */
static int key_private(const char *key)
{
	struct stat st;

	if (stat(key, &st)) {
		error("cascade: key %s: %s; not starting", key,
		      strerror(errno));
		return -errno;
	}
	if (st.st_mode & 077) {
		error("cascade: key %s may be read by its group or others "
		      "(mode %04o): refused, not starting; chmod 600 it",
		      key, st.st_mode & 07777);
		return -EPERM;
	}
	return 0;
}

int cascade_init(struct phnl *nl, int epfd, const struct config *cfg,
		 struct match *m)
{
	const struct config_cascade *cc = &cfg->cascade;
	int ret;

	if (!cc->set)
		return 0;
	c.nl = nl;
	c.m = m;
	c.epfd = epfd;
	c.use = cc->use;
	c.offer = cc->offer;
	c.nslots = c.use ? cc->depth : 0;
	if (cc->name[0])
		snprintf(c.name, sizeof(c.name), "%s", cc->name);
	else if (gethostname(c.name, sizeof(c.name)) || !c.name[0])
		snprintf(c.name, sizeof(c.name), "hub");
	c.name[sizeof(c.name) - 1] = '\0';
	if (cc->key[0] && (ret = key_private(cc->key)))
		return ret;
	snprintf(c.fig.name, sizeof(c.fig.name), "%s", c.name);
	c.fig.depth = c.nslots;
	class_timeouts(cfg);
	casc_init(&c.core, c.nslots, c.use, c.offer);
	c.tfd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK);
	if (c.tfd < 0 || add_fd(c.tfd))
		return -errno;
	c.on = true;
	if ((c.offer && (ret = remote_station())) ||
	    (c.nslots && (ret = overflow_servers()))) {
		cascade_fini();
		return ret;
	}
	c.efd = cn_start(cfg, c.name);
	if (c.efd < 0 || add_fd(c.efd)) {
		ret = c.efd < 0 ? c.efd : -errno;
		error("cascade: NATS worker: %s", strerror(-ret));
		c.efd = -1;
		cascade_fini();
		return ret;
	}
	info("cascade: hub %s of site %s, %u servers; offering classes "
	     "%#llx, using %#llx with %u overflow servers", c.name, cc->site,
	     cc->nservers, (unsigned long long)c.offer,
	     (unsigned long long)c.use, c.nslots);
	return 0;
}

void cascade_fini(void)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct nlmsghdr *nlh;
	unsigned int i;

	if (!c.on)
		return;
	cn_stop();
	c.efd = -1;
	/* What is out goes back to the queue; the servers go. */
	for (i = 0; i < c.nslots; i++) {
		struct slot *s = &c.slot[i];

		if (s->devfd >= 0 && s->id)
			close(s->devfd);
		s->devfd = -1;
		if (!s->id)
			continue;
		nlh = phnl_msg(c.nl, buf, PERSOHUB_CMD_USER_SERVER_DEL, 0);
		mnl_attr_put_u32(nlh, PERSOHUB_A_PORT_ID, s->id);
		phnl_talk(c.nl, nlh, NULL, NULL);
		match_server_overflow(c.m, s->id, false);
		s->id = 0;
	}
	if (c.stationfd >= 0)
		close(c.stationfd);
	c.stationfd = -1;
	if (c.station) {
		nlh = phnl_msg(c.nl, buf, PERSOHUB_CMD_USER_STATION_DEL, 0);
		mnl_attr_put_u32(nlh, PERSOHUB_A_PORT_ID, c.station);
		phnl_talk(c.nl, nlh, NULL, NULL);
		match_station_local(c.m, 0);
		c.station = 0;
	}
	if (c.tfd >= 0)
		close(c.tfd);
	c.tfd = -1;
	explicit_bzero(&c.io, sizeof(c.io));
	/* Other hubs' requests ended with the station: nothing to answer. */
	memset(c.remote, 0, sizeof(c.remote));
	c.unseen = 0;
	c.fig.connected = false;
	c.on = false;
}

/* Write @op for slot @i's request (@len answer bytes in c.io.data). */
static int slot_write(unsigned int i, uint64_t req_id, uint8_t op,
		      uint32_t len)
{
	c.io.h.req_id = req_id;
	c.io.h.server_id = c.slot[i].id;
	c.io.h.len = len;
	c.io.h.class_id = 0;
	c.io.h.priority = 0;
	c.io.h.op = op;
	c.io.h.status = 0;
	if (write(c.slot[i].devfd, &c.io, sizeof(c.io.h) + len) < 0)
		return -errno;
	return 0;
}

static void give_back(unsigned int i, uint64_t req_id)
{
	if (slot_write(i, req_id, PERSOHUB_MSG_GIVE_BACK, 0))
		c.fig.late++;	/* the kernel took it back already */
	else
		c.fig.given_back++;
}

static void fail(unsigned int i, uint64_t req_id)
{
	if (slot_write(i, req_id, PERSOHUB_MSG_FAILED, 0))
		c.fig.late++;
	else
		c.fig.failed++;
}

static void arm(void)
{
	struct itimerspec its = { 0 };
	uint64_t due = casc_next_due(&c.core, now_ns());

	if (due) {
		its.it_value.tv_sec = due / 1000000000ULL;
		its.it_value.tv_nsec = due % 1000000000ULL;
	}
	timerfd_settime(c.tfd, TFD_TIMER_ABSTIME, &its, NULL);
}

/* An overflow server was given a request: out it goes. */
static void slot_readable(unsigned int i)
{
	struct cn_msg *m = &c.msg;
	uint64_t now, req;
	uint32_t len;
	ssize_t n;
	int old;

	while ((n = read(c.slot[i].devfd, &c.io, sizeof(c.io))) > 0) {
		if ((size_t)n < sizeof(c.io.h) ||
		    c.io.h.len != (size_t)n - sizeof(c.io.h)) {
			explicit_bzero(&c.io, n);
			continue;
		}
		req = c.io.h.req_id;
		len = c.io.h.len;
		/* The kernel gave the last one up (its own timeout). */
		old = casc_find(&c.core, c.io.h.req_id);
		if (old >= 0)
			casc_end(&c.core, old);
		casc_end(&c.core, i);
		now = now_ns();
		memset(m, 0, offsetof(struct cn_msg, data));
		m->type = CN_REQUEST;
		m->slot = i;
		m->klass = c.io.h.class_id % CASC_CLASSES;
		m->prio = c.io.h.priority;
		m->seq = casc_start(&c.core, i, c.io.h.req_id, m->klass,
				    now + c.timeout_ms[m->klass] * 1000000ULL);
		snprintf(m->req, sizeof(m->req), "%s/%llu", c.name,
			 (unsigned long long)c.io.h.req_id);
		m->len = c.io.h.len;
		memcpy(m->data, c.io.data, m->len);
		explicit_bzero(c.io.data, len);
		if (cn_put(m)) {
			casc_end(&c.core, i);
			give_back(i, req);
		} else {
			c.fig.sent++;
		}
		explicit_bzero(m->data, m->len);
	}
	if (n < 0 && errno == ENODEV) {
		warn("cascade: %s was removed", c.slot[i].name);
		epoll_ctl(c.epfd, EPOLL_CTL_DEL, c.slot[i].devfd, NULL);
	}
}

/* A reply to a request out. */
static void answer(struct cn_msg *m)
{
	uint64_t req_id;
	enum casc_action act;

	if (m->slot >= c.nslots) {
		c.fig.late++;
		return;
	}
	req_id = c.core.slot[m->slot].req_id;
	act = casc_reply(&c.core, m->slot, m->seq, m->kind, now_ns());
	switch (act) {
	case CASC_ACT_LATE:
		c.fig.late++;
		break;
	case CASC_ACT_ANSWER:
		memcpy(c.io.data, m->data, m->len);
		if (slot_write(m->slot, req_id, PERSOHUB_MSG_ANSWER, m->len))
			c.fig.late++;
		else
			c.fig.answered++;
		explicit_bzero(c.io.data, m->len);
		break;
	case CASC_ACT_GIVE_BACK:
		give_back(m->slot, req_id);
		break;
	case CASC_ACT_FAILED:
		fail(m->slot, req_id);
		break;
	}
}

static void reply(const char *subject, uint16_t status, uint32_t server,
		  const uint8_t *data, uint32_t len)
{
	struct cn_msg *m = &c.out;

	memset(m, 0, offsetof(struct cn_msg, data));
	m->type = CN_REPLY;
	snprintf(m->subject, sizeof(m->subject), "%s", subject);
	m->status = status;
	m->server = server;
	m->len = len;
	memcpy(m->data, data, len);
	/* A full ring: the asker's timeout retries it. */
	cn_put(m);
	explicit_bzero(m->data, len);
}

/*
 * An idle local server of @klass for one more request of another hub:
 * more of them than of those requests not dispatched yet (written and
 * not seen, or waiting in the matching).
 */
static bool can_serve(unsigned int klass)
{
	unsigned int idle = 0, pending = c.unseen, i;

	for (i = 1; i <= c.m->max_id; i++) {
		const struct match_server *s = &c.m->srv[i];

		idle += s->idle && s->enabled && !s->overflow &&
			(s->classes >> klass & 1);
	}
	for (i = 0; idle > pending && i < c.m->nwaiting; i++)
		pending += c.m->station[i] == c.station;
	return idle > pending;
}

/* A request from another hub. */
static void remote(struct cn_msg *m)
{
	unsigned int i;

	c.fig.remote_in++;
	if (!(c.offer >> m->klass & 1) || !m->len) {
		reply(m->subject, EINVAL, 0, NULL, 0);
		c.fig.remote_failed++;
		return;
	}
	for (i = 0; i < REMOTE_MAX && c.remote[i].used; i++)
		;
	if (i == REMOTE_MAX || c.stationfd < 0 || !can_serve(m->klass)) {
		reply(m->subject, CN_STATUS_BUSY, 0, NULL, 0);
		c.fig.busy++;
		return;
	}
	c.io.h.req_id = ++c.tag;
	c.io.h.server_id = 0;
	c.io.h.len = m->len;
	c.io.h.class_id = m->klass;
	c.io.h.priority = m->prio;
	c.io.h.op = 0;
	c.io.h.status = 0;
	memcpy(c.io.data, m->data, m->len);
	if (write(c.stationfd, &c.io, sizeof(c.io.h) + m->len) < 0) {
		reply(m->subject, errno == EAGAIN ? CN_STATUS_BUSY : errno, 0,
		      NULL, 0);
		if (errno == EAGAIN)
			c.fig.busy++;
		else
			c.fig.remote_failed++;
	} else {
		c.remote[i].used = true;
		c.remote[i].tag = c.tag;
		snprintf(c.remote[i].reply, sizeof(c.remote[i].reply), "%s",
			 m->subject);
		c.unseen++;
	}
	explicit_bzero(c.io.data, m->len);
}

/* A request of another hub ended here: its answer goes back. */
static void station_readable(void)
{
	ssize_t n;
	unsigned int i;

	while ((n = read(c.stationfd, &c.io, sizeof(c.io))) > 0) {
		if ((size_t)n < sizeof(c.io.h) ||
		    c.io.h.len != (size_t)n - sizeof(c.io.h))
			continue;
		for (i = 0; i < REMOTE_MAX; i++)
			if (c.remote[i].used && c.remote[i].tag == c.io.h.req_id)
				break;
		if (i < REMOTE_MAX) {
			reply(c.remote[i].reply, c.io.h.status,
			      c.io.h.server_id, c.io.data,
			      c.io.h.status ? 0 : c.io.h.len);
			c.remote[i].used = false;
			if (c.io.h.status)
				c.fig.remote_failed++;
			else
				c.fig.served++;
		}
		explicit_bzero(c.io.data, c.io.h.len);
	}
}

static void from_nats(void)
{
	struct cn_msg *m = &c.msg;
	unsigned int i;

	cn_ack();
	while (cn_take(m)) {
		switch (m->type) {
		case CN_ANSWER:
			answer(m);
			break;
		case CN_REMOTE:
			remote(m);
			break;
		case CN_FREE:
			casc_free(&c.core, m->klass);
			break;
		case CN_CONN:
			if (m->status == c.fig.connected)
				break;
			c.fig.connected = m->status;
			casc_connected(&c.core, m->status);
			if (m->status) {
				info("cascade: connected to NATS");
				break;
			}
			warn("cascade: NATS connection lost; what was out goes "
			     "back to the queue");
			for (i = 0; i < c.nslots; i++)
				if (c.core.slot[i].flight) {
					casc_end(&c.core, i);
					give_back(i, c.core.slot[i].req_id);
				}
			break;
		}
		explicit_bzero(m->data, m->len);
	}
}

bool cascade_handle(int fd)
{
	unsigned int i;
	uint64_t ticks;
	int k;

	if (!c.on || fd < 0)
		return false;
	if (fd == c.efd) {
		from_nats();
	} else if (fd == c.tfd) {
		if (read(c.tfd, &ticks, sizeof(ticks)) < 0 && errno == EAGAIN)
			return true;
		while ((k = casc_expired(&c.core, now_ns())) >= 0) {
			c.fig.timeouts++;
			fail(k, c.core.slot[k].req_id);
		}
	} else if (fd == c.stationfd) {
		station_readable();
	} else {
		for (i = 0; i < c.nslots && c.slot[i].devfd != fd; i++)
			;
		if (i == c.nslots)
			return false;
		slot_readable(i);
	}
	arm();
	return true;
}

void cascade_before_dispatch(uint64_t now)
{
	if (c.on)
		match_overflow_classes(c.m, casc_out_classes(&c.core, now));
}

void cascade_after_dispatch(void)
{
	struct cn_msg *m = &c.msg;
	uint64_t idle = 0, sub, unsub;
	unsigned int k;

	if (!c.on || !c.offer)
		return;
	for (k = 0; k < CASC_CLASSES; k++)
		if ((c.offer >> k & 1) && can_serve(k))
			idle |= 1ULL << k;
	casc_offer(&c.core, idle, &sub, &unsub);
	for (k = 0; k < CASC_CLASSES; k++) {
		if (!((sub | unsub) >> k & 1))
			continue;
		memset(m, 0, offsetof(struct cn_msg, data));
		m->type = sub >> k & 1 ? CN_SUB : CN_UNSUB;
		m->klass = k;
		if (cn_put(m))	/* tried again next time */
			c.core.subscribed ^= 1ULL << k;
	}
}

bool cascade_overflow_server(uint32_t id)
{
	unsigned int i;

	for (i = 0; c.on && i < c.nslots; i++)
		if (c.slot[i].id == id)
			return true;
	return false;
}

void cascade_request_new(uint32_t station)
{
	if (c.on && station == c.station && c.unseen)
		c.unseen--;
}

void cascade_resynced(void)
{
	/* The dump has every request of the remote station. */
	c.unseen = 0;
}

void cascade_server_failed(uint32_t id, uint32_t reason)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct nlmsghdr *nlh;
	unsigned int i;

	for (i = 0; c.on && i < c.nslots; i++) {
		if (c.slot[i].id != id)
			continue;
		if (reason != PERSOHUB_REASON_TIMEOUT)
			return;
		/* The kernel's timeout came first: its reply is late now. */
		casc_end(&c.core, i);
		c.fig.timeouts++;
		nlh = phnl_msg(c.nl, buf, PERSOHUB_CMD_PORT_SET, 0);
		mnl_attr_put_u32(nlh, PERSOHUB_A_PORT_ID, id);
		mnl_attr_put_u32(nlh, PERSOHUB_A_PORT_STATE,
				 PERSOHUB_STATE_IDLE);
		if (phnl_talk(c.nl, nlh, NULL, NULL))
			warn("cascade: %s: cannot return to service",
			     c.slot[i].name);
		return;
	}
}
