/* Streamed reports: numbering across flushes, the trailing plan, JSON lines, exit codes. */
#include <criterion/criterion.h>
#include <cjson/cJSON.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/report.h"

struct sink {
	char *buf;
	size_t len;
	FILE *f;
};

static void sink_open(struct sink *s)
{
	s->buf = NULL;
	s->len = 0;
	s->f = open_memstream(&s->buf, &s->len);
	cr_assert_not_null(s->f);
}

static char *sink_text(struct sink *s)
{
	fclose(s->f);
	return s->buf;
}

/* One scratch report with one point, flushed into st. */
static void flush_one(struct bv_stream *st, const char *id, enum bv_status status, const char *note)
{
	struct bv_report *r = report_new("watch", false);
	if (note)
		report_note(r, "%s", note);
	struct bv_point *p = report_add(r, id, status, "what it says");
	if (status != BV_OK)
		point_field(p, "actual", "seen");
	cr_assert_eq(report_stream_flush(st, r), 0);
	report_free(r);
}

Test(report_stream, numbers_points_across_flushes_and_plans_at_the_end)
{
	struct sink k;
	struct bv_stream st;
	sink_open(&k);
	report_stream_begin(&st, "watch", BV_FORMAT_TAP, k.f);
	flush_one(&st, "watch.a", BV_OK, "started");
	flush_one(&st, "watch.b", BV_OK, NULL);
	cr_assert_eq(report_stream_end(&st), 0);
	char *t = sink_text(&k);
	cr_assert_str_eq(t, "TAP version 13\n# started\nok 1 - watch.a what it says\nok 2 - watch.b what it says\n"
			    "1..2\n# 2 ok, 0 not ok, 0 todo, 0 skip, 0 inconclusive\n");
	free(t);
}

Test(report_stream, a_finding_is_printed_with_its_yaml_and_exits_1)
{
	struct sink k;
	struct bv_stream st;
	sink_open(&k);
	report_stream_begin(&st, "watch", BV_FORMAT_TAP, k.f);
	flush_one(&st, "watch.leak", BV_NOT_OK, NULL);
	flush_one(&st, "watch.census", BV_OK, NULL);
	cr_assert_eq(report_stream_end(&st), 1);
	char *t = sink_text(&k);
	cr_assert(strstr(t, "not ok 1 - watch.leak what it says\n  ---\n    id: 'watch.leak'\n"));
	cr_assert(strstr(t, "    actual: 'seen'\n  ...\nok 2 - watch.census"));
	free(t);
}

Test(report_stream, inconclusive_wins_over_a_finding)
{
	struct sink k;
	struct bv_stream st;
	sink_open(&k);
	report_stream_begin(&st, "watch", BV_FORMAT_TAP, k.f);
	flush_one(&st, "watch.leak", BV_NOT_OK, NULL);
	flush_one(&st, "watch.denials", BV_INCONCLUSIVE, NULL);
	cr_assert_eq(report_stream_end(&st), 2);
	free(sink_text(&k));
}

Test(report_stream, zero_points_is_an_error)
{
	struct sink k;
	struct bv_stream st;
	sink_open(&k);
	report_stream_begin(&st, "watch", BV_FORMAT_TAP, k.f);
	cr_assert_eq(report_stream_end(&st), 2);
	char *t = sink_text(&k);
	cr_assert(strstr(t, "1..0 # no checks ran\n"));
	free(t);
}

Test(report_stream, a_recorded_error_exits_2)
{
	struct sink k;
	struct bv_stream st;
	struct bv_error e = { 0 };
	sink_open(&k);
	report_stream_begin(&st, "watch", BV_FORMAT_TAP, k.f);
	struct bv_report *r = report_new("watch", false);
	report_add(r, "watch.a", BV_OK, "fine");
	bv_error_set(&e, EIO, "the denial log vanished");
	report_error(r, &e);
	report_stream_flush(&st, r);
	report_free(r);
	cr_assert_eq(report_stream_end(&st), 2);
	char *t = sink_text(&k);
	cr_assert(strstr(t, "# error: the denial log vanished\n"));
	free(t);
}

Test(report_stream, json_is_one_object_per_line)
{
	struct sink k;
	struct bv_stream st;
	sink_open(&k);
	report_stream_begin(&st, "watch", BV_FORMAT_JSON, k.f);
	flush_one(&st, "watch.leak", BV_NOT_OK, "a note");
	cr_assert_eq(report_stream_end(&st), 1);
	char *t = sink_text(&k);
	const char *want[] = { "begin", "note", "point", "end" };
	char *save = NULL, *line = strtok_r(t, "\n", &save);
	for (size_t i = 0; i < 4; i++, line = strtok_r(NULL, "\n", &save)) {
		cr_assert_not_null(line, "line %zu missing", i);
		cJSON *doc = cJSON_Parse(line);
		cr_assert_not_null(doc, "line %zu is not JSON: %s", i, line);
		cr_assert_str_eq(cJSON_GetObjectItem(doc, "type")->valuestring, want[i]);
		if (i == 2)
			cr_assert_str_eq(cJSON_GetObjectItem(doc, "status")->valuestring, "not_ok");
		if (i == 3)
			cr_assert_eq(cJSON_GetObjectItem(doc, "exit_code")->valueint, 1);
		cJSON_Delete(doc);
	}
	cr_assert_null(line);
	free(t);
}
