/* report_stream.c - see report.h ("Streamed reports"). The points of each scratch report
 * are printed at once and counted, so memory does not grow with the points a long watch
 * prints; the plan and the tally come at the end, where TAP 13 allows a trailing plan. */
#include <errno.h>
#include <string.h>

#include "core/report_model.h"

void report_stream_begin(struct bv_stream *s, const char *command, enum bv_format fmt, FILE *out)
{
	memset(s, 0, sizeof *s);
	s->fmt = fmt;
	s->out = out;
	snprintf(s->command, sizeof s->command, "%s", command);
	if (fmt == BV_FORMAT_TAP)
		fputs("TAP version 13\n", out);
	else if (report_json_begin_line(out, command) < 0)
		s->failed = true;
	fflush(out);
}

static int stream_texts(struct bv_stream *s, const struct bv_strv *v, const char *prefix, const char *type)
{
	for (size_t i = 0; i < v->n; i++) {
		if (s->fmt == BV_FORMAT_TAP)
			report_tap_comment(s->out, prefix, v->v[i]);
		else if (report_json_text_line(s->out, type, v->v[i]) < 0)
			return -ENOMEM;
	}
	return 0;
}

int report_stream_flush(struct bv_stream *s, const struct bv_report *r)
{
	int rc = stream_texts(s, &r->notes, "", "note");
	if (rc == 0)
		rc = stream_texts(s, &r->errors, "error: ", "error");
	s->errors += r->error_count + (r->oom ? 1 : 0);
	for (size_t i = 0; i < r->npoints && rc == 0; i++) {
		const struct bv_point *p = r->points[i];
		s->n++;
		s->count[report_status_shown(r, p)]++;
		if (s->fmt == BV_FORMAT_TAP)
			report_tap_point(s->out, r, p, s->n);
		else
			rc = report_json_point_line(s->out, r, p, s->n);
	}
	if (fflush(s->out) != 0 || ferror(s->out))
		rc = -EIO;
	if (rc < 0)
		s->failed = true;
	return rc;
}

int report_stream_exit_code(const struct bv_stream *s)
{
	if (s->failed || s->errors || s->n == 0 || s->count[BV_INCONCLUSIVE])
		return 2;
	return s->count[BV_NOT_OK] ? 1 : 0;
}

int report_stream_end(struct bv_stream *s)
{
	int code = report_stream_exit_code(s);
	if (s->fmt == BV_FORMAT_TAP) {
		if (s->n == 0)
			fputs("1..0 # no checks ran\n", s->out);
		else
			fprintf(s->out, "1..%zu\n", s->n);
		fprintf(s->out, "# %zu ok, %zu not ok, %zu todo, %zu skip, %zu inconclusive\n", s->count[BV_OK],
			s->count[BV_NOT_OK], s->count[BV_TODO], s->count[BV_SKIP], s->count[BV_INCONCLUSIVE]);
	} else if (report_json_end_line(s->out, s->command, s->n, s->count, code) < 0) {
		code = 2;
	}
	if (fflush(s->out) != 0 || ferror(s->out))
		code = 2;
	return code;
}
