// SPDX-License-Identifier: GPL-2.0
/*
 * vm_setd TTY LDISC: try to set line discipline LDISC on TTY, as a user's
 * TIOCSETD would, and say what happened. Exit 0 if the kernel refused it
 * (persohub's discipline must open on no tty it did not open itself), 1 if
 * it was set (then N_TTY is put back), 2 on a usage or open error.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	int fd, disc, tty = 0;

	if (argc != 3) {
		fprintf(stderr, "usage: vm_setd TTY LDISC\n");
		return 2;
	}
	disc = atoi(argv[2]);
	fd = open(argv[1], O_RDWR | O_NOCTTY | O_NONBLOCK);
	if (fd < 0) {
		fprintf(stderr, "vm_setd: %s: %s\n", argv[1], strerror(errno));
		return 2;
	}
	if (ioctl(fd, TIOCSETD, &disc) == 0) {
		printf("TIOCSETD %d on %s: accepted\n", disc, argv[1]);
		ioctl(fd, TIOCSETD, &tty);
		close(fd);
		return 1;
	}
	printf("TIOCSETD %d on %s: refused (%s)\n", disc, argv[1],
	       strerror(errno));
	close(fd);
	return 0;
}
