#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Every test of persohub: build, style, unit tests on the host, DKMS, and
# the VM suites. Each test reports TAP ("ok N name", "not ok N name",
# "ok N name # SKIP why"); this script counts them and ends with the line
# "N passed, N failed, N skipped". Exit status 0 only if nothing failed.
#
# CHECK_ONLY="name ..." runs only the named steps (see the list at the end).
set -u
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
out=$top/build/check
mkdir -p "$out"
pass=0 fail=0 skip=0
failed=()

# Count the TAP results of a log; $1 is the step name for the summary.
count() {
	local step=$1 log=$2 line p=0 f=0 s=0
	while IFS= read -r line; do
		line=${line%$'\r'}
		case "$line" in
		"ok "*"# SKIP"* | "ok "*"# skip"*) s=$((s + 1)) ;;
		"ok "*) p=$((p + 1)) ;;
		"not ok "*)
			f=$((f + 1))
			failed+=("$step: ${line#not ok }")
			;;
		esac
	done <"$log"
	pass=$((pass + p)) fail=$((fail + f)) skip=$((skip + s))
	echo "== $step: $p passed, $f failed, $s skipped"
}

# A step that is itself one test: its exit status is the result.
one() {
	local step=$1 log=$out/$1.log
	shift
	mkdir -p "$out"
	echo "== $step"
	if "$@" >"$log" 2>&1; then
		echo "ok 1 $step" >>"$log"
	else
		echo "not ok 1 $step (exit $?)" >>"$log"
		tail -n 40 "$log"
	fi
	count "$step" "$log"
}

# A step printing TAP; its non-zero exit is one more failure.
tap() {
	local step=$1 log=$out/$1.log rc
	shift
	mkdir -p "$out"
	echo "== $step"
	"$@" 2>&1 | tee "$log"
	rc=${PIPESTATUS[0]}
	[ "$rc" -eq 0 ] || echo "not ok 0 $step: exit status $rc" >>"$log"
	count "$step" "$log"
}

no_warnings() {
	# The module and userspace, rebuilt from scratch: no warning at all.
	make -s clean >/dev/null 2>&1
	mkdir -p "$out"
	make all 2>&1 | tee "$out/build.out"
	[ "${PIPESTATUS[0]}" -eq 0 ] && ! grep -qi 'warning:' "$out/build.out"
}

sparse_clean() {
	make -s sparse 2>&1 | tee "$out/sparse.out"
	[ "${PIPESTATUS[0]}" -eq 0 ] &&
		! grep -E '(warning|error):' "$out/sparse.out"
}

# PH_TIMEOUT_SCALE=N (make check-debug: a slow debug kernel) multiplies the
# time limit of every VM run, and is passed to the guest, where the tests
# multiply theirs (selftests/phtest.h, selftests/lib.sh).
scale=${PH_TIMEOUT_SCALE:-1}
case $scale in
'' | 0* | *[!0-9]*) echo "PH_TIMEOUT_SCALE=$scale: not a number > 0" >&2; exit 2 ;;
esac
guest_env=
[ "$scale" = 1 ] || guest_env="export PH_TIMEOUT_SCALE=$scale; "

# A VM suite: the guest prints TAP, the runner checks the kernel log. The
# last argument is the guest command; when it ends, the host agent
# (selftests/simd.sh) is told to quit through the shared directory.
vm() {
	local step=$1 share cmd
	shift
	cmd=${*: -1}
	share=$(mktemp -d)
	# shellcheck disable=SC2086 # VM_ARGS: words for vm-run (debug kernel)
	tap "$step" scripts/vm-run ${VM_ARGS:-} --share "$share" "${@:1:$#-1}" \
		"$guest_env$cmd; rc=\$?; : >/host/quit; exit \$rc"
	rm -rf "$share"
}

steps=(build unit style sparse dkms fuzz vm-hub vm-fault vm-nl vm-cdev vm-daemon vm-card vm-fuzz)
[ -n "${CHECK_ONLY:-}" ] && read -r -a steps <<<"$CHECK_ONLY"
start=$SECONDS
for s in "${steps[@]}"; do
	t=$SECONDS
	case $s in
	build) one build no_warnings ;;
	unit)
		tap unit-frame build/frame_test
		tap unit-daemon build/daemon_test
		;;
	style) one style make -s style ;;
	sparse) one sparse sparse_clean ;;
	dkms) tap dkms selftests/dkms.sh ;;
	fuzz) make -s fuzzers >/dev/null && tap fuzz scripts/fuzz.sh 60 ;;
	vm-hub)
		vm vm-hub --cards 2 --telnet --timeout $((600 * scale)) \
			--host "$top/selftests/simd.sh" -- \
			'PH_EXPECT_CARDS=2 vm_hub_test'
		;;
	vm-fault)
		vm vm-fault --cards 2 --telnet --timeout $((900 * scale)) \
			--host "$top/selftests/simd.sh" -- \
			"${SEED:+SEED=$SEED }vm_fault_test"
		;;
	vm-nl)
		vm vm-nl --cards 2 --telnet --timeout $((600 * scale)) \
			--host "$top/selftests/simd.sh" -- vm_nl_test
		;;
	vm-cdev)
		vm vm-cdev --cards 2 --telnet --timeout $((600 * scale)) \
			--host "$top/selftests/simd.sh" -- vm_cdev_test
		;;
	vm-daemon)
		vm vm-daemon --cards 2 --telnet --timeout $((600 * scale)) \
			--host "$top/selftests/simd.sh" -- \
			'sh /usr/share/persohub/selftests/vm_daemon.sh'
		;;
	vm-fuzz)
		# Stations on card 0 so the devices exist; the seed is printed.
		# shellcheck disable=SC2086
		tap vm-fuzz scripts/vm-run ${VM_ARGS:-} --cards 2 --timeout $((600 * scale)) -- \
			"$guest_env"'for p in 0 1 2 3; do echo station > /sys/class/persohub/0000:00:10.0-$p/role; done; vm_nlfuzz 200000'
		;;
	vm-card)
		vm vm-card --cards 3 --timeout $((600 * scale)) \
			--host "$top/selftests/simd.sh" -- \
			'sh /usr/share/persohub/selftests/vm_card.sh 3'
		;;
	*) echo "unknown step $s" >&2; fail=$((fail + 1)) ;;
	esac
	echo "== $s took $((SECONDS - t)) s"
done

echo
for f in "${failed[@]}"; do echo "FAILED $f"; done
echo "checks took $((SECONDS - start)) s"
if [ "$skip" -gt 0 ]; then
	echo "$pass passed, $fail failed, $skip skipped"
else
	echo "$pass passed, $fail failed"
fi
[ "$fail" -eq 0 ]
