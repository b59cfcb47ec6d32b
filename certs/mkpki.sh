#!/bin/sh
# mkpki.sh — make a small demo/test PKI for ccc with the openssl command line.
#
# Usage: sh certs/mkpki.sh OUTDIR ENDPOINTS_FILE [--days N] [--ca-name NAME]
#
# Makes in OUTDIR (created with mode 0700 if absent):
#   ca.pem, ca.key       self-signed CA (CN from --ca-name, default "ccc demo CA")
#   cccd.pem, cccd.key   broker server certificate (CN=cccd, SAN localhost,
#                        127.0.0.1, ::1; serverAuth)
#   ID.pem, ID.key       one client certificate per endpoint id in
#                        ENDPOINTS_FILE (CN=ID, SAN URI:urn:ccc:endpoint:ID;
#                        clientAuth)
# All keys are ECDSA P-256, certificates SHA-256 with random serials.
#
# Idempotent: an existing CA (ca.pem + ca.key) is reused and only missing
# certificates are made (a certificate without its key counts as missing); a key
# without its certificate is reused. When the CA is (re)made, every certificate
# is reissued, since the old ones would no longer verify.
# Prints one line per file created. Demo use only: see docs/certificates.md for
# a real deployment.

set -eu
LC_ALL=C
export LC_ALL
umask 077

prog=mkpki
days=825
ca_name="ccc demo CA"
outdir=
endpoints=
tmp=

usage() {
	echo "usage: sh certs/mkpki.sh OUTDIR ENDPOINTS_FILE [--days N] [--ca-name NAME]"
}

die() {
	echo "$prog: $*" >&2
	exit 1
}

# ---- arguments -------------------------------------------------------------
while [ $# -gt 0 ]; do
	case $1 in
	--days)
		[ $# -ge 2 ] || die "--days needs a value"
		days=$2; shift 2 ;;
	--days=*)
		days=${1#--days=}; shift ;;
	--ca-name)
		[ $# -ge 2 ] || die "--ca-name needs a value"
		ca_name=$2; shift 2 ;;
	--ca-name=*)
		ca_name=${1#--ca-name=}; shift ;;
	-h|--help)
		usage; exit 0 ;;
	--)
		shift; break ;;
	-*)
		usage >&2; die "unknown option: $1" ;;
	*)
		if [ -z "$outdir" ]; then outdir=$1
		elif [ -z "$endpoints" ]; then endpoints=$1
		else usage >&2; die "unexpected argument: $1"
		fi
		shift ;;
	esac
done
while [ $# -gt 0 ]; do
	if [ -z "$outdir" ]; then outdir=$1
	elif [ -z "$endpoints" ]; then endpoints=$1
	else usage >&2; die "unexpected argument: $1"
	fi
	shift
done
if [ -z "$outdir" ] || [ -z "$endpoints" ]; then
	usage >&2
	exit 2
fi

case $days in
''|*[!0-9]*|0*) die "--days: not a positive integer: $days" ;;
esac
[ "${#days}" -le 5 ] || die "--days: too large: $days"
[ -n "$ca_name" ] || die "--ca-name: empty name"
case $ca_name in
*'
'*) die "--ca-name: name contains a newline" ;;
esac

command -v openssl >/dev/null 2>&1 || die "openssl not found in PATH"
[ -f "$endpoints" ] || die "$endpoints: no such file"
[ -r "$endpoints" ] || die "$endpoints: not readable"

# ---- endpoint ids: validate them all before creating anything --------------
ids=
lineno=0
while IFS= read -r line || [ -n "$line" ]; do
	lineno=$((lineno + 1))
	line=${line%%#*}
	# trim blanks (spaces, tabs, a CR from a DOS file)
	line=$(printf '%s' "$line" | tr -d ' \t\r')
	[ -n "$line" ] || continue
	case $line in
	[a-z0-9]*) ;;
	*) die "$endpoints:$lineno: bad endpoint id '$line' (want [a-z0-9][a-z0-9-]*)" ;;
	esac
	case $line in
	*[!a-z0-9-]*) die "$endpoints:$lineno: bad endpoint id '$line' (want [a-z0-9][a-z0-9-]*)" ;;
	esac
	[ "${#line}" -le 63 ] ||
	    die "$endpoints:$lineno: endpoint id longer than 63 characters: $line"
	case $line in
	ca|cccd) die "$endpoints:$lineno: endpoint id '$line' is reserved (its files would clash)" ;;
	esac
	case " $ids " in
	*" $line "*) ;;		# listed twice: make it once
	*) ids="$ids $line" ;;
	esac
done < "$endpoints"

# ---- output and scratch directories ----------------------------------------
if [ ! -d "$outdir" ]; then
	mkdir -p "$outdir" || die "$outdir: cannot create directory"
	chmod 0700 "$outdir"
fi
[ -w "$outdir" ] || die "$outdir: not writable"

# Scratch space inside OUTDIR, so that finished files are moved in atomically.
tmp=$(mktemp -d "$outdir/.mkpki.XXXXXX") || die "$outdir: cannot make a temporary directory"
trap 'rm -rf "$tmp"' EXIT
trap 'exit 1' HUP INT TERM

cnf=$tmp/openssl.cnf
cat > "$cnf" <<'EOF'
# Used only by mkpki.sh; replaces the system openssl.cnf.
[ req ]
distinguished_name = req_dn
string_mask        = utf8only
[ req_dn ]

[ v3_ca ]
basicConstraints       = critical, CA:TRUE
keyUsage               = critical, keyCertSign, cRLSign
subjectKeyIdentifier   = hash

[ v3_server ]
basicConstraints       = critical, CA:FALSE
keyUsage               = critical, digitalSignature
extendedKeyUsage       = serverAuth
subjectAltName         = DNS:localhost, IP:127.0.0.1, IP:::1
subjectKeyIdentifier   = hash
authorityKeyIdentifier = keyid:always

[ v3_client ]
basicConstraints       = critical, CA:FALSE
keyUsage               = critical, digitalSignature
extendedKeyUsage       = clientAuth
subjectKeyIdentifier   = hash
authorityKeyIdentifier = keyid:always
EOF

# ossl WHAT ARGS... — run openssl; on failure show its messages and stop.
ossl() {
	what=$1
	shift
	if ! openssl "$@" > "$tmp/ossl.log" 2>&1; then
		echo "$prog: openssl failed while making $what:" >&2
		sed 's/^/  /' "$tmp/ossl.log" >&2
		exit 1
	fi
}

# issue NAME SUBJECT EXTSECTION [openssl req args...] — make OUTDIR/NAME.pem,
# and OUTDIR/NAME.key unless it exists (then it is reused). Files are written
# in the scratch directory and moved into place, key first.
issue() {
	name=$1 subj=$2 ext=$3
	shift 3
	key=$outdir/$name.key
	if [ -f "$key" ]; then
		set -- -key "$key" "$@"
		newkey=no
	else
		set -- -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 \
		    -keyout "$tmp/$name.key" "$@"
		newkey=yes
	fi
	ossl "$name.pem" req -new -x509 -config "$cnf" -utf8 -noenc \
	    -subj "$subj" -days "$days" -sha256 -extensions "$ext" "$@" \
	    -out "$tmp/$name.pem"
	if [ "$newkey" = yes ]; then
		chmod 0600 "$tmp/$name.key"
		mv -f "$tmp/$name.key" "$key"
		echo "created $key"
	fi
	chmod 0644 "$tmp/$name.pem"
	mv -f "$tmp/$name.pem" "$outdir/$name.pem"
	echo "created $outdir/$name.pem"
}

# ---- CA ----------------------------------------------------------------------
new_ca=no
if [ -f "$outdir/ca.pem" ] && [ -f "$outdir/ca.key" ]; then
	:	# reuse
elif [ -f "$outdir/ca.pem" ]; then
	die "$outdir/ca.pem exists but ca.key does not: cannot sign (remove ca.pem to make a new CA)"
else
	# -subj syntax: escape backslash and slash in the name
	esc=$(printf '%s' "$ca_name" | sed 's/[\\/]/\\&/g')
	issue ca "/CN=$esc" v3_ca
	new_ca=yes
fi

# ---- server and endpoints ----------------------------------------------------
# need NAME — true when NAME.pem must be (re)made: a new CA, or the
# certificate or its key is missing.
need() {
	[ "$new_ca" = yes ] || [ ! -f "$outdir/$1.pem" ] || [ ! -f "$outdir/$1.key" ]
}

if need cccd; then
	issue cccd "/CN=cccd" v3_server -CA "$outdir/ca.pem" -CAkey "$outdir/ca.key"
fi
for id in $ids; do
	if need "$id"; then
		issue "$id" "/CN=$id" v3_client \
		    -CA "$outdir/ca.pem" -CAkey "$outdir/ca.key" \
		    -addext "subjectAltName = URI:urn:ccc:endpoint:$id"
	fi
done
exit 0
