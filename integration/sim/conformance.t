#!/bin/sh
# The fake smolvm held to smolvm's source, row by row of docs/sim.md's table, per version
# (0.8.0, 1.2.4, 1.9.2, 1.9.3 where the rows differ). No verifier here: the fake's own CLI,
# its DB rows, its data dirs and what a guest's packets meet are checked directly, with a
# host-side sink (TCP/UDP listeners and the upstream resolver) on documentation addresses
# of the private namespace sim_enter made, and a probe run in the guest by `machine exec`.
top=$(cd "$(dirname "$0")/../.." && pwd)
. "$top/integration/sim/lib.sh"
sim_enter "$@"
. "$top/integration/lib.sh"
if ! command -v nft >/dev/null || ! command -v ip >/dev/null || ! command -v sqlite3 >/dev/null; then
	if [ "${LANE_MUST_RUN:-}" = 1 ]; then plan 1; not_ok "nft, ip and sqlite3 available (BOTTLE_VERIFY_MUST_RUN=1)"; exit 1; fi
	echo "1..0 # SKIP the sim lane needs nft, ip and sqlite3"; exit 0
fi
plan 108
sim_host
for a in 203.0.113.7/32 169.254.1.1/32 100.64.0.9/32; do ip addr add "$a" dev lo; done
DB="$HOME/.local/share/smolvm/server/smolvm.db"
S=smolvm

# --- the host side: a sink that logs what reached it, answers DNS as the upstream -----------
# (198.51.100.53:53, the default upstream, and 127.0.83.53:53, the --dns rows' resolver: loopback)
cat >"$T/sink.pl" <<'EOF'
use strict; use warnings; use IO::Select; use IO::Socket::IP;
my ($log, @eps) = @ARGV;
open my $L, '>>', $log or die; select((select($L), $| = 1)[0]);
my $sel = IO::Select->new; my (%kind, %local);
for (@eps) {
	my ($p, $a, $port) = /^(tcp|udp):\[?(.+?)\]?:(\d+)$/ or die "bad $_";
	my $s = IO::Socket::IP->new(LocalHost => $a, LocalPort => $port, Proto => $p,
		($p eq 'tcp' ? (Listen => 16, ReuseAddr => 1) : ())) or die "sink $_: $@";
	$sel->add($s); $kind{$s} = $p; $local{$s} = "$a:$port";
}
$| = 1; print "ready\n";
sub answer { my ($q) = @_; return '' if length $q < 12; substr($q, 2, 1) = chr(ord(substr $q, 2, 1) | 0x80); $q }
while (1) {
	for my $s ($sel->can_read) {
		my $k = $kind{$s} // 'conn';
		if ($k eq 'udp') {
			my $peer = $s->recv(my $buf, 4096); next unless defined $peer;
			my $port = (split /:/, $local{$s})[-1];
			print $L "udp $local{$s}\n";
			$s->send($port == 53 ? answer($buf) : "echo:$buf", 0, $peer);
		} elsif ($k eq 'tcp') {
			my $c = $s->accept or next;
			print $L "tcp $local{$s}\n";
			if ($local{$s} =~ /:53$/) {
				my $n; sysread $c, $n, 2; my $len = unpack 'n', $n // "\0\0"; my $q = '';
				sysread $c, $q, $len - length $q, length $q while length $q < $len;
				my $a = answer($q); syswrite $c, pack('n', length $a) . $a;
			} else { syswrite $c, "sink\n" }
			close $c;
		}
	}
}
EOF
perl "$T/sink.pl" "$T/sink.log" tcp:192.0.2.10:7000 tcp:198.51.100.1:9 tcp:[2001:db8::1]:443 \
	udp:192.0.2.10:7 udp:198.51.100.1:7 udp:[2001:db8::1]:7 udp:198.51.100.53:53 \
	tcp:198.51.100.53:53 tcp:127.0.0.1:5555 tcp:127.0.0.2:5555 tcp:169.254.1.1:80 \
	tcp:100.64.0.9:80 tcp:127.0.0.16:7000 tcp:[::1]:5555 udp:127.0.83.53:53 tcp:127.0.83.53:53 \
	>"$T/sink.out" 2>&1 &
wait_until grep -q ready "$T/sink.out" || cat "$T/sink.out"
reached() { grep -qx "$1" "$T/sink.log" 2>/dev/null; }
sinkmark() { : >"$T/sink.log"; }

# --- the guest side: one perl process per exec, one line per probe ------------------------
PROBE='
use strict; use warnings; use IO::Socket::IP; use Errno;
my $dq = pack("n n n n n n", 0x4242, 0x0100, 1, 0, 0, 0) . "\4conf\4test\0" . pack("n n", 1, 1);
while (@ARGV) {
	my $op = shift; my $h = shift; my $p = $op =~ /^dns/ ? 53 : shift;
	if ($op eq "tcp" || $op eq "dnstcp") {
		my $s = IO::Socket::IP->new(PeerHost => $h, PeerPort => $p, Timeout => 1.5);
		if (!$s) { my $e = $!{ECONNREFUSED} ? "refused" : $!{ETIMEDOUT} || $!{EINPROGRESS} ? "timeout" : "error($!)"; print "$op $h $p $e\n"; next }
		if ($op eq "dnstcp") { print $s pack("n", length $dq) . $dq } else { print $s "x\n" }
		my $r = ""; my $rin = ""; vec($rin, fileno $s, 1) = 1;
		sysread($s, $r, 512) if select(my $o = $rin, undef, undef, 1.5) > 0;
		print "$op $h $p " . (length $r ? ($op eq "dnstcp" ? "answered" : "connected " . ($r =~ s/\n//r)) : "connected-silent") . "\n";
	} else {
		my $s = IO::Socket::IP->new(PeerHost => $h, PeerPort => $p, Proto => "udp") or do { print "$op $h $p error($!)\n"; next };
		$s->send($op eq "dns" ? $dq : "ping");
		my $rin = ""; vec($rin, fileno $s, 1) = 1;
		if (select(my $o = $rin, undef, undef, 1) > 0 && defined $s->recv(my $r, 512)) {
			print "$op $h $p " . ($op eq "dns" ? (substr($r, 0, 2) eq "\x42\x42" ? "answered" : "garbage") : "reply $r") . "\n";
		} else { print "$op $h $p noreply\n" }
	}
}'
probe() { # MACHINE OP HOST [PORT] ... -> $T/probe.out
	m=$1; shift
	$S machine exec --name "$m" -- perl -e "$PROBE" "$@" >"$T/probe.out" 2>&1
}
saw() { grep -qx "$1" "$T/probe.out"; }
# row DESC CONDITION...: ok when the shell condition holds, else not ok with the probe output
row() { d=$1; shift; if eval "$*"; then ok "$d"; else not_ok "$d" "($*)" "$(tail -4 "$T/probe.out" 2>/dev/null)"; fi; }
rc_of() { "$@" >"$T/out" 2>&1; echo $?; }
rowjson() { sqlite3 -cmd ".timeout 15000" "$DB" "SELECT CAST(data AS TEXT) FROM vms WHERE name='$1'"; }
keys() { sqlite3 -cmd ".timeout 15000" "$DB" "SELECT key FROM vms, json_each(CAST(vms.data AS TEXT)) WHERE vms.name='$1'" | tr '\n' ' ' | sed 's/ $//'; }
# The egress file is rewritten in place (truncate, write: std::fs::write), so a read can
# land between the two: read it until it holds a number.
egress_of() { for _ in 1 2 3 4 5 6 7 8 9 10; do v=$(cat "$1" 2>/dev/null); case "$v" in ''|*[!0-9]*) sleep 0.05 ;; *) echo "$v"; return 0 ;; esac; done; return 1; }
dead() { [ ! -e "/proc/$1" ] || grep -q ') Z ' "/proc/$1/stat"; }
jget() { rowjson "$1" | perl -MJSON::PP -e 'local $/; my $d = decode_json(<STDIN>); my $v = $d->{$ARGV[0]}; print JSON::PP->new->canonical->allow_nonref->encode($v)' "$2"; }
ddir() { FAKE_SMOLVM_VERSION=1.9.3 $S machine data-dir --name "$1"; }
up() { # VERSION NAME CREATE-ARGS... : create and start
	v=$1 m=$2; shift 2
	FAKE_SMOLVM_VERSION=$v $S machine create $([ "$v" = 0.8.0 ] && echo "$m" || echo "--name $m") "$@" >/dev/null 2>"$T/up.err" \
		&& FAKE_SMOLVM_VERSION=$v $S machine start --name "$m" >/dev/null 2>>"$T/up.err" || cat "$T/up.err" >&2
	sleep 0.35
}
restart() { m=$1; shift; $S machine stop --name "$m" >/dev/null 2>&1; env "$@" $S machine start --name "$m" >/dev/null 2>&1; sleep 0.35; }
echo pack >"$T/dummy.smolmachine"
printf '{"image":"registry.test/app:1","entrypoint":["/app"],"cmd":["serve"],"env":["A=1"],"workdir":"/srv"}' >"$T/json.smolmachine"

# === CLI shapes, exit codes (src/cli/machine.rs, src/main.rs) ===============================
export FAKE_SMOLVM_VERSION=0.8.0
row "0.8.0: create --name is a usage error (exit 2), a positional NAME is the name" \
	'[ "$(rc_of $S machine create --name x)" = 2 ] && [ "$(rc_of $S machine create p080)" = 0 ]'
row "0.8.0: data-dir of a name with no row prints the path (exit 0), creating nothing" \
	'[ "$(rc_of $S machine data-dir nosuch)" = 0 ] && [ ! -e "$(cat "$T/out")" ]'
row "0.8.0: stop of a name with no row: 'not found or not running', exit 0" \
	'[ "$(rc_of $S machine stop --name nosuch)" = 0 ] && grep -q "not found or not running" "$T/out"'
export FAKE_SMOLVM_VERSION=1.9.3
row "1.9.3: --version prints 'smolvm 1.9.3' (the default version)" \
	'[ "$(env -u FAKE_SMOLVM_VERSION $S --version)" = "smolvm 1.9.3" ]'
row "1.9.3: a positional NAME on create is a usage error (exit 2)" '[ "$(rc_of $S machine create x)" = 2 ]'
row "1.9.3: data-dir of a name with no row: Error: vm not found, exit 1" \
	'[ "$(rc_of $S machine data-dir --name nosuch)" = 1 ] && grep -qx "Error: vm not found: nosuch" "$T/out"'
row "1.9.3: stop of a name with no row: Error: vm not found, exit 1" \
	'[ "$(rc_of $S machine stop --name nosuch)" = 1 ] && grep -qx "Error: vm not found: nosuch" "$T/out"'
row "1.9.3: start of a name with no row: Error: vm not found, exit 1" \
	'[ "$(rc_of $S machine start --name nosuch)" = 1 ] && grep -qx "Error: vm not found: nosuch" "$T/out"'
row "1.9.3: --allow-cidr with --net-backend tsi is refused at create (exit 1)" \
	'[ "$(rc_of $S machine create --name t1 --net-backend tsi --allow-cidr 192.0.2.10/32)" = 1 ] && grep -q "^Error: config operation failed: egress:" "$T/out"'
row "1.9.3: a bad --allow-cidr is a usage error (exit 2)" \
	'[ "$(rc_of $S machine create --name t2 --allow-cidr 300.1.2.3/32)" = 2 ]'

# === records (src/config.rs VmRecord per tag) and the DB ====================================
K080="name created_at state pid pid_start_time cpus mem mounts ports network gpu gpu_vram_mib restart last_exit_code init init_completed env workdir storage_gb overlay_gb allowed_cidrs image entrypoint cmd health_cmd health_interval_secs health_timeout_secs health_retries health_startup_grace_secs ssh_agent ephemeral source_smolmachine"
K193="name created_at state pid pid_start_time cpus mem mounts ports published_sockets network gpu gpu_vram_mib rosetta restart last_exit_code init init_completed remote_volumes env workdir storage_gb overlay_gb allowed_cidrs image entrypoint cmd health_cmd health_interval_secs health_timeout_secs health_retries health_startup_grace_secs ssh_agent cuda docker_socket ephemeral source_smolmachine runtime_managed"
FAKE_SMOLVM_VERSION=0.8.0 $S machine create r080 --from "$T/json.smolmachine" --net --allow-cidr 127.0.0.16/32 >/dev/null
$S machine create --name r193 --from "$T/json.smolmachine" --net --allow-cidr 192.0.2.10/32 >/dev/null
FAKE_SMOLVM_VERSION=1.9.2 $S machine create --name r192 --from "$T/dummy.smolmachine" --net >/dev/null
row "0.8.0: a --from row has exactly v0.8.0's keys, in struct order" '[ "$(keys r080)" = "$K080" ]'
row "1.9.3: a --from row has exactly v1.9.3's keys (remote_volumes written)" '[ "$(keys r193)" = "$K193" ]'
row "1.9.2: no remote_volumes key" '! keys r192 | grep -qw remote_volumes && keys r192 | grep -qw published_sockets'
row "0.8.0 --from: allowed_cidrs null (dropped), network from --net" \
	'[ "$(jget r080 allowed_cidrs)" = null ] && [ "$(jget r080 network)" = true ]'
row "1.9.3 --from: allowed_cidrs kept" '[ "$(jget r193 allowed_cidrs)" = "[\"192.0.2.10/32\"]" ]'
row "--from: image, entrypoint, cmd, env, workdir from a JSON manifest (0.8.0)" \
	'[ "$(jget r080 image)$(jget r080 entrypoint)$(jget r080 cmd)$(jget r080 env)$(jget r080 workdir)" = "\"registry.test/app:1\"[\"/app\"][\"serve\"][[\"A\",\"1\"]]\"/srv\"" ]'
row "--from a dummy pack: the empty manifest (image \"\", no cmd/env/workdir)" \
	'[ "$(jget r192 image)$(jget r192 cmd)$(jget r192 env)$(jget r192 workdir)" = "\"\"[][]null" ]'
row "rows are BLOBs; create defaults cpus 4, mem 8192" \
	'[ "$(sqlite3 -cmd ".timeout 15000" "$DB" "SELECT DISTINCT typeof(data) FROM vms")" = blob ] && [ "$(jget r193 cpus)$(jget r193 mem)" = 48192 ]'

# === data dir timing (src/agent/manager.rs ensure_vm_dir; run_from_smolmachine) ============
row "0.8.0: create --from makes no data dir" '[ ! -e "$(ddir r080)" ]'
row "1.2.4: create --from makes the data dir, with its name file" \
	'FAKE_SMOLVM_VERSION=1.2.4 $S machine create --name r124 --from "$T/dummy.smolmachine" >/dev/null && [ "$(cat "$(ddir r124)/name")" = r124 ]'
row "1.9.3: create --image makes no data dir" \
	'$S machine create --name img --image registry.test/x:1 --net >/dev/null && [ ! -e "$(ddir img)" ]'
row "1.9.3: create with no image/pack makes no data dir" \
	'$S machine create --name bare --net >/dev/null && [ ! -e "$(ddir bare)" ]'
dd=$(ddir bare); mkdir -p "$dd"
row "start accepts a data dir a launcher made (no name file) and writes the name file" \
	'$S machine start --name bare >/dev/null 2>&1 && [ "$(cat "$dd/name")" = bare ] && $S machine stop --name bare >/dev/null'
dd=$(ddir img); mkdir -p "$dd"; printf 'other' >"$dd/name"
row "start refuses a data dir whose name file names another machine (exit 1, hash collision)" \
	'[ "$(rc_of $S machine start --name img)" = 1 ] && grep -q "VM directory hash collision" "$T/out"'
printf 'img\n' >"$dd/name"
row "start refuses a name file with a trailing newline (compared byte for byte)" '[ "$(rc_of $S machine start --name img)" = 1 ]'
row "start without KVM: the data dir is made first; Error: agent operation failed: start machine: kvm not available, exit 1" \
	'rm -rf "$(ddir r080)"; [ "$(rc_of env FAKE_SMOLVM_VERSION=0.8.0 FAKE_SMOLVM_KVM=$T/nokvm $S machine start --name r080)" = 1 ] && grep -q "^Error: agent operation failed: start machine: kvm not available: KVM not available. Ensure KVM kernel module is loaded.$" "$T/out" && [ -d "$(ddir r080)" ]'

# === SMOLVM_DATA_DIR (src/process.rs apply_system_data_root, src/main.rs, from 1.2.5) =======
row "1.2.4: SMOLVM_DATA_DIR is ignored (the row goes to \$HOME)" \
	'SMOLVM_DATA_DIR=$T/root124 FAKE_SMOLVM_VERSION=1.2.4 $S machine create --name sd124 >/dev/null && [ -n "$(rowjson sd124)" ] && [ ! -e "$T/root124" ]'
row "1.2.5: SMOLVM_DATA_DIR roots the DB and the data dirs (HOME=it, XDG dropped)" \
	'SMOLVM_DATA_DIR=$T/root125 XDG_CACHE_HOME=/elsewhere FAKE_SMOLVM_VERSION=1.2.5 $S machine create --name sd125 --from "$T/dummy.smolmachine" >/dev/null && [ -n "$(sqlite3 -cmd ".timeout 15000" "$T/root125/.local/share/smolvm/server/smolvm.db" "SELECT name FROM vms")" ] && [ "$(SMOLVM_DATA_DIR=$T/root125 $S machine data-dir --name sd125)" = "$T/root125/.cache/smolvm/vms/$(printf sd125 | sha256sum | cut -c1-16)" ] && [ -d "$(SMOLVM_DATA_DIR=$T/root125 $S machine data-dir --name sd125)" ]'

# === 1.9.3, a /32 policy: virtio-net gateway ===============================================
up 1.9.3 g193 --net --allow-cidr 192.0.2.10/32
D=$(ddir g193)
# --- machine cp mode (CpCmd, WriteSession) --------------------------------------------------
printf '#!/bin/sh\necho hi\n' >"$T/x.sh"; chmod 755 "$T/x.sh"
$S machine cp "$T/x.sh" g193:/tmp/x.sh >/dev/null 2>&1
row "1.9.3: cp without --mode writes 0644, whatever the source's mode" '[ "$(stat -c %a "$D/rootfs/tmp/x.sh")" = 644 ]'
chmod 755 "$D/rootfs/tmp/x.sh"; $S machine cp "$T/x.sh" g193:/tmp/x.sh >/dev/null 2>&1
row "1.9.3: cp over an existing 0755 file without --mode leaves a fresh 0644" '[ "$(stat -c %a "$D/rootfs/tmp/x.sh")" = 644 ]'
row "1.9.3: cp --mode 0755 / --mode=0o700 set the mode; a relative guest path lands under /" \
	'$S machine cp --mode 0755 "$T/x.sh" g193:/tmp/a.sh && [ "$(stat -c %a "$D/rootfs/tmp/a.sh")" = 755 ] && $S machine cp "$T/x.sh" g193:tmp/b.sh --mode=0o700 && [ "$(stat -c %a "$D/rootfs/tmp/b.sh")" = 700 ]'
row "1.9.3: cp --mode 8x or 77777: Error ... invalid octal mode, exit 1" \
	'[ "$(rc_of $S machine cp --mode 8x "$T/x.sh" g193:/tmp/c)" = 1 ] && grep -q "invalid octal mode" "$T/out" && [ "$(rc_of $S machine cp --mode 77777 "$T/x.sh" g193:/tmp/c)" = 1 ]'
row "1.9.3: cp --mode on a download: Error, exit 1" '[ "$(rc_of $S machine cp --mode 644 g193:/tmp/x.sh "$T/back")" = 1 ]'
row "1.2.4: cp --mode is a usage error (exit 2)" '[ "$(rc_of env FAKE_SMOLVM_VERSION=1.2.4 $S machine cp --mode 755 "$T/x.sh" g193:/tmp/d)" = 2 ]'
row "1.9.2: cp --mode 700 is accepted" '[ "$(rc_of env FAKE_SMOLVM_VERSION=1.9.2 $S machine cp --mode 700 "$T/x.sh" g193:/tmp/e)" = 0 ] && [ "$(stat -c %a "$D/rootfs/tmp/e")" = 700 ]'
# --- exec flags (ExecCmd) ---------------------------------------------------------------------
row "exec -n NAME is a usage error (exit 2): --name only" '[ "$(rc_of $S machine exec -n g193 -- true)" = 2 ]'
row "exec --name NAME CMD without -- runs CMD; the guest's exit code comes back" \
	'[ "$(rc_of $S machine exec --name g193 sh -c "exit 7")" = 7 ]'
row "exec --timeout 1s: killed, exit 124; a bare number is a usage error" \
	'[ "$(rc_of $S machine exec --name g193 --timeout 1s -- sleep 5)" = 124 ] && [ "$(rc_of $S machine exec --name g193 --timeout 1 -- true)" = 2 ]'
# --- TCP/UDP denial, DNS carve-out, gateway -----------------------------------------------------
sinkmark
probe g193 tcp 192.0.2.10 7000 tcp 198.51.100.1 9 tcp 2001:db8::1 443 udp 198.51.100.1 7 \
	udp 2001:db8::1 7 dns 203.0.113.7 dns 2001:db8::1 dnstcp 100.96.0.1 dnstcp 198.51.100.53 \
	tcp 100.96.0.1 5555 udp 100.96.0.1 7 tcp 169.254.1.1 80
row "1.9.3: TCP to the allowed /32 connects" 'saw "tcp 192.0.2.10 7000 connected sink"'
row "1.9.3: TCP to a denied address: refused at once (RST), nothing reached" \
	'saw "tcp 198.51.100.1 9 refused" && ! reached "tcp 198.51.100.1:9"'
row "1.9.3: TCP to denied IPv6: refused" 'saw "tcp 2001:db8::1 443 refused" && ! reached "tcp 2001:db8::1:443"'
row "1.9.3: UDP to a denied address (v4 and v6): dropped silently, nothing reached" \
	'saw "udp 198.51.100.1 7 noreply" && saw "udp 2001:db8::1 7 noreply" && ! reached "udp 198.51.100.1:7" && ! reached "udp 2001:db8::1:7"'
row "1.9.3: UDP/53 to any IPv4 address is answered through the upstream (DNS carve-out)" \
	'saw "dns 203.0.113.7 53 answered" && reached "udp 198.51.100.53:53"'
row "1.9.3: UDP/53 to any IPv6 address is answered too, from the address asked" 'saw "dns 2001:db8::1 53 answered"'
row "1.9.3: TCP/53 to the gateway is served; TCP/53 to another address is refused" \
	'saw "dnstcp 100.96.0.1 53 answered" && saw "dnstcp 198.51.100.53 53 refused"'
row "1.9.3: the gateway address under a /32 for another: TCP refused, UDP dropped, host loopback not reached" \
	'saw "tcp 100.96.0.1 5555 refused" && saw "udp 100.96.0.1 7 noreply" && ! reached "tcp 127.0.0.1:5555"'
row "1.9.3: the metadata floor: 169.254.1.1 refused" 'saw "tcp 169.254.1.1 80 refused"'
# --- denial log (egress.rs record_denial) -------------------------------------------------------
sleep 0.3
TS='\[[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}Z\]: egress policy denied'
row "1.9.3: egress-denials.log: 'connect to IP:PORT' per refused SYN, exact format" \
	'grep -Eqx "$TS connect to 198\.51\.100\.1:9" "$D/egress-denials.log"'
row "1.9.3: IPv6 as SocketAddr prints it: connect to [2001:db8::1]:443" \
	'grep -Eqx "$TS connect to \[2001:db8::1\]:443" "$D/egress-denials.log"'
row "1.9.3: 'sendto IP:PORT' per dropped UDP datagram (v4 and v6)" \
	'grep -Eqx "$TS sendto 198\.51\.100\.1:7" "$D/egress-denials.log" && grep -Eqx "$TS sendto \[2001:db8::1\]:7" "$D/egress-denials.log"'
row "1.9.3: the gateway address is logged as asked (100.96.0.1), floor refusals are logged" \
	'grep -Eqx "$TS connect to 100\.96\.0\.1:5555" "$D/egress-denials.log" && grep -Eqx "$TS sendto 100\.96\.0\.1:7" "$D/egress-denials.log" && grep -Eqx "$TS connect to 169\.254\.1\.1:80" "$D/egress-denials.log"'
row "1.9.3: TCP/53 elsewhere is a denial; no line for UDP/53, TCP/53 to the gateway, or what was allowed" \
	'grep -Eqx "$TS connect to 198\.51\.100\.53:53" "$D/egress-denials.log" && ! grep -Eq "sendto .*:53$|100\.96\.0\.1:53|192\.0\.2\.10" "$D/egress-denials.log" && [ "$(grep -c "" "$D/egress-denials.log")" = 8 ]'
# --- the VMM's host sockets are the egress (tcp_relay.rs, udp_relay.rs: one host socket per flow)
vmm=$(jget g193 pid)
vsock() { ss -Htunap 2>/dev/null | grep "pid=$vmm," ; }
row "1.9.3: the row's pid is the VMM, the one agent.pid names, and it is not the guest's namespace" \
	'[ "$vmm" = "$(head -1 "$D/agent.pid")" ] && [ "$(readlink /proc/$vmm/ns/net)" = "$(readlink /proc/self/ns/net)" ] && [ "$(readlink /proc/$(sed -n "s/^guest=//p" "$D/fake-net")/ns/net)" != "$(readlink /proc/self/ns/net)" ]'
$S machine exec --name g193 -- perl -MIO::Socket::IP -e 'my $s = IO::Socket::IP->new(PeerHost => "192.0.2.10", PeerPort => 8888) or exit 1; sleep 2' &
held=$!
probe g193 udp 192.0.2.10 7
wait_until sh -c "ss -Htnp state established dst 192.0.2.10:8888 | grep -q 'pid=$vmm,'"
row "1.9.3: the VMM (row pid) holds every allowed flow as a host socket: the guest's TCP to 192.0.2.10:8888, its UDP flow to 192.0.2.10:7; it listens on nothing in the host namespace" \
	'ss -Htnp state established dst 192.0.2.10:8888 | grep -q "pid=$vmm," && ss -Hunp dst 192.0.2.10:7 | grep -q "pid=$vmm," && ! ss -Htlunp | grep -q "pid=$vmm,"'
wait $held
( while :; do vsock; sleep 0.01; done ) >"$T/vsock.log" 2>&1 &
sampler=$!
probe g193 tcp 198.51.100.1 9 udp 198.51.100.1 7 tcp 2001:db8::1 443 udp 2001:db8::1 7 tcp 100.96.0.1 5555
kill "$sampler"; wait "$sampler" 2>/dev/null
row "1.9.3: denied flows create no VMM socket (TCP and UDP, v4, v6, the gateway; sampled every 10 ms)" \
	'grep -q "192.0.2.10:7 " "$T/vsock.log" && ! grep -Eq "198\.51\.100\.1|2001:db8::1|127\.0\.0\.1:5555" "$T/vsock.log"'
probe g193 tcp 192.0.2.10 7001
# (under load the reset can beat perl's check of the completed connect: ECONNRESET, never
# ECONNREFUSED, which would mean the SYN itself was refused)
row "1.9.3: an allowed destination nobody listens on: the guest's connect completes, then a reset (the VMM dials after the handshake)" \
	'saw "tcp 192.0.2.10 7001 connected-silent" || saw "tcp 192.0.2.10 7001 error(Connection reset by peer)"'
# --- a lying guest answers exec of the probe (FAKE_SMOLVM_GUEST, fixtures/liars) -------------
printf 'BV-PLAN 1\nrun rL deadline_ms 1500\nprobe d0 tcp 192.0.2.10 7000\nprobe d1 udp 198.51.100.1 7\nprobe d2 http 198.51.100.1 9 4745\nend 3\n' >"$T/plan"
$S machine cp "$T/x.sh" g193:/tmp/bottle-probe >/dev/null 2>&1; $S machine cp "$T/plan" g193:/tmp/bottle-probe.plan >/dev/null 2>&1
sinkmark; nd=$(grep -c "" "$D/egress-denials.log")
liar() { m=$1; shift; FAKE_SMOLVM_GUEST=$m $S machine exec --name g193 -- "$@" >"$T/probe.out" 2>&1; echo $?; }
row "FAKE_SMOLVM_GUEST=liar-deny: exec of /tmp/bottle-probe prints a complete report of denials, exits with the --ok-exit sentinel, sends nothing" \
	'[ "$(liar liar-deny /tmp/bottle-probe --ok-exit 99 /tmp/bottle-probe.plan)" = 99 ] && [ "$(head -1 "$T/probe.out")" = "BV-REPORT 1 run rL" ] && grep -Eqx "result d0 tcp refused errno=111 us=[0-9]+ rx=0 rcode=-" "$T/probe.out" && grep -Eqx "result d1 udp timeout errno=110 us=[0-9]+ rx=0 rcode=-" "$T/probe.out" && grep -qx "text d2 -" "$T/probe.out" && [ "$(tail -1 "$T/probe.out")" = "end 3" ]'
row "FAKE_SMOLVM_GUEST=liar-control (through /bin/sh -c, as before 1.9.0): the allowlisted destination claimed connected, the rest denied" \
	'[ "$(liar liar-control /bin/sh -c "chmod 700 \"\$0\" && exec \"\$0\" \"\$@\"" /tmp/bottle-probe --ok-exit 98 /tmp/bottle-probe.plan)" = 98 ] && grep -Eqx "result d0 tcp connected errno=0 us=[0-9]+ rx=0 rcode=-" "$T/probe.out" && grep -q "^result d2 http refused" "$T/probe.out"'
row "FAKE_SMOLVM_GUEST=liar-timing: denials with impossible timings (0 us, 600 s)" \
	'[ "$(liar liar-timing /tmp/bottle-probe --ok-exit 99 /tmp/bottle-probe.plan)" = 99 ] && grep -qx "result d0 tcp refused errno=111 us=0 rx=0 rcode=-" "$T/probe.out" && grep -qx "result d1 udp timeout errno=110 us=600000000 rx=0 rcode=-" "$T/probe.out"'
row "the liars sent nothing (no sink hit, no denial logged); any other command runs as given" \
	'sleep 0.3; [ ! -s "$T/sink.log" ] && [ "$(grep -c "" "$D/egress-denials.log")" = "$nd" ] && [ "$(liar liar-deny sh -c "exit 5")" = 5 ]'
n8=$((8 * 1024 * 1024))
head -c "$n8" /dev/zero | tr '\0' 'x' >"$D/egress-denials.log"
probe g193 tcp 198.51.100.1 9; sleep 0.3
row "1.9.3: a log of exactly 8 MiB is not rotated (the rule is 'past 8 MiB')" \
	'[ ! -e "$D/egress-denials.log.1" ] && [ "$(stat -c %s "$D/egress-denials.log")" -gt "$n8" ]'
probe g193 tcp 198.51.100.1 9; sleep 0.3
row "1.9.3: past 8 MiB the log is renamed to egress-denials.log.1 before the next line" \
	'[ "$(stat -c %s "$D/egress-denials.log.1")" -gt "$n8" ] && [ "$(grep -c "" "$D/egress-denials.log")" = 1 ] && grep -Eqx "$TS connect to 198\.51\.100\.1:9" "$D/egress-denials.log"'
# --- egress byte file (src/agent/manager.rs spawn_egress_flush) -----------------------------------
row "1.9.3: <data dir>/egress holds the NIC's byte count, a bare decimal" 'egress_of "$D/egress" >/dev/null'
# --- stop: write-back of the cached row only after it resolved running (stop_vm_named) -----
patch() { sqlite3 -cmd ".timeout 15000" "$DB" "UPDATE vms SET data = CAST(json_set(CAST(data AS TEXT), '\$.allowed_cidrs', json('[\"192.0.2.99/32\"]')) AS BLOB) WHERE name='$1'"; }
FAKE_SMOLVM_STOP_DELAY=1 $S machine stop --name g193 >/dev/null &
sp=$!; sleep 0.5; patch g193; wait $sp
row "1.9.3: stop of a running machine writes its stale cached row back (a concurrent patch is lost)" \
	'[ "$(jget g193 allowed_cidrs)" = "[\"192.0.2.10/32\"]" ] && [ "$(jget g193 state)" = "\"stopped\"" ]'
row "1.9.3: stop of a stopped machine: 'is not running (state: stopped)', no write (the patch stays)" \
	'patch g193; [ "$(rc_of $S machine stop --name g193)" = 0 ] && grep -q "is not running (state: stopped)" "$T/out" && [ "$(jget g193 allowed_cidrs)" = "[\"192.0.2.99/32\"]" ]'
row "1.9.3: the egress file outlives the machine (last value kept)" 'egress_of "$D/egress" >/dev/null'
# --- the leaky variants (the escape corpus) still open what they say -----------------------
restart g193 FAKE_SMOLVM_LEAK=allowlist-ignored; probe g193 tcp 198.51.100.1 9
row "leak allowlist-ignored (1.9.3): a denied address is reached" 'saw "tcp 198.51.100.1 9 connected sink"'
restart g193 FAKE_SMOLVM_LEAK=gateway-open; probe g193 tcp 100.96.0.1 5555
row "leak gateway-open (1.9.3): the gateway dials host loopback under a /32" 'saw "tcp 100.96.0.1 5555 connected sink"'
restart g193 FAKE_SMOLVM_LEAK=ipv6-open; probe g193 tcp 2001:db8::1 443
row "leak ipv6-open (1.9.3): IPv6 is forwarded without policy" 'saw "tcp 2001:db8::1 443 connected sink"'
restart g193 FAKE_SMOLVM_LEAK=dns-open; probe g193 dnstcp 198.51.100.53
row "leak dns-open (1.9.3): TCP/53 to the resolver goes straight there" 'saw "dnstcp 198.51.100.53 53 answered"'
restart g193 FAKE_SMOLVM_LEAK=other-loopback; sinkmark; probe g193 tcp 100.96.0.1 5555
row "leak other-loopback (1.9.3): the gateway dials host 127.0.0.2 under a /32; a sink on 127.0.0.1 sees nothing" \
	'saw "tcp 100.96.0.1 5555 connected sink" && reached "tcp 127.0.0.2:5555" && ! reached "tcp 127.0.0.1:5555"'
restart g193 FAKE_SMOLVM_LEAK=slow-leak; sinkmark; nd=$(grep -c "" "$D/egress-denials.log")
probe g193 tcp 198.51.100.1 9 &
pp=$!; sleep 0.7; early=$(grep -c "" "$T/sink.log"); wait $pp
row "leak slow-leak (1.9.3): a denied TCP destination connects at once, is dialled ~1.2 s later, nothing logged" \
	'[ "$early" = 0 ] && saw "tcp 198.51.100.1 9 connected sink" && reached "tcp 198.51.100.1:9" && [ "$(grep -c "" "$D/egress-denials.log")" = "$nd" ]'
$S machine stop --name g193 >/dev/null
FAKE_SMOLVM_STALE_STOP=1 $S machine create --name st193 --net --allow-cidr 192.0.2.10/32 >/dev/null
patch st193
reverted() { [ "$(jget "$1" allowed_cidrs)" = '["192.0.2.10/32"]' ]; }
row "FAKE_SMOLVM_STALE_STOP=1: a stale cached row written back reverts a patch" \
	'wait_until reverted st193 && [ "$(jget st193 state)" = "\"stopped\"" ]'

# === --dns IP (CreateCmd.dns from 1.2.5; src/agent/launcher.rs: the gateway's upstream_dns) ======
# The resolver is 127.0.83.53 (host loopback: no address to add); the sink answers there and
# at the default upstream 198.51.100.53, and logs which one each query reached.
up 1.9.3 d193 --net --allow-cidr 192.0.2.10/32 --dns 127.0.83.53
sinkmark; probe d193 dns 198.51.100.1
row "1.9.3 --dns 127.0.83.53: a guest UDP/53 query to any address (198.51.100.1) is relayed to 127.0.83.53:53, not to the default upstream" \
	'saw "dns 198.51.100.1 53 answered" && reached "udp 127.0.83.53:53" && ! reached "udp 198.51.100.53:53"'
sinkmark; probe d193 dnstcp 100.96.0.1
row "1.9.3 --dns 127.0.83.53: TCP/53 to the gateway is served from 127.0.83.53:53 too" \
	'saw "dnstcp 100.96.0.1 53 answered" && reached "tcp 127.0.83.53:53" && ! reached "tcp 198.51.100.53:53"'
restart d193 FAKE_SMOLVM_LEAK=dns-ignored; sinkmark; probe d193 dns 198.51.100.1 dnstcp 100.96.0.1
row "leak dns-ignored (1.9.3): the gateway forwards guest DNS to the default upstream 198.51.100.53, the --dns resolver gets nothing" \
	'saw "dns 198.51.100.1 53 answered" && reached "udp 198.51.100.53:53" && reached "tcp 198.51.100.53:53" && ! reached "udp 127.0.83.53:53" && ! reached "tcp 127.0.83.53:53"'
$S machine stop --name d193 >/dev/null
row "1.2.4: create --dns is a usage error (exit 2, no row); 1.2.5 takes it as the record's dns" \
	'[ "$(rc_of env FAKE_SMOLVM_VERSION=1.2.4 $S machine create --name dns124 --net --dns 127.0.83.53)" = 2 ] && grep -q "unexpected argument .--dns." "$T/out" && [ -z "$(rowjson dns124)" ] && [ "$(rc_of env FAKE_SMOLVM_VERSION=1.2.5 $S machine create --name dns125 --net --dns 127.0.83.53)" = 0 ] && [ "$(jget dns125 dns)" = "\"127.0.83.53\"" ]'

# === 1.9.3 unrestricted virtio-net: gateway -> host loopback, floor parsing ==================
export FAKE_SMOLVM_EGRESS_FLUSH_MS=200
up 1.9.3 u193 --net --net-backend virtio-net
DU=$(ddir u193)
e0=$(egress_of "$DU/egress")
probe u193 tcp 100.96.0.1 5555 tcp 169.254.1.1 80 tcp 100.64.0.9 80 udp 192.0.2.10 7
sleep 0.5
row "1.9.3 unrestricted: TCP to the gateway address reaches host 127.0.0.1 on the same port" \
	'saw "tcp 100.96.0.1 5555 connected sink" && reached "tcp 127.0.0.1:5555"'
row "1.9.3 local floor (metadata only): 169.254.1.1 refused, 100.64.0.9 reached, UDP relayed" \
	'saw "tcp 169.254.1.1 80 refused" && saw "tcp 100.64.0.9 80 connected sink" && saw "udp 192.0.2.10 7 reply echo:ping"'
row "1.9.3: the egress byte count grows with the guest's traffic" '[ "$(egress_of "$DU/egress")" -gt "${e0:-0}" ]'
sinkmark; probe u193 tcp fd53:4d00::1 5555 dnstcp fd53:4d00::1
row "1.9.3 unrestricted: TCP to fd53:4d00::1 reaches host [::1] on the same port; TCP/53 to it is served" \
	'saw "tcp fd53:4d00::1 5555 connected sink" && reached "tcp ::1:5555" && saw "dnstcp fd53:4d00::1 53 answered"'
vmm=$(head -1 "$DU/agent.pid"); gst=$(sed -n 's/^guest=//p' "$DU/fake-net")
kill -9 "$vmm"; wait_until dead "$gst"
row "1.9.3: the VMM killed: its guest goes with it; status, ls and exec agree the machine is down" \
	'dead "$gst" && $S machine status --name u193 | grep -q ": stopped$" && $S machine ls | grep -Eq "^u193 +stopped$" && [ "$(rc_of $S machine exec --name u193 -- true)" = 1 ] && grep -q "is not running" "$T/out"'
$S machine start --name u193 >/dev/null 2>&1; sleep 0.35
vmm=$(head -1 "$DU/agent.pid"); gst=$(sed -n 's/^guest=//p' "$DU/fake-net")
kill -9 "$gst"; wait_until dead "$vmm"
row "1.9.3: the guest's namespace gone: the VMM exits; start boots it again" \
	'dead "$vmm" && $S machine status --name u193 | grep -q ": stopped$" && $S machine start --name u193 >/dev/null 2>&1 && sleep 0.35 && $S machine status --name u193 | grep -q ": running$"'
restart u193 SMOLVM_EGRESS_FLOOR=" NoNe "
probe u193 tcp 169.254.1.1 80
row "1.9.3: SMOLVM_EGRESS_FLOOR=' NoNe ' (trimmed, lowercased): no floor" 'saw "tcp 169.254.1.1 80 connected sink"'
restart u193 SMOLVM_PUBLISH_ADDR=192.0.2.10
probe u193 tcp 100.64.0.9 80 tcp 100.96.0.1 5555
row "1.9.3: SMOLVM_PUBLISH_ADDR set: the strict floor (RFC 1918 and the gateway's CGNAT range refused)" \
	'saw "tcp 100.64.0.9 80 refused" && saw "tcp 100.96.0.1 5555 refused"'
restart u193 SMOLVM_PUBLISH_ADDR=192.0.2.10 SMOLVM_EGRESS_ALLOW_PRIVATE=True
probe u193 tcp 100.64.0.9 80 tcp 169.254.1.1 80
row "1.9.3: SMOLVM_EGRESS_ALLOW_PRIVATE=True: floor off, even in fleet mode" \
	'saw "tcp 100.64.0.9 80 connected sink" && saw "tcp 169.254.1.1 80 connected sink"'
restart u193 SMOLVM_EGRESS_FLOOR=metadata-only SMOLVM_PUBLISH_ADDR=192.0.2.10
probe u193 tcp 100.64.0.9 80 tcp 169.254.1.1 80
row "1.9.3: SMOLVM_EGRESS_FLOOR=metadata-only wins over SMOLVM_PUBLISH_ADDR" \
	'saw "tcp 100.64.0.9 80 connected sink" && saw "tcp 169.254.1.1 80 refused"'
# --- delete of a running machine (delete_vm stop_if_running) ------------------------------------
vmm=$(head -1 "$DU/agent.pid")
row "1.9.3: rm without -f and no stdin: the running machine is stopped, 'Cancelled', exit 0, row kept" \
	'[ "$(rc_of $S machine rm --name u193 </dev/null)" = 0 ] && grep -q "Cancelled$" "$T/out" && [ -n "$(rowjson u193)" ] && dead "$vmm"'
$S machine start --name u193 >/dev/null 2>&1; vmm=$(head -1 "$DU/agent.pid")
row "1.9.3: rm with 'y' on stdin stops the running machine, then deletes row and data dir" \
	'echo y | $S machine rm --name u193 >/dev/null 2>&1 && [ -z "$(rowjson u193)" ] && [ ! -e "$DU" ] && dead "$vmm"'

# === 1.9.2 ========================================================================================
up 1.9.2 g192 --net --allow-cidr 192.0.2.10/32
D2=$(ddir g192)
probe g192 tcp 198.51.100.1 9 dns 2001:db8::1; sleep 0.3
row "1.9.2: the denial log is written (from 1.8.1)" 'grep -Eqx "$TS connect to 198\.51\.100\.1:9" "$D2/egress-denials.log"'
row "1.9.2: UDP/53 to an IPv6 address answered (carve-out)" 'saw "dns 2001:db8::1 53 answered"'
$S machine stop --name g192 >/dev/null

# === 1.2.4 ========================================================================================
export FAKE_SMOLVM_VERSION=1.2.4
up 1.2.4 g124 --net --allow-cidr 192.0.2.10/32
D4=$(ddir g124)
probe g124 tcp 198.51.100.1 9 dns 203.0.113.7 dns 2001:db8::1 dnstcp 100.96.0.1 tcp 192.0.2.10 7000; sleep 0.3
row "1.2.4: a policy selects the virtio-net gateway (RST for denied TCP, allowed /32 connects)" \
	'saw "tcp 198.51.100.1 9 refused" && saw "tcp 192.0.2.10 7000 connected sink"'
row "1.2.4: UDP/53 to any address answered, IPv4 and IPv6 (carve-out from 1.1.3)" \
	'saw "dns 203.0.113.7 53 answered" && saw "dns 2001:db8::1 53 answered"'
row "1.2.4: TCP/53 to the gateway is not served before 1.2.5 (the /32 refuses it)" 'saw "dnstcp 100.96.0.1 53 refused"'
row "1.2.4: no denial log before 1.8.1; the egress byte file exists (from 1.1.3)" \
	'[ ! -e "$D4/egress-denials.log" ] && egress_of "$D4/egress" >/dev/null'
$S machine stop --name g124 >/dev/null
up 1.2.4 u124 --net --net-backend virtio-net
sinkmark
restart u124 SMOLVM_EGRESS_FLOOR=off
probe u124 tcp 100.96.0.1 5555 tcp 169.254.1.1 80 tcp 100.64.0.9 80
row "1.2.4 unrestricted: the gateway does not dial host loopback before 1.7.2" \
	'! saw "tcp 100.96.0.1 5555 connected sink" && ! reached "tcp 127.0.0.1:5555"'
row "1.2.4: SMOLVM_EGRESS_FLOOR is not read before 1.3.9 (metadata floor stays), 100.64.0.9 reached" \
	'saw "tcp 169.254.1.1 80 refused" && saw "tcp 100.64.0.9 80 connected sink"'
$S machine stop --name u124 >/dev/null
row "1.2.4: --net alone selects TSI (no gateway, no egress file)" \
	'$S machine create --name t124 --net >/dev/null && $S machine start --name t124 >/dev/null 2>&1 && [ ! -e "$(ddir t124)/egress" ] && $S machine stop --name t124 >/dev/null'

# === 0.8.0: TSI ===================================================================================
export FAKE_SMOLVM_VERSION=0.8.0
$S machine create t080 --from "$T/dummy.smolmachine" --net >/dev/null
row "0.8.0: no data dir until start; start makes it" \
	'[ ! -e "$(ddir t080)" ] && $S machine start --name t080 >/dev/null 2>&1 && [ "$(cat "$(ddir t080)/name")" = t080 ]'
sqlite3 -cmd ".timeout 15000" "$DB" "UPDATE vms SET data = CAST(json_set(CAST(data AS TEXT), '\$.allowed_cidrs', json('[\"127.0.0.16/32\",\"192.0.2.10/32\"]')) AS BLOB) WHERE name='t080'"
$S machine stop --name t080 >/dev/null; $S machine start --name t080 >/dev/null 2>&1; sleep 0.35
D0=$(ddir t080)
probe t080 tcp 127.0.0.16 7000 tcp 198.51.100.1 9 dns 203.0.113.7 dns 198.51.100.53 udp 198.51.100.1 7
row "0.8.0: a policy is enforced by TSI: the guest's 127.0.0.16 is the host's" 'saw "tcp 127.0.0.16 7000 connected sink"'
row "0.8.0 TSI: a denied connect fails at once; UDP/53 only to the resolver the list gained (no carve-out)" \
	'! saw "tcp 198.51.100.1 9 connected sink" && ! saw "tcp 198.51.100.1 9 timeout" && saw "dns 203.0.113.7 53 noreply" && saw "dns 198.51.100.53 53 answered"'
row "0.8.0: no denial log, no egress byte file" '[ ! -e "$D0/egress-denials.log" ] && [ ! -e "$D0/egress" ]'
restart t080 FAKE_SMOLVM_LEAK=gateway-open; probe t080 tcp 127.0.0.2 5555
row "leak gateway-open (0.8.0 TSI): all of 127/8 reaches the host" 'saw "tcp 127.0.0.2 5555 connected sink"'
restart t080 FAKE_SMOLVM_LEAK=other-loopback; sinkmark; probe t080 tcp 127.0.0.3 5555
row "leak other-loopback (0.8.0 TSI): a guest 127.x the list denies reaches host 127.0.0.2" \
	'saw "tcp 127.0.0.3 5555 connected sink" && reached "tcp 127.0.0.2:5555"'
vmm=$(head -1 "$D0/agent.pid") gst=$(sed -n 's/^guest=//p' "$D0/fake-net")
row "0.8.0: rm -f of a running machine deletes row and data dir but leaves its VMM running" \
	'$S machine rm t080 -f >/dev/null && [ -z "$(rowjson t080)" ] && [ ! -e "$D0" ] && ! dead "$vmm"'
kill -9 "$vmm" 2>/dev/null
row "0.8.0: its guest's namespace holder dies with the VMM" 'wait_until dead "$gst"'

row "0.8.0: delete takes NAME positionally; --name is a usage error" \
	'[ "$(rc_of $S machine rm --name p080 -f)" = 2 ] && [ "$(rc_of $S machine rm p080 -f)" = 0 ]'

# === nothing left ===================================================================================
for m in $(sqlite3 -cmd ".timeout 15000" "$DB" "SELECT name FROM vms"); do
	FAKE_SMOLVM_VERSION=1.9.3 $S machine stop --name "$m" >/dev/null 2>&1
	FAKE_SMOLVM_VERSION=1.9.3 $S machine rm --name "$m" -f >/dev/null 2>&1
done
row "every machine stopped and deleted: no row, no namespace holder, no uplink left" \
	'[ "$(sim_rows)" = 0 ] && [ "$(sim_holders)" = 0 ] && [ "$(ip -o link show | grep -c bvu)" = 0 ]'
exit $((failed > 0))
