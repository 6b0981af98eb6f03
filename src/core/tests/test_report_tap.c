/* Report as TAP: plan and numbering, each status, descriptions, YAML values, notes. */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "core/report.h"
#include "report_test.h"

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
	assert_point_tap("db.t", BV_TODO, "known gap", "upstream bug",
			 "TAP version 13\n1..1\nnot ok 1 - db.t known gap # TODO upstream bug\n"
			 "  ---\n    id: 'db.t'\n    status: 'todo'\n    reason: 'upstream bug'\n"
			 "  ...\n");
}

Test(report_tap, todo_without_reason_has_bare_directive)
{
	assert_point_tap_has("db.t", BV_TODO, "gap", NULL, "not ok 1 - db.t gap # TODO\n  ---\n");
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
	assert_point_tap("db.i", BV_INCONCLUSIVE, "could not read", NULL,
			 "TAP version 13\n1..1\nnot ok 1 - db.i could not read\n"
			 "  ---\n    id: 'db.i'\n    status: 'inconclusive'\n  ...\n");
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
	assert_point_tap_has("a#b", BV_NOT_OK, "looks fine # TODO forged", NULL,
			     "not ok 1 - a\\#b looks fine \\# TODO forged\n");
}

Test(report_desc, backslash_is_doubled)
{
	assert_point_tap_has("a", BV_OK, "C:\\dir\\ # SKIP x", NULL,
			     "ok 1 - a C:\\\\dir\\\\ \\# SKIP x\n");
}

Test(report_desc, line_breaks_and_controls_become_spaces)
{
	assert_point_tap_has("a\nb", BV_OK,
			     "one\ntwo\r\nthree\tfour\x1b\x7f" "five\xc2\x85six\xe2\x80\xa8.", NULL,
			     "ok 1 - a b one two  three four  five six .\n");
}

Test(report_desc, invalid_utf8_is_hex_and_valid_utf8_passes)
{
	assert_point_tap_has("a", BV_OK, "caf\xc3\xa9 \xff \xc3", NULL,
			     "ok 1 - a caf\xc3\xa9 \\xff \\xc3\n");
}

Test(report_desc, reason_is_one_line)
{
	assert_point_tap_has("a", BV_SKIP, "d", "two\nlines", "ok 1 - a d # SKIP two lines\n");
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
	const char *fields[][2] = { { "Bad Key: #1", "v" }, { "", "w" }, { "ok.key_2", "z" } };
	assert_fields_tap_has(fields, 3, "    _ad__ey___1: 'v'\n    _: 'w'\n    ok.key_2: 'z'\n");
}

Test(report_yaml, reserved_keys_are_renamed)
{
	const char *fields[][2] = { { "id", "fake" }, { "status", "ok" } };
	assert_fields_tap_has(fields, 2, "    id: 'x'\n    status: 'not_ok'\n"
				       "    field.id: 'fake'\n    field.status: 'ok'\n  ...\n");
}

Test(report_yaml, setting_a_key_twice_replaces_in_place)
{
	const char *fields[][2] = { { "a", "1" }, { "b", "2" }, { "a", "3" } };
	assert_fields_tap_has(fields, 3, "    status: 'not_ok'\n    a: '3'\n    b: '2'\n  ...\n");
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
	cut_summary(s);
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

Test(report_summary, the_last_line_counts_every_status_and_the_exit)
{
	struct bv_report *r = report_new("t", false);
	report_add(r, "a", BV_OK, "");
	report_add(r, "b", BV_OK, "");
	report_add(r, "c", BV_TODO, "");
	report_add(r, "d", BV_SKIP, "");
	report_add(r, "e", BV_INCONCLUSIVE, "");
	assert_tap_has(r, "\n# 2 ok, 1 todo, 1 skip, 0 not ok, 1 inconclusive (exit 2)\n");
	report_free(r);
}

Test(report_summary, an_error_is_counted)
{
	struct bv_report *r = report_new("t", false);
	struct bv_error e;
	bv_error_set(&e, ENOENT, "open x");
	report_error(r, &e);
	assert_tap_has(r, "# 0 ok, 0 todo, 0 skip, 0 not ok, 0 inconclusive, 1 error(s) (exit 2)\n");
	report_free(r);
}

Test(report_quiet, only_what_is_not_ok_is_printed_numbered_among_itself)
{
	struct bv_report *r = report_new("t", false);
	report_set_quiet(r, true);
	report_note(r, "a note");
	report_add(r, "a", BV_OK, "");
	report_add(r, "b", BV_SKIP, "");
	report_add(r, "c", BV_NOT_OK, "");
	report_add(r, "d", BV_TODO, "");
	char *s = emit(r, BV_FORMAT_TAP);
	cr_assert(strstr(s, "1..2\nnot ok 1 - c\n"), "%s", s);
	cr_assert(strstr(s, "not ok 2 - d # TODO"), "%s", s);
	cr_assert_null(strstr(s, "a note"));
	cr_assert_null(strstr(s, " - a"));
	cr_assert(strstr(s, "# 1 ok, 1 todo, 1 skip, 1 not ok, 0 inconclusive (exit 1)\n"), "%s", s);
	free(s);
	report_free(r);
}

Test(report_quiet, all_ok_is_a_skipped_plan_that_still_says_how_many)
{
	struct bv_report *r = report_new("t", false);
	report_set_quiet(r, true);
	report_add(r, "a", BV_OK, "");
	assert_tap(r, "TAP version 13\n1..0 # SKIP --quiet: all 1 points ok\n");
	report_free(r);
}

Test(report_tap, a_blocked_point_is_one_line_naming_its_prerequisite)
{
	struct bv_report *r = report_new("t", false);
	report_add(r, "db.present", BV_NOT_OK, "present");
	point_set_blocked_by(report_add(r, "db.x", BV_INCONCLUSIVE, "x"), "db.present");
	char *s = emit(r, BV_FORMAT_TAP);
	cr_assert(strstr(s, "\nnot ok 2 - db.x x # not checked: db.present failed\n# "), "%s", s);
	free(s);
	report_free(r);
}
