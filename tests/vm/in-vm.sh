#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# The standard in-VM test run of "make check" (started by tests/vm/run-vm.sh).
#
# 1. insmod the project modules built for this kernel from $KVHOST_TOP/build/<rel>/
# 2. modprobe the distro's tun vhost_iotlb vhost vhost_net next to them, and
#    veth macvlan macvtap tap for t_net's macvtap backend
# 3. run every executable in $KVHOST_TOP/build/user/tests/integration/ (TAP
#    passed through; a program exiting non-zero without "not ok" adds one)
# 4. run tests/e2e/qemu-net.sh: stock QEMU boots an inner guest on
#    /dev/kvhost-net (and on /dev/vhost-net for reference)
# 5. rmmod the project modules in reverse order, save dmesg to $KVHOST_OUT
#
# On a kernel with kmemleak (the debug kernel) the integration programs and
# the unload are each followed by two scans; an unreferenced object
# allocated from a kvhost module fails the run, with kmemleak's report (its
# backtrace names the allocation site) in the TAP diagnostics.  A pair of
# scans costs 46-77 s under KASAN and TCG, so it runs once after all the
# programs; KVHOST_KMEMLEAK_EACH=1 runs it after every program instead.  On
# a kernel with gcov (CONFIG_GCOV_KERNEL), the modules' coverage data is
# copied to $KVHOST_OUT/gcov/ before the unload.
#
# Env (set by run-vm.sh): KVHOST_KVER KVHOST_TOP KVHOST_OUT KVHOST_KDIR
# Optional: KVHOST_TEST_TIMEOUT seconds per integration program (default 300),
#           KVHOST_E2E_TIMEOUT seconds for tests/e2e/qemu-net.sh (default 3000),
#           KVHOST_SKIP_E2E=1 skips it,
#           KVHOST_KMEMLEAK_EACH=1 scans for leaks after every program,
#           KVHOST_ONLY=GLOB runs only the integration programs matching it
#           (a developer's shortcut; make check never sets it).
set -uo pipefail

rel=${KVHOST_KVER:?} top=${KVHOST_TOP:?} out=${KVHOST_OUT:?} kdir=${KVHOST_KDIR:?}
mods=$top/build/$rel
itests=$top/build/user/tests/integration
prog_timeout=${KVHOST_TEST_TIMEOUT:-300}
e2e_timeout=${KVHOST_E2E_TIMEOUT:-3000}

# module path (relative to build/<rel>) : the source dir that makes it required
PROJECT_MODULES=(
	"vhost/kvhost.ko:vhost"
	"tests/kmod/kvhost_test.ko:tests/kmod"
	"vhost_net/kvhost_net.ko:vhost_net"
	"vhost_blk/kvhost_blk.ko:vhost_blk"
)
DISTRO_MODULES=(tun vhost_iotlb vhost vhost_net)
# Best effort: without them t_net reports its macvtap case as skipped.
OPTIONAL_DISTRO_MODULES=(veth macvlan macvtap tap)

failures=0
loaded=()
KMEMLEAK=/sys/kernel/debug/kmemleak
GCOV_DIR=/sys/kernel/debug/gcov

ok() { echo "ok - $*"; }
not_ok() { echo "not ok - $*"; failures=$((failures + 1)); }

load_project_modules() {
	local ent ko dir err
	for ent in "${PROJECT_MODULES[@]}"; do
		ko=${ent%%:*} dir=${ent#*:}
		if [ ! -f "$mods/$ko" ]; then
			if [ -f "$top/$dir/Kbuild" ] || [ "$dir" = vhost ] || [ "$dir" = tests/kmod ]; then
				not_ok "$(basename "$ko") missing ($rel): no build/$rel/$ko"
			fi
			continue
		fi
		if err=$(insmod "$mods/$ko" 2>&1); then
			ok "insmod $(basename "$ko") ($rel)"
			loaded+=("$(basename "$ko" .ko)")
		else
			not_ok "insmod $(basename "$ko") ($rel): $err"
		fi
	done
}

load_distro_modules() {
	local m err
	for m in "${DISTRO_MODULES[@]}"; do
		if ! err=$(modprobe -d "$kdir" "$m" 2>&1); then
			not_ok "in-tree vhost_net loads next to kvhost ($rel): modprobe $m: $err"
			return
		fi
	done
	if [ -c /dev/vhost-net ] && grep -q '^vhost_net ' /proc/modules; then
		ok "in-tree vhost_net loads next to kvhost ($rel)"
	else
		not_ok "in-tree vhost_net loads next to kvhost ($rel): no /dev/vhost-net"
	fi
	for m in "${OPTIONAL_DISTRO_MODULES[@]}"; do
		modprobe -d "$kdir" "$m" 2>/dev/null || echo "# modprobe $m failed ($rel)"
	done
}

kmemleak_on() { [ -w "$KMEMLEAK" ]; }

# kmemleak_clear: forget what was suspected so far (boot, other programs);
# and no scans of kmemleak's own every 10 min, beside the tests (half a
# minute of a CPU each under KASAN): the checks scan when they need to
kmemleak_clear() {
	kmemleak_on || return 0
	{ echo scan=off >"$KMEMLEAK" && echo scan >"$KMEMLEAK" &&
		echo clear >"$KMEMLEAK"; } 2>/dev/null || true
}

# kmemleak_check WHAT: two scans (kmemleak needs them); a leaked object with
# a kvhost module in its backtrace is a failure, reported in full
kmemleak_check() {
	local report
	kmemleak_on || return 0
	echo scan >"$KMEMLEAK" 2>/dev/null || true
	sleep 1
	echo scan >"$KMEMLEAK" 2>/dev/null || true
	report=$(awk 'BEGIN { RS = "unreferenced object" }
		NR > 1 && /\[kvhost/ { n++; if (n == 1) first = $0 }
		END { if (n) printf "%d leaked objects; the first:\nunreferenced object%s", n, first }' \
		"$KMEMLEAK" 2>/dev/null)
	if [ -n "$report" ]; then
		not_ok "kmemleak: nothing of kvhost leaked after $1 ($rel)"
		echo "$report" | head -n 40 | sed 's/^/#   /'
	else
		ok "kmemleak: nothing of kvhost leaked after $1 ($rel)"
	fi
	echo clear >"$KMEMLEAK" 2>/dev/null || true
}

# gcov_save: the modules' coverage counters, before they go with the unload
gcov_save() {
	local d
	[ -d "$GCOV_DIR" ] || return 0
	d=$(find "$GCOV_DIR" -type d -path "*/build/$rel" 2>/dev/null | head -n1)
	[ -n "$d" ] || { echo "# gcov: no data for build/$rel"; return 0; }
	mkdir -p "$out/gcov"
	(cd "$d" && find . -name '*.gcda' -exec cp --parents {} "$out/gcov/" \;) ||
		echo "# gcov: copy failed"
}

# run_program PROG [TIMEOUT [TIER]]: pass its TAP through, count a silent
# non-zero exit
run_program() {
	local prog=$1 limit=${2:-$prog_timeout} tier=${3:-integration} name rc log t0
	name=$(basename "$prog")
	log=$(mktemp)
	echo "# $tier: $name"
	t0=$(date +%s)
	timeout -k 5 "$limit" "$prog" </dev/null 2>&1 |
		sed -u -E "s/^([0-9]+\.\.[0-9]+.*)$/# $name: \1/" | tee "$log"
	rc=${PIPESTATUS[0]}
	if [ "$rc" = 124 ] || [ "$rc" = 137 ]; then
		not_ok "$name timed out after ${limit}s ($rel)"
	elif [ "$rc" != 0 ] && ! grep -q '^not ok' "$log"; then
		not_ok "$name exited $rc ($rel)"
	fi
	grep -q '^not ok' "$log" && failures=$((failures + 1))
	rm -f "$log"
	echo "# $name took $(($(date +%s) - t0)) s"
	[ "${KVHOST_KMEMLEAK_EACH:-0}" != 1 ] || timed_kmemleak_check "$name"
	return 0
}

# timed_kmemleak_check WHAT: kmemleak_check, and what its scans cost
timed_kmemleak_check() {
	local t0
	kmemleak_on || return 0
	t0=$(date +%s)
	kmemleak_check "$1"
	echo "# kmemleak scans after $1 took $(($(date +%s) - t0)) s"
}

run_integration() {
	local prog n=0
	for prog in "$itests"/t_*; do
		{ [ -f "$prog" ] && [ -x "$prog" ]; } || continue
		# shellcheck disable=SC2254
		case ${prog##*/} in ${KVHOST_ONLY:-*}) ;; *) continue ;; esac
		run_program "$prog"
		n=$((n + 1))
	done
	[ "$n" -gt 0 ] || not_ok "no integration test programs in build/user/tests/integration ($rel)"
	[ "${KVHOST_KMEMLEAK_EACH:-0}" = 1 ] || timed_kmemleak_check "the integration programs"
}

# run_e2e: stock QEMU on /dev/kvhost-net in a nested guest (tests/e2e/)
run_e2e() {
	if [ "${KVHOST_SKIP_E2E:-0}" = 1 ]; then
		echo "ok - e2e qemu-net ($rel) # SKIP KVHOST_SKIP_E2E=1"
		return
	fi
	run_program "$top/tests/e2e/qemu-net.sh" "$e2e_timeout" e2e
}

unload_project_modules() {
	local i m err
	gcov_save
	for ((i = ${#loaded[@]} - 1; i >= 0; i--)); do
		m=${loaded[i]}
		if err=$(rmmod "$m" 2>&1); then
			ok "rmmod $m ($rel)"
		else
			not_ok "rmmod $m ($rel): $err"
		fi
	done
}

main() {
	echo "# kvhost in-vm tests on $(uname -r)"
	[ "$(uname -r)" = "$rel" ] || not_ok "running kernel $(uname -r) is not $rel"
	load_project_modules
	load_distro_modules
	kmemleak_clear
	run_integration
	run_e2e
	unload_project_modules
	timed_kmemleak_check "rmmod of every module"
	dmesg >"$out/dmesg.txt" 2>&1
	[ "$failures" = 0 ]
}

main
