#!/bin/sh
# bottle-verify egress end to end on simulated bottles: two network namespaces made by
# this test (a "host" holding the sinks and a "guest" running bottle-probe) joined by a
# veth, with nftables in the guest as the confinement. Addresses are documentation
# ranges held by these namespaces only; nothing leaves them.
. "$(dirname "$0")/../lib.sh"
if [ "$(id -u)" != 0 ] || ! command -v nft >/dev/null || ! command -v ip >/dev/null; then
	if [ "${LANE_MUST_RUN:-${BOTTLE_VERIFY_MUST_RUN:-}}" = 1 ]; then plan 1; not_ok "root, ip and nft available (BOTTLE_VERIFY_MUST_RUN=1)"; exit 1; fi
	echo "1..0 # SKIP needs root with ip and nft (named network namespaces)"; exit 0
fi
plan 16
. "$(dirname "$0")/topology.sh"
verify() { # policy [probe] -> $T/out.json, $rc
	ip netns exec "$H" "$BV" --format json egress --policy "$top/fixtures/policies/$1" --netns "$G" \
		${2:+--probe "$2"} >"$T/out.json" 2>"$T/err"
	rc=$?
}
is() { got=$(status_of "$T/out.json" "$2"); [ "$got" = "$3" ] && ok "$1" || not_ok "$1" "got $got" "$(cat "$T/err")"; }
rc_is() { [ "$rc" = "$2" ] && ok "$1" || not_ok "$1" "rc=$rc"; }

confine
verify sim-egress.json
is "confined: the control is OPEN" egress.control ok
is "confined: public denied" egress.denied.public ok
is "confined: another host port denied" egress.denied.host-other-port ok
is "confined: direct DNS denied" egress.denied.dns-direct ok
rc_is "confined: exit 0" 0

open_all
verify sim-egress.json
is "unconfined: public not ok" egress.denied.public not_ok
is "unconfined: other host port not ok" egress.denied.host-other-port not_ok
is "unconfined: direct DNS not ok" egress.denied.dns-direct not_ok
rc_is "unconfined: exit 1" 1

confine "udp dport 53 accept"
verify sim-egress.json
is "DNS carve-out: not ok" egress.denied.dns-direct not_ok
verify sim-egress-accept-carveout.json
is "DNS carve-out accepted by the policy: TODO" egress.denied.dns-direct todo

# A guest that lies: it really connects (no confinement) but reports "refused".
open_all
printf '#!/bin/sh\n"%s" - | /bin/sed -e "s/ connected / refused /" -e "s/ replied / timeout /" -e "s/ answered \\(.*\\)rcode=[0-9]*/ refused \\1rcode=-/"\n' "$BV_BUILD/bottle-probe" >"$T/liar"
chmod +x "$T/liar"
verify sim-egress.json "$T/liar"
is "lying guest: the sink's nonce makes public OPEN (not ok)" egress.denied.public not_ok

# A truncated report: inconclusive, never a pass.
confine
printf '#!/bin/sh\n"%s" - | /usr/bin/head -n 3\n' "$BV_BUILD/bottle-probe" >"$T/trunc"
chmod +x "$T/trunc"
verify sim-egress.json "$T/trunc"
is "truncated report: public inconclusive" egress.denied.public inconclusive
rc_is "truncated report: exit 2" 2

# A dead network: the control cannot be reached, so nothing is judged.
ip -n "$G" link set "vg$$" down
verify sim-egress.json
is "dead network: control inconclusive" egress.control inconclusive
rc_is "dead network: exit 2" 2
