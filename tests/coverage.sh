#!/bin/sh
# coverage.sh BUILD FILE... — line coverage of each source FILE from the
# gcov data of a --coverage build in BUILD (make coverage), one line per
# file ("covered% lines-run/lines file"), grouped by directory in the
# order given, with a total per directory and in all. A file that was
# compiled but never ran counts 0%. The table is also written to
# BUILD/coverage.txt. Needs gcov of the gcc that built BUILD.
set -eu

[ $# -ge 2 ] || { echo "usage: $0 BUILD FILE..." >&2; exit 2; }
build=$1
shift
command -v gcov >/dev/null || { echo "coverage: gcov not found" >&2; exit 1; }

out=$build/coverage.txt
: > "$out"
for src in "$@"; do
	gcno=$build/obj/${src%.c}.gcno
	if [ ! -f "$gcno" ]; then
		echo "coverage: $gcno missing: was $src built with --coverage?" >&2
		exit 1
	fi
	# -n: no .gcov files; the summary names the file and its lines
	gcov -n -o "$(dirname "$gcno")" "$src" 2>/dev/null | awk -v src="$src" '
	    /^File / { f = $2; gsub(/\047/, "", f); want = (f == src) }
	    want && /^Lines executed:/ {
		split($2, a, ":"); pct = a[2]; sub(/%/, "", pct)
		n = $4; run = int(pct * n / 100 + 0.5)
		printf "%s %d %d\n", src, run, n; want = 0; found = 1
	    }
	    END { if (!found) printf "%s 0 0\n", src }'
done | awk '
    function dirof(f) { sub(/\/[^\/]*$/, "", f); return f }
    function pct(r, n) { return n ? 100 * r / n : 0 }
    function flush() {
	if (cur != "")
		printf "%6.1f%% %6d/%-6d %s/ (all)\n\n", pct(dr, dn), dr, dn, cur
    }
    !seen[$1]++ {
	d = dirof($1)
	if (d != cur) { flush(); cur = d; dr = 0; dn = 0 }
	printf "%6.1f%% %6d/%-6d %s\n", pct($2, $3), $2, $3, $1
	dr += $2; dn += $3; tr += $2; tn += $3
    }
    END { flush(); printf "%6.1f%% %6d/%-6d lines in all\n", pct(tr, tn), tr, tn }
' | tee "$out"
