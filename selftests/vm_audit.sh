#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# persohubd's audit trail and metrics file inside the test machine. The
# machine has no journald: selftests/vm_journal.c binds the journal's
# socket and writes each record it receives as KEY=VALUE lines. Records
# are counted against the stations' requests counters in sysfs after a
# simulated load, with events lost on purpose too (gaps); no payload byte
# may appear in them; "audit = no" writes none. The metrics file is read
# by a strict checker of the Prometheus text format (awk, below) and its
# values compared with sysfs. The CPU time persohubd spends per request
# with and without the audit is printed. Needs 2 cards, --share, --telnet
# and the host agent selftests/simd.sh. TAP output.

sysfs=/sys/class/persohub
c0=0000:00:10.0
c1=0000:00:11.0
conf=/tmp/persohub.conf
log=/tmp/persohubd.log
stats=/tmp/persohubd.stats
jsock=/run/systemd/journal/socket
jout=/tmp/journal.txt
mdir=/tmp/metrics
prom=$mdir/persohub.prom
pid=

. /usr/share/persohub/selftests/lib.sh
SIM_ARGS=--telnet
stations="m1-st1 m1-st2 m1-st3 m1-st4 m1-st5"

port_dir() {
	d=$(grep -lx "$1" $sysfs/*/name) && echo "${d%/name}"
}

stats_get() {
	sed -n "s/^$1 //p" "$stats"
}

# Wait at most $2 tenths of a second for the shell condition $1.
wait_for() {
	i=0
	while ! eval "$1" && [ $i -lt "$2" ]; do
		sleep 0.1
		i=$((i + 1))
	done
	eval "$1"
}

# CPU time of persohubd so far, ns (schedstat: time on a CPU).
cpu_ns() {
	cut -d' ' -f1 /proc/$pid/schedstat
}

write_conf() {
	cat >"$conf" <<EOF
[daemon]
resync_ms = 200
metrics_dir = $mdir
metrics_interval_ms = 200
$1
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
name = m1-st4
[port $c1-0]
role = station
name = m1-st5
queue_depth = 2
[port $c1-2]
role = server
name = hsm1
timeout_ms = 5000
[port $c1-3]
role = server
name = hsm2
timeout_ms = 5000
EOF
}

reload() {
	write_conf "$1"
	nrel=$(grep -c "configuration reloaded" "$log")
	kill -HUP "$pid"
	wait_for '[ "$(grep -c "configuration reloaded" "$log")" -gt "$nrel" ]' 50
}

# Per station: "NAME RECORDS GAP_REQUESTS", from the records received.
journal_sum() {
	awk -F= '
		/^$/ { if (st != "") { if (req) r[st]++; g[st] += gap }
		       st = ""; req = 0; gap = 0; next }
		$1 == "PERSOHUB_STATION" { st = $2 }
		$1 == "PERSOHUB_REQUEST" { req = 1 }
		$1 == "PERSOHUB_GAP" { gap = $2 }
		END { for (s in r) print s, r[s], g[s] + 0
		      for (s in g) if (!(s in r)) print s, 0, g[s] }' "$jout"
}

records() {
	grep -c '^PERSOHUB_REQUEST=' "$jout"
}

# Records and gaps of every station equal its requests counter: 0, or 1
# with the differences printed.
balanced() {
	journal_sum >/tmp/jsum
	rc=0
	for s in $stations; do
		set -- $(grep "^$s " /tmp/jsum)
		want=$(cat "$(port_dir "$s")/statistics/requests")
		[ "$(( ${2:-0} + ${3:-0} ))" = "$want" ] || {
			[ -z "$quiet" ] && echo "# $s: ${2:-0} records + ${3:-0} in gaps, requests counter $want"
			rc=1
		}
	done
	return $rc
}

# Every request record well formed: each field once, numbers numeric,
# outcome known, a server when it ended ok. Prints the bad ones.
check_records() {
	awk -F= '
		function bad(why) { print "# record " nrec ": " why; nbad++ }
		/^$/ {
			if (f["PERSOHUB_REQUEST"]) {
				nrec++
				split("PERSOHUB_REQUEST PERSOHUB_STATION PERSOHUB_CLASS PERSOHUB_PRIORITY PERSOHUB_LENGTH PERSOHUB_WAIT_US PERSOHUB_SERVICE_US PERSOHUB_RETRIES PERSOHUB_OUTCOME PERSOHUB_SEQ MESSAGE MESSAGE_ID", need, " ")
				for (i in need)
					if (f[need[i]] != 1) bad(need[i] " " f[need[i]] + 0 " times")
				split("PERSOHUB_REQUEST PERSOHUB_CLASS PERSOHUB_PRIORITY PERSOHUB_LENGTH PERSOHUB_WAIT_US PERSOHUB_SERVICE_US PERSOHUB_RETRIES PERSOHUB_SEQ", num, " ")
				for (i in num)
					if (v[num[i]] !~ /^[0-9]+$/) bad(num[i] "=" v[num[i]])
				if (v["PERSOHUB_OUTCOME"] !~ /^(ok|error|timeout|rejected|dropped)$/)
					bad("outcome " v["PERSOHUB_OUTCOME"])
				if (v["PERSOHUB_OUTCOME"] == "ok" && v["PERSOHUB_SERVER"] !~ /^hsm[12]$/)
					bad("server " v["PERSOHUB_SERVER"])
				if (v["PERSOHUB_LENGTH"] == 0 && v["PERSOHUB_OUTCOME"] == "ok")
					bad("length 0")
				if (v["PERSOHUB_CLASS"] != 0 || v["PERSOHUB_PRIORITY"] != 0)
					bad("class or priority not 0")
			}
			delete f; delete v; next
		}
		/^!/ { nrec++; bad("malformed datagram"); next }
		{ k = $1; f[k]++; v[k] = substr($0, length(k) + 2) }
		END { print "# " nrec + 0 " records checked, " nbad + 0 " bad"; exit nbad != 0 || !nrec }' "$jout"
}

# A strict reader of the Prometheus text format (0.0.4, what
# node_exporter's textfile collector parses): HELP and TYPE once per
# family and before its samples, a family's samples together, names and
# labels by the grammar, label values escaped, numbers only, no duplicate
# series, counters named _total and not negative, histograms with
# increasing le, cumulative buckets, a +Inf bucket equal to _count, and a
# _sum. Prints what is wrong; exit 1 if anything is.
prom_check() {
	[ -s "$1" ] && [ "$(tail -c 1 "$1" | od -An -c | tr -d ' ')" = '\n' ] ||
		{ echo "# $1: empty, or no newline at its end"; return 1; }
	awk '
	function bad(why) { print "# line " NR ": " why ": " $0; nbad++ }
	/^# HELP / {
		if ($3 !~ /^[a-zA-Z_:][a-zA-Z0-9_:]*$/ || NF < 4) bad("HELP")
		if ($3 in help) bad("second HELP")
		if ($3 in seen) bad("HELP after samples")
		help[$3] = 1; next
	}
	/^# TYPE / {
		if (NF != 4 || $3 !~ /^[a-zA-Z_:][a-zA-Z0-9_:]*$/ ||
		    $4 !~ /^(counter|gauge|histogram|summary|untyped)$/) bad("TYPE")
		if ($3 in type) bad("second TYPE")
		if ($3 in seen) bad("TYPE after samples")
		type[$3] = $4; cur = $3; next
	}
	/^#/ || /^$/ { bad("stray line"); next }
	{
		if (!match($0, /^[a-zA-Z_:][a-zA-Z0-9_:]*/)) { bad("name"); next }
		name = substr($0, 1, RLENGTH); rest = substr($0, RLENGTH + 1)
		labels = ""; series_labels = ""; le = ""
		if (substr(rest, 1, 1) == "{") {
			rest = substr(rest, 2)
			while (substr(rest, 1, 1) != "}") {
				if (!match(rest, /^[a-zA-Z_][a-zA-Z0-9_]*="([^"\\]|\\[\\"n])*"/)) {
					bad("label"); next
				}
				pair = substr(rest, 1, RLENGTH); rest = substr(rest, RLENGTH + 1)
				lname = substr(pair, 1, index(pair, "=") - 1)
				if (index(labels, "," lname "=")) bad("label twice")
				labels = labels "," pair
				if (lname == "le") le = substr(pair, 5, length(pair) - 5)
				else series_labels = series_labels "," pair
				if (substr(rest, 1, 1) == ",") rest = substr(rest, 2)
				else if (substr(rest, 1, 1) != "}") { bad("label list"); next }
			}
			rest = substr(rest, 2)
		}
		if (rest !~ /^ (-?[0-9]+(\.[0-9]+)?([eE][-+]?[0-9]+)?|[+-]Inf|NaN)$/) {
			bad("value"); next
		}
		value = substr(rest, 2)
		fam = name
		if (!(fam in type)) sub(/_(bucket|sum|count)$/, "", fam)
		if (!(fam in type)) { bad("no TYPE"); next }
		if (!(fam in help)) bad("no HELP")
		if (fam != cur) bad("family split")
		seen[fam] = 1
		if ((name labels) in series) bad("duplicate series")
		series[name labels] = 1
		if (type[fam] == "counter") {
			if (fam !~ /_total$/) bad("counter not named _total")
			if (value !~ /^[0-9]/) bad("counter not a positive number")
		}
		if (type[fam] != "histogram") {
			if (name != fam) bad("not its family")
			next
		}
		# a histogram family holds a series per label set (le aside)
		ser = fam series_labels
		if (name == fam "_bucket") {
			if (le == "") { bad("bucket without le"); next }
			if (ser in inf) bad("bucket after +Inf")
			if (nb[ser] && le != "+Inf" && le + 0 <= lastle[ser]) bad("le not increasing")
			if (nb[ser] && value + 0 < lastv[ser]) bad("buckets not cumulative")
			nb[ser]++; lastle[ser] = le + 0; lastv[ser] = value + 0
			if (le == "+Inf") { inf[ser] = value; infam[fam] = 1 }
		} else if (name == fam "_count") {
			if (!(ser in inf) || value != inf[ser]) bad("_count is not the +Inf bucket")
			cnt[fam] = 1
		} else if (name == fam "_sum") {
			sum[fam] = 1
		} else {
			bad("not a histogram sample")
		}
	}
	END {
		for (f in type) {
			nf++
			if (!(f in seen)) { print "# no samples: " f }
			if (type[f] == "histogram" && (!(f in infam) || !(f in cnt) || !(f in sum))) {
				print "# histogram incomplete: " f; nbad++
			}
		}
		print "# " NR " lines, " nf + 0 " families, " nbad + 0 " errors"
		exit nbad != 0
	}' "$1"
}

# The metrics file written again from now on.
fresh_metrics() {
	rm -f "$prom"
	wait_for '[ -s "$prom" ]' 50
}

# One metric sample's value, by its name and labels as written.
prom_get() {
	awk -v n="$1" '$1 == n { print $2; exit }' "${2:-$prom}"
}

echo "TAP version 13"
echo "1..19"

echo 512 >/proc/sys/net/unix/max_dgram_qlen	# as systemd sets it
mkdir -p "$(dirname $jsock)" "$mdir"
vm_journal "$jsock" "$jout" &
jpid=$!
wait_for '[ -S "$jsock" ]' 50
write_conf
: >"$log"
persohubd -c "$conf" -s "$stats" >>"$log" 2>&1 &
pid=$!
wait_for 'grep -q "attached as controller" "$log"' 100
ok $? "persohubd starts with the audit on, the journal socket bound"
ls /lib/*/libsystemd.so.0 /usr/lib/*/libsystemd.so.0 2>/dev/null | grep -q . &&
	grep -q "sd_journal_sendv" "$(command -v persohubd)"
ok $? "libsystemd is in the test machine, persohubd calls sd_journal_sendv"

# 3-6: a load; every request has its record, with every field, and no
# payload byte ("PHTQ"/"PHTS" start every request and answer of --text).
cpu0=$(cpu_ns)
t=$(sim_start --text --stations c0p0-c1p0 --servers c1p2,c1p3 \
	--requests 200 --service-us 500 --timeout-ms 20000)
sim_wait "$t" 300
rc=$?
c_on=$(($(cpu_ns) - cpu0))
[ $rc -eq 0 ] && [ "$(sim_get "$t" total.ok)" = 1000 ]
ok $? "1000 requests served with the audit on (sim exit $rc)"
quiet=1
wait_for balanced 100
quiet=
balanced
ok $? "records + gaps = each station's requests counter ($(records) records)"
[ "$(records)" = 1000 ] && [ "$(grep -c '^PERSOHUB_GAP=' "$jout")" = 0 ] &&
	[ "$(grep -c '^PERSOHUB_OUTCOME=ok$' "$jout")" = 1000 ] &&
	[ "$(grep '^PERSOHUB_REQUEST=' "$jout" | sort -u | wc -l)" = 1000 ]
ok $? "1000 records, each its own request, all ok, no gap"
check_records
ok $? "every record has each PERSOHUB_* field once, well formed"
sed -n '1,/^$/s/^/# /p' "$jout"
[ "$(grep -c 'PHTQ\|PHTS' "$jout")" = 0 ] && grep -q '^PERSOHUB_LENGTH=[1-9]' "$jout"
ok $? "no payload byte in any record"

# 7: a server that never answers: the record says timeout.
st1=$(port_dir m1-st1)
h1=$(port_dir hsm1)
echo 0 >/sys/module/persohub/parameters/max_retries
persohubctl set hsm2 enabled=0 && persohubctl set hsm1 timeout_ms=300
n0=$(records)
t=$(sim_start --text --stations c0p0 --servers c1p2 --requests 1 \
	--server-mode c1p2=silent --expect-errors)
sim_wait "$t" 60
rc=$?
wait_for '[ "$(records)" -gt "$n0" ]' 50
awk -v n="$(cat $st1/statistics/requests)" -F= '
	/^$/ { if (r["PERSOHUB_SEQ"] == n && r["PERSOHUB_STATION"] == "m1-st1") hit = r["PERSOHUB_OUTCOME"] "," r["PERSOHUB_SERVER"] "," r["PERSOHUB_RETRIES"]
	       delete r; next }
	{ r[$1] = substr($0, length($1) + 2) }
	END { print hit; exit hit != "timeout,hsm1,0" }' "$jout" >/tmp/hit
ok $? "a timed out request: outcome,server,retries = $(cat /tmp/hit) (sim $rc)"

# 9: a retry: hsm1 takes the request and stays silent, hsm2 (enabled once
# hsm1 has it) answers; the wait covers the first try.
echo 1 >/sys/module/persohub/parameters/max_retries
echo idle >$h1/state
n0=$(records)
t=$(sim_start --text --stations c0p0 --servers c1p2,c1p3 --requests 1 \
	--server-mode c1p2=silent)
wait_for '[ "$(cat $h1/state)" = busy ]' 100
persohubctl set hsm2 enabled=1
sim_wait "$t" 60
rc=$?
wait_for '[ "$(records)" -gt "$n0" ]' 50
awk -v n="$(cat $st1/statistics/requests)" -F= '
	/^$/ { if (r["PERSOHUB_SEQ"] == n && r["PERSOHUB_STATION"] == "m1-st1") {
		hit = r["PERSOHUB_OUTCOME"] "," r["PERSOHUB_SERVER"] "," r["PERSOHUB_RETRIES"]
		wait = r["PERSOHUB_WAIT_US"] }
	       delete r; next }
	{ r[$1] = substr($0, length($1) + 2) }
	END { print hit ", wait " wait " us"; exit hit != "ok,hsm2,1" || wait < 300000 }' "$jout" >/tmp/hit
ok $? "a retried request: outcome,server,retries = $(cat /tmp/hit) (sim $rc)"
echo idle >$h1/state
persohubctl set hsm1 timeout_ms=5000

# 10-13: the metrics file: valid, equal to sysfs, the audit's figures.
printf '# TYPE x_total counter\nx_total 1\nx_total{a="b} 2\n' >/tmp/bad.prom
! prom_check /tmp/bad.prom >/dev/null
ok $? "the metrics checker refuses a broken file"
fresh_metrics
cp "$prom" /tmp/prom.1
prom_check /tmp/prom.1
ok $? "$prom: valid text format, every line"
bad=0
nports=0
for d in $sysfs/*/; do
	[ -e "$d/role" ] || continue
	nports=$((nports + 1))
	l="port=\"$(cat $d/name)\",role=\"$(cat $d/role)\""
	for s in $d/statistics/*; do
		s=${s##*/}
		v=$(cat $d/statistics/$s)
		if [ "$s" = busy_ns ]; then
			m=persohub_port_busy_seconds_total
			v=$(printf '%d.%09d' $((v / 1000000000)) $((v % 1000000000)))
		else
			m=persohub_port_${s}_total
		fi
		grep -qxF "$m{$l} $v" /tmp/prom.1 ||
			{ echo "# $m{$l}: $(grep -F "$m{$l} " /tmp/prom.1 | sed 's/.* //') in the file, $v in sysfs"; bad=1; }
	done
done
[ "$(grep -c '^persohub_port_requests_total{' /tmp/prom.1)" = $nports ] || bad=1
ok $bad "every counter of the $nports ports equals sysfs"
grep '^persohub_\(hub\|daemon\|class\)_' /tmp/prom.1 | grep -v _bucket | sed 's/^/# /'
nrec=$(records)
# nothing ran since the file was written: class 0's dispatches as now
cdisp=$(persohubctl -j classes 0 | jq '.[0].dispatched')
[ "$(prom_get persohub_daemon_audit_records_total /tmp/prom.1)" = "$nrec" ] &&
	[ "$(prom_get persohub_hub_dispatch_latency_seconds_count /tmp/prom.1)" -ge 1000 ] &&
	[ "$(prom_get persohub_hub_requests_total /tmp/prom.1)" = "$nrec" ] &&
	[ "$(prom_get persohub_daemon_dispatches_total /tmp/prom.1)" -ge 1000 ] &&
	[ "$cdisp" -ge 1000 ] &&
	[ "$(prom_get 'persohub_class_wait_seconds_count{class="0",name="default"}' /tmp/prom.1)" = "$cdisp" ] &&
	[ "$(prom_get 'persohub_class_wait_seconds_bucket{class="0",name="default",le="+Inf"}' /tmp/prom.1)" = "$cdisp" ]
ok $? "hub, daemon and class figures: audit records $nrec, requests, dispatches, class 0's wait histogram of its $cdisp dispatches"

# 12-13: events lost on purpose (a tiny event buffer, the daemon stopped
# under load while the kernel matches): the records that follow say how
# many requests they missed, and records + gaps still equal the counters
# once each station has a later record.
reload "event_buffer = 1024"
t=$(sim_start --text --stations c0p0-c1p0 --servers c1p2,c1p3 \
	--requests 60 --service-us 2000 --timeout-ms 30000)
sleep 1
kill -STOP "$pid"
sleep 2
kill -CONT "$pid"
sim_wait "$t" 300
rc1=$?
reload ""
t=$(sim_start --text --stations c0p0-c1p0 --servers c1p2,c1p3 --requests 1)
sim_wait "$t" 60
rc2=$?
quiet=1
wait_for balanced 100
quiet=
balanced
ok $? "events lost: records + gaps = each station's requests counter (sim $rc1 $rc2)"
g=$(awk -F= '$1 == "PERSOHUB_GAP" { s += $2 } END { print s + 0 }' "$jout")
[ "$(stats_get lost_events)" -ge 1 ] && [ "$g" -ge 1 ] && check_records >/dev/null
ok $? "$(stats_get lost_events) times events lost, $g requests in gap records"
grep -m1 -B1 -A6 '^MESSAGE=.*: no audit record for' "$jout" | sed 's/^/# /'

# 14-16: audit = no writes no record; the audit's cost: the same load
# with it on, off and on again, the periodic work (resync, metrics) out
# of the way, persohubd's CPU time compared.
measure() {
	reload "resync_ms = 3600000
metrics_interval_ms = 3600000
$1"
	cpu0=$(cpu_ns)
	t=$(sim_start --text --stations c0p0-c1p0 --servers c1p2,c1p3 \
		--requests 200 --service-us 500 --timeout-ms 20000)
	sim_wait "$t" 300
	rc=$?
	cpu=$(($(cpu_ns) - cpu0))
	[ $rc -eq 0 ] && [ "$(sim_get "$t" total.ok)" = 1000 ]
}
gaps() {
	awk -F= '$1 == "PERSOHUB_GAP" { s += $2 } END { print s + 0 }' "$jout"
}
measure "audit = yes"
rc1=$?
on1=$cpu
quiet=1
wait_for balanced 100
quiet=
n0=$(records)
g0=$(gaps)
measure "audit = no"
rc2=$?
off=$cpu
n1=$(records)
measure "audit = yes"
rc3=$?
on2=$cpu
[ $rc1 -eq 0 ] && [ $rc2 -eq 0 ] && [ $rc3 -eq 0 ]
ok $? "3 times 1000 requests served, the audit on, off, on"
quiet=1
wait_for balanced 100
quiet=
echo "# records: $n0 before audit = no, $n1 after it, $(records) after the next load; gaps $g0, then $(gaps)"
[ "$n1" = "$n0" ] && [ "$(records)" = $((n0 + 1000)) ] &&
	[ "$(gaps)" = $((g0 + 1000)) ] && balanced
ok $? "audit = no: no record; the 1000 requests show as gaps after it"
echo "# persohubd CPU time for 1000 requests: audit on $((on1 / 1000)) us and $((on2 / 1000)) us, off $((off / 1000)) us: $(awk -v a=$((on1 + on2)) -v b=$off 'BEGIN { printf "%.1f", (a / 2 - b) / 1e6 }') us per request for the audit"
reload ""
fresh_metrics
acpu=$(prom_get persohub_daemon_audit_cpu_seconds_total)
echo "# persohubd CPU time in writing records: $acpu s for $(records) records: $(awk -v c=$acpu -v n=$(records) 'BEGIN { printf "%.1f", c * 1e6 / n }') us per record"
prom_check "$prom" >/dev/null &&
	[ "$(prom_get persohub_daemon_audit_records_total)" = "$(records)" ] &&
	[ "$(prom_get persohub_daemon_audit_gap_requests_total)" = "$(gaps)" ]
ok $? "metrics valid again, audit records $(records), in gaps $(gaps)"

kill "$pid"
wait "$pid"
rc=$?
kill "$jpid"
wait "$jpid"
jrc=$?
[ $rc -eq 0 ] && [ $jrc -eq 0 ]
ok $? "persohubd exits on SIGTERM; no malformed datagram reached the journal"

[ $failures -eq 0 ]
