/* watch.c - see watch.h: set-up, the pass loop, the end and its summary. One thread: each
 * pass is census, denial record, row, in that order, so a VMM that is gone ends the watch
 * before its stop's rewrites of the row could be read as changes. */
#include "watch/watch.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "core/clock.h"
#include "core/proc.h"
#include "smolvm/record.h"

void watch_utc(char *buf, size_t cap)
{
	struct timespec ts;
	struct tm tm;
	clock_gettime(CLOCK_REALTIME, &ts);
	if (!gmtime_r(&ts.tv_sec, &tm) || !strftime(buf, cap, "%Y-%m-%dT%H:%M:%SZ", &tm))
		snprintf(buf, cap, "?");
}

struct bv_report *watch_report(const struct watch *w)
{
	return report_new("watch", w->o->must_run);
}

void watch_flush(struct watch *w, struct bv_report *r)
{
	if (r)
		report_stream_flush(w->st, r);
	else
		w->st->failed = true; /* out of memory: something went unprinted */
	report_free(r);
}

void watch_finding(struct watch *w, long now)
{
	w->findings++;
	if (!w->o->stop_on_finding || w->stopper.asked)
		return;
	w->stop_asked_ms = now;
	struct bv_report *r = watch_report(w);
	if (stopper_ask(&w->stopper) == 0)
		report_note(r, "stopping the machine (--stop-on-finding): smolvm machine stop --name %s", w->o->name);
	else
		report_note(r, "--stop-on-finding: the stopper is not there; stop the machine by hand");
	watch_flush(w, r);
}

/* The carve-out's resolver: what the VMM was started with (agent.config.json's dns, from
 * --dns, smolvm >= 1.2.5), else the one the caller names (smolvm's default). */
static void find_upstream(struct watch *w)
{
	char path[4200];
	struct vm_record cfg = { 0 };
	struct bv_error err = { 0 };
	snprintf(w->upstream, sizeof w->upstream, "%s", w->o->dns_upstream ? w->o->dns_upstream : "1.1.1.1");
	snprintf(path, sizeof path, "%s/agent.config.json", w->o->data_dir);
	if (w->o->version && version_has_dns_flag(w->o->version) && record_read_file(path, &cfg, &err) == 0) {
		const cJSON *dns = cJSON_GetObjectItemCaseSensitive(record_get(&cfg, "resources"), "dns");
		if (cJSON_IsString(dns) && strlen(dns->valuestring) < sizeof w->upstream)
			snprintf(w->upstream, sizeof w->upstream, "%s", dns->valuestring);
	}
	record_free(&cfg);
}

static int open_vmm(struct watch *w, struct bv_error *err)
{
	char path[4200];
	long long pid = 0;
	bool has_start = false;
	unsigned long long start = 0;
	snprintf(path, sizeof path, "%s/agent.pid", w->o->data_dir);
	int r = proc_read_pidfile(path, &pid, &has_start, &start, err);
	if (r == 0)
		return bv_error_set(err, ESRCH, "%s names no VMM: the machine is not running", path);
	if (r == 1 && !has_start)
		return bv_error_set(err, EINVAL, "%s names no start time: the VMM cannot be told from a reused pid", path);
	if (r < 0 || (r = census_open(&w->census, (pid_t)pid, start, err)) < 0)
		return r;
	/* Dump only on change where the VMM's sockets are the gateway's relays, which connect
	 * at once; under TSI (and an unknown version) the guest's socket() makes a host socket
	 * that connects when the guest says, so every pass dumps. */
	if (w->o->version && w->o->version->known && version_policy_defaults_virtio(w->o->version))
		w->census.dump_every = WATCH_DUMP_EVERY;
	return 0;
}

static int open_denials(struct watch *w, struct bv_error *err)
{
	char path[4200];
	const struct bv_version *v = w->o->version;
	if (!v || !v->known || !version_has_denial_log(v)) {
		snprintf(w->denials_off_why, sizeof w->denials_off_why, "%s",
			 v && v->known ? "this smolvm keeps no denial record (egress-denials.log is new in 1.8.1)"
				       : "the smolvm version is unknown: no denial record is assumed");
		return 0;
	}
	if (denials_path(w->o->data_dir, false, path, sizeof path) < 0)
		return bv_error_set(err, ENAMETOOLONG, "the data dir's path is too long");
	int r = follow_open(&w->follow, path, true, err);
	if (r < 0)
		return bv_error_wrap(err, "cannot follow the denial record");
	w->denials_on = true;
	w->dset.max = WATCH_DENIALS_DISTINCT;
	return 0;
}

int watch_setup(struct watch *w, const struct watch_opts *o, struct bv_error *err)
{
	memset(w, 0, sizeof *w);
	w->o = o;
	w->stopper.ask_fd = w->stopper.answer_fd = -1;
	find_upstream(w);
	int r = open_vmm(w, err);
	if (r == 0)
		r = open_denials(w, err);
	if (r == 0 && o->stop_on_finding)
		r = stopper_start(&w->stopper, o->smolvm, o->name, err);
	return r;
}

void watch_free(struct watch *w)
{
	census_free(&w->census);
	if (w->denials_on)
		follow_close(&w->follow);
	denial_set_free(&w->dset);
	stopper_close(&w->stopper);
}

static void start_notes(struct watch *w)
{
	char allowed[512] = "", utc[32];
	size_t used = 0;
	for (size_t i = 0; w->o->allowed && i < w->o->allowed->len && used + 48 < sizeof allowed; i++) {
		char c[CIDR_TEXT_MAX];
		cidr_format(&w->o->allowed->items[i], c);
		used += (size_t)snprintf(allowed + used, sizeof allowed - used, "%s%s", i ? ", " : "", c);
	}
	watch_utc(utc, sizeof utc);
	struct bv_report *r = watch_report(w);
	report_note(r, "watch %s from %s: VMM pid %d (start time %llu), allowlist [%s], a pass every %d ms, %s%s",
		    w->o->name, utc, (int)w->census.pid, w->census.start_time, allowed, w->o->interval_ms,
		    w->o->duration_ms ? "for a limited time" : "until the VMM ends or a signal",
		    w->o->stop_on_finding ? "; a finding stops the machine" : "");
	report_note(r, "DNS: %s %s:53", w->o->dns_guard ? "the guard at" : "the carve-out to the upstream",
		    w->o->dns_guard ? w->o->dns_guard : w->upstream);
	if (!w->denials_on)
		report_note(r, "denial record: not followed: %s", w->denials_off_why);
	watch_flush(w, r);
}

/* Sleep until the next pass is due (a signal wakes it early). */
static void sleep_until(long due_ms)
{
	long left = due_ms - bv_now_ms();
	if (left <= 0)
		return;
	struct timespec ts = { left / 1000, (left % 1000) * 1000000L };
	nanosleep(&ts, NULL);
}

static void stop_answer(struct watch *w, long now)
{
	if (!w->stopper.asked || w->stop_reported || !stopper_answered(&w->stopper))
		return;
	w->stop_reported = true;
	const struct stopper_result *s = &w->stopper.result;
	struct bv_report *r = watch_report(w);
	bool ok = s->ran && s->exited && s->status == 0;
	struct bv_point *p = report_addf(r, "watch.stop", ok ? BV_OK : BV_NOT_OK,
					 "the machine was stopped on the first finding (smolvm machine stop took %ld ms)",
					 s->took_ms);
	if (!ok) {
		point_fieldf(p, "actual", "smolvm machine stop %s: %s",
			     !s->ran ? "could not run" : s->timed_out ? "timed out" : "failed", s->said);
		point_field(p, "remediation", "stop the machine by hand now: smolvm machine stop --name NAME");
	}
	(void)now;
	watch_flush(w, r);
}

/* The VMM is gone: did the bottle stop (the row says so, soon), or crash, or restart? */
static void vmm_end_point(struct watch *w, struct bv_report *r, long now)
{
	char state[32] = "";
	long deadline = bv_now_ms() + WATCH_END_ROW_WAIT_MS;
	int rc = watch_row_state(w, state, sizeof state);
	while (rc == 0 && strcmp(state, "running") == 0 && bv_now_ms() < deadline) {
		sleep_until(bv_now_ms() + 100);
		rc = watch_row_state(w, state, sizeof state);
	}
	bool stopped = rc == 0 && strcmp(state, "running") != 0;
	const char *how = w->end == WATCH_END_VMM_REPLACED ? "its pid now names another process" : "it exited";
	struct bv_point *p = report_addf(r, "watch.vmm", stopped ? BV_OK : BV_INCONCLUSIVE,
					 "the watch followed the bottle's VMM to its end (%s %ld ms into the watch; the row says %s; "
					 "a watch follows one VMM: watch the machine again if it starts again)",
					 how, now, rc < 0 ? "nothing readable" : state[0] ? state : "no machine");
	if (stopped)
		return;
	point_field(p, "actual", rc < 0 ? "the row could not be read after the VMM ended"
					: "the VMM ended but the row still says running: it crashed, was killed, or was replaced by a new VMM this watch does not follow");
	point_field(p, "remediation", "find why the VMM ended; if the machine runs again, watch it again");
}

static void end_point(struct watch *w, struct bv_report *r, long now)
{
	switch (w->end) {
	case WATCH_END_VMM_GONE:
	case WATCH_END_VMM_REPLACED:
		vmm_end_point(w, r, now);
		return;
	case WATCH_END_DURATION:
		report_addf(r, "watch.vmm", BV_OK, "the watch ran its whole duration (%ld ms); the VMM still runs", now);
		return;
	case WATCH_END_OUTPUT:
		report_addf(r, "watch.vmm", BV_INCONCLUSIVE, "the watch ended after %ld ms: its report could not be written", now);
		return;
	case WATCH_END_SIGNAL:
	case WATCH_RUNNING:
		report_addf(r, "watch.vmm", BV_OK, "the watch ended on request after %ld ms; the VMM still runs", now);
		return;
	}
}

static void dns_point(struct watch *w, struct bv_report *r)
{
	if (w->o->dns_guard || w->carveout == 0)
		return;
	struct bv_point *p = report_addf(r, "watch.dns", BV_TODO, "guest DNS ended at a resolver the launcher controls");
	point_set_reason(p, "smolvm >= 1.1.3 answers UDP/53 to any address through its gateway (DNS carve-out)");
	point_fieldf(p, "actual", "%zu VMM socket(s) to the DNS upstream %s:53", w->carveout, w->upstream);
	point_field(p, "remediation", "close the DNS carve-out with a DNS guard (bottle-launch up, smolvm >= 1.2.5; docs/launch.md, The DNS guard) and pass --dns-guard ADDR");
}

static void summary(struct watch *w, long now)
{
	struct bv_report *r = watch_report(w);
	if (w->stopper.asked && !w->stop_reported) {
		struct bv_point *p = report_add(r, "watch.stop", BV_INCONCLUSIVE, "the machine was stopped on the first finding");
		point_field(p, "actual", "smolvm machine stop had not answered when the watch ended");
	}
	if (w->leaks_total && w->stopper.asked && (w->end == WATCH_END_VMM_GONE || w->end == WATCH_END_VMM_REPLACED))
		report_note(r, "the first leak was open from %ld ms to the VMM's end at %ld ms: %ld ms (at most %d ms more)",
			    w->first_leak_ms, now, now - w->first_leak_ms, w->o->interval_ms);
	watch_census_summary(w, r);
	watch_denials_summary(w, r);
	dns_point(w, r);
	watch_row_summary(w, r);
	end_point(w, r, now);
	watch_flush(w, r);
}

void watch_loop(struct watch *w, struct bv_stream *st, volatile sig_atomic_t *stop)
{
	w->st = st;
	w->t0 = bv_now_ms();
	start_notes(w);
	long now = 0, due = w->t0;
	for (long pass = 0;; pass++) {
		now = bv_now_ms() - w->t0;
		watch_census_pass(w, now);
		if (w->census.vmm_gone || w->census.vmm_replaced) {
			w->end = w->census.vmm_replaced ? WATCH_END_VMM_REPLACED : WATCH_END_VMM_GONE;
			break;
		}
		watch_denials_pass(w, now);
		watch_row_pass(w, now, pass == 0 ? WATCH_ROW_FIRST : pass % WATCH_ROW_EVERY == 0 ? WATCH_ROW_AGAIN : WATCH_ROW_IF_CHANGED);
		stop_answer(w, now);
		if (*stop) {
			w->end = WATCH_END_SIGNAL;
			break;
		}
		if (st->failed && !w->o->stop_on_finding) {
			/* nobody can read it, and nothing would stop the machine: not a watch */
			fputs("bottle-verify watch: the report cannot be written: ending\n", stderr);
			w->end = WATCH_END_OUTPUT;
			break;
		}
		if (w->o->duration_ms && now >= w->o->duration_ms) {
			w->end = WATCH_END_DURATION;
			break;
		}
		/* a late pass moves the schedule on; passes never bunch up to catch up */
		due += w->o->interval_ms;
		if (due < bv_now_ms())
			due = bv_now_ms();
		sleep_until(due);
	}
	watch_denials_pass(w, now); /* what the record holds up to the end */
	for (long until = bv_now_ms() + 2000; w->stopper.asked && !stopper_answered(&w->stopper) && bv_now_ms() < until;)
		sleep_until(bv_now_ms() + 50);
	stop_answer(w, now);
	summary(w, now);
}
