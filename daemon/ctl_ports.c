// SPDX-License-Identifier: GPL-2.0
/*
 * persohubctl status, set, user-server, attach and detach: ports and
 * userspace servers.
 */
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include <linux/genetlink.h>

#include "persohubctl.h"
#include "state.h"

/* Names the kernel's numbers stand for (roles and states are in phnl). */
static const char *const parity_names[] = {
	[PERSOHUB_PARITY_NONE] = "none",
	[PERSOHUB_PARITY_ODD] = "odd",
	[PERSOHUB_PARITY_EVEN] = "even",
	[PERSOHUB_PARITY_MARK] = "mark",
	[PERSOHUB_PARITY_SPACE] = "space",
};

static const char parity_letters[] = "NOEMS";

/* Only these two states are set; busy is the kernel's to give. */
static const char *const set_state_names[] = {
	[PERSOHUB_STATE_IDLE] = "idle",
	[PERSOHUB_STATE_FAILED] = "failed",
};

/* Ports */

struct port *port_find(const struct portlist *l, uint32_t id)
{
	size_t i;

	for (i = 0; i < l->n; i++)
		if (l->v[i].id == id)
			return &l->v[i];
	return NULL;
}

struct port *port_get(struct portlist *l, uint32_t id)
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

void portlist_free(struct portlist *l)
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
void port_parse(const struct ctl_attrs *at, struct port *p)
{
	const struct nlattr *ef = at->a[PERSOHUB_A_PORT_ERROR_FRAME];
	size_t i;

	for (i = 0; i < ARRAY_SIZE(port_u32_attrs); i++)
		*(uint32_t *)((char *)p + port_u32_attrs[i].off) =
			ctl_u32(at, port_u32_attrs[i].attr, 0);
	if (at->a[PERSOHUB_A_PORT_NAME])
		snprintf(p->name, sizeof(p->name), "%s",
			 ctl_str(at, PERSOHUB_A_PORT_NAME));
	snprintf(p->card, sizeof(p->card), "%s",
		 ctl_str(at, PERSOHUB_A_PORT_CARD));
	snprintf(p->tty, sizeof(p->tty), "%s",
		 ctl_str(at, PERSOHUB_A_PORT_TTY));
	snprintf(p->backend, sizeof(p->backend), "%s",
		 ctl_str(at, PERSOHUB_A_PORT_BACKEND));
	p->lrc = ctl_u8(at, PERSOHUB_A_PORT_LRC, 0);
	p->enabled = ctl_u8(at, PERSOHUB_A_PORT_ENABLED, 1);
	/* at most 64 bytes: phnl's policy checked it */
	p->error_len = ef ? nla_len(ef) : 0;
	if (ef)
		memcpy(p->error_frame, nla_data(ef), p->error_len);
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
static void stats_parse(const struct ctl_attrs *at, struct port *p)
{
	const struct nlattr *a;
	uint16_t type;
	int rem;

	if (!at->a[PERSOHUB_A_STATS])
		return;
	if (at->a[PERSOHUB_A_PORT_NAME])
		snprintf(p->name, sizeof(p->name), "%s",
			 ctl_str(at, PERSOHUB_A_PORT_NAME));
	nla_for_each_nested(a, at->a[PERSOHUB_A_STATS], rem) {
		type = nla_type(a);
		if (type >= 1 && type <= PERSOHUB_STAT_MAX &&
		    nla_len(a) == sizeof(uint64_t))
			p->stats[type] = nla_get_u64(a);
	}
	p->has_stats = true;
}

int port_cb(const struct ctl_attrs *at, void *data)
{
	struct portlist *l = data;

	if (!at->a[PERSOHUB_A_PORT_ID])
		return 0;
	port_parse(at, port_get(l, ctl_u32(at, PERSOHUB_A_PORT_ID, 0)));
	return 0;
}

static int stats_cb(const struct ctl_attrs *at, void *data)
{
	struct portlist *l = data;

	if (!at->a[PERSOHUB_A_PORT_ID])
		return 0;
	stats_parse(at, port_get(l, ctl_u32(at, PERSOHUB_A_PORT_ID, 0)));
	return 0;
}

/* PORT_GET (or STATS_GET) of @port, or a dump without; 0 or -1. */
int get_ports(struct ctl_sock *h, uint8_t cmd, const char *port,
		     struct portlist *l)
{
	struct argmap am = { 0 };
	struct nl_msg *msg;
	size_t i;

	for (i = 0; cmd == PERSOHUB_CMD_PORT_GET && i < l->n; i++)
		l->v[i].seen = false;
	msg = ctl_msg(h, cmd, port ? 0 : NLM_F_DUMP);
	if (port)
		put_port(msg, port, &am);
	if (talk(h, msg, cmd == PERSOHUB_CMD_PORT_GET ? port_cb : stats_cb, l,
		 &am))
		return -1;
	qsort(l->v, l->n, sizeof(*l->v), port_cmp);
	return 0;
}

const char *port_state(const struct port *p)
{
	if (p->role == PERSOHUB_ROLE_OFF)
		return "-";	/* as sysfs */
	return NAME_OF(phnl_state_names, p->state);
}

/* The columns of "status" (and of port-changed events). */
const char status_align[STATUS_COLS + 1] = "rllllllllllll";

void status_row(struct table *t, const struct port *p)
{
	table_row(t);
	table_set(t, 0, "%" PRIu32 ":", p->id);
	table_set(t, 1, "%s:", p->name);
	table_set(t, 2, "%s", NAME_OF(phnl_role_names, p->role));
	/* A server out of service by the administrator's say: "idle,off". */
	table_set(t, 3, "%s%s", port_state(p),
		  p->role == PERSOHUB_ROLE_SERVER && !p->enabled ? ",off" : "");
	/* persohubd's view, while it runs */
	if (p->dview && p->role == PERSOHUB_ROLE_SERVER)
		table_set(t, 4, "weight %" PRIu32, p->weight);
	else if (p->dview && p->pin[0])
		table_set(t, 4, "pin %s", p->pin);
	table_set(t, 5, "queue %" PRIu32 "/%" PRIu32, p->queue, p->queue_depth);
	if (p->user) {
		table_set(t, 6, "user");
	} else {
		if (p->tty[0])
			table_set(t, 6, "tty %s", p->tty);
		else
			table_set(t, 6, "card %s port %" PRIu32, p->card,
				  p->index);
		table_set(t, 7, "%" PRIu32 " %" PRIu32 "%c%" PRIu32, p->baud,
			  p->data_bits,
			  p->parity < sizeof(parity_letters) - 1 ?
			  parity_letters[p->parity] : '?', p->stop_bits);
	}
	table_set(t, 8, "timeout %" PRIu32 "ms", p->timeout_ms);
	table_set(t, 9, "max_payload %" PRIu32, p->max_payload);
	if (p->user)
		return;		/* a userspace server has no framing */
	table_set(t, 10, "framing %s%s", NAME_OF(phnl_framing_names, p->framing),
		  p->lrc ? " lrc" : "");
	table_set(t, 11, "gap_chars %" PRIu32, p->gap_chars);
	table_set(t, 12, "error_frame %s", p->error_len ? error_hex(p) : "-");
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
	{ "enabled", PK_BOOL, offsetof(struct port, enabled), false },
};

void port_json(const char *key, const struct port *p)
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
	/* persohubd's view: null without the daemon, or where it does not
	 * apply (weight: servers; pin: a pinned station's server)
	 */
	if (p->dview && p->role == PERSOHUB_ROLE_SERVER)
		jw_u64("weight", p->weight);
	else
		jw_null("weight");
	jw_str("pin", p->dview && p->pin[0] ? p->pin : NULL);
	jw_obj_end();
}

/* status */

/* Weights and pins from persohubd's state file, if the daemon runs. */
static void daemon_view(struct portlist *l)
{
	static struct state st;
	const struct state_port *sp, *pin;
	char why[512];
	bool stopped;
	unsigned int i, k;
	struct port *p;

	if (daemon_load(&st, STATE_FILE, &stopped, why, sizeof(why)))
		return;
	for (i = 0; i < st.nports; i++) {
		sp = &st.ports[i];
		p = port_find(l, sp->id);
		if (!p)
			continue;
		p->dview = true;
		p->weight = sp->weight;
		for (k = 0, pin = NULL; sp->pin && k < st.nports; k++)
			if (st.ports[k].id == sp->pin)
				pin = &st.ports[k];
		if (pin && pin->name[0])
			snprintf(p->pin, sizeof(p->pin), "%s", pin->name);
		else if (sp->pin)
			snprintf(p->pin, sizeof(p->pin), "%" PRIu32, sp->pin);
	}
}

int cmd_status(int argc, char **argv)
{
	struct ctl_sock *h;
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
	daemon_view(&l);
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

/* set */

static const char *const bool_names[] = { "0", "1" };

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
	{ "lrc", PERSOHUB_A_PORT_LRC, bool_names, ARRAY_SIZE(bool_names),
	  SET_U8 },
	{ "gap_chars", PERSOHUB_A_PORT_GAP_CHARS, NULL, 0, SET_U32 },
	{ "error_frame", PERSOHUB_A_PORT_ERROR_FRAME, NULL, 0, SET_HEX },
	{ "enabled", PERSOHUB_A_PORT_ENABLED, bool_names, ARRAY_SIZE(bool_names),
	  SET_U8 },
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
 * Add "key=value" words to @msg; @allowed limits the keys (NULL: all).
 * Returns a mask of the attributes added.
 */
static uint64_t put_settings(struct nl_msg *msg, char **words, int n,
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
			if (0 > nla_put_string(msg, k->attr,
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
			nla_put(msg, k->attr, len, bytes);
		} else if (k->names) {
			for (i = 0; i < k->nnames; i++)
				if (k->names[i] && !strcmp(k->names[i], val))
					break;
			if (i == k->nnames)
				usage_error("%s: %s must be one of %s", cmd,
					    k->key, choices(k));
			if (k->kind == SET_U8)
				nla_put_u8(msg, k->attr, i);
			else
				nla_put_u32(msg, k->attr, i);
		} else {
			if (!parse_u32(val, &v))
				usage_error("%s: %s needs a number, not '%s'",
					    cmd, k->key, val);
			nla_put_u32(msg, k->attr, v);
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
	struct nl_msg *msg = nlmsg_alloc();

	if (!msg)
		fatal("out of memory");
	put_settings(msg, words, n, cmd, allowed, &am);
	nlmsg_free(msg);
}

static int id_cb(const struct ctl_attrs *at, void *data)
{
	uint32_t *id = data;

	*id = ctl_u32(at, PERSOHUB_A_PORT_ID, 0);
	return 0;
}

/* The id of the port named @name; 0 or -1 after reporting. */
static int lookup_id(struct ctl_sock *h, const char *name, uint32_t *id)
{
	struct argmap am = { 0 };
	struct nl_msg *msg;

	msg = ctl_msg(h, PERSOHUB_CMD_PORT_GET, 0);
	put_port(msg, name, &am);
	*id = 0;
	if (talk(h, msg, id_cb, id, &am))
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

int cmd_set(int argc, char **argv)
{
	struct argmap am = { 0 };
	struct nl_msg *msg;
	const char *port;
	struct ctl_sock *h;
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
		msg = ctl_msg(h, PERSOHUB_CMD_PORT_SET, 0);
		nla_put_u32(msg, PERSOHUB_A_PORT_ID, id);
		am.tok[PERSOHUB_A_PORT_ID] = port;
	} else {
		msg = ctl_msg(h, PERSOHUB_CMD_PORT_SET, 0);
		put_port(msg, port, &am);
	}
	put_settings(msg, argv + i, argc - i, "set", NULL, &am);
	return talk(h, msg, NULL, NULL, &am) ? EXIT_RUNTIME : 0;
}

/* user-server */

int cmd_user_server(int argc, char **argv)
{
	static const int add_keys[] = { PERSOHUB_A_PORT_TIMEOUT_MS, 0 };
	char idstr[16];
	struct argmap am = { 0 };
	struct nl_msg *msg;
	const char *sub;
	struct ctl_sock *h;
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
		msg = ctl_msg(h, PERSOHUB_CMD_USER_SERVER_ADD, 0);
		if (0 > nla_put_string(msg,
					     PERSOHUB_A_PORT_NAME, argv[i]))
			usage_error("user-server add: name too long");
		am.tok[PERSOHUB_A_PORT_NAME] = argv[i];
		i++;
		put_settings(msg, argv + i, argc - i, "user-server add",
			     add_keys, &am);
		if (talk(h, msg, id_cb, &id, &am))
			return EXIT_RUNTIME;
		/* Show what was made, as "status" would. */
		snprintf(idstr, sizeof(idstr), "%" PRIu32, id);
		return cmd_status(2, (char *[]){ "status", idstr, NULL });
	}
	if (!strcmp(sub, "del") || !strcmp(sub, "delete")) {
		if (argc - i != 1)
			usage_error("user-server del: NAME or ID, and only that");
		h = nl();
		msg = ctl_msg(h, PERSOHUB_CMD_USER_SERVER_DEL, 0);
		put_port(msg, argv[i], &am);
		return talk(h, msg, NULL, NULL, &am) ? EXIT_RUNTIME : 0;
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

int cmd_attach(int argc, char **argv)
{
	char name[32], idstr[16];
	struct argmap am = { 0 };
	struct nl_msg *msg;
	struct ctl_sock *h;
	uint32_t id = 0;
	int i = cmd_options(argc, argv, NULL, NULL, NULL);

	if (i < 0)
		return -1;
	if (argc - i != 1)
		usage_error("attach: TTY, and only that");
	h = nl();
	msg = ctl_msg(h, PERSOHUB_CMD_PORT_ADD, 0);
	if (0 > nla_put_string(msg, PERSOHUB_A_PORT_TTY,
				     tty_arg(argv[i], name, sizeof(name))))
		usage_error("attach: tty name too long");
	am.tok[PERSOHUB_A_PORT_TTY] = argv[i];
	if (talk(h, msg, id_cb, &id, &am))
		return EXIT_RUNTIME;
	snprintf(idstr, sizeof(idstr), "%" PRIu32, id);
	return cmd_status(2, (char *[]){ "status", idstr, NULL });
}

int cmd_detach(int argc, char **argv)
{
	char name[32];
	struct argmap am = { 0 };
	struct nl_msg *msg;
	struct ctl_sock *h;
	int i = cmd_options(argc, argv, NULL, NULL, NULL);

	if (i < 0)
		return -1;
	if (argc - i != 1)
		usage_error("detach: PORT or TTY, and only that");
	h = nl();
	msg = ctl_msg(h, PERSOHUB_CMD_PORT_DEL, 0);
	if (strchr(argv[i], '/')) {
		nla_put_string(msg, PERSOHUB_A_PORT_TTY,
				  tty_arg(argv[i], name, sizeof(name)));
		am.tok[PERSOHUB_A_PORT_TTY] = argv[i];
	} else {
		put_port(msg, argv[i], &am);
	}
	return talk(h, msg, NULL, NULL, &am) ? EXIT_RUNTIME : 0;
}
