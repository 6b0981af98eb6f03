/* Leases and the alias pool: lowest free, reuse after release, stale leases reclaimed,
 * live ones kept, exhaustion, one lease per machine, no alias handed out twice under 32
 * concurrent takers; an explicit address takes its own lease and is refused while another
 * machine holds it by a lease or by its allowlist, which the pool skips too. */
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

/* Another machine's allowlist covers 127.0.0.16, 127.0.0.18 and 192.0.2.10. */
static int hand_made(const char *addr, void *ctx, struct addr_owner *o, struct bv_error *err)
{
	(void)ctx;
	(void)err;
	if (strcmp(addr, "127.0.0.16") && strcmp(addr, "127.0.0.18") && strcmp(addr, "192.0.2.10"))
		return 0;
	snprintf(o->machine, sizeof o->machine, "hand");
	snprintf(o->how, sizeof o->how, "its allowlist has %s/32", addr);
	return 1;
}

static int db_unreadable(const char *addr, void *ctx, struct addr_owner *o, struct bv_error *err)
{
	(void)addr;
	(void)ctx;
	(void)o;
	return bv_error_set(err, EIO, "state DB unreadable");
}

/* alias_pool_acquire for m: addr NULL for a pool alias. */
static int acquire(const char *m, const char *addr, lease_stale_fn stale, void *sctx, addr_taken_fn taken,
		   bool dry_run, struct lease_grant *g, struct bv_error *err)
{
	struct lease_req q = { .dir = dir, .machine = m, .addr = addr, .stale = stale, .stale_ctx = sctx,
			       .taken = taken, .dry_run = dry_run };
	return alias_pool_acquire(&q, g, err);
}

static void take(const char *m, const char *want)
{
	struct lease_grant g;
	struct bv_error err = { 0 };
	cr_assert_eq(acquire(m, NULL, never_stale, NULL, NULL, false, &g, &err), 0, "%s", err.msg);
	cr_assert_str_eq(g.addr, want);
}

static bool leased(const char *addr)
{
	char path[160];
	snprintf(path, sizeof path, "%s/%s.lease", dir, addr);
	return access(path, F_OK) == 0;
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

Test(alias_pool, one_lease_per_machine_granted_again_to_it)
{
	struct lease_grant g;
	take("a", "127.0.0.16");
	cr_assert_eq(acquire("a", NULL, never_stale, NULL, NULL, false, &g, NULL), 0);
	cr_assert_str_eq(g.addr, "127.0.0.16");
	cr_assert(g.kept, "a re-launch of the name keeps its lease");
	cr_assert_eq(acquire("a", "127.0.0.16", never_stale, NULL, NULL, false, &g, NULL), 0);
	cr_assert(g.kept);
	struct bv_error err = { 0 };
	cr_assert_eq(acquire("a", "127.0.0.20", never_stale, NULL, NULL, false, &g, &err), -EEXIST);
	cr_assert(strstr(err.msg, "already holds the lease of 127.0.0.16"), "%s", err.msg);
	cr_assert(!leased("127.0.0.20"));
}

Test(alias_pool, exhaustion_names_the_holders)
{
	char name[8];
	struct lease_grant g;
	for (int i = 0; i < 16; i++) {
		snprintf(name, sizeof name, "m%d", i);
		struct bv_error err = { 0 };
		cr_assert_eq(acquire(name, NULL, never_stale, NULL, NULL, false, &g, &err), 0, "%s", err.msg);
	}
	struct bv_error err = { 0 };
	cr_assert_eq(acquire("late", NULL, never_stale, NULL, NULL, false, &g, &err), -EBUSY);
	cr_assert(strstr(err.msg, "exhausted") && strstr(err.msg, "127.0.0.31=m15"), "%s", err.msg);
}

Test(alias_pool, stale_leases_are_reclaimed_live_ones_kept)
{
	take("gone", "127.0.0.16");
	take("alive", "127.0.0.17");
	struct lease_grant g;
	cr_assert_eq(acquire("new", NULL, stale_if_named, "gone", NULL, false, &g, NULL), 0);
	cr_assert_str_eq(g.addr, "127.0.0.16", "the stale lease of 'gone' was reclaimed");
	cr_assert_eq(g.n_reclaimed, 1);
	cr_assert_str_eq(g.reclaimed[0].machine, "gone");
	cr_assert_eq(acquire("new2", NULL, stale_if_named, "gone", NULL, false, &g, NULL), 0);
	cr_assert_str_eq(g.addr, "127.0.0.18", "the live lease of 'alive' was kept");
}

Test(alias_pool, dry_run_writes_nothing)
{
	struct lease_grant g;
	char sub[96];
	snprintf(sub, sizeof sub, "%s/not-yet", dir);
	struct lease_req q = { .dir = sub, .machine = "a", .dry_run = true };
	cr_assert_eq(alias_pool_acquire(&q, &g, NULL), 0);
	cr_assert_str_eq(g.addr, "127.0.0.16");
	cr_assert_neq(access(sub, F_OK), 0, "a dry run creates no lease dir");
	cr_assert_eq(acquire("a", "192.0.2.10", never_stale, NULL, NULL, true, &g, NULL), 0);
	cr_assert(!leased("192.0.2.10"), "nor an explicit address's lease");
	take("b", "127.0.0.16");
	cr_assert_eq(acquire("c", NULL, always_stale, NULL, NULL, true, &g, NULL), 0);
	cr_assert_str_eq(g.addr, "127.0.0.16", "a dry run may reclaim in its plan ...");
	take("d", "127.0.0.17"); /* ... but did not: b still holds .16 */
}

Test(alias_pool, a_malformed_lease_counts_as_held)
{
	char path[128];
	struct lease_grant g;
	snprintf(path, sizeof path, "%s/127.0.0.16.lease", dir);
	FILE *f = fopen(path, "w");
	fputs("garbage\n", f);
	fclose(f);
	cr_assert_eq(acquire("a", NULL, always_stale, NULL, NULL, false, &g, NULL), 0);
	cr_assert_str_eq(g.addr, "127.0.0.17");
	struct bv_error err = { 0 };
	cr_assert_eq(acquire("b", "127.0.0.16", always_stale, NULL, NULL, false, &g, &err), -EBUSY);
	cr_assert(strstr(err.msg, "malformed"), "%s", err.msg);
}

Test(alias_pool, thirty_two_concurrent_takers_get_sixteen_distinct_aliases)
{
	int out[2];
	cr_assert_eq(pipe(out), 0);
	for (int i = 0; i < 32; i++) {
		if (fork() == 0) {
			char name[8];
			struct lease_grant g;
			snprintf(name, sizeof name, "c%d", i);
			int r = acquire(name, NULL, never_stale, NULL, NULL, false, &g, NULL);
			char line[64];
			int n = snprintf(line, sizeof line, "%s\n", r == 0 ? g.addr : r == -EBUSY ? "busy" : "error");
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
	struct lease_grant g;
	struct bv_error err = { 0 };
	cr_assert_eq(chmod(dir, 0777), 0);
	cr_assert_eq(acquire("m1", NULL, never_stale, NULL, NULL, false, &g, &err), -EPERM);
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

/* --allow ADDR/32: the address's own lease, the pool's or not. */
Test(alias_pool, an_explicit_address_takes_its_own_lease)
{
	struct lease_grant g;
	struct bv_error err = { 0 };
	cr_assert_eq(acquire("x", "127.0.0.20", never_stale, NULL, NULL, false, &g, &err), 0, "%s", err.msg);
	cr_assert_str_eq(g.addr, "127.0.0.20");
	cr_assert(!g.kept);
	cr_assert(leased("127.0.0.20"));
	cr_assert_eq(acquire("y", "192.0.2.10", never_stale, NULL, NULL, false, &g, &err), 0, "%s", err.msg);
	cr_assert(leased("192.0.2.10"));
	cr_assert_eq(acquire("v6", "2001:db8::1", never_stale, NULL, NULL, false, &g, &err), 0, "%s", err.msg);
	cr_assert(leased("2001:db8::1"));
	take("auto", "127.0.0.16");
	cr_assert_eq(alias_pool_release(dir, "x", NULL), 1);
	cr_assert(!leased("127.0.0.20"));
}

Test(alias_pool, the_pool_skips_an_explicitly_leased_alias)
{
	struct lease_grant g;
	cr_assert_eq(acquire("x", "127.0.0.16", never_stale, NULL, NULL, false, &g, NULL), 0);
	take("auto", "127.0.0.17");
}

Test(alias_pool, an_explicit_address_another_machine_leased_is_refused_naming_it)
{
	struct lease_grant g;
	struct bv_error err = { 0 };
	take("first", "127.0.0.16");
	cr_assert_eq(acquire("second", "127.0.0.16", never_stale, NULL, NULL, false, &g, &err), -EBUSY);
	cr_assert(strstr(err.msg, "127.0.0.16 is taken by machine first") && strstr(err.msg, "bottle-launch down first"),
		  "%s", err.msg);
	cr_assert_eq(acquire("y", "192.0.2.10", never_stale, NULL, NULL, false, &g, NULL), 0);
	cr_assert_eq(acquire("z", "192.0.2.10", never_stale, NULL, NULL, false, &g, &err), -EBUSY);
	cr_assert(strstr(err.msg, "machine y"), "%s", err.msg);
	cr_assert_eq(alias_pool_release(dir, "z", NULL), 0, "the refused one holds nothing");
	cr_assert_eq(acquire("z", "192.0.2.10", stale_if_named, "y", NULL, false, &g, &err), 0, "%s", err.msg);
	cr_assert_eq(g.n_reclaimed, 1, "a stale holder's lease is reclaimed");
}

Test(alias_pool, an_explicit_address_another_machines_allowlist_covers_is_refused)
{
	struct lease_grant g;
	struct bv_error err = { 0 };
	cr_assert_eq(acquire("x", "127.0.0.16", never_stale, NULL, hand_made, false, &g, &err), -EBUSY);
	cr_assert(strstr(err.msg, "machine hand (its allowlist has 127.0.0.16/32)") &&
		  strstr(err.msg, "pick another address"), "%s", err.msg);
	cr_assert_eq(acquire("x", "192.0.2.10", never_stale, NULL, hand_made, false, &g, &err), -EBUSY);
	cr_assert(!leased("127.0.0.16") && !leased("192.0.2.10"));
	cr_assert_eq(acquire("x", "192.0.2.11", never_stale, NULL, hand_made, false, &g, &err), 0, "%s", err.msg);
}

Test(alias_pool, the_pool_skips_addresses_another_machines_allowlist_covers)
{
	struct lease_grant g;
	const char *want[] = { "127.0.0.17", "127.0.0.19", "127.0.0.20" };
	for (size_t i = 0; i < 3; i++) {
		char m[8];
		snprintf(m, sizeof m, "m%zu", i);
		cr_assert_eq(acquire(m, NULL, never_stale, NULL, hand_made, false, &g, NULL), 0);
		cr_assert_str_eq(g.addr, want[i]);
	}
}

Test(alias_pool, exhaustion_names_allowlist_holders_too)
{
	struct lease_grant g;
	struct bv_error err = { 0 };
	for (int i = 0; i < 14; i++) {
		char m[8];
		snprintf(m, sizeof m, "m%d", i);
		cr_assert_eq(acquire(m, NULL, never_stale, NULL, hand_made, false, &g, &err), 0, "%s", err.msg);
	}
	cr_assert_eq(acquire("late", NULL, never_stale, NULL, hand_made, false, &g, &err), -EBUSY);
	cr_assert(strstr(err.msg, "127.0.0.16=hand (allowlist)") && strstr(err.msg, "127.0.0.17=m0"), "%s", err.msg);
}

Test(alias_pool, an_unreadable_allowlist_refuses_rather_than_guesses)
{
	struct lease_grant g;
	struct bv_error err = { 0 };
	cr_assert_eq(acquire("x", NULL, never_stale, NULL, db_unreadable, false, &g, &err), -EIO);
	cr_assert_eq(acquire("x", "192.0.2.10", never_stale, NULL, db_unreadable, false, &g, &err), -EIO);
	cr_assert(!leased("127.0.0.16") && !leased("192.0.2.10"));
}

Test(alias_pool, an_address_unusable_as_a_file_name_is_refused)
{
	struct lease_grant g;
	cr_assert_eq(acquire("x", "../x", never_stale, NULL, NULL, false, &g, NULL), -EINVAL);
	cr_assert_eq(acquire("x", "127.0.0.16/32", never_stale, NULL, NULL, false, &g, NULL), -EINVAL);
}
