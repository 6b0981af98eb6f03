/* census.c - see census.h
 * /proc/PID is opened once, after its start time matched, and every later /proc read goes
 * through that directory: a pid reused by another process can never lend us its sockets
 * (lookups in the old directory fail once the VMM is gone). A pass holds the lock from
 * start to end. Each pass opens its own netlink socket, so a dump cut short at a limit
 * leaves nothing behind for the next. Entries are keyed by inode and both endpoints: a
 * socket that connects elsewhere later is a new entry, never an overwrite. */
#include "egress/census.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/inet_diag.h>
#include <linux/netlink.h>
#include <linux/sock_diag.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "core/cleanup.h"
#include "core/proc.h"
#include "egress/census_diag.h"
#include "core/clock.h"

#define NLBUF_SIZE (64 * 1024)
#define NL_TIMEOUT_S 2
#define ENTRY_LIMIT_MAX (1u << 24) /* keeps the index's size arithmetic far from overflow */

enum vmm_fate { VMM_SAME, VMM_GONE, VMM_REPLACED };

/* Is c->pid still the process c->start_time names? -errno only when /proc says nothing. */
static int vmm_fate(const struct census *c, enum vmm_fate *fate, struct bv_error *err)
{
	unsigned long long now = 0;
	int r = proc_start_time(c->pid, &now, err);
	if (r == -ESRCH) {
		*fate = VMM_GONE;
		return 0;
	}
	if (r < 0)
		return r;
	*fate = now == c->start_time ? VMM_SAME : VMM_REPLACED;
	return 0;
}

static int vmm_must_be_there(const struct census *c, struct bv_error *err)
{
	enum vmm_fate fate = VMM_GONE;
	int r = vmm_fate(c, &fate, err);
	if (r < 0)
		return r;
	switch (fate) {
	case VMM_SAME:
		return 0;
	case VMM_GONE:
		return bv_error_set(err, ESRCH, "no process %d: the VMM is gone", (int)c->pid);
	case VMM_REPLACED:
		return bv_error_set(err, ESRCH,
				    "pid %d is not the VMM: it did not start at %llu (the VMM exited and its pid was reused)",
				    (int)c->pid, c->start_time);
	}
	return bv_error_set(err, EINVAL, "unknown process state");
}

/* Open /proc/PID, checking the start time before and after: the directory we hold is
 * then the very process the start time names. */
static int open_proc_dir(struct census *c, struct bv_error *err)
{
	char path[64];
	int r = vmm_must_be_there(c, err);
	if (r < 0)
		return r;
	snprintf(path, sizeof path, "/proc/%d", (int)c->pid);
	c->proc_dir = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (c->proc_dir < 0 && errno == ENOENT)
		return bv_error_set(err, ESRCH, "no process %d: the VMM is gone", (int)c->pid);
	if (c->proc_dir < 0)
		return bv_error_errno(err, errno, "open %s", path);
	return vmm_must_be_there(c, err);
}

static int open_fd_dir(const struct census *c, DIR **out)
{
	int fd = openat(c->proc_dir, "fd", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	DIR *d = fdopendir(fd);
	if (!d) {
		int e = errno;
		close(fd);
		return -e;
	}
	*out = d;
	return 0;
}

static int proc_access_error(const struct census *c, int r, const char *what, struct bv_error *err)
{
	if (r == -EACCES || r == -EPERM)
		return bv_error_set(err, EACCES,
				    "/proc/%d/%s is not readable: run bottle-verify as the VMM's user or root",
				    (int)c->pid, what);
	if (r == -ENOENT || r == -ESRCH)
		return bv_error_set(err, ESRCH, "no process %d: the VMM is gone", (int)c->pid);
	return bv_error_errno(err, -r, "/proc/%d/%s", (int)c->pid, what);
}

static int check_fd_access(const struct census *c, struct bv_error *err)
{
	DIR *d = NULL;
	int r = open_fd_dir(c, &d);
	if (r == 0 && d) {
		errno = 0;
		if (!readdir(d) && errno)
			r = -errno;
		closedir(d);
	}
	return r < 0 ? proc_access_error(c, r, "fd", err) : 0;
}

/* Our dump sees our own network namespace only. */
static int check_same_netns(const struct census *c, struct bv_error *err)
{
	char theirs[64], ours[64];
	ssize_t a = readlinkat(c->proc_dir, "ns/net", theirs, sizeof theirs - 1);
	if (a < 0)
		return proc_access_error(c, -errno, "ns/net", err);
	ssize_t b = readlink("/proc/self/ns/net", ours, sizeof ours - 1);
	if (b < 0)
		return bv_error_errno(err, errno, "readlink /proc/self/ns/net");
	theirs[a] = ours[b] = '\0';
	if (strcmp(theirs, ours) != 0)
		return bv_error_set(err, EXDEV,
				    "the VMM (pid %d) is in network namespace %s, bottle-verify in %s: run bottle-verify in the VMM's network namespace",
				    (int)c->pid, theirs, ours);
	return 0;
}

static int init_sync(struct census *c, struct bv_error *err)
{
	pthread_condattr_t attr;
	int r = pthread_condattr_init(&attr);
	if (r == 0 && (r = pthread_condattr_setclock(&attr, CLOCK_MONOTONIC)) == 0)
		r = pthread_cond_init(&c->wake, &attr);
	pthread_condattr_destroy(&attr);
	if (r != 0)
		return bv_error_errno(err, r, "census: condition variable");
	r = pthread_mutex_init(&c->lock, NULL);
	if (r != 0) {
		pthread_cond_destroy(&c->wake);
		return bv_error_errno(err, r, "census: mutex");
	}
	return 0;
}

static void census_release(struct census *c)
{
	if (c->proc_dir >= 0)
		close(c->proc_dir);
	free(c->entries);
	free(c->slots);
	free(c->inodes);
	free(c->dumped);
	free(c->nlbuf);
	memset(c, 0, sizeof *c);
	c->proc_dir = -1;
}

int census_open(struct census *c, pid_t pid, unsigned long long start_time, struct bv_error *err)
{
	memset(c, 0, sizeof *c);
	c->proc_dir = -1;
	c->pid = pid;
	c->start_time = start_time;
	c->max_entries = CENSUS_MAX_ENTRIES;
	c->max_fds = CENSUS_MAX_FDS;
	int r = open_proc_dir(c, err);
	if (r == 0)
		r = check_fd_access(c, err);
	if (r == 0)
		r = check_same_netns(c, err);
	if (r == 0 && !(c->nlbuf = malloc(NLBUF_SIZE)))
		r = bv_error_set(err, ENOMEM, "out of memory");
	if (r == 0)
		r = init_sync(c, err);
	if (r < 0) {
		census_release(c);
		return r;
	}
	c->is_open = true;
	return 0;
}

/* "socket:[N]" -> N; 0 for anything else (files, pipes, anon inodes). */
static unsigned long long socket_inode(const char *link)
{
	static const char prefix[] = "socket:[";
	if (strncmp(link, prefix, sizeof prefix - 1) != 0)
		return 0;
	const char *p = link + sizeof prefix - 1;
	char *end = NULL;
	errno = 0;
	unsigned long long ino = strtoull(p, &end, 10);
	if (errno || end == p || strcmp(end, "]") != 0)
		return 0;
	return ino;
}

static int inodes_push(struct census *c, unsigned long long ino)
{
	if (c->ninodes == c->inodes_cap) {
		size_t cap = c->inodes_cap ? c->inodes_cap * 2 : 64;
		unsigned long long *p = realloc(c->inodes, cap * sizeof *p);
		if (!p)
			return -ENOMEM;
		c->inodes = p;
		c->inodes_cap = cap;
	}
	c->inodes[c->ninodes++] = ino;
	return 0;
}

static int note_fd(struct census *c, int dfd, const char *name)
{
	char link[64]; /* only "socket:[N]" matters; longer targets may truncate */
	ssize_t n = readlinkat(dfd, name, link, sizeof link - 1);
	if (n < 0)
		return errno == ENOENT ? 0 : -errno; /* ENOENT: closed since readdir */
	link[n] = '\0';
	unsigned long long ino = socket_inode(link);
	return ino ? inodes_push(c, ino) : 0;
}

static int cmp_inode(const void *a, const void *b)
{
	unsigned long long x = *(const unsigned long long *)a, y = *(const unsigned long long *)b;
	return x < y ? -1 : x > y;
}

/* The VMM's socket inodes into c->inodes, sorted. -ESRCH (no message) when it is gone. */
static int scan_fds(struct census *c, struct bv_error *err)
{
	DIR *d = NULL;
	int r = open_fd_dir(c, &d);
	if (r == -ENOENT || r == -ESRCH)
		return -ESRCH;
	if (r < 0)
		return proc_access_error(c, r, "fd", err);
	c->ninodes = 0;
	size_t seen = 0;
	for (;;) {
		errno = 0;
		struct dirent *de = readdir(d);
		if (!de) {
			r = -errno;
			break;
		}
		if (de->d_name[0] == '.')
			continue;
		if (++seen > c->max_fds) {
			c->overflowed = true;
			break;
		}
		if ((r = note_fd(c, dirfd(d), de->d_name)) < 0)
			break;
	}
	closedir(d);
	if (r == -ENOENT || r == -ESRCH)
		return -ESRCH;
	if (r < 0)
		return bv_error_errno(err, -r, "read /proc/%d/fd", (int)c->pid);
	if (c->ninodes)
		qsort(c->inodes, c->ninodes, sizeof *c->inodes, cmp_inode);
	return 0;
}

bool census_is_vmm_inode(const struct census *c, unsigned long long ino)
{
	return c->ninodes && bsearch(&ino, c->inodes, c->ninodes, sizeof ino, cmp_inode);
}

/* Inode numbers are unique among live sockets: same-socket entries just probe on. */
static size_t entry_hash(const struct census_entry *e)
{
	return (size_t)((e->inode * 0x9e3779b97f4a7c15ull) >> 32) ^ e->remote.port;
}

static bool endpoint_eq(const struct census_endpoint *a, const struct census_endpoint *b)
{
	return a->port == b->port && memcmp(a->addr, b->addr, sizeof a->addr) == 0;
}

static bool same_key(const struct census_entry *a, const struct census_entry *b)
{
	return a->inode == b->inode && a->proto == b->proto && a->family == b->family &&
	       endpoint_eq(&a->local, &b->local) && endpoint_eq(&a->remote, &b->remote);
}

/* The index is sized once, at the first entry, from max_entries (load <= 1/2). */
static int index_init(struct census *c)
{
	c->entry_limit = c->max_entries < ENTRY_LIMIT_MAX ? c->max_entries : ENTRY_LIMIT_MAX;
	size_t n = 16;
	while (n < 2 * c->entry_limit)
		n *= 2;
	c->slots = calloc(n, sizeof *c->slots);
	if (!c->slots)
		return -ENOMEM;
	c->nslots = n;
	return 0;
}

static uint32_t *index_slot(const struct census *c, const struct census_entry *key)
{
	size_t mask = c->nslots - 1;
	for (size_t i = entry_hash(key) & mask;; i = (i + 1) & mask) {
		uint32_t s = c->slots[i];
		if (s == 0 || same_key(&c->entries[s - 1], key))
			return &c->slots[i];
	}
}

static int entries_grow(struct census *c)
{
	size_t cap = c->entries_cap ? c->entries_cap * 2 : 32;
	if (cap > c->entry_limit)
		cap = c->entry_limit;
	struct census_entry *p = realloc(c->entries, cap * sizeof *p);
	if (!p)
		return -ENOMEM;
	c->entries = p;
	c->entries_cap = cap;
	return 0;
}

int census_entry_upsert(struct census *c, const struct census_entry *key, long now)
{
	if (!c->slots && index_init(c) < 0)
		return -ENOMEM;
	uint32_t *slot = index_slot(c, key);
	if (*slot) {
		struct census_entry *e = &c->entries[*slot - 1];
		e->state = key->state;
		e->last_seen_ms = now;
		e->samples++;
		return 0;
	}
	if (c->count >= c->entry_limit) {
		c->overflowed = true;
		return 0;
	}
	if (c->count == c->entries_cap && entries_grow(c) < 0)
		return -ENOMEM;
	struct census_entry *e = &c->entries[c->count++];
	*e = *key;
	e->judged = false;
	e->first_seen_ms = e->last_seen_ms = now;
	e->samples = 1;
	*slot = (uint32_t)c->count;
	return 0;
}

/* ---- dump only on change ---- */

static bool same_inodes_as_dumped(const struct census *c)
{
	return c->ndumped == c->ninodes &&
	       (c->ninodes == 0 || memcmp(c->dumped, c->inodes, c->ninodes * sizeof *c->inodes) == 0);
}

/* A TCP socket the last dump saw before it had a remote (created, not yet connected) may
 * have connected since: its entry would not say where. */
static bool entries_settled(const struct census *c)
{
	static const unsigned char none[16];
	for (size_t i = 0; i < c->count; i++) {
		const struct census_entry *e = &c->entries[i];
		if (e->proto == IPPROTO_TCP && e->state != TCP_LISTEN && e->remote.port == 0 &&
		    memcmp(e->remote.addr, none, sizeof none) == 0 && census_is_vmm_inode(c, e->inode))
			return false;
	}
	return true;
}

/* The sockets are the ones the last dump saw: their entries are seen again, as they were. */
static void refresh_entries(struct census *c, long now)
{
	for (size_t i = 0; i < c->count; i++) {
		struct census_entry *e = &c->entries[i];
		if (e->last_seen_ms == c->last_dump_ms && census_is_vmm_inode(c, e->inode)) {
			e->last_seen_ms = now;
			e->samples++;
		}
	}
	c->last_dump_ms = now;
}

static bool may_skip_dump(const struct census *c)
{
	return c->dump_every && c->dumps && !c->settle && c->since_dump + 1 < c->dump_every &&
	       same_inodes_as_dumped(c) && entries_settled(c);
}

static int remember_dumped(struct census *c)
{
	if (c->ninodes > c->dumped_cap) {
		unsigned long long *p = realloc(c->dumped, c->ninodes * sizeof *p);
		if (!p)
			return -ENOMEM;
		c->dumped = p;
		c->dumped_cap = c->ninodes;
	}
	if (c->ninodes)
		memcpy(c->dumped, c->inodes, c->ninodes * sizeof *c->inodes);
	c->ndumped = c->ninodes;
	return 0;
}

/* After the VMM's sockets changed, CENSUS_SETTLE_DUMPS more passes dump too: a socket the
 * change brought may not have connected yet (an unconnected socket is in no table, and its
 * inode alone cannot say whether it is TCP, UDP or a unix socket). */
#define CENSUS_SETTLE_DUMPS 2

static int dump(struct census *c, long now, struct bv_error *err)
{
	bool changed = !same_inodes_as_dumped(c);
	int r = census_diag_all(c, now, err);
	if (r == 0)
		r = census_ping_all(c, now, err);
	if (r < 0)
		return r;
	c->settle = changed ? CENSUS_SETTLE_DUMPS : c->settle ? c->settle - 1 : 0;
	c->dumps++;
	c->since_dump = 0;
	c->last_dump_ms = now;
	return remember_dumped(c) < 0 ? bv_error_set(err, ENOMEM, "out of memory") : 0;
}

static int sample_locked(struct census *c, long now, struct bv_error *err)
{
	enum vmm_fate fate = VMM_SAME;
	if (c->vmm_gone || c->vmm_replaced)
		return 0;
	int r = vmm_fate(c, &fate, err);
	if (r < 0)
		return r;
	c->vmm_gone = fate == VMM_GONE;
	c->vmm_replaced = fate == VMM_REPLACED;
	if (fate != VMM_SAME)
		return 0;
	r = scan_fds(c, err);
	if (r == -ESRCH) {
		c->vmm_gone = true;
		return 0;
	}
	if (r == 0 && may_skip_dump(c)) {
		refresh_entries(c, now);
		c->since_dump++;
	} else if (r == 0) {
		r = dump(c, now, err);
	}
	if (r == 0)
		c->passes++;
	return r;
}

int census_sample(struct census *c, long now_ms, struct bv_error *err)
{
	if (!c->is_open)
		return bv_error_set(err, EBADF, "the census is not open");
	pthread_mutex_lock(&c->lock);
	int r = sample_locked(c, now_ms, err);
	pthread_mutex_unlock(&c->lock);
	return r;
}

void census_free(struct census *c)
{
	if (!c || !c->is_open)
		return;
	census_stop(c, NULL);
	pthread_cond_destroy(&c->wake);
	pthread_mutex_destroy(&c->lock);
	census_release(c);
}

size_t census_count(const struct census *c)
{
	return c->count;
}

const struct census_entry *census_entry(const struct census *c, size_t i)
{
	return i < c->count ? &c->entries[i] : NULL;
}

struct census_entry *census_entry_at(struct census *c, size_t i)
{
	return i < c->count ? &c->entries[i] : NULL;
}

bool census_any(struct census *c, bool (*match)(const struct census_entry *e, const void *key), const void *key)
{
	bool found = false;
	if (!c->is_open)
		return false;
	pthread_mutex_lock(&c->lock);
	for (size_t i = 0; i < c->count && !found; i++)
		found = match(&c->entries[i], key);
	pthread_mutex_unlock(&c->lock);
	return found;
}

size_t census_alive_now(struct census *c, bool (*match)(const struct census_entry *e, const void *key),
			const void *key)
{
	size_t n = 0;
	long newest = 0;
	if (!c->is_open)
		return 0;
	pthread_mutex_lock(&c->lock);
	for (size_t i = 0; i < c->count; i++)
		newest = c->entries[i].last_seen_ms > newest ? c->entries[i].last_seen_ms : newest;
	for (size_t i = 0; i < c->count; i++)
		n += c->entries[i].last_seen_ms == newest && match(&c->entries[i], key);
	pthread_mutex_unlock(&c->lock);
	return n;
}

/* Drop the entries the pass at now_ms did not see (their sockets closed), after telling
 * fn; the rest are kept in order and the index is rebuilt. */
size_t census_forget_unseen(struct census *c, long now_ms,
			    void (*fn)(const struct census_entry *e, void *ctx), void *ctx)
{
	size_t kept = 0, gone = 0;
	if (!c->is_open)
		return 0;
	pthread_mutex_lock(&c->lock);
	for (size_t i = 0; i < c->count; i++) {
		if (c->entries[i].last_seen_ms < now_ms) {
			if (fn)
				fn(&c->entries[i], ctx);
			gone++;
			continue;
		}
		c->entries[kept++] = c->entries[i];
	}
	c->count = kept;
	if (gone && c->slots) {
		memset(c->slots, 0, c->nslots * sizeof *c->slots);
		for (size_t i = 0; i < kept; i++)
			*index_slot(c, &c->entries[i]) = (uint32_t)(i + 1);
	}
	pthread_mutex_unlock(&c->lock);
	return gone;
}
