/* SPDX-License-Identifier: GPL-2.0 */
/*
 * persohubctl's parts: persohubctl.c (command table, options, usage),
 * ctl_nl.c (requests and their errors), ctl_output.c (text tables and
 * JSON), and one file per command family: ctl_ports.c (status, set,
 * user-server, attach, detach), ctl_stats.c, ctl_monitor.c, ctl_top.c,
 * ctl_plan.c, ctl_daemon.c (what persohubd decides, from its state file),
 * ctl_classes.c.
 */
#ifndef PERSOHUBCTL_H
#define PERSOHUBCTL_H

#include <getopt.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <netlink/attr.h>
#include <netlink/msg.h>
#include <netlink/netlink.h>

#include "phnl.h"

#define EXIT_RUNTIME	1
#define EXIT_USAGE	2
#define EXIT_NO_DAEMON	3	/* daemon: persohubd is not running */

#define ARRAY_SIZE(a)	(sizeof(a) / sizeof((a)[0]))
#define NAME_MAX_LEN	64	/* port names are at most 31 bytes */
#define HIST_MAX	64	/* histogram buckets we read */
#define CELL		160	/* one cell of a text table: 64 bytes in hex fit */

/* Options of every command (persohubctl.c). */
extern struct ctl_opts {
	bool json;
	bool pretty;
	bool numeric;
} opt;

/* persohubctl.c: errors and arguments */
void __attribute__((noreturn, format(printf, 1, 2)))
usage_error(const char *fmt, ...);
void __attribute__((noreturn, format(printf, 1, 2)))
fatal(const char *fmt, ...);
void *xrealloc(void *p, size_t n);
bool parse_u32(const char *s, uint32_t *v);
bool all_digits(const char *s);
/*
 * The options a command takes right after its name, before its operands:
 * -j, -p, -n, -h and those in @extra (given to @handle). Returns the index
 * of the first operand, or -1 for -h.
 */
int cmd_options(int argc, char **argv, const struct option *extra,
		void (*handle)(int c, const char *arg, void *data), void *data);
/* Signals end monitor and top cleanly: read through a signalfd. */
int signals_fd(void);

/* ctl_nl.c: netlink through libnl-genl */

/* A socket of the family: commands, or events (ctl_subscribe()). */
struct ctl_sock {
	struct nl_sock *sk;
	int family;
	bool events;
	char errmsg[256];	/* extack message of the last error */
	int erroff;		/* offset of the attribute it names, or 0 */
};

/* Attributes of one message, indexed by enum persohub_attr. */
struct ctl_attrs {
	struct nlattr *a[PERSOHUB_A_MAX + 1];
	uint8_t cmd;
};

typedef int (*ctl_cb)(const struct ctl_attrs *at, void *data);

static inline uint32_t ctl_u32(const struct ctl_attrs *at, int type,
			       uint32_t def)
{
	return at->a[type] ? nla_get_u32(at->a[type]) : def;
}

static inline uint8_t ctl_u8(const struct ctl_attrs *at, int type,
			     uint8_t def)
{
	return at->a[type] ? nla_get_u8(at->a[type]) : def;
}

static inline uint64_t ctl_u64(const struct ctl_attrs *at, int type,
			       uint64_t def)
{
	return at->a[type] ? nla_get_u64(at->a[type]) : def;
}

static inline const char *ctl_str(const struct ctl_attrs *at, int type)
{
	return at->a[type] ? nla_get_string(at->a[type]) : "";
}

/*
 * What the user wrote for each attribute of a request, so that an error the
 * kernel pins on an attribute (extack offset) is shown against the user's
 * own words: "Error: baud=10: integer out of range (...)".
 */
struct argmap {
	const char *tok[PERSOHUB_A_MAX + 1];
};

/* Open a socket and resolve the family; exits if it cannot. */
void ctl_open(struct ctl_sock *s);
void ctl_close(struct ctl_sock *s);
/* The command socket, opened once the arguments are known to be good. */
struct ctl_sock *nl(void);
/* The same, or NULL if the persohub module is not loaded. */
struct ctl_sock *nl_if_loaded(void);
/* A request of @cmd (NLM_F_DUMP in @flags for a dump). */
struct nl_msg *ctl_msg(struct ctl_sock *s, uint8_t cmd, int flags);
/*
 * Send @msg (and free it), calling @cb for each reply; 0, or -1 after
 * reporting the kernel's refusal.
 */
int talk(struct ctl_sock *s, struct nl_msg *msg, ctl_cb cb, void *data,
	 const struct argmap *am);
/* Select PORT: all digits is an id, anything else a name. */
void put_port(struct nl_msg *msg, const char *arg, struct argmap *am);
/*
 * Parse a message against the family's policy: 0, or -EINVAL if any
 * attribute is malformed (then @at holds nothing).
 */
int ctl_parse(struct nlmsghdr *nlh, struct ctl_attrs *at);
/* Join the multicast @group of the family: 0 or a libnl error. */
int ctl_subscribe(struct ctl_sock *s, const char *group);
/*
 * Read the events queued on @s without blocking, calling @cb for each until
 * it returns < 0: the number read, or -ENOBUFS if events were lost.
 */
int ctl_drain(struct ctl_sock *s, ctl_cb cb, void *data);

/* ctl_output.c: names, JSON, text tables, units */

/* The name of @v in @names, or the number itself. */
const char *enum_name(const char *const *names, size_t n, uint32_t v);
#define NAME_OF(tbl, v)	enum_name(tbl, ARRAY_SIZE(tbl), v)

/* JSON goes to @f (stdout). */
void jw_init(FILE *f);
void jw_open(const char *key, char c);
void jw_close(char c);
#define jw_obj(key)	jw_open(key, '{')
#define jw_obj_end()	jw_close('}')
#define jw_arr(key)	jw_open(key, '[')
#define jw_arr_end()	jw_close(']')
void jw_str(const char *key, const char *val);
void jw_u64(const char *key, uint64_t v);
void jw_bool(const char *key, bool v);
void jw_null(const char *key);
/* A number already formatted (e.g. a timestamp with its decimals). */
void jw_num(const char *key, const char *num);

/* Text tables: cells padded to their column's width */
struct table {
	unsigned int ncols, nrows;
	const char *align;		/* 'l' or 'r' per column */
	char (*cell)[CELL];
};

void table_row(struct table *t);
void __attribute__((format(printf, 3, 4)))
table_set(struct table *t, unsigned int col, const char *fmt, ...);
/* Print rows, columns one space apart; @aligned false: no padding. */
void table_print(const struct table *t, const char *indent, bool aligned);
void table_free(struct table *t);

/* Durations: three significant digits and a unit. */
const char *fmt_ns(double ns, char *buf, size_t len);
/* A CLOCK_MONOTONIC time in ns as "seconds.micros". */
const char *fmt_mono(uint64_t ns, char *buf, size_t len);
uint64_t now_ns(void);

/* ctl_ports.c: ports */

struct port {
	uint32_t id;
	char name[NAME_MAX_LEN];
	char card[NAME_MAX_LEN];
	char tty[NAME_MAX_LEN];
	char backend[8];
	uint32_t role, state, queue, queue_depth, index;
	uint32_t baud, data_bits, parity, stop_bits;
	uint32_t timeout_ms, max_payload;
	uint32_t framing, gap_chars, error_len;
	bool lrc;
	bool enabled;			/* the administrator's (servers) */
	uint8_t error_frame[64];
	bool user;
	bool seen;			/* in the last PORT_GET answer */
	bool has_stats;
	uint64_t stats[PERSOHUB_STAT_MAX + 1];
	/* persohubd's view (status, while the daemon runs) */
	bool dview;
	uint32_t weight;		/* servers */
	char pin[NAME_MAX_LEN];		/* stations: their only server */
};

struct portlist {
	struct port *v;
	size_t n;
};

struct port *port_find(const struct portlist *l, uint32_t id);
struct port *port_get(struct portlist *l, uint32_t id);
void portlist_free(struct portlist *l);
/* Fill @p from a PORT_GET answer or a PORT_CHANGED event. */
void port_parse(const struct ctl_attrs *at, struct port *p);
int port_cb(const struct ctl_attrs *at, void *data);
/* PORT_GET (or STATS_GET) of @port, or a dump without; 0 or -1. */
int get_ports(struct ctl_sock *h, uint8_t cmd, const char *port,
	      struct portlist *l);
const char *port_state(const struct port *p);

/* The columns of "status" (and of port-changed events). */
#define STATUS_COLS	13
extern const char status_align[STATUS_COLS + 1];
void status_row(struct table *t, const struct port *p);
void port_json(const char *key, const struct port *p);

/* ctl_stats.c: the hub and its dispatch latency histogram */

struct hub {
	uint32_t waiting;
	bool ctrl;
	uint64_t next_id;
	uint64_t hist[HIST_MAX];
	unsigned int nb;		/* buckets the kernel sent */
};

int get_hub(struct ctl_sock *h, struct hub *hub);
uint64_t hist_total(const uint64_t *hist, unsigned int nb);
/*
 * The @p quantile (0..1), interpolated linearly inside its bucket; the
 * open last bucket gives its lower bound. -1 without samples.
 */
double hist_quantile(const uint64_t *hist, unsigned int nb, double p);
/* "p50 6.1us p90 15us p99 31us", or "-" without samples. */
const char *fmt_quantiles(const uint64_t *hist, unsigned int nb, char *buf,
			  size_t len);
/* A PERSOHUB_A_HIST nest into @hist, @nb raised to the buckets sent. */
void hist_parse(const struct nlattr *nest, uint64_t *hist, unsigned int *nb);
/* -j: @key: {count, p50_ns, p90_ns, p99_ns, buckets: [{lo_ns, hi_ns, count}]} */
void hist_json(const char *key, const uint64_t *hist, unsigned int nb);

/* ctl_classes.c: the request classes (classes, stats, top, plan) */

#define CLASSES		(PERSOHUB_CLASS_MAX + 1)

struct class_info {
	bool seen;			/* in the CLASS_GET answer */
	uint32_t max_wait_ms;
	uint64_t stat[PERSOHUB_CLASS_STAT_MAX + 1];
	uint64_t hist[HIST_MAX];	/* its waits, arrival to dispatch */
	unsigned int nb;
	uint32_t servers;		/* servers that serve it */
	uint32_t stations;		/* stations whose class it is */
	bool ruled;			/* a classifier rule names it */
	/* its pool's plan: requests/s, service time (s), servers needed */
	double lambda, svc;
	unsigned int needed;
};

/* The classes, and each enabled server's classes. */
struct classes_view {
	struct class_info c[CLASSES];
	struct {
		uint32_t id;
		uint64_t mask;
	} *srv;
	size_t nsrv;
};

/* Read every class (@one < 0) or class @one, and the ports; 0 or -1. */
int get_classes(struct ctl_sock *h, struct classes_view *v, int one);
void classes_free(struct classes_view *v);
/* Class 0, and any class with figures, a max wait, or ports of it. */
bool class_in_use(const struct class_info *c, unsigned int id);
/* Its own mean service time, dispatch to answer, in s; 0 if unmeasured. */
double class_service_s(const struct class_info *c);
/* Its mean wait, arrival to dispatch, in ns; -1 without a dispatch. */
double class_mean_wait_ns(const struct class_info *c);
/*
 * Each class's pool by Erlang C: its rate (@rate[k] requests/s when
 * @rate, else its share of @lambda by the requests it ended), its own
 * service time (@svc when > 0), wait over @bound s at most @p_over.
 */
void classes_plan(struct classes_view *v, double lambda, const double *rate,
		  double svc, double bound, double p_over);
/* Its figures, one a line under "class N:", or one JSON object. */
void class_stats_text(unsigned int id, const struct class_info *c);
void class_stats_json(unsigned int id, const struct class_info *c);

/* The commands: 0, an exit status, or -1 for -h. */
int cmd_status(int argc, char **argv);
int cmd_stats(int argc, char **argv);
int cmd_set(int argc, char **argv);
int cmd_user_server(int argc, char **argv);
int cmd_attach(int argc, char **argv);
int cmd_detach(int argc, char **argv);
int cmd_monitor(int argc, char **argv);
int cmd_top(int argc, char **argv);
int cmd_plan(int argc, char **argv);
int cmd_daemon(int argc, char **argv);

/* ctl_daemon.c: persohubd's state file */
struct state;
/*
 * Read @path into @st: 0 if persohubd (pid of the file) runs; -ENOENT
 * without the file, -ESRCH if its process is gone, -EINVAL if malformed,
 * with @why saying so. @stopped: the daemon is stopped (SIGSTOP).
 */
int daemon_load(struct state *st, const char *path, bool *stopped,
		char *why, size_t len);
int cmd_classes(int argc, char **argv);

#endif /* PERSOHUBCTL_H */
