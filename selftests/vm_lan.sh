#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# The LAN between two test machines (scripts/vm-pair), with NATS on it as the
# cascade of hubs uses it. Runs on both machines; PH_LAN_NAME (set by
# vm-pair) picks the part:
#   a  captures its NIC (tcpdump), runs nats-server with mutual TLS on 4222
#      and in plain text on 4223, and an echo client (nats_ping) on each;
#      then checks that B's refused clients were refused for their
#      certificates, and that the capture holds B's plain-text marker but
#      not its TLS one (so the capture check can fail)
#   b  makes a request/reply round trip with A over mutual TLS, is refused
#      with a certificate from another CA, with none, and when it trusts
#      another CA; then a plain round trip; then tells A's echoes to quit
# The certificates come from "tlscerts DIR 10.0.2.1 10.0.2.2", made on the
# host and copied to both machines' shared directory (PH_LAN_TLS, default
# /host/tls): one site CA for both. TAP output, test names prefixed by the
# machine. Every wait is bounded.

# shellcheck source=selftests/lib.sh
. /usr/share/persohub/selftests/lib.sh

me=${PH_LAN_NAME:?run by vm-pair}
self=${PH_LAN_SELF:?}
peer=${PH_LAN_PEER:?}
tls=/tmp/tls
M_TLS=persohub-lan-marker-tls-5f2c9e
M_PLAIN=persohub-lan-marker-plain-5f2c9e

mkdir -p $tls
cp "${PH_LAN_TLS:-/host/tls}"/* $tls/ && chmod 600 $tls/*.key ||
	echo "# no certificates in ${PH_LAN_TLS:-/host/tls}"
T="--ca $tls/ca.pem --cert $tls/client.pem --key $tls/client.key"

echo "TAP version 13"

if [ "$me" = a ]; then
	echo "1..8"
	pcap=/tmp/lan.pcap
	tcpdump -Z root -n -i eth0 --immediate-mode -U -w $pcap 'tcp port 4222 or tcp port 4223' \
		2>/tmp/tcpdump.log &
	dump=$!
	wait_for 'grep -qs "listening on eth0" /tmp/tcpdump.log' 30
	ok $? "A: tcpdump captures the LAN on eth0 ($self)"

	cat >/tmp/nats-tls.conf <<-EOF
	listen: 0.0.0.0:4222
	tls {
	  cert_file: $tls/good.pem
	  key_file: $tls/good.key
	  ca_file: $tls/ca.pem
	  verify: true
	  timeout: 10
	}
	EOF
	nats-server -c /tmp/nats-tls.conf -l /tmp/nats-tls.log &
	ns1=$!
	nats-server -a 0.0.0.0 -p 4223 -l /tmp/nats-plain.log &
	ns2=$!
	wait_for 'grep -qs "Server is ready" /tmp/nats-tls.log &&
		grep -qs "Server is ready" /tmp/nats-plain.log' 30 &&
		grep -q "TLS required for client connections" /tmp/nats-tls.log
	ok $? "A: nats-server up, mutual TLS on 4222, plain text on 4223"

	# shellcheck disable=SC2086 # T: options
	nats_ping $T --wait 30 --for 150 echo "nats://$self:4222" lan.tls \
		>/tmp/echo-tls.out 2>&1 &
	e1=$!
	nats_ping --wait 30 --for 150 echo "nats://$self:4223" lan.plain \
		>/tmp/echo-plain.out 2>&1 &
	e2=$!
	wait_for 'grep -qs ready /tmp/echo-tls.out &&
		grep -qs ready /tmp/echo-plain.out' 40
	ok $? "A: echo clients subscribed, over TLS and in plain text"

	# B's round trips, then its quit messages (nats_ping --for bounds it)
	wait $e1
	r1=$?
	wait $e2
	r2=$?
	sed 's/^/# echo tls: /' /tmp/echo-tls.out
	sed 's/^/# echo plain: /' /tmp/echo-plain.out
	[ $r1 = 0 ] && [ "$(tail -n1 /tmp/echo-tls.out)" = "echoed 1" ]
	ok $? "A: B's one TLS request echoed, then the quit message"
	[ $r2 = 0 ] && [ "$(tail -n1 /tmp/echo-plain.out)" = "echoed 1" ]
	ok $? "A: B's one plain request echoed, then the quit message"

	grep 'TLS handshake error' /tmp/nats-tls.log | sed 's/^/# /'
	grep -q "$peer:.*TLS handshake error: .*certificate signed by unknown authority" \
		/tmp/nats-tls.log &&
		grep -q "$peer:.*TLS handshake error: .*didn't provide a certificate" \
			/tmp/nats-tls.log
	ok $? "A: B's client from another CA and B's client without a certificate refused"

	# B's last message is the plain quit: once it is in the file, so is
	# everything before it (tcpdump stops without reading what is left)
	wait_for "grep -aqs lan.plain.quit $pcap" 10 ||
		echo "# the plain quit message is not in the capture"
	kill -INT $dump
	wait $dump
	sed 's/^/# tcpdump: /' /tmp/tcpdump.log
	tcpdump -Z root -n -r $pcap 'tcp port 4222 and tcp[tcpflags] & tcp-push != 0' \
		>/tmp/tls.pkts 2>/tmp/tls.err
	tcpdump -Z root -n -r $pcap 'tcp port 4223' >/tmp/plain.pkts 2>/tmp/plain.err
	sed 's/^/# tcpdump -r: /' /tmp/tls.err
	tls_pkts=$(wc -l </tmp/tls.pkts)
	plain_pkts=$(wc -l </tmp/plain.pkts)
	echo "# capture: $tls_pkts TLS data packets, $plain_pkts plain packets"
	[ "$tls_pkts" -gt 4 ] && ! grep -aq "$M_TLS" $pcap
	ok $? "A: the TLS round trip is in the capture, its marker is not"
	[ "$plain_pkts" -gt 0 ] && grep -aq "$M_PLAIN" $pcap
	ok $? "A: the plain round trip's marker is in the capture"

	kill $ns1 $ns2
	wait $ns1 $ns2
	[ $failures -eq 0 ]
	exit
fi

echo "1..6"
# A boots, starts its capture, servers and echoes: wait for it (bounded).
# shellcheck disable=SC2086
nats_ping $T --wait 90 ping "nats://$peer:4222" lan.tls "$M_TLS"
ok $? "B: request/reply with A over mutual TLS"

nats_ping --ca $tls/ca.pem --cert $tls/other-client.pem \
	--key $tls/other-client.key ping "nats://$peer:4222" lan.tls refused
r=$?
[ $r = 1 ]
ok $? "B: a client certificate of another CA is refused"
nats_ping --ca $tls/ca.pem ping "nats://$peer:4222" lan.tls refused
r=$?
[ $r = 1 ]
ok $? "B: a client without a certificate is refused"
nats_ping --ca $tls/other-ca.pem --cert $tls/client.pem --key $tls/client.key \
	ping "nats://$peer:4222" lan.tls refused
r=$?
[ $r = 1 ]
ok $? "B: A's server is refused when another CA is trusted"

nats_ping --wait 30 ping "nats://$peer:4223" lan.plain "$M_PLAIN"
ok $? "B: request/reply with A in plain text"

# shellcheck disable=SC2086
nats_ping $T pub "nats://$peer:4222" lan.tls.quit bye &&
	nats_ping pub "nats://$peer:4223" lan.plain.quit bye
ok $? "B: A's echoes told to quit"
[ $failures -eq 0 ]
