#!/bin/sh
# ci/valgrind.sh - make valgrind: the unit tests, then the db, launch, verify and sim lanes
# (their must-fail fixtures included) with bottle-verify and bottle-launch run under
# `valgrind --error-exitcode=99 --leak-check=full`. Any valgrind error fails the run: 99
# is no exit status our programs use, so the lanes' own exit checks catch it.
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
B=${BV_BUILD:-$top/build}
VG="$(command -v valgrind) -q --error-exitcode=99 --leak-check=full --errors-for-leak-kinds=definite,indirect"
W="$B/valgrind-wrap"
mkdir -p "$W"
for p in bottle-verify bottle-launch; do
	printf '#!/bin/sh\nexec %s "%s" "$@"\n' "$VG" "$B/$p" >"$W/$p"
	chmod +x "$W/$p"
done
ln -sf "$B/bottle-probe" "$W/bottle-probe"
echo "valgrind: unit tests"
fail=0
for t in "$B"/tests/test_*; do
	# criterion's workers are forked: valgrind follows them
	$VG "$t" --jobs 1 >"$W/unit.out" 2>&1 || { echo "valgrind: $t failed"; tail -20 "$W/unit.out"; fail=1; }
done
# VALGRIND_LANES=0 (make valgrind-unit, in make check): the unit tests only. The lanes run
# one at a time: two at once under valgrind on 2 cores pushed a gate point past its timing
# (integration/sim/gate.t point 16, once in CI, not alone).
[ "${VALGRIND_LANES:-1}" = 0 ] && exit $fail
echo "valgrind: lanes"
# The sim lanes that run bottle-verify and bottle-launch themselves (the conformance lane
# checks the fake, concurrent.t, addresses.t, liars.t and kvm-lane.t repeat what these cover
# many times).
BV_BUILD="$W" prove -j"${VALGRIND_PROVE_JOBS:-1}" -r "$top/integration/db" "$top/integration/launch" "$top/integration/verify" \
	"$top/integration/sim/fake.t" "$top/integration/sim/launch.t" "$top/integration/sim/gate.t" || fail=1
exit $fail
