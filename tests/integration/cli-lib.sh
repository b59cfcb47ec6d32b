# cli-lib.sh — what the command-line test scripts (10-cli-tour.sh,
# 13-admin-cli.sh) share; sourced by them, not run on its own.
#
# Sets ccc, cccd (from CCC_BUILD, default build), srcdir; counts checks
# (pass, fail, check); bounded waits; run/run_as (ccc with a bound, output
# in $tmp/out and $tmp/err, status in $rc), run_bg (the same in the
# background); cli_start NAME: a PKI of the
# demo endpoints and a config in a temporary directory, cccd started on a
# free loopback port ($port, its log in $log) and always stopped at exit,
# with the subscribers in $sub_pid (one pid or several) if any run;
# cli_halt and cli_restart: cccd stopped, and started again on the same port
# and data; cli_done: the summary line and the exit status.

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
	for p in $sub_pid; do
		stop "$p"
	done
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

# run_bg ENDPOINT OUTFILE ARGS... — ccc in the background as that endpoint,
# bounded to 90 s, output in OUTFILE and OUTFILE.err; its pid in $bg_pid
run_bg() {
	ep=$1
	out=$2
	shift 2
	timeout 90 "$ccc" --server "127.0.0.1:$port" --cert "$pki/$ep.pem" \
	    --key "$pki/$ep.key" --ca "$pki/ca.pem" "$@" > "$out" 2> "$out.err" &
	bg_pid=$!
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

# log_port — the port cccd's log says it listens on
log_port() {
	sed -n 's/.*listening on 127\.0\.0\.1:\([0-9][0-9]*\).*/\1/p' "$log" |
	    head -n 1
}

# cli_halt — SIGTERM to cccd and wait for it (at most 10 s), keeping its
# files for cli_restart
cli_halt() {
	stop "$broker_pid"
	broker_pid=
}

# cli_restart [PORT] — start cccd again after cli_halt, on the same data and
# on PORT (default: the same port; 0: a free one), which is then in $port;
# the old log is kept as $log.N
cli_restart() {
	sed "s/^listen: .*/listen: 127.0.0.1:${1:-$port}/" "$tmp/cccd.yaml" \
	    > "$tmp/cccd.yaml.new" && mv "$tmp/cccd.yaml.new" "$tmp/cccd.yaml"
	n=1
	while [ -e "$log.$n" ]; do
		n=$((n + 1))
	done
	mv "$log" "$log.$n"
	"$cccd" --config "$tmp/cccd.yaml" 2> "$log" &
	broker_pid=$!
	want=${1:-$port}
	[ "$want" != 0 ] || want=
	if wait_for "$log" "listening on 127.0.0.1:$want" 10; then
		port=$(log_port)
		pass "cccd starts again on port $port"
	else
		fail "cccd starts again on port ${1:-$port}" "$log"
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
	port=$(log_port)
	pass "cccd starts and listens on port $port"
}
