/* dnsguard.c - see dnsguard.h */
#include "launch/dnsguard.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "core/cleanup.h"
#include "core/clock.h"
#include "core/proc.h"
#include "launch/subnet.h"

#define ARGV_MAX (16 + DNSGUARD_ALLOW_MAX)
#define CHECK_NAME "\016bv-guard-check\007invalid"

/* Is UDP port 53 at addr free for a guard? -EADDRINUSE when taken; -EACCES without the
 * right to bind a low port. */
static int port53_free(const char *addr)
{
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons(53) };
	if (inet_pton(AF_INET, addr, &sa.sin_addr) != 1)
		return -EINVAL;
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	int r = bind(fd, (struct sockaddr *)&sa, sizeof sa) < 0 ? -errno : 0;
	close(fd);
	return r;
}

int dnsguard_plan(const char *lease_dir, const char *name, const char *addr, struct dnsguard *g,
		  struct bv_error *err)
{
	char slug[256];
	memset(g, 0, sizeof *g);
	subnet_slug(name, slug, sizeof slug);
	if ((size_t)snprintf(g->log, sizeof g->log, "%s/dnsguard-%s.log", lease_dir, slug) >= sizeof g->log ||
	    (size_t)snprintf(g->pidfile, sizeof g->pidfile, "%s/dnsguard-%s.pid", lease_dir, slug) >= sizeof g->pidfile)
		return bv_error_set(err, ENAMETOOLONG, "DNS guard paths under %s are too long", lease_dir);
	if (addr) {
		struct in_addr a;
		if (inet_pton(AF_INET, addr, &a) != 1)
			return bv_error_set(err, EINVAL, "--dns-guard-addr %s: not an IPv4 address (smolvm's --dns takes IPv4 only)", addr);
		snprintf(g->addr, sizeof g->addr, "%s", addr);
		return 0;
	}
	unsigned o = subnet_octet(slug);
	for (unsigned k = 0; k < 254; k++) {
		snprintf(g->addr, sizeof g->addr, "127.83.%u.53", (o - 1 + k) % 254 + 1);
		int r = port53_free(g->addr);
		if (r == 0)
			return 0;
		if (r != -EADDRINUSE)
			return bv_error_errno(err, -r, "cannot bind %s:53 for the DNS guard%s", g->addr,
					      r == -EACCES ? " (a port below 1024 needs root or CAP_NET_BIND_SERVICE)" : "");
	}
	return bv_error_set(err, EADDRINUSE, "no free address in 127.83.0.0/16 for a DNS guard");
}

/* Does this user namespace map uid 65534 (nobody)? In one that maps only root (a rootless
 * lane's unshare --map-root-user) dnsmasq cannot drop to nobody, and its root is an
 * unprivileged user of the host anyway. */
static bool nobody_mapped(void)
{
	FILE *f = fopen("/proc/self/uid_map", "re");
	unsigned long in, out, count;
	bool mapped = false;
	while (f && !mapped && fscanf(f, "%lu %lu %lu", &in, &out, &count) == 3)
		mapped = in <= 65534 && 65534 - in < count;
	if (f)
		fclose(f);
	return mapped;
}

/* What dnsmasq's argv points into. */
struct guard_args {
	char listen[64], user[300], log[4200], pid[4200];
	char address[DNSGUARD_ALLOW_MAX][300];
};

static int guard_argv(const struct dnsguard *g, const struct dnsguard_opts *o, const char *argv[ARGV_MAX],
		      struct guard_args *s, struct bv_error *err)
{
	size_t n = 0;
	argv[n++] = o->dnsmasq ? o->dnsmasq : "dnsmasq";
	static const char *const fixed[] = { "--conf-file=/dev/null", "--no-resolv", "--no-hosts", "--no-poll",
					     "--bind-interfaces", "--port=53", "--address=/#/",
					     "--log-queries=extra" };
	for (size_t i = 0; i < sizeof fixed / sizeof fixed[0]; i++)
		argv[n++] = fixed[i];
	snprintf(s->listen, sizeof s->listen, "--listen-address=%s", g->addr), argv[n++] = s->listen;
	snprintf(s->log, sizeof s->log, "--log-facility=%s", g->log), argv[n++] = s->log;
	snprintf(s->pid, sizeof s->pid, "--pid-file=%s", g->pidfile), argv[n++] = s->pid;
	if (geteuid() == 0) { /* dnsmasq drops root to this user once it has bound */
		const char *user = o->user ? o->user : nobody_mapped() ? "nobody" : "root";
		snprintf(s->user, sizeof s->user, "--user=%s", user), argv[n++] = s->user;
		argv[n++] = strcmp(user, "root") == 0 ? "--group=root" : "--group=nogroup";
	}
	for (size_t i = 0; o->allow && o->allow[i]; i++) {
		const char *eq = strchr(o->allow[i], '=');
		struct in_addr a;
		if (i >= DNSGUARD_ALLOW_MAX || !eq || eq == o->allow[i] || inet_pton(AF_INET, eq + 1, &a) != 1 ||
		    strpbrk(o->allow[i], "/# ") || eq - o->allow[i] > 253)
			return bv_error_set(err, EINVAL, "--dns-allow %s: expected NAME=IPV4 (at most %d)", o->allow[i],
					    DNSGUARD_ALLOW_MAX);
		snprintf(s->address[i], sizeof s->address[i], "--address=/%.*s/%s", (int)(eq - o->allow[i]),
			 o->allow[i], eq + 1);
		argv[n++] = s->address[i];
	}
	argv[n] = NULL;
	return 0;
}

/* One query for a name only the guard's catch-all answers: it must come back NXDOMAIN. */
static int ask_once(const char *addr, struct bv_error *err)
{
	unsigned char q[64] = { 0xb5, 0x7e, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0 }, a[512];
	size_t qn = 12 + sizeof CHECK_NAME;
	memcpy(q + 12, CHECK_NAME, sizeof CHECK_NAME);
	q[qn++] = 0, q[qn++] = 1, q[qn++] = 0, q[qn++] = 1; /* A, IN */
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons(53) };
	inet_pton(AF_INET, addr, &sa.sin_addr);
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return bv_error_errno(err, errno, "socket");
	ssize_t got = -1;
	for (long end = bv_now_ms() + 2000; got < 12 && bv_now_ms() < end;) {
		if (sendto(fd, q, qn, 0, (struct sockaddr *)&sa, sizeof sa) < 0)
			break;
		struct pollfd p = { fd, POLLIN, 0 };
		if (poll(&p, 1, 200) == 1)
			got = recv(fd, a, sizeof a, 0);
	}
	close(fd);
	if (got < 12 || a[0] != q[0] || a[1] != q[1] || !(a[2] & 0x80))
		return bv_error_set(err, ETIMEDOUT, "the DNS guard at %s:53 did not answer within 2 s", addr);
	if ((a[3] & 0x0f) != 3)
		return bv_error_set(err, EPROTO, "the DNS guard at %s:53 answered rcode %d, not NXDOMAIN: something else holds that address",
				    addr, a[3] & 0x0f);
	return 0;
}

int dnsguard_start(const struct dnsguard *g, const struct dnsguard_opts *o, struct bv_error *err)
{
	const char *argv[ARGV_MAX];
	struct guard_args s;
	struct spawn_result res;
	int rc = guard_argv(g, o, argv, &s, err);
	if (rc < 0)
		return rc;
	if ((rc = spawn_capture((char *const *)argv, 10000, 16384, &res, err)) < 0)
		return bv_error_wrap(err, "start the DNS guard (dnsmasq, Debian package dnsmasq-base)");
	if (!res.exited || res.status != 0 || res.timed_out)
		rc = bv_error_set(err, EIO, "the DNS guard (dnsmasq) did not start (%s %d): %.300s",
				  res.exited ? "exit" : "signal", res.status, res.errout);
	spawn_result_free(&res);
	if (rc == 0 && (rc = ask_once(g->addr, err)) < 0) {
		struct bv_error ignored = { 0 };
		(void)dnsguard_stop(g, &ignored);
	}
	return rc;
}

/* The pid in g->pidfile, when /proc says it is dnsmasq serving that very pid file. */
static pid_t guard_pid(const struct dnsguard *g)
{
	long long pid = 0;
	bool has_start = false;
	unsigned long long start = 0;
	struct bv_error ignored = { 0 };
	_cleanup_free_ char *cmd = NULL;
	char want[4200];
	if (proc_read_pidfile(g->pidfile, &pid, &has_start, &start, &ignored) != 1 || pid <= 1)
		return 0;
	snprintf(want, sizeof want, "--pid-file=%s", g->pidfile);
	if (proc_cmdline((pid_t)pid, &cmd, &ignored) < 0 || !strstr(cmd, "dnsmasq") || !strstr(cmd, want))
		return 0;
	return (pid_t)pid;
}

int dnsguard_stop(const struct dnsguard *g, struct bv_error *err)
{
	pid_t pid = guard_pid(g);
	if (pid > 0 && kill(pid, SIGTERM) == 0) {
		long end = bv_now_ms() + 2000;
		while (kill(pid, 0) == 0 && bv_now_ms() < end)
			usleep(20 * 1000);
		if (kill(pid, 0) == 0)
			return bv_error_set(err, EIO, "the DNS guard (dnsmasq pid %d) did not stop within 2 s", (int)pid);
	}
	(void)unlink(g->pidfile);
	return 0;
}
