// SPDX-License-Identifier: GPL-2.0
/*
 * persohubctl monitor: every event of the "events" group as it arrives.
 */
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "persohubctl.h"

#define MON_RCVBUF	(1024 * 1024)	/* as iproute2's monitor */

static const char *const result_names[] = {
	[PERSOHUB_RESULT_OK] = "ok",
	[PERSOHUB_RESULT_ERROR] = "error",
	[PERSOHUB_RESULT_REJECTED] = "rejected",
	[PERSOHUB_RESULT_DROPPED] = "dropped",
};

static const char *const reason_names[] = {
	[PERSOHUB_REASON_TIMEOUT] = "timeout",
	[PERSOHUB_REASON_ADMIN] = "admin",
	[PERSOHUB_REASON_GONE] = "gone",
};

/* monitor */

struct mon {
	struct ctl_sock *cmd;		/* names are asked here */
	struct portlist names;
	unsigned long events, count;	/* count: stop after (0: never) */
	bool done;
};

/* An event attribute: how to show it. */
enum ekind { EK_U32, EK_U64, EK_PORT, EK_RESULT, EK_REASON, EK_NS, EK_TIME,
	     EK_ATTACHED };

static const struct {
	int attr;
	const char *key;
	enum ekind kind;
} ev_attrs[] = {
	{ PERSOHUB_A_REQ_ID, "req", EK_U64 },
	{ PERSOHUB_A_PORT_ID, "station", EK_PORT },
	{ PERSOHUB_A_SERVER_ID, "server", EK_PORT },
	{ PERSOHUB_A_REQ_LEN, "len", EK_U32 },
	{ PERSOHUB_A_RESULT, "result", EK_RESULT },
	{ PERSOHUB_A_REASON, "reason", EK_REASON },
	{ PERSOHUB_A_LATENCY_NS, "latency", EK_NS },
	{ PERSOHUB_A_REQ_RX_NS, "rx", EK_TIME },
	{ PERSOHUB_A_CTRL_ATTACHED, "controller", EK_ATTACHED },
	{ PERSOHUB_A_REQ_WAIT_NS, "wait", EK_NS },
	{ PERSOHUB_A_REQ_CLASS, "class", EK_U32 },
	{ PERSOHUB_A_REQ_PRIORITY, "priority", EK_U32 },
};

static const char *mon_port_name(const struct mon *m, uint32_t id)
{
	const struct port *p = port_find(&m->names, id);

	return p && p->seen ? p->name : NULL;
}

static void mon_text(struct mon *m, const struct ctl_attrs *at)
{
	struct table t = { .ncols = STATUS_COLS, .align = status_align };
	const struct nlattr *a;
	const char *name;
	char v[32];
	size_t i;

	if (at->cmd == PERSOHUB_CMD_PORT_CHANGED) {
		struct port p = { 0 };

		port_parse(at, &p);
		p.id = ctl_u32(at, PERSOHUB_A_PORT_ID, 0);
		status_row(&t, &p);
		table_print(&t, " ", false);
		table_free(&t);
		return;
	}
	for (i = 0; i < ARRAY_SIZE(ev_attrs); i++) {
		a = at->a[ev_attrs[i].attr];
		if (!a)
			continue;
		printf(" %s ", ev_attrs[i].key);
		switch (ev_attrs[i].kind) {
		case EK_U32:
			printf("%" PRIu32, nla_get_u32(a));
			break;
		case EK_U64:
			printf("%" PRIu64, nla_get_u64(a));
			break;
		case EK_PORT:
			name = mon_port_name(m, nla_get_u32(a));
			if (name && !opt.numeric)
				fputs(name, stdout);
			else
				printf("%" PRIu32, nla_get_u32(a));
			break;
		case EK_RESULT:
			fputs(NAME_OF(result_names, nla_get_u32(a)),
			      stdout);
			break;
		case EK_REASON:
			fputs(NAME_OF(reason_names, nla_get_u32(a)),
			      stdout);
			break;
		case EK_NS:
			fputs(fmt_ns(nla_get_u64(a), v, sizeof(v)),
			      stdout);
			break;
		case EK_TIME:
			fputs(fmt_mono(nla_get_u64(a), v, sizeof(v)),
			      stdout);
			break;
		case EK_ATTACHED:
			fputs(nla_get_u8(a) ? "attached" : "detached",
			      stdout);
			break;
		}
	}
	fputc('\n', stdout);
}

static void mon_json(struct mon *m, const struct ctl_attrs *at)
{
	const struct nlattr *a;
	char key[32];
	uint32_t id;
	size_t i;

	if (at->cmd == PERSOHUB_CMD_PORT_CHANGED) {
		struct port p = { 0 };

		port_parse(at, &p);
		p.id = ctl_u32(at, PERSOHUB_A_PORT_ID, 0);
		port_json("port", &p);
		return;
	}
	for (i = 0; i < ARRAY_SIZE(ev_attrs); i++) {
		a = at->a[ev_attrs[i].attr];
		if (!a)
			continue;
		switch (ev_attrs[i].kind) {
		case EK_U32:
			jw_u64(ev_attrs[i].key, nla_get_u32(a));
			break;
		case EK_U64:
			jw_u64(ev_attrs[i].key, nla_get_u64(a));
			break;
		case EK_PORT:
			id = nla_get_u32(a);
			snprintf(key, sizeof(key), "%s_id", ev_attrs[i].key);
			jw_u64(key, id);
			jw_str(ev_attrs[i].key, mon_port_name(m, id));
			break;
		case EK_RESULT:
			jw_str(ev_attrs[i].key,
			       NAME_OF(result_names, nla_get_u32(a)));
			break;
		case EK_REASON:
			jw_str(ev_attrs[i].key,
			       NAME_OF(reason_names, nla_get_u32(a)));
			break;
		case EK_NS:
		case EK_TIME:
			snprintf(key, sizeof(key), "%s_ns", ev_attrs[i].key);
			jw_u64(key, nla_get_u64(a));
			break;
		case EK_ATTACHED:
			jw_bool(ev_attrs[i].key, nla_get_u8(a));
			break;
		}
	}
}

static void mon_begin(const char *event)
{
	char ts[32];

	fmt_mono(now_ns(), ts, sizeof(ts));
	if (opt.json) {
		jw_obj(NULL);
		jw_num("time", ts);
		jw_str("event", event);
	} else {
		printf("[%13s] %s", ts, event);
	}
}

static void mon_end(void)
{
	if (opt.json)
		jw_obj_end();
}

static int mon_cb(const struct ctl_attrs *at, void *data)
{
	struct mon *m = data;
	char cmd[16];
	const char *name = cmd;

	if (m->done)
		return -1;
	if (at->cmd <= PERSOHUB_CMD_MAX && phnl_cmd_names[at->cmd])
		name = phnl_cmd_names[at->cmd];
	else
		snprintf(cmd, sizeof(cmd), "cmd-%u", at->cmd);
	/* Keep the names current: a port was renamed or a server added. */
	if (at->cmd == PERSOHUB_CMD_PORT_CHANGED && at->a[PERSOHUB_A_PORT_ID])
		port_cb(at, &m->names);
	mon_begin(name);
	if (opt.json)
		mon_json(m, at);
	else
		mon_text(m, at);
	mon_end();
	if (m->count && ++m->events >= m->count) {
		m->done = true;
		return -1;
	}
	return 0;
}

static void mon_lost(struct mon *m)
{
	mon_begin("lost");
	if (opt.json)
		jw_str("error", "ENOBUFS");
	else
		fputs(" events: the receive buffer was full (ENOBUFS)\n", stdout);
	mon_end();
	/* Names may have changed meanwhile: read them again. */
	if (get_ports(m->cmd, PERSOHUB_CMD_PORT_GET, NULL, &m->names))
		exit(EXIT_RUNTIME);
}

struct mon_opts {
	unsigned long count;
	int rcvbuf;
};

static void mon_opt(int c, const char *arg, void *data)
{
	struct mon_opts *o = data;
	uint32_t v;

	if (!parse_u32(arg, &v))
		usage_error("monitor: --%s needs a number, not '%s'",
			    c == 'c' ? "count" : "rcvbuf", arg);
	if (c == 'c')
		o->count = v;
	else if (v > INT_MAX)
		usage_error("monitor: --rcvbuf too large");
	else
		o->rcvbuf = v;
}

int cmd_monitor(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "count", required_argument, NULL, 'c' },
		{ "rcvbuf", required_argument, NULL, 'r' },
		{ NULL, 0, NULL, 0 },
	};
	struct mon_opts o = { .rcvbuf = MON_RCVBUF };
	struct mon m = { 0 };
	struct pollfd pfd[2];
	struct ctl_sock ev;
	int i, ret;

	i = cmd_options(argc, argv, longopts, mon_opt, &o);
	if (i < 0)
		return -1;
	if (i < argc)
		usage_error("monitor: unexpected '%s'", argv[i]);
	m.cmd = nl();
	m.count = o.count;
	opt.pretty = false;	/* one event, one line */
	setvbuf(stdout, NULL, _IOLBF, 0);

	/* Events come on a socket of their own; h answers name lookups. */
	ctl_open(&ev);
	if (setsockopt(nl_socket_get_fd(ev.sk), SOL_SOCKET, SO_RCVBUF, &o.rcvbuf,
		       sizeof(o.rcvbuf)))
		fatal("SO_RCVBUF: %s", strerror(errno));
	ret = ctl_subscribe(&ev, PERSOHUB_MCGRP_EVENTS);
	if (ret)
		fatal("cannot join the \"%s\" group: %s",
		      PERSOHUB_MCGRP_EVENTS, nl_geterror(ret));
	if (get_ports(m.cmd, PERSOHUB_CMD_PORT_GET, NULL, &m.names))
		return EXIT_RUNTIME;

	pfd[0].fd = nl_socket_get_fd(ev.sk);
	pfd[0].events = POLLIN;
	pfd[1].fd = signals_fd();
	pfd[1].events = POLLIN;
	while (!m.done) {
		if (poll(pfd, 2, -1) < 0) {
			if (errno == EINTR)
				continue;
			fatal("poll: %s", strerror(errno));
		}
		if (pfd[1].revents)
			break;
		if (!pfd[0].revents)
			continue;
		ret = ctl_drain(&ev, mon_cb, &m);
		if (m.done)
			break;
		if (ret == -ENOBUFS)
			mon_lost(&m);
	}
	fflush(stdout);
	close(pfd[1].fd);
	ctl_close(&ev);
	portlist_free(&m.names);
	return 0;
}
