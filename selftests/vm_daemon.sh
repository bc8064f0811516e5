#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# persohubd inside the test machine: configuration applied, the site served
# with every answer verified by the simulator, kill -9 under load (the
# kernel takes over, a restarted daemon takes back), SIGHUP with a bad file,
# SIGTERM, framings from the configuration, TCP servers in hdlc and len16,
# what the daemon decides as persohubctl daemon shows it (disabled servers,
# held requests and why, TCP links, a stale or missing state file), request
# classes from the configuration, TCP links tagged (payShield header) and
# not, unreachable, reconnected, over TLS. Needs 2 cards, the runner's
# --share and --telnet, the host agent selftests/simd.sh. TAP output. It
# waits for conditions (wait_for, hup); the few fixed sleeps left make time
# on purpose and say so.

sysfs=/sys/class/persohub
c0=0000:00:10.0
c1=0000:00:11.0
conf=/tmp/persohub.conf
log=/tmp/persohubd.log
stats=/tmp/persohubd.stats
pid=

. /usr/share/persohub/selftests/lib.sh
SIM_ARGS=--telnet

stats_get() {
	sed -n "s/^$1 //p" "$stats"
}

# SIGHUP, then wait until the daemon has read the file: reloaded, or
# refused with the running configuration kept.
reloads() {
	grep -c "configuration reloaded from\|keeping the running configuration" "$log"
}
hup() {
	hup_was=$(reloads)
	kill -HUP "$pid"
	wait_for '[ "$(reloads)" -gt "$hup_was" ]' 10
}

# persohubctl -j daemon | jq -e "$1": what the daemon decides, now.
dview() {
	persohubctl -j daemon | jq -e "$1" >/dev/null
}

servers="$c1-2 $c1-3"
cat >"$conf" <<EOF
[daemon]
resync_ms = 200
[port $c0-0]
role = station
name = m1-st1
[port $c0-1]
role = station
name = m1-st2
[port $c0-2]
role = station
[port $c0-3]
role = station
[port $c1-0]
role = station
[port $c1-1]
role = station
queue_depth = 2
[port $c1-2]
role = server
name = hsm1
timeout_ms = 1500   # ms: a comment after a value
settle_ms = 5
[port 0000:00:1f.0-0]
; no such card: reported, and configured if it ever appears
role = station
[port $c1-3]
role = server
name = hsm2
weight = 2
; the good server: slow guests must not time it out
timeout_ms = 5000
EOF

echo "TAP version 13"
echo "1..95"

# 1-2: configuration applied at start, controller attached.
: >"$log"
start_daemon
ok $? "persohubd starts and attaches"
[ "$(cat $sysfs/$c0-0/name)" = m1-st1 ] &&
	[ "$(cat $sysfs/$c0-0/role)" = station ] &&
	[ "$(cat $sysfs/$c1-1/queue_depth)" = 2 ] &&
	[ "$(cat $sysfs/$c1-2/timeout_ms)" = 1500 ] &&
	[ -e /dev/persohub/m1-st2 ] &&
	[ "$(cat $sysfs/$c1-2/settle_ms)" = 5 ]
ok $? "configuration applied through netlink"
nl=$(grep -n '^\[port 0000:00:1f.0-0\]' "$conf" | cut -d: -f1)
grep -q "persohubd: warning: $conf:$nl: \[port 0000:00:1f.0-0\]: no such port" "$log"
ok $? "a section naming no port is reported with file:line ($conf:$nl)"

# 3-4: the daemon serves the site; every dispatch is its own.
before=$(stat_sum "$servers" requests)
t=$(sim_start --stations c0p0-c1p1 --servers c1p2,c1p3 --requests 30 \
	--service-us 2000)
sim_wait "$t" 120
rc=$?
[ $rc -eq 0 ] && [ "$(sim_get "$t" total.ok)" = 180 ]
ok $? "daemon serves 6 stations, 180 answers verified (sim exit $rc)"
# the stats file is written every resync (200 ms)
wait_for '[ "$(stats_get dispatches)" -ge 180 ]' 5
served=$(($(stat_sum "$servers" requests) - before))
d=$(stats_get dispatches)
[ "$served" -eq 180 ] && [ "$d" -ge 180 ]
ok $? "dispatched by the daemon: servers got $served, daemon sent $d"
echo "# daemon: $(tr '\n' ' ' <"$stats")"

# 5-6: kill -9 under load: nothing lost, a new daemon takes over.
t=$(sim_start --stations c0p0-c1p1 --servers c1p2,c1p3 --requests 150 \
	--service-us 1000 --timeout-ms 20000)
sleep 1.5	# deliberate: the load runs 1.5 s before the kill
kill -9 "$pid"
wait "$pid" 2>/dev/null
persohubctl daemon >/dev/null 2>/tmp/daemon.err
rc=$?
[ $rc -eq 3 ] && grep -q "^persohubd is not running (/run/persohub/persohubd.state was written by pid $pid, which is gone)$" /tmp/daemon.err
ok $? "persohubctl daemon: a killed daemon's file is stale, exit $rc (3): $(cat /tmp/daemon.err)"
sleep 0.5	# deliberate: the kernel serves alone for a while
start_daemon
ok $? "a restarted daemon attaches under load"
sim_wait "$t" 180
rc=$?
[ $rc -eq 0 ] && [ "$(sim_get "$t" total.ok)" = 900 ] &&
	[ "$(sim_get "$t" total.wrong)" = 0 ]
ok $? "kill -9 under load: 900 of 900 answered, none wrong (sim exit $rc)"

# 7-8: persohubctl shows what sysfs shows.
bad=0
persohubctl status >/tmp/status.txt || bad=1
for d in $sysfs/*; do
	[ -d "$d" ] || continue		# attach, detach
	name=$(cat $d/name)
	line=$(grep " $name: " /tmp/status.txt)
	set -- $line
	[ "$3" = "$(cat $d/role)" ] || { echo "# $name: '$line'"; bad=1; }
done
[ "$(wc -l </tmp/status.txt)" -eq "$(ls -d $sysfs/*/ | wc -l)" ] || bad=1
ok $bad "persohubctl status: every port, with the role sysfs shows"
bad=0
for p in m1-st1 hsm1 hsm2; do
	d=$(grep -l "^$p\$" $sysfs/*/name)
	d=${d%/name}
	for c in requests responses rx_bytes tx_bytes busy_ns; do
		v=$(persohubctl -j stats $p | grep -o "\"$c\":[0-9]*" | cut -d: -f2)
		[ "$v" = "$(cat $d/statistics/$c)" ] ||
			{ echo "# $p $c: $v vs $(cat $d/statistics/$c)"; bad=1; }
	done
done
ok $bad "persohubctl stats: counters equal to sysfs"

# persohubctl's output: every command's -j parses (jq -e), the text of
# stats is one counter a line, options go anywhere, commands abbreviate.
bad=0
command -v jq >/dev/null || { echo "# jq missing from the test machine"; bad=1; }
persohubctl -j status | jq -e 'length > 0 and all(.[]; .id > 0)' >/dev/null || bad=1
persohubctl status -j | cmp -s - /dev/null && bad=1
[ "$(persohubctl status -j)" = "$(persohubctl -j status)" ] || bad=1
persohubctl -j stats | jq -e '.ports | length > 0' >/dev/null || bad=1
persohubctl -j stats | jq -e '.hub.dispatch_latency.count >= 0' >/dev/null || bad=1
persohubctl stats hsm1 -j | jq -e '.ports[0].name == "hsm1"' >/dev/null || bad=1
persohubctl -p stats hsm1 | jq -e '.ports[0].busy_ns >= 0' >/dev/null || bad=1
persohubctl top -j -i 0.2 -c 2 >/tmp/top.json || bad=1
[ "$(wc -l </tmp/top.json)" = 2 ] && jq -e '.ports | length > 0' /tmp/top.json >/dev/null || bad=1
persohubctl -j plan -c 3000 | jq -e '.measured.servers == 2 and .servers >= 1' >/dev/null || bad=1
persohubctl -j monitor -c 2 >/tmp/mon.json &
mpid=$!
# Changes until the monitor, once subscribed, has seen two and ended.
i=0
while kill -0 $mpid 2>/dev/null && [ $i -lt 100 ]; do
	persohubctl set hsm1 timeout_ms=1400 && persohubctl set hsm1 timeout_ms=1500 || bad=1
	sleep 0.05
	i=$((i + 1))
done
wait $mpid || bad=1
[ "$(wc -l </tmp/mon.json)" = 2 ] &&
	jq -e 'select(.event == "port-changed") | .port.name == "hsm1"' /tmp/mon.json >/dev/null || bad=1
sed 's/^/# /' /tmp/mon.json
ok $bad "persohubctl -j: status, stats, top, plan and monitor each parse with jq -e"
d=$(grep -l "^hsm1\$" $sysfs/*/name)
d=${d%/name}
v=$(persohubctl stats hsm1 | grep timeouts)
b=$(persohubctl st hsm1 | grep -c ' busy_ms: [0-9]*\.[0-9][0-9][0-9]$')
[ "$v" = "    timeouts: $(cat $d/statistics/timeouts)" ] && [ "$b" = 0 ] &&
	persohubctl stats hsm1 | grep -q '^    busy_ms: [0-9]*\.[0-9][0-9][0-9]$'
ok $? "persohubctl stats hsm1 | grep timeouts: '$v'; busy in ms"
[ "$(persohubctl s hsm1)" = "$(persohubctl status hsm1)" ] &&
	[ "$(persohubctl sta hsm1)" = "$(persohubctl status hsm1)" ] &&
	[ "$(persohubctl stats hsm1)" != "$(persohubctl status hsm1)" ] &&
	[ "$(persohubctl status hsm1 -j)" = "$(persohubctl -j status hsm1)" ] &&
	[ "$(persohubctl --version)" = "$(persohubctl -V)" ]
ok $? "persohubctl: abbreviations (s, sta: status), options after the operands, -V"

# 9-10: capacity planning takes its inputs from the live counters.
busy=$(stat_sum "$servers" busy_ns)
resp=$(stat_sum "$servers" responses)
sts=$(ls $sysfs | while read -r p; do cat $sysfs/$p/role; done | grep -c station)
persohubctl -j plan --cards-per-hour 3000 >/tmp/plan.json
svc=$(grep -o '"service_ns":[0-9]*' /tmp/plan.json | cut -d: -f2)
nst=$(grep -o '"stations":[0-9]*' /tmp/plan.json | cut -d: -f2)
[ "$svc" = $((busy / resp)) ] && [ "$nst" = "$sts" ]
ok $? "plan's service time is the counters' busy_ns/responses ($svc ns)"
persohubctl plan --cards-per-hour 3000 | sed 's/^/# /'
c=$(grep -o '"servers":[0-9]*$\|"servers":[0-9]*[,}]' /tmp/plan.json | tail -1 | tr -dc 0-9)
[ -n "$c" ] && [ "$c" -ge 1 ] && persohubctl plan --what-if servers=2 >/dev/null
ok $? "plan answers $c servers for 3000 cards/hour; --what-if works"

# 11-12: a server that stops answering fails; the daemon's probe brings it
# back once it answers again.
t=$(sim_start --stations c0p0,c0p1 --servers c1p2,c1p3 --requests 4 \
	--server-mode c1p2=silent)
sim_wait "$t" 60
rc=$?
[ $rc -eq 0 ] && [ "$(cat $sysfs/$c1-2/state)" = failed ]
ok $? "a silent server fails, its request is served elsewhere (sim $rc)"
t=$(sim_start --stations c0p0 --servers c1p2,c1p3 --requests 30 \
	--think-us 100000)
sim_wait "$t" 60
wait_for '[ "$(cat $sysfs/$c1-2/state)" = idle ] && [ "$(stats_get probes_back)" -ge 1 ]' 5
ok $? "the probe returns it to service ($(stats_get probes) probes)"

# 12b: an administrator takes c1p2 out of service in the kernel and sets
# it failed: the daemon's probes bring its health back, and it still gets
# nothing under load until it is enabled again.
h1=$(cat $sysfs/$c1-2/statistics/requests)
persohubctl set hsm1 enabled=0 && echo failed >$sysfs/$c1-2/state
t=$(sim_start --stations c0p0,c0p1 --servers c1p2,c1p3 --requests 30 \
	--think-us 100000)
sim_wait "$t" 60
rc=$?
[ $rc -eq 0 ] && [ "$(cat $sysfs/$c1-2/state)" = idle ] &&
	[ "$(cat $sysfs/$c1-2/enabled)" = 0 ] &&
	[ "$(cat $sysfs/$c1-2/statistics/requests)" = "$h1" ] &&
	persohubctl status hsm1 | grep -q " idle,off " &&
	[ "$(persohubctl -j status hsm1 | jq '.[0].enabled')" = false ]
ok $? "a disabled server: probed back to health, given nothing (sim $rc)"
echo 1 >$sysfs/$c1-2/enabled
t=$(sim_start --stations c0p0,c0p1 --servers c1p2,c1p3 --requests 10 \
	--service-us 20000)
sim_wait "$t" 60
rc=$?
[ $rc -eq 0 ] && [ "$(cat $sysfs/$c1-2/statistics/requests)" -gt "$h1" ]
ok $? "enabled again, it serves (sim $rc)"

# 13-14: SIGHUP with a bad file keeps the running configuration.
cp "$conf" "$conf.good"
sed -i 's/^queue_depth = 2/queue_depth = 99/' "$conf"
hup
grep -q "persohub.conf:[0-9]*: queue_depth: invalid value '99'" "$log" &&
	grep -q "keeping the running configuration" "$log"
ok $? "a bad file is reported with file:line"
[ "$(cat $sysfs/$c1-1/queue_depth)" = 2 ] && kill -0 "$pid"
ok $? "the running configuration stays"

# 15: SIGHUP with a good file applies it, a station's new name too (the
# kernel renames a station only while it is off: the daemon does that).
sed 's/^queue_depth = 2/queue_depth = 3/; s/^name = m1-st1$/name = m1-st9/' \
	"$conf.good" >"$conf"
hup
[ "$(cat $sysfs/$c1-1/queue_depth)" = 3 ] &&
	[ "$(cat $sysfs/$c0-0/name)" = m1-st9 ] &&
	[ "$(cat $sysfs/$c0-0/role)" = station ] &&
	[ -e /dev/persohub/m1-st9 ] && [ ! -e /dev/persohub/m1-st1 ]
ok $? "SIGHUP applies a changed file, a renamed station included"

# 16: still serving after reloads.
t=$(sim_start --stations c0p0,c0p1 --servers c1p2,c1p3 --requests 20)
sim_wait "$t" 60
ok $? "serving after reloads"

# Card 1 unbound and bound again while stations send: its ports come back
# new, in the kernel's defaults; the daemon configures them as at start.
# The stations are on card 0 and their requests wait meanwhile. (The
# servers hold nothing when the card goes: a serial answer has no request
# id, and one a server computed for a request lost with the card could
# pass for the answer to the next request of the rebound port. Requests in
# service across an unbind are vm_card.sh's.)
echo "$c1" >/sys/bus/pci/drivers/persohub/unbind
i=0
while [ -e "$sysfs/$c1-0" ] && [ $i -lt 100 ]; do sleep 0.05; i=$((i + 1)); done
t=$(sim_start --stations c0p0,c0p1,c0p2 --servers c1p2,c1p3 --requests 15 \
	--service-us 100000 --timeout-ms 60000)
# every station's first request waits, in the hub and in the daemon
wait_for 'dview ".held_total == 3 and all(.held[]; .reason == \"no-server\")"' 20
ok $? "card gone: the daemon holds a request of each station, reason: no server"
echo "$c1" >/sys/bus/pci/drivers/persohub/bind
configured() {
	[ "$(cat $sysfs/$c1-2/role 2>/dev/null)" = server ] &&
		[ "$(cat $sysfs/$c1-2/name)" = hsm1 ] &&
		[ "$(cat $sysfs/$c1-2/timeout_ms)" = 1500 ] &&
		[ "$(cat $sysfs/$c1-2/settle_ms)" = 5 ] &&
		[ "$(cat $sysfs/$c1-3/role)" = server ] &&
		[ "$(cat $sysfs/$c1-1/queue_depth)" = 3 ] &&
		[ "$(cat $sysfs/$c1-0/role)" = station ]
}
i=0
while ! configured && [ $i -lt 60 ]; do sleep 0.05; i=$((i + 1)); done
configured && grep -q "\[port $c1-2\]: the port appeared" "$log"
ok $? "a card bound again gets its configuration back ($((i * 50)) ms)"
sim_wait "$t" 120
rc=$?
[ $rc -eq 0 ] && [ "$(sim_get "$t" total.ok)" = 45 ] &&
	[ "$(sim_get "$t" total.wrong)" = 0 ]
ok $? "requests waiting across the rebind served, none wrong (sim $rc; refused dispatches $(stats_get stale), resyncs $(stats_get resyncs))"

# SIGHUP: every [daemon] key takes effect.
sched() {
	# policy and rt_priority (fields 41 and 40 of /proc/PID/stat), CPUs
	echo "$(awk '{print $41 "/" $40}' /proc/$pid/stat) $(sed -n 's/^Cpus_allowed_list:[[:space:]]*//p' /proc/$pid/status)"
}
cp "$conf" "$conf.before"
# a [daemon] section again: its keys win over the first one's
printf '[daemon]\nresync_ms = 300\nrealtime = yes\npriority = 20\ncpu = 1\nevent_buffer = 2097152\nprobe_interval_ms = 700\n' >>"$conf"
hup
s1=$(sched)
grep -q "resync_ms: 300" "$log" && grep -q "event buffer: 4194304 bytes" "$log" &&
	grep -q "probe_interval_ms: 700" "$log" && [ "$s1" = "1/20 1" ]
ok $? "SIGHUP: resync_ms, event_buffer, probe_interval_ms, realtime, priority, cpu applied ($s1)"
printf 'realtime = no\ncpu = -1\n' >>"$conf"
hup
s2=$(sched)
[ "$s2" = "0/0 0-1" ]
ok $? "SIGHUP: realtime and cpu undone ($s2)"

# A removed section: weight and enabled back to their defaults.
sed '/^name = hsm2$/a enabled = no' "$conf.before" >"$conf"
hup
h1=$(cat $sysfs/$c1-2/statistics/requests)
h2=$(cat $sysfs/$c1-3/statistics/requests)
t=$(sim_start --stations c0p0,c0p1 --servers c1p2,c1p3 --requests 5)
sim_wait "$t" 60
rc=$?
[ $rc -eq 0 ] && [ "$(cat $sysfs/$c1-3/statistics/requests)" = "$h2" ] &&
	[ "$(cat $sysfs/$c1-2/statistics/requests)" = $((h1 + 10)) ]
ok $? "enabled = no: the server gets nothing (sim $rc)"
persohubctl daemon >/tmp/daemon.txt
sed -n '/^port hsm2:$/,/^[^ ]/p' /tmp/daemon.txt | sed 's/^/# /'
sed -n '/^port hsm2:$/,/^[^ ]/p' /tmp/daemon.txt >/tmp/hsm2.txt
grep -qx '    config_enabled: no' /tmp/hsm2.txt &&
	grep -qx '    kernel_enabled: yes' /tmp/hsm2.txt &&
	grep -qx '    weight: 2' /tmp/hsm2.txt && grep -qx '    classes: 0' /tmp/hsm2.txt &&
	dview '.ports[] | select(.name == "hsm2") | .enabled.config == false and .enabled.kernel == true and .weight == 2 and .classes == [0] and .state == "idle"' &&
	dview '.ports[] | select(.name == "hsm1") | .enabled.config and .enabled.kernel and .weight == 1'
ok $? "persohubctl daemon: hsm2 disabled in the configuration, enabled in the kernel, weight 2, classes 0"

# Every server disabled: a station's request is held by the daemon, listed
# with its reason while it waits, and sent once a server is enabled. The
# kernel, which sees idle servers, must not take over meanwhile: a guest
# the host leaves unscheduled for longer than the grace period less the
# daemon's keepalive interval would let it, so the grace is long here.
echo $((10000 * ${PH_TIMEOUT_SCALE:-1})) >/sys/module/persohub/parameters/ctrl_grace_ms
sed '/^name = hsm[12]$/a enabled = no' "$conf.before" >"$conf"
hup
h1=$(cat $sysfs/$c1-2/statistics/requests)
t=$(sim_start --stations c0p0 --servers c1p2,c1p3 --requests 1 \
	--timeout-ms 30000)
wait_for 'dview ".held_total == 1 and .held[0].station.name == \"m1-st9\" and .held[0].reason == \"no-server-enabled\" and .held[0].pinned_server == null"' 20
rc=$?
persohubctl daemon >/tmp/daemon.txt
sed -n '/^held /,$p' /tmp/daemon.txt | sed 's/^/# /'
[ $rc -eq 0 ] || persohubctl -j daemon | sed 's/^/# /'
[ $rc -eq 0 ] && grep -qx '    held: 1' /tmp/daemon.txt &&
	[ "$(sed -n '/^held [0-9]*:$/,$p' /tmp/daemon.txt | grep -c '^    station: m1-st9$\|^    reason: no server enabled$')" = 2 ] &&
	[ "$(cat $sysfs/$c1-2/statistics/requests)" = "$h1" ]
ok $? "all servers disabled: the request of m1-st9 is held, reason 'no server enabled'"
sed '/^name = hsm2$/a enabled = no' "$conf.before" >"$conf"
hup
sim_wait "$t" 60
rc=$?
[ $rc -eq 0 ] && [ "$(sim_get "$t" total.ok)" = 1 ] &&
	[ "$(cat $sysfs/$c1-2/statistics/requests)" = $((h1 + 1)) ] &&
	wait_for 'dview ".held_total == 0 and .held == []"' 5
ok $? "hsm1 enabled again: the held request is served, none held (sim $rc)"
echo 1000 >/sys/module/persohub/parameters/ctrl_grace_ms
awk -v s="[port $c1-3]" '$0 == s { skip = 1; next } /^\[/ { skip = 0 } !skip' \
	"$conf.before" >"$conf"
hup
t=$(sim_start --stations c0p0,c0p1 --servers c1p2,c1p3 --requests 10 \
	--service-us 20000)
sim_wait "$t" 60
rc=$?
[ $rc -eq 0 ] && [ "$(cat $sysfs/$c1-3/statistics/requests)" -gt "$h2" ] &&
	[ "$(cat $sysfs/$c1-3/role)" = server ] &&
	grep -q "\[port $c1-3\]: section removed" "$log"
ok $? "its section removed: the server is enabled again (sim $rc)"

# [tcp] sections added and removed by SIGHUP.
cp "$conf.before" "$conf"
printf '[tcp net0]\naddress = [::1]:7001\ntimeout_ms = 1000\n' >>"$conf"
hup
persohubctl status | grep -q " net0: " &&
	grep -q "tcp: net0: connecting to ::1 port 7001: " "$log"
ok $? "SIGHUP adds a [tcp] server, IPv6 address"
# Nothing listens there: the link is down, with the error the log gave.
why=$(sed -n 's/.*tcp: net0: connecting to ::1 port 7001: \(.*\); trying again.*$/\1/p' "$log" | tail -1)
wait_for "dview '.tcp | length == 1 and .[0].name == \"net0\" and .[0].address == \"[::1]:7001\" and .[0].state == \"backoff\" and .[0].last_error == \"$why\" and .[0].since_s_ago >= 0'" 5 &&
	persohubctl daemon | sed -n '/^tcp net0:$/,/^[^ ]/p' >/tmp/net0.txt &&
	grep -qx '    state: backoff' /tmp/net0.txt &&
	grep -qx "    last_error: $why" /tmp/net0.txt &&
	grep -qx '    address: \[::1\]:7001' /tmp/net0.txt &&
	dview '.ports[] | select(.name == "net0") | .user and .role == "server"'
ok $? "persohubctl daemon: the unreachable [tcp] server is in backoff, last error '$why'"
sed 's/^/# /' /tmp/net0.txt
cp "$conf.before" "$conf"
hup
# the state file follows within 100 ms of the reload
wait_for '! persohubctl status | grep -q " net0: " && dview ".tcp == []"' 5
ok $? "SIGHUP removes it"

# 17: stations pinned to a busy server wait for it while the other server
# is idle, past the grace period: the daemon keeps itself heard, so the
# kernel never takes over (and never breaks the pinning). A request waits
# a service (1.5 grace periods) or more, so only keepalives keep the kernel
# out; the grace is long enough that a guest the host leaves unscheduled
# for a moment does not let it in anyway. hsm2's timeout and the
# stations' wait grow with the grace (5 and 10 s at scale 1): a request
# waits at most one service and takes one, on a slow kernel as on any
# other.
grace=$((1000 * ${PH_TIMEOUT_SCALE:-1}))
echo $grace >/sys/module/persohub/parameters/ctrl_grace_ms
cp "$conf" "$conf.unpinned"
sed "/^name = m1-st9\$/a server = $c1-3
/^name = m1-st2\$/a server = $c1-3
s/^timeout_ms = 5000\$/timeout_ms = $((grace * 5))/" "$conf.unpinned" >"$conf"
hup
was=$(grep -c "attaching again" "$log")
h1=$(cat $sysfs/$c1-2/statistics/requests)
h2=$(cat $sysfs/$c1-3/statistics/requests)
t=$(sim_start --stations c0p0,c0p1 --servers c1p2,c1p3 --requests 3 \
	--service-us $((grace * 1500)) --timeout-ms $((grace * 10)))
# one station's request waits for hsm2 while it serves the other's
bad=
wait_for 'dview "any(.held[]; .reason == \"pinned-server-busy\" and .pinned_server.name == \"hsm2\")"' 20 ||
	bad="$bad held"
dview '.ports[] | select(.name == "m1-st9") | .pin.name == "hsm2"' || bad="$bad pin"
persohubctl status m1-st9 | grep -q " pin hsm2 " || bad="$bad status-pin"
[ "$(persohubctl -j status m1-st2 | jq -r '.[0].pin')" = hsm2 ] || bad="$bad json-pin"
persohubctl status hsm2 | grep -q " weight 2 " || bad="$bad status-weight"
[ "$(persohubctl -j status hsm1 | jq '.[0].weight')" = 1 ] || bad="$bad json-weight"
[ -z "$bad" ] || persohubctl -j daemon | sed 's/^/# /'
[ -z "$bad" ]
ok $? "pinned: a request held for its busy server ('pinned server busy'); status shows pin and weight${bad:+ (not:$bad)}"
persohubctl status | sed 's/^/# /'
sim_wait "$t" 120
rc=$?
[ $rc -eq 0 ] && [ "$(sim_get "$t" total.ok)" = 6 ] &&
	[ "$(cat $sysfs/$c1-2/statistics/requests)" = "$h1" ] &&
	[ "$(cat $sysfs/$c1-3/statistics/requests)" = $((h2 + 6)) ] &&
	[ "$(grep -c "attaching again" "$log")" = "$was" ] &&
	[ "$(stats_get keepalives)" -gt 0 ]
ok $? "pinned stations wait for their server; no takeover (keepalives $(stats_get keepalives))"
cp "$conf.unpinned" "$conf"
hup
echo 1000 >/sys/module/persohub/parameters/ctrl_grace_ms

# 18-19: a stopped daemon does not stall the site: after the grace period
# the kernel matches; once continued, the daemon takes control back.
kill -STOP "$pid"
t=$(sim_start --stations c0p0,c0p1 --servers c1p2,c1p3 --requests 10)
sim_wait "$t" 60
rc=$?
[ $rc -eq 0 ] && [ "$(sim_get "$t" total.ok)" = 20 ]
ok $? "SIGSTOP: the kernel serves after its grace period (sim $rc)"
kill -CONT "$pid"
wait_for 'grep -q "attaching again" "$log"' 10
d0=$(stats_get dispatches)
t=$(sim_start --stations c0p0,c0p1 --servers c1p2,c1p3 --requests 10)
sim_wait "$t" 60
rc=$?
wait_for '[ $(($(stats_get dispatches) - d0)) -ge 20 ]' 5
d1=$(stats_get dispatches)
[ $rc -eq 0 ] && [ $((d1 - d0)) -ge 20 ] && grep -q "attaching again" "$log"
ok $? "SIGCONT: the daemon dispatches again ($((d1 - d0)) dispatches)"

# 20-21: SIGTERM detaches; the kernel keeps serving.
kill -TERM "$pid"
wait "$pid"
rc=$?
[ $rc -eq 0 ] && grep -q "detached" "$log"
ok $? "SIGTERM: clean exit (status $rc), detached"
persohubctl daemon >/dev/null 2>/tmp/daemon.err
rc=$?
[ $rc -eq 3 ] && [ ! -e /run/persohub/persohubd.state ] &&
	[ "$(cat /tmp/daemon.err)" = "persohubd is not running (no /run/persohub/persohubd.state)" ] &&
	! persohubctl status | grep -q "weight\|pin " &&
	[ "$(persohubctl -j status hsm2 | jq '.[0].weight')" = null ]
ok $? "no daemon: its file removed, persohubctl daemon exits $rc (3), status shows no weights"
t=$(sim_start --stations c0p0,c0p1 --servers c1p2,c1p3 --requests 20)
sim_wait "$t" 60
ok $? "the kernel serves without a daemon"

# Framings from persohub.conf: applied at start, the site served across
# them, changed by SIGHUP (a key removed leaves the kernel's value), a
# change refused while the port is busy (logged; its other keys applied)
# and applied by the next reload; persohubctl set, status and stats.
fr() {
	echo "$(cat $sysfs/$1/framing)/$(cat $sysfs/$1/lrc)/$(cat $sysfs/$1/gap_chars)/$(cat $sysfs/$1/error_frame)"
}
cp "$conf" "$conf.hdlc"
framed() {
	cp "$conf.hdlc" "$conf"
	cat >>"$conf"
}
framed <<EOF
[port $c0-0]
framing = stx-etx
lrc = yes
error_frame = 3939
[port $c0-1]
framing = stx-len
[port $c1-2]
framing = len16
gap_chars = 600
[port $c1-3]
framing = gap
gap_chars = 576   ; 50 ms at 115200 8N1
EOF
start_daemon
f="$(fr $c0-0) $(fr $c0-1) $(fr $c0-2) $(fr $c1-2) $(fr $c1-3)"
[ "$f" = "stx-etx/1/500/3939 stx-len/0/500/ hdlc/0/500/ len16/0/600/ gap/0/576/" ] &&
	grep -q "port $c1-3: framing gap, gap_chars 576" "$log"
ok $? "framings applied at start ($f)"
t=$(sim_start --stations c0p0,c0p1,c0p2 --servers c1p2,c1p3 --requests 10 \
	--framing c0p0=stx-etx:lrc:gap=150000 --framing c0p1=stx-len:gap=150000 \
	--framing c1p2=len16:gap=150000 --framing c1p3=gap:gap=150000 \
	--timeout-ms 30000)
sim_wait "$t" 120
rc=$?
wait_for '[ "$(stats_get dispatches)" -ge 30 ]' 5
[ $rc -eq 0 ] && [ "$(sim_get "$t" total.ok)" = 30 ] &&
	[ "$(sim_get "$t" total.wrong)" = 0 ] &&
	[ "$(stats_get dispatches)" -ge 30 ]
ok $? "stx-etx, stx-len and hdlc stations served by len16 and gap servers through the daemon: 30 of 30, $(stats_get dispatches) dispatches (sim $rc)"
framed <<EOF
[port $c0-0]
framing = stx-etx
lrc = no
[port $c0-1]
framing = hdlc
[port $c1-2]
framing = len16
gap_chars = 700
[port $c1-3]
framing = len16
gap_chars = 576
EOF
hup
f="$(fr $c0-0) $(fr $c0-1) $(fr $c1-2) $(fr $c1-3)"
[ "$f" = "stx-etx/0/500/3939 hdlc/0/500/ len16/0/700/ len16/0/576/" ]
ok $? "SIGHUP changes the framings; a removed error_frame stays ($f)"
echo failed >$sysfs/$c1-2/state
t=$(sim_start --stations c0p2 --servers c1p3 --requests 1 \
	--framing c1p3=len16:gap=150000 --server-mode c1p3=slow:3000000 \
	--timeout-ms 30000)
i=0
while [ "$(cat $sysfs/$c1-3/state)" != busy ] && [ $i -lt 200 ]; do
	sleep 0.05
	i=$((i + 1))
done
sed -i "s/^framing = len16\$/framing = gap/; s/^timeout_ms = 5000\$/timeout_ms = 4000/" "$conf"
hup
nl=$(grep -n "^\[port $c1-3\]" "$conf" | head -1 | cut -d: -f1)
[ "$(cat $sysfs/$c1-3/state)" = busy ] && [ "$(fr $c1-3)" = len16/0/576/ ] &&
	[ "$(cat $sysfs/$c1-3/timeout_ms)" = 4000 ] &&
	grep -q "warning: $conf:$nl: port $c1-3: framing settings refused: Device or resource busy: port busy: framing changes when idle" "$log"
ok $? "a busy server's new framing is refused and logged at $conf:$nl; its timeout applied"
sim_wait "$t" 60
rc=$?
hup
[ $rc -eq 0 ] && [ "$(fr $c1-3)" = gap/0/576/ ] && [ "$(fr $c1-2)" = gap/0/700/ ]
ok $? "the next reload, the server idle, applies it ($(fr $c1-3); sim $rc)"
echo idle >$sysfs/$c1-2/state
# persohubctl: set in one message, shown by status and -j status; a
# refusal shown against the user's words, nothing changed.
persohubctl set m1-st2 framing=stx-etx lrc=1 gap_chars=42 error_frame=4545 &&
	[ "$(fr $c0-1)" = stx-etx/1/42/4545 ] &&
	persohubctl status m1-st2 | grep -q " framing stx-etx lrc gap_chars 42 error_frame 4545\$" &&
	persohubctl -j status m1-st2 | grep -q '"framing":"stx-etx","lrc":true,"gap_chars":42,"error_frame":"4545"' &&
	persohubctl status m1-st9 | grep -q " framing stx-etx gap_chars 500 error_frame 3939\$" &&
	persohubctl status hsm1 | grep -q " framing gap gap_chars 700 error_frame -\$"
ok $? "persohubctl set framing, lrc, gap_chars, error_frame; status and -j status show them"
persohubctl status | sed 's/^/# /'
persohubctl set m1-st2 error_frame=3902 2>/tmp/set.err
rc=$?
persohubctl set m1-st2 framing=rs485 2>/dev/null
rc2=$?
sed 's/^/# /' /tmp/set.err
[ $rc -eq 1 ] && [ $rc2 -eq 2 ] && [ "$(fr $c0-1)" = stx-etx/1/42/4545 ] &&
	grep -q "^Error: error_frame=3902: the error frame cannot be sent in this framing" /tmp/set.err
ok $? "persohubctl set: STX in an stx-etx error_frame refused by the kernel (exit $rc), a bad name by persohubctl (exit $rc2)"
bad=0
for p in hsm1 hsm2 m1-st9; do
	d=$(grep -l "^$p\$" $sysfs/*/name)
	d=${d%/name}
	for c in lrc_errors length_errors frame_truncated frame_refused; do
		v=$(persohubctl -j stats $p | grep -o "\"$c\":[0-9]*" | cut -d: -f2)
		w=$(persohubctl stats $p | sed -n "s/^    $c: //p")
		[ "$v" = "$(cat $d/statistics/$c)" ] && [ "$w" = "$v" ] ||
			{ echo "# $p $c: $v, $w vs $(cat $d/statistics/$c)"; bad=1; }
	done
done
ok $bad "persohubctl stats: the framing counters equal to sysfs"
kill -TERM "$pid"
wait "$pid"
for p in $c0-0 $c0-1 $c0-2 $c0-3 $c1-0 $c1-1 $c1-2 $c1-3; do
	echo 0 >$sysfs/$p/lrc
	echo >$sysfs/$p/error_frame
	echo hdlc >$sysfs/$p/framing
	echo 500 >$sysfs/$p/gap_chars
done
cp "$conf.hdlc" "$conf"

# FILE PORT: capture loopback's TCP PORT into FILE (tcpdump), until
# capture_stop.
# Packets go to the file as they come (--immediate-mode -U): tcpdump
# killed loses what it has not written. capture_stop waits (5 s at most)
# until the file holds more than BYTES.
capture_start() {
	rm -f /tmp/tcpdump.log
	tcpdump -Z root -n -i lo --immediate-mode -U -w "$1" "tcp port $2" \
		2>/tmp/tcpdump.log &
	tdp=$!
	tdfile=$1
	wait_for 'grep -qs "listening on lo" /tmp/tcpdump.log' 10 ||
		echo "# tcpdump did not start: $(cat /tmp/tcpdump.log)"
}
capture_stop() {	# BYTES
	wait_for '[ "$(stat -c %s "$tdfile")" -gt '"$1"' ]' 5
	kill "$tdp"
	wait "$tdp" 2>/dev/null
}

# 22-23: a server reached over TCP serves the stations through their
# devices; the serial servers are out of service.
ip link set lo up
tcpserver 7000 4242 /tmp/tcp.count &
tcppid=$!
echo failed >$sysfs/$c1-2/state
echo failed >$sysfs/$c1-3/state
printf '[tcp net1]\naddress = 127.0.0.1:7000\ntimeout_ms = 3000\n' >>"$conf"
start_daemon
i=0
while ! grep -q "net1: connected" "$log" && [ $i -lt 100 ]; do
	sleep 0.05
	i=$((i + 1))
done
capture_start /tmp/plain.pcap 7000
t=$(sim_start --stations c0p0,c0p1 --requests 20 --key 4242)
sim_wait "$t" 60
rc=$?
[ $rc -eq 0 ] && [ "$(sim_get "$t" total.ok)" = 40 ]
ok $? "a TCP server serves 40 requests, every answer verified (sim $rc)"
capture_stop 4000
[ "$(grep -ac PHRQ /tmp/plain.pcap)" -gt 0 ]
ok $? "a capture of a plain link shows the requests in clear ($(grep -ac PHRQ /tmp/plain.pcap) packets with the marker): the check below can see one"
wait_for '[ "$(cat /tmp/tcp.count)" = 40 ] && [ "$(stats_get tcp_responses)" = 40 ]' 5
ok $? "all through the TCP backend ($(cat /tmp/tcp.count) answers)"
kill -TERM "$pid"
wait "$pid"
kill "$tcppid"
echo idle >$sysfs/$c1-2/state
echo idle >$sysfs/$c1-3/state

# A network HSM over TCP in len16 (a 2-byte big-endian length, then the
# payload, as payShield speaks it) serves the stations the same way.
tcpserver --framing len16 7002 4343 /tmp/tcp16.count &
tcppid=$!
echo failed >$sysfs/$c1-2/state
echo failed >$sysfs/$c1-3/state
cp "$conf.unpinned" "$conf"
printf '[tcp hsm16]\naddress = 127.0.0.1:7002\ntimeout_ms = 3000\nframing = len16\n' >>"$conf"
start_daemon
i=0
while ! grep -q "hsm16: connected" "$log" && [ $i -lt 100 ]; do
	sleep 0.05
	i=$((i + 1))
done
grep -q "tcp: hsm16: connected to 127.0.0.1 port 7002 (len16)" "$log" &&
	wait_for 'dview ".tcp[0].name == \"hsm16\" and .tcp[0].state == \"connected\" and .tcp[0].address == \"127.0.0.1:7002\""' 5
ok $? "a [tcp] server with framing = len16 connects (persohubctl daemon: connected)"
t=$(sim_start --stations c0p0,c0p1 --requests 20 --key 4343)
sim_wait "$t" 60
rc=$?
wait_for '[ "$(cat /tmp/tcp16.count)" = 40 ] && [ "$(stats_get tcp_responses)" = 40 ]' 5
[ $rc -eq 0 ] && [ "$(sim_get "$t" total.ok)" = 40 ] &&
	[ "$(cat /tmp/tcp16.count)" = 40 ] && [ "$(stats_get tcp_responses)" = 40 ]
ok $? "it serves 40 requests in len16, every answer verified ($(cat /tmp/tcp16.count) answers; sim $rc)"
kill -TERM "$pid"
wait "$pid"
kill "$tcppid"
echo idle >$sysfs/$c1-2/state
echo idle >$sysfs/$c1-3/state

# Wait until $1 appears $2 times (default 1) in the log; 5 s at most.
wait_log() {
	i=0
	while [ "$(grep -c "$1" "$log")" -lt "${2:-1}" ] && [ $i -lt 100 ]; do
		sleep 0.05
		i=$((i + 1))
	done
	[ "$(grep -c "$1" "$log")" -ge "${2:-1}" ]
}

ms_now() {
	awk '{ printf "%d", $1 * 1000 }' /proc/uptime
}

state_of() {
	persohubctl -j status | jq -r ".[] | select(.name == \"$1\") | .state"
}

# A tagged link (payShield's echoed header): two requests in flight on
# one connection (queue_depth 2: servers hsmt and hsmt.2), answers known
# by their tag, and a stale answer before each real one dropped. The
# daemon reads only its own servers' devices, never a station's.
tcpserver --header 3 --stale 7004 4444 /tmp/tcpt.count &
tcppid=$!
echo failed >$sysfs/$c1-2/state
echo failed >$sysfs/$c1-3/state
cp "$conf.unpinned" "$conf"
printf '[tcp hsmt]\naddress = 127.0.0.1:7004\ntimeout_ms = 3000\nheader_len = 3\nqueue_depth = 2\n' >>"$conf"
start_daemon
wait_log "tcp: hsmt: connected to 127.0.0.1 port 7004 (hdlc, tagged)"
ok $? "a tagged [tcp] server connects"
ls -l /proc/$pid/fd >/tmp/fds.txt
[ "$(grep -c ' /dev/persohub/' /tmp/fds.txt)" = 0 ] &&
	[ "$(grep -c ' /dev/persohub-server/hsmt' /tmp/fds.txt)" = 2 ]
ok $? "the daemon holds its two servers' devices and no station's"
t=$(sim_start --stations c0p0,c0p1 --requests 20 --key 4444)
sim_wait "$t" 60
rc=$?
sleep 0.3
r1=$(persohubctl stats hsmt | sed -n 's/^    requests: //p')
r2=$(persohubctl stats hsmt.2 | sed -n 's/^    requests: //p')
[ $rc -eq 0 ] && [ "$(sim_get "$t" total.ok)" = 40 ] &&
	[ "$(sim_get "$t" total.wrong)" = 0 ] &&
	[ "$(cat /tmp/tcpt.count)" = 40 ] && [ "$(stats_get tcp_responses)" = 40 ] &&
	[ "$(stats_get tcp_unexpected)" = 39 ] && [ "$((r1 + r2))" = 40 ] &&
	[ "$r1" -gt 0 ] && [ "$r2" -gt 0 ]
ok $? "tagged: 40 answered right, 39 stale answers dropped, over both servers ($r1 + $r2; sim $rc)"
kill -TERM "$pid"
wait "$pid"
kill "$tcppid"

# A late answer: with a tag it is dropped and the link serves on; without
# one the link is closed and connected again, so that it cannot pass for
# the next request's answer.
tcpserver --header 3 --delay-first 1400 7006 4545 /tmp/tcpl.count &
tcppid=$!
cp "$conf.unpinned" "$conf"
printf '[tcp late]\naddress = 127.0.0.1:7006\ntimeout_ms = 1000\nheader_len = 3\n' >>"$conf"
start_daemon
wait_log "tcp: late: connected"
t=$(sim_start --stations c0p0 --requests 5 --key 4545)
sim_wait "$t" 60
rc=$?
sleep 0.3
[ $rc -eq 0 ] && [ "$(sim_get "$t" total.ok)" = 5 ] &&
	[ "$(stats_get tcp_timeouts)" = 1 ] && [ "$(stats_get tcp_unexpected)" = 1 ] &&
	[ "$(stats_get tcp_connects)" = 1 ]
ok $? "tagged: a timed-out request's late answer dropped, the link kept (sim $rc)"
kill -TERM "$pid"
wait "$pid"
kill "$tcppid"
wait "$tcppid" 2>/dev/null
tcpserver --delay-first 1400 7006 4545 /tmp/tcpl.count &
tcppid=$!
sed -i '/^header_len/d' "$conf"
start_daemon
wait_log "tcp: late: connected"
t=$(sim_start --stations c0p0 --requests 5 --key 4545)
sim_wait "$t" 60
rc=$?
sleep 0.3
[ $rc -eq 0 ] && [ "$(sim_get "$t" total.ok)" = 5 ] &&
	[ "$(stats_get tcp_timeouts)" = 1 ] && [ "$(stats_get tcp_given_up)" = 1 ] &&
	[ "$(stats_get tcp_connects)" = 2 ] &&
	grep -q "tcp: late: a request was given up on" "$log"
ok $? "untagged: the link of a timed-out request is connected again (sim $rc)"
kill -TERM "$pid"
wait "$pid"
kill "$tcppid"
echo idle >$sysfs/$c1-2/state
echo idle >$sysfs/$c1-3/state

# An HSM that never answers a connect(), and a name to resolve: the
# daemon attaches at once all the same, logs why and tries again later.
tcpserver --stall 7005 &
stallpid=$!
sleep 0.2
cp "$conf.unpinned" "$conf"
printf '[tcp stuck]\naddress = 127.0.0.1:7005\n[tcp named]\naddress = hsm.invalid:1500\n' >>"$conf"
t0=$(ms_now)
start_daemon
rc=$?
t1=$(ms_now)
stuck="tcp: stuck: connecting to 127.0.0.1 port 7005: no answer in 3000 ms; trying again in 250 ms"
nattach=$(attached)
nstuck=$(grep -c "$stuck" "$log")
[ $rc -eq 0 ] && [ $((t1 - t0)) -lt 3000 ] && [ "$nstuck" = 0 ]
ok $? "an unreachable [tcp] server does not delay the attach ($((t1 - t0)) ms, $nstuck connect timeouts before)"
wait_log "$stuck" $((nstuck + 1)) &&
	wait_log "tcp: named: connecting to hsm.invalid port 1500: .*; trying again in 500 ms" &&
	[ "$(attached)" = "$nattach" ]
ok $? "the failures logged with their reason, tried again with a growing delay"
kill -TERM "$pid"
wait "$pid"
kill "$stallpid"

# probe_interval_ms = 0 stops no reconnect; an administrator's failed
# keeps the link and survives a reconnect.
tcpserver 7000 4242 /tmp/tcp.count &
tcppid=$!
cp "$conf.unpinned" "$conf"
printf '[daemon]\nprobe_interval_ms = 0\n[tcp net1]\naddress = 127.0.0.1:7000\ntimeout_ms = 3000\n' >>"$conf"
up=$(grep -c "tcp: net1: connected" "$log")
down=$(grep -c "tcp: net1: .*connecting again" "$log")
start_daemon
wait_log "tcp: net1: connected" $((up + 1)) &&
	persohubctl set net1 state=failed && sleep 0.5 &&
	[ "$(grep -c 'tcp: net1: connected' "$log")" = $((up + 1)) ] &&
	[ "$(grep -c "tcp: net1: .*connecting again" "$log")" = "$down" ] &&
	[ "$(state_of net1)" = failed ]
ok $? "an administrator's failed keeps the link up"
kill "$tcppid"
wait "$tcppid" 2>/dev/null
wait_log "tcp: net1: connection closed by the server; connecting again" $((down + 1))
tcpserver 7000 4242 /tmp/tcp.count &
tcppid=$!
wait_log "tcp: net1: connected" $((up + 2)) && sleep 0.3 &&
	[ "$(state_of net1)" = failed ]
ok $? "with probe_interval_ms = 0 the link connects again; the server stays failed"
echo failed >$sysfs/$c1-2/state
echo failed >$sysfs/$c1-3/state
persohubctl set net1 state=idle
t=$(sim_start --stations c0p0 --requests 5 --key 4242)
sim_wait "$t" 60
rc=$?
[ $rc -eq 0 ] && [ "$(sim_get "$t" total.ok)" = 5 ]
ok $? "set idle by the administrator, it serves again (sim $rc)"
kill -TERM "$pid"
wait "$pid"
kill "$tcppid"
echo idle >$sysfs/$c1-2/state
echo idle >$sysfs/$c1-3/state

# TLS links, certificates made here: only the good server is used; one
# signed by another CA, an expired one, a self-signed one and a good one
# whose key does not match the pin are refused with the reason logged and
# counted; a key file others may read is refused, named.
tls=/tmp/tls
mkdir -p $tls
tlscerts $tls && [ "$(stat -c %a $tls/client.key)" = 600 ]
ok $? "tlscerts: the site CA, the hub's and the servers' certificates"
cp $tls/client.key $tls/loose.key
chmod 640 $tls/loose.key
tcpserver --tls $tls good 7010 4646 /tmp/tls-good.count &
tp1=$!
tcpserver --tls $tls wrong 7011 4646 /tmp/tls-wrong.count &
tp2=$!
tcpserver --tls $tls expired 7012 4646 /tmp/tls-expired.count &
tp3=$!
tcpserver --tls $tls selfsigned 7013 4646 /tmp/tls-self.count &
tp4=$!
tcpserver --tls $tls good 7014 4646 /tmp/tls-pin.count &
tp5=$!
echo failed >$sysfs/$c1-2/state
echo failed >$sysfs/$c1-3/state
cp "$conf.unpinned" "$conf"
creds="tls = yes\nca = $tls/ca.pem\ncert = $tls/client.pem\nkey = $tls/client.key\n"
{
	printf "[tcp tgood]\naddress = 127.0.0.1:7010\npin = $(cat $tls/good.pin)\n$creds"
	printf "[tcp twrong]\naddress = 127.0.0.1:7011\n$creds"
	printf "[tcp texpired]\naddress = 127.0.0.1:7012\n$creds"
	printf "[tcp tself]\naddress = 127.0.0.1:7013\n$creds"
	printf "[tcp tpin]\naddress = 127.0.0.1:7014\npin = $(cat $tls/other.pin)\n$creds"
	printf "[tcp tloose]\naddress = 127.0.0.1:7010\n$creds" | sed "s|client.key|loose.key|"
} >>"$conf"
# No tls module, and none the kernel can load (its modprobe is gone for
# now): TCP_ULP fails with ENOENT, the links stay on GnuTLS and say why.
! grep -q "^tls " /proc/modules
ok $? "TLS: the tls module is not loaded yet"
modprobe_was=$(cat /proc/sys/kernel/modprobe)
echo /sbin/no-modprobe >/proc/sys/kernel/modprobe
start_daemon
wait_log "tcp: tgood: TLS1.3, kTLS off (no tls module in the kernel)" &&
	wait_log "tcp: twrong: connecting to 127.0.0.1 port 7011: TLS: .*issuer is unknown" &&
	wait_log "tcp: texpired: connecting to 127.0.0.1 port 7012: TLS: .*expired" &&
	wait_log "tcp: tself: connecting to 127.0.0.1 port 7013: TLS: .*NOT trusted" &&
	wait_log "tcp: tpin: connecting to 127.0.0.1 port 7014: TLS: the server's public key does not match the pin" &&
	grep -q "tcp: tloose: key $tls/loose.key may be read by its group or others (mode 0640): refused" "$log" &&
	! persohubctl status | grep -q " tloose: "
ok $? "TLS: the good server connects ($(grep -o 'tgood: TLS1.3, kTLS .*' "$log" | tail -1)); the others refused, each with its reason"
capture_start /tmp/tls.pcap 7010
t=$(sim_start --stations c0p0,c0p1 --requests 10 --key 4646)
sim_wait "$t" 60
rc=$?
sleep 0.3
capture_stop 4000
! grep -aq 'PHRQ\|PHRS' /tmp/tls.pcap && [ "$(stat -c %s /tmp/tls.pcap)" -gt 4000 ]
ok $? "a capture of the TLS link ($(stat -c %s /tmp/tls.pcap) bytes): no request or answer marker"
[ $rc -eq 0 ] && [ "$(sim_get "$t" total.ok)" = 20 ] &&
	[ "$(cat /tmp/tls-good.count)" = 20 ] && [ ! -e /tmp/tls-wrong.count ] &&
	[ ! -e /tmp/tls-expired.count ] && [ ! -e /tmp/tls-self.count ] &&
	[ ! -e /tmp/tls-pin.count ] && [ "$(stats_get tcp_tls_failures)" -ge 5 ] &&
	[ "$(stats_get tcp_ktls)" = 0 ]
ok $? "TLS: 20 requests served by the good server only (GnuTLS), $(stats_get tcp_tls_failures) refusals counted (sim $rc)"
echo "$modprobe_was" >/proc/sys/kernel/modprobe
kill -TERM "$pid"
wait "$pid"
kill $tp1 $tp2 $tp3 $tp4 $tp5
echo idle >$sysfs/$c1-2/state
echo idle >$sysfs/$c1-3/state

# kTLS: once the handshake is done persohubd hands the session's keys to
# the kernel's tls module, which then carries the records; with ktls = no,
# or a cipher the kernel lacks, GnuTLS does. Every version and cipher the
# kernel takes is tried against a server made to negotiate it.
# A kernel without the tls module (the debug kernels): the 15 kTLS tests
# are skipped, said so.
modprobe tls 2>/dev/null
if ! grep -qw tls /proc/sys/net/ipv4/tcp_available_ulp; then
	i=0
	while [ $i -lt 15 ]; do
		i=$((i + 1))
		ok 0 "kTLS # SKIP the kernel has no tls module"
	done
else
# The ciphers: modules, or built in (ctr on 6.12): then modprobe may fail;
# the runs below say whether the kernel has each.
for m in gcm ghash_generic ctr chacha20poly1305 chacha_generic poly1305_generic; do
	modprobe $m 2>/dev/null
done
modprobe tls
ok $? "kTLS: the tls module loads"
echo failed >$sysfs/$c1-2/state
echo failed >$sysfs/$c1-3/state
tgood="[tcp tgood]\naddress = 127.0.0.1:7010\ntimeout_ms = 1000\ntls_min = 1.2\n$creds"
# KTLS PRIORITY [tcpserver options]: the server and the daemon up, the
# link's TLS line (what follows "tcp: tgood: ") in /tmp/ktls.line.
ktls_up() {
	k=$1 prio=$2
	shift 2
	rm -f /tmp/ktls.count
	tcpserver --tls $tls good --priority "$prio" "$@" 7010 4646 /tmp/ktls.count &
	kp=$!
	cp "$conf.unpinned" "$conf"
	printf "${tgood}ktls = $k\n" >>"$conf"
	n0=$(grep -c "tcp: tgood: TLS" "$log")
	start_daemon && wait_log "tcp: tgood: TLS" $((n0 + 1)) &&
		grep "tcp: tgood: TLS" "$log" | tail -1 |
		sed 's/.*tcp: tgood: //' >/tmp/ktls.line
}
ktls_down() {
	kill -TERM "$pid"
	wait "$pid"
	kill "$kp"
	wait "$kp" 2>/dev/null
}
ktls_serve() {	# N: N requests from one station, all answered right
	t=$(sim_start --stations c0p0 --requests "$1" --key 4646)
	sim_wait "$t" 60 >&2 && [ "$(sim_get "$t" total.ok)" = "$1" ] &&
		[ "$(sim_get "$t" total.wrong)" = 0 ]
}
on="kTLS on (send and receive)"
v12="NORMAL:-VERS-ALL:+VERS-TLS1.2:-CIPHER-ALL"
v13="NORMAL:-VERS-ALL:+VERS-TLS1.3:-CIPHER-ALL"
for c in "auto|$v13:+AES-128-GCM|TLS1.3, $on|1" \
	"auto|$v13:+AES-256-GCM|TLS1.3, $on|1" \
	"auto|$v13:+CHACHA20-POLY1305|TLS1.3, $on|1" \
	"auto|$v12:+AES-128-GCM|TLS1.2, $on|1" \
	"auto|$v12:+AES-256-GCM|TLS1.2, $on|1" \
	"auto|$v12:+CHACHA20-POLY1305|TLS1.2, $on|1" \
	"auto|$v12:+AES-256-CBC|TLS1.2, kTLS off (the cipher AES-256-CBC is not one the kernel has)|0" \
	"no|$v13:+AES-256-GCM|TLS1.3, kTLS off (ktls = no)|0"; do
	k=${c%%|*} r=${c#*|}
	prio=${r%%|*} r=${r#*|}
	want=${r%|*} links=${r#*|}
	ktls_up "$k" "$prio" && [ "$(cat /tmp/ktls.line)" = "$want" ] &&
		ktls_serve 10 && [ "$(cat /tmp/ktls.count)" = 10 ] &&
		wait_for '[ "$(stats_get tcp_ktls)" = '"$links"' ]' 5
	ok $? "kTLS: ktls = $k, ${prio#NORMAL:-VERS-ALL:}: '$(cat /tmp/ktls.line)', 10 answered right, tcp_ktls $(stats_get tcp_ktls)"
	ktls_down
done

# The server gone mid-answer (half of it sent, then the connection
# closed without close_notify), a fatal alert from it, a KeyUpdate (a
# post-handshake record the kernel hands up): the link goes down with
# the reason, connects again, the request is served again after its
# timeout; with ktls = no GnuTLS takes the same cases. The server counts
# the answer it sent after its KeyUpdate, which the link never took.
for c in "auto|--cut 3|6|connection closed by the server" \
	"no|--cut 3|6|The TLS connection was non-properly terminated." \
	"auto|--alert 3|6|TLS: the server sent the fatal alert 'Internal error'" \
	"no|--alert 3|6|A TLS fatal alert has been received." \
	"auto|--rekey 3|7|kTLS: a TLS record of type 22 (5 bytes) that is not data"; do
	k=${c%%|*} r=${c#*|}
	opt=${r%%|*} r=${r#*|}
	sent=${r%%|*} why=${r#*|}
	mode="kTLS off (ktls = no)"
	[ "$k" = no ] || mode="$on"
	n1=$(grep -c "tcp: tgood: TLS1.3, $mode" "$log")
	n2=$(grep -c "tcp: tgood: $why; connecting again" "$log")
	# shellcheck disable=SC2086	# $opt: an option and its value
	ktls_up "$k" "NORMAL:-VERS-ALL:+VERS-TLS1.3" $opt &&
		ktls_serve 6 && [ "$(cat /tmp/ktls.count)" = "$sent" ] &&
		[ "$(grep -c "tcp: tgood: $why; connecting again" "$log")" = $((n2 + 1)) ] &&
		[ "$(grep -c "tcp: tgood: TLS1.3, $mode" "$log")" = $((n1 + 2)) ] &&
		[ "$(stats_get tcp_connects)" = 2 ]
	ok $? "kTLS: ktls = $k, $opt: '$why', connected again ($mode), 6 answered right"
	ktls_down
done

# Its effect, measured: the userspace server's mean service time
# (dispatch to answer: persohubd reads the request, encrypts, the HSM
# answers, persohubd decrypts and writes the answer) and persohubd's CPU
# time per request, with ktls = no and auto in turn, three runs each.
# Figures only: no time is asserted.
ktls_cpu_ns() {	# CPU time of every thread of persohubd, ns
	cat /proc/"$pid"/task/*/schedstat | awk '{ s += $1 } END { print s }'
}
ktls_run() {	# KTLS: one run of 100 requests; prints "service_us cpu_us"
	ktls_up "$1" "NORMAL" || return 1
	b0=$(persohubctl -j stats tgood | jq '.ports[0].busy_ns')
	r0=$(persohubctl -j stats tgood | jq '.ports[0].responses')
	c0=$(ktls_cpu_ns)
	t=$(sim_start --stations c0p0,c0p1 --requests 50 --key 4646)
	sim_wait "$t" 120 >&2 && [ "$(sim_get "$t" total.ok)" = 100 ] &&
		[ "$(sim_get "$t" total.wrong)" = 0 ] || return 1
	c1=$(ktls_cpu_ns)
	b1=$(persohubctl -j stats tgood | jq '.ports[0].busy_ns')
	r1=$(persohubctl -j stats tgood | jq '.ports[0].responses')
	ktls_down >&2
	[ $((r1 - r0)) = 100 ] || return 1
	echo "$(((b1 - b0) / 100000)) $(((c1 - c0) / 100000))"
}
bad=0 off="" ons=""
for i in 1 2 3; do
	v=$(ktls_run no) && [ "$(cat /tmp/ktls.line)" = "TLS1.3, kTLS off (ktls = no)" ] &&
		off="$off ${v% *}/${v#* }" || { bad=1; cat /tmp/ktls.line; break; }
	v=$(ktls_run auto) && [ "$(cat /tmp/ktls.line)" = "TLS1.3, $on" ] &&
		ons="$ons ${v% *}/${v#* }" || { bad=1; cat /tmp/ktls.line; break; }
done
echo "# kTLS effect, 100 requests a run: service us/CPU us per request"
echo "#   ktls = no:  $off"
echo "#   ktls = auto:$ons"
ok $bad "kTLS: 3 x 100 requests answered right with ktls = no (off) and auto (on), measured"
fi
echo idle >$sysfs/$c1-2/state
echo idle >$sysfs/$c1-3/state

# A tiny event buffer, and the daemon stopped for a moment under load:
# events are lost (ENOBUFS); the daemon counts them and reads the
# kernel's state again, and every request is answered, each its own.
cp "$conf.unpinned" "$conf"
printf '[daemon]\nevent_buffer = 1024\nresync_ms = 60000\n' >>"$conf"
start_daemon
t=$(sim_start --stations c0p0-c1p1 --servers c1p2,c1p3 --requests 20 \
	--service-us 2000 --timeout-ms 30000)
sleep 1		# deliberate: the load runs 1 s first
kill -STOP "$pid"
sleep 0.5	# deliberate: events pile up past the tiny buffer
kill -CONT "$pid"
sim_wait "$t" 120
rc=$?
kill -TERM "$pid"
wait "$pid"
[ $rc -eq 0 ] && [ "$(sim_get "$t" total.ok)" = 120 ] &&
	[ "$(sim_get "$t" total.wrong)" = 0 ] && [ "$(stats_get lost_events)" -gt 0 ]
ok $? "events lost with a tiny buffer: $(stats_get lost_events) counted, 120 of 120 answered (sim $rc)"

# Request classes from the configuration: payment keys on one server, the
# rest on the other. c0p0 is of class keys; c0p1's requests are classed by
# their bytes (the simulator puts the station's number, 1, at offset 4);
# c0p2 and c0p3 keep the default class. Every request goes to a server of
# its class: each server gets exactly its 40.
cat >"$conf" <<EOF
[daemon]
resync_ms = 200
[port $c0-0]
role = station
class = keys
priority = 3
[port $c0-1]
role = station
classifier = 4 2 0100=keys 0900=default
[port $c0-2]
role = station
[port $c0-3]
role = station
[port $c1-2]
role = server
classes = keys
[port $c1-3]
role = server
classes = default
[class default]
[class keys]
max_wait_ms = 2000
EOF
rm -f "$stats"		# the last daemon's figures must not be read as this one's
start_daemon
[ "$(cat $sysfs/$c0-0/class)" = 1 ] && [ "$(cat $sysfs/$c0-0/priority)" = 3 ] &&
	[ "$(cat $sysfs/$c0-1/classifier)" = "4 2 0100=1 0900=0" ] &&
	[ "$(cat $sysfs/$c0-2/class)" = 0 ] &&
	[ "$(cat $sysfs/$c1-2/classes)" = 1 ] && [ "$(cat $sysfs/$c1-3/classes)" = 0 ]
ok $? "classes: class, priority, classifier and classes applied at start"
t=$(sim_start --stations c0p0-c0p3 --servers c1p2,c1p3 --requests 20 \
	--service-us 2000 --timeout-ms 20000)
sim_wait "$t" 120
rc=$?
k=$(sim_get "$t" c1p2.received)
o=$(sim_get "$t" c1p3.received)
# The stats file is written every resync_ms: wait for the 80 dispatches.
d1=0
i=0
while [ "${d1:-0}" -lt 80 ] && [ $i -lt 100 ]; do
	sleep 0.05
	i=$((i + 1))
	d1=$(stats_get dispatches)
done
[ $rc -eq 0 ] && [ "$(sim_get "$t" total.ok)" = 80 ] &&
	[ "$(sim_get "$t" total.wrong)" = 0 ] && [ "$k" = 40 ] && [ "$o" = 40 ] &&
	[ "$(stats_get stale)" = 0 ] && [ "${d1:-0}" -ge 80 ]
ok $? "every request served by a server of its class: keys $k, default $o of 40 each; $d1 dispatches by the daemon, $(stats_get stale) refused (sim $rc)"
persohubctl classes -c 3000 | sed 's/^/# /'
persohubctl classes -j | jq -e '
	(.[] | select(.id == 1) | .done == 40 and .dispatched >= 40 and
		.waiting == 0 and .max_wait_ms == 2000 and .servers == 1 and
		.stations == 1 and .mean_wait_ns != null) and
	(.[] | select(.id == 0) | .done >= 40 and .max_wait_ms == 0 and
		.servers == 1) and length == 2' >/dev/null &&
	persohubctl c 1 | grep -Eq '^ +1 +0 +[0-9]+ +0 +40 +[0-9.]+[mun]?s +2000 +1 +1$' &&
	persohubctl classes -j -c 3000 | jq -e 'all(.[]; .plan.servers_needed >= 1 and
		.plan.service_ns > 0 and .plan.requests_per_second > 0)' >/dev/null &&
	persohubctl classes -j 1 -c 3000 | jq -e 'length == 1 and .[0].plan.requests_per_second < 0.5' >/dev/null
ok $? "persohubctl classes -j parses under jq -e; keys: 40 done, max_wait_ms 2000, 1 server; a plan per class"
# SIGHUP: an unknown class refused with file:line, then the keys changed.
cp "$conf" "$conf.classes"
printf '[port %s]\nclass = nope\n' "$c0-2" >>"$conf"
nl=$(wc -l <"$conf")
kill -HUP "$pid"
i=0
while ! grep -q "$conf:$nl: class: no class 'nope'" "$log" && [ $i -lt 100 ]; do
	sleep 0.05
	i=$((i + 1))
done
grep -q "$conf:$nl: class: no class 'nope'" "$log" &&
	[ "$(cat $sysfs/$c0-2/class)" = 0 ]
rc=$?
sed -e 's/^priority = 3/priority = 6/' -e 's/^max_wait_ms = 2000/max_wait_ms = 150/' \
	-e 's/^classes = default$/classes = default,keys/' "$conf.classes" >"$conf"
kill -HUP "$pid"
i=0
while [ "$(cat $sysfs/$c1-3/classes)" != 0-1 ] && [ $i -lt 100 ]; do
	sleep 0.05
	i=$((i + 1))
done
[ $rc -eq 0 ] && [ "$(cat $sysfs/$c0-0/priority)" = 6 ] &&
	[ "$(cat $sysfs/$c1-3/classes)" = 0-1 ] &&
	persohubctl classes -j | jq -e '.[] | select(.id == 1) | .max_wait_ms == 150 and .servers == 2' >/dev/null
ok $? "SIGHUP: an unknown class refused at $conf:$nl; priority, max_wait_ms and classes applied"
kill -TERM "$pid"
wait "$pid"

# rmmod: the daemon sees its family go and exits, status 3 (systemd
# starts it again: Restart=on-failure).
cp "$conf.unpinned" "$conf"
start_daemon
rmmod persohub
i=0
while kill -0 "$pid" 2>/dev/null && [ $i -lt 100 ]; do sleep 0.05; i=$((i + 1)); done
kill -KILL "$pid" 2>/dev/null	# one that would not exit must not hang the run
wait "$pid"
rc=$?
[ $rc -eq 3 ] && grep -q "persohub module was unloaded" "$log"
ok $? "rmmod: the daemon exits with status 3 in $((i * 50)) ms (status $rc)"
persohubctl -j plan -c 3000 -S 20 -s 12 | jq -e '.measured == null and .servers == 1' >/dev/null &&
	persohubctl plan -c 3000 -S 20 | grep -q '^Given (no persohub module loaded: nothing measured):$' &&
	[ ! -e /sys/module/persohub ]
ok $? "no module: plan with its figures given works, and loads no module"
# Any other command resolves the family, which loads the module (its
# genetlink alias): plan without --service-ms then measures an idle hub.
persohubctl plan -c 3000 >/dev/null 2>&1
rc=$?
[ $rc -eq 1 ] && [ -e /sys/module/persohub ]
ok $? "no module: plan without --service-ms loads it, has nothing measured: exit $rc"
modprobe persohub && persohub-bind >/dev/null && start_daemon &&
	[ "$(cat $sysfs/$c1-2/name)" = hsm1 ]
ok $? "modprobe: a new daemon attaches and configures the ports"
kill -TERM "$pid"
wait "$pid"

sed 's/^/# log: /' "$log"
[ $failures -eq 0 ]
