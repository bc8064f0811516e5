// SPDX-License-Identifier: GPL-2.0
/*
 * The hub: requests from station ports, matching to idle server ports,
 * responses back in each station's request order, timeouts and retries.
 *
 * Matching happens where a request or a server becomes available: in the
 * receive interrupt of a station, in the receive interrupt of a server that
 * just answered, in a timeout, and when an administrator returns a server
 * to service. There is no polling and no tick. While a controller is
 * attached the hub does not match: it announces requests and idle servers
 * as events and waits for the controller's dispatch.
 *
 * Every request ends exactly once: with the server's response or with the
 * error frame (an empty frame) sent to its station, in the station's
 * request order. A request whose station is gone is dropped and counted.
 *
 * A request's path, from any backend: a complete frame, copied out as a
 * request in the station's receive path (ph_port_rx_byte(), port.c), is
 * handed over by ph_port_deliver() -> ph_hub_rx_frame() -> ph_station_request()
 * -> ph_hub_match() -> ph_dispatch() -> the server's txq and its backend's
 * start_tx (uart.c, tty.c) or the station device (user.c); the answer,
 * copied out in the server's receive path: ph_server_rx() ->
 * ph_server_answer() -> ph_station_flush() -> the station's txq. Nothing
 * here allocates or encodes: see the locking notes in persohub.h.
 *
 * The rest of the hub: ports and their settings in port.c, the controller
 * in ctrl.c, userspace servers in user.c.
 */

#include <linux/jiffies.h>
#include <linux/ktime.h>
#include <linux/log2.h>
#include <linux/module.h>
#include <linux/slab.h>
#include <net/netlink.h>

#include "persohub.h"

struct ph_hub ph_hub = {
	.lock = __SPIN_LOCK_UNLOCKED(ph_hub.lock),
	.cfg_lock = __MUTEX_INITIALIZER(ph_hub.cfg_lock),
	.ports = LIST_HEAD_INIT(ph_hub.ports),
	.waiting = LIST_HEAD_INIT(ph_hub.waiting),
	.idle = LIST_HEAD_INIT(ph_hub.idle),
};

unsigned int ph_max_retries = 1;

static int ph_max_retries_set(const char *val, const struct kernel_param *kp)
{
	unsigned int n;
	int ret;

	ret = kstrtouint(val, 0, &n);
	if (ret)
		return ret;
	if (n > PH_MAX_RETRIES)
		return -ERANGE;
	WRITE_ONCE(ph_max_retries, n);
	return 0;
}

static const struct kernel_param_ops ph_max_retries_ops = {
	.set = ph_max_retries_set,
	.get = param_get_uint,
};

module_param_cb(max_retries, &ph_max_retries_ops, &ph_max_retries, 0644);

MODULE_PARM_DESC(max_retries,
		 "times a request is dispatched again after a server timeout (0-1000)");

static void ph_hist_add(u64 *hist, u64 ns)
{
	unsigned int b = ns ? min_t(unsigned int, ilog2(ns) + 1,
				    PH_HIST_BUCKETS - 1) : 0;

	hist[b]++;
}

static void ph_ev_request(u8 cmd, struct ph_request *req, u32 result)
{
	struct ph_event ev = {
		.cmd = cmd,
		.port_id = req->station->id,
		.server_id = req->server_id,
		.req_id = req->id,
		.len = req->len,
		.rx_ns = req->rx_ns,
		.result = result,
		.klass = req->klass,
		.priority = req->priority,
	};

	if (cmd == PERSOHUB_CMD_REQUEST_DONE) {
		ev.latency_ns = ktime_get_ns() - req->rx_ns;
		ev.retries = req->retries;
		ev.timed_out = req->timed_out;
		ev.seq = req->seq;
		if (req->dispatch_ns)
			ev.wait_ns = req->dispatch_ns - req->rx_ns;
	}
	ph_nl_event(&ev);
}

static void ph_ev_server(u8 cmd, struct ph_port *srv, u32 reason)
{
	struct ph_event ev = {
		.cmd = cmd,
		.port_id = srv->id,
		.server_id = srv->id,
		.reason = reason,
	};

	ph_nl_event(&ev);
}

void ph_request_free(struct ph_request *req)
{
	ph_txbuf_free(req->errtb);
	ph_txbuf_free(req->resp);
	kfree_sensitive(req);
}

/*
 * Waiting requests: on ph_hub.waiting in arrival (id) order, and on the
 * list of their priority and class, in the same order, for the matching.
 */
static void ph_cwait_add(struct ph_request *req)
{
	struct list_head *head = &ph_hub.cwait[req->priority][req->klass];
	struct ph_request *pos;

	ph_hub.classes[req->klass].waiting++;
	ph_hub.cwait_mask[req->priority] |= BIT_ULL(req->klass);
	list_for_each_entry_reverse(pos, head, cwait_node) {
		if (pos->id < req->id) {
			list_add(&req->cwait_node, &pos->cwait_node);
			return;
		}
	}
	list_add(&req->cwait_node, head);
}

/* Keep ph_hub.waiting in arrival (id) order when a request comes back. */
static void ph_waiting_insert(struct ph_request *req)
{
	struct ph_request *pos;

	ph_hub.nwaiting++;
	ph_cwait_add(req);
	list_for_each_entry_reverse(pos, &ph_hub.waiting, wait_node) {
		if (pos->id < req->id) {
			list_add(&req->wait_node, &pos->wait_node);
			return;
		}
	}
	list_add(&req->wait_node, &ph_hub.waiting);
}

static void ph_waiting_del(struct ph_request *req)
{
	if (list_empty(&req->wait_node))
		return;
	list_del_init(&req->wait_node);
	ph_hub.nwaiting--;
	list_del_init(&req->cwait_node);
	ph_hub.classes[req->klass].waiting--;
	if (list_empty(&ph_hub.cwait[req->priority][req->klass]))
		ph_hub.cwait_mask[req->priority] &= ~BIT_ULL(req->klass);
}

/* The classes some waiting request is of. */
static u64 ph_waiting_classes(void)
{
	u64 mask = 0;
	unsigned int p;

	for (p = 0; p < PH_PRIORITIES; p++)
		mask |= ph_hub.cwait_mask[p];
	return mask;
}

/*
 * The request an idle server serving @classes takes: the oldest of those
 * that waited their class's max_wait_ms, if any; else the oldest of the
 * highest priority. NULL if none of them waits.
 */
static struct ph_request *ph_best_request(u64 classes, u64 now)
{
	struct ph_request *req, *best = NULL, *aged = NULL;
	unsigned long mask;
	unsigned int c;
	int p;
	u64 max;

	for (p = PH_PRIORITIES - 1; p >= 0; p--) {
		mask = ph_hub.cwait_mask[p] & classes;
		for_each_set_bit(c, &mask, PH_CLASSES) {
			req = list_first_entry(&ph_hub.cwait[p][c],
					       struct ph_request, cwait_node);
			max = (u64)ph_hub.classes[c].max_wait_ms * NSEC_PER_MSEC;
			if (max && now - req->rx_ns >= max &&
			    (!aged || req->id < aged->id))
				aged = req;
			if (!best || (best->priority == p && req->id < best->id))
				best = req;
		}
	}
	return aged ?: best;
}

/* Could an idle server take a waiting request? */
bool ph_hub_can_match(void)
{
	u64 classes = ph_waiting_classes();
	struct ph_port *srv;

	/* An overflow server takes only what a controller sends it. */
	list_for_each_entry(srv, &ph_hub.idle, idle_node)
		if (!srv->overflow && (srv->classes & classes))
			return true;
	return false;
}

/*
 * @req of the remote station @st ended, with @resp or failed: it waits on
 * @st's done list until its device reads it back.
 */
static void ph_remote_ended(struct ph_port *st, struct ph_request *req,
			    struct ph_txbuf *resp)
{
	ph_txbuf_free(req->errtb);
	req->errtb = NULL;
	req->resp = resp;
	if (resp)
		req->status = 0;
	else if (req->resp_lost)
		req->status = ENOMEM;
	else if (!req->status)
		req->status = EREMOTEIO;	/* the server's error answer */
	list_move_tail(&req->station_node, &st->done);
	st->ndone++;
	ph_station_dev_wake(st);
}

/*
 * Send every answered request at the head of the station's list, in the
 * station's framing. A response that cannot be encoded (no memory, or a
 * payload the station's framing cannot carry) becomes the error frame,
 * which each request carries from its arrival: a station always gets its
 * answer, and the event says which one.
 */
static void ph_station_flush(struct ph_port *st)
{
	struct ph_request *req, *tmp;
	struct ph_txbuf *tb;
	u32 result;

	list_for_each_entry_safe(req, tmp, &st->reqs, station_node) {
		if (req->state != PH_REQ_ANSWERED)
			break;
		tb = req->resp;
		req->resp = NULL;
		if (tb && !ph_port_carries(st, tb)) {
			st->stats.frame_refused++;
			ph_txbuf_free(tb);
			tb = NULL;
		}
		if (tb) {
			st->stats.responses++;
			result = PERSOHUB_RESULT_OK;
		} else {
			if (req->resp_lost)
				st->stats.dropped++;
			tb = req->errtb;
			req->errtb = NULL;
			st->stats.errors_sent++;
			ph_hub.classes[req->klass].failed++;
			result = req->accepted ? PERSOHUB_RESULT_ERROR :
						 PERSOHUB_RESULT_REJECTED;
		}
		ph_hub.classes[req->klass].done++;
		ph_ev_request(PERSOHUB_CMD_REQUEST_DONE, req, result);
		st->backlog--;
		if (req->accepted)
			st->outstanding--;
		if (st->remote) {
			ph_remote_ended(st, req, result == PERSOHUB_RESULT_OK ?
					tb : NULL);
			continue;
		}
		ph_port_queue_txbuf(st, tb);
		list_del(&req->station_node);
		ph_request_free(req);
	}
}

/* End @req with the error frame. */
static void ph_request_fail(struct ph_request *req)
{
	req->state = PH_REQ_ANSWERED;
	ph_txbuf_free(req->resp);
	req->resp = NULL;
	ph_station_flush(req->station);
}

/*
 * @srv is idle: ready for a request, unless the administrator disabled it;
 * it then stays off the idle list, and no controller hears it is ready.
 */
void ph_server_make_idle(struct ph_port *srv, u64 now)
{
	srv->probing = false;
	srv->settling = false;
	srv->state = PH_STATE_IDLE;
	srv->cur = NULL;
	srv->idle_since = now;
	if (!srv->enabled)
		return;
	list_add_tail(&srv->idle_node, &ph_hub.idle);
	ph_ev_server(PERSOHUB_CMD_SERVER_READY, srv, 0);
}

/*
 * @srv is done with its request, whatever the outcome. The request forgets
 * its server here: a server can go away (USER_SERVER_DEL, card unbind)
 * while the request waits for its turn on the station, and only the id
 * recorded at dispatch may be used after this.
 */
/*
 * The administrator's state of @srv: a disabled server leaves the idle
 * list, an enabled idle one goes back on it (and is announced ready).
 */
void ph_server_set_enabled(struct ph_port *srv, bool enabled)
{
	srv->enabled = enabled;
	if (srv->role != PH_ROLE_SERVER)
		return;
	if (!enabled) {
		list_del_init(&srv->idle_node);
		return;
	}
	if (srv->state == PH_STATE_IDLE && list_empty(&srv->idle_node)) {
		list_add_tail(&srv->idle_node, &ph_hub.idle);
		ph_ev_server(PERSOHUB_CMD_SERVER_READY, srv, 0);
	}
}

void ph_server_end_busy(struct ph_port *srv, u64 now)
{
	struct ph_request *req = srv->cur;

	srv->stats.busy_ns += now - srv->busy_start;
	srv->cur = NULL;
	if (!req)
		return;
	req->server = NULL;
	if (srv->user) {
		/* Not readable on the station device any more. */
		list_del_init(&req->user_node);
		req->holder = NULL;
	} else {
		/* Not sent any more, if it was still waiting its turn. */
		ph_port_unqueue(srv, &req->txb);
	}
}

void ph_server_fail(struct ph_port *srv, u32 reason)
{
	srv->probing = false;
	srv->settling = false;
	list_del_init(&srv->idle_node);
	srv->state = PH_STATE_FAILED;
	srv->cur = NULL;
	ph_ev_server(PERSOHUB_CMD_SERVER_FAILED, srv, reason);
}

/*
 * Send @req to the idle server @srv, in @srv's framing. A request that
 * framing cannot carry fails with its station's error answer and @srv
 * stays idle: -EILSEQ. Otherwise 0.
 */
int ph_dispatch(struct ph_request *req, struct ph_port *srv)
{
	u64 now = ktime_get_ns();
	u64 wait;

	req->timed_out = false;
	if (!srv->user && !ph_port_carries(srv, &req->txb)) {
		srv->stats.frame_refused++;
		ph_waiting_del(req);
		req->status = EILSEQ;
		ph_request_fail(req);
		return -EILSEQ;
	}
	ph_waiting_del(req);
	list_del_init(&srv->idle_node);
	req->state = PH_REQ_ACTIVE;
	req->server = srv;
	req->server_id = srv->id;
	srv->state = PH_STATE_BUSY;
	srv->cur = req;
	srv->busy_start = now;
	srv->stats.requests++;
	srv->deadline = jiffies + msecs_to_jiffies(srv->timeout_ms);
	mod_timer(&srv->timer, srv->deadline);
	if (srv->user) {
		list_add_tail(&req->user_node, &req->station->user_reqs);
		ph_station_dev_wake(req->station);
		ph_station_dev_wake(srv);
	} else {
		srv->cur_seq = ph_port_queue_request(srv, &req->txb);
	}
	req->dispatch_ns = now;
	wait = ktime_get_ns() - req->rx_ns;
	ph_hist_add(ph_hub.dispatch_hist, wait);
	ph_hub.dispatch_sum_ns += wait;
	ph_hub.classes[req->klass].dispatched++;
	ph_hub.classes[req->klass].wait_ns += wait;
	ph_hist_add(ph_hub.classes[req->klass].wait_hist, wait);
	return 0;
}

/*
 * The kernel's own matching: the longest idle server takes the best
 * waiting request among its classes (ph_best_request()).
 */
void ph_hub_match(void)
{
	struct ph_port *srv, *tmp;
	struct ph_request *req;
	u64 now;

	if (ph_hub.ctrl && !ph_hub.ctrl_stalled) {
		ph_grace_arm();
		return;
	}
	/*
	 * Each idle server, the longest idle first, takes the best request
	 * of its classes; one that takes none stays idle, and still finds
	 * none after later dispatches, which only take requests away. A
	 * request its framing cannot carry fails, and the server tries the
	 * next one.
	 */
	now = ktime_get_ns();
	list_for_each_entry_safe(srv, tmp, &ph_hub.idle, idle_node) {
		if (srv->overflow)
			continue;
		while (ph_hub.nwaiting &&
		       (req = ph_best_request(srv->classes, now)))
			if (!ph_dispatch(req, srv))
				break;
		if (!ph_hub.nwaiting)
			return;
	}
}

/*
 * @req, a frame @st received or a request written to a remote station's
 * device, is a new request.
 */
void ph_station_request(struct ph_port *st, struct ph_request *req)
{
	bool accept;

	st->stats.requests++;
	accept = st->outstanding < st->queue_depth;
	if (!accept) {
		st->stats.queue_full++;
		/*
		 * A station that sends on without waiting for its answers
		 * gets a few error frames in turn, then nothing: past that
		 * its frames cost a counter and no event.
		 */
		if (st->backlog - st->outstanding >= PH_STATION_REJECT_MAX) {
			st->stats.dropped++;
			ph_request_free(req);
			return;
		}
	}
	INIT_LIST_HEAD(&req->wait_node);
	INIT_LIST_HEAD(&req->cwait_node);
	INIT_LIST_HEAD(&req->user_node);
	req->id = ++ph_hub.next_id;
	req->rx_ns = ktime_get_ns();
	req->seq = st->stats.requests;
	req->station = st;
	list_add_tail(&req->station_node, &st->reqs);
	st->backlog++;
	if (!accept) {
		/* Answered with the error frame, in its turn. */
		ph_request_fail(req);
		return;
	}
	req->accepted = true;
	st->outstanding++;
	req->state = PH_REQ_WAITING;
	ph_waiting_insert(req);
	ph_ev_request(PERSOHUB_CMD_REQUEST_NEW, req, 0);
	ph_hub_match();
}

/*
 * @srv answered @resp (NULL or empty: an explicit error, or, with @lost,
 * an answer there was no memory for).
 */
void ph_server_answer(struct ph_port *srv, struct ph_txbuf *resp, bool lost)
{
	struct ph_request *req = srv->cur;
	u64 now = ktime_get_ns();

	srv->stats.responses++;
	if (req) {
		ph_hub.classes[req->klass].answers++;
		ph_hub.classes[req->klass].service_ns += now - srv->busy_start;
	}
	ph_server_end_busy(srv, now);
	if (srv->settle_ms && !srv->user) {
		/*
		 * The line carries no request id: a second answer arriving
		 * after the next dispatch would pass for its answer. The
		 * server stays out of the idle list until its line has been
		 * quiet settle_ms (each byte starts the time again); what it
		 * sends meanwhile is counted and dropped.
		 */
		srv->settling = true;
		srv->deadline = jiffies + msecs_to_jiffies(srv->settle_ms);
		mod_timer(&srv->timer, srv->deadline);
	} else {
		ph_server_make_idle(srv, now);
	}
	if (resp && !resp->len) {
		ph_txbuf_free(resp);
		resp = NULL;
	}
	if (!req) {
		/* Its station went away while it worked. */
		ph_txbuf_free(resp);
		ph_hub_match();
		return;
	}

	req->state = PH_REQ_ANSWERED;
	req->resp = resp;
	req->resp_lost = lost;
	ph_station_flush(req->station);
	ph_hub_match();
}

/* @srv received @tb; @lost: a frame there was no memory for. */
static void ph_server_rx(struct ph_port *srv, struct ph_txbuf *tb, bool lost)
{
	if (srv->state == PH_STATE_FAILED && srv->probing) {
		/* It answers again: back to service. */
		ph_txbuf_free(tb);
		srv->probing = false;
		ph_server_make_idle(srv, ktime_get_ns());
		ph_nl_port_changed(srv);
		ph_hub_match();
		return;
	}
	if (srv->state != PH_STATE_BUSY || srv->settling ||
	    (tb && tb->seq != srv->cur_seq)) {
		/*
		 * Late, duplicate or unsolicited: nobody asked; or complete
		 * before the request it would answer was sent.
		 */
		ph_txbuf_free(tb);
		srv->stats.unexpected_frames++;
		return;
	}
	ph_server_answer(srv, tb, lost);
}

/*
 * A complete, valid frame from @port (ph_port_deliver()): a request if the
 * port was a station when it arrived, a bare payload otherwise. Hub lock.
 */
void ph_hub_rx_frame(struct ph_port *port, struct ph_txbuf *tb)
{
	struct ph_request *req = tb->owned ? NULL :
				 container_of(tb, struct ph_request, txb);

	if (port->role == PH_ROLE_STATION && req) {
		ph_station_request(port, req);
		return;
	}
	if (port->role == PH_ROLE_SERVER && !req) {
		ph_server_rx(port, tb, false);
		return;
	}
	/* Off, or a frame from before the port's role changed. */
	port->stats.unexpected_frames++;
	if (req)
		ph_request_free(req);
	else
		ph_txbuf_free(tb);
}

/*
 * @port received @n frames it had no memory for: a station's are dropped
 * (it times out), a busy server's answer becomes its station's error.
 */
void ph_hub_rx_lost(struct ph_port *port, u32 n)
{
	if (port->role != PH_ROLE_SERVER) {
		port->stats.dropped += n;
		return;
	}
	while (n--)
		ph_server_rx(port, NULL, true);
}

/* Take @req off its server: retry it elsewhere, or fail it. */
void ph_request_requeue(struct ph_request *req, bool count_retry)
{
	struct ph_port *st = req->station;

	if (count_retry) {
		if (req->retries >= READ_ONCE(ph_max_retries)) {
			req->status = req->timed_out ? ETIMEDOUT : EIO;
			ph_request_fail(req);
			return;
		}
		req->retries++;
		st->stats.retries++;
	}
	req->state = PH_REQ_WAITING;
	req->server = NULL;
	ph_waiting_insert(req);
	ph_ev_request(PERSOHUB_CMD_REQUEST_NEW, req, 0);
}

void ph_server_timeout(struct timer_list *t)
{
	struct ph_port *srv = timer_container_of(srv, t, timer);
	struct ph_request *req;
	unsigned long flags;
	u64 now, last, quiet;

	spin_lock_irqsave(&ph_hub.lock, flags);
	req = srv->cur;
	if (srv->state != PH_STATE_BUSY || time_before(jiffies, srv->deadline))
		goto out;
	if (srv->settling) {
		/* Quiet long enough after its answer? Free again. */
		spin_lock(&srv->lock);
		last = srv->rx_last_ns;
		spin_unlock(&srv->lock);
		now = ktime_get_ns();
		quiet = (u64)srv->settle_ms * NSEC_PER_MSEC;
		if (now - last < quiet) {
			/* Not quiet yet: the settle time starts again. */
			srv->deadline = jiffies +
					nsecs_to_jiffies(last + quiet - now) + 1;
			mod_timer(&srv->timer, srv->deadline);
			goto out;
		}
		ph_server_make_idle(srv, now);
		ph_hub_match();
		goto out;
	}

	srv->stats.timeouts++;
	ph_server_end_busy(srv, ktime_get_ns());
	ph_txq_purge(srv);
	ph_server_fail(srv, PERSOHUB_REASON_TIMEOUT);
	pr_warn_ratelimited("server %s timed out, marked failed\n", srv->name);
	if (req) {
		req->timed_out = true;
		ph_request_requeue(req, true);
	}
	ph_hub_match();
out:
	spin_unlock_irqrestore(&ph_hub.lock, flags);
}

/* Every request a station has outstanding goes away with it. */
static void ph_station_drop_all(struct ph_port *st)
{
	struct ph_request *req, *tmp;

	struct ph_port *srv;

	list_for_each_entry_safe(req, tmp, &st->reqs, station_node) {
		srv = req->server;
		if (req->state == PH_REQ_ACTIVE && srv) {
			/* The server's answer will go nowhere. */
			ph_server_end_busy(srv, ktime_get_ns());
			/* A userspace server cannot even see it: free it. */
			if (srv->user)
				ph_server_make_idle(srv, ktime_get_ns());
		}
		ph_waiting_del(req);
		list_del_init(&req->user_node);
		list_del(&req->station_node);
		st->stats.dropped++;
		ph_ev_request(PERSOHUB_CMD_REQUEST_DONE, req,
			      PERSOHUB_RESULT_DROPPED);
		ph_request_free(req);
	}
	st->backlog = 0;
	st->outstanding = 0;
	/* Ended already, never read back: they go too. */
	list_for_each_entry_safe(req, tmp, &st->done, station_node) {
		list_del(&req->station_node);
		ph_request_free(req);
	}
	st->ndone = 0;
}

/* A server leaves service for good: its request goes to another. */
static void ph_server_gone(struct ph_port *srv)
{
	struct ph_request *req = srv->cur;

	if (srv->state == PH_STATE_BUSY && !srv->settling) {
		ph_server_end_busy(srv, ktime_get_ns());
		if (req)
			ph_request_requeue(req, false);
	}
	ph_server_fail(srv, PERSOHUB_REASON_GONE);
}

/*
 * The card holding @port is going away. Its station requests are dropped
 * (nobody is left to answer to); a request on it as a server goes back to
 * the queue without using a retry, since the server did not fail it.
 */
void ph_hub_port_dead(struct ph_port *port)
{
	ph_port_kill(port);
	switch (port->role) {
	case PH_ROLE_STATION:
		ph_station_drop_all(port);
		break;
	case PH_ROLE_SERVER:
		ph_server_gone(port);
		break;
	case PH_ROLE_OFF:
		break;
	}
	ph_hub_match();
}

/* Class @id's max_wait_ms: its waiting requests age by it at once. */
int ph_class_set(u32 id, u32 max_wait_ms)
{
	if (id > PERSOHUB_CLASS_MAX)
		return -ERANGE;
	if (max_wait_ms > PH_MAX_WAIT_MS_MAX)
		return -ERANGE;
	spin_lock_irq(&ph_hub.lock);
	ph_hub.classes[id].max_wait_ms = max_wait_ms;
	ph_hub_match();
	spin_unlock_irq(&ph_hub.lock);
	return 0;
}

/* Health probe of a failed serial server. */
int ph_hub_probe(u32 server_id, const u8 *data, u16 len)
{
	struct ph_txbuf *tb;
	struct ph_port *srv;
	int ret;

	tb = ph_txbuf_copy(data, len, GFP_KERNEL);
	if (!tb)
		return -ENOMEM;
	spin_lock_irq(&ph_hub.lock);
	srv = ph_port_find_id(server_id);
	if (!srv || srv->role != PH_ROLE_SERVER || srv->dead) {
		ret = -ENODEV;
	} else if (srv->user) {
		ret = -EOPNOTSUPP;
	} else if (srv->state != PH_STATE_FAILED) {
		ret = -EINVAL;
	} else {
		ret = ph_port_queue_frame(srv, tb);	/* it takes @tb */
		tb = NULL;
	}
	if (!ret)
		srv->probing = true;
	spin_unlock_irq(&ph_hub.lock);
	ph_txbuf_free(tb);
	return ret;
}

void ph_hub_init(void)
{
	unsigned int p, c;

	for (p = 0; p < PH_PRIORITIES; p++)
		for (c = 0; c < PH_CLASSES; c++)
			INIT_LIST_HEAD(&ph_hub.cwait[p][c]);
	ida_init(&ph_hub.port_ida);
	ph_ctrl_init();
}

void ph_hub_exit(void)
{
	struct ph_port *port, *tmp;

	/* Userspace servers left behind go with the module. */
	list_for_each_entry_safe(port, tmp, &ph_hub.ports, hub_node) {
		if (port->user) {
			mutex_lock(&ph_hub.cfg_lock);
			ph_user_server_del(port);
		}
	}
	ph_ctrl_exit();
	WARN_ON(!list_empty(&ph_hub.ports));
	WARN_ON(!list_empty(&ph_hub.waiting));
	ida_destroy(&ph_hub.port_ida);
}
