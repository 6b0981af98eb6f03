/* The stopper: forked before confinement, it runs `SMOLVM machine stop --name NAME` once
 * when asked and says how that went; unasked, it ends with the watch's pipe. */
#include <criterion/criterion.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <fcntl.h>
#include <unistd.h>

#include "watch/cli.h"
#include "watch/stopper.h"

static char dir[] = "/tmp/bv-stopper.XXXXXX";
static char script[256], argv_log[256];

/* A stand-in smolvm: logs its argv, says something on stderr, exits with $1 of its body. */
static void make_smolvm(int status)
{
	cr_assert_not_null(mkdtemp(dir));
	snprintf(script, sizeof script, "%s/smolvm", dir);
	snprintf(argv_log, sizeof argv_log, "%s/argv", dir);
	FILE *f = fopen(script, "w");
	cr_assert_not_null(f);
	fprintf(f, "#!/bin/sh\necho \"$*\" > %s\necho 'stop said this' >&2\nexit %d\n", argv_log, status);
	fclose(f);
	chmod(script, 0700);
}

static void cleanup(void)
{
	unlink(script);
	unlink(argv_log);
	rmdir(dir);
}

static void wait_answer(struct stopper *s)
{
	for (int i = 0; i < 500 && !stopper_answered(s); i++)
		usleep(10 * 1000);
	cr_assert(s->answered, "no answer within 5 s");
}

Test(stopper, asked_it_runs_machine_stop_with_the_name_and_says_it_exited_0, .fini = cleanup)
{
	struct stopper s;
	struct bv_error err = { 0 };
	make_smolvm(0);
	cr_assert_eq(stopper_start(&s, script, "bottle-1", &err), 0, "%s", err.msg);
	cr_assert_eq(stopper_ask(&s), 0);
	wait_answer(&s);
	cr_assert(s.result.ran && s.result.exited);
	cr_assert_eq(s.result.status, 0);
	char line[128] = "";
	FILE *f = fopen(argv_log, "r");
	cr_assert_not_null(f);
	cr_assert_not_null(fgets(line, sizeof line, f));
	fclose(f);
	cr_assert_str_eq(line, "machine stop --name bottle-1\n");
	stopper_close(&s);
	waitpid(s.pid, NULL, 0);
}

Test(stopper, a_failed_stop_says_its_status_and_what_it_printed, .fini = cleanup)
{
	struct stopper s;
	struct bv_error err = { 0 };
	make_smolvm(3);
	cr_assert_eq(stopper_start(&s, script, "b", &err), 0, "%s", err.msg);
	stopper_ask(&s);
	wait_answer(&s);
	cr_assert(s.result.ran && s.result.exited);
	cr_assert_eq(s.result.status, 3);
	cr_assert(strstr(s.result.said, "stop said this"), "said: %s", s.result.said);
	stopper_close(&s);
	waitpid(s.pid, NULL, 0);
}

Test(stopper, a_smolvm_that_cannot_run_is_not_a_stop)
{
	struct stopper s;
	struct bv_error err = { 0 };
	cr_assert_eq(stopper_start(&s, "/nonexistent/smolvm", "b", &err), 0, "%s", err.msg);
	stopper_ask(&s);
	wait_answer(&s);
	cr_assert_not(s.result.ran && s.result.exited && s.result.status == 0);
	stopper_close(&s);
	waitpid(s.pid, NULL, 0);
}

Test(stopper, unasked_the_helper_ends_on_the_watch_s_goodbye, .fini = cleanup)
{
	struct stopper s;
	struct bv_error err = { 0 };
	int st = -1;
	make_smolvm(0);
	cr_assert_eq(stopper_start(&s, script, "b", &err), 0, "%s", err.msg);
	stopper_close(&s);
	cr_assert_eq(waitpid(s.pid, &st, 0), s.pid);
	cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	cr_assert_neq(access(argv_log, F_OK), 0, "nothing was stopped");
}

Test(stopper, a_watch_that_dies_unasked_gets_the_machine_stopped, .fini = cleanup)
{
	struct stopper s;
	struct bv_error err = { 0 };
	int st = -1;
	make_smolvm(0);
	cr_assert_eq(stopper_start(&s, script, "b", &err), 0, "%s", err.msg);
	close(s.ask_fd); /* what a killed watch leaves: the pipe closed, no goodbye */
	cr_assert_eq(waitpid(s.pid, &st, 0), s.pid);
	cr_assert_eq(access(argv_log, F_OK), 0, "the machine was stopped (fail closed)");
	close(s.answer_fd);
}

Test(stopper, a_zeroed_stopper_asks_nothing_and_closes_nothing)
{
	struct stopper s;
	memset(&s, 0, sizeof s);
	cr_assert_eq(stopper_ask(&s), -EBADF);
	cr_assert_not(stopper_answered(&s));
	stopper_close(&s);
	cr_assert_neq(fcntl(0, F_GETFD), -1, "fd 0 is still open");
}

Test(watch_cli, the_command_is_the_first_argument_not_an_option_or_the_format_s_value)
{
	char *a[] = { "bottle-verify", "--format", "json", "watch", "b", NULL };
	char *b[] = { "bottle-verify", "db", "watch", NULL };
	char *c[] = { "bottle-verify", "--format", "watch", "all", NULL };
	char *d[] = { "bottle-verify", "--help", NULL };
	cr_assert(watch_is_command(5, a));
	cr_assert_not(watch_is_command(3, b));
	cr_assert_not(watch_is_command(4, c));
	cr_assert_not(watch_is_command(2, d));
}
