// SPDX-License-Identifier: GPL-2.0
/*
 * 16550 UART programming, receive and transmit, called with the port's lock
 * held.
 *
 * Receive trigger level: 1 byte. The last byte of a request then raises the
 * receive interrupt at once; at a higher trigger level it would sit in the
 * FIFO until the receive timeout (4 character times, 347 us at 115200
 * baud) and every request would pay that. The cost is more interrupts
 * during a frame, at most one per byte; the handler drains whatever the
 * FIFO holds each time, so back-to-back bytes are still taken in batches.
 */

#include <linux/io.h>
#include <linux/jiffies.h>
#include <linux/serial_reg.h>
#include <net/netlink.h>

#include "persohub.h"

static u8 ph_in(struct ph_port *port, unsigned int reg)
{
	return ioread8(port->regs + (reg << port->regshift));
}

static void ph_out(struct ph_port *port, unsigned int reg, u8 val)
{
	iowrite8(val, port->regs + (reg << port->regshift));
}

/*
 * Is there a 16550 at @regs? Its scratch register holds what was written
 * to it, and with the FIFOs enabled the top bits of IIR read 11: a card
 * that is gone reads all ones, and a register that merely stores what it
 * is given (memory, or a device that is no UART) fails the FIFO test.
 *
 * Nothing here may raise an interrupt. 8250's test through IER would: on
 * a line shared with a card already bound, a UART asserting it with no
 * handler makes the other card's handler thread (PREEMPT_RT, threadirqs)
 * run again and again at its real-time priority, starving this probe
 * before it can restore IER, until the kernel disables the line.
 */
bool ph_uart_present(void __iomem *regs, unsigned int regshift)
{
	void __iomem *scr = regs + (UART_SCR << regshift);
	void __iomem *fcr = regs + (UART_FCR << regshift);
	u8 old, a, b, iir;

	old = ioread8(scr);
	iowrite8(0xa5, scr);
	a = ioread8(scr);
	iowrite8(0x5a, scr);
	b = ioread8(scr);
	iowrite8(old, scr);
	if (a != 0xa5 || b != 0x5a)
		return false;

	iowrite8(UART_FCR_ENABLE_FIFO, fcr);
	iir = ioread8(regs + (UART_IIR << regshift));
	iowrite8(0, fcr);
	return (iir & UART_IIR_FIFO_ENABLED) == UART_IIR_FIFO_ENABLED_16550A;
}

unsigned int ph_uart_max_baud(const struct ph_port *port)
{
	return port->card->board->uartclk / 16;
}

static u8 ph_line_lcr(const struct ph_line *line)
{
	u8 lcr = line->data_bits - 5;	/* UART_LCR_WLEN5..8 */

	if (line->stop_bits == 2)
		lcr |= UART_LCR_STOP;
	switch (line->parity) {
	case 'o':
		lcr |= UART_LCR_PARITY;
		break;
	case 'e':
		lcr |= UART_LCR_PARITY | UART_LCR_EPAR;
		break;
	case 'm':
		lcr |= UART_LCR_PARITY | UART_LCR_SPAR;
		break;
	case 's':
		lcr |= UART_LCR_PARITY | UART_LCR_EPAR | UART_LCR_SPAR;
		break;
	}
	return lcr;
}

static unsigned int ph_line_divisor(const struct ph_port *port,
				    const struct ph_line *line)
{
	return DIV_ROUND_CLOSEST(port->card->board->uartclk, 16 * line->baud);
}

/* Can @port run with @line? 0, or why not. */
static int ph_uart_check_line(const struct ph_port *port,
			      const struct ph_line *line)
{
	unsigned int div;
	int ret;

	ret = ph_line_check_common(line, ph_uart_max_baud(port));
	if (ret)
		return ret;
	div = ph_line_divisor(port, line);
	if (!div || div > 0xffff)
		return -ERANGE;
	return 0;
}

/* Program port->line into the UART. Port lock held. */
static void ph_uart_program_line(struct ph_port *port)
{
	unsigned int div = ph_line_divisor(port, &port->line);

	port->lcr = ph_line_lcr(&port->line);
	if (port->dead)
		return;
	ph_out(port, UART_LCR, port->lcr | UART_LCR_DLAB);
	ph_out(port, UART_DLL, div & 0xff);
	ph_out(port, UART_DLM, div >> 8);
	ph_out(port, UART_LCR, port->lcr);
}

static void ph_uart_set_line(struct ph_port *port)
{
	spin_lock_irq(&port->lock);
	ph_uart_program_line(port);
	spin_unlock_irq(&port->lock);
}

/*
 * Does enabling the transmit interrupt over an empty transmitter raise
 * it, as a 16550 does? Asked before the card's handler is installed, with
 * the UART's interrupt output (OUT2) off, so that no handler reads IIR
 * first. If not, ph_uart_start_tx() loads the FIFO itself.
 */
void ph_uart_probe_tx(struct ph_port *port)
{
	u8 lsr, iir;

	ph_out(port, UART_MCR, 0);
	ph_out(port, UART_IER, 0);
	ph_out(port, UART_FCR, UART_FCR_ENABLE_FIFO);
	ph_out(port, UART_FCR, UART_FCR_ENABLE_FIFO | UART_FCR_CLEAR_XMIT);
	ph_out(port, UART_IER, UART_IER_THRI);
	lsr = ph_in(port, UART_LSR);
	iir = ph_in(port, UART_IIR);
	ph_out(port, UART_IER, 0);
	/*
	 * Nothing to learn while the transmitter holds a byte: it will raise
	 * the interrupt as it empties, as every 16550 does.
	 */
	port->tx_kick = (lsr & UART_LSR_THRE) &&
			(iir & UART_IIR_ID) != UART_IIR_THRI;
	if (port->tx_kick)
		dev_info(&port->card->pdev->dev,
			 "port %u: no interrupt on enabling transmit (LSR %02x IIR %02x), its first bytes are written directly\n",
			 port->index, lsr, iir);
}

void ph_uart_startup(struct ph_port *port)
{
	unsigned int n;

	ph_out(port, UART_IER, 0);
	ph_out(port, UART_FCR, UART_FCR_ENABLE_FIFO);
	ph_out(port, UART_FCR, UART_FCR_ENABLE_FIFO | UART_FCR_CLEAR_RCVR |
	       UART_FCR_CLEAR_XMIT | UART_FCR_TRIGGER_1);
	ph_uart_program_line(port);
	ph_out(port, UART_MCR, UART_MCR_DTR | UART_MCR_RTS | UART_MCR_OUT2);
	/*
	 * Clear anything pending before interrupts are enabled; bounded, as
	 * a UART that vanished reads all ones (DR set) forever.
	 */
	ph_in(port, UART_LSR);
	for (n = 0; n < 4 * PH_UART_FIFO &&
	     (ph_in(port, UART_LSR) & UART_LSR_DR); n++)
		ph_in(port, UART_RX);
	ph_in(port, UART_IIR);
	ph_in(port, UART_MSR);
	port->ier = UART_IER_RDI | UART_IER_RLSI;
	ph_out(port, UART_IER, port->ier);
}

void ph_uart_shutdown(struct ph_port *port)
{
	port->ier = 0;
	ph_out(port, UART_IER, 0);
	ph_out(port, UART_MCR, 0);
	ph_out(port, UART_FCR, UART_FCR_ENABLE_FIFO | UART_FCR_CLEAR_RCVR |
	       UART_FCR_CLEAR_XMIT);
	ph_out(port, UART_FCR, 0);
}

static void ph_uart_count_errors(struct ph_port *port, u8 lsr)
{
	if (lsr & UART_LSR_OE)
		port->stats.overruns++;
	if (lsr & UART_LSR_PE)
		port->stats.parity_errors++;
	if (lsr & UART_LSR_FE)
		port->stats.framing_errors++;
}

static void ph_uart_rx(struct ph_port *port, u8 lsr)
{
	unsigned int budget = 256;

	do {
		if (lsr & UART_LSR_BRK_ERROR_BITS)
			ph_uart_count_errors(port, lsr);
		if (!(lsr & UART_LSR_DR)) {
			lsr = ph_in(port, UART_LSR);
			continue;
		}
		if (lsr & UART_LSR_BI) {
			/* A break ends whatever frame was in progress. */
			port->stats.breaks++;
			ph_in(port, UART_RX);
			ph_port_rx_reset(port);
		} else {
			ph_port_rx_byte(port, ph_in(port, UART_RX));
		}
		lsr = ph_in(port, UART_LSR);
	} while ((lsr & UART_LSR_DR) && --budget);
}

static void ph_uart_tx(struct ph_port *port)
{
	u8 buf[PH_UART_FIFO];
	unsigned int i, n;

	n = ph_port_tx_take(port, buf, sizeof(buf));
	for (i = 0; i < n; i++)
		ph_out(port, UART_TX, buf[i]);
	memzero_explicit(buf, n);
	/* Nothing more, or nothing now (gap: the line must stay silent). */
	if ((!n || !ph_port_tx_more(port)) && (port->ier & UART_IER_THRI)) {
		port->ier &= ~UART_IER_THRI;
		ph_out(port, UART_IER, port->ier);
	}
}

/*
 * Called after a frame was queued, under the hub's lock as well when a
 * dispatch or an answer queued it: enable the transmit interrupt, one
 * register write, and let the interrupt load the FIFO (ph_uart_tx()) with
 * the hub's lock dropped. A UART that raises no interrupt when it is
 * enabled over an empty transmitter (tx_kick, ph_uart_probe_tx()) gets
 * its first FIFO load here.
 */
static void ph_uart_start_tx(struct ph_port *port)
{
	if (port->dead || (port->ier & UART_IER_THRI))
		return;
	if (port->tx_kick && (ph_in(port, UART_LSR) & UART_LSR_THRE))
		ph_uart_tx(port);
	if (ph_port_tx_ready(port)) {
		port->ier |= UART_IER_THRI;
		ph_out(port, UART_IER, port->ier);
	}
}

/*
 * What interrupt @port has pending, UART_IIR_NO_INT if none. Read by the
 * card's interrupt handler alone, without the port's lock: it is the only
 * reader once the port is started, and reading IIR clears a transmit
 * interrupt, so the value read goes to ph_uart_interrupt().
 */
u8 ph_uart_iir(struct ph_port *port)
{
	return ph_in(port, UART_IIR);
}

/* Service the interrupt @iir (ph_uart_iir()) of @port. Port lock held. */
void ph_uart_interrupt(struct ph_port *port, u8 iir)
{
	u8 lsr;

	lsr = ph_in(port, UART_LSR);
	if (lsr & (UART_LSR_DR | UART_LSR_BRK_ERROR_BITS))
		ph_uart_rx(port, lsr);
	if ((iir & UART_IIR_ID) == UART_IIR_MSI)
		ph_in(port, UART_MSR);
	if ((port->ier & UART_IER_THRI) &&
	    (ph_in(port, UART_LSR) & UART_LSR_THRE))
		ph_uart_tx(port);
}

static int ph_uart_fill(struct sk_buff *skb, const struct ph_port *port)
{
	if (nla_put_string(skb, PERSOHUB_A_PORT_CARD,
			   pci_name(port->card->pdev)) ||
	    nla_put_u32(skb, PERSOHUB_A_PORT_INDEX, port->index))
		return -EMSGSIZE;
	return 0;
}

const struct ph_port_ops ph_uart_ops = {
	.name = "uart",
	.check_line = ph_uart_check_line,
	.set_line = ph_uart_set_line,
	.start_tx = ph_uart_start_tx,
	.fill = ph_uart_fill,
};
