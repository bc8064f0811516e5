#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Every test of persohub: build, style, unit tests on the host, DKMS, and
# the VM suites. Each test reports TAP ("ok N name", "not ok N name",
# "ok N name # SKIP why"); this script counts them and ends with the line
# "N passed, N failed, N skipped". Exit status 0 only if nothing failed.
#
# CHECK_ONLY="name ..." runs only the named steps (see the list at the end).
# PH_KVERS="6.1 6.12 6.12-rt:kernel" says which kernels (scripts/kver names)
# the module is built, checked and tested on; a ":kernel" suffix limits that
# kernel to the kernel-side VM suites (hub, fault, nl, cdev, card). The
# first kernel is the one the kernel-independent steps use.
set -u
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
out=$top/build/check
mkdir -p "$out"
pass=0 fail=0 skip=0
failed=()
why=()	# what a failing step's runner said: printed again at the end
again=()	# steps run a second time after the emulator's own fault
# scripts/vm-run's and vm-pair's status for the emulator's fault, told apart
# from the kernel's by the oops itself (scripts/vmlog.sh, vm-run --help)
E_EMULATOR=125

# Count the TAP results of a log; $1 is the step name for the summary.
count() {
	local step=$1 log=$2 line p=0 f=0 s=0
	while IFS= read -r line; do
		line=${line%$'\r'}
		# vm-pair's machines: "[a] ok 1 ..."
		line=${line#\[[ab]\] }
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

# A step printing TAP; its non-zero exit is one more failure. A VM step
# that ends in the emulator's fault runs once more, after the function
# named by TAP_AGAIN (if set) has made its shared directories new; its
# first log is kept as STEP.emulator.log, and the summary names the step.
# A second fault fails the step.
tap() {
	local step=$1 log=$out/$1.log rc try
	shift
	mkdir -p "$out"
	for try in 1 2; do
		echo "== $step"
		"$@" 2>&1 | tee "$log"
		rc=${PIPESTATUS[0]}
		[ "$rc" = $E_EMULATOR ] && [ "$try" = 1 ] || break
		mv "$log" "$out/$step.emulator.log"
		again+=("$step: the emulator faulted, not the kernel (see build/check/$step.emulator.log)")
		echo "== $step: the emulator faulted, not the kernel: once more"
		[ -z "${TAP_AGAIN:-}" ] || "$TAP_AGAIN"
	done
	if [ "$rc" -ne 0 ]; then
		echo "not ok 0 $step: exit status $rc" >>"$log"
		# vm-run's verdict and the kernel lines it quotes, so that the
		# last lines of a run say why (a CI log may keep only those)
		w=$(grep -a -E '^[a-z-]+: FAIL: |^    \[ *[0-9]+\.[0-9]+\] ' \
			"$log" | head -n 12)
		[ -z "$w" ] || why+=("$step:"$'\n'"$(sed 's/^/  /' <<<"$w")")
	fi
	count "$step" "$log"
}

# TAP_AGAIN for vm(): the shared directory as new (dynamic scope: vm's own)
share_again() {
	rm -rf "$share"
	mkdir -p "$share"
}

# TAP_AGAIN for two machines: their shares keep only the certificates
shares_again() {
	find "$a" "$b" -mindepth 1 -maxdepth 1 ! -name tls ! -name certs \
		-exec rm -rf {} +
}

kvers=${PH_KVERS:-6.1}
read -r -a kvers <<<"$kvers"

no_warnings() {
	# The module for every kernel and userspace, rebuilt from scratch: no
	# warning at all.
	local k
	make -s clean >/dev/null 2>&1
	mkdir -p "$out"
	: >"$out/build.out"
	for k in "${kvers[@]}"; do
		make module test-module KVER="${k%:*}" 2>&1 |
			tee -a "$out/build.out"
		[ "${PIPESTATUS[0]}" -eq 0 ] || return 1
	done
	make userspace 2>&1 | tee -a "$out/build.out"
	[ "${PIPESTATUS[0]}" -eq 0 ] && ! grep -qi 'warning:' "$out/build.out"
}

# persohubd.service as systemd measures its confinement (systemd-analyze
# security, offline): the overall exposure stays under "MEDIUM" (5.0).
service_exposure() {
	systemd-analyze security --offline=yes --no-pager --threshold=49 \
		"$top/scripts/persohubd.service"
}

sparse_clean() {
	make -s sparse KVER="$1" 2>&1 | tee "$out/sparse-$1.out"
	[ "${PIPESTATUS[0]}" -eq 0 ] &&
		! grep -E '(warning|error):' "$out/sparse-$1.out"
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
	# PH_POISON (vm-nl): freed objects are poisoned (slub_debug=P), so that
	# a use after free shows as wrong values even without KASAN.
	# shellcheck disable=SC2086 # VM_ARGS: words for vm-run (debug kernel)
	TAP_AGAIN=share_again tap "$step" scripts/vm-run ${VM_ARGS:-} ${PH_POISON:-} \
		--share "$share" "${@:1:$#-1}" \
		"$guest_env$cmd; rc=\$?; : >/host/quit; exit \$rc"
	rm -rf "$share"
}

# Two test machines on one LAN (scripts/vm-pair), each with a card, the
# simulator agent and its own shared directory; NATS with mutual TLS between
# them (selftests/vm_lan.sh). The certificates are made here, once for both:
# one site CA. vm-pair prefixes each machine's lines with "[a] " or "[b] ",
# taken off for the TAP count.
vm_lan() {
	local step=$1 k=$2 a b
	a=$(mktemp -d)
	b=$(mktemp -d)
	if mkdir "$a/tls" && build/guest/tlscerts "$a/tls" 10.0.2.1 10.0.2.2 &&
		cp -a "$a/tls" "$b/"; then
		# shellcheck disable=SC2086 # VM_ARGS, $k: words
		TAP_AGAIN=shares_again tap "$step" bash -c 'set -o pipefail; "$@" 2>&1 | sed -u "s/^\[[ab]\] //"' _ \
			scripts/vm-pair ${VM_ARGS:-} $k --cards 1 --timeout $((240 * scale)) \
			--append no_timer_check \
			--share-a "$a" --share-b "$b" -- \
			"${guest_env}sh /usr/share/persohub/selftests/vm_lan.sh" \
			"${guest_env}sh /usr/share/persohub/selftests/vm_lan.sh"
	else
		echo "not ok 1 $step: tlscerts failed" >"$out/$step.log"
		count "$step" "$out/$step.log"
	fi
	rm -rf "$a" "$b"
}

# A two-machine cascade test, selftests/$2 on both: each machine's share
# holds the same certificates (its NATS server's names both addresses);
# the rest are vm-pair's options.
vm_cascade() {
	local step=$1 script=$2 a b
	shift 2
	a=$(mktemp -d)
	b=$(mktemp -d)
	mkdir "$a/certs" &&
		"$top/build/guest/tlscerts" "$a/certs" 10.0.2.1 10.0.2.2 >/dev/null &&
		cp -r "$a/certs" "$b/"
	# Two emulators at once on a loaded host: the kernel's IO-APIC timer
	# check may find the timer too slow and panic; it is not needed here.
	# shellcheck disable=SC2086 # VM_ARGS: words for vm-run
	TAP_AGAIN=shares_again tap "$step" scripts/vm-pair ${VM_ARGS:-} "$@" \
		--append no_timer_check \
		--share-a "$a" --share-b "$b" --timeout $((240 * scale)) -- \
		"${guest_env}sh /usr/share/persohub/selftests/$script" \
		"${guest_env}sh /usr/share/persohub/selftests/$script"
	rm -rf "$a" "$b"
}

# One kernel's VM suites; $1 is its name, $2 "kernel" for the kernel-side
# suites only. Step names carry the kernel: vm-hub@6.12.
vm_suites() {
	local k=$1 only=$2 s t suites=(vm-hub vm-fault vm-nl vm-cdev vm-daemon vm-audit vm-lan vm-cascade-peer vm-cascade vm-cascade-site vm-card vm-tty vm-fault-tty vm-framing vm-framing-tty vm-fuzz vm-classes)
	# the kernel's paths on PREEMPT_RT; framings are the same C on any kernel
	[ "$only" != kernel ] || suites=(vm-hub vm-fault vm-nl vm-cdev vm-card vm-tty vm-fault-tty)
	# the audit trail, the metrics, the cascade of hubs (NATS) and the
	# classes at saturation are persohubd's and the matching's, the same C
	# on any kernel, the LAN is the emulator's: the first kernel only
	if [ "$k" != "${kvers[0]%:*}" ]; then
		local keep=() x
		for x in "${suites[@]}"; do
			case " vm-audit vm-lan vm-cascade-peer vm-cascade vm-cascade-site vm-classes " in
			*" $x "*) ;;
			*) keep+=("$x") ;;
			esac
		done
		suites=("${keep[@]}")
	fi
	for s in "${suites[@]}"; do
		[ -n "$s" ] && want "$s" || continue
		t=$SECONDS
		vm_suite "$s" "$k"
		echo "== $s@$k took $((SECONDS - t)) s"
	done
}

vm_suite() {
	local s=$1 k=$2 kv
	kv="--kver $k"
	# the debug kernel names its own kernel (VM_ARGS)
	[[ "${VM_ARGS:-}" != *--kver* ]] || kv=
	case $s in
	vm-hub)
		# shellcheck disable=SC2086
		vm "$s@$k" $kv --cards 2 --telnet --timeout $((600 * scale)) \
			--host "$top/selftests/simd.sh" -- \
			'PH_EXPECT_CARDS=2 vm_hub_test'
		;;
	vm-fault)
		# shellcheck disable=SC2086
		vm "$s@$k" $kv --cards 2 --telnet --timeout $((900 * scale)) \
			--host "$top/selftests/simd.sh" -- \
			"${SEED:+SEED=$SEED }vm_fault_test"
		;;
	vm-fault-tty)
		# The same faults on tty ports: four 8250 ports of a tty card,
		# a USB adapter and a card port as stations; an 8250 port and a
		# USB adapter as servers. Faults that reconnect a line (which
		# unplugs an adapter) fall on the 8250 and card ports. The
		# test attaches the ttys itself: an adapter is plugged in only
		# while the simulator is connected.
		# shellcheck disable=SC2086
		vm "$s@$k" $kv --cards 1 --tty-cards 2 --usb-serial 2 --telnet \
			--timeout $((900 * scale)) \
			--host "$top/selftests/simd.sh" -- \
			"${SEED:+SEED=$SEED }PH_FAULT_STATIONS=t0p0,t0p1,t0p2,t0p3,c0p0,u0 PH_FAULT_SERVERS=t1p0,u1 vm_fault_test"
		;;
	vm-framing)
		# The faults again, every port in its own framing, all five
		# represented, the hub translating between them.
		# shellcheck disable=SC2086
		vm "$s@$k" $kv --cards 2 --telnet --timeout $((900 * scale)) \
			--host "$top/selftests/simd.sh" -- \
			"${SEED:+SEED=$SEED }PH_FAULT_FRAMING=S0=hdlc,S1=gap,S2=stx-len,S3=stx-etx,S4=len16,S5=stx-etx:lrc,V0=len16,V1=stx-etx:lrc vm_fault_test"
		;;
	vm-framing-tty)
		# The same on tty ports: every framing on an 8250 or USB port.
		# shellcheck disable=SC2086
		vm "$s@$k" $kv --cards 1 --tty-cards 2 --usb-serial 2 --telnet \
			--timeout $((900 * scale)) \
			--host "$top/selftests/simd.sh" -- \
			"${SEED:+SEED=$SEED }PH_FAULT_STATIONS=t0p0,t0p1,t0p2,t0p3,c0p0,u0 PH_FAULT_SERVERS=t1p0,u1 PH_FAULT_FRAMING=S0=hdlc,S1=gap,S2=stx-len,S3=stx-etx,S4=len16,S5=stx-etx:lrc,V0=len16,V1=hdlc vm_fault_test"
		;;
	vm-nl)
		# shellcheck disable=SC2086
		PH_POISON="--append slub_debug=P" \
			vm "$s@$k" $kv --cards 2 --telnet --timeout $((600 * scale)) \
			--host "$top/selftests/simd.sh" -- vm_nl_test
		;;
	vm-cdev)
		# shellcheck disable=SC2086
		vm "$s@$k" $kv --cards 2 --telnet --timeout $((600 * scale)) \
			--host "$top/selftests/simd.sh" -- vm_cdev_test
		;;
	vm-daemon)
		# shellcheck disable=SC2086
		vm "$s@$k" $kv --cards 2 --telnet --timeout $((600 * scale)) \
			--host "$top/selftests/simd.sh" -- \
			'sh /usr/share/persohub/selftests/vm_daemon.sh'
		;;
	vm-classes)
		# request classes at saturation, persohubd and the kernel
		# shellcheck disable=SC2086
		vm "$s@$k" $kv --cards 2 --telnet --timeout $((600 * scale)) \
			--host "$top/selftests/simd.sh" -- \
			'sh /usr/share/persohub/selftests/vm_classes.sh'
		;;
	vm-audit)
		# persohubd's audit records and metrics file
		# shellcheck disable=SC2086
		vm "$s@$k" $kv --cards 2 --telnet --timeout $((600 * scale)) \
			--host "$top/selftests/simd.sh" -- \
			'sh /usr/share/persohub/selftests/vm_audit.sh'
		;;
	vm-lan)
		vm_lan "$s@$k" "$kv"
		;;
	vm-cascade-peer)
		# persohubd's [cascade] against a NATS server in the guest and
		# a test peer playing the other hub; no serial port needed
		# shellcheck disable=SC2086
		tap "$s@$k" scripts/vm-run ${VM_ARGS:-} $kv --cards 0 \
			--timeout $((300 * scale)) -- \
			"$guest_env"'sh /usr/share/persohub/selftests/vm_cascade.sh'
		;;
	vm-cascade)
		# Two hubs on one LAN pooling their servers through a NATS
		# cluster: overflow, then a cut link, a killed hub, a stopped
		# NATS server, under load. One CA for both (tlscerts).
		# shellcheck disable=SC2086
		vm_cascade "$s@$k" vm_cascade_pair.sh $kv --cards 0 --no-sim
		;;
	vm-cascade-site)
		# The same on serial ports: each machine its cards and its
		# simulated site (selftests/simd.sh); stations and a server
		# on A, servers on B answering with A's key.
		# shellcheck disable=SC2086
		vm_cascade "$s@$k" vm_cascade_site.sh $kv --cards 2
		;;
	vm-fuzz)
		# Stations on card 0 so the devices exist; the seed is printed.
		# shellcheck disable=SC2086
		tap "$s@$k" scripts/vm-run ${VM_ARGS:-} $kv --cards 2 --timeout $((600 * scale)) -- \
			"$guest_env"'for p in 0 1 2 3; do echo station > /sys/class/persohub/0000:00:10.0-$p/role; done; vm_nlfuzz 200000'
		;;
	vm-tty)
		# the tty backend: a card, a tty card left to 8250, USB adapters
		# shellcheck disable=SC2086
		vm "$s@$k" $kv --cards 1 --tty-cards 1 --usb-serial 2 --telnet \
			--timeout $((600 * scale)) \
			--host "$top/selftests/simd.sh" -- \
			'sh /usr/share/persohub/selftests/vm_tty.sh'
		;;
	vm-card)
		# shellcheck disable=SC2086
		vm "$s@$k" $kv --cards 3 --timeout $((600 * scale)) \
			--device pci-testdev,addr=0x1e \
			--host "$top/selftests/simd.sh" -- \
			'sh /usr/share/persohub/selftests/vm_card.sh 3'
		;;
	esac
}

steps=(build unit style sparse dkms fuzz vm-hub vm-fault vm-nl vm-cdev vm-daemon vm-audit vm-lan vm-cascade-peer vm-cascade vm-cascade-site vm-card vm-tty vm-fault-tty vm-framing vm-framing-tty vm-fuzz vm-classes)
[ -n "${CHECK_ONLY:-}" ] && read -r -a steps <<<"$CHECK_ONLY"
want() {
	local s
	for s in "${steps[@]}"; do
		[ "$s" != "$1" ] || return 0
	done
	return 1
}

start=$SECONDS
for s in "${steps[@]}"; do
	t=$SECONDS
	case $s in
	build) one build no_warnings ;;
	unit)
		tap unit-frame build/frame_test
		tap unit-framing build/framing_test
		tap unit-daemon build/daemon_test
		tap unit-sitesim build/sitesim_loop_test
		tap unit-ctl selftests/persohubctl_host.sh build/bin/persohubctl
		tap unit-bench selftests/bench_report_test.sh scripts/bench-report.sh
		tap unit-vmlog selftests/vmlog_test.sh "$top"
		one unit-service service_exposure
		tap unit-nats-conf selftests/nats_conf_test.sh "$top" build
		;;
	style) one style make -s style ;;
	sparse)
		for k in "${kvers[@]}"; do
			[[ $k == *:kernel ]] || one "sparse@$k" sparse_clean "$k"
		done
		;;
	dkms)
		for k in "${kvers[@]}"; do
			k=${k%:*}
			KVER=$("$top/scripts/kver" "$k") tap "dkms@$k" selftests/dkms.sh
		done
		;;
	fuzz) make -s fuzzers >/dev/null && tap fuzz scripts/fuzz.sh 60 ;;
	vm-*) continue ;;
	*) echo "unknown step $s" >&2; fail=$((fail + 1)) ;;
	esac
	echo "== $s took $((SECONDS - t)) s"
done
for k in "${kvers[@]}"; do
	only=
	[[ $k != *:kernel ]] || only=kernel
	vm_suites "${k%:*}" "$only"
done

echo
for f in "${failed[@]}"; do echo "FAILED $f"; done
for w in "${why[@]}"; do echo "WHY $w"; done
for w in "${again[@]}"; do echo "RUN AGAIN $w"; done
echo "checks took $((SECONDS - start)) s"
if [ "$skip" -gt 0 ]; then
	echo "$pass passed, $fail failed, $skip skipped"
else
	echo "$pass passed, $fail failed"
fi
[ "$fail" -eq 0 ]
