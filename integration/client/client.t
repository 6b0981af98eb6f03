#!/bin/sh
# A program in another language drives bottle-launch and bottle-verify the way bot-bottle
# would (integration/client/bottle_client.py, Python 3 standard library only): on a
# simulated smolvm 1.9.3 it launches a bottle, reads the JSON results, refuses a leaky one,
# resumes the same slug with the same subnet and address, runs the acceptance gate, and
# tears down. It fails when a check id the client relies on is gone.
top=$(cd "$(dirname "$0")/../.." && pwd)
. "$top/integration/sim/lib.sh"
sim_enter "$@"
. "$top/integration/lib.sh"
if ! command -v python3 >/dev/null; then
	echo "1..0 # SKIP python3 is not installed (make deps installs it)"; exit 0
fi
sim_host
export FAKE_SMOLVM_VERSION=1.9.3
BL="$BL" BV="$BV" PACK="$T/agent.smolmachine" KVM="$T/kvm" POLICY="$top/fixtures/policies/sim-bottle.json" \
	python3 "$top/integration/client/client_test.py"
