#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# "make check": every test tier, as one TAP stream in build/check.tap.
#
#   1. userspace build (make user)          ok - build userspace
#      make install into a scratch DESTDIR   ok - install: ... (tests/install-check.sh)
#   2. unit tier (make -C tests/unit check) its TAP
#   3. per kernel of scripts/kernels.sh list:
#        ok - build modules <rel>
#        ok - sparse clean <rel>
#        VM run of tests/vm/in-vm.sh         its TAP + ok - kernel log clean (<rel>, check)
#   4. the debug kernel (scripts/debug-kernel.sh, built by make deps):
#        ok - build modules <rel> (gcov-profiled)
#        VM run of tests/vm/in-vm.sh without the nested-QEMU e2e, with
#        kmemleak checks; then line coverage per source file
#        (tests/coverage.sh, a figure, never a failure)
#   last line: "N passed, N failed[, N skipped]" (tests/tap-summary.sh)
#
# Env: KVHOST_VM_TIMEOUT (default 3600 s per VM: tests/e2e boots up to three nested
# guests), KVHOST_KERNELS (override the kernel list, space separated),
# KVHOST_SKIP_SPARSE=1, KVHOST_SKIP_DEBUG=1 (no debug-kernel tier);
# KVHOST_SKIP_E2E=1 and KVHOST_E2E_* reach the VM.
# Exit status non-zero if anything failed.
set -euo pipefail

top=$(cd "$(dirname "$0")/.." && pwd -P)
build=$top/build
tap=$build/check.tap
logs=$build/logs
MAKE=${MAKE:-make}

# emit: append stdin to the TAP file and show it
emit() { tee -a "$tap"; }

# log_tail FILE: last lines of a log as TAP comments
log_tail() { tail -n "${2:-25}" "$1" | sed 's/^/#   /'; }

# step NAME LOG CMD...: run CMD with output in LOG, emit ok/not ok NAME
step() {
	local name=$1 log=$2
	shift 2
	if "$@" >"$log" 2>&1; then
		echo "ok - $name" | emit
	else
		{ echo "not ok - $name (log: ${log#"$top"/})"; log_tail "$log"; } | emit
		return 1
	fi
}

step_user() {
	step "build userspace" "$logs/user.log" "$MAKE" -C "$top" user || true
}

# step_install: make install into a scratch DESTDIR, every file checked
step_install() {
	"$top/tests/install-check.sh" 2>&1 </dev/null | emit || true
}

step_unit() {
	local log=$logs/unit.log rc=0
	if [ ! -f "$top/tests/unit/Makefile" ]; then
		echo "ok - unit tier # SKIP no tests/unit/Makefile" | emit
		return 0
	fi
	echo "# unit tier" | emit
	"$MAKE" --no-print-directory -C "$top/tests/unit" check \
		OUT="$build/user/tests/unit" USER_OUT="$build/user" 2>&1 </dev/null |
		tee "$log" | emit || rc=$?
	if [ "$rc" != 0 ] && ! grep -q '^not ok' "$log"; then
		echo "not ok - unit tier exited $rc" | emit
	fi
}

step_kernel() {
	local rel=$1 built=1
	echo "# kernel $rel" | emit
	step "build modules $rel" "$logs/build-$rel.log" \
		"$top/scripts/build-modules.sh" "$rel" modules || built=0
	if [ "${KVHOST_SKIP_SPARSE:-0}" = 1 ]; then
		echo "ok - sparse clean $rel # SKIP KVHOST_SKIP_SPARSE=1" | emit
	elif [ "$built" = 1 ]; then
		step "sparse clean $rel" "$logs/sparse-step-$rel.log" \
			"$top/scripts/build-modules.sh" "$rel" sparse || true
	else
		echo "ok - sparse clean $rel # SKIP module build failed" | emit
	fi
	"$top/tests/vm/run-vm.sh" --kernel "$rel" --script "$top/tests/vm/in-vm.sh" \
		--name check --timeout "${KVHOST_VM_TIMEOUT:-3600}" | emit || true
}

# step_debug_kernel: the integration tier under KASAN, lockdep, kmemleak
step_debug_kernel() {
	local rel t0
	if [ "${KVHOST_SKIP_DEBUG:-0}" = 1 ]; then
		echo "ok - debug kernel tier # SKIP KVHOST_SKIP_DEBUG=1" | emit
		return 0
	fi
	rel=$("$top/scripts/kernels.sh" debug)
	if [ -z "$rel" ]; then
		echo "not ok - debug kernel built (run: make deps)" | emit
		return 0
	fi
	t0=$(date +%s)
	echo "# debug kernel $rel" | emit
	step "build modules $rel" "$logs/build-$rel.log" \
		"$top/scripts/build-modules.sh" "$rel" modules || return 0
	# The nested guests of the e2e take too long under KASAN (README), and
	# the in-tree vhost-net reference is not what this tier examines.
	KVHOST_SKIP_E2E=1 KVHOST_NET_DEV=/dev/kvhost-net KVHOST_TEST_TIMEOUT=600 \
		"$top/tests/vm/run-vm.sh" --kernel "$rel" \
		--script "$top/tests/vm/in-vm.sh" --name check \
		--timeout "${KVHOST_DEBUG_VM_TIMEOUT:-3000}" | emit || true
	"$top/tests/coverage.sh" "$rel" 2>&1 | emit || true
	echo "# debug kernel tier took $(($(date +%s) - t0))s" | emit
}

main() {
	local rel kernels t0
	t0=$(date +%s)
	mkdir -p "$build" "$logs"
	: >"$tap"
	kernels=${KVHOST_KERNELS:-$("$top/scripts/kernels.sh" list)}
	step_user
	step_install
	step_unit
	# The in-tree vhost-net reference guest of the e2e runs only when
	# asked (KVHOST_E2E_REFERENCE=1, first kernel): it tests no code of
	# ours, and one nested boot is 2 to 7 minutes of the CI budget.
	local ref=${KVHOST_E2E_REFERENCE:-0}
	for rel in $kernels; do
		KVHOST_E2E_REFERENCE=$ref step_kernel "$rel"
		ref=0
	done
	# After the stock kernels, not beside them: sharing the two cores
	# slowed their nested e2e guests past the boot timeout.
	step_debug_kernel
	echo "# make check took $(($(date +%s) - t0))s; TAP in ${tap#"$top"/}"
	"$top/tests/tap-summary.sh" "$tap"
}

main "$@"
