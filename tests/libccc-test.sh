#!/bin/sh
# libccc-test.sh — libccc as integrators link it, from an installed tree:
# only ccc_* and the generated ccc__v1__* symbols exported, the soname, a
# program with its own xmalloc linked against libccc.so and libccc.a, and
# the example program of docs/client.md (the same as in ccc.h's comment)
# built with pkg-config.
#
# usage: sh tests/libccc-test.sh BUILD ROOT
#   BUILD  the build directory (libccc.so.0 in it)
#   ROOT   a DESTDIR that make install filled with PREFIX=/usr
# CC and TEST_CFLAGS (the sanitizer flags of an instrumented build) are
# taken from the environment.
set -eu

build=$1
root=$2
cc=${CC:-cc}
flags=${TEST_CFLAGS:-}
work=$build/lib-test/work
fails=0

fail() { echo "FAIL: $*"; fails=$((fails + 1)); }
pass() { echo "ok: $*"; }

rm -rf "$work" && mkdir -p "$work"
PKG_CONFIG_PATH=$root/usr/lib/pkgconfig
PKG_CONFIG_SYSROOT_DIR=$root
export PKG_CONFIG_PATH PKG_CONFIG_SYSROOT_DIR
LD_LIBRARY_PATH=$root/usr/lib
export LD_LIBRARY_PATH

# ---- exported symbols and soname --------------------------------------------
nm -D --defined-only "$build/libccc.so.0" | awk '{ print $3 }' \
    > "$work/exported"
# (AddressSanitizer adds an __odr_asan.NAME for each exported variable)
grep -v -e '^ccc_[a-z]' -e '^ccc__v1__' -e '^__odr_asan\.ccc_[a-z_]' \
    "$work/exported" > "$work/stray" || true
if [ -s "$work/stray" ]; then
	fail "libccc.so.0 exports symbols other than ccc_* and ccc__v1__*:"
	sed 's/^/    /' "$work/stray"
else
	pass "libccc.so.0 exports only ccc_* and ccc__v1__*"
fi
# every function ccc.h declares, and the generated descriptors
for sym in $(sed -n 's/^CCC_API[^(]*[ *]\(ccc_[a-z0-9_]*\)(.*/\1/p' client/ccc.h) \
    ccc__v1__alert__descriptor; do
	grep -qx "$sym" "$work/exported" || fail "libccc.so.0 does not export $sym"
done
missing=$(grep -E '^[a-z].*[ *]ccc_[a-z0-9_]+\(' client/ccc.h | grep -v '^CCC_API' || true)
[ -z "$missing" ] || fail "ccc.h declares functions without CCC_API: $missing"
soname=$(objdump -p "$build/libccc.so.0" | awk '$1 == "SONAME" { print $2 }')
[ "$soname" = libccc.so.0 ] && pass "soname libccc.so.0" ||
    fail "soname is '$soname', not libccc.so.0"

# ---- a program with its own xmalloc ------------------------------------------
cat > "$work/own-xmalloc.c" <<'PROG'
#include <stdio.h>
#include <stdlib.h>

#include <ccc.h>

/* the program's own allocator, with a name libccc uses inside */
void	*xmalloc(size_t);

void *
xmalloc(size_t n)
{
	puts("own xmalloc");
	return malloc(n);
}

int
main(void)
{
	free(xmalloc(1));
	puts(ccc_error_name(CCC_ERR_TIMEOUT));
	return 0;
}
PROG
check_own() {	# $1: shared or static, the rest: link flags
	how=$1
	shift
	if ! $cc $flags -o "$work/own-$how" "$work/own-xmalloc.c" "$@" \
	    > "$work/own-$how.log" 2>&1; then
		fail "a program with its own xmalloc does not link with the $how library:"
		sed 's/^/    /' "$work/own-$how.log"
		return
	fi
	out=$("$work/own-$how" | tr '\n' ' ')
	[ "$out" = "own xmalloc timeout " ] &&
	    pass "a program with its own xmalloc links and runs ($how)" ||
	    fail "own-$how printed '$out'"
}
check_own shared $(pkg-config --cflags --libs libccc)
[ "$(pkg-config --cflags --libs ccc)" = "$(pkg-config --cflags --libs libccc)" ] &&
    pass "pkg-config ccc is pkg-config libccc" ||
    fail "pkg-config ccc gives '$(pkg-config --cflags --libs ccc 2>&1)'"
check_own static $(pkg-config --cflags --libs-only-L libccc) -l:libccc.a \
    $(pkg-config --libs libprotobuf-c openssl) -lpthread
if [ -x "$work/own-static" ] && objdump -p "$work/own-static" |
    grep -q 'NEEDED.*libccc'; then
	fail "own-static needs libccc.so at run time"
fi

# ---- the example of docs/client.md and ccc.h ---------------------------------
awk '/^### A complete program/ { on = 1 } on && /^```$/ { exit }
    on == 2 { print } on && /^```c$/ { on = 2 }' docs/client.md \
    > "$work/example.c"
awk '/^ \* ---- end of example.c ----$/ { exit } on { print }
    /^ \* ---- example.c ----$/ { on = 1 }' client/ccc.h |
    sed -e 's/^ \* //' -e 's/^ \*$//' > "$work/example-header.c"
if [ ! -s "$work/example.c" ]; then
	fail "no example program found in docs/client.md"
elif ! cmp -s "$work/example.c" "$work/example-header.c"; then
	fail "the example programs of docs/client.md and client/ccc.h differ:"
	diff "$work/example.c" "$work/example-header.c" | sed 's/^/    /'
elif ! $cc $flags -Wall -Wextra -Werror -o "$work/example" \
    "$work/example.c" $(pkg-config --cflags --libs libccc) \
    > "$work/example.log" 2>&1; then
	fail "the example of docs/client.md does not build:"
	sed 's/^/    /' "$work/example.log"
else
	rc=0
	"$work/example" > "$work/example.out" 2>&1 || rc=$?
	if [ "$rc" = 2 ] && grep -q '^usage: example ' "$work/example.out"; then
		pass "the example of docs/client.md builds with pkg-config and runs"
	else
		fail "the example exits $rc without its usage line"
	fi
fi

[ "$fails" = 0 ] || { echo "libccc-test: $fails failed"; exit 1; }
echo "libccc-test: all passed"
