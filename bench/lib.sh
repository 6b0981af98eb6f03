# bench/lib.sh - what every bench script starts with, sourced (never run): the tree
# ($top), the build ($build), RUNS, a scratch dir ($tmp) removed on exit, and the mean
# wall time of a command over RUNS runs. Speed goals live here, not in unit tests.
top=$(cd "$(dirname "$0")/.." && pwd)
build=${BV_BUILD:-$top/build}
RUNS=${RUNS:-30}
. "$top/integration/path.sh"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# mean_us CMD [ARG...]: mean microseconds of one run of CMD ARG... over RUNS runs (a
# failing run counts: the caller checks success once before timing).
mean_us() {
	_s=$(date +%s%N) _i=0
	while [ $_i -lt "$RUNS" ]; do "$@" || true; _i=$((_i + 1)); done
	echo $((($(date +%s%N) - _s) / RUNS / 1000))
}

