#!/bin/sh
# integration/junit.t - prove's JUnit formatter (TAP::Formatter::JUnit, what `make junit`
# uses) on our own results: bottle-verify db on a confined and a leaky fixture, a skipped
# script, and the kvm lane with and without BOTTLE_VERIFY_MUST_RUN=1. The XML must be
# well formed, hold one testsuite per script, a failure for the finding and none for the
# pass; a skip is an empty testsuite (JUnit has no trace of it: hence MUST_RUN on runners).
# The fixture scripts run without BOTTLE_VERIFY_MUST_RUN: their results are fixed inputs.
# This script sits one level higher than the lane scripts lib.sh was written for, so
# the paths lib.sh derives from $0 are set again here.
here=$(cd "$(dirname "$0")/.." && pwd)
BV_BUILD=${BV_BUILD:-$here/build}
. "$here/integration/lib.sh"
top=$here BV="$BV_BUILD/bottle-verify" MKDB="$top/fixtures/mkdb.sh" REC="$top/fixtures/records"
# nok DESC [TEXT...]: not_ok, with every line of every TEXT as a "# " diagnostic (multi-line
# output must not reach the TAP stream bare: an indented line would read as YAML).
nok() {
	not_ok "$1"; shift
	for l in "$@"; do [ -n "$l" ] && printf '%s\n' "$l" | sed 's/^/# /'; done
	return 0
}

if ! perl -MTAP::Formatter::JUnit -e 1 2>/dev/null; then
	why="TAP::Formatter::JUnit is not installed (Debian: libtap-formatter-junit-perl)"
	if [ "${BOTTLE_VERIFY_MUST_RUN:-}" = 1 ]; then
		plan 1; nok "junit lane could not run: $why"; exit 1
	fi
	echo "1..0 # SKIP $why"
	exit 0
fi
plan 12

"$MKDB" "$T/db" good "$REC/confined.json" leaky "$REC/cidrs-wider.json"
for m in good leaky; do
	cat >"$T/$m.t" <<SCRIPT
#!/bin/sh
exec env -u BOTTLE_VERIFY_MUST_RUN "$BV" db $m --expect 192.0.2.10/32 --db "$T/db" --data-dir "$T" --smolvm-version 1.9.2
SCRIPT
done
printf '#!/bin/sh\necho "TAP version 13"\necho "1..0 # SKIP nothing to run here"\n' >"$T/skipped.t"
chmod +x "$T/good.t" "$T/leaky.t" "$T/skipped.t"
planned=$("$T/good.t" | sed -n 's/^1\.\.\([0-9]*\).*/\1/p')

junit() { # OUT SCRIPTS...: prove with the JUnit formatter, XML on OUT; status in $jrc
	o=$1; shift
	prove --formatter TAP::Formatter::JUnit "$@" >"$o" 2>"$o.err"
	jrc=$?
}
# suite XML NAME-SUFFIX: the one <testsuite> whose name ends in NAME-SUFFIX, as
# "tests failures errors n_failure_elements n_error_elements n_skipped_elements", or "none"
# (or "many"). CDATA is cut first, so test output cannot fake an element.
suite() {
	perl -e '
		local $/; open my $f, "<", $ARGV[0] or die; my $x = <$f>;
		$x =~ s/<!\[CDATA\[.*?\]\]>//sg;
		my @hit;
		while ($x =~ /<testsuite\b([^>]*)>(.*?)<\/testsuite>/sg) {
			my ($a, $body) = ($1, $2);
			my %a = $a =~ /([\w-]+)="([^"]*)"/g;
			next unless ($a{name} // "") =~ /\Q$ARGV[1]\E$/;
			my @n = map { scalar(() = $body =~ /<$_\b/g) } qw(failure error skipped);
			push @hit, join " ", map({ $a{$_} // "-" } qw(tests failures errors)), @n;
		}
		print @hit == 1 ? $hit[0] : @hit ? "many" : "none";' "$1" "$2"
}
# wellformed XML: xmllint when installed, else a strict-enough tag balance check in perl
wellformed() {
	if command -v xmllint >/dev/null 2>&1; then xmllint --noout "$1"; return; fi
	perl -e '
		local $/; open my $f, "<", $ARGV[0] or die; my $x = <$f>;
		$x =~ s/<!\[CDATA\[.*?\]\]>//sg; $x =~ s/^\s*<\?xml[^>]*\?>//; $x =~ s/<!--.*?-->//sg;
		my (@st, $roots);
		while ($x =~ /\G([^<]*)<(\/?)([A-Za-z_][\w.:-]*)((?:\s+[\w.:-]+\s*=\s*(?:"[^"<]*"|\x27[^\x27<]*\x27))*)\s*(\/?)>/gc) {
			my ($text, $close, $name, $empty) = ($1, $2, $3, $5);
			die "text outside the root\n" if !@st && $text =~ /\S/;
			die "bad entity\n" if $text =~ /&(?!(?:amp|lt|gt|quot|apos|#\d+|#x[0-9a-fA-F]+);)/;
			if ($close) { die "</$name> closes nothing\n" unless @st && pop(@st) eq $name; next }
			$roots++ unless @st;
			push @st, $name unless $empty;
		}
		my $rest = substr($x, pos($x) // 0);
		die "unparsed: " . substr($rest, 0, 40) . "\n" if $rest =~ /\S/;
		die "unclosed: @st\n" if @st;
		die "$roots root elements\n" unless $roots == 1;' "$1"
}

# --- our db results: one run, three scripts --------------------------------------------------
junit "$T/all.xml" "$T/good.t" "$T/leaky.t" "$T/skipped.t"
if [ $jrc != 0 ]; then ok "prove --formatter JUnit exits non-zero when a script has a finding (exit $jrc)"
else nok "prove --formatter JUnit exits non-zero on a finding"; fi
junit "$T/good.xml" "$T/good.t"
if [ $jrc = 0 ]; then ok "... and 0 when every script passes"; else nok "JUnit run of the confined fixture" "exit $jrc" "$(cat "$T/good.xml.err")"; fi
how=perl; command -v xmllint >/dev/null 2>&1 && how=xmllint
if wellformed "$T/all.xml" >"$T/wf.out" 2>&1 && wellformed "$T/good.xml" >>"$T/wf.out" 2>&1; then ok "the XML is well formed ($how)"
else nok "the XML is well formed ($how)" "$(head -5 "$T/wf.out")"; fi
c=$(grep -c '<testsuite\b' "$T/all.xml")
if [ "$c" = 3 ] && grep -q '^<testsuites>' "$T/all.xml"; then ok "one <testsuites> holding one <testsuite> per script (3)"
else nok "one testsuite per script" "testsuite elements: $c"; fi

s=$(suite "$T/all.xml" good_t)
if [ "$s" = "$planned 0 0 0 0 0" ]; then ok "confined: $planned tests, no failure, no error"
else nok "confined: $planned tests, no failure, no error" "tests failures errors <failure> <error> <skipped>: $s"; fi
s=$(suite "$T/all.xml" leaky_t)
# shellcheck disable=SC2086 # split the six counts into $1..$6
set -- $s
if [ "${2:-}" = 1 ] && [ "${4:-}" = 1 ]; then ok "leaky: exactly one <failure> (failures=\"1\") for the finding"
else nok "leaky: exactly one failure" "tests failures errors <failure> <error> <skipped>: $s"; fi
if [ "${5:-}" = 1 ]; then ok "leaky: exit status 1 is an <error> too (prove calls it dubious)"
else nok "leaky: exit status 1 is an <error>" "$s"; fi
# (attribute order varies from run to run: the formatter writes a Perl hash)
if perl -0ne 'exit !(/<failure\b[^>]*\bmessage="not ok \d+ - db\.allowed_cidrs\.exact[^"]*"[^>]*><!\[CDATA\[(?:(?!\]\]>).)*?remediation: \x27/s)' "$T/all.xml"; then
	ok "the <failure> names the check id and carries its YAML remediation"
else nok "the failure carries id and YAML" "$(grep -A3 '<failure' "$T/all.xml" | head -6)"; fi
s=$(suite "$T/all.xml" skipped_t)
if [ "$s" = "0 0 0 0 0 0" ]; then ok "a skipped script is an empty testsuite: tests=\"0\", no failure, no <skipped>"
else nok "a skipped script is an empty testsuite" "$s"; fi

# --- the kvm lane, forced onto a missing KVM device -------------------------------------------
gate="$top/integration/kvm/gate.t"
env BV_KVM_DEVICE="$T/no-kvm" BOTTLE_VERIFY_MUST_RUN=1 \
	prove --formatter TAP::Formatter::JUnit "$gate" >"$T/kvm-must.xml" 2>"$T/kvm-must.err"
jrc=$?
s=$(suite "$T/kvm-must.xml" kvm_gate_t)
# shellcheck disable=SC2086
set -- $s
if [ $jrc != 0 ] && [ "${4:-}" = 1 ] && grep -q 'kvm lane could not run' "$T/kvm-must.xml"; then
	ok "kvm lane without KVM, BOTTLE_VERIFY_MUST_RUN=1: a <failure>, prove exits $jrc"
else nok "kvm lane under MUST_RUN is a failure" "exit $jrc, suite: $s"; fi
env -u BOTTLE_VERIFY_MUST_RUN BV_KVM_DEVICE="$T/no-kvm" \
	prove --formatter TAP::Formatter::JUnit "$gate" >"$T/kvm-skip.xml" 2>"$T/kvm-skip.err"
krc=$?
s=$(suite "$T/kvm-skip.xml" kvm_gate_t)
if [ $krc = 0 ] && [ "$s" = "0 0 0 0 0 0" ] && grep -q 'SKIP kvm lane' "$T/kvm-skip.xml"; then
	ok "kvm lane without KVM and without MUST_RUN: an empty testsuite, prove exits 0"
else nok "kvm lane skip is an empty testsuite" "exit $krc, suite: $s"; fi
if wellformed "$T/kvm-must.xml" >"$T/wf.out" 2>&1 && wellformed "$T/kvm-skip.xml" >>"$T/wf.out" 2>&1; then
	ok "the kvm lane's XML is well formed ($how)"
else nok "the kvm lane's XML is well formed" "$(head -5 "$T/wf.out")"; fi
[ "$failed" = 0 ]
