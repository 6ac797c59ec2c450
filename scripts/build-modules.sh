#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Build the kvhost kernel modules for one kernel in its own copy of the sources.
#
#   scripts/build-modules.sh <rel> [modules|sparse|clean]
#
# build/<rel>/ receives Kbuild + the module source dirs (+ uapi), then
#   make -C /usr/src/linux-headers-<rel> M=<top>/build/<rel> modules
# "sparse" re-checks every file with C=2 and fails on any sparse warning or
# error in our own files (saved in build/logs/sparse-<rel>.log).
# Env: KDIR overrides the headers dir (default /usr/src/linux-headers-<rel>);
#      KVHOST_SRC_DIRS overrides the copied dirs; extra make args in KBUILD_ARGS.
set -euo pipefail

top=$(cd "$(dirname "$0")/.." && pwd -P)
SRC_DIRS=${KVHOST_SRC_DIRS:-"uapi vhost vhost_net vhost_blk tests/kmod"}
# build products: never copied, never pruned
ARTEFACTS=('*.o' '*.ko' '*.mod' '*.mod.c' '.*.cmd' '*.a' '*.symvers' 'modules.order'
	'.tmp*' '*.dwo' '*.su' '*.i' '*.s' '*.lst' '.cache.mk')

die() { echo "build-modules: $*" >&2; exit 1; }

is_artefact() {
	local f=${1##*/} p
	for p in "${ARTEFACTS[@]}"; do
		# shellcheck disable=SC2053
		[[ $f == $p ]] && return 0
	done
	return 1
}

# sync_dir SRC DST: copy SRC's sources over DST (keeping mtimes), drop stale ones
sync_dir() {
	local src=$1 dst=$2 f excl=()
	for f in "${ARTEFACTS[@]}"; do excl+=(--exclude="$f"); done
	mkdir -p "$dst"
	tar -C "$src" -cf - "${excl[@]}" . | tar -C "$dst" -xf -
	(cd "$dst" && find . -type f) | while read -r f; do
		is_artefact "$f" && continue
		[ -e "$src/$f" ] || rm -f "$dst/$f"
	done
}

sync_tree() {
	local d
	mkdir -p "$bdir"
	cp -p "$top/Kbuild" "$bdir/Kbuild"
	for d in $SRC_DIRS; do
		if [ -d "$top/$d" ]; then
			sync_dir "$top/$d" "$bdir/$d"
		else
			rm -rf "${bdir:?}/$d"
		fi
	done
}

kmake() {
	local j=()
	# parallel unless a parent make already runs a jobserver
	[[ ${MAKEFLAGS:-} == *jobserver* ]] || j=(-j"$(nproc)")
	# shellcheck disable=SC2086
	make "${j[@]}" -C "$kdir" M="$bdir" ${KBUILD_ARGS:-} "$@"
}

do_modules() {
	sync_tree
	if ! kmake modules; then
		# no stale .ko may survive a failed build
		find "$bdir" -name '*.ko' -delete
		die "module build for $rel failed"
	fi
}

do_sparse() {
	local log=$top/build/logs/sparse-$rel.log ours
	command -v sparse >/dev/null || die "sparse not installed (make deps)"
	sync_tree
	mkdir -p "$top/build/logs"
	kmake C=2 CHECK=sparse modules 2>&1 | tee "$log" >/dev/null || {
		sed 's/^/# /' "$log" | tail -n 30
		die "sparse build for $rel failed"
	}
	ours=$(awk -v bdir="$bdir/" -v dirs="$SRC_DIRS" '
		BEGIN { n = split(dirs, d, " ") }
		!/:[0-9]+:[0-9]+: (warning|error):/ { next }
		index($0, bdir) == 1 { print; next }
		{ for (i = 1; i <= n; i++) if (index($0, d[i] "/") == 1) { print; next } }
	' "$log")
	if [ -n "$ours" ]; then
		echo "${ours//"$bdir/"/}" >&2
		die "sparse warnings for $rel (see $log)"
	fi
	echo "build-modules: sparse clean for $rel"
}

main() {
	[ $# -ge 1 ] || die "usage: build-modules.sh <rel> [modules|sparse|clean]"
	rel=$1
	bdir=$top/build/$rel
	[ -f "$top/Kbuild" ] || die "no $top/Kbuild"
	case ${2:-modules} in
	modules) kdir=${KDIR:-$("$top/scripts/kernels.sh" kdir "$rel")}; do_modules ;;
	sparse) kdir=${KDIR:-$("$top/scripts/kernels.sh" kdir "$rel")}; do_sparse ;;
	clean) rm -rf "$bdir" ;;
	*) die "unknown action ${2}" ;;
	esac
}

main "$@"
