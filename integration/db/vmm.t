#!/bin/sh
# The VMM behind a row, with a real live process standing in for smolvm's _boot-vm:
# running + live pid ok; stopped + live pid not ok; pid reused (other start time) ok for a
# stopped row; agent.config.json equal to the row ok, differing not ok, missing inconclusive.
. "$(dirname "$0")/../lib.sh"
plan 9

sleep 300 >/dev/null 2>&1 &
BG_PID=$!
FIXTURE_PID=$BG_PID
FIXTURE_START=$(start_time "$BG_PID")
export FIXTURE_PID FIXTURE_START
mkdir -p "$T/dir"

verify() { # name -> $T/out.json, exit status in $rc
	"$BV" --format json db "$1" --expect 192.0.2.10/32 --db "$T/db" --data-dir "$T/dir" \
		--smolvm-version 1.9.2 >"$T/out.json" 2>/dev/null
	rc=$?
}
expect_status() { # desc id status
	got=$(status_of "$T/out.json" "$2")
	[ "$got" = "$3" ] && ok "$1" || not_ok "$1" "got $got"
}

"$MKDB" "$T/db" up "$REC/running.json" down "$REC/stopped-live-vmm.json"
printf '{"version":1,"mounts":[],"ports":[],"resources":{"cpus":1,"memory_mib":512,"network":true,"allowed_cidrs":["192.0.2.10/32"]},"forkable":false}' >"$T/dir/agent.config.json"
verify up
expect_status "running row, live VMM: db.vmm.consistent ok" db.vmm.consistent ok
expect_status "launch config equal to the row: db.agent_config.match ok" db.agent_config.match ok

printf '{"version":1,"mounts":[],"ports":[],"resources":{"cpus":1,"memory_mib":512,"network":true,"allowed_cidrs":null}}' >"$T/dir/agent.config.json"
verify up
expect_status "VM launched without the row's allowlist: db.agent_config.match not ok" db.agent_config.match not_ok

printf '{"version":1,"mounts":[{"host":"/home/u","guest":"/w","ro":false}],"ports":[[8080,80]],"resources":{"cpus":1,"memory_mib":512,"network":true,"allowed_cidrs":["192.0.2.10/32"],"cuda":true,"network_name":"fabric"}}' >"$T/dir/agent.config.json"
verify up
expect_status "VM launched with mounts, ports, CUDA and a fabric the row lacks: not ok" db.agent_config.match not_ok

rm "$T/dir/agent.config.json"
verify up
expect_status "running without agent.config.json: inconclusive" db.agent_config.match inconclusive

verify down
expect_status "stopped row with a live VMM: db.vmm.consistent not ok" db.vmm.consistent not_ok

FIXTURE_START=12345 "$MKDB" "$T/db2" down "$REC/stopped-live-vmm.json"
"$BV" --format json db down --expect 192.0.2.10/32 --db "$T/db2" --data-dir "$T/dir" \
	--smolvm-version 1.9.2 >"$T/out.json" 2>/dev/null
expect_status "stopped row, pid reused by another process: ok" db.vmm.consistent ok

# agent.pid in the data dir names the live VMM while the row says created (pid null).
"$MKDB" "$T/db3" quiet "$REC/confined.json"
printf '%s\n%s\n' "$BG_PID" "$FIXTURE_START" >"$T/dir/agent.pid"
"$BV" --format json db quiet --expect 192.0.2.10/32 --db "$T/db3" --data-dir "$T/dir" \
	--smolvm-version 1.9.2 >"$T/out.json" 2>/dev/null
expect_status "agent.pid names a live VMM the row does not know: not ok" db.vmm.consistent not_ok
rm -f "$T/dir/agent.pid"

# A stopped row whose pid is alive but has no start time to tell: inconclusive.
FIXTURE_START=null "$MKDB" "$T/db4" down "$REC/stopped-live-vmm.json"
"$BV" --format json db down --expect 192.0.2.10/32 --db "$T/db4" --data-dir "$T/dir" \
	--smolvm-version 1.9.2 >"$T/out.json" 2>/dev/null
expect_status "stopped row, live pid, no start time: inconclusive" db.vmm.consistent inconclusive
