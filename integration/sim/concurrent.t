#!/bin/sh
# 32 concurrent `bottle-launch up --alias auto` against one host: 16 bottles get the 16
# aliases of the pool 127.0.0.16-31 (none twice), 16 fail with a clean exhaustion error,
# smolvm's DB passes PRAGMA integrity_check, and `down` of all 16 leaves nothing behind.
# The alias pool exists for TSI (0.8.x), where no denial can be proven (docs/trust.md), so
# verification is stubbed here (--verify true): this lane is about leases and the DB.
top=$(cd "$(dirname "$0")/../.." && pwd)
. "$top/integration/sim/lib.sh"
sim_enter "$@"
. "$top/integration/lib.sh"
plan 7
sim_host
export FAKE_SMOLVM_VERSION=0.8.0
POLICY="$top/fixtures/policies/sim-bottle.json"
i=1
while [ $i -le 32 ]; do
	"$BL" up "c$i" --alias auto --from "$T/agent.smolmachine" --control-port 8888 --policy "$POLICY" \
		--kvm-device "$T/kvm" --verify /bin/true >"$T/up.$i.out" 2>"$T/up.$i.err" &
	eval "pid_$i=\$!"
	i=$((i + 1))
done
good=0 exhausted=0 other=""
i=1
while [ $i -le 32 ]; do
	eval "wait \$pid_$i"
	rc=$?
	if [ $rc = 0 ]; then good=$((good + 1))
	elif [ $rc = 1 ] && grep -qi 'exhaust' "$T/up.$i.err"; then exhausted=$((exhausted + 1))
	else other="$other c$i:$rc"; fi
	i=$((i + 1))
done
if [ $good = 16 ]; then ok "16 of 32 concurrent ups succeeded"; else not_ok "16 succeeded" "good=$good exhausted=$exhausted other=$other" "$(cat "$T"/up.*.err | grep -v '^up ' | sort | uniq -c | sort -rn | head -5)"; fi
if [ $exhausted = 16 ]; then ok "16 failed with a clean exhaustion error (exit 1)"; else not_ok "16 exhausted" "exhausted=$exhausted other=$other"; fi
db="$HOME/.local/share/smolvm/server/smolvm.db"
aliases=$(sqlite3 "$db" "SELECT json_extract(CAST(data AS TEXT), '\$.allowed_cidrs[0]') FROM vms" | sort)
distinct=$(printf '%s\n' "$aliases" | sort -u | grep -c '^127\.0\.0\.\(1[6-9]\|2[0-9]\|3[01]\)/32$')
total=$(printf '%s\n' "$aliases" | grep -c .)
if [ "$distinct" = 16 ] && [ "$total" = 16 ]; then ok "16 rows, 16 distinct aliases from the pool: none handed out twice"; else not_ok "distinct aliases" "distinct=$distinct total=$total" "$aliases"; fi
leases=$(ls "$BOTTLE_LAUNCH_LEASE_DIR" | grep -c '\.lease$')
if [ "$leases" = 16 ]; then ok "16 leases held, one per running bottle"; else not_ok "leases" "$leases"; fi
ic=$(sqlite3 "$db" 'PRAGMA integrity_check')
if [ "$ic" = ok ]; then ok "smolvm's DB: PRAGMA integrity_check ok"; else not_ok "integrity_check" "$ic"; fi
i=1
fails=""
while [ $i -le 32 ]; do "$BL" down "c$i" >/dev/null 2>&1 || fails="$fails c$i"; i=$((i + 1)); done
if [ -z "$fails" ]; then ok "down of all 32 names exits 0 (the 16 that never started included)"; else not_ok "down" "$fails"; fi
rows=$(sim_rows) hold=$(sim_holders) l=$(ls "$BOTTLE_LAUNCH_LEASE_DIR" | grep -c '\.lease$')
if [ "$rows" = 0 ] && [ "$hold" = 0 ] && [ "$l" = 0 ]; then ok "nothing left: no row, lease or namespace"; else not_ok "left behind" "rows=$rows holders=$hold leases=$l"; fi
exit $((failed > 0))
