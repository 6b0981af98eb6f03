#!/bin/sh
# bottle-launch enforce: the fail-closed patch protocol (docs/launch.md, enforce) on DBs
# built from fixtures. Every refusal exits 1 and leaves the DB byte-identical.
. "$(dirname "$0")/../lib.sh"
plan 33

dir="$T/data"
mkdir -p "$dir"
row() { sqlite3 "$T/db" "SELECT CAST(data AS TEXT) FROM vms WHERE name='$1'"; }
rowtype() { sqlite3 "$T/db" "SELECT typeof(data) FROM vms WHERE name='$1'"; }
dbsum() { sqlite3 "$T/db" "SELECT name, hex(data), typeof(data) FROM vms ORDER BY name" | sha256sum; }
enforce() { "$BL" enforce "$@" --db "$T/db" --data-dir "$dir" >"$T/out" 2>&1; }
refused() { # desc name args...: exit 1, DB unchanged, message on stderr
	d=$1; shift
	b=$(dbsum)
	enforce "$@"
	rc=$?
	a=$(dbsum)
	if [ $rc = 1 ] && [ "$b" = "$a" ] && grep -q 'refused, nothing written' "$T/out"; then
		ok "refused: $d"
	else
		not_ok "refused: $d" "rc=$rc" "$(cat "$T/out")"
	fi
}
# The patched row equals the original with only allowed_cidrs replaced, byte for byte.
same_but_cidrs() {
	perl -MJSON::PP -e '
		my ($a, $b, $want) = @ARGV;
		my ($pa) = $a =~ /^(.*)"allowed_cidrs":/s; my ($pb) = $b =~ /^(.*)"allowed_cidrs":/s;
		my ($sa) = $a =~ /"allowed_cidrs":(?:null|\[[^\]]*\])(.*)$/s;
		my ($sb) = $b =~ /"allowed_cidrs":\[[^\]]*\](.*)$/s;
		exit 1 unless defined $pa && $pa eq $pb && defined $sa && $sa eq $sb;
		my $d = decode_json($b); exit 1 unless join(",", @{$d->{allowed_cidrs}}) eq $want;' "$@"
}

"$MKDB" "$T/db" m1 "$REC/cidrs-null.json" m2 "$REC/confined.json" m3 "$REC/cidrs-wider.json"

# 1. null -> patched; only allowed_cidrs changed; BLOB; re-read confirmed.
before=$(row m1)
check "enforce patches a null allowlist" enforce m1 --allow 192.0.2.10/32
after=$(row m1)
check "only allowed_cidrs changed, every other byte kept" same_but_cidrs "$before" "$after" "192.0.2.10/32"
[ "$(rowtype m1)" = blob ] && ok "patched row is a BLOB" || not_ok "patched row is a BLOB"
grep -q 're-read confirmed' "$T/out" && ok "enforce reports the re-read" || not_ok "enforce reports the re-read"
# 2. a wider prefix is narrowed.
before=$(row m3)
check "enforce narrows a wider prefix" enforce m3 --allow 192.0.2.10
check "narrowed row keeps every other byte" same_but_cidrs "$before" "$(row m3)" "192.0.2.10/32"
# 3. already matching: nothing written, bytes identical.
b=$(dbsum); bf=$(sha256sum "$T/db")
check "enforce on a matching row succeeds" enforce m2 --allow 192.0.2.10/32
[ "$b" = "$(dbsum)" ] && ok "matching row: bytes identical" || not_ok "matching row: bytes identical"
grep -q 'nothing written' "$T/out" && ok "matching row: says nothing written" || not_ok "matching row: says nothing written"
[ "$bf" = "$(sha256sum "$T/db")" ] && ok "matching row: DB file identical" || not_ok "matching row: DB file identical"

# 4. refusals.
refused "missing row" nosuch --allow 192.0.2.10/32
refused "host bits set" m1 --allow 192.0.2.10/28
"$MKDB" "$T/db" running "$REC/running.json" eph "$REC/ephemeral.json" gold "$REC/golden.json" \
	bogus "$REC/state-bogus.json" js "$REC/json-trailing.json"
"$MKDB" "$T/db" --text text "$REC/cidrs-null.json"
refused "state running" running --allow 192.0.2.11/32
refused "ephemeral machine" eph --allow 192.0.2.11/32
refused "fork base (golden)" gold --allow 192.0.2.11/32
refused "unknown state" bogus --allow 192.0.2.11/32
refused "row not strict JSON" js --allow 192.0.2.11/32
refused "row stored as TEXT" text --allow 192.0.2.11/32

# 5. a live VMM: the row's pid, or agent.pid in the data dir.
sleep 300 >/dev/null 2>&1 &
BG_PID=$!
FIXTURE_PID=$BG_PID FIXTURE_START=$(start_time $BG_PID) "$MKDB" "$T/db" live "$REC/stopped-live-vmm.json"
refused "row pid alive" live --allow 192.0.2.11/32
printf '%s\n%s\n' "$BG_PID" "$(start_time $BG_PID)" >"$dir/agent.pid"
refused "agent.pid alive" m2 --allow 192.0.2.11/32
rm -f "$dir/agent.pid"

# 6. vm.lock held by another process (a smolvm start under way).
# the holder says when it has the lock (probing by taking the lock would race with it)
flock -n "$dir/vm.lock" sh -c ': >"$1"; sleep 3' sh "$T/locked" >/dev/null 2>&1 &
wait_until test -e "$T/locked"
refused "vm.lock held" m2 --allow 192.0.2.11/32
wait $!

# 7. the patch does not take (something reverts it inside the commit).
sqlite3 "$T/db" "CREATE TRIGGER revert AFTER UPDATE ON vms BEGIN UPDATE vms SET data = OLD.data WHERE name = NEW.name; END;"
refused "patch did not take" m2 --allow 192.0.2.11/32
sqlite3 "$T/db" "DROP TRIGGER revert"

# 8. missing DB and missing data dir: refused, nothing created.
"$BL" enforce m1 --allow 192.0.2.10/32 --db "$T/nodb/smolvm.db" --data-dir "$dir" >"$T/out" 2>&1
rc=$?
[ $rc = 1 ] && [ ! -e "$T/nodb" ] && ok "refused: missing DB, nothing created" || not_ok "refused: missing DB, nothing created" "rc=$rc"
"$BL" enforce m1 --allow 192.0.2.10/32 --db "$T/db" --data-dir "$T/nodir" >"$T/out" 2>&1
rc=$?
[ $rc = 1 ] && [ ! -e "$T/nodir" ] && ok "refused: missing data dir" || not_ok "refused: missing data dir" "rc=$rc"

# 8b. smolvm < 1.0.0 makes a machine's data dir only at start (docs/launch.md): enforce
# makes it for a freshly created row, owned like the DB, and only then; a newer smolvm
# (or an unknown one) keeps the refusal, and so does a row that is not `created`.
printf '#!/bin/sh\necho "smolvm ${SV_VERSION:-0.8.0}"\n' >"$T/sv" && chmod +x "$T/sv"
sed 's/"state":"created"/"state":"stopped"/' "$REC/cidrs-null.json" >"$T/stopped.json"
"$MKDB" "$T/db" fresh "$REC/cidrs-null.json" old "$T/stopped.json"
newdir="$T/cache/smolvm/vms/0123abcd"
SV_VERSION=0.8.0 "$BL" enforce fresh --allow 192.0.2.10/32 --smolvm "$T/sv" --db "$T/db" --data-dir "$newdir" >"$T/out" 2>&1
rc=$?
[ $rc = 0 ] && [ -d "$newdir" ] && [ -e "$newdir/vm.lock" ] && ok "0.8.0: enforce makes the missing data dir of a created row, then patches" \
	|| not_ok "0.8.0: enforce makes the missing data dir of a created row, then patches" "rc=$rc" "$(cat "$T/out")"
[ "$(stat -c %u "$newdir")" = "$(stat -c %u "$T/db")" ] && [ ! -e "$newdir/name" ] && ok "0.8.0: the made dir is the DB owner's, with no name file (smolvm writes it)" \
	|| not_ok "0.8.0: the made dir is the DB owner's, with no name file" "$(ls -ln "$newdir")"
rm -rf "$T/cache"
SV_VERSION=1.9.3 "$BL" enforce fresh --allow 192.0.2.10/32 --smolvm "$T/sv" --db "$T/db" --data-dir "$newdir" >"$T/out" 2>&1
rc=$?
[ $rc = 1 ] && [ ! -e "$T/cache" ] && ok "1.9.3: a missing data dir is still refused, nothing made" || not_ok "1.9.3: a missing data dir is still refused, nothing made" "rc=$rc" "$(cat "$T/out")"
"$BL" enforce fresh --allow 192.0.2.10/32 --smolvm "$T/nosuch" --db "$T/db" --data-dir "$newdir" >"$T/out" 2>&1
rc=$?
[ $rc = 1 ] && [ ! -e "$T/cache" ] && ok "unknown smolvm: a missing data dir is still refused" || not_ok "unknown smolvm: a missing data dir is still refused" "rc=$rc" "$(cat "$T/out")"
SV_VERSION=0.8.0 "$BL" enforce old --allow 192.0.2.10/32 --smolvm "$T/sv" --db "$T/db" --data-dir "$newdir" >"$T/out" 2>&1
rc=$?
[ $rc = 1 ] && [ ! -e "$T/cache" ] && ok "0.8.0: a stopped row's missing data dir is refused, nothing made" || not_ok "0.8.0: a stopped row's missing data dir is refused, nothing made" "rc=$rc" "$(cat "$T/out")"

# 9. another connection holds the write lock: db reads meanwhile; enforce waits, then succeeds.
# Each writer marks the moment it holds the lock. The first holds it until released (at most
# 30 s), so the read is inside the transaction however slow the run (valgrind).
sqlite3 "$T/db" "BEGIN IMMEDIATE; UPDATE config SET value = value WHERE key = 'version';" \
	".shell touch '$T/writing'" \
	".shell i=0; while [ ! -e '$T/release' ] && [ \$i -lt 600 ]; do sleep 0.05; i=\$((i + 1)); done" \
	"COMMIT;" >/dev/null 2>&1 &
writer=$!
wait_until test -e "$T/writing"
"$BV" db m1 --expect 192.0.2.10/32 --db "$T/db" --data-dir "$dir" --smolvm-version 1.9.2 >"$T/read.out" 2>&1
rrc=$?
# only a read that ended while the writer still held its transaction proves the point
if [ $rrc = 0 ] && [ -e "$T/writing" ] && kill -0 $writer 2>/dev/null; then ok "bottle-verify db reads during a write transaction"
else not_ok "bottle-verify db reads during a write transaction" "exit $rrc, writer holding: $([ -e "$T/writing" ] && kill -0 $writer 2>/dev/null && echo yes || echo no)" "$(tail -3 "$T/read.out")"; fi
touch "$T/release"
wait $writer
rm -f "$T/writing"
sqlite3 "$T/db" "BEGIN IMMEDIATE; UPDATE config SET value = value WHERE key = 'version';" \
	".shell touch '$T/writing'" ".shell sleep 2" "COMMIT;" >/dev/null 2>&1 &
writer=$!
wait_until test -e "$T/writing"
start=$(date +%s%N)
check "enforce waits for a 2 s writer and succeeds" enforce m2 --allow 192.0.2.12/32
waited=$(( ($(date +%s%N) - start) / 1000000 ))
wait $writer
[ $waited -ge 1000 ] && ok "enforce really waited ($waited ms)" || not_ok "enforce really waited" "$waited ms: the writer did not hold the lock"
check "the write after the wait took" sh -c "sqlite3 '$T/db' \"SELECT CAST(data AS TEXT) FROM vms WHERE name='m2'\" | grep -q '\"allowed_cidrs\":\[\"192.0.2.12/32\"\]'"
