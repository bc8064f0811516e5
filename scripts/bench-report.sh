#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# The figures of a scripts/bench.sh run: tables on stdout, DIR/bench.json
# with every figure of every phase, DIR/summary.json with each figure's
# median and spread over the runs, the performance targets' verdicts, and
# gnuplot PNGs: short service at saturation (throughput and CPU per
# request by configuration) and scale (overhead against ports), with the
# spreads; the site workload (latency CDF per configuration at rho 0.8,
# latency against utilisation, added latency against ports).
#
#   bench-report.sh DIR
#   bench-report.sh --kernels DIR_A DIR_B   (two kernels' DIRs side by side)
#
# A figure is the median of its runs with the spread [min-max]. A target
# comparing A with k times B is "met" when the whole spread of A is on the
# right side of k times the whole spread of B, "not met" when it is wholly
# on the wrong side, and "overlap" otherwise; a verdict from fewer than 3
# runs says so. A p99 stands on the samples (requests) of each run: the
# least of them is printed, with "*" under 1000.
set -euo pipefail

# jq helpers shared by the tables: the median and spread of a list, a
# figure with its spread, the verdict of a target.
# shellcheck disable=SC2016 # jq, not shell
lib='
def med: sort | if length == 0 then null
	elif length % 2 == 1 then .[(length / 2 | floor)]
	else (.[length / 2 - 1] + .[length / 2]) / 2 end;
def agg: map(select(. != null)) | if length == 0 then null
	else {med: med, min: min, max: max, n: length} end;
def fmt($d): if . == null then "-" else
	(. * pow(10; $d) | round / pow(10; $d) | tostring) end;
def ms: if . == null then null
	else {med: (.med / 1000), min: (.min / 1000), max: (.max / 1000), n} end;
def sp($d): if . == null then "-" elif .n == 1 then (.med | fmt($d))
	else "\(.med | fmt($d)) [\(.min | fmt($d))-\(.max | fmt($d))]" end;
def few($a; $b): ([$a.n, $b.n] | min) as $n
	| if $n < 3 then " (from \($n) run\(if $n == 1 then "" else "s" end): fewer than 3)"
	  else "" end;
# A <= k B ("le") or A >= k B ("ge"), on the spreads.
def verdict($a; $b; $k; $op):
	if $a == null or $b == null then "no figures"
	elif $op == "le" then
		(if $a.max <= $k * $b.min then "met"
		 elif $a.min > $k * $b.max then "not met" else "overlap" end)
		+ few($a; $b)
	else
		(if $a.min >= $k * $b.max then "met"
		 elif $a.max < $k * $b.min then "not met" else "overlap" end)
		+ few($a; $b)
	end;
def ratio($a; $b): if $a == null or $b == null or $b.med == 0 then "-"
	else ($a.med / $b.med | fmt(2)) end;
def samples: if . == null then "" else
	" (n=\(.)\(if . < 1000 then "*" else "" end))" end;
'

# The scale workload's load (BENCH_SCALE_RHO), 0.8 in runs from before it.
scale_rho() {	# SUMMARY
	jq -r '[.groups[] | select(.workload == "scale") | .rho] | first // "0.8"' "$1"
}

if [ "${1:-}" = --kernels ]; then
	a=${2:?usage: bench-report.sh --kernels DIR_A DIR_B}
	b=${3:?usage: bench-report.sh --kernels DIR_A DIR_B}
	an=$(basename "$a") bn=$(basename "$b")
	echo
	srho=$(scale_rho "$a/summary.json")
	echo "kernels side by side: hub overhead at rho 0.8 (scale: $srho), ms, median [min-max] of the runs"
	jq -r -n --arg an "$an" --arg bn "$bn" --arg srho "$srho" \
		--slurpfile a "$a/summary.json" --slurpfile b "$b/summary.json" "$lib"'
	($b[0].groups | map({key: .key, value: .}) | from_entries) as $bb
	| $a[0].groups[] | select((.workload == "short" and .rho == "0.8")
		or (.workload == "scale" and .rho == $srho)) as $x
	| ($bb[$x.key] // {}) as $y
	| "  \($x.workload) \($x.config) \($x.ports) ports: \($an) p50 \($x.overhead_p50 | ms | sp(2)) p99 \($x.overhead_p99 | ms | sp(2))\($x.samples_min | samples); \($bn) p50 \($y.overhead_p50 | ms | sp(2)) p99 \($y.overhead_p99 | ms | sp(2))\($y.samples_min | samples)"'
	# The PREEMPT_RT target: the RT kernel is the one whose name says rt.
	if [[ $an == *rt* ]]; then
		rt=$a def=$b rtn=$an defn=$bn
	else
		rt=$b def=$a rtn=$bn defn=$an
	fi
	echo
	echo "target: on PREEMPT_RT ($rtn) the p99 overhead no worse than on $defn (short service, rho 0.8):"
	v=$(jq -r -n --slurpfile r "$rt/summary.json" --slurpfile d "$def/summary.json" "$lib"'
	($d[0].groups | map({key: .key, value: .}) | from_entries) as $dd
	| $r[0].groups[] | select(.workload == "short" and .rho == "0.8") as $x
	| ($dd[$x.key] // {}) as $y
	| "  \($x.config) \($x.ports) ports: \($x.overhead_p99 | ms | sp(2)) against \($y.overhead_p99 | ms | sp(2)) ms: \(verdict($x.overhead_p99; $y.overhead_p99; 1; "le"))"')
	echo "${v:-  no figures}"
	exit 0
fi
out=${1:?usage: bench-report.sh DIR}

# Hexadecimal addresses as 16 lowercase digits, to compare as strings
# (jq's numbers cannot hold them).
hex16() { printf '%016x' "$1"; }

# The module's data as an address range "LO HI": on 6.1 the module is one
# allocation, /proc/modules' address and size; on later kernels its data
# lies apart, from the lowest of .data and .bss to 64 KiB past the highest.
module_range() {	# DIR TAG
	local share=$1/share tag=$2 size addr lo hi a
	# "persohub SIZE REFS DEPS STATE ADDR [TAINTS]"
	read -r _ size _ _ _ addr _ < <(grep '^persohub ' "$share/modules.$tag") || return 1
	lo='' hi=''
	while read -r _ a; do
		[ -n "$lo" ] && [ $((a)) -ge $((lo)) ] || lo=$a
		[ -n "$hi" ] && [ $((a)) -le $((hi)) ] || hi=$a
	done <"$share/sections.$tag"
	[ -n "$lo" ] || return 1
	if [ $((lo)) -ge $((addr)) ] && [ $((hi)) -lt $((addr + size)) ]; then
		echo "$(hex16 "$addr") $(hex16 $((addr + size)))"
	else
		echo "$(hex16 "$lo") $(hex16 $((hi + 65536)))"
	fi
}

# persohub's locks in one window's /proc/lock_stat: the hub lock, the
# per-port locks together and the module's other locks together, each
# summed over its classes. A class is the module's when its key
# (/proc/lockdep) lies in the module's data; without the keys, by name.
lock_json() {	# DIR TAG
	local share=$1/share tag=$2 range lo='' hi=''
	[ -e "$share/lock_stat.$tag" ] || { echo null; return; }
	if range=$(module_range "$1" "$tag"); then
		read -r lo hi <<<"$range"
	fi
	jq -n --rawfile ls "$share/lock_stat.$tag" \
		--rawfile ld "$share/lockdep.$tag" --arg lo "$lo" --arg hi "$hi" '
	def n: tonumber;
	[$ls | split("\n")[]
	 | capture("^\\s*(?<name>\\S.*?):\\s+(?<v>[0-9][0-9. ]*[0-9])\\s*$")
	 | .v |= (split(" ") | map(select(length > 0) | n))
	 | select(.v | length == 12)
	 | {name, contentions: .v[1], wait_max: .v[3], wait_total: .v[4],
	    acquisitions: .v[7], hold_max: .v[9], hold_total: .v[10]}]
	as $classes
	| ([$ld | split("\n")[]
	    | capture("^(?<key>[0-9a-f]{16})[^:]*: (?<name>.+)$")
	    | select($lo != "" and .key >= $lo and .key < $hi) | .name]
	   | unique) as $mine
	| ($mine | length > 0) as $bykey
	# lock_stat cuts names at 37 characters (less a "#N" or "/N").
	| def ours: .name as $n
		| if $bykey then any($mine[]; . == $n or (($n | length) >= 33
			and startswith($n[0:33])))
		  else $n | test("ph_hub|port->lock") end;
	  def sum: {classes: length,
		contentions: (map(.contentions) | add // 0),
		acquisitions: (map(.acquisitions) | add // 0),
		wait_total_us: (map(.wait_total) | add // 0),
		wait_max_us: (map(.wait_max) | max // 0),
		hold_total_us: (map(.hold_total) | add // 0),
		hold_max_us: (map(.hold_max) | max // 0)}
		| . + {wait_avg_us: (if .contentions > 0 then
				     .wait_total_us / .contentions else 0 end),
		       hold_avg_us: (if .acquisitions > 0 then
				     .hold_total_us / .acquisitions else 0 end),
		       wait_per_acq_us: (if .acquisitions > 0 then
				     .wait_total_us / .acquisitions else 0 end)};
	  [$classes[] | select(ours)] as $ours
	| {by: (if $bykey then "key" else "name" end),
	   hub: ([$ours[] | select(.name | test("ph_hub\\.lock"))] | sum),
	   ports: ([$ours[] | select((.name | test("ph_hub\\.lock") | not)
				      and (.name | test("port")))] | sum),
	   other: ([$ours[] | select(.name | test("ph_hub\\.lock|port") | not)]
		   | sum)}'
}

# One JSON object per phase of every run. TAG: WORKLOAD_CONFIG_RHO_PORTS_rRUN.
phase_json() {	# DIR TAG
	local dir=$1 tag=$2 share=$1/share ctl=/dev/null lock q0 q1
	local w c r p run
	[ -e "$share/sim.$tag.kv" ] || return 0
	[ -e "$share/cpu1.$tag" ] || return 0
	[ -e "$share/ctl.$tag" ] && ctl=$share/ctl.$tag
	q0=/dev/null q1=/dev/null
	[ -s "$share/qemu0.$tag" ] && [ -s "$share/qemu1.$tag" ] &&
		q0=$share/qemu0.$tag q1=$share/qemu1.$tag
	IFS=_ read -r w c r p run <<<"$tag"
	lock=$(lock_json "$dir" "$tag")
	jq -n --arg workload "$w" --arg config "$c" --argjson ports "$p" \
		--arg rho "$r" --argjson run "${run#r}" \
		--argjson think "$(cat "$share/think.$tag")" \
		--argjson rc "$(cat "$share/rc.$tag")" \
		--argjson lock "$lock" \
		--rawfile kv "$share/sim.$tag.kv" --rawfile dstats "$ctl" \
		--rawfile c0 "$share/cpu0.$tag" --rawfile c1 "$share/cpu1.$tag" \
		--rawfile q0 "$q0" --rawfile q1 "$q1" \
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
	| ($s["bench.rps"] // 0) as $rps
	| (($b.uptime // 0) - ($a.uptime // 0)) as $win
	| (($h0[0] | buckets) as $x | ($h1[0] | buckets)
	   | to_entries | map(.value + {count: (.value.count -
			($x[.key].count // 0))})
	   | map(select(.count > 0)) | sort_by(.lo_ns)) as $hist
	# CPU in the window, ticks: kernel (system, irq, softirq), user
	# (user, nice), the controller process (its user and system).
	| (($b.system - $a.system) + ($b.irq - $a.irq) +
	   ($b.softirq - $a.softirq)) as $kern
	| (($b.user - $a.user) + (($b.nice // 0) - ($a.nice // 0))) as $user
	| (($b.ctl_user - $a.ctl_user) + ($b.ctl_system - $a.ctl_system))
	  as $ctl
	# us per request: CPU seconds per second of window over requests
	# per second of the load.
	| def per_req($t): if $win > 0 and $rps > 0 then
		$t / $a.clk_tck / $win / $rps * 1e6 else null end;
	# The emulator on the host, over the same window of the load.
	(if $q0 == "" then null else ($q0 | pairs) end) as $e0
	| (if $q1 == "" then null else ($q1 | pairs) end) as $e1
	| (if $e0 == null or $e1 == null or $rps == 0 or
	      $e1.uptime <= $e0.uptime then null
	   else ($e1.ticks - $e0.ticks) / $e0.clk_tck /
		($e1.uptime - $e0.uptime) / $rps * 1e6 end) as $emu
	|
	[$s | to_entries[] | select(.key | startswith("bench.busy."))
	   | .value] as $busy
	| {
		workload: $workload, config: $config, ports: $ports,
		rho_offered: $rho, run: $run,
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
		window_s: $win,
		cpu_us_per_req: {emulator: $emu, total: per_req($kern + $user),
				 kernel: per_req($kern), user: per_req($user),
				 controller: per_req($ctl)},
		cpu_ms_per_1000: {kernel: per_req($kern),
				  controller: per_req($ctl)},
		dispatch_latency_ns: {count: ($hist | map(.count) | add // 0),
			p50: quantile($hist; 0.5), p90: quantile($hist; 0.9),
			p99: quantile($hist; 0.99), buckets: $hist},
		persohubd: (if $dstats == "" then null else ($dstats | kv) end),
		lock: (if $lock == null then null else $lock + {
			window_s: $win,
			hub: ($lock.hub + {
				per_req: (if $win > 0 and $rps > 0 then
					$lock.hub.acquisitions / ($rps * $win)
					else null end),
				contentions_per_s: (if $win > 0 then
					$lock.hub.contentions / $win
					else null end)})} end)
	}'
}

phases=()
for dir in "$out"/boot-*/; do
	dir=${dir%/}
	for f in "$dir"/share/sim.*.kv; do
		[ -e "$f" ] || continue
		tag=${f##*/sim.}
		phases+=("$(phase_json "$dir" "${tag%.kv}")")
	done
done
[ ${#phases[@]} -gt 0 ] || { echo "bench-report: no results in $out" >&2; exit 1; }

# Ratios: to the baseline with the same workload, ports, load and run, to
# the ideal.
printf '%s\n' "${phases[@]}" | jq -s '
	def ratio($a; $b): if $a == null or $b == null or $b == 0 then null
			   else ($a / $b * 100 | round / 100) end;
	(map(select(.config == "baseline"))
	 | map({key: "\(.workload)/\(.ports)/\(.rho_offered)/\(.run)", value: .})
	 | from_entries) as $base
	| map(. as $r | $base["\(.workload)/\(.ports)/\(.rho_offered)/\(.run)"] as $b | . + {
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
	| sort_by(.workload, .ports, .config, .rho_offered, .run)
	| {generated: (now | todate), phases: .}' >"$out/bench.json"

# Each figure over the runs: median, min, max, runs.
jq "$lib"'
	.phases | group_by([.workload, .config, .rho_offered, .ports])
	| map({key: "\(.[0].workload)/\(.[0].config)/\(.[0].rho_offered)/\(.[0].ports)",
	       workload: .[0].workload, config: .[0].config,
	       rho: .[0].rho_offered, ports: .[0].ports,
	       stations: .[0].stations, servers: .[0].servers,
	       service_mean_us: (map(.service_mean_us) | agg),
	       runs: length, samples_min: (map(.requests) | min),
	       bad_runs: (map(select(.sim_exit != 0 or .wrong != 0)) | length),
	       rps: (map(.rps) | agg),
	       of_capacity: (map(.vs_ideal.throughput_of_capacity) | agg),
	       busy: (map(.busy_mean) | agg),
	       overhead_p50: (map(.overhead_us.p50) | agg),
	       overhead_p99: (map(.overhead_us.p99) | agg),
	       added_p50: (map(.added_us.p50) | agg),
	       added_p99: (map(.added_us.p99) | agg),
	       added_p90: (map(.added_us.p90) | agg),
	       added_max: (map(.added_us.max) | agg),
	       wait: (map(.station_wait_mean_us) | agg),
	       ideal_wait: (map(.ideal_wait_mean_us) | agg),
	       wait_vs_ideal: (map(.vs_ideal.station_wait) | agg),
	       ideal_added_p50: (map(.ideal_added_us.p50) | agg),
	       ideal_added_p99: (map(.ideal_added_us.p99) | agg),
	       capacity_rps: (map(.capacity_rps) | agg),
	       vs_base_added_p50: (map(.vs_baseline.added_p50) | agg),
	       vs_base_added_p99: (map(.vs_baseline.added_p99) | agg),
	       vs_base_overhead_p50: (map(.vs_baseline.overhead_p50) | agg),
	       vs_base_overhead_p99: (map(.vs_baseline.overhead_p99) | agg),
	       cpu_emu: (map(.cpu_us_per_req.emulator) | agg),
	       cpu_total: (map(.cpu_us_per_req.total) | agg),
	       cpu_kernel: (map(.cpu_us_per_req.kernel) | agg),
	       cpu_user: (map(.cpu_us_per_req.user) | agg),
	       cpu_ctl: (map(.cpu_us_per_req.controller) | agg),
	       dispatch_p50_ns: (map(.dispatch_latency_ns.p50) | agg),
	       dispatch_p99_ns: (map(.dispatch_latency_ns.p99) | agg),
	       dispatch_p90_ns: (map(.dispatch_latency_ns.p90) | agg),
	       dispatches: (map(.dispatch_latency_ns.count) | agg),
	       daemon_p50_ns: (map(.persohubd.wakeup_to_dispatch_p50_ns) | agg),
	       daemon_p99_ns: (map(.persohubd.wakeup_to_dispatch_p99_ns) | agg),
	       lock: (if .[0].lock == null then null else {
		       by: .[0].lock.by,
		       hub_wait_per_acq: (map(.lock.hub.wait_per_acq_us) | agg),
		       hub_wait_avg: (map(.lock.hub.wait_avg_us) | agg),
		       hub_wait_max: (map(.lock.hub.wait_max_us) | agg),
		       hub_hold_avg: (map(.lock.hub.hold_avg_us) | agg),
		       hub_hold_max: (map(.lock.hub.hold_max_us) | agg),
		       hub_contentions: (map(.lock.hub.contentions) | agg),
		       hub_contentions_per_s: (map(.lock.hub.contentions_per_s) | agg),
		       hub_acquisitions: (map(.lock.hub.acquisitions) | agg),
		       hub_per_req: (map(.lock.hub.per_req) | agg),
		       port_classes: (map(.lock.ports.classes) | max),
		       port_contentions: (map(.lock.ports.contentions) | agg),
		       port_acquisitions: (map(.lock.ports.acquisitions) | agg),
		       port_wait_avg: (map(.lock.ports.wait_avg_us) | agg),
		       port_wait_max: (map(.lock.ports.wait_max_us) | agg),
		       port_hold_avg: (map(.lock.ports.hold_avg_us) | agg),
		       port_hold_max: (map(.lock.ports.hold_max_us) | agg),
		       port_wait_per_acq: (map(.lock.ports.wait_per_acq_us) | agg)
	       } end)})
	| {generated: (now | todate), groups: .}' "$out/bench.json" >"$out/summary.json"

# The audit's cost: persohubd with its audit records (daemon) against
# the same with "audit = no" (noaudit), run by run (the same seed and
# load), CPU us per request; then over the runs.
# shellcheck disable=SC2016 # jq, not shell
jq "$lib"'
	def minus($a; $b): if $a == null or $b == null then null
		else $a - $b end;
	[.phases | map(select(.config == "daemon" or .config == "noaudit"))
	 | group_by([.workload, .rho_offered, .ports])[]
	 | (map(select(.config == "daemon"))
	    | map({key: (.run | tostring), value: .}) | from_entries) as $d
	 | [.[] | select(.config == "noaudit") as $x
	    | $d[$x.run | tostring] | select(. != null)
	    | {controller: minus(.cpu_us_per_req.controller;
				 $x.cpu_us_per_req.controller),
	       guest: minus(.cpu_us_per_req.total; $x.cpu_us_per_req.total),
	       emulator: minus(.cpu_us_per_req.emulator;
			       $x.cpu_us_per_req.emulator),
	       audit_cpu_us: (if (.persohubd.audit_records // 0) == 0 then
			       null else .persohubd.audit_cpu_ns /
			       .persohubd.audit_records / 1000 end),
	       workload, rho: .rho_offered, ports}]
	 | select(length > 0)
	 | {workload: .[0].workload, rho: .[0].rho, ports: .[0].ports,
	    runs: length,
	    controller_us: (map(.controller) | agg),
	    guest_us: (map(.guest) | agg),
	    emulator_us: (map(.emulator) | agg),
	    audit_cpu_us: (map(.audit_cpu_us) | agg)}] as $cost
	| input + {audit_cost: $cost}' "$out/bench.json" "$out/summary.json" \
	>"$out/summary.json.new"
mv "$out/summary.json.new" "$out/summary.json"

S=$out/summary.json
has_wl() { jq -e --arg w "$1" 'any(.groups[]; .workload == $w)' "$S" >/dev/null; }

if has_wl short; then
	echo
	echo "short service ($(jq -r '[.groups[] | select(.workload == "short") | .service_mean_us.med] | max | . / 1000 * 100 | round / 100' "$S") ms mean measured), median [min-max] of the runs:"
	echo "at saturation: requests/s, share of the servers' capacity, their busy"
	echo "fraction, CPU us per request: the emulator's (host CPU of QEMU: all the guest"
	echo "did) and the guest's /proc/stat (kernel + user; blind to hard interrupts"
	echo "taken on an idle CPU, where the card driver does its work):"
	jq -r "$lib"'.groups[] | select(.workload == "short" and .rho == "sat")
		| "  \(.config) \(.ports) ports (\(.servers) servers): \(.rps | sp(0)) req/s, \(.of_capacity | sp(2)) of capacity, busy \(.busy | sp(2)); CPU \(.cpu_emu | sp(0)) us/req in the emulator, \(.cpu_total | sp(0)) = \(.cpu_kernel | sp(0)) + \(.cpu_user | sp(0)) seen by the guest (\(.runs) runs)"' "$S"
	echo "at rho 0.8: hub overhead and added latency p50/p99 (ms), CPU us per request:"
	jq -r "$lib"'.groups[] | select(.workload == "short" and .rho == "0.8")
		| "  \(.config) \(.ports) ports: overhead p50 \(.overhead_p50 | ms | sp(2)) p99 \(.overhead_p99 | ms | sp(2))\(.samples_min | samples); added p50 \(.added_p50 | ms | sp(2)) p99 \(.added_p99 | ms | sp(2)); CPU us/req \(.cpu_emu | sp(0)) in the emulator, \(.cpu_total | sp(0)) = \(.cpu_kernel | sp(0)) + \(.cpu_user | sp(0)) seen by the guest, controller \(.cpu_ctl | sp(0)); \(.rps | sp(0)) req/s"
		+ (if .dispatch_p99_ns == null then "" else "\n    in the hub, last request byte to dispatch p50 \(.dispatch_p50_ns | ms | sp(1)) p99 \(.dispatch_p99_ns | ms | sp(1)) us" end)
		+ (if .daemon_p99_ns == null then "" else "; persohubd wakeup to dispatch p99 \(.daemon_p99_ns | ms | sp(1)) us" end)' "$S"
fi
if jq -e '.audit_cost | length > 0' "$S" >/dev/null; then
	echo
	echo "the audit's cost: persohubd with its records against \"audit = no\", the"
	echo "same load run by run, CPU us per request, median [min-max] of the runs:"
	jq -r "$lib"'.audit_cost[]
		| "  \(.workload) \(.ports) ports rho \(.rho): persohubd \(.controller_us | sp(1)), guest \(.guest_us | sp(1)), emulator \(.emulator_us | sp(1)); writing a record \(.audit_cpu_us | sp(1)) as persohubd measures it (\(.runs) run\(if .runs == 1 then "" else "s" end))"' "$S"
fi
if has_wl short || has_wl scale; then
	echo
	srho=$(scale_rho "$S")
	echo "scale, the short workload at rho $srho (3 stations per server): hub overhead"
	echo "p50/p99 (ms) and CPU us per request against ports, median [min-max]:"
	jq -r --arg srho "$srho" "$lib"'[.groups[] | select((.workload == "short" or .workload == "scale") and .rho == $srho)]
		| group_by(.config)[] | sort_by(.ports) as $g
		| ($g | map(select(.ports == 8)) | .[0].overhead_p99) as $p8
		| $g[] | "  \(.config) \(.ports) ports: p50 \(.overhead_p50 | ms | sp(2)) p99 \(.overhead_p99 | ms | sp(2))\(.samples_min | samples); CPU \(.cpu_emu | sp(0)) us/req (emulator), \(.cpu_total | sp(0)) (guest); p99 / p99 at 8 ports \(ratio(.overhead_p99; $p8))"
			+ (if .dispatch_p99_ns == null then "" else "; in the hub, last request byte to dispatch p50 \(.dispatch_p50_ns | ms | sp(0)) p99 \(.dispatch_p99_ns | ms | sp(0)) us" end)' "$S"
fi
if jq -e 'any(.groups[]; .lock != null)' "$S" >/dev/null; then
	echo
	echo "hub lock (/proc/lock_stat over each window, us; median [min-max] of the runs):"
	jq -r "$lib"'.groups[] | select(.lock != null)
		| "  \(.config) \(.ports / 4) cards: \(.rps | sp(0)) req/s; ph_hub.lock: \(.lock.hub_acquisitions | sp(0)) acquisitions (\(.lock.hub_per_req | sp(1)) per request), \(.lock.hub_contentions | sp(0)) contentions, wait avg \(.lock.hub_wait_avg | sp(2)) max \(.lock.hub_wait_max | sp(2)), per acquisition \(.lock.hub_wait_per_acq | sp(3)); hold avg \(.lock.hub_hold_avg | sp(2)) max \(.lock.hub_hold_max | sp(2))"
		+ "\n    per-port locks (\(.lock.port_classes) classes together): \(.lock.port_acquisitions | sp(0)) acquisitions, \(.lock.port_contentions | sp(0)) contentions, wait avg \(.lock.port_wait_avg | sp(2)) max \(.lock.port_wait_max | sp(2)); hold avg \(.lock.port_hold_avg | sp(2)) max \(.lock.port_hold_max | sp(2))"' "$S"
	echo "  (classes told apart by their $(jq -r '[.groups[] | select(.lock != null) | .lock.by] | unique | join("/")' "$S"); wait avg is per contention, per acquisition is the wait total over all acquisitions)"
fi


# The targets, from the figures above.
targets() {
echo
echo "targets (met / not met / overlap of the spreads):"
jq -r --arg srho "$(scale_rho "$S")" "$lib"'
	(.groups | map({key: .key, value: .}) | from_entries) as $g
	| def g($w; $c; $r; $p): $g["\($w)/\($c)/\($r)/\($p)"];
	def line($what; $a; $b; $k; $op):
		"  \($what): " + (if $a == null or $b == null then "no figures"
			elif $b.med == 0 then "\($a.med | fmt(3)) against 0 (medians), \(verdict($a; $b; $k; $op))"
			else "\(ratio($a; $b))x (medians), \(verdict($a; $b; $k; $op))" end);
	(if any(.groups[]; .workload == "short") then
	 ["daemon", "kernel"][] as $c
	 | (line("short service saturation throughput, \($c) >= 2x baseline (28 ports)";
		g("short"; $c; "sat"; 28).rps; g("short"; "baseline"; "sat"; 28).rps; 2; "ge"),
	    line("CPU per request (emulator) at rho 0.8, \($c) <= 0.3x baseline (28 ports)";
		g("short"; $c; "0.8"; 28).cpu_emu; g("short"; "baseline"; "0.8"; 28).cpu_emu; 0.3; "le"),
	    line("hub overhead p50 at rho 0.8, \($c) <= 0.5x baseline (28 ports)";
		g("short"; $c; "0.8"; 28).overhead_p50; g("short"; "baseline"; "0.8"; 28).overhead_p50; 0.5; "le"),
	    line("hub overhead p99 at rho 0.8, \($c) <= 0.7x baseline (28 ports)";
		g("short"; $c; "0.8"; 28).overhead_p99; g("short"; "baseline"; "0.8"; 28).overhead_p99; 0.7; "le"))
	 else empty end),
	(if any(.groups[]; .workload == "scale") then
	 ["daemon", "kernel"][] as $c
	 | line("overhead p99 from 8 to 56 ports grows at most 1.2x, \($c) (rho \($srho))";
		(g("short"; $c; $srho; 56) // g("scale"; $c; $srho; 56)).overhead_p99;
		g("scale"; $c; $srho; 8).overhead_p99; 1.2; "le")
	 else empty end),
	(if any(.groups[]; .lock != null) then
	 (.groups | map(select(.lock != null)) | map(.config) | unique)[] as $c
	 | line("hub-lock wait per acquisition at 14 cards <= 1.2x at 1 card, \($c)";
		g("lockstat"; $c; "sat"; 56).lock.hub_wait_per_acq;
		g("lockstat"; $c; "sat"; 4).lock.hub_wait_per_acq; 1.2; "le")
	 else empty end)' "$S"
echo "  (PREEMPT_RT against the default kernel: DIR/kernels.txt; the hub lock: make bench-lockstat)"
}

if has_wl site; then
echo
echo "site workload ($(jq -r '[.groups[] | select(.workload == "site") | .service_mean_us.med] | max | . / 1000 | round' "$S") ms mean service measured; times in ms, host side of the serial lines),"
echo "median [min-max] of the runs (seeds SEED + run, the same for every configuration):"
# shellcheck disable=SC2016 # jq, not shell
site='
	def site: [.groups[] | select(.workload == "site")]
		| sort_by(.ports, ({"0.5": 0, "0.8": 1, "0.95": 2, "sat": 3}[.rho] // 9), .config);
	# A against the baseline: the median of the run-by-run ratios, and
	# whether the spreads of the two figures part.
	def parts($a; $b): if $a == null or $b == null then "no figures"
		else ([$a.n, $b.n] | min) as $n
		| if $n < 3 then "\($n) run\(if $n == 1 then "" else "s" end): fewer than 3, no claim"
		  elif $a.max < $b.min then "below"
		  elif $a.min > $b.max then "above" else "overlap" end end;
	(.groups | map({key: .key, value: .}) | from_entries) as $g
	| def base: $g["site/baseline/\(.rho)/\(.ports)"];'
jq -r "$lib$site"'site[]
	| "  \(.config) \(.ports) ports rho \(.rho): \(.rps | sp(1)) req/s, busy \(.busy | sp(2)); added p50 \(.added_p50 | ms | sp(1)) p90 \(.added_p90 | ms | sp(1)) p99 \(.added_p99 | ms | sp(1))\(.samples_min | samples) max \(.added_max | ms | sp(0)); station wait \(.wait | ms | sp(0)), ideal \(.ideal_wait | ms | sp(0)), x ideal \(.wait_vs_ideal | sp(2)); CPU ms per 1000 requests: guest kernel \(.cpu_kernel | sp(0)), controller \(.cpu_ctl | sp(0)) (\(.runs) run\(if .runs == 1 then "" else "s" end))"
	  + (if .config == "baseline" or base == null then "" else
	     "\n    against the baseline, run by run: added p50 \(.vs_base_added_p50 | sp(2))x (\(parts(.added_p50; base.added_p50))), p99 \(.vs_base_added_p99 | sp(2))x (\(parts(.added_p99; base.added_p99)))" end)' "$S"
echo
echo "added = round trip - service time; station wait = mean round trip at the"
echo "station; ideal = each station's same requests (service and think times)"
echo "replayed on a zero-overhead work-conserving FIFO of as many servers; CPU"
echo "as in short (the guest's /proc/stat, the controller's system time in the"
echo "kernel's). Against the baseline: the ratio of each run to the baseline's"
echo "run of the same seed; below/above/overlap compare the two figures' spreads:"
echo "a ratio counts only where they part."
echo
echo "the recorded arrivals on a zero-overhead FIFO: added latency (queueing alone), ms:"
jq -r "$lib$site"'site[] | select(.ideal_added_p50 != null)
	| "  \(.config) \(.ports) ports rho \(.rho): p50 \(.ideal_added_p50 | ms | sp(1)) p99 \(.ideal_added_p99 | ms | sp(1))"' "$S"
echo "what the hub costs a request, queueing left out (from both the request and"
echo "its server being ready to the server having it, plus the answer's way back), ms:"
jq -r "$lib$site"'site[] | select(.overhead_p50 != null)
	| "  \(.config) \(.ports) ports rho \(.rho): p50 \(.overhead_p50 | ms | sp(1)) p99 \(.overhead_p99 | ms | sp(1))"
	  + (if .config == "baseline" or base == null then "" else "; against the baseline, run by run, p50 \(.vs_base_overhead_p50 | sp(2))x (\(parts(.overhead_p50; base.overhead_p50))) p99 \(.vs_base_overhead_p99 | sp(2))x (\(parts(.overhead_p99; base.overhead_p99)))" end)' "$S"
echo "dispatch latency in the hub (last request byte to dispatch), us:"
jq -r "$lib$site"'site[] | select(.dispatch_p50_ns != null)
	| "  \(.config) \(.ports) ports rho \(.rho): p50 \(.dispatch_p50_ns | ms | sp(1)) p90 \(.dispatch_p90_ns | ms | sp(1)) p99 \(.dispatch_p99_ns | ms | sp(1)) (\(.dispatches.min) dispatches or more a run)"' "$S"
echo "persohubd, from a request event's wakeup to its dispatch sent (power-of-two buckets, whole run), us:"
jq -r "$lib$site"'site[] | select(.daemon_p50_ns != null)
	| "  \(.config) \(.ports) ports rho \(.rho): p50 \(.daemon_p50_ns | ms | sp(1)) p99 \(.daemon_p99_ns | ms | sp(1))"' "$S"
echo "throughput at saturation:"
jq -r "$lib$site"'site[] | select(.rho == "sat")
	| "  \(.config) \(.ports) ports: \(.rps | sp(1)) req/s = \(.of_capacity | sp(2)) of the servers capacity (\(.capacity_rps | sp(1)) req/s)"' "$S"
fi
bad=$(jq '[.phases[] | select(.sim_exit != 0 or .wrong != 0)] | length' "$out/bench.json")
[ "$bad" = 0 ] || echo "bench: $bad phases had wrong answers or a failed simulator run (see the share directories)"
targets

# Plots of the short and scale workloads, from the medians and spreads:
# short.png, throughput and CPU per request at saturation by
# configuration; scale.png, the overhead against ports.
plot=$out/plot
mkdir -p "$plot"
plots=
if has_wl short; then
	jq -r "$lib"'.groups[] | select(.workload == "short" and .rho == "sat")
		| [.config + "/" + (.ports | tostring),
		   (.rps // {} | .med, .min, .max), (.cpu_emu // {} | .med, .min, .max)]
		| map(. // 0 | tostring) | join(" ")' "$S" >"$plot/short.dat"
	[ -s "$plot/short.dat" ] && plots+=" $out/short.png"
fi
if has_wl scale; then
	jq -r --arg srho "$(scale_rho "$S")" '.groups[]
		| select((.workload == "short" or .workload == "scale")
			 and .rho == $srho and .overhead_p99 != null)
		| [.config, .ports, (.overhead_p50, .overhead_p99 | .med, .min, .max | . / 1000)]
		| map(tostring) | join(" ")' "$S" | sort -k1,1 -k2n >"$plot/scale.dat"
	[ -s "$plot/scale.dat" ] && plots+=" $out/scale.png"
fi
if [ -n "$plots" ] && command -v gnuplot >/dev/null; then
	{
		echo "set terminal pngcairo size 900,600; set grid"
		if [ -s "$plot/short.dat" ]; then
			echo "set output '$out/short.png'"
			echo "set multiplot layout 2,1 title 'Short service at saturation (median, min-max of the runs)'"
			echo "set style fill solid 0.4; set boxwidth 0.6; set xtics rotate by -20"
			echo "set yrange [0:*]; set ylabel 'requests/s'; unset key"
			echo "plot '$plot/short.dat' using 0:2:xtic(1) with boxes, '' using 0:2:3:4 with yerrorbars lc black pt 0"
			echo "set ylabel 'emulator CPU us / request'"
			echo "plot '$plot/short.dat' using 0:5:xtic(1) with boxes, '' using 0:5:6:7 with yerrorbars lc black pt 0"
			echo "unset multiplot; set xtics norotate; set autoscale y; set key"
		fi
		if [ -s "$plot/scale.dat" ]; then
			echo "set output '$out/scale.png'"
			echo "set title 'Hub overhead against ports, rho $(scale_rho "$S") (median, min-max of the runs)'"
			echo "set xlabel 'serial ports'; set ylabel 'overhead (ms)'; set key top left"
			sep='plot ' i=0
			for c in daemon kernel baseline; do
				i=$((i + 1))
				grep -q "^$c " "$plot/scale.dat" || continue
				printf "%s'< grep \"^%s \" %s' using 2:3:4:5 with yerrorlines lc %d lw 2 title '%s p50', '< grep \"^%s \" %s' using 2:6:7:8 with yerrorlines lc %d dt 2 lw 2 title '%s p99'" \
					"$sep" "$c" "$plot/scale.dat" "$i" "$c" "$c" "$plot/scale.dat" "$i" "$c"
				sep=', '
			done
			echo
		fi
	} >"$plot/fast.gp"
	gnuplot "$plot/fast.gp" 2>"$plot/gnuplot-fast.err" ||
		echo "bench: gnuplot failed (see $plot/gnuplot-fast.err)" >&2
fi

# Plots of the site workload.
has_wl site || { echo; echo "figures: $out/bench.json, $out/summary.json${plots:+; plots:$plots}"; exit 0; }
# The CDF: every request of every run at rho 0.8 on 32 ports; the other
# two from the medians of the runs.
rm -f "$plot"/cdf.*
for f in "$out"/boot-8/share/trace.site_*_0.8_32_r*; do
	[ -e "$f" ] || continue
	c=${f##*/trace.site_}
	awk '!/^#/ { print $7 / 1000 }' "$f" >>"$plot/cdf.${c%%_*}"
done
for f in "$plot"/cdf.*; do
	[ -e "$f" ] && sort -n -o "$f" "$f"
done
jq -r '.groups[] | select(.workload == "site" and .ports == 32) | [.config, (.busy.med // 0),
	(.added_p50.med // 0) / 1000, (.added_p99.med // 0) / 1000,
	(.wait.med // 0) / 1000, (.ideal_wait.med // 0) / 1000]
	| map(tostring) | join(" ")' "$S" | sort -k1,1 -k2n >"$plot/util.dat"
jq -r '.groups[] | select(.workload == "site" and .rho == "0.8") | [.config, .ports,
	(.added_p50.med // 0) / 1000, (.added_p99.med // 0) / 1000]
	| map(tostring) | join(" ")' "$S" >"$plot/ports.dat"
if command -v gnuplot >/dev/null; then
	{
		echo "set terminal pngcairo size 900,600"
		echo "set output '$out/latency-cdf.png'"
		echo "set title 'Added latency per request, 32 ports, rho 0.8 (every run)'"
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
		echo "set title 'Station waiting time against server utilisation, 32 ports (medians of the runs)'"
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
		echo "set title 'Added latency against ports, rho 0.8 (medians of the runs)'"
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
	[ ! -s "$plot/util.dat" ] ||
	gnuplot "$plot/bench.gp" 2>"$plot/gnuplot.err" ||
		echo "bench: gnuplot failed (see $plot/gnuplot.err)" >&2
fi
echo
echo "figures: $out/bench.json; plots:$plots $out/latency-cdf.png," \
	"$out/latency-util.png, $out/latency-ports.png"
