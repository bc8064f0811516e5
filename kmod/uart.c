// SPDX-License-Identifier: GPL-2.0
/*
 * 16550 UART programming, receive and transmit, called with ph_hub.lock held.
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
 * Is there a 16550 at @regs? The test of 8250's autoconfig: the low four
 * bits of IER hold what was written to them. A card that is gone reads
 * all ones, a register that is not a UART rarely holds both values.
 */
bool ph_uart_present(void __iomem *regs, unsigned int regshift)
{
	void __iomem *ier = regs + (UART_IER << regshift);
	u8 old, a, b;

	old = ioread8(ier);
	iowrite8(0, ier);
	a = ioread8(ier);
	iowrite8(0x0f, ier);
	b = ioread8(ier);
	iowrite8(old, ier);
	return !(a & 0x0f) && (b & 0x0f) == 0x0f;
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
int ph_uart_check_line(const struct ph_port *port, const struct ph_line *line)
{
	unsigned int div;

	if (port->user)
		return -EOPNOTSUPP;
	if (line->baud < 50 || line->baud > ph_uart_max_baud(port))
		return -ERANGE;
	if (line->data_bits < 5 || line->data_bits > 8)
		return -EINVAL;
	if (line->stop_bits != 1 && line->stop_bits != 2)
		return -EINVAL;
	if (!line->parity || !strchr("noems", line->parity))
		return -EINVAL;
	div = ph_line_divisor(port, line);
	if (!div || div > 0xffff)
		return -ERANGE;
	return 0;
}

int ph_uart_set_line(struct ph_port *port, const struct ph_line *line)
{
	unsigned int div;
	int ret;

	ret = ph_uart_check_line(port, line);
	if (ret)
		return ret;
	div = ph_line_divisor(port, line);
	port->line = *line;
	port->lcr = ph_line_lcr(line);
	if (port->dead)
		return 0;
	ph_out(port, UART_LCR, port->lcr | UART_LCR_DLAB);
	ph_out(port, UART_DLL, div & 0xff);
	ph_out(port, UART_DLM, div >> 8);
	ph_out(port, UART_LCR, port->lcr);
	return 0;
}

void ph_uart_startup(struct ph_port *port)
{
	unsigned int n;

	ph_out(port, UART_IER, 0);
	ph_out(port, UART_FCR, UART_FCR_ENABLE_FIFO);
	ph_out(port, UART_FCR, UART_FCR_ENABLE_FIFO | UART_FCR_CLEAR_RCVR |
	       UART_FCR_CLEAR_XMIT | UART_FCR_TRIGGER_1);
	ph_uart_set_line(port, &port->line);
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

static void ph_uart_rx_byte(struct ph_port *port, u8 c)
{
	enum ph_rx_event ev;

	port->stats.rx_bytes++;
	if (port->settling) {
		/* Not quiet yet: the settle time starts again. */
		port->deadline = jiffies + msecs_to_jiffies(port->settle_ms);
		mod_timer(&port->timer, port->deadline);
	}
	ev = ph_deframer_feed(&port->rx, c);
	switch (ev) {
	case PH_RX_NONE:
		break;
	case PH_RX_FRAME:
		port->stats.rx_frames++;
		ph_hub_rx_frame(port, port->rx.buf,
				ph_deframer_payload_len(&port->rx));
		ph_deframer_release(&port->rx);
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
	}
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
			ph_deframer_reset(&port->rx);
		} else {
			ph_uart_rx_byte(port, ph_in(port, UART_RX));
		}
		lsr = ph_in(port, UART_LSR);
	} while ((lsr & UART_LSR_DR) && --budget);
}

static void ph_uart_tx(struct ph_port *port)
{
	unsigned int room = PH_UART_FIFO;
	struct ph_txbuf *tb;

	while (room) {
		tb = list_first_entry_or_null(&port->txq, struct ph_txbuf, node);
		if (!tb)
			break;
		while (room && tb->pos < tb->len) {
			ph_out(port, UART_TX, tb->data[tb->pos++]);
			port->stats.tx_bytes++;
			room--;
		}
		if (tb->pos == tb->len) {
			list_del(&tb->node);
			port->stats.tx_frames++;
			kfree_sensitive(tb);
		}
	}
	if (list_empty(&port->txq) && (port->ier & UART_IER_THRI)) {
		port->ier &= ~UART_IER_THRI;
		ph_out(port, UART_IER, port->ier);
	}
}

/* Called after a frame was queued: send now if the UART is idle. */
void ph_uart_start_tx(struct ph_port *port)
{
	if (port->dead || (port->ier & UART_IER_THRI))
		return;
	if (ph_in(port, UART_LSR) & UART_LSR_THRE)
		ph_uart_tx(port);
	if (!list_empty(&port->txq)) {
		port->ier |= UART_IER_THRI;
		ph_out(port, UART_IER, port->ier);
	}
}

/* Returns true if the port had an interrupt pending. */
bool ph_uart_interrupt(struct ph_port *port)
{
	u8 iir, lsr;

	iir = ph_in(port, UART_IIR);
	if (iir & UART_IIR_NO_INT)
		return false;
	lsr = ph_in(port, UART_LSR);
	if (lsr & (UART_LSR_DR | UART_LSR_BRK_ERROR_BITS))
		ph_uart_rx(port, lsr);
	if ((iir & UART_IIR_ID) == UART_IIR_MSI)
		ph_in(port, UART_MSR);
	if ((port->ier & UART_IER_THRI) &&
	    (ph_in(port, UART_LSR) & UART_LSR_THRE))
		ph_uart_tx(port);
	return true;
}
