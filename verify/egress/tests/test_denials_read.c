/* test_denials_read.c - egress-denials.log read between a mark and now: appends, a file
 * created after the mark, one rotation, two, a line still being written, the caps. */
#include <criterion/criterion.h>
#include <criterion/parameterized.h>
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "egress/denials.h"
#include "denials_test.h"

#define TS "[2026-08-13T02:31:05Z]: "
#define HEAD TS "egress policy denied "

/* ---- helpers ---- */



static char dir[64];
static struct denials_mark the_mark = { .fd = -1, .rot_fd = -1 };

static void setup(void)
{
	strcpy(dir, "/tmp/bv-denials.XXXXXX");
	cr_assert_not_null(mkdtemp(dir));
}

static void teardown(void)
{
	char p[160];
	denials_mark_release(&the_mark);
	for (int rot = 0; rot < 2; rot++) {
		denials_path(dir, rot, p, sizeof p);
		unlink(p);
	}
	rmdir(dir);
}

static void put(bool rotated, const char *mode, const char *text)
{
	char p[160];
	cr_assert_eq(denials_path(dir, rotated, p, sizeof p), 0);
	FILE *f = fopen(p, mode);
	cr_assert_not_null(f, "%s", p);
	fputs(text, f);
	fclose(f);
}

/* What smolvm's record_denial does past 8 MiB: the live file becomes .1. */
static void rotate(void)
{
	char live[160], rot[160];
	denials_path(dir, false, live, sizeof live);
	denials_path(dir, true, rot, sizeof rot);
	cr_assert_eq(rename(live, rot), 0);
}

/* The one mark a test takes (the_mark); teardown releases it. */
static struct denials_mark mark(void)
{
	struct bv_error err = { 0 };
	cr_assert_eq(denials_mark(dir, &the_mark, &err), 0, "%s", err.msg);
	return the_mark;
}

static struct denial_set read_ok(const struct denials_mark *m)
{
	struct denial_set s = { 0 };
	struct bv_error err = { 0 };
	cr_assert_eq(denials_read_since(dir, m, &s, &err), 0, "%s", err.msg);
	return s;
}

static int read_err(const struct denials_mark *m, struct bv_error *err)
{
	struct denial_set s = { 0 };
	int r = denials_read_since(dir, m, &s, err);
	denial_set_free(&s);
	return r;
}

/* ---- mark and read ---- */

TestSuite(denials_read_since, .init = setup, .fini = teardown);
TestSuite(denials_mark, .init = setup, .fini = teardown);

Test(denials_read_since, reads_only_what_was_appended_after_the_mark)
{
	put(false, "w", HEAD "connect to 1.1.1.1:80\n");
	struct denials_mark m = mark();
	cr_assert(m.present);
	put(false, "a", HEAD "connect to 2.2.2.2:80\n");
	struct denial_set s = read_ok(&m);
	cr_assert_eq(s.n_denials, 1);
	cr_assert(has(&s, DENIAL_CONNECT, "2.2.2.2", 80));
	cr_assert_not(has(&s, DENIAL_CONNECT, "1.1.1.1", 80));
	denial_set_free(&s);
}

Test(denials_read_since, nothing_appended_reads_nothing)
{
	put(false, "w", HEAD "connect to 1.1.1.1:80\n");
	struct denials_mark m = mark();
	struct denial_set s = read_ok(&m);
	cr_assert_eq(s.n_denials + s.n_malformed + s.n_ignored, 0);
	denial_set_free(&s);
}

Test(denials_read_since, no_file_at_all_reads_nothing)
{
	struct denials_mark m = mark();
	cr_assert_not(m.present);
	struct denial_set s = read_ok(&m);
	cr_assert_eq(s.n_denials + s.n_malformed, 0);
	denial_set_free(&s);
}

Test(denials_read_since, a_file_created_after_the_mark_is_read_whole)
{
	struct denials_mark m = mark();
	put(false, "w", HEAD "sendto 3.3.3.3:9\n");
	struct denial_set s = read_ok(&m);
	cr_assert(has(&s, DENIAL_SENDTO, "3.3.3.3", 9));
	denial_set_free(&s);
}

Test(denials_read_since, a_rotated_file_older_than_an_absent_mark_is_not_read)
{
	put(true, "w", HEAD "sendto 1.1.1.1:9\n");
	struct denials_mark m = mark();
	put(false, "w", HEAD "sendto 3.3.3.3:9\n");
	struct denial_set s = read_ok(&m);
	cr_assert_eq(s.n_denials, 1);
	cr_assert_not(has(&s, DENIAL_SENDTO, "1.1.1.1", 9));
	denial_set_free(&s);
}

Test(denials_read_since, a_file_created_and_rotated_after_an_absent_mark_is_read_whole)
{
	struct denials_mark m = mark();
	put(false, "w", HEAD "sendto 1.1.1.1:9\n");
	rotate();
	put(false, "w", HEAD "sendto 3.3.3.3:9\n");
	struct denial_set s = read_ok(&m);
	cr_assert(has(&s, DENIAL_SENDTO, "1.1.1.1", 9));
	cr_assert(has(&s, DENIAL_SENDTO, "3.3.3.3", 9));
	denial_set_free(&s);
}

Test(denials_read_since, a_rotation_reads_the_rest_of_dot_1_and_the_new_file)
{
	put(false, "w", HEAD "connect to 1.1.1.1:80\n");
	struct denials_mark m = mark();
	put(false, "a", HEAD "connect to 2.2.2.2:80\n");
	rotate();
	put(false, "w", HEAD "connect to 3.3.3.3:80\n");
	struct denial_set s = read_ok(&m);
	cr_assert_eq(s.n_denials, 2);
	cr_assert_not(has(&s, DENIAL_CONNECT, "1.1.1.1", 80));
	cr_assert(has(&s, DENIAL_CONNECT, "2.2.2.2", 80));
	cr_assert(has(&s, DENIAL_CONNECT, "3.3.3.3", 80));
	denial_set_free(&s);
}

Test(denials_read_since, a_rotation_with_no_new_file_yet_reads_the_rest_of_dot_1)
{
	put(false, "w", HEAD "connect to 1.1.1.1:80\n");
	struct denials_mark m = mark();
	put(false, "a", HEAD "connect to 2.2.2.2:80\n");
	rotate();
	struct denial_set s = read_ok(&m);
	cr_assert_eq(s.n_denials, 1);
	cr_assert(has(&s, DENIAL_CONNECT, "2.2.2.2", 80));
	denial_set_free(&s);
}

Test(denials_read_since, two_rotations_are_stale)
{
	put(false, "w", HEAD "connect to 1.1.1.1:80\n");
	struct denials_mark m = mark();
	rotate();
	put(false, "w", HEAD "connect to 2.2.2.2:80\n");
	rotate();
	put(false, "w", HEAD "connect to 3.3.3.3:80\n");
	struct bv_error err = { 0 };
	cr_assert_eq(read_err(&m, &err), -ESTALE);
	cr_assert(strstr(err.msg, "incomplete") != NULL, "%s", err.msg);
}

Test(denials_read_since, a_replaced_file_is_stale)
{
	char p[160];
	put(false, "w", HEAD "connect to 1.1.1.1:80\n");
	struct denials_mark m = mark();
	denials_path(dir, false, p, sizeof p);
	cr_assert_eq(unlink(p), 0);
	put(false, "w", HEAD "connect to 1.1.1.1:80\n" HEAD "connect to 2.2.2.2:80\n");
	cr_assert_eq(read_err(&m, NULL), -ESTALE);
}

Test(denials_read_since, a_file_shrunk_below_the_mark_is_stale)
{
	char p[160];
	put(false, "w", HEAD "connect to 1.1.1.1:80\n");
	struct denials_mark m = mark();
	denials_path(dir, false, p, sizeof p);
	cr_assert_eq(truncate(p, 3), 0);
	cr_assert_eq(read_err(&m, NULL), -ESTALE);
}

Test(denials_read_since, a_line_still_being_written_is_left_out)
{
	struct denials_mark m = mark();
	put(false, "w", HEAD "connect to 1.1.1.1:80\n" HEAD "connect to 2.2.2.2:8");
	struct denial_set s = read_ok(&m);
	cr_assert_eq(s.n_denials, 1);
	cr_assert_eq(s.n_malformed, 0);
	cr_assert(s.partial);
	denial_set_free(&s);
}

Test(denials_read_since, a_line_cut_by_the_mark_belongs_before_it)
{
	/* record_denial writes the text, then the newline: the mark can fall between */
	put(false, "w", HEAD "connect to 1.1.1.1:80\n" HEAD "connect to 2.2.2.2:80");
	struct denials_mark m = mark();
	put(false, "a", "\n" HEAD "connect to 3.3.3.3:80\n");
	struct denial_set s = read_ok(&m);
	cr_assert_eq(s.n_denials, 1);
	cr_assert_eq(s.n_malformed, 0);
	cr_assert(has(&s, DENIAL_CONNECT, "3.3.3.3", 80));
	denial_set_free(&s);
}

Test(denials_read_since, a_dot_1_cut_short_counts_its_tail_as_malformed)
{
	put(false, "w", HEAD "connect to 1.1.1.1:80\n");
	struct denials_mark m = mark();
	put(false, "a", HEAD "connect to 2.2.2.2:8");
	rotate();
	put(false, "w", HEAD "connect to 3.3.3.3:80\n");
	struct denial_set s = read_ok(&m);
	cr_assert_eq(s.n_malformed, 1);
	cr_assert_eq(s.n_denials, 1);
	cr_assert_not(s.partial);
	denial_set_free(&s);
}

Test(denials_read_since, more_than_the_read_cap_is_an_error)
{
	char p[160];
	struct denials_mark m = mark();
	denials_path(dir, false, p, sizeof p);
	int fd = open(p, O_WRONLY | O_CREAT, 0600);
	cr_assert_geq(fd, 0);
	cr_assert_eq(ftruncate(fd, DENIALS_READ_MAX + 1), 0); /* sparse */
	close(fd);
	struct bv_error err = { 0 };
	cr_assert_eq(read_err(&m, &err), -EFBIG);
	cr_assert_eq(err.code, EFBIG);
}

Test(denials_read_since, up_to_the_read_cap_is_read)
{
	char p[160];
	struct denials_mark m = mark();
	denials_path(dir, false, p, sizeof p);
	int fd = open(p, O_WRONLY | O_CREAT, 0600);
	cr_assert_geq(fd, 0);
	cr_assert_eq(ftruncate(fd, DENIALS_ROTATE_BYTES), 0); /* NUL bytes: one malformed line */
	close(fd);
	put(false, "a", "\n" HEAD "connect to 2.2.2.2:80\n");
	struct denial_set s = read_ok(&m);
	cr_assert_eq(s.n_malformed, 1);
	cr_assert(has(&s, DENIAL_CONNECT, "2.2.2.2", 80));
	denial_set_free(&s);
}

Test(denials_mark, a_symlinked_log_is_refused)
{
	char p[160];
	denials_path(dir, false, p, sizeof p);
	cr_assert_eq(symlink("/etc/hostname", p), 0);
	struct bv_error err = { 0 };
	cr_assert_eq(denials_mark(dir, &the_mark, &err), -ELOOP);
	cr_assert_eq(the_mark.fd, -1);
}

Test(denials_read_since, a_log_symlinked_after_the_mark_is_refused)
{
	char p[160];
	struct denials_mark m = mark();
	denials_path(dir, false, p, sizeof p);
	cr_assert_eq(symlink("/etc/hostname", p), 0);
	cr_assert_eq(read_err(&m, NULL), -ELOOP);
	unlink(p);
}

Test(denials_path, names_the_live_and_the_rotated_file)
{
	char p[64];
	cr_assert_eq(denials_path("/d", false, p, sizeof p), 0);
	cr_assert_str_eq(p, "/d/egress-denials.log");
	cr_assert_eq(denials_path("/d", true, p, sizeof p), 0);
	cr_assert_str_eq(p, "/d/egress-denials.log.1");
}

Test(denials_path, too_long_is_an_error)
{
	char p[16];
	cr_assert_eq(denials_path("/a/long/data/dir", false, p, sizeof p), -ENAMETOOLONG);
}
