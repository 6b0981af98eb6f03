/* dnsguard.c - see dnsguard.h */
#include "launch/dnsguard.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <pwd.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/cleanup.h"
#include "core/clock.h"
#include "core/proc.h"
#include "launch/subnet.h"
#include "smolvm/cli.h"

#define ARGV_MAX (16 + DNSGUARD_ALLOW_MAX)
#define START_TRIES 8

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

/* The first 127.83.O.53 from octet index k on whose port 53 is free. */
static int next_free_addr(struct dnsguard *g, unsigned o, unsigned k, struct bv_error *err)
{
	for (; k < 254; k++) {
		snprintf(g->addr, sizeof g->addr, "127.83.%u.53", (o - 1 + k) % 254 + 1);
		int r = port53_free(g->addr);
		/* Not ours to bind (no root): dnsmasq may still be allowed to (setcap), and its
		 * start is the judge. */
		if (r == 0 || r == -EACCES)
			return (int)k;
		if (r != -EADDRINUSE)
			return bv_error_errno(err, -r, "cannot bind %s:53 for the DNS guard", g->addr);
	}
	return bv_error_set(err, EADDRINUSE, "no free address in 127.83.0.0/16 for a DNS guard");
}

int dnsguard_plan(const char *lease_dir, const char *name, const char *addr, struct dnsguard *g,
		  struct bv_error *err)
{
	char slug[256];
	memset(g, 0, sizeof *g);
	subnet_slug(name, slug, sizeof slug);
	if (!launch_state_path(lease_dir, "dnsguard", name, "log", g->log, sizeof g->log) ||
	    !launch_state_path(lease_dir, "dnsguard", name, "pid", g->pidfile, sizeof g->pidfile))
		return bv_error_set(err, ENAMETOOLONG, "DNS guard paths under %s are too long", lease_dir);
	if (addr) {
		struct in_addr a;
		if (inet_pton(AF_INET, addr, &a) != 1)
			return bv_error_set(err, EINVAL, "--dns-guard-addr %s: not an IPv4 address (smolvm's --dns takes IPv4 only)", addr);
		snprintf(g->addr, sizeof g->addr, "%s", addr);
		g->addr_chosen = true;
		return 0;
	}
	int r = next_free_addr(g, subnet_octet(slug), 0, err);
	return r < 0 ? r : 0;
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

/* The binary when --dnsmasq names none: dnsmasq on PATH, else where Debian installs it. A
 * user's PATH often lacks the sbin directories, the only place dnsmasq-base puts it. */
static const char *default_dnsmasq(void)
{
	static const char *const sbin[] = { "/usr/local/sbin/dnsmasq", "/usr/sbin/dnsmasq", "/sbin/dnsmasq" };
	_cleanup_free_ char *found = NULL;
	struct bv_error ignored;
	if (smolvm_find("dnsmasq", &found, &ignored) == 0)
		return "dnsmasq";
	for (size_t i = 0; i < sizeof sbin / sizeof sbin[0]; i++)
		if (access(sbin[i], X_OK) == 0)
			return sbin[i];
	return "dnsmasq"; /* its spawn fails with ENOENT, and the message names the package */
}

/* Is setgroups(2) denied to this process? It is in a user namespace made by an unprivileged
 * user (unshare --map-root-user): there no one can drop supplementary groups, and dnsmasq,
 * which drops them before it changes group, exits 5 unless told to keep its group. */
static bool setgroups_denied(void)
{
	char buf[8] = "";
	FILE *f = fopen("/proc/self/setgroups", "re");
	if (f) {
		if (!fgets(buf, sizeof buf, f))
			buf[0] = '\0';
		fclose(f);
	}
	return strncmp(buf, "deny", 4) == 0;
}

/* What dnsmasq's argv points into. */
struct guard_args {
	char listen[64], user[300], group[300], log[4200], pid[4200];
	char address[DNSGUARD_ALLOW_MAX][300];
};

static int guard_argv(const struct dnsguard *g, const struct dnsguard_opts *o, const char *argv[ARGV_MAX],
		      struct guard_args *s, struct bv_error *err)
{
	size_t n = 0;
	argv[n++] = o->dnsmasq ? o->dnsmasq : default_dnsmasq();
	static const char *const fixed[] = { "--conf-file=/dev/null", "--no-resolv", "--no-hosts", "--no-poll",
					     "--bind-interfaces", "--port=53", "--address=/#/",
					     "--log-queries=extra" };
	for (size_t i = 0; i < sizeof fixed / sizeof fixed[0]; i++)
		argv[n++] = fixed[i];
	snprintf(s->listen, sizeof s->listen, "--listen-address=%s", g->addr), argv[n++] = s->listen;
	snprintf(s->log, sizeof s->log, "--log-facility=%s", g->log), argv[n++] = s->log;
	snprintf(s->pid, sizeof s->pid, "--pid-file=%s", g->pidfile), argv[n++] = s->pid;
	if (geteuid() == 0) { /* dnsmasq drops root to this user, and its group, once bound */
		const char *user = o->user ? o->user : nobody_mapped() ? "nobody" : "root";
		const struct passwd *pw = getpwnam(user);
		const struct group *gr = pw ? getgrgid(pw->pw_gid) : NULL;
		if (!gr)
			return bv_error_set(err, ENOENT, "the DNS guard's user %s (or its group) does not exist here: pass --dns-guard-user", user);
		snprintf(s->user, sizeof s->user, "--user=%s", user), argv[n++] = s->user;
		/* (an empty --group: keep the group, where no group can be dropped) */
		snprintf(s->group, sizeof s->group, "--group=%s", setgroups_denied() ? "" : gr->gr_name);
		argv[n++] = s->group;
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

/* The last len - 1 bytes of the guard's record into buf, NUL-terminated; false when it
 * cannot be read or is empty. */
static bool log_tail(const char *log, char *buf, size_t len)
{
	int fd = open(log, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0)
		return false;
	off_t size = lseek(fd, 0, SEEK_END), from = size > (off_t)len - 1 ? size - (off_t)len + 1 : 0;
	ssize_t n = pread(fd, buf, len - 1, from);
	close(fd);
	if (n <= 0)
		return false;
	buf[n] = '\0';
	return true;
}

/* Does the guard's record hold "query[A] NAME from"? */
static bool logged(const char *log, const char *name)
{
	char want[128], buf[65536];
	snprintf(want, sizeof want, "query[A] %s from ", name);
	return log_tail(log, buf, sizeof buf) && strstr(buf, want) != NULL;
}

/* Why dnsmasq did not start: its stderr, or (it logs there once its record is open) the
 * record's last line. */
static const char *start_failure(const struct dnsguard *g, const char *errout, char *buf, size_t len)
{
	if (errout[0] || !log_tail(g->log, buf, len))
		return errout;
	char *end = buf + strlen(buf);
	while (end > buf && end[-1] == '\n')
		*--end = '\0';
	char *last = strrchr(buf, '\n');
	return last ? last + 1 : buf;
}

/* One query for a fresh name, on a connected socket with a random id: the answer must be
 * the guard's catch-all NXDOMAIN, and the name must land in the guard's record (so what
 * answers is what bottle-verify will read). */
static int ask_once(const struct dnsguard *g, struct bv_error *err)
{
	unsigned char rnd[8] = { 0 }, q[96], a[512];
	char label[32], name[64];
	if (getrandom(rnd, sizeof rnd, 0) != (ssize_t)sizeof rnd)
		return bv_error_errno(err, errno, "getrandom");
	snprintf(label, sizeof label, "bv-guard-check-%02x%02x%02x%02x%02x%02x", rnd[2], rnd[3], rnd[4], rnd[5], rnd[6], rnd[7]);
	snprintf(name, sizeof name, "%s.invalid", label);
	size_t qn = 0, ll = strlen(label);
	unsigned char head[12] = { rnd[0], rnd[1], 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0 };
	memcpy(q, head, sizeof head), qn = sizeof head;
	q[qn++] = (unsigned char)ll, memcpy(q + qn, label, ll), qn += ll;
	q[qn++] = 7, memcpy(q + qn, "invalid", 7), qn += 7;
	q[qn++] = 0, q[qn++] = 0, q[qn++] = 1, q[qn++] = 0, q[qn++] = 1; /* root, A, IN */
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons(53) };
	inet_pton(AF_INET, g->addr, &sa.sin_addr);
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof sa) < 0) {
		int e = errno;
		if (fd >= 0)
			close(fd);
		return bv_error_errno(err, e, "reach the DNS guard at %s:53", g->addr);
	}
	ssize_t got = -1;
	for (long end = bv_now_ms() + 2000; got < 12 && bv_now_ms() < end;) {
		if (send(fd, q, qn, 0) < 0)
			break;
		struct pollfd p = { fd, POLLIN, 0 };
		if (poll(&p, 1, 200) == 1)
			got = recv(fd, a, sizeof a, 0);
	}
	close(fd);
	if (got < 12 || a[0] != q[0] || a[1] != q[1] || !(a[2] & 0x80))
		return bv_error_set(err, ETIMEDOUT, "the DNS guard at %s:53 did not answer within 2 s", g->addr);
	if ((a[3] & 0x0f) != 3)
		return bv_error_set(err, EPROTO, "the DNS guard at %s:53 answered rcode %d, not NXDOMAIN: something else holds that address",
				    g->addr, a[3] & 0x0f);
	for (long end = bv_now_ms() + 2000; !logged(g->log, name); usleep(20 * 1000))
		if (bv_now_ms() >= end)
			return bv_error_set(err, EPROTO, "what answered at %s:53 did not record the check query in %s: it is not this bottle's guard",
					    g->addr, g->log);
	return 0;
}

static pid_t guard_pid(const struct dnsguard *g);

/* The record's path holds nothing but a regular file of ours, if anything. */
static int log_path_ok(const char *log, struct bv_error *err)
{
	struct stat st;
	if (lstat(log, &st) < 0)
		return errno == ENOENT ? 0 : bv_error_errno(err, errno, "%s", log);
	if (!S_ISREG(st.st_mode) || st.st_nlink != 1)
		return bv_error_set(err, EPERM, "%s is not a plain file: refusing to log the DNS guard there", log);
	return 0;
}

static int start_once(const struct dnsguard *g, const struct dnsguard_opts *o, bool *in_use, struct bv_error *err)
{
	const char *argv[ARGV_MAX];
	struct guard_args s;
	struct spawn_result res;
	char tail[512];
	int rc = guard_argv(g, o, argv, &s, err);
	*in_use = false;
	if (rc < 0)
		return rc;
	if ((rc = spawn_capture((char *const *)argv, 10000, 16384, &res, err)) < 0)
		return bv_error_wrap(err, "start the DNS guard (dnsmasq, Debian package dnsmasq-base)");
	if (!res.exited || res.status != 0 || res.timed_out) {
		*in_use = strstr(res.errout, "in use") != NULL;
		bool denied = strstr(res.errout, "Permission denied") != NULL;
		rc = bv_error_set(err, EIO, "the DNS guard (dnsmasq) did not start (%s %d): %.300s%s",
				  res.exited ? "exit" : "signal", res.status, start_failure(g, res.errout, tail, sizeof tail),
				  denied ? " -- binding port 53 needs root, dnsmasq with CAP_NET_BIND_SERVICE (setcap cap_net_bind_service=+ep on it) or net.ipv4.ip_unprivileged_port_start <= 53; --no-dns-guard leaves the DNS carve-out open instead" : "");
	}
	spawn_result_free(&res);
	return rc;
}

int dnsguard_start(struct dnsguard *g, const struct dnsguard_opts *o, struct bv_error *err)
{
	pid_t running = guard_pid(g);
	if (running > 0)
		return bv_error_set(err, EEXIST, "a DNS guard for this bottle already runs (dnsmasq pid %d, %s): bottle-launch down it first",
				    (int)running, g->pidfile);
	int rc = log_path_ok(g->log, err);
	bool in_use = false;
	for (int k = 1; rc == 0 && (rc = start_once(g, o, &in_use, err)) < 0 && in_use && !g->addr_chosen && k < START_TRIES; k++) {
		/* another up took this address since the plan: the next free one */
		unsigned o3 = 0;
		sscanf(g->addr, "127.83.%u.53", &o3);
		rc = next_free_addr(g, o3 % 254 + 1, 0, err);
		rc = rc < 0 ? rc : 0;
	}
	if (rc == 0 && (rc = ask_once(g, err)) < 0) {
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
	if (pid > 0 && kill(pid, SIGTERM) < 0 && errno != ESRCH)
		return bv_error_errno(err, errno, "stop the DNS guard (dnsmasq pid %d)", (int)pid);
	if (pid > 0) {
		long end = bv_now_ms() + 2000;
		while (kill(pid, 0) == 0 && bv_now_ms() < end)
			usleep(20 * 1000);
		if (kill(pid, 0) == 0)
			return bv_error_set(err, EIO, "the DNS guard (dnsmasq pid %d) did not stop within 2 s", (int)pid);
	}
	(void)unlink(g->pidfile);
	return 0;
}
