#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Build (once) a debug kernel from Debian's linux-source-6.1 with KASAN,
# lockdep, DEBUG_ATOMIC_SLEEP, kmemleak, UBSAN and DEBUG_OBJECTS, for the
# test machine. It is cached outside the checkout, keyed by the source
# tarball and scripts/debug-kernel.config: a second call prints its place
# at once. Its modules go to /lib/modules/<version> so scripts/vm-run can
# use it with --kernel and --kver. Prints "KERNEL KVER BUILD_DIR" on stdout.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
tarball=${LINUX_SRC_TAR:-/usr/src/linux-source-6.1.tar.xz}
cache=${PERSOHUB_DEBUG_CACHE:-/var/cache/persohub}
key=$( (stat -c '%s %Y' "$tarball"; cat "$top/scripts/debug-kernel.config") |
	sha256sum | cut -c1-12)
dir=$cache/linux-debug-$key
src=$dir/linux-source-6.1

if [ ! -e "$dir/done" ]; then
	mkdir -p "$dir"
	echo "debug kernel: extracting the source into $dir" >&2
	if [ ! -d "$src" ]; then
		# Whole or not at all: an interrupted extraction starts over.
		rm -rf "$dir/extract"
		mkdir "$dir/extract"
		tar -xJf "$tarball" -C "$dir/extract"
		mv "$dir/extract/linux-source-6.1" "$src"
		rmdir "$dir/extract"
	fi
	(
		cd "$src"
		make -s x86_64_defconfig >&2
		scripts/kconfig/merge_config.sh -m .config \
			"$top/scripts/debug-kernel.config" >&2
		make -s olddefconfig >&2
		echo "debug kernel: building (this takes a while)" >&2
		make -s -j"$(nproc)" bzImage modules >&2
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
