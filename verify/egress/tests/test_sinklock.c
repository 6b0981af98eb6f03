/* The sink lock: one egress run's sinks at a time; a second run waits, then gives up. */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include "egress/sinklock.h"

static char path[64];

static void use_tmp_lock(void)
{
	snprintf(path, sizeof path, "/tmp/bv-sinklock.%d", (int)getpid());
	setenv("BOTTLE_VERIFY_LOCK", path, 1);
}

static void drop_tmp_lock(void)
{
	unlink(path);
}

/* In a child (flock is per open file, so a second open in this process would also block). */
static int child_take(int timeout_ms)
{
	pid_t pid = fork();
	if (pid == 0) {
		struct bv_error err = { 0 };
		int fd = sinklock_take(timeout_ms, &err);
		_exit(fd >= 0 ? 0 : fd == -ETIMEDOUT ? 3 : 4);
	}
	int st = 0;
	waitpid(pid, &st, 0);
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

Test(sinklock, a_held_lock_makes_the_second_run_time_out, .init = use_tmp_lock, .fini = drop_tmp_lock)
{
	struct bv_error err = { 0 };
	int fd = sinklock_take(1000, &err);
	cr_assert_geq(fd, 0, "%s", err.msg);
	cr_assert_eq(child_take(150), 3, "the second run must not get the sinks while the first holds them");
	sinklock_release(fd);
	cr_assert_eq(child_take(150), 0, "released: the next run gets them");
}

Test(sinklock, a_symlinked_lock_file_is_refused, .init = use_tmp_lock, .fini = drop_tmp_lock)
{
	cr_assert_eq(symlink("/tmp/elsewhere-bv", path), 0);
	struct bv_error err = { 0 };
	cr_assert_eq(sinklock_take(100, &err), -ELOOP);
}
