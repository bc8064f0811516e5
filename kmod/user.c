// SPDX-License-Identifier: GPL-2.0
/*
 * Userspace servers: a server with no line of its own. A request
 * dispatched to one waits on its station's character device (chardev.c)
 * until a process reads it and writes the answer back; the answer then
 * takes the same way as a serial server's (ph_server_answer()).
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
	struct ph_txbuf *tb;
	struct ph_port *srv;
	int ret = -EINVAL;

	tb = ph_txbuf_copy(data, len, GFP_KERNEL);
	if (!tb)
		return -ENOMEM;
	spin_lock_irq(&ph_hub.lock);
	list_for_each_entry(req, &st->user_reqs, user_node) {
		if (req->id != req_id)
			continue;
		srv = req->server;
		if (req->holder == holder && req->state == PH_REQ_ACTIVE &&
		    srv && srv->cur == req) {
			spin_lock(&srv->lock);
			srv->stats.rx_frames++;
			spin_unlock(&srv->lock);
			ph_server_answer(srv, tb, false);
			tb = NULL;
			ret = 0;
		}
		break;
	}
	spin_unlock_irq(&ph_hub.lock);
	ph_txbuf_free(tb);
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
