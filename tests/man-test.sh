#!/bin/sh
# man-test.sh — the manual pages and the shell completion that the build
# makes (make man-test, part of make test): each page renders without a
# warning (groff -ww); every flag that cccd --help lists is described in
# cccd(8), every configuration key in cccd.yaml(5); every flag of ccc --help
# and of each command's help (ccc help COMMAND, every admin command) is
# described in that command's section of ccc(1); every function client/ccc.h exports (CCC_API)
# is named in libccc(3); the bash completion, sourced in bash, completes
# commands, flags and enum values, and offers each command exactly the
# flags its help lists; the zsh completion, run in zsh with stand-ins for
# its completion system, offers enum values and files (when zsh is
# installed).
#
# usage: sh tests/man-test.sh BUILD
set -u
LC_ALL=C
export LC_ALL

build=${1:-build}
man=$build/man
ccc=$build/ccc
cccd=$build/cccd
passed=0
failed=0
tmp=$(mktemp -d "${TMPDIR:-/tmp}/ccc-man.XXXXXX") || exit 1
trap 'rm -rf "$tmp"' EXIT
trap 'exit 1' HUP INT TERM

pass() { passed=$((passed + 1)); echo "ok - $1"; }
fail() { failed=$((failed + 1)); echo "not ok - $1"; }

# plain PAGE — the page's source with the escapes of option text undone
plain() {
	sed -e 's/\\-/-/g' -e 's/\\f[BIRP]//g' -e 's/\\e/\\/g' -e 's/\\&//g' "$1"
}

# section FILE HEAD — the lines of the plain source FILE from the line HEAD
# (".SH OPTIONS", ".SS publish") to the next heading
section() {
	awk -v head="$2" '$0 == head { on = 1; next }
	    on && /^\.S[HS] / { exit } on { print }' "$1"
}

# table_flags — the flags of the flag table of the help on standard input
# (its lines "  --name ARG  help" or "  -m, --name ARG  help")
table_flags() {
	sed -n '/^Flags:/,$p' |
	    sed -n 's/^  \(-[a-z], \)\{0,1\}\(--[a-z0-9-]*\).*/\2/p' | sort -u
}

# tags — the tags of the tagged paragraphs (.TP) on standard input: the
# options a section describes
tags() {
	awk 'prev == ".TP" { print } { prev = $0 }'
}

# flags FILE — the long flags ("--name") in FILE, once each
flags() {
	grep -o -- '--[a-z][a-z0-9-]*' "$1" | sort -u
}

# all_named DESCRIPTION NAMES-FILE TEXT-FILE MIN BEFORE AFTER — pass when
# NAMES-FILE has more than MIN names and each is in TEXT-FILE, between the
# regular expressions BEFORE and AFTER
all_named() {
	missing=
	for x in $(cat "$2"); do
		grep -q -e "$5$x$6" "$3" || missing="$missing $x"
	done
	if [ -z "$missing" ] && [ "$(wc -l < "$2")" -gt "$4" ]; then
		pass "$1"
	else
		fail "$1: missing${missing:- all}"
	fi
}

# covered DESCRIPTION TEXT-FILE FLAGS-FILE — every flag in TEXT-FILE
covered() {
	all_named "$1" "$3" "$2" 0 "" '\([^a-z0-9-]\|$\)'
}

# ---- every page renders without a warning --------------------------------------
for p in cccd.8 cccd.yaml.5 ccc-registry.5 ccc.1 libccc.3; do
	if [ ! -s "$man/$p" ]; then
		fail "$p is built"
		continue
	fi
	if groff -ww -z -man "$man/$p" > "$tmp/groff.out" 2>&1 &&
	    [ ! -s "$tmp/groff.out" ]; then
		pass "$p renders without warnings"
	else
		fail "$p renders without warnings: $(head -n 3 "$tmp/groff.out")"
	fi
	plain "$man/$p" > "$tmp/$p"
done

# ---- cccd(8), cccd.yaml(5) --------------------------------------------------------
"$cccd" --help > "$tmp/cccd.help"
flags "$tmp/cccd.help" > "$tmp/want"
section "$tmp/cccd.8" ".SH OPTIONS" | tags > "$tmp/got"
covered "cccd(8) OPTIONS has every flag of cccd --help" "$tmp/got" "$tmp/want"
sed -n 's/^  \([a-z][a-z_.]*\)  .*/\1/p' "$tmp/cccd.help" > "$tmp/keys"
all_named "cccd.yaml(5) has every key of cccd --help" "$tmp/keys" \
    "$tmp/cccd.yaml.5" 20 '^\.B ' '$'

# ---- ccc(1) -------------------------------------------------------------------------
"$ccc" --help > "$tmp/help"
sed -n '/^Options/,$p' "$tmp/help" | flags /dev/stdin > "$tmp/want"
section "$tmp/ccc.1" ".SH OPTIONS" | tags > "$tmp/got"
covered "ccc(1) OPTIONS has every option of ccc --help" "$tmp/got" "$tmp/want"
# the commands: those of ccc --help, and each of ccc help admin
sed -n '/^Commands:/,/^$/s/^  \([a-z][a-z-]*\) .*/\1/p' "$tmp/help" \
    > "$tmp/cmds"
"$ccc" help admin > "$tmp/admin.help"
sed -n '/^Commands:/,/^$/s/^  \([a-z][a-z -]*[a-z]\).*/\1/p' \
    "$tmp/admin.help" | sed 's/ [A-Z].*//; s/  .*//' |
    sed 's/^/admin /' >> "$tmp/cmds"
ncmds=0
while read -r cmd; do
	ncmds=$((ncmds + 1))
	# shellcheck disable=SC2086 # the words of the command
	"$ccc" help $cmd > "$tmp/cmd.help" 2>&1 ||
	    { fail "ccc help $cmd"; continue; }
	case $cmd in
	admin | help) flags "$tmp/cmd.help" > "$tmp/want" ;;
	*) table_flags < "$tmp/cmd.help" > "$tmp/want" ;;
	esac
	case $cmd in
	*" "*) head=".SS \"$cmd\"" ;;
	*) head=".SS $cmd" ;;
	esac
	section "$tmp/ccc.1" "$head" > "$tmp/got"
	# admin's and help's overviews name flags that other sections hold;
	# the other commands' flags are described in their section
	case $cmd in
	admin | help) [ -s "$tmp/got" ] && cp "$tmp/ccc.1" "$tmp/got" ;;
	*) tags < "$tmp/got" > "$tmp/got.tags" && mv "$tmp/got.tags" "$tmp/got" ;;
	esac
	if [ ! -s "$tmp/got" ]; then
		fail "ccc(1) has a section for $cmd"
	elif [ -s "$tmp/want" ]; then
		covered "ccc(1) $cmd has every flag of ccc help $cmd" "$tmp/got" \
		    "$tmp/want"
	else
		pass "ccc(1) has a section for $cmd"
	fi
done < "$tmp/cmds"
[ "$ncmds" -gt 30 ] && pass "ccc(1): $ncmds commands checked" ||
    fail "ccc(1): only $ncmds commands found in the help"

# ---- libccc(3) ---------------------------------------------------------------------
sed -n 's/^CCC_API[^(]*[ *]\(ccc_[a-z0-9_]*\)(.*/\1/p' client/ccc.h > "$tmp/api"
all_named "libccc(3) names every CCC_API function of ccc.h" "$tmp/api" \
    "$tmp/libccc.3" 20 '' '('

# ---- the bash completion --------------------------------------------------------
comp=$build/completion/ccc
# complete WORDS... — COMPREPLY, one line, for the last word (bash)
cat > "$tmp/complete.bash" <<'BASH'
. "$1"
shift
COMP_WORDS=("$@")
COMP_CWORD=$((${#COMP_WORDS[@]} - 1))
_ccc
echo "${COMPREPLY[*]}"
BASH
complete() {
	bash "$tmp/complete.bash" "$comp" ccc "$@" 2>&1
}
# expect_completion DESCRIPTION WANT WORDS... — COMPREPLY is exactly WANT
expect_completion() {
	desc=$1
	want=$2
	shift 2
	got=$(complete "$@")
	if [ "$got" = "$want" ]; then
		pass "completion: $desc"
	else
		fail "completion: $desc: got \"$got\", want \"$want\""
	fi
}
expect_completion "a command" "publish" pu
expect_completion "the commands" "publish subscribe receipts admin bench help" ""
expect_completion "a flag of publish" "--severity" publish --sev
expect_completion "the severities" "low medium high critical" \
    publish --category drugs --severity ""
expect_completion "a category after global options" "drugs" \
    --cert x.pem --timeout 3 publish --category dr
expect_completion "a handling code after --handling=" "h2" \
    publish --handling = h2
expect_completion "an admin noun" "endpoint explain export" admin e
expect_completion "an admin verb" "add" admin endpoint ad
expect_completion "a severity of admin route add" "high" \
    admin route add --min-severity h
expect_completion "help admin" "acl approve apply" help admin a
# each command's flags are those of its help
while read -r cmd; do
	[ "$cmd" = help ] || [ "$cmd" = admin ] && continue
	# shellcheck disable=SC2086 # the words of the command
	"$ccc" help $cmd | table_flags > "$tmp/want"
	# shellcheck disable=SC2086
	complete $cmd -- | tr ' ' '\n' | sort -u > "$tmp/got"
	cmp -s "$tmp/want" "$tmp/got" || {
		fail "completion: the flags of $cmd: $(diff "$tmp/want" "$tmp/got" |
		    grep '^[<>]' | tr '\n' ' ')"
		continue
	}
	n=$((${n:-0} + 1))
done < "$tmp/cmds"
[ "${n:-0}" -gt 30 ] && pass "completion: each of $n commands offers the flags of its help"

# ---- the zsh completion ---------------------------------------------------------
# (compadd and _files stand in for zsh's completion system: they print what
# they are given)
if command -v zsh > /dev/null; then
	got=$(zsh -c 'compadd() { [[ $1 == -- ]] && shift; print -r -- "$*"; }
	    _files() { print -r -- "<files>"; }
	    compset() { :; }
	    source "$1" > /dev/null 2>&1
	    words=(ccc admin route add --min-severity ""); CURRENT=6; _ccc
	    words=(ccc --ca ""); CURRENT=3; _ccc' zsh \
	    "$build/completion/_ccc" 2>&1 | tr '\n' '|')
	if [ "$got" = "low medium high critical|<files>|" ]; then
		pass "the zsh completion offers severities and files"
	else
		fail "the zsh completion offers severities and files: got \"$got\""
	fi
else
	echo "skip - zsh is not installed: the zsh completion is not run"
fi

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
