// SPDX-License-Identifier: GPL-2.0
/*
 * phbase: what a site writes without persohub, as well as it can be
 * written, to measure persohub against. Linux's own 8250 driver owns the
 * ports (ttyS, raw termios, receive trigger at one byte); one epoll loop
 * does persohub's framing (the same framer) and persohub's matching: every
 * complete request goes to the server idle the longest, in arrival order,
 * and the answer back to the station that asked. A server that does not
 * answer in time gets the station an empty frame, as persohub's error.
 *
 *   phbase [--timeout-ms N] [--stats FILE] [--realtime PRIO]
 *          --station PORT... --server PORT...
 *
 * --realtime gives it what persohubd gets with realtime = yes in the
 * benchmark: SCHED_FIFO at PRIO and its memory locked.
 * PORT is /dev/ttySN or a card port "<pci address>-<index>" as persohub
 * names it, found through sysfs. Runs until SIGTERM or SIGINT; --stats is
 * written then.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <sched.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/mman.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include "frame.h"

#define MAX_PORTS	64
#define MAX_WAITING	1024
#define OUT_CAP		(8 * PH_ENCODED_MAX(PH_PAYLOAD_MAX))

struct port {
	char name[64];
	int fd;
	bool server;
	struct ph_deframer rx;
	uint8_t rxbuf[PH_DEFRAMER_BUF(PH_PAYLOAD_MAX)];
	uint8_t out[OUT_CAP];
	size_t outlen;
	/* server */
	int serving;		/* station port it works for, -1 if idle */
	uint64_t idle_since, due_ns;
	/* counters */
	uint64_t frames, bad, answers, timeouts, dropped;
};

struct request {
	int station;
	uint16_t len;
	uint8_t data[PH_PAYLOAD_MAX];
};

static struct port ports[MAX_PORTS];
static unsigned int nports;
static struct request *waiting;	/* ring of MAX_WAITING */
static unsigned int whead, wlen;
static uint64_t overflow;
static unsigned int timeout_ms = 10000;
static volatile sig_atomic_t stop;
static int epfd;

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000000ULL + ts.tv_nsec;
}

static void die(const char *what)
{
	fprintf(stderr, "phbase: %s: %s\n", what, strerror(errno));
	exit(1);
}

static long read_num(const char *path, int base)
{
	char buf[64];
	FILE *f = fopen(path, "r");
	long v = -1;

	if (f && fgets(buf, sizeof(buf), f))
		v = strtol(buf, NULL, base);
	if (f)
		fclose(f);
	return v;
}

/* "<pci>-<index>": the ttyS whose I/O port is BAR0 + 8 * index. */
static int find_tty(const char *ident, char *dev, size_t len)
{
	const char *dash = strrchr(ident, '-');
	char path[300], link[PATH_MAX], pci[64];
	unsigned long bar0 = 0, end;
	struct dirent *e;
	FILE *f;
	DIR *dir;
	int idx;

	if (!dash || dash - ident >= (int)sizeof(pci))
		return -1;
	memcpy(pci, ident, dash - ident);
	pci[dash - ident] = '\0';
	idx = atoi(dash + 1);
	snprintf(path, sizeof(path), "/sys/bus/pci/devices/%s/resource", pci);
	f = fopen(path, "r");
	if (!f || fscanf(f, "%lx %lx", &bar0, &end) != 2) {
		if (f)
			fclose(f);
		return -1;
	}
	fclose(f);
	dir = opendir("/sys/class/tty");
	if (!dir)
		return -1;
	while ((e = readdir(dir))) {
		if (strncmp(e->d_name, "ttyS", 4))
			continue;
		/*
		 * Under the card's PCI device: directly (6.1), or through
		 * the serial core's port devices (6.12: .../<pci>/<pci>:0/
		 * <pci>:0.0/tty/ttyS4).
		 */
		snprintf(path, sizeof(path), "/sys/class/tty/%s", e->d_name);
		if (!realpath(path, link))
			continue;
		snprintf(path, sizeof(path), "/%s/", pci);
		if (!strstr(link, path))
			continue;
		snprintf(path, sizeof(path), "/sys/class/tty/%s/port",
			 e->d_name);
		if (read_num(path, 16) != (long)(bar0 + 8 * idx))
			continue;
		snprintf(dev, len, "/dev/%s", e->d_name);
		closedir(dir);
		return 0;
	}
	closedir(dir);
	return -1;
}

static void port_open(const char *arg, bool server)
{
	struct port *p = &ports[nports];
	struct epoll_event ev = { .events = EPOLLIN };
	char dev[300], path[350];
	struct termios t;
	FILE *f;

	if (nports == MAX_PORTS) {
		fprintf(stderr, "phbase: too many ports\n");
		exit(2);
	}
	if (!strncmp(arg, "/dev/", 5))
		snprintf(dev, sizeof(dev), "%s", arg);
	else if (find_tty(arg, dev, sizeof(dev))) {
		fprintf(stderr, "phbase: %s: no ttyS for that port\n", arg);
		exit(2);
	}
	snprintf(p->name, sizeof(p->name), "%s", arg);
	p->fd = open(dev, O_RDWR | O_NOCTTY | O_NONBLOCK | O_CLOEXEC);
	if (p->fd < 0)
		die(dev);
	if (tcgetattr(p->fd, &t))
		die(dev);
	cfmakeraw(&t);
	cfsetspeed(&t, B115200);
	t.c_cflag |= CLOCAL | CREAD;
	t.c_cc[VMIN] = 1;
	t.c_cc[VTIME] = 0;
	if (tcsetattr(p->fd, TCSANOW, &t))
		die(dev);
	tcflush(p->fd, TCIOFLUSH);
	/* An interrupt per byte, as persohub: no wait for the FIFO timeout. */
	snprintf(path, sizeof(path), "/sys/class/tty/%s/rx_trig_bytes",
		 dev + 5);
	f = fopen(path, "w");
	if (f) {
		fputs("1\n", f);
		fclose(f);
	}
	ph_deframer_init(&p->rx, p->rxbuf, PH_PAYLOAD_MAX);
	p->server = server;
	p->serving = -1;
	p->idle_since = now_ns();
	ev.data.u32 = nports;
	if (epoll_ctl(epfd, EPOLL_CTL_ADD, p->fd, &ev))
		die("epoll");
	nports++;
}

static void want_out(struct port *p, bool on)
{
	struct epoll_event ev = {
		.events = EPOLLIN | (on ? EPOLLOUT : 0),
		.data.u32 = p - ports,
	};

	epoll_ctl(epfd, EPOLL_CTL_MOD, p->fd, &ev);
}

static void flush(struct port *p)
{
	ssize_t n;

	while (p->outlen) {
		n = write(p->fd, p->out, p->outlen);
		if (n <= 0)
			break;
		memmove(p->out, p->out + n, p->outlen - n);
		p->outlen -= n;
	}
	want_out(p, p->outlen);
}

static void send_frame(struct port *p, const uint8_t *d, size_t len)
{
	size_t was = p->outlen;

	if (p->outlen + PH_ENCODED_MAX(len) > OUT_CAP) {
		p->dropped++;
		return;
	}
	p->outlen += ph_frame_encode(p->out + p->outlen, d, len);
	if (!was)
		flush(p);
}

static struct port *idle_server(void)
{
	struct port *best = NULL;
	unsigned int i;

	for (i = 0; i < nports; i++)
		if (ports[i].server && ports[i].serving < 0 &&
		    (!best || ports[i].idle_since < best->idle_since))
			best = &ports[i];
	return best;
}

static void dispatch(void)
{
	struct request *r;
	struct port *s;

	while (wlen && (s = idle_server())) {
		r = &waiting[whead];
		s->serving = r->station;
		s->due_ns = now_ns() + timeout_ms * 1000000ULL;
		send_frame(s, r->data, r->len);
		whead = (whead + 1) % MAX_WAITING;
		wlen--;
	}
}

static void server_done(struct port *s)
{
	s->serving = -1;
	s->idle_since = now_ns();
	dispatch();
}

static void on_frame(struct port *p, const uint8_t *d, uint16_t len)
{
	struct request *r;

	p->frames++;
	if (!p->server) {
		if (!len)
			return;
		if (wlen == MAX_WAITING) {
			overflow++;
			send_frame(p, NULL, 0);
			return;
		}
		r = &waiting[(whead + wlen) % MAX_WAITING];
		r->station = p - ports;
		r->len = len;
		memcpy(r->data, d, len);
		wlen++;
		dispatch();
		return;
	}
	if (p->serving < 0) {
		p->bad++;	/* an answer nobody asked for */
		return;
	}
	send_frame(&ports[p->serving], d, len);
	p->answers++;
	server_done(p);
}

static void on_input(struct port *p)
{
	uint8_t buf[4096];
	ssize_t n, i;

	while ((n = read(p->fd, buf, sizeof(buf))) > 0) {
		for (i = 0; i < n; i++) {
			switch (ph_deframer_feed(&p->rx, buf[i])) {
			case PH_RX_FRAME:
				on_frame(p, p->rx.buf,
					 ph_deframer_payload_len(&p->rx));
				break;
			case PH_RX_NONE:
				break;
			default:
				p->bad++;
			}
		}
	}
}

/* Servers past their time: the station gets an empty frame. */
static int check_timeouts(void)
{
	uint64_t now = now_ns(), next = UINT64_MAX;
	unsigned int i;

	for (i = 0; i < nports; i++) {
		struct port *s = &ports[i];

		if (!s->server || s->serving < 0)
			continue;
		if (now >= s->due_ns) {
			send_frame(&ports[s->serving], NULL, 0);
			s->timeouts++;
			server_done(s);
		} else if (s->due_ns < next) {
			next = s->due_ns;
		}
	}
	return next == UINT64_MAX ? -1 : (int)((next - now) / 1000000 + 1);
}

static void on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

int main(int argc, char **argv)
{
	static const struct option lo[] = {
		{ "station", 1, 0, 'c' }, { "server", 1, 0, 's' },
		{ "timeout-ms", 1, 0, 't' }, { "stats", 1, 0, 'o' },
		{ "realtime", 1, 0, 'r' }, { "help", 0, 0, 'h' }, { }
	};
	struct sched_param sp = { 0 };
	struct epoll_event evs[64];
	const char *stats = NULL;
	unsigned int i;
	int c, n;
	FILE *f;

	epfd = epoll_create1(EPOLL_CLOEXEC);
	waiting = calloc(MAX_WAITING, sizeof(*waiting));
	if (epfd < 0 || !waiting)
		die("setup");
	while ((c = getopt_long(argc, argv, "h", lo, NULL)) != -1) {
		switch (c) {
		case 'c': port_open(optarg, false); break;
		case 's': port_open(optarg, true); break;
		case 't': timeout_ms = atoi(optarg); break;
		case 'o': stats = optarg; break;
		case 'r': sp.sched_priority = atoi(optarg); break;
		default:
			fprintf(c == 'h' ? stdout : stderr,
				"usage: phbase [--timeout-ms N] [--stats FILE] "
				"[--realtime PRIO] --station PORT... "
				"--server PORT...\n");
			return c == 'h' ? 0 : 2;
		}
	}
	/* As persohubd with realtime = yes: locked in memory, SCHED_FIFO. */
	if (sp.sched_priority &&
	    (mlockall(MCL_CURRENT | MCL_FUTURE) ||
	     sched_setscheduler(0, SCHED_FIFO, &sp)))
		die("realtime");
	signal(SIGTERM, on_signal);
	signal(SIGINT, on_signal);
	while (!stop) {
		n = epoll_wait(epfd, evs, 64, check_timeouts());
		for (c = 0; c < n; c++) {
			struct port *p = &ports[evs[c].data.u32];

			if (evs[c].events & EPOLLOUT)
				flush(p);
			if (evs[c].events & (EPOLLIN | EPOLLERR | EPOLLHUP))
				on_input(p);
		}
	}
	if (stats && (f = fopen(stats, "w"))) {
		for (i = 0; i < nports; i++)
			fprintf(f, "%s %s frames %llu answers %llu bad %llu "
				"timeouts %llu dropped %llu\n",
				ports[i].server ? "server" : "station",
				ports[i].name,
				(unsigned long long)ports[i].frames,
				(unsigned long long)ports[i].answers,
				(unsigned long long)ports[i].bad,
				(unsigned long long)ports[i].timeouts,
				(unsigned long long)ports[i].dropped);
		fprintf(f, "overflow %llu\n", (unsigned long long)overflow);
		fclose(f);
	}
	return 0;
}
