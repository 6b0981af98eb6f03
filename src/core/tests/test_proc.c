/* spawn_capture_watch: a caller that has its evidence ends the child early. */
#include <criterion/criterion.h>
#include <signal.h>
#include <string.h>

#include "core/clock.h"
#include "core/proc.h"

static bool stop_on_third(void *ctx)
{
	int *calls = ctx;
	return ++*calls >= 3;
}

static bool never(void *ctx)
{
	(void)ctx;
	return false;
}

Test(proc, a_watch_that_says_stop_kills_the_child_early)
{
	char *argv[] = { "sleep", "10", NULL };
	int calls = 0;
	struct spawn_watch w = { .stop = stop_on_third, .ctx = &calls, .every_ms = 10 };
	struct spawn_result res;
	struct bv_error err = { 0 };
	long t0 = bv_now_ms();
	cr_assert_eq(spawn_capture_watch(argv, 20000, 4096, &w, &res, &err), 0, "%s", err.msg);
	cr_assert(res.stopped);
	cr_assert_not(res.timed_out);
	cr_assert(!res.exited && res.status == SIGKILL, "killed, not finished");
	cr_assert_eq(calls, 3);
	cr_assert_lt(bv_now_ms() - t0, 10000, "the watch, not the child, ended it");
	spawn_result_free(&res);
}

Test(proc, a_watch_that_never_says_stop_lets_the_child_finish)
{
	char *argv[] = { "sh", "-c", "echo hi", NULL };
	struct spawn_watch w = { .stop = never, .every_ms = 10 };
	struct spawn_result res;
	struct bv_error err = { 0 };
	cr_assert_eq(spawn_capture_watch(argv, 20000, 4096, &w, &res, &err), 0, "%s", err.msg);
	cr_assert_not(res.stopped);
	cr_assert(res.exited && res.status == 0);
	cr_assert_str_eq(res.out, "hi\n");
	spawn_result_free(&res);
}
