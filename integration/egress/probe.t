#!/bin/sh
# bottle-probe itself, in a private network namespace that holds only lo, with nftables
# rules made by this test: each errno class comes out as its own outcome, a live listener
# connects (the same probe can pass, so the others can fail), and a dropped destination
# ends at the plan's deadline, not at the kernel's SYN retries.
. "$(dirname "$0")/../lib.sh"
PROBE="$BV_BUILD/bottle-probe"
netns_ok() { unshare -n true 2>/dev/null || unshare -rn true 2>/dev/null; }
if ! command -v nft >/dev/null || ! command -v ip >/dev/null || ! netns_ok; then
	if [ "${LANE_MUST_RUN:-${BOTTLE_VERIFY_MUST_RUN:-}}" = 1 ]; then plan 1; not_ok "network namespaces and nft available (BOTTLE_VERIFY_MUST_RUN=1)"; exit 1; fi
	echo "1..0 # SKIP needs nft and unshare -n (root) or unshare -rn (user namespaces)"; exit 0
fi
plan 13
NS="unshare -n"
[ "$(id -u)" = 0 ] || NS="unshare -rn"

cat >"$T/plan" <<'PLAN'
BV-PLAN 1
run t1 deadline_ms 700
probe open tcp 127.0.0.1 7001
probe closed tcp 127.0.0.1 7002
probe dropped tcp 127.0.0.2 7001
probe prohibited tcp 127.0.0.3 7001
probe udpclosed udp 127.0.0.1 7002
probe udpdenied udp 127.0.0.4 7001
probe v6closed tcp ::1 7002
probe mapped tcp ::ffff:127.0.0.1 7001
probe dns dns-udp 127.0.0.1 7053 dns.t1.exfil.test
end 9
PLAN
cat >"$T/ns.sh" <<'NS'
set -e
ip link set lo up
nft -f - <<'NFT'
table inet t {
	chain out {
		type filter hook output priority 0;
		ip daddr 127.0.0.2 drop
		ip daddr 127.0.0.3 reject with icmp type admin-prohibited
		ip daddr 127.0.0.4 udp dport 7001 drop
	}
}
NFT
# A TCP listener on 7001 (v4 and v6) that acks the nonce, and a DNS responder on
# UDP 7053 that answers NXDOMAIN: both in perl, which make deps installs.
perl -MIO::Socket::IP -MIO::Select -e '
	my $s = IO::Socket::IP->new(LocalHost => "::", LocalPort => 7001, Listen => 16, ReuseAddr => 1, V6Only => 0) or die "listen: $!";
	my $u = IO::Socket::IP->new(LocalHost => "127.0.0.1", LocalPort => 7053, Proto => "udp") or die "udp: $!";
	my $sel = IO::Select->new($s, $u);
	alarm 20;
	while (my @r = $sel->can_read) {
		for my $h (@r) {
			if ($h == $s) { my $c = $s->accept or next; my $l = <$c> // ""; print $c "ACK $l"; close $c; next }
			$u->recv(my $q, 512); my @b = unpack "C*", $q; next if @b < 12;
			$b[2] = 0x81; $b[3] = 0x83; $u->send(pack "C*", @b);
		}
	}
' >/dev/null 2>&1 &
server=$!
# the UDP socket is made after the TCP listener: once it is bound, both are up
for _ in $(seq 100); do [ -n "$(ss -Hlun 'sport = :7053')" ] && break; sleep 0.1; done
start=$(date +%s%N)
"$1" "$2" >"$3" 2>"$3.err"
echo "rc=$? ms=$(( ($(date +%s%N) - start) / 1000000 ))" >"$3.meta"
kill $server 2>/dev/null
wait $server 2>/dev/null
NS
$NS sh "$T/ns.sh" "$PROBE" "$T/plan" "$T/out" 2>"$T/ns.err"
outcome() { awk -v id="$1" '$1 == "result" && $2 == id { print $4 }' "$T/out"; }
is() { got=$(outcome "$1"); [ "$got" = "$2" ] && ok "$1 -> $2 ($3)" || not_ok "$1 -> $2 ($3)" "got '$got'" "$(cat "$T/ns.err" "$T/out.err" 2>/dev/null | tail -3)"; }
is open connected "a listener: the nonce is sent and acknowledged"
is closed refused "no listener: RST"
is dropped timeout "output drop: only the deadline ends it"
is prohibited unreachable "ICMP admin-prohibited"
is udpclosed refused "UDP to a closed port: ICMP port unreachable"
is udpdenied denied "UDP with an output drop: EPERM at send"
is v6closed refused "IPv6 loopback, no listener"
is mapped connected "IPv4-mapped IPv6 reaches the IPv4 listener"
is dns answered "DNS over UDP: an answer to this very query"
awk '$2 == "dns" { exit !($8 == "rcode=3") }' "$T/out" && ok "the DNS answer's rcode is reported (NXDOMAIN)" || not_ok "the DNS answer's rcode is reported"
tail -1 "$T/out" | grep -qx 'end 9' && ok "the report is framed: end 9" || not_ok "the report is framed: end 9"
ms=$(sed -n 's/.*ms=\([0-9]*\).*/\1/p' "$T/out.meta")
[ -n "$ms" ] && [ "$ms" -ge 650 ] && [ "$ms" -le 5000 ] && ok "run ends at the deadline (700 ms), not at the kernel's SYN retries (minutes): $ms ms" || not_ok "run ends at the deadline (700 ms)" "took ${ms:-?} ms"
printf 'BV-PLAN 1\nrun t1 deadline_ms 700\nprobe x tcp nowhere 1\nend 1\n' >"$T/bad"
"$PROBE" "$T/bad" >/dev/null 2>&1
rc=$?
[ $rc = 65 ] && ok "a bad plan exits 65 and reports nothing" || not_ok "a bad plan exits 65" "rc=$rc"
