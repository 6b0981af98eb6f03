#!/bin/sh
# bottle-launch up/down on simulated bottles: a full up -> verify -> down cycle per
# emulated smolvm version (0.8.0: enforce repairs the dropped allowlist), refusals before
# anything is created, and failures (a leaky bottle, the stale stop) torn down completely:
# no machine, no lease, no namespace left. No secret reaches smolvm's argv.
top=$(cd "$(dirname "$0")/../.." && pwd)
. "$top/integration/sim/lib.sh"
sim_enter "$@"
. "$top/integration/lib.sh"
plan 38
sim_host
POLICY="$top/fixtures/policies/sim-bottle.json"
up() { # name args...: bottle-launch up; $T/up.out (stdout), $T/up.err; exit in $urc
	"$BL" up "$@" --from "$T/agent.smolmachine" --control-port 8888 --policy "$POLICY" \
		--kvm-device "$T/kvm" >"$T/up.out" 2>"$T/up.err"
	urc=$?
}
leases() { ls "$BOTTLE_LAUNCH_LEASE_DIR" 2>/dev/null | grep -c '\.lease$'; }
clean() { # desc: no row, no lease, no namespace holder, no uplink
	# a killed holder may take a moment to be reaped: wait up to 3 s for the state to settle
	for _ in 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15; do
		rows=$(sim_rows) l=$(leases) hold=$(sim_holders) up_links=$(ip -o link show | grep -c bvu)
		guards=$(pgrep -c -x dnsmasq || true)
		[ "$rows$l$hold$up_links$guards" = 00000 ] && break
		sleep 0.2
	done
	if [ "$rows$l$hold$up_links$guards" = 00000 ]; then ok "$1"
	else not_ok "$1" "rows=$rows leases=$l holders=$hold uplinks=$up_links dns guards=$guards" "$(tail -5 "$T/up.err")"; fi
}
cidrs() { sqlite3 "$HOME/.local/share/smolvm/server/smolvm.db" "SELECT json_extract(CAST(data AS TEXT), '\$.allowed_cidrs') FROM vms WHERE name='$1'"; }

# --- 0.8.0: alias from the pool, --from drops the allowlist, enforce repairs it ----------
export FAKE_SMOLVM_VERSION=0.8.0 FAKE_SMOLVM_ARGV_LOG="$T/argv.log" BOT_BOTTLE_CANARY=canary-9d1f0c2e
up b1 --alias auto
# TSI keeps no record of what it refused: no denial can be proven, so up hands nothing over.
if [ "$urc" = 2 ] && ! grep -q ': ready:' "$T/up.out"; then ok "0.8.0: up hands nothing over (exit 2): TSI proves no denial"; else not_ok "0.8.0 up refuses" "exit $urc" "$(tail -8 "$T/up.err")"; fi
if grep -q '^ok .* egress.control' "$T/up.out" && grep -q '^not ok .* egress.denied.public' "$T/up.out" && ! grep '^not ok' "$T/up.out" | grep -v '# TODO' | grep -qv 'egress\.\|db.network_backend'; then ok "0.8.0: the verifier's TAP reaches stdout: control seen, denials unproven, nothing else wrong"; else not_ok "0.8.0 TAP" "$(grep -E '^not ok' "$T/up.out" | head -4 | tr '\n' ' ')"; fi
if grep -A8 'dns-carveout.*# TODO' "$T/up.out" | grep -q "remediation: 'close the DNS carve-out with a DNS guard: .*smolvm >= 1.2.5"; then ok "0.8.0: the DNS carve-out stays a TODO whose remediation is a DNS guard on smolvm >= 1.2.5"; else not_ok "0.8.0 carve-out remediation" "$(grep -A8 'dns-carveout' "$T/up.out" | grep remediation)"; fi
if grep -q '^ok .* db.allowed_cidrs.exact allowed_cidrs is exactly \[127.0.0.16/32\]' "$T/up.out"; then ok "0.8.0: the lowest alias, 127.0.0.16/32, was the row's allowlist when verified"; else not_ok "0.8.0 alias" "$(grep allowed_cidrs "$T/up.out")"; fi
if grep -q 'smolvm machine create b1 --from' "$T/argv.log"; then ok "0.8.0: create takes the name positionally"; else not_ok "0.8.0 argv" "$(cat "$T/argv.log")"; fi
if grep -qi 'null' "$T/up.err" && grep -qi 'enforce' "$T/up.err"; then ok "0.8.0: enforce repaired the dropped allowlist (said on stderr)"; else not_ok "0.8.0 enforce" "$(grep -i enforce "$T/up.err")"; fi
"$BL" down b1 >"$T/down.out" 2>&1
drc=$?
if [ "$drc" = 0 ]; then ok "down b1 exits 0"; else not_ok "down b1" "exit $drc" "$(cat "$T/down.out")"; fi
clean "down left no machine, lease or namespace"
"$BL" down b1 >"$T/down.out" 2>&1
if [ $? = 0 ]; then ok "down is idempotent"; else not_ok "down twice" "$(cat "$T/down.out")"; fi

# --- 1.9.3: an explicit /32 on the bundle's address; --name flags; no repair needed -----
export FAKE_SMOLVM_VERSION=1.9.3
up b2 --allow 192.0.2.10/32
if [ "$urc" = 0 ]; then ok "1.9.3: up exits 0"; else not_ok "1.9.3 up" "exit $urc" "$(tail -8 "$T/up.err")"; fi
if grep -q 'smolvm machine create --name b2 --from' "$T/argv.log"; then ok "1.9.3: create takes --name"; else not_ok "1.9.3 argv" "$(tail -3 "$T/argv.log")"; fi
# The DNS guard (>= 1.2.5): the gateway's upstream is the bottle's own dnsmasq.
gaddr=$(sed -n 's/.*DNS guard answering at \([0-9.]*\):53.*/\1/p' "$T/up.err")
glog=$(sed -n "s/^  dns      guard .* record \\(.*\\))\$/\\1/p" "$T/up.err" | head -1)
if grep -q '^ok .* egress.denied.dns-carveout' "$T/up.out" && ! grep -q 'dns-carveout.*# TODO' "$T/up.out" &&
	grep -q '^ok .* db.dns.guard' "$T/up.out" && grep -q "machine create --name b2 .* --dns $gaddr\$" "$T/argv.log" &&
	case $gaddr in 127.83.*.53) true ;; *) false ;; esac; then
	ok "1.9.3: the DNS guard closes the carve-out: dns-carveout ok (no TODO), the row's dns is the guard ($gaddr)"
else not_ok "1.9.3: the DNS guard closes the carve-out" "guard '$gaddr'" "$(grep -E 'carveout|dns.guard' "$T/up.out")"; fi
# A fresh name, asked by the guest of an arbitrary address, reaches the guard and no other
# resolver (a recorder stands where smolvm's default upstream would be).
perl -MSocket -e 'socket(my $s, AF_INET, SOCK_DGRAM, 0) or die; bind($s, sockaddr_in(53, inet_aton("198.51.100.53"))) or die;
	open(my $o, ">>", $ARGV[0]) or die; $| = 1; while (recv($s, my $m, 512, 0)) { syswrite($o, "got\n") }' "$T/upstream.log" &
rec_pid=$!
fresh="fresh-$$-$(date +%s).example.test"
smolvm machine exec --name b2 -- perl -MSocket -e 'my $q = pack("n6", 4242, 0x100, 1, 0, 0, 0)
	. join("", map { chr(length) . $_ } split /\./, $ARGV[0]) . "\0" . pack("n2", 1, 1);
	socket(my $s, AF_INET, SOCK_DGRAM, 0) or die; send($s, $q, 0, sockaddr_in(53, inet_aton("198.51.100.1")));
	vec(my $r = "", fileno($s), 1) = 1; select($r, undef, undef, 2)' "$fresh" >/dev/null 2>&1
sleep 0.3
kill "$rec_pid" 2>/dev/null
if grep -q "query\[A\] $fresh from " "$glog" 2>/dev/null && [ ! -s "$T/upstream.log" ]; then
	ok "1.9.3: a guest query for a fresh name to any address reaches the guard (its record names it) and no other resolver"
else not_ok "fresh name reaches only the guard" "$(grep -c "$fresh" "$glog" 2>/dev/null) guard lines; upstream: $(wc -c <"$T/upstream.log" 2>/dev/null)"; fi
"$BV" --format json gate b2 --policy "$POLICY" --allow-dest tcp:192.0.2.10:8888 --kvm-device "$T/kvm" \
	--dns-guard "$gaddr" --dns-guard-log "$glog" >"$T/g.json" 2>"$T/g.err"
gd=$(status_of "$T/g.json" gate.dns.direct) gc=$(status_of "$T/g.json" gate.dns.canary-subdomain)
if [ "$gd$gc" = okok ]; then ok "1.9.3: the gate's DNS points are ok on a guarded bottle"; else not_ok "gate DNS on a guarded bottle" "direct $gd, canary-subdomain $gc" "$(tail -3 "$T/g.err")"; fi
# A second up of a running bottle's name must not touch the first one's guard.
"$BL" up b2 --allow 192.0.2.10/32 --from "$T/agent.smolmachine" --control-port 8888 --policy "$POLICY" \
	--kvm-device "$T/kvm" >"$T/up2.out" 2>"$T/up2.err"
u2=$?
if [ $u2 != 0 ] && grep -q 'already runs' "$T/up2.err" && [ "$(pgrep -c -x dnsmasq)" = 1 ] && grep -q "^ok .* db.dns.guard" "$T/up.out"; then
	ok "a second up of a running bottle is refused (exit $u2) and its DNS guard keeps running"
else not_ok "second up of b2" "exit $u2, guards $(pgrep -c -x dnsmasq)" "$(tail -2 "$T/up2.err")"; fi
# Must-fail: a row whose dns is not the guard; a lying guest that sends nothing (the guard's
# record then names none of the run's queries: unproven, never ok).
"$BV" --format json db b2 --expect 192.0.2.10/32 --dns-guard 127.83.254.53 --dns-guard-log "$glog" >"$T/d.json" 2>/dev/null
drc=$?
if [ $drc = 1 ] && [ "$(status_of "$T/d.json" db.dns.guard)" = not_ok ]; then ok "db.dns.guard is not ok when the row's dns is another address (exit 1)"; else not_ok "db.dns.guard must-fail" "exit $drc, $(status_of "$T/d.json" db.dns.guard)"; fi
FAKE_SMOLVM_GUEST=liar-deny "$BV" --format json all b2 --expect 192.0.2.10/32 --policy "$POLICY" --allow-dest tcp:192.0.2.10:8888 \
	--kvm-device "$T/kvm" --dns-guard "$gaddr" --dns-guard-log "$glog" >"$T/l.json" 2>/dev/null
lrc=$? ls=$(status_of "$T/l.json" egress.denied.dns-carveout)
if [ $lrc = 2 ] && [ "$ls" = inconclusive ]; then ok "a lying guest on a guarded bottle: the DNS classes are unproven, exit 2"; else not_ok "liar on a guarded bottle" "exit $lrc, dns-carveout $ls"; fi
"$BL" down b2 >/dev/null 2>&1
clean "1.9.3: down left nothing (the DNS guard stopped too)"

# --- refused before anything exists -------------------------------------------------------
up b3 --alias auto
if [ "$urc" = 1 ] && grep -qi 'loopback' "$T/up.err"; then ok "1.9.3: a 127/8 alias is refused (it stays inside the guest), exit 1"; else not_ok "1.9.3 alias refusal" "exit $urc" "$(tail -3 "$T/up.err")"; fi
clean "the refusal created nothing"
up b3 --allow 192.0.2.0/24
if [ "$urc" = 1 ]; then ok "an allowlist wider than one address is refused"; else not_ok "wide allowlist" "exit $urc"; fi

# --- failures are torn down -----------------------------------------------------------------
FAKE_SMOLVM_LEAK=allowlist-ignored up b4 --allow 192.0.2.10/32
if [ "$urc" = 1 ] && grep -q '^not ok .*egress.denied.public' "$T/up.out"; then ok "a leaky bottle fails verification: up exits 1, the finding printed"; else not_ok "leaky up" "exit $urc" "$(grep -E '^not ok' "$T/up.out")"; fi
clean "the failed verification left no machine, lease or namespace"
# A gateway that ignores --dns forwards to smolvm's default upstream: caught, torn down.
FAKE_SMOLVM_LEAK=dns-ignored up b9 --allow 192.0.2.10/32
if [ "$urc" = 1 ] && grep -Eq '^not ok .*(egress.denied.dns-carveout|egress.census)' "$T/up.out"; then ok "a gateway that ignores --dns (dns-ignored) fails verification: up exits 1"; else not_ok "dns-ignored up" "exit $urc" "$(grep -E '^not ok' "$T/up.out" | head -3)"; fi
clean "the dns-ignored bottle left nothing behind"
# A guest that sends every DNS name to the guard by the gateway's TCP/53, on a gateway that
# lets port 53 out to any address (dns-open): the guard's record must not clear dns-direct.
FAKE_SMOLVM_LEAK=dns-open FAKE_SMOLVM_GUEST=liar-dnsgw up b10 --allow 192.0.2.10/32
if [ "$urc" != 0 ] && ! grep -q ': ready:' "$T/up.out" && ! grep -q '^ok .* egress.denied.dns-direct' "$T/up.out"; then
	ok "a guest routing its DNS probes to the guard on a dns-open gateway: dns-direct not ok, nothing handed over (exit $urc)"
else not_ok "liar-dnsgw on dns-open" "exit $urc" "$(grep -E 'dns-direct|dns-carveout' "$T/up.out" | head -3)"; fi
clean "the liar-dnsgw bottle left nothing behind"
export FAKE_SMOLVM_VERSION=0.8.0
FAKE_SMOLVM_STALE_STOP=1 up b5 --alias auto
if [ "$urc" != 0 ]; then ok "the stale stop's revert fails the launch (exit $urc)"; else not_ok "stale stop passed"; fi
clean "... and is torn down too"
export FAKE_SMOLVM_VERSION=1.9.2
FAKE_SMOLVM_EXEC_READY_MS=60000 up b6 --allow 192.0.2.10/32
if [ "$urc" != 0 ] && grep -qi 'exec' "$T/up.err"; then ok "exec never ready: bounded wait, exit $urc"; else not_ok "exec never ready" "exit $urc"; fi
clean "... torn down"

# --- --dry-run: the whole plan, nothing changed --------------------------------------------
: >"$T/argv.log"
FAKE_SMOLVM_VERSION=0.8.0 "$BL" up b7 --alias auto --from "$T/agent.smolmachine" --control-port 8888 --policy "$POLICY" \
	--kvm-device "$T/kvm" --dry-run >"$T/plan.out" 2>"$T/plan.err"
prc=$?
if [ $prc = 0 ] && grep -q 'allowlist \[127.0.0.16/32\] (alias 127.0.0.16, would be leased)' "$T/plan.out" &&
	grep -q 'slug b7 -> 192.168.[0-9]*.0/24' "$T/plan.out" && grep -q 'create.*machine create b7 --from' "$T/plan.out" &&
	grep -q 'verify .* all b7 --expect 127.0.0.16/32' "$T/plan.out"; then
	ok "--dry-run prints the plan: alias, bundle subnet, create argv for 0.8.0, verify argv"
else not_ok "--dry-run plan" "exit $prc" "$(cat "$T/plan.out" "$T/plan.err" | head -12)"; fi
if ! grep -v -- '--version' "$T/argv.log" | grep -q .; then ok "--dry-run ran no smolvm command but --version"; else not_ok "dry-run ran" "$(cat "$T/argv.log")"; fi
clean "--dry-run took no lease and created nothing"
# 0.8.0 has no --dns: the carve-out stays a TODO, and --require-dns-guard refuses the bottle.
if grep -q 'dns      no guard (smolvm < 1.2.5 has no --dns)' "$T/plan.out"; then ok "0.8.0: the plan says no DNS guard can be had (< 1.2.5)"; else not_ok "0.8.0 plan: no guard" "$(grep dns "$T/plan.out")"; fi
FAKE_SMOLVM_VERSION=0.8.0 up b8 --alias auto --require-dns-guard
if [ "$urc" = 1 ] && grep -q 'require-dns-guard.*upgrade smolvm to >= 1.2.5' "$T/up.err"; then ok "0.8.0 with --require-dns-guard: refused (exit 1), naming the upgrade"; else not_ok "--require-dns-guard on 0.8.0" "exit $urc" "$(tail -2 "$T/up.err")"; fi
clean "the refused --require-dns-guard bottle created nothing"

# --- secrets -----------------------------------------------------------------------------------
if ! grep -q canary-9d1f0c2e "$T/argv.log"; then ok "no value from the launcher's environment on any smolvm argv"; else not_ok "canary on argv" "$(grep canary "$T/argv.log")"; fi
exit $((failed > 0))
