#!/bin/sh
# bottle-verify confines itself once its set-up is done: the note in its report, the
# filter loaded after the last child (smolvm --version) and no exec, fork or socket after
# it (strace), for `db` and for `egress` (after the probe and the sinks are reaped).
. "$(dirname "$0")/../lib.sh"
case $BV_BUILD in *valgrind-wrap*)
	echo "1..0 # SKIP under valgrind bottle-verify runs unconfined (valgrind cannot run seccomp filters)"; exit 0 ;;
esac
plan 4
"$MKDB" "$T/smolvm.db" m1 "$REC/confined.json"
mkdir -p "$T/bin"
printf '#!/bin/sh\necho "smolvm 1.9.2"\n' >"$T/bin/smolvm" && chmod +x "$T/bin/smolvm"
"$BV" db m1 --expect 192.0.2.10/32 --db "$T/smolvm.db" --data-dir "$T" --smolvm "$T/bin/smolvm" >"$T/out" 2>&1
if grep -q '^# bottle-verify confined itself' "$T/out"; then ok "db: the report says it confined itself"; else not_ok "db: confined note" "$(tail -3 "$T/out")"; fi
if command -v strace >/dev/null; then
	strace -f -qq -o "$T/trace" -e trace=seccomp,execve,clone,clone3,fork,vfork,socket \
		"$BV" db m1 --expect 192.0.2.10/32 --db "$T/smolvm.db" --data-dir "$T" --smolvm "$T/bin/smolvm" >/dev/null 2>&1
	# (a sanitize build's LeakSanitizer clones an untraced tracer at exit: not ours)
	after=$(sed -n '/seccomp(SECCOMP_SET_MODE_FILTER/,$p' "$T/trace" | grep -v seccomp | grep -v '+++\|---\|CLONE_UNTRACED' || true)
	if grep -q 'seccomp(SECCOMP_SET_MODE_FILTER' "$T/trace" && grep -q 'execve(.*smolvm' "$T/trace" && [ -z "$after" ]; then
		ok "db: the filter is loaded after smolvm --version, and nothing is spawned after it"
	else not_ok "db: filter after the last child" "$(tail -5 "$T/trace")"; fi
else
	ok "db: strace missing here # SKIP strace not installed"
fi
# egress in a namespace holding only lo: the filter comes after the run's children
if unshare -rn true 2>/dev/null || [ "$(id -u)" = 0 ]; then
	NS="unshare -n"; [ "$(id -u)" = 0 ] || NS="unshare -rn"
	cat >"$T/p.json" <<'POL'
{ "deadline_ms": 300, "controls": [ { "proto": "tcp", "addr": "127.0.0.1", "port": 7091 } ],
  "denied": { "public": [ { "proto": "tcp", "addr": "127.0.0.2", "port": 7001 } ] } }
POL
	$NS sh -c 'ip link set lo up; exec "$@"' sh "$BV" egress --policy "$T/p.json" --netns /proc/self/ns/net \
		--probe "$BV_BUILD/bottle-probe" >"$T/eg" 2>&1
	if grep -q '^# bottle-verify confined itself' "$T/eg"; then ok "egress: confined itself after the run"; else not_ok "egress: confined note" "$(tail -3 "$T/eg")"; fi
	if grep -q '^not ok .*egress.denied.public' "$T/eg"; then ok "egress: judged after confinement (the open class is not ok)"; else not_ok "egress judged" "$(grep -v '^#' "$T/eg" | tail -4)"; fi
else
	ok "egress # SKIP no network namespace"; ok "egress # SKIP no network namespace"
fi
