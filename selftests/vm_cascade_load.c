// SPDX-License-Identifier: GPL-2.0
/*
 * The two-machine cascade test's load and servers (selftests/vm_cascade_pair.sh),
 * on remote station devices and userspace servers of the hub it runs on:
 *
 *   vm_cascade_load serve PREFIX DELAY_MS NAME...
 *       userspace servers NAME... answering each request with PREFIX and
 *       the request, DELAY_MS after it came (the service time), until
 *       SIGTERM; "served N" then.
 *   vm_cascade_load load DEPTH PROGRESS STOP STATION...
 *       stations STATION... (remote station devices), each keeping DEPTH
 *       requests in flight, each request unique; every answer checked
 *       (status 0, PREFIX + its own request, once); PROGRESS rewritten
 *       with "answered N" and a line per PREFIX ("by_A N") as answers
 *       come; once the file STOP exists, no new request, the ones in
 *       flight awaited (60 s at most). Exit 0 if every request was
 *       answered once and right.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "phnl.h"

#define MAX_PORTS	8
#define MAX_TAGS	(1 << 16)

struct msg {
	struct persohub_msg h;
	uint8_t data[PERSOHUB_PAYLOAD_MAX];
};

static struct phnl nl;
static volatile sig_atomic_t stop;

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000ULL + ts.tv_nsec / 1000000;
}

static void on_term(int sig)
{
	(void)sig;
	stop = 1;
}

static int id_cb(const struct phnl_attrs *at, void *data)
{
	*(uint32_t *)data = phnl_u32(at, PERSOHUB_A_PORT_ID, 0);
	return 0;
}

/* Add (or find, from a run before) port @name; its device, open. */
static int port(uint8_t cmd, const char *name, uint32_t *id)
{
	char buf[MNL_SOCKET_BUFFER_SIZE], path[96];
	struct nlmsghdr *nlh = phnl_msg(&nl, buf, cmd, 0);
	int ret, fd;

	mnl_attr_put_strz(nlh, PERSOHUB_A_PORT_NAME, name);
	if (cmd == PERSOHUB_CMD_USER_STATION_ADD)
		mnl_attr_put_u32(nlh, PERSOHUB_A_PORT_QUEUE_DEPTH, 64);
	else
		mnl_attr_put_u32(nlh, PERSOHUB_A_PORT_TIMEOUT_MS, 5000);
	ret = phnl_talk(&nl, nlh, id_cb, id);
	if (ret) {
		fprintf(stderr, "vm_cascade_load: %s: %s %s\n", name,
			strerror(-ret), nl.errmsg);
		exit(1);
	}
	snprintf(path, sizeof(path), "%s/%s",
		 cmd == PERSOHUB_CMD_USER_STATION_ADD ? "/dev/persohub-remote" :
		 "/dev/persohub-server", name);
	fd = open(path, O_RDWR | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0) {
		fprintf(stderr, "vm_cascade_load: %s: %s\n", path,
			strerror(errno));
		exit(1);
	}
	return fd;
}

static int serve(int argc, char **argv)
{
	static struct msg req[MAX_PORTS], ans;
	struct pollfd p[MAX_PORTS];
	uint64_t due[MAX_PORTS] = { 0 }, now, next;
	uint32_t id[MAX_PORTS];
	const char *prefix = argv[2];
	unsigned int delay = atoi(argv[3]), n = argc - 4, i;
	size_t plen = strlen(prefix);
	unsigned long long served = 0;
	ssize_t r;

	if (n < 1 || n > MAX_PORTS)
		return 2;
	for (i = 0; i < n; i++) {
		p[i].fd = port(PERSOHUB_CMD_USER_SERVER_ADD, argv[4 + i],
			       &id[i]);
		p[i].events = POLLIN;
	}
	printf("serving\n");
	fflush(stdout);
	while (!stop) {
		now = now_ms();
		next = now + 1000;
		for (i = 0; i < n; i++) {
			if (due[i] && due[i] <= now) {
				ans.h.req_id = req[i].h.req_id;
				ans.h.server_id = id[i];
				ans.h.len = plen + req[i].h.len;
				memcpy(ans.data, prefix, plen);
				memcpy(ans.data + plen, req[i].data,
				       req[i].h.len);
				/* Refused: the kernel gave it up already. */
				if (write(p[i].fd, &ans,
					  sizeof(ans.h) + ans.h.len) >= 0)
					served++;
				due[i] = 0;
			}
			if (!due[i]) {
				r = read(p[i].fd, &req[i], sizeof(req[i]));
				if (r >= (ssize_t)sizeof(req[i].h))
					due[i] = now + delay;
			}
			p[i].events = due[i] ? 0 : POLLIN;
			if (due[i] && due[i] < next)
				next = due[i];
		}
		poll(p, n, next > now ? next - now : 0);
	}
	printf("served %llu\n", served);
	return 0;
}

struct station {
	int fd;
	uint32_t id;
	unsigned int inflight;
	uint64_t tag;
};

static unsigned char answered[MAX_PORTS][MAX_TAGS];
static char prefixes[8];
static unsigned long long by[8];

static void progress(const char *path, unsigned long long total)
{
	char tmp[256];
	unsigned int i;
	FILE *f;

	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	f = fopen(tmp, "w");
	if (!f)
		return;
	fprintf(f, "answered %llu\n", total);
	for (i = 0; i < sizeof(prefixes) && prefixes[i]; i++)
		fprintf(f, "by_%c %llu\n", prefixes[i], by[i]);
	fclose(f);
	rename(tmp, path);
}

static int load(int argc, char **argv)
{
	static struct msg m;
	struct station st[MAX_PORTS];
	struct pollfd p[MAX_PORTS];
	unsigned int depth = atoi(argv[2]), n = argc - 5, i, k;
	const char *prog = argv[3], *stopfile = argv[4];
	unsigned long long sent = 0, total = 0, errors = 0, wrong = 0;
	unsigned long long twice = 0;
	uint64_t end = 0, last = 0;
	char want[64];
	bool stopping = false;
	ssize_t r;
	int len;

	if (n < 1 || n > MAX_PORTS || !depth || depth > 64)
		return 2;
	srand(getpid());
	for (i = 0; i < n; i++) {
		memset(&st[i], 0, sizeof(st[i]));
		st[i].fd = port(PERSOHUB_CMD_USER_STATION_ADD, argv[5 + i],
				&st[i].id);
		p[i].fd = st[i].fd;
		p[i].events = POLLIN;
	}
	for (;;) {
		if (!stopping && !access(stopfile, F_OK)) {
			stopping = true;
			end = now_ms() + 60000;
		}
		for (i = 0; i < n; i++) {
			while (!stopping && st[i].inflight < depth &&
			       st[i].tag + 1 < MAX_TAGS) {
				m.h.req_id = ++st[i].tag;
				m.h.len = snprintf((char *)m.data, 64,
						   "%u-%llu-%d", i,
						   (unsigned long long)m.h.req_id,
						   rand());
				if (write(st[i].fd, &m, sizeof(m.h) + m.h.len) <
				    0) {
					fprintf(stderr, "submit: %s\n",
						strerror(errno));
					return 1;
				}
				st[i].inflight++;
				sent++;
			}
			while ((r = read(st[i].fd, &m, sizeof(m))) >=
			       (ssize_t)sizeof(m.h)) {
				uint64_t tag = m.h.req_id;

				if (tag >= MAX_TAGS || !tag ||
				    tag > st[i].tag) {
					wrong++;
					continue;
				}
				if (answered[i][tag]++) {
					twice++;
					printf("# station %u tag %llu answered "
					       "twice\n", i,
					       (unsigned long long)tag);
					continue;
				}
				st[i].inflight--;
				total++;
				if (m.h.status) {
					errors++;
					printf("# station %u tag %llu: status "
					       "%u\n", i,
					       (unsigned long long)tag,
					       m.h.status);
					continue;
				}
				len = snprintf(want, sizeof(want), "%u-%llu-",
					       i, (unsigned long long)tag);
				if (m.h.len < (uint32_t)len + 1 ||
				    memcmp(m.data + 1, want, len)) {
					wrong++;
					printf("# station %u tag %llu: '%.*s'\n",
					       i, (unsigned long long)tag,
					       (int)m.h.len, (char *)m.data);
					continue;
				}
				for (k = 0; k < sizeof(prefixes) &&
				     prefixes[k] && prefixes[k] != m.data[0];
				     k++)
					;
				if (k < sizeof(prefixes)) {
					prefixes[k] = m.data[0];
					by[k]++;
				}
			}
		}
		if (now_ms() - last >= 200) {
			progress(prog, total);
			last = now_ms();
		}
		if (stopping) {
			for (i = 0; i < n && !st[i].inflight; i++)
				;
			if (i == n || now_ms() > end)
				break;
		}
		poll(p, n, 100);
	}
	progress(prog, total);
	printf("# sent %llu answered %llu errors %llu wrong %llu twice %llu\n",
	       sent, total, errors, wrong, twice);
	for (k = 0; k < sizeof(prefixes) && prefixes[k]; k++)
		printf("# answered by %c: %llu\n", prefixes[k], by[k]);
	return sent == total && !errors && !wrong && !twice ? 0 : 1;
}

int main(int argc, char **argv)
{
	signal(SIGTERM, on_term);
	signal(SIGINT, on_term);
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (phnl_open(&nl)) {
		fprintf(stderr, "vm_cascade_load: no persohub module\n");
		return 1;
	}
	if (argc >= 5 && !strcmp(argv[1], "serve"))
		return serve(argc, argv);
	if (argc >= 6 && !strcmp(argv[1], "load"))
		return load(argc, argv);
	fprintf(stderr, "usage: vm_cascade_load serve PREFIX DELAY_MS NAME...\n"
		"       vm_cascade_load load DEPTH PROGRESS STOP STATION...\n");
	return 2;
}
