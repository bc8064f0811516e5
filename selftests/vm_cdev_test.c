// SPDX-License-Identifier: GPL-2.0
/*
 * Station character devices and userspace servers, inside the test
 * machine: this program is the userspace server; the site simulator on the
 * host plays the stations (and a serial server c1p3) and checks every
 * answer, which this program computes as a server would (siteproto.h).
 */
#include <poll.h>
#include <sys/wait.h>

#include "kselftest_harness.h"
#include "phnl.h"
#include "phtest.h"
#include "siteproto.h"

#define KEY		4242ULL
#define SIM		"--telnet --key 4242 "

struct msgbuf {
	struct persohub_msg h;
	uint8_t data[PERSOHUB_PAYLOAD_MAX];
};

static int user_server(struct phnl *h, bool add, const char *name,
		       uint32_t timeout_ms)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct nlmsghdr *nlh;

	nlh = phnl_msg(h, buf, add ? PERSOHUB_CMD_USER_SERVER_ADD :
			   PERSOHUB_CMD_USER_SERVER_DEL, 0);
	mnl_attr_put_strz(nlh, PERSOHUB_A_PORT_NAME, name);
	if (timeout_ms)
		mnl_attr_put_u32(nlh, PERSOHUB_A_PORT_TIMEOUT_MS, timeout_ms);
	return phnl_talk(h, nlh, NULL, NULL);
}

struct idcb {
	uint32_t id;
};

static int get_id(const struct phnl_attrs *at, void *data)
{
	((struct idcb *)data)->id = phnl_u32(at, PERSOHUB_A_PORT_ID, 0);
	return 0;
}

static uint32_t port_id_nl(struct phnl *h, const char *name)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct nlmsghdr *nlh = phnl_msg(h, buf, PERSOHUB_CMD_PORT_GET, 0);
	struct idcb c = { 0 };

	mnl_attr_put_strz(nlh, PERSOHUB_A_PORT_NAME, name);
	if (phnl_talk(h, nlh, get_id, &c))
		return 0;
	return c.id;
}

static int ph_nl_rename(struct phnl *h, uint32_t id, const char *name)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct nlmsghdr *nlh = phnl_msg(h, buf, PERSOHUB_CMD_PORT_SET, 0);

	mnl_attr_put_u32(nlh, PERSOHUB_A_PORT_ID, id);
	mnl_attr_put_strz(nlh, PERSOHUB_A_PORT_NAME, name);
	return phnl_talk(h, nlh, NULL, NULL);
}

/* Answer @m as a server should. */
static ssize_t answer(int fd, const struct msgbuf *m)
{
	struct msgbuf r;

	memset(&r.h, 0, sizeof(r.h));
	r.h.req_id = m->h.req_id;
	r.h.server_id = m->h.server_id;
	r.h.len = SP_RESP_LEN;
	sp_response(r.data, KEY, m->data, m->h.len, SP_USER_SERVER);
	return write(fd, &r, sizeof(r.h) + SP_RESP_LEN);
}

FIXTURE(cdev) {
	struct phnl h;
	uint32_t us1;
	struct sim_result res;
};

FIXTURE_SETUP(cdev)
{
	ASSERT_EQ(0, phnl_open(&self->h));
	ASSERT_EQ(0, ph_roles("c0p0,c0p1", "station"));
	ASSERT_EQ(0, user_server(&self->h, true, "us1", 10000));
	self->us1 = port_id_nl(&self->h, "us1");
	ASSERT_NE(0, self->us1);
}

FIXTURE_TEARDOWN(cdev)
{
	user_server(&self->h, false, "us1", 0);
	ph_set("c1p3", "state", "idle");
	ph_roles("c0p0,c0p1,c1p3", "off");
	phnl_close(&self->h);
}

/* A userspace server serves two stations through their devices. */
TEST_F(cdev, user_server_end_to_end)
{
	struct pollfd pfd[2];
	struct msgbuf m;
	int seq, i, served = 0;
	ssize_t n;

	pfd[0].fd = ph_open_station("c0p0", O_RDWR | O_NONBLOCK);
	pfd[1].fd = ph_open_station("c0p1", O_RDWR | O_NONBLOCK);
	ASSERT_LE(0, pfd[0].fd);
	ASSERT_LE(0, pfd[1].fd);
	seq = sim_start(SIM "--stations c0p0,c0p1 --requests 15 --size-max 300");
	ASSERT_LT(0, seq);
	while (!sim_done(seq)) {
		pfd[0].events = pfd[1].events = POLLIN;
		if (poll(pfd, 2, 100) <= 0)
			continue;
		for (i = 0; i < 2; i++) {
			if (!(pfd[i].revents & POLLIN))
				continue;
			n = read(pfd[i].fd, &m, sizeof(m));
			ASSERT_EQ((ssize_t)(sizeof(m.h) + m.h.len), n);
			ASSERT_EQ(self->us1, m.h.server_id);
			ASSERT_EQ((ssize_t)(sizeof(m.h) + SP_RESP_LEN),
				  answer(pfd[i].fd, &m));
			served++;
		}
	}
	ASSERT_EQ(0, sim_wait(&self->res, seq, 10));
	EXPECT_EQ(30, sim_get(&self->res, "total.ok"));
	EXPECT_EQ(0, sim_get(&self->res, "total.wrong"));
	EXPECT_EQ(30, served);
	close(pfd[0].fd);
	close(pfd[1].fd);
}

/* Every misuse of a station device is refused and sends nothing. */
TEST_F(cdev, misuse_refused)
{
	struct msgbuf m, bad;
	struct pollfd pfd;
	int fd, fd1, seq;
	char small[16];

	fd = ph_open_station("c0p0", O_RDWR);
	fd1 = ph_open_station("c0p1", O_RDWR | O_NONBLOCK);
	ASSERT_LE(0, fd);
	ASSERT_LE(0, fd1);
	/* Nothing to read yet. */
	EXPECT_EQ(-1, read(fd1, &m, sizeof(m)));
	EXPECT_EQ(EAGAIN, errno);

	seq = sim_start(SIM "--stations c0p0 --requests 1 --size 100");
	pfd.fd = fd;
	pfd.events = POLLIN;
	ASSERT_EQ(1, poll(&pfd, 1, 20000));
	EXPECT_TRUE(pfd.revents & POLLIN);
	/* Too small a buffer: refused, the message stays. */
	EXPECT_EQ(-1, read(fd, small, sizeof(small)));
	EXPECT_EQ(EMSGSIZE, errno);
	ASSERT_EQ((ssize_t)sizeof(m.h) + 100, read(fd, &m, sizeof(m)));
	EXPECT_EQ(100, m.h.len);
	/* Taken: not readable again. */
	pfd.revents = 0;
	EXPECT_EQ(0, poll(&pfd, 1, 0));

	bad = m;
	bad.h.req_id = m.h.req_id + 77;
	bad.h.len = 4;
	EXPECT_EQ(-1, write(fd, &bad, sizeof(bad.h) + 4));
	EXPECT_EQ(EINVAL, errno);		/* wrong id */
	bad.h.req_id = m.h.req_id;
	EXPECT_EQ(-1, write(fd, &bad, sizeof(bad.h) + 5));
	EXPECT_EQ(EINVAL, errno);		/* wrong length */
	EXPECT_EQ(-1, write(fd, &bad, 3));
	EXPECT_EQ(EINVAL, errno);		/* no header */
	EXPECT_EQ(-1, write(fd1, &bad, sizeof(bad.h) + 4));
	EXPECT_EQ(EINVAL, errno);		/* another station's device */
	EXPECT_EQ((ssize_t)(sizeof(m.h) + SP_RESP_LEN), answer(fd, &m));
	EXPECT_EQ(-1, answer(fd, &m));
	EXPECT_EQ(EINVAL, errno);		/* a second answer */
	ASSERT_EQ(0, sim_wait(&self->res, seq, 30));
	EXPECT_EQ(1, sim_get(&self->res, "total.ok"));
	EXPECT_EQ(0, sim_get(&self->res, "total.wrong"));
	close(fd);
	close(fd1);
}

/* A server closing its device with a request in hand: retried elsewhere. */
TEST_F(cdev, close_in_hand_retried)
{
	struct msgbuf m;
	long long retries;
	int fd, seq;

	ASSERT_EQ(0, ph_roles("c1p3", "server"));
	ASSERT_EQ(0, ph_set("c1p3", "state", "failed"));
	retries = ph_stat("c0p0", "retries");
	fd = ph_open_station("c0p0", O_RDWR);
	ASSERT_LE(0, fd);
	seq = sim_start(SIM "--stations c0p0 --servers c1p3 --requests 1");
	ASSERT_LT(0, read(fd, &m, sizeof(m)));
	ASSERT_EQ(self->us1, m.h.server_id);
	/* The serial server is back; the userspace one walks away. */
	ASSERT_EQ(0, ph_set("c1p3", "state", "idle"));
	close(fd);
	ASSERT_EQ(0, sim_wait(&self->res, seq, 30));
	EXPECT_EQ(1, sim_get(&self->res, "total.ok"));
	EXPECT_EQ(1, sim_get(&self->res, "c1p3.answered"));
	EXPECT_EQ(retries + 1, ph_stat("c0p0", "retries"));
}

/* Removing a userspace server holding a request: it goes elsewhere. */
TEST_F(cdev, user_server_del_in_hand)
{
	struct msgbuf m;
	int fd, seq;

	ASSERT_EQ(0, ph_roles("c1p3", "server"));
	ASSERT_EQ(0, ph_set("c1p3", "state", "failed"));
	fd = ph_open_station("c0p1", O_RDWR);
	ASSERT_LE(0, fd);
	seq = sim_start(SIM "--stations c0p1 --servers c1p3 --requests 1");
	ASSERT_LT(0, read(fd, &m, sizeof(m)));
	ASSERT_EQ(0, ph_set("c1p3", "state", "idle"));
	ASSERT_EQ(0, user_server(&self->h, false, "us1", 0));
	/* Its answer now comes too late and is refused. */
	EXPECT_EQ(-1, answer(fd, &m));
	EXPECT_EQ(EINVAL, errno);
	ASSERT_EQ(0, sim_wait(&self->res, seq, 30));
	EXPECT_EQ(1, sim_get(&self->res, "total.ok"));
	EXPECT_EQ(0, sim_get(&self->res, "total.wrong"));
	close(fd);
}

/* A device goes when its port stops being a station; open files fail. */
TEST_F(cdev, device_follows_role)
{
	struct msgbuf m;
	char name[32], path[64];
	int fd;

	ASSERT_EQ(0, ph_get("c0p1", "name", name, sizeof(name)));
	snprintf(path, sizeof(path), "/dev/persohub/%s", name);
	fd = open(path, O_RDWR | O_NONBLOCK);
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, ph_set("c0p1", "role", "off"));
	EXPECT_NE(0, access(path, F_OK));
	EXPECT_EQ(-1, read(fd, &m, sizeof(m)));
	EXPECT_EQ(ENODEV, errno);
	close(fd);
	ASSERT_EQ(0, ph_set("c0p1", "role", "station"));
	EXPECT_EQ(0, access(path, F_OK));
}

/*
 * A userspace server's own device gives only the requests dispatched to
 * it: two servers, each served by its device, never see each other's,
 * nor answer them; the device goes with its server.
 */
TEST_F(cdev, server_device_own_requests_only)
{
	uint32_t id[2];
	int served[2] = { 0, 0 }, seq, i;
	struct pollfd pfd[2];
	struct msgbuf m;
	ssize_t n;

	ASSERT_EQ(0, user_server(&self->h, true, "us2", 10000));
	id[0] = self->us1;
	id[1] = port_id_nl(&self->h, "us2");
	ASSERT_NE(0, id[1]);
	pfd[0].fd = open("/dev/persohub-server/us1", O_RDWR | O_NONBLOCK);
	pfd[1].fd = open("/dev/persohub-server/us2", O_RDWR | O_NONBLOCK);
	ASSERT_LE(0, pfd[0].fd);
	ASSERT_LE(0, pfd[1].fd);
	EXPECT_EQ(-1, read(pfd[0].fd, &m, sizeof(m)));
	EXPECT_EQ(EAGAIN, errno);
	seq = sim_start(SIM "--stations c0p0,c0p1 --requests 10");
	ASSERT_LT(0, seq);
	while (!sim_done(seq)) {
		pfd[0].events = pfd[1].events = POLLIN;
		if (poll(pfd, 2, 100) <= 0)
			continue;
		for (i = 0; i < 2; i++) {
			if (!(pfd[i].revents & POLLIN))
				continue;
			n = read(pfd[i].fd, &m, sizeof(m));
			ASSERT_EQ((ssize_t)(sizeof(m.h) + m.h.len), n);
			ASSERT_EQ(id[i], m.h.server_id);
			/* Not the other server's to answer. */
			EXPECT_EQ(-1, answer(pfd[!i].fd, &m));
			EXPECT_EQ(EINVAL, errno);
			ASSERT_EQ((ssize_t)(sizeof(m.h) + SP_RESP_LEN),
				  answer(pfd[i].fd, &m));
			served[i]++;
		}
	}
	ASSERT_EQ(0, sim_wait(&self->res, seq, 10));
	EXPECT_EQ(20, sim_get(&self->res, "total.ok"));
	EXPECT_EQ(0, sim_get(&self->res, "total.wrong"));
	EXPECT_EQ(20, served[0] + served[1]);
	EXPECT_LT(0, served[0]);
	EXPECT_LT(0, served[1]);
	/* A userspace server keeps its name: its device is named after it. */
	EXPECT_EQ(-EOPNOTSUPP, ph_nl_rename(&self->h, id[1], "us3"));
	ASSERT_EQ(0, user_server(&self->h, false, "us2", 0));
	EXPECT_NE(0, access("/dev/persohub-server/us2", F_OK));
	EXPECT_EQ(-1, read(pfd[1].fd, &m, sizeof(m)));
	EXPECT_EQ(ENODEV, errno);
	close(pfd[0].fd);
	close(pfd[1].fd);
}

/* Closing a server's device with a request in hand: retried elsewhere. */
TEST_F(cdev, server_device_close_in_hand)
{
	struct msgbuf m;
	int fd, seq;

	ASSERT_EQ(0, ph_roles("c1p3", "server"));
	ASSERT_EQ(0, ph_set("c1p3", "state", "failed"));
	fd = open("/dev/persohub-server/us1", O_RDWR);
	ASSERT_LE(0, fd);
	seq = sim_start(SIM "--stations c0p0 --servers c1p3 --requests 1");
	ASSERT_LT(0, read(fd, &m, sizeof(m)));
	ASSERT_EQ(self->us1, m.h.server_id);
	ASSERT_EQ(0, ph_set("c1p3", "state", "idle"));
	close(fd);
	ASSERT_EQ(0, sim_wait(&self->res, seq, 30));
	EXPECT_EQ(1, sim_get(&self->res, "total.ok"));
	EXPECT_EQ(1, sim_get(&self->res, "c1p3.answered"));
}

/*
 * Remote stations: requests written to /dev/persohub-remote/NAME go
 * through the hub as a station's and come back there, tagged, once ended.
 * The fixture's userspace server "rsrv" serves classes 1 and 2; the remote
 * station "rst" takes 4 requests at once. Class 3 has no server: its
 * requests wait.
 */
#define RSRV_CLASSES	0x6ULL
#define RST_DEPTH	4
#define PH_PARAMS	"/sys/module/persohub/parameters/"

static int open_remote(const char *name, int flags)
{
	char path[64];

	snprintf(path, sizeof(path), "/dev/persohub-remote/%s", name);
	return open(path, flags);
}

static int open_server(const char *name, int flags)
{
	char path[64];

	snprintf(path, sizeof(path), "/dev/persohub-server/%s", name);
	return open(path, flags);
}

/* A request's payload, from its tag: no two alike. */
static void payload(uint8_t *p, uint64_t tag, uint32_t len)
{
	uint32_t i;

	for (i = 0; i < len; i++)
		p[i] = (uint8_t)(tag * 31 + i * 7 + 1);
}

/* Write request @tag to a remote station's device; write()'s result. */
static ssize_t rwrite(int fd, uint64_t tag, uint32_t klass, uint8_t prio,
		      uint32_t len)
{
	struct msgbuf m;

	memset(&m.h, 0, sizeof(m.h));
	m.h.req_id = tag;
	m.h.class_id = klass;
	m.h.priority = prio;
	m.h.len = len;
	payload(m.data, tag, len);
	return write(fd, &m, sizeof(m.h) + len);
}

/* read() @fd once it is readable, within @ms: read()'s result, or -2. */
static ssize_t read_wait(int fd, struct msgbuf *m, int ms)
{
	struct pollfd pfd = { .fd = fd, .events = POLLIN };

	if (poll(&pfd, 1, ms * ph_timeout_scale()) != 1)
		return -2;
	return read(fd, m, sizeof(*m));
}

/* Say @op of the request of @m on a server's or station's device. */
static ssize_t say(int fd, const struct msgbuf *m, uint8_t op)
{
	struct persohub_msg h = { .req_id = m->h.req_id, .op = op };

	return write(fd, &h, sizeof(h));
}

/* Read the next request on server device @fd: it must be @tag's. */
static int take(int fd, struct msgbuf *m, uint64_t tag, uint32_t len)
{
	uint8_t want[PERSOHUB_PAYLOAD_MAX];

	if (read_wait(fd, m, 5000) != (ssize_t)(sizeof(m->h) + len) ||
	    m->h.len != len)
		return -1;
	payload(want, tag, len);
	return memcmp(want, m->data, len) ? -2 : 0;
}

/* Read the next ended request on remote device @fd: tag and status. */
static int result(int fd, struct msgbuf *m, uint64_t tag, uint16_t status)
{
	ssize_t n = read_wait(fd, m, 5000);

	if (n < (ssize_t)sizeof(m->h) || n != (ssize_t)(sizeof(m->h) + m->h.len))
		return -1;
	if (m->h.req_id != tag) {
		fprintf(stderr, "# tag %llu, wanted %llu\n",
			(unsigned long long)m->h.req_id,
			(unsigned long long)tag);
		return -2;
	}
	if (m->h.status != status || m->h.op) {
		fprintf(stderr, "# status %u op %u, wanted %u\n",
			m->h.status, m->h.op, status);
		return -3;
	}
	return 0;
}

/* The answer a request @tag of @len bytes gets from answer(). */
static bool is_answer(const struct msgbuf *m, uint64_t tag, uint32_t len)
{
	uint8_t req[PERSOHUB_PAYLOAD_MAX], want[SP_RESP_LEN];

	payload(req, tag, len);
	sp_response(want, KEY, req, len, SP_USER_SERVER);
	return m->h.len == SP_RESP_LEN && !memcmp(want, m->data, SP_RESP_LEN);
}

struct statcb {
	int stat;
	long long v;
};

static int get_stat(const struct phnl_attrs *at, void *data)
{
	struct statcb *c = data;
	const struct nlattr *a;

	if (!at->a[PERSOHUB_A_STATS])
		return 0;
	mnl_attr_for_each_nested(a, at->a[PERSOHUB_A_STATS])
		if (mnl_attr_get_type(a) == c->stat)
			c->v = mnl_attr_get_u64(a);
	return 0;
}

/* Counter @stat of port @id, through STATS_GET; -1 if it cannot be read. */
static long long nl_stat(struct phnl *h, uint32_t id, int stat)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct nlmsghdr *nlh = phnl_msg(h, buf, PERSOHUB_CMD_STATS_GET, 0);
	struct statcb c = { .stat = stat, .v = -1 };

	mnl_attr_put_u32(nlh, PERSOHUB_A_PORT_ID, id);
	if (phnl_talk(h, nlh, get_stat, &c))
		return -1;
	return c.v;
}

static int write_param(const char *name, const char *val)
{
	char path[128];
	int fd, ret;

	snprintf(path, sizeof(path), PH_PARAMS "%s", name);
	fd = open(path, O_WRONLY);
	if (fd < 0)
		return -errno;
	ret = write(fd, val, strlen(val)) < 0 ? -errno : 0;
	close(fd);
	return ret;
}

FIXTURE(remote) {
	struct phnl h;
	uint32_t rsrv, rst;
	int sfd, rfd;
};

FIXTURE_SETUP(remote)
{
	ASSERT_EQ(0, phnl_open(&self->h));
	ASSERT_EQ(0, write_param("max_retries", "1"));
	ASSERT_EQ(0, phnl_user_server_add(&self->h, "rsrv", 10000,
					  RSRV_CLASSES, false, &self->rsrv));
	ASSERT_EQ(0, phnl_user_station_add(&self->h, "rst", RST_DEPTH, 0, 0,
					   &self->rst));
	ASSERT_NE(0, self->rsrv);
	ASSERT_NE(0, self->rst);
	self->sfd = open_server("rsrv", O_RDWR | O_NONBLOCK);
	self->rfd = open_remote("rst", O_RDWR | O_NONBLOCK);
	ASSERT_LE(0, self->sfd);
	ASSERT_LE(0, self->rfd);
}

FIXTURE_TEARDOWN(remote)
{
	close(self->sfd);
	close(self->rfd);
	phnl_user_station_del(&self->h, 0, "rst");
	phnl_user_server_del(&self->h, 0, "rsrv");
	phnl_user_server_del(&self->h, 0, "ovf");
	phnl_user_server_del(&self->h, 0, "us4");
	write_param("ctrl_grace_ms", "1000");
	write_param("max_retries", "1");
	phnl_close(&self->h);
}

/* Three tagged requests served by a userspace server, read back in order. */
TEST_F(remote, user_server_answers)
{
	const uint64_t tags[3] = { 1000, 7, UINT64_MAX };
	struct msgbuf m;
	int i;

	for (i = 0; i < 3; i++)
		ASSERT_EQ((ssize_t)sizeof(m.h) + 40 + i,
			  rwrite(self->rfd, tags[i], 1, 2, 40 + i));
	for (i = 0; i < 3; i++) {
		ASSERT_EQ(0, take(self->sfd, &m, tags[i], 40 + i));
		EXPECT_EQ(self->rsrv, m.h.server_id);
		EXPECT_EQ(1, m.h.class_id);
		EXPECT_EQ(2, m.h.priority);
		EXPECT_EQ(0, m.h.op);
		EXPECT_EQ(0, m.h.status);
		ASSERT_EQ((ssize_t)(sizeof(m.h) + SP_RESP_LEN),
			  answer(self->sfd, &m));
	}
	for (i = 0; i < 3; i++) {
		ASSERT_EQ(0, result(self->rfd, &m, tags[i], 0));
		EXPECT_EQ(self->rsrv, m.h.server_id);
		EXPECT_EQ(1, m.h.class_id);
		EXPECT_EQ(2, m.h.priority);
		EXPECT_TRUE(is_answer(&m, tags[i], 40 + i));
	}
	EXPECT_EQ(-1, read(self->rfd, &m, sizeof(m)));
	EXPECT_EQ(EAGAIN, errno);
	EXPECT_EQ(3, nl_stat(&self->h, self->rst, PERSOHUB_STAT_REQUESTS));
	EXPECT_EQ(3, nl_stat(&self->h, self->rst, PERSOHUB_STAT_RESPONSES));
	EXPECT_EQ(3, nl_stat(&self->h, self->rsrv, PERSOHUB_STAT_REQUESTS));
}

/* What a remote station's device and the commands refuse. */
TEST_F(remote, refused)
{
	struct pollfd pfd = { .events = POLLIN | POLLOUT };
	struct msgbuf m, held;
	char small[16];
	uint32_t id;
	int i;

	/* Bad class, priority, length, op: nothing taken. */
	EXPECT_EQ(-1, rwrite(self->rfd, 1, 64, 0, 10));
	EXPECT_EQ(EINVAL, errno);
	EXPECT_EQ(-1, rwrite(self->rfd, 1, 1, 8, 10));
	EXPECT_EQ(EINVAL, errno);
	EXPECT_EQ(-1, rwrite(self->rfd, 1, 1, 0, 0));
	EXPECT_EQ(EINVAL, errno);
	EXPECT_EQ(-1, rwrite(self->rfd, 1, 1, 0, 1025));	/* max_payload */
	EXPECT_EQ(EINVAL, errno);
	memset(&m.h, 0, sizeof(m.h));
	m.h.req_id = 1;
	m.h.class_id = 1;
	m.h.len = 10;
	m.h.op = PERSOHUB_MSG_GIVE_BACK;
	EXPECT_EQ(-1, write(self->rfd, &m, sizeof(m.h) + 10));
	EXPECT_EQ(EINVAL, errno);
	m.h.op = 0;
	EXPECT_EQ(-1, write(self->rfd, &m, sizeof(m.h) + 9));
	EXPECT_EQ(EINVAL, errno);
	EXPECT_EQ(0, nl_stat(&self->h, self->rst, PERSOHUB_STAT_REQUESTS));

	/* A tag in flight cannot be used again. */
	ASSERT_EQ((ssize_t)sizeof(m.h) + 10, rwrite(self->rfd, 5, 1, 0, 10));
	ASSERT_EQ(0, take(self->sfd, &held, 5, 10));
	EXPECT_EQ(-1, rwrite(self->rfd, 5, 3, 0, 10));
	EXPECT_EQ(EEXIST, errno);
	/* queue_depth in flight: -EAGAIN, no POLLOUT. */
	for (i = 6; i < 5 + RST_DEPTH; i++)
		ASSERT_EQ((ssize_t)sizeof(m.h) + 10,
			  rwrite(self->rfd, i, 3, 0, 10));
	EXPECT_EQ(-1, rwrite(self->rfd, 99, 3, 0, 10));
	EXPECT_EQ(EAGAIN, errno);
	pfd.fd = self->rfd;
	EXPECT_EQ(0, poll(&pfd, 1, 0));
	/* A server's device: an unknown op, or GIVE_BACK with bytes. */
	EXPECT_EQ(-1, say(self->sfd, &held, __PERSOHUB_MSG_OP_MAX));
	EXPECT_EQ(EINVAL, errno);
	m = held;
	m.h.op = PERSOHUB_MSG_GIVE_BACK;
	m.h.len = 1;
	EXPECT_EQ(-1, write(self->sfd, &m, sizeof(m.h) + 1));
	EXPECT_EQ(EINVAL, errno);
	/* Ended but not read back: it still counts, and its tag too. */
	ASSERT_EQ((ssize_t)(sizeof(m.h) + SP_RESP_LEN),
		  answer(self->sfd, &held));
	ASSERT_EQ(1, poll(&pfd, 1, 5000));
	EXPECT_EQ(POLLIN, pfd.revents);
	EXPECT_EQ(-1, rwrite(self->rfd, 5, 3, 0, 10));
	EXPECT_EQ(EEXIST, errno);
	EXPECT_EQ(-1, rwrite(self->rfd, 99, 3, 0, 10));
	EXPECT_EQ(EAGAIN, errno);
	EXPECT_EQ(-1, read(self->rfd, small, sizeof(small)));
	EXPECT_EQ(EMSGSIZE, errno);
	ASSERT_EQ(0, result(self->rfd, &m, 5, 0));
	EXPECT_TRUE(is_answer(&m, 5, 10));
	ASSERT_EQ(1, poll(&pfd, 1, 0));
	EXPECT_EQ(POLLOUT, pfd.revents);
	/* Its tag is free again. */
	EXPECT_EQ((ssize_t)sizeof(m.h) + 10, rwrite(self->rfd, 5, 3, 0, 10));

	/* Commands: a name in use, the wrong kind of port, bad depths. */
	EXPECT_EQ(-EEXIST, phnl_user_station_add(&self->h, "rst", 1, 0, 0,
						 &id));
	EXPECT_EQ(-EEXIST, phnl_user_station_add(&self->h, "rsrv", 1, 0, 0,
						 &id));
	EXPECT_EQ(-ERANGE, phnl_user_station_add(&self->h, "rst2",
						 PERSOHUB_REMOTE_DEPTH_MAX + 1,
						 0, 0, &id));
	EXPECT_EQ(-EOPNOTSUPP, phnl_user_station_del(&self->h, self->rsrv,
						     NULL));
	EXPECT_EQ(-EOPNOTSUPP, phnl_user_server_del(&self->h, self->rst,
						    NULL));
	EXPECT_EQ(-ENODEV, phnl_user_station_del(&self->h, 0, "nosuch"));
}

/* The same served by a card server, through the simulator's c1p3. */
TEST_F(remote, card_server_answers)
{
	uint8_t req[64], want[SP_RESP_LEN];
	char name[32];
	uint32_t c1p3;
	struct msgbuf m;
	struct sim_result res;
	int seq, i;

	ASSERT_EQ(0, ph_roles("c0p0", "station"));
	ASSERT_EQ(0, ph_roles("c1p3", "server"));
	ASSERT_EQ(0, ph_get("c1p3", "name", name, sizeof(name)));
	c1p3 = port_id_nl(&self->h, name);
	ASSERT_NE(0, c1p3);
	/* c0p0's requests keep the simulator there while ours are served. */
	seq = sim_start(SIM "--stations c0p0 --servers c1p3 --requests 20 "
			"--think-us 20000");
	ASSERT_LT(0, seq);
	for (i = 0; i < 200 * ph_timeout_scale() &&
	     ph_stat("c0p0", "requests") < 1; i++)
		ph_sleep_ms(50);
	ASSERT_LT(0, ph_stat("c0p0", "requests"));
	for (i = 0; i < 3; i++)
		ASSERT_EQ((ssize_t)sizeof(m.h) + 60,
			  rwrite(self->rfd, 500 + i, 0, 0, 60));
	for (i = 0; i < 3; i++) {
		ASSERT_EQ(0, result(self->rfd, &m, 500 + i, 0));
		EXPECT_EQ(c1p3, m.h.server_id);
		ASSERT_EQ(SP_RESP_LEN, m.h.len);
		payload(req, 500 + i, 60);
		sp_response(want, KEY, req, 60, 0);
		/* all but the server's index, which is the simulator's */
		EXPECT_EQ(0, memcmp(want, m.data, SP_RESP_LEN - 2));
	}
	EXPECT_EQ(0, sim_wait(&res, seq, 60));
	EXPECT_EQ(0, sim_get(&res, "total.wrong"));
	ph_roles("c0p0,c1p3", "off");
}

/*
 * Class and priority come with each request: with rsrv busy, a request of
 * priority 5 goes before an older one of priority 0, and one of a class
 * nobody serves waits; answers still come back in the order written.
 */
TEST_F(remote, class_and_priority)
{
	struct msgbuf a, m;

	ASSERT_EQ((ssize_t)sizeof(m.h) + 20, rwrite(self->rfd, 1, 1, 0, 20));
	ASSERT_EQ(0, take(self->sfd, &a, 1, 20));
	ASSERT_EQ((ssize_t)sizeof(m.h) + 21, rwrite(self->rfd, 2, 1, 0, 21));
	ASSERT_EQ((ssize_t)sizeof(m.h) + 22, rwrite(self->rfd, 3, 2, 5, 22));
	ASSERT_EQ((ssize_t)sizeof(m.h) + 23, rwrite(self->rfd, 4, 3, 7, 23));
	ASSERT_EQ((ssize_t)(sizeof(m.h) + SP_RESP_LEN), answer(self->sfd, &a));
	ASSERT_EQ(0, take(self->sfd, &m, 3, 22));
	EXPECT_EQ(2, m.h.class_id);
	EXPECT_EQ(5, m.h.priority);
	ASSERT_EQ((ssize_t)(sizeof(m.h) + SP_RESP_LEN), answer(self->sfd, &m));
	ASSERT_EQ(0, result(self->rfd, &m, 1, 0));
	/* 3 ended, but 2 was written before it. */
	EXPECT_EQ(-1, read(self->rfd, &m, sizeof(m)));
	EXPECT_EQ(EAGAIN, errno);
	ASSERT_EQ(0, take(self->sfd, &m, 2, 21));
	ASSERT_EQ((ssize_t)(sizeof(m.h) + SP_RESP_LEN), answer(self->sfd, &m));
	ASSERT_EQ(0, result(self->rfd, &m, 2, 0));
	EXPECT_TRUE(is_answer(&m, 2, 21));
	ASSERT_EQ(0, result(self->rfd, &m, 3, 0));
	EXPECT_EQ(2, m.h.class_id);
	EXPECT_EQ(5, m.h.priority);
	EXPECT_TRUE(is_answer(&m, 3, 22));
	/* 4 waits for a server of class 3. */
	EXPECT_EQ(-1, read(self->rfd, &m, sizeof(m)));
	EXPECT_EQ(EAGAIN, errno);
	EXPECT_EQ(-1, read(self->sfd, &m, sizeof(m)));
	EXPECT_EQ(EAGAIN, errno);
}

/* GIVE_BACK: back in its place (before a younger one), no retry. */
TEST_F(remote, give_back_keeps_order)
{
	struct msgbuf m;

	ASSERT_EQ((ssize_t)sizeof(m.h) + 30, rwrite(self->rfd, 11, 1, 0, 30));
	ASSERT_EQ((ssize_t)sizeof(m.h) + 31, rwrite(self->rfd, 12, 1, 0, 31));
	ASSERT_EQ(0, take(self->sfd, &m, 11, 30));
	ASSERT_EQ((ssize_t)sizeof(m.h), say(self->sfd, &m, PERSOHUB_MSG_GIVE_BACK));
	/* Given back: not its to answer any more. */
	EXPECT_EQ(-1, answer(self->sfd, &m));
	EXPECT_EQ(EINVAL, errno);
	ASSERT_EQ(0, take(self->sfd, &m, 11, 30));
	ASSERT_EQ((ssize_t)sizeof(m.h), say(self->sfd, &m, PERSOHUB_MSG_GIVE_BACK));
	ASSERT_EQ(0, take(self->sfd, &m, 11, 30));
	ASSERT_EQ((ssize_t)(sizeof(m.h) + SP_RESP_LEN), answer(self->sfd, &m));
	ASSERT_EQ(0, take(self->sfd, &m, 12, 31));
	ASSERT_EQ((ssize_t)(sizeof(m.h) + SP_RESP_LEN), answer(self->sfd, &m));
	ASSERT_EQ(0, result(self->rfd, &m, 11, 0));
	EXPECT_TRUE(is_answer(&m, 11, 30));
	ASSERT_EQ(0, result(self->rfd, &m, 12, 0));
	EXPECT_EQ(0, nl_stat(&self->h, self->rst, PERSOHUB_STAT_RETRIES));
	EXPECT_EQ(4, nl_stat(&self->h, self->rsrv, PERSOHUB_STAT_REQUESTS));
	EXPECT_EQ(2, nl_stat(&self->h, self->rsrv, PERSOHUB_STAT_RESPONSES));
}

/* FAILED: one retry each time; out of retries (1), the request fails. */
TEST_F(remote, failed_counts_retries)
{
	struct msgbuf m;

	ASSERT_EQ((ssize_t)sizeof(m.h) + 30, rwrite(self->rfd, 21, 1, 0, 30));
	ASSERT_EQ((ssize_t)sizeof(m.h) + 31, rwrite(self->rfd, 22, 1, 0, 31));
	ASSERT_EQ(0, take(self->sfd, &m, 21, 30));
	ASSERT_EQ((ssize_t)sizeof(m.h), say(self->sfd, &m, PERSOHUB_MSG_FAILED));
	EXPECT_EQ(1, nl_stat(&self->h, self->rst, PERSOHUB_STAT_RETRIES));
	/* Back in its place, and rsrv, still in service, takes it again. */
	ASSERT_EQ(0, take(self->sfd, &m, 21, 30));
	ASSERT_EQ((ssize_t)sizeof(m.h), say(self->sfd, &m, PERSOHUB_MSG_FAILED));
	ASSERT_EQ(0, result(self->rfd, &m, 21, EIO));
	EXPECT_EQ(0, m.h.len);
	EXPECT_EQ(0, m.h.server_id);
	EXPECT_EQ(1, nl_stat(&self->h, self->rst, PERSOHUB_STAT_RETRIES));
	EXPECT_EQ(1, nl_stat(&self->h, self->rst, PERSOHUB_STAT_ERRORS_SENT));
	ASSERT_EQ(0, take(self->sfd, &m, 22, 31));
	/* An empty answer is the error frame: EREMOTEIO. */
	m.h.len = 0;
	ASSERT_EQ((ssize_t)sizeof(m.h), say(self->sfd, &m, PERSOHUB_MSG_ANSWER));
	ASSERT_EQ(0, result(self->rfd, &m, 22, EREMOTEIO));
	EXPECT_EQ(self->rsrv, m.h.server_id);
	EXPECT_EQ(0, m.h.len);
}

/* A server's timeout, with no retry left: ETIMEDOUT. */
TEST_F(remote, timeout_status)
{
	struct msgbuf m;
	uint32_t id;

	ASSERT_EQ(0, write_param("max_retries", "0"));
	ASSERT_EQ(0, phnl_user_server_add(&self->h, "us4", 100, 1ULL << 4,
					  false, &id));
	ASSERT_EQ((ssize_t)sizeof(m.h) + 10, rwrite(self->rfd, 31, 4, 0, 10));
	ASSERT_EQ(0, result(self->rfd, &m, 31, ETIMEDOUT));
	EXPECT_EQ(0, m.h.server_id);
	EXPECT_EQ(1, nl_stat(&self->h, id, PERSOHUB_STAT_TIMEOUTS));
}

struct evlog {
	uint32_t station;
	int n_new, n_done;
	uint64_t ids[16];
	uint32_t result[16], reason[16], server[16], klass[16], prio[16];
	uint64_t seq[16];
};

static int log_ev(const struct phnl_attrs *at, void *data)
{
	struct evlog *l = data;

	if (phnl_u32(at, PERSOHUB_A_PORT_ID, 0) != l->station)
		return 0;
	if (at->cmd == PERSOHUB_CMD_REQUEST_NEW) {
		l->n_new++;
	} else if (at->cmd == PERSOHUB_CMD_REQUEST_DONE && l->n_done < 16) {
		l->ids[l->n_done] = phnl_u64(at, PERSOHUB_A_REQ_ID, 0);
		l->result[l->n_done] = phnl_u32(at, PERSOHUB_A_RESULT, 99);
		l->reason[l->n_done] = phnl_u32(at, PERSOHUB_A_REASON, 99);
		l->server[l->n_done] = phnl_u32(at, PERSOHUB_A_SERVER_ID, 0);
		l->klass[l->n_done] = phnl_u32(at, PERSOHUB_A_REQ_CLASS, 99);
		l->prio[l->n_done] = phnl_u32(at, PERSOHUB_A_REQ_PRIORITY, 99);
		l->seq[l->n_done] = phnl_u64(at, PERSOHUB_A_REQ_SEQ, 0);
		l->n_done++;
	}
	return 0;
}

/* Drain @mon's events into @l until @n_done REQUEST_DONE came (5 s). */
static int wait_done(struct phnl *mon, struct evlog *l, int n_done)
{
	struct pollfd pfd = { .fd = phnl_fd(mon), .events = POLLIN };
	int i;

	for (i = 0; i < 100 * ph_timeout_scale() && l->n_done < n_done; i++) {
		poll(&pfd, 1, 50);
		if (phnl_drain(mon, log_ev, l) < 0)
			return -1;
	}
	return l->n_done;
}

/*
 * Deleting a remote station ends its requests, waiting or in service
 * (REQUEST_DONE dropped, reason gone); the server's answer comes too late.
 */
TEST_F(remote, station_del)
{
	struct evlog l = { .station = self->rst };
	struct phnl mon;
	struct msgbuf a, m;

	ASSERT_EQ(0, phnl_open(&mon));
	ASSERT_EQ(0, phnl_subscribe(&mon));
	ASSERT_EQ((ssize_t)sizeof(m.h) + 10, rwrite(self->rfd, 41, 1, 0, 10));
	ASSERT_EQ((ssize_t)sizeof(m.h) + 10, rwrite(self->rfd, 42, 3, 0, 10));
	ASSERT_EQ(0, take(self->sfd, &a, 41, 10));
	ASSERT_EQ(0, phnl_user_station_del(&self->h, self->rst, NULL));
	ASSERT_EQ(2, wait_done(&mon, &l, 2));
	EXPECT_EQ(PERSOHUB_RESULT_DROPPED, l.result[0]);
	EXPECT_EQ(PERSOHUB_REASON_GONE, l.reason[0]);
	EXPECT_EQ(self->rsrv, l.server[0]);
	EXPECT_EQ(PERSOHUB_RESULT_DROPPED, l.result[1]);
	EXPECT_EQ(PERSOHUB_REASON_GONE, l.reason[1]);
	EXPECT_EQ(3, l.klass[1]);
	EXPECT_EQ(-1, answer(self->sfd, &a));
	EXPECT_EQ(EINVAL, errno);
	EXPECT_EQ(-1, read(self->rfd, &m, sizeof(m)));
	EXPECT_EQ(ENODEV, errno);
	EXPECT_EQ(-1, rwrite(self->rfd, 43, 1, 0, 10));
	EXPECT_EQ(ENODEV, errno);
	EXPECT_NE(0, access("/dev/persohub-remote/rst", F_OK));
	EXPECT_EQ(0, port_id_nl(&self->h, "rst"));
	/* rsrv is free for the next station's request. */
	ASSERT_EQ(0, phnl_user_station_add(&self->h, "rst", 0, 0, 0,
					   &self->rst));
	close(self->rfd);
	self->rfd = open_remote("rst", O_RDWR | O_NONBLOCK);
	ASSERT_LE(0, self->rfd);
	ASSERT_EQ((ssize_t)sizeof(m.h) + 10, rwrite(self->rfd, 41, 1, 0, 10));
	ASSERT_EQ(0, take(self->sfd, &a, 41, 10));
	phnl_close(&mon);
}

/* A remote station's counters, events and figures, as any station's. */
TEST_F(remote, counters_and_events)
{
	struct evlog l = { .station = self->rst };
	struct phnl mon;
	struct msgbuf m;
	int i;

	ASSERT_EQ(0, phnl_open(&mon));
	ASSERT_EQ(0, phnl_subscribe(&mon));
	for (i = 0; i < 3; i++) {
		ASSERT_EQ((ssize_t)sizeof(m.h) + 10,
			  rwrite(self->rfd, 60 + i, 2, i, 10));
		ASSERT_EQ(0, take(self->sfd, &m, 60 + i, 10));
		ASSERT_EQ((ssize_t)(sizeof(m.h) + SP_RESP_LEN),
			  answer(self->sfd, &m));
		ASSERT_EQ(0, result(self->rfd, &m, 60 + i, 0));
	}
	ASSERT_EQ(3, wait_done(&mon, &l, 3));
	EXPECT_EQ(3, l.n_new);
	for (i = 0; i < 3; i++) {
		EXPECT_EQ(PERSOHUB_RESULT_OK, l.result[i]);
		EXPECT_EQ(self->rsrv, l.server[i]);
		EXPECT_EQ(2, l.klass[i]);
		EXPECT_EQ((uint32_t)i, l.prio[i]);
		EXPECT_EQ((uint64_t)i + 1, l.seq[i]);
	}
	EXPECT_EQ(3, nl_stat(&self->h, self->rst, PERSOHUB_STAT_REQUESTS));
	EXPECT_EQ(3, nl_stat(&self->h, self->rst, PERSOHUB_STAT_RESPONSES));
	EXPECT_EQ(0, nl_stat(&self->h, self->rst, PERSOHUB_STAT_ERRORS_SENT));
	phnl_close(&mon);
}

struct flagcb {
	bool overflow, user;
	uint32_t role, state;
};

static int get_flags(const struct phnl_attrs *at, void *data)
{
	struct flagcb *c = data;

	c->overflow = at->a[PERSOHUB_A_PORT_OVERFLOW];
	c->user = at->a[PERSOHUB_A_PORT_USER];
	c->role = phnl_u32(at, PERSOHUB_A_PORT_ROLE, 99);
	c->state = phnl_u32(at, PERSOHUB_A_PORT_STATE, 99);
	return 0;
}

static int port_flags(struct phnl *h, uint32_t id, struct flagcb *c)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct nlmsghdr *nlh = phnl_msg(h, buf, PERSOHUB_CMD_PORT_GET, 0);

	mnl_attr_put_u32(nlh, PERSOHUB_A_PORT_ID, id);
	return phnl_talk(h, nlh, get_flags, c);
}

/*
 * An overflow server is never the kernel's choice: idle the longest, it
 * is passed over for a server added later; PORT_GET reports the flag.
 */
TEST_F(remote, overflow_not_matched)
{
	struct flagcb f;
	struct msgbuf m;
	uint32_t ovf, us4;
	int ofd, ufd;

	ASSERT_EQ(0, phnl_user_server_add(&self->h, "ovf", 10000, 1ULL << 4,
					  true, &ovf));
	ASSERT_EQ(0, port_flags(&self->h, ovf, &f));
	EXPECT_TRUE(f.overflow);
	EXPECT_TRUE(f.user);
	EXPECT_EQ(PERSOHUB_STATE_IDLE, f.state);
	ASSERT_EQ(0, port_flags(&self->h, self->rsrv, &f));
	EXPECT_FALSE(f.overflow);
	/* The remote station: a station of the user backend. */
	ASSERT_EQ(0, port_flags(&self->h, self->rst, &f));
	EXPECT_FALSE(f.overflow);
	EXPECT_TRUE(f.user);
	EXPECT_EQ(PERSOHUB_ROLE_STATION, f.role);

	ofd = open_server("ovf", O_RDWR | O_NONBLOCK);
	ASSERT_LE(0, ofd);
	ASSERT_EQ((ssize_t)sizeof(m.h) + 10, rwrite(self->rfd, 51, 4, 0, 10));
	ASSERT_EQ(0, port_flags(&self->h, self->rst, &f));
	EXPECT_EQ(PERSOHUB_STATE_BUSY, f.state);
	ASSERT_EQ(0, phnl_user_server_add(&self->h, "us4", 10000, 1ULL << 4,
					  false, &us4));
	ufd = open_server("us4", O_RDWR | O_NONBLOCK);
	ASSERT_LE(0, ufd);
	ASSERT_EQ(0, take(ufd, &m, 51, 10));
	EXPECT_EQ(us4, m.h.server_id);
	ASSERT_EQ((ssize_t)(sizeof(m.h) + SP_RESP_LEN), answer(ufd, &m));
	ASSERT_EQ(0, result(self->rfd, &m, 51, 0));
	EXPECT_EQ(us4, m.h.server_id);
	EXPECT_EQ(-1, read(ofd, &m, sizeof(m)));
	EXPECT_EQ(EAGAIN, errno);
	EXPECT_EQ(0, nl_stat(&self->h, ovf, PERSOHUB_STAT_REQUESTS));
	close(ufd);
	close(ofd);
}

static int get_attached(const struct phnl_attrs *at, void *data)
{
	*(int *)data = phnl_u8(at, PERSOHUB_A_CTRL_ATTACHED, 9);
	return 0;
}

/* Is a controller attached and in charge (STATS_GET of the hub)? */
static int ctrl_attached(struct phnl *h)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct nlmsghdr *nlh = phnl_msg(h, buf, PERSOHUB_CMD_STATS_GET, 0);
	int v = -1;

	if (phnl_talk(h, nlh, get_attached, &v))
		return -1;
	return v;
}

struct reqcb {
	uint32_t station;
	uint64_t id;
};

static int get_req(const struct phnl_attrs *at, void *data)
{
	struct reqcb *c = data;

	if (phnl_u32(at, PERSOHUB_A_PORT_ID, 0) == c->station)
		c->id = phnl_u64(at, PERSOHUB_A_REQ_ID, 0);
	return 0;
}

/*
 * With a controller attached, a request whose only idle server is an
 * overflow server is no stall: the hub never takes over for it. The
 * controller's DISPATCH does send it there. An ordinary idle server of
 * its class is counted: the hub takes over after ctrl_grace_ms.
 */
TEST_F(remote, overflow_no_stall)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct reqcb rc = { .station = self->rst };
	struct nlmsghdr *nlh;
	struct phnl ctl;
	struct msgbuf m;
	uint32_t ovf, us4;
	int ofd, ufd, i;

	ASSERT_EQ(0, write_param("ctrl_grace_ms", "100"));
	ASSERT_EQ(0, phnl_user_server_add(&self->h, "ovf", 10000, 1ULL << 4,
					  true, &ovf));
	ofd = open_server("ovf", O_RDWR | O_NONBLOCK);
	ASSERT_LE(0, ofd);
	ASSERT_EQ(0, phnl_open(&ctl));
	nlh = phnl_msg(&ctl, buf, PERSOHUB_CMD_CTRL_ATTACH, 0);
	ASSERT_EQ(0, phnl_talk(&ctl, nlh, NULL, NULL));
	ASSERT_EQ(1, ctrl_attached(&self->h));
	ASSERT_EQ((ssize_t)sizeof(m.h) + 10, rwrite(self->rfd, 71, 4, 0, 10));
	/* Ten grace periods: the controller stays in charge. */
	for (i = 0; i < 20; i++) {
		ph_sleep_ms(50);
		ASSERT_EQ(1, ctrl_attached(&self->h));
	}
	nlh = phnl_msg(&ctl, buf, PERSOHUB_CMD_REQUEST_GET, NLM_F_DUMP);
	ASSERT_EQ(0, phnl_talk(&ctl, nlh, get_req, &rc));
	ASSERT_NE(0, rc.id);
	nlh = phnl_msg(&ctl, buf, PERSOHUB_CMD_DISPATCH, 0);
	mnl_attr_put_u64(nlh, PERSOHUB_A_REQ_ID, rc.id);
	mnl_attr_put_u32(nlh, PERSOHUB_A_SERVER_ID, ovf);
	ASSERT_EQ(0, phnl_talk(&ctl, nlh, NULL, NULL));
	ASSERT_EQ(0, take(ofd, &m, 71, 10));
	EXPECT_EQ(ovf, m.h.server_id);
	ASSERT_EQ((ssize_t)(sizeof(m.h) + SP_RESP_LEN), answer(ofd, &m));
	ASSERT_EQ(0, result(self->rfd, &m, 71, 0));
	EXPECT_EQ(ovf, m.h.server_id);

	/* The same with an ordinary server: the hub takes over. */
	ASSERT_EQ((ssize_t)sizeof(m.h) + 10, rwrite(self->rfd, 72, 4, 0, 10));
	ASSERT_EQ(0, phnl_user_server_add(&self->h, "us4", 10000, 1ULL << 4,
					  false, &us4));
	ufd = open_server("us4", O_RDWR | O_NONBLOCK);
	ASSERT_LE(0, ufd);
	ASSERT_EQ(0, take(ufd, &m, 72, 10));
	EXPECT_EQ(0, ctrl_attached(&self->h));
	ASSERT_EQ((ssize_t)(sizeof(m.h) + SP_RESP_LEN), answer(ufd, &m));
	ASSERT_EQ(0, result(self->rfd, &m, 72, 0));
	EXPECT_EQ(-1, read(ofd, &m, sizeof(m)));
	EXPECT_EQ(EAGAIN, errno);
	close(ufd);
	close(ofd);
	phnl_close(&ctl);
}

TEST_HARNESS_MAIN
