#!/bin/sh
# ci/schema-lanes.sh - make schema-lanes: the lanes that print JSON, with bottle-verify and
# bottle-launch replaced by wrappers (integration/client/schema-wrap.sh) that hold every
# --format json output to docs/report.schema.json: a report document, each line of a watch
# stream, bottle-launch's result; and its exit_code to the exit status. A violation exits
# 97 (no status our programs use, so the lane's own exit checks catch it) and is logged;
# any logged violation fails this run even where a lane ignored the exit status, and so
# does a command no lane ran with --format json (each must be seen validated).
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
B=${BV_BUILD:-$top/build}
W="$B/schema-wrap"
"$top/integration/client/schema-wrap.sh" "$W" "$B"
export BV_SCHEMA_LOG="$W/runs.log"
: >"$BV_SCHEMA_LOG"
# Every lane with a --format json run (grep -l -- '--format json' integration/*/*.t), the
# validator's own test first.
JSON_LANES="integration/client integration/db integration/verify integration/egress/egress.t
integration/egress/smolvm-transport.t integration/sim/fake.t integration/sim/gate.t integration/sim/launch.t
integration/sim/liars.t integration/sim/watch.t integration/sim/schema.t integration/qemu/egress.t integration/kvm/gate.t"
LANES=${SCHEMA_LANES:-$JSON_LANES}
fail=0
cd "$top"
# shellcheck disable=SC2086
BV_BUILD="$W" prove -j"${SCHEMA_PROVE_JOBS:-2}" -r $LANES || fail=1
echo "schema-lanes: $(grep -c '^ok ' "$BV_SCHEMA_LOG") JSON outputs valid:"
grep '^ok ' "$BV_SCHEMA_LOG" | awk '{print "  " $2 " " $3}' | sort | uniq -c
if grep -q '^FAIL ' "$BV_SCHEMA_LOG"; then
	echo "schema-lanes: $(grep -c '^FAIL ' "$BV_SCHEMA_LOG") JSON outputs do not validate against docs/report.schema.json (all in $BV_SCHEMA_LOG):"
	grep '^FAIL ' "$BV_SCHEMA_LOG" | head -20 | cut -c1-400
	fail=1
fi
for c in preflight db all egress gate watch usage; do
	grep -q "^ok bottle-verify $c " "$BV_SCHEMA_LOG" ||
		{ echo "schema-lanes: no lane ran bottle-verify --format json $c here"; fail=1; }
done
exit $fail
