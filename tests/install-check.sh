#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# "make install" into a scratch DESTDIR, for PREFIX=/usr and the default
# /usr/local: every file where an operator looks for it, with its mode;
# the unit runs the installed kvhostctl; the man page renders without a
# groff warning.  TAP out (a step of scripts/check.sh).
set -uo pipefail

top=$(cd "$(dirname "$0")/.." && pwd -P)
dest=$(mktemp -d /tmp/kvhost-install.XXXXXX)
trap 'rm -rf "$dest"' EXIT

ok() { echo "ok - install: $*"; }
not_ok() { echo "not ok - install: $*"; }
check() { local what=$1; shift; if "$@"; then ok "$what"; else not_ok "$what"; fi; }

# check_prefix PREFIX BINDIR UDEVDIR UNITDIR
check_prefix() {
	local prefix=$1 bin=$2 udev=$3 unit=$4 root=$dest/$5 log
	log=$(make -s -C "$top" install DESTDIR="$root" PREFIX="$prefix" 2>&1) ||
		{ not_ok "make install PREFIX=$prefix: $log"; return; }
	ok "make install DESTDIR=... PREFIX=$prefix"
	check "$bin/kvhostctl, mode 755, runs" \
		test "$(stat -c %a "$root$bin/kvhostctl" 2>/dev/null)" = 755 -a -n "$("$root$bin/kvhostctl" --version)"
	check "$prefix/share/man/man1/kvhostctl.1" test -f "$root$prefix/share/man/man1/kvhostctl.1"
	check "$udev/60-kvhost.rules gives the kvm group both devices" \
		test "$(grep -c 'GROUP="kvm", MODE="0660"' "$root$udev/60-kvhost.rules" 2>/dev/null)" = 2
	check "$unit/kvhost-blk@.service runs $bin/kvhostctl blk" \
		grep -q "^ExecStart=$bin/kvhostctl blk --socket /run/kvhost/blk-%i.sock " "$root$unit/kvhost-blk@.service"
	check "no @BINDIR@ left in the unit" \
		bash -c "! grep -q @BINDIR@ '$root$unit/kvhost-blk@.service'"
}

check_prefix /usr /usr/bin /usr/lib/udev/rules.d /usr/lib/systemd/system usr
check_prefix /usr/local /usr/local/bin /etc/udev/rules.d /etc/systemd/system local
if command -v man >/dev/null; then
	warn=$(LC_ALL=C MANWIDTH=80 man --warnings -l "$top/userspace_ctl/kvhostctl.1" 2>&1 >/dev/null)
	check "kvhostctl.1 renders without warnings${warn:+ ($warn)}" test -z "$warn"
else
	ok "kvhostctl.1 renders without warnings # SKIP no man(1)"
fi
