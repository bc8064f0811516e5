#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# The figures of a scripts/bench.sh run: a table on stdout, DIR/bench.json
# with every figure, and gnuplot PNGs (latency CDF per configuration at
# rho 0.8, latency against utilisation, added latency against ports).
#
#   bench-report.sh DIR
set -euo pipefail
out=${1:?usage: bench-report.sh DIR}

# One JSON object per phase of every run.
phase_json() {	# DIR TAG
	local dir=$1 tag=$2 share=$1/share name ctl=/dev/null
	name=$(basename "$dir")
	[ -e "$share/sim.$tag.kv" ] || return 0
	[ -e "$share/ctl.$tag" ] && ctl=$share/ctl.$tag
	jq -n --arg config "${tag%%.*}" --argjson ports "${name#ports-}" \
		--arg rho "${tag#*.}" \
		--argjson think "$(cat "$share/think.$tag")" \
		--argjson rc "$(cat "$share/rc.$tag")" \
		--rawfile kv "$share/sim.$tag.kv" --rawfile dstats "$ctl" \
		--rawfile c0 "$share/cpu0.$tag" --rawfile c1 "$share/cpu1.$tag" \
		--slurpfile h0 "$share/hist0.$tag.json" \
		--slurpfile h1 "$share/hist1.$tag.json" '
	def kv: split("\n") | map(select(length > 0) | split(" ")
		| {(.[0]): (.[1] | tonumber? // .)}) | add;
	def pairs: gsub("\n"; " ") | split(" ") | map(select(length > 0))
		| [range(0; length; 2) as $i | {(.[$i]): (.[$i + 1] | tonumber)}]
		| add;
	# The dispatch histogram of this phase: the difference of two
	# snapshots, quantiles interpolated inside power-of-two buckets.
	def buckets: (.hub.dispatch_latency.buckets // [])
		| map({key: (.lo_ns | tostring), value: .}) | from_entries;
	def quantile($b; $p): ($b | map(.count) | add // 0) as $tot
		| if $tot == 0 then null else
		  ($p * $tot) as $rank
		  | reduce $b[] as $x ({cum: 0, q: null};
			if .q == null and .cum + $x.count >= $rank then
				.q = (if $x.hi_ns == null then $x.lo_ns else
				      $x.lo_ns + ($x.hi_ns - $x.lo_ns) *
				      ($rank - .cum) / $x.count end)
			else . end | .cum += $x.count)
		  | .q end;
	($kv | kv) as $s | ($c0 | pairs) as $a | ($c1 | pairs) as $b
	| ($s["bench.n"] // 0) as $n
	| (($h0[0] | buckets) as $x | ($h1[0] | buckets)
	   | to_entries | map(.value + {count: (.value.count -
			($x[.key].count // 0))})
	   | map(select(.count > 0)) | sort_by(.lo_ns)) as $hist
	| (($b.system - $a.system) + ($b.irq - $a.irq) +
	   ($b.softirq - $a.softirq) - ($b.ctl_system - $a.ctl_system))
	  as $kern
	| (($b.ctl_user - $a.ctl_user) + ($b.ctl_system - $a.ctl_system))
	  as $ctl
	| [$s | to_entries[] | select(.key | startswith("bench.busy."))
	   | .value] as $busy
	| {
		config: $config, ports: $ports, rho_offered: $rho,
		stations: ([$s | keys[] | select(test("^c[0-9]+p[0-9]+\\.sent$"))
			    | select($s[.] > 0)] | length),
		servers: $s["bench.servers"], think_us: $think,
		sim_exit: $rc, requests: $n, ok: $s["total.ok"],
		wrong: $s["total.wrong"], errors: $s["total.errors"],
		timeouts: $s["total.timeouts"],
		rps: $s["bench.rps"], capacity_rps: $s["bench.capacity_rps"],
		added_us: {p50: $s["bench.added_p50_us"],
			   p90: $s["bench.added_p90_us"],
			   p99: $s["bench.added_p99_us"],
			   max: $s["bench.added_max_us"],
			   mean: $s["bench.added_mean_us"]},
		overhead_us: {p50: $s["bench.overhead_p50_us"],
			      p90: $s["bench.overhead_p90_us"],
			      p99: $s["bench.overhead_p99_us"],
			      max: $s["bench.overhead_max_us"],
			      mean: $s["bench.overhead_mean_us"]},
		ideal_added_us: {p50: $s["bench.ideal_added_p50_us"],
				 p99: $s["bench.ideal_added_p99_us"]},
		station_wait_mean_us: $s["bench.rtt_mean_us"],
		queue_wait_mean_us: $s["bench.wait_mean_us"],
		ideal_wait_mean_us: ($s["bench.ideal_closed_rtt_mean_us"] //
				     $s["bench.ideal_rtt_mean_us"]),
		ideal_queue_wait_mean_us: ($s["bench.ideal_closed_wait_mean_us"] //
					   $s["bench.ideal_wait_mean_us"]),
		ideal_rps: $s["bench.ideal_closed_rps"],
		ideal_open: {wait_mean_us: $s["bench.ideal_rtt_mean_us"],
			     queue_wait_mean_us: $s["bench.ideal_wait_mean_us"]},
		service_mean_us: $s["bench.service_mean_us"],
		busy: [$s | to_entries[] | select(.key | startswith("bench.busy."))
		       | {(.key | ltrimstr("bench.busy.")): .value}] | add,
		busy_mean: (if ($busy | length) > 0 then
			    ($busy | add) / ($busy | length) else null end),
		cpu_ms_per_1000: (if $n > 0 then {
			kernel: ($kern * 1000 / $a.clk_tck * 1000 / $n),
			controller: ($ctl * 1000 / $a.clk_tck * 1000 / $n)}
			else null end),
		dispatch_latency_ns: {count: ($hist | map(.count) | add // 0),
			p50: quantile($hist; 0.5), p90: quantile($hist; 0.9),
			p99: quantile($hist; 0.99), buckets: $hist},
		persohubd: (if $dstats == "" then null else ($dstats | kv) end)
	}'
}

phases=()
for dir in "$out"/ports-*/; do
	dir=${dir%/}
	for f in "$dir"/share/sim.*.kv; do
		[ -e "$f" ] || continue
		tag=${f##*/sim.}
		phases+=("$(phase_json "$dir" "${tag%.kv}")")
	done
done
[ ${#phases[@]} -gt 0 ] || { echo "bench-report: no results in $out" >&2; exit 1; }

# Ratios: to the baseline with the same ports and load, to the ideal.
printf '%s\n' "${phases[@]}" | jq -s '
	def ratio($a; $b): if $a == null or $b == null or $b == 0 then null
			   else ($a / $b * 100 | round / 100) end;
	(map(select(.config == "baseline"))
	 | map({key: "\(.ports)/\(.rho_offered)", value: .}) | from_entries)
	as $base
	| map(. as $r | $base["\(.ports)/\(.rho_offered)"] as $b | . + {
		vs_baseline: {added_p50: ratio($r.added_us.p50; $b.added_us.p50),
			      added_p99: ratio($r.added_us.p99; $b.added_us.p99),
			      overhead_p50: ratio($r.overhead_us.p50;
						  $b.overhead_us.p50),
			      overhead_p99: ratio($r.overhead_us.p99;
						  $b.overhead_us.p99),
			      station_wait: ratio($r.station_wait_mean_us;
						  $b.station_wait_mean_us)},
		vs_ideal: {station_wait: ratio(.station_wait_mean_us;
					       .ideal_wait_mean_us),
			   throughput_of_capacity: ratio(.rps; .capacity_rps)}
	})
	| sort_by(.ports, .config, .rho_offered)
	| {generated: (now | todate), phases: .}' >"$out/bench.json"

ms() { awk -v v="$1" 'BEGIN { if (v == "-") print "-"; else printf "%.1f", v / 1000 }'; }
num() { awk -v v="$1" -v f="$2" 'BEGIN { if (v == "-") print "-"; else printf f, v }'; }

echo
echo "persohub benchmark ($(jq -r '.phases[0].service_mean_us' "$out/bench.json" | cut -d. -f1) us mean service measured, times in ms, host side of the serial lines)"
printf '%-9s %5s %5s %7s %7s %7s %7s %7s %8s %8s %6s %6s %6s %6s %8s %7s\n' \
	config ports rho req/s added50 added90 added99 max wait ideal w/idl \
	busy p50/b p99/b kern/1k ctl/1k
jq -r '.phases[] | [.config, .ports, .rho_offered, (.rps // 0),
	.added_us.p50, .added_us.p90, .added_us.p99, .added_us.max,
	.station_wait_mean_us, .ideal_wait_mean_us, .vs_ideal.station_wait,
	.busy_mean, .vs_baseline.added_p50, .vs_baseline.added_p99,
	(.cpu_ms_per_1000.kernel // null), (.cpu_ms_per_1000.controller // null)]
	| map(if . == null then "-" else tostring end) | join(" ")' \
	"$out/bench.json" |
while read -r c p r rps a50 a90 a99 amax w iw wr busy b50 b99 kern ctl; do
	printf '%-9s %5s %5s %7.1f %7s %7s %7s %7s %8s %8s %6s %6s %6s %6s %8s %7s\n' \
		"$c" "$p" "$r" "$rps" "$(ms "$a50")" "$(ms "$a90")" "$(ms "$a99")" \
		"$(ms "$amax")" "$(ms "$w")" "$(ms "$iw")" "$wr" \
		"$(num "$busy" %.2f)" "$b50" "$b99" "$(num "$kern" %.0f)" \
		"$(num "$ctl" %.0f)"
done
echo
echo "added = round trip - service time; wait = mean round trip at the station;"
echo "ideal = each station's same requests (service and think times) replayed"
echo "on a zero-overhead work-conserving FIFO of as many servers;"
echo "p50/b, p99/b = added latency against the baseline's; kern/1k, ctl/1k ="
echo "CPU ms per 1000 requests in the kernel and in the controller process."
echo
# Thousandths, one decimal: ms from us, us from ns; "-" when unknown.
k='def k: if . == null then "-" else (. / 100 | round / 10 | tostring) end;'
echo "the recorded arrivals on a zero-overhead FIFO: added latency (queueing alone), ms:"
jq -r "$k"'.phases[] | "  \(.config) \(.ports) ports rho \(.rho_offered): p50 \(.ideal_added_us.p50 | k) p99 \(.ideal_added_us.p99 | k)"' \
	"$out/bench.json"
echo "what the hub costs a request, queueing left out (from both the request and"
echo "its server being ready to the server having it, plus the answer's way back), ms:"
jq -r "$k"'.phases[] | select(.overhead_us.p50 != null)
	| "  \(.config) \(.ports) ports rho \(.rho_offered): p50 \(.overhead_us.p50 | k) p99 \(.overhead_us.p99 | k)" + (if .vs_baseline.overhead_p50 == null or .config == "baseline" then "" else "; x baseline p50 \(.vs_baseline.overhead_p50) p99 \(.vs_baseline.overhead_p99)" end)' \
	"$out/bench.json"
echo "dispatch latency in the hub (last request byte to dispatch), us:"
jq -r "$k"'.phases[] | select(.dispatch_latency_ns.count > 0)
	| "  \(.config) \(.ports) ports rho \(.rho_offered): p50 \(.dispatch_latency_ns.p50 | k) p90 \(.dispatch_latency_ns.p90 | k) p99 \(.dispatch_latency_ns.p99 | k) (\(.dispatch_latency_ns.count) dispatches)"' \
	"$out/bench.json"
echo "persohubd, from a request event's wakeup to its dispatch sent (power-of-two buckets, whole run), us:"
jq -r "$k"'.phases[] | select(.persohubd != null)
	| "  \(.config) \(.ports) ports rho \(.rho_offered): p50 \(.persohubd.wakeup_to_dispatch_p50_ns | k) p99 \(.persohubd.wakeup_to_dispatch_p99_ns | k)"' \
	"$out/bench.json"
echo "throughput at saturation:"
jq -r '.phases[] | select(.rho_offered == "sat")
	| "  \(.config) \(.ports) ports: \(.rps | . * 10 | round / 10) req/s = \(.vs_ideal.throughput_of_capacity) of the servers capacity (\(.capacity_rps | . * 10 | round / 10) req/s)"' \
	"$out/bench.json"
bad=$(jq '[.phases[] | select(.sim_exit != 0 or .wrong != 0)] | length' "$out/bench.json")
[ "$bad" = 0 ] || echo "bench: $bad phases had wrong answers or a failed simulator run (see the share directories)"

# Plots.
plot=$out/plot
mkdir -p "$plot"
for f in "$out"/ports-32/share/trace.*.0.8; do
	[ -e "$f" ] || continue
	c=${f##*/trace.}
	awk '!/^#/ { print $7 / 1000 }' "$f" | sort -n >"$plot/cdf.${c%%.*}"
done
jq -r '.phases[] | select(.ports == 32) | [.config, (.busy_mean // 0),
	(.added_us.p50 // 0) / 1000, (.added_us.p99 // 0) / 1000,
	(.station_wait_mean_us // 0) / 1000, (.ideal_wait_mean_us // 0) / 1000]
	| map(tostring) | join(" ")' "$out/bench.json" >"$plot/util.dat"
jq -r '.phases[] | select(.rho_offered == "0.8") | [.config, .ports,
	(.added_us.p50 // 0) / 1000, (.added_us.p99 // 0) / 1000]
	| map(tostring) | join(" ")' "$out/bench.json" >"$plot/ports.dat"
if command -v gnuplot >/dev/null; then
	{
		echo "set terminal pngcairo size 900,600"
		echo "set output '$out/latency-cdf.png'"
		echo "set title 'Added latency per request, 32 ports, rho 0.8'"
		echo "set xlabel 'added latency (ms): round trip - service time'"
		echo "set ylabel 'fraction of requests'; set key bottom right; set grid"
		sep='plot '
		for f in "$plot"/cdf.*; do
			[ -s "$f" ] || continue
			n=$(basename "$f"); n=${n#cdf.}
			printf "%s'%s' using 1:(1./%d) smooth cumulative with lines lw 2 title '%s'" \
				"$sep" "$f" "$(wc -l <"$f")" "$n"
			sep=', '
		done
		[ "$sep" = 'plot ' ] || echo
		echo "set output '$out/latency-util.png'"
		echo "set title 'Station waiting time against server utilisation, 32 ports'"
		echo "set xlabel 'measured server utilisation'; set ylabel 'mean wait (ms)'"
		echo "set key top left"
		sep='plot '
		for c in daemon kernel baseline static; do
			grep -q "^$c " "$plot/util.dat" || continue
			printf "%s'< grep \"^%s \" %s' using 2:5 with linespoints lw 2 title '%s'" \
				"$sep" "$c" "$plot/util.dat" "$c"
			sep=', '
		done
		ideal=daemon
		grep -q '^daemon ' "$plot/util.dat" ||
			ideal=$(awk 'NR == 1 { print $1 }' "$plot/util.dat")
		printf "%s'< grep \"^%s \" %s' using 2:6 with linespoints dt 2 lw 2 title 'ideal'\n" \
			"$sep" "$ideal" "$plot/util.dat"
		echo "set output '$out/latency-ports.png'"
		echo "set title 'Added latency against ports, rho 0.8'"
		echo "set xlabel 'serial ports'; set ylabel 'added latency (ms)'"
		sep='plot '
		for c in daemon baseline; do
			grep -q "^$c " "$plot/ports.dat" || continue
			printf "%s'< grep \"^%s \" %s | sort -k2n' using 2:3 with linespoints lw 2 title '%s p50', '< grep \"^%s \" %s | sort -k2n' using 2:4 with linespoints dt 2 lw 2 title '%s p99'" \
				"$sep" "$c" "$plot/ports.dat" "$c" "$c" "$plot/ports.dat" "$c"
			sep=', '
		done
		echo
	} >"$plot/bench.gp"
	gnuplot "$plot/bench.gp" 2>"$plot/gnuplot.err" ||
		echo "bench: gnuplot failed (see $plot/gnuplot.err)" >&2
fi
echo
echo "figures: $out/bench.json; plots: $out/latency-cdf.png," \
	"$out/latency-util.png, $out/latency-ports.png"
