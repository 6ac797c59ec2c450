#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# shellcheck disable=SC2317  # functions run from traps and "status"
# End to end: stock QEMU drives /dev/kvhost-net.  Runs inside the test VM
# (tests/vm/in-vm.sh, or alone: tests/vm/run-vm.sh --script this file).
#
# In a private network namespace, a tap kvtap0 (192.168.77.1/24) faces an
# inner guest (same kernel, busybox initramfs with tests/e2e/guest-init.sh)
# booted by the VM's qemu-system-x86_64 with
#     -netdev tap,ifname=kvtap0,vhost=on,vhostfd=5   (fd 5: /dev/kvhost-net)
# The guest pings 192.168.77.1, downloads a random file from busybox httpd,
# sends it back to a busybox nc listener and powers off; on kvhost-net it
# first reboots once (QEMU running on: vhost stopped and started on the new
# kernel's rings) and does it all again.  Checked: the ping,
# both checksums (against the file served), QEMU's stderr (it falls back to
# userspace virtio-net silently but for a warning), and kvhost's own counters
# (KVHOST_NET_GET_STATS on the very fd QEMU used) must show the traffic.
# Then the same with the in-tree /dev/vhost-net as reference.  TAP out.
#
# Needs kvhost, kvhost_net, tun, vhost_net loaded (loads what is missing from
# build/<rel>/ and the kernel tree, and unloads only that at the end).
# Inner consoles and QEMU stderr are saved as $KVHOST_OUT/e2e-*.
# Env: KVHOST_KVER KVHOST_TOP KVHOST_KDIR KVHOST_OUT (from run-vm.sh);
#      KVHOST_E2E_MIB          transfer size in MiB (default 1)
#      KVHOST_E2E_BOOT_TIMEOUT seconds from QEMU start to the guest's init
#                              (default 720; 85-140 s seen on an idle 2-core host,
#                              391 s on one whose CPU was stolen 20% of the time)
#      KVHOST_E2E_RUN_TIMEOUT  seconds from init to "done" (default 150)
#      KVHOST_E2E_KVHOST_DEV   device handed to QEMU as vhostfd (default
#                              /dev/kvhost-net; point elsewhere to see it fail)
#      KVHOST_E2E_REFERENCE=0  skip the in-tree /dev/vhost-net reference run
set -eEuo pipefail
trap 'echo "not ok - e2e: script error at ${BASH_SOURCE[0]##*/} line $LINENO: $BASH_COMMAND"' ERR

rel=${KVHOST_KVER:?} top=${KVHOST_TOP:?} kdir=${KVHOST_KDIR:?}
self=$(readlink -f "$0")
here=$(dirname "$self")
MIB=${KVHOST_E2E_MIB:-1}
BOOT_TIMEOUT=${KVHOST_E2E_BOOT_TIMEOUT:-720}
RUN_TIMEOUT=${KVHOST_E2E_RUN_TIMEOUT:-150}
KVHOST_DEV=${KVHOST_E2E_KVHOST_DEV:-/dev/kvhost-net}
REFERENCE=${KVHOST_E2E_REFERENCE:-1}
STATS=$top/build/user/tests/e2e/kvnet_stats
WORK=/tmp/kvhost-e2e
TAP_IF=kvtap0
HOST_IP=192.168.77.1
GUEST_IP=192.168.77.2/24
HTTP_PORT=8080
PUT_PORT=8081
VHOSTFD=5

failures=0
ok() { echo "ok - $*"; }
not_ok() { echo "not ok - $*"; failures=$((failures + 1)); }
diag() { echo "# $*"; }
# status CMD...: 0 or 1, as text
status() { if "$@"; then echo 0; else echo 1; fi; }
# check STATUS NAME [WHY]: ok if status 0, else not ok with WHY
check() {
	if [ "$1" = 0 ]; then ok "$2 ($rel)"; else not_ok "$2 ($rel)${3:+: $3}"; fi
}

# ---------------------------------------------------------------- modules --

loaded=()

# load_missing: what the test needs and in-vm.sh did not load
load_missing() {
	local ko m
	for ko in vhost/kvhost.ko vhost_net/kvhost_net.ko; do
		m=$(basename "$ko" .ko)
		grep -q "^$m " /proc/modules && continue
		insmod "$top/build/$rel/$ko" || { not_ok "insmod $m ($rel)"; return 1; }
		loaded+=("$m")
	done
	for m in tun vhost_iotlb vhost vhost_net; do
		grep -q "^$m " /proc/modules && continue
		modprobe -d "$kdir" "$m" || { not_ok "modprobe $m ($rel)"; return 1; }
		loaded+=("$m")
	done
}

unload_loaded() {
	local i
	for ((i = ${#loaded[@]} - 1; i >= 0; i--)); do
		rmmod "${loaded[i]}" || not_ok "rmmod ${loaded[i]} ($rel)"
	done
}

preflight() {
	local f
	command -v qemu-system-x86_64 >/dev/null || { not_ok "e2e: no qemu-system-x86_64 ($rel)"; return 1; }
	[ -x "$STATS" ] || { not_ok "e2e: no $STATS (make user) ($rel)"; return 1; }
	for f in /dev/net/tun /dev/kvhost-net /dev/vhost-net; do
		[ -c "$f" ] || { not_ok "e2e: no $f ($rel)"; return 1; }
	done
}

# ------------------------------------------------------------ environment --

now_ms() { date +%s%3N; }

# secs MS: milliseconds as seconds with one decimal
secs() { printf '%d.%d' $(($1 / 1000)) $(($1 % 1000 / 100)); }

pids=()
declare -A get_cs=() put_cs=()   # transfer times per run, centiseconds
cleanup() {
	local p
	for p in "${pids[@]}"; do
		kill "$p" 2>/dev/null || true
	done
	ip link del "$TAP_IF" 2>/dev/null || true
	save_logs
}

# save_logs: inner consoles and QEMU stderr next to the VM's results
save_logs() {
	local f
	[ -n "${KVHOST_OUT:-}" ] && [ -d "$KVHOST_OUT" ] || return 0
	for f in "$WORK"/*.console "$WORK"/*.stderr "$WORK"/mkinitramfs.log; do
		[ -f "$f" ] && cp "$f" "$KVHOST_OUT/e2e-${f##*/}"
	done
	return 0
}

make_blob() {
	rm -rf "$WORK"
	mkdir -p "$WORK/www"
	head -c $((MIB << 20)) /dev/urandom >"$WORK/www/blob"
	want_md5=$(md5sum <"$WORK/www/blob" | cut -d' ' -f1)
}

build_initrd() {
	local t0
	t0=$(now_ms)
	if ! "$top/tests/vm/mkinitramfs.sh" --modules "virtio_pci virtio_net" \
		--init "$here/guest-init.sh" "$rel" "$WORK/initrd.gz" >"$WORK/mkinitramfs.log" 2>&1; then
		not_ok "e2e: build inner initramfs ($rel)"
		sed 's/^/#   /' "$WORK/mkinitramfs.log"
		return 1
	fi
	diag "e2e: inner initramfs in $(secs $(($(now_ms) - t0))) s: $(tail -n1 "$WORK/mkinitramfs.log")"
}

setup_net() {
	ip link set lo up
	ip tuntap add dev "$TAP_IF" mode tap
	ip addr add "$HOST_IP/24" dev "$TAP_IF"
	ip link set "$TAP_IF" up
	busybox httpd -f -p "$HOST_IP:$HTTP_PORT" -h "$WORK/www" &
	pids+=($!)
}

# ------------------------------------------------------------- one guest --

qemu_guest() { # LOG ERR NETDEV REBOOT: start the inner guest in the background, sets qpid
	local append="console=ttyS0 loglevel=6 panic=-1 mitigations=off"
	local reboot_opt=-no-reboot
	append+=" e2e.ip=$GUEST_IP e2e.srv=$HOST_IP"
	append+=" e2e.http=$HTTP_PORT e2e.put=$PUT_PORT e2e.file=blob"
	# rebooting: the guest resets and QEMU runs on (stop and start of vhost)
	if [ "$4" = 1 ]; then
		append+=" e2e.reboot=1"
		reboot_opt=
	fi
	# shellcheck disable=SC2086
	qemu-system-x86_64 -accel tcg -nodefaults -no-user-config -nographic $reboot_opt \
		-m 256 -smp 1 -monitor none -serial "file:$1" \
		-kernel "$kdir/boot/vmlinuz-$rel" -initrd "$WORK/initrd.gz" -append "$append" \
		-netdev "$3" -device virtio-net-pci,netdev=n0,romfile= \
		</dev/null >"$2" 2>&1 &
	qpid=$!
	pids+=("$qpid")
}

# guest_line LOG WORD [first|last]: an "E2E WORD ..." console line, without
# prefix (the last one unless told)
guest_line() {
	if [ "${3:-last}" = first ]; then
		tr -d '\r' <"$1" | sed -n "s/^E2E $2 //p" | head -n1
	else
		tr -d '\r' <"$1" | sed -n "s/^E2E $2 //p" | tail -n1
	fi
}

# wait_line LOG WORD DEADLINE_MS: until the line appears (0), QEMU exits (1),
# time is up (2) or the guest's kernel panics (3: it would reset and boot
# again unseen when rebooting is allowed)
wait_line() {
	while ! tr -d '\r' <"$1" | grep -q "^E2E $2"; do
		kill -0 "$qpid" 2>/dev/null || return 1
		grep -q 'Kernel panic' "$1" && return 3
		[ "$(now_ms)" -lt "$3" ] || return 2
		sleep 0.5
	done
}

# panic_report LOG: the inner kernel's report, from its first line on
panic_report() {
	tr -d '\r' <"$1" |
		sed -n -E '/(BUG:|Oops|general protection|WARNING:|Kernel panic)/,$p' |
		head -n 40 | sed 's/^/#   console: /'
}

# stop_qemu DEADLINE_MS: wait for QEMU to power off, kill it when time is up
stop_qemu() {
	while kill -0 "$qpid" 2>/dev/null && [ "$(now_ms)" -lt "$1" ]; do
		sleep 0.5
	done
	if kill -0 "$qpid" 2>/dev/null; then
		kill "$qpid"; sleep 2; kill -9 "$qpid" 2>/dev/null || true
	fi
	wait "$qpid" 2>/dev/null || true
}

# qemu_vhost_fds: the vhost-net devices QEMU has open
qemu_vhost_fds() {
	local f
	for f in /proc/"$qpid"/fd/*; do
		readlink "$f" 2>/dev/null || true
	done | { grep -E '^/dev/[a-z-]*vhost-net$' || true; } | sort -u | tr '\n' ' '
}

# vhost_ok QEMU-MSG FDS WANT: QEMU said nothing about vhost and has WANT open
vhost_ok() { [ -z "$1" ] && [[ " $2" == *" $3 "* ]]; }

# stat_of LINE KEY: KEY=value from a kvnet_stats line
stat_of() { echo "$1" | tr ' ' '\n' | sed -n "s/^$2=//p"; }

# read_stats: kvnet_stats of fd 5, empty on failure (reason in $WORK/stats.err)
read_stats() {
	"$STATS" "$VHOSTFD" 2>"$WORK/stats.err" || true
}

# check_stats: kvhost's counters of the fd QEMU used saw the traffic
check_stats() {
	local s=$1 min=$((MIB << 20)) k bad=
	if [ -z "$s" ]; then
		not_ok "kvhost-net: datapath went through kvhost ($rel): KVHOST_NET_GET_STATS on fd $VHOSTFD failed: $(cat "$WORK/stats.err")"
		return
	fi
	diag "kvhost-net stats: $s"
	for k in rx_packets tx_packets; do
		[ "$(stat_of "$s" "$k")" -gt 0 ] || bad+=" $k=0"
	done
	for k in rx_bytes tx_bytes; do
		[ "$(stat_of "$s" "$k")" -ge "$min" ] || bad+=" $k<$min"
	done
	for k in rx_broken tx_broken; do
		[ "$(stat_of "$s" "$k")" = 0 ] || bad+=" $k"
	done
	check "$(status [ -z "$bad" ])" "kvhost-net: datapath went through kvhost" \
		"counters:$bad"
	ok "kvhost-net: rx $(stat_of "$s" rx_packets) / tx $(stat_of "$s" tx_packets) packets counted ($rel)"
}

# check_boot LABEL LOG UPFILE first|last: the data checks of one boot
check_boot() {
	local label=$1 log=$2 up=$3 which=$4 line sum size cs
	line=$(guest_line "$log" ping "$which")
	check "$(status [ "$line" = "3 3" ])" "$label: QEMU guest ping" "sent/received: ${line:-none}"

	line=$(guest_line "$log" get "$which")
	read -r sum size cs <<<"${line:-- 0 0}"
	check "$(status [ "$sum:$size" = "$want_md5:$((MIB << 20))" ])" \
		"$label: $MIB MiB transfer checksum" "guest got $size bytes md5 $sum, served md5 $want_md5"
	get_cs[$label]=$cs

	line=$(guest_line "$log" put "$which")
	sum=$(md5sum <"$up" | cut -d' ' -f1)
	check "$(status [ "$sum" = "$want_md5" ])" "$label: $MIB MiB upload checksum" \
		"guest reports '${line:-none}', received $(wc -c <"$up") bytes md5 $sum"
	read -r _ cs <<<"${line:-x 0}"
	put_cs[$label]=$cs
}

# put_listener PORT FILE: receive one upload into FILE; sets ncpid
put_listener() {
	# the listener's stdin must never end: on EOF busybox nc shuts its
	# sending side, and the guest's nc quits as soon as it sees that
	[ -p "$WORK/hold" ] || mkfifo "$WORK/hold"
	busybox nc -l -p "$1" <>"$WORK/hold" >"$2" &
	ncpid=$!
	pids+=("$ncpid")
}

# guest_attempt LABEL DEVICE REBOOT: one inner guest in one QEMU, from its
# boot to its power-off; sets rc (as wait_line), t0, t_init, fds, stats, nc
# listeners' pids.  DEVICE is opened as vhostfd, or empty to let QEMU open
# /dev/vhost-net itself; REBOOT=1: the guest reboots once with QEMU running
# on and does every transfer again.
guest_attempt() {
	local label=$1 dev=$2 reboot=$3 log=$WORK/$1.console err=$WORK/$1.stderr
	local netdev="tap,id=n0,ifname=$TAP_IF,script=no,downscript=no,vhost=on"
	local ncpid nc1pid nc2pid=''
	t_init=0 fds='' stats='' rc=0
	: >"$log"
	put_listener "$PUT_PORT" "$WORK/$label.up"
	nc1pid=$ncpid
	if [ "$reboot" = 1 ]; then
		put_listener "$((PUT_PORT + 1))" "$WORK/$label.up2"
		nc2pid=$ncpid
	fi
	if [ -n "$dev" ]; then
		# a new QEMU needs a device nobody owns yet
		if ! exec 5<>"$dev"; then
			# shellcheck disable=SC2086
			kill "$nc1pid" $nc2pid 2>/dev/null || true
			rc=open
			return
		fi
		netdev+=",vhostfd=$VHOSTFD"
	fi
	diag "$label: -netdev $netdev$([ "$reboot" = 1 ] && echo ", rebooting once")"
	rm -f "$WORK/www/release" "$WORK/www/rebooted"
	t0=$(now_ms)
	qemu_guest "$log" "$err" "$netdev" "$reboot"
	wait_line "$log" init "$((t0 + BOOT_TIMEOUT * 1000))" || rc=$?
	if [ "$rc" = 0 ]; then
		t_init=$(($(now_ms) - t0))
		diag "$label: inner guest reached init after $(secs "$t_init") s"
		fds=$(qemu_vhost_fds)
		if [ "$reboot" = 1 ]; then
			wait_line "$log" "reboot" "$(($(now_ms) + RUN_TIMEOUT * 1000))" || rc=$?
			diag "$label: first boot done after $(secs $(($(now_ms) - t0))) s, guest reboots"
			touch "$WORK/www/rebooted"
		fi
		[ "$rc" != 0 ] ||
			wait_line "$log" "done" "$(($(now_ms) + (BOOT_TIMEOUT * reboot + RUN_TIMEOUT) * 1000))" || rc=$?
	fi
	# the guest waits for "release": QEMU still runs, so its open files
	# and (kvhost) the counters of the file it shares with our fd 5 are live
	[ "$rc" != 0 ] || fds=$(qemu_vhost_fds)
	if [ -n "$dev" ]; then
		stats=$(read_stats)
	fi
	touch "$WORK/www/release"
	stop_qemu "$(($(now_ms) + 30000))"
	if [ -n "$dev" ]; then
		diag "$label: counters after QEMU exited: $(read_stats)"
		exec 5>&-
	fi
	# shellcheck disable=SC2086
	kill "$nc1pid" $nc2pid 2>/dev/null || true
}

# panic_is_emulator LOG: the inner kernel's panic names no virtio or network
# code in its report: TCG inside TCG was seen to raise spurious exceptions
# in the nested guest (a #DB with DR6.BS in kmalloc, "Fatal exception in
# interrupt" before virtio-net was loaded), on the 6.12 host only
panic_is_emulator() {
	! panic_report "$1" | grep -v 'Modules linked in' |
		grep -q -i -E 'virt|vring|vhost|net|skb|napi'
}

# run_guest LABEL DEVICE [REBOOT]: one inner guest (guest_attempt) and the
# checks of what it did.  A kernel panic of the nested guest that names
# none of the device's code is put down to the emulator: its report is
# printed, its console kept as LABEL-panic.console, and the whole run
# (both boots) is done once more in a fresh QEMU that must pass everything.
# Reports its TAP lines.
run_guest() {
	local label=$1 dev=$2 reboot=${3:-0} log=$WORK/$1.console err=$WORK/$1.stderr
	local up=$WORK/$1.up up2=$WORK/$1.up2
	local t0 t_init rc fds stats line attempt
	for attempt in 1 2; do
		guest_attempt "$label" "$dev" "$reboot"
		if [ "$rc" = open ]; then
			not_ok "$label: open $dev ($rel)"
			return
		fi
		if [ "$rc" != 3 ] || [ "$attempt" = 2 ] || ! panic_is_emulator "$log"; then
			break
		fi
		diag "$label: the nested guest's kernel panicked in code that is not the device's (TCG inside TCG); its report, then the whole run once more:"
		panic_report "$log"
		cp "$log" "${log%.console}-panic.console"
	done

	case $rc in
	0) ok "$label: QEMU guest booted and ran ($rel)" ;;
	1) not_ok "$label: QEMU guest booted and ran ($rel): QEMU exited early"
	   tr -d '\r' <"$log" | tail -n 15 | sed 's/^/#   console: /' ;;
	2) not_ok "$label: QEMU guest booted and ran ($rel): timed out (boot ${BOOT_TIMEOUT}s, run ${RUN_TIMEOUT}s), killed"
	   tr -d '\r' <"$log" | tail -n 15 | sed 's/^/#   console: /' ;;
	*) not_ok "$label: QEMU guest booted and ran ($rel): the guest's kernel panicked"
	   panic_report "$log" ;;
	esac
	sed 's/^/#   qemu: /' "$err" | head -n 10

	if [ "$reboot" = 1 ]; then
		check_boot "$label" "$log" "$up" first
		line=$(guest_line "$log" boot)
		check "$(status [ "$line" = 2 ])" "$label: guest rebooted with QEMU running on" \
			"last boot seen: ${line:-none}"
		check_boot "$label after reboot" "$log" "$up2" last
	else
		check_boot "$label" "$log" "$up" last
	fi

	local want_fd=${dev:-/dev/vhost-net}
	line=$(grep -i 'vhost' "$err" | head -n1 || true)
	check "$(status vhost_ok "$line" "$fds" "$want_fd")" \
		"$label: QEMU used $want_fd, no fallback to userspace" \
		"QEMU: '${line:-no message}', its vhost fds: ${fds:-none}"

	if [ -n "$dev" ]; then
		check_stats "$stats"
	fi
	diag "$label: inner boot to init $(secs "$t_init") s, guest total $(secs $(($(now_ms) - t0))) s"
}

run_tests() {
	trap cleanup EXIT
	make_blob
	build_initrd || return 1
	setup_net
	run_guest kvhost-net "$KVHOST_DEV" 1
	if [ "$REFERENCE" = 1 ]; then
		run_guest vhost-net ""
	else
		diag "vhost-net reference run skipped (KVHOST_E2E_REFERENCE=0)"
	fi
	diag "kvhost-net $MIB MiB in $(secs $((${get_cs[kvhost-net]:-0} * 10))) s; vhost-net in $(secs $((${get_cs[vhost-net]:-0} * 10))) s (download, inner guest clock)"
	diag "kvhost-net $MIB MiB upload in $(secs $((${put_cs[kvhost-net]:-0} * 10))) s; vhost-net in $(secs $((${put_cs[vhost-net]:-0} * 10))) s"
	[ "$failures" = 0 ] && return 0
	return 1
}

main() {
	local rc=0 t0
	if [ "${1:-}" = --in-netns ]; then
		run_tests && exit 0
		exit 1
	fi
	t0=$(date +%s)
	echo "# e2e: stock QEMU $(qemu-system-x86_64 --version | head -n1 | awk '{print $4}') on kvhost-net, $rel"
	load_missing || rc=1
	if [ "$rc" = 0 ] && preflight; then
		unshare --net -- "$self" --in-netns || rc=$?
	else
		rc=1
	fi
	unload_loaded
	diag "e2e: took $(($(date +%s) - t0)) s"
	[ "$rc" = 0 ] && [ "$failures" = 0 ] && exit 0
	exit 1
}

main "$@"
