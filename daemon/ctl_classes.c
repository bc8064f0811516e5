// SPDX-License-Identifier: GPL-2.0
/*
 * persohubctl classes: each request class in use, with the kernel's
 * figures of it (CLASS_GET) and the ports that serve it or send it
 * requests (PORT_GET); with a production target, the servers each class
 * needs by Erlang C on its own figures.
 */
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "persohubctl.h"
#include "plan.h"

#define CLASSES		(PERSOHUB_CLASS_MAX + 1)

struct class_info {
	bool seen;			/* in the CLASS_GET answer */
	uint32_t max_wait_ms;
	uint64_t stat[PERSOHUB_CLASS_STAT_MAX + 1];
	uint32_t servers;		/* servers that serve it */
	uint32_t stations;		/* stations whose class it is */
	bool ruled;			/* a classifier rule names it */
	/* the plan: its share of the target, its servers' service time */
	double lambda, svc;
	unsigned int needed;
};

/* What classes reads: the classes, and each server's classes. */
struct classes_view {
	struct class_info c[CLASSES];
	struct {
		uint32_t id;
		uint64_t mask;
	} *srv;
	size_t nsrv;
};

/* A production target (-c), as plan takes it. */
struct classes_opts {
	double cards_per_hour;
	double requests_per_card;
	double max_wait_ms;
	double percent;
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
	struct class_info *c = ((struct classes_view *)data)->c;
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
	struct classes_view *v = data;
	struct class_info *c = v->c;
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
		v->srv = xrealloc(v->srv, (v->nsrv + 1) * sizeof(*v->srv));
		v->srv[v->nsrv].id = ctl_u32(at, PERSOHUB_A_PORT_ID, 0);
		v->srv[v->nsrv++].mask = mask;
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

static double classes_number(const char *name, const char *arg, double lo,
			     double hi)
{
	char *end;
	double v;

	errno = 0;
	v = strtod(arg, &end);
	if (errno || *end || end == arg || !(v >= lo) || v > hi)
		usage_error("classes: %s takes a number from %g to %g, "
			    "not '%s'", name, lo, hi, arg);
	return v;
}

static void classes_opt(int c, const char *arg, void *data)
{
	struct classes_opts *o = data;

	switch (c) {
	case 'c':
		o->cards_per_hour = classes_number("--cards-per-hour", arg, 1,
						   1e9);
		break;
	case 'r':
		o->requests_per_card = classes_number("--requests-per-card",
						      arg, 1, 1e6);
		break;
	case 'w':
		o->max_wait_ms = classes_number("--max-wait-ms", arg, 0, 1e7);
		break;
	case 'P':
		o->percent = classes_number("--percent", arg, 1, 99.999);
		break;
	}
}

/*
 * Each class's plan: its share of the target's requests (its requests
 * done over all classes'), the service time of the servers that serve it
 * (their busy time over their answers), Erlang C on the two. A server of
 * several classes counts in each: the figures of a class are those of a
 * site where it had its servers to itself.
 */
static int classes_plan(struct ctl_sock *h, struct classes_view *v,
			const struct classes_opts *o)
{
	uint64_t done = 0, busy, answers;
	struct portlist l = { 0 };
	const struct port *p;
	struct class_info *c;
	unsigned int k;
	size_t i;

	if (get_ports(h, PERSOHUB_CMD_STATS_GET, NULL, &l))
		return -1;
	for (k = 0; k < CLASSES; k++)
		done += v->c[k].stat[PERSOHUB_CLASS_STAT_DONE];
	for (k = 0; k < CLASSES; k++) {
		c = &v->c[k];
		busy = answers = 0;
		for (i = 0; i < v->nsrv; i++) {
			p = port_find(&l, v->srv[i].id);
			if (!(v->srv[i].mask >> k & 1) || !p)
				continue;
			busy += p->stats[PERSOHUB_STAT_BUSY_NS];
			answers += p->stats[PERSOHUB_STAT_RESPONSES];
		}
		if (!done || !answers)
			continue;	/* nothing measured: no plan */
		c->lambda = o->cards_per_hour * o->requests_per_card / 3600 *
			    c->stat[PERSOHUB_CLASS_STAT_DONE] / done;
		c->svc = (double)busy / answers / 1e9;
		if (c->lambda > 0)
			c->needed = plan_servers(c->lambda, c->svc,
						 o->max_wait_ms / 1000,
						 1 - o->percent / 100);
	}
	portlist_free(&l);
	return 0;
}

static void class_json(unsigned int id, const struct class_info *c,
		       bool plan)
{
	char num[32];
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
	if (!plan) {
		jw_obj_end();
		return;
	}
	if (!c->svc) {
		jw_null("plan");
		jw_obj_end();
		return;
	}
	jw_obj("plan");
	snprintf(num, sizeof(num), "%.6f", c->lambda);
	jw_num("requests_per_second", num);
	jw_u64("service_ns", llround(c->svc * 1e9));
	if (c->needed || !c->lambda)
		jw_u64("servers_needed", c->needed);
	else
		jw_null("servers_needed");
	jw_obj_end();
	jw_obj_end();
}

static const char class_align[] = "rrrrrrrrrrrr";

static void class_head(struct table *t, bool plan)
{
	static const char *const head[] = {
		"class", "waiting", "dispatched", "failed", "done",
		"mean_wait", "max_wait_ms", "servers", "stations",
		"req/s", "service", "needed",
	};
	unsigned int i;

	table_row(t);
	for (i = 0; i < (plan ? ARRAY_SIZE(head) : 9); i++)
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
	if (t->ncols < 12)
		return;
	if (!c->svc) {		/* nothing measured */
		table_set(t, 9, "-");
		table_set(t, 10, "-");
		table_set(t, 11, "-");
		return;
	}
	table_set(t, 9, "%.2f", c->lambda);
	table_set(t, 10, "%s", fmt_ns(c->svc * 1e9, buf, sizeof(buf)));
	if (c->needed || !c->lambda)
		table_set(t, 11, "%u", c->needed);
	else
		table_set(t, 11, ">10000");
}

int cmd_classes(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "cards-per-hour", required_argument, NULL, 'c' },
		{ "requests-per-card", required_argument, NULL, 'r' },
		{ "max-wait-ms", required_argument, NULL, 'w' },
		{ "percent", required_argument, NULL, 'P' },
		{ NULL, 0, NULL, 0 },
	};
	struct classes_opts o = { .requests_per_card = 4, .max_wait_ms = 50,
				  .percent = 95 };
	struct table t = { .ncols = 9, .align = class_align };
	static struct classes_view v;
	struct class_info *c = v.c;
	struct ctl_sock *h;
	struct nl_msg *msg;
	int i = cmd_options(argc, argv, longopts, classes_opt, &o);
	bool plan = false;
	uint32_t one = 0;
	unsigned int k;

	if (i < 0)
		return -1;
	plan = o.cards_per_hour > 0;
	if (plan)
		t.ncols = 12;
	if (argc - i > 1)
		usage_error("classes: too many arguments");
	if (argc > i && (!parse_u32(argv[i], &one) ||
			 one > PERSOHUB_CLASS_MAX))
		usage_error("classes: '%s' is not a class (0-%u)", argv[i],
			    PERSOHUB_CLASS_MAX);
	h = nl();
	/* One class alone; every class for a plan (the shares need them). */
	msg = ctl_msg(h, PERSOHUB_CMD_CLASS_GET,
		      argc > i && !plan ? 0 : NLM_F_DUMP);
	if (argc > i && !plan)
		nla_put_u32(msg, PERSOHUB_A_CLASS_ID, one);
	if (talk(h, msg, class_cb, &v, NULL) ||
	    talk(h, ctl_msg(h, PERSOHUB_CMD_PORT_GET, NLM_F_DUMP),
		 class_port_cb, &v, NULL))
		return EXIT_RUNTIME;
	if (plan && classes_plan(h, &v, &o))
		return EXIT_RUNTIME;
	if (opt.json)
		jw_arr(NULL);
	else
		class_head(&t, plan);
	for (k = 0; k < CLASSES; k++) {
		if (!c[k].seen || (argc > i ? k != one : !in_use(&c[k], k)))
			continue;
		if (opt.json)
			class_json(k, &c[k], plan);
		else
			class_row(&t, k, &c[k]);
	}
	if (opt.json) {
		jw_arr_end();
	} else {
		table_print(&t, "", true);
		table_free(&t);
	}
	free(v.srv);
	return 0;
}
