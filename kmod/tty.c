// SPDX-License-Identifier: GPL-2.0
/*
 * The tty backend: any tty the kernel drives (8250's ttyS, USB adapters'
 * ttyUSB, mxser, 8250_exar...) as a persohub port.
 *
 * The module opens the tty itself (tty_kopen_exclusive) and attaches its
 * own line discipline to it, so a port depends on no process keeping a
 * file open: it survives the daemon as a card port does. The discipline
 * refuses every tty persohub did not open itself, so a user's TIOCSETD
 * never attaches it anywhere.
 *
 * A request's path through a tty port:
 *   driver -> flip buffer -> flush_to_ldisc work -> ph_ldisc_receive()
 *   -> ph_port_rx_byte() under the port's lock (framer), then
 *   ph_port_deliver() under the hub lock (hub, matching)
 *   -> a server's txq -> its backend's start_tx: for a tty port,
 *   ph_tty_tx_work() writes as much as write_room() allows, and
 *   write_wakeup() brings it back for the rest.
 * Nothing here runs in hard interrupt context, and nothing writes to a
 * tty from write_wakeup() itself.
 *
 * A tty that hangs up (a USB adapter pulled out) takes its port with it:
 * the port is dead at once (its requests retried elsewhere or dropped, as
 * when a card goes), and a work item releases the tty and removes it.
 */

#include <linux/module.h>
#include <linux/mutex.h>
#include <linux/slab.h>
#include <linux/tty.h>
#include <linux/tty_driver.h>
#include <linux/tty_ldisc.h>
#include <linux/workqueue.h>
#include <net/netlink.h>

#include "persohub.h"

#define PH_TTY_TXBUF	512

static int ph_ldisc_num = N_DEVELOPMENT;
module_param_named(ldisc, ph_ldisc_num, int, 0444);
MODULE_PARM_DESC(ldisc,
		 "line discipline number borrowed for tty ports (default 29, N_DEVELOPMENT)");

/**
 * struct ph_tty - a tty port
 * @port: the port the hub sees
 * @tty: the tty, opened by persohub
 * @devt: its device number
 * @name: its name in /dev
 * @tx_work: writes queued frames to the tty
 * @gone_work: removes the port after a hangup
 * @attached: on the hub's port list, under ph_tty_lock
 * @releasing: persohub is closing the tty itself
 * @gone: it hung up and @gone_work is queued (once), under the hub lock
 * @txlen: bytes in @txbuf
 * @txpos: bytes of @txbuf written so far
 * @txbuf: bytes taken from the port's frames, on their way to the tty
 */
struct ph_tty {
	struct ph_port port;
	struct tty_struct *tty;
	dev_t devt;
	char name[PH_NAME_LEN];
	struct work_struct tx_work;
	struct work_struct gone_work;
	bool attached;
	bool releasing;
	bool gone;
	unsigned int txlen;
	unsigned int txpos;
	u8 txbuf[PH_TTY_TXBUF];
};

/* Serialises attach and detach; taken before cfg_lock. */
static DEFINE_MUTEX(ph_tty_lock);
/* The tty being attached: the only one the discipline accepts. */
static struct ph_tty *ph_tty_opening;
static struct workqueue_struct *ph_tty_wq;

static struct ph_tty *ph_port_tty(const struct ph_port *port)
{
	return container_of(port, struct ph_tty, port);
}

const char *ph_tty_name(const struct ph_port *port)
{
	return port->ops == &ph_tty_ops ? ph_port_tty(port)->name : "";
}

/* A tty port by its tty's number or name. ph_tty_lock held. */
static struct ph_tty *ph_tty_find(dev_t devt, const char *name)
{
	struct ph_port *port;
	struct ph_tty *tp, *found = NULL;

	lockdep_assert_held(&ph_tty_lock);
	spin_lock_irq(&ph_hub.lock);
	list_for_each_entry(port, &ph_hub.ports, hub_node) {
		if (port->ops != &ph_tty_ops)
			continue;
		tp = ph_port_tty(port);
		if ((name && !strcmp(tp->name, name)) ||
		    (!name && tp->devt == devt)) {
			found = tp;
			break;
		}
	}
	spin_unlock_irq(&ph_hub.lock);
	return found;
}

static const tcflag_t ph_csize[] = { CS5, CS6, CS7, CS8 };

/* Apply port->line to the tty. cfg_lock or ph_tty_lock held; sleeps. */
static void ph_tty_set_line(struct ph_port *port)
{
	struct ph_tty *tp = ph_port_tty(port);
	struct ph_line line;
	struct ktermios kt;
	bool dead;

	spin_lock_irq(&port->lock);
	line = port->line;
	dead = port->dead;
	spin_unlock_irq(&port->lock);
	if (dead)
		return;

	kt = tp->tty->termios;
	/* Raw bytes; parity, framing errors and breaks reported per byte. */
	kt.c_iflag = INPCK | BRKINT;
	kt.c_oflag = 0;
	kt.c_lflag = 0;
	kt.c_cflag = CREAD | CLOCAL | ph_csize[line.data_bits - 5];
	if (line.stop_bits == 2)
		kt.c_cflag |= CSTOPB;
	switch (line.parity) {
	case 'o':
		kt.c_cflag |= PARENB | PARODD;
		break;
	case 'e':
		kt.c_cflag |= PARENB;
		break;
	case 'm':
		kt.c_cflag |= PARENB | CMSPAR | PARODD;
		break;
	case 's':
		kt.c_cflag |= PARENB | CMSPAR;
		break;
	}
	kt.c_cc[VMIN] = 1;
	kt.c_cc[VTIME] = 0;
	tty_termios_encode_baud_rate(&kt, line.baud, line.baud);
	tty_set_termios(tp->tty, &kt);
}

static int ph_tty_check_line(const struct ph_port *port,
			     const struct ph_line *line)
{
	/* What the tty's driver makes of a rate is its own business. */
	return ph_line_check_common(line, 4000000);
}

/* Frames were queued: the work writes them. Port lock held, any context. */
static void ph_tty_start_tx(struct ph_port *port)
{
	if (!port->dead)
		queue_work(ph_tty_wq, &ph_port_tty(port)->tx_work);
}

static int ph_tty_fill(struct sk_buff *skb, const struct ph_port *port)
{
	return nla_put_string(skb, PERSOHUB_A_PORT_TTY,
			      ph_port_tty(port)->name) ? -EMSGSIZE : 0;
}

const struct ph_port_ops ph_tty_ops = {
	.name = "tty",
	.check_line = ph_tty_check_line,
	.set_line = ph_tty_set_line,
	.start_tx = ph_tty_start_tx,
	.fill = ph_tty_fill,
};

/* Write what the port has queued, as far as the tty takes it. */
static void ph_tty_tx_work(struct work_struct *work)
{
	struct ph_tty *tp = container_of(work, struct ph_tty, tx_work);
	struct tty_struct *tty = tp->tty;
	unsigned int room;
	int n;

	for (;;) {
		if (tp->txpos == tp->txlen) {
			memzero_explicit(tp->txbuf, tp->txlen);
			tp->txpos = 0;
			tp->txlen = 0;
			room = tty_write_room(tty);
			if (!room) {
				set_bit(TTY_DO_WRITE_WAKEUP, &tty->flags);
				return;
			}
			spin_lock_irq(&tp->port.lock);
			if (!tp->port.dead)
				tp->txlen = ph_port_tx_take(&tp->port, tp->txbuf,
							    min_t(unsigned int, room,
								  sizeof(tp->txbuf)));
			spin_unlock_irq(&tp->port.lock);
			if (!tp->txlen)
				return;
		}
		/* The driver calls write_wakeup when it has room again. */
		set_bit(TTY_DO_WRITE_WAKEUP, &tty->flags);
		n = tty->ops->write(tty, tp->txbuf + tp->txpos,
				    tp->txlen - tp->txpos);
		if (n <= 0)
			return;
		tp->txpos += n;
	}
}

/*
 * The tty hung up: the port is dead now (its requests go elsewhere or end
 * at once), and leaves when the work runs. A hangup reaches the discipline
 * twice (hangup, then close): the work is queued once, as it frees @tp.
 * Any context.
 */
static void ph_tty_gone(struct ph_tty *tp)
{
	unsigned long flags;
	bool queue;

	spin_lock_irqsave(&ph_hub.lock, flags);
	queue = !tp->gone;
	tp->gone = true;
	if (!tp->port.dead) {
		ph_hub_port_dead(&tp->port);
		pr_warn_ratelimited("%s hung up: port %s gone\n", tp->name,
				    tp->port.name);
	}
	spin_unlock_irqrestore(&ph_hub.lock, flags);
	if (queue)
		queue_work(ph_tty_wq, &tp->gone_work);
}

static int ph_ldisc_open(struct tty_struct *tty)
{
	struct ph_tty *tp = READ_ONCE(ph_tty_opening);

	/* Only a tty persohub opened itself, never one a user names. */
	if (!tp || tp->tty != tty)
		return -EPERM;
	if (!tty->ops->write)
		return -EOPNOTSUPP;
	tty->disc_data = tp;
	tty->receive_room = 65536;
	return 0;
}

static void ph_ldisc_close(struct tty_struct *tty)
{
	struct ph_tty *tp = tty->disc_data;

	tty->disc_data = NULL;
	if (tp && !tp->releasing)
		ph_tty_gone(tp);
}

static void ph_ldisc_hangup(struct tty_struct *tty)
{
	struct ph_tty *tp = tty->disc_data;

	if (tp && !tp->releasing)
		ph_tty_gone(tp);
}

static void ph_ldisc_receive(PH_LDISC_RX_ARGS)
{
	struct ph_tty *tp = tty->disc_data;
	struct ph_port *port;
	unsigned long flags;
	unsigned int i;

	if (!tp)
		return;
	port = &tp->port;
	spin_lock_irqsave(&port->lock, flags);
	for (i = 0; !port->dead && i < count; i++) {
		switch (fp ? fp[i] : TTY_NORMAL) {
		case TTY_BREAK:
			/* A break ends whatever frame was in progress. */
			port->stats.breaks++;
			ph_port_rx_reset(port);
			continue;
		case TTY_OVERRUN:
			/* A marker after the last byte kept, not a byte. */
			port->stats.overruns++;
			continue;
		case TTY_PARITY:
			port->stats.parity_errors++;
			break;
		case TTY_FRAME:
			port->stats.framing_errors++;
			break;
		}
		ph_port_rx_byte(port, cp[i]);
	}
	spin_unlock_irqrestore(&port->lock, flags);
	ph_port_deliver(port);
}

static void ph_ldisc_write_wakeup(struct tty_struct *tty)
{
	struct ph_tty *tp = tty->disc_data;

	clear_bit(TTY_DO_WRITE_WAKEUP, &tty->flags);
	if (tp)
		queue_work(ph_tty_wq, &tp->tx_work);
}

/*
 * No .owner: an attached discipline would pin the module, and rmmod must
 * work with ports attached. The module detaches every tty itself before
 * it unregisters the discipline (ph_tty_detach_all()), and the discipline
 * opens on no tty the module did not open.
 */
static struct tty_ldisc_ops ph_ldisc_ops = {
	.name = "persohub",
	.open = ph_ldisc_open,
	.close = ph_ldisc_close,
	.hangup = ph_ldisc_hangup,
	.receive_buf = ph_ldisc_receive,
	.write_wakeup = ph_ldisc_write_wakeup,
};

/* Close what ph_tty_open() opened. */
static void ph_tty_close(struct ph_tty *tp)
{
	struct tty_struct *tty = tp->tty;

	tp->releasing = true;
	tty_lock(tty);
	/* A hung-up tty was shut down by its driver already. */
	if (!test_bit(TTY_HUPPED, &tty->flags) && tty->ops->close)
		tty->ops->close(tty, NULL);
	tty_ldisc_flush(tty);
	tty_unlock(tty);
	tty_kclose(tty);
}

/* Open @tp's tty for persohub alone: -EBUSY if anyone has it open. */
static int ph_tty_open(struct ph_tty *tp)
{
	struct tty_struct *tty;
	int ret;

	tty = tty_kopen_exclusive(tp->devt);
	if (IS_ERR(tty))
		return PTR_ERR(tty);
	ret = tty->ops->open ? tty->ops->open(tty, NULL) : -ENODEV;
	if (ret) {
		tty_unlock(tty);
		tty_kclose(tty);
		return ret;
	}
	clear_bit(TTY_HUPPED, &tty->flags);
	tty_unlock(tty);
	tp->tty = tty;
	return 0;
}

/* Take the port out of the hub, close its tty. ph_tty_lock held. */
static void ph_tty_remove(struct ph_tty *tp)
{
	lockdep_assert_held(&ph_tty_lock);
	tp->attached = false;
	ph_port_teardown(&tp->port);
	ph_port_unregister(&tp->port);
	cancel_work_sync(&tp->tx_work);
	ph_tty_close(tp);
	memzero_explicit(tp->txbuf, sizeof(tp->txbuf));
}

static void ph_tty_gone_work(struct work_struct *work)
{
	struct ph_tty *tp = container_of(work, struct ph_tty, gone_work);
	bool free = false;

	mutex_lock(&ph_tty_lock);
	if (tp->attached) {
		ph_tty_remove(tp);
		free = true;
	}
	mutex_unlock(&ph_tty_lock);
	/* Otherwise a detach owns it, and frees it after this work. */
	if (free)
		kfree(tp);
}

/**
 * ph_tty_attach() - make a tty a persohub port
 * @name: the tty's name in /dev (ttyUSB0, ttyS4)
 *
 * The port is /sys/class/persohub/@name, off, at 115200 8N1.
 *
 * Return: the new port's id; -ENODEV if there is no such tty, -EBUSY if
 * it is open elsewhere, -EEXIST if it is a port already.
 */
int ph_tty_attach(const char *name)
{
	struct ph_tty *tp;
	dev_t devt;
	int ret;

	ret = tty_dev_name_to_number(name, &devt);
	if (ret)
		return ret;
	tp = kzalloc(sizeof(*tp), GFP_KERNEL);
	if (!tp)
		return -ENOMEM;
	tp->devt = devt;
	strscpy(tp->name, name, sizeof(tp->name));
	INIT_WORK(&tp->tx_work, ph_tty_tx_work);
	INIT_WORK(&tp->gone_work, ph_tty_gone_work);
	tp->port.ops = &ph_tty_ops;

	mutex_lock(&ph_tty_lock);
	ret = -EEXIST;
	if (ph_tty_find(devt, NULL))
		goto err_unlock;
	ret = ph_tty_open(tp);
	if (ret)
		goto err_unlock;
	ret = ph_port_setup(&tp->port, tp->name);
	if (ret)
		goto err_close;
	ret = ph_port_register(&tp->port, NULL, tp->name);
	if (ret)
		goto err_teardown;
	tp->attached = true;
	ph_tty_set_line(&tp->port);

	WRITE_ONCE(ph_tty_opening, tp);
	ret = tty_set_ldisc(tp->tty, ph_ldisc_num);
	WRITE_ONCE(ph_tty_opening, NULL);
	if (ret) {
		pr_err("%s: line discipline %d: %d\n", name, ph_ldisc_num, ret);
		ph_tty_remove(tp);
		mutex_unlock(&ph_tty_lock);
		cancel_work_sync(&tp->gone_work);
		kfree(tp);
		return ret;
	}
	ret = tp->port.id;
	mutex_unlock(&ph_tty_lock);
	pr_info("%s attached as port %s\n", name, tp->port.name);
	return ret;

err_teardown:
	ph_port_teardown(&tp->port);
err_close:
	ph_tty_close(tp);
err_unlock:
	mutex_unlock(&ph_tty_lock);
	kfree(tp);
	return ret;
}

/**
 * ph_tty_detach() - give a tty back to the system
 * @name: the tty's name, or the name of its port
 *
 * Requests on the port end as when its hardware goes: a server's request
 * goes to another server, a station's requests are dropped and counted.
 *
 * Return: 0; -ENODEV if no such port, -EOPNOTSUPP for a port that is no tty.
 */
int ph_tty_detach(const char *name)
{
	struct ph_port *port;
	struct ph_tty *tp;
	bool other = false;

	mutex_lock(&ph_tty_lock);
	tp = ph_tty_find(0, name);
	if (!tp) {
		spin_lock_irq(&ph_hub.lock);
		port = ph_port_find_name(name);
		if (port && port->ops == &ph_tty_ops)
			tp = ph_port_tty(port);
		else
			other = port;
		spin_unlock_irq(&ph_hub.lock);
	}
	if (tp)
		ph_tty_remove(tp);
	mutex_unlock(&ph_tty_lock);
	if (!tp)
		return other ? -EOPNOTSUPP : -ENODEV;
	cancel_work_sync(&tp->gone_work);
	pr_info("%s detached\n", tp->name);
	kfree(tp);
	return 0;
}

/* Every tty port goes, before the module does. */
void ph_tty_detach_all(void)
{
	struct ph_port *port;
	struct ph_tty *tp;

	for (;;) {
		mutex_lock(&ph_tty_lock);
		tp = NULL;
		spin_lock_irq(&ph_hub.lock);
		list_for_each_entry(port, &ph_hub.ports, hub_node) {
			if (port->ops == &ph_tty_ops) {
				tp = ph_port_tty(port);
				break;
			}
		}
		spin_unlock_irq(&ph_hub.lock);
		if (tp)
			ph_tty_remove(tp);
		mutex_unlock(&ph_tty_lock);
		if (!tp)
			break;
		cancel_work_sync(&tp->gone_work);
		kfree(tp);
	}
}

int ph_tty_init(void)
{
	int ret;

	if (ph_ldisc_num < 1 || ph_ldisc_num >= NR_LDISCS) {
		pr_err("ldisc=%d: 1 to %d\n", ph_ldisc_num, NR_LDISCS - 1);
		return -EINVAL;
	}
	ph_tty_wq = alloc_workqueue("persohub_tty", WQ_HIGHPRI | WQ_MEM_RECLAIM,
				    0);
	if (!ph_tty_wq)
		return -ENOMEM;
	ph_ldisc_ops.num = ph_ldisc_num;
	ret = tty_register_ldisc(&ph_ldisc_ops);
	if (ret) {
		pr_err("line discipline %d taken (%d): load with ldisc=N\n",
		       ph_ldisc_num, ret);
		destroy_workqueue(ph_tty_wq);
	}
	return ret;
}

void ph_tty_exit(void)
{
	tty_unregister_ldisc(&ph_ldisc_ops);
	destroy_workqueue(ph_tty_wq);
}
