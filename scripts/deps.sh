#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Install what persohub needs to build and test on Debian 12, and nothing
# that is already there. The package lists are refreshed once, and only
# when something has to be installed.
set -euo pipefail

pkgs=(
	build-essential pkg-config kmod xz-utils cpio
	# the guest kernels: Debian 12's 6.1, 6.12, and both PREEMPT_RT builds
	linux-headers-amd64 linux-image-amd64 linux-source-6.1
	linux-headers-6.12-amd64 linux-image-6.12-amd64 linux-source-6.12
	linux-headers-rt-amd64 linux-image-rt-amd64
	linux-headers-6.12-rt-amd64 linux-image-6.12-rt-amd64
	qemu-system-x86 seabios busybox-static
	libmnl-dev libnl-3-dev libnl-genl-3-dev libinih-dev libsystemd-dev
	libgnutls28-dev
	# the LAN tests (vm-pair) and persohubd's cascade: NATS and a capture
	nats-server libnats-dev tcpdump
	dkms sparse clang libclang-rt-14-dev gnuplot-nox jq
	# make check-debug builds a kernel; make check-install a Debian image
	flex bison bc libelf-dev libssl-dev
	debootstrap qemu-utils e2fsprogs
)

missing=()
for p in "${pkgs[@]}"; do
	st=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)
	[ "$st" = "install ok installed" ] || missing+=("$p")
done

if [ ${#missing[@]} -eq 0 ]; then
	echo "deps: all ${#pkgs[@]} packages present"
	exit 0
fi

if [ "$(id -u)" -ne 0 ]; then
	echo "deps: missing ${missing[*]}; run 'make deps' as root" >&2
	exit 1
fi

echo "deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -q
apt-get install -y -q --no-install-recommends "${missing[@]}"
