#!/bin/sh
# Every `bottle-verify db` check: the expected verdict on its must-fail fixture (and the
# exit status that goes with it), and ok on the confined fixture.
. "$(dirname "$0")/../lib.sh"

# record | check id | expected status | expected exit | extra bottle-verify args
cases() {
	cat <<'CASES'
confined|db.allowed_cidrs.exact|ok|0|
confined|db.data.json|ok|0|
confined|db.network_backend|ok|0|
confined|db.agent_config.match|skip|0|
cidrs-reordered|db.allowed_cidrs.exact|ok|0|--expect 192.0.2.11/32
backend-virtio-net|db.network_backend|ok|0|
name-mismatch|db.record.name|not_ok|1|
cidrs-null|db.allowed_cidrs.exact|not_ok|1|
cidrs-empty|db.allowed_cidrs.exact|not_ok|1|
cidrs-extra-resolver|db.allowed_cidrs.exact|not_ok|1|
cidrs-wider|db.allowed_cidrs.exact|not_ok|1|
cidrs-hostbits|db.allowed_cidrs.exact|not_ok|1|
cidrs-loopback8|db.allowed_cidrs.exact|not_ok|1|
cidrs-garbage|db.allowed_cidrs.exact|not_ok|1|
network-off|db.network.on|not_ok|1|
backend-tsi|db.network_backend|not_ok|1|
backend-bogus|db.network_backend|not_ok|1|
confined|db.network_backend|inconclusive|2|--smolvm-version 0.8.0
backend-tsi|db.network_backend|inconclusive|2|--smolvm-version 1.1.2
backend-null|db.network_backend|ok|0|
dns-hosts|db.dns_filter_hosts|not_ok|1|
dns-hosts|db.dns_filter_hosts|ok|0|--expect-host example.com
dns-hosts-empty|db.dns_filter_hosts|not_ok|1|
bypass-ports|db.bypass.ports|not_ok|1|
bypass-ports|db.bypass.ports|ok|0|--accept-bypass ports
bypass-published_sockets|db.bypass.published_sockets|not_ok|1|
bypass-mounts|db.bypass.mounts|not_ok|1|
bypass-remote_volumes|db.bypass.remote_volumes|not_ok|1|
bypass-ssh_agent|db.bypass.ssh_agent|not_ok|1|
bypass-docker_socket|db.bypass.docker_socket|not_ok|1|
bypass-cuda|db.bypass.cuda|not_ok|1|
bypass-network_name|db.bypass.network_name|not_ok|1|
bypass-network_name-empty|db.bypass.network_name|not_ok|1|
json-nul-in-value|db.data.json|not_ok|2|
unknown-deny-cidrs|db.record.known_keys|not_ok|1|
env-secret|db.env.secrets|not_ok|1|
env-secret-value|db.env.secrets|not_ok|1|
env-secret-fork_env|db.env.secrets|not_ok|1|
running-dead-pid|db.vmm.consistent|not_ok|2|
state-bogus|db.vmm.consistent|not_ok|1|
json-duplicate-key|db.data.json|not_ok|2|
json-trailing|db.data.json|not_ok|2|
json-deep|db.data.json|not_ok|2|
json-not-object|db.data.json|not_ok|2|
json-truncated|db.data.json|not_ok|2|
json-truncated|db.allowed_cidrs.exact|inconclusive|2|
CASES
}

total=$(cases | wc -l)
plan $((total * 2 + 7))

run_case() { # record id want_status want_exit args
	db="$T/$1.db"
	rm -f "$db" "$db-wal" "$db-shm"
	"$MKDB" "$db" bottle "$REC/$1.json"
	# shellcheck disable=SC2086
	"$BV" --format json db bottle --expect 192.0.2.10/32 --db "$db" --data-dir "$T" \
		--smolvm-version 1.9.2 $5 >"$T/out.json" 2>"$T/err"
	rc=$?
	got=$(status_of "$T/out.json" "$2")
	if [ "$got" = "$3" ]; then ok "$1: $2 is $3"; else not_ok "$1: $2 is $3" "got $got"; fi
	if [ "$rc" = "$4" ]; then ok "$1: exit $4"; else not_ok "$1: exit $4" "got $rc: $(cat "$T/err")"; fi
}

cases | while IFS='|' read -r rec id st code args; do
	run_case "$rec" "$id" "$st" "$code" "$args"
done
n=$((total * 2))

# The row stored as TEXT: smolvm cannot read it.
"$MKDB" "$T/text.db" --text bottle "$REC/confined.json"
"$BV" --format json db bottle --expect 192.0.2.10/32 --db "$T/text.db" --data-dir "$T" \
	--smolvm-version 1.9.2 >"$T/out.json" 2>/dev/null
[ "$(status_of "$T/out.json" db.data.blob)" = not_ok ] && ok "TEXT row: db.data.blob not ok" \
	|| not_ok "TEXT row: db.data.blob not ok"

# A row for another machine only.
"$MKDB" "$T/other.db" other "$REC/confined.json"
"$BV" --format json db bottle --expect 192.0.2.10/32 --db "$T/other.db" --data-dir "$T" \
	--smolvm-version 1.9.2 >"$T/out.json" 2>/dev/null
[ "$(status_of "$T/out.json" db.row.present)" = not_ok ] && ok "no row: db.row.present not ok" \
	|| not_ok "no row: db.row.present not ok"

# No DB: not ok, dependent points inconclusive (exit 2), and no file left behind.
"$BV" --format json db bottle --expect 192.0.2.10/32 --db "$T/none/smolvm.db" --data-dir "$T" \
	--smolvm-version 1.9.2 >"$T/out.json" 2>/dev/null
rc=$?
if [ "$(status_of "$T/out.json" db.present)" = not_ok ] && [ $rc = 2 ]; then
	ok "missing DB: db.present not ok, exit 2"
else
	not_ok "missing DB: db.present not ok, exit 2" "rc $rc"
fi
mkdir -p "$T/empty"
"$BV" db bottle --expect 192.0.2.10/32 --db "$T/empty/smolvm.db" --data-dir "$T" \
	--smolvm-version 1.9.2 >/dev/null 2>&1
if [ -z "$(ls -A "$T/empty")" ]; then ok "missing DB: nothing created"; else not_ok "missing DB: nothing created" "$(ls -A "$T/empty")"; fi
# One missing prerequisite reads as one finding: every point behind it is one line that
# names it, with no YAML block of its own.
"$BV" db bottle --expect 192.0.2.10/32 --db "$T/none/smolvm.db" --data-dir "$T" --smolvm-version 1.9.2 >"$T/out.tap" 2>/dev/null
blocks=$(grep -c '^  ---$' "$T/out.tap"); lines=$(grep -c '^not ok .* # not checked: db.present failed$' "$T/out.tap")
if [ "$blocks" = 1 ] && [ "$lines" -ge 10 ]; then ok "missing DB: one YAML block (db.present), $lines one-line points naming it"
else not_ok "missing DB: one finding" "blocks=$blocks lines=$lines"; fi
# The remediation fits the cause: a directory, a file that is not SQLite.
"$BV" --format json db bottle --expect 192.0.2.10/32 --db "$T" --data-dir "$T" --smolvm-version 1.9.2 >"$T/out.json" 2>/dev/null
if field_of "$T/out.json" db.present remediation | grep -q 'not a directory'; then ok "--db a directory: the remediation says to name the DB file"
else not_ok "--db a directory" "$(field_of "$T/out.json" db.present remediation)"; fi
echo 'not a database, just text, long enough to have a header page' >"$T/text.db"
"$BV" --format json db bottle --expect 192.0.2.10/32 --db "$T/text.db" --data-dir "$T" --smolvm-version 1.9.2 >"$T/out.json" 2>/dev/null
if field_of "$T/out.json" db.present remediation | grep -q 'not an SQLite database'; then ok "--db not SQLite: the remediation says so (not a permissions problem)"
else not_ok "--db not SQLite" "$(field_of "$T/out.json" db.present remediation)"; fi
