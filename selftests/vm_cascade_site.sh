#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# Two hubs on one LAN (scripts/vm-pair), each with its own cards and its
# own simulated site (selftests/simd.sh on its own port sockets), pooling
# their servers through a two-node NATS cluster with mutual TLS. This
# script runs in both, its part chosen by PH_LAN_NAME:
#   a  five stations (c0p0-c0p3, c1p0) and one slow server (c1p1) on its
#      card ports, all played by A's simulator: more load than A's server
#      takes, so A sends its overflow to B;
#   b  three servers (c0p0-c0p2) played by B's simulator alone (sitesim
#      --servers only, until told to stop), with A's response key, so that
#      their answers are right for A's stations.
# Under load, one after the other (selftests/cascade_lib.sh): A's LAN link
# cut for 3 s, hub B's persohubd killed (-9) and started again, A's
# nats-server stopped and started again. At the end A's simulator must
# report every request answered once and right (every answer checked by
# the station that asked: its request, the key), B's servers must have
# answered what A's cascade counters say B answered, and A's own server
# its share. A tells B what to do over a control port (busybox nc).
# Certificates: /host/certs (made on the host by tlscerts). TAP output.

# shellcheck source=selftests/lib.sh
. /usr/share/persohub/selftests/lib.sh
# shellcheck source=selftests/cascade_lib.sh
. /usr/share/persohub/selftests/cascade_lib.sh

sysfs=/sys/class/persohub
c0=0000:00:10.0
c1=0000:00:11.0
# The site's response key: both simulators answer with it.
key=0x5eed2f1c

echo "TAP version 13"
cascade_certs
nats_conf
nats_start

if [ "$me" = b ]; then
	servers="$c0-0 $c0-1 $c0-2"
	{
		for p in $servers; do
			printf '[port %s]\nrole = server\ntimeout_ms = 5000\n' "$p"
		done
		cascade_section "offer = default"
	} >"$conf"
	t=$(sim_start --servers c0p0-c0p2 --service-us 2000 --key $key \
		--stop-file stop.b --max-seconds 600)
	hub_start
	wait_for connected 60 || bail "hub B not connected to NATS"
	# A's "stats": what B's servers answered (sysfs)
	cat >/tmp/stats.sh <<EOC
. /usr/share/persohub/selftests/lib.sh
sysfs=$sysfs
stat_sum "$servers" responses
EOC
	ctl_serve
	: >/host/stop.b
	sim_wait "$t" 30
	rc=$?
	answered=0
	bad=0
	for p in c0p0 c0p1 c0p2; do
		answered=$((answered + $(sim_get "$t" $p.answered)))
		bad=$((bad + $(sim_get "$t" $p.bad_frames)))
	done
	[ $rc = 0 ] && [ $bad = 0 ]
	ok $? "B's simulator: its servers answered until stopped, no bad frame ($bad)"
	resp=$(stat_sum "$servers" responses)
	echo "# hub B: servers answered $answered (sysfs $resp)," \
		"served $(counter served) remote_in $(counter remote_in)" \
		"busy $(counter busy) remote_failed $(counter remote_failed)"
	[ "$answered" -gt 0 ] && [ "$answered" = "$resp" ]
	ok $? "B's servers answered A's overflow, each answer counted by hub B"
	hub_stop
	nats_stop
	echo "1..$n"
	[ $failures -eq 0 ]
	exit
fi

# Hub A: the stations and one server.
stations="$c0-0 $c0-1 $c0-2 $c0-3 $c1-0"
wait_peer
# Retries enough for what the faults below cost a request.
echo 20 >/sys/module/persohub/parameters/max_retries || bail "max_retries"
{
	printf '[daemon]\nresync_ms = 1000\n'
	for p in $stations; do
		printf '[port %s]\nrole = station\n' "$p"
	done
	printf '[port %s]\nrole = server\ntimeout_ms = 5000\n' "$c1-1"
	cascade_section "use = default" "depth = 4" "timeout_ms = 1500"
} >"$conf"
hub_start
wait_for connected 60 || bail "hub A not connected to NATS"
# The LAN as an eavesdropper sees it while B serves A's overflow.
tcpdump -Z root -n -i eth0 --immediate-mode -U -w /tmp/lan.pcap tcp \
	2>/tmp/tcpdump.log &
tdp=$!
wait_for 'grep -qs "listening on eth0" /tmp/tcpdump.log' 10 ||
	echo "# tcpdump did not start: $(cat /tmp/tcpdump.log)"
t=$(sim_start --stations c0p0-c1p0 --servers c1p1 --service-us 20000 \
	--key $key --timeout-ms 60000 --stop-file stop.a --max-seconds 600)

# What A's stations got, and what of it came from B.
answered() {
	stat_sum "$stations" responses
}
by_b() {
	_v=$(counter answered)
	echo "${_v:-0}"
}

# shellcheck disable=SC2016 # wait_for evaluates it
wait_for '[ $(by_b) -ge 20 ]' 60
ok $? "B takes A's overflow ($(by_b) answers from B)"
# shellcheck disable=SC2016 # wait_for evaluates it
wait_for '[ "$(stat -c %s /tmp/lan.pcap)" -gt 10000 ]' 5
kill $tdp
wait $tdp 2>/dev/null
! grep -aq 'PHRQ\|PHRS' /tmp/lan.pcap && [ "$(stat -c %s /tmp/lan.pcap)" -gt 10000 ]
ok $? "a capture of the LAN meanwhile ($(stat -c %s /tmp/lan.pcap) bytes): no request or answer marker"
progress 40
ok $? "under load"
cascade_faults 80

: >/host/stop.a
sim_wait "$t" 90
ok $? "A's simulator: every request answered once and right"
sent=$(sim_get "$t" total.sent)
echo "# sim: sent $sent ok $(sim_get "$t" total.ok)" \
	"wrong $(sim_get "$t" total.wrong) late $(sim_get "$t" total.late)" \
	"timeouts $(sim_get "$t" total.timeouts)" \
	"errors $(sim_get "$t" total.errors)"
[ "$sent" -gt 0 ] && [ "$(sim_get "$t" total.ok)" = "$sent" ] &&
	[ "$(sim_get "$t" total.wrong)" = 0 ] &&
	[ "$(sim_get "$t" total.late)" = 0 ] &&
	[ "$(sim_get "$t" total.timeouts)" = 0 ] &&
	[ "$(sim_get "$t" total.errors)" = 0 ]
ok $? "total.ok = total.sent = $sent, nothing wrong, late or lost"
[ "$(stat_sum "$stations" requests)" = "$sent" ] &&
	[ "$(stat_sum "$stations" responses)" = "$sent" ]
ok $? "hub A: each request taken once, each station answered once a request"
sleep 1	# the state file: written at most every 100 ms
echo "# hub A: sent $(counter sent) answered $(counter answered)" \
	"given_back $(counter given_back) failed $(counter failed)" \
	"timeouts $(counter timeouts) late $(counter late)"
own=$(sim_get "$t" c1p1.answered)
b_resp=$(ask stats)
echo "# A's server answered $own, B's servers $b_resp, B for A's stations $(by_b)"
[ "${own:-0}" -gt 0 ] && [ "$(by_b)" -gt 0 ] &&
	[ "${b_resp:-0}" -ge "$(by_b)" ] &&
	[ $((own + $(by_b))) -ge "$sent" ]
ok $? "A's server and B's servers shared the load, B's answers counted once"
[ "$(ask quit)" = bye ]
ok $? "hub B told to quit"
hub_stop
nats_stop
echo "1..$n"
[ $failures -eq 0 ]
