#!/bin/sh
# Without --db/--data-dir both programs find smolvm's state where smolvm puts it:
# Linux HOME, absolute XDG_DATA_HOME/XDG_CACHE_HOME, SMOLVM_DATA_DIR (which beats both),
# and macOS Application Support / Caches (--platform macos). Each layout gets a DB with a
# leaky row; enforce must patch that very DB and db must then pass on it.
. "$(dirname "$0")/../lib.sh"
plan 10

hash() { printf %s "$1" | sha256sum | cut -c1-16; }
layout() { # desc dbdir cachedir platform env...
	desc=$1 dbdir=$2 cache=$3 plat=$4; shift 4
	mkdir -p "$dbdir" "$cache/smolvm/vms/$(hash bottle)"
	"$MKDB" "$dbdir/smolvm.db" bottle "$REC/cidrs-null.json"
	if env -u XDG_DATA_HOME -u XDG_CACHE_HOME -u SMOLVM_DATA_DIR "$@" \
		"$BL" enforce bottle --allow 192.0.2.10/32 --platform "$plat" >"$T/out" 2>&1 &&
		[ -e "$cache/smolvm/vms/$(hash bottle)/vm.lock" ]; then
		ok "$desc: enforce found the DB and the data dir"
	else
		not_ok "$desc: enforce found the DB and the data dir" "$(cat "$T/out")"
	fi
	if env -u XDG_DATA_HOME -u XDG_CACHE_HOME -u SMOLVM_DATA_DIR "$@" \
		"$BV" db bottle --expect 192.0.2.10/32 --smolvm-version 1.9.2 --platform "$plat" >"$T/out" 2>&1; then
		ok "$desc: db passes on the patched row"
	else
		not_ok "$desc: db passes on the patched row" "$(grep -A6 '^not ok' "$T/out" | head -8)"
	fi
}

H="$T/home1"
layout "Linux HOME" "$H/.local/share/smolvm/server" "$H/.cache" linux HOME="$H"
H="$T/home2"
layout "Linux absolute XDG" "$T/xdg-data/smolvm/server" "$T/xdg-cache" linux HOME="$H" \
	XDG_DATA_HOME="$T/xdg-data" XDG_CACHE_HOME="$T/xdg-cache"
H="$T/home3"
layout "Linux relative XDG ignored" "$H/.local/share/smolvm/server" "$H/.cache" linux HOME="$H" \
	XDG_DATA_HOME=rel/data XDG_CACHE_HOME=rel/cache
H="$T/home4"
layout "SMOLVM_DATA_DIR beats HOME and XDG" "$T/sd/.local/share/smolvm/server" "$T/sd/.cache" linux \
	HOME="$H" XDG_DATA_HOME="$T/xdg-data" SMOLVM_DATA_DIR="$T/sd"
H="$T/mac"
layout "macOS" "$H/Library/Application Support/smolvm/server" "$H/Library/Caches" macos HOME="$H" \
	XDG_DATA_HOME="$T/xdg-data"
