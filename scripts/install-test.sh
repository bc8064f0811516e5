#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# install-test.sh - the install path of a site, on a real Debian 12 system
# (make check-install).
#
# A bookworm image with systemd, udev, DKMS and the guest kernel
# (scripts/debian-image.sh, built once and cached outside the tree) boots in
# QEMU (TCG) from a copy-on-write overlay, with two pci-serial-4x cards whose
# ports are the Unix sockets SOCKDIR/cCpP of scripts/vm-run, card C at PCI
# slot 0x10+C. The source tree, as a site receives it, is shared read-only.
#   boot 1: make install, as Documentation/admin-guide.md says; the site's
#           configuration is written; the guest reboots
#   boot 2: udev bound the cards and had systemd start persohubd, which
#           applied the configuration; the site simulator (build/sitesim,
#           run by selftests/simd.sh) is served with the daemon, without it
#           (systemctl stop) and with it again; then the cards are given
#           back, the module unloaded and removed from DKMS, nothing left
# The guest's checks are selftests/install_guest.sh. Output: TAP, and a
# non-zero exit status if anything failed, a kernel warning, oops or panic
# on the console included; every wait is bounded. Ends with the line
# "N passed, N failed". Logs: the consoles, the guest's journals, make
# install's output with its times, in INSTALL_TEST_LOG/NAME.
#
# Usage: install-test.sh [NAME...]
# NAME is a guest kernel as scripts/kver names it (6.1, 6.12, 6.1-rt,
# 6.12-rt, or an installed release); each has its own image, with that
# release and its Debian metapackages. Default: KVER if set, else 6.1 then
# 6.12. With several kernels each runs in turn (one failing does not stop
# the next), its results prefixed by its name, and the totals end the run.
#
# Environment: INSTALL_TEST_TIMEOUT (s, each boot; default 1200),
# INSTALL_TEST_LOG (directory that keeps, in NAME/, the console logs and
# the guest's files; default build/install-test), INSTALL_TEST_VERBOSE=1
# (stream the console), KVER, QEMU, and those of scripts/debian-image.sh.
set -euo pipefail

SELF=${0##*/}
TOP=$(cd "$(dirname "$0")/.." && pwd)
QEMU=${QEMU:-qemu-system-x86_64}
TIMEOUT=${INSTALL_TEST_TIMEOUT:-1200}
LOGTOP=${INSTALL_TEST_LOG:-$TOP/build/install-test}
VERBOSE=${INSTALL_TEST_VERBOSE:-0}
CARDS=2

# TAP results: ok STATUS DESCRIPTION, counted in $n and $failures.
. "$TOP/selftests/lib.sh"

KNAMES=("$@")
[ ${#KNAMES[@]} -gt 0 ] || read -r -a KNAMES <<<"${KVER:-6.1 6.12}"
[ ${#KNAMES[@]} -gt 0 ] || { echo "$SELF: no kernel named" >&2; exit 2; }
for a in "${KNAMES[@]}"; do
	case $a in
	-h | --help) sed -n '4,/^set -euo/{/^set -euo/d;s/^# \{0,1\}//;p}' "$0"; exit 0 ;;
	-*) echo "$SELF: unknown option $a (usage: $SELF [NAME...])" >&2; exit 2 ;;
	esac
done

echo "TAP version 13"
T0=$SECONDS

# ---------------------------------------------------------------- kernels

# Several kernels: this script once per kernel, its TAP renumbered here.
if [ ${#KNAMES[@]} -gt 1 ]; then
	CHILD=
	trap '[ -z "$CHILD" ] || kill -TERM "$CHILD" 2>/dev/null; exit 130' INT
	trap '[ -z "$CHILD" ] || kill -TERM "$CHILD" 2>/dev/null; exit 143' TERM
	summary=()
	for k in "${KNAMES[@]}"; do
		t=$SECONDS
		echo "# ---- kernel $k"
		line=
		exec {out}< <(INSTALL_TEST_LOG=$LOGTOP "$0" "$k")
		CHILD=$!
		while IFS= read -r -u "$out" l; do
			case $l in
			"ok "*) ok 0 "$k: $(echo "${l#ok }" | cut -d' ' -f2-)" ;;
			"not ok "*) ok 1 "$k: $(echo "${l#not ok }" | cut -d' ' -f2-)" ;;
			[0-9]*" passed, "[0-9]*" failed") line=$l ;;
			"TAP version"* | 1..*) ;;
			*) echo "$l" ;;
			esac
		done
		exec {out}<&-
		wait "$CHILD" 2>/dev/null || true
		CHILD=
		if [ -z "$line" ]; then
			ok 1 "$k: the run ended with its counts (none)"
			line="no counts"
		fi
		summary+=("# kernel $k: $line, $((SECONDS - t)) s")
	done
	printf '%s\n' "${summary[@]}"
	echo "1..$n"
	echo "# $SELF: $((SECONDS - T0)) s in all"
	echo "$((n - failures)) passed, $failures failed"
	[ "$failures" -eq 0 ]
	exit
fi

# One kernel.
KNAME=${KNAMES[0]}
LOGDIR=$LOGTOP/$KNAME
if ! KVER=$("$TOP/scripts/kver" "$KNAME" 2>&1); then
	ok 1 "kernel $KNAME: $KVER"
	echo "1..$n"
	echo "$((n - failures)) passed, $failures failed"
	exit 1
fi
echo "# kernel $KNAME: $KVER"

# ---------------------------------------------------------------- image

if ! IMG=$("$TOP/scripts/debian-image.sh" --kver "$KNAME" | tail -n1) ||
	[ ! -e "$IMG/ready" ]; then
	ok 1 "the Debian 12 image of $KVER (scripts/debian-image.sh)"
	echo "1..$n"
	echo "$((n - failures)) passed, $failures failed"
	exit 1
fi
if [ "$(cat "$IMG/kver")" != "$KVER" ]; then
	ok 1 "the Debian 12 image runs $KVER (it has $(cat "$IMG/kver"))"
	echo "1..$n"
	echo "$((n - failures)) passed, $failures failed"
	exit 1
fi
ok 0 "the Debian 12 image of $KVER: $IMG ($((SECONDS - T0)) s)"
if [ ! -x "$TOP/build/sitesim" ]; then
	make -s -C "$TOP" "$TOP/build/sitesim" >&2
fi

# ---------------------------------------------------------------- run state

WORK=$(mktemp -d "${TMPDIR:-/tmp}/persohub-install.XXXXXX")
SOCKDIR=$WORK/sock
mkdir -p "$WORK/src" "$WORK/ctl" "$SOCKDIR"
QEMU_PID=
SIMD_PID=
TAIL_PID=

stop() {	# pid: TERM, up to 3 s, then KILL
	local i
	kill -TERM "$1" 2>/dev/null || return 0
	for ((i = 0; i < 30; i++)); do
		kill -0 "$1" 2>/dev/null || break
		sleep 0.1
	done
	kill -KILL "$1" 2>/dev/null || true
	wait "$1" 2>/dev/null || true
}

cleanup() {
	set +e
	[ -z "$QEMU_PID" ] || stop "$QEMU_PID"
	[ -z "$SIMD_PID" ] || stop "$SIMD_PID"
	[ -z "$TAIL_PID" ] || stop "$TAIL_PID"
	mkdir -p "$LOGDIR"
	cp "$WORK"/console.* "$WORK"/ctl/*.log "$WORK"/ctl/tap.* "$LOGDIR/" \
		2>/dev/null
	rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

rm -rf "$LOGDIR"
# The source as a site receives it: the tracked files (and new ones not
# ignored), nothing built.
if git -C "$TOP" rev-parse --git-dir >/dev/null 2>&1; then
	(cd "$TOP" && git ls-files -z --cached --others --exclude-standard |
		xargs -0 cp -a --parents -t "$WORK/src" 2>/dev/null) || true
else
	(cd "$TOP" && tar --exclude=./build --exclude='*.ko' --exclude='*.o' \
		-cf - .) | tar -xf - -C "$WORK/src"
fi
for f in Makefile dkms.conf selftests/install_guest.sh; do
	if [ ! -e "$WORK/src/$f" ]; then
		ok 1 "source copy: no $f"
		echo "1..$n"
		echo "$((n - failures)) passed, $failures failed"
		exit 1
	fi
done
# Per run: the cached image stays as it was built.
qemu-img create -q -f qcow2 -F raw -b "$IMG/root.raw" "$WORK/disk.qcow2"

# Kernel problems: printk lines (with their timestamp) of these kinds.
KPAT='\[ *[0-9]+\.[0-9]+\] .*(BUG:|WARNING:|Oops|Call Trace|Kernel panic'
KPAT+='|general protection fault|UBSAN:|kernel BUG at|soft lockup'
KPAT+='|hard LOCKUP|blocked for more than|detected stall)'

# boot PHASE: one boot of the guest until it powers off or reboots (QEMU
# -no-reboot ends at either); the guest's TAP goes to stdout, renumbered.
boot() {
	local phase=$1
	local console=$WORK/console.$phase.log status=$WORK/status.$phase
	local c p dev line rc t=$SECONDS timed_out=0 deadline
	local -a qargs
	: >"$console"
	: >"$status"
	# One TCG thread for both vCPUs: with one host thread per vCPU (QEMU's
	# default), a Debian guest's text patching (static keys flipped at run
	# time, e.g. the first TCP connection's DO_ONCE) has crashed 6.12 on a
	# loaded host with "Oops: int3" in code persohub does not touch: the
	# other vCPU ran the stale code after the kernel's sync. This test is
	# about the install path, not about races: the emulator must not fail it.
	# shellcheck disable=SC2054 # commas inside QEMU's arguments
	qargs=(-accel tcg,thread=single -machine pc -no-reboot -nodefaults -display none
		-no-user-config -smp 2 -m 1024
		-kernel "$IMG/vmlinuz" -initrd "$IMG/initrd.img"
		-append "root=/dev/vda rw console=ttyS0 panic=-1 panic_on_warn=1 oops=panic 8250.nr_uarts=32 ph_phase=$phase ph_kver=$KVER"
		-drive "file=$WORK/disk.qcow2,format=qcow2,if=none,id=root,cache=unsafe"
		-device virtio-blk-pci,drive=root,addr=0x1d
		-fsdev "local,id=src,path=$WORK/src,security_model=none,readonly=on"
		-device virtio-9p-pci,fsdev=src,mount_tag=src,addr=0x1e
		-fsdev "local,id=ctl,path=$WORK/ctl,security_model=none"
		-device virtio-9p-pci,fsdev=ctl,mount_tag=ctl,addr=0x1f
		-chardev "file,id=console,path=$console" -serial chardev:console
		-chardev "file,id=status,path=$status" -serial chardev:status)
	# The cards as scripts/vm-run wires them.
	for ((c = 0; c < CARDS; c++)); do
		printf -v dev 'pci-serial-4x,addr=0x%x' $((0x10 + c))
		for p in 0 1 2 3; do
			qargs+=(-chardev "socket,id=c${c}p$p,path=$SOCKDIR/c${c}p$p,server=on,wait=off")
			dev+=",chardev$((p + 1))=c${c}p$p"
		done
		qargs+=(-device "$dev")
	done

	echo "# boot $phase: starting QEMU (TCG), at most $TIMEOUT s"
	timeout -k 5 $((TIMEOUT + 10)) "$QEMU" "${qargs[@]}" </dev/null &
	QEMU_PID=$!
	if [ "$VERBOSE" = 1 ]; then
		tail -n +1 -s 0.2 -F --pid="$QEMU_PID" "$console" 2>/dev/null | tr -d '\r' >&2 &
		TAIL_PID=$!
	fi
	if [ "$phase" = serve ]; then
		# the site simulator, at the guest's request, until /host/quit
		PERSOHUB_SHARE=$WORK/ctl PERSOHUB_SOCKDIR=$SOCKDIR \
			SITESIM="$TOP/build/sitesim" "$TOP/selftests/simd.sh" &
		SIMD_PID=$!
	fi
	deadline=$((SECONDS + TIMEOUT))
	while kill -0 "$QEMU_PID" 2>/dev/null; do
		if [ $SECONDS -ge $deadline ]; then
			timed_out=1
			stop "$QEMU_PID"
			break
		fi
		sleep 0.5
	done
	wait "$QEMU_PID" 2>/dev/null && rc=0 || rc=$?
	QEMU_PID=
	if [ -n "$SIMD_PID" ]; then
		stop "$SIMD_PID"
		SIMD_PID=
	fi
	if [ -n "$TAIL_PID" ]; then
		sleep 0.5
		stop "$TAIL_PID"
		TAIL_PID=
	fi

	# The guest's own results.
	if [ -f "$WORK/ctl/tap.$phase" ]; then
		while IFS= read -r line; do
			case $line in
			"ok "*) ok 0 "$phase: $(echo "${line#ok }" | cut -d' ' -f2-)" ;;
			"not ok "*) ok 1 "$phase: $(echo "${line#not ok }" | cut -d' ' -f2-)" ;;
			"#"*) echo "$line" ;;
			esac
		done <"$WORK/ctl/tap.$phase"
	fi

	# The runner's verdict on the boot.
	line=$(tr -d '\r' <"$status" | grep -o 'persohub-test-status .*' | tail -n1) || true
	if [ "$timed_out" = 1 ]; then
		ok 1 "$phase: the guest finished in $TIMEOUT s (timeout: stopped)"
	elif [ -z "$line" ]; then
		ok 1 "$phase: the guest reported a status (none: crash, panic or early poweroff; QEMU exit $rc)"
	else
		if [ "$line" = "persohub-test-status phase=$phase rc=0" ]; then
			ok 0 "$phase: the guest's test script ended well ($line)"
		else
			ok 1 "$phase: the guest's test script ended well ($line)"
		fi
	fi
	if tr -d '\r' <"$console" | grep -Eq "$KPAT"; then
		ok 1 "$phase: no kernel warning, oops or panic on the console"
		tr -d '\r' <"$console" | grep -E -m 10 "$KPAT" | sed 's/^/#     /'
	else
		ok 0 "$phase: no kernel warning, oops or panic on the console"
	fi
	echo "# boot $phase took $((SECONDS - t)) s"
	if [ "$failures" -gt 0 ]; then
		echo "# last lines of the console ($LOGDIR/console.$phase.log):"
		tr -d '\r' <"$console" | tail -n 40 | sed 's/^/#     /'
		return 1
	fi
}

if boot install; then
	boot serve || true
fi
echo "1..$n"
echo "# $SELF: $((SECONDS - T0)) s in all"
echo "$((n - failures)) passed, $failures failed"
[ "$failures" -eq 0 ]
