#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# scripts/vmlog.sh on the host: which console logs hold a kernel problem,
# and which "Oops: int3" is the emulator's (a vCPU running code the kernel
# had already patched) rather than the kernel's. The oops below is one a
# 6.12 guest printed under QEMU 7.2 (MTTCG) while unpacking its initramfs:
# enqueue_timer's static key had just become a two-byte jump, eb 09. TAP.
#
# Usage: vmlog_test.sh TOP
set -u
top=$1
# shellcheck source=scripts/vmlog.sh
. "$top/scripts/vmlog.sh"
# ok(), n and failures (lib.sh defines nothing else that runs)
. "$top/selftests/lib.sh"
d=$(mktemp -d)
trap 'rm -rf "$d"' EXIT

boot() {
	cat <<'LOG'
[    1.094190] integrity: Machine keyring initialized
[    1.165007] Asymmetric key parser 'x509' registered
LOG
}
oops() {	# the byte the vCPU trapped on, the oops's kind
	cat <<LOG
[    1.256049] Oops: ${2:-int3}: 0000 [#1] PREEMPT SMP NOPTI
[    1.256314] CPU: 1 UID: 0 PID: 12 Comm: kworker/u8:0 Not tainted 6.12.117+deb12-amd64 #1  Debian 6.12.117-1~deb12u1
[    1.256596] RIP: 0010:enqueue_timer+0xa5/0x100
[    1.256643] Code: 78 08 4c 89 e2 48 89 de e8 e8 d9 ff ff 65 ff 0d 69 2b 08 69 75 b5 0f 1f 44 00 00 eb ae 4c 89 65 18 c6 45 26 01 c6 45 24 00 $1 <09> 5b 5d 41 5c c3 cc cc cc cc 8b 43 20 a9 00 00 08 00 75 93 80 7d
[    1.256907] Call Trace:
[    1.257346]  <TASK>
[    1.257547]  __mod_timer+0x26c/0x360
[    1.258161] RIP: 0010:enqueue_timer+0xa5/0x100
[    1.258172] Code: 78 08 4c 89 e2 48 89 de e8 e8 d9 ff ff 65 ff 0d 69 2b 08 69 75 b5 0f 1f 44 00 00 eb ae 4c 89 65 18 c6 45 26 01 c6 45 24 00 $1 <09> 5b 5d 41 5c c3 cc cc cc cc 8b 43 20 a9 00 00 08 00 75 93 80 7d
[    1.258298] Kernel panic - not syncing: Fatal exception in interrupt
LOG
}

echo "TAP version 13"
boot >"$d/clean"
[ -z "$(kernel_problems "$d/clean")" ]
ok $? "a clean boot has no kernel problem"
! stale_int3 "$d/clean" >/dev/null
ok $? "a clean boot has no emulator fault"

{ boot; oops eb; } >"$d/stale"
[ "$(kernel_problems "$d/stale" | wc -l)" = 3 ]
ok $? "the oops is a kernel problem: its Oops, Call Trace and panic lines"
[ "$(stale_int3 "$d/stale")" = 0xeb ]
ok $? "an int3 that now reads eb is the emulator's"

{ boot; oops eb; } | sed 's/$/\r/' >"$d/crlf"
[ "$(stale_int3 "$d/crlf")" = 0xeb ]
ok $? "the same with the console's CR LF line ends"

{ boot; oops cc; } >"$d/real"
! stale_int3 "$d/real" >/dev/null
ok $? "an int3 still in memory is the kernel's"

{ boot; oops eb "general protection fault"; } >"$d/gp"
! stale_int3 "$d/gp" >/dev/null
ok $? "an oops other than int3 is the kernel's"

{ boot; echo "[    0.900000] WARNING: CPU: 0 PID: 1 at kernel/foo.c:1 bar+0x1/0x2"; oops eb; } >"$d/warn"
! stale_int3 "$d/warn" >/dev/null
ok $? "a kernel problem before the stale int3 is the kernel's"

{ boot; oops eb | grep -v Code:; } >"$d/nocode"
! stale_int3 "$d/nocode" >/dev/null
ok $? "an int3 oops without its Code: line is the kernel's"

# A long log with many problems: the first ten, and the reader does not
# stop the writer early (a pipe that fails under set -o pipefail).
for ((i = 0; i < 4000; i++)); do
	printf '[ %4d.000000] WARNING: CPU: 0 PID: 1 at kernel/foo.c:%d bar\n' $((i / 100)) "$i"
done >"$d/long"
out=$(set -o pipefail; kernel_problems "$d/long" | cat) && rc=0 || rc=$?
[ "$rc" = 0 ] && [ "$(wc -l <<<"$out")" = 10 ] && [[ "$out" == *"foo.c:9 bar" ]]
ok $? "a long log: the first 10 problems, the pipe succeeds (rc $rc)"

echo "1..$n"
exit "$failures"
