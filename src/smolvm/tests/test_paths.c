/* test_paths.c - smolvm's state DB and per-machine data dir, derived as smolvm (dirs 5.0.1)
 * derives them, against a table-backed environment and a passwd stub. */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdlib.h>
#include <pwd.h>
#include <string.h>
#include <unistd.h>

#include "smolvm/paths.h"

/* Expected hashes: `printf %s NAME | sha256sum | cut -c1-16`. */
#define HASH_DEFAULT "37a8eec1ce19687d"   /* NAME = default */
#define HASH_EMPTY "e3b0c44298fc1c14"     /* NAME = (empty string) */
#define HASH_SANDBOX1 "c785551b78e8121e"  /* NAME = sandbox-1 */
#define HASH_ODD "544bb71c69390d2f"       /* NAME = my vm/../x */

#define MAX_VARS 8

struct fake {
	const char *vars[MAX_VARS][2]; /* { name, value }, ends at the first NULL name */
	const char *pw_home;           /* what the passwd entry says; NULL: no entry */
	int pw_calls;
};

static const char *fake_getenv(const char *name, void *ctx)
{
	struct fake *f = ctx;
	for (int i = 0; i < MAX_VARS && f->vars[i][0]; i++)
		if (strcmp(f->vars[i][0], name) == 0)
			return f->vars[i][1];
	return NULL;
}

static char *fake_passwd(void *ctx)
{
	struct fake *f = ctx;
	f->pw_calls++;
	return f->pw_home ? strdup(f->pw_home) : NULL;
}

static struct bv_path_env linux_env(struct fake *f)
{
	struct bv_path_env e = { .platform = BV_PLATFORM_LINUX, .getenv = fake_getenv,
				 .home_from_passwd = fake_passwd, .ctx = f };
	return e;
}

static struct bv_path_env macos_env(struct fake *f)
{
	struct bv_path_env e = linux_env(f);
	e.platform = BV_PLATFORM_MACOS;
	return e;
}

static void expect_db(struct bv_path_env e, const char *want)
{
	char *out = NULL;
	struct bv_error err = { 0 };
	cr_assert_eq(paths_state_db(&e, &out, &err), 0, "%s", err.msg);
	cr_assert_str_eq(out, want);
	free(out);
}

static void expect_vm_dir(struct bv_path_env e, const char *name, const char *want)
{
	char *out = NULL;
	struct bv_error err = { 0 };
	cr_assert_eq(paths_vm_data_dir(&e, name, &out, &err), 0, "%s", err.msg);
	cr_assert_str_eq(out, want);
	free(out);
}

static void expect_hash(const char *name, const char *want)
{
	char h[17];
	memset(h, 'X', sizeof h);
	paths_vm_dir_hash(name, h);
	cr_assert_str_eq(h, want, "name \"%s\"", name);
}

/* ---- Linux: the state DB ---- */

Test(paths_linux, home_only_gives_local_share)
{
	struct fake f = { .vars = { { "HOME", "/home/u" } } };
	expect_db(linux_env(&f), "/home/u/.local/share/smolvm/server/smolvm.db");
}

Test(paths_linux, home_set_does_not_consult_passwd)
{
	struct fake f = { .vars = { { "HOME", "/home/u" } }, .pw_home = "/var/lib/u" };
	expect_db(linux_env(&f), "/home/u/.local/share/smolvm/server/smolvm.db");
	cr_assert_eq(f.pw_calls, 0);
}

Test(paths_linux, absolute_xdg_data_home_wins_over_home)
{
	struct fake f = { .vars = { { "HOME", "/home/u" }, { "XDG_DATA_HOME", "/xdg/data" } } };
	expect_db(linux_env(&f), "/xdg/data/smolvm/server/smolvm.db");
}

Test(paths_linux, relative_xdg_data_home_is_ignored)
{
	struct fake f = { .vars = { { "HOME", "/home/u" }, { "XDG_DATA_HOME", "xdg/data" } } };
	expect_db(linux_env(&f), "/home/u/.local/share/smolvm/server/smolvm.db");
}

Test(paths_linux, empty_xdg_data_home_is_ignored)
{
	struct fake f = { .vars = { { "HOME", "/home/u" }, { "XDG_DATA_HOME", "" } } };
	expect_db(linux_env(&f), "/home/u/.local/share/smolvm/server/smolvm.db");
}

Test(paths_linux, empty_home_falls_back_to_passwd)
{
	struct fake f = { .vars = { { "HOME", "" } }, .pw_home = "/var/lib/u" };
	expect_db(linux_env(&f), "/var/lib/u/.local/share/smolvm/server/smolvm.db");
}

Test(paths_linux, unset_home_falls_back_to_passwd)
{
	struct fake f = { .pw_home = "/var/lib/u" };
	expect_db(linux_env(&f), "/var/lib/u/.local/share/smolvm/server/smolvm.db");
	cr_assert_eq(f.pw_calls, 1);
}

Test(paths_linux, no_home_and_no_passwd_entry_is_enoent)
{
	struct fake f = { 0 };
	struct bv_path_env e = linux_env(&f);
	struct bv_error err = { 0 };
	char *out = (char *)"untouched";
	cr_assert_eq(paths_state_db(&e, &out, &err), -ENOENT);
	cr_assert_null(out);
	cr_assert_eq(err.code, ENOENT);
	cr_assert(strstr(err.msg, "HOME") != NULL, "message: %s", err.msg);
}

Test(paths_linux, empty_passwd_home_counts_as_none)
{
	struct fake f = { .vars = { { "HOME", "" } }, .pw_home = "" };
	struct bv_path_env e = linux_env(&f);
	char *out = NULL;
	cr_assert_eq(paths_state_db(&e, &out, NULL), -ENOENT);
	cr_assert_null(out);
}

Test(paths_linux, absolute_xdg_data_home_needs_no_home)
{
	struct fake f = { .vars = { { "XDG_DATA_HOME", "/xdg/data" } } };
	expect_db(linux_env(&f), "/xdg/data/smolvm/server/smolvm.db");
}

Test(paths_linux, trailing_slash_is_not_doubled)
{
	struct fake f = { .vars = { { "HOME", "/home/u/" } } };
	expect_db(linux_env(&f), "/home/u/.local/share/smolvm/server/smolvm.db");
}

Test(paths_linux, root_home_joins_like_pathbuf)
{
	struct fake f = { .vars = { { "HOME", "/" } } };
	expect_db(linux_env(&f), "/.local/share/smolvm/server/smolvm.db");
}

/* ---- Linux: SMOLVM_DATA_DIR ---- */

Test(paths_smolvm_data_dir, replaces_home_and_xdg_for_the_db)
{
	struct fake f = { .vars = { { "HOME", "/home/u" }, { "XDG_DATA_HOME", "/xdg/data" },
				    { "SMOLVM_DATA_DIR", "/srv/smol" } } };
	expect_db(linux_env(&f), "/srv/smol/.local/share/smolvm/server/smolvm.db");
}

Test(paths_smolvm_data_dir, replaces_home_and_xdg_for_the_vm_dir)
{
	struct fake f = { .vars = { { "HOME", "/home/u" }, { "XDG_CACHE_HOME", "/xdg/cache" },
				    { "SMOLVM_DATA_DIR", "/srv/smol" } } };
	expect_vm_dir(linux_env(&f), "default", "/srv/smol/.cache/smolvm/vms/" HASH_DEFAULT);
}

/* The same environment, read for smolvm version text. */
static struct bv_path_env linux_env_for(struct fake *f, const char *version)
{
	struct bv_path_env e = linux_env(f);
	struct bv_version v = { 0 };
	struct bv_error err = { 0 };
	cr_assert_eq(version_parse(version, &v, &err), 0, "%s", err.msg);
	paths_env_for_version(&e, &v);
	return e;
}

Test(paths_smolvm_data_dir, is_ignored_by_smolvm_before_1_2_5)
{
	struct fake f = { .vars = { { "HOME", "/home/u" }, { "SMOLVM_DATA_DIR", "/srv/smol" } } };
	expect_db(linux_env_for(&f, "smolvm 1.2.4"), "/home/u/.local/share/smolvm/server/smolvm.db");
}

Test(paths_smolvm_data_dir, is_honoured_from_1_2_5)
{
	struct fake f = { .vars = { { "HOME", "/home/u" }, { "SMOLVM_DATA_DIR", "/srv/smol" } } };
	expect_db(linux_env_for(&f, "smolvm 1.2.5"), "/srv/smol/.local/share/smolvm/server/smolvm.db");
}

Test(paths_smolvm_data_dir, empty_value_still_takes_over)
{
	/* smolvm tests it with var_os: HOME becomes "" (so passwd decides) and XDG is unset. */
	struct fake f = { .vars = { { "HOME", "/home/u" }, { "XDG_DATA_HOME", "/xdg/data" },
				    { "SMOLVM_DATA_DIR", "" } }, .pw_home = "/var/lib/u" };
	expect_db(linux_env(&f), "/var/lib/u/.local/share/smolvm/server/smolvm.db");
}

Test(paths_smolvm_data_dir, empty_value_and_no_passwd_is_enoent_despite_xdg)
{
	struct fake f = { .vars = { { "XDG_DATA_HOME", "/xdg/data" }, { "SMOLVM_DATA_DIR", "" } } };
	struct bv_path_env e = linux_env(&f);
	struct bv_error err = { 0 };
	char *out = NULL;
	cr_assert_eq(paths_state_db(&e, &out, &err), -ENOENT);
	cr_assert(strstr(err.msg, "SMOLVM_DATA_DIR") != NULL, "message: %s", err.msg);
}

Test(paths_smolvm_data_dir, relative_value_stays_relative)
{
	struct fake f = { .vars = { { "HOME", "/home/u" }, { "SMOLVM_DATA_DIR", "smol" } } };
	expect_db(linux_env(&f), "smol/.local/share/smolvm/server/smolvm.db");
}

/* ---- Linux: the per-machine data dir ---- */

Test(paths_vm_dir, home_only_gives_dot_cache)
{
	struct fake f = { .vars = { { "HOME", "/home/u" } } };
	expect_vm_dir(linux_env(&f), "default", "/home/u/.cache/smolvm/vms/" HASH_DEFAULT);
}

Test(paths_vm_dir, absolute_xdg_cache_home_wins)
{
	struct fake f = { .vars = { { "HOME", "/home/u" }, { "XDG_CACHE_HOME", "/xdg/cache" } } };
	expect_vm_dir(linux_env(&f), "default", "/xdg/cache/smolvm/vms/" HASH_DEFAULT);
}

Test(paths_vm_dir, relative_xdg_cache_home_is_ignored)
{
	struct fake f = { .vars = { { "HOME", "/home/u" }, { "XDG_CACHE_HOME", "rel/cache" } } };
	expect_vm_dir(linux_env(&f), "default", "/home/u/.cache/smolvm/vms/" HASH_DEFAULT);
}

Test(paths_vm_dir, xdg_data_home_does_not_move_the_cache)
{
	struct fake f = { .vars = { { "HOME", "/home/u" }, { "XDG_DATA_HOME", "/xdg/data" } } };
	expect_vm_dir(linux_env(&f), "default", "/home/u/.cache/smolvm/vms/" HASH_DEFAULT);
}

Test(paths_vm_dir, no_cache_dir_falls_back_to_data_local_dir)
{
	/* vm_cache_root(): cache_dir().or_else(data_local_dir) */
	struct fake f = { .vars = { { "XDG_DATA_HOME", "/xdg/data" } } };
	expect_vm_dir(linux_env(&f), "default", "/xdg/data/smolvm/vms/" HASH_DEFAULT);
}

Test(paths_vm_dir, no_home_at_all_is_enoent_not_tmp)
{
	struct fake f = { 0 };
	struct bv_path_env e = linux_env(&f);
	struct bv_error err = { 0 };
	char *out = NULL;
	cr_assert_eq(paths_vm_data_dir(&e, "default", &out, &err), -ENOENT);
	cr_assert_null(out);
	cr_assert(strstr(err.msg, "/tmp/smolvm/vms") != NULL, "message: %s", err.msg);
}

Test(paths_vm_dir, empty_home_uses_passwd)
{
	struct fake f = { .vars = { { "HOME", "" } }, .pw_home = "/var/lib/u" };
	expect_vm_dir(linux_env(&f), "sandbox-1", "/var/lib/u/.cache/smolvm/vms/" HASH_SANDBOX1);
}

Test(paths_vm_dir, null_name_is_einval)
{
	struct fake f = { .vars = { { "HOME", "/home/u" } } };
	struct bv_path_env e = linux_env(&f);
	char *out = NULL;
	cr_assert_eq(paths_vm_data_dir(&e, NULL, &out, NULL), -EINVAL);
	cr_assert_null(out);
}

Test(paths_vm_dir, name_with_slashes_is_only_hashed)
{
	struct fake f = { .vars = { { "HOME", "/home/u" } } };
	expect_vm_dir(linux_env(&f), "my vm/../x", "/home/u/.cache/smolvm/vms/" HASH_ODD);
}

/* ---- macOS ---- */

Test(paths_macos, db_in_application_support)
{
	struct fake f = { .vars = { { "HOME", "/Users/u" } } };
	expect_db(macos_env(&f), "/Users/u/Library/Application Support/smolvm/server/smolvm.db");
}

Test(paths_macos, db_ignores_xdg_data_home)
{
	struct fake f = { .vars = { { "HOME", "/Users/u" }, { "XDG_DATA_HOME", "/xdg/data" } } };
	expect_db(macos_env(&f), "/Users/u/Library/Application Support/smolvm/server/smolvm.db");
}

Test(paths_macos, vm_dir_in_library_caches)
{
	struct fake f = { .vars = { { "HOME", "/Users/u" } } };
	expect_vm_dir(macos_env(&f), "default", "/Users/u/Library/Caches/smolvm/vms/" HASH_DEFAULT);
}

Test(paths_macos, vm_dir_ignores_xdg_cache_home)
{
	struct fake f = { .vars = { { "HOME", "/Users/u" }, { "XDG_CACHE_HOME", "/xdg/cache" } } };
	expect_vm_dir(macos_env(&f), "default", "/Users/u/Library/Caches/smolvm/vms/" HASH_DEFAULT);
}

Test(paths_macos, smolvm_data_dir_is_linux_only)
{
	struct fake f = { .vars = { { "HOME", "/Users/u" }, { "SMOLVM_DATA_DIR", "/srv/smol" } } };
	expect_db(macos_env(&f), "/Users/u/Library/Application Support/smolvm/server/smolvm.db");
}

Test(paths_macos, empty_home_falls_back_to_passwd)
{
	struct fake f = { .vars = { { "HOME", "" } }, .pw_home = "/Users/p" };
	expect_db(macos_env(&f), "/Users/p/Library/Application Support/smolvm/server/smolvm.db");
}

Test(paths_macos, no_home_is_enoent_even_with_xdg)
{
	struct fake f = { .vars = { { "XDG_DATA_HOME", "/xdg/data" } } };
	struct bv_path_env e = macos_env(&f);
	char *out = NULL;
	cr_assert_eq(paths_state_db(&e, &out, NULL), -ENOENT);
}

/* ---- the machine-name hash ---- */

Test(paths_hash, of_default)
{
	expect_hash("default", HASH_DEFAULT);
}

Test(paths_hash, of_empty_string)
{
	expect_hash("", HASH_EMPTY);
}

Test(paths_hash, of_sandbox_1)
{
	expect_hash("sandbox-1", HASH_SANDBOX1);
}

Test(paths_hash, is_16_lowercase_hex_chars)
{
	char h[17];
	paths_vm_dir_hash("default", h);
	cr_assert_eq(strlen(h), 16);
	cr_assert_eq(strspn(h, "0123456789abcdef"), 16);
}

/* ---- the real environment ---- */

Test(paths_default, platform_follows_the_build)
{
	struct bv_path_env e;
	paths_env_default(&e);
#ifdef __APPLE__
	cr_assert_eq(e.platform, BV_PLATFORM_MACOS);
#else
	cr_assert_eq(e.platform, BV_PLATFORM_LINUX);
#endif
}

Test(paths_default, reads_the_process_environment)
{
	/* Criterion runs each test in its own process, so this edits only that copy. */
	cr_assert_eq(setenv("HOME", "/nonexistent/bv-home", 1), 0);
	cr_assert_eq(unsetenv("XDG_DATA_HOME"), 0);
	cr_assert_eq(unsetenv("SMOLVM_DATA_DIR"), 0);
	struct bv_path_env e;
	paths_env_default(&e);
#ifdef __APPLE__
	expect_db(e, "/nonexistent/bv-home/Library/Application Support/smolvm/server/smolvm.db");
#else
	expect_db(e, "/nonexistent/bv-home/.local/share/smolvm/server/smolvm.db");
#endif
}

Test(paths_default, null_callbacks_mean_the_process_environment)
{
	cr_assert_eq(setenv("HOME", "/nonexistent/bv-home", 1), 0);
	cr_assert_eq(unsetenv("XDG_CACHE_HOME"), 0);
	cr_assert_eq(unsetenv("SMOLVM_DATA_DIR"), 0);
	struct bv_path_env e = { .platform = BV_PLATFORM_LINUX };
	expect_vm_dir(e, "default", "/nonexistent/bv-home/.cache/smolvm/vms/" HASH_DEFAULT);
}

Test(paths_default, unset_home_reads_the_passwd_entry_of_the_real_uid)
{
	cr_assert_eq(unsetenv("HOME"), 0);
	cr_assert_eq(unsetenv("XDG_DATA_HOME"), 0);
	cr_assert_eq(unsetenv("SMOLVM_DATA_DIR"), 0);
	struct passwd *pw = getpwuid(getuid());
	struct bv_path_env e;
	paths_env_default(&e);
	char *out = NULL;
	int r = paths_state_db(&e, &out, NULL);
	if (!pw || !pw->pw_dir || !pw->pw_dir[0]) {
		cr_assert_eq(r, -ENOENT);
		return;
	}
	cr_assert_eq(r, 0);
	cr_assert(strncmp(out, pw->pw_dir, strlen(pw->pw_dir)) == 0, "%s vs %s", out, pw->pw_dir);
	free(out);
}
