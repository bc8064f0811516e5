#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# Two hubs on one LAN (scripts/vm-pair), pooling their servers through a
# two-node NATS cluster with mutual TLS: this script runs in both, its
# part chosen by PH_LAN_NAME. Hub A has the stations (vm_cascade_load's
# remote stations) and two servers, hub B two servers; the load is more
# than A's servers can take, so B takes A's overflow. Every answer is
# checked by the station that asked (its own request, once). Under load,
# one after the other: A's LAN link cut for 3 s (ip link down/up), hub B's
# persohubd killed (-9) and started again, A's nats-server stopped and
# started again; after each, the load must go on, and at the end every
# request must have been answered exactly once, right. A tells B what to
# do over a control port (busybox nc). Certificates: /host/certs (made
# on the host by tlscerts, the same CA for both). TAP output.

# shellcheck source=selftests/lib.sh
. /usr/share/persohub/selftests/lib.sh
# shellcheck source=selftests/cascade_lib.sh
. /usr/share/persohub/selftests/cascade_lib.sh
prog=/tmp/load.progress

cascade_certs
nats_conf
nats_start

if [ "$me" = b ]; then
	cascade_section "offer = default" >"$conf"
	vm_cascade_load serve B 30 b1 b2 >/tmp/serve.out 2>&1 &
	spid=$!
	hub_start
	wait_for connected 60 || bail "hub B not connected to NATS"
	ctl_serve
	served=$(counter served)
	echo "# hub B: served $served remote_in $(counter remote_in) busy $(counter busy) remote_failed $(counter remote_failed)"
	[ "${served:-0}" -gt 0 ]
	ok $? "hub B served A's requests"
	hub_stop
	kill $spid
	wait $spid
	sed 's/^/# /' /tmp/serve.out
	nats_stop
	echo "1..$n"
	[ $failures -eq 0 ]
	exit
fi

# Hub A: the stations, two servers, the load.
wait_peer
# Retries enough for what the faults below cost a request.
echo 20 >/sys/module/persohub/parameters/max_retries || bail "max_retries"
{
	printf '[daemon]\nresync_ms = 1000\n\n'
	cascade_section "use = default" "depth = 4" "timeout_ms = 1500"
} >"$conf"
vm_cascade_load serve A 30 a1 a2 >/tmp/serve.out 2>&1 &
spid=$!
hub_start
wait_for connected 60 || bail "hub A not connected to NATS"
rm -f /tmp/load.stop
vm_cascade_load load 6 $prog /tmp/load.stop st1 st2 >/tmp/load.out 2>&1 &
lpid=$!

# What the load got, and what of it came from B (its progress file).
answered() {
	_v=$(sed -n 's/^answered //p' $prog 2>/dev/null)
	echo "${_v:-0}"
}
by_b() {
	_v=$(sed -n 's/^by_B //p' $prog 2>/dev/null)
	echo "${_v:-0}"
}

# shellcheck disable=SC2016 # wait_for evaluates it
wait_for '[ $(by_b) -ge 20 ]' 60
ok $? "B takes A's overflow ($(by_b) answers from B)"
progress 50
ok $? "under load"
cascade_faults 100

: >/tmp/load.stop
wait $lpid
ok $? "every request answered once, each with its own answer"
sed 's/^/# /' /tmp/load.out
sleep 1	# the state file: written at most every 100 ms
echo "# hub A: sent $(counter sent) answered $(counter answered) given_back $(counter given_back) failed $(counter failed) timeouts $(counter timeouts) late $(counter late)"
[ "$(counter sent)" -gt 0 ] && [ "$(counter answered)" = "$(by_b)" ]
ok $? "hub A's cascade counters: B's answers, each counted once"
[ "$(ask quit)" = bye ]
ok $? "hub B told to quit"
hub_stop
kill $spid
wait $spid
nats_stop
echo "1..$n"
[ $failures -eq 0 ]
