/* follow.c - see follow.h.
 * The file being read is held open, so a rename to ".1" never takes unread lines away: it
 * is drained to its end before the name is looked at again. A file is known by dev+ino,
 * never by name; names are opened without following symlinks and must be regular files.
 * Work per poll is bounded by max_bytes and memory by the struct: one chunk on the stack,
 * one line buffer in the follower, lines past it cut and the rest skipped. */
#include "watch/follow.h"

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define READ_CHUNK (64 * 1024)

/* One poll's arguments, handed down together. */
struct poll {
	struct follow *f;
	follow_line_fn fn;
	void *ctx;
	size_t budget;           /* bytes still allowed this poll */
	struct bv_error *err;
};

static bool same_file(const struct stat *st, dev_t dev, ino_t ino)
{
	return st->st_dev == dev && st->st_ino == ino;
}

/* Open one name for reading: 0 with *fd set, or *fd = -1 when it does not exist;
 * -ELOOP for a symlink, -EINVAL for anything but a regular file (O_NONBLOCK: a FIFO
 * planted there must not block the open), -errno. */
static int open_reg(const char *path, int *fd, struct stat *st, struct bv_error *err)
{
	*fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK);
	if (*fd < 0 && errno == ENOENT)
		return 0;
	if (*fd < 0 && errno == ELOOP)
		return bv_error_set(err, ELOOP, "%s is a symlink: not followed", path);
	if (*fd < 0)
		return bv_error_errno(err, errno, "open %s", path);
	int r = 0;
	if (fstat(*fd, st) < 0)
		r = bv_error_errno(err, errno, "stat %s", path);
	else if (!S_ISREG(st->st_mode))
		r = bv_error_set(err, EINVAL, "%s is not a regular file", path);
	if (r < 0) {
		close(*fd);
		*fd = -1;
	}
	return r;
}

/* Read fd (of st) from its first byte on. */
static void hold(struct follow *f, int fd, const struct stat *st)
{
	if (f->fd >= 0)
		close(f->fd);
	f->fd = fd;
	f->dev = st->st_dev;
	f->ino = st->st_ino;
	f->off = 0;
	f->len = 0;
	f->skip = false;
}

/* Go on from size, the held file's end. Starting one byte before it and skipping through
 * the first '\n' drops a line the end cuts, so only whole lines are passed. */
static void resync(struct follow *f, off_t size)
{
	f->off = size > 0 ? size - 1 : 0;
	f->skip = size > 0;
	f->len = 0;
}

static void emit(struct poll *p, bool overlong)
{
	struct follow *f = p->f;
	f->line[f->len] = '\0';
	f->n_lines++;
	f->n_overlong += overlong;
	p->fn(f->line, f->len, overlong, p->ctx);
	f->len = 0;
}

/* Bytes of one line (no '\n' among them). A line is passed cut as soon as it is known to
 * be too long, so an endless line costs no more than a short one. */
static void put(struct poll *p, const char *buf, size_t n)
{
	struct follow *f = p->f;
	size_t room = FOLLOW_LINE_MAX - f->len;
	memcpy(f->line + f->len, buf, n < room ? n : room);
	f->len += n < room ? n : room;
	if (n > room) {
		emit(p, true);
		f->skip = true;
	}
}

static void feed(struct poll *p, const char *buf, size_t n)
{
	struct follow *f = p->f;
	while (n > 0) {
		const char *nl = memchr(buf, '\n', n);
		size_t take = nl ? (size_t)(nl - buf) : n;
		if (!f->skip)
			put(p, buf, take);
		if (nl && !f->skip)
			emit(p, false);
		if (nl)
			f->skip = false;
		take += nl != NULL;
		buf += take;
		n -= take;
	}
}

/* Read the held file to its end, or until the budget is spent: 0 at its end, 1 when the
 * budget stopped it with more there, -ESTALE when it shrank below what was read. */
static int drain(struct poll *p)
{
	struct follow *f = p->f;
	struct stat st;
	char buf[READ_CHUNK];
	if (fstat(f->fd, &st) < 0)
		return bv_error_errno(p->err, errno, "stat %s", f->path);
	if (st.st_size < f->off) {
		long long was = (long long)f->off;
		resync(f, st.st_size);
		f->n_losses++;
		return bv_error_set(p->err, ESTALE, "%s shrank to %lld bytes after %lld were read (truncated or replaced): lines were lost",
				    f->path, (long long)st.st_size, was);
	}
	for (;;) {
		if (p->budget == 0)
			return fstat(f->fd, &st) == 0 && st.st_size > f->off;
		size_t want = p->budget < READ_CHUNK ? p->budget : READ_CHUNK;
		ssize_t got = pread(f->fd, buf, want, f->off);
		if (got < 0 && errno == EINTR)
			continue;
		if (got < 0)
			return bv_error_errno(p->err, errno, "read %s", f->path);
		if (got == 0)
			return 0;
		f->off += got;
		f->n_bytes += (uint64_t)got;
		p->budget -= (size_t)got;
		feed(p, buf, (size_t)got);
	}
}

/* The held file became ".1" and fd is the new live file. Switch only once the held file
 * is drained: the writer may have appended to it after our last read, before the rename. */
static int rotated(struct poll *p, int fd, const struct stat *st)
{
	struct follow *f = p->f;
	struct stat held;
	if (fstat(f->fd, &held) < 0) {
		close(fd);
		return bv_error_errno(p->err, errno, "stat %s", f->rot);
	}
	if (held.st_size > f->off) {
		close(fd);
		return 1;
	}
	if (!f->skip && f->len > 0)
		emit(p, false);
	hold(f, fd, st);
	f->n_rotations++;
	return 1;
}

/* The held file is drained: what does path name now? 0: it, or nothing (keep the held
 * file); 1: read on (rotated); -ESTALE: lines lost, re-synced to the live file's end. */
static int look(struct poll *p)
{
	struct follow *f = p->f;
	struct stat st, rst;
	int fd;
	int r = open_reg(f->path, &fd, &st, p->err);
	if (r < 0 || fd < 0)
		return r;
	if (same_file(&st, f->dev, f->ino)) {
		close(fd);
		return 0;
	}
	int lr = lstat(f->rot, &rst);
	if (lr == 0 && same_file(&rst, f->dev, f->ino))
		return rotated(p, fd, &st);
	if (lr < 0 && errno != ENOENT) {
		int e = errno;
		close(fd);
		return bv_error_errno(p->err, e, "stat %s", f->rot);
	}
	hold(f, fd, &st);
	resync(f, st.st_size);
	f->n_losses++;
	return bv_error_set(p->err, ESTALE, "%s is a new file and %s is not the one being read (rotated twice between two polls, or replaced): lines were lost",
			    f->path, f->rot);
}

/* Nothing held yet (the log was missing at open): take the first file that appeared. A
 * ".1" that was not there at open is that file, rotated away already; it comes first. */
static int find_first(struct follow *f, struct bv_error *err)
{
	struct stat st;
	int fd = -1, r = 0;
	if (lstat(f->rot, &st) == 0 && !(f->rot_known && same_file(&st, f->rot_dev, f->rot_ino)))
		r = open_reg(f->rot, &fd, &st, err);
	if (r == 0 && fd < 0)
		r = open_reg(f->path, &fd, &st, err);
	if (r < 0 || fd < 0)
		return r;
	hold(f, fd, &st);
	return 1;
}

int follow_open(struct follow *f, const char *path, bool at_end, struct bv_error *err)
{
	struct stat st;
	int fd;
	memset(f, 0, sizeof *f);
	f->fd = -1;
	int n = snprintf(f->rot, sizeof f->rot, "%s.1", path);
	if (n < 0 || (size_t)n >= sizeof f->rot)
		return bv_error_set(err, ENAMETOOLONG, "log path too long: %s", path);
	memcpy(f->path, path, strlen(path) + 1);
	int r = open_reg(f->path, &fd, &st, err);
	if (r < 0)
		return r;
	if (fd >= 0) {
		hold(f, fd, &st);
		if (at_end)
			resync(f, st.st_size);
	} else if (lstat(f->rot, &st) == 0) {
		f->rot_known = true;
		f->rot_dev = st.st_dev;
		f->rot_ino = st.st_ino;
	}
	f->on = true;
	return 0;
}

int follow_poll(struct follow *f, size_t max_bytes, follow_line_fn fn, void *ctx,
		struct bv_error *err)
{
	struct poll p = { .f = f, .fn = fn, .ctx = ctx, .budget = max_bytes ? max_bytes : SIZE_MAX, .err = err };
	if (!f->on)
		return bv_error_set(err, EBADF, "the log follower is not open");
	if (f->fd < 0) {
		int r = find_first(f, err);
		if (r <= 0)
			return r;
	}
	/* Ends: look returns 1 only after a rotation or more bytes in the held file, and
	 * both are bounded (one rename per new file; the budget). */
	for (;;) {
		int r = drain(&p);
		if (r != 0)
			return r;
		r = look(&p);
		if (r <= 0)
			return r;
	}
}

void follow_close(struct follow *f)
{
	if (f->on && f->fd >= 0)
		close(f->fd);
	f->on = false;
	f->fd = -1;
}
