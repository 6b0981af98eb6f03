/* Which env entries count as plaintext secrets. */
#include <criterion/criterion.h>

#include "host/env.h"

Test(env_secret, names_that_hold_credentials)
{
	cr_assert(env_looks_secret("GITHUB_TOKEN", "x"));
	cr_assert(env_looks_secret("aws_secret_access_key", "x"));
	cr_assert(env_looks_secret("BOT_BOTTLE_CANARY", "x"));
	cr_assert(env_looks_secret("DB_PASSWORD", ""));
}

Test(env_secret, values_shaped_like_credentials)
{
	cr_assert(env_looks_secret("NOTE", "ghp_abcdefghijklmnopqrstuvwxyz0123456789"));
	cr_assert(env_looks_secret("X", "AKIAIOSFODNN7EXAMPLE"));
	cr_assert(env_looks_secret("X", "-----BEGIN OPENSSH PRIVATE KEY-----"));
}

Test(env_secret, ordinary_settings_are_not_secrets)
{
	cr_assert_not(env_looks_secret("TERM", "xterm-256color"));
	cr_assert_not(env_looks_secret("LANG", "C.UTF-8"));
	cr_assert_not(env_looks_secret("HOME", "/home/node"));
	cr_assert_not(env_looks_secret("PATH", NULL));
}
