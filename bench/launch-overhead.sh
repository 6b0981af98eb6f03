#!/bin/sh
# bench/launch-overhead.sh - make bench: bottle-launch's own overhead (everything but
# smolvm) against one `smolvm --version`. `bottle-launch up --dry-run` runs preflight
# (bottle-verify preflight), reads the version, checks refusals and prints the plan; its
# smolvm calls (counted from the fake smolvm's argv log) are subtracted. smolvm here is
# fixtures/fake-smolvm unless BENCH_SMOLVM names a real one. No network, no machine.
set -eu
. "$(dirname "$0")/lib.sh"
BL=$build/bottle-launch
mkdir -p "$tmp/bin" "$tmp/home"
ln -s "${BENCH_SMOLVM:-$top/fixtures/fake-smolvm}" "$tmp/bin/smolvm"
echo pack >"$tmp/p.smolmachine"
export PATH="$tmp/bin:$PATH" HOME="$tmp/home" BOTTLE_LAUNCH_LEASE_DIR="$tmp/leases" \
	FAKE_SMOLVM_VERSION=${FAKE_SMOLVM_VERSION:-1.9.2} FAKE_SMOLVM_ARGV_LOG="$tmp/argv"
dry() { "$BL" up b1 --from "$tmp/p.smolmachine" --allow 192.0.2.10/32 --control-port 8888 --dry-run >/dev/null 2>"$tmp/err"; }
ver() { smolvm --version >/dev/null; }
dry || { echo "launch bench: bottle-launch up --dry-run failed: $(tail -3 "$tmp/err")" >&2; exit 1; }
calls=$(grep -c . "$tmp/argv")
d=$(mean_us dry) v=$(mean_us ver)
over=$((d - calls * v))
echo "launch bench: bottle-launch up --dry-run $d us with $calls smolvm calls; smolvm --version $v us"
echo "launch bench: the launcher's own overhead $over us = $(echo "scale=2; $over / $v" | bc) x one smolvm --version"
