// SPDX-License-Identifier: GPL-2.0
/*
 * vm_journal SOCKET OUT: stand in for systemd-journald in the test
 * machine, which has none. Binds the Unix datagram socket SOCKET (where
 * libsystemd's sd_journal_send() writes, /run/systemd/journal/socket) and
 * writes every record received to OUT, one "KEY=VALUE" line per field and
 * an empty line after each record. A value holding a newline or a byte
 * outside printable ASCII is written escaped (\n, \xHH), so that a record
 * stays lines a shell test can count.
 *
 * The journal's native protocol: fields "KEY=VALUE\n", or for a value that
 * may hold a newline "KEY\n", a 64-bit little-endian length, the value,
 * "\n". A record too large for a datagram comes as a sealed memfd passed
 * with SCM_RIGHTS. Anything else is malformed: a line "!malformed" is
 * written for it, and the exit status (on SIGTERM) is 1.
 */
#include <errno.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#define MAX_RECORD	(1 << 20)

static volatile sig_atomic_t quit;
static unsigned long bad;

static void on_term(int sig)
{
	(void)sig;
	quit = 1;
}

static int key_ok(const char *k, size_t n)
{
	size_t i;

	if (!n || n > 64 || k[0] == '_' || (k[0] >= '0' && k[0] <= '9'))
		return 0;
	for (i = 0; i < n; i++)
		if (!((k[i] >= 'A' && k[i] <= 'Z') ||
		      (k[i] >= '0' && k[i] <= '9') || k[i] == '_'))
			return 0;
	return 1;
}

static void put_value(FILE *f, const unsigned char *v, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		if (v[i] == '\n')
			fputs("\\n", f);
		else if (v[i] == '\\')
			fputs("\\\\", f);
		else if (v[i] < 0x20 || v[i] > 0x7e)
			fprintf(f, "\\x%02x", v[i]);
		else
			fputc(v[i], f);
	}
}

/* One record; 0, or -1 if malformed (what was read is written anyway). */
static int record(FILE *f, const unsigned char *p, size_t n)
{
	const unsigned char *end = p + n, *nl, *eq;
	uint64_t len;
	int i;

	if (!n)
		return -1;
	while (p < end) {
		nl = memchr(p, '\n', end - p);
		if (!nl)
			return -1;
		eq = memchr(p, '=', nl - p);
		if (eq) {
			if (!key_ok((const char *)p, eq - p))
				return -1;
			fwrite(p, 1, eq - p + 1, f);
			put_value(f, eq + 1, nl - eq - 1);
			fputc('\n', f);
			p = nl + 1;
			continue;
		}
		if (!key_ok((const char *)p, nl - p) || end - nl - 1 < 8)
			return -1;
		for (len = 0, i = 7; i >= 0; i--)
			len = len << 8 | nl[1 + i];
		if ((uint64_t)(end - nl - 9) < len + 1 || nl[9 + len] != '\n')
			return -1;
		fwrite(p, 1, nl - p, f);
		fputc('=', f);
		put_value(f, nl + 9, len);
		fputc('\n', f);
		p = nl + 9 + len + 1;
	}
	return 0;
}

int main(int argc, char **argv)
{
	static unsigned char buf[MAX_RECORD];
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	char cbuf[CMSG_SPACE(sizeof(int))];
	struct sigaction act = { .sa_handler = on_term };
	struct iovec iov = { buf, sizeof(buf) };
	struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1 };
	struct cmsghdr *c;
	int fd, mfd, rcv = 8 << 20;
	ssize_t n;
	FILE *out;

	if (argc != 3 || strlen(argv[1]) >= sizeof(sa.sun_path)) {
		fprintf(stderr, "usage: vm_journal SOCKET OUT\n");
		return 2;
	}
	strcpy(sa.sun_path, argv[1]);
	out = fopen(argv[2], "w");
	fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	unlink(argv[1]);
	if (!out || fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof(sa))) {
		perror("vm_journal");
		return 2;
	}
	chmod(argv[1], 0666);
	setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &rcv, sizeof(rcv));
	sigaction(SIGTERM, &act, NULL);
	sigaction(SIGINT, &act, NULL);
	while (!quit) {
		msg.msg_control = cbuf;
		msg.msg_controllen = sizeof(cbuf);
		n = recvmsg(fd, &msg, MSG_CMSG_CLOEXEC);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			perror("vm_journal: recvmsg");
			return 2;
		}
		mfd = -1;
		for (c = CMSG_FIRSTHDR(&msg); c; c = CMSG_NXTHDR(&msg, c))
			if (c->cmsg_level == SOL_SOCKET &&
			    c->cmsg_type == SCM_RIGHTS)
				memcpy(&mfd, CMSG_DATA(c), sizeof(mfd));
		if (mfd >= 0) {
			/* a record too large for a datagram: in the memfd */
			n = n ? -1 : pread(mfd, buf, sizeof(buf), 0);
			close(mfd);
		}
		if ((msg.msg_flags & MSG_TRUNC) || n < 0 ||
		    record(out, buf, n)) {
			fputs("!malformed\n", out);
			bad++;
		}
		fputc('\n', out);
		fflush(out);
	}
	fclose(out);
	unlink(argv[1]);
	return bad ? 1 : 0;
}
