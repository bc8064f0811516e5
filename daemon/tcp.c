// SPDX-License-Identifier: GPL-2.0
/*
 * persohubd's TCP backend: servers that are not serial ports (a network
 * HSM, a peer site PC), reached over TCP. Each configured [tcp NAME] is a
 * userspace server in the kernel; a request dispatched to it is read from
 * its station's device, sent on the connection in the server's framing,
 * and the next frame that comes back is written to the device as the
 * response. The framing on the stream is hdlc (the default, as on
 * persohub's serial lines) or len16 (a 2-byte big-endian length, then the
 * payload: what payShield and other network HSMs speak over TCP), from
 * framing.c as the module uses it.
 *
 * The daemon reads every station device: a site running persohubd serves
 * its userspace servers through it. A connection that fails, or a server
 * the kernel marked failed (timeout), is closed and reconnected on the
 * slow timer; the kernel retries the request elsewhere meanwhile.
 */
#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "framing.h"
#include "log.h"
#include "tcp.h"

#define MAX_STATIONS	PH_MAX_PORTS
#define DEVDIR		"/dev/persohub"

struct tcp_server {
	struct config_tcp cfg;
	uint32_t id;
	int fd;
	bool up;		/* connected */
	bool warned;		/* the failure to connect was logged */
	bool busy;		/* a request is on the wire */
	enum tcp_link_state state;
	uint64_t since_ns;	/* in @state since */
	char error[160];	/* the last error */
	uint64_t req_id;
	int station_fd;
	struct ph_rx rx;
	uint8_t rxbuf[PH_RX_BUF(PH_PAYLOAD_MAX)];
};

static struct {
	struct phnl *nl;
	int epfd;
	unsigned int n;
	struct tcp_server s[CONFIG_MAX_TCP];
	unsigned int nst;
	struct {
		int fd;
		char name[64];
		bool seen;
	} st[MAX_STATIONS];
	struct tcp_figures fig;
} t;

static uint64_t mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000000ULL + ts.tv_nsec;
}

/* The link's state for tcp_link(); @why (if not NULL) its last error. */
static void link_state(struct tcp_server *s, enum tcp_link_state state,
		       const char *why)
{
	if (s->state != state)
		s->since_ns = mono_ns();
	s->state = state;
	if (why)
		snprintf(s->error, sizeof(s->error), "%s", why);
}

static int id_cb(const struct phnl_attrs *at, void *data)
{
	*(uint32_t *)data = phnl_u32(at, PERSOHUB_A_PORT_ID, 0);
	return 0;
}

static int set_state(struct tcp_server *s, uint32_t state)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct nlmsghdr *nlh;

	nlh = phnl_msg(t.nl, buf, PERSOHUB_CMD_PORT_SET, 0);
	mnl_attr_put_u32(nlh, PERSOHUB_A_PORT_ID, s->id);
	mnl_attr_put_u32(nlh, PERSOHUB_A_PORT_STATE, state);
	return phnl_talk(t.nl, nlh, NULL, NULL);
}

/* The kernel's userspace server for @s: added, or found from before. */
static int user_server(struct tcp_server *s)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct nlmsghdr *nlh;
	int ret;

	nlh = phnl_msg(t.nl, buf, PERSOHUB_CMD_USER_SERVER_ADD, 0);
	mnl_attr_put_strz(nlh, PERSOHUB_A_PORT_NAME, s->cfg.name);
	mnl_attr_put_u32(nlh, PERSOHUB_A_PORT_TIMEOUT_MS, s->cfg.timeout_ms);
	mnl_attr_put_u64(nlh, PERSOHUB_A_PORT_CLASSES, s->cfg.classes);
	ret = phnl_talk(t.nl, nlh, NULL, NULL);
	if (ret && ret != -EEXIST)
		return ret;
	nlh = phnl_msg(t.nl, buf, PERSOHUB_CMD_PORT_GET, 0);
	mnl_attr_put_strz(nlh, PERSOHUB_A_PORT_NAME, s->cfg.name);
	return phnl_talk(t.nl, nlh, id_cb, &s->id);
}

static void tcp_close(struct tcp_server *s)
{
	if (s->fd >= 0) {
		epoll_ctl(t.epfd, EPOLL_CTL_DEL, s->fd, NULL);
		close(s->fd);
	}
	s->fd = -1;
	s->up = false;
	s->busy = false;
	ph_rx_reset(&s->rx);
	explicit_bzero(s->rxbuf, sizeof(s->rxbuf));
}

static void tcp_connect(struct tcp_server *s)
{
	struct addrinfo hints = { .ai_socktype = SOCK_STREAM }, *ai;
	struct epoll_event e = { .events = EPOLLIN };
	const char *why = NULL;
	char port[8];
	int fd = -1, ret;

	snprintf(port, sizeof(port), "%u", s->cfg.port);
	ret = getaddrinfo(s->cfg.host, port, &hints, &ai);
	if (ret) {
		why = gai_strerror(ret);
	} else {
		fd = socket(ai->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
		if (fd < 0 || connect(fd, ai->ai_addr, ai->ai_addrlen)) {
			why = strerror(errno);
			if (fd >= 0)
				close(fd);
			fd = -1;
		}
		freeaddrinfo(ai);
	}
	if (fd < 0) {
		link_state(s, TCP_LINK_BACKOFF, why);
		/* Once per outage: the slow timer tries again and again. */
		if (!s->warned)
			warn("tcp: %s: connecting to %s port %u: %s; trying "
			     "again", s->cfg.name, s->cfg.host, s->cfg.port,
			     why);
		s->warned = true;
		return;
	}
	s->warned = false;
	fcntl(fd, F_SETFL, O_NONBLOCK);
	s->fd = fd;
	s->up = true;
	link_state(s, TCP_LINK_CONNECTED, NULL);
	e.data.fd = fd;
	epoll_ctl(t.epfd, EPOLL_CTL_ADD, fd, &e);
	t.fig.connects++;
	if (set_state(s, PERSOHUB_STATE_IDLE))
		warn("tcp: %s: cannot return to service", s->cfg.name);
	else
		info("tcp: %s: connected to %s port %u (%s)", s->cfg.name,
		     s->cfg.host, s->cfg.port,
		     ph_framing_name(s->cfg.framing));
}

/* Open the devices of stations that appeared, close those that went. */
void tcp_rescan(void)
{
	struct epoll_event e = { .events = EPOLLIN };
	struct dirent *de;
	unsigned int i;
	char path[sizeof(DEVDIR) + 256];
	DIR *dir;
	int fd;

	if (!t.n)
		return;
	for (i = 0; i < t.nst; i++)
		t.st[i].seen = false;
	dir = opendir(DEVDIR);
	while (dir && (de = readdir(dir))) {
		if (de->d_name[0] == '.' ||
		    strlen(de->d_name) >= sizeof(t.st[0].name))
			continue;
		for (i = 0; i < t.nst; i++)
			if (!strcmp(t.st[i].name, de->d_name))
				break;
		if (i < t.nst) {
			t.st[i].seen = true;
			continue;
		}
		if (t.nst == MAX_STATIONS)
			break;
		snprintf(path, sizeof(path), DEVDIR "/%s", de->d_name);
		fd = open(path, O_RDWR | O_NONBLOCK | O_CLOEXEC);
		if (fd < 0)
			continue;
		e.data.fd = fd;
		epoll_ctl(t.epfd, EPOLL_CTL_ADD, fd, &e);
		t.st[t.nst].fd = fd;
		strcpy(t.st[t.nst].name, de->d_name);	/* length checked */
		t.st[t.nst++].seen = true;
	}
	if (dir)
		closedir(dir);
	for (i = 0; i < t.nst; ) {
		if (t.st[i].seen) {
			i++;
			continue;
		}
		epoll_ctl(t.epfd, EPOLL_CTL_DEL, t.st[i].fd, NULL);
		close(t.st[i].fd);
		t.st[i] = t.st[--t.nst];
	}
}

int tcp_init(struct phnl *nl, int epfd, const struct config *cfg)
{
	unsigned int i;
	int ret;

	t.nl = nl;
	t.epfd = epfd;
	t.n = 0;
	for (i = 0; i < cfg->ntcp; i++) {
		struct tcp_server *s = &t.s[t.n];

		memset(s, 0, sizeof(*s));
		s->cfg = cfg->tcp[i];
		s->fd = -1;
		/* The first attempt; retries of a link down stay backoff. */
		s->state = TCP_LINK_CONNECTING;
		s->since_ns = mono_ns();
		/* hdlc or len16 (config.c): no gap on a stream */
		ph_rx_init(&s->rx, s->cfg.framing, false, s->rxbuf,
			   PH_PAYLOAD_MAX);
		ret = user_server(s);
		if (ret) {
			error("tcp: %s: cannot add the server: %s", s->cfg.name,
			      strerror(-ret));
			continue;
		}
		t.n++;
		/* Out of service until connected. */
		set_state(s, PERSOHUB_STATE_FAILED);
		tcp_connect(s);
	}
	tcp_rescan();
	return 0;
}

void tcp_fini(void)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct nlmsghdr *nlh;
	unsigned int i;

	for (i = 0; i < t.n; i++) {
		tcp_close(&t.s[i]);
		nlh = phnl_msg(t.nl, buf, PERSOHUB_CMD_USER_SERVER_DEL, 0);
		mnl_attr_put_u32(nlh, PERSOHUB_A_PORT_ID, t.s[i].id);
		phnl_talk(t.nl, nlh, NULL, NULL);
	}
	for (i = 0; i < t.nst; i++)
		close(t.st[i].fd);
	t.n = t.nst = 0;
}

void tcp_tick(void)
{
	unsigned int i;

	for (i = 0; i < t.n; i++)
		if (!t.s[i].up)
			tcp_connect(&t.s[i]);
}

void tcp_server_failed(uint32_t id)
{
	unsigned int i;

	/* A late answer must not pass for the next request's: start over. */
	for (i = 0; i < t.n; i++)
		if (t.s[i].id == id && t.s[i].up) {
			tcp_close(&t.s[i]);
			link_state(&t.s[i], TCP_LINK_BACKOFF,
				   "the kernel marked the server failed");
			t.fig.timeouts++;
		}
}

const struct tcp_figures *tcp_figures(void)
{
	return &t.fig;
}

bool tcp_link(unsigned int i, struct tcp_link *l)
{
	const struct tcp_server *s;

	if (i >= t.n)
		return false;
	s = &t.s[i];
	l->name = s->cfg.name;
	l->host = s->cfg.host;
	l->port = s->cfg.port;
	l->id = s->id;
	l->state = s->state;
	l->since_ns = s->since_ns;
	l->error = s->error;
	return true;
}

const char *tcp_link_state_name(enum tcp_link_state st)
{
	switch (st) {
	case TCP_LINK_CONNECTING:
		return "connecting";
	case TCP_LINK_CONNECTED:
		return "connected";
	case TCP_LINK_BACKOFF:
		return "backoff";
	}
	return "?";
}

static struct tcp_server *by_id(uint32_t id)
{
	unsigned int i;

	for (i = 0; i < t.n; i++)
		if (t.s[i].id == id)
			return &t.s[i];
	return NULL;
}

static void station_readable(int fd)
{
	static struct {
		struct persohub_msg h;
		uint8_t data[PERSOHUB_PAYLOAD_MAX];
	} m;
	static uint8_t enc[PH_FRAMING_ENCODED_MAX(PERSOHUB_PAYLOAD_MAX)];
	struct tcp_server *s;
	ssize_t n;
	size_t off;
	int len;

	while ((n = read(fd, &m, sizeof(m))) > 0) {
		s = by_id(m.h.server_id);
		if (!s || !s->up)
			continue;	/* the kernel's timeout retries it */
		len = ph_framing_encode(s->cfg.framing, false, enc, sizeof(enc),
					m.data, m.h.len);
		if (len < 0)
			continue;	/* never in hdlc or len16 */
		s->busy = true;
		s->req_id = m.h.req_id;
		s->station_fd = fd;
		for (off = 0; off < (size_t)len; ) {
			/* Small frames on a fresh connection: no EAGAIN in
			 * practice; block briefly if the peer is slow.
			 */
			n = send(s->fd, enc + off, len - off, MSG_NOSIGNAL);
			if (n < 0 && errno == EAGAIN)
				continue;
			if (n < 0) {
				link_state(s, TCP_LINK_BACKOFF, strerror(errno));
				tcp_close(s);
				break;
			}
			off += n;
		}
		t.fig.requests++;
	}
	/* No payload left behind in memory. */
	explicit_bzero(&m, sizeof(m));
	explicit_bzero(enc, sizeof(enc));
	if (n < 0 && errno == ENODEV)
		tcp_rescan();	/* the station went away */
}

static void peer_readable(struct tcp_server *s)
{
	static struct {
		struct persohub_msg h;
		uint8_t data[PERSOHUB_PAYLOAD_MAX];
	} r;
	uint8_t buf[4096];
	ssize_t n, i;
	uint16_t len;

	n = read(s->fd, buf, sizeof(buf));
	if (n <= 0) {
		if (n == 0 || (errno != EAGAIN && errno != EINTR)) {
			warn("tcp: %s: connection lost", s->cfg.name);
			link_state(s, TCP_LINK_BACKOFF, n ? strerror(errno) :
				   "connection closed by the peer");
			tcp_close(s);
			set_state(s, PERSOHUB_STATE_FAILED);
		}
		return;
	}
	for (i = 0; i < n; i++) {
		if (ph_rx_feed(&s->rx, buf[i]) != PH_RX_FRAME)
			continue;
		if (!s->busy) {
			t.fig.unexpected++;
			ph_rx_release(&s->rx);
			continue;
		}
		len = ph_rx_payload_len(&s->rx);
		r.h.req_id = s->req_id;
		r.h.server_id = s->id;
		r.h.len = len;
		memcpy(r.data, s->rx.buf, len);
		s->busy = false;
		if (write(s->station_fd, &r, sizeof(r.h) + len) < 0)
			t.fig.refused++;
		else
			t.fig.responses++;
		explicit_bzero(r.data, len);
		ph_rx_release(&s->rx);
	}
	explicit_bzero(buf, n);
}

bool tcp_handle(int fd)
{
	unsigned int i;

	for (i = 0; i < t.n; i++)
		if (t.s[i].fd == fd) {
			peer_readable(&t.s[i]);
			return true;
		}
	for (i = 0; i < t.nst; i++)
		if (t.st[i].fd == fd) {
			station_readable(fd);
			return true;
		}
	return false;
}
