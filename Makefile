# SPDX-License-Identifier: GPL-2.0
#
# persohub top-level Makefile.
#
#   make            module (for KVER, see below) + userspace
#   make deps       install what is missing (Debian 12, as root)
#   make check      every unit, style and VM test; ends with "N passed, N failed"
#   make style      checkpatch --strict on kmod/
#   make sparse     the module built with C=1 (sparse)
#   make demo       a simulated site served by persohub
#   make bench      persohub against a userspace baseline and the ideal
#   make bench-lockstat  the hub lock's contention, on a LOCK_STAT kernel
#
# KVER names the kernel the module is built for: 6.1 (Debian 12's default,
# the default here), 6.12, 6.1-rt, 6.12-rt, or an installed release
# (scripts/kver). Each kernel's module is built in build/ko/<release>/ from
# a copy of the sources, so kernels never share objects; the build says
# which kernel it targets. KDIR=<kernel build dir> overrides the headers.

KVER ?= 6.1
# Resolved only by what builds the module: make install (DKMS builds for
# the running kernel) and the userspace targets need no kernel headers.
KREL = $(or $(_KREL),$(eval _KREL := $(shell $(CURDIR)/scripts/kver $(KVER) \
	2>/dev/null))$(_KREL))
KDIR ?= /usr/src/linux-headers-$(KREL)
need-krel = @[ -n "$(KREL)" ] || { $(CURDIR)/scripts/kver $(KVER); \
	echo "no kernel '$(KVER)': see scripts/kver --help, or run make deps" >&2; \
	exit 1; }
B := $(CURDIR)/build
LINUX_SRC_TAR ?= /usr/src/linux-source-6.1.tar.xz
LSRC := $(B)/linux-src

CC ?= cc
CFLAGS ?= -O2 -g
CFLAGS += -Wall -Wextra -Werror -std=gnu11 -D_GNU_SOURCE
CPPFLAGS += -I$(CURDIR)/uapi -I$(CURDIR)/kmod -I$(CURDIR)/daemon
# The version of everything, from one place: dkms.conf's PACKAGE_VERSION.
PH_VERSION := $(shell sed -n 's/^PACKAGE_VERSION="\(.*\)"$$/\1/p' \
	$(CURDIR)/dkms.conf)

# Code shared with the kernel: the framer and its userspace CRC twin.
FRAME_SRCS := kmod/frame.c daemon/crc_ccitt.c
FRAME_HDRS := kmod/frame.h daemon/kcompat.h
# Every framing (hdlc is the framer above).
FRAMING_SRCS := kmod/framing.c $(FRAME_SRCS)
FRAMING_HDRS := kmod/framing.h $(FRAME_HDRS)

HOST_TESTS := $(B)/frame_test $(B)/framing_test $(B)/daemon_test \
	      $(B)/sitesim_loop_test
HOST_PROGS := $(B)/sitesim
BIN_PROGS := $(B)/bin/persohubd $(if $(wildcard daemon/persohubctl.c),$(B)/bin/persohubctl)
GUEST_PROGS := $(B)/guest/vm_hub_test $(B)/guest/vm_fault_test \
	       $(B)/guest/vm_nl_test \
	       $(B)/guest/vm_cdev_test $(B)/guest/tcpserver \
	       $(B)/guest/vm_nlfuzz $(B)/guest/phbase $(B)/guest/vm_setd \
	       $(B)/guest/vm_journal $(B)/guest/tlscerts $(B)/guest/nats_ping \
	       $(B)/guest/vm_cascade_test $(B)/guest/vm_cascade_load
PHNL_SRCS := daemon/phnl.c
PHNL_HDRS := daemon/phnl.h uapi/linux/persohub.h

.PHONY: all module test-module userspace deps check style sparse clean harness demo \
	dkms-install install distclean fuzz fuzzers soak check-debug bench \
	bench-lockstat

all: module userspace

# The module's sources, copied (with their times) where one kernel builds.
KO_DIR = $(B)/ko/$(KREL)
KMOD_SRCS := Kbuild $(wildcard kmod/*.c kmod/*.h) uapi/linux/persohub.h

$(KO_DIR)/.sources: $(KMOD_SRCS)
	@mkdir -p $(KO_DIR)
	@cp -p --parents $(KMOD_SRCS) $(KO_DIR)/
	@touch $@

module: $(KO_DIR)/.sources
	$(need-krel)
	@echo "  MODULE  for $(KREL) in $(KO_DIR)"
	$(MAKE) -C $(KDIR) M=$(KO_DIR) modules

# The tests' fault injection module (selftests/kfail), beside the module.
test-module: module
	@mkdir -p $(KO_DIR)/kfail
	@cp -p selftests/kfail/Kbuild selftests/kfail/persohub_fail.c \
		$(KO_DIR)/kfail/
	$(MAKE) -C $(KDIR) M=$(KO_DIR)/kfail modules

module-debug: $(KO_DIR)/.sources
	$(MAKE) -C $(KDIR) M=$(KO_DIR) ccflags-y+=-DDEBUG modules

userspace: $(HOST_TESTS) $(HOST_PROGS) $(GUEST_PROGS) $(BIN_PROGS)

deps:
	@scripts/deps.sh

# The kselftest harness and checkpatch come from Debian's linux-source-6.1
# tarball; extracting them takes a few seconds, so they are cached here.
HARNESS := $(LSRC)/tools/testing/selftests/kselftest_harness.h
CHECKPATCH := $(LSRC)/scripts/checkpatch.pl
KERNELDOC := $(LSRC)/scripts/kernel-doc

harness: $(HARNESS)

$(HARNESS) $(CHECKPATCH) $(KERNELDOC): $(LINUX_SRC_TAR)
	@mkdir -p $(LSRC)
	tar -xJf $(LINUX_SRC_TAR) -C $(LSRC) --strip-components=1 \
		linux-source-6.1/tools/testing/selftests/kselftest_harness.h \
		linux-source-6.1/tools/testing/selftests/kselftest.h \
		linux-source-6.1/scripts/checkpatch.pl \
		linux-source-6.1/scripts/kernel-doc \
		linux-source-6.1/scripts/spelling.txt \
		linux-source-6.1/scripts/const_structs.checkpatch
	@touch $(HARNESS) $(CHECKPATCH) $(KERNELDOC)

TEST_CPPFLAGS := -isystem $(LSRC)/tools/testing/selftests
# The harness is included as a system header (-isystem): its macros leave
# parameters unused, which -Wextra would otherwise report in our tests.
TEST_CFLAGS := $(CFLAGS) -Wno-unused-parameter

$(B)/frame_test: selftests/frame_test.c selftests/test_rng.h \
		selftests/test_rxlog.h $(FRAME_SRCS) \
		$(FRAME_HDRS) $(HARNESS)
	@mkdir -p $(B)
	$(CC) $(CPPFLAGS) $(TEST_CPPFLAGS) $(TEST_CFLAGS) -o $@ \
		selftests/frame_test.c $(FRAME_SRCS)

$(B)/framing_test: selftests/framing_test.c selftests/test_rng.h selftests/test_rxlog.h \
		$(FRAMING_SRCS) $(FRAMING_HDRS) \
		$(HARNESS)
	@mkdir -p $(B)
	$(CC) $(CPPFLAGS) $(TEST_CPPFLAGS) $(TEST_CFLAGS) -o $@ \
		selftests/framing_test.c $(FRAMING_SRCS)

DAEMON_SRCS := daemon/persohubd.c daemon/config.c daemon/match.c \
	       daemon/audit.c daemon/metrics.c daemon/state.c \
	       daemon/tcp.c daemon/tcp_corr.c daemon/log.c $(PHNL_SRCS) \
	       daemon/cascade.c daemon/cascade_core.c daemon/cascade_nats.c \
	       $(FRAMING_SRCS)

$(B)/bin/persohubd: $(DAEMON_SRCS) daemon/config.h daemon/match.h \
		daemon/tcp.h daemon/tcp_corr.h daemon/log.h daemon/state.h \
		daemon/phlimits.h daemon/audit.h daemon/metrics.h $(PHNL_HDRS) \
		daemon/cascade.h daemon/cascade_core.h daemon/cascade_nats.h \
		$(FRAMING_HDRS) dkms.conf
	@mkdir -p $(B)/bin
	$(CC) $(CPPFLAGS) -DPH_VERSION='"$(PH_VERSION)"' $(TLS_CFLAGS) \
		$(CFLAGS) -o $@ $(DAEMON_SRCS) -lmnl -linih -lsystemd -lpthread $(TLS_LIBS) \
		$(NATS_LIBS)

# The cascade of hubs: the NATS C client (libnats-dev).
NATS_LIBS = $(shell pkg-config --libs libnats)

# TLS links to network HSMs (persohubd), and their test server.
TLS_CFLAGS = $(shell pkg-config --cflags gnutls)
TLS_LIBS = $(shell pkg-config --libs gnutls)

# persohubctl speaks netlink through libnl-genl (persohubd through libmnl);
# it shares phnl.c for the family's names and attribute policy.
NL_CFLAGS = $(shell pkg-config --cflags libnl-genl-3.0)
NL_LIBS = $(shell pkg-config --libs libnl-genl-3.0)

# persohubctl: a main file (commands, options, usage), one file per command
# family, the output layer and the requests, as iproute2's ip/.
CTL_SRCS := daemon/persohubctl.c daemon/ctl_nl.c daemon/ctl_output.c \
	    daemon/ctl_ports.c daemon/ctl_stats.c daemon/ctl_monitor.c \
	    daemon/ctl_top.c daemon/ctl_plan.c daemon/ctl_daemon.c \
	    daemon/ctl_classes.c daemon/plan.c daemon/state.c

$(B)/bin/persohubctl: $(CTL_SRCS) daemon/persohubctl.h daemon/plan.h \
		daemon/state.h daemon/config.h \
		$(PHNL_SRCS) $(PHNL_HDRS) dkms.conf
	@mkdir -p $(B)/bin
	$(CC) $(CPPFLAGS) -DPH_VERSION='"$(PH_VERSION)"' $(NL_CFLAGS) \
		$(CFLAGS) -o $@ $(CTL_SRCS) $(PHNL_SRCS) $(NL_LIBS) -lmnl -lm

# Test programs that run inside the test machine.
$(B)/guest/vm_hub_test $(B)/guest/vm_fault_test: $(B)/guest/%: \
		selftests/%.c selftests/phtest.h $(HARNESS)
	@mkdir -p $(B)/guest
	$(CC) $(CPPFLAGS) $(TEST_CPPFLAGS) $(TEST_CFLAGS) -o $@ $<

$(B)/guest/vm_nl_test $(B)/guest/vm_cdev_test: $(B)/guest/%: selftests/%.c \
		selftests/phtest.h selftests/siteproto.h $(PHNL_SRCS) \
		$(PHNL_HDRS) $(HARNESS)
	@mkdir -p $(B)/guest
	$(CC) $(CPPFLAGS) $(TEST_CPPFLAGS) $(TEST_CFLAGS) -o $@ $< \
		$(PHNL_SRCS) -lmnl -lpthread

$(B)/daemon_test: selftests/daemon_test.c daemon/config.c daemon/match.c \
		daemon/plan.c daemon/log.c daemon/state.c daemon/state.h \
		daemon/cascade_core.c daemon/cascade_core.h \
		daemon/tcp_corr.c daemon/tcp_corr.h \
		daemon/config.h daemon/match.h \
		daemon/plan.h daemon/log.h daemon/phlimits.h $(PHNL_SRCS) \
		$(PHNL_HDRS) $(FRAMING_SRCS) $(FRAMING_HDRS) $(HARNESS)
	@mkdir -p $(B)
	$(CC) $(CPPFLAGS) $(TEST_CPPFLAGS) $(TEST_CFLAGS) -o $@ \
		selftests/daemon_test.c daemon/config.c daemon/match.c \
		daemon/plan.c daemon/log.c daemon/state.c daemon/tcp_corr.c \
		daemon/cascade_core.c \
		$(PHNL_SRCS) $(FRAMING_SRCS) -linih -lmnl -lm

# The host unit tests: the framer, the framings, the daemon's parts.
.PHONY: unit
unit: $(HOST_TESTS)
	$(B)/frame_test
	$(B)/framing_test
	$(B)/daemon_test

$(B)/guest/vm_nlfuzz: selftests/vm_nlfuzz.c $(PHNL_SRCS) $(PHNL_HDRS)
	@mkdir -p $(B)/guest
	$(CC) $(CPPFLAGS) $(CFLAGS) -o $@ $< $(PHNL_SRCS) -lmnl

$(B)/guest/vm_setd: selftests/vm_setd.c
	@mkdir -p $(B)/guest
	$(CC) $(CPPFLAGS) $(CFLAGS) -o $@ $<

$(B)/guest/vm_journal: selftests/vm_journal.c
	@mkdir -p $(B)/guest
	$(CC) $(CPPFLAGS) $(CFLAGS) -o $@ $<

$(B)/guest/tcpserver: selftests/tcpserver.c selftests/siteproto.h \
		$(FRAMING_SRCS) $(FRAMING_HDRS)
	@mkdir -p $(B)/guest
	$(CC) $(CPPFLAGS) $(TLS_CFLAGS) $(CFLAGS) -o $@ $< $(FRAMING_SRCS) \
		$(TLS_LIBS)

# The certificates of the TLS tests, made inside the test machine.
$(B)/guest/vm_cascade_test: selftests/vm_cascade_test.c $(PHNL_SRCS) \
		$(PHNL_HDRS)
	@mkdir -p $(B)/guest
	$(CC) $(CPPFLAGS) $(CFLAGS) -o $@ $< $(PHNL_SRCS) -lmnl $(NATS_LIBS)

$(B)/guest/vm_cascade_load: selftests/vm_cascade_load.c $(PHNL_SRCS) \
		$(PHNL_HDRS)
	@mkdir -p $(B)/guest
	$(CC) $(CPPFLAGS) $(CFLAGS) -o $@ $< $(PHNL_SRCS) -lmnl

$(B)/guest/tlscerts: selftests/tlscerts.c
	@mkdir -p $(B)/guest
	$(CC) $(CPPFLAGS) $(TLS_CFLAGS) $(CFLAGS) -o $@ $< $(TLS_LIBS)

# A NATS client for the LAN tests (libnats, TLS with a client certificate).
$(B)/guest/nats_ping: selftests/nats_ping.c
	@mkdir -p $(B)/guest
	$(CC) $(CPPFLAGS) $(shell pkg-config --cflags libnats) $(CFLAGS) -o $@ $< \
		$(shell pkg-config --libs libnats)

$(B)/guest/phbase: selftests/phbase.c $(FRAME_SRCS) $(FRAME_HDRS)
	@mkdir -p $(B)/guest
	$(CC) $(CPPFLAGS) $(CFLAGS) -o $@ $< $(FRAME_SRCS)

# Every framing: kmod/framing.c, with frame.c for hdlc.
SITESIM_SRCS := selftests/sitesim.c kmod/framing.c $(FRAME_SRCS)

$(B)/sitesim: $(SITESIM_SRCS) selftests/siteproto.h kmod/framing.h \
		$(FRAME_HDRS)
	@mkdir -p $(B)
	$(CC) $(CPPFLAGS) $(CFLAGS) -o $@ $(SITESIM_SRCS) -lm

# sitesim against a fake hub on the host, in every framing; runs the
# build/sitesim beside it.
$(B)/sitesim_loop_test: selftests/sitesim_loop_test.c kmod/framing.c \
		$(FRAME_SRCS) kmod/framing.h $(FRAME_HDRS) $(HARNESS) \
		$(B)/sitesim
	@mkdir -p $(B)
	$(CC) $(CPPFLAGS) $(TEST_CPPFLAGS) $(TEST_CFLAGS) -o $@ \
		selftests/sitesim_loop_test.c kmod/framing.c $(FRAME_SRCS)

# persohubctl where no module is loaded: plan, options, abbreviations.
.PHONY: unit-ctl
unit-ctl: $(B)/bin/persohubctl
	sh selftests/persohubctl_host.sh $(B)/bin/persohubctl

unit: unit-ctl

# scripts/bench-report.sh on made-up results: spreads, targets, lock_stat.
.PHONY: unit-bench
unit-bench:
	sh selftests/bench_report_test.sh scripts/bench-report.sh

unit: unit-bench

.PHONY: unit-sitesim
unit-sitesim: $(B)/sitesim_loop_test
	$(B)/sitesim_loop_test

unit: unit-sitesim

# libFuzzer targets (clang): the framer, each framing's receiver and the
# configuration parser. make fuzz FUZZ_SECONDS=600: each target that long;
# make check runs them briefly (scripts/fuzz.sh's budget).
FUZZ_SECONDS ?= 60
FUZZ_CFLAGS := -g -O1 -fsanitize=fuzzer,address,undefined $(CPPFLAGS)
FUZZ_FRAMINGS := hdlc stx-etx stx-len len16 gap
FUZZERS := $(B)/fuzz/fuzz_frame $(B)/fuzz/fuzz_config \
	   $(FUZZ_FRAMINGS:%=$(B)/fuzz/fuzz_framing-%)

$(B)/fuzz/fuzz_frame: selftests/fuzz_frame.c $(FRAME_SRCS) $(FRAME_HDRS)
	@mkdir -p $(B)/fuzz
	clang $(FUZZ_CFLAGS) -o $@ selftests/fuzz_frame.c $(FRAME_SRCS)

$(B)/fuzz/fuzz_config: selftests/fuzz_config.c daemon/config.c daemon/config.h \
		daemon/phlimits.h $(FRAMING_SRCS) $(FRAMING_HDRS)
	@mkdir -p $(B)/fuzz
	clang $(FUZZ_CFLAGS) -o $@ selftests/fuzz_config.c daemon/config.c \
		$(FRAMING_SRCS) -linih

# One receiver per binary: fuzz_framing-stx-len is stx-len's.
$(B)/fuzz/fuzz_framing-%: selftests/fuzz_framing.c $(FRAMING_SRCS) \
		$(FRAMING_HDRS)
	@mkdir -p $(B)/fuzz
	clang $(FUZZ_CFLAGS) -DPH_FUZZ_FRAMING='"$*"' -o $@ \
		selftests/fuzz_framing.c $(FRAMING_SRCS)

fuzzers: $(FUZZERS)

fuzz: $(FUZZERS)
	PH_FUZZ_BUDGET=0 scripts/fuzz.sh $(FUZZ_SECONDS)

# compat.h is the one file that tests kernel versions: checkpatch's
# objections to LINUX_VERSION_CODE are waived there, and only there.
style: $(CHECKPATCH) $(KERNELDOC)
	$(CHECKPATCH) --strict --no-tree --terse --show-types \
		--ignore FILE_PATH_CHANGES \
		-f $(filter-out kmod/compat.h,$(wildcard kmod/*.c kmod/*.h))
	$(CHECKPATCH) --strict --no-tree --terse --show-types \
		--ignore FILE_PATH_CHANGES,LINUX_VERSION_CODE,CONSTANT_COMPARISON \
		-f kmod/compat.h
	@# kernel-doc: every documented item complete, in kmod/ and the uapi
	@out=$$(perl $(KERNELDOC) -none kmod/*.c kmod/*.h uapi/linux/persohub.h 2>&1); \
		if [ -n "$$out" ]; then echo "$$out"; exit 1; fi

sparse: $(KO_DIR)/.sources
	$(MAKE) -C $(KDIR) M=$(KO_DIR) C=2 modules

# make check: everything on 6.1 and 6.12, the kernel-side suites on 6.12-rt;
# make check KVER=6.1-rt: everything on that one kernel.
CHECK_KVERS := $(if $(filter file,$(origin KVER)),6.1 6.12 6.12-rt:kernel,$(KVER))

check: deps
	@PH_KVERS="$(CHECK_KVERS)" scripts/check.sh

# The VM suites on debug kernels built once from linux-source-6.1 and
# linux-source-6.12 (long); make check-debug KVER=6.12: on that one only.
CHECK_DEBUG_KVERS := $(if $(filter file,$(origin KVER)),6.1 6.12,$(KVER))

check-debug: deps all
	@scripts/check-debug.sh $(CHECK_DEBUG_KVERS)

# The install path of a site (make install, DKMS, udev, systemd, persohubd)
# on a Debian 12 system in the test machine, booted on 6.1 then on 6.12;
# make check-install KVER=6.12: on that one only. Each kernel's image is
# built once and cached in /var/cache/persohub (see README.md).
CHECK_INSTALL_KVERS := $(if $(filter file,$(origin KVER)),6.1 6.12,$(KVER))

.PHONY: check-install
check-install: deps $(B)/sitesim
	@scripts/install-test.sh $(CHECK_INSTALL_KVERS)

demo: deps all
	@scripts/demo.sh

# Every fault at once for DURATION seconds (default 300); prints totals.
soak: all
	@DURATION=$(DURATION) scripts/soak.sh

bench: deps all
	@scripts/bench.sh

# Builds (once, long) scripts/debug-kernel.sh --lockstat 6.1.
bench-lockstat: deps all
	@scripts/bench.sh --lockstat

dkms-install:
	scripts/dkms-install.sh

# What a site PC needs; the module goes through DKMS (skip: NO_DKMS=1).
PREFIX ?= /usr
install: $(BIN_PROGS)
	install -D -m 0755 $(B)/bin/persohubd $(DESTDIR)$(PREFIX)/sbin/persohubd
	install -D -m 0755 $(B)/bin/persohubctl $(DESTDIR)$(PREFIX)/sbin/persohubctl
	install -D -m 0755 scripts/persohub-bind $(DESTDIR)$(PREFIX)/sbin/persohub-bind
	install -D -m 0755 scripts/persohub-nats-conf \
		$(DESTDIR)$(PREFIX)/sbin/persohub-nats-conf
	install -D -m 0644 scripts/60-persohub.rules \
		$(DESTDIR)/lib/udev/rules.d/60-persohub.rules
	install -D -m 0644 scripts/persohubd.service \
		$(DESTDIR)/lib/systemd/system/persohubd.service
	install -D -m 0644 scripts/persohub-modules-load.conf \
		$(DESTDIR)/usr/lib/modules-load.d/persohub.conf
	install -D -m 0644 scripts/persohub.conf.example \
		$(DESTDIR)/usr/share/doc/persohub/persohub.conf.example
	install -D -m 0644 Documentation/man/persohubd.8 \
		$(DESTDIR)$(PREFIX)/share/man/man8/persohubd.8
	install -D -m 0644 Documentation/man/persohubctl.8 \
		$(DESTDIR)$(PREFIX)/share/man/man8/persohubctl.8
	install -D -m 0644 Documentation/man/persohub.conf.5 \
		$(DESTDIR)$(PREFIX)/share/man/man5/persohub.conf.5
	test -e $(DESTDIR)/etc/persohub/persohub.conf || install -D -m 0644 \
		scripts/persohub.conf.example $(DESTDIR)/etc/persohub/persohub.conf
	[ -n "$(DESTDIR)" ] || getent group persohub >/dev/null || \
		groupadd -r persohub || true
	[ -n "$(DESTDIR)" ] || getent passwd persohubd >/dev/null || \
		useradd -r -g persohub -d /nonexistent -s /usr/sbin/nologin \
		-c "persohub controller" persohubd || true
	[ -n "$(NO_DKMS)$(DESTDIR)" ] || scripts/dkms-install.sh

# clean keeps the caches (the harness from linux-source, the unpacked
# guest kernel); distclean removes them too.
clean:
	rm -rf $(B)/ko $(B)/bin $(B)/guest $(HOST_TESTS) $(HOST_PROGS)

distclean: clean
	rm -rf $(B)
