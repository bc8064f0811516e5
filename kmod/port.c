// SPDX-License-Identifier: GPL-2.0
/*
 * Ports, whatever their backend: their place in the hub (setup, teardown,
 * lookup), their settings (one change applied at once, or none), and the
 * bytes between their backend and the hub: ph_port_rx_byte() frames what
 * a backend receives, ph_port_tx_take() gives it what to send.
 */

#include <linux/ctype.h>
#include <linux/jiffies.h>
#include <linux/ktime.h>
#include <linux/slab.h>

#include "persohub.h"

#define PH_STAT(_f) { #_f, offsetof(struct ph_port_stats, _f) }

const struct ph_stat_desc ph_stat_descs[__PERSOHUB_STAT_MAX] = {
	[PERSOHUB_STAT_RX_BYTES] = PH_STAT(rx_bytes),
	[PERSOHUB_STAT_TX_BYTES] = PH_STAT(tx_bytes),
	[PERSOHUB_STAT_OVERRUNS] = PH_STAT(overruns),
	[PERSOHUB_STAT_FRAMING_ERRORS] = PH_STAT(framing_errors),
	[PERSOHUB_STAT_PARITY_ERRORS] = PH_STAT(parity_errors),
	[PERSOHUB_STAT_BREAKS] = PH_STAT(breaks),
	[PERSOHUB_STAT_RX_FRAMES] = PH_STAT(rx_frames),
	[PERSOHUB_STAT_TX_FRAMES] = PH_STAT(tx_frames),
	[PERSOHUB_STAT_FCS_ERRORS] = PH_STAT(fcs_errors),
	[PERSOHUB_STAT_FRAME_TOO_LONG] = PH_STAT(frame_too_long),
	[PERSOHUB_STAT_FRAME_TOO_SHORT] = PH_STAT(frame_too_short),
	[PERSOHUB_STAT_FRAME_ABORTS] = PH_STAT(frame_aborts),
	[PERSOHUB_STAT_REQUESTS] = PH_STAT(requests),
	[PERSOHUB_STAT_RESPONSES] = PH_STAT(responses),
	[PERSOHUB_STAT_ERRORS_SENT] = PH_STAT(errors_sent),
	[PERSOHUB_STAT_TIMEOUTS] = PH_STAT(timeouts),
	[PERSOHUB_STAT_RETRIES] = PH_STAT(retries),
	[PERSOHUB_STAT_QUEUE_FULL] = PH_STAT(queue_full),
	[PERSOHUB_STAT_UNEXPECTED_FRAMES] = PH_STAT(unexpected_frames),
	[PERSOHUB_STAT_DROPPED] = PH_STAT(dropped),
	[PERSOHUB_STAT_BUSY_NS] = PH_STAT(busy_ns),
	[PERSOHUB_STAT_LRC_ERRORS] = PH_STAT(lrc_errors),
	[PERSOHUB_STAT_LENGTH_ERRORS] = PH_STAT(length_errors),
	[PERSOHUB_STAT_FRAME_TRUNCATED] = PH_STAT(frame_truncated),
	[PERSOHUB_STAT_FRAME_REFUSED] = PH_STAT(frame_refused),
};

static const char * const ph_role_names[] = {
	[PH_ROLE_OFF] = "off",
	[PH_ROLE_STATION] = "station",
	[PH_ROLE_SERVER] = "server",
};

static const char * const ph_state_names[] = {
	[PH_STATE_IDLE] = "idle",
	[PH_STATE_BUSY] = "busy",
	[PH_STATE_FAILED] = "failed",
};

const char *ph_role_name(enum ph_role role)
{
	return ph_role_names[role];
}

const char *ph_state_name(enum ph_state state)
{
	return ph_state_names[state];
}

/* Does @payload hold a byte stx-etx cannot carry? */
static bool ph_has_stx_etx(const u8 *payload, u16 len)
{
	return memchr(payload, PH_STX, len) || memchr(payload, PH_ETX, len);
}

/*
 * A payload to send, copied: GFP_ATOMIC, as it is made in a receive path.
 * NULL if there is no memory.
 */
struct ph_txbuf *ph_txbuf_copy(const u8 *payload, u16 len, gfp_t gfp)
{
	struct ph_txbuf *tb;

	tb = kmalloc(struct_size(tb, data, len), gfp);
	if (!tb)
		return NULL;
	INIT_LIST_HEAD(&tb->node);
	memcpy(tb->data, payload, len);
	tb->payload = tb->data;
	tb->len = len;
	tb->owned = true;
	tb->stx_etx = ph_has_stx_etx(payload, len);
	return tb;
}

/* @st's error answer; NULL if there is no memory. Either lock held. */
struct ph_txbuf *ph_txbuf_error(const struct ph_port *st)
{
	return ph_txbuf_copy(st->error_frame, st->error_len, GFP_ATOMIC);
}

/* A request's payload, ready to go to each server in turn. */
void ph_txbuf_init_borrowed(struct ph_txbuf *tb, u16 len)
{
	INIT_LIST_HEAD(&tb->node);
	tb->payload = tb->data;
	tb->len = len;
	tb->owned = false;
	tb->stx_etx = ph_has_stx_etx(tb->data, len);
}

void ph_txbuf_free(struct ph_txbuf *tb)
{
	if (tb && tb->owned)
		kfree_sensitive(tb);
}

/*
 * Can @port's framing carry @tb? A payload from another port's framing is
 * carried across unless it holds what stx-etx cannot. Either lock held.
 */
bool ph_port_carries(const struct ph_port *port, const struct ph_txbuf *tb)
{
	return port->framing != PH_FRAMING_STX_ETX || !tb->stx_etx;
}

/*
 * Send @tb on @port: an owned buffer is the port's from now on, a
 * request's stays the request's (ph_port_unqueue()). Hub lock held, the
 * port's not.
 */
void ph_port_queue_txbuf(struct ph_port *port, struct ph_txbuf *tb)
{
	unsigned long flags;

	spin_lock_irqsave(&port->lock, flags);
	if (port->dead || port->user) {
		spin_unlock_irqrestore(&port->lock, flags);
		ph_txbuf_free(tb);
		return;
	}
	list_add_tail(&tb->node, &port->txq);
	port->ops->start_tx(port);
	spin_unlock_irqrestore(&port->lock, flags);
}

/*
 * Send @tb, a request's, on the server @port: a new dispatch, whose number
 * every frame the port completes from now on carries, so that the hub
 * takes none completed before as its answer. Hub lock held, the port's
 * not. Returns that number.
 */
u32 ph_port_queue_request(struct ph_port *port, struct ph_txbuf *tb)
{
	unsigned long flags;
	u32 seq;

	spin_lock_irqsave(&port->lock, flags);
	seq = ++port->tx_seq;
	if (!port->dead) {
		list_add_tail(&tb->node, &port->txq);
		port->ops->start_tx(port);
	}
	spin_unlock_irqrestore(&port->lock, flags);
	return seq;
}

/*
 * @tb (a request's) is not to be sent by @port any more, if it was still
 * waiting its turn. Hub lock held, the port's not.
 */
void ph_port_unqueue(struct ph_port *port, struct ph_txbuf *tb)
{
	unsigned long flags;

	spin_lock_irqsave(&port->lock, flags);
	list_del_init(&tb->node);
	spin_unlock_irqrestore(&port->lock, flags);
}

/*
 * In gap, a frame ends where the line goes silent: two frames sent back to
 * back would be one. A frame handed to the backend holds the next one back
 * until the line has been silent twice gap_ns after it, counted from when
 * its last byte can have left (the bytes taken now and a FIFO's worth
 * before them): gap_chars is where the peer ends a frame, and a silence of
 * exactly that could come out shorter on its side (a USB adapter's
 * bursts, the peer's own clock). Port lock held.
 */
static bool ph_port_tx_held(struct ph_port *port)
{
	u64 now;

	if (port->framing != PH_FRAMING_GAP || !port->tx_quiet_until)
		return false;
	now = ktime_get_ns();
	if (now >= port->tx_quiet_until) {
		port->tx_quiet_until = 0;
		return false;
	}
	if (!hrtimer_active(&port->tx_gap_timer))
		hrtimer_start(&port->tx_gap_timer,
			      ns_to_ktime(port->tx_quiet_until - now),
			      HRTIMER_MODE_REL_SOFT);
	return true;
}

/* The line of a gap port has been silent long enough: send what waits. */
static enum hrtimer_restart ph_port_tx_gap_expired(struct hrtimer *t)
{
	struct ph_port *port = container_of(t, struct ph_port, tx_gap_timer);
	unsigned long flags;

	spin_lock_irqsave(&port->lock, flags);
	if (!port->dead && ph_port_tx_more(port))
		port->ops->start_tx(port);
	spin_unlock_irqrestore(&port->lock, flags);
	return HRTIMER_NORESTART;
}

/* Is there something left for @port to send? Port lock held. */
bool ph_port_tx_more(const struct ph_port *port)
{
	return port->txenc_pos < port->txenc_len || !list_empty(&port->txq);
}

/* Is there something @port may send now? Port lock held. */
bool ph_port_tx_ready(struct ph_port *port)
{
	return ph_port_tx_more(port) && !ph_port_tx_held(port);
}

/*
 * Encode the next queued frame into the port's transmit buffer, in the
 * port's framing. false if nothing is queued. Port lock held.
 */
static bool ph_port_tx_next(struct ph_port *port)
{
	struct ph_txbuf *tb;
	int n;

	memzero_explicit(port->txenc, port->txenc_len);
	port->txenc_len = 0;
	port->txenc_pos = 0;
	while ((tb = list_first_entry_or_null(&port->txq, struct ph_txbuf,
					      node))) {
		list_del_init(&tb->node);
		n = ph_framing_encode(port->framing, port->lrc, port->txenc,
				      PH_FRAMING_ENCODED_MAX(PH_PAYLOAD_MAX),
				      tb->payload, tb->len);
		ph_txbuf_free(tb);
		if (n > 0) {
			port->txenc_len = n;
			return true;
		}
		/* Checked when queued: an empty payload in gap, nothing. */
		if (n == 0)
			port->stats.tx_frames++;
	}
	return false;
}

/*
 * Move up to @room bytes of the frames queued on @port into @buf, for its
 * backend to send, each encoded when its turn comes: in gap, one frame at
 * a time, with the gap's silence after it. Port lock held. Returns the
 * number of bytes.
 */
unsigned int ph_port_tx_take(struct ph_port *port, u8 *buf, unsigned int room)
{
	unsigned int n = 0, k;

	lockdep_assert_held(&port->lock);
	if (ph_port_tx_held(port))
		return 0;
	while (n < room) {
		if (port->txenc_pos == port->txenc_len &&
		    !ph_port_tx_next(port))
			break;
		k = min(room - n, port->txenc_len - port->txenc_pos);
		memcpy(buf + n, port->txenc + port->txenc_pos, k);
		port->txenc_pos += k;
		n += k;
		if (port->txenc_pos == port->txenc_len) {
			port->stats.tx_frames++;
			if (port->framing == PH_FRAMING_GAP) {
				port->tx_quiet_until = ktime_get_ns() +
					(n + PH_UART_FIFO) * port->char_ns +
					2 * port->gap_ns;
				break;
			}
		}
	}
	port->stats.tx_bytes += n;
	return n;
}

/*
 * The answer a server port received, copied for its station. Not inlined:
 * the tests make it fail (a kretprobe, selftests/kfail) to see the error
 * frame take the answer's place. NULL or an ERR_PTR if there is no memory.
 */
noinline struct ph_txbuf *ph_txbuf_answer(const u8 *payload, u16 len)
{
	return ph_txbuf_copy(payload, len, GFP_ATOMIC);
}

/* Is @cl a classifier a station can use? */
bool ph_classifier_valid(const struct persohub_classifier *cl)
{
	unsigned int i;

	if (cl->len < 1 || cl->len > PERSOHUB_CLASSIFIER_VALUE ||
	    cl->nrules < 1 || cl->nrules > PERSOHUB_CLASSIFIER_RULES ||
	    cl->offset + cl->len > PH_PAYLOAD_MAX)
		return false;
	for (i = 0; i < cl->nrules; i++)
		if (cl->rules[i].class_id > PERSOHUB_CLASS_MAX ||
		    memchr_inv(cl->rules[i].reserved, 0,
			       sizeof(cl->rules[i].reserved)))
			return false;
	return true;
}

/*
 * The class of a request @st received: the first classifier rule its
 * bytes match, else the station's own. Port lock held.
 */
static u8 ph_port_classify(const struct ph_port *st, const u8 *data, u16 len)
{
	const struct persohub_classifier *cl = &st->classifier;
	unsigned int i;

	if (!cl->nrules || cl->offset + cl->len > len)
		return st->klass;
	for (i = 0; i < cl->nrules; i++)
		if (!memcmp(data + cl->offset, cl->rules[i].value, cl->len))
			return cl->rules[i].class_id;
	return st->klass;
}

/*
 * A complete frame: copied out of the receive buffer, as a request on a
 * station (with its error answer made ready), as a bare payload on any
 * other port, and queued for the hub (ph_port_deliver()). Port lock held.
 */
static void ph_port_rx_frame(struct ph_port *port, const u8 *data, u16 len)
{
	struct ph_request *req;
	struct ph_txbuf *tb;

	port->stats.rx_frames++;
	if (port->role == PH_ROLE_STATION) {
		if (!len) {
			/* An empty frame is no request. */
			port->stats.frame_too_short++;
			return;
		}
		req = kzalloc(struct_size(req, txb.data, len), GFP_ATOMIC);
		if (req)
			req->errtb = ph_txbuf_error(port);
		if (!req || !req->errtb) {
			kfree(req);
			port->rx_nomem++;
			port->rx_pending = true;
			return;
		}
		memcpy(req->txb.data, data, len);
		req->len = len;
		req->klass = ph_port_classify(port, data, len);
		req->priority = port->priority;
		ph_txbuf_init_borrowed(&req->txb, len);
		tb = &req->txb;
	} else {
		tb = ph_txbuf_answer(data, len);
		if (IS_ERR_OR_NULL(tb)) {
			port->rx_nomem++;
			port->rx_pending = true;
			return;
		}
		tb->seq = port->tx_seq;
	}
	list_add_tail(&tb->node, &port->rxq);
	port->rx_pending = true;
}

/* What the receive state said of a byte or of a silence. Port lock held. */
static void ph_port_rx_event(struct ph_port *port, int ev)
{
	switch (ev) {
	case PH_RX_NONE:
		break;
	case PH_RX_FRAME:
		ph_port_rx_frame(port, port->rx.buf,
				 ph_rx_payload_len(&port->rx));
		ph_rx_release(&port->rx);
		break;
	case PH_RX_BAD_FCS:
		port->stats.fcs_errors++;
		break;
	case PH_RX_TOO_SHORT:
		port->stats.frame_too_short++;
		break;
	case PH_RX_TOO_LONG:
		port->stats.frame_too_long++;
		break;
	case PH_RX_ABORT:
		port->stats.frame_aborts++;
		break;
	case PH_RX_BAD_LRC:
		port->stats.lrc_errors++;
		break;
	case PH_RX_BAD_LEN:
		port->stats.length_errors++;
		break;
	case PH_RX_TRUNCATED:
		port->stats.frame_truncated++;
		break;
	}
}

/*
 * Hand what @port received over to the hub, in the order it came. Its
 * backend calls this after dropping the port's lock, with no lock held.
 */
void ph_port_deliver(struct ph_port *port)
{
	struct ph_txbuf *tb, *tmp;
	unsigned long flags;
	LIST_HEAD(frames);
	u32 nomem;

	if (!READ_ONCE(port->rx_pending))
		return;
	spin_lock_irqsave(&ph_hub.lock, flags);
	spin_lock(&port->lock);
	list_splice_init(&port->rxq, &frames);
	nomem = port->rx_nomem;
	port->rx_nomem = 0;
	port->rx_pending = false;
	spin_unlock(&port->lock);
	if (nomem)
		ph_hub_rx_lost(port, nomem);
	list_for_each_entry_safe(tb, tmp, &frames, node) {
		list_del_init(&tb->node);
		ph_hub_rx_frame(port, tb);
	}
	spin_unlock_irqrestore(&ph_hub.lock, flags);
}

/* Frames received and not handed over: they go with the port. Port lock. */
static void ph_rxq_purge_locked(struct ph_port *port)
{
	struct ph_txbuf *tb, *tmp;

	list_for_each_entry_safe(tb, tmp, &port->rxq, node) {
		list_del_init(&tb->node);
		if (tb->owned)
			ph_txbuf_free(tb);
		else
			ph_request_free(container_of(tb, struct ph_request,
						     txb));
	}
	port->rx_nomem = 0;
	port->rx_pending = false;
}

/*
 * The line of @port has been silent for gap_chars character times: the
 * end of a frame in gap, a frame cut short (and the receiver back in
 * step) in the other framings but hdlc. The timer is armed by the first
 * byte after a silence and moves on to the last byte's time plus the gap
 * when it fires early, so a byte costs no timer call.
 */
static enum hrtimer_restart ph_port_gap_expired(struct hrtimer *t)
{
	struct ph_port *port = container_of(t, struct ph_port, gap_timer);
	enum hrtimer_restart ret = HRTIMER_NORESTART;
	unsigned long flags;
	u64 now, end;

	spin_lock_irqsave(&port->lock, flags);
	if (!port->last_rx_ns || port->dead)
		goto out;
	now = ktime_get_ns();
	end = port->last_rx_ns + port->gap_ns;
	if (now < end) {
		hrtimer_forward_now(t, ns_to_ktime(end - now));
		ret = HRTIMER_RESTART;
		goto out;
	}
	port->last_rx_ns = 0;
	ph_port_rx_event(port, ph_rx_gap(&port->rx));
out:
	spin_unlock_irqrestore(&port->lock, flags);
	ph_port_deliver(port);
	return ret;
}

/*
 * One byte received on @port, from its backend's receive path (the card's
 * interrupt, the tty's receive work). Port lock held; the backend calls
 * ph_port_deliver() once it has dropped it.
 */
void ph_port_rx_byte(struct ph_port *port, u8 c)
{
	u64 now = ktime_get_ns();

	lockdep_assert_held(&port->lock);
	port->stats.rx_bytes++;
	port->rx_last_ns = now;
	if (port->framing != PH_FRAMING_HDLC) {
		/* A silence the timer has not seen end yet. */
		if (port->last_rx_ns && now - port->last_rx_ns >= port->gap_ns)
			ph_port_rx_event(port, ph_rx_gap(&port->rx));
		if (!port->last_rx_ns)
			hrtimer_start(&port->gap_timer, ns_to_ktime(port->gap_ns),
				      HRTIMER_MODE_REL_SOFT);
		port->last_rx_ns = now;
	}
	ph_port_rx_event(port, ph_rx_feed(&port->rx, c));
}

/* The line lost bytes (a break, an overrun): drop the frame in progress. */
void ph_port_rx_reset(struct ph_port *port)
{
	ph_rx_reset(&port->rx);
}

/* gap_chars character times at the line's speed, start and stop included. */
static u64 ph_gap_ns(u32 gap_chars, const struct ph_line *line)
{
	u32 bits = 1 + line->data_bits + (line->parity != 'n') +
		   line->stop_bits;

	return div_u64((u64)gap_chars * bits * NSEC_PER_SEC, line->baud);
}

/* Line settings any backend can check: 0, or why they cannot be. */
int ph_line_check_common(const struct ph_line *line, u32 max_baud)
{
	if (line->baud < 50 || line->baud > max_baud)
		return -ERANGE;
	if (line->data_bits < 5 || line->data_bits > 8)
		return -EINVAL;
	if (line->stop_bits != 1 && line->stop_bits != 2)
		return -EINVAL;
	if (!line->parity || !strchr("noems", line->parity))
		return -EINVAL;
	return 0;
}

/*
 * Queue the frame @tb (owned) for transmission on @port. Hub lock held.
 * Returns 0, -ENODEV, or -EILSEQ: its framing cannot carry @tb (counted
 * as frame_refused). @tb is the port's, or freed, whatever the outcome.
 */
int ph_port_queue_frame(struct ph_port *port, struct ph_txbuf *tb)
{
	if (port->dead || port->user) {
		ph_txbuf_free(tb);
		return -ENODEV;
	}
	if (!ph_port_carries(port, tb)) {
		port->stats.frame_refused++;
		ph_txbuf_free(tb);
		return -EILSEQ;
	}
	ph_port_queue_txbuf(port, tb);
	return 0;
}

/* Drop what @port has to send, the frame on the line included. Port lock. */
static void ph_txq_purge_locked(struct ph_port *port)
{
	struct ph_txbuf *tb, *tmp;

	list_for_each_entry_safe(tb, tmp, &port->txq, node) {
		list_del_init(&tb->node);
		ph_txbuf_free(tb);
	}
	memzero_explicit(port->txenc, port->txenc_len);
	port->txenc_len = 0;
	port->txenc_pos = 0;
}

/* The same, with the hub lock held and the port's not. */
void ph_txq_purge(struct ph_port *port)
{
	unsigned long flags;

	spin_lock_irqsave(&port->lock, flags);
	ph_txq_purge_locked(port);
	spin_unlock_irqrestore(&port->lock, flags);
}

/*
 * @port is going away: nothing more is sent or handed over, and what it
 * held is dropped. Hub lock held, the port's not.
 */
void ph_port_kill(struct ph_port *port)
{
	unsigned long flags;

	spin_lock_irqsave(&port->lock, flags);
	port->dead = true;
	ph_txq_purge_locked(port);
	ph_rxq_purge_locked(port);
	spin_unlock_irqrestore(&port->lock, flags);
}

/* The same, with the hub lock held and the port's not. */
void ph_rxq_purge(struct ph_port *port)
{
	unsigned long flags;

	spin_lock_irqsave(&port->lock, flags);
	ph_rxq_purge_locked(port);
	spin_unlock_irqrestore(&port->lock, flags);
}

/* Has @port work in hand? Hub lock held. */
bool ph_port_busy(struct ph_port *port)
{
	unsigned long flags;
	bool sending;

	spin_lock_irqsave(&port->lock, flags);
	sending = ph_port_tx_more(port);
	spin_unlock_irqrestore(&port->lock, flags);
	if (sending)
		return true;
	switch (port->role) {
	case PH_ROLE_STATION:
		return port->backlog != 0;
	case PH_ROLE_SERVER:
		return port->state == PH_STATE_BUSY;
	default:
		return false;
	}
}

/* The port with id @id, or NULL. Caller holds ph_hub.lock. */
struct ph_port *ph_port_find_id(u32 id)
{
	struct ph_port *port;

	lockdep_assert_held(&ph_hub.lock);
	list_for_each_entry(port, &ph_hub.ports, hub_node)
		if (port->id == id)
			return port;
	return NULL;
}

/* The port named @name, or NULL. Caller holds ph_hub.lock. */
struct ph_port *ph_port_find_name(const char *name)
{
	struct ph_port *port;

	lockdep_assert_held(&ph_hub.lock);
	list_for_each_entry(port, &ph_hub.ports, hub_node)
		if (!strcmp(port->name, name))
			return port;
	return NULL;
}

bool ph_name_valid(const char *name)
{
	size_t n = strnlen(name, PH_NAME_LEN);

	if (!n || n >= PH_NAME_LEN || name[0] == '.')
		return false;
	for (; *name; name++)
		if (!isalnum(*name) && !strchr("._:-", *name))
			return false;
	return true;
}

/* Can @port take @ch now? Hub lock held; 0 or why not. */
static int ph_port_change_ok(struct ph_port *port,
			     const struct ph_port_change *ch)
{
	enum ph_role role = ch->set & PH_CHG_ROLE ? ch->role : port->role;
	struct ph_port *other;

	if (port->dead)
		return -ENODEV;
	if ((ch->set & PH_CHG_ROLE) && ch->role != port->role) {
		if (port->user)
			return -EOPNOTSUPP;
		if (ph_port_busy(port))
			return -EBUSY;
	}
	if (ch->set & PH_CHG_STATE) {
		if (role != PH_ROLE_SERVER)
			return -EOPNOTSUPP;
		if (ch->state == PH_STATE_BUSY)
			return -EINVAL;
		if (port->role == PH_ROLE_SERVER && port->state == PH_STATE_BUSY &&
		    ch->state != PH_STATE_BUSY)
			return -EBUSY;
	}
	if (ch->set & PH_CHG_NAME) {
		other = ph_port_find_name(ch->name);
		if (other && other != port)
			return -EEXIST;
		/* A device node is named after its station: rename when off. */
		if (other != port && port->role == PH_ROLE_STATION &&
		    role == PH_ROLE_STATION)
			return -EBUSY;
		/* and after its userspace server, for good */
		if (other != port && port->user)
			return -EOPNOTSUPP;
	}
	if (ch->set & (PH_CHG_FRAMING | PH_CHG_LRC | PH_CHG_GAP |
		       PH_CHG_ERROR_FRAME)) {
		/* As a role: a port changes how it frames only when idle. */
		if (port->user)
			return -EOPNOTSUPP;
		if (ph_port_busy(port))
			return -EBUSY;
	}
	if (ch->set & PH_CHG_LINE)
		return port->ops->check_line(port, &ch->line);
	return 0;
}

/*
 * The framing settings of @ch, each checked, and the error answer checked
 * against the framing it will be sent in. Caller holds cfg_lock, under
 * which alone these settings change.
 */
static int ph_port_framing_ok(const struct ph_port *port,
			      const struct ph_port_change *ch)
{
	u8 out[PH_FRAMING_ENCODED_MAX(PH_ERROR_FRAME_MAX)];
	u32 framing = ch->set & PH_CHG_FRAMING ? ch->framing : port->framing;
	u32 lrc = ch->set & PH_CHG_LRC ? ch->lrc : port->lrc;
	const u8 *err = port->error_frame;
	u16 err_len = port->error_len;
	int n;

	if (framing >= __PH_FRAMING_MAX || lrc > 1)
		return -EINVAL;
	if ((ch->set & PH_CHG_GAP) &&
	    (ch->gap_chars < 1 || ch->gap_chars > PH_GAP_CHARS_MAX))
		return -ERANGE;
	if (ch->set & PH_CHG_ERROR_FRAME) {
		if (ch->error_len > PH_ERROR_FRAME_MAX)
			return -EMSGSIZE;
		err = ch->error_frame;
		err_len = ch->error_len;
	}
	n = ph_framing_encode(framing, lrc, out, sizeof(out), err, err_len);
	memzero_explicit(out, sizeof(out));
	return n < 0 ? n : 0;
}

/*
 * Apply every setting of @ch to @port at once, or none. Caller holds
 * cfg_lock, under which every configuration change is made, so that what
 * was read and checked before stays true; only traffic moves meanwhile,
 * and it is checked again under the hub lock, with the change.
 */
int ph_port_change(struct ph_port *port, const struct ph_port_change *ch)
{
	enum ph_role old_role;
	bool leaves_station, new_station;
	u8 *buf = NULL, *old_buf = NULL;
	int ret;

	lockdep_assert_held(&ph_hub.cfg_lock);
	if ((ch->set & PH_CHG_NAME) && !ph_name_valid(ch->name))
		return -EINVAL;
	if ((ch->set & PH_CHG_MAX_PAYLOAD) &&
	    (ch->max_payload < 1 || ch->max_payload > PH_PAYLOAD_MAX))
		return -ERANGE;
	if ((ch->set & PH_CHG_ENABLED) && ch->enabled > 1)
		return -ERANGE;
	if (((ch->set & PH_CHG_CLASS) && ch->klass > PERSOHUB_CLASS_MAX) ||
	    ((ch->set & PH_CHG_CLASSES) && !ch->classes) ||
	    ((ch->set & PH_CHG_PRIORITY) &&
	     ch->priority > PERSOHUB_PRIORITY_MAX) ||
	    ((ch->set & PH_CHG_CLASSIFIER) && ch->classifier.nrules &&
	     !ph_classifier_valid(&ch->classifier)))
		return -ERANGE;
	if (ch->set & (PH_CHG_FRAMING | PH_CHG_LRC | PH_CHG_GAP |
		       PH_CHG_ERROR_FRAME)) {
		ret = ph_port_framing_ok(port, ch);
		if (ret)
			return ret;
	}
	old_role = READ_ONCE(port->role);
	new_station = (ch->set & PH_CHG_ROLE) && ch->role == PH_ROLE_STATION &&
		      old_role != PH_ROLE_STATION;
	leaves_station = (ch->set & PH_CHG_ROLE) &&
			 ch->role != PH_ROLE_STATION &&
			 old_role == PH_ROLE_STATION;

	/* What may sleep or fail for want of memory comes first. */
	if (ch->set & PH_CHG_MAX_PAYLOAD) {
		buf = kzalloc(PH_RX_BUF(ch->max_payload), GFP_KERNEL);
		if (!buf)
			return -ENOMEM;
	}
	if (new_station) {
		spin_lock_irq(&ph_hub.lock);
		ret = ph_port_change_ok(port, ch);
		spin_unlock_irq(&ph_hub.lock);
		if (!ret)
			ret = ph_station_dev_create(port, ch->set & PH_CHG_NAME ?
						    ch->name : port->name);
		if (ret)
			goto err_free;
	}

	spin_lock_irq(&ph_hub.lock);
	ret = ph_port_change_ok(port, ch);
	if (ret) {
		spin_unlock_irq(&ph_hub.lock);
		if (new_station)
			ph_station_dev_destroy(port);
		goto err_free;
	}
	if (ch->set & PH_CHG_NAME)
		strscpy(port->name, ch->name, sizeof(port->name));
	/* What the receive and transmit paths read: under the port's lock. */
	spin_lock(&port->lock);
	if (ch->set & PH_CHG_LINE)
		port->line = ch->line;
	if (ch->set & PH_CHG_FRAMING)
		port->framing = ch->framing;
	if (ch->set & PH_CHG_LRC)
		port->lrc = ch->lrc;
	if (ch->set & PH_CHG_GAP)
		port->gap_chars = ch->gap_chars;
	if (ch->set & PH_CHG_ERROR_FRAME) {
		memcpy(port->error_frame, ch->error_frame, ch->error_len);
		memzero_explicit(port->error_frame + ch->error_len,
				 PH_ERROR_FRAME_MAX - ch->error_len);
		port->error_len = ch->error_len;
	}
	if (ch->set & (PH_CHG_LINE | PH_CHG_GAP)) {
		port->gap_ns = ph_gap_ns(port->gap_chars, &port->line);
		port->char_ns = ph_gap_ns(1, &port->line);
	}
	if (ch->set & PH_CHG_FRAMING)
		port->tx_quiet_until = 0;
	if (ch->set & PH_CHG_MAX_PAYLOAD) {
		old_buf = port->rxbuf;
		port->rxbuf = buf;
		port->max_payload = ch->max_payload;
	}
	if (ch->set & (PH_CHG_MAX_PAYLOAD | PH_CHG_FRAMING | PH_CHG_LRC)) {
		ph_rx_reset(&port->rx);
		ph_rx_init(&port->rx, port->framing, port->lrc, port->rxbuf,
			   port->max_payload);
		port->last_rx_ns = 0;
	}
	if ((ch->set & PH_CHG_ROLE) && ch->role != old_role) {
		ph_rx_reset(&port->rx);
		port->role = ch->role;
	}
	/* A station's: they apply to the requests it receives next. */
	if (ch->set & PH_CHG_CLASS)
		port->klass = ch->klass;
	if (ch->set & PH_CHG_PRIORITY)
		port->priority = ch->priority;
	if (ch->set & PH_CHG_CLASSIFIER)
		port->classifier = ch->classifier;
	spin_unlock(&port->lock);
	if (ch->set & PH_CHG_CLASSES)
		port->classes = ch->classes;
	if (ch->set & PH_CHG_TIMEOUT)
		port->timeout_ms = ch->timeout_ms;
	if (ch->set & PH_CHG_QUEUE_DEPTH)
		port->queue_depth = ch->queue_depth;
	if (ch->set & PH_CHG_SETTLE)
		port->settle_ms = ch->settle_ms;
	if ((ch->set & PH_CHG_ROLE) && ch->role != old_role) {
		if (old_role == PH_ROLE_SERVER)
			list_del_init(&port->idle_node);
		port->state = PH_STATE_IDLE;
		port->cur = NULL;
		/* A new server starts idle unless it is set failed as well. */
		if (ch->role == PH_ROLE_SERVER &&
		    !((ch->set & PH_CHG_STATE) && ch->state == PH_STATE_FAILED))
			ph_server_make_idle(port, ktime_get_ns());
		else if (ch->role == PH_ROLE_SERVER)
			ph_server_fail(port, PERSOHUB_REASON_ADMIN);
	} else if ((ch->set & PH_CHG_STATE) && ch->state != port->state) {
		if (ch->state == PH_STATE_IDLE)
			ph_server_make_idle(port, ktime_get_ns());
		else
			ph_server_fail(port, PERSOHUB_REASON_ADMIN);
	}
	if (ch->set & PH_CHG_ENABLED)
		ph_server_set_enabled(port, ch->enabled);
	ph_nl_port_changed(port);
	ph_hub_match();
	spin_unlock_irq(&ph_hub.lock);

	/* The hardware last: a tty's line settings sleep. */
	if ((ch->set & PH_CHG_LINE) && port->ops->set_line)
		port->ops->set_line(port);
	if (leaves_station)
		ph_station_dev_destroy(port);
	kfree_sensitive(old_buf);
	return 0;

err_free:
	kfree(buf);
	return ret;
}

/* One change on its own, as sysfs makes them. */
int ph_port_change_locked(struct ph_port *port, struct ph_port_change *ch)
{
	int ret;

	mutex_lock(&ph_hub.cfg_lock);
	ret = ph_port_change(port, ch);
	mutex_unlock(&ph_hub.cfg_lock);
	return ret;
}

int ph_port_set_role(struct ph_port *port, enum ph_role role)
{
	struct ph_port_change ch = { .set = PH_CHG_ROLE, .role = role };

	return ph_port_change_locked(port, &ch);
}

int ph_port_set_state(struct ph_port *port, enum ph_state state)
{
	struct ph_port_change ch = { .set = PH_CHG_STATE, .state = state };

	return ph_port_change_locked(port, &ch);
}

int ph_port_set_name(struct ph_port *port, const char *name)
{
	struct ph_port_change ch = { .set = PH_CHG_NAME };

	if (strscpy(ch.name, name, sizeof(ch.name)) < 0)
		return -EINVAL;
	return ph_port_change_locked(port, &ch);
}

int ph_port_set_max_payload(struct ph_port *port, unsigned int max)
{
	struct ph_port_change ch = { .set = PH_CHG_MAX_PAYLOAD,
				     .max_payload = max };

	return ph_port_change_locked(port, &ch);
}

/* The receive buffer of a new port. */
static int ph_port_alloc_rxbuf(struct ph_port *port, unsigned int max)
{
	port->rxbuf = kzalloc(PH_RX_BUF(max), GFP_KERNEL);
	if (!port->rxbuf)
		return -ENOMEM;
	port->max_payload = max;
	return ph_rx_init(&port->rx, port->framing, port->lrc, port->rxbuf,
			  max);
}

/*
 * Make @port known to the hub, named @name (a stable name of its hardware)
 * or, for a userspace server, by its caller.
 */
int ph_port_setup(struct ph_port *port, const char *name)
{
	unsigned int n;
	int ret;

	spin_lock_init(&port->lock);
	INIT_LIST_HEAD(&port->txq);
	INIT_LIST_HEAD(&port->rxq);
	INIT_LIST_HEAD(&port->reqs);
	INIT_LIST_HEAD(&port->user_reqs);
	INIT_LIST_HEAD(&port->done);
	INIT_LIST_HEAD(&port->idle_node);
	INIT_LIST_HEAD(&port->hub_node);
	timer_setup(&port->timer, ph_server_timeout, 0);
	hrtimer_init(&port->gap_timer, CLOCK_MONOTONIC, HRTIMER_MODE_REL_SOFT);
	port->gap_timer.function = ph_port_gap_expired;
	hrtimer_init(&port->tx_gap_timer, CLOCK_MONOTONIC,
		     HRTIMER_MODE_REL_SOFT);
	port->tx_gap_timer.function = ph_port_tx_gap_expired;
	port->role = PH_ROLE_OFF;
	port->state = PH_STATE_IDLE;
	port->line = (struct ph_line){ .baud = 115200, .data_bits = 8,
				       .parity = 'n', .stop_bits = 1 };
	port->framing = PH_FRAMING_HDLC;
	port->gap_chars = PH_GAP_CHARS_DEFAULT;
	port->gap_ns = ph_gap_ns(port->gap_chars, &port->line);
	port->char_ns = ph_gap_ns(1, &port->line);
	port->queue_depth = 1;
	port->timeout_ms = 2000;
	port->enabled = true;
	port->classes = BIT_ULL(0);

	ret = ph_port_alloc_rxbuf(port, PH_PAYLOAD_DEFAULT);
	if (ret)
		return ret;
	if (!port->user) {
		/* Room for the largest frame in the largest framing. */
		port->txenc = kzalloc(PH_FRAMING_ENCODED_MAX(PH_PAYLOAD_MAX),
				      GFP_KERNEL);
		if (!port->txenc) {
			kfree(port->rxbuf);
			return -ENOMEM;
		}
	}
	ret = ida_alloc_min(&ph_hub.port_ida, 1, GFP_KERNEL);
	if (ret < 0) {
		kfree(port->txenc);
		kfree(port->rxbuf);
		return ret;
	}
	port->id = ret;
	if (port->user)
		return 0;

	spin_lock_irq(&ph_hub.lock);
	/*
	 * Stable default name: card address and port index, made unique if
	 * a userspace server or a renamed port took it first.
	 */
	strscpy(port->name, name, sizeof(port->name));
	for (n = 1; ph_port_find_name(port->name); n++)
		snprintf(port->name, sizeof(port->name), "%s.%u", name, n);
	list_add_tail(&port->hub_node, &ph_hub.ports);
	spin_unlock_irq(&ph_hub.lock);
	return 0;
}

/* Take @port out of the hub. Caller holds cfg_lock. */
void ph_port_unhook(struct ph_port *port)
{
	bool station;

	lockdep_assert_held(&ph_hub.cfg_lock);
	spin_lock_irq(&ph_hub.lock);
	if (!port->dead)
		ph_hub_port_dead(port);
	station = port->role == PH_ROLE_STATION || port->user;
	list_del_init(&port->hub_node);
	spin_unlock_irq(&ph_hub.lock);
	if (station)
		ph_station_dev_destroy(port);
}

/* Free what an unhooked (or never hooked) port holds. */
void ph_port_release(struct ph_port *port)
{
	timer_shutdown_sync(&port->timer);
	hrtimer_cancel(&port->gap_timer);
	hrtimer_cancel(&port->tx_gap_timer);
	ida_free(&ph_hub.port_ida, port->id);
	ph_rxq_purge(port);
	ph_txq_purge(port);
	kfree_sensitive(port->txenc);
	port->txenc = NULL;
	kfree_sensitive(port->rxbuf);
	port->rxbuf = NULL;
}

void ph_port_teardown(struct ph_port *port)
{
	mutex_lock(&ph_hub.cfg_lock);
	ph_port_unhook(port);
	mutex_unlock(&ph_hub.cfg_lock);
	ph_port_release(port);
}
