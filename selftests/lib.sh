#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# Shell helpers for the tests inside the test machine: TAP results and the
# site simulator on the host, driven through the shared directory /host
# (the protocol is described in selftests/phtest.h). Source it; set
# SIM_ARGS to arguments every simulator run gets (e.g. --telnet).

n=0
failures=0

ok() {
	n=$((n + 1))
	if [ "$1" -eq 0 ]; then
		echo "ok $n $2"
	else
		echo "not ok $n $2"
		failures=$((failures + 1))
	fi
}

# Wait at most $2 s (times PH_TIMEOUT_SCALE) until the shell condition $1
# holds: its status then, so "wait_for COND N; ok $? ..." fails when the
# condition never came.
# The bound is time (the uptime's seconds), however long $1 takes.
wait_for() {
	_end=$(($(cut -d. -f1 /proc/uptime) + $2 * ${PH_TIMEOUT_SCALE:-1}))
	while ! eval "$1"; do
		[ "$(cut -d. -f1 /proc/uptime)" -lt "$_end" ] || return 1
		sleep 0.05
	done
}

# stat_sum PORTS COUNTER: the sum of the counter over the ports (sysfs
# names, in the caller's $sysfs)
# shellcheck disable=SC2154 # sysfs
stat_sum() {
	_s=0
	for _p in $1; do
		_s=$((_s + $(cat "$sysfs/$_p/statistics/$2")))
	done
	echo $_s
}

# The simulator on the host (see selftests/phtest.h). sim_start runs in a
# command substitution, so its counter lives in a file.
sim_start() {
	seq=$(($(cat /tmp/simseq 2>/dev/null || echo 0) + 1))
	echo $seq >/tmp/simseq
	tag=$$$seq
	echo "${SIM_ARGS:-}${SIM_ARGS:+ }$*" >"/host/.req.$tag"
	mv "/host/.req.$tag" "/host/req.$tag"
	echo "$tag"
}

# Wait at most $2 s (times PH_TIMEOUT_SCALE, see phtest.h) for run $1.
sim_wait() {
	i=0
	while [ ! -e "/host/done.$1" ] &&
		[ $i -lt $(($2 * 10 * ${PH_TIMEOUT_SCALE:-1})) ]; do
		sleep 0.1
		i=$((i + 1))
	done
	[ -e "/host/done.$1" ] || return 255
	sed 's/^/# sim: /' "/host/res.$1.log"
	return "$(cat "/host/res.$1.rc")"
}

sim_get() {
	sed -n "s/^$2 //p" "/host/res.$1.kv"
}

# persohubd in the background: -c $conf, -s $stats, its output appended to
# $log; $pid is its process. start_daemon waits (10 s at most, times
# PH_TIMEOUT_SCALE) until it says it attached once more than before.
attached() {
	grep -c "attached as controller" "$log"
}

start_daemon() {
	was=$(attached)
	persohubd -c "$conf" -s "$stats" >>"$log" 2>&1 &
	pid=$!
	wait_for '[ "$(attached)" -gt "$was" ]' 10
}
