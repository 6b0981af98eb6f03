# integration/lib.sh - helpers for the prove-run lane scripts (POSIX sh).
# Each script prints TAP 13 itself: plan first, one point per assertion, and runs the
# built binaries from $BV_BUILD (default build/) against DBs built in a private tmp dir.
top=$(cd "$(dirname "$0")/../.." && pwd)
BV_BUILD=${BV_BUILD:-$top/build}
BV="$BV_BUILD/bottle-verify"
BL="$BV_BUILD/bottle-launch"
MKDB="$top/fixtures/mkdb.sh"
REC="$top/fixtures/records"
T=$(mktemp -d "${TMPDIR:-/tmp}/bv-test.XXXXXX")
trap 'rm -rf "$T"; [ -n "${BG_PID:-}" ] && kill "$BG_PID" 2>/dev/null' EXIT
n=0
failed=0
# BOTTLE_VERIFY_MUST_RUN=1 is for the lane: a lane that cannot run fails instead of
# skipping. The verifier runs inside a lane are on fixtures whose expected results include
# SKIPs, so they run without it unless a script passes it on purpose (LANE_MUST_RUN).
LANE_MUST_RUN=${LANE_MUST_RUN:-${BOTTLE_VERIFY_MUST_RUN:-}}
unset BOTTLE_VERIFY_MUST_RUN
echo "TAP version 13"
plan() { echo "1..$1"; }
ok() { n=$((n + 1)); echo "ok $n - $1"; }
# (every line of a diagnostic is a TAP comment, so a multi-line one cannot read as a result)
# (with BV_FAIL_LOG set, ci/check.sh's, the point and its diagnostics are appended there too,
# so a failed make check shows them without prove -v)
not_ok() {
	n=$((n + 1)); failed=$((failed + 1)); echo "not ok $n - $1"
	[ -n "${BV_FAIL_LOG:-}" ] && echo "$0: not ok $n - $1" >>"$BV_FAIL_LOG" 2>/dev/null
	shift
	for l in "$@"; do
		printf '%s\n' "$l" | sed 's/^/# /'
		[ -n "${BV_FAIL_LOG:-}" ] && printf '%s\n' "$l" | sed 's/^/#   /' | head -20 >>"$BV_FAIL_LOG" 2>/dev/null
	done
	return 0
}
# (a script one level up, integration/junit.t, finds wait.sh and path.sh beside itself)
if [ -f "$top/integration/wait.sh" ]; then lib_dir="$top/integration"; else lib_dir=$(dirname "$0"); fi
. "$lib_dir/wait.sh"
. "$lib_dir/path.sh"
# listening PORT: something listens on TCP PORT in this namespace
listening() { [ -n "$(ss -Hltn "sport = :$1")" ]; }
check() { # check DESC CMD...: ok when the command succeeds
	d=$1; shift
	if "$@" >"$T/check.out" 2>&1; then ok "$d"; else not_ok "$d" "$(tail -5 "$T/check.out")"; fi
}
# status_of JSONFILE ID: the status bottle-verify --format json gave the point ID
status_of() {
	perl -MJSON::PP -e '
		local $/; open my $f, "<", $ARGV[0] or die; my $d = decode_json(<$f>);
		for my $p (@{$d->{points}}) { if ($p->{id} eq $ARGV[1]) { print $p->{status}; exit 0 } }
		print "absent";' "$1" "$2"
}
# points_not_ok JSONFILE: "ID STATUS: actual" for every point of the report that is not ok
points_not_ok() {
	perl -MJSON::PP -e '
		local $/; open my $f, "<", $ARGV[0] or exit 0; my $d = eval { decode_json(<$f>) } or exit 0;
		for my $p (@{$d->{points}}) {
			next if $p->{status} eq "ok";
			print "$p->{id} $p->{status}: ", ($p->{fields}{actual} // $p->{fields}{evidence} // ""), "\n";
		}' "$1"
}
# field_of JSONFILE ID FIELD
field_of() {
	perl -MJSON::PP -e '
		local $/; open my $f, "<", $ARGV[0] or die; my $d = decode_json(<$f>);
		for my $p (@{$d->{points}}) { if ($p->{id} eq $ARGV[1]) { print $p->{fields}{$ARGV[2]} // ""; exit 0 } }' "$1" "$2" "$3"
}
# nobody_copy SRC...: copy each file or directory SRC into $T/nobody, where uid 65534 (what
# a test drops to with setpriv) can reach it wherever the tree is: a clone under /root is out
# of its reach (0700). 1, with the reason in $nobody_why, when even the copy is (TMPDIR).
nobody_copy() {
	if ! { mkdir -p "$T/nobody" && cp -R "$@" "$T/nobody/" && chmod -R a+rX "$T/nobody" && chmod a+x "$T"; }; then
		nobody_why="cannot copy $* into $T/nobody"; return 1
	fi
	setpriv --reuid=65534 --regid=65534 --clear-groups test -x "$T/nobody" ||
		{ nobody_why="uid 65534 cannot enter $T: set TMPDIR to a directory it can reach"; return 1; }
}
# start_time PID: field 22 of /proc/PID/stat
start_time() { sed 's/.*) //' "/proc/$1/stat" | cut -d' ' -f20; }
