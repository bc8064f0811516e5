// SPDX-License-Identifier: GPL-2.0
/*
 * persohub_fail: fault injection for the tests. Each write of N to the
 * parameter "fail" makes the next N allocations of an answer's frame in
 * persohub (ph_txbuf_answer()) fail, as a GFP_ATOMIC allocation can;
 * "failed" counts those. Debian's kernels have no fault injection
 * framework, so a kretprobe does it: the allocation is made, freed at
 * once, and ERR_PTR(-ENOMEM) returned.
 *
 * For the test machine only: never load it on a site.
 */

#include <linux/atomic.h>
#include <linux/kprobes.h>
#include <linux/module.h>
#include <linux/slab.h>

static atomic_t ph_fail_next = ATOMIC_INIT(0);
static atomic_t ph_failed = ATOMIC_INIT(0);

static int ph_fail_set(const char *val, const struct kernel_param *kp)
{
	int n, ret = kstrtoint(val, 0, &n);

	if (ret)
		return ret;
	atomic_set(&ph_fail_next, n);
	return 0;
}

static int ph_fail_get(char *buf, const struct kernel_param *kp)
{
	return sysfs_emit(buf, "%d\n", atomic_read(kp->arg));
}

static const struct kernel_param_ops ph_fail_ops = {
	.set = ph_fail_set,
	.get = ph_fail_get,
};

module_param_cb(fail, &ph_fail_ops, &ph_fail_next, 0600);
MODULE_PARM_DESC(fail, "allocations of a frame to send to fail next");

static const struct kernel_param_ops ph_failed_ops = {
	.get = ph_fail_get,
};

module_param_cb(failed, &ph_failed_ops, &ph_failed, 0400);
MODULE_PARM_DESC(failed, "allocations failed so far");

/* Fail this call? */
static int ph_fail_entry(struct kretprobe_instance *ri, struct pt_regs *regs)
{
	bool *fail = (bool *)ri->data;

	*fail = atomic_dec_if_positive(&ph_fail_next) >= 0;
	return 0;
}

static int ph_fail_ret(struct kretprobe_instance *ri, struct pt_regs *regs)
{
	bool *fail = (bool *)ri->data;

	if (*fail) {
		void *tb = (void *)regs_return_value(regs);

		if (!IS_ERR(tb))
			kfree(tb);
		/* What the function returns when its allocation fails. */
		regs_set_return_value(regs, (unsigned long)ERR_PTR(-ENOMEM));
		atomic_inc(&ph_failed);
	}
	return 0;
}

static struct kretprobe ph_fail_probe = {
	.kp.symbol_name = "ph_txbuf_answer",
	.entry_handler = ph_fail_entry,
	.handler = ph_fail_ret,
	.data_size = sizeof(bool),
	.maxactive = 32,
};

static int __init ph_fail_init(void)
{
	return register_kretprobe(&ph_fail_probe);
}

static void __exit ph_fail_exit(void)
{
	unregister_kretprobe(&ph_fail_probe);
}

module_init(ph_fail_init);
module_exit(ph_fail_exit);
MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("persohub test: fail allocations of frames to send");
