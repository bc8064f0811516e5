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

set -u
me=${PH_LAN_NAME:?}
peer=${PH_LAN_PEER:?}
certs=/host/certs
conf=/tmp/persohub.conf
log=/tmp/persohubd.log
nlog=/tmp/nats.log
prog=/tmp/load.progress
n=0
failed=0

ok() {
	n=$((n + 1))
	if [ "$1" = 0 ]; then
		echo "ok $n - $2"
	else
		echo "not ok $n - $2"
		failed=1
	fi
}

bail() {
	echo "Bail out! $*"
	tail -30 "$log" | sed 's/^/# persohubd: /'
	tail -15 "$nlog" | sed 's/^/# nats: /'
	exit 1
}

# wait_for SECONDS COMMAND...: until COMMAND succeeds; 1 if it never did
wait_for() {
	end=$(($(date +%s) + $1))
	shift
	until "$@"; do
		[ "$(date +%s)" -lt "$end" ] || return 1
		sleep 0.2
	done
}

nats_start() {
	nats-server -c /tmp/nats.conf >>"$nlog" 2>&1 &
	echo $! >/tmp/nats.pid
	wait_for 30 grep -q "Server is ready" "$nlog" || bail "nats-server"
}

nats_stop() {
	kill "$(cat /tmp/nats.pid)"
	wait "$(cat /tmp/nats.pid)" 2>/dev/null
	: >"$nlog"
}

hub_start() {
	persohubd -c "$conf" -S /tmp/persohubd.state >>"$log" 2>&1 &
	echo $! >/tmp/hubd.pid
}

# counter KEY: the hub's cascade counter KEY, from its state file
counter() {
	sed -n "s/^cascade .* $1=\([0-9]*\).*/\1/p" /tmp/persohubd.state 2>/dev/null
}

connected() {
	[ "$(sed -n 's/^cascade .* connected=\([01]\).*/\1/p' \
		/tmp/persohubd.state 2>/dev/null)" = 1 ]
}

command -v nats-server >/dev/null || bail "no nats-server in the test machine"
[ -f $certs/ca.pem ] || bail "no certificates in $certs"
# the key must be the hub's alone (9p shows the host's mode)
{ cp -r $certs /tmp/certs && chmod 600 /tmp/certs/*.key; } || bail "certs"
certs=/tmp/certs

cat >/tmp/nats.conf <<EOC
listen: 0.0.0.0:4222
server_name: hub-$me
ping_interval: "1s"
ping_max: 2
tls {
  cert_file: "$certs/good.pem"
  key_file: "$certs/good.key"
  ca_file: "$certs/ca.pem"
  verify: true
  timeout: 10
}
cluster {
  name: pair
  listen: 0.0.0.0:6222
  tls {
    cert_file: "$certs/good.pem"
    key_file: "$certs/good.key"
    ca_file: "$certs/ca.pem"
    verify: true
    timeout: 10
  }
  routes: [ "nats-route://$peer:6222" ]
}
EOC
nats_start

if [ "$me" = b ]; then
	cat >"$conf" <<EOC
[cascade]
servers = tls://127.0.0.1:4222, tls://$peer:4222
site = pair
name = hub-b
ca = $certs/ca.pem
cert = $certs/client.pem
key = $certs/client.key
offer = default
EOC
	vm_cascade_load serve B 30 b1 b2 >/tmp/serve.out 2>&1 &
	spid=$!
	hub_start
	wait_for 60 connected || bail "hub B not connected to NATS"
	# What A asks, one line a connection: restart, quit.
	cat >/tmp/ctl.sh <<'EOC'
#!/bin/sh
read -r cmd
case $cmd in
ping) echo pong ;;
restart)
	kill -9 "$(cat /tmp/hubd.pid)"
	sleep 1
	persohubd -c /tmp/persohub.conf -S /tmp/persohubd.state \
		>>/tmp/persohubd.log 2>&1 &
	echo $! >/tmp/hubd.pid
	echo restarted ;;
quit) : >/tmp/quit; echo bye ;;
esac
EOC
	chmod +x /tmp/ctl.sh
	end=$(($(date +%s) + 600))
	while [ ! -f /tmp/quit ] && [ "$(date +%s)" -lt "$end" ]; do
		nc -l -p 5555 -e /tmp/ctl.sh
	done
	[ -f /tmp/quit ] || bail "A never said quit"
	served=$(counter served)
	echo "# hub B: served $served remote_in $(counter remote_in) busy $(counter busy) remote_failed $(counter remote_failed)"
	[ "${served:-0}" -gt 0 ]
	ok $? "hub B served A's requests"
	kill "$(cat /tmp/hubd.pid)"
	kill $spid
	wait $spid
	sed 's/^/# /' /tmp/serve.out
	nats_stop
	echo "1..$n"
	exit $failed
fi

# Hub A: the stations, two servers, the load.
ask() {
	echo "$1" | nc -w 10 "$peer" 5555
}
wait_for 90 sh -c "[ \"\$(echo ping | nc -w 2 $peer 5555)\" = pong ]" ||
	bail "hub B never answered"
# Retries enough for what the faults below cost a request.
echo 20 >/sys/module/persohub/parameters/max_retries || bail "max_retries"
cat >"$conf" <<EOC
[daemon]
resync_ms = 1000

[cascade]
servers = tls://127.0.0.1:4222, tls://$peer:4222
site = pair
name = hub-a
ca = $certs/ca.pem
cert = $certs/client.pem
key = $certs/client.key
use = default
depth = 4
timeout_ms = 1500
EOC
vm_cascade_load serve A 30 a1 a2 >/tmp/serve.out 2>&1 &
spid=$!
hub_start
wait_for 60 connected || bail "hub A not connected to NATS"
rm -f /tmp/load.stop
vm_cascade_load load 6 $prog /tmp/load.stop st1 st2 >/tmp/load.out 2>&1 &
lpid=$!

answered() {
	sed -n 's/^answered //p' $prog 2>/dev/null
}
by_b() {
	v=$(sed -n 's/^by_B //p' $prog 2>/dev/null)
	echo "${v:-0}"
}
# progress N: N more answers than now, within 60 s
progress() {
	want=$(($(answered) + $1))
	wait_for 60 sh -c "[ \"\$(sed -n 's/^answered //p' $prog)\" -ge $want ]"
}

wait_for 60 sh -c "[ \"\$(sed -n 's/^by_B //p' $prog)\" -ge 20 ] 2>/dev/null"
ok $? "B takes A's overflow ($(by_b) answers from B)"
progress 50
ok $? "under load"

nic=
for d in /sys/class/net/*; do
	[ -e "$d/device" ] && nic=${d##*/} && break
done
[ -n "$nic" ] || bail "no NIC"
ip link set "$nic" down
sleep 3
ip link set "$nic" up
progress 100
ok $? "LAN link cut for 3 s: the load goes on"

was=$(by_b)
r=$(ask restart)
[ "$r" = restarted ]
ok $? "hub B's persohubd killed and started again"
progress 100
ok $? "the load goes on"
wait_for 60 sh -c "[ \"\$(sed -n 's/^by_B //p' $prog)\" -gt $was ]"
ok $? "B serves A again after its restart"

nats_stop
progress 100
ok $? "A's nats-server stopped: the load goes on"
connected
ok $? "hub A connected through B's nats-server"
nats_start
progress 100
ok $? "A's nats-server started again: the load goes on"

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
kill "$(cat /tmp/hubd.pid)"
kill $spid
wait $spid
nats_stop
echo "1..$n"
exit $failed
