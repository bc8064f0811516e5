// SPDX-License-Identifier: GPL-2.0
/*
 * Host unit tests of persohubd's matching, configuration parser and state
 * file.
 */
#include <math.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <linux/genetlink.h>

#include "kselftest_harness.h"
#include "cascade_core.h"
#include "config.h"
#include "framing.h"
#include "log.h"
#include "match.h"
#include "phnl.h"
#include "plan.h"
#include "state.h"
#include "tcp_corr.h"

static struct match m;

/* Oldest request first, whatever order the events came in. */
TEST(match_arrival_order)
{
	uint64_t req;
	uint32_t srv;

	match_init(&m);
	match_request(&m, 7, 0);
	match_request(&m, 3, 0);
	match_request(&m, 5, 0);
	match_request(&m, 5, 0);	/* a duplicate event */
	ASSERT_EQ(3, m.nwaiting);
	ASSERT_EQ(0, match_next(&m, &req, &srv));	/* no server */
	match_server_ready(&m, 9, 100);
	ASSERT_EQ(1, match_next(&m, &req, &srv));
	EXPECT_EQ(3, req);
	EXPECT_EQ(9, srv);
	EXPECT_EQ(0, match_next(&m, &req, &srv));	/* 9 is busy now */
	match_server_ready(&m, 9, 200);
	ASSERT_EQ(1, match_next(&m, &req, &srv));
	EXPECT_EQ(5, req);
	match_request_gone(&m, 7);
	EXPECT_EQ(0, m.nwaiting);
}

/* Longest idle first among equals; a requeued request goes first. */
TEST(match_longest_idle)
{
	uint64_t req;
	uint32_t srv;

	match_init(&m);
	match_server_ready(&m, 4, 300);
	match_server_ready(&m, 2, 100);
	match_server_ready(&m, 6, 200);
	match_server_ready(&m, 6, 250);	/* already idle: keeps 200 */
	match_request(&m, 10, 0);
	match_request(&m, 11, 0);
	match_request(&m, 12, 0);
	match_request(&m, 4, 0);		/* retried: older id */
	ASSERT_EQ(1, match_next(&m, &req, &srv));
	EXPECT_EQ(4, req);
	EXPECT_EQ(2, srv);
	ASSERT_EQ(1, match_next(&m, &req, &srv));
	EXPECT_EQ(10, req);
	EXPECT_EQ(6, srv);
	ASSERT_EQ(1, match_next(&m, &req, &srv));
	EXPECT_EQ(11, req);
	EXPECT_EQ(4, srv);
	EXPECT_EQ(0, match_next(&m, &req, &srv));
}

/* Weight beats idleness; a disabled server never gets work. */
TEST(match_weight_and_enabled)
{
	uint64_t req;
	uint32_t srv;

	match_init(&m);
	match_server_config(&m, 3, 5, true);
	match_server_config(&m, 8, 1, false);
	match_server_ready(&m, 1, 10);
	match_server_ready(&m, 3, 500);
	match_server_ready(&m, 8, 1);
	match_request(&m, 1, 0);
	match_request(&m, 2, 0);
	match_request(&m, 3, 0);
	ASSERT_EQ(1, match_next(&m, &req, &srv));
	EXPECT_EQ(3, srv);
	ASSERT_EQ(1, match_next(&m, &req, &srv));
	EXPECT_EQ(1, srv);
	EXPECT_EQ(0, match_next(&m, &req, &srv));
	match_server_busy(&m, 8);
	match_server_config(&m, 8, 1, true);
	EXPECT_EQ(0, match_next(&m, &req, &srv));	/* 8 was not idle */
}

/* The waiting list is bounded and counts what it cannot hold. */
TEST(match_overflow_counted)
{
	unsigned int i;

	match_init(&m);
	for (i = 0; i < MATCH_MAX_WAITING + 3; i++)
		match_request(&m, i + 1, 0);
	EXPECT_EQ(MATCH_MAX_WAITING, m.nwaiting);
	EXPECT_EQ(3, m.overflow);
	match_reset(&m);
	EXPECT_EQ(0, m.nwaiting);
}

/*
 * Static assignment: a pinned station's request waits for its own server
 * while younger requests pass it; an unpinned one takes any server.
 */
TEST(match_pinned_station)
{
	uint64_t req;
	uint32_t srv;

	match_init(&m);
	match_station_pin(&m, 20, 5);
	match_station_pin(&m, 21, 6);
	EXPECT_EQ(2, m.npins);
	match_server_ready(&m, 6, 100);
	match_request(&m, 1, 20);	/* waits for 5 */
	match_request(&m, 2, 21);
	match_request(&m, 3, 22);	/* unpinned */
	ASSERT_EQ(1, match_next(&m, &req, &srv));
	EXPECT_EQ(2, req);
	EXPECT_EQ(6, srv);
	EXPECT_EQ(0, match_next(&m, &req, &srv));
	match_server_ready(&m, 5, 200);
	ASSERT_EQ(1, match_next(&m, &req, &srv));
	EXPECT_EQ(1, req);
	EXPECT_EQ(5, srv);
	EXPECT_EQ(1, m.nwaiting);
	match_server_ready(&m, 5, 300);
	ASSERT_EQ(1, match_next(&m, &req, &srv));
	EXPECT_EQ(3, req);
	EXPECT_EQ(5, srv);
	/* Unpinned again: back to the fast path. */
	match_station_pin(&m, 20, 0);
	match_station_pin(&m, 21, 0);
	match_station_pin(&m, 21, 0);
	EXPECT_EQ(0, m.npins);
	match_request(&m, 9, 20);
	match_server_ready(&m, 6, 400);
	ASSERT_EQ(1, match_next(&m, &req, &srv));
	EXPECT_EQ(9, req);
	EXPECT_EQ(6, srv);
}

/* A server takes only requests of its classes; the rest wait for theirs. */
TEST(match_classes_never_cross)
{
	uint64_t req;
	uint32_t srv;

	match_init(&m);
	match_server_classes(&m, 2, 1ULL << 1);		/* class 1 only */
	match_server_classes(&m, 3, 1ULL << 0 | 1ULL << 5);
	match_server_ready(&m, 2, 100);		/* idle the longest */
	match_request_class(&m, 1, 10, 0, 0, 0);
	match_request_class(&m, 2, 11, 5, 0, 0);
	EXPECT_EQ(1ULL << 0 | 1ULL << 5, m.classes_waiting);
	/* 2 serves neither class 0 nor 5, and 3 is not idle. */
	EXPECT_EQ(0, match_next(&m, &req, &srv));
	match_server_ready(&m, 3, 200);
	ASSERT_EQ(1, match_next(&m, &req, &srv));
	EXPECT_EQ(1, req);
	EXPECT_EQ(3, srv);
	EXPECT_EQ(0, match_next(&m, &req, &srv));	/* 5 waits for 3 */
	match_request_class(&m, 3, 12, 1, 0, 0);
	ASSERT_EQ(1, match_next(&m, &req, &srv));
	EXPECT_EQ(3, req);
	EXPECT_EQ(2, srv);
	match_server_ready(&m, 3, 300);
	ASSERT_EQ(1, match_next(&m, &req, &srv));
	EXPECT_EQ(2, req);
	EXPECT_EQ(3, srv);
	/* Classes 0 (the default mask) and past 63 (class 0). */
	match_server_classes(&m, 3, 0);
	EXPECT_EQ(1, m.srv[3].classes);
	match_request_class(&m, 4, 12, 64, 9, 0);
	EXPECT_EQ(0, m.klass[0]);
	EXPECT_EQ(7, m.prio[0]);
}

/*
 * Many requests of three classes, servers of one or two classes, in every
 * order: no pair ever crosses a class, and every request is served.
 */
TEST(match_classes_random_load)
{
	static const uint64_t masks[] = { 1, 2, 4, 3, 6 };
	uint64_t req, next_id = 1, served = 0, made = 0;
	uint32_t srv, cls[4096];
	unsigned int round, i, s;

	match_init(&m);
	srand(7);
	for (s = 1; s <= 5; s++)
		match_server_classes(&m, s, masks[s - 1]);
	for (round = 0; round < 2000; round++) {
		for (i = rand() % 3; i; i--) {
			cls[next_id % 4096] = rand() % 3;
			match_request_class(&m, next_id, 100, cls[next_id % 4096],
					    rand() % 8, round);
			next_id++;
			made++;
		}
		for (s = 1; s <= 5; s++)
			if (rand() % 2)
				match_server_ready(&m, s, round);
		while (match_next(&m, &req, &srv)) {
			ASSERT_TRUE(m.srv[srv].classes >> cls[req % 4096] & 1) {
				TH_LOG("request %llu of class %u to server %u",
				       (unsigned long long)req,
				       cls[req % 4096], srv);
			}
			served++;
		}
	}
	for (s = 1; s <= 5; s++)
		match_server_ready(&m, s, round);
	for (i = 0; i < 2000 && m.nwaiting; i++) {
		while (match_next(&m, &req, &srv))
			served++;
		for (s = 1; s <= 5; s++)
			match_server_ready(&m, s, round + i);
	}
	EXPECT_EQ(made, served);
	EXPECT_EQ(0, m.nwaiting);
	EXPECT_EQ(0, m.classes_waiting);
	for (i = 0; i < MATCH_CLASSES; i++)
		EXPECT_EQ(0, m.nclass[i]);
}

/* The highest priority first, the oldest among equals. */
TEST(match_priority_order)
{
	uint64_t req;
	uint32_t srv;

	match_init(&m);
	match_request_class(&m, 1, 10, 0, 0, 0);
	match_request_class(&m, 2, 11, 0, 3, 0);
	match_request_class(&m, 3, 12, 0, 7, 0);
	match_request_class(&m, 4, 13, 0, 3, 0);
	match_request_class(&m, 5, 14, 0, 7, 0);
	match_server_ready(&m, 1, 0);
	ASSERT_EQ(1, match_next(&m, &req, &srv));
	EXPECT_EQ(3, req);
	match_server_ready(&m, 1, 0);
	ASSERT_EQ(1, match_next(&m, &req, &srv));
	EXPECT_EQ(5, req);
	match_server_ready(&m, 1, 0);
	ASSERT_EQ(1, match_next(&m, &req, &srv));
	EXPECT_EQ(2, req);
	match_server_ready(&m, 1, 0);
	ASSERT_EQ(1, match_next(&m, &req, &srv));
	EXPECT_EQ(4, req);
	match_server_ready(&m, 1, 0);
	ASSERT_EQ(1, match_next(&m, &req, &srv));
	EXPECT_EQ(1, req);
	/* Priorities are compared within a server's classes only. */
	match_server_classes(&m, 1, 1ULL << 1);
	match_request_class(&m, 6, 10, 0, 7, 0);
	match_request_class(&m, 7, 10, 1, 0, 0);
	match_server_ready(&m, 1, 0);
	ASSERT_EQ(1, match_next(&m, &req, &srv));
	EXPECT_EQ(7, req);
}

/* A request that waited its class's max_wait passes every priority. */
TEST(match_max_wait_ages)
{
	const uint64_t ms = 1000000;
	uint64_t req;
	uint32_t srv;

	match_init(&m);
	match_class_max_wait(&m, 1, 50);
	match_server_classes(&m, 1, 3);
	match_request_class(&m, 1, 10, 0, 0, 0 * ms);	/* class 0: never */
	match_request_class(&m, 2, 11, 1, 0, 10 * ms);
	match_request_class(&m, 3, 12, 1, 0, 20 * ms);
	match_request_class(&m, 4, 13, 0, 5, 30 * ms);
	match_clock(&m, 59 * ms);		/* 2 waited 49 ms */
	match_server_ready(&m, 1, 0);
	ASSERT_EQ(1, match_next(&m, &req, &srv));
	EXPECT_EQ(4, req);
	match_clock(&m, 60 * ms);		/* 2 waited 50 ms */
	match_server_ready(&m, 1, 0);
	ASSERT_EQ(1, match_next(&m, &req, &srv));
	EXPECT_EQ(2, req);
	match_clock(&m, 100 * ms);		/* 3 too; 1 is older but class 0 */
	match_server_ready(&m, 1, 0);
	ASSERT_EQ(1, match_next(&m, &req, &srv));
	EXPECT_EQ(3, req);
	/* max_wait off again: priorities, then age. */
	match_class_max_wait(&m, 1, 0);
	EXPECT_EQ(0, m.aging);
	match_request_class(&m, 5, 11, 1, 0, 0);
	match_request_class(&m, 6, 11, 0, 1, 90 * ms);
	match_server_ready(&m, 1, 0);
	ASSERT_EQ(1, match_next(&m, &req, &srv));
	EXPECT_EQ(6, req);
	match_server_ready(&m, 1, 0);
	ASSERT_EQ(1, match_next(&m, &req, &srv));
	EXPECT_EQ(1, req);
}

/* Weights, longest idle and pins still decide, within the classes. */
TEST(match_classes_with_weights_and_pins)
{
	uint64_t req;
	uint32_t srv;

	match_init(&m);
	match_server_config(&m, 4, 10, true);
	match_server_classes(&m, 4, 1ULL << 2);	/* heavy, class 2 only */
	match_server_classes(&m, 5, 1ULL << 2 | 1);
	match_server_classes(&m, 6, 1);
	match_server_ready(&m, 6, 100);
	match_server_ready(&m, 5, 200);
	match_server_ready(&m, 4, 300);
	match_request_class(&m, 1, 20, 0, 0, 0);
	match_request_class(&m, 2, 21, 2, 0, 0);
	match_request_class(&m, 3, 22, 0, 0, 0);
	/* 4 first (weight) takes its class; 6 (idle longer) the oldest. */
	ASSERT_EQ(1, match_next(&m, &req, &srv));
	EXPECT_EQ(2, req);
	EXPECT_EQ(4, srv);
	ASSERT_EQ(1, match_next(&m, &req, &srv));
	EXPECT_EQ(1, req);
	EXPECT_EQ(6, srv);
	ASSERT_EQ(1, match_next(&m, &req, &srv));
	EXPECT_EQ(3, req);
	EXPECT_EQ(5, srv);
	/* A station pinned to 5: its priority-7 request waits for 5. */
	match_station_pin(&m, 30, 5);
	match_request_class(&m, 4, 30, 0, 7, 0);
	match_request_class(&m, 5, 31, 0, 0, 0);
	match_server_ready(&m, 6, 400);
	ASSERT_EQ(1, match_next(&m, &req, &srv));
	EXPECT_EQ(5, req);
	EXPECT_EQ(6, srv);
	/* A disabled server takes nothing, whatever its classes. */
	match_server_config(&m, 5, 1, false);
	match_server_ready(&m, 5, 500);
	EXPECT_EQ(0, match_next(&m, &req, &srv));
	match_server_config(&m, 5, 1, true);
	ASSERT_EQ(1, match_next(&m, &req, &srv));
	EXPECT_EQ(4, req);
	EXPECT_EQ(5, srv);
}

static char path[] = "/tmp/persohub-conf-XXXXXX";

static int load(const char *text, struct config *cfg, char *err)
{
	int fd = mkstemp(path);
	int ret;

	if (fd < 0 || write(fd, text, strlen(text)) != (ssize_t)strlen(text))
		return -99;
	close(fd);
	ret = config_load(path, cfg, err, 512);
	unlink(path);
	strcpy(path, "/tmp/persohub-conf-XXXXXX");
	return ret;
}

static struct config cfg;

TEST(config_good_file)
{
	const struct config_port *p;
	char err[512] = "";

	ASSERT_EQ(0, load("; a site\n[daemon]\nrealtime = yes\npriority = 60\n"
			  "cpu = 1\nresync_ms = 500\n"
			  "[port 0000:00:10.0-0]\nrole = station\n"
			  "name = m1-st1\nqueue_depth = 2\nparity = even\n"
			  "[port 0000:00:11.0-3]\nrole = server\n"
			  "timeout_ms = 800\nweight = 3\nenabled = no\n"
			  "[port 0000:00:10.0-1]\nserver = 0000:00:11.0-3\n",
			  &cfg, err));
	EXPECT_STREQ("", err);
	EXPECT_TRUE(cfg.realtime);
	EXPECT_EQ(60, cfg.priority);
	EXPECT_EQ(1, cfg.cpu);
	EXPECT_EQ(500, cfg.resync_ms);
	ASSERT_EQ(3, cfg.nports);
	p = config_port_find(&cfg, "0000:00:10.0", 1);
	ASSERT_NE(NULL, p);
	EXPECT_STREQ("0000:00:11.0", p->pin_card);
	EXPECT_EQ(3, p->pin_index);
	p = config_port_find(&cfg, "0000:00:10.0", 0);
	ASSERT_NE(NULL, p);
	EXPECT_STREQ("", p->pin_card);
	ASSERT_NE(NULL, p);
	EXPECT_STREQ("m1-st1", p->name);
	EXPECT_TRUE(p->role.set);
	EXPECT_EQ(1, p->role.v);
	EXPECT_EQ(2, p->queue_depth.v);
	EXPECT_EQ(2, p->parity.v);
	EXPECT_FALSE(p->baud.set);
	p = config_port_find(&cfg, "0000:00:11.0", 3);
	ASSERT_NE(NULL, p);
	EXPECT_EQ(800, p->timeout_ms.v);
	EXPECT_EQ(3, p->weight);
	EXPECT_FALSE(p->enabled);
	EXPECT_EQ(NULL, config_port_find(&cfg, "0000:00:11.0", 2));
}

/* Each bad file is refused with its line and reason. */
struct bad {
	const char *text;
	const char *err;
};

static const struct bad bads[] = {
	{ "[daemon]\nrealtime = maybe\n", ":2: realtime: 'maybe' is not yes or no" },
	{ "[daemon]\n\n\npriority = 0\n", ":4: priority: '0' is not 1-99" },
	{ "[port 0000:00:10.0-0]\nrole = boss\n", ":2: role: 'boss' is not off, station or server" },
	{ "[port 0000:00:10.0-0]\nbaud = 10\n", ":2: baud: invalid value '10'" },
	{ "[port 0000:00:10.0-0]\nqueue_depth = 17\n", ":2: queue_depth: invalid value '17'" },
	{ "[port 0000:00:10.0-0]\ntimeout_ms = -5\n", ":2: timeout_ms: invalid value '-5'" },
	{ "[port 0000:00:10.0-0]\nname = a b\n", ":2: name: 'a b' is not 1-31 of [A-Za-z0-9._:-]" },
	{ "[port nowhere]\nrole = off\n", ":2: port section 'nowhere': want [port <pci address>-<index>]" },
	{ "[port 0000:00:10.0-0]\ncolour = red\n", ":2: unknown key 'colour' in a port section" },
	{ "[port 0000:00:10.0-0]\nserver = hsm1\n", ":2: server: 'hsm1' is not <pci address>-<index>" },
	{ "[daemon]\nrealtime = no\n[extra]\nx = 1\n", ":4: unknown section [extra]" },
	{ "[daemon\nrealtime = no\n", ":1: syntax error" },
	{ "[port 0000:00:10.0-0]\nname = a\n[port 0000:00:10.0-1]\nname = a\n", ":3: name 'a' used twice" },
	/* numbers are decimal: no hex, no sign, no space inside */
	{ "[port 0000:00:10.0-0]\ntimeout_ms = 0x10\n", ":2: timeout_ms: invalid value '0x10'" },
	{ "[port 0000:00:10.0-0]\nbaud = +9600\n", ":2: baud: invalid value '+9600'" },
	{ "[port 0000:00:10.0-0]\nbaud = 96 00\n", ":2: baud: invalid value '96 00'" },
	{ "[port 0000:00:10.0-0]\nbaud = 99999999999999999999\n", ":2: baud: invalid value '99999999999999999999'" },
	{ "[port 0000:00:10.0-0x1]\nrole = off\n", ":2: port section '0000:00:10.0-0x1'" },
	{ "[port 0000:00:10.0-0]\nsettle_ms = 10001\n", ":2: settle_ms: invalid value '10001'" },
	{ "[daemon]\nevent_buffer = 1000\n", ":2: event_buffer: '1000' is not 1024-268435456 bytes" },
	/* a comment needs a space before it: this '#' is in the value */
	{ "[port 0000:00:10.0-0]\ntimeout_ms = 300# ms\n", ":2: timeout_ms: invalid value '300# ms'" },
	/* [tcp] addresses */
	{ "[tcp a]\naddress = ::1:1500\n", ":2: address: '::1:1500': an IPv6 address goes in brackets: [address]:port" },
	{ "[tcp a]\naddress = [::g]:1500\n", ":2: address: '[::g]:1500': not an IPv6 address" },
	{ "[tcp a]\naddress = [10.0.0.1]:1500\n", ":2: address: '[10.0.0.1]:1500': not an IPv6 address" },
	{ "[tcp a]\naddress = [::1]1500\n", ":2: address: '[::1]1500': want [IPv6 address]:port" },
	{ "[tcp a]\naddress = [::1\n", ":2: address: '[::1': want [IPv6 address]:port" },
	{ "[tcp a]\naddress = [fe80::1%]:7\n", ":2: address: '[fe80::1%]:7': not an IPv6 zone" },
	{ "[tcp a]\naddress = [::1]:0\n", ":2: address: '[::1]:0': the port is not 1-65535" },
	{ "[tcp a]\naddress = [::1]:65536\n", ":2: address: '[::1]:65536': the port is not 1-65535" },
	{ "[tcp a]\naddress = 10.0.0.300:5\n", ":2: address: '10.0.0.300:5': not a host name or IPv4 address" },
	{ "[tcp a]\naddress = bad_host:5\n", ":2: address: 'bad_host:5': not a host name or IPv4 address" },
	{ "[tcp a]\naddress = :5\n", ":2: address: ':5': want host:port" },
	{ "[tcp a]\n\n[tcp b]\ntimeout_ms = 5\n", ":3: [tcp b] has no address" },
	/* framings */
	{ "[port 0000:00:10.0-0]\nframing = rs485\n", ":2: framing: 'rs485' is not hdlc, stx-etx, stx-len, len16 or gap" },
	{ "[port 0000:00:10.0-0]\nframing = STX-ETX\n", ":2: framing: 'STX-ETX' is not hdlc" },
	{ "[tty /dev/ttyS4]\nrole = station\nframing = len32\n", ":3: framing: 'len32' is not hdlc" },
	{ "[port 0000:00:10.0-0]\ngap_chars = 0\n", ":2: gap_chars: invalid value '0'" },
	{ "[port 0000:00:10.0-0]\ngap_chars = 10001\n", ":2: gap_chars: invalid value '10001'" },
	{ "[port 0000:00:10.0-0]\ngap_chars = 3.5\n", ":2: gap_chars: invalid value '3.5'" },
	{ "[port 0000:00:10.0-0]\nlrc = 2\n", ":2: lrc: '2' is not yes or no (1 or 0)" },
	{ "[port 0000:00:10.0-0]\nerror_frame = 393\n", ":2: error_frame: an odd number of hex digits" },
	{ "[port 0000:00:10.0-0]\nerror_frame = 0x39\n", ":2: error_frame: not hex digits" },
	{ "[port 0000:00:10.0-0]\nerror_frame = 39 39\n", ":2: error_frame: not hex digits" },
	{ "[port 0000:00:10.0-0]\nerror_frame = "
	  "0001020304050607080910111213141516171819202122232425262728293031"
	  "3233343536373839404142434445464748495051525354555657585960616263"
	  "64\n", ":2: error_frame: more than 64 bytes" },
	/* STX or ETX in the error answer of an stx-etx port, in either order */
	{ "[port 0000:00:10.0-0]\nframing = stx-etx\nerror_frame = 390239\n",
	  ":3: error_frame: the error_frame holds STX (02) or ETX (03), which framing stx-etx cannot send" },
	{ "[tty /dev/ttyS4]\nerror_frame = 03\nrole = station\nframing = stx-etx\n",
	  ":4: framing: the error_frame holds STX (02) or ETX (03)" },
	{ "[port 0000:00:10.0-0]\nerror_frame = 3903\n[port 0000:00:10.0-1]\n"
	  "framing = stx-etx\n[port 0000:00:10.0-0]\nframing = stx-etx\n",
	  ":6: framing: the error_frame holds STX (02) or ETX (03)" },
	{ "[port 0000:00:10.0-0]\nframing = stx-len\nlrc = yes\n",
	  ":3: lrc: lrc = yes is for framing stx-etx only (stx-len always has its LRC)" },
	{ "[port 0000:00:10.0-0]\nlrc = 1\nframing = gap\n",
	  ":3: framing: lrc = yes is for framing stx-etx only" },
	/* [tcp]: a byte stream speaks hdlc or len16 */
	{ "[tcp a]\naddress = [::1]:7\nframing = stx-etx\n", ":3: framing: a [tcp] server speaks hdlc or len16, not 'stx-etx'" },
	{ "[tcp a]\naddress = [::1]:7\nframing = gap\n", ":3: framing: a [tcp] server speaks hdlc or len16, not 'gap'" },
	{ "[tcp a]\nframing = len17\naddress = [::1]:7\n", ":2: framing: a [tcp] server speaks hdlc or len16, not 'len17'" },
};

TEST(config_bad_files)
{
	char err[512];
	unsigned int i;

	for (i = 0; i < sizeof(bads) / sizeof(bads[0]); i++) {
		err[0] = '\0';
		EXPECT_EQ(-1, load(bads[i].text, &cfg, err));
		/* "<path>:<line>: <reason>" */
		EXPECT_NE(NULL, strstr(err, bads[i].err)) {
			TH_LOG("file %u: got '%s'", i, err);
		}
	}
}

/* [class] sections, and the keys that name classes, resolved to ids. */
TEST(config_classes)
{
	const struct config_port *p;
	char err[512] = "";

	ASSERT_EQ(0, load("[port 0000:00:10.0-0]\n"
			  "role = station\n"
			  "class = keys\n"
			  "priority = 7\n"
			  "classifier = 4 2 4131=keys 4133=keys 4e4f=default\n"
			  "[port 0000:00:10.0-1]\n"
			  "classes = keys , default\n"
			  "[port 0000:00:10.0-2]\n"
			  "role = server\n"
			  "[class bulk]\n"		/* first: id 0 is default's */
			  "[class keys]\n"
			  "max_wait_ms = 250\n"
			  "[class pinned]\n"
			  "id = 2\n"
			  "[class default]\n"
			  "max_wait_ms = 1000\n"
			  "[tcp hsm]\n"
			  "address = 10.0.0.5:1500\n"
			  "classes = pinned,keys\n"
			  "[tcp hsm2]\n"
			  "address = 10.0.0.6:1500\n", &cfg, err)) {
		TH_LOG("%s", err);
	}
	ASSERT_EQ(4, cfg.nclasses);
	EXPECT_STREQ("bulk", cfg.classes[0].name);
	EXPECT_EQ(1, cfg.classes[0].id);
	EXPECT_EQ(10, cfg.classes[0].line);
	EXPECT_STREQ("keys", cfg.classes[1].name);
	EXPECT_EQ(3, cfg.classes[1].id);
	EXPECT_EQ(250, cfg.classes[1].max_wait_ms);
	EXPECT_EQ(2, cfg.classes[2].id);
	EXPECT_EQ(0, cfg.classes[3].id);
	EXPECT_EQ(1000, config_class_find(&cfg, 0)->max_wait_ms);
	p = &cfg.ports[0];
	EXPECT_TRUE(p->klass.set);
	EXPECT_EQ(3, p->klass.v);
	EXPECT_TRUE(p->priority.set);
	EXPECT_EQ(7, p->priority.v);
	ASSERT_TRUE(p->classifier.set);
	EXPECT_EQ(4, p->classifier.offset);
	EXPECT_EQ(2, p->classifier.len);
	ASSERT_EQ(3, p->classifier.nrules);
	EXPECT_EQ(0, memcmp(p->classifier.rules[0].value, "A1", 2));
	EXPECT_EQ(3, p->classifier.rules[0].klass);
	EXPECT_EQ(0, memcmp(p->classifier.rules[1].value, "A3", 2));
	EXPECT_EQ(0, memcmp(p->classifier.rules[2].value, "NO", 2));
	EXPECT_EQ(0, p->classifier.rules[2].klass);
	EXPECT_FALSE(p->classes_set);
	p = &cfg.ports[1];
	EXPECT_TRUE(p->classes_set);
	EXPECT_EQ(1ULL << 3 | 1, p->classes);
	EXPECT_FALSE(p->klass.set);
	EXPECT_FALSE(p->priority.set);
	EXPECT_FALSE(p->classifier.set);
	EXPECT_FALSE(cfg.ports[2].classes_set);
	EXPECT_EQ(1ULL << 2 | 1ULL << 3, cfg.tcp[0].classes);
	EXPECT_EQ(1, cfg.tcp[1].classes);		/* default: class 0 */

	/* No sections: "default" is class 0; the first class is 0. */
	ASSERT_EQ(0, load("[port 0000:00:10.0-0]\nclasses = default\n",
			  &cfg, err));
	EXPECT_EQ(1, cfg.ports[0].classes);
	ASSERT_EQ(0, load("[class a]\n[class b]\n[port 0000:00:10.0-0]\n"
			  "classes = b\nclass = a\n", &cfg, err));
	EXPECT_EQ(2, cfg.ports[0].classes);
	EXPECT_EQ(0, cfg.ports[0].klass.v);
	/* A class section seen twice is one class. */
	ASSERT_EQ(0, load("[class a]\n[class b]\n[class a]\nmax_wait_ms = 5\n",
			  &cfg, err));
	EXPECT_EQ(2, cfg.nclasses);
	EXPECT_EQ(5, cfg.classes[0].max_wait_ms);
}

static const struct {
	const char *text, *err;
} bad_classes[] = {
	{ "[port 0000:00:10.0-0]\nclass = keys\n",
	  ":2: class: no class 'keys' (a [class NAME] section, or default)" },
	{ "[class a]\n[port 0000:00:10.0-0]\nclasses = a,,b\n",
	  ":3: classes: 'a,,b' is not a list of class names" },
	{ "[class a]\n[port 0000:00:10.0-0]\nclasses = a,b\n",
	  ":3: classes: no class 'b'" },
	{ "[tcp t]\naddress = h:1\nclasses = nope\n",
	  ":3: classes: no class 'nope'" },
	{ "[port 0000:00:10.0-0]\npriority = 8\n",
	  ":2: priority: '8' is not 0-7" },
	{ "[class a]\nmax_wait_ms = 3600001\n",
	  ":2: max_wait_ms: '3600001' is not 0-3600000" },
	{ "[class a]\nid = 64\n", ":2: id: '64' is not 0-63" },
	{ "[class a]\nweight = 1\n", ":2: unknown key 'weight' in a class section" },
	{ "\n[class a b]\n", ":2: class section 'a b': the name is 1-31" },
	{ "[class a]\nid = 1\n[class b]\nid = 1\n",
	  ":3: [class b]: id 1 is already class a's" },
	{ "[class default]\nid = 2\n", ":1: [class default] is class 0, not 2" },
	{ "[class x]\n[port 0000:00:10.0-0]\nclassifier = 4 2 41=x\n",
	  ":3: classifier: value '41' is not LEN bytes in hex" },
	{ "[class x]\n[port 0000:00:10.0-0]\nclassifier = 4 2 4131=y\n",
	  ":3: classifier: no class 'y'" },
	{ "[class x]\n[port 0000:00:10.0-0]\nclassifier = 4 2 4131\n",
	  ":3: classifier: rule '4131' is not VALUE=CLASS" },
	{ "[class x]\n[port 0000:00:10.0-0]\nclassifier = 4 9 4131=x\n",
	  ":3: classifier: want OFFSET (0-4095) LEN (1-8)" },
	{ "[class x]\n[port 0000:00:10.0-0]\nclassifier = 4 2\n",
	  ":3: classifier: no VALUE=CLASS rule" },
	{ "[class x]\n[port 0000:00:10.0-0]\nclassifier = 4 1 01=x 02=x 03=x "
	  "04=x 05=x 06=x 07=x 08=x 09=x 0a=x 0b=x 0c=x 0d=x 0e=x 0f=x 10=x "
	  "11=x\n", ":3: classifier: more than 16 rules" },
};

TEST(config_bad_classes)
{
	char err[512], text[4096];
	unsigned int i, n;

	for (i = 0; i < sizeof(bad_classes) / sizeof(bad_classes[0]); i++) {
		err[0] = '\0';
		EXPECT_EQ(-1, load(bad_classes[i].text, &cfg, err));
		EXPECT_NE(NULL, strstr(err, bad_classes[i].err)) {
			TH_LOG("file %u: got '%s'", i, err);
		}
	}
	/* 64 classes, and no more */
	for (n = 0, i = 0; i < 64; i++)
		n += snprintf(text + n, sizeof(text) - n, "[class c%u]\n", i);
	ASSERT_EQ(0, load(text, &cfg, err));
	EXPECT_EQ(63, cfg.classes[63].id);
	snprintf(text + n, sizeof(text) - n, "[class c64]\n");
	EXPECT_EQ(-1, load(text, &cfg, err));
	EXPECT_NE(NULL, strstr(err, ":65: more than 64 classes"));
}

/*
 * [tty PATH]: a by-id path is longer than inih keeps of a section header;
 * it is kept whole, on the lines it was, and resolved through its link.
 */
TEST(config_tty_sections)
{
	static const char by_id[] =
		"/dev/serial/by-id/usb-FTDI_FT232R_USB_UART_A50285BI-if00-port0";
	char err[512] = "", text[512], dir[] = "/tmp/persohub-tty-XXXXXX";
	char link[128], name[32];

	snprintf(text, sizeof(text), "[daemon]\nrealtime = no\n"
		 "[tty %s]\nrole = station\nname = usb-st\n"
		 "[tty /dev/ttyS4]\nrole = server\ntimeout_ms = 700\n", by_id);
	ASSERT_EQ(0, load(text, &cfg, err));
	EXPECT_STREQ("", err);
	ASSERT_EQ(2, cfg.nports);
	EXPECT_STREQ(by_id, cfg.ports[0].tty);
	EXPECT_STREQ("usb-st", cfg.ports[0].name);
	EXPECT_EQ(1, cfg.ports[0].role.v);
	EXPECT_STREQ("/dev/ttyS4", cfg.ports[1].tty);
	EXPECT_EQ(700, cfg.ports[1].timeout_ms.v);
	/* Card lookups never return a tty section. */
	EXPECT_EQ(NULL, config_port_find(&cfg, "", 0));

	/* Errors name the line of their first key, as for every section. */
	snprintf(text, sizeof(text), "[tty %s]\nrole = station\n"
		 "[tty ttyS4]\nrole = server\n", by_id);
	EXPECT_EQ(-1, load(text, &cfg, err));
	EXPECT_NE(NULL, strstr(err, ":4: tty section 'ttyS4'"))
		TH_LOG("got '%s'", err);

	/* A link that leads to a tty names it; a missing one is -ENOENT. */
	ASSERT_NE(NULL, mkdtemp(dir));
	snprintf(link, sizeof(link), "%s/port0", dir);
	ASSERT_EQ(0, symlink("/dev/null", link));
	memset(&cfg, 0, sizeof(cfg));
	snprintf(cfg.ports[0].tty, sizeof(cfg.ports[0].tty), "%s", link);
	EXPECT_EQ(0, config_tty_name(&cfg.ports[0], name, sizeof(name)));
	EXPECT_STREQ("null", name);
	unlink(link);
	EXPECT_EQ(-ENOENT, config_tty_name(&cfg.ports[0], name, sizeof(name)));
	rmdir(dir);
}

/* A comment may follow a value; a '#' with no space before it is data. */
TEST(config_inline_comments)
{
	const struct config_port *p;
	char err[512] = "";

	ASSERT_EQ(0, load("[daemon]  # the daemon\n"
			  "resync_ms = 300   # ms\n"
			  "probe_interval_ms = 200\t; ms\n"
			  "stats_file = /run/ph#1 # a '#' in a path\n"
			  "[port 0000:00:10.0-0] ; station 1\n"
			  "role = station\t#\n"
			  "timeout_ms = 300   # ms\n"
			  "# name = ignored\n"
			  "  ; indented comment\n", &cfg, err));
	EXPECT_STREQ("", err);
	EXPECT_EQ(300, cfg.resync_ms);
	EXPECT_EQ(200, cfg.probe_interval_ms);
	EXPECT_STREQ("/run/ph#1", cfg.stats_file);
	p = config_port_find(&cfg, "0000:00:10.0", 0);
	ASSERT_NE(NULL, p);
	EXPECT_EQ(1, p->role.v);
	EXPECT_EQ(300, p->timeout_ms.v);
	EXPECT_STREQ("", p->name);
}

/* Numbers are decimal: "010" is ten, "09600" is 9600. */
TEST(config_decimal_numbers)
{
	const struct config_port *p;
	char err[512] = "";

	ASSERT_EQ(0, load("[daemon]\npriority = 08\nresync_ms = 0100\n"
			  "[port 0000:00:10.0-010]\nbaud = 09600\n"
			  "timeout_ms = 010\ndata_bits = 07\n", &cfg, err));
	EXPECT_STREQ("", err);
	EXPECT_EQ(8, cfg.priority);
	EXPECT_EQ(100, cfg.resync_ms);
	p = config_port_find(&cfg, "0000:00:10.0", 10);
	ASSERT_NE(NULL, p);
	EXPECT_EQ(9600, p->baud.v);
	EXPECT_EQ(10, p->timeout_ms.v);
	EXPECT_EQ(7, p->data_bits.v);
}

/* [tcp] addresses: a name, IPv4, or IPv6 in brackets (with a zone). */
TEST(config_tcp_addresses)
{
	static const struct {
		const char *addr, *host;
		unsigned int port;
	} good[] = {
		{ "[::1]:1500", "::1", 1500 },
		{ "[fd00::5]:7000", "fd00::5", 7000 },
		{ "[fe80::1%eth0]:22", "fe80::1%eth0", 22 },
		{ "[::ffff:10.0.0.1]:1", "::ffff:10.0.0.1", 1 },
		{ "10.0.0.5:1500", "10.0.0.5", 1500 },
		{ "hsm1.site.example:65535", "hsm1.site.example", 65535 },
		{ "localhost:01500", "localhost", 1500 },
	};
	char err[512], text[128];
	unsigned int i;

	for (i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		err[0] = '\0';
		snprintf(text, sizeof(text), "[tcp a]\naddress = %s\n",
			 good[i].addr);
		ASSERT_EQ(0, load(text, &cfg, err)) TH_LOG("%s", err);
		EXPECT_STREQ(good[i].host, cfg.tcp[0].host);
		EXPECT_EQ(good[i].port, cfg.tcp[0].port);
		EXPECT_EQ(1, cfg.tcp[0].line);
	}
}

/* settle_ms: a server's quiet time after an answer, 0-10000 ms. */
TEST(config_settle_ms)
{
	const struct config_port *p;
	char err[512] = "";

	ASSERT_EQ(0, load("[port 0000:00:11.0-3]\nrole = server\n"
			  "settle_ms = 250\n[port 0000:00:11.0-2]\n"
			  "settle_ms = 0\n[port 0000:00:11.0-1]\nrole = off\n",
			  &cfg, err));
	p = config_port_find(&cfg, "0000:00:11.0", 3);
	ASSERT_NE(NULL, p);
	EXPECT_TRUE(p->settle_ms.set);
	EXPECT_EQ(250, p->settle_ms.v);
	p = config_port_find(&cfg, "0000:00:11.0", 2);
	ASSERT_NE(NULL, p);
	EXPECT_TRUE(p->settle_ms.set);
	EXPECT_EQ(0, p->settle_ms.v);
	p = config_port_find(&cfg, "0000:00:11.0", 1);
	ASSERT_NE(NULL, p);
	EXPECT_FALSE(p->settle_ms.set);
	EXPECT_EQ(4 << 20, cfg.event_buffer);	/* the default */
}

/* [daemon] audit, metrics_dir, metrics_interval_ms: defaults, ranges. */
TEST(config_audit_metrics)
{
	static const struct {
		const char *text, *err;
	} bad[] = {
		{ "[daemon]\naudit = maybe\n", ":2: audit: 'maybe' is not yes or no" },
		{ "[daemon]\nmetrics_dir = prom\n", ":2: metrics_dir: 'prom' is neither an absolute path" },
		{ "[daemon]\nmetrics_interval_ms = 99\n", ":2: metrics_interval_ms: '99' is not 100-3600000" },
		{ "[daemon]\nmetrics_interval_ms = 3600001\n", ":2: metrics_interval_ms: '3600001' is not 100-3600000" },
	};
	char err[512] = "", dir[200], text[300];
	unsigned int i;

	ASSERT_EQ(0, load("[daemon]\n", &cfg, err));
	EXPECT_TRUE(cfg.audit);
	EXPECT_STREQ("", cfg.metrics_dir);
	EXPECT_EQ(5000, cfg.metrics_interval_ms);
	ASSERT_EQ(0, load("[daemon]\naudit = no\n"
			  "metrics_dir = /var/lib/prometheus/node-exporter\n"
			  "metrics_interval_ms = 100\n", &cfg, err));
	EXPECT_FALSE(cfg.audit);
	EXPECT_STREQ("/var/lib/prometheus/node-exporter", cfg.metrics_dir);
	EXPECT_EQ(100, cfg.metrics_interval_ms);
	ASSERT_EQ(0, load("[daemon]\nmetrics_dir = /tmp\nmetrics_dir = none\n",
			  &cfg, err));
	EXPECT_STREQ("", cfg.metrics_dir);
	/* a long path fits; one of 201 bytes does not */
	memset(dir, 'd', sizeof(dir));
	snprintf(text, sizeof(text), "[daemon]\nmetrics_dir = /%.149s\n", dir);
	ASSERT_EQ(0, load(text, &cfg, err)) {
		TH_LOG("%s", err);
	}
	EXPECT_EQ(150, strlen(cfg.metrics_dir));
	snprintf(text, sizeof(text), "[daemon]\nmetrics_dir = /%.200s\n", dir);
	EXPECT_EQ(-1, load(text, &cfg, err));
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		err[0] = '\0';
		EXPECT_EQ(-1, load(bad[i].text, &cfg, err));
		EXPECT_NE(NULL, strstr(err, bad[i].err)) {
			TH_LOG("file %u: got '%s'", i, err);
		}
	}
}

/*
 * Framing keys, in [port] and [tty] sections: what is not given is not
 * set (the kernel keeps its own); an empty error_frame is set, empty.
 */
TEST(config_framing_keys)
{
	const struct config_port *p;
	char err[512] = "";

	ASSERT_EQ(0, load("[port 0000:00:10.0-0]\nrole = station\n"
			  "framing = stx-etx\nlrc = yes\nerror_frame = 3939\n"
			  "gap_chars = 0040\n"
			  "[port 0000:00:10.0-1]\nframing = stx-len\n"
			  "error_frame = 0203FF\nlrc = no\n"
			  "[tty /dev/ttyS4]\nframing = gap\ngap_chars = 4\n"
			  "error_frame =\n"
			  "[port 0000:00:11.0-0]\nframing = len16 ; payShield TCP\n"
			  "[port 0000:00:11.0-1]\nframing = hdlc\n"
			  "[port 0000:00:11.0-2]\nrole = server\n"
			  "[tcp hsm]\naddress = [::1]:1500\n"
			  "[tcp net]\naddress = [::1]:1501\nframing = len16\n"
			  "[tcp old]\nframing = hdlc\naddress = [::1]:1502\n",
			  &cfg, err)) TH_LOG("%s", err);
	p = config_port_find(&cfg, "0000:00:10.0", 0);
	ASSERT_NE(NULL, p);
	EXPECT_TRUE(p->framing.set);
	EXPECT_EQ(PH_FRAMING_STX_ETX, p->framing.v);
	EXPECT_TRUE(p->lrc.set);
	EXPECT_EQ(1, p->lrc.v);
	EXPECT_TRUE(p->gap_chars.set);
	EXPECT_EQ(40, p->gap_chars.v);
	EXPECT_TRUE(p->error_set);
	ASSERT_EQ(2, p->error_len);
	EXPECT_EQ(0, memcmp(p->error_frame, "99", 2));
	p = config_port_find(&cfg, "0000:00:10.0", 1);
	ASSERT_NE(NULL, p);
	EXPECT_EQ(PH_FRAMING_STX_LEN, p->framing.v);
	/* stx-len is binary safe: STX and ETX are payload like any byte */
	ASSERT_EQ(3, p->error_len);
	EXPECT_EQ(0, memcmp(p->error_frame, "\x02\x03\xff", 3));
	EXPECT_TRUE(p->lrc.set);
	EXPECT_EQ(0, p->lrc.v);
	EXPECT_FALSE(p->gap_chars.set);
	p = config_port_find_tty_path(&cfg, "/dev/ttyS4");
	ASSERT_NE(NULL, p);
	EXPECT_EQ(PH_FRAMING_GAP, p->framing.v);
	EXPECT_EQ(4, p->gap_chars.v);
	EXPECT_TRUE(p->error_set);
	EXPECT_EQ(0, p->error_len);
	EXPECT_FALSE(p->lrc.set);
	p = config_port_find(&cfg, "0000:00:11.0", 0);
	ASSERT_NE(NULL, p);
	EXPECT_EQ(PH_FRAMING_LEN16, p->framing.v);
	p = config_port_find(&cfg, "0000:00:11.0", 1);
	ASSERT_NE(NULL, p);
	EXPECT_TRUE(p->framing.set);
	EXPECT_EQ(PH_FRAMING_HDLC, p->framing.v);
	p = config_port_find(&cfg, "0000:00:11.0", 2);
	ASSERT_NE(NULL, p);
	EXPECT_FALSE(p->framing.set);
	EXPECT_FALSE(p->lrc.set);
	EXPECT_FALSE(p->gap_chars.set);
	EXPECT_FALSE(p->error_set);
	/* [tcp]: hdlc unless it says len16 */
	ASSERT_EQ(3, cfg.ntcp);
	EXPECT_EQ(PH_FRAMING_HDLC, cfg.tcp[0].framing);
	EXPECT_EQ(PH_FRAMING_LEN16, cfg.tcp[1].framing);
	EXPECT_EQ(PH_FRAMING_HDLC, cfg.tcp[2].framing);

	/* Keys that fit together only in the end are fine in any order. */
	ASSERT_EQ(0, load("[port 0000:00:10.0-0]\nlrc = yes\nerror_frame = 39\n"
			  "framing = stx-etx\n[port 0000:00:10.0-1]\n"
			  "error_frame = 02\nlrc = no\nframing = stx-len\n",
			  &cfg, err)) TH_LOG("%s", err);
}

/* persohubctl's names of the framings are the module's. */
TEST(framing_names_agree)
{
	unsigned int i;

	ASSERT_EQ(__PH_FRAMING_MAX, __PERSOHUB_FRAMING_MAX);
	for (i = 0; i < __PH_FRAMING_MAX; i++) {
		EXPECT_STREQ(ph_framing_name(i), phnl_framing_names[i]);
		EXPECT_EQ((int)i, ph_framing_parse(phnl_framing_names[i]));
	}
}

/* Each section knows the line of its header, for messages about it. */
TEST(config_section_lines)
{
	char err[512] = "", label[160];

	ASSERT_EQ(0, load("[daemon]\n\n[port 0000:00:10.0-0]\nrole = station\n"
			  "[tty /dev/serial/by-id/usb-FTDI_FT232R_USB_UART_"
			  "A50285BI-if00-port0]\nrole = server\n"
			  "[port 0000:00:10.0-0]\nname = again\n"
			  "[tcp net1]\n; c\naddress = [::1]:7\n"
			  "[port 0000:00:10.0-1]\n", &cfg, err));
	ASSERT_EQ(2, cfg.nports);	/* a section with no key is none */
	EXPECT_EQ(3, cfg.ports[0].line);
	EXPECT_STREQ("again", cfg.ports[0].name);
	EXPECT_EQ(5, cfg.ports[1].line);
	EXPECT_EQ(9, cfg.tcp[0].line);
	EXPECT_STREQ("[port 0000:00:10.0-0]",
		     config_port_label(&cfg.ports[0], label, sizeof(label)));
	EXPECT_STREQ("[tty /dev/serial/by-id/usb-FTDI_FT232R_USB_UART_"
		     "A50285BI-if00-port0]",
		     config_port_label(&cfg.ports[1], label, sizeof(label)));
}

/* As many port sections as the daemon manages ports, and no more. */
TEST(config_port_limit)
{
	size_t size = (PH_MAX_PORTS + 1) * 48 + 1, off = 0;
	char *text = malloc(size), err[512] = "";
	unsigned int i;

	ASSERT_NE(NULL, text);
	for (i = 0; i < PH_MAX_PORTS; i++)
		off += snprintf(text + off, size - off,
				"[port 0000:%02x:00.0-%u]\nrole = off\n",
				i / 8, i % 8);
	ASSERT_EQ(0, load(text, &cfg, err)) TH_LOG("%s", err);
	EXPECT_EQ(PH_MAX_PORTS, cfg.nports);
	snprintf(text + off, size - off, "[port 0000:ff:00.0-0]\nrole = off\n");
	EXPECT_EQ(-1, load(text, &cfg, err));
	EXPECT_NE(NULL, strstr(err, "too many port sections")) TH_LOG("%s", err);
	free(text);
}

TEST(config_missing_file)
{
	char err[512];

	EXPECT_EQ(-1, config_load("/nonexistent/persohub.conf", &cfg, err,
				  sizeof(err)));
	EXPECT_STREQ("/nonexistent/persohub.conf: No such file or directory",
		     err);
}

/*
 * Messages logged with standard error on a file; @js: what JOURNAL_STREAM
 * says ("match": that file's device:inode, NULL: unset). Returns what was
 * written.
 */
static char *log_lines(const char *js, bool debug)
{
	static char out[1024];
	char tmp[] = "/tmp/persohub-log-XXXXXX", env[64];
	int fd = mkstemp(tmp), saved = dup(STDERR_FILENO);
	struct stat st;
	ssize_t n;

	fstat(fd, &st);
	unsetenv("JOURNAL_STREAM");
	if (js && !strcmp(js, "match"))
		snprintf(env, sizeof(env), "%llu:%llu",
			 (unsigned long long)st.st_dev,
			 (unsigned long long)st.st_ino);
	else if (js)
		snprintf(env, sizeof(env), "%s", js);
	if (js)
		setenv("JOURNAL_STREAM", env, 1);
	fflush(stderr);
	dup2(fd, STDERR_FILENO);
	log_init(debug);
	error("no family: %s", "gone");
	warn("port %d: refused", 3);
	info("attached");
	debug("resync");
	fflush(stderr);
	dup2(saved, STDERR_FILENO);
	close(saved);
	n = pread(fd, out, sizeof(out) - 1, 0);
	out[n > 0 ? n : 0] = '\0';
	close(fd);
	unlink(tmp);
	unsetenv("JOURNAL_STREAM");
	return out;
}

/* Under systemd each line carries its sd-daemon priority prefix. */
TEST(log_journal_priorities)
{
	EXPECT_STREQ("<3>no family: gone\n<4>port 3: refused\n<6>attached\n",
		     log_lines("match", false));
	EXPECT_STREQ("<3>no family: gone\n<4>port 3: refused\n<6>attached\n"
		     "<7>resync\n", log_lines("match", true));
	EXPECT_TRUE(log_to_journal());
}

/* Elsewhere (a terminal, a file, the stream of another process) text. */
TEST(log_plain_text)
{
	static const char plain[] = "persohubd: error: no family: gone\n"
		"persohubd: warning: port 3: refused\n"
		"persohubd: info: attached\n";

	EXPECT_STREQ(plain, log_lines(NULL, false));
	EXPECT_FALSE(log_to_journal());
	/* systemd's stream, but standard error was redirected since */
	EXPECT_STREQ(plain, log_lines("1:2", false));
	EXPECT_STREQ(plain, log_lines("garbage", false));
	EXPECT_STREQ(plain, log_lines("", false));
}

/* A persohub message in @buf: a PORT_CHANGED event, attributes to add. */
static struct nlmsghdr *msg_start(char *buf)
{
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
	struct genlmsghdr *g = mnl_nlmsg_put_extra_header(nlh, sizeof(*g));

	nlh->nlmsg_type = 0x20;
	g->cmd = PERSOHUB_CMD_PORT_CHANGED;
	g->version = PERSOHUB_FAMILY_VERSION;
	return nlh;
}

/* Well-formed attributes are read; unknown types are skipped. */
TEST(phnl_parse_valid)
{
	char buf[1024];
	struct nlmsghdr *nlh = msg_start(buf);
	struct phnl_attrs at;
	struct nlattr *nest;

	mnl_attr_put_u32(nlh, PERSOHUB_A_PORT_ID, 7);
	mnl_attr_put_strz(nlh, PERSOHUB_A_PORT_NAME, "m1-st1");
	mnl_attr_put_u64(nlh, PERSOHUB_A_REQ_ID, 1ULL << 40);
	mnl_attr_put_u8(nlh, PERSOHUB_A_CTRL_ATTACHED, 1);
	mnl_attr_put(nlh, PERSOHUB_A_PORT_USER, 0, NULL);
	mnl_attr_put(nlh, PERSOHUB_A_PAD, 0, NULL);
	nest = mnl_attr_nest_start(nlh, PERSOHUB_A_STATS);
	mnl_attr_put(nlh, PERSOHUB_NEST_PAD, 0, NULL);
	mnl_attr_put_u64(nlh, PERSOHUB_STAT_RX_BYTES, 12);
	mnl_attr_nest_end(nlh, nest);
	mnl_attr_put(nlh, PERSOHUB_A_MAX + 5, 3, "abc");	/* newer module */
	ASSERT_EQ(0, phnl_parse(nlh, &at));
	EXPECT_EQ(PERSOHUB_CMD_PORT_CHANGED, at.cmd);
	EXPECT_EQ(7, phnl_u32(&at, PERSOHUB_A_PORT_ID, 0));
	EXPECT_STREQ("m1-st1", phnl_str(&at, PERSOHUB_A_PORT_NAME));
	EXPECT_EQ(1ULL << 40, phnl_u64(&at, PERSOHUB_A_REQ_ID, 0));
	EXPECT_EQ(1, phnl_u8(&at, PERSOHUB_A_CTRL_ATTACHED, 0));
	EXPECT_NE(NULL, at.a[PERSOHUB_A_PORT_USER]);
	EXPECT_NE(NULL, at.a[PERSOHUB_A_STATS]);
	EXPECT_EQ(NULL, at.a[PERSOHUB_A_PAD]);
}

/* Every attribute of the uapi has its policy (phnl.c), none forgotten. */
TEST(phnl_policy_complete)
{
	int type;

	for (type = 1; type <= PERSOHUB_A_MAX; type++)
		EXPECT_TRUE(phnl_attr_has_policy(type))
			TH_LOG("attribute %d has no policy in phnl.c", type);
}

/*
 * Crafted messages: every attribute of the wrong length or type makes
 * the whole message invalid, and nothing of it is read.
 */
TEST(phnl_parse_malformed)
{
	char buf[1024], name[40];
	struct nlmsghdr *nlh;
	struct phnl_attrs at;
	struct nlattr *nest;
	uint32_t len;

	/* a u32 of 2 bytes */
	nlh = msg_start(buf);
	mnl_attr_put_u16(nlh, PERSOHUB_A_PORT_ID, 7);
	EXPECT_EQ(-EINVAL, phnl_parse(nlh, &at));
	EXPECT_EQ(NULL, at.a[PERSOHUB_A_PORT_ID]);
	/* a u64 of 4 bytes, after a good attribute */
	nlh = msg_start(buf);
	mnl_attr_put_u32(nlh, PERSOHUB_A_PORT_ID, 7);
	mnl_attr_put_u32(nlh, PERSOHUB_A_REQ_ID, 9);
	EXPECT_EQ(-EINVAL, phnl_parse(nlh, &at));
	EXPECT_EQ(NULL, at.a[PERSOHUB_A_PORT_ID]);
	/* a u8 of 4 bytes */
	nlh = msg_start(buf);
	mnl_attr_put_u32(nlh, PERSOHUB_A_CTRL_ATTACHED, 1);
	EXPECT_EQ(-EINVAL, phnl_parse(nlh, &at));
	/* a string without its NUL */
	nlh = msg_start(buf);
	mnl_attr_put(nlh, PERSOHUB_A_PORT_NAME, 3, "abc");
	EXPECT_EQ(-EINVAL, phnl_parse(nlh, &at));
	/* an empty string */
	nlh = msg_start(buf);
	mnl_attr_put(nlh, PERSOHUB_A_PORT_TTY, 0, NULL);
	EXPECT_EQ(-EINVAL, phnl_parse(nlh, &at));
	/* a name longer than any port's */
	memset(name, 'a', sizeof(name) - 1);
	name[sizeof(name) - 1] = '\0';
	nlh = msg_start(buf);
	mnl_attr_put_strz(nlh, PERSOHUB_A_PORT_NAME, name);
	EXPECT_EQ(-EINVAL, phnl_parse(nlh, &at));
	/* a flag with a payload */
	nlh = msg_start(buf);
	mnl_attr_put_u32(nlh, PERSOHUB_A_PORT_USER, 1);
	EXPECT_EQ(-EINVAL, phnl_parse(nlh, &at));
	/* a counter of 4 bytes in the statistics */
	nlh = msg_start(buf);
	nest = mnl_attr_nest_start(nlh, PERSOHUB_A_STATS);
	mnl_attr_put_u32(nlh, PERSOHUB_STAT_RX_BYTES, 12);
	mnl_attr_nest_end(nlh, nest);
	EXPECT_EQ(-EINVAL, phnl_parse(nlh, &at));
	/* a probe payload larger than any */
	nlh = msg_start(buf);
	mnl_attr_put(nlh, PERSOHUB_A_PAYLOAD, 16, name);
	ASSERT_EQ(0, phnl_parse(nlh, &at));
	/* an attribute running past the end of the message */
	nlh = msg_start(buf);
	mnl_attr_put_u32(nlh, PERSOHUB_A_PORT_ID, 7);
	mnl_attr_put_u32(nlh, PERSOHUB_A_PORT_ROLE, 2);
	nlh->nlmsg_len -= 4;
	EXPECT_EQ(-EINVAL, phnl_parse(nlh, &at));
	/* an attribute shorter than its own header */
	nlh = msg_start(buf);
	mnl_attr_put_u32(nlh, PERSOHUB_A_PORT_ID, 7);
	len = 2;
	memcpy(mnl_nlmsg_get_payload_tail(nlh), &len, 2);
	memset((char *)mnl_nlmsg_get_payload_tail(nlh) + 2, 0, 2);
	nlh->nlmsg_len += 4;
	EXPECT_EQ(-EINVAL, phnl_parse(nlh, &at));
	/* no room for the generic netlink header */
	nlh = msg_start(buf);
	nlh->nlmsg_len = mnl_nlmsg_size(2);
	EXPECT_EQ(-EINVAL, phnl_parse(nlh, &at));
}

/*
 * Refusals of messages sent without waiting (the daemon's dispatches) are
 * counted by whichever call reads them. A generic netlink family id that
 * names no family gets every message refused (-ENOENT), and so does the
 * family check: the family is gone.
 */
TEST(phnl_async_errors_counted)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct mnl_nlmsg_batch *b;
	struct nlmsghdr *nlh;
	struct phnl h;
	int i;

	memset(&h, 0, sizeof(h));
	h.nl = mnl_socket_open(NETLINK_GENERIC);
	if (!h.nl || mnl_socket_bind(h.nl, 0, MNL_SOCKET_AUTOPID) < 0)
		SKIP(return, "no generic netlink socket: %s", strerror(errno));
	h.portid = mnl_socket_get_portid(h.nl);
	h.family = 0xfff0;	/* no such family */
	b = mnl_nlmsg_batch_start(buf, sizeof(buf));
	for (i = 0; i < 3; i++) {
		nlh = phnl_msg(&h, mnl_nlmsg_batch_current(b),
			       PERSOHUB_CMD_DISPATCH, 0);
		mnl_attr_put_u64(nlh, PERSOHUB_A_REQ_ID, i + 1);
		mnl_attr_put_u32(nlh, PERSOHUB_A_SERVER_ID, 1);
		mnl_nlmsg_batch_next(b);
	}
	ASSERT_LT(0, mnl_socket_sendto(h.nl, mnl_nlmsg_batch_head(b),
				       mnl_nlmsg_batch_size(b)));
	mnl_nlmsg_batch_stop(b);
	/* A question of its own reads the three refusals first. */
	EXPECT_EQ(-ENOENT, phnl_talk(&h, phnl_msg(&h, buf,
						  PERSOHUB_CMD_PORT_GET, 0),
				     NULL, NULL));
	EXPECT_EQ(3, h.async_errors);
	EXPECT_FALSE(h.gone);
	EXPECT_EQ(-ENOENT, phnl_family_check(&h));
	EXPECT_TRUE(h.gone);
	EXPECT_EQ(3, h.async_errors);
	mnl_socket_close(h.nl);
}

/* Erlang C against values worked out by hand and a published table. */
#define NEAR(want, got, eps) \
	EXPECT_TRUE(fabs((want) - (got)) < (eps)) \
		TH_LOG("want %.6f got %.6f", (double)(want), (double)(got))

TEST(erlang_c_known_values)
{
	NEAR(0.5, plan_erlang_c(1, 0.5), 1e-12);	/* M/M/1: ρ */
	NEAR(1.0 / 3, plan_erlang_c(2, 1), 1e-12);
	NEAR(4.0 / 9, plan_erlang_c(3, 2), 1e-12);
	NEAR(0.6821, plan_erlang_c(11, 10), 5e-4);	/* table */
	NEAR(1.0, plan_erlang_c(2, 2), 1e-12);		/* saturated */
	NEAR(0.0, plan_erlang_c(3, 0), 1e-12);
	/* Hundreds of servers: no overflow, and falls as servers grow. */
	EXPECT_TRUE(plan_erlang_c(500, 450) > plan_erlang_c(520, 450));
	EXPECT_TRUE(plan_erlang_c(500, 450) > 0 && plan_erlang_c(500, 450) < 1);
}

TEST(waiting_times)
{
	/* M/M/1, λ = 0.5/s, s = 1 s: Wq = ρ/(μ - λ) = 1 s. */
	NEAR(1.0, plan_mean_wait(1, 0.5, 1), 1e-12);
	/* M/M/3, λ = 2/s, s = 1 s: Wq = C/(3 - 2) = 4/9 s. */
	NEAR(4.0 / 9, plan_mean_wait(3, 2, 1), 1e-12);
	/* P(W > t) = C e^{-(cμ-λ)t} */
	NEAR(4.0 / 9 * exp(-0.5), plan_wait_over(3, 2, 1, 0.5), 1e-12);
	EXPECT_TRUE(isinf(plan_mean_wait(2, 2, 1)));
}

TEST(servers_needed)
{
	double r;

	/* A = 2 Erlangs: 3 servers make P(wait) 4/9 <= 0.5, 2 cannot. */
	EXPECT_EQ(3, plan_servers(2, 1, 0, 0.5));
	/* A stricter bound needs more: C(4, 2) = 0.1739. */
	EXPECT_EQ(4, plan_servers(2, 1, 0, 0.2));
	/* 24 stations' worth: 10 Erlangs, 95% served within 20 ms of a
	 * 100 ms service: the answer meets the bound and one less does not.
	 */
	unsigned int c = plan_servers(100, 0.1, 0.02, 0.05);

	EXPECT_LE(plan_wait_over(c, 100, 0.1, 0.02), 0.05);
	EXPECT_GT(plan_wait_over(c - 1, 100, 0.1, 0.02), 0.05);
	/* The largest rate c servers carry sits right at the bound. */
	r = plan_max_rate(3, 1, 0, 4.0 / 9);
	NEAR(2.0, r, 1e-6);
}

/* The state file: what persohubd writes, persohubctl reads back. */
static struct state st_out, st_in;

TEST(state_file_round_trip)
{
	char path[] = "/tmp/persohub-state-XXXXXX", err[256], tmp[64];
	struct stat sb;
	int fd = mkstemp(path);

	ASSERT_LE(0, fd);
	close(fd);
	memset(&st_out, 0, sizeof(st_out));
	st_out.pid = 412;
	st_out.started_ns = 5;
	st_out.updated_ns = 18446744073709551615ULL;
	strcpy(st_out.config, "/etc/persohub/my site.conf");
	st_out.resync_ms = 200;
	st_out.held_total = 2;
	st_out.nports = 2;
	st_out.ports[0] = (struct state_port){ .id = 1, .name = "m1-st1",
		.role = 1, .weight = 1, .config_enabled = true,
		.kernel_enabled = true, .pin = 1024, .held = 2 };
	strcpy(st_out.ports[0].state, "-");
	st_out.ports[1] = (struct state_port){ .id = 1024, .name = "hsm1",
		.role = 2, .weight = 7, .config_enabled = false,
		.kernel_enabled = true, .user = true };
	strcpy(st_out.ports[1].state, "idle");
	st_out.ntcp = 1;
	st_out.tcp[0] = (struct state_tcp){ .id = 9, .name = "net0",
		.address = "[::1]:7001", .state = "backoff", .since_ns = 77,
		/* a newline would end the line: written as '?' */
		.error = "Connection refused\nx y=z" };
	st_out.nheld = 2;
	st_out.held[0] = (struct state_held){ .req = 1ULL << 40,
		.station = 1, .server = 1024, .reason = HELD_PIN_BUSY };
	st_out.held[1] = (struct state_held){ .req = 3, .station = 1,
		.reason = HELD_NO_ENABLED };
	ASSERT_EQ(0, state_save(path, &st_out));
	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	EXPECT_EQ(-1, stat(tmp, &sb));	/* renamed, not left behind */
	ASSERT_EQ(0, state_load(path, &st_in, err, sizeof(err)));
	EXPECT_EQ(412, st_in.pid);
	EXPECT_EQ(5, st_in.started_ns);
	EXPECT_EQ(18446744073709551615ULL, st_in.updated_ns);
	EXPECT_STREQ("/etc/persohub/my site.conf", st_in.config);
	EXPECT_EQ(200, st_in.resync_ms);
	EXPECT_EQ(2, st_in.held_total);
	ASSERT_EQ(2, st_in.nports);
	EXPECT_EQ(0, memcmp(&st_out.ports, &st_in.ports,
			    2 * sizeof(st_in.ports[0])));
	ASSERT_EQ(1, st_in.ntcp);
	EXPECT_STREQ("Connection refused?x y=z", st_in.tcp[0].error);
	EXPECT_STREQ("[::1]:7001", st_in.tcp[0].address);
	EXPECT_STREQ("backoff", st_in.tcp[0].state);
	EXPECT_EQ(77, st_in.tcp[0].since_ns);
	EXPECT_EQ(9, st_in.tcp[0].id);
	ASSERT_EQ(2, st_in.nheld);
	EXPECT_EQ(1ULL << 40, st_in.held[0].req);
	EXPECT_EQ(1024, st_in.held[0].server);
	EXPECT_EQ(HELD_PIN_BUSY, st_in.held[0].reason);
	EXPECT_EQ(HELD_NO_ENABLED, st_in.held[1].reason);
	EXPECT_EQ(0, st_in.held[1].server);
	EXPECT_STREQ("no-server-enabled", state_reason_key(HELD_NO_ENABLED));
	EXPECT_STREQ("pinned server busy", state_reason_text(HELD_PIN_BUSY));
	unlink(path);
	EXPECT_EQ(-ENOENT, state_load(path, &st_in, err, sizeof(err)));
}

/* The cascade's record: there with a [cascade], every counter back. */
TEST(state_file_cascade)
{
	char path[] = "/tmp/persohub-state-XXXXXX", err[256];
	int fd = mkstemp(path), i;

	ASSERT_LE(0, fd);
	close(fd);
	memset(&st_out, 0, sizeof(st_out));
	st_out.pid = 9;
	ASSERT_EQ(0, state_save(path, &st_out));
	ASSERT_EQ(0, state_load(path, &st_in, err, sizeof(err)));
	EXPECT_FALSE(st_in.cascade.present);
	st_out.cascade.present = true;
	st_out.cascade.depth = 16;
	strcpy(st_out.cascade.name, "hub-a");
	strcpy(st_out.cascade.site, "plant1");
	st_out.cascade.connected = true;
	for (i = 0; i < CASC_COUNTERS; i++)
		st_out.cascade.v[i] = 1000 + i;
	ASSERT_EQ(0, state_save(path, &st_out));
	ASSERT_EQ(0, state_load(path, &st_in, err, sizeof(err)));
	EXPECT_TRUE(st_in.cascade.present);
	EXPECT_EQ(0, memcmp(&st_out.cascade, &st_in.cascade,
			    sizeof(st_in.cascade)));
	EXPECT_STREQ("late", state_cascade_keys[CASC_LATE]);
	unlink(path);
}

/* A file that is not ours, or half of one, is refused with its line. */
TEST(state_file_malformed)
{
	static const struct {
		const char *text, *err;
	} bad[] = {
		{ "", ": empty" },
		{ "persohubd-state 2\n", ":1: not a persohubd state file" },
		{ "pid 3\n", ":1: not a persohubd state file" },
		{ "persohubd-state 1\npid x\n", ":2: malformed line" },
		{ "persohubd-state 1\nport 1 role\n", ":2: malformed line" },
		{ "persohubd-state 1\nheld 1 reason=bored\n",
		  ":2: malformed line" },
		{ "persohubd-state 1\nport 1 name=abcdefghijabcdefghijabcdefghijabc\n",
		  ":2: malformed line" },
		{ "persohubd-state 1\ntcp 4294967296 name=a\n",
		  ":2: malformed line" },
	};
	char path[] = "/tmp/persohub-state-XXXXXX", err[256];
	unsigned int i;
	FILE *f;

	close(mkstemp(path));
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		f = fopen(path, "w");
		ASSERT_NE(NULL, f);
		fputs(bad[i].text, f);
		fclose(f);
		EXPECT_EQ(-EINVAL, state_load(path, &st_in, err, sizeof(err)));
		EXPECT_NE(NULL, strstr(err, bad[i].err))
			TH_LOG("%u: '%s'", i, err);
	}
	/* later versions may add records and keys: skipped */
	f = fopen(path, "w");
	ASSERT_NE(NULL, f);
	fputs("persohubd-state 1\nclasses 3\nport 2 colour=red held=4\n", f);
	fclose(f);
	EXPECT_EQ(0, state_load(path, &st_in, err, sizeof(err)));
	EXPECT_EQ(4, st_in.ports[0].held);
	unlink(path);
}

/* header_len and queue_depth: their defaults, ranges and the pair's rule. */
TEST(config_tcp_tags)
{
	static const char *const bad[] = {
		"header_len = 17\n", "header_len = -1\n", "queue_depth = 0\n",
		"queue_depth = 65\n", "queue_depth = 2\n",
		"queue_depth = 2\nheader_len = 0\n",
	};
	char err[512], text[256];
	unsigned int i;

	ASSERT_EQ(0, load("[tcp a]\naddress = 10.0.0.1:1500\n", &cfg, err));
	EXPECT_EQ(0, cfg.tcp[0].header_len);
	EXPECT_EQ(1, cfg.tcp[0].queue_depth);
	ASSERT_EQ(0, load("[tcp a]\naddress = 10.0.0.1:1500\nheader_len = 4\n"
			  "queue_depth = 64\n", &cfg, err)) TH_LOG("%s", err);
	EXPECT_EQ(4, cfg.tcp[0].header_len);
	EXPECT_EQ(64, cfg.tcp[0].queue_depth);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		err[0] = '\0';
		snprintf(text, sizeof(text), "[tcp a]\naddress = 10.0.0.1:1\n%s",
			 bad[i]);
		EXPECT_EQ(-1, load(text, &cfg, err)) TH_LOG("%s", bad[i]);
		EXPECT_NE(NULL, strstr(err, i < 4 ? "invalid value" :
				       "needs header_len")) TH_LOG("%s", err);
	}
	/* NAME.10 must still be a name (31 characters at most). */
	EXPECT_EQ(-1, load("[tcp abcdefghijklmnopqrstuvwxyz012]\naddress = "
			   "10.0.0.1:1\nheader_len = 2\nqueue_depth = 10\n",
			   &cfg, err));
	EXPECT_NE(NULL, strstr(err, "too long")) TH_LOG("%s", err);
}

/* tls, ca, cert, key, pin, tls_min, ktls: defaults, values, refusals. */
TEST(config_tcp_tls)
{
	static const struct {
		const char *text, *why;
	} bad[] = {
		{ "tls = yes\n", "needs ca, cert and key" },
		{ "tls = yes\nca = /a\ncert = /b\n", "needs ca, cert and key" },
		{ "tls = maybe\n", "tls: want yes or no" },
		{ "ca = etc/ca.pem\n", "want an absolute path" },
		{ "pin = sha256:00\n", "pin: want sha256: and 64 hex digits" },
		{ "tls_min = 1.1\n", "tls_min: want 1.2 or 1.3" },
		{ "ktls = yes\n", "ktls: want auto or no, not 'yes'" },
	};
	char err[512], text[512];
	unsigned int i;

	ASSERT_EQ(0, load("[tcp a]\naddress = 10.0.0.1:1500\n", &cfg, err));
	EXPECT_FALSE(cfg.tcp[0].tls);
	EXPECT_FALSE(cfg.tcp[0].pin_set);
	EXPECT_EQ(13, cfg.tcp[0].tls_min);
	EXPECT_FALSE(cfg.tcp[0].ktls_no);
	ASSERT_EQ(0, load("[tcp a]\naddress = 10.0.0.1:1500\ntls = yes\n"
			  "ca = /etc/persohub/ca.pem\ncert = /etc/persohub/h.pem\n"
			  "key = /etc/persohub/h.key\ntls_min = 1.2\nktls = no\n"
			  "pin = sha256:"
			  "00112233445566778899aabbccddeeff"
			  "00112233445566778899AABBCCDDEEFF\n", &cfg, err))
		TH_LOG("%s", err);
	EXPECT_TRUE(cfg.tcp[0].tls);
	EXPECT_STREQ("/etc/persohub/ca.pem", cfg.tcp[0].ca);
	EXPECT_STREQ("/etc/persohub/h.pem", cfg.tcp[0].cert);
	EXPECT_STREQ("/etc/persohub/h.key", cfg.tcp[0].key);
	EXPECT_EQ(12, cfg.tcp[0].tls_min);
	EXPECT_TRUE(cfg.tcp[0].ktls_no);
	EXPECT_TRUE(cfg.tcp[0].pin_set);
	EXPECT_EQ(0x11, cfg.tcp[0].pin[1]);
	EXPECT_EQ(0xff, cfg.tcp[0].pin[31]);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		err[0] = '\0';
		snprintf(text, sizeof(text), "[tcp a]\naddress = 10.0.0.1:1\n%s",
			 bad[i].text);
		EXPECT_EQ(-1, load(text, &cfg, err)) TH_LOG("%s", bad[i].text);
		EXPECT_NE(NULL, strstr(err, bad[i].why)) TH_LOG("%s", err);
	}
}

/* Without a tag: one request at a time, a second answer is nobody's. */
TEST(tcp_corr_in_order)
{
	struct tcp_corr c;
	uint8_t a[] = "REQ-A", r[] = "ANS";

	tcp_corr_init(&c, 0, 8);
	EXPECT_EQ(1, c.depth);
	EXPECT_EQ(-EINVAL, tcp_corr_send(&c, 1, a, 5));
	ASSERT_EQ(0, tcp_corr_send(&c, 0, a, 5));
	EXPECT_STREQ("REQ-A", (char *)a);	/* sent as it came */
	/* The kernel moved on (a lost SERVER_FAILED): the link says so. */
	EXPECT_EQ(-EBUSY, tcp_corr_send(&c, 0, a, 5));
	EXPECT_EQ(0, tcp_corr_answer(&c, r, 3));
	EXPECT_EQ(-1, tcp_corr_answer(&c, r, 3));
	EXPECT_EQ(0, tcp_corr_busy(&c));
}

/* Tagged: answers in any order, each to its request, headers given back. */
TEST(tcp_corr_tagged_any_order)
{
	uint8_t a[] = "HDR1req-a", b[] = "HDR2req-b", ta[5] = "", tb[5] = "";
	uint8_t ra[12], rb[12];
	struct tcp_corr c;

	tcp_corr_init(&c, 4, 2);
	ASSERT_EQ(0, tcp_corr_send(&c, 0, a, 9));
	ASSERT_EQ(0, tcp_corr_send(&c, 1, b, 9));
	memcpy(ta, a, 4);
	memcpy(tb, b, 4);
	EXPECT_STREQ("0000", (char *)ta);
	EXPECT_STREQ("0001", (char *)tb);
	EXPECT_STREQ("req-a", (char *)a + 4);
	EXPECT_EQ(2, tcp_corr_busy(&c));
	memcpy(rb, tb, 4);
	memcpy(rb + 4, "ans-b", 6);
	memcpy(ra, ta, 4);
	memcpy(ra + 4, "ans-a", 6);
	EXPECT_EQ(1, tcp_corr_answer(&c, rb, 9));
	EXPECT_STREQ("HDR2ans-b", (char *)rb);
	EXPECT_EQ(0, tcp_corr_answer(&c, ra, 9));
	EXPECT_STREQ("HDR1ans-a", (char *)ra);
	EXPECT_EQ(0, tcp_corr_busy(&c));
	/* Shorter than the header: no tag to put. */
	EXPECT_EQ(-EMSGSIZE, tcp_corr_send(&c, 0, a, 3));
}

/*
 * The defect of matching by order: request A given up on, B sent on the
 * same slot, A's late answer arrives first. By tag it is nobody's, and
 * B's answer is B's.
 */
TEST(tcp_corr_late_answer_dropped)
{
	uint8_t a[] = "00req-a", b[] = "00req-b", late[8], ans[8];
	struct tcp_corr c;

	tcp_corr_init(&c, 2, 1);
	ASSERT_EQ(0, tcp_corr_send(&c, 0, a, 7));
	tcp_corr_drop(&c, 0);			/* timed out */
	ASSERT_EQ(0, tcp_corr_send(&c, 0, b, 7));
	memcpy(late, a, 2);
	memcpy(late + 2, "ans-a", 6);
	memcpy(ans, b, 2);
	memcpy(ans + 2, "ans-b", 6);
	EXPECT_EQ(-1, tcp_corr_answer(&c, late, 7));
	EXPECT_EQ(0, tcp_corr_answer(&c, ans, 7));
	EXPECT_STREQ("00ans-b", (char *)ans);
	/* One digit wraps at 10: a tag still in flight is never reused. */
	tcp_corr_init(&c, 1, 2);
	ASSERT_EQ(0, tcp_corr_send(&c, 0, a, 7));	/* tag 0, kept */
	for (int i = 0; i < 9; i++) {
		ASSERT_EQ(0, tcp_corr_send(&c, 1, b, 7));
		tcp_corr_drop(&c, 1);
	}
	ASSERT_EQ(0, tcp_corr_send(&c, 1, b, 7));
	EXPECT_NE(a[0], b[0]);
}

/* [cascade]: every key, classes by name and by number, the defaults. */
TEST(config_cascade)
{
	struct config_cascade *c = &cfg.cascade;
	char err[512] = "";

	ASSERT_EQ(0, load("[class default]\n[class keys]\nid = 2\n[class certs]\n"
			  "[cascade]\n"
			  "servers = nats://10.0.2.1:4222, tls://hub-b:4222 ;x\n"
			  "site = plant1\nname = hub-a\n"
			  "ca = /etc/persohub/nats-ca.pem\n"
			  "cert = /etc/persohub/hub-a.pem\n"
			  "key = /etc/persohub/hub-a.key\n"
			  "offer = 0, keys\nuse = certs,2\ndepth = 16\n"
			  "timeout_ms = 800\n", &cfg, err));
	EXPECT_STREQ("", err);
	EXPECT_TRUE(c->set);
	EXPECT_EQ(5, c->line);
	ASSERT_EQ(2, c->nservers);
	EXPECT_STREQ("nats://10.0.2.1:4222", c->servers[0]);
	EXPECT_STREQ("tls://hub-b:4222", c->servers[1]);
	EXPECT_STREQ("plant1", c->site);
	EXPECT_STREQ("hub-a", c->name);
	EXPECT_STREQ("/etc/persohub/hub-a.key", c->key);
	EXPECT_EQ(0x5, c->offer);	/* 0 and keys (2) */
	EXPECT_EQ(0x6, c->use);		/* certs (1) and 2 */
	EXPECT_EQ(16, c->depth);
	EXPECT_EQ(800, c->timeout_ms);

	ASSERT_EQ(0, load("[daemon]\nresync_ms = 500\n", &cfg, err));
	EXPECT_FALSE(c->set);
	ASSERT_EQ(0, load("[cascade]\nservers = nats://h:1\nsite = s\n", &cfg,
			  err));
	EXPECT_TRUE(c->set);
	EXPECT_EQ(4, c->depth);
	EXPECT_EQ(0, c->timeout_ms);
	EXPECT_EQ(0, c->offer);
	EXPECT_EQ(0, c->use);
	EXPECT_STREQ("", c->name);
}

TEST(config_cascade_bad)
{
	static const struct bad cb[] = {
		{ "[cascade]\nsite = a\n", ":1: [cascade] has no servers" },
		{ "[cascade]\n", ":1: [cascade] has no servers" },
		{ "[cascade]\nservers = nats://h:1\n", ":1: [cascade] has no site" },
		{ "[daemon]\n[cascade]\nservers = http://h:1\n", ":3: servers: want nats://HOST:PORT or tls://HOST:PORT items, not 'http://h:1'" },
		{ "[cascade]\nservers = nats://a:1,,nats://b:2\n", ":2: servers: 'nats://a:1,,nats://b:2' is not a list of URLs" },
		{ "[cascade]\nservers = nats://\n", ":2: servers: 'nats://' names no host" },
		{ "[cascade]\nsite = a.b\n", ":2: site: 'a.b' is not 1-31 of [A-Za-z0-9_:-]" },
		{ "[cascade]\nname = x*\n", ":2: name: 'x*' is not" },
		{ "[cascade]\nkey = hub.key\n", ":2: key: want an absolute path" },
		{ "[cascade]\noffer = 64\n", ":2: offer: class 64 is not 0-63" },
		{ "[cascade]\nuse = nosuch\n", ":2: use: no class 'nosuch'" },
		{ "[class a.b]\n[cascade]\nuse = a.b\n", ":3: use: class 'a.b' cannot name a subject" },
		{ "[cascade]\ndepth = 0\n", ":2: depth: '0' is not 1-64" },
		{ "[cascade]\ndepth = 65\n", ":2: depth: '65' is not 1-64" },
		{ "[cascade]\ntimeout_ms = 600001\n", ":2: timeout_ms: '600001' is not 0-600000" },
		{ "[cascade]\ncolour = red\n", ":2: unknown key 'colour' in [cascade]" },
		{ "[cascade]\nservers = nats://h:1\nsite = s\n\nca = /ca.pem\n", ":1: [cascade] TLS needs ca, cert and key, all three" },
	};
	char err[512];
	unsigned int i;

	for (i = 0; i < sizeof(cb) / sizeof(cb[0]); i++) {
		err[0] = '\0';
		EXPECT_EQ(-1, load(cb[i].text, &cfg, err));
		EXPECT_NE(NULL, strstr(err, cb[i].err)) {
			TH_LOG("file %u: got '%s'", i, err);
		}
	}
}

/* Subjects name classes: [class] names, default, else the number. */
TEST(config_class_subject_token)
{
	char err[512] = "", b[32];

	ASSERT_EQ(0, load("[class keys]\nid = 3\n", &cfg, err));
	EXPECT_STREQ("keys", config_class_token(&cfg, 3, b, sizeof(b)));
	EXPECT_STREQ("default", config_class_token(&cfg, 0, b, sizeof(b)));
	EXPECT_STREQ("7", config_class_token(&cfg, 7, b, sizeof(b)));
}

/*
 * Overflow servers come after every local server, whatever their weight
 * and idleness: a request goes out only when no idle local server takes it.
 */
TEST(match_overflow_last)
{
	uint64_t req;
	uint32_t srv;

	match_init(&m);
	match_server_overflow(&m, 2, true);
	match_server_ready(&m, 2, 10);		/* idle the longest */
	match_server_config(&m, 2, 9, true);	/* and the heaviest */
	match_server_ready(&m, 5, 500);
	match_request(&m, 1, 30);
	match_request(&m, 2, 30);
	ASSERT_EQ(1, match_next(&m, &req, &srv));
	EXPECT_EQ(1, req);
	EXPECT_EQ(5, srv);		/* the local one */
	ASSERT_EQ(1, match_next(&m, &req, &srv));
	EXPECT_EQ(2, req);
	EXPECT_EQ(2, srv);		/* out: no local server idle */
	EXPECT_EQ(0, match_next(&m, &req, &srv));
	/* The idle classes count local servers only. */
	match_server_ready(&m, 2, 600);
	EXPECT_EQ(0, match_idle_classes(&m));
	match_server_ready(&m, 5, 600);
	EXPECT_EQ(1, match_idle_classes(&m));
}

/* Classes backed off stay home; the remote station's requests too. */
TEST(match_overflow_classes_and_local_station)
{
	uint64_t req;
	uint32_t srv;

	match_init(&m);
	match_server_overflow(&m, 3, true);
	match_server_classes(&m, 3, 0x3);
	match_server_ready(&m, 3, 0);
	match_station_local(&m, 40);
	match_request_class(&m, 10, 40, 0, 7, 0);	/* another hub's */
	match_request_class(&m, 11, 30, 1, 0, 0);	/* class 1 */
	match_request_class(&m, 12, 30, 0, 0, 0);	/* class 0 */
	match_overflow_classes(&m, 0x1);		/* class 1 backed off */
	ASSERT_EQ(1, match_next(&m, &req, &srv));
	EXPECT_EQ(12, req);
	EXPECT_EQ(3, srv);
	match_server_ready(&m, 3, 0);
	EXPECT_EQ(0, match_next(&m, &req, &srv));	/* 10: ours; 11: off */
	match_overflow_classes(&m, 0x3);
	ASSERT_EQ(1, match_next(&m, &req, &srv));
	EXPECT_EQ(11, req);
	match_server_ready(&m, 3, 0);
	EXPECT_EQ(0, match_next(&m, &req, &srv));	/* never 10 */
	/* A local server takes the other hub's request. */
	match_server_ready(&m, 4, 0);
	ASSERT_EQ(1, match_next(&m, &req, &srv));
	EXPECT_EQ(10, req);
	EXPECT_EQ(4, srv);
}

/* A pinned station's requests never go out either. */
TEST(match_overflow_not_pinned)
{
	uint64_t req;
	uint32_t srv;

	match_init(&m);
	match_server_overflow(&m, 3, true);
	match_server_ready(&m, 3, 0);
	match_station_pin(&m, 20, 7);
	match_request(&m, 1, 20);
	EXPECT_EQ(0, match_next(&m, &req, &srv));
}

static struct casc_core cc;

/* What each reply does; a reply is taken once, by slot and sequence. */
TEST(cascade_replies)
{
	uint64_t s1, s2;

	casc_init(&cc, 2, 0x1, 0x1);
	casc_connected(&cc, true);
	s1 = casc_start(&cc, 0, 100, 0, 1000);
	s2 = casc_start(&cc, 1, 101, 0, 1000);
	EXPECT_NE(s1, s2);
	EXPECT_EQ(0, casc_find(&cc, 100));
	EXPECT_EQ(1, casc_find(&cc, 101));
	EXPECT_EQ(CASC_ACT_ANSWER, casc_reply(&cc, 0, s1, CASC_REPLY_ANSWER, 5));
	/* The same reply again, or for another slot: late. */
	EXPECT_EQ(CASC_ACT_LATE, casc_reply(&cc, 0, s1, CASC_REPLY_ANSWER, 5));
	EXPECT_EQ(CASC_ACT_LATE, casc_reply(&cc, 0, s2, CASC_REPLY_ANSWER, 5));
	EXPECT_EQ(CASC_ACT_LATE, casc_reply(&cc, 9, s2, CASC_REPLY_ANSWER, 5));
	EXPECT_EQ(-1, casc_find(&cc, 100));
	EXPECT_EQ(CASC_ACT_FAILED, casc_reply(&cc, 1, s2, CASC_REPLY_ERROR, 5));
	/* A slot used again: the old request's reply is late. */
	s1 = casc_start(&cc, 0, 102, 0, 1000);
	s2 = casc_start(&cc, 0, 103, 0, 1000);
	EXPECT_EQ(CASC_ACT_LATE, casc_reply(&cc, 0, s1, CASC_REPLY_ANSWER, 5));
	EXPECT_EQ(CASC_ACT_GIVE_BACK,
		  casc_reply(&cc, 0, s2, CASC_REPLY_BUSY, 5));
}

/* No responders or busy: the class stays home until announced or later. */
TEST(cascade_backoff)
{
	uint64_t s;

	casc_init(&cc, 4, 0x5, 0);
	EXPECT_EQ(0, casc_out_classes(&cc, 0));	/* not connected */
	casc_connected(&cc, true);
	EXPECT_EQ(0x5, casc_out_classes(&cc, 0));
	s = casc_start(&cc, 3, 7, 2, 1000000000);
	EXPECT_EQ(CASC_ACT_GIVE_BACK,
		  casc_reply(&cc, 3, s, CASC_REPLY_NO_RESPONDERS, 1000));
	EXPECT_EQ(0x1, casc_out_classes(&cc, 1000));
	EXPECT_EQ(1000 + CASC_BACKOFF_NS, casc_next_due(&cc, 1000));
	EXPECT_EQ(0x5, casc_out_classes(&cc, 1000 + CASC_BACKOFF_NS));
	s = casc_start(&cc, 3, 8, 2, 1000000000);
	casc_reply(&cc, 3, s, CASC_REPLY_BUSY, 2000);
	EXPECT_EQ(0x1, casc_out_classes(&cc, 2001));
	casc_free(&cc, 2);		/* a hub has a free server */
	EXPECT_EQ(0x5, casc_out_classes(&cc, 2001));
	casc_connected(&cc, false);
	EXPECT_EQ(0, casc_out_classes(&cc, 2001));
}

/* No reply by the deadline: failed once; its reply then late. */
TEST(cascade_timeouts)
{
	uint64_t s1, s2;

	casc_init(&cc, 3, 1, 0);
	s1 = casc_start(&cc, 1, 50, 0, 300);
	s2 = casc_start(&cc, 2, 51, 0, 200);
	EXPECT_EQ(200, casc_next_due(&cc, 0));
	EXPECT_EQ(-1, casc_expired(&cc, 199));
	EXPECT_EQ(2, casc_expired(&cc, 250));
	EXPECT_EQ(-1, casc_expired(&cc, 250));
	EXPECT_EQ(1, casc_expired(&cc, 300));
	EXPECT_EQ(0, casc_next_due(&cc, 300));
	EXPECT_EQ(CASC_ACT_LATE, casc_reply(&cc, 1, s1, CASC_REPLY_ANSWER, 301));
	EXPECT_EQ(CASC_ACT_LATE, casc_reply(&cc, 2, s2, CASC_REPLY_ERROR, 301));
}

/* Subscribe while a local server would idle; leave the moment it would not. */
TEST(cascade_offer)
{
	uint64_t sub, unsub;

	casc_init(&cc, 0, 0, 0x6);
	casc_offer(&cc, 0x7, &sub, &unsub);
	EXPECT_EQ(0x6, sub);		/* not class 0: not offered */
	EXPECT_EQ(0, unsub);
	casc_offer(&cc, 0x7, &sub, &unsub);
	EXPECT_EQ(0, sub | unsub);	/* nothing changed */
	casc_offer(&cc, 0x2, &sub, &unsub);
	EXPECT_EQ(0, sub);
	EXPECT_EQ(0x4, unsub);
	casc_offer(&cc, 0, &sub, &unsub);
	EXPECT_EQ(0x2, unsub);
	EXPECT_EQ(0, cc.subscribed);
}

/* Replies read: the status header, no responders; reply subjects parsed. */
TEST(cascade_reply_parsing)
{
	unsigned int slot;
	uint64_t seq;

	EXPECT_EQ(CASC_REPLY_ANSWER, casc_reply_kind(false, "0"));
	EXPECT_EQ(CASC_REPLY_BUSY, casc_reply_kind(false, "busy"));
	EXPECT_EQ(CASC_REPLY_ERROR, casc_reply_kind(false, "110"));
	EXPECT_EQ(CASC_REPLY_ERROR, casc_reply_kind(false, NULL));
	EXPECT_EQ(CASC_REPLY_NO_RESPONDERS, casc_reply_kind(true, NULL));
	ASSERT_EQ(0, casc_token_parse("_INBOX.abc.12.345", &slot, &seq));
	EXPECT_EQ(12, slot);
	EXPECT_EQ(345, seq);
	EXPECT_EQ(-1, casc_token_parse("_INBOX.abc.64.1", &slot, &seq));
	EXPECT_EQ(-1, casc_token_parse("_INBOX.abc.1.x", &slot, &seq));
	EXPECT_EQ(-1, casc_token_parse("_INBOX.abc.1.", &slot, &seq));
	EXPECT_EQ(-1, casc_token_parse("_INBOX.abc.x1.1", &slot, &seq));
	EXPECT_EQ(-1, casc_token_parse("1.2", &slot, &seq));
	EXPECT_EQ(-1, casc_token_parse(NULL, &slot, &seq));
}

TEST_HARNESS_MAIN
