#!/bin/sh
# mkpki.sh — make a small demo/test PKI for ccc with the openssl command line.
#
# Usage:
#   sh certs/mkpki.sh OUTDIR ENDPOINTS_FILE [--days N] [--ca-name NAME] [--crl-days N]
#                     [--p12-pass PASS]
#   sh certs/mkpki.sh issue OUTDIR ID NAME [--not-before DATE] [--not-after DATE] [--days N]
#                     [--subject SUBJ] [--san SAN] [--eku EKU] [--ca-cert] [--nul-cn SUFFIX]
#   sh certs/mkpki.sh revoke OUTDIR NAME [--reason REASON] [--crl-days N]
#   sh certs/mkpki.sh crl OUTDIR [--crl-days N] [--last-update DATE] [--next-update DATE]
#
# The first form makes in OUTDIR (created with mode 0700 if absent):
#   ca.pem, ca.key       self-signed CA (CN from --ca-name, default "ccc demo CA")
#   cccd.pem, cccd.key   broker server certificate (CN=cccd, SAN localhost,
#                        127.0.0.1, ::1; serverAuth)
#   ID.pem, ID.key       one client certificate per endpoint id in
#                        ENDPOINTS_FILE (CN=ID, SAN URI:urn:ccc:endpoint:ID;
#                        clientAuth)
#   ID.p12               the same certificate and key, with the CA's
#                        certificate, as PKCS#12 for importing into a browser
#                        (docs/console.md): AES-256-CBC with PBKDF2 (SHA-256,
#                        100000 rounds) for key and certificates, SHA-256
#                        MAC; password --p12-pass, default "demo" (demo and
#                        test files only), printed with the file's name
#   crl.pem              the CA's certificate revocation list, empty at first,
#                        valid for --crl-days (default 30)
#   ca.index, ca.crlnumber  the CA's database of revoked certificates (openssl ca)
# All keys are ECDSA P-256, certificates SHA-256 with random serials.
# Idempotent: an existing CA (ca.pem + ca.key) is reused and only missing
# files are made (a certificate without its key counts as missing); a key
# without its certificate is reused. When the CA is (re)made, every certificate
# is reissued, since the old ones would no longer verify, and the CRL starts
# empty again. An ID.p12 is remade when it is missing or older than ID.pem
# or ID.key.
#
# issue: one more client certificate for endpoint ID (CN=ID), as NAME.pem and
# NAME.key (a key that exists is reused), valid from --not-before to
# --not-after (DATE: YYYYMMDDHHMMSSZ, UTC; defaults: now, and --days from now):
# e.g. an expired or a not-yet-valid certificate for tests. NAME may contain
# "." (ids cannot), so that it never clashes with an endpoint's own files.
# For the tests of the broker's identity rules, issue can also make
# certificates a real CA should never issue:
#   --subject SUBJ  the subject in openssl's -subj form instead of /CN=ID,
#                   e.g. /CN=tr-police/CN=bg-customs (two CNs)
#   --san SAN       the subjectAltName instead of URI:urn:ccc:endpoint:ID,
#                   in openssl's form (e.g. "URI:urn:ccc:endpoint:bg-customs");
#                   "none" leaves the extension out
#   --eku EKU       the extendedKeyUsage instead of clientAuth (e.g.
#                   serverAuth); "none" leaves the extension out
#   --ca-cert       a CA certificate (basicConstraints CA:TRUE, keyUsage
#                   keyCertSign and cRLSign besides digitalSignature)
#   --nul-cn SUFFIX the CN is ID, a NUL byte, then SUFFIX; openssl's command
#                   line cannot write a NUL, so the certificate is made with
#                   a placeholder, patched and signed again (openssl x509):
#                   it is not in the CA database and cannot be revoked
#
# revoke: add NAME.pem to the CA's revoked certificates (--reason: one of
# openssl's CRL reasons, e.g. keyCompromise, superseded) and remake crl.pem.
# Revoking a certificate twice is not an error.
#
# crl: remake crl.pem from the CA's database, valid for --crl-days from now,
# or from --last-update to --next-update (DATE as above; e.g. an out-of-date
# CRL for tests).
#
# The words issue, revoke and crl are commands when they come first; write
# ./issue for an OUTDIR of that name. Prints one line per file created.
# Demo use only: see docs/certificates.md for a real deployment.

set -eu
LC_ALL=C
export LC_ALL
umask 077

prog=mkpki
mode=make
days=825
crl_days=30
ca_name="ccc demo CA"
p12_pass=demo
not_before=
not_after=
subject=
san=
eku=
ca_cert=no
nul_cn=
last_update=
next_update=
reason=
set_opts=
outdir=
arg2=
arg3=
tmp=

usage() {
	echo "usage: sh certs/mkpki.sh OUTDIR ENDPOINTS_FILE [--days N] [--ca-name NAME] [--crl-days N]"
	echo "                         [--p12-pass PASS]"
	echo "       sh certs/mkpki.sh issue OUTDIR ID NAME [--not-before DATE] [--not-after DATE] [--days N]"
	echo "                         [--subject SUBJ] [--san SAN] [--eku EKU] [--ca-cert] [--nul-cn SUFFIX]"
	echo "       sh certs/mkpki.sh revoke OUTDIR NAME [--reason REASON] [--crl-days N]"
	echo "       sh certs/mkpki.sh crl OUTDIR [--crl-days N] [--last-update DATE] [--next-update DATE]"
	echo "DATE is YYYYMMDDHHMMSSZ (UTC)."
}

die() {
	echo "$prog: $*" >&2
	exit 1
}

# positional ARG — the next positional argument of the command
positional() {
	if [ -z "$outdir" ]; then outdir=$1
	elif [ -z "$arg2" ]; then arg2=$1
	elif [ -z "$arg3" ] && [ "$mode" = issue ]; then arg3=$1
	else usage >&2; die "unexpected argument: $1"
	fi
}

# ---- arguments -------------------------------------------------------------
case ${1-} in
issue|revoke|crl)
	mode=$1; shift ;;
esac
while [ $# -gt 0 ]; do
	opt=$1
	case $opt in
	--*=*)
		val=${opt#*=}
		opt=${opt%%=*}
		shift ;;
	--days|--ca-name|--crl-days|--p12-pass|--not-before|--not-after|--reason|--last-update|--next-update|--subject|--san|--eku|--nul-cn)
		[ $# -ge 2 ] || die "$opt needs a value"
		val=$2
		shift 2 ;;
	--ca-cert)
		val=
		shift ;;
	-h|--help)
		usage; exit 0 ;;
	--)
		shift; break ;;
	-*)
		usage >&2; die "unknown option: $opt" ;;
	*)
		positional "$opt"; shift; continue ;;
	esac
	case $opt in
	--days) days=$val ;;
	--ca-name) ca_name=$val ;;
	--crl-days) crl_days=$val ;;
	--p12-pass) p12_pass=$val ;;
	--not-before) not_before=$val ;;
	--not-after) not_after=$val ;;
	--reason) reason=$val ;;
	--last-update) last_update=$val ;;
	--next-update) next_update=$val ;;
	--subject) subject=$val ;;
	--san) san=$val ;;
	--eku) eku=$val ;;
	--ca-cert) ca_cert=yes ;;
	--nul-cn) nul_cn=$val ;;
	*) usage >&2; die "unknown option: $opt" ;;
	esac
	set_opts="$set_opts $opt"
done
while [ $# -gt 0 ]; do
	positional "$1"
	shift
done

# Options each command takes.
case $mode in
make)	allowed="--days --ca-name --crl-days --p12-pass"; nargs=2 ;;
issue)	allowed="--not-before --not-after --days --subject --san --eku --ca-cert --nul-cn"; nargs=3 ;;
revoke)	allowed="--reason --crl-days"; nargs=2 ;;
crl)	allowed="--crl-days --last-update --next-update"; nargs=1 ;;
esac
for opt in $set_opts; do
	case " $allowed " in
	*" $opt "*) ;;
	*) usage >&2; die "$opt does not apply to this command" ;;
	esac
done
if [ -z "$outdir" ] || { [ "$nargs" -ge 2 ] && [ -z "$arg2" ]; } ||
    { [ "$nargs" -ge 3 ] && [ -z "$arg3" ]; } ||
    { [ "$nargs" -lt 2 ] && [ -n "$arg2" ]; }; then
	usage >&2
	exit 2
fi

# check_count NAME VALUE — a positive integer of at most 5 digits
check_count() {
	case $2 in
	''|*[!0-9]*|0*) die "$1: not a positive integer: $2" ;;
	esac
	[ "${#2}" -le 5 ] || die "$1: too large: $2"
}

# check_date NAME VALUE — empty, or YYYYMMDDHHMMSSZ
check_date() {
	case $2 in
	'') ;;
	[0-9][0-9][0-9][0-9][0-9][0-9][0-9][0-9][0-9][0-9][0-9][0-9][0-9][0-9]Z) ;;
	*) die "$1: not a date of the form YYYYMMDDHHMMSSZ: $2" ;;
	esac
}

# check_id WHERE ID — an endpoint id
check_id() {
	case $2 in
	[a-z0-9]*) ;;
	*) die "$1: bad endpoint id '$2' (want [a-z0-9][a-z0-9-]*)" ;;
	esac
	case $2 in
	*[!a-z0-9-]*) die "$1: bad endpoint id '$2' (want [a-z0-9][a-z0-9-]*)" ;;
	esac
	[ "${#2}" -le 63 ] || die "$1: endpoint id longer than 63 characters: $2"
	case $2 in
	ca|cccd|crl) die "$1: endpoint id '$2' is reserved (its files would clash)" ;;
	esac
}

# check_name NAME — a file name made by issue or named by revoke
check_name() {
	case $1 in
	[A-Za-z0-9]*) ;;
	*) die "bad certificate name '$1' (want [A-Za-z0-9][A-Za-z0-9._-]*)" ;;
	esac
	case $1 in
	*[!A-Za-z0-9._-]*) die "bad certificate name '$1' (want [A-Za-z0-9][A-Za-z0-9._-]*)" ;;
	esac
	[ "${#1}" -le 100 ] || die "certificate name longer than 100 characters: $1"
}

check_count --days "$days"
check_count --crl-days "$crl_days"
check_date --not-before "$not_before"
check_date --not-after "$not_after"
check_date --last-update "$last_update"
check_date --next-update "$next_update"
if [ -n "$last_update" ] && [ -z "$next_update" ]; then
	die "--last-update needs --next-update too"
fi
case $reason in
''|unspecified|keyCompromise|CACompromise|affiliationChanged|superseded|cessationOfOperation|certificateHold|removeFromCRL) ;;
*) die "--reason: not a CRL reason: $reason (e.g. keyCompromise, superseded)" ;;
esac
[ -n "$ca_name" ] || die "--ca-name: empty name"
case $ca_name in
*'
'*) die "--ca-name: name contains a newline" ;;
esac
case $p12_pass in
*'
'*) die "--p12-pass: password contains a newline" ;;
esac
[ "${#p12_pass}" -le 128 ] || die "--p12-pass: longer than 128 characters"
# these go into the openssl configuration file: one line each
for v in "$subject" "$san" "$eku" "$nul_cn"; do
	case $v in
	*'
'*) die "a value contains a newline" ;;
	esac
done
case $subject in
''|/*) ;;
*) die "--subject: expected openssl's form, e.g. /CN=ID" ;;
esac
case $nul_cn in
*[!A-Za-z0-9.-]*) die "--nul-cn: letters, digits, '.' and '-' only" ;;
esac
if [ -n "$nul_cn" ] && [ -n "$subject" ]; then
	die "--nul-cn and --subject exclude each other"
fi

command -v openssl >/dev/null 2>&1 || die "openssl not found in PATH"

# ---- endpoint ids: validate them all before creating anything --------------
ids=
if [ "$mode" = make ]; then
	endpoints=$arg2
	[ -f "$endpoints" ] || die "$endpoints: no such file"
	[ -r "$endpoints" ] || die "$endpoints: not readable"
	lineno=0
	while IFS= read -r line || [ -n "$line" ]; do
		lineno=$((lineno + 1))
		line=${line%%#*}
		# trim blanks (spaces, tabs, a CR from a DOS file)
		line=$(printf '%s' "$line" | tr -d ' \t\r')
		[ -n "$line" ] || continue
		check_id "$endpoints:$lineno" "$line"
		case " $ids " in
		*" $line "*) ;;		# listed twice: make it once
		*) ids="$ids $line" ;;
		esac
	done < "$endpoints"
elif [ "$mode" = issue ]; then
	check_id "ID" "$arg2"
	check_name "$arg3"
	case $arg3 in
	ca|cccd|crl) die "certificate name '$arg3' is reserved" ;;
	esac
elif [ "$mode" = revoke ]; then
	check_name "$arg2"
	case $arg2 in
	ca) die "the CA cannot revoke itself" ;;
	esac
fi

# ---- output and scratch directories ----------------------------------------
if [ "$mode" = make ]; then
	if [ ! -d "$outdir" ]; then
		mkdir -p "$outdir" || die "$outdir: cannot create directory"
		chmod 0700 "$outdir"
	fi
else
	[ -d "$outdir" ] || die "$outdir: no such directory"
	[ -f "$outdir/ca.pem" ] && [ -f "$outdir/ca.key" ] ||
	    die "$outdir: no CA (ca.pem and ca.key); make the PKI first"
fi
[ -w "$outdir" ] || die "$outdir: not writable"
# openssl ca runs inside OUTDIR (its configuration names the database files
# relative to it): every other path is made absolute
outdir=$(CDPATH= cd -- "$outdir" && pwd) || die "$outdir: cannot enter the directory"

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

[ ccc_policy ]
commonName = supplied

[ crl_ext ]
authorityKeyIdentifier = keyid:always

# openssl ca: the database of issued and revoked certificates, relative to
# OUTDIR; the subjectAltName of a certificate comes from its request.
# Last, so that new_certs_dir can be appended below.
[ ccc_ca ]
database         = ca.index
crlnumber        = ca.crlnumber
certificate      = ca.pem
private_key      = ca.key
default_md       = sha256
policy           = ccc_policy
unique_subject   = no
copy_extensions  = copy
rand_serial      = yes
email_in_dn      = no
crl_extensions   = crl_ext
EOF
# the scratch directory's name is [A-Za-z0-9.] only: safe in the file
printf 'new_certs_dir    = %s\n' "${tmp##*/}" >> "$cnf"

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

# ca_try ARGS... — openssl ca on the CA database, from OUTDIR; its messages
# in $tmp/ossl.log. Returns openssl's status.
ca_try() {
	(cd "$outdir" && openssl ca -config "$cnf" -name ccc_ca -batch "$@") \
	    > "$tmp/ossl.log" 2>&1
}

# ca_run WHAT ARGS... — ca_try; on failure show its messages and stop.
ca_run() {
	what=$1
	shift
	if ! ca_try "$@"; then
		echo "$prog: openssl ca failed while making $what:" >&2
		sed 's/^/  /' "$tmp/ossl.log" >&2
		exit 1
	fi
}

# install FILE MODE — move the finished $tmp/FILE into OUTDIR
install_file() {
	chmod "$2" "$tmp/$1"
	mv -f "$tmp/$1" "$outdir/$1"
	echo "created $outdir/$1"
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
		install_file "$name.key" 0600
	fi
	install_file "$name.pem" 0644
}

# ca_db_init — an empty CA database unless there is one
ca_db_init() {
	[ -f "$outdir/ca.index" ] || : > "$outdir/ca.index"
	[ -f "$outdir/ca.crlnumber" ] || echo 01 > "$outdir/ca.crlnumber"
}

# gencrl — remake OUTDIR/crl.pem from the CA database
gencrl() {
	if [ -n "$next_update" ]; then
		set -- -crl_nextupdate "$next_update"
		[ -z "$last_update" ] || set -- "$@" -crl_lastupdate "$last_update"
	else
		set -- -crldays "$crl_days"
	fi
	ca_run crl.pem -gencrl "$@" -out "$tmp/crl.pem"
	install_file crl.pem 0644
}

case $mode in
# ---- issue: a client certificate with chosen dates ---------------------------
issue)
	id=$arg2 name=$arg3
	key=$outdir/$name.key
	# the extensions, as asked: a section of their own
	{
		echo "[ v3_issue ]"
		if [ "$ca_cert" = yes ]; then
			echo "basicConstraints = critical, CA:TRUE"
			echo "keyUsage = critical, digitalSignature, keyCertSign, cRLSign"
		else
			echo "basicConstraints = critical, CA:FALSE"
			echo "keyUsage = critical, digitalSignature"
		fi
		case $eku in
		'') echo "extendedKeyUsage = clientAuth" ;;
		none) ;;
		*) echo "extendedKeyUsage = $eku" ;;
		esac
		case $san in
		'') echo "subjectAltName = URI:urn:ccc:endpoint:$id" ;;
		none) ;;
		*) echo "subjectAltName = $san" ;;
		esac
		echo "subjectKeyIdentifier = hash"
		echo "authorityKeyIdentifier = keyid:always"
		echo "[ v3_bare ]"
		echo "subjectKeyIdentifier = hash"
	} >> "$cnf"
	if [ -f "$key" ]; then
		set -- -key "$key"
		newkey=no
	else
		set -- -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 \
		    -keyout "$tmp/$name.key"
		newkey=yes
	fi
	subj=${subject:-/CN=$id}
	if [ -n "$nul_cn" ]; then
		# a self-signed stand-in whose CN has "~" where the NUL goes
		marker="$id~"
		ossl "$name.pem" req -new -x509 -config "$cnf" -utf8 -noenc \
		    -subj "/CN=$id~$nul_cn" -days "$days" -sha256 \
		    -extensions v3_bare "$@" -outform DER -out "$tmp/$name.der"
		[ "$newkey" = no ] || key=$tmp/$name.key
		hex=$(od -An -v -tx1 "$tmp/$name.der" | tr -s ' \n' '  ')
		pat=$(printf '%s' "$marker" | od -An -v -tx1 | tr -s ' \n' '  ')
		# every place the marker stands (issuer and subject), as offsets
		offs=$(awk -v h="$hex" -v m="$pat" 'BEGIN { o = 0;
		    while ((i = index(substr(h, o + 1), m)) > 0) {
			print (o + i - 1) / 3; o += i + 2 } }')
		[ -n "$offs" ] || die "$name.pem: placeholder not found"
		for off in $offs; do
			printf '\000' | dd of="$tmp/$name.der" bs=1 \
			    seek=$((off + ${#id})) conv=notrunc 2>/dev/null
		done
		# sign it again by itself, then let the CA issue it
		ossl "$name.pem" x509 -in "$tmp/$name.der" -inform DER \
		    -signkey "$key" -days "$days" -out "$tmp/$name.self.pem"
		ossl "$name.pem" x509 -in "$tmp/$name.self.pem" \
		    -CA "$outdir/ca.pem" -CAkey "$outdir/ca.key" \
		    -set_serial "0x$(openssl rand -hex 15)" -days "$days" \
		    -clrext -extfile "$cnf" -extensions v3_issue \
		    -out "$tmp/$name.pem"
	else
		ossl "$name.pem" req -new -config "$cnf" -utf8 -noenc \
		    -subj "$subj" -sha256 "$@" -out "$tmp/$name.csr"
		set -- -days "$days"
		[ -z "$not_before" ] || set -- "$@" -startdate "$not_before"
		[ -z "$not_after" ] || set -- "$@" -enddate "$not_after"
		ca_db_init
		ca_run "$name.pem" -notext -preserveDN -extensions v3_issue \
		    -in "$tmp/$name.csr" "$@" -out "$tmp/$name.pem"
	fi
	if [ "$newkey" = yes ]; then
		install_file "$name.key" 0600
	fi
	install_file "$name.pem" 0644
	exit 0 ;;

# ---- revoke: a certificate onto the CRL --------------------------------------
revoke)
	name=$arg2
	[ -f "$outdir/$name.pem" ] || die "$outdir/$name.pem: no such certificate"
	set -- -revoke "$outdir/$name.pem"
	[ -z "$reason" ] || set -- "$@" -crl_reason "$reason"
	ca_db_init
	if ca_try "$@"; then
		echo "revoked $outdir/$name.pem"
	elif grep -q "Already revoked" "$tmp/ossl.log"; then
		echo "$outdir/$name.pem was revoked already"
	else
		echo "$prog: openssl ca failed while revoking $name.pem:" >&2
		sed 's/^/  /' "$tmp/ossl.log" >&2
		exit 1
	fi
	gencrl
	exit 0 ;;

# ---- crl: remake the CRL -----------------------------------------------------
crl)
	ca_db_init
	gencrl
	exit 0 ;;
esac

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
	# a new CA has revoked nothing
	rm -f "$outdir/ca.index" "$outdir/ca.index.attr" "$outdir/ca.index.old" \
	    "$outdir/ca.index.attr.old" "$outdir/ca.crlnumber" \
	    "$outdir/ca.crlnumber.old" "$outdir/crl.pem"
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

# ---- PKCS#12 files for browsers ----------------------------------------------
# The password reaches openssl through its environment, never its command
# line (which any local user can read in ps).
MKPKI_P12_PASS=$p12_pass
export MKPKI_P12_PASS
for id in $ids; do
	p12=$outdir/$id.p12
	if [ -f "$p12" ] && [ ! "$outdir/$id.pem" -nt "$p12" ] &&
	    [ ! "$outdir/$id.key" -nt "$p12" ]; then
		continue
	fi
	ossl "$id.p12" pkcs12 -export -in "$outdir/$id.pem" \
	    -inkey "$outdir/$id.key" -certfile "$outdir/ca.pem" -name "$id" \
	    -keypbe AES-256-CBC -certpbe AES-256-CBC -macalg sha256 \
	    -iter 100000 -passout env:MKPKI_P12_PASS -out "$tmp/$id.p12"
	chmod 0600 "$tmp/$id.p12"
	mv -f "$tmp/$id.p12" "$p12"
	echo "created $p12 (password: \"$p12_pass\")"
done

# ---- CRL ---------------------------------------------------------------------
if [ ! -f "$outdir/crl.pem" ]; then
	ca_db_init
	gencrl
fi
exit 0
