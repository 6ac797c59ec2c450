#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Install everything kvhost needs to build and test on Debian 12:
# both kernels' headers, both kernel images (extracted, not installed),
# QEMU, busybox and the userspace tools, and build the debug kernel from
# Debian's linux-source-6.1 (once per machine).  Idempotent.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
: "${KVHOST_CACHE:=/var/cache/kvhost}"
export DEBIAN_FRONTEND=noninteractive

sudo_() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }

add_backports() {
	if ! grep -rqs 'bookworm-backports' /etc/apt/sources.list /etc/apt/sources.list.d/; then
		sudo_ tee /etc/apt/sources.list.d/kvhost-bookworm-backports.sources >/dev/null <<'SRC'
Types: deb
URIs: http://deb.debian.org/debian
Suites: bookworm-backports
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
SRC
	fi
}

add_backports
sudo_ apt-get update -qq
sudo_ apt-get install -y -qq --no-install-recommends \
	build-essential bc kmod cpio busybox-static qemu-system-x86 qemu-utils \
	sparse clang fio iperf3 xz-utils zstd iproute2 libelf-dev liburing-dev libjson-c-dev \
	linux-headers-amd64 \
	linux-source-6.1 flex bison libssl-dev dwarves >/dev/null

# The current 6.12 ABI from bookworm-backports (names move with point releases).
bpo_headers=$(apt-cache depends -t bookworm-backports linux-headers-amd64 2>/dev/null |
	awk '/Depends: linux-headers-6\.12/ {print $2; exit}')
if [ -z "$bpo_headers" ]; then
	echo "deps: cannot resolve the bookworm-backports 6.12 headers" >&2
	exit 1
fi
sudo_ apt-get install -y -qq --no-install-recommends -t bookworm-backports "$bpo_headers" >/dev/null

"$top/scripts/kernels.sh" fetch

# The debug kernel (KASAN, lockdep, kmemleak...): built once per machine,
# cached under $KVHOST_CACHE/debug/; KVHOST_SKIP_DEBUG=1 skips it.
if [ "${KVHOST_SKIP_DEBUG:-0}" != 1 ]; then
	"$top/scripts/debug-kernel.sh" build
fi
