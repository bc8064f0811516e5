# SPDX-License-Identifier: GPL-2.0
#
# vmlog.sh - what a test machine's console log says about its kernel, for
# scripts/vm-run (sourced; selftests/vmlog_test.sh tests it on its own).

# Kernel problems: printk lines (with their timestamp) of these kinds. The
# debug kernel's checkers report as "BUG: KASAN:", "UBSAN:", lockdep's
# "WARNING: possible circular locking dependency detected" / "inconsistent
# lock state" / ..., "BUG: sleeping function called from invalid context",
# and "ODEBUG:" (also when it runs out of memory and turns itself off).
KPAT='\[ *[0-9]+\.[0-9]+\] .*(BUG:|WARNING:|Oops|Call Trace|Kernel panic'
KPAT+='|general protection fault|UBSAN:|KASAN:|ODEBUG:|kernel BUG at'
KPAT+='|kmemleak: .*suspected memory leak|soft lockup|hard LOCKUP'
KPAT+='|blocked for more than|detected stall|self-detected stall)'

# stale_int3 LOG: the emulator's fault of PH_TCG_THREAD=multi (scripts/vm-run
# --help). When the log's first kernel problem is an "Oops: int3" and the
# byte the vCPU trapped on is no longer an int3 (0xcc), prints that byte and
# succeeds. The oops's "Code:" line marks the byte at the saved RIP, "<xx>";
# an int3 leaves RIP one past itself, so the byte before the mark is the
# trapping one, as the kernel had it when it printed the oops.
stale_int3() {
	tr -d '\r' <"$1" | KPAT=$KPAT awk '
		!seen && $0 ~ ENVIRON["KPAT"] {
			if ($0 !~ /Oops: int3/)
				exit 1
			seen = 1
			next
		}
		seen && / Code: / {
			for (i = 2; i <= NF; i++)
				if ($i ~ /^<[0-9a-f][0-9a-f]>$/) {
					if ($(i - 1) ~ /^[0-9a-f][0-9a-f]$/ &&
					    $(i - 1) != "cc") {
						print "0x" $(i - 1)
						found = 1
					}
					exit
				}
			exit
		}
		END { exit !found }'
}

# kernel_problems LOG: the log's first kernel problem lines (at most 10).
# awk reads to the end: a reader that stopped early would fail the pipe.
kernel_problems() {
	tr -d '\r' <"$1" | KPAT=$KPAT awk 'n < 10 && $0 ~ ENVIRON["KPAT"] { print; n++ }'
}
