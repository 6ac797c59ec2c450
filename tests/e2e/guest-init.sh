#!/bin/busybox sh
# SPDX-License-Identifier: GPL-2.0
# shellcheck shell=dash disable=SC2013,SC2001
# /init of the inner guest booted by tests/e2e/qemu-net.sh (built into a
# busybox initramfs by tests/vm/mkinitramfs.sh --init).  Configures the
# virtio-net interface, pings the server, downloads a file over HTTP, sends
# it back with nc, and powers off.  Everything the outer script needs goes
# to the console as lines starting "E2E ":
#
#   E2E init <uptime cs>            userspace reached
#   E2E boot <1|2>                  which boot this is (see e2e.reboot)
#   E2E ping <sent> <received>
#   E2E get <md5|-> <bytes> <cs>    download: checksum, size, centiseconds
#   E2E put <ok|fail> <cs>          upload of the downloaded file
#   E2E reboot                      boot 1 of two is done, rebooting
#   E2E done                        then waits for http://srv/release
#
# Parameters on the kernel command line:
#   e2e.ip=ADDR/PREFIX e2e.srv=ADDR e2e.http=PORT e2e.put=PORT e2e.file=NAME
#   e2e.reboot=1: after the checks, reboot (QEMU running on) once the
#   server has http://srv/rebooted, and do them all again; the second
#   boot, which finds that file, uploads to port put+1 and powers off.
/bin/busybox --install -s /bin
export PATH=/bin

say() { echo "E2E $*"; }

# now_cs: uptime in centiseconds
now_cs() {
	local u
	read -r u _ </proc/uptime
	echo "${u%.*}${u#*.}" | sed 's/^0*//; s/^$/0/'
}

# param NAME: value of e2e.NAME= on the kernel command line
param() {
	local w
	for w in $(cat /proc/cmdline); do
		case $w in "e2e.$1="*) echo "${w#*=}"; return ;; esac
	done
}

setup() {
	local m
	mount -t proc proc /proc
	mount -t sysfs sysfs /sys
	mount -t devtmpfs devtmpfs /dev
	mkdir -p /tmp
	for m in $(cat /lib/kvhost-modules/order); do
		insmod /lib/kvhost-modules/"$m" || say "insmod $m failed"
	done
}

# net_iface: the first interface that is not lo (waits up to 10 s)
net_iface() {
	local n
	for _ in $(seq 1 20); do
		for n in /sys/class/net/*; do
			n=${n##*/}
			[ "$n" = lo ] || { echo "$n"; return 0; }
		done
		sleep 0.5
	done
	return 1
}

net_up() {
	local ifc
	ifc=$(net_iface) || { say "error no network interface"; return 1; }
	ip link set lo up
	ip addr add "$(param ip)" dev "$ifc"
	ip link set "$ifc" up
	say "iface $ifc $(cat /sys/class/net/"$ifc"/address)"
}

do_ping() {
	local out
	out=$(ping -c 3 -W 5 "$(param srv)" 2>&1)
	echo "$out" | sed 's/^/E2E ping-out: /'
	echo "$out" | sed -n 's/^\([0-9]*\) packets transmitted, \([0-9]*\) packets received.*/E2E ping \1 \2/p'
}

do_get() {
	local t0 t1 sum=- size=0
	t0=$(now_cs)
	# (no wget -T: it segfaults in busybox 1.35)
	if timeout 120 wget -q -O /tmp/blob "http://$(param srv):$(param http)/$(param file)"; then
		t1=$(now_cs)
		sum=$(md5sum </tmp/blob | cut -d' ' -f1)
	else
		t1=$(now_cs)
	fi
	[ -f /tmp/blob ] && size=$(wc -c </tmp/blob)
	say "get $sum $size $((t1 - t0))"
}

do_put() { # BOOT
	local t0 t1 res=fail
	[ -s /tmp/blob ] || { say "put fail 0"; return; }
	t0=$(now_cs)
	nc -w 10 "$(param srv)" "$(($(param put) + $1 - 1))" </tmp/blob >/dev/null && res=ok
	t1=$(now_cs)
	say "put $res $((t1 - t0))"
}

# served NAME: whether the server has the file NAME now
served() {
	wget -q -O /dev/null "http://$(param srv):$(param http)/$1" 2>/dev/null
}

# wait_for NAME: until the server has the file NAME (at most 60 s)
wait_for() {
	local i=0
	while [ $i -lt 60 ]; do
		served "$1" && return
		sleep 1
		i=$((i + 1))
	done
	say "no $1 after 60 s"
}

main() {
	local boot=1 reboot
	setup
	say "init $(now_cs)"
	reboot=$(param reboot)
	if net_up; then
		[ "$reboot" = 1 ] && served rebooted && boot=2
		say "boot $boot"
		do_ping
		do_get
		do_put $boot
		if [ "$reboot" = 1 ] && [ $boot = 1 ]; then
			say "reboot"
			wait_for rebooted
			reboot -f
		fi
	fi
	say "done"
	# QEMU must keep running until the outer script has read the
	# device's counters; it then serves the file "release"
	wait_for release
	poweroff -f
}

main
