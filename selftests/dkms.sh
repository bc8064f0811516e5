#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# dkms add/build of this tree against the guest kernel's headers, in a
# scratch DKMS tree so the machine's own is never touched. TAP output.
set -u
top=$(cd "$(dirname "$0")/.." && pwd)
kver=${KVER:-$("$top/scripts/kver")}
ver=$(sed -n 's/^PACKAGE_VERSION="\(.*\)"/\1/p' "$top/dkms.conf")

echo "TAP version 13"
echo "1..3"
if [ "$(id -u)" -ne 0 ]; then
	for i in 1 2 3; do echo "ok $i dkms # SKIP needs root"; done
	exit 0
fi
# A missing tool fails: make deps installs dkms.
if ! command -v dkms >/dev/null; then
	for i in 1 2 3; do echo "not ok $i dkms is not installed (make deps)"; done
	exit 1
fi

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
src=$tmp/src/persohub-$ver
mkdir -p "$src" "$tmp/dkms" "$tmp/install"
# The source as a site receives it: the tracked files, nothing built.
(cd "$top" && git ls-files -z --cached --others --exclude-standard 2>/dev/null | xargs -0 cp --parents -t "$src") ||
	cp -r "$top/Kbuild" "$top/dkms.conf" "$top/kmod" "$top/uapi" "$src"
opts=(--sourcetree "$tmp/src" --dkmstree "$tmp/dkms" --installtree "$tmp/install")

n=1
check() {
	local name=$1; shift
	if "$@" >"$tmp/log" 2>&1; then
		echo "ok $n $name"
	else
		echo "not ok $n $name"
		sed 's/^/# /' "$tmp/log"
	fi
	n=$((n + 1))
}

check "dkms add" dkms add -m persohub -v "$ver" "${opts[@]}"
check "dkms build for $kver" dkms build -m persohub -v "$ver" -k "$kver" "${opts[@]}"
# compressed as the kernel's own modules are (6.12: xz)
ko=$(ls "$tmp/dkms/persohub/$ver/$kver/x86_64/module/"persohub.ko* 2>/dev/null | head -n1)
check "built module is for $kver" \
	sh -c "modinfo -F vermagic '${ko:-persohub.ko}' | grep -q '^$kver '"
