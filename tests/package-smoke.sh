#!/bin/sh
# package-smoke.sh — the Debian packages on this machine, as an operator
# gets them: install cccd, ccc, libccc0 and libccc-dev (dpkg -i, then
# apt-get -f install for their dependencies), check the files, the user
# ccc and /var/lib/ccc, the manual pages (man -w) and the completions,
# check that the shipped configuration refuses to
# start without its PKI, then run the installed /usr/sbin/cccd (directly,
# as root, dropping to ccc; not through systemd) on a free loopback port
# with a demo PKI made by certs/mkpki.sh in a temporary directory, and
# exchange an alert through it with the installed ccc and with the example
# program of docs/client.md built against the installed libccc-dev. Stops
# cccd by its PID and purges the packages (and the user ccc, when this
# script's install created it), so that the machine is left as it was.
#
# usage: sh tests/package-smoke.sh DEBDIR   (as root; make package-test)
set -u

debs=$1
pkgs="cccd ccc libccc0 libccc-dev"
fails=0
tmp=
cccd_pid=
sub_pid=
user_existed=yes

fail() { echo "FAIL: $*"; fails=$((fails + 1)); }
pass() { echo "ok: $*"; }
check() {	# check DESCRIPTION COMMAND...
	desc=$1
	shift
	if "$@"; then pass "$desc"; else fail "$desc"; fi
}

# wait_for FILE TEXT SECONDS — true once FILE contains TEXT
wait_for() {
	n=0
	while [ "$n" -lt $(($3 * 10)) ]; do
		grep -qF -- "$2" "$1" 2> /dev/null && return 0
		sleep 0.1
		n=$((n + 1))
	done
	return 1
}

# stop PID — SIGTERM, at most 10 s, then SIGKILL; the exit status of PID
stop() {
	kill -TERM "$1" 2> /dev/null
	n=0
	while kill -0 "$1" 2> /dev/null && [ "$n" -lt 100 ]; do
		sleep 0.1
		n=$((n + 1))
	done
	kill -KILL "$1" 2> /dev/null
	wait "$1"
}

cleanup() {
	[ -n "$sub_pid" ] && stop "$sub_pid" > /dev/null 2>&1
	[ -n "$cccd_pid" ] && stop "$cccd_pid" > /dev/null 2>&1
	dpkg --purge $pkgs > "$tmp/purge.log" 2>&1 ||
	    { fail "dpkg --purge"; cat "$tmp/purge.log"; }
	if [ "$user_existed" = no ] && getent passwd ccc > /dev/null; then
		deluser --system --quiet ccc > /dev/null 2>&1 ||
		    fail "deluser ccc"
	fi
	rm -rf "$tmp"
}

if [ "$(id -u)" != 0 ]; then
	echo "package-smoke: installs packages: run as root" >&2
	exit 2
fi
for p in $pkgs; do
	if dpkg-query -W -f='${Status}' "$p" 2> /dev/null | grep -q installed; then
		echo "package-smoke: $p is installed already; not touching it" >&2
		exit 2
	fi
done
getent passwd ccc > /dev/null || user_existed=no
tmp=$(mktemp -d /tmp/ccc-package.XXXXXX)
chmod 0755 "$tmp"	# cccd reads its PKI again as ccc on a reload
trap cleanup EXIT
trap 'exit 1' INT TERM

# ---- install --------------------------------------------------------------------
files=
for p in $pkgs; do
	files="$files $(ls "$debs/${p}_"*.deb)"
done
if ! dpkg -i $files > "$tmp/install.log" 2>&1; then
	DEBIAN_FRONTEND=noninteractive apt-get -f install -y \
	    --no-install-recommends >> "$tmp/install.log" 2>&1
fi
for p in $pkgs; do
	dpkg-query -W -f='${Status}' "$p" 2> /dev/null |
	    grep -q 'install ok installed' || {
		fail "package $p installed"
		cat "$tmp/install.log"
		exit 1
	}
done
pass "packages installed: $pkgs"

check "/usr/sbin/cccd and /usr/bin/ccc" test -x /usr/sbin/cccd -a -x /usr/bin/ccc
check "/etc/ccc/cccd.yaml is a conffile" \
    sh -c "dpkg-query -W -f='\${Conffiles}' cccd | grep -q /etc/ccc/cccd.yaml"
check "the unit is /lib/systemd/system/cccd.service, Type=notify" \
    grep -qx 'Type=notify' /lib/systemd/system/cccd.service
check "system user ccc" sh -c 'getent passwd ccc | grep -q ":/var/lib/ccc:"'
check "/var/lib/ccc owned by ccc, mode 0700" \
    test "$(stat -c '%U %a' /var/lib/ccc)" = "ccc 700"
check "/etc/ccc/tls root:ccc, mode 0750" \
    test "$(stat -c '%U:%G %a' /etc/ccc/tls)" = "root:ccc 750"
check "libccc.so.0 is known to the dynamic linker" \
    sh -c 'ldconfig -p | grep -q "libccc.so.0 "'
for page in ccc.1:ccc cccd.8:cccd cccd.yaml.5:cccd ccc-registry.5:cccd \
    libccc.3:libccc-dev; do
	check "${page%%:*} is in the package ${page#*:}" sh -c \
	    "dpkg -L ${page#*:} | grep -q '/man[1-8]/${page%%:*}\.gz\$'"
done
check "the bash completion of ccc is installed" \
    test -s /usr/share/bash-completion/completions/ccc
check "the zsh completion of ccc is installed" \
    test -s /usr/share/zsh/vendor-completions/_ccc
# (an image whose dpkg leaves out /usr/share/man has no pages to find)
if grep -qs '^path-exclude[= ]/usr/share/man' /etc/dpkg/dpkg.cfg.d/*; then
	echo "skip: dpkg excludes /usr/share/man here: man -w not checked"
else
	check "man -w finds ccc(1), cccd(8), cccd.yaml(5), ccc-registry(5), libccc(3)" \
	    sh -c '{ man -w 1 ccc && man -w 8 cccd && man -w 5 cccd.yaml &&
	    man -w 5 ccc-registry && man -w 3 libccc; } > /dev/null'
fi
/usr/sbin/cccd --check-config /etc/ccc/cccd.yaml > "$tmp/check.out" 2>&1
rc=$?
check "without its PKI the shipped configuration is refused (exit 1, names the file)" \
    sh -c "[ $rc = 1 ] && grep -q '/etc/ccc/tls/' '$tmp/check.out'"

# ---- the installed cccd, with a demo PKI -----------------------------------------
pki=$tmp/pki
sh certs/mkpki.sh "$pki" certs/demo-endpoints.txt > "$tmp/pki.log" 2>&1 ||
    { fail "mkpki.sh"; cat "$tmp/pki.log"; exit 1; }
chmod -R go+rX "$pki"
cat > "$tmp/cccd.yaml" <<YAML
listen: 127.0.0.1:0
tls:
  cert: $pki/cccd.pem
  key: $pki/cccd.key
  ca: $pki/ca.pem
registry: /etc/ccc/registry.yaml
data_dir: /var/lib/ccc
user: ccc
log_level: debug
metrics:
  listen: 127.0.0.1:0
YAML
/usr/sbin/cccd --config "$tmp/cccd.yaml" > "$tmp/cccd.log" 2>&1 &
cccd_pid=$!
if ! wait_for "$tmp/cccd.log" "listening on 127.0.0.1:" 10; then
	fail "the installed cccd starts"
	cat "$tmp/cccd.log"
	exit 1
fi
port=$(sed -n 's/.*listening on 127\.0\.0\.1:\([0-9]*\).*/\1/p' \
    "$tmp/cccd.log" | head -n 1)
pass "the installed cccd listens on 127.0.0.1:$port"
check "cccd runs as ccc" \
    test "$(ps -o user= -p "$cccd_pid" | tr -d ' ')" = ccc

ccc_as() {	# ccc_as ENDPOINT ARGS... — the installed ccc, bounded
	ep=$1
	shift
	timeout -k 5 30 /usr/bin/ccc --server "127.0.0.1:$port" \
	    --cert "$pki/$ep.pem" --key "$pki/$ep.key" --ca "$pki/ca.pem" "$@"
}

ccc_as gr-police subscribe --json --count 1 'alerts/+/tr-bg/#' \
    > "$tmp/sub.out" 2> "$tmp/sub.err" &
sub_pid=$!
wait_for "$tmp/cccd.log" "gr-police subscription" 10 ||
    fail "ccc subscribe is subscribed"
id=$(ccc_as tr-police publish --category drugs --section tr-bg/kapikule \
    --severity high --handling h1 --summary 'Package smoke test' \
    2> "$tmp/pub.err")
check "ccc publish prints the alert id" test -n "$id"
wait_for "$tmp/sub.out" "$id" 10
check "the subscriber received it" grep -q "\"$id\"" "$tmp/sub.out"
wait "$sub_pid"
rc=$?
sub_pid=
check "ccc subscribe --count 1 exits 0" test "$rc" = 0

# ---- the example of docs/client.md against the installed libccc-dev -------------
awk '/^### A complete program/ { on = 1 } on && /^```$/ { exit }
    on == 2 { print } on && /^```c$/ { on = 2 }' docs/client.md \
    > "$tmp/example.c"
if cc -o "$tmp/example" "$tmp/example.c" \
    $(pkg-config --cflags --libs libccc) > "$tmp/cc.log" 2>&1; then
	pass "the example builds against the installed libccc-dev"
	timeout -k 5 30 "$tmp/example" "127.0.0.1:$port" "$pki/tr-police.pem" \
	    "$pki/tr-police.key" "$pki/ca.pem" > "$tmp/example.out" 2>&1
	rc=$?
	eid=$(sed -n 's/^published //p' "$tmp/example.out")
	check "the example publishes and receives its alert (exit $rc)" \
	    sh -c "[ $rc = 0 ] && [ -n '$eid' ] &&
	    grep -q '^received $eid on alerts/drugs/tr-bg/kapikule' '$tmp/example.out'"
	check "the example uses the installed libccc.so.0" \
	    sh -c "ldd '$tmp/example' | grep -q '/libccc.so.0 '"
else
	fail "the example builds against the installed libccc-dev"
	cat "$tmp/cc.log"
fi

stop "$cccd_pid"
rc=$?
cccd_pid=
check "cccd exits 0 on SIGTERM" test "$rc" = 0
[ "$fails" = 0 ] || cat "$tmp/cccd.log"

# ---- purge ---------------------------------------------------------------------
trap - EXIT
cleanup
check "purged: no package left" sh -c "! dpkg-query -W $pkgs 2> /dev/null |
    grep -q ."
check "purged: /var/lib/ccc and /etc/ccc are gone" \
    test ! -e /var/lib/ccc -a ! -e /etc/ccc
[ "$user_existed" = yes ] ||
    check "the user ccc is gone" sh -c '! getent passwd ccc > /dev/null'
[ "$fails" = 0 ] || { echo "package-smoke: $fails failed"; exit 1; }
echo "package-smoke: all passed"
