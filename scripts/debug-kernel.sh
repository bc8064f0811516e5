#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Usage: debug-kernel.sh [--lockstat] [6.1|6.12]
#
# Build (once) a debug kernel from Debian's linux-source-VERSION (6.1 by
# default; 6.12 is Debian 12's backported kernel) with KASAN, lockdep,
# DEBUG_ATOMIC_SLEEP, kmemleak, UBSAN and DEBUG_OBJECTS, for the test
# machine. Each is cached outside the checkout, keyed by the version, the
# source tarball and scripts/debug-kernel.config: a second call prints its
# place at once. Its modules go to /lib/modules/<release> so scripts/vm-run
# can use it with --kernel and --kver. Prints "KERNEL KVER BUILD_DIR" on
# stdout. LINUX_SRC_TAR names another tarball (its top directory must be
# named like the file: linux-source-X.tar.xz holds linux-source-X/).
#
# --lockstat builds the lock-statistics variant instead (make
# bench-lockstat): scripts/debug-kernel.config with
# scripts/lockstat-kernel.config over it, which turns CONFIG_LOCK_STAT on
# and KASAN, lockdep's proving, kmemleak, UBSAN and the object debugging
# off, so that the times in /proc/lock_stat are less distorted. It has its
# own cache directory (linux-lockstat-VERSION-KEY) and release name; the
# debug kernel's key does not change.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
variant=debug
if [ "${1:-}" = --lockstat ]; then
	variant=lockstat
	shift
fi
ver=${1:-6.1}
case $ver in
6.1 | 6.12) ;;
*) echo "debug-kernel.sh: unknown version '$ver' (6.1 or 6.12)" >&2; exit 2 ;;
esac
tarball=${LINUX_SRC_TAR:-/usr/src/linux-source-$ver.tar.xz}
if [ ! -r "$tarball" ]; then
	echo "debug-kernel.sh: no $tarball (apt-get install linux-source-$ver)" >&2
	exit 1
fi
name=$(basename "$tarball" .tar.xz)
cache=${PERSOHUB_DEBUG_CACHE:-/var/cache/persohub}
# The fragment to merge: the debug kernel's, or for the variant the debug
# kernel's without the options the variant's fragment names (as
# CONFIG_X=... or "# CONFIG_X is not set"), then the variant's.
fragment() {
	if [ "$variant" = debug ]; then
		cat "$top/scripts/debug-kernel.config"
		return
	fi
	local over=$top/scripts/$variant-kernel.config
	grep -v -F -w -f <(grep -oE '^(# )?CONFIG_[A-Z0-9_]+' "$over" | sed 's/^# //') \
		"$top/scripts/debug-kernel.config"
	cat "$over"
}
if [ "$variant" = debug ]; then
	key=$( (echo "$ver $tarball"; stat -c '%s %Y' "$tarball"
		cat "$top/scripts/debug-kernel.config") | sha256sum | cut -c1-12)
else
	key=$( (echo "$variant $ver $tarball"; stat -c '%s %Y' "$tarball"
		fragment) | sha256sum | cut -c1-12)
fi
dir=$cache/linux-$variant-$ver-$key
src=$dir/$name

mkdir -p "$dir"
# The machine is shared: a second run wanting the same kernel waits for the
# first one's build instead of building into the same tree.
exec 9>"$dir/lock"
flock 9
if [ ! -e "$dir/done" ]; then
	if [ ! -d "$src" ]; then
		echo "$variant kernel $ver: extracting the source into $dir" >&2
		# Whole or not at all: an interrupted extraction starts over.
		rm -rf "$dir/extract"
		mkdir "$dir/extract"
		tar -xJf "$tarball" -C "$dir/extract"
		mv "$dir/extract/$name" "$src"
		rmdir "$dir/extract"
	fi
	(
		cd "$src"
		make -s x86_64_defconfig >&2
		fragment >"$dir/fragment.config"
		scripts/kconfig/merge_config.sh -m .config \
			"$dir/fragment.config" >&2
		make -s olddefconfig >&2
		# Every option of the fragment must have survived olddefconfig:
		# an option renamed or with an unmet dependency in this kernel
		# would otherwise silently drop a checker.
		bad=0
		while IFS='=' read -r opt val; do
			val=${val//\"/}
			got=$(sed -n "s/^$opt=//p" .config | tr -d '"')
			if [ "$val" = n ]; then
				[ -z "$got" ] && continue
			elif [ "$got" = "$val" ]; then
				continue
			fi
			echo "$variant kernel $ver: $opt=$val wanted, .config has '${got:-not set}'" >&2
			bad=1
		done < <(grep -E '^CONFIG_[A-Z0-9_]+=' "$dir/fragment.config")
		[ "$bad" = 0 ] || exit 1
		echo "$variant kernel $ver: building (this takes a while)" >&2
		make -s -j"$(nproc)" bzImage modules >&2
		rm -rf "$dir/root"
		make -s modules_install INSTALL_MOD_PATH="$dir/root" >&2
	)
	kver=$(cat "$src/include/config/kernel.release")
	rm -rf "/lib/modules/$kver"
	cp -a "$dir/root/lib/modules/$kver" "/lib/modules/$kver"
	touch "$dir/done"
fi
kver=$(cat "$src/include/config/kernel.release")
[ -d "/lib/modules/$kver" ] || cp -a "$dir/root/lib/modules/$kver" "/lib/modules/$kver"
[ -e "$src/arch/x86/boot/bzImage" ] || make -s -C "$src" -j"$(nproc)" bzImage >&2
echo "$src/arch/x86/boot/bzImage $kver $src"
