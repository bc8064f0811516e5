/* SPDX-License-Identifier: GPL-2.0 */
/*
 * What differs between the kernels persohub supports: Debian 12's 6.1 and
 * 6.12, with and without PREEMPT_RT. Every version test of the module is
 * here; the other files use the newer interface and this header maps it
 * onto the older kernel.
 */
#ifndef PERSOHUB_COMPAT_H
#define PERSOHUB_COMPAT_H

#include <linux/device.h>
#include <linux/io.h>
#include <linux/pci.h>
#include <linux/serial_reg.h>
#include <linux/timer.h>
#include <linux/version.h>

#if LINUX_VERSION_CODE < KERNEL_VERSION(6, 2, 0)
/* 6.2 made the device argument of class devnode() callbacks const. */
#define PH_DEVNODE_CONST
#else
#define PH_DEVNODE_CONST	const
#endif

#if LINUX_VERSION_CODE < KERNEL_VERSION(6, 4, 0)
/* 6.4 dropped the owner argument of class_create(), made classes const. */
#define ph_class_create(name)	class_create(THIS_MODULE, name)
#define PH_CLASS_CONST
#else
#define ph_class_create(name)	class_create(name)
#define PH_CLASS_CONST		const
#endif

#if LINUX_VERSION_CODE < KERNEL_VERSION(6, 6, 0)
/* 6.6 made the received bytes and flags u8, and their count a size_t. */
#define PH_LDISC_RX_ARGS	struct tty_struct *tty, const unsigned char *cp, \
				const char *fp, int count
#else
#define PH_LDISC_RX_ARGS	struct tty_struct *tty, const u8 *cp, \
				const u8 *fp, size_t count
#endif

#if LINUX_VERSION_CODE < KERNEL_VERSION(6, 16, 0)
/* 6.16 renamed from_timer(). */
#define timer_container_of(var, t, field)	from_timer(var, t, field)
#endif

#if LINUX_VERSION_CODE < KERNEL_VERSION(6, 11, 0)
/* 6.11 made pcim_iomap_region() public: request and map one BAR. */
static inline void __iomem *pcim_iomap_region(struct pci_dev *pdev, int bar,
					      const char *name)
{
	int ret = pcim_iomap_regions(pdev, BIT(bar), name);

	return ret ? IOMEM_ERR_PTR(ret) : pcim_iomap_table(pdev)[bar];
}
#endif

/* 6.1's serial_reg.h does not name the IIR FIFO bits yet. */
#ifndef UART_IIR_FIFO_ENABLED
#define UART_IIR_FIFO_ENABLED		0xc0
#define UART_IIR_FIFO_ENABLED_16550A	0xc0
#endif

#endif /* PERSOHUB_COMPAT_H */
