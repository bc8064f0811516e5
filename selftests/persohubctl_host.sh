#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# persohubctl on the host, where no persohub module is loaded: plan from
# given figures (text and JSON through jq -e), options anywhere and in
# their short forms, abbreviations in table order, --version, exit
# statuses; daemon reading a state file of a stand-in persohubd process
# (text, JSON, a stale file, none, a malformed one). TAP output. $1: the
# persohubctl to test.

ctl=${1:-build/bin/persohubctl}
# ok(), wait_for(), n and failures (lib.sh defines nothing else that runs)
. "$(dirname "$0")/lib.sh"

# The command a word resolves to, from the error of an unknown option.
resolves() {
	"$ctl" "$1" --no-such-option 2>&1 | sed -n "s/^persohubctl: \([a-z-]*\): unknown option.*/\1/p"
}

echo "TAP version 13"
echo "1..17"

command -v jq >/dev/null
ok $? "jq is installed (every JSON output is checked with it)"

if "$ctl" status >/dev/null 2>&1 || [ -d /sys/module/persohub ]; then
	echo "# the persohub module is loaded here: plan would measure"
	exit 1
fi

out=$("$ctl" -j plan --cards-per-hour 3000 --service-ms 20 --stations 12)
echo "$out" | jq -e '.measured == null and .servers == 1 and .service_s == 0.02 and .target.cards_per_hour == 3000' >/dev/null
ok $? "plan -j with the module absent: measured null, 1 server, parses"

[ "$("$ctl" plan -c 3000 -S 20 -s 12 -j)" = "$out" ]
ok $? "short options, and -j after the command, give the same"

"$ctl" plan -c 3000 -S 20 -s 12 >/tmp/plan.$$.txt
grep -q '^Given (no persohub module loaded: nothing measured):$' /tmp/plan.$$.txt &&
	grep -q '^  service time per request: 20ms$' /tmp/plan.$$.txt &&
	grep -q '^Servers needed: 1$' /tmp/plan.$$.txt &&
	grep -q '^12 stations, one request each at a time, cannot ask for more than$' /tmp/plan.$$.txt
ok $? "plan's text: the given service time, the servers needed"
rm -f /tmp/plan.$$.txt

"$ctl" -j plan -K servers=3 -S 20 | jq -e '.servers == 3 and .measured == null' >/dev/null
ok $? "plan -K servers=3 (--what-if) offline"

"$ctl" plan -c 3000 >/dev/null 2>&1
rc1=$?
"$ctl" plan >/dev/null 2>&1
rc2=$?
[ $rc1 -eq 1 ] && [ $rc2 -eq 2 ]
ok $? "plan without --service-ms and no module: exit $rc1 (1); without a target: exit $rc2 (2)"

# --interval measures the classes: a module is needed even with
# --service-ms; out of range it is a usage error; offline there is no
# per-class plan.
"$ctl" plan --interval 1 -S 20 >/dev/null 2>&1
rc1=$?
"$ctl" plan -i 0.01 -c 3000 >/dev/null 2>&1
rc2=$?
[ $rc1 -eq 1 ] && [ $rc2 -eq 2 ] &&
	"$ctl" -j plan -c 3000 -S 20 | jq 'has("classes")' | grep -qx false &&
	! "$ctl" plan -c 3000 -S 20 | grep -q '^Per class'
ok $? "plan --interval without a module: exit $rc1 (1); -i 0.01: exit $rc2 (2); no per-class plan offline"

r="$(resolves s) $(resolves st) $(resolves sta) $(resolves stat) $(resolves stats) $(resolves se) $(resolves m) $(resolves t) $(resolves p) $(resolves u) $(resolves a) $(resolves d) $(resolves de) $(resolves da) $(resolves c) $(resolves cl)"
[ "$r" = "status status status status stats set monitor top plan user-server attach detach detach daemon classes classes" ]
ok $? "abbreviations in table order: $r"

"$ctl" xyz >/dev/null 2>&1
[ $? -eq 2 ]
ok $? "an unknown command is a usage error (exit 2)"

v=$("$ctl" --version)
[ "$v" = "persohubctl $(sed -n 's/^PACKAGE_VERSION="\(.*\)"$/\1/p' dkms.conf)" ] &&
	[ "$("$ctl" -V)" = "$v" ] && [ "$("$ctl" status -V)" = "$v" ]
ok $? "--version, -V, and after a command: '$v'"

d=$("${ctl%persohubctl}persohubd" --version)
[ "$d" = "persohubd ${v#persohubctl }" ] &&
	[ "$("${ctl%persohubctl}persohubd" -V)" = "$d" ]
ok $? "persohubd --version and -V: '$d'"

"$ctl" monitor -c x >/dev/null 2>&1 && bad=1 || bad=0
"$ctl" top -i 0.01 >/dev/null 2>&1 && bad=1
"$ctl" top -c 0 >/dev/null 2>&1 && bad=1
[ $bad -eq 0 ]
ok $bad "short options of monitor and top are checked (-c, -i)"

# persohubctl daemon reads what persohubd writes (daemon/state.h). The
# daemon needs the module; here a process named persohubd (a copy of
# sleep) stands in for it, with a file as persohubd writes it.
tmp=$(mktemp -d)
cp "$(command -v sleep)" "$tmp/persohubd"
"$tmp/persohubd" 60 &
fake=$!
now=$(awk '{ printf "%d", $1 * 1000000000 }' /proc/uptime)
cat >"$tmp/state" <<EOF
persohubd-state 1
pid $fake
started_ns 1000
updated_ns $now
config /etc/persohub/persohub.conf
resync_ms 1000
held_total 2
port 1 name=m1-st1 role=1 state=- weight=1 config_enabled=1 kernel_enabled=1 classes=0 pin=6 user=0 held=1
port 2 name=m1-st2 role=1 state=- weight=1 config_enabled=1 kernel_enabled=1 classes=0 pin=0 user=0 held=1
port 5 name=hsm1 role=2 state=idle weight=3 config_enabled=0 kernel_enabled=1 classes=0x1 pin=0 user=0 held=0
port 6 name=hsm2 role=2 state=busy weight=1 config_enabled=1 kernel_enabled=1 classes=0x1 pin=0 user=0 held=0
port 9 name=net0 role=2 state=failed weight=1 config_enabled=1 kernel_enabled=1 classes=0x1 pin=0 user=1 held=0
tcp 9 name=net0 address=[::1]:7001 state=backoff since_ns=2000 error=Connection refused
held 40 station=1 server=6 reason=pinned-server-busy
held 41 station=2 server=0 reason=no-idle-server
EOF
"$ctl" daemon -f "$tmp/state" >"$tmp/out"
rc=$?
sed 's/^/# /' "$tmp/out"
blk() { sed -n "/^$1:\$/,/^[^ ]/p" "$tmp/out"; }
[ $rc -eq 0 ] && blk "port hsm1" | grep -qx '    config_enabled: no' &&
	blk "port hsm1" | grep -qx '    kernel_enabled: yes' &&
	blk "port hsm1" | grep -qx '    weight: 3' &&
	blk "port hsm1" | grep -qx '    classes: 0' &&
	blk "port m1-st1" | grep -qx '    pin: hsm2' &&
	blk "port m1-st2" | grep -qx '    pin: -' &&
	blk "tcp net0" | grep -qx '    state: backoff' &&
	blk "tcp net0" | grep -qx '    last_error: Connection refused' &&
	blk "held 40" | grep -qx '    reason: pinned server busy' &&
	blk "held 40" | grep -qx '    pinned_server: hsm2' &&
	blk "held 41" | grep -qx '    station: m1-st2' &&
	blk "held 41" | grep -qx '    reason: no idle server' &&
	blk daemon | grep -qx "    pid: $fake" &&
	blk daemon | grep -qx '    process: running' &&
	blk daemon | grep -qx '    held: 2'
ok $? "daemon: one fact a line: enabled flags, weight, pins, TCP link, held requests and why (exit $rc)"
ages='del(.up_s, .updated_s_ago, .tcp[].since_s_ago)'
"$ctl" -j daemon --file "$tmp/state" | jq -e "
	.pid == $fake and .stopped == false and .held_total == 2 and
	(.ports | length == 5) and
	(.ports[] | select(.name == \"hsm1\") | .enabled == {config: false, kernel: true} and .weight == 3 and .classes == [0] and .pin == null) and
	(.ports[] | select(.name == \"m1-st1\") | .pin == {id: 6, name: \"hsm2\"} and .held == 1 and .weight == null) and
	.tcp == [.tcp[0]] and .tcp[0].state == \"backoff\" and .tcp[0].last_error == \"Connection refused\" and .tcp[0].since_s_ago >= 0 and
	.held[0].request == 40 and .held[0].reason == \"pinned-server-busy\" and .held[0].pinned_server.name == \"hsm2\" and
	.held[1].station == {id: 2, name: \"m1-st2\"} and .held[1].pinned_server == null and .held[1].why == \"no idle server\"" >/dev/null &&
	# the same but for the ages, which run on between two calls
	[ "$("$ctl" da -f "$tmp/state" -j | jq -c "$ages")" = "$("$ctl" -j daemon -f "$tmp/state" | jq -c "$ages")" ]
ok $? "daemon -j parses with jq -e, with every fact; 'da' and options anywhere"
kill -STOP $fake
wait_for "grep -q '^State:.*stopped' /proc/$fake/status" 5 &&
	"$ctl" daemon -f "$tmp/state" | grep -qx '    process: stopped' &&
	"$ctl" -j daemon -f "$tmp/state" | jq -e '.stopped' >/dev/null
ok $? "daemon: a stopped persohubd shows as stopped"
kill -KILL $fake
wait $fake 2>/dev/null
"$ctl" daemon -f "$tmp/state" >/dev/null 2>"$tmp/err"
rc1=$?
"$ctl" daemon -f "$tmp/none" >/dev/null 2>"$tmp/err2"
rc2=$?
sed 's/^/# /' "$tmp/err" "$tmp/err2"
[ $rc1 -eq 3 ] && [ $rc2 -eq 3 ] &&
	[ "$(cat "$tmp/err")" = "persohubd is not running ($tmp/state was written by pid $fake, which is gone)" ] &&
	[ "$(cat "$tmp/err2")" = "persohubd is not running (no $tmp/none)" ]
ok $? "daemon: a stale file and no file both say persohubd is not running, exit 3 ($rc1, $rc2)"
printf 'persohubd-state 1\npid 1\nport x\n' >"$tmp/bad"
"$ctl" daemon -f "$tmp/bad" >/dev/null 2>"$tmp/err"
rc=$?
[ $rc -eq 1 ] && [ "$(cat "$tmp/err")" = "Error: $tmp/bad:3: malformed line" ]
ok $? "daemon: a malformed file is an error naming its line (exit $rc)"
rm -rf "$tmp"

[ $failures -eq 0 ]
