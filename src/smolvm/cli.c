/* cli.c - see cli.h */
#include "smolvm/cli.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/cleanup.h"
#include "core/proc.h"

int smolvm_find(const char *bin, char **path, struct bv_error *err)
{
	if (strchr(bin, '/')) {
		struct stat st;
		if (access(bin, X_OK) < 0)
			return bv_error_errno(err, errno, "%s", bin);
		if (stat(bin, &st) < 0 || !S_ISREG(st.st_mode))
			return bv_error_set(err, ENOENT, "%s is not an executable file", bin);
		*path = strdup(bin);
		return *path ? 0 : bv_error_set(err, ENOMEM, "out of memory");
	}
	const char *env = getenv("PATH");
	_cleanup_free_ char *dirs = strdup(env && *env ? env : "/usr/local/bin:/usr/bin:/bin");
	if (!dirs)
		return bv_error_set(err, ENOMEM, "out of memory");
	char *save = NULL;
	for (char *d = strtok_r(dirs, ":", &save); d; d = strtok_r(NULL, ":", &save)) {
		char cand[4096];
		if ((size_t)snprintf(cand, sizeof cand, "%s/%s", *d ? d : ".", bin) >= sizeof cand)
			continue;
		struct stat st;
		if (access(cand, X_OK) == 0 && stat(cand, &st) == 0 && S_ISREG(st.st_mode)) {
			*path = strdup(cand);
			return *path ? 0 : bv_error_set(err, ENOMEM, "out of memory");
		}
	}
	return bv_error_set(err, ENOENT, "%s not found on PATH", bin);
}

/* smolvm's output goes into messages people read in a terminal: no escape codes. */
static void printable(char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s < 0x20 || (unsigned char)*s == 0x7f)
			*s = '?';
}

static int ask_version(const char *path, struct bv_version *v, char **raw, struct bv_error *err)
{
	struct spawn_result res;
	char *argv[] = { (char *)path, (char *)"--version", NULL };
	int r = spawn_capture(argv, 5000, 4096, &res, err);
	if (r < 0)
		return r;
	char *nl = strchr(res.out, '\n');
	if (nl)
		*nl = '\0';
	printable(res.out);
	printable(res.errout);
	*raw = strdup(res.out);
	if (res.timed_out)
		r = bv_error_set(err, ETIMEDOUT, "%s --version did not answer within 5 s", path);
	else if (!res.exited || res.status != 0)
		r = bv_error_set(err, EIO, "%s --version failed (%s %d): %.200s", path,
				 res.exited ? "exit" : "signal", res.status, res.errout);
	else if ((r = version_parse(res.out, v, err)) < 0)
		bv_error_wrap(err, "%s --version printed \"%.80s\"", path, res.out);
	spawn_result_free(&res);
	return r;
}

/* One `smolvm --version` per binary per process: preflight, the DB audit and the egress
 * run each need the version, and every answer costs a process start. Keyed by the
 * binary's identity, so a binary replaced meanwhile is asked again. */
static struct version_memo {
	bool set;
	char path[4096];
	dev_t dev;
	ino_t ino;
	off_t size;
	struct timespec mtime, ctime;
	struct bv_version v;
	char *raw;
} memo;

static bool memo_matches(const char *path, const struct stat *st)
{
	return memo.set && strcmp(memo.path, path) == 0 && memo.dev == st->st_dev && memo.ino == st->st_ino &&
	       memo.size == st->st_size && memo.mtime.tv_sec == st->st_mtim.tv_sec &&
	       memo.mtime.tv_nsec == st->st_mtim.tv_nsec && memo.ctime.tv_sec == st->st_ctim.tv_sec &&
	       memo.ctime.tv_nsec == st->st_ctim.tv_nsec;
}

int smolvm_version(const char *bin, struct bv_version *v, char **raw, struct bv_error *err)
{
	_cleanup_free_ char *path = NULL;
	struct stat st;
	memset(v, 0, sizeof *v);
	int r = smolvm_find(bin, &path, err);
	if (r < 0)
		return r;
	if (strlen(path) >= sizeof memo.path)
		return bv_error_set(err, ENAMETOOLONG, "%s: path too long", path);
	if (stat(path, &st) < 0)
		return bv_error_errno(err, errno, "%s", path);
	if (!memo_matches(path, &st)) {
		/* Only an answer is kept: a failure (a timeout under load) is asked again. */
		free(memo.raw);
		memset(&memo, 0, sizeof memo);
		r = ask_version(path, &memo.v, &memo.raw, err);
		if (r < 0) {
			if (raw)
				*raw = steal_pointer(&memo.raw);
			free(memo.raw);
			memset(&memo, 0, sizeof memo);
			return r;
		}
		snprintf(memo.path, sizeof memo.path, "%s", path);
		memo.dev = st.st_dev, memo.ino = st.st_ino, memo.size = st.st_size;
		memo.mtime = st.st_mtim, memo.ctime = st.st_ctim;
		memo.set = true;
	}
	*v = memo.v;
	if (raw && !(*raw = strdup(memo.raw ? memo.raw : "")))
		return bv_error_set(err, ENOMEM, "out of memory");
	return 0;
}

int smolvm_step(const char *const argv[], int timeout_ms, int *status, struct bv_error *err)
{
	struct spawn_result res;
	int r = spawn_capture((char *const *)argv, timeout_ms, 64 * 1024, &res, err);
	if (r < 0)
		return r;
	*status = res.timed_out ? 124 : res.exited ? res.status : 128 + res.status;
	if (*status != 0) {
		char *nl = strchr(res.errout, '\n');
		if (nl && nl[1] == '\0')
			*nl = '\0';
		r = bv_error_set(err, EIO, "%s %s %s: exit %d%s%.300s", argv[0], argv[1], argv[2], *status,
				 res.errout[0] ? ": " : "", res.errout);
	}
	spawn_result_free(&res);
	return r;
}
