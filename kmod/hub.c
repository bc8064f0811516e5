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
 */

#include <linux/ctype.h>
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

unsigned int ph_ctrl_grace_ms = 1000;
module_param_named(ctrl_grace_ms, ph_ctrl_grace_ms, uint, 0644);
MODULE_PARM_DESC(ctrl_grace_ms,
		 "how long a request may wait for a stuck controller before the hub matches it itself");

#define PH_STAT(_f) { #_f, offsetof(struct ph_port_stats, _f) }

const struct ph_stat_desc ph_stat_descs[__PERSOHUB_STAT_MAX] = {
	[PERSOHUB_STAT_RX_BYTES] = PH_STAT(rx_bytes),
	[PERSOHUB_STAT_TX_BYTES] = PH_STAT(tx_bytes),
	[PERSOHUB_STAT_OVERRUNS] = PH_STAT(overruns),
	[PERSOHUB_STAT_FRAMING_ERRORS] = PH_STAT(framing_errors),
	[PERSOHUB_STAT_PARITY_ERRORS] = PH_STAT(parity_errors),
	[PERSOHUB_STAT_BREAKS] = PH_STAT(breaks),
	[PERSOHUB_STAT_RX_FRAMES] = PH_STAT(rx_frames),
	[PERSOHUB_STAT_TX_FRAMES] = PH_STAT(tx_frames),
	[PERSOHUB_STAT_FCS_ERRORS] = PH_STAT(fcs_errors),
	[PERSOHUB_STAT_FRAME_TOO_LONG] = PH_STAT(frame_too_long),
	[PERSOHUB_STAT_FRAME_TOO_SHORT] = PH_STAT(frame_too_short),
	[PERSOHUB_STAT_FRAME_ABORTS] = PH_STAT(frame_aborts),
	[PERSOHUB_STAT_REQUESTS] = PH_STAT(requests),
	[PERSOHUB_STAT_RESPONSES] = PH_STAT(responses),
	[PERSOHUB_STAT_ERRORS_SENT] = PH_STAT(errors_sent),
	[PERSOHUB_STAT_TIMEOUTS] = PH_STAT(timeouts),
	[PERSOHUB_STAT_RETRIES] = PH_STAT(retries),
	[PERSOHUB_STAT_QUEUE_FULL] = PH_STAT(queue_full),
	[PERSOHUB_STAT_UNEXPECTED_FRAMES] = PH_STAT(unexpected_frames),
	[PERSOHUB_STAT_DROPPED] = PH_STAT(dropped),
	[PERSOHUB_STAT_BUSY_NS] = PH_STAT(busy_ns),
};

static const char * const ph_role_names[] = {
	[PH_ROLE_OFF] = "off",
	[PH_ROLE_STATION] = "station",
	[PH_ROLE_SERVER] = "server",
};

static const char * const ph_state_names[] = {
	[PH_STATE_IDLE] = "idle",
	[PH_STATE_BUSY] = "busy",
	[PH_STATE_FAILED] = "failed",
};

const char *ph_role_name(enum ph_role role)
{
	return ph_role_names[role];
}

const char *ph_state_name(enum ph_state state)
{
	return ph_state_names[state];
}

static void ph_hist_add(u64 *hist, u64 ns)
{
	unsigned int b = ns ? min_t(unsigned int, ilog2(ns) + 1,
				    PH_HIST_BUCKETS - 1) : 0;

	hist[b]++;
}

/* Events: metadata only, never payload. */

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
	};

	if (cmd == PERSOHUB_CMD_REQUEST_DONE)
		ev.latency_ns = ktime_get_ns() - req->rx_ns;
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

/* One frame, encoded for the wire; NULL if there is no memory. */
static struct ph_txbuf *ph_txbuf_new(const u8 *payload, u16 len)
{
	struct ph_txbuf *tb;

	tb = kmalloc(struct_size(tb, data, PH_ENCODED_MAX(len)), GFP_ATOMIC);
	if (!tb)
		return NULL;
	tb->pos = 0;
	tb->len = ph_frame_encode(tb->data, payload, len);
	return tb;
}

/* Send @tb on @port, which owns it from now on. Hub lock held. */
static void ph_port_queue_txbuf(struct ph_port *port, struct ph_txbuf *tb)
{
	if (port->dead || port->user) {
		kfree_sensitive(tb);
		return;
	}
	list_add_tail(&tb->node, &port->txq);
	port->ops->start_tx(port);
}

/*
 * Move up to @room bytes of the frames queued on @port into @buf, for its
 * backend to send. Hub lock held. Returns the number of bytes.
 */
unsigned int ph_port_tx_take(struct ph_port *port, u8 *buf, unsigned int room)
{
	struct ph_txbuf *tb;
	unsigned int n = 0, k;

	lockdep_assert_held(&ph_hub.lock);
	while (n < room) {
		tb = list_first_entry_or_null(&port->txq, struct ph_txbuf, node);
		if (!tb)
			break;
		k = min(room - n, tb->len - tb->pos);
		memcpy(buf + n, tb->data + tb->pos, k);
		tb->pos += k;
		n += k;
		if (tb->pos == tb->len) {
			list_del(&tb->node);
			port->stats.tx_frames++;
			kfree_sensitive(tb);
		}
	}
	port->stats.tx_bytes += n;
	return n;
}

/*
 * One byte received on @port, from its backend's receive path (the card's
 * interrupt, the tty's receive work). Hub lock held.
 */
void ph_port_rx_byte(struct ph_port *port, u8 c)
{
	enum ph_rx_event ev;

	lockdep_assert_held(&ph_hub.lock);
	port->stats.rx_bytes++;
	if (port->settling) {
		/* Not quiet yet: the settle time starts again. */
		port->deadline = jiffies + msecs_to_jiffies(port->settle_ms);
		mod_timer(&port->timer, port->deadline);
	}
	ev = ph_deframer_feed(&port->rx, c);
	switch (ev) {
	case PH_RX_NONE:
		break;
	case PH_RX_FRAME:
		port->stats.rx_frames++;
		ph_hub_rx_frame(port, port->rx.buf,
				ph_deframer_payload_len(&port->rx));
		ph_deframer_release(&port->rx);
		break;
	case PH_RX_BAD_FCS:
		port->stats.fcs_errors++;
		break;
	case PH_RX_TOO_SHORT:
		port->stats.frame_too_short++;
		break;
	case PH_RX_TOO_LONG:
		port->stats.frame_too_long++;
		break;
	case PH_RX_ABORT:
		port->stats.frame_aborts++;
		break;
	}
}

/* Line settings any backend can check: 0, or why they cannot be. */
int ph_line_check_common(const struct ph_line *line, u32 max_baud)
{
	if (line->baud < 50 || line->baud > max_baud)
		return -ERANGE;
	if (line->data_bits < 5 || line->data_bits > 8)
		return -EINVAL;
	if (line->stop_bits != 1 && line->stop_bits != 2)
		return -EINVAL;
	if (!line->parity || !strchr("noems", line->parity))
		return -EINVAL;
	return 0;
}

/* Queue one frame for transmission on @port. Caller holds ph_hub.lock. */
int ph_port_queue_frame(struct ph_port *port, const u8 *payload, u16 len)
{
	struct ph_txbuf *tb;

	if (port->dead || port->user)
		return -ENODEV;
	tb = ph_txbuf_new(payload, len);
	if (!tb) {
		port->stats.dropped++;
		return -ENOMEM;
	}
	ph_port_queue_txbuf(port, tb);
	return 0;
}

static void ph_txq_purge(struct ph_port *port)
{
	struct ph_txbuf *tb, *tmp;

	list_for_each_entry_safe(tb, tmp, &port->txq, node) {
		list_del(&tb->node);
		kfree_sensitive(tb);
	}
}

static void ph_request_free(struct ph_request *req)
{
	kfree(req->errtb);
	kfree_sensitive(req->resp);
	kfree_sensitive(req);
}

/* Keep ph_hub.waiting in arrival (id) order when a request comes back. */
static void ph_waiting_insert(struct ph_request *req)
{
	struct ph_request *pos;

	ph_hub.nwaiting++;
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
}

/*
 * Send every answered request at the head of the station's list. A
 * response that cannot be encoded (no memory) becomes the error frame,
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
		tb = req->resp ? ph_txbuf_new(req->resp, req->resp_len) : NULL;
		if (tb) {
			st->stats.responses++;
			result = PERSOHUB_RESULT_OK;
		} else {
			if (req->resp)
				st->stats.dropped++;
			tb = req->errtb;
			req->errtb = NULL;
			st->stats.errors_sent++;
			result = req->accepted ? PERSOHUB_RESULT_ERROR :
						 PERSOHUB_RESULT_REJECTED;
		}
		ph_port_queue_txbuf(st, tb);
		ph_ev_request(PERSOHUB_CMD_REQUEST_DONE, req, result);
		list_del(&req->station_node);
		st->backlog--;
		if (req->accepted)
			st->outstanding--;
		ph_request_free(req);
	}
}

/* End @req with the error frame. */
static void ph_request_fail(struct ph_request *req)
{
	req->state = PH_REQ_ANSWERED;
	kfree_sensitive(req->resp);
	req->resp = NULL;
	ph_station_flush(req->station);
}

static void ph_server_make_idle(struct ph_port *srv, u64 now)
{
	srv->probing = false;
	srv->settling = false;
	srv->state = PH_STATE_IDLE;
	srv->cur = NULL;
	srv->idle_since = now;
	list_add_tail(&srv->idle_node, &ph_hub.idle);
	ph_ev_server(PERSOHUB_CMD_SERVER_READY, srv, 0);
}

/*
 * @srv is done with its request, whatever the outcome. The request forgets
 * its server here: a server can go away (USER_SERVER_DEL, card unbind)
 * while the request waits for its turn on the station, and only the id
 * recorded at dispatch may be used after this.
 */
static void ph_server_end_busy(struct ph_port *srv, u64 now)
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
	}
}

static void ph_server_fail(struct ph_port *srv, u32 reason)
{
	srv->probing = false;
	srv->settling = false;
	list_del_init(&srv->idle_node);
	srv->state = PH_STATE_FAILED;
	srv->cur = NULL;
	ph_ev_server(PERSOHUB_CMD_SERVER_FAILED, srv, reason);
}

static void ph_dispatch(struct ph_request *req, struct ph_port *srv)
{
	u64 now = ktime_get_ns();

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
	} else {
		ph_port_queue_frame(srv, req->data, req->len);
	}
	ph_hist_add(ph_hub.dispatch_hist, ktime_get_ns() - req->rx_ns);
}

/*
 * A controller that does not dispatch (stopped, stuck) must not stall the
 * site: once a request has waited ctrl_grace_ms with a server idle, and the
 * controller has sent nothing for as long, the hub matches by itself until
 * the controller is heard from again. A controller that holds requests back
 * on purpose (pinned stations, disabled servers) keeps itself heard with
 * PERSOHUB_CMD_CTRL_KEEPALIVE.
 */
static void ph_grace_arm(void)
{
	struct ph_request *oldest;
	u64 from, now, grace;

	if (!ph_hub.ctrl || ph_hub.ctrl_stalled || !ph_ctrl_grace_ms ||
	    list_empty(&ph_hub.waiting))
		return;
	oldest = list_first_entry(&ph_hub.waiting, struct ph_request,
				  wait_node);
	from = max(oldest->rx_ns, ph_hub.ctrl_heard_ns);
	grace = (u64)ph_ctrl_grace_ms * NSEC_PER_MSEC;
	now = ktime_get_ns();
	timer_reduce(&ph_hub.grace_timer, jiffies +
		     nsecs_to_jiffies(from + grace > now ?
				      from + grace - now : 0) + 1);
}

static void ph_hub_match(void);

static void ph_grace_expired(struct timer_list *t)
{
	struct ph_event ev = { .cmd = PERSOHUB_CMD_CTRL_CHANGED, .result = 0 };
	struct ph_request *oldest;
	unsigned long flags;
	u64 now, grace;

	spin_lock_irqsave(&ph_hub.lock, flags);
	/* With no server idle, the next one to become idle re-arms. */
	if (!ph_hub.ctrl || ph_hub.ctrl_stalled ||
	    list_empty(&ph_hub.waiting) || list_empty(&ph_hub.idle))
		goto out;
	oldest = list_first_entry(&ph_hub.waiting, struct ph_request,
				  wait_node);
	now = ktime_get_ns();
	grace = (u64)ph_ctrl_grace_ms * NSEC_PER_MSEC;
	if (now - oldest->rx_ns < grace || now - ph_hub.ctrl_heard_ns < grace) {
		ph_grace_arm();
		goto out;
	}
	ph_hub.ctrl_stalled = true;
	pr_warn_ratelimited("controller silent for %u ms: the hub matches by itself\n",
			    ph_ctrl_grace_ms);
	ph_nl_event(&ev);
	ph_hub_match();
out:
	spin_unlock_irqrestore(&ph_hub.lock, flags);
}

/* The controller was heard from: it decides (again). Hub lock held. */
static void ph_ctrl_heard(void)
{
	struct ph_event ev = { .cmd = PERSOHUB_CMD_CTRL_CHANGED, .result = 1 };

	ph_hub.ctrl_heard_ns = ktime_get_ns();
	if (ph_hub.ctrl_stalled) {
		ph_hub.ctrl_stalled = false;
		pr_info_ratelimited("controller back\n");
		ph_nl_event(&ev);
		ph_grace_arm();
	}
}

/* A command from @portid: -ENOENT if it is not the controller. */
int ph_hub_ctrl_alive(u32 portid)
{
	unsigned long flags;
	int ret = 0;

	spin_lock_irqsave(&ph_hub.lock, flags);
	if (!ph_hub.ctrl || ph_hub.ctrl_portid != portid)
		ret = -ENOENT;
	else
		ph_ctrl_heard();
	spin_unlock_irqrestore(&ph_hub.lock, flags);
	return ret;
}

/* The kernel's own matching: oldest request to the longest idle server. */
static void ph_hub_match(void)
{
	struct ph_request *req;
	struct ph_port *srv;

	if (ph_hub.ctrl && !ph_hub.ctrl_stalled) {
		ph_grace_arm();
		return;
	}
	while (!list_empty(&ph_hub.waiting) && !list_empty(&ph_hub.idle)) {
		req = list_first_entry(&ph_hub.waiting, struct ph_request,
				       wait_node);
		srv = list_first_entry(&ph_hub.idle, struct ph_port, idle_node);
		ph_dispatch(req, srv);
	}
}

static void ph_station_rx(struct ph_port *st, const u8 *data, u16 len)
{
	struct ph_request *req;
	bool accept;

	if (!len) {
		/* An empty frame is no request. */
		st->stats.frame_too_short++;
		return;
	}
	st->stats.requests++;
	accept = st->outstanding < st->queue_depth;
	if (!accept) {
		st->stats.queue_full++;
		/*
		 * A station that sends on without waiting for its answers
		 * gets a few error frames in turn, then nothing: past that
		 * its frames cost a counter, no memory and no event.
		 */
		if (st->backlog - st->outstanding >= PH_STATION_REJECT_MAX) {
			st->stats.dropped++;
			return;
		}
	}
	req = kzalloc(struct_size(req, data, accept ? len : 0), GFP_ATOMIC);
	if (req)
		req->errtb = ph_txbuf_new(NULL, 0);
	if (!req || !req->errtb) {
		kfree(req);
		st->stats.dropped++;
		return;
	}
	INIT_LIST_HEAD(&req->wait_node);
	INIT_LIST_HEAD(&req->user_node);
	req->id = ++ph_hub.next_id;
	req->rx_ns = ktime_get_ns();
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
	req->len = len;
	memcpy(req->data, data, len);
	req->state = PH_REQ_WAITING;
	list_add_tail(&req->wait_node, &ph_hub.waiting);
	ph_hub.nwaiting++;
	ph_ev_request(PERSOHUB_CMD_REQUEST_NEW, req, 0);
	ph_hub_match();
}

/* @srv answered @len bytes (0: an explicit error). */
static void ph_server_answer(struct ph_port *srv, const u8 *data, u16 len)
{
	struct ph_request *req = srv->cur;
	u64 now = ktime_get_ns();

	srv->stats.responses++;
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
	if (!req) {
		/* Its station went away while it worked. */
		ph_hub_match();
		return;
	}

	req->state = PH_REQ_ANSWERED;
	if (len) {
		req->resp = kmemdup(data, len, GFP_ATOMIC);
		if (!req->resp)
			req->station->stats.dropped++;
		req->resp_len = len;
	}
	ph_station_flush(req->station);
	ph_hub_match();
}

static void ph_server_rx(struct ph_port *srv, const u8 *data, u16 len)
{
	if (srv->state == PH_STATE_FAILED && srv->probing) {
		/* It answers again: back to service. */
		srv->probing = false;
		ph_server_make_idle(srv, ktime_get_ns());
		ph_nl_port_changed(srv);
		ph_hub_match();
		return;
	}
	if (srv->state != PH_STATE_BUSY || srv->settling) {
		/* Late, duplicate or unsolicited: nobody asked. */
		srv->stats.unexpected_frames++;
		return;
	}
	ph_server_answer(srv, data, len);
}

/* A complete, FCS-valid frame arrived on @port. Called under the lock. */
void ph_hub_rx_frame(struct ph_port *port, const u8 *data, u16 len)
{
	switch (port->role) {
	case PH_ROLE_STATION:
		ph_station_rx(port, data, len);
		break;
	case PH_ROLE_SERVER:
		ph_server_rx(port, data, len);
		break;
	case PH_ROLE_OFF:
		port->stats.unexpected_frames++;
		break;
	}
}

/* Take @req off its server: retry it elsewhere, or fail it. */
static void ph_request_requeue(struct ph_request *req, bool count_retry)
{
	struct ph_port *st = req->station;

	if (count_retry) {
		if (req->retries >= READ_ONCE(ph_max_retries)) {
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

static void ph_server_timeout(struct timer_list *t)
{
	struct ph_port *srv = timer_container_of(srv, t, timer);
	struct ph_request *req;
	unsigned long flags;

	spin_lock_irqsave(&ph_hub.lock, flags);
	req = srv->cur;
	if (srv->state != PH_STATE_BUSY || time_before(jiffies, srv->deadline))
		goto out;
	if (srv->settling) {
		/* Quiet long enough after its answer: free again. */
		ph_server_make_idle(srv, ktime_get_ns());
		ph_hub_match();
		goto out;
	}

	srv->stats.timeouts++;
	ph_server_end_busy(srv, ktime_get_ns());
	ph_txq_purge(srv);
	ph_server_fail(srv, PERSOHUB_REASON_TIMEOUT);
	pr_warn_ratelimited("server %s timed out, marked failed\n", srv->name);
	if (req)
		ph_request_requeue(req, true);
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
	port->dead = true;
	ph_txq_purge(port);
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

bool ph_port_busy(struct ph_port *port)
{
	if (!list_empty(&port->txq))
		return true;
	switch (port->role) {
	case PH_ROLE_STATION:
		return port->backlog != 0;
	case PH_ROLE_SERVER:
		return port->state == PH_STATE_BUSY;
	default:
		return false;
	}
}

/* The port with id @id, or NULL. Caller holds ph_hub.lock. */
struct ph_port *ph_port_find_id(u32 id)
{
	struct ph_port *port;

	lockdep_assert_held(&ph_hub.lock);
	list_for_each_entry(port, &ph_hub.ports, hub_node)
		if (port->id == id)
			return port;
	return NULL;
}

/* The port named @name, or NULL. Caller holds ph_hub.lock. */
struct ph_port *ph_port_find_name(const char *name)
{
	struct ph_port *port;

	lockdep_assert_held(&ph_hub.lock);
	list_for_each_entry(port, &ph_hub.ports, hub_node)
		if (!strcmp(port->name, name))
			return port;
	return NULL;
}

bool ph_name_valid(const char *name)
{
	size_t n = strnlen(name, PH_NAME_LEN);

	if (!n || n >= PH_NAME_LEN || name[0] == '.')
		return false;
	for (; *name; name++)
		if (!isalnum(*name) && !strchr("._:-", *name))
			return false;
	return true;
}

/* Can @port take @ch now? Hub lock held; 0 or why not. */
static int ph_port_change_ok(struct ph_port *port,
			     const struct ph_port_change *ch)
{
	enum ph_role role = ch->set & PH_CHG_ROLE ? ch->role : port->role;
	struct ph_port *other;

	if (port->dead)
		return -ENODEV;
	if ((ch->set & PH_CHG_ROLE) && ch->role != port->role) {
		if (port->user)
			return -EOPNOTSUPP;
		if (ph_port_busy(port))
			return -EBUSY;
	}
	if (ch->set & PH_CHG_STATE) {
		if (role != PH_ROLE_SERVER)
			return -EOPNOTSUPP;
		if (ch->state == PH_STATE_BUSY)
			return -EINVAL;
		if (port->role == PH_ROLE_SERVER && port->state == PH_STATE_BUSY &&
		    ch->state != PH_STATE_BUSY)
			return -EBUSY;
	}
	if (ch->set & PH_CHG_NAME) {
		other = ph_port_find_name(ch->name);
		if (other && other != port)
			return -EEXIST;
		/* A device node is named after its station: rename when off. */
		if (other != port && port->role == PH_ROLE_STATION &&
		    role == PH_ROLE_STATION)
			return -EBUSY;
	}
	if (ch->set & PH_CHG_LINE)
		return port->ops->check_line(port, &ch->line);
	return 0;
}

/*
 * Apply every setting of @ch to @port at once, or none. Caller holds
 * cfg_lock, under which every configuration change is made, so that what
 * was read and checked before stays true; only traffic moves meanwhile,
 * and it is checked again under the hub lock, with the change.
 */
int ph_port_change(struct ph_port *port, const struct ph_port_change *ch)
{
	enum ph_role old_role;
	bool leaves_station, new_station;
	u8 *buf = NULL, *old_buf = NULL;
	int ret;

	lockdep_assert_held(&ph_hub.cfg_lock);
	if ((ch->set & PH_CHG_NAME) && !ph_name_valid(ch->name))
		return -EINVAL;
	if ((ch->set & PH_CHG_MAX_PAYLOAD) &&
	    (ch->max_payload < 1 || ch->max_payload > PH_PAYLOAD_MAX))
		return -ERANGE;
	old_role = READ_ONCE(port->role);
	new_station = (ch->set & PH_CHG_ROLE) && ch->role == PH_ROLE_STATION &&
		      old_role != PH_ROLE_STATION;
	leaves_station = (ch->set & PH_CHG_ROLE) &&
			 ch->role != PH_ROLE_STATION &&
			 old_role == PH_ROLE_STATION;

	/* What may sleep or fail for want of memory comes first. */
	if (ch->set & PH_CHG_MAX_PAYLOAD) {
		buf = kzalloc(PH_DEFRAMER_BUF(ch->max_payload), GFP_KERNEL);
		if (!buf)
			return -ENOMEM;
	}
	if (new_station) {
		spin_lock_irq(&ph_hub.lock);
		ret = ph_port_change_ok(port, ch);
		spin_unlock_irq(&ph_hub.lock);
		if (!ret)
			ret = ph_station_dev_create(port, ch->set & PH_CHG_NAME ?
						    ch->name : port->name);
		if (ret)
			goto err_free;
	}

	spin_lock_irq(&ph_hub.lock);
	ret = ph_port_change_ok(port, ch);
	if (ret) {
		spin_unlock_irq(&ph_hub.lock);
		if (new_station)
			ph_station_dev_destroy(port);
		goto err_free;
	}
	if (ch->set & PH_CHG_NAME)
		strscpy(port->name, ch->name, sizeof(port->name));
	if (ch->set & PH_CHG_LINE)
		port->line = ch->line;
	if (ch->set & PH_CHG_MAX_PAYLOAD) {
		old_buf = port->rxbuf;
		port->rxbuf = buf;
		port->max_payload = ch->max_payload;
		ph_deframer_init(&port->rx, buf, ch->max_payload);
	}
	if (ch->set & PH_CHG_TIMEOUT)
		port->timeout_ms = ch->timeout_ms;
	if (ch->set & PH_CHG_QUEUE_DEPTH)
		port->queue_depth = ch->queue_depth;
	if (ch->set & PH_CHG_SETTLE)
		port->settle_ms = ch->settle_ms;
	if ((ch->set & PH_CHG_ROLE) && ch->role != old_role) {
		if (old_role == PH_ROLE_SERVER)
			list_del_init(&port->idle_node);
		port->role = ch->role;
		port->state = PH_STATE_IDLE;
		port->cur = NULL;
		ph_deframer_reset(&port->rx);
		/* A new server starts idle unless it is set failed as well. */
		if (ch->role == PH_ROLE_SERVER &&
		    !((ch->set & PH_CHG_STATE) && ch->state == PH_STATE_FAILED))
			ph_server_make_idle(port, ktime_get_ns());
		else if (ch->role == PH_ROLE_SERVER)
			ph_server_fail(port, PERSOHUB_REASON_ADMIN);
	} else if ((ch->set & PH_CHG_STATE) && ch->state != port->state) {
		if (ch->state == PH_STATE_IDLE)
			ph_server_make_idle(port, ktime_get_ns());
		else
			ph_server_fail(port, PERSOHUB_REASON_ADMIN);
	}
	ph_nl_port_changed(port);
	ph_hub_match();
	spin_unlock_irq(&ph_hub.lock);

	/* The hardware last: a tty's line settings sleep. */
	if ((ch->set & PH_CHG_LINE) && port->ops->set_line)
		port->ops->set_line(port);
	if (leaves_station)
		ph_station_dev_destroy(port);
	kfree_sensitive(old_buf);
	return 0;

err_free:
	kfree(buf);
	return ret;
}

/* One change on its own, as sysfs makes them. */
int ph_port_change_locked(struct ph_port *port, struct ph_port_change *ch)
{
	int ret;

	mutex_lock(&ph_hub.cfg_lock);
	ret = ph_port_change(port, ch);
	mutex_unlock(&ph_hub.cfg_lock);
	return ret;
}

int ph_port_set_role(struct ph_port *port, enum ph_role role)
{
	struct ph_port_change ch = { .set = PH_CHG_ROLE, .role = role };

	return ph_port_change_locked(port, &ch);
}

int ph_port_set_state(struct ph_port *port, enum ph_state state)
{
	struct ph_port_change ch = { .set = PH_CHG_STATE, .state = state };

	return ph_port_change_locked(port, &ch);
}

int ph_port_set_name(struct ph_port *port, const char *name)
{
	struct ph_port_change ch = { .set = PH_CHG_NAME };

	if (strscpy(ch.name, name, sizeof(ch.name)) < 0)
		return -EINVAL;
	return ph_port_change_locked(port, &ch);
}

int ph_port_set_max_payload(struct ph_port *port, unsigned int max)
{
	struct ph_port_change ch = { .set = PH_CHG_MAX_PAYLOAD,
				     .max_payload = max };

	return ph_port_change_locked(port, &ch);
}

/* The receive buffer of a new port. */
static int ph_port_alloc_rxbuf(struct ph_port *port, unsigned int max)
{
	port->rxbuf = kzalloc(PH_DEFRAMER_BUF(max), GFP_KERNEL);
	if (!port->rxbuf)
		return -ENOMEM;
	port->max_payload = max;
	ph_deframer_init(&port->rx, port->rxbuf, max);
	return 0;
}

/* The controller. */

int ph_hub_attach(u32 portid)
{
	int ret = 0;

	spin_lock_irq(&ph_hub.lock);
	if (ph_hub.ctrl && ph_hub.ctrl_portid != portid) {
		ret = -EBUSY;
	} else if (!ph_hub.ctrl) {
		ph_hub.ctrl = true;
		ph_hub.ctrl_stalled = false;
		ph_hub.ctrl_portid = portid;
		ph_hub.ctrl_heard_ns = ktime_get_ns();
	}
	spin_unlock_irq(&ph_hub.lock);
	return ret;
}

/* Detach @portid (or whoever is attached, with @force). */
int ph_hub_detach(u32 portid, bool force)
{
	unsigned long flags;
	int ret = 0;

	spin_lock_irqsave(&ph_hub.lock, flags);
	if (!ph_hub.ctrl || (!force && ph_hub.ctrl_portid != portid)) {
		ret = -ENOENT;
	} else {
		ph_hub.ctrl = false;
		ph_hub.ctrl_stalled = false;
		ph_hub.ctrl_portid = 0;
		/* The kernel matches again, at once. */
		ph_hub_match();
	}
	spin_unlock_irqrestore(&ph_hub.lock, flags);
	return ret;
}

int ph_hub_dispatch(u32 portid, u64 req_id, u32 server_id)
{
	struct ph_request *req, *found = NULL;
	struct ph_port *srv;
	int ret = 0;

	spin_lock_irq(&ph_hub.lock);
	if (!ph_hub.ctrl || ph_hub.ctrl_portid != portid) {
		ret = -EPERM;
		goto out;
	}
	/* Any dispatch, even a refused one, says the controller is alive. */
	ph_ctrl_heard();
	srv = ph_port_find_id(server_id);
	if (!srv || srv->role != PH_ROLE_SERVER || srv->dead) {
		ret = -ENODEV;
		goto out;
	}
	list_for_each_entry(req, &ph_hub.waiting, wait_node) {
		if (req->id == req_id) {
			found = req;
			break;
		}
	}
	if (!found)
		ret = -ENOENT;
	else if (srv->state == PH_STATE_BUSY)
		ret = -EBUSY;
	else if (srv->state == PH_STATE_FAILED)
		ret = -EIO;
	else
		ph_dispatch(found, srv);
out:
	spin_unlock_irq(&ph_hub.lock);
	return ret;
}

static void ph_port_unhook(struct ph_port *port);
static void ph_port_release(struct ph_port *port);

/* Health probe of a failed serial server. */
int ph_hub_probe(u32 server_id, const u8 *data, u16 len)
{
	struct ph_port *srv;
	int ret = 0;

	spin_lock_irq(&ph_hub.lock);
	srv = ph_port_find_id(server_id);
	if (!srv || srv->role != PH_ROLE_SERVER || srv->dead)
		ret = -ENODEV;
	else if (srv->user)
		ret = -EOPNOTSUPP;
	else if (srv->state != PH_STATE_FAILED)
		ret = -EINVAL;
	else
		ret = ph_port_queue_frame(srv, data, len);
	if (!ret)
		srv->probing = true;
	spin_unlock_irq(&ph_hub.lock);
	return ret;
}

/* Userspace servers. */

struct ph_port *ph_user_server_add(const char *name, u32 timeout_ms)
{
	struct ph_port *srv;
	int ret;

	if (!ph_name_valid(name))
		return ERR_PTR(-EINVAL);
	srv = kzalloc(sizeof(*srv), GFP_KERNEL);
	if (!srv)
		return ERR_PTR(-ENOMEM);
	srv->user = true;
	srv->ops = &ph_user_ops;
	ret = ph_port_setup(srv, NULL);
	if (ret) {
		kfree(srv);
		return ERR_PTR(ret);
	}
	if (timeout_ms)
		srv->timeout_ms = timeout_ms;

	mutex_lock(&ph_hub.cfg_lock);
	spin_lock_irq(&ph_hub.lock);
	if (ph_port_find_name(name)) {
		ret = -EEXIST;
	} else {
		strscpy(srv->name, name, sizeof(srv->name));
		list_add_tail(&srv->hub_node, &ph_hub.ports);
		srv->role = PH_ROLE_SERVER;
		ph_server_make_idle(srv, ktime_get_ns());
		ph_nl_port_changed(srv);
		ph_hub_match();
	}
	spin_unlock_irq(&ph_hub.lock);
	mutex_unlock(&ph_hub.cfg_lock);
	if (ret) {
		ph_port_release(srv);
		kfree(srv);
		return ERR_PTR(ret);
	}
	return srv;
}

/* Remove userspace server @srv. Caller holds cfg_lock; drops it. */
void ph_user_server_del(struct ph_port *srv)
{
	ph_port_unhook(srv);
	mutex_unlock(&ph_hub.cfg_lock);
	ph_port_release(srv);
	kfree(srv);
}

/*
 * A response written to station @st's device for request @req_id, which
 * @holder read. Returns -EINVAL unless that request is in its hands.
 */
int ph_user_response(struct ph_port *st, const void *holder, u64 req_id,
		     const u8 *data, u16 len)
{
	struct ph_request *req;
	int ret = -EINVAL;

	spin_lock_irq(&ph_hub.lock);
	list_for_each_entry(req, &st->user_reqs, user_node) {
		if (req->id != req_id)
			continue;
		if (req->holder == holder && req->state == PH_REQ_ACTIVE &&
		    req->server && req->server->cur == req) {
			req->server->stats.rx_frames++;
			ph_server_answer(req->server, data, len);
			ret = 0;
		}
		break;
	}
	spin_unlock_irq(&ph_hub.lock);
	return ret;
}

/* @holder closed the device: what it held goes to another server. */
void ph_user_release(struct ph_port *st, const void *holder)
{
	struct ph_request *req, *tmp;
	struct ph_port *srv;

	spin_lock_irq(&ph_hub.lock);
	list_for_each_entry_safe(req, tmp, &st->user_reqs, user_node) {
		if (req->holder != holder)
			continue;
		srv = req->server;
		list_del_init(&req->user_node);
		req->holder = NULL;
		if (srv && srv->cur == req) {
			ph_server_end_busy(srv, ktime_get_ns());
			ph_server_make_idle(srv, ktime_get_ns());
		}
		ph_request_requeue(req, true);
	}
	ph_hub_match();
	spin_unlock_irq(&ph_hub.lock);
}

/*
 * Make @port known to the hub, named @name (a stable name of its hardware)
 * or, for a userspace server, by its caller.
 */
int ph_port_setup(struct ph_port *port, const char *name)
{
	unsigned int n;
	int ret;

	INIT_LIST_HEAD(&port->txq);
	INIT_LIST_HEAD(&port->reqs);
	INIT_LIST_HEAD(&port->user_reqs);
	INIT_LIST_HEAD(&port->idle_node);
	INIT_LIST_HEAD(&port->hub_node);
	timer_setup(&port->timer, ph_server_timeout, 0);
	port->role = PH_ROLE_OFF;
	port->state = PH_STATE_IDLE;
	port->line = (struct ph_line){ .baud = 115200, .data_bits = 8,
				       .parity = 'n', .stop_bits = 1 };
	port->queue_depth = 1;
	port->timeout_ms = 2000;

	ret = ph_port_alloc_rxbuf(port, PH_PAYLOAD_DEFAULT);
	if (ret)
		return ret;
	ret = ida_alloc_min(&ph_hub.port_ida, 1, GFP_KERNEL);
	if (ret < 0) {
		kfree(port->rxbuf);
		return ret;
	}
	port->id = ret;
	if (port->user)
		return 0;

	spin_lock_irq(&ph_hub.lock);
	/*
	 * Stable default name: card address and port index, made unique if
	 * a userspace server or a renamed port took it first.
	 */
	strscpy(port->name, name, sizeof(port->name));
	for (n = 1; ph_port_find_name(port->name); n++)
		snprintf(port->name, sizeof(port->name), "%s.%u", name, n);
	list_add_tail(&port->hub_node, &ph_hub.ports);
	spin_unlock_irq(&ph_hub.lock);
	return 0;
}

/* Take @port out of the hub. Caller holds cfg_lock. */
static void ph_port_unhook(struct ph_port *port)
{
	bool station;

	lockdep_assert_held(&ph_hub.cfg_lock);
	spin_lock_irq(&ph_hub.lock);
	if (!port->dead)
		ph_hub_port_dead(port);
	station = port->role == PH_ROLE_STATION;
	list_del_init(&port->hub_node);
	spin_unlock_irq(&ph_hub.lock);
	if (station)
		ph_station_dev_destroy(port);
}

/* Free what an unhooked (or never hooked) port holds. */
static void ph_port_release(struct ph_port *port)
{
	timer_shutdown_sync(&port->timer);
	ida_free(&ph_hub.port_ida, port->id);
	kfree_sensitive(port->rxbuf);
	port->rxbuf = NULL;
}

void ph_port_teardown(struct ph_port *port)
{
	mutex_lock(&ph_hub.cfg_lock);
	ph_port_unhook(port);
	mutex_unlock(&ph_hub.cfg_lock);
	ph_port_release(port);
}

void ph_hub_init(void)
{
	ida_init(&ph_hub.port_ida);
	timer_setup(&ph_hub.grace_timer, ph_grace_expired, 0);
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
	timer_shutdown_sync(&ph_hub.grace_timer);
	WARN_ON(!list_empty(&ph_hub.ports));
	WARN_ON(!list_empty(&ph_hub.waiting));
	ida_destroy(&ph_hub.port_ida);
}

/* Userspace servers: no line, nothing to send; the station device serves. */
static int ph_user_check_line(const struct ph_port *port,
			      const struct ph_line *line)
{
	return -EOPNOTSUPP;
}

static void ph_user_start_tx(struct ph_port *port)
{
}

static int ph_user_fill(struct sk_buff *skb, const struct ph_port *port)
{
	return nla_put_flag(skb, PERSOHUB_A_PORT_USER) ? -EMSGSIZE : 0;
}

const struct ph_port_ops ph_user_ops = {
	.name = "user",
	.check_line = ph_user_check_line,
	.start_tx = ph_user_start_tx,
	.fill = ph_user_fill,
};
