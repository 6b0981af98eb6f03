/* report.c - see report.h
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
#include "report.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cleanup.h"

#define MUST_RUN_REASON "skipped, but BOTTLE_VERIFY_MUST_RUN=1 requires every check to run"
#define OOM_TEXT "out of memory: the report is incomplete"

struct bv_field {
	char *key;
	char *value;
};

struct bv_point {
	struct bv_report *owner;
	char *id;
	char *description;
	char *reason;
	enum bv_status status;
	struct bv_field *fields;
	size_t nfields;
	size_t cap_fields;
};

struct bv_strv {
	char **v;
	size_t n;
	size_t cap;
};

struct bv_report {
	char *command;
	bool must_run;
	bool oom;           /* an allocation failed: something was not recorded */
	size_t error_count; /* report_error calls, even those whose text was lost */
	struct bv_point **points;
	size_t npoints;
	size_t cap_points;
	struct bv_strv notes;
	struct bv_strv errors;
};

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

/* A SKIP that must_run turns into a failure. */
static bool skip_fails(const struct bv_report *r, const struct bv_point *p)
{
	return p->status == BV_SKIP && r->must_run;
}

/* The status as counted and printed: ok, not_ok, todo, skip or inconclusive. */
static enum bv_status status_shown(const struct bv_report *r, const struct bv_point *p)
{
	return skip_fails(r, p) ? BV_NOT_OK : p->status;
}

int report_exit_code(const struct bv_report *r)
{
	if (!r || r->oom || r->error_count || r->npoints == 0)
		return 2;
	int code = 0;
	for (size_t i = 0; i < r->npoints; i++) {
		enum bv_status s = status_shown(r, r->points[i]);
		if (s == BV_INCONCLUSIVE)
			return 2;
		if (s == BV_NOT_OK)
			code = 1;
	}
	return code;
}

/* ---- text rendering ---------------------------------------------------------------- */

/* Length of the valid UTF-8 sequence at s (1..4) with its code point in *cp, or 0 when
 * s starts no valid sequence (overlong, surrogate, above U+10FFFF, truncated). Never
 * reads past a NUL: a NUL is not a continuation byte. */
static size_t utf8_seq(const unsigned char *s, uint32_t *cp)
{
	static const uint32_t min[5] = { 0, 0, 0x80, 0x800, 0x10000 };
	uint32_t c = s[0];
	size_t n;
	if (c < 0x80) {
		n = 1;
	} else if ((c & 0xe0) == 0xc0) {
		n = 2;
		c &= 0x1f;
	} else if ((c & 0xf0) == 0xe0) {
		n = 3;
		c &= 0x0f;
	} else if ((c & 0xf8) == 0xf0) {
		n = 4;
		c &= 0x07;
	} else {
		return 0;
	}
	for (size_t i = 1; i < n; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		c = (c << 6) | (s[i] & 0x3f);
	}
	if (c < min[n] || c > 0x10ffff || (c >= 0xd800 && c <= 0xdfff))
		return 0;
	*cp = c;
	return n;
}

/* Characters that break, or may be read as breaking, a line. */
static bool is_control(uint32_t cp)
{
	return cp < 0x20 || cp == 0x7f || (cp >= 0x80 && cp <= 0x9f) || cp == 0x2028 ||
	       cp == 0x2029;
}

enum esc_mode {
	ESC_DESC,    /* TAP description: one line, '\' and '#' escaped */
	ESC_COMMENT, /* "# " comment body: newline starts a new comment line */
	ESC_PLAIN,   /* directive reason: one line, no escaping */
	ESC_YAML,    /* inside '...': reversible one-line rendering */
};

static void put_control(FILE *out, uint32_t cp, enum esc_mode mode)
{
	if (mode == ESC_COMMENT && cp == '\n')
		fputs("\n# ", out);
	else if (mode != ESC_YAML)
		fputc(' ', out);
	else if (cp == '\n')
		fputs("\\n", out);
	else if (cp == '\t')
		fputs("\\t", out);
	else if (cp < 0x80)
		fprintf(out, "\\x%02x", (unsigned)cp);
	else
		fprintf(out, "\\u%04x", (unsigned)cp);
}

static void put_char(FILE *out, const unsigned char *s, size_t n, uint32_t cp,
		     enum esc_mode mode)
{
	if (is_control(cp))
		put_control(out, cp, mode);
	else if (cp == '\'' && mode == ESC_YAML)
		fputs("''", out);
	else if (cp == '\\' && (mode == ESC_YAML || mode == ESC_DESC))
		fputs("\\\\", out);
	else if (cp == '#' && mode == ESC_DESC)
		fputs("\\#", out);
	else
		fwrite(s, 1, n, out);
}

/* Write len bytes of s (a sequence never runs past s[len], a NUL or '\n'). */
static void put_text(FILE *out, const char *s, size_t len, enum esc_mode mode)
{
	const unsigned char *u = (const unsigned char *)s;
	const unsigned char *end = u + len;
	while (u < end) {
		uint32_t cp = 0;
		size_t n = utf8_seq(u, &cp);
		if (n == 0 || n > (size_t)(end - u)) {
			fprintf(out, "\\x%02x", *u++);
			continue;
		}
		put_char(out, u, n, cp, mode);
		u += n;
	}
}

static void put_str(FILE *out, const char *s, enum esc_mode mode)
{
	put_text(out, s, strlen(s), mode);
}

/* ---- TAP ------------------------------------------------------------------------- */

/* One "# prefix text" comment, one line per line of text (trailing newlines dropped). */
static void tap_comment(FILE *out, const char *prefix, const char *text)
{
	size_t len = strlen(text);
	while (len > 0 && text[len - 1] == '\n')
		len--;
	fprintf(out, "# %s", prefix);
	put_text(out, text, len, ESC_COMMENT);
	fputc('\n', out);
}

static void yaml_pair(FILE *out, const char *key, const char *value)
{
	fprintf(out, "    %s: '", key);
	put_str(out, value, ESC_YAML);
	fputs("'\n", out);
}

static void tap_yaml(FILE *out, const struct bv_report *r, const struct bv_point *p)
{
	fputs("  ---\n", out);
	yaml_pair(out, "id", p->id);
	yaml_pair(out, "status", bv_status_name(p->status));
	if (skip_fails(r, p)) {
		yaml_pair(out, "reason", MUST_RUN_REASON);
		yaml_pair(out, "skipped_reason", p->reason ? p->reason : "");
	} else if (p->reason) {
		yaml_pair(out, "reason", p->reason);
	}
	for (size_t i = 0; i < p->nfields; i++)
		yaml_pair(out, p->fields[i].key, p->fields[i].value);
	fputs("  ...\n", out);
}

static void tap_point(FILE *out, const struct bv_report *r, const struct bv_point *p,
		      size_t n)
{
	bool plain_skip = p->status == BV_SKIP && !r->must_run;
	bool ok = p->status == BV_OK || plain_skip;
	fprintf(out, "%s %zu - ", ok ? "ok" : "not ok", n);
	put_str(out, p->id, ESC_DESC);
	if (p->description[0]) {
		fputc(' ', out);
		put_str(out, p->description, ESC_DESC);
	}
	if (p->status == BV_TODO || plain_skip) {
		fputs(p->status == BV_TODO ? " # TODO" : " # SKIP", out);
		if (p->reason && p->reason[0]) {
			fputc(' ', out);
			put_str(out, p->reason, ESC_PLAIN);
		}
	}
	fputc('\n', out);
	if (p->status != BV_OK && !plain_skip)
		tap_yaml(out, r, p);
}

static void tap_emit(const struct bv_report *r, FILE *out)
{
	fputs("TAP version 13\n", out);
	if (r->npoints == 0)
		fputs("1..0 # no checks ran\n", out);
	else
		fprintf(out, "1..%zu\n", r->npoints);
	for (size_t i = 0; i < r->notes.n; i++)
		tap_comment(out, "", r->notes.v[i]);
	for (size_t i = 0; i < r->errors.n; i++)
		tap_comment(out, "error: ", r->errors.v[i]);
	if (r->oom)
		tap_comment(out, "error: ", OOM_TEXT);
	for (size_t i = 0; i < r->npoints; i++)
		tap_point(out, r, r->points[i], i + 1);
}

/* ---- JSON ------------------------------------------------------------------------ */

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
		size_t n = utf8_seq(u, &cp);
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
		count[status_shown(r, r->points[i])]++;
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
	if (skip_fails(r, p) &&
	    json_add_str(fields, "skipped_reason", p->reason ? p->reason : "") < 0)
		return -ENOMEM;
	for (size_t i = 0; i < p->nfields; i++)
		if (json_add_str(fields, p->fields[i].key, p->fields[i].value) < 0)
			return -ENOMEM;
	return 0;
}

static int json_point(cJSON *arr, const struct bv_report *r, const struct bv_point *p,
		      size_t n)
{
	cJSON *jp = cJSON_CreateObject();
	if (json_attach(arr, NULL, jp) < 0)
		return -ENOMEM;
	const char *reason = skip_fails(r, p) ? MUST_RUN_REASON : p->reason;
	if (json_add_num(jp, "n", (double)n) < 0 || json_add_str(jp, "id", p->id) < 0 ||
	    json_add_str(jp, "status", bv_status_name(status_shown(r, p))) < 0 ||
	    json_add_str(jp, "description", p->description) < 0)
		return -ENOMEM;
	if (reason && json_add_str(jp, "reason", reason) < 0)
		return -ENOMEM;
	return json_fields(jp, r, p);
}

static int json_fill(cJSON *doc, const struct bv_report *r)
{
	if (json_add_str(doc, "format", "bottle-verify/1") < 0 ||
	    json_add_str(doc, "command", r->command) < 0 ||
	    json_add_num(doc, "exit_code", report_exit_code(r)) < 0 ||
	    json_summary(doc, r) < 0 || json_add_strv(doc, "notes", &r->notes, NULL) < 0 ||
	    json_add_strv(doc, "errors", &r->errors, r->oom ? OOM_TEXT : NULL) < 0)
		return -ENOMEM;
	cJSON *arr = cJSON_CreateArray();
	if (json_attach(doc, "points", arr) < 0)
		return -ENOMEM;
	for (size_t i = 0; i < r->npoints; i++)
		if (json_point(arr, r, r->points[i], i + 1) < 0)
			return -ENOMEM;
	return 0;
}

static int json_emit(const struct bv_report *r, FILE *out)
{
	cJSON *doc = cJSON_CreateObject();
	int rc = doc ? json_fill(doc, r) : -ENOMEM;
	char *text = rc == 0 ? cJSON_PrintUnformatted(doc) : NULL;
	cJSON_Delete(doc);
	if (!text)
		return -ENOMEM;
	fputs(text, out);
	fputc('\n', out);
	cJSON_free(text);
	return 0;
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
		rc = json_emit(r, out);
	else
		tap_emit(r, out);
	if (rc == -ENOMEM)
		emit_oom(fmt, out);
	if (fflush(out) != 0 || ferror(out))
		return -EIO;
	return rc;
}
