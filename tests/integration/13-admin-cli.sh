#!/bin/sh
# 13-admin-cli.sh — ccc admin against a real cccd, as two operators on duty
# use it: read the registry, change it item by item and as a whole document,
# see changes that widen access wait for the second operator, decide on
# them, look back in the history, roll back, explain who would receive an
# alert, read the broker's status, reload its TLS files; and the inbox:
# publish --recipient, subscribe --inbox.
#
# Usage: CCC_BUILD=build sh tests/integration/13-admin-cli.sh
#
# Makes its own PKI (certs/mkpki.sh, the demo endpoints, which include the
# operators ccc-operator and ccc-operator-2) and config in a temporary
# directory, starts cccd on a free loopback port with the demo registry and
# always stops it again. Every wait is bounded. Prints one line per check
# and ends with "N passed, M failed"; the exit status is 1 when a check
# failed.

# shellcheck source=tests/integration/cli-lib.sh
. "$(dirname "$0")/cli-lib.sh"

# ---- helpers -------------------------------------------------------------------

# op1 / op2 ARGS... — ccc admin as the first / the second operator
op1() {
	run_as ccc-operator admin "$@"
}
op2() {
	run_as ccc-operator-2 admin "$@"
}

# expect NAME STATUS TEXT... — pass when $rc is STATUS and stdout and stderr
# together contain every TEXT
expect() {
	name=$1
	want=$2
	shift 2
	ok=true
	[ "$rc" -eq "$want" ] || ok=false
	for t in "$@"; do
		cat "$tmp/out" "$tmp/err" | grep -qF -- "$t" || ok=false
	done
	if $ok; then
		pass "$name"
	else
		fail "$name (status $rc, expected $want)" "$tmp/out" "$tmp/err"
	fi
}

# absent NAME TEXT — pass when stdout does not contain TEXT
absent() {
	if grep -qF -- "$2" "$tmp/out"; then
		fail "$1" "$tmp/out"
	else
		pass "$1"
	fi
}

# the number in "proposal N awaits approval" of the last output
proposal_of() {
	sed -n 's/^proposal \([0-9][0-9]*\) awaits approval.*/\1/p' "$tmp/out"
}

# the number in "applied: revision N" of the last output
revision_of() {
	sed -n 's/.*applied: revision \([0-9][0-9]*\)$/\1/p' "$tmp/out"
}

# ---- set-up ----------------------------------------------------------------------

cli_start 13-admin-cli

# ---- reading the registry ----------------------------------------------------------

op1 endpoint list
expect "endpoint list: a table of the endpoints" 0 \
    "ID " "COUNTRY" "ROLES" "STATE" "tr-police" "ccc-operator-2"
if grep -Eq '^tr-police +TR +police +publisher, subscriber +active +Turkish' "$tmp/out"; then
	pass "endpoint list: columns aligned"
else
	fail "endpoint list: columns aligned" "$tmp/out"
fi
op1 endpoint show tr-police --json
expect "endpoint show --json: the item's JSON" 0 '"id":"tr-police"' \
    '"roles":["publisher","subscriber"]'
op1 endpoint show no-such-endpoint
expect "endpoint show of an unknown id exits 69" 69 'no endpoint "no-such-endpoint"'
op1 section list
expect "section list" 0 "tr-bg/kapikule" "bg-gr/kulata"
op1 section show tr-gr/ipsala
expect "section show" 0 "id:" "tr-gr/ipsala" "name:" "lat:" "40.935" \
    "lon:" "26.326"
op1 acl list
expect "acl list" 0 "ACTION" "police-subscribe" "subscribe" "alerts/#"
op1 acl show tr-publish
expect "acl show" 0 "action:" "publish" "tr-bg/*, tr-gr/*"
op1 route list --json
expect "route list --json" 0 '"id":"tr-bg-customs"' '"targets":["bg-customs","tr-customs"]'
op1 route show tr-bg-customs
expect "route show" 0 "categories:" "drugs, customs"

# only operators
run_as tr-police admin endpoint list
expect "a non-operator is refused with exit 77" 77 "forbidden" "operator role"

# usage errors exit 2, before connecting
run_as ccc-operator admin
expect "admin without a command exits 64" 64 "give a command"
op1 no-such-command
expect "an unknown admin command exits 64" 64 'unknown command "no-such-command"'
op1 endpoint add --id x-police --kind police --roles publisher
expect "endpoint add without --name exits 64" 64 "--name is required"
op1 endpoint update tr-police
expect "endpoint update with no field exits 64" 64 "nothing to update"
op1 rollback yesterday
expect "rollback of a non-number exits 64" 64 "REV: expected a positive integer"
op1 endpoint add --id x --kind police --name x --roles publisher,,subscriber
expect "an empty list item exits 64" 64 "empty item"
run_as ccc-operator help admin
expect "ccc help admin lists the commands" 0 "endpoint add" "reload-tls" "approve ID"
op1 route add --help
expect "admin route add --help lists its flags" 0 "--targets LIST" "--min-severity" \
    "-m, --comment TEXT"

# ---- a change that needs a second operator ------------------------------------------

op1 endpoint add --id bg-police --kind police --country BG \
    --name "Bulgarian National Police" --roles publisher,subscriber --dry-run
expect "endpoint add --dry-run shows the diff and the need for approval" 0 \
    "+ endpoint bg-police" "dry run, nothing changed" "another operator's approval"
op1 endpoint list
absent "a dry run changes nothing" "bg-police"

op1 endpoint add --id bg-police --kind police --country BG \
    --name "Bulgarian National Police" --roles publisher,subscriber \
    -m "BG police joins the centre"
p1=$(proposal_of)
expect "endpoint add becomes a proposal, with the diff and the reason" 0 \
    "+ endpoint bg-police" "awaits approval by another operator:" \
    "new endpoint bg-police"
op1 pending
expect "pending shows the proposal, its comment, diff and reasons" 0 \
    "proposal $p1 (pending)" "by ccc-operator," "comment: BG police joins the centre" \
    "+ endpoint bg-police" "needs approval because:"
op1 approve "$p1"
expect "an operator cannot approve its own proposal" 77 "forbidden" "own proposal"
op1 endpoint list
absent "the proposal is not in force yet" "bg-police"
op2 approve "$p1" -m "checked with the BG liaison"
r1=$(revision_of)
expect "the second operator approves it" 0 "proposal $p1 approved; applied: revision"
op1 endpoint show bg-police
expect "the approved endpoint is in the registry" 0 "Bulgarian National Police" "BG"
op1 endpoint add --id bg-police --kind police --name x --roles publisher
expect "endpoint add of an existing id exits 69" 69 'endpoint "bg-police" exists already'
op1 history --limit 1
expect "history names the author, the approver and the comment" 0 \
    "revision $r1" "by ccc-operator, approved by ccc-operator-2" \
    "comment: BG police joins the centre" "+ endpoint bg-police"
op1 history --limit 2 --json
expect "history --json" 0 '"revisions":[' "\"revision\":$r1" '"approved_by":"ccc-operator-2"'

# ---- changes that narrow take effect at once ----------------------------------------

op1 endpoint update bg-police --name "Bulgarian police (GDNP)" -m rename
expect "endpoint update applies at once" 0 "applied: revision"
op1 endpoint show bg-police --json
expect "endpoint update merged the field, kept the others" 0 \
    '"name":"Bulgarian police (GDNP)"' '"country":"BG"' '"roles":["publisher","subscriber"]'

# pin bg-police to the test CA: any change of CA pins needs approval
fp=$(openssl x509 -in "$pki/ca.pem" -noout -fingerprint -sha256 | sed 's/.*=//')
op1 endpoint update bg-police --ca-pins "$fp" -m "pin to the BG CA"
pp=$(proposal_of)
expect "endpoint update --ca-pins: a proposal" 0 "awaits approval by another operator"
op2 approve "$pp"
op1 endpoint show bg-police --json
expect "the CA pin is in the registry" 0 '"ca":["'
op1 endpoint show bg-police
expect "endpoint show lists the CA pin" 0 "ca:"

op1 endpoint suspend tr-customs -m "certificate reported lost"
expect "endpoint suspend applies at once" 0 \
    "~ endpoint tr-customs: suspended:" "applied: revision"
op1 endpoint list
if grep -Eq '^tr-customs .* suspended ' "$tmp/out"; then
	pass "endpoint list shows the suspension"
else
	fail "endpoint list shows the suspension" "$tmp/out"
fi
run_as tr-customs publish --category customs --section tr-gr/ipsala \
    --severity low --handling h0 --summary x
expect "a suspended endpoint is refused" 77 "suspended"
op1 endpoint resume tr-customs
p2=$(proposal_of)
expect "endpoint resume waits for approval" 0 "awaits approval by another operator"
op2 reject "$p2" -m "not before the new certificate is issued"
expect "the second operator rejects it" 0 "proposal $p2 rejected"
op1 pending
absent "a rejected proposal is no longer pending" "proposal $p2 (pending)"

# a proposal that a newer revision overtakes is stale
op1 endpoint resume tr-customs -m "new certificate issued"
p3=$(proposal_of)
op2 endpoint update bg-police --name "Bulgarian National Police (GDNP)" -m rename
expect "a narrowing change makes a new revision" 0 "applied: revision"
op2 pending
absent "an overtaken proposal is no longer pending" "proposal $p3 "
op2 approve "$p3"
expect "approving an overtaken proposal: stale_revision" 69 "stale_revision" \
    "propose the change again"

# ---- sections, access rules, routing rules ----------------------------------------

op1 section add --id tr-bg/lesovo-rail --name "Lesovo rail" -m "new crossing"
if grep -qF 'applied: revision' "$tmp/out"; then
	pass "section add"
else
	p=$(proposal_of)
	op2 approve "$p"
	expect "section add, approved" 0 "approved"
fi
op1 section update tr-bg/lesovo-rail --name "Lesovo – Hamzabeyli (rail)"
expect "section update" 0 "~ section tr-bg/lesovo-rail" "applied: revision"
op1 section show tr-bg/lesovo-rail
expect "section show after update" 0 "Lesovo – Hamzabeyli (rail)"
# a rename keeps where the section lies on the map
op1 section update tr-gr/ipsala --name "İpsala – Kipoi (road)"
expect "section update of a located section" 0 "~ section tr-gr/ipsala: name:" \
    "applied: revision"
absent "a rename does not move the section" "lat:"
op1 section show tr-gr/ipsala --json
expect "section show after a rename: the coordinates kept" 0 \
    '"name":"İpsala – Kipoi (road)"' '"lat":40.935' '"lon":26.326'

op1 acl add --id gr-customs-drugs --action subscribe --endpoints gr-customs \
    --topics 'alerts/drugs/bg-gr/#' -m "GR customs asks for drugs at the BG border"
p3=$(proposal_of)
expect "acl add widens access: a proposal" 0 "awaits approval by another operator"
op2 approve "$p3"
expect "acl add approved" 0 "approved; applied: revision"
op1 acl show gr-customs-drugs --json
expect "acl show of the new rule" 0 '"action":"subscribe"' '"topics":["alerts/drugs/bg-gr/#"]'
op1 acl update gr-customs-drugs --topics 'alerts/drugs/bg-gr/kulata'
expect "acl update that narrows applies at once" 0 "applied: revision"
op1 acl remove gr-customs-drugs
expect "acl remove applies at once" 0 "applied: revision"
op1 acl show gr-customs-drugs
expect "the removed rule is gone" 69 'no acl "gr-customs-drugs"'

op1 route add --id kapikule-critical --categories '*' --sections tr-bg/kapikule \
    --min-severity critical --origins TR --targets bg-border-police,gr-police
p4=$(proposal_of)
expect "route add: a proposal" 0 "awaits approval by another operator"
op2 approve "$p4"
expect "route add approved" 0 "approved; applied: revision"
op1 route list
if grep -Eq '^kapikule-critical +\* +tr-bg/kapikule +critical +TR +bg-border-police, gr-police$' \
    "$tmp/out"; then
	pass "route list shows the new rule"
else
	fail "route list shows the new rule" "$tmp/out"
fi
op1 route update kapikule-critical --targets gr-police
expect "route update" 0 "applied: revision"
# no origins: any origin, wider than TR alone
op1 route update kapikule-critical --origins '' -m "all three countries"
p5=$(proposal_of)
expect "route update with an empty value: origins removed, a proposal" 0 \
    "origins" "awaits approval by another operator"
op2 approve "$p5"
expect "route update approved" 0 "approved; applied: revision"
op1 route show kapikule-critical --json
expect "route show after the updates" 0 '"targets":["gr-police"]'
absent "route show: origins removed" '"origins"'
op1 route remove kapikule-critical
expect "route remove" 0 "- route kapikule-critical" "applied: revision"

op1 section remove tr-bg/lesovo-rail
expect "section remove" 0 "applied: revision"

# ---- explain -----------------------------------------------------------------------

printf '%s\n' '{"category":"drugs","section":"tr-bg/kapikule","severity":"high","handling":"h1","summary":"Heroin in a lorry"}' \
    > "$tmp/alert.json"
op1 explain --json "$tmp/alert.json" --origin tr-police
expect "explain: the topic and who would receive the alert" 0 \
    "topic alerts/drugs/tr-bg/kapikule" "ENDPOINT" "DELIVERED" \
    "route tr-bg-customs"
if grep -Eq '^bg-customs +yes ' "$tmp/out" && grep -Eq '^gr-police +no ' "$tmp/out"; then
	pass "explain: bg-customs yes (route), gr-police no"
else
	fail "explain: bg-customs yes (route), gr-police no" "$tmp/out"
fi
timeout -k 5 30 "$ccc" --server "127.0.0.1:$port" --cert "$pki/ccc-operator.pem" \
    --key "$pki/ccc-operator.key" --ca "$pki/ca.pem" admin explain --json - \
    --origin tr-police --reply-json < "$tmp/alert.json" > "$tmp/out" 2> "$tmp/err"
rc=$?
expect "explain --json - --reply-json" 0 '"topic":"alerts/drugs/tr-bg/kapikule"' \
    '"explain":[' '"endpoint":"bg-customs","delivered":true'
op1 explain --json "$tmp/alert.json"
expect "explain without an origin is refused" 65 "origin"

# ---- export, edit, apply -----------------------------------------------------------

op1 export -o "$tmp/registry-export.yaml"
expect "export -o writes the registry" 0 "written to $tmp/registry-export.yaml"
rev=$(sed -n 's/^revision: \([0-9][0-9]*\)$/\1/p' "$tmp/registry-export.yaml")
if [ -n "$rev" ] && grep -qF 'id: tr-police' "$tmp/registry-export.yaml"; then
	pass "the export is headed by revision: $rev"
else
	fail "the export is headed by its revision" "$tmp/registry-export.yaml"
fi
op1 export
if [ "$rc" -eq 0 ] && cmp -s "$tmp/out" "$tmp/registry-export.yaml"; then
	pass "export to standard output: the same document"
else
	fail "export to standard output: the same document (status $rc)" "$tmp/err"
fi
if grep -qxF '  lat: 41.713' "$tmp/registry-export.yaml" &&
    grep -qxF '  lon: 26.357' "$tmp/registry-export.yaml"; then
	pass "the export has the sections' coordinates in their short form"
else
	fail "the export has the sections' coordinates" "$tmp/registry-export.yaml"
fi
# moving a section on the map decides no access: no second operator
sed 's/^  lat: 41.39$/  lat: 41.3905/' "$tmp/registry-export.yaml" \
    > "$tmp/registry-moved.yaml"
op1 apply -f "$tmp/registry-moved.yaml" --dry-run
expect "apply --dry-run of a moved section" 0 \
    "~ section bg-gr/kulata: lat: 41.39 -> 41.3905" "dry run, nothing changed" \
    "take effect at once"
sed 's/^  name: Kulata – Promachonas$/  name: Kulata – Promachonas (road)/' \
    "$tmp/registry-export.yaml" > "$tmp/registry-edited.yaml"
op1 apply -f "$tmp/registry-edited.yaml" --dry-run
expect "apply --dry-run prints the diff" 0 \
    "~ section bg-gr/kulata: name: Kulata – Promachonas -> Kulata – Promachonas (road)" \
    "dry run, nothing changed" "take effect at once"
op1 apply -f "$tmp/registry-edited.yaml" -m "Kulata: road only"
expect "apply prints the diff, then the revision in force" 0 \
    "~ section bg-gr/kulata: name:" "applied: revision $((rev + 1))"
op1 apply -f "$tmp/registry-edited.yaml"
expect "apply of a document based on an old revision: stale_revision" 69 \
    "stale_revision"
sed 's/^revision: .*$//' "$tmp/registry-edited.yaml" > "$tmp/registry-norev.yaml"
op1 apply -f "$tmp/registry-norev.yaml" --base "$((rev + 1))" --dry-run
expect "apply --base for a document without its revision" 0 "no change"
op1 apply -f "$tmp/no-such-file.yaml"
expect "apply of a missing file exits 66" 66 "cannot open"
op1 apply
expect "apply without -f exits 64" 64 "-f FILE"

# a widening document: the second operator approves it
op1 export -o "$tmp/registry-export.yaml"
awk '{ print } /^endpoints:$/ { print "- id: gr-coastguard"; print "  country: GR";
    print "  kind: police"; print "  name: Hellenic Coast Guard";
    print "  roles:"; print "  - subscriber" }' \
    "$tmp/registry-export.yaml" > "$tmp/registry-widened.yaml"
op1 apply -f "$tmp/registry-widened.yaml" -m "coast guard"
p6=$(proposal_of)
expect "apply of a widening document: a proposal" 0 "awaits approval by another operator" \
    "(another operator decides with: ccc admin approve $p6"
op2 approve "$p6"
expect "the second operator approves the document" 0 "approved; applied: revision"
op1 endpoint show gr-coastguard
expect "the applied document is in force" 0 "Hellenic Coast Guard"

# ---- rollback ------------------------------------------------------------------------

op1 rollback "$((rev + 1))" --dry-run
expect "rollback --dry-run shows what it would undo" 0 "- endpoint gr-coastguard" \
    "dry run, nothing changed"
op1 rollback "$((rev + 1))" -m "coast guard joins later"
expect "rollback that narrows applies at once" 0 "applied: revision"
op1 endpoint show gr-coastguard
expect "after the rollback the endpoint is gone" 69 'no endpoint "gr-coastguard"'
op1 rollback 999999
expect "rollback to an unknown revision exits 69" 69 "not_found"

# ---- the inbox ------------------------------------------------------------------------

run_as tr-police publish --category drugs --section tr-bg/kapikule \
    --severity high --handling h2 --summary 'For the Bulgarian border police only' \
    --recipient bg-border-police
rid=$(cat "$tmp/out")
expect "publish --recipient of a restricted alert" 0 "$rid"
run_as bg-border-police subscribe --inbox --count 1 --json
expect "subscribe --inbox receives it, with its recipients" 0 "\"id\":\"$rid\"" \
    '"recipients":["bg-border-police"]'
timeout -k 5 3 "$ccc" --server "127.0.0.1:$port" --cert "$pki/bg-border-police.pem" \
    --key "$pki/bg-border-police.key" --ca "$pki/ca.pem" subscribe --inbox \
    --count 1 > "$tmp/out" 2> "$tmp/err"
if [ ! -s "$tmp/out" ]; then
	pass "the acknowledged inbox alert is not delivered again"
else
	fail "the acknowledged inbox alert is not delivered again" "$tmp/out"
fi
run_as bg-border-police subscribe --inbox 'alerts/#'
expect "subscribe --inbox with a pattern exits 64" 64 "--inbox takes no PATTERN"

# ---- status and TLS reload --------------------------------------------------------------

op1 status
expect "status: a summary, and a table of the endpoints" 0 "version:" \
    "sessions:" "ENDPOINT" "INBOX-DEPTH" "DEAD-LETTERS"
if grep -Eq '^ccc-operator +1 ' "$tmp/out"; then
	pass "status: the operator's own connection is counted"
else
	fail "status: the operator's own connection is counted" "$tmp/out"
fi
op1 status --json
expect "status --json: the broker's status object" 0 '"endpoints":{' \
    '"tr-police":{'
op1 reload-tls
expect "reload-tls" 0 "TLS files reloaded"
run_as tr-police admin reload-tls
expect "reload-tls by a non-operator is refused" 77 "forbidden"

# ---- end -----------------------------------------------------------------------------

cli_stop

cli_done
