/* paths.c - see paths.h */

/* The rules mirror smolvm as built against dirs 5.0.1 / dirs-sys 0.4.1:
 *   home_dir        $HOME if non-empty, else the passwd entry of getuid() if non-empty
 *   data_local_dir  Linux: $XDG_DATA_HOME if absolute, else home/.local/share
 *                   macOS: home/Library/Application Support
 *   cache_dir       Linux: $XDG_CACHE_HOME if absolute, else home/.cache
 *                   macOS: home/Library/Caches
 * On Linux smolvm's main() first turns a set SMOLVM_DATA_DIR (even an empty one) into
 * HOME and unsets XDG_DATA_HOME, XDG_CACHE_HOME and XDG_CONFIG_HOME. Directories are
 * joined as Rust's PathBuf::join does: a '/' is added only when the base lacks one. A
 * relative HOME or SMOLVM_DATA_DIR stays relative, as it does in smolvm (which resolves it
 * against its own working directory). */
#include "smolvm/paths.h"

#include <errno.h>
#include <pwd.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <nettle/sha2.h>

#include "core/cleanup.h"

/* ---- the real environment ---- */

static const char *process_getenv(const char *name, void *ctx)
{
	(void)ctx;
	return getenv(name);
}

/* dirs-sys 0.4.1 asks once, for getuid() (not geteuid()), with a buffer of
 * sysconf(_SC_GETPW_R_SIZE_MAX) or 512 bytes, and treats an empty pw_dir as none. A
 * lookup smolvm cannot make, this cannot make either. */
static char *process_passwd_home(void *ctx)
{
	(void)ctx;
	long max = sysconf(_SC_GETPW_R_SIZE_MAX);
	size_t len = max > 0 ? (size_t)max : 512;
	_cleanup_free_ char *buf = malloc(len);
	struct passwd pw, *res = NULL;
	if (!buf || getpwuid_r(getuid(), &pw, buf, len, &res) != 0 || !res)
		return NULL;
	if (!pw.pw_dir || !pw.pw_dir[0])
		return NULL;
	return strdup(pw.pw_dir);
}

void paths_env_default(struct bv_path_env *env)
{
#ifdef __APPLE__
	env->platform = BV_PLATFORM_MACOS;
#else
	env->platform = BV_PLATFORM_LINUX;
#endif
	env->getenv = process_getenv;
	env->home_from_passwd = process_passwd_home;
	env->ctx = NULL;
	env->data_dir_env_ignored = false;
}

/* ---- smolvm's view of that environment ---- */

static const char *env_var(const struct bv_path_env *env, const char *name)
{
	return env->getenv ? env->getenv(name, env->ctx) : getenv(name);
}

/* SMOLVM_DATA_DIR counts when set at all (smolvm tests it with var_os), Linux only, and
 * only for a smolvm that knows it. */
static bool relocated(const struct bv_path_env *env)
{
	return env->platform == BV_PLATFORM_LINUX && !env->data_dir_env_ignored &&
	       env_var(env, "SMOLVM_DATA_DIR") != NULL;
}

void paths_env_for_version(struct bv_path_env *env, const struct bv_version *v)
{
	env->data_dir_env_ignored = version_ignores_data_dir_env(v);
}

/* The HOME smolvm sees, or *out = NULL when it has none. Fails only for -ENOMEM. */
static int home_dir(const struct bv_path_env *env, char **out, struct bv_error *err)
{
	const char *home = env_var(env, relocated(env) ? "SMOLVM_DATA_DIR" : "HOME");
	if (home && home[0]) {
		*out = strdup(home);
		return *out ? 0 : bv_error_set(err, ENOMEM, "out of memory");
	}
	char *pw = env->home_from_passwd ? env->home_from_passwd(env->ctx) : process_passwd_home(NULL);
	if (pw && !pw[0]) {
		free(pw);
		pw = NULL;
	}
	*out = pw;
	return 0;
}

/* An XDG base directory: Linux only, absolute only, and gone under SMOLVM_DATA_DIR. */
static const char *xdg_dir(const struct bv_path_env *env, const char *name)
{
	if (env->platform != BV_PLATFORM_LINUX || relocated(env))
		return NULL;
	const char *v = env_var(env, name);
	return v && v[0] == '/' ? v : NULL;
}

static int path_join(char **out, const char *base, const char *rel, struct bv_error *err)
{
	size_t n = strlen(base);
	const char *sep = n > 0 && base[n - 1] == '/' ? "" : "/";
	if (asprintf(out, "%s%s%s", base, sep, rel) < 0) {
		*out = NULL;
		return bv_error_set(err, ENOMEM, "out of memory");
	}
	return 0;
}

/* dirs::data_local_dir() (cache == false) or dirs::cache_dir() (cache == true), or
 * *out = NULL when smolvm would get None. */
static int base_dir(const struct bv_path_env *env, bool cache, char **out, struct bv_error *err)
{
	bool mac = env->platform == BV_PLATFORM_MACOS;
	const char *xdg = xdg_dir(env, cache ? "XDG_CACHE_HOME" : "XDG_DATA_HOME");
	const char *under_home = cache ? (mac ? "Library/Caches" : ".cache")
				       : (mac ? "Library/Application Support" : ".local/share");
	*out = NULL;
	if (xdg) {
		*out = strdup(xdg);
		return *out ? 0 : bv_error_set(err, ENOMEM, "out of memory");
	}
	_cleanup_free_ char *home = NULL;
	int r = home_dir(env, &home, err);
	if (r < 0 || !home)
		return r;
	return path_join(out, home, under_home, err);
}

static int no_home(const struct bv_path_env *env, struct bv_error *err, const char *what,
		   const char *note)
{
	return bv_error_set(err, ENOENT,
			    "cannot derive %s: %s is unset or empty and the passwd entry has no home "
			    "directory%s", what, relocated(env) ? "SMOLVM_DATA_DIR" : "HOME", note);
}

int paths_state_db(const struct bv_path_env *env, char **out, struct bv_error *err)
{
	_cleanup_free_ char *data = NULL;
	*out = NULL;
	int r = base_dir(env, false, &data, err);
	if (r < 0)
		return r;
	if (!data)
		return no_home(env, err, "smolvm's state DB path", "");
	return path_join(out, data, "smolvm/server/smolvm.db", err);
}

void paths_vm_dir_hash(const char *name, char out[17])
{
	static const char hex[] = "0123456789abcdef";
	struct sha256_ctx ctx;
	uint8_t digest[SHA256_DIGEST_SIZE];
	sha256_init(&ctx);
	sha256_update(&ctx, strlen(name), (const uint8_t *)name);
	sha256_digest(&ctx, sizeof digest, digest);
	for (int i = 0; i < 8; i++) {
		out[2 * i] = hex[digest[i] >> 4];
		out[2 * i + 1] = hex[digest[i] & 0x0f];
	}
	out[16] = '\0';
}

/* smolvm's vm_cache_root(): cache_dir, else data_local_dir, else /tmp. The /tmp case
 * (no home at all) is reported as -ENOENT: a world-writable guess is not evidence. */
int paths_vm_data_dir(const struct bv_path_env *env, const char *name, char **out,
		      struct bv_error *err)
{
	_cleanup_free_ char *root = NULL;
	char rel[sizeof "smolvm/vms/" + 16];
	char hash[17];
	*out = NULL;
	if (!name)
		return bv_error_set(err, EINVAL, "no machine name");
	int r = base_dir(env, true, &root, err);
	if (r == 0 && !root)
		r = base_dir(env, false, &root, err);
	if (r < 0)
		return r;
	if (!root)
		return no_home(env, err, "the machine's data dir", " (smolvm would use /tmp/smolvm/vms)");
	paths_vm_dir_hash(name, hash);
	snprintf(rel, sizeof rel, "smolvm/vms/%s", hash);
	return path_join(out, root, rel, err);
}
