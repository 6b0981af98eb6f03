# integration/sim/lib.sh - the sim lane's sandbox (sourced after integration/lib.sh).
# sim_enter re-runs the calling script inside fresh network, mount and pid namespaces
# (as root, or rootless with a user namespace), so the fake smolvm's forwarding can reach
# nothing but namespaces made here. sim_host then gives that namespace the simulated host:
# the bundle on the aliases and 192.0.2.10, "public" 198.51.100.1 and 2001:db8::1, and the
# upstream resolver 198.51.100.53 (documentation ranges only).
. "$top/integration/wait.sh"
. "$top/integration/path.sh"

sim_enter() {
	[ "${BV_SIM_INSIDE:-}" = 1 ] && return 0
	export BV_SIM_INSIDE=1
	if [ "$(id -u)" = 0 ]; then
		unshare --mount --propagation private true 2>/dev/null || sim_no_private_mounts
		exec unshare --net --mount --pid --fork --mount-proc --propagation private sh "$0" "$@"
	fi
	if unshare --user --map-root-user --net true 2>/dev/null; then
		exec unshare --user --map-root-user --net --mount --pid --fork --mount-proc \
			--propagation private sh "$0" "$@"
	fi
	if [ "${SIM_REQUIRED:-}" = 1 ]; then
		echo "$0: needs root or unprivileged user namespaces (unshare --user --map-root-user --net)" >&2
		exit 2
	fi
	echo "TAP version 13"
	if [ "${LANE_MUST_RUN:-${BOTTLE_VERIFY_MUST_RUN:-}}" = 1 ]; then
		echo "1..1"; echo "not ok 1 - the sim lane needs root or user namespaces (BOTTLE_VERIFY_MUST_RUN=1)"; exit 1
	fi
	echo "1..0 # SKIP the sim lane needs root or unprivileged user namespaces"
	exit 0
}

# Root, but a new mount namespace cannot make its mounts private: mount(2) gives EINVAL
# when / is not a mount point, as in a plain chroot. The demo exits 2 saying what to do; a
# lane skips saying so (not ok under BOTTLE_VERIFY_MUST_RUN).
sim_no_private_mounts() {
	why="unshare --mount --propagation private fails here: / is not a mount point (a plain chroot?); bind-mount the chroot's directory onto itself before entering it (mount --bind DIR DIR; mount --make-private DIR; chroot DIR), as make fresh-check does (docs/ci.md)"
	if [ "${SIM_REQUIRED:-}" = 1 ]; then echo "$0: $why" >&2; exit 2; fi
	echo "TAP version 13"
	if [ "${LANE_MUST_RUN:-${BOTTLE_VERIFY_MUST_RUN:-}}" = 1 ]; then
		echo "1..1"; echo "not ok 1 - the sim lane cannot run: $why (BOTTLE_VERIFY_MUST_RUN=1)"; exit 1
	fi
	echo "1..0 # SKIP the sim lane cannot run: $why"
	exit 0
}

# The simulated host, the fake smolvm as `smolvm` on PATH, a KVM stand-in, a private HOME.
# Its undoing, sim_cleanup, becomes the EXIT trap.
sim_host() {
	trap sim_cleanup EXIT
	ip link set lo up
	# (192.0.2.9, .11, .1, .254 and 192.0.3.10: the allowed 192.0.2.10's neighbours, where
	# the class around-allowed binds its sinks; 198.51.100.55: a resolver that is not the
	# upstream, for DNS over TCP straight to it)
	for a in 192.0.2.10/32 198.51.100.1/32 198.51.100.53/32 198.51.100.55/32 192.0.2.9/32 192.0.2.11/32 192.0.2.1/32 \
		192.0.2.254/32 192.0.3.10/32; do ip addr add "$a" dev lo; done
	# (IPv6 beyond one address: a second global stand-in and a ULA one)
	for a in 2001:db8::1/128 2001:db8:1::2/128 fd00:bd::1/128; do ip addr add "$a" dev lo nodad; done
	# ping sockets for every group, as a systemd host has them (50-default.conf): smolvm's
	# gateway relays guest echo through them (icmp_relay.rs)
	sysctl -qw net.ipv4.ping_group_range="0 2147483647" 2>/dev/null ||
		sysctl -qw net.ipv4.ping_group_range="0 0" # rootless: only our group is mapped
	mkdir -p "$T/bin" "$T/home"
	ln -s "$top/fixtures/fake-smolvm" "$T/bin/smolvm"
	export PATH="$T/bin:$PATH" HOME="$T/home"
	unset XDG_DATA_HOME XDG_CACHE_HOME XDG_CONFIG_HOME SMOLVM_DATA_DIR
	# /dev/kvm's stand-in: a character device the test made (bind-mounted when rootless)
	if ! mknod "$T/kvm" c 1 3 2>/dev/null; then
		: >"$T/kvm" && mount --bind /dev/null "$T/kvm" && SIM_KVM_MOUNT="$T/kvm"
	fi
	# No vCPU runs on the stand-in: preflight.kvm.runs is a visible SKIP for it alone.
	export FAKE_SMOLVM_KVM="$T/kvm" BOTTLE_VERIFY_KVM_STANDIN="$T/kvm" BOTTLE_LAUNCH_LEASE_DIR="$T/leases"
	echo pack >"$T/agent.smolmachine"
	eps="192.0.2.10:8888"
	i=16; while [ $i -le 31 ]; do eps="$eps 127.0.0.$i:8888"; i=$((i + 1)); done
	# shellcheck disable=SC2086
	"$top/fixtures/sim/bundle" $eps >"$T/bundle.out" 2>&1 &
	BG_PID=$!
	wait_until grep -q ready "$T/bundle.out" >&2 || { echo "sim: the bundle stand-in did not get ready" >&2; return 1; }
}

# Undo sim_host: stop the bundle, unmount the KVM stand-in (rm cannot remove a mount point:
# $T would stay behind in /tmp), remove $T. The EXIT trap of every script on the sim host.
sim_cleanup() {
	[ -z "${BG_PID:-}" ] || kill "$BG_PID" 2>/dev/null
	[ -z "${SIM_KVM_MOUNT:-}" ] || umount "$SIM_KVM_MOUNT"
	rm -rf "$T"
}

# Machines and namespaces left behind: rows in smolvm's DB and fake VMM processes.
sim_rows() { sqlite3 "$HOME/.local/share/smolvm/server/smolvm.db" 'SELECT count(*) FROM vms' 2>/dev/null || echo 0; }
# (the fake's VMM is named fake-vmm, its guest's namespace holder is a sleep)
sim_holders() { pgrep -c -x 'sleep|fake-vmm' 2>/dev/null || true; }

# caught DESC WANT-EXIT [ID STATUS ...]: the last verifier run ($vrc, its JSON report in
# $CAUGHT_JSON, its stderr in $CAUGHT_ERR) exited WANT-EXIT and gave each ID its STATUS.
# A STATUS may name alternatives, "ok|inconclusive", where the fake's timing decides which.
# On a failure it also prints every point that was not ok, with what it saw.
caught() {
	d=$1 want=$2; shift 2
	bad=""
	[ "$vrc" = "$want" ] || bad="exit $vrc, expected $want"
	while [ $# -gt 0 ]; do
		s=$(status_of "$CAUGHT_JSON" "$1")
		case "|$2|" in *"|$s|"*) ;; *) bad="$bad; $1 is $s, expected $2" ;; esac
		shift 2
	done
	if [ -z "$bad" ]; then ok "$d"; else not_ok "$d" "$bad" "$(tail -3 "$CAUGHT_ERR" 2>/dev/null)" "$(points_not_ok "$CAUGHT_JSON")"; fi
}
