// SPDX-License-Identifier: GPL-2.0
/*
 * A server reached over TCP, for the tests inside the test machine: it
 * answers every request frame on its connection with the response the
 * site protocol asks for (siteproto.h), as a network HSM would.
 *
 *   tcpserver [--framing hdlc|len16] [--header N] [--stale] [--delay-first MS]
 *             [--tls DIR NAME] [--priority P] [--cut N] [--alert N] [--rekey N]
 *             PORT KEY COUNTFILE
 *   tcpserver --stall PORT
 *
 * Serves one connection at a time on 127.0.0.1:PORT, in hdlc (the
 * default, persohub's own framing) or len16 (a 2-byte big-endian length,
 * then the payload: a payShield's TCP framing); after each answer it
 * writes the number of answers to COUNTFILE. A frame that fails its
 * framing's checks is counted on stderr, never answered.
 *
 * --header N: as payShield, the first N bytes of a request (at most 3:
 * the site protocol's "PHR") are a header echoed at the start of the
 * answer; the answer is computed as if the header were the site's own.
 * --stale: before each answer but the first, the previous answer again,
 * as a late answer to a request given up on would come.
 * --delay-first MS: the first answer of the run comes MS ms late.
 * --tls DIR NAME: TLS (GnuTLS, server side) with DIR/NAME.pem and
 * DIR/NAME.key (tlscerts makes them), a client certificate required and
 * verified against DIR/ca.pem; a failed handshake is told on stderr.
 * --priority P: GnuTLS's priority string instead of the default, to have
 * a given version and cipher negotiated.
 * --cut N: of the Nth answer of the run only the first half is sent, then
 * the connection is closed at once (no close_notify): a server gone
 * mid-answer.
 * --alert N: instead of the Nth answer, a fatal internal_error alert, and
 * the connection closed. --rekey N: before the Nth answer, a TLS 1.3
 * KeyUpdate (the answer then goes under the new keys).
 * --stall: listen, fill the accept queue and never accept, so that a
 * connect() gets no answer at all (an unreachable HSM).
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <gnutls/gnutls.h>

#include "framing.h"
#include "siteproto.h"

static int listen_on(int port, int backlog)
{
	struct sockaddr_in sa = { .sin_family = AF_INET };
	int one = 1, ls;

	sa.sin_port = htons(port);
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	ls = socket(AF_INET, SOCK_STREAM, 0);
	setsockopt(ls, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (ls < 0 || bind(ls, (struct sockaddr *)&sa, sizeof(sa)) ||
	    listen(ls, backlog)) {
		perror("tcpserver");
		exit(1);
	}
	return ls;
}

/* An accept queue of one, taken by our own connection: SYNs dropped. */
static int stall(int port)
{
	struct sockaddr_in sa = { .sin_family = AF_INET };
	int fd;

	listen_on(port, 0);
	sa.sin_port = htons(port);
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	fd = socket(AF_INET, SOCK_STREAM, 0);
	if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa))) {
		perror("tcpserver: --stall");
		return 1;
	}
	for (;;)
		pause();
}

static gnutls_certificate_credentials_t cred;
static gnutls_session_t sess;
static const char *priority;

static void tls_setup(const char *dir, const char *name)
{
	char ca[4096], crt[4096], key[4096];

	snprintf(ca, sizeof(ca), "%s/ca.pem", dir);
	snprintf(crt, sizeof(crt), "%s/%s.pem", dir, name);
	snprintf(key, sizeof(key), "%s/%s.key", dir, name);
	if (gnutls_certificate_allocate_credentials(&cred) ||
	    gnutls_certificate_set_x509_trust_file(cred, ca,
						   GNUTLS_X509_FMT_PEM) <= 0 ||
	    gnutls_certificate_set_x509_key_file(cred, crt, key,
						 GNUTLS_X509_FMT_PEM)) {
		fprintf(stderr, "tcpserver: cannot load %s, %s, %s\n", ca,
			crt, key);
		exit(1);
	}
}

/* TLS on @fd, the client's certificate required: 0, or -1 (told). */
static int tls_accept(int fd)
{
	int ret;

	if (gnutls_init(&sess, GNUTLS_SERVER) ||
	    (priority ? gnutls_priority_set_direct(sess, priority, NULL) :
	     gnutls_set_default_priority(sess)) ||
	    gnutls_credentials_set(sess, GNUTLS_CRD_CERTIFICATE, cred))
		return -1;
	gnutls_certificate_server_set_request(sess, GNUTLS_CERT_REQUIRE);
	gnutls_session_set_verify_cert(sess, NULL, 0);
	gnutls_transport_set_int(sess, fd);
	gnutls_handshake_set_timeout(sess, 10000);
	do
		ret = gnutls_handshake(sess);
	while (ret < 0 && !gnutls_error_is_fatal(ret));
	if (ret < 0) {
		fprintf(stderr, "tcpserver: TLS handshake: %s\n",
			gnutls_strerror(ret));
		gnutls_deinit(sess);
		sess = NULL;
		return -1;
	}
	return 0;
}

static ssize_t io_read(int fd, void *buf, size_t len)
{
	ssize_t n;

	if (!sess)
		return read(fd, buf, len);
	do
		n = gnutls_record_recv(sess, buf, len);
	while (n < 0 && !gnutls_error_is_fatal(n));
	return n < 0 ? -1 : n;
}

static ssize_t io_write(int fd, const void *buf, size_t len)
{
	ssize_t n;

	if (!sess)
		return write(fd, buf, len);
	do
		n = gnutls_record_send(sess, buf, len);
	while (n == GNUTLS_E_AGAIN || n == GNUTLS_E_INTERRUPTED);
	return n < 0 ? -1 : n;
}

static void usage(void)
{
	fprintf(stderr, "usage: tcpserver [--framing hdlc|len16] [--header N] "
		"[--stale] [--delay-first MS] [--tls DIR NAME]\n"
		"                 [--priority P] [--cut N] [--alert N] [--rekey N]\n"
		"                 PORT KEY COUNTFILE\n"
		"       tcpserver --stall PORT\n");
	exit(2);
}

int main(int argc, char **argv)
{
	static uint8_t rxbuf[PH_RX_BUF(PH_PAYLOAD_MAX)];
	uint8_t buf[4096], req[PH_PAYLOAD_MAX], resp[SP_RESP_LEN];
	uint8_t enc[PH_FRAMING_ENCODED_MAX(SP_RESP_LEN)];
	uint8_t last[sizeof(enc)], tag[3];
	int framing = PH_FRAMING_HDLC, hlen = 0, len, lastlen = 0;
	unsigned long answers = 0;
	bool stale = false;
	int delay_ms = 0;
	unsigned long cut = 0, alert = 0, rekey = 0;
	struct ph_rx rx;
	uint64_t key;
	int ls, fd, ev;
	ssize_t n, i;
	size_t rlen;
	FILE *f;

	for (argv++, argc--; argc && !strncmp(argv[0], "--", 2);
	     argv++, argc--) {
		if (!strcmp(argv[0], "--stall") && argc == 2)
			return stall(atoi(argv[1]));
		if (!strcmp(argv[0], "--stale")) {
			stale = true;
		} else if (!strcmp(argv[0], "--framing") && argc > 1) {
			framing = ph_framing_parse(argv[1]);
			argv++, argc--;
		} else if (!strcmp(argv[0], "--tls") && argc > 2) {
			tls_setup(argv[1], argv[2]);
			argv += 2, argc -= 2;
		} else if (!strcmp(argv[0], "--priority") && argc > 1) {
			priority = argv[1];
			argv++, argc--;
		} else if (!strcmp(argv[0], "--cut") && argc > 1) {
			cut = strtoul(argv[1], NULL, 0);
			argv++, argc--;
		} else if (!strcmp(argv[0], "--alert") && argc > 1) {
			alert = strtoul(argv[1], NULL, 0);
			argv++, argc--;
		} else if (!strcmp(argv[0], "--rekey") && argc > 1) {
			rekey = strtoul(argv[1], NULL, 0);
			argv++, argc--;
		} else if (!strcmp(argv[0], "--delay-first") && argc > 1) {
			delay_ms = atoi(argv[1]);
			argv++, argc--;
		} else if (!strcmp(argv[0], "--header") && argc > 1) {
			hlen = atoi(argv[1]);
			argv++, argc--;
		} else {
			usage();
		}
	}
	if (argc != 3 || hlen < 0 || hlen > 3 ||
	    (framing != PH_FRAMING_HDLC && framing != PH_FRAMING_LEN16))
		usage();
	/* A peer gone before its answer is no reason to die. */
	signal(SIGPIPE, SIG_IGN);
	key = strtoull(argv[1], NULL, 0);
	ls = listen_on(atoi(argv[0]), 4);
	for (;;) {
		fd = accept(ls, NULL, NULL);
		if (fd < 0)
			continue;
		if (cred && tls_accept(fd)) {
			close(fd);
			continue;
		}
		ph_rx_init(&rx, framing, false, rxbuf, PH_PAYLOAD_MAX);
		while ((n = io_read(fd, buf, sizeof(buf))) > 0) {
			for (i = 0; i < n; i++) {
				ev = ph_rx_feed(&rx, buf[i]);
				if (ev != PH_RX_FRAME) {
					if (ev != PH_RX_NONE)
						fprintf(stderr, "tcpserver: bad "
							"frame (%d)\n", ev);
					continue;
				}
				rlen = ph_rx_payload_len(&rx);
				memcpy(req, rx.buf, rlen);
				ph_rx_release(&rx);
				/* The site's header, where a tag came. */
				if ((size_t)hlen > rlen)
					continue;
				memcpy(tag, req, hlen);
				memcpy(req, "PHR", hlen);
				sp_response(resp, key, req, rlen,
					    SP_USER_SERVER);
				memcpy(resp, tag, hlen);
				len = ph_framing_encode(framing, false, enc,
							sizeof(enc), resp,
							SP_RESP_LEN);
				if (len < 0)
					break;
				if (!answers && delay_ms)
					usleep(delay_ms * 1000);
				if (stale && lastlen &&
				    io_write(fd, last, lastlen) < 0)
					break;
				if (cut && answers + 1 == cut) {
					/* Half the answer, then gone. */
					io_write(fd, enc, len / 2);
					cut = 0;
					fprintf(stderr, "tcpserver: answer %lu "
						"cut\n", answers + 1);
					goto gone;
				}
				if (sess && alert && answers + 1 == alert) {
					gnutls_alert_send(sess, GNUTLS_AL_FATAL,
						GNUTLS_A_INTERNAL_ERROR);
					alert = 0;
					fprintf(stderr, "tcpserver: an alert "
						"for answer %lu\n", answers + 1);
					goto gone;
				}
				if (sess && rekey && answers + 1 == rekey) {
					rekey = 0;
					if (gnutls_session_key_update(sess, 0))
						break;
					fprintf(stderr, "tcpserver: KeyUpdate "
						"before answer %lu\n",
						answers + 1);
				}
				if (io_write(fd, enc, len) < 0)
					break;
				memcpy(last, enc, len);
				lastlen = len;
				answers++;
				f = fopen(argv[2], "w");
				if (f) {
					fprintf(f, "%lu\n", answers);
					fclose(f);
				}
			}
		}
		if (sess)
			gnutls_bye(sess, GNUTLS_SHUT_WR);
gone:
		ph_rx_reset(&rx);
		if (sess) {
			gnutls_deinit(sess);
			sess = NULL;
		}
		close(fd);
	}
}
