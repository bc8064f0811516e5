#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Host agent for the tests inside the test machine: runs the site simulator
# whenever the guest asks for it through the shared directory (see
# selftests/phtest.h). A request is a file req.TAG holding the simulator's
# arguments; the answer is res.TAG.kv (report), res.TAG.rc (exit status),
# res.TAG.log (output) and last done.TAG. Started by scripts/vm-run --host;
# ends when the guest creates $PERSOHUB_SHARE/quit (or the runner kills it).
# The simulator runs in the shared directory: a relative path the guest
# passes (e.g. --go-file go.1) is /host/go.1 for the guest.
set -u
here=$(cd "$(dirname "$0")/.." && pwd)
sim=${SITESIM:-$here/build/sitesim}
share=${PERSOHUB_SHARE:?no shared directory}
sockdir=${PERSOHUB_SOCKDIR:?no socket directory}

run() {
	local tag=$1 args
	args=$(cat "$share/taken.$tag")
	# shellcheck disable=SC2086 # the guest passes a word list
	(cd "$share" && exec "$sim" --sockdir "$sockdir" \
		--kv "$share/res.$tag.kv" $args) >"$share/res.$tag.log" 2>&1
	echo $? >"$share/res.$tag.rc"
	touch "$share/done.$tag"
}

while :; do
	found=
	for req in "$share"/req.*; do
		[ -e "$req" ] || continue
		found=1
		tag=${req#"$share"/req.}
		# Taken here, before the run starts, so it runs exactly once.
		mv "$req" "$share/taken.$tag" || continue
		# Runs may overlap (a test starts one and waits on the guest).
		run "$tag" &
	done
	[ -n "$found" ] && continue
	if [ -e "$share/quit" ]; then
		# Nothing is waited for any more: stop what still runs.
		jobs -p | xargs -r kill 2>/dev/null
		exit 0
	fi
	sleep 0.05
done
