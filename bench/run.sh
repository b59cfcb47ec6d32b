#!/bin/sh
# run.sh — `make bench`: the five `ccc bench` scenarios and their durable and
# resumed variants against a fresh cccd each, broker and load generator on
# different cores, one summary table.
#
# Usage: sh bench/run.sh [-n RUNS] [-o OUTDIR] [SCENARIO ...]
#   SCENARIO  a b c d e: the scenarios of `ccc bench --scenario`;
#             ad bd cd: a, b, c with durable subscriptions, every delivery
#             acknowledged (bd: 4,000 alerts, cd: 12,000, so that a run
#             ends within its deadline); er: e with session resumption
#             (tls.session_tickets on, ccc bench --resume); e10k: e with
#             10,000 subscribers; dd: d with durable subscriptions (only
#             when named: it runs until its deadline when the broker
#             cannot keep the rate);
#             default: a b c d e ad bd cd er e10k, in that order; or f: the
#             backlog —
#             1,000,000 alerts published for an offline durable subscriber
#             (ccc bench --scenario f --backlog fill), the broker restarted
#             on that store (the restart timed), then the backlog read
#             (--backlog drain); several minutes, so only when named
#   -n RUNS   rounds: every scenario once per round, each run with a fresh
#             broker (default 3; fewer when the next round would end past
#             BUDGET seconds from the start, default 270)
#   -o OUTDIR results (default $BUILD/bench): raw/<scenario>-<run>.json (one
#             `ccc bench --json` object each; f: f-<run>-fill.json,
#             f-<run>-drain.json and f-<run>-restart.txt), raw/<scenario>-<run>.log
#             (the broker's log), meta.txt (first line "broker: ccc VERSION"),
#             commands.txt, summary.md
#
# Environment: BUILD (default build) holds cccd and ccc; BROKER_CPU (0) and
# BENCH_CPU (1) are the cores for `taskset -c` (both empty: no pinning);
# BUDGET (270) is the time in seconds the rounds should fit in; F_COUNT
# (1000000) the alerts of scenario f;
# PERF=1 records the broker with `perf record` during each run into
# OUTDIR/perf/<scenario>-<run>.data (read it with perf report -i FILE).
# Needs the demo PKI (make certs). Only 127.0.0.1 is used. Every run is
# bounded (ccc bench --deadline 50, then `timeout` 60 s); the script stops
# only the brokers it started, by PID (f: --deadline 900, then 960 s).
set -eu

SRC=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${BUILD:-build}
case $BUILD in /*) ;; *) BUILD=$SRC/$BUILD ;; esac
CCCD=$BUILD/cccd
CCC=$BUILD/ccc
CERTS=$SRC/certs/demo
RUNS=3
OUT=
BROKER_CPU=${BROKER_CPU-0}
BENCH_CPU=${BENCH_CPU-1}
DEADLINE=50
HARD_STOP=60
F_DEADLINE=900
F_COUNT=${F_COUNT:-1000000}
F_HARD_STOP=960
BUDGET=${BUDGET:-270}

usage() {
	sed -n '2,/^set -eu/{/^set -eu/d;s/^# \{0,1\}//;p}' "$0"
}

while getopts "n:o:h" opt; do
	case $opt in
	n) RUNS=$OPTARG ;;
	o) OUT=$OPTARG ;;
	h) usage; exit 0 ;;
	*) usage >&2; exit 2 ;;
	esac
done
shift $((OPTIND - 1))
SCENARIOS=${*:-a b c d e ad bd cd er e10k}
OUT=${OUT:-$BUILD/bench}
case $RUNS in ''|*[!0-9]*) echo "run.sh: -n needs a number" >&2; exit 2 ;; esac
case $BUDGET in ''|*[!0-9]*) echo "run.sh: BUDGET must be seconds" >&2; exit 2 ;; esac
for sc in $SCENARIOS; do
	case $sc in a|b|c|d|e|f|ad|bd|cd|dd|er|e10k) ;;
	*) echo "run.sh: unknown scenario $sc" >&2; exit 2 ;; esac
done
for f in "$CCCD" "$CCC"; do
	[ -x "$f" ] || { echo "run.sh: $f is missing (make)" >&2; exit 1; }
done
if [ ! -f "$CERTS/tr-police.pem" ] || [ ! -f "$CERTS/gr-police.pem" ]; then
	echo "run.sh: no demo PKI in $CERTS (make certs)" >&2
	exit 1
fi

# pinning: broker on one core, the load generator on another
PIN_NOTE="broker on CPU $BROKER_CPU, bench on CPU $BENCH_CPU (taskset)"
if [ -z "$BROKER_CPU$BENCH_CPU" ]; then
	PIN_NOTE="none (BROKER_CPU and BENCH_CPU empty)"
elif ! command -v taskset >/dev/null 2>&1; then
	PIN_NOTE="none: taskset is missing (apt-get install util-linux)"
	BROKER_CPU='' BENCH_CPU=''
elif [ "$(nproc)" -lt 2 ]; then
	PIN_NOTE="none: only $(nproc) CPU"
	BROKER_CPU='' BENCH_CPU=''
fi
pin() { if [ -n "$1" ]; then echo "taskset -c $1"; fi; }

# descriptors: 5,000 sessions in scenario e, for the broker and the bench
# (ulimit -H and -n are not POSIX, but dash, bash and busybox sh have them)
# shellcheck disable=SC3045
NOFILE=$(ulimit -Hn)
[ "$NOFILE" = unlimited ] && NOFILE=65536
[ "$NOFILE" -gt 65536 ] && NOFILE=65536
need=5200
case " $SCENARIOS " in *" e10k "*) need=10200 ;; esac
if [ "$NOFILE" -lt $need ]; then
	echo "run.sh: the descriptor limit is $NOFILE; the scenarios need $need" \
	    "(raise it with ulimit -Hn)" >&2
	exit 1
fi

mkdir -p "$OUT/raw"
rm -f "$OUT"/raw/*.json "$OUT"/raw/*.log "$OUT"/raw/*.txt
WORK=$(mktemp -d "$OUT/work.XXXXXX")
BROKER_PID=
PERF_PID=
PERF=${PERF:-}
RESUME=
if [ -n "$PERF" ]; then
	command -v perf >/dev/null 2>&1 ||
	    { echo "run.sh: PERF=1 needs perf (apt-get install linux-perf)" >&2; exit 1; }
	mkdir -p "$OUT/perf"
fi

stop_perf() {
	[ -n "$PERF_PID" ] || return 0
	kill -INT "$PERF_PID" 2>/dev/null || true
	wait "$PERF_PID" 2>/dev/null || true
	PERF_PID=
}
stop_broker() {
	stop_perf
	[ -n "$BROKER_PID" ] || return 0
	kill -TERM "$BROKER_PID" 2>/dev/null || true
	i=0
	while [ $i -lt 100 ] && kill -0 "$BROKER_PID" 2>/dev/null; do
		sleep 0.1
		i=$((i + 1))
	done
	kill -0 "$BROKER_PID" 2>/dev/null && kill -KILL "$BROKER_PID" 2>/dev/null
	wait "$BROKER_PID" 2>/dev/null || true
	BROKER_PID=
}
cleanup() {
	stop_broker
	rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# start_broker LOG [keep]: a fresh cccd with a fresh store (with keep: on
# the store of the last one, waiting up to 10 minutes for it to open), with
# session resumption when RESUME is set; sets BROKER_PID and PORT
start_broker() {
	tries=200
	if [ "${2:-}" = keep ]; then
		tries=12000
	else
		rm -rf "$WORK/data"
		mkdir -p "$WORK/data"
	fi
	sed -e "s|@SRC@|$SRC|g" -e "s|@CERTS@|$CERTS|g" -e "s|@DATA@|$WORK/data|g" \
	    -e "s|@TICKETS@|$([ -n "$RESUME" ] && echo 1h || echo 0)|" \
	    "$SRC/bench/cccd.yaml.in" >"$WORK/cccd.yaml"
	# shellcheck disable=SC2046,SC3045
	(ulimit -n "$NOFILE"; exec $(pin "$BROKER_CPU") "$CCCD" --config "$WORK/cccd.yaml") \
	    >"$1" 2>&1 &
	BROKER_PID=$!
	PORT=
	i=0
	while [ $i -lt $tries ]; do
		# the log may not exist yet: the shell that makes it may not have run
		PORT=$(sed -n 's/.*listening on 127\.0\.0\.1:\([0-9][0-9]*\).*/\1/p' \
		    "$1" 2>/dev/null || true)
		[ -n "$PORT" ] && return 0
		kill -0 "$BROKER_PID" 2>/dev/null || break
		sleep 0.05
		i=$((i + 1))
	done
	echo "run.sh: cccd did not start; its log:" >&2
	cat "$1" >&2
	exit 1
}

# backlog_run ROUND: scenario f — fill a backlog, restart the broker on
# its store (timed, with the store's size), drain the backlog
backlog_run() {
	start_broker "$OUT/raw/f-$1.log"
	for phase in fill drain; do
		if [ $phase = drain ]; then
			stop_broker
			size=$(du -sk "$WORK/data" | cut -f1)
			t0=$(date +%s.%N)
			start_broker "$OUT/raw/f-$1-restart.log" keep
			t1=$(date +%s.%N)
			awk -v a="$t0" -v b="$t1" -v k="$size" 'BEGIN {
			    printf "restart_s=%.2f store_mib=%.0f\n", b - a, k / 1024 }' \
			    >"$OUT/raw/f-$1-restart.txt"
		fi
		cmd="$(pin "$BENCH_CPU") $CCC --server 127.0.0.1:$PORT --ca $CERTS/ca.pem bench --scenario f --count $F_COUNT --backlog $phase --pub-cert $CERTS/tr-police.pem --pub-key $CERTS/tr-police.key --sub-cert $CERTS/gr-police.pem --sub-key $CERTS/gr-police.key --broker-pid $BROKER_PID --deadline $F_DEADLINE --json"
		echo "f/$1 $phase: $cmd" | sed "s|$SRC/||g" >>"$OUT/commands.txt"
		rc=0
		# shellcheck disable=SC2086,SC3045
		(ulimit -n "$NOFILE"; exec timeout -k 3 $F_HARD_STOP $cmd) \
		    >"$OUT/raw/f-$1-$phase.json" 2>"$WORK/stderr" || rc=$?
		sed 's/^/   /' "$WORK/stderr"
		printf '  f run %s, %s: %s\n' "$1" "$phase" \
		    "$([ $rc = 0 ] && echo complete || echo "INCOMPLETE (exit $rc)")"
		[ $rc = 0 ] || break
	done
	stop_broker
	[ ! -f "$OUT/raw/f-$1-restart.txt" ] ||
	    echo "   restart on the backlog: $(cat "$OUT/raw/f-$1-restart.txt")"
	sleep 1
}

VERSION=$("$CCC" --version | sed 's/^ccc //')
COMMIT=$(git -C "$SRC" rev-parse --short HEAD 2>/dev/null || echo unknown)
{
	echo "broker: ccc $VERSION ($COMMIT)"
	echo "openssl: $(openssl version 2>/dev/null || echo '?')"
	echo "kernel: $(uname -r)"
	echo "cpu: $(sed -n 's/^model name[^:]*: //p' /proc/cpuinfo | head -1) x $(nproc)"
	echo "pinning: $PIN_NOTE"
	echo "date: $(date -u +%Y-%m-%dT%H:%M:%SZ)"
} >"$OUT/meta.txt"
: >"$OUT/commands.txt"
echo "ccc bench: scenarios $SCENARIOS, up to $RUNS round(s) in about $BUDGET s; pinning: $PIN_NOTE"

# rounds: every scenario once per round, so that drift of the host hits all
# alike; a further round starts only if it should end within BUDGET seconds
start=$(date +%s)
last=0
run=1
while [ $run -le "$RUNS" ]; do
	now=$(date +%s)
	if [ $run -gt 1 ] && [ $((now - start + last)) -gt "$BUDGET" ]; then
		echo "  time budget of $BUDGET s: stopping after $((run - 1)) of $RUNS rounds"
		break
	fi
	for sc in $SCENARIOS; do
		if [ "$sc" = f ]; then
			backlog_run "$run"
			continue
		fi
		RESUME=
		case $sc in
		ad) base=a extra="--durable" ;;
		bd) base=b extra="--durable --count 4000" ;;
		cd) base=c extra="--durable --count 12000" ;;
		dd) base=d extra="--durable" ;;
		er) base=e extra="--resume" RESUME=1 ;;
		e10k) base=e extra="--subscribers 10000" ;;
		*) base=$sc extra= ;;
		esac
		start_broker "$OUT/raw/$sc-$run.log"
		cmd="$(pin "$BENCH_CPU") $CCC --server 127.0.0.1:$PORT --ca $CERTS/ca.pem bench --scenario $base $extra --pub-cert $CERTS/tr-police.pem --pub-key $CERTS/tr-police.key --sub-cert $CERTS/gr-police.pem --sub-key $CERTS/gr-police.key --broker-pid $BROKER_PID --deadline $DEADLINE --json"
		echo "$sc/$run: $cmd" | sed "s|$SRC/||g" >>"$OUT/commands.txt"
		if [ -n "$PERF" ]; then
			perf record -q -F 997 --call-graph dwarf,32768 -p "$BROKER_PID" \
			    -o "$OUT/perf/$sc-$run.data" >/dev/null 2>&1 &
			PERF_PID=$!
			sleep 0.5
		fi
		rc=0
		# shellcheck disable=SC2086,SC3045
		(ulimit -n "$NOFILE"; exec timeout -k 3 $HARD_STOP $cmd) \
		    >"$OUT/raw/$sc-$run.json" 2>"$WORK/stderr" || rc=$?
		stop_broker
		sed 's/^/   /' "$WORK/stderr"
		printf '  %s run %s: %s\n' "$sc" "$run" \
		    "$([ $rc = 0 ] && echo complete || echo "INCOMPLETE (exit $rc)")"
		sleep 1		# let TIME_WAIT sockets and the page cache settle
	done
	last=$(($(date +%s) - now))
	run=$((run + 1))
done

# ---- one table: the median of each figure over the runs -----------------
: >"$OUT/summary.md"
# each line: the scenario (from the file name), a tab, its JSON object
for f in "$OUT"/raw/*-*.json; do
	case ${f##*/} in f-*) continue ;; esac
	[ -s "$f" ] || continue
	printf '%s\t' "$(basename "$f" | sed 's/-[0-9]*\.json$//')"
	cat "$f"
done | awk '
function num(key,   m, v) {
	if (!match($0, "\"" key "\":[^,}]*"))
		return ""
	v = substr($0, RSTART + length(key) + 3, RLENGTH - length(key) - 3)
	return v == "null" ? "" : v
}
function median(list,   n, a, i, j, t) {
	n = split(list, a, " ")
	if (n == 0)
		return ""
	for (i = 2; i <= n; i++)
		for (j = i; j > 1 && a[j - 1] + 0 > a[j] + 0; j--) {
			t = a[j]; a[j] = a[j - 1]; a[j - 1] = t
		}
	return n % 2 ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2
}
function cell(sc, k, dec,   m) {
	m = median(vals[sc, k])
	return m == "" ? "-" : sprintf("%." dec "f", m)
}
BEGIN {
	nk = split("pub_rate deliv_rate lost dups lat_p50_us lat_p99_us " \
	    "lat_p999_us lat_max_us run_broker_cpu run_bench_cpu " \
	    "broker_us_per_deliv broker_hwm_kib conn_rate per_conn_kib", keys, " ")
}
{
	sc = substr($0, 1, index($0, "\t") - 1)
	if (sc == "")
		next
	if (!(sc in runs))
		order[++nsc] = sc
	runs[sc]++
	if ($0 ~ /"complete":true/)
		ok[sc]++
	n = num("n")
	for (i = 1; i <= nk; i++) {
		if ((n == 0) != (keys[i] ~ /^(conn_rate|per_conn_kib)$/) &&
		    keys[i] != "broker_hwm_kib")
			continue
		v = num(keys[i])
		if (v != "")
			vals[sc, keys[i]] = vals[sc, keys[i]] " " v
	}
}
END {
	print "| scenario | ok | publish/s | deliveries/s | lost | dups | " \
	    "lat p50 us | lat p99 us | lat p99.9 us | lat max us | " \
	    "broker CPU % | bench CPU % | broker us/deliv | broker peak MiB | " \
	    "handshakes/s | KiB/conn |"
	print "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|"
	for (s = 1; s <= nsc; s++) {
		sc = order[s]
		hwm = median(vals[sc, "broker_hwm_kib"])
		printf "| %s | %d/%d | %s | %s | %s | %s | %s | %s | %s | %s | " \
		    "%s | %s | %s | %s | %s | %s |\n", sc, ok[sc], runs[sc],
		    cell(sc, "pub_rate", 0), cell(sc, "deliv_rate", 0),
		    cell(sc, "lost", 0), cell(sc, "dups", 0),
		    cell(sc, "lat_p50_us", 0), cell(sc, "lat_p99_us", 0),
		    cell(sc, "lat_p999_us", 0), cell(sc, "lat_max_us", 0),
		    cell(sc, "run_broker_cpu", 0), cell(sc, "run_bench_cpu", 0),
		    cell(sc, "broker_us_per_deliv", 1),
		    hwm == "" ? "-" : sprintf("%.1f", hwm / 1024),
		    cell(sc, "conn_rate", 0), cell(sc, "per_conn_kib", 1)
	}
	print ""
	print "Median over the runs. a-d: 512-byte alerts, window 100; " \
	    "d at 5,000 alerts/s, latency from the scheduled send time;"
	print "e: 5,000 idle subscribers, handshakes/s = TLS + hello + " \
	    "subscribe, KiB/conn = broker RSS growth / sessions."
	print "ad, bd, cd: a, b, c with durable subscriptions, each delivery " \
	    "acknowledged (bd 4,000 alerts, cd 12,000), dd: d with durable ones;"
	print "er: e resuming TLS sessions;"
	print "e10k: e with 10,000 subscribers."
}' | tee "$OUT/summary.md"

# ---- the backlog: one line per round ---------------------------------------
if ls "$OUT"/raw/f-*-fill.json >/dev/null 2>&1; then
	{
		echo
		echo "| f round | fill alerts/s | broker us/alert | store MiB | restart s | drain deliveries/s | broker us/delivery | lost | complete |"
		echo "|---|---|---|---|---|---|---|---|---|"
		for fill in "$OUT"/raw/f-*-fill.json; do
			r=${fill%-fill.json}
			r=${r##*/f-}
			jget() { sed -n "s/.*\"$2\":\([^,}]*\).*/\1/p" "$1" 2>/dev/null; }
			rs=$(cat "$OUT/raw/f-$r-restart.txt" 2>/dev/null || true)
			drain="$OUT/raw/f-$r-drain.json"
			printf '| %s | %.0f | %.1f | %s | %s | %.0f | %.1f | %s | %s |\n' "$r" \
			    "$(jget "$fill" pub_rate)" "$(jget "$fill" broker_us_per_pub)" \
			    "$(echo "$rs" | sed -n 's/.*store_mib=\([0-9]*\).*/\1/p')" \
			    "$(echo "$rs" | sed -n 's/.*restart_s=\([0-9.]*\).*/\1/p')" \
			    "$(jget "$drain" deliv_rate || echo 0)" \
			    "$(jget "$drain" broker_us_per_deliv || echo 0)" \
			    "$(jget "$drain" lost)" "$(jget "$drain" complete)"
		done
		echo
		echo "f: $F_COUNT alerts from 6 publishers for one durable subscription whose"
		echo "subscriber is offline; the broker restarted on that store; the backlog read"
		echo "and acknowledged (durable.window in flight)."
	} | tee -a "$OUT/summary.md"
fi
echo "results: $OUT (raw/*.json, meta.txt, commands.txt, summary.md)"
