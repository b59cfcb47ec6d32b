#!/bin/sh
# valgrind-check.sh DIR — read the memcheck logs in DIR (one per process,
# written by `make valgrind`) and fail when any reports an error (invalid
# access, uninitialised value, definite leak) or a file descriptor that was
# open at exit and not inherited from the parent. Prints a summary line.
dir=${1:?usage: valgrind-check.sh DIR}
logs=0 bad=0
for f in "$dir"/*.log; do
	[ -e "$f" ] || continue
	logs=$((logs + 1))
	if grep -Eq 'ERROR SUMMARY: [1-9]' "$f"; then
		echo "valgrind: errors in $f:" >&2
		grep -E 'ERROR SUMMARY|Invalid|uninitialised|definitely lost' \
		    "$f" | head -n 20 >&2
		bad=$((bad + 1))
	fi
	# "Open file descriptor N: ..." followed by a stack, not "<inherited ...>"
	if awk '/Open (file descriptor|AF_[A-Z0-9]+ socket|pipe)/ {
			open = $0; next }
		open != "" { if ($0 !~ /inherited from parent/) {
			print open; found = 1 } open = "" }
		END { exit !found }' "$f" >&2; then
		echo "valgrind: descriptors leaked at exit in $f" >&2
		bad=$((bad + 1))
	fi
done
echo "valgrind: $logs process logs, $bad with findings"
[ "$logs" -gt 0 ] && [ "$bad" -eq 0 ]
