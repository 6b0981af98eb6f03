#!/bin/sh
# ci/deps.sh [demo|check] [--list] - install the Debian packages a target needs.
#   demo   what `make demo` builds and runs, and nothing else
#   check  everything: `make check`, `make check-deep` and every lane (the default;
#          `make deps`)
# As root: apt-get update once, then install what is missing (--no-install-recommends).
# Otherwise: print the exact install line and fail, so a fresh machine never half-builds.
# --list: print the set's package names and install nothing.
# Sizes of each set on a bare Debian 12: docs/ci.md ("A fresh Debian 12").
set -eu
set_name=${1:-check}

# demo: gcc, libc6-dev, make, pkg-config and the -dev libraries the three programs link
# (sqlite3, libcjson, nettle, libseccomp); musl-tools: the static guest probe; sqlite3: the
# fake smolvm writes smolvm's DB with it, and the demo counts the rows left; perl: the fake
# smolvm and the bundle stand-in (JSON::PP, IO::Socket::IP); util-linux: unshare, flock,
# setpriv; nftables + iproute2: the fake's gateway namespaces (netbase: /etc/protocols,
# where nft looks up ipv6-icmp); dnsmasq-base: bottle-launch's DNS guard; procps: sysctl
# and pgrep in the sim set-up; valgrind: its header, which the build needs (bottle-verify
# knows when it runs under valgrind, verify/selfconfine.c).
DEMO="gcc libc6-dev make pkg-config libsqlite3-dev sqlite3 libcjson-dev nettle-dev
libseccomp-dev musl-tools perl util-linux nftables iproute2 netbase dnsmasq-base procps
valgrind"
# check adds: build-essential; clang + libclang-rt-dev: libFuzzer (clang only recommends
# the runtime); libcriterion-dev: the unit tests; git, tinyproxy-bin, jq: the gate's
# stand-in bundle (git daemon, the proxy) and its lane; libtap-formatter-junit-perl:
# prove's JUnit output for CI dashboards; qemu-system-x86, busybox-static,
# linux-image-amd64 (the guest kernel), xz-utils (to unpack it): the qemu lane's real
# guest under TCG; strace: make faults (valgrind, in the demo set, is make valgrind's too);
# groff-base and mandoc: the man page lane renders and lints the three pages; python3: the
# JSON schema's validator and the client lane (integration/client/, standard library only).
CHECK="$DEMO build-essential clang libclang-rt-dev libcriterion-dev git tinyproxy-bin jq
libtap-formatter-junit-perl qemu-system-x86 busybox-static linux-image-amd64 xz-utils
strace groff-base mandoc python3"

case "$set_name" in
demo) PKGS=$DEMO ;;
check) PKGS=$CHECK ;;
*) echo "usage: ci/deps.sh [demo|check] [--list]" >&2; exit 2 ;;
esac
if [ "${2:-}" = --list ]; then
	# shellcheck disable=SC2086
	echo $PKGS
	exit 0
fi

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
	echo "ci/deps.sh $set_name: installing:$missing" >&2
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -q >&2
	# shellcheck disable=SC2086
	apt-get install -y -q --no-install-recommends $missing >&2
	exit 0
fi
echo "ci/deps.sh $set_name: missing Debian packages:$missing" >&2
echo "run as root: apt-get update && apt-get install -y --no-install-recommends$missing" >&2
exit 1
