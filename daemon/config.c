// SPDX-License-Identifier: GPL-2.0
/*
 * persohub.conf parser, on libinih. Every value is checked here, with the
 * same limits as the kernel, so a bad file is refused as a whole with its
 * file and line before anything is applied.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stddef.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <ini.h>

#include "config.h"
#include "framing.h"
#include "tcp_corr.h"

/* inih keeps this much of a section header (its MAX_SECTION, less 1) */
#define SECTION_KEPT	49

struct header {
	char text[SECTION_KEPT + 1];	/* between '[' and ']', as inih has it */
	unsigned int line;
};

struct parse {
	struct config *cfg;
	char reason[160];
	/* [tty PATH] headers, set aside: inih keeps 49 bytes of a section */
	char (*ttys)[128];
	unsigned int nttys;
	/* every section header and its line, for messages about sections */
	struct header *headers;
	unsigned int nheaders, cap;
	/* [cascade] offer and use by name, as indexes into cfg->classes */
	uint64_t offer_names, use_names;
};

#define TTY_REF		"tty @"

void config_defaults(struct config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->priority = 50;
	cfg->cpu = -1;
	cfg->resync_ms = 1000;
	cfg->event_buffer = 4 << 20;
	cfg->probe_interval_ms = 1000;
	memcpy(cfg->probe_frame, "PROBE", 5);
	cfg->probe_len = 5;
	cfg->audit = true;
	cfg->metrics_interval_ms = 5000;
	cfg->cascade.depth = 4;
}

static bool parse_hex(const char *s, uint8_t *out, unsigned int max,
		      unsigned int *len)
{
	size_t n = strlen(s), i;
	unsigned int b;

	if (!n || n % 2 || n / 2 > max)
		return false;
	for (i = 0; i < n; i += 2) {
		if (sscanf(s + i, "%2x", &b) != 1 ||
		    strspn(s + i, "0123456789abcdefABCDEF") < 2)
			return false;
		out[i / 2] = b;
	}
	*len = n / 2;
	return true;
}

static int fail(struct parse *p, const char *fmt, const char *a,
		const char *b)
{
	if (!p->reason[0])
		snprintf(p->reason, sizeof(p->reason), fmt, a, b);
	return 0;
}

/*
 * A decimal number in [lo, hi]: digits only (leading zeros are fine, "010"
 * is ten); no sign, no space, no 0x.
 */
static bool parse_u32(const char *s, uint32_t lo, uint32_t hi, uint32_t *v)
{
	uint64_t n = 0;
	size_t len = strspn(s, "0123456789"), i;

	if (!len || s[len])
		return false;
	for (i = 0; i < len; i++) {
		n = n * 10 + (s[i] - '0');
		if (n > hi)
			return false;
	}
	if (n < lo)
		return false;
	*v = n;
	return true;
}

static bool parse_bool(const char *s, bool *v)
{
	if (!strcasecmp(s, "yes") || !strcasecmp(s, "true") || !strcmp(s, "1"))
		*v = true;
	else if (!strcasecmp(s, "no") || !strcasecmp(s, "false") ||
		 !strcmp(s, "0"))
		*v = false;
	else
		return false;
	return true;
}

static int lookup(const char *const *names, unsigned int n, const char *s)
{
	unsigned int i;

	for (i = 0; i < n; i++)
		if (!strcmp(names[i], s))
			return i;
	return -1;
}

static bool name_valid(const char *s)
{
	size_t n = strlen(s);

	if (!n || n >= CONFIG_NAME_LEN || s[0] == '.')
		return false;
	return strspn(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
			 "0123456789._:-") == n;
}

static const char *const roles[] = { "off", "station", "server" };
static const char *const parities[] = { "none", "odd", "even", "mark",
					"space" };

/* Numeric port keys: name, place, limits. */
static const struct {
	const char *key;
	size_t off;
	uint32_t lo, hi;
} port_nums[] = {
	{ "baud", offsetof(struct config_port, baud), 50, 4000000 },
	{ "data_bits", offsetof(struct config_port, data_bits), 5, 8 },
	{ "stop_bits", offsetof(struct config_port, stop_bits), 1, 2 },
	{ "timeout_ms", offsetof(struct config_port, timeout_ms), 1, 600000 },
	{ "queue_depth", offsetof(struct config_port, queue_depth), 1, 16 },
	{ "max_payload", offsetof(struct config_port, max_payload), 1, 4096 },
	{ "settle_ms", offsetof(struct config_port, settle_ms), 0, 10000 },
	{ "gap_chars", offsetof(struct config_port, gap_chars), 1, 10000 },
};

static const char framing_names[] = "hdlc, stx-etx, stx-len, len16 or gap";

/*
 * error_frame: 0-64 bytes in hex, two digits a byte; "" is the empty
 * answer. NULL, or why not.
 */
static const char *parse_error_frame(const char *s, struct config_port *cp)
{
	size_t n = strlen(s), i;
	unsigned int b;

	if (strspn(s, "0123456789abcdefABCDEF") != n)
		return "not hex digits (two a byte, e.g. 3939 for \"99\")";
	if (n % 2)
		return "an odd number of hex digits";
	if (n / 2 > CONFIG_ERROR_FRAME_MAX)
		return "more than 64 bytes";
	for (i = 0; i < n; i += 2) {
		sscanf(s + i, "%2x", &b);
		cp->error_frame[i / 2] = b;
	}
	cp->error_len = n / 2;
	cp->error_set = true;
	return NULL;
}

/*
 * The framing keys of a section, as far as they are known, must go
 * together; checked as each is given, so the message names the line of
 * the key that does not fit with those before it. @key is that key.
 */
static int framing_fits(struct parse *p, const struct config_port *cp,
			const char *key)
{
	unsigned int i;

	if (!cp->framing.set)
		return 1;
	if (cp->framing.v != PH_FRAMING_STX_ETX) {
		if (cp->lrc.set && cp->lrc.v)
			return fail(p, "%s: lrc = yes is for framing stx-etx "
				    "only (stx-len always has its LRC)", key,
				    NULL);
		return 1;
	}
	for (i = 0; cp->error_set && i < cp->error_len; i++)
		if (cp->error_frame[i] == PH_STX || cp->error_frame[i] == PH_ETX)
			return fail(p, "%s: the error_frame holds STX (02) or "
				    "ETX (03), which framing stx-etx cannot "
				    "send", key, NULL);
	return 1;
}

/* "<pci address>-<index>" into @card (32 bytes) and @index. */
static bool port_ident(const char *ident, char *card, unsigned int *index)
{
	const char *dash = strrchr(ident, '-');

	if (!dash || dash == ident || dash - ident >= 32 ||
	    !parse_u32(dash + 1, 0, 255, index))
		return false;
	memcpy(card, ident, dash - ident);
	card[dash - ident] = '\0';
	return true;
}

/*
 * The class named @name: its index in cfg->classes while parsing (ids
 * are given once every section is read), or -1. "default" names class 0
 * even without a section of its own.
 */
static int class_index(const struct config *cfg, const char *name)
{
	unsigned int i;

	for (i = 0; i < cfg->nclasses; i++)
		if (!strcmp(cfg->classes[i].name, name))
			return i;
	return -1;
}

static int class_ref(struct parse *p, const char *name)
{
	struct config *cfg = p->cfg;
	struct config_class *cl;
	int k = class_index(cfg, name);

	if (k >= 0)
		return k;
	if (strcmp(name, "default") || cfg->nclasses == CONFIG_MAX_CLASSES)
		return -1;
	cl = &cfg->classes[cfg->nclasses];
	memset(cl, 0, sizeof(*cl));
	snprintf(cl->name, sizeof(cl->name), "default");
	return cfg->nclasses++;
}

static int no_class(struct parse *p, const char *key, const char *name)
{
	char what[96];

	snprintf(what, sizeof(what), "%s: no class '%.40s'", key, name);
	return fail(p, "%s (a [class NAME] section, or default)", what, NULL);
}

/*
 * The next item of a comma-separated list at *@s, blanks around it taken
 * off, into @buf (@size bytes); *@s then points at the ',' after it or at
 * the end. Its length, or 0 if it is empty or does not fit.
 */
static size_t list_item(const char **s, char *buf, size_t size)
{
	const char *i = *s + strspn(*s, " \t");
	size_t n = strcspn(i, ",");

	*s = i + n;
	while (n && (i[n - 1] == ' ' || i[n - 1] == '\t'))
		n--;
	if (!n || n >= size)
		return 0;
	memcpy(buf, i, n);
	buf[n] = '\0';
	return n;
}

/* "a,b,c": the classes, as a mask of indexes into cfg->classes. */
static int class_list(struct parse *p, const char *key, const char *val,
		      uint64_t *mask)
{
	char buf[CONFIG_NAME_LEN];
	const char *s = val;
	int k;

	*mask = 0;
	do {
		if (!list_item(&s, buf, sizeof(buf)))
			return fail(p, "%s: '%s' is not a list of class names "
				    "(a,b,c)", key, val);
		k = class_ref(p, buf);
		if (k < 0)
			return no_class(p, key, buf);
		*mask |= 1ULL << k;
	} while (*s++ == ',');
	return 1;
}

/*
 * classifier = OFFSET LEN VALUE=CLASS...: the LEN (1-8) bytes at OFFSET
 * of a request's payload; the first rule whose VALUE (LEN bytes in hex)
 * they are gives the class. 1, or 0 with the reason.
 */
static int parse_classifier(struct parse *p, const char *val,
			    struct config_classifier *c)
{
	char copy[512], *tok, *save, *eq;
	unsigned int len;
	uint32_t v;
	int k;

	memset(c, 0, sizeof(*c));
	if (strlen(val) >= sizeof(copy))
		return fail(p, "classifier: too long", NULL, NULL);
	strcpy(copy, val);
	tok = strtok_r(copy, " \t", &save);
	if (!tok || !parse_u32(tok, 0, 4095, &v))
		return fail(p, "classifier: want OFFSET (0-4095) LEN (1-8) "
			    "VALUE=CLASS..., not '%s'", val, NULL);
	c->offset = v;
	tok = strtok_r(NULL, " \t", &save);
	if (!tok || !parse_u32(tok, 1, CONFIG_CLASSIFIER_VALUE, &v))
		return fail(p, "classifier: want OFFSET (0-4095) LEN (1-8) "
			    "VALUE=CLASS..., not '%s'", val, NULL);
	c->len = v;
	while ((tok = strtok_r(NULL, " \t", &save))) {
		eq = strchr(tok, '=');
		if (c->nrules == CONFIG_CLASSIFIER_RULES)
			return fail(p, "classifier: more than 16 rules", NULL,
				    NULL);
		if (!eq)
			return fail(p, "classifier: rule '%s' is not VALUE=CLASS",
				    tok, NULL);
		*eq = '\0';
		if (!parse_hex(tok, c->rules[c->nrules].value,
			       CONFIG_CLASSIFIER_VALUE, &len) || len != c->len)
			return fail(p, "classifier: value '%s' is not LEN bytes "
				    "in hex (two digits a byte)", tok, NULL);
		k = class_ref(p, eq + 1);
		if (k < 0)
			return no_class(p, "classifier", eq + 1);
		c->rules[c->nrules++].klass = k;
	}
	if (!c->nrules)
		return fail(p, "classifier: no VALUE=CLASS rule in '%s'", val,
			    NULL);
	c->set = true;
	return 1;
}

static int port_key(struct parse *p, struct config_port *cp,
		    const char *key, const char *val)
{
	struct config_u32 *u;
	unsigned int i;
	int k;

	for (i = 0; i < sizeof(port_nums) / sizeof(port_nums[0]); i++) {
		if (strcmp(key, port_nums[i].key))
			continue;
		u = (struct config_u32 *)((char *)cp + port_nums[i].off);
		if (!parse_u32(val, port_nums[i].lo, port_nums[i].hi, &u->v))
			return fail(p, "%s: invalid value '%s'", key, val);
		u->set = true;
		return 1;
	}
	if (!strcmp(key, "role")) {
		k = lookup(roles, 3, val);
		if (k < 0)
			return fail(p, "role: '%s' is not off, station or server",
				    val, NULL);
		cp->role.set = true;
		cp->role.v = k;
	} else if (!strcmp(key, "parity")) {
		k = lookup(parities, 5, val);
		if (k < 0)
			return fail(p, "parity: invalid value '%s'", val, NULL);
		cp->parity.set = true;
		cp->parity.v = k;
	} else if (!strcmp(key, "name")) {
		if (!name_valid(val))
			return fail(p, "name: '%s' is not 1-31 of [A-Za-z0-9._:-]",
				    val, NULL);
		snprintf(cp->name, sizeof(cp->name), "%s", val);
	} else if (!strcmp(key, "weight")) {
		if (!parse_u32(val, 1, 1000, &cp->weight))
			return fail(p, "weight: invalid value '%s' (1-1000)",
				    val, NULL);
	} else if (!strcmp(key, "enabled")) {
		if (!parse_bool(val, &cp->enabled))
			return fail(p, "enabled: '%s' is not yes or no", val,
				    NULL);
	} else if (!strcmp(key, "server")) {
		if (!port_ident(val, cp->pin_card, &cp->pin_index))
			return fail(p, "server: '%s' is not <pci address>-<index>",
				    val, NULL);
	} else if (!strcmp(key, "class")) {
		k = class_ref(p, val);
		if (k < 0)
			return no_class(p, key, val);
		cp->klass.set = true;
		cp->klass.v = k;
	} else if (!strcmp(key, "classes")) {
		cp->classes_set = true;
		return class_list(p, key, val, &cp->classes);
	} else if (!strcmp(key, "priority")) {
		if (!parse_u32(val, 0, 7, &cp->priority.v))
			return fail(p, "priority: '%s' is not 0-7", val, NULL);
		cp->priority.set = true;
	} else if (!strcmp(key, "classifier")) {
		return parse_classifier(p, val, &cp->classifier);
	} else if (!strcmp(key, "framing")) {
		k = ph_framing_parse(val);
		if (k < 0)
			return fail(p, "framing: '%s' is not %s", val,
				    framing_names);
		cp->framing.set = true;
		cp->framing.v = k;
		return framing_fits(p, cp, key);
	} else if (!strcmp(key, "lrc")) {
		bool on;

		if (!parse_bool(val, &on))
			return fail(p, "lrc: '%s' is not yes or no (1 or 0)",
				    val, NULL);
		cp->lrc.set = true;
		cp->lrc.v = on;
		return framing_fits(p, cp, key);
	} else if (!strcmp(key, "error_frame")) {
		const char *why = parse_error_frame(val, cp);

		if (why)
			return fail(p, "error_frame: %s", why, NULL);
		return framing_fits(p, cp, key);
	} else {
		return fail(p, "unknown key '%s' in a port section", key, NULL);
	}
	return 1;
}

/* The line of the first header of section @name (as inih passes it). */
static unsigned int section_line(const struct parse *p, const char *name)
{
	unsigned int i;

	for (i = 0; i < p->nheaders; i++)
		if (!strcmp(p->headers[i].text, name))
			return p->headers[i].line;
	return 0;
}

/* [port IDENT]: @section is "port IDENT". */
static struct config_port *port_section(struct parse *p, const char *section)
{
	const char *ident = section + 5;
	struct config *cfg = p->cfg;
	struct config_port *cp;
	char card[32];
	unsigned int i, index;

	if (!port_ident(ident, card, &index)) {
		fail(p, "port section '%s': want [port <pci address>-<index>]",
		     ident, NULL);
		return NULL;
	}
	for (i = 0; i < cfg->nports; i++)
		if (!strcmp(cfg->ports[i].card, card) &&
		    cfg->ports[i].index == index)
			return &cfg->ports[i];
	if (cfg->nports == CONFIG_MAX_PORTS) {
		fail(p, "too many port sections", NULL, NULL);
		return NULL;
	}
	cp = &cfg->ports[cfg->nports++];
	memset(cp, 0, sizeof(*cp));
	snprintf(cp->card, sizeof(cp->card), "%s", card);
	cp->index = index;
	cp->line = section_line(p, section);
	cp->weight = 1;
	cp->enabled = true;
	return cp;
}

/* [tty /dev/serial/by-id/...]: a tty, by a path that names it for good. */
static struct config_port *tty_section(struct parse *p, const char *section)
{
	const char *ref = section + 4;
	struct config *cfg = p->cfg;
	struct config_port *cp;
	const char *path = ref;
	unsigned int i;

	/* A header config_parse() set aside (see there). */
	if (ref[0] == '@' && sscanf(ref + 1, "%u", &i) == 1 && i < p->nttys)
		path = p->ttys[i];

	if (strncmp(path, "/dev/", 5) || strlen(path) >= sizeof(cp->tty) ||
	    strstr(path, "/../")) {
		fail(p, "tty section '%s': want [tty /dev/...], e.g. a "
		     "/dev/serial/by-id or by-path name", path, NULL);
		return NULL;
	}
	for (i = 0; i < cfg->nports; i++)
		if (!strcmp(cfg->ports[i].tty, path))
			return &cfg->ports[i];
	if (cfg->nports == CONFIG_MAX_PORTS) {
		fail(p, "too many port sections", NULL, NULL);
		return NULL;
	}
	cp = &cfg->ports[cfg->nports++];
	memset(cp, 0, sizeof(*cp));
	snprintf(cp->tty, sizeof(cp->tty), "%s", path);
	cp->line = section_line(p, section);
	cp->weight = 1;
	cp->enabled = true;
	return cp;
}

static struct config_tcp *tcp_section(struct parse *p, const char *section)
{
	const char *name = section + 4;
	struct config *cfg = p->cfg;
	struct config_tcp *t;
	unsigned int i;

	if (!name_valid(name)) {
		fail(p, "tcp section '%s': the name is 1-31 of [A-Za-z0-9._:-]",
		     name, NULL);
		return NULL;
	}
	for (i = 0; i < cfg->ntcp; i++)
		if (!strcmp(cfg->tcp[i].name, name))
			return &cfg->tcp[i];
	if (cfg->ntcp == CONFIG_MAX_TCP) {
		fail(p, "too many tcp sections", NULL, NULL);
		return NULL;
	}
	t = &cfg->tcp[cfg->ntcp++];
	memset(t, 0, sizeof(*t));
	snprintf(t->name, sizeof(t->name), "%s", name);
	t->line = section_line(p, section);
	t->timeout_ms = 2000;
	t->framing = PH_FRAMING_HDLC;
	t->queue_depth = 1;
	t->tls_min = 13;
	return t;
}

/* A host name: labels of [A-Za-z0-9-], dot-separated. */
static bool hostname_valid(const char *s, size_t n)
{
	size_t i;

	if (!n || s[0] == '.' || s[0] == '-' || s[n - 1] == '.')
		return false;
	for (i = 0; i < n; i++)
		if (!strchr("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
			    "0123456789.-", s[i]) ||
		    (s[i] == '.' && s[i + 1] == '.'))
			return false;
	return true;
}

/*
 * HOST:PORT, HOST a name or an IPv4 address, or [IPV6]:PORT, the IPv6
 * address optionally with its %zone (fe80::1%eth0). NULL, or why not.
 */
static const char *parse_address(const char *val, struct config_tcp *t)
{
	char addr[INET6_ADDRSTRLEN + 1];
	const char *host = val, *end, *pct;
	uint32_t v;
	size_t n;

	if (*val == '[') {
		host = val + 1;
		end = strchr(host, ']');
		if (!end || end[1] != ':')
			return "want [IPv6 address]:port";
		n = end - host;
		pct = memchr(host, '%', n);
		if ((pct ? (size_t)(pct - host) : n) >= sizeof(addr) ||
		    n >= sizeof(t->host))
			return "not an IPv6 address";
		memcpy(addr, host, pct ? (size_t)(pct - host) : n);
		addr[pct ? pct - host : (long)n] = '\0';
		if (inet_pton(AF_INET6, addr, &(struct in6_addr){ 0 }) != 1)
			return "not an IPv6 address";
		if (pct && (pct + 1 == end ||
			    !hostname_valid(pct + 1, end - pct - 1)))
			return "not an IPv6 zone (an interface name)";
		end++;
	} else {
		end = strrchr(val, ':');
		if (!end || end == val)
			return "want host:port or [IPv6 address]:port";
		n = end - host;
		if (memchr(host, ':', n))
			return "an IPv6 address goes in brackets: [address]:port";
		if (n >= sizeof(t->host))
			return "host name too long";
		/* Digits and dots only: it must be a whole IPv4 address. */
		memcpy(addr, host, n < sizeof(addr) ? n : sizeof(addr) - 1);
		addr[n < sizeof(addr) ? n : sizeof(addr) - 1] = '\0';
		if (strspn(host, "0123456789.") >= n ?
		    inet_pton(AF_INET, addr, &(struct in_addr){ 0 }) != 1 :
		    !hostname_valid(host, n))
			return "not a host name or IPv4 address";
	}
	if (!parse_u32(end + 1, 1, 65535, &v))
		return "the port is not 1-65535";
	memcpy(t->host, host, n);
	t->host[n] = '\0';
	t->port = v;
	return NULL;
}

static int tcp_key(struct parse *p, struct config_tcp *t, const char *key,
		   const char *val)
{
	const char *why;

	if (!strcmp(key, "address")) {
		why = parse_address(val, t);
		if (why)
			return fail(p, "address: '%s': %s", val, why);
	} else if (!strcmp(key, "timeout_ms")) {
		if (!parse_u32(val, 1, 600000, &t->timeout_ms))
			return fail(p, "timeout_ms: invalid value '%s'", val,
				    NULL);
	} else if (!strcmp(key, "framing")) {
		/* A byte stream: only the framings that need no silence. */
		int k = ph_framing_parse(val);

		if (k != PH_FRAMING_HDLC && k != PH_FRAMING_LEN16)
			return fail(p, "framing: a [tcp] server speaks hdlc or "
				    "len16, not '%s'", val, NULL);
		t->framing = k;
	} else if (!strcmp(key, "classes")) {
		return class_list(p, key, val, &t->classes);
	} else if (!strcmp(key, "header_len")) {
		if (!parse_u32(val, 0, TCP_HEADER_MAX, &t->header_len))
			return fail(p, "header_len: invalid value '%s' (0-16)",
				    val, NULL);
	} else if (!strcmp(key, "tls")) {
		if (!parse_bool(val, &t->tls))
			return fail(p, "tls: want yes or no, not '%s'", val, NULL);
	} else if (!strcmp(key, "ca") || !strcmp(key, "cert") ||
		   !strcmp(key, "key")) {
		char *dst = key[0] == 'c' ? (key[1] == 'a' ? t->ca : t->cert) :
			    t->key;

		if (val[0] != '/' || strlen(val) >= sizeof(t->ca))
			return fail(p, "%s: want an absolute path of at most "
				    "255 characters, not '%s'", key, val);
		strcpy(dst, val);	/* length checked */
	} else if (!strcmp(key, "pin")) {
		unsigned int n;

		if (!strncmp(val, "sha256:", 7))
			val += 7;
		if (!parse_hex(val, t->pin, sizeof(t->pin), &n) ||
		    n != sizeof(t->pin))
			return fail(p, "pin: want sha256: and 64 hex digits "
				    "(the server's public key's SHA-256), not "
				    "'%s'", val, NULL);
		t->pin_set = true;
	} else if (!strcmp(key, "tls_min")) {
		if (!strcmp(val, "1.2"))
			t->tls_min = 12;
		else if (!strcmp(val, "1.3"))
			t->tls_min = 13;
		else
			return fail(p, "tls_min: want 1.2 or 1.3, not '%s'",
				    val, NULL);
	} else if (!strcmp(key, "ktls")) {
		if (!strcmp(val, "auto"))
			t->ktls_no = false;
		else if (!strcmp(val, "no"))
			t->ktls_no = true;
		else
			return fail(p, "ktls: want auto or no, not '%s'", val,
				    NULL);
	} else if (!strcmp(key, "queue_depth")) {
		if (!parse_u32(val, 1, TCP_DEPTH_MAX, &t->queue_depth))
			return fail(p, "queue_depth: invalid value '%s' (1-64)",
				    val, NULL);
	} else {
		return fail(p, "unknown key '%s' in a tcp section", key, NULL);
	}
	return 1;
}

static int class_key(struct parse *p, const char *section, const char *key,
		     const char *val)
{
	int k = class_ref(p, section + 6);
	struct config_class *cl;

	if (k < 0)	/* every [class] header was read before the keys */
		return fail(p, "class section '%s': the name is 1-31 of "
			    "[A-Za-z0-9._:-]", section + 6, NULL);
	cl = &p->cfg->classes[k];
	if (!strcmp(key, "id")) {
		if (!parse_u32(val, 0, CONFIG_MAX_CLASSES - 1, &cl->id))
			return fail(p, "id: '%s' is not 0-63", val, NULL);
		cl->id_set = true;
	} else if (!strcmp(key, "max_wait_ms")) {
		if (!parse_u32(val, 0, 3600000, &cl->max_wait_ms))
			return fail(p, "max_wait_ms: '%s' is not 0-3600000",
				    val, NULL);
	} else {
		return fail(p, "unknown key '%s' in a class section", key,
			    NULL);
	}
	return 1;
}

/* A NATS subject token: no dot, wildcard or white space. */
static bool token_valid(const char *s)
{
	return name_valid(s) && !strpbrk(s, ".*> \t");
}

/* "a, b": each item of @val, trimmed, into @fn; 1, or 0 with the reason. */
static int cascade_servers(struct parse *p, struct config_cascade *c,
			   const char *val)
{
	const char *s = val;
	char *url;
	size_t n;

	c->nservers = 0;
	do {
		s += strspn(s, " \t");
		n = strcspn(s, ",");
		while (n && (s[n - 1] == ' ' || s[n - 1] == '\t'))
			n--;
		if (!n)
			return fail(p, "servers: '%s' is not a list of URLs "
				    "(nats://host:port, ...)", val, NULL);
		if (c->nservers == CONFIG_CASCADE_SERVERS)
			return fail(p, "servers: more than 8 in '%s'", val,
				    NULL);
		url = c->servers[c->nservers];
		if (n >= sizeof(c->servers[0]) ||
		    (strncmp(s, "nats://", 7) && strncmp(s, "tls://", 6)) ||
		    memchr(s, ' ', n) || memchr(s, '\t', n))
			return fail(p, "servers: want nats://HOST:PORT or "
				    "tls://HOST:PORT items, not '%s'", val,
				    NULL);
		memcpy(url, s, n);
		url[n] = '\0';
		if (!url[strcspn(url, ":") + 3])
			return fail(p, "servers: '%s' names no host", url,
				    NULL);
		c->nservers++;
		s += strcspn(s, ",");
	} while (*s++ == ',');
	return 1;
}

/*
 * "0,keys": classes by id or by name. Names become indexes into
 * cfg->classes in @names (as class_list() does), ids go in @ids.
 */
static int cascade_classes(struct parse *p, const char *key, const char *val,
			   uint64_t *names, uint64_t *ids)
{
	char buf[CONFIG_NAME_LEN];
	const char *s = val;
	uint32_t v;
	size_t n;
	int k;

	*names = *ids = 0;
	do {
		n = list_item(&s, buf, sizeof(buf));
		if (!n)
			return fail(p, "%s: '%s' is not a list of classes "
				    "(ids or names: 0,keys)", key, val);
		if (strspn(buf, "0123456789") == n) {
			if (!parse_u32(buf, 0, CONFIG_MAX_CLASSES - 1, &v))
				return fail(p, "%s: class %s is not 0-63", key,
					    buf);
			*ids |= 1ULL << v;
		} else {
			k = class_ref(p, buf);
			if (k < 0)
				return no_class(p, key, buf);
			if (!token_valid(buf))
				return fail(p, "%s: class '%s' cannot name a "
					    "subject (no '.')", key, buf);
			*names |= 1ULL << k;
		}
	} while (*s++ == ',');
	return 1;
}

static int cascade_key(struct parse *p, const char *key, const char *val)
{
	struct config_cascade *c = &p->cfg->cascade;

	if (!strcmp(key, "servers")) {
		return cascade_servers(p, c, val);
	} else if (!strcmp(key, "site") || !strcmp(key, "name")) {
		if (!token_valid(val))
			return fail(p, "%s: '%s' is not 1-31 of [A-Za-z0-9_:-]",
				    key, val);
		snprintf(key[0] == 's' ? c->site : c->name, CONFIG_NAME_LEN,
			 "%s", val);
	} else if (!strcmp(key, "ca") || !strcmp(key, "cert") ||
		   !strcmp(key, "key")) {
		char *dst = key[0] == 'c' ? (key[1] == 'a' ? c->ca : c->cert) :
			    c->key;

		if (val[0] != '/' || strlen(val) >= sizeof(c->ca))
			return fail(p, "%s: want an absolute path of at most "
				    "255 characters, not '%s'", key, val);
		strcpy(dst, val);	/* length checked */
	} else if (!strcmp(key, "offer")) {
		return cascade_classes(p, key, val, &p->offer_names, &c->offer);
	} else if (!strcmp(key, "use")) {
		return cascade_classes(p, key, val, &p->use_names, &c->use);
	} else if (!strcmp(key, "depth")) {
		if (!parse_u32(val, 1, CONFIG_CASCADE_DEPTH, &c->depth))
			return fail(p, "depth: '%s' is not 1-64", val, NULL);
	} else if (!strcmp(key, "timeout_ms")) {
		if (!parse_u32(val, 0, 600000, &c->timeout_ms))
			return fail(p, "timeout_ms: '%s' is not 0-600000", val,
				    NULL);
	} else {
		return fail(p, "unknown key '%s' in [cascade]", key, NULL);
	}
	return 1;
}

static int handler(void *user, const char *section, const char *key,
		   const char *val)
{
	struct parse *p = user;
	struct config *cfg = p->cfg;
	struct config_port *cp;
	struct config_tcp *t;
	uint32_t v;

	if (!strncmp(section, "port ", 5)) {
		cp = port_section(p, section);
		return cp ? port_key(p, cp, key, val) : 0;
	}
	if (!strncmp(section, "tty ", 4)) {
		cp = tty_section(p, section);
		return cp ? port_key(p, cp, key, val) : 0;
	}
	if (!strncmp(section, "tcp ", 4)) {
		t = tcp_section(p, section);
		return t ? tcp_key(p, t, key, val) : 0;
	}
	if (!strncmp(section, "class ", 6))
		return class_key(p, section, key, val);
	if (!strcmp(section, "cascade"))
		return cascade_key(p, key, val);
	if (strcmp(section, "daemon"))
		return fail(p, "unknown section [%s]", section, NULL);
	if (!strcmp(key, "realtime")) {
		if (!parse_bool(val, &cfg->realtime))
			return fail(p, "realtime: '%s' is not yes or no", val,
				    NULL);
	} else if (!strcmp(key, "priority")) {
		if (!parse_u32(val, 1, 99, &v))
			return fail(p, "priority: '%s' is not 1-99", val, NULL);
		cfg->priority = v;
	} else if (!strcmp(key, "cpu")) {
		if (!strcmp(val, "-1"))
			cfg->cpu = -1;
		else if (parse_u32(val, 0, 4095, &v))
			cfg->cpu = v;
		else
			return fail(p, "cpu: invalid value '%s'", val, NULL);
	} else if (!strcmp(key, "resync_ms")) {
		if (!parse_u32(val, 10, 3600000, &v))
			return fail(p, "resync_ms: invalid value '%s'", val,
				    NULL);
		cfg->resync_ms = v;
	} else if (!strcmp(key, "event_buffer")) {
		if (!parse_u32(val, 1024, 1 << 28, &v))
			return fail(p, "event_buffer: '%s' is not 1024-268435456 "
				    "bytes", val, NULL);
		cfg->event_buffer = v;
	} else if (!strcmp(key, "probe_interval_ms")) {
		if (!parse_u32(val, 0, 3600000, &v))
			return fail(p, "probe_interval_ms: invalid value '%s'",
				    val, NULL);
		cfg->probe_interval_ms = v;
	} else if (!strcmp(key, "probe_frame")) {
		if (!parse_hex(val, cfg->probe_frame, sizeof(cfg->probe_frame),
			       &cfg->probe_len))
			return fail(p, "probe_frame: '%s' is not 1-64 bytes of hex",
				    val, NULL);
	} else if (!strcmp(key, "stats_file")) {
		if (strlen(val) >= sizeof(cfg->stats_file))
			return fail(p, "stats_file: path too long", NULL, NULL);
		snprintf(cfg->stats_file, sizeof(cfg->stats_file), "%s", val);
	} else if (!strcmp(key, "audit")) {
		if (!parse_bool(val, &cfg->audit))
			return fail(p, "audit: '%s' is not yes or no", val, NULL);
	} else if (!strcmp(key, "metrics_dir")) {
		if (strlen(val) >= sizeof(cfg->metrics_dir) ||
		    (val[0] != '/' && strcmp(val, "none")))
			return fail(p, "metrics_dir: '%s' is neither an absolute "
				    "path (at most 200 bytes) nor none", val,
				    NULL);
		snprintf(cfg->metrics_dir, sizeof(cfg->metrics_dir), "%s",
			 strcmp(val, "none") ? val : "");
	} else if (!strcmp(key, "metrics_interval_ms")) {
		if (!parse_u32(val, 100, 3600000, &v))
			return fail(p, "metrics_interval_ms: '%s' is not "
				    "100-3600000", val, NULL);
		cfg->metrics_interval_ms = v;
	} else {
		return fail(p, "unknown key '%s' in [daemon]", key, NULL);
	}
	return 1;
}

/*
 * The first line that is neither blank, a comment, a [section] nor a
 * key = value; 0 if none. inih reports one line for its syntax errors and
 * our handler's, so syntax is checked first to name the right reason.
 */
static int syntax_error_line(FILE *f)
{
	char buf[1024], *s, *e;
	int line = 0;

	while (fgets(buf, sizeof(buf), f)) {
		line++;
		for (s = buf; *s == ' ' || *s == '\t'; s++)
			;
		e = s + strcspn(s, "\r\n");
		*e = '\0';
		if (!*s || *s == ';' || *s == '#')
			continue;
		if (*s == '[') {
			if (!strchr(s, ']'))
				return line;
			continue;
		}
		if (!strpbrk(s, "=:"))
			return line;
	}
	return 0;
}

static int add_header(struct parse *p, const char *text, size_t len,
		      unsigned int line)
{
	struct header *h;

	if (p->nheaders == p->cap) {
		h = realloc(p->headers, (2 * p->cap + 16) * sizeof(*h));
		if (!h)
			return -1;
		p->headers = h;
		p->cap = 2 * p->cap + 16;
	}
	h = &p->headers[p->nheaders++];
	if (len > SECTION_KEPT)
		len = SECTION_KEPT;
	memcpy(h->text, text, len);
	h->text[len] = '\0';
	h->line = line;
	return 0;
}

/*
 * Every [class NAME] header, in order of appearance, before any key is
 * read: a port may name a class whose section comes later. A header seen
 * again is the same class. 0, or -1 with @err.
 */
static int classes_from_headers(struct parse *p, const char *name,
				char *err, size_t errlen)
{
	struct config *cfg = p->cfg;
	struct config_class *cl;
	const char *cname;
	unsigned int i;

	for (i = 0; i < p->nheaders; i++) {
		if (strncmp(p->headers[i].text, "class ", 6))
			continue;
		cname = p->headers[i].text + 6;
		if (!name_valid(cname)) {
			snprintf(err, errlen, "%s:%u: class section '%s': the "
				 "name is 1-31 of [A-Za-z0-9._:-]", name,
				 p->headers[i].line, cname);
			return -1;
		}
		if (class_index(cfg, cname) >= 0)
			continue;
		if (cfg->nclasses == CONFIG_MAX_CLASSES) {
			snprintf(err, errlen, "%s:%u: more than 64 classes",
				 name, p->headers[i].line);
			return -1;
		}
		cl = &cfg->classes[cfg->nclasses++];
		memset(cl, 0, sizeof(*cl));
		snprintf(cl->name, sizeof(cl->name), "%s", cname);
		cl->line = p->headers[i].line;
	}
	return 0;
}

/* A mask of indexes into cfg->classes as a mask of class ids. */
static uint64_t class_ids(const struct config *cfg, uint64_t idx)
{
	uint64_t ids = 0;
	unsigned int k;

	for (k = 0; k < cfg->nclasses; k++)
		if (idx >> k & 1)
			ids |= 1ULL << cfg->classes[k].id;
	return ids;
}

/*
 * Number the classes: "default" is 0, an "id = N" is kept, the others
 * take the lowest ids free in order of appearance. Then every reference
 * to a class becomes its id. 0, or -1 with @err.
 */
static int classes_number(struct config *cfg, const char *name, char *err,
			  size_t errlen)
{
	struct config_class *cl;
	uint64_t used = 0;
	unsigned int i, j, r;

	for (i = 0; i < cfg->nclasses; i++) {
		cl = &cfg->classes[i];
		if (strcmp(cl->name, "default"))
			continue;
		if (cl->id_set && cl->id) {
			snprintf(err, errlen, "%s:%u: [class default] is class "
				 "0, not %u", name, cl->line, cl->id);
			return -1;
		}
		cl->id_set = true;
		cl->id = 0;
	}
	for (i = 0; i < cfg->nclasses; i++) {
		cl = &cfg->classes[i];
		if (!cl->id_set)
			continue;
		if (used >> cl->id & 1) {
			for (j = 0; cfg->classes[j].id != cl->id ||
				    !cfg->classes[j].id_set; j++)
				;
			snprintf(err, errlen, "%s:%u: [class %s]: id %u is "
				 "already class %s's", name, cl->line, cl->name,
				 cl->id, cfg->classes[j].name);
			return -1;
		}
		used |= 1ULL << cl->id;
	}
	for (i = 0; i < cfg->nclasses; i++) {
		cl = &cfg->classes[i];
		if (cl->id_set)
			continue;
		cl->id = __builtin_ctzll(~used);
		used |= 1ULL << cl->id;
	}
	for (i = 0; i < cfg->nports; i++) {
		struct config_port *cp = &cfg->ports[i];

		if (cp->klass.set)
			cp->klass.v = cfg->classes[cp->klass.v].id;
		if (cp->classes_set)
			cp->classes = class_ids(cfg, cp->classes);
		for (r = 0; r < cp->classifier.nrules; r++)
			cp->classifier.rules[r].klass =
				cfg->classes[cp->classifier.rules[r].klass].id;
	}
	for (i = 0; i < cfg->ntcp; i++)
		cfg->tcp[i].classes = cfg->tcp[i].classes ?
				      class_ids(cfg, cfg->tcp[i].classes) : 1;
	return 0;
}

const struct config_class *config_class_find(const struct config *cfg,
					     uint32_t id)
{
	unsigned int i;

	for (i = 0; i < cfg->nclasses; i++)
		if (cfg->classes[i].id == id)
			return &cfg->classes[i];
	return NULL;
}

/* [cascade] as a whole: what no single key can tell. 0, or -1 with @err. */
static int cascade_check(const struct config *cfg, const char *name,
			 char *err, size_t errlen)
{
	const struct config_cascade *c = &cfg->cascade;
	unsigned int tls = !!c->ca[0] + !!c->cert[0] + !!c->key[0];

	if (!c->set)
		return 0;
	if (!c->nservers) {
		snprintf(err, errlen, "%s:%u: [cascade] has no servers", name,
			 c->line);
		return -1;
	}
	if (!c->site[0]) {
		snprintf(err, errlen, "%s:%u: [cascade] has no site (the "
			 "subjects' prefix)", name, c->line);
		return -1;
	}
	if (tls && tls != 3) {
		snprintf(err, errlen, "%s:%u: [cascade] TLS needs ca, cert and "
			 "key, all three", name, c->line);
		return -1;
	}
	return 0;
}

const char *config_class_token(const struct config *cfg, uint32_t id,
			       char *buf, size_t len)
{
	const struct config_class *cl = config_class_find(cfg, id);

	if (cl)
		snprintf(buf, len, "%s", cl->name);
	else if (!id)
		snprintf(buf, len, "default");
	else
		snprintf(buf, len, "%u", id);
	return buf;
}

/* Parse @text (read from @name, for messages) into @cfg. */
int config_parse(const char *text, const char *name, struct config *cfg,
		 char *err, size_t errlen)
{
	struct parse p = { .cfg = cfg };
	char *copy, *s, *eol;
	unsigned int i, j;
	FILE *f;
	int line, n;

	config_defaults(cfg);
	f = fmemopen((void *)text, strlen(text), "r");
	if (!f) {
		snprintf(err, errlen, "%s: %s", name, strerror(errno));
		return -1;
	}
	line = syntax_error_line(f);
	fclose(f);
	if (line) {
		snprintf(err, errlen, "%s:%d: syntax error", name, line);
		return -1;
	}
	/*
	 * One pass over a copy, lines kept where they were:
	 * - inih keeps only the first 49 bytes of a section header, and a
	 *   /dev/serial/by-id path is longer: each [tty PATH] header is handed
	 *   to it as [tty @N], its path kept here;
	 * - every header is noted with its line, for messages about sections;
	 * - a ';' or '#' after a space or tab on a key's line starts a comment
	 *   (inih knows ';' only): blanked here. A '#' with no space before it
	 *   is part of the value. Values are never quoted.
	 */
	copy = strdup(text);
	p.ttys = calloc(CONFIG_MAX_PORTS, sizeof(*p.ttys));
	if (!copy || !p.ttys) {
		free(copy);
		free(p.ttys);
		snprintf(err, errlen, "%s: out of memory", name);
		return -1;
	}
	line = 0;
	for (s = copy; *s; s = eol + (*eol == '\n')) {
		char *open, *close, *c;

		line++;
		eol = s + strcspn(s, "\n");
		open = s + strspn(s, " \t");
		if (*open != '[') {
			if (*open == ';' || *open == '#')
				continue;
			for (c = open + 1; c < eol; c++)
				if ((*c == '#' || *c == ';') &&
				    (c[-1] == ' ' || c[-1] == '\t')) {
					memset(c, ' ', eol - c);
					break;
				}
			continue;
		}
		close = memchr(open, ']', eol - open);
		if (!close)
			continue;
		if (!strncmp(open, "[tty ", 5) && p.nttys < CONFIG_MAX_PORTS &&
		    close - (open + 5) < (long)sizeof(p.ttys[0])) {
			memcpy(p.ttys[p.nttys], open + 5, close - (open + 5));
			p.ttys[p.nttys][close - (open + 5)] = '\0';
			/* "[tty @N]" is never longer than what it replaces */
			n = snprintf(open, close - open + 1, "[" TTY_REF "%u",
				     p.nttys++);
			if (n < close - open) {
				memmove(open + n, close, strlen(close) + 1);
				close = open + n;
				eol = close + strcspn(close, "\n");
			}
		}
		if (add_header(&p, open + 1, close - (open + 1), line)) {
			free(copy);
			free(p.ttys);
			free(p.headers);
			snprintf(err, errlen, "%s: out of memory", name);
			return -1;
		}
	}
	line = classes_from_headers(&p, name, err, errlen) ? -1 :
	       ini_parse_string(copy, handler, &p);
	/* A [cascade] header with no key is a cascade with no servers. */
	cfg->cascade.line = section_line(&p, "cascade");
	cfg->cascade.set = cfg->cascade.line != 0;
	free(copy);
	free(p.ttys);
	free(p.headers);
	if (line < 0)
		return -1;
	if (line) {
		snprintf(err, errlen, "%s:%d: %s", name, line,
			 p.reason[0] ? p.reason : "syntax error");
		return -1;
	}
	for (i = 0; i < cfg->ntcp; i++)
		if (!cfg->tcp[i].port) {
			snprintf(err, errlen, "%s:%u: [tcp %s] has no address",
				 name, cfg->tcp[i].line, cfg->tcp[i].name);
			return -1;
		}
	for (i = 0; i < cfg->ntcp; i++) {
		const struct config_tcp *t = &cfg->tcp[i];

		if (t->tls && (!t->ca[0] || !t->cert[0] || !t->key[0])) {
			snprintf(err, errlen, "%s:%u: [tcp %s] tls = yes needs "
				 "ca, cert and key", name, t->line, t->name);
			return -1;
		}
		/* Without a tag, answers can only come in order. */
		if (t->queue_depth > 1 && !t->header_len) {
			snprintf(err, errlen, "%s:%u: [tcp %s] queue_depth %u "
				 "needs header_len (a tag to match answers by)",
				 name, t->line, t->name, t->queue_depth);
			return -1;
		}
		/* Its servers are NAME, NAME.2 ... NAME.<depth>. */
		if (t->queue_depth > 1 &&
		    strlen(t->name) + 1 + (t->queue_depth > 9 ? 2 : 1) >=
		    CONFIG_NAME_LEN) {
			snprintf(err, errlen, "%s:%u: [tcp %s] the name is too "
				 "long for queue_depth %u (NAME.%u)", name,
				 t->line, t->name, t->queue_depth,
				 t->queue_depth);
			return -1;
		}
	}
	if (cascade_check(cfg, name, err, errlen))
		return -1;
	/* Names name device nodes: no two ports may share one. */
	for (i = 0; i < cfg->nports; i++)
		for (j = i + 1; j < cfg->nports; j++)
			if (cfg->ports[i].name[0] &&
			    !strcmp(cfg->ports[i].name, cfg->ports[j].name)) {
				snprintf(err, errlen, "%s:%u: name '%s' used twice",
					 name, cfg->ports[j].line,
					 cfg->ports[i].name);
				return -1;
			}
	if (classes_number(cfg, name, err, errlen))
		return -1;
	cfg->cascade.offer |= class_ids(cfg, p.offer_names);
	cfg->cascade.use |= class_ids(cfg, p.use_names);
	return 0;
}

int config_load(const char *path, struct config *cfg, char *err,
		size_t errlen)
{
	static char text[1 << 20];
	size_t n;
	FILE *f;
	int ret;

	config_defaults(cfg);
	f = fopen(path, "r");
	if (!f) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return -1;
	}
	n = fread(text, 1, sizeof(text) - 1, f);
	ret = ferror(f) || !feof(f);
	fclose(f);
	if (ret) {
		snprintf(err, errlen, "%s: unreadable or larger than 1 MiB",
			 path);
		return -1;
	}
	text[n] = '\0';
	if (memchr(text, '\0', n)) {
		snprintf(err, errlen, "%s: not a text file", path);
		return -1;
	}
	return config_parse(text, path, cfg, err, errlen);
}

const struct config_port *config_port_find(const struct config *cfg,
					   const char *card, uint32_t index)
{
	unsigned int i;

	for (i = 0; i < cfg->nports; i++)
		if (!cfg->ports[i].tty[0] && !strcmp(cfg->ports[i].card, card) &&
		    cfg->ports[i].index == index)
			return &cfg->ports[i];
	return NULL;
}

/*
 * The tty a [tty PATH] section names now (ttyUSB0), through the links
 * udev keeps: 0, or -errno (-ENOENT: not plugged in).
 */
int config_tty_name(const struct config_port *cp, char *buf, size_t len)
{
	char real[PATH_MAX];

	if (!cp->tty[0])
		return -EINVAL;
	if (!realpath(cp->tty, real))
		return -errno;
	if (strncmp(real, "/dev/", 5) || strchr(real + 5, '/') ||
	    strlen(real + 5) >= len)
		return -EINVAL;
	snprintf(buf, len, "%s", real + 5);
	return 0;
}

const struct config_port *config_port_find_tty(const struct config *cfg,
					       const char *ttyname)
{
	char name[CONFIG_NAME_LEN];
	unsigned int i;

	for (i = 0; i < cfg->nports; i++)
		if (cfg->ports[i].tty[0] &&
		    !config_tty_name(&cfg->ports[i], name, sizeof(name)) &&
		    !strcmp(name, ttyname))
			return &cfg->ports[i];
	return NULL;
}

const char *config_port_label(const struct config_port *cp, char *buf,
			      size_t len)
{
	if (cp->tty[0])
		snprintf(buf, len, "[tty %s]", cp->tty);
	else
		snprintf(buf, len, "[port %s-%u]", cp->card, cp->index);
	return buf;
}

const struct config_port *config_port_find_tty_path(const struct config *cfg,
						    const char *path)
{
	unsigned int i;

	for (i = 0; i < cfg->nports; i++)
		if (cfg->ports[i].tty[0] && !strcmp(cfg->ports[i].tty, path))
			return &cfg->ports[i];
	return NULL;
}
