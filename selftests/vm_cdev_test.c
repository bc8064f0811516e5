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

TEST_HARNESS_MAIN
