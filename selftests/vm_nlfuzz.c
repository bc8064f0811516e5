// SPDX-License-Identifier: GPL-2.0
/*
 * Random abuse of persohub's interfaces inside the test machine: generic
 * netlink messages with random commands, flags, attribute types, lengths,
 * contents and nesting; random reads, writes, polls and ioctls on station
 * devices. The kernel must refuse what is invalid and never warn or oops
 * (the runner fails the run on either). Prints TAP.
 *
 *   vm_nlfuzz [ITERATIONS] [SEED]
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>

#include "phnl.h"

static uint64_t state;

static uint32_t rnd(void)
{
	state = state * 6364136223846793005ULL + 1442695040888963407ULL;
	return state >> 33;
}

/* Attributes: mostly plausible types and sizes, sometimes anything. */
static void put_random_attrs(struct nlmsghdr *nlh, int depth)
{
	unsigned int i, n = rnd() % 6;
	uint8_t data[80];

	for (i = 0; i < n; i++) {
		uint16_t type = rnd() % 4 ? 1 + rnd() % (PERSOHUB_A_MAX + 3) :
					    rnd();
		unsigned int len;

		switch (rnd() % 6) {
		case 0:
			len = 0;
			break;
		case 1:
		case 2:
			len = 4;
			break;
		case 3:
			len = 8;
			break;
		default:
			len = rnd() % sizeof(data);
		}
		for (unsigned int k = 0; k < len; k++)
			data[k] = rnd() % 3 ? rnd() % 4 : rnd();
		if (depth < 2 && !(rnd() % 8)) {
			struct nlattr *nest = mnl_attr_nest_start(nlh, type);

			put_random_attrs(nlh, depth + 1);
			mnl_attr_nest_end(nlh, nest);
		} else if (!(rnd() % 10)) {
			mnl_attr_put_strz(nlh, type, "m1-st1");
		} else {
			mnl_attr_put(nlh, type, len, data);
		}
	}
}

static int ignore(const struct phnl_attrs *at, void *data)
{
	(void)at;
	(void)data;
	return 0;
}

int main(int argc, char **argv)
{
	unsigned long iters = argc > 1 ? strtoul(argv[1], NULL, 0) : 20000;
	unsigned long i, ok = 0, refused = 0, dev_ops = 0;
	char buf[MNL_SOCKET_BUFFER_SIZE], msg[8192];
	struct phnl h;
	int ret, fd = -1;

	state = argc > 2 ? strtoull(argv[2], NULL, 0) : (uint64_t)time(NULL);
	printf("TAP version 13\n1..2\n# seed %llu\n",
	       (unsigned long long)state);
	if (phnl_open(&h)) {
		printf("not ok 1 netlink family\n");
		return 1;
	}
	for (i = 0; i < iters; i++) {
		uint8_t cmd = rnd() % 4 ? rnd() % (PERSOHUB_CMD_MAX + 2) :
					  rnd();
		uint16_t flags = rnd() % 5 ? 0 : NLM_F_DUMP;
		struct nlmsghdr *nlh = phnl_msg(&h, buf, cmd, flags);

		/* Never detach the fuzzer from itself for long. */
		put_random_attrs(nlh, 0);
		ret = phnl_talk(&h, nlh, ignore, NULL);
		if (ret)
			refused++;
		else
			ok++;

		/* And a station device, if one exists right now. */
		if (fd < 0 || !(rnd() % 50)) {
			if (fd >= 0)
				close(fd);
			snprintf(msg, sizeof(msg), "/dev/persohub/%s",
				 rnd() % 2 ? "m1-st1" : "0000:00:10.0-0");
			fd = open(msg, O_RDWR | O_NONBLOCK);
		}
		if (fd >= 0) {
			struct pollfd p = { .fd = fd, .events = POLLIN };
			size_t len = rnd() % sizeof(msg);

			for (size_t k = 0; k < len; k++)
				msg[k] = rnd();
			switch (rnd() % 4) {
			case 0:
				if (read(fd, msg, len) < 0 && errno == EFAULT)
					return 1;
				break;
			case 1:
				if (write(fd, msg, len) >= 0 && len < 16)
					return 2;	/* must be refused */
				break;
			case 2:
				poll(&p, 1, 0);
				break;
			default:
				ioctl(fd, rnd(), rnd());
			}
			dev_ops++;
		}
	}
	if (fd >= 0)
		close(fd);
	printf("# %lu messages: %lu accepted, %lu refused; %lu device calls\n",
	       iters, ok, refused, dev_ops);
	printf("ok 1 random netlink messages: no oops, no warning\n");

	/* The family still answers sensibly. */
	ret = phnl_talk(&h, phnl_msg(&h, buf, PERSOHUB_CMD_PORT_GET,
				     NLM_F_DUMP), ignore, NULL);
	printf("%s 2 the family still works after the abuse\n",
	       ret ? "not ok" : "ok");
	/* Leave the hub to the kernel. */
	phnl_talk(&h, phnl_msg(&h, buf, PERSOHUB_CMD_CTRL_DETACH, 0), NULL,
		  NULL);
	phnl_close(&h);
	return ret ? 1 : 0;
}
