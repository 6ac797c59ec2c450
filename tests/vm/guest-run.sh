#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Runs INSIDE the test VM (chroot of the host root), started by the initramfs
# /init on behalf of tests/vm/run-vm.sh.  Runs $KVHOST_SCRIPT with the kvhost
# environment, tees its output to $KVHOST_OUT/output.tap and the console,
# then records the exit status and the kernel log in $KVHOST_OUT.
set -uo pipefail

export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
export HOME=/root LANG=C.UTF-8 TERM=dumb
export KVHOST_KVER KVHOST_TOP KVHOST_OUT KVHOST_KDIR KVHOST_SCRIPT KVHOST_NAME

out=$KVHOST_OUT

run_script() {
	cd "$KVHOST_TOP" || return 125
	if [ -x "$KVHOST_SCRIPT" ]; then
		"$KVHOST_SCRIPT"
	else
		/bin/bash "$KVHOST_SCRIPT"
	fi
}

# kmemleak (only on kernels built with it): what it suspects at the end,
# kept for reference in kmemleak.txt.  Only leaks of kvhost's fail a run,
# checked by tests/vm/in-vm.sh, whose last scans were just made (a scan is
# half a minute under KASAN); the kernel's own suspects (early boot
# allocations and the like) are no finding of ours.
kmemleak_report() {
	local f=/sys/kernel/debug/kmemleak
	[ -w "$f" ] || return 0
	cat "$f" >"$out/kmemleak.txt" 2>/dev/null
	return 0
}

main() {
	local rc
	run_script </dev/null 2>&1 | tee "$out/output.tap"
	rc=${PIPESTATUS[0]}
	echo "$rc" >"$out/status"
	kmemleak_report
	dmesg >"$out/dmesg.txt" 2>&1 || cat /dev/kmsg >"$out/dmesg.txt"
	sync
}

main
