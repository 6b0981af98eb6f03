#!/bin/sh
# bench/egress-sweep.sh - make bench: bottle-probe sweeping 1,000 destinations (500 that
# refuse, 500 that silently drop) in a private network namespace holding only lo, against
# its deadline and against `nmap -sT -Pn -n` on the same targets with an equal timeout.
# Traffic stays on the namespace's loopback.
set -eu
. "$(dirname "$0")/lib.sh"
PROBE=$build/bottle-probe
DEADLINE=${DEADLINE_MS:-1500}
NS="unshare -n"
[ "$(id -u)" = 0 ] || NS="unshare -rn"
{
	echo "BV-PLAN 1"
	echo "run bench deadline_ms $DEADLINE"
	for p in $(seq 20001 20500); do echo "probe r$p tcp 127.0.0.1 $p"; echo "probe d$p tcp 127.0.0.2 $p"; done
	echo "end 1000"
} >"$tmp/plan"
cat >"$tmp/run.sh" <<'RUN'
set -eu
ip link set lo up
nft add table inet b
nft add chain inet b out '{ type filter hook output priority 0; }'
nft add rule inet b out ip daddr 127.0.0.2 drop
ms() { echo $(( ($(date +%s%N) - $1) / 1000000 )); }
s=$(date +%s%N); "$1" "$2" >"$3/report"; probe_ms=$(ms "$s")
refused=$(grep -c ' refused ' "$3/report" || true); timeout=$(grep -c ' timeout ' "$3/report" || true)
nmap_ms=-
if command -v nmap >/dev/null; then
	s=$(date +%s%N)
	nmap -sT -Pn -n -p 20001-20500 --max-retries 0 --min-rtt-timeout "${4}ms" --max-rtt-timeout "${4}ms" --initial-rtt-timeout "${4}ms" \
		--min-parallelism 1000 127.0.0.1 127.0.0.2 -oG "$3/nmap" >/dev/null 2>&1
	nmap_ms=$(ms "$s")
fi
echo "$probe_ms $refused $timeout $nmap_ms"
RUN
set -- $($NS sh "$tmp/run.sh" "$PROBE" "$tmp/plan" "$tmp" "$DEADLINE")
probe_ms=$1 refused=$2 timeout=$3 nmap_ms=$4
echo "egress sweep: 1000 destinations ($refused refused, $timeout silently dropped), deadline $DEADLINE ms"
echo "  bottle-probe: $probe_ms ms wall = $(awk -v a="$probe_ms" -v b="$DEADLINE" 'BEGIN { printf "%.3f", a / b }') x the deadline (goal <= 1.1)"
if [ "$nmap_ms" != - ]; then
	echo "  nmap -sT -Pn -n --max-retries 0, min=max=initial rtt timeout ${DEADLINE}ms: $nmap_ms ms wall"
	echo "  ratio nmap / bottle-probe: $(awk -v a="$nmap_ms" -v b="$probe_ms" 'BEGIN { printf "%.2f", a / b }')"
else
	echo "  nmap not installed: no comparison (apt-get install nmap)"
fi
[ "$refused" = 500 ] && [ "$timeout" = 500 ] || { echo "bench: unexpected outcomes" >&2; exit 1; }
