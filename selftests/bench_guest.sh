#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# Guest side of scripts/bench.sh. For each phase the host lists in
# /host/phases ("TAG STATIONS SERVERS SECONDS ...", TAG being
# WORKLOAD_MODE_RHO_PORTS_rRUN), in its order: set MODE up on the first
# STATIONS + SERVERS ports (stations first), tell the host
# (/host/started.TAG after /host/start.TAG), measure, tear MODE down. All
# the configurations run in one boot, interleaved, so a noisy machine
# weighs on them alike.
#
# The measured window is the host's load minus a settling second at each
# end, timed by the guest's own clock: one sleep, no polling of /host and
# no writes to it in between, so the CPU figures hold the hub and its
# controller, not this script. They are snapshots of /proc/stat (and of
# the controller process) at both ends of the window, with /proc/uptime
# for its length; the hub's dispatch histogram is taken around the whole
# phase. Lockstat phases (WORKLOAD lockstat) also clear /proc/lock_stat
# at the window's start and copy it, with /proc/lockdep and the module's
# section addresses, at its end.
#
#   bench_guest.sh
#
# MODE: daemon (persohubd), noaudit (persohubd with "audit = no"),
# kernel (the hub's own matching), static
# (persohubd, each station pinned to one server), tty (8250 and
# persohub's line discipline), baseline (the cards given back to the
# kernel's 8250 driver, phbase on the ttyS).
set -eu
conf=/tmp/persohub.conf
pid=
SETTLE=1	# s of load before and after the window

wait_for() {
	while [ ! -e "$1" ]; do
		sleep 0.2
	done
}

# Card port I (from 0) as persohub names it: card I / 4 at 00:(10 + I / 4).
port_name() {
	printf '0000:00:%02x.0-%d' $((0x10 + $1 / 4)) $(($1 % 4))
}

# The ports of a phase: stations on the first NST ports, servers after.
layout() {	# NST NSRV
	stations='' servers=''
	i=0
	while [ $i -lt $(($1 + $2)) ]; do
		if [ $i -lt "$1" ]; then
			stations="$stations $(port_name $i)"
		else
			servers="$servers $(port_name $i)"
		fi
		i=$((i + 1))
	done
}

# CPU of the whole guest (ticks of /proc/stat: user nice system irq
# softirq), of the controller process (utime stime) and the time.
snap() {
	read -r up _ </proc/uptime
	set -- $(sed -n 's/^cpu  *//p' /proc/stat)
	echo "uptime $up user $1 nice $2 system $3 irq $6 softirq $7"
	if [ -n "$pid" ]; then
		set -- $(sed 's/^.*) //' /proc/$pid/stat)
		echo "ctl_user ${12} ctl_system ${13}"
	else
		echo "ctl_user 0 ctl_system 0"
	fi
	echo "clk_tck $clk_tck"
}

# Lock statistics (lockstat kernel): cleared at the window's start.
lockstat_begin() {
	[ -w /proc/lock_stat ] || { echo "bench: no /proc/lock_stat" >&2; return 1; }
	[ ! -w /proc/sys/kernel/lock_stat ] || echo 1 >/proc/sys/kernel/lock_stat
	echo 0 >/proc/lock_stat
}

lockstat_end() {	# TAG
	cp /proc/lock_stat "/tmp/lock_stat.$1"
}

lockstat_save() {	# TAG
	cp "/tmp/lock_stat.$1" "/host/lock_stat.$1"
	cp /proc/lockdep "/host/lockdep.$1"
	for f in /sys/module/persohub/sections/.data /sys/module/persohub/sections/.bss; do
		if [ -e "$f" ]; then
			echo "${f##*/} $(cat "$f")"
		fi
	done >"/host/sections.$1"
	cat /proc/modules >"/host/modules.$1"
}

hist() {
	if [ "$1" = baseline ]; then
		echo '{}'
	else
		persohubctl -j stats
	fi
}

write_conf() {
	printf '[daemon]\nrealtime = yes\n' >$conf
	[ "$1" != noaudit ] || printf 'audit = no\n' >>$conf
	for p in $stations; do
		printf '[port %s]\nrole = station\n' "$p" >>$conf
	done
	for p in $servers; do
		printf '[port %s]\nrole = server\ntimeout_ms = 60000\n' "$p" >>$conf
	done
	[ "$1" = static ] || return 0
	# Station i to server i mod S: stations spread evenly.
	set -- $servers
	n=$#
	i=0
	for p in $stations; do
		k=$((i % n + 1))
		eval "s=\${$k}"
		printf '[port %s]\nserver = %s\n' "$p" "$s" >>$conf
		i=$((i + 1))
	done
}

# The ttyS 8250 gives the card port ADDR-IDX: its I/O port is BAR0 + 8 * IDX.
tty_of() {
	base=$(($(head -n1 "/sys/bus/pci/devices/${1%-*}/resource" | cut -d' ' -f1)))
	want=$((base + 8 * ${1##*-}))
	for t in /sys/class/tty/ttyS*; do
		p=$(cat "$t/port" 2>/dev/null) || continue
		[ $((p)) -eq $want ] && { echo "${t##*/}"; return 0; }
	done
	return 1
}

# tty: the same ports through 8250 and persohub's line discipline, the
# hub's own matching (as "kernel"), no daemon.
setup_tty() {
	persohub-bind --unbind -q
	for p in $stations $servers; do
		i=0
		until t=$(tty_of "$p"); do
			# 8250_pci may still be registering the ports
			sleep 0.2
			i=$((i + 1))
			[ $i -lt 50 ] || { echo "bench: no ttyS for $p" >&2; return 1; }
		done
		echo "$t" >/sys/class/persohub/attach || return 1
		if echo " $servers " | grep -q " $p "; then
			echo server >"/sys/class/persohub/$t/role"
			echo 60000 >"/sys/class/persohub/$t/timeout_ms"
		else
			echo station >"/sys/class/persohub/$t/role"
		fi
	done
}

setup() {
	if [ "$1" = tty ]; then
		setup_tty
		return
	fi
	if [ "$1" = baseline ]; then
		persohub-bind --unbind -q
		args=
		for p in $stations; do args="$args --station $p"; done
		for p in $servers; do args="$args --server $p"; done
		i=0
		while :; do
			# shellcheck disable=SC2086 # a word list
			phbase --timeout-ms 60000 --realtime 50 --stats /tmp/phbase.stats \
				$args 2>/tmp/phbase.err &
			pid=$!
			sleep 1
			kill -0 $pid 2>/dev/null && return 0
			# 8250_pci may still be registering the ports
			pid=
			i=$((i + 1))
			[ $i -lt 10 ] || { cat /tmp/phbase.err >&2; return 1; }
		done
	fi
	persohub-bind -q
	write_conf "$1"
	persohubd -c $conf -s /tmp/persohubd.stats >/tmp/persohubd.log 2>&1 &
	pid=$!
	i=0
	until grep -q 'configuration applied' /tmp/persohubd.log; do
		sleep 0.2
		i=$((i + 1))
		kill -0 $pid && [ $i -lt 100 ] ||
			{ cat /tmp/persohubd.log >&2; return 1; }
	done
	if [ "$1" = kernel ]; then
		# The configuration stays; the hub matches on its own.
		kill -TERM $pid
		wait $pid || true
		pid=
		rm -f /tmp/persohubd.stats
	fi
}

teardown() {
	if [ "$1" = tty ]; then
		for t in /sys/class/persohub/tty*; do
			[ -d "$t" ] && echo "${t##*/}" >/sys/class/persohub/detach
		done
	fi
	if [ -n "$pid" ]; then
		kill -TERM $pid
		wait $pid || true
		pid=
		[ "$1" = baseline ] || cp /tmp/persohubd.log /host/persohubd.$2.log
	fi
	[ "$1" = baseline ] && cp /tmp/phbase.stats /host/phbase.$2
	rm -f /tmp/persohubd.stats
	return 0
}

: >/host/ready
clk_tck=$(getconf CLK_TCK 2>/dev/null || echo 100)
while read -r tag nst nsrv secs _ <&3; do
	rest=${tag#*_}
	mode=${rest%%_*}
	win=$((secs - 2 * SETTLE))
	[ $win -ge 1 ] || win=1
	layout "$nst" "$nsrv"
	wait_for /host/start.$tag
	setup "$mode"
	hist "$mode" >/host/hist0.$tag.json
	: >/host/started.$tag
	# The window: nothing of this script runs in it but two snapshots
	# and one sleep.
	sleep $SETTLE
	case $tag in lockstat_*) lockstat_begin ;; esac
	snap >/tmp/cpu0
	sleep $win
	snap >/tmp/cpu1
	case $tag in lockstat_*) lockstat_end "$tag" ;; esac
	cp /tmp/cpu0 /host/cpu0.$tag
	cp /tmp/cpu1 /host/cpu1.$tag
	case $tag in lockstat_*) lockstat_save "$tag" ;; esac
	wait_for /host/stop.$tag
	hist "$mode" >/host/hist1.$tag.json
	[ -e /tmp/persohubd.stats ] && cp /tmp/persohubd.stats /host/ctl.$tag
	teardown "$mode" "$tag"
	: >/host/stopped.$tag
done 3</host/phases
wait_for /host/quit
exit 0
