#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# The in-VM script of "make bench-net" (started by tests/vm/run-vm.sh).
#
# 1. insmod kvhost.ko and kvhost_net.ko from $KVHOST_TOP/build/<rel>/
# 2. modprobe the distro's tun vhost_iotlb vhost vhost_net next to them
# 3. run build/user/bench/net_bench against /dev/kvhost-net and
#    /dev/vhost-net; the report goes to $KVHOST_OUT/net-<rel>-<stamp>.md
# 4. rmmod the project modules again
#
# Env (set by run-vm.sh): KVHOST_KVER KVHOST_TOP KVHOST_OUT KVHOST_KDIR.
# BENCH_ROUNDS and BENCH_SECS come from $KVHOST_TOP/build/bench/net.env,
# written by "make bench-net", if it exists.
set -uo pipefail

rel=${KVHOST_KVER:?} top=${KVHOST_TOP:?} out=${KVHOST_OUT:?} kdir=${KVHOST_KDIR:?}
mods=$top/build/$rel
bench=$top/build/user/bench/net_bench

PROJECT_MODULES=(vhost/kvhost.ko vhost_net/kvhost_net.ko)
DISTRO_MODULES=(tun vhost_iotlb vhost vhost_net)
loaded=()

die() { echo "not ok - bench-net: $*"; exit 1; }

load_modules() {
	local ko m
	for ko in "${PROJECT_MODULES[@]}"; do
		insmod "$mods/$ko" || die "insmod $ko ($rel)"
		loaded+=("$(basename "$ko" .ko)")
	done
	for m in "${DISTRO_MODULES[@]}"; do
		modprobe -d "$kdir" "$m" || die "modprobe $m ($rel)"
	done
	[ -c /dev/kvhost-net ] && [ -c /dev/vhost-net ] ||
		die "no /dev/kvhost-net or /dev/vhost-net ($rel)"
}

unload_modules() {
	local i rc=0
	for ((i = ${#loaded[@]} - 1; i >= 0; i--)); do
		rmmod "${loaded[i]}" || rc=1
	done
	return "$rc"
}

main() {
	local report rc
	[ -x "$bench" ] || die "no $bench (make user)"
	# shellcheck disable=SC1091
	[ -f "$top/build/bench/net.env" ] && . "$top/build/bench/net.env"
	load_modules
	report=$out/net-$rel-$(date -u +%Y%m%d-%H%M%S).md
	echo "# bench-net on $(uname -r): ${BENCH_ROUNDS:-5} rounds of ${BENCH_SECS:-2} s"
	"$bench" -r "${BENCH_ROUNDS:-5}" -d "${BENCH_SECS:-2}" -k "$rel" -o "$report"
	rc=$?
	unload_modules || rc=1
	if [ "$rc" = 0 ]; then
		echo "ok - bench-net ($rel): ${report##*/}"
	else
		echo "not ok - bench-net ($rel) exited $rc"
	fi
	return "$rc"
}

main
