/* report_test.h - what the report tests share: render a report to a string (TAP or
 * parsed JSON) and assert on it. Header-only (static inline) so each criterion binary
 * stays one file; included by test_report.c, test_report_tap.c and test_report_json.c. */
#ifndef BV_REPORT_TEST_H
#define BV_REPORT_TEST_H

#include <criterion/criterion.h>
#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/report.h"

/* ---- helpers ---------------------------------------------------------------------- */

static inline char *emit_rc(const struct bv_report *r, enum bv_format fmt, int *rc)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	cr_assert_not_null(f);
	*rc = report_emit(r, fmt, f);
	cr_assert_eq(fclose(f), 0);
	return buf;
}

static inline char *emit(const struct bv_report *r, enum bv_format fmt)
{
	int rc;
	char *s = emit_rc(r, fmt, &rc);
	cr_assert_eq(rc, 0, "report_emit returned %d", rc);
	return s;
}

/* The TAP without its closing tally (the last line, "# N ok, ... (exit N)"), which the
 * summary tests check on their own. */
static inline void cut_summary(char *s)
{
	size_t n = strlen(s);
	cr_assert(n > 1 && s[n - 1] == '\n', "the TAP ends with a line");
	char *last = s + n - 1;
	while (last > s && last[-1] != '\n')
		last--;
	cr_assert(strncmp(last, "# ", 2) == 0 && strstr(last, " ok, ") && strstr(last, "(exit "),
		  "the last line is the tally: %s", last);
	*last = '\0';
}

static inline void assert_tap(const struct bv_report *r, const char *expected)
{
	char *s = emit(r, BV_FORMAT_TAP);
	cut_summary(s);
	cr_assert_str_eq(s, expected);
	free(s);
}

static inline void assert_tap_has(const struct bv_report *r, const char *needle)
{
	char *s = emit(r, BV_FORMAT_TAP);
	cr_assert_not_null(strstr(s, needle), "missing %s in:\n%s", needle, s);
	free(s);
}

/* A fresh "db" report holding one point (id, st, desc; reason unless NULL). */
static inline struct bv_report *one_point_report(const char *id, enum bv_status st,
						 const char *desc, const char *reason)
{
	struct bv_report *r = report_new("db", false);
	struct bv_point *p = report_add(r, id, st, desc);
	if (reason)
		point_set_reason(p, reason);
	return r;
}

/* That one-point report's TAP is exactly expected. */
static inline void assert_point_tap(const char *id, enum bv_status st, const char *desc,
				    const char *reason, const char *expected)
{
	struct bv_report *r = one_point_report(id, st, desc, reason);
	assert_tap(r, expected);
	report_free(r);
}

/* That one-point report's TAP contains needle. */
static inline void assert_point_tap_has(const char *id, enum bv_status st, const char *desc,
					const char *reason, const char *needle)
{
	struct bv_report *r = one_point_report(id, st, desc, reason);
	assert_tap_has(r, needle);
	report_free(r);
}

/* One NOT_OK point "x" carrying fields[i] = { key, value } in order; its TAP has needle. */
static inline void assert_fields_tap_has(const char *fields[][2], size_t n, const char *needle)
{
	struct bv_report *r = report_new("t", false);
	struct bv_point *p = report_add(r, "x", BV_NOT_OK, "d");
	for (size_t i = 0; i < n; i++)
		point_field(p, fields[i][0], fields[i][1]);
	assert_tap_has(r, needle);
	report_free(r);
}

/* One NOT_OK point carrying field "v" = value; its rendered YAML line must be line. */
static inline void assert_yaml_value(const char *value, const char *line)
{
	const char *fields[][2] = { { "v", value } };
	assert_fields_tap_has(fields, 1, line);
}

static inline cJSON *emit_json(const struct bv_report *r)
{
	char *s = emit(r, BV_FORMAT_JSON);
	size_t len = strlen(s);
	cr_assert(len > 0 && s[len - 1] == '\n', "JSON must end with a newline");
	cJSON *doc = cJSON_Parse(s);
	cr_assert_not_null(doc, "unparsable JSON: %s", s);
	free(s);
	return doc;
}

static inline const char *jstr(const cJSON *obj, const char *key)
{
	const cJSON *it = cJSON_GetObjectItemCaseSensitive(obj, key);
	cr_assert(cJSON_IsString(it), "member %s is not a string", key);
	return it->valuestring;
}

static inline double jnum(const cJSON *obj, const char *key)
{
	const cJSON *it = cJSON_GetObjectItemCaseSensitive(obj, key);
	cr_assert(cJSON_IsNumber(it), "member %s is not a number", key);
	return it->valuedouble;
}

static inline const cJSON *jpoint(const cJSON *doc, int i)
{
	const cJSON *pts = cJSON_GetObjectItemCaseSensitive(doc, "points");
	cr_assert(cJSON_IsArray(pts));
	const cJSON *p = cJSON_GetArrayItem(pts, i);
	cr_assert_not_null(p);
	return p;
}

static inline int exit_of(enum bv_status a, enum bv_status b, int n, bool must_run)
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

static inline struct bv_report *json_sample(void)
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

#endif
