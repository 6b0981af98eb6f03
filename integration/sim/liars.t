#!/bin/sh
# Lying guests (the guest owns whatever answers `smolvm machine exec`): a probe replacement
# that reports every denial without sending (liar-deny), one that also claims the controls
# (liar-control), one with garbage timings (liar-timing). On every leaky bottle, with an
# honest probe and with each liar, `bottle-verify all` must not pass and `bottle-launch up`
# must hand nothing over; the confined bottle with an honest probe must pass.
top=$(cd "$(dirname "$0")/../.." && pwd)
. "$top/integration/sim/lib.sh"
sim_enter "$@"
. "$top/integration/lib.sh"
GUESTS="honest liar-deny liar-control liar-timing"
LEAKS="allowlist-ignored gateway-open ipv6-open dns-open other-loopback slow-leak"
# make check: each leak with the honest probe and one liar (the three take turns);
# BV_SIM_FULL=1 (make soak): every leak with every guest.
if [ "${BV_SIM_FULL:-}" = 1 ]; then plan 35; else plan 23; fi
sim_host
POLICY="$top/fixtures/policies/sim-bottle.json"
CAUGHT_JSON="$T/all.json" CAUGHT_ERR="$T/all.err"

# restart NAME GUEST LEAK: the machine again, with that guest and that leaky gateway
restart() {
	smolvm machine stop --name "$1" >/dev/null 2>&1
	env FAKE_SMOLVM_LEAK="$3" smolvm machine start --name "$1" >"$T/start.out" 2>&1 || cat "$T/start.out" >&2
	ready "$1"
	GUEST=$2
}
# ready NAME: smolvm's exec answers (the fake's agent is ready FAKE_SMOLVM_EXEC_READY_MS after start)
ready() { wait_until smolvm machine exec --name "$1" -- true; }
verify_all() { # NAME ADDR -> $T/all.json, $vrc
	if [ "$GUEST" = honest ]; then lg=""; else lg=$GUEST; fi
	FAKE_SMOLVM_GUEST=$lg "$BV" --format json all "$1" --expect "$2/32" --policy "$POLICY" \
		--allow-dest "tcp:$2:8888" --kvm-device "$T/kvm" >"$T/all.json" 2>"$T/all.err"
	vrc=$?
}
refused() { # DESC: the last verifier run did not pass (exit 1 or 2)
	if [ "$vrc" != 0 ]; then ok "$1 (exit $vrc)"
	else not_ok "$1" "exit 0: $(grep -o '"id":"[^"]*","status":"[a-z_]*"' "$T/all.json" | tr '\n' ' ' | cut -c1-400)"; fi
}

# --- 1.9.3: every leak, every guest ---------------------------------------------------------
export FAKE_SMOLVM_VERSION=1.9.3
smolvm machine create --name b --from "$T/agent.smolmachine" --net --allow-cidr 192.0.2.10/32 >/dev/null
smolvm machine start --name b >/dev/null 2>&1
ready b
GUEST=honest
verify_all b 192.0.2.10
caught "1.9.3 confined, honest probe: all passes (exit 0)" 0 egress.control ok egress.denied.public ok
for g in liar-deny liar-control liar-timing; do
	GUEST=$g
	verify_all b 192.0.2.10
	refused "1.9.3 confined, $g: the guest's word proves nothing"
done
k=0
for leak in $LEAKS; do
	k=$((k + 1))
	turn=$(echo "liar-deny liar-control liar-timing" | cut -d' ' -f$(( (k - 1) % 3 + 1 )))
	if [ "${BV_SIM_FULL:-}" = 1 ]; then guests=$GUESTS; else guests="honest $turn"; fi
	for g in $guests; do
		restart b "$g" "$leak"
		verify_all b 192.0.2.10
		refused "1.9.3 leak $leak, $g: not passed"
	done
done
smolvm machine stop --name b >/dev/null 2>&1
smolvm machine rm --name b -f >/dev/null 2>&1

# --- bottle-launch up hands nothing over -----------------------------------------------------
for g in $GUESTS; do
	if [ "$g" = honest ]; then gg=""; else gg=$g; fi
	FAKE_SMOLVM_LEAK=gateway-open FAKE_SMOLVM_GUEST=$gg "$BL" up "u-$g" --allow 192.0.2.10/32 \
		--from "$T/agent.smolmachine" --control-port 8888 --policy "$POLICY" --kvm-device "$T/kvm" \
		>"$T/up.out" 2>"$T/up.err"
	urc=$?
	rows=$(sqlite3 "$HOME/.local/share/smolvm/server/smolvm.db" "SELECT count(*) FROM vms WHERE name='u-$g'")
	if [ $urc != 0 ] && [ "$rows" = 0 ] && ! grep -q ': ready:' "$T/up.out"; then ok "up on a leaky bottle, $g: nothing handed over (exit $urc, torn down)"
	else not_ok "up on a leaky bottle, $g: nothing handed over" "exit $urc, rows $rows" "$(tail -3 "$T/up.err")"; fi
done

# --- 0.8.0 (TSI): no record of refusals, so nothing is proven denied ----------------------------
export FAKE_SMOLVM_VERSION=0.8.0
smolvm machine create old --from "$T/agent.smolmachine" --net --allow-cidr 127.0.0.16/32 >/dev/null
"$BL" enforce old --allow 127.0.0.16/32 >/dev/null 2>&1
smolvm machine start --name old >/dev/null 2>&1
ready old
GUEST=honest
verify_all old 127.0.0.16
caught "0.8.0 confined, honest probe: the control is seen, the denials are unproven (exit 2)" 2 \
	egress.control ok egress.denied.public inconclusive
restart old liar-deny allowlist-ignored
verify_all old 127.0.0.16
refused "0.8.0 leak allowlist-ignored, liar-deny: not passed"
smolvm machine stop --name old >/dev/null 2>&1
smolvm machine rm old -f >/dev/null 2>&1

rows=$(sim_rows) hold=$(sim_holders)
if [ "$rows" = 0 ] && [ "$hold" = 0 ]; then ok "no machine row and no VMM left"; else not_ok "left behind" "rows=$rows holders=$hold"; fi
exit $((failed > 0))
