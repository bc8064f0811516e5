#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# make check-debug: the VM suites again, on a debug kernel (KASAN, lockdep,
# DEBUG_ATOMIC_SLEEP, kmemleak, UBSAN, DEBUG_OBJECTS) built from Debian's
# linux-source-6.1 by scripts/debug-kernel.sh (cached; the first build
# takes a long while). Any report from those checkers fails the run.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
read -r kernel kver tree < <(scripts/debug-kernel.sh)
mod=$top/build/debug-mod
rm -rf "$mod"
mkdir -p "$mod"
cp -r Kbuild kmod uapi "$mod/"
rm -f "$mod"/kmod/*.o "$mod"/kmod/.*.cmd
make -s -C "$tree" M="$mod" modules
export PERSOHUB_KO=$mod/persohub.ko
# The checkers slow the guest down: more memory, and every time limit (of
# the runs, of the tests in the guest) times PH_TIMEOUT_SCALE (scripts/check.sh).
export PH_TIMEOUT_SCALE=${PH_TIMEOUT_SCALE:-4}
# Under KASAN and TCG the ACPI interpreter times out routing PCI INTx
# (_PRT, AE_AML_LOOP_TIMEOUT): route through the PIRQ table instead.
# preempt=none: with PROVE_RCU, 6.1's boot-time self-test of RCU Tasks can
# deadlock (a few boots in a hundred here, under load). The new rcu_tasks
# kthread runs at the voluntary preemption point of mutex_lock() in
# synchronize_rcu_tasks(), after that checked for the kthread and found
# none; the kthread takes tasks_gp_mutex and sleeps holding it, waiting for
# callbacks, and the boot waits for the mutex forever (upstream fixed it:
# the kthread drops the mutex while it waits). Without voluntary preemption
# nothing runs in between. It is the only difference from the default
# (voluntary): the tests still run on 2 CPUs, and might_sleep() still checks.
VM_ARGS="--kernel $kernel --kver $kver --no-pvh --mem 1536 --append acpi=noirq"
VM_ARGS+=" --append preempt=none"
export VM_ARGS
CHECK_ONLY=${CHECK_ONLY:-"vm-hub vm-fault vm-nl vm-cdev vm-daemon vm-card vm-fuzz"} \
	exec scripts/check.sh
