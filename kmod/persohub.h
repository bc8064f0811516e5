/* SPDX-License-Identifier: GPL-2.0 */
/*
 * persohub internal interfaces: ports, cards, requests and the hub.
 *
 * Locking, in this order (a holder of a later lock never takes an earlier
 * one):
 *
 * ph_hub.cfg_lock (mutex) serialises configuration changes.
 *
 * ph_hub.lock protects the requests (lists, states, answers), the
 * matching (waiting and idle lists, server states), the controller, and
 * the counters of requests and answers (PH_STAT_HUB below). It is held to
 * hand a complete frame over, to match, to queue a frame, and never to
 * allocate or encode: a frame is copied out and allocated in its port's
 * receive path, and encoded by the port that sends it, under the port's
 * own lock.
 *
 * ph_port.lock protects what one port's backend touches: its registers,
 * its receive state and the frames it completed (rxq), its transmit queue
 * and encoder, and its line counters (PH_STAT_LINE). The card interrupt,
 * the tty receive path and the port's timers take it alone; the hub takes
 * it inside ph_hub.lock to queue a frame or to change a setting the
 * receive path reads (role, framing, line, buffers). Queueing a frame
 * only starts its port's transmitter (a card's: one register write that
 * enables its transmit interrupt; a tty's: a work item); the port's
 * interrupt or work loads the bytes under the port's lock alone. Both
 * locks are held to read a consistent set of counters.
 *
 * Every lock is taken with interrupts disabled, but in the card interrupt
 * itself.
 */
#ifndef PERSOHUB_H
#define PERSOHUB_H

#include <linux/device.h>
#include <linux/hrtimer.h>
#include <linux/idr.h>
#include <linux/list.h>
#include <linux/mutex.h>
#include <linux/pci.h>
#include <linux/spinlock.h>
#include <linux/timer.h>
#include <linux/types.h>

#include <linux/persohub.h>

#include "compat.h"
#include "frame.h"
#include "framing.h"

#define PH_NAME_LEN		32
#define PH_UART_FIFO		16
#define PH_QUEUE_DEPTH_MAX	16
/* Rejected requests still answer in order; past this many we drop. */
#define PH_STATION_REJECT_MAX	4
#define PH_HIST_BUCKETS		40
#define PH_MAX_RETRIES		1000
/* A station's error answer: a short code, in hex in sysfs. */
#define PH_ERROR_FRAME_MAX	64
#define PH_GAP_CHARS_DEFAULT	500
#define PH_GAP_CHARS_MAX	10000
#define PH_CLASSES		(PERSOHUB_CLASS_MAX + 1)
#define PH_PRIORITIES		(PERSOHUB_PRIORITY_MAX + 1)
#define PH_MAX_WAIT_MS_MAX	3600000

enum ph_role {
	PH_ROLE_OFF = PERSOHUB_ROLE_OFF,
	PH_ROLE_STATION = PERSOHUB_ROLE_STATION,
	PH_ROLE_SERVER = PERSOHUB_ROLE_SERVER,
};

enum ph_state {
	PH_STATE_IDLE = PERSOHUB_STATE_IDLE,
	PH_STATE_BUSY = PERSOHUB_STATE_BUSY,
	PH_STATE_FAILED = PERSOHUB_STATE_FAILED,
};

/*
 * A port's counters. The line counters (rx/tx bytes and frames, line and
 * framing errors) are written under the port's lock, the others under
 * ph_hub.lock; a reader holds both.
 */
struct ph_port_stats {
	u64 rx_bytes;
	u64 tx_bytes;
	u64 overruns;
	u64 framing_errors;
	u64 parity_errors;
	u64 breaks;
	u64 rx_frames;
	u64 tx_frames;
	u64 fcs_errors;
	u64 frame_too_long;
	u64 frame_too_short;
	u64 frame_aborts;
	u64 requests;
	u64 responses;
	u64 errors_sent;
	u64 timeouts;
	u64 retries;
	u64 queue_full;
	u64 unexpected_frames;
	u64 dropped;
	u64 busy_ns;
	u64 lrc_errors;
	u64 length_errors;
	u64 frame_truncated;
	u64 frame_refused;
};

/* Name and place of each counter, indexed by enum persohub_stat. */
struct ph_stat_desc {
	const char *name;
	size_t offset;
};

extern const struct ph_stat_desc ph_stat_descs[__PERSOHUB_STAT_MAX];

static inline u64 ph_stat_get(const struct ph_port_stats *st, unsigned int i)
{
	return *(const u64 *)((const u8 *)st + ph_stat_descs[i].offset);
}

struct ph_line {
	u32 baud;
	u32 data_bits;
	u32 stop_bits;
	char parity;		/* 'n', 'o', 'e', 'm', 's' */
};

struct ph_card;
struct ph_port;
struct ph_request;
struct ph_station_dev;
struct ph_tty;
struct sk_buff;

/**
 * struct ph_port_ops - what a port's backend does for the hub
 * @name: the backend, as sysfs "backend" shows it ("uart", "tty", "user")
 * @check_line: can the port run with these line settings? 0 or why not
 * @set_line: apply port->line to the hardware; called with cfg_lock held
 *	and the hub lock not held: it may sleep
 * @start_tx: frames were queued on port->txq: send them. Port lock held,
 *	any context: it must not sleep
 * @fill: the netlink attributes saying which hardware the port is
 *
 * The hub sees a port only through these: it never touches a register or
 * a tty. A backend receives bytes in its own context and hands each to
 * ph_port_rx_byte() under the port's lock, then calls ph_port_deliver().
 */
struct ph_port_ops {
	const char *name;
	int (*check_line)(const struct ph_port *port,
			  const struct ph_line *line);
	void (*set_line)(struct ph_port *port);
	void (*start_tx)(struct ph_port *port);
	int (*fill)(struct sk_buff *skb, const struct ph_port *port);
};

extern const struct ph_port_ops ph_uart_ops;
extern const struct ph_port_ops ph_tty_ops;
extern const struct ph_port_ops ph_user_ops;

/**
 * struct ph_txbuf - a payload on its way to a port's line
 * @node: on the port's txq, or on its rxq after it was received
 * @payload: the bytes: @data, or a request's own
 * @len: how many
 * @owned: freed when sent or dropped; else a request's, which it outlives
 * @stx_etx: the payload holds STX or ETX: stx-etx cannot carry it
 * @seq: received on a server: the dispatch its line was answering then
 *	(ph_port.tx_seq)
 * @data: the payload of an owned buffer
 *
 * It holds the payload as received: the port that sends it encodes it in
 * its own framing when its turn comes (ph_port_tx_take()).
 */
struct ph_txbuf {
	struct list_head node;
	const u8 *payload;
	u16 len;
	bool owned;
	bool stx_etx;
	u32 seq;
	u8 data[];
};

struct ph_port {
	const struct ph_port_ops *ops;	/* its backend */
	spinlock_t lock;		/* see the top of this file */
	struct ph_card *card;		/* uart: its card */
	unsigned int index;		/* on its card */
	u32 id;				/* hub-wide, for netlink; from 1 */
	struct list_head hub_node;	/* ph_hub.ports */
	struct device *dev;
	void __iomem *regs;
	unsigned int regshift;
	bool dead;			/* card going away */
	bool user;			/* userspace: a server, or a remote station */
	bool remote;			/* user: a remote station (chardev.c) */
	bool overflow;			/* user server: only a DISPATCH feeds it */

	enum ph_role role;
	char name[PH_NAME_LEN];
	struct ph_line line;
	u8 ier;
	u8 lcr;
	bool tx_kick;			/* uart: no interrupt on enabling THRI */

	/* framing: what delimits this port's frames (framing.h) */
	u32 framing;			/* enum ph_framing */
	u32 lrc;			/* stx-etx: an LRC byte after ETX */
	u32 gap_chars;			/* silence that ends or resyncs a frame */
	u64 gap_ns;			/* gap_chars at the line's speed */
	u64 char_ns;			/* one character at the line's speed */
	u64 last_rx_ns;			/* last byte, while a gap may follow */
	struct hrtimer gap_timer;
	/* gap: the line stays silent until then between two frames sent */
	u64 tx_quiet_until;
	struct hrtimer tx_gap_timer;
	/* station: the payload sent in its framing when a request fails */
	u8 error_frame[PH_ERROR_FRAME_MAX];
	u16 error_len;

	/* receive */
	struct ph_rx rx;
	u8 *rxbuf;
	u32 max_payload;
	u64 rx_last_ns;			/* its last byte, any framing */
	struct list_head rxq;		/* frames for the hub, in order */
	bool rx_pending;		/* rxq or rx_nomem to hand over */
	u32 rx_nomem;			/* frames lost for want of memory */

	/* transmit */
	struct list_head txq;
	u32 tx_seq;			/* server: dispatches sent, so far */
	u8 *txenc;			/* the frame being sent, encoded */
	u32 txenc_len;
	u32 txenc_pos;

	/* station: its requests' class and priority (port lock, hub lock) */
	u32 klass;
	u32 priority;
	struct persohub_classifier classifier;	/* nrules 0: none */

	/* station: outstanding requests in arrival order */
	struct list_head reqs;
	unsigned int outstanding;	/* accepted, not yet answered */
	unsigned int backlog;		/* entries on reqs */
	u32 queue_depth;
	struct list_head user_reqs;	/* dispatched to userspace servers */
	/* remote station: ended requests, in order, until read (hub lock) */
	struct list_head done;
	unsigned int ndone;
	struct ph_station_dev *sdev;	/* its character device */

	/* server */
	u64 classes;			/* the classes it serves, bit N: N */
	bool enabled;			/* the administrator's: may take work */
	enum ph_state state;
	struct ph_request *cur;
	u32 cur_seq;			/* tx_seq of cur's dispatch */
	struct list_head idle_node;	/* ph_hub.idle, longest idle first */
	u64 idle_since;
	u64 busy_start;
	u32 timeout_ms;
	bool probing;			/* failed, a probe frame sent */
	u32 settle_ms;			/* quiet time after an answer */
	bool settling;			/* answered; waits settle_ms */
	unsigned long deadline;
	struct timer_list timer;

	struct ph_port_stats stats;
};

struct ph_card {
	struct pci_dev *pdev;
	const struct ph_board *board;
	void __iomem *base;
	unsigned int nports;
	struct ph_port ports[];
};

/**
 * struct ph_board - how to find the UARTs of one kind of card
 * @bar: PCI BAR holding the UART registers
 * @offset: offset of the first UART in that BAR
 * @stride: bytes between consecutive UARTs
 * @regshift: log2 of the spacing between registers of one UART
 * @nports: number of UARTs
 * @uartclk: UART input clock in Hz (16 x the highest baud rate)
 */
struct ph_board {
	unsigned int bar;
	unsigned int offset;
	unsigned int stride;
	unsigned int regshift;
	unsigned int nports;
	unsigned int uartclk;
};

enum ph_req_state {
	PH_REQ_WAITING,		/* on ph_hub.waiting */
	PH_REQ_ACTIVE,		/* on a server */
	PH_REQ_ANSWERED,	/* response (or error) ready, in station order */
};

struct ph_request {
	struct list_head station_node;	/* station->reqs */
	struct list_head wait_node;	/* ph_hub.waiting */
	struct list_head cwait_node;	/* ph_hub.cwait[priority][klass] */
	struct list_head user_node;	/* station->user_reqs */
	const void *holder;		/* file that read it from the device */
	u64 id;
	u64 rx_ns;
	struct ph_port *station;
	struct ph_port *server;		/* while active on it, else NULL */
	u32 server_id;			/* the last server it was sent to */
	enum ph_req_state state;
	u8 klass;			/* its class, from its station */
	u8 priority;			/* its station's priority */
	bool accepted;			/* counted in station->outstanding */
	unsigned int retries;
	bool timed_out;			/* its last server timed out */
	u64 seq;			/* station's requests counter at arrival */
	u64 dispatch_ns;		/* its last dispatch, 0: none */
	struct ph_txbuf *resp;		/* NULL once answered: error frame */
	struct ph_txbuf *errtb;		/* the error frame, ready to send */
	bool resp_lost;			/* answered, but no memory for it */
	u16 status;			/* why it failed (an errno), if it did */
	u64 tag;			/* remote station: the writer's id */
	u16 len;
	/* the payload, sent to each server in turn; last: its data[] */
	struct ph_txbuf txb;
};

/* A class of requests: its setting and its figures. Hub lock. */
struct ph_class {
	u32 max_wait_ms;		/* 0: a request of it never ages */
	u64 waiting;
	u64 dispatched;
	u64 failed;
	u64 done;
	u64 wait_ns;
	u64 answers;
	u64 service_ns;			/* of those answers */
	u64 wait_hist[PH_HIST_BUCKETS];	/* its waits, as dispatch_hist */
};

struct ph_hub {
	spinlock_t lock;		/* see the top of this file */
	struct mutex cfg_lock;		/* serialises configuration changes */
	struct list_head ports;
	struct list_head waiting;	/* requests in arrival order */
	/* the same, per priority and class, and which of those hold any */
	struct list_head cwait[PH_PRIORITIES][PH_CLASSES];
	u64 cwait_mask[PH_PRIORITIES];
	struct ph_class classes[PH_CLASSES];
	struct list_head idle;		/* idle servers, longest idle first */
	struct ida port_ida;
	u64 next_id;
	u64 dispatch_hist[PH_HIST_BUCKETS];
	u64 dispatch_sum_ns;		/* of what dispatch_hist counts */
	unsigned int nwaiting;
	/* the attached controller, if any */
	bool ctrl;
	bool ctrl_stalled;		/* grace expired: the kernel matches */
	u32 ctrl_portid;
	u64 ctrl_heard_ns;		/* its last command, ktime_get_ns() */
	struct timer_list grace_timer;
};

/* What ph_port_change() sets, and to what. */
#define PH_CHG_NAME		BIT(0)
#define PH_CHG_ROLE		BIT(1)
#define PH_CHG_STATE		BIT(2)
#define PH_CHG_LINE		BIT(3)
#define PH_CHG_MAX_PAYLOAD	BIT(4)
#define PH_CHG_TIMEOUT		BIT(5)
#define PH_CHG_QUEUE_DEPTH	BIT(6)
#define PH_CHG_SETTLE		BIT(7)
#define PH_CHG_FRAMING		BIT(8)
#define PH_CHG_LRC		BIT(9)
#define PH_CHG_GAP		BIT(10)
#define PH_CHG_ERROR_FRAME	BIT(11)
#define PH_CHG_ENABLED		BIT(12)
#define PH_CHG_CLASS		BIT(13)
#define PH_CHG_CLASSES		BIT(14)
#define PH_CHG_PRIORITY		BIT(15)
#define PH_CHG_CLASSIFIER	BIT(16)

/**
 * struct ph_port_change - settings applied to one port at once, or none
 * @set: which of them (PH_CHG_*)
 * @name: new name
 * @role: new role
 * @state: new server state (idle or failed)
 * @line: the whole new line
 * @max_payload: largest request accepted
 * @timeout_ms: server response timeout
 * @queue_depth: requests a station may have outstanding
 * @settle_ms: quiet time a server needs after an answer
 * @framing: how the port delimits its frames (enum ph_framing)
 * @lrc: stx-etx: an LRC byte follows ETX
 * @gap_chars: character times of silence that end (gap) or resync a frame
 * @error_frame: a station's error answer, @error_len bytes
 * @error_len: its length
 * @enabled: servers: may take requests (the administrator's state)
 * @klass: stations: the class of their requests
 * @classes: servers: the classes they serve
 * @priority: stations: their requests' priority
 * @classifier: stations: the classifier (@classifier.nrules 0: none)
 */
struct ph_port_change {
	u32 set;
	char name[PH_NAME_LEN];
	enum ph_role role;
	enum ph_state state;
	struct ph_line line;
	u32 max_payload;
	u32 timeout_ms;
	u32 queue_depth;
	u32 settle_ms;
	u32 framing;
	u32 lrc;
	u32 gap_chars;
	u8 error_frame[PH_ERROR_FRAME_MAX];
	u16 error_len;
	u32 enabled;
	u32 klass;
	u64 classes;
	u32 priority;
	struct persohub_classifier classifier;
};

/* What an event says; which fields count depends on the command. */
struct ph_event {
	u8 cmd;			/* enum persohub_cmd */
	u32 port_id;		/* station, or the server for server events */
	u32 server_id;
	u64 req_id;
	u32 len;
	u64 rx_ns;
	u32 result;		/* enum persohub_result */
	u64 latency_ns;
	u32 reason;		/* enum persohub_reason */
	u8 klass;		/* requests: class and priority */
	u8 priority;
	/* REQUEST_DONE */
	u32 retries;
	bool timed_out;
	u64 seq;
	u64 wait_ns;		/* 0: never dispatched */
};

extern struct ph_hub ph_hub;
extern unsigned int ph_max_retries;
extern unsigned int ph_ctrl_grace_ms;

/* card.c */
int ph_card_init(void);
void ph_card_exit(void);

/* uart.c */
bool ph_uart_present(void __iomem *regs, unsigned int regshift);
void ph_uart_probe_tx(struct ph_port *port);
void ph_uart_startup(struct ph_port *port);
void ph_uart_shutdown(struct ph_port *port);
u8 ph_uart_iir(struct ph_port *port);
void ph_uart_interrupt(struct ph_port *port, u8 iir);
unsigned int ph_uart_max_baud(const struct ph_port *port);

/* tty.c */
int ph_tty_init(void);
void ph_tty_exit(void);
int ph_tty_attach(const char *name);
int ph_tty_detach(const char *name);
void ph_tty_detach_all(void);
const char *ph_tty_name(const struct ph_port *port);
int ph_line_check_common(const struct ph_line *line, u32 max_baud);

/* hub.c */
struct ph_port *ph_port_find_id(u32 id);
struct ph_port *ph_port_find_name(const char *name);
bool ph_name_valid(const char *name);
bool ph_port_busy(struct ph_port *port);
struct ph_port *ph_user_server_add(const char *name, u32 timeout_ms,
				   u64 classes, bool overflow);
void ph_user_server_del(struct ph_port *srv);
struct ph_port *ph_remote_station_add(const char *name, u32 queue_depth,
				      u32 klass, u32 priority);
struct ph_request *ph_remote_alloc(u64 tag, u8 klass, u8 priority,
				   const u8 *data, u16 len);
int ph_remote_submit(struct ph_port *st, struct ph_request *req);
int ph_hub_attach(u32 portid);
int ph_hub_detach(u32 portid, bool force);
int ph_hub_dispatch(u32 portid, u64 req_id, u32 server_id);
int ph_hub_probe(u32 server_id, const u8 *data, u16 len);
int ph_hub_ctrl_alive(u32 portid);
struct ph_request *ph_user_find(struct ph_port *port, u64 req_id);
int ph_user_response(struct ph_port *port, const void *holder, u64 req_id,
		     u8 op, const u8 *data, u16 len);
void ph_user_release(struct ph_port *port, const void *holder);
void ph_hub_init(void);
void ph_hub_exit(void);
int ph_port_setup(struct ph_port *port, const char *name);
void ph_port_rx_byte(struct ph_port *port, u8 c);
void ph_port_deliver(struct ph_port *port);
unsigned int ph_port_tx_take(struct ph_port *port, u8 *buf,
			     unsigned int room);
void ph_port_teardown(struct ph_port *port);
void ph_hub_rx_frame(struct ph_port *port, struct ph_txbuf *tb);
void ph_hub_rx_lost(struct ph_port *port, u32 n);
void ph_hub_port_dead(struct ph_port *port);
int ph_port_change(struct ph_port *port, const struct ph_port_change *ch);
int ph_port_set_role(struct ph_port *port, enum ph_role role);
int ph_port_set_state(struct ph_port *port, enum ph_state state);
int ph_port_set_name(struct ph_port *port, const char *name);
int ph_port_set_max_payload(struct ph_port *port, unsigned int max);
int ph_port_change_locked(struct ph_port *port, struct ph_port_change *ch);
int ph_port_queue_frame(struct ph_port *port, struct ph_txbuf *tb);
const char *ph_role_name(enum ph_role role);
const char *ph_state_name(enum ph_state state);

/* hub.c, between the hub's files (port.c, ctrl.c, user.c); hub lock held */
void ph_hub_match(void);
bool ph_hub_can_match(void);
bool ph_classifier_valid(const struct persohub_classifier *cl);
int ph_class_set(u32 id, u32 max_wait_ms);
int ph_dispatch(struct ph_request *req, struct ph_port *srv);
void ph_server_make_idle(struct ph_port *srv, u64 now);
void ph_server_set_enabled(struct ph_port *srv, bool enabled);
void ph_server_end_busy(struct ph_port *srv, u64 now);
void ph_server_fail(struct ph_port *srv, u32 reason);
void ph_server_answer(struct ph_port *srv, struct ph_txbuf *resp, bool lost);
void ph_request_free(struct ph_request *req);
void ph_request_requeue(struct ph_request *req, bool count_retry);
void ph_station_request(struct ph_port *st, struct ph_request *req);
void ph_server_timeout(struct timer_list *t);

/* port.c */
struct ph_txbuf *ph_txbuf_copy(const u8 *payload, u16 len, gfp_t gfp);
struct ph_txbuf *ph_txbuf_error(const struct ph_port *st);
struct ph_txbuf *ph_txbuf_answer(const u8 *payload, u16 len);
void ph_txbuf_init_borrowed(struct ph_txbuf *tb, u16 len);
void ph_txbuf_free(struct ph_txbuf *tb);
bool ph_port_carries(const struct ph_port *port, const struct ph_txbuf *tb);
void ph_port_rx_reset(struct ph_port *port);
bool ph_port_tx_more(const struct ph_port *port);
bool ph_port_tx_ready(struct ph_port *port);
void ph_port_queue_txbuf(struct ph_port *port, struct ph_txbuf *tb);
u32 ph_port_queue_request(struct ph_port *port, struct ph_txbuf *tb);
void ph_port_unqueue(struct ph_port *port, struct ph_txbuf *tb);
void ph_txq_purge(struct ph_port *port);
void ph_rxq_purge(struct ph_port *port);
void ph_port_kill(struct ph_port *port);
void ph_port_unhook(struct ph_port *port);
void ph_port_release(struct ph_port *port);

/* ctrl.c */
void ph_ctrl_init(void);
void ph_ctrl_exit(void);
void ph_grace_arm(void);

/* netlink.c */
int ph_netlink_init(void);
void ph_netlink_exit(void);
void ph_nl_event(const struct ph_event *ev);
void ph_nl_port_changed(struct ph_port *port);

/* chardev.c */
int ph_chardev_init(void);
void ph_chardev_exit(void);
int ph_station_dev_create(struct ph_port *port, const char *name);
void ph_station_dev_destroy(struct ph_port *port);
void ph_station_dev_wake(struct ph_port *port);

/* sysfs.c */
extern const struct attribute_group *ph_stat_groups[];
int ph_sysfs_init(void);
void ph_sysfs_exit(void);
int ph_port_register(struct ph_port *port, struct device *parent,
		     const char *devname);
void ph_port_unregister(struct ph_port *port);

#endif /* PERSOHUB_H */
