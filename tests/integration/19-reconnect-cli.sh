#!/bin/sh
# 19-reconnect-cli.sh — ccc subscribe and ccc receipts --follow across a restart
# of cccd: they reconnect by themselves and resume, so that every alert is
# shown exactly once — on a durable subscription, on the inbox, on a plain
# subscription with --since and on one without; --no-reconnect exits 75 when
# the broker goes away; a refusal that stays (a suspended endpoint) ends the
# command instead of looping; SIGTERM during the back-off ends it at once.
#
# Usage: CCC_BUILD=build sh tests/integration/19-reconnect-cli.sh
#
# Makes its own PKI and config in a temporary directory, starts cccd on a
# free loopback port, stops it and starts it again on the same data — for a
# while on another port, then on the same one — and always stops it and the
# followers at the end. Every wait is bounded. Prints one line per check and
# ends with "N passed, M failed"; the exit status is 1 when a check failed.

# shellcheck source=tests/integration/cli-lib.sh
. "$(dirname "$0")/cli-lib.sh"

# ---- helpers -------------------------------------------------------------------

# follow NAME ENDPOINT COMMAND ARGS... — ccc COMMAND in the background as
# that endpoint, output in $tmp/NAME and $tmp/NAME.err; its pid is added to
# $sub_pid and kept in $pid_NAME
follow() {
	name=$1
	ep=$2
	shift 2
	run_bg "$ep" "$tmp/$name" "$@"
	eval "pid_$name=$bg_pid"
	sub_pid="$sub_pid $bg_pid"
}

# publish SUMMARY — tr-police publishes a drugs alert at Kapıkule (reaching
# gr-police's subscriptions and bg-customs's inbox); its id in $id
publish() {
	run_as tr-police publish --category drugs --section tr-bg/kapikule \
	    --severity high --handling h1 --summary "$1"
	id=$(cat "$tmp/out")
	if [ "$rc" -ne 0 ] || [ -z "$id" ]; then
		fail "publish \"$1\" (status $rc)" "$tmp/out" "$tmp/err"
	fi
}

# count FILE TEXT — lines of FILE with TEXT
count() {
	grep -cF -- "$2" "$1" 2>/dev/null
}

# wait_count FILE TEXT N SECONDS — true once N lines of FILE have TEXT
wait_count() {
	n=0
	while [ "$n" -lt $(($4 * 10)) ]; do
		if [ "$(count "$1" "$2")" -ge "$3" ]; then
			return 0
		fi
		sleep 0.1
		n=$((n + 1))
	done
	return 1
}

# exited NAME SECONDS — true once NAME's process has exited; its status in $st
exited() {
	eval "p=\$pid_$1"
	st=
	wait_exit "$p" "$2" || return 1
	wait "$p"
	st=$?
	return 0
}

# once NAME IDS... — pass when every id appears exactly once in NAME's output
once() {
	name=$1
	shift
	bad=
	for i in "$@"; do
		[ "$(count "$tmp/$name" "\"id\":\"$i\"")" -eq 1 ] || bad="$bad $i"
	done
	if [ -z "$bad" ]; then
		pass "$name: each of the $# alerts shown exactly once"
	else
		fail "$name: each of the $# alerts shown exactly once (not:$bad)" \
		    "$tmp/$name" "$tmp/$name.err"
	fi
}

# ---- set-up ----------------------------------------------------------------------

cli_start 19-reconnect-cli

# ---- before the restart --------------------------------------------------------------

follow r tr-police receipts --follow --json
wait_for "$log" "authenticated as tr-police" 10 ||
    fail "receipts --follow connects" "$tmp/r.err"

publish 'before anyone follows, 1'
a1=$id
publish 'before anyone follows, 2'
a2=$id

follow d gr-police subscribe --json --durable feed 'alerts/+/tr-bg/#'
follow s gr-police subscribe --json --since 1h 'alerts/+/tr-bg/#'
follow p gr-police subscribe --json 'alerts/+/tr-bg/#'
follow i bg-customs subscribe --json --inbox
follow n bg-border-police subscribe --json --no-reconnect 'alerts/#'
follow x tr-gendarmerie subscribe --json 'alerts/#'
follow t tr-customs subscribe --json 'alerts/drugs/#'
if wait_for "$log" 'gr-police created durable subscription "feed"' 10 &&
    wait_for "$log" 'durable subscription "inbox"' 10 &&
    wait_count "$log" 'gr-police subscription' 2 10 &&
    wait_for "$log" 'bg-border-police subscription' 10 &&
    wait_for "$log" 'tr-gendarmerie subscription' 10 &&
    wait_for "$log" 'tr-customs subscription' 10; then
	pass "the followers are subscribed"
else
	fail "the followers are subscribed" "$log"
fi

publish 'before the restart'
b1=$id
if wait_for "$tmp/d" "$b1" 10 && wait_for "$tmp/s" "$b1" 10 &&
    wait_for "$tmp/p" "$b1" 10 && wait_for "$tmp/i" "$b1" 10 &&
    wait_for "$tmp/r" "$b1" 10; then
	pass "an alert before the restart reaches every follower"
else
	fail "an alert before the restart reaches every follower" "$tmp/d.err" \
	    "$tmp/s.err" "$tmp/p.err" "$tmp/i.err" "$tmp/r.err"
fi

# ---- the broker goes away ----------------------------------------------------------

cli_halt
# and while it is stopped, an operator suspends tr-gendarmerie in the file
sed '/^  - id: tr-gendarmerie$/a\
    suspended: true' "$tmp/registry.yaml" > "$tmp/registry.new" &&
    mv "$tmp/registry.new" "$tmp/registry.yaml"

if exited n 10 && [ "$st" -eq 75 ] && [ "$(count "$tmp/n.err" reconnecting)" -eq 0 ] &&
    grep -qF 'closed the session' "$tmp/n.err"; then
	pass "subscribe --no-reconnect exits 75 when the broker stops"
else
	fail "subscribe --no-reconnect exits 75 when the broker stops (status $st)" \
	    "$tmp/n.err"
fi

if wait_for "$tmp/d.err" 'connection lost: the broker closed the session: shutting_down' 10; then
	pass "the loss is reported with its reason"
else
	fail "the loss is reported with its reason" "$tmp/d.err"
fi

# SIGTERM while it waits to reconnect: it ends at once, with status 0
wait_for "$tmp/t.err" 'reconnecting' 10
sleep 1
kill -TERM "$pid_t" 2>/dev/null
if exited t 2 && [ "$st" -eq 0 ]; then
	pass "SIGTERM during the back-off ends subscribe at once (exit 0)"
else
	fail "SIGTERM during the back-off ends subscribe at once (status $st)" \
	    "$tmp/t.err"
fi
sleep 1

# ---- the broker is back ------------------------------------------------------------

# first somewhere the followers cannot reach it: an alert is published
# while none of them is connected
home=$port
cli_restart 0
publish 'while the followers are away'
b2=$id
cli_halt
cli_restart "$home"

for f in d s p i r; do
	if wait_for "$tmp/$f.err" 'reconnected as' 20 &&
	    [ "$(count "$tmp/$f.err" 'connection lost')" -eq 1 ] &&
	    [ "$(count "$tmp/$f.err" 'reconnected as')" -eq 1 ]; then
		pass "$f: one line when the connection is lost, one when it is back"
	else
		fail "$f: one line when the connection is lost, one when it is back" \
		    "$tmp/$f.err"
	fi
done

if exited x 20 && [ "$st" -eq 77 ] && grep -qF 'suspended' "$tmp/x.err" &&
    [ "$(count "$tmp/x.err" 'connection lost')" -eq 1 ]; then
	pass "a suspended endpoint's subscribe exits 77 instead of trying again"
else
	fail "a suspended endpoint's subscribe exits 77 instead of trying again (status $st)" \
	    "$tmp/x.err"
fi
publish 'after the restart'
c=$id
if wait_for "$tmp/d" "$c" 10 && wait_for "$tmp/s" "$c" 10 &&
    wait_for "$tmp/p" "$c" 10 && wait_for "$tmp/i" "$c" 10; then
	pass "an alert after the restart reaches every subscriber"
else
	fail "an alert after the restart reaches every subscriber" "$tmp/d.err" \
	    "$tmp/s.err" "$tmp/p.err" "$tmp/i.err"
fi
if wait_for "$tmp/r" "$c" 10; then
	pass "receipts --follow shows an acknowledgement after the restart"
else
	fail "receipts --follow shows an acknowledgement after the restart" \
	    "$tmp/r" "$tmp/r.err"
fi
# what was acknowledged then may still be redelivered: give it the time
sleep 1

once d "$b1" "$b2" "$c"
once s "$a1" "$a2" "$b1" "$b2" "$c"
once p "$b1" "$b2" "$c"
once i "$a1" "$a2" "$b1" "$b2" "$c"
for f in d s p i; do
	if [ "$(wc -l < "$tmp/$f")" -eq "$(count "$tmp/$f" '"id":"')" ]; then
		:
	else
		fail "$f: only alerts on standard output" "$tmp/$f"
	fi
done

for f in d s p i r; do
	eval "kill -TERM \$pid_$f"
	if exited "$f" 10 && [ "$st" -eq 0 ]; then
		pass "$f: exits 0 on SIGTERM"
	else
		fail "$f: exits 0 on SIGTERM (status $st)" "$tmp/$f.err"
	fi
done
sub_pid=
cli_stop
cli_done
