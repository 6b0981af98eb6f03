#!/bin/sh
# bench/all-vs-floor.sh - make bench: `bottle-verify all` on a simulated smolvm 1.9.3 bottle
# against the smolvm floor a user pays anyway (one `smolvm machine exec -- true` plus one
# `smolvm --version` of the same smolvm, here the fake). Mean wall time over RUNS runs each.
# Runs inside the sim lane's private namespaces: no traffic leaves them.
top=$(cd "$(dirname "$0")/.." && pwd)
. "$top/bench/sim.sh"
RUNS=${RUNS:-10}
export FAKE_SMOLVM_VERSION=1.9.3
smolvm machine create --name bench --from "$T/agent.smolmachine" --net --allow-cidr 192.0.2.10/32 >/dev/null
smolvm machine start --name bench >/dev/null 2>&1
sleep 0.5
floor() { smolvm machine exec --name bench -- true >/dev/null 2>&1; smolvm --version >/dev/null; }
POLICY="$top/fixtures/policies/sim-bottle.json"
verify() {
	"$BV" all bench --expect 192.0.2.10/32 --policy "$POLICY" \
		--allow-dest tcp:192.0.2.10:8888 --kvm-device "$T/kvm" >/dev/null 2>&1
}
verify || { echo "all-vs-floor: bottle-verify all does not pass on the confined bottle" >&2; exit 1; }
f=$(mean_us floor) a=$(mean_us_apart 0.8 verify)
echo "all vs floor: bottle-verify all $((a / 1000)) ms, floor (exec true + --version) $((f / 1000)) ms, ratio $(echo "scale=1; $a / $f" | bc) x (goal <= 4 x), mean of $RUNS"
# The policy before issue 15 widened it (the classes service-ports and around-allowed, two
# tries, 200 flows held, more IPv6 and DNS over TCP: docs/policy.md), on the same bottle.
POLICY="$top/fixtures/policies/sim-bottle-narrow.json"
n=$(mean_us_apart 0.8 verify)
echo "widened vs narrow policy: $((a / 1000)) ms vs $((n / 1000)) ms, ratio $(echo "scale=2; $a / $n" | bc) x (goal <= 1.5 x), mean of $RUNS"
smolvm machine stop --name bench >/dev/null 2>&1
smolvm machine rm --name bench -f >/dev/null 2>&1
