/* The census of a process's host sockets, taken of this very test process (our own uid,
 * unprivileged-safe): loopback only, no sleep longer than the behaviour needs. */
#include <criterion/criterion.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sched.h>
#include <stdbool.h>
#include <signal.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "core/proc.h"
#include "egress/census.h"

static unsigned long long start_of(pid_t pid)
{
	unsigned long long s = 0;
	struct bv_error err = { 0 };
	cr_assert_eq(proc_start_time(pid, &s, &err), 0, "%s", err.msg);
	return s;
}

static void open_self(struct census *c)
{
	struct bv_error err = { 0 };
	int r = census_open(c, getpid(), start_of(getpid()), &err);
	cr_assert_eq(r, 0, "census_open: %s", err.msg);
}

static void sample(struct census *c, long now)
{
	struct bv_error err = { 0 };
	cr_assert_eq(census_sample(c, now, &err), 0, "census_sample: %s", err.msg);
}

static unsigned long long inode_of(int fd)
{
	struct stat st;
	cr_assert_eq(fstat(fd, &st), 0);
	return st.st_ino;
}

/* The latest entry of that socket (a socket that connects later gets a new one). */
static const struct census_entry *find(const struct census *c, int fd)
{
	unsigned long long ino = inode_of(fd);
	for (size_t i = census_count(c); i-- > 0;)
		if (census_entry(c, i)->inode == ino)
			return census_entry(c, i);
	return NULL;
}

static size_t entries_of(const struct census *c, int fd)
{
	unsigned long long ino = inode_of(fd);
	size_t n = 0;
	for (size_t i = 0; i < census_count(c); i++)
		n += census_entry(c, i)->inode == ino;
	return n;
}

static socklen_t loopback(int family, uint16_t port, struct sockaddr_storage *ss)
{
	memset(ss, 0, sizeof *ss);
	if (family == AF_INET6) {
		struct sockaddr_in6 *a = (struct sockaddr_in6 *)ss;
		a->sin6_family = AF_INET6;
		a->sin6_addr = in6addr_loopback;
		a->sin6_port = htons(port);
		return sizeof *a;
	}
	struct sockaddr_in *a = (struct sockaddr_in *)ss;
	a->sin_family = AF_INET;
	a->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	a->sin_port = htons(port);
	return sizeof *a;
}

/* A socket bound on loopback (port 0: any); -1 when the family has no loopback here. */
static int bound(int family, int type, uint16_t *port)
{
	struct sockaddr_storage ss;
	socklen_t len = loopback(family, 0, &ss);
	int fd = socket(family, type | SOCK_CLOEXEC, 0);
	cr_assert_geq(fd, 0);
	if (bind(fd, (struct sockaddr *)&ss, len) < 0) {
		close(fd);
		return -1;
	}
	cr_assert_eq(getsockname(fd, (struct sockaddr *)&ss, &len), 0);
	*port = ntohs(family == AF_INET6 ? ((struct sockaddr_in6 *)&ss)->sin6_port
					 : ((struct sockaddr_in *)&ss)->sin_port);
	return fd;
}

static int listener(int family, uint16_t *port)
{
	int fd = bound(family, SOCK_STREAM, port);
	cr_assert_geq(fd, 0, "no loopback for family %d", family);
	cr_assert_eq(listen(fd, 4), 0);
	return fd;
}

static int connected(int family, int type, uint16_t port)
{
	struct sockaddr_storage ss;
	socklen_t len = loopback(family, port, &ss);
	int fd = socket(family, type | SOCK_CLOEXEC, 0);
	cr_assert_geq(fd, 0);
	cr_assert_eq(connect(fd, (struct sockaddr *)&ss, len), 0, "connect: %s", strerror(errno));
	return fd;
}

Test(census, finds_a_tcp_connection_we_make_with_its_remote_port)
{
	struct census c;
	uint16_t port;
	int l = listener(AF_INET, &port);
	int s = connected(AF_INET, SOCK_STREAM, port);
	open_self(&c);
	sample(&c, 10);
	const struct census_entry *e = find(&c, s);
	cr_assert_not_null(e, "the connecting socket is not in the census");
	cr_assert_eq(e->proto, IPPROTO_TCP);
	cr_assert_eq(e->family, AF_INET);
	cr_assert_eq(e->remote.port, port);
	cr_assert_eq(memcmp(e->remote.addr, "\x7f\0\0\x01", 4), 0);
	cr_assert_eq(e->state, TCP_ESTABLISHED);
	cr_assert(census_entry_is_egress(e));
	cr_assert_not(census_entry_is_listener(e));
	census_free(&c);
	close(s);
	close(l);
}

Test(census, a_connected_udp_socket_is_egress)
{
	struct census c;
	uint16_t port;
	int peer = bound(AF_INET, SOCK_DGRAM, &port);
	cr_assert_geq(peer, 0);
	int s = connected(AF_INET, SOCK_DGRAM, port);
	open_self(&c);
	sample(&c, 10);
	const struct census_entry *e = find(&c, s);
	cr_assert_not_null(e);
	cr_assert_eq(e->proto, IPPROTO_UDP);
	cr_assert_eq(e->remote.port, port);
	cr_assert(census_entry_is_egress(e));
	census_free(&c);
	close(s);
	close(peer);
}

Test(census, an_unconnected_udp_socket_is_not_egress)
{
	struct census c;
	uint16_t port;
	int s = bound(AF_INET, SOCK_DGRAM, &port);
	cr_assert_geq(s, 0);
	open_self(&c);
	sample(&c, 10);
	const struct census_entry *e = find(&c, s);
	cr_assert_not_null(e, "an unconnected socket is still counted");
	cr_assert_eq(e->local.port, port);
	cr_assert_not(census_entry_is_egress(e));
	cr_assert_not(census_entry_is_listener(e));
	census_free(&c);
	close(s);
}

Test(census, a_listening_socket_is_a_listener_not_egress)
{
	struct census c;
	uint16_t port;
	int l = listener(AF_INET, &port);
	open_self(&c);
	sample(&c, 10);
	const struct census_entry *e = find(&c, l);
	cr_assert_not_null(e);
	cr_assert_eq(e->local.port, port);
	cr_assert(census_entry_is_listener(e));
	cr_assert_not(census_entry_is_egress(e));
	census_free(&c);
	close(l);
}

Test(census, an_ipv6_loopback_connection_is_found)
{
	uint16_t port;
	int probe = bound(AF_INET6, SOCK_STREAM, &port);
	if (probe < 0)
		cr_skip_test("this host has no ::1");
	close(probe);
	struct census c;
	int l = listener(AF_INET6, &port);
	int s = connected(AF_INET6, SOCK_STREAM, port);
	open_self(&c);
	sample(&c, 10);
	const struct census_entry *e = find(&c, s);
	cr_assert_not_null(e);
	cr_assert_eq(e->family, AF_INET6);
	cr_assert_eq(e->remote.port, port);
	cr_assert_eq(memcmp(e->remote.addr, &in6addr_loopback, 16), 0);
	cr_assert(census_entry_is_egress(e));
	char line[160];
	census_entry_format(e, line, sizeof line);
	cr_assert_not_null(strstr(line, "-> [::1]:"), "%s", line);
	census_free(&c);
	close(s);
	close(l);
}

Test(census, a_closed_socket_keeps_its_entry_and_is_not_added_again)
{
	struct census c;
	uint16_t port;
	int peer = bound(AF_INET, SOCK_DGRAM, &port);
	int s = connected(AF_INET, SOCK_DGRAM, port);
	unsigned long long ino = inode_of(s);
	open_self(&c);
	sample(&c, 10);
	sample(&c, 20);
	size_t before = census_count(&c);
	close(s);
	sample(&c, 30);
	cr_assert_eq(census_count(&c), before, "nothing new after a close");
	const struct census_entry *e = NULL;
	for (size_t i = 0; i < census_count(&c); i++)
		if (census_entry(&c, i)->inode == ino)
			e = census_entry(&c, i);
	cr_assert_not_null(e, "the closed socket's entry is kept");
	cr_assert_eq(e->first_seen_ms, 10);
	cr_assert_eq(e->last_seen_ms, 20);
	cr_assert_eq(e->samples, 2);
	census_free(&c);
	close(peer);
}

static bool to_port(const struct census_entry *e, const void *key)
{
	return e->remote.port == *(const uint16_t *)key;
}

Test(census, alive_now_counts_only_what_the_latest_pass_saw)
{
	struct census c;
	uint16_t port;
	int peer = bound(AF_INET, SOCK_DGRAM, &port);
	int a = connected(AF_INET, SOCK_DGRAM, port), b = connected(AF_INET, SOCK_DGRAM, port);
	open_self(&c);
	sample(&c, 10);
	cr_assert_eq(census_alive_now(&c, to_port, &port), 2);
	close(a);
	sample(&c, 20);
	cr_assert_eq(census_alive_now(&c, to_port, &port), 1, "the closed one is still an entry, not alive");
	census_free(&c);
	close(b);
	close(peer);
}

static void count_gone(const struct census_entry *e, void *ctx)
{
	unsigned long long *ino = ctx;
	if (e->inode == *ino)
		*ino = 0; /* told */
}

Test(census, forget_unseen_drops_a_closed_socket_after_telling_and_keeps_the_live_ones)
{
	struct census c;
	uint16_t port;
	int peer = bound(AF_INET, SOCK_DGRAM, &port);
	int s = connected(AF_INET, SOCK_DGRAM, port), live = connected(AF_INET, SOCK_DGRAM, port);
	unsigned long long told = inode_of(s);
	open_self(&c);
	sample(&c, 10);
	close(s);
	sample(&c, 20);
	cr_assert_geq(census_forget_unseen(&c, 20, count_gone, &told), 1);
	cr_assert_eq(told, 0, "the closed socket's entry was passed on before it went");
	cr_assert_eq(entries_of(&c, live), 1, "a live socket stays");
	cr_assert_eq(find(&c, live)->first_seen_ms, 10, "with its first sight");
	sample(&c, 30);
	cr_assert_eq(entries_of(&c, live), 1, "the rebuilt index still finds it: no second entry");
	cr_assert_eq(find(&c, live)->samples, 3);
	census_free(&c);
	close(live);
	close(peer);
}

static void sample_all(struct census *c, long from, long to)
{
	for (long t = from; t <= to; t += 10)
		sample(c, t);
}

Test(census, dump_on_change_skips_the_dump_while_the_sockets_stay_and_refreshes_them)
{
	struct census c;
	uint16_t port;
	int peer = bound(AF_INET, SOCK_DGRAM, &port);
	int s = connected(AF_INET, SOCK_DGRAM, port);
	open_self(&c);
	c.dump_every = 3;
	sample_all(&c, 10, 30);
	cr_assert_eq(c.dumps, 3, "the first pass and the 2 after it dump (a socket may connect late)");
	sample_all(&c, 40, 50);
	cr_assert_eq(c.dumps, 3, "then the same sockets: no dump");
	cr_assert_eq(c.passes, 5);
	cr_assert_eq(find(&c, s)->last_seen_ms, 50, "a skipped pass still sees the live socket");
	sample(&c, 60);
	cr_assert_eq(c.dumps, 4, "at least every dump_every passes");
	int t = connected(AF_INET, SOCK_DGRAM, port);
	sample(&c, 70);
	cr_assert_eq(c.dumps, 5, "a new socket: a dump at once");
	cr_assert_not_null(find(&c, t), "and its entry");
	sample_all(&c, 80, 100);
	cr_assert_eq(c.dumps, 7, "2 more, then a skip");
	unsigned long long gone = inode_of(s);
	close(s);
	sample(&c, 110);
	cr_assert_eq(c.dumps, 8, "a socket gone: a dump at once");
	for (size_t i = 0; i < census_count(&c); i++)
		if (census_entry(&c, i)->inode == gone)
			cr_assert_lt(census_entry(&c, i)->last_seen_ms, 110, "the closed socket is not refreshed");
	census_free(&c);
	close(t);
	close(peer);
}

Test(census, a_socket_seen_twice_is_one_entry)
{
	struct census c;
	uint16_t port;
	int l = listener(AF_INET, &port);
	open_self(&c);
	sample(&c, 10);
	sample(&c, 20);
	cr_assert_eq(entries_of(&c, l), 1);
	cr_assert_eq(find(&c, l)->samples, 2);
	census_free(&c);
	close(l);
}

Test(census, a_wrong_start_time_is_esrch)
{
	struct census c;
	struct bv_error err = { 0 };
	cr_assert_eq(census_open(&c, getpid(), start_of(getpid()) + 1, &err), -ESRCH);
	cr_assert_not_null(strstr(err.msg, "reused"), "%s", err.msg);
	census_free(&c);
}

Test(census, a_dead_pid_is_esrch)
{
	pid_t pid = fork();
	cr_assert_geq(pid, 0);
	if (pid == 0)
		_exit(0);
	cr_assert_eq(waitpid(pid, NULL, 0), pid);
	struct census c;
	struct bv_error err = { 0 };
	cr_assert_eq(census_open(&c, pid, 0, &err), -ESRCH);
	cr_assert_not_null(strstr(err.msg, "gone"), "%s", err.msg);
}

/* A child that waits to be killed; when unshare_net, in a network namespace of its own
 * (-1 when that cannot be made here). */
static pid_t spawn_waiter(bool unshare_net)
{
	int p[2];
	cr_assert_eq(pipe(p), 0);
	pid_t pid = fork();
	cr_assert_geq(pid, 0);
	if (pid == 0) {
		char ok = 1;
		if (unshare_net && unshare(CLONE_NEWNET) < 0 && unshare(CLONE_NEWUSER | CLONE_NEWNET) < 0)
			ok = 0;
		if (write(p[1], &ok, 1) != 1)
			_exit(1);
		pause();
		_exit(0);
	}
	close(p[1]);
	char ok = 0;
	cr_assert_eq(read(p[0], &ok, 1), 1);
	close(p[0]);
	if (!ok) {
		kill(pid, SIGKILL);
		waitpid(pid, NULL, 0);
		return -1;
	}
	return pid;
}

Test(census, an_exited_vmm_sets_vmm_gone_and_adds_nothing)
{
	pid_t pid = spawn_waiter(false);
	struct census c;
	struct bv_error err = { 0 };
	cr_assert_eq(census_open(&c, pid, start_of(pid), &err), 0, "%s", err.msg);
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
	uint16_t port;
	int l = listener(AF_INET, &port);
	cr_assert_eq(census_sample(&c, 10, &err), 0, "%s", err.msg);
	cr_assert(c.vmm_gone);
	cr_assert_not(c.vmm_replaced);
	cr_assert_eq(census_count(&c), 0);
	census_free(&c);
	close(l);
}

Test(census, a_vmm_in_another_network_namespace_is_exdev)
{
	pid_t pid = spawn_waiter(true);
	if (pid < 0)
		cr_skip_test("no network namespace can be made here");
	struct census c;
	struct bv_error err = { 0 };
	int r = census_open(&c, pid, start_of(pid), &err);
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
	if (r == -EACCES)
		cr_skip_test("a user namespace's child is not ours to read here: %s", err.msg);
	cr_assert_eq(r, -EXDEV, "%s", err.msg);
}

/* As root: a child that became nobody; else pid 1 when it is another user's. */
Test(census, another_users_vmm_is_eacces)
{
	if (geteuid() != 0) {
		struct stat st;
		if (stat("/proc/1", &st) < 0 || st.st_uid == geteuid())
			cr_skip_test("no process of another user to try");
		struct census c;
		struct bv_error err = { 0 };
		cr_assert_eq(census_open(&c, 1, start_of(1), &err), -EACCES, "%s", err.msg);
		return;
	}
	unsigned long long start = start_of(getpid());
	pid_t parent = getpid(), pid = fork();
	cr_assert_geq(pid, 0);
	if (pid == 0) {
		if (setgid(65534) < 0 || setuid(65534) < 0)
			_exit(2);
		struct census c;
		struct bv_error err = { 0 };
		int r = census_open(&c, parent, start, &err);
		_exit(r == -EACCES && strstr(err.msg, "VMM's user or root") ? 0 : 1);
	}
	int st = 0;
	cr_assert_eq(waitpid(pid, &st, 0), pid);
	cr_assert(WIFEXITED(st));
	cr_assert_eq(WEXITSTATUS(st), 0, "nobody must get -EACCES naming the fix (2: setuid failed)");
}

/* A running sampler on ourselves, and a TCP connection to a listener of ours (*l). */
static int sampled_connection(struct census *c, int *l)
{
	struct bv_error err = { 0 };
	uint16_t port;
	*l = listener(AF_INET, &port);
	open_self(c);
	cr_assert_eq(census_start(c, CENSUS_INTERVAL_MS, &err), 0, "%s", err.msg);
	return connected(AF_INET, SOCK_STREAM, port);
}

Test(census, the_sampler_catches_a_connection_that_lived_150_ms)
{
	struct census c;
	struct bv_error err = { 0 };
	int l, s = sampled_connection(&c, &l);
	int keep = dup(s); /* the inode, to find it once the socket is gone */
	usleep(150 * 1000);
	unsigned long long ino = inode_of(keep);
	close(s);
	close(keep);
	cr_assert_eq(census_stop(&c, &err), 0, "%s", err.msg);
	const struct census_entry *e = NULL;
	for (size_t i = 0; i < census_count(&c); i++)
		if (census_entry(&c, i)->inode == ino)
			e = census_entry(&c, i);
	cr_assert_not_null(e, "the sampler missed a 150 ms connection (%lu passes)", c.passes);
	cr_assert(census_entry_is_egress(e));
	cr_assert_geq(e->first_seen_ms, 0);
	cr_assert_geq(e->last_seen_ms, e->first_seen_ms);
	census_free(&c);
	close(l);
}

static bool has_inode(const struct census_entry *e, const void *key)
{
	return e->inode == *(const unsigned long long *)key;
}

Test(census, census_any_answers_while_the_sampler_runs)
{
	struct census c;
	struct bv_error err = { 0 };
	int l, s = sampled_connection(&c, &l);
	unsigned long long ino = inode_of(s);
	bool found = false;
	for (int i = 0; i < 200 && !found; i++) {
		found = census_any(&c, has_inode, &ino);
		if (!found)
			usleep(10 * 1000);
	}
	cr_assert(found, "a live connection must show before the sampler stops");
	cr_assert_eq(census_stop(&c, &err), 0, "%s", err.msg);
	close(s);
	census_free(&c);
	close(l);
}

Test(census, a_second_sampler_is_ebusy)
{
	struct census c;
	struct bv_error err = { 0 };
	open_self(&c);
	cr_assert_eq(census_start(&c, 0, &err), 0, "%s", err.msg);
	cr_assert_eq(census_start(&c, 0, &err), -EBUSY);
	cr_assert_eq(census_stop(&c, &err), 0, "%s", err.msg);
	cr_assert_geq(c.passes, 2, "a first pass and a last one");
	census_free(&c);
}

Test(census, the_entry_cap_sets_overflowed)
{
	struct census c;
	uint16_t port;
	int fds[3];
	for (int i = 0; i < 3; i++)
		cr_assert_geq(fds[i] = bound(AF_INET, SOCK_DGRAM, &port), 0);
	open_self(&c);
	c.max_entries = 2;
	sample(&c, 10);
	cr_assert(c.overflowed);
	cr_assert_eq(census_count(&c), 2);
	census_free(&c);
	for (int i = 0; i < 3; i++)
		close(fds[i]);
}

Test(census, the_fd_cap_sets_overflowed)
{
	struct census c;
	open_self(&c);
	c.max_fds = 1; /* stdin, stdout and stderr are three already */
	sample(&c, 10);
	cr_assert(c.overflowed);
	census_free(&c);
}

Test(census, formats_an_entry_as_evidence)
{
	struct census_entry e = { .proto = IPPROTO_TCP, .family = AF_INET, .state = TCP_ESTABLISHED,
				  .inode = 1234, .first_seen_ms = 120, .last_seen_ms = 480, .samples = 3 };
	memcpy(e.local.addr, "\x0a\0\0\x02", 4);
	e.local.port = 41234;
	memcpy(e.remote.addr, "\xc0\x00\x02\x0a", 4);
	e.remote.port = 8888;
	char line[160];
	census_entry_format(&e, line, sizeof line);
	cr_assert_str_eq(line, "tcp 10.0.0.2:41234 -> 192.0.2.10:8888 ESTABLISHED inode 1234 seen 120-480 ms");
}

Test(census, formats_an_unconnected_udp_socket_with_no_remote)
{
	struct census_entry e = { .proto = IPPROTO_UDP, .family = AF_INET, .state = TCP_CLOSE, .inode = 7 };
	e.local.port = 5353;
	char line[160];
	census_entry_format(&e, line, sizeof line);
	cr_assert_str_eq(line, "udp 0.0.0.0:5353 -> *:* UNCONNECTED inode 7 seen 0-0 ms");
}
