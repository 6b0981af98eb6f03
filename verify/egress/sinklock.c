/* sinklock.c - see sinklock.h */
#include "egress/sinklock.h"
#include "core/clock.h"

#include <errno.h>
#include <stdbool.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static int lock_path(char *buf, size_t cap, struct bv_error *err)
{
	const char *explicit = getenv("BOTTLE_VERIFY_LOCK");
	const char *run = getenv("XDG_RUNTIME_DIR");
	const char *home = getenv("HOME");
	int n;
	if (explicit && explicit[0])
		n = snprintf(buf, cap, "%s", explicit);
	else if (run && run[0] == '/')
		n = snprintf(buf, cap, "%s/bottle-verify.lock", run);
	else if (home && home[0] == '/') {
		n = snprintf(buf, cap, "%s/.cache", home);
		if (n > 0 && (size_t)n < cap)
			mkdir(buf, 0700); /* may exist; open below says if it is unusable */
		n = snprintf(buf, cap, "%s/.cache/bottle-verify.lock", home);
	} else
		return bv_error_set(err, ENOENT, "no place for the sink lock: set BOTTLE_VERIFY_LOCK, XDG_RUNTIME_DIR or HOME");
	if (n < 0 || (size_t)n >= cap)
		return bv_error_set(err, ENAMETOOLONG, "sink lock path too long");
	return 0;
}

int sinklock_take(int timeout_ms, struct bv_error *err)
{
	char path[4096];
	int r = lock_path(path, sizeof path, err);
	if (r < 0)
		return r;
	int fd = open(path, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0)
		return bv_error_errno(err, errno, "sink lock %s", path);
	long end = bv_now_ms() + timeout_ms;
	bool said = false;
	while (flock(fd, LOCK_EX | LOCK_NB) < 0) {
		if (errno != EWOULDBLOCK && errno != EINTR) {
			int e = errno;
			close(fd);
			return bv_error_errno(err, e, "sink lock %s", path);
		}
		if (bv_now_ms() >= end) {
			close(fd);
			return bv_error_set(err, ETIMEDOUT, "another bottle-verify held the sinks (%s) for over %d ms", path, timeout_ms);
		}
		if (!said)
			fprintf(stderr, "bottle-verify: waiting for another egress run's sinks (%s)\n", path);
		said = true;
		usleep(50 * 1000);
	}
	return fd;
}

void sinklock_release(int fd)
{
	if (fd >= 0)
		close(fd);
}
