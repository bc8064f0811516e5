#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# The test rig of the tty backend, inside the test machine: the ports that
# scripts/vm-run leaves to the kernel's own tty drivers. Every tCpP (a port
# of a tty card, a ttyS of 8250_pci) and every uN (a QEMU usb-serial
# adapter, a ttyUSB of ftdi_sio) maps to a tty (scripts/vm-ttys); bytes
# from the host's simulator arrive on that tty and bytes written to it
# arrive at the simulator, each port with its own byte counts so that a
# wrong mapping shows; closing the host side of uN unplugs the adapter and
# connecting again plugs it back. Run as "vm_ttyrig.sh TTYCARDS USBSERIAL"
# under vm-run --tty-cards TTYCARDS --usb-serial USBSERIAL with --share and
# the host agent selftests/simd.sh. TAP output.

tcards=${1:-1}
tty_u0=
nusb=${2:-2}
scale=${PH_TIMEOUT_SCALE:-1}
# shellcheck source=selftests/lib.sh
. /usr/share/persohub/selftests/lib.sh

# N bytes of sitesim's --raw pattern: 0x01..0x7c, repeated.
pattern() {
	awk -v n="$1" 'BEGIN { for (i = 0; i < n; i++) printf "%c", 1 + i % 124 }'
}

# raw_tty TTY: raw 115200 8N1, no echo (an echo would go back to the host)
raw_tty() {
	stty -F "/dev/$1" raw -echo clocal cs8 -cstopb -parenb 115200
}

# reader TTY N FILE: read N bytes from TTY into FILE, in the background
reader() {
	timeout $((60 * scale)) head -c "$2" "/dev/$1" >"$3" &
}

# check FILE N: FILE holds exactly the first N bytes of the pattern
check() {
	pattern "$2" >/tmp/want
	cmp -s "$1" /tmp/want
}

echo "TAP version 13"
echo "1..$((5 + 6 * (nusb > 0)))"

# 1: every tCpP has a ttyS that exists, all different, as /etc/vm-run/ttys
# says, and the tty cards stayed with 8250 (persohub-bind left them).
bad=0
seen=
for c in $(seq 0 $((tcards - 1))); do
	for p in 0 1 2 3; do
		t=$(vm-ttys "t${c}p$p") || { bad=1; echo "# t${c}p$p: no tty"; continue; }
		echo "# t${c}p$p=$t"
		[ -c "/dev/$t" ] || bad=1
		grep -qx "t${c}p$p=$t" /etc/vm-run/ttys || bad=1
		case " $seen " in *" $t "*) bad=1 ;; esac
		seen="$seen $t"
	done
done
for a in $(sed -n 's/.*ph_ttycards=\([^ ]*\).*/\1/p' /proc/cmdline | tr , ' '); do
	drv=$(basename "$(readlink "/sys/bus/pci/devices/$a/driver")")
	echo "# tty card $a: driver $drv"
	[ "$drv" = serial ] || bad=1
done
ok $bad "every tCpP of $tcards tty card(s) maps to its own ttyS, cards left to 8250"

# 2: persohub's own card is still persohub's.
np=0
for d in /sys/class/persohub/0000:00:10.0-*; do
	[ -e "$d" ] && np=$((np + 1))
done
[ "$np" = 4 ] && [ -e /sys/bus/pci/drivers/persohub/0000:00:10.0 ]
ok $? "persohub still drives card 0000:00:10.0 ($np ports)"

# 3-4: host -> guest and guest -> host on every tCpP, with its own counts.
raws=
for c in $(seq 0 $((tcards - 1))); do
	for p in 0 1 2 3; do
		name=t${c}p$p
		t=$(vm-ttys "$name")
		raw_tty "$t"
		reader "$t" $((200 + 40 * p + 160 * c)) "/tmp/rx.$name"
		raws="$raws --raw $name=$((200 + 40 * p + 160 * c))"
		raws="$raws --expect-raw $name=$((100 + 20 * p + 80 * c))"
	done
done
rm -f /host/go.t
# shellcheck disable=SC2086 # a word list
s=$(sim_start $raws --go-file go.t --max-seconds $((90 * scale)))
# the readers hold their ttys open before a byte leaves the host
sleep 1
touch /host/go.t
wait
bad=0
for c in $(seq 0 $((tcards - 1))); do
	for p in 0 1 2 3; do
		name=t${c}p$p
		check "/tmp/rx.$name" $((200 + 40 * p + 160 * c)) || {
			bad=1
			echo "# $name: got $(wc -c <"/tmp/rx.$name") bytes, not the $((200 + 40 * p + 160 * c)) sent"
		}
	done
done
ok $bad "bytes from the host's sitesim arrive on each tCpP's ttyS"
for c in $(seq 0 $((tcards - 1))); do
	for p in 0 1 2 3; do
		t=$(vm-ttys "t${c}p$p")
		pattern $((100 + 20 * p + 80 * c)) >"/dev/$t" &
	done
done
wait
sim_wait "$s" $((120 * scale))
ok $? "bytes written to each tCpP's ttyS arrive at the host, each on its own socket"

# 5: no adapter is plugged in while nobody is connected to its socket.
bad=0
for u in $(seq 0 $((nusb - 1))); do
	if t=$(vm-ttys "u$u"); then
		echo "# u$u has $t with no host client"
		bad=1
	fi
done
ok $bad "no uN has a ttyUSB before the host connects"
[ "$nusb" -gt 0 ] || exit $((failures > 0))

# 6-9: the host connects to every uN: each is plugged in, as a ttyUSB of
# its own; bytes flow both ways, with counts of its own.
raws=
for u in $(seq 0 $((nusb - 1))); do
	raws="$raws --raw u$u=$((300 + 50 * u)) --expect-raw u$u=$((150 + 25 * u))"
done
rm -f /host/go.u
# shellcheck disable=SC2086 # a word list
s=$(sim_start $raws --go-file go.u --max-seconds $((90 * scale)))
bad=0
seen=
for u in $(seq 0 $((nusb - 1))); do
	t=$(vm-ttys -w $((60 * scale)) "u$u") || { bad=1; echo "# u$u: no tty"; continue; }
	echo "# u$u=$t ($(readlink -f "/sys/class/tty/$t"))"
	[ -c "/dev/$t" ] || bad=1
	case " $seen " in *" $t "*) bad=1 ;; esac
	seen="$seen $t"
	eval "tty_u$u=$t"
done
ok $bad "connecting to each uN plugs in an adapter with a ttyUSB of its own"
for u in $(seq 0 $((nusb - 1))); do
	eval "t=\$tty_u$u"
	[ -n "$t" ] || continue
	raw_tty "$t"
	reader "$t" $((300 + 50 * u)) "/tmp/rx.u$u"
done
sleep 1
touch /host/go.u
wait
bad=0
for u in $(seq 0 $((nusb - 1))); do
	check "/tmp/rx.u$u" $((300 + 50 * u)) || {
		bad=1
		echo "# u$u: got $(wc -c <"/tmp/rx.u$u") bytes, not the $((300 + 50 * u)) sent"
	}
done
ok $bad "bytes from the host's sitesim arrive on each uN's ttyUSB"
for u in $(seq 0 $((nusb - 1))); do
	eval "t=\$tty_u$u"
	[ -z "$t" ] || pattern $((150 + 25 * u)) >"/dev/$t" &
done
wait
sim_wait "$s" $((120 * scale))
ok $? "bytes written to each uN's ttyUSB arrive at the host, each on its own socket"

# sitesim has ended: it closed every uN, which unplugs the adapters.
bad=0
for u in $(seq 0 $((nusb - 1))); do
	eval "t=\$tty_u$u"
	vm-ttys -g $((30 * scale)) "u$u" && [ ! -e "/dev/$t" ] &&
		[ ! -e "/sys/class/tty/$t" ] || { bad=1; echo "# u$u: $t still there"; }
done
ok $bad "closing the host side of each uN unplugs it: its ttyUSB is gone"

# 10-11: connecting again plugs u0 back in (maybe as another ttyUSB), and
# it carries bytes; closing unplugs it again.
rm -f /host/go.r
s=$(sim_start --raw u0=123 --go-file go.r --max-seconds $((90 * scale)))
t=$(vm-ttys -w $((60 * scale)) u0)
ok $? "reconnecting to u0 plugs it back in (${t:-none}, was $tty_u0)"
bad=1
if [ -n "$t" ]; then
	raw_tty "$t"
	reader "$t" 123 /tmp/rx.r
	sleep 1
	touch /host/go.r
	wait
	check /tmp/rx.r 123 && bad=0
	sim_wait "$s" $((120 * scale)) || bad=1
	vm-ttys -g $((30 * scale)) u0 || bad=1
else
	touch /host/go.r
	sim_wait "$s" $((120 * scale))
fi
ok $bad "the replugged u0 carries bytes, and goes again when the host closes"

[ "$failures" -eq 0 ]
