// SPDX-License-Identifier: GPL-2.0
/*
 * The generic netlink family "persohub": port configuration, statistics,
 * the controller's attach and dispatch, userspace servers, and the
 * "events" multicast group.
 *
 * Events happen with the hub lock held, often in the card interrupt. What
 * each says is written into a ring there (no allocation); a tasklet right
 * after builds the messages and multicasts them. An event the ring has no
 * room for, or whose message cannot be allocated, is counted
 * (events_dropped): listeners never depend on seeing every event, they
 * resync with REQUEST_GET and PORT_GET.
 */

#include <linux/interrupt.h>
#include <linux/module.h>
#include <linux/netlink.h>
#include <linux/skbuff.h>
#include <net/genetlink.h>
#include <net/netlink.h>
#include <net/sock.h>

#include "persohub.h"

static struct genl_family ph_nl_family;
static bool ph_nl_ready;		/* the family is registered */
static struct tasklet_struct ph_nl_tasklet;

/* Events waiting for the tasklet: a power of two, a burst of 56 ports. */
#define PH_EV_RING		1024
static struct ph_event ph_ev_ring[PH_EV_RING];
static unsigned int ph_ev_head, ph_ev_tail;	/* free-running */
static u64 ph_ev_dropped;
static DEFINE_SPINLOCK(ph_ev_lock);		/* the ring, ph_ev_dropped */

static u64 ph_nl_events_dropped(void)
{
	unsigned long flags;
	u64 n;

	spin_lock_irqsave(&ph_ev_lock, flags);
	n = ph_ev_dropped;
	spin_unlock_irqrestore(&ph_ev_lock, flags);
	return n;
}

/* Events tell who asks what and how fast each server is: admins only. */
static const struct genl_multicast_group ph_nl_mcgrps[] = {
	{ .name = PERSOHUB_MCGRP_EVENTS, .flags = GENL_MCAST_CAP_NET_ADMIN },
};

static struct netlink_range_validation ph_timeout_range = {
	.min = 1,
	.max = 600000,
};

static struct netlink_range_validation ph_baud_range = {
	.min = 50,
	.max = 4000000,
};

/* Selecting a port: by id or by name. */
#define PH_PORT_SELECT							\
	[PERSOHUB_A_PORT_ID] = NLA_POLICY_MIN(NLA_U32, 1),		\
	[PERSOHUB_A_PORT_NAME] = { .type = NLA_NUL_STRING,		\
				   .len = PH_NAME_LEN - 1 }

static const struct nla_policy ph_select_policy[PERSOHUB_A_PORT_NAME + 1] = {
	PH_PORT_SELECT,
};

static const struct nla_policy ph_set_policy[PERSOHUB_A_PORT_CLASSIFIER + 1] = {
	PH_PORT_SELECT,
	[PERSOHUB_A_PORT_ROLE] = NLA_POLICY_MAX(NLA_U32, PERSOHUB_ROLE_SERVER),
	[PERSOHUB_A_PORT_STATE] = NLA_POLICY_MAX(NLA_U32,
						 PERSOHUB_STATE_FAILED),
	[PERSOHUB_A_PORT_BAUD] = NLA_POLICY_FULL_RANGE(NLA_U32, &ph_baud_range),
	[PERSOHUB_A_PORT_DATA_BITS] = NLA_POLICY_RANGE(NLA_U32, 5, 8),
	[PERSOHUB_A_PORT_PARITY] = NLA_POLICY_MAX(NLA_U32,
						  PERSOHUB_PARITY_SPACE),
	[PERSOHUB_A_PORT_STOP_BITS] = NLA_POLICY_RANGE(NLA_U32, 1, 2),
	[PERSOHUB_A_PORT_TIMEOUT_MS] =
		NLA_POLICY_FULL_RANGE(NLA_U32, &ph_timeout_range),
	[PERSOHUB_A_PORT_QUEUE_DEPTH] =
		NLA_POLICY_RANGE(NLA_U32, 1, PH_QUEUE_DEPTH_MAX),
	[PERSOHUB_A_PORT_MAX_PAYLOAD] =
		NLA_POLICY_RANGE(NLA_U32, 1, PH_PAYLOAD_MAX),
	[PERSOHUB_A_PORT_SETTLE_MS] = NLA_POLICY_RANGE(NLA_U32, 0, 10000),
	[PERSOHUB_A_PORT_FRAMING] = NLA_POLICY_MAX(NLA_U32,
						   __PERSOHUB_FRAMING_MAX - 1),
	[PERSOHUB_A_PORT_LRC] = NLA_POLICY_MAX(NLA_U8, 1),
	[PERSOHUB_A_PORT_GAP_CHARS] = NLA_POLICY_RANGE(NLA_U32, 1,
						       PH_GAP_CHARS_MAX),
	[PERSOHUB_A_PORT_ERROR_FRAME] = { .type = NLA_BINARY,
					  .len = PH_ERROR_FRAME_MAX },
	[PERSOHUB_A_PORT_ENABLED] = NLA_POLICY_MAX(NLA_U8, 1),
	[PERSOHUB_A_PORT_CLASS] = NLA_POLICY_MAX(NLA_U32, PERSOHUB_CLASS_MAX),
	[PERSOHUB_A_PORT_CLASSES] = NLA_POLICY_MIN(NLA_U64, 1),
	[PERSOHUB_A_PORT_PRIORITY] = NLA_POLICY_MAX(NLA_U32,
						    PERSOHUB_PRIORITY_MAX),
	[PERSOHUB_A_PORT_CLASSIFIER] = {
		.type = NLA_BINARY,
		.len = sizeof(struct persohub_classifier),
	},
};

static const struct nla_policy ph_user_add_policy[PERSOHUB_A_PORT_OVERFLOW + 1] = {
	[PERSOHUB_A_PORT_NAME] = { .type = NLA_NUL_STRING,
				   .len = PH_NAME_LEN - 1 },
	[PERSOHUB_A_PORT_TIMEOUT_MS] =
		NLA_POLICY_FULL_RANGE(NLA_U32, &ph_timeout_range),
	[PERSOHUB_A_PORT_CLASSES] = NLA_POLICY_MIN(NLA_U64, 1),
	[PERSOHUB_A_PORT_OVERFLOW] = { .type = NLA_FLAG },
};

static const struct nla_policy ph_station_add_policy[PERSOHUB_A_PORT_PRIORITY + 1] = {
	[PERSOHUB_A_PORT_NAME] = { .type = NLA_NUL_STRING,
				   .len = PH_NAME_LEN - 1 },
	[PERSOHUB_A_PORT_QUEUE_DEPTH] =
		NLA_POLICY_RANGE(NLA_U32, 1, PERSOHUB_REMOTE_DEPTH_MAX),
	[PERSOHUB_A_PORT_CLASS] = NLA_POLICY_MAX(NLA_U32, PERSOHUB_CLASS_MAX),
	[PERSOHUB_A_PORT_PRIORITY] = NLA_POLICY_MAX(NLA_U32,
						    PERSOHUB_PRIORITY_MAX),
};

static struct netlink_range_validation ph_max_wait_range = {
	.max = PH_MAX_WAIT_MS_MAX,
};

static const struct nla_policy ph_class_policy[PERSOHUB_A_CLASS_MAX_WAIT_MS + 1] = {
	[PERSOHUB_A_CLASS_ID] = NLA_POLICY_MAX(NLA_U32, PERSOHUB_CLASS_MAX),
	[PERSOHUB_A_CLASS_MAX_WAIT_MS] =
		NLA_POLICY_FULL_RANGE(NLA_U32, &ph_max_wait_range),
};

static const struct nla_policy ph_dispatch_policy[PERSOHUB_A_SERVER_ID + 1] = {
	[PERSOHUB_A_REQ_ID] = NLA_POLICY_MIN(NLA_U64, 1),
	[PERSOHUB_A_SERVER_ID] = NLA_POLICY_MIN(NLA_U32, 1),
};

static const struct nla_policy ph_probe_policy[PERSOHUB_A_PAYLOAD + 1] = {
	[PERSOHUB_A_SERVER_ID] = NLA_POLICY_MIN(NLA_U32, 1),
	[PERSOHUB_A_PAYLOAD] = { .type = NLA_BINARY, .len = PH_PAYLOAD_MAX },
};

static const struct nla_policy ph_tty_policy[PERSOHUB_A_PORT_TTY + 1] = {
	PH_PORT_SELECT,
	[PERSOHUB_A_PORT_TTY] = { .type = NLA_NUL_STRING,
				  .len = PH_NAME_LEN - 1 },
};

static const char ph_parity_chars[] = "noems";

/* Fill the attributes of one port. Caller holds ph_hub.lock. */
static int ph_nl_fill_port(struct sk_buff *skb, struct ph_port *port)
{
	const char *p = strchr(ph_parity_chars, port->line.parity);

	if (nla_put_u32(skb, PERSOHUB_A_PORT_ID, port->id) ||
	    nla_put_string(skb, PERSOHUB_A_PORT_NAME, port->name) ||
	    nla_put_u32(skb, PERSOHUB_A_PORT_ROLE, port->role) ||
	    nla_put_u32(skb, PERSOHUB_A_PORT_STATE,
			port->role == PH_ROLE_STATION ?
			(port->backlog ? PERSOHUB_STATE_BUSY :
					 PERSOHUB_STATE_IDLE) : port->state) ||
	    nla_put_u32(skb, PERSOHUB_A_PORT_TIMEOUT_MS, port->timeout_ms) ||
	    nla_put_u32(skb, PERSOHUB_A_PORT_QUEUE_DEPTH, port->queue_depth) ||
	    nla_put_u32(skb, PERSOHUB_A_PORT_MAX_PAYLOAD, port->max_payload) ||
	    nla_put_u32(skb, PERSOHUB_A_PORT_QUEUE, port->outstanding) ||
	    nla_put_u32(skb, PERSOHUB_A_PORT_SETTLE_MS, port->settle_ms) ||
	    nla_put_u8(skb, PERSOHUB_A_PORT_ENABLED, port->enabled) ||
	    nla_put_u32(skb, PERSOHUB_A_PORT_CLASS, port->klass) ||
	    nla_put_u64_64bit(skb, PERSOHUB_A_PORT_CLASSES, port->classes,
			      PERSOHUB_A_PAD) ||
	    nla_put_u32(skb, PERSOHUB_A_PORT_PRIORITY, port->priority) ||
	    (port->classifier.nrules &&
	     nla_put(skb, PERSOHUB_A_PORT_CLASSIFIER,
		     sizeof(port->classifier), &port->classifier)))
		return -EMSGSIZE;
	if (nla_put_string(skb, PERSOHUB_A_PORT_BACKEND, port->ops->name) ||
	    port->ops->fill(skb, port))
		return -EMSGSIZE;
	if (port->user)
		return 0;
	if (nla_put_u32(skb, PERSOHUB_A_PORT_BAUD, port->line.baud) ||
	    nla_put_u32(skb, PERSOHUB_A_PORT_DATA_BITS, port->line.data_bits) ||
	    nla_put_u32(skb, PERSOHUB_A_PORT_STOP_BITS, port->line.stop_bits) ||
	    nla_put_u32(skb, PERSOHUB_A_PORT_PARITY,
			p ? p - ph_parity_chars : 0) ||
	    nla_put_u32(skb, PERSOHUB_A_PORT_FRAMING, port->framing) ||
	    nla_put_u8(skb, PERSOHUB_A_PORT_LRC, port->lrc) ||
	    nla_put_u32(skb, PERSOHUB_A_PORT_GAP_CHARS, port->gap_chars) ||
	    nla_put(skb, PERSOHUB_A_PORT_ERROR_FRAME, port->error_len,
		    port->error_frame))
		return -EMSGSIZE;
	return 0;
}

/* Hub lock held: the port's is taken for a consistent set. */
static int ph_nl_fill_stats(struct sk_buff *skb, struct ph_port *port)
{
	struct ph_port_stats st;
	struct nlattr *nest;
	unsigned int i;

	spin_lock(&port->lock);
	st = port->stats;
	spin_unlock(&port->lock);
	if (nla_put_u32(skb, PERSOHUB_A_PORT_ID, port->id) ||
	    nla_put_string(skb, PERSOHUB_A_PORT_NAME, port->name))
		return -EMSGSIZE;
	nest = nla_nest_start(skb, PERSOHUB_A_STATS);
	if (!nest)
		return -EMSGSIZE;
	for (i = 1; i < __PERSOHUB_STAT_MAX; i++)
		if (nla_put_u64_64bit(skb, i, ph_stat_get(&st, i),
				      PERSOHUB_NEST_PAD))
			return -EMSGSIZE;
	nla_nest_end(skb, nest);
	return 0;
}

/* A latency histogram (%PERSOHUB_A_HIST): bucket i as type i + 1. */
static int ph_nl_put_hist(struct sk_buff *skb, const u64 *hist)
{
	struct nlattr *nest;
	unsigned int i;

	nest = nla_nest_start(skb, PERSOHUB_A_HIST);
	if (!nest)
		return -EMSGSIZE;
	for (i = 0; i < PH_HIST_BUCKETS; i++)
		if (nla_put_u64_64bit(skb, i + 1, hist[i], PERSOHUB_NEST_PAD))
			return -EMSGSIZE;
	nla_nest_end(skb, nest);
	return 0;
}

static int ph_nl_fill_hub(struct sk_buff *skb)
{
	if (nla_put_u32(skb, PERSOHUB_A_HUB_WAITING, ph_hub.nwaiting) ||
	    nla_put_u64_64bit(skb, PERSOHUB_A_HUB_NEXT_ID, ph_hub.next_id + 1,
			      PERSOHUB_A_PAD) ||
	    nla_put_u64_64bit(skb, PERSOHUB_A_HUB_EVENTS_DROPPED,
			      ph_nl_events_dropped(), PERSOHUB_A_PAD) ||
	    nla_put_u64_64bit(skb, PERSOHUB_A_HUB_DISPATCH_NS,
			      ph_hub.dispatch_sum_ns, PERSOHUB_A_PAD) ||
	    /* A stalled controller is not in charge: the hub matches. */
	    nla_put_u8(skb, PERSOHUB_A_CTRL_ATTACHED,
		       ph_hub.ctrl && !ph_hub.ctrl_stalled))
		return -EMSGSIZE;
	return ph_nl_put_hist(skb, ph_hub.dispatch_hist);
}

/* The port a request names; caller holds ph_hub.lock. */
static struct ph_port *ph_nl_port(struct genl_info *info)
{
	struct nlattr **attrs = info->attrs;
	struct ph_port *port;

	if (!attrs[PERSOHUB_A_PORT_ID] && !attrs[PERSOHUB_A_PORT_NAME]) {
		GENL_SET_ERR_MSG(info, "port id or name required");
		return ERR_PTR(-EINVAL);
	}
	/* An id selects; a name selects only without an id. */
	if (attrs[PERSOHUB_A_PORT_ID])
		port = ph_port_find_id(nla_get_u32(attrs[PERSOHUB_A_PORT_ID]));
	else
		port = ph_port_find_name(nla_data(attrs[PERSOHUB_A_PORT_NAME]));
	if (!port) {
		NL_SET_ERR_MSG_ATTR(info->extack, attrs[PERSOHUB_A_PORT_ID] ?
				    attrs[PERSOHUB_A_PORT_ID] :
				    attrs[PERSOHUB_A_PORT_NAME],
				    "no such port");
		return ERR_PTR(-ENODEV);
	}
	return port;
}

/* Reply to a do request with one message filled under the hub lock. */
static int ph_nl_reply(struct genl_info *info,
		       int (*fill)(struct sk_buff *, struct ph_port *),
		       bool need_port)
{
	struct ph_port *port = NULL;
	struct sk_buff *msg;
	void *hdr;
	int ret;

	msg = nlmsg_new(NLMSG_GOODSIZE, GFP_KERNEL);
	if (!msg)
		return -ENOMEM;
	hdr = genlmsg_put_reply(msg, info, &ph_nl_family, 0,
				info->genlhdr->cmd);
	if (!hdr) {
		ret = -EMSGSIZE;
		goto err_free_msg;
	}
	spin_lock_irq(&ph_hub.lock);
	if (need_port || info->attrs[PERSOHUB_A_PORT_ID] ||
	    info->attrs[PERSOHUB_A_PORT_NAME]) {
		port = ph_nl_port(info);
		if (IS_ERR(port)) {
			spin_unlock_irq(&ph_hub.lock);
			ret = PTR_ERR(port);
			goto err_free_msg;
		}
	}
	ret = port ? fill(msg, port) : ph_nl_fill_hub(msg);
	spin_unlock_irq(&ph_hub.lock);
	if (ret)
		goto err_free_msg;
	genlmsg_end(msg, hdr);
	return genlmsg_reply(msg, info);

err_free_msg:
	nlmsg_free(msg);
	return ret;
}

static int ph_nl_port_get_doit(struct sk_buff *skb, struct genl_info *info)
{
	return ph_nl_reply(info, ph_nl_fill_port, true);
}

/* Dump every port; cb->args[0] is how many were already sent. */
static int ph_nl_dump_ports(struct sk_buff *skb, struct netlink_callback *cb,
			    int (*fill)(struct sk_buff *, struct ph_port *))
{
	const struct genl_dumpit_info *info = genl_dumpit_info(cb);
	struct ph_port *port;
	long i = 0, done = cb->args[0];
	void *hdr;

	spin_lock_irq(&ph_hub.lock);
	list_for_each_entry(port, &ph_hub.ports, hub_node) {
		if (i++ < done)
			continue;
		hdr = genlmsg_put(skb, NETLINK_CB(cb->skb).portid,
				  cb->nlh->nlmsg_seq, &ph_nl_family,
				  NLM_F_MULTI, info->op.cmd);
		if (!hdr)
			break;
		if (fill(skb, port)) {
			genlmsg_cancel(skb, hdr);
			break;
		}
		genlmsg_end(skb, hdr);
		cb->args[0] = i;
	}
	spin_unlock_irq(&ph_hub.lock);
	return skb->len;
}

static int ph_nl_port_get_dumpit(struct sk_buff *skb,
				 struct netlink_callback *cb)
{
	return ph_nl_dump_ports(skb, cb, ph_nl_fill_port);
}

static int ph_nl_stats_get_doit(struct sk_buff *skb, struct genl_info *info)
{
	return ph_nl_reply(info, ph_nl_fill_stats, false);
}

static int ph_nl_stats_get_dumpit(struct sk_buff *skb,
				  struct netlink_callback *cb)
{
	return ph_nl_dump_ports(skb, cb, ph_nl_fill_stats);
}

static int ph_nl_port_set(struct genl_info *info);

static void ph_nl_name_err(struct genl_info *info, int err)
{
	struct nlattr *attr = info->attrs[PERSOHUB_A_PORT_NAME];

	if (err == -EEXIST)
		NL_SET_ERR_MSG_ATTR(info->extack, attr, "name in use");
	else if (err == -EBUSY)
		NL_SET_ERR_MSG_ATTR(info->extack, attr,
				    "a station is renamed when off");
	else if (err == -EOPNOTSUPP)
		NL_SET_ERR_MSG_ATTR(info->extack, attr,
				    "a userspace server or remote station keeps its name");
	else
		NL_SET_ERR_MSG_ATTR(info->extack, attr,
				    "name: 1 to 31 of A-Z a-z 0-9 . _ : -");
}

static int ph_nl_port_set_doit(struct sk_buff *skb, struct genl_info *info)
{
	int ret;

	/* Ports are freed only under cfg_lock: the port stays while held. */
	mutex_lock(&ph_hub.cfg_lock);
	ret = ph_nl_port_set(info);
	mutex_unlock(&ph_hub.cfg_lock);
	return ret;
}

/* Everything PORT_SET asks for, checked before anything is changed. */
static int ph_nl_port_set_check(struct genl_info *info, struct ph_port *port,
				struct ph_line *line)
{
	struct nlattr **attrs = info->attrs;
	struct nlattr *name = attrs[PERSOHUB_A_PORT_ID] ?
			      attrs[PERSOHUB_A_PORT_NAME] : NULL;
	u32 role = attrs[PERSOHUB_A_PORT_ROLE] ?
		   nla_get_u32(attrs[PERSOHUB_A_PORT_ROLE]) : port->role;
	struct ph_port *other;
	int ret;

	*line = port->line;
	if (attrs[PERSOHUB_A_PORT_BAUD])
		line->baud = nla_get_u32(attrs[PERSOHUB_A_PORT_BAUD]);
	if (attrs[PERSOHUB_A_PORT_DATA_BITS])
		line->data_bits = nla_get_u32(attrs[PERSOHUB_A_PORT_DATA_BITS]);
	if (attrs[PERSOHUB_A_PORT_STOP_BITS])
		line->stop_bits = nla_get_u32(attrs[PERSOHUB_A_PORT_STOP_BITS]);
	if (attrs[PERSOHUB_A_PORT_PARITY])
		line->parity =
			ph_parity_chars[nla_get_u32(attrs[PERSOHUB_A_PORT_PARITY])];
	if (attrs[PERSOHUB_A_PORT_BAUD] || attrs[PERSOHUB_A_PORT_DATA_BITS] ||
	    attrs[PERSOHUB_A_PORT_STOP_BITS] || attrs[PERSOHUB_A_PORT_PARITY]) {
		ret = port->ops->check_line(port, line);
		if (ret == -EOPNOTSUPP) {
			GENL_SET_ERR_MSG(info,
					 "a userspace server has no serial line");
			return ret;
		}
		if (ret) {
			NL_SET_ERR_MSG_ATTR(info->extack,
					    attrs[PERSOHUB_A_PORT_BAUD] ?:
					    attrs[PERSOHUB_A_PORT_DATA_BITS] ?:
					    attrs[PERSOHUB_A_PORT_STOP_BITS],
					    "line settings not supported by this port");
			return ret;
		}
	}
	if (attrs[PERSOHUB_A_PORT_ROLE] && role != port->role) {
		if (port->user) {
			NL_SET_ERR_MSG_ATTR(info->extack,
					    attrs[PERSOHUB_A_PORT_ROLE],
					    "a userspace server stays a server");
			return -EOPNOTSUPP;
		}
		if (ph_port_busy(port)) {
			NL_SET_ERR_MSG_ATTR(info->extack,
					    attrs[PERSOHUB_A_PORT_ROLE],
					    "port busy: role changes when idle");
			return -EBUSY;
		}
	}
	if (attrs[PERSOHUB_A_PORT_FRAMING] || attrs[PERSOHUB_A_PORT_LRC] ||
	    attrs[PERSOHUB_A_PORT_GAP_CHARS] ||
	    attrs[PERSOHUB_A_PORT_ERROR_FRAME]) {
		struct nlattr *a = attrs[PERSOHUB_A_PORT_FRAMING] ?:
				   attrs[PERSOHUB_A_PORT_LRC] ?:
				   attrs[PERSOHUB_A_PORT_GAP_CHARS] ?:
				   attrs[PERSOHUB_A_PORT_ERROR_FRAME];

		if (port->user) {
			NL_SET_ERR_MSG_ATTR(info->extack, a,
					    "a userspace server has no framing");
			return -EOPNOTSUPP;
		}
		if (ph_port_busy(port)) {
			NL_SET_ERR_MSG_ATTR(info->extack, a,
					    "port busy: framing changes when idle");
			return -EBUSY;
		}
	}
	if (attrs[PERSOHUB_A_PORT_STATE]) {
		u32 state = nla_get_u32(attrs[PERSOHUB_A_PORT_STATE]);

		if (state == PERSOHUB_STATE_BUSY) {
			NL_SET_ERR_MSG_ATTR(info->extack,
					    attrs[PERSOHUB_A_PORT_STATE],
					    "state is set to idle or failed");
			return -EINVAL;
		}
		if (role != PH_ROLE_SERVER) {
			NL_SET_ERR_MSG_ATTR(info->extack,
					    attrs[PERSOHUB_A_PORT_STATE],
					    "only servers have a state");
			return -EOPNOTSUPP;
		}
		if (port->role == PH_ROLE_SERVER && state != port->state &&
		    port->state == PH_STATE_BUSY) {
			NL_SET_ERR_MSG_ATTR(info->extack,
					    attrs[PERSOHUB_A_PORT_STATE],
					    "server busy");
			return -EBUSY;
		}
	}
	if (name) {
		if (!ph_name_valid(nla_data(name))) {
			ph_nl_name_err(info, -EINVAL);
			return -EINVAL;
		}
		other = ph_port_find_name(nla_data(name));
		if (other && other != port) {
			ph_nl_name_err(info, -EEXIST);
			return -EEXIST;
		}
		if (other != port && port->user) {
			ph_nl_name_err(info, -EOPNOTSUPP);
			return -EOPNOTSUPP;
		}
		if (other != port && port->role == PH_ROLE_STATION &&
		    role == PH_ROLE_STATION) {
			ph_nl_name_err(info, -EBUSY);
			return -EBUSY;
		}
	}
	return 0;
}

/*
 * Check all with a message for each refusal, then change all at once
 * (ph_port_change() checks again what traffic may have changed).
 */
static int ph_nl_port_set(struct genl_info *info)
{
	struct nlattr **attrs = info->attrs;
	struct ph_port_change ch = { };
	struct nlattr *name;
	struct ph_port *port;
	int ret;

	spin_lock_irq(&ph_hub.lock);
	port = ph_nl_port(info);
	ret = IS_ERR(port) ? PTR_ERR(port) :
			     ph_nl_port_set_check(info, port, &ch.line);
	spin_unlock_irq(&ph_hub.lock);
	if (ret)
		return ret;

	name = attrs[PERSOHUB_A_PORT_ID] ? attrs[PERSOHUB_A_PORT_NAME] : NULL;
	if (name) {
		ch.set |= PH_CHG_NAME;
		nla_strscpy(ch.name, name, sizeof(ch.name));
	}
	if (attrs[PERSOHUB_A_PORT_ROLE]) {
		ch.set |= PH_CHG_ROLE;
		ch.role = nla_get_u32(attrs[PERSOHUB_A_PORT_ROLE]);
	}
	if (attrs[PERSOHUB_A_PORT_STATE]) {
		ch.set |= PH_CHG_STATE;
		ch.state = nla_get_u32(attrs[PERSOHUB_A_PORT_STATE]);
	}
	if (attrs[PERSOHUB_A_PORT_BAUD] || attrs[PERSOHUB_A_PORT_DATA_BITS] ||
	    attrs[PERSOHUB_A_PORT_STOP_BITS] || attrs[PERSOHUB_A_PORT_PARITY])
		ch.set |= PH_CHG_LINE;
	if (attrs[PERSOHUB_A_PORT_MAX_PAYLOAD]) {
		ch.set |= PH_CHG_MAX_PAYLOAD;
		ch.max_payload = nla_get_u32(attrs[PERSOHUB_A_PORT_MAX_PAYLOAD]);
	}
	if (attrs[PERSOHUB_A_PORT_TIMEOUT_MS]) {
		ch.set |= PH_CHG_TIMEOUT;
		ch.timeout_ms = nla_get_u32(attrs[PERSOHUB_A_PORT_TIMEOUT_MS]);
	}
	if (attrs[PERSOHUB_A_PORT_QUEUE_DEPTH]) {
		ch.set |= PH_CHG_QUEUE_DEPTH;
		ch.queue_depth = nla_get_u32(attrs[PERSOHUB_A_PORT_QUEUE_DEPTH]);
	}
	if (attrs[PERSOHUB_A_PORT_SETTLE_MS]) {
		ch.set |= PH_CHG_SETTLE;
		ch.settle_ms = nla_get_u32(attrs[PERSOHUB_A_PORT_SETTLE_MS]);
	}
	if (attrs[PERSOHUB_A_PORT_FRAMING]) {
		ch.set |= PH_CHG_FRAMING;
		ch.framing = nla_get_u32(attrs[PERSOHUB_A_PORT_FRAMING]);
	}
	if (attrs[PERSOHUB_A_PORT_LRC]) {
		ch.set |= PH_CHG_LRC;
		ch.lrc = nla_get_u8(attrs[PERSOHUB_A_PORT_LRC]);
	}
	if (attrs[PERSOHUB_A_PORT_GAP_CHARS]) {
		ch.set |= PH_CHG_GAP;
		ch.gap_chars = nla_get_u32(attrs[PERSOHUB_A_PORT_GAP_CHARS]);
	}
	if (attrs[PERSOHUB_A_PORT_ENABLED]) {
		ch.set |= PH_CHG_ENABLED;
		ch.enabled = nla_get_u8(attrs[PERSOHUB_A_PORT_ENABLED]);
	}
	if (attrs[PERSOHUB_A_PORT_ERROR_FRAME]) {
		ch.set |= PH_CHG_ERROR_FRAME;
		ch.error_len = nla_len(attrs[PERSOHUB_A_PORT_ERROR_FRAME]);
		nla_memcpy(ch.error_frame, attrs[PERSOHUB_A_PORT_ERROR_FRAME],
			   sizeof(ch.error_frame));
	}
	if (attrs[PERSOHUB_A_PORT_CLASS]) {
		ch.set |= PH_CHG_CLASS;
		ch.klass = nla_get_u32(attrs[PERSOHUB_A_PORT_CLASS]);
	}
	if (attrs[PERSOHUB_A_PORT_CLASSES]) {
		ch.set |= PH_CHG_CLASSES;
		ch.classes = nla_get_u64(attrs[PERSOHUB_A_PORT_CLASSES]);
	}
	if (attrs[PERSOHUB_A_PORT_PRIORITY]) {
		ch.set |= PH_CHG_PRIORITY;
		ch.priority = nla_get_u32(attrs[PERSOHUB_A_PORT_PRIORITY]);
	}
	if (attrs[PERSOHUB_A_PORT_CLASSIFIER]) {
		struct nlattr *a = attrs[PERSOHUB_A_PORT_CLASSIFIER];

		ch.set |= PH_CHG_CLASSIFIER;
		if (nla_len(a) && nla_len(a) != sizeof(ch.classifier)) {
			NL_SET_ERR_MSG_ATTR(info->extack, a,
					    "a classifier is a struct persohub_classifier, or empty");
			return -EINVAL;
		}
		nla_memcpy(&ch.classifier, a, sizeof(ch.classifier));
		if (nla_len(a) && !ph_classifier_valid(&ch.classifier)) {
			NL_SET_ERR_MSG_ATTR(info->extack, a,
					    "classifier: len 1-8, 1-16 rules, classes 0-63, offset + len within a payload");
			return -EINVAL;
		}
	}
	ret = ph_port_change(port, &ch);
	switch (ret) {
	case 0:
		break;
	case -EILSEQ:
		NL_SET_ERR_MSG_ATTR(info->extack,
				    attrs[PERSOHUB_A_PORT_ERROR_FRAME] ?:
				    attrs[PERSOHUB_A_PORT_FRAMING],
				    "the error frame cannot be sent in this framing (STX or ETX in stx-etx)");
		break;
	case -EOPNOTSUPP:
		GENL_SET_ERR_MSG(info, "a userspace server has no framing or role to change");
		break;
	default:
		GENL_SET_ERR_MSG(info,
				 "port busy or changed while being set: nothing applied, try again");
		break;
	}
	return ret;
}

static int ph_nl_ctrl_attach_doit(struct sk_buff *skb, struct genl_info *info)
{
	struct ph_event ev = { .cmd = PERSOHUB_CMD_CTRL_CHANGED, .result = 1 };
	int ret;

	ret = ph_hub_attach(info->snd_portid);
	if (ret) {
		GENL_SET_ERR_MSG(info, "another controller is attached");
		return ret;
	}
	/* Attaching again after a stall takes control back. */
	ph_hub_ctrl_alive(info->snd_portid);
	spin_lock_irq(&ph_hub.lock);
	ph_nl_event(&ev);
	spin_unlock_irq(&ph_hub.lock);
	return 0;
}

static int ph_nl_ctrl_keepalive_doit(struct sk_buff *skb,
				     struct genl_info *info)
{
	int ret = ph_hub_ctrl_alive(info->snd_portid);

	if (ret)
		GENL_SET_ERR_MSG(info, "not the controller");
	return ret;
}

static void ph_nl_ctrl_detached(void)
{
	struct ph_event ev = { .cmd = PERSOHUB_CMD_CTRL_CHANGED, .result = 0 };

	spin_lock_irq(&ph_hub.lock);
	ph_nl_event(&ev);
	spin_unlock_irq(&ph_hub.lock);
}

static int ph_nl_ctrl_detach_doit(struct sk_buff *skb, struct genl_info *info)
{
	int ret = ph_hub_detach(info->snd_portid, false);

	if (ret) {
		GENL_SET_ERR_MSG(info, "not the controller");
		return ret;
	}
	ph_nl_ctrl_detached();
	return 0;
}

static int ph_nl_dispatch_doit(struct sk_buff *skb, struct genl_info *info)
{
	struct nlattr **attrs = info->attrs;
	int ret;

	if (GENL_REQ_ATTR_CHECK(info, PERSOHUB_A_REQ_ID) ||
	    GENL_REQ_ATTR_CHECK(info, PERSOHUB_A_SERVER_ID))
		return -EINVAL;
	ret = ph_hub_dispatch(info->snd_portid,
			      nla_get_u64(attrs[PERSOHUB_A_REQ_ID]),
			      nla_get_u32(attrs[PERSOHUB_A_SERVER_ID]));
	switch (ret) {
	case 0:
		break;
	case -EPERM:
		GENL_SET_ERR_MSG(info, "not the controller");
		break;
	case -ENOENT:
		NL_SET_ERR_MSG_ATTR(info->extack, attrs[PERSOHUB_A_REQ_ID],
				    "no such waiting request");
		break;
	case -ENODEV:
		NL_SET_ERR_MSG_ATTR(info->extack, attrs[PERSOHUB_A_SERVER_ID],
				    "no such server");
		break;
	case -EBUSY:
		NL_SET_ERR_MSG_ATTR(info->extack, attrs[PERSOHUB_A_SERVER_ID],
				    "server busy");
		break;
	case -EIO:
		NL_SET_ERR_MSG_ATTR(info->extack, attrs[PERSOHUB_A_SERVER_ID],
				    "server failed");
		break;
	case -EHOSTDOWN:
		NL_SET_ERR_MSG_ATTR(info->extack, attrs[PERSOHUB_A_SERVER_ID],
				    "server disabled by the administrator");
		break;
	case -EXDEV:
		NL_SET_ERR_MSG_ATTR(info->extack, attrs[PERSOHUB_A_SERVER_ID],
				    "the server does not serve this request's class");
		break;
	case -EILSEQ:
		NL_SET_ERR_MSG_ATTR(info->extack, attrs[PERSOHUB_A_SERVER_ID],
				    "the server's framing cannot carry this request: it failed");
		break;
	}
	return ret;
}

static int ph_nl_server_probe_doit(struct sk_buff *skb,
				   struct genl_info *info)
{
	struct nlattr **attrs = info->attrs;
	int ret;

	if (GENL_REQ_ATTR_CHECK(info, PERSOHUB_A_SERVER_ID) ||
	    GENL_REQ_ATTR_CHECK(info, PERSOHUB_A_PAYLOAD))
		return -EINVAL;
	ret = ph_hub_probe(nla_get_u32(attrs[PERSOHUB_A_SERVER_ID]),
			   nla_data(attrs[PERSOHUB_A_PAYLOAD]),
			   nla_len(attrs[PERSOHUB_A_PAYLOAD]));
	if (ret == -EINVAL)
		NL_SET_ERR_MSG_ATTR(info->extack, attrs[PERSOHUB_A_SERVER_ID],
				    "only a failed server is probed");
	else if (ret == -ENODEV)
		NL_SET_ERR_MSG_ATTR(info->extack, attrs[PERSOHUB_A_SERVER_ID],
				    "no such server");
	else if (ret == -EOPNOTSUPP)
		NL_SET_ERR_MSG_ATTR(info->extack, attrs[PERSOHUB_A_SERVER_ID],
				    "a userspace server is not probed");
	return ret;
}

/*
 * Reply to a command that made a port with its id, in @msg, allocated
 * before the port was made so that a made port always gets its reply.
 */
static int ph_nl_reply_id(struct genl_info *info, struct sk_buff *msg, u32 id)
{
	void *hdr;

	hdr = genlmsg_put_reply(msg, info, &ph_nl_family, 0,
				info->genlhdr->cmd);
	if (!hdr || nla_put_u32(msg, PERSOHUB_A_PORT_ID, id)) {
		nlmsg_free(msg);
		return -EMSGSIZE;
	}
	genlmsg_end(msg, hdr);
	return genlmsg_reply(msg, info);
}

static int ph_nl_user_server_add_doit(struct sk_buff *skb,
				      struct genl_info *info)
{
	struct nlattr **attrs = info->attrs;
	struct ph_port *srv;
	struct sk_buff *msg;

	if (GENL_REQ_ATTR_CHECK(info, PERSOHUB_A_PORT_NAME))
		return -EINVAL;
	msg = nlmsg_new(NLMSG_GOODSIZE, GFP_KERNEL);
	if (!msg)
		return -ENOMEM;
	srv = ph_user_server_add(nla_data(attrs[PERSOHUB_A_PORT_NAME]),
				 attrs[PERSOHUB_A_PORT_TIMEOUT_MS] ?
				 nla_get_u32(attrs[PERSOHUB_A_PORT_TIMEOUT_MS]) :
				 0,
				 attrs[PERSOHUB_A_PORT_CLASSES] ?
				 nla_get_u64(attrs[PERSOHUB_A_PORT_CLASSES]) :
				 1,
				 nla_get_flag(attrs[PERSOHUB_A_PORT_OVERFLOW]));
	if (IS_ERR(srv)) {
		nlmsg_free(msg);
		ph_nl_name_err(info, PTR_ERR(srv));
		return PTR_ERR(srv);
	}
	return ph_nl_reply_id(info, msg, srv->id);
}

static int ph_nl_user_station_add_doit(struct sk_buff *skb,
				       struct genl_info *info)
{
	struct nlattr **attrs = info->attrs;
	struct ph_port *st;
	struct sk_buff *msg;

	if (GENL_REQ_ATTR_CHECK(info, PERSOHUB_A_PORT_NAME))
		return -EINVAL;
	msg = nlmsg_new(NLMSG_GOODSIZE, GFP_KERNEL);
	if (!msg)
		return -ENOMEM;
	st = ph_remote_station_add(nla_data(attrs[PERSOHUB_A_PORT_NAME]),
				   attrs[PERSOHUB_A_PORT_QUEUE_DEPTH] ?
				   nla_get_u32(attrs[PERSOHUB_A_PORT_QUEUE_DEPTH]) :
				   PERSOHUB_REMOTE_DEPTH_DEFAULT,
				   attrs[PERSOHUB_A_PORT_CLASS] ?
				   nla_get_u32(attrs[PERSOHUB_A_PORT_CLASS]) : 0,
				   attrs[PERSOHUB_A_PORT_PRIORITY] ?
				   nla_get_u32(attrs[PERSOHUB_A_PORT_PRIORITY]) :
				   0);
	if (IS_ERR(st)) {
		nlmsg_free(msg);
		ph_nl_name_err(info, PTR_ERR(st));
		return PTR_ERR(st);
	}
	return ph_nl_reply_id(info, msg, st->id);
}

/*
 * USER_SERVER_DEL and USER_STATION_DEL: a userspace server, or a remote
 * station (@remote), leaves the hub; any other port is refused.
 */
static int ph_nl_user_port_del(struct genl_info *info, bool remote)
{
	struct ph_port *port;

	mutex_lock(&ph_hub.cfg_lock);
	spin_lock_irq(&ph_hub.lock);
	port = ph_nl_port(info);
	spin_unlock_irq(&ph_hub.lock);
	if (!IS_ERR(port) && (!port->user || port->remote != remote)) {
		if (remote)
			GENL_SET_ERR_MSG(info, "not a remote station");
		else
			GENL_SET_ERR_MSG(info, "not a userspace server");
		port = ERR_PTR(-EOPNOTSUPP);
	}
	if (IS_ERR(port)) {
		mutex_unlock(&ph_hub.cfg_lock);
		return PTR_ERR(port);
	}
	ph_user_server_del(port);	/* drops cfg_lock */
	return 0;
}

static int ph_nl_user_server_del_doit(struct sk_buff *skb,
				      struct genl_info *info)
{
	return ph_nl_user_port_del(info, false);
}

static int ph_nl_user_station_del_doit(struct sk_buff *skb,
				       struct genl_info *info)
{
	return ph_nl_user_port_del(info, true);
}

static int ph_nl_port_add_doit(struct sk_buff *skb, struct genl_info *info)
{
	struct nlattr *tty = info->attrs[PERSOHUB_A_PORT_TTY];
	struct sk_buff *msg;
	int id;

	if (GENL_REQ_ATTR_CHECK(info, PERSOHUB_A_PORT_TTY))
		return -EINVAL;
	msg = nlmsg_new(NLMSG_GOODSIZE, GFP_KERNEL);
	if (!msg)
		return -ENOMEM;
	id = ph_tty_attach(nla_data(tty));
	if (id < 0) {
		nlmsg_free(msg);
		if (id == -ENODEV)
			NL_SET_ERR_MSG_ATTR(info->extack, tty, "no such tty");
		else if (id == -EBUSY)
			NL_SET_ERR_MSG_ATTR(info->extack, tty,
					    "tty open elsewhere");
		else if (id == -EEXIST)
			NL_SET_ERR_MSG_ATTR(info->extack, tty,
					    "tty attached already");
		return id;
	}
	return ph_nl_reply_id(info, msg, id);
}

static int ph_nl_port_del_doit(struct sk_buff *skb, struct genl_info *info)
{
	struct nlattr **attrs = info->attrs;
	char name[PH_NAME_LEN];
	struct ph_port *port;
	int ret;

	if (attrs[PERSOHUB_A_PORT_TTY]) {
		nla_strscpy(name, attrs[PERSOHUB_A_PORT_TTY], sizeof(name));
	} else {
		spin_lock_irq(&ph_hub.lock);
		port = ph_nl_port(info);
		if (!IS_ERR(port))
			strscpy(name, port->name, sizeof(name));
		spin_unlock_irq(&ph_hub.lock);
		if (IS_ERR(port))
			return PTR_ERR(port);
	}
	ret = ph_tty_detach(name);
	if (ret == -EOPNOTSUPP)
		GENL_SET_ERR_MSG(info, "not a tty port");
	else if (ret == -ENODEV)
		GENL_SET_ERR_MSG(info, "no such tty port");
	return ret;
}

/* Dump every request not answered yet; cb->args[0]: how many sent. */
static int ph_nl_request_get_dumpit(struct sk_buff *skb,
				    struct netlink_callback *cb)
{
	struct ph_request *req;
	struct ph_port *port;
	long n = 0, done = cb->args[0];
	void *hdr;

	spin_lock_irq(&ph_hub.lock);
	list_for_each_entry(port, &ph_hub.ports, hub_node) {
		list_for_each_entry(req, &port->reqs, station_node) {
			if (req->state == PH_REQ_ANSWERED || n++ < done)
				continue;
			hdr = genlmsg_put(skb, NETLINK_CB(cb->skb).portid,
					  cb->nlh->nlmsg_seq, &ph_nl_family,
					  NLM_F_MULTI,
					  PERSOHUB_CMD_REQUEST_GET);
			if (!hdr)
				goto out;
			if (nla_put_u64_64bit(skb, PERSOHUB_A_REQ_ID, req->id,
					      PERSOHUB_A_PAD) ||
			    nla_put_u32(skb, PERSOHUB_A_PORT_ID, port->id) ||
			    nla_put_u32(skb, PERSOHUB_A_REQ_LEN, req->len) ||
			    nla_put_u64_64bit(skb, PERSOHUB_A_REQ_RX_NS,
					      req->rx_ns, PERSOHUB_A_PAD) ||
			    nla_put_u32(skb, PERSOHUB_A_REQ_CLASS, req->klass) ||
			    nla_put_u32(skb, PERSOHUB_A_REQ_PRIORITY,
					req->priority) ||
			    (req->state == PH_REQ_ACTIVE &&
			     nla_put_u32(skb, PERSOHUB_A_SERVER_ID,
					 req->server_id))) {
				genlmsg_cancel(skb, hdr);
				goto out;
			}
			genlmsg_end(skb, hdr);
			cb->args[0] = n;
		}
	}
out:
	spin_unlock_irq(&ph_hub.lock);
	return skb->len;
}

/* Class @id's setting and figures. Hub lock held. */
static int ph_nl_fill_class(struct sk_buff *skb, u32 id)
{
	const struct ph_class *cl = &ph_hub.classes[id];
	const u64 v[] = {
		[PERSOHUB_CLASS_STAT_WAITING] = cl->waiting,
		[PERSOHUB_CLASS_STAT_DISPATCHED] = cl->dispatched,
		[PERSOHUB_CLASS_STAT_FAILED] = cl->failed,
		[PERSOHUB_CLASS_STAT_DONE] = cl->done,
		[PERSOHUB_CLASS_STAT_WAIT_NS] = cl->wait_ns,
		[PERSOHUB_CLASS_STAT_ANSWERS] = cl->answers,
		[PERSOHUB_CLASS_STAT_SERVICE_NS] = cl->service_ns,
	};
	struct nlattr *nest;
	unsigned int i;

	if (nla_put_u32(skb, PERSOHUB_A_CLASS_ID, id) ||
	    nla_put_u32(skb, PERSOHUB_A_CLASS_MAX_WAIT_MS, cl->max_wait_ms))
		return -EMSGSIZE;
	nest = nla_nest_start(skb, PERSOHUB_A_CLASS_STATS);
	if (!nest)
		return -EMSGSIZE;
	for (i = 1; i < ARRAY_SIZE(v); i++)
		if (nla_put_u64_64bit(skb, i, v[i], PERSOHUB_NEST_PAD))
			return -EMSGSIZE;
	nla_nest_end(skb, nest);
	return ph_nl_put_hist(skb, cl->wait_hist);
}

static int ph_nl_class_get_doit(struct sk_buff *skb, struct genl_info *info)
{
	struct sk_buff *msg;
	void *hdr;
	int ret;

	if (GENL_REQ_ATTR_CHECK(info, PERSOHUB_A_CLASS_ID))
		return -EINVAL;
	msg = nlmsg_new(NLMSG_GOODSIZE, GFP_KERNEL);
	if (!msg)
		return -ENOMEM;
	hdr = genlmsg_put_reply(msg, info, &ph_nl_family, 0,
				info->genlhdr->cmd);
	if (!hdr) {
		nlmsg_free(msg);
		return -EMSGSIZE;
	}
	spin_lock_irq(&ph_hub.lock);
	ret = ph_nl_fill_class(msg,
			       nla_get_u32(info->attrs[PERSOHUB_A_CLASS_ID]));
	spin_unlock_irq(&ph_hub.lock);
	if (ret) {
		nlmsg_free(msg);
		return ret;
	}
	genlmsg_end(msg, hdr);
	return genlmsg_reply(msg, info);
}

/* Dump every class; cb->args[0] is how many were already sent. */
static int ph_nl_class_get_dumpit(struct sk_buff *skb,
				  struct netlink_callback *cb)
{
	long id;
	void *hdr;

	spin_lock_irq(&ph_hub.lock);
	for (id = cb->args[0]; id < PH_CLASSES; id++) {
		hdr = genlmsg_put(skb, NETLINK_CB(cb->skb).portid,
				  cb->nlh->nlmsg_seq, &ph_nl_family,
				  NLM_F_MULTI, PERSOHUB_CMD_CLASS_GET);
		if (!hdr)
			break;
		if (ph_nl_fill_class(skb, id)) {
			genlmsg_cancel(skb, hdr);
			break;
		}
		genlmsg_end(skb, hdr);
	}
	cb->args[0] = id;
	spin_unlock_irq(&ph_hub.lock);
	return skb->len;
}

static int ph_nl_class_set_doit(struct sk_buff *skb, struct genl_info *info)
{
	if (GENL_REQ_ATTR_CHECK(info, PERSOHUB_A_CLASS_ID) ||
	    GENL_REQ_ATTR_CHECK(info, PERSOHUB_A_CLASS_MAX_WAIT_MS))
		return -EINVAL;
	return ph_class_set(nla_get_u32(info->attrs[PERSOHUB_A_CLASS_ID]),
			    nla_get_u32(info->attrs[PERSOHUB_A_CLASS_MAX_WAIT_MS]));
}

static const struct genl_ops ph_nl_ops[] = {
	{
		.cmd = PERSOHUB_CMD_PORT_GET,
		.doit = ph_nl_port_get_doit,
		.dumpit = ph_nl_port_get_dumpit,
		.policy = ph_select_policy,
		.maxattr = ARRAY_SIZE(ph_select_policy) - 1,
	},
	{
		.cmd = PERSOHUB_CMD_PORT_SET,
		.doit = ph_nl_port_set_doit,
		.policy = ph_set_policy,
		.maxattr = ARRAY_SIZE(ph_set_policy) - 1,
		.flags = GENL_ADMIN_PERM,
	},
	{
		.cmd = PERSOHUB_CMD_STATS_GET,
		.doit = ph_nl_stats_get_doit,
		.dumpit = ph_nl_stats_get_dumpit,
		.policy = ph_select_policy,
		.maxattr = ARRAY_SIZE(ph_select_policy) - 1,
	},
	{
		.cmd = PERSOHUB_CMD_CTRL_ATTACH,
		.doit = ph_nl_ctrl_attach_doit,
		.flags = GENL_ADMIN_PERM,
	},
	{
		.cmd = PERSOHUB_CMD_CTRL_DETACH,
		.doit = ph_nl_ctrl_detach_doit,
		.flags = GENL_ADMIN_PERM,
	},
	{
		.cmd = PERSOHUB_CMD_DISPATCH,
		.doit = ph_nl_dispatch_doit,
		.policy = ph_dispatch_policy,
		.maxattr = ARRAY_SIZE(ph_dispatch_policy) - 1,
		.flags = GENL_ADMIN_PERM,
	},
	{
		.cmd = PERSOHUB_CMD_USER_SERVER_ADD,
		.doit = ph_nl_user_server_add_doit,
		.policy = ph_user_add_policy,
		.maxattr = ARRAY_SIZE(ph_user_add_policy) - 1,
		.flags = GENL_ADMIN_PERM,
	},
	{
		.cmd = PERSOHUB_CMD_USER_SERVER_DEL,
		.doit = ph_nl_user_server_del_doit,
		.policy = ph_select_policy,
		.maxattr = ARRAY_SIZE(ph_select_policy) - 1,
		.flags = GENL_ADMIN_PERM,
	},
	{
		.cmd = PERSOHUB_CMD_SERVER_PROBE,
		.doit = ph_nl_server_probe_doit,
		.policy = ph_probe_policy,
		.maxattr = ARRAY_SIZE(ph_probe_policy) - 1,
		.flags = GENL_ADMIN_PERM,
	},
	{
		.cmd = PERSOHUB_CMD_REQUEST_GET,
		.dumpit = ph_nl_request_get_dumpit,
		.flags = GENL_ADMIN_PERM,
	},
	{
		.cmd = PERSOHUB_CMD_CTRL_KEEPALIVE,
		.doit = ph_nl_ctrl_keepalive_doit,
		.flags = GENL_ADMIN_PERM,
	},
	{
		.cmd = PERSOHUB_CMD_PORT_ADD,
		.doit = ph_nl_port_add_doit,
		.policy = ph_tty_policy,
		.maxattr = ARRAY_SIZE(ph_tty_policy) - 1,
		.flags = GENL_ADMIN_PERM,
	},
	{
		.cmd = PERSOHUB_CMD_PORT_DEL,
		.doit = ph_nl_port_del_doit,
		.policy = ph_tty_policy,
		.maxattr = ARRAY_SIZE(ph_tty_policy) - 1,
		.flags = GENL_ADMIN_PERM,
	},
	{
		.cmd = PERSOHUB_CMD_CLASS_GET,
		.doit = ph_nl_class_get_doit,
		.dumpit = ph_nl_class_get_dumpit,
		.policy = ph_class_policy,
		.maxattr = ARRAY_SIZE(ph_class_policy) - 1,
	},
	{
		.cmd = PERSOHUB_CMD_CLASS_SET,
		.doit = ph_nl_class_set_doit,
		.policy = ph_class_policy,
		.maxattr = ARRAY_SIZE(ph_class_policy) - 1,
		.flags = GENL_ADMIN_PERM,
	},
	{
		.cmd = PERSOHUB_CMD_USER_STATION_ADD,
		.doit = ph_nl_user_station_add_doit,
		.policy = ph_station_add_policy,
		.maxattr = ARRAY_SIZE(ph_station_add_policy) - 1,
		.flags = GENL_ADMIN_PERM,
	},
	{
		.cmd = PERSOHUB_CMD_USER_STATION_DEL,
		.doit = ph_nl_user_station_del_doit,
		.policy = ph_select_policy,
		.maxattr = ARRAY_SIZE(ph_select_policy) - 1,
		.flags = GENL_ADMIN_PERM,
	},
};

static struct genl_family ph_nl_family __ro_after_init = {
	.name = PERSOHUB_FAMILY_NAME,
	.version = PERSOHUB_FAMILY_VERSION,
	.module = THIS_MODULE,
	.ops = ph_nl_ops,
	.n_ops = ARRAY_SIZE(ph_nl_ops),
	.resv_start_op = PERSOHUB_CMD_PORT_GET,
	.mcgrps = ph_nl_mcgrps,
	.n_mcgrps = ARRAY_SIZE(ph_nl_mcgrps),
	.parallel_ops = true,
};

/* Events, from any context. */

/* Record @ev for the tasklet. Hub lock held (interrupts off). */
void ph_nl_event(const struct ph_event *ev)
{
	if (!ph_nl_ready || !genl_has_listeners(&ph_nl_family, &init_net, 0))
		return;
	spin_lock(&ph_ev_lock);
	if (ph_ev_head - ph_ev_tail < PH_EV_RING)
		ph_ev_ring[ph_ev_head++ % PH_EV_RING] = *ev;
	else
		ph_ev_dropped++;
	spin_unlock(&ph_ev_lock);
	tasklet_schedule(&ph_nl_tasklet);
}

/* @port's settings changed: the message says what they are when sent. */
void ph_nl_port_changed(struct ph_port *port)
{
	struct ph_event ev = {
		.cmd = PERSOHUB_CMD_PORT_CHANGED,
		.port_id = port->id,
	};

	ph_nl_event(&ev);
}

/*
 * What each event holds, at most. Events come several per request: each
 * is sized to its attributes (a few dozen bytes), not to a page, so a
 * burst fits a listener's receive buffer.
 */
static size_t ph_nl_event_size(u8 cmd)
{
	const size_t u32a = nla_total_size(sizeof(u32));
	const size_t u64a = nla_total_size_64bit(sizeof(u64));

	switch (cmd) {
	case PERSOHUB_CMD_REQUEST_NEW:
		return 2 * u64a + 4 * u32a;
	case PERSOHUB_CMD_REQUEST_DONE:
		return 4 * u64a + 8 * u32a;
	case PERSOHUB_CMD_SERVER_READY:
		return u32a;
	case PERSOHUB_CMD_SERVER_FAILED:
		return 2 * u32a;
	case PERSOHUB_CMD_CTRL_CHANGED:
		return nla_total_size(sizeof(u8));
	case PERSOHUB_CMD_PORT_CHANGED:
		/* ph_nl_fill_port(): three names, the backend, the flag,
		 * the numbers
		 */
		return 4 * nla_total_size(PH_NAME_LEN) + 2 * nla_total_size(0) +
		       22 * u32a + u64a + nla_total_size(PH_ERROR_FRAME_MAX) +
		       nla_total_size(sizeof(struct persohub_classifier));
	}
	return NLMSG_DEFAULT_SIZE;
}

/* The attributes of @ev. 0, or -EMSGSIZE; -ENODEV: the port is gone. */
static int ph_nl_event_fill(struct sk_buff *skb, const struct ph_event *ev)
{
	struct ph_port *port;
	unsigned long flags;
	int err = 0;

	switch (ev->cmd) {
	case PERSOHUB_CMD_REQUEST_NEW:
		err = nla_put_u64_64bit(skb, PERSOHUB_A_REQ_ID, ev->req_id,
					PERSOHUB_A_PAD) ||
		      nla_put_u32(skb, PERSOHUB_A_PORT_ID, ev->port_id) ||
		      nla_put_u32(skb, PERSOHUB_A_REQ_LEN, ev->len) ||
		      nla_put_u64_64bit(skb, PERSOHUB_A_REQ_RX_NS, ev->rx_ns,
					PERSOHUB_A_PAD) ||
		      nla_put_u32(skb, PERSOHUB_A_REQ_CLASS, ev->klass) ||
		      nla_put_u32(skb, PERSOHUB_A_REQ_PRIORITY, ev->priority);
		break;
	case PERSOHUB_CMD_REQUEST_DONE:
		err = nla_put_u64_64bit(skb, PERSOHUB_A_REQ_ID, ev->req_id,
					PERSOHUB_A_PAD) ||
		      nla_put_u32(skb, PERSOHUB_A_PORT_ID, ev->port_id) ||
		      (ev->server_id &&
		       nla_put_u32(skb, PERSOHUB_A_SERVER_ID, ev->server_id)) ||
		      nla_put_u32(skb, PERSOHUB_A_RESULT, ev->result) ||
		      nla_put_u64_64bit(skb, PERSOHUB_A_LATENCY_NS,
					ev->latency_ns, PERSOHUB_A_PAD) ||
		      nla_put_u32(skb, PERSOHUB_A_REQ_LEN, ev->len) ||
		      nla_put_u32(skb, PERSOHUB_A_REQ_RETRIES, ev->retries) ||
		      nla_put_u64_64bit(skb, PERSOHUB_A_REQ_SEQ, ev->seq,
					PERSOHUB_A_PAD) ||
		      (ev->server_id &&
		       nla_put_u64_64bit(skb, PERSOHUB_A_REQ_WAIT_NS,
					 ev->wait_ns, PERSOHUB_A_PAD)) ||
		      (ev->result == PERSOHUB_RESULT_DROPPED ?
		       nla_put_u32(skb, PERSOHUB_A_REASON,
				   PERSOHUB_REASON_GONE) :
		       ev->timed_out && ev->result != PERSOHUB_RESULT_OK &&
		       nla_put_u32(skb, PERSOHUB_A_REASON,
				   PERSOHUB_REASON_TIMEOUT)) ||
		      nla_put_u32(skb, PERSOHUB_A_REQ_CLASS, ev->klass) ||
		      nla_put_u32(skb, PERSOHUB_A_REQ_PRIORITY, ev->priority);
		break;
	case PERSOHUB_CMD_SERVER_READY:
		err = nla_put_u32(skb, PERSOHUB_A_SERVER_ID, ev->server_id);
		break;
	case PERSOHUB_CMD_SERVER_FAILED:
		err = nla_put_u32(skb, PERSOHUB_A_SERVER_ID, ev->server_id) ||
		      nla_put_u32(skb, PERSOHUB_A_REASON, ev->reason);
		break;
	case PERSOHUB_CMD_CTRL_CHANGED:
		err = nla_put_u8(skb, PERSOHUB_A_CTRL_ATTACHED, ev->result);
		break;
	case PERSOHUB_CMD_PORT_CHANGED:
		spin_lock_irqsave(&ph_hub.lock, flags);
		port = ph_port_find_id(ev->port_id);
		err = port ? ph_nl_fill_port(skb, port) : -ENODEV;
		spin_unlock_irqrestore(&ph_hub.lock, flags);
		return err;
	}
	return err ? -EMSGSIZE : 0;
}

/* Build and multicast what the ring holds, in order. */
static void ph_nl_send_events(struct tasklet_struct *t)
{
	struct ph_event ev;
	struct sk_buff *skb;
	unsigned long flags;
	void *hdr;
	int err;

	for (;;) {
		spin_lock_irqsave(&ph_ev_lock, flags);
		if (ph_ev_tail == ph_ev_head) {
			spin_unlock_irqrestore(&ph_ev_lock, flags);
			return;
		}
		ev = ph_ev_ring[ph_ev_tail++ % PH_EV_RING];
		spin_unlock_irqrestore(&ph_ev_lock, flags);

		skb = genlmsg_new(ph_nl_event_size(ev.cmd), GFP_ATOMIC);
		hdr = skb ? genlmsg_put(skb, 0, 0, &ph_nl_family, 0, ev.cmd) :
			    NULL;
		err = hdr ? ph_nl_event_fill(skb, &ev) : -ENOMEM;
		if (err) {
			nlmsg_free(skb);
			/* A port gone meanwhile: nothing left to say. */
			if (err != -ENODEV) {
				spin_lock_irqsave(&ph_ev_lock, flags);
				ph_ev_dropped++;
				spin_unlock_irqrestore(&ph_ev_lock, flags);
			}
			continue;
		}
		genlmsg_end(skb, hdr);
		genlmsg_multicast(&ph_nl_family, skb, 0, 0, GFP_ATOMIC);
	}
}

/* The controller's socket closed (daemon exited or was killed). */
static int ph_nl_notify(struct notifier_block *nb, unsigned long state,
			void *_notify)
{
	struct netlink_notify *notify = _notify;

	/*
	 * Port ids are per network namespace: the controller's socket lives
	 * in init_net (the family is not netnsok), and a socket closed in
	 * another namespace under the same port id is not the controller.
	 */
	if (state != NETLINK_URELEASE || notify->protocol != NETLINK_GENERIC ||
	    !net_eq(notify->net, &init_net))
		return NOTIFY_DONE;
	if (!ph_hub_detach(notify->portid, false)) {
		pr_info_ratelimited("controller gone, the hub matches again\n");
		ph_nl_ctrl_detached();
	}
	return NOTIFY_DONE;
}

static struct notifier_block ph_nl_notifier = {
	.notifier_call = ph_nl_notify,
};

int ph_netlink_init(void)
{
	int ret;

	tasklet_setup(&ph_nl_tasklet, ph_nl_send_events);
	ret = netlink_register_notifier(&ph_nl_notifier);
	if (ret)
		return ret;
	ret = genl_register_family(&ph_nl_family);
	if (ret)
		goto err_notifier;
	spin_lock_irq(&ph_hub.lock);
	ph_nl_ready = true;
	spin_unlock_irq(&ph_hub.lock);
	return 0;

err_notifier:
	netlink_unregister_notifier(&ph_nl_notifier);
	return ret;
}

void ph_netlink_exit(void)
{
	spin_lock_irq(&ph_hub.lock);
	ph_nl_ready = false;
	spin_unlock_irq(&ph_hub.lock);
	tasklet_kill(&ph_nl_tasklet);
	genl_unregister_family(&ph_nl_family);
	netlink_unregister_notifier(&ph_nl_notifier);
}

MODULE_ALIAS_GENL_FAMILY(PERSOHUB_FAMILY_NAME);
