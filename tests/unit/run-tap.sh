#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# Run every native unit test and merge their TAP into one stream on stdout:
# the tests are renumbered, each binary's plan and exit status are checked,
# and one plan plus an "N passed, N failed" line close the stream.
#
#   run-tap.sh OUT [FUZZ_RUNS [FUZZ_TIME]]
set -u
out=$1
fuzz_runs=${2:-500000}
fuzz_time=${3:-20}
here=$(cd "$(dirname "$0")" && pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
n=0
failed=0

# emit OK|NOTOK DESC: one merged test point.
emit() {
	n=$((n + 1))
	if [ "$1" = OK ]; then
		echo "ok $n - $2"
	else
		echo "not ok $n - $2"
		failed=$((failed + 1))
	fi
}

# run NAME CMD...: run a TAP-producing command and merge its output.
run() {
	name=$1
	shift
	"$@" >"$tmp/out" 2>"$tmp/err"
	status=$?
	awk -v base="$n" -v counts="$tmp/counts" '
		/^(not )?ok [0-9]+/ {
			not = ($1 == "not");
			sub(/^(not )?ok [0-9]+/, "");
			printf "%sok %d%s\n", not ? "not " : "", base + ++t, $0;
			todo = ($0 ~ /# *TODO/);
			if (not && !todo) f++;
			next;
		}
		/^1\.\.[0-9]+/ { plan = substr($1, 4) + 0; next; }
		{ print; }
		END { printf "%d %d %d\n", t + 0, f + 0, plan + 0 > counts; }
	' "$tmp/out"
	read -r t f plan <"$tmp/counts"
	n=$((n + t))
	failed=$((failed + f))
	if [ "$status" -ne 0 ] || [ "$t" -ne "$plan" ]; then
		sed 's/^/# /' "$tmp/err" | tail -n 40
		emit NOTOK "$name exits 0 after its whole plan (status $status, $t of $plan tests)"
	fi
}

run test_memtable "$out/test_memtable"
run test_ring_split "$out/test_ring_split"
run fuzz_ring_replay "$out/fuzz_ring_replay" -n 100000

# Crash reproducers kept in the tree are replayed on every run.
if ls "$here"/corpus/* >/dev/null 2>&1; then
	run fuzz_ring_corpus "$out/fuzz_ring_replay" -n 0 "$here"/corpus/*
fi

if [ -x "$out/fuzz_ring" ]; then
	seeds=$out/fuzz-seeds
	corpus=$out/fuzz-corpus
	rm -rf "$seeds"
	mkdir -p "$seeds" "$corpus"
	"$out/fuzz_ring_replay" -n 64 -w "$seeds" >/dev/null
	if "$out/fuzz_ring" -runs="$fuzz_runs" -max_total_time="$fuzz_time" \
		-artifact_prefix="$out/" "$corpus" "$seeds" >"$tmp/fuzz" 2>&1; then
		emit OK "fuzz_ring: libFuzzer, $(grep -o 'Done [0-9]* runs' "$tmp/fuzz" | cut -d' ' -f2) runs without a finding"
	else
		grep -v '^#[0-9]' "$tmp/fuzz" | tail -n 40 | sed 's/^/# /'
		emit NOTOK "fuzz_ring: libFuzzer found a crash (reproducer in $out/)"
	fi
	run fuzz_ring_corpus_replay "$out/fuzz_ring_replay" -n 0 "$corpus"/*
else
	echo "# clang not found: libFuzzer run skipped"
fi

echo "1..$n"
echo "unit: $((n - failed)) passed, $failed failed"
[ "$failed" -eq 0 ]
