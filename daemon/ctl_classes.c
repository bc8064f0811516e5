// SPDX-License-Identifier: GPL-2.0
/*
 * persohubctl classes: each request class in use, with the kernel's
 * figures of it (CLASS_GET) and the ports that serve it or send it
 * requests (PORT_GET); with a production target, the servers each class
 * needs by Erlang C on its own figures. The reading, the figures and the
 * plan of a class are shared with stats, top and plan.
 */
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "persohubctl.h"
#include "plan.h"

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
	[PERSOHUB_CLASS_STAT_ANSWERS] = "answers",
	[PERSOHUB_CLASS_STAT_SERVICE_NS] = "service_ns",
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
	hist_parse(at->a[PERSOHUB_A_HIST], c->hist, &c->nb);
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

bool class_in_use(const struct class_info *c, unsigned int id)
{
	unsigned int i;

	if (!id || c->max_wait_ms || c->servers || c->stations || c->ruled)
		return true;
	for (i = 1; i <= PERSOHUB_CLASS_STAT_MAX; i++)
		if (c->stat[i])
			return true;
	return false;
}

int get_classes(struct ctl_sock *h, struct classes_view *v, int one)
{
	struct nl_msg *msg;

	memset(v, 0, sizeof(*v));
	msg = ctl_msg(h, PERSOHUB_CMD_CLASS_GET, one < 0 ? NLM_F_DUMP : 0);
	if (one >= 0)
		nla_put_u32(msg, PERSOHUB_A_CLASS_ID, one);
	if (talk(h, msg, class_cb, v, NULL) ||
	    talk(h, ctl_msg(h, PERSOHUB_CMD_PORT_GET, NLM_F_DUMP),
		 class_port_cb, v, NULL))
		return -1;
	return 0;
}

void classes_free(struct classes_view *v)
{
	free(v->srv);
	v->srv = NULL;
	v->nsrv = 0;
}

double class_service_s(const struct class_info *c)
{
	uint64_t n = c->stat[PERSOHUB_CLASS_STAT_ANSWERS];

	return n ? c->stat[PERSOHUB_CLASS_STAT_SERVICE_NS] / 1e9 / n : 0;
}

double class_mean_wait_ns(const struct class_info *c)
{
	uint64_t n = c->stat[PERSOHUB_CLASS_STAT_DISPATCHED];

	return n ? (double)c->stat[PERSOHUB_CLASS_STAT_WAIT_NS] / n : -1;
}

/* A time in ms with 3 decimals, or "-" when unknown (< 0). */
static void stat_ms(const char *name, double ns)
{
	if (ns < 0)
		printf("    %s: -\n", name);
	else
		printf("    %s: %.3f\n", name, ns / 1e6);
}

/*
 * One figure a line, as the ports' in stats: the counters, then the
 * waits (mean, and p50 and p99 from the class's histogram) and the
 * service time in ms.
 */
void class_stats_text(unsigned int id, const struct class_info *c)
{
	static const unsigned int shown[] = {
		PERSOHUB_CLASS_STAT_WAITING, PERSOHUB_CLASS_STAT_DISPATCHED,
		PERSOHUB_CLASS_STAT_FAILED, PERSOHUB_CLASS_STAT_DONE,
		PERSOHUB_CLASS_STAT_ANSWERS,
	};
	bool some = hist_total(c->hist, c->nb);
	double svc = class_service_s(c);
	size_t i;

	printf("class %u:\n", id);
	for (i = 0; i < ARRAY_SIZE(shown); i++)
		printf("    %s: %" PRIu64 "\n", class_stat_names[shown[i]],
		       c->stat[shown[i]]);
	stat_ms("mean_wait_ms", class_mean_wait_ns(c));
	stat_ms("wait_p50_ms", some ? hist_quantile(c->hist, c->nb, 0.5) : -1);
	stat_ms("wait_p99_ms",
		some ? hist_quantile(c->hist, c->nb, 0.99) : -1);
	stat_ms("service_ms", svc > 0 ? svc * 1e9 : -1);
}

void class_stats_json(unsigned int id, const struct class_info *c)
{
	double w = class_mean_wait_ns(c);
	unsigned int i;

	jw_obj(NULL);
	jw_u64("id", id);
	jw_u64("max_wait_ms", c->max_wait_ms);
	for (i = 1; i <= PERSOHUB_CLASS_STAT_MAX; i++)
		jw_u64(class_stat_names[i], c->stat[i]);
	if (w >= 0)
		jw_u64("mean_wait_ns", llround(w));
	else
		jw_null("mean_wait_ns");
	if (c->stat[PERSOHUB_CLASS_STAT_ANSWERS])
		jw_u64("mean_service_ns", llround(class_service_s(c) * 1e9));
	else
		jw_null("mean_service_ns");
	hist_json("wait", c->hist, c->nb);
	jw_obj_end();
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
 * Each class's pool: its rate (measured, or its share of the target's
 * requests: its requests ended over all classes'), its own service time
 * (its answers' dispatch to answer), Erlang C on the two. A server of
 * several classes counts in each: the figures of a class are those of a
 * site where it had its servers to itself.
 */
void classes_plan(struct classes_view *v, double lambda, const double *rate,
		  double svc, double bound, double p_over)
{
	struct class_info *c;
	uint64_t done = 0;
	unsigned int k;

	for (k = 0; k < CLASSES; k++)
		done += v->c[k].stat[PERSOHUB_CLASS_STAT_DONE];
	for (k = 0; k < CLASSES; k++) {
		c = &v->c[k];
		c->lambda = c->svc = 0;
		c->needed = 0;
		c->svc = svc > 0 ? svc : class_service_s(c);
		if (!c->svc)
			continue;	/* nothing measured: no plan */
		if (rate)
			c->lambda = rate[k];
		else if (done)
			c->lambda = lambda *
				    c->stat[PERSOHUB_CLASS_STAT_DONE] / done;
		if (c->lambda > 0)
			c->needed = plan_servers(c->lambda, c->svc, bound,
						 p_over);
	}
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
	if (get_classes(h, &v, argc > i && !plan ? (int)one : -1))
		return EXIT_RUNTIME;
	if (plan)
		classes_plan(&v, o.cards_per_hour * o.requests_per_card / 3600,
			     NULL, 0, o.max_wait_ms / 1000,
			     1 - o.percent / 100);
	if (opt.json)
		jw_arr(NULL);
	else
		class_head(&t, plan);
	for (k = 0; k < CLASSES; k++) {
		if (!c[k].seen ||
		    (argc > i ? k != one : !class_in_use(&c[k], k)))
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
	classes_free(&v);
	return 0;
}
