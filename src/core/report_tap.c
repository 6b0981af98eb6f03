/* report_tap.c - the report as TAP 13 (see report.h for the contract and report.c for
 * the output rules): one-line descriptions, "# TODO"/"# SKIP" directives, and a YAML
 * block of single-quoted, reversible one-line scalars under every point not ok. */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "core/report_model.h"

/* ---- text rendering ---------------------------------------------------------------- */

/* See report_model.h. */
size_t report_utf8_seq(const unsigned char *s, uint32_t *cp)
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
		size_t n = report_utf8_seq(u, &cp);
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

void report_tap_comment(FILE *out, const char *prefix, const char *text)
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
	if (report_skip_fails(r, p)) {
		yaml_pair(out, "reason", MUST_RUN_REASON);
		yaml_pair(out, "skipped_reason", p->reason ? p->reason : "");
	} else if (p->reason) {
		yaml_pair(out, "reason", p->reason);
	}
	for (size_t i = 0; i < p->nfields; i++)
		yaml_pair(out, p->fields[i].key, p->fields[i].value);
	fputs("  ...\n", out);
}

void report_tap_point(FILE *out, const struct bv_report *r, const struct bv_point *p, size_t n)
{
	bool plain_skip = p->status == BV_SKIP && !r->must_run;
	bool ok = p->status == BV_OK || plain_skip;
	fprintf(out, "%s %zu - ", ok ? "ok" : "not ok", n);
	put_str(out, p->id, ESC_DESC);
	if (p->description[0]) {
		fputc(' ', out);
		put_str(out, p->description, ESC_DESC);
	}
	const char *blocked = p->status == BV_INCONCLUSIVE ? point_field_value(p, "blocked_by") : NULL;
	if (blocked) {
		fputs(" # not checked: ", out);
		put_str(out, blocked, ESC_PLAIN);
		fputs(" failed\n", out);
		return;
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

/* The closing tally, one line: "# 31 ok, 1 todo, 0 skip, 0 not ok, 0 inconclusive (exit 0)". */
static void tap_summary(FILE *out, const struct bv_report *r)
{
	size_t count[5] = { 0 };
	for (size_t i = 0; i < r->npoints; i++)
		count[report_status_shown(r, r->points[i])]++;
	fprintf(out, "# %zu ok, %zu todo, %zu skip, %zu not ok, %zu inconclusive", count[BV_OK], count[BV_TODO],
		count[BV_SKIP], count[BV_NOT_OK], count[BV_INCONCLUSIVE]);
	if (r->error_count || r->oom)
		fprintf(out, ", %zu error(s)", r->error_count + (r->oom ? 1 : 0));
	fprintf(out, " (exit %d)\n", report_exit_code(r));
}

void report_tap_emit(const struct bv_report *r, FILE *out)
{
	size_t shown = 0;
	for (size_t i = 0; i < r->npoints; i++)
		shown += report_point_shown(r, r->points[i]);
	fputs("TAP version 13\n", out);
	if (r->npoints == 0)
		fputs("1..0 # no checks ran\n", out);
	else if (shown == 0)
		fprintf(out, "1..0 # SKIP --quiet: all %zu points ok\n", r->npoints);
	else
		fprintf(out, "1..%zu\n", shown);
	for (size_t i = 0; i < r->notes.n && !r->quiet; i++)
		report_tap_comment(out, "", r->notes.v[i]);
	for (size_t i = 0; i < r->errors.n; i++)
		report_tap_comment(out, "error: ", r->errors.v[i]);
	if (r->oom)
		report_tap_comment(out, "error: ", OOM_TEXT);
	for (size_t i = 0, n = 0; i < r->npoints; i++)
		if (report_point_shown(r, r->points[i]))
			report_tap_point(out, r, r->points[i], ++n);
	tap_summary(out, r);
}
