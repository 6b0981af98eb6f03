#!/bin/sh
# The man page stays true: groff renders man/bottle-verify.1 without a warning, and every
# option `bottle-verify --help` and `bottle-verify watch --help` name is in it.
. "$(dirname "$0")/../lib.sh"
plan 3
PAGE="$top/man/bottle-verify.1"
if groff -man -ww -z -Tutf8 "$PAGE" >"$T/groff.err" 2>&1 && [ ! -s "$T/groff.err" ]; then ok "groff renders bottle-verify(1) without a warning"
else not_ok "groff renders bottle-verify(1)" "$(head -5 "$T/groff.err")"; fi
missing() { # help-text-file: the --options it names that the page lacks
	grep -o -- '--[a-z][a-z-]*' "$1" | sort -u | while read -r o; do
		esc=$(printf '%s' "$o" | sed 's/-/\\\\-/g')
		grep -q -- "$esc" "$PAGE" || printf '%s ' "$o"
	done
}
"$BV" --help >"$T/help" 2>&1
m=$(missing "$T/help")
if [ -z "$m" ]; then ok "every option of bottle-verify --help is in the page"; else not_ok "options missing from the page" "$m"; fi
"$BV" watch --help >"$T/whelp" 2>&1
m=$(missing "$T/whelp")
if [ -z "$m" ]; then ok "every option of bottle-verify watch --help is in the page"; else not_ok "watch options missing from the page" "$m"; fi
exit $((failed > 0))
