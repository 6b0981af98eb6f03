/* Report: exit codes, emit failures, out-of-memory, real prove (rendering: test_report_tap.c,
 * test_report_json.c). */
#include <criterion/criterion.h>
#include <cjson/cJSON.h>
#include <errno.h>
#include <spawn.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include "core/report.h"
#include "report_test.h"

extern char **environ;

#include "core/sanitizer.h"


/* ---- exit codes ------------------------------------------------------------------------- */

/* One report_exit test per row: exit_of(a, b, n, must_run) is want. */
#define EXIT_CODE(name, a, b, n, must_run, want) \
	Test(report_exit, name) { cr_assert_eq(exit_of(a, b, n, must_run), want); }

EXIT_CODE(ok_only_is_0, BV_OK, BV_OK, 2, false, 0)
EXIT_CODE(one_not_ok_is_1, BV_OK, BV_NOT_OK, 2, false, 1)
EXIT_CODE(todo_only_is_0, BV_TODO, BV_TODO, 2, false, 0)
EXIT_CODE(todo_with_not_ok_is_1, BV_TODO, BV_NOT_OK, 2, false, 1)
EXIT_CODE(inconclusive_is_2, BV_OK, BV_INCONCLUSIVE, 2, false, 2)
EXIT_CODE(zero_points_is_2, BV_OK, BV_OK, 0, false, 2)
EXIT_CODE(skip_is_0, BV_OK, BV_SKIP, 2, false, 0)
EXIT_CODE(skip_under_must_run_is_1, BV_OK, BV_SKIP, 2, true, 1)

Test(report_exit, not_ok_and_inconclusive_is_2)
{
	cr_assert_eq(exit_of(BV_NOT_OK, BV_INCONCLUSIVE, 2, false), 2);
	cr_assert_eq(exit_of(BV_INCONCLUSIVE, BV_NOT_OK, 2, false), 2);
}

Test(report_exit, error_is_2_with_or_without_points)
{
	struct bv_error e;
	bv_error_set(&e, EINVAL, "usage");
	struct bv_report *r = report_new("t", false);
	report_error(r, &e);
	cr_assert_eq(report_exit_code(r), 2);
	report_add(r, "a", BV_OK, "d");
	cr_assert_eq(report_exit_code(r), 2);
	report_free(r);
}

Test(report_exit, flipped_status_changes_the_code)
{
	struct bv_report *r = report_new("t", false);
	struct bv_point *p = report_add(r, "a", BV_OK, "d");
	cr_assert_eq(report_exit_code(r), 0);
	point_set_status(p, BV_NOT_OK);
	cr_assert_eq(report_exit_code(r), 1);
	report_free(r);
}

Test(report_exit, null_report_is_2_and_calls_are_no_ops)
{
	cr_assert_null(report_add(NULL, "a", BV_OK, "d"));
	cr_assert_null(report_addf(NULL, "a", BV_OK, "%s", "d"));
	point_field(NULL, "k", "v");
	point_fieldf(NULL, "k", "%d", 1);
	point_set_reason(NULL, "r");
	point_set_status(NULL, BV_OK);
	report_note(NULL, "n");
	report_error(NULL, NULL);
	cr_assert_eq(report_count(NULL), 0);
	cr_assert_eq(report_exit_code(NULL), 2);
	report_free(NULL);
}

Test(report_exit, status_names)
{
	cr_assert_str_eq(bv_status_name(BV_OK), "ok");
	cr_assert_str_eq(bv_status_name(BV_NOT_OK), "not_ok");
	cr_assert_str_eq(bv_status_name(BV_TODO), "todo");
	cr_assert_str_eq(bv_status_name(BV_SKIP), "skip");
	cr_assert_str_eq(bv_status_name(BV_INCONCLUSIVE), "inconclusive");
}

/* ---- emit failures ---------------------------------------------------------------------- */

Test(report_emit, failing_stream_is_eio)
{
	struct bv_report *r = report_new("t", false);
	report_add(r, "a", BV_OK, "d");
	FILE *f = fopen("/dev/full", "w");
	cr_assert_not_null(f);
	cr_assert_eq(report_emit(r, BV_FORMAT_TAP, f), -EIO);
	fclose(f);
	report_free(r);
}

Test(report_emit, null_report_prints_a_failing_document)
{
	int rc;
	char *s = emit_rc(NULL, BV_FORMAT_TAP, &rc);
	cr_assert_eq(rc, -ENOMEM);
	cr_assert_str_eq(s, "TAP version 13\n1..0 # no checks ran\n"
			    "# error: out of memory: the report is incomplete\n");
	free(s);
}

Test(report_emit, bad_arguments_are_einval)
{
	struct bv_report *r = report_new("t", false);
	cr_assert_eq(report_emit(r, BV_FORMAT_TAP, NULL), -EINVAL);
	cr_assert_eq(report_emit(r, (enum bv_format)9, stdout), -EINVAL);
	report_free(r);
}

/* ---- out of memory ------------------------------------------------------------------------ */

static long fail_at = -1; /* which cJSON allocation fails; -1: none */
static long alloc_count;

static void *failing_malloc(size_t n)
{
	if (alloc_count++ == fail_at)
		return NULL;
	return malloc(n);
}

Test(report_oom, every_failed_json_allocation_is_enomem_and_a_failing_document)
{
	cJSON_Hooks hooks = { .malloc_fn = failing_malloc, .free_fn = free };
	struct bv_report *r = json_sample();
	cJSON_InitHooks(&hooks);
	int rc = -ENOMEM;
	for (fail_at = 0; rc == -ENOMEM && fail_at < 10000; fail_at++) {
		alloc_count = 0;
		char *s = emit_rc(r, BV_FORMAT_JSON, &rc);
		cr_assert(rc == 0 || rc == -ENOMEM, "rc %d", rc);
		long saved = fail_at;
		fail_at = -1;
		cJSON *doc = cJSON_Parse(s);
		cr_assert_not_null(doc, "not JSON after failing allocation %ld: %s", saved, s);
		cr_assert_eq(jnum(doc, "exit_code"), 2);
		cJSON_Delete(doc);
		free(s);
		fail_at = saved;
	}
	cr_assert_eq(rc, 0);
	cr_assert_gt(fail_at, 20, "the fault injection never reached the document");
	cJSON_InitHooks(NULL);
	report_free(r);
}

#ifdef BV_ASAN
/* ASan ignores RLIMIT_AS; instead it refuses every allocation above 64 MB. */
const char *__asan_default_options(void);
const char *__asan_default_options(void)
{
	return "allocator_may_return_null=1:max_allocation_size_mb=64";
}
#endif

#ifndef BV_ASAN
/* valgrind maps its preload library into the process (criterion's workers do not keep
 * LD_PRELOAD, so the environment cannot tell). */
static bool under_valgrind(void)
{
	FILE *f = fopen("/proc/self/maps", "r");
	cr_assert_not_null(f);
	char line[4096];
	bool found = false;
	while (!found && fgets(line, sizeof line, f))
		found = strstr(line, "vgpreload") != NULL;
	fclose(f);
	return found;
}
#endif

/* Make allocations of ~100 MB fail: lower the address-space limit (ASan refuses them by
 * itself, see above). valgrind's allocator honours neither, so there the test skips. */
static struct rlimit squeeze_memory(void)
{
	struct rlimit old;
	cr_assert_eq(getrlimit(RLIMIT_AS, &old), 0);
#ifndef BV_ASAN
	if (under_valgrind())
		cr_skip_test("RLIMIT_AS does not apply under valgrind");
	unsigned long pages = 0;
	FILE *f = fopen("/proc/self/statm", "r");
	cr_assert_not_null(f);
	cr_assert_eq(fscanf(f, "%lu", &pages), 1);
	fclose(f);
	struct rlimit lim = old;
	lim.rlim_cur = pages * (unsigned long)sysconf(_SC_PAGESIZE) + (16UL << 20);
	cr_assert_eq(setrlimit(RLIMIT_AS, &lim), 0);
#endif
	return old;
}

#define HUGE_LEN 100000000

Test(report_oom, failed_add_is_null_and_exit_2)
{
	struct bv_report *r = report_new("t", false);
	report_add(r, "a", BV_OK, "d");
	struct rlimit old = squeeze_memory();
	struct bv_point *p = report_addf(r, "b", BV_OK, "%*s", HUGE_LEN, "");
	setrlimit(RLIMIT_AS, &old);
	cr_assert_null(p);
	cr_assert_eq(report_count(r), 1);
	cr_assert_eq(report_exit_code(r), 2);
	assert_tap_has(r, "# error: out of memory: the report is incomplete\nok 1 - a d\n");
	report_free(r);
}

Test(report_oom, failed_field_makes_exit_2)
{
	struct bv_report *r = report_new("t", false);
	struct bv_point *p = report_add(r, "a", BV_OK, "d");
	struct rlimit old = squeeze_memory();
	point_fieldf(p, "evidence", "%*s", HUGE_LEN, "");
	setrlimit(RLIMIT_AS, &old);
	cr_assert_eq(report_exit_code(r), 2);
	cJSON *doc = emit_json(r);
	const cJSON *errs = cJSON_GetObjectItemCaseSensitive(doc, "errors");
	cr_assert_str_eq(cJSON_GetArrayItem(errs, 0)->valuestring,
			 "out of memory: the report is incomplete");
	cJSON_Delete(doc);
	report_free(r);
}

Test(report_oom, failed_note_makes_exit_2)
{
	struct bv_report *r = report_new("t", false);
	report_add(r, "a", BV_OK, "d");
	struct rlimit old = squeeze_memory();
	report_note(r, "%*s", HUGE_LEN, "");
	setrlimit(RLIMIT_AS, &old);
	cr_assert_eq(report_exit_code(r), 2);
	report_free(r);
}

/* ---- the real prove ------------------------------------------------------------------------ */

/* Run argv with stdout and stderr into *out; returns the exit status (128+sig if killed). */
static int run_capture(char *const argv[], char **out)
{
	int pfd[2];
	cr_assert_eq(pipe(pfd), 0);
	posix_spawn_file_actions_t fa;
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_adddup2(&fa, pfd[1], STDOUT_FILENO);
	posix_spawn_file_actions_adddup2(&fa, pfd[1], STDERR_FILENO);
	posix_spawn_file_actions_addclose(&fa, pfd[0]);
	posix_spawn_file_actions_addclose(&fa, pfd[1]);
	pid_t pid;
	int e = posix_spawnp(&pid, argv[0], &fa, NULL, argv, environ);
	posix_spawn_file_actions_destroy(&fa);
	close(pfd[1]);
	cr_assert_eq(e, 0, "cannot run %s: %s", argv[0], strerror(e));
	size_t len = 0;
	FILE *m = open_memstream(out, &len);
	char buf[4096];
	ssize_t n;
	while ((n = read(pfd[0], buf, sizeof buf)) > 0)
		fwrite(buf, 1, (size_t)n, m);
	fclose(m);
	close(pfd[0]);
	int status;
	cr_assert_eq(waitpid(pid, &status, 0), pid);
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

/* Emit r as TAP to a temporary file and run `prove -v -e cat FILE` on it. */
static int prove(const struct bv_report *r, char **out)
{
	const char *dir = getenv("TMPDIR");
	char path[4096];
	snprintf(path, sizeof path, "%s/bv-report-XXXXXX", dir && *dir ? dir : "/tmp");
	int fd = mkstemp(path);
	cr_assert_geq(fd, 0);
	FILE *f = fdopen(fd, "w");
	cr_assert_not_null(f);
	cr_assert_eq(report_emit(r, BV_FORMAT_TAP, f), 0);
	cr_assert_eq(fclose(f), 0);
	char *argv[] = { "prove", "-v", "-e", "cat", path, NULL };
	int rc = run_capture(argv, out);
	unlink(path);
	return rc;
}

static void assert_clean_parse(const char *out)
{
	cr_assert_null(strstr(out, "Parse errors"), "%s", out);
	cr_assert_null(strstr(out, "Badly formed"), "%s", out);
	cr_assert_null(strstr(out, "Unsupported YAMLish"), "%s", out);
	cr_assert_null(strstr(out, "Unknown TAP token"), "%s", out);
}

/* prove passes (or fails) r, prints summary and parses cleanly; returns its output to free. */
static char *prove_says(const struct bv_report *r, bool passes, const char *summary)
{
	char *out = NULL;
	int rc = prove(r, &out);
	if (passes)
		cr_assert_eq(rc, 0, "prove exited %d:\n%s", rc, out);
	else
		cr_assert_neq(rc, 0, "%s", out);
	cr_assert_not_null(strstr(out, summary), "%s", out);
	assert_clean_parse(out);
	return out;
}

Test(report_prove, passing_report_passes)
{
	struct bv_report *r = report_new("db", false);
	report_note(r, "a note # with hash\nand a second line");
	report_add(r, "a.ok", BV_OK, "confined # TODO not a directive");
	point_set_reason(report_add(r, "a.todo", BV_TODO, "known gap"), "upstream: it's 'open'");
	point_set_reason(report_add(r, "a.skip", BV_SKIP, "KVM present"), "not Linux");
	free(prove_says(r, true, "Result: PASS"));
	report_free(r);
}

Test(report_prove, failing_report_fails_exactly_one_point_and_parses_cleanly)
{
	struct bv_report *r = report_new("db", false);
	report_add(r, "a.ok", BV_OK, "fine");
	struct bv_point *p = report_add(r, "a.bad", BV_NOT_OK, "leak #1\nsecond line");
	point_field(p, "expected", "it's \"quoted\": yes # no comment");
	point_field(p, "actual", "line1\nline2\r\n\ttabbed: \x01\x1b[31m\x7f");
	point_field(p, "evidence", "---\n...\n  - [a]: {b} \\ 'c' \xff\xc3\xa9");
	point_field(p, "remediation", "");
	char *out = prove_says(r, false, "Failed 1/2 subtests");
	cr_assert_not_null(strstr(out, "remediation: ''"), "%s", out);
	free(out);
	report_free(r);
}

Test(report_prove, must_run_skip_inconclusive_and_forged_todo_all_fail)
{
	struct bv_report *r = report_new("db", true);
	report_add(r, "a.ok", BV_OK, "fine");
	point_set_reason(report_add(r, "a.skip", BV_SKIP, "KVM"), "not Linux");
	report_add(r, "a.inc", BV_INCONCLUSIVE, "unreadable");
	report_add(r, "a.forged", BV_NOT_OK, "x # TODO forged");
	free(prove_says(r, false, "Failed 3/4 subtests"));
	report_free(r);
}

Test(report_find, finds_points_by_id_and_counts_a_prefix)
{
	struct bv_report *r = report_new("all", false);
	report_add(r, "egress.control", BV_OK, "c");
	report_add(r, "egress.denied.a", BV_TODO, "a");
	report_add(r, "egress.denied.b", BV_INCONCLUSIVE, "b");
	report_add(r, "db.present", BV_OK, "d");
	cr_assert_not_null(report_find(r, "db.present"));
	cr_assert_null(report_find(r, "db.absent"));
	size_t pass = 0;
	cr_assert_eq(report_prefix_count(r, "egress.", &pass), 3);
	cr_assert_eq(pass, 2, "ok and TODO pass; inconclusive does not");
	cr_assert_eq(report_prefix_count(r, "gate.", &pass), 0);
	cr_assert_eq(pass, 0);
	report_free(r);
}
