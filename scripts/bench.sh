#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# make bench: what persohub costs, side by side with what a site would use
# instead, in one run on one test machine so the ratios hold on a noisy
# machine. It never fails on a figure.
#
# Workloads (build/sitesim, seeded; closed loop: each station sends a
# request, waits for its answer, thinks for an exponential time and sends
# the next). The offered load is set as server utilisation rho = N * S /
# (c * (S + Z)) for N stations, c servers, mean service S and think time
# Z; "sat" is Z = 0.
#   short  fast servers (HSMs): service uniform from 1 to 2 ms (mean
#          BENCH_SHORT_SERVICE_US, 1500; BENCH_SHORT_DIST=exp for an
#          exponential), 40-byte requests, 3 stations per server. On 28
#          ports (7 cards, 21 stations, 7 servers: the most 8250 gives the
#          baseline and the tty backend, 32 ttyS in all) every
#          configuration at BENCH_SHORT_RHOS (default "0.8 sat"); on 56
#          ports (14 cards, 42 stations, 14 servers) daemon and kernel.
#   scale  the short workload at one per-port load (BENCH_SCALE_RHO,
#          default 0.03: a think time of 148 ms, 6.7 requests/s per
#          station) on 8, 16, 32 and 56 ports, the overhead against
#          ports: daemon and kernel, and the baseline where 8250 has the
#          ports. The load is one the emulated guest carries at 56 ports
#          (about 280 requests/s): at rho 0.8 it saturates the guest from
#          8 ports on, and the figures grow with the queue in front of its
#          CPUs, not with the hub's cost.
#   site   the long-service site: 24 stations and 6 servers on 8 cards,
#          exponential service (BENCH_SERVICE_US, 200 ms), rho 0.5, 0.8,
#          0.95 and saturation; daemon and baseline again at 8 and 16 ports.
# Configurations:
#   daemon    persohub, persohubd as controller (its audit records on,
#             the default)
#   noaudit   the same with "audit = no": beside daemon in the short
#             workload on 28 ports, the audit's cost per request
#   kernel    persohub, the hub's own matching (no daemon)
#   baseline  Linux's 8250 driver, raw termios, one epoll loop with the
#             same framing and matching (selftests/phbase.c)
#   static    persohub, each station pinned to one server (prior art; site)
#   tty       persohub's tty backend: the same ports left to 8250, attached
#             through persohub's line discipline; the hub's own matching
#   ideal     zero-overhead work-conserving FIFO of the same trace
# Lines run at 115200 baud, the most QEMU's pci-serial allows (its baud
# base); QEMU passes a socket's bytes on as fast as they come, the rate
# only sets the receive timeout.
#
# Runs: every figure of short and scale comes from BENCH_RUNS (default 3)
# rounds with different seeds (SEED + round); the site's from
# BENCH_SITE_RUNS (default 3) the same way. One boot per card count (2, 4, 8 and 14
# cards) holds every phase that needs it, round after round, the order of
# the configurations rotating from one load and round to the next, so what
# else the machine does weighs on them alike.
#
# Kernels: the whole benchmark runs on each of BENCH_KVERS (default "6.1
# 6.12-rt": Debian 12's default kernel and PREEMPT_RT), each in DIR/<kernel>/
# with its own report, then the kernels side by side (DIR/kernels.txt).
#
# --lockstat (make bench-lockstat): on the lock-statistics kernel
# (scripts/debug-kernel.sh --lockstat 6.1, built once and cached), the short
# workload at saturation on 1, 4, 8 and 14 cards (BENCH_LOCKSTAT_CONFIGS,
# default "kernel daemon"), /proc/lock_stat of each window; in
# BENCH_OUT (default build/bench-lockstat). make bench's summary includes
# its report when build/bench-lockstat/report.txt exists.
#
# Environment: BENCH_WORKLOADS (default "short scale site"), BENCH_RUNS,
# BENCH_SECONDS (per phase of short and scale, default 15),
# BENCH_SITE_SECONDS (default 30), BENCH_SITE_RUNS, BENCH_SHORT_SERVICE_US,
# BENCH_SHORT_DIST, BENCH_SHORT_RHOS, BENCH_SCALE_RHO, BENCH_SHORT_CONFIGS
# (default "daemon noaudit kernel tty baseline"), BENCH_CONFIGS and
# BENCH_RHOS (site), SEED,
# BENCH_OUT (default build/bench), BENCH_SCALING=0 to skip the site's
# scaling runs, BENCH_CARDS to boot only some card counts (default "2 4
# 8 14", with --lockstat "1 4 8 14"). --plan prints the phases and the
# estimate and runs nothing. BENCH_QUICK=1 tries the scripts: 5 s phases, one round,
# short and scale only (what is set explicitly wins).
# Duration with the defaults (the run prints its estimate first): about
# 22 min per kernel for short and scale and 40 for the site, 125 min for
# both kernels; BENCH_QUICK=1 about 8 min per kernel; --lockstat 13 min
# once its kernel is built.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)

# Ports of a layout: stations on the first ports, servers after them.
# Card C is 0000:00:(10+C).0 in the guest, cCpP on the host.
host_ports() {	# FIRST COUNT -> c0p0,c0p1,...
	local i out=
	for ((i = $1; i < $1 + $2; i++)); do
		out+=${out:+,}c$((i / 4))p$((i % 4))
	done
	echo "$out"
}

# The emulator's CPU time (host ticks, all its threads) and the time:
# everything the guest did, hard interrupts included, which the guest's
# tick-based /proc/stat does not see when they land on an idle CPU.
qemu_snap() {
	local up
	read -r up _ </proc/uptime
	if [ -n "${PERSOHUB_QEMU_PID:-}" ] && [ -r "/proc/$PERSOHUB_QEMU_PID/stat" ]; then
		sed 's/^.*) //' "/proc/$PERSOHUB_QEMU_PID/stat" |
			awk -v up="$up" -v hz="$(getconf CLK_TCK)" \
			'{ print "uptime " up " ticks " $12 + $13 " clk_tck " hz }'
	fi
}

if [ "${1:-}" = --drive ]; then
	# Host side, beside the guest: one sitesim run per phase, and the
	# emulator's CPU over the same window as the guest's (a settling
	# second after the start and before the end).
	share=$PERSOHUB_SHARE
	while [ ! -e "$share/ready" ]; do sleep 0.2; done
	while read -r tag nst nsrv secs service dist size think seed <&3; do
		: >"$share/start.$tag"
		while [ ! -e "$share/started.$tag" ]; do sleep 0.1; done
		rc=0
		"$top/build/sitesim" --stations "$(host_ports 0 "$nst")" \
			--servers "$(host_ports "$nst" "$nsrv")" \
			--duration "$secs" --think-us "$think" --size "$size" \
			--service-us "$service" --service-dist "$dist" \
			--seed "$seed" --timeout-ms 60000 \
			--max-seconds $((secs + 90)) \
			--trace "$share/trace.$tag" --kv "$share/sim.$tag.kv" \
			>"$share/sim.$tag.out" 2>&1 &
		sim=$!
		sleep 1
		qemu_snap >"$share/qemu0.$tag"
		sleep $((secs > 2 ? secs - 2 : 1))
		qemu_snap >"$share/qemu1.$tag"
		wait "$sim" || rc=$?
		echo "$think" >"$share/think.$tag"
		echo "$rc" >"$share/rc.$tag"
		: >"$share/stop.$tag"
		while [ ! -e "$share/stopped.$tag" ]; do sleep 0.1; done
	done 3<"$share/phases"
	: >"$share/quit"
	exit 0
fi

lockstat=0 plan_only=0
while [ $# -gt 0 ]; do
	case $1 in
	--lockstat) lockstat=1 ;;
	--plan) plan_only=1 ;;
	*) echo "usage: bench.sh [--lockstat] [--plan]" >&2; exit 2 ;;
	esac
	shift
done
quick=${BENCH_QUICK:-0}
if [ "$quick" = 1 ]; then
	q_secs=5 q_runs=1 q_work="short scale"
else
	q_secs=15 q_runs=3 q_work="short scale site"
fi
workloads=${BENCH_WORKLOADS:-$q_work}
runs=${BENCH_RUNS:-$q_runs}
secs=${BENCH_SECONDS:-$q_secs}
site_secs=${BENCH_SITE_SECONDS:-$([ "$quick" = 1 ] && echo 5 || echo 30)}
site_runs=${BENCH_SITE_RUNS:-3}
short_service=${BENCH_SHORT_SERVICE_US:-1500}
short_dist=${BENCH_SHORT_DIST:-uniform}
short_rhos=${BENCH_SHORT_RHOS:-"0.8 sat"}
scale_rho=${BENCH_SCALE_RHO:-0.03}
short_configs=${BENCH_SHORT_CONFIGS:-"daemon noaudit kernel tty baseline"}
site_service=${BENCH_SERVICE_US:-200000}
site_configs=${BENCH_CONFIGS:-"daemon kernel tty baseline static"}
site_rhos=${BENCH_RHOS:-"0.5 0.8 0.95 sat"}
lockstat_configs=${BENCH_LOCKSTAT_CONFIGS:-"kernel daemon"}
SEED=${SEED:-$(od -An -N4 -tu4 /dev/urandom | tr -d ' ')}
SEED=$((SEED % 4000000000))
if [ "$lockstat" = 1 ]; then
	top_out=${BENCH_OUT:-$top/build/bench-lockstat}
else
	top_out=${BENCH_OUT:-$top/build/bench}
fi
kvers=${BENCH_KVERS:-"6.1 6.12-rt"}
if [ "$secs" -lt 3 ] || [ "$site_secs" -lt 3 ]; then
	echo "bench: phases of at least 3 s" >&2
	exit 2
fi
[ "$runs" -ge 1 ] || { echo "bench: BENCH_RUNS >= 1" >&2; exit 2; }
# The phases of each boot, by card count: "WORKLOAD NST NSRV SECS SERVICE
# DIST SIZE RUNS CONFIGS RHOS" groups (CONFIGS and RHOS comma-separated).
declare -A groups
add_group() {	# CARDS WORKLOAD NST NSRV SECS SERVICE DIST SIZE RUNS CONFIGS RHOS
	local cards=$1
	shift
	[ -n "$9" ] && [ -n "${10}" ] || return 0
	groups[$cards]+="$*"$'\n'
}
has() {	# WORD LIST...
	local w=$1
	shift
	[[ " $* " == *" $w "* ]]
}
only() {	# "WANTED" "AVAILABLE" -> the available ones wanted, comma-separated
	local c out=
	for c in $1; do
		# shellcheck disable=SC2086 # a word list
		has "$c" $2 && out+=${out:+,}$c
	done
	echo "$out"
}
commas() { echo "$*" | tr ' ' ','; }

# Think time for rho: Z = N * S / (c * rho) - S; 0 at saturation.
think_us() {	# NST NSRV SERVICE RHO
	[ "$4" = sat ] && { echo 0; return; }
	awk -v n="$1" -v c="$2" -v s="$3" -v r="$4" \
		'BEGIN { z = n * s / (c * r) - s; printf "%d", z < 0 ? 0 : z }'
}

# The phase lines of one boot: round after round, each group's loads in
# turn, the configurations rotating.
phase_lines() {	# CARDS
	local r k m g w nst nsrv s svc dist size gr cfgs rhos rho ports n
	local -a cl rl
	for ((r = 1; ; r++)); do
		n=0
		while read -r w nst nsrv s svc dist size gr cfgs rhos; do
			[ -n "$w" ] || continue
			[ "$r" -le "$gr" ] || continue
			n=1
			IFS=, read -r -a cl <<<"$cfgs"
			IFS=, read -r -a rl <<<"$rhos"
			ports=$(((nst + nsrv + 3) / 4 * 4))
			for ((k = 0; k < ${#rl[@]}; k++)); do
				rho=${rl[k]}
				for ((m = 0; m < ${#cl[@]}; m++)); do
					g=${cl[(m + k + r) % ${#cl[@]}]}
					echo "${w}_${g}_${rho}_${ports}_r$r $nst $nsrv $s $svc $dist $size $(think_us "$nst" "$nsrv" "$svc" "$rho") $((SEED + r))"
				done
			done
		done <<<"${groups[$1]:-}"
		[ "$n" = 1 ] || break
	done
}

# One boot of CARDS cards with its phases.
run_boot() {	# CARDS
	local cards=$1 dir share n t
	dir=$out/boot-$cards
	share=$dir/share
	mkdir -p "$share"
	phase_lines "$cards" >"$share/phases"
	n=$(wc -l <"$share/phases")
	[ "$n" -gt 0 ] || return 0
	t=$(awk '{ t += $4 + 60 } END { print t + 180 }' "$share/phases")
	echo "bench: $cards cards, $n phases ($(date -u +%H:%M) UTC)" >&2
	"$top/scripts/vm-run" "${vm_args[@]}" --cards "$cards" --share "$share" \
		--quiet --log "$dir/console.log" --timeout "$t" \
		--host "$0 --drive" -- \
		"sh /usr/share/persohub/selftests/bench_guest.sh" \
		>"$dir/vm.out" 2>&1 || {
		echo "bench: the $cards-card run failed (see $dir)" >&2
		tail -20 "$dir/vm.out" >&2
		return 1
	}
}

# Seconds the boots of this plan take, roughly: each phase its length
# plus setup and teardown, each boot a minute.
estimate() {
	local c
	for c in $cards_list; do
		phase_lines "$c"
		echo "boot"
	done | awk '$1 == "boot" { t += 60; next } { t += $4 + 8 } END { print t }'
}

# shellcheck disable=SC2086 # word lists
plan_bench() {
	groups=()
	local persohub_short
	persohub_short=$(only "daemon kernel static" "$short_configs")
	if has short $workloads; then
		add_group 8 short 21 7 "$secs" "$short_service" "$short_dist" 40 \
			"$runs" "$(commas $short_configs)" "$(commas $short_rhos)"
		add_group 14 short 42 14 "$secs" "$short_service" "$short_dist" 40 \
			"$runs" "$persohub_short" "$(commas $short_rhos)"
	fi
	if has scale $workloads; then
		add_group 2 scale 6 2 "$secs" "$short_service" "$short_dist" 40 \
			"$runs" "$(only "daemon kernel baseline" "$short_configs")" \
			"$scale_rho"
		add_group 4 scale 12 4 "$secs" "$short_service" "$short_dist" 40 \
			"$runs" "$(only "daemon kernel baseline" "$short_configs")" \
			"$scale_rho"
		add_group 8 scale 24 8 "$secs" "$short_service" "$short_dist" 40 \
			"$runs" "$(only "daemon kernel" "$short_configs")" \
			"$scale_rho"
		if ! has short $workloads || ! has "$scale_rho" $short_rhos; then
			add_group 14 scale 42 14 "$secs" "$short_service" \
				"$short_dist" 40 "$runs" \
				"$(only "daemon kernel" "$short_configs")" "$scale_rho"
		fi
	fi
	if has site $workloads; then
		add_group 8 site 24 6 "$site_secs" "$site_service" exp 64 \
			"$site_runs" "$(commas $site_configs)" "$(commas $site_rhos)"
		if [ "${BENCH_SCALING:-1}" = 1 ]; then
			add_group 2 site 6 2 "$site_secs" "$site_service" exp 64 \
				"$site_runs" "$(only "daemon baseline" "$site_configs")" 0.8
			add_group 4 site 12 4 "$site_secs" "$site_service" exp 64 \
				"$site_runs" "$(only "daemon baseline" "$site_configs")" 0.8
		fi
	fi
}

# shellcheck disable=SC2086 # word lists
plan_lockstat() {
	groups=()
	local c
	for c in 1 4 8 14; do
		add_group "$c" lockstat $((3 * c)) "$c" "$secs" "$short_service" \
			"$short_dist" 40 "$runs" "$(commas $lockstat_configs)" sat
	done
}

what="workloads: $workloads"
[ "$lockstat" = 0 ] || what=lockstat
echo "bench: SEED=$SEED, $runs round(s), ${secs} s phases; $what" >&2

if [ "$lockstat" = 1 ]; then
	cards_list=${BENCH_CARDS:-1 4 8 14}
	plan_lockstat
else
	cards_list=${BENCH_CARDS:-2 4 8 14}
	plan_bench
fi
if [ "$plan_only" = 1 ]; then
	# The phases each boot would run ("TAG STATIONS SERVERS SECONDS
	# SERVICE DIST SIZE THINK SEED") and the estimate; nothing runs.
	for c in $cards_list; do
		echo "boot $c cards:"
		phase_lines "$c" | sed 's/^/  /'
	done
	echo "about $(($(estimate) / 60)) min per kernel"
	exit 0
fi
rm -rf "$top_out"
mkdir -p "$top_out"

if [ "$lockstat" = 1 ]; then
	echo "bench-lockstat: about $(($(estimate) / 60)) min, plus the kernel's build the first time" >&2
	read -r kernel kver tree < <("$top/scripts/debug-kernel.sh" --lockstat 6.1) || {
		echo "bench-lockstat: no lock-statistics kernel" >&2
		exit 1
	}
	mod=$top/build/lockstat-mod
	rm -rf "$mod"
	mkdir -p "$mod"
	(cd "$top" && cp -p --parents Kbuild kmod/*.c kmod/*.h \
		uapi/linux/persohub.h "$mod/")
	make -s -C "$tree" M="$mod" modules >"$top_out/build.log" 2>&1 || {
		echo "bench-lockstat: the module does not build (see $top_out/build.log)" >&2
		exit 1
	}
	export PERSOHUB_KO=$mod/persohub.ko
	# As scripts/check-debug.sh boots the debug kernel; no_hash_pointers
	# so that /proc/lockdep gives the lock classes' keys, which tell the
	# module's locks from others of the same name.
	vm_args=(--kernel "$kernel" --kver "$kver" --no-pvh --mem 1024
		--append acpi=noirq --append no_hash_pointers)
	out=$top_out
	t0=$(date +%s)
	for c in $cards_list; do
		run_boot "$c" || true
	done
	echo "bench-lockstat: took $(($(date +%s) - t0)) s" >&2
	"$top/scripts/bench-report.sh" "$out" | tee "$out/report.txt"
	exit 0
fi

# shellcheck disable=SC2086
set -- $kvers
echo "bench: about $(($(estimate) * $# / 60)) min for $# kernel(s)" >&2
for kver in $kvers; do
	out=$top_out/$kver
	mkdir -p "$out"
	echo "bench: kernel $kver ($("$top/scripts/kver" "$kver"))" >&2
	# make bench builds for the default kernel only: each its own module.
	if ! make -s -C "$top" module KVER="$kver" >"$out/build.log" 2>&1; then
		echo "bench: the module does not build for $kver (see $out/build.log)" >&2
		continue
	fi
	vm_args=(--kver "$kver")
	t0=$(date +%s)
	# A failed boot is reported; what it measured still counts.
	for c in $cards_list; do
		run_boot "$c" || true
	done
	echo "bench: runs on $kver took $(($(date +%s) - t0)) s" >&2
	echo "== kernel $kver"
	"$top/scripts/bench-report.sh" "$out" | tee "$out/report.txt"
done

# The kernels side by side, and PREEMPT_RT's target.
if [ $# -ge 2 ] && [ -e "$top_out/$1/bench.json" ] && [ -e "$top_out/$2/bench.json" ]; then
	"$top/scripts/bench-report.sh" --kernels "$top_out/$1" "$top_out/$2" |
		tee "$top_out/kernels.txt"
fi
if [ -e "$top/build/bench-lockstat/report.txt" ]; then
	echo
	echo "== hub lock (make bench-lockstat, $(date -u -r "$top/build/bench-lockstat/report.txt" +%F))"
	sed -n '/^hub lock/,$p' "$top/build/bench-lockstat/report.txt"
fi
