/* report.c - see report.h; the model. The writers are report_tap.c and report_json.c.
 *
 * Output rules, in one place:
 * - TAP descriptions (id and text) are one line: control characters (C0, DEL, C1,
 *   U+2028/U+2029) become a space, '\' becomes "\\" and '#' becomes "\#", so nothing a
 *   check writes can turn into a directive. Invalid UTF-8 bytes are written "\xNN".
 * - YAML values are single-quoted scalars ('' for '). Since such scalars carry no
 *   escapes, the text is rendered: '\' as "\\", newline "\n", tab "\t", other C0 and
 *   DEL "\xNN", C1 and U+2028/U+2029 "\uNNNN", invalid UTF-8 bytes "\xNN"; the result
 *   is always one line and reversible.
 * - Field keys are limited to [a-z0-9_.] (anything else becomes '_'). The keys the
 *   renderer writes itself (id, status, reason, skipped_reason) are stored as
 *   "field.<key>" when a check uses them. Setting a key twice replaces its value.
 * - JSON strings are made valid UTF-8 (invalid bytes become U+FFFD); cJSON escapes.
 * No function here writes anywhere but the stream given to report_emit. */
#include "core/report.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/cleanup.h"
#include "core/report_model.h"

/* ---- memory ---------------------------------------------------------------------- */

/* Room for one more element: returns the (possibly moved) array, or NULL. */
static void *grow(void *arr, size_t *cap, size_t n, size_t elem)
{
	if (n < *cap)
		return arr;
	size_t ncap = *cap ? *cap * 2 : 8;
	if (ncap < *cap || ncap > SIZE_MAX / elem)
		return NULL;
	void *p = realloc(arr, ncap * elem);
	if (p)
		*cap = ncap;
	return p;
}

/* Append s, taking ownership; on failure s is freed. */
static int strv_push(struct bv_strv *sv, char *s)
{
	if (!s)
		return -ENOMEM;
	char **v = grow(sv->v, &sv->cap, sv->n, sizeof *sv->v);
	if (!v) {
		free(s);
		return -ENOMEM;
	}
	sv->v = v;
	sv->v[sv->n++] = s;
	return 0;
}

static void strv_free(struct bv_strv *sv)
{
	for (size_t i = 0; i < sv->n; i++)
		free(sv->v[i]);
	free(sv->v);
	sv->v = NULL;
	sv->n = sv->cap = 0;
}

/* vasprintf that returns NULL on failure. */
static char *vformat(const char *fmt, va_list ap)
{
	char *s = NULL;
	if (!fmt || vasprintf(&s, fmt, ap) < 0)
		return NULL;
	return s;
}

static void point_free(struct bv_point *p)
{
	if (!p)
		return;
	for (size_t i = 0; i < p->nfields; i++) {
		free(p->fields[i].key);
		free(p->fields[i].value);
	}
	free(p->fields);
	free(p->id);
	free(p->description);
	free(p->reason);
	free(p);
}

/* ---- report and points ----------------------------------------------------------- */

struct bv_report *report_new(const char *command, bool must_run)
{
	struct bv_report *r = calloc(1, sizeof *r);
	if (!r)
		return NULL;
	r->must_run = must_run;
	if (command) {
		r->command = strdup(command);
		if (!r->command) {
			free(r);
			return NULL;
		}
	}
	return r;
}

void report_free(struct bv_report *r)
{
	if (!r)
		return;
	for (size_t i = 0; i < r->npoints; i++)
		point_free(r->points[i]);
	free(r->points);
	strv_free(&r->notes);
	strv_free(&r->errors);
	free(r->command);
	free(r);
}

static enum bv_status status_valid(enum bv_status s)
{
	switch (s) {
	case BV_OK:
	case BV_NOT_OK:
	case BV_TODO:
	case BV_SKIP:
	case BV_INCONCLUSIVE:
		return s;
	}
	return BV_INCONCLUSIVE; /* an unknown status can never pass */
}

/* Append a point, taking ownership of description (which may be NULL on failure). */
static struct bv_point *point_append(struct bv_report *r, const char *id,
				     enum bv_status status, char *description)
{
	struct bv_point *p = calloc(1, sizeof *p);
	if (!p || !description)
		goto oom;
	p->owner = r;
	p->status = status_valid(status);
	p->description = steal_pointer(&description);
	p->id = strdup(id ? id : "");
	struct bv_point **v = grow(r->points, &r->cap_points, r->npoints, sizeof *v);
	if (!p->id || !v)
		goto oom;
	r->points = v;
	r->points[r->npoints++] = p;
	return p;
oom:
	free(description);
	point_free(p);
	r->oom = true;
	return NULL;
}

struct bv_point *report_add(struct bv_report *r, const char *id, enum bv_status status,
			    const char *description)
{
	if (!r)
		return NULL;
	return point_append(r, id, status, strdup(description ? description : ""));
}

struct bv_point *report_addf(struct bv_report *r, const char *id, enum bv_status status,
			     const char *fmt, ...)
{
	if (!r)
		return NULL;
	va_list ap;
	va_start(ap, fmt);
	char *desc = vformat(fmt, ap);
	va_end(ap);
	return point_append(r, id, status, desc);
}

void point_set_reason(struct bv_point *p, const char *reason)
{
	if (!p)
		return;
	free(p->reason);
	p->reason = NULL;
	if (reason && !(p->reason = strdup(reason)))
		p->owner->oom = true;
}

void point_set_status(struct bv_point *p, enum bv_status status)
{
	if (p)
		p->status = status_valid(status);
}

enum bv_status point_status(const struct bv_point *p)
{
	return p ? p->status : BV_INCONCLUSIVE;
}

const char *point_id(const struct bv_point *p)
{
	return p ? p->id : "";
}

const char *point_field_value(const struct bv_point *p, const char *key)
{
	for (size_t i = 0; p && i < p->nfields; i++)
		if (strcmp(p->fields[i].key, key) == 0)
			return p->fields[i].value;
	return NULL;
}

struct bv_point *report_point_at(const struct bv_report *r, size_t i)
{
	return r && i < r->npoints ? r->points[i] : NULL;
}

struct bv_point *report_add_copy(struct bv_report *r, const struct bv_point *p, const char *id,
				 const char *desc_prefix)
{
	struct bv_point *c = report_addf(r, id ? id : p->id, p->status, "%s%s", desc_prefix ? desc_prefix : "",
					 p->description);
	point_set_reason(c, p->reason);
	for (size_t i = 0; c && i < p->nfields; i++)
		point_field(c, p->fields[i].key, p->fields[i].value);
	return c;
}

size_t report_count(const struct bv_report *r)
{
	return r ? r->npoints : 0;
}

struct bv_point *report_find(const struct bv_report *r, const char *id)
{
	for (size_t i = 0; r && i < r->npoints; i++)
		if (r->points[i] && strcmp(r->points[i]->id, id) == 0)
			return r->points[i];
	return NULL;
}

size_t report_prefix_count(const struct bv_report *r, const char *prefix, size_t *n_pass)
{
	size_t n = 0, ok = 0, len = strlen(prefix);
	for (size_t i = 0; r && i < r->npoints; i++) {
		const struct bv_point *p = r->points[i];
		if (!p || strncmp(p->id, prefix, len) != 0)
			continue;
		n++;
		ok += p->status == BV_OK || p->status == BV_TODO;
	}
	if (n_pass)
		*n_pass = ok;
	return n;
}

struct bv_point *report_add_finding(struct bv_report *r, const struct bv_finding *f)
{
	struct bv_point *p = report_add(r, f->id, f->status, f->description);
	if (f->status == BV_OK)
		return p;
	const char *keys[] = { "expected", "actual", "remediation", "smolvm_version" };
	const char *values[] = { f->expected, f->actual, f->remediation, f->smolvm_version };
	for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++)
		if (values[i])
			point_field(p, keys[i], values[i]);
	return p;
}

/* ---- fields ------------------------------------------------------------------------ */

static bool key_reserved(const char *k)
{
	return !strcmp(k, "id") || !strcmp(k, "status") || !strcmp(k, "reason") ||
	       !strcmp(k, "skipped_reason");
}

/* A key limited to [a-z0-9_.], renamed when the renderer owns it. NULL on ENOMEM. */
static char *key_clean(const char *key)
{
	static const char prefix[] = "field.";
	const char *k = key && *key ? key : "_";
	size_t len = strlen(k);
	char *out = malloc(sizeof prefix + len);
	if (!out)
		return NULL;
	for (size_t i = 0; i <= len; i++) {
		char c = k[i];
		bool keep = !c || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' ||
			    c == '.';
		out[i] = keep ? c : '_';
	}
	if (key_reserved(out)) {
		memmove(out + sizeof prefix - 1, out, len + 1);
		memcpy(out, prefix, sizeof prefix - 1);
	}
	return out;
}

static struct bv_field *field_find(struct bv_point *p, const char *key)
{
	for (size_t i = 0; i < p->nfields; i++)
		if (!strcmp(p->fields[i].key, key))
			return &p->fields[i];
	return NULL;
}

/* Set key to value, taking ownership of value (NULL means allocation failed). */
static int field_put(struct bv_point *p, const char *key, char *value)
{
	_cleanup_free_ char *v = value;
	_cleanup_free_ char *k = v ? key_clean(key) : NULL;
	if (!k)
		return -ENOMEM;
	struct bv_field *f = field_find(p, k);
	if (f) {
		free(f->value);
		f->value = steal_pointer(&v);
		return 0;
	}
	struct bv_field *fv = grow(p->fields, &p->cap_fields, p->nfields, sizeof *fv);
	if (!fv)
		return -ENOMEM;
	p->fields = fv;
	p->fields[p->nfields].key = steal_pointer(&k);
	p->fields[p->nfields].value = steal_pointer(&v);
	p->nfields++;
	return 0;
}

void point_field(struct bv_point *p, const char *key, const char *value)
{
	if (p && field_put(p, key, strdup(value ? value : "")) < 0)
		p->owner->oom = true;
}

void point_fieldf(struct bv_point *p, const char *key, const char *fmt, ...)
{
	if (!p)
		return;
	va_list ap;
	va_start(ap, fmt);
	char *v = vformat(fmt, ap);
	va_end(ap);
	if (field_put(p, key, v) < 0)
		p->owner->oom = true;
}

/* ---- notes, errors, verdict -------------------------------------------------------- */

void report_note(struct bv_report *r, const char *fmt, ...)
{
	if (!r)
		return;
	va_list ap;
	va_start(ap, fmt);
	char *s = vformat(fmt, ap);
	va_end(ap);
	if (strv_push(&r->notes, s) < 0)
		r->oom = true;
}

void report_error(struct bv_report *r, const struct bv_error *err)
{
	if (!r)
		return;
	r->error_count++;
	const char *msg = "unknown error";
	if (err && err->msg[0])
		msg = err->msg;
	else if (err && err->code)
		msg = strerror(err->code);
	if (strv_push(&r->errors, strndup(msg, BV_ERROR_MSG_MAX)) < 0)
		r->oom = true;
}

const char *bv_status_name(enum bv_status s)
{
	switch (s) {
	case BV_OK:
		return "ok";
	case BV_NOT_OK:
		return "not_ok";
	case BV_TODO:
		return "todo";
	case BV_SKIP:
		return "skip";
	case BV_INCONCLUSIVE:
		return "inconclusive";
	}
	return "unknown";
}

void point_set_blocked_by(struct bv_point *p, const char *prereq)
{
	point_field(p, "blocked_by", prereq);
	point_fieldf(p, "actual", "not checked: %s failed", prereq);
}

void report_set_quiet(struct bv_report *r, bool quiet)
{
	if (r)
		r->quiet = quiet;
}

bool report_point_shown(const struct bv_report *r, const struct bv_point *p)
{
	enum bv_status s = report_status_shown(r, p);
	return !r->quiet || (s != BV_OK && !(s == BV_SKIP && !r->must_run));
}

/* A SKIP that must_run turns into a failure. */
bool report_skip_fails(const struct bv_report *r, const struct bv_point *p)
{
	return p->status == BV_SKIP && r->must_run;
}

/* The status as counted and printed: ok, not_ok, todo, skip or inconclusive. */
enum bv_status report_status_shown(const struct bv_report *r, const struct bv_point *p)
{
	return report_skip_fails(r, p) ? BV_NOT_OK : p->status;
}

int report_exit_code(const struct bv_report *r)
{
	if (!r || r->oom || r->error_count || r->npoints == 0)
		return 2;
	int code = 0;
	for (size_t i = 0; i < r->npoints; i++) {
		enum bv_status s = report_status_shown(r, r->points[i]);
		if (s == BV_INCONCLUSIVE)
			return 2;
		if (s == BV_NOT_OK)
			code = 1;
	}
	return code;
}

/* ---- emit ------------------------------------------------------------------------ */

/* What is printed when the report itself could not be built: a failing document. */
static void emit_oom(enum bv_format fmt, FILE *out)
{
	if (fmt == BV_FORMAT_JSON)
		fputs("{\"format\":\"bottle-verify/1\",\"exit_code\":2,\"errors\":[\"" OOM_TEXT
		      "\"],\"points\":[]}\n",
		      out);
	else
		fputs("TAP version 13\n1..0 # no checks ran\n# error: " OOM_TEXT "\n", out);
}

int report_emit(const struct bv_report *r, enum bv_format fmt, FILE *out)
{
	if (!out)
		return -EINVAL;
	if (fmt != BV_FORMAT_TAP && fmt != BV_FORMAT_JSON)
		return -EINVAL;
	int rc = 0;
	if (!r)
		rc = -ENOMEM;
	else if (fmt == BV_FORMAT_JSON)
		rc = report_json_emit(r, out);
	else
		report_tap_emit(r, out);
	if (rc == -ENOMEM)
		emit_oom(fmt, out);
	if (fflush(out) != 0 || ferror(out))
		return -EIO;
	return rc;
}
