// SPDX-License-Identifier: GPL-2.0
/*
 * sitesim against a small fake hub, on the host: the hub listens on the
 * port sockets as QEMU does (--sockdir), takes the stations' requests in
 * each station's framing, hands them to an idle server in that server's
 * framing, and brings the answer back in the station's, decoding and
 * encoding with kmod/framing.c. sitesim's own checks then prove that
 * stations and servers of different framings understand each other, and
 * the hub's counts of bad frames must equal what sitesim says it injected
 * (PORT.inj_*).
 *
 * The hub: first come first served, one request per station at a time (so
 * a station's answers come in order), the least recently used idle server,
 * a server that does not answer in time is failed for good and its request
 * goes to another, a server settles a while after each answer (a second
 * answer is counted as unexpected). Gap time 10 ms on receive; frames to a
 * gap port 40 ms apart (sitesim's gap: 20 ms).
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "framing.h"
#include "kselftest_harness.h"

#define MS			1000000ULL
#define HUB_RX_GAP_NS		(10 * MS)
#define HUB_TX_GAP_NS		(40 * MS)
#define SERVER_TIMEOUT_NS	(150 * MS)
#define SETTLE_NS		(60 * MS)
#define MAX_TRIES		6
#define MAX_HPORTS		24
#define MAX_HELD		8
#define RUN_NS			(25000 * MS)

struct hreq {
	struct hport *st;
	uint8_t *data;
	uint16_t len;
	int tries;
	struct hreq *next;
};

struct hport {
	char name[8];
	bool station;
	enum ph_framing framing;
	bool lrc;
	int lfd, fd;
	struct ph_rx rx;
	uint8_t rxbuf[PH_RX_BUF(PH_PAYLOAD_MAX)];
	uint64_t rx_last;
	/* gap ports: frames wait for the silence after the previous one */
	uint64_t quiet_at;
	uint8_t *held[MAX_HELD];
	size_t heldlen[MAX_HELD];
	unsigned int nheld;
	/* station */
	bool in_service;
	/* server */
	struct hreq *req;
	uint64_t deadline, settle_until, last_used;
	bool failed;
	/* counts */
	uint64_t ev[__PH_RX_MAX], frames, unexpected;
};

struct hub {
	struct hport port[MAX_HPORTS];
	unsigned int n;
	struct hreq *queue;
	uint64_t pairs[__PH_FRAMING_MAX][__PH_FRAMING_MAX];	/* st, sv */
	char dir[64], kv[96];
	/* created this long after hub_run() starts, if set */
	char stop_file[96];
	uint64_t stop_after_ns;
};

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000000ULL + ts.tv_nsec;
}

/* "stx-etx:lrc" and the like (no gap=: sitesim's default is assumed). */
static int spec_parse(const char *spec, enum ph_framing *f, bool *lrc)
{
	char buf[32], *colon;
	int v;

	snprintf(buf, sizeof(buf), "%s", spec);
	colon = strchr(buf, ':');
	*lrc = colon && !strcmp(colon, ":lrc");
	if (colon)
		*colon = '\0';
	v = ph_framing_parse(buf);
	if (v < 0)
		return -1;
	*f = v;
	return 0;
}

static int hub_listen(struct hub *h, struct hport *p)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };

	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s/%s", h->dir, p->name);
	p->lfd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (p->lfd < 0 || bind(p->lfd, (struct sockaddr *)&sa, sizeof(sa)) ||
	    listen(p->lfd, 2))
		return -1;
	p->fd = -1;
	return 0;
}

static void hub_write(struct hport *p, const uint8_t *b, size_t n)
{
	ssize_t w;

	while (n && p->fd >= 0) {
		w = write(p->fd, b, n);
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0) {
			if (errno == EAGAIN) {
				usleep(100);
				continue;
			}
			return;
		}
		b += w;
		n -= w;
	}
}

/* A payload to @p in its framing; gap frames kept HUB_TX_GAP_NS apart. */
static void hub_send(struct hport *p, const uint8_t *d, size_t len)
{
	uint8_t enc[PH_FRAMING_ENCODED_MAX(PH_PAYLOAD_MAX)];
	int n = ph_framing_encode(p->framing, p->lrc, enc, sizeof(enc), d, len);

	if (n <= 0)	/* an empty gap frame is nothing on the wire */
		return;
	if (p->framing != PH_FRAMING_GAP) {
		hub_write(p, enc, n);
		return;
	}
	if (!p->nheld && now_ns() >= p->quiet_at) {
		hub_write(p, enc, n);
		p->quiet_at = now_ns() + HUB_TX_GAP_NS;
		return;
	}
	if (p->nheld == MAX_HELD)
		return;
	p->held[p->nheld] = malloc(n);
	memcpy(p->held[p->nheld], enc, n);
	p->heldlen[p->nheld++] = n;
}

static void hub_release(struct hport *p, uint64_t now)
{
	if (!p->nheld || now < p->quiet_at)
		return;
	hub_write(p, p->held[0], p->heldlen[0]);
	free(p->held[0]);
	memmove(p->held, p->held + 1, --p->nheld * sizeof(p->held[0]));
	memmove(p->heldlen, p->heldlen + 1, p->nheld * sizeof(p->heldlen[0]));
	p->quiet_at = now + HUB_TX_GAP_NS;
}

static void req_free(struct hreq *r)
{
	free(r->data);
	free(r);
}

static void dispatch(struct hub *h, uint64_t now)
{
	struct hreq **pp = &h->queue, *r;
	struct hport *sv;
	unsigned int i;

	while ((r = *pp)) {
		sv = NULL;
		if (!r->st->in_service) {
			for (i = 0; i < h->n; i++) {
				struct hport *p = &h->port[i];

				if (p->station || p->fd < 0 || p->req ||
				    p->failed || now < p->settle_until)
					continue;
				if (!sv || p->last_used < sv->last_used)
					sv = p;
			}
			if (!sv)
				return;
		}
		if (!sv) {
			pp = &r->next;
			continue;
		}
		*pp = r->next;
		r->st->in_service = true;
		sv->req = r;
		sv->deadline = now + SERVER_TIMEOUT_NS;
		sv->last_used = now;
		hub_send(sv, r->data, r->len);
	}
}

static void frame_in(struct hub *h, struct hport *p)
{
	uint16_t len = ph_rx_payload_len(&p->rx);
	struct hreq *r, **pp;

	p->frames++;
	if (p->station) {
		r = calloc(1, sizeof(*r));
		r->st = p;
		r->len = len;
		r->data = malloc(len + 1);
		memcpy(r->data, p->rx.buf, len);
		for (pp = &h->queue; *pp; pp = &(*pp)->next)
			;
		*pp = r;
		return;
	}
	r = p->req;
	if (!r) {
		p->unexpected++;
		return;
	}
	h->pairs[r->st->framing][p->framing]++;
	hub_send(r->st, p->rx.buf, len);
	r->st->in_service = false;
	p->req = NULL;
	p->settle_until = now_ns() + SETTLE_NS;
	req_free(r);
}

static void rx_event(struct hub *h, struct hport *p, int ev)
{
	if (ev == PH_RX_FRAME) {
		frame_in(h, p);
		ph_rx_release(&p->rx);
	} else if (ev != PH_RX_NONE) {
		p->ev[ev]++;
	}
}

static void hub_timeouts(struct hub *h, uint64_t now)
{
	struct hreq *r;
	unsigned int i;

	for (i = 0; i < h->n; i++) {
		struct hport *p = &h->port[i];

		if (p->fd >= 0 && ph_rx_mid_frame(&p->rx) &&
		    now >= p->rx_last + HUB_RX_GAP_NS)
			rx_event(h, p, ph_rx_gap(&p->rx));
		hub_release(p, now);
		r = p->req;
		if (p->station || !r || now < p->deadline)
			continue;
		/* Failed for good; the request goes again, first in line. */
		p->failed = true;
		p->req = NULL;
		if (++r->tries > MAX_TRIES) {
			hub_send(r->st, NULL, 0);	/* the error frame */
			r->st->in_service = false;
			req_free(r);
			continue;
		}
		r->st->in_service = false;
		r->next = h->queue;
		h->queue = r;
	}
}

static void port_read(struct hub *h, struct hport *p)
{
	uint8_t buf[4096];
	ssize_t n = read(p->fd, buf, sizeof(buf));
	ssize_t i;

	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n <= 0) {
		close(p->fd);
		p->fd = -1;
		ph_rx_reset(&p->rx);
		return;
	}
	for (i = 0; i < n; i++)
		rx_event(h, p, ph_rx_feed(&p->rx, buf[i]));
	p->rx_last = now_ns();
}

/* Serve until sitesim exits; its exit status, or -1. */
static int hub_run(struct hub *h, pid_t pid)
{
	struct pollfd pfd[2 * MAX_HPORTS];
	uint64_t start = now_ns(), end = start + RUN_NS;
	unsigned int i, k;
	int status, fd;

	for (;;) {
		if (h->stop_after_ns && now_ns() > start + h->stop_after_ns) {
			close(open(h->stop_file, O_CREAT | O_WRONLY, 0644));
			h->stop_after_ns = 0;
		}
		if (waitpid(pid, &status, WNOHANG) == pid)
			return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
		if (now_ns() > end) {
			kill(pid, SIGKILL);
			waitpid(pid, &status, 0);
			return -1;
		}
		for (i = 0, k = 0; i < h->n; i++) {
			pfd[k].fd = h->port[i].lfd;
			pfd[k++].events = POLLIN;
			pfd[k].fd = h->port[i].fd;
			pfd[k++].events = POLLIN;
		}
		poll(pfd, k, 2);
		for (i = 0; i < h->n; i++) {
			struct hport *p = &h->port[i];

			if (pfd[2 * i].revents & POLLIN) {
				fd = accept4(p->lfd, NULL, NULL,
					     SOCK_NONBLOCK | SOCK_CLOEXEC);
				if (fd >= 0) {
					/* A line dropped and dialled again. */
					if (p->fd >= 0)
						close(p->fd);
					p->fd = fd;
					ph_rx_reset(&p->rx);
					p->rx_last = now_ns();
					continue;
				}
			}
			if (p->fd >= 0 &&
			    (pfd[2 * i + 1].revents & (POLLIN | POLLHUP)))
				port_read(h, p);
		}
		hub_timeouts(h, now_ns());
		dispatch(h, now_ns());
	}
}

static long long kv_get(const char *file, const char *key)
{
	char line[256], k[128];
	long long v;
	FILE *f = fopen(file, "r");

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f)) {
		if (sscanf(line, "%127s %lld", k, &v) == 2 && !strcmp(k, key)) {
			fclose(f);
			return v;
		}
	}
	fclose(f);
	return -1;
}

static long long port_kv(struct hub *h, const struct hport *p,
			 const char *what)
{
	char key[64];

	snprintf(key, sizeof(key), "%s.%s", p->name, what);
	return kv_get(h->kv, key);
}

struct site_port {
	const char *name;
	bool station;
	const char *framing;
};

FIXTURE(loop) {
	struct hub h;
};

FIXTURE_VARIANT(loop) {
	const struct site_port *ports;
	const char *args;	/* sitesim's, beyond ports and framings */
	bool faults;		/* bad frames must have been injected */
	/* --service-dist uniform: every service time from 2/3 to 4/3 of it */
	unsigned int uniform_us;
};

/* Every framing; stx-etx makes every payload text. */
static const struct site_port text_site[] = {
	{ "c0p0", true, "hdlc" }, { "c0p1", true, "stx-etx:lrc" },
	{ "c0p2", true, "stx-len" }, { "c0p3", true, "len16" },
	{ "c1p0", true, "gap" }, { "c1p1", true, "stx-etx" },
	{ "c2p0", false, "gap" }, { "c2p1", false, "stx-etx" },
	{ "c2p2", false, "hdlc" }, { "c2p3", false, "len16" },
	{ "c3p0", false, "stx-len" }, { "c3p1", false, "stx-etx:lrc" },
	{ }
};

FIXTURE_VARIANT_ADD(loop, text_every_framing) {
	.ports = text_site,
	.args = "--requests 25 --service-us 300 --size 16 --size-max 200",
};

/* No stx-etx: binary payloads, every byte value, across framings. */
static const struct site_port binary_site[] = {
	{ "c0p0", true, "hdlc" }, { "c0p1", true, "stx-len" },
	{ "c0p2", true, "len16" }, { "c0p3", true, "gap" },
	{ "c1p0", false, "gap" }, { "c1p1", false, "len16" },
	{ "c1p2", false, "stx-len" }, { "c1p3", false, "hdlc" },
	{ }
};

FIXTURE_VARIANT_ADD(loop, binary_every_framing) {
	.ports = binary_site,
	.args = "--requests 25 --service-us 300 --size 10 --size-max 600",
};

/* Service times drawn uniformly, as the benchmark's fast servers. */
static const struct site_port uniform_site[] = {
	{ "c0p0", true, "hdlc" }, { "c0p1", true, "len16" },
	{ "c0p2", true, "hdlc" }, { "c0p3", true, "len16" },
	{ "c1p0", false, "len16" }, { "c1p1", false, "hdlc" },
	{ "c1p2", false, "len16" }, { "c1p3", false, "hdlc" },
	{ }
};

FIXTURE_VARIANT_ADD(loop, uniform_service) {
	.ports = uniform_site,
	.args = "--requests 30 --service-us 1500 --service-dist uniform"
		" --size 16",
	.uniform_us = 1500,
};

/*
 * Noise on a station of each framing, damaged requests where a framing can
 * tell, a reconnecting line, a burst on a gap line; servers answering
 * garbage, cut or twice, or not at all, two of them good.
 */
static const struct site_port fault_site[] = {
	{ "c0p0", true, "hdlc" }, { "c0p1", true, "stx-etx:lrc" },
	{ "c0p2", true, "stx-len" }, { "c0p3", true, "len16" },
	{ "c1p0", true, "gap" }, { "c1p1", true, "stx-etx" },
	{ "c1p2", true, "hdlc" }, { "c1p3", true, "len16" },
	{ "c2p0", false, "hdlc" }, { "c2p1", false, "stx-etx:lrc" },
	{ "c2p2", false, "stx-etx" }, { "c2p3", false, "stx-len" },
	{ "c3p0", false, "len16" }, { "c3p1", false, "gap" },
	{ "c3p2", false, "stx-len" }, { "c3p3", false, "len16" },
	{ "c4p0", false, "stx-etx" }, { "c4p1", false, "gap" },
	{ "c4p2", false, "hdlc" },
	{ }
};

FIXTURE_VARIANT_ADD(loop, faults_every_framing) {
	.ports = fault_site,
	.args = "--requests 12 --service-us 300 --size 16 --size-max 100"
		" --noise c0p0 --noise c0p1 --noise c0p2 --noise c0p3"
		" --noise c1p0 --burst c1p0=4"
		" --biterr c1p1 --biterr c1p2 --biterr c1p3 --biterr c0p1"
		" --biterr c0p2 --reconnect c0p3"
		" --server-mode c2p0=garbage --server-mode c2p1=garbage"
		" --server-mode c2p2=garbage --server-mode c2p3=garbage"
		" --server-mode c3p0=garbage --server-mode c3p1=garbage"
		" --server-mode c4p0=truncate --server-mode c3p3=truncate"
		" --server-mode c3p2=dup --server-mode c4p1=dup"
		" --server-mode c4p2=flap:2",
	.faults = true,
};

/* The fake hub listening on the sockets of @ports, in a new directory. */
static void hub_open(struct __test_metadata *_metadata, struct hub *h,
		     const struct site_port *ports)
{
	const struct site_port *sp;
	struct hport *p;

	memset(h, 0, sizeof(*h));
	snprintf(h->dir, sizeof(h->dir), "/tmp/sitesim-loop.XXXXXX");
	ASSERT_NE(NULL, mkdtemp(h->dir));
	snprintf(h->kv, sizeof(h->kv), "%s/kv", h->dir);
	for (sp = ports; sp->name; sp++) {
		p = &h->port[h->n++];
		snprintf(p->name, sizeof(p->name), "%s", sp->name);
		p->station = sp->station;
		ASSERT_EQ(0, spec_parse(sp->framing, &p->framing, &p->lrc));
		ASSERT_EQ(0, ph_rx_init(&p->rx, p->framing, p->lrc, p->rxbuf,
					PH_PAYLOAD_MAX));
		ASSERT_EQ(0, hub_listen(h, p)) TH_LOG("%s: %s", p->name,
						      strerror(errno));
	}
}

/* The directory and what a test may have left in it. */
static void hub_close(struct hub *h)
{
	static const char *const extra[] = {
		"kv", "trace", "kv2", "stop", "stop2"
	};
	char path[128];
	unsigned int i;

	for (i = 0; i < h->n; i++) {
		snprintf(path, sizeof(path), "%s/%s", h->dir, h->port[i].name);
		unlink(path);
	}
	for (i = 0; i < sizeof(extra) / sizeof(extra[0]); i++) {
		snprintf(path, sizeof(path), "%s/%s", h->dir, extra[i]);
		unlink(path);
	}
	rmdir(h->dir);
}

FIXTURE_SETUP(loop)
{
	hub_open(_metadata, &self->h, variant->ports);
}

FIXTURE_TEARDOWN(loop)
{
	hub_close(&self->h);
}

/*
 * The service times of the trace (its sixth column, us): all from 2/3 to
 * 4/3 of @mean, some in each outer quarter of that range, so that they
 * are spread and not a constant.
 */
static void check_uniform(struct __test_metadata *_metadata,
			  const struct hub *h, unsigned int mean)
{
	unsigned long long st, sv, sent, in, done, svc;
	unsigned int n = 0, lo = 0, hi = 0;
	char path[128], line[256];
	FILE *f;

	snprintf(path, sizeof(path), "%s/trace", h->dir);
	f = fopen(path, "r");
	ASSERT_NE(NULL, f);
	while (fgets(line, sizeof(line), f)) {
		if (line[0] == '#')
			continue;
		if (sscanf(line, "%llu %llu %llu %llu %llu %llu", &st, &sv,
			   &sent, &in, &done, &svc) != 6)
			continue;
		n++;
		EXPECT_LE(mean * 2 / 3, svc);
		EXPECT_GE(mean * 4 / 3, svc);
		lo += svc < mean * 5 / 6;
		hi += svc > mean * 7 / 6;
	}
	fclose(f);
	EXPECT_LT(100, n);
	EXPECT_LT(0, lo);
	EXPECT_LT(0, hi);
}

/* build/sitesim, beside this test. */
static void sitesim_path(char *buf, size_t len)
{
	char self[PATH_MAX - 16], *slash;
	ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);

	self[n > 0 ? n : 0] = '\0';
	slash = strrchr(self, '/');
	if (slash)
		*slash = '\0';
	snprintf(buf, len, "%s/sitesim", self);
}

/* sitesim with the words of @cmd (changed), its output to /dev/null. */
static pid_t sim_spawn(const char *sim, char *cmd)
{
	char *argv[256], *save = NULL, *tok;
	unsigned int argc = 0;
	pid_t pid;

	for (tok = strtok_r(cmd, " ", &save); tok && argc < 255;
	     tok = strtok_r(NULL, " ", &save))
		argv[argc++] = tok;
	argv[argc] = NULL;
	pid = fork();
	if (!pid) {
		int null = open("/dev/null", O_WRONLY);

		dup2(null, STDOUT_FILENO);
		execv(sim, argv);
		_exit(127);
	}
	return pid;
}

TEST_F(loop, payloads_cross_framings)
{
	char cmd[4096], sim[PATH_MAX], dup[16];
	const struct hub *h = &self->h;
	unsigned int i, f, g;
	uint64_t inj_total = 0;
	size_t off;
	pid_t pid;
	int rc;

	sitesim_path(sim, sizeof(sim));
	ASSERT_EQ(0, access(sim, X_OK)) TH_LOG("%s: build it first", sim);
	off = snprintf(cmd, sizeof(cmd), "%s --sockdir %s --kv %s --seed 7 "
		       "--max-seconds 20 --connect-timeout 5 --trace %s/trace %s",
		       sim, h->dir, h->kv, h->dir, variant->args);
	for (i = 0; i < h->n; i++)
		off += snprintf(cmd + off, sizeof(cmd) - off, " --%s %s "
				"--framing %s=%s", h->port[i].station ?
				"stations" : "servers", h->port[i].name,
				h->port[i].name, variant->ports[i].framing);
	ASSERT_LT(off, sizeof(cmd));
	pid = sim_spawn(sim, cmd);
	ASSERT_LE(0, pid);
	rc = hub_run(&self->h, pid);
	ASSERT_EQ(0, rc) TH_LOG("sitesim failed: not every station got its "
				"own answer");
	EXPECT_EQ(0, kv_get(h->kv, "total.wrong"));
	EXPECT_EQ(0, kv_get(h->kv, "total.late"));
	EXPECT_LT(0, kv_get(h->kv, "total.ok"));

	for (i = 0; i < h->n; i++) {
		const struct hport *p = &h->port[i];

		/* Each bad frame injected is the one the hub counted. */
		EXPECT_EQ(port_kv(&self->h, p, "inj_bad_fcs"),
			  p->ev[PH_RX_BAD_FCS]) TH_LOG("%s bad FCS", p->name);
		EXPECT_EQ(port_kv(&self->h, p, "inj_bad_lrc"),
			  p->ev[PH_RX_BAD_LRC]) TH_LOG("%s bad LRC", p->name);
		EXPECT_EQ(port_kv(&self->h, p, "inj_truncated"),
			  p->ev[PH_RX_TRUNCATED]) TH_LOG("%s truncated",
							 p->name);
		EXPECT_EQ(port_kv(&self->h, p, "inj_too_long"),
			  p->ev[PH_RX_TOO_LONG]) TH_LOG("%s too long", p->name);
		EXPECT_EQ(0, p->ev[PH_RX_TOO_SHORT] + p->ev[PH_RX_ABORT] +
			  p->ev[PH_RX_BAD_LEN]) TH_LOG("%s other", p->name);
		/* Nothing the hub sent was a bad frame for sitesim. */
		EXPECT_EQ(0, port_kv(&self->h, p, "bad_frames"))
			TH_LOG("%s", p->name);
		inj_total += p->ev[PH_RX_BAD_FCS] + p->ev[PH_RX_BAD_LRC] +
			     p->ev[PH_RX_TRUNCATED] + p->ev[PH_RX_TOO_LONG];
		if (p->station) {
			/* Each intact request arrived as one frame. */
			EXPECT_EQ(port_kv(&self->h, p, "sent") -
				  port_kv(&self->h, p, "corrupted"), p->frames)
				TH_LOG("%s requests", p->name);
			if (variant->faults && strstr(variant->args, p->name))
				EXPECT_LT(0, port_kv(&self->h, p, "noise") +
					  port_kv(&self->h, p, "corrupted") +
					  port_kv(&self->h, p, "reconnects"))
					TH_LOG("%s: no fault", p->name);
			continue;
		}
		/* A second answer is what the hub did not expect. */
		snprintf(dup, sizeof(dup), "%s=dup", p->name);
		EXPECT_EQ(strstr(variant->args, dup) ?
			  port_kv(&self->h, p, "garbage") : 0, p->unexpected)
			TH_LOG("%s unexpected frames", p->name);
	}
	if (variant->uniform_us)
		check_uniform(_metadata, h, variant->uniform_us);
	/* (The harness's EXPECT_* are statements that take no else.) */
	EXPECT_EQ(variant->faults, inj_total > 20);
	if (!variant->faults)
		EXPECT_EQ(0, inj_total);

	/*
	 * Each framing in use was served by, and served, another: what
	 * crossed is the payload, whatever the framings.
	 */
	for (f = 0; f < __PH_FRAMING_MAX; f++) {
		uint64_t as_st = 0, as_sv = 0, used_st = 0, used_sv = 0;

		for (g = 0; g < __PH_FRAMING_MAX; g++) {
			used_st += h->pairs[f][g];
			used_sv += h->pairs[g][f];
			if (g != f) {
				as_st += h->pairs[f][g];
				as_sv += h->pairs[g][f];
			}
		}
		if (used_st)
			EXPECT_LT(0, as_st) TH_LOG("stations in %s",
						   ph_framing_name(f));
		if (used_sv)
			EXPECT_LT(0, as_sv) TH_LOG("servers in %s",
						   ph_framing_name(f));
	}
}

/*
 * Stations in one run, servers in another (as on two hubs): the servers'
 * run, with no station, answers until the stop file comes, and its
 * answers are right for the stations because both have the same --key
 * (their seeds differ). The stations send until their own stop file,
 * then wait for what is outstanding.
 */
static const struct site_port split_site[] = {
	{ "c0p0", true, "hdlc" }, { "c0p1", true, "hdlc" },
	{ "c0p2", true, "hdlc" }, { "c1p0", false, "hdlc" },
	{ "c1p1", false, "hdlc" },
	{ }
};

FIXTURE(split) {
	struct hub h;
};

FIXTURE_SETUP(split)
{
	hub_open(_metadata, &self->h, split_site);
}

FIXTURE_TEARDOWN(split)
{
	hub_close(&self->h);
}

TEST_F(split, servers_alone_until_stop_file)
{
	char cmd[PATH_MAX + 1024], sim[PATH_MAX], kv2[128], stop2[128];
	struct hub *h = &self->h;
	long long answered;
	pid_t spid, pid;
	int rc, status, i;

	sitesim_path(sim, sizeof(sim));
	ASSERT_EQ(0, access(sim, X_OK)) TH_LOG("%s: build it first", sim);
	snprintf(h->stop_file, sizeof(h->stop_file), "%s/stop", h->dir);
	snprintf(kv2, sizeof(kv2), "%s/kv2", h->dir);
	snprintf(stop2, sizeof(stop2), "%s/stop2", h->dir);
	snprintf(cmd, sizeof(cmd), "%s --sockdir %s --kv %s --seed 11 "
		 "--key 0x5eed --max-seconds 20 --connect-timeout 5 "
		 "--servers c1p0,c1p1 --service-us 2000 --stop-file %s",
		 sim, h->dir, kv2, stop2);
	spid = sim_spawn(sim, cmd);
	ASSERT_LE(0, spid);
	snprintf(cmd, sizeof(cmd), "%s --sockdir %s --kv %s --seed 12 "
		 "--key 0x5eed --max-seconds 20 --connect-timeout 5 "
		 "--stations c0p0-c0p2 --size 16 --stop-file %s",
		 sim, h->dir, h->kv, h->stop_file);
	pid = sim_spawn(sim, cmd);
	ASSERT_LE(0, pid);
	h->stop_after_ns = 1500 * MS;
	rc = hub_run(h, pid);
	/* The servers' run was not over before the stop file. */
	ASSERT_EQ(0, waitpid(spid, &status, WNOHANG))
		TH_LOG("the servers' run ended first: %#x", status);
	close(open(stop2, O_CREAT | O_WRONLY, 0644));
	for (i = 0; i < 100 && waitpid(spid, &status, WNOHANG) != spid; i++)
		usleep(50000);
	if (i == 100) {
		kill(spid, SIGKILL);
		waitpid(spid, &status, 0);
	}
	ASSERT_LT(i, 100) TH_LOG("the servers' run did not end");
	ASSERT_EQ(0, rc) TH_LOG("not every station got its own answer");
	EXPECT_TRUE(WIFEXITED(status) && !WEXITSTATUS(status));
	EXPECT_EQ(0, kv_get(h->kv, "total.wrong"));
	EXPECT_EQ(0, kv_get(h->kv, "total.late"));
	EXPECT_EQ(0, kv_get(h->kv, "total.timeouts"));
	/* Well past one request a station: sending went on until stopped. */
	EXPECT_LT(20, kv_get(h->kv, "total.ok"));
	EXPECT_EQ(kv_get(h->kv, "total.sent"), kv_get(h->kv, "total.ok"));
	answered = kv_get(kv2, "c1p0.answered") + kv_get(kv2, "c1p1.answered");
	EXPECT_EQ(kv_get(h->kv, "total.ok"), answered);
	EXPECT_LT(0, kv_get(kv2, "c1p0.answered"));
	EXPECT_LT(0, kv_get(kv2, "c1p1.answered"));
}

TEST_HARNESS_MAIN
