#!/bin/sh
# make install (PREFIX, DESTDIR) puts every file where a Debian user looks for it, with
# its mode: the two commands in PREFIX/bin, bottle-probe in PREFIX/lib/bottle-verify
# (where the installed bottle-verify finds it, docs/probe.md), the three man pages where
# man finds them, the docs; make uninstall takes them all away again. Nothing here is
# built: the install copies the build tree the lane runs ($BV_BUILD).
. "$(dirname "$0")/../lib.sh"
R="$T/root"
# What must land, as MODE PATH-under-PREFIX SOURCE.
{
	echo "755 bin/bottle-verify $BV_BUILD/bottle-verify"
	echo "755 bin/bottle-launch $BV_BUILD/bottle-launch"
	echo "755 lib/bottle-verify/bottle-probe $BV_BUILD/bottle-probe"
	for p in "$top"/man/*.1; do echo "644 share/man/man1/$(basename "$p") $p"; done
	for d in "$top/README.md" "$top/CHANGELOG.md" "$top"/docs/*.md "$top/docs/report.schema.json"; do echo "644 share/doc/bottle-verify/$(basename "$d") $d"; done
} >"$T/expected"
nfiles=$(wc -l <"$T/expected")
cut -d' ' -f2 "$T/expected" | sort >"$T/want"
plan $((nfiles + 10))
skip_all() {
	i=0
	while [ $i -lt $((nfiles + 10)) ]; do ok "install # SKIP $1"; i=$((i + 1)); done
	exit 0
}
# Under make valgrind the lane's programs are wrapper scripts, not a build tree.
[ "$(head -c 2 "$BV")" = '#!' ] && skip_all "$BV_BUILD holds wrapper scripts, not a build"
command -v make >/dev/null || skip_all "no make"
# (make cannot take a BUILD with a space in it: a symlink in $T stands for the build tree)
case $T in *[[:space:]]*) skip_all "make cannot take a BUILD path with a space in it, and $T has one (TMPDIR)" ;; esac
ln -s "$BV_BUILD" "$T/build" || skip_all "cannot link $T/build to $BV_BUILD"
mk() { env -u PREFIX -u DESTDIR make -C "$top" --no-print-directory BUILD="$T/build" "$@" >"$T/make.out" 2>&1; }

mk install DESTDIR="$R" PREFIX=/usr
rc=$?
[ $rc = 0 ] && ok "make install DESTDIR=... PREFIX=/usr exits 0" || not_ok "make install exits 0" "rc=$rc" "$(tail -5 "$T/make.out")"
while read -r mode rel src; do
	f="$R/usr/$rel"
	got=$(stat -c %a "$f" 2>/dev/null)
	if [ "$got" = "$mode" ] && [ -f "$f" ] && [ ! -L "$f" ] && cmp -s "$src" "$f"; then
		ok "/usr/$rel: mode $mode, the same bytes as $(basename "$src")"
	else
		not_ok "/usr/$rel: mode $mode, the same bytes as $(basename "$src")" "mode ${got:-missing}"
	fi
done <"$T/expected"
extra=$(cd "$R" && find . -type f | sed 's#^\./usr/##' | sort | comm -23 - "$T/want")
[ -z "$extra" ] && ok "nothing else was installed" || not_ok "nothing else was installed" "$(echo $extra)"

# The installed bottle-verify runs the installed probe: a --guest-cmd runner gets the probe's
# path as $1 and writes it down (it runs nothing; the points are inconclusive, exit 2). The
# policy names loopback ports with no sink, and the run takes a lock of its own.
cat >"$T/policy.json" <<'POLICY'
{ "deadline_ms": 200,
  "controls": [ { "proto": "tcp", "addr": "127.0.0.1", "port": 9, "sink": false } ],
  "denied": { "loopback": [ { "proto": "tcp", "addr": "127.0.0.1", "port": 7, "sink": false } ] } }
POLICY
printf '#!/bin/sh\nprintf "%%s\\n" "$1" >"%s/used"\nexit 1\n' "$T" >"$T/runner"
chmod +x "$T/runner"
egress() { rm -f "$T/used"; BOTTLE_VERIFY_LOCK="$T/lock" "$R/usr/bin/bottle-verify" egress --policy "$T/policy.json" \
	--guest-cmd "$T/runner" >"$T/eg.out" 2>&1; rc=$?; }
egress
used=$(cat "$T/used" 2>/dev/null)
[ "$used" = "$R/usr/lib/bottle-verify/bottle-probe" ] && ok "the installed bottle-verify runs the installed bottle-probe" \
	|| not_ok "the installed bottle-verify runs the installed bottle-probe" "it ran: ${used:-nothing}" "$(grep -m3 -i 'error\|probe' "$T/eg.out")"
out=$(printf 'BV-PLAN 1\nrun r deadline_ms 10\nend 0\n' | "$R/usr/lib/bottle-verify/bottle-probe" - 2>&1)
[ "$out" = "$(printf 'BV-REPORT 1 run r\nend 0')" ] && ok "the installed bottle-probe runs an empty plan" \
	|| not_ok "the installed bottle-probe runs an empty plan" "$out"
# Must-fail: without it, nothing else is run (not one on PATH) and the error names both places.
mv "$R/usr/lib/bottle-verify/bottle-probe" "$T/probe.away"
mkdir -p "$T/path" && cp "$T/probe.away" "$T/path/bottle-probe"
PATH="$T/path:$PATH" egress
if [ $rc = 2 ] && [ ! -e "$T/used" ] && grep -q "neither $R/usr/bin/bottle-probe nor $R/usr/bin/../lib/bottle-verify/bottle-probe is executable" "$T/eg.out"; then
	ok "no probe installed: exit 2 naming both places, none taken from PATH"
else
	not_ok "no probe installed: exit 2 naming both places, none taken from PATH" "rc=$rc ran: $(cat "$T/used" 2>/dev/null)" "$(grep -m2 -i 'probe' "$T/eg.out")"
fi
mv "$T/probe.away" "$R/usr/lib/bottle-verify/bottle-probe"

# The installed bottle-launch runs the installed bottle-verify (beside it), not one on PATH.
mkdir -p "$T/decoy" "$T/bin"
printf '#!/bin/sh\necho "decoy bottle-verify"\n' >"$T/decoy/bottle-verify"
printf '#!/bin/sh\necho "smolvm 1.9.2"\n' >"$T/bin/smolvm"
chmod +x "$T/decoy/bottle-verify" "$T/bin/smolvm"
ln -s /dev/null "$T/kvm"
PATH="$T/decoy:/usr/bin:/bin" "$R/usr/bin/bottle-launch" preflight --smolvm "$T/bin/smolvm" --kvm-device "$T/kvm" >"$T/lp.out" 2>&1
if grep -q ' - preflight.smolvm.present ' "$T/lp.out" && ! grep -q decoy "$T/lp.out"; then
	ok "the installed bottle-launch preflight runs the installed bottle-verify"
else
	not_ok "the installed bottle-launch preflight runs the installed bottle-verify" "$(head -3 "$T/lp.out")"
fi

# man finds the pages in the installed tree.
if command -v man >/dev/null; then
	m=""
	for p in bottle-verify bottle-launch bottle-probe; do
		[ "$(MANPATH= man -M "$R/usr/share/man" -w "$p" 2>/dev/null)" = "$R/usr/share/man/man1/$p.1" ] || m="$m $p"
	done
	[ -z "$m" ] && ok "man -M PREFIX/share/man finds all three pages" || not_ok "man -M PREFIX/share/man finds all three pages" "not found:$m"
else
	ok "man finds the pages # SKIP no man here"
fi

mk uninstall DESTDIR="$R" PREFIX=/usr
left=$(cd "$R" && find . -type f)
[ -z "$left" ] && ok "make uninstall removes every file it installed" || not_ok "make uninstall removes every file" "$(echo $left)"
[ ! -e "$R/usr/lib/bottle-verify" ] && [ ! -e "$R/usr/share/doc/bottle-verify" ] && ok "and our two directories" \
	|| not_ok "make uninstall removes lib/bottle-verify and share/doc/bottle-verify" "left: $(cd "$R" && find . -type d | tr '\n' ' ')"

# Without PREFIX: /usr/local.
mk install DESTDIR="$T/local"
[ -x "$T/local/usr/local/bin/bottle-verify" ] && [ -x "$T/local/usr/local/lib/bottle-verify/bottle-probe" ] \
	&& [ -f "$T/local/usr/local/share/man/man1/bottle-launch.1" ] && ok "PREFIX defaults to /usr/local" \
	|| not_ok "PREFIX defaults to /usr/local" "$(cd "$T/local" && find . -type f | head -3 | tr '\n' ' ')"
exit $((failed > 0))
