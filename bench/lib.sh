# bench/lib.sh - what every bench script starts with, sourced (never run): the tree
# ($top), the build ($build), RUNS, a scratch dir ($tmp) removed on exit, and the mean
# wall time of a command over RUNS runs. Speed goals live here, not in unit tests.
top=$(cd "$(dirname "$0")/.." && pwd)
build=${BV_BUILD:-$top/build}
RUNS=${RUNS:-30}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# mean_us CMD [ARG...]: mean microseconds of one run of CMD ARG... over RUNS runs (a
# failing run counts: the caller checks success once before timing).
mean_us() {
	_s=$(date +%s%N) _i=0
	while [ $_i -lt "$RUNS" ]; do "$@" || true; _i=$((_i + 1)); done
	echo $((($(date +%s%N) - _s) / RUNS / 1000))
}

# mean_us_apart GAP CMD...: as mean_us, but the runs GAP seconds apart, the pause not timed
# (a run whose early end left its probe in the guest: that probe's flows are gone by then).
mean_us_apart() {
	_g=$1 _t=0 _i=0
	shift
	while [ $_i -lt "$RUNS" ]; do
		_s=$(date +%s%N)
		"$@" || true
		_t=$((_t + $(date +%s%N) - _s)) _i=$((_i + 1))
		sleep "$_g"
	done
	echo $((_t / RUNS / 1000))
}
