/* SPDX-License-Identifier: ((GPL-2.0 WITH Linux-syscall-note) OR BSD-3-Clause) */
/*
 * persohub: the interface between the kernel hub and userspace.
 *
 * Two channels:
 *
 *  - the generic netlink family "persohub" (version 1): commands to read
 *    and configure ports, to attach a controller and dispatch requests,
 *    and a multicast group "events" announcing request arrival, server
 *    readiness and the end of every request. Events carry metadata only,
 *    never payload, and may be lost (ENOBUFS on the listener): the kernel
 *    is the source of truth, and %PERSOHUB_CMD_REQUEST_GET dumps what is
 *    waiting so a controller can resync.
 *
 *  - one character device per station, /dev/persohub/<station name>:
 *    requests the controller dispatched to a userspace server are read
 *    there, and their responses written back, each as one message made of
 *    a &struct persohub_msg header followed by the payload. Each userspace
 *    server has its own device too, /dev/persohub-server/<server name>,
 *    with the same messages for the request dispatched to it alone.
 *
 *  - one character device per remote station,
 *    /dev/persohub-remote/<station name>: a process hands requests in
 *    there (another hub's, in a cascade) as a station's line would, and
 *    reads each one back once it ended, with its answer or why it failed.
 *
 * Ports and userspace servers share one id space (%PERSOHUB_A_PORT_ID).
 */
#ifndef _UAPI_LINUX_PERSOHUB_H
#define _UAPI_LINUX_PERSOHUB_H

#include <linux/types.h>

#define PERSOHUB_FAMILY_NAME		"persohub"
#define PERSOHUB_FAMILY_VERSION		1
#define PERSOHUB_MCGRP_EVENTS		"events"

/* Padding inside the nests of 64-bit values (STATS, HIST). */
#define PERSOHUB_NEST_PAD		0

/* Largest request or response payload a port accepts (max_payload). */
#define PERSOHUB_PAYLOAD_MAX		4096

/**
 * enum persohub_cmd - generic netlink commands and events
 * @PERSOHUB_CMD_UNSPEC: unused
 * @PERSOHUB_CMD_PORT_GET: do: the port named by %PERSOHUB_A_PORT_ID or
 *	%PERSOHUB_A_PORT_NAME; dump: every port and userspace server. Replies
 *	carry the port attributes and %PERSOHUB_A_PORT_QUEUE (requests a
 *	station has outstanding).
 * @PERSOHUB_CMD_PORT_SET: change a port (by id or name): role, name, line
 *	settings, timeout, queue depth, max payload, state. Same validation
 *	and effect as sysfs; the first invalid attribute is named in extack
 *	and nothing is changed. Admin.
 * @PERSOHUB_CMD_STATS_GET: do: one port's counters (%PERSOHUB_A_STATS);
 *	without a port: the hub's dispatch latency histogram
 *	(%PERSOHUB_A_HIST) and hub counters. Dump: every port's counters.
 * @PERSOHUB_CMD_CTRL_ATTACH: the sending socket becomes the controller.
 *	-EBUSY if another socket is. While attached the kernel does not match:
 *	it emits events and waits for %PERSOHUB_CMD_DISPATCH. Admin.
 * @PERSOHUB_CMD_CTRL_DETACH: give up control; the kernel matches again at
 *	once. Also happens when the controller's socket closes. Admin.
 * @PERSOHUB_CMD_DISPATCH: send request %PERSOHUB_A_REQ_ID to server
 *	%PERSOHUB_A_SERVER_ID. Errors: -ENOENT no such waiting request,
 *	-ENODEV no such server, -EBUSY server busy, -EIO server failed,
 *	-EPERM sender is not the controller. A refused dispatch changes
 *	nothing. Several may come in one sendmsg(). Admin.
 * @PERSOHUB_CMD_USER_SERVER_ADD: add a server served from userspace
 *	through the station devices, named %PERSOHUB_A_PORT_NAME, with
 *	optional %PERSOHUB_A_PORT_TIMEOUT_MS, %PERSOHUB_A_PORT_CLASSES and
 *	%PERSOHUB_A_PORT_OVERFLOW. Replies with its %PERSOHUB_A_PORT_ID.
 *	Admin.
 * @PERSOHUB_CMD_USER_SERVER_DEL: remove a userspace server (by id or name);
 *	a request it holds is dispatched again. Admin.
 * @PERSOHUB_CMD_REQUEST_GET: dump every request not yet answered:
 *	%PERSOHUB_A_REQ_ID, %PERSOHUB_A_PORT_ID (station), %PERSOHUB_A_REQ_LEN,
 *	%PERSOHUB_A_REQ_RX_NS, and %PERSOHUB_A_SERVER_ID once dispatched.
 * @PERSOHUB_CMD_REQUEST_NEW: event: a request arrived and waits.
 * @PERSOHUB_CMD_SERVER_READY: event: a server became idle.
 * @PERSOHUB_CMD_REQUEST_DONE: event: a request ended, with
 *	%PERSOHUB_A_RESULT and %PERSOHUB_A_LATENCY_NS; also
 *	%PERSOHUB_A_REQ_LEN, %PERSOHUB_A_REQ_RETRIES, %PERSOHUB_A_REQ_SEQ,
 *	%PERSOHUB_A_SERVER_ID and %PERSOHUB_A_REQ_WAIT_NS once dispatched,
 *	%PERSOHUB_A_REQ_CLASS and %PERSOHUB_A_REQ_PRIORITY, and
 *	%PERSOHUB_A_REASON: %PERSOHUB_REASON_TIMEOUT when it failed
 *	because its last server timed out, %PERSOHUB_REASON_GONE when it
 *	was dropped because its station went away. Metadata only, never
 *	payload.
 * @PERSOHUB_CMD_SERVER_FAILED: event: a server failed (%PERSOHUB_A_REASON).
 * @PERSOHUB_CMD_PORT_CHANGED: event: a port's role, state or name changed.
 * @PERSOHUB_CMD_CTRL_CHANGED: event: a controller attached or detached
 *	(%PERSOHUB_A_CTRL_ATTACHED).
 * @PERSOHUB_CMD_SERVER_PROBE: send frame %PERSOHUB_A_PAYLOAD to failed
 *	serial server %PERSOHUB_A_SERVER_ID; its next complete frame returns
 *	it to service (%PERSOHUB_CMD_SERVER_READY). -EINVAL unless the
 *	server has failed, -EOPNOTSUPP for a userspace server. Admin.
 * @PERSOHUB_CMD_CTRL_KEEPALIVE: the controller is alive and leaves the
 *	requests that wait where they are on purpose (a station pinned to a
 *	busy server, a disabled server). The hub takes over matching from a
 *	controller only when a request has waited ctrl_grace_ms with a
 *	server idle *and* the controller has sent nothing (a dispatch, an
 *	attach, a keepalive) for as long; a controller that holds requests
 *	back sends this more often than ctrl_grace_ms. -ENOENT if the sender
 *	is not the controller. Admin.
 * @PERSOHUB_CMD_PORT_ADD: attach a tty (%PERSOHUB_A_PORT_TTY, its name in
 *	/dev: ttyUSB0, ttyS4) as a port of the tty backend; the reply holds
 *	its %PERSOHUB_A_PORT_ID. -ENODEV: no such tty; -EBUSY: it is open
 *	elsewhere; -EEXIST: attached already. Admin.
 * @PERSOHUB_CMD_PORT_DEL: detach a tty port (%PERSOHUB_A_PORT_TTY, or the
 *	port's id or name); its requests end as when its hardware goes.
 *	-EOPNOTSUPP for a port of another backend. Admin.
 * @PERSOHUB_CMD_CLASS_GET: dump the classes: for each, %PERSOHUB_A_CLASS_ID,
 *	%PERSOHUB_A_CLASS_MAX_WAIT_MS, %PERSOHUB_A_CLASS_STATS and
 *	%PERSOHUB_A_HIST, the histogram of its requests' waits (arrival to
 *	dispatch, %PERSOHUB_CLASS_STAT_WAIT_NS their sum) in the buckets of
 *	the hub's (with %PERSOHUB_A_CLASS_ID, do: that class alone)
 * @PERSOHUB_CMD_CLASS_SET: set class %PERSOHUB_A_CLASS_ID's
 *	%PERSOHUB_A_CLASS_MAX_WAIT_MS. Admin.
 * @PERSOHUB_CMD_USER_STATION_ADD: add a remote station: a station with no
 *	line (backend "user", role station) whose requests are written to
 *	its device /dev/persohub-remote/NAME. %PERSOHUB_A_PORT_NAME
 *	(required), optional %PERSOHUB_A_PORT_QUEUE_DEPTH (1 to
 *	%PERSOHUB_REMOTE_DEPTH_MAX, default %PERSOHUB_REMOTE_DEPTH_DEFAULT),
 *	%PERSOHUB_A_PORT_CLASS and %PERSOHUB_A_PORT_PRIORITY (kept and
 *	reported as a station's; each request written carries its own class
 *	and priority, &struct persohub_msg). Its requests go
 *	through the hub as any station's: counters, events with its port id
 *	as the station, classes, priorities, histograms. Replies with its
 *	%PERSOHUB_A_PORT_ID. -EEXIST: the name is in use. Admin.
 * @PERSOHUB_CMD_USER_STATION_DEL: remove a remote station (by id or name).
 *	Its requests end (%PERSOHUB_CMD_REQUEST_DONE with
 *	%PERSOHUB_RESULT_DROPPED and %PERSOHUB_A_REASON
 *	%PERSOHUB_REASON_GONE); an answer that comes later for one that was in
 *	service goes nowhere. The device goes with it; open files get
 *	-ENODEV. Closing the device does not remove the station. -EOPNOTSUPP
 *	for any other port. Admin.
 * @__PERSOHUB_CMD_MAX: one past the last command
 * @PERSOHUB_CMD_MAX: the last command
 */
enum persohub_cmd {
	PERSOHUB_CMD_UNSPEC,
	PERSOHUB_CMD_PORT_GET,
	PERSOHUB_CMD_PORT_SET,
	PERSOHUB_CMD_STATS_GET,
	PERSOHUB_CMD_CTRL_ATTACH,
	PERSOHUB_CMD_CTRL_DETACH,
	PERSOHUB_CMD_DISPATCH,
	PERSOHUB_CMD_USER_SERVER_ADD,
	PERSOHUB_CMD_USER_SERVER_DEL,
	PERSOHUB_CMD_REQUEST_GET,
	PERSOHUB_CMD_REQUEST_NEW,
	PERSOHUB_CMD_SERVER_READY,
	PERSOHUB_CMD_REQUEST_DONE,
	PERSOHUB_CMD_SERVER_FAILED,
	PERSOHUB_CMD_PORT_CHANGED,
	PERSOHUB_CMD_CTRL_CHANGED,
	PERSOHUB_CMD_SERVER_PROBE,
	PERSOHUB_CMD_CTRL_KEEPALIVE,
	PERSOHUB_CMD_PORT_ADD,
	PERSOHUB_CMD_PORT_DEL,
	PERSOHUB_CMD_CLASS_GET,
	PERSOHUB_CMD_CLASS_SET,
	PERSOHUB_CMD_USER_STATION_ADD,
	PERSOHUB_CMD_USER_STATION_DEL,

	__PERSOHUB_CMD_MAX,
	PERSOHUB_CMD_MAX = __PERSOHUB_CMD_MAX - 1
};

/**
 * enum persohub_attr - generic netlink attributes
 * @PERSOHUB_A_UNSPEC: unused
 * @PERSOHUB_A_PORT_ID: u32, a port or userspace server
 * @PERSOHUB_A_PORT_NAME: string, at most 31 bytes of [A-Za-z0-9._:-] (not starting with a dot)
 * @PERSOHUB_A_PORT_CARD: string, PCI address of the port's card
 * @PERSOHUB_A_PORT_INDEX: u32, port index on its card
 * @PERSOHUB_A_PORT_ROLE: u32, &enum persohub_role
 * @PERSOHUB_A_PORT_STATE: u32, &enum persohub_state
 * @PERSOHUB_A_PORT_BAUD: u32, bits per second
 * @PERSOHUB_A_PORT_DATA_BITS: u32, 5 to 8
 * @PERSOHUB_A_PORT_PARITY: u32, &enum persohub_parity
 * @PERSOHUB_A_PORT_STOP_BITS: u32, 1 or 2
 * @PERSOHUB_A_PORT_TIMEOUT_MS: u32, server response timeout, 1 to 600000
 * @PERSOHUB_A_PORT_QUEUE_DEPTH: u32, station requests outstanding, 1 to 16
 *	(remote stations: 1 to %PERSOHUB_REMOTE_DEPTH_MAX, set when added)
 * @PERSOHUB_A_PORT_MAX_PAYLOAD: u32, largest frame payload, 1 to 4096
 * @PERSOHUB_A_PORT_QUEUE: u32, requests a station has outstanding now
 * @PERSOHUB_A_PORT_USER: flag, a port of the user backend: a server served
 *	from userspace, or a remote station (role station)
 * @PERSOHUB_A_STATS: nest of &enum persohub_stat, each u64 (attributes of
 *	type %PERSOHUB_NEST_PAD in it are padding)
 * @PERSOHUB_A_HIST: nest of u64 buckets: bucket i (attribute type i + 1)
 *	counts dispatch latencies in [2^(i-1), 2^i) ns; bucket 0 is 0 ns, the
 *	last bucket is open-ended (type %PERSOHUB_NEST_PAD: padding). The
 *	hub's (STATS_GET), or one class's (CLASS_GET)
 * @PERSOHUB_A_REQ_ID: u64, request id, unique while the module is loaded
 * @PERSOHUB_A_REQ_LEN: u32, request payload bytes
 * @PERSOHUB_A_REQ_RX_NS: u64, CLOCK_MONOTONIC ns the request was complete
 * @PERSOHUB_A_SERVER_ID: u32, the server of a request
 * @PERSOHUB_A_RESULT: u32, &enum persohub_result
 * @PERSOHUB_A_LATENCY_NS: u64, from the request's arrival to its end
 * @PERSOHUB_A_REASON: u32, &enum persohub_reason
 * @PERSOHUB_A_CTRL_ATTACHED: u8, 1 when a controller is attached and in
 *	charge; 0 when none is, or when it stalled and the hub matches
 * @PERSOHUB_A_PAD: padding for 64-bit attributes
 * @PERSOHUB_A_HUB_WAITING: u32, requests waiting for a server
 * @PERSOHUB_A_HUB_NEXT_ID: u64, the id the next request will get
 * @PERSOHUB_A_PAYLOAD: binary, a probe frame's payload (not key material:
 *	it comes from the configuration)
 * @PERSOHUB_A_HUB_EVENTS_DROPPED: u64, events the hub could not allocate
 * @PERSOHUB_A_PORT_SETTLE_MS: u32, servers: how long the line must stay
 *	quiet after an answer before the server takes the next request, 0 to
 *	10000 (default 0); frames in that time are unexpected (a second
 *	answer) and drop
 * @PERSOHUB_A_PORT_BACKEND: string, the port's backend: "uart" (a card
 *	persohub drives), "tty" (a tty through persohub's line discipline)
 *	or "user" (a userspace server)
 * @PERSOHUB_A_PORT_TTY: string, tty ports: the tty's name in /dev
 * @PERSOHUB_A_PORT_FRAMING: u32, &enum persohub_framing, how the port
 *	delimits its frames (default hdlc); set only while the port is idle
 * @PERSOHUB_A_PORT_LRC: u8, stx-etx: 1 when an LRC byte follows ETX
 * @PERSOHUB_A_PORT_GAP_CHARS: u32, character times of silence that end a
 *	frame (gap) or drop a partial one (the other framings but hdlc), 1
 *	to 10000 (default 500)
 * @PERSOHUB_A_PORT_ERROR_FRAME: binary, stations: the payload sent, in the
 *	station's framing, when one of its requests fails (default empty), at
 *	most 64 bytes
 * @PERSOHUB_A_PORT_ENABLED: u8, servers: 1 (default) when the server may
 *	take requests, 0 when an administrator took it out of service. Its
 *	state (idle, busy, failed) still follows its health, but neither the
 *	kernel's matching, nor a controller's DISPATCH (-EHOSTDOWN), nor an
 *	answered probe gives it a request until it is enabled again; a request
 *	it holds when disabled is finished
 * @PERSOHUB_A_REQ_RETRIES: u32, times a request was dispatched again after
 *	its server failed
 * @PERSOHUB_A_REQ_WAIT_NS: u64, from a request's arrival to its last
 *	dispatch (earlier tries included)
 * @PERSOHUB_A_REQ_SEQ: u64, a request's number among its station's: the
 *	station's requests counter when it arrived. Requests end in their
 *	station's order, so a listener that misses a number missed an event,
 *	or a frame the station flooded and the hub dropped uncounted in
 *	events
 * @PERSOHUB_A_HUB_DISPATCH_NS: u64, sum of the dispatch latencies counted
 *	in %PERSOHUB_A_HIST
 * @PERSOHUB_A_PORT_CLASS: u32, stations: the class of their requests that
 *	no classifier rule matches, 0 (default) to %PERSOHUB_CLASS_MAX
 * @PERSOHUB_A_PORT_CLASSES: u64, servers: the classes they serve, bit N
 *	for class N (default 1: class 0 only; never 0)
 * @PERSOHUB_A_PORT_PRIORITY: u32, stations: 0 (default) to 7, higher first
 * @PERSOHUB_A_PORT_CLASSIFIER: binary, stations: &struct
 *	persohub_classifier, the class of a request from its own bytes; an
 *	empty attribute removes it
 * @PERSOHUB_A_REQ_CLASS: u32, a request's class
 * @PERSOHUB_A_REQ_PRIORITY: u32, a request's priority
 * @PERSOHUB_A_CLASS_ID: u32, a class, 0 to %PERSOHUB_CLASS_MAX
 * @PERSOHUB_A_CLASS_MAX_WAIT_MS: u32, a request of the class that has
 *	waited this long goes before every request of a higher priority; 0
 *	(default): never, 1 to 3600000
 * @PERSOHUB_A_CLASS_STATS: nest of &enum persohub_class_stat, each u64
 * @PERSOHUB_A_PORT_OVERFLOW: flag, userspace servers: an overflow server
 *	(a cascade's outgoing slot). The kernel's own matching never gives it
 *	a request, and the controller stall check (ctrl_grace_ms) never
 *	counts it as an idle server: only a controller's
 *	%PERSOHUB_CMD_DISPATCH sends it one. Set at
 *	%PERSOHUB_CMD_USER_SERVER_ADD; %PERSOHUB_CMD_PORT_GET reports it
 * @__PERSOHUB_A_MAX: one past the last attribute
 * @PERSOHUB_A_MAX: the last attribute
 */
enum persohub_attr {
	PERSOHUB_A_UNSPEC,
	PERSOHUB_A_PORT_ID,
	PERSOHUB_A_PORT_NAME,
	PERSOHUB_A_PORT_CARD,
	PERSOHUB_A_PORT_INDEX,
	PERSOHUB_A_PORT_ROLE,
	PERSOHUB_A_PORT_STATE,
	PERSOHUB_A_PORT_BAUD,
	PERSOHUB_A_PORT_DATA_BITS,
	PERSOHUB_A_PORT_PARITY,
	PERSOHUB_A_PORT_STOP_BITS,
	PERSOHUB_A_PORT_TIMEOUT_MS,
	PERSOHUB_A_PORT_QUEUE_DEPTH,
	PERSOHUB_A_PORT_MAX_PAYLOAD,
	PERSOHUB_A_PORT_QUEUE,
	PERSOHUB_A_PORT_USER,
	PERSOHUB_A_STATS,
	PERSOHUB_A_HIST,
	PERSOHUB_A_REQ_ID,
	PERSOHUB_A_REQ_LEN,
	PERSOHUB_A_REQ_RX_NS,
	PERSOHUB_A_SERVER_ID,
	PERSOHUB_A_RESULT,
	PERSOHUB_A_LATENCY_NS,
	PERSOHUB_A_REASON,
	PERSOHUB_A_CTRL_ATTACHED,
	PERSOHUB_A_PAD,
	PERSOHUB_A_HUB_WAITING,
	PERSOHUB_A_HUB_NEXT_ID,
	PERSOHUB_A_PAYLOAD,
	PERSOHUB_A_HUB_EVENTS_DROPPED,
	PERSOHUB_A_PORT_SETTLE_MS,
	PERSOHUB_A_PORT_BACKEND,
	PERSOHUB_A_PORT_TTY,
	PERSOHUB_A_PORT_FRAMING,
	PERSOHUB_A_PORT_LRC,
	PERSOHUB_A_PORT_GAP_CHARS,
	PERSOHUB_A_PORT_ERROR_FRAME,
	PERSOHUB_A_PORT_ENABLED,
	PERSOHUB_A_REQ_RETRIES,
	PERSOHUB_A_REQ_WAIT_NS,
	PERSOHUB_A_REQ_SEQ,
	PERSOHUB_A_HUB_DISPATCH_NS,
	PERSOHUB_A_PORT_CLASS,
	PERSOHUB_A_PORT_CLASSES,
	PERSOHUB_A_PORT_PRIORITY,
	PERSOHUB_A_PORT_CLASSIFIER,
	PERSOHUB_A_REQ_CLASS,
	PERSOHUB_A_REQ_PRIORITY,
	PERSOHUB_A_CLASS_ID,
	PERSOHUB_A_CLASS_MAX_WAIT_MS,
	PERSOHUB_A_CLASS_STATS,
	PERSOHUB_A_PORT_OVERFLOW,

	__PERSOHUB_A_MAX,
	PERSOHUB_A_MAX = __PERSOHUB_A_MAX - 1
};

/**
 * enum persohub_role - what a port does
 * @PERSOHUB_ROLE_OFF: nothing; received frames are counted and dropped
 * @PERSOHUB_ROLE_STATION: sends requests, receives responses
 * @PERSOHUB_ROLE_SERVER: receives requests, sends responses
 */
enum persohub_role {
	PERSOHUB_ROLE_OFF,
	PERSOHUB_ROLE_STATION,
	PERSOHUB_ROLE_SERVER,
};

/**
 * enum persohub_state - state of a server (stations: idle or busy)
 * @PERSOHUB_STATE_IDLE: free for a request
 * @PERSOHUB_STATE_BUSY: serving a request
 * @PERSOHUB_STATE_FAILED: out of service until an administrator or the
 *	controller's health probe sets it idle
 */
enum persohub_state {
	PERSOHUB_STATE_IDLE,
	PERSOHUB_STATE_BUSY,
	PERSOHUB_STATE_FAILED,
};

/**
 * enum persohub_framing - how a port delimits its frames on the wire
 * @PERSOHUB_FRAMING_HDLC: "hdlc", RFC 1662 (0x7E flags, escapes, FCS-16)
 * @PERSOHUB_FRAMING_STX_ETX: "stx-etx", STX payload ETX, then an LRC byte
 *	if %PERSOHUB_A_PORT_LRC; the payload cannot hold STX or ETX
 * @PERSOHUB_FRAMING_STX_LEN: "stx-len", STX, 16-bit big-endian count,
 *	payload, LRC, ETX (payShield transparent async)
 * @PERSOHUB_FRAMING_LEN16: "len16", 16-bit big-endian count, payload
 * @PERSOHUB_FRAMING_GAP: "gap", a frame ends with a silence on the line
 * @__PERSOHUB_FRAMING_MAX: one past the last framing
 */
enum persohub_framing {
	PERSOHUB_FRAMING_HDLC,
	PERSOHUB_FRAMING_STX_ETX,
	PERSOHUB_FRAMING_STX_LEN,
	PERSOHUB_FRAMING_LEN16,
	PERSOHUB_FRAMING_GAP,
	__PERSOHUB_FRAMING_MAX
};

/**
 * enum persohub_parity - parity of a serial line
 * @PERSOHUB_PARITY_NONE: none
 * @PERSOHUB_PARITY_ODD: odd
 * @PERSOHUB_PARITY_EVEN: even
 * @PERSOHUB_PARITY_MARK: always 1
 * @PERSOHUB_PARITY_SPACE: always 0
 */
enum persohub_parity {
	PERSOHUB_PARITY_NONE,
	PERSOHUB_PARITY_ODD,
	PERSOHUB_PARITY_EVEN,
	PERSOHUB_PARITY_MARK,
	PERSOHUB_PARITY_SPACE,
};

/**
 * enum persohub_result - how a request ended
 * @PERSOHUB_RESULT_OK: the server's response was sent to the station
 * @PERSOHUB_RESULT_ERROR: the station got the error frame (no retry left,
 *	or no memory for the response)
 * @PERSOHUB_RESULT_REJECTED: the station had queue_depth requests
 *	outstanding; it got the error frame
 * @PERSOHUB_RESULT_DROPPED: the station went away (card removed, tty or
 *	remote station deleted)
 */
enum persohub_result {
	PERSOHUB_RESULT_OK,
	PERSOHUB_RESULT_ERROR,
	PERSOHUB_RESULT_REJECTED,
	PERSOHUB_RESULT_DROPPED,
};

/**
 * enum persohub_reason - why a server failed
 * @PERSOHUB_REASON_TIMEOUT: no response within its timeout (in
 *	%PERSOHUB_CMD_REQUEST_DONE: the request failed for that reason)
 * @PERSOHUB_REASON_ADMIN: taken out of service by an administrator
 * @PERSOHUB_REASON_GONE: its card or userspace server went away (in
 *	%PERSOHUB_CMD_REQUEST_DONE: the request's station did)
 */
enum persohub_reason {
	PERSOHUB_REASON_TIMEOUT,
	PERSOHUB_REASON_ADMIN,
	PERSOHUB_REASON_GONE,
};

/**
 * enum persohub_stat - per-port counters, in %PERSOHUB_A_STATS; the same
 * names as /sys/class/persohub/<port>/statistics/
 * @PERSOHUB_STAT_UNSPEC: not a counter
 * @PERSOHUB_STAT_RX_BYTES: bytes received
 * @PERSOHUB_STAT_TX_BYTES: bytes sent
 * @PERSOHUB_STAT_OVERRUNS: receive overruns (bytes lost by the UART)
 * @PERSOHUB_STAT_FRAMING_ERRORS: bytes received with a framing error
 * @PERSOHUB_STAT_PARITY_ERRORS: bytes received with a parity error
 * @PERSOHUB_STAT_BREAKS: line breaks received
 * @PERSOHUB_STAT_RX_FRAMES: frames received with a good check
 * @PERSOHUB_STAT_TX_FRAMES: frames sent
 * @PERSOHUB_STAT_FCS_ERRORS: frames dropped for a bad FCS
 * @PERSOHUB_STAT_FRAME_TOO_LONG: frames dropped for exceeding max_payload
 * @PERSOHUB_STAT_FRAME_TOO_SHORT: frames dropped for being too short (or empty requests)
 * @PERSOHUB_STAT_FRAME_ABORTS: frames aborted by their sender
 * @PERSOHUB_STAT_REQUESTS: station: request frames received; server: requests dispatched to it
 * @PERSOHUB_STAT_RESPONSES: station: responses sent to it; server: responses received from it
 * @PERSOHUB_STAT_ERRORS_SENT: error frames sent to a station
 * @PERSOHUB_STAT_TIMEOUTS: server: responses not received in time
 * @PERSOHUB_STAT_RETRIES: station: its requests dispatched again after a server failed
 * @PERSOHUB_STAT_QUEUE_FULL: station: requests beyond queue_depth
 * @PERSOHUB_STAT_UNEXPECTED_FRAMES: frames nobody asked for (late, duplicate, on an off port)
 * @PERSOHUB_STAT_DROPPED: requests, responses or frames dropped (station gone, no memory, a flooding station)
 * @PERSOHUB_STAT_BUSY_NS: server: nanoseconds spent serving requests
 * @PERSOHUB_STAT_LRC_ERRORS: frames dropped for a bad LRC (stx-etx, stx-len)
 * @PERSOHUB_STAT_LENGTH_ERRORS: frames dropped because their end was not
 *	where their count put it (stx-len)
 * @PERSOHUB_STAT_FRAME_TRUNCATED: frames cut short and dropped: by a new STX
 *	inside them, or by a silence of gap_chars in their middle
 * @PERSOHUB_STAT_FRAME_REFUSED: payloads this port's framing cannot carry
 *	(stx-etx: STX or ETX inside): the request they belong to failed with
 *	its station's error answer
 * @__PERSOHUB_STAT_MAX: one past the last counter
 * @PERSOHUB_STAT_MAX: the last counter
 */
enum persohub_stat {
	PERSOHUB_STAT_UNSPEC,
	PERSOHUB_STAT_RX_BYTES,
	PERSOHUB_STAT_TX_BYTES,
	PERSOHUB_STAT_OVERRUNS,
	PERSOHUB_STAT_FRAMING_ERRORS,
	PERSOHUB_STAT_PARITY_ERRORS,
	PERSOHUB_STAT_BREAKS,
	PERSOHUB_STAT_RX_FRAMES,
	PERSOHUB_STAT_TX_FRAMES,
	PERSOHUB_STAT_FCS_ERRORS,
	PERSOHUB_STAT_FRAME_TOO_LONG,
	PERSOHUB_STAT_FRAME_TOO_SHORT,
	PERSOHUB_STAT_FRAME_ABORTS,
	PERSOHUB_STAT_REQUESTS,
	PERSOHUB_STAT_RESPONSES,
	PERSOHUB_STAT_ERRORS_SENT,
	PERSOHUB_STAT_TIMEOUTS,
	PERSOHUB_STAT_RETRIES,
	PERSOHUB_STAT_QUEUE_FULL,
	PERSOHUB_STAT_UNEXPECTED_FRAMES,
	PERSOHUB_STAT_DROPPED,
	PERSOHUB_STAT_BUSY_NS,
	PERSOHUB_STAT_LRC_ERRORS,
	PERSOHUB_STAT_LENGTH_ERRORS,
	PERSOHUB_STAT_FRAME_TRUNCATED,
	PERSOHUB_STAT_FRAME_REFUSED,

	__PERSOHUB_STAT_MAX,
	PERSOHUB_STAT_MAX = __PERSOHUB_STAT_MAX - 1
};

/* Classes a request can be of, and station priorities. */
#define PERSOHUB_CLASS_MAX		63
#define PERSOHUB_PRIORITY_MAX		7
#define PERSOHUB_CLASSIFIER_RULES	16
#define PERSOHUB_CLASSIFIER_VALUE	8

/**
 * enum persohub_class_stat - a class's figures (%PERSOHUB_A_CLASS_STATS)
 * @PERSOHUB_CLASS_STAT_UNSPEC: unused
 * @PERSOHUB_CLASS_STAT_WAITING: requests of the class waiting now
 * @PERSOHUB_CLASS_STAT_DISPATCHED: dispatches of its requests
 * @PERSOHUB_CLASS_STAT_FAILED: its requests answered with the error frame
 * @PERSOHUB_CLASS_STAT_DONE: its requests ended, whatever the outcome
 * @PERSOHUB_CLASS_STAT_WAIT_NS: sum of its requests' waits, arrival to
 *	dispatch
 * @PERSOHUB_CLASS_STAT_ANSWERS: answers servers gave its requests (an
 *	explicit error answer included)
 * @PERSOHUB_CLASS_STAT_SERVICE_NS: sum of those answers' service times,
 *	dispatch to answer: the class's own service time, however its
 *	servers are shared
 * @__PERSOHUB_CLASS_STAT_MAX: one past the last
 * @PERSOHUB_CLASS_STAT_MAX: the last
 */
enum persohub_class_stat {
	PERSOHUB_CLASS_STAT_UNSPEC,
	PERSOHUB_CLASS_STAT_WAITING,
	PERSOHUB_CLASS_STAT_DISPATCHED,
	PERSOHUB_CLASS_STAT_FAILED,
	PERSOHUB_CLASS_STAT_DONE,
	PERSOHUB_CLASS_STAT_WAIT_NS,
	PERSOHUB_CLASS_STAT_ANSWERS,
	PERSOHUB_CLASS_STAT_SERVICE_NS,

	__PERSOHUB_CLASS_STAT_MAX,
	PERSOHUB_CLASS_STAT_MAX = __PERSOHUB_CLASS_STAT_MAX - 1
};

/**
 * struct persohub_class_rule - one rule of a classifier
 * @value: the bytes a request must hold at the classifier's offset (the
 *	first &persohub_classifier.len of them count)
 * @class_id: the class of a request that holds them
 * @reserved: zero
 */
struct persohub_class_rule {
	__u8 value[PERSOHUB_CLASSIFIER_VALUE];
	__u8 class_id;
	__u8 reserved[3];
};

/**
 * struct persohub_classifier - a station's requests classed by their bytes
 * @offset: where the bytes compared start in a request's payload
 * @len: how many, 1 to %PERSOHUB_CLASSIFIER_VALUE
 * @nrules: rules in use, 1 to %PERSOHUB_CLASSIFIER_RULES; the first that
 *	matches gives the class, and a request no rule matches (or too short
 *	to hold the bytes) keeps its station's class
 * @rules: the rules
 *
 * payShield's command code, two characters right after a 4-byte header:
 * offset 4, len 2, a rule per command code.
 */
struct persohub_classifier {
	__u16 offset;
	__u8 len;
	__u8 nrules;
	struct persohub_class_rule rules[PERSOHUB_CLASSIFIER_RULES];
};

/* Remote stations: requests in flight at once (queue depth). */
#define PERSOHUB_REMOTE_DEPTH_DEFAULT	64
#define PERSOHUB_REMOTE_DEPTH_MAX	256

/**
 * enum persohub_msg_op - what a message written to a server's or a
 * station's device says of the request it names
 * @PERSOHUB_MSG_ANSWER: the answer, &persohub_msg.len bytes (0: the error
 *	frame)
 * @PERSOHUB_MSG_GIVE_BACK: not answered: the request goes back to its
 *	place in the wait list (its arrival order), no retry counted, and
 *	the server is idle again. &persohub_msg.len 0
 * @PERSOHUB_MSG_FAILED: the server failed on it: a retry is counted (the
 *	request waits again, or fails when it has no retry left); the
 *	server stays in service, idle. &persohub_msg.len 0
 * @__PERSOHUB_MSG_OP_MAX: one past the last
 */
enum persohub_msg_op {
	PERSOHUB_MSG_ANSWER,
	PERSOHUB_MSG_GIVE_BACK,
	PERSOHUB_MSG_FAILED,
	__PERSOHUB_MSG_OP_MAX
};

/**
 * struct persohub_msg - header of a device message
 * @req_id: the request; on a remote station's device, the writer's tag
 * @server_id: the userspace server it was dispatched to; on a remote
 *	station's device (read), the server that answered, 0 if none did
 * @len: payload bytes following the header
 * @class_id: the request's class (read); ignored in a write but on a
 *	remote station's device, where it is the request's, 0 to
 *	%PERSOHUB_CLASS_MAX
 * @priority: the request's priority (read); ignored in a write but on a
 *	remote station's device, where it is the request's, 0 to
 *	%PERSOHUB_PRIORITY_MAX
 * @op: write: &enum persohub_msg_op (a remote station's device: 0); read: 0
 * @status: read on a remote station's device: 0 when the request was
 *	answered, else the positive errno it failed with (and @len is 0):
 *	%ETIMEDOUT its last server timed out with no retry left, %EIO its
 *	last server reported %PERSOHUB_MSG_FAILED with no retry left,
 *	%EREMOTEIO a server answered with the error frame (an empty answer),
 *	%ENOMEM no memory for its answer, %EILSEQ its server's framing
 *	cannot carry it. 0 everywhere else; ignored in a write
 *
 * Station and userspace server devices: read() returns one header and
 * the request's payload; the buffer must hold both (-EMSGSIZE otherwise,
 * and the message stays). write() takes one header with the same @req_id,
 * an @op, and for %PERSOHUB_MSG_ANSWER the response payload (@len bytes, 0
 * sends the error frame): -EINVAL for a wrong id, a wrong length, an
 * unknown op or a second answer, and nothing is done.
 *
 * Remote station devices: write() hands in one request: @req_id any tag
 * (-EEXIST while a request with that tag is in flight or not yet read
 * back), @class_id, @priority, @op 0, and @len payload bytes, 1 to the
 * station's max_payload (-EINVAL otherwise); -EAGAIN when queue_depth
 * requests are in flight or unread (a write never blocks). read() returns
 * one ended request, in the order they were written: its tag,
 * @server_id, @class_id, @priority, @status and the answer (@len bytes),
 * blocking unless O_NONBLOCK; -EMSGSIZE if the buffer is too small, and
 * it stays. poll(): POLLIN when an ended
 * request waits, POLLOUT when a write fits.
 */
struct persohub_msg {
	__u64 req_id;
	__u32 server_id;
	__u32 len;
	__u32 class_id;
	__u8 priority;
	__u8 op;
	__u16 status;
};

#endif /* _UAPI_LINUX_PERSOHUB_H */
