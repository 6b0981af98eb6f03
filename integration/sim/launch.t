#!/bin/sh
# bottle-launch up/down on simulated bottles: a full up -> verify -> down cycle per
# emulated smolvm version (0.8.0: enforce repairs the dropped allowlist), refusals before
# anything is created, and failures (a leaky bottle, the stale stop) torn down completely:
# no machine, no lease, no namespace left. No secret reaches smolvm's argv.
top=$(cd "$(dirname "$0")/../.." && pwd)
. "$top/integration/sim/lib.sh"
sim_enter "$@"
. "$top/integration/lib.sh"
plan 25
sim_host
POLICY="$top/fixtures/policies/sim-bottle.json"
up() { # name args...: bottle-launch up; $T/up.out (stdout), $T/up.err; exit in $urc
	"$BL" up "$@" --from "$T/agent.smolmachine" --control-port 8888 --policy "$POLICY" \
		--kvm-device "$T/kvm" >"$T/up.out" 2>"$T/up.err"
	urc=$?
}
leases() { ls "$BOTTLE_LAUNCH_LEASE_DIR" 2>/dev/null | grep -c '\.lease$'; }
clean() { # desc: no row, no lease, no namespace holder, no uplink
	# a killed holder may take a moment to be reaped: wait up to 3 s for the state to settle
	for _ in 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15; do
		rows=$(sim_rows) l=$(leases) hold=$(sim_holders) up_links=$(ip -o link show | grep -c bvu)
		[ "$rows$l$hold$up_links" = 0000 ] && break
		sleep 0.2
	done
	if [ "$rows" = 0 ] && [ "$l" = 0 ] && [ "$hold" = 0 ] && [ "$up_links" = 0 ]; then ok "$1"
	else not_ok "$1" "rows=$rows leases=$l holders=$hold uplinks=$up_links" "$(tail -5 "$T/up.err")"; fi
}
cidrs() { sqlite3 "$HOME/.local/share/smolvm/server/smolvm.db" "SELECT json_extract(CAST(data AS TEXT), '\$.allowed_cidrs') FROM vms WHERE name='$1'"; }

# --- 0.8.0: alias from the pool, --from drops the allowlist, enforce repairs it ----------
export FAKE_SMOLVM_VERSION=0.8.0 FAKE_SMOLVM_ARGV_LOG="$T/argv.log" BOT_BOTTLE_CANARY=canary-9d1f0c2e
up b1 --alias auto
# TSI keeps no record of what it refused: no denial can be proven, so up hands nothing over.
if [ "$urc" = 2 ] && ! grep -q ': ready:' "$T/up.out"; then ok "0.8.0: up hands nothing over (exit 2): TSI proves no denial"; else not_ok "0.8.0 up refuses" "exit $urc" "$(tail -8 "$T/up.err")"; fi
if grep -q '^ok .* egress.control' "$T/up.out" && grep -q '^not ok .* egress.denied.public' "$T/up.out" && ! grep '^not ok' "$T/up.out" | grep -v '# TODO' | grep -qv 'egress\.\|db.network_backend'; then ok "0.8.0: the verifier's TAP reaches stdout: control seen, denials unproven, nothing else wrong"; else not_ok "0.8.0 TAP" "$(grep -E '^not ok' "$T/up.out" | head -4 | tr '\n' ' ')"; fi
if grep -q '^ok .* db.allowed_cidrs.exact allowed_cidrs is exactly \[127.0.0.16/32\]' "$T/up.out"; then ok "0.8.0: the lowest alias, 127.0.0.16/32, was the row's allowlist when verified"; else not_ok "0.8.0 alias" "$(grep allowed_cidrs "$T/up.out")"; fi
if grep -q 'smolvm machine create b1 --from' "$T/argv.log"; then ok "0.8.0: create takes the name positionally"; else not_ok "0.8.0 argv" "$(cat "$T/argv.log")"; fi
if grep -qi 'null' "$T/up.err" && grep -qi 'enforce' "$T/up.err"; then ok "0.8.0: enforce repaired the dropped allowlist (said on stderr)"; else not_ok "0.8.0 enforce" "$(grep -i enforce "$T/up.err")"; fi
"$BL" down b1 >"$T/down.out" 2>&1
drc=$?
if [ "$drc" = 0 ]; then ok "down b1 exits 0"; else not_ok "down b1" "exit $drc" "$(cat "$T/down.out")"; fi
clean "down left no machine, lease or namespace"
"$BL" down b1 >"$T/down.out" 2>&1
if [ $? = 0 ]; then ok "down is idempotent"; else not_ok "down twice" "$(cat "$T/down.out")"; fi

# --- 1.9.2: an explicit /32 on the bundle's address; --name flags; no repair needed -----
export FAKE_SMOLVM_VERSION=1.9.2
up b2 --allow 192.0.2.10/32
if [ "$urc" = 0 ]; then ok "1.9.2: up exits 0"; else not_ok "1.9.2 up" "exit $urc" "$(tail -8 "$T/up.err")"; fi
if grep -q 'smolvm machine create --name b2 --from' "$T/argv.log"; then ok "1.9.2: create takes --name"; else not_ok "1.9.2 argv" "$(tail -3 "$T/argv.log")"; fi
if grep -q 'dns-carveout.*# TODO' "$T/up.out"; then ok "1.9.2: the DNS carve-out shows as a TODO"; else not_ok "1.9.2 carve-out" "$(grep carveout "$T/up.out")"; fi
"$BL" down b2 >/dev/null 2>&1
clean "1.9.2: down left nothing"

# --- refused before anything exists -------------------------------------------------------
up b3 --alias auto
if [ "$urc" = 1 ] && grep -qi 'loopback' "$T/up.err"; then ok "1.9.2: a 127/8 alias is refused (it stays inside the guest), exit 1"; else not_ok "1.9.2 alias refusal" "exit $urc" "$(tail -3 "$T/up.err")"; fi
clean "the refusal created nothing"
up b3 --allow 192.0.2.0/24
if [ "$urc" = 1 ]; then ok "an allowlist wider than one address is refused"; else not_ok "wide allowlist" "exit $urc"; fi

# --- failures are torn down -----------------------------------------------------------------
FAKE_SMOLVM_LEAK=allowlist-ignored up b4 --allow 192.0.2.10/32
if [ "$urc" = 1 ] && grep -q '^not ok .*egress.denied.public' "$T/up.out"; then ok "a leaky bottle fails verification: up exits 1, the finding printed"; else not_ok "leaky up" "exit $urc" "$(grep -E '^not ok' "$T/up.out")"; fi
clean "the failed verification left no machine, lease or namespace"
export FAKE_SMOLVM_VERSION=0.8.0
FAKE_SMOLVM_STALE_STOP=1 up b5 --alias auto
if [ "$urc" != 0 ]; then ok "the stale stop's revert fails the launch (exit $urc)"; else not_ok "stale stop passed"; fi
clean "... and is torn down too"
export FAKE_SMOLVM_VERSION=1.9.2
FAKE_SMOLVM_EXEC_READY_MS=60000 up b6 --allow 192.0.2.10/32
if [ "$urc" != 0 ] && grep -qi 'exec' "$T/up.err"; then ok "exec never ready: bounded wait, exit $urc"; else not_ok "exec never ready" "exit $urc"; fi
clean "... torn down"

# --- --dry-run: the whole plan, nothing changed --------------------------------------------
: >"$T/argv.log"
FAKE_SMOLVM_VERSION=0.8.0 "$BL" up b7 --alias auto --from "$T/agent.smolmachine" --control-port 8888 --policy "$POLICY" \
	--kvm-device "$T/kvm" --dry-run >"$T/plan.out" 2>"$T/plan.err"
prc=$?
if [ $prc = 0 ] && grep -q 'allowlist \[127.0.0.16/32\] (alias 127.0.0.16, would be leased)' "$T/plan.out" &&
	grep -q 'slug b7 -> 192.168.[0-9]*.0/24' "$T/plan.out" && grep -q 'create.*machine create b7 --from' "$T/plan.out" &&
	grep -q 'verify .* all b7 --expect 127.0.0.16/32' "$T/plan.out"; then
	ok "--dry-run prints the plan: alias, bundle subnet, create argv for 0.8.0, verify argv"
else not_ok "--dry-run plan" "exit $prc" "$(cat "$T/plan.out" "$T/plan.err" | head -12)"; fi
if ! grep -v -- '--version' "$T/argv.log" | grep -q .; then ok "--dry-run ran no smolvm command but --version"; else not_ok "dry-run ran" "$(cat "$T/argv.log")"; fi
clean "--dry-run took no lease and created nothing"

# --- secrets -----------------------------------------------------------------------------------
if ! grep -q canary-9d1f0c2e "$T/argv.log"; then ok "no value from the launcher's environment on any smolvm argv"; else not_ok "canary on argv" "$(grep canary "$T/argv.log")"; fi
exit $((failed > 0))
