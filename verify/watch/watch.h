/* watch.h - bottle-verify watch: keep proving a bottle confined while its agent runs.
 * Every interval: a census pass over the VMM's host sockets (one to anything the allowlist
 * does not explain is a leak), the new lines of smolvm's denial record, and the row and
 * launch config when their files changed. Findings print as they are seen (a streamed
 * report); the watch ends with its VMM, at its duration, or on a signal (docs/watch.md). */
#ifndef BV_VERIFY_WATCH_WATCH_H
#define BV_VERIFY_WATCH_WATCH_H

#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <sys/stat.h>

#include "core/cidr.h"
#include "core/report.h"
#include "db/audit.h"
#include "egress/census.h"
#include "egress/denials.h"
#include "smolvm/version.h"
#include "watch/follow.h"
#include "watch/stopper.h"

#define WATCH_INTERVAL_MS 200          /* default pass interval */
/* The socket tables are dumped when the VMM's sockets change, and at least every 5th pass
 * (a socket that changes where it goes without a new inode shows within 5 passes). */
#define WATCH_DUMP_EVERY 5
#define WATCH_READ_MAX (4u << 20)      /* denial-record bytes read per pass */
#define WATCH_DIAG_MS 10000            /* at most one denial summary comment per 10 s */
#define WATCH_LEAKS_KEPT 64            /* leaks remembered (with their lifetimes) for the end */
#define WATCH_LEAK_POINTS_MAX 100      /* leak points printed; the rest are counted */
#define WATCH_DENIALS_DISTINCT 4096    /* distinct refusals counted by destination */
#define WATCH_ROW_IDS 64               /* db checks remembered between reads */
#define WATCH_END_ROW_WAIT_MS 3000     /* how long a gone VMM's row may take to say stopped */

struct watch_opts {
	const char *name;             /* the machine */
	const char *smolvm;           /* for --stop-on-finding */
	const char *data_dir;         /* agent.pid, egress-denials.log, agent.config.json */
	const struct db_check_opts *db; /* the row's checks, run at the start and on change */
	const struct bv_cidr_set *allowed;
	const struct bv_version *version;
	const char *dns_guard;        /* the guard's address (its :53 sockets are contained), or NULL */
	const char *dns_upstream;     /* the carve-out's resolver when the launch config names none */
	int interval_ms;
	long duration_ms;             /* 0: until the VMM ends or a signal */
	bool stop_on_finding;
	unsigned long burst;          /* refusals within burst_window_ms that are a finding; 0: none */
	int burst_window_ms;
	bool must_run;                /* BOTTLE_VERIFY_MUST_RUN=1: a SKIP is not ok */
};

struct watch_leak {
	struct census_entry e; /* as last seen */
	bool closed;
};

struct file_sig {
	bool present;
	dev_t dev;
	ino_t ino;
	off_t size;
	struct timespec mtime;
};

enum watch_end {
	WATCH_RUNNING, WATCH_END_DURATION, WATCH_END_SIGNAL, WATCH_END_VMM_GONE, WATCH_END_VMM_REPLACED,
	WATCH_END_OUTPUT, /* stdout failed, and no --stop-on-finding to act for it */
};

/* When a pass reads the row: the first pass, every WATCH_ROW_EVERY-th pass whatever the
 * files say (a rewrite of the same size within one mtime tick shows no change), and when
 * smolvm.db, its -wal or agent.config.json changed. */
enum watch_row_when { WATCH_ROW_IF_CHANGED, WATCH_ROW_AGAIN, WATCH_ROW_FIRST };
#define WATCH_ROW_EVERY 25

struct watch {
	const struct watch_opts *o;
	struct bv_stream *st;
	long t0;                  /* bv_now_ms at the start: every time here is ms since */
	enum watch_end end;
	size_t findings;
	/* the census */
	struct census census;
	char upstream[64];        /* the carve-out's resolver */
	struct watch_leak leaks[WATCH_LEAKS_KEPT];
	size_t n_leaks, leaks_total, leak_points, pass_errors;
	long first_leak_ms;
	bool overflow_open, pass_error_open;
	size_t overflows, carveout, guarded_dns;
	/* the denial record */
	bool denials_on;
	char denials_off_why[160];
	struct follow follow;
	struct denial_set dset;
	size_t win_count, bursts, lost, read_errors, diag_seen;
	long win_start, last_diag;
	bool burst_open, record_error_open;
	/* the row */
	struct file_sig sigs[3];  /* smolvm.db, its -wal, agent.config.json */
	char row_printed[WATCH_ROW_IDS][64]; /* bad checks printed (with their status) */
	enum bv_status row_printed_status[WATCH_ROW_IDS];
	char row_pending[WATCH_ROW_IDS][64]; /* bad on the last read, printed if still bad */
	size_t n_row_printed, n_row_pending, row_reads, row_changes;
	bool row_recheck;                    /* read again next pass, changed files or not */
	/* the stop */
	struct stopper stopper;
	long stop_asked_ms;
	bool stop_reported;
};

/* Before confinement: find the VMM (agent.pid), open its census, start following the
 * denial record at its current end, fork the stopper. 0, or -errno with err set (-ESRCH:
 * the machine is not running). w is always safe to watch_free. */
int watch_setup(struct watch *w, const struct watch_opts *o, struct bv_error *err);
/* Follow the bottle until it ends (stop set by a signal handler ends it too), printing
 * into st; the summary points close it. The caller ends the stream. */
void watch_loop(struct watch *w, struct bv_stream *st, volatile sig_atomic_t *stop);
void watch_free(struct watch *w);

/* The parts (watch_census.c, watch_denials.c, watch_row.c), one pass each at now. */
void watch_census_pass(struct watch *w, long now);
void watch_census_summary(struct watch *w, struct bv_report *r);
void watch_denials_pass(struct watch *w, long now);
void watch_denials_summary(struct watch *w, struct bv_report *r);
void watch_row_pass(struct watch *w, long now, enum watch_row_when when);
void watch_row_summary(struct watch *w, struct bv_report *r);
/* The row's "state" ("running", "stopped", ...) into buf; "" when there is no row. 0 or -errno. */
int watch_row_state(const struct watch *w, char *buf, size_t cap);

/* A finding was printed: count it, and stop the machine when asked to. */
void watch_finding(struct watch *w, long now);
/* A scratch report for what is printed next. */
struct bv_report *watch_report(const struct watch *w);
/* Print r (a scratch report) into the stream, then free it. */
void watch_flush(struct watch *w, struct bv_report *r);
/* "2026-11-30T18:33:31Z" for now (wall clock). */
void watch_utc(char *buf, size_t cap);

#endif
