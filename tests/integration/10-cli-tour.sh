#!/bin/sh
# 10-cli-tour.sh — the ccc command line as a user meets it, against a real
# cccd: follow a feed in the background, publish from JSON Lines and from
# flags, see a refusal and a usage error, and configure the client through
# the environment.
#
# Usage: CCC_BUILD=build sh tests/integration/10-cli-tour.sh
#
# Makes its own PKI (certs/mkpki.sh) and config in a temporary directory,
# starts cccd on a free loopback port and always stops it again. Every wait
# is bounded. Prints one line per check and ends with "N passed, M failed";
# the exit status is 1 when a check failed.

# shellcheck source=tests/integration/cli-lib.sh
. "$(dirname "$0")/cli-lib.sh"

# ---- helpers -------------------------------------------------------------------

# follow_as ENDPOINT OUTFILE ARGS... — ccc subscribe in the background as
# that endpoint; its pid in $sub_pid
follow_as() {
	ep=$1
	out=$2
	shift 2
	run_bg "$ep" "$out" subscribe "$@"
	sub_pid=$bg_pid
}

is_uuid() {
	printf '%s\n' "$1" |
	    grep -Eqx '[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}'
}

# ---- set-up ----------------------------------------------------------------------

cli_start 10-cli-tour

# ---- the tour ------------------------------------------------------------------------

summary='Kapıkule: 23 migrants hidden in a lorry'
json=$(printf '{"category":"migrant_smuggling","section":"tr-bg/kapikule","severity":"high","handling":"h1","summary":"%s"}' "$summary")

# gr-police follows the Turkish-Bulgarian border in the background
follow_as gr-police "$tmp/sub.out" --json --count 1 'alerts/+/tr-bg/#'
if wait_for "$log" "gr-police subscription" 10; then
	pass "subscribe --json --count 1 is subscribed"
else
	fail "subscribe --json --count 1 is subscribed" "$tmp/sub.out.err"
fi

# tr-police publishes one alert as JSON Lines on standard input
printf '%s\n' "$json" > "$tmp/in"
run_as tr-police publish --json - < "$tmp/in"
id=$(cat "$tmp/out")
if [ "$rc" -eq 0 ] && [ "$(wc -l < "$tmp/out")" -eq 1 ] && is_uuid "$id"; then
	pass "publish --json - prints one alert id"
else
	fail "publish --json - prints one alert id (status $rc)" "$tmp/out" "$tmp/err"
fi

if wait_exit "$sub_pid" 10; then
	wait "$sub_pid"
	sub_rc=$?
	sub_pid=
	if [ "$sub_rc" -eq 0 ]; then
		pass "subscribe --count 1 exits 0 after one alert"
	else
		fail "subscribe --count 1 exits 0 after one alert (status $sub_rc)" \
		    "$tmp/sub.out" "$tmp/sub.out.err"
	fi
else
	fail "subscribe --count 1 exits after one alert (still running)" \
	    "$tmp/sub.out" "$tmp/sub.out.err"
fi
line=$(cat "$tmp/sub.out")
if [ "$(wc -l < "$tmp/sub.out")" -eq 1 ] &&
    printf '%s' "$line" | grep -qF "\"id\":\"$id\"" &&
    printf '%s' "$line" | grep -qF '"origin":"tr-police"' &&
    printf '%s' "$line" | grep -qF "\"summary\":\"$summary\"" &&
    printf '%s' "$line" | grep -qF '"category":"migrant_smuggling"'; then
	pass "the subscriber's JSON line has the id, origin and summary"
else
	fail "the subscriber's JSON line has the id, origin and summary" \
	    "$tmp/sub.out" "$tmp/sub.out.err"
fi

# the readable form, and an alert published with flags
follow_as gr-police "$tmp/sub.out" --count 1 'alerts/drugs/#'
wait_for "$log" "gr-police subscription 1: alerts/drugs/#" 10
run_as tr-police publish --category drugs --section tr-bg/hamzabeyli \
    --severity medium --handling h1 --summary '40 kg heroin in a lorry'
id2=$(cat "$tmp/out")
if [ "$rc" -eq 0 ] && is_uuid "$id2"; then
	pass "publish with flags prints the alert id"
else
	fail "publish with flags prints the alert id (status $rc)" "$tmp/out" "$tmp/err"
fi
if wait_exit "$sub_pid" 10; then
	wait "$sub_pid"
	sub_rc=$?
else
	sub_rc=timeout
fi
sub_pid=
if [ "$sub_rc" = 0 ] &&
    grep -qF "MEDIUM drugs tr-bg/hamzabeyli from tr-police id $id2" "$tmp/sub.out" &&
    grep -qF '40 kg heroin in a lorry' "$tmp/sub.out"; then
	pass "subscribe prints the alert readably"
else
	fail "subscribe prints the alert readably (status $sub_rc)" \
	    "$tmp/sub.out" "$tmp/sub.out.err"
fi

# gr-police may not publish for a Turkish-Bulgarian section
run_as gr-police publish --category migrant_smuggling --section tr-bg/kapikule \
    --severity high --handling h1 --summary 'Not ours to report'
if [ "$rc" -eq 77 ] && grep -qF 'forbidden' "$tmp/err" &&
    grep -qF 'tr-bg/kapikule' "$tmp/err" && [ ! -s "$tmp/out" ]; then
	pass "a forbidden publish exits 77 with the broker's message"
else
	fail "a forbidden publish exits 77 with the broker's message (status $rc)" \
	    "$tmp/out" "$tmp/err"
fi

# an invalid alert among JSON Lines: the ones before it are still confirmed
printf '%s\n%s\n' "$json" '{"category":"drugs","section":"tr-bg/nowhere","severity":"low","handling":"h0","summary":"x"}' \
    > "$tmp/in"
run_as tr-police publish --json - < "$tmp/in"
if [ "$rc" -eq 65 ] && [ "$(wc -l < "$tmp/out")" -eq 1 ] &&
    is_uuid "$(cat "$tmp/out")" && grep -qF 'line 2' "$tmp/err" &&
    grep -qF 'section' "$tmp/err"; then
	pass "publish --json reports the refused line and exits 65"
else
	fail "publish --json reports the refused line and exits 65 (status $rc)" \
	    "$tmp/out" "$tmp/err"
fi

# usage errors exit 64
run
check "no command exits 64" test "$rc" -eq 64
run_as tr-police publish --category drugs --no-such-flag
check "an unknown flag exits 64" test "$rc" -eq 64
run_as tr-police publish --category smuggling --section tr-bg/kapikule \
    --severity high --handling h1 --summary x
if [ "$rc" -eq 64 ] && grep -qF 'smuggling' "$tmp/err"; then
	pass "an unknown category name exits 64 and names it"
else
	fail "an unknown category name exits 64 and names it (status $rc)" "$tmp/err"
fi
run_as tr-police subscribe --json
check "subscribe without a pattern exits 64" test "$rc" -eq 64
run --server "127.0.0.1:$port" publish --category drugs --section tr-bg/kapikule \
    --severity high --handling h1 --summary x
if [ "$rc" -eq 64 ] && grep -qF 'CCC_CERT' "$tmp/err"; then
	pass "no certificate is a usage error naming CCC_CERT"
else
	fail "no certificate is a usage error naming CCC_CERT (status $rc)" "$tmp/err"
fi
run --version
check "--version exits 0" test "$rc" -eq 0

# the environment instead of flags
CCC_SERVER=127.0.0.1:$port CCC_CERT=$pki/tr-customs.pem \
    CCC_KEY=$pki/tr-customs.key CCC_CA=$pki/ca.pem \
    timeout 30 "$ccc" publish --category customs --section tr-gr/ipsala \
    --severity low --handling h0 --summary 'Undeclared cigarettes' \
    > "$tmp/out" 2> "$tmp/err"
rc=$?
if [ "$rc" -eq 0 ] && is_uuid "$(cat "$tmp/out")" &&
    grep -qF 'tr-customs' "$log"; then
	pass "CCC_SERVER, CCC_CERT, CCC_KEY and CCC_CA configure the client"
else
	fail "CCC_SERVER, CCC_CERT, CCC_KEY and CCC_CA configure the client (status $rc)" \
	    "$tmp/out" "$tmp/err"
fi

# durable subscription: what is published while the officer is away arrives
# when the same subscription is used again, and is acknowledged once printed
follow_as bg-border-police "$tmp/desk" --durable desk --count 1 'alerts/+/bg-gr/#'
wait_for "$log" 'created durable subscription "desk"' 10 || true
stop "$sub_pid"
wait_for "$log" 'detached durable subscription "desk"' 10 || true
run_as gr-customs publish --category customs --section bg-gr/kulata \
    --severity medium --handling h0 --summary 'Smuggled cigarettes, lorry at Kulata'
away_id=$(cat "$tmp/out")
run_as bg-border-police subscribe --durable desk --count 1 --json 'alerts/+/bg-gr/#'
if [ "$rc" -eq 0 ] && grep -qF "\"id\":\"$away_id\"" "$tmp/out"; then
	pass "subscribe --durable receives what was published while away"
else
	fail "subscribe --durable receives what was published while away (status $rc)" \
	    "$tmp/out" "$tmp/err"
fi
follow_as bg-border-police "$tmp/desk" --durable desk --count 1 'alerts/+/bg-gr/#'
sleep 1
if ! wait_exit "$sub_pid" 0 && [ ! -s "$tmp/desk" ]; then
	pass "an acknowledged durable alert is not delivered again"
else
	fail "an acknowledged durable alert is not delivered again" "$tmp/desk"
fi
stop "$sub_pid"

# SIGTERM: cccd exits 0
cli_stop

# and with no broker, connecting fails with status 75 (try again later)
run_as tr-police --timeout 3 publish --category drugs --section tr-bg/kapikule \
    --severity high --handling h1 --summary x
if [ "$rc" -eq 75 ] && [ -s "$tmp/err" ]; then
	pass "no broker: publish exits 75 with a message"
else
	fail "no broker: publish exits 75 with a message (status $rc)" "$tmp/err"
fi

cli_done
