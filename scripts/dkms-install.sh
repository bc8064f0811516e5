#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Install the module through DKMS: the tracked source tree goes to
# /usr/src/persohub-<version>, then dkms add, build and install for the
# running kernel (or KVER). "--remove" undoes it all.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
ver=$(sed -n 's/^PACKAGE_VERSION="\(.*\)"/\1/p' "$top/dkms.conf")
kver=${KVER:-$(uname -r)}
src=/usr/src/persohub-$ver

if [ "${1:-}" = --remove ]; then
	dkms remove -m persohub -v "$ver" --all 2>/dev/null || true
	rm -rf "$src"
	exit 0
fi

rm -rf "$src"
mkdir -p "$src"
for f in Kbuild dkms.conf Makefile kmod uapi; do
	cp -r "$top/$f" "$src/"
done
rm -f "$src"/kmod/*.o "$src"/kmod/.*.cmd
dkms add -m persohub -v "$ver" 2>/dev/null || true
dkms build -m persohub -v "$ver" -k "$kver"
dkms install -m persohub -v "$ver" -k "$kver" --force
