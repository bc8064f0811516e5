#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Run each libFuzzer target for SECONDS (default 60) from its corpus in
# selftests/fuzz-corpus/<name>/ (read only: new finds go to a scratch
# corpus under build/). Inputs that crashed are kept as regression tests:
# copy them into the corpus. TAP output, one test per target.
#
# All targets together take at most PH_FUZZ_BUDGET seconds (default 70,
# so that make check stays short): past it, each gets an equal share.
# PH_FUZZ_BUDGET=0 (make fuzz) runs every target for SECONDS.
set -u
top=$(cd "$(dirname "$0")/.." && pwd)
secs=${1:-60}
budget=${PH_FUZZ_BUDGET:-70}
targets=(frame config framing-hdlc framing-stx-etx framing-stx-len
	framing-len16 framing-gap)
if [ "$budget" -gt 0 ] && [ $((secs * ${#targets[@]})) -gt "$budget" ]; then
	secs=$((budget / ${#targets[@]}))
	[ "$secs" -gt 0 ] || secs=1
fi
n=0 rc=0
echo "TAP version 13"
echo "1..${#targets[@]}"
for t in "${targets[@]}"; do
	n=$((n + 1))
	bin=$top/build/fuzz/fuzz_$t
	work=$top/build/fuzz/corpus-$t
	mkdir -p "$work"
	out=$top/build/fuzz/$t.log
	if "$bin" -max_total_time="$secs" -print_final_stats=1 \
		-artifact_prefix="$top/build/fuzz/crash-$t-" \
		"$work" "$top/selftests/fuzz-corpus/$t" >"$out" 2>&1; then
		echo "ok $n fuzz $t for ${secs}s: $(grep -o 'stat::number_of_executed_units: [0-9]*' "$out" | grep -o '[0-9]*$') runs"
	else
		echo "not ok $n fuzz $t (see $out)"
		tail -20 "$out" | sed 's/^/# /'
		rc=1
	fi
done
exit $rc
