// SPDX-License-Identifier: GPL-2.0
/*
 * persohubctl stats: every counter of the ports, the hub with its
 * dispatch latency histogram (which top and plan read too), and each
 * class in use with its wait histogram.
 */
#include <inttypes.h>
#include <math.h>
#include <string.h>

#include "persohubctl.h"

/* The hub and its dispatch latency histogram */

static int hub_cb(const struct ctl_attrs *at, void *data)
{
	struct hub *hub = data;

	memset(hub, 0, sizeof(*hub));
	hub->waiting = ctl_u32(at, PERSOHUB_A_HUB_WAITING, 0);
	hub->next_id = ctl_u64(at, PERSOHUB_A_HUB_NEXT_ID, 0);
	if (at->a[PERSOHUB_A_CTRL_ATTACHED])
		hub->ctrl = nla_get_u8(at->a[PERSOHUB_A_CTRL_ATTACHED]);
	hist_parse(at->a[PERSOHUB_A_HIST], hub->hist, &hub->nb);
	return 0;
}

void hist_parse(const struct nlattr *nest, uint64_t *hist, unsigned int *nb)
{
	const struct nlattr *a;
	uint16_t type;
	int rem;

	if (!nest)
		return;
	nla_for_each_nested(a, nest, rem) {
		type = nla_type(a);
		/* Type i + 1 is bucket i; anything else (padding) skipped. */
		if (type < 1 || type > HIST_MAX ||
		    nla_len(a) != sizeof(uint64_t))
			continue;
		hist[type - 1] = nla_get_u64(a);
		if (type > *nb)
			*nb = type;
	}
}

int get_hub(struct ctl_sock *h, struct hub *hub)
{
	return talk(h, ctl_msg(h, PERSOHUB_CMD_STATS_GET, 0), hub_cb,
		    hub, NULL);
}

/*
 * Bucket i holds [2^(i-1), 2^i) ns, bucket 0 exactly 0 ns. The kernel
 * counts anything longer in its last bucket, which is therefore open:
 * its upper bound is reported as infinite.
 */
static double bucket_lo(unsigned int i)
{
	return i ? ldexp(1, i - 1) : 0;
}

static double bucket_hi(unsigned int i, unsigned int nb)
{
	if (i + 1 >= nb)
		return INFINITY;
	return i ? ldexp(1, i) : 1;
}

uint64_t hist_total(const uint64_t *hist, unsigned int nb)
{
	uint64_t n = 0;
	unsigned int i;

	for (i = 0; i < nb; i++)
		n += hist[i];
	return n;
}

/*
 * The @p quantile (0..1), interpolated linearly inside its bucket; the
 * open last bucket gives its lower bound. -1 without samples.
 */
double hist_quantile(const uint64_t *hist, unsigned int nb, double p)
{
	uint64_t total = hist_total(hist, nb), cum = 0;
	double rank = p * total, lo, hi;
	unsigned int i;

	if (!total)
		return -1;
	for (i = 0; i < nb; i++) {
		if (!hist[i])
			continue;
		if (cum + hist[i] >= rank) {
			lo = bucket_lo(i);
			hi = bucket_hi(i, nb);
			if (isinf(hi))
				return lo;
			return lo + (hi - lo) * (rank - cum) / hist[i];
		}
		cum += hist[i];
	}
	return bucket_lo(nb - 1);
}

static const struct {
	const char *key;
	double p;
} quantiles[] = {
	{ "p50", 0.50 },
	{ "p90", 0.90 },
	{ "p99", 0.99 },
};

/* "p50 6.1us p90 15us p99 31us", or "-" without samples. */
const char *fmt_quantiles(const uint64_t *hist, unsigned int nb,
				 char *buf, size_t len)
{
	char v[32];
	size_t i, o = 0;
	double q;

	if (!hist_total(hist, nb))
		return "-";
	buf[0] = '\0';
	for (i = 0; i < ARRAY_SIZE(quantiles) && o < len; i++) {
		q = hist_quantile(hist, nb, quantiles[i].p);
		o += snprintf(buf + o, len - o, "%s%s %s", i ? " " : "",
			      quantiles[i].key, fmt_ns(q, v, sizeof(v)));
	}
	return buf;
}

static void hub_text(const struct hub *hub)
{
	uint64_t total = hist_total(hub->hist, hub->nb), max = 0;
	struct table t = { .ncols = 4, .align = "lrrl" };
	char q[128], lo[32], hi[32];
	unsigned int i, first = hub->nb, last = 0, bar;

	printf("hub: waiting %" PRIu32 " controller %s next_id %" PRIu64 "\n",
	       hub->waiting, hub->ctrl ? "attached" : "detached",
	       hub->next_id);
	printf("    dispatch latency: %" PRIu64 " dispatched %s\n", total,
	       fmt_quantiles(hub->hist, hub->nb, q, sizeof(q)));
	for (i = 0; i < hub->nb; i++) {
		if (!hub->hist[i])
			continue;
		if (i < first)
			first = i;
		last = i;
		if (hub->hist[i] > max)
			max = hub->hist[i];
	}
	for (i = first; total && i <= last; i++) {
		table_row(&t);
		table_set(&t, 0, "[%s,", fmt_ns(bucket_lo(i), lo, sizeof(lo)));
		if (isinf(bucket_hi(i, hub->nb)))
			table_set(&t, 1, "inf)");
		else
			table_set(&t, 1, "%s)",
				  fmt_ns(bucket_hi(i, hub->nb), hi, sizeof(hi)));
		table_set(&t, 2, "%" PRIu64, hub->hist[i]);
		bar = hub->hist[i] ? (unsigned int)((hub->hist[i] * 40 +
						     max - 1) / max) : 0;
		table_set(&t, 3, "%.*s", (int)bar,
			  "########################################");
	}
	table_print(&t, "        ", true);
	table_free(&t);
}

/* A histogram as an object: count, quantiles, the buckets in use. */
void hist_json(const char *key, const uint64_t *hist, unsigned int nb)
{
	uint64_t total = hist_total(hist, nb);
	unsigned int i;
	double hi;
	size_t k;

	jw_obj(key);
	jw_u64("count", total);
	for (k = 0; k < ARRAY_SIZE(quantiles); k++) {
		char key_ns[16];

		snprintf(key_ns, sizeof(key_ns), "%s_ns", quantiles[k].key);
		if (total)
			jw_u64(key_ns, llround(hist_quantile(hist, nb,
							     quantiles[k].p)));
		else
			jw_null(key_ns);
	}
	jw_arr("buckets");
	for (i = 0; i < nb; i++) {
		if (!hist[i])
			continue;
		jw_obj(NULL);
		jw_u64("lo_ns", (uint64_t)bucket_lo(i));
		hi = bucket_hi(i, nb);
		if (isinf(hi))
			jw_null("hi_ns");
		else
			jw_u64("hi_ns", (uint64_t)hi);
		jw_u64("count", hist[i]);
		jw_obj_end();
	}
	jw_arr_end();
	jw_obj_end();
}

static void hub_json(const char *key, const struct hub *hub)
{
	jw_obj(key);
	jw_u64("waiting", hub->waiting);
	jw_bool("controller", hub->ctrl);
	jw_u64("next_id", hub->next_id);
	hist_json("dispatch_latency", hub->hist, hub->nb);
	jw_obj_end();
}

/* stats */

static const char *stat_name(unsigned int i)
{
	return NAME_OF(phnl_stat_names, i);
}

/*
 * One counter a line, "name: value", as ethtool -S: grep finds it. Times
 * are shown in ms (busy_ns as busy_ms); JSON keeps the raw counters.
 */
static void stats_text(const struct port *p)
{
	unsigned int i;

	printf("%" PRIu32 ": %s:\n", p->id, p->name);
	for (i = 1; i <= PERSOHUB_STAT_MAX; i++) {
		if (i == PERSOHUB_STAT_BUSY_NS)
			printf("    busy_ms: %.3f\n", p->stats[i] / 1e6);
		else
			printf("    %s: %" PRIu64 "\n", stat_name(i),
			       p->stats[i]);
	}
}

static void stats_json(const struct port *p)
{
	unsigned int i;

	jw_obj(NULL);
	jw_u64("id", p->id);
	jw_str("name", p->name);
	for (i = 1; i <= PERSOHUB_STAT_MAX; i++)
		jw_u64(stat_name(i), p->stats[i]);
	jw_obj_end();
}

int cmd_stats(int argc, char **argv)
{
	struct ctl_sock *h;
	struct portlist l = { 0 };
	static struct classes_view v;
	struct hub hub;
	int i = cmd_options(argc, argv, NULL, NULL, NULL);
	const char *port;
	size_t k;

	if (i < 0)
		return -1;
	if (argc - i > 1)
		usage_error("stats: too many arguments");
	h = nl();
	port = argc > i ? argv[i] : NULL;
	if (get_ports(h, PERSOHUB_CMD_STATS_GET, port, &l))
		return EXIT_RUNTIME;
	if (!port && (get_hub(h, &hub) || get_classes(h, &v, -1)))
		return EXIT_RUNTIME;
	if (opt.json) {
		jw_obj(NULL);
		jw_arr("ports");
		for (k = 0; k < l.n; k++)
			stats_json(&l.v[k]);
		jw_arr_end();
		if (!port) {
			hub_json("hub", &hub);
			jw_arr("classes");
			for (k = 0; k < CLASSES; k++)
				if (v.c[k].seen && class_in_use(&v.c[k], k))
					class_stats_json(k, &v.c[k]);
			jw_arr_end();
		}
		jw_obj_end();
	} else {
		for (k = 0; k < l.n; k++)
			stats_text(&l.v[k]);
		if (!port) {
			hub_text(&hub);
			for (k = 0; k < CLASSES; k++)
				if (v.c[k].seen && class_in_use(&v.c[k], k))
					class_stats_text(k, &v.c[k]);
		}
	}
	classes_free(&v);
	portlist_free(&l);
	return 0;
}
