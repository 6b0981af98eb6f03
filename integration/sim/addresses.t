#!/bin/sh
# One address per bottle (issue 16): explicit `--allow ADDR/32` and `--alias auto` launches
# run at once, beside a machine made by hand with no lease. Every address is handed out
# once: an explicit address (in the pool or not) takes its own lease, the pool skips what
# a lease or another machine's allowlist holds, and a refused launch exits 1 naming the
# machine that holds its address. As in concurrent.t, the emulated smolvm is 0.8.0 (where
# aliases are used) and verification is stubbed (--verify true): this lane is about leases.
top=$(cd "$(dirname "$0")/../.." && pwd)
. "$top/integration/sim/lib.sh"
sim_enter "$@"
. "$top/integration/lib.sh"
plan 14
sim_host
export FAKE_SMOLVM_VERSION=0.8.0
POLICY="$top/fixtures/policies/sim-bottle.json"
DB="$HOME/.local/share/smolvm/server/smolvm.db"
up() { # name out args...: bottle-launch up in the background (pid in $last)
	m=$1 out=$2; shift 2
	"$BL" up "$m" "$@" --from "$T/agent.smolmachine" --control-port 8888 --policy "$POLICY" \
		--kvm-device "$T/kvm" --verify /bin/true >"$T/$out.out" 2>"$T/$out.err" &
	last=$!
}
first() { sqlite3 "$DB" "SELECT json_extract(CAST(data AS TEXT), '\$.allowed_cidrs[0]') FROM vms WHERE name='$1'"; }
leases() { ls "$BOTTLE_LAUNCH_LEASE_DIR" 2>/dev/null | grep -c '\.lease$'; }

# A machine another tool made: 127.0.0.16 is in its allowlist, and no lease names it.
smolvm machine create hand --from "$T/agent.smolmachine" --net --allow-cidr 127.0.0.16/32 >/dev/null
"$BL" enforce hand --allow 127.0.0.16/32 >/dev/null 2>&1

# Eleven at once: six auto; two for 127.0.0.31, two for 192.0.2.10; one for hand's address.
pids=""
for m in a1 a2 a3 a4 a5 a6; do up "$m" "$m" --alias auto; pids="$pids $m:$last"; done
for m in e1 e2; do up "$m" "$m" --allow 127.0.0.31/32; pids="$pids $m:$last"; done
for m in n1 n2; do up "$m" "$m" --allow 192.0.2.10/32; pids="$pids $m:$last"; done
up h1 h1 --allow 127.0.0.16/32; pids="$pids h1:$last"
for mp in $pids; do
	wait "${mp#*:}"
	eval "rc_${mp%%:*}=\$?"
done
rc() { eval "echo \$rc_$1"; }

bad=""
for m in a1 a2 a3 a4 a5 a6; do [ "$(rc "$m")" = 0 ] || bad="$bad $m:$(rc "$m")"; done
autos=$(for m in a1 a2 a3 a4 a5 a6; do first "$m"; done | sort)
if [ -z "$bad" ] && ! printf '%s\n' "$autos" | grep -qx '127.0.0.16/32\|127.0.0.31/32'; then
	ok "six concurrent --alias auto launches succeed, none on hand's 127.0.0.16 (the lowest alias) or the explicit 127.0.0.31"
else not_ok "auto launches" "exits:$bad" "$autos" "$(cat "$T"/a?.err | grep -i 'failed' | head -3)"; fi

# winner_of A B ADDR: exactly one of A and B got ADDR; the other exited 1 naming it.
winner_of() {
	a=$1 b=$2 addr=$3
	if [ "$(rc "$a")" = 0 ]; then w=$a l=$b; else w=$b l=$a; fi
	if [ "$(rc "$w")" = 0 ] && [ "$(rc "$l")" = 1 ] && [ "$(first "$w")" = "$addr/32" ] && [ -z "$(first "$l")" ] &&
		grep -q "$addr is taken by machine $w (.*bottle-launch down $w" "$T/$l.err"; then
		ok "$addr: $w launched on it, $l refused (exit 1) naming $w"
	else not_ok "one launch on $addr" "$a exit $(rc "$a"), $b exit $(rc "$b"); rows: $a '$(first "$a")', $b '$(first "$b")'" \
		"$(grep FAILED "$T/$a.err" "$T/$b.err")"; fi
}
winner_of e1 e2 127.0.0.31
ewin=$w
winner_of n1 n2 192.0.2.10
nwin=$w
if [ "$(rc h1)" = 1 ] && [ -z "$(first h1)" ] &&
	grep -q '127.0.0.16 is taken by machine hand (its allowlist has 127.0.0.16/32): .*pick another address' "$T/h1.err"; then
	ok "127.0.0.16 (hand's allowlist, no lease): refused (exit 1) naming hand"
else not_ok "hand's address refused" "exit $(rc h1)" "$(tail -2 "$T/h1.err")"; fi

all=$(sqlite3 "$DB" "SELECT json_extract(CAST(data AS TEXT), '\$.allowed_cidrs[0]') FROM vms" | sort)
total=$(printf '%s\n' "$all" | grep -c .) distinct=$(printf '%s\n' "$all" | sort -u | grep -c .)
if [ "$total" = 9 ] && [ "$distinct" = 9 ]; then ok "9 machines (hand and 8 launched), 9 distinct allowlists: no address shared"
else not_ok "distinct allowlists" "total=$total distinct=$distinct" "$all"; fi
if [ "$(leases)" = 8 ] && [ -f "$BOTTLE_LAUNCH_LEASE_DIR/192.0.2.10.lease" ] && [ -f "$BOTTLE_LAUNCH_LEASE_DIR/127.0.0.31.lease" ]; then
	ok "8 leases, one per launched machine (the explicit addresses' included)"
else not_ok "leases" "$(ls "$BOTTLE_LAUNCH_LEASE_DIR")"; fi

# The same name again keeps its lease: create refuses it (the machine exists), the lease stays.
"$BL" up "$ewin" --allow 127.0.0.31/32 --from "$T/agent.smolmachine" --control-port 8888 --policy "$POLICY" \
	--kvm-device "$T/kvm" --verify /bin/true >"$T/again.out" 2>"$T/again.err"
arc=$?
if [ "$arc" != 0 ] && ! grep -q 'is taken by' "$T/again.err" && grep -q 'already exists' "$T/again.err" &&
	[ -f "$BOTTLE_LAUNCH_LEASE_DIR/127.0.0.31.lease" ] && [ "$(first "$ewin")" = 127.0.0.31/32 ]; then
	ok "up $ewin again: not refused for its own address; create refuses the existing machine and its lease stays"
else not_ok "re-launch of $ewin" "exit $arc" "$(tail -3 "$T/again.err")"; fi

# --dry-run decides the same way and writes nothing.
before=$(ls "$BOTTLE_LAUNCH_LEASE_DIR")
"$BL" up d1 --allow 192.0.2.10/32 --from "$T/agent.smolmachine" --control-port 8888 --policy "$POLICY" \
	--kvm-device "$T/kvm" --verify /bin/true --dry-run >"$T/d1.out" 2>"$T/d1.err"
d1=$?
"$BL" up d2 --alias auto --from "$T/agent.smolmachine" --control-port 8888 --policy "$POLICY" \
	--kvm-device "$T/kvm" --verify /bin/true --dry-run >"$T/d2.out" 2>"$T/d2.err"
d2=$?
if [ "$d1" = 1 ] && grep -q "192.0.2.10 is taken by machine $nwin" "$T/d1.err" && [ "$d2" = 0 ] &&
	grep -q 'allowlist \[127.0.0.23/32\] (alias 127.0.0.23, would be leased)' "$T/d2.out" && [ "$before" = "$(ls "$BOTTLE_LAUNCH_LEASE_DIR")" ]; then
	ok "--dry-run: refuses a held address, plans the next free alias (127.0.0.23), writes no lease"
else not_ok "--dry-run" "d1 exit $d1, d2 exit $d2" "$(tail -1 "$T/d1.err")" "$(grep allowlist "$T/d2.out")"; fi

# Fail closed: a row whose allowlist cannot be read refuses every launch, naming it.
sqlite3 "$DB" "INSERT INTO vms VALUES ('junk', CAST('{\"allowed_cidrs\":[\"not-a-cidr\"]}' AS BLOB))"
"$BL" up z1 --alias auto --from "$T/agent.smolmachine" --control-port 8888 --policy "$POLICY" \
	--kvm-device "$T/kvm" --verify /bin/true >"$T/z1.out" 2>"$T/z1.err"
zrc=$?
sqlite3 "$DB" "DELETE FROM vms WHERE name = 'junk'"
if [ "$zrc" = 1 ] && grep -q 'machine junk' "$T/z1.err" && [ -z "$(first z1)" ] && [ "$(leases)" = 8 ]; then
	ok "an unreadable row in smolvm's DB: up refuses (exit 1) naming it, takes no lease"
else not_ok "unreadable row" "exit $zrc, leases $(leases)" "$(tail -2 "$T/z1.err")"; fi

# down releases an explicit address's lease: the address is free again.
"$BL" down "$nwin" >/dev/null 2>&1
if [ ! -f "$BOTTLE_LAUNCH_LEASE_DIR/192.0.2.10.lease" ]; then ok "down $nwin releases 192.0.2.10's lease"
else not_ok "down releases" "$(cat "$BOTTLE_LAUNCH_LEASE_DIR/192.0.2.10.lease")"; fi
"$BL" up n3 --allow 192.0.2.10/32 --from "$T/agent.smolmachine" --control-port 8888 --policy "$POLICY" \
	--kvm-device "$T/kvm" --verify /bin/true >"$T/n3.out" 2>"$T/n3.err"
n3=$?
if [ "$n3" = 0 ] && [ "$(first n3)" = 192.0.2.10/32 ]; then ok "... and a new bottle gets it"
else not_ok "192.0.2.10 again" "exit $n3" "$(tail -2 "$T/n3.err")"; fi

fails=""
for m in a1 a2 a3 a4 a5 a6 e1 e2 n1 n2 n3 h1 hand; do "$BL" down "$m" >/dev/null 2>&1 || fails="$fails $m"; done
if [ -z "$fails" ]; then ok "down of every name exits 0"; else not_ok "down" "$fails"; fi
rows=$(sim_rows) hold=$(sim_holders) l=$(leases)
if [ "$rows" = 0 ] && [ "$hold" = 0 ] && [ "$l" = 0 ]; then ok "nothing left: no row, lease or namespace"; else not_ok "left behind" "rows=$rows holders=$hold leases=$l"; fi
ic=$(sqlite3 "$DB" 'PRAGMA integrity_check')
if [ "$ic" = ok ]; then ok "smolvm's DB: PRAGMA integrity_check ok"; else not_ok "integrity_check" "$ic"; fi
exit $((failed > 0))
