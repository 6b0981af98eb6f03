#!/bin/sh
# integration/kvm/gate.t - the kvm lane: the sandbox-escape gate on a real smolvm bottle.
# Needs a /dev/kvm that runs a vCPU (bottle-verify preflight's preflight.kvm.runs, checked
# first) and smolvm on PATH (ci/install-smolvm.sh). Without them the
# lane is a visible skip, and under BOTTLE_VERIFY_MUST_RUN=1 a failure (docs/ci.md).
# With them, the real programs, in order:
#   a pack     $BV_KVM_PACK, else one made here: a bare machine, started, stopped, packed
#              (`smolvm pack create --from-vm`; no image pull, no network)
#   an address $BV_KVM_ALLOW=ADDR/32 if set; else on smolvm >= 1.1.3 (where a 127/8
#              allowlist is the guest's own loopback and is refused) 192.0.2.16/32, added
#              to the host's lo by the lane and removed again (root, or sudo -n ip),
#              beside 192.0.2.17 as a denied neighbour; on older smolvm the alias
#              `bottle-launch up --dry-run --alias auto` names
#   a policy   fixtures/policies/kvm-bottle.json.in for up's own verification: only the
#              lane's addresses and host loopback, never the builtin's real-world targets,
#              and no UDP/53 (smolvm >= 1.1.3 forwards every UDP/53 to its upstream)
#   the bundle fixtures/bundle/bundle-up on that address; its upstreams are the gate's own
#              recording sinks on 127.0.0.1 (fixtures/policies/kvm-gate.json.in)
#   the bottle bottle-launch up NAME (its own `bottle-verify all` must pass)
#   the gate   bottle-verify gate NAME --policy builtin --allow-dest tcp:ADDR:8888
#              --secret-env BV_CANARY: exit 0, no `not ok` that is not TODO
#   teardown   bottle-launch down NAME, bundle-down; always, from the EXIT trap
# Logs stay in $BV_KVM_LOG_DIR (default $BV_BUILD/kvm-gate) for CI to upload.
top=$(cd "$(dirname "$0")/../.." && pwd)
. "$top/integration/lib.sh"
# nok DESC [TEXT...]: not_ok, with every line of every TEXT as a "# " diagnostic (multi-line
# output must not reach the TAP stream bare: an indented line would read as YAML).
nok() {
	not_ok "$1"; shift
	for l in "$@"; do [ -n "$l" ] && printf '%s\n' "$l" | sed 's/^/# /'; done
	return 0
}

KVM_DEV=${BV_KVM_DEVICE:-/dev/kvm}

# Why this host cannot run the lane (one line, no '#'), or nothing.
kvm_problem() {
	if [ ! -e "$KVM_DEV" ]; then
		echo "$KVM_DEV is missing (load kvm_intel or kvm_amd, see docs/ci.md)"; return
	fi
	if [ ! -c "$KVM_DEV" ]; then echo "$KVM_DEV is not a character device"; return; fi
	if [ ! -r "$KVM_DEV" ] || [ ! -w "$KVM_DEV" ]; then
		echo "$KVM_DEV is not read/write for $(id -un) (add the user to the kvm group, see docs/ci.md)"; return
	fi
	# KVM_GET_API_VERSION (_IO(0xAE, 0)) answers 12 on a working KVM.
	api=$(perl -e 'open(my $f, "+<", $ARGV[0]) or die "open: $!\n";
		my $v = ioctl($f, 0xAE00, 0); defined $v or die "KVM_GET_API_VERSION: $!\n"; print $v + 0' \
		"$KVM_DEV" 2>&1) || { echo "$KVM_DEV cannot be used: $api" | tr -d '#\n'; return; }
	[ "$api" = 12 ] || { echo "$KVM_DEV answers KVM API $api, not 12"; return; }
	# A device that opens and answers can still hang every guest (nested or software KVM):
	# the lane runs a vCPU first (preflight.kvm.runs, a tiny guest of our own, 2 s bound).
	"$BV" --format json preflight --kvm-device "$KVM_DEV" >"$T/kvm-runs.json" 2>/dev/null
	runs=$(status_of "$T/kvm-runs.json" preflight.kvm.runs)
	[ "$runs" = ok ] || echo "$KVM_DEV does not run a vCPU (preflight.kvm.runs: $runs: $(field_of "$T/kvm-runs.json" preflight.kvm.runs actual | tr -d '#\n' | cut -c1-200))"
}

# integration/sim/kvm-lane.t runs this lane against the fake smolvm: its device is a
# test's stand-in (BOTTLE_VERIFY_KVM_STANDIN), which no KVM check can pass.
if [ -n "${BOTTLE_VERIFY_KVM_STANDIN:-}" ] && [ "$BOTTLE_VERIFY_KVM_STANDIN" = "$KVM_DEV" ]; then
	reason=""
else
	reason=$(kvm_problem)
fi
if [ -z "$reason" ] && ! command -v smolvm >/dev/null 2>&1; then
	reason="smolvm is not on PATH (ci/install-smolvm.sh installs it)"
fi
if [ -n "$reason" ]; then
	if [ "${LANE_MUST_RUN:-}" = 1 ]; then
		plan 1
		nok "kvm lane could not run: $reason" \
			"BOTTLE_VERIFY_MUST_RUN=1: a lane that cannot run is a failure, never a pass"
		exit 1
	fi
	echo "1..0 # SKIP kvm lane: $reason"
	exit 0
fi

# ---- the real run --------------------------------------------------------------------------
total=11
plan $total
LOG=${BV_KVM_LOG_DIR:-$BV_BUILD/kvm-gate}
mkdir -p "$LOG" && rm -f "$LOG"/*.out "$LOG"/*.err "$LOG"/*.log
PORT=${BV_KVM_CONTROL_PORT:-8888}
NAME=bv-gate-$$-$(date +%s)
BUNDLE_UP="$top/fixtures/bundle/bundle-up"
BUNDLE_DOWN="$top/fixtures/bundle/bundle-down"
bundle_state="" bundle_pid="" launched="" packvm="" added=""
KVM_ADDR=192.0.2.16 KVM_NEIGHBOUR=192.0.2.17

# as_root CMD...: run CMD as root (directly, or through sudo -n)
as_root() {
	if [ "$(id -u)" = 0 ]; then "$@"; else sudo -n "$@"; fi
}

cleanup() {
	for a in $added; do as_root ip addr del "$a/32" dev lo >>"$LOG/teardown.log" 2>&1; done
	if [ -n "$launched" ]; then "$BL" down "$NAME" >>"$LOG/teardown.log" 2>&1; fi
	if [ -n "$bundle_state" ] && [ -x "$BUNDLE_DOWN" ]; then
		"$BUNDLE_DOWN" "$bundle_state" >>"$LOG/teardown.log" 2>&1
	fi
	if [ -n "$bundle_pid" ]; then kill "$bundle_pid" 2>/dev/null; fi
	if [ -n "$packvm" ]; then
		smolvm machine stop --name "$packvm" >>"$LOG/teardown.log" 2>&1
		smolvm machine delete --name "$packvm" -f >>"$LOG/teardown.log" 2>&1
	fi
	rm -rf "$T"
}
trap cleanup EXIT
trap 'exit 129' HUP
trap 'exit 130' INT
trap 'exit 143' TERM

# give_up REASON: every point not reached yet is a failure; exit 1.
give_up() {
	while [ "$n" -lt "$total" ]; do nok "not reached: $1"; done
	exit 1
}
tail_of() { tail -"${2:-5}" "$1" 2>/dev/null | tr -d '\r'; }

# listening ADDR PORT: a TCP connect succeeds within 1 s (loopback / the test's own address)
listening() {
	perl -MIO::Socket::INET -e 'IO::Socket::INET->new(PeerAddr => $ARGV[0], PeerPort => $ARGV[1],
		Proto => "tcp", Timeout => 1) or exit 1' "$1" "$2"
}
# bundle_up ARGS...: fixtures/bundle/bundle-up STATE --addr ... [--variant V], in the background
bundle_up() {
	if [ -n "${BV_KVM_BUNDLE_VARIANT:-}" ]; then set -- "$@" --variant "$BV_KVM_BUNDLE_VARIANT"; fi
	"$BUNDLE_UP" "$@" >"$LOG/bundle.log" 2>&1 &
	bundle_pid=$!
}

# 1. smolvm and its version (decides what bottle-launch will do)
ver=$(smolvm --version 2>&1 | sed -n 's/^smolvm \([0-9][0-9.]*\).*/\1/p' | head -1)
if [ -n "$ver" ]; then ok "smolvm $ver on PATH ($(command -v smolvm)), $KVM_DEV usable"
else nok "smolvm --version names a version" "$(smolvm --version 2>&1 | head -3)"; give_up "smolvm --version"; fi

# 2. the machine pack bottle-launch boots (--from)
if [ -n "${BV_KVM_PACK:-}" ]; then
	pack=$BV_KVM_PACK
	if [ -f "$pack" ]; then ok "pack $pack (BV_KVM_PACK)"
	else nok "pack $pack (BV_KVM_PACK) exists"; give_up "no pack"; fi
else
	packvm=bv-gate-pack-$$
	mkdir -p "$T/pack"
	{
		timeout 300 smolvm machine create --name "$packvm" &&
		timeout 300 smolvm machine start --name "$packvm" &&
		timeout 120 smolvm machine stop --name "$packvm" &&
		timeout 900 smolvm pack create --from-vm "$packvm" -o "$T/pack/bottle"
	} >"$LOG/pack.log" 2>&1
	prc=$?
	smolvm machine delete --name "$packvm" -f >>"$LOG/pack.log" 2>&1 && packvm=""
	pack="$T/pack/bottle.smolmachine"
	if [ $prc = 0 ] && [ -s "$pack" ]; then ok "a bare machine packed into $(basename "$pack") (smolvm pack create --from-vm)"
	else nok "a bare machine packs into a .smolmachine" "exit $prc" "$(tail_of "$LOG/pack.log")" \
		"set BV_KVM_PACK=FILE.smolmachine to use a pack made elsewhere"; give_up "no pack"; fi
fi

# 3. the one allowed destination: BV_KVM_ALLOW, an address the lane adds to lo, or an alias
# version_ge X.Y.Z: the smolvm on PATH is at least that version
version_ge() { [ "$(printf '%s\n%s\n' "$1" "$ver" | sort -V | head -1)" = "$1" ]; }
neighbour=$KVM_NEIGHBOUR
if [ -n "${BV_KVM_ALLOW:-}" ]; then
	set -- --allow "$BV_KVM_ALLOW"
	addr=${BV_KVM_ALLOW%/*}
	ok "allowed destination $BV_KVM_ALLOW (BV_KVM_ALLOW)"
	neighbour=${BV_KVM_NEIGHBOUR:-127.0.0.2}
elif version_ge 1.1.3; then
	# 127/8 is the guest's own loopback there: the bundle needs a host address that is not
	# loopback and reaches nothing outside this host (the host's lo holds it).
	# on_lo ADDR: lo already holds it (left by an earlier run: used, not removed)
	on_lo() { ip -o addr show dev lo | grep -q " $1/32 "; }
	addr_ok=1
	for a in $KVM_ADDR $KVM_NEIGHBOUR; do
		on_lo "$a" && continue
		if as_root ip addr add "$a/32" dev lo >>"$LOG/addr.log" 2>&1; then added="$added $a"; else addr_ok=""; fi
	done
	if [ -n "$addr_ok" ]; then
		set -- --allow "$KVM_ADDR/32"
		addr=$KVM_ADDR
		ok "allowed destination $KVM_ADDR/32, added to lo (smolvm $ver >= 1.1.3)"
	else
		nok "lo holds $KVM_ADDR and $KVM_NEIGHBOUR" "$(tail_of "$LOG/addr.log" 3)" \
			"run the lane as root, give its user sudo -n for ip, or set BV_KVM_ALLOW=ADDR/32 (docs/ci.md)"
		give_up "no allowed destination"
	fi
else
	set -- --alias auto
	"$BL" up "$NAME" --alias auto --from "$pack" --control-port "$PORT" --dry-run \
		>"$LOG/plan.out" 2>"$LOG/plan.err"
	drc=$?
	addr=$(sed -n 's/.*(alias \([0-9.]*\), would be leased).*/\1/p' "$LOG/plan.out" | head -1)
	if [ $drc = 0 ] && [ -n "$addr" ]; then ok "bottle-launch up --dry-run: alias $addr would be leased"
	else
		nok "bottle-launch up --dry-run names an alias" "exit $drc" "$(tail_of "$LOG/plan.err" 3)" \
			"on smolvm >= 1.1.3 a 127/8 allowlist is refused: set BV_KVM_ALLOW=ADDR/32 (docs/ci.md)"
		give_up "no allowed destination"
	fi
fi
case "$addr" in *:*) dest="tcp:[$addr]:$PORT" ;; *) dest="tcp:$addr:$PORT" ;; esac

# 4. the stand-in bundle on that address; its upstreams are the gate's own recording sinks
# on host loopback (127.0.0.1:7080 and :7081, named in fixtures/policies/kvm-gate.json.in)
if [ ! -x "$BUNDLE_UP" ]; then
	nok "fixtures/bundle/bundle-up is there" "missing: $BUNDLE_UP"; give_up "no bundle"
fi
sed "s/@ADDR@/$addr/g" "$top/fixtures/policies/kvm-gate.json.in" >"$T/kvm-gate.json"
sed "s/@NEIGHBOUR@/$neighbour/g" "$top/fixtures/policies/kvm-bottle.json.in" >"$T/kvm-bottle.json"
bundle_state="$T/bundle"
mkdir -p "$bundle_state"
bundle_up "$bundle_state" --addr "$addr" --upstream 127.0.0.1:7080 --git-upstream 127.0.0.1:7081
up_ok=""
for _ in $(seq 1 300); do
	if listening "$addr" "$PORT"; then up_ok=1; break; fi
	if ! kill -0 "$bundle_pid" 2>/dev/null; then
		wait "$bundle_pid"; brc=$?; bundle_pid=""
		[ "$brc" = 0 ] || break # bundle-up failed; a 0 exit means it daemonized: keep polling
	fi
	sleep 0.1
done
if [ -n "$up_ok" ]; then ok "bundle-up listens on $addr:$PORT"
else nok "bundle-up listens on $addr:$PORT within 30 s" "$(tail_of "$LOG/bundle.log")"; give_up "no bundle"; fi

# 5. the bottle: bottle-launch up (preflight, create, enforce, start, bottle-verify all)
launched=1
timeout 900 "$BL" up "$NAME" "$@" --from "$pack" --control-port "$PORT" --policy "$T/kvm-bottle.json" --kvm-device "$KVM_DEV" \
	>"$LOG/up.out" 2>"$LOG/up.err"
urc=$?
leased=$(sed -n "s/^up $NAME: ready: allowlist \[\([^]]*\)\].*/\1/p" "$LOG/up.out" | head -1)
if [ $urc = 0 ] && [ "${leased%/*}" = "$addr" ]; then
	ok "bottle-launch up $NAME: ready on [$leased], its own verification passed"
else
	nok "bottle-launch up $NAME: ready on $addr" "exit $urc, allowlist '${leased:-none}'" \
		"$(grep '^not ok' "$LOG/up.out" | head -5)" "$(tail_of "$LOG/up.err")"
	give_up "bottle-launch up failed"
fi

# The bottle's DNS guard (smolvm >= 1.2.5): up made one, its own verification checked the
# row names it (db.dns.guard); the gate judges DNS by its record too.
gaddr=$(sed -n 's/.*DNS guard answering at \([0-9.]*\):53.*/\1/p' "$LOG/up.err" | head -1)
glog=$(sed -n 's/^  dns      guard .* record \(.*\))$/\1/p' "$LOG/up.err" | head -1)
guard=""
if [ -n "$gaddr" ] && [ -n "$glog" ] && grep -q '^ok .* db.dns.guard' "$LOG/up.out"; then
	ok "bottle-launch up gave $NAME a DNS guard at $gaddr:53 and the row names it"
	guard=1
else nok "bottle-launch up gave $NAME a DNS guard (smolvm >= 1.2.5)" "guard '$gaddr', record '$glog'" "$(grep 'dns' "$LOG/up.err" | head -3)"; fi

# 6-8. the gate
# The canary has the shape the bundle's DLP and git scanner look for (a GitHub PAT:
# ghp_ and 36 alphanumerics), fresh for every run.
canary="ghp_$(od -An -N18 -tx1 /dev/urandom | tr -d ' \n')"
# The gate runs under the lane's MUST_RUN: on a KVM runner no entry may skip.
BOTTLE_VERIFY_MUST_RUN=${LANE_MUST_RUN:-} BV_CANARY=$canary timeout 900 "$BV" gate "$NAME" \
	--policy "$T/kvm-gate.json" --allow-dest "$dest" ${guard:+--dns-guard "$gaddr" --dns-guard-log "$glog"} \
	--secret-env BV_CANARY >"$LOG/gate.out" 2>"$LOG/gate.err"
grc=$?
sed -e "s/$canary/<BV_CANARY>/g" -e 's/^/#   /' "$LOG/gate.out" # the gate's own TAP, for the log
findings=$(grep '^not ok' "$LOG/gate.out" | grep -iv '#[[:space:]]*TODO')
points=$(grep -cE '^(not )?ok ' "$LOG/gate.out")
if [ $grc = 0 ]; then ok "bottle-verify gate $NAME exits 0"
else nok "bottle-verify gate $NAME exits 0" "exit $grc" "$(tail_of "$LOG/gate.err")"; fi
if [ -z "$findings" ] && [ "$points" -gt 0 ]; then ok "gate: $points points, no not ok outside TODO"
else nok "gate: no not ok outside TODO ($points points)" "$(printf '%s\n' "$findings" | head -10)"; fi
if grep -rqF "$canary" "$LOG" 2>/dev/null; then
	nok "the canary's value appears in no output or log" "$(grep -rlF "$canary" "$LOG")"
else ok "the canary's value appears in no output or log"; fi

# 9-10. teardown
"$BL" down "$NAME" >"$LOG/down.log" 2>&1
drc=$?
if [ $drc = 0 ]; then launched=""; ok "bottle-launch down $NAME exits 0"
else nok "bottle-launch down $NAME exits 0" "exit $drc" "$(tail_of "$LOG/down.log")"; fi
smolvm machine ls --json >"$LOG/ls.out" 2>"$LOG/ls.err"
lrc=$?
if [ $lrc != 0 ]; then nok "no machine $NAME is left" "smolvm machine ls --json: exit $lrc" "$(tail_of "$LOG/ls.err" 3)"
elif grep -qF "\"$NAME\"" "$LOG/ls.out"; then nok "no machine $NAME is left" "$(grep -F "$NAME" "$LOG/ls.out" | head -3)"
else ok "no machine $NAME is left"; fi

[ "$failed" = 0 ]
