// SPDX-License-Identifier: GPL-2.0
/*
 * persohubctl plan: how many servers a production target needs, by Erlang C
 * on the service time the hub measured; and each class's own pool, on its
 * own service time and rate (the classes' figures, ctl_classes.c).
 */
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "persohubctl.h"
#include "plan.h"

/* plan: how many servers a production target needs (Erlang C) */

struct plan_opts {
	double cards_per_hour;
	double requests_per_card;
	double max_wait_ms;
	double percent;
	double service_ms;	/* override of the measured service time */
	uint32_t stations;
	uint32_t what_if;
	double interval;	/* measure the classes' rates over it (s) */
};

static double plan_number(const char *name, const char *arg, double lo,
			  double hi)
{
	char *end;
	double v;

	errno = 0;
	v = strtod(arg, &end);
	if (errno || *end || end == arg || !(v >= lo) || v > hi)
		usage_error("plan: %s takes a number from %g to %g, not '%s'",
			    name, lo, hi, arg);
	return v;
}

static void plan_opt(int c, const char *arg, void *data)
{
	struct plan_opts *o = data;

	switch (c) {
	case 'c':
		o->cards_per_hour = plan_number("--cards-per-hour", arg, 1, 1e9);
		break;
	case 'r':
		o->requests_per_card = plan_number("--requests-per-card", arg,
						   1, 1e6);
		break;
	case 'w':
		o->max_wait_ms = plan_number("--max-wait-ms", arg, 0, 1e7);
		break;
	case 'P':
		o->percent = plan_number("--percent", arg, 1, 99.999);
		break;
	case 's':
		o->stations = plan_number("--stations", arg, 1, 100000);
		break;
	case 'S':
		o->service_ms = plan_number("--service-ms", arg, 0.001, 1e7);
		break;
	case 'i':
		o->interval = plan_number("--interval", arg, 0.1, 3600);
		break;
	case 'K':
		if (strncmp(arg, "servers=", 8) || !parse_u32(arg + 8, &o->what_if) ||
		    !o->what_if || o->what_if > 10000)
			usage_error("plan: --what-if takes servers=K (1 to 10000), not '%s'",
				    arg);
		break;
	}
}

/* One line of the table: c servers at the target rate. */
static void plan_row(struct table *t, unsigned int c, double lambda,
		     double svc, double bound, const struct plan_opts *o)
{
	char buf[32];
	double w = plan_mean_wait(c, lambda, svc);
	double cap = plan_max_rate(c, svc, bound, 1 - o->percent / 100);

	table_row(t);
	table_set(t, 0, "%u", c);
	table_set(t, 1, "%.2f", lambda * svc / c);
	table_set(t, 2, "%.1f%%", 100 * plan_erlang_c(c, lambda * svc));
	table_set(t, 3, "%s", isinf(w) ? "inf" : fmt_ns(w * 1e9, buf, sizeof(buf)));
	table_set(t, 4, "%.1f%%", 100 * plan_wait_over(c, lambda, svc, bound));
	table_set(t, 5, "%.0f", cap * 3600 / o->requests_per_card);
}

/*
 * Each class's rate over @secs, from its counters: the requests that
 * ended and the change in those waiting, i.e. those that arrived, but
 * for the ones in service at either end.
 */
static int class_rates(struct ctl_sock *h, struct classes_view *v,
		       double secs, double *rate)
{
	static struct classes_view v2;
	struct timespec ts = {
		.tv_sec = (time_t)secs,
		.tv_nsec = (long)((secs - (time_t)secs) * 1e9),
	};
	const uint64_t *a, *b;
	uint64_t t0 = now_ns();
	unsigned int k;

	while (nanosleep(&ts, &ts) && errno == EINTR)
		;
	if (get_classes(h, &v2, -1))
		return -1;
	secs = (now_ns() - t0) / 1e9;
	for (k = 0; k < CLASSES; k++) {
		a = v->c[k].stat;
		b = v2.c[k].stat;
		rate[k] = ((double)b[PERSOHUB_CLASS_STAT_DONE] -
			   a[PERSOHUB_CLASS_STAT_DONE] +
			   b[PERSOHUB_CLASS_STAT_WAITING] -
			   a[PERSOHUB_CLASS_STAT_WAITING]) / secs;
		if (rate[k] < 0)
			rate[k] = 0;
	}
	/* The figures at the end: their service times are the freshest. */
	classes_free(v);
	*v = v2;
	memset(&v2, 0, sizeof(v2));
	return 0;
}

/* The classes with a service time measured: those planned. */
static bool class_planned(const struct classes_view *v, unsigned int k)
{
	return v->c[k].seen && v->c[k].svc > 0 && class_in_use(&v->c[k], k);
}

/*
 * Keys of their own (rate_per_s, class_service_ns, serving): a script
 * that greps the plan's "service_ns" or "requests_per_second" still
 * finds one.
 */
static void plan_classes_json(const struct classes_view *v)
{
	const struct class_info *c;
	char b[32];
	unsigned int k;

	jw_arr("classes");
	for (k = 0; k < CLASSES; k++) {
		if (!class_planned(v, k))
			continue;
		c = &v->c[k];
		jw_obj(NULL);
		jw_u64("id", k);
		snprintf(b, sizeof(b), "%.6f", c->lambda);
		jw_num("rate_per_s", b);
		jw_u64("class_service_ns", llround(c->svc * 1e9));
		jw_u64("serving", c->servers);
		if (c->needed || !c->lambda)
			jw_u64("servers_needed", c->needed);
		else
			jw_null("servers_needed");
		jw_obj_end();
	}
	jw_arr_end();
}

static void plan_classes_text(const struct classes_view *v,
			      const struct plan_opts *o, bool given)
{
	struct table t = { .ncols = 6, .align = "rrrrrr" };
	const struct class_info *c;
	unsigned int k;
	char b[32];

	table_row(&t);
	table_set(&t, 0, "CLASS");
	table_set(&t, 1, "REQ/S");
	table_set(&t, 2, "SERVICE");
	table_set(&t, 3, "LOAD");
	table_set(&t, 4, "SERVERS");
	table_set(&t, 5, "NEEDED");
	for (k = 0; k < CLASSES; k++) {
		if (!class_planned(v, k))
			continue;
		c = &v->c[k];
		table_row(&t);
		table_set(&t, 0, "class %u", k);
		table_set(&t, 1, "%.2f", c->lambda);
		table_set(&t, 2, "%s", fmt_ns(c->svc * 1e9, b, sizeof(b)));
		table_set(&t, 3, "%.2f", c->lambda * c->svc);
		table_set(&t, 4, "%" PRIu32, c->servers);
		if (c->needed || !c->lambda)
			table_set(&t, 5, "%u", c->needed);
		else
			table_set(&t, 5, ">10000");
	}
	if (t.nrows > 1) {
		printf("\nPer class, each its own pool, the same bound:\n"
		       "  rate: %s\n  service time: %s\n",
		       o->interval ? "its arrivals over the interval" :
		       "its share of the target by the requests it ended",
		       given ? "as given" : "its own, dispatch to answer");
		table_print(&t, "  ", true);
	}
	table_free(&t);
}

int cmd_plan(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "cards-per-hour", required_argument, NULL, 'c' },
		{ "requests-per-card", required_argument, NULL, 'r' },
		{ "max-wait-ms", required_argument, NULL, 'w' },
		{ "percent", required_argument, NULL, 'P' },
		{ "stations", required_argument, NULL, 's' },
		{ "service-ms", required_argument, NULL, 'S' },
		{ "what-if", required_argument, NULL, 'K' },
		{ "interval", required_argument, NULL, 'i' },
		{ NULL, 0, NULL, 0 },
	};
	static struct classes_view v;
	static double rate[CLASSES];
	struct plan_opts o = { .requests_per_card = 4, .max_wait_ms = 50,
			       .percent = 95 };
	struct table t = { .ncols = 6, .align = "rrrrrr" };
	struct portlist l = { 0 };
	uint64_t busy = 0, served = 0, station_reqs = 0;
	unsigned int nservers = 0, nstations = 0, c, first;
	double svc, lambda, bound, p_over, dispatch;
	struct hub hub = { 0 };
	struct ctl_sock *h = NULL;
	char b1[32], b2[32];
	size_t i;

	if (cmd_options(argc, argv, longopts, plan_opt, &o) < 0)
		return -1;
	if (!o.cards_per_hour && !o.what_if && !o.interval)
		usage_error("plan: --cards-per-hour N (or --what-if servers=K, or --interval S) is needed");
	/* Given the service time, plan needs no module: offline then. */
	h = o.service_ms && !o.interval ? nl_if_loaded() : nl();
	if (h && (get_classes(h, &v, -1) ||
		  (o.interval && class_rates(h, &v, o.interval, rate)) ||
		  get_ports(h, PERSOHUB_CMD_PORT_GET, NULL, &l) ||
		  get_ports(h, PERSOHUB_CMD_STATS_GET, NULL, &l) ||
		  get_hub(h, &hub)))
		return EXIT_RUNTIME;

	/* The measured inputs: every server's busy time over its answers. */
	for (i = 0; i < l.n; i++) {
		if (l.v[i].role == PERSOHUB_ROLE_SERVER) {
			nservers++;
			busy += l.v[i].stats[PERSOHUB_STAT_BUSY_NS];
			served += l.v[i].stats[PERSOHUB_STAT_RESPONSES];
		} else if (l.v[i].role == PERSOHUB_ROLE_STATION) {
			nstations++;
			station_reqs += l.v[i].stats[PERSOHUB_STAT_REQUESTS];
		}
	}
	if (o.service_ms)
		svc = o.service_ms / 1000;
	else if (served)
		svc = (double)busy / served / 1e9;
	else
		fatal("no server has answered yet: nothing to measure; give --service-ms");
	dispatch = hist_quantile(hub.hist, hub.nb, 0.5);
	if (!o.stations)
		o.stations = nstations;
	bound = o.max_wait_ms / 1000;
	p_over = 1 - o.percent / 100;
	if (!o.cards_per_hour && o.what_if)
		o.cards_per_hour = plan_max_rate(o.what_if, svc, bound, p_over) *
				   3600 / o.requests_per_card;
	else if (!o.cards_per_hour) {
		/* --interval alone: the target is the rate measured. */
		for (i = 0; i < CLASSES; i++)
			o.cards_per_hour += rate[i];
		o.cards_per_hour *= 3600 / o.requests_per_card;
		if (!o.cards_per_hour)
			fatal("no request arrived in the interval: nothing to plan for");
	}
	lambda = o.cards_per_hour * o.requests_per_card / 3600;
	c = o.what_if ? o.what_if : plan_servers(lambda, svc, bound, p_over);
	if (h)
		classes_plan(&v, lambda, o.interval ? rate : NULL,
			     o.service_ms / 1000, bound, p_over);

	if (opt.json) {
		jw_obj(NULL);
		if (!h) {
			jw_null("measured");
			goto target;
		}
		jw_obj("measured");
		jw_u64("servers", nservers);
		jw_u64("stations", nstations);
		jw_u64("responses", served);
		jw_u64("busy_ns", busy);
		jw_u64("service_ns", served ? busy / served : 0);
		jw_u64("station_requests", station_reqs);
		snprintf(b1, sizeof(b1), "%.0f", dispatch < 0 ? 0 : dispatch);
		jw_num("dispatch_p50_ns", b1);
		jw_obj_end();
target:
		jw_obj("target");
		snprintf(b1, sizeof(b1), "%.3f", o.cards_per_hour);
		jw_num("cards_per_hour", b1);
		snprintf(b1, sizeof(b1), "%.3f", o.requests_per_card);
		jw_num("requests_per_card", b1);
		snprintf(b1, sizeof(b1), "%.6f", lambda);
		jw_num("requests_per_second", b1);
		snprintf(b1, sizeof(b1), "%.3f", o.max_wait_ms);
		jw_num("max_wait_ms", b1);
		snprintf(b1, sizeof(b1), "%.3f", o.percent);
		jw_num("percent", b1);
		jw_obj_end();
		snprintf(b1, sizeof(b1), "%.9f", svc);
		jw_num("service_s", b1);
		jw_u64("servers", c);
		snprintf(b1, sizeof(b1), "%.6f", c ? plan_mean_wait(c, lambda, svc) : -1);
		jw_num("mean_wait_s", isinf(plan_mean_wait(c, lambda, svc)) ? "null" : b1);
		snprintf(b1, sizeof(b1), "%.6f", c ? plan_wait_over(c, lambda, svc, bound) : 1);
		jw_num("p_wait_over_bound", b1);
		if (h)
			plan_classes_json(&v);
		jw_obj_end();
		classes_free(&v);
		portlist_free(&l);
		return c ? 0 : EXIT_RUNTIME;
	}

	printf("Assumptions: requests arrive as a Poisson stream, service times are\n"
	       "exponential, all servers take requests from one queue in arrival order\n"
	       "(Erlang C, M/M/c). A card takes %.0f requests.\n\n",
	       o.requests_per_card);
	if (!h) {
		printf("Given (no persohub module loaded: nothing measured):\n");
		printf("  service time per request: %s\n",
		       fmt_ns(svc * 1e9, b1, sizeof(b1)));
		goto target_text;
	}
	printf("Measured by the hub (counters since the module loaded):\n");
	printf("  servers %u, stations %u, answers %" PRIu64 "\n", nservers,
	       nstations, served);
	printf("  service time per request: %s%s (busy time / answers)\n",
	       fmt_ns(svc * 1e9, b1, sizeof(b1)),
	       o.service_ms ? " (given, not measured)" : "");
	printf("  dispatch latency p50 (arrival to first byte out, queueing in): %s\n",
	       dispatch < 0 ? "-" : fmt_ns(dispatch, b2, sizeof(b2)));
target_text:
	printf("\nTarget: %.0f cards/hour = %.2f requests/s, %.0f%% of requests\n"
	       "waiting at most %s for a server.\n\n", o.cards_per_hour, lambda,
	       o.percent, fmt_ns(bound * 1e9, b1, sizeof(b1)));
	if (!c) {
		printf("No number of servers up to 10000 meets it.\n");
		portlist_free(&l);
		return EXIT_RUNTIME;
	}
	if (o.what_if)
		printf("With %u servers:\n", c);
	else
		printf("Servers needed: %u\n", c);
	table_row(&t);
	table_set(&t, 0, "SERVERS");
	table_set(&t, 1, "LOAD");
	table_set(&t, 2, "P(WAIT)");
	table_set(&t, 3, "MEAN_WAIT");
	table_set(&t, 4, "P(WAIT>BOUND)");
	table_set(&t, 5, "MAX_CARDS/H");
	first = c > 1 ? c - 1 : c;
	for (i = first; i <= c + 2; i++)
		plan_row(&t, i, lambda, svc, bound, &o);
	table_print(&t, "  ", true);
	table_free(&t);
	if (o.stations && svc > 0)
		printf("\n%u stations, one request each at a time, cannot ask for more than\n"
		       "%.0f cards/hour (no think time, no wait).\n", o.stations,
		       o.stations * 3600 / (o.requests_per_card * svc));
	if (h)
		plan_classes_text(&v, &o, o.service_ms);
	classes_free(&v);
	portlist_free(&l);
	return 0;
}
