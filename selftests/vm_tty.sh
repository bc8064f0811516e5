#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# The tty backend inside the test machine: ttys of the kernel's 8250 (a
# tty card, tCpP) and of ftdi_sio (QEMU usb-serial adapters, uN) attached
# to persohub beside a card it drives itself (c0pP), served end to end by
# the site simulator, with faults, misuse, an adapter pulled out in flight
# and plugged back, detach and rmmod under load. Run as "vm_tty.sh" under
# vm-run --cards 1 --tty-cards 1 --usb-serial 2 --telnet, with --share and
# the host agent selftests/simd.sh. TAP output; the runner fails the run on
# any kernel warning.

sysfs=/sys/class/persohub
scale=${PH_TIMEOUT_SCALE:-1}
SIM_ARGS="--telnet --key 4242"
# shellcheck source=selftests/lib.sh
. /usr/share/persohub/selftests/lib.sh

card=$(for d in "$sysfs"/*-0; do [ -d "$d" ] && basename "${d%-0}"; done | head -n1)

# The sysfs directory of a port: c0pP (the card), tCpP or uN (a tty).
dir() {
	case $1 in
	c0p*) echo "$sysfs/$card-${1#c0p}" ;;
	*) echo "$sysfs/$(vm-ttys "$1")" ;;
	esac
}

stat() {
	cat "$(dir "$1")/statistics/$2"
}

attach() {
	t=$(vm-ttys -w $((10 * scale)) "$1") || return 1
	echo "$t" >"$sysfs/attach"
}

roles() {
	for p in $(echo "$1" | tr , ' '); do
		echo "$2" >"$(dir "$p")/role" || return 1
	done
}

# errno_of CMD...: the errno name a shell write error reported, or "ok"
write_err() {
	out=$(sh -c "$1" 2>&1) && { echo ok; return; }
	case $out in
	*"No such device"*) echo ENODEV ;;
	*"File exists"*) echo EEXIST ;;
	*"busy"*) echo EBUSY ;;
	*"not supported"*) echo EOPNOTSUPP ;;
	*) echo "other: $out" ;;
	esac
}

# Wait until the tty of $1 (uN) is gone.
tty_gone() {
	i=0
	while vm-ttys "$1" >/dev/null 2>&1 && [ $i -lt $((100 * scale)) ]; do
		sleep 0.1
		i=$((i + 1))
	done
	! vm-ttys "$1" >/dev/null 2>&1
}

# go: let a simulator run that waits on --go-file go.$1 start.
go() {
	: >"/host/go.$1"
}

echo "TAP version 13"
echo "1..16"

# 1-2: three ports of the tty card attached: each a port named after its
# tty, backend tty, beside the card's own ports (backend uart).
bad=0
for p in 0 1 2; do
	attach "t0p$p" || bad=1
done
for p in 0 1 2; do
	t=$(vm-ttys "t0p$p")
	[ "$(cat "$sysfs/$t/backend")" = tty ] &&
		[ "$(cat "$sysfs/$t/tty")" = "$t" ] &&
		[ "$(cat "$sysfs/$t/name")" = "$t" ] &&
		[ "$(cat "$sysfs/$t/role")" = off ] || bad=1
done
ok $bad "3 ttys of 8250 attached, named after their tty, backend tty"
[ "$(cat "$sysfs/$card-0/backend")" = uart ] && [ ! -e "$sysfs/$card-0/tty" ] &&
	[ ! -e "$(dir t0p0)/card" ]
ok $? "card ports show backend uart and no tty; tty ports no card"

# 3-6: misuse, each with its own error, changing nothing.
t1=$(vm-ttys t0p1)
e1=$(write_err "echo ttyS99 >$sysfs/attach")
e2=$(write_err "echo $t1 >$sysfs/attach")
e3=$(write_err "echo $card-0 >$sysfs/detach")
e4=$(write_err "echo ttyS99 >$sysfs/detach")
[ "$e1/$e2/$e3/$e4" = ENODEV/EEXIST/EOPNOTSUPP/ENODEV ]
ok $? "unknown tty, double attach, detach of a card port or of nothing refused ($e1/$e2/$e3/$e4)"
# A tty someone holds open is not taken.
free=$(vm-ttys t0p3)
stty -F "/dev/$free" clocal
sleep 30 <"/dev/$free" &	# holds the tty open, killed below
holder=$!
wait_for '[ "$(readlink /proc/$holder/fd/0)" = "/dev/$free" ]' 10
held=$?
e=$(write_err "echo $free >$sysfs/attach")
kill $holder 2>/dev/null
wait $holder 2>/dev/null
[ $held -eq 0 ] && [ "$e" = EBUSY ] && [ ! -e "$sysfs/$free" ]
ok $? "a tty open elsewhere is refused with EBUSY ($free: $e)"
# Once free it can be attached, and detached again.
echo "$free" >"$sysfs/attach" && [ -d "$sysfs/$free" ] &&
	echo "$free" >"$sysfs/detach" && [ ! -e "$sysfs/$free" ]
ok $? "a free tty attaches and detaches ($free)"
ldisc=$(cat /sys/module/persohub/parameters/ldisc)
vm_setd "/dev/$free" "$ldisc"
ok $? "a user's TIOCSETD of persohub's discipline ($ldisc) is refused"
attach t0p3

# 7-8: a site mixing the card, 8250 ttys and USB adapters: stations on all
# three kinds, servers on all three, every answer its own.
roles c0p0,t0p0 station && roles c0p2,t0p2 server
s=$(sim_start --stations c0p0,t0p0,u0 --servers c0p2,t0p2,u1 \
	--requests 60 --size-max 300 --go-file go.mixed --max-seconds 120)
bad=0
for u in u0 u1; do
	attach $u || bad=1
done
roles u0 station && roles u1 server || bad=1
go mixed
sim_wait "$s" 150 >/tmp/mixed.log
rc=$?
cat /tmp/mixed.log
[ $bad -eq 0 ] && [ $rc -eq 0 ] && [ "$(sim_get "$s" total.ok)" = 180 ] &&
	[ "$(sim_get "$s" total.wrong)" = 0 ]
ok $? "card, 8250 and USB ports serve each other: 180 of 180 answered (sim $rc)"
[ "$(sim_get "$s" c0p2.received)" -gt 0 ] &&
	[ "$(sim_get "$s" t0p2.received)" -gt 0 ] &&
	[ "$(sim_get "$s" u1.received)" -gt 0 ] &&
	[ "$(stat t0p0 requests)" = 60 ] && [ "$(stat t0p0 responses)" = 60 ]
ok $? "every kind of server took work; the tty station counted 60 and 60"

# 9: the adapters went with the simulator's sockets: their ports are gone.
tty_gone u0
tty_gone u1
left=0
for d in "$sysfs"/ttyUSB*; do [ -d "$d" ] && left=$((left + 1)); done
[ $left -eq 0 ]
ok $? "unplugged adapters take their ports with them ($left left)"

# 10: faults on tty ports, counted exactly: noise and breaks on a tty
# station, garbage from a tty server (retried on the other).
roles c0p0,c0p2 off
roles t0p1 station && roles t0p3 server
echo 300 >"$(dir t0p3)/timeout_ms"
b0=$(stat t0p1 breaks) f0=$(stat t0p1 fcs_errors) h0=$(stat t0p1 frame_too_short)
g0=$(stat t0p3 fcs_errors)
s=$(sim_start --stations t0p0,t0p1 --servers t0p2,t0p3 --requests 30 \
	--noise t0p0 --break t0p1 --server-mode t0p3=garbage)
sim_wait "$s" 120 >/tmp/fault.log
rc=$?
cat /tmp/fault.log
echo "# breaks $(($(stat t0p1 breaks) - b0)) sim $(sim_get "$s" t0p1.breaks);" \
	"garbage $(($(stat t0p3 fcs_errors) - g0)) sim $(sim_get "$s" t0p3.garbage)"
[ $rc -eq 0 ] && [ "$(sim_get "$s" total.ok)" = 60 ] &&
	[ "$(sim_get "$s" total.wrong)" = 0 ] &&
	[ $(($(stat t0p1 breaks) - b0)) = "$(sim_get "$s" t0p1.breaks)" ] &&
	[ "$(sim_get "$s" t0p1.breaks)" -ge 1 ] &&
	[ $(($(stat t0p3 fcs_errors) - g0)) = "$(sim_get "$s" t0p3.garbage)" ]
ok $? "noise, breaks and a garbage server on ttys: all answered, counted exactly"
echo idle >"$(dir t0p3)/state" 2>/dev/null

# 11: a USB server pulled out with a request in hand: the request goes to
# another server, nothing is lost; plugged back in, it serves again.
# The first run ends (a station of a port that is off waits 2.5 s for an
# answer that never comes) while its u1 holds a request for 3 s.
roles t0p3,t0p1 off && roles c0p0 station
a=$(sim_start --stations c0p3 --requests 1 --timeout-ms 2500 \
	--servers u1 --service-us 3000000 --go-file go.unplug --expect-errors)
attach u1 && roles u1 server
b=$(sim_start --stations c0p0,t0p0 --servers t0p2 --requests 6 \
	--service-us 200000 --go-file go.unplug)
go unplug
sim_wait "$a" 30 >/tmp/unplug.log
sim_wait "$b" 60 >>/tmp/unplug.log
rc=$?
cat /tmp/unplug.log
tty_gone u1
left=0
for d in "$sysfs"/ttyUSB*; do [ -d "$d" ] && left=$((left + 1)); done
roles c0p0,t0p2 off
c=$(sim_start --stations t0p0 --servers u1 --requests 5 --go-file go.replug)
attach u1 && roles u1 server
go replug
sim_wait "$c" 60 >/dev/null
rc2=$?
[ $rc -eq 0 ] && [ "$(sim_get "$b" total.ok)" = 12 ] && [ $left -eq 0 ] &&
	[ "$(sim_get "$a" u1.received)" = 1 ] &&
	[ "$(sim_get "$a" u1.answered)" = 0 ] &&
	[ $rc2 -eq 0 ] && [ "$(sim_get "$c" u1.answered)" = 5 ]
ok $? "a USB server pulled out in flight: 12 of 12 answered elsewhere; back in, it served 5 (sims $rc $rc2)"

# 12: detach a tty server, then rmmod, while requests flow: every request
# the hub took is answered or counted, nothing hangs; the ttys are free
# again afterwards.
tty_gone u1
roles t0p2,t0p3 server && roles c0p0,c0p1,t0p1 station
s=$(sim_start --stations c0p0,c0p1,t0p0,t0p1 --servers t0p2,t0p3 \
	--requests 200 --service-us 20000 --expect-errors --timeout-ms 2000 \
	--max-seconds 30)
# requests flowing to both servers, then to the one left after the detach
wait_for '[ "$(stat t0p3 requests)" -gt 0 ] && [ "$(stat t0p2 requests)" -gt 0 ]' 20
flow=$?
n2=$(stat t0p2 requests)
echo "$(vm-ttys t0p3)" >"$sysfs/detach"
r1=$?
wait_for '[ "$(stat t0p2 requests)" -gt "$n2" ]' 20 || r1=1
rmmod persohub
r2=$?
sim_wait "$s" 60 >/dev/null
t=$(vm-ttys t0p3)
stty -F "/dev/$t" 9600 && stty -F "/dev/$(vm-ttys t0p0)" 9600
r3=$?
modprobe persohub && persohub-bind >/dev/null
r4=$?
[ $flow -eq 0 ] && [ $r1 -eq 0 ] && [ $r2 -eq 0 ] && [ $r3 -eq 0 ] &&
	[ $r4 -eq 0 ] && [ "$(sim_get "$s" total.wrong)" = 0 ]
ok $? "detach and rmmod under load, ttys free after, module back ($flow $r1 $r2 $r3 $r4)"

# 13-14: persohubd attaches and configures the ttys persohub.conf names
# by a stable path, at start, and an adapter plugged in later on SIGHUP
# (the reload that the udev rule asks for). The by-id link is made here
# as udev would make it.
name_of() {
	cat "$sysfs/$1/name" 2>/dev/null
}
wait_name() {	# TTY NAME ROLE
	i=0
	while { [ "$(name_of "$1")" != "$2" ] ||
		[ "$(cat "$sysfs/$1/role" 2>/dev/null)" != "$3" ]; } &&
		[ $i -lt $((100 * scale)) ]; do
		sleep 0.1
		i=$((i + 1))
	done
	[ "$(name_of "$1")" = "$2" ]
}
mkdir -p /dev/serial/by-id
link=/dev/serial/by-id/usb-QEMU_QEMU_USB_SERIAL_u0-if00-port0
rm -f "$link"
ts=$(vm-ttys t0p1)
cat >/tmp/tty.conf <<EOC
[tty /dev/$ts]
role = server
name = tty-hsm
timeout_ms = 1500
[tty $link]
role = station
name = usb-st
EOC
persohubd -c /tmp/tty.conf -s /tmp/tty.stats >/tmp/persohubd.log 2>&1 &
pd=$!
wait_name "$ts" tty-hsm server &&
	[ "$(cat "$sysfs/$ts/timeout_ms")" = 1500 ] &&
	[ "$(cat "$sysfs/$ts/backend")" = tty ]
ok $? "persohubd attaches a configured tty at start, with its settings"
s=$(sim_start --stations u0 --servers t0p1 --requests 20 --go-file go.hup)
tu=$(vm-ttys -w $((10 * scale)) u0)
ln -sf "../../$tu" "$link"
kill -HUP $pd
wait_name "$tu" usb-st station
r=$?
go hup
sim_wait "$s" 60 >/dev/null
rc=$?
kill $pd
wait $pd 2>/dev/null
sed 's/^/# persohubd: /' /tmp/persohubd.log | tail -n 8
[ $r -eq 0 ] && [ $rc -eq 0 ] && [ "$(sim_get "$s" total.ok)" = 20 ]
ok $? "an adapter plugged in later is attached and configured on SIGHUP: 20 of 20 served"

# 15: the same over netlink (persohubctl attach/detach, PORT_ADD/DEL),
# by a link's path, and its errors in words.
t3=$(vm-ttys t0p3)
echo "$t3" >"$sysfs/detach" 2>/dev/null
ln -sf "../../$t3" /dev/serial/by-id/pci-t0p3
out=$(persohubctl attach /dev/serial/by-id/pci-t0p3 2>&1)
r1=$?
echo "$out" | sed 's/^/# /'
[ $r1 -eq 0 ] && echo "$out" | grep -q "tty $t3" && [ -d "$sysfs/$t3" ] ||
	r1=1
again=$(persohubctl attach "$t3" 2>&1)
r2=$?
persohubctl detach "$t3"
r3=$?
none=$(persohubctl attach ttyS99 2>&1)
r4=$?
echo "# $again / $none"
[ $r1 -eq 0 ] && [ $r2 -ne 0 ] && echo "$again" | grep -q "attached already" &&
	[ $r3 -eq 0 ] && [ ! -e "$sysfs/$t3" ] &&
	[ $r4 -ne 0 ] && echo "$none" | grep -q "no such tty"
ok $? "persohubctl attach by a by-id link, detach, and their errors"

# 16: a USB station pulled out while its request is in service: the
# request is dropped with its station, the server's late answer goes
# nowhere, and the server serves the next station at once.
attach t0p0 && attach t0p2
roles t0p1 off	# persohubd made it a server (13)
roles t0p2 server
echo 5000 >"$(dir t0p2)/timeout_ms"
r0=$(stat t0p2 responses)
a=$(sim_start --stations u0 --requests 1 --timeout-ms 600 --expect-errors \
	--go-file go.st)
b=$(sim_start --stations c0p3 --requests 1 --timeout-ms 4000 \
	--expect-errors --servers t0p2 --service-us 2000000 --go-file go.st)
attach u0 && roles u0 station
go st
sim_wait "$a" 30 >/tmp/st.log
tty_gone u0
left=0
for d in "$sysfs"/ttyUSB*; do [ -d "$d" ] && left=$((left + 1)); done
sim_wait "$b" 30 >>/tmp/st.log
i=0
while [ "$(cat "$(dir t0p2)/state")" != idle ] && [ $i -lt $((50 * scale)) ]; do
	sleep 0.1
	i=$((i + 1))
done
roles t0p0 station
c=$(sim_start --stations t0p0 --servers t0p2 --requests 3)
sim_wait "$c" 30 >>/tmp/st.log
rc=$?
cat /tmp/st.log
echo "# t0p2 answers $(($(stat t0p2 responses) - r0)), unexpected $(stat t0p2 unexpected_frames)"
[ $left -eq 0 ] && [ "$(sim_get "$b" t0p2.received)" = 1 ] &&
	[ $rc -eq 0 ] && [ "$(sim_get "$c" total.ok)" = 3 ] &&
	[ $(($(stat t0p2 responses) - r0)) = 4 ]
ok $? "a USB station pulled out in flight: its request dropped, the server free again"

[ $failures -eq 0 ]
