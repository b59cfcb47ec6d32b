#!/bin/sh
# run.sh — `make bench`: the `ccc bench` scenarios and their durable and
# resumed variants against a fresh cccd each, and, with PEERS, the same
# scenarios on Mosquitto, core NATS and JetStream in the same rounds; broker
# and load generator on different cores; one summary table
# (bench/summary.sh).
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
#             default: a b c d e ad bd cd er e10k; or f: the backlog —
#             1,000,000 alerts published for an offline durable subscriber
#             (ccc bench --scenario f --backlog fill), the broker restarted
#             on that store (the restart timed), its peak RSS reset, then
#             the backlog read (--backlog drain); several minutes, so only
#             when named
#   -n RUNS   rounds (default 3; fewer when the next round would end past
#             BUDGET seconds from the start). A round runs each selected
#             scenario once per broker, grouped by base scenario (ad, bd,
#             cd, dd with a, b, c, d; er, e10k with e): the group's ccc runs
#             and, with PEERS, one run of the base scenario on each peer,
#             in an order rotated every round; each run on a fresh broker
#   -o OUTDIR results (default $BUILD/bench): raw/<scenario>-<run>.json (one
#             `ccc bench --json` object each; f: f-<run>-fill.json,
#             f-<run>-drain.json and f-<run>-restart.txt), raw/<scenario>-<run>.log
#             (the broker's log), brokers/<broker>/ (one directory per
#             broker in the peer benchmark kit's layout, for its
#             summarize.py: raw/<a-e>-<run>.json and meta.txt; ccc,
#             ccc-durable, ccc-resumed, ccc-10k, and with PEERS mosquitto,
#             nats-core, nats-js with each run's generator output
#             raw/<a-e>-<run>.txt, commands.txt, broker.log),
#             meta.txt (first line "broker: ccc VERSION"), commands.txt,
#             summary.md
#
# Environment: BUILD (default build) holds cccd and ccc; BROKER_CPU (0) and
# BENCH_CPU (1) are the cores for `taskset -c` (both empty: no pinning), for
# every broker and load generator; BUDGET (270, with PEERS 1080) is the time
# in seconds the rounds should fit in; F_COUNT (1000000) the alerts of
# scenario f; STORE_CHECK (unclean) is store.check_at_start: with always,
# f's restart includes the integrity check and the drain runs without it
# beside (with unclean it runs in the background during the drain); PERF=1 records cccd with `perf record` during each run into
# OUTDIR/perf/<scenario>-<run>.data (read it with perf report -i FILE).
# PEERS=DIR: a built copy of the peer benchmark kit (its `make`; needs the
# Debian packages mosquitto, libmosquitto-dev, nats-server, libnats-dev):
# each peer run is one `DIR/run-mosquitto.sh -n 1` or `DIR/run-nats.sh -m
# core|js -n 1` (a fresh broker, its own PKI), on ports MOSQUITTO_PORT
# (18883), NATS_PORT (14222) and NATS_MON_PORT (18222).
# Needs the demo PKI (make certs). Only 127.0.0.1 is used. Every run is
# bounded (ccc bench --deadline 50, then `timeout` 60 s; f: --deadline 900,
# then 960 s; a peer run: the kit's own bounds, then `timeout` 150 s); the
# script stops only the cccd it started, by PID; the kit's scripts stop only
# the brokers they started, by PID.
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
PEERS=${PEERS:-}
PEER_IDS="mosquitto nats-core nats-js"
PEER_HARD_STOP=150	# a peer run: the kit's generator (58 s) and its broker's start and stop
MOSQUITTO_PORT=${MOSQUITTO_PORT:-18883}
NATS_PORT=${NATS_PORT:-14222}
NATS_MON_PORT=${NATS_MON_PORT:-18222}

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
# a round with the peers runs three more brokers on each of a-e
if [ -n "$PEERS" ]; then BUDGET=${BUDGET:-1080}; else BUDGET=${BUDGET:-270}; fi
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
if [ -n "$PEERS" ]; then
	PEERS=$(cd "$PEERS" 2>/dev/null && pwd) ||
	    { echo "run.sh: PEERS: no such directory" >&2; exit 1; }
	for f in run-mosquitto.sh run-nats.sh mosq-bench nats-bench; do
		[ -x "$PEERS/$f" ] || {
			echo "run.sh: $PEERS/$f is missing: PEERS must be a built" \
			    "copy of the peer benchmark kit (its make)" >&2
			exit 1
		}
	done
	for tool in bash mosquitto nats-server python3 openssl ss; do
		command -v "$tool" >/dev/null 2>&1 || {
			echo "run.sh: PEERS needs $tool (apt-get install mosquitto" \
			    "nats-server python3 openssl iproute2)" >&2
			exit 1
		}
	done
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
OUT=$(cd "$OUT" && pwd)	# the brokers run in other directories
rm -f "$OUT"/raw/*.json "$OUT"/raw/*.log "$OUT"/raw/*.txt
rm -rf "$OUT/brokers"
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
	    -e "s|@CHECK@|${STORE_CHECK:-unclean}|" \
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
# its store (timed, with the store's size), reset its peak RSS, drain the
# backlog
backlog_run() {
	start_broker "$OUT/raw/f-$1.log"
	for phase in fill drain; do
		if [ $phase = drain ]; then
			stop_broker
			size=$(du -sk "$WORK/data" | cut -f1)
			t0=$(date +%s.%N)
			start_broker "$OUT/raw/f-$1-restart.log" keep
			t1=$(date +%s.%N)
			# VmHWM from here on: the drain's peak, not the restart's
			hwm=no
			(echo 5 >"/proc/$BROKER_PID/clear_refs") 2>/dev/null && hwm=yes
			awk -v a="$t0" -v b="$t1" -v k="$size" -v h="$hwm" 'BEGIN {
			    printf "restart_s=%.2f store_mib=%.0f hwm_reset=%s\n",
			    b - a, k / 1024, h }' >"$OUT/raw/f-$1-restart.txt"
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

# ccc_run SCENARIO ROUND: one run of a-e or a variant on a fresh cccd
ccc_run() {
	RESUME=
	case $1 in
	ad) base=a extra="--durable" ;;
	bd) base=b extra="--durable --count 4000" ;;
	cd) base=c extra="--durable --count 12000" ;;
	dd) base=d extra="--durable" ;;
	er) base=e extra="--resume" RESUME=1 ;;
	e10k) base=e extra="--subscribers 10000" ;;
	*) base=$1 extra= ;;
	esac
	start_broker "$OUT/raw/$1-$2.log"
	cmd="$(pin "$BENCH_CPU") $CCC --server 127.0.0.1:$PORT --ca $CERTS/ca.pem bench --scenario $base $extra --pub-cert $CERTS/tr-police.pem --pub-key $CERTS/tr-police.key --sub-cert $CERTS/gr-police.pem --sub-key $CERTS/gr-police.key --broker-pid $BROKER_PID --deadline $DEADLINE --json"
	echo "$1/$2: $cmd" | sed "s|$SRC/||g" >>"$OUT/commands.txt"
	if [ -n "$PERF" ]; then
		perf record -q -F 997 --call-graph dwarf,32768 -p "$BROKER_PID" \
		    -o "$OUT/perf/$1-$2.data" >/dev/null 2>&1 &
		PERF_PID=$!
		sleep 0.5
	fi
	rc=0
	# shellcheck disable=SC2086,SC3045
	(ulimit -n "$NOFILE"; exec timeout -k 3 $HARD_STOP $cmd) \
	    >"$OUT/raw/$1-$2.json" 2>"$WORK/stderr" || rc=$?
	stop_broker
	sed 's/^/   /' "$WORK/stderr"
	printf '  %s ccc run %s: %s\n' "$1" "$2" \
	    "$([ $rc = 0 ] && echo complete || echo "INCOMPLETE (exit $rc)")"
	sleep 1		# let TIME_WAIT sockets and the page cache settle
}

# peer_run PEER SCENARIO ROUND: one run of a-e on a peer, by the peer
# benchmark kit's run script (a fresh broker, pinned as cccd is, stopped by
# the script), its results into OUT/brokers/PEER/ in the kit's layout
peer_run() {
	p=$1 sc=$2 round=$3 d=$WORK/peer dst=$OUT/brokers/$1
	case $p in
	mosquitto) script=run-mosquitto.sh mode='' port=$MOSQUITTO_PORT ;;
	nats-core) script=run-nats.sh mode="-m core" port=$NATS_PORT ;;
	nats-js) script=run-nats.sh mode="-m js" port=$NATS_PORT ;;
	esac
	rm -rf "$d"
	mkdir -p "$dst/raw"
	echo "$sc/$round $p: $script${mode:+ $mode} -n 1 -o DIR $sc" >>"$OUT/commands.txt"
	rc=0
	# shellcheck disable=SC2086
	PORT=$port MON_PORT=$NATS_MON_PORT BROKER_CPU=$BROKER_CPU \
	    BENCH_CPU=$BENCH_CPU timeout -k 10 $PEER_HARD_STOP \
	    "$PEERS/$script" $mode -n 1 -o "$d" "$sc" >"$WORK/peer.log" 2>&1 || rc=$?
	for ext in json txt; do
		[ ! -f "$d/raw/$sc-1.$ext" ] ||
		    cp "$d/raw/$sc-1.$ext" "$dst/raw/$sc-$round.$ext"
	done
	for f in meta.txt mosquitto.conf nats.conf; do
		[ -f "$dst/$f" ] || [ ! -f "$d/$f" ] || cp "$d/$f" "$dst/"
	done
	[ ! -f "$d/commands.txt" ] ||
	    sed "s|^$sc/1:|$sc/$round:|" "$d/commands.txt" >>"$dst/commands.txt"
	[ ! -f "$d/broker.log" ] || cat "$d/broker.log" >>"$dst/broker.log"
	if grep -q '"complete":true' "$dst/raw/$sc-$round.json" 2>/dev/null; then
		status=complete
	else
		status="INCOMPLETE (exit $rc)"
		grep -v '^RESULT' "$WORK/peer.log" | tail -n 5 | sed 's/^/   /'
	fi
	printf '  %s %s run %s: %s\n' "$sc" "$p" "$round" "$status"
	rm -rf "$d"
}

# rotate N ITEM...: the items from the (N mod count)-th on, then those before
rotate() {
	k=$(($1 % ($# - 1)))
	shift
	i=0 head='' tail=''
	for x in "$@"; do
		if [ $i -lt "$k" ]; then tail="$tail $x"; else head="$head $x"; fi
		i=$((i + 1))
	done
	# shellcheck disable=SC2086
	echo $head $tail
}

VERSION=$("$CCC" --version | sed 's/^ccc //')
COMMIT=$(git -C "$SRC" rev-parse --short HEAD 2>/dev/null || echo unknown)
{
	echo "broker: ccc $VERSION ($COMMIT)"
	echo "openssl: $(openssl version 2>/dev/null || echo '?')"
	echo "kernel: $(uname -r)"
	echo "cpu: $(sed -n 's/^model name[^:]*: //p' /proc/cpuinfo | head -1) x $(nproc)"
	echo "pinning: $PIN_NOTE"
	echo "scenarios: $SCENARIOS"
	echo "date: $(date -u +%Y-%m-%dT%H:%M:%SZ)"
} >"$OUT/meta.txt"
: >"$OUT/commands.txt"

# the groups: each base scenario once, in the order first named (ad: a,
# er: e, f: f); a group's members: its ccc scenarios as named, then the
# peers on the base scenario
GROUPS_=
for sc in $SCENARIOS; do
	g=${sc%"${sc#?}"}
	case " $GROUPS_ " in *" $g "*) ;; *) GROUPS_="$GROUPS_ $g" ;; esac
done
members() {
	for sc in $SCENARIOS; do
		[ "${sc%"${sc#?}"}" != "$1" ] || echo "ccc:$sc"
	done
	[ -z "$PEERS" ] || [ "$1" = f ] || for p in $PEER_IDS; do echo "$p:$1"; done
}
echo "bench: scenarios $SCENARIOS; peers: $([ -n "$PEERS" ] &&
    echo "$PEER_IDS" || echo "not measured (PEERS not set)");" \
    "up to $RUNS round(s) in about $BUDGET s; pinning: $PIN_NOTE"

# rounds: every scenario once per round and broker, so that drift of the
# host hits all alike; a further round starts only if it should end within
# BUDGET seconds
start=$(date +%s)
last=0
run=1
while [ $run -le "$RUNS" ]; do
	now=$(date +%s)
	if [ $run -gt 1 ] && [ $((now - start + last)) -gt "$BUDGET" ]; then
		echo "  time budget of $BUDGET s: stopping after $((run - 1)) of $RUNS rounds"
		break
	fi
	for g in $GROUPS_; do
		# shellcheck disable=SC2046
		for m in $(rotate $((run - 1)) $(members "$g")); do
			case $m in
			ccc:f) backlog_run "$run" ;;
			ccc:*) ccc_run "${m#ccc:}" "$run" ;;
			*) peer_run "${m%%:*}" "${m#*:}" "$run" ;;
			esac
		done
	done
	last=$(($(date +%s) - now))
	run=$((run + 1))
done

# ccc's runs of a-e and its variants in the kit's layout too, one directory
# per variant, so that the kit's summarize.py can read them with the peers'
for f in "$OUT"/raw/*-*.json; do
	name=${f##*/}
	sc=${name%-*}
	case $sc in
	a|b|c|d|e) dir=ccc what= ;;
	ad|bd|cd|dd) dir=ccc-durable what=" durable subscriptions" ;;
	er) dir=ccc-resumed what=" resumed sessions" ;;
	e10k) dir=ccc-10k what=", 10,000 sessions" ;;
	*) continue ;;
	esac
	[ -s "$f" ] || continue
	mkdir -p "$OUT/brokers/$dir/raw"
	cp "$f" "$OUT/brokers/$dir/raw/${sc%"${sc#?}"}-${name##*-}"
	[ -f "$OUT/brokers/$dir/meta.txt" ] ||
	    sed "1s/^broker: ccc $VERSION/&$what/" "$OUT/meta.txt" \
	    >"$OUT/brokers/$dir/meta.txt"
done
if [ -n "$PEERS" ]; then
	for p in $PEER_IDS; do
		echo "peer: $(sed -n '1s/^broker: //p' "$OUT/brokers/$p/meta.txt" \
		    2>/dev/null || true)"
	done >>"$OUT/meta.txt"
	# the kit's own tables, each figure as median (min-max) over the rounds
	python3 "$PEERS/summarize.py" "$OUT"/brokers/*/ \
	    >"$OUT/brokers/summary.md" 2>"$WORK/stderr" ||
	    sed 's/^/   summarize.py: /' "$WORK/stderr"
else
	echo "peers: not measured" >>"$OUT/meta.txt"
fi

# ---- one table: the median of each figure over the runs --------------------
sh "$SRC/bench/summary.sh" "$OUT" | tee "$OUT/summary.md"
echo "results: $OUT (raw/*.json, brokers/, meta.txt, commands.txt, summary.md)"
