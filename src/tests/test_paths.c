/* smolvm's state paths, derived as the dirs crate does, with a fake environment. */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "paths.h"

struct fake {
	const char *vars[8][2];
	const char *pw_home;
};

static const char *fake_getenv(const char *name, void *ctx)
{
	struct fake *f = ctx;
	for (int i = 0; i < 8 && f->vars[i][0]; i++)
		if (strcmp(f->vars[i][0], name) == 0)
			return f->vars[i][1];
	return NULL;
}

static char *fake_passwd(void *ctx)
{
	struct fake *f = ctx;
	return f->pw_home ? strdup(f->pw_home) : NULL;
}

static struct bv_path_env env_of(struct fake *f, enum bv_platform p)
{
	struct bv_path_env e = { .platform = p, .getenv = fake_getenv,
				 .home_from_passwd = fake_passwd, .ctx = f };
	return e;
}

static void expect_db(struct fake *f, enum bv_platform p, const char *want)
{
	struct bv_path_env e = env_of(f, p);
	char *out = NULL;
	struct bv_error err = { 0 };
	cr_assert_eq(paths_state_db(&e, &out, &err), 0, "%s", err.msg);
	cr_assert_str_eq(out, want);
	free(out);
}

static void expect_dir(struct fake *f, enum bv_platform p, const char *name, const char *want)
{
	struct bv_path_env e = env_of(f, p);
	char *out = NULL;
	cr_assert_eq(paths_vm_data_dir(&e, name, &out, NULL), 0);
	cr_assert_str_eq(out, want);
	free(out);
}

Test(paths, linux_home_only)
{
	struct fake f = { .vars = { { "HOME", "/home/u" } } };
	expect_db(&f, BV_PLATFORM_LINUX, "/home/u/.local/share/smolvm/server/smolvm.db");
}

Test(paths, linux_absolute_xdg_data_home_wins)
{
	struct fake f = { .vars = { { "HOME", "/home/u" }, { "XDG_DATA_HOME", "/xdg/data" } } };
	expect_db(&f, BV_PLATFORM_LINUX, "/xdg/data/smolvm/server/smolvm.db");
}

Test(paths, linux_relative_xdg_is_ignored)
{
	struct fake f = { .vars = { { "HOME", "/home/u" }, { "XDG_DATA_HOME", "xdg/data" } } };
	expect_db(&f, BV_PLATFORM_LINUX, "/home/u/.local/share/smolvm/server/smolvm.db");
}

Test(paths, linux_empty_home_falls_back_to_passwd)
{
	struct fake f = { .vars = { { "HOME", "" } }, .pw_home = "/var/lib/u" };
	expect_db(&f, BV_PLATFORM_LINUX, "/var/lib/u/.local/share/smolvm/server/smolvm.db");
}

Test(paths, no_home_at_all_is_enoent)
{
	struct fake f = { 0 };
	struct bv_path_env e = env_of(&f, BV_PLATFORM_LINUX);
	char *out = NULL;
	cr_assert_eq(paths_state_db(&e, &out, NULL), -ENOENT);
	cr_assert_null(out);
}

Test(paths, smolvm_data_dir_replaces_home_and_xdg)
{
	struct fake f = { .vars = { { "HOME", "/home/u" }, { "XDG_DATA_HOME", "/xdg/data" },
				    { "XDG_CACHE_HOME", "/xdg/cache" }, { "SMOLVM_DATA_DIR", "/srv/smol" } } };
	expect_db(&f, BV_PLATFORM_LINUX, "/srv/smol/.local/share/smolvm/server/smolvm.db");
	expect_dir(&f, BV_PLATFORM_LINUX, "default", "/srv/smol/.cache/smolvm/vms/37a8eec1ce19687d");
}

Test(paths, macos_uses_application_support_and_ignores_xdg)
{
	struct fake f = { .vars = { { "HOME", "/Users/u" }, { "XDG_DATA_HOME", "/xdg/data" },
				    { "SMOLVM_DATA_DIR", "/srv/smol" } } };
	expect_db(&f, BV_PLATFORM_MACOS, "/Users/u/Library/Application Support/smolvm/server/smolvm.db");
	expect_dir(&f, BV_PLATFORM_MACOS, "default", "/Users/u/Library/Caches/smolvm/vms/37a8eec1ce19687d");
}

Test(paths, linux_cache_dir_honours_absolute_xdg_cache_home_only)
{
	struct fake a = { .vars = { { "HOME", "/home/u" }, { "XDG_CACHE_HOME", "/xdg/cache" } } };
	struct fake b = { .vars = { { "HOME", "/home/u" }, { "XDG_CACHE_HOME", "rel/cache" } } };
	expect_dir(&a, BV_PLATFORM_LINUX, "default", "/xdg/cache/smolvm/vms/37a8eec1ce19687d");
	expect_dir(&b, BV_PLATFORM_LINUX, "default", "/home/u/.cache/smolvm/vms/37a8eec1ce19687d");
}

/* Expected values: `printf %s NAME | sha256sum | cut -c1-16`. */
Test(paths, vm_dir_hash_is_the_first_8_bytes_of_sha256)
{
	char h[17];
	paths_vm_dir_hash("default", h);
	cr_assert_str_eq(h, "37a8eec1ce19687d");
	paths_vm_dir_hash("", h);
	cr_assert_str_eq(h, "e3b0c44298fc1c14");
	paths_vm_dir_hash("sandbox-1", h);
	cr_assert_str_eq(h, "c785551b78e8121e");
}

Test(paths, an_empty_smolvm_data_dir_still_takes_over)
{
	/* smolvm sets HOME to "" and unsets XDG: home then comes from passwd. */
	struct fake f = { .vars = { { "HOME", "/home/u" }, { "XDG_DATA_HOME", "/xdg/data" },
				    { "SMOLVM_DATA_DIR", "" } }, .pw_home = "/var/lib/u" };
	expect_db(&f, BV_PLATFORM_LINUX, "/var/lib/u/.local/share/smolvm/server/smolvm.db");
}
