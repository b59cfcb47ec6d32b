#!/bin/sh
# 23-cli-scripts.sh — the ccc command line as a script and an operator with
# two certificates use it, against a real cccd: each class of exit status
# (ccc help: usage 64, data 65, no input 66, refused 69, protocol 70,
# cannot create 73, output 74, unreachable 75, not allowed 77,
# configuration 78), required publish flags checked before connecting,
# "did you mean" for a misspelt command or flag, and client profiles
# (~/.config/ccc/profiles, --profile, CCC_PROFILE, the precedence flags >
# environment > profile, the permission checks).
#
# Usage: CCC_BUILD=build sh tests/integration/23-cli-scripts.sh
#
# Makes its own PKI (certs/mkpki.sh) and config in a temporary directory,
# starts cccd on a free loopback port and always stops it again. Every wait
# is bounded. Prints one line per check and ends with "N passed, M failed";
# the exit status is 1 when a check failed.

# shellcheck source=tests/integration/cli-lib.sh
. "$(dirname "$0")/cli-lib.sh"

# ---- helpers -------------------------------------------------------------------

# expect NAME STATUS TEXT... — pass when $rc is STATUS and stderr contains
# every TEXT
expect() {
	name=$1
	want=$2
	shift 2
	ok=true
	[ "$rc" -eq "$want" ] || ok=false
	for t in "$@"; do
		grep -qF -- "$t" "$tmp/err" || ok=false
	done
	if $ok; then
		pass "$name"
	else
		fail "$name (status $rc, expected $want)" "$tmp/out" "$tmp/err"
	fi
}

# pub_as ENDPOINT SUMMARY [FLAGS...] — a valid alert for tr-bg/kapikule
pub_as() {
	ep=$1
	summary=$2
	shift 2
	run_as "$ep" publish --category drugs --section tr-bg/kapikule \
	    --severity high --handling h1 --summary "$summary" "$@"
}

# with_home ARGS... — ccc with HOME=$tmp/home and no XDG_CONFIG_HOME, no
# CCC_* variables but those given before it as VAR=VALUE
with_home() {
	env -u XDG_CONFIG_HOME -u CCC_SERVER -u CCC_CERT -u CCC_KEY -u CCC_CA \
	    -u CCC_PROFILE HOME="$tmp/home" "$@" > "$tmp/out" 2> "$tmp/err"
	rc=$?
}

# ---- set-up ----------------------------------------------------------------------

cli_start 23-cli-scripts

# ---- usage: 64, before connecting ---------------------------------------------

run subscirbe alerts/#
expect "a misspelt command exits 64 and names the right one" 64 \
    'unknown command "subscirbe"' "did you mean 'subscribe'?"
run help publsh
expect "ccc help with a misspelt command suggests it too" 64 \
    "did you mean 'publish'?"
run frobnicate
expect "a command unlike any other gets the list instead" 64 \
    'unknown command "frobnicate" (publish, subscribe'
run_as tr-police publish --categroy drugs
expect "a misspelt flag exits 64 and names the right one" 64 \
    "unknown option --categroy; did you mean '--category'?"

# the real broker: a publish that reached it would open a session (logged)
run_as tr-police publish --category drugs --section tr-bg/kapikule \
    --severity high --summary 'No handling code'
expect "a publish without --handling exits 64" 64 \
    "missing required flag: --handling"
run_as tr-police publish --category drugs
expect "every missing required flag is named" 64 \
    "missing required flags: --severity, --section, --summary, --handling"
if ! grep -qF 'tr-police' "$log"; then
	pass "the command line refused them before connecting"
else
	fail "the command line refused them before connecting" "$log"
fi

# ---- data: 65, no input: 66 -------------------------------------------------------

pub_as tr-police 'Wrong section' --section tr-bg/nowhere
expect "an alert the broker finds invalid exits 65" 65 "invalid_alert"
printf '{"category":\n' > "$tmp/bad.jsonl"
run_as tr-police publish --json "$tmp/bad.jsonl"
expect "a JSON line that does not parse exits 65" 65 "line 1: invalid JSON"
run_as tr-police publish --json "$tmp/no-such-file.jsonl"
expect "a JSON file that cannot be read exits 66" 66 "cannot open"

# ---- refused: 69 -----------------------------------------------------------------

pub_as tr-police 'First of its id'
id=$(cat "$tmp/out")
pub_as tr-police 'Other content, same id' --id "$id"
expect "an alert id taken by other content exits 69" 69 "alert_id_conflict"

# ---- protocol error: 70 --------------------------------------------------------------

# a TLS server that answers with a frame that is no envelope
(printf '\000\000\000\005hello'; sleep 15) |
    timeout 30 openssl s_server -accept 127.0.0.1:0 -cert "$pki/cccd.pem" \
    -key "$pki/cccd.key" -naccept 1 > "$tmp/s_server" 2>&1 &
sub_pid=$!
if wait_for "$tmp/s_server" "ACCEPT 127.0.0.1:" 10; then
	bad=$(sed -n 's/^ACCEPT 127\.0\.0\.1:\([0-9]*\)$/\1/p' "$tmp/s_server")
	run --server "127.0.0.1:$bad" --cert "$pki/tr-police.pem" \
	    --key "$pki/tr-police.key" --ca "$pki/ca.pem" --timeout 5 publish \
	    --category drugs --section tr-bg/kapikule --severity high \
	    --handling h1 --summary 'To a broker that is none'
	expect "a peer that sends what is no ccc.v1 envelope: exits 70" 70 \
	    "bad frame"
else
	fail "openssl s_server listens" "$tmp/s_server"
fi
stop "$sub_pid"
sub_pid=

# ---- output: 73 and 74 ----------------------------------------------------------------

run_as ccc-operator admin export -o "$tmp/no-such-dir/registry.yaml"
expect "an output file that cannot be created exits 73" 73 "cannot create"
if [ -w /dev/full ]; then
	timeout -k 5 30 "$ccc" --server "127.0.0.1:$port" \
	    --cert "$pki/tr-police.pem" --key "$pki/tr-police.key" \
	    --ca "$pki/ca.pem" publish --category drugs \
	    --section tr-bg/kapikule --severity low --handling h0 \
	    --summary 'Standard output full' > /dev/full 2> "$tmp/err"
	rc=$?
	expect "standard output that cannot be written exits 74" 74 \
	    "cannot write to standard output"
fi

# ---- not allowed: 77 ---------------------------------------------------------------------

run_as gr-police publish --category drugs --section tr-bg/kapikule \
    --severity high --handling h1 --summary 'Not ours to report'
expect "a forbidden publish exits 77" 77 "forbidden"
sh "$srcdir/certs/mkpki.sh" issue "$pki" nobody nobody > "$tmp/mkpki.out" 2>&1
pub_as nobody 'Who am I'
expect "a certificate of an endpoint not in the registry exits 77" 77 \
    "is not registered"
sh "$srcdir/certs/mkpki.sh" issue "$pki" tr-police tr-police.expired \
    --not-before 20200101000000Z --not-after 20200201000000Z \
    > "$tmp/mkpki.out" 2>&1
pub_as tr-police.expired 'Expired certificate'
expect "a certificate the broker refuses in the handshake exits 77" 77 \
    "TLS handshake"

# ---- configuration: 78 ------------------------------------------------------------------

run --server "127.0.0.1:$port" --cert "$tmp/no-such.pem" \
    --key "$pki/tr-police.key" --ca "$pki/ca.pem" publish --category drugs \
    --section tr-bg/kapikule --severity high --handling h1 --summary x
expect "a certificate file that cannot be read exits 78" 78 "no-such.pem"

# ---- profiles ------------------------------------------------------------------------

mkdir -p "$tmp/home/.config/ccc" "$tmp/xdg/ccc"
cp "$pki/tr-customs.pem" "$pki/tr-customs.key" "$pki/ca.pem" \
    "$tmp/home/.config/ccc/"
cat > "$tmp/home/.config/ccc/profiles" <<PROFILES
# two identities of one officer
[customs]
server = 127.0.0.1:$port
cert = tr-customs.pem
key = tr-customs.key
ca = ca.pem

[police]
server = 127.0.0.1:1
cert = $pki/tr-police.pem
key = $pki/tr-police.key
ca = $pki/ca.pem
PROFILES
chmod 600 "$tmp/home/.config/ccc/profiles"

with_home "$ccc" --profile customs publish --category customs \
    --section tr-gr/ipsala --severity low --handling h0 --summary 'By profile'
if [ "$rc" -eq 0 ] && [ -s "$tmp/out" ] && [ ! -s "$tmp/err" ] &&
    grep -qF "$(cat "$tmp/out")" "$log" &&
    grep -F "$(cat "$tmp/out")" "$log" | grep -qF 'tr-customs'; then
	pass "--profile NAME: server, cert, key and ca (relative paths) from the profile"
else
	fail "--profile NAME: server, cert, key and ca from the profile (status $rc)" \
	    "$tmp/out" "$tmp/err"
fi
with_home CCC_PROFILE=customs "$ccc" publish --category customs \
    --section tr-gr/ipsala --severity low --handling h0 --summary 'By CCC_PROFILE'
expect "CCC_PROFILE names the profile" 0
with_home "$ccc" --profile police --server "127.0.0.1:$port" publish \
    --category drugs --section tr-bg/kapikule --severity low --handling h0 \
    --summary 'Flag over profile'
expect "a flag wins over the profile (its server unreachable)" 0
with_home CCC_SERVER="127.0.0.1:$port" "$ccc" --profile police publish \
    --category drugs --section tr-bg/kapikule --severity low --handling h0 \
    --summary 'Environment over profile'
expect "the environment wins over the profile" 0
with_home CCC_SERVER=127.0.0.1:1 "$ccc" --profile customs \
    --server "127.0.0.1:$port" publish --category customs \
    --section tr-gr/ipsala --severity low --handling h0 --summary 'Flag first'
expect "a flag wins over the environment" 0
with_home "$ccc" --timeout 3 --profile police publish --category drugs \
    --section tr-bg/kapikule --severity low --handling h0 --summary x
expect "the profile's server is used when nothing overrides it: unreachable, 75" \
    75 "127.0.0.1:1"
cp "$tmp/home/.config/ccc/profiles" "$tmp/xdg/ccc/profiles"
sed -i 's/^\[customs\]/[xdg]/' "$tmp/xdg/ccc/profiles"
with_home XDG_CONFIG_HOME="$tmp/xdg" "$ccc" --profile xdg subscribe --help
expect "XDG_CONFIG_HOME is where the profiles are" 0
with_home "$ccc" --profile nosuch publish --category drugs \
    --section tr-bg/kapikule --severity low --handling h0 --summary x
expect "an unknown profile exits 78" 78 "no profile [nosuch]"
printf '[bad]\nport = 1\n' >> "$tmp/home/.config/ccc/profiles"
with_home "$ccc" --profile bad publish --category drugs \
    --section tr-bg/kapikule --severity low --handling h0 --summary x
expect "an unknown key exits 78 and names the line" 78 "line 14: unknown key \"port\""
sed -i '$d' "$tmp/home/.config/ccc/profiles"
chmod 644 "$tmp/home/.config/ccc/profiles"
with_home "$ccc" --profile customs publish --category customs \
    --section tr-gr/ipsala --severity low --handling h0 --summary 'Readable'
expect "a profile readable by others is used, with a warning" 0 \
    "warning:" "readable by others"
chmod 664 "$tmp/home/.config/ccc/profiles"
with_home "$ccc" --profile customs publish --category customs \
    --section tr-gr/ipsala --severity low --handling h0 --summary 'Writable'
expect "a profile writable by others is refused with 78" 78 \
    "writable by others" "chmod 600"
if [ ! -s "$tmp/out" ]; then
	pass "nothing is published with a refused profile"
else
	fail "nothing is published with a refused profile" "$tmp/out"
fi

# ---- unreachable: 75 --------------------------------------------------------------

cli_stop
run_as tr-police --timeout 3 publish --category drugs \
    --section tr-bg/kapikule --severity high --handling h1 --summary x
expect "no broker: exits 75 (try again later)" 75 "127.0.0.1:$port"

cli_done
