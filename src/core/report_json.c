/* report_json.c - the report as one JSON document (see report.h): the same ids, statuses
 * and fields as the TAP, a summary per status and the exit code. Strings are made valid
 * UTF-8 first (invalid bytes become U+FFFD); cJSON escapes. */
#include <cjson/cJSON.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/release.h"
#include "core/report_model.h"

/* A copy of s that is valid UTF-8 (invalid bytes become U+FFFD), from cJSON_malloc. */
static char *utf8_clean(const char *s)
{
	size_t len = strlen(s);
	char *out = len < SIZE_MAX / 3 ? cJSON_malloc(3 * len + 1) : NULL;
	if (!out)
		return NULL;
	const unsigned char *u = (const unsigned char *)s;
	size_t o = 0;
	while (*u) {
		uint32_t cp;
		size_t n = report_utf8_seq(u, &cp);
		if (n == 0) {
			memcpy(out + o, "\xef\xbf\xbd", 3);
			o += 3;
			u++;
			continue;
		}
		memcpy(out + o, u, n);
		o += n;
		u += n;
	}
	out[o] = '\0';
	return out;
}

static cJSON *json_string(const char *s)
{
	char *clean = utf8_clean(s);
	if (!clean)
		return NULL;
	cJSON *item = cJSON_CreateString(clean);
	cJSON_free(clean);
	return item;
}

/* Attach item (which may be NULL after a failed allocation) to an object or array. */
static int json_attach(cJSON *parent, const char *key, cJSON *item)
{
	if (!item)
		return -ENOMEM;
	cJSON_bool ok = key ? cJSON_AddItemToObject(parent, key, item)
			    : cJSON_AddItemToArray(parent, item);
	if (!ok) {
		cJSON_Delete(item);
		return -ENOMEM;
	}
	return 0;
}

static int json_add_str(cJSON *parent, const char *key, const char *s)
{
	return json_attach(parent, key, s ? json_string(s) : cJSON_CreateNull());
}

static int json_add_num(cJSON *parent, const char *key, double v)
{
	return json_attach(parent, key, cJSON_CreateNumber(v));
}

static int json_add_strv(cJSON *parent, const char *key, const struct bv_strv *sv,
			 const char *extra)
{
	cJSON *arr = cJSON_CreateArray();
	if (json_attach(parent, key, arr) < 0)
		return -ENOMEM;
	for (size_t i = 0; i < sv->n; i++)
		if (json_add_str(arr, NULL, sv->v[i]) < 0)
			return -ENOMEM;
	return extra ? json_add_str(arr, NULL, extra) : 0;
}

static int json_summary(cJSON *doc, const struct bv_report *r)
{
	static const enum bv_status all[] = { BV_OK, BV_NOT_OK, BV_TODO, BV_SKIP,
					      BV_INCONCLUSIVE };
	size_t count[5] = { 0 };
	for (size_t i = 0; i < r->npoints; i++)
		count[report_status_shown(r, r->points[i])]++;
	cJSON *sum = cJSON_CreateObject();
	if (json_attach(doc, "summary", sum) < 0)
		return -ENOMEM;
	for (size_t i = 0; i < 5; i++)
		if (json_add_num(sum, bv_status_name(all[i]), (double)count[all[i]]) < 0)
			return -ENOMEM;
	return 0;
}

static int json_fields(cJSON *jp, const struct bv_report *r, const struct bv_point *p)
{
	cJSON *fields = cJSON_CreateObject();
	if (json_attach(jp, "fields", fields) < 0)
		return -ENOMEM;
	if (report_skip_fails(r, p) &&
	    json_add_str(fields, "skipped_reason", p->reason ? p->reason : "") < 0)
		return -ENOMEM;
	for (size_t i = 0; i < p->nfields; i++)
		if (json_add_str(fields, p->fields[i].key, p->fields[i].value) < 0)
			return -ENOMEM;
	return 0;
}

static int json_point_fill(cJSON *jp, const struct bv_report *r, const struct bv_point *p, size_t n)
{
	const char *reason = report_skip_fails(r, p) ? MUST_RUN_REASON : p->reason;
	if (json_add_num(jp, "n", (double)n) < 0 || json_add_str(jp, "id", p->id) < 0 ||
	    json_add_str(jp, "status", bv_status_name(report_status_shown(r, p))) < 0 ||
	    json_add_str(jp, "description", p->description) < 0)
		return -ENOMEM;
	if (reason && json_add_str(jp, "reason", reason) < 0)
		return -ENOMEM;
	return json_fields(jp, r, p);
}

static int json_point(cJSON *arr, const struct bv_report *r, const struct bv_point *p, size_t n)
{
	cJSON *jp = cJSON_CreateObject();
	if (json_attach(arr, NULL, jp) < 0)
		return -ENOMEM;
	return json_point_fill(jp, r, p, n);
}

static int json_fill(cJSON *doc, const struct bv_report *r)
{
	if (json_add_str(doc, "format", "bottle-verify/1") < 0 || json_add_str(doc, "version", BV_RELEASE) < 0 ||
	    json_add_str(doc, "command", r->command) < 0 ||
	    json_add_num(doc, "exit_code", report_exit_code(r)) < 0 ||
	    json_summary(doc, r) < 0 || json_add_strv(doc, "notes", &r->notes, NULL) < 0 ||
	    json_add_strv(doc, "errors", &r->errors, r->oom ? OOM_TEXT : NULL) < 0)
		return -ENOMEM;
	cJSON *arr = cJSON_CreateArray();
	if (json_attach(doc, "points", arr) < 0)
		return -ENOMEM;
	for (size_t i = 0; i < r->npoints; i++)
		if (report_point_shown(r, r->points[i]) && json_point(arr, r, r->points[i], i + 1) < 0)
			return -ENOMEM;
	return 0;
}

/* One object on one line: doc, printed and freed. */
static int json_line(cJSON *doc, int rc, FILE *out)
{
	char *text = rc == 0 && doc ? cJSON_PrintUnformatted(doc) : NULL;
	cJSON_Delete(doc);
	if (!text)
		return -ENOMEM;
	fputs(text, out);
	fputc('\n', out);
	cJSON_free(text);
	return 0;
}

int report_json_emit(const struct bv_report *r, FILE *out)
{
	cJSON *doc = cJSON_CreateObject();
	return json_line(doc, doc ? json_fill(doc, r) : -ENOMEM, out);
}

int report_json_point_line(FILE *out, const struct bv_report *r, const struct bv_point *p, size_t n)
{
	cJSON *doc = cJSON_CreateObject();
	int rc = doc && json_add_str(doc, "type", "point") == 0 ? json_point_fill(doc, r, p, n) : -ENOMEM;
	return json_line(doc, rc, out);
}

int report_json_text_line(FILE *out, const char *type, const char *text)
{
	cJSON *doc = cJSON_CreateObject();
	int rc = doc && json_add_str(doc, "type", type) == 0 && json_add_str(doc, "text", text) == 0 ? 0 : -ENOMEM;
	return json_line(doc, rc, out);
}

int report_json_begin_line(FILE *out, const char *command)
{
	cJSON *doc = cJSON_CreateObject();
	int rc = doc && json_add_str(doc, "type", "begin") == 0 && json_add_str(doc, "text", command) == 0 &&
			 json_add_str(doc, "format", "bottle-verify/1") == 0 && json_add_str(doc, "version", BV_RELEASE) == 0
		 ? 0 : -ENOMEM;
	return json_line(doc, rc, out);
}

int report_json_end_line(FILE *out, const char *command, size_t n_points, const size_t count[5], int exit_code)
{
	static const enum bv_status all[] = { BV_OK, BV_NOT_OK, BV_TODO, BV_SKIP, BV_INCONCLUSIVE };
	cJSON *doc = cJSON_CreateObject(), *sum = NULL;
	int rc = doc && json_add_str(doc, "type", "end") == 0 && json_add_str(doc, "format", "bottle-verify/1") == 0 &&
			 json_add_str(doc, "command", command) == 0 && json_add_num(doc, "points", (double)n_points) == 0 &&
			 json_add_num(doc, "exit_code", exit_code) == 0
		 ? 0 : -ENOMEM;
	if (rc == 0)
		rc = json_attach(doc, "summary", sum = cJSON_CreateObject());
	for (size_t i = 0; i < 5 && rc == 0; i++)
		rc = json_add_num(sum, bv_status_name(all[i]), (double)count[all[i]]);
	return json_line(doc, rc, out);
}
