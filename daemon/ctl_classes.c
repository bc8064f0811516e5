// SPDX-License-Identifier: GPL-2.0
/*
 * persohubctl classes: each request class in use, with the kernel's
 * figures of it (CLASS_GET) and the ports that serve it or send it
 * requests (PORT_GET).
 */
#include <inttypes.h>
#include <string.h>

#include "persohubctl.h"

#define CLASSES		(PERSOHUB_CLASS_MAX + 1)

struct class_info {
	bool seen;			/* in the CLASS_GET answer */
	uint32_t max_wait_ms;
	uint64_t stat[PERSOHUB_CLASS_STAT_MAX + 1];
	uint32_t servers;		/* servers that serve it */
	uint32_t stations;		/* stations whose class it is */
	bool ruled;			/* a classifier rule names it */
};

static const char *const class_stat_names[PERSOHUB_CLASS_STAT_MAX + 1] = {
	[PERSOHUB_CLASS_STAT_WAITING] = "waiting",
	[PERSOHUB_CLASS_STAT_DISPATCHED] = "dispatched",
	[PERSOHUB_CLASS_STAT_FAILED] = "failed",
	[PERSOHUB_CLASS_STAT_DONE] = "done",
	[PERSOHUB_CLASS_STAT_WAIT_NS] = "wait_ns",
};

static int class_cb(const struct ctl_attrs *at, void *data)
{
	struct class_info *c = data;
	uint32_t id = ctl_u32(at, PERSOHUB_A_CLASS_ID, CLASSES);
	const struct nlattr *a;
	uint16_t type;
	int rem;

	if (id >= CLASSES)
		return 0;
	c += id;
	c->seen = true;
	c->max_wait_ms = ctl_u32(at, PERSOHUB_A_CLASS_MAX_WAIT_MS, 0);
	if (!at->a[PERSOHUB_A_CLASS_STATS])
		return 0;
	nla_for_each_nested(a, at->a[PERSOHUB_A_CLASS_STATS], rem) {
		type = nla_type(a);
		if (type >= 1 && type <= PERSOHUB_CLASS_STAT_MAX &&
		    nla_len(a) == sizeof(uint64_t))
			c->stat[type] = nla_get_u64(a);
	}
	return 0;
}

static int class_port_cb(const struct ctl_attrs *at, void *data)
{
	struct class_info *c = data;
	const struct persohub_classifier *cl;
	const struct nlattr *a;
	uint64_t mask;
	unsigned int i;
	uint32_t k;

	switch (ctl_u32(at, PERSOHUB_A_PORT_ROLE, PERSOHUB_ROLE_OFF)) {
	case PERSOHUB_ROLE_SERVER:
		/* a disabled server serves nothing */
		if (!ctl_u8(at, PERSOHUB_A_PORT_ENABLED, 1))
			break;
		mask = ctl_u64(at, PERSOHUB_A_PORT_CLASSES, 1);
		for (i = 0; i < CLASSES; i++)
			c[i].servers += mask >> i & 1;
		break;
	case PERSOHUB_ROLE_STATION:
		k = ctl_u32(at, PERSOHUB_A_PORT_CLASS, 0);
		if (k < CLASSES)
			c[k].stations++;
		a = at->a[PERSOHUB_A_PORT_CLASSIFIER];
		if (!a || nla_len(a) < (int)sizeof(*cl))
			break;
		cl = nla_data(a);
		for (i = 0; i < cl->nrules && i < PERSOHUB_CLASSIFIER_RULES;
		     i++)
			if (cl->rules[i].class_id < CLASSES)
				c[cl->rules[i].class_id].ruled = true;
		break;
	}
	return 0;
}

/* Class 0, and any class with figures, a max wait, or ports of it. */
static bool in_use(const struct class_info *c, unsigned int id)
{
	unsigned int i;

	if (!id || c->max_wait_ms || c->servers || c->stations || c->ruled)
		return true;
	for (i = 1; i <= PERSOHUB_CLASS_STAT_MAX; i++)
		if (c->stat[i])
			return true;
	return false;
}

static void class_json(unsigned int id, const struct class_info *c)
{
	unsigned int i;

	jw_obj(NULL);
	jw_u64("id", id);
	jw_u64("max_wait_ms", c->max_wait_ms);
	for (i = 1; i <= PERSOHUB_CLASS_STAT_MAX; i++)
		jw_u64(class_stat_names[i], c->stat[i]);
	if (c->stat[PERSOHUB_CLASS_STAT_DISPATCHED])
		jw_u64("mean_wait_ns", c->stat[PERSOHUB_CLASS_STAT_WAIT_NS] /
		       c->stat[PERSOHUB_CLASS_STAT_DISPATCHED]);
	else
		jw_null("mean_wait_ns");
	jw_u64("servers", c->servers);
	jw_u64("stations", c->stations);
	jw_obj_end();
}

static const char class_align[] = "rrrrrrrrrr";

static void class_head(struct table *t)
{
	static const char *const head[] = {
		"class", "waiting", "dispatched", "failed", "done",
		"mean_wait", "max_wait_ms", "servers", "stations",
	};
	unsigned int i;

	table_row(t);
	for (i = 0; i < ARRAY_SIZE(head); i++)
		table_set(t, i, "%s", head[i]);
}

static void class_row(struct table *t, unsigned int id,
		      const struct class_info *c)
{
	uint64_t n = c->stat[PERSOHUB_CLASS_STAT_DISPATCHED];
	char buf[32];

	table_row(t);
	table_set(t, 0, "%u", id);
	table_set(t, 1, "%" PRIu64, c->stat[PERSOHUB_CLASS_STAT_WAITING]);
	table_set(t, 2, "%" PRIu64, n);
	table_set(t, 3, "%" PRIu64, c->stat[PERSOHUB_CLASS_STAT_FAILED]);
	table_set(t, 4, "%" PRIu64, c->stat[PERSOHUB_CLASS_STAT_DONE]);
	if (n)
		fmt_ns((double)c->stat[PERSOHUB_CLASS_STAT_WAIT_NS] / n, buf,
		       sizeof(buf));
	table_set(t, 5, "%s", n ? buf : "-");
	if (c->max_wait_ms)
		table_set(t, 6, "%" PRIu32, c->max_wait_ms);
	else
		table_set(t, 6, "-");
	table_set(t, 7, "%" PRIu32, c->servers);
	table_set(t, 8, "%" PRIu32, c->stations);
}

int cmd_classes(int argc, char **argv)
{
	struct class_info c[CLASSES];
	struct table t = { .ncols = 9, .align = class_align };
	struct ctl_sock *h;
	struct nl_msg *msg;
	int i = cmd_options(argc, argv, NULL, NULL, NULL);
	uint32_t one;
	unsigned int k;

	if (i < 0)
		return -1;
	if (argc - i > 1)
		usage_error("classes: too many arguments");
	if (argc > i && (!parse_u32(argv[i], &one) ||
			 one > PERSOHUB_CLASS_MAX))
		usage_error("classes: '%s' is not a class (0-%u)", argv[i],
			    PERSOHUB_CLASS_MAX);
	memset(c, 0, sizeof(c));
	h = nl();
	msg = ctl_msg(h, PERSOHUB_CMD_CLASS_GET, argc > i ? 0 : NLM_F_DUMP);
	if (argc > i)
		nla_put_u32(msg, PERSOHUB_A_CLASS_ID, one);
	if (talk(h, msg, class_cb, c, NULL) ||
	    talk(h, ctl_msg(h, PERSOHUB_CMD_PORT_GET, NLM_F_DUMP),
		 class_port_cb, c, NULL))
		return EXIT_RUNTIME;
	if (opt.json)
		jw_arr(NULL);
	else
		class_head(&t);
	for (k = 0; k < CLASSES; k++) {
		if (!c[k].seen || (argc == i && !in_use(&c[k], k)))
			continue;
		if (opt.json)
			class_json(k, &c[k]);
		else
			class_row(&t, k, &c[k]);
	}
	if (opt.json) {
		jw_arr_end();
	} else {
		table_print(&t, "", true);
		table_free(&t);
	}
	return 0;
}
