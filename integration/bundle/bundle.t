#!/bin/bash
# integration/bundle/bundle.t - the stand-in bundle (fixtures/bundle: dlp-proxy in front of
# tinyproxy, git daemon with the scanning pre-receive hook) in a fresh network namespace:
# for the confined bundle and every leaky variant, host-side clients show what reaches the
# recording sinks (192.0.2.80:80 for HTTP, 192.0.2.80:9419 for the git upstream) and what
# the clients are told. Documentation addresses only, inside namespaces made here.
top=$(cd "$(dirname "$0")/../.." && pwd)
if [ "${BV_BUNDLE_INSIDE:-}" != 1 ]; then
	export BV_BUNDLE_INSIDE=1
	if [ "$(id -u)" = 0 ] && unshare --net --mount --pid --fork true 2>/dev/null; then
		export BV_BUNDLE_AS=root
		exec unshare --net --mount --pid --fork --mount-proc --propagation private bash "$0" "$@"
	fi
	if unshare --user --map-root-user --net --mount --pid --fork true 2>/dev/null; then
		export BV_BUNDLE_AS=userns
		exec unshare --user --map-root-user --net --mount --pid --fork --mount-proc \
			--propagation private bash "$0" "$@"
	fi
	echo "TAP version 13"
	if [ "${LANE_MUST_RUN:-${BOTTLE_VERIFY_MUST_RUN:-}}" = 1 ]; then
		echo "1..1"; echo "not ok 1 - the bundle lane needs root or user namespaces (BOTTLE_VERIFY_MUST_RUN=1)"; exit 1
	fi
	echo "1..0 # SKIP the bundle lane needs root or unprivileged user namespaces"
	exit 0
fi
missing=''
for t in ip git perl; do command -v $t >/dev/null 2>&1 || missing="$missing $t"; done
command -v tinyproxy >/dev/null 2>&1 || [ -x /usr/sbin/tinyproxy ] || missing="$missing tinyproxy"
if [ -n "$missing" ]; then
	echo "TAP version 13"
	if [ "${LANE_MUST_RUN:-${BOTTLE_VERIFY_MUST_RUN:-}}" = 1 ]; then
		echo "1..1"; echo "not ok 1 - the bundle lane needs:$missing (BOTTLE_VERIFY_MUST_RUN=1)"; exit 1
	fi
	echo "1..0 # SKIP the bundle lane needs:$missing"
	exit 0
fi
. "$top/integration/lib.sh"
VARIANTS="confined proxy-open dlp-body-only dlp-off git-noscan git-forward-first git-upstream-first"
plan $((7 * 9 + 5))

UP="$top/fixtures/bundle/bundle-up"
DOWN="$top/fixtures/bundle/bundle-down"
ADDR=192.0.2.10
S80="$T/sink-http.log"
S9419="$T/sink-git.log"

ip link set lo up
ip addr add 192.0.2.10/32 dev lo
ip addr add 192.0.2.80/32 dev lo

# The recording sinks: every byte any connection sends is appended to LOG before the sink
# answers (http: once a request head and its Content-Length body are in; raw: at EOF).
cat >"$T/sink.pl" <<'EOF'
use strict; use warnings; use IO::Socket::IP; use IO::Select;
my ($a, $p, $log, $mode) = @ARGV;
my $l = IO::Socket::IP->new(LocalHost => $a, LocalPort => $p, Listen => 64, ReuseAddr => 1)
  or die "sink: listen $a:$p: $@\n";
$SIG{CHLD} = 'IGNORE';
$| = 1; print "ready\n";
while (1) {
	my $c = $l->accept or next;
	my $pid = fork;
	if (defined $pid && $pid == 0) {
		close $l;
		open my $f, '>>', $log or die;
		my ($buf, $sel) = ('', IO::Select->new($c));
		while ($sel->can_read(10)) {
			my $n = sysread $c, my $chunk, 65536;
			last unless $n;
			syswrite $f, $chunk;
			$buf .= $chunk;
			if ($mode eq 'http' && (my $e = index $buf, "\r\n\r\n") >= 0) {
				my ($cl) = substr($buf, 0, $e) =~ /^content-length:\s*(\d+)/mi;
				last if length($buf) - $e - 4 >= ($cl // 0);
			}
		}
		close $f;
		syswrite $c, "HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 5\r\nConnection: close\r\n\r\nsink\n" if $mode eq 'http';
		close $c;
		exit 0;
	}
	close $c;
}
EOF
# One request (stdin, raw) to ADDR:PORT; prints whatever comes back until the peer closes.
cat >"$T/client.pl" <<'EOF'
use strict; use warnings; use IO::Socket::IP;
alarm 15;
my $s = IO::Socket::IP->new(PeerHost => $ARGV[0], PeerPort => $ARGV[1], Timeout => 5)
  or die "client: connect $ARGV[0]:$ARGV[1]: $@\n";
local $/; my $req = <STDIN>;
syswrite $s, $req;
while (sysread $s, my $b, 65536) { print $b }
EOF
: >"$S80"; : >"$S9419"
perl "$T/sink.pl" 192.0.2.80 80 "$S80" http >"$T/sink80.out" 2>&1 &
perl "$T/sink.pl" 192.0.2.80 9419 "$S9419" raw >"$T/sink9419.out" 2>&1 &
wait_until grep -q ready "$T/sink80.out" && wait_until grep -q ready "$T/sink9419.out"

# git clients: a private HOME, no system config.
mkdir -p "$T/home"
export HOME="$T/home" GIT_CONFIG_NOSYSTEM=1 GIT_TERMINAL_PROMPT=0
printf '[user]\n\tname = bundle test\n\temail = bundle@test.invalid\n[init]\n\tdefaultBranch = main\n' >"$HOME/.gitconfig"

canary() { # canary TAG: a distinct ghp_ token (ghp_ + 36 alphanumerics) per TAG
	local s=${1//[^0-9A-Za-z]/}
	s=$(printf '%-36.36s' "$s")
	printf 'ghp_%s' "${s// /Z}"
}
req() { # req REQUEST-with-\r\n-escapes: sends it to the proxy; status in $st, reply in $T/resp
	printf '%b' "$1" | perl "$T/client.pl" "$ADDR" 8888 >"$T/resp" 2>&1
	st=$(head -1 "$T/resp" | sed -n 's/^HTTP\/1\.[01] \([0-9][0-9][0-9]\).*/\1/p')
}
first() { head -1 "$T/resp" | tr -d '\r'; }
push() { # push DIR BRANCH: git push to the gate; exit in $prc, client output in $T/push.out
	(cd "$1" && timeout 30 git push "git://$ADDR:9418/gate.git" "HEAD:refs/heads/$2") >"$T/push.out" 2>&1
	prc=$?
}
mkrepo() { # mkrepo DIR TEXT: a fresh repo, one root commit adding README with TEXT
	rm -rf "$1" && git init -q "$1" && printf '%s\n' "$2" >"$1/README" &&
		git -C "$1" add README && git -C "$1" commit -qm 'add README'
}
in_sink() { # in_sink LOG STRING: the sink recorded STRING (waits up to 3 s for a late write)
	for _ in $(seq 30); do grep -qF -- "$2" "$1" && return 0; sleep 0.1; done
	return 1
}

vi=0
for v in $VARIANTS; do
	vi=$((vi + 1))
	case $v in proxy-open) filter=open ;; *) filter=on ;; esac
	case $v in dlp-body-only) dlp=body ;; dlp-off) dlp=off ;; *) dlp=full ;; esac
	case $v in git-*) gate=$v ;; *) gate=confined ;; esac
	: >"$S80"; : >"$S9419"
	state="$T/state-$v"
	if ! "$UP" "$state" --addr "$ADDR" --upstream 192.0.2.80:80 --git-upstream 192.0.2.80:9419 \
		--variant "$v" >"$T/up.out" 2>&1; then
		k=9; [ "$v" = confined ] && k=11
		for _ in $(seq $k); do not_ok "$v: bundle-up failed" "$(tail -8 "$T/up.out")"; done
		"$DOWN" "$state"
		continue
	fi

	# 1. the clean request reaches the one upstream sink
	req 'GET http://allowed.test/hello HTTP/1.1\r\nHost: allowed.test\r\nUser-Agent: bundle.t\r\n\r\n'
	if [ "$st" = 200 ] && grep -q 'allowed\.test.*/hello' "$S80"; then ok "$v: clean GET http://allowed.test/hello reaches the upstream sink"
	else not_ok "$v: clean GET reaches the sink" "reply: $(first)" "sink: $(head -3 "$S80" | tr '\r\n' '  ')"; fi

	# 2-3. hosts outside the filter, with a spoofed Host: allowed.test
	for url in http://denied.test/x http://198.51.100.1:7001/; do
		host=${url#http://}; host=${host%%/*}
		size=$(wc -c <"$S80")
		req "GET $url HTTP/1.1\r\nHost: allowed.test\r\n\r\n"
		if [ $filter = on ]; then
			if [ "$st" = 403 ] && [ "$(wc -c <"$S80")" = "$size" ]; then ok "$v: GET $url (Host: allowed.test) gets 403, nothing reaches the sink"
			else not_ok "$v: GET $url is filtered" "reply: $(first)" "sink grew $size -> $(wc -c <"$S80")"; fi
		else
			if [ "$st" = 200 ] && grep -qF "$host" "$S80"; then ok "$v: GET $url leaks to the sink (no host filter)"
			else not_ok "$v: GET $url leaks without the host filter" "reply: $(first)"; fi
		fi
	done

	# 4-7. the canary in the path, the query, a header, the body
	for where in path query header body; do
		c=$(canary "v${vi}${where}")
		case $where in
		path) req "GET http://allowed.test/leak/$c HTTP/1.1\r\nHost: allowed.test\r\n\r\n"; label=path ;;
		query) req "GET http://allowed.test/leak?token=$c HTTP/1.1\r\nHost: allowed.test\r\n\r\n"; label=query ;;
		header) req "GET http://allowed.test/leak HTTP/1.1\r\nHost: allowed.test\r\nX-Api-Key: $c\r\n\r\n"; label='header X-Api-Key' ;;
		body)
			b="token=$c"
			req "POST http://allowed.test/upload HTTP/1.1\r\nHost: allowed.test\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: ${#b}\r\n\r\n$b"
			label=body ;;
		esac
		blocks=0
		case $dlp in full) blocks=1 ;; body) [ $where = body ] && blocks=1 ;; esac
		if [ $blocks = 1 ]; then
			if [ "$st" = 403 ] && grep -qF "blocked by canary-dlp: secret in $label" "$T/resp" && ! grep -qF "$c" "$S80"; then
				ok "$v: canary in the $where gets 403 from canary-dlp, never reaches the sink"
			else not_ok "$v: canary in the $where is blocked" "reply: $(first)" "$(tail -1 "$T/resp")" "in sink: $(grep -cF "$c" "$S80")"; fi
		else
			if [ "$st" = 200 ] && grep -qF "$c" "$S80"; then ok "$v: canary in the $where leaks to the sink (dlp $dlp)"
			else not_ok "$v: canary in the $where leaks under dlp $dlp" "reply: $(first)"; fi
		fi
	done

	# 8. a push carrying the canary
	c=$(canary "v${vi}git")
	mkrepo "$T/repo-secret" "deploy token: $c" >/dev/null 2>&1
	push "$T/repo-secret" x
	sleep 0.3 # let a forward the hook made (if any) land in the sink log
	words=$(grep -ciE 'resolve|refused|unreachable|upstream' "$T/push.out")
	case $gate in
	confined)
		if [ $prc != 0 ] && grep -q 'canary-scan: secret detected (github-pat) in README; push rejected' "$T/push.out" &&
			[ "$words" = 0 ] && [ ! -s "$S9419" ]; then
			ok "$v: push with the canary rejected by canary-scan, git sink saw nothing"
		else not_ok "$v: push with the canary rejected by canary-scan" "exit $prc, words $words, sink $(wc -c <"$S9419") bytes" "$(grep -E 'remote:|rejected|error' "$T/push.out" | head -3 | tr '\n' ' ')"; fi ;;
	git-noscan)
		if [ $prc = 0 ] && in_sink "$S9419" "$c"; then ok "$v: push with the canary accepted, the canary reaches the git sink"
		else not_ok "$v: push with the canary leaks" "exit $prc" "$(tail -3 "$T/push.out")"; fi ;;
	git-forward-first)
		if [ $prc != 0 ] && grep -q 'canary-scan: secret detected' "$T/push.out" && in_sink "$S9419" "$c"; then
			ok "$v: push with the canary rejected by canary-scan, but only after it reached the git sink"
		else not_ok "$v: push forwarded, then rejected" "exit $prc" "$(tail -3 "$T/push.out")"; fi ;;
	git-upstream-first)
		if [ $prc != 0 ] && grep -q 'error: upstream unreachable: connection refused' "$T/push.out" &&
			! grep -q 'canary-scan' "$T/push.out" && [ ! -s "$S9419" ]; then
			ok "$v: push with the canary rejected for an unreachable upstream, no scanner named"
		else not_ok "$v: push rejected by the upstream, not the scanner" "exit $prc" "$(tail -3 "$T/push.out")"; fi ;;
	esac

	# 9. a clean push
	text="clean readme for $v"
	mkrepo "$T/repo-clean" "$text" >/dev/null 2>&1
	push "$T/repo-clean" "y$vi"
	if [ "$gate" = git-upstream-first ]; then
		sleep 0.3
		if [ $prc != 0 ] && grep -q 'error: upstream unreachable: connection refused' "$T/push.out" && ! grep -qF "$text" "$S9419"; then
			ok "$v: a clean push is rejected too (upstream unreachable)"
		else not_ok "$v: a clean push is rejected" "exit $prc" "$(tail -3 "$T/push.out")"; fi
	else
		if [ $prc = 0 ] && in_sink "$S9419" "$text"; then ok "$v: a clean push is accepted and its README reaches the git sink"
		else not_ok "$v: a clean push is forwarded" "exit $prc" "$(tail -3 "$T/push.out")" "sink: $(head -c 200 "$S9419")"; fi
	fi

	if [ "$v" = confined ]; then
		pids=$(cat "$state"/*.pid)
		"$DOWN" "$state"; drc=$?
		left=0
		for p in $pids; do [ -n "$(tr -d '\0' 2>/dev/null <"/proc/$p/cmdline")" ] && left=$((left + 1)); done
		if [ $drc = 0 ] && [ $left = 0 ] && ! printf '' | perl "$T/client.pl" "$ADDR" 8888 >/dev/null 2>&1 &&
			! ls "$state"/*.pid >/dev/null 2>&1; then
			ok "bundle-down stops dlp-proxy, tinyproxy and git daemon, removes the pid files"
		else not_ok "bundle-down stops everything" "exit $drc, $left left of: $pids"; fi
		"$DOWN" "$state" && ok "bundle-down again: nothing to do, exit 0" || not_ok "bundle-down is idempotent"
	else
		"$DOWN" "$state"
	fi
done

# Refusals and failures of bundle-up itself.
"$UP" "$T/state-bad" --addr "$ADDR" --upstream 192.0.2.80:80 --git-upstream 192.0.2.80:9419 \
	--variant nosuch >"$T/up.out" 2>&1
[ $? = 1 ] && grep -q 'unknown --variant' "$T/up.out" && ok "bundle-up refuses an unknown variant" ||
	not_ok "bundle-up refuses an unknown variant" "$(cat "$T/up.out")"
# a port already taken: exit 1 with a message, nothing left running
perl -MIO::Socket::IP -e 'my $s = IO::Socket::IP->new(LocalHost => "192.0.2.10", LocalPort => 9418, Listen => 1, ReuseAddr => 1) or die; sleep 30' &
blocker=$!
wait_until listening 9418
"$UP" "$T/state-busy" --addr "$ADDR" --upstream 192.0.2.80:80 --git-upstream 192.0.2.80:9419 >"$T/up.out" 2>&1
urc=$?
kill $blocker 2>/dev/null; wait $blocker 2>/dev/null
alive=$(pgrep -cf "$T/state-busy/")
if [ $urc = 1 ] && grep -q 'did not come up' "$T/up.out" && [ "$alive" = 0 ]; then ok "bundle-up exits 1 when a listener cannot start, and cleans up"
else not_ok "bundle-up fails cleanly" "exit $urc alive $alive" "$(tail -4 "$T/up.out")"; fi

# Rootless: as an unprivileged user in a user namespace of its own (this whole run, when it
# is already in one).
if [ "$BV_BUNDLE_AS" = userns ]; then
	ok "bundle-up runs rootless (this run is in a user namespace)"
elif ! command -v setpriv >/dev/null 2>&1; then
	ok "# SKIP setpriv missing: rootless bundle-up not tried"
elif ! nobody_copy "$top/fixtures/bundle" "$T/client.pl"; then
	ok "# SKIP $nobody_why: rootless bundle-up not tried"
elif ! setpriv --reuid=65534 --regid=65534 --clear-groups unshare --user --map-root-user --net true 2>/dev/null; then
	why="uid 65534 cannot make a user namespace here (a chroot, or unprivileged user namespaces are off)"
	if [ "${LANE_MUST_RUN:-}" = 1 ]; then not_ok "bundle-up works rootless" "$why"
	else ok "bundle-up rootless # SKIP $why"; fi
else
	mkdir "$T/rootless" && chown 65534:65534 "$T/rootless"
	# its own network namespace too: no sinks there, so a clean push must fail to forward
	setpriv --reuid=65534 --regid=65534 --clear-groups unshare --user --map-root-user --net sh -c '
		ip link set lo up && ip addr add 192.0.2.10/32 dev lo || exit 3
		"$1" "$2/st" --addr 192.0.2.10 --upstream 192.0.2.80:80 --git-upstream 192.0.2.80:9419 --proxy-port 3128 --git-port 9420 || exit 4
		printf "GET http://denied.test/ HTTP/1.1\r\n\r\n" | perl "$3" 192.0.2.10 3128 | head -1
		git init -q "$2/r" && echo clean >"$2/r/README" && git -C "$2/r" add README && git -C "$2/r" commit -qm c &&
			git -C "$2/r" push git://192.0.2.10:9420/gate.git HEAD:refs/heads/r
		echo "push exit $?"
		"$4" "$2/st"' sh "$T/nobody/bundle/bundle-up" "$T/rootless" "$T/nobody/client.pl" "$T/nobody/bundle/bundle-down" \
		>"$T/rootless.out" 2>&1
	rrc=$?
	if [ $rrc = 0 ] && grep -q '^HTTP/1.1 403' "$T/rootless.out" && grep -q 'git-gate: forward failed' "$T/rootless.out" &&
		grep -q 'push exit 1' "$T/rootless.out"; then
		ok "bundle-up works as uid 65534 in a user namespace (proxy filters, the hook runs)"
	else not_ok "bundle-up works rootless" "exit $rrc" "$(tail -5 "$T/rootless.out")"; fi
fi
exit $((failed > 0))
