#!/bin/sh
# ci/deps.sh - install the Debian packages the build and the tests need (make deps).
# As root: apt-get update once, then install what is missing. Otherwise: print the
# exact install line and fail, so a fresh machine never half-builds.
set -eu
# clang + libclang-rt-dev: libFuzzer (clang only recommends the runtime); util-linux:
# flock and setpriv for the lane scripts; perl: prove and JSON::PP; musl-tools: the
# static guest probe; nftables + iproute2: the namespaces the egress lanes build;
# git, tinyproxy-bin, jq: the gate's stand-in bundle (git daemon, the proxy) and its lane;
# libtap-formatter-junit-perl: prove's JUnit output for CI dashboards; qemu-system-x86,
# busybox-static, linux-image-amd64 (the guest kernel), xz-utils (to unpack it): the qemu
# lane's real guest under TCG; valgrind (its header: bottle-verify knows when it runs under
# it) and strace: make valgrind and make faults; dnsmasq-base: bottle-launch's DNS guard;
# groff-base and mandoc: the man page lane renders and lints the three pages; python3: the
# JSON schema's validator (integration/client/schema_check.py, standard library only).
PKGS="build-essential pkg-config clang libclang-rt-dev libsqlite3-dev sqlite3 libcjson-dev
nettle-dev libseccomp-dev libcriterion-dev perl util-linux musl-tools nftables iproute2
git tinyproxy-bin jq libtap-formatter-junit-perl qemu-system-x86 busybox-static
linux-image-amd64 xz-utils valgrind strace dnsmasq-base groff-base mandoc python3"

missing=""
for p in $PKGS; do
	st=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)
	case "$st" in
	*"install ok installed"*) ;;
	*) missing="$missing $p" ;;
	esac
done
[ -z "$missing" ] && exit 0

if [ "$(id -u)" = 0 ]; then
	echo "make deps: installing:$missing" >&2
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -q >&2
	# shellcheck disable=SC2086
	apt-get install -y -q --no-install-recommends $missing >&2
	exit 0
fi
echo "make deps: missing Debian packages:$missing" >&2
echo "run as root: apt-get update && apt-get install -y --no-install-recommends$missing" >&2
exit 1
