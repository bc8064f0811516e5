// SPDX-License-Identifier: GPL-2.0
/*
 * vm_cascade_test CONF: persohubd's [cascade] on one test machine, with a
 * nats-server running on 127.0.0.1 (selftests/vm_cascade.sh starts it).
 * This program is everything around the daemon: a station (a remote
 * station device, st1) and two local userspace servers (loc1, loc2) of
 * hub-a, and the other hub (hub-b), a NATS client with its certificate.
 * It starts persohubd with CONF and checks, TAP:
 *
 *   - nothing goes out while a local server is idle;
 *   - with both local servers busy, requests go out, and the other hub's
 *     answers reach the station;
 *   - no responders: the request is given back and served locally;
 *   - a reply after timeout_ms is discarded (counted), the request retried;
 *   - an error reply fails the request once: retried, then answered;
 *   - offering: a free announcement, a request of the other hub served on
 *     an idle local server (status, server, answer), and none taken while
 *     every local server is busy;
 *   - every station request answered exactly once.
 *
 * Local answers are "L" + request, the other hub's "R" + request, so the
 * station knows who answered it. A station gets its answers in the order
 * of its requests, so each step ends with its station's answers, in order.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <nats/nats.h>

#include "phnl.h"

#define SITE		"test"
#define REQ_SUBJ	"persohub." SITE ".req.default"
#define FREE_SUBJ	"persohub." SITE ".free.default"
#define QUEUE		"persohub." SITE ".default"
#define STATE		"/tmp/persohubd.state"
#define NTAGS		64

static struct phnl nl;
static int st_fd;
static struct { uint32_t id; int fd; } loc[2];
static natsConnection *peer;
static natsSubscription *req_sub;
static pid_t daemon_pid;
static unsigned int tests, failures;
static unsigned int answered[NTAGS];	/* per station tag */
static int scale = 1;

struct msg {
	struct persohub_msg h;
	uint8_t data[PERSOHUB_PAYLOAD_MAX];
};

static void ok(bool good, const char *fmt, ...)
{
	va_list ap;

	printf("%s %u - ", good ? "ok" : "not ok", ++tests);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	putchar('\n');
	fflush(stdout);
	failures += !good;
}

static void bail(const char *fmt, ...)
{
	va_list ap;

	printf("Bail out! ");
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	putchar('\n');
	if (daemon_pid > 0)
		kill(daemon_pid, SIGTERM);
	exit(1);
}

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000ULL + ts.tv_nsec / 1000000;
}

static int id_cb(const struct phnl_attrs *at, void *data)
{
	*(uint32_t *)data = phnl_u32(at, PERSOHUB_A_PORT_ID, 0);
	return 0;
}

static uint32_t add_port(uint8_t cmd, const char *name)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct nlmsghdr *nlh = phnl_msg(&nl, buf, cmd, 0);
	uint32_t id = 0;
	int ret;

	mnl_attr_put_strz(nlh, PERSOHUB_A_PORT_NAME, name);
	if (cmd == PERSOHUB_CMD_USER_STATION_ADD)
		mnl_attr_put_u32(nlh, PERSOHUB_A_PORT_QUEUE_DEPTH, 16);
	else
		mnl_attr_put_u32(nlh, PERSOHUB_A_PORT_TIMEOUT_MS, 60000);
	ret = phnl_talk(&nl, nlh, id_cb, &id);
	if (ret || !id)
		bail("adding %s: %s %s", name, strerror(-ret), nl.errmsg);
	return id;
}

static int open_dev(const char *dir, const char *name)
{
	char path[96];
	int fd;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	fd = open(path, O_RDWR | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0)
		bail("%s: %s", path, strerror(errno));
	return fd;
}

/* Read one message from @fd within @ms: its length, or 0. */
static ssize_t read_msg(int fd, struct msg *m, int ms)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };
	uint64_t end = now_ms() + ms * scale;
	ssize_t n;

	for (;;) {
		n = read(fd, m, sizeof(*m));
		if (n >= (ssize_t)sizeof(m->h))
			return n;
		if (n < 0 && errno != EAGAIN)
			bail("read: %s", strerror(errno));
		if (now_ms() >= end)
			return 0;
		poll(&p, 1, end - now_ms());
	}
}

static void submit(unsigned int tag)
{
	struct msg m = { 0 };
	int len = snprintf((char *)m.data, sizeof(m.data), "req-%u", tag);

	m.h.req_id = tag;
	m.h.len = len;
	if (write(st_fd, &m, sizeof(m.h) + len) < 0)
		bail("station write of %u: %s", tag, strerror(errno));
}

/* A local server's request: its kernel id, its payload in @m. */
static uint64_t local_takes(unsigned int i, struct msg *m, int ms)
{
	if (!read_msg(loc[i].fd, m, ms))
		return 0;
	return m->h.req_id;
}

static void local_answer(unsigned int i, const struct msg *req)
{
	struct msg m = { 0 };

	m.h.req_id = req->h.req_id;
	m.h.server_id = loc[i].id;
	m.h.len = req->h.len + 1;
	m.data[0] = 'L';
	memcpy(m.data + 1, req->data, req->h.len);
	if (write(loc[i].fd, &m, sizeof(m.h) + m.h.len) < 0)
		bail("loc%u answer: %s", i + 1, strerror(errno));
}

/* The station's next answer: checked against "@who" "req-TAG". */
static bool station_gets(unsigned int tag, char who, uint32_t server)
{
	char want[32];
	struct msg m;
	ssize_t n = read_msg(st_fd, &m, 10000);
	int len;

	if (!n) {
		printf("# no answer for %u\n", tag);
		return false;
	}
	len = snprintf(want, sizeof(want), "%creq-%u", who, tag);
	if (m.h.req_id < NTAGS)
		answered[m.h.req_id]++;
	if (m.h.req_id != tag || m.h.status || m.h.len != (uint32_t)len ||
	    memcmp(m.data, want, len) || (server && m.h.server_id != server)) {
		printf("# tag %llu status %u server %u: '%.*s', want tag %u "
		       "'%s' server %u\n", (unsigned long long)m.h.req_id,
		       m.h.status, m.h.server_id, (int)m.h.len,
		       (char *)m.data, tag, want, server);
		return false;
	}
	return true;
}

static bool station_quiet(int ms)
{
	struct msg m;

	if (!read_msg(st_fd, &m, ms))
		return true;
	if (m.h.req_id < NTAGS)
		answered[m.h.req_id]++;
	printf("# unexpected answer for %llu\n",
	       (unsigned long long)m.h.req_id);
	return false;
}

/* The daemon's cascade counter @key from its state file, or -1. */
static long long counter(const char *key)
{
	char line[1024], k[40], *p;
	long long v = -1;
	FILE *f = fopen(STATE, "r");

	if (!f)
		return -1;
	snprintf(k, sizeof(k), " %s=", key);
	while (fgets(line, sizeof(line), f))
		if (!strncmp(line, "cascade ", 8) && (p = strstr(line, k)))
			v = atoll(p + strlen(k));
	fclose(f);
	return v;
}

static bool wait_counter(const char *key, long long atleast)
{
	uint64_t end = now_ms() + 10000 * scale;

	while (counter(key) < atleast) {
		if (now_ms() > end) {
			printf("# %s is %lld, want %lld\n", key, counter(key),
			       atleast);
			return false;
		}
		usleep(20000);
	}
	return true;
}

static const char *hdr(natsMsg *m, const char *key)
{
	const char *v = NULL;

	return natsMsgHeader_Get(m, key, &v) == NATS_OK ? v : "";
}

/* The other hub gets a request within @ms: the message, or NULL. */
static natsMsg *peer_gets(int ms)
{
	natsMsg *m = NULL;

	if (natsSubscription_NextMsg(&m, req_sub, ms * scale) != NATS_OK)
		return NULL;
	return m;
}

static void peer_reply(natsMsg *req, const char *status, bool data)
{
	char buf[64];
	natsMsg *r;
	int len = 0;

	if (data) {
		buf[0] = 'R';
		memcpy(buf + 1, natsMsg_GetData(req),
		       natsMsg_GetDataLength(req));
		len = natsMsg_GetDataLength(req) + 1;
	}
	if (natsMsg_Create(&r, natsMsg_GetReply(req), NULL, buf, len) !=
	    NATS_OK)
		bail("reply");
	natsMsgHeader_Set(r, "Persohub-Status", status);
	natsMsgHeader_Set(r, "Persohub-Server", "hub-b/7");
	natsConnection_PublishMsg(peer, r);
	natsConnection_FlushTimeout(peer, 5000);
	natsMsg_Destroy(r);
}

static bool is_req(natsMsg *m, unsigned int tag)
{
	char want[16];
	int len = snprintf(want, sizeof(want), "req-%u", tag);

	if (!m)
		return false;
	if (natsMsg_GetDataLength(m) != len ||
	    memcmp(natsMsg_GetData(m), want, len) ||
	    strncmp(hdr(m, "Persohub-Req"), "hub-a/", 6) ||
	    strcmp(hdr(m, "Persohub-Class"), "0")) {
		printf("# request '%.*s' req '%s' class '%s', want '%s'\n",
		       natsMsg_GetDataLength(m), natsMsg_GetData(m),
		       hdr(m, "Persohub-Req"), hdr(m, "Persohub-Class"), want);
		return false;
	}
	return true;
}

static void peer_listen(bool on)
{
	natsStatus s;

	if (!on) {
		natsSubscription_Unsubscribe(req_sub);
		natsSubscription_Destroy(req_sub);
		req_sub = NULL;
	} else {
		s = natsConnection_QueueSubscribeSync(&req_sub, peer, REQ_SUBJ,
						      QUEUE);
		if (s != NATS_OK)
			bail("subscribe: %s", natsStatus_GetText(s));
	}
	natsConnection_FlushTimeout(peer, 5000);
}

static void peer_connect(const char *certs)
{
	char ca[128], cert[128], key[128];
	natsOptions *o;
	natsStatus s;
	int tries;

	snprintf(ca, sizeof(ca), "%s/ca.pem", certs);
	snprintf(cert, sizeof(cert), "%s/client.pem", certs);
	snprintf(key, sizeof(key), "%s/client.key", certs);
	s = natsOptions_Create(&o);
	if (s == NATS_OK)
		s = natsOptions_SetURL(o, "tls://127.0.0.1:4222");
	if (s == NATS_OK)
		s = natsOptions_SetName(o, "hub-b");
	if (s == NATS_OK)
		s = natsOptions_SetSecure(o, true);
	if (s == NATS_OK)
		s = natsOptions_LoadCATrustedCertificates(o, ca);
	if (s == NATS_OK)
		s = natsOptions_LoadCertificatesChain(o, cert, key);
	if (s == NATS_OK)
		s = natsOptions_SetTimeout(o, 5000);
	/* Echo off: the other hub, not a listener of its own requests. */
	if (s == NATS_OK)
		s = natsOptions_SetNoEcho(o, true);
	for (tries = 0; s == NATS_OK && tries < 50; tries++) {
		s = natsConnection_Connect(&peer, o);
		if (s == NATS_OK)
			break;
		s = NATS_OK;
		usleep(100000);
	}
	if (!peer)
		bail("the other hub cannot connect: %s",
		     nats_GetLastError(NULL));
	natsOptions_Destroy(o);
}

static void start_daemon(const char *conf)
{
	int fd;

	unlink(STATE);
	daemon_pid = fork();
	if (daemon_pid < 0)
		bail("fork: %s", strerror(errno));
	if (!daemon_pid) {
		fd = open("/tmp/persohubd.log",
			  O_WRONLY | O_CREAT | O_APPEND, 0644);
		dup2(fd, 1);
		dup2(fd, 2);
		execlp("persohubd", "persohubd", "-c", conf, "-S", STATE, "-s",
		       "/tmp/persohubd.stats", NULL);
		_exit(127);
	}
	if (!wait_counter("connected", 1))
		bail("persohubd not connected to NATS (see its log)");
}

/* Both local servers take a station request each: @a and @b. */
static void local_busy(unsigned int a, unsigned int b, struct msg held[2])
{
	unsigned int i;

	submit(a);
	submit(b);
	for (i = 0; i < 2; i++)
		if (!local_takes(i, &held[i], 10000))
			bail("loc%u got no request (of %u, %u)", i + 1, a, b);
}

static void local_answer_both(struct msg held[2])
{
	unsigned int i;

	for (i = 0; i < 2; i++)
		local_answer(i, &held[i]);
}

int main(int argc, char **argv)
{
	struct msg held[2], m;
	natsMsg *r1, *r2, *reply;
	natsSubscription *free_sub, *inbox_sub;
	long long base, base_served, base_answered;
	unsigned int i;
	bool good;
	natsStatus s;

	if (argc != 3)
		bail("usage: vm_cascade_test CONF CERTDIR");
	if (getenv("PH_TIMEOUT_SCALE"))
		scale = atoi(getenv("PH_TIMEOUT_SCALE")) ?: 1;
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (phnl_open(&nl))
		bail("netlink: is the module loaded?");
	add_port(PERSOHUB_CMD_USER_STATION_ADD, "st1");
	loc[0].id = add_port(PERSOHUB_CMD_USER_SERVER_ADD, "loc1");
	loc[1].id = add_port(PERSOHUB_CMD_USER_SERVER_ADD, "loc2");
	st_fd = open_dev("/dev/persohub-remote", "st1");
	loc[0].fd = open_dev("/dev/persohub-server", "loc1");
	loc[1].fd = open_dev("/dev/persohub-server", "loc2");
	peer_connect(argv[2]);
	peer_listen(true);
	s = natsConnection_SubscribeSync(&free_sub, peer, FREE_SUBJ);
	if (s != NATS_OK)
		bail("subscribe: %s", natsStatus_GetText(s));
	start_daemon(argv[1]);
	ok(access("/dev/persohub-remote/cascade", F_OK) == 0 &&
	   access("/dev/persohub-server/cascade-1", F_OK) == 0 &&
	   access("/dev/persohub-server/cascade-2", F_OK) == 0,
	   "the remote station and 2 overflow servers exist");

	/* Local servers first. */
	local_busy(1, 2, held);
	r1 = peer_gets(500);
	ok(!r1, "nothing out while a local server was idle");
	natsMsg_Destroy(r1);

	/* Both busy: out, answered by the other hub. */
	submit(3);
	submit(4);
	r1 = peer_gets(10000);
	r2 = peer_gets(10000);
	good = r1 && r2 && ((is_req(r1, 3) && is_req(r2, 4)) ||
			    (is_req(r1, 4) && is_req(r2, 3)));
	ok(good, "overflow: both requests out, headers and payload as sent");
	if (r1)
		peer_reply(r1, "0", true);
	if (r2)
		peer_reply(r2, "0", true);
	natsMsg_Destroy(r1);
	natsMsg_Destroy(r2);
	ok(wait_counter("answered", 2) && counter("sent") == 2,
	   "counted: sent 2, answered 2");
	local_answer_both(held);
	ok(station_gets(1, 'L', 0) && station_gets(2, 'L', 0) &&
	   station_gets(3, 'R', 0) && station_gets(4, 'R', 0),
	   "overflow: the station gets the local and the other hub's answers");

	/* No responders: given back, served locally. */
	peer_listen(false);
	local_busy(5, 6, held);
	base = counter("given_back");
	submit(7);
	ok(wait_counter("given_back", base + 1),
	   "no responders: the request is given back");
	local_answer(0, &held[0]);
	ok(local_takes(0, &m, 10000) && m.h.len == 5 &&
	   !memcmp(m.data, "req-7", 5), "given back: loc1 takes it");
	local_answer(0, &m);
	local_answer(1, &held[1]);
	ok(station_gets(5, 'L', 0) && station_gets(6, 'L', 0) &&
	   station_gets(7, 'L', loc[0].id), "and answers it");

	/* A reply after timeout_ms: discarded; the retry answered. */
	peer_listen(true);
	local_busy(8, 9, held);
	base = counter("late");
	base_answered = counter("answered");
	submit(10);
	r1 = peer_gets(10000);
	ok(is_req(r1, 10), "out, not answered in time");
	r2 = peer_gets(10000);
	ok(is_req(r2, 10), "timed out: retried, out again");
	if (r1)
		peer_reply(r1, "0", true);
	ok(wait_counter("late", base + 1), "the late reply is discarded");
	if (r2)
		peer_reply(r2, "0", true);
	ok(wait_counter("answered", base_answered + 1),
	   "the retry is answered");
	natsMsg_Destroy(r1);
	natsMsg_Destroy(r2);
	local_answer_both(held);
	ok(station_gets(8, 'L', 0) && station_gets(9, 'L', 0) &&
	   station_gets(10, 'R', 0) && station_quiet(300),
	   "the station gets the retry's answer, once");

	/* An error reply: failed once, retried, answered. */
	local_busy(11, 12, held);
	base = counter("failed");
	base_answered = counter("answered");
	submit(13);
	r1 = peer_gets(10000);
	ok(is_req(r1, 13), "out");
	if (r1)
		peer_reply(r1, "5", false);
	r2 = peer_gets(10000);
	ok(is_req(r2, 13) && wait_counter("failed", base + 1) &&
	   counter("failed") == base + 1,
	   "an error reply: failed once, out again");
	if (r2)
		peer_reply(r2, "0", true);
	ok(wait_counter("answered", base_answered + 1), "the retry answered");
	natsMsg_Destroy(r1);
	natsMsg_Destroy(r2);

	/* Offering: idle again, the hub listens and says so. */
	peer_listen(false);
	while (natsSubscription_NextMsg(&reply, free_sub, 0) == NATS_OK)
		natsMsg_Destroy(reply);	/* announcements of before */
	local_answer_both(held);
	ok(station_gets(11, 'L', 0) && station_gets(12, 'L', 0) &&
	   station_gets(13, 'R', 0), "the station gets them in order");
	reply = NULL;
	s = natsSubscription_NextMsg(&reply, free_sub, 10000 * scale);
	ok(s == NATS_OK && natsMsg_GetDataLength(reply) == 5 &&
	   !memcmp(natsMsg_GetData(reply), "hub-a", 5),
	   "offering: a free announcement from hub-a");
	natsMsg_Destroy(reply);
	s = natsConnection_SubscribeSync(&inbox_sub, peer, "_INBOX.peer.*");
	if (s != NATS_OK)
		bail("inbox: %s", natsStatus_GetText(s));
	natsConnection_FlushTimeout(peer, 5000);
	base = counter("served");
	{
		natsMsg *q;

		natsMsg_Create(&q, REQ_SUBJ, "_INBOX.peer.1", "peer-1", 6);
		natsMsgHeader_Set(q, "Persohub-Req", "hub-b/1");
		natsMsgHeader_Set(q, "Persohub-Class", "0");
		natsMsgHeader_Set(q, "Persohub-Priority", "3");
		natsConnection_PublishMsg(peer, q);
		natsConnection_FlushTimeout(peer, 5000);
		natsMsg_Destroy(q);
	}
	/* Whichever local server is idle the longest takes it. */
	m.h.len = 0;
	for (i = 0; i < 2 * 10000U * scale / 100; i++)
		if (local_takes(i % 2, &m, 50))
			break;
	good = m.h.len == 6 && !memcmp(m.data, "peer-1", 6);
	ok(good, "offering: a local server gets the other hub's request");
	if (good)
		local_answer(i % 2, &m);
	reply = NULL;
	s = natsSubscription_NextMsg(&reply, inbox_sub, 10000 * scale);
	if (s == NATS_OK) {
		char srv[48];

		snprintf(srv, sizeof(srv), "hub-a/%u", loc[i % 2].id);
		good = !strcmp(hdr(reply, "Persohub-Status"), "0") &&
		       !strcmp(hdr(reply, "Persohub-Server"), srv) &&
		       natsMsg_GetDataLength(reply) == 7 &&
		       !memcmp(natsMsg_GetData(reply), "Lpeer-1", 7);
		if (!good)
			printf("# status '%s' server '%s' (want %s) '%.*s'\n",
			       hdr(reply, "Persohub-Status"),
			       hdr(reply, "Persohub-Server"), srv,
			       natsMsg_GetDataLength(reply),
			       natsMsg_GetData(reply));
	} else {
		good = false;
	}
	ok(good, "offering: the answer, its status and server");
	natsMsg_Destroy(reply);
	ok(wait_counter("served", base + 1), "counted: served");

	held[0].h.len = 0;
	/*
	 * One idle server, two requests at once (one flush): the first is
	 * served, the second answered busy at once, before the hub could
	 * stop listening.
	 */
	submit(16);
	for (i = 0; i < 2 * 10000U * scale / 50; i++)
		if (local_takes(i % 2, &held[0], 25))
			break;
	if (held[0].h.len != 6 || memcmp(held[0].data, "req-16", 6))
		bail("no local server took 16");
	i = 1 - i % 2;		/* the idle one */
	base_served = counter("served");
	base = counter("busy");
	{
		natsMsg *q;
		const char *p[2] = { "peer-3", "peer-4" };
		unsigned int j;

		for (j = 0; j < 2; j++) {
			char inbox[32];

			snprintf(inbox, sizeof(inbox), "_INBOX.peer.%u", 3 + j);
			natsMsg_Create(&q, REQ_SUBJ, inbox, p[j], 6);
			natsMsgHeader_Set(q, "Persohub-Req", "hub-b/3");
			natsConnection_PublishMsg(peer, q);
			natsMsg_Destroy(q);
		}
		natsConnection_FlushTimeout(peer, 5000);
	}
	ok(local_takes(i, &m, 10000) && m.h.len == 6 &&
	   !memcmp(m.data, "peer-3", 6), "two at once: the idle server takes "
	   "the first");
	reply = NULL;
	s = natsSubscription_NextMsg(&reply, inbox_sub, 10000 * scale);
	good = s == NATS_OK && !strcmp(natsMsg_GetSubject(reply),
				       "_INBOX.peer.4") &&
	       !strcmp(hdr(reply, "Persohub-Status"), "busy") &&
	       natsMsg_GetDataLength(reply) == 0;
	natsMsg_Destroy(reply);
	ok(good && wait_counter("busy", base + 1),
	   "and the second is answered busy at once");
	local_answer(i, &m);
	reply = NULL;
	s = natsSubscription_NextMsg(&reply, inbox_sub, 10000 * scale);
	ok(s == NATS_OK && !strcmp(natsMsg_GetSubject(reply), "_INBOX.peer.3") &&
	   !strcmp(hdr(reply, "Persohub-Status"), "0") &&
	   wait_counter("served", base_served + 1),
	   "the first answered");
	natsMsg_Destroy(reply);
	local_answer(1 - i, &held[0]);
	ok(station_gets(16, 'L', 0), "local answer of 16");

	/* Every local server busy: not taken (no responders or busy). */
	local_busy(14, 15, held);
	base_served = counter("served");
	{
		natsMsg *q;

		natsMsg_Create(&q, REQ_SUBJ, "_INBOX.peer.2", "peer-2", 6);
		natsMsgHeader_Set(q, "Persohub-Req", "hub-b/2");
		natsConnection_PublishMsg(peer, q);
		natsConnection_FlushTimeout(peer, 5000);
		natsMsg_Destroy(q);
	}
	reply = NULL;
	s = natsSubscription_NextMsg(&reply, inbox_sub, 10000 * scale);
	/* A sync subscription reports no responders as a status. */
	good = s == NATS_NO_RESPONDERS ||
	       (s == NATS_OK && !strcmp(hdr(reply, "Persohub-Status"), "busy"));
	printf("# answered: %s\n", s == NATS_NO_RESPONDERS ? "no responders" :
	       s == NATS_OK ? hdr(reply, "Persohub-Status") :
	       natsStatus_GetText(s));
	ok(good, "offering: none idle, not taken (no responders or busy)");
	printf("# remote_in %lld busy %lld served %lld remote_failed %lld\n",
	       counter("remote_in"), counter("busy"), counter("served"),
	       counter("remote_failed"));
	natsMsg_Destroy(reply);
	ok(!local_takes(0, &m, 300) && !local_takes(1, &m, 300) &&
	   counter("served") == base_served,
	   "and no local server got it");
	local_answer_both(held);
	ok(station_gets(14, 'L', 0) && station_gets(15, 'L', 0),
	   "local answers of 14 and 15");

	/* Every station request answered once. */
	good = station_quiet(500);
	for (i = 1; i <= 16; i++)
		if (answered[i] != 1) {
			printf("# tag %u answered %u times\n", i, answered[i]);
			good = false;
		}
	ok(good, "every station request answered exactly once");

	kill(daemon_pid, SIGTERM);
	waitpid(daemon_pid, NULL, 0);
	natsSubscription_Destroy(free_sub);
	natsSubscription_Destroy(inbox_sub);
	natsSubscription_Destroy(req_sub);
	natsConnection_Destroy(peer);
	printf("1..%u\n", tests);
	return failures ? 1 : 0;
}
