#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Summarise TAP read from the given files (or stdin).
#
#   tests/tap-summary.sh [FILE...]
#
# Counts top-level (unindented) "ok" / "not ok" lines; "# SKIP" and "# TODO"
# directives count as skipped; "Bail out!" counts as a failure.  Prints
#   N passed, N failed[, N skipped]
# as its last line and exits non-zero if anything failed or nothing ran.
set -euo pipefail

summarise() {
	awk '
	function directive(line) {
		return line ~ /#[ \t]*([Ss][Kk][Ii][Pp]|[Tt][Oo][Dd][Oo])/
	}
	/^not ok([ \t]|$)/ { if (directive($0)) skipped++; else failed++; next }
	/^ok([ \t]|$)/ { if (directive($0)) skipped++; else passed++; next }
	/^Bail out!/ { failed++; next }
	END {
		line = sprintf("%d passed, %d failed", passed, failed)
		if (skipped) line = line sprintf(", %d skipped", skipped)
		print line
		if (failed || passed + skipped == 0) exit 1
	}'
}

if [ $# -gt 0 ]; then
	cat -- "$@" | summarise
else
	summarise
fi
