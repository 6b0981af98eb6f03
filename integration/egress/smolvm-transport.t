#!/bin/sh
# The smolvm transport (machine cp + machine exec, sentinel exit code) against a fake
# smolvm that runs the probe in this test's guest namespace. smolvm's own failures (exit 1,
# exit 124, or exit 0 without the probe having run) must come out inconclusive, never ok.
# This fake keeps no VMM and no denial log: on a smolvm bottle only the gateway's record
# proves a denial, so every "refused" its guest reports stays unproven (docs/trust.md);
# what reached a sink is open all the same.
. "$(dirname "$0")/../lib.sh"
if [ "$(id -u)" != 0 ] || ! command -v nft >/dev/null || ! command -v ip >/dev/null; then
	if [ "${LANE_MUST_RUN:-${BOTTLE_VERIFY_MUST_RUN:-}}" = 1 ]; then plan 1; not_ok "root, ip and nft available (BOTTLE_VERIFY_MUST_RUN=1)"; exit 1; fi
	echo "1..0 # SKIP needs root with ip and nft (named network namespaces)"; exit 0
fi
plan 11
. "$(dirname "$0")/topology.sh"
export FAKE_SMOLVM_ROOT="$T/vms" FAKE_NETNS="$G"
# The guest's own resolver (ip netns exec bind-mounts /etc/netns/G/resolv.conf).
mkdir -p "/etc/netns/$G"
echo "nameserver 198.51.100.53" >"/etc/netns/$G/resolv.conf"
trap 'rm -rf "/etc/netns/$G"; cleanup' EXIT
verify() { # -> $T/out.json, $rc
	ip netns exec "$H" env FAKE_SMOLVM_MODE="${MODE:-}" FAKE_SMOLVM_ROOT="$FAKE_SMOLVM_ROOT" FAKE_NETNS="$G" \
		"$BV" --format json egress --policy "$top/fixtures/policies/${POLICY:-sim-egress.json}" \
		--machine bottle --smolvm "$top/fixtures/fake-smolvm-transport" >"$T/out.json" 2>"$T/err"
	rc=$?
}
is() { got=$(status_of "$T/out.json" "$2"); [ "$got" = "$3" ] && ok "$1" || not_ok "$1" "got $got" "$(cat "$T/err")"; }

confine
verify
is "confined bottle over smolvm exec: control OPEN" egress.control ok
is "confined bottle, no gateway record: the guest's refusals are unproven" egress.denied.public inconclusive
[ $rc = 2 ] && ok "no outside evidence of the denials: exit 2, never 0" || not_ok "no outside evidence of the denials: exit 2, never 0" "rc=$rc"
# The control was reached, so the probe ran from its per-run copy; --remove took both copies.
left=$(ls "$T/vms/bottle/tmp" 2>/dev/null | grep -c '^bottle-probe')
[ -d "$T/vms/bottle/tmp" ] && [ "$left" = 0 ] && ok "the probe ran from its machine cp copy and removed it and the plan (--remove)" ||
	not_ok "the probe ran from its machine cp copy and removed it and the plan (--remove)" "$(ls -la "$T/vms/bottle/tmp" 2>&1)"

open_all
verify
is "unconfined bottle over smolvm exec: public not ok" egress.denied.public not_ok

confine
for MODE in error timeout liar0; do
	verify
	if [ "$(status_of "$T/out.json" egress.denied.public)" = inconclusive ] && [ $rc = 2 ]; then
		ok "smolvm $MODE: inconclusive, exit 2"
	else
		not_ok "smolvm $MODE: inconclusive, exit 2" "rc=$rc $(status_of "$T/out.json" egress.denied.public)"
	fi
done
MODE=
grep -q 'probe did not complete' "$T/out.json" && ok "the YAML says the probe did not complete" || not_ok "the YAML says the probe did not complete"

POLICY=sim-egress-resolv.json
confine
verify
is "a nonce lookup through the guest's resolver that got no answer: unproven, not denied" egress.denied.guest-resolver-exfil inconclusive
confine "udp dport 53 accept"
verify
is "a nonce lookup through the guest's resolver, carve-out: not ok" egress.denied.guest-resolver-exfil not_ok
