// SPDX-License-Identifier: GPL-2.0
/*
 * A server reached over TCP, for the tests inside the test machine: it
 * answers every request frame on its connection with the response the
 * site protocol asks for (siteproto.h), as a network HSM would.
 *
 *   tcpserver [--framing hdlc|len16] PORT KEY COUNTFILE
 *
 * Serves one connection at a time on 127.0.0.1:PORT, in hdlc (the
 * default, persohub's own framing) or len16 (a 2-byte big-endian length,
 * then the payload: a payShield's TCP framing); after each answer it
 * writes the number of answers to COUNTFILE. A frame that fails its
 * framing's checks is counted on stderr, never answered.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "framing.h"
#include "siteproto.h"

int main(int argc, char **argv)
{
	static uint8_t rxbuf[PH_RX_BUF(PH_PAYLOAD_MAX)];
	uint8_t buf[4096], resp[SP_RESP_LEN];
	uint8_t enc[PH_FRAMING_ENCODED_MAX(SP_RESP_LEN)];
	struct sockaddr_in sa = { .sin_family = AF_INET };
	int framing = PH_FRAMING_HDLC;
	unsigned long answers = 0;
	struct ph_rx rx;
	uint64_t key;
	int one = 1, ls, fd, ev, len;
	ssize_t n, i;
	FILE *f;

	if (argc == 6 && !strcmp(argv[1], "--framing")) {
		framing = ph_framing_parse(argv[2]);
		argc -= 2;
		argv += 2;
	}
	if (argc != 4 || (framing != PH_FRAMING_HDLC &&
			  framing != PH_FRAMING_LEN16)) {
		fprintf(stderr, "usage: tcpserver [--framing hdlc|len16] PORT "
			"KEY COUNTFILE\n");
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
		ph_rx_init(&rx, framing, false, rxbuf, PH_PAYLOAD_MAX);
		while ((n = read(fd, buf, sizeof(buf))) > 0) {
			for (i = 0; i < n; i++) {
				ev = ph_rx_feed(&rx, buf[i]);
				if (ev != PH_RX_FRAME) {
					if (ev != PH_RX_NONE)
						fprintf(stderr, "tcpserver: bad "
							"frame (%d)\n", ev);
					continue;
				}
				sp_response(resp, key, rx.buf,
					    ph_rx_payload_len(&rx),
					    SP_USER_SERVER);
				ph_rx_release(&rx);
				len = ph_framing_encode(framing, false, enc,
							sizeof(enc), resp,
							SP_RESP_LEN);
				if (len < 0 || write(fd, enc, len) < 0)
					break;
				answers++;
				f = fopen(argv[3], "w");
				if (f) {
					fprintf(f, "%lu\n", answers);
					fclose(f);
				}
			}
		}
		ph_rx_reset(&rx);
		close(fd);
	}
}
