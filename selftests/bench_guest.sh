#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# Guest side of scripts/bench.sh: sets up one configuration, then for each
# phase the host announces (/host/start.TAG, /host/stop.TAG) takes the CPU
# figures (and the hub's dispatch histogram) before and after, so the host
# can charge them to that phase's requests.
#
#   bench_guest.sh MODE "STATION PORTS" "SERVER PORTS"
#
# MODE: daemon (persohubd), kernel (the hub's own matching), static
# (persohubd, each station pinned to one server), baseline (phbase on the
# kernel's 8250 driver; run with vm-run --no-load).
set -eu
mode=$1
stations=$2
servers=$3
conf=/tmp/persohub.conf
pid=

wait_for() {
	while [ ! -e "$1" ]; do
		sleep 0.2
	done
}

# CPU of the whole guest (ticks of /proc/stat: user system irq softirq)
# and of the controller process (utime stime), and the hub's histogram.
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
	[ "$mode" = baseline ] && echo '{}' && return
	persohubctl -j stats
}

if [ "$mode" = baseline ]; then
	args=
	for p in $stations; do args="$args --station $p"; done
	for p in $servers; do args="$args --server $p"; done
	# shellcheck disable=SC2086 # a word list
	phbase --timeout-ms 60000 --stats /host/phbase.stats $args &
	pid=$!
else
	printf '[daemon]\nrealtime = yes\n' >$conf
	for p in $stations; do
		printf '[port %s]\nrole = station\n' "$p" >>$conf
	done
	for p in $servers; do
		printf '[port %s]\nrole = server\ntimeout_ms = 60000\n' "$p" >>$conf
	done
	if [ "$mode" = static ]; then
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
	fi
	persohubd -c $conf -s /tmp/persohubd.stats >/tmp/persohubd.log 2>&1 &
	pid=$!
	sleep 1
	if [ "$mode" = kernel ]; then
		# The configuration stays; the hub matches on its own.
		kill -TERM $pid
		wait $pid || true
		pid=
	fi
fi
sleep 1
if [ -n "$pid" ] && ! kill -0 $pid; then
	echo "bench: the $mode controller did not start" >&2
	cat /tmp/persohubd.log >&2 || true
	exit 1
fi
: >/host/ready

for tag in $(cat /host/phases); do
	wait_for /host/start.$tag
	snap >/host/cpu0.$tag
	hist >/host/hist0.$tag.json
	: >/host/started.$tag
	wait_for /host/stop.$tag
	snap >/host/cpu1.$tag
	hist >/host/hist1.$tag.json
	[ -e /tmp/persohubd.stats ] && cp /tmp/persohubd.stats /host/ctl.$tag
	: >/host/stopped.$tag
done
wait_for /host/quit
if [ -n "$pid" ]; then
	kill -TERM $pid
	wait $pid || true
fi
[ "$mode" = baseline ] && cat /host/phbase.stats
exit 0
