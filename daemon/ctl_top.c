// SPDX-License-Identifier: GPL-2.0
/*
 * persohubctl top: a live view of servers, stations, the hub and the
 * classes in use.
 */
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "persohubctl.h"

/* top */

struct snap {
	struct portlist l;
	struct hub hub;
	struct classes_view *cv;
	uint64_t t;
};

static int snap_take(struct ctl_sock *h, struct snap *s)
{
	portlist_free(&s->l);
	if (!s->cv)
		s->cv = xrealloc(NULL, sizeof(*s->cv));
	else
		classes_free(s->cv);
	if (get_ports(h, PERSOHUB_CMD_PORT_GET, NULL, &s->l) ||
	    get_ports(h, PERSOHUB_CMD_STATS_GET, NULL, &s->l) ||
	    get_hub(h, &s->hub) || get_classes(h, s->cv, -1))
		return -1;
	s->t = now_ns();
	return 0;
}

/* A class over the interval: its dispatches, their waits, its failures. */
struct class_delta {
	uint64_t hist[HIST_MAX];
	unsigned int nb;
	uint64_t dispatched, wait_ns, failed;
};

static uint64_t delta(uint64_t cur, uint64_t prev)
{
	/* A counter going back: the module was loaded again. */
	return cur >= prev ? cur - prev : cur;
}

static void class_delta(const struct class_info *prev,
			const struct class_info *cur, struct class_delta *d)
{
	unsigned int i;

	d->nb = cur->nb;
	for (i = 0; i < cur->nb; i++)
		d->hist[i] = delta(cur->hist[i], prev->hist[i]);
	d->dispatched = delta(cur->stat[PERSOHUB_CLASS_STAT_DISPATCHED],
			      prev->stat[PERSOHUB_CLASS_STAT_DISPATCHED]);
	d->wait_ns = delta(cur->stat[PERSOHUB_CLASS_STAT_WAIT_NS],
			   prev->stat[PERSOHUB_CLASS_STAT_WAIT_NS]);
	d->failed = delta(cur->stat[PERSOHUB_CLASS_STAT_FAILED],
			  prev->stat[PERSOHUB_CLASS_STAT_FAILED]);
}

/* Counter @stat of @cur since @prev; false if @prev did not know it. */
static bool stat_delta(const struct port *prev, const struct port *cur,
		       unsigned int stat, uint64_t *d)
{
	if (!prev || !prev->has_stats || !cur->has_stats)
		return false;
	/* A counter going back means a new port behind the same id. */
	*d = cur->stats[stat] >= prev->stats[stat] ?
	     cur->stats[stat] - prev->stats[stat] : cur->stats[stat];
	return true;
}

static void top_rate(struct table *t, unsigned int col, const struct port *prev,
		     const struct port *cur, double dt)
{
	uint64_t d;

	if (stat_delta(prev, cur, PERSOHUB_STAT_REQUESTS, &d))
		table_set(t, col, "%.1f", d / dt);
	else
		table_set(t, col, "-");
}

/*
 * busy_ns grows when a busy period ends, so a request spanning refreshes
 * lands in one of them whole: the share is capped at 100%, and a server
 * busy at both ends with no request ended in between was busy throughout.
 */
static double busy_share(const struct port *prev, const struct port *cur,
			 double dt_ns)
{
	uint64_t d, reqs;
	double pct;

	if (!stat_delta(prev, cur, PERSOHUB_STAT_BUSY_NS, &d) ||
	    !stat_delta(prev, cur, PERSOHUB_STAT_RESPONSES, &reqs))
		return -1;
	pct = 100.0 * d / dt_ns;
	if (!d && !reqs && prev->state == PERSOHUB_STATE_BUSY &&
	    cur->state == PERSOHUB_STATE_BUSY)
		pct = 100;
	return pct > 100 ? 100 : pct;
}

static void top_busy(struct table *t, unsigned int col,
		     const struct port *prev, const struct port *cur,
		     double dt_ns)
{
	double pct = busy_share(prev, cur, dt_ns);

	if (pct < 0)
		table_set(t, col, "-");
	else
		table_set(t, col, "%.1f", pct);
}

/* A number with @prec decimals, or null when unknown (< 0). */
static void jw_fixed(const char *key, double v, int prec)
{
	char b[32];

	if (v < 0) {
		jw_null(key);
		return;
	}
	snprintf(b, sizeof(b), "%.*f", prec, v);
	jw_num(key, b);
}

/*
 * -j: one object a view, one line each: the hub over the interval, the
 * classes in use, and every station and server with its rates (null on
 * the first sight).
 */
static void top_json(const struct snap *prev, const struct snap *cur,
		     double dt, const uint64_t *dh, unsigned int nb)
{
	static const struct {
		const char *key;
		double p;
	} qs[] = { { "p50_ns", 0.5 }, { "p90_ns", 0.9 }, { "p99_ns", 0.99 } };
	uint64_t n = hist_total(dh, nb), d;
	const struct port *p, *pp;
	char ts[32];
	size_t k, i;

	jw_obj(NULL);
	jw_num("time", fmt_mono(cur->t, ts, sizeof(ts)));
	jw_fixed("interval_s", dt, 3);
	jw_obj("hub");
	jw_u64("waiting", cur->hub.waiting);
	jw_bool("controller", cur->hub.ctrl);
	jw_u64("dispatched", n);
	jw_fixed("dispatched_per_s", n / dt, 1);
	for (k = 0; k < ARRAY_SIZE(qs); k++)
		jw_fixed(qs[k].key, n ? hist_quantile(dh, nb, qs[k].p) : -1, 0);
	jw_obj_end();
	jw_arr("classes");
	for (k = 0; k < CLASSES; k++) {
		const struct class_info *c = &cur->cv->c[k];
		struct class_delta cd;

		if (!c->seen || !class_in_use(c, k))
			continue;
		class_delta(&prev->cv->c[k], c, &cd);
		jw_obj(NULL);
		jw_u64("id", k);
		jw_u64("waiting", c->stat[PERSOHUB_CLASS_STAT_WAITING]);
		jw_u64("dispatched", cd.dispatched);
		jw_fixed("dispatched_per_s", cd.dispatched / dt, 1);
		jw_fixed("mean_wait_ns", cd.dispatched ?
			 (double)cd.wait_ns / cd.dispatched : -1, 0);
		for (i = 0; i < ARRAY_SIZE(qs); i++)
			jw_fixed(qs[i].key, cd.dispatched ?
				 hist_quantile(cd.hist, cd.nb, qs[i].p) : -1, 0);
		jw_u64("failed", cd.failed);
		jw_obj_end();
	}
	jw_arr_end();
	jw_arr("ports");
	for (k = 0; k < cur->l.n; k++) {
		p = &cur->l.v[k];
		pp = port_find(&prev->l, p->id);
		if (!p->seen || p->role == PERSOHUB_ROLE_OFF)
			continue;
		jw_obj(NULL);
		jw_u64("id", p->id);
		jw_str("name", p->name);
		jw_str("role", NAME_OF(phnl_role_names, p->role));
		jw_str("state", port_state(p));
		jw_bool("user", p->user);
		jw_u64("queue", p->queue);
		jw_u64("queue_depth", p->queue_depth);
		jw_u64("requests", p->stats[PERSOHUB_STAT_REQUESTS]);
		jw_fixed("requests_per_s",
			 stat_delta(pp, p, PERSOHUB_STAT_REQUESTS, &d) ?
			 d / dt : -1, 1);
		if (p->role == PERSOHUB_ROLE_SERVER)
			jw_fixed("busy_percent", busy_share(pp, p, dt * 1e9), 1);
		else
			jw_null("busy_percent");
		jw_u64("timeouts", p->stats[PERSOHUB_STAT_TIMEOUTS]);
		jw_u64("unexpected_frames",
		       p->stats[PERSOHUB_STAT_UNEXPECTED_FRAMES]);
		jw_u64("errors_sent", p->stats[PERSOHUB_STAT_ERRORS_SENT]);
		jw_u64("queue_full", p->stats[PERSOHUB_STAT_QUEUE_FULL]);
		jw_obj_end();
	}
	jw_arr_end();
	jw_obj_end();
}

/* A line per class in use: its waiting, rate and waits over the interval. */
static void top_classes(const struct snap *prev, const struct snap *cur,
			double dt)
{
	struct table t = { .ncols = 7, .align = "rrrrrrr" };
	static const char *const head[] = {
		"CLASS", "WAITING", "DISP/S", "MEAN_WAIT", "P50_WAIT",
		"P99_WAIT", "FAILED",
	};
	const struct class_info *c;
	struct class_delta cd;
	unsigned int k, i;
	char buf[32];

	table_row(&t);
	for (i = 0; i < ARRAY_SIZE(head); i++)
		table_set(&t, i, "%s", head[i]);
	for (k = 0; k < CLASSES; k++) {
		c = &cur->cv->c[k];
		if (!c->seen || !class_in_use(c, k))
			continue;
		class_delta(&prev->cv->c[k], c, &cd);
		table_row(&t);
		table_set(&t, 0, "%u", k);
		table_set(&t, 1, "%" PRIu64,
			  c->stat[PERSOHUB_CLASS_STAT_WAITING]);
		table_set(&t, 2, "%.1f", cd.dispatched / dt);
		if (!cd.dispatched) {
			table_set(&t, 3, "-");
			table_set(&t, 4, "-");
			table_set(&t, 5, "-");
		} else {
			table_set(&t, 3, "%s", fmt_ns((double)cd.wait_ns /
						      cd.dispatched, buf,
						      sizeof(buf)));
			table_set(&t, 4, "%s",
				  fmt_ns(hist_quantile(cd.hist, cd.nb, 0.5),
					 buf, sizeof(buf)));
			table_set(&t, 5, "%s",
				  fmt_ns(hist_quantile(cd.hist, cd.nb, 0.99),
					 buf, sizeof(buf)));
		}
		table_set(&t, 6, "%" PRIu64, cd.failed);
	}
	if (t.nrows > 1) {
		table_print(&t, "", true);
		printf("\n");
	}
	table_free(&t);
}

static void top_show(const struct snap *prev, const struct snap *cur,
		     double interval)
{
	struct table srv = { .ncols = 8, .align = "lrlrrrrr" };
	struct table st = { .ncols = 8, .align = "lrlrrrrr" };
	uint64_t dh[HIST_MAX] = { 0 }, n, d;
	double dt = (cur->t - prev->t) / 1e9;
	const struct port *p, *pp;
	unsigned int i, nb = cur->hub.nb;
	char q[128], ts[32];
	size_t k;

	if (dt <= 0)
		dt = interval;
	for (i = 0; i < nb; i++)
		dh[i] = cur->hub.hist[i] >= prev->hub.hist[i] ?
			cur->hub.hist[i] - prev->hub.hist[i] :
			cur->hub.hist[i];
	n = hist_total(dh, nb);
	if (opt.json) {
		top_json(prev, cur, dt, dh, nb);
		return;
	}
	printf("persohub top  [%s]  every %gs\n",
	       fmt_mono(cur->t, ts, sizeof(ts)), interval);
	printf("hub: waiting %" PRIu32 "  controller %s  dispatched %.1f/s  "
	       "latency %s\n\n", cur->hub.waiting,
	       cur->hub.ctrl ? "attached" : "detached", n / dt,
	       fmt_quantiles(dh, nb, q, sizeof(q)));

	table_row(&srv);
	table_set(&srv, 0, "SERVER");
	table_set(&srv, 1, "ID");
	table_set(&srv, 2, "STATE");
	table_set(&srv, 3, "REQ/S");
	table_set(&srv, 4, "BUSY%%");
	table_set(&srv, 5, "REQUESTS");
	table_set(&srv, 6, "TIMEOUTS");
	table_set(&srv, 7, "UNEXPECTED");
	table_row(&st);
	table_set(&st, 0, "STATION");
	table_set(&st, 1, "ID");
	table_set(&st, 2, "STATE");
	table_set(&st, 3, "QUEUE");
	table_set(&st, 4, "REQ/S");
	table_set(&st, 5, "REQUESTS");
	table_set(&st, 6, "ERRORS");
	table_set(&st, 7, "QUEUE_FULL");
	for (k = 0; k < cur->l.n; k++) {
		p = &cur->l.v[k];
		pp = port_find(&prev->l, p->id);
		if (!p->seen)
			continue;
		if (p->role == PERSOHUB_ROLE_SERVER) {
			table_row(&srv);
			table_set(&srv, 0, "%s%s", p->name, p->user ? "*" : "");
			table_set(&srv, 1, "%" PRIu32, p->id);
			table_set(&srv, 2, "%s", port_state(p));
			top_rate(&srv, 3, pp, p, dt);
			top_busy(&srv, 4, pp, p, dt * 1e9);
			table_set(&srv, 5, "%" PRIu64,
				  p->stats[PERSOHUB_STAT_REQUESTS]);
			table_set(&srv, 6, "%" PRIu64,
				  p->stats[PERSOHUB_STAT_TIMEOUTS]);
			table_set(&srv, 7, "%" PRIu64,
				  p->stats[PERSOHUB_STAT_UNEXPECTED_FRAMES]);
		} else if (p->role == PERSOHUB_ROLE_STATION) {
			table_row(&st);
			table_set(&st, 0, "%s", p->name);
			table_set(&st, 1, "%" PRIu32, p->id);
			table_set(&st, 2, "%s", port_state(p));
			table_set(&st, 3, "%" PRIu32 "/%" PRIu32, p->queue,
				  p->queue_depth);
			top_rate(&st, 4, pp, p, dt);
			table_set(&st, 5, "%" PRIu64,
				  p->stats[PERSOHUB_STAT_REQUESTS]);
			if (stat_delta(pp, p, PERSOHUB_STAT_ERRORS_SENT, &d) &&
			    d)
				table_set(&st, 6, "%" PRIu64 " (+%" PRIu64 ")",
					  p->stats[PERSOHUB_STAT_ERRORS_SENT],
					  d);
			else
				table_set(&st, 6, "%" PRIu64,
					  p->stats[PERSOHUB_STAT_ERRORS_SENT]);
			table_set(&st, 7, "%" PRIu64,
				  p->stats[PERSOHUB_STAT_QUEUE_FULL]);
		}
	}
	top_classes(prev, cur, dt);
	if (srv.nrows > 1)
		table_print(&srv, "", true);
	else
		printf("no servers\n");
	printf("\n");
	if (st.nrows > 1)
		table_print(&st, "", true);
	else
		printf("no stations\n");
	for (k = 0; k < cur->l.n; k++)
		if (cur->l.v[k].user && cur->l.v[k].role == PERSOHUB_ROLE_SERVER) {
			printf("\n* userspace server\n");
			break;
		}
	table_free(&srv);
	table_free(&st);
}

struct top_opts {
	double interval;
	unsigned long iterations;
	bool counted;
};

static void top_opt(int c, const char *arg, void *data)
{
	struct top_opts *o = data;
	uint32_t v;
	char *end;

	if (c == 'i') {
		errno = 0;
		o->interval = strtod(arg, &end);
		if (errno || *end || end == arg || !(o->interval >= 0.05) ||
		    o->interval > 3600)
			usage_error("top: --interval takes seconds, 0.05 to 3600, not '%s'",
				    arg);
	} else {
		if (!parse_u32(arg, &v) || !v)
			usage_error("top: --iterations needs a positive number, not '%s'",
				    arg);
		o->iterations = v;
		o->counted = true;
	}
}

int cmd_top(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "interval", required_argument, NULL, 'i' },
		{ "iterations", required_argument, NULL, 'c' },
		{ "count", required_argument, NULL, 'c' },
		{ NULL, 0, NULL, 0 },
	};
	struct top_opts o = { .interval = 1 };
	struct ctl_sock *h;
	struct snap s[2];
	struct pollfd pfd;
	unsigned long shown = 0;
	uint64_t next;
	int64_t wait_ms;
	bool clear;
	int i, cur = 0;

	i = cmd_options(argc, argv, longopts, top_opt, &o);
	if (i < 0)
		return -1;
	if (i < argc)
		usage_error("top: unexpected '%s'", argv[i]);
	opt.pretty = false;	/* -j: one view, one line */
	h = nl();
	memset(s, 0, sizeof(s));
	clear = isatty(STDOUT_FILENO) && !o.counted && !opt.json;
	pfd.fd = signals_fd();
	pfd.events = POLLIN;

	if (snap_take(h, &s[cur]))
		return EXIT_RUNTIME;
	next = s[cur].t;
	while (!o.counted || shown < o.iterations) {
		next += (uint64_t)(o.interval * 1e9);
		for (;;) {
			wait_ms = ((int64_t)(next - now_ns()) + 999999) /
				  1000000;
			if (wait_ms <= 0)
				break;
			if (poll(&pfd, 1, wait_ms > INT_MAX ? INT_MAX :
				 (int)wait_ms) > 0)
				goto out;
		}
		cur ^= 1;
		if (snap_take(h, &s[cur]))
			return EXIT_RUNTIME;
		if (clear)
			fputs("\033[H\033[2J", stdout);
		else if (shown && !opt.json)
			fputc('\n', stdout);
		top_show(&s[cur ^ 1], &s[cur], o.interval);
		fflush(stdout);
		shown++;
	}
out:
	close(pfd.fd);
	portlist_free(&s[0].l);
	portlist_free(&s[1].l);
	for (i = 0; i < 2; i++) {
		if (s[i].cv)
			classes_free(s[i].cv);
		free(s[i].cv);
	}
	return 0;
}
