/* test_follow.c - a log followed a poll at a time: where it starts, lines still being
 * written, a file that appears late, rotations (one, two), truncation, long lines, the
 * per-poll cap, names that are not regular files, and a flood read whole. */
#include <criterion/criterion.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "watch/follow.h"

/* ---- helpers ---- */

#define LINES_KEPT 8

/* What the line function saw: the lines joined by '\n', and the first few one by one. */
struct seen {
	char text[1 << 16];
	size_t used, n, n_overlong;
	size_t len[LINES_KEPT];
	bool overlong[LINES_KEPT];
};

static char dir[64], log_path[128], rot_path[136];
static struct seen seen;
static struct follow fw;

static void setup(void)
{
	strcpy(dir, "/tmp/bv-follow.XXXXXX");
	cr_assert_not_null(mkdtemp(dir));
	snprintf(log_path, sizeof log_path, "%s/egress-denials.log", dir);
	snprintf(rot_path, sizeof rot_path, "%s.1", log_path);
	memset(&seen, 0, sizeof seen);
	memset(&fw, 0, sizeof fw);
}

static void teardown(void)
{
	char p[384];
	follow_close(&fw);
	DIR *d = opendir(dir);
	for (struct dirent *e; d && (e = readdir(d));) {
		if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
			continue;
		snprintf(p, sizeof p, "%s/%s", dir, e->d_name);
		if (unlink(p) < 0)
			rmdir(p);
	}
	if (d)
		closedir(d);
	rmdir(dir);
}

TestSuite(follow, .init = setup, .fini = teardown);

static void collect(const char *line, size_t len, bool overlong, void *ctx)
{
	struct seen *s = ctx;
	cr_assert_eq(line[len], '\0');
	if (s->n < LINES_KEPT) {
		s->len[s->n] = len;
		s->overlong[s->n] = overlong;
	}
	s->n++;
	s->n_overlong += overlong;
	cr_assert_lt(s->used + len + 1, sizeof s->text);
	memcpy(s->text + s->used, line, len);
	s->used += len;
	s->text[s->used++] = '\n';
	s->text[s->used] = '\0';
}

static void put(const char *path, const char *mode, const char *text)
{
	FILE *f = fopen(path, mode);
	cr_assert_not_null(f, "%s", path);
	fputs(text, f);
	fclose(f);
}

static void append(const char *text)
{
	put(log_path, "a", text);
}

/* What smolvm's record_denial does past 8 MiB: the live file becomes .1. */
static void rotate(void)
{
	cr_assert_eq(rename(log_path, rot_path), 0);
}

static void open_ok(bool at_end)
{
	struct bv_error err = { 0 };
	cr_assert_eq(follow_open(&fw, log_path, at_end, &err), 0, "%s", err.msg);
}

static int poll_max(size_t max)
{
	struct bv_error err = { 0 };
	int r = follow_poll(&fw, max, collect, &seen, &err);
	cr_assert(r >= 0 || r == -ESTALE, "%d: %s", r, err.msg);
	return r;
}

static void poll_caught_up(void)
{
	cr_assert_eq(poll_max(0), 0);
}

/* ---- where reading starts ---- */

Test(follow, at_end_skips_the_lines_already_there)
{
	append("old 1\nold 2\n");
	open_ok(true);
	poll_caught_up();
	cr_assert_eq(seen.n, 0);
	append("new\n");
	poll_caught_up();
	cr_assert_str_eq(seen.text, "new\n");
}

Test(follow, at_end_skips_the_rest_of_a_line_the_end_cuts)
{
	append("old 1\nold 2 half");
	open_ok(true);
	append(" done\nnew\n");
	poll_caught_up();
	cr_assert_str_eq(seen.text, "new\n");
}

Test(follow, from_the_start_reads_the_lines_already_there)
{
	append("old 1\nold 2\n");
	open_ok(false);
	poll_caught_up();
	cr_assert_str_eq(seen.text, "old 1\nold 2\n");
	cr_assert_eq(fw.n_lines, 2);
	cr_assert_eq(fw.n_bytes, 12);
}

Test(follow, a_last_line_without_its_newline_is_held_until_it_arrives)
{
	append("a\nb");
	open_ok(false);
	poll_caught_up();
	cr_assert_str_eq(seen.text, "a\n");
	append("c");
	poll_caught_up();
	cr_assert_eq(seen.n, 1);
	append("\n");
	poll_caught_up();
	cr_assert_str_eq(seen.text, "a\nbc\n");
}

Test(follow, a_missing_file_is_read_from_its_first_byte_once_created)
{
	open_ok(true);
	poll_caught_up();
	append("x\ny\n");
	poll_caught_up();
	cr_assert_str_eq(seen.text, "x\ny\n");
}

Test(follow, a_file_created_and_rotated_before_the_first_poll_is_read_whole)
{
	put(rot_path, "w", "older run\n");
	open_ok(true);
	append("first\n");
	rotate();
	append("second\n");
	poll_caught_up();
	cr_assert_str_eq(seen.text, "first\nsecond\n");
	cr_assert_eq(fw.n_rotations, 1);
}

/* ---- rotation ---- */

Test(follow, one_rotation_between_polls_passes_every_line_in_order)
{
	append("a\n");
	open_ok(false);
	poll_caught_up();
	append("b\n");
	rotate();
	append("c\n");
	poll_caught_up();
	cr_assert_str_eq(seen.text, "a\nb\nc\n");
	cr_assert_eq(fw.n_rotations, 1);
	cr_assert_eq(fw.n_losses, 0);
}

Test(follow, a_rotation_with_bytes_still_unread_passes_the_old_bytes_first)
{
	append("old 1\nold 2\nold 3\n");
	open_ok(false);
	cr_assert_eq(poll_max(4), 1);
	rotate();
	append("new 1\n");
	poll_caught_up();
	cr_assert_str_eq(seen.text, "old 1\nold 2\nold 3\nnew 1\n");
	cr_assert_eq(fw.n_rotations, 1);
}

Test(follow, two_rotations_between_polls_are_a_loss_and_reading_goes_on)
{
	struct bv_error err = { 0 };
	append("a\n");
	open_ok(false);
	poll_caught_up();
	rotate();
	append("b\n");
	rotate();
	append("c\n");
	cr_assert_eq(follow_poll(&fw, 0, collect, &seen, &err), -ESTALE);
	cr_assert_eq(err.code, ESTALE);
	cr_assert_eq(fw.n_losses, 1);
	append("d\n");
	poll_caught_up();
	cr_assert_str_eq(seen.text, "a\nd\n");
}

Test(follow, a_truncated_file_is_a_loss_and_reading_goes_on)
{
	append("aaa\nbbb\n");
	open_ok(false);
	poll_caught_up();
	put(log_path, "w", "c\n");
	cr_assert_eq(poll_max(0), -ESTALE);
	cr_assert_eq(fw.n_losses, 1);
	append("d\n");
	poll_caught_up();
	cr_assert_str_eq(seen.text, "aaa\nbbb\nd\n");
}

/* ---- long lines, the cap, a flood ---- */

Test(follow, a_10000_byte_line_is_passed_once_cut_and_flagged)
{
	static char big[10000 + 8];
	memset(big, 'x', 10000);
	strcpy(big + 10000, "\nok\n");
	append(big);
	open_ok(false);
	poll_caught_up();
	cr_assert_eq(seen.n, 2);
	cr_assert_eq(seen.len[0], FOLLOW_LINE_MAX);
	cr_assert(seen.overlong[0]);
	cr_assert_eq(strspn(seen.text, "x"), FOLLOW_LINE_MAX);
	cr_assert_not(seen.overlong[1]);
	cr_assert_str_eq(seen.text + FOLLOW_LINE_MAX, "\nok\n");
	cr_assert_eq(fw.n_overlong, 1);
}

Test(follow, a_line_of_exactly_the_maximum_is_not_overlong)
{
	static char line[FOLLOW_LINE_MAX + 2];
	memset(line, 'y', FOLLOW_LINE_MAX);
	line[FOLLOW_LINE_MAX] = '\n';
	append(line);
	open_ok(false);
	poll_caught_up();
	cr_assert_eq(seen.n, 1);
	cr_assert_eq(seen.len[0], FOLLOW_LINE_MAX);
	cr_assert_not(seen.overlong[0]);
}

Test(follow, the_byte_cap_stops_a_poll_and_the_next_goes_on_exactly)
{
	append("line1\nline2\nline3\n");
	open_ok(false);
	cr_assert_eq(poll_max(8), 1);
	cr_assert_str_eq(seen.text, "line1\n");
	cr_assert_eq(poll_max(8), 1);
	cr_assert_str_eq(seen.text, "line1\nline2\n");
	cr_assert_eq(poll_max(8), 0);
	cr_assert_str_eq(seen.text, "line1\nline2\nline3\n");
	cr_assert_eq(fw.n_bytes, 18);
}

struct flood {
	size_t n;
	bool in_order;
};

static void count(const char *line, size_t len, bool overlong, void *ctx)
{
	struct flood *fl = ctx;
	char want[32];
	int n = snprintf(want, sizeof want, "denial %06zu", fl->n++);
	fl->in_order &= !overlong && len == (size_t)n && memcmp(line, want, len) == 0;
}

Test(follow, a_hundred_thousand_lines_in_one_poll_all_arrive)
{
	struct bv_error err = { 0 };
	struct flood fl = { .in_order = true };
	FILE *f = fopen(log_path, "w");
	cr_assert_not_null(f);
	for (size_t i = 0; i < 100000; i++)
		fprintf(f, "denial %06zu\n", i);
	fclose(f);
	open_ok(false);
	cr_assert_eq(follow_poll(&fw, 0, count, &fl, &err), 0, "%s", err.msg);
	cr_assert_eq(fl.n, 100000);
	cr_assert(fl.in_order);
	cr_assert_eq(fw.n_lines, 100000);
}

/* ---- what is not followed ---- */

Test(follow, a_symlink_is_refused_with_eloop)
{
	struct bv_error err = { 0 };
	char target[160];
	snprintf(target, sizeof target, "%s/target", dir);
	put(target, "w", "a\n");
	cr_assert_eq(symlink(target, log_path), 0);
	cr_assert_eq(follow_open(&fw, log_path, false, &err), -ELOOP);
	cr_assert_eq(err.code, ELOOP);
}

Test(follow, a_directory_is_refused_with_einval)
{
	struct bv_error err = { 0 };
	cr_assert_eq(mkdir(log_path, 0700), 0);
	cr_assert_eq(follow_open(&fw, log_path, false, &err), -EINVAL);
	cr_assert_eq(err.code, EINVAL);
}

Test(follow, close_is_safe_on_a_zeroed_follower_and_twice)
{
	struct follow zero;
	int stdin_flags = fcntl(0, F_GETFD);
	memset(&zero, 0, sizeof zero);
	follow_close(&zero);
	cr_assert_eq(fcntl(0, F_GETFD), stdin_flags, "a zeroed follower closed fd 0");
	append("a\n");
	open_ok(false);
	follow_close(&fw);
	follow_close(&fw);
	cr_assert_eq(fw.fd, -1);
}

Test(follow, a_closed_follower_refuses_to_poll)
{
	struct bv_error err = { 0 };
	open_ok(false);
	follow_close(&fw);
	cr_assert_eq(follow_poll(&fw, 0, collect, &seen, &err), -EBADF);
}
