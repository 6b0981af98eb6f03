/* alias_pool.c - see alias_pool.h */
#include "launch/alias_pool.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "core/cleanup.h"
#include "core/proc.h"

int alias_pool_dir(const char *dir, char *out, size_t cap, struct bv_error *err)
{
	const char *env = getenv("BOTTLE_LAUNCH_LEASE_DIR");
	const char *home = getenv("HOME");
	int n;
	if (dir && dir[0])
		n = snprintf(out, cap, "%s", dir);
	else if (env && env[0])
		n = snprintf(out, cap, "%s", env);
	else if (home && home[0] == '/')
		n = snprintf(out, cap, "%s/.cache/bottle-launch", home);
	else
		return bv_error_set(err, ENOENT, "no lease dir: pass --lease-dir or set BOTTLE_LAUNCH_LEASE_DIR or HOME");
	if (n < 0 || (size_t)n >= cap)
		return bv_error_set(err, ENAMETOOLONG, "lease dir path too long");
	return 0;
}

/* Ours alone: a lease dir others can write, or a symlink, would let them steer what this
 * launcher (and the DNS guard it starts as root) writes and reads there. -ENOENT if absent. */
static int dir_check(const char *path, struct bv_error *err)
{
	struct stat st;
	if (lstat(path, &st) < 0)
		return bv_error_errno(err, errno, "lease dir %s", path);
	if (!S_ISDIR(st.st_mode) || st.st_uid != geteuid() || (st.st_mode & 022))
		return bv_error_set(err, EPERM, "lease dir %s must be a directory (not a symlink) owned by uid %u and writable by it alone (chmod 700)",
				    path, (unsigned)geteuid());
	return 0;
}

/* mkdir -p with 0700 for what we create. */
int alias_pool_make_dir(const char *path, struct bv_error *err)
{
	char buf[4096];
	snprintf(buf, sizeof buf, "%s", path);
	for (char *s = buf + 1; ; s++) {
		bool end = *s == '\0';
		if (*s == '/' || end) {
			*s = '\0';
			if (mkdir(buf, 0700) < 0 && errno != EEXIST)
				return bv_error_errno(err, errno, "lease dir %s", buf);
			if (end)
				break;
			*s = '/';
		}
	}
	return dir_check(path, err);
}

/* Take the pool's lock into *fd. A dry run creates nothing: without a lease dir or lock
 * file yet there is no lease to read and no one to lock against (*fd stays -1). */
static int pool_lock(const char *dir, bool create, int *fd, struct bv_error *err)
{
	char path[4200];
	*fd = -1;
	int r = create ? alias_pool_make_dir(dir, err) : dir_check(dir, err);
	if (r == -ENOENT && !create)
		return 0;
	if (r < 0)
		return r;
	snprintf(path, sizeof path, "%s/pool.lock", dir);
	*fd = open(path, create ? O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC : O_RDONLY | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (*fd < 0 && errno == ENOENT && !create)
		return 0;
	if (*fd < 0)
		return bv_error_errno(err, errno, "%s", path);
	while (flock(*fd, LOCK_EX) < 0) {
		if (errno != EINTR) {
			int e = errno;
			close(*fd);
			*fd = -1;
			return bv_error_errno(err, e, "flock %s", path);
		}
	}
	return 0;
}

int lease_parse(const char *text, const char *addr, struct lease *out, struct bv_error *err)
{
	memset(out, 0, sizeof *out);
	snprintf(out->addr, sizeof out->addr, "%s", addr);
	int have = 0;
	const char *line = text;
	while (line && *line) {
		const char *nl = strchr(line, '\n');
		size_t len = nl ? (size_t)(nl - line) : strlen(line);
		if (len > 8 && strncmp(line, "machine ", 8) == 0 && len - 8 <= ALIAS_MACHINE_MAX) {
			memcpy(out->machine, line + 8, len - 8);
			out->machine[len - 8] = '\0';
			have |= 1;
		} else if (sscanf(line, "pid %lld", &out->pid) == 1) {
			have |= 2;
		} else if (sscanf(line, "start %llu", &out->start) == 1) {
			have |= 4;
		} else if (sscanf(line, "created %lld", &out->created) == 1) {
			have |= 8;
		}
		line = nl ? nl + 1 : NULL;
	}
	if (have != 15 || !out->machine[0])
		return bv_error_set(err, EINVAL, "lease %s is malformed", addr);
	return 0;
}

/* An address as a lease file name: the text of an IPv4 or IPv6 address, nothing else
 * (no '/', no leading '.', so it names a file in the lease dir and no other). */
static bool addr_usable(const char *addr)
{
	size_t n = strlen(addr);
	return n > 0 && n < LEASE_ADDR_MAX && addr[0] != '.' &&
	       strspn(addr, "0123456789abcdefABCDEF.:") == n;
}

static void lease_path(const char *dir, const char *addr, char path[4200])
{
	snprintf(path, 4200, "%s/%s.lease", dir, addr);
}

/* 1 and l filled, 0 when there is no lease, -EINVAL (err set) when it is malformed. */
static int lease_read(const char *dir, const char *addr, struct lease *l, struct bv_error *err)
{
	char path[4200], text[1024];
	lease_path(dir, addr, path);
	int fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return errno == ENOENT ? 0 : bv_error_errno(err, errno, "%s", path);
	ssize_t n = read(fd, text, sizeof text - 1);
	close(fd);
	if (n < 0)
		return bv_error_errno(err, errno, "%s", path);
	text[n] = '\0';
	return lease_parse(text, addr, l, err) < 0 ? -EINVAL : 1;
}

static int lease_write(const char *dir, const struct lease *l, struct bv_error *err)
{
	char tmp[4200], path[4200];
	snprintf(tmp, sizeof tmp, "%s/.%s.lease.tmp", dir, l->addr);
	lease_path(dir, l->addr, path);
	FILE *f = fopen(tmp, "we");
	if (!f)
		return bv_error_errno(err, errno, "%s", tmp);
	fprintf(f, "machine %s\npid %lld\nstart %llu\ncreated %lld\n", l->machine, l->pid, l->start,
		l->created);
	bool good = fflush(f) == 0 && fsync(fileno(f)) == 0;
	good = fclose(f) == 0 && good;
	if (!good || rename(tmp, path) < 0) {
		int e = errno;
		unlink(tmp);
		return bv_error_errno(err, e, "write %s", path);
	}
	return 0;
}

static int lease_remove(const char *dir, const char *addr, struct bv_error *err)
{
	char path[4200];
	lease_path(dir, addr, path);
	if (unlink(path) < 0 && errno != ENOENT)
		return bv_error_errno(err, errno, "remove %s", path);
	return 0;
}

/* The address of a lease file's name ("192.0.2.10.lease"), or false for any other file. */
static bool lease_file_addr(const char *name, char addr[LEASE_ADDR_MAX])
{
	size_t n = strlen(name);
	if (n <= 6 || strcmp(name + n - 6, ".lease") != 0 || n - 6 >= LEASE_ADDR_MAX)
		return false;
	memcpy(addr, name, n - 6);
	addr[n - 6] = '\0';
	return addr_usable(addr);
}

/* Every readable lease naming machine: fn(l, ctx) for each, until fn returns non-zero
 * (that value is returned). Malformed leases name no machine and are passed over. */
static int leases_of(const char *dir, const char *machine, int (*fn)(const struct lease *, void *, struct bv_error *),
		     void *ctx, struct bv_error *err)
{
	DIR *d = opendir(dir);
	if (!d && errno == ENOENT)
		return 0; /* a dry run before the first lease: none */
	if (!d)
		return bv_error_errno(err, errno, "lease dir %s", dir);
	int r = 0;
	struct dirent *e;
	while (r == 0 && (e = readdir(d))) {
		char addr[LEASE_ADDR_MAX];
		struct lease l;
		if (!lease_file_addr(e->d_name, addr))
			continue;
		int got = lease_read(dir, addr, &l, err);
		if (got < 0 && got != -EINVAL)
			r = got;
		else if (got > 0 && strcmp(l.machine, machine) == 0)
			r = fn(&l, ctx, err);
	}
	closedir(d);
	return r;
}

static int copy_lease(const struct lease *l, void *ctx, struct bv_error *err)
{
	(void)err;
	*(struct lease *)ctx = *l;
	return 1;
}

static void alias_name(int octet, char out[LEASE_ADDR_MAX])
{
	snprintf(out, LEASE_ADDR_MAX, "127.0.0.%u", (unsigned)octet & 0xffu);
}

static bool in_pool(const char *addr)
{
	for (int o = ALIAS_POOL_FIRST; o <= ALIAS_POOL_LAST; o++) {
		char a[LEASE_ADDR_MAX];
		alias_name(o, a);
		if (strcmp(a, addr) == 0)
			return true;
	}
	return false;
}

/* Who holds addr for someone other than req->machine, under the lock: 1 (held, holder says
 * who and how), 0 free (another's stale lease reclaimed on the way), or an error. */
static int addr_holder(const struct lease_req *req, const char *addr, struct lease_grant *out,
		       struct addr_owner *holder, struct bv_error *err)
{
	struct lease l;
	int r = lease_read(req->dir, addr, &l, err);
	if (r == -EINVAL) { /* unreadable: held, fail closed */
		snprintf(holder->machine, sizeof holder->machine, "(malformed lease)");
		snprintf(holder->how, sizeof holder->how, "its lease file %s.lease cannot be read", addr);
		return 1;
	}
	if (r < 0)
		return r;
	if (r > 0 && strcmp(l.machine, req->machine) != 0) {
		if (!req->stale || !req->stale(&l, req->stale_ctx)) {
			snprintf(holder->machine, sizeof holder->machine, "%s", l.machine);
			snprintf(holder->how, sizeof holder->how, "its lease");
			return 1;
		}
		if (out->n_reclaimed < ALIAS_POOL_SIZE)
			out->reclaimed[out->n_reclaimed++] = l;
		if (!req->dry_run && (r = lease_remove(req->dir, addr, err)) < 0)
			return r;
	}
	if (!req->taken)
		return 0;
	r = req->taken(addr, req->taken_ctx, holder, err);
	holder->by_allowlist = r > 0;
	return r;
}

/* The address asked for (or the one the machine holds). */
static int take_addr(const struct lease_req *req, const char *addr, struct lease_grant *out,
		     struct bv_error *err)
{
	struct addr_owner h = { 0 };
	snprintf(out->addr, sizeof out->addr, "%s", addr);
	int r = addr_holder(req, addr, out, &h, err);
	if (r > 0)
		return bv_error_set(err, EBUSY, "%s is taken by machine %s (%s): one address per bottle; pick another address, or run bottle-launch down %s",
				    addr, h.machine, h.how, h.machine);
	return r;
}

/* The lowest pool alias no other machine holds. */
static int take_alias(const struct lease_req *req, struct lease_grant *out, struct bv_error *err)
{
	char holders[1024] = "";
	for (int o = ALIAS_POOL_FIRST; o <= ALIAS_POOL_LAST; o++) {
		struct addr_owner h = { 0 };
		char alias[LEASE_ADDR_MAX];
		alias_name(o, alias);
		int r = addr_holder(req, alias, out, &h, err);
		if (r < 0)
			return r;
		if (r == 0) {
			snprintf(out->addr, sizeof out->addr, "%s", alias);
			return 0;
		}
		size_t used = strlen(holders);
		snprintf(holders + used, sizeof holders - used, "%s%s=%s%s", used ? ", " : "", alias, h.machine,
			 h.by_allowlist ? " (allowlist)" : "");
	}
	return bv_error_set(err, EBUSY, "alias pool exhausted: all %d aliases 127.0.0.%d-%d are held (%s); run bottle-launch down on one",
			    ALIAS_POOL_SIZE, ALIAS_POOL_FIRST, ALIAS_POOL_LAST, holders);
}

/* Under the lock: the machine's own lease first (one per machine), then a free address. */
static int decide(const struct lease_req *req, struct lease_grant *out, struct bv_error *err)
{
	struct lease own;
	int r = leases_of(req->dir, req->machine, copy_lease, &own, err);
	if (r < 0)
		return r;
	if (r > 0) {
		snprintf(out->addr, sizeof out->addr, "%s", own.addr);
		if (req->addr ? strcmp(own.addr, req->addr) != 0 : !in_pool(own.addr))
			return bv_error_set(err, EEXIST, "%s already holds the lease of %s (a machine gets one address): use that address, or run bottle-launch down %s first",
					    req->machine, own.addr, req->machine);
		out->kept = true;
		return take_addr(req, own.addr, out, err);
	}
	return req->addr ? take_addr(req, req->addr, out, err) : take_alias(req, out, err);
}

int alias_pool_acquire(const struct lease_req *req, struct lease_grant *out, struct bv_error *err)
{
	memset(out, 0, sizeof *out);
	if (!req->machine[0] || strlen(req->machine) > ALIAS_MACHINE_MAX || strchr(req->machine, '\n'))
		return bv_error_set(err, EINVAL, "machine name unusable in a lease");
	if (req->addr && !addr_usable(req->addr))
		return bv_error_set(err, EINVAL, "address %s unusable in a lease", req->addr);
	_cleanup_close_ int fd = -1;
	int r = pool_lock(req->dir, !req->dry_run, &fd, err);
	if (r < 0)
		return r;
	r = decide(req, out, err);
	/* A kept lease is rewritten too: it now names this launcher, which is alive, so no
	 * one reclaims it before this launch's machine has a row. */
	if (r == 0 && !req->dry_run) {
		struct lease l = { .pid = getpid(), .created = (long long)time(NULL) };
		snprintf(l.addr, sizeof l.addr, "%s", out->addr);
		snprintf(l.machine, sizeof l.machine, "%s", req->machine);
		struct bv_error ignored;
		if (proc_start_time(getpid(), &l.start, &ignored) < 0)
			l.start = 0;
		r = lease_write(req->dir, &l, err);
	}
	return r;
}

int alias_pool_release(const char *dir, const char *machine, struct bv_error *err)
{
	_cleanup_close_ int fd = -1;
	int r = pool_lock(dir, true, &fd, err);
	if (r < 0)
		return r;
	int released = 0;
	struct lease l;
	/* one at a time, the walk started afresh: readdir may skip or repeat around a removal */
	while ((r = leases_of(dir, machine, copy_lease, &l, err)) > 0) {
		if ((r = lease_remove(dir, l.addr, err)) < 0)
			break;
		released++;
	}
	return r < 0 ? r : released;
}
