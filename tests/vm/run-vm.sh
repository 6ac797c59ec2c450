#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Boot kernel <rel> under QEMU (TCG) with the host root shared read-only and
# run one script inside it, as root, in a chroot of the host root.
#
#   tests/vm/run-vm.sh --kernel <rel> --script <abs path> [--timeout SECONDS] [--name NAME]
#
# Inside the VM the script runs with cwd $KVHOST_TOP and
#   KVHOST_KVER  kernel release          KVHOST_TOP   repo top (same path as host)
#   KVHOST_KDIR  extracted kernel tree   KVHOST_OUT   writable results dir (on host too)
#   KVHOST_NAME  run name
# /tmp and /run are tmpfs in the VM; the repo is shared separately so it may live
# anywhere.  The script's output (TAP) is streamed to stdout; the console log
# goes to build/logs/<rel>-<name>.log, the guest dmesg to build/logs/<rel>-<name>.dmesg,
# results stay in build/vm/run/<rel>-<name>/.  Finally the kernel log is scanned
# and a TAP line "ok|not ok - kernel log clean (<rel>, <name>)" printed.
# Exit status: 0 only if the script exited 0, in time, with a clean kernel log.
#
# Env: KVHOST_TEST_TIMEOUT, KVHOST_SKIP_E2E, KVHOST_ONLY, KVHOST_E2E_*, KVHOST_FUZZ_SEED, KVHOST_FUZZ_OPS, KVHOST_NET_DEV are passed into the VM
#      (see tests/vm/in-vm.sh, tests/e2e/qemu-net.sh),
#      KVHOST_CACHE (kernel cache, default /var/cache/kvhost),
#      KVHOST_VM_CONSOLE=1 also streams the serial console to stderr,
#      KVHOST_QEMU_EXTRA extra qemu arguments (word-split).
set -euo pipefail

top=$(cd "$(dirname "$0")/../.." && pwd -P)
here=$top/tests/vm

# Anything the debug kernel's checkers report: KASAN, lockdep ("possible
# circular locking", "suspicious RCU usage", ... all say WARNING or BUG),
# UBSAN, sleeping in atomic context (BUG), list corruption, hangs, lockups.
# kmemleak's suspects are judged by tests/vm/in-vm.sh (kvhost's only).
BAD_RE='Oops|BUG:|WARNING:|KASAN|UBSAN|hung_task|blocked for more than|soft lockup|hard LOCKUP|Call Trace|general protection|[Kk]ernel panic|possible circular locking|suspicious RCU usage|sleeping function called from invalid context|list_add corruption|list_del corruption'
HARMLESS_RE='loading out-of-tree module taints kernel|module verification failed'

die() { echo "run-vm: $*" >&2; exit 2; }

usage() {
	echo "usage: run-vm.sh --kernel <rel> --script <abs path> [--timeout SECONDS] [--name NAME]" >&2
	exit 2
}

rel='' script='' timeout=600 name=''
parse_args() {
	while [ $# -gt 0 ]; do
		case $1 in
		--kernel) rel=${2:-}; shift 2 || usage ;;
		--script) script=${2:-}; shift 2 || usage ;;
		--timeout) timeout=${2:-}; shift 2 || usage ;;
		--name) name=${2:-}; shift 2 || usage ;;
		-h|--help) usage ;;
		*) echo "run-vm: unknown argument $1" >&2; usage ;;
		esac
	done
	{ [ -n "$rel" ] && [ -n "$script" ]; } || usage
	case $script in /*) ;; *) die "--script must be an absolute path: $script" ;; esac
	[ -f "$script" ] || die "no such script: $script"
	[[ $timeout =~ ^[0-9]+$ ]] || die "--timeout must be seconds: $timeout"
	[ -n "$name" ] || name=$(basename "$script" .sh)
	[[ $name =~ ^[A-Za-z0-9._-]+$ ]] || die "--name may only contain [A-Za-z0-9._-]: $name"
}

# check_path P: the path goes into run.env in single quotes and onto 9p mounts
check_path() {
	[[ $1 =~ ^[A-Za-z0-9._+/,@=:-]+$ ]] || die "unsupported characters in path: $1"
}

# ensure_initramfs: (re)build build/vm/initramfs-<rel>.cpio.gz if stale
ensure_initramfs() {
	initrd=$top/build/vm/initramfs-$rel.cpio.gz
	if [ ! -s "$initrd" ] || [ "$here/mkinitramfs.sh" -nt "$initrd" ]; then
		"$here/mkinitramfs.sh" "$rel" "$initrd" >&2
	fi
}

# guest_script_path: where the VM finds the script (copied if the VM can't see it)
guest_script_path() {
	case $script in
	"$top"/*) echo "$script" ;;
	/tmp/*|/run/*|/proc/*|/sys/*|/dev/*)
		cp "$script" "$out/script"
		chmod +x "$out/script"
		echo "$out/script" ;;
	*) echo "$script" ;;
	esac
}

write_run_env() {
	local gscript
	gscript=$(guest_script_path)
	check_path "$gscript"
	cat >"$out/run.env" <<ENV
export KVHOST_KVER='$rel'
export KVHOST_TOP='$top'
export KVHOST_OUT='$out'
export KVHOST_KDIR='$kdir'
export KVHOST_NAME='$name'
export KVHOST_SCRIPT='$gscript'
export KVHOST_CMD='exec /bin/bash $here/guest-run.sh'
ENV
	forward_env >>"$out/run.env"
}

# forward_env: test knobs set on the host, as exports for run.env
forward_env() {
	local v
	for v in $(compgen -v | grep -E '^KVHOST_(TEST_TIMEOUT|SKIP_E2E|ONLY|KMEMLEAK_EACH|E2E_[A-Z_]+|FUZZ_SEED|FUZZ_OPS|NET_DEV)$' || true); do
		[[ ${!v} =~ ^[][A-Za-z0-9._+/,@=:*?-]*$ ]] || die "unsupported characters in $v: ${!v}"
		echo "export $v='${!v}'"
	done
}

run_qemu() {
	local append="console=ttyS0 loglevel=5 panic=-1 printk.time=1"
	local extra=()
	# The debug kernel: under KASAN and lockdep, ACPI's PCI interrupt
	# routing method runs into ACPI's 30 s loop timeout once per PCI device
	# (90 s of every boot), and the virtio devices interrupt by MSI-X, so
	# the routing is not needed; and with -cpu max's 5-level paging an
	# interrupt early in boot was seen to make KASAN report a wild access
	# in the kernel's own IRQ code, so it runs on 4-level page tables.
	case $rel in *-kvdebug) append+=" acpi=noirq no5lvl" ;; esac
	[ -z "${KVHOST_QEMU_EXTRA:-}" ] || read -r -a extra <<<"$KVHOST_QEMU_EXTRA"
	local p9='security_model=none,multidevs=remap'
	timeout -k 10 "$timeout" qemu-system-x86_64 \
		-m 2048 -smp 2 -cpu max -nographic -no-reboot -nodefaults \
		-monitor none -serial "file:$log" \
		-kernel "$kdir/boot/vmlinuz-$rel" -initrd "$initrd" -append "$append" \
		-virtfs "local,path=/,mount_tag=hostroot,readonly=on,$p9" \
		-virtfs "local,path=$top,mount_tag=kvtop,readonly=on,$p9" \
		-virtfs "local,path=$out,mount_tag=kvout,$p9" \
		"${extra[@]}" </dev/null >"$out/qemu.stderr" 2>&1
}

# boot: run QEMU, stream the script's output while it runs; sets qemu_rc
boot() {
	local qpid tpid cpid=
	: >"$log"
	run_qemu &
	qpid=$!
	tail -n +1 -F --pid="$qpid" "$out/output.tap" 2>/dev/null &
	tpid=$!
	if [ "${KVHOST_VM_CONSOLE:-0}" = 1 ]; then
		tail -n +1 -f --pid="$qpid" "$log" >&2 &
		cpid=$!
	fi
	qemu_rc=0
	wait "$qpid" || qemu_rc=$?
	wait "$tpid" || true
	[ -z "$cpid" ] || wait "$cpid" || true
}

# first_complaint: first offending kernel log line, if any
first_complaint() {
	{
		cat "$out/dmesg.txt" 2>/dev/null
		# console: only printk lines (timestamped), not the script's own output
		grep -aE '^\[ *[0-9]+\.[0-9]+\]' "$log" || true
	} | grep -aE "$BAD_RE" | grep -avE "$HARMLESS_RE" | head -n1 |
		sed -E 's/^\[ *[0-9]+\.[0-9]+\] *//' | tr -d '\r' || true
}

report() {
	local status=125 bad rc=0 secs=$1
	if [ "$qemu_rc" = 124 ] || [ "$qemu_rc" = 137 ]; then
		echo "not ok - $name timed out after ${timeout}s ($rel)"
		rc=1
	elif [ -f "$out/status" ]; then
		status=$(cat "$out/status")
		if [ "$status" != 0 ]; then
			rc=1
			grep -q '^not ok' "$out/output.tap" 2>/dev/null ||
				echo "not ok - $name exited $status ($rel)"
		fi
	else
		echo "not ok - $name did not finish: VM died, qemu exit $qemu_rc ($rel); see $log"
		sed 's/^/# qemu: /' "$out/qemu.stderr" | head -n 20
		rc=1
	fi
	[ -f "$out/dmesg.txt" ] && cp "$out/dmesg.txt" "$top/build/logs/$rel-$name.dmesg"
	bad=$(first_complaint)
	if [ -n "$bad" ]; then
		echo "not ok - kernel log clean ($rel, $name): $bad"
		rc=1
	else
		echo "ok - kernel log clean ($rel, $name)"
	fi
	echo "# $rel $name: VM ran ${secs}s, console log $log"
	return "$rc"
}

main() {
	local t0
	parse_args "$@"
	command -v qemu-system-x86_64 >/dev/null || die "qemu-system-x86_64 not installed (make deps)"
	kdir=$("$top/scripts/kernels.sh" dir "$rel")
	[ -f "$kdir/boot/vmlinuz-$rel" ] || die "no $kdir/boot/vmlinuz-$rel (run: scripts/kernels.sh fetch)"
	check_path "$top"; check_path "$kdir"
	ensure_initramfs
	out=$top/build/vm/run/$rel-$name
	log=$top/build/logs/$rel-$name.log
	rm -rf "$out"
	mkdir -p "$out" "$top/build/logs"
	write_run_env
	t0=$(date +%s)
	boot
	report $(($(date +%s) - t0))
}

main "$@"
