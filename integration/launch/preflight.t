#!/bin/sh
# bottle-launch preflight runs the bottle-verify that up runs: without --verify, the one
# beside bottle-launch (build/ or the install dir) before any on PATH, and PATH only when
# there is none beside it. A fake smolvm and a stand-in KVM device (as in
# integration/verify/preflight.t) let bottle-verify preflight run to its report.
. "$(dirname "$0")/../lib.sh"
plan 6

mkdir -p "$T/bin" "$T/decoy" "$T/alone"
printf '#!/bin/sh\necho "smolvm 1.9.2"\n' >"$T/bin/smolvm"
# A bottle-verify on PATH that is not ours: preflight must not run it while one is beside.
printf '#!/bin/sh\necho "decoy bottle-verify $*"\nexit 0\n' >"$T/decoy/bottle-verify"
chmod +x "$T/bin/smolvm" "$T/decoy/bottle-verify"
ln -s /dev/null "$T/kvm"
lp() { # BL PATH [args...] -> $T/out, $T/err, $rc
	b=$1 p=$2; shift 2
	env -u SMOLVM_EGRESS_FLOOR -u SMOLVM_EGRESS_ALLOW_PRIVATE -u SMOLVM_GUEST_HOST_SERVICE \
		-u SMOLVM_PUBLISH_ADDR PATH="$p" "$b" preflight --smolvm "$T/bin/smolvm" --kvm-device "$T/kvm" "$@" >"$T/out" 2>"$T/err"
	rc=$?
}

# bottle-verify is not on PATH: the one beside bottle-launch runs.
lp "$BL" /usr/bin:/bin
if grep -q '^TAP version 13$' "$T/out" && grep -q ' - preflight.smolvm.present ' "$T/out"; then
	ok "no bottle-verify on PATH: preflight runs the one beside bottle-launch"
else
	not_ok "no bottle-verify on PATH: preflight runs the one beside bottle-launch" "rc=$rc" "$(head -3 "$T/err")"
fi
# the stand-in device runs no vCPU: the report's one finding is passed on as exit 1
[ $rc = 1 ] && ok "its exit status is bottle-verify's (1: the stand-in KVM runs no vCPU)" \
	|| not_ok "its exit status is bottle-verify's" "rc=$rc" "$(head -3 "$T/err")"

# A decoy first on PATH: still the one beside.
lp "$BL" "$T/decoy:/usr/bin:/bin"
if grep -q ' - preflight.smolvm.present ' "$T/out" && ! grep -q decoy "$T/out"; then
	ok "a bottle-verify on PATH does not win over the one beside"
else
	not_ok "a bottle-verify on PATH does not win over the one beside" "$(head -3 "$T/out")"
fi

# --verify names it: that one runs, whatever is beside.
lp "$BL" /usr/bin:/bin --verify "$T/decoy/bottle-verify"
grep -q "^decoy bottle-verify preflight --smolvm $T/bin/smolvm --kvm-device $T/kvm\$" "$T/out" && [ $rc = 0 ] \
	&& ok "--verify BIN: preflight runs BIN with the smolvm and the device" \
	|| not_ok "--verify BIN: preflight runs BIN" "rc=$rc" "$(cat "$T/out")"

# A bottle-launch with no bottle-verify beside it: PATH, as up does.
if [ "$(head -c 2 "$BL")" != '#!' ]; then
	cp "$BL" "$T/alone/bottle-launch"
	lp "$T/alone/bottle-launch" "$T/decoy:/usr/bin:/bin"
	grep -q '^decoy bottle-verify preflight ' "$T/out" && ok "nothing beside: the bottle-verify on PATH" \
		|| not_ok "nothing beside: the bottle-verify on PATH" "rc=$rc" "$(head -3 "$T/err")"
	lp "$T/alone/bottle-launch" /nonexistent
	[ $rc = 2 ] && grep -q 'spawn bottle-verify' "$T/err" && ok "nothing beside nor on PATH: exit 2, said on stderr" \
		|| not_ok "nothing beside nor on PATH: exit 2, said on stderr" "rc=$rc" "$(head -3 "$T/err")"
else
	# under make valgrind $BL is a wrapper script, which a copy cannot stand for
	ok "nothing beside: the bottle-verify on PATH # SKIP bottle-launch is a wrapper script here"
	ok "nothing beside nor on PATH: exit 2 # SKIP bottle-launch is a wrapper script here"
fi
exit $((failed > 0))
