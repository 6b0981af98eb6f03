/* Report as JSON: members, summary, points, must_run skips, errors, UTF-8. */
#include <criterion/criterion.h>
#include <cjson/cJSON.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "core/report.h"
#include "report_test.h"

/* ---- JSON -------------------------------------------------------------------------------- */


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
