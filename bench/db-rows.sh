#!/bin/sh
# bench/db-rows.sh - make bench: `bottle-verify db` on state DBs of 1, 1,000 and 100,000
# machines, side by side with the sqlite3 | jq pipeline a user would write for the same
# question (is this machine's allowlist exactly X, and is no bypass channel set?). Mean
# wall time over RUNS runs each, and the peak RSS of one run (GNU time).
set -eu
. "$(dirname "$0")/lib.sh"
BV=$build/bottle-verify
for t in sqlite3 jq /usr/bin/time; do command -v "$t" >/dev/null || { echo "db bench: needs $t" >&2; exit 2; }; done
sed -e 's/@PID@/null/g' -e 's/@START@/null/g' "$top/fixtures/records/confined.json" | tr -d '\n' >"$tmp/rec"

mkdb() { # N -> $tmp/N.db with machines vm-1..vm-N (the real schema, WAL, BLOB rows)
	{
		cat "$top/fixtures/schema.sql"
		echo "PRAGMA journal_mode=WAL;"
		echo "WITH RECURSIVE c(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM c WHERE i < $1)"
		echo "INSERT INTO vms(name, data) SELECT 'vm-' || i, CAST(replace(readfile('$tmp/rec'), '@NAME@', 'vm-' || i) AS BLOB) FROM c;"
	} | sqlite3 -batch -bail "$tmp/$1.db" >/dev/null
}
ms_now() { echo $(($(date +%s%N) / 1000000)); }
verify() { "$BV" db "vm-$1" --expect 192.0.2.10/32 --db "$tmp/$1.db" --data-dir "$tmp" --smolvm-version 1.9.2 >/dev/null 2>&1; }
# What a user would write: the row by name, then jq on the allowlist and the bypass fields.
pipeline() {
	sqlite3 -readonly "$tmp/$1.db" "SELECT CAST(data AS TEXT) FROM vms WHERE name = 'vm-$1'" |
		jq -e '.allowed_cidrs == ["192.0.2.10/32"] and .ports == [] and .mounts == [] and
			.published_sockets == [] and .remote_volumes == [] and (.ssh_agent | not) and
			(.docker_socket | not) and (.cuda | not)' >/dev/null
}
rss() { /usr/bin/time -f %M sh -c "$2" 2>&1 >/dev/null | tail -1; }

echo "db bench: bottle-verify db vs sqlite3 | jq, mean of $RUNS runs each (this machine: $(nproc) cores)"
printf '%-9s %14s %14s %7s %12s %12s\n' rows "verify (us)" "pipeline (us)" ratio "verify KiB" "sqlite3 KiB"
for n in 1 1000 100000; do
	mkdb $n
	verify $n; rcv=$?
	pipeline $n; rcp=$?
	[ $rcv = 0 ] && [ $rcp = 0 ] || { echo "db bench: the runs disagree or fail (verify $rcv, pipeline $rcp)" >&2; exit 1; }
	v=$(mean_us verify $n) p=$(mean_us pipeline $n) # us: ms x1000 for 3 decimals
	vk=$(rss verify "'$BV' db vm-$n --expect 192.0.2.10/32 --db '$tmp/$n.db' --data-dir '$tmp' --smolvm-version 1.9.2")
	sk=$(rss pipeline "sqlite3 -readonly '$tmp/$n.db' \"SELECT CAST(data AS TEXT) FROM vms WHERE name = 'vm-$n'\"")
	printf '%-9s %14s %14s %7s %12s %12s\n' "$n" "$v" "$p" "$(echo "scale=2; $p / $v" | bc)" "$vk" "$sk"
done
