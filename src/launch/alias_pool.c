/* alias_pool.c - see alias_pool.h */
#include "launch/alias_pool.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

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
	/* Ours alone: a lease dir others can write, or a symlink, would let them steer what
	 * this launcher (and the DNS guard it starts as root) writes and reads there. */
	struct stat st;
	if (lstat(path, &st) < 0)
		return bv_error_errno(err, errno, "lease dir %s", path);
	if (!S_ISDIR(st.st_mode) || st.st_uid != geteuid() || (st.st_mode & 022))
		return bv_error_set(err, EPERM, "lease dir %s must be a directory (not a symlink) owned by uid %u and writable by it alone (chmod 700)",
				    path, (unsigned)geteuid());
	return 0;
}

static int pool_lock(const char *dir, struct bv_error *err)
{
	char path[4200];
	int r = alias_pool_make_dir(dir, err);
	if (r < 0)
		return r;
	snprintf(path, sizeof path, "%s/pool.lock", dir);
	int fd = open(path, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0)
		return bv_error_errno(err, errno, "%s", path);
	while (flock(fd, LOCK_EX) < 0) {
		if (errno != EINTR) {
			int e = errno;
			close(fd);
			return bv_error_errno(err, e, "flock %s", path);
		}
	}
	return fd;
}

int lease_parse(const char *text, const char *alias, struct lease *out, struct bv_error *err)
{
	memset(out, 0, sizeof *out);
	snprintf(out->alias, sizeof out->alias, "%s", alias);
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
		return bv_error_set(err, EINVAL, "lease %s is malformed", alias);
	return 0;
}

static int lease_read(const char *dir, const char *alias, struct lease *l, struct bv_error *err)
{
	char path[4200], text[1024];
	snprintf(path, sizeof path, "%s/%s.lease", dir, alias);
	int fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return errno == ENOENT ? 0 : bv_error_errno(err, errno, "%s", path);
	ssize_t n = read(fd, text, sizeof text - 1);
	close(fd);
	if (n < 0)
		return bv_error_errno(err, errno, "%s", path);
	text[n] = '\0';
	return lease_parse(text, alias, l, err) < 0 ? -EINVAL : 1;
}

static int lease_write(const char *dir, const struct lease *l, struct bv_error *err)
{
	char tmp[4200], path[4200];
	snprintf(tmp, sizeof tmp, "%s/.%s.lease.tmp", dir, l->alias);
	snprintf(path, sizeof path, "%s/%s.lease", dir, l->alias);
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

static void alias_name(int octet, char out[16])
{
	snprintf(out, 16, "127.0.0.%u", (unsigned)octet & 0xffu);
}

/* Under the lock: one pass over the pool. */
static int scan(const char *dir, const char *machine, lease_stale_fn stale, void *ctx, bool dry_run,
		char alias_out[16], struct bv_error *err)
{
	int free_octet = 0;
	char holders[768] = "";
	for (int o = ALIAS_POOL_FIRST; o <= ALIAS_POOL_LAST; o++) {
		char alias[16];
		struct lease l;
		alias_name(o, alias);
		int r = lease_read(dir, alias, &l, err);
		if (r == -EINVAL) /* unreadable: held, fail closed */
			snprintf(l.machine, sizeof l.machine, "(malformed lease)");
		else if (r < 0)
			return r;
		if (r > 0 && strcmp(l.machine, machine) == 0) {
			snprintf(alias_out, 16, "%s", alias);
			return bv_error_set(err, EEXIST, "%s already has alias %s", machine, alias);
		}
		if (r > 0 && stale && stale(&l, ctx)) {
			fprintf(stderr, "bottle-launch: %s lease of %s is stale (launcher gone, no machine row): %s\n",
				dry_run ? "would reclaim the" : "reclaiming the", l.machine, alias);
			if (!dry_run) {
				char path[4200];
				snprintf(path, sizeof path, "%s/%s.lease", dir, alias);
				unlink(path);
			}
			r = 0;
		}
		if (r == 0 && !free_octet)
			free_octet = o;
		else if (r != 0) {
			size_t used = strlen(holders);
			snprintf(holders + used, sizeof holders - used, "%s%s=%s", used ? ", " : "", alias, l.machine);
		}
	}
	if (!free_octet)
		return bv_error_set(err, EBUSY, "alias pool exhausted: all %d aliases 127.0.0.%d-%d are held (%s); run bottle-launch down on one",
				    ALIAS_POOL_LAST - ALIAS_POOL_FIRST + 1, ALIAS_POOL_FIRST, ALIAS_POOL_LAST, holders);
	alias_name(free_octet, alias_out);
	return 0;
}

int alias_pool_acquire(const char *dir, const char *machine, lease_stale_fn stale, void *ctx,
		       bool dry_run, char alias_out[16], struct bv_error *err)
{
	if (!machine[0] || strlen(machine) > ALIAS_MACHINE_MAX || strchr(machine, '\n'))
		return bv_error_set(err, EINVAL, "machine name unusable in a lease");
	int fd = pool_lock(dir, err);
	if (fd < 0)
		return fd;
	int r = scan(dir, machine, stale, ctx, dry_run, alias_out, err);
	if (r == 0 && !dry_run) {
		struct lease l = { .pid = getpid(), .created = (long long)time(NULL) };
		snprintf(l.alias, sizeof l.alias, "%s", alias_out);
		snprintf(l.machine, sizeof l.machine, "%s", machine);
		struct bv_error ignored;
		if (proc_start_time(getpid(), &l.start, &ignored) < 0)
			l.start = 0;
		r = lease_write(dir, &l, err);
	}
	close(fd);
	return r;
}

int alias_pool_release(const char *dir, const char *machine, struct bv_error *err)
{
	int fd = pool_lock(dir, err);
	if (fd < 0)
		return fd;
	int released = 0, r = 0;
	for (int o = ALIAS_POOL_FIRST; o <= ALIAS_POOL_LAST && r >= 0; o++) {
		char alias[16], path[4200];
		struct lease l;
		alias_name(o, alias);
		if (lease_read(dir, alias, &l, err) <= 0 || strcmp(l.machine, machine) != 0)
			continue;
		snprintf(path, sizeof path, "%s/%s.lease", dir, alias);
		if (unlink(path) < 0)
			r = bv_error_errno(err, errno, "release %s", path);
		else
			released = 1;
	}
	close(fd);
	return r < 0 ? r : released;
}
