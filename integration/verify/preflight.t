#!/bin/sh
# bottle-verify preflight: smolvm presence and version, KVM device presence and access,
# whether KVM really runs a vCPU, and the environment variables that weaken smolvm's
# confinement. A fake smolvm (a script printing a chosen version) and a KVM device path
# made by the test stand in; the stand-in (/dev/null's numbers) cannot run a vCPU, so
# preflight.kvm.runs is not ok against it, and that is a must-fail case of its own.
. "$(dirname "$0")/../lib.sh"
plan 28

mkdir -p "$T/bin" "$T/badbin"
printf '#!/bin/sh\necho "smolvm ${FAKE_VERSION:-1.9.2}"\n' >"$T/bin/smolvm"
printf '#!/bin/sh\necho "this is not a version"\n' >"$T/badbin/smolvm"
chmod +x "$T/bin/smolvm" "$T/badbin/smolvm"
# A stand-in KVM device: a character device node the test controls (/dev/null's numbers).
if [ "$(id -u)" = 0 ]; then mknod "$T/kvm" c 1 3 && chmod 0666 "$T/kvm"; else ln -s /dev/null "$T/kvm"; fi
: >"$T/regular"
pf() { # env... -> $T/out.json, $rc
	env -u SMOLVM_EGRESS_FLOOR -u SMOLVM_EGRESS_ALLOW_PRIVATE -u SMOLVM_GUEST_HOST_SERVICE \
		-u SMOLVM_PUBLISH_ADDR "$@" "$BV" --format json preflight --kvm-device "${KVM:-$T/kvm}" \
		--platform linux >"$T/out.json" 2>"$T/err"
	rc=$?
}
is() { # desc id status
	got=$(status_of "$T/out.json" "$2")
	[ "$got" = "$3" ] && ok "$1" || not_ok "$1" "got $got"
}

pf PATH="$T/bin:/usr/bin:/bin"
is "smolvm found" preflight.smolvm.present ok
is "version read" preflight.smolvm.version ok
is "1.9.2 keeps --allow-cidr with --from" preflight.smolvm.from_keeps_policy ok
is "KVM device present" preflight.kvm.present ok
is "KVM device read/write" preflight.kvm.access ok
is "SMOLVM_EGRESS_FLOOR unset is fine" preflight.env.egress_floor ok
is "a stand-in device that is not KVM does not run a vCPU: not ok" preflight.kvm.runs not_ok
others=$(perl -MJSON::PP -e 'local $/; my $d = decode_json(<STDIN>);
	print join(" ", map { "$_->{id}=$_->{status}" } grep { $_->{status} ne "ok" } @{$d->{points}})' <"$T/out.json")
[ $rc = 1 ] && [ "$others" = "preflight.kvm.runs=not_ok" ] && ok "confined host, stand-in KVM: exit 1, kvm.runs the only finding" \
	|| not_ok "confined host, stand-in KVM: exit 1, kvm.runs the only finding" "rc=$rc not ok: $others" "$(tr '\n' ' ' <"$T/err")"

# Must-fail: a character device that is not KVM, given as the device, never gives ok.
env PATH="$T/bin:/usr/bin:/bin" "$BV" preflight --kvm-device /dev/null --platform linux >"$T/null.tap" 2>&1
if grep -q '^not ok [0-9]* - preflight.kvm.runs ' "$T/null.tap" && ! grep -q '^ok [0-9]* - preflight.kvm.runs' "$T/null.tap"; then
	ok "--kvm-device /dev/null: never ok ... preflight.kvm.runs"
else
	not_ok "--kvm-device /dev/null: never ok ... preflight.kvm.runs" "$(grep -A4 'preflight.kvm.runs' "$T/null.tap" | head -5 | tr '\n' ' ')"
fi
grep -q "KVM_GET_API_VERSION: Inappropriate ioctl for device: not a KVM device" "$T/null.tap" \
	&& ok "--kvm-device /dev/null: the finding says it is not a KVM device" \
	|| not_ok "--kvm-device /dev/null: the finding says it is not a KVM device" "$(grep 'actual' "$T/null.tap" | tr '\n' ' ')"

pf PATH="$T/bin:/usr/bin:/bin" FAKE_VERSION=0.8.0
is "0.8.0 drops --allow-cidr with --from: TODO" preflight.smolvm.from_keeps_policy todo

pf PATH="/nonexistent"
is "no smolvm on PATH: not ok" preflight.smolvm.present not_ok
[ $rc = 2 ] && ok "no smolvm: exit 2 (version inconclusive)" || not_ok "no smolvm: exit 2" "rc=$rc"

pf PATH="$T/badbin:/usr/bin:/bin"
is "garbage version: inconclusive" preflight.smolvm.version inconclusive

KVM="$T/no-kvm" pf PATH="$T/bin:/usr/bin:/bin"
is "missing KVM device: not ok" preflight.kvm.present not_ok
is "missing KVM device: kvm.runs inconclusive (not tried)" preflight.kvm.runs inconclusive
grep -q "modprobe kvm-intel" "$T/out.json" && ok "missing KVM: remediation names the module" \
	|| not_ok "missing KVM: remediation names the module"

pf PATH="$T/bin:/usr/bin:/bin" SMOLVM_EGRESS_FLOOR=off
is "SMOLVM_EGRESS_FLOOR=off: not ok" preflight.env.egress_floor not_ok
pf PATH="$T/bin:/usr/bin:/bin" SMOLVM_EGRESS_FLOOR=strict
is "SMOLVM_EGRESS_FLOOR=strict: ok" preflight.env.egress_floor ok
pf PATH="$T/bin:/usr/bin:/bin" SMOLVM_EGRESS_FLOOR=" Metadata-Only "
is "SMOLVM_EGRESS_FLOOR read as smolvm does (trimmed, any case): ok" preflight.env.egress_floor ok
KVM="$T/regular" pf PATH="$T/bin:/usr/bin:/bin"
is "a regular file is not the KVM device: not ok" preflight.kvm.present not_ok
is "a regular file: kvm.runs inconclusive (not tried)" preflight.kvm.runs inconclusive
pf PATH="$T/bin:/usr/bin:/bin" SMOLVM_EGRESS_ALLOW_PRIVATE=1
is "SMOLVM_EGRESS_ALLOW_PRIVATE=1: not ok" preflight.env.egress_allow_private not_ok
pf PATH="$T/bin:/usr/bin:/bin" SMOLVM_GUEST_HOST_SERVICE=8080:80
is "SMOLVM_GUEST_HOST_SERVICE set: not ok" preflight.env.guest_host_service not_ok
pf PATH="$T/bin:/usr/bin:/bin" SMOLVM_PUBLISH_ADDR=0.0.0.0
is "SMOLVM_PUBLISH_ADDR set: not ok" preflight.env.publish_addr not_ok

# An unreadable device as an unprivileged user (root would open anything).
chmod 0600 "$T/kvm"
chmod 0755 "$T" "$T/bin"
if [ "$(id -u)" = 0 ] && command -v setpriv >/dev/null; then
	# (a copy in $T: the checkout may be where uid 65534 cannot reach it, e.g. under /root)
	cp "$BV" "$T/bin/bottle-verify" && chmod 0755 "$T/bin/bottle-verify"
	setpriv --reuid=65534 --regid=65534 --clear-groups env PATH="$T/bin:/usr/bin:/bin" \
		"$T/bin/bottle-verify" --format json preflight --kvm-device "$T/kvm" --platform linux >"$T/out.json" 2>/dev/null
	is "KVM device not read/write for this user: not ok" preflight.kvm.access not_ok
	is "KVM device not read/write: kvm.runs inconclusive (not tried)" preflight.kvm.runs inconclusive
elif [ "$(id -u)" != 0 ]; then
	pf PATH="$T/bin:/usr/bin:/bin"
	chmod 0000 "$T/kvm"
	pf PATH="$T/bin:/usr/bin:/bin"
	is "KVM device not read/write for this user: not ok" preflight.kvm.access not_ok
	is "KVM device not read/write: kvm.runs inconclusive (not tried)" preflight.kvm.runs inconclusive
else
	ok "KVM access as another user # SKIP setpriv not available"
	ok "kvm.runs after no access # SKIP setpriv not available"
fi

# This host's own /dev/kvm, when there is one: the run is tried (ok or not ok, never
# inconclusive), and ok only with the loop done and HLT in the point. Its words go to the log.
if [ -c /dev/kvm ] && [ -r /dev/kvm ] && [ -w /dev/kvm ]; then
	KVM=/dev/kvm pf PATH="$T/bin:/usr/bin:/bin"
	st=$(status_of "$T/out.json" preflight.kvm.runs)
	echo "# this host's /dev/kvm: preflight.kvm.runs $st: $(field_of "$T/out.json" preflight.kvm.runs actual)"
	echo "# $(field_of "$T/out.json" preflight.kvm.runs evidence)"
	desc=$(perl -MJSON::PP -e 'local $/; my $d = decode_json(<STDIN>);
		for (@{$d->{points}}) { print $_->{description} if $_->{id} eq "preflight.kvm.runs" }' <"$T/out.json")
	case $st in
	ok) case $desc in *"-iteration loop in "*" ms, HLT after "*) ok "this host's /dev/kvm: tried, ok with the loop and HLT" ;;
		*) not_ok "this host's /dev/kvm: ok names the loop and HLT" "$desc" ;; esac ;;
	not_ok) ok "this host's /dev/kvm: tried, not ok (see the log above)" ;;
	*) not_ok "this host's /dev/kvm: tried (ok or not ok)" "status $st" ;;
	esac
else
	ok "this host's /dev/kvm # SKIP no read/write /dev/kvm here"
fi
