#!/bin/sh
# ci/check.sh - make check's stages, one after another, each logged whole to
# build/check/STAGE.log, then one screen: every stage with its result, counts and time,
# what was skipped and why, and for a failed stage the failing points with what they saw
# (integration/lib.sh's not_ok also writes them to $BV_FAIL_LOG). Exit 1 when any failed.
set -u
top=$(cd "$(dirname "$0")/.." && pwd)
MAKE=${MAKE:-make}
LOG="$top/${BUILD:-build}/check"
STAGES=${CHECK_STAGES:-"all unit fuzz-smoke prove-tests sanitize-unit valgrind-unit"}
rm -rf "$LOG" && mkdir -p "$LOG"
export BV_FAIL_LOG="$LOG/failures.txt"
: >"$BV_FAIL_LOG"
start=$(date +%s)
failed=""
for s in $STAGES; do
	t0=$(date +%s)
	echo "==> make check: $s (log: ${LOG#"$top"/}/$s.log)"
	if $MAKE -C "$top" --no-print-directory "$s" >"$LOG/$s.log" 2>&1; then r=pass; else r=FAIL; failed="$failed $s"; fi
	echo "$s $r $(($(date +%s) - t0))" >>"$LOG/stages"
done

# What a stage's log says it ran: prove's totals, or the fuzzers' runs.
counts() {
	f="$LOG/$1.log"
	t=$(grep -E '^Files=[0-9]+, Tests=[0-9]+' "$f" | tail -1 | sed 's/,  *[0-9]* wallclock.*//')
	[ -n "$t" ] && { echo "$t"; return; }
	n=$(grep -c '^fuzz .*: Done [0-9]* runs' "$f")
	[ "$n" -gt 0 ] && { echo "$n fuzzers, $(grep -o 'Done [0-9]* runs' "$f" | awk '{s += $2} END {print s}') runs"; return; }
	echo "-"
}
echo
echo "make check: $(($(date +%s) - start)) s"
printf '  %-14s %-5s %6s  %s\n' stage result time ran
while read -r s r secs; do
	printf '  %-14s %-5s %5ss  %s\n' "$s" "$r" "$secs" "$(counts "$s")"
done <"$LOG/stages"
skips=$(cat "$LOG"/*.log | grep -E '^[^ ]+\.t \.+ skipped: |^[^ ]+\.t \.+ ok.* skipped' | sed 's/ \.\.\.*//' | sort -u)
if [ -n "$skips" ]; then
	echo "  skipped (a lane that cannot run here, with why):"
	echo "$skips" | sed 's/^/    /' | cut -c1-160
fi
[ -z "$failed" ] && { echo "make check: every stage passed"; exit 0; }
echo "make check: FAILED:$failed"
for s in $failed; do
	echo "--- $s: the end of ${LOG#"$top"/}/$s.log"
	grep -vE '^(ok |== |fuzz )' "$LOG/$s.log" | tail -25
done
if [ -s "$BV_FAIL_LOG" ]; then
	echo "--- the failing points, with what they saw"
	head -c 6000 "$BV_FAIL_LOG"
fi
exit 1
