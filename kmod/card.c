// SPDX-License-Identifier: GPL-2.0
/*
 * The PCI side: a board table of 16550-compatible multi-port cards, probe
 * and remove, and the card's shared interrupt handler.
 *
 * The kernel's 8250_pci claims these cards at boot; they reach persohub by
 * writing "persohub" to the device's driver_override and reprobing it
 * (scripts/persohub-bind). Cards not in the table can be added at run time
 * through new_id, with driver_data naming a board (an index into
 * ph_boards).
 */

#include <linux/interrupt.h>
#include <linux/module.h>
#include <linux/pci.h>
#include <linux/slab.h>

#include "persohub.h"

enum ph_board_id {
	PH_BOARD_1P,		/* QEMU pci-serial */
	PH_BOARD_2P,		/* QEMU pci-serial-2x */
	PH_BOARD_4P,		/* QEMU pci-serial-4x */
	PH_BOARD_8P,		/* generic 8-port, 8-byte stride */
};

static const struct ph_board ph_boards[] = {
	[PH_BOARD_1P] = { .bar = 0, .stride = 8, .nports = 1,
			  .uartclk = 1843200 },
	[PH_BOARD_2P] = { .bar = 0, .stride = 8, .nports = 2,
			  .uartclk = 1843200 },
	[PH_BOARD_4P] = { .bar = 0, .stride = 8, .nports = 4,
			  .uartclk = 1843200 },
	[PH_BOARD_8P] = { .bar = 0, .stride = 8, .nports = 8,
			  .uartclk = 1843200 },
};

static const struct pci_device_id ph_pci_ids[] = {
	{ PCI_VDEVICE(REDHAT, 0x0002), PH_BOARD_1P },
	{ PCI_VDEVICE(REDHAT, 0x0003), PH_BOARD_2P },
	{ PCI_VDEVICE(REDHAT, 0x0004), PH_BOARD_4P },
	{ }
};
MODULE_DEVICE_TABLE(pci, ph_pci_ids);

static irqreturn_t ph_card_irq(int irq, void *dev_id)
{
	struct ph_card *card = dev_id;
	unsigned int i, passes = 0;
	bool more, handled = false;
	struct ph_port *port;
	u8 iir;

	do {
		more = false;
		for (i = 0; i < card->nports; i++) {
			port = &card->ports[i];
			/* Only a port with something pending takes its lock. */
			iir = ph_uart_iir(port);
			if (iir & UART_IIR_NO_INT)
				continue;
			more = true;
			spin_lock(&port->lock);
			ph_uart_interrupt(port, iir);
			spin_unlock(&port->lock);
			/* Complete frames to the hub, the port's lock dropped. */
			ph_port_deliver(port);
		}
		handled |= more;
	} while (more && ++passes < 16);

	return IRQ_RETVAL(handled);
}

static void ph_card_release_ports(struct ph_card *card, unsigned int n)
{
	/* The hub first: a station device is a child of its port. */
	while (n--) {
		ph_port_teardown(&card->ports[n]);
		ph_port_unregister(&card->ports[n]);
	}
}

static int ph_card_probe(struct pci_dev *pdev, const struct pci_device_id *id)
{
	const struct ph_board *board;
	char name[PH_NAME_LEN];
	struct ph_card *card;
	unsigned int i;
	int ret;

	if (id->driver_data >= ARRAY_SIZE(ph_boards)) {
		dev_err(&pdev->dev, "unknown board %lu\n", id->driver_data);
		return -EINVAL;
	}
	board = &ph_boards[id->driver_data];

	ret = pcim_enable_device(pdev);
	if (ret)
		return ret;
	if (pci_resource_len(pdev, board->bar) <
	    board->offset + board->nports * board->stride) {
		dev_err(&pdev->dev, "BAR%u too small for %u ports\n",
			board->bar, board->nports);
		return -ENODEV;
	}

	card = devm_kzalloc(&pdev->dev, struct_size(card, ports, board->nports),
			    GFP_KERNEL);
	if (!card)
		return -ENOMEM;
	card->pdev = pdev;
	card->board = board;
	card->nports = board->nports;
	card->base = pcim_iomap_region(pdev, board->bar, KBUILD_MODNAME);
	if (IS_ERR(card->base))
		return PTR_ERR(card->base);
	pci_set_drvdata(pdev, card);

	/* A wrong board (new_id) or a card that is gone: touch nothing more. */
	for (i = 0; i < card->nports; i++) {
		void __iomem *regs = card->base + board->offset +
				     i * board->stride;

		if (!ph_uart_present(regs, board->regshift)) {
			dev_err(&pdev->dev,
				"no 16550 at port %u (BAR%u + %#x): wrong board for this card?\n",
				i, board->bar, board->offset + i * board->stride);
			return -ENODEV;
		}
	}

	for (i = 0; i < card->nports; i++) {
		struct ph_port *port = &card->ports[i];

		port->ops = &ph_uart_ops;
		port->card = card;
		port->index = i;
		port->regs = card->base + board->offset + i * board->stride;
		port->regshift = board->regshift;
		/* Stable names: the card's PCI address and the port's index. */
		snprintf(name, sizeof(name), "%s-%u", pci_name(pdev), i);
		ret = ph_port_setup(port, name);
		if (ret)
			goto err_ports;
		/* Before the handler and the port's device: see the function. */
		ph_uart_probe_tx(port);
		ret = ph_port_register(port, &pdev->dev, name);
		if (ret) {
			ph_port_teardown(port);
			goto err_ports;
		}
	}

	ret = request_irq(pdev->irq, ph_card_irq, IRQF_SHARED, KBUILD_MODNAME,
			  card);
	if (ret) {
		dev_err(&pdev->dev, "irq %d: %d\n", pdev->irq, ret);
		goto err_ports;
	}

	for (i = 0; i < card->nports; i++) {
		spin_lock_irq(&card->ports[i].lock);
		ph_uart_startup(&card->ports[i]);
		spin_unlock_irq(&card->ports[i].lock);
	}

	dev_info(&pdev->dev, "%u ports, irq %d\n", card->nports, pdev->irq);
	return 0;

err_ports:
	ph_card_release_ports(card, i);
	return ret;
}

static void ph_card_remove(struct pci_dev *pdev)
{
	struct ph_card *card = pci_get_drvdata(pdev);
	unsigned int i;

	spin_lock_irq(&ph_hub.lock);
	/*
	 * Dead first, under the lock that every dispatch takes: from here
	 * on nothing queues a frame for these ports or enables their
	 * transmit interrupt. Then their interrupts off, and only then the
	 * handler goes: a shared line must never be left asserted by a UART
	 * nobody services.
	 */
	for (i = 0; i < card->nports; i++) {
		spin_lock(&card->ports[i].lock);
		card->ports[i].dead = true;
		ph_uart_shutdown(&card->ports[i]);
		spin_unlock(&card->ports[i].lock);
	}
	/* Requests of these ports end or move elsewhere; none is lost. */
	for (i = 0; i < card->nports; i++)
		ph_hub_port_dead(&card->ports[i]);
	spin_unlock_irq(&ph_hub.lock);
	free_irq(pdev->irq, card);

	ph_card_release_ports(card, card->nports);
	dev_info(&pdev->dev, "removed\n");
}

static struct pci_driver ph_pci_driver = {
	.name		= KBUILD_MODNAME,
	.id_table	= ph_pci_ids,
	.probe		= ph_card_probe,
	.remove		= ph_card_remove,
};

int ph_card_init(void)
{
	return pci_register_driver(&ph_pci_driver);
}

void ph_card_exit(void)
{
	pci_unregister_driver(&ph_pci_driver);
}
