#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# Card binding inside the test machine: the ports persohub creates, unbind
# and rebind of a card, and rmmod, while bytes stream in and requests are
# in flight. Run as "vm_card.sh CARDS" with persohub loaded and bound, the
# runner's --share and the host agent selftests/simd.sh. TAP output; the
# runner fails the run on any kernel warning.

cards=${1:-2}
sysfs=/sys/class/persohub
. /usr/share/persohub/selftests/lib.sh

# PCI addresses of the cards persohub drives, in order.
card_addrs() {
	ls "$sysfs" 2>/dev/null | sed 's/-[0-9]*$//' | sort -u
}

card_addr() {
	card_addrs | sed -n "$(($1 + 1))p"
}

port_dir() {
	c=${1#c}
	c=${c%p*}
	echo "$sysfs/$(card_addr "$c")-${1#*p}"
}

stat() {
	cat "$(port_dir "$1")/statistics/$2"
}

set_role() {
	for p in $(echo "$1" | tr , ' '); do
		echo "$2" >"$(port_dir "$p")/role" || return 1
	done
}

wait_gone() {
	i=0
	while [ -e "$1" ] && [ $i -lt 100 ]; do
		sleep 0.05
		i=$((i + 1))
	done
	[ ! -e "$1" ]
}

echo "TAP version 13"
echo "1..10"

# 1-2: N cards give 4N ports, named <pci address>-<index>.
nports=$(ls "$sysfs" | wc -l)
[ "$nports" -eq $((4 * cards)) ]
ok $? "$cards cards give $((4 * cards)) ports (found $nports)"
bad=0
for a in $(card_addrs); do
	for i in 0 1 2 3; do
		[ "$(cat "$sysfs/$a-$i/card")" = "$a" ] || bad=1
		[ "$(cat "$sysfs/$a-$i/port")" = "$i" ] || bad=1
		[ -e "/sys/bus/pci/drivers/persohub/$a" ] || bad=1
	done
done
ok $bad "ports named from card address and index, bound to persohub"

# 3-5: unbind card 1 while requests are in flight on its servers, rebind:
# every request is still answered, none lost or answered wrongly.
set_role c0p0,c0p1,c0p2 station && set_role c1p0,c1p1 server
ok $? "roles set"
addr1=$(card_addr 1)
t=$(sim_start --stations c0p0,c0p1,c0p2 --servers c1p0,c1p1 --requests 8 \
	--service-us 200000 --timeout-ms 60000)
sleep 1
echo "$addr1" >/sys/bus/pci/drivers/persohub/unbind
wait_gone "$sysfs/$addr1-0"
ok $? "unbind of card $addr1 with requests in flight removes its ports"
sleep 0.5
persohub-bind >/dev/null
i=0
while [ ! -e "$sysfs/$addr1-0" ] && [ $i -lt 100 ]; do sleep 0.05; i=$((i + 1)); done
set_role c1p0,c1p1 server
sim_wait "$t" 120
rc=$?
[ $rc -eq 0 ] && [ "$(sim_get "$t" total.ok)" = 24 ] &&
	[ "$(sim_get "$t" total.wrong)" = 0 ]
ok $? "after rebind every request answered correctly (sim exit $rc)"

# 6: rebinding gives fresh ports, role off.
[ "$(cat "$sysfs/$addr1-2/role")" = off ] &&
	[ "$(cat "$sysfs/$addr1-2/statistics/rx_bytes")" = 0 ]
ok $? "a rebound card starts with fresh ports"
set_role c0p0,c0p1,c0p2,c1p0,c1p1 off

# 7-8: rmmod while bytes stream into several ports and a site is busy.
set_role c0p0,c0p1 station && set_role c1p0 server
r=$(sim_start --raw c0p3=300000 --raw c1p3=300000 --max-seconds 20)
h=$(sim_start --stations c0p0,c0p1 --servers c1p0 --requests 1000 \
	--service-us 1000 --expect-errors --timeout-ms 500 --max-seconds 20)
sleep 1
rmmod persohub
ok $? "rmmod under traffic"
[ ! -e "$sysfs" ] || [ -z "$(ls "$sysfs")" ]
ok $? "no port left after rmmod"
sim_wait "$h" 60 >/dev/null
sim_wait "$r" 60 >/dev/null

# 9-10: load again, bind, ports back with zeroed counters.
modprobe persohub && persohub-bind >/dev/null
ok $? "modprobe and bind again"
nports=$(ls "$sysfs" | wc -l)
[ "$nports" -eq $((4 * cards)) ] && [ "$(stat c0p0 requests)" = 0 ]
ok $? "ports back after reload ($nports)"

[ $failures -eq 0 ]
