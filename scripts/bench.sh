#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# make bench: what persohub costs, side by side with what a site would use
# instead, in one run on one test machine so the ratios hold on a noisy
# machine. It never fails on a figure.
#
# Workload (build/sitesim, seeded): 24 stations and 6 servers on 8 cards;
# each station sends a request, waits for its answer, thinks (exponential)
# and sends the next; servers answer after an exponential service time.
# Offered load as server utilisation rho = N * S / (c * (S + Z)) for N
# stations, c servers, mean service S and think time Z: 0.5, 0.8, 0.95
# and saturation (Z = 0). Times are taken on the host side of the serial
# lines. Configurations:
#   daemon    persohub, persohubd as controller
#   kernel    persohub, the hub's own matching (no daemon)
#   baseline  Linux's 8250 driver, raw termios, one epoll loop with the
#             same framing and matching (selftests/phbase.c)
#   static    persohub, each station pinned to one server (prior art)
#   tty       persohub's tty backend: the same ports left to 8250, attached
#             through persohub's line discipline; the hub's own matching
#   ideal     zero-overhead work-conserving FIFO of the same trace
# Scaling: daemon and baseline again at 8 and 16 ports, rho 0.8.
# The configurations share one boot per port count and take turns at each
# load (the order rotating), so what else the machine does weighs on them
# alike.
#
# Kernels: the whole benchmark runs on each of BENCH_KVERS (default "6.1
# 6.12-rt": Debian 12's default kernel and PREEMPT_RT), each in DIR/<kernel>/
# with its own report, then a side-by-side table of the two (DIR/kernels.txt).
#
# Environment: BENCH_SECONDS (per phase, default 30), BENCH_SERVICE_US
# (mean service time, default 200000), SEED, BENCH_OUT (default
# build/bench), BENCH_CONFIGS, BENCH_RHOS, BENCH_SCALING=0 to skip the
# scaling runs.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)

if [ "${1:-}" = --drive ]; then
	# Host side, beside the guest: one sitesim run per phase.
	shift
	share=$PERSOHUB_SHARE
	read -r stations servers nst nsrv <"$share/layout"
	while [ ! -e "$share/ready" ]; do sleep 0.2; done
	for tag in $(cat "$share/phases"); do
		rho=${tag#*.}
		if [ "$rho" = sat ]; then
			think=0
		else
			# Z = N * S / (c * rho) - S
			think=$(awk -v n="$nst" -v c="$nsrv" -v s="$SERVICE" \
				-v r="$rho" 'BEGIN { printf "%d", n * s / (c * r) - s }')
		fi
		: >"$share/start.$tag"
		while [ ! -e "$share/started.$tag" ]; do sleep 0.1; done
		rc=0
		"$top/build/sitesim" --stations "$stations" --servers "$servers" \
			--duration "$SECONDS_PER_PHASE" --think-us "$think" \
			--service-us "$SERVICE" --service-dist exp --seed "$SEED" \
			--timeout-ms 60000 --max-seconds $((SECONDS_PER_PHASE + 90)) \
			--trace "$share/trace.$tag" --kv "$share/sim.$tag.kv" \
			>"$share/sim.$tag.out" 2>&1 || rc=$?
		echo "$think" >"$share/think.$tag"
		echo "$rc" >"$share/rc.$tag"
		: >"$share/stop.$tag"
		while [ ! -e "$share/stopped.$tag" ]; do sleep 0.1; done
	done
	: >"$share/quit"
	exit 0
fi

top_out=${BENCH_OUT:-$top/build/bench}
kvers=${BENCH_KVERS:-"6.1 6.12-rt"}
export SECONDS_PER_PHASE=${BENCH_SECONDS:-30}
export SERVICE=${BENCH_SERVICE_US:-200000}
export SEED=${SEED:-$(od -An -N4 -tu4 /dev/urandom | tr -d ' ')}
configs=${BENCH_CONFIGS:-"daemon kernel tty baseline static"}
rhos=${BENCH_RHOS:-"0.5 0.8 0.95 sat"}
rm -rf "$top_out"
mkdir -p "$top_out"

# Ports of a layout: stations on the first cards, servers after them.
# Card C is 0000:00:(10+C).0 in the guest, cCpP on the host.
host_ports() {	# FIRST COUNT -> c0p0,c0p1,...
	local i out=
	for ((i = $1; i < $1 + $2; i++)); do
		out+=${out:+,}c$((i / 4))p$((i % 4))
	done
	echo "$out"
}
guest_ports() {
	local i out=
	for ((i = $1; i < $1 + $2; i++)); do
		out+=${out:+ }$(printf '0000:00:%02x.0-%d' $((0x10 + i / 4)) $((i % 4)))
	done
	echo "$out"
}

# run CARDS STATIONS SERVERS "MODES" RHOS...: one boot, every MODE at
# every load, the order of the modes rotating from one load to the next.
run() {
	local cards=$1 nst=$2 nsrv=$3 modes=($4) dir share r=0 m rho
	shift 4
	dir=$out/ports-$((cards * 4))
	share=$dir/share
	mkdir -p "$share"
	for rho in "$@"; do
		for ((m = 0; m < ${#modes[@]}; m++)); do
			echo "${modes[(m + r) % ${#modes[@]}]}.$rho"
		done
		r=$((r + 1))
	done >"$share/phases"
	echo "$(host_ports 0 "$nst") $(host_ports "$nst" "$nsrv") $nst $nsrv" \
		>"$share/layout"
	echo "bench: $((cards * 4)) ports ($nst stations, $nsrv servers):" \
		"${modes[*]} at rho $*" >&2
	"$top/scripts/vm-run" --kver "$kver" --cards "$cards" --share "$share" --quiet \
		--log "$dir/console.log" \
		--timeout $(($(wc -l <"$share/phases") * (SECONDS_PER_PHASE + 60) + 120)) \
		--host "$0 --drive" -- \
		"sh /usr/share/persohub/selftests/bench_guest.sh" \
		"'$(guest_ports 0 "$nst")' '$(guest_ports "$nst" "$nsrv")'" \
		>"$dir/vm.out" 2>&1 || {
		echo "bench: the $((cards * 4))-port run failed (see $dir)" >&2
		tail -20 "$dir/vm.out" >&2
		return 1
	}
}

# A failed run is reported; what it measured still counts.
for kver in $kvers; do
	out=$top_out/$kver
	mkdir -p "$out"
	echo "bench: kernel $kver ($("$top/scripts/kver" "$kver"))" >&2
	# make bench builds for the default kernel only: each its own module.
	if ! make -s -C "$top" module KVER="$kver" >"$out/build.log" 2>&1; then
		echo "bench: the module does not build for $kver (see $out/build.log)" >&2
		continue
	fi
	t0=$(date +%s)
	run 8 24 6 "$configs" $rhos || true
	if [ "${BENCH_SCALING:-1}" = 1 ]; then
		run 2 6 2 "daemon baseline" 0.8 || true
		run 4 12 4 "daemon baseline" 0.8 || true
	fi
	echo "bench: runs on $kver took $(($(date +%s) - t0)) s" >&2
	echo "== kernel $kver"
	"$top/scripts/bench-report.sh" "$out" | tee "$out/report.txt"
done

# The kernels side by side: hub overhead and added latency of each
# configuration at each load, on 32 ports.
# shellcheck disable=SC2086
set -- $kvers
if [ $# -ge 2 ] && [ -e "$top_out/$1/bench.json" ] && [ -e "$top_out/$2/bench.json" ]; then
	{
		echo
		echo "kernels side by side, 32 ports: hub overhead p50/p99 and added latency p50/p99, ms"
		printf '%-9s %5s  %-23s  %-23s\n' config rho "$1" "$2"
		jq -r -n --slurpfile a "$top_out/$1/bench.json" \
			--slurpfile b "$top_out/$2/bench.json" '
		def f: if . == null then "-" else (. / 1000 * 10 | round / 10 | tostring) end;
		def row($p): "\($p.overhead_us.p50 | f)/\($p.overhead_us.p99 | f) \($p.added_us.p50 | f)/\($p.added_us.p99 | f)";
		($b[0].phases | map(select(.ports == 32)
			| {key: "\(.config) \(.rho_offered)", value: .}) | from_entries) as $bb
		| $a[0].phases[] | select(.ports == 32)
		| "\(.config) \(.rho_offered) \(row(.)) \(($bb["\(.config) \(.rho_offered)"] // {}) | row(.))"' |
		while read -r c r a1 a2 b1 b2; do
			printf '%-9s %5s  %-11s %-11s  %-11s %-11s\n' "$c" "$r" "$a1" "$a2" "$b1" "$b2"
		done
	} | tee "$top_out/kernels.txt"
fi
