// SPDX-License-Identifier: GPL-2.0
/*
 * nats_ping: a small NATS client (libnats) for the LAN tests, over TLS with
 * a client certificate or in plain text.
 *
 *   nats_ping [options] echo URL SUBJECT
 *	subscribe to SUBJECT.ping and answer every message with its own
 *	payload; print "ready" once the subscription is in place, and
 *	"echoed N" when a message on SUBJECT.quit ends it (status 0), or
 *	--for seconds pass without one (status 3)
 *   nats_ping [options] ping URL SUBJECT PAYLOAD
 *	one request on SUBJECT.ping; status 0 if the reply is PAYLOAD
 *	exactly ("reply ok in N ms"), 3 otherwise; while nobody is
 *	subscribed yet (no responders), asked again until --wait ends
 *   nats_ping [options] pub URL SUBJECT PAYLOAD
 *	publish PAYLOAD on SUBJECT, flushed to the server
 *
 * Options: --ca FILE (trust this CA, and use TLS), --cert FILE --key FILE
 * (the client certificate), --wait S (try to connect, and ping to find a
 * responder, for up to S seconds; default: once), --for S (echo: at most S
 * seconds, default 60).
 *
 * Exit status: 0 done; 1 no connection (refused, TLS failure, no server:
 * the reason on stderr); 2 bad usage; 3 the exchange failed.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <nats/nats.h>

#define E_CONNECT 1
#define E_USAGE 2
#define E_EXCHANGE 3

static const char *ca, *cert, *key;
static int wait_s, for_s = 60;

static long long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000LL + ts.tv_nsec / 1000000;
}

static void report(const char *what, natsStatus s)
{
	const char *text = nats_GetLastError(NULL);

	fprintf(stderr, "nats_ping: %s: %s%s%s\n", what, natsStatus_GetText(s),
		text && *text ? ": " : "", text ? text : "");
}

static natsStatus options(natsOptions **opts, const char *url)
{
	natsStatus s;

	s = natsOptions_Create(opts);
	if (s == NATS_OK)
		s = natsOptions_SetURL(*opts, url);
	/* TCG guests are slow: a TLS handshake can take a second or two */
	if (s == NATS_OK)
		s = natsOptions_SetTimeout(*opts, 10000);
	if (s == NATS_OK)
		s = natsOptions_SetAllowReconnect(*opts, false);
	if (s == NATS_OK && ca) {
		s = natsOptions_SetSecure(*opts, true);
		if (s == NATS_OK)
			s = natsOptions_LoadCATrustedCertificates(*opts, ca);
	}
	if (s == NATS_OK && cert)
		s = natsOptions_LoadCertificatesChain(*opts, cert, key);
	return s;
}

/* Connect, trying again for up to --wait seconds. */
static natsConnection *connect_to(const char *url)
{
	long long end = now_ms() + wait_s * 1000LL;
	natsConnection *nc = NULL;
	natsOptions *opts = NULL;
	natsStatus s;

	s = options(&opts, url);
	if (s != NATS_OK) {
		report("options", s);
		exit(E_USAGE);
	}
	for (;;) {
		s = natsConnection_Connect(&nc, opts);
		if (s == NATS_OK)
			break;
		if (now_ms() >= end) {
			report(url, s);
			natsOptions_Destroy(opts);
			nats_Close();
			exit(E_CONNECT);
		}
		usleep(200000);
	}
	natsOptions_Destroy(opts);
	return nc;
}

static int echo(natsConnection *nc, const char *subject)
{
	long long end = now_ms() + for_s * 1000LL;
	natsSubscription *sub = NULL;
	char subj[256];
	natsStatus s;
	int n = 0;

	snprintf(subj, sizeof(subj), "%s.*", subject);
	s = natsConnection_SubscribeSync(&sub, nc, subj);
	if (s == NATS_OK)
		s = natsConnection_Flush(nc);
	if (s != NATS_OK) {
		report("subscribe", s);
		return E_EXCHANGE;
	}
	printf("ready\n");
	fflush(stdout);
	snprintf(subj, sizeof(subj), "%s.quit", subject);
	while (now_ms() < end) {
		natsMsg *msg = NULL;
		const char *reply;

		s = natsSubscription_NextMsg(&msg, sub, 200);
		if (s == NATS_TIMEOUT)
			continue;
		if (s != NATS_OK) {
			report("next message", s);
			break;
		}
		if (!strcmp(natsMsg_GetSubject(msg), subj)) {
			natsMsg_Destroy(msg);
			natsSubscription_Destroy(sub);
			printf("echoed %d\n", n);
			return 0;
		}
		reply = natsMsg_GetReply(msg);
		if (reply) {
			s = natsConnection_Publish(nc, reply,
						   natsMsg_GetData(msg),
						   natsMsg_GetDataLength(msg));
			if (s == NATS_OK)
				n++;
			else
				report("reply", s);
		}
		natsMsg_Destroy(msg);
	}
	natsSubscription_Destroy(sub);
	fprintf(stderr, "nats_ping: echoed %d, no quit message within %d s\n",
		n, for_s);
	return E_EXCHANGE;
}

static int ping(natsConnection *nc, const char *subject, const char *payload,
		long long end)
{
	long long t0 = now_ms();
	natsMsg *msg = NULL;
	char subj[256];
	natsStatus s;
	int len, rc;

	snprintf(subj, sizeof(subj), "%s.ping", subject);
	len = strlen(payload);
	for (;;) {
		s = natsConnection_Request(&msg, nc, subj, payload, len, 10000);
		if (s != NATS_NO_RESPONDERS || now_ms() >= end)
			break;
		usleep(200000);
		t0 = now_ms();
	}
	if (s != NATS_OK) {
		report("request", s);
		return E_EXCHANGE;
	}
	rc = natsMsg_GetDataLength(msg) == len &&
	     !memcmp(natsMsg_GetData(msg), payload, len) ? 0 : E_EXCHANGE;
	if (rc)
		fprintf(stderr, "nats_ping: reply '%.*s' is not the payload\n",
			natsMsg_GetDataLength(msg), natsMsg_GetData(msg));
	else
		printf("reply ok in %lld ms\n", now_ms() - t0);
	natsMsg_Destroy(msg);
	return rc;
}

static int pub(natsConnection *nc, const char *subject, const char *payload)
{
	natsStatus s;

	s = natsConnection_PublishString(nc, subject, payload);
	if (s == NATS_OK)
		s = natsConnection_FlushTimeout(nc, 10000);
	if (s != NATS_OK) {
		report("publish", s);
		return E_EXCHANGE;
	}
	return 0;
}

static void usage(void)
{
	fprintf(stderr,
		"usage: nats_ping [--ca FILE] [--cert FILE --key FILE] [--wait S] [--for S]\n"
		"                 echo URL SUBJECT | ping URL SUBJECT PAYLOAD |\n"
		"                 pub URL SUBJECT PAYLOAD\n");
	exit(E_USAGE);
}

int main(int argc, char **argv)
{
	natsConnection *nc;
	const char *mode;
	long long end;
	int i = 1, rc;

	for (; i + 1 < argc && !strncmp(argv[i], "--", 2); i += 2) {
		if (!strcmp(argv[i], "--ca"))
			ca = argv[i + 1];
		else if (!strcmp(argv[i], "--cert"))
			cert = argv[i + 1];
		else if (!strcmp(argv[i], "--key"))
			key = argv[i + 1];
		else if (!strcmp(argv[i], "--wait"))
			wait_s = atoi(argv[i + 1]);
		else if (!strcmp(argv[i], "--for"))
			for_s = atoi(argv[i + 1]);
		else
			usage();
	}
	if (i + 3 > argc || !cert != !key)
		usage();
	mode = argv[i];
	if (!strcmp(mode, "echo") ? i + 3 != argc : i + 4 != argc)
		usage();
	if (strcmp(mode, "echo") && strcmp(mode, "ping") && strcmp(mode, "pub"))
		usage();
	end = now_ms() + wait_s * 1000LL;
	nc = connect_to(argv[i + 1]);
	if (!strcmp(mode, "echo"))
		rc = echo(nc, argv[i + 2]);
	else if (!strcmp(mode, "ping"))
		rc = ping(nc, argv[i + 2], argv[i + 3], end);
	else
		rc = pub(nc, argv[i + 2], argv[i + 3]);
	natsConnection_Destroy(nc);
	nats_Close();
	return rc;
}
