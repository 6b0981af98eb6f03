/* transport.c - see transport.h */
#include "egress/transport.h"

#include <errno.h>
#include <stdbool.h>
#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "smolvm/cli.h"
#include "core/clock.h"

#define OUT_MAX (1u << 20)

extern char **environ;

/* In the child: enter the namespace (netns), wire stdin/stdout/stderr, exec. Exit codes
 * 120-122 say which step failed; they are outside bottle-probe's own (0, 64, 65, 70). */
static void __attribute__((noreturn)) child(const struct transport *t, int in_fd, int out_w, int err_w)
{
	char path[512];
	if (t->kind == TRANSPORT_NETNS) {
		transport_netns_path(t->netns, path, sizeof path);
		int ns = open(path, O_RDONLY | O_CLOEXEC);
		if (ns < 0 || setns(ns, CLONE_NEWNET) < 0)
			_exit(120);
	}
	if (dup2(in_fd, 0) < 0 || dup2(out_w, 1) < 0 || dup2(err_w, 2) < 0)
		_exit(121);
	/* Its own process group: at the deadline everything it started dies with it (a
	 * runner's QEMU must not outlive the run). */
	setpgid(0, 0);
	if (t->kind == TRANSPORT_CMD) {
		/* The runner is the operator's own program: it keeps our environment (PATH). */
		char *argv[] = { (char *)t->cmd, (char *)t->probe, NULL };
		execve(t->cmd, argv, environ);
		_exit(122);
	}
	char *argv[] = { (char *)t->probe, (char *)"-", NULL };
	char *envp[] = { NULL };
	execve(t->probe, argv, envp);
	_exit(122);
}

void transport_netns_path(const char *netns, char *out, size_t cap)
{
	snprintf(out, cap, netns[0] == '/' ? "%s" : "/run/netns/%s", netns);
}

static int drain(int fd, char *buf, size_t *len, size_t cap)
{
	char tmp[4096];
	ssize_t n = read(fd, tmp, sizeof tmp);
	if (n <= 0)
		return n == 0 || (errno != EAGAIN && errno != EINTR) ? 1 : 0;
	size_t keep = *len + (size_t)n > cap ? cap - *len : (size_t)n;
	memcpy(buf + *len, tmp, keep);
	*len += keep;
	return 0;
}

static int collect(int out_r, int err_r, struct spawn_result *res, int timeout_ms)
{
	long deadline = bv_now_ms() + timeout_ms;
	int open_fds = 2;
	struct pollfd p[2] = { { out_r, POLLIN, 0 }, { err_r, POLLIN, 0 } };
	while (open_fds > 0) {
		long left = deadline - bv_now_ms();
		if (left <= 0)
			return 1;
		if (poll(p, 2, (int)left) < 0 && errno != EINTR)
			return -errno;
		for (int i = 0; i < 2; i++) {
			if (p[i].fd < 0 || !p[i].revents)
				continue;
			int done = i == 0 ? drain(p[i].fd, res->out, &res->out_len, OUT_MAX)
					  : drain(p[i].fd, res->errout, &res->errout_len, 65536);
			if (done) {
				p[i].fd = -1;
				open_fds--;
			}
		}
	}
	return 0;
}

static int run_netns(const struct transport *t, const char *plan, size_t plan_len,
		     int timeout_ms, struct spawn_result *res, struct bv_error *err)
{
	int out[2], errp[2];
	memset(res, 0, sizeof *res);
	res->out = calloc(1, OUT_MAX + 1);
	res->errout = calloc(1, 65536 + 1);
	int in = memfd_create("bv-plan", MFD_CLOEXEC);
	if (!res->out || !res->errout || in < 0)
		return bv_error_set(err, ENOMEM, "transport set-up");
	if (write(in, plan, plan_len) != (ssize_t)plan_len || lseek(in, 0, SEEK_SET) < 0 ||
	    pipe2(out, O_CLOEXEC) < 0 || pipe2(errp, O_CLOEXEC) < 0) {
		close(in);
		return bv_error_errno(err, errno, "transport set-up");
	}
	pid_t pid = fork();
	if (pid == 0)
		child(t, in, out[1], errp[1]);
	close(in), close(out[1]), close(errp[1]);
	if (pid < 0) {
		close(out[0]), close(errp[0]);
		return bv_error_errno(err, errno, "fork the probe");
	}
	int timed_out = collect(out[0], errp[0], res, timeout_ms);
	close(out[0]), close(errp[0]);
	if (timed_out)
		kill(-pid, SIGKILL), kill(pid, SIGKILL);
	int st = 0;
	while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
		;
	res->timed_out = timed_out == 1;
	res->exited = WIFEXITED(st);
	res->status = WIFEXITED(st) ? WEXITSTATUS(st) : WTERMSIG(st);
	return 0;
}

/* The guest's copies are named per run (/tmp/bottle-probe.XXXXXX and .plan): a probe
 * still running from an earlier run that ended early (a killed `machine exec` need not end
 * the guest's process) cannot make the next copy fail on a busy file. bottle-probe
 * --remove deletes both once it has read the plan. */
#define GUEST_PREFIX "/tmp/bottle-probe"
#define SMOLVM_STEP_MS 60000

/* smolvm's `machine cp` lands a file 0644 unless --mode is given, which exists only from
 * 1.9.0 (docs/sim.md). So: --mode 700 where smolvm has it and the probe runs directly;
 * elsewhere the same exec makes it executable first, through the guest's /bin/sh (a
 * guest without one cannot be probed: the run is inconclusive, never ok). */
static bool cp_with_mode(const struct transport *t)
{
	return t->version && version_cp_has_mode(t->version);
}

static int copy_in(const struct transport *t, const char *src, const char *dst, bool mode,
		   struct bv_error *err)
{
	char to[300];
	int st;
	snprintf(to, sizeof to, "%s:%s", t->machine, dst);
	const char *plain[] = { t->smolvm, "machine", "cp", src, to, NULL };
	const char *moded[] = { t->smolvm, "machine", "cp", "--mode", "700", src, to, NULL };
	return smolvm_step(mode ? moded : plain, SMOLVM_STEP_MS, &st, err);
}

static int run_smolvm(const struct transport *t, const char *plan, size_t plan_len, int timeout_ms,
		      const struct spawn_watch *w, struct spawn_result *res, struct bv_error *err)
{
	char tmpl[] = "/tmp/bv-plan.XXXXXX", ok[8], probe[64], gplan[80];
	int fd = mkstemp(tmpl);
	if (fd < 0)
		return bv_error_errno(err, errno, "plan file");
	bool wrote = write(fd, plan, plan_len) == (ssize_t)plan_len;
	close(fd);
	bool mode = cp_with_mode(t);
	snprintf(ok, sizeof ok, "%d", TRANSPORT_OK_EXIT);
	/* mkstemp's six letters name this run's copies in the guest too */
	snprintf(probe, sizeof probe, "%s.%s", GUEST_PREFIX, tmpl + sizeof "/tmp/bv-plan." - 1);
	snprintf(gplan, sizeof gplan, "%s.plan", probe);
	char *direct[] = { (char *)t->smolvm, "machine", "exec", "--name", (char *)t->machine, "--",
			   probe, "--ok-exit", ok, "--remove", gplan, NULL };
	char *via_sh[] = { (char *)t->smolvm, "machine", "exec", "--name", (char *)t->machine, "--",
			   "/bin/sh", "-c", "chmod 700 \"$0\" && exec \"$0\" \"$@\"",
			   probe, "--ok-exit", ok, "--remove", gplan, NULL };
	int rc = wrote ? 0 : bv_error_errno(err, errno, "write the plan file");
	if (rc == 0)
		rc = copy_in(t, t->probe, probe, mode, err);
	if (rc == 0)
		rc = copy_in(t, tmpl, gplan, false, err);
	unlink(tmpl);
	if (rc == 0)
		rc = spawn_capture_watch(mode ? direct : via_sh, timeout_ms, 1u << 20, w, res, err);
	/* Only the sentinel means "the probe ran to the end"; 0, 1 and 124 are smolvm's. */
	if (rc == 0 && res->exited && res->status == TRANSPORT_OK_EXIT)
		res->status = 0;
	else if (rc == 0 && res->exited && res->status == 0)
		res->status = 125;
	return rc;
}

int transport_run_probe(const struct transport *t, const char *plan, size_t plan_len, int timeout_ms,
			const struct spawn_watch *w, struct spawn_result *res, struct bv_error *err)
{
	if (t->kind == TRANSPORT_SMOLVM)
		return run_smolvm(t, plan, plan_len, timeout_ms, w, res, err);
	/* A runner boots a guest before the probe's deadline starts: give it that time. */
	if (t->kind == TRANSPORT_CMD)
		timeout_ms += TRANSPORT_CMD_BOOT_MS;
	int rc = run_netns(t, plan, plan_len, timeout_ms, res, err);
	/* A runner proves the probe ran to the end only with the sentinel; its own 0 does not. */
	if (rc == 0 && t->kind == TRANSPORT_CMD && res->exited)
		res->status = res->status == TRANSPORT_OK_EXIT ? 0 : res->status == 0 ? 125 : res->status;
	return rc;
}
