#!/bin/bash
# faults/run.sh - make faults: fail-closed under injected syscall errors (strace --inject).
# For each command (bottle-verify db, egress and watch, bottle-launch enforce) a
# baseline run counts every syscall it makes (strace -f -c); then, one injection point at a
# time, the Nth call (N = 1..min(count, CAP)) of one syscall returns an error. A run
# FAILS OPEN when it exits 0 while its report is not the baseline's complete all-ok report
# (for a leaky fixture: whenever it exits 0), or when enforce leaves a partly written row.
# Prints the number of injected runs and of fail-open runs (goal 0); exit 1 on any.
set -u
top=$(cd "$(dirname "$0")/.." && pwd)
B=${BV_BUILD:-$top/build}
CAP=${FAULTS_CAP:-8}
. "$top/integration/path.sh"
ONLY=${FAULTS_ONLY:-db egress enforce watch}
command -v strace >/dev/null || { echo "faults: needs strace" >&2; exit 2; }
# Two passes: bottle-verify confined as it ships (an injection after the seccomp filter is
# loaded ends in SIGSYS: strace swaps the syscall number for -1, which the filter kills),
# then unconfined (BOTTLE_VERIFY_SELFCONFINE=off) so the error paths behind it run too.
if [ -z "${FAULTS_PASS:-}" ]; then
	FAULTS_PASS=confined "$0" "$@"; a=$?
	FAULTS_PASS=unconfined BOTTLE_VERIFY_SELFCONFINE=off "$0" "$@"; b=$?
	[ $a = 0 ] && [ $b = 0 ]
	exit
fi
# Everything runs in a private network namespace holding only lo (the egress part's sinks
# and probes stay there).
if [ "${FAULTS_INSIDE:-}" != 1 ]; then
	export FAULTS_INSIDE=1
	if [ "$(id -u)" = 0 ]; then exec unshare --net "$0" "$@"; fi
	exec unshare --user --map-root-user --net "$0" "$@"
fi
ip link set lo up
T=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null; rm -rf "$T"' EXIT
export BOTTLE_VERIFY_LOCK="$T/sink.lock"

runs=0 open=0 closed=0 absorbed=0 crashes=0 hangs=0 filtered=0 loader=0
fail_open() { open=$((open + 1)); echo "FAIL-OPEN: $*" | tee -a "$T/open.log" >&2; }

# The ids and statuses of a JSON report, one "id status" per line, or "invalid".
points() { perl -MJSON::PP -e 'local $/; my $d = eval { decode_json(<STDIN>) } or do { print "invalid\n"; exit };
	print "$_->{id} $_->{status}\n" for @{$d->{points}}' <"$1"; }

# syscalls CMD...: "name count" for every syscall the command makes (children included)
syscalls() {
	{ strace -f -qq -c -U name,calls -o "$T/count" "$@" >/dev/null 2>&1; } 2>>"$T/jobs.log"
	awk 'NR > 2 && $1 !~ /^-/ && $1 != "total" { print $1, $2 }' "$T/count"
}

# inject NAME CHECK CMD...: every (syscall, N) point; CHECK rc out decides fail-open
inject() {
	local name=$1 check=$2; shift 2
	local sys cnt n err
	syscalls "$@" >"$T/$name.sys"
	while read -r sys cnt; do
		# exit and sigreturn cannot fail; brk never returns an error (on failure the
		# kernel returns the old break, and an injected -1 only confuses libc's sbrk)
		# close: Linux releases the descriptor even when close fails, but an injected
		# failure leaves it open, which no kernel does
		case $sys in exit|exit_group|rt_sigreturn|brk|close) continue ;; esac
		err=EIO
		case $sys in mmap|brk|munmap|mprotect|mremap) err=ENOMEM ;; connect|sendto|recvfrom|accept4|socket|bind|listen) err=ECONNRESET ;; clone|clone3|fork|vfork) err=EAGAIN ;; execve) err=ENOENT ;; esac
		n=1
		while [ "$n" -le "$cnt" ] && [ "$n" -le "$CAP" ]; do
			"${PREP:-true}"
			# (the shell's own "Bad system call" / "Segmentation fault" job notices go to
			# a log: the run's verdict is counted below, not read off that noise)
			{ timeout -s KILL 60 strace -f -qq -o /dev/null -e trace="$sys" -e inject="$sys:error=$err:when=$n" "$@" >"$T/out" 2>"$T/err"; } 2>>"$T/jobs.log"
			rc=$?
			if [ "$rc" = 137 ]; then hangs=$((hangs + 1)); echo "hang: $name $sys#$n=$err (killed after 60 s)" >>"$T/crash.log"; fi
			runs=$((runs + 1))
			# A crash is closed, but it is a bug of ours unless the loader died first (the
			# first mmap is ld.so's) or, confined, the filter killed the call (SIGSYS,
			# status 159): strace's injection swaps the syscall number for -1, which the
			# seccomp filter kills (an error path that made a forbidden call would die
			# the same way, closed; the unconfined pass runs those paths to the end).
			if [ "$rc" = 159 ] && [ "$FAULTS_PASS" = confined ]; then filtered=$((filtered + 1))
			elif [ "$rc" -ge 128 ] && [ "$rc" != 137 ] && [ "$sys#$n" = "mmap#1" ]; then loader=$((loader + 1))
			elif [ "$rc" -ge 128 ] && [ "$rc" != 137 ]; then crashes=$((crashes + 1)); echo "crash: $name $sys#$n=$err (status $rc)" >>"$T/crash.log"; fi
			"$check" "$rc" "$name $sys#$n=$err"
			n=$((n + 1))
		done
	done <"$T/$name.sys"
}

# ---- bottle-verify db on a confined row: exit 0 only with the baseline's full report ----
db_check() {
	if [ "$1" = 0 ]; then
		if [ "$(points "$T/out")" = "$(cat "$T/db.base")" ]; then absorbed=$((absorbed + 1)); else fail_open "$2 exit 0, report differs"; fi
	else closed=$((closed + 1)); fi
}
if [[ " $ONLY " == *" db "* ]]; then
	"$top/fixtures/mkdb.sh" "$T/smolvm.db" m1 "$top/fixtures/records/confined.json"
	DB=("$B/bottle-verify" --format json db m1 --expect 192.0.2.10/32 --db "$T/smolvm.db" --data-dir "$T" --smolvm-version 1.9.2)
	"${DB[@]}" >"$T/out" 2>/dev/null || { echo "faults: db baseline is not exit 0" >&2; exit 2; }
	points "$T/out" >"$T/db.base"
	inject db db_check "${DB[@]}"
	# a leaky row: no injected fault may turn its finding into exit 0
	"$top/fixtures/mkdb.sh" "$T/leaky.db" m1 "$top/fixtures/records/cidrs-null.json"
	leak_check() { if [ "$1" = 0 ]; then fail_open "$2 leaky row exits 0"; else closed=$((closed + 1)); fi; }
	inject db-leaky leak_check "$B/bottle-verify" db m1 --expect 192.0.2.10/32 --db "$T/leaky.db" --data-dir "$T" --smolvm-version 1.9.2
fi

# ---- bottle-launch enforce: never a partly written row; exit 0 only when patched ----
enforce_prep() { cp "$T/orig.db" "$T/e.db"; rm -f "$T/e.db-wal" "$T/e.db-shm"; }
row() { sqlite3 -readonly "$T/e.db" "SELECT hex(data) FROM vms WHERE name='m1'" 2>/dev/null; }
enforce_check() {
	local ic r
	ic=$(sqlite3 -readonly "$T/e.db" 'PRAGMA integrity_check' 2>&1)
	r=$(row)
	if [ "$ic" != ok ]; then fail_open "$2 integrity_check: $ic"; return; fi
	if [ "$r" != "$(cat "$T/row.orig")" ] && [ "$r" != "$(cat "$T/row.patched")" ]; then fail_open "$2 partly written row"; return; fi
	if [ "$1" = 0 ] && [ "$r" != "$(cat "$T/row.patched")" ]; then fail_open "$2 exit 0 but not patched"; return; fi
	if [ "$1" = 0 ]; then absorbed=$((absorbed + 1)); else closed=$((closed + 1)); fi
}
if [[ " $ONLY " == *" enforce "* ]]; then
	"$top/fixtures/mkdb.sh" "$T/orig.db" m1 "$top/fixtures/records/cidrs-null.json"
	sqlite3 "$T/orig.db" 'PRAGMA wal_checkpoint(TRUNCATE)' >/dev/null
	enforce_prep; row >"$T/row.orig"
	EN=("$B/bottle-launch" enforce m1 --allow 192.0.2.10/32 --db "$T/e.db" --data-dir "$T")
	"${EN[@]}" >/dev/null 2>&1 || { echo "faults: enforce baseline failed" >&2; exit 2; }
	row >"$T/row.patched"
	enforce_prep
	PREP=enforce_prep inject enforce enforce_check "${EN[@]}"
fi

# ---- bottle-verify egress (netns transport into this namespace): leaky, then confined ----
egress_leaky_check() { if [ "$1" = 0 ]; then fail_open "$2 leaky egress exits 0"; else closed=$((closed + 1)); fi; }
egress_check() {
	if [ "$1" = 0 ]; then
		if [ "$(points "$T/out")" = "$(cat "$T/egress.base")" ]; then absorbed=$((absorbed + 1)); else fail_open "$2 exit 0, report differs"; fi
	else closed=$((closed + 1)); fi
}
if [[ " $ONLY " == *" egress "* ]]; then
	cat >"$T/policy.json" <<'POL'
{ "deadline_ms": 300,
  "controls": [ { "proto": "tcp", "addr": "127.0.0.1", "port": 7090, "sink": false } ],
  "denied": { "public": [ { "proto": "tcp", "addr": "127.0.0.2", "port": 7001 },
                          { "proto": "udp", "addr": "127.0.0.2", "port": 7002 } ],
              "dns": [ { "proto": "dns-udp", "addr": "127.0.0.3", "port": 5353 } ] } }
POL
	perl -MIO::Socket::INET -e 'my $s = IO::Socket::INET->new(LocalAddr => "127.0.0.1", LocalPort => 7090,
		Listen => 64, ReuseAddr => 1) or die; while (my $c = $s->accept) { close $c }' &
	sleep 0.3
	EG=("$B/bottle-verify" --format json egress --policy "$T/policy.json" --netns /proc/self/ns/net --probe "$B/bottle-probe")
	"${EG[@]}" >"$T/out" 2>/dev/null
	[ $? = 1 ] || { echo "faults: leaky egress baseline is not exit 1" >&2; exit 2; }
	inject egress-leaky egress_leaky_check "${EG[@]}"
	nft add table inet f && nft add chain inet f out '{ type filter hook output priority 0; }' &&
		nft add rule inet f out ip daddr '{ 127.0.0.2, 127.0.0.3 }' drop ||
		{ echo "faults: nft is needed for the confined egress fixture" >&2; exit 2; }
	"${EG[@]}" >"$T/out" 2>/dev/null || { echo "faults: confined egress baseline is not exit 0" >&2; exit 2; }
	points "$T/out" >"$T/egress.base"
	inject egress egress_check "${EG[@]}"
fi

# ---- bottle-verify watch (1 s) of a stand-in VMM: exit 0 only with the baseline's points --
# The VMM is a process of this namespace named by agent.pid with its start time; the
# leaky one holds a connection to 127.0.0.1:7091, outside --expect, and --stop-on-finding
# (the stopper's fork and exec under injection too) runs /bin/true as its smolvm.
watch_points() { perl -MJSON::PP -ne 'my $d = eval { decode_json($_) } or do { print "invalid\n"; next };
	print "$d->{id} $d->{status}\n" if $d->{type} eq "point"; print "end $d->{exit_code}\n" if $d->{type} eq "end"' <"$1"; }
watch_check() {
	if [ "$1" = 0 ]; then
		if [ "$(watch_points "$T/out")" = "$(cat "$T/watch.base")" ]; then absorbed=$((absorbed + 1)); else fail_open "$2 exit 0, report differs"; fi
	else closed=$((closed + 1)); fi
}
watch_leaky_check() { if [ "$1" = 0 ]; then fail_open "$2 leaky watch exits 0"; else closed=$((closed + 1)); fi; }
vmm_dir() { # dir pid: agent.pid naming pid by its start time
	mkdir -p "$1"
	printf '%s\n%s\n' "$2" "$(sed 's/.*) //' "/proc/$2/stat" | cut -d' ' -f20)" >"$1/agent.pid"
}
if [[ " $ONLY " == *" watch "* ]]; then
	"$top/fixtures/mkdb.sh" "$T/w.db" m1 "$top/fixtures/records/confined.json"
	sleep 3600 & vmm_dir "$T/quiet" $!
	WA=("$B/bottle-verify" --format json watch m1 --expect 192.0.2.10/32 --db "$T/w.db" --data-dir "$T/quiet"
		--smolvm-version 1.9.2 --duration 1 --interval 50)
	"${WA[@]}" >"$T/out" 2>/dev/null || { echo "faults: watch baseline is not exit 0" >&2; exit 2; }
	watch_points "$T/out" >"$T/watch.base"
	inject watch watch_check "${WA[@]}"
	perl -MIO::Socket::INET -e 'my $s = IO::Socket::INET->new(LocalAddr => "127.0.0.1:7091", Listen => 8, ReuseAddr => 1) or die;
		while (my $c = $s->accept) { push @k, $c }' &
	sleep 0.3
	perl -MIO::Socket::INET -e 'my $c = IO::Socket::INET->new("127.0.0.1:7091") or die; sleep 3600' &
	sleep 0.3
	vmm_dir "$T/leaky" $!
	WL=("$B/bottle-verify" --format json watch m1 --expect 192.0.2.10/32 --db "$T/w.db" --data-dir "$T/leaky"
		--smolvm-version 1.9.2 --duration 1 --interval 50 --stop-on-finding --smolvm /bin/true)
	"${WL[@]}" >"$T/out" 2>/dev/null
	[ $? = 1 ] || { echo "faults: leaky watch baseline is not exit 1" >&2; exit 2; }
	inject watch-leaky watch_leaky_check "${WL[@]}"
fi

[ -s "$T/crash.log" ] && sed 's/^/faults: /' "$T/crash.log" >&2
echo "faults ($FAULTS_PASS): $runs injected runs: $closed failed closed ($crashes of them by a crash of ours, $hangs by a hang; $filtered killed by the seccomp filter, $loader by the loader's first mmap), $absorbed absorbed (exit 0 with the baseline's complete report), $open fail-open (goal 0)"
[ "$open" = 0 ]
