# cli-lib.sh — what the command-line test scripts (10-cli-tour.sh,
# 13-admin-cli.sh) share; sourced by them, not run on its own.
#
# Sets ccc, cccd (from CCC_BUILD, default build), srcdir; counts checks
# (pass, fail, check); bounded waits; run/run_as (ccc with a bound, output
# in $tmp/out and $tmp/err, status in $rc); cli_start NAME: a PKI of the
# demo endpoints and a config in a temporary directory, cccd started on a
# free loopback port ($port, its log in $log) and always stopped at exit,
# with the subscriber in $sub_pid if one is running; cli_done: the summary
# line and the exit status.

set -u
LC_ALL=C
export LC_ALL

srcdir=$(cd "$(dirname "$0")/../.." && pwd)
build=${CCC_BUILD:-build}
case $build in
/*) ;;
*) build=$(pwd)/$build ;;
esac
ccc=$build/ccc
cccd=$build/cccd

passed=0
failed=0
broker_pid=
sub_pid=
tmp=

cleanup() {
	# only the processes this script started
	if [ -n "$sub_pid" ]; then
		stop "$sub_pid"
	fi
	if [ -n "$broker_pid" ]; then
		stop "$broker_pid"
	fi
	if [ -n "$tmp" ]; then
		rm -rf "$tmp"
	fi
}
trap cleanup EXIT
trap 'exit 1' HUP INT TERM

pass() {
	passed=$((passed + 1))
	echo "ok - $1"
}

# fail NAME [FILE...] — count a failure and show the files that tell why
fail() {
	failed=$((failed + 1))
	echo "not ok - $1"
	shift
	for f in "$@"; do
		[ -s "$f" ] || continue
		echo "    --- $(basename "$f")"
		sed 's/^/    /' "$f"
	done
}

# check NAME COMMAND... — pass when the command succeeds
check() {
	name=$1
	shift
	if "$@"; then pass "$name"; else fail "$name" "$tmp/out" "$tmp/err"; fi
}

# wait_for FILE TEXT SECONDS — true once FILE contains TEXT
wait_for() {
	n=0
	while [ "$n" -lt $(($3 * 10)) ]; do
		if grep -qF -- "$2" "$1" 2>/dev/null; then
			return 0
		fi
		sleep 0.1
		n=$((n + 1))
	done
	return 1
}

# wait_exit PID SECONDS — true once PID has exited (it is then reaped by
# the caller's wait); false when it still runs
wait_exit() {
	n=0
	while kill -0 "$1" 2>/dev/null; do
		[ "$n" -lt $(($2 * 10)) ] || return 1
		sleep 0.1
		n=$((n + 1))
	done
	return 0
}

# stop PID — SIGTERM, then SIGKILL if it has not exited within 10 s; reaped
stop() {
	kill -TERM "$1" 2>/dev/null
	wait_exit "$1" 10 || kill -KILL "$1" 2>/dev/null
	wait "$1" 2>/dev/null
}

# run ARGS... — ccc with a bound, output in $tmp/out and $tmp/err, status in $rc
# shellcheck disable=SC2034 # rc is read by the scripts
run() {
	timeout -k 5 30 "$ccc" "$@" > "$tmp/out" 2> "$tmp/err"
	rc=$?
}

# run_as ENDPOINT ARGS... — run with that endpoint's certificate
run_as() {
	ep=$1
	shift
	run --server "127.0.0.1:$port" --cert "$pki/$ep.pem" --key "$pki/$ep.key" \
	    --ca "$pki/ca.pem" "$@"
}

# cli_done — the summary line; the status is 1 when a check failed
cli_done() {
	echo "$passed passed, $failed failed"
	[ "$failed" -eq 0 ]
}

# cli_stop — SIGTERM to cccd, which must exit 0 within 10 s (a check)
cli_stop() {
	kill -TERM "$broker_pid"
	if wait_exit "$broker_pid" 10; then
		wait "$broker_pid"
		brc=$?
		broker_pid=
		if [ "$brc" -eq 0 ]; then
			pass "cccd exits 0 on SIGTERM"
		else
			fail "cccd exits 0 on SIGTERM (status $brc)" "$log"
		fi
	else
		fail "cccd exits on SIGTERM within 10 s" "$log"
	fi
}

# cli_start NAME — the PKI, the config and a running cccd (see above)
cli_start() {
	for bin in "$ccc" "$cccd"; do
		if [ ! -x "$bin" ]; then
			echo "$1: $bin is not built" >&2
			echo "0 passed, 1 failed"
			exit 1
		fi
	done
	tmp=$(mktemp -d "${TMPDIR:-/tmp}/ccc-$1.XXXXXX") || exit 1
	pki=$tmp/pki
	log=$tmp/cccd.log
	if ! sh "$srcdir/certs/mkpki.sh" "$pki" \
	    "$srcdir/certs/demo-endpoints.txt" > "$tmp/mkpki.out" 2>&1; then
		fail "make the PKI" "$tmp/mkpki.out"
		cli_done
		exit 1
	fi
	cp "$srcdir/broker/etc/registry.yaml" "$tmp/registry.yaml"
	cat > "$tmp/cccd.yaml" <<CONF
listen: 127.0.0.1:0
tls:
  cert: $pki/cccd.pem
  key: $pki/cccd.key
  ca: $pki/ca.pem
registry: $tmp/registry.yaml
data_dir: $tmp/data
log_level: debug
metrics:
  listen: 127.0.0.1:0
CONF
	"$cccd" --config "$tmp/cccd.yaml" 2> "$log" &
	broker_pid=$!
	if ! wait_for "$log" "listening on 127.0.0.1:" 10; then
		fail "cccd starts" "$log"
		cli_done
		exit 1
	fi
	port=$(sed -n 's/.*listening on 127\.0\.0\.1:\([0-9][0-9]*\).*/\1/p' \
	    "$log" | head -n 1)
	pass "cccd starts and listens on port $port"
}
