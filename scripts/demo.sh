#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# A simulated site served by persohub: 4 machines of 6 stations (24 station
# ports) and 6 servers on 8 four-port cards, persohubd as controller, load
# from the site simulator for DEMO_SECONDS (default 20), `persohubctl top`
# while it runs, and a summary. Every answer is checked by the simulator.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
secs=${DEMO_SECONDS:-20}
share=$(mktemp -d)
trap 'rm -rf "$share"' EXIT

# The simulator waits for the guest's go, then runs the site.
host="$top/build/sitesim --telnet --wait-file $share/go \
	--stations c0p0-c5p3 --servers c6p0-c7p1 --duration $secs \
	--service-us 20000 --think-us 80000 --size 64 \
	--timeout-ms 10000 --kv $share/sim.kv --done-file $share/sim.done \
	>$share/sim.out 2>&1"

guest=$(cat <<'EOS'
set -e
conf=/tmp/persohub.conf
printf '[daemon]\nrealtime = yes\n' >$conf
m=1; s=1
for c in 10 11 12 13 14 15; do
	for p in 0 1 2 3; do
		printf '[port 0000:00:%s.0-%s]\nrole = station\nname = m%d-st%d\n' \
			$c $p $m $s >>$conf
		s=$((s + 1)); [ $s -gt 6 ] && { s=1; m=$((m + 1)); }
	done
done
n=1
for port in 16.0-0 16.0-1 16.0-2 16.0-3 17.0-0 17.0-1; do
	printf '[port 0000:00:%s]\nrole = server\nname = hsm%d\n' $port $n >>$conf
	n=$((n + 1))
done
persohubd -c $conf -s /tmp/persohubd.stats >/tmp/persohubd.log 2>&1 &
sleep 1
cat /tmp/persohubd.log
persohubctl status | head -40
: >/host/go
persohubctl top --iterations DEMO_SECONDS
while [ ! -e /host/sim.done ]; do sleep 0.2; done
echo
echo "=== site simulator (host side of the serial lines) ==="
grep -E 'station m|total|seed|server' /host/sim.out | sed 's/^ *//' | tail -12
ok=$(sed -n 's/^total.ok //p' /host/sim.kv)
wrong=$(sed -n 's/^total.wrong //p' /host/sim.kv)
p50=$(sed -n 's/^total.rtt_p50_us //p' /host/sim.kv)
p99=$(sed -n 's/^total.rtt_p99_us //p' /host/sim.kv)
echo
echo "=== summary ==="
echo "requests answered, each checked: $ok (wrong: $wrong)"
echo "cards served (4 requests a card): $((ok / 4)), $((ok / 4 * 3600 / DEMO_SECONDS)) cards/hour"
echo "round trip at the stations: p50 ${p50} us, p99 ${p99} us (service 20 ms)"
echo "server utilisation:"
for d in /sys/class/persohub/*; do
	[ -d "$d" ] && [ "$(cat $d/role)" = server ] || continue
	b=$(cat $d/statistics/busy_ns)
	echo "  $(cat $d/name): $(cat $d/statistics/responses) answers, busy $((b / 10000000 / DEMO_SECONDS))%"
done
echo "controller:"
sed 's/^/  /' /tmp/persohubd.stats
kill -TERM %1 2>/dev/null || true
[ "$wrong" = 0 ]
EOS
)
guest=${guest//DEMO_SECONDS/$secs}
exec "$top/scripts/vm-run" --cards 8 --telnet --share "$share" \
	--timeout $((secs + 120)) --host "$host" -- "$guest"
