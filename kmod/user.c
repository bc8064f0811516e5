// SPDX-License-Identifier: GPL-2.0
/*
 * Userspace servers: a server with no line of its own. A request
 * dispatched to one waits on its station's character device and on the
 * server's own (chardev.c) until a process reads it from either and
 * writes the answer back; the answer then takes the same way as a serial
 * server's (ph_server_answer()). The process may also give it back, or
 * say it failed on it.
 *
 * Remote stations: a station with no line of its own. A process writes
 * its requests to its device (another hub's, in a cascade), the hub
 * serves them as any station's, and each ended request waits on the
 * station's done list until the device reads it back.
 */

#include <linux/ktime.h>
#include <linux/slab.h>
#include <net/netlink.h>

#include "persohub.h"

/*
 * Add @port, set up as a userspace server or a remote station, to the hub
 * as @name, with its device. 0, or why not (and @port is released).
 */
static int ph_user_port_add(struct ph_port *port, const char *name)
{
	int ret;

	strscpy(port->name, name, sizeof(port->name));
	mutex_lock(&ph_hub.cfg_lock);
	spin_lock_irq(&ph_hub.lock);
	ret = ph_port_find_name(name) ? -EEXIST : 0;
	spin_unlock_irq(&ph_hub.lock);
	if (!ret)
		ret = ph_station_dev_create(port, name);
	if (!ret) {
		spin_lock_irq(&ph_hub.lock);
		/* A new card's port may have taken the name meanwhile. */
		if (ph_port_find_name(name)) {
			ret = -EEXIST;
		} else {
			list_add_tail(&port->hub_node, &ph_hub.ports);
			if (port->role == PH_ROLE_SERVER)
				ph_server_make_idle(port, ktime_get_ns());
			ph_nl_port_changed(port);
			ph_hub_match();
		}
		spin_unlock_irq(&ph_hub.lock);
		if (ret)
			ph_station_dev_destroy(port);
	}
	mutex_unlock(&ph_hub.cfg_lock);
	if (ret)
		ph_port_release(port);
	return ret;
}

/* A new userspace port, of no role yet. */
static struct ph_port *ph_user_port_new(const char *name)
{
	struct ph_port *port;
	int ret;

	if (!ph_name_valid(name))
		return ERR_PTR(-EINVAL);
	port = kzalloc(sizeof(*port), GFP_KERNEL);
	if (!port)
		return ERR_PTR(-ENOMEM);
	port->user = true;
	port->ops = &ph_user_ops;
	ret = ph_port_setup(port, NULL);
	if (ret) {
		kfree(port);
		return ERR_PTR(ret);
	}
	return port;
}

struct ph_port *ph_user_server_add(const char *name, u32 timeout_ms,
				   u64 classes, bool overflow)
{
	struct ph_port *srv;
	int ret;

	srv = ph_user_port_new(name);
	if (IS_ERR(srv))
		return srv;
	if (timeout_ms)
		srv->timeout_ms = timeout_ms;
	if (classes)
		srv->classes = classes;
	srv->overflow = overflow;
	srv->role = PH_ROLE_SERVER;
	ret = ph_user_port_add(srv, name);
	if (ret) {
		kfree(srv);
		return ERR_PTR(ret);
	}
	return srv;
}

/*
 * A remote station: requests come from its device (chardev.c) instead of
 * a line, and go back there once ended, in the order they came.
 */
struct ph_port *ph_remote_station_add(const char *name, u32 queue_depth,
				      u32 klass, u32 priority)
{
	struct ph_port *st;
	int ret;

	if (queue_depth < 1 || queue_depth > PERSOHUB_REMOTE_DEPTH_MAX ||
	    klass > PERSOHUB_CLASS_MAX || priority > PERSOHUB_PRIORITY_MAX)
		return ERR_PTR(-ERANGE);
	st = ph_user_port_new(name);
	if (IS_ERR(st))
		return st;
	st->remote = true;
	st->role = PH_ROLE_STATION;
	st->queue_depth = queue_depth;
	st->klass = klass;
	st->priority = priority;
	ret = ph_user_port_add(st, name);
	if (ret) {
		kfree(st);
		return ERR_PTR(ret);
	}
	return st;
}

/*
 * A request written to a remote station's device, ready to hand in with
 * ph_remote_submit(). No lock held: it may sleep. NULL: no memory.
 */
struct ph_request *ph_remote_alloc(u64 tag, u8 klass, u8 priority,
				   const u8 *data, u16 len)
{
	struct ph_request *req;

	req = kzalloc(struct_size(req, txb.data, len), GFP_KERNEL);
	if (!req)
		return NULL;
	memcpy(req->txb.data, data, len);
	req->len = len;
	req->tag = tag;
	req->klass = klass;
	req->priority = priority;
	ph_txbuf_init_borrowed(&req->txb, len);
	return req;
}

/* Is a request tagged @tag in flight on @st, or ended and not read? */
static bool ph_remote_tag_used(struct ph_port *st, u64 tag)
{
	struct ph_request *req;

	list_for_each_entry(req, &st->reqs, station_node)
		if (req->tag == tag)
			return true;
	list_for_each_entry(req, &st->done, station_node)
		if (req->tag == tag)
			return true;
	return false;
}

/*
 * Hand @req in as a request of the remote station @st, as its line would.
 * Hub lock held. 0 (the hub has it), or why not (the caller frees it).
 */
int ph_remote_submit(struct ph_port *st, struct ph_request *req)
{
	lockdep_assert_held(&ph_hub.lock);
	if (st->dead)
		return -ENODEV;
	if (req->len > st->max_payload)
		return -EINVAL;
	if (ph_remote_tag_used(st, req->tag))
		return -EEXIST;
	if (st->backlog + st->ndone >= st->queue_depth)
		return -EAGAIN;
	ph_station_request(st, req);
	return 0;
}

/*
 * Remove userspace server or remote station @srv. Caller holds cfg_lock;
 * drops it.
 */
void ph_user_server_del(struct ph_port *srv)
{
	ph_port_unhook(srv);
	mutex_unlock(&ph_hub.cfg_lock);
	ph_port_release(srv);
	kfree(srv);
}

/*
 * Request @req_id as the device of @port sees it: on a station's, any of
 * its requests dispatched to a userspace server; on a userspace server's,
 * the one it is busy with. Hub lock held.
 */
struct ph_request *ph_user_find(struct ph_port *port, u64 req_id)
{
	struct ph_request *req;

	if (port->remote)
		return NULL;
	if (port->user) {
		req = port->cur;
		if (req && req->id == req_id && !list_empty(&req->user_node))
			return req;
		return NULL;
	}
	list_for_each_entry(req, &port->user_reqs, user_node)
		if (req->id == req_id)
			return req;
	return NULL;
}

/*
 * What @holder, having read request @req_id from @port's device (a
 * station's or a userspace server's), says of it (enum persohub_msg_op):
 * its answer (@data, @len bytes), or that it gives it back or failed on
 * it. Returns -EINVAL unless that request is in its hands.
 */
int ph_user_response(struct ph_port *port, const void *holder, u64 req_id,
		     u8 op, const u8 *data, u16 len)
{
	struct ph_request *req;
	struct ph_txbuf *tb = NULL;
	struct ph_port *srv;
	int ret = -EINVAL;
	u64 now;

	if (op == PERSOHUB_MSG_ANSWER) {
		tb = ph_txbuf_copy(data, len, GFP_KERNEL);
		if (!tb)
			return -ENOMEM;
	}
	spin_lock_irq(&ph_hub.lock);
	req = ph_user_find(port, req_id);
	srv = req ? req->server : NULL;
	if (req && req->holder == holder && req->state == PH_REQ_ACTIVE &&
	    srv && srv->cur == req) {
		ret = 0;
		if (op == PERSOHUB_MSG_ANSWER) {
			spin_lock(&srv->lock);
			srv->stats.rx_frames++;
			spin_unlock(&srv->lock);
			ph_server_answer(srv, tb, false);
			tb = NULL;
		} else {
			/*
			 * Back where it waited, by its arrival; a failure
			 * costs it a retry. The server takes the next one.
			 */
			now = ktime_get_ns();
			ph_server_end_busy(srv, now);
			ph_server_make_idle(srv, now);
			ph_request_requeue(req, op == PERSOHUB_MSG_FAILED);
			ph_hub_match();
		}
	}
	spin_unlock_irq(&ph_hub.lock);
	ph_txbuf_free(tb);
	return ret;
}

/* What @holder held goes to another server. Hub lock held. */
static void ph_user_give_back(struct ph_request *req)
{
	struct ph_port *srv = req->server;

	list_del_init(&req->user_node);
	req->holder = NULL;
	if (srv && srv->cur == req) {
		ph_server_end_busy(srv, ktime_get_ns());
		ph_server_make_idle(srv, ktime_get_ns());
	}
	ph_request_requeue(req, true);
}

/* @holder closed @port's device: what it held goes to another server. */
void ph_user_release(struct ph_port *port, const void *holder)
{
	struct ph_request *req, *tmp;

	spin_lock_irq(&ph_hub.lock);
	if (port->remote) {
		/* Its requests are the hub's: they go on. */
	} else if (port->user) {
		req = port->cur;
		if (req && req->holder == holder &&
		    !list_empty(&req->user_node))
			ph_user_give_back(req);
	} else {
		list_for_each_entry_safe(req, tmp, &port->user_reqs, user_node)
			if (req->holder == holder)
				ph_user_give_back(req);
	}
	ph_hub_match();
	spin_unlock_irq(&ph_hub.lock);
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
	if (nla_put_flag(skb, PERSOHUB_A_PORT_USER) ||
	    (port->overflow && nla_put_flag(skb, PERSOHUB_A_PORT_OVERFLOW)))
		return -EMSGSIZE;
	return 0;
}

const struct ph_port_ops ph_user_ops = {
	.name = "user",
	.check_line = ph_user_check_line,
	.start_tx = ph_user_start_tx,
	.fill = ph_user_fill,
};
