#!/bin/sh
# The fake smolvm and bottle-verify on simulated bottles, without the launcher: smolvm's
# CLI shapes per version, the 0.8.0 --from drop repaired by enforce, a confined bottle
# passing `bottle-verify all`, every leaky variant of the escape corpus caught by the class
# it opens, and the stale `stop` that reverts a patch caught by the db checks.
top=$(cd "$(dirname "$0")/../.." && pwd)
. "$top/integration/sim/lib.sh"
sim_enter "$@"
. "$top/integration/lib.sh"
plan 54
sim_host
export FAKE_SMOLVM_ARGV_LOG="$T/argv"
SIM_POLICY="$top/fixtures/policies/sim-bottle.json"
POLICY=$SIM_POLICY

expect_rc() { # desc rc cmd...
	d=$1 want=$2; shift 2
	"$@" >"$T/out" 2>&1
	rc=$?
	if [ "$rc" = "$want" ]; then ok "$d"; else not_ok "$d" "exit $rc, expected $want" "$(tail -5 "$T/out")"; fi
}
verify_all() { # name addr -> $T/all.json, exit status in $vrc
	"$BV" --format json all "$1" --expect "$2/32" --policy "$POLICY" --allow-dest "tcp:$2:8888" \
		--kvm-device "$T/kvm" >"$T/all.json" 2>"$T/all.err"
	vrc=$?
}
CAUGHT_JSON="$T/all.json" CAUGHT_ERR="$T/all.err"
restart() { # name [env...]: stop, then start with the given variant
	m=$1; shift
	smolvm machine stop --name "$m" >/dev/null 2>&1
	env "$@" smolvm machine start --name "$m" >"$T/start.out" 2>&1 || cat "$T/start.out" >&2
	sleep 0.4
}

# --- CLI shapes --------------------------------------------------------------------------
export FAKE_SMOLVM_VERSION=0.8.0
expect_rc "0.8.0: create takes NAME positionally, --name is a usage error (exit 2)" 2 \
	smolvm machine create --name x --net
expect_rc "0.8.0: a bad --allow-cidr is a usage error (exit 2)" 2 \
	smolvm machine create x --net --allow-cidr 300.1.2.3/32
export FAKE_SMOLVM_VERSION=1.9.2
expect_rc "1.9.2: a positional NAME on create is a usage error (exit 2)" 2 smolvm machine create x --net
expect_rc "1.9.2: a machine that does not exist: Error, exit 1" 1 smolvm machine start --name nope

# --- 0.8.0: TSI, the alias allowlist, --from drops it -------------------------------------
export FAKE_SMOLVM_VERSION=0.8.0
smolvm machine create old --from "$T/agent.smolmachine" --net --allow-cidr 127.0.0.16/32 >/dev/null
row=$(sqlite3 "$HOME/.local/share/smolvm/server/smolvm.db" "SELECT typeof(data), json_extract(CAST(data AS TEXT), '\$.allowed_cidrs') FROM vms WHERE name='old'")
if [ "$row" = "blob|" ]; then ok "0.8.0: create --from dropped --allow-cidr (row is a BLOB, allowed_cidrs null)"; else not_ok "0.8.0: --from drop" "$row"; fi
"$BV" --format json db old --expect 127.0.0.16/32 >"$T/all.json" 2>/dev/null
vrc=$?
caught "0.8.0: bottle-verify db catches the dropped allowlist (exit 2: the TSI backend is unproven without egress)" 2 db.allowed_cidrs.exact not_ok
"$BL" enforce old --allow 127.0.0.16/32 >"$T/enf" 2>&1
if grep -q 'null -> \["127.0.0.16/32"\]' "$T/enf"; then ok "0.8.0: enforce repairs it (null -> [127.0.0.16/32])"; else not_ok "enforce repairs" "$(cat "$T/enf")"; fi
FAKE_SMOLVM_KVM="$T/no-kvm" smolvm machine start --name old >"$T/out" 2>&1
if [ $? = 1 ] && grep -q '^Error: .*kvm not available' "$T/out"; then ok "start without a KVM device: Error, exit 1"; else not_ok "start without KVM" "$(cat "$T/out")"; fi
smolvm machine start --name old >/dev/null 2>&1 && sleep 0.4
verify_all old 127.0.0.16
# TSI keeps no record of what it refused: the census sees the control, but no denial can
# be told from a guest that never sent (docs/trust.md), so nothing passes on 0.8.0.
caught "0.8.0 confined: the control is seen (census), the denials are unproven: exit 2, never 0" 2 \
	egress.control ok egress.denied.public inconclusive egress.denied.host-loopback inconclusive \
	egress.census ok db.network_backend inconclusive db.agent_config.match ok
# smolvm's cp lands a file 0644 on every version; before 1.9.0 (no --mode) the same exec
# makes the probe executable, or every egress point would be inconclusive on a real bottle.
if grep -Eq ' machine cp .*/bottle-probe old:/tmp/bottle-probe\.[A-Za-z0-9]{6}$' "$T/argv" && ! grep -q ' machine cp --mode' "$T/argv" &&
	grep -q ' machine exec --name old -- /bin/sh -c chmod 700 ' "$T/argv"; then
	ok "0.8.0: the probe is copied without --mode (it lands 0644) and its exec makes it executable"
else not_ok "0.8.0: the probe is copied without --mode and its exec makes it executable" "$(grep -E 'machine (cp|exec)' "$T/argv" | tail -4)"; fi
: >"$T/argv"
restart old FAKE_SMOLVM_LEAK=allowlist-ignored
verify_all old 127.0.0.16
caught "0.8.0 leak allowlist-ignored: caught (egress.denied.public not ok; exit 2, the backend stays unproven)" 2 egress.denied.public not_ok db.network_backend inconclusive
restart old FAKE_SMOLVM_LEAK=gateway-open
verify_all old 127.0.0.16
caught "0.8.0 leak gateway-open (all of 127/8 reaches the host): caught" 2 egress.denied.host-loopback not_ok
restart old FAKE_SMOLVM_LEAK=ipv6-open
verify_all old 127.0.0.16
caught "0.8.0 leak ipv6-open: caught (egress.denied.ipv6 not ok)" 2 egress.denied.ipv6 not_ok
restart old FAKE_SMOLVM_LEAK=dns-open
verify_all old 127.0.0.16
caught "0.8.0 leak dns-open: caught (egress.denied.dns-direct not ok)" 2 egress.denied.dns-direct not_ok
smolvm machine stop --name old >/dev/null
expect_rc "0.8.0: rm without -f prints Cancelled and exits 0 ..." 0 smolvm machine rm old
rows=$(sim_rows)
if [ "$rows" = 1 ]; then ok "... and deletes nothing"; else not_ok "rm without -f deleted" "rows=$rows"; fi
expect_rc "0.8.0: rm NAME -f deletes" 0 smolvm machine rm old -f

# --- 1.9.2: virtio-net gateway ----------------------------------------------------------
export FAKE_SMOLVM_VERSION=1.9.2
smolvm machine create --name new --from "$T/agent.smolmachine" --net --allow-cidr 192.0.2.10/32 >/dev/null
"$BL" enforce new --allow 192.0.2.10/32 >"$T/enf" 2>&1
if grep -q 'nothing written' "$T/enf"; then ok "1.9.2: create --from kept the allowlist; enforce writes nothing"; else not_ok "1.9.2 enforce" "$(cat "$T/enf")"; fi
smolvm machine start --name new >/dev/null 2>&1 && sleep 0.4
: >"$T/argv"
verify_all new 192.0.2.10
caught "1.9.2 confined: exit 0; DNS carve-out is a TODO, the gateway path denied" 0 \
	egress.control ok egress.denied.dns-carveout todo egress.denied.host-loopback-gateway ok \
	egress.denied.ipv6 ok egress.denied.ipv4-mapped ok egress.denied.service-ports ok egress.denied.around-allowed ok \
	egress.denied.dns-direct ok egress.pressure ok egress.denied.icmp ok db.network_backend ok
if grep -Eq ' machine cp --mode 700 .*/bottle-probe new:/tmp/bottle-probe\.[A-Za-z0-9]{6}$' "$T/argv" &&
	grep -Eq ' machine exec --name new -- /tmp/bottle-probe\.[A-Za-z0-9]{6} --ok-exit 77 --remove /tmp/bottle-probe\.[A-Za-z0-9]{6}\.plan$' "$T/argv"; then
	ok "1.9.2: the probe is copied with --mode 700 and run directly"
else not_ok "1.9.2: the probe is copied with --mode 700 and run directly" "$(grep -E 'machine (cp|exec)' "$T/argv" | tail -4)"; fi
restart new FAKE_SMOLVM_LEAK=allowlist-ignored
verify_all new 192.0.2.10
caught "1.9.2 leak allowlist-ignored: caught" 1 egress.denied.public not_ok egress.denied.ipv4-mapped not_ok
restart new FAKE_SMOLVM_LEAK=gateway-open
verify_all new 192.0.2.10
caught "1.9.2 leak gateway-open (100.96.0.1 dials host loopback): caught" 1 egress.denied.host-loopback-gateway not_ok
restart new FAKE_SMOLVM_LEAK=ipv6-open
verify_all new 192.0.2.10
caught "1.9.2 leak ipv6-open: caught" 1 egress.denied.ipv6 not_ok
restart new FAKE_SMOLVM_LEAK=dns-open
verify_all new 192.0.2.10
caught "1.9.2 leak dns-open (TCP/53 to any resolver): caught" 1 egress.denied.dns-direct not_ok
# Gateways that leak on one port or range only: the service ports and the per-run random
# ports find them (the fixed handful of the other classes never touches them).
for leak in port-443 udp-123 high-ports; do
	restart new FAKE_SMOLVM_LEAK=$leak
	verify_all new 192.0.2.10
	caught "1.9.2 leak $leak: caught by egress.denied.service-ports" 1 egress.denied.service-ports not_ok egress.denied.public ok
done
# A gateway that enforces the /32 as its /16: the allowed address's neighbours find it.
restart new FAKE_SMOLVM_LEAK=wide-prefix
verify_all new 192.0.2.10
caught "1.9.2 leak wide-prefix (192.0.2.10/32 enforced as /16): caught by egress.denied.around-allowed" 1 \
	egress.denied.around-allowed not_ok egress.denied.public ok
# A gateway that refuses only the first try of each destination: every denied destination
# is tried twice, 50 ms apart, and its denial needs the record of both refusals. The same
# gateway passes a run that tries once (what the retries are for).
restart new FAKE_SMOLVM_LEAK=second-try
verify_all new 192.0.2.10
caught "1.9.2 leak second-try (the first try refused, the next let through): caught" 1 \
	egress.denied.public not_ok egress.denied.service-ports not_ok egress.denied.around-allowed not_ok
if grep -q 'record=refused-1-of-2' "$T/all.json"; then ok "... with one refusal of the two needed in the evidence"; else not_ok "second-try evidence" "$(grep -o '"evidence":"[^"]*"' "$T/all.json" | head -2)"; fi
sed 's/"attempts": 2/"attempts": 1/' "$POLICY" >"$T/once.json"
restart new FAKE_SMOLVM_LEAK=second-try # (a fresh gateway: the last run's tries are remembered)
POLICY="$T/once.json"; verify_all new 192.0.2.10; POLICY=$SIM_POLICY
caught "1.9.2 leak second-try, probed once: it passes (why each destination is tried twice)" 0 egress.denied.public ok
# A gateway that fails open when its flow table is busy: 200 flows are held to the control
# while the denied classes are probed. Without them it passes.
restart new FAKE_SMOLVM_LEAK=flow-table-open
verify_all new 192.0.2.10
caught "1.9.2 leak flow-table-open (fails open past 128 flows): caught under 200 held flows" 1 \
	egress.pressure ok egress.denied.public not_ok egress.denied.ipv6 not_ok
sed 's/"flow_pressure": 200/"flow_pressure": 0/' "$POLICY" >"$T/idle.json"
restart new FAKE_SMOLVM_LEAK=flow-table-open # (a fresh gateway: no flow of the last run left)
POLICY="$T/idle.json"; verify_all new 192.0.2.10; POLICY=$SIM_POLICY
caught "1.9.2 leak flow-table-open, no flows held: it passes (why the probe holds them)" 0 egress.denied.public ok
# smolvm's relay takes no flow past 256 and drops the SYN before its policy check, so a
# denial is not recorded (tcp_relay.rs create_tcp_socket @v1.9.3): more pressure than that
# leaves the run unproven (exit 2), never passed. (The fake's switch to "full" lags the
# kernel's handshakes, and a loaded machine may not fill the table before the probes go:
# a try refused and logged then still proves its denial, so public may be ok here.)
restart new
sed 's/"flow_pressure": 200/"flow_pressure": 300/' "$POLICY" >"$T/full.json"
POLICY="$T/full.json"; verify_all new 192.0.2.10; POLICY=$SIM_POLICY
caught "1.9.2 a full flow table (300 flows asked, 256 held): unproven, exit 2" 2 \
	egress.pressure inconclusive egress.denied.public "inconclusive|ok"
# DNS over TCP straight to the upstream, while the gateway relays its own TCP/53 there: a
# VMM socket to upstream:53 may be either, so that destination is unproven (exit 2), though
# the gateway refused it, never ok (a guest could pad the record with refused connects).
sed 's|{ "proto": "dns-tcp", "addr": "198.51.100.55", "port": 53 },|&{ "proto": "dns-tcp", "addr": "198.51.100.53", "port": 53 },|' \
	"$POLICY" >"$T/upstream.json"
POLICY="$T/upstream.json"; verify_all new 192.0.2.10; POLICY=$SIM_POLICY
caught "1.9.2 TCP/53 to the upstream beside the gateway's own: unproven, exit 2" 2 \
	egress.denied.dns-direct inconclusive egress.denied.public ok
# IPv6 beyond one address: a gateway that lets unique-local addresses through.
restart new FAKE_SMOLVM_LEAK=ula-open
verify_all new 192.0.2.10
caught "1.9.2 leak ula-open (fc00::/7 let through): caught by egress.denied.ipv6" 1 egress.denied.ipv6 not_ok egress.denied.public ok
# ICMP echo: smolvm relays an allowed echo through a host ping socket and drops a denied
# one unrecorded. A gateway that relays every echo is caught at the sinks and in the census
# of the VMM's ping sockets; where the host holds no sink (a real bottle's public
# addresses), the census alone catches it.
restart new FAKE_SMOLVM_LEAK=icmp-open
verify_all new 192.0.2.10
caught "1.9.2 leak icmp-open (every echo relayed): caught by egress.denied.icmp and the census" 1 \
	egress.denied.icmp not_ok egress.census not_ok egress.denied.public ok
if grep -q 'icmp 198.51.100.1:[0-9]* -> 198.51.100.1:0' "$T/all.json" && ! grep -q 'echo: inferred' "$T/all.json"; then
	ok "... with the VMM's ping socket in the evidence, and no claim of an inferred denial"
else not_ok "icmp census evidence" "$(grep -o '"evidence":"[^"]*"' "$T/all.json" | grep icmp | head -2)"; fi
sed 's|{ "proto": "icmp", "addr": "\([^"]*\)" }|{ "proto": "icmp", "addr": "\1", "sink": false }|' "$POLICY" >"$T/nosink.json"
restart new FAKE_SMOLVM_LEAK=icmp-open
POLICY="$T/nosink.json"; verify_all new 192.0.2.10; POLICY=$SIM_POLICY
caught "1.9.2 leak icmp-open, no sink for the echo: the census alone catches it" 1 egress.denied.icmp not_ok
# What only the census sees: a gateway that dials host loopback by another address (a sink
# on 127.0.0.1 misses it; something listens on 127.0.0.2:7003 so the flow lives), and one
# that lets a denied flow through late (after the probe gave up on it).
perl -MIO::Socket::INET -e '$s = IO::Socket::INET->new(LocalAddr => "127.0.0.2:7003", Listen => 8, ReuseAddr => 1) or die; print "up\n"; $|=1; while (my $c = $s->accept) { push @k, $c }' >"$T/l2.out" 2>&1 &
l2=$!
wait_until grep -q up "$T/l2.out"
restart new FAKE_SMOLVM_LEAK=other-loopback
verify_all new 192.0.2.10
caught "1.9.2 leak other-loopback (the gateway dials host 127.0.0.2): the census catches it" 1 egress.census not_ok
if grep -q '127.0.0.2:7003' "$T/all.json"; then ok "... with the VMM's socket to 127.0.0.2:7003 in the evidence"; else not_ok "the census evidence names the socket" "$(grep -o '"evidence":"[^"]*"' "$T/all.json" | head -3)"; fi
kill $l2 2>/dev/null
restart new FAKE_SMOLVM_LEAK=slow-leak
verify_all new 192.0.2.10
caught "1.9.2 leak slow-leak (a denied flow let through late): caught" 1 egress.census not_ok
if grep -q '198.51.100.1:7001' "$T/all.json"; then ok "... with the VMM's late socket to 198.51.100.1:7001 in the evidence"; else not_ok "the census evidence names the late socket" "$(grep -o '"evidence":"[^"]*"' "$T/all.json" | head -3)"; fi
# A gateway whose record says "refused" and that relays the flow later anyway: a run that
# ends on its evidence has ended by then; the full window (bottle-launch up's) catches it.
restart new FAKE_SMOLVM_LEAK=logged-slow-leak
"$BV" --format json all new --expect 192.0.2.10/32 --policy "$POLICY" --allow-dest tcp:192.0.2.10:8888 \
	--kvm-device "$T/kvm" --full-window >"$T/all.json" 2>"$T/all.err"
vrc=$?
caught "1.9.2 leak logged-slow-leak (refusal logged, flow relayed 1.2 s later): caught with --full-window" 1 egress.census not_ok
# The gateway answers every UDP/53 itself (>= 1.1.3): a query its upstream never answered
# (none runs at 198.51.100.99) proves no denial, whatever the guest saw: unproven, never ok.
restart new FAKE_SMOLVM_UPSTREAM_DNS=198.51.100.99
"$BV" --format json all new --expect 192.0.2.10/32 --policy "$top/fixtures/policies/sim-egress-udp53.json" \
	--allow-dest tcp:192.0.2.10:8888 --kvm-device "$T/kvm" >"$T/all.json" 2>"$T/all.err"
vrc=$?
caught "1.9.2: a UDP/53 query that got no answer is unproven, not denied (exit 2)" 2 \
	egress.denied.dns-udp inconclusive egress.denied.public ok
# A bottle started with --dns (bottle-launch's guard, or any resolver): its gateway forwards
# guest DNS there, so that is the carve-out's upstream, not the policy's. Nothing answers
# at 198.51.100.54, so each forwarded query's socket lives 2 s and the census always sees it.
ip addr add 198.51.100.54/32 dev lo
smolvm machine create --name dnsrow --from "$T/agent.smolmachine" --net --allow-cidr 192.0.2.10/32 --dns 198.51.100.54 >/dev/null
smolvm machine start --name dnsrow >/dev/null 2>&1 && sleep 0.4
verify_all dnsrow 192.0.2.10
caught "1.9.2 with --dns: the VMM's sockets to that resolver are the carve-out (TODO), not a leak" 0 \
	egress.census todo egress.denied.dns-carveout todo
if grep -q 'upstream 198.51.100.54:53' "$T/all.json" && grep -q 'pass --dns-guard 198.51.100.54' "$T/all.json"; then
	ok "... named as the upstream the VM was started with, and how to have it judged as a guard"
else not_ok "the carve-out names the launched upstream" "$(grep -o '"egress.census"[^}]*' "$T/all.json")"; fi
smolvm machine stop --name dnsrow >/dev/null
smolvm machine rm --name dnsrow -f >/dev/null
restart new SMOLVM_EGRESS_FLOOR=off
export SMOLVM_EGRESS_FLOOR=off
verify_all new 192.0.2.10
unset SMOLVM_EGRESS_FLOOR
caught "SMOLVM_EGRESS_FLOOR=off in the launch environment: a preflight finding" 1 preflight.env.egress_floor not_ok
smolvm machine stop --name new >/dev/null
expect_rc "1.9.2: rm --name NAME -f deletes" 0 smolvm machine rm --name new -f

# --- the stale stop: a concurrent `machine stop` writes its cached row back ---------------
export FAKE_SMOLVM_VERSION=0.8.0
FAKE_SMOLVM_STALE_STOP=1 smolvm machine create stale --from "$T/agent.smolmachine" --net --allow-cidr 127.0.0.16/32 >/dev/null
"$BL" enforce stale --allow 127.0.0.16/32 >/dev/null 2>&1
wait_until grep -q 'wrote the cached record' "$(smolvm machine data-dir stale)/fake-stale-stop.log"
smolvm machine start --name stale >/dev/null 2>&1 && sleep 0.4
verify_all stale 127.0.0.16
caught "stale stop reverted the patch: db.allowed_cidrs.exact not ok, the leak shows in egress" 2 \
	db.allowed_cidrs.exact not_ok egress.denied.public not_ok
d=$(smolvm machine data-dir stale)
if grep -q 'wrote the cached record' "$d/fake-stale-stop.log" 2>/dev/null; then ok "the revert came from the stale stop (its log says so)"; else not_ok "stale stop log" "$(cat "$d/fake-stale-stop.log" 2>&1)"; fi
smolvm machine stop --name stale >/dev/null
smolvm machine rm stale -f >/dev/null

# --- nothing left behind -----------------------------------------------------------------
rows=$(sim_rows) hold=$(sim_holders)
if [ "$rows" = 0 ] && [ "$hold" = 0 ]; then ok "no machine row and no namespace holder left"; else not_ok "left behind" "rows=$rows holders=$hold"; fi
i=$(sqlite3 "$HOME/.local/share/smolvm/server/smolvm.db" 'PRAGMA integrity_check')
if [ "$i" = ok ]; then ok "DB integrity_check ok"; else not_ok "integrity" "$i"; fi
if [ "$(ip -o link show | grep -c bvu)" = 0 ]; then ok "no uplink left in the host namespace"; else not_ok "uplinks left" "$(ip -o link show)"; fi
exit $((failed > 0))
