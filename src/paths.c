/* paths.c - see paths.h */
#include "paths.h"

#include <errno.h>
#include <stdbool.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <nettle/sha2.h>

#include "cleanup.h"

static const char *real_getenv(const char *name, void *ctx)
{
	(void)ctx;
	return getenv(name);
}

static char *real_passwd_home(void *ctx)
{
	(void)ctx;
	struct passwd pw, *res = NULL;
	char buf[4096];
	if (getpwuid_r(geteuid(), &pw, buf, sizeof buf, &res) != 0 || !res || !pw.pw_dir)
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
	env->getenv = real_getenv;
	env->home_from_passwd = real_passwd_home;
	env->ctx = NULL;
}

static const char *env_raw(const struct bv_path_env *env, const char *name)
{
	return env->getenv ? env->getenv(name, env->ctx) : getenv(name);
}

static const char *env_get(const struct bv_path_env *env, const char *name)
{
	const char *v = env_raw(env, name);
	return v && *v ? v : NULL;
}

/* smolvm tests SMOLVM_DATA_DIR with var_os: set, even empty, it takes over (HOME becomes
 * its value, XDG_* are unset). */
static bool data_dir_set(const struct bv_path_env *env)
{
	return env->platform == BV_PLATFORM_LINUX && env_raw(env, "SMOLVM_DATA_DIR") != NULL;
}

/* HOME as smolvm sees it: on Linux SMOLVM_DATA_DIR replaces it; then $HOME; then the
 * passwd entry. */
static int home_dir(const struct bv_path_env *env, char **out, struct bv_error *err)
{
	const char *v = data_dir_set(env) ? env_get(env, "SMOLVM_DATA_DIR") : env_get(env, "HOME");
	if (v) {
		*out = strdup(v);
		return *out ? 0 : bv_error_set(err, ENOMEM, "out of memory");
	}
	char *pw = env->home_from_passwd ? env->home_from_passwd(env->ctx) : real_passwd_home(NULL);
	if (!pw || !*pw) {
		free(pw);
		return bv_error_set(err, ENOENT, "no home directory: HOME is unset and the passwd entry has none");
	}
	*out = pw;
	return 0;
}

/* An XDG variable counts only when absolute, and not at all under SMOLVM_DATA_DIR
 * (smolvm unsets them) or on macOS. */
static const char *xdg(const struct bv_path_env *env, const char *name)
{
	if (env->platform != BV_PLATFORM_LINUX || data_dir_set(env))
		return NULL;
	const char *v = env_get(env, name);
	return v && v[0] == '/' ? v : NULL;
}

static int join(char **out, struct bv_error *err, const char *a, const char *b, const char *c)
{
	if (asprintf(out, "%s%s%s", a, b, c) < 0) {
		*out = NULL;
		return bv_error_set(err, ENOMEM, "out of memory");
	}
	return 0;
}

/* dirs::data_local_dir() or dirs::cache_dir(), plus "/smolvm". */
static int smolvm_base(const struct bv_path_env *env, bool cache, char **out, struct bv_error *err)
{
	const char *x = xdg(env, cache ? "XDG_CACHE_HOME" : "XDG_DATA_HOME");
	if (x)
		return join(out, err, x, "/smolvm", "");
	_cleanup_free_ char *home = NULL;
	int r = home_dir(env, &home, err);
	if (r < 0)
		return r;
	const char *rel = env->platform == BV_PLATFORM_MACOS
				  ? (cache ? "/Library/Caches" : "/Library/Application Support")
				  : (cache ? "/.cache" : "/.local/share");
	return join(out, err, home, rel, "/smolvm");
}

int paths_state_db(const struct bv_path_env *env, char **out, struct bv_error *err)
{
	_cleanup_free_ char *base = NULL;
	int r = smolvm_base(env, false, &base, err);
	return r < 0 ? r : join(out, err, base, "/server/smolvm.db", "");
}

void paths_vm_dir_hash(const char *name, char out[17])
{
	struct sha256_ctx ctx;
	uint8_t digest[SHA256_DIGEST_SIZE];
	sha256_init(&ctx);
	sha256_update(&ctx, strlen(name), (const uint8_t *)name);
	sha256_digest(&ctx, sizeof digest, digest);
	for (int i = 0; i < 8; i++)
		snprintf(out + 2 * i, 3, "%02x", digest[i]);
}

int paths_vm_data_dir(const struct bv_path_env *env, const char *name, char **out,
		      struct bv_error *err)
{
	_cleanup_free_ char *base = NULL;
	char hash[17];
	int r = smolvm_base(env, true, &base, err);
	if (r < 0)
		return r;
	paths_vm_dir_hash(name, hash);
	return join(out, err, base, "/vms/", hash);
}
