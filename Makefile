# SPDX-License-Identifier: GPL-2.0
# kvhost: out-of-tree vhost modules, built and tested against two kernels.
#
#   make [modules]      modules for KVER/KDIR into build/<KVER>/
#   make modules-all    modules for every kernel of scripts/kernels.sh list
#   make sparse         C=2 sparse on every kernel; fails on any warning of ours
#   make user           userspace (tests/lib, tests/unit, tests/integration,
#                       userspace_ctl, bench) into build/user/<dir>/
#   make initramfs      the VM initramfs of every kernel (build/vm/)
#   make kernels        download + extract the test kernels (scripts/kernels.sh fetch)
#   make deps           install everything (scripts/deps.sh)
#   make check          all test tiers; TAP in build/check.tap, summary last
#   make bench-net      network benchmark, kvhost-net vs in-tree vhost-net, in
#                       one VM of BENCH_KVER (default: the first listed, 6.1);
#                       BENCH_ROUNDS (5), BENCH_SECS (2); report in bench/results/
#   make bench-blk      block benchmark, kvhost-blk vs fio's io_uring on the same
#                       stores (null_blk, tmpfs file), in one VM of BENCH_KVER;
#                       BENCH_ROUNDS (5), BENCH_SECS (2), BENCH_FILTER (rows whose
#                       label has it, e.g. "null_blk" or "QD1"), BENCH_ALL=1 (QD1
#                       at 2 queues too); report in bench/results/
#   make install        kvhostctl, its man page, the udev rule and the systemd
#                       unit kvhost-blk@.service; DESTDIR, PREFIX (/usr/local)
#   make clean
#
# Module objects live only in build/<rel>/, a copy of Kbuild + MODULE_DIRS.

TOP := $(abspath $(dir $(lastword $(MAKEFILE_LIST))))
BUILD := $(TOP)/build
KERNELS_SH := $(TOP)/scripts/kernels.sh
BUILD_MODULES := $(TOP)/scripts/build-modules.sh

KVERS = $(shell $(KERNELS_SH) list)

# Default kernel: the running one if it has a kbuild dir, else the first listed (6.1).
ifeq ($(origin KDIR),undefined)
  RUNNING := $(shell uname -r)
  ifneq ($(wildcard /lib/modules/$(RUNNING)/build/Makefile),)
    KVER ?= $(RUNNING)
    KDIR := /lib/modules/$(KVER)/build
  else
    KVER ?= $(firstword $(KVERS))
    KDIR := /usr/src/linux-headers-$(KVER)
  endif
else
  # KDIR given: name the build dir after the headers package, else kernel.release
  KDIR_PKG := $(filter linux-headers-%,$(notdir $(realpath $(KDIR))))
  KVER ?= $(or $(patsubst linux-headers-%,%,$(KDIR_PKG)),$(shell cat $(KDIR)/include/config/kernel.release 2>/dev/null))
endif

# userspace dirs, in build order; each is built only if it has a Makefile
USER_DIRS := tests/lib tests/unit tests/integration tests/e2e userspace_ctl bench
USER_OUT := $(BUILD)/user

.PHONY: all modules modules-all sparse user initramfs kernels deps check bench-net bench-blk install clean help

all: modules

modules:
	@test -n "$(KVER)" || { echo "no kernel to build for (make deps)" >&2; exit 1; }
	KDIR=$(KDIR) $(BUILD_MODULES) $(KVER) modules

modules-all:
	@test -n "$(KVERS)" || { echo "no kernels listed (make deps)" >&2; exit 1; }
	@set -e; for rel in $(KVERS); do $(BUILD_MODULES) $$rel modules; done

sparse:
	@test -n "$(KVERS)" || { echo "no kernels listed (make deps)" >&2; exit 1; }
	@set -e; for rel in $(KVERS); do $(BUILD_MODULES) $$rel sparse; done

# every dir is tried even if an earlier one fails; the target fails at the end
user:
	@failed=; for d in $(USER_DIRS); do \
		if [ -f $(TOP)/$$d/Makefile ]; then \
			$(MAKE) -C $(TOP)/$$d OUT=$(USER_OUT)/$$d USER_OUT=$(USER_OUT) || failed="$$failed $$d"; \
		fi; \
	done; \
	if [ -n "$$failed" ]; then echo "make user: failed in:$$failed" >&2; exit 1; fi

initramfs:
	@set -e; for rel in $(KVERS); do \
		$(TOP)/tests/vm/mkinitramfs.sh $$rel $(BUILD)/vm/initramfs-$$rel.cpio.gz; \
	done

kernels:
	$(KERNELS_SH) fetch

deps:
	$(TOP)/scripts/deps.sh

check:
	@$(TOP)/scripts/check.sh

BENCH_KVER ?= $(firstword $(KVERS))
BENCH_ROUNDS ?= 5
BENCH_SECS ?= 2
BENCH_FILTER ?=
BENCH_ALL ?=
BENCH_RUN := $(BUILD)/vm/run/$(BENCH_KVER)-bench-net
BENCH_BLK_RUN := $(BUILD)/vm/run/$(BENCH_KVER)-bench-blk

# The VM writes the report into its results dir; it is kept in bench/results/.
bench-net:
	@test -n "$(BENCH_KVER)" || { echo "no kernel to benchmark (make deps)" >&2; exit 1; }
	$(BUILD_MODULES) $(BENCH_KVER) modules
	$(MAKE) user
	@mkdir -p $(BUILD)/bench $(TOP)/bench/results
	@printf 'BENCH_ROUNDS=%s\nBENCH_SECS=%s\n' '$(BENCH_ROUNDS)' '$(BENCH_SECS)' \
		>$(BUILD)/bench/net.env
	@rc=0; $(TOP)/tests/vm/run-vm.sh --kernel $(BENCH_KVER) \
		--script $(TOP)/bench/run-net.sh --name bench-net --timeout 1200 || rc=$$?; \
	for f in $(BENCH_RUN)/net-*.md; do \
		[ -f "$$f" ] && cp "$$f" $(TOP)/bench/results/ && \
			echo "# report saved in bench/results/$${f##*/}"; \
	done; \
	exit $$rc

# Like bench-net: the bench prints its report and writes it into the VM's
# results dir; it is kept in bench/results/blk-<rel>-<stamp>.md.
bench-blk:
	@test -n "$(BENCH_KVER)" || { echo "no kernel to benchmark (make deps)" >&2; exit 1; }
	$(BUILD_MODULES) $(BENCH_KVER) modules
	$(MAKE) user
	@mkdir -p $(BUILD)/bench $(TOP)/bench/results
	@printf "BENCH_ROUNDS=%s\nBENCH_SECS=%s\nBENCH_FILTER='%s'\nBENCH_ALL=%s\n" \
		'$(BENCH_ROUNDS)' '$(BENCH_SECS)' '$(BENCH_FILTER)' '$(BENCH_ALL)' \
		>$(BUILD)/bench/blk.env
	@rc=0; $(TOP)/tests/vm/run-vm.sh --kernel $(BENCH_KVER) \
		--script $(TOP)/bench/run-blk.sh --name bench-blk --timeout 1800 || rc=$$?; \
	for f in $(BENCH_BLK_RUN)/blk-*.md; do \
		[ -f "$$f" ] && cp "$$f" $(TOP)/bench/results/ && \
			echo "# report saved in bench/results/$${f##*/}"; \
	done; \
	exit $$rc

install:
	$(MAKE) -C $(TOP)/userspace_ctl OUT=$(USER_OUT)/userspace_ctl USER_OUT=$(USER_OUT) install

clean:
	rm -rf $(BUILD)

help:
	@sed -n '2,/^$$/s/^# \{0,1\}//p' $(lastword $(MAKEFILE_LIST))
