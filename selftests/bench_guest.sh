#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# Guest side of scripts/bench.sh. For each phase MODE.RHO the host lists in
# /host/phases, in its order: set MODE up, tell the host (/host/started.TAG
# after /host/start.TAG), take the CPU figures (and the hub's dispatch
# histogram) before and after the host's load, tear MODE down. All the
# configurations run in one boot, interleaved, so a noisy machine weighs
# on them alike.
#
#   bench_guest.sh "STATION PORTS" "SERVER PORTS"
#
# MODE: daemon (persohubd), kernel (the hub's own matching), static
# (persohubd, each station pinned to one server), baseline (the cards given
# back to the kernel's 8250 driver, phbase on the ttyS).
set -eu
stations=$1
servers=$2
conf=/tmp/persohub.conf
pid=

wait_for() {
	while [ ! -e "$1" ]; do
		sleep 0.2
	done
}

# CPU of the whole guest (ticks of /proc/stat: user system irq softirq)
# and of the controller process (utime stime).
snap() {
	set -- $(sed -n 's/^cpu  *//p' /proc/stat)
	echo "user $1 system $3 irq $6 softirq $7"
	if [ -n "$pid" ]; then
		set -- $(sed 's/^.*) //' /proc/$pid/stat)
		echo "ctl_user ${12} ctl_system ${13}"
	else
		echo "ctl_user 0 ctl_system 0"
	fi
	echo "clk_tck $(getconf CLK_TCK 2>/dev/null || echo 100)"
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
		cp /tmp/persohubd.log /host/persohubd.$2.log
	fi
	[ "$1" = baseline ] && cp /tmp/phbase.stats /host/phbase.$2
	rm -f /tmp/persohubd.stats
	return 0
}

: >/host/ready
for tag in $(cat /host/phases); do
	mode=${tag%%.*}
	wait_for /host/start.$tag
	setup "$mode"
	snap >/host/cpu0.$tag
	hist "$mode" >/host/hist0.$tag.json
	: >/host/started.$tag
	wait_for /host/stop.$tag
	snap >/host/cpu1.$tag
	hist "$mode" >/host/hist1.$tag.json
	[ -e /tmp/persohubd.stats ] && cp /tmp/persohubd.stats /host/ctl.$tag
	teardown "$mode" "$tag"
	: >/host/stopped.$tag
done
wait_for /host/quit
exit 0
