#!/bin/sh
# ci/fresh-check.sh - `make fresh-check`: the README's set-up on a bare Debian 12, as root.
# Debootstraps bookworm once (kept in $FRESH_DIR, default /var/tmp/bv-fresh), copies it to a
# scratch root, bind-mounts that root onto itself (a mount point, so the sim's
# `unshare --propagation private` works: docs/ci.md) and mounts /proc, /sys and /dev/shm in
# it, puts a clone of this checkout's HEAD in it, then runs inside it as root:
#   prereq  the README's prerequisites line (read from README.md), then `git clone`
#   sizes   `apt-get install --assume-no` of each set of ci/deps.sh: what it would download
#           and install on this bare system (printed, not installed)
#   demo    make demo
#   check   make check
# and prints PASS/FAIL and the time of each step. Exit 0 only if every step passed.
# Everything is unmounted on exit; the scratch root is removed unless FRESH_KEEP=1.
#
#   FRESH_DIR       work dir (/var/tmp/bv-fresh): base-*, the cached .debs, root, logs
#   FRESH_STEPS     the steps after prereq and sizes ("demo check"; "demo" for a quick run)
#   FRESH_VARIANT   debootstrap variant (minbase: the smallest Debian 12 there is)
#   FRESH_MIRROR    (http://deb.debian.org/debian)
#   FRESH_APT_CACHE 1 (default): keep downloaded .debs in $FRESH_DIR/debs between runs (a
#                   second run downloads nothing); 0: every run downloads everything
#   FRESH_KEEP      1: keep the scratch root after the run (unmounted) for a look
#
# Network: the chroot shares the host's network namespace (apt needs it), as `.ci/run` on
# a CI host does; the demo and the lanes make their own namespaces for their traffic. This
# script changes no network configuration.
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
[ "$(id -u)" = 0 ] || { echo "ci/fresh-check.sh: run as root (debootstrap, chroot, mount)" >&2; exit 2; }

W=${FRESH_DIR:-/var/tmp/bv-fresh}
SUITE=bookworm
VARIANT=${FRESH_VARIANT:-minbase}
MIRROR=${FRESH_MIRROR:-http://deb.debian.org/debian}
STEPS=${FRESH_STEPS:-demo check}
BASE=$W/base-$SUITE-$VARIANT
R=$W/root
LOGS=$W/logs
SRC=/root/bottle-verify
mkdir -p "$W/cache" "$LOGS"

# The prerequisites line: the command between backticks on README.md's line that starts
# "On a bare Debian 12", so the README and this check cannot drift apart.
# shellcheck disable=SC2016
PREREQ=$(sed -n 's/^On a bare Debian 12[^`]*`\([^`]*\)`.*/\1/p' "$top/README.md" | head -n 1)
[ -n "$PREREQ" ] || { echo "ci/fresh-check.sh: no prerequisites line in README.md" >&2; exit 2; }

now() { date +%s; }
say() { printf '==> fresh-check: %s\n' "$*" >&2; }

mounted_under() { # prints the mount points at or below $1 (deepest first)
	awk -v r="$1" '$5 == r || index($5, r "/") == 1 { print $5 }' /proc/self/mountinfo | sort -r
}

# shellcheck disable=SC2317
cleanup() {
	set +e
	# processes still running in the chroot (started by this run): by pid
	for p in /proc/[0-9]*; do
		[ "$(readlink "$p/root" 2>/dev/null)" = "$R" ] && kill -KILL "${p#/proc/}" 2>/dev/null
	done
	sleep 0.2
	for m in $(mounted_under "$R"); do umount "$m" 2>/dev/null || umount -l "$m"; done
	if [ -n "$(mounted_under "$R")" ]; then
		echo "ci/fresh-check.sh: still mounted under $R, not removing it:" >&2
		mounted_under "$R" >&2
	elif [ "${FRESH_KEEP:-0}" != 1 ]; then
		rm -rf "$R"
	fi
}

# 1. The base system, debootstrapped once.
t0=$(now)
if [ ! -e "$BASE/.fresh-complete" ]; then
	command -v debootstrap >/dev/null 2>&1 || {
		say "installing debootstrap"
		apt-get install -y -q debootstrap >&2 || { apt-get update -q >&2 && apt-get install -y -q debootstrap >&2; }
	}
	say "debootstrap --variant=$VARIANT $SUITE $BASE $MIRROR"
	rm -rf "$BASE.tmp"
	debootstrap --variant="$VARIANT" --cache-dir="$W/cache" "$SUITE" "$BASE.tmp" "$MIRROR" >"$LOGS/debootstrap.log" 2>&1 ||
		{ tail -20 "$LOGS/debootstrap.log" >&2; echo "ci/fresh-check.sh: debootstrap failed ($LOGS/debootstrap.log)" >&2; exit 1; }
	touch "$BASE.tmp/.fresh-complete"
	mv "$BASE.tmp" "$BASE"
fi

# 2. A scratch copy of it, a mount point of its own, /proc, /sys, /dev/shm.
[ -z "$(mounted_under "$R")" ] || { echo "ci/fresh-check.sh: something is mounted under $R (another run?)" >&2; exit 2; }
rm -rf "$R"
trap cleanup EXIT
trap 'exit 130' INT TERM
cp -a "$BASE" "$R"
rm -f "$R/.fresh-complete"
cp /etc/resolv.conf "$R/etc/resolv.conf"
mount --bind "$R" "$R"
mount --make-private "$R"
mount -t proc proc "$R/proc"
mount -t sysfs sysfs "$R/sys"
mkdir -p "$R/dev/shm" && mount -t tmpfs -o mode=1777,size=512m shm "$R/dev/shm"
if [ "${FRESH_APT_CACHE:-1}" = 1 ]; then
	mkdir -p "$W/debs/partial"
	mount --bind "$W/debs" "$R/var/cache/apt/archives"
fi
# the checkout's HEAD as a repository to clone from (a user clones from the forge)
git clone -q --bare "$top" "$R/root/bottle-verify.git"
t_base=$(($(now) - t0))

in_root() { # STEP CMD: run CMD in the chroot as root with a clean environment, log, time
	step=$1 cmd=$2
	say "$step: $cmd"
	s=$(now)
	if chroot "$R" /usr/bin/env -i HOME=/root TERM=dumb LANG=C.UTF-8 \
		PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
		/bin/sh -c "$cmd" >"$LOGS/$step.log" 2>&1; then
		res=PASS
	else
		res=FAIL
		tail -40 "$LOGS/$step.log" >&2
	fi
	secs=$(($(now) - s))
	say "$res $step (${secs}s, log $LOGS/$step.log)"
	summary="$summary
$res $step ${secs}s"
	[ $res = PASS ]
}

summary="
base (debootstrap $VARIANT or cached, copy, mounts) ${t_base}s"
rc=0
in_root prereq "$PREREQ && git clone -q /root/bottle-verify.git $SRC" || rc=1
# What each set would install on this bare system (plus the prerequisites above).
if [ $rc = 0 ]; then
	in_root sizes "cd $SRC && for s in demo check; do echo \"== \$s: \$(ci/deps.sh \$s --list | wc -w) packages named\"; \
		apt-get install --no-install-recommends --assume-no \$(ci/deps.sh \$s --list) | grep -E 'newly installed|^Need to get|^After this operation'; done; true" || rc=1
	grep -E '^==|newly|Need|After' "$LOGS/sizes.log" >&2 || true
fi
for st in $STEPS; do
	[ $rc = 0 ] || break
	case $st in
	demo) in_root demo "cd $SRC && make demo" || rc=1 ;;
	check) in_root check "cd $SRC && make check" || rc=1 ;;
	*) echo "ci/fresh-check.sh: unknown step $st" >&2; rc=2 ;;
	esac
done
say "summary (Debian 12 $VARIANT, as root):$summary"
exit $rc
