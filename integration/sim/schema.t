#!/bin/sh
# Every command's --format json output, from a real run on a simulated bottle (fake smolvm
# 1.9.3), validates against docs/report.schema.json: preflight (and under
# BOTTLE_VERIFY_MUST_RUN=1), db, all, egress, gate, the watch stream, and usage errors
# (bottle-verify's document, watch's stream). Each runs through the schema wrapper
# (integration/client/schema-wrap.sh), which exits 97 on a violation; ci/schema-lanes.sh
# runs the other lanes through it too. The wrapper is shown to fail: a schema that lost a
# status, a document with a key the schema does not know, a wrong exit_code, a cut stream.
top=$(cd "$(dirname "$0")/../.." && pwd)
. "$top/integration/sim/lib.sh"
sim_enter "$@"
. "$top/integration/lib.sh"
plan 15
sim_host
export FAKE_SMOLVM_VERSION=1.9.3
POLICY="$top/fixtures/policies/sim-bottle.json"
W="$T/schema-bin"
"$top/integration/client/schema-wrap.sh" "$W" "$BV_BUILD"
export BV_SCHEMA_LOG="$T/schema.log"
: >"$BV_SCHEMA_LOG"

valid() { # desc want-exit command args...: run through the wrapper, exit want-exit and logged valid
	d=$1 want=$2 cmd=$3; shift 3
	"$W/bottle-verify" --format json "$cmd" "$@" >"$T/out.json" 2>"$T/err"
	rc=$?
	last=$(tail -1 "$BV_SCHEMA_LOG")
	case "$rc:$last" in
	"$want:ok bottle-verify $cmd "*) ok "$d: valid (exit $rc, $(grep -c '' "$T/out.json") line(s))" ;;
	*) not_ok "$d: valid, exit $want" "exit $rc; $last" "$(grep 'schema wrapper' "$T/err")" "$(points_not_ok "$T/out.json")" ;;
	esac
}

smolvm machine create --name b --from "$T/agent.smolmachine" --net --allow-cidr 192.0.2.10/32 >/dev/null
smolvm machine start --name b >/dev/null 2>&1
wait_until smolvm machine exec --name b -- true

# (the KVM stand-in runs no vCPU: preflight.kvm.runs is a SKIP, and under MUST_RUN not ok)
valid "preflight" 0 preflight --kvm-device "$T/kvm"
BOTTLE_VERIFY_MUST_RUN=1 valid "preflight under BOTTLE_VERIFY_MUST_RUN=1 (a SKIP turned not ok, its reason)" 1 \
	preflight --kvm-device "$T/kvm"
valid "db" 0 db b --expect 192.0.2.10/32
valid "db --quiet" 0 db b --expect 192.0.2.10/32 --quiet
valid "all on the sim (a TODO: the DNS carve-out)" 0 all b --expect 192.0.2.10/32 --policy "$POLICY" \
	--allow-dest tcp:192.0.2.10:8888 --kvm-device "$T/kvm"
valid "egress --machine" 0 egress --machine b --policy "$POLICY" --allow-dest tcp:192.0.2.10:8888
jq 'del(.gate)' "$top/fixtures/policies/sim-gate.json" >"$T/nogate.json"
valid "gate (no proxy, no git gate: SKIPs)" 0 gate b --policy "$T/nogate.json" --allow-dest tcp:192.0.2.10:8888
valid "the watch stream" 0 watch b --expect 192.0.2.10/32 --interval 300 --duration 1
valid "watch's usage error (a stream: begin, error, end)" 2 watch b --expect 192.0.2.10/32 --interval 5
valid "a finding (not_ok with its YAML fields)" 1 db b --expect 192.0.2.99/32
"$W/bottle-verify" --format json --frob >"$T/out.json" 2>"$T/err"
rc=$?
case "$rc:$(tail -1 "$BV_SCHEMA_LOG")" in
"2:ok bottle-verify usage "*) ok "a usage error's document: valid (exit 2)" ;;
*) not_ok "usage error: valid, exit 2" "exit $rc; $(tail -1 "$BV_SCHEMA_LOG")" "$(cat "$T/err")" ;;
esac

# --- the wrapper fails ------------------------------------------------------------------------
# fails DESC WANT-IN-LOG: the last run exited 97 and logged FAIL with WANT-IN-LOG
fails() {
	last=$(tail -1 "$BV_SCHEMA_LOG")
	case "$rc:$last" in
	"97:FAIL "*"$2"*) ok "$1: exit 97, logged ($(echo "$last" | cut -c1-120))" ;;
	*) not_ok "$1: exit 97, logged '$2'" "exit $rc; $last" ;;
	esac
}
jq '.["$defs"].status.enum -= ["ok"]' "$top/docs/report.schema.json" >"$T/broken.schema.json"
BV_SCHEMA="$T/broken.schema.json" "$W/bottle-verify" --format json db b --expect 192.0.2.10/32 >/dev/null 2>"$T/err"
rc=$?
fails "a schema without the status ok fails db's report" '/points/0/status: "ok" is not one of'
# stand-ins for the real binary: a document with a key the schema does not know, one whose
# exit_code is not the exit status, and a watch whose stream stops before its end line
mkdir -p "$T/fake"
"$BV" --format json db b --expect 192.0.2.10/32 2>/dev/null >"$T/db.json"
jq -c '.points[0].evidence = "e"' "$T/db.json" >"$T/extra.json"
printf '#!/bin/sh\ncat %s\n' "$T/extra.json" >"$T/fake/bottle-verify"
chmod +x "$T/fake/bottle-verify"
"$top/integration/client/schema-wrap.sh" "$T/fw" "$T/fake"
"$T/fw/bottle-verify" --format json db b >/dev/null 2>&1
rc=$?
fails "a point with a key the schema does not know" "key 'evidence' is not allowed"
printf '#!/bin/sh\ncat %s\nexit 1\n' "$T/db.json" >"$T/fake/bottle-verify"
"$T/fw/bottle-verify" --format json db b >/dev/null 2>&1
rc=$?
fails "a document whose exit_code is not the exit status" "says exit_code 0, the exit status is 1"
printf '#!/bin/sh\n%s --format json watch b --expect 192.0.2.10/32 --interval 300 --duration 1 | head -n -1\n' "$BV" \
	>"$T/fake/bottle-verify"
"$T/fw/bottle-verify" --format json watch b >/dev/null 2>&1
rc=$?
fails "a watch stream without its end line" "does not end with an end line"

smolvm machine stop --name b >/dev/null 2>&1
smolvm machine rm --name b -f >/dev/null 2>&1
exit $((failed > 0))
