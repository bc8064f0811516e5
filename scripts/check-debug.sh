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
export VM_ARGS="--kernel $kernel --kver $kver --no-pvh --mem 1536 --append acpi=noirq"
CHECK_ONLY=${CHECK_ONLY:-"vm-hub vm-fault vm-nl vm-cdev vm-daemon vm-card vm-fuzz"} \
	exec scripts/check.sh
