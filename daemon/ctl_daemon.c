// SPDX-License-Identifier: GPL-2.0
/*
 * persohubctl daemon: what persohubd decides, from the state file it
 * writes (state.h): per port its weight, pin, enabled flags (the
 * configuration's and the kernel's) and classes, the TCP links, and the
 * requests it holds back with the reason. Also the weights and pins that
 * status shows beside the kernel's view.
 */
#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>

#include "persohubctl.h"
#include "state.h"

/* The process @pid: 1 persohubd, 0 gone or another program. */
static int is_persohubd(int pid, bool *stopped)
{
	char path[64], buf[512], *p;
	FILE *f;
	size_t n;

	*stopped = false;
	if (pid <= 0 || (kill(pid, 0) && errno != EPERM))
		return 0;
	snprintf(path, sizeof(path), "/proc/%d/stat", pid);
	f = fopen(path, "r");
	if (!f)
		return 0;
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	/* "PID (comm) S ...": comm may hold anything, so from the last ')' */
	p = strrchr(buf, ')');
	if (!p || strncmp(buf + strcspn(buf, "("), "(persohubd)", 11) ||
	    p[1] != ' ' || p[2] == 'Z' || p[2] == 'X')
		return 0;	/* another program, or dead (a zombie) */
	*stopped = p[2] == 'T' || p[2] == 't';
	return 1;
}

int daemon_load(struct state *st, const char *path, bool *stopped,
		char *why, size_t len)
{
	int ret = state_load(path, st, why, len);

	if (ret == -ENOENT) {
		snprintf(why, len, "persohubd is not running (no %s)", path);
		return -ENOENT;
	}
	if (ret)
		return ret;
	if (!is_persohubd(st->pid, stopped)) {
		snprintf(why, len, "persohubd is not running (%s was written "
			 "by pid %d, which is gone)", path, st->pid);
		return -ESRCH;
	}
	return 0;
}

static const struct state_port *port_of(const struct state *st, uint32_t id)
{
	unsigned int i;

	for (i = 0; i < st->nports; i++)
		if (st->ports[i].id == id)
			return &st->ports[i];
	return NULL;
}

/* "m1-st1", or the id when the daemon does not know the port. */
static const char *name_of(const struct state *st, uint32_t id, char *buf,
			   size_t len)
{
	const struct state_port *p = port_of(st, id);

	if (p && p->name[0])
		return p->name;
	snprintf(buf, len, "%" PRIu32, id);
	return buf;
}

/* Seconds as "1.234" (text and JSON alike). */
static const char *secs(uint64_t ns, char *buf, size_t len)
{
	snprintf(buf, len, "%" PRIu64 ".%03" PRIu64, ns / 1000000000,
		 ns % 1000000000 / 1000000);
	return buf;
}

static uint64_t ago(uint64_t now, uint64_t then)
{
	return now > then ? now - then : 0;
}

static const char *yes(bool b)
{
	return b ? "yes" : "no";
}

static void text_port(const struct state *st, const struct state_port *p)
{
	unsigned int i;
	char b[32];

	printf("port %s:\n    id: %" PRIu32 "\n    role: %s\n",
	       p->name[0] ? p->name : "-", p->id,
	       NAME_OF(phnl_role_names, p->role));
	if (p->role == PERSOHUB_ROLE_STATION) {
		if (p->pin)
			printf("    pin: %s\n", name_of(st, p->pin, b,
						      sizeof(b)));
		else
			printf("    pin: -\n");
		printf("    held: %" PRIu32 "\n", p->held);
	} else if (p->role == PERSOHUB_ROLE_SERVER) {
		printf("    state: %s\n    weight: %" PRIu32 "\n"
		       "    config_enabled: %s\n    kernel_enabled: %s\n"
		       "    classes:", p->state, p->weight,
		       yes(p->config_enabled), yes(p->kernel_enabled));
		for (i = 0; i < 64; i++)
			if (p->classes & (1ULL << i))
				printf("%s%u", p->classes & ((1ULL << i) - 1) ?
				       "," : " ", i);
		printf("\n    user: %s\n", yes(p->user));
	}
}

static void text_state(const struct state *st, bool stopped, uint64_t now)
{
	const struct state_held *h;
	char b[32], b2[32];
	unsigned int i;

	printf("daemon:\n    pid: %d\n    process: %s\n    config: %s\n"
	       "    up: %ss\n    updated: %ss ago\n    resync_ms: %" PRIu32
	       "\n    held: %" PRIu64 "\n", st->pid,
	       stopped ? "stopped" : "running",
	       st->config[0] ? st->config : "none",
	       secs(ago(now, st->started_ns), b, sizeof(b)),
	       secs(ago(now, st->updated_ns), b2, sizeof(b2)),
	       st->resync_ms, st->held_total);
	for (i = 0; i < st->nports; i++)
		text_port(st, &st->ports[i]);
	for (i = 0; i < st->ntcp; i++) {
		const struct state_tcp *t = &st->tcp[i];

		printf("tcp %s:\n    id: %" PRIu32 "\n    address: %s\n"
		       "    state: %s\n    since: %ss ago\n"
		       "    last_error: %s\n", t->name, t->id, t->address,
		       t->state, secs(ago(now, t->since_ns), b, sizeof(b)),
		       t->error[0] ? t->error : "-");
	}
	if (st->cascade.present) {
		const struct state_cascade *c = &st->cascade;

		printf("cascade %s:\n    site: %s\n    nats: %s\n"
		       "    overflow_servers: %" PRIu32 "\n", c->name, c->site,
		       c->connected ? "connected" : "not connected", c->depth);
		for (int k = 0; k < CASC_COUNTERS; k++)
			printf("    %s: %" PRIu64 "\n", state_cascade_keys[k],
			       c->v[k]);
	}
	for (i = 0; i < st->nheld; i++) {
		h = &st->held[i];
		printf("held %" PRIu64 ":\n    station: %s\n", h->req,
		       name_of(st, h->station, b, sizeof(b)));
		if (h->server)
			printf("    pinned_server: %s\n",
			       name_of(st, h->server, b, sizeof(b)));
		printf("    reason: %s\n", state_reason_text(h->reason));
	}
}

/* {"id": ID, "name": NAME}: a port the daemon named. */
static void json_ref(const struct state *st, const char *key, uint32_t id)
{
	char b[32];

	if (!id) {
		jw_null(key);
		return;
	}
	jw_obj(key);
	jw_u64("id", id);
	jw_str("name", name_of(st, id, b, sizeof(b)));
	jw_obj_end();
}

static void json_port(const struct state *st, const struct state_port *p)
{
	bool srv = p->role == PERSOHUB_ROLE_SERVER;
	bool sta = p->role == PERSOHUB_ROLE_STATION;
	unsigned int i;

	jw_obj(NULL);
	jw_u64("id", p->id);
	jw_str("name", p->name);
	jw_str("role", NAME_OF(phnl_role_names, p->role));
	if (srv) {
		jw_str("state", p->state);
		jw_u64("weight", p->weight);
		jw_obj("enabled");
		jw_bool("config", p->config_enabled);
		jw_bool("kernel", p->kernel_enabled);
		jw_obj_end();
		/* the class numbers it serves */
		jw_arr("classes");
		for (i = 0; i < 64; i++)
			if (p->classes & (1ULL << i))
				jw_u64(NULL, i);
		jw_arr_end();
		jw_bool("user", p->user);
	} else {
		jw_null("state");
		jw_null("weight");
		jw_null("enabled");
		jw_null("classes");
		jw_null("user");
	}
	if (sta) {
		json_ref(st, "pin", p->pin);
		jw_u64("held", p->held);
	} else {
		jw_null("pin");
		jw_null("held");
	}
	jw_obj_end();
}

static void json_state(const struct state *st, bool stopped, uint64_t now)
{
	char b[32];
	unsigned int i;

	jw_obj(NULL);
	jw_u64("pid", st->pid);
	jw_bool("stopped", stopped);
	if (st->config[0])
		jw_str("config", st->config);
	else
		jw_null("config");
	jw_num("up_s", secs(ago(now, st->started_ns), b, sizeof(b)));
	jw_num("updated_s_ago", secs(ago(now, st->updated_ns), b, sizeof(b)));
	jw_u64("resync_ms", st->resync_ms);
	jw_u64("held_total", st->held_total);
	jw_arr("ports");
	for (i = 0; i < st->nports; i++)
		json_port(st, &st->ports[i]);
	jw_arr_end();
	jw_arr("tcp");
	for (i = 0; i < st->ntcp; i++) {
		const struct state_tcp *t = &st->tcp[i];

		jw_obj(NULL);
		jw_u64("id", t->id);
		jw_str("name", t->name);
		jw_str("address", t->address);
		jw_str("state", t->state);
		jw_num("since_s_ago", secs(ago(now, t->since_ns), b,
					   sizeof(b)));
		if (t->error[0])
			jw_str("last_error", t->error);
		else
			jw_null("last_error");
		jw_obj_end();
	}
	jw_arr_end();
	if (st->cascade.present) {
		const struct state_cascade *c = &st->cascade;

		jw_obj("cascade");
		jw_str("name", c->name);
		jw_str("site", c->site);
		jw_bool("connected", c->connected);
		jw_u64("overflow_servers", c->depth);
		for (i = 0; i < CASC_COUNTERS; i++)
			jw_u64(state_cascade_keys[i], c->v[i]);
		jw_obj_end();
	} else {
		jw_null("cascade");
	}
	jw_arr("held");
	for (i = 0; i < st->nheld; i++) {
		const struct state_held *h = &st->held[i];

		jw_obj(NULL);
		jw_u64("request", h->req);
		json_ref(st, "station", h->station);
		json_ref(st, "pinned_server", h->server);
		jw_str("reason", state_reason_key(h->reason));
		jw_str("why", state_reason_text(h->reason));
		jw_obj_end();
	}
	jw_arr_end();
	jw_obj_end();
}

static void daemon_opt(int c, const char *arg, void *data)
{
	if (c == 'f')
		*(const char **)data = arg;
}

int cmd_daemon(int argc, char **argv)
{
	static const struct option extra[] = {
		{ "file", required_argument, NULL, 'f' },
		{ }
	};
	static struct state st;
	const char *path = STATE_FILE;
	char why[512];
	bool stopped;
	int i = cmd_options(argc, argv, extra, daemon_opt, &path);
	int ret;

	if (i < 0)
		return -1;
	if (argc > i)
		usage_error("daemon: no operand expected ('%s')", argv[i]);
	ret = daemon_load(&st, path, &stopped, why, sizeof(why));
	if (ret == -ENOENT || ret == -ESRCH) {
		fprintf(stderr, "%s\n", why);
		return EXIT_NO_DAEMON;
	}
	if (ret)
		fatal("%s", why);
	if (opt.json)
		json_state(&st, stopped, now_ns());
	else
		text_state(&st, stopped, now_ns());
	return 0;
}
