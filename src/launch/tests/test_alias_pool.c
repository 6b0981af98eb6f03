/* The alias pool: lowest free, reuse after release, stale leases reclaimed, live ones
 * kept, exhaustion, one lease per machine, and no alias handed out twice under 32
 * concurrent takers. */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "launch/alias_pool.h"

static char dir[64];

static void mkpool(void)
{
	snprintf(dir, sizeof dir, "/tmp/bv-pool.XXXXXX");
	cr_assert_not_null(mkdtemp(dir));
}

static void rmpool(void)
{
	char cmd[128];
	snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
	if (strncmp(dir, "/tmp/bv-pool.", 13) == 0)
		(void)!system(cmd); /* test cleanup only */
}

static bool never_stale(const struct lease *l, void *ctx) { (void)l; (void)ctx; return false; }
static bool always_stale(const struct lease *l, void *ctx) { (void)l; (void)ctx; return true; }
static bool stale_if_named(const struct lease *l, void *ctx) { return strcmp(l->machine, ctx) == 0; }

static void take(const char *m, const char *want)
{
	char a[16];
	struct bv_error err = { 0 };
	cr_assert_eq(alias_pool_acquire(dir, m, never_stale, NULL, false, a, &err), 0, "%s", err.msg);
	cr_assert_str_eq(a, want);
}

TestSuite(alias_pool, .init = mkpool, .fini = rmpool);

Test(alias_pool, lowest_free_first_and_reused_after_release)
{
	take("a", "127.0.0.16");
	take("b", "127.0.0.17");
	cr_assert_eq(alias_pool_release(dir, "a", NULL), 1);
	take("c", "127.0.0.16");
	cr_assert_eq(alias_pool_release(dir, "nobody", NULL), 0);
}

Test(alias_pool, one_lease_per_machine)
{
	char a[16];
	take("a", "127.0.0.16");
	cr_assert_eq(alias_pool_acquire(dir, "a", never_stale, NULL, false, a, NULL), -EEXIST);
	cr_assert_str_eq(a, "127.0.0.16");
}

Test(alias_pool, exhaustion_names_the_holders)
{
	char name[8], a[16];
	for (int i = 0; i < 16; i++) {
		snprintf(name, sizeof name, "m%d", i);
		struct bv_error err = { 0 };
		cr_assert_eq(alias_pool_acquire(dir, name, never_stale, NULL, false, a, &err), 0, "%s", err.msg);
	}
	struct bv_error err = { 0 };
	cr_assert_eq(alias_pool_acquire(dir, "late", never_stale, NULL, false, a, &err), -EBUSY);
	cr_assert(strstr(err.msg, "exhausted") && strstr(err.msg, "127.0.0.31=m15"), "%s", err.msg);
}

Test(alias_pool, stale_leases_are_reclaimed_live_ones_kept)
{
	take("gone", "127.0.0.16");
	take("alive", "127.0.0.17");
	char a[16];
	cr_assert_eq(alias_pool_acquire(dir, "new", stale_if_named, "gone", false, a, NULL), 0);
	cr_assert_str_eq(a, "127.0.0.16", "the stale lease of 'gone' was reclaimed");
	cr_assert_eq(alias_pool_acquire(dir, "new2", stale_if_named, "gone", false, a, NULL), 0);
	cr_assert_str_eq(a, "127.0.0.18", "the live lease of 'alive' was kept");
}

Test(alias_pool, dry_run_writes_nothing)
{
	char a[16];
	cr_assert_eq(alias_pool_acquire(dir, "a", never_stale, NULL, true, a, NULL), 0);
	cr_assert_str_eq(a, "127.0.0.16");
	take("b", "127.0.0.16");
	cr_assert_eq(alias_pool_acquire(dir, "c", always_stale, NULL, true, a, NULL), 0);
	cr_assert_str_eq(a, "127.0.0.16", "a dry run may reclaim in its plan ...");
	take("d", "127.0.0.17"); /* ... but did not: b still holds .16 */
}

Test(alias_pool, a_malformed_lease_counts_as_held)
{
	char path[128], a[16];
	snprintf(path, sizeof path, "%s/127.0.0.16.lease", dir);
	FILE *f = fopen(path, "w");
	fputs("garbage\n", f);
	fclose(f);
	cr_assert_eq(alias_pool_acquire(dir, "a", always_stale, NULL, false, a, NULL), 0);
	cr_assert_str_eq(a, "127.0.0.17");
}

Test(alias_pool, thirty_two_concurrent_takers_get_sixteen_distinct_aliases)
{
	int out[2];
	cr_assert_eq(pipe(out), 0);
	for (int i = 0; i < 32; i++) {
		if (fork() == 0) {
			char name[8], a[16] = "";
			snprintf(name, sizeof name, "c%d", i);
			int r = alias_pool_acquire(dir, name, never_stale, NULL, false, a, NULL);
			char line[32];
			int n = snprintf(line, sizeof line, "%s\n", r == 0 ? a : r == -EBUSY ? "busy" : "error");
			(void)!write(out[1], line, (size_t)n);
			_exit(0);
		}
	}
	close(out[1]);
	while (wait(NULL) > 0)
		;
	char buf[2048] = "";
	size_t len = 0;
	ssize_t n;
	while ((n = read(out[0], buf + len, sizeof buf - 1 - len)) > 0)
		len += (size_t)n;
	buf[len] = '\0';
	int seen[256] = { 0 }, busy = 0, got = 0;
	for (char *tok = strtok(buf, "\n"); tok; tok = strtok(NULL, "\n")) {
		unsigned o;
		if (strcmp(tok, "busy") == 0)
			busy++;
		else if (sscanf(tok, "127.0.0.%u", &o) == 1 && o < 256) {
			cr_assert_eq(seen[o]++, 0, "127.0.0.%u handed out twice", o);
			got++;
		}
	}
	cr_assert_eq(got, 16);
	cr_assert_eq(busy, 16);
}

/* The lease dir is the launcher's alone: what others can write there could steer it. */
Test(alias_pool, a_lease_dir_others_can_write_is_refused)
{
	char alias[16];
	struct bv_error err = { 0 };
	cr_assert_eq(chmod(dir, 0777), 0);
	cr_assert_eq(alias_pool_acquire(dir, "m1", never_stale, NULL, false, alias, &err), -EPERM);
	cr_assert(strstr(err.msg, "chmod 700"), "%s", err.msg);
	cr_assert_eq(chmod(dir, 0700), 0);
}

Test(alias_pool, a_lease_dir_that_is_a_symlink_is_refused)
{
	char link[96];
	struct bv_error err = { 0 };
	snprintf(link, sizeof link, "%s-link", dir);
	cr_assert_eq(symlink(dir, link), 0);
	cr_assert_eq(alias_pool_make_dir(link, &err), -EPERM);
	unlink(link);
}
