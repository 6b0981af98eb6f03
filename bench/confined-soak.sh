#!/bin/sh
# bench/confined-soak.sh - make soak: `bottle-verify all` SOAK_RUNS times (default 20) on one
# simulated confined smolvm bottle per version in VERSIONS (default 1.9.3), counting the
# runs that end as they must: the control seen and no finding, with exit 0 on 1.9.3 (the
# denial record proves every denial) and exit 2 on 0.8.0 (TSI keeps no record, so its
# denials stay unproven: docs/trust.md). Anything else is a flake and fails the soak,
# with the run's not-ok lines. Runs inside the sim lane's private namespaces.
top=$(cd "$(dirname "$0")/.." && pwd)
. "$top/bench/sim.sh"
RUNS=${SOAK_RUNS:-20}
bad=0
for ver in ${VERSIONS:-1.9.3}; do
	export FAKE_SMOLVM_VERSION=$ver
	case $ver in
	0.*) # 0.8.0: NAME is positional, and --from drops --allow-cidr (docs/sim.md): enforce it
		allow=127.0.0.16 want=2
		smolvm machine create soak --from "$T/agent.smolmachine" --net --allow-cidr "$allow/32" >/dev/null &&
			"$build/bottle-launch" enforce soak --allow "$allow/32" >/dev/null ;;
	*) allow=192.0.2.10 want=0
		smolvm machine create --name soak --from "$T/agent.smolmachine" --net --allow-cidr "$allow/32" >/dev/null ;;
	esac || { echo "confined-soak: smolvm $ver: the machine could not be created" >&2; exit 2; }
	smolvm machine start --name soak >/dev/null 2>&1 || { echo "confined-soak: smolvm $ver: start failed" >&2; exit 2; }
	wait_until smolvm machine exec --name soak -- true >/dev/null 2>&1
	good=0 i=0 s=$(date +%s%N)
	while [ $i -lt "$RUNS" ]; do
		"$BV" all soak --expect "$allow/32" --policy "$top/fixtures/policies/sim-bottle.json" \
			--allow-dest "tcp:$allow:8888" --kvm-device "$T/kvm" >"$T/out" 2>&1
		rc=$?
		if [ $rc = "$want" ] && grep -q '^ok [0-9]* - egress.control ' "$T/out" &&
			! grep -q "status: 'not_ok'" "$T/out"; then
			good=$((good + 1))
		else
			echo "# $ver run $((i + 1)): exit $rc, expected $want"; grep '^not ok' "$T/out" | sed 's/^/#   /'
		fi
		i=$((i + 1))
	done
	ms=$((($(date +%s%N) - s) / 1000000 / RUNS))
	echo "confined soak, smolvm $ver: $good of $RUNS runs exit $want (mean $ms ms a run)"
	[ "$good" = "$RUNS" ] || bad=1
	smolvm machine stop --name soak >/dev/null 2>&1
	smolvm machine rm soak -f >/dev/null 2>&1
done
exit $bad
