#!/bin/sh
# ci/kvm-runner.sh - what a KVM runner runs for the pre-merge escape gate (docs/ci.md):
#   1. make deps                      (Debian packages; through sudo -n when not root)
#   2. ci/install-smolvm.sh           (pinned smolvm, verified; fails without usable /dev/kvm)
#   3. BOTTLE_VERIFY_MUST_RUN=1 make integration   (every lane, kvm included; a skip fails)
#   4. BOTTLE_VERIFY_MUST_RUN=1 make junit         ($BUILD/junit.xml for the dashboard)
# Step 4 runs even when step 3 failed, so the failing run still leaves its XML. It is a
# second full run (TAP::Formatter::JUnit replaces prove's console output); set
# KVM_RUNNER_ONE_PASS=1 to skip step 3 and read the results from the XML only.
# KVM_RUNNER_SKIP_DEPS=1 / KVM_RUNNER_SKIP_INSTALL=1: the host brings the packages / smolvm
# itself (NixOS); SMOLVM_VERSION, when set, must then match `smolvm --version`.
# Exit: 0 only when every step passed; 1 otherwise.
set -u
cd "$(dirname "$0")/.." || exit 1
BUILD=${BUILD:-build}
export BUILD
status=0

step() { echo "== kvm-runner: $*" >&2; }
fail() { echo "== kvm-runner: FAILED: $*" >&2; status=1; }

step "host: $(uname -srm), user $(id -un) ($(id -nG))"
ls -l /dev/kvm >&2 2>/dev/null || echo "   /dev/kvm: missing" >&2
# Ubuntu >= 23.10 may forbid unprivileged user namespaces through AppArmor; the sim lane
# needs them (or root), and under MUST_RUN it then fails rather than skips.
if [ "$(cat /proc/sys/kernel/apparmor_restrict_unprivileged_userns 2>/dev/null)" = 1 ] && [ "$(id -u)" != 0 ]; then
	step "warning: kernel.apparmor_restrict_unprivileged_userns=1: the sim lane cannot make its namespaces (docs/ci.md)"
fi

if [ "${KVM_RUNNER_SKIP_DEPS:-}" = 1 ]; then
	step "make deps skipped (KVM_RUNNER_SKIP_DEPS=1: the host provides the packages, e.g. NixOS)"
else
	step "make deps"
	if [ "$(id -u)" != 0 ] && command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
		sudo -n make deps || { fail "make deps (as root through sudo)"; exit 1; }
	else
		make deps || { fail "make deps (run it as root, or give the runner user sudo)"; exit 1; }
	fi
fi

if [ "${KVM_RUNNER_SKIP_INSTALL:-}" = 1 ]; then
	# smolvm comes from elsewhere (NixOS: smolvm's flake); it must still be the pinned one.
	step "smolvm install skipped (KVM_RUNNER_SKIP_INSTALL=1): using $(command -v smolvm || echo 'no smolvm on PATH')"
	if [ -n "${SMOLVM_VERSION:-}" ] && ! smolvm --version 2>/dev/null | grep -qx "smolvm ${SMOLVM_VERSION#v}"; then
		fail "smolvm on PATH is '$(smolvm --version 2>&1 | head -1)', SMOLVM_VERSION=$SMOLVM_VERSION"; exit 1
	fi
else
	step "install smolvm ${SMOLVM_VERSION:-(default version)}"
	ci/install-smolvm.sh || { fail "ci/install-smolvm.sh"; exit 1; }
	PATH="${SMOLVM_BIN_DIR:-$HOME/.local/bin}:$PATH"
	export PATH
fi
smolvm --version >&2 || { fail "smolvm is not runnable"; exit 1; }

export BOTTLE_VERIFY_MUST_RUN=1
if [ "${KVM_RUNNER_ONE_PASS:-}" != 1 ]; then
	step "BOTTLE_VERIFY_MUST_RUN=1 make integration"
	make integration || fail "make integration"
fi

step "BOTTLE_VERIFY_MUST_RUN=1 make junit -> $BUILD/junit.xml"
make junit || fail "make junit"
if [ -s "$BUILD/junit.xml" ]; then
	# One line per suite that failed or errored, and the totals.
	perl -e '
		local $/; my $x = <>; $x =~ s/<!\[CDATA\[.*?\]\]>//sg;
		my ($s, $t, $f, $e) = (0, 0, 0, 0);
		while ($x =~ /<testsuite\b([^>]*)>/g) {
			my %a = $1 =~ /([\w-]+)="([^"]*)"/g; $s++;
			$t += $a{tests} // 0; $f += $a{failures} // 0; $e += $a{errors} // 0;
			print STDERR "   $a{name}: $a{failures} failures, $a{errors} errors\n"
				if ($a{failures} // 0) + ($a{errors} // 0);
		}
		print STDERR "== kvm-runner: junit.xml: $s suites, $t tests, $f failures, $e errors\n";
		exit(($f + $e) ? 1 : 0);' "$BUILD/junit.xml" || fail "junit.xml records failures or errors"
else
	fail "$BUILD/junit.xml is missing or empty"
fi

if [ $status = 0 ]; then step "PASS"; else step "FAIL"; fi
exit $status
