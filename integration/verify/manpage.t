#!/bin/sh
# The man pages stay true: groff renders bottle-verify(1), bottle-launch(1) and
# bottle-probe(1) without a warning (and mandoc -T lint finds no warning, where mandoc is
# installed), and every option each program names in its usage or parses is in its page.
. "$(dirname "$0")/../lib.sh"
plan 13
man="$top/man"
for p in bottle-verify bottle-launch bottle-probe; do
	if groff -man -ww -z -Tutf8 "$man/$p.1" >"$T/groff.err" 2>&1 && [ ! -s "$T/groff.err" ]; then
		ok "groff renders $p(1) without a warning"
	else
		not_ok "groff renders $p(1) without a warning" "$(head -5 "$T/groff.err")"
	fi
done
for p in bottle-verify bottle-launch bottle-probe; do
	if ! command -v mandoc >/dev/null && [ "${LANE_MUST_RUN:-}" = 1 ]; then
		not_ok "mandoc -T lint: $p(1)" "mandoc is not installed (Debian package mandoc), and the lane must run"
	elif ! command -v mandoc >/dev/null; then
		ok "mandoc -T lint: $p(1) # SKIP mandoc is not installed (Debian package mandoc)"
	elif mandoc -T lint -W warning "$man/$p.1" >"$T/mandoc.err" 2>&1; then
		ok "mandoc -T lint finds no warning in $p(1)"
	else
		not_ok "mandoc -T lint finds no warning in $p(1)" "$(head -5 "$T/mandoc.err")"
	fi
done
missing() { # page file: the --options FILE names that PAGE lacks (as \-\-option)
	grep -o -- '--[a-z][a-z-]*' "$2" | sort -u | while read -r o; do
		esc=$(printf '%s' "$o" | sed 's/-/\\\\-/g')
		grep -q -- "$esc" "$1" || printf '%s ' "$o"
	done
}
covers() { # desc page file: ok when every --option of FILE is in PAGE; FILE must name one
	if ! grep -q -- '--[a-z]' "$3"; then not_ok "$1" "no option found in the source of the list: $(head -2 "$3")"; return; fi
	m=$(missing "$2" "$3")
	if [ -z "$m" ]; then ok "$1"; else not_ok "$1" "missing from $(basename "$2"): $m"; fi
}

"$BV" --help >"$T/help" 2>&1
covers "every option of bottle-verify --help is in its page" "$man/bottle-verify.1" "$T/help"
"$BV" watch --help >"$T/whelp" 2>&1
covers "every option of bottle-verify watch --help is in its page" "$man/bottle-verify.1" "$T/whelp"

"$BL" --help >"$T/lhelp" 2>&1
covers "every option of bottle-launch --help is in its page" "$man/bottle-launch.1" "$T/lhelp"
# The options bottle-launch parses, from its getopt table: one left out of the usage too
# would escape the point above.
grep -o '{ "[a-z][a-z-]*", [a-z_]*_argument' "$top/src/launch/main.c" | sed 's/{ "\([a-z-]*\)".*/--\1/' >"$T/lopts"
covers "every option bottle-launch parses (src/launch/main.c) is in its page" "$man/bottle-launch.1" "$T/lopts"
# Every command of the usage has its entry under COMMANDS.
cmds=$(sed -n 's/^ *\(usage:\)\{0,1\} *bottle-launch \([a-z][a-z]*\) .*/\2/p' "$T/lhelp" | sort -u | tr '\n' ' ')
m=""
for c in $cmds; do
	awk -v c="$c" '/^\.SH COMMANDS/ { s = 1; next } /^\.SH / { s = 0 } s && prev == ".TP" && $0 == ".B " c { f = 1 } { prev = $0 } END { exit !f }' \
		"$man/bottle-launch.1" || m="$m $c"
done
if [ -n "$cmds" ] && [ -z "$m" ]; then ok "every command of bottle-launch's usage ($cmds) has its entry under COMMANDS"
else not_ok "every command of bottle-launch's usage has its entry under COMMANDS" "commands: $cmds" "missing:$m"; fi

# bottle-probe prints its usage (on stderr, exit 64) when it gets no plan.
"$BV_BUILD/bottle-probe" >"$T/phelp" 2>&1
covers "every option of bottle-probe's usage is in its page" "$man/bottle-probe.1" "$T/phelp"
grep -o 'strcmp(argv\[i\], "--[a-z-]*")' "$top/verify/probe/probe.c" | grep -o -- '--[a-z-]*' >"$T/popts"
covers "every option bottle-probe parses (verify/probe/probe.c) is in its page" "$man/bottle-probe.1" "$T/popts"
exit $((failed > 0))
