// SPDX-License-Identifier: GPL-2.0
/*
 * The generic netlink family inside the test machine: ports, validation,
 * the controller's attach, dispatch and handoff, events, privileges.
 * Requests come from the site simulator on the host (see phtest.h); the
 * site is stations c0p0..c0p3, servers c1p2 and c1p3.
 */
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <linux/netlink.h>

#include "kselftest_harness.h"
#include "phnl.h"
#include "phtest.h"
#include "siteproto.h"

#define SIM "--telnet --servers c1p2,c1p3 "

static int port_id(const char *port)
{
	return (int)ph_num(port, "id");
}

/* One request with attributes, answered or not. */
static int nl_do(struct phnl *h, uint8_t cmd, phnl_cb cb, void *data,
		 const char *fmt, ...)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct nlmsghdr *nlh = phnl_msg(h, buf, cmd, 0);
	va_list ap;
	const char *p;

	/*
	 * fmt: one letter per attribute: i u32, q u64, s string, b a string's
	 * bytes without its NUL (binary), c u8; type first
	 */
	va_start(ap, fmt);
	for (p = fmt; *p; p++) {
		int type = va_arg(ap, int);

		switch (*p) {
		case 'i':
			mnl_attr_put_u32(nlh, type, va_arg(ap, uint32_t));
			break;
		case 'q':
			mnl_attr_put_u64(nlh, type, va_arg(ap, uint64_t));
			break;
		case 's':
			mnl_attr_put_strz(nlh, type, va_arg(ap, const char *));
			break;
		case 'b': {
			const char *b = va_arg(ap, const char *);

			mnl_attr_put(nlh, type, strlen(b), b);
			break;
		}
		case 'c':
			mnl_attr_put_u8(nlh, type, va_arg(ap, int));
			break;
		}
	}
	va_end(ap);
	return phnl_talk(h, nlh, cb, data);
}

struct port_list {
	int n;
	char names[32][32];
	uint32_t roles[32];
};

static int collect_port(const struct phnl_attrs *at, void *data)
{
	struct port_list *l = data;

	if (l->n < 32) {
		snprintf(l->names[l->n], 32, "%s",
			 phnl_str(at, PERSOHUB_A_PORT_NAME));
		l->roles[l->n] = phnl_u32(at, PERSOHUB_A_PORT_ROLE, 99);
		l->n++;
	}
	return 0;
}

/* Events seen on the monitor socket, in order. */
struct evlog {
	int payload_seen;	/* events that carried request or answer bytes */
	int read_errors, last_error;	/* e.g. -ENOBUFS: events were lost */
	int n;
	uint8_t cmd[256];
	uint64_t req[256];
	uint32_t port[256], server[256], result[256], klass[256];
};

static int log_event(const struct phnl_attrs *at, void *data)
{
	struct evlog *l = data;
	int i;

	/* Metadata only: no attribute may hold the site's magic bytes. */
	for (i = 1; i <= PERSOHUB_A_MAX; i++)
		if (at->a[i] &&
		    (memmem(mnl_attr_get_payload(at->a[i]),
			    mnl_attr_get_payload_len(at->a[i]), "PHRQ", 4) ||
		     memmem(mnl_attr_get_payload(at->a[i]),
			    mnl_attr_get_payload_len(at->a[i]), "PHRS", 4)))
			l->payload_seen++;

	if (l->n < 256) {
		l->cmd[l->n] = at->cmd;
		l->req[l->n] = phnl_u64(at, PERSOHUB_A_REQ_ID, 0);
		l->port[l->n] = phnl_u32(at, PERSOHUB_A_PORT_ID, 0);
		l->server[l->n] = phnl_u32(at, PERSOHUB_A_SERVER_ID, 0);
		l->result[l->n] = phnl_u32(at, PERSOHUB_A_RESULT, 99);
		l->klass[l->n] = phnl_u32(at, PERSOHUB_A_REQ_CLASS, 99);
		l->n++;
	}
	return 0;
}

/* Read what the monitor socket holds into @l. */
static void read_events(struct phnl *mon, struct evlog *l)
{
	int ret = phnl_drain(mon, log_event, l);

	if (ret < 0) {
		l->read_errors++;
		l->last_error = ret;
	}
}

/* Count the events with @cmd logged so far. */
static int count_events(const struct evlog *l, uint8_t cmd)
{
	int i, n = 0;

	for (i = 0; i < l->n; i++)
		n += l->cmd[i] == cmd;
	return n;
}

/* Read events until one with @cmd arrives (or @ms pass); its index. */
static int wait_event(struct phnl *mon, struct evlog *l, uint8_t cmd, int ms)
{
	int from = 0, i;

	for (; ms > 0; ms -= 10) {
		read_events(mon, l);
		for (i = from; i < l->n; i++)
			if (l->cmd[i] == cmd)
				return i;
		from = l->n;
		ph_sleep_ms(10);
	}
	return -1;
}

/* Read events until @n with @cmd were logged (or @ms pass). */
static bool wait_count(struct phnl *mon, struct evlog *l, uint8_t cmd, int n,
		       int ms)
{
	for (; ms > 0; ms -= 10) {
		read_events(mon, l);
		if (count_events(l, cmd) >= n)
			return true;
		ph_sleep_ms(10);
	}
	return false;
}

FIXTURE(nl) {
	struct phnl ctl, mon;
	struct evlog ev;
	struct sim_result res;
};

#define GRACE "/sys/module/persohub/parameters/ctrl_grace_ms"

/* Write @val to the module parameter at @path: 0 or -1. */
static int set_param(const char *path, const char *val)
{
	FILE *f = fopen(path, "w");
	int ok = f && fputs(val, f) >= 0;

	if (f && fclose(f))
		ok = 0;
	return ok ? 0 : -1;
}

FIXTURE_SETUP(nl)
{
	/* A slow guest must not look like a stalled controller here (the
	 * grace period has its own test in vm_daemon.sh).
	 */
	ASSERT_EQ(0, set_param(GRACE, "60000"));
	ASSERT_EQ(0, phnl_open(&self->ctl));
	ASSERT_EQ(0, phnl_open(&self->mon));
	ASSERT_EQ(0, phnl_subscribe(&self->mon));
	memset(&self->ev, 0, sizeof(self->ev));
	ASSERT_EQ(0, ph_roles("c0p0,c0p1,c0p2,c0p3", "station"));
	ASSERT_EQ(0, ph_roles("c1p2,c1p3", "server"));
}

FIXTURE_TEARDOWN(nl)
{
	phnl_close(&self->ctl);
	phnl_close(&self->mon);
	ph_set("c1p2", "state", "idle");
	ph_set("c1p3", "state", "idle");
	ph_set("c1p3", "enabled", "1");
	ph_set("c1p2", "classes", "0");
	ph_set("c1p3", "classes", "0");
	ph_set("c0p0", "class", "0");
	ph_set("c0p0", "priority", "0");
	ph_set("c0p1", "priority", "0");
	ph_roles("c0p0,c0p1,c0p2,c0p3,c1p2,c1p3", "off");
	set_param(GRACE, "1000");
}

/* The dump lists every port with the name and role sysfs shows. */
TEST_F(nl, port_dump_matches_sysfs)
{
	struct port_list l = { 0 };
	char name[64], role[16];
	int i, found = 0;

	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct nlmsghdr *nlh;

	ASSERT_NE(0, self->mon.events_group);
	/* Commands never go on a socket that receives events. */
	EXPECT_EQ(-EINVAL, nl_do(&self->mon, PERSOHUB_CMD_PORT_GET, NULL,
				 NULL, ""));
	/* A do without a port says what it needs. */
	EXPECT_EQ(-EINVAL, nl_do(&self->ctl, PERSOHUB_CMD_PORT_GET, NULL,
				 NULL, ""));
	EXPECT_STREQ("port id or name required", self->ctl.errmsg);
	nlh = phnl_msg(&self->ctl, buf, PERSOHUB_CMD_PORT_GET, NLM_F_DUMP);
	ASSERT_EQ(0, phnl_talk(&self->ctl, nlh, collect_port, &l));
	EXPECT_EQ(8, l.n);
	ASSERT_EQ(0, ph_get("c0p1", "name", name, sizeof(name)));
	ASSERT_EQ(0, ph_get("c0p1", "role", role, sizeof(role)));
	for (i = 0; i < l.n; i++) {
		if (strcmp(l.names[i], name))
			continue;
		found++;
		EXPECT_STREQ(role, phnl_role_names[l.roles[i]]);
	}
	EXPECT_EQ(1, found);
}

/* PORT_SET has the effect of sysfs. */
TEST_F(nl, port_set_like_sysfs)
{
	char buf[32];

	ASSERT_EQ(0, nl_do(&self->ctl, PERSOHUB_CMD_PORT_SET, NULL, NULL,
			   "iiiii", PERSOHUB_A_PORT_ID, port_id("c0p1"),
			   PERSOHUB_A_PORT_BAUD, 9600,
			   PERSOHUB_A_PORT_PARITY, PERSOHUB_PARITY_ODD,
			   PERSOHUB_A_PORT_QUEUE_DEPTH, 3,
			   PERSOHUB_A_PORT_TIMEOUT_MS, 1234));
	EXPECT_EQ(9600, ph_num("c0p1", "baud"));
	EXPECT_EQ(0, ph_get("c0p1", "parity", buf, sizeof(buf)));
	EXPECT_STREQ("odd", buf);
	EXPECT_EQ(3, ph_num("c0p1", "queue_depth"));
	EXPECT_EQ(1234, ph_num("c0p1", "timeout_ms"));
	ASSERT_EQ(0, nl_do(&self->ctl, PERSOHUB_CMD_PORT_SET, NULL, NULL,
			   "iiiii", PERSOHUB_A_PORT_ID, port_id("c0p1"),
			   PERSOHUB_A_PORT_BAUD, 115200,
			   PERSOHUB_A_PORT_PARITY, PERSOHUB_PARITY_NONE,
			   PERSOHUB_A_PORT_QUEUE_DEPTH, 1,
			   PERSOHUB_A_PORT_ROLE, PERSOHUB_ROLE_OFF));
	EXPECT_EQ(0, ph_get("c0p1", "role", buf, sizeof(buf)));
	EXPECT_STREQ("off", buf);
	EXPECT_EQ(115200, ph_num("c0p1", "baud"));
}

/* Bad attributes are refused with a reason, and change nothing. */
TEST_F(nl, port_set_rejects_bad_input)
{
	int id = port_id("c0p2");

	EXPECT_EQ(-ERANGE, nl_do(&self->ctl, PERSOHUB_CMD_PORT_SET, NULL,
				 NULL, "ii", PERSOHUB_A_PORT_ID, id,
				 PERSOHUB_A_PORT_BAUD, 10));
	EXPECT_NE(0, self->ctl.erroff);
	EXPECT_EQ(-ERANGE, nl_do(&self->ctl, PERSOHUB_CMD_PORT_SET, NULL,
				 NULL, "ii", PERSOHUB_A_PORT_ID, id,
				 PERSOHUB_A_PORT_DATA_BITS, 9));
	EXPECT_EQ(-ERANGE, nl_do(&self->ctl, PERSOHUB_CMD_PORT_SET, NULL,
				 NULL, "ii", PERSOHUB_A_PORT_ID, id,
				 PERSOHUB_A_PORT_ROLE, 7));
	EXPECT_EQ(-ERANGE, nl_do(&self->ctl, PERSOHUB_CMD_PORT_SET, NULL,
				 NULL, "ii", PERSOHUB_A_PORT_ID, id,
				 PERSOHUB_A_PORT_QUEUE_DEPTH, 17));
	/* An attribute the command does not take. */
	EXPECT_EQ(-EINVAL, nl_do(&self->ctl, PERSOHUB_CMD_PORT_SET, NULL,
				 NULL, "iq", PERSOHUB_A_PORT_ID, id,
				 PERSOHUB_A_REQ_ID, 1ULL));
	EXPECT_EQ(-EINVAL, nl_do(&self->ctl, PERSOHUB_CMD_PORT_SET, NULL,
				 NULL, "i", PERSOHUB_A_PORT_QUEUE_DEPTH, 2));
	EXPECT_STREQ("port id or name required", self->ctl.errmsg);
	EXPECT_EQ(-ENODEV, nl_do(&self->ctl, PERSOHUB_CMD_PORT_SET, NULL,
				 NULL, "si", PERSOHUB_A_PORT_NAME, "nope",
				 PERSOHUB_A_PORT_QUEUE_DEPTH, 2));
	EXPECT_STREQ("no such port", self->ctl.errmsg);
	EXPECT_EQ(-EINVAL, nl_do(&self->ctl, PERSOHUB_CMD_PORT_SET, NULL,
				 NULL, "ii", PERSOHUB_A_PORT_ID,
				 port_id("c1p2"), PERSOHUB_A_PORT_STATE,
				 PERSOHUB_STATE_BUSY));
	/* A wrong type: a string where a u32 goes. */
	EXPECT_EQ(-EINVAL, nl_do(&self->ctl, PERSOHUB_CMD_PORT_SET, NULL,
				 NULL, "is", PERSOHUB_A_PORT_ID, id,
				 PERSOHUB_A_PORT_BAUD, "fast"));
	/* All or nothing: a bad state leaves the good timeout unchanged. */
	EXPECT_EQ(-EOPNOTSUPP, nl_do(&self->ctl, PERSOHUB_CMD_PORT_SET, NULL,
				     NULL, "iii", PERSOHUB_A_PORT_ID, id,
				     PERSOHUB_A_PORT_TIMEOUT_MS, 1234,
				     PERSOHUB_A_PORT_STATE,
				     PERSOHUB_STATE_FAILED));
	EXPECT_EQ(-EEXIST, nl_do(&self->ctl, PERSOHUB_CMD_PORT_SET, NULL,
				 NULL, "iis", PERSOHUB_A_PORT_ID,
				 port_id("c1p3"), PERSOHUB_A_PORT_QUEUE_DEPTH,
				 5, PERSOHUB_A_PORT_NAME, "0000:00:10.0-2"));
	EXPECT_EQ(2000, ph_num("c0p2", "timeout_ms"));
	EXPECT_EQ(1, ph_num("c1p3", "queue_depth"));
	EXPECT_EQ(1, ph_num("c0p2", "queue_depth"));
	EXPECT_EQ(115200, ph_num("c0p2", "baud"));
}

/* One controller at a time; the others are told who holds it. */
TEST_F(nl, attach_detach)
{
	struct phnl other;
	int i;

	ASSERT_EQ(0, phnl_open(&other));
	EXPECT_EQ(0, nl_do(&self->ctl, PERSOHUB_CMD_CTRL_ATTACH, NULL, NULL,
			   ""));
	EXPECT_EQ(-EBUSY, nl_do(&other, PERSOHUB_CMD_CTRL_ATTACH, NULL, NULL,
				""));
	EXPECT_STREQ("another controller is attached", other.errmsg);
	EXPECT_EQ(-ENOENT, nl_do(&other, PERSOHUB_CMD_CTRL_DETACH, NULL,
				 NULL, ""));
	EXPECT_EQ(0, nl_do(&self->ctl, PERSOHUB_CMD_CTRL_DETACH, NULL, NULL,
			   ""));
	EXPECT_EQ(0, nl_do(&other, PERSOHUB_CMD_CTRL_ATTACH, NULL, NULL, ""));
	phnl_close(&other);	/* its socket closes: detached */
	EXPECT_EQ(0, nl_do(&self->ctl, PERSOHUB_CMD_CTRL_ATTACH, NULL, NULL,
			   ""));
	EXPECT_EQ(0, nl_do(&self->ctl, PERSOHUB_CMD_CTRL_DETACH, NULL, NULL,
			   ""));

	/* attach, detach, attach, detach (close), attach, detach */
	i = wait_event(&self->mon, &self->ev, PERSOHUB_CMD_CTRL_CHANGED, 1000);
	ASSERT_LE(0, i);
	EXPECT_TRUE(wait_count(&self->mon, &self->ev,
			       PERSOHUB_CMD_CTRL_CHANGED, 6, 1000));
	EXPECT_EQ(6, count_events(&self->ev, PERSOHUB_CMD_CTRL_CHANGED));
}

static int dropped_cb(const struct phnl_attrs *at, void *data)
{
	*(uint64_t *)data = phnl_u64(at, PERSOHUB_A_HUB_EVENTS_DROPPED, 0);
	return 0;
}

/* The hub's count of events it could not build. */
static uint64_t hub_events_dropped(struct phnl *h)
{
	uint64_t v = 0;

	nl_do(h, PERSOHUB_CMD_STATS_GET, dropped_cb, &v, "");
	return v;
}

/* While attached the kernel waits for dispatch; stale ones are refused. */
TEST_F(nl, dispatch_and_stale_cases)
{
	int seq, i, srv2 = port_id("c1p2"), srv3 = port_id("c1p3");
	struct phnl other;
	uint64_t req;

	ASSERT_EQ(0, nl_do(&self->ctl, PERSOHUB_CMD_CTRL_ATTACH, NULL, NULL,
			   ""));
	seq = sim_start(SIM "--stations c0p0,c0p1 --requests 1"
			" --service-us 300000 --timeout-ms 30000");
	i = wait_event(&self->mon, &self->ev, PERSOHUB_CMD_REQUEST_NEW, 20000);
	ASSERT_LE(0, i);
	req = self->ev.req[i];
	/*
	 * Not matched by the kernel while we are attached: nothing to wait
	 * for, so give the kernel time to do it wrongly (deliberate).
	 */
	ph_sleep_ms(200);
	EXPECT_EQ(0, ph_stat("c1p2", "requests") + ph_stat("c1p3", "requests"));

	EXPECT_EQ(-ENOENT, nl_do(&self->ctl, PERSOHUB_CMD_DISPATCH, NULL, NULL,
				 "qi", PERSOHUB_A_REQ_ID, req + 1000,
				 PERSOHUB_A_SERVER_ID, srv3));
	EXPECT_STREQ("no such waiting request", self->ctl.errmsg);
	EXPECT_EQ(-ENODEV, nl_do(&self->ctl, PERSOHUB_CMD_DISPATCH, NULL,
				 NULL, "qi", PERSOHUB_A_REQ_ID, req,
				 PERSOHUB_A_SERVER_ID, 9999));
	EXPECT_EQ(-ENODEV, nl_do(&self->ctl, PERSOHUB_CMD_DISPATCH, NULL,
				 NULL, "qi", PERSOHUB_A_REQ_ID, req,
				 PERSOHUB_A_SERVER_ID, port_id("c0p3")));
	ASSERT_EQ(0, ph_set("c1p2", "state", "failed"));
	EXPECT_EQ(-EIO, nl_do(&self->ctl, PERSOHUB_CMD_DISPATCH, NULL, NULL,
			      "qi", PERSOHUB_A_REQ_ID, req,
			      PERSOHUB_A_SERVER_ID, srv2));
	/* Not from another socket. (Not the monitor: a command's answer is
	 * read from its socket, and the events queued there with it.)
	 */
	ASSERT_EQ(0, phnl_open(&other));
	EXPECT_EQ(-EPERM, nl_do(&other, PERSOHUB_CMD_DISPATCH, NULL, NULL,
				"qi", PERSOHUB_A_REQ_ID, req,
				PERSOHUB_A_SERVER_ID, srv3));
	phnl_close(&other);
	EXPECT_EQ(-EINVAL, nl_do(&self->ctl, PERSOHUB_CMD_DISPATCH, NULL,
				 NULL, "q", PERSOHUB_A_REQ_ID, req));
	/* Nothing changed: the request still waits. */
	EXPECT_EQ(0, ph_stat("c1p3", "requests"));

	EXPECT_EQ(0, nl_do(&self->ctl, PERSOHUB_CMD_DISPATCH, NULL, NULL,
			   "qi", PERSOHUB_A_REQ_ID, req,
			   PERSOHUB_A_SERVER_ID, srv3));
	EXPECT_EQ(-ENOENT, nl_do(&self->ctl, PERSOHUB_CMD_DISPATCH, NULL,
				 NULL, "qi", PERSOHUB_A_REQ_ID, req,
				 PERSOHUB_A_SERVER_ID, srv3));
	/* The other station's request: the only good server is busy. */
	for (int t = 0; t < 2000; t++) {
		read_events(&self->mon, &self->ev);
		for (i = 0; i < self->ev.n; i++)
			if (self->ev.cmd[i] == PERSOHUB_CMD_REQUEST_NEW &&
			    self->ev.req[i] != req)
				break;
		if (i < self->ev.n)
			break;
		ph_sleep_ms(10);
	}
	if (i == self->ev.n) {
		/* What was seen, and whether the request reached the hub. */
		for (int k = 0; k < self->ev.n; k++)
			TH_LOG("event %d: %s req %llu port %u server %u", k,
			       phnl_cmd_names[self->ev.cmd[k]] ?: "?",
			       (unsigned long long)self->ev.req[k],
			       self->ev.port[k], self->ev.server[k]);
		TH_LOG("monitor read errors %d (last %d), hub events dropped "
		       "%llu", self->ev.read_errors, self->ev.last_error,
		       (unsigned long long)hub_events_dropped(&self->ctl));
		for (int k = 0; k < 2; k++) {
			const char *p = k ? "c0p1" : "c0p0";

			TH_LOG("%s: rx_bytes %lld rx_frames %lld "
			       "fcs_errors %lld requests %lld", p,
			       ph_stat(p, "rx_bytes"), ph_stat(p, "rx_frames"),
			       ph_stat(p, "fcs_errors"), ph_stat(p, "requests"));
		}
	}
	ASSERT_LT(i, self->ev.n);
	EXPECT_EQ(-EBUSY, nl_do(&self->ctl, PERSOHUB_CMD_DISPATCH, NULL, NULL,
				"qi", PERSOHUB_A_REQ_ID, self->ev.req[i],
				PERSOHUB_A_SERVER_ID, srv3));
	/* Detach: the kernel serves what waits. */
	EXPECT_EQ(0, ph_set("c1p2", "state", "idle"));
	EXPECT_EQ(0, nl_do(&self->ctl, PERSOHUB_CMD_CTRL_DETACH, NULL, NULL,
			   ""));
	ASSERT_EQ(0, sim_wait(&self->res, seq, 60));
	EXPECT_EQ(2, sim_get(&self->res, "total.ok"));
}

/*
 * A server the administrator disabled takes nothing: not from the kernel's
 * matching under load, not after a probe it answered brought it back to
 * health, not from a controller's DISPATCH (-EHOSTDOWN). Enabled again,
 * it serves.
 */
TEST_F_TIMEOUT(nl, disabled_server_takes_nothing, 120)
{
	int seq, i, srv3 = port_id("c1p3");
	long long before = ph_stat("c1p3", "requests");
	long long asked = ph_stat_sum("c0p0,c0p1", "requests");
	char buf[16];
	uint64_t req;

	ASSERT_EQ(0, ph_set("c1p3", "enabled", "0"));
	ASSERT_EQ(0, ph_get("c1p3", "enabled", buf, sizeof(buf)));
	EXPECT_STREQ("0", buf);
	ASSERT_EQ(0, ph_set("c1p3", "state", "failed"));
	seq = sim_start(SIM "--stations c0p0,c0p1 --requests 20"
			" --service-us 2000");
	ASSERT_LT(0, seq);
	/* The simulator is there once the stations' requests come in. */
	for (i = 0; i < 500 &&
	     ph_stat_sum("c0p0,c0p1", "requests") < asked + 2; i++)
		ph_sleep_ms(20);
	/* Healthy again by its probe's answer: idle, and still disabled. */
	ASSERT_EQ(0, nl_do(&self->ctl, PERSOHUB_CMD_SERVER_PROBE, NULL, NULL,
			   "ib", PERSOHUB_A_SERVER_ID, srv3,
			   PERSOHUB_A_PAYLOAD, "probe"));
	for (i = 0; i < 500; i++) {
		if (!ph_get("c1p3", "state", buf, sizeof(buf)) &&
		    !strcmp(buf, "idle"))
			break;
		ph_sleep_ms(20);
	}
	EXPECT_STREQ("idle", buf);
	ASSERT_EQ(0, sim_wait(&self->res, seq, 90));
	EXPECT_EQ(40, sim_get(&self->res, "total.ok"));
	EXPECT_EQ(before, ph_stat("c1p3", "requests"));

	/* A controller cannot send it work either. */
	ASSERT_EQ(0, nl_do(&self->ctl, PERSOHUB_CMD_CTRL_ATTACH, NULL, NULL,
			   ""));
	read_events(&self->mon, &self->ev);	/* the run above's */
	memset(&self->ev, 0, sizeof(self->ev));
	seq = sim_start(SIM "--stations c0p0 --requests 1 --service-us 2000"
			" --timeout-ms 30000");
	i = wait_event(&self->mon, &self->ev, PERSOHUB_CMD_REQUEST_NEW, 20000);
	ASSERT_LE(0, i);
	req = self->ev.req[i];
	EXPECT_EQ(-EHOSTDOWN, nl_do(&self->ctl, PERSOHUB_CMD_DISPATCH, NULL,
				    NULL, "qi", PERSOHUB_A_REQ_ID, req,
				    PERSOHUB_A_SERVER_ID, srv3));
	EXPECT_STREQ("server disabled by the administrator",
		     self->ctl.errmsg);
	/* Enabled (over netlink this time), it takes the request. */
	ASSERT_EQ(0, nl_do(&self->ctl, PERSOHUB_CMD_PORT_SET, NULL, NULL,
			   "ic", PERSOHUB_A_PORT_ID, srv3,
			   PERSOHUB_A_PORT_ENABLED, 1));
	EXPECT_EQ(0, nl_do(&self->ctl, PERSOHUB_CMD_DISPATCH, NULL, NULL,
			   "qi", PERSOHUB_A_REQ_ID, req,
			   PERSOHUB_A_SERVER_ID, srv3));
	EXPECT_EQ(0, nl_do(&self->ctl, PERSOHUB_CMD_CTRL_DETACH, NULL, NULL,
			   ""));
	ASSERT_EQ(0, sim_wait(&self->res, seq, 60));
	EXPECT_EQ(1, sim_get(&self->res, "total.ok"));
	EXPECT_EQ(before + 1, ph_stat("c1p3", "requests"));
}

/* One class's figures (CLASS_GET): max_wait_ms, counters, wait histogram. */
struct class_info {
	uint32_t max_wait_ms;
	uint64_t stat[PERSOHUB_CLASS_STAT_MAX + 1];
	uint64_t hist_total;	/* samples in its histogram */
	int hist_top;		/* its highest bucket in use, -1: none */
};

static int class_cb(const struct phnl_attrs *at, void *data)
{
	struct class_info *ci = data;
	const struct nlattr *a, *nest = at->a[PERSOHUB_A_CLASS_STATS];

	ci->max_wait_ms = phnl_u32(at, PERSOHUB_A_CLASS_MAX_WAIT_MS, 0);
	ci->hist_total = 0;
	ci->hist_top = -1;
	if (at->a[PERSOHUB_A_HIST])
		mnl_attr_for_each_nested(a, at->a[PERSOHUB_A_HIST])
			if (mnl_attr_get_type(a) != PERSOHUB_NEST_PAD &&
			    mnl_attr_get_u64(a)) {
				ci->hist_total += mnl_attr_get_u64(a);
				ci->hist_top = mnl_attr_get_type(a) - 1;
			}
	if (!nest)
		return 0;
	mnl_attr_for_each_nested(a, nest)
		if (mnl_attr_get_type(a) <= PERSOHUB_CLASS_STAT_MAX &&
		    mnl_attr_get_type(a) != PERSOHUB_NEST_PAD)
			ci->stat[mnl_attr_get_type(a)] = mnl_attr_get_u64(a);
	return 0;
}

/*
 * A controller cannot send a request to a server outside its class: the
 * DISPATCH is refused and says why; the event said the request's class.
 */
TEST_F(nl, dispatch_refused_across_classes)
{
	int seq, i, srv2 = port_id("c1p2"), srv3 = port_id("c1p3");
	struct class_info ci = { 0 };
	uint64_t req;

	ASSERT_EQ(0, ph_set("c0p0", "class", "5"));
	ASSERT_EQ(0, nl_do(&self->ctl, PERSOHUB_CMD_CTRL_ATTACH, NULL, NULL,
			   ""));
	seq = sim_start(SIM "--stations c0p0 --requests 1 --service-us 2000"
			" --timeout-ms 30000");
	i = wait_event(&self->mon, &self->ev, PERSOHUB_CMD_REQUEST_NEW, 20000);
	ASSERT_LE(0, i);
	EXPECT_EQ(5, self->ev.klass[i]);
	req = self->ev.req[i];
	EXPECT_EQ(-EXDEV, nl_do(&self->ctl, PERSOHUB_CMD_DISPATCH, NULL, NULL,
				"qi", PERSOHUB_A_REQ_ID, req,
				PERSOHUB_A_SERVER_ID, srv2));
	EXPECT_STREQ("the server does not serve this request's class",
		     self->ctl.errmsg);
	/* A server made to serve classes 0 and 5 takes it. */
	ASSERT_EQ(0, nl_do(&self->ctl, PERSOHUB_CMD_PORT_SET, NULL, NULL,
			   "iq", PERSOHUB_A_PORT_ID, srv3,
			   PERSOHUB_A_PORT_CLASSES, (uint64_t)0x21));
	EXPECT_EQ(0, nl_do(&self->ctl, PERSOHUB_CMD_DISPATCH, NULL, NULL,
			   "qi", PERSOHUB_A_REQ_ID, req,
			   PERSOHUB_A_SERVER_ID, srv3));
	EXPECT_EQ(0, nl_do(&self->ctl, PERSOHUB_CMD_CTRL_DETACH, NULL, NULL,
			   ""));
	ASSERT_EQ(0, sim_wait(&self->res, seq, 60));
	EXPECT_EQ(1, sim_get(&self->res, "total.ok"));
	ASSERT_EQ(0, nl_do(&self->ctl, PERSOHUB_CMD_CLASS_GET, class_cb, &ci,
			   "i", PERSOHUB_A_CLASS_ID, 5));
	EXPECT_EQ(1, ci.stat[PERSOHUB_CLASS_STAT_DISPATCHED]);
	EXPECT_EQ(1, ci.stat[PERSOHUB_CLASS_STAT_DONE]);
	EXPECT_EQ(0, ci.stat[PERSOHUB_CLASS_STAT_WAITING]);
	/*
	 * Its wait in its own histogram, in the bucket of its sum:
	 * [2^(i-1), 2^i) ns; its one answer's service time beside it.
	 */
	EXPECT_EQ(1, ci.hist_total);
	ASSERT_LT(0, ci.hist_top);
	EXPECT_LE(1ULL << (ci.hist_top - 1), ci.stat[PERSOHUB_CLASS_STAT_WAIT_NS]);
	EXPECT_GT(1ULL << ci.hist_top, ci.stat[PERSOHUB_CLASS_STAT_WAIT_NS]);
	EXPECT_EQ(1, ci.stat[PERSOHUB_CLASS_STAT_ANSWERS]);
	EXPECT_LT(0, ci.stat[PERSOHUB_CLASS_STAT_SERVICE_NS]);
	/* Out of range: refused by the policy. */
	EXPECT_EQ(-ERANGE, nl_do(&self->ctl, PERSOHUB_CMD_PORT_SET, NULL, NULL,
				 "ii", PERSOHUB_A_PORT_ID, srv3,
				 PERSOHUB_A_PORT_CLASS, 64));
	EXPECT_EQ(-ERANGE, nl_do(&self->ctl, PERSOHUB_CMD_PORT_SET, NULL, NULL,
				 "iq", PERSOHUB_A_PORT_ID, srv3,
				 PERSOHUB_A_PORT_CLASSES, (uint64_t)0));
}

/*
 * Two stations of priority 7 keep one server busy between them; a third
 * of priority 0 would never be served, but for its class's max_wait_ms:
 * its requests then go first, and it gets its answers.
 */
TEST_F(nl, max_wait_ends_starvation)
{
	struct class_info ci = { 0 };
	long long low;

	ASSERT_EQ(0, ph_set("c1p3", "enabled", "0"));
	ASSERT_EQ(0, ph_set("c0p0", "priority", "7"));
	ASSERT_EQ(0, ph_set("c0p1", "priority", "7"));
	ASSERT_EQ(0, nl_do(&self->ctl, PERSOHUB_CMD_CLASS_SET, NULL, NULL,
			   "ii", PERSOHUB_A_CLASS_ID, 0,
			   PERSOHUB_A_CLASS_MAX_WAIT_MS, 300));
	ASSERT_EQ(0, nl_do(&self->ctl, PERSOHUB_CMD_CLASS_GET, class_cb, &ci,
			   "i", PERSOHUB_A_CLASS_ID, 0));
	EXPECT_EQ(300, ci.max_wait_ms);
	ASSERT_EQ(0, sim_run(&self->res, 120, "--telnet --stations"
			     " c0p0,c0p1,c0p2 --servers c1p2"
			     " --duration 4 --requests 100000"
			     " --service-us 10000 --timeout-ms 30000"));
	nl_do(&self->ctl, PERSOHUB_CMD_CLASS_SET, NULL, NULL, "ii",
	      PERSOHUB_A_CLASS_ID, 0, PERSOHUB_A_CLASS_MAX_WAIT_MS, 0);
	EXPECT_EQ(0, sim_get(&self->res, "total.wrong"));
	EXPECT_EQ(0, sim_get(&self->res, "total.timeouts"));
	/*
	 * In 4 s, one answer each time a request has waited 300 ms (and its
	 * service): about 14, and not much more, as the two others keep
	 * their priority. In arrival order it would get a third of some 350.
	 */
	low = sim_get(&self->res, "c0p2.ok");
	EXPECT_LE(3, low);
	EXPECT_GE(30, low);
}

/* Events of one request, in order: new, then ready and done. */
TEST_F(nl, events_in_order)
{
	int seq, i, st = port_id("c0p3");
	uint64_t req = 0;

	seq = sim_start(SIM "--stations c0p3 --requests 1 --service-us 1000");
	ASSERT_EQ(0, sim_wait(&self->res, seq, 60));
	ASSERT_EQ(1, sim_get(&self->res, "total.ok"));
	ASSERT_LE(0, wait_event(&self->mon, &self->ev,
				PERSOHUB_CMD_REQUEST_DONE, 1000));
	/* REQUEST_NEW, SERVER_READY (the server is free again), DONE. */
	for (i = 0; i < self->ev.n; i++)
		if (self->ev.cmd[i] == PERSOHUB_CMD_REQUEST_NEW)
			break;
	ASSERT_LT(i, self->ev.n);
	req = self->ev.req[i];
	EXPECT_EQ(st, self->ev.port[i]);
	ASSERT_LT(i + 2, self->ev.n);
	EXPECT_EQ(PERSOHUB_CMD_SERVER_READY, self->ev.cmd[i + 1]);
	EXPECT_EQ(PERSOHUB_CMD_REQUEST_DONE, self->ev.cmd[i + 2]);
	EXPECT_EQ(req, self->ev.req[i + 2]);
	EXPECT_EQ(PERSOHUB_RESULT_OK, self->ev.result[i + 2]);
	EXPECT_EQ(self->ev.server[i + 1], self->ev.server[i + 2]);
	/* Never payload: not in events, not in the kernel log. */
	EXPECT_EQ(0, self->ev.payload_seen);
	EXPECT_NE(0, system("dmesg | grep -q -e PHRQ -e PHRS"));
}

/* Without CAP_NET_ADMIN: reading is allowed, nothing else. */
TEST_F(nl, unprivileged_refused)
{
	char path[128], name[32];
	int status;
	pid_t pid;

	ASSERT_EQ(0, ph_get("c0p0", "name", name, sizeof(name)));
	snprintf(path, sizeof(path), "/dev/persohub/%s", name);
	ASSERT_EQ(0, access(path, F_OK));
	pid = fork();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		struct phnl h;
		int fails = 0;

		if (setresgid(65534, 65534, 65534) ||
		    setresuid(65534, 65534, 65534))
			_exit(100);
		if (phnl_open(&h))
			_exit(101);
		fails += nl_do(&h, PERSOHUB_CMD_PORT_GET, NULL, NULL, "s",
			       PERSOHUB_A_PORT_NAME, name) != 0;
		fails += nl_do(&h, PERSOHUB_CMD_PORT_SET, NULL, NULL, "si",
			       PERSOHUB_A_PORT_NAME, name,
			       PERSOHUB_A_PORT_QUEUE_DEPTH, 2) != -EPERM;
		fails += nl_do(&h, PERSOHUB_CMD_CTRL_ATTACH, NULL, NULL,
			       "") != -EPERM;
		fails += nl_do(&h, PERSOHUB_CMD_CTRL_KEEPALIVE, NULL, NULL,
			       "") != -EPERM;
		fails += nl_do(&h, PERSOHUB_CMD_DISPATCH, NULL, NULL, "qi",
			       PERSOHUB_A_REQ_ID, 1ULL,
			       PERSOHUB_A_SERVER_ID, 1) != -EPERM;
		fails += nl_do(&h, PERSOHUB_CMD_USER_SERVER_ADD, NULL, NULL,
			       "s", PERSOHUB_A_PORT_NAME, "evil") != -EPERM;
		fails += nl_do(&h, PERSOHUB_CMD_USER_STATION_ADD, NULL, NULL,
			       "s", PERSOHUB_A_PORT_NAME, "evil") != -EPERM;
		fails += nl_do(&h, PERSOHUB_CMD_USER_STATION_DEL, NULL, NULL,
			       "s", PERSOHUB_A_PORT_NAME, "evil") != -EPERM;
		fails += open(path, O_RDWR) != -1 || errno != EACCES;
		_exit(fails);
	}
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	ASSERT_TRUE(WIFEXITED(status));
	EXPECT_EQ(0, WEXITSTATUS(status));
	EXPECT_EQ(1, ph_num("c0p0", "queue_depth"));
}

/* A controller killed with requests waiting: the kernel serves them all. */
TEST_F(nl, controller_killed_nothing_lost)
{
	int pipefd[2], seq;
	long long served;
	char c;
	pid_t pid;

	ASSERT_EQ(0, pipe(pipefd));
	pid = fork();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		struct phnl h;

		if (phnl_open(&h) ||
		    nl_do(&h, PERSOHUB_CMD_CTRL_ATTACH, NULL, NULL, ""))
			_exit(1);
		if (write(pipefd[1], "a", 1) != 1)
			_exit(2);
		for (;;)
			pause();
	}
	ASSERT_EQ(1, read(pipefd[0], &c, 1));
	served = ph_stat("c1p2", "requests") + ph_stat("c1p3", "requests");
	seq = sim_start(SIM "--stations c0p0,c0p1,c0p2,c0p3 --requests 5"
			" --service-us 2000 --timeout-ms 30000");
	/* Four requests wait: nobody dispatches them. */
	ASSERT_TRUE(wait_count(&self->mon, &self->ev, PERSOHUB_CMD_REQUEST_NEW,
			       4, 20000));
	/* Deliberate: time in which a wrong dispatch would show. */
	ph_sleep_ms(300);
	EXPECT_EQ(served,
		  ph_stat("c1p2", "requests") + ph_stat("c1p3", "requests"));
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
	ASSERT_EQ(0, sim_wait(&self->res, seq, 60));
	EXPECT_EQ(20, sim_get(&self->res, "total.ok"));
	EXPECT_EQ(0, sim_get(&self->res, "total.wrong"));
	EXPECT_EQ(0, sim_get(&self->res, "total.errors"));
	EXPECT_EQ(served + 20,
		  ph_stat("c1p2", "requests") + ph_stat("c1p3", "requests"));
	/* attached (by the child), then detached when it died */
	EXPECT_TRUE(wait_count(&self->mon, &self->ev,
			       PERSOHUB_CMD_CTRL_CHANGED, 2, 1000));
	close(pipefd[0]);
	close(pipefd[1]);
}

struct reqs {
	int n;
	uint64_t id[64];
	uint32_t server[64];
};

static int collect_req(const struct phnl_attrs *at, void *data)
{
	struct reqs *r = data;

	if (r->n < 64) {
		r->id[r->n] = phnl_u64(at, PERSOHUB_A_REQ_ID, 0);
		r->server[r->n] = phnl_u32(at, PERSOHUB_A_SERVER_ID, 0);
		r->n++;
	}
	return 0;
}

/*
 * A controller that holds a request back on purpose (a pinned station, a
 * disabled server) keeps it while its keepalives come; once it is quiet
 * for ctrl_grace_ms, the hub serves the request and says so.
 */
TEST_F(nl, keepalive_holds_requests_back)
{
	int grace = 500 * ph_timeout_scale(), seq, i;
	long long served;
	char val[16];

	EXPECT_EQ(-ENOENT, nl_do(&self->ctl, PERSOHUB_CMD_CTRL_KEEPALIVE,
				 NULL, NULL, ""));
	EXPECT_STREQ("not the controller", self->ctl.errmsg);
	snprintf(val, sizeof(val), "%d", grace);
	ASSERT_EQ(0, set_param(GRACE, val));
	ASSERT_EQ(0, nl_do(&self->ctl, PERSOHUB_CMD_CTRL_ATTACH, NULL, NULL,
			   ""));
	served = ph_stat("c1p2", "requests") + ph_stat("c1p3", "requests");
	seq = sim_start(SIM "--stations c0p0 --requests 1 --service-us 1000"
			" --timeout-ms 60000");
	ASSERT_LE(0, wait_event(&self->mon, &self->ev,
				PERSOHUB_CMD_REQUEST_NEW, 20000));
	/* Four grace periods with both servers idle: still waiting. */
	for (i = 0; i < 16; i++) {
		ph_sleep_ms(grace / 4);
		ASSERT_EQ(0, nl_do(&self->ctl, PERSOHUB_CMD_CTRL_KEEPALIVE,
				   NULL, NULL, ""));
	}
	EXPECT_EQ(served,
		  ph_stat("c1p2", "requests") + ph_stat("c1p3", "requests"));
	read_events(&self->mon, &self->ev);
	EXPECT_EQ(1, count_events(&self->ev, PERSOHUB_CMD_CTRL_CHANGED));
	/* Quiet now: the hub takes over (CTRL_CHANGED) and serves it. */
	ASSERT_EQ(0, sim_wait(&self->res, seq, 60));
	EXPECT_EQ(1, sim_get(&self->res, "total.ok"));
	EXPECT_TRUE(wait_count(&self->mon, &self->ev,
			       PERSOHUB_CMD_CTRL_CHANGED, 2, 1000));
	EXPECT_EQ(served + 1,
		  ph_stat("c1p2", "requests") + ph_stat("c1p3", "requests"));
	/* Heard from again: it decides again. */
	EXPECT_EQ(0, nl_do(&self->ctl, PERSOHUB_CMD_CTRL_KEEPALIVE, NULL, NULL,
			   ""));
	EXPECT_TRUE(wait_count(&self->mon, &self->ev,
			       PERSOHUB_CMD_CTRL_CHANGED, 3, 1000));
}

/* A controller taking over learns every waiting request from a dump. */
TEST_F(nl, request_dump_for_takeover)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct nlmsghdr *nlh;
	struct reqs r = { 0 };
	int seq, i;

	ASSERT_EQ(0, nl_do(&self->ctl, PERSOHUB_CMD_CTRL_ATTACH, NULL, NULL,
			   ""));
	seq = sim_start(SIM "--stations c0p0,c0p1,c0p2 --requests 1"
			" --service-us 1000 --timeout-ms 30000");
	ASSERT_TRUE(wait_count(&self->mon, &self->ev, PERSOHUB_CMD_REQUEST_NEW,
			       3, 20000));
	nlh = phnl_msg(&self->ctl, buf, PERSOHUB_CMD_REQUEST_GET, NLM_F_DUMP);
	ASSERT_EQ(0, phnl_talk(&self->ctl, nlh, collect_req, &r));
	ASSERT_EQ(3, r.n);
	for (i = 0; i < 3; i++) {
		EXPECT_EQ(0, r.server[i]);
		EXPECT_EQ(0, nl_do(&self->ctl, PERSOHUB_CMD_DISPATCH, NULL,
				   NULL, "qi", PERSOHUB_A_REQ_ID, r.id[i],
				   PERSOHUB_A_SERVER_ID,
				   port_id(i ? "c1p3" : "c1p2")));
		/* c1p3 takes the third once it answered the second. */
		for (int t = 0; i == 1 && t < 1000; t++) {
			char st[16];

			if (!ph_get("c1p3", "state", st, sizeof(st)) &&
			    !strcmp(st, "idle"))
				break;
			ph_sleep_ms(20);
		}
	}
	ASSERT_EQ(0, sim_wait(&self->res, seq, 60));
	EXPECT_EQ(3, sim_get(&self->res, "total.ok"));
}

struct stats_reply {
	uint64_t v[PERSOHUB_STAT_MAX + 1];
	uint64_t hist_total;
	uint32_t waiting;
	int got;
};

static int stats_cb(const struct phnl_attrs *at, void *data)
{
	struct stats_reply *r = data;
	const struct nlattr *a;

	r->got++;
	if (at->a[PERSOHUB_A_STATS])
		mnl_attr_for_each_nested(a, at->a[PERSOHUB_A_STATS])
			if (mnl_attr_get_type(a) <= PERSOHUB_STAT_MAX)
				r->v[mnl_attr_get_type(a)] = mnl_attr_get_u64(a);
	if (at->a[PERSOHUB_A_HIST])
		mnl_attr_for_each_nested(a, at->a[PERSOHUB_A_HIST])
			r->hist_total += mnl_attr_get_u64(a);
	r->waiting = phnl_u32(at, PERSOHUB_A_HUB_WAITING, 99);
	return 0;
}

/* STATS_GET: a port's counters are sysfs's; the histogram counts each
 * dispatch once.
 */
TEST_F(nl, stats_match_sysfs)
{
	struct stats_reply a = { 0 }, h0 = { 0 }, h1 = { 0 };
	int seq, i;

	ASSERT_EQ(0, nl_do(&self->ctl, PERSOHUB_CMD_STATS_GET, stats_cb, &h0,
			   ""));
	seq = sim_start(SIM "--stations c0p0,c0p1 --requests 7");
	ASSERT_EQ(0, sim_wait(&self->res, seq, 60));
	ASSERT_EQ(0, nl_do(&self->ctl, PERSOHUB_CMD_STATS_GET, stats_cb, &a,
			   "i", PERSOHUB_A_PORT_ID, port_id("c0p1")));
	ASSERT_EQ(1, a.got);
	for (i = 1; i <= PERSOHUB_STAT_MAX; i++) {
		const char *name = phnl_stat_names[i];
		long long want = ph_stat("c0p1", name);

		EXPECT_EQ(want, (long long)a.v[i]) {
			TH_LOG("counter %s", name);
		}
	}
	EXPECT_LE(7, a.v[PERSOHUB_STAT_RESPONSES]);
	ASSERT_EQ(0, nl_do(&self->ctl, PERSOHUB_CMD_STATS_GET, stats_cb, &h1,
			   ""));
	EXPECT_EQ(14, h1.hist_total - h0.hist_total);
	EXPECT_EQ(0, h1.waiting);
}

/* Server failure and port changes are announced. */
TEST_F(nl, failure_and_change_events)
{
	int seq, i, t, srv = port_id("c1p2"), st = port_id("c0p2");
	bool failed = false, changed = false;

	/* No retry: the timeout ends the request with the error frame. */
	ASSERT_EQ(0, system("echo 0 > /sys/module/persohub/parameters/max_retries"));
	ASSERT_EQ(0, ph_set("c1p2", "timeout_ms", "200"));
	ASSERT_EQ(0, ph_set("c1p3", "state", "failed"));
	seq = sim_start(SIM "--stations c0p2 --requests 1"
			" --server-mode c1p2=silent --expect-errors");
	ASSERT_EQ(0, sim_wait(&self->res, seq, 60));
	system("echo 1 > /sys/module/persohub/parameters/max_retries");
	EXPECT_EQ(1, sim_get(&self->res, "total.errors"));
	ASSERT_EQ(0, ph_set("c0p2", "role", "off"));
	/* Read until both were seen, for at most a second. */
	for (t = 0, i = 0; t < 100 && !(failed && changed); t++) {
		if (t)
			ph_sleep_ms(10);
		read_events(&self->mon, &self->ev);
		for (; i < self->ev.n; i++) {
			if (self->ev.cmd[i] == PERSOHUB_CMD_SERVER_FAILED &&
			    self->ev.server[i] == (uint32_t)srv)
				failed = true;
			if (self->ev.cmd[i] == PERSOHUB_CMD_PORT_CHANGED &&
			    self->ev.port[i] == (uint32_t)st)
				changed = true;
			if (self->ev.cmd[i] == PERSOHUB_CMD_REQUEST_DONE)
				EXPECT_EQ(PERSOHUB_RESULT_ERROR,
					  self->ev.result[i]);
		}
	}
	EXPECT_TRUE(failed);
	EXPECT_TRUE(changed);
	ph_set("c1p2", "timeout_ms", "2000");
}

/* The requests userspace servers take from a station's device. */
struct msgbuf {
	struct persohub_msg h;
	uint8_t data[PERSOHUB_PAYLOAD_MAX];
};

static int answer_msg(int fd, const struct msgbuf *m)
{
	struct msgbuf r = { .h = m->h };

	r.h.len = SP_RESP_LEN;
	sp_response(r.data, 4242, m->data, m->h.len, SP_USER_SERVER);
	return write(fd, &r, sizeof(r.h) + SP_RESP_LEN) < 0 ? -errno : 0;
}

static int get_port_id(const struct phnl_attrs *at, void *data)
{
	*(uint32_t *)data = phnl_u32(at, PERSOHUB_A_PORT_ID, 0);
	return 0;
}

static uint32_t user_server_add(struct phnl *h, const char *name,
				uint32_t timeout_ms)
{
	uint32_t id = 0;

	if (nl_do(h, PERSOHUB_CMD_USER_SERVER_ADD, get_port_id, &id, "si",
		  PERSOHUB_A_PORT_NAME, name,
		  PERSOHUB_A_PORT_TIMEOUT_MS, timeout_ms))
		return 0;
	return id;
}

static int user_server_del(struct phnl *h, const char *name)
{
	return nl_do(h, PERSOHUB_CMD_USER_SERVER_DEL, NULL, NULL, "s",
		     PERSOHUB_A_PORT_NAME, name);
}

/*
 * An answered request waits behind an earlier one of its station while
 * its server is deleted: its REQUEST_DONE still names that server, read
 * from the request, not from the freed server (slub_debug poisons freed
 * objects in the test machine; KASAN reports it in make check-debug).
 */
TEST_F(nl, answer_outlives_its_server)
{
	struct msgbuf m1, m2, *first, *second;
	uint32_t u1, u2;
	int fd, seq, i, done;

	ASSERT_EQ(0, ph_roles("c1p2,c1p3", "off"));
	ASSERT_EQ(0, ph_set("c0p0", "queue_depth", "2"));
	u1 = user_server_add(&self->ctl, "uaf1", 20000);
	u2 = user_server_add(&self->ctl, "uaf2", 20000);
	ASSERT_NE(0, u1);
	ASSERT_NE(0, u2);
	fd = ph_open_station("c0p0", O_RDWR);
	ASSERT_LE(0, fd);
	seq = sim_start("--telnet --key 4242 --stations c0p0 --requests 1"
			" --burst c0p0=2 --depth 2");
	ASSERT_LT(0, seq);
	ASSERT_LT(0, read(fd, &m1, sizeof(m1)));
	ASSERT_LT(0, read(fd, &m2, sizeof(m2)));
	/* R1 went to the longest idle server, uaf1; R2 to uaf2. */
	first = m1.h.req_id < m2.h.req_id ? &m1 : &m2;
	second = first == &m1 ? &m2 : &m1;
	ASSERT_EQ(u1, first->h.server_id);
	ASSERT_EQ(u2, second->h.server_id);
	ASSERT_EQ(0, answer_msg(fd, second));
	ASSERT_EQ(0, user_server_del(&self->ctl, "uaf2"));
	ASSERT_EQ(0, answer_msg(fd, first));
	ASSERT_TRUE(wait_count(&self->mon, &self->ev,
			       PERSOHUB_CMD_REQUEST_DONE, 2, 10000));
	for (i = 0, done = 0; i < self->ev.n; i++) {
		if (self->ev.cmd[i] != PERSOHUB_CMD_REQUEST_DONE)
			continue;
		done++;
		EXPECT_EQ(PERSOHUB_RESULT_OK, self->ev.result[i]);
		EXPECT_EQ(self->ev.req[i] == second->h.req_id ? u2 : u1,
			  self->ev.server[i]);
	}
	EXPECT_EQ(2, done);
	ASSERT_EQ(0, sim_wait(&self->res, seq, 30));
	EXPECT_EQ(2, sim_get(&self->res, "total.ok"));
	EXPECT_EQ(0, sim_get(&self->res, "total.wrong"));
	close(fd);
	user_server_del(&self->ctl, "uaf1");
	ph_set("c0p0", "queue_depth", "1");
}

/* Ids are u32: 2^31 and above name no port, never "any port". */
TEST_F(nl, ids_beyond_int_max)
{
	static const uint32_t ids[] = { 0x80000000u, 0xfffffffeu, 0xffffffffu };
	unsigned int i;

	ASSERT_EQ(0, nl_do(&self->ctl, PERSOHUB_CMD_CTRL_ATTACH, NULL, NULL,
			   ""));
	for (i = 0; i < sizeof(ids) / sizeof(ids[0]); i++) {
		EXPECT_EQ(-ENODEV, nl_do(&self->ctl, PERSOHUB_CMD_PORT_GET,
					 NULL, NULL, "i", PERSOHUB_A_PORT_ID,
					 ids[i]));
		EXPECT_EQ(-ENODEV, nl_do(&self->ctl, PERSOHUB_CMD_PORT_SET,
					 NULL, NULL, "ii", PERSOHUB_A_PORT_ID,
					 ids[i], PERSOHUB_A_PORT_QUEUE_DEPTH,
					 3));
		EXPECT_EQ(-ENODEV, nl_do(&self->ctl, PERSOHUB_CMD_DISPATCH,
					 NULL, NULL, "qi", PERSOHUB_A_REQ_ID,
					 1ULL, PERSOHUB_A_SERVER_ID, ids[i]));
		EXPECT_EQ(-ENODEV, nl_do(&self->ctl,
					 PERSOHUB_CMD_USER_SERVER_DEL, NULL,
					 NULL, "i", PERSOHUB_A_PORT_ID,
					 ids[i]));
	}
	/* Nothing happened to the first ports. */
	EXPECT_EQ(1, ph_num("c0p0", "queue_depth"));
	EXPECT_NE(NULL, ph_port_dir("c0p0"));
	nl_do(&self->ctl, PERSOHUB_CMD_CTRL_DETACH, NULL, NULL, "");
}

static int ctrl_attached_cb(const struct phnl_attrs *at, void *data)
{
	*(int *)data = phnl_u8(at, PERSOHUB_A_CTRL_ATTACHED, 99);
	return 0;
}

static int ctrl_attached(struct phnl *h)
{
	int v = -1;

	if (nl_do(h, PERSOHUB_CMD_STATS_GET, ctrl_attached_cb, &v, ""))
		return -1;
	return v;
}

/*
 * A socket closed in another network namespace under the controller's
 * port id is not the controller: the hub keeps it.
 */
TEST_F(nl, release_in_other_netns_keeps_controller)
{
	int status;
	pid_t pid;

	ASSERT_EQ(0, nl_do(&self->ctl, PERSOHUB_CMD_CTRL_ATTACH, NULL, NULL,
			   ""));
	ASSERT_EQ(1, ctrl_attached(&self->ctl));
	pid = fork();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		struct sockaddr_nl sa = {
			.nl_family = AF_NETLINK,
			.nl_pid = self->ctl.portid,
		};
		int fd;

		if (unshare(CLONE_NEWNET))
			_exit(100);
		fd = socket(AF_NETLINK, SOCK_RAW, NETLINK_GENERIC);
		if (fd < 0)
			_exit(101);
		if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)))
			_exit(102);
		close(fd);
		_exit(0);
	}
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	ASSERT_TRUE(WIFEXITED(status));
	ASSERT_EQ(0, WEXITSTATUS(status));
	EXPECT_EQ(1, ctrl_attached(&self->ctl));
	EXPECT_EQ(0, nl_do(&self->ctl, PERSOHUB_CMD_CTRL_KEEPALIVE, NULL,
			   NULL, ""));
	EXPECT_EQ(0, nl_do(&self->ctl, PERSOHUB_CMD_CTRL_DETACH, NULL, NULL,
			   ""));
}

/* Events show who asks what and how fast: admins only may listen. */
TEST_F(nl, events_group_needs_admin)
{
	int status;
	pid_t pid;

	pid = fork();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		struct phnl h;

		if (setresgid(65534, 65534, 65534) ||
		    setresuid(65534, 65534, 65534))
			_exit(100);
		if (phnl_open(&h))
			_exit(101);
		_exit(phnl_subscribe(&h) == 0 ? 1 : 0);
	}
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	ASSERT_TRUE(WIFEXITED(status));
	EXPECT_EQ(0, WEXITSTATUS(status));
}

/* Bytes the kernel charges to a netlink socket's receive buffer. */
static long netlink_rmem(uint32_t portid)
{
	char line[256];
	long rmem = -1;
	FILE *f = fopen("/proc/net/netlink", "r");

	/* sk Eth Pid Groups Rmem Wmem ... */
	while (f && fgets(line, sizeof(line), f)) {
		unsigned long pid;
		long r;

		if (sscanf(line, "%*s %*d %lu %*s %ld", &pid, &r) == 2 &&
		    pid == portid)
			rmem = r;
	}
	if (f)
		fclose(f);
	return rmem;
}

#define KMALLOC_EV "/sys/kernel/debug/tracing/events/kmem/kmalloc/"

static int write_file(const char *path, const char *val)
{
	int fd = open(path, O_WRONLY | O_TRUNC);
	ssize_t n;

	if (fd < 0)
		return -1;
	n = write(fd, val, strlen(val));
	close(fd);
	return n == (ssize_t)strlen(val) ? 0 : -1;
}

/* Socket buffers of 2 KiB and more allocated since the trace was cleared. */
static int big_skb_allocs(void)
{
	FILE *f = fopen("/sys/kernel/debug/tracing/trace", "r");
	char line[512];
	int n = 0;

	while (f && fgets(line, sizeof(line), f))
		if (strstr(line, "kmalloc") &&
		    (strstr(line, "alloc_skb") || strstr(line, "kmalloc_reserve")))
			n++;
	if (f)
		fclose(f);
	return n;
}

/*
 * Events are sized to what they hold: built in the receive path, several
 * per request, they must not each take a page-sized buffer (netlink trims
 * it before queueing, at the cost of another allocation and a copy), and
 * what a listener keeps unread stays small.
 */
TEST_F(nl, event_messages_are_small)
{
	long rmem;
	int n, big;

	ASSERT_EQ(0, write_file(KMALLOC_EV "filter", "bytes_req >= 2048"));
	ASSERT_EQ(0, write_file("/sys/kernel/debug/tracing/trace", ""));
	ASSERT_EQ(0, write_file(KMALLOC_EV "enable", "1"));
	ASSERT_EQ(0, sim_run(&self->res, 60, "--telnet --stations c0p0"
			     " --servers c1p2,c1p3 --requests 4"));
	write_file(KMALLOC_EV "enable", "0");
	big = big_skb_allocs();
	write_file(KMALLOC_EV "filter", "0");
	EXPECT_EQ(4, sim_get(&self->res, "total.ok"));
	rmem = netlink_rmem(self->mon.portid);
	read_events(&self->mon, &self->ev);
	n = self->ev.n;
	/* at least REQUEST_NEW, REQUEST_DONE, SERVER_READY per request */
	ASSERT_LE(12, n);
	TH_LOG("%d events: %ld bytes held, %d skbs of 2 KiB or more", n,
	       rmem, big);
	EXPECT_GT(rmem, 0);
	EXPECT_LE(rmem, n * 1280L);
	/* a stray one from elsewhere in the guest, not one per event */
	EXPECT_GE(2, big);
}

/*
 * PORT_SET writes what it was given and nothing else: a line setting
 * written through sysfs meanwhile is never undone by a PORT_SET of
 * another setting (it used to write back a copy of the line).
 */
struct baud_race {
	volatile int stop;
	int lost, writes;
};

static void *baud_writer(void *arg)
{
	static const char *const v[] = { "9600", "19200" };
	struct baud_race *r = arg;
	char got[32];
	int i;

	for (i = 0; !r->stop; i++) {
		if (ph_set("c0p1", "baud", v[i & 1]))
			break;
		r->writes++;
		if (ph_get("c0p1", "baud", got, sizeof(got)) ||
		    strcmp(got, v[i & 1]))
			r->lost++;
	}
	return NULL;
}

TEST_F_TIMEOUT(nl, port_set_never_undoes_other_writes, 60)
{
	struct baud_race r = { 0 };
	time_t t0;
	uint32_t id = port_id("c0p1");
	pthread_t t;
	int i, fails = 0;

	/*
	 * Each PORT_SET also makes the port a station or takes that away:
	 * creating or removing its device sleeps, which is when a stale
	 * copy of the line would be written back over a sysfs write.
	 */
	ASSERT_EQ(0, ph_set("c0p1", "role", "off"));
	ASSERT_EQ(0, pthread_create(&t, NULL, baud_writer, &r));
	/* 600 rounds, and until the writer had 200 writes (20 s at most). */
	t0 = time(NULL);
	for (i = 0; i < 600 || (r.writes < 200 &&
				time(NULL) < t0 + 20 * ph_timeout_scale()); i++)
		fails += nl_do(&self->ctl, PERSOHUB_CMD_PORT_SET, NULL, NULL,
			       "iii", PERSOHUB_A_PORT_ID, id,
			       PERSOHUB_A_PORT_ROLE,
			       i & 1 ? PERSOHUB_ROLE_OFF :
				       PERSOHUB_ROLE_STATION,
			       PERSOHUB_A_PORT_TIMEOUT_MS, 1000 + i) != 0;
	r.stop = 1;
	pthread_join(t, NULL);
	TH_LOG("%d baud writes beside %d PORT_SETs, %d undone", r.writes, i,
	       r.lost);
	EXPECT_EQ(0, fails);
	EXPECT_LE(200, r.writes);
	EXPECT_EQ(0, r.lost);
	EXPECT_EQ(1000 + i - 1, ph_num("c0p1", "timeout_ms"));
	ph_set("c0p1", "baud", "115200");
	ph_set("c0p1", "timeout_ms", "2000");
}

#define RETRIES "/sys/module/persohub/parameters/max_retries"

static int port_set_state(struct phnl *h, const char *name, uint32_t st)
{
	return nl_do(h, PERSOHUB_CMD_PORT_SET, NULL, NULL, "si",
		     PERSOHUB_A_PORT_NAME, name, PERSOHUB_A_PORT_STATE, st);
}

static int state_cb(const struct phnl_attrs *at, void *data)
{
	*(uint32_t *)data = phnl_u32(at, PERSOHUB_A_PORT_STATE, 99);
	return 0;
}

/*
 * max_retries of 256 and more: a request is retried exactly that many
 * times, then failed (a u8 counter used to wrap and retry for ever); past
 * 1000 the parameter is refused.
 */
TEST_F(nl, max_retries_beyond_255)
{
	long long retries0 = ph_stat("c0p0", "retries");
	long long errors0 = ph_stat("c0p0", "errors_sent");
	uint32_t st;
	int seq, timeouts = 0, i;

	EXPECT_NE(0, set_param(RETRIES, "1001"));
	ASSERT_EQ(0, set_param(RETRIES, "256"));
	ASSERT_EQ(0, ph_roles("c1p2,c1p3", "off"));
	/* A userspace server nobody reads for: each dispatch times out. */
	ASSERT_NE(0, user_server_add(&self->ctl, "deaf", 1));
	seq = sim_start("--telnet --stations c0p0 --requests 1"
			" --timeout-ms 120000 --expect-errors");
	ASSERT_LT(0, seq);
	for (i = 0; i < 200000 && !sim_done(seq); i++) {
		st = 99;
		nl_do(&self->ctl, PERSOHUB_CMD_PORT_GET, state_cb, &st, "s",
		      PERSOHUB_A_PORT_NAME, "deaf");
		if (st == PERSOHUB_STATE_FAILED) {
			timeouts++;
			if (timeouts > 300)
				break;
			port_set_state(&self->ctl, "deaf",
				       PERSOHUB_STATE_IDLE);
		} else {
			usleep(500);
		}
	}
	set_param(RETRIES, "1");
	ASSERT_EQ(0, sim_wait(&self->res, seq, 60));
	EXPECT_EQ(257, timeouts);
	EXPECT_EQ(1, sim_get(&self->res, "total.errors"));
	EXPECT_EQ(256, ph_stat("c0p0", "retries") - retries0);
	EXPECT_EQ(1, ph_stat("c0p0", "errors_sent") - errors0);
	user_server_del(&self->ctl, "deaf");
}

struct remote_port {
	uint32_t id, role, depth, klass, prio, queue;
	bool user, overflow;
	char backend[PHNL_NAME_LEN];
};

static int get_remote_port(const struct phnl_attrs *at, void *data)
{
	struct remote_port *p = data;

	p->id = phnl_u32(at, PERSOHUB_A_PORT_ID, 0);
	p->role = phnl_u32(at, PERSOHUB_A_PORT_ROLE, 99);
	p->depth = phnl_u32(at, PERSOHUB_A_PORT_QUEUE_DEPTH, 0);
	p->klass = phnl_u32(at, PERSOHUB_A_PORT_CLASS, 99);
	p->prio = phnl_u32(at, PERSOHUB_A_PORT_PRIORITY, 99);
	p->queue = phnl_u32(at, PERSOHUB_A_PORT_QUEUE, 99);
	p->user = at->a[PERSOHUB_A_PORT_USER];
	p->overflow = at->a[PERSOHUB_A_PORT_OVERFLOW];
	snprintf(p->backend, sizeof(p->backend), "%s",
		 phnl_str(at, PERSOHUB_A_PORT_BACKEND));
	return 0;
}

/*
 * USER_STATION_ADD: a station of the user backend with its device, its
 * queue depth (64 by default, 1 to 256), class and priority; strict
 * policy; USER_STATION_DEL takes it and its device away.
 */
TEST(remote_station_attrs)
{
	struct remote_port p = { 0 };
	struct stat st;
	struct phnl h;
	uint32_t id, id2;

	ASSERT_EQ(0, phnl_open(&h));
	ASSERT_EQ(0, phnl_user_station_add(&h, "rmt1", 0, 5, 3, &id));
	ASSERT_NE(0, id);
	ASSERT_EQ(0, nl_do(&h, PERSOHUB_CMD_PORT_GET, get_remote_port, &p,
			   "s", PERSOHUB_A_PORT_NAME, "rmt1"));
	EXPECT_EQ(id, p.id);
	EXPECT_EQ(PERSOHUB_ROLE_STATION, p.role);
	EXPECT_EQ(PERSOHUB_REMOTE_DEPTH_DEFAULT, p.depth);
	EXPECT_EQ(5, p.klass);
	EXPECT_EQ(3, p.prio);
	EXPECT_EQ(0, p.queue);
	EXPECT_TRUE(p.user);
	EXPECT_FALSE(p.overflow);
	EXPECT_STREQ("user", p.backend);
	ASSERT_EQ(0, stat("/dev/persohub-remote/rmt1", &st));
	EXPECT_TRUE(S_ISCHR(st.st_mode));
	EXPECT_EQ(0600, st.st_mode & 0777);
	EXPECT_EQ(0, access("/sys/class/persohub-remote/rmt1/statistics/requests",
			    R_OK));
	/* The deepest queue; one too deep, a class or priority too high. */
	ASSERT_EQ(0, phnl_user_station_add(&h, "rmt2",
					   PERSOHUB_REMOTE_DEPTH_MAX, 0, 0,
					   &id2));
	ASSERT_EQ(0, nl_do(&h, PERSOHUB_CMD_PORT_GET, get_remote_port, &p,
			   "i", PERSOHUB_A_PORT_ID, id2));
	EXPECT_EQ(PERSOHUB_REMOTE_DEPTH_MAX, p.depth);
	EXPECT_EQ(0, phnl_user_station_del(&h, 0, "rmt2"));
	EXPECT_EQ(-ERANGE, nl_do(&h, PERSOHUB_CMD_USER_STATION_ADD, NULL,
				 NULL, "si", PERSOHUB_A_PORT_NAME, "rmt3",
				 PERSOHUB_A_PORT_QUEUE_DEPTH, 0));
	EXPECT_EQ(-ERANGE, nl_do(&h, PERSOHUB_CMD_USER_STATION_ADD, NULL,
				 NULL, "si", PERSOHUB_A_PORT_NAME, "rmt3",
				 PERSOHUB_A_PORT_CLASS, PERSOHUB_CLASS_MAX + 1));
	EXPECT_EQ(-ERANGE, nl_do(&h, PERSOHUB_CMD_USER_STATION_ADD, NULL,
				 NULL, "si", PERSOHUB_A_PORT_NAME, "rmt3",
				 PERSOHUB_A_PORT_PRIORITY,
				 PERSOHUB_PRIORITY_MAX + 1));
	EXPECT_EQ(-EINVAL, nl_do(&h, PERSOHUB_CMD_USER_STATION_ADD, NULL,
				 NULL, "i", PERSOHUB_A_PORT_QUEUE_DEPTH, 1));
	EXPECT_EQ(-EINVAL, phnl_user_station_add(&h, ".bad", 0, 0, 0, &id2));
	/* A remote station keeps its name and its role. */
	EXPECT_EQ(-EOPNOTSUPP, nl_do(&h, PERSOHUB_CMD_PORT_SET, NULL, NULL,
				     "is", PERSOHUB_A_PORT_ID, id,
				     PERSOHUB_A_PORT_NAME, "rmt9"));
	EXPECT_EQ(-EOPNOTSUPP, nl_do(&h, PERSOHUB_CMD_PORT_SET, NULL, NULL,
				     "ii", PERSOHUB_A_PORT_ID, id,
				     PERSOHUB_A_PORT_ROLE,
				     PERSOHUB_ROLE_SERVER));
	EXPECT_EQ(0, phnl_user_station_del(&h, id, NULL));
	EXPECT_NE(0, access("/dev/persohub-remote/rmt1", F_OK));
	EXPECT_EQ(-ENODEV, nl_do(&h, PERSOHUB_CMD_PORT_GET, NULL, NULL,
				 "i", PERSOHUB_A_PORT_ID, id));
	phnl_close(&h);
}

TEST_HARNESS_MAIN
