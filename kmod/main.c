// SPDX-License-Identifier: GPL-2.0
/*
 * persohub: management interface of a smart-card personalization site.
 *
 * Stations (personalization stations) and servers (encryption peripherals,
 * data servers) hang on the ports of multi-port 16550 serial cards. Each
 * request frame a station sends goes to any free server; the response goes
 * back to that station.
 */

#include <linux/module.h>

#include "persohub.h"

static int __init ph_init(void)
{
	int ret;

	ph_hub_init();

	ret = ph_tty_init();
	if (ret)
		goto err_hub;

	ret = ph_sysfs_init();
	if (ret)
		goto err_tty;

	ret = ph_chardev_init();
	if (ret)
		goto err_sysfs;

	ret = ph_netlink_init();
	if (ret)
		goto err_chardev;

	ret = ph_card_init();
	if (ret)
		goto err_netlink;

	pr_info("loaded\n");
	return 0;

err_netlink:
	ph_netlink_exit();
err_chardev:
	ph_chardev_exit();
err_sysfs:
	ph_sysfs_exit();
err_tty:
	ph_tty_exit();
err_hub:
	ph_hub_exit();
	return ret;
}

static void __exit ph_exit(void)
{
	ph_tty_detach_all();
	ph_card_exit();
	ph_netlink_exit();
	ph_hub_exit();
	ph_chardev_exit();
	ph_sysfs_exit();
	ph_tty_exit();
	pr_info("unloaded\n");
}

module_init(ph_init);
module_exit(ph_exit);
MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("Smart-card personalization hub for multi-port serial cards");
MODULE_AUTHOR("persohub developers");
