#!/bin/sh
# summary.sh — the table of `make bench`: the median of each figure over the
# rounds, per scenario and broker, the ratios the performance targets use,
# and one line per round of the backlog (scenario f). bench/run.sh runs it
# at the end of a session; it can be run again on a session's results.
#
# Usage: sh bench/summary.sh OUTDIR
#   OUTDIR  a results directory of bench/run.sh: raw/<scenario>-<round>.json
#           (ccc: one `ccc bench --json` object each), raw/f-<round>-fill.json,
#           raw/f-<round>-drain.json and raw/f-<round>-restart.txt (f), and,
#           when the peers were measured, brokers/<peer>/raw/<scenario>-<round>.json
#           (one RESULT object of the peer benchmark kit's mosq-bench or
#           nats-bench each; <peer>: mosquitto, nats-core, nats-js)
#
# Owns: reading those files and printing the table; nothing else.
# Must never: write anything, or treat a missing or empty result as a zero:
# a run without a result is left out of the medians (its "ok" count shows it).
# A peer that was not measured is said so, never compared.
set -eu

if [ $# -ne 1 ] || [ ! -d "$1" ]; then
	echo "usage: sh bench/summary.sh OUTDIR" >&2
	exit 2
fi
OUT=$1
PEER_IDS="mosquitto nats-core nats-js"

# one record a line: TYPE, scenario, broker, round, data (tab-separated);
# TYPE run: a run of a-e or a variant, data its JSON object; fill, drain:
# the two runs of f, restart: f's restart line (restart_s=... store_mib=...)
records() {
	for f in "$OUT"/raw/*-*.json; do
		[ -s "$f" ] || continue
		name=${f##*/}
		name=${name%.json}
		case $name in
		f-*-fill|f-*-drain)
			r=${name#f-}
			printf '%s\tf\tccc\t%s\t' "${r##*-}" "${r%-*}" ;;
		f-*) continue ;;
		*)	printf 'run\t%s\tccc\t%s\t' "${name%-*}" "${name##*-}" ;;
		esac
		head -n 1 "$f"
	done
	for f in "$OUT"/raw/f-*-restart.txt; do
		[ -s "$f" ] || continue
		r=${f##*/f-}
		printf 'restart\tf\tccc\t%s\t%s\n' "${r%-restart.txt}" "$(head -n 1 "$f")"
	done
	for p in $PEER_IDS; do
		for f in "$OUT/brokers/$p"/raw/*-*.json; do
			[ -s "$f" ] || continue
			name=${f##*/}
			name=${name%.json}
			printf 'run\t%s\t%s\t%s\t' "${name%-*}" "$p" "${name##*-}"
			head -n 1 "$f"
		done
	done
}

records | awk -F '\t' '
# num(KEY): the number KEY holds in this line'"'"'s JSON object ("" when
# absent, null or negative: the load generators write -1 for "unknown")
function num(key,   v) {
	if (!match($5, "\"" key "\":[^,}]*"))
		return ""
	v = substr($5, RSTART + length(key) + 3, RLENGTH - length(key) - 3)
	if (v == "null" || v + 0 < 0)
		return ""
	return v
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
function cell(row, k, dec,   m) {
	m = median(vals[row, k])
	return m == "" ? "-" : sprintf("%." dec "f", m)
}
# the name of a row in the table: a peer by name, ccc by its variant
function who(sc, broker,   v) {
	if (broker != "ccc")
		return peer_name[broker]
	v = substr(sc, 2)
	return v == "" ? "ccc" : v == "d" ? "ccc durable" : \
	    v == "r" ? "ccc resumed" : v == "10k" ? "ccc 10,000 sessions" : "ccc " v
}
function addrow(sc, broker) {
	if ((sc SUBSEP broker) in runs) {
		rows[++nrows] = sc SUBSEP broker
		rsc[nrows] = sc
		rbroker[nrows] = broker
	}
}
function kv(s, key,   m) {
	if (!match(s, key "=[0-9.]*"))
		return ""
	return substr(s, RSTART + length(key) + 1, RLENGTH - length(key) - 1)
}
function fmt(v, dec) {
	return v == "" ? "-" : sprintf("%." dec "f", v)
}
BEGIN {
	nk = split("pub_rate deliv_rate lost dups lat_p50_us lat_p99_us " \
	    "lat_p999_us lat_max_us run_broker_cpu run_bench_cpu " \
	    "broker_us_per_deliv broker_hwm_kib conn_rate per_conn_kib", keys, " ")
	# the rows in this order: each scenario with its ccc variants, then
	# the peers on it
	nccc = split("a ad b bd c cd d dd e er e10k", ccc_order, " ")
	npeer = split("mosquitto nats-core nats-js", peer_order, " ")
	peer_name["mosquitto"] = "Mosquitto QoS 1"
	peer_name["nats-core"] = "NATS core"
	peer_name["nats-js"] = "JetStream"
	# the ratios of the targets (docs/performance.md): the numerator'"'"'s
	# scenario and broker, the denominator'"'"'s ("-": the target is a
	# value), the figure, the target (comparison and bound; none: "-"),
	# and what the line says; one line each, table order
	nratio = split(\
	    "a|ccc|a|nats-js|deliv_rate|>=|1.5|a: ccc a (confirmed after the sync) / JetStream a, publishes/s\n" \
	    "a|ccc|-|-|lat_p99_us|<=|10000|a: ccc confirm p99, us\n" \
	    "ad|ccc|a|nats-js|deliv_rate|>=|1.5|a durable: ccc ad / JetStream a, deliveries/s\n" \
	    "ad|ccc|a|mosquitto|deliv_rate|-|-|a durable: ccc ad / Mosquitto QoS 1 a, deliveries/s\n" \
	    "bd|ccc|b|nats-js|deliv_rate|>=|2|b durable: ccc bd / JetStream b, deliveries/s\n" \
	    "bd|ccc|b|nats-js|broker_us_per_deliv|<=|0.5|b durable: ccc bd / JetStream b, broker us per delivery\n" \
	    "bd|ccc|b|mosquitto|deliv_rate|>=|3|b durable: ccc bd / Mosquitto QoS 1 b, deliveries/s\n" \
	    "cd|ccc|c|nats-js|deliv_rate|>=|2|c durable: ccc cd / JetStream c, deliveries/s\n" \
	    "cd|ccc|c|nats-js|broker_us_per_deliv|<=|0.5|c durable: ccc cd / JetStream c, broker us per delivery\n" \
	    "cd|ccc|c|mosquitto|deliv_rate|>=|3|c durable: ccc cd / Mosquitto QoS 1 c, deliveries/s\n" \
	    "b|ccc|b|nats-core|deliv_rate|>=|1|b plain: ccc b / NATS core b, deliveries/s\n" \
	    "b|ccc|b|nats-core|broker_us_per_deliv|<=|1|b plain: ccc b / NATS core b, broker us per delivery\n" \
	    "c|ccc|c|nats-core|deliv_rate|>=|1|c plain: ccc c / NATS core c, deliveries/s\n" \
	    "c|ccc|c|nats-core|broker_us_per_deliv|<=|1|c plain: ccc c / NATS core c, broker us per delivery\n" \
	    "d|ccc|d|mosquitto|lat_p99_us|<=|1|d plain: ccc d / Mosquitto QoS 1 d, latency p99\n" \
	    "dd|ccc|-|-|lat_p99_us|<=|5000|d durable: ccc dd latency p99, us\n" \
	    "e|ccc|e|nats-core|conn_rate|>=|1|e: ccc e / NATS core e, handshakes/s\n" \
	    "er|ccc|e|nats-core|conn_rate|>=|5|e resumed: ccc er / NATS core e, handshakes/s\n" \
	    "e|ccc|-|-|per_conn_kib|<=|12|e: ccc KiB per idle session", ratio, "\n")
}
$1 == "run" {
	row = $2 SUBSEP $3
	runs[row]++
	if ($3 != "ccc")
		peers_seen = 1
	if ($5 ~ /"complete":true/)
		ok[row]++
	n = num("n")
	for (i = 1; i <= nk; i++) {
		# a connection run (n 0) has no deliveries; a run with
		# deliveries no connection figures; peak memory both
		if ((n + 0 == 0) != (keys[i] ~ /^(conn_rate|per_conn_kib)$/) &&
		    keys[i] != "broker_hwm_kib")
			continue
		v = num(keys[i])
		if (v != "")
			vals[row, keys[i]] = vals[row, keys[i]] " " v
	}
	next
}
$1 == "fill" || $1 == "drain" || $1 == "restart" {
	if (!($4 in f_seen)) {
		f_seen[$4] = 1
		f_round[++nf] = $4
	}
	f[$4, $1] = $5
}
END {
	for (i = 1; i <= nccc; i++) {
		addrow(ccc_order[i], "ccc")
		base = substr(ccc_order[i], 1, 1)
		if (i == nccc || substr(ccc_order[i + 1], 1, 1) != base)
			for (j = 1; j <= npeer; j++)
				addrow(base, peer_order[j])
	}
	if (nrows > 0) {
		print "| scenario | broker | ok | publish/s | deliveries/s | lost | " \
		    "dups | lat p50 us | lat p99 us | lat p99.9 us | lat max us | " \
		    "broker CPU % | bench CPU % | broker us/deliv | " \
		    "broker peak KiB | handshakes/s | KiB/conn |"
		print "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|"
	}
	for (r = 1; r <= nrows; r++) {
		row = rows[r]
		printf "| %s | %s | %d/%d | %s | %s | %s | %s | %s | %s | %s | " \
		    "%s | %s | %s | %s | %s | %s | %s |\n", rsc[r],
		    who(rsc[r], rbroker[r]), ok[row], runs[row],
		    cell(row, "pub_rate", 0), cell(row, "deliv_rate", 0),
		    cell(row, "lost", 0), cell(row, "dups", 0),
		    cell(row, "lat_p50_us", 0), cell(row, "lat_p99_us", 0),
		    cell(row, "lat_p999_us", 0), cell(row, "lat_max_us", 0),
		    cell(row, "run_broker_cpu", 0), cell(row, "run_bench_cpu", 0),
		    cell(row, "broker_us_per_deliv", 1),
		    cell(row, "broker_hwm_kib", 0),
		    cell(row, "conn_rate", 0), cell(row, "per_conn_kib", 1)
	}
	if (nrows > 0) {
		print ""
		print "Median over the runs. a-d: 512-byte alerts, window 100; " \
		    "d at 5,000 alerts/s, latency from the scheduled send time;"
		print "e: 5,000 idle subscribers, handshakes/s = TLS + hello + " \
		    "subscribe, KiB/conn = broker RSS growth / sessions."
		print "ad, bd, cd: a, b, c with durable subscriptions, each delivery " \
		    "acknowledged (bd 4,000 alerts, cd 12,000), dd: d with durable ones;"
		print "er: e resuming TLS sessions; e10k: e with 10,000 subscribers."
		if (peers_seen)
			print "Peers: the peer benchmark kit on the same scenarios " \
			    "(b 20,000 alerts, c 60,000); Mosquitto at QoS 1, " \
			    "JetStream with durable consumers."
	}

	if (nrows > 0) {
		print ""
		print "Ratios of the medians, against the targets:"
	}
	for (i = 1; i <= nratio; i++) {
		split(ratio[i], q, "|")
		num_row = q[1] SUBSEP q[2]
		if (!(num_row in runs))
			continue
		a = median(vals[num_row, q[5]])
		dec = q[5] ~ /^(broker_us_per_deliv|per_conn_kib)$/ ? 1 : 0
		if (q[3] == "-") {
			line = sprintf("%s: %s", q[8], fmt(a, dec))
			x = a
		} else {
			den_row = q[3] SUBSEP q[4]
			if (!(den_row in runs)) {
				if (peers_seen)
					printf "  %s: %s / - (%s %s not measured)\n",
					    q[8], fmt(a, dec), peer_name[q[4]], q[3]
				continue
			}
			b = median(vals[den_row, q[5]])
			x = a != "" && b + 0 > 0 ? a / b : ""
			line = sprintf("%s: %s / %s = %s", q[8], fmt(a, dec),
			    fmt(b, dec), fmt(x, 2))
		}
		if (q[6] == "-") {
			printf "  %s\n", line
			continue
		}
		if (x == "")
			met = "-"
		else if (q[6] == ">=")
			met = x + 0 >= q[7] + 0 ? "met" : "not met"
		else
			met = x + 0 <= q[7] + 0 ? "met" : "not met"
		printf "  %s (target %s %s: %s)\n", line, q[6], q[7], met
	}
	if (nrows > 0 && !peers_seen)
		print "  Peers: not measured (make bench PEERS=DIR, DIR a built " \
		    "copy of the peer benchmark kit: docs/performance.md, Peers)."

	if (nf > 0) {
		if (nrows > 0)
			print ""
		print "| f round | fill alerts/s | broker us/alert | store MiB | " \
		    "restart s | drain deliveries/s | broker us/delivery | " \
		    "drain peak RSS MiB | lost | complete |"
		print "|---|---|---|---|---|---|---|---|---|---|"
	}
	for (i = 1; i <= nf; i++) {
		r = f_round[i]
		$5 = f[r, "fill"]
		fill_rate = num("pub_rate"); fill_us = num("broker_us_per_pub")
		n = num("n")
		$5 = f[r, "drain"]
		hwm = num("broker_hwm_kib")
		printf "| %s | %s | %s | %s | %s | %s | %s | %s | %s | %s |\n", r,
		    fmt(fill_rate, 0), fmt(fill_us, 1),
		    fmt(kv(f[r, "restart"], "store_mib"), 0),
		    fmt(kv(f[r, "restart"], "restart_s"), 2),
		    fmt(num("deliv_rate"), 0), fmt(num("broker_us_per_deliv"), 1),
		    hwm == "" ? "-" : sprintf("%.1f%s", hwm / 1024,
		    f[r, "restart"] ~ /hwm_reset=yes/ ? "" : " *"),
		    fmt(num("lost"), 0),
		    f[r, "drain"] == "" ? "-" : \
		    f[r, "drain"] ~ /"complete":true/ ? "yes" : "no"
	}
	if (nf > 0) {
		print ""
		print "f: " (n == "" ? "the" : n) " alerts from 6 publishers for " \
		    "one durable subscription whose subscriber is offline; the"
		print "broker restarted on that store (restart s: until it " \
		    "listens again); the backlog read and acknowledged"
		print "(durable.window in flight); drain peak RSS: the broker'"'"'s " \
		    "VmHWM, reset when the drain starts (*: not reset, the"
		print "peak since the restart)."
	}
}'
