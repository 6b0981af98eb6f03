/* Where bottle-verify finds bottle-probe without --probe: beside itself, else
 * ../lib/bottle-verify/ from there; never a file that is not executable. */
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "egress/probe_path.h"

static char top[64], bin[96], lib[128];

/* TOP/bin (bottle-verify's dir) and TOP/lib/bottle-verify, both empty. */
static void make_tree(void)
{
	snprintf(top, sizeof top, "/tmp/bv-probe-path.%d", (int)getpid());
	snprintf(bin, sizeof bin, "%s/bin", top);
	snprintf(lib, sizeof lib, "%s/lib", top);
	cr_assert_eq(mkdir(top, 0700), 0);
	cr_assert_eq(mkdir(bin, 0700), 0);
	cr_assert_eq(mkdir(lib, 0700), 0);
	snprintf(lib, sizeof lib, "%s/lib/bottle-verify", top);
	cr_assert_eq(mkdir(lib, 0700), 0);
}

static void drop_tree(void)
{
	char p[160];
	snprintf(p, sizeof p, "%s/bottle-probe", bin);
	unlink(p);
	snprintf(p, sizeof p, "%s/bottle-probe", lib);
	unlink(p);
	rmdir(lib);
	snprintf(p, sizeof p, "%s/lib", top);
	rmdir(p);
	rmdir(bin);
	rmdir(top);
}

static void put_probe(const char *dir, mode_t mode)
{
	char p[160];
	snprintf(p, sizeof p, "%s/bottle-probe", dir);
	int fd = open(p, O_WRONLY | O_CREAT | O_TRUNC, mode);
	cr_assert_geq(fd, 0);
	close(fd);
	cr_assert_eq(chmod(p, mode), 0);
}

Test(probe_path, the_probe_beside_bottle_verify_comes_first, .init = make_tree, .fini = drop_tree)
{
	struct bv_error err = { 0 };
	char *out = NULL, want[160];
	put_probe(bin, 0755);
	put_probe(lib, 0755);
	cr_assert_eq(probe_path_in(bin, &out, &err), 0, "%s", err.msg);
	snprintf(want, sizeof want, "%s/bottle-probe", bin);
	cr_assert_str_eq(out, want);
	free(out);
}

Test(probe_path, an_install_finds_it_in_lib_bottle_verify_as_a_clean_path, .init = make_tree, .fini = drop_tree)
{
	struct bv_error err = { 0 };
	char *out = NULL, want[160];
	put_probe(lib, 0755);
	cr_assert_eq(probe_path_in(bin, &out, &err), 0, "%s", err.msg);
	snprintf(want, sizeof want, "%s/bottle-probe", lib);
	cr_assert_str_eq(out, want, "no ../ left in the path");
	free(out);
}

Test(probe_path, a_file_that_is_not_executable_is_passed_over, .init = make_tree, .fini = drop_tree)
{
	struct bv_error err = { 0 };
	char *out = NULL, want[160];
	put_probe(bin, 0644);
	put_probe(lib, 0755);
	cr_assert_eq(probe_path_in(bin, &out, &err), 0, "%s", err.msg);
	snprintf(want, sizeof want, "%s/bottle-probe", lib);
	cr_assert_str_eq(out, want);
	free(out);
}

Test(probe_path, none_found_is_enoent_naming_both_places, .init = make_tree, .fini = drop_tree)
{
	struct bv_error err = { 0 };
	char *out = NULL, beside[160];
	put_probe(lib, 0600);
	cr_assert_eq(probe_path_in(bin, &out, &err), -ENOENT);
	cr_assert_null(out);
	snprintf(beside, sizeof beside, "%s/bottle-probe", bin);
	cr_assert(strstr(err.msg, beside), "%s", err.msg);
	cr_assert(strstr(err.msg, "/../lib/bottle-verify/bottle-probe"), "%s", err.msg);
	cr_assert(strstr(err.msg, "--probe"), "%s", err.msg);
}

Test(probe_path, probe_given_is_taken_as_it_is)
{
	struct bv_error err = { 0 };
	char *out = NULL;
	cr_assert_eq(probe_path_find("/nonexistent/bottle-probe", &out, &err), 0, "%s", err.msg);
	cr_assert_str_eq(out, "/nonexistent/bottle-probe");
	free(out);
}
