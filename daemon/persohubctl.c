// SPDX-License-Identifier: GPL-2.0
/*
 * persohubctl: the site administrator's tool for persohub, in the manner of
 * ip(8). It reads and changes ports and userspace servers, shows counters
 * and the hub's dispatch latency, follows events and gives a live view, all
 * over the "persohub" generic netlink family (uapi/linux/persohub.h).
 *
 * Output is driven by tables (port fields, counter rows, set keys, event
 * attributes) and printed through one column formatter; -j goes through a
 * small JSON emitter instead. Exit status: 0 ok, 1 the kernel refused or a
 * runtime error, 2 usage.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <limits.h>
#include <math.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <linux/genetlink.h>

#include "phnl.h"
#include "plan.h"

#define EXIT_RUNTIME	1
#define EXIT_USAGE	2

#define ARRAY_SIZE(a)	(sizeof(a) / sizeof((a)[0]))
#define MSG_BUF		MNL_SOCKET_BUFFER_SIZE
#define NAME_MAX_LEN	64	/* port names are at most 31 bytes */
#define HIST_MAX	64	/* histogram buckets we read */
#define CELL		160	/* one cell of a text table: 64 bytes in hex fit */
#define MON_RCVBUF	(1024 * 1024)	/* as iproute2's monitor */

static const char *prog = "persohubctl";

static struct {
	bool json;
	bool pretty;
	bool numeric;
} opt;

/* Names the kernel's numbers stand for (roles and states are in phnl). */
static const char *const parity_names[] = {
	[PERSOHUB_PARITY_NONE] = "none",
	[PERSOHUB_PARITY_ODD] = "odd",
	[PERSOHUB_PARITY_EVEN] = "even",
	[PERSOHUB_PARITY_MARK] = "mark",
	[PERSOHUB_PARITY_SPACE] = "space",
};

static const char parity_letters[] = "NOEMS";

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

/* Only these two states are set; busy is the kernel's to give. */
static const char *const set_state_names[] = {
	[PERSOHUB_STATE_IDLE] = "idle",
	[PERSOHUB_STATE_FAILED] = "failed",
};

/* The name of @v in @names, or the number itself. */
static const char *enum_name(const char *const *names, size_t n, uint32_t v)
{
	static char bufs[4][16];
	static unsigned int k;
	char *b;

	if (v < n && names[v])
		return names[v];
	b = bufs[k++ % ARRAY_SIZE(bufs)];
	snprintf(b, sizeof(bufs[0]), "%" PRIu32, v);
	return b;
}

#define NAME_OF(tbl, v)	enum_name(tbl, ARRAY_SIZE(tbl), v)

/* Errors */

static void usage_short(void)
{
	fprintf(stderr, "Try '%s --help'.\n", prog);
}

static void __attribute__((noreturn, format(printf, 1, 2)))
usage_error(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "%s: ", prog);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	usage_short();
	exit(EXIT_USAGE);
}

static void __attribute__((noreturn, format(printf, 1, 2)))
fatal(const char *fmt, ...)
{
	va_list ap;

	fputs("Error: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(EXIT_RUNTIME);
}

static void *xrealloc(void *p, size_t n)
{
	p = realloc(p, n);
	if (!p)
		fatal("out of memory");
	return p;
}

/*
 * What the user wrote for each attribute of a request, so that an error the
 * kernel pins on an attribute (extack offset) is shown against the user's
 * own words: "Error: baud=10: integer out of range (...)".
 */
struct argmap {
	const char *tok[PERSOHUB_A_MAX + 1];
};

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
static int talk(struct phnl *h, struct nlmsghdr *nlh, phnl_cb cb, void *data,
		const struct argmap *am)
{
	int ret = phnl_talk(h, nlh, cb, data);

	if (!ret)
		return 0;
	nl_report(h, ret, nlh, am);
	return -1;
}

static void nl_open(struct phnl *h)
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
static struct phnl *nl(void)
{
	static struct phnl h;
	static bool open;

	if (!open)
		nl_open(&h);
	open = true;
	return &h;
}

/* Arguments */

static bool parse_u32(const char *s, uint32_t *v)
{
	unsigned long long x;
	char *end;

	if (*s < '0' || *s > '9')
		return false;
	errno = 0;
	x = strtoull(s, &end, 10);
	if (errno || *end || x > UINT32_MAX)
		return false;
	*v = x;
	return true;
}

static bool all_digits(const char *s)
{
	if (!*s)
		return false;
	for (; *s; s++)
		if (*s < '0' || *s > '9')
			return false;
	return true;
}

/* Select PORT: all digits is an id, anything else a name. */
static void put_port(struct nlmsghdr *nlh, const char *arg, struct argmap *am)
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

/*
 * The options a command takes right after its name, before its operands:
 * -j, -p, -n, -h and those in @extra (given to @handle). Returns the index
 * of the first operand, or -1 for -h.
 */
static int cmd_options(int argc, char **argv, const struct option *extra,
		       void (*handle)(int c, const char *arg, void *data),
		       void *data)
{
	struct option longopts[16] = {
		{ "json", no_argument, NULL, 'j' },
		{ "pretty", no_argument, NULL, 'p' },
		{ "numeric", no_argument, NULL, 'n' },
		{ "help", no_argument, NULL, 'h' },
	};
	size_t n = 4;
	int c;

	for (; extra && extra->name && n + 1 < ARRAY_SIZE(longopts); extra++)
		longopts[n++] = *extra;
	optind = 0;		/* a new argument vector: start afresh */
	opterr = 0;
	/* "+": operands end the options (a name may start with '-'). */
	while ((c = getopt_long(argc, argv, "+:jpnh", longopts, NULL)) != -1) {
		switch (c) {
		case 'j':
			opt.json = true;
			break;
		case 'p':
			opt.pretty = opt.json = true;
			break;
		case 'n':
			opt.numeric = true;
			break;
		case 'h':
			return -1;
		case '?':
			usage_error("%s: unknown option '%s'", argv[0],
				    argv[optind - 1]);
		case ':':
			usage_error("%s: option '%s' needs a value", argv[0],
				    argv[optind - 1]);
		default:
			if (!handle)
				usage_error("%s: bad option", argv[0]);
			handle(c, optarg, data);
		}
	}
	return optind;
}

/* JSON: a tiny streaming emitter */

static struct {
	FILE *f;
	int depth;
	bool more[16];		/* an element was written at this depth */
} jw;

static void jw_newline(void)
{
	int i;

	if (!opt.pretty)
		return;
	fputc('\n', jw.f);
	for (i = 0; i < jw.depth; i++)
		fputs("  ", jw.f);
}

/* Length of the valid UTF-8 sequence at @s, 0 if it is not one. */
static size_t utf8_seq(const unsigned char *s)
{
	size_t n, i;

	if (s[0] >= 0xc2 && s[0] <= 0xdf)
		n = 2;
	else if (s[0] >= 0xe0 && s[0] <= 0xef)
		n = 3;
	else if (s[0] >= 0xf0 && s[0] <= 0xf4)
		n = 4;
	else
		return 0;
	for (i = 1; i < n; i++)
		if ((s[i] & 0xc0) != 0x80)
			return 0;
	if ((s[0] == 0xe0 && s[1] < 0xa0) || (s[0] == 0xed && s[1] > 0x9f) ||
	    (s[0] == 0xf0 && s[1] < 0x90) || (s[0] == 0xf4 && s[1] > 0x8f))
		return 0;	/* overlong, surrogate, beyond U+10FFFF */
	return n;
}

static void jw_quote(const char *str)
{
	const unsigned char *s = (const unsigned char *)str;
	size_t n;

	fputc('"', jw.f);
	while (*s) {
		switch (*s) {
		case '"':
			fputs("\\\"", jw.f);
			break;
		case '\\':
			fputs("\\\\", jw.f);
			break;
		case '\b':
			fputs("\\b", jw.f);
			break;
		case '\f':
			fputs("\\f", jw.f);
			break;
		case '\n':
			fputs("\\n", jw.f);
			break;
		case '\r':
			fputs("\\r", jw.f);
			break;
		case '\t':
			fputs("\\t", jw.f);
			break;
		default:
			n = *s < 0x80 ? 0 : utf8_seq(s);
			if (*s < 0x20 || *s == 0x7f) {
				fprintf(jw.f, "\\u%04x", *s);
			} else if (*s < 0x80) {
				fputc(*s, jw.f);
			} else if (n) {
				fwrite(s, 1, n, jw.f);
				s += n;
				continue;
			} else {
				fputs("\\ufffd", jw.f);	/* not UTF-8 */
			}
		}
		s++;
	}
	fputc('"', jw.f);
}

/* Start a value: the comma, the indentation and the key (NULL in arrays). */
static void jw_key(const char *key)
{
	if (jw.depth) {
		if (jw.more[jw.depth])
			fputc(',', jw.f);
		jw.more[jw.depth] = true;
		jw_newline();
	}
	if (key) {
		jw_quote(key);
		fputs(opt.pretty ? ": " : ":", jw.f);
	}
}

static void jw_open(const char *key, char c)
{
	jw_key(key);
	fputc(c, jw.f);
	if (jw.depth + 1 < (int)ARRAY_SIZE(jw.more))
		jw.depth++;
	jw.more[jw.depth] = false;
}

static void jw_close(char c)
{
	bool any = jw.more[jw.depth];

	jw.depth--;
	if (any)
		jw_newline();
	fputc(c, jw.f);
	if (!jw.depth)
		fputc('\n', jw.f);
}

#define jw_obj(key)	jw_open(key, '{')
#define jw_obj_end()	jw_close('}')
#define jw_arr(key)	jw_open(key, '[')
#define jw_arr_end()	jw_close(']')

static void jw_str(const char *key, const char *val)
{
	jw_key(key);
	if (val)
		jw_quote(val);
	else
		fputs("null", jw.f);
}

static void jw_u64(const char *key, uint64_t v)
{
	jw_key(key);
	fprintf(jw.f, "%" PRIu64, v);
}

static void jw_bool(const char *key, bool v)
{
	jw_key(key);
	fputs(v ? "true" : "false", jw.f);
}

static void jw_null(const char *key)
{
	jw_key(key);
	fputs("null", jw.f);
}

/* A number already formatted (e.g. a timestamp with its decimals). */
static void jw_num(const char *key, const char *num)
{
	jw_key(key);
	fputs(num, jw.f);
}

/* Text tables: cells padded to their column's width */

struct table {
	unsigned int ncols, nrows;
	const char *align;		/* 'l' or 'r' per column */
	char (*cell)[CELL];
};

static void table_row(struct table *t)
{
	t->cell = xrealloc(t->cell, sizeof(*t->cell) * t->ncols *
			   (t->nrows + 1));
	memset(t->cell[t->nrows * t->ncols], 0, sizeof(*t->cell) * t->ncols);
	t->nrows++;
}

static void __attribute__((format(printf, 3, 4)))
table_set(struct table *t, unsigned int col, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(t->cell[(t->nrows - 1) * t->ncols + col], CELL, fmt, ap);
	va_end(ap);
}

/* Print rows, columns one space apart; @aligned false: no padding. */
static void table_print(const struct table *t, const char *indent,
			bool aligned)
{
	unsigned int w[64] = { 0 }, r, c, last, len;
	const char *s;

	for (r = 0; r < t->nrows; r++)
		for (c = 0; c < t->ncols && c < ARRAY_SIZE(w); c++) {
			len = strlen(t->cell[r * t->ncols + c]);
			if (len > w[c])
				w[c] = len;
		}
	for (r = 0; r < t->nrows; r++) {
		last = 0;
		for (c = 0; c < t->ncols; c++)
			if (t->cell[r * t->ncols + c][0])
				last = c;
		fputs(indent, stdout);
		for (c = 0; c <= last; c++) {
			s = t->cell[r * t->ncols + c];
			if (aligned && c < ARRAY_SIZE(w) && !w[c])
				continue;	/* empty in every row */
			if (!aligned) {
				if (*s)
					printf("%s%s", s, c < last ? " " : "");
				continue;
			}
			if (t->align[c] == 'r')
				printf("%*s", (int)w[c], s);
			else if (c < last)
				printf("%-*s", (int)w[c], s);
			else
				fputs(s, stdout);
			if (c < last)
				fputc(' ', stdout);
		}
		fputc('\n', stdout);
	}
}

static void table_free(struct table *t)
{
	free(t->cell);
	t->cell = NULL;
	t->nrows = 0;
}

/* Durations: three significant digits and a unit. */
static const char *fmt_ns(double ns, char *buf, size_t len)
{
	static const struct {
		double div;
		const char *unit;
	} u[] = { { 1, "ns" }, { 1e3, "us" }, { 1e6, "ms" }, { 1e9, "s" } };
	size_t i = 0;

	while (i + 1 < ARRAY_SIZE(u) && ns / u[i].div >= 999.5)
		i++;
	if (ns / u[i].div >= 999.5)
		snprintf(buf, len, "%.0f%s", ns / u[i].div, u[i].unit);
	else
		snprintf(buf, len, "%.3g%s", ns / u[i].div, u[i].unit);
	return buf;
}

/* A CLOCK_MONOTONIC time in ns as "seconds.micros". */
static const char *fmt_mono(uint64_t ns, char *buf, size_t len)
{
	snprintf(buf, len, "%" PRIu64 ".%06" PRIu64, ns / 1000000000,
		 ns % 1000000000 / 1000);
	return buf;
}

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* Ports */

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
	uint8_t error_frame[64];
	bool user;
	bool seen;			/* in the last PORT_GET answer */
	bool has_stats;
	uint64_t stats[PERSOHUB_STAT_MAX + 1];
};

struct portlist {
	struct port *v;
	size_t n;
};

static struct port *port_find(const struct portlist *l, uint32_t id)
{
	size_t i;

	for (i = 0; i < l->n; i++)
		if (l->v[i].id == id)
			return &l->v[i];
	return NULL;
}

static struct port *port_get(struct portlist *l, uint32_t id)
{
	struct port *p = port_find(l, id);

	if (p)
		return p;
	l->v = xrealloc(l->v, sizeof(*l->v) * (l->n + 1));
	p = &l->v[l->n++];
	memset(p, 0, sizeof(*p));
	p->id = id;
	snprintf(p->name, sizeof(p->name), "%" PRIu32, id);
	return p;
}

static int port_cmp(const void *a, const void *b)
{
	const struct port *x = a, *y = b;

	return x->id < y->id ? -1 : x->id > y->id;
}

static void portlist_free(struct portlist *l)
{
	free(l->v);
	l->v = NULL;
	l->n = 0;
}

/* The u32 attributes of a port and where they go. */
static const struct {
	int attr;
	size_t off;
} port_u32_attrs[] = {
	{ PERSOHUB_A_PORT_ROLE, offsetof(struct port, role) },
	{ PERSOHUB_A_PORT_STATE, offsetof(struct port, state) },
	{ PERSOHUB_A_PORT_QUEUE, offsetof(struct port, queue) },
	{ PERSOHUB_A_PORT_QUEUE_DEPTH, offsetof(struct port, queue_depth) },
	{ PERSOHUB_A_PORT_INDEX, offsetof(struct port, index) },
	{ PERSOHUB_A_PORT_BAUD, offsetof(struct port, baud) },
	{ PERSOHUB_A_PORT_DATA_BITS, offsetof(struct port, data_bits) },
	{ PERSOHUB_A_PORT_PARITY, offsetof(struct port, parity) },
	{ PERSOHUB_A_PORT_STOP_BITS, offsetof(struct port, stop_bits) },
	{ PERSOHUB_A_PORT_TIMEOUT_MS, offsetof(struct port, timeout_ms) },
	{ PERSOHUB_A_PORT_MAX_PAYLOAD, offsetof(struct port, max_payload) },
	{ PERSOHUB_A_PORT_FRAMING, offsetof(struct port, framing) },
	{ PERSOHUB_A_PORT_GAP_CHARS, offsetof(struct port, gap_chars) },
};

/* Fill @p from a PORT_GET answer or a PORT_CHANGED event. */
static void port_parse(const struct phnl_attrs *at, struct port *p)
{
	const struct nlattr *ef = at->a[PERSOHUB_A_PORT_ERROR_FRAME];
	size_t i;

	for (i = 0; i < ARRAY_SIZE(port_u32_attrs); i++)
		*(uint32_t *)((char *)p + port_u32_attrs[i].off) =
			phnl_u32(at, port_u32_attrs[i].attr, 0);
	if (at->a[PERSOHUB_A_PORT_NAME])
		snprintf(p->name, sizeof(p->name), "%s",
			 phnl_str(at, PERSOHUB_A_PORT_NAME));
	snprintf(p->card, sizeof(p->card), "%s",
		 phnl_str(at, PERSOHUB_A_PORT_CARD));
	snprintf(p->tty, sizeof(p->tty), "%s",
		 phnl_str(at, PERSOHUB_A_PORT_TTY));
	snprintf(p->backend, sizeof(p->backend), "%s",
		 phnl_str(at, PERSOHUB_A_PORT_BACKEND));
	p->lrc = phnl_u8(at, PERSOHUB_A_PORT_LRC, 0);
	/* at most 64 bytes: phnl's policy checked it */
	p->error_len = ef ? mnl_attr_get_payload_len(ef) : 0;
	if (ef)
		memcpy(p->error_frame, mnl_attr_get_payload(ef), p->error_len);
	p->user = at->a[PERSOHUB_A_PORT_USER];
	p->seen = true;
}

/* A port's error_frame in hex, "" when empty. */
static const char *error_hex(const struct port *p)
{
	static char buf[2 * sizeof(p->error_frame) + 1];
	uint32_t i;

	buf[0] = '\0';
	for (i = 0; i < p->error_len && i < sizeof(p->error_frame); i++)
		sprintf(buf + 2 * i, "%02x", p->error_frame[i]);
	return buf;
}

/* Counters of a STATS_GET answer; unknown ones are skipped. */
static void stats_parse(const struct phnl_attrs *at, struct port *p)
{
	const struct nlattr *a;
	uint16_t type;

	if (!at->a[PERSOHUB_A_STATS])
		return;
	if (at->a[PERSOHUB_A_PORT_NAME])
		snprintf(p->name, sizeof(p->name), "%s",
			 phnl_str(at, PERSOHUB_A_PORT_NAME));
	mnl_attr_for_each_nested(a, at->a[PERSOHUB_A_STATS]) {
		type = mnl_attr_get_type(a);
		if (type >= 1 && type <= PERSOHUB_STAT_MAX &&
		    mnl_attr_get_payload_len(a) == sizeof(uint64_t))
			p->stats[type] = mnl_attr_get_u64(a);
	}
	p->has_stats = true;
}

static int port_cb(const struct phnl_attrs *at, void *data)
{
	struct portlist *l = data;

	if (!at->a[PERSOHUB_A_PORT_ID])
		return 0;
	port_parse(at, port_get(l, phnl_u32(at, PERSOHUB_A_PORT_ID, 0)));
	return 0;
}

static int stats_cb(const struct phnl_attrs *at, void *data)
{
	struct portlist *l = data;

	if (!at->a[PERSOHUB_A_PORT_ID])
		return 0;
	stats_parse(at, port_get(l, phnl_u32(at, PERSOHUB_A_PORT_ID, 0)));
	return 0;
}

/* PORT_GET (or STATS_GET) of @port, or a dump without; 0 or -1. */
static int get_ports(struct phnl *h, uint8_t cmd, const char *port,
		     struct portlist *l)
{
	char buf[MSG_BUF];
	struct argmap am = { 0 };
	struct nlmsghdr *nlh;
	size_t i;

	for (i = 0; cmd == PERSOHUB_CMD_PORT_GET && i < l->n; i++)
		l->v[i].seen = false;
	nlh = phnl_msg(h, buf, cmd, port ? 0 : NLM_F_DUMP);
	if (port)
		put_port(nlh, port, &am);
	if (talk(h, nlh, cmd == PERSOHUB_CMD_PORT_GET ? port_cb : stats_cb, l,
		 &am))
		return -1;
	qsort(l->v, l->n, sizeof(*l->v), port_cmp);
	return 0;
}

static const char *port_state(const struct port *p)
{
	if (p->role == PERSOHUB_ROLE_OFF)
		return "-";	/* as sysfs */
	return NAME_OF(phnl_state_names, p->state);
}

/* The columns of "status" (and of port-changed events). */
static const char status_align[] = "rlllllllllll";
#define STATUS_COLS	(sizeof(status_align) - 1)

static void status_row(struct table *t, const struct port *p)
{
	table_row(t);
	table_set(t, 0, "%" PRIu32 ":", p->id);
	table_set(t, 1, "%s:", p->name);
	table_set(t, 2, "%s", NAME_OF(phnl_role_names, p->role));
	table_set(t, 3, "%s", port_state(p));
	table_set(t, 4, "queue %" PRIu32 "/%" PRIu32, p->queue, p->queue_depth);
	if (p->user) {
		table_set(t, 5, "user");
	} else {
		if (p->tty[0])
			table_set(t, 5, "tty %s", p->tty);
		else
			table_set(t, 5, "card %s port %" PRIu32, p->card,
				  p->index);
		table_set(t, 6, "%" PRIu32 " %" PRIu32 "%c%" PRIu32, p->baud,
			  p->data_bits,
			  p->parity < sizeof(parity_letters) - 1 ?
			  parity_letters[p->parity] : '?', p->stop_bits);
	}
	table_set(t, 7, "timeout %" PRIu32 "ms", p->timeout_ms);
	table_set(t, 8, "max_payload %" PRIu32, p->max_payload);
	if (p->user)
		return;		/* a userspace server has no framing */
	table_set(t, 9, "framing %s%s", NAME_OF(phnl_framing_names, p->framing),
		  p->lrc ? " lrc" : "");
	table_set(t, 10, "gap_chars %" PRIu32, p->gap_chars);
	table_set(t, 11, "error_frame %s", p->error_len ? error_hex(p) : "-");
}

/* The keys of a port in JSON, in order; "serial" ones are null for users. */
enum pkind { PK_U32, PK_STR, PK_ROLE, PK_STATE, PK_PARITY, PK_BOOL,
	     PK_FRAMING, PK_HEX };

static const struct {
	const char *key;
	enum pkind kind;
	size_t off;
	bool serial;
} port_json_fields[] = {
	{ "id", PK_U32, offsetof(struct port, id), false },
	{ "name", PK_STR, offsetof(struct port, name), false },
	{ "backend", PK_STR, offsetof(struct port, backend), false },
	{ "role", PK_ROLE, offsetof(struct port, role), false },
	{ "state", PK_STATE, offsetof(struct port, state), false },
	{ "queue", PK_U32, offsetof(struct port, queue), false },
	{ "queue_depth", PK_U32, offsetof(struct port, queue_depth), false },
	{ "card", PK_STR, offsetof(struct port, card), true },
	{ "tty", PK_STR, offsetof(struct port, tty), true },
	{ "port", PK_U32, offsetof(struct port, index), true },
	{ "baud", PK_U32, offsetof(struct port, baud), true },
	{ "data_bits", PK_U32, offsetof(struct port, data_bits), true },
	{ "parity", PK_PARITY, offsetof(struct port, parity), true },
	{ "stop_bits", PK_U32, offsetof(struct port, stop_bits), true },
	{ "timeout_ms", PK_U32, offsetof(struct port, timeout_ms), false },
	{ "max_payload", PK_U32, offsetof(struct port, max_payload), false },
	{ "framing", PK_FRAMING, offsetof(struct port, framing), true },
	{ "lrc", PK_BOOL, offsetof(struct port, lrc), true },
	{ "gap_chars", PK_U32, offsetof(struct port, gap_chars), true },
	{ "error_frame", PK_HEX, offsetof(struct port, error_frame), true },
	{ "user", PK_BOOL, offsetof(struct port, user), false },
};

static void port_json(const char *key, const struct port *p)
{
	const char *base = (const char *)p;
	uint32_t v;
	size_t i;

	jw_obj(key);
	for (i = 0; i < ARRAY_SIZE(port_json_fields); i++) {
		const char *k = port_json_fields[i].key;
		const void *f = base + port_json_fields[i].off;

		if (port_json_fields[i].serial && p->user) {
			jw_null(k);
			continue;
		}
		memcpy(&v, f, sizeof(v));	/* not read for strings/bools */
		switch (port_json_fields[i].kind) {
		case PK_U32:
			jw_u64(k, v);
			break;
		case PK_STR:
			jw_str(k, f);
			break;
		case PK_ROLE:
			jw_str(k, NAME_OF(phnl_role_names, v));
			break;
		case PK_STATE:
			if (p->role == PERSOHUB_ROLE_OFF)
				jw_null(k);
			else
				jw_str(k, NAME_OF(phnl_state_names, v));
			break;
		case PK_PARITY:
			jw_str(k, NAME_OF(parity_names, v));
			break;
		case PK_BOOL:
			jw_bool(k, *(const bool *)f);
			break;
		case PK_FRAMING:
			jw_str(k, NAME_OF(phnl_framing_names, v));
			break;
		case PK_HEX:
			jw_str(k, error_hex(p));
			break;
		}
	}
	jw_obj_end();
}

/* The hub and its dispatch latency histogram */

struct hub {
	uint32_t waiting;
	bool ctrl;
	uint64_t next_id;
	uint64_t hist[HIST_MAX];
	unsigned int nb;		/* buckets the kernel sent */
};

static int hub_cb(const struct phnl_attrs *at, void *data)
{
	struct hub *hub = data;
	const struct nlattr *a;
	uint16_t type;

	memset(hub, 0, sizeof(*hub));
	hub->waiting = phnl_u32(at, PERSOHUB_A_HUB_WAITING, 0);
	hub->next_id = phnl_u64(at, PERSOHUB_A_HUB_NEXT_ID, 0);
	if (at->a[PERSOHUB_A_CTRL_ATTACHED])
		hub->ctrl = mnl_attr_get_u8(at->a[PERSOHUB_A_CTRL_ATTACHED]);
	if (!at->a[PERSOHUB_A_HIST])
		return 0;
	mnl_attr_for_each_nested(a, at->a[PERSOHUB_A_HIST]) {
		type = mnl_attr_get_type(a);
		/* Type i + 1 is bucket i; anything else (padding) skipped. */
		if (type < 1 || type > HIST_MAX ||
		    mnl_attr_get_payload_len(a) != sizeof(uint64_t))
			continue;
		hub->hist[type - 1] = mnl_attr_get_u64(a);
		if (type > hub->nb)
			hub->nb = type;
	}
	return 0;
}

static int get_hub(struct phnl *h, struct hub *hub)
{
	char buf[MSG_BUF];

	return talk(h, phnl_msg(h, buf, PERSOHUB_CMD_STATS_GET, 0), hub_cb,
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

static uint64_t hist_total(const uint64_t *hist, unsigned int nb)
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
static double hist_quantile(const uint64_t *hist, unsigned int nb, double p)
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
static const char *fmt_quantiles(const uint64_t *hist, unsigned int nb,
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

static void hub_json(const char *key, const struct hub *hub)
{
	uint64_t total = hist_total(hub->hist, hub->nb);
	unsigned int i;
	double hi;
	size_t k;

	jw_obj(key);
	jw_u64("waiting", hub->waiting);
	jw_bool("controller", hub->ctrl);
	jw_u64("next_id", hub->next_id);
	jw_obj("dispatch_latency");
	jw_u64("count", total);
	for (k = 0; k < ARRAY_SIZE(quantiles); k++) {
		char key_ns[16];

		snprintf(key_ns, sizeof(key_ns), "%s_ns", quantiles[k].key);
		if (total)
			jw_u64(key_ns, llround(hist_quantile(hub->hist, hub->nb,
							     quantiles[k].p)));
		else
			jw_null(key_ns);
	}
	jw_arr("buckets");
	for (i = 0; i < hub->nb; i++) {
		if (!hub->hist[i])
			continue;
		jw_obj(NULL);
		jw_u64("lo_ns", (uint64_t)bucket_lo(i));
		hi = bucket_hi(i, hub->nb);
		if (isinf(hi))
			jw_null("hi_ns");
		else
			jw_u64("hi_ns", (uint64_t)hi);
		jw_u64("count", hub->hist[i]);
		jw_obj_end();
	}
	jw_arr_end();
	jw_obj_end();
	jw_obj_end();
}

/* status */

static int cmd_status(int argc, char **argv)
{
	struct phnl *h;
	struct table t = { .ncols = STATUS_COLS, .align = status_align };
	struct portlist l = { 0 };
	int i = cmd_options(argc, argv, NULL, NULL, NULL);
	const char *port;
	size_t k;

	if (i < 0)
		return -1;
	if (argc - i > 1)
		usage_error("status: too many arguments");
	h = nl();
	port = argc > i ? argv[i] : NULL;
	if (get_ports(h, PERSOHUB_CMD_PORT_GET, port, &l))
		return EXIT_RUNTIME;
	if (opt.json) {
		jw_arr(NULL);
		for (k = 0; k < l.n; k++)
			port_json(NULL, &l.v[k]);
		jw_arr_end();
	} else {
		for (k = 0; k < l.n; k++)
			status_row(&t, &l.v[k]);
		table_print(&t, "", true);
		table_free(&t);
	}
	portlist_free(&l);
	return 0;
}

/* stats */

/* Counters in rows of a few, as ip -s; together they cover every one. */
static const struct {
	unsigned int first, last;
} stat_rows[] = {
	{ PERSOHUB_STAT_RX_BYTES, PERSOHUB_STAT_BREAKS },
	{ PERSOHUB_STAT_RX_FRAMES, PERSOHUB_STAT_FRAME_ABORTS },
	{ PERSOHUB_STAT_REQUESTS, PERSOHUB_STAT_QUEUE_FULL },
	{ PERSOHUB_STAT_UNEXPECTED_FRAMES, PERSOHUB_STAT_BUSY_NS },
	{ PERSOHUB_STAT_LRC_ERRORS, PERSOHUB_STAT_MAX },
};

static const char *stat_name(unsigned int i)
{
	return NAME_OF(phnl_stat_names, i);
}

static void stats_text(const struct port *p)
{
	struct table t = { .ncols = PERSOHUB_STAT_MAX, .align = NULL };
	char align[PERSOHUB_STAT_MAX + 1];
	unsigned int r, i;

	memset(align, 'r', sizeof(align) - 1);
	align[sizeof(align) - 1] = '\0';
	t.align = align;
	printf("%" PRIu32 ": %s:\n", p->id, p->name);
	for (r = 0; r < ARRAY_SIZE(stat_rows); r++) {
		table_row(&t);
		for (i = stat_rows[r].first; i <= stat_rows[r].last; i++)
			table_set(&t, i - stat_rows[r].first, "%s",
				  stat_name(i));
		table_row(&t);
		for (i = stat_rows[r].first; i <= stat_rows[r].last; i++)
			table_set(&t, i - stat_rows[r].first, "%" PRIu64,
				  p->stats[i]);
		table_print(&t, "    ", true);
		table_free(&t);
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

static int cmd_stats(int argc, char **argv)
{
	struct phnl *h;
	struct portlist l = { 0 };
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
	if (!port && get_hub(h, &hub))
		return EXIT_RUNTIME;
	if (opt.json) {
		jw_obj(NULL);
		jw_arr("ports");
		for (k = 0; k < l.n; k++)
			stats_json(&l.v[k]);
		jw_arr_end();
		if (!port)
			hub_json("hub", &hub);
		jw_obj_end();
	} else {
		for (k = 0; k < l.n; k++)
			stats_text(&l.v[k]);
		if (!port)
			hub_text(&hub);
	}
	portlist_free(&l);
	return 0;
}

/* set */

static const char *const lrc_names[] = { "0", "1" };

/* How a value goes in its attribute. */
enum set_kind {
	SET_U32,	/* a number, or the index of a choice */
	SET_U8,		/* the index of a choice */
	SET_STR,
	SET_HEX,	/* bytes in hex, two digits each, as binary */
};

static const struct set_key {
	const char *key;
	int attr;
	const char *const *names;	/* a choice; NULL: a number */
	size_t nnames;
	enum set_kind kind;
} set_keys[] = {
	{ "role", PERSOHUB_A_PORT_ROLE, phnl_role_names,
	  ARRAY_SIZE(phnl_role_names), SET_U32 },
	{ "name", PERSOHUB_A_PORT_NAME, NULL, 0, SET_STR },
	{ "baud", PERSOHUB_A_PORT_BAUD, NULL, 0, SET_U32 },
	{ "data_bits", PERSOHUB_A_PORT_DATA_BITS, NULL, 0, SET_U32 },
	{ "parity", PERSOHUB_A_PORT_PARITY, parity_names,
	  ARRAY_SIZE(parity_names), SET_U32 },
	{ "stop_bits", PERSOHUB_A_PORT_STOP_BITS, NULL, 0, SET_U32 },
	{ "timeout_ms", PERSOHUB_A_PORT_TIMEOUT_MS, NULL, 0, SET_U32 },
	{ "queue_depth", PERSOHUB_A_PORT_QUEUE_DEPTH, NULL, 0, SET_U32 },
	{ "max_payload", PERSOHUB_A_PORT_MAX_PAYLOAD, NULL, 0, SET_U32 },
	{ "state", PERSOHUB_A_PORT_STATE, set_state_names,
	  ARRAY_SIZE(set_state_names), SET_U32 },
	{ "framing", PERSOHUB_A_PORT_FRAMING, phnl_framing_names,
	  ARRAY_SIZE(phnl_framing_names), SET_U32 },
	{ "lrc", PERSOHUB_A_PORT_LRC, lrc_names, ARRAY_SIZE(lrc_names),
	  SET_U8 },
	{ "gap_chars", PERSOHUB_A_PORT_GAP_CHARS, NULL, 0, SET_U32 },
	{ "error_frame", PERSOHUB_A_PORT_ERROR_FRAME, NULL, 0, SET_HEX },
};

/* @s in hex into @out (@max bytes at most): the length, or -1. */
static int parse_hex(const char *s, uint8_t *out, size_t max)
{
	size_t n = strlen(s), i;
	unsigned int b;

	if (strspn(s, "0123456789abcdefABCDEF") != n || n % 2 || n / 2 > max)
		return -1;
	for (i = 0; i < n; i += 2) {
		sscanf(s + i, "%2x", &b);
		out[i / 2] = b;
	}
	return n / 2;
}

static const struct set_key *set_key_find(const char *key, size_t len)
{
	size_t i;

	for (i = 0; i < ARRAY_SIZE(set_keys); i++)
		if (strlen(set_keys[i].key) == len &&
		    !strncmp(set_keys[i].key, key, len))
			return &set_keys[i];
	return NULL;
}

/* "a|b|c" for a usage message. */
static const char *choices(const struct set_key *k)
{
	static char buf[128];
	size_t i, o = 0;

	buf[0] = '\0';
	for (i = 0; i < k->nnames && o < sizeof(buf); i++)
		if (k->names[i])
			o += snprintf(buf + o, sizeof(buf) - o, "%s%s",
				      o ? "|" : "", k->names[i]);
	return buf;
}

/*
 * Add "key=value" words to @nlh; @allowed limits the keys (NULL: all).
 * Returns a mask of the attributes added.
 */
static uint64_t put_settings(struct nlmsghdr *nlh, char **words, int n,
			     const char *cmd, const int *allowed,
			     struct argmap *am)
{
	const struct set_key *k;
	const char *eq, *val;
	uint8_t bytes[PERSOHUB_PAYLOAD_MAX];
	uint64_t seen = 0;
	uint32_t v;
	size_t i;
	int w, j, len;

	for (w = 0; w < n; w++) {
		eq = strchr(words[w], '=');
		k = eq ? set_key_find(words[w], eq - words[w]) : NULL;
		for (j = 0; k && allowed && allowed[j] && allowed[j] != k->attr;
		     j++)
			;
		if (k && allowed && !allowed[j])
			k = NULL;
		if (!k)
			usage_error("%s: unknown setting '%s' (KEY=VALUE)", cmd,
				    words[w]);
		if (seen & (1ULL << k->attr))
			usage_error("%s: '%s' given twice", cmd, k->key);
		seen |= 1ULL << k->attr;
		val = eq + 1;
		if (k->kind == SET_STR) {
			if (!mnl_attr_put_strz_check(nlh, MSG_BUF, k->attr,
						     val))
				usage_error("%s: %s: value too long", cmd,
					    k->key);
		} else if (k->kind == SET_HEX) {
			/* The kernel's limit: 64 bytes (error_frame). */
			len = parse_hex(val, bytes, 64);
			if (len < 0)
				usage_error("%s: %s must be 0 to 64 bytes in hex, "
					    "two digits each (e.g. 3939), not "
					    "'%s'", cmd, k->key, val);
			mnl_attr_put(nlh, k->attr, len, bytes);
		} else if (k->names) {
			for (i = 0; i < k->nnames; i++)
				if (k->names[i] && !strcmp(k->names[i], val))
					break;
			if (i == k->nnames)
				usage_error("%s: %s must be one of %s", cmd,
					    k->key, choices(k));
			if (k->kind == SET_U8)
				mnl_attr_put_u8(nlh, k->attr, i);
			else
				mnl_attr_put_u32(nlh, k->attr, i);
		} else {
			if (!parse_u32(val, &v))
				usage_error("%s: %s needs a number, not '%s'",
					    cmd, k->key, val);
			mnl_attr_put_u32(nlh, k->attr, v);
		}
		am->tok[k->attr] = words[w];
	}
	return seen;
}

/* Check KEY=VALUE words before anything is opened or sent. */
static void check_settings(char **words, int n, const char *cmd,
			   const int *allowed)
{
	struct argmap am = { 0 };
	char buf[MSG_BUF];
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);

	mnl_nlmsg_put_extra_header(nlh, sizeof(struct genlmsghdr));
	put_settings(nlh, words, n, cmd, allowed, &am);
}

static int id_cb(const struct phnl_attrs *at, void *data)
{
	uint32_t *id = data;

	*id = phnl_u32(at, PERSOHUB_A_PORT_ID, 0);
	return 0;
}

/* The id of the port named @name; 0 or -1 after reporting. */
static int lookup_id(struct phnl *h, const char *name, uint32_t *id)
{
	char buf[MSG_BUF];
	struct argmap am = { 0 };
	struct nlmsghdr *nlh;

	nlh = phnl_msg(h, buf, PERSOHUB_CMD_PORT_GET, 0);
	put_port(nlh, name, &am);
	*id = 0;
	if (talk(h, nlh, id_cb, id, &am))
		return -1;
	if (!*id)
		fatal("%s: the kernel gave no port id", name);
	return 0;
}

static bool has_key(char **words, int n, const char *key)
{
	size_t len = strlen(key);
	int i;

	for (i = 0; i < n; i++)
		if (!strncmp(words[i], key, len) && words[i][len] == '=')
			return true;
	return false;
}

static int cmd_set(int argc, char **argv)
{
	struct argmap am = { 0 };
	struct nlmsghdr *nlh;
	char buf[MSG_BUF];
	const char *port;
	struct phnl *h;
	uint32_t id;
	int i = cmd_options(argc, argv, NULL, NULL, NULL);

	if (i < 0)
		return -1;
	if (argc - i < 1)
		usage_error("set: PORT missing");
	port = argv[i++];
	if (argc - i < 1)
		usage_error("set: nothing to set (KEY=VALUE...)");
	check_settings(argv + i, argc - i, "set", NULL);
	h = nl();
	if (has_key(argv + i, argc - i, "name") && !all_digits(port)) {
		/*
		 * With a name only, PORT_NAME selects; renaming needs the id
		 * beside the new name (uapi: "an id selects, a name then
		 * renames"), so the name is looked up first.
		 */
		if (lookup_id(h, port, &id))
			return EXIT_RUNTIME;
		nlh = phnl_msg(h, buf, PERSOHUB_CMD_PORT_SET, 0);
		mnl_attr_put_u32(nlh, PERSOHUB_A_PORT_ID, id);
		am.tok[PERSOHUB_A_PORT_ID] = port;
	} else {
		nlh = phnl_msg(h, buf, PERSOHUB_CMD_PORT_SET, 0);
		put_port(nlh, port, &am);
	}
	put_settings(nlh, argv + i, argc - i, "set", NULL, &am);
	return talk(h, nlh, NULL, NULL, &am) ? EXIT_RUNTIME : 0;
}

/* user-server */

static int cmd_user_server(int argc, char **argv)
{
	static const int add_keys[] = { PERSOHUB_A_PORT_TIMEOUT_MS, 0 };
	char buf[MSG_BUF], idstr[16];
	struct argmap am = { 0 };
	struct nlmsghdr *nlh;
	const char *sub;
	struct phnl *h;
	uint32_t id = 0;
	int i = cmd_options(argc, argv, NULL, NULL, NULL);

	if (i < 0)
		return -1;
	if (argc - i < 1)
		usage_error("user-server: add or del?");
	sub = argv[i++];
	if (!strcmp(sub, "add")) {
		if (argc - i < 1)
			usage_error("user-server add: NAME missing");
		if (all_digits(argv[i]))
			usage_error("user-server add: an all-digit name would read as an id");
		check_settings(argv + i + 1, argc - i - 1, "user-server add",
			       add_keys);
		h = nl();
		nlh = phnl_msg(h, buf, PERSOHUB_CMD_USER_SERVER_ADD, 0);
		if (!mnl_attr_put_strz_check(nlh, MSG_BUF,
					     PERSOHUB_A_PORT_NAME, argv[i]))
			usage_error("user-server add: name too long");
		am.tok[PERSOHUB_A_PORT_NAME] = argv[i];
		i++;
		put_settings(nlh, argv + i, argc - i, "user-server add",
			     add_keys, &am);
		if (talk(h, nlh, id_cb, &id, &am))
			return EXIT_RUNTIME;
		/* Show what was made, as "status" would. */
		snprintf(idstr, sizeof(idstr), "%" PRIu32, id);
		return cmd_status(2, (char *[]){ "status", idstr, NULL });
	}
	if (!strcmp(sub, "del") || !strcmp(sub, "delete")) {
		if (argc - i != 1)
			usage_error("user-server del: NAME or ID, and only that");
		h = nl();
		nlh = phnl_msg(h, buf, PERSOHUB_CMD_USER_SERVER_DEL, 0);
		put_port(nlh, argv[i], &am);
		return talk(h, nlh, NULL, NULL, &am) ? EXIT_RUNTIME : 0;
	}
	usage_error("user-server: unknown subcommand '%s' (add, del)", sub);
}

/* attach, detach: ttys as ports of the tty backend */

/* "/dev/ttyUSB0" or a /dev/serial/by-id link -> "ttyUSB0". */
static const char *tty_arg(const char *arg, char *buf, size_t len)
{
	char real[PATH_MAX];

	if (!strchr(arg, '/'))
		return arg;
	if (!realpath(arg, real))
		fatal("%s: %s", arg, strerror(errno));
	if (strncmp(real, "/dev/", 5) || strchr(real + 5, '/') ||
	    strlen(real + 5) >= len)
		fatal("%s: not a tty of /dev (%s)", arg, real);
	snprintf(buf, len, "%s", real + 5);
	return buf;
}

static int cmd_attach(int argc, char **argv)
{
	char buf[MSG_BUF], name[32], idstr[16];
	struct argmap am = { 0 };
	struct nlmsghdr *nlh;
	struct phnl *h;
	uint32_t id = 0;
	int i = cmd_options(argc, argv, NULL, NULL, NULL);

	if (i < 0)
		return -1;
	if (argc - i != 1)
		usage_error("attach: TTY, and only that");
	h = nl();
	nlh = phnl_msg(h, buf, PERSOHUB_CMD_PORT_ADD, 0);
	if (!mnl_attr_put_strz_check(nlh, MSG_BUF, PERSOHUB_A_PORT_TTY,
				     tty_arg(argv[i], name, sizeof(name))))
		usage_error("attach: tty name too long");
	am.tok[PERSOHUB_A_PORT_TTY] = argv[i];
	if (talk(h, nlh, id_cb, &id, &am))
		return EXIT_RUNTIME;
	snprintf(idstr, sizeof(idstr), "%" PRIu32, id);
	return cmd_status(2, (char *[]){ "status", idstr, NULL });
}

static int cmd_detach(int argc, char **argv)
{
	char buf[MSG_BUF], name[32];
	struct argmap am = { 0 };
	struct nlmsghdr *nlh;
	struct phnl *h;
	int i = cmd_options(argc, argv, NULL, NULL, NULL);

	if (i < 0)
		return -1;
	if (argc - i != 1)
		usage_error("detach: PORT or TTY, and only that");
	h = nl();
	nlh = phnl_msg(h, buf, PERSOHUB_CMD_PORT_DEL, 0);
	if (strchr(argv[i], '/')) {
		mnl_attr_put_strz(nlh, PERSOHUB_A_PORT_TTY,
				  tty_arg(argv[i], name, sizeof(name)));
		am.tok[PERSOHUB_A_PORT_TTY] = argv[i];
	} else {
		put_port(nlh, argv[i], &am);
	}
	return talk(h, nlh, NULL, NULL, &am) ? EXIT_RUNTIME : 0;
}

/* Signals end monitor and top cleanly: read through a signalfd. */
static int signals_fd(void)
{
	sigset_t set;
	int fd;

	sigemptyset(&set);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGTERM);
	if (sigprocmask(SIG_BLOCK, &set, NULL))
		fatal("sigprocmask: %s", strerror(errno));
	fd = signalfd(-1, &set, SFD_CLOEXEC);
	if (fd < 0)
		fatal("signalfd: %s", strerror(errno));
	return fd;
}

/* monitor */

struct mon {
	struct phnl *cmd;		/* names are asked here */
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
};

static const char *mon_port_name(const struct mon *m, uint32_t id)
{
	const struct port *p = port_find(&m->names, id);

	return p && p->seen ? p->name : NULL;
}

static void mon_text(struct mon *m, const struct phnl_attrs *at)
{
	struct table t = { .ncols = STATUS_COLS, .align = status_align };
	const struct nlattr *a;
	const char *name;
	char v[32];
	size_t i;

	if (at->cmd == PERSOHUB_CMD_PORT_CHANGED) {
		struct port p = { 0 };

		port_parse(at, &p);
		p.id = phnl_u32(at, PERSOHUB_A_PORT_ID, 0);
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
			printf("%" PRIu32, mnl_attr_get_u32(a));
			break;
		case EK_U64:
			printf("%" PRIu64, mnl_attr_get_u64(a));
			break;
		case EK_PORT:
			name = mon_port_name(m, mnl_attr_get_u32(a));
			if (name && !opt.numeric)
				fputs(name, stdout);
			else
				printf("%" PRIu32, mnl_attr_get_u32(a));
			break;
		case EK_RESULT:
			fputs(NAME_OF(result_names, mnl_attr_get_u32(a)),
			      stdout);
			break;
		case EK_REASON:
			fputs(NAME_OF(reason_names, mnl_attr_get_u32(a)),
			      stdout);
			break;
		case EK_NS:
			fputs(fmt_ns(mnl_attr_get_u64(a), v, sizeof(v)),
			      stdout);
			break;
		case EK_TIME:
			fputs(fmt_mono(mnl_attr_get_u64(a), v, sizeof(v)),
			      stdout);
			break;
		case EK_ATTACHED:
			fputs(mnl_attr_get_u8(a) ? "attached" : "detached",
			      stdout);
			break;
		}
	}
	fputc('\n', stdout);
}

static void mon_json(struct mon *m, const struct phnl_attrs *at)
{
	const struct nlattr *a;
	char key[32];
	uint32_t id;
	size_t i;

	if (at->cmd == PERSOHUB_CMD_PORT_CHANGED) {
		struct port p = { 0 };

		port_parse(at, &p);
		p.id = phnl_u32(at, PERSOHUB_A_PORT_ID, 0);
		port_json("port", &p);
		return;
	}
	for (i = 0; i < ARRAY_SIZE(ev_attrs); i++) {
		a = at->a[ev_attrs[i].attr];
		if (!a)
			continue;
		switch (ev_attrs[i].kind) {
		case EK_U32:
			jw_u64(ev_attrs[i].key, mnl_attr_get_u32(a));
			break;
		case EK_U64:
			jw_u64(ev_attrs[i].key, mnl_attr_get_u64(a));
			break;
		case EK_PORT:
			id = mnl_attr_get_u32(a);
			snprintf(key, sizeof(key), "%s_id", ev_attrs[i].key);
			jw_u64(key, id);
			jw_str(ev_attrs[i].key, mon_port_name(m, id));
			break;
		case EK_RESULT:
			jw_str(ev_attrs[i].key,
			       NAME_OF(result_names, mnl_attr_get_u32(a)));
			break;
		case EK_REASON:
			jw_str(ev_attrs[i].key,
			       NAME_OF(reason_names, mnl_attr_get_u32(a)));
			break;
		case EK_NS:
		case EK_TIME:
			snprintf(key, sizeof(key), "%s_ns", ev_attrs[i].key);
			jw_u64(key, mnl_attr_get_u64(a));
			break;
		case EK_ATTACHED:
			jw_bool(ev_attrs[i].key, mnl_attr_get_u8(a));
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

static int mon_cb(const struct phnl_attrs *at, void *data)
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

static int cmd_monitor(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "count", required_argument, NULL, 'c' },
		{ "rcvbuf", required_argument, NULL, 'r' },
		{ NULL, 0, NULL, 0 },
	};
	struct mon_opts o = { .rcvbuf = MON_RCVBUF };
	struct mon m = { 0 };
	struct pollfd pfd[2];
	struct phnl ev;
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
	nl_open(&ev);
	if (setsockopt(phnl_fd(&ev), SOL_SOCKET, SO_RCVBUF, &o.rcvbuf,
		       sizeof(o.rcvbuf)))
		fatal("SO_RCVBUF: %s", strerror(errno));
	ret = phnl_subscribe(&ev);
	if (ret)
		fatal("cannot join the \"%s\" group: %s",
		      PERSOHUB_MCGRP_EVENTS, strerror(-ret));
	if (get_ports(m.cmd, PERSOHUB_CMD_PORT_GET, NULL, &m.names))
		return EXIT_RUNTIME;

	pfd[0].fd = phnl_fd(&ev);
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
		ret = phnl_drain(&ev, mon_cb, &m);
		if (m.done)
			break;
		if (ret == -ENOBUFS)
			mon_lost(&m);
		else if (ret < 0)
			fatal("reading events: %s", strerror(-ret));
	}
	fflush(stdout);
	close(pfd[1].fd);
	phnl_close(&ev);
	portlist_free(&m.names);
	return 0;
}

/* plan: how many servers a production target needs (Erlang C) */

struct plan_opts {
	double cards_per_hour;
	double requests_per_card;
	double max_wait_ms;
	double percent;
	double service_ms;	/* override of the measured service time */
	uint32_t stations;
	uint32_t what_if;
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
	case 'c' + 256:
		o->cards_per_hour = plan_number("--cards-per-hour", arg, 1, 1e9);
		break;
	case 'r' + 256:
		o->requests_per_card = plan_number("--requests-per-card", arg,
						   1, 1e6);
		break;
	case 'w' + 256:
		o->max_wait_ms = plan_number("--max-wait-ms", arg, 0, 1e7);
		break;
	case 'p' + 256:
		o->percent = plan_number("--percent", arg, 1, 99.999);
		break;
	case 's' + 256:
		o->stations = plan_number("--stations", arg, 1, 100000);
		break;
	case 'S' + 256:
		o->service_ms = plan_number("--service-ms", arg, 0.001, 1e7);
		break;
	case 'k' + 256:
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

static int cmd_plan(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "cards-per-hour", required_argument, NULL, 'c' + 256 },
		{ "requests-per-card", required_argument, NULL, 'r' + 256 },
		{ "max-wait-ms", required_argument, NULL, 'w' + 256 },
		{ "percent", required_argument, NULL, 'p' + 256 },
		{ "stations", required_argument, NULL, 's' + 256 },
		{ "service-ms", required_argument, NULL, 'S' + 256 },
		{ "what-if", required_argument, NULL, 'k' + 256 },
		{ NULL, 0, NULL, 0 },
	};
	struct plan_opts o = { .requests_per_card = 4, .max_wait_ms = 50,
			       .percent = 95 };
	struct table t = { .ncols = 6, .align = "rrrrrr" };
	struct portlist l = { 0 };
	uint64_t busy = 0, served = 0, station_reqs = 0;
	unsigned int nservers = 0, nstations = 0, c, first;
	double svc, lambda, bound, p_over, dispatch;
	struct hub hub;
	char b1[32], b2[32];
	size_t i;

	if (cmd_options(argc, argv, longopts, plan_opt, &o) < 0)
		return -1;
	if (!o.cards_per_hour && !o.what_if)
		usage_error("plan: --cards-per-hour N (or --what-if servers=K) is needed");
	if (get_ports(nl(), PERSOHUB_CMD_PORT_GET, NULL, &l) ||
	    get_ports(nl(), PERSOHUB_CMD_STATS_GET, NULL, &l) ||
	    get_hub(nl(), &hub))
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
	if (!o.cards_per_hour)
		o.cards_per_hour = plan_max_rate(o.what_if, svc, bound, p_over) *
				   3600 / o.requests_per_card;
	lambda = o.cards_per_hour * o.requests_per_card / 3600;
	c = o.what_if ? o.what_if : plan_servers(lambda, svc, bound, p_over);

	if (opt.json) {
		jw_obj(NULL);
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
		jw_obj_end();
		portlist_free(&l);
		return c ? 0 : EXIT_RUNTIME;
	}

	printf("Assumptions: requests arrive as a Poisson stream, service times are\n"
	       "exponential, all servers take requests from one queue in arrival order\n"
	       "(Erlang C, M/M/c). A card takes %.0f requests.\n\n",
	       o.requests_per_card);
	printf("Measured by the hub (counters since the module loaded):\n");
	printf("  servers %u, stations %u, answers %" PRIu64 "\n", nservers,
	       nstations, served);
	printf("  service time per request: %s%s (busy time / answers)\n",
	       fmt_ns(svc * 1e9, b1, sizeof(b1)),
	       o.service_ms ? " (given, not measured)" : "");
	printf("  dispatch latency p50 (arrival to first byte out, queueing in): %s\n",
	       dispatch < 0 ? "-" : fmt_ns(dispatch, b2, sizeof(b2)));
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
	portlist_free(&l);
	return 0;
}

/* top */

struct snap {
	struct portlist l;
	struct hub hub;
	uint64_t t;
};

static int snap_take(struct phnl *h, struct snap *s)
{
	portlist_free(&s->l);
	if (get_ports(h, PERSOHUB_CMD_PORT_GET, NULL, &s->l) ||
	    get_ports(h, PERSOHUB_CMD_STATS_GET, NULL, &s->l) ||
	    get_hub(h, &s->hub))
		return -1;
	s->t = now_ns();
	return 0;
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
static void top_busy(struct table *t, unsigned int col,
		     const struct port *prev, const struct port *cur,
		     double dt_ns)
{
	uint64_t d, reqs;
	double pct;

	if (!stat_delta(prev, cur, PERSOHUB_STAT_BUSY_NS, &d) ||
	    !stat_delta(prev, cur, PERSOHUB_STAT_RESPONSES, &reqs)) {
		table_set(t, col, "-");
		return;
	}
	pct = 100.0 * d / dt_ns;
	if (!d && !reqs && prev->state == PERSOHUB_STATE_BUSY &&
	    cur->state == PERSOHUB_STATE_BUSY)
		pct = 100;
	table_set(t, col, "%.1f", pct > 100 ? 100 : pct);
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

static int cmd_top(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "interval", required_argument, NULL, 'i' },
		{ "iterations", required_argument, NULL, 'n' + 256 },
		{ NULL, 0, NULL, 0 },
	};
	struct top_opts o = { .interval = 1 };
	struct phnl *h;
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
	if (opt.json)
		usage_error("top: no JSON output (use stats -j)");
	h = nl();
	memset(s, 0, sizeof(s));
	clear = isatty(STDOUT_FILENO) && !o.counted;
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
		else if (shown)
			fputc('\n', stdout);
		top_show(&s[cur ^ 1], &s[cur], o.interval);
		fflush(stdout);
		shown++;
	}
out:
	close(pfd.fd);
	portlist_free(&s[0].l);
	portlist_free(&s[1].l);
	return 0;
}

/* help and main */

static void usage(FILE *f)
{
	fprintf(f,
"Usage: %s [OPTIONS] COMMAND [ARGUMENTS]\n"
"\n"
"Show and change persohub, the kernel hub that routes the requests of smart-card\n"
"personalization stations to whichever crypto server is free, over multi-port\n"
"serial cards. It speaks the generic netlink family \"persohub\"; what changes\n"
"something (set, user-server) needs CAP_NET_ADMIN.\n"
"\n"
"PORT names a serial port or a userspace server: a number is its id, anything\n"
"else its name (see status). Commands:\n"
"\n"
"  status [PORT]\n"
"      One line per port and userspace server: id, name, role, state, queue\n"
"      (requests the station has outstanding / queue_depth), card and port\n"
"      index or \"user\", line settings (115200 8N1), server timeout,\n"
"      max_payload, and for serial ports the framing (with \"lrc\" when an\n"
"      LRC byte follows ETX), gap_chars and error_frame in hex (\"-\": empty).\n"
"      Roles: off, station, server; states: idle, busy, failed (\"-\" for a\n"
"      port that is off).\n"
"\n"
"  stats [PORT]\n"
"      The counters of every port, or of PORT, under the names of\n"
"      /sys/class/persohub/<port>/statistics/. Without PORT, also the hub:\n"
"      requests waiting for a server, whether a controller is attached, the\n"
"      id the next request gets, and the histogram of dispatch latency (from\n"
"      a request's last byte to its dispatch to a server) in power-of-two\n"
"      buckets, with p50, p90 and p99 interpolated inside their bucket.\n"
"\n"
"  set PORT KEY=VALUE...\n"
"      Change a port in one request; the kernel checks every value against\n"
"      its limits and names the first it refuses. Keys:\n"
"        role=off|station|server   the port's job (changes only while idle)\n"
"        name=NAME                 1-31 of A-Z a-z 0-9 . _ - (a station is\n"
"                                  renamed while off: it names its device)\n"
"        baud=N                    bits per second (50 to the card's maximum)\n"
"        data_bits=5..8  parity=none|odd|even|mark|space  stop_bits=1|2\n"
"        timeout_ms=N              server response timeout, 1 to 600000\n"
"        queue_depth=N             station requests outstanding, 1 to 16\n"
"        max_payload=N             largest frame payload, 1 to 4096\n"
"        state=idle|failed         return a server to service, or take it out\n"
"        framing=hdlc|stx-etx|stx-len|len16|gap\n"
"                                  how the port delimits its frames (only\n"
"                                  while idle, as the three below)\n"
"        lrc=0|1                   stx-etx: an LRC byte after ETX\n"
"        gap_chars=N               character times of silence that end a\n"
"                                  frame (gap) or drop a partial one, 1 to\n"
"                                  10000\n"
"        error_frame=HEX           stations: the answer to a failed request,\n"
"                                  0 to 64 bytes in hex (3939: \"99\"; empty:\n"
"                                  an empty frame)\n"
"\n"
"  user-server add NAME [timeout_ms=N]\n"
"      Add a server answered from userspace through the station devices\n"
"      (/dev/persohub/<station>); prints it as status does.\n"
"  user-server del NAME|ID\n"
"      Remove it; a request it holds is dispatched again.\n"
"\n"
"  attach TTY\n"
"      Make a tty the kernel drives a port (the tty backend): ttyUSB0,\n"
"      /dev/ttyS4 or a /dev/serial/by-id/... link. It is then held by the\n"
"      kernel, off, at 115200 8N1, named after the tty; prints it as status\n"
"      does. Fails if the tty is open elsewhere.\n"
"  detach PORT|TTY\n"
"      Give a tty port back to the system; its requests end as when its\n"
"      hardware goes (a server's go to another server).\n"
"\n"
"  monitor [--count N] [--rcvbuf BYTES]\n"
"      Print every event as it arrives, one line each, after the CLOCK_MONOTONIC\n"
"      time it was read: request-new, server-ready, request-done (result ok,\n"
"      error, rejected, dropped; latency from arrival to the end),\n"
"      server-failed (reason timeout, admin, gone), port-changed (as status),\n"
"      ctrl-changed. Events are lossy: when the kernel dropped some, a line\n"
"      says so (\"lost\"). Ends on SIGINT or SIGTERM, or after N events with\n"
"      --count (0: never). --rcvbuf sets the socket's receive buffer\n"
"      (default 1 MiB, capped by net.core.rmem_max).\n"
"\n"
"  top [--interval S] [--iterations N]\n"
"      A live view, refreshed every S seconds (default 1): per server its\n"
"      requests/s and busy share (from the requests and busy_ns counters), per\n"
"      station its queue and requests/s, the hub's waiting requests, and the\n"
"      dispatch latency p50/p90/p99 of the interval. The screen is cleared\n"
"      between views on a terminal; with --iterations, or when stdout is not a\n"
"      terminal, views follow each other, and N views end the command. The\n"
"      first view comes after one interval. Ends on SIGINT or SIGTERM.\n"
"\n"
"  plan --cards-per-hour N [--requests-per-card R] [--stations S]\n"
"       [--max-wait-ms W] [--percent P] [--service-ms T] [--what-if servers=K]\n"
"      How many servers the target needs: Erlang C (M/M/c) on the service\n"
"      time the hub measured (busy_ns / responses of every server, or\n"
"      --service-ms), R requests a card (default 4), P%% of requests (default\n"
"      95) waiting at most W ms (default 50) for a server. Prints the\n"
"      assumptions, the measured inputs, and a table around the answer.\n"
"      --what-if servers=K: the waiting and the cards/hour K servers carry.\n"
"\n"
"  help\n"
"      This text.\n"
"\n"
"Commands may be shortened to a prefix that names only one of them.\n"
"\n"
"Options (before the command, or after it):\n"
"  -j, --json      JSON output: status gives an array of ports (keys id, name,\n"
"                  role, state, queue, queue_depth, card, port, baud,\n"
"                  data_bits, parity, stop_bits, timeout_ms, max_payload,\n"
"                  framing, lrc, gap_chars, error_frame (hex), user;\n"
"                  null where a key does not apply); stats an object with\n"
"                  \"ports\" (id, name and every counter by name) and, without\n"
"                  PORT, \"hub\"; monitor one object per line.\n"
"  -p, --pretty    indented JSON (implies -j)\n"
"  -n, --numeric   monitor: port ids instead of names\n"
"  -h, --help      this text\n"
"\n"
"Exit status: 0 done; 1 the kernel refused or another runtime error (stderr\n"
"says why: \"Error: \" with the kernel's own message when it gave one, and the\n"
"errno text); 2 usage error.\n"
"\n"
"Examples:\n"
"  %s status\n"
"  %s set 0000:00:10.0-0 role=station queue_depth=2\n"
"  %s set 3 name=m1-st1\n"
"  %s set hsm1 state=idle\n"
"  %s set m1-st1 framing=stx-etx lrc=1 error_frame=3939\n"
"  %s -j stats m1-st1\n"
"  %s monitor --count 10\n"
"  %s top --interval 2\n",
		prog, prog, prog, prog, prog, prog, prog, prog, prog);
}

static const struct {
	const char *name;
	int (*fn)(int argc, char **argv);
} commands[] = {
	{ "status", cmd_status },
	{ "stats", cmd_stats },
	{ "set", cmd_set },
	{ "monitor", cmd_monitor },
	{ "top", cmd_top },
	{ "plan", cmd_plan },
	{ "user-server", cmd_user_server },
	{ "attach", cmd_attach },
	{ "detach", cmd_detach },
	{ "help", NULL },
};

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "json", no_argument, NULL, 'j' },
		{ "pretty", no_argument, NULL, 'p' },
		{ "numeric", no_argument, NULL, 'n' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	int c, ret, found = -1;
	size_t i, len;

	jw.f = stdout;
	while ((c = getopt_long(argc, argv, "+jpnh", longopts, NULL)) != -1) {
		switch (c) {
		case 'j':
			opt.json = true;
			break;
		case 'p':
			opt.pretty = opt.json = true;
			break;
		case 'n':
			opt.numeric = true;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage_short();
			return EXIT_USAGE;
		}
	}
	if (optind >= argc) {
		usage(stderr);
		return EXIT_USAGE;
	}
	len = strlen(argv[optind]);
	for (i = 0; len && i < ARRAY_SIZE(commands); i++) {
		if (strncmp(commands[i].name, argv[optind], len))
			continue;
		if (strlen(commands[i].name) == len) {
			found = i;	/* exact */
			break;
		}
		if (found >= 0)
			usage_error("'%s' is ambiguous: %s or %s?",
				    argv[optind], commands[found].name,
				    commands[i].name);
		found = i;
	}
	if (found < 0)
		usage_error("unknown command '%s'", argv[optind]);
	if (!commands[found].fn) {
		usage(stdout);
		return 0;
	}
	ret = commands[found].fn(argc - optind, argv + optind);
	if (ret < 0) {		/* -h after the command */
		usage(stdout);
		return 0;
	}
	if (fflush(stdout) || ferror(stdout)) {
		fprintf(stderr, "Error: writing the output: %s\n",
			strerror(errno));
		return EXIT_RUNTIME;
	}
	return ret;
}
