#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# The kernels kvhost is built and tested against.
#
#   kernels.sh list         newest installed 6.1 and 6.12 header releases, one a line
#   kernels.sh fetch        download + extract the matching linux-image packages
#                           into $KVHOST_CACHE/kernels/<rel> and run depmod (idempotent)
#   kernels.sh dir <rel>    the extracted tree of <rel>
#   kernels.sh kdir <rel>   the kbuild (headers) dir of <rel>
#   kernels.sh debug        the debug kernel's release (scripts/debug-kernel.sh),
#                           nothing if it is not built
#
# KVHOST_CACHE defaults to /var/cache/kvhost.
set -euo pipefail

: "${KVHOST_CACHE:=/var/cache/kvhost}"
top=$(cd "$(dirname "$0")/.." && pwd -P)
SERIES=("6.1" "6.12")

die() { echo "kernels.sh: $*" >&2; exit 1; }

# newest_headers SERIES: release string of the newest /usr/src/linux-headers-SERIES.*-amd64
newest_headers() {
	local series=$1 d rel
	for d in /usr/src/linux-headers-"$series".*-amd64; do
		[ -f "$d/Makefile" ] || continue
		rel=${d#/usr/src/linux-headers-}
		# exact series only (6.1 must not match 6.12)
		case $rel in "$series".[0-9]*) ;; *) continue ;; esac
		[[ ${rel#"$series".} == [0-9]* ]] || continue
		echo "$rel"
	done | sort -V | tail -n1
}

cmd_list() {
	local s rel
	for s in "${SERIES[@]}"; do
		rel=$(newest_headers "$s")
		[ -n "$rel" ] || die "no /usr/src/linux-headers-$s.*-amd64 installed (run: make deps)"
		echo "$rel"
	done
}

cmd_dir() {
	[ $# -eq 1 ] || die "usage: kernels.sh dir <rel>"
	echo "$KVHOST_CACHE/kernels/$1"
}

cmd_debug() {
	"$top/scripts/debug-kernel.sh" rel
}

cmd_kdir() {
	[ $# -eq 1 ] || die "usage: kernels.sh kdir <rel>"
	local d=/usr/src/linux-headers-$1
	# The debug kernel's modules are built against its own tree.
	if [ "$1" = "$(cmd_debug)" ]; then
		"$top/scripts/debug-kernel.sh" kdir
		return
	fi
	[ -f "$d/Makefile" ] || die "headers for $1 not installed: $d"
	echo "$d"
}

# find_deb REL: path of an already downloaded linux-image-REL .deb, or nothing
find_deb() {
	local f
	for f in "$KVHOST_CACHE"/linux-image-"$1"_*.deb; do
		[ -f "$f" ] && { echo "$f"; return 0; }
	done
	return 0
}

fetch_one() {
	local rel=$1 kdir deb tmp
	kdir=$KVHOST_CACHE/kernels/$rel
	if [ -f "$kdir/boot/vmlinuz-$rel" ] && [ -f "$kdir/lib/modules/$rel/modules.dep" ]; then
		echo "kernels: $rel ready in $kdir"
		return 0
	fi
	mkdir -p "$KVHOST_CACHE"
	deb=$(find_deb "$rel")
	if [ -z "$deb" ]; then
		echo "kernels: downloading linux-image-$rel"
		# apt-get download drops privileges to _apt: use a dir it can write to
		tmp=$(mktemp -d)
		chmod 0777 "$tmp"
		(cd "$tmp" && apt-get download -q "linux-image-$rel") ||
			{ rm -rf "$tmp"; die "apt-get download linux-image-$rel failed"; }
		mv "$tmp"/linux-image-"$rel"_*.deb "$KVHOST_CACHE"/
		rm -rf "$tmp"
		deb=$(find_deb "$rel")
		[ -n "$deb" ] || die "downloaded package for $rel not found in $KVHOST_CACHE"
	fi
	echo "kernels: extracting $(basename "$deb")"
	rm -rf "$kdir.tmp"
	mkdir -p "$kdir.tmp"
	dpkg-deb -x "$deb" "$kdir.tmp"
	[ -f "$kdir.tmp/boot/vmlinuz-$rel" ] || die "$deb has no boot/vmlinuz-$rel"
	depmod -b "$kdir.tmp" "$rel"
	rm -rf "$kdir"
	mv "$kdir.tmp" "$kdir"
	echo "kernels: $rel ready in $kdir"
}

cmd_fetch() {
	local rel rels
	rels=$(cmd_list)
	for rel in $rels; do
		fetch_one "$rel"
	done
}

main() {
	local cmd=${1:-}
	[ $# -gt 0 ] && shift
	case $cmd in
	list) cmd_list "$@" ;;
	fetch) cmd_fetch "$@" ;;
	dir) cmd_dir "$@" ;;
	kdir) cmd_kdir "$@" ;;
	debug) cmd_debug ;;
	*) die "usage: kernels.sh list | fetch | dir <rel> | kdir <rel> | debug" ;;
	esac
}

main "$@"
