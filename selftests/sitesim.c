// SPDX-License-Identifier: GPL-2.0
/*
 * sitesim: plays a personalization site at the far end of the test
 * machine's serial links (see scripts/vm-run --help for the sockets).
 *
 * Stations send requests and check each answer is exactly the one their
 * own request should get; servers answer after a service time with a
 * response derived from the request (selftests/siteproto.h). Faults can be
 * injected per port. One epoll loop, non-blocking sockets, no threads.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <math.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "framing.h"
#include "siteproto.h"

/*
 * Port names and their index (the station number in a request, the server
 * number in a response, the slot in by_index): persohub's cards cCpP, the
 * tty cards tCpP and the USB serial adapters uN of scripts/vm-run, each
 * kind in a range of its own.
 */
#define MAX_CARDS	16	/* per kind: cCpP and tCpP */
#define MAX_USB		64	/* uN */
#define IDX_C		0
#define IDX_T		(IDX_C + MAX_CARDS * 4)
#define IDX_U		(IDX_T + MAX_CARDS * 4)
#define MAX_PORTS	(IDX_U + MAX_USB)
#define MAX_OUT		64	/* outstanding requests per station */
#define MAX_LAT		(1 << 20)
#define TELNET_INIT	12
#define RAW_LINGER_NS	1000000000ULL
#define GAP_US_DEFAULT	20000	/* TCG is jittery: a generous silence */
#define ENC_MAX		PH_FRAMING_ENCODED_MAX(PH_PAYLOAD_MAX)

enum kind { K_NONE, K_STATION, K_SERVER, K_RAW };
enum mode { M_OK, M_SILENT, M_GARBAGE, M_TRUNCATE, M_FLAP, M_DUP };

struct outreq {
	uint32_t seq;
	uint16_t len;
	uint64_t sent_ns;	/* last byte handed to the socket */
	/* filled in by the server that got it, for --trace */
	uint64_t srv_in_ns, service_ns;
	int server;		/* its port index, -1 while none */
	uint8_t data[PH_PAYLOAD_MAX];
};

/* --framing: a line's framing, its stx-etx LRC and its gap time. */
struct framing_spec {
	enum ph_framing framing;
	bool lrc;
	uint32_t gap_us;
	uint32_t max;		/* the peer's largest payload (gap noise) */
	bool set;
};

/* Bytes held back until the line has been silent long enough. */
struct unit {
	size_t len;
	bool quiet_after;	/* the receiver must see silence after it */
};

struct port {
	char name[16];
	int index;		/* port_index() of its name */
	enum kind kind;
	int fd;
	bool connected;
	/* output */
	uint8_t *out;
	size_t outlen, outcap;
	/* framing (--framing) */
	struct framing_spec fs;
	bool text;		/* station: text dialect requests */
	uint64_t quiet_at;	/* no unit written before this */
	bool quiet_pending;	/* silence starts when out drains */
	uint8_t *hold;		/* units waiting for quiet_at */
	size_t holdlen, holdcap;
	struct unit *units;
	unsigned int nunits;
	size_t unitcap;
	/* input */
	struct ph_rx rx;
	uint8_t rxbuf[PH_RX_BUF(PH_PAYLOAD_MAX)];
	uint64_t rx_last_ns;	/* last byte received, for the gap */
	unsigned int telnet_skip;
	bool telnet;		/* --telnet, and not a USB adapter (uN) */
	/* station */
	struct outreq *q;	/* ring of MAX_OUT */
	unsigned int qhead, qlen;
	uint32_t next_seq;
	uint32_t late_lo, late_hi;	/* seqs that timed out */
	unsigned int burst;
	bool noise, brk, biterr, reconnect;
	uint8_t error_frame[64];	/* --error-frame: the error answer */
	uint16_t error_len;
	uint64_t corrupted, reconnects, last_reconnect;
	unsigned int flap_n;	/* flap: answer N, then one silent */
	uint64_t next_at;	/* earliest time of the next request */
	bool break_sent;
	/* server */
	enum mode mode;
	uint32_t service_us;
	uint64_t due_ns;	/* pending response time, 0 if none */
	uint64_t served_ns;	/* sum of service times drawn */
	uint8_t pending[PH_PAYLOAD_MAX];
	uint16_t pending_len;
	/* raw */
	uint64_t raw_left;
	uint64_t expect_left;	/* --expect-raw bytes still to come */
	uint64_t expect_got, expect_wrong;
	uint64_t raw_done_ns;	/* when the last raw byte left */
	/* counters */
	uint64_t sent, ok, wrong, errors, timeouts, late;
	uint64_t tx_bytes, rx_bytes, noise_n, breaks, bad_frames;
	uint64_t received, answered, garbage, silent;
	uint64_t busy_ns;
	uint64_t cross_class;	/* answers by a server of another class */
	/* --class: a station's class, the class a server serves */
	bool has_class;
	unsigned int klass;
	uint64_t inj[__PH_RX_MAX];	/* bad frames the peer must count */
	uint32_t *lat;		/* round trips, us */
	unsigned int nlat;
};

static struct port ports[MAX_PORTS];
static unsigned int nports;
static int epfd;
static struct port *by_index[MAX_PORTS];	/* port_index() */

/* One answered request, for --trace and the benchmark figures. */
struct trace_rec {
	uint64_t sent_ns, srv_in_ns, done_ns, service_ns;
	uint16_t station, server;
};

static struct trace_rec *trace;
static size_t ntrace, trace_cap;

static struct {
	const char *sockdir;
	unsigned int requests, size, size_max, depth;
	uint32_t service_us, think_us, timeout_ms;
	uint64_t seed, key;
	bool key_set, telnet, expect_errors, text, binary;
	enum { SD_FIXED, SD_EXP, SD_UNIFORM } service_dist;
	struct framing_spec framing;	/* --framing-all */
	const char *kv, *wait_file, *go_file, *done_file, *hold_file, *trace;
	const char *stop_file;
	unsigned int max_seconds, connect_timeout, duration;
} opt = {
	.requests = 100, .size = 64, .depth = 1, .service_us = 1000,
	.timeout_ms = 10000, .max_seconds = 120, .connect_timeout = 30,
	.framing = { .framing = PH_FRAMING_HDLC, .gap_us = GAP_US_DEFAULT,
		     .max = PH_PAYLOAD_MAX },
};

static uint64_t rng_state;

static uint64_t rnd(void)
{
	/* splitmix64: seeded, replayable */
	uint64_t z = (rng_state += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000000ULL + ts.tv_nsec;
}

static void die(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "sitesim: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(2);
}

/* "c1p2", "t0p3", "u4": the port's index, or -1 if not a port name. */
static int port_index(const char *name)
{
	int a, b, n = -1;

	if (sscanf(name, "c%dp%d%n", &a, &b, &n) == 2 && n > 0 &&
	    !name[n] && a >= 0 && a < MAX_CARDS && b >= 0 && b <= 3)
		return IDX_C + a * 4 + b;
	n = -1;
	if (sscanf(name, "t%dp%d%n", &a, &b, &n) == 2 && n > 0 &&
	    !name[n] && a >= 0 && a < MAX_CARDS && b >= 0 && b <= 3)
		return IDX_T + a * 4 + b;
	n = -1;
	if (sscanf(name, "u%d%n", &a, &n) == 1 && n > 0 && !name[n] &&
	    a >= 0 && a < MAX_USB)
		return IDX_U + a;
	return -1;
}

/* The name (and socket) of index @i. */
static void port_name(int i, char *buf, size_t len)
{
	if (i >= IDX_U)
		snprintf(buf, len, "u%d", i - IDX_U);
	else if (i >= IDX_T)
		snprintf(buf, len, "t%dp%d", (i - IDX_T) / 4, (i - IDX_T) % 4);
	else
		snprintf(buf, len, "c%dp%d", i / 4, i % 4);
}

/* The kind of index @i: 'c', 't' or 'u'. */
static char port_kind(int i)
{
	return i >= IDX_U ? 'u' : i >= IDX_T ? 't' : 'c';
}

static struct port *port_get(const char *name)
{
	unsigned int i;
	int idx = port_index(name);

	if (idx < 0)
		die("bad port name '%s' (want cCpP or tCpP with C < %d, P < 4, "
		    "or uN with N < %d)", name, MAX_CARDS, MAX_USB);
	for (i = 0; i < nports; i++)
		if (ports[i].index == idx)
			return &ports[i];
	if (nports == MAX_PORTS)
		die("too many ports");
	ports[nports].index = idx;
	by_index[idx] = &ports[nports];
	port_name(idx, ports[nports].name, sizeof(ports[0].name));
	ports[nports].fd = -1;
	return &ports[nports++];
}

/*
 * Each port of @list: "c0p0,t0p1,u0" or ranges of one kind "c0p0-c1p1"
 * (card-major), "t0p0-t0p3", "u0-u3".
 */
static void port_each(const char *list,
		      void (*fn)(struct port *p, const void *arg),
		      const void *arg)
{
	char buf[1024], *save = NULL, *tok, *dash;
	int a, b, i;

	snprintf(buf, sizeof(buf), "%s", list);
	for (tok = strtok_r(buf, ",", &save); tok;
	     tok = strtok_r(NULL, ",", &save)) {
		dash = strchr(tok, '-');
		if (dash) {
			*dash = '\0';
			a = port_index(tok);
			b = port_index(dash + 1);
			if (a < 0 || b < 0 || a > b ||
			    port_kind(a) != port_kind(b))
				die("bad range '%s-%s' (one kind, in order)", tok,
				    dash + 1);
		} else {
			a = b = port_index(tok);
			if (a < 0)
				die("bad port '%s' (want cCpP, tCpP or uN)",
				    tok);
		}
		for (i = a; i <= b; i++) {
			char n[16];

			port_name(i, n, sizeof(n));
			fn(port_get(n), arg);
		}
	}
}

static void set_kind(struct port *p, const void *arg)
{
	enum kind kind = *(const enum kind *)arg;

	if (p->kind != K_NONE && p->kind != kind)
		die("%s given two roles", p->name);
	p->kind = kind;
}

static void port_list(const char *list, enum kind kind)
{
	port_each(list, set_kind, &kind);
}

/* "NAME[:lrc][:gap=US][:max=N]" (--framing, --framing-all). */
static void framing_parse(const char *arg, struct framing_spec *fs)
{
	char buf[64], *save = NULL, *tok, *end;
	unsigned long us;
	int f;

	if (strlen(arg) >= sizeof(buf))
		die("bad framing '%s'", arg);
	snprintf(buf, sizeof(buf), "%s", arg);
	tok = strtok_r(buf, ":", &save);
	f = tok ? ph_framing_parse(tok) : -EINVAL;
	if (f < 0)
		die("unknown framing '%s' (hdlc, stx-etx, stx-len, len16, gap)",
		    arg);
	fs->framing = f;
	fs->lrc = false;
	fs->gap_us = GAP_US_DEFAULT;
	fs->max = PH_PAYLOAD_MAX;
	fs->set = true;
	while ((tok = strtok_r(NULL, ":", &save))) {
		if (!strcmp(tok, "lrc") && f == PH_FRAMING_STX_ETX) {
			fs->lrc = true;
			continue;
		}
		if (!strncmp(tok, "max=", 4)) {
			errno = 0;
			us = strtoul(tok + 4, &end, 10);
			if (!errno && end != tok + 4 && !*end && us >= 1 &&
			    us <= PH_PAYLOAD_MAX) {
				fs->max = us;
				continue;
			}
		}
		if (!strncmp(tok, "gap=", 4)) {
			errno = 0;
			us = strtoul(tok + 4, &end, 10);
			if (!errno && end != tok + 4 && !*end &&
			    us <= 10000000) {
				fs->gap_us = us;
				continue;
			}
		}
		die("bad framing option '%s' in '%s' (lrc: stx-etx only; "
		    "gap=US up to 10000000; max=N 1 to %d)", tok, arg,
		    PH_PAYLOAD_MAX);
	}
}

/* --error-frame: the payload the hub sends this station for a failure. */
static void set_class(struct port *p, const void *arg)
{
	p->has_class = true;
	p->klass = atoi(arg);
}

static void set_error_frame(struct port *p, const void *arg)
{
	const char *hex = arg;
	size_t n = strlen(hex), i;
	unsigned int b;

	if (n % 2 || n / 2 > sizeof(p->error_frame))
		die("--error-frame %s: even hex digits, at most %zu bytes",
		    hex, sizeof(p->error_frame));
	for (i = 0; i < n / 2; i++) {
		if (sscanf(hex + 2 * i, "%2x", &b) != 1)
			die("--error-frame %s: not hex", hex);
		p->error_frame[i] = b;
	}
	p->error_len = n / 2;
}

static void set_framing(struct port *p, const void *arg)
{
	p->fs = *(const struct framing_spec *)arg;
}

/* PORT=VALUE options. */
static struct port *port_eq(const char *arg, const char **val)
{
	char name[16];
	const char *eq = strchr(arg, '=');
	size_t n = eq ? (size_t)(eq - arg) : strlen(arg);

	if (n >= sizeof(name))
		die("bad argument '%s'", arg);
	memcpy(name, arg, n);
	name[n] = '\0';
	*val = eq ? eq + 1 : NULL;
	return port_get(name);
}

static void *grow(void *buf, size_t *cap, size_t need, size_t size)
{
	if (need <= *cap)
		return buf;
	*cap = need * 2 + 16;
	buf = realloc(buf, *cap * size);
	if (!buf)
		die("out of memory");
	return buf;
}

static void out_add(struct port *p, const uint8_t *b, size_t n, bool data)
{
	size_t i;

	p->out = grow(p->out, &p->outcap, p->outlen + 2 * n, 1);
	for (i = 0; i < n; i++) {
		p->out[p->outlen++] = b[i];
		/* Telnet: a data 0xff goes doubled. */
		if (data && p->telnet && b[i] == 0xff)
			p->out[p->outlen++] = 0xff;
	}
	if (data)
		p->tx_bytes += n;
}

static void want_out(struct port *p)
{
	struct epoll_event e = {
		.events = EPOLLIN | (p->outlen ? EPOLLOUT : 0),
		.data.ptr = p,
	};

	epoll_ctl(epfd, EPOLL_CTL_MOD, p->fd, &e);
}

static void flush(struct port *p)
{
	ssize_t n;

	while (p->outlen) {
		n = write(p->fd, p->out, p->outlen);
		if (n < 0) {
			if (errno == EAGAIN)
				break;
			if (errno == EINTR)
				continue;
			fprintf(stderr, "sitesim: %s: write: %s\n", p->name,
				strerror(errno));
			p->outlen = 0;
			break;
		}
		memmove(p->out, p->out + n, p->outlen - n);
		p->outlen -= n;
	}
	/* The last byte of a unit that wants silence after it has left. */
	if (!p->outlen && p->quiet_pending) {
		p->quiet_pending = false;
		p->quiet_at = now_ns() + p->fs.gap_us * 1000ULL;
	}
	want_out(p);
}

/* Forget what was waiting to be sent (the line was dropped). */
static void tx_reset(struct port *p)
{
	p->outlen = 0;
	p->holdlen = 0;
	p->nunits = 0;
	p->quiet_pending = false;
	p->quiet_at = 0;
}

static bool line_quiet(const struct port *p, uint64_t now)
{
	return !p->quiet_pending && now >= p->quiet_at;
}

static void unit_send(struct port *p, const uint8_t *b, size_t n,
		      bool quiet_after)
{
	out_add(p, b, n, true);
	if (quiet_after)
		p->quiet_pending = true;
	flush(p);
}

/*
 * One unit on the wire: a frame, a noise burst, a broken frame. A unit
 * marked @quiet_after is followed by the port's gap time of silence,
 * counted from the moment its last byte left: every unit in gap framing
 * (silence is what ends a frame there), and a broken unit in the framings
 * that need silence to drop it and get back in step (ph_rx_gap()). Later
 * units wait in order; tx_release() sends them.
 */
static void emit(struct port *p, const uint8_t *b, size_t n, bool quiet_after)
{
	if (p->fs.framing == PH_FRAMING_GAP)
		quiet_after = true;
	if (!p->nunits && line_quiet(p, now_ns())) {
		unit_send(p, b, n, quiet_after);
		return;
	}
	p->hold = grow(p->hold, &p->holdcap, p->holdlen + n, 1);
	p->units = grow(p->units, &p->unitcap, p->nunits + 1,
			sizeof(*p->units));
	memcpy(p->hold + p->holdlen, b, n);
	p->holdlen += n;
	p->units[p->nunits].len = n;
	p->units[p->nunits].quiet_after = quiet_after;
	p->nunits++;
}

/*
 * Send the units whose silence has passed. Returns when the next one may
 * go, or 0 if none waits on a time (nothing held, or the line still
 * draining: flush() then sets the time).
 */
static uint64_t tx_release(struct port *p, uint64_t now)
{
	unsigned int i = 0;
	size_t off = 0;

	while (i < p->nunits && line_quiet(p, now)) {
		unit_send(p, p->hold + off, p->units[i].len,
			  p->units[i].quiet_after);
		off += p->units[i].len;
		i++;
	}
	if (i) {
		memmove(p->hold, p->hold + off, p->holdlen - off);
		p->holdlen -= off;
		memmove(p->units, p->units + i,
			(p->nunits - i) * sizeof(*p->units));
		p->nunits -= i;
	}
	return p->nunits && !p->quiet_pending ? p->quiet_at : 0;
}

/* @p's framing encoding of a payload into @enc (ENC_MAX bytes). */
static size_t encode(const struct port *p, uint8_t *enc, const uint8_t *d,
		     size_t len)
{
	int n = ph_framing_encode(p->fs.framing, p->fs.lrc, enc, ENC_MAX, d,
				  len);

	if (n < 0)
		die("%s: a %zu byte payload cannot be sent in %s: %s", p->name,
		    len, ph_framing_name(p->fs.framing), strerror(-n));
	return n;
}

static void send_frame(struct port *p, const uint8_t *payload, size_t len)
{
	uint8_t enc[ENC_MAX];

	emit(p, enc, encode(p, enc, payload, len), false);
}

/* A bad frame @p's peer must now count (--kv PORT.inj_*). */
static void inj(struct port *p, int ev)
{
	p->inj[ev]++;
}

/* Bytes that junk on @p's line never holds: whatever delimits a frame. */
static bool special(const struct port *p, uint8_t c)
{
	if (c == 0xff)		/* telnet's IAC */
		return true;
	switch (p->fs.framing) {
	case PH_FRAMING_HDLC:
		return c == PH_FLAG || c == PH_ESC;
	case PH_FRAMING_STX_ETX:
	case PH_FRAMING_STX_LEN:
		return c == PH_STX || c == PH_ETX;
	default:
		return false;
	}
}

static void junk(const struct port *p, uint8_t *b, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		do
			b[i] = rnd();
		while (special(p, b[i]));
	}
}

/*
 * More bytes than the peer takes in a frame (max=, default any), for gap:
 * dropped as too long. A small max keeps the burst short: under the
 * emulator the guest may take longer to drain a long one than the gap
 * that follows it lasts, and would see no gap at all.
 */
static void send_overlong(struct port *p)
{
	static uint8_t b[PH_PAYLOAD_MAX + 64];
	size_t n = p->fs.max + 1 + rnd() % 63;

	junk(p, b, n);
	emit(p, b, n, true);
	inj(p, PH_RX_TOO_LONG);
}

/*
 * Line noise between two frames, made to be exactly one bad frame at the
 * receiver whatever the framing:
 *   hdlc     3-8 bytes, no flag or escape: a bad FCS once the next frame's
 *            opening flag closes them
 *   stx-etx  junk, STX, junk, then silence: truncated (by the gap)
 *   stx-len  junk, STX, a count over any limit, junk: too long at once
 *   len16    a count over any limit, junk, then silence: truncated
 *   gap      more bytes than any frame holds, between silences: too long
 */
static void send_noise(struct port *p)
{
	uint8_t b[8];
	size_t n = 3 + rnd() % 6;

	switch (p->fs.framing) {
	case PH_FRAMING_HDLC:
		/* Never a frame by chance: redraw a good FCS (1 in 65536). */
		do
			junk(p, b, n);
		while (crc_ccitt(PH_FCS_INIT, b, n) == PH_FCS_GOOD);
		emit(p, b, n, false);
		inj(p, PH_RX_BAD_FCS);
		break;
	case PH_FRAMING_STX_ETX:
		junk(p, b, n);
		b[n / 2] = PH_STX;
		emit(p, b, n, true);
		inj(p, PH_RX_TRUNCATED);
		break;
	case PH_FRAMING_STX_LEN:
		junk(p, b, n);
		b[n / 2 - 1] = PH_STX;
		b[n / 2] = 0x11 + rnd() % 0xee;	/* > PH_PAYLOAD_MAX */
		emit(p, b, n, false);
		inj(p, PH_RX_TOO_LONG);
		break;
	case PH_FRAMING_LEN16:
		junk(p, b, n);
		b[0] = 0x11 + rnd() % 0xee;
		emit(p, b, n, true);
		inj(p, PH_RX_TRUNCATED);
		break;
	default:
		send_overlong(p);
		break;
	}
	p->noise_n++;
}

/* A bit of @c flipped so that it is none of @p's special bytes. */
static uint8_t flip(const struct port *p, uint8_t c)
{
	uint8_t d;

	do
		d = c ^ (1 << (rnd() % 8));
	while (special(p, d));
	return d;
}

/*
 * One frame damaged on the line, made to be exactly one bad frame at the
 * receiver (a request with --biterr, an answer with --server-mode garbage):
 *   hdlc     a bit flipped, never making a flag or an escape: bad FCS
 *   stx-etx  lrc: a payload bit flipped: bad LRC; without an LRC nothing
 *            would tell, so the ETX is lost instead, then silence: truncated
 *   stx-len  a payload bit flipped: bad LRC
 *   len16    a high bit set in the count (over any limit), then silence:
 *            truncated
 *   gap      nothing can tell a bit: refused (main()), or too long
 */
static void send_damaged(struct port *p, const uint8_t *d, size_t len)
{
	uint8_t enc[ENC_MAX];
	size_t n = encode(p, enc, d, len), k;
	bool quiet = false;
	int ev;

	switch (p->fs.framing) {
	case PH_FRAMING_HDLC:
		do
			k = 1 + rnd() % (n - 2);
		while (enc[k] == PH_FLAG || enc[k] == PH_ESC ||
		       enc[k - 1] == PH_ESC);
		enc[k] = flip(p, enc[k]);
		ev = PH_RX_BAD_FCS;
		break;
	case PH_FRAMING_STX_ETX:
		if (p->fs.lrc && len) {
			k = 1 + rnd() % len;
			enc[k] = flip(p, enc[k]);
			ev = PH_RX_BAD_LRC;
			break;
		}
		enc[1 + len] ^= 4 << rnd() % 5;	/* 07 0b 13 23 43 */
		quiet = true;
		ev = PH_RX_TRUNCATED;
		break;
	case PH_FRAMING_STX_LEN:
		if (!len)
			die("%s: an empty frame cannot be damaged", p->name);
		k = 3 + rnd() % len;
		enc[k] = flip(p, enc[k]);
		ev = PH_RX_BAD_LRC;
		break;
	case PH_FRAMING_LEN16:
		enc[0] |= 0x20 << rnd() % 3;		/* >= 0x2000 */
		quiet = true;
		ev = PH_RX_TRUNCATED;
		break;
	default:
		send_overlong(p);
		return;
	}
	emit(p, enc, n, quiet);
	inj(p, ev);
}

/*
 * The first half of a frame, then silence (--server-mode truncate):
 *   hdlc     never cut just after an escape: a bad FCS once the server's
 *            next frame opens (the receiver cannot tell before)
 *   stx-etx, stx-len, len16: truncated, by the gap
 *   gap      half a frame is a frame: refused (main())
 */
static void send_truncated(struct port *p, const uint8_t *d, size_t len)
{
	uint8_t enc[ENC_MAX];
	size_t n = encode(p, enc, d, len), cut = n / 2;

	if (p->fs.framing == PH_FRAMING_HDLC) {
		if (enc[cut - 1] == PH_ESC)
			cut++;
		emit(p, enc, cut, false);
		inj(p, PH_RX_BAD_FCS);
		return;
	}
	emit(p, enc, cut, true);
	inj(p, PH_RX_TRUNCATED);
}

/* After a damaged request: long enough for the receiver's gap to pass. */
static uint64_t resync_ns(const struct port *p)
{
	uint64_t gap = 2 * p->fs.gap_us * 1000ULL;

	return gap > 100000000ULL ? gap : 100000000ULL;
}

/* Station: the next request, with noise or a break before it. */
static void station_send(struct port *p, uint64_t now)
{
	struct outreq *r;
	unsigned int size = opt.size, i;

	if (p->sent && p->noise && !p->break_sent)
		send_noise(p);
	if (p->sent && p->brk && p->telnet && !p->break_sent) {
		static const uint8_t brk[2] = { 0xff, 0xf3 };

		/* A break goes in a write of its own, then a pause. */
		flush(p);
		out_add(p, brk, 2, false);
		flush(p);
		p->breaks++;
		p->break_sent = true;
		p->next_at = now + 30000000ULL;
		return;
	}
	p->break_sent = false;
	if (opt.size_max > opt.size)
		size += rnd() % (opt.size_max - opt.size + 1);
	r = &p->q[(p->qhead + p->qlen) % MAX_OUT];
	r->seq = ++p->next_seq;
	r->server = -1;
	if (p->text) {
		/* Printable: never an STX or an ETX. */
		if (size < SP_TREQ_HDR)
			size = SP_TREQ_HDR;
		sp_request_text(r->data, p->index, r->seq);
		for (i = SP_TREQ_HDR; i < size; i++)
			r->data[i] = 0x20 + rnd() % 95;
	} else {
		if (size < SP_REQ_HDR)
			size = SP_REQ_HDR;
		sp_request(r->data, p->index, r->seq);
		for (i = SP_REQ_HDR; i < size; i++)
			r->data[i] = rnd();
	}
	r->len = size;
	p->sent++;
	if (p->biterr && p->sent % 4 == 0) {
		/* Damaged on the line: the hub must drop it, and the
		 * station, like a real one, hears nothing.
		 */
		send_damaged(p, r->data, r->len);
		p->corrupted++;
		p->next_seq--;
		p->next_at = now + resync_ns(p);
		return;
	}
	p->qlen++;
	send_frame(p, r->data, r->len);
	r->sent_ns = now_ns();
	p->next_at = 0;
}

static uint64_t stop_ns;	/* --duration: no new request after this */
static bool stopped;		/* --stop-file: it exists, no new request */

static bool station_done(const struct port *p)
{
	unsigned int want = opt.requests > p->burst ? opt.requests : p->burst;

	if (stopped || (stop_ns && now_ns() >= stop_ns))
		return !p->qlen;
	return p->sent >= want && !p->qlen;
}

static int connect_port(struct port *p, uint64_t deadline);

/* Drop the line and dial again, between two requests. */
static void station_reconnect(struct port *p)
{
	epoll_ctl(epfd, EPOLL_CTL_DEL, p->fd, NULL);
	close(p->fd);
	tx_reset(p);
	connect_port(p, now_ns() + opt.connect_timeout * 1000000000ULL);
	p->reconnects++;
	p->last_reconnect = p->sent;
}

static void station_pump(struct port *p, uint64_t now)
{
	unsigned int want = opt.requests > p->burst ? opt.requests : p->burst;
	unsigned int depth = opt.depth;

	if (p->sent < p->burst)
		depth = p->burst;
	if (stopped || (stop_ns && now >= stop_ns))
		return;
	if (p->reconnect && p->sent && p->sent % 5 == 0 && !p->qlen &&
	    p->last_reconnect != p->sent)
		station_reconnect(p);
	while (p->sent < want && p->qlen < depth && p->qlen < MAX_OUT &&
	       now >= p->next_at) {
		station_send(p, now);
		if (p->next_at)
			break;
		if (opt.think_us && p->sent >= p->burst)
			break;
	}
}

static uint64_t expo_us(uint32_t mean)
{
	double u = (rnd() >> 11) * (1.0 / 9007199254740992.0);

	return (uint64_t)(-log(1.0 - u) * mean);
}

/* Uniform between 2/3 and 4/3 of @mean: 1000 to 2000 us for 1500. */
static uint64_t uniform_us(uint32_t mean)
{
	uint64_t lo = (uint64_t)mean * 2 / 3, hi = (uint64_t)mean * 4 / 3;

	return lo + rnd() % (hi - lo + 1);
}

static uint64_t service_draw_us(uint32_t mean)
{
	switch (opt.service_dist) {
	case SD_EXP:
		return expo_us(mean);
	case SD_UNIFORM:
		return uniform_us(mean);
	default:
		return mean;
	}
}

static void trace_add(const struct port *p, const struct outreq *r,
		      uint64_t now)
{
	struct trace_rec *t;

	if (r->server < 0)
		return;
	if (ntrace == trace_cap) {
		trace_cap = trace_cap ? trace_cap * 2 : 4096;
		trace = realloc(trace, trace_cap * sizeof(*trace));
		if (!trace)
			die("out of memory");
	}
	t = &trace[ntrace++];
	t->sent_ns = r->sent_ns;
	t->srv_in_ns = r->srv_in_ns;
	t->done_ns = now;
	t->service_ns = r->service_ns;
	t->station = p->index;
	t->server = r->server;
}

/* The server @srv got request @d: note when, for the station's trace. */
static void trace_served(const struct port *srv, const uint8_t *d,
			 uint16_t len, uint64_t now, uint64_t service_ns)
{
	struct port *st;
	unsigned int k;
	uint16_t idx;
	uint32_t seq;

	if (sp_ids(d, len, &idx, &seq) || (memcmp(d, "PHRQ", 4) &&
					   memcmp(d, "PHTQ", 4)))
		return;
	st = idx < MAX_PORTS ? by_index[idx] : NULL;
	if (!st || st->kind != K_STATION)
		return;
	for (k = 0; k < st->qlen; k++) {
		struct outreq *r = &st->q[(st->qhead + k) % MAX_OUT];

		if (r->seq == seq) {
			r->srv_in_ns = now;
			r->service_ns = service_ns;
			r->server = srv->index;
			return;
		}
	}
}

/*
 * A good answer names its server (siteproto.h): with --class, a server
 * that serves another class than the station's answered across classes.
 */
static void class_check(struct port *st, unsigned int server)
{
	const struct port *srv = server < MAX_PORTS ? by_index[server] : NULL;

	if (st->has_class && srv && srv->has_class && srv->klass != st->klass)
		st->cross_class++;
}

static void station_rx(struct port *p, const uint8_t *d, uint16_t len)
{
	uint8_t want[SP_TRESP_LEN];
	struct outreq *r;
	uint64_t now = now_ns();
	uint16_t idx;
	uint32_t seq;

	if (!sp_ids(d, len, &idx, &seq) && (!memcmp(d, "PHRS", 4) ||
					    !memcmp(d, "PHTS", 4))) {
		if (seq >= p->late_lo && seq <= p->late_hi && p->late_hi) {
			p->late++;
			return;
		}
	}
	if (!p->qlen) {
		if (!len && p->late_hi) {
			p->late++;
			return;
		}
		p->wrong++;
		return;
	}
	r = &p->q[p->qhead];
	if (len == p->error_len && !memcmp(d, p->error_frame, len)) {
		p->errors++;
	} else if (len == SP_TRESP_LEN && !memcmp(d, "PHTS", 4)) {
		/* The text dialect (an stx-etx server answers in it even a
		 * binary request): all but the server's 4 digits.
		 */
		/* The text dialect: all but the server's 4 digits. */
		sp_response_text(want, opt.key, r->data, r->len, 0);
		if (len == SP_TRESP_LEN && !memcmp(d, want, SP_TRESP_LEN - 4)) {
			p->ok++;
			class_check(p, sp_unhex(d + SP_TRESP_LEN - 4, 4));
			trace_add(p, r, now);
		} else
			p->wrong++;
	} else {
		sp_response(want, opt.key, r->data, r->len, 0);
		if (len == SP_RESP_LEN && !memcmp(d, want, SP_RESP_LEN - 2)) {
			p->ok++;
			class_check(p, sp_get16(d + SP_RESP_LEN - 2));
			trace_add(p, r, now);
		} else
			p->wrong++;
	}
	if (p->nlat < MAX_LAT)
		p->lat[p->nlat++] = (now - r->sent_ns) / 1000;
	p->qhead = (p->qhead + 1) % MAX_OUT;
	p->qlen--;
	if (opt.think_us)
		p->next_at = now + expo_us(opt.think_us) * 1000;
	station_pump(p, now);
}

static void server_rx(struct port *p, const uint8_t *d, uint16_t len)
{
	uint64_t now = now_ns(), service;

	p->received++;
	if (p->mode == M_SILENT) {
		p->silent++;
		return;
	}
	if (p->due_ns) {
		/* A second request before we answered: hub misbehaves. */
		p->bad_frames++;
		return;
	}
	if (p->mode == M_FLAP && p->flap_n && p->received % (p->flap_n + 1) == 0) {
		p->silent++;	/* this one goes unanswered */
		return;
	}
	/* In the request's dialect; stx-etx cannot carry the binary one. */
	if ((len >= 4 && !memcmp(d, "PHTQ", 4)) ||
	    p->fs.framing == PH_FRAMING_STX_ETX) {
		sp_response_text(p->pending, opt.key, d, len, p->index);
		p->pending_len = SP_TRESP_LEN;
	} else {
		sp_response(p->pending, opt.key, d, len, p->index);
		p->pending_len = SP_RESP_LEN;
	}
	service = service_draw_us(p->service_us) * 1000;
	p->due_ns = now + service;
	p->served_ns += service;
	trace_served(p, d, len, now, service);
	p->busy_ns -= now;
}

static void server_answer(struct port *p, uint64_t now)
{
	p->due_ns = 0;
	p->busy_ns += now;
	if (p->mode == M_GARBAGE) {
		/* Not a frame of this framing (send_damaged()). */
		send_damaged(p, p->pending, p->pending_len);
		p->garbage++;
		return;
	}
	if (p->mode == M_TRUNCATE) {
		/* Half a frame, then silence: the line dies mid-answer. */
		send_truncated(p, p->pending, p->pending_len);
		p->garbage++;
		return;
	}
	send_frame(p, p->pending, p->pending_len);
	p->answered++;
	if (p->mode == M_DUP) {
		/* The same answer again, right behind the first (in gap
		 * framing, after the silence that ends the first).
		 */
		send_frame(p, p->pending, p->pending_len);
		p->garbage++;
	}
}

/* What the receiver made of a byte or of a silence. */
static void rx_event(struct port *p, int ev)
{
	switch (ev) {
	case PH_RX_FRAME:
		if (p->kind == K_STATION)
			station_rx(p, p->rx.buf, ph_rx_payload_len(&p->rx));
		else if (p->kind == K_SERVER)
			server_rx(p, p->rx.buf, ph_rx_payload_len(&p->rx));
		ph_rx_release(&p->rx);
		break;
	case PH_RX_NONE:
		break;
	default:
		p->bad_frames++;
		break;
	}
}

/*
 * The line has been silent for the port's gap time: that ends a gap frame
 * and drops the frame in progress of the others. Returns when to look
 * again, 0 if nothing is in progress.
 */
static uint64_t rx_silence(struct port *p, uint64_t now)
{
	uint64_t t = p->rx_last_ns + p->fs.gap_us * 1000ULL;

	if (p->kind == K_RAW || !p->connected || !ph_rx_mid_frame(&p->rx))
		return 0;
	if (now < t)
		return t;
	rx_event(p, ph_rx_gap(&p->rx));
	return 0;
}

static void port_rx(struct port *p, const uint8_t *b, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		if (p->telnet_skip) {
			p->telnet_skip--;
			continue;
		}
		p->rx_bytes++;
		if (p->kind == K_RAW) {
			/* --expect-raw: the --raw pattern, nothing more */
			if (p->expect_left) {
				if (b[i] != 1 + p->expect_got % 0x7c)
					p->expect_wrong++;
				p->expect_got++;
				p->expect_left--;
			} else {
				p->expect_wrong++;
			}
			continue;
		}
		rx_event(p, ph_rx_feed(&p->rx, b[i]));
	}
	p->rx_last_ns = now_ns();
}

static int connect_port(struct port *p, uint64_t deadline)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct epoll_event e = { .events = EPOLLIN, .data.ptr = p };

	if (strlen(opt.sockdir) + strlen(p->name) + 2 > sizeof(sa.sun_path))
		die("socket path too long: %s/%s", opt.sockdir, p->name);
	memcpy(sa.sun_path, opt.sockdir, strlen(opt.sockdir));
	sa.sun_path[strlen(opt.sockdir)] = '/';
	strcpy(sa.sun_path + strlen(opt.sockdir) + 1, p->name);
	for (;;) {
		p->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
		if (p->fd < 0)
			die("socket: %s", strerror(errno));
		if (!connect(p->fd, (struct sockaddr *)&sa, sizeof(sa)))
			break;
		close(p->fd);
		p->fd = -1;
		if (now_ns() > deadline)
			die("%s: connect: %s", sa.sun_path, strerror(errno));
		usleep(50000);
	}
	fcntl(p->fd, F_SETFL, O_NONBLOCK);
	p->connected = true;
	/* QEMU's usb-serial chardevs never speak telnet. */
	p->telnet = opt.telnet && p->name[0] != 'u';
	p->telnet_skip = p->telnet ? TELNET_INIT : 0;
	ph_rx_init(&p->rx, p->fs.framing, p->fs.lrc, p->rxbuf,
		   PH_PAYLOAD_MAX);
	p->rx_last_ns = now_ns();
	tx_reset(p);
	return epoll_ctl(epfd, EPOLL_CTL_ADD, p->fd, &e);
}

static int cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return x < y ? -1 : x > y;
}

static uint32_t pct(uint32_t *v, unsigned int n, double q)
{
	unsigned int i;

	if (!n)
		return 0;
	i = (unsigned int)(q * (n - 1) + 0.5);
	return v[i];
}

static double lat_mean(const struct port *p)
{
	double sum = 0;
	unsigned int i;

	for (i = 0; i < p->nlat; i++)
		sum += p->lat[i];
	return p->nlat ? sum / p->nlat : 0;
}

#define FOR_COUNTERS(X) \
	X(sent) X(ok) X(wrong) X(errors) X(timeouts) X(late) \
	X(tx_bytes) X(rx_bytes) X(bad_frames) X(received) X(answered) \
	X(garbage) X(silent) X(busy_ns) X(cross_class)

static void report(FILE *kv, double secs)
{
	uint64_t tot_sent = 0, tot_ok = 0, tot_wrong = 0, tot_err = 0;
	uint64_t tot_to = 0, tot_late = 0;
	static uint32_t all[MAX_LAT];
	unsigned int i, nall = 0;
	struct port *p;

	printf("sitesim: seed %llu, %.2f s\n", (unsigned long long)opt.seed,
	       secs);
	for (i = 0; i < nports; i++) {
		p = &ports[i];
		if (kv) {
#define KV(f) fprintf(kv, "%s." #f " %llu\n", p->name, \
		      (unsigned long long)p->f);
			FOR_COUNTERS(KV)
#undef KV
			fprintf(kv, "%s.noise %llu\n%s.breaks %llu\n", p->name,
				(unsigned long long)p->noise_n, p->name,
				(unsigned long long)p->breaks);
			fprintf(kv, "%s.corrupted %llu\n%s.reconnects %llu\n",
				p->name, (unsigned long long)p->corrupted,
				p->name, (unsigned long long)p->reconnects);
			/* What the faults above must make the hub count. */
			fprintf(kv, "%s.inj_bad_fcs %llu\n%s.inj_bad_lrc %llu\n"
				"%s.inj_truncated %llu\n%s.inj_too_long %llu\n",
				p->name,
				(unsigned long long)p->inj[PH_RX_BAD_FCS],
				p->name,
				(unsigned long long)p->inj[PH_RX_BAD_LRC],
				p->name,
				(unsigned long long)p->inj[PH_RX_TRUNCATED],
				p->name,
				(unsigned long long)p->inj[PH_RX_TOO_LONG]);
		}
		if (p->kind == K_STATION) {
			qsort(p->lat, p->nlat, sizeof(uint32_t), cmp_u32);
			if (kv)
				fprintf(kv, "%s.rtt_mean_us %.0f\n"
					"%s.rtt_max_us %u\n", p->name,
					lat_mean(p), p->name,
					pct(p->lat, p->nlat, 1));
			printf("  station %-5s sent %llu ok %llu wrong %llu "
			       "errors %llu timeouts %llu late %llu  rtt us "
			       "min %u p50 %u p90 %u p99 %u max %u\n",
			       p->name, (unsigned long long)p->sent,
			       (unsigned long long)p->ok,
			       (unsigned long long)p->wrong,
			       (unsigned long long)p->errors,
			       (unsigned long long)p->timeouts,
			       (unsigned long long)p->late,
			       pct(p->lat, p->nlat, 0), pct(p->lat, p->nlat, .5),
			       pct(p->lat, p->nlat, .9),
			       pct(p->lat, p->nlat, .99),
			       pct(p->lat, p->nlat, 1));
			tot_sent += p->sent;
			tot_ok += p->ok;
			tot_wrong += p->wrong;
			tot_err += p->errors;
			tot_to += p->timeouts;
			tot_late += p->late;
			if (nall + p->nlat <= MAX_LAT) {
				memcpy(all + nall, p->lat,
				       p->nlat * sizeof(uint32_t));
				nall += p->nlat;
			}
		} else if (p->kind == K_SERVER) {
			printf("  server  %-5s received %llu answered %llu "
			       "garbage %llu silent %llu bad %llu busy %.1f%%\n",
			       p->name, (unsigned long long)p->received,
			       (unsigned long long)p->answered,
			       (unsigned long long)p->garbage,
			       (unsigned long long)p->silent,
			       (unsigned long long)p->bad_frames,
			       secs > 0 ? p->busy_ns / 1e7 / secs : 0);
		} else if (p->kind == K_RAW) {
			printf("  raw     %-5s wrote %llu bytes, read %llu "
			       "(%llu wrong)\n", p->name,
			       (unsigned long long)p->tx_bytes,
			       (unsigned long long)p->rx_bytes,
			       (unsigned long long)p->expect_wrong);
			if (kv)
				fprintf(kv, "%s.expect_wrong %llu\n", p->name,
					(unsigned long long)p->expect_wrong);
		}
	}
	qsort(all, nall, sizeof(uint32_t), cmp_u32);
	printf("  total sent %llu ok %llu wrong %llu errors %llu timeouts "
	       "%llu late %llu  rtt us p50 %u p99 %u\n",
	       (unsigned long long)tot_sent, (unsigned long long)tot_ok,
	       (unsigned long long)tot_wrong, (unsigned long long)tot_err,
	       (unsigned long long)tot_to, (unsigned long long)tot_late,
	       pct(all, nall, .5), pct(all, nall, .99));
	if (kv) {
		fprintf(kv, "total.sent %llu\ntotal.ok %llu\ntotal.wrong %llu\n"
			"total.errors %llu\ntotal.timeouts %llu\n"
			"total.late %llu\ntotal.rtt_p50_us %u\n"
			"total.rtt_p99_us %u\nseed %llu\n"
			"total.seconds %.3f\n",
			(unsigned long long)tot_sent,
			(unsigned long long)tot_ok,
			(unsigned long long)tot_wrong,
			(unsigned long long)tot_err,
			(unsigned long long)tot_to,
			(unsigned long long)tot_late, pct(all, nall, .5),
			pct(all, nall, .99), (unsigned long long)opt.seed,
			secs);
	}
}

static int cmp_sent(const void *a, const void *b)
{
	const struct trace_rec *x = a, *y = b;

	return x->sent_ns < y->sent_ns ? -1 : x->sent_ns > y->sent_ns;
}

static int cmp_server_in(const void *a, const void *b)
{
	const struct trace_rec *x = &trace[*(const uint32_t *)a];
	const struct trace_rec *y = &trace[*(const uint32_t *)b];

	if (x->server != y->server)
		return x->server < y->server ? -1 : 1;
	return x->srv_in_ns < y->srv_in_ns ? -1 : x->srv_in_ns > y->srv_in_ns;
}

/*
 * What the hub itself costs a request, queueing left out: from the moment
 * both the request (its last byte sent by the station) and the server that
 * took it (its previous answer written) were ready, until that server had
 * the request; plus from the server's answer until the station had it.
 * Serial transfer both ways is in it, as it is for any hub. Fills @ov (us,
 * one per request, in no particular order).
 */
static void hub_overhead(uint32_t *ov)
{
	uint64_t ready, free_at = 0, answered;
	uint32_t *idx = calloc(ntrace, sizeof(*idx));
	const struct trace_rec *t;
	size_t i;

	if (!idx)
		die("out of memory");
	for (i = 0; i < ntrace; i++)
		idx[i] = i;
	qsort(idx, ntrace, sizeof(*idx), cmp_server_in);
	for (i = 0; i < ntrace; i++) {
		t = &trace[idx[i]];
		if (!i || trace[idx[i - 1]].server != t->server)
			free_at = 0;
		ready = t->sent_ns > free_at ? t->sent_ns : free_at;
		answered = t->srv_in_ns + t->service_ns;
		ov[i] = ((t->srv_in_ns > ready ? t->srv_in_ns - ready : 0) +
			 (t->done_ns > answered ? t->done_ns - answered : 0)) /
			1000;
		free_at = answered;
	}
	free(idx);
}

/*
 * The ideal as the stations live it: each one replays its own requests
 * (service times and, between an answer and its next request, the think
 * time it took) on a zero-overhead FIFO of @nsrv servers. Trace sorted by
 * sent time. Gives the mean round trip, the mean wait and the rate.
 */
static void closed_ideal(unsigned int nsrv, double *rtt, double *wait,
			 double *rps)
{
	uint64_t free_at[MAX_PORTS] = { 0 }, next_at[MAX_PORTS];
	unsigned int pos[MAX_PORTS] = { 0 }, cnt[MAX_PORTS] = { 0 };
	uint32_t *list[MAX_PORTS] = { NULL };
	uint64_t first = UINT64_MAX, last = 0;
	unsigned int s, k, m, best;
	size_t i;

	*rtt = *wait = *rps = 0;
	for (i = 0; i < ntrace; i++)
		cnt[trace[i].station]++;
	for (s = 0; s < MAX_PORTS; s++) {
		if (!cnt[s])
			continue;
		list[s] = calloc(cnt[s], sizeof(uint32_t));
		if (!list[s])
			die("out of memory");
		cnt[s] = 0;
	}
	for (i = 0; i < ntrace; i++) {
		s = trace[i].station;
		list[s][cnt[s]++] = i;
	}
	for (s = 0; s < MAX_PORTS; s++)
		next_at[s] = cnt[s] ? trace[list[s][0]].sent_ns : UINT64_MAX;
	for (;;) {
		const struct trace_rec *t, *n;
		uint64_t start, done;

		for (best = MAX_PORTS, s = 0; s < MAX_PORTS; s++)
			if (pos[s] < cnt[s] &&
			    (best == MAX_PORTS || next_at[s] < next_at[best]))
				best = s;
		if (best == MAX_PORTS)
			break;
		s = best;
		t = &trace[list[s][pos[s]]];
		for (m = 0, k = 1; k < nsrv; k++)
			if (free_at[k] < free_at[m])
				m = k;
		start = next_at[s] > free_at[m] ? next_at[s] : free_at[m];
		done = start + t->service_ns;
		free_at[m] = done;
		*wait += start - next_at[s];
		*rtt += done - next_at[s];
		if (next_at[s] < first)
			first = next_at[s];
		if (done > last)
			last = done;
		if (++pos[s] < cnt[s]) {
			n = &trace[list[s][pos[s]]];
			next_at[s] = done + (n->sent_ns > t->done_ns ?
					     n->sent_ns - t->done_ns : 0);
		}
	}
	for (s = 0; s < MAX_PORTS; s++)
		free(list[s]);
	*rtt /= ntrace;
	*wait /= ntrace;
	*rps = last > first ? ntrace / ((last - first) / 1e9) : 0;
}

/*
 * The benchmark figures of a --trace run, and the ideal: a zero-overhead,
 * work-conserving FIFO schedule of the same arrivals and service times on
 * as many servers, so what the hub costs shows beside what queueing alone
 * would.
 */
static void bench_report(FILE *kv)
{
	uint64_t t0 = UINT64_MAX, t1 = 0, free_at[MAX_PORTS] = { 0 };
	uint64_t served[MAX_PORTS] = { 0 };
	double rtt = 0, wait = 0, irtt = 0, iwait = 0, service = 0, add = 0;
	double crtt, cwait, crps;
	unsigned int i, k, nsrv = 0;
	uint32_t *added, *iadded;
	uint32_t *ov;
	double win, ovsum = 0;
	FILE *f;

	for (i = 0; i < nports; i++)
		nsrv += ports[i].kind == K_SERVER;
	if (!ntrace || !nsrv)
		return;
	qsort(trace, ntrace, sizeof(*trace), cmp_sent);
	added = calloc(ntrace, sizeof(*added));
	iadded = calloc(ntrace, sizeof(*iadded));
	ov = calloc(ntrace, sizeof(*ov));
	f = fopen(opt.trace, "w");
	if (!added || !iadded || !ov || !f)
		die("%s: %s", opt.trace, strerror(errno));
	fprintf(f, "# station server sent_us srv_in_us done_us service_us "
		"added_us\n");
	for (i = 0; i < ntrace; i++) {
		struct trace_rec *t = &trace[i];
		uint64_t r = t->done_ns - t->sent_ns, start;
		unsigned int m = 0;

		if (t->sent_ns < t0)
			t0 = t->sent_ns;
		if (t->done_ns > t1)
			t1 = t->done_ns;
		added[i] = r > t->service_ns ? (r - t->service_ns) / 1000 : 0;
		rtt += r;
		wait += t->srv_in_ns - t->sent_ns;
		service += t->service_ns;
		add += added[i];
		served[t->server] += t->service_ns;
		/* ideal: the earliest free of nsrv servers, in arrival order */
		for (k = 1; k < nsrv; k++)
			if (free_at[k] < free_at[m])
				m = k;
		start = t->sent_ns > free_at[m] ? t->sent_ns : free_at[m];
		free_at[m] = start + t->service_ns;
		iwait += start - t->sent_ns;
		iadded[i] = (start - t->sent_ns) / 1000;
		irtt += start - t->sent_ns + t->service_ns;
		fprintf(f, "%u %u %llu %llu %llu %llu %u\n", t->station,
			t->server, (unsigned long long)(t->sent_ns - t0) / 1000,
			(unsigned long long)(t->srv_in_ns - t0) / 1000,
			(unsigned long long)(t->done_ns - t0) / 1000,
			(unsigned long long)t->service_ns / 1000, added[i]);
	}
	fclose(f);
	win = (t1 - t0) / 1e9;
	qsort(added, ntrace, sizeof(*added), cmp_u32);
	qsort(iadded, ntrace, sizeof(*iadded), cmp_u32);
	hub_overhead(ov);
	for (i = 0; i < ntrace; i++)
		ovsum += ov[i];
	qsort(ov, ntrace, sizeof(*ov), cmp_u32);
	printf("  bench %zu requests in %.2f s: %.1f/s, added us p50 %u p90 %u "
	       "p99 %u max %u; rtt mean %.0f us, ideal %.0f us\n", ntrace, win,
	       ntrace / win, pct(added, ntrace, .5), pct(added, ntrace, .9),
	       pct(added, ntrace, .99), pct(added, ntrace, 1),
	       rtt / ntrace / 1000, irtt / ntrace / 1000);
	printf("  hub overhead (queueing left out) us p50 %u p99 %u max %u\n",
	       pct(ov, ntrace, .5), pct(ov, ntrace, .99), pct(ov, ntrace, 1));
	if (kv) {
		fprintf(kv, "bench.n %zu\nbench.window_s %.3f\nbench.rps %.2f\n"
			"bench.servers %u\n", ntrace, win, ntrace / win, nsrv);
		fprintf(kv, "bench.added_p50_us %u\nbench.added_p90_us %u\n"
			"bench.added_p99_us %u\nbench.added_max_us %u\n"
			"bench.added_mean_us %.0f\n", pct(added, ntrace, .5),
			pct(added, ntrace, .9), pct(added, ntrace, .99),
			pct(added, ntrace, 1), add / ntrace);
		fprintf(kv, "bench.overhead_p50_us %u\n"
			"bench.overhead_p90_us %u\nbench.overhead_p99_us %u\n"
			"bench.overhead_max_us %u\nbench.overhead_mean_us %.0f\n",
			pct(ov, ntrace, .5), pct(ov, ntrace, .9),
			pct(ov, ntrace, .99), pct(ov, ntrace, 1),
			ovsum / ntrace);
		fprintf(kv, "bench.ideal_added_p50_us %u\n"
			"bench.ideal_added_p99_us %u\n", pct(iadded, ntrace, .5),
			pct(iadded, ntrace, .99));
		fprintf(kv, "bench.rtt_mean_us %.0f\nbench.wait_mean_us %.0f\n"
			"bench.ideal_rtt_mean_us %.0f\n"
			"bench.ideal_wait_mean_us %.0f\n"
			"bench.service_mean_us %.0f\nbench.capacity_rps %.2f\n",
			rtt / ntrace / 1000, wait / ntrace / 1000,
			irtt / ntrace / 1000, iwait / ntrace / 1000,
			service / ntrace / 1000, nsrv / (service / ntrace / 1e9));
		for (i = 0; i < nports; i++)
			if (ports[i].kind == K_SERVER)
				fprintf(kv, "bench.busy.%s %.4f\n", ports[i].name,
					served[ports[i].index] / 1e9 / win);
	}
	closed_ideal(nsrv, &crtt, &cwait, &crps);
	printf("  ideal as the stations live it: rtt mean %.0f us, %.1f/s\n",
	       crtt / 1000, crps);
	if (kv)
		fprintf(kv, "bench.ideal_closed_rtt_mean_us %.0f\n"
			"bench.ideal_closed_wait_mean_us %.0f\n"
			"bench.ideal_closed_rps %.2f\n", crtt / 1000,
			cwait / 1000, crps);
	free(added);
	free(iadded);
	free(ov);
}

static void usage(FILE *f)
{
	fprintf(f,
"Usage: sitesim [options]\n"
"Plays stations and servers at the far end of the test machine's serial\n"
"ports (Unix sockets DIR/NAME, see scripts/vm-run --help). A port is named\n"
"cCpP (persohub's card C, port P), tCpP (tty card C, port P: a ttyS in the\n"
"guest) or uN (USB serial adapter N: a ttyUSB, plugged in only while\n"
"connected), C < 16, P < 4, N < 64; every PORT and LIST below takes them.\n"
"  --sockdir DIR        sockets (default $PERSOHUB_SOCKDIR)\n"
"  --stations LIST      station ports: c0p0,t0p1,u0 or ranges of one kind\n"
"                       c0p0-c1p1, t0p0-t0p3, u0-u3\n"
"  --servers LIST       server ports\n"
"  --requests N         requests per station (default 100)\n"
"  --duration S         stop sending new requests after S seconds\n"
"  --stop-file PATH     stop sending new requests once PATH exists (looked\n"
"                       for every 50 ms); the run does not end before:\n"
"                       without --stations, servers answer until then\n"
"  --size N             request payload bytes (default 64, min 10)\n"
"  --size-max M         random sizes from --size to M\n"
"  --depth D            requests a station keeps outstanding (default 1)\n"
"  --think-us N         mean exponential think time between requests\n"
"  --service-us N       server service time (default 1000)\n"
"  --service-dist D     fixed (default), exp: exponential, mean --service-us,\n"
"                       or uniform: from 2/3 to 4/3 of --service-us\n"
"  --timeout-ms N       a station's wait for an answer (default 10000)\n"
"  --server-mode P=M    M: ok, silent, garbage (damaged as --biterr; gap: a\n"
"                       burst too long), slow:US, truncate (half a frame,\n"
"                       then silence; not gap), flap:N (N answers, 1\n"
"                       not), dup (every answer twice; counted as garbage)\n"
"  --noise PORT         line noise before each request, one bad frame for\n"
"                       the hub in every framing: hdlc junk (bad FCS),\n"
"                       stx-etx STX and junk (truncated), stx-len STX and an\n"
"                       absurd count (too long), len16 an absurd count\n"
"                       (truncated), gap a burst over max= bytes (%u by\n"
"                       default: too long)\n"
"  --break PORT         a line break before each request (--telnet)\n"
"  --burst PORT=N       the first N requests back to back\n"
"  --biterr PORT        every 4th request damaged (the hub drops it; the\n"
"                       station expects no answer): a bit flipped (hdlc:\n"
"                       bad FCS; stx-etx:lrc, stx-len: bad LRC), the ETX\n"
"                       lost (stx-etx: truncated), a count bit set (len16:\n"
"                       truncated); not on gap ports, which cannot tell\n"
"  --reconnect PORT     drop and reopen the line every 5 requests\n"
"  --raw PORT=N         write N bytes (0x01..0x7c, repeated) to PORT\n"
"  --expect-raw PORT=N  read N bytes from PORT, which must be that same\n"
"                       pattern (from its start); fails on any other byte\n"
"                       or if they do not all come\n"
"  --telnet             sockets speak telnet (vm-run --telnet)\n"
"  --framing LIST=F     the framing of the ports of LIST, F being\n"
"                       NAME[:lrc][:gap=US][:max=N]: NAME hdlc (the\n"
"                       default),\n"
"                       stx-etx, stx-len, len16 or gap; lrc: stx-etx with\n"
"                       an LRC byte; gap=US: the line's gap time (default\n"
"                       %u): frames on a gap port are separated by that\n"
"                       much silence, and a received frame ends (gap) or\n"
"                       is dropped (stx-etx, stx-len, len16) when the line\n"
"                       is silent that long; a broken unit sent (noise,\n"
"                       damaged or cut frame) is followed by that silence\n"
"                       in every framing but hdlc. Use at least the hub's\n"
"                       gap time. max=N: the peer's max_payload (default\n"
"                       %d), so that noise on a gap port is just longer\n"
"                       than that. Checks are made on payloads: each side\n"
"                       may speak its own framing\n"
"  --framing-all F      the framing of every port without --framing\n"
"  --text               printable payloads (\"PHTQ\", siteproto.h) from\n"
"                       every station; the default where a station or a\n"
"                       server speaks stx-etx. Servers answer in the\n"
"                       request's dialect (stx-etx servers: always text)\n"
"  --binary             binary requests even where stx-etx takes part:\n"
"                       those an stx-etx server cannot carry then fail\n"
"                       (with --expect-errors)\n"
"  --class LIST=N       stations: their requests' class; servers: the class\n"
"                       they serve. An answer names its server, so a\n"
"                       station of class N that gets an answer from a\n"
"                       server of another class counts it (cross_class)\n"
"                       and fails the run\n"
"  --error-frame LIST=HEX  the stations' error answer (default empty), as\n"
"                       the hub's error_frame of those ports\n"
"  --seed S             replay a run (printed every run)\n"
"  --key K              response key (default derived from the seed)\n"
"  --expect-errors      error frames and timeouts do not fail the run\n"
"  --kv FILE            report as 'key value' lines (total.seconds: the\n"
"                       run's; stations' .rtt_mean_us, .rtt_max_us);\n"
"                       PORT.noise, .garbage,\n"
"                       .corrupted count the faults, PORT.inj_bad_fcs,\n"
"                       .inj_bad_lrc, .inj_truncated, .inj_too_long the\n"
"                       bad frames they must make the hub count (an hdlc\n"
"                       truncation counts when the next frame opens)\n"
"  --trace FILE         one line per answered request (times in us from the\n"
"                       first request): station server sent srv_in done\n"
"                       service added; and bench.* figures in the report\n"
"  --wait-file PATH     start when PATH exists (before connecting)\n"
"  --go-file PATH       connect every port, then wait until PATH exists\n"
"                       before the first byte (uN: the guest sees its\n"
"                       adapter, opens it, then creates PATH)\n"
"  --done-file PATH     create PATH when finished\n"
"  --hold-file PATH     then keep every port connected (uN adapters\n"
"                       plugged in) until PATH exists, so that the guest\n"
"                       can read the counters of their ports\n"
"  --max-seconds N      give up after N s (default 120)\n"
"  --connect-timeout N  keep trying sockets for N s (default 30)\n"
"Exit: 0 when every request got its own answer (or, with --expect-errors,\n"
"an error frame or a timeout) and no answer was wrong or late; 1 if not;\n"
"2 on a usage or setup error.\n", PH_PAYLOAD_MAX, GAP_US_DEFAULT,
		PH_PAYLOAD_MAX);
}

/*
 * Every port's framing (--framing-all where no --framing), the faults it
 * cannot carry refused, and the stations' dialect: text wherever an
 * stx-etx line takes part, since any request may cross any server.
 */
static void framings_check(void)
{
	bool text = opt.text;
	unsigned int i;
	struct port *p;

	if (opt.text && opt.binary)
		die("--text or --binary, not both");

	for (i = 0; i < nports; i++) {
		p = &ports[i];
		if (!p->fs.set)
			p->fs = opt.framing;
		if (p->fs.framing == PH_FRAMING_STX_ETX &&
		    (p->kind == K_STATION || p->kind == K_SERVER))
			text = true;
		if (p->fs.framing != PH_FRAMING_GAP)
			continue;
		if (p->biterr)
			die("--biterr %s: a gap frame has no check that could "
			    "tell a flipped bit", p->name);
		if (p->mode == M_TRUNCATE)
			die("--server-mode %s=truncate: half a gap frame is "
			    "still a frame", p->name);
	}
	for (i = 0; i < nports; i++)
		ports[i].text = text && !opt.binary;
}

static void parse(int argc, char **argv)
{
	enum { O_SOCKDIR = 256, O_STATIONS, O_SERVERS, O_REQUESTS, O_SIZE,
	       O_SIZE_MAX, O_DEPTH, O_THINK, O_SERVICE, O_TIMEOUT, O_MODE,
	       O_NOISE, O_BREAK, O_BURST, O_RAW, O_TELNET, O_SEED, O_KEY,
	       O_EXPECT, O_KV, O_WAIT, O_DONE, O_MAXS, O_CONNT, O_DUR, O_STOP,
	       O_BITERR, O_RECONNECT, O_SDIST, O_TRACE, O_GO, O_EXPRAW,
	       O_HOLD, O_FRAMING, O_FRAMING_ALL, O_TEXT, O_BINARY, O_ERRFRAME,
	       O_CLASS };
	static const struct option lo[] = {
		{ "sockdir", 1, 0, O_SOCKDIR }, { "stations", 1, 0, O_STATIONS },
		{ "servers", 1, 0, O_SERVERS }, { "requests", 1, 0, O_REQUESTS },
		{ "size", 1, 0, O_SIZE }, { "size-max", 1, 0, O_SIZE_MAX },
		{ "depth", 1, 0, O_DEPTH }, { "think-us", 1, 0, O_THINK },
		{ "service-us", 1, 0, O_SERVICE },
		{ "timeout-ms", 1, 0, O_TIMEOUT },
		{ "server-mode", 1, 0, O_MODE }, { "noise", 1, 0, O_NOISE },
		{ "break", 1, 0, O_BREAK }, { "burst", 1, 0, O_BURST },
		{ "raw", 1, 0, O_RAW }, { "telnet", 0, 0, O_TELNET },
		{ "seed", 1, 0, O_SEED }, { "key", 1, 0, O_KEY },
		{ "expect-errors", 0, 0, O_EXPECT }, { "kv", 1, 0, O_KV },
		{ "wait-file", 1, 0, O_WAIT }, { "done-file", 1, 0, O_DONE },
		{ "hold-file", 1, 0, O_HOLD },
		{ "go-file", 1, 0, O_GO }, { "expect-raw", 1, 0, O_EXPRAW },
		{ "max-seconds", 1, 0, O_MAXS },
		{ "connect-timeout", 1, 0, O_CONNT },
		{ "duration", 1, 0, O_DUR }, { "stop-file", 1, 0, O_STOP },
		{ "biterr", 1, 0, O_BITERR },
		{ "reconnect", 1, 0, O_RECONNECT },
		{ "service-dist", 1, 0, O_SDIST }, { "trace", 1, 0, O_TRACE },
		{ "framing", 1, 0, O_FRAMING },
		{ "framing-all", 1, 0, O_FRAMING_ALL },
		{ "text", 0, 0, O_TEXT }, { "binary", 0, 0, O_BINARY },
		{ "error-frame", 1, 0, O_ERRFRAME },
		{ "class", 1, 0, O_CLASS },
		{ "help", 0, 0, 'h' }, { }
	};
	struct framing_spec fs;
	const char *val;
	struct port *p;
	char list[1024];
	int c;

	opt.sockdir = getenv("PERSOHUB_SOCKDIR");
	opt.seed = now_ns() ^ getpid();
	while ((c = getopt_long(argc, argv, "h", lo, NULL)) != -1) {
		switch (c) {
		case O_SOCKDIR: opt.sockdir = optarg; break;
		case O_STATIONS: port_list(optarg, K_STATION); break;
		case O_SERVERS: port_list(optarg, K_SERVER); break;
		case O_REQUESTS: opt.requests = atoi(optarg); break;
		case O_SIZE: opt.size = atoi(optarg); break;
		case O_SIZE_MAX: opt.size_max = atoi(optarg); break;
		case O_DEPTH: opt.depth = atoi(optarg); break;
		case O_THINK: opt.think_us = atoi(optarg); break;
		case O_SERVICE: opt.service_us = atoi(optarg); break;
		case O_TIMEOUT: opt.timeout_ms = atoi(optarg); break;
		case O_MODE:
			p = port_eq(optarg, &val);
			if (!val)
				die("--server-mode PORT=MODE");
			if (!strcmp(val, "ok"))
				p->mode = M_OK;
			else if (!strcmp(val, "silent"))
				p->mode = M_SILENT;
			else if (!strcmp(val, "garbage"))
				p->mode = M_GARBAGE;
			else if (!strcmp(val, "dup"))
				p->mode = M_DUP;
			else if (!strcmp(val, "truncate"))
				p->mode = M_TRUNCATE;
			else if (!strncmp(val, "flap:", 5)) {
				p->mode = M_FLAP;
				p->flap_n = atoi(val + 5);
			} else if (!strncmp(val, "slow:", 5))
				p->service_us = atoi(val + 5);
			else
				die("unknown server mode '%s'", val);
			break;
		case O_NOISE: port_eq(optarg, &val)->noise = true; break;
		case O_BREAK: port_eq(optarg, &val)->brk = true; break;
		case O_BITERR: port_eq(optarg, &val)->biterr = true; break;
		case O_RECONNECT: port_eq(optarg, &val)->reconnect = true; break;
		case O_BURST:
			p = port_eq(optarg, &val);
			p->burst = val ? atoi(val) : 0;
			break;
		case O_RAW:
			p = port_eq(optarg, &val);
			if (p->kind != K_NONE && p->kind != K_RAW)
				die("%s given two roles", p->name);
			p->kind = K_RAW;
			p->raw_left = val ? strtoull(val, NULL, 0) : 0;
			break;
		case O_TELNET: opt.telnet = true; break;
		case O_FRAMING:
			val = strchr(optarg, '=');
			if (!val || (size_t)(val - optarg) >= sizeof(list))
				die("--framing LIST=NAME[:lrc][:gap=US]");
			memcpy(list, optarg, val - optarg);
			list[val - optarg] = '\0';
			framing_parse(val + 1, &fs);
			port_each(list, set_framing, &fs);
			break;
		case O_FRAMING_ALL: framing_parse(optarg, &opt.framing); break;
		case O_TEXT: opt.text = true; break;
		case O_BINARY: opt.binary = true; break;
		case O_ERRFRAME:
			val = strchr(optarg, '=');
			if (!val || (size_t)(val - optarg) >= sizeof(list))
				die("--error-frame PORT=HEX");
			memcpy(list, optarg, val - optarg);
			list[val - optarg] = '\0';
			port_each(list, set_error_frame, val + 1);
			break;
		case O_CLASS:
			val = strchr(optarg, '=');
			if (!val || (size_t)(val - optarg) >= sizeof(list) ||
			    !val[1] || strspn(val + 1, "0123456789") !=
			    strlen(val + 1) || atoi(val + 1) > 63)
				die("--class LIST=N (N 0 to 63)");
			memcpy(list, optarg, val - optarg);
			list[val - optarg] = '\0';
			port_each(list, set_class, val + 1);
			break;
		case O_SDIST:
			if (!strcmp(optarg, "fixed"))
				opt.service_dist = SD_FIXED;
			else if (!strcmp(optarg, "exp"))
				opt.service_dist = SD_EXP;
			else if (!strcmp(optarg, "uniform"))
				opt.service_dist = SD_UNIFORM;
			else
				die("--service-dist fixed|exp|uniform");
			break;
		case O_TRACE: opt.trace = optarg; break;
		case O_SEED: opt.seed = strtoull(optarg, NULL, 0); break;
		case O_KEY:
			opt.key = strtoull(optarg, NULL, 0);
			opt.key_set = true;
			break;
		case O_EXPECT: opt.expect_errors = true; break;
		case O_KV: opt.kv = optarg; break;
		case O_WAIT: opt.wait_file = optarg; break;
		case O_GO: opt.go_file = optarg; break;
		case O_HOLD: opt.hold_file = optarg; break;
		case O_EXPRAW:
			p = port_eq(optarg, &val);
			if (p->kind != K_NONE && p->kind != K_RAW)
				die("%s given two roles", p->name);
			p->kind = K_RAW;
			p->expect_left = val ? strtoull(val, NULL, 0) : 0;
			break;
		case O_DONE: opt.done_file = optarg; break;
		case O_MAXS: opt.max_seconds = atoi(optarg); break;
		case O_CONNT: opt.connect_timeout = atoi(optarg); break;
		case O_STOP:
			opt.stop_file = optarg;
			opt.requests = UINT32_MAX / 2;
			break;
		case O_DUR:
			opt.duration = atoi(optarg);
			opt.requests = UINT32_MAX / 2;
			break;
		case 'h': usage(stdout); exit(0);
		default: usage(stderr); exit(2);
		}
	}
	if (optind < argc || !opt.sockdir || !nports) {
		usage(stderr);
		exit(2);
	}
	if (opt.depth < 1 || opt.depth > MAX_OUT || opt.size > PH_PAYLOAD_MAX ||
	    opt.size_max > PH_PAYLOAD_MAX)
		die("--depth 1..%d, sizes up to %d", MAX_OUT, PH_PAYLOAD_MAX);
	if (!opt.key_set)
		opt.key = sp_mix(opt.seed);
	rng_state = opt.seed;
	framings_check();
}

int main(int argc, char **argv)
{
	struct epoll_event evs[64];
	uint64_t start, deadline, now, wake, stop_check = 0;
	unsigned int i, live;
	struct timespec tmo;
	int n, rc = 0;
	bool done;
	FILE *kv = NULL;

	parse(argc, argv);
	setvbuf(stdout, NULL, _IOLBF, 0);
	/* A peer gone mid-write is reported as a disconnect, not a kill. */
	signal(SIGPIPE, SIG_IGN);
	if (opt.wait_file) {
		for (i = 0; i < opt.max_seconds * 20 &&
		     access(opt.wait_file, F_OK); i++)
			usleep(50000);
	}
	epfd = epoll_create1(EPOLL_CLOEXEC);
	start = now_ns();
	for (i = 0; i < nports; i++) {
		struct port *p = &ports[i];

		if (p->kind == K_NONE)
			die("%s has no role", p->name);
		if (!p->service_us)
			p->service_us = opt.service_us;
		if (p->kind == K_STATION) {
			p->q = calloc(MAX_OUT, sizeof(*p->q));
			p->lat = calloc(MAX_LAT, sizeof(uint32_t));
			if (!p->q || !p->lat)
				die("out of memory");
		}
		connect_port(p, start + opt.connect_timeout * 1000000000ULL);
	}
	/* Let QEMU's telnet negotiation arrive before the first bytes. */
	if (opt.telnet)
		usleep(50000);
	/* Connected (a uN adapter is plugged in from now on): wait for go. */
	if (opt.go_file) {
		for (i = 0; i < opt.max_seconds * 20 &&
		     access(opt.go_file, F_OK); i++)
			usleep(50000);
		if (access(opt.go_file, F_OK))
			die("%s never came", opt.go_file);
	}
	start = now_ns();
	deadline = start + opt.max_seconds * 1000000000ULL;
	if (opt.duration)
		stop_ns = start + opt.duration * 1000000000ULL;

	for (;;) {
		now = now_ns();
		done = true;
		wake = now + 100000000ULL;
		live = 0;
		if (opt.stop_file && !stopped) {
			if (now >= stop_check) {
				stopped = !access(opt.stop_file, F_OK);
				stop_check = now + 50000000ULL;
			}
			/* Not done before it, with stations or without. */
			done = stopped;
			if (!stopped && stop_check < wake)
				wake = stop_check;
		}
		for (i = 0; i < nports; i++) {
			struct port *p = &ports[i];
			uint64_t t;

			/* Silences: frames ending, held units leaving. */
			if (p->kind == K_STATION || p->kind == K_SERVER) {
				t = rx_silence(p, now);
				if (t && t < wake)
					wake = t;
				t = p->connected ? tx_release(p, now) : 0;
				if (t && t < wake)
					wake = t;
			}
			switch (p->kind) {
			case K_STATION:
				station_pump(p, now);
				if (p->qlen) {
					struct outreq *r = &p->q[p->qhead];
					uint64_t t = r->sent_ns +
						opt.timeout_ms * 1000000ULL;

					if (now >= t) {
						p->timeouts++;
						if (!p->late_lo)
							p->late_lo = r->seq;
						p->late_hi = r->seq;
						p->qhead = (p->qhead + 1) % MAX_OUT;
						p->qlen--;
						station_pump(p, now);
					} else if (t < wake) {
						wake = t;
					}
				}
				if (p->next_at && p->next_at < wake)
					wake = p->next_at;
				if (!station_done(p))
					done = false;
				live++;
				break;
			case K_SERVER:
				if (p->due_ns && now >= p->due_ns)
					server_answer(p, now);
				if (p->due_ns && p->due_ns < wake)
					wake = p->due_ns;
				break;
			case K_RAW:
				if (p->raw_left && !p->outlen) {
					uint8_t buf[4096];
					size_t k, m = p->raw_left < sizeof(buf) ?
						p->raw_left : sizeof(buf);

					for (k = 0; k < m; k++)
						buf[k] = 1 + (p->tx_bytes + k) % 0x7c;
					out_add(p, buf, m, true);
					p->raw_left -= m;
					flush(p);
				}
				if (p->raw_left || p->outlen ||
				    p->expect_left) {
					done = false;
				} else if (!p->raw_done_ns) {
					p->raw_done_ns = now;
					done = false;
				} else if (now < p->raw_done_ns + RAW_LINGER_NS) {
					/* QEMU drops what it has not read
					 * when the client goes: stay a bit.
					 */
					done = false;
					if (p->raw_done_ns + RAW_LINGER_NS < wake)
						wake = p->raw_done_ns +
						       RAW_LINGER_NS;
				}
				break;
			default:
				break;
			}
		}
		(void)live;
		if (done)
			break;
		if (now > deadline) {
			fprintf(stderr, "sitesim: gave up after %u s\n",
				opt.max_seconds);
			rc = 1;
			break;
		}
		/* Microsecond service and think times: a timespec wait. */
		tmo.tv_sec = wake > now ? (wake - now) / 1000000000ULL : 0;
		tmo.tv_nsec = wake > now ? (wake - now) % 1000000000ULL : 0;
		n = epoll_pwait2(epfd, evs, 64, &tmo, NULL);
		for (i = 0; n > 0 && i < (unsigned int)n; i++) {
			struct port *p = evs[i].data.ptr;
			uint8_t buf[4096];
			ssize_t r;

			if (evs[i].events & EPOLLOUT)
				flush(p);
			if (!(evs[i].events & (EPOLLIN | EPOLLHUP | EPOLLERR)))
				continue;
			r = read(p->fd, buf, sizeof(buf));
			if (r > 0) {
				port_rx(p, buf, r);
			} else if (r == 0 || (errno != EAGAIN &&
					      errno != EINTR)) {
				fprintf(stderr, "sitesim: %s disconnected\n",
					p->name);
				epoll_ctl(epfd, EPOLL_CTL_DEL, p->fd, NULL);
				p->connected = false;
				rc = 1;
			}
		}
		if (rc)
			break;
	}
	/*
	 * Stray bytes (late answers, duplicates) for a little longer, and
	 * what still waits for a silence (a gap server's second answer) sent:
	 * it was counted.
	 */
	for (now = now_ns(), wake = now + 50000000ULL; now < wake;
	     now = now_ns()) {
		uint64_t t, next = wake;

		for (i = 0; i < nports; i++) {
			struct port *p = &ports[i];

			rx_silence(p, now);
			if (!p->connected || p->kind == K_RAW)
				continue;
			t = tx_release(p, now);
			if (p->nunits || p->outlen) {
				wake = now + 50000000ULL;
				if (t && t < next)
					next = t;
			}
		}
		n = epoll_wait(epfd, evs, 64, (next - now) / 1000000 + 1);
		for (i = 0; n > 0 && i < (unsigned int)n; i++) {
			struct port *p = evs[i].data.ptr;
			uint8_t buf[4096];
			ssize_t r;

			if (evs[i].events & EPOLLOUT)
				flush(p);
			r = read(p->fd, buf, sizeof(buf));
			if (r > 0)
				port_rx(p, buf, r);
		}
		if (now > deadline + 10000000000ULL)
			break;
	}

	/* A gap frame still open ends now. */
	for (i = 0; i < nports; i++)
		if (ports[i].connected && ports[i].kind != K_RAW)
			rx_silence(&ports[i], UINT64_MAX);
	if (opt.kv) {
		kv = fopen(opt.kv, "w");
		if (!kv)
			die("%s: %s", opt.kv, strerror(errno));
	}
	for (i = 0; i < nports; i++)
		if (ports[i].due_ns)
			ports[i].busy_ns += now_ns();	/* still serving */
	report(kv, (now_ns() - start) / 1e9);
	if (opt.trace)
		bench_report(kv);
	if (kv)
		fclose(kv);
	for (i = 0; i < nports; i++) {
		struct port *p = &ports[i];

		if (p->kind != K_STATION)
			continue;
		if (p->wrong || p->cross_class ||
		    (!opt.duration && !opt.stop_file &&
		     p->sent < (opt.requests > p->burst ?
				opt.requests : p->burst)) ||
		    (!opt.expect_errors &&
		     (p->errors || p->timeouts || p->late))) {
			fprintf(stderr, "sitesim: %s: not every request got its "
				"own answer (seed %llu)\n", p->name,
				(unsigned long long)opt.seed);
			rc = 1;
		}
	}
	for (i = 0; i < nports; i++) {
		struct port *p = &ports[i];

		if (p->kind == K_RAW && (p->expect_left || p->expect_wrong)) {
			fprintf(stderr, "sitesim: %s: %llu bytes read, %llu "
				"missing, %llu not the --raw pattern\n", p->name,
				(unsigned long long)p->rx_bytes,
				(unsigned long long)p->expect_left,
				(unsigned long long)p->expect_wrong);
			rc = 1;
		}
	}
	if (opt.done_file)
		close(open(opt.done_file, O_CREAT | O_WRONLY, 0644));
	if (opt.hold_file) {
		for (i = 0; i < opt.max_seconds * 20 &&
		     access(opt.hold_file, F_OK); i++)
			usleep(50000);
		if (access(opt.hold_file, F_OK)) {
			fprintf(stderr, "sitesim: %s never came\n",
				opt.hold_file);
			rc = 1;
		}
	}
	return rc;
}
