/* watch_denials.c - see watch.h: smolvm's record of what its gateway refused, followed.
 * A refusal is the wall working: it is counted and summarised, and a finding only above
 * the burst threshold the user set. Lines lost to the record (rotated twice between two
 * passes, replaced, truncated) make the watch inconclusive: refusals we did not read
 * cannot be summarised, and the record is what proves a denial. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "watch/watch.h"

static void on_line(const char *line, size_t len, bool overlong, void *ctx)
{
	struct watch *w = ctx;
	struct bv_error err = { 0 };
	size_t before = w->dset.n_denials;
	if (denial_set_add_line(&w->dset, line, len, overlong, &err) < 0)
		w->read_errors++;
	w->win_count += w->dset.n_denials - before;
}

static void record_problem(struct watch *w, const char *id, const char *why)
{
	struct bv_report *r = watch_report(w);
	struct bv_point *p = report_add(r, id, BV_INCONCLUSIVE, "the gateway's denial record was read whole");
	point_field(p, "actual", why);
	point_field(p, "remediation", "refusals went unread: keep the watch's user able to read the VM's data dir; "
				      "a record that rotates twice within one interval needs a shorter --interval");
	watch_flush(w, r);
}

static void burst_point(struct watch *w, long now)
{
	watch_finding(w, now);
	struct bv_report *r = watch_report(w);
	struct bv_point *p = report_addf(r, "watch.denials.burst", BV_NOT_OK,
					 "the gateway refused no more than %lu flows within %d ms", w->o->burst,
					 w->o->burst_window_ms);
	point_fieldf(p, "actual", "%zu refusals within %ld ms (%zu in all so far)", w->win_count, now - w->win_start,
		     w->dset.n_denials);
	point_field(p, "remediation", "the agent is probing the walls: look at what it runs (egress-denials.log names each destination)");
	watch_flush(w, r);
}

/* The most refused destination, as a reader would look for first. */
static const struct denial_entry *top_entry(const struct denial_set *s)
{
	const struct denial_entry *top = NULL;
	for (size_t i = 0; i < s->len; i++)
		if (!top || s->items[i].count > top->count)
			top = &s->items[i];
	return top;
}

static void diag_note(struct watch *w, long now)
{
	const struct denial_entry *top = top_entry(&w->dset);
	char dest[DENIAL_TEXT_MAX] = "";
	if (top)
		denial_format_dest(&top->d, dest);
	struct bv_report *r = watch_report(w);
	report_note(r, "denials: %zu in the last %ld s, %zu in all, %zu distinct%s; most refused: %s (%u)",
		    w->dset.n_denials - w->diag_seen, (now - w->last_diag) / 1000, w->dset.n_denials, w->dset.len,
		    w->dset.truncated ? "+" : "", dest, top ? top->count : 0);
	watch_flush(w, r);
	w->diag_seen = w->dset.n_denials;
	w->last_diag = now;
}

void watch_denials_pass(struct watch *w, long now)
{
	struct bv_error err = { 0 };
	if (!w->denials_on)
		return;
	int r = follow_poll(&w->follow, WATCH_READ_MAX, on_line, w, &err);
	if (r == -ESTALE) {
		w->lost++;
		record_problem(w, "watch.denials.lost", err.msg);
	} else if (r < 0 && !w->record_error_open) {
		w->read_errors++;
		w->record_error_open = true;
		record_problem(w, "watch.denials.record", err.msg);
	} else if (r >= 0) {
		w->record_error_open = false;
	}
	if (now - w->win_start >= w->o->burst_window_ms) {
		w->win_start = now;
		w->win_count = 0;
		w->burst_open = false;
	}
	if (w->o->burst && w->win_count > w->o->burst && !w->burst_open) {
		w->burst_open = true;
		w->bursts++;
		burst_point(w, now);
	}
	if (now - w->last_diag >= WATCH_DIAG_MS && w->dset.n_denials > w->diag_seen)
		diag_note(w, now);
}

void watch_denials_summary(struct watch *w, struct bv_report *r)
{
	if (!w->denials_on) {
		struct bv_point *p = report_add(r, "watch.denials", BV_SKIP, "the gateway's denial record was followed");
		point_set_reason(p, w->denials_off_why);
		return;
	}
	enum bv_status st = w->bursts ? BV_NOT_OK : w->lost || w->read_errors ? BV_INCONCLUSIVE : BV_OK;
	struct bv_point *p = report_addf(r, "watch.denials", st,
					 "the gateway's denial record was followed: %zu refusals, %zu distinct%s, %zu malformed lines",
					 w->dset.n_denials, w->dset.len, w->dset.truncated ? "+" : "", w->dset.n_malformed);
	if (st == BV_OK)
		return;
	point_fieldf(p, "actual", "%zu burst(s), %zu loss(es) of the record, %zu read error(s)", w->bursts, w->lost,
		     w->read_errors);
	point_field(p, "remediation", st == BV_NOT_OK ? "the agent probed the walls past the burst threshold: look at what it runs"
						    : "refusals went unread: the record must stay readable and rotate less than twice an interval");
}
