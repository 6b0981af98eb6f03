#!/bin/sh
# The sandbox-escape gate on a simulated bottle (fake smolvm 1.9.2) behind the stand-in
# bundle (tinyproxy behind a DLP stand-in, git daemon with a scanning pre-receive hook):
# every catalogue entry ok on the confined bottle, and not ok on its must-fail fixture.
top=$(cd "$(dirname "$0")/../.." && pwd)
. "$top/integration/sim/lib.sh"
sim_enter "$@"
. "$top/integration/lib.sh"
plan 20
sim_host
for a in 192.0.2.20 192.0.2.21 192.0.2.30 192.0.2.80 198.51.100.7; do ip addr add "$a/32" dev lo; done
POLICY="$top/fixtures/policies/sim-gate.json"
export FAKE_SMOLVM_VERSION=1.9.2 BV_CANARY=ghp_5ec4e7aaaabbbbccccddddeeeeffff00001111

bundle() { # variant
	"$top/fixtures/bundle/bundle-down" "$T/b" >/dev/null 2>&1
	"$top/fixtures/bundle/bundle-up" "$T/b" --addr 192.0.2.20 --upstream 192.0.2.80:80 \
		--git-upstream 192.0.2.80:9419 --variant "$1" >"$T/bundle.log" 2>&1 || cat "$T/bundle.log" >&2
}
gate() { # -> $T/g.json, $vrc
	"$BV" --format json gate g --policy "$POLICY" --allow-dest tcp:192.0.2.20:8888 \
		--secret-env BV_CANARY "$@" >"$T/g.json" 2>"$T/g.err"
	vrc=$?
}
CAUGHT_JSON="$T/g.json" CAUGHT_ERR="$T/g.err"
restart() { # [env...]
	smolvm machine stop --name g >/dev/null 2>&1
	env "$@" smolvm machine start --name g >"$T/start.out" 2>&1 || cat "$T/start.out" >&2
	sleep 0.4
}

bundle confined
smolvm machine create --name g --from "$T/agent.smolmachine" --net --allow-cidr 192.0.2.20/32 >/dev/null
smolvm machine start --name g >/dev/null && sleep 0.4
gate
caught "confined: every entry ok, the DNS carve-out a TODO, exit 0" 0 \
	gate.control ok gate.hostname.proxy ok gate.hostname.direct ok gate.ip-literal.proxy ok \
	gate.ip-literal.direct ok gate.canary.http-path ok gate.canary.http-query ok \
	gate.canary.http-header ok gate.canary.http-body ok gate.dns.canary-subdomain todo \
	gate.dns.direct todo gate.git.canary-push ok gate.host-loopback ok gate.host-services ok \
	gate.other-bottles ok gate.lan-metadata ok gate.ipv6 ok gate.bypass-channels ok \
	gate.secret-exposure ok
"$BV" gate g --policy "$POLICY" --allow-dest tcp:192.0.2.20:8888 --secret-env BV_CANARY >"$T/g.tap" 2>/dev/null
if prove --exec cat "$T/g.tap" >"$T/prove.out" 2>&1 && grep -q 'Result: PASS' "$T/prove.out"; then ok "prove reads the gate's TAP (confined: PASS)"; else not_ok "prove on the gate's TAP" "$(cat "$T/prove.out")"; fi

# --- the bundle's leaky variants ------------------------------------------------------------
bundle proxy-open; gate
caught "proxy-open: hostname and IP literal through the proxy caught" 1 \
	gate.hostname.proxy not_ok gate.ip-literal.proxy not_ok gate.canary.http-path ok
bundle dlp-body-only; gate
caught "dlp-body-only (the historic gap): path, query and header caught, body ok" 1 \
	gate.canary.http-path not_ok gate.canary.http-query not_ok gate.canary.http-header not_ok \
	gate.canary.http-body ok
bundle dlp-off; gate
caught "dlp-off: the canary in the body caught" 1 gate.canary.http-body not_ok
bundle git-noscan; gate
caught "git-noscan: the canary push accepted and forwarded, caught" 1 gate.git.canary-push not_ok
bundle git-forward-first; gate
caught "git-forward-first: the upstream saw the canary before the scan, caught" 1 gate.git.canary-push not_ok
bundle git-upstream-first; gate
caught "git-upstream-first: a rejection in upstream-phase words, caught" 1 gate.git.canary-push not_ok
bundle confined

# --- smolvm's leaky variants ------------------------------------------------------------------
restart FAKE_SMOLVM_LEAK=allowlist-ignored; gate
caught "allowlist-ignored: IP literals, the denied host, other bottles, LAN caught" 1 \
	gate.ip-literal.direct not_ok gate.hostname.direct not_ok gate.other-bottles not_ok \
	gate.lan-metadata not_ok
restart FAKE_SMOLVM_LEAK=gateway-open; gate
caught "gateway-open: host loopback through the gateway caught" 1 gate.host-loopback not_ok
restart FAKE_SMOLVM_LEAK=ipv6-open; gate
caught "ipv6-open: IPv6 under an IPv4-only policy caught" 1 gate.ipv6 not_ok
restart FAKE_SMOLVM_LEAK=dns-open; gate
caught "dns-open: TCP/53 to a non-resolver caught" 1 gate.dns.direct not_ok
restart

# --- the host's side ----------------------------------------------------------------------------
perl -MIO::Socket::IP -e '$s = IO::Socket::IP->new(LocalHost => "0.0.0.0", LocalPort => 5432, Listen => 5, ReuseAddr => 1) or die; sleep 60' &
svc=$!
wait_until listening 5432
gate
caught "a host service on 0.0.0.0:5432 reached through the allowed address: caught" 1 gate.host-services not_ok
kill "$svc" 2>/dev/null; wait "$svc" 2>/dev/null
perl -e 'sleep 60' -- "--token=$BV_CANARY" &
leak=$!
wait_until grep -q "token=$BV_CANARY" "/proc/$leak/cmdline"
gate
caught "the secret on a host command line: caught (the evidence names the pid, never the value)" 1 gate.secret-exposure not_ok
if grep -q "$BV_CANARY" "$T/g.json"; then not_ok "the report never repeats the secret"; else ok "the report never repeats the secret"; fi
kill "$leak" 2>/dev/null; wait "$leak" 2>/dev/null
smolvm machine stop --name g >/dev/null 2>&1
db="$HOME/.local/share/smolvm/server/smolvm.db"
sqlite3 "$db" "UPDATE vms SET data = CAST(json_set(CAST(data AS TEXT), '\$.ports', json('[[8080, 80]]')) AS BLOB) WHERE name = 'g'"
smolvm machine start --name g >/dev/null 2>&1; sleep 0.4
gate
caught "a published port in the row: gate.bypass-channels caught" 1 gate.bypass-channels not_ok

# --- the carve-out without an accepted gap, and a dead control ----------------------------------
jq '.denied["dns-carveout"] |= map(del(.accept_gap))' "$POLICY" >"$T/nogap.json"
"$BV" --format json gate g --policy "$T/nogap.json" --allow-dest tcp:192.0.2.20:8888 >"$T/g.json" 2>"$T/g.err"
vrc=$?
caught "1.9.2's DNS carve-out without an accepted gap: the canary subdomain is not ok" 1 \
	gate.dns.canary-subdomain not_ok gate.dns.direct not_ok
"$BV" --format json gate g --policy "$POLICY" --allow-dest tcp:192.0.2.20:1 >"$T/g.json" 2>"$T/g.err"
vrc=$?
caught "a dead control: nothing is judged (inconclusive, exit 2), nothing passes" 2 \
	gate.control inconclusive gate.host-loopback inconclusive gate.git.canary-push inconclusive \
	gate.canary.http-body inconclusive

# --- skips -------------------------------------------------------------------------------------------
jq 'del(.gate)' "$POLICY" >"$T/nogate.json"
"$BV" --format json gate g --policy "$T/nogate.json" --allow-dest tcp:192.0.2.20:8888 >"$T/g.json" 2>/dev/null
vrc=$?
caught "no proxy and no git gate declared: visible SKIPs, exit 1 (the row's published port)" 1 \
	gate.hostname.proxy skip gate.git.canary-push skip gate.secret-exposure skip
BOTTLE_VERIFY_MUST_RUN=1 "$BV" --format json gate g --policy "$T/nogate.json" --allow-dest tcp:192.0.2.20:8888 >"$T/g.json" 2>/dev/null
vrc=$?
caught "under BOTTLE_VERIFY_MUST_RUN=1 every SKIP is not ok" 1 gate.hostname.proxy not_ok gate.git.canary-push not_ok

smolvm machine stop --name g >/dev/null 2>&1
smolvm machine rm --name g -f >/dev/null 2>&1
"$top/fixtures/bundle/bundle-down" "$T/b" >/dev/null 2>&1
