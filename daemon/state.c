// SPDX-License-Identifier: GPL-2.0
/*
 * The daemon's decisions as a file (state.h): written by persohubd,
 * read by persohubctl daemon and persohubctl status.
 */
#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "state.h"

#define STR_(x)	#x
#define STR(x)	STR_(x)

static const struct {
	const char *key, *text;
} reasons[HELD_REASONS] = {
	[HELD_DISPATCHING] = { "dispatching", "an idle server takes it next" },
	[HELD_NO_SERVER] = { "no-server", "no server" },
	[HELD_NO_ENABLED] = { "no-server-enabled", "no server enabled" },
	[HELD_NO_IDLE] = { "no-idle-server", "no idle server" },
	[HELD_PIN_GONE] = { "pinned-server-gone",
			    "pinned server is not a server" },
	[HELD_PIN_DISABLED_CONFIG] = {
		"pinned-server-disabled-config",
		"pinned server disabled in the configuration" },
	[HELD_PIN_DISABLED_KERNEL] = {
		"pinned-server-disabled-kernel",
		"pinned server disabled in the kernel" },
	[HELD_PIN_FAILED] = { "pinned-server-failed", "pinned server failed" },
	[HELD_PIN_BUSY] = { "pinned-server-busy", "pinned server busy" },
};

const char *state_reason_key(enum state_reason r)
{
	return r < HELD_REASONS ? reasons[r].key : "?";
}

const char *state_reason_text(enum state_reason r)
{
	return r < HELD_REASONS ? reasons[r].text : "?";
}

/* A value on one line, with nothing that would end or split it. */
static void put_text(FILE *f, const char *s)
{
	for (; *s; s++)
		fputc((unsigned char)*s < 0x20 || *s == 0x7f ? '?' : *s, f);
}

static void put_port(FILE *f, const struct state_port *p)
{
	fprintf(f, "port %" PRIu32 " name=", p->id);
	put_text(f, p->name[0] ? p->name : "-");
	fprintf(f, " role=%" PRIu32 " state=%s weight=%" PRIu32
		" config_enabled=%d kernel_enabled=%d classes=%#" PRIx64
		" pin=%" PRIu32 " user=%d held=%" PRIu32 "\n", p->role,
		p->state[0] ? p->state : "-", p->weight, p->config_enabled,
		p->kernel_enabled, p->classes, p->pin, p->user, p->held);
}

const char *const state_cascade_keys[CASC_COUNTERS] = {
	"sent", "answered", "given_back", "failed", "timeouts", "late",
	"remote_in", "served", "remote_failed", "busy",
};

static void put_cascade(FILE *f, const struct state_cascade *c)
{
	unsigned int i;

	fprintf(f, "cascade %" PRIu32 " name=", c->depth);
	put_text(f, c->name);
	fputs(" site=", f);
	put_text(f, c->site);
	fprintf(f, " connected=%d", c->connected);
	for (i = 0; i < CASC_COUNTERS; i++)
		fprintf(f, " %s=%" PRIu64, state_cascade_keys[i], c->v[i]);
	fputc('\n', f);
}

static void put_tcp(FILE *f, const struct state_tcp *t)
{
	fprintf(f, "tcp %" PRIu32 " name=", t->id);
	put_text(f, t->name);
	fputs(" address=", f);
	put_text(f, t->address);
	fprintf(f, " state=%s since_ns=%" PRIu64 " error=", t->state,
		t->since_ns);
	put_text(f, t->error);
	fputc('\n', f);
}

int state_save(const char *path, const struct state *st)
{
	char tmp[PATH_MAX];
	unsigned int i;
	FILE *f;
	int err;

	if (snprintf(tmp, sizeof(tmp), "%s.tmp", path) >= (int)sizeof(tmp))
		return -ENAMETOOLONG;
	f = fopen(tmp, "w");
	if (!f)
		return -errno;
	fprintf(f, "persohubd-state %d\npid %d\nstarted_ns %" PRIu64
		"\nupdated_ns %" PRIu64 "\nconfig ", STATE_VERSION, st->pid,
		st->started_ns, st->updated_ns);
	put_text(f, st->config);
	fprintf(f, "\nresync_ms %" PRIu32 "\nheld_total %" PRIu64 "\n", st->resync_ms,
		st->held_total);
	for (i = 0; i < st->nports; i++)
		put_port(f, &st->ports[i]);
	for (i = 0; i < st->ntcp; i++)
		put_tcp(f, &st->tcp[i]);
	if (st->cascade.present)
		put_cascade(f, &st->cascade);
	for (i = 0; i < st->nheld; i++)
		fprintf(f, "held %" PRIu64 " station=%" PRIu32 " server=%" PRIu32
			" reason=%s\n", st->held[i].req, st->held[i].station,
			st->held[i].server,
			state_reason_key(st->held[i].reason));
	err = ferror(f) ? EIO : 0;
	if (fclose(f) && !err)
		err = errno;
	if (!err && rename(tmp, path))
		err = errno;
	if (err)
		unlink(tmp);
	return -err;
}

/* Parsing */

static bool u64_of(const char *s, uint64_t *v)
{
	char *end;

	if (*s < '0' || *s > '9')
		return false;
	errno = 0;
	*v = strtoull(s, &end, 10);
	return !errno && !*end;
}

/* A class mask: "0x" and hex digits (or a plain number). */
static bool mask_of(const char *s, uint64_t *v)
{
	char *end;

	if (strncmp(s, "0x", 2))
		return u64_of(s, v);
	if (!isxdigit((unsigned char)s[2]))
		return false;
	errno = 0;
	*v = strtoull(s + 2, &end, 16);
	return !errno && !*end;
}

static bool u32_of(const char *s, uint32_t *v)
{
	uint64_t x;

	if (!u64_of(s, &x) || x > UINT32_MAX)
		return false;
	*v = x;
	return true;
}

static bool bool_of(const char *s, bool *v)
{
	if (strcmp(s, "0") && strcmp(s, "1"))
		return false;
	*v = *s == '1';
	return true;
}

static bool copy_to(char *dst, size_t len, const char *s)
{
	if (strlen(s) >= len)
		return false;
	strcpy(dst, s);
	return true;
}

static bool reason_of(const char *s, enum state_reason *r)
{
	unsigned int i;

	for (i = 0; i < HELD_REASONS; i++)
		if (!strcmp(reasons[i].key, s)) {
			*r = i;
			return true;
		}
	return false;
}

/* One key=value of a record; unknown keys are skipped. */
static bool port_key(struct state_port *p, const char *k, const char *v)
{
	if (!strcmp(k, "name"))
		return copy_to(p->name, sizeof(p->name), strcmp(v, "-") ? v : "");
	if (!strcmp(k, "role"))
		return u32_of(v, &p->role);
	if (!strcmp(k, "state"))
		return copy_to(p->state, sizeof(p->state), v);
	if (!strcmp(k, "weight"))
		return u32_of(v, &p->weight);
	if (!strcmp(k, "config_enabled"))
		return bool_of(v, &p->config_enabled);
	if (!strcmp(k, "kernel_enabled"))
		return bool_of(v, &p->kernel_enabled);
	if (!strcmp(k, "classes"))
		return mask_of(v, &p->classes);
	if (!strcmp(k, "pin"))
		return u32_of(v, &p->pin);
	if (!strcmp(k, "user"))
		return bool_of(v, &p->user);
	if (!strcmp(k, "held"))
		return u32_of(v, &p->held);
	return true;
}

static bool tcp_key(struct state_tcp *t, const char *k, const char *v)
{
	if (!strcmp(k, "name"))
		return copy_to(t->name, sizeof(t->name), v);
	if (!strcmp(k, "address"))
		return copy_to(t->address, sizeof(t->address), v);
	if (!strcmp(k, "state"))
		return copy_to(t->state, sizeof(t->state), v);
	if (!strcmp(k, "since_ns"))
		return u64_of(v, &t->since_ns);
	if (!strcmp(k, "error"))
		return copy_to(t->error, sizeof(t->error), v);
	return true;
}

static bool cascade_key(struct state_cascade *c, const char *k, const char *v)
{
	unsigned int i;

	if (!strcmp(k, "name"))
		return copy_to(c->name, sizeof(c->name), v);
	if (!strcmp(k, "site"))
		return copy_to(c->site, sizeof(c->site), v);
	if (!strcmp(k, "connected"))
		return bool_of(v, &c->connected);
	for (i = 0; i < CASC_COUNTERS; i++)
		if (!strcmp(k, state_cascade_keys[i]))
			return u64_of(v, &c->v[i]);
	return true;
}

static bool held_key(struct state_held *h, const char *k, const char *v)
{
	if (!strcmp(k, "station"))
		return u32_of(v, &h->station);
	if (!strcmp(k, "server"))
		return u32_of(v, &h->server);
	if (!strcmp(k, "reason"))
		return reason_of(v, &h->reason);
	return true;
}

enum rec { REC_PORT, REC_TCP, REC_HELD, REC_CASCADE };

/* "ID key=value ...": the record @r at @s into @st. */
static bool record(struct state *st, enum rec r, char *s)
{
	char *id = s, *k, *v, *sp;
	uint64_t n;
	bool good = true;
	void *obj;

	s = strchr(s, ' ');
	if (!s)
		return false;
	*s++ = '\0';
	if (!u64_of(id, &n))
		return false;
	switch (r) {
	case REC_PORT:
		if (st->nports == PH_MAX_PORTS || n > UINT32_MAX)
			return false;
		obj = &st->ports[st->nports++];
		memset(obj, 0, sizeof(struct state_port));
		((struct state_port *)obj)->id = n;
		break;
	case REC_TCP:
		if (st->ntcp == CONFIG_MAX_TCP || n > UINT32_MAX)
			return false;
		obj = &st->tcp[st->ntcp++];
		memset(obj, 0, sizeof(struct state_tcp));
		((struct state_tcp *)obj)->id = n;
		break;
	case REC_CASCADE:
		if (n > UINT32_MAX)
			return false;
		obj = &st->cascade;
		memset(obj, 0, sizeof(struct state_cascade));
		st->cascade.present = true;
		st->cascade.depth = n;
		break;
	default:
		if (st->nheld == STATE_MAX_HELD)
			return true;	/* held_total counts them */
		obj = &st->held[st->nheld++];
		memset(obj, 0, sizeof(struct state_held));
		((struct state_held *)obj)->req = n;
		break;
	}
	while (good && *s) {
		k = s;
		v = strchr(k, '=');
		if (!v)
			return false;
		*v++ = '\0';
		/* "error" takes the rest of the line */
		sp = strcmp(k, "error") ? strchr(v, ' ') : NULL;
		if (sp)
			*sp = '\0';
		s = sp ? sp + 1 : v + strlen(v);
		good = r == REC_PORT ? port_key(obj, k, v) :
		       r == REC_TCP ? tcp_key(obj, k, v) :
		       r == REC_CASCADE ? cascade_key(obj, k, v) :
		       held_key(obj, k, v);
	}
	return good;
}

static bool line_of(struct state *st, char *line, bool *version)
{
	char *v = strchr(line, ' ');
	uint64_t n;

	if (!v)
		return !*line;	/* an empty line; anything else is wrong */
	*v++ = '\0';
	if (!strcmp(line, "persohubd-state")) {
		*version = u64_of(v, &n) && n == STATE_VERSION;
		return *version;
	}
	if (!strcmp(line, "pid"))
		return u64_of(v, &n) && n <= INT32_MAX && (st->pid = n, true);
	if (!strcmp(line, "started_ns"))
		return u64_of(v, &st->started_ns);
	if (!strcmp(line, "updated_ns"))
		return u64_of(v, &st->updated_ns);
	if (!strcmp(line, "config"))
		return copy_to(st->config, sizeof(st->config), v);
	if (!strcmp(line, "resync_ms"))
		return u32_of(v, &st->resync_ms);
	if (!strcmp(line, "held_total"))
		return u64_of(v, &st->held_total);
	if (!strcmp(line, "port"))
		return record(st, REC_PORT, v);
	if (!strcmp(line, "tcp"))
		return record(st, REC_TCP, v);
	if (!strcmp(line, "held"))
		return record(st, REC_HELD, v);
	if (!strcmp(line, "cascade"))
		return record(st, REC_CASCADE, v);
	return true;		/* a record of a later version */
}

int state_load(const char *path, struct state *st, char *err, size_t len)
{
	unsigned int lineno = 0;
	bool version = false;
	char *line = NULL;
	size_t cap = 0;
	ssize_t n;
	FILE *f;
	int ret = 0;

	memset(st, 0, sizeof(*st));
	f = fopen(path, "r");
	if (!f) {
		ret = -errno;
		snprintf(err, len, "%s: %s", path, strerror(errno));
		return ret;
	}
	while ((n = getline(&line, &cap, f)) > 0) {
		lineno++;
		if (line[n - 1] == '\n')
			line[n - 1] = '\0';
		if (!line_of(st, line, &version) ||
		    (lineno == 1 && !version)) {
			snprintf(err, len, "%s:%u: %s", path, lineno,
				 lineno == 1 ? "not a persohubd state file of "
				 "version " STR(STATE_VERSION) :
				 "malformed line");
			ret = -EINVAL;
			break;
		}
	}
	if (!ret && !version) {
		snprintf(err, len, "%s: empty", path);
		ret = -EINVAL;
	}
	free(line);
	fclose(f);
	return ret;
}
