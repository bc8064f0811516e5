// SPDX-License-Identifier: GPL-2.0
/*
 * persohubctl: the site administrator's tool for persohub, in the manner of
 * ip(8). It reads and changes ports and userspace servers, shows counters
 * and the hub's dispatch latency, follows events and gives a live view, all
 * over the "persohub" generic netlink family (uapi/linux/persohub.h).
 *
 * This file holds the command table, the options and the usage; each
 * command family has its own file (see persohubctl.h). Output is driven by
 * tables (port fields, counter rows, set keys, event attributes) and
 * printed through one column formatter; -j goes through a small JSON
 * emitter instead. Exit status: 0 ok, 1 the kernel refused or a runtime
 * error, 2 usage.
 */
#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>

#include "persohubctl.h"
#include "state.h"

static const char *prog = "persohubctl";

struct ctl_opts opt;

/* Errors */

static void usage_short(void)
{
	fprintf(stderr, "Try '%s --help'.\n", prog);
}

void __attribute__((noreturn, format(printf, 1, 2)))
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

void __attribute__((noreturn, format(printf, 1, 2)))
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

void *xrealloc(void *p, size_t n)
{
	p = realloc(p, n);
	if (!p)
		fatal("out of memory");
	return p;
}
/* Arguments */

bool parse_u32(const char *s, uint32_t *v)
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

bool all_digits(const char *s)
{
	if (!*s)
		return false;
	for (; *s; s++)
		if (*s < '0' || *s > '9')
			return false;
	return true;
}

static void __attribute__((noreturn)) version(void)
{
	printf("%s %s\n", prog, PH_VERSION);
	exit(0);
}

/*
 * The options of a command, anywhere after its name: -j, -p, -n, -h, -V
 * and those in @extra (given to @handle), each with its short form (the
 * option's val). The operands are moved after them; "--" ends the options
 * (a name may start with '-'). Returns the index of the first operand, or
 * -1 for -h.
 */
int cmd_options(int argc, char **argv, const struct option *extra,
		void (*handle)(int c, const char *arg, void *data), void *data)
{
	struct option longopts[16] = {
		{ "json", no_argument, NULL, 'j' },
		{ "pretty", no_argument, NULL, 'p' },
		{ "numeric", no_argument, NULL, 'n' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
	};
	char shortopts[48] = ":jpnhV";
	size_t n = 5, k = strlen(shortopts);
	int c;

	for (; extra && extra->name && n + 1 < ARRAY_SIZE(longopts); extra++) {
		longopts[n++] = *extra;
		if (extra->val >= 256 || k + 3 > sizeof(shortopts))
			continue;
		shortopts[k++] = extra->val;
		if (extra->has_arg == required_argument)
			shortopts[k++] = ':';
	}
	optind = 0;		/* a new argument vector: start afresh */
	opterr = 0;
	while ((c = getopt_long(argc, argv, shortopts, longopts, NULL)) != -1) {
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
		case 'V':
			version();
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

/* Signals end monitor and top cleanly: read through a signalfd. */
int signals_fd(void)
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
"      port that is off). While persohubd runs, the daemon's view too:\n"
"      \"weight N\" for servers, \"pin SERVER\" for a station pinned to one.\n"
"\n"
"  stats [PORT]\n"
"      The counters of every port, or of PORT, one a line (\"name: value\"),\n"
"      under the names of /sys/class/persohub/<port>/statistics/, busy time\n"
"      in ms (busy_ms; -j: busy_ns). Without PORT, also the hub:\n"
"      requests waiting for a server, whether a controller is attached, the\n"
"      id the next request gets, and the histogram of dispatch latency (from\n"
"      a request's last byte to its dispatch to a server) in power-of-two\n"
"      buckets, with p50, p90 and p99 interpolated inside their bucket;\n"
"      and each class in use (as classes): \"class N:\", then waiting,\n"
"      dispatched, failed, done, answers, mean_wait_ms, wait_p50_ms and\n"
"      wait_p99_ms (from the class's own wait histogram, arrival to\n"
"      dispatch) and service_ms (dispatch to answer); \"-\" when unknown.\n"
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
"  monitor [-c|--count N] [-r|--rcvbuf BYTES]\n"
"      Print every event as it arrives, one line each, after the CLOCK_MONOTONIC\n"
"      time it was read: request-new, server-ready, request-done (result ok,\n"
"      error, rejected, dropped; latency from arrival to the end; wait from\n"
"      arrival to dispatch; class, priority),\n"
"      server-failed (reason timeout, admin, gone), port-changed (as status),\n"
"      ctrl-changed. Events are lossy: when the kernel dropped some, a line\n"
"      says so (\"lost\"). Ends on SIGINT or SIGTERM, or after N events with\n"
"      --count (0: never). --rcvbuf sets the socket's receive buffer\n"
"      (default 1 MiB, capped by net.core.rmem_max).\n"
"\n"
"  top [-i|--interval S] [-c|--iterations N]\n"
"      A live view, refreshed every S seconds (default 1): per server its\n"
"      requests/s and busy share (from the requests and busy_ns counters), per\n"
"      station its queue and requests/s, the hub's waiting requests, and the\n"
"      dispatch latency p50/p90/p99 of the interval, and a line per class in\n"
"      use: waiting now, dispatches/s, mean, p50 and p99 wait, failures of\n"
"      the interval. The screen is cleared\n"
"      between views on a terminal; with --iterations, or when stdout is not a\n"
"      terminal, views follow each other, and N views end the command. The\n"
"      first view comes after one interval. Ends on SIGINT or SIGTERM.\n"
"\n"
"  plan -c|--cards-per-hour N [-r|--requests-per-card R] [-s|--stations S]\n"
"       [-w|--max-wait-ms W] [-P|--percent P] [-S|--service-ms T]\n"
"       [-K|--what-if servers=K] [-i|--interval S]\n"
"      How many servers the target needs: Erlang C (M/M/c) on the service\n"
"      time the hub measured (busy_ns / responses of every server, or\n"
"      --service-ms), R requests a card (default 4), P%% of requests (default\n"
"      95) waiting at most W ms (default 50) for a server. Prints the\n"
"      assumptions, the measured inputs, and a table around the answer.\n"
"      --what-if servers=K: the waiting and the cards/hour K servers carry.\n"
"      With --service-ms, no module is needed (nothing is then measured).\n"
"      With the module, each class in use is planned too, as its own pool:\n"
"      its rate (its share of the target by the requests it ended, or with\n"
"      --interval its arrivals measured over S seconds), its own service\n"
"      time (dispatch to answer, or --service-ms). --interval alone: the\n"
"      target is the rate measured.\n"
"\n"
"  daemon [-f|--file FILE]\n"
"      What persohubd decides, from the file it writes (default\n"
"      " STATE_FILE "), one fact a line: per port its\n"
"      role; stations their pin (the one server they may use, \"-\": any)\n"
"      and requests held; servers the daemon's state, weight, enabled in\n"
"      the configuration and in the kernel, classes (the numbers it serves), user;\n"
"      each [tcp] link its address, state (connecting, connected, backoff),\n"
"      since when, last error; each request the daemon holds back, its\n"
"      station and why (no server, no server enabled, no idle server,\n"
"      pinned server busy, failed, disabled...). Exit status 3 when\n"
"      persohubd is not running.\n"
"  classes [CLASS] [-c|--cards-per-hour N [-r|--requests-per-card R]\n"
"          [-w|--max-wait-ms W] [-P|--percent P]]\n"
"      One line per request class in use (class 0, and any class with\n"
"      figures, a max wait, or ports), or CLASS (0-63): requests waiting\n"
"      now, dispatched, failed (answered with the error frame), done, the\n"
"      mean wait from a request's last byte to its dispatch, max_wait_ms\n"
"      (\"-\": none), the servers that serve it and the stations whose class\n"
"      it is (classifier rules aside). With --cards-per-hour, plan's Erlang\n"
"      C per class: the class's share of the target (its requests done over\n"
"      all), its own service time (dispatch to answer), and the\n"
"      servers it needs had it its servers to itself (options as plan's).\n"
"\n"
"  help\n"
"      This text.\n"
"\n"
"Commands may be shortened to a prefix; one that several share goes to the\n"
"first in this order: status, stats, set, monitor, top, plan, user-server,\n"
"attach, detach, daemon, classes, help (s, st, sta: status; stats; se:\n"
"set; d: detach; da: daemon; c: classes).\n"
"\n"
"Options (before the command, or anywhere after it; \"--\" ends them):\n"
"  -j, --json      JSON output: status gives an array of ports (keys id, name,\n"
"                  role, state, queue, queue_depth, card, port, baud,\n"
"                  data_bits, parity, stop_bits, timeout_ms, max_payload,\n"
"                  framing, lrc, gap_chars, error_frame (hex), user,\n"
"                  enabled, and persohubd's weight and pin, null without\n"
"                  the daemon; null where a key does not apply); stats an\n"
"                  object with\n"
"                  \"ports\" (id, name and every counter by name) and, without\n"
"                  PORT, \"hub\" and \"classes\" (id, the counters, mean_wait_ns,\n"
"                  mean_service_ns, \"wait\": count, p50_ns, p90_ns, p99_ns,\n"
"                  buckets); monitor and top one object per line;\n"
"                  plan an object (see persohubctl(8)); classes an array\n"
"                  of classes (id, max_wait_ms, waiting, dispatched,\n"
"                  failed, done, wait_ns, mean_wait_ns, servers, stations,\n"
"                  with -c plan: requests_per_second, service_ns,\n"
"                  servers_needed; null when nothing was measured).\n"
"  -p, --pretty    indented JSON (implies -j)\n"
"  -n, --numeric   monitor: port ids instead of names\n"
"  -h, --help      this text\n"
"  -V, --version   the version\n"
"\n"
"Exit status: 0 done; 1 the kernel refused or another runtime error (stderr\n"
"says why: \"Error: \" with the kernel's own message when it gave one, and the\n"
"errno text); 2 usage error; 3 (daemon) persohubd is not running.\n"
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
} commands[] = {	/* in the order abbreviations are resolved */
	{ "status", cmd_status },
	{ "stats", cmd_stats },
	{ "set", cmd_set },
	{ "monitor", cmd_monitor },
	{ "top", cmd_top },
	{ "plan", cmd_plan },
	{ "user-server", cmd_user_server },
	{ "attach", cmd_attach },
	{ "detach", cmd_detach },
	{ "daemon", cmd_daemon },
	{ "classes", cmd_classes },
	{ "help", NULL },
};

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "json", no_argument, NULL, 'j' },
		{ "pretty", no_argument, NULL, 'p' },
		{ "numeric", no_argument, NULL, 'n' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	int c, ret, found = -1;
	size_t i, len;

	jw_init(stdout);
	/* "+": the command's own options are its to read */
	while ((c = getopt_long(argc, argv, "+jpnhV", longopts, NULL)) != -1) {
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
		case 'V':
			version();
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
		if (!strncmp(commands[i].name, argv[optind], len)) {
			found = i;	/* the first in table order, as ip's */
			break;
		}
	}
	if (found < 0)
		usage_error("unknown command '%s'", argv[optind]);
	if (!commands[found].fn) {
		usage(stdout);
		return 0;
	}
	argv[optind] = (char *)commands[found].name;	/* errors name it */
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
