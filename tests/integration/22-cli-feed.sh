#!/bin/sh
# 22-cli-feed.sh — ccc subscribe on a terminal, as an officer follows a feed
# through a shift, against a real cccd: run under a pseudo-terminal
# (script(1)), the header lines are coloured by severity, the bell rings for
# a critical alert, times are in the local time zone (TZ), sections and
# origins carry the registry's names, replayed, redelivered, restricted and
# addressed-to-you alerts are marked; NO_COLOR, --color and --utc are
# obeyed; and the same alerts written to a pipe are the plain form, byte for
# byte.
#
# Usage: CCC_BUILD=build sh tests/integration/22-cli-feed.sh
#
# Makes its own PKI (certs/mkpki.sh) and config in a temporary directory,
# starts cccd on a free loopback port and always stops it again. Every wait
# is bounded. Prints one line per check and ends with "N passed, M failed";
# the exit status is 1 when a check failed.

# shellcheck source=tests/integration/cli-lib.sh
. "$(dirname "$0")/cli-lib.sh"

# ---- helpers -------------------------------------------------------------------

esc=$(printf '\033')
bel=$(printf '\007')

# on_tty OUTFILE ENV... -- ARGS... — ccc ARGS as gr-police under a
# pseudo-terminal, with the environment variables ENV (VAR=VALUE) set and
# NO_COLOR unset unless given; what the terminal showed in OUTFILE
on_tty() {
	out=$1
	shift
	vars=
	while [ "$1" != "--" ]; do
		vars="$vars $1"
		shift
	done
	shift
	timeout -k 5 60 script -qfec "env -u NO_COLOR $vars $ccc \
	    --server 127.0.0.1:$port --cert $pki/gr-police.pem \
	    --key $pki/gr-police.key --ca $pki/ca.pem $*" /dev/null \
	    < /dev/null > "$out" 2>&1
	rc=$?
}

# has FILE TEXT — FILE contains TEXT (escape sequences included)
has() {
	grep -qF -- "$2" "$1"
}

# line_of FILE TEXT — the first line of FILE containing TEXT
line_of() {
	grep -F -- "$2" "$1" | head -n 1
}

# ---- set-up ----------------------------------------------------------------------

cli_start 22-cli-feed

# four alerts, one per severity, observed a minute ago
obs=$(date -u -d '-1 min' +%Y-%m-%dT%H:%M:%SZ)
local_obs=$(TZ=XYZ-5 date -d "$obs" '+%Y-%m-%d %H:%M:%S XYZ')
for sev in critical high medium low; do
	run_as tr-police publish --category drugs --section tr-bg/kapikule \
	    --severity "$sev" --handling h1 --summary "A $sev alert" \
	    --observed-at "$obs"
	eval "id_$sev=\$(cat \"\$tmp/out\")"
done
# shellcheck disable=SC2154 # set by the eval above
if [ -n "$id_critical" ] && [ -n "$id_low" ]; then
	pass "four alerts published"
else
	fail "four alerts published" "$tmp/out" "$tmp/err"
fi
sec_name='tr-bg/kapikule (Kapıkule – Kapitan Andreevo (road and rail))'
ep_name='from tr-police (Turkish National Police (Emniyet Genel Müdürlüğü))'

# ---- the terminal form -------------------------------------------------------------

on_tty "$tmp/tty" TZ=XYZ-5 -- subscribe --bell --since 1h --count 4 \
    "'alerts/+/tr-bg/#'"
crit=$(line_of "$tmp/tty" "$id_critical")
high=$(line_of "$tmp/tty" "$id_high")
medium=$(line_of "$tmp/tty" "$id_medium")
low=$(line_of "$tmp/tty" "$id_low")
check "subscribe on a terminal exits 0 after --count 4" test "$rc" -eq 0
case $crit in
"$bel$esc[1;31m$local_obs CRITICAL drugs "*"$esc[0m"*)
	pass "CRITICAL: the bell, then bold red, in the local time zone" ;;
*)	fail "CRITICAL: the bell, then bold red, in the local time zone" "$tmp/tty" ;;
esac
case $high in
"$esc[31m$local_obs HIGH drugs "*"$esc[0m"*) pass "HIGH: red, no bell" ;;
*)	fail "HIGH: red, no bell" "$tmp/tty" ;;
esac
case $medium in
"$esc[33m$local_obs MEDIUM drugs "*"$esc[0m"*) pass "MEDIUM: yellow" ;;
*)	fail "MEDIUM: yellow" "$tmp/tty" ;;
esac
case $low in
"$local_obs LOW drugs "*)
	case $low in
	*"$esc"*) fail "LOW: the terminal's default colour" "$tmp/tty" ;;
	*) pass "LOW: the terminal's default colour" ;;
	esac ;;
*)	fail "LOW: the terminal's default colour" "$tmp/tty" ;;
esac
case $crit in
*" $sec_name $ep_name id $id_critical [replayed]$esc[0m"*)
	pass "the section's and the origin's names next to their ids; replayed marked" ;;
*)	fail "the section's and the origin's names next to their ids; replayed marked" \
	    "$tmp/tty" ;;
esac
if [ "$(grep -c "$bel" "$tmp/tty")" -eq 1 ]; then
	pass "the bell rings for the critical alert only"
else
	fail "the bell rings for the critical alert only" "$tmp/tty"
fi

on_tty "$tmp/tty-utc" TZ=XYZ-5 -- subscribe --utc --since 1h --count 4 \
    "'alerts/+/tr-bg/#'"
if has "$tmp/tty-utc" "$esc[1;31m$obs CRITICAL drugs" &&
    ! has "$tmp/tty-utc" "XYZ" && ! has "$tmp/tty-utc" "$bel"; then
	pass "--utc: RFC 3339 times in UTC; no bell without --bell"
else
	fail "--utc: RFC 3339 times in UTC; no bell without --bell" "$tmp/tty-utc"
fi
on_tty "$tmp/tty-nocolor" NO_COLOR=1 -- subscribe --since 1h --count 4 \
    "'alerts/+/tr-bg/#'"
if [ "$rc" -eq 0 ] && has "$tmp/tty-nocolor" "CRITICAL drugs $sec_name" &&
    ! has "$tmp/tty-nocolor" "$esc"; then
	pass "NO_COLOR set: the terminal form without colours"
else
	fail "NO_COLOR set: the terminal form without colours" "$tmp/tty-nocolor"
fi
on_tty "$tmp/tty-empty" NO_COLOR= -- subscribe --since 1h --count 4 \
    "'alerts/+/tr-bg/#'"
if has "$tmp/tty-empty" "$esc[1;31m"; then
	pass "NO_COLOR empty: colours"
else
	fail "NO_COLOR empty: colours" "$tmp/tty-empty"
fi
on_tty "$tmp/tty-never" -- subscribe --color=never --since 1h --count 4 \
    "'alerts/+/tr-bg/#'"
if [ "$rc" -eq 0 ] && has "$tmp/tty-never" "CRITICAL drugs" &&
    ! has "$tmp/tty-never" "$esc"; then
	pass "--color=never: no colours on a terminal"
else
	fail "--color=never: no colours on a terminal" "$tmp/tty-never"
fi
on_tty "$tmp/tty-always" NO_COLOR=1 -- subscribe --color always --since 1h \
    --count 4 "'alerts/+/tr-bg/#'"
if has "$tmp/tty-always" "$esc[1;31m"; then
	pass "--color always wins over NO_COLOR"
else
	fail "--color always wins over NO_COLOR" "$tmp/tty-always"
fi
on_tty "$tmp/tty-bad" -- subscribe --color=sometimes "'alerts/#'"
if [ "$rc" -eq 64 ] && has "$tmp/tty-bad" "expected auto, always or never"; then
	pass "--color with another value exits 64"
else
	fail "--color with another value exits 64 (status $rc)" "$tmp/tty-bad"
fi

# ---- restricted, addressed to you, redelivered --------------------------------------

run_as tr-police publish --category wanted_person --section tr-bg/kapikule \
    --severity medium --handling h2 --summary 'Wanted person, for Greek police' \
    --recipient gr-police
id_to=$(cat "$tmp/out")
on_tty "$tmp/tty-inbox" -- subscribe --inbox --count 1
case $(line_of "$tmp/tty-inbox" "$id_to") in
*"id $id_to [restricted] [to you]$esc[0m"*)
	pass "an h2 alert naming this endpoint: [restricted] [to you]" ;;
*)	fail "an h2 alert naming this endpoint: [restricted] [to you]" \
	    "$tmp/tty-inbox" ;;
esac
case $(line_of "$tmp/tty" "$id_high") in
*"[restricted]"* | *"[to you]"* | *"[redelivered"*)
	fail "an h1 alert to a topic: no other marker" "$tmp/tty" ;;
*)	pass "an h1 alert to a topic: no other marker" ;;
esac

# a durable delivery printed nowhere (standard output full) is not
# acknowledged, and comes again marked
if [ -w /dev/full ]; then
	timeout -k 5 30 "$ccc" --server "127.0.0.1:$port" \
	    --cert "$pki/gr-police.pem" --key "$pki/gr-police.key" \
	    --ca "$pki/ca.pem" subscribe --durable shift --count 1 \
	    "alerts/+/tr-bg/#" > /dev/full 2> "$tmp/err" &
	dur_pid=$!
	sub_pid=$dur_pid
	wait_for "$log" 'created durable subscription "shift"' 10 || true
	run_as tr-police publish --category drugs --section tr-bg/kapikule \
	    --severity low --handling h0 --summary 'Delivered twice'
	id_again=$(cat "$tmp/out")
	wait_exit "$dur_pid" 10 || true
	wait "$dur_pid" 2>/dev/null
	dur_rc=$?
	sub_pid=
	on_tty "$tmp/tty-again" -- subscribe --durable shift --count 1 \
	    "'alerts/+/tr-bg/#'"
	if [ "$dur_rc" -eq 74 ] &&
	    has "$tmp/tty-again" "id $id_again [redelivered 1]"; then
		pass "an alert not acknowledged comes again marked [redelivered 1]"
	else
		fail "an alert not acknowledged comes again marked [redelivered 1] (first status $dur_rc)" \
		    "$tmp/err" "$tmp/tty-again"
	fi
fi

# ---- a pipe: the plain form, byte for byte ----------------------------------------

# what the plain form is, from the JSON of the same alerts
env -u NO_COLOR TZ=XYZ-5 timeout -k 5 30 "$ccc" --server "127.0.0.1:$port" \
    --cert "$pki/gr-police.pem" --key "$pki/gr-police.key" --ca "$pki/ca.pem" \
    subscribe --json --since 1h --count 4 'alerts/+/tr-bg/#' \
    > "$tmp/json" 2> "$tmp/err"
# field NAME — the string field NAME of the JSON object in $obj
field() {
	printf '%s\n' "$obj" | sed -n "s/.*\"$1\":\"\([^\"]*\)\".*/\1/p"
}
while IFS= read -r obj; do
	printf '%s %s %s %s from %s id %s\n  %s\n    handling %s\n    published %s\n' \
	    "$(field observed_at)" "$(field severity | tr a-z A-Z)" \
	    "$(field category)" "$(field section)" "$(field origin)" \
	    "$(field id)" "$(field summary)" "$(field handling)" \
	    "$(field published_at)"
done < "$tmp/json" > "$tmp/want"
# pipe NAME ARGS... — subscribe ARGS to a pipe, compared with the plain form
pipe() {
	name=$1
	shift
	env -u NO_COLOR TZ=XYZ-5 timeout -k 5 30 "$ccc" --server "127.0.0.1:$port" \
	    --cert "$pki/gr-police.pem" --key "$pki/gr-police.key" \
	    --ca "$pki/ca.pem" subscribe "$@" --since 1h --count 4 \
	    'alerts/+/tr-bg/#' 2> "$tmp/err" | cat > "$tmp/pipe"
	if [ -s "$tmp/want" ] && cmp -s "$tmp/want" "$tmp/pipe"; then
		pass "$name"
	else
		fail "$name" "$tmp/want" "$tmp/pipe" "$tmp/err"
	fi
}
pipe "to a pipe: the plain form, byte for byte (UTC, no names, no markers, no colours)"
pipe "to a pipe with --bell and --utc: the same bytes" --bell --utc
env -u NO_COLOR timeout -k 5 30 "$ccc" --server "127.0.0.1:$port" \
    --cert "$pki/gr-police.pem" --key "$pki/gr-police.key" --ca "$pki/ca.pem" \
    subscribe --color=always --since 1h --count 4 'alerts/+/tr-bg/#' \
    > "$tmp/pipe-colour" 2> "$tmp/err"
if [ "$(sed "s/$esc\[[0-9;]*m//g" "$tmp/pipe-colour" | cmp - "$tmp/want" &&
    echo same)" = same ] && has "$tmp/pipe-colour" "$esc[1;31m"; then
	pass "--color=always to a pipe: the plain form with only the colours added"
else
	fail "--color=always to a pipe: the plain form with only the colours added" \
	    "$tmp/pipe-colour"
fi

cli_done
