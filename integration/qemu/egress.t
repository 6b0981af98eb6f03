#!/bin/sh
# integration/qemu/egress.t - the qemu lane: bottle-verify egress against a real guest
# kernel under QEMU/TCG (fixtures/qemu/guest-run as --guest-cmd), its network being
# QEMU's user-mode stack (slirp). restrict=on with one guestfwd is the VMM-level allowlist
# and must deny every class; restrict=off must show host loopback, "public" and the rest
# as open. Everything runs in a fresh network namespace holding only lo plus the
# documentation addresses this script puts on lo (fixtures/qemu/README.md).
top=$(cd "$(dirname "$0")/../.." && pwd)
case ${BUILD:-build} in
/*) BV_BUILD=${BV_BUILD:-$BUILD} ;;
*) BV_BUILD=${BV_BUILD:-$top/${BUILD:-build}} ;;
esac
export BV_BUILD
RUN="$top/fixtures/qemu/guest-run"

lane_cannot_run() { # REASON: a visible skip, or a failure under BOTTLE_VERIFY_MUST_RUN=1
	echo "TAP version 13"
	if [ "${LANE_MUST_RUN:-${BOTTLE_VERIFY_MUST_RUN:-}}" = 1 ]; then
		echo "1..1"; echo "not ok 1 - qemu lane cannot run: $1 (BOTTLE_VERIFY_MUST_RUN=1)"; exit 1
	fi
	echo "1..0 # SKIP qemu lane cannot run: $1"
	exit 0
}
if [ "${BV_QEMU_INSIDE:-}" != 1 ]; then
	missing=''
	command -v qemu-system-x86_64 >/dev/null 2>&1 || missing="$missing qemu-system-x86_64 (qemu-system-x86),"
	command -v ip >/dev/null 2>&1 || missing="$missing ip (iproute2),"
	command -v perl >/dev/null 2>&1 || missing="$missing perl,"
	command -v unshare >/dev/null 2>&1 || missing="$missing unshare (util-linux),"
	"$top/fixtures/qemu/find-kernel" >/dev/null 2>&1 || missing="$missing a readable kernel with e1000.ko (linux-image-amd64),"
	command -v busybox >/dev/null 2>&1 || missing="$missing busybox (busybox-static),"
	if [ -z "$missing" ] && ! why=$(BV_QEMU_PVH=0 BV_QEMU_CACHE=/nonexistent "$RUN" --prepare 2>&1 >/dev/null); then
		lane_cannot_run "$(echo "$why" | head -n 1)"
	fi
	[ -z "$missing" ] || lane_cannot_run "missing${missing%,}"
	export BV_QEMU_INSIDE=1
	# A fresh network namespace (only lo), and a PID namespace so that nothing this lane
	# starts outlives it, with its own /proc (pids as the lane sees them: LeakSanitizer
	# reads /proc/PID/task).
	ns="--net --pid --fork --kill-child --mount --mount-proc --propagation private"
	# shellcheck disable=SC2086
	if [ "$(id -u)" = 0 ] && unshare $ns true 2>/dev/null; then
		exec unshare $ns sh "$0" "$@"
	fi
	# shellcheck disable=SC2086
	if unshare --user --map-root-user $ns true 2>/dev/null; then
		exec unshare --user --map-root-user $ns sh "$0" "$@"
	fi
	lane_cannot_run "root or unprivileged user namespaces (unshare -n / unshare -rn)"
fi

. "$top/integration/lib.sh"
plan 23
POLICY="$top/fixtures/policies/qemu.json"
CLASSES="host-loopback public lan-metadata dns-direct ipv6"
# This namespace is private: its sinks cannot collide with another lane's, so its own lock.
export BOTTLE_VERIFY_LOCK="$T/sink.lock" BV_QEMU_CACHE="$T/cache"
export BV_QEMU_FWD="10.0.2.100:8888=127.0.0.1:8888"
ms_now() { echo $(($(date +%s%N) / 1000000)); }
t0=$(ms_now)

# The namespace: lo, and the documentation addresses the policy's sinks bind.
ip link set lo up
for a in 192.0.2.10/32 198.51.100.1/32 198.51.100.53/32; do ip addr add "$a" dev lo; done
ip addr add 2001:db8::1/128 dev lo nodad
# The kernel as a PVH vmlinux, extracted once (outside any timed run).
"$RUN" --prepare >"$T/prepare.out" 2>&1 || { cat "$T/prepare.out" >&2; }

verify() { # restrict -> $T/out.json, $rc, $ms
	s=$(ms_now)
	BV_QEMU_RESTRICT=$1 "$BV" --format json egress --policy "$POLICY" --guest-cmd "$RUN" \
		>"$T/out.json" 2>"$T/err"
	rc=$?
	ms=$(($(ms_now) - s))
}
is() { got=$(status_of "$T/out.json" "$2"); [ "$got" = "$3" ] && ok "$1" || not_ok "$1" "got $got" "$(tail -5 "$T/err")"; }
rc_is() { [ "$rc" = "$2" ] && ok "$1" || not_ok "$1" "rc=$rc" "$(tail -5 "$T/err")"; }

# One boot on its own: the runner's stdout is exactly the report, exit 77. Every probe
# here ends at once (slirp answers a SYN to a non-forwarded destination with a RST), so
# the wall time is the boot's (QEMU start, kernel, insmod, e1000 receive hold, power-off).
printf 'BV-PLAN 1\nrun boot1 deadline_ms 2000\nprobe a tcp 10.0.2.2 7001\nprobe b tcp 198.51.100.1 7001\nend 2\n' >"$T/plan"
s=$(ms_now)
BV_QEMU_RESTRICT=on BV_QEMU_FWD='' "$RUN" "$BV_BUILD/bottle-probe" <"$T/plan" >"$T/report" 2>"$T/run.err"
rrc=$?
boot_ms=$(($(ms_now) - s))
if [ "$rrc" = 77 ] && [ "$(sed -n 1p "$T/report")" = "BV-REPORT 1 run boot1" ] &&
	[ "$(sed -n '$p' "$T/report")" = "end 2" ] && [ "$(wc -l <"$T/report")" = 4 ]; then
	ok "runner: exit 77 and exactly the probe's report on stdout (one boot: $boot_ms ms)"
else
	not_ok "runner: exit 77 and exactly the probe's report on stdout" "exit $rrc" "$(cat "$T/report" "$T/run.err" | tail -8)"
fi
grep -E 'QEMU ran|guest uptime' "$T/run.err" | sed 's/^/# /'
if grep -q 'a tcp refused' "$T/report" && grep -q 'b tcp refused' "$T/report"; then
	ok "restrict=on: a SYN to a destination without guestfwd gets a RST from slirp"
else
	not_ok "restrict=on: a SYN to a destination without guestfwd gets a RST from slirp" "$(cat "$T/report")"
fi

# restrict=on + the one guestfwd: the VMM-level allowlist holds.
verify on
echo "# restrict=on: bottle-verify egress took $ms ms"
is "restrict=on: the control (guestfwd 10.0.2.100:8888 -> 127.0.0.1:8888) is OPEN" egress.control ok
for c in $CLASSES; do is "restrict=on: $c denied" "egress.denied.$c" ok; done
rc_is "restrict=on: exit 0" 0

# restrict=off: slirp forwards whatever this namespace can reach.
verify off
echo "# restrict=off: bottle-verify egress took $ms ms"
is "restrict=off: the control is still OPEN" egress.control ok
for c in $CLASSES; do is "restrict=off: $c open (not ok)" "egress.denied.$c" not_ok; done
rc_is "restrict=off: exit 1" 1

# The gate on the same real guest: the network entries judged, the parts this guest lacks
# (proxy, git gate, a machine row, a secret) visible SKIPs.
gate() { # restrict -> $T/out.json, $rc
	BV_QEMU_RESTRICT=$1 "$BV" --format json gate --policy "$POLICY" --guest-cmd "$RUN" \
		>"$T/out.json" 2>"$T/err"
	rc=$?
}
gate on
bad=""
for p in gate.control:ok gate.host-loopback:ok gate.ip-literal.direct:ok gate.lan-metadata:ok \
	gate.dns.direct:ok gate.ipv6:ok gate.hostname.proxy:skip gate.git.canary-push:skip; do
	got=$(status_of "$T/out.json" "${p%%:*}"); [ "$got" = "${p#*:}" ] || bad="$bad ${p%%:*}=$got"
done
if [ -z "$bad" ]; then ok "gate, restrict=on: every network entry ok, the missing parts SKIP"; else not_ok "gate, restrict=on" "$bad" "$(tail -3 "$T/err")"; fi
rc_is "gate, restrict=on: exit 0" 0
gate off
is "gate, restrict=off: host loopback through slirp (10.0.2.2) is not ok" gate.host-loopback not_ok
rc_is "gate, restrict=off: exit 1" 1

# A guestfwd whose host end is not listening: QEMU 7.2 connects the chardev at start-up and
# exits when it cannot (the runner says so and fails; no report, never a pass).
BV_QEMU_FWD="10.0.2.100:8888=127.0.0.1:9" "$RUN" "$BV_BUILD/bottle-probe" <"$T/plan" >"$T/report" 2>"$T/run.err"
rrc=$?
if [ "$rrc" = 1 ] && [ ! -s "$T/report" ] && grep -q 'guest forwarding' "$T/run.err"; then
	ok "a guestfwd without a host listener: QEMU refuses to start, runner exit 1"
else
	not_ok "a guestfwd without a host listener: QEMU refuses to start, runner exit 1" "exit $rrc" "$(tail -4 "$T/run.err")"
fi

# The safety rule: with any interface besides lo in the namespace, no QEMU at all.
printf '#!/bin/sh\necho started >"%s"\nexec qemu-system-x86_64 "$@"\n' "$T/qemu-ran" >"$T/qemu"
chmod +x "$T/qemu"
if ip link add bvq0 type dummy 2>/dev/null || ip link add bvq0 type veth peer name bvq1 2>/dev/null; then
	BV_QEMU="$T/qemu" "$RUN" "$BV_BUILD/bottle-probe" <"$T/plan" >"$T/report" 2>"$T/run.err"
	rrc=$?
	if [ "$rrc" = 2 ] && [ ! -e "$T/qemu-ran" ] && grep -q 'refusing to start QEMU' "$T/run.err"; then
		ok "a namespace with another interface: the runner refuses (exit 2), no QEMU started"
	else
		not_ok "a namespace with another interface: the runner refuses (exit 2), no QEMU started" \
			"exit $rrc, qemu-ran: $([ -e "$T/qemu-ran" ] && echo yes || echo no)" "$(tail -3 "$T/run.err")"
	fi
	BV_QEMU="$T/qemu" verify on
	is "... and through bottle-verify the run is inconclusive" egress.control inconclusive
	ip link del bvq0 2>/dev/null
else
	not_ok "a namespace with another interface: could not add a dummy or veth link"
	not_ok "... and through bottle-verify the run is inconclusive" "skipped"
fi
echo "# the qemu lane took $(($(ms_now) - t0)) ms"
