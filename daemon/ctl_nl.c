// SPDX-License-Identifier: GPL-2.0
/*
 * persohubctl's netlink, through libnl-genl as iw does: genl_connect(),
 * the family and its "events" group resolved by name, one callback per
 * reply, attributes parsed by nla_parse() against the family's policy
 * (phnl's table, shared with persohubd), and the kernel's extended ack
 * shown against the user's own words.
 */
#include <errno.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <netlink/genl/ctrl.h>
#include <netlink/genl/genl.h>

#include "persohubctl.h"

#ifndef SOL_NETLINK
#define SOL_NETLINK 270
#endif

/* phnl's policy of the family, in libnl's terms; built at first use. */
static struct nla_policy policy[PERSOHUB_A_MAX + 1];

static void policy_init(void)
{
	static bool done;
	enum mnl_attr_data_type t;
	uint16_t max;
	int i;

	if (done)
		return;
	done = true;
	for (i = 1; i <= PERSOHUB_A_MAX; i++) {
		t = phnl_attr_policy(i, &max);
		switch (t) {
		case MNL_TYPE_U8:
			policy[i] = (struct nla_policy){ NLA_U8, 1, 1 };
			break;
		case MNL_TYPE_U16:
			policy[i] = (struct nla_policy){ NLA_U16, 2, 2 };
			break;
		case MNL_TYPE_U32:
			policy[i] = (struct nla_policy){ NLA_U32, 4, 4 };
			break;
		case MNL_TYPE_U64:
			policy[i] = (struct nla_policy){ NLA_U64, 8, 8 };
			break;
		case MNL_TYPE_FLAG:
			policy[i] = (struct nla_policy){ NLA_FLAG, 0, 0 };
			break;
		case MNL_TYPE_NUL_STRING:
			/* NLA_STRING: libnl checks the NUL at the end */
			policy[i] = (struct nla_policy){ NLA_STRING, 1, max };
			break;
		case MNL_TYPE_BINARY:
			policy[i] = (struct nla_policy){ NLA_UNSPEC, 0, max };
			break;
		case MNL_TYPE_NESTED:
			policy[i] = (struct nla_policy){ NLA_NESTED, 0, 0 };
			break;
		default:	/* no policy, or padding: not read */
			policy[i] = (struct nla_policy){ NLA_UNSPEC, 0, 0 };
			break;
		}
	}
}

/* Nests of u64 counters (STATS, HIST): u64s and padding, exactly. */
static bool u64_nest_valid(const struct nlattr *nest)
{
	const struct nlattr *a;
	int rem;

	nla_for_each_nested(a, nest, rem)
		if (nla_type(a) != PERSOHUB_NEST_PAD &&
		    nla_len(a) != sizeof(uint64_t))
			return false;
	return rem == 0;
}

int ctl_parse(struct nlmsghdr *nlh, struct ctl_attrs *at)
{
	struct genlmsghdr *g;
	struct nlattr *a;
	int rem;

	memset(at, 0, sizeof(*at));
	policy_init();
	if (!genlmsg_valid_hdr(nlh, 0))
		return -EINVAL;
	g = genlmsg_hdr(nlh);
	if (genlmsg_parse(nlh, 0, at->a, PERSOHUB_A_MAX, policy) < 0)
		goto bad;
	/* nla_parse() stops quietly at a truncated attribute */
	nla_for_each_attr(a, genlmsg_attrdata(g, 0), genlmsg_attrlen(g, 0), rem)
		;
	if (rem)
		goto bad;
	if ((at->a[PERSOHUB_A_STATS] && !u64_nest_valid(at->a[PERSOHUB_A_STATS])) ||
	    (at->a[PERSOHUB_A_HIST] && !u64_nest_valid(at->a[PERSOHUB_A_HIST])))
		goto bad;
	at->cmd = g->cmd;
	return 0;
bad:
	memset(at, 0, sizeof(*at));
	return -EINVAL;
}

/* The extended ack's message and offset, from the TLVs at @attrs. */
static void ext_ack(struct ctl_sock *s, struct nlattr *attrs, int len)
{
	struct nlattr *tb[NLMSGERR_ATTR_MAX + 1];
	static struct nla_policy ack_policy[NLMSGERR_ATTR_MAX + 1] = {
		[NLMSGERR_ATTR_MSG] = { .type = NLA_STRING },
		[NLMSGERR_ATTR_OFFS] = { .type = NLA_U32, .minlen = 4,
					 .maxlen = 4 },
	};

	if (len <= 0 || nla_parse(tb, NLMSGERR_ATTR_MAX, attrs, len,
				  ack_policy) < 0)
		return;
	if (tb[NLMSGERR_ATTR_MSG])
		snprintf(s->errmsg, sizeof(s->errmsg), "%s",
			 nla_get_string(tb[NLMSGERR_ATTR_MSG]));
	if (tb[NLMSGERR_ATTR_OFFS])
		s->erroff = nla_get_u32(tb[NLMSGERR_ATTR_OFFS]);
}

/* What every callback of one exchange gets. */
struct exchange {
	struct ctl_sock *s;
	ctl_cb cb;
	void *data;
	int err;		/* -errno from the kernel */
	int cbret;		/* the first negative return of @cb */
	bool done;
	unsigned long msgs;
};

static int valid_cb(struct nl_msg *msg, void *arg)
{
	struct exchange *x = arg;
	struct ctl_attrs at;

	x->msgs++;
	/*
	 * After a callback error the rest of the answer is still read (and
	 * skipped), so that it is not taken for the next request's.
	 */
	if (!x->cb || x->cbret < 0)
		return NL_OK;
	if (ctl_parse(nlmsg_hdr(msg), &at))
		return NL_OK;	/* malformed: not used */
	x->cbret = x->cb(&at, x->data);
	return x->cbret < 0 && x->s->events ? NL_STOP : NL_OK;
}

static int error_cb(struct sockaddr_nl *nla, struct nlmsgerr *err, void *arg)
{
	struct nlmsghdr *nlh = (struct nlmsghdr *)err - 1;
	struct exchange *x = arg;
	int off = NLMSG_HDRLEN + NLMSG_ALIGN(sizeof(*err));

	(void)nla;
	x->err = err->error;
	x->done = true;
	if (!(nlh->nlmsg_flags & NLM_F_CAPPED))
		off += NLMSG_ALIGN(err->msg.nlmsg_len - NLMSG_HDRLEN);
	if ((nlh->nlmsg_flags & NLM_F_ACK_TLVS) && off < (int)nlh->nlmsg_len)
		ext_ack(x->s, (struct nlattr *)((char *)nlh + off),
			nlh->nlmsg_len - off);
	return NL_STOP;
}

/* The end of a dump: its payload is the dump's error, 0 if none. */
static int finish_cb(struct nl_msg *msg, void *arg)
{
	struct nlmsghdr *nlh = nlmsg_hdr(msg);
	struct exchange *x = arg;
	int off = NLMSG_HDRLEN + NLMSG_ALIGN(sizeof(int));

	x->done = true;
	if (nlmsg_datalen(nlh) < (int)sizeof(int))
		return NL_STOP;
	x->err = *(int *)nlmsg_data(nlh);
	if ((nlh->nlmsg_flags & NLM_F_ACK_TLVS) && off < (int)nlh->nlmsg_len)
		ext_ack(x->s, (struct nlattr *)((char *)nlh + off),
			nlh->nlmsg_len - off);
	return NL_STOP;
}

static int ack_cb(struct nl_msg *msg, void *arg)
{
	struct exchange *x = arg;

	(void)msg;
	x->done = true;
	return NL_STOP;
}

/* Events carry no sequence number of ours. */
static int no_seq_check(struct nl_msg *msg, void *arg)
{
	(void)msg;
	(void)arg;
	return NL_OK;
}

static struct nl_cb *callbacks(struct exchange *x)
{
	struct nl_cb *cb = nl_cb_alloc(NL_CB_DEFAULT);

	if (!cb)
		fatal("out of memory");
	nl_cb_set(cb, NL_CB_VALID, NL_CB_CUSTOM, valid_cb, x);
	nl_cb_set(cb, NL_CB_FINISH, NL_CB_CUSTOM, finish_cb, x);
	nl_cb_set(cb, NL_CB_ACK, NL_CB_CUSTOM, ack_cb, x);
	nl_cb_err(cb, NL_CB_CUSTOM, error_cb, x);
	if (x->s->events)
		nl_cb_set(cb, NL_CB_SEQ_CHECK, NL_CB_CUSTOM, no_seq_check, NULL);
	return cb;
}

/* The attribute of the message @nlh at offset @off, in the user's words. */
static const char *attr_at(struct nlmsghdr *nlh, int off,
			   const struct argmap *am)
{
	struct genlmsghdr *g = genlmsg_hdr(nlh);
	struct nlattr *a;
	int rem;

	if (!am || off <= 0)
		return NULL;
	nla_for_each_attr(a, genlmsg_attrdata(g, 0), genlmsg_attrlen(g, 0),
			  rem) {
		if ((char *)a - (char *)nlh != off)
			continue;
		if (nla_type(a) <= PERSOHUB_A_MAX)
			return am->tok[nla_type(a)];
		return NULL;
	}
	return NULL;
}

/* Report a failed request as iproute2 does, with strerror. */
static void nl_report(const struct ctl_sock *s, int err, struct nlmsghdr *nlh,
		      const struct argmap *am)
{
	const char *tok = attr_at(nlh, s->erroff, am);

	if (s->errmsg[0]) {
		fprintf(stderr, "Error: %s%s%s (%s)\n", tok ? tok : "",
			tok ? ": " : "", s->errmsg, strerror(-err));
		return;
	}
	if (!tok)
		tok = NAME_OF(phnl_cmd_names, genlmsg_hdr(nlh)->cmd);
	fprintf(stderr, "Error: %s: %s\n", tok, strerror(-err));
	if (err == -EPERM)
		fprintf(stderr, "(changing persohub needs CAP_NET_ADMIN)\n");
}

struct nl_msg *ctl_msg(struct ctl_sock *s, uint8_t cmd, int flags)
{
	struct nl_msg *msg = nlmsg_alloc();

	if (!msg || !genlmsg_put(msg, NL_AUTO_PORT, NL_AUTO_SEQ, s->family, 0,
				 flags, cmd, PERSOHUB_FAMILY_VERSION))
		fatal("out of memory");
	return msg;
}

int talk(struct ctl_sock *s, struct nl_msg *msg, ctl_cb cb, void *data,
	 const struct argmap *am)
{
	struct exchange x = { .s = s, .cb = cb, .data = data };
	struct nl_cb *cbs = callbacks(&x);
	int ret;

	s->errmsg[0] = '\0';
	s->erroff = 0;
	ret = nl_send_auto(s->sk, msg);
	while (ret >= 0 && !x.done)
		ret = nl_recvmsgs(s->sk, cbs);
	nl_cb_put(cbs);
	if (!x.done && ret < 0)
		fatal("%s: %s", NAME_OF(phnl_cmd_names,
					genlmsg_hdr(nlmsg_hdr(msg))->cmd),
		      nl_geterror(ret));
	ret = x.err ? x.err : x.cbret;
	if (x.err)
		nl_report(s, x.err, nlmsg_hdr(msg), am);
	nlmsg_free(msg);
	return ret < 0 ? -1 : 0;
}

void ctl_close(struct ctl_sock *s)
{
	nl_socket_free(s->sk);
	s->sk = NULL;
}

/* Open @s; -ENOENT if the family is not there and @must is false. */
static int ctl_open_family(struct ctl_sock *s, bool must)
{
	int one = 1, ret;

	memset(s, 0, sizeof(*s));
	s->sk = nl_socket_alloc();
	if (!s->sk)
		fatal("out of memory");
	ret = genl_connect(s->sk);
	if (ret < 0)
		fatal("cannot open a generic netlink socket: %s",
		      nl_geterror(ret));
	/* Errors with the kernel's reason, and without our request in them. */
	setsockopt(nl_socket_get_fd(s->sk), SOL_NETLINK, NETLINK_EXT_ACK,
		   &one, sizeof(one));
	setsockopt(nl_socket_get_fd(s->sk), SOL_NETLINK, NETLINK_CAP_ACK,
		   &one, sizeof(one));
	/* A dump batch may be larger than a page. */
	nl_socket_enable_msg_peek(s->sk);
	s->family = genl_ctrl_resolve(s->sk, PERSOHUB_FAMILY_NAME);
	if (s->family == -NLE_OBJ_NOTFOUND && !must) {
		ctl_close(s);
		return -ENOENT;
	}
	if (s->family == -NLE_OBJ_NOTFOUND)
		fatal("no generic netlink family \"%s\": is the persohub module loaded?",
		      PERSOHUB_FAMILY_NAME);
	if (s->family < 0)
		fatal("cannot resolve the generic netlink family \"%s\": %s",
		      PERSOHUB_FAMILY_NAME, nl_geterror(s->family));
	return 0;
}

void ctl_open(struct ctl_sock *s)
{
	ctl_open_family(s, true);
}


int ctl_subscribe(struct ctl_sock *s, const char *group)
{
	int id = genl_ctrl_resolve_grp(s->sk, PERSOHUB_FAMILY_NAME, group);

	if (id < 0)
		return id;
	s->events = true;
	nl_socket_disable_seq_check(s->sk);
	nl_socket_set_nonblocking(s->sk);
	return nl_socket_add_membership(s->sk, id);
}

int ctl_drain(struct ctl_sock *s, ctl_cb cb, void *data)
{
	struct exchange x = { .s = s, .cb = cb, .data = data };
	struct nl_cb *cbs = callbacks(&x);
	int ret;

	do
		ret = nl_recvmsgs(s->sk, cbs);
	while (ret >= 0 && x.cbret >= 0);
	nl_cb_put(cbs);
	if (x.cbret < 0 || ret == -NLE_AGAIN)
		return x.msgs;
	/* libnl reads the socket's ENOBUFS (events lost) as NLE_NOMEM */
	if (ret == -NLE_NOMEM)
		return -ENOBUFS;
	fatal("reading events: %s", nl_geterror(ret));
}

/* The command socket, opened once the arguments are known to be good. */
struct ctl_sock *nl(void)
{
	static struct ctl_sock s;
	static bool open;

	if (!open)
		ctl_open(&s);
	open = true;
	return &s;
}

struct ctl_sock *nl_if_loaded(void)
{
	static struct ctl_sock s;

	/* Resolving the family would load the module (its genl alias). */
	if (access("/sys/module/persohub", F_OK))
		return NULL;
	return ctl_open_family(&s, false) ? NULL : &s;
}

/* Select PORT: all digits is an id, anything else a name. */
void put_port(struct nl_msg *msg, const char *arg, struct argmap *am)
{
	uint32_t id;

	if (all_digits(arg)) {
		if (!parse_u32(arg, &id))
			usage_error("port id out of range: %s", arg);
		nla_put_u32(msg, PERSOHUB_A_PORT_ID, id);
		if (am)
			am->tok[PERSOHUB_A_PORT_ID] = arg;
		return;
	}
	if (nla_put_string(msg, PERSOHUB_A_PORT_NAME, arg) < 0)
		usage_error("port name too long: %s", arg);
	if (am)
		am->tok[PERSOHUB_A_PORT_NAME] = arg;
}
