#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# debian-image.sh - the Debian 12 disk image of the install test
# (scripts/install-test.sh): a plain bookworm system with systemd and udev,
# the guest kernel, and what the administrator's guide has a site PC install
# to build persohub (compiler, DKMS, the kernel's headers, the libraries).
#
# Built once with debootstrap, then cached outside the tree in
# $PERSOHUB_IMAGE_CACHE/debian12-KEY (default /var/cache/persohub), KEY being
# a hash of this script and the kernel release: changing either builds a new
# image, which replaces the older one of the same kernel only (each kernel
# keeps its own). The directory holds root.raw (ext4, made with mkfs.ext4
# -d: no loop mount), vmlinuz and initrd.img taken from the image's /boot,
# "kver" (the release), "name" (the kernel's name) and "ready". The image is
# never booted read-write: the test boots a copy-on-write overlay of it.
# Prints the directory on stdout as its last line.
#
# The kernel is the release scripts/kver resolves on this machine, the one
# the tree builds for, installed with its Debian metapackages as a site PC
# has them: for 6.1 linux-image-amd64 and linux-headers-amd64, for 6.12
# linux-image-6.12-amd64 and linux-headers-6.12-amd64 (bookworm-security).
#
# Usage: debian-image.sh [--kver NAME] [--print-dir]
#   --kver      the guest kernel: a scripts/kver name (6.1, 6.12, 6.1-rt,
#               6.12-rt; default 6.1) or an installed release
#   --print-dir print the directory the image would have and exit
# Environment: DEBIAN_MIRROR (default http://deb.debian.org/debian),
# DEBIAN_SECURITY (default http://deb.debian.org/debian-security),
# PERSOHUB_IMAGE_CACHE. Needs root and the network to build; a cached image
# needs neither.
set -euo pipefail

SELF=${0##*/}
MIRROR=${DEBIAN_MIRROR:-http://deb.debian.org/debian}
SECURITY=${DEBIAN_SECURITY:-http://deb.debian.org/debian-security}
CACHE=${PERSOHUB_IMAGE_CACHE:-/var/cache/persohub}
IMAGE_SIZE=4G

KNAME=6.1
PRINT=0
while [ $# -gt 0 ]; do
	case $1 in
	--kver) KNAME=${2:?--kver needs a value}; shift 2 ;;
	--print-dir) PRINT=1; shift ;;
	-h|--help) sed -n '4,/^set -euo/{/^set -euo/d;s/^# \{0,1\}//;p}' "$0"; exit 0 ;;
	*) echo "$SELF: unknown argument $1" >&2; exit 2 ;;
	esac
done
# The release, resolved as the tree's builds resolve it; a release given
# as such takes the name that resolves to it, if one does.
KVER=$("$(dirname "$0")/kver" "$KNAME") ||
	{ echo "$SELF: no kernel '$KNAME' on this machine" >&2; exit 2; }
if [ "$KNAME" = "$KVER" ]; then
	KNAME=$("$(dirname "$0")/kver" --list | awk -v r="$KVER" '$2 == r { print $1; exit }')
	KNAME=${KNAME:-$KVER}
fi
case $KNAME in
6.1) META=amd64 ;;
6.12) META=6.12-amd64 ;;
6.1-rt) META=rt-amd64 ;;
6.12-rt) META=6.12-rt-amd64 ;;
*) META= ;;
esac

# The system with the kernel pinned to KVER (and its metapackage), then
# what a site PC installs before "make install": the list of
# Documentation/admin-guide.md (linux-headers-amd64 included), with the
# headers of the kernel it runs.
BASE_PKGS=(systemd systemd-sysv udev kmod iproute2 procps initramfs-tools
	"linux-image-$KVER" ${META:+"linux-image-$META"})
SITE_PKGS=(make gcc libc6-dev pkg-config dkms linux-headers-amd64
	"linux-headers-$KVER" libmnl-dev libnl-3-dev libnl-genl-3-dev
	libinih-dev libsystemd-dev libgnutls28-dev libnats-dev)
[ -z "$META" ] || [ "$META" = amd64 ] || SITE_PKGS+=("linux-headers-$META")
# What a site adds to read persohubd's metrics file (metrics_dir): Debian's
# node_exporter, whose textfile collector reads
# /var/lib/prometheus/node-exporter, and curl to ask it.
SITE_PKGS+=(prometheus-node-exporter curl)

KEY=$( (cat "$0"; echo "$KVER") | sha256sum | cut -c1-16)
DIR=$CACHE/debian12-$KEY
if [ "$PRINT" = 1 ]; then
	echo "$DIR"
	exit 0
fi
if [ -e "$DIR/ready" ]; then
	echo "$SELF: cached image $DIR" >&2
	echo "$DIR"
	exit 0
fi

[ "$(id -u)" = 0 ] || { echo "$SELF: building the image needs root" >&2; exit 1; }
for tool in debootstrap mkfs.ext4; do
	command -v $tool >/dev/null ||
		{ echo "$SELF: no $tool: run 'make deps' as root" >&2; exit 1; }
done

mkdir -p "$CACHE"
exec {LOCK}>"$CACHE/.debian12.lock"
echo "$SELF: waiting for the image lock" >&2
flock "$LOCK"
if [ -e "$DIR/ready" ]; then	# built meanwhile by another run
	echo "$DIR"
	exit 0
fi

T0=$SECONDS
WORK=$(mktemp -d "$CACHE/.build.XXXXXX")
ROOT=$WORK/root
# Whatever is mounted below the root (debootstrap's own mounts too), the
# deepest first.
unmount_all() {
	local m
	awk -v r="$ROOT/" 'index($2 "/", r) == 1 { print $2 }' /proc/self/mounts |
		sort -r | while read -r m; do
			umount "$m" 2>/dev/null || umount -l "$m"
		done
}
cleanup() {
	set +e
	unmount_all
	# never remove through a mount that stayed (the host's /dev)
	if awk -v r="$WORK/" 'index($2 "/", r) == 1 { f = 1 } END { exit !f }' \
		/proc/self/mounts; then
		echo "$SELF: $WORK still has mounts: left as it is" >&2
	else
		rm -rf "$WORK"
	fi
}
trap cleanup EXIT

echo "$SELF: debootstrap bookworm from $MIRROR (a few minutes)" >&2
debootstrap --variant=minbase bookworm "$ROOT" "$MIRROR" >"$WORK/debootstrap.log" 2>&1 || {
	tail -n 30 "$WORK/debootstrap.log" >&2
	echo "$SELF: debootstrap failed (log above)" >&2
	exit 1
}

# Debian 12's kernels (6.1's newest ABI, and 6.12) come from the security
# suite.
cat >"$ROOT/etc/apt/sources.list" <<EOF
deb $MIRROR bookworm main
deb $MIRROR bookworm-updates main
deb $SECURITY bookworm-security main
EOF
# No daemon starts inside the chroot.
printf '#!/bin/sh\nexit 101\n' >"$ROOT/usr/sbin/policy-rc.d"
chmod 0755 "$ROOT/usr/sbin/policy-rc.d"
for m in proc sys dev dev/pts; do
	mkdir -p "$ROOT/$m"
	case $m in
	proc) mount -t proc proc "$ROOT/proc" ;;
	sys) mount -t sysfs sysfs "$ROOT/sys" ;;
	dev) mount --bind /dev "$ROOT/dev" ;;
	dev/pts) mount -t devpts devpts "$ROOT/dev/pts" ;;
	esac
done

echo "$SELF: installing ${BASE_PKGS[*]} ${SITE_PKGS[*]}" >&2
if ! chroot "$ROOT" /usr/bin/env DEBIAN_FRONTEND=noninteractive LC_ALL=C \
	sh -c 'apt-get update -q && apt-get install -y -q --no-install-recommends "$@" &&
		apt-get clean' sh "${BASE_PKGS[@]}" "${SITE_PKGS[@]}" >"$WORK/apt.log" 2>&1; then
	tail -n 30 "$WORK/apt.log" >&2
	echo "$SELF: installing the packages failed (log above)" >&2
	exit 1
fi
# A small initramfs boots faster under TCG: the root needs only these.
echo MODULES=list >"$ROOT/etc/initramfs-tools/conf.d/persohub-test"
printf '%s\n' virtio_pci virtio_blk ext4 >>"$ROOT/etc/initramfs-tools/modules"
chroot "$ROOT" update-initramfs -u -k "$KVER" >>"$WORK/apt.log" 2>&1 || {
	tail -n 20 "$WORK/apt.log" >&2
	echo "$SELF: update-initramfs failed (log above)" >&2
	exit 1
}
unmount_all
rm -f "$ROOT/usr/sbin/policy-rc.d"
rm -rf "$ROOT"/var/lib/apt/lists/* "$ROOT"/var/cache/apt/*.bin

for f in "boot/vmlinuz-$KVER" "boot/initrd.img-$KVER"; do
	[ -s "$ROOT/$f" ] || { echo "$SELF: the image has no /$f" >&2; exit 1; }
done

# The test machine: root on the first virtio disk, no password on the
# console, and the test's own unit, which runs the test script of the
# source tree the host shares (tag "src"): the image knows nothing more of
# the test, so changing the test does not rebuild the image.
echo persohub-test >"$ROOT/etc/hostname"
echo "127.0.1.1 persohub-test" >>"$ROOT/etc/hosts"
echo "/dev/vda / ext4 rw,errors=remount-ro 0 0" >"$ROOT/etc/fstab"
chroot "$ROOT" passwd -d root >/dev/null
# Nothing else on the guest's few emulated cycles.
for u in apt-daily.timer apt-daily-upgrade.timer e2scrub_all.timer \
	e2scrub_reap.service fstrim.timer systemd-timesyncd.service; do
	ln -sf /dev/null "$ROOT/etc/systemd/system/$u"
done
cat >"$ROOT/usr/local/sbin/persohub-test-boot" <<'EOF'
#!/bin/sh
# Run the install test of the source tree the host shares (tag "src"):
# selftests/install_guest.sh does the rest (see persohub-test.service).
mkdir -p /mnt/src
if modprobe 9pnet_virtio &&
	mount -t 9p -o trans=virtio,version=9p2000.L,ro src /mnt/src; then
	exec /bin/bash /mnt/src/selftests/install_guest.sh boot
fi
echo "persohub-test-status rc=125 reason=no-source-share" >/dev/ttyS1
systemctl poweroff
EOF
chmod 0755 "$ROOT/usr/local/sbin/persohub-test-boot"
cat >"$ROOT/etc/systemd/system/persohub-test.service" <<'EOF'
[Unit]
Description=persohub install test (the source tree shared by the host)
After=multi-user.target

[Service]
Type=oneshot
ExecStart=/usr/local/sbin/persohub-test-boot
StandardOutput=journal+console
StandardError=journal+console
TimeoutStartSec=infinity

[Install]
WantedBy=multi-user.target
EOF
mkdir -p "$ROOT/etc/systemd/system/multi-user.target.wants"
ln -sf /etc/systemd/system/persohub-test.service \
	"$ROOT/etc/systemd/system/multi-user.target.wants/persohub-test.service"

echo "$SELF: making the ext4 image" >&2
cp "$ROOT/boot/vmlinuz-$KVER" "$WORK/vmlinuz"
cp "$ROOT/boot/initrd.img-$KVER" "$WORK/initrd.img"
echo "$KVER" >"$WORK/kver"
echo "$KNAME" >"$WORK/name"
mkfs.ext4 -q -F -L persohub-root -d "$ROOT" "$WORK/root.raw" "$IMAGE_SIZE" >&2
rm -rf "$ROOT"
touch "$WORK/ready"
# Older images of this kernel go (same name or same release); the new one
# takes their place. Other kernels' images stay.
for old in "$CACHE"/debian12-*; do
	if [ ! -d "$old" ] || [ "$old" = "$DIR" ]; then
		continue
	fi
	if [ "$(cat "$old/name" 2>/dev/null)" = "$KNAME" ] ||
		[ "$(cat "$old/kver" 2>/dev/null)" = "$KVER" ]; then
		rm -rf "$old"
	fi
done
rm -f "$WORK"/*.log
mv "$WORK" "$DIR"
trap - EXIT
echo "$SELF: image built in $((SECONDS - T0)) s: $DIR" >&2
echo "$DIR"
