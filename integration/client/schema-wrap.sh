#!/bin/sh
# integration/client/schema-wrap.sh DIR [BUILD] - make DIR a build directory whose
# bottle-verify and bottle-launch are wrappers of BUILD's (default build/): a run with
# --format json goes through schema_wrap.py, which passes everything through and then
# holds what was printed to docs/report.schema.json (exit 97 on a violation, and a line
# in $BV_SCHEMA_LOG when set); any other run is the real binary, exec'd (the same pid).
# bottle-probe is linked. Lanes use DIR as BV_BUILD (ci/schema-lanes.sh,
# integration/sim/schema.t).
set -eu
here=$(cd "$(dirname "$0")" && pwd)
dir=$1
build=$(cd "${2:-$here/../../build}" && pwd)
# Debian's python3 (make deps), else the first on PATH
py=/usr/bin/python3
[ -x "$py" ] || py=$(command -v python3)
mkdir -p "$dir"
for p in bottle-verify bottle-launch; do
	cat >"$dir/$p" <<WRAP
#!/bin/sh
# made by integration/client/schema-wrap.sh: $build/$p, its --format json output checked
for a do
	case "\$a" in json | --f*=json) exec "$py" "$here/schema_wrap.py" $p "$build/$p" "\$@" ;; esac
done
exec "$build/$p" "\$@"
WRAP
	chmod +x "$dir/$p"
done
ln -sf "$build/bottle-probe" "$dir/bottle-probe"
