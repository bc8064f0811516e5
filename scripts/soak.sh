#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# make soak DURATION=SECONDS: every fault at once for a long time. Stations
# with noise, breaks, bit errors, dropped lines and bursts; servers that
# answer garbage, half frames or now and then nothing; persohubd killed
# with -9 every few seconds and started again. At the end, the totals:
# requests, answers, error frames, lost (must be 0), and the kernel's
# counters against the simulator's.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
secs=${DURATION:-300}
seed=${SEED:-$(date +%s)}
share=$(mktemp -d)
trap 'rm -rf "$share"' EXIT

host="$top/build/sitesim --telnet --wait-file $share/go --seed $seed \
	--stations c0p0-c1p3 --servers c2p0-c2p3 --duration $secs \
	--service-us 3000 --think-us 20000 --size 16 --size-max 300 \
	--timeout-ms 15000 --expect-errors --max-seconds $((secs + 60)) \
	--noise c0p0 --break c0p1 --biterr c0p2 --reconnect c0p3 \
	--burst c1p0=3 --biterr c1p1 --noise c1p2 \
	--server-mode c2p0=garbage --server-mode c2p1=flap:20 \
	--server-mode c2p2=truncate \
	--kv $share/sim.kv --done-file $share/sim.done >$share/sim.out 2>&1"

guest=$(cat <<'EOS'
sys=/sys/class/persohub
for c in 10 11; do for p in 0 1 2 3; do echo station >$sys/0000:00:$c.0-$p/role; done; done
for p in 0 1 2 3; do
	echo server >$sys/0000:00:12.0-$p/role
	echo 300 >$sys/0000:00:12.0-$p/timeout_ms
done
printf '[daemon]\nprobe_interval_ms = 500\n' >/tmp/soak.conf
persohubd -c /tmp/soak.conf >>/tmp/d.log 2>&1 &
: >/host/go
kills=0
while [ ! -e /host/sim.done ]; do
	sleep 3
	kill -9 $! 2>/dev/null && kills=$((kills + 1))
	persohubd -c /tmp/soak.conf >>/tmp/d.log 2>&1 &
done
kill -TERM $! 2>/dev/null
sleep 1
sum() {
	s=0
	for d in $sys/*; do [ "$(cat $d/role)" = "$1" ] && s=$((s + $(cat $d/statistics/$2))); done
	echo $s
}
get() { sed -n "s/^$1 //p" /host/sim.kv; }
sent=$(get total.sent); ok=$(get total.ok); err=$(get total.errors)
to=$(get total.timeouts); wrong=$(get total.wrong)
corrupted=0
for p in c0p0 c0p1 c0p2 c0p3 c1p0 c1p1 c1p2 c1p3; do
	corrupted=$((corrupted + $(get $p.corrupted)))
done
intact=$((sent - corrupted))
lost=$((intact - ok - err))
echo "=== soak: SECS s, seed SEED ==="
sed 's/^ */  /' /host/sim.out
echo "requests sent $sent (intact $intact, corrupted on the line $corrupted)"
echo "answers $ok, error frames $err, station timeouts $to, wrong $wrong"
echo "daemon killed with -9: $kills times"
echo "faults counted by the hub: fcs $(sum station fcs_errors) breaks $(sum station breaks) short $(sum station frame_too_short) server-fcs $(sum server fcs_errors) timeouts $(sum server timeouts) retries $(sum station retries) queue_full $(sum station queue_full)"
echo "kernel: requests $(sum station requests) responses $(sum station responses) errors_sent $(sum station errors_sent) dropped $(sum station dropped)"
echo "lost: $lost"
[ "$lost" -eq 0 ] && [ "$wrong" -eq 0 ] &&
	[ "$(sum station requests)" -eq "$intact" ] &&
	[ "$(sum station responses)" -eq "$ok" ] &&
	[ "$(sum station errors_sent)" -eq "$err" ]
EOS
)
guest=${guest//SECS/$secs}
guest=${guest//SEED/$seed}
exec "$top/scripts/vm-run" --cards 3 --telnet --share "$share" \
	--timeout $((secs + 180)) --host "$host" -- "$guest"
