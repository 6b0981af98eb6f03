/* confine.c - see confine.h */
#include "egress/confine.h"

#include <errno.h>
#include <fcntl.h>
#include <seccomp.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

void (*confine_test_hook)(void);

#include <valgrind/valgrind.h>

#include "core/sanitizer.h"

/* What the parser needs and nothing more. */
static int install_filter(void)
{
	static const int allowed[] = { SCMP_SYS(read), SCMP_SYS(write), SCMP_SYS(exit),
				       SCMP_SYS(exit_group), SCMP_SYS(brk), SCMP_SYS(mmap),
				       SCMP_SYS(munmap), SCMP_SYS(mremap), SCMP_SYS(madvise),
				       SCMP_SYS(rt_sigreturn) };
	/* valgrind cannot run a seccomp filter; a valgrind run (make valgrind) parses
	 * unconfined, and nothing in the guest's report can make us run under valgrind. */
	if (RUNNING_ON_VALGRIND)
		return 0;
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
		return -1;
	scmp_filter_ctx ctx = seccomp_init(SCMP_ACT_KILL_PROCESS);
	if (!ctx)
		return -1;
	int r = 0;
	for (size_t i = 0; i < sizeof allowed / sizeof allowed[0] && r == 0; i++)
		r = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, allowed[i], 0);
#ifdef BV_ASAN
	/* ASan queries the signal stack before every noreturn call (sanitize builds only). */
	if (r == 0)
		r = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(sigaltstack), 0);
#endif
	if (r == 0)
		r = seccomp_load(ctx);
	seccomp_release(ctx);
	return r;
}

static int read_full(int fd, void *buf, size_t n)
{
	size_t got = 0;
	while (got < n) {
		ssize_t r = read(fd, (char *)buf + got, n - got);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return -1;
		got += (size_t)r;
	}
	return 0;
}

static int write_full(int fd, const void *buf, size_t n)
{
	size_t done = 0;
	while (done < n) {
		ssize_t r = write(fd, (const char *)buf + done, n - done);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return -1;
		done += (size_t)r;
	}
	return 0;
}

/* Leave without running any exit-time code (a sanitizer runtime's exit hooks would make
 * syscalls that the filter rightly kills). */
static void __attribute__((noreturn)) child_exit(int code)
{
	for (;;)
		syscall(SYS_exit_group, code);
}

/* Child: read the report from in_fd, parse, write status + results (+ message) to out_fd. */
static void __attribute__((noreturn)) child(int in_fd, int out_fd, size_t len, const struct plan *plan,
					    struct probe_result *results)
{
	if (install_filter() < 0)
		child_exit(90);
	if (confine_test_hook)
		confine_test_hook();
	char *text = malloc(len + 1);
	struct bv_error err = { 0 };
	if (!text || read_full(in_fd, text, len) < 0)
		child_exit(91);
	int r = probe_report_parse(text, len, plan, results, &err);
	if (write_full(out_fd, &r, sizeof r) < 0 ||
	    (r == 0 && write_full(out_fd, results, plan->n_probes * sizeof *results) < 0) ||
	    (r < 0 && write_full(out_fd, err.msg, sizeof err.msg) < 0))
		child_exit(92);
	child_exit(0);
}

static int send_all(int fd, const char *buf, size_t n)
{
	size_t done = 0;
	while (done < n) {
		ssize_t r = send(fd, buf + done, n - done, MSG_NOSIGNAL);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return -1; /* the child died: its status says why */
		done += (size_t)r;
	}
	return 0;
}

static int read_answer(int fd, const struct plan *plan, struct probe_result *results,
		       struct bv_error *err)
{
	int r;
	if (read_full(fd, &r, sizeof r) < 0)
		return bv_error_set(err, ECHILD, "the confined report parser gave no answer");
	if (r < 0) {
		struct bv_error child_err = { 0 };
		if (read_full(fd, child_err.msg, sizeof child_err.msg) < 0)
			return bv_error_set(err, ECHILD, "the confined report parser gave no reason");
		child_err.msg[sizeof child_err.msg - 1] = '\0';
		return bv_error_set(err, EINVAL, "%s", child_err.msg);
	}
	if (read_full(fd, results, plan->n_probes * sizeof *results) < 0)
		return bv_error_set(err, ECHILD, "the confined report parser's answer is short");
	/* Pointers are rebuilt here, never taken from the child. */
	for (size_t i = 0; i < plan->n_probes; i++)
		results[i].probe = &plan->probes[i];
	return 0;
}

int probe_report_parse_confined(const char *text, size_t len, const struct plan *plan,
				struct probe_result *results, struct bv_error *err)
{
	int in[2], out[2];
	if (len > REPORT_MAX_BYTES)
		return bv_error_set(err, EINVAL, "probe report too large");
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, in) < 0)
		return bv_error_errno(err, errno, "socketpair");
	if (pipe2(out, O_CLOEXEC) < 0) {
		close(in[0]), close(in[1]);
		return bv_error_errno(err, errno, "pipe");
	}
	pid_t pid = fork();
	if (pid == 0) {
		close(in[0]), close(out[0]);
		child(in[1], out[1], len, plan, results);
	}
	close(in[1]), close(out[1]);
	int r = pid < 0 ? bv_error_errno(err, errno, "fork") : 0;
	if (r == 0 && send_all(in[0], text, len) < 0) {
		/* The child may be alive and waiting for the rest: it must not be waited on. */
		kill(pid, SIGKILL);
		r = bv_error_errno(err, errno ? errno : EPIPE, "send the report to its parser");
	} else if (r == 0) {
		/* The whole report is out: the parser sees its end, whatever it reads. */
		shutdown(in[0], SHUT_WR);
		r = read_answer(out[0], plan, results, err);
	}
	close(in[0]), close(out[0]);
	int st = 0;
	while (pid > 0 && waitpid(pid, &st, 0) < 0 && errno == EINTR)
		;
	if (pid > 0 && (!WIFEXITED(st) || WEXITSTATUS(st) != 0))
		r = bv_error_set(err, ECHILD, "the confined report parser died (%s %d): its answer is not used",
				 WIFSIGNALED(st) ? "signal" : "exit", WIFSIGNALED(st) ? WTERMSIG(st) : WEXITSTATUS(st));
	return r;
}
