// SPDX-License-Identifier: GPL-2.0
/*
 * libmnl helpers for the persohub generic netlink family: open a socket the
 * way iproute2 does (extended acks, capped acks), resolve the family and
 * its "events" group by name, send requests and parse replies and events.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#include <linux/genetlink.h>
#include <linux/netlink.h>

#include "phnl.h"

/* Large enough for a dump batch of the kernel (NLMSG_GOODSIZE and more). */
#define PHNL_RECV_SIZE 32768

#ifndef SOL_NETLINK
#define SOL_NETLINK 270
#endif

const char *const phnl_stat_names[PERSOHUB_STAT_MAX + 1] = {
	[PERSOHUB_STAT_RX_BYTES] = "rx_bytes",
	[PERSOHUB_STAT_TX_BYTES] = "tx_bytes",
	[PERSOHUB_STAT_OVERRUNS] = "overruns",
	[PERSOHUB_STAT_FRAMING_ERRORS] = "framing_errors",
	[PERSOHUB_STAT_PARITY_ERRORS] = "parity_errors",
	[PERSOHUB_STAT_BREAKS] = "breaks",
	[PERSOHUB_STAT_RX_FRAMES] = "rx_frames",
	[PERSOHUB_STAT_TX_FRAMES] = "tx_frames",
	[PERSOHUB_STAT_FCS_ERRORS] = "fcs_errors",
	[PERSOHUB_STAT_FRAME_TOO_LONG] = "frame_too_long",
	[PERSOHUB_STAT_FRAME_TOO_SHORT] = "frame_too_short",
	[PERSOHUB_STAT_FRAME_ABORTS] = "frame_aborts",
	[PERSOHUB_STAT_REQUESTS] = "requests",
	[PERSOHUB_STAT_RESPONSES] = "responses",
	[PERSOHUB_STAT_ERRORS_SENT] = "errors_sent",
	[PERSOHUB_STAT_TIMEOUTS] = "timeouts",
	[PERSOHUB_STAT_RETRIES] = "retries",
	[PERSOHUB_STAT_QUEUE_FULL] = "queue_full",
	[PERSOHUB_STAT_UNEXPECTED_FRAMES] = "unexpected_frames",
	[PERSOHUB_STAT_DROPPED] = "dropped",
	[PERSOHUB_STAT_BUSY_NS] = "busy_ns",
};

const char *const phnl_role_names[3] = { "off", "station", "server" };
const char *const phnl_state_names[3] = { "idle", "busy", "failed" };

const char *const phnl_cmd_names[PERSOHUB_CMD_MAX + 1] = {
	[PERSOHUB_CMD_PORT_GET] = "port-get",
	[PERSOHUB_CMD_PORT_SET] = "port-set",
	[PERSOHUB_CMD_STATS_GET] = "stats-get",
	[PERSOHUB_CMD_CTRL_ATTACH] = "ctrl-attach",
	[PERSOHUB_CMD_CTRL_DETACH] = "ctrl-detach",
	[PERSOHUB_CMD_DISPATCH] = "dispatch",
	[PERSOHUB_CMD_USER_SERVER_ADD] = "user-server-add",
	[PERSOHUB_CMD_USER_SERVER_DEL] = "user-server-del",
	[PERSOHUB_CMD_REQUEST_GET] = "request-get",
	[PERSOHUB_CMD_REQUEST_NEW] = "request-new",
	[PERSOHUB_CMD_SERVER_READY] = "server-ready",
	[PERSOHUB_CMD_REQUEST_DONE] = "request-done",
	[PERSOHUB_CMD_SERVER_FAILED] = "server-failed",
	[PERSOHUB_CMD_PORT_CHANGED] = "port-changed",
	[PERSOHUB_CMD_CTRL_CHANGED] = "ctrl-changed",
	[PERSOHUB_CMD_SERVER_PROBE] = "server-probe",
	[PERSOHUB_CMD_CTRL_KEEPALIVE] = "ctrl-keepalive",
	[PERSOHUB_CMD_PORT_ADD] = "port-add",
	[PERSOHUB_CMD_PORT_DEL] = "port-del",
};

struct family_info {
	struct phnl *h;
	bool found;
};

static int mcast_group_cb(const struct nlattr *attr, void *data)
{
	struct family_info *fi = data;
	const struct nlattr *a, *name = NULL, *id = NULL;

	mnl_attr_for_each_nested(a, attr) {
		if (mnl_attr_get_type(a) == CTRL_ATTR_MCAST_GRP_NAME)
			name = a;
		else if (mnl_attr_get_type(a) == CTRL_ATTR_MCAST_GRP_ID)
			id = a;
	}
	if (name && id &&
	    !strcmp(mnl_attr_get_str(name), PERSOHUB_MCGRP_EVENTS))
		fi->h->events_group = mnl_attr_get_u32(id);
	return MNL_CB_OK;
}

static int family_attr_cb(const struct nlattr *attr, void *data)
{
	struct family_info *fi = data;

	switch (mnl_attr_get_type(attr)) {
	case CTRL_ATTR_FAMILY_ID:
		fi->h->family = mnl_attr_get_u16(attr);
		fi->found = true;
		break;
	case CTRL_ATTR_MCAST_GROUPS:
		mnl_attr_parse_nested(attr, mcast_group_cb, fi);
		break;
	}
	return MNL_CB_OK;
}

static int family_cb(const struct nlmsghdr *nlh, void *data)
{
	return mnl_attr_parse(nlh, sizeof(struct genlmsghdr), family_attr_cb,
			      data);
}

/* What every callback of one exchange gets. */
struct exchange {
	struct phnl *h;
	uint32_t seq;
	mnl_cb_t cb;
	void *data;
};

/* NLMSG_ERROR: keep the extack message and offset, return the error. */
static int error_cb(const struct nlmsghdr *nlh, void *data)
{
	struct exchange *x = data;
	struct phnl *h = x->h;
	const struct nlmsgerr *err = mnl_nlmsg_get_payload(nlh);

	/* The answer to an earlier, asynchronous request: counted only. */
	if (nlh->nlmsg_seq != x->seq) {
		if (nlh->nlmsg_len >= mnl_nlmsg_size(sizeof(*err)) &&
		    err->error)
			h->async_errors++;
		return MNL_CB_OK;
	}
	const struct nlattr *a;
	unsigned int off = sizeof(*err);

	if (nlh->nlmsg_len < mnl_nlmsg_size(sizeof(*err)))
		return MNL_CB_ERROR;
	if (!(nlh->nlmsg_flags & NLM_F_CAPPED))
		off += err->msg.nlmsg_len - sizeof(err->msg);
	if (nlh->nlmsg_flags & NLM_F_ACK_TLVS) {
		mnl_attr_for_each(a, nlh, off) {
			if (mnl_attr_get_type(a) == NLMSGERR_ATTR_MSG)
				snprintf(h->errmsg, sizeof(h->errmsg), "%s",
					 mnl_attr_get_str(a));
			else if (mnl_attr_get_type(a) == NLMSGERR_ATTR_OFFS)
				h->erroff = mnl_attr_get_u32(a);
		}
	}
	if (err->error) {
		errno = -err->error;
		return MNL_CB_ERROR;
	}
	return MNL_CB_STOP;
}

static int done_cb(const struct nlmsghdr *nlh, void *data)
{
	const int *err = mnl_nlmsg_get_payload(nlh);
	struct exchange *x = data;

	if (nlh->nlmsg_seq != x->seq)
		return MNL_CB_OK;
	if (nlh->nlmsg_len >= mnl_nlmsg_size(sizeof(int)) && *err < 0) {
		errno = -*err;
		return MNL_CB_ERROR;
	}
	return MNL_CB_STOP;
}

static int noop_cb(const struct nlmsghdr *nlh, void *data)
{
	(void)nlh;
	(void)data;
	return MNL_CB_OK;
}

static mnl_cb_t ctl_cbs[NLMSG_MIN_TYPE] = {
	[NLMSG_NOOP] = noop_cb,
	[NLMSG_ERROR] = error_cb,
	[NLMSG_DONE] = done_cb,
	[NLMSG_OVERRUN] = noop_cb,
};

struct talk {
	phnl_cb cb;
	void *data;
	int ret;
};

static int reply_cb(const struct nlmsghdr *nlh, void *data)
{
	struct talk *t = data;
	struct phnl_attrs at;

	/*
	 * After a callback error the rest of the answer is still read (and
	 * skipped): stopping here would leave it, and the ack, on the socket,
	 * where the next request would take them for its own answer.
	 */
	if (!t->cb || t->ret < 0)
		return MNL_CB_OK;
	if (phnl_parse(nlh, &at) < 0)
		return MNL_CB_OK;
	t->ret = t->cb(&at, t->data);
	return MNL_CB_OK;
}

static int attr_cb(const struct nlattr *attr, void *data)
{
	struct phnl_attrs *at = data;
	int type = mnl_attr_get_type(attr);

	if (type > 0 && type <= PERSOHUB_A_MAX)
		at->a[type] = attr;
	return MNL_CB_OK;
}

int phnl_parse(const struct nlmsghdr *nlh, struct phnl_attrs *at)
{
	const struct genlmsghdr *g = mnl_nlmsg_get_payload(nlh);

	memset(at, 0, sizeof(*at));
	if (nlh->nlmsg_len < mnl_nlmsg_size(sizeof(*g)))
		return -EINVAL;
	at->cmd = g->cmd;
	if (mnl_attr_parse(nlh, sizeof(*g), attr_cb, at) < 0)
		return -EINVAL;
	return 0;
}

struct nlmsghdr *phnl_msg(struct phnl *h, char *buf, uint8_t cmd,
			  uint16_t flags)
{
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
	struct genlmsghdr *g;

	nlh->nlmsg_type = h->family;
	nlh->nlmsg_flags = NLM_F_REQUEST | flags;
	nlh->nlmsg_seq = ++h->seq;
	g = mnl_nlmsg_put_extra_header(nlh, sizeof(*g));
	g->cmd = cmd;
	g->version = PERSOHUB_FAMILY_VERSION;
	return nlh;
}

static int data_cb(const struct nlmsghdr *nlh, void *data)
{
	struct exchange *x = data;

	if (nlh->nlmsg_seq != x->seq)
		return MNL_CB_OK;
	return x->cb(nlh, x->data);
}

static int talk_raw(struct phnl *h, struct nlmsghdr *nlh, mnl_cb_t cb,
		    void *data)
{
	struct exchange x = { .h = h, .seq = nlh->nlmsg_seq, .cb = cb,
			      .data = data };
	char buf[PHNL_RECV_SIZE];
	int ret;

	h->errmsg[0] = '\0';
	h->erroff = 0;
	if (h->subscribed) {
		snprintf(h->errmsg, sizeof(h->errmsg),
			 "commands go on a socket without events");
		return -EINVAL;
	}
	nlh->nlmsg_flags |= NLM_F_ACK;
	if (mnl_socket_sendto(h->nl, nlh, nlh->nlmsg_len) < 0)
		return -errno;
	do {
		ret = mnl_socket_recvfrom(h->nl, buf, sizeof(buf));
		if (ret < 0)
			return -errno;
		/* Sequence numbers are checked in the callbacks: answers to
		 * earlier requests sent without waiting are skipped there.
		 */
		ret = mnl_cb_run2(buf, ret, 0, h->portid, data_cb, &x,
				  ctl_cbs, NLMSG_MIN_TYPE);
	} while (ret > 0);
	return ret < 0 ? -errno : 0;
}

int phnl_talk(struct phnl *h, struct nlmsghdr *nlh, phnl_cb cb, void *data)
{
	struct talk t = { .cb = cb, .data = data };
	int ret;

	ret = talk_raw(h, nlh, reply_cb, &t);
	if (ret)
		return ret;
	return t.ret < 0 ? t.ret : 0;
}

int phnl_open(struct phnl *h)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct family_info fi = { .h = h };
	struct nlmsghdr *nlh;
	struct genlmsghdr *g;
	int one = 1, ret;

	memset(h, 0, sizeof(*h));
	h->seq = time(NULL);
	h->nl = mnl_socket_open(NETLINK_GENERIC);
	if (!h->nl)
		return -errno;
	if (mnl_socket_bind(h->nl, 0, MNL_SOCKET_AUTOPID) < 0) {
		ret = -errno;
		goto err;
	}
	h->portid = mnl_socket_get_portid(h->nl);
	/* As iproute2: short acks, and the kernel's reason on errors. */
	mnl_socket_setsockopt(h->nl, NETLINK_CAP_ACK, &one, sizeof(one));
	mnl_socket_setsockopt(h->nl, NETLINK_EXT_ACK, &one, sizeof(one));

	nlh = mnl_nlmsg_put_header(buf);
	nlh->nlmsg_type = GENL_ID_CTRL;
	nlh->nlmsg_flags = NLM_F_REQUEST;
	nlh->nlmsg_seq = ++h->seq;
	g = mnl_nlmsg_put_extra_header(nlh, sizeof(*g));
	g->cmd = CTRL_CMD_GETFAMILY;
	g->version = 1;
	mnl_attr_put_strz(nlh, CTRL_ATTR_FAMILY_NAME, PERSOHUB_FAMILY_NAME);
	ret = talk_raw(h, nlh, family_cb, &fi);
	if (!ret && !fi.found)
		ret = -ENOENT;
	if (ret)
		goto err;
	return 0;
err:
	mnl_socket_close(h->nl);
	h->nl = NULL;
	return ret;
}

void phnl_close(struct phnl *h)
{
	if (h->nl)
		mnl_socket_close(h->nl);
	h->nl = NULL;
}

int phnl_fd(const struct phnl *h)
{
	return mnl_socket_get_fd(h->nl);
}

int phnl_subscribe(struct phnl *h)
{
	int group = h->events_group;

	if (!group)
		return -ENOENT;
	if (mnl_socket_setsockopt(h->nl, NETLINK_ADD_MEMBERSHIP, &group,
				  sizeof(group)) < 0)
		return -errno;
	h->subscribed = true;
	return 0;
}

struct drain {
	phnl_cb cb;
	void *data;
	int n;
};

static int event_cb(const struct nlmsghdr *nlh, void *data)
{
	struct drain *d = data;
	struct phnl_attrs at;

	if (phnl_parse(nlh, &at) < 0)
		return MNL_CB_OK;
	d->n++;
	if (d->cb && d->cb(&at, d->data) < 0)
		return MNL_CB_ERROR;
	return MNL_CB_OK;
}

int phnl_drain(struct phnl *h, phnl_cb cb, void *data)
{
	char buf[PHNL_RECV_SIZE];
	struct drain d = { .cb = cb, .data = data };
	ssize_t n;

	for (;;) {
		n = recv(phnl_fd(h), buf, sizeof(buf), MSG_DONTWAIT);
		if (n < 0) {
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				return d.n;
			if (errno == EINTR)
				continue;
			return -errno;
		}
		if (mnl_cb_run(buf, n, 0, 0, event_cb, &d) < 0)
			return -errno;
	}
}
