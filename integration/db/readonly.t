#!/bin/sh
# bottle-verify db never changes the DB: the DB file and every row are byte-identical after
# runs on a confined and a leaky row, and nothing is left in the WAL. (SQLite's WAL
# protocol lets a read-only connection create the -wal/-shm side files, as smolvm's own
# query_only readers do; they carry locks and an index, never data from us.)
. "$(dirname "$0")/../lib.sh"
plan 4

"$MKDB" "$T/db" good "$REC/confined.json" leaky "$REC/cidrs-null.json"
sum() { sha256sum "$T/db"; sqlite3 "$T/db" "SELECT name, hex(data), typeof(data) FROM vms ORDER BY name" | sha256sum; }
before=$(sum)
"$BV" db good --expect 192.0.2.10/32 --db "$T/db" --data-dir "$T/none" --smolvm-version 1.9.2 >/dev/null 2>&1
"$BV" db leaky --expect 192.0.2.10/32 --db "$T/db" --data-dir "$T/none" --smolvm-version 1.9.2 >/dev/null 2>&1
after=$(sum)
[ "$before" = "$after" ] && ok "DB files unchanged by two runs" || not_ok "DB files unchanged by two runs" "$before" "$after"

wal=$(stat -c %s "$T/db-wal" 2>/dev/null || echo 0)
[ "$wal" = 0 ] && ok "nothing written to the WAL" || not_ok "nothing written to the WAL" "size $wal"

chmod 0444 "$T/db"
"$BV" db good --expect 192.0.2.10/32 --db "$T/db" --data-dir "$T/none" --smolvm-version 1.9.2 >"$T/out" 2>&1
rc=$?
[ $rc = 0 ] && ok "reads a read-only DB file" || not_ok "reads a read-only DB file" "$(cat "$T/out")"
chmod 0644 "$T/db"
[ "$(sqlite3 "$T/db" "SELECT typeof(data) FROM vms WHERE name='leaky'")" = blob ] && ok "row type untouched" || not_ok "row type untouched"
