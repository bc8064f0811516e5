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
	[PERSOHUB_STAT_LRC_ERRORS] = "lrc_errors",
	[PERSOHUB_STAT_LENGTH_ERRORS] = "length_errors",
	[PERSOHUB_STAT_FRAME_TRUNCATED] = "frame_truncated",
	[PERSOHUB_STAT_FRAME_REFUSED] = "frame_refused",
};

const char *const phnl_role_names[3] = { "off", "station", "server" };
const char *const phnl_state_names[3] = { "idle", "busy", "failed" };
const char *const phnl_framing_names[__PERSOHUB_FRAMING_MAX] = {
	[PERSOHUB_FRAMING_HDLC] = "hdlc",
	[PERSOHUB_FRAMING_STX_ETX] = "stx-etx",
	[PERSOHUB_FRAMING_STX_LEN] = "stx-len",
	[PERSOHUB_FRAMING_LEN16] = "len16",
	[PERSOHUB_FRAMING_GAP] = "gap",
};

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
	[PERSOHUB_CMD_USER_STATION_ADD] = "user-station-add",
	[PERSOHUB_CMD_USER_STATION_DEL] = "user-station-del",
};

struct family_info {
	const char *group;	/* the multicast group wanted */
	uint16_t id;
	uint32_t group_id;
	bool found;
};

static int mcast_group_cb(const struct nlattr *attr, void *data)
{
	struct family_info *fi = data;
	const struct nlattr *a, *name = NULL, *id = NULL;

	if (mnl_attr_validate(attr, MNL_TYPE_NESTED) < 0)
		return MNL_CB_OK;
	mnl_attr_for_each_nested(a, attr) {
		if (mnl_attr_get_type(a) == CTRL_ATTR_MCAST_GRP_NAME &&
		    mnl_attr_validate(a, MNL_TYPE_NUL_STRING) >= 0)
			name = a;
		else if (mnl_attr_get_type(a) == CTRL_ATTR_MCAST_GRP_ID &&
			 mnl_attr_validate(a, MNL_TYPE_U32) >= 0)
			id = a;
	}
	if (name && id && !strcmp(mnl_attr_get_str(name), fi->group))
		fi->group_id = mnl_attr_get_u32(id);
	return MNL_CB_OK;
}

static int family_attr_cb(const struct nlattr *attr, void *data)
{
	struct family_info *fi = data;

	switch (mnl_attr_get_type(attr)) {
	case CTRL_ATTR_FAMILY_ID:
		if (mnl_attr_validate(attr, MNL_TYPE_U16) < 0)
			return MNL_CB_ERROR;
		fi->id = mnl_attr_get_u16(attr);
		fi->found = true;
		break;
	case CTRL_ATTR_MCAST_GROUPS:
		if (mnl_attr_validate(attr, MNL_TYPE_NESTED) < 0)
			return MNL_CB_ERROR;
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
	if ((nlh->nlmsg_flags & NLM_F_ACK_TLVS) && off <= nlh->nlmsg_len) {
		mnl_attr_for_each(a, nlh, off) {
			if (mnl_attr_get_type(a) == NLMSGERR_ATTR_MSG &&
			    mnl_attr_validate(a, MNL_TYPE_NUL_STRING) >= 0)
				snprintf(h->errmsg, sizeof(h->errmsg), "%s",
					 mnl_attr_get_str(a));
			else if (mnl_attr_get_type(a) == NLMSGERR_ATTR_OFFS &&
				 mnl_attr_validate(a, MNL_TYPE_U32) >= 0)
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
	struct phnl *h;
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
	if (phnl_parse(nlh, &at) < 0) {
		t->h->bad_msgs++;
		return MNL_CB_OK;
	}
	t->ret = t->cb(&at, t->data);
	return MNL_CB_OK;
}

/*
 * What each attribute of the family must be: its type and, for strings
 * and binaries, the most bytes it may hold. An attribute of a known type
 * that is anything else makes the whole message invalid; types past
 * PERSOHUB_A_MAX (a newer module) are skipped, and so is padding (SKIP).
 * Every attribute of the uapi needs its line here: daemon_test checks it.
 */
#define SKIP	MNL_TYPE_MAX

static const struct {
	enum mnl_attr_data_type type;
	uint16_t max;
} policy[PERSOHUB_A_MAX + 1] = {
	[PERSOHUB_A_PORT_ID] = { MNL_TYPE_U32 },
	[PERSOHUB_A_PORT_NAME] = { MNL_TYPE_NUL_STRING, PHNL_NAME_LEN },
	[PERSOHUB_A_PORT_CARD] = { MNL_TYPE_NUL_STRING, PHNL_NAME_LEN },
	[PERSOHUB_A_PORT_INDEX] = { MNL_TYPE_U32 },
	[PERSOHUB_A_PORT_ROLE] = { MNL_TYPE_U32 },
	[PERSOHUB_A_PORT_STATE] = { MNL_TYPE_U32 },
	[PERSOHUB_A_PORT_BAUD] = { MNL_TYPE_U32 },
	[PERSOHUB_A_PORT_DATA_BITS] = { MNL_TYPE_U32 },
	[PERSOHUB_A_PORT_PARITY] = { MNL_TYPE_U32 },
	[PERSOHUB_A_PORT_STOP_BITS] = { MNL_TYPE_U32 },
	[PERSOHUB_A_PORT_TIMEOUT_MS] = { MNL_TYPE_U32 },
	[PERSOHUB_A_PORT_QUEUE_DEPTH] = { MNL_TYPE_U32 },
	[PERSOHUB_A_PORT_MAX_PAYLOAD] = { MNL_TYPE_U32 },
	[PERSOHUB_A_PORT_QUEUE] = { MNL_TYPE_U32 },
	[PERSOHUB_A_PORT_USER] = { MNL_TYPE_FLAG },
	[PERSOHUB_A_STATS] = { MNL_TYPE_NESTED },
	[PERSOHUB_A_HIST] = { MNL_TYPE_NESTED },
	[PERSOHUB_A_REQ_ID] = { MNL_TYPE_U64 },
	[PERSOHUB_A_REQ_LEN] = { MNL_TYPE_U32 },
	[PERSOHUB_A_REQ_RX_NS] = { MNL_TYPE_U64 },
	[PERSOHUB_A_SERVER_ID] = { MNL_TYPE_U32 },
	[PERSOHUB_A_RESULT] = { MNL_TYPE_U32 },
	[PERSOHUB_A_LATENCY_NS] = { MNL_TYPE_U64 },
	[PERSOHUB_A_REASON] = { MNL_TYPE_U32 },
	[PERSOHUB_A_CTRL_ATTACHED] = { MNL_TYPE_U8 },
	[PERSOHUB_A_PAD] = { SKIP },
	[PERSOHUB_A_HUB_WAITING] = { MNL_TYPE_U32 },
	[PERSOHUB_A_HUB_NEXT_ID] = { MNL_TYPE_U64 },
	[PERSOHUB_A_PAYLOAD] = { MNL_TYPE_BINARY, PERSOHUB_PAYLOAD_MAX },
	[PERSOHUB_A_HUB_EVENTS_DROPPED] = { MNL_TYPE_U64 },
	[PERSOHUB_A_PORT_SETTLE_MS] = { MNL_TYPE_U32 },
	[PERSOHUB_A_PORT_BACKEND] = { MNL_TYPE_NUL_STRING, PHNL_NAME_LEN },
	[PERSOHUB_A_PORT_TTY] = { MNL_TYPE_NUL_STRING, PHNL_NAME_LEN },
	[PERSOHUB_A_PORT_FRAMING] = { MNL_TYPE_U32 },
	[PERSOHUB_A_PORT_LRC] = { MNL_TYPE_U8 },
	[PERSOHUB_A_PORT_GAP_CHARS] = { MNL_TYPE_U32 },
	[PERSOHUB_A_PORT_ERROR_FRAME] = { MNL_TYPE_BINARY, 64 },
	[PERSOHUB_A_PORT_ENABLED] = { MNL_TYPE_U8 },
	[PERSOHUB_A_REQ_RETRIES] = { MNL_TYPE_U32 },
	[PERSOHUB_A_REQ_WAIT_NS] = { MNL_TYPE_U64 },
	[PERSOHUB_A_REQ_SEQ] = { MNL_TYPE_U64 },
	[PERSOHUB_A_HUB_DISPATCH_NS] = { MNL_TYPE_U64 },
	[PERSOHUB_A_PORT_CLASS] = { MNL_TYPE_U32 },
	[PERSOHUB_A_PORT_CLASSES] = { MNL_TYPE_U64 },
	[PERSOHUB_A_PORT_PRIORITY] = { MNL_TYPE_U32 },
	[PERSOHUB_A_PORT_CLASSIFIER] = { MNL_TYPE_BINARY,
					 sizeof(struct persohub_classifier) },
	[PERSOHUB_A_REQ_CLASS] = { MNL_TYPE_U32 },
	[PERSOHUB_A_REQ_PRIORITY] = { MNL_TYPE_U32 },
	[PERSOHUB_A_CLASS_ID] = { MNL_TYPE_U32 },
	[PERSOHUB_A_CLASS_MAX_WAIT_MS] = { MNL_TYPE_U32 },
	[PERSOHUB_A_CLASS_STATS] = { MNL_TYPE_NESTED },
	[PERSOHUB_A_PORT_OVERFLOW] = { MNL_TYPE_FLAG },
};

/* Nests of u64 counters (STATS, HIST): u64s, and padding. */
static bool u64_nest_valid(const struct nlattr *nest)
{
	const struct nlattr *a;
	int left = mnl_attr_get_payload_len(nest);

	for (a = mnl_attr_get_payload(nest); mnl_attr_ok(a, left);
	     a = mnl_attr_next(a)) {
		left -= MNL_ALIGN(a->nla_len);
		if (mnl_attr_get_type(a) != PERSOHUB_NEST_PAD &&
		    mnl_attr_validate(a, MNL_TYPE_U64) < 0)
			return false;
	}
	return left == 0;
}

int phnl_attr_valid(const struct nlattr *attr)
{
	int type = mnl_attr_get_type(attr);
	uint16_t len = mnl_attr_get_payload_len(attr);

	if (type <= 0 || type > PERSOHUB_A_MAX)
		return 0;		/* not ours to read: skipped */
	switch (policy[type].type) {
	case SKIP:
	case MNL_TYPE_UNSPEC:	/* no policy (see phnl_attr_has_policy) */
		return 0;
	case MNL_TYPE_NUL_STRING:
	case MNL_TYPE_BINARY:
		if (mnl_attr_validate(attr, policy[type].type) < 0 ||
		    len > policy[type].max)
			return -EINVAL;
		return 0;
	case MNL_TYPE_NESTED:
		if (mnl_attr_validate(attr, MNL_TYPE_NESTED) < 0 ||
		    !u64_nest_valid(attr))
			return -EINVAL;
		return 0;
	default:
		return mnl_attr_validate(attr, policy[type].type) < 0 ?
		       -EINVAL : 0;
	}
}

static int attr_cb(const struct nlattr *attr, void *data)
{
	struct phnl_attrs *at = data;
	int type = mnl_attr_get_type(attr);

	if (phnl_attr_valid(attr))
		return MNL_CB_ERROR;
	if (type > 0 && type <= PERSOHUB_A_MAX && policy[type].type != SKIP)
		at->a[type] = attr;
	return MNL_CB_OK;
}

bool phnl_attr_has_policy(int type)
{
	return type > 0 && type <= PERSOHUB_A_MAX &&
	       policy[type].type != MNL_TYPE_UNSPEC;
}

enum mnl_attr_data_type phnl_attr_policy(int type, uint16_t *max)
{
	if (type <= 0 || type > PERSOHUB_A_MAX) {
		*max = 0;
		return MNL_TYPE_UNSPEC;
	}
	*max = policy[type].max;
	return policy[type].type;
}

/* The attributes after @off fill the message exactly, none truncated. */
static bool attrs_fill(const struct nlmsghdr *nlh, size_t off)
{
	const struct nlattr *a = (const void *)
		((const char *)mnl_nlmsg_get_payload(nlh) + MNL_ALIGN(off));
	int left = (const char *)mnl_nlmsg_get_payload_tail(nlh) -
		   (const char *)a;

	while (mnl_attr_ok(a, left)) {
		left -= MNL_ALIGN(a->nla_len);
		a = mnl_attr_next(a);
	}
	return left == 0;
}

/*
 * A message of the family: its command and every attribute, each checked
 * against the policy above; -EINVAL if any is malformed (then @at holds
 * nothing), or if the attributes overrun the message.
 */
int phnl_parse(const struct nlmsghdr *nlh, struct phnl_attrs *at)
{
	const struct genlmsghdr *g = mnl_nlmsg_get_payload(nlh);

	memset(at, 0, sizeof(*at));
	if (nlh->nlmsg_len < mnl_nlmsg_size(sizeof(*g)))
		return -EINVAL;
	if (mnl_attr_parse(nlh, sizeof(*g), attr_cb, at) != MNL_CB_OK) {
		memset(at, 0, sizeof(*at));
		return -EINVAL;
	}
	/* mnl_attr_parse() stops quietly at a truncated attribute */
	if (!attrs_fill(nlh, sizeof(*g))) {
		memset(at, 0, sizeof(*at));
		return -EINVAL;
	}
	at->cmd = g->cmd;
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
	struct talk t = { .h = h, .cb = cb, .data = data };
	int ret;

	ret = talk_raw(h, nlh, reply_cb, &t);
	if (ret)
		return ret;
	return t.ret < 0 ? t.ret : 0;
}

/* A family's id and the id of one of its groups, by name. */
static int resolve(struct phnl *h, const char *family, struct family_info *fi)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct nlmsghdr *nlh;
	struct genlmsghdr *g;
	int ret;

	nlh = mnl_nlmsg_put_header(buf);
	nlh->nlmsg_type = GENL_ID_CTRL;
	nlh->nlmsg_flags = NLM_F_REQUEST;
	nlh->nlmsg_seq = ++h->seq;
	g = mnl_nlmsg_put_extra_header(nlh, sizeof(*g));
	g->cmd = CTRL_CMD_GETFAMILY;
	g->version = 1;
	mnl_attr_put_strz(nlh, CTRL_ATTR_FAMILY_NAME, family);
	ret = talk_raw(h, nlh, family_cb, fi);
	if (!ret && !fi->found)
		ret = -ENOENT;
	return ret;
}

int phnl_open(struct phnl *h)
{
	struct family_info fi = { .group = PERSOHUB_MCGRP_EVENTS };
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

	ret = resolve(h, PERSOHUB_FAMILY_NAME, &fi);
	if (ret)
		goto err;
	h->family = fi.id;
	h->events_group = fi.group_id;
	return 0;
err:
	mnl_socket_close(h->nl);
	h->nl = NULL;
	return ret;
}

int phnl_family_check(struct phnl *h)
{
	struct family_info fi = { .group = PERSOHUB_MCGRP_EVENTS };
	int ret;

	if (h->gone)
		return -ENOENT;
	ret = resolve(h, PERSOHUB_FAMILY_NAME, &fi);
	if (ret == -ENOENT || (!ret && fi.id != h->family)) {
		h->gone = true;
		return -ENOENT;
	}
	return ret;
}

int phnl_watch_family(struct phnl *h)
{
	struct family_info fi = { .group = "notify" };
	int group, ret;

	ret = resolve(h, "nlctrl", &fi);
	if (ret)
		return ret;
	group = fi.group_id;
	if (!group)
		return -ENOENT;
	if (mnl_socket_setsockopt(h->nl, NETLINK_ADD_MEMBERSHIP, &group,
				  sizeof(group)) < 0)
		return -errno;
	h->subscribed = true;
	return 0;
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
	struct phnl *h;
	phnl_cb cb;
	void *data;
	int n;
};

static int ctrl_attr_cb(const struct nlattr *attr, void *data)
{
	uint16_t *id = data;

	if (mnl_attr_get_type(attr) == CTRL_ATTR_FAMILY_ID &&
	    mnl_attr_validate(attr, MNL_TYPE_U16) >= 0)
		*id = mnl_attr_get_u16(attr);
	return MNL_CB_OK;
}

/* nlctrl's notifications: our family removed (the module unloaded). */
static void ctrl_notify(struct phnl *h, const struct nlmsghdr *nlh)
{
	const struct genlmsghdr *g = mnl_nlmsg_get_payload(nlh);
	uint16_t id = 0;

	if (nlh->nlmsg_len < mnl_nlmsg_size(sizeof(*g)) ||
	    g->cmd != CTRL_CMD_DELFAMILY)
		return;
	mnl_attr_parse(nlh, sizeof(*g), ctrl_attr_cb, &id);
	if (id && id == h->family)
		h->gone = true;
}

static int event_cb(const struct nlmsghdr *nlh, void *data)
{
	struct drain *d = data;
	struct phnl_attrs at;

	if (nlh->nlmsg_type == GENL_ID_CTRL) {
		ctrl_notify(d->h, nlh);
		return MNL_CB_OK;
	}
	if (nlh->nlmsg_type != d->h->family)
		return MNL_CB_OK;
	if (phnl_parse(nlh, &at) < 0) {
		d->h->bad_msgs++;
		return MNL_CB_OK;
	}
	d->n++;
	if (d->cb && d->cb(&at, d->data) < 0)
		return MNL_CB_ERROR;
	return MNL_CB_OK;
}

int phnl_drain(struct phnl *h, phnl_cb cb, void *data)
{
	char buf[PHNL_RECV_SIZE];
	struct drain d = { .h = h, .cb = cb, .data = data };
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

int phnl_set_rcvbuf(struct phnl *h, int bytes, bool *forced)
{
	socklen_t len = sizeof(bytes);
	int fd = phnl_fd(h);

	*forced = !setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &bytes,
			      sizeof(bytes));
	if (!*forced &&
	    setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &bytes, sizeof(bytes)))
		return -errno;
	if (getsockopt(fd, SOL_SOCKET, SO_RCVBUF, &bytes, &len))
		return -errno;
	return bytes;
}

static int reply_id_cb(const struct phnl_attrs *at, void *data)
{
	*(uint32_t *)data = phnl_u32(at, PERSOHUB_A_PORT_ID, 0);
	return 0;
}

int phnl_user_server_add(struct phnl *h, const char *name,
			 uint32_t timeout_ms, uint64_t classes, bool overflow,
			 uint32_t *id)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct nlmsghdr *nlh;
	uint32_t got = 0;
	int ret;

	nlh = phnl_msg(h, buf, PERSOHUB_CMD_USER_SERVER_ADD, 0);
	mnl_attr_put_strz(nlh, PERSOHUB_A_PORT_NAME, name);
	if (timeout_ms)
		mnl_attr_put_u32(nlh, PERSOHUB_A_PORT_TIMEOUT_MS, timeout_ms);
	if (classes)
		mnl_attr_put_u64(nlh, PERSOHUB_A_PORT_CLASSES, classes);
	if (overflow)
		mnl_attr_put(nlh, PERSOHUB_A_PORT_OVERFLOW, 0, NULL);
	ret = phnl_talk(h, nlh, reply_id_cb, &got);
	if (!ret && id)
		*id = got;
	return ret;
}

int phnl_user_station_add(struct phnl *h, const char *name,
			  uint32_t queue_depth, uint32_t klass,
			  uint32_t priority, uint32_t *id)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct nlmsghdr *nlh;
	uint32_t got = 0;
	int ret;

	nlh = phnl_msg(h, buf, PERSOHUB_CMD_USER_STATION_ADD, 0);
	mnl_attr_put_strz(nlh, PERSOHUB_A_PORT_NAME, name);
	if (queue_depth)
		mnl_attr_put_u32(nlh, PERSOHUB_A_PORT_QUEUE_DEPTH, queue_depth);
	mnl_attr_put_u32(nlh, PERSOHUB_A_PORT_CLASS, klass);
	mnl_attr_put_u32(nlh, PERSOHUB_A_PORT_PRIORITY, priority);
	ret = phnl_talk(h, nlh, reply_id_cb, &got);
	if (!ret && id)
		*id = got;
	return ret;
}

static int user_port_del(struct phnl *h, uint8_t cmd, uint32_t id,
			 const char *name)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct nlmsghdr *nlh;

	nlh = phnl_msg(h, buf, cmd, 0);
	if (id)
		mnl_attr_put_u32(nlh, PERSOHUB_A_PORT_ID, id);
	else
		mnl_attr_put_strz(nlh, PERSOHUB_A_PORT_NAME, name);
	return phnl_talk(h, nlh, NULL, NULL);
}

int phnl_user_server_del(struct phnl *h, uint32_t id, const char *name)
{
	return user_port_del(h, PERSOHUB_CMD_USER_SERVER_DEL, id, name);
}

int phnl_user_station_del(struct phnl *h, uint32_t id, const char *name)
{
	return user_port_del(h, PERSOHUB_CMD_USER_STATION_DEL, id, name);
}
