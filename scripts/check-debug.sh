#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Usage: check-debug.sh [6.1] [6.12]     (default: both, 6.1 first)
#
# make check-debug: the VM suites again, on debug kernels (KASAN, lockdep,
# DEBUG_ATOMIC_SLEEP, kmemleak, UBSAN, DEBUG_OBJECTS) built from Debian's
# linux-source-6.1 and linux-source-6.12 by scripts/debug-kernel.sh
# (cached; the first build of each takes a long while). make check-debug
# KVER=6.12 (or KVER=6.12 check-debug.sh) runs one kernel. Any report from
# those checkers fails the run. Each kernel's steps are named like make
# check's (vm-hub@6.1, vm-hub@6.12); the last line sums both kernels:
# "N passed, N failed".
set -uo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top" || exit
vers=("$@")
[ ${#vers[@]} -gt 0 ] || read -r -a vers <<<"${KVER:-6.1 6.12}"
for v in "${vers[@]}"; do
	case $v in
	6.1 | 6.12) ;;
	*) echo "check-debug: no debug kernel '$v' (6.1 or 6.12)" >&2; exit 2 ;;
	esac
done

# The checkers slow the guest down: more memory, and every time limit (of
# the runs, of the tests in the guest) times PH_TIMEOUT_SCALE (scripts/check.sh).
export PH_TIMEOUT_SCALE=${PH_TIMEOUT_SCALE:-4}
# Every VM suite of make check (its list of steps), unless CHECK_ONLY names some.
suites=$(sed -n 's/^steps=(\(.*\))$/\1/p' scripts/check.sh | tr ' ' '\n' |
	grep '^vm-' | tr '\n' ' ')
suites=${CHECK_ONLY:-${suites:-vm-hub vm-fault vm-nl vm-cdev vm-daemon vm-card vm-fuzz}}
out=$top/build/check-debug
mkdir -p "$out"

# The kernel command line a debug kernel needs on the test machine.
#
# acpi=noirq, both kernels: under KASAN and TCG the ACPI interpreter times
# out routing PCI INTx (_PRT, AE_AML_LOOP_TIMEOUT: ACPICA gives a While
# loop 30 s, in 6.1 as in 6.12): route through the PIRQ table instead.
#
# preempt=none, 6.1 only: with PROVE_RCU, 6.1's boot-time self-test of RCU
# Tasks can deadlock (a few boots in a hundred here, under load). The new
# rcu_tasks kthread runs at the voluntary preemption point of mutex_lock()
# in synchronize_rcu_tasks(), after that checked for the kthread and found
# none; the kthread takes tasks_gp_mutex and sleeps holding it, waiting for
# callbacks, and the boot waits for the mutex forever. Without voluntary
# preemption nothing runs in between. It is the only difference from the
# default (voluntary): the tests still run on 2 CPUs, and might_sleep()
# still checks. 6.12 has the upstream fix (rcu_tasks_one_gp() drops
# tasks_gp_mutex while it waits for callbacks), so it keeps the default
# voluntary preemption, and its extra preemption points.
append_for() {
	case $1 in
	6.1) echo "acpi=noirq preempt=none" ;;
	6.12) echo "acpi=noirq" ;;
	esac
}

# One kernel: build it (once) and the module for it, then the suites.
run_one() {
	local v=$1 kernel='' kver='' tree='' mod w
	read -r kernel kver tree < <(scripts/debug-kernel.sh "$v")
	if [ -z "${tree:-}" ]; then
		echo "check-debug: no debug kernel $v"
		return 1
	fi
	echo "== debug kernel $v: $kver ($kernel)"
	mod=$top/build/debug-mod/$v
	rm -rf "$mod"
	mkdir -p "$mod"
	cp -p --parents Kbuild kmod/*.c kmod/*.h uapi/linux/persohub.h "$mod/"
	make -s -C "$tree" M="$mod" modules || return 1
	VM_ARGS="--kernel $kernel --kver $kver --no-pvh --mem 1536"
	for w in $(append_for "$v"); do
		VM_ARGS+=" --append $w"
	done
	PERSOHUB_KO=$mod/persohub.ko VM_ARGS=$VM_ARGS PH_KVERS=$v \
		CHECK_ONLY=$suites scripts/check.sh
}

start=$SECONDS
pass=0 fail=0 skip=0 rc=0
failed=()
for v in "${vers[@]}"; do
	t=$SECONDS
	run_one "$v" 2>&1 | tee "$out/$v.log"
	[ "${PIPESTATUS[0]}" -eq 0 ] || rc=1
	# Each step's count ("== vm-hub@6.1: N passed, N failed, N skipped"),
	# summed here, so that what ran still counts if check.sh ended early.
	while read -r p f s; do
		pass=$((pass + p)) fail=$((fail + f)) skip=$((skip + s))
	done < <(sed -nE 's/^== [^ ]+: ([0-9]+) passed, ([0-9]+) failed, ([0-9]+) skipped$/\1 \2 \3/p' "$out/$v.log")
	while IFS= read -r line; do failed+=("$line"); done < <(grep '^FAILED ' "$out/$v.log")
	# check.sh's last line: "N passed, N failed[, N skipped]"
	if ! grep -qE '^[0-9]+ passed, [0-9]+ failed' "$out/$v.log"; then
		fail=$((fail + 1))
		failed+=("FAILED check-debug@$v: the run did not finish (see $out/$v.log)")
	fi
	echo "== check-debug@$v took $((SECONDS - t)) s"
done

echo
echo "check-debug: ${vers[*]}"
for f in "${failed[@]}"; do echo "$f"; done
echo "check-debug took $((SECONDS - start)) s"
if [ "$skip" -gt 0 ]; then
	echo "$pass passed, $fail failed, $skip skipped"
else
	echo "$pass passed, $fail failed"
fi
[ "$rc" -eq 0 ] && [ "$fail" -eq 0 ]
