// SPDX-License-Identifier: GPL-2.0
/*
 * persohub.conf parser, on libinih. Every value is checked here, with the
 * same limits as the kernel, so a bad file is refused as a whole with its
 * file and line before anything is applied.
 */
#include <errno.h>
#include <stddef.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <ini.h>

#include "config.h"

struct parse {
	struct config *cfg;
	char reason[160];
	/* [tty PATH] headers, set aside: inih keeps 49 bytes of a section */
	char (*ttys)[128];
	unsigned int nttys;
};

#define TTY_REF		"tty @"

void config_defaults(struct config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->priority = 50;
	cfg->cpu = -1;
	cfg->resync_ms = 1000;
	cfg->probe_interval_ms = 1000;
	memcpy(cfg->probe_frame, "PROBE", 5);
	cfg->probe_len = 5;
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

static bool parse_u32(const char *s, uint32_t lo, uint32_t hi, uint32_t *v)
{
	unsigned long n;
	char *end;

	if (!*s || *s == '-')
		return false;
	errno = 0;
	n = strtoul(s, &end, 0);
	if (errno || *end || n < lo || n > hi)
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
};

/* "<pci address>-<index>" into @card (32 bytes) and @index. */
static bool port_ident(const char *ident, char *card, unsigned int *index)
{
	const char *dash = strrchr(ident, '-');

	if (!dash || dash == ident || dash - ident >= 32 ||
	    sscanf(dash + 1, "%u", index) != 1 || *index > 255 ||
	    strspn(dash + 1, "0123456789") != strlen(dash + 1))
		return false;
	memcpy(card, ident, dash - ident);
	card[dash - ident] = '\0';
	return true;
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
	} else {
		return fail(p, "unknown key '%s' in a port section", key, NULL);
	}
	return 1;
}

static struct config_port *port_section(struct parse *p, const char *ident)
{
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
	cp->weight = 1;
	cp->enabled = true;
	return cp;
}

/* [tty /dev/serial/by-id/...]: a tty, by a path that names it for good. */
static struct config_port *tty_section(struct parse *p, const char *ref)
{
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
	cp->weight = 1;
	cp->enabled = true;
	return cp;
}

static struct config_tcp *tcp_section(struct parse *p, const char *name)
{
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
	t->timeout_ms = 2000;
	return t;
}

static int tcp_key(struct parse *p, struct config_tcp *t, const char *key,
		   const char *val)
{
	const char *colon = strrchr(val, ':');
	uint32_t v;

	if (!strcmp(key, "address")) {
		if (!colon || colon == val ||
		    (size_t)(colon - val) >= sizeof(t->host) ||
		    !parse_u32(colon + 1, 1, 65535, &v))
			return fail(p, "address: '%s' is not host:port", val,
				    NULL);
		memcpy(t->host, val, colon - val);
		t->host[colon - val] = '\0';
		t->port = v;
	} else if (!strcmp(key, "timeout_ms")) {
		if (!parse_u32(val, 1, 600000, &t->timeout_ms))
			return fail(p, "timeout_ms: invalid value '%s'", val,
				    NULL);
	} else {
		return fail(p, "unknown key '%s' in a tcp section", key, NULL);
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
		cp = port_section(p, section + 5);
		return cp ? port_key(p, cp, key, val) : 0;
	}
	if (!strncmp(section, "tty ", 4)) {
		cp = tty_section(p, section + 4);
		return cp ? port_key(p, cp, key, val) : 0;
	}
	if (!strncmp(section, "tcp ", 4)) {
		t = tcp_section(p, section + 4);
		return t ? tcp_key(p, t, key, val) : 0;
	}
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
	 * inih keeps only the first 49 bytes of a section header, and a
	 * /dev/serial/by-id path is longer: each [tty PATH] header is handed
	 * to it as [tty @N], its path kept here. Lines stay where they were.
	 */
	copy = strdup(text);
	p.ttys = calloc(CONFIG_MAX_PORTS, sizeof(*p.ttys));
	if (!copy || !p.ttys) {
		free(copy);
		free(p.ttys);
		snprintf(err, errlen, "%s: out of memory", name);
		return -1;
	}
	for (s = copy; *s; s = eol + (*eol == '\n')) {
		char *open, *close;

		eol = s + strcspn(s, "\n");
		open = s + strspn(s, " \t");
		if (strncmp(open, "[tty ", 5) || p.nttys == CONFIG_MAX_PORTS)
			continue;
		close = memchr(open, ']', eol - open);
		if (!close || close - (open + 5) >= (long)sizeof(p.ttys[0]))
			continue;
		memcpy(p.ttys[p.nttys], open + 5, close - (open + 5));
		p.ttys[p.nttys][close - (open + 5)] = '\0';
		/* "[tty @N]" is never longer than what it replaces */
		n = snprintf(open, close - open + 1, "[" TTY_REF "%u",
			     p.nttys++);
		if (n < close - open) {
			memmove(open + n, close, strlen(close) + 1);
			eol = open + n + strcspn(open + n, "\n");
		}
	}
	line = ini_parse_string(copy, handler, &p);
	free(copy);
	free(p.ttys);
	if (line) {
		snprintf(err, errlen, "%s:%d: %s", name, line,
			 p.reason[0] ? p.reason : "syntax error");
		return -1;
	}
	for (i = 0; i < cfg->ntcp; i++)
		if (!cfg->tcp[i].port) {
			snprintf(err, errlen, "%s: [tcp %s] has no address",
				 name, cfg->tcp[i].name);
			return -1;
		}
	/* Names name device nodes: no two ports may share one. */
	for (i = 0; i < cfg->nports; i++)
		for (j = i + 1; j < cfg->nports; j++)
			if (cfg->ports[i].name[0] &&
			    !strcmp(cfg->ports[i].name, cfg->ports[j].name)) {
				snprintf(err, errlen, "%s: name '%s' used twice",
					 name, cfg->ports[i].name);
				return -1;
			}
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
