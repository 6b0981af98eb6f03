#!/bin/sh
# prove itself reads bottle-verify's TAP: a passing run passes, a failing run fails with
# exactly the failed points counted, and neither has a parse error.
. "$(dirname "$0")/../lib.sh"
plan 7

"$MKDB" "$T/db" good "$REC/confined.json" leaky "$REC/cidrs-wider.json"
for m in good leaky; do
	cat >"$T/$m.t" <<SCRIPT
#!/bin/sh
exec "$BV" db $m --expect 192.0.2.10/32 --db "$T/db" --data-dir "$T" --smolvm-version 1.9.2
SCRIPT
	chmod +x "$T/$m.t"
done

prove -v "$T/good.t" >"$T/good.out" 2>&1
rc=$?
[ $rc = 0 ] && ok "prove passes the confined run" || not_ok "prove passes the confined run" "$(tail -5 "$T/good.out")"
grep -q '^Result: PASS' "$T/good.out" && ok "prove says PASS" || not_ok "prove says PASS"

planned=$("$T/good.t" | sed -n 's/^1\.\.\([0-9]*\).*/\1/p')
prove -v "$T/leaky.t" >"$T/leaky.out" 2>&1
rc=$?
[ $rc != 0 ] && ok "prove fails the leaky run" || not_ok "prove fails the leaky run"
grep -q "Failed 1/$planned subtests" "$T/leaky.out" && ok "prove counts exactly 1 of $planned failed" \
	|| not_ok "prove counts exactly 1 of $planned failed" "$(grep -i failed "$T/leaky.out")"
grep -q 'Wstat: 256' "$T/leaky.out" && ok "prove sees exit status 1" || not_ok "prove sees exit status 1"
if grep -qiE 'parse error|badly formed|unknown TAP token' "$T/good.out" "$T/leaky.out"; then
	not_ok "no TAP parse errors" "$(grep -iE 'parse|badly' "$T/good.out" "$T/leaky.out")"
else
	ok "no TAP parse errors"
fi
# The YAML of the failing point survives the harness: prove -v echoes it intact.
grep -q "remediation: '" "$T/leaky.out" && ok "failing point carries its YAML remediation" \
	|| not_ok "failing point carries its YAML remediation"
