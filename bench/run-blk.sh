#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# The in-VM script of "make bench-blk" (started by tests/vm/run-vm.sh).
#
# 1. insmod kvhost.ko and kvhost_blk.ko from $KVHOST_TOP/build/<rel>/
# 2. modprobe the distro's null_blk (nr_devices=0: the bench makes its own)
# 3. run build/user/bench/blk_bench: kvhost-blk and fio's io_uring engine
#    on a null_blk and a tmpfs file; the report goes to
#    $KVHOST_OUT/blk-<rel>-<stamp>.md
# 4. rmmod the project modules again
#
# Env (set by run-vm.sh): KVHOST_KVER KVHOST_TOP KVHOST_OUT KVHOST_KDIR.
# BENCH_ROUNDS, BENCH_SECS, BENCH_FILTER and BENCH_ALL come from
# $KVHOST_TOP/build/bench/blk.env, written by "make bench-blk", if it exists.
set -uo pipefail

rel=${KVHOST_KVER:?} top=${KVHOST_TOP:?} out=${KVHOST_OUT:?} kdir=${KVHOST_KDIR:?}
mods=$top/build/$rel
bench=$top/build/user/bench/blk_bench
fio=/usr/bin/fio

PROJECT_MODULES=(vhost/kvhost.ko vhost_blk/kvhost_blk.ko)
loaded=()

die() { echo "not ok - bench-blk: $*"; exit 1; }

load_modules() {
	local ko
	for ko in "${PROJECT_MODULES[@]}"; do
		insmod "$mods/$ko" || die "insmod $ko ($rel)"
		loaded+=("$(basename "$ko" .ko)")
	done
	[ -d /sys/module/null_blk ] || modprobe -d "$kdir" null_blk nr_devices=0 ||
		die "modprobe null_blk ($rel)"
	[ -c /dev/kvhost-blk ] || die "no /dev/kvhost-blk ($rel)"
}

unload_modules() {
	local i rc=0
	for ((i = ${#loaded[@]} - 1; i >= 0; i--)); do
		rmmod "${loaded[i]}" || rc=1
	done
	return "$rc"
}

main() {
	local report rc all=()
	[ -x "$bench" ] || die "no $bench (make user)"
	[ -x "$fio" ] || die "no $fio on the host (apt-get install fio)"
	# shellcheck disable=SC1091
	[ -f "$top/build/bench/blk.env" ] && . "$top/build/bench/blk.env"
	[ "${BENCH_ALL:-}" = 1 ] && all=(-a)
	load_modules
	report=$out/blk-$rel-$(date -u +%Y%m%d-%H%M%S).md
	echo "# bench-blk on $(uname -r): ${BENCH_ROUNDS:-5} rounds of ${BENCH_SECS:-2} s${BENCH_FILTER:+, rows matching \"$BENCH_FILTER\"}"
	"$bench" "${all[@]}" -r "${BENCH_ROUNDS:-5}" -d "${BENCH_SECS:-2}" -k "$rel" \
		-f "${BENCH_FILTER:-}" -F "$fio" -o "$report"
	rc=$?
	unload_modules || rc=1
	if [ "$rc" = 0 ]; then
		echo "ok - bench-blk ($rel): ${report##*/}"
	else
		echo "not ok - bench-blk ($rel) exited $rc"
	fi
	return "$rc"
}

main
