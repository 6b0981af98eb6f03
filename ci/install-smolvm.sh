#!/bin/sh
# ci/install-smolvm.sh - install one pinned smolvm release on a Linux KVM runner.
#
# It lays smolvm out the way smolvm's own installer (scripts/install.sh, served at
# https://smolmachines.com/install.sh) does, but pinned and verified instead of
# "latest, checksum if available":
#   asset      https://github.com/smol-machines/smolvm/releases/download/vV/smolvm-V-linux-ARCH.tar.gz
#              (ARCH x86_64 or arm64; a tarball with one top directory of the same name)
#   checksums  .../vV/checksums.sha256 (sha256sum format, written by the release workflow)
#   layout     $SMOLVM_PREFIX (default ~/.smolvm): smolvm (wrapper), smolvm-bin, lib/, smol*,
#              the ext4 templates (made sparse 20G/10G); the data dir (~/.local/share/smolvm):
#              agent-rootfs/ and init.krun; $SMOLVM_BIN_DIR/smolvm -> $SMOLVM_PREFIX/smolvm
#
# Environment (all optional):
#   SMOLVM_VERSION       release to install, X.Y.Z (default below: the newest release found)
#   SMOLVM_SHA256        expected SHA-256 of the tarball (default: the built-in pin when the
#                        version and architecture have one)
#   SMOLVM_PREFIX        install directory (default ~/.smolvm)
#   SMOLVM_BIN_DIR       where the smolvm link goes (default ~/.local/bin)
#   SMOLVM_RELEASES_URL  release download base (tests point it at a file:// tree)
#   SMOLVM_REINSTALL=1   install again even when this version is already installed
#   KVM_DEVICE           the KVM device to check (default /dev/kvm)
# Exit: 0 installed (or already installed) and `smolvm --version` agrees; 1 any failure.
set -eu

SMOLVM_VERSION=${SMOLVM_VERSION:-1.9.3}
SMOLVM_VERSION=${SMOLVM_VERSION#v}
PREFIX=${SMOLVM_PREFIX:-$HOME/.smolvm}
BIN_DIR=${SMOLVM_BIN_DIR:-$HOME/.local/bin}
BASE=${SMOLVM_RELEASES_URL:-https://github.com/smol-machines/smolvm/releases/download}
KVM_DEVICE=${KVM_DEVICE:-/dev/kvm}

say() { echo "install-smolvm: $*" >&2; }
die() { echo "install-smolvm: error: $*" >&2; exit 1; }

# SHA-256 of the v1.9.3 release tarballs, as recorded independently of the release's own
# checksums.sha256: smolvm's update-nix-flake workflow downloads every tarball and writes
# its hash into nix/smolvm.nix (branch nix-bump-1.9.3, commit 7ca2d48c; SRI base64
# converted to hex). Both this pin and checksums.sha256 must agree with the download.
pinned_sha256() { # VERSION ASSETARCH
	case "$1/$2" in
	1.9.3/x86_64) echo 072e49e41b9bc4d6d3c0806e051ddf94e2af7e4d21915b040fe7e3f185fe0104 ;;
	1.9.3/arm64) echo 2d32c1dbe1e9cf88395ea2c099ec04de0828f76e1f28ceb69ae20cce8c62a83e ;;
	*) echo "" ;;
	esac
}

# Run a command as root: directly, or through sudo when it needs no password.
as_root() {
	if [ "$(id -u)" = 0 ]; then "$@"; return; fi
	if command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then sudo -n "$@"; return; fi
	return 126
}

# --- 1. platform ----------------------------------------------------------------------
case "$SMOLVM_VERSION" in
*[!0-9.]* | '' | .* | *.) die "SMOLVM_VERSION must look like X.Y.Z, not '$SMOLVM_VERSION'" ;;
esac
[ "$(uname -s)" = Linux ] || die "this installs smolvm on a Linux KVM runner; this is $(uname -s)"
case "$(uname -m)" in
x86_64 | amd64) arch=x86_64 ;;
aarch64 | arm64) arch=arm64 ;; # smolvm names its aarch64 Linux asset linux-arm64
*) die "smolvm ships Linux x86_64 and aarch64 only; this is $(uname -m)" ;;
esac
asset="smolvm-$SMOLVM_VERSION-linux-$arch"

# --- 2. /dev/kvm ------------------------------------------------------------------------
# smolvm checks KVM only when a VM starts (start, run, shell); check it here so a runner
# without KVM fails at install time with the fix, not halfway through the gate.
kvm_help() {
	cat >&2 <<EOF
  KVM is needed to start a smolvm machine. On the runner host:
    - virtualisation enabled in firmware (VT-x / AMD-V); on a cloud VM, nested virtualisation
    - the module loaded:   sudo modprobe kvm_intel   (AMD: sudo modprobe kvm_amd)
      persistently:        echo kvm_intel | sudo tee /etc/modules-load.d/kvm.conf
    - the runner user in the kvm group:  sudo usermod -aG kvm $(id -un)
      (then restart the runner service so it gets the new group)
    - or a udev rule:  KERNEL=="kvm", GROUP="kvm", MODE="0660", OPTIONS+="static_node=kvm"
  Check with: ls -l $KVM_DEVICE   (crw-rw---- root kvm 10, 232) and id -nG. See docs/ci.md.
EOF
}
if [ ! -e "$KVM_DEVICE" ]; then
	say "$KVM_DEVICE does not exist: the kvm module is not loaded or KVM is not exposed to this machine"
	kvm_help; exit 1
fi
if [ ! -c "$KVM_DEVICE" ]; then
	say "$KVM_DEVICE is not a character device"; kvm_help; exit 1
fi
if [ ! -r "$KVM_DEVICE" ] || [ ! -w "$KVM_DEVICE" ]; then
	say "$KVM_DEVICE is not readable and writable by $(id -un) (groups: $(id -nG))"
	ls -l "$KVM_DEVICE" >&2 || true
	kvm_help; exit 1
fi
if command -v perl >/dev/null 2>&1; then
	# KVM_GET_API_VERSION (_IO(0xAE, 0x00) on every architecture) must answer 12.
	api=$(perl -e 'open(my $f, "+<", $ARGV[0]) or die "open: $!\n";
		my $v = ioctl($f, 0xAE00, 0); defined $v or die "KVM_GET_API_VERSION: $!\n"; print $v + 0' \
		"$KVM_DEVICE" 2>&1) || { say "$KVM_DEVICE cannot be used: $api"; kvm_help; exit 1; }
	[ "$api" = 12 ] || { say "$KVM_DEVICE answers KVM API $api, expected 12"; exit 1; }
	say "KVM: $KVM_DEVICE is usable (API 12)"
fi

# --- 3. host requirements -----------------------------------------------------------------
# The release's bundled libkrun needs glibc >= 2.35 (the Linux assets are built on 22.04).
glibc=$(getconf GNU_LIBC_VERSION 2>/dev/null | sed -n 's/^glibc \([0-9.]*\).*/\1/p')
if [ -n "$glibc" ]; then
	major=${glibc%%.*} minor=${glibc#*.}; minor=${minor%%.*}
	if [ "$major" -lt 2 ] || { [ "$major" = 2 ] && [ "$minor" -lt 35 ]; }; then
		die "glibc $glibc is older than 2.35, which smolvm's release binaries need"
	fi
else
	say "warning: could not read the glibc version (smolvm's release binaries need glibc >= 2.35)"
fi
# Host tools smolvm runs: crun, jq, mkfs.ext4 (smolvm's Debian package depends on crun and
# jq; its Nix package puts crun, jq, e2fsprogs, util-linux, gzip and tar on the PATH).
missing="" tools_pkgs=""
for t in crun:crun jq:jq mkfs.ext4:e2fsprogs tar:tar gzip:gzip curl:curl sha256sum:coreutils; do
	cmd=${t%%:*} pkg=${t#*:}
	if ! command -v "$cmd" >/dev/null 2>&1 && [ ! -x "/sbin/$cmd" ] && [ ! -x "/usr/sbin/$cmd" ]; then
		missing="$missing $cmd" tools_pkgs="$tools_pkgs $pkg"
	fi
done
if [ -n "$missing" ]; then
	if command -v apt-get >/dev/null 2>&1; then
		say "installing host tools smolvm needs:$tools_pkgs"
		# shellcheck disable=SC2086
		as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends $tools_pkgs >&2 ||
			{ as_root apt-get update -q >&2 &&
			  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends $tools_pkgs >&2; } ||
			die "missing:$missing; run as root: apt-get update && apt-get install -y --no-install-recommends$tools_pkgs"
	else
		die "missing host tools:$missing (packages:$tools_pkgs)"
	fi
fi

# --- 4. already installed? ----------------------------------------------------------------
installed_version() {
	[ -x "$BIN_DIR/smolvm" ] || return 0
	"$BIN_DIR/smolvm" --version 2>/dev/null | sed -n 's/^smolvm \([0-9][0-9.]*\).*/\1/p' | head -1
}
if [ "${SMOLVM_REINSTALL:-}" != 1 ] && [ -f "$PREFIX/.version" ] &&
	[ "$(cat "$PREFIX/.version")" = "$SMOLVM_VERSION" ] && [ "$(installed_version)" = "$SMOLVM_VERSION" ]; then
	say "smolvm $SMOLVM_VERSION is already installed in $PREFIX ($BIN_DIR/smolvm); SMOLVM_REINSTALL=1 to reinstall"
	exit 0
fi

# --- 5. download and verify -------------------------------------------------------------
tmp=$(mktemp -d "${TMPDIR:-/tmp}/install-smolvm.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
fetch() { # URL FILE
	case "$1" in
	https://*) curl -fsSL --proto '=https' --tlsv1.2 --retry 3 --retry-delay 2 -o "$2" "$1" ;;
	file://*) curl -fsSL --proto '=file' -o "$2" "$1" ;;
	*) die "refusing to download over anything but https (or file:// for tests): $1" ;;
	esac
}
url="$BASE/v$SMOLVM_VERSION/$asset.tar.gz"
say "downloading $url"
fetch "$url" "$tmp/$asset.tar.gz" || die "download failed: $url (does release v$SMOLVM_VERSION exist for linux-$arch?)"
actual=$(sha256sum "$tmp/$asset.tar.gz" | cut -d' ' -f1)

published=""
if fetch "$BASE/v$SMOLVM_VERSION/checksums.sha256" "$tmp/checksums.sha256" 2>/dev/null; then
	published=$(awk -v f="$asset.tar.gz" '$2 == f || $2 == "*" f { print $1 }' "$tmp/checksums.sha256")
	[ -n "$published" ] || die "checksums.sha256 of v$SMOLVM_VERSION does not list $asset.tar.gz"
	[ "$(printf '%s\n' "$published" | wc -l)" = 1 ] || die "checksums.sha256 lists $asset.tar.gz more than once"
	[ "$published" = "$actual" ] ||
		die "checksum mismatch for $asset.tar.gz: checksums.sha256 says $published, the download is $actual"
	say "sha256 $actual matches the release's checksums.sha256"
fi
expected=${SMOLVM_SHA256:-$(pinned_sha256 "$SMOLVM_VERSION" "$arch")}
if [ -n "$expected" ]; then
	[ "$expected" = "$actual" ] || die "checksum mismatch for $asset.tar.gz: pinned $expected, the download is $actual"
	say "sha256 $actual matches the pinned value"
fi
if [ -z "$published" ] && [ -z "$expected" ]; then
	die "v$SMOLVM_VERSION publishes no checksums.sha256 and no SHA-256 is pinned for it: set SMOLVM_SHA256"
fi
[ -n "$expected" ] || say "note: no independent pin for v$SMOLVM_VERSION/$arch; verified against the release's own checksums.sha256 only (set SMOLVM_SHA256 to pin)"

# --- 6. unpack --------------------------------------------------------------------------
# Only relative paths under the one top directory; no absolute paths, no "..".
tar -tzf "$tmp/$asset.tar.gz" >"$tmp/list" || die "cannot list $asset.tar.gz"
if grep -Ev "^(\./)?$asset(/|\$)" "$tmp/list" | grep -q . || grep -Eq '(^|/)\.\.(/|$)' "$tmp/list"; then
	die "$asset.tar.gz holds paths outside $asset/"
fi
mkdir "$tmp/x"
tar -xzf "$tmp/$asset.tar.gz" -C "$tmp/x" --no-same-owner || die "cannot unpack $asset.tar.gz"
src="$tmp/x/$asset"
for f in smolvm smolvm-bin lib; do [ -e "$src/$f" ] || die "$asset.tar.gz has no $f"; done

# --- 7. install (the official installer's layout) ---------------------------------------
case "$PREFIX" in
/?*) ;;
*) die "SMOLVM_PREFIX must be an absolute path: '$PREFIX'" ;;
esac
case "${PREFIX%/}" in
/ | /usr | /usr/* | /bin | /sbin | /lib | /lib64 | /etc | /var | /opt | /tmp | /boot | /proc | /sys | /dev)
	die "refusing to install into the system directory $PREFIX (upstream's installer refuses too)" ;;
esac
if [ -e "$PREFIX" ] && [ ! -f "$PREFIX/.version" ] && [ -n "$(ls -A "$PREFIX" 2>/dev/null)" ]; then
	die "$PREFIX exists, is not empty and holds no smolvm install (.version): choose SMOLVM_PREFIX"
fi
mkdir -p "$PREFIX" "$BIN_DIR"
rm -rf "${PREFIX:?}/lib"
for f in smolvm smolvm-bin smol smol-bin storage-template.ext4 overlay-template.ext4 .version; do
	rm -f "$PREFIX/$f"
done
cp -R "$src/lib" "$PREFIX/"
for f in smolvm smolvm-bin smol smol-bin; do
	if [ -f "$src/$f" ]; then cp "$src/$f" "$PREFIX/$f"; chmod 0755 "$PREFIX/$f"; fi
done
# As upstream: the ext4 templates, sparse-sized to the defaults (20G storage, 10G overlay)
# so fresh VMs get a copy-on-write overlay instead of a per-boot copy.
for t in storage-template.ext4:20G overlay-template.ext4:10G; do
	f=${t%%:*}
	if [ -f "$src/$f" ]; then cp "$src/$f" "$PREFIX/$f"; truncate -s "${t#*:}" "$PREFIX/$f"; fi
done
data_dir="${XDG_DATA_HOME:-$HOME/.local/share}/smolvm"
mkdir -p "$data_dir"
if [ -d "$src/agent-rootfs" ]; then
	rm -rf "$data_dir/agent-rootfs"
	cp -a "$src/agent-rootfs" "$data_dir/"
else
	say "warning: $asset has no agent-rootfs"
fi
if [ -f "$src/init.krun" ]; then
	cp "$src/init.krun" "$data_dir/init.krun" && chmod 0755 "$data_dir/init.krun"
fi
echo "$SMOLVM_VERSION" >"$PREFIX/.version"
ln -sf "$PREFIX/smolvm" "$BIN_DIR/smolvm"

# --- 8. check -----------------------------------------------------------------------------
got=$(installed_version)
[ "$got" = "$SMOLVM_VERSION" ] ||
	die "$BIN_DIR/smolvm --version says '${got:-nothing}', expected $SMOLVM_VERSION ($("$BIN_DIR/smolvm" --version 2>&1 | head -3))"
say "smolvm $SMOLVM_VERSION installed in $PREFIX; $BIN_DIR/smolvm"
case ":$PATH:" in *":$BIN_DIR:"*) ;; *) say "add $BIN_DIR to PATH" ;; esac
# GitHub Actions and Gitea's act_runner both read GITHUB_PATH for later steps.
if [ -n "${GITHUB_PATH:-}" ]; then echo "$BIN_DIR" >>"$GITHUB_PATH"; fi
exit 0
