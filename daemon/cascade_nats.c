// SPDX-License-Identifier: GPL-2.0
/*
 * The cascade's NATS side (cascade_nats.h).
 *
 * Why a worker thread and an eventfd, not nats.c's event-loop adapter
 * (natsOptions_SetEventLoop): with the adapter nats.c still connects,
 * reconnects and runs the TLS handshake synchronously in the caller's
 * thread, delivers messages on its own threads, and a publish may write
 * to the socket with the connection's lock held. Any of those in the
 * SCHED_FIFO loop would stall every station of the site for as long as
 * a NATS server takes to answer, or a LAN to time out. So the loop never
 * calls nats.c: it hands messages to this worker (ordinary priority, as
 * are the threads nats.c starts from it) through a ring, and takes what
 * nats.c's callbacks received from another ring when an eventfd says so.
 * Each ring's lock is priority-inheriting and held only for a copy.
 * A ring that is full loses nothing silently: a request out is given
 * back at once, a reply lost is a timeout (a retry), a remote request
 * is answered "busy".
 */
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <nats/nats.h>

#include "cascade_core.h"
#include "cascade_nats.h"
#include "log.h"

#define RING_SIZE	128
#define DRAINED_MAX	32

struct ring {
	pthread_mutex_t mu;
	pthread_cond_t cond;	/* the worker's ring: something to do */
	unsigned int head, tail;	/* head - tail messages queued */
	struct cn_msg *m;
};

static struct {
	struct ring out, in;
	int efd;
	pthread_t thread;
	bool running, stop;
	/* what the worker needs of the configuration, copied */
	struct config_cascade cfg;
	char name[CONFIG_NAME_LEN];
	char token[CASC_CLASSES][CONFIG_NAME_LEN];
	/* the worker's own */
	natsConnection *nc;
	natsOptions *opts;
	natsSubscription *replies, *frees;
	natsSubscription *sub[CASC_CLASSES];
	natsSubscription *drained[DRAINED_MAX];	/* left, still draining */
	unsigned int ndrained;
	char inbox[96];
	struct cn_figures fig;
	struct cn_msg work;	/* the message in hand */
} n = { .efd = -1 };

static int ring_init(struct ring *r)
{
	pthread_mutexattr_t a;

	pthread_mutexattr_init(&a);
	pthread_mutexattr_setprotocol(&a, PTHREAD_PRIO_INHERIT);
	pthread_mutex_init(&r->mu, &a);
	pthread_mutexattr_destroy(&a);
	pthread_cond_init(&r->cond, NULL);
	r->head = r->tail = 0;
	r->m = calloc(RING_SIZE, sizeof(*r->m));
	return r->m ? 0 : -ENOMEM;
}

static void ring_fini(struct ring *r)
{
	if (!r->m)
		return;
	explicit_bzero(r->m, RING_SIZE * sizeof(*r->m));
	free(r->m);
	r->m = NULL;
	pthread_mutex_destroy(&r->mu);
	pthread_cond_destroy(&r->cond);
}

/* Copy @m in: 0, or -EAGAIN if full. Only the header and the payload. */
static int ring_put(struct ring *r, const struct cn_msg *m)
{
	struct cn_msg *slot;

	pthread_mutex_lock(&r->mu);
	if (r->head - r->tail == RING_SIZE) {
		pthread_mutex_unlock(&r->mu);
		return -EAGAIN;
	}
	slot = &r->m[r->head % RING_SIZE];
	memcpy(slot, m, offsetof(struct cn_msg, data));
	memcpy(slot->data, m->data, m->len);
	r->head++;
	pthread_cond_signal(&r->cond);
	pthread_mutex_unlock(&r->mu);
	return 0;
}

static bool ring_take(struct ring *r, struct cn_msg *m)
{
	struct cn_msg *slot;

	pthread_mutex_lock(&r->mu);
	if (r->head == r->tail) {
		pthread_mutex_unlock(&r->mu);
		return false;
	}
	slot = &r->m[r->tail % RING_SIZE];
	memcpy(m, slot, offsetof(struct cn_msg, data));
	memcpy(m->data, slot->data, slot->len);
	explicit_bzero(slot->data, slot->len);
	r->tail++;
	pthread_mutex_unlock(&r->mu);
	return true;
}

/* From nats.c's threads to the loop. */
static int to_loop(const struct cn_msg *m)
{
	uint64_t one = 1;

	if (ring_put(&n.in, m)) {
		__atomic_add_fetch(&n.fig.dropped_in, 1, __ATOMIC_RELAXED);
		return -EAGAIN;
	}
	if (write(n.efd, &one, sizeof(one)) < 0 && errno != EAGAIN)
		return -errno;
	return 0;
}

static void conn_state(bool up)
{
	static __thread struct cn_msg m;

	m.type = CN_CONN;
	m.status = up;
	m.len = 0;
	to_loop(&m);
}

static void on_connected(natsConnection *nc, void *closure)
{
	(void)nc;
	(void)closure;
	__atomic_add_fetch(&n.fig.connects, 1, __ATOMIC_RELAXED);
	conn_state(true);
}

static void on_disconnected(natsConnection *nc, void *closure)
{
	(void)nc;
	(void)closure;
	__atomic_add_fetch(&n.fig.disconnects, 1, __ATOMIC_RELAXED);
	conn_state(false);
}

static const char *header(natsMsg *msg, const char *key)
{
	const char *v = NULL;

	if (natsMsgHeader_Get(msg, key, &v) != NATS_OK)
		return NULL;
	return v;
}

/* A reply to one of our requests, on our inbox. */
static void on_reply(natsConnection *nc, natsSubscription *sub, natsMsg *msg,
		     void *closure)
{
	static __thread struct cn_msg m;
	const char *srv;
	int len = natsMsg_GetDataLength(msg);

	(void)nc;
	(void)sub;
	(void)closure;
	memset(&m, 0, offsetof(struct cn_msg, data));
	m.type = CN_ANSWER;
	if (casc_token_parse(natsMsg_GetSubject(msg), &m.slot, &m.seq) ||
	    len < 0 || len > PERSOHUB_PAYLOAD_MAX)
		goto out;	/* not ours to take: late by the loop's count */
	m.kind = casc_reply_kind(natsMsg_IsNoResponders(msg),
				 header(msg, "Persohub-Status"));
	srv = header(msg, "Persohub-Server");
	snprintf(m.req, sizeof(m.req), "%s", srv ? srv : "");
	m.len = m.kind == CASC_REPLY_ANSWER ? len : 0;
	memcpy(m.data, natsMsg_GetData(msg), m.len);
	to_loop(&m);
	explicit_bzero(m.data, m.len);
out:
	natsMsg_Destroy(msg);
}

static void reply_busy(natsMsg *req)
{
	natsMsg *r;

	if (natsMsg_Create(&r, natsMsg_GetReply(req), NULL, NULL, 0) !=
	    NATS_OK)
		return;
	natsMsgHeader_Set(r, "Persohub-Status", "busy");
	natsConnection_PublishMsg(n.nc, r);
	natsMsg_Destroy(r);
}

/* A request another hub sent to a class we offer. */
static void on_remote(natsConnection *nc, natsSubscription *sub, natsMsg *msg,
		      void *closure)
{
	static __thread struct cn_msg m;
	const char *prio, *req;
	int len = natsMsg_GetDataLength(msg);

	(void)nc;
	(void)sub;
	if (!natsMsg_GetReply(msg) ||
	    strlen(natsMsg_GetReply(msg)) >= sizeof(m.subject))
		goto out;	/* nobody to answer */
	memset(&m, 0, offsetof(struct cn_msg, data));
	m.type = CN_REMOTE;
	m.klass = (uintptr_t)closure;
	prio = header(msg, "Persohub-Priority");
	m.prio = prio ? atoi(prio) & 7 : 0;
	req = header(msg, "Persohub-Req");
	snprintf(m.req, sizeof(m.req), "%s", req ? req : "?");
	snprintf(m.subject, sizeof(m.subject), "%s", natsMsg_GetReply(msg));
	if (len <= 0 || len > PERSOHUB_PAYLOAD_MAX) {
		m.len = 0;	/* the loop answers it with an error */
	} else {
		m.len = len;
		memcpy(m.data, natsMsg_GetData(msg), len);
	}
	if (to_loop(&m))
		reply_busy(msg);
	explicit_bzero(m.data, m.len);
out:
	natsMsg_Destroy(msg);
}

/* persohub.SITE.free.CLASS */
static void on_free(natsConnection *nc, natsSubscription *sub, natsMsg *msg,
		    void *closure)
{
	const char *subj = natsMsg_GetSubject(msg), *tok;
	struct cn_msg m = { .type = CN_FREE };
	unsigned int k;

	(void)nc;
	(void)sub;
	(void)closure;
	tok = strrchr(subj, '.');
	for (k = 0; tok && k < CASC_CLASSES; k++)
		if (n.token[k][0] && !strcmp(tok + 1, n.token[k])) {
			m.klass = k;
			to_loop(&m);
			break;
		}
	natsMsg_Destroy(msg);
}

static void log_status(const char *what, natsStatus s)
{
	warn("cascade: %s: %s (%s)", what, natsStatus_GetText(s),
	     nats_GetLastError(NULL) ? nats_GetLastError(NULL) : "");
}

static int nats_connect(void)
{
	const char *urls[CONFIG_CASCADE_SERVERS];
	char subj[CN_SUBJECT_LEN];
	natsInbox *inbox = NULL;
	natsStatus s;
	unsigned int i;

	for (i = 0; i < n.cfg.nservers; i++)
		urls[i] = n.cfg.servers[i];
	s = natsOptions_Create(&n.opts);
	if (s == NATS_OK)
		s = natsOptions_SetServers(n.opts, urls, n.cfg.nservers);
	if (s == NATS_OK)
		s = natsOptions_SetName(n.opts, n.name);
	/* Our own requests and announcements are not for us. */
	if (s == NATS_OK)
		s = natsOptions_SetNoEcho(n.opts, true);
	/* 165 µs a round trip instead of 1 ms (DESIGN.md). */
	if (s == NATS_OK)
		s = natsOptions_SetSendAsap(n.opts, true);
	/* For ever, quickly: a hub is useless to the others while away. */
	if (s == NATS_OK)
		s = natsOptions_SetMaxReconnect(n.opts, -1);
	if (s == NATS_OK)
		s = natsOptions_SetReconnectWait(n.opts, 250);
	if (s == NATS_OK)
		s = natsOptions_SetTimeout(n.opts, 2000);
	/* A cut cable is noticed within about 2 s. */
	if (s == NATS_OK)
		s = natsOptions_SetPingInterval(n.opts, 500);
	if (s == NATS_OK)
		s = natsOptions_SetMaxPingsOut(n.opts, 3);
	if (s == NATS_OK)
		s = natsOptions_SetDisconnectedCB(n.opts, on_disconnected,
						  NULL);
	if (s == NATS_OK)
		s = natsOptions_SetReconnectedCB(n.opts, on_connected, NULL);
	if (s == NATS_OK)
		s = natsOptions_SetRetryOnFailedConnect(n.opts, true,
							on_connected, NULL);
	if (s == NATS_OK && n.cfg.ca[0]) {
		s = natsOptions_SetSecure(n.opts, true);
		if (s == NATS_OK)
			s = natsOptions_LoadCATrustedCertificates(n.opts,
								  n.cfg.ca);
		if (s == NATS_OK)
			s = natsOptions_LoadCertificatesChain(n.opts,
							      n.cfg.cert,
							      n.cfg.key);
	}
	if (s != NATS_OK) {
		log_status("options", s);
		return -EINVAL;
	}
	s = natsConnection_Connect(&n.nc, n.opts);
	if (s == NATS_OK) {
		on_connected(n.nc, NULL);
	} else if (s == NATS_NOT_YET_CONNECTED) {
		info("cascade: no NATS server yet; trying on");
	} else {
		log_status("connect", s);
		return -EIO;
	}
	s = natsInbox_Create(&inbox);
	if (s == NATS_OK) {
		snprintf(n.inbox, sizeof(n.inbox), "%s", (const char *)inbox);
		natsInbox_Destroy(inbox);
		snprintf(subj, sizeof(subj), "%s.*.*", n.inbox);
		s = natsConnection_Subscribe(&n.replies, n.nc, subj, on_reply,
					     NULL);
	}
	if (s == NATS_OK) {
		snprintf(subj, sizeof(subj), "persohub.%s.free.*", n.cfg.site);
		s = natsConnection_Subscribe(&n.frees, n.nc, subj, on_free,
					     NULL);
	}
	if (s != NATS_OK) {
		log_status("subscribe", s);
		return -EIO;
	}
	return 0;
}

static void publish(natsMsg *msg)
{
	natsStatus s = natsConnection_PublishMsg(n.nc, msg);

	if (s != NATS_OK)
		n.fig.publish_errors++;
}

/* A request out: published, or given back at once. */
static void do_request(struct cn_msg *m)
{
	char subj[CN_SUBJECT_LEN], reply[CN_SUBJECT_LEN], v[16];
	natsMsg *msg = NULL;
	natsStatus s;

	snprintf(subj, sizeof(subj), "persohub.%s.req.%s", n.cfg.site,
		 n.token[m->klass % CASC_CLASSES]);
	snprintf(reply, sizeof(reply), "%s.%u.%llu", n.inbox, m->slot,
		 (unsigned long long)m->seq);
	s = n.nc && natsConnection_Status(n.nc) == NATS_CONN_STATUS_CONNECTED ?
	    natsMsg_Create(&msg, subj, reply, (const char *)m->data, m->len) :
	    NATS_NOT_YET_CONNECTED;
	if (s == NATS_OK) {
		natsMsgHeader_Set(msg, "Persohub-Req", m->req);
		snprintf(v, sizeof(v), "%u", m->klass);
		natsMsgHeader_Set(msg, "Persohub-Class", v);
		snprintf(v, sizeof(v), "%u", m->prio);
		natsMsgHeader_Set(msg, "Persohub-Priority", v);
		s = natsConnection_PublishMsg(n.nc, msg);
		natsMsg_Destroy(msg);
	}
	if (s != NATS_OK) {
		/* Not sent: as if nobody listened. */
		m->type = CN_ANSWER;
		m->kind = CASC_REPLY_NO_RESPONDERS;
		m->len = 0;
		to_loop(m);
	}
}

/*
 * Stop listening on class @k: drained, not unsubscribed, so that a
 * request delivered to us already is still handed to the loop (which
 * answers it, "busy" if need be) rather than dropped unanswered.
 */
static void leave(unsigned int k)
{
	unsigned int i, j;

	for (i = j = 0; i < n.ndrained; i++) {
		if (natsSubscription_IsValid(n.drained[i]))
			n.drained[j++] = n.drained[i];
		else
			natsSubscription_Destroy(n.drained[i]);
	}
	n.ndrained = j;
	if (n.ndrained == DRAINED_MAX) {
		natsSubscription_WaitForDrainCompletion(n.drained[0], 1000);
		natsSubscription_Destroy(n.drained[0]);
		memmove(n.drained, n.drained + 1,
			--n.ndrained * sizeof(n.drained[0]));
	}
	if (natsSubscription_DrainTimeout(n.sub[k], 5000) == NATS_OK) {
		n.drained[n.ndrained++] = n.sub[k];
	} else {
		natsSubscription_Unsubscribe(n.sub[k]);
		natsSubscription_Destroy(n.sub[k]);
	}
	n.sub[k] = NULL;
}

static void do_sub(const struct cn_msg *m)
{
	char subj[CN_SUBJECT_LEN], queue[CN_SUBJECT_LEN];
	unsigned int k = m->klass % CASC_CLASSES;
	natsMsg *msg;
	natsStatus s;

	if (m->type == CN_UNSUB) {
		if (n.sub[k])
			leave(k);
		return;
	}
	if (!n.sub[k]) {
		snprintf(subj, sizeof(subj), "persohub.%s.req.%s", n.cfg.site,
			 n.token[k]);
		snprintf(queue, sizeof(queue), "persohub.%s.%s", n.cfg.site,
			 n.token[k]);
		s = natsConnection_QueueSubscribe(&n.sub[k], n.nc, subj, queue,
						  on_remote,
						  (void *)(uintptr_t)k);
		if (s != NATS_OK) {
			n.sub[k] = NULL;
			log_status("queue subscribe", s);
			return;
		}
	}
	snprintf(subj, sizeof(subj), "persohub.%s.free.%s", n.cfg.site,
		 n.token[k]);
	if (natsMsg_Create(&msg, subj, NULL, n.name, strlen(n.name)) ==
	    NATS_OK) {
		publish(msg);
		natsMsg_Destroy(msg);
	}
}

static void do_reply(const struct cn_msg *m)
{
	char v[CONFIG_NAME_LEN + 16];
	natsMsg *msg;

	if (natsMsg_Create(&msg, m->subject, NULL, (const char *)m->data,
			   m->len) != NATS_OK) {
		n.fig.publish_errors++;
		return;
	}
	if (m->status == CN_STATUS_BUSY)
		snprintf(v, sizeof(v), "busy");
	else
		snprintf(v, sizeof(v), "%u", m->status);
	natsMsgHeader_Set(msg, "Persohub-Status", v);
	snprintf(v, sizeof(v), "%s/%u", n.name, m->server);
	natsMsgHeader_Set(msg, "Persohub-Server", v);
	publish(msg);
	natsMsg_Destroy(msg);
}

static void *worker(void *arg)
{
	struct cn_msg *m = &n.work;
	unsigned int k;

	(void)arg;
	if (nats_connect())
		error("cascade: not connected to NATS; this hub works alone");
	for (;;) {
		pthread_mutex_lock(&n.out.mu);
		while (n.out.head == n.out.tail && !n.stop)
			pthread_cond_wait(&n.out.cond, &n.out.mu);
		pthread_mutex_unlock(&n.out.mu);
		if (n.stop)
			break;
		if (!ring_take(&n.out, m))
			continue;
		if (!n.nc) {
			if (m->type == CN_REQUEST)
				do_request(m);	/* given back */
		} else if (m->type == CN_REQUEST) {
			do_request(m);
		} else if (m->type == CN_SUB || m->type == CN_UNSUB) {
			do_sub(m);
		} else if (m->type == CN_REPLY) {
			do_reply(m);
		}
		explicit_bzero(m->data, m->len);
	}
	/* Gone, and forgotten: a cascade started again starts afresh. */
	for (k = 0; k < CASC_CLASSES; k++) {
		natsSubscription_Destroy(n.sub[k]);
		n.sub[k] = NULL;
	}
	for (k = 0; k < n.ndrained; k++)
		natsSubscription_Destroy(n.drained[k]);
	n.ndrained = 0;
	natsSubscription_Destroy(n.replies);
	natsSubscription_Destroy(n.frees);
	natsConnection_Destroy(n.nc);
	natsOptions_Destroy(n.opts);
	n.replies = n.frees = NULL;
	n.nc = NULL;
	n.opts = NULL;
	return NULL;
}

int cn_start(const struct config *cfg, const char *name)
{
	struct sched_param sp = { 0 };
	pthread_attr_t a;
	unsigned int k;
	int ret;

	n.cfg = cfg->cascade;
	snprintf(n.name, sizeof(n.name), "%s", name);
	for (k = 0; k < CASC_CLASSES; k++)
		config_class_token(cfg, k, n.token[k], sizeof(n.token[k]));
	n.efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (n.efd < 0)
		return -errno;
	if (ring_init(&n.out) || ring_init(&n.in)) {
		cn_stop();
		return -ENOMEM;
	}
	/* Not the loop's SCHED_FIFO: nats.c's threads inherit from it. */
	pthread_attr_init(&a);
	pthread_attr_setinheritsched(&a, PTHREAD_EXPLICIT_SCHED);
	pthread_attr_setschedpolicy(&a, SCHED_OTHER);
	pthread_attr_setschedparam(&a, &sp);
	n.stop = false;
	ret = pthread_create(&n.thread, &a, worker, NULL);
	pthread_attr_destroy(&a);
	if (ret) {
		cn_stop();
		return -ret;
	}
	pthread_setname_np(n.thread, "persohubd-nats");
	n.running = true;
	return n.efd;
}

void cn_stop(void)
{
	if (n.running) {
		pthread_mutex_lock(&n.out.mu);
		n.stop = true;
		pthread_cond_signal(&n.out.cond);
		pthread_mutex_unlock(&n.out.mu);
		pthread_join(n.thread, NULL);
		n.running = false;
	}
	ring_fini(&n.out);
	ring_fini(&n.in);
	if (n.efd >= 0)
		close(n.efd);
	n.efd = -1;
}

int cn_put(const struct cn_msg *m)
{
	if (ring_put(&n.out, m)) {
		n.fig.dropped_out++;
		return -EAGAIN;
	}
	return 0;
}

bool cn_take(struct cn_msg *m)
{
	return ring_take(&n.in, m);
}

void cn_ack(void)
{
	uint64_t v;

	if (read(n.efd, &v, sizeof(v)) < 0)
		return;
}

const struct cn_figures *cn_figures(void)
{
	return &n.fig;
}
