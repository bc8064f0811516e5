// SPDX-License-Identifier: GPL-2.0
/*
 * Userspace servers: a server with no line of its own. A request
 * dispatched to one waits on its station's character device and on the
 * server's own (chardev.c) until a process reads it from either and
 * writes the answer back; the answer then takes the same way as a serial
 * server's (ph_server_answer()).
 */

#include <linux/ktime.h>
#include <linux/slab.h>
#include <net/netlink.h>

#include "persohub.h"

struct ph_port *ph_user_server_add(const char *name, u32 timeout_ms,
				   u64 classes)
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
	if (classes)
		srv->classes = classes;

	strscpy(srv->name, name, sizeof(srv->name));
	srv->role = PH_ROLE_SERVER;

	mutex_lock(&ph_hub.cfg_lock);
	spin_lock_irq(&ph_hub.lock);
	ret = ph_port_find_name(name) ? -EEXIST : 0;
	spin_unlock_irq(&ph_hub.lock);
	if (!ret)
		ret = ph_station_dev_create(srv, name);
	if (!ret) {
		spin_lock_irq(&ph_hub.lock);
		/* A new card's port may have taken the name meanwhile. */
		if (ph_port_find_name(name)) {
			ret = -EEXIST;
		} else {
			list_add_tail(&srv->hub_node, &ph_hub.ports);
			ph_server_make_idle(srv, ktime_get_ns());
			ph_nl_port_changed(srv);
			ph_hub_match();
		}
		spin_unlock_irq(&ph_hub.lock);
		if (ret)
			ph_station_dev_destroy(srv);
	}
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
 * Request @req_id as the device of @port sees it: on a station's, any of
 * its requests dispatched to a userspace server; on a userspace server's,
 * the one it is busy with. Hub lock held.
 */
struct ph_request *ph_user_find(struct ph_port *port, u64 req_id)
{
	struct ph_request *req;

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
 * A response written to @port's device (a station's or a userspace
 * server's) for request @req_id, which @holder read. Returns -EINVAL
 * unless that request is in its hands.
 */
int ph_user_response(struct ph_port *port, const void *holder, u64 req_id,
		     const u8 *data, u16 len)
{
	struct ph_request *req;
	struct ph_txbuf *tb;
	struct ph_port *srv;
	int ret = -EINVAL;

	tb = ph_txbuf_copy(data, len, GFP_KERNEL);
	if (!tb)
		return -ENOMEM;
	spin_lock_irq(&ph_hub.lock);
	req = ph_user_find(port, req_id);
	srv = req ? req->server : NULL;
	if (req && req->holder == holder && req->state == PH_REQ_ACTIVE &&
	    srv && srv->cur == req) {
		spin_lock(&srv->lock);
		srv->stats.rx_frames++;
		spin_unlock(&srv->lock);
		ph_server_answer(srv, tb, false);
		tb = NULL;
		ret = 0;
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
	if (port->user) {
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
	return nla_put_flag(skb, PERSOHUB_A_PORT_USER) ? -EMSGSIZE : 0;
}

const struct ph_port_ops ph_user_ops = {
	.name = "user",
	.check_line = ph_user_check_line,
	.start_tx = ph_user_start_tx,
	.fill = ph_user_fill,
};
