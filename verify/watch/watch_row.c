/* watch_row.c - see watch.h: the machine's row and launch config, re-read when their
 * files change. The db checks run as `bottle-verify db` runs them; a check that turns bad
 * is printed once it is still bad on the next read (a clean stop rewrites the row and the
 * launch files just before the VMM exits, and that is the VMM's end, not a finding). At
 * the start everything bad is printed at once. db.vmm.consistent is the census's to judge:
 * it follows the VMM by pid and start time itself. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "smolvm/record.h"
#include "smolvm/statedb.h"
#include "watch/watch.h"

static const char *const ignored[] = { "db.vmm.consistent" };

static void sig_of(const char *path, struct file_sig *s)
{
	struct stat st;
	memset(s, 0, sizeof *s);
	if (stat(path, &st) < 0)
		return;
	*s = (struct file_sig){ true, st.st_dev, st.st_ino, st.st_size, st.st_mtim };
}

static bool sig_eq(const struct file_sig *a, const struct file_sig *b)
{
	return a->present == b->present && a->dev == b->dev && a->ino == b->ino && a->size == b->size &&
	       a->mtime.tv_sec == b->mtime.tv_sec && a->mtime.tv_nsec == b->mtime.tv_nsec;
}

/* Did smolvm.db, its -wal or agent.config.json change since the last read? */
static bool files_changed(struct watch *w)
{
	char path[3][4200];
	struct file_sig now[3];
	snprintf(path[0], sizeof path[0], "%s", w->o->db->db_path);
	snprintf(path[1], sizeof path[1], "%s-wal", w->o->db->db_path);
	snprintf(path[2], sizeof path[2], "%s/agent.config.json", w->o->data_dir);
	bool changed = false;
	for (size_t i = 0; i < 3; i++) {
		sig_of(path[i], &now[i]);
		changed |= !sig_eq(&now[i], &w->sigs[i]);
		w->sigs[i] = now[i];
	}
	return changed;
}

static bool is_bad(enum bv_status s)
{
	return s == BV_NOT_OK || s == BV_INCONCLUSIVE;
}

static bool is_ignored(const char *id)
{
	for (size_t i = 0; i < sizeof ignored / sizeof *ignored; i++)
		if (strcmp(ignored[i], id) == 0)
			return true;
	return false;
}

static ssize_t find_id(char ids[][64], size_t n, const char *id)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(ids[i], id) == 0)
			return (ssize_t)i;
	return -1;
}

/* "watch.row.allowed_cidrs.exact" for "db.allowed_cidrs.exact". */
static void row_id(const char *db_id, char *buf, size_t cap)
{
	snprintf(buf, cap, "watch.row.%s", strncmp(db_id, "db.", 3) == 0 ? db_id + 3 : db_id);
}

static void report_bad(struct watch *w, struct bv_report *out, const struct bv_point *p, bool first, long now)
{
	char id[96];
	row_id(point_id(p), id, sizeof id);
	report_add_copy(out, p, id, first ? "at the start of the watch: " : "the row changed under the watch: ");
	if (point_status(p) == BV_NOT_OK)
		watch_finding(w, now);
	w->row_changes += !first;
}

struct row_lists {
	char ids[WATCH_ROW_IDS][64];
	enum bv_status status[WATCH_ROW_IDS];
	size_t n;
};

static void list_add(struct row_lists *l, const char *id, enum bv_status st)
{
	if (l->n == WATCH_ROW_IDS)
		return;
	snprintf(l->ids[l->n], sizeof l->ids[0], "%s", id);
	l->status[l->n++] = st;
}

/* Compare one read of the db checks with what was printed so far: a check bad now is
 * printed at the start, or when it was already bad (pending) on the read before. */
static void row_diff(struct watch *w, const struct bv_report *r, bool first, long now, struct bv_report *out)
{
	struct row_lists printed = { .n = 0 }, pending = { .n = 0 }, bad = { .n = 0 };
	for (size_t i = 0; report_point_at(r, i); i++) {
		const struct bv_point *p = report_point_at(r, i);
		const char *id = point_id(p);
		enum bv_status st = point_status(p);
		if (!is_bad(st) || is_ignored(id))
			continue;
		list_add(&bad, id, st);
		ssize_t k = find_id(w->row_printed, w->n_row_printed, id);
		if (k >= 0 && w->row_printed_status[k] == st) {
			list_add(&printed, id, st);
		} else if (first || find_id(w->row_pending, w->n_row_pending, id) >= 0) {
			report_bad(w, out, p, first, now);
			list_add(&printed, id, st);
		} else {
			list_add(&pending, id, st);
		}
	}
	for (size_t i = 0; i < w->n_row_printed; i++)
		if (find_id(bad.ids, bad.n, w->row_printed[i]) < 0)
			report_note(out, "the row's %s is as expected again", w->row_printed[i]);
	memcpy(w->row_printed, printed.ids, sizeof printed.ids);
	memcpy(w->row_printed_status, printed.status, sizeof printed.status);
	w->n_row_printed = printed.n;
	memcpy(w->row_pending, pending.ids, sizeof pending.ids);
	w->n_row_pending = pending.n;
	w->row_recheck = pending.n > 0;
}

void watch_row_pass(struct watch *w, long now, enum watch_row_when when)
{
	bool first = when == WATCH_ROW_FIRST;
	if (!files_changed(w) && !w->row_recheck && when == WATCH_ROW_IF_CHANGED)
		return;
	struct bv_report *r = report_new("db", false), *out = watch_report(w);
	if (!r || !out) {
		report_free(r);
		watch_flush(w, out);
		return;
	}
	check_db(r, w->o->db);
	w->row_reads++;
	row_diff(w, r, first, now, out);
	report_free(r);
	watch_flush(w, out);
}

void watch_row_summary(struct watch *w, struct bv_report *r)
{
	enum bv_status st = BV_OK;
	for (size_t i = 0; i < w->n_row_printed; i++)
		if (w->row_printed_status[i] == BV_NOT_OK || (st == BV_OK && w->row_printed_status[i] == BV_INCONCLUSIVE))
			st = w->row_printed_status[i];
	if (w->row_changes && st == BV_OK)
		st = BV_NOT_OK; /* it changed back, but it changed */
	struct bv_point *p = report_addf(r, "watch.row", st, "the row and launch config stayed as expected (%zu reads)",
					 w->row_reads);
	if (st == BV_OK)
		return;
	point_fieldf(p, "actual", "%zu change(s) under the watch; %zu check(s) bad at the end", w->row_changes,
		     w->n_row_printed);
	point_field(p, "remediation", "see the watch.row.* points above: bottle-verify db names each field and its fix");
}

int watch_row_state(const struct watch *w, char *buf, size_t cap)
{
	struct bv_error err = { 0 };
	sqlite3 *db = NULL;
	struct statedb_row row = { 0 };
	struct vm_record rec = { 0 };
	buf[0] = '\0';
	int r = statedb_open_readonly(w->o->db->db_path, &db, &err);
	if (r == 0)
		r = statedb_read_row(db, w->o->name, &row, &err);
	statedb_close(db);
	if (r == 0 && row.found && (r = record_parse(row.data, row.len, &rec, &err)) == 0) {
		const cJSON *s = record_get(&rec, "state");
		snprintf(buf, cap, "%s", cJSON_IsString(s) ? s->valuestring : "?");
	}
	record_free(&rec);
	statedb_row_free(&row);
	return r;
}
