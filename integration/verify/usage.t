#!/bin/sh
# Usage errors are named and stay TAP: each mistake below exits 2, names its cause on
# stderr, and prints "Bail out! usage: <the same cause>" on stdout before any check runs;
# --version answers on all three programs (and in the JSON report); --quiet prints only
# what is not ok; the TAP ends with a tally.
. "$(dirname "$0")/../lib.sh"
PROBE="$BV_BUILD/bottle-probe"
plan 33
echo '{ "deadline_ms": 1000, "controls": [], "denied": {} }' >"$T/empty.json"
usage_err() { # want-substring prog args...
	want=$1; shift
	"$@" >"$T/out" 2>"$T/err"
	rc=$?
	d="$(basename "$1") ${*#"$1"}: exit 2 naming \"$want\""
	if [ "$rc" = 2 ] && grep -qF -- "$want" "$T/err" && grep -qF -- "Bail out! usage: " "$T/out" &&
		grep -qF -- "$want" "$T/out" && head -1 "$T/out" | grep -qx 'TAP version 13'; then ok "$d"
	else not_ok "$d" "exit $rc" "stderr: $(head -2 "$T/err")" "stdout: $(head -4 "$T/out")"; fi
}
usage_err "unknown option '--frob'" "$BV" --frob preflight
usage_err "option '--format' needs a value" "$BV" preflight --format
usage_err "--format 'xml': must be tap or json" "$BV" --format xml preflight
usage_err "unknown option '-x'" "$BV" -x preflight
usage_err "unexpected argument 'b'" "$BV" db a b --expect 192.0.2.10/32
usage_err "option '--full-window' takes no value" "$BV" --full-window=1 preflight
usage_err "no command" "$BV"
usage_err "unknown command 'frob'" "$BV" frob
usage_err "preflight takes no NAME" "$BV" preflight x
usage_err "no --expect CIDR" "$BV" db x
usage_err "--expect '192.0.2.300/32'" "$BV" db x --expect 192.0.2.300/32
usage_err "--accept-bypass 'nope': not a bypass field" "$BV" db x --expect 192.0.2.10/32 --accept-bypass nope
usage_err "--platform 'beos': must be linux or macos" "$BV" preflight --platform beos
usage_err "--smolvm-version 'one'" "$BV" preflight --smolvm-version one
usage_err "policy $T/none.json" "$BV" all x --expect 192.0.2.10/32 --policy "$T/none.json"
usage_err "--allow-dest" "$BV" egress --policy builtin --netns /proc/self/ns/net
usage_err "99999" "$BV" egress --policy "$top/fixtures/policies/sim-bottle.json" --allow-dest tcp:192.0.2.10:99999 --netns /proc/self/ns/net
usage_err "needs exactly one of --netns NS, --machine NAME or --guest-cmd PROG" "$BV" egress --policy "$T/empty.json"
usage_err "--netns 'bv-no-such-ns': no such network namespace" "$BV" egress --policy "$top/fixtures/policies/sim-bottle.json" --netns bv-no-such-ns
usage_err "--allow 'notacidr'" "$BL" enforce x --allow notacidr
usage_err "enforce x: no --allow CIDR" "$BL" enforce x
usage_err "--alias '127.0.0.16': the only value is auto" "$BL" up x --from p --alias 127.0.0.16 --control-port 80
usage_err "--control-port '70000': not a port" "$BL" up x --from p --allow 192.0.2.10/32 --control-port 70000
usage_err "unexpected argument 'extra'" "$BL" up x extra --from p --allow 192.0.2.10/32 --control-port 80
usage_err "unknown command 'frob'" "$BL" frob x
usage_err "--platform 'beos'" "$BL" enforce x --allow 192.0.2.10/32 --platform beos
# JSON asked for: the usage error is a JSON report of that error
"$BV" --format json --frob >"$T/out" 2>/dev/null
if [ $? = 2 ] && perl -MJSON::PP -e 'local $/; my $d = decode_json(<STDIN>); exit !($d->{exit_code} == 2 && $d->{errors}[0] =~ /^usage: unknown option/)' <"$T/out"
then ok "--format json: a usage error is a JSON report with the error, exit 2"; else not_ok "json usage error" "$(cat "$T/out")"; fi
# --version on all three, and in the JSON report
for p in "$BV" "$BL" "$PROBE"; do
	v=$("$p" --version 2>&1); rc=$?
	if [ $rc = 0 ] && echo "$v" | grep -Eq "^$(basename "$p") [0-9]+\.[0-9]+\.[0-9]+"; then ok "$(basename "$p") --version: $v"
	else not_ok "$(basename "$p") --version" "exit $rc: $v"; fi
done
release=$("$BV" --version | cut -d' ' -f2)
"$BV" --format json preflight --kvm-device /nonexistent --smolvm /nonexistent >"$T/out" 2>/dev/null
if [ "$(perl -MJSON::PP -e 'local $/; print decode_json(<STDIN>)->{version}' <"$T/out")" = "$release" ]; then ok "the JSON report carries the version ($release)"
else not_ok "JSON version" "$(head -c 300 "$T/out")"; fi
# the tally, and --quiet
"$BV" preflight --kvm-device /nonexistent --smolvm /nonexistent >"$T/out" 2>/dev/null
last=$(tail -1 "$T/out")
if echo "$last" | grep -Eq '^# [0-9]+ ok, [0-9]+ todo, [0-9]+ skip, [1-9][0-9]* not ok, [0-9]+ inconclusive \(exit [12]\)$'; then ok "the TAP ends with the tally: $last"
else not_ok "tally" "$last"; fi
"$BV" --quiet preflight --kvm-device /nonexistent --smolvm /nonexistent >"$T/q" 2>/dev/null
if ! grep -q '^ok ' "$T/q" && grep -q '^not ok 1 ' "$T/q" && [ "$(tail -1 "$T/q")" = "$last" ]; then ok "--quiet prints only what is not ok, and the same tally"
else not_ok "--quiet" "$(grep -E '^(ok|not ok|1\.\.)' "$T/q" | head -5)"; fi
exit $((failed > 0))
