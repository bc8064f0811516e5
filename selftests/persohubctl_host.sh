#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# persohubctl on the host, where no persohub module is loaded: plan from
# given figures (text and JSON through jq -e), options anywhere and in
# their short forms, abbreviations in table order, --version, exit
# statuses. TAP output. $1: the persohubctl to test.

ctl=${1:-build/bin/persohubctl}
# ok(), n and failures (lib.sh defines nothing else that runs)
. "$(dirname "$0")/lib.sh"

# The command a word resolves to, from the error of an unknown option.
resolves() {
	"$ctl" "$1" --no-such-option 2>&1 | sed -n "s/^persohubctl: \([a-z-]*\): unknown option.*/\1/p"
}

echo "TAP version 13"
echo "1..11"

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

r="$(resolves s) $(resolves st) $(resolves sta) $(resolves stat) $(resolves stats) $(resolves se) $(resolves m) $(resolves t) $(resolves p) $(resolves u) $(resolves a) $(resolves d) $(resolves c) $(resolves cl)"
[ "$r" = "status status status status stats set monitor top plan user-server attach detach classes classes" ]
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

[ $failures -eq 0 ]
