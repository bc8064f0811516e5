// SPDX-License-Identifier: GPL-2.0
/*
 * persohubctl's requests: the command socket, and the kernel's refusals
 * reported against the user's own words.
 */
#include <errno.h>
#include <string.h>

#include <linux/genetlink.h>

#include "persohubctl.h"

static const char *attr_at(const struct nlmsghdr *nlh, int off,
			   const struct argmap *am)
{
	const struct nlattr *a;

	if (!nlh || !am || off <= 0)
		return NULL;
	mnl_attr_for_each(a, nlh, sizeof(struct genlmsghdr)) {
		if ((const char *)a - (const char *)nlh != off)
			continue;
		if (mnl_attr_get_type(a) <= PERSOHUB_A_MAX)
			return am->tok[mnl_attr_get_type(a)];
		return NULL;
	}
	return NULL;
}

/* Report a failed request as iproute2 does, with strerror. */
static void nl_report(const struct phnl *h, int err, const struct nlmsghdr *nlh,
		      const struct argmap *am)
{
	const struct genlmsghdr *g = mnl_nlmsg_get_payload(nlh);
	const char *tok = attr_at(nlh, h->erroff, am);

	if (h->errmsg[0]) {
		fprintf(stderr, "Error: %s%s%s (%s)\n", tok ? tok : "",
			tok ? ": " : "", h->errmsg, strerror(-err));
		return;
	}
	if (!tok)
		tok = NAME_OF(phnl_cmd_names, g->cmd);
	fprintf(stderr, "Error: %s: %s\n", tok, strerror(-err));
	if (err == -EPERM)
		fprintf(stderr, "(changing persohub needs CAP_NET_ADMIN)\n");
}

/* One request and its answers; 0, or -1 after reporting the error. */
int talk(struct phnl *h, struct nlmsghdr *nlh, phnl_cb cb, void *data,
		const struct argmap *am)
{
	int ret = phnl_talk(h, nlh, cb, data);

	if (!ret)
		return 0;
	nl_report(h, ret, nlh, am);
	return -1;
}

void nl_open(struct phnl *h)
{
	int ret = phnl_open(h);

	if (ret == -ENOENT)
		fatal("no generic netlink family \"%s\": is the persohub module loaded?",
		      PERSOHUB_FAMILY_NAME);
	if (ret)
		fatal("cannot open a generic netlink socket: %s",
		      strerror(-ret));
}

/* The command socket, opened once the arguments are known to be good. */
struct phnl *nl(void)
{
	static struct phnl h;
	static bool open;

	if (!open)
		nl_open(&h);
	open = true;
	return &h;
}

/* Select PORT: all digits is an id, anything else a name. */
void put_port(struct nlmsghdr *nlh, const char *arg, struct argmap *am)
{
	uint32_t id;

	if (all_digits(arg)) {
		if (!parse_u32(arg, &id))
			usage_error("port id out of range: %s", arg);
		mnl_attr_put_u32(nlh, PERSOHUB_A_PORT_ID, id);
		if (am)
			am->tok[PERSOHUB_A_PORT_ID] = arg;
		return;
	}
	if (!mnl_attr_put_strz_check(nlh, MSG_BUF, PERSOHUB_A_PORT_NAME, arg))
		usage_error("port name too long: %s", arg);
	if (am)
		am->tok[PERSOHUB_A_PORT_NAME] = arg;
}
