#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# Shell helpers of the two-machine cascade tests (vm_cascade_pair.sh,
# vm_cascade_site.sh), on both machines of scripts/vm-pair: the
# certificates, a nats-server clustered with the peer's, persohubd with its
# state file, the hub's cascade counters, and the control port through
# which A tells B what to do, and the faults A makes under load. Source
# selftests/lib.sh first (ok, wait_for).

me=${PH_LAN_NAME:?run by vm-pair}
peer=${PH_LAN_PEER:?run by vm-pair}
conf=/tmp/persohub.conf
log=/tmp/persohubd.log
nlog=/tmp/nats.log
state=/tmp/persohubd.state
certs=/tmp/certs

bail() {
	echo "Bail out! $*"
	tail -30 "$log" | sed 's/^/# persohubd: /'
	tail -15 "$nlog" | sed 's/^/# nats: /'
	exit 1
}

# The site CA's certificates from /host/certs (made on the host by
# tlscerts); the keys the hub's alone (9p shows the host's mode).
cascade_certs() {
	command -v nats-server >/dev/null ||
		bail "no nats-server in the test machine"
	[ -f /host/certs/ca.pem ] || bail "no certificates in /host/certs"
	{ cp -r /host/certs $certs && chmod 600 $certs/*.key; } || bail "certs"
}

# The tls block of nats-server's configuration: mutual TLS, the site CA;
# $1 the indent.
nats_tls() {
	printf '%s\n' "tls {" "  cert_file: \"$certs/good.pem\"" \
		"  key_file: \"$certs/good.key\"" "  ca_file: \"$certs/ca.pem\"" \
		"  verify: true" "  timeout: 10" "}" | sed "s/^/$1/"
}

# This machine's nats-server, clustered with the peer's, mutual TLS on
# both its client and its route port.
nats_conf() {
	{
		printf '%s\n' "listen: 0.0.0.0:4222" "server_name: hub-$me" \
			'ping_interval: "1s"' "ping_max: 2"
		nats_tls ""
		printf '%s\n' "cluster {" "  name: pair" \
			"  listen: 0.0.0.0:6222"
		nats_tls "  "
		printf '%s\n' "  routes: [ \"nats-route://$peer:6222\" ]" "}"
	} >/tmp/nats.conf
}

nats_start() {
	nats-server -c /tmp/nats.conf >>"$nlog" 2>&1 &
	echo $! >/tmp/nats.pid
	wait_for "grep -q 'Server is ready' $nlog" 30 || bail "nats-server"
}

nats_stop() {
	kill "$(cat /tmp/nats.pid)"
	wait "$(cat /tmp/nats.pid)" 2>/dev/null
	: >"$nlog"
}

# The [cascade] section of hub-$me: its own NATS server first, then the
# peer's; then the lines given (offer, use, depth...), one an argument.
cascade_section() {
	printf '%s\n' "[cascade]" \
		"servers = tls://127.0.0.1:4222, tls://$peer:4222" \
		"site = pair" "name = hub-$me" "ca = $certs/ca.pem" \
		"cert = $certs/client.pem" "key = $certs/client.key" "$@"
}

hub_start() {
	persohubd -c "$conf" -S "$state" >>"$log" 2>&1 &
	echo $! >/tmp/hubd.pid
}

hub_stop() {
	kill "$(cat /tmp/hubd.pid)"
	wait "$(cat /tmp/hubd.pid)" 2>/dev/null
}

# counter KEY: the hub's cascade counter KEY, from its state file
counter() {
	sed -n "s/^cascade .* $1=\([0-9]*\).*/\1/p" "$state" 2>/dev/null
}

connected() {
	[ "$(sed -n 's/^cascade .* connected=\([01]\).*/\1/p' \
		"$state" 2>/dev/null)" = 1 ]
}

# B: answer A on the control port, one command a connection, until A says
# quit (at most 600 s): ping, restart (persohubd killed -9 and started
# again), stats (what the script /tmp/stats.sh prints), quit.
ctl_serve() {
	cat >/tmp/ctl.sh <<EOC
#!/bin/sh
read -r cmd
case \$cmd in
ping) echo pong ;;
restart)
	kill -9 "\$(cat /tmp/hubd.pid)"
	sleep 1
	persohubd -c $conf -S $state >>$log 2>&1 &
	echo \$! >/tmp/hubd.pid
	echo restarted ;;
stats) sh /tmp/stats.sh ;;
quit) : >/tmp/quit; echo bye ;;
esac
EOC
	chmod +x /tmp/ctl.sh
	_end=$(($(date +%s) + 600))
	while [ ! -f /tmp/quit ] && [ "$(date +%s)" -lt "$_end" ]; do
		nc -l -p 5555 -e /tmp/ctl.sh
	done
	[ -f /tmp/quit ] || bail "A never said quit"
}

# A: one command to B's control port; its answer
ask() {
	echo "$1" | nc -w 10 "$peer" 5555
}

# A: until B answers on its control port (B is up, its hub connected)
wait_peer() {
	wait_for "[ \"\$(echo ping | nc -w 2 $peer 5555)\" = pong ]" 90 ||
		bail "hub B never answered"
}

# The LAN's NIC (the one with a device)
lan_nic() {
	for _d in /sys/class/net/*; do
		[ -e "$_d/device" ] && echo "${_d##*/}" && return 0
	done
	return 1
}

# A: under load, answered (a function of the script) grows by N within
# 60 s, after each fault: the link cut for 3 s, hub B's persohubd killed
# and started again, A's nats-server stopped and started again. by_b (a
# function of the script): what B answered for A so far.
cascade_faults() {
	_n=$1
	nic=$(lan_nic) || bail "no NIC"
	ip link set "$nic" down
	sleep 3	# the cut's length
	ip link set "$nic" up
	_was=$(by_b)
	progress "$_n"
	ok $? "LAN link cut for 3 s: the load goes on"
	b_again "$_was"
	ok $? "B serves A again once the link is back"

	_was=$(by_b)
	[ "$(ask restart)" = restarted ]
	ok $? "hub B's persohubd killed and started again"
	progress "$_n"
	ok $? "the load goes on"
	b_again "$_was"
	ok $? "B serves A again after its restart"

	_was=$(by_b)
	nats_stop
	progress "$_n"
	ok $? "A's nats-server stopped: the load goes on"
	connected
	ok $? "hub A connected through B's nats-server"
	b_again "$_was"
	ok $? "B serves A through its own nats-server"
	nats_start
	progress "$_n"
	ok $? "A's nats-server started again: the load goes on"
}

# b_again WAS: B answers more for A than WAS, within 60 s
b_again() {
	wait_for "[ \$(by_b) -gt $1 ]" 60
}

# progress N: N more answers than now, within 60 s
progress() {
	_want=$(($(answered) + $1))
	wait_for "[ \$(answered) -ge $_want ]" 60
}
