// SPDX-License-Identifier: GPL-2.0
/*
 * persohubd's TCP backend: servers that are not serial ports (a network
 * HSM, a peer site PC), reached over TCP. Each configured [tcp NAME] is a
 * link with queue_depth userspace servers in the kernel (NAME, then
 * NAME.2, NAME.3...): a request dispatched to one is read from that
 * server's own device (/dev/persohub-server/NAME, so requests for other
 * userspace servers are never taken), sent on the link in its framing
 * (hdlc, or len16: what payShield and other network HSMs speak over TCP),
 * and its answer is written back to the device.
 *
 * Answers are matched to requests by tcp_corr.c: by a tag put in the
 * request's header when the link has one (header_len), else by order,
 * one request at a time; a link without a tag on which a request was
 * given up on (a timeout, seen as SERVER_FAILED or as the next request
 * for the same server) is closed and connected again, since its late
 * answer would pass for the next request's.
 *
 * With tls = yes the link is TLS (GnuTLS) with mutual certificates: the
 * server's must be signed by the site CA, be valid and name the host, and
 * match the pin if one is set; the handshake runs in the loop like the
 * connect. Once it is done, the records go through the kernel (kTLS) where
 * it can: persohubd takes the session's keys from GnuTLS and gives them to
 * the socket (TCP_ULP "tls", then TLS_TX and TLS_RX), and the link reads
 * and writes plain bytes on it; where it cannot (no tls module, a cipher
 * the kernel lacks, ktls = no) GnuTLS carries them. The log says which.
 * Debian's GnuTLS is built without kTLS of its own, hence this.
 *
 * Nothing here blocks the loop: a host name is resolved by a thread that
 * hands its answer back through a pipe, connect() and the handshake are
 * non-blocking and go on when epoll says, the link's output is queued
 * while the socket is full. A failure is logged with its reason and tried again after a
 * delay that doubles up to TCP_BACKOFF_MAX_MS, on the backend's own timer.
 * While a link is down its servers are set failed (out of service); once
 * it is up they are set idle again, except those an administrator took
 * out of service.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <gnutls/abstract.h>
#include <gnutls/crypto.h>
#include <gnutls/gnutls.h>
#include <gnutls/x509.h>
#include <linux/tls.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#include "framing.h"
#include "log.h"
#include "tcp.h"
#include "tcp_corr.h"

#define DEVDIR			"/dev/persohub-server"
#define TCP_CONNECT_MS		3000	/* a connect() given up after */
#define TCP_BACKOFF_MIN_MS	250
#define TCP_BACKOFF_MAX_MS	30000
#define ENC_MAX			PH_FRAMING_ENCODED_MAX(PERSOHUB_PAYLOAD_MAX)
#define TLS_RECORD_ALERT	21	/* TLS record content types */
#define TLS_RECORD_DATA		23

enum slot_state {
	SLOT_FREE,
	SLOT_PENDING,		/* read from the device, the link is down */
	SLOT_FLIGHT,		/* sent on the link */
	SLOT_LOST,		/* sent on a link that went: the kernel's timeout */
};

/* One of a link's userspace servers in the kernel. */
struct tcp_slot {
	uint32_t id;
	char name[CONFIG_NAME_LEN + 4];	/* fits: config.c checks */
	int devfd;
	enum slot_state state;
	uint64_t req_id;
	bool admin_failed;	/* out of service by an administrator */
	unsigned int own_fails;	/* our FAILED whose events are to come */
	uint16_t len;		/* pending payload */
	uint8_t data[PERSOHUB_PAYLOAD_MAX];
};

enum link_state {
	LINK_DOWN, LINK_RESOLVING, LINK_CONNECTING, LINK_HANDSHAKE, LINK_UP
};

struct tcp_link {
	struct config_tcp cfg;
	unsigned int idx;
	enum link_state state;
	uint64_t since_ns;	/* CLOCK_MONOTONIC: in @state since */
	bool failed;		/* the last attempt failed: backing off */
	char error[160];	/* the last failure, "" if none yet */
	int fd;
	uint64_t due;		/* DOWN: next attempt; CONNECTING: give up */
	unsigned int backoff_ms;
	uint64_t gen;		/* of the resolution under way */
	struct addrinfo *ai, *cur;
	char why[128];		/* the last address's failure */
	gnutls_certificate_credentials_t cred;	/* tls = yes */
	gnutls_session_t sess;			/* while connected */
	bool tls_again;		/* a record send to finish (GNUTLS_E_AGAIN) */
	bool ktls;		/* the records are the kernel's; sess is gone */
	const char *tls_vers;	/* "TLS1.3": GnuTLS's static name */
	char ktls_why[128];	/* kTLS off: why */
	char ktls_refused[96];	/* it took the send keys only: GnuTLS from now */
	struct tcp_corr corr;
	struct ph_rx rx;
	uint8_t rxbuf[PH_RX_BUF(PH_PAYLOAD_MAX)];
	uint8_t *out;		/* to send, while the socket is full */
	size_t outlen, outcap;
	unsigned int nslots;
	struct tcp_slot slot[TCP_DEPTH_MAX];
};

/* A host name resolved by a thread; the answer comes back by the pipe. */
struct resolve_job {
	unsigned int link;
	uint64_t gen;
	char host[64];
	char port[8];
	int err;
	struct addrinfo *ai;
};

static struct {
	struct phnl *nl;
	int epfd, timerfd;
	int rpipe[2];		/* resolver answers; kept for the process */
	uint64_t gen;
	unsigned int n;
	struct tcp_link *l[CONFIG_MAX_TCP];
	struct tcp_figures fig;
} t = { .timerfd = -1, .rpipe = { -1, -1 } };


static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000000ULL + ts.tv_nsec;
}

/* @l's state, and since when it is in it (persohubctl daemon shows it). */
static void link_set(struct tcp_link *l, enum link_state st)
{
	if (st == LINK_UP)
		l->failed = false;
	if (st != l->state)
		l->since_ns = now_ns();
	l->state = st;
}

static int id_cb(const struct phnl_attrs *at, void *data)
{
	*(uint32_t *)data = phnl_u32(at, PERSOHUB_A_PORT_ID, 0);
	return 0;
}

static int state_cb(const struct phnl_attrs *at, void *data)
{
	*(uint32_t *)data = phnl_u32(at, PERSOHUB_A_PORT_STATE, 0);
	return 0;
}

static int set_state(struct tcp_slot *s, uint32_t state)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct nlmsghdr *nlh;
	uint32_t now = 0;
	int ret;

	if (state == PERSOHUB_STATE_FAILED) {
		/* Failed already (a timeout): no event would come. */
		nlh = phnl_msg(t.nl, buf, PERSOHUB_CMD_PORT_GET, 0);
		mnl_attr_put_u32(nlh, PERSOHUB_A_PORT_ID, s->id);
		if (!phnl_talk(t.nl, nlh, state_cb, &now) &&
		    now == PERSOHUB_STATE_FAILED)
			return 0;
	}
	nlh = phnl_msg(t.nl, buf, PERSOHUB_CMD_PORT_SET, 0);
	mnl_attr_put_u32(nlh, PERSOHUB_A_PORT_ID, s->id);
	mnl_attr_put_u32(nlh, PERSOHUB_A_PORT_STATE, state);
	ret = phnl_talk(t.nl, nlh, NULL, NULL);
	/* Our own: its SERVER_FAILED event is not an administrator's. */
	if (!ret && state == PERSOHUB_STATE_FAILED)
		s->own_fails++;
	return ret;
}

/* The kernel's userspace server for @s: added, or found from before. */
static int user_server(struct tcp_link *l, struct tcp_slot *s)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	char path[sizeof(DEVDIR) + sizeof(s->name) + 1];
	struct epoll_event e = { .events = EPOLLIN };
	struct nlmsghdr *nlh;
	int ret;

	nlh = phnl_msg(t.nl, buf, PERSOHUB_CMD_USER_SERVER_ADD, 0);
	mnl_attr_put_strz(nlh, PERSOHUB_A_PORT_NAME, s->name);
	mnl_attr_put_u32(nlh, PERSOHUB_A_PORT_TIMEOUT_MS, l->cfg.timeout_ms);
	mnl_attr_put_u64(nlh, PERSOHUB_A_PORT_CLASSES, l->cfg.classes);
	ret = phnl_talk(t.nl, nlh, NULL, NULL);
	if (ret && ret != -EEXIST)
		return ret;
	nlh = phnl_msg(t.nl, buf, PERSOHUB_CMD_PORT_GET, 0);
	mnl_attr_put_strz(nlh, PERSOHUB_A_PORT_NAME, s->name);
	ret = phnl_talk(t.nl, nlh, id_cb, &s->id);
	if (ret)
		return ret;
	/* Out of service until connected. */
	set_state(s, PERSOHUB_STATE_FAILED);
	snprintf(path, sizeof(path), DEVDIR "/%s", s->name);
	s->devfd = open(path, O_RDWR | O_NONBLOCK | O_CLOEXEC);
	if (s->devfd < 0)
		return -errno;
	e.data.fd = s->devfd;
	epoll_ctl(t.epfd, EPOLL_CTL_ADD, s->devfd, &e);
	return 0;
}

static void del_server(struct tcp_slot *s)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct nlmsghdr *nlh;

	if (s->devfd >= 0) {
		epoll_ctl(t.epfd, EPOLL_CTL_DEL, s->devfd, NULL);
		close(s->devfd);
		s->devfd = -1;
	}
	if (!s->id)
		return;
	nlh = phnl_msg(t.nl, buf, PERSOHUB_CMD_USER_SERVER_DEL, 0);
	mnl_attr_put_u32(nlh, PERSOHUB_A_PORT_ID, s->id);
	phnl_talk(t.nl, nlh, NULL, NULL);
	s->id = 0;
}

static void slot_clear(struct tcp_slot *s)
{
	s->state = SLOT_FREE;
	explicit_bzero(s->data, s->len);
	s->len = 0;
}

/* Arm the timer for the earliest thing due. */
static void rearm(void)
{
	struct itimerspec its = { 0 };
	uint64_t due = 0;
	unsigned int i;

	for (i = 0; i < t.n; i++) {
		struct tcp_link *l = t.l[i];

		if ((l->state == LINK_DOWN || l->state == LINK_CONNECTING ||
		     l->state == LINK_HANDSHAKE) &&
		    l->due && (!due || l->due < due))
			due = l->due;
	}
	if (due) {
		its.it_value.tv_sec = due / 1000000000ULL;
		its.it_value.tv_nsec = due % 1000000000ULL;
	}
	timerfd_settime(t.timerfd, TFD_TIMER_ABSTIME, &its, NULL);
}

static void epoll_set(struct tcp_link *l, int op, uint32_t events)
{
	struct epoll_event e = { .events = events, .data.fd = l->fd };

	epoll_ctl(t.epfd, op, l->fd, &e);
}

/*
 * A close_notify alert through the kernel: a record of type 21 (alert)
 * is a sendmsg() with TLS_SET_RECORD_TYPE, its payload the level and the
 * description. A courtesy, as gnutls_bye(GNUTLS_SHUT_WR) is without kTLS:
 * not waited for, and lost if the socket is full; then the fd is closed.
 */
static void ktls_close_notify(int fd)
{
	uint8_t alert[2] = { GNUTLS_AL_WARNING, GNUTLS_A_CLOSE_NOTIFY };
	union {
		char buf[CMSG_SPACE(1)];
		struct cmsghdr align;
	} c = { 0 };
	struct iovec iov = { .iov_base = alert, .iov_len = sizeof(alert) };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1,
			     .msg_control = c.buf,
			     .msg_controllen = sizeof(c.buf) };
	struct cmsghdr *cm = CMSG_FIRSTHDR(&mh);

	cm->cmsg_level = SOL_TLS;
	cm->cmsg_type = TLS_SET_RECORD_TYPE;
	cm->cmsg_len = CMSG_LEN(1);
	*CMSG_DATA(cm) = TLS_RECORD_ALERT;
	sendmsg(fd, &mh, MSG_DONTWAIT | MSG_NOSIGNAL);
}

static void close_fd(struct tcp_link *l)
{
	if (l->sess) {
		/* A courtesy: no waiting for the peer's. */
		if (l->state == LINK_UP)
			gnutls_bye(l->sess, GNUTLS_SHUT_WR);
		gnutls_deinit(l->sess);
		l->sess = NULL;
	}
	if (l->ktls) {
		if (l->state == LINK_UP && l->fd >= 0)
			ktls_close_notify(l->fd);
		l->ktls = false;
		t.fig.ktls_links--;
	}
	l->tls_again = false;
	if (l->fd >= 0) {
		epoll_ctl(t.epfd, EPOLL_CTL_DEL, l->fd, NULL);
		close(l->fd);
	}
	l->fd = -1;
	explicit_bzero(l->out, l->outlen);
	l->outlen = 0;
	ph_rx_reset(&l->rx);
	explicit_bzero(l->rxbuf, sizeof(l->rxbuf));
}

/* A failure: the next attempt after a delay that doubles. */
static void back_off(struct tcp_link *l)
{
	l->failed = true;
	l->backoff_ms = l->backoff_ms ? l->backoff_ms * 2 : TCP_BACKOFF_MIN_MS;
	if (l->backoff_ms > TCP_BACKOFF_MAX_MS)
		l->backoff_ms = TCP_BACKOFF_MAX_MS;
	l->due = now_ns() + l->backoff_ms * 1000000ULL;
}

/* Try again after the backoff, logging why not this time. */
static void retry_later(struct tcp_link *l, const char *why)
{
	close_fd(l);
	if (l->ai)
		freeaddrinfo(l->ai);
	l->ai = l->cur = NULL;
	link_set(l, LINK_DOWN);
	snprintf(l->error, sizeof(l->error), "%s", why);
	back_off(l);
	t.fig.connect_failures++;
	warn("tcp: %s: connecting to %s port %u: %s; trying again in %u ms",
	     l->cfg.name, l->cfg.host, l->cfg.port, why, l->backoff_ms);
}

/* The link is gone or not to be trusted: out of service, connect again. */
static void link_down(struct tcp_link *l, const char *why)
{
	unsigned int i;

	if (l->state == LINK_UP)
		warn("tcp: %s: %s; connecting again", l->cfg.name, why);
	close_fd(l);
	link_set(l, LINK_DOWN);
	snprintf(l->error, sizeof(l->error), "%s", why);
	l->due = now_ns();	/* at once: the backoff is for failures */
	for (i = 0; i < l->nslots; i++) {
		struct tcp_slot *s = &l->slot[i];

		/* An answer that never comes: the kernel's timeout. */
		if (s->state == SLOT_FLIGHT)
			s->state = SLOT_LOST;
		/* Idle in the kernel: keep work away until connected. */
		if (s->state == SLOT_FREE && !s->admin_failed)
			set_state(s, PERSOHUB_STATE_FAILED);
	}
	tcp_corr_init(&l->corr, l->cfg.header_len, l->nslots);
}

static void flush_out(struct tcp_link *l)
{
	ssize_t n;

	while (l->outlen) {
		if (l->sess) {
			/* Again: the same record, GnuTLS has it (NULL, 0). */
			n = l->tls_again ?
			    gnutls_record_send(l->sess, NULL, 0) :
			    gnutls_record_send(l->sess, l->out, l->outlen);
			l->tls_again = n == GNUTLS_E_AGAIN ||
				       n == GNUTLS_E_INTERRUPTED;
			if (l->tls_again)
				break;
			if (n < 0) {
				char why[96];

				snprintf(why, sizeof(why), "sending: %s",
					 gnutls_strerror(n));
				link_down(l, why);
				return;
			}
		} else {
			n = send(l->fd, l->out, l->outlen,
				 MSG_NOSIGNAL | MSG_DONTWAIT);
		}
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN)
			break;
		if (n < 0) {
			char why[96];

			snprintf(why, sizeof(why), "sending: %s",
				 strerror(errno));
			link_down(l, why);
			return;
		}
		memmove(l->out, l->out + n, l->outlen - n);
		explicit_bzero(l->out + l->outlen - n, n);
		l->outlen -= n;
	}
	epoll_set(l, EPOLL_CTL_MOD, EPOLLIN | (l->outlen ? EPOLLOUT : 0));
}

static void link_readable(struct tcp_link *l);

/* Put slot @i's request on the link. */
static void send_slot(struct tcp_link *l, unsigned int i)
{
	struct tcp_slot *s = &l->slot[i];
	int len, ret;

	ret = tcp_corr_send(&l->corr, i, s->data, s->len);
	if (ret == -EMSGSIZE) {
		/* No header to tag it by: the station's error answer. */
		struct persohub_msg h = { .req_id = s->req_id,
					  .server_id = s->id };

		warn("tcp: %s: a request of %u bytes, shorter than the "
		     "%u-byte header; answered with the error frame",
		     s->name, s->len, l->cfg.header_len);
		if (write(s->devfd, &h, sizeof(h)) < 0)
			t.fig.refused++;
		slot_clear(s);
		return;
	}
	len = ph_framing_encode(l->cfg.framing, false, l->out + l->outlen,
				l->outcap - l->outlen, s->data, s->len);
	explicit_bzero(s->data, s->len);
	if (ret || len < 0) {
		/* Never: a free slot, room for each slot's frame. */
		tcp_corr_drop(&l->corr, i);
		slot_clear(s);
		return;
	}
	l->outlen += len;
	s->state = SLOT_FLIGHT;
	t.fig.requests++;
}

static void connected(struct tcp_link *l)
{
	int one = 1;
	unsigned int i;

	if (l->ai)
		freeaddrinfo(l->ai);
	l->ai = l->cur = NULL;
	link_set(l, LINK_UP);
	l->due = 0;
	l->backoff_ms = 0;
	setsockopt(l->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	tcp_corr_init(&l->corr, l->cfg.header_len, l->nslots);
	t.fig.connects++;
	info("tcp: %s: connected to %s port %u (%s%s)", l->cfg.name,
	     l->cfg.host, l->cfg.port, ph_framing_name(l->cfg.framing),
	     l->cfg.header_len ? ", tagged" : "");
	if (l->ktls)
		info("tcp: %s: %s, kTLS on (send and receive)", l->cfg.name,
		     l->tls_vers);
	else if (l->sess)
		info("tcp: %s: %s, kTLS off (%s)", l->cfg.name, l->tls_vers,
		     l->ktls_why);
	for (i = 0; i < l->nslots; i++) {
		struct tcp_slot *s = &l->slot[i];

		if (s->state == SLOT_PENDING)
			send_slot(l, i);
		else if (s->state == SLOT_FREE && !s->admin_failed &&
			 set_state(s, PERSOHUB_STATE_IDLE))
			warn("tcp: %s: cannot return to service", s->name);
	}
	flush_out(l);
	/* Records that came with the handshake's last flight. */
	if (l->state == LINK_UP && l->sess &&
	    gnutls_record_check_pending(l->sess))
		link_readable(l);
}

static void tls_failed(struct tcp_link *l, const char *why)
{
	t.fig.tls_failures++;
	retry_later(l, why);
}

/* One direction's keys in the kernel's form (linux/tls.h). */
union ktls_keys {
	struct tls_crypto_info info;
	struct tls12_crypto_info_aes_gcm_128 gcm128;
	struct tls12_crypto_info_aes_gcm_256 gcm256;
	struct tls12_crypto_info_chacha20_poly1305 chacha;
};

/*
 * The keys of one direction of @l's session (@read: the server's) from
 * GnuTLS into @k: its size, or 0 with the reason in ktls_why. The nonce
 * of a record is the salt then the iv: for TLS 1.3 the 12-byte IV split
 * 4 + 8 (the kernel XORs the sequence number in); for TLS 1.2 GCM the
 * 4-byte implicit IV and an explicit part that GnuTLS makes the sequence
 * number; ChaCha20-Poly1305 takes the whole 12 bytes as its iv.
 */
static socklen_t ktls_keys(struct tcp_link *l, unsigned int read,
			   union ktls_keys *k)
{
	gnutls_cipher_algorithm_t c = gnutls_cipher_get(l->sess);
	bool v13 = gnutls_protocol_get_version(l->sess) == GNUTLS_TLS1_3;
	uint8_t *key, *salt, *iv, *seq;
	gnutls_datum_t mac, giv, gkey;
	unsigned char gseq[8];
	size_t klen, slen, ivlen;
	socklen_t size;

	memset(k, 0, sizeof(*k));
	k->info.version = v13 ? TLS_1_3_VERSION : TLS_1_2_VERSION;
	switch (c) {
	case GNUTLS_CIPHER_AES_128_GCM:
		k->info.cipher_type = TLS_CIPHER_AES_GCM_128;
		key = k->gcm128.key, klen = sizeof(k->gcm128.key);
		salt = k->gcm128.salt, slen = sizeof(k->gcm128.salt);
		iv = k->gcm128.iv, ivlen = sizeof(k->gcm128.iv);
		seq = k->gcm128.rec_seq, size = sizeof(k->gcm128);
		break;
	case GNUTLS_CIPHER_AES_256_GCM:
		k->info.cipher_type = TLS_CIPHER_AES_GCM_256;
		key = k->gcm256.key, klen = sizeof(k->gcm256.key);
		salt = k->gcm256.salt, slen = sizeof(k->gcm256.salt);
		iv = k->gcm256.iv, ivlen = sizeof(k->gcm256.iv);
		seq = k->gcm256.rec_seq, size = sizeof(k->gcm256);
		break;
	case GNUTLS_CIPHER_CHACHA20_POLY1305:
		k->info.cipher_type = TLS_CIPHER_CHACHA20_POLY1305;
		key = k->chacha.key, klen = sizeof(k->chacha.key);
		salt = NULL, slen = 0;
		iv = k->chacha.iv, ivlen = sizeof(k->chacha.iv);
		seq = k->chacha.rec_seq, size = sizeof(k->chacha);
		break;
	default:
		snprintf(l->ktls_why, sizeof(l->ktls_why),
			 "the cipher %s is not one the kernel has",
			 gnutls_cipher_get_name(c));
		return 0;
	}
	if (gnutls_record_get_state(l->sess, read, &mac, &giv, &gkey, gseq) ||
	    gkey.size != klen ||
	    giv.size != (v13 || !slen ? slen + ivlen : slen)) {
		snprintf(l->ktls_why, sizeof(l->ktls_why),
			 "GnuTLS gave no keys of the expected sizes");
		explicit_bzero(k, sizeof(*k));
		return 0;
	}
	memcpy(key, gkey.data, klen);
	if (slen)
		memcpy(salt, giv.data, slen);
	/* big-endian, as rec_seq wants it */
	memcpy(iv, v13 || !slen ? giv.data + slen : gseq, ivlen);
	memcpy(seq, gseq, sizeof(gseq));
	explicit_bzero(gseq, sizeof(gseq));
	return size;
}

/*
 * The records to the kernel once the handshake is done: 1 if it has
 * them (the session is then freed), 0 if GnuTLS keeps them, -1 if the
 * link cannot go on (the kernel took the send keys and refused the
 * receive ones); ktls_why says why not.
 */
static int ktls_start(struct tcp_link *l)
{
	union ktls_keys tx, rx;
	socklen_t txlen, rxlen;
	int ret = 0;

	l->tls_vers = gnutls_protocol_get_name(gnutls_protocol_get_version(
						l->sess));
	if (l->cfg.ktls_no) {
		snprintf(l->ktls_why, sizeof(l->ktls_why), "ktls = no");
		return 0;
	}
	if (l->ktls_refused[0]) {
		snprintf(l->ktls_why, sizeof(l->ktls_why), "%s",
			 l->ktls_refused);
		return 0;
	}
	/* What GnuTLS has read already the kernel would never see. */
	if (gnutls_record_check_pending(l->sess)) {
		snprintf(l->ktls_why, sizeof(l->ktls_why),
			 "records came with the handshake");
		return 0;
	}
	txlen = ktls_keys(l, 0, &tx);
	rxlen = txlen ? ktls_keys(l, 1, &rx) : 0;
	if (!rxlen)
		goto out;
	/* Until TLS_TX, the socket is TCP as before: GnuTLS can go on. */
	if (setsockopt(l->fd, SOL_TCP, TCP_ULP, "tls", sizeof("tls"))) {
		snprintf(l->ktls_why, sizeof(l->ktls_why), "%s",
			 errno == ENOENT ? "no tls module in the kernel" :
			 strerror(errno));
	} else if (setsockopt(l->fd, SOL_TLS, TLS_TX, &tx, txlen)) {
		/* ENOENT: the crypto API found no such algorithm. */
		if (errno == ENOENT)
			snprintf(l->ktls_why, sizeof(l->ktls_why),
				 "the kernel has no %s (a crypto module)",
				 gnutls_cipher_get_name(gnutls_cipher_get(
								l->sess)));
		else
			snprintf(l->ktls_why, sizeof(l->ktls_why),
				 "the kernel refused the send keys: %s",
				 strerror(errno));
	} else if (setsockopt(l->fd, SOL_TLS, TLS_RX, &rx, rxlen)) {
		snprintf(l->ktls_refused, sizeof(l->ktls_refused),
			 "the kernel refused the receive keys: %s",
			 strerror(errno));
		snprintf(l->ktls_why, sizeof(l->ktls_why), "kTLS: %s",
			 l->ktls_refused);
		ret = -1;
	} else {
		gnutls_deinit(l->sess);
		l->sess = NULL;
		l->ktls = true;
		t.fig.ktls_links++;
		ret = 1;
	}
out:
	explicit_bzero(&tx, sizeof(tx));
	explicit_bzero(&rx, sizeof(rx));
	return ret;
}

/* The server's public key against the pin: NULL, or why not. */
static const char *pin_check(struct tcp_link *l)
{
	const gnutls_datum_t *crt;
	gnutls_datum_t der = { 0 };
	gnutls_pubkey_t pk = NULL;
	uint8_t sum[32];
	unsigned int n = 0;
	int ret;

	crt = gnutls_certificate_get_peers(l->sess, &n);
	if (!crt || !n)
		return "the server sent no certificate";
	ret = gnutls_pubkey_init(&pk);
	if (!ret)
		ret = gnutls_pubkey_import_x509_raw(pk, &crt[0],
						    GNUTLS_X509_FMT_DER, 0);
	if (!ret)
		ret = gnutls_pubkey_export2(pk, GNUTLS_X509_FMT_DER, &der);
	if (!ret)
		ret = gnutls_hash_fast(GNUTLS_DIG_SHA256, der.data, der.size,
				       sum);
	gnutls_free(der.data);
	if (pk)
		gnutls_pubkey_deinit(pk);
	if (ret)
		return "cannot read the server's public key";
	return memcmp(sum, l->cfg.pin, sizeof(sum)) ?
	       "the server's public key does not match the pin" : NULL;
}

/* One step of the handshake; connected() once it is done. */
static void handshake(struct tcp_link *l)
{
	char why[256];
	const char *bad;
	gnutls_datum_t out;
	size_t n;
	int ret;

	ret = gnutls_handshake(l->sess);
	if (ret == GNUTLS_E_AGAIN || ret == GNUTLS_E_INTERRUPTED) {
		epoll_set(l, EPOLL_CTL_MOD,
			  gnutls_record_get_direction(l->sess) ? EPOLLOUT :
			  EPOLLIN);
		return;
	}
	if (ret == GNUTLS_E_CERTIFICATE_VERIFICATION_ERROR &&
	    !gnutls_certificate_verification_status_print(
			gnutls_session_get_verify_cert_status(l->sess),
			GNUTLS_CRT_X509, &out, 0)) {
		snprintf(why, sizeof(why), "TLS: %s", out.data);
		gnutls_free(out.data);
		/* GnuTLS ends its sentences with a space. */
		for (n = strlen(why); n && why[n - 1] == ' '; )
			why[--n] = '\0';
		tls_failed(l, why);
		return;
	}
	if (ret < 0) {
		snprintf(why, sizeof(why), "TLS: %s", gnutls_strerror(ret));
		tls_failed(l, why);
		return;
	}
	if (l->cfg.pin_set && (bad = pin_check(l))) {
		snprintf(why, sizeof(why), "TLS: %s", bad);
		tls_failed(l, why);
		return;
	}
	epoll_set(l, EPOLL_CTL_MOD, EPOLLIN);
	if (ktls_start(l) < 0) {
		/* The next attempt stays on GnuTLS (ktls_refused). */
		tls_failed(l, l->ktls_why);
		return;
	}
	connected(l);
}

/* TCP is up: TLS on top, or the link is up. */
static void tcp_up(struct tcp_link *l)
{
	const char *prio = l->cfg.tls_min == 12 ?
		"NORMAL:-VERS-ALL:+VERS-TLS1.3:+VERS-TLS1.2" :
		"NORMAL:-VERS-ALL:+VERS-TLS1.3";
	struct in6_addr a;
	char why[128];
	int ret;

	if (!l->cred) {
		epoll_set(l, EPOLL_CTL_MOD, EPOLLIN);
		connected(l);
		return;
	}
	/*
	 * No session tickets: the server would send them after the
	 * handshake, records the kernel hands up as not data under kTLS.
	 */
	ret = gnutls_init(&l->sess, GNUTLS_CLIENT | GNUTLS_NONBLOCK |
			  GNUTLS_NO_TICKETS);
	if (!ret)
		ret = gnutls_priority_set_direct(l->sess, prio, NULL);
	if (!ret)
		ret = gnutls_credentials_set(l->sess, GNUTLS_CRD_CERTIFICATE,
					     l->cred);
	/* A name is sent (SNI); an address is checked in the certificate. */
	if (!ret && inet_pton(AF_INET, l->cfg.host, &a) != 1 &&
	    !strchr(l->cfg.host, ':'))
		ret = gnutls_server_name_set(l->sess, GNUTLS_NAME_DNS,
					     l->cfg.host, strlen(l->cfg.host));
	if (ret) {
		snprintf(why, sizeof(why), "TLS: %s", gnutls_strerror(ret));
		tls_failed(l, why);
		return;
	}
	gnutls_session_set_verify_cert(l->sess, l->cfg.host, 0);
	gnutls_transport_set_int(l->sess, l->fd);
	link_set(l, LINK_HANDSHAKE);
	l->due = now_ns() + TCP_CONNECT_MS * 1000000ULL;
	handshake(l);
}

/* Connect to the next address of the list, or fail the attempt. */
static void try_next(struct tcp_link *l)
{
	int fd;

	for (; l->cur; l->cur = l->cur->ai_next) {
		fd = socket(l->cur->ai_family,
			    SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
		if (fd < 0) {
			snprintf(l->why, sizeof(l->why), "%s", strerror(errno));
			continue;
		}
		l->fd = fd;
		if (!connect(fd, l->cur->ai_addr, l->cur->ai_addrlen)) {
			epoll_set(l, EPOLL_CTL_ADD, EPOLLIN);
			tcp_up(l);
			return;
		}
		if (errno == EINPROGRESS) {
			epoll_set(l, EPOLL_CTL_ADD, EPOLLOUT);
			link_set(l, LINK_CONNECTING);
			l->due = now_ns() + TCP_CONNECT_MS * 1000000ULL;
			return;
		}
		snprintf(l->why, sizeof(l->why), "%s", strerror(errno));
		close(fd);
		l->fd = -1;
	}
	retry_later(l, l->why[0] ? l->why : "no address");
}

static void *resolver(void *arg)
{
	struct addrinfo hints = { .ai_socktype = SOCK_STREAM,
				  .ai_flags = AI_NUMERICSERV };
	struct resolve_job *job = arg;

	job->err = getaddrinfo(job->host, job->port, &hints, &job->ai);
	/* A pointer is less than PIPE_BUF: written whole, or not at all. */
	if (write(t.rpipe[1], &job, sizeof(job)) != sizeof(job)) {
		if (!job->err)
			freeaddrinfo(job->ai);
		free(job);
	}
	return NULL;
}

static void start_attempt(struct tcp_link *l)
{
	struct addrinfo hints = { .ai_socktype = SOCK_STREAM,
				  .ai_flags = AI_NUMERICHOST | AI_NUMERICSERV };
	struct resolve_job *job;
	pthread_attr_t attr;
	pthread_t th;
	char port[8];
	int ret;

	l->why[0] = '\0';
	snprintf(port, sizeof(port), "%u", l->cfg.port);
	/* An address needs no resolver: connect from here. */
	ret = getaddrinfo(l->cfg.host, port, &hints, &l->ai);
	if (!ret) {
		l->cur = l->ai;
		try_next(l);
		return;
	}
	l->ai = NULL;
	job = calloc(1, sizeof(*job));
	if (!job) {
		retry_later(l, "out of memory");
		return;
	}
	job->link = l->idx;
	job->gen = l->gen = ++t.gen;
	snprintf(job->host, sizeof(job->host), "%s", l->cfg.host);
	snprintf(job->port, sizeof(job->port), "%s", port);
	pthread_attr_init(&attr);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	ret = pthread_create(&th, &attr, resolver, job);
	pthread_attr_destroy(&attr);
	if (ret) {
		free(job);
		retry_later(l, "cannot start the resolver thread");
		return;
	}
	link_set(l, LINK_RESOLVING);
	l->due = 0;
}

static void on_resolved(void)
{
	struct resolve_job *job;
	struct tcp_link *l;

	while (read(t.rpipe[0], &job, sizeof(job)) == sizeof(job)) {
		l = job->link < t.n ? t.l[job->link] : NULL;
		if (!l || l->state != LINK_RESOLVING || l->gen != job->gen) {
			/* For a link reconfigured since. */
			if (!job->err)
				freeaddrinfo(job->ai);
		} else if (job->err) {
			retry_later(l, gai_strerror(job->err));
		} else {
			l->ai = l->cur = job->ai;
			try_next(l);
		}
		free(job);
	}
}

/* EPOLLOUT on a connecting socket: connected, or why not. */
static void connect_done(struct tcp_link *l)
{
	socklen_t len = sizeof(int);
	int err = 0;

	if (getsockopt(l->fd, SOL_SOCKET, SO_ERROR, &err, &len) || err) {
		snprintf(l->why, sizeof(l->why), "%s",
			 strerror(err ? err : errno));
		close_fd(l);
		l->cur = l->cur->ai_next;
		try_next(l);
		return;
	}
	tcp_up(l);
}

static struct tcp_slot *slot_by_id(uint32_t id, struct tcp_link **lp)
{
	unsigned int i, j;

	for (i = 0; i < t.n; i++)
		for (j = 0; j < t.l[i]->nslots; j++)
			if (t.l[i]->slot[j].id == id) {
				*lp = t.l[i];
				return &t.l[i]->slot[j];
			}
	return NULL;
}

/*
 * Slot @i's request was given up on by the kernel. Without a tag the
 * link cannot tell its late answer from the next one's: it is closed.
 */
static void given_up(struct tcp_link *l, unsigned int i)
{
	struct tcp_slot *s = &l->slot[i];

	if (s->state == SLOT_FLIGHT) {
		t.fig.given_up++;
		if (!l->cfg.header_len)
			link_down(l, "a request was given up on; its answer "
				  "could pass for the next one's");
		else
			tcp_corr_drop(&l->corr, i);
	}
	slot_clear(s);
}

static void dev_readable(struct tcp_link *l, unsigned int i)
{
	static struct {
		struct persohub_msg h;
		uint8_t data[PERSOHUB_PAYLOAD_MAX];
	} m;
	struct tcp_slot *s = &l->slot[i];
	ssize_t n;

	while ((n = read(s->devfd, &m, sizeof(m))) > 0) {
		if ((size_t)n < sizeof(m.h) ||
		    m.h.len != (size_t)n - sizeof(m.h))
			continue;
		/*
		 * A server takes one request at a time: the kernel gave the
		 * last one up (its SERVER_FAILED not read yet, or lost).
		 */
		if (s->state != SLOT_FREE)
			given_up(l, i);
		s->req_id = m.h.req_id;
		s->len = m.h.len;
		memcpy(s->data, m.data, s->len);
		s->state = SLOT_PENDING;
		if (l->state == LINK_UP) {
			send_slot(l, i);
			flush_out(l);
		}
	}
	if (n < 0 && errno == ENODEV) {
		/* Deleted under us (persohubctl, rmmod): nothing to read. */
		warn("tcp: %s: the server was removed", s->name);
		epoll_ctl(t.epfd, EPOLL_CTL_DEL, s->devfd, NULL);
	}
	/* No payload left behind in memory. */
	explicit_bzero(&m, sizeof(m));
}

/*
 * Read from a kTLS socket. The kernel hands up a record that is not
 * data (an alert, a post-handshake message) on its own, its type in a
 * control message (a plain read() would fail with EIO): the bytes of
 * data read, 0 or -1 as read(), or -2 with the link taken down.
 */
static ssize_t ktls_read(struct tcp_link *l, uint8_t *buf, size_t len)
{
	union {
		char buf[CMSG_SPACE(1)];
		struct cmsghdr align;
	} c;
	struct iovec iov = { .iov_base = buf, .iov_len = len };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1,
			     .msg_control = c.buf,
			     .msg_controllen = sizeof(c.buf) };
	struct cmsghdr *cm;
	unsigned int type = TLS_RECORD_DATA;
	char why[128];
	ssize_t n;

	n = recvmsg(l->fd, &mh, MSG_DONTWAIT);
	if (n < 0)
		return n;
	cm = CMSG_FIRSTHDR(&mh);
	if (cm && cm->cmsg_level == SOL_TLS &&
	    cm->cmsg_type == TLS_GET_RECORD_TYPE)
		type = *CMSG_DATA(cm);
	if (type == TLS_RECORD_DATA)
		return n;
	if (type == TLS_RECORD_ALERT && n >= 2 &&
	    buf[1] == GNUTLS_A_CLOSE_NOTIFY) {
		/* The server's orderly end, as GnuTLS's 0 is. */
		link_down(l, "connection closed by the server");
	} else if (type == TLS_RECORD_ALERT && n >= 2) {
		const char *name = gnutls_alert_get_name(buf[1]);

		snprintf(why, sizeof(why), "TLS: the server sent the %s "
			 "alert '%s'", buf[0] == GNUTLS_AL_FATAL ? "fatal" :
			 "warning", name ? name : "unknown");
		t.fig.tls_failures++;
		link_down(l, why);
		back_off(l);
	} else {
		/* A KeyUpdate, a ticket: the kernel cannot, GnuTLS is gone. */
		snprintf(why, sizeof(why), "kTLS: a TLS record of type %u "
			 "(%zd bytes) that is not data", type, n);
		link_down(l, why);
	}
	explicit_bzero(buf, n);
	return -2;
}

static void link_readable(struct tcp_link *l)
{
	static struct {
		struct persohub_msg h;
		uint8_t data[PERSOHUB_PAYLOAD_MAX];
	} r;
	uint8_t buf[4096];
	struct tcp_slot *s;
	ssize_t n, i;
	uint16_t len;
	int k;

again:
	if (l->sess) {
		n = gnutls_record_recv(l->sess, buf, sizeof(buf));
		if (n == GNUTLS_E_AGAIN || n == GNUTLS_E_INTERRUPTED)
			return;
		if (n < 0 && !gnutls_error_is_fatal(n))
			goto again;	/* an alert, a new ticket */
		if (n < 0) {
			link_down(l, gnutls_strerror(n));
			return;
		}
	} else if (l->ktls) {
		n = ktls_read(l, buf, sizeof(buf));
		if (n == -2)
			return;
	} else {
		n = read(l->fd, buf, sizeof(buf));
	}
	if (n <= 0) {
		if (n == 0)
			link_down(l, "connection closed by the server");
		else if (errno != EAGAIN && errno != EINTR)
			link_down(l, strerror(errno));
		return;
	}
	for (i = 0; i < n && l->state == LINK_UP; i++) {
		if (ph_rx_feed(&l->rx, buf[i]) != PH_RX_FRAME)
			continue;
		len = ph_rx_payload_len(&l->rx);
		memcpy(r.data, l->rx.buf, len);
		ph_rx_release(&l->rx);
		k = tcp_corr_answer(&l->corr, r.data, len);
		if (k < 0) {
			/* A late answer, or one nobody asked for. */
			t.fig.unexpected++;
			explicit_bzero(r.data, len);
			continue;
		}
		s = &l->slot[k];
		r.h.req_id = s->req_id;
		r.h.server_id = s->id;
		r.h.len = len;
		if (write(s->devfd, &r, sizeof(r.h) + len) < 0)
			t.fig.refused++;
		else
			t.fig.responses++;
		explicit_bzero(r.data, len);
		slot_clear(s);
	}
	explicit_bzero(buf, n);
	/* GnuTLS may hold more records than epoll will tell of. */
	if (l->state == LINK_UP && l->sess)
		goto again;
}

static void tick(void)
{
	uint64_t now = now_ns(), ticks;
	unsigned int i;

	if (read(t.timerfd, &ticks, sizeof(ticks)) < 0 && errno == EAGAIN)
		return;
	for (i = 0; i < t.n; i++) {
		struct tcp_link *l = t.l[i];

		if (!l->due || l->due > now)
			continue;
		if (l->state == LINK_DOWN) {
			start_attempt(l);
		} else if (l->state == LINK_HANDSHAKE) {
			tls_failed(l, "TLS: no handshake in 3000 ms");
		} else if (l->state == LINK_CONNECTING) {
			snprintf(l->why, sizeof(l->why),
				 "no answer in %u ms", TCP_CONNECT_MS);
			close_fd(l);
			l->cur = l->cur->ai_next;
			try_next(l);
		}
	}
}

/* The CA, certificate and key of @l; a key others may read is refused. */
static int load_creds(struct tcp_link *l)
{
	struct stat st;
	int ret;

	if (stat(l->cfg.key, &st)) {
		error("tcp: %s: key %s: %s; not connecting", l->cfg.name,
		      l->cfg.key, strerror(errno));
		return -1;
	}
	if (st.st_mode & 077) {
		error("tcp: %s: key %s may be read by its group or others "
		      "(mode %04o): refused, not connecting; chmod 600 it",
		      l->cfg.name, l->cfg.key, st.st_mode & 07777);
		t.fig.tls_failures++;
		return -1;
	}
	ret = gnutls_certificate_allocate_credentials(&l->cred);
	if (ret) {
		error("tcp: %s: %s", l->cfg.name, gnutls_strerror(ret));
		return -1;
	}
	ret = gnutls_certificate_set_x509_trust_file(l->cred, l->cfg.ca,
						     GNUTLS_X509_FMT_PEM);
	if (ret <= 0) {
		error("tcp: %s: ca %s: %s; not connecting", l->cfg.name,
		      l->cfg.ca, ret ? gnutls_strerror(ret) :
		      "no certificate in it");
		goto err;
	}
	ret = gnutls_certificate_set_x509_key_file(l->cred, l->cfg.cert,
						   l->cfg.key,
						   GNUTLS_X509_FMT_PEM);
	if (ret < 0) {
		error("tcp: %s: cert %s, key %s: %s; not connecting",
		      l->cfg.name, l->cfg.cert, l->cfg.key,
		      gnutls_strerror(ret));
		goto err;
	}
	return 0;
err:
	gnutls_certificate_free_credentials(l->cred);
	l->cred = NULL;
	return -1;
}

int tcp_init(struct phnl *nl, int epfd, const struct config *cfg)
{
	struct epoll_event e = { .events = EPOLLIN };
	unsigned int i, j;
	int ret;

	t.nl = nl;
	t.epfd = epfd;
	t.n = 0;
	if (!cfg->ntcp)
		return 0;
	if (t.rpipe[0] < 0 &&
	    pipe2(t.rpipe, O_CLOEXEC | O_NONBLOCK)) {
		error("tcp: pipe: %s", strerror(errno));
		return -1;
	}
	t.timerfd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK);
	if (t.timerfd < 0) {
		error("tcp: timerfd: %s", strerror(errno));
		return -1;
	}
	e.data.fd = t.timerfd;
	epoll_ctl(epfd, EPOLL_CTL_ADD, t.timerfd, &e);
	e.data.fd = t.rpipe[0];
	epoll_ctl(epfd, EPOLL_CTL_ADD, t.rpipe[0], &e);
	for (i = 0; i < cfg->ntcp; i++) {
		struct tcp_link *l = calloc(1, sizeof(*l));

		if (!l) {
			error("tcp: %s: out of memory", cfg->tcp[i].name);
			continue;
		}
		l->cfg = cfg->tcp[i];
		l->fd = -1;
		l->idx = t.n;
		l->since_ns = now_ns();
		l->nslots = l->cfg.queue_depth ? l->cfg.queue_depth : 1;
		l->outcap = (size_t)l->nslots * ENC_MAX;
		l->out = calloc(1, l->outcap);
		/* hdlc or len16 (config.c): no gap on a stream */
		ph_rx_init(&l->rx, l->cfg.framing, false, l->rxbuf,
			   PH_PAYLOAD_MAX);
		tcp_corr_init(&l->corr, l->cfg.header_len, l->nslots);
		ret = l->out ? 0 : -ENOMEM;
		if (!ret && l->cfg.tls && load_creds(l)) {
			free(l->out);
			free(l);
			continue;
		}
		for (j = 0; j < l->nslots && !ret; j++) {
			struct tcp_slot *s = &l->slot[j];

			char name[CONFIG_NAME_LEN];

			s->devfd = -1;
			memcpy(name, l->cfg.name, sizeof(name));
			if (j)
				snprintf(s->name, sizeof(s->name), "%.31s.%u",
					 name, (j + 1) % 100);
			else
				snprintf(s->name, sizeof(s->name), "%s", name);
			ret = user_server(l, s);
			if (ret)
				error("tcp: %s: cannot add the server %s: %s",
				      l->cfg.name, s->name, strerror(-ret));
		}
		if (ret) {
			for (j = 0; j < l->nslots; j++)
				del_server(&l->slot[j]);
			if (l->cred)
				gnutls_certificate_free_credentials(l->cred);
			free(l->out);
			free(l);
			continue;
		}
		t.l[t.n++] = l;
		start_attempt(l);
	}
	rearm();
	return 0;
}

void tcp_fini(void)
{
	unsigned int i, j;

	for (i = 0; i < t.n; i++) {
		struct tcp_link *l = t.l[i];

		close_fd(l);
		if (l->ai)
			freeaddrinfo(l->ai);
		for (j = 0; j < l->nslots; j++) {
			del_server(&l->slot[j]);
			slot_clear(&l->slot[j]);
		}
		explicit_bzero(l->out, l->outcap);
		if (l->cred)
			gnutls_certificate_free_credentials(l->cred);
		free(l->out);
		free(l);
		t.l[i] = NULL;
	}
	t.n = 0;
	if (t.timerfd >= 0) {
		epoll_ctl(t.epfd, EPOLL_CTL_DEL, t.timerfd, NULL);
		close(t.timerfd);
		t.timerfd = -1;
	}
	/* The pipe stays: a resolver thread may still answer into it. */
	if (t.rpipe[0] >= 0)
		epoll_ctl(t.epfd, EPOLL_CTL_DEL, t.rpipe[0], NULL);
}

void tcp_server_failed(uint32_t id, uint32_t reason)
{
	struct tcp_link *l;
	struct tcp_slot *s = slot_by_id(id, &l);

	if (!s)
		return;
	if (reason == PERSOHUB_REASON_ADMIN) {
		/* Ours when the link went down, else an administrator's. */
		if (s->own_fails)
			s->own_fails--;
		else
			s->admin_failed = true;
		return;
	}
	if (reason != PERSOHUB_REASON_TIMEOUT)
		return;
	t.fig.timeouts++;
	given_up(l, s - l->slot);
	/* A tag tells a late answer: the link serves on at once. */
	if (l->state == LINK_UP && !s->admin_failed &&
	    set_state(s, PERSOHUB_STATE_IDLE))
		warn("tcp: %s: cannot return to service", s->name);
	rearm();
}

void tcp_server_ready(uint32_t id)
{
	struct tcp_link *l;
	struct tcp_slot *s = slot_by_id(id, &l);

	/* Back in service, whoever did it. */
	if (s)
		s->admin_failed = false;
}

const struct tcp_figures *tcp_figures(void)
{
	return &t.fig;
}

bool tcp_handle(int fd)
{
	unsigned int i, j;

	if (fd < 0)
		return false;
	if (fd == t.timerfd || fd == t.rpipe[0]) {
		if (fd == t.timerfd)
			tick();
		else
			on_resolved();
		rearm();
		return true;
	}
	for (i = 0; i < t.n; i++) {
		struct tcp_link *l = t.l[i];

		if (l->fd == fd) {
			if (l->state == LINK_CONNECTING)
				connect_done(l);
			else if (l->state == LINK_HANDSHAKE)
				handshake(l);
			else if (l->state == LINK_UP)
				link_readable(l);
			if (l->state == LINK_UP && l->outlen)
				flush_out(l);
			rearm();
			return true;
		}
		for (j = 0; j < l->nslots; j++)
			if (l->slot[j].devfd == fd) {
				dev_readable(l, j);
				rearm();
				return true;
			}
	}
	return false;
}

const char *tcp_link_state_name(enum tcp_link_state s)
{
	switch (s) {
	case TCP_LINK_CONNECTING:
		return "connecting";
	case TCP_LINK_CONNECTED:
		return "connected";
	case TCP_LINK_BACKOFF:
		return "backoff";
	}
	return "?";
}

bool tcp_link_info(unsigned int i, struct tcp_link_info *info)
{
	const struct tcp_link *l;

	if (i >= t.n || !t.l[i])
		return false;
	l = t.l[i];
	info->name = l->cfg.name;
	info->host = l->cfg.host;
	info->port = l->cfg.port;
	info->id = l->nslots ? l->slot[0].id : 0;
	info->state = l->state == LINK_UP ? TCP_LINK_CONNECTED :
		      l->state == LINK_DOWN && l->failed ? TCP_LINK_BACKOFF :
		      TCP_LINK_CONNECTING;
	info->since_ns = l->since_ns;
	info->error = l->error;
	return true;
}
