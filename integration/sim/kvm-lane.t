#!/bin/sh
# The kvm lane (integration/kvm/gate.t) read end to end against the fake smolvm 1.9.3, the
# version CI pins: it must launch out of the box, with no setting the workflows lack
# (its own address on lo, its own bottle policy, bottle-launch up, the gate, teardown).
# The pack and the KVM device are the sim's stand-ins; everything else is the lane's own.
top=$(cd "$(dirname "$0")/../.." && pwd)
. "$top/integration/sim/lib.sh"
sim_enter "$@"
BV_BUILD=${BV_BUILD:-$top/build}
T=$(mktemp -d "${TMPDIR:-/tmp}/bv-kvmsim.XXXXXX")
trap sim_cleanup EXIT
sim_host >/dev/null 2>&1 || { echo "TAP version 13"; echo "1..1"; echo "not ok 1 - the simulated host did not come up"; exit 1; }
unset BV_KVM_ALLOW BV_KVM_NEIGHBOUR
FAKE_SMOLVM_VERSION=1.9.3 BV_KVM_DEVICE="$T/kvm" BV_KVM_PACK="$T/agent.smolmachine" \
	BV_KVM_LOG_DIR="$T/kvm-log" BV_BUILD="$BV_BUILD" sh "$top/integration/kvm/gate.t"
rc=$?
[ $rc = 0 ] || { echo "# the lane's logs:"; for f in "$T"/kvm-log/*; do echo "# == $f"; tail -5 "$f" | sed 's/^/#   /'; done; }
exit $rc
