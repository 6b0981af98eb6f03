/* report.h - the verdict record every command fills and prints.
 * One point per check, with a stable dotted id and YAML-able fields; printed as TAP 13
 * (for prove) or one JSON document, and turned into the 0/1/2 exit status. */
#ifndef BV_CORE_REPORT_H
#define BV_CORE_REPORT_H

#include <stdbool.h>
#include <stdio.h>

#include "core/error.h"

enum bv_status {
	BV_OK,           /* checked, and confined */
	BV_NOT_OK,       /* a finding */
	BV_TODO,         /* a known, accepted gap: "not ok ... # TODO reason"; ok once fixed */
	BV_SKIP,         /* not applicable, with a reason; not ok under MUST_RUN */
	BV_INCONCLUSIVE, /* could not be checked: never ok */
};

enum bv_format { BV_FORMAT_TAP, BV_FORMAT_JSON };

struct bv_report;
struct bv_point;

/* must_run: every SKIP is printed and counted as not ok (BOTTLE_VERIFY_MUST_RUN=1). */
struct bv_report *report_new(const char *command, bool must_run);
void report_free(struct bv_report *r);
/* Print only the points that are not ok (--quiet); the summary still counts them all. */
void report_set_quiet(struct bv_report *r, bool quiet);

/* Add a point; the strings are copied. description is one line (newlines and '#'
 * are escaped on output). Returns NULL only on out-of-memory; later calls on a NULL
 * point are no-ops, and the report then counts as an error (exit 2). */
struct bv_point *report_add(struct bv_report *r, const char *id, enum bv_status status,
			    const char *description);
struct bv_point *report_addf(struct bv_report *r, const char *id, enum bv_status status,
			     const char *fmt, ...) __attribute__((format(printf, 4, 5)));

/* A point with the standard YAML fields of a check that did not pass, in this order;
 * a NULL field is left out, and an ok point gets none of them. */
struct bv_finding {
	const char *id;
	const char *description;
	enum bv_status status;
	const char *expected;
	const char *actual;
	const char *remediation;
	const char *smolvm_version;
};
struct bv_point *report_add_finding(struct bv_report *r, const struct bv_finding *f);

/* An inconclusive point that was not checked because the point prereq failed: TAP
 * prints it on one line ("... # not checked: PREREQ failed"), with no YAML of its own,
 * so one missing prerequisite reads as one finding; JSON has the field "blocked_by". */
void point_set_blocked_by(struct bv_point *p, const char *prereq);
/* For BV_TODO and BV_SKIP: the reason after "# TODO" / "# SKIP". */
void point_set_reason(struct bv_point *p, const char *reason);

/* Add a YAML/JSON field in insertion order: "expected", "actual", "remediation",
 * "evidence", "smolvm_version", ... Values are single-line or multi-line text and are
 * escaped on output. The field "id" is always emitted first, from the point's id. */
void point_field(struct bv_point *p, const char *key, const char *value);
void point_fieldf(struct bv_point *p, const char *key, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* A free-text note printed as a "# ..." TAP comment before the points, and in JSON
 * under "notes". */
void report_note(struct bv_report *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Flip an existing point's status (e.g. when later evidence shows a leak). */
void point_set_status(struct bv_point *p, enum bv_status status);
enum bv_status point_status(const struct bv_point *p);

/* A point's id, the value of one of its fields (NULL when it has none), the i-th point of
 * a report (NULL past the end), and a copy of p added to r under id (NULL: p's own), its
 * description after desc_prefix (may be NULL): a streamed report passes on another
 * report's points. */
const char *point_id(const struct bv_point *p);
const char *point_field_value(const struct bv_point *p, const char *key);
struct bv_point *report_point_at(const struct bv_report *r, size_t i);
struct bv_point *report_add_copy(struct bv_report *r, const struct bv_point *p, const char *id,
				 const char *desc_prefix);

/* Record a fatal error of the run itself (usage, cannot open ...): emitted as a
 * "Bail out!"-free TAP comment plus exit 2; JSON "error". */
void report_error(struct bv_report *r, const struct bv_error *err);

size_t report_count(const struct bv_report *r);

/* The point with this id, or NULL. */
struct bv_point *report_find(const struct bv_report *r, const char *id);

/* How many points have an id starting with prefix; *n_pass (may be NULL) gets how many of
 * them passed: ok, or a TODO (an accepted, known gap). SKIP and the rest do not. */
size_t report_prefix_count(const struct bv_report *r, const char *prefix, size_t *n_pass);

/* Print. TAP: "TAP version 13", "1..N" then the points; a failing, TODO or
 * inconclusive point carries a YAML block. Zero points prints "1..0" and the run is
 * an error. Returns 0 or -errno (EIO when the stream failed). */
int report_emit(const struct bv_report *r, enum bv_format fmt, FILE *out);

/* 0 every point ok (TODO and SKIP included unless must_run); 1 at least one NOT_OK;
 * 2 any INCONCLUSIVE, any recorded error, out-of-memory, or zero points.
 * 2 wins over 1. */
int report_exit_code(const struct bv_report *r);

/* Streamed reports, for a command that reports as things happen (bottle-verify watch):
 * begin prints the header ("TAP version 13", or the JSON line {"type":"begin"}); each flush
 * prints a scratch report's notes, errors and points at once, numbered on from the last
 * (JSON: one object per line, {"type":"point"|"note"|"error",...}), and counts them; end
 * prints the trailing plan "1..N" and a tally comment (JSON: {"type":"end","summary":..,
 * "exit_code":..}) and returns the exit code report_exit_code would give the whole run. */
struct bv_stream {
	enum bv_format fmt;
	FILE *out;
	char command[32];
	size_t n;        /* points printed */
	size_t count[5]; /* by status shown (enum bv_status) */
	size_t errors;   /* errors recorded (and out-of-memory) */
	bool failed;     /* the stream could not be written: exit 2 */
};
void report_stream_begin(struct bv_stream *s, const char *command, enum bv_format fmt, FILE *out);
int report_stream_flush(struct bv_stream *s, const struct bv_report *r);
int report_stream_exit_code(const struct bv_stream *s);
int report_stream_end(struct bv_stream *s);

const char *bv_status_name(enum bv_status s); /* "ok", "not_ok", "todo", "skip", "inconclusive" */

#endif
