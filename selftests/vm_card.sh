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

# The ports: the directories of the class (attach and detach are files).
port_names() {
	for d in "$sysfs"/*; do
		[ -d "$d" ] && echo "${d##*/}"
	done
}

# PCI addresses of the cards persohub drives, in order.
card_addrs() {
	port_names | grep -- '-[0-9]*$' | sed 's/-[0-9]*$//' | sort -u
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

# Set, and read back: 0 only if every port has the role.
set_role() {
	for p in $(echo "$1" | tr , ' '); do
		echo "$2" >"$(port_dir "$p")/role" &&
			[ "$(cat "$(port_dir "$p")/role")" = "$2" ] || return 1
	done
}

# A server of the list $1 is busy: a request is in flight.
in_flight() {
	for p in $(echo "$1" | tr , ' '); do
		[ "$(cat "$(port_dir "$p")/state")" = busy ] && return 0
	done
	return 1
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
echo "1..16"

# 1-2: N cards give 4N ports, named <pci address>-<index>.
nports=$(port_names | wc -l)
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

# 3: QEMU's 16550 raises its transmit interrupt when it is enabled over an
# empty transmitter, so every port leaves loading its FIFO to the interrupt
# (nothing but one register write under the hub's lock).
n=$(dmesg | grep -c 'no interrupt on enabling transmit')
[ "$n" -eq 0 ]
ok $? "every port loads its transmitter from the interrupt ($n fall back)"

# 4-7: unbind card 1 while requests are in flight on its servers, rebind:
# every request is still answered, none lost or answered wrongly.
set_role c0p0,c0p1,c0p2 station && set_role c1p0,c1p1 server
ok $? "roles set and read back: 3 stations, 2 servers"
addr1=$(card_addr 1)
t=$(sim_start --stations c0p0,c0p1,c0p2 --servers c1p0,c1p1 --requests 8 \
	--service-us 200000 --timeout-ms 60000)
wait_for 'in_flight c1p0,c1p1' 20
busy=$?
echo "$addr1" >/sys/bus/pci/drivers/persohub/unbind
wait_gone "$sysfs/$addr1-0" && [ $busy -eq 0 ]
ok $? "unbind of card $addr1 with requests in flight removes its ports"
# Its UARTs were left with every interrupt off (IER 0): a shared line must
# never stay asserted by a UART nobody services.
base=$(($(head -n1 "/sys/bus/pci/devices/$addr1/resource" | cut -d' ' -f1)))
ier=
for p in 0 1 2 3; do
	ier="$ier$(dd if=/dev/port bs=1 skip=$((base + 8 * p + 1)) count=1 \
		2>/dev/null | od -An -tu1 | tr -d ' ')"
done
[ "$ier" = 0000 ]
ok $? "unbound UARTs have their interrupts off (IER $ier)"
sleep 0.5	# deliberate: the stations' requests wait with no server a while
persohub-bind >/dev/null
i=0
while [ ! -e "$sysfs/$addr1-0" ] && [ $i -lt 100 ]; do sleep 0.05; i=$((i + 1)); done
set_role c1p0,c1p1 server
sim_wait "$t" 120
rc=$?
[ $rc -eq 0 ] && [ "$(sim_get "$t" total.ok)" = 24 ] &&
	[ "$(sim_get "$t" total.wrong)" = 0 ]
ok $? "after rebind every request answered correctly (sim exit $rc)"

# 8: rebinding gives fresh ports, role off.
[ "$(cat "$sysfs/$addr1-2/role")" = off ] &&
	[ "$(cat "$sysfs/$addr1-2/statistics/rx_bytes")" = 0 ]
ok $? "a rebound card starts with fresh ports"
set_role c0p0,c0p1,c0p2,c1p0,c1p1 off

# 9-10: rmmod while bytes stream into several ports and a site is busy.
set_role c0p0,c0p1 station && set_role c1p0 server
r=$(sim_start --raw c0p3=300000 --raw c1p3=300000 --max-seconds 20)
h=$(sim_start --stations c0p0,c0p1 --servers c1p0 --requests 1000 \
	--service-us 1000 --expect-errors --timeout-ms 500 --max-seconds 20)
# bytes streaming in, and the hub serving
wait_for '[ "$(stat c0p3 rx_bytes)" -gt 0 ] && [ "$(stat c1p3 rx_bytes)" -gt 0 ] && [ "$(stat c1p0 responses)" -gt 0 ]' 20
busy=$?
rmmod persohub && [ $busy -eq 0 ]
ok $? "rmmod under traffic"
[ ! -e "$sysfs" ] || [ -z "$(port_names)" ]
ok $? "no port left after rmmod"
sim_wait "$h" 60 >/dev/null
sim_wait "$r" 60 >/dev/null

# 11-12: load again, bind, ports back with zeroed counters.
modprobe persohub && persohub-bind >/dev/null
ok $? "modprobe and bind again"
nports=$(port_names | wc -l)
[ "$nports" -eq $((4 * cards)) ] && [ "$(stat c0p0 requests)" = 0 ]
ok $? "ports back after reload ($nports)"

# 13: a device with no 16550 where its board says (a wrong new_id) is
# refused at probe, and nothing reads its registers in a loop.
tdev=
for d in /sys/bus/pci/devices/*; do
	[ "$(cat "$d/vendor")" = 0x1b36 ] && [ "$(cat "$d/device")" = 0x0005 ] &&
		tdev=${d##*/}
done
echo "1b36 0005 ffffffff ffffffff 0 0 2" >/sys/bus/pci/drivers/persohub/new_id
[ -n "$tdev" ] && [ ! -e "/sys/bus/pci/drivers/persohub/$tdev" ] &&
	dmesg | grep -q "$tdev: no 16550 at port 0"
ok $? "a board with no UART behind it is refused (device ${tdev:-none})"
echo "1b36 0005" >/sys/bus/pci/drivers/persohub/remove_id

# 14: a port's default name taken by a userspace server: the port gets a
# name of its own, no duplicate.
echo "$addr1" >/sys/bus/pci/drivers/persohub/unbind
wait_gone "$sysfs/$addr1-0"
persohubctl user-server add "$addr1-0" >/dev/null
echo "$addr1" >/sys/bus/pci/drivers/persohub/bind
i=0
while [ ! -e "$sysfs/$addr1-0" ] && [ $i -lt 100 ]; do sleep 0.05; i=$((i + 1)); done
[ "$(cat "$sysfs/$addr1-0/name")" = "$addr1-0.1" ]
ok $? "default names stay unique ($(cat "$sysfs/$addr1-0/name" 2>/dev/null))"
persohubctl user-server del "$addr1-0" >/dev/null

# 15: unbind and bind card 1 again and again while the hub dispatches to
# its servers as fast as the stations ask: whatever dispatch races with the
# unbind, the card's UARTs are left with their interrupts off.
uart_iers() {
	b=$(($(head -n1 "/sys/bus/pci/devices/$1/resource" | cut -d' ' -f1)))
	for p in 0 1 2 3; do
		dd if=/dev/port bs=1 skip=$((b + 8 * p + 1)) count=1 2>/dev/null |
			od -An -tu1 | tr -d ' '
	done | tr -d '\n'
}
set_role c0p0,c0p1,c0p2,c0p3,c2p0,c2p1 station
set_role c1p0,c1p1,c1p2,c1p3 server
t=$(sim_start --stations c0p0,c0p1,c0p2,c0p3,c2p0,c2p1 \
	--servers c1p0,c1p1,c1p2,c1p3 --requests 1000000 --service-us 50 \
	--duration 25 --timeout-ms 1000 --expect-errors --max-seconds 60)
bad=
wait_for '[ "$(stat c1p0 responses)" -gt 0 ]' 20 || bad=" no-traffic"
for cyc in $(seq 20); do
	echo "$addr1" >/sys/bus/pci/drivers/persohub/unbind
	wait_gone "$sysfs/$addr1-0"
	ier=$(uart_iers "$addr1")
	[ "$ier" = 0000 ] || bad="$bad $cyc:$ier"
	echo "$addr1" >/sys/bus/pci/drivers/persohub/bind
	j=0
	while [ ! -e "$sysfs/$addr1-3" ] && [ $j -lt 100 ]; do sleep 0.02; j=$((j + 1)); done
	set_role c1p0,c1p1,c1p2,c1p3 server
	sleep 0.2	# deliberate: dispatches flow between two unbinds
done
sim_wait "$t" 90 >/dev/null
[ -z "$bad" ]
ok $? "20 unbinds racing dispatches leave every UART interrupt off${bad:+ (not:$bad)}"

# 16: every card given back to 8250 and taken again, five times, as
# persohub-bind does on a site: probing a card must never raise its
# interrupt, or on a line shared with a card already bound the other
# handler (a real-time thread on PREEMPT_RT) runs until the kernel
# disables the line as one "nobody cared" about.
for cyc in 1 2 3 4 5; do
	persohub-bind --unbind -q && persohub-bind -q || break
done
nc=$(dmesg | grep -c 'nobody cared')
[ "$nc" -eq 0 ] && [ "$(card_addrs | wc -l)" -eq "$cards" ]
ok $? "5 rebinds of all cards from 8250, no interrupt line disabled ($nc)"

[ $failures -eq 0 ]
