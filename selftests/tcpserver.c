// SPDX-License-Identifier: GPL-2.0
/*
 * A server reached over TCP, for the tests inside the test machine: it
 * answers every request frame on its connection with the response the
 * site protocol asks for (siteproto.h), as a network HSM would.
 *
 *   tcpserver PORT KEY COUNTFILE
 *
 * Serves one connection at a time on 127.0.0.1:PORT; after each answer it
 * writes the number of answers to COUNTFILE.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "frame.h"
#include "siteproto.h"

int main(int argc, char **argv)
{
	static uint8_t rxbuf[PH_DEFRAMER_BUF(PH_PAYLOAD_MAX)];
	uint8_t buf[4096], resp[SP_RESP_LEN], enc[PH_ENCODED_MAX(SP_RESP_LEN)];
	struct sockaddr_in sa = { .sin_family = AF_INET };
	struct ph_deframer rx;
	unsigned long answers = 0;
	uint64_t key;
	int one = 1, ls, fd;
	ssize_t n, i;
	FILE *f;

	if (argc != 4) {
		fprintf(stderr, "usage: tcpserver PORT KEY COUNTFILE\n");
		return 2;
	}
	key = strtoull(argv[2], NULL, 0);
	sa.sin_port = htons(atoi(argv[1]));
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	ls = socket(AF_INET, SOCK_STREAM, 0);
	setsockopt(ls, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (ls < 0 || bind(ls, (struct sockaddr *)&sa, sizeof(sa)) ||
	    listen(ls, 4)) {
		perror("tcpserver");
		return 1;
	}
	for (;;) {
		fd = accept(ls, NULL, NULL);
		if (fd < 0)
			continue;
		ph_deframer_init(&rx, rxbuf, PH_PAYLOAD_MAX);
		while ((n = read(fd, buf, sizeof(buf))) > 0) {
			for (i = 0; i < n; i++) {
				if (ph_deframer_feed(&rx, buf[i]) != PH_RX_FRAME)
					continue;
				sp_response(resp, key, rx.buf,
					    ph_deframer_payload_len(&rx),
					    SP_USER_SERVER);
				if (write(fd, enc, ph_frame_encode(enc, resp,
								   SP_RESP_LEN)) < 0)
					break;
				answers++;
				f = fopen(argv[3], "w");
				if (f) {
					fprintf(f, "%lu\n", answers);
					fclose(f);
				}
			}
		}
		close(fd);
	}
}
