/* Report: TAP 13 and JSON rendering, escaping, exit codes, out-of-memory, real prove. */
#include <criterion/criterion.h>
#include <cjson/cJSON.h>
#include <errno.h>
#include <spawn.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include "report.h"

extern char **environ;

#include "sanitizer.h"

/* ---- helpers ---------------------------------------------------------------------- */

static char *emit_rc(const struct bv_report *r, enum bv_format fmt, int *rc)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	cr_assert_not_null(f);
	*rc = report_emit(r, fmt, f);
	cr_assert_eq(fclose(f), 0);
	return buf;
}

static char *emit(const struct bv_report *r, enum bv_format fmt)
{
	int rc;
	char *s = emit_rc(r, fmt, &rc);
	cr_assert_eq(rc, 0, "report_emit returned %d", rc);
	return s;
}

static void assert_tap(const struct bv_report *r, const char *expected)
{
	char *s = emit(r, BV_FORMAT_TAP);
	cr_assert_str_eq(s, expected);
	free(s);
}

static void assert_tap_has(const struct bv_report *r, const char *needle)
{
	char *s = emit(r, BV_FORMAT_TAP);
	cr_assert_not_null(strstr(s, needle), "missing %s in:\n%s", needle, s);
	free(s);
}

/* One NOT_OK point carrying field "v" = value; its rendered YAML line must be line. */
static void assert_yaml_value(const char *value, const char *line)
{
	struct bv_report *r = report_new("t", false);
	point_field(report_add(r, "x", BV_NOT_OK, "d"), "v", value);
	assert_tap_has(r, line);
	report_free(r);
}

static cJSON *emit_json(const struct bv_report *r)
{
	char *s = emit(r, BV_FORMAT_JSON);
	size_t len = strlen(s);
	cr_assert(len > 0 && s[len - 1] == '\n', "JSON must end with a newline");
	cJSON *doc = cJSON_Parse(s);
	cr_assert_not_null(doc, "unparsable JSON: %s", s);
	free(s);
	return doc;
}

static const char *jstr(const cJSON *obj, const char *key)
{
	const cJSON *it = cJSON_GetObjectItemCaseSensitive(obj, key);
	cr_assert(cJSON_IsString(it), "member %s is not a string", key);
	return it->valuestring;
}

static double jnum(const cJSON *obj, const char *key)
{
	const cJSON *it = cJSON_GetObjectItemCaseSensitive(obj, key);
	cr_assert(cJSON_IsNumber(it), "member %s is not a number", key);
	return it->valuedouble;
}

static const cJSON *jpoint(const cJSON *doc, int i)
{
	const cJSON *pts = cJSON_GetObjectItemCaseSensitive(doc, "points");
	cr_assert(cJSON_IsArray(pts));
	const cJSON *p = cJSON_GetArrayItem(pts, i);
	cr_assert_not_null(p);
	return p;
}

static int exit_of(enum bv_status a, enum bv_status b, int n, bool must_run)
{
	struct bv_report *r = report_new("t", must_run);
	if (n > 0)
		report_add(r, "a", a, "first");
	if (n > 1)
		report_add(r, "b", b, "second");
	int code = report_exit_code(r);
	report_free(r);
	return code;
}

/* ---- plan and numbering ------------------------------------------------------------- */

Test(report_tap, version_then_plan_then_numbered_points)
{
	struct bv_report *r = report_new("db", false);
	report_add(r, "a.one", BV_OK, "first");
	report_add(r, "a.two", BV_OK, "second");
	report_add(r, "a.three", BV_OK, "third");
	assert_tap(r, "TAP version 13\n1..3\n"
		      "ok 1 - a.one first\nok 2 - a.two second\nok 3 - a.three third\n");
	report_free(r);
}

Test(report_tap, zero_points_plans_nothing)
{
	struct bv_report *r = report_new("db", false);
	assert_tap(r, "TAP version 13\n1..0 # no checks ran\n");
	cr_assert_eq(report_count(r), 0);
	report_free(r);
}

Test(report_tap, addf_formats_the_description)
{
	struct bv_report *r = report_new("db", false);
	report_addf(r, "db.allowed_cidrs.exact", BV_OK, "allowed_cidrs is exactly [%s/%d]",
		    "127.0.0.16", 32);
	assert_tap(r, "TAP version 13\n1..1\n"
		      "ok 1 - db.allowed_cidrs.exact allowed_cidrs is exactly [127.0.0.16/32]\n");
	report_free(r);
}

Test(report_tap, empty_description_prints_only_the_id)
{
	struct bv_report *r = report_new("db", false);
	report_add(r, "a.b", BV_OK, "");
	report_add(r, "a.c", BV_OK, NULL);
	assert_tap(r, "TAP version 13\n1..2\nok 1 - a.b\nok 2 - a.c\n");
	report_free(r);
}

/* ---- each status ---------------------------------------------------------------------- */

Test(report_tap, not_ok_has_yaml_with_id_status_then_fields_in_order)
{
	struct bv_report *r = report_new("db", false);
	struct bv_point *p = report_add(r, "db.x", BV_NOT_OK, "leaks");
	point_field(p, "expected", "a");
	point_field(p, "actual", "b");
	point_fieldf(p, "remediation", "run %s %d", "fix", 3);
	assert_tap(r, "TAP version 13\n1..1\nnot ok 1 - db.x leaks\n"
		      "  ---\n    id: 'db.x'\n    status: 'not_ok'\n    expected: 'a'\n"
		      "    actual: 'b'\n    remediation: 'run fix 3'\n  ...\n");
	report_free(r);
}

Test(report_tap, todo_is_not_ok_with_directive_and_yaml)
{
	struct bv_report *r = report_new("db", false);
	struct bv_point *p = report_add(r, "db.t", BV_TODO, "known gap");
	point_set_reason(p, "upstream bug");
	assert_tap(r, "TAP version 13\n1..1\nnot ok 1 - db.t known gap # TODO upstream bug\n"
		      "  ---\n    id: 'db.t'\n    status: 'todo'\n    reason: 'upstream bug'\n"
		      "  ...\n");
	report_free(r);
}

Test(report_tap, todo_without_reason_has_bare_directive)
{
	struct bv_report *r = report_new("db", false);
	report_add(r, "db.t", BV_TODO, "gap");
	assert_tap_has(r, "not ok 1 - db.t gap # TODO\n  ---\n");
	report_free(r);
}

Test(report_tap, skip_is_ok_with_directive_and_no_yaml)
{
	struct bv_report *r = report_new("db", false);
	point_set_reason(report_add(r, "k.present", BV_SKIP, "KVM"), "not Linux");
	report_add(r, "k.bare", BV_SKIP, "bare");
	assert_tap(r, "TAP version 13\n1..2\nok 1 - k.present KVM # SKIP not Linux\n"
		      "ok 2 - k.bare bare # SKIP\n");
	report_free(r);
}

Test(report_tap, skip_under_must_run_is_not_ok_with_explaining_yaml)
{
	struct bv_report *r = report_new("db", true);
	struct bv_point *p = report_add(r, "k.present", BV_SKIP, "KVM");
	point_set_reason(p, "not Linux");
	point_field(p, "evidence", "uname");
	char *s = emit(r, BV_FORMAT_TAP);
	cr_assert_not_null(strstr(s, "\nnot ok 1 - k.present KVM\n  ---\n    id: 'k.present'\n"
				     "    status: 'skip'\n    reason: '"));
	cr_assert_not_null(strstr(s, "BOTTLE_VERIFY_MUST_RUN=1"));
	cr_assert_not_null(strstr(s, "    skipped_reason: 'not Linux'\n    evidence: 'uname'\n"));
	cr_assert_null(strstr(s, "# SKIP"));
	free(s);
	report_free(r);
}

Test(report_tap, inconclusive_is_not_ok_with_status_inconclusive)
{
	struct bv_report *r = report_new("db", false);
	report_add(r, "db.i", BV_INCONCLUSIVE, "could not read");
	assert_tap(r, "TAP version 13\n1..1\nnot ok 1 - db.i could not read\n"
		      "  ---\n    id: 'db.i'\n    status: 'inconclusive'\n  ...\n");
	report_free(r);
}

Test(report_tap, set_status_flips_the_rendering)
{
	struct bv_report *r = report_new("db", false);
	struct bv_point *p = report_add(r, "a", BV_OK, "d");
	point_set_status(p, BV_NOT_OK);
	cr_assert_eq(point_status(p), BV_NOT_OK);
	assert_tap_has(r, "not ok 1 - a d\n  ---\n    id: 'a'\n    status: 'not_ok'\n");
	report_free(r);
}

Test(report_tap, unknown_status_is_inconclusive)
{
	struct bv_report *r = report_new("db", false);
	struct bv_point *p = report_add(r, "a", (enum bv_status)42, "d");
	cr_assert_eq(point_status(p), BV_INCONCLUSIVE);
	cr_assert_eq(report_exit_code(r), 2);
	report_free(r);
}

/* ---- descriptions ---------------------------------------------------------------------- */

Test(report_desc, hash_is_escaped_so_no_directive_can_be_forged)
{
	struct bv_report *r = report_new("db", false);
	report_add(r, "a#b", BV_NOT_OK, "looks fine # TODO forged");
	assert_tap_has(r, "not ok 1 - a\\#b looks fine \\# TODO forged\n");
	report_free(r);
}

Test(report_desc, backslash_is_doubled)
{
	struct bv_report *r = report_new("db", false);
	report_add(r, "a", BV_OK, "C:\\dir\\ # SKIP x");
	assert_tap_has(r, "ok 1 - a C:\\\\dir\\\\ \\# SKIP x\n");
	report_free(r);
}

Test(report_desc, line_breaks_and_controls_become_spaces)
{
	struct bv_report *r = report_new("db", false);
	report_add(r, "a\nb", BV_OK, "one\ntwo\r\nthree\tfour\x1b\x7f" "five\xc2\x85six\xe2\x80\xa8.");
	assert_tap_has(r, "ok 1 - a b one two  three four  five six .\n");
	report_free(r);
}

Test(report_desc, invalid_utf8_is_hex_and_valid_utf8_passes)
{
	struct bv_report *r = report_new("db", false);
	report_add(r, "a", BV_OK, "caf\xc3\xa9 \xff \xc3");
	assert_tap_has(r, "ok 1 - a caf\xc3\xa9 \\xff \\xc3\n");
	report_free(r);
}

Test(report_desc, reason_is_one_line)
{
	struct bv_report *r = report_new("db", false);
	point_set_reason(report_add(r, "a", BV_SKIP, "d"), "two\nlines");
	assert_tap_has(r, "ok 1 - a d # SKIP two lines\n");
	report_free(r);
}

/* ---- YAML values ----------------------------------------------------------------------- */

Test(report_yaml, single_quotes_are_doubled)
{
	assert_yaml_value("it's 'quoted'", "    v: 'it''s ''quoted'''\n");
}

Test(report_yaml, colons_hashes_and_brackets_stay_inside_the_scalar)
{
	assert_yaml_value("key: value # not a comment [x] {y} - z", "    v: 'key: value # not a comment [x] {y} - z'\n");
}

Test(report_yaml, newline_and_tab_are_rendered_as_escapes)
{
	assert_yaml_value("line1\nline2\tcol", "    v: 'line1\\nline2\\tcol'\n");
}

Test(report_yaml, other_control_bytes_are_hex)
{
	assert_yaml_value("a\x01" "b\rc\x1b" "d\x7f", "    v: 'a\\x01b\\x0dc\\x1bd\\x7f'\n");
}

Test(report_yaml, invalid_utf8_bytes_are_hex)
{
	/* stray continuation, overlong '/', surrogate, truncated sequence at the end */
	assert_yaml_value("\x80|\xc0\xaf|\xed\xa0\x80|\xe2\x82",
			  "    v: '\\x80|\\xc0\\xaf|\\xed\\xa0\\x80|\\xe2\\x82'\n");
}

Test(report_yaml, valid_utf8_passes_and_unicode_breaks_are_escaped)
{
	assert_yaml_value("\xc3\xa9\xe2\x82\xac\xf0\x9f\x94\x92 \xc2\x85 \xe2\x80\xa9",
			  "    v: '\xc3\xa9\xe2\x82\xac\xf0\x9f\x94\x92 \\u0085 \\u2029'\n");
}

Test(report_yaml, backslash_is_doubled_so_the_rendering_is_reversible)
{
	assert_yaml_value("a\\nb", "    v: 'a\\\\nb'\n");
}

Test(report_yaml, null_value_is_empty)
{
	assert_yaml_value(NULL, "    v: ''\n");
}

Test(report_yaml, keys_are_sanitised)
{
	struct bv_report *r = report_new("t", false);
	struct bv_point *p = report_add(r, "x", BV_NOT_OK, "d");
	point_field(p, "Bad Key: #1", "v");
	point_field(p, "", "w");
	point_field(p, "ok.key_2", "z");
	assert_tap_has(r, "    _ad__ey___1: 'v'\n    _: 'w'\n    ok.key_2: 'z'\n");
	report_free(r);
}

Test(report_yaml, reserved_keys_are_renamed)
{
	struct bv_report *r = report_new("t", false);
	struct bv_point *p = report_add(r, "x", BV_NOT_OK, "d");
	point_field(p, "id", "fake");
	point_field(p, "status", "ok");
	assert_tap_has(r, "    id: 'x'\n    status: 'not_ok'\n"
			  "    field.id: 'fake'\n    field.status: 'ok'\n  ...\n");
	report_free(r);
}

Test(report_yaml, setting_a_key_twice_replaces_in_place)
{
	struct bv_report *r = report_new("t", false);
	struct bv_point *p = report_add(r, "x", BV_NOT_OK, "d");
	point_field(p, "a", "1");
	point_field(p, "b", "2");
	point_field(p, "a", "3");
	assert_tap_has(r, "    status: 'not_ok'\n    a: '3'\n    b: '2'\n  ...\n");
	report_free(r);
}

/* ---- notes and errors ----------------------------------------------------------------- */

Test(report_notes, notes_are_comments_between_plan_and_points)
{
	struct bv_report *r = report_new("t", false);
	report_note(r, "smolvm %s: first", "1.9.2");
	report_note(r, "two\nlines # kept\n");
	report_add(r, "a", BV_OK, "d");
	assert_tap(r, "TAP version 13\n1..1\n# smolvm 1.9.2: first\n# two\n# lines # kept\n"
		      "ok 1 - a d\n");
	report_free(r);
}

Test(report_notes, errors_are_comments_and_never_bail_out)
{
	struct bv_report *r = report_new("t", false);
	struct bv_error e;
	bv_error_set(&e, ENOENT, "open %s", "/nonexistent");
	report_error(r, &e);
	char *s = emit(r, BV_FORMAT_TAP);
	cr_assert_str_eq(s, "TAP version 13\n1..0 # no checks ran\n# error: open /nonexistent\n");
	cr_assert_null(strstr(s, "Bail out!"));
	free(s);
	report_free(r);
}

Test(report_notes, error_without_message_still_counts)
{
	struct bv_report *r = report_new("t", false);
	report_add(r, "a", BV_OK, "d");
	report_error(r, NULL);
	assert_tap_has(r, "# error: unknown error\n");
	cr_assert_eq(report_exit_code(r), 2);
	report_free(r);
}

/* ---- exit codes ------------------------------------------------------------------------- */

Test(report_exit, ok_only_is_0)
{
	cr_assert_eq(exit_of(BV_OK, BV_OK, 2, false), 0);
}

Test(report_exit, one_not_ok_is_1)
{
	cr_assert_eq(exit_of(BV_OK, BV_NOT_OK, 2, false), 1);
}

Test(report_exit, todo_only_is_0)
{
	cr_assert_eq(exit_of(BV_TODO, BV_TODO, 2, false), 0);
}

Test(report_exit, todo_with_not_ok_is_1)
{
	cr_assert_eq(exit_of(BV_TODO, BV_NOT_OK, 2, false), 1);
}

Test(report_exit, inconclusive_is_2)
{
	cr_assert_eq(exit_of(BV_OK, BV_INCONCLUSIVE, 2, false), 2);
}

Test(report_exit, not_ok_and_inconclusive_is_2)
{
	cr_assert_eq(exit_of(BV_NOT_OK, BV_INCONCLUSIVE, 2, false), 2);
	cr_assert_eq(exit_of(BV_INCONCLUSIVE, BV_NOT_OK, 2, false), 2);
}

Test(report_exit, zero_points_is_2)
{
	cr_assert_eq(exit_of(BV_OK, BV_OK, 0, false), 2);
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

Test(report_exit, skip_is_0)
{
	cr_assert_eq(exit_of(BV_OK, BV_SKIP, 2, false), 0);
}

Test(report_exit, skip_under_must_run_is_1)
{
	cr_assert_eq(exit_of(BV_OK, BV_SKIP, 2, true), 1);
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

/* ---- JSON -------------------------------------------------------------------------------- */

static struct bv_report *json_sample(void)
{
	struct bv_report *r = report_new("db", false);
	report_note(r, "note \"one\"");
	report_add(r, "a.ok", BV_OK, "fine");
	struct bv_point *p = report_add(r, "a.bad", BV_NOT_OK, "bad\nthing #1");
	point_field(p, "expected", "it's: \"x\"\n\ty");
	point_field(p, "actual", "\x01\\");
	point_set_reason(report_add(r, "a.todo", BV_TODO, "gap"), "upstream");
	point_set_reason(report_add(r, "a.skip", BV_SKIP, "n/a"), "not Linux");
	report_add(r, "a.inc", BV_INCONCLUSIVE, "?");
	return r;
}

Test(report_json, top_level_members)
{
	struct bv_report *r = json_sample();
	cJSON *doc = emit_json(r);
	cr_assert_str_eq(jstr(doc, "format"), "bottle-verify/1");
	cr_assert_str_eq(jstr(doc, "command"), "db");
	cr_assert_eq(jnum(doc, "exit_code"), 2);
	const cJSON *notes = cJSON_GetObjectItemCaseSensitive(doc, "notes");
	cr_assert_eq(cJSON_GetArraySize(notes), 1);
	cr_assert_str_eq(cJSON_GetArrayItem(notes, 0)->valuestring, "note \"one\"");
	cr_assert_eq(cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(doc, "errors")), 0);
	cJSON_Delete(doc);
	report_free(r);
}

Test(report_json, summary_counts_each_status)
{
	struct bv_report *r = json_sample();
	cJSON *doc = emit_json(r);
	const cJSON *sum = cJSON_GetObjectItemCaseSensitive(doc, "summary");
	cr_assert_eq(jnum(sum, "ok"), 1);
	cr_assert_eq(jnum(sum, "not_ok"), 1);
	cr_assert_eq(jnum(sum, "todo"), 1);
	cr_assert_eq(jnum(sum, "skip"), 1);
	cr_assert_eq(jnum(sum, "inconclusive"), 1);
	cJSON_Delete(doc);
	report_free(r);
}

Test(report_json, points_round_trip_ids_statuses_and_fields)
{
	static const char *ids[] = { "a.ok", "a.bad", "a.todo", "a.skip", "a.inc" };
	static const char *st[] = { "ok", "not_ok", "todo", "skip", "inconclusive" };
	struct bv_report *r = json_sample();
	cJSON *doc = emit_json(r);
	cr_assert_eq(cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(doc, "points")), 5);
	for (int i = 0; i < 5; i++) {
		cr_assert_eq(jnum(jpoint(doc, i), "n"), i + 1);
		cr_assert_str_eq(jstr(jpoint(doc, i), "id"), ids[i]);
		cr_assert_str_eq(jstr(jpoint(doc, i), "status"), st[i]);
	}
	const cJSON *bad = jpoint(doc, 1);
	cr_assert_str_eq(jstr(bad, "description"), "bad\nthing #1");
	const cJSON *fields = cJSON_GetObjectItemCaseSensitive(bad, "fields");
	cr_assert_str_eq(fields->child->string, "expected");
	cr_assert_str_eq(jstr(fields, "expected"), "it's: \"x\"\n\ty");
	cr_assert_str_eq(jstr(fields, "actual"), "\x01\\");
	cr_assert_str_eq(jstr(jpoint(doc, 2), "reason"), "upstream");
	cJSON_Delete(doc);
	report_free(r);
}

Test(report_json, skip_under_must_run_is_not_ok_with_skipped_reason)
{
	struct bv_report *r = report_new("db", true);
	point_set_reason(report_add(r, "k", BV_SKIP, "KVM"), "not Linux");
	cJSON *doc = emit_json(r);
	const cJSON *p = jpoint(doc, 0);
	cr_assert_str_eq(jstr(p, "status"), "not_ok");
	cr_assert_not_null(strstr(jstr(p, "reason"), "BOTTLE_VERIFY_MUST_RUN=1"));
	cr_assert_str_eq(jstr(cJSON_GetObjectItemCaseSensitive(p, "fields"), "skipped_reason"),
			 "not Linux");
	cr_assert_eq(jnum(cJSON_GetObjectItemCaseSensitive(doc, "summary"), "not_ok"), 1);
	cr_assert_eq(jnum(doc, "exit_code"), 1);
	cJSON_Delete(doc);
	report_free(r);
}

Test(report_json, errors_and_null_command)
{
	struct bv_report *r = report_new(NULL, false);
	struct bv_error e;
	bv_error_set(&e, EINVAL, "bad \"flag\"");
	report_error(r, &e);
	cJSON *doc = emit_json(r);
	cr_assert(cJSON_IsNull(cJSON_GetObjectItemCaseSensitive(doc, "command")));
	const cJSON *errs = cJSON_GetObjectItemCaseSensitive(doc, "errors");
	cr_assert_str_eq(cJSON_GetArrayItem(errs, 0)->valuestring, "bad \"flag\"");
	cr_assert_eq(jnum(doc, "exit_code"), 2);
	cJSON_Delete(doc);
	report_free(r);
}

Test(report_json, invalid_utf8_becomes_replacement_character)
{
	struct bv_report *r = report_new("db", false);
	point_field(report_add(r, "a", BV_NOT_OK, "x\xff"), "v", "\xc3\xa9\xc0\xaf");
	cJSON *doc = emit_json(r);
	cr_assert_str_eq(jstr(jpoint(doc, 0), "description"), "x\xef\xbf\xbd");
	cr_assert_str_eq(jstr(cJSON_GetObjectItemCaseSensitive(jpoint(doc, 0), "fields"), "v"),
			 "\xc3\xa9\xef\xbf\xbd\xef\xbf\xbd");
	cJSON_Delete(doc);
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

Test(report_prove, passing_report_passes)
{
	struct bv_report *r = report_new("db", false);
	report_note(r, "a note # with hash\nand a second line");
	report_add(r, "a.ok", BV_OK, "confined # TODO not a directive");
	point_set_reason(report_add(r, "a.todo", BV_TODO, "known gap"), "upstream: it's 'open'");
	point_set_reason(report_add(r, "a.skip", BV_SKIP, "KVM present"), "not Linux");
	char *out = NULL;
	int rc = prove(r, &out);
	cr_assert_eq(rc, 0, "prove exited %d:\n%s", rc, out);
	cr_assert_not_null(strstr(out, "Result: PASS"), "%s", out);
	assert_clean_parse(out);
	free(out);
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
	char *out = NULL;
	int rc = prove(r, &out);
	cr_assert_neq(rc, 0, "%s", out);
	cr_assert_not_null(strstr(out, "Failed 1/2 subtests"), "%s", out);
	cr_assert_not_null(strstr(out, "remediation: ''"), "%s", out);
	assert_clean_parse(out);
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
	char *out = NULL;
	int rc = prove(r, &out);
	cr_assert_neq(rc, 0, "%s", out);
	cr_assert_not_null(strstr(out, "Failed 3/4 subtests"), "%s", out);
	assert_clean_parse(out);
	free(out);
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
