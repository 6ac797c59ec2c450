#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Line coverage of the kernel modules after a VM run on a gcov kernel (the
# debug kernel): the .gcda files tests/vm/in-vm.sh saved before the unload,
# read with the .gcno files of build/<rel>/.  Prints a TAP comment per
# source file of vhost/ and vhost_net/ (and vhost_blk/ once it exists) and
# writes each file's unexecuted lines to build/coverage/<dir>_<file>.txt.
# A figure to report, never a test: always exits 0.
#
#   tests/coverage.sh <rel> [run name, default check]
set -uo pipefail

top=$(cd "$(dirname "$0")/.." && pwd -P)
rel=${1:?usage: coverage.sh <rel> [name]}
name=${2:-check}
bdir=$top/build/$rel
gcda=$top/build/vm/run/$rel-$name/gcov
out=$top/build/coverage
DIRS="vhost vhost_net vhost_blk"

if [ ! -d "$gcda" ]; then
	echo "# coverage: no gcov data in ${gcda#"$top"/} (not a gcov kernel?)"
	exit 0
fi
command -v gcov >/dev/null || { echo "# coverage: no gcov"; exit 0; }
rm -rf "$out"
mkdir -p "$out"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

total_run=0 total_all=0
echo "# coverage ($rel): lines executed per file"
for d in $DIRS; do
	[ -d "$bdir/$d" ] || continue
	for c in "$bdir/$d"/*.c; do
		[ -f "$c" ] || continue
		base=$(basename "$c" .c)
		case $base in *.mod) continue ;; esac
		[ -f "$bdir/$d/$base.gcno" ] || continue
		mkdir -p "$work/$d"
		cp "$bdir/$d/$base.gcno" "$work/$d/"
		[ -f "$gcda/$d/$base.gcda" ] && cp "$gcda/$d/$base.gcda" "$work/$d/"
		line=$(cd "$work/$d" && gcov -o . "$c" 2>/dev/null |
			awk -v f="$c" 'index($0, "File \047" f "\047") == 1 { hit = 1; next }
				hit && /^Lines executed:/ { print; exit }')
		# "Lines executed:83.12% of 1234"
		pct=$(echo "$line" | sed -n 's/^Lines executed:\([0-9.]*\)% of \([0-9]*\)/\1 \2/p')
		if [ -z "$pct" ]; then
			echo "#   $d/$base.c: no data"
			continue
		fi
		read -r p n <<<"$pct"
		ran=$(awk -v p="$p" -v n="$n" 'BEGIN { printf "%d", p * n / 100 + 0.5 }')
		total_run=$((total_run + ran)) total_all=$((total_all + n))
		printf '#   %-24s %6s%% of %5d lines\n' "$d/$base.c" "$p" "$n"
		if [ -f "$work/$d/$base.c.gcov" ]; then
			awk -F: '$1 ~ /#####/ { sub(/^ +/, "", $2); print $2 ":" substr($0, index($0, $3)) }' \
				"$work/$d/$base.c.gcov" >"$out/${d}_$base.txt"
		fi
	done
done
if [ "$total_all" -gt 0 ]; then
	echo "# coverage ($rel): $total_run of $total_all lines ($((total_run * 100 / total_all))%); unexecuted lines in ${out#"$top"/}/"
fi
exit 0
