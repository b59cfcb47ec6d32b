#!/bin/sh
# bench-summary.sh — the table of `make bench` (bench/summary.sh), from
# results laid out as bench/run.sh lays them out (make bench-test, part of
# make test): every broker's row under its scenario, in order, with the
# medians over the runs (a run without a result left out, not counted as
# zero; null and -1 figures left out); the ratios of the targets with their
# verdicts; a peer that was not measured said so; without any peer, one
# line that says the peers were not measured; scenario f's line with its
# restart time and the drain's peak RSS.
#
# usage: sh tests/bench-summary.sh
set -u
LC_ALL=C
export LC_ALL

src=$(cd "$(dirname "$0")/.." && pwd)
passed=0
failed=0
tmp=$(mktemp -d "${TMPDIR:-/tmp}/ccc-bench.XXXXXX") || exit 1
trap 'rm -rf "$tmp"' EXIT
trap 'exit 1' HUP INT TERM

pass() { passed=$((passed + 1)); echo "ok - $1"; }
fail() { failed=$((failed + 1)); echo "not ok - $1"; }

# has TEXT WHAT: the summary holds the line TEXT (exactly)
has() {
	if grep -qxF -- "$1" "$tmp/summary"; then
		pass "$2"
	else
		fail "$2: no line \"$1\""
		sed 's/^/#   /' "$tmp/summary"
	fi
}
# lacks PATTERN WHAT: no line of the summary matches PATTERN (grep -E)
lacks() {
	if grep -qE -- "$1" "$tmp/summary"; then
		fail "$2: $(grep -E -- "$1" "$tmp/summary" | head -n 1)"
	else
		pass "$2"
	fi
}

# run FILE DELIV US P50 P99 HWM [COMPLETE [EXTRA]]: one result object as
# the load generators write it (a-d: n 1000; EXTRA more keys)
run() {
	mkdir -p "$(dirname "$1")"
	printf '{"label":"x","n":1000,"rate":0,"pub_rate":%s,"deliv_rate":%s,"lost":0,"dups":0,"lat_p50_us":%s,"lat_p99_us":%s,"lat_p999_us":%s,"lat_max_us":%s,"run_broker_cpu":90,"run_bench_cpu":50,"broker_us_per_deliv":%s,"broker_hwm_kib":%s,"conn_rate":0,"per_conn_kib":-1%s,"complete":%s}\n' \
	    "$2" "$2" "$4" "$5" "$5" "$5" "$3" "$6" "${8:-}" "${7:-true}" >"$1"
}
# conn FILE RATE KIB: a connection run (scenario e: n 0)
conn() {
	mkdir -p "$(dirname "$1")"
	printf '{"label":"e","n":0,"rate":0,"pub_rate":0,"deliv_rate":0,"lost":0,"dups":0,"lat_p50_us":0,"lat_p99_us":0,"broker_us_per_deliv":null,"broker_hwm_kib":140000,"conn_rate":%s,"per_conn_kib":%s,"complete":true}\n' \
	    "$2" "$3" >"$1"
}

summary() {
	if sh "$src/bench/summary.sh" "$tmp/out" >"$tmp/summary" 2>"$tmp/err" &&
	    [ ! -s "$tmp/err" ]; then
		pass "$1: bench/summary.sh runs"
	else
		fail "$1: bench/summary.sh failed: $(cat "$tmp/err")"
	fi
}

# ---- ccc alone -----------------------------------------------------------------
o=$tmp/out
run "$o/raw/b-1.json" 300000 3.0 50 200 17000
run "$o/raw/b-2.json" 100000 2.0 70 400 17400
run "$o/raw/b-3.json" 200000 9.0 60 300 17200
: >"$o/raw/b-4.json"		# a run that left no result
run "$o/raw/bd-1.json" 30000 33.5 2000 2700 22000
run "$o/raw/dd-1.json" 24000 40.0 9000 10000 30000 false
summary "ccc alone"
has "| b | ccc | 3/3 | 200000 | 200000 | 0 | 0 | 60 | 300 | 300 | 300 | 90 | 50 | 3.0 | 17200 | - | - |" \
    "ccc alone: b's medians over the runs with a result"
has "| bd | ccc durable | 1/1 | 30000 | 30000 | 0 | 0 | 2000 | 2700 | 2700 | 2700 | 90 | 50 | 33.5 | 22000 | - | - |" \
    "ccc alone: bd is ccc durable"
has "| dd | ccc durable | 0/1 | 24000 | 24000 | 0 | 0 | 9000 | 10000 | 10000 | 10000 | 90 | 50 | 40.0 | 30000 | - | - |" \
    "ccc alone: an incomplete run counts as not ok"
has "  d durable: ccc dd latency p99, us: 10000 (target <= 5000: not met)" \
    "ccc alone: the value targets are given"
has "  Peers: not measured (make bench PEERS=DIR, DIR a built copy of the peer benchmark kit: docs/performance.md, Peers)." \
    "ccc alone: says the peers were not measured"
lacks 'Mosquitto|NATS|JetStream|not measured\)' \
    "ccc alone: no peer row and no ratio to a peer"

# ---- with the peers --------------------------------------------------------------
p=$o/brokers
run "$p/mosquitto/raw/b-1.json" 60000 16.7 80000 150000 12400
run "$p/mosquitto/raw/b-2.json" 50000 -1 80000 150000 12400
run "$p/nats-js/raw/b-1.json" 80000 11.7 480000 1500000 77000
run "$p/nats-core/raw/b-1.json" 400000 1.5 20000 44000 25000 true ',"foreign":0'
run "$o/raw/a-1.json" 23000 40.0 24000 45000 16000
run "$o/raw/ad-1.json" 10000 84.0 4000000 4800000 14000
run "$p/nats-js/raw/a-1.json" 37000 24.0 1100000 1200000 54000
run "$o/raw/d-1.json" 49990 18.5 1700 7500 20000
run "$p/mosquitto/raw/d-1.json" 49997 19.7 1600 15000 10000
conn "$o/raw/e-1.json" 460 26.5
conn "$o/raw/er-1.json" 980 17.8
conn "$p/nats-core/raw/e-1.json" 650 48
summary "with the peers"
awk -F ' [|] ' '/^\| [a-e]/ { print $1 " " $2 }' "$tmp/summary" |
    sed 's/^| //' >"$tmp/rows"
printf '%s\n' "a ccc" "ad ccc durable" "a JetStream" "b ccc" "bd ccc durable" \
    "b Mosquitto QoS 1" "b NATS core" "b JetStream" "d ccc" "dd ccc durable" \
    "d Mosquitto QoS 1" "e ccc" "er ccc resumed" "e NATS core" >"$tmp/want"
if cmp -s "$tmp/rows" "$tmp/want"; then
	pass "with the peers: every broker's row under its scenario, in order"
else
	fail "with the peers: rows $(tr '\n' ',' <"$tmp/rows")"
fi
has "| b | Mosquitto QoS 1 | 2/2 | 55000 | 55000 | 0 | 0 | 80000 | 150000 | 150000 | 150000 | 90 | 50 | 16.7 | 12400 | - | - |" \
    "with the peers: a peer's medians, its -1 left out"
has "| e | NATS core | 1/1 | - | - | - | - | - | - | - | - | - | - | - | 140000 | 650 | 48.0 |" \
    "with the peers: a connection row has handshakes and KiB per session"
has "  a: ccc a (confirmed after the sync) / JetStream a, publishes/s: 23000 / 37000 = 0.62 (target >= 1.5: not met)" \
    "with the peers: a against JetStream"
has "  a durable: ccc ad / Mosquitto QoS 1 a, deliveries/s: 10000 / - (Mosquitto QoS 1 a not measured)" \
    "with the peers: a peer not measured is said so"
has "  b durable: ccc bd / Mosquitto QoS 1 b, deliveries/s: 30000 / 55000 = 0.55 (target >= 3: not met)" \
    "with the peers: b durable against Mosquitto"
has "  b durable: ccc bd / JetStream b, deliveries/s: 30000 / 80000 = 0.38 (target >= 2: not met)" \
    "with the peers: b durable against JetStream"
has "  b plain: ccc b / NATS core b, broker us per delivery: 3.0 / 1.5 = 2.00 (target <= 1: not met)" \
    "with the peers: b plain against NATS core, CPU per delivery"
has "  d plain: ccc d / Mosquitto QoS 1 d, latency p99: 7500 / 15000 = 0.50 (target <= 1: met)" \
    "with the peers: d plain p99 against Mosquitto"
has "  e resumed: ccc er / NATS core e, handshakes/s: 980 / 650 = 1.51 (target >= 5: not met)" \
    "with the peers: resumed handshakes against NATS core"
lacks '^  c durable|Peers: not measured' \
    "with the peers: no ratio of a scenario that did not run"

# ---- the backlog ----------------------------------------------------------------
printf '{"label":"f","n":1000000,"pub_rate":22644.2,"broker_us_per_pub":42.31,"broker_hwm_kib":90000,"complete":true}\n' \
    >"$o/raw/f-1-fill.json"
printf '{"label":"f","n":1000000,"deliv_rate":23842.4,"broker_us_per_deliv":37.12,"lost":0,"broker_hwm_kib":61440,"complete":true}\n' \
    >"$o/raw/f-1-drain.json"
echo "restart_s=1.69 store_mib=1247 hwm_reset=yes" >"$o/raw/f-1-restart.txt"
summary "the backlog"
has "| 1 | 22644 | 42.3 | 1247 | 1.69 | 23842 | 37.1 | 60.0 | 0 | yes |" \
    "the backlog: fill, restart, drain and the drain's peak RSS"
lacks '^\| f \|' "the backlog: f is not a row of the scenario table"
printf '{"label":"f","n":1000000,"pub_rate":20000,"broker_us_per_pub":40,"broker_hwm_kib":90000,"complete":true}\n' \
    >"$o/raw/f-2-fill.json"
printf '{"label":"f","n":1000000,"deliv_rate":20000,"broker_us_per_deliv":null,"lost":0,"broker_hwm_kib":92160,"complete":false}\n' \
    >"$o/raw/f-2-drain.json"
echo "restart_s=1.50 store_mib=1247 hwm_reset=no" >"$o/raw/f-2-restart.txt"
summary "the backlog, peak not reset"
has "| 2 | 20000 | 40.0 | 1247 | 1.50 | 20000 | - | 90.0 * | 0 | no |" \
    "the backlog: a peak RSS that could not be reset is marked"

echo "bench-summary: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
