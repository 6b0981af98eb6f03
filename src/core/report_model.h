/* report_model.h - the report's model as its two writers (report_tap.c, report_json.c)
 * see it: points, fields, notes and errors, and the rules that say what a point shows
 * (a SKIP under must_run is shown as not ok). Internal to src/core/report*.c. */
#ifndef BV_CORE_REPORT_MODEL_H
#define BV_CORE_REPORT_MODEL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "core/report.h"

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
	bool quiet;         /* print only the points that are not ok (the summary counts all) */
	bool oom;           /* an allocation failed: something was not recorded */
	size_t error_count; /* report_error calls, even those whose text was lost */
	struct bv_point **points;
	size_t npoints;
	size_t cap_points;
	struct bv_strv notes;
	struct bv_strv errors;
};

/* A SKIP that must_run turns into a failure. */
bool report_skip_fails(const struct bv_report *r, const struct bv_point *p);

/* Is p printed? Under quiet only what TAP shows as "not ok" (a finding, a TODO, an
 * inconclusive point, a SKIP under must_run). */
bool report_point_shown(const struct bv_report *r, const struct bv_point *p);

/* The status as counted and printed: ok, not_ok, todo, skip or inconclusive. */
enum bv_status report_status_shown(const struct bv_report *r, const struct bv_point *p);

/* Length of the valid UTF-8 sequence at s (1..4) with its code point in *cp, or 0 when
 * s starts no valid sequence (overlong, surrogate, above U+10FFFF, truncated). Never
 * reads past a NUL: a NUL is not a continuation byte. */
size_t report_utf8_seq(const unsigned char *s, uint32_t *cp);

/* The writers. TAP cannot fail short of the stream (checked by the caller); JSON
 * returns 0 or -ENOMEM. */
void report_tap_emit(const struct bv_report *r, FILE *out);
int report_json_emit(const struct bv_report *r, FILE *out);

/* Pieces of them for the streamed form (report_stream.c): a "# prefix text" comment, one
 * point numbered n; the JSON lines {"type":"point",...}, {"type":TYPE,"text":...} and the
 * closing {"type":"end",...}. The JSON writers return 0 or -ENOMEM. */
void report_tap_comment(FILE *out, const char *prefix, const char *text);
void report_tap_point(FILE *out, const struct bv_report *r, const struct bv_point *p, size_t n);
int report_json_point_line(FILE *out, const struct bv_report *r, const struct bv_point *p, size_t n);
int report_json_text_line(FILE *out, const char *type, const char *text);
/* The first line of a streamed JSON report: its type, command, format and release. */
int report_json_begin_line(FILE *out, const char *command);
int report_json_end_line(FILE *out, const char *command, size_t n_points, const size_t count[5], int exit_code);

#endif
