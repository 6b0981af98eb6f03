# bench/sim.sh - what a bench script on a simulated bottle starts with, sourced after it set
# $top: the sim lane's private namespaces (no traffic leaves them), bench/lib.sh, the
# simulated host with the fake smolvm on PATH ($T its scratch dir), torn down on exit.
. "$top/integration/sim/lib.sh"
SIM_REQUIRED=1 sim_enter "$@"
. "$top/bench/lib.sh"
BV=$build/bottle-verify
T=$tmp
sim_host >/dev/null 2>&1 || { echo "$(basename "$0"): the simulated host did not come up" >&2; exit 2; }
trap sim_cleanup EXIT
