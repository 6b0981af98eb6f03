/* bottle-verify's own confinement: what it may still do, and what kills it. */
#include <criterion/criterion.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "selfconfine.h"

/* Run body in a confined child; its wait status. */
static int confined(void (*body)(void))
{
	pid_t pid = fork();
	if (pid == 0) {
		if (selfconfine(NULL) < 0)
			_exit(90);
		body();
		_exit(0);
	}
	int st = 0;
	waitpid(pid, &st, 0);
	return st;
}

static void reads_and_prints(void)
{
	char buf[4096] = "";
	FILE *f = fopen("/proc/self/status", "re");
	size_t n = f ? fread(buf, 1, sizeof buf - 1, f) : 0;
	buf[n] = '\0';
	if (!strstr(buf, "Seccomp:\t2"))
		_exit(91);
	printf("still printing\n");
	fflush(stdout);
}

static void opens_a_socket(void)
{
	socket(AF_INET, SOCK_STREAM, 0);
}

static void runs_a_program(void)
{
	execl("/bin/true", "true", (char *)NULL);
}

Test(selfconfine, reading_judging_and_printing_still_work)
{
	int st = confined(reads_and_prints);
	cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0, "status %d", st);
}

Test(selfconfine, a_socket_kills_it)
{
	int st = confined(opens_a_socket);
	cr_assert(WIFSIGNALED(st) && WTERMSIG(st) == SIGSYS, "status %d", st);
}

Test(selfconfine, execve_kills_it)
{
	int st = confined(runs_a_program);
	cr_assert(WIFSIGNALED(st) && WTERMSIG(st) == SIGSYS, "status %d", st);
}
