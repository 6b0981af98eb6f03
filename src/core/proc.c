/* proc.c - see proc.h */
#include "core/proc.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "core/cleanup.h"
#include "core/clock.h"

extern char **environ;

static int read_small_file(const char *path, char *buf, size_t cap, size_t *len)
{
	_cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	size_t got = 0;
	while (got < cap) {
		ssize_t n = read(fd, buf + got, cap - got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if (n == 0)
			break;
		got += (size_t)n;
	}
	*len = got;
	return 0;
}

int proc_start_time(pid_t pid, unsigned long long *out, struct bv_error *err)
{
	char path[64], buf[1024];
	size_t len = 0;
	if (pid <= 0)
		return bv_error_set(err, ESRCH, "pid %d is not a process id", (int)pid);
	snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
	int r = read_small_file(path, buf, sizeof buf - 1, &len);
	if (r == -ENOENT)
		return bv_error_set(err, ESRCH, "no process %d", (int)pid);
	if (r < 0)
		return bv_error_errno(err, -r, "read %s", path);
	buf[len] = '\0';
	/* comm may hold spaces and parentheses: fields resume after the last ')'. */
	char *p = strrchr(buf, ')');
	if (!p)
		return bv_error_set(err, EINVAL, "%s: no ')' in stat", path);
	p++;
	for (int field = 3; field < 22; field++) {
		p = strchr(p + 1, ' ');
		if (!p)
			return bv_error_set(err, EINVAL, "%s: too few fields", path);
	}
	char *end = NULL;
	errno = 0;
	unsigned long long v = strtoull(p + 1, &end, 10);
	if (errno || end == p + 1)
		return bv_error_set(err, EINVAL, "%s: bad start time", path);
	*out = v;
	return 0;
}

int proc_read_pidfile(const char *path, long long *pid, bool *has_start, unsigned long long *start,
		      struct bv_error *err)
{
	char buf[128];
	size_t len = 0;
	int r = read_small_file(path, buf, sizeof buf - 1, &len);
	if (r == -ENOENT)
		return 0;
	if (r < 0)
		return bv_error_errno(err, -r, "read %s", path);
	buf[len] = '\0';
	int got = sscanf(buf, "%lld %llu", pid, start);
	if (got < 1 || *pid <= 0 || *pid > 0x7fffffff)
		return bv_error_set(err, EINVAL, "%s does not hold a pid", path);
	*has_start = got == 2;
	return 1;
}

void proc_identify(long long pid, bool has_start, unsigned long long start, bool *alive, bool *same)
{
	unsigned long long now = 0;
	struct bv_error e;
	*alive = *same = false;
	if (pid <= 0 || pid > 0x7fffffff)
		return;
	int r = proc_start_time((pid_t)pid, &now, &e);
	if (r == -ESRCH)
		return;
	*alive = true;
	*same = r == 0 && has_start && now == start;
}

int proc_cmdline(pid_t pid, char **out, struct bv_error *err)
{
	char path[64];
	size_t len = 0;
	_cleanup_free_ char *buf = malloc(4097);
	if (!buf)
		return bv_error_set(err, ENOMEM, "out of memory");
	snprintf(path, sizeof path, "/proc/%d/cmdline", (int)pid);
	int r = read_small_file(path, buf, 4096, &len);
	if (r < 0)
		return bv_error_errno(err, -r, "read %s", path);
	for (size_t i = 0; i < len; i++)
		if (buf[i] == '\0')
			buf[i] = ' ';
	while (len && buf[len - 1] == ' ')
		len--;
	buf[len] = '\0';
	*out = steal_pointer(&buf);
	return 0;
}

/* A child starts with the default action for the signals a caller may ignore or catch
 * (an ignored SIGPIPE or SIGTERM would otherwise survive its exec) and nothing blocked. */
static int spawn_attr_init(posix_spawnattr_t *at)
{
	sigset_t dflt, none;
	if (posix_spawnattr_init(at) != 0)
		return -ENOMEM;
	sigemptyset(&dflt);
	sigemptyset(&none);
	int sigs[] = { SIGPIPE, SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGCHLD };
	for (size_t i = 0; i < sizeof sigs / sizeof *sigs; i++)
		sigaddset(&dflt, sigs[i]);
	if (posix_spawnattr_setsigdefault(at, &dflt) != 0 || posix_spawnattr_setsigmask(at, &none) != 0 ||
	    posix_spawnattr_setflags(at, POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK) != 0) {
		posix_spawnattr_destroy(at);
		return -ENOMEM;
	}
	return 0;
}

struct capture {
	int fd;
	char *buf;
	size_t len;
	bool truncated;
};

static int capture_read(struct capture *c, size_t max)
{
	char chunk[4096];
	ssize_t n = read(c->fd, chunk, sizeof chunk);
	if (n < 0)
		return errno == EINTR || errno == EAGAIN ? 0 : -errno;
	if (n == 0) {
		close(c->fd);
		c->fd = -1;
		return 0;
	}
	size_t keep = (size_t)n;
	if (c->len + keep > max) {
		keep = max - c->len;
		c->truncated = true;
	}
	memcpy(c->buf + c->len, chunk, keep);
	c->len += keep;
	return 0;
}

/* Read both pipes until they close or the deadline passes, asking w (when given) at most
 * every w->every_ms whether to stop early. Returns 1 on timeout, 2 when w said stop. */
static int capture_all(struct capture *c, size_t max, int timeout_ms, const struct spawn_watch *w)
{
	long deadline = bv_now_ms() + timeout_ms, asked = 0;
	while (c[0].fd >= 0 || c[1].fd >= 0) {
		struct pollfd p[2] = { { c[0].fd, POLLIN, 0 }, { c[1].fd, POLLIN, 0 } };
		long left = deadline - bv_now_ms();
		if (left <= 0)
			return 1;
		if (w && w->every_ms > 0 && left > w->every_ms)
			left = w->every_ms;
		int n = poll(p, 2, (int)left);
		if (n < 0 && errno != EINTR)
			return -errno;
		for (int i = 0; i < 2 && n > 0; i++)
			if (c[i].fd >= 0 && p[i].revents && capture_read(&c[i], max) < 0)
				return -EIO;
		/* At most every every_ms, however fast the child writes: the child's output rate
		 * must not set how often the (possibly costly) question is asked. */
		if (w && bv_now_ms() - asked >= (w->every_ms > 0 ? w->every_ms : 1)) {
			asked = bv_now_ms();
			if (w->stop(w->ctx))
				return 2;
		}
	}
	return 0;
}

static int spawn_setup(posix_spawn_file_actions_t *fa, int out_w, int err_w)
{
	if (posix_spawn_file_actions_init(fa) != 0)
		return -ENOMEM;
	if (posix_spawn_file_actions_addopen(fa, 0, "/dev/null", O_RDONLY, 0) ||
	    posix_spawn_file_actions_adddup2(fa, out_w, 1) ||
	    posix_spawn_file_actions_adddup2(fa, err_w, 2)) {
		posix_spawn_file_actions_destroy(fa);
		return -ENOMEM;
	}
	return 0;
}

static int wait_child(pid_t pid, bool kill_first, struct spawn_result *res)
{
	int st = 0;
	if (kill_first)
		kill(pid, SIGKILL);
	while (waitpid(pid, &st, 0) < 0)
		if (errno != EINTR)
			return -errno;
	res->exited = WIFEXITED(st);
	res->status = WIFEXITED(st) ? WEXITSTATUS(st) : WTERMSIG(st);
	return 0;
}

static int spawn_pipes(int out[2], int errp[2])
{
	if (pipe2(out, O_CLOEXEC) < 0)
		return -errno;
	if (pipe2(errp, O_CLOEXEC) < 0) {
		int e = errno;
		close(out[0]);
		close(out[1]);
		return -e;
	}
	return 0;
}

int spawn_capture(char *const argv[], int timeout_ms, size_t max_out, struct spawn_result *res,
		  struct bv_error *err)
{
	return spawn_capture_watch(argv, timeout_ms, max_out, NULL, res, err);
}

int spawn_capture_watch(char *const argv[], int timeout_ms, size_t max_out, const struct spawn_watch *w,
			struct spawn_result *res, struct bv_error *err)
{
	int out[2], errp[2];
	posix_spawn_file_actions_t fa;
	memset(res, 0, sizeof *res);
	res->out = calloc(1, max_out + 1);
	res->errout = calloc(1, max_out + 1);
	if (!res->out || !res->errout) {
		spawn_result_free(res);
		return bv_error_set(err, ENOMEM, "out of memory");
	}
	int r = spawn_pipes(out, errp);
	if (r < 0) {
		spawn_result_free(res);
		return bv_error_errno(err, -r, "pipe");
	}
	if ((r = spawn_setup(&fa, out[1], errp[1])) < 0) {
		close(out[0]), close(out[1]), close(errp[0]), close(errp[1]);
		spawn_result_free(res);
		return bv_error_set(err, ENOMEM, "posix_spawn set-up");
	}
	pid_t pid;
	posix_spawnattr_t at;
	bool have_at = spawn_attr_init(&at) == 0;
	r = have_at ? posix_spawnp(&pid, argv[0], &fa, &at, argv, environ) : ENOMEM;
	if (have_at)
		posix_spawnattr_destroy(&at);
	posix_spawn_file_actions_destroy(&fa);
	close(out[1]);
	close(errp[1]);
	struct capture c[2] = { { out[0], res->out, 0, false }, { errp[0], res->errout, 0, false } };
	if (r != 0) {
		close(out[0]), close(errp[0]);
		spawn_result_free(res);
		return bv_error_errno(err, r, "spawn %s", argv[0]);
	}
	int ended = capture_all(c, max_out, timeout_ms, w);
	for (int i = 0; i < 2; i++)
		if (c[i].fd >= 0)
			close(c[i].fd);
	res->out_len = c[0].len;
	res->errout_len = c[1].len;
	res->truncated = c[0].truncated || c[1].truncated;
	res->timed_out = ended == 1;
	res->stopped = ended == 2;
	r = wait_child(pid, ended != 0, res);
	if (r < 0) {
		spawn_result_free(res);
		return bv_error_errno(err, -r, "wait for %s", argv[0]);
	}
	return 0;
}

void spawn_result_free(struct spawn_result *res)
{
	if (!res)
		return;
	free(res->out);
	free(res->errout);
	memset(res, 0, sizeof *res);
}

int spawn_inherit(char *const argv[], bool keep_stdin, int timeout_ms, int *status, bool *timed_out,
		  struct bv_error *err)
{
	posix_spawn_file_actions_t fa;
	pid_t pid;
	*timed_out = false;
	if (posix_spawn_file_actions_init(&fa) != 0)
		return bv_error_set(err, ENOMEM, "posix_spawn set-up");
	if (!keep_stdin && posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0) != 0) {
		posix_spawn_file_actions_destroy(&fa);
		return bv_error_set(err, ENOMEM, "posix_spawn set-up");
	}
	posix_spawnattr_t at;
	bool have_at = spawn_attr_init(&at) == 0;
	int r = have_at ? posix_spawnp(&pid, argv[0], &fa, &at, argv, environ) : ENOMEM;
	if (have_at)
		posix_spawnattr_destroy(&at);
	posix_spawn_file_actions_destroy(&fa);
	if (r != 0)
		return bv_error_errno(err, r, "spawn %s", argv[0]);
	int st = 0;
	for (long waited = 0;; waited += 10) {
		pid_t w = waitpid(pid, &st, timeout_ms > 0 ? WNOHANG : 0);
		if (w == pid)
			break;
		if (w < 0 && errno != EINTR)
			return bv_error_errno(err, errno, "wait for %s", argv[0]);
		if (timeout_ms > 0 && waited >= timeout_ms && !*timed_out) {
			kill(pid, SIGKILL);
			*timed_out = true;
		}
		if (timeout_ms > 0)
			usleep(10 * 1000);
	}
	*status = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
	return 0;
}

int spawn_detached(char *const argv[], const char *out_path, const char *err_path, pid_t *pid,
		   struct bv_error *err)
{
	posix_spawn_file_actions_t fa;
	posix_spawnattr_t at;
	if (posix_spawn_file_actions_init(&fa) != 0)
		return bv_error_set(err, ENOMEM, "posix_spawn set-up");
	if (spawn_attr_init(&at) < 0) {
		posix_spawn_file_actions_destroy(&fa);
		return bv_error_set(err, ENOMEM, "posix_spawn set-up");
	}
	int r = posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
	if (r == 0)
		r = posix_spawn_file_actions_addopen(&fa, 1, out_path, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW, 0600);
	if (r == 0)
		r = posix_spawn_file_actions_addopen(&fa, 2, err_path, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW, 0600);
	if (r == 0)
		r = posix_spawnattr_setflags(&at, POSIX_SPAWN_SETSID | POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK);
	if (r == 0)
		r = posix_spawnp(pid, argv[0], &fa, &at, argv, environ);
	posix_spawn_file_actions_destroy(&fa);
	posix_spawnattr_destroy(&at);
	return r ? bv_error_errno(err, r, "spawn %s", argv[0]) : 0;
}

char *proc_self_sibling(const char *name)
{
	char self[4096];
	ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
	if (n <= 0)
		return NULL;
	self[n] = '\0';
	char *slash = strrchr(self, '/');
	if (!slash)
		return NULL;
	*slash = '\0';
	char *out = NULL;
	return asprintf(&out, "%s/%s", self, name) < 0 ? NULL : out;
}
