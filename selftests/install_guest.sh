#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# The install test inside the Debian 12 machine (scripts/install-test.sh):
# what Documentation/admin-guide.md has an administrator do, checked step by
# step. TAP on stdout.
#
#   install_guest.sh install   first boot: "make install" from a copy of the
#                              source (programs, udev rules, unit, example
#                              configuration, the module through DKMS); the
#                              site's configuration is written; then reboot
#   install_guest.sh serve     second boot: udev bound the cards and systemd
#                              started persohubd; the simulated site is served
#                              with and without the daemon; then everything
#                              is taken out again (dkms-install.sh --remove)
#
#   install_guest.sh boot      what the image's persohub-test.service runs:
#                              the phase named by ph_phase= on the kernel
#                              command line, its TAP in /host/tap.PHASE,
#                              then "persohub-test-status phase=P rc=N" on
#                              ttyS1 (a file on the host) and a reboot after
#                              a good install, else a poweroff
#
# The source tree is /mnt/src (read-only), the host's directory /host (tag
# "ctl"): the site simulator runs there at the guest's request
# (selftests/simd.sh). ph_kver= on the kernel command line is the release
# the host meant to boot (6.1's or 6.12's); the module is persohub.ko or,
# where the kernel's modules are compressed (Debian's 6.12), persohub.ko.xz.
set -euo pipefail

phase=${1:?usage: install_guest.sh boot|install|serve}

if [ "$phase" = boot ]; then
	phase=$(sed -n 's/.* ph_phase=\([a-z]*\).*/\1/p' /proc/cmdline)
	mkdir -p /host
	rc=0
	mount -t 9p -o trans=virtio,version=9p2000.L,msize=262144 ctl /host ||
		rc=125
	if [ $rc = 0 ]; then
		set +e
		bash "$0" "$phase" 2>&1 | tee "/host/tap.$phase"
		rc=${PIPESTATUS[0]}
		set -e
	fi
	sync
	echo "persohub-test-status phase=$phase rc=$rc" >/dev/ttyS1
	if [ "$phase" = install ] && [ "$rc" = 0 ]; then
		systemctl reboot
	else
		systemctl poweroff
	fi
	exit "$rc"
fi

src=/mnt/src
tree=/root/persohub
kver=$(uname -r)
want_kver=$(sed -n 's/.* ph_kver=\([^ ]*\).*/\1/p' /proc/cmdline)
ver=$(sed -n 's/^PACKAGE_VERSION="\(.*\)"/\1/p' "$src/dkms.conf")
sysfs=/sys/class/persohub
c0=0000:00:10.0
c1=0000:00:11.0

# shellcheck source=selftests/lib.sh
. "$src/selftests/lib.sh"	# ok, sim_start, sim_wait, sim_get

check() {	# name command...
	local name=$1
	shift
	if "$@"; then
		ok 0 "$name"
	else
		ok 1 "$name"
	fi
}

wait_for() {	# seconds command...: poll every 0.2 s
	local i=0 n=$(($1 * 5))
	shift
	while ! "$@"; do
		i=$((i + 1))
		[ $i -lt $n ] || return 1
		sleep 0.2
	done
}

driver() {	# PCI address: its driver's name, or nothing
	local d=/sys/bus/pci/devices/$1/driver
	[ -L "$d" ] && basename "$(readlink "$d")"
	return 0
}

is() {		# actual expected [what]: equal, or say what differs
	[ "$1" = "$2" ] && return 0
	echo "# ${3:-value}: '$1', expected '$2'"
	return 1
}

echo "TAP version 13"
echo "# phase $phase, kernel $kver, persohub $ver"
if [ -n "$want_kver" ]; then
	check "the guest runs kernel $want_kver" is "$kver" "$want_kver" "uname -r"
fi

# ---------------------------------------------------------------- install

site_conf() {
	cat <<EOF
; The install test's site: 5 stations, 2 servers, one port off.
[daemon]
realtime = yes
priority = 50
resync_ms = 500
metrics_dir = /var/lib/prometheus/node-exporter
metrics_interval_ms = 1000

[port $c0-0]
role = station
name = m1-st1
[port $c0-1]
role = station
name = m1-st2
[port $c0-2]
role = station
name = m1-st3
[port $c0-3]
role = station
name = m2-st1
queue_depth = 2
[port $c1-0]
role = station
name = m2-st2
[port $c1-1]
role = off
[port $c1-2]
role = server
name = hsm1
timeout_ms = 2000
[port $c1-3]
role = server
name = dep1
timeout_ms = 2000
weight = 2
EOF
}

installed_files() {
	local f bad=0
	for f in /usr/sbin/persohubd /usr/sbin/persohubctl /usr/sbin/persohub-bind \
		/lib/udev/rules.d/60-persohub.rules \
		/lib/systemd/system/persohubd.service \
		/usr/lib/modules-load.d/persohub.conf \
		/usr/share/doc/persohub/persohub.conf.example \
		/usr/share/man/man8/persohubd.8 /usr/share/man/man8/persohubctl.8 \
		/usr/share/man/man5/persohub.conf.5; do
		[ -s "$f" ] || { echo "# missing: $f"; bad=1; }
	done
	return $bad
}

libraries_found() {
	if ldd /usr/sbin/persohubd /usr/sbin/persohubctl | grep 'not found'; then
		return 1
	fi
	/usr/sbin/persohubd -h >/dev/null && /usr/sbin/persohubctl -h >/dev/null
}

dkms_installed() {
	local st
	st=$(dkms status -m persohub -v "$ver" -k "$kver" 2>/dev/null)
	printf '%s\n' "$st" | sed 's/^/# dkms status: /'
	[[ $st == *": installed"* ]]
}

module_file() {	# the module modprobe would load: DKMS's, for this kernel,
		# compressed or not
	local ko vm
	ko=$(modinfo -n persohub 2>/dev/null) || { echo "# modinfo: no persohub"; return 1; }
	vm=$(modinfo -F vermagic persohub)
	echo "# $ko: $vm"
	[[ $ko == /lib/modules/$kver/updates/dkms/persohub.ko* ]] &&
		[[ $vm == "$kver "* ]]
}

module_alias() {	# udev loads it for QEMU's pci-serial-4x
	grep -q '^alias pci:v00001B36d00000004.* persohub$' \
		"/lib/modules/$kver/modules.alias"
}

if [ "$phase" = install ]; then
	# The source as a site receives it, where an administrator unpacks it.
	rm -rf "$tree"
	cp -a "$src" "$tree"
	cd "$tree"
	t=$SECONDS
	# each line of the log after the seconds since the start
	# make's status, not the logging loop's (always 0)
	make install 2>&1 | while IFS= read -r line; do
		printf '%4d %s\n' $((SECONDS - t)) "$line"
	done >/host/make-install.log
	if [ "${PIPESTATUS[0]}" -eq 0 ]; then
		ok 0 "make install ($((SECONDS - t)) s: programs built, DKMS build)"
	else
		ok 1 "make install (see make-install.log)"
		tail -n 30 /host/make-install.log | sed 's/^/# /'
	fi
	check "programs, udev rules, unit, modules-load.d and man pages installed" \
		installed_files
	check "the daemon and the tool find their libraries" libraries_found
	check "/etc/persohub/persohub.conf is the example" \
		cmp /etc/persohub/persohub.conf scripts/persohub.conf.example
	check "group persohub" getent group persohub
	check "user persohubd, in group persohub" \
		is "$(id -gn persohubd 2>&1)" persohub "persohubd's group"
	check "dkms: persohub $ver installed for $kver" dkms_installed
	check "modprobe would load DKMS's persohub.ko[.xz] for $kver" module_file
	check "modules.alias: the module is loaded for pci-serial-4x" module_alias
	check "/usr/src/persohub-$ver holds the module's source" \
		test -f "/usr/src/persohub-$ver/dkms.conf"
	check "nothing loaded persohub yet" test ! -d /sys/module/persohub
	check "the cards are on 8250_pci until the reboot" \
		is "$(driver $c0) $(driver $c1)" "serial serial" drivers

	# The site's configuration, as the administrator writes it, and the
	# collector's directory made writable by the daemon's group.
	site_conf >/etc/persohub/persohub.conf
	chgrp persohub /var/lib/prometheus/node-exporter
	chmod g+w /var/lib/prometheus/node-exporter
	journalctl -b --no-pager >/host/journal.install.log 2>&1 || true
	sync
	echo "1..$n"
	[ "$failures" -eq 0 ]
	exit
fi

# ---------------------------------------------------------------- serve

[ "$phase" = serve ] || { echo "unknown phase $phase" >&2; exit 2; }

stations=c0p0-c1p0
servers=c1p2,c1p3
server_ports="$c1-2 $c1-3"
nreq=20
total=$((5 * nreq))

ports() {	# the ports: the class's directories (attach, detach are files)
	local d
	for d in "$sysfs"/*; do
		[ -d "$d" ] && echo "${d##*/}"
	done
	return 0
}

stat_sum() {	# ports counter
	local p s=0
	for p in $1; do
		s=$((s + $(cat "$sysfs/$p/statistics/$2")))
	done
	echo $s
}

dispatched() {	# N: the running daemon says it dispatched N or more
	local d
	d=$(sed -n 's/^dispatches //p' /run/persohubd/stats 2>/dev/null)
	[ -n "$d" ] && [ "$d" -ge "$1" ]
}

controller() {	# attached or detached, as persohubctl says
	persohubctl stats | sed -n 's/^hub:.* controller \([a-z]*\).*/\1/p'
}

controller_is() {
	[ "$(controller)" = "$1" ]
}

cards_on() {	# driver
	[ "$(driver $c0) $(driver $c1)" = "$1 $1" ]
}

config_applied() {
	local bad=0
	is "$(cat $sysfs/$c0-0/name)" m1-st1 "$c0-0 name" || bad=1
	is "$(cat $sysfs/$c0-3/queue_depth)" 2 "$c0-3 queue_depth" || bad=1
	is "$(cat $sysfs/$c1-1/role)" off "$c1-1 role" || bad=1
	is "$(cat $sysfs/$c1-2/role)" server "$c1-2 role" || bad=1
	is "$(cat $sysfs/$c1-3/name)" dep1 "$c1-3 name" || bad=1
	is "$(cat $sysfs/$c1-3/timeout_ms)" 2000 "$c1-3 timeout_ms" || bad=1
	return $bad
}

station_devices() {
	local s bad=0
	for s in m1-st1 m1-st2 m1-st3 m2-st1 m2-st2; do
		is "$(stat -c '%G %a' "/dev/persohub/$s" 2>&1)" "persohub 660" \
			"/dev/persohub/$s" || bad=1
	done
	return $bad
}

audited() {	# every station's requests have their record in the journal
	local d name n want bad=0
	for d in $(ports); do
		[ "$(cat "$sysfs/$d/role")" = station ] || continue
		name=$(cat "$sysfs/$d/name")
		want=$(cat "$sysfs/$d/statistics/requests")
		n=$(journalctl -b -u persohubd PERSOHUB_STATION="$name" -o export |
			grep -c '^PERSOHUB_REQUEST=')
		[ "$n" = "$want" ] || { echo "# $name: $n records, $want requests"; bad=1; }
	done
	return $bad
}

metrics_served() {	# node_exporter serves persohub's counters, equal to sysfs
	local d l bad=0
	curl -sf --max-time 10 http://localhost:9100/metrics >/tmp/node.metrics ||
		return 1
	for d in $(ports); do
		l="port=\"$(cat "$sysfs/$d/name")\",role=\"$(cat "$sysfs/$d/role")\""
		grep -qxF "persohub_port_requests_total{$l} $(cat "$sysfs/$d/statistics/requests")" \
			/tmp/node.metrics || bad=1
	done
	grep -q '^persohub_hub_dispatch_latency_seconds_bucket{le="+Inf"} [1-9]' \
		/tmp/node.metrics || bad=1
	# node_exporter reads the file without complaint
	grep -qx 'node_textfile_scrape_error 0' /tmp/node.metrics || bad=1
	return $bad
}

site_served() {	# label: the simulator's stations all get their own answers
	local t rc
	t=$(sim_start --stations $stations --servers $servers \
		--requests $nreq --service-us 2000 --timeout-ms 20000)
	sim_wait "$t" 240 && rc=0 || rc=$?
	is "$rc $(sim_get "$t" total.ok) $(sim_get "$t" total.wrong)" \
		"0 $total 0" "$1: sim exit, answers verified, wrong"
}

dmesg_clean() {
	local taint
	if dmesg | grep -E 'BUG:|WARNING:|Oops|Call Trace|general protection|UBSAN:|blocked for more than'; then
		return 1
	fi
	taint=$(cat /proc/sys/kernel/tainted)
	echo "# tainted: $taint (out-of-tree and unsigned modules are expected)"
	# bad page, oops, warning, soft lockup
	[ $((taint & (32 | 128 | 512 | 16384))) -eq 0 ]
}

nothing_left() {
	local bad=0 f
	f=$(find /lib/modules -name 'persohub.ko*' 2>/dev/null)
	[ -z "$f" ] || { echo "# left: $f"; bad=1; }
	for f in /usr/src/persohub-* /var/lib/dkms/persohub; do
		[ ! -e "$f" ] || { echo "# left: $f"; bad=1; }
	done
	if grep -q ' persohub$' "/lib/modules/$kver/modules.alias"; then
		echo "# left: persohub in modules.alias"
		bad=1
	fi
	if modinfo persohub >/dev/null 2>&1; then
		echo "# modinfo still finds persohub"
		bad=1
	fi
	return $bad
}

# What the boot did by itself: udev, systemd, the daemon.
check "the module was loaded at boot" wait_for 120 test -d /sys/module/persohub
check "it is DKMS's module for $kver" module_file
check "udev handed both cards to persohub" wait_for 60 cards_on persohub
nports() {	# count: that many ports in sysfs
	is "$(ports | wc -l)" "$1" ports >/dev/null
}
check "8 ports in $sysfs" wait_for 30 nports 8
check "udev had systemd start persohubd" \
	wait_for 60 systemctl is-active -q persohubd
check "nothing but udev starts it (the unit is not enabled)" \
	is "$(systemctl is-enabled persohubd 2>&1 || true)" disabled is-enabled
check "the daemon applied /etc/persohub/persohub.conf" wait_for 30 config_applied
check "persohubctl: controller attached" wait_for 30 controller_is attached
check "station devices: group persohub, mode 0660" station_devices
check "persohubd runs as user persohubd, group persohub" \
	is "$(ps -o user:32=,group:32= \
	      -p "$(systemctl show -p MainPID --value persohubd)" | tr -s ' ')" \
	   "persohubd persohub" user
# CAP_NET_ADMIN (12), CAP_IPC_LOCK (14), CAP_SYS_NICE (23) and no other.
check "with CAP_NET_ADMIN, CAP_IPC_LOCK and CAP_SYS_NICE only" \
	is "$(sed -n 's/^CapEff:[[:space:]]*//p' \
	      "/proc/$(systemctl show -p MainPID --value persohubd)/status")" \
	0000000000805000 CapEff
systemctl status --no-pager persohubd 2>&1 | sed 's/^/# /' || true
# systemd's own measure of the unit's confinement: under "MEDIUM" (5.0).
exposure_ok() {
	local line lvl
	systemd-analyze security --no-pager persohubd >/tmp/security.txt 2>&1 ||
		return 1
	line=$(grep 'Overall exposure level' /tmp/security.txt) || return 1
	echo "# ${line#*→ }"
	lvl=$(echo "$line" | sed -n 's/.*: \([0-9]*\.[0-9]\).*/\1/p')
	[ -n "$lvl" ] && [ "${lvl%.*}${lvl#*.}" -lt 50 ]
}
check "systemd-analyze security persohubd: exposure under MEDIUM" exposure_ok
grep '✗' /tmp/security.txt | cut -c1-100 | sed 's/^/# /' || true

# The daemon serves the site.
before=$(stat_sum "$server_ports" requests)
check "the site is served by the daemon: $total answers verified" \
	site_served "with persohubd"
check "the servers got them all" \
	is "$(($(stat_sum "$server_ports" requests) - before))" "$total" requests
check "dispatched by persohubd" wait_for 10 dispatched "$total"
echo "# persohubd: $(tr '\n' ' ' </run/persohubd/stats 2>/dev/null)"
check "journalctl -u persohubd PERSOHUB_STATION=...: a record per request" \
	wait_for 20 audited
journalctl -b -u persohubd PERSOHUB_STATION=m1-st1 -n 1 -o verbose --no-pager |
	sed 's/^/# /'
check "node_exporter serves persohub's metrics, equal to sysfs" \
	wait_for 30 metrics_served
metrics_served ||
	{ ls -l /var/lib/prometheus/node-exporter
	  grep 'textfile\|^persohub_hub' /tmp/node.metrics | head -n 5; } 2>&1 |
	sed 's/^/# /'
grep '^persohub_port_requests_total' /tmp/node.metrics | sed 's/^/# /'

# systemctl reload applies a changed file.
sed -i '/^name = hsm1$/,/^timeout_ms/s/^timeout_ms = 2000$/timeout_ms = 1500/' \
	/etc/persohub/persohub.conf
systemctl reload persohubd
check "systemctl reload applies a changed configuration" \
	wait_for 20 grep -qx 1500 "$sysfs/$c1-2/timeout_ms"

# Without the daemon the kernel serves.
systemctl stop persohubd
check "systemctl stop persohubd" \
	is "$(systemctl is-active persohubd 2>&1 || true)" inactive is-active
check "persohubctl: controller detached" wait_for 10 controller_is detached
before=$(stat_sum "$server_ports" requests)
check "the kernel alone serves the site: $total answers verified" \
	site_served "without persohubd"
check "the servers got them all" \
	is "$(($(stat_sum "$server_ports" requests) - before))" "$total" requests

# The daemon takes over again.
systemctl start persohubd
check "systemctl start persohubd" systemctl is-active -q persohubd
check "persohubctl: controller attached again" wait_for 30 controller_is attached
check "the daemon serves again: $total answers verified" \
	site_served "persohubd again"
check "dispatched by the new persohubd" wait_for 10 dispatched "$total"
persohubctl status | sed 's/^/# /'

# Take it all out, as the administrator's guide says.
systemctl stop persohubd
journalctl -b -u persohubd --no-pager 2>&1 | tail -n 15 | sed 's/^/# /'
check "persohub-bind --unbind" persohub-bind --unbind
check "the cards are back on 8250_pci" wait_for 10 cards_on serial
check "rmmod persohub" rmmod persohub
check "scripts/dkms-install.sh --remove" "$tree/scripts/dkms-install.sh" --remove
check "nothing of the module is left" nothing_left
check "no kernel warning, oops or bad taint" dmesg_clean

journalctl -b --no-pager >/host/journal.serve.log 2>&1 || true
: >/host/quit
echo "1..$n"
[ "$failures" -eq 0 ]
