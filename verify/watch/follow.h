/* follow.h - read a log that another process appends to, a poll at a time: each poll reads
 * only the bytes added since the last, follows one rename-to-".1" rotation, and says when
 * lines were lost (the file replaced, truncated, or rotated twice between polls). */
#ifndef BV_VERIFY_WATCH_FOLLOW_H
#define BV_VERIFY_WATCH_FOLLOW_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "core/error.h"

#define FOLLOW_LINE_MAX 4096           /* longer lines are passed cut, flagged overlong */

/* Fixed-size state: nothing is allocated, whatever the writer writes. A zeroed follower
 * holds nothing (follow_close is safe on it); the counters are the caller's to read. */
struct follow {
	uint64_t n_bytes;        /* bytes read */
	uint64_t n_lines;        /* calls to the line function, overlong lines included */
	uint64_t n_overlong;     /* lines passed cut to FOLLOW_LINE_MAX */
	uint64_t n_rotations;    /* rotations followed (the held file became ".1") */
	uint64_t n_losses;       /* -ESTALE returned: lines lost */
	/* the reader's state */
	bool on;                 /* opened and not closed: fd is ours */
	int fd;                  /* the file being read, -1 while there is none yet */
	dev_t dev;
	ino_t ino;               /* fd's identity, to tell it from what path names now */
	off_t off;               /* bytes of fd consumed */
	bool rot_known;          /* fd < 0 only: ".1" was there at open, as rot_dev/rot_ino */
	dev_t rot_dev;
	ino_t rot_ino;
	bool skip;               /* dropping bytes through the next '\n' (a cut or re-synced line) */
	size_t len;              /* bytes of the current line in line */
	char path[PATH_MAX];
	char rot[PATH_MAX];      /* path + ".1" */
	char line[FOLLOW_LINE_MAX + 1];
};

/* Start following path. at_end: start at the file's current end (lines already there are not
 * read; a line the end cuts is skipped through its '\n'); else from its beginning. A missing
 * file is fine: it is followed from its first byte when it appears (and a ".1" that was not
 * there at open is read first: the file appeared and rotated between two polls).
 * 0; -ELOOP for a symlink, -EINVAL when not a regular file, -ENAMETOOLONG, -errno otherwise,
 * err set (f is then closed). path's rotated name is path + ".1". */
int follow_open(struct follow *f, const char *path, bool at_end, struct bv_error *err);

/* One line, without its '\n', NUL-terminated at line[len] (it may hold other NULs). */
typedef void (*follow_line_fn)(const char *line, size_t len, bool overlong, void *ctx);

/* Read what was appended since the last poll, at most max_bytes of it (0: no cap): every complete
 * line goes to fn (a line longer than FOLLOW_LINE_MAX is passed once, cut to FOLLOW_LINE_MAX
 * bytes, overlong=true, and the rest of it up to its '\n' skipped). A last line without '\n'
 * is kept for the next poll; in a file that rotated away it is passed as it stands, since
 * nothing appends to ".1". The rotated file is drained before the new one is read.
 * Returns 1 when max_bytes stopped it with more to read, 0 when it caught up, -ESTALE when
 * lines were lost (the followed file shrank, or the live file is a new one and ".1" is not
 * the file we were reading: rotated twice, or replaced) - after -ESTALE the follower has
 * re-synced to the live file's current end and the next poll goes on from there; -EBADF on
 * a follower not open; other -errno (-ELOOP, -EINVAL as follow_open) with err set, the
 * follower unchanged (the next poll tries again). */
int follow_poll(struct follow *f, size_t max_bytes, follow_line_fn fn, void *ctx,
		struct bv_error *err);

/* Release the file. Safe on a zeroed or closed follower, twice too; counters are kept. */
void follow_close(struct follow *f);

#endif
