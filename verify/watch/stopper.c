/* stopper.c - see stopper.h. The helper keeps nothing of the watch but its two pipe ends:
 * every other descriptor is closed, so a leak seen by the watch cannot pass through it. */
#include "watch/stopper.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/clock.h"
#include "core/proc.h"

/* Close every descriptor but 0-2 and keep (the helper's two pipe ends). */
static void close_others(int keep1, int keep2)
{
	DIR *d = opendir("/proc/self/fd");
	if (!d)
		return;
	int self = dirfd(d);
	struct dirent *de;
	while ((de = readdir(d))) {
		int fd = atoi(de->d_name);
		if (de->d_name[0] != '.' && fd > 2 && fd != keep1 && fd != keep2 && fd != self)
			close(fd);
	}
	closedir(d);
}

/* The signals that end the watch (a terminal's ^C reaches the whole group) leave the
 * helper be: the watch's orderly end, or its death, is what ends it. */
static void helper_signals(void)
{
	struct sigaction ign = { .sa_handler = SIG_IGN };
	sigemptyset(&ign.sa_mask);
	sigaction(SIGINT, &ign, NULL);
	sigaction(SIGTERM, &ign, NULL);
	sigaction(SIGHUP, &ign, NULL);
}

static void helper_run(int ask, int answer, const char *smolvm, const char *name)
{
	char byte = 0;
	struct stopper_result res = { 0 };
	struct spawn_result sr = { 0 };
	struct bv_error err = { 0 };
	ssize_t n;
	while ((n = read(ask, &byte, 1)) < 0 && errno == EINTR)
		;
	if (n == 1 && byte == STOPPER_BYE)
		_exit(0); /* the watch ended in order, without a finding to stop for */
	/* asked, or the pipe closed without a goodbye: the watch died (killed, crashed) and the
	 * bottle would run unwatched, so it is stopped (fail closed) */
	char *argv[] = { (char *)smolvm, "machine", "stop", "--name", (char *)name, NULL };
	long t0 = bv_now_ms();
	int r = spawn_capture(argv, STOPPER_TIMEOUT_MS, 4096, &sr, &err);
	res.took_ms = bv_now_ms() - t0;
	res.ran = r == 0;
	if (r == 0) {
		res.exited = sr.exited && !sr.timed_out;
		res.timed_out = sr.timed_out;
		res.status = sr.status;
		snprintf(res.said, sizeof res.said, "%s", sr.errout_len ? sr.errout : sr.out ? sr.out : "");
	} else {
		snprintf(res.said, sizeof res.said, "%.*s", (int)sizeof res.said - 1, err.msg);
	}
	spawn_result_free(&sr);
	if (write(answer, &res, sizeof res) < 0)
		_exit(1);
	_exit(0);
}

int stopper_start(struct stopper *s, const char *smolvm, const char *name, struct bv_error *err)
{
	int ask[2], answer[2];
	memset(s, 0, sizeof *s);
	s->ask_fd = s->answer_fd = -1;
	if (pipe2(ask, O_CLOEXEC) < 0)
		return bv_error_errno(err, errno, "stopper: pipe");
	if (pipe2(answer, O_CLOEXEC) < 0) {
		int e = errno;
		close(ask[0]);
		close(ask[1]);
		return bv_error_errno(err, e, "stopper: pipe");
	}
	pid_t pid = fork();
	if (pid == 0) {
		helper_signals();
		close_others(ask[0], answer[1]);
		helper_run(ask[0], answer[1], smolvm, name);
	}
	int e = errno;
	close(ask[0]);
	close(answer[1]);
	if (pid < 0) {
		close(ask[1]);
		close(answer[0]);
		return bv_error_errno(err, e, "stopper: fork");
	}
	fcntl(answer[0], F_SETFL, O_NONBLOCK);
	s->pid = pid;
	s->ask_fd = ask[1];
	s->answer_fd = answer[0];
	return 0;
}

int stopper_ask(struct stopper *s)
{
	if (s->pid <= 0 || s->ask_fd < 0)
		return -EBADF;
	if (s->asked)
		return 0;
	s->asked = true;
	ssize_t n;
	while ((n = write(s->ask_fd, (char[]){ STOPPER_STOP }, 1)) < 0 && errno == EINTR)
		;
	return n == 1 ? 0 : -errno;
}

bool stopper_answered(struct stopper *s)
{
	if (s->answered || !s->asked || s->pid <= 0 || s->answer_fd < 0)
		return s->answered;
	ssize_t n = read(s->answer_fd, &s->result, sizeof s->result);
	if (n == (ssize_t)sizeof s->result) {
		s->result.said[sizeof s->result.said - 1] = '\0';
		s->answered = true;
	} else if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR)) {
		memset(&s->result, 0, sizeof s->result);
		snprintf(s->result.said, sizeof s->result.said, "the stopper helper died without an answer");
		s->answered = true;
	}
	return s->answered;
}

void stopper_close(struct stopper *s)
{
	if (s->pid <= 0)
		return; /* zeroed: its descriptors are not ours */
	if (s->ask_fd >= 0 && !s->asked) {
		/* a goodbye that is lost makes the helper read EOF and stop the machine: fail closed */
		ssize_t n = write(s->ask_fd, (char[]){ STOPPER_BYE }, 1);
		(void)n;
	}
	if (s->ask_fd >= 0)
		close(s->ask_fd);
	if (s->answer_fd >= 0)
		close(s->answer_fd);
	s->ask_fd = s->answer_fd = -1;
}
