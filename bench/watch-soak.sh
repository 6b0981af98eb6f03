#!/bin/sh
# bench/watch-soak.sh - make watch-soak: what `bottle-verify watch` costs and whether it
# stays quiet on a confined simulated bottle (smolvm 1.9.3). Two phases, one watch each
# (default interval): WATCH_IDLE_S seconds (default 60) of an idle agent, then
# WATCH_SOAK_S seconds (default 600) of an agent hammering denied destinations as fast as
# the gateway refuses them. Each phase prints the watch's CPU (and per hour), its peak
# memory, the refusals it counted and its exit; the soak fails on any not ok or an exit
# other than 0. Runs inside the sim lane's private namespaces.
top=$(cd "$(dirname "$0")/.." && pwd)
. "$top/bench/sim.sh"
export FAKE_SMOLVM_VERSION=1.9.3
HZ=$(getconf CLK_TCK)
bad=0
smolvm machine create --name soak --from "$T/agent.smolmachine" --net --allow-cidr 192.0.2.10/32 >/dev/null &&
	smolvm machine start --name soak >/dev/null 2>&1 || { echo "watch-soak: the bottle did not start" >&2; exit 2; }
wait_until smolvm machine exec --name soak -- true >/dev/null 2>&1

cpu_ticks() { sed 's/.*) //' "/proc/$1/stat" | awk '{ print $12 + $13 }'; }
peak_kib() { awk '/^VmHWM:/ { print $2 }' "/proc/$1/status"; }

phase() { # label seconds hammer(0|1)
	"$BV" watch soak --expect 192.0.2.10/32 >"$T/w.tap" 2>"$T/w.err" &
	wpid=$!
	wait_until grep -q 'a pass every' "$T/w.tap" >/dev/null
	start=$(cpu_ticks $wpid)
	if [ "$3" = 1 ]; then
		smolvm machine exec --name soak -- perl -MIO::Socket::INET -MTime::HiRes=time -e '
			my ($end, $n) = (time + $ARGV[0], 0);
			while (time < $end) { IO::Socket::INET->new(PeerAddr => "198.51.100.1:" . (7001 + $n++ % 10), Timeout => 1) }
			print "$n\n"' "$2" >"$T/agent.out" 2>&1
		sleep 2 # the gateway logs the last refusals; the watch's next passes read them
	else
		sleep "$2"
	fi
	used=$(($(cpu_ticks $wpid) - start)) kib=$(peak_kib $wpid)
	kill -TERM $wpid
	wait $wpid
	rc=$?
	nok=$(grep -c '^not ok' "$T/w.tap")
	refused=$(sed -n 's/^ok [0-9]* - watch.denials .*followed: \([0-9]*\) refusals.*/\1/p' "$T/w.tap")
	attempts=""
	[ "$3" = 1 ] && attempts=" of $(cat "$T/agent.out" 2>/dev/null) attempts"
	passes=$(sed -n 's/.*watch.census .*(\([0-9]*\) passes.*/\1/p' "$T/w.tap")
	echo "watch, $1 ($2 s): exit $rc, $nok not ok, ${passes:-?} passes, ${refused:-?} refusals counted$attempts; CPU $((used * 1000 / HZ)) ms ($((used * 3600 * 1000 / HZ / $2)) ms per hour), peak RSS $kib KiB"
	[ "$rc" = 0 ] && [ "$nok" = 0 ] || { bad=1; grep -A6 '^not ok' "$T/w.tap" | sed 's/^/#   /'; }
}
phase idle "${WATCH_IDLE_S:-60}" 0
phase "denied-destination hammer" "${WATCH_SOAK_S:-600}" 1
smolvm machine stop --name soak >/dev/null 2>&1
smolvm machine rm --name soak -f >/dev/null 2>&1
exit $bad
