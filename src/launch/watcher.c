/* watcher.c - see watcher.h. The pid file names the watch by pid and start time, so a
 * later down can never signal a process that merely reused the pid. */
#include "launch/watcher.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "core/clock.h"
#include "core/proc.h"
#include "launch/subnet.h"

int watcher_plan(const char *lease_dir, const char *name, struct watcher *w, struct bv_error *err)
{
	memset(w, 0, sizeof *w);
	if (!launch_state_path(lease_dir, "watch", name, "tap", w->tap, sizeof w->tap) ||
	    !launch_state_path(lease_dir, "watch", name, "err", w->err, sizeof w->err) ||
	    !launch_state_path(lease_dir, "watch", name, "pid", w->pidfile, sizeof w->pidfile))
		return bv_error_set(err, ENAMETOOLONG, "watch paths under %s are too long", lease_dir);
	return 0;
}

static int write_pidfile(const struct watcher *w, pid_t pid, struct bv_error *err)
{
	unsigned long long start = 0;
	char tmp[4200];
	if (proc_start_time(pid, &start, err) < 0)
		return bv_error_wrap(err, "the watch (pid %d)", (int)pid);
	snprintf(tmp, sizeof tmp, "%s.tmp", w->pidfile);
	int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0)
		return bv_error_errno(err, errno, "%s", tmp);
	int n = dprintf(fd, "%d\n%llu\n", (int)pid, start);
	if (close(fd) < 0 || n < 0 || rename(tmp, w->pidfile) < 0) {
		int e = errno ? errno : EIO;
		unlink(tmp);
		return bv_error_errno(err, e, "%s", w->pidfile);
	}
	return 0;
}

/* The first bytes of a file that holds what the watch said, for an error. */
static void file_head(const char *path, char *buf, size_t cap)
{
	buf[0] = '\0';
	FILE *f = fopen(path, "re");
	if (!f)
		return;
	size_t n = fread(buf, 1, cap - 1, f);
	buf[n] = '\0';
	fclose(f);
	for (char *p = buf; *p; p++)
		if (*p == '\n')
			*p = ' ';
}

static bool first_pass_shown(const struct watcher *w)
{
	char head[2048];
	file_head(w->tap, head, sizeof head);
	return strstr(head, "a pass every") != NULL;
}

int watcher_start(const struct watcher *w, char *const argv[], pid_t *pid, struct bv_error *err)
{
	int st;
	if (spawn_detached(argv, w->tap, w->err, pid, err) < 0)
		return -err->code;
	int rc = write_pidfile(w, *pid, err);
	for (long end = bv_now_ms() + WATCHER_READY_MS; rc == 0 && !first_pass_shown(w);) {
		if (waitpid(*pid, &st, WNOHANG) == *pid || bv_now_ms() > end) {
			char said[600], tap[600];
			file_head(w->err, said, sizeof said);
			file_head(w->tap, tap, sizeof tap);
			rc = bv_error_set(err, ECHILD, "bottle-verify watch %s: %.300s %.300s",
					  bv_now_ms() > end ? "showed no first pass in 10 s" : "ended at once", said, tap);
		}
		usleep(20 * 1000);
	}
	if (rc < 0) {
		kill(*pid, SIGKILL);
		waitpid(*pid, &st, WNOHANG);
		unlink(w->pidfile);
	}
	return rc;
}

/* The watch the pid file names, when it is still that very bottle-verify watch; 0 if none. */
static pid_t named_watch(const struct watcher *w)
{
	long long pid = 0;
	bool has_start = false, alive = false, same = false;
	unsigned long long start = 0;
	char *cmd = NULL;
	struct bv_error ignored = { 0 };
	if (proc_read_pidfile(w->pidfile, &pid, &has_start, &start, &ignored) != 1 || pid <= 1 || !has_start)
		return 0;
	proc_identify(pid, true, start, &alive, &same);
	if (!alive || !same || proc_cmdline((pid_t)pid, &cmd, &ignored) < 0)
		return 0;
	bool ours = strstr(cmd, "bottle-verify") && strstr(cmd, " watch ");
	free(cmd);
	return ours ? (pid_t)pid : 0;
}

/* Gone: no such process, or a zombie (our own child, from a failed up), reaped here. */
static bool ended(pid_t pid)
{
	int st;
	return waitpid(pid, &st, WNOHANG) == pid || kill(pid, 0) < 0;
}

int watcher_stop(const struct watcher *w, struct bv_error *err)
{
	if (access(w->pidfile, F_OK) != 0)
		return 0; /* no watch was started, or a down collected it already */
	pid_t pid = named_watch(w);
	if (pid > 0 && kill(pid, SIGTERM) < 0 && errno != ESRCH)
		return bv_error_errno(err, errno, "signal the watch (pid %d)", (int)pid);
	long end = bv_now_ms() + WATCHER_STOP_MS;
	while (pid > 0 && !ended(pid) && bv_now_ms() < end)
		usleep(20 * 1000);
	int rc = pid > 0 ? 1 : 2;
	if (pid > 0 && !ended(pid)) {
		kill(pid, SIGKILL);
		rc = bv_error_set(err, EIO, "the watch (pid %d) did not end within %d ms of SIGTERM: killed; its TAP in %s has no plan",
				  (int)pid, WATCHER_STOP_MS, w->tap);
	}
	(void)unlink(w->pidfile);
	return rc;
}

int watcher_findings(const struct watcher *w, size_t *not_ok, bool *ended_ok, struct bv_error *err)
{
	char line[8192];
	*not_ok = 0;
	*ended_ok = false;
	FILE *f = fopen(w->tap, "re");
	if (!f)
		return bv_error_errno(err, errno, "%s", w->tap);
	while (fgets(line, sizeof line, f)) {
		if (strncmp(line, "not ok ", 7) == 0 && !strstr(line, " # TODO"))
			(*not_ok)++;
		if (strncmp(line, "1..", 3) == 0)
			*ended_ok = true;
	}
	fclose(f);
	return 0;
}
