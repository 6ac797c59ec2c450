#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# The debug kernel of the 6.1 line: Debian's own linux-source-6.1 (the same
# source as the stock 6.1 kernel we test) built with KASAN, lockdep,
# kmemleak, UBSAN, fault injection and gcov support
# (scripts/debug-kernel.config).  Built once per machine and cached.
#
#   debug-kernel.sh build    build unless cached (17 min on 2 cores), then
#                            install it where the VM runner finds kernels
#   debug-kernel.sh rel      its release string if built, else nothing
#   debug-kernel.sh kdir     its build tree (for out-of-tree modules)
#
# Cache: $KVHOST_CACHE/debug/<key>/ with key = hash of the source package
# version and the config fragment; the kernel is installed as
# $KVHOST_CACHE/kernels/<rel>/ like the stock ones (boot/, lib/modules/).
# KVHOST_CACHE defaults to /var/cache/kvhost.
set -euo pipefail

: "${KVHOST_CACHE:=/var/cache/kvhost}"
top=$(cd "$(dirname "$0")/.." && pwd -P)
FRAGMENT=$top/scripts/debug-kernel.config
SRC_PKG=linux-source-6.1
LOCALVERSION=-kvdebug

die() { echo "debug-kernel: $*" >&2; exit 1; }

src_version() {
	dpkg-query -W -f='${Version}' "$SRC_PKG" 2>/dev/null ||
		die "$SRC_PKG is not installed (run: make deps)"
}

cache_key() {
	{ src_version; cat "$FRAGMENT"; } | sha256sum | cut -c1-16
}

cache_dir() { echo "$KVHOST_CACHE/debug/$(cache_key)"; }

# The fragment's lines as scripts/config arguments.
fragment_args() {
	sed -e 's/#.*//' -e '/^[[:space:]]*$/d' "$FRAGMENT"
}

cmd_rel() {
	local d
	d=$(cache_dir 2>/dev/null) || return 0
	[ -f "$d/done" ] && cat "$d/release"
	return 0
}

cmd_kdir() {
	local d
	d=$(cache_dir)
	[ -f "$d/done" ] || die "not built (run: scripts/debug-kernel.sh build)"
	echo "$d/build"
}

build() {
	local d=$1 src build rel stage inst t0 tarball
	t0=$(date +%s)
	tarball=$(ls /usr/src/"$SRC_PKG".tar.* 2>/dev/null | head -n1)
	[ -n "$tarball" ] || die "no /usr/src/$SRC_PKG.tar.* (run: make deps)"
	# Builds of an older key (source or config since changed) go.
	rm -rf "$KVHOST_CACHE/debug"
	mkdir -p "$d"
	echo "debug-kernel: extracting $tarball"
	tar -C "$d" -xf "$tarball"
	src=$d/$SRC_PKG
	build=$d/build
	mkdir -p "$build"
	make -s -C "$src" O="$build" defconfig
	make -s -C "$src" O="$build" kvm_guest.config
	# shellcheck disable=SC2046  # one word per argument, by design
	"$src/scripts/config" --file "$build/.config" \
		--set-str LOCALVERSION "$LOCALVERSION" -d LOCALVERSION_AUTO \
		$(fragment_args)
	make -s -C "$src" O="$build" olddefconfig
	fragment_args | awk '$1 == "-e" || $1 == "-m" { print $2 }' | while read -r opt; do
		grep -q "^CONFIG_$opt=[ym]" "$build/.config" ||
			echo "debug-kernel: note: CONFIG_$opt did not stick"
	done
	echo "debug-kernel: building (make -j$(nproc) bzImage modules)"
	make -s -C "$src" O="$build" -j"$(nproc)" bzImage modules
	rel=$(make -s -C "$src" O="$build" kernelrelease)
	stage=$d/install
	rm -rf "$stage"
	make -s -C "$src" O="$build" modules_install INSTALL_MOD_PATH="$stage" \
		INSTALL_MOD_STRIP=1 DEPMOD=/bin/true
	install -D -m 0644 "$build/arch/x86/boot/bzImage" "$stage/boot/vmlinuz-$rel"
	depmod -b "$stage" "$rel"
	# Out-of-tree modules are built against the tree itself.
	rm -f "$stage/lib/modules/$rel/build" "$stage/lib/modules/$rel/source"
	inst=$KVHOST_CACHE/kernels/$rel
	rm -rf "$inst"
	mkdir -p "$(dirname "$inst")"
	mv "$stage" "$inst"
	echo "$rel" >"$d/release"
	touch "$d/done"
	echo "debug-kernel: $rel built in $(($(date +%s) - t0)) s, installed in $inst"
}

cmd_build() {
	local d rel
	d=$(cache_dir)
	if [ -f "$d/done" ]; then
		rel=$(cat "$d/release")
		if [ -f "$KVHOST_CACHE/kernels/$rel/boot/vmlinuz-$rel" ]; then
			echo "debug-kernel: $rel cached in $d"
			return 0
		fi
	fi
	build "$d"
}

case ${1:-} in
build) cmd_build ;;
rel) cmd_rel ;;
kdir) cmd_kdir ;;
*) die "usage: debug-kernel.sh build | rel | kdir" ;;
esac
