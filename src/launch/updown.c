/* updown.c - see updown.h */
#include "launch/updown.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "launch/alias_pool.h"
#include "launch/claims.h"
#include "launch/dnsguard.h"
#include "launch/watcher.h"
#include "launch/enforce.h"
#include "smolvm/paths.h"
#include "core/proc.h"
#include "smolvm/cli.h"
#include "smolvm/statedb.h"
#include "launch/subnet.h"
#include "launch/result.h"

#define STEPS 9

struct launch {
	const struct launch_req *r;
	struct bv_version v;
	char *db, *dir;                /* smolvm's DB and the machine's data dir */
	char lease_dir[4096];
	char alias[LEASE_ADDR_MAX];    /* --alias auto: the pool alias, or "" */
	char leased[LEASE_ADDR_MAX];   /* the address leased (or, dry run, to be) */
	bool lease_kept;               /* the machine held that lease already */
	bool release_lease;            /* teardown releases the machine's lease */
	char allow_cidr[CIDR_TEXT_MAX];
	char control[128];             /* "tcp:ADDR:PORT" or "" */
	bool guarded;                  /* the bottle gets a DNS guard (g) */
	bool guard_started;
	struct dnsguard g;
	bool watch_started;            /* --watch: a bottle-verify watch runs (wt) */
	struct watcher wt;
	int step;
	int verify_exit;               /* bottle-verify all's exit status, -1 before it ran */
	char *verify_report;           /* its JSON report (--format json), malloc'd */
};

static void say(struct launch *l, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void say(struct launch *l, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	fprintf(stderr, "up %s: [%d/%d] ", l->r->name, l->step, STEPS);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
}

static bool row_exists(const char *db_path, const char *name, bool *exists, struct bv_error *err)
{
	sqlite3 *db = NULL;
	struct statedb_row row = { 0 };
	int r = statedb_open_readonly(db_path, &db, err);
	if (r == -ENOENT) {
		*exists = false; /* no DB at all: no machine */
		return true;
	}
	if (r == 0)
		r = statedb_read_row(db, name, &row, err);
	*exists = r == 0 && row.found;
	statedb_row_free(&row);
	statedb_close(db);
	return r == 0;
}

/* Stale: the launcher that wrote it is gone AND its machine has no row (unsure: kept). */
static bool lease_is_stale(const struct lease *ls, void *ctx)
{
	const char *db_path = ctx;
	bool alive = true, same = true, exists = true;
	struct bv_error err;
	proc_identify(ls->pid, ls->start != 0, ls->start, &alive, &same);
	if (alive && same)
		return false;
	return row_exists(db_path, ls->machine, &exists, &err) && !exists;
}

static int resolve_paths(struct launch *l, struct bv_error *err)
{
	struct bv_path_env env;
	paths_env_default(&env);
	paths_env_for_version(&env, &l->v); /* read by preflight / down first */
	int r = 0;
	if (l->r->db)
		l->db = strdup(l->r->db);
	else if ((r = paths_state_db(&env, &l->db, err)) < 0)
		return bv_error_wrap(err, "cannot derive smolvm's DB path (pass --db)");
	if (l->r->data_dir)
		l->dir = strdup(l->r->data_dir);
	else if ((r = paths_vm_data_dir(&env, l->r->name, &l->dir, err)) < 0)
		return bv_error_wrap(err, "cannot derive the machine's data dir (pass --data-dir)");
	if (!l->db || !l->dir)
		return bv_error_set(err, ENOMEM, "out of memory");
	return alias_pool_dir(l->r->lease_dir, l->lease_dir, sizeof l->lease_dir, err);
}

/* Step 1: the host can run a bottle (bottle-verify preflight), and which smolvm it is. */
static int preflight(struct launch *l, struct bv_error *err)
{
	const struct launch_req *r = l->r;
	const char *argv[] = { r->verify, "preflight", "--smolvm", r->smolvm,
			       r->kvm_device ? "--kvm-device" : NULL, r->kvm_device, NULL };
	struct spawn_result res;
	int rc = spawn_capture((char *const *)argv, 60000, 256 * 1024, &res, err);
	if (rc < 0)
		return bv_error_wrap(err, "run %s preflight", r->verify);
	bool good = res.exited && res.status == 0;
	if (!good)
		fprintf(stderr, "%s", res.out);
	spawn_result_free(&res);
	if (!good)
		return bv_error_set(err, EPERM, "preflight failed (its report is above): this host cannot run a confined bottle");
	char *raw = NULL;
	rc = smolvm_version(r->smolvm, &l->v, &raw, err);
	if (rc == 0)
		say(l, "preflight ok; %s", raw ? raw : "smolvm");
	free(raw);
	return rc;
}

/* Step 2: the address's lease (one address per bottle): refused while another machine
 * holds it, by a lease or by its allowlist in smolvm's DB; addr NULL: a pool alias. */
static int take_lease(struct launch *l, const char *addr, struct bv_error *err)
{
	const struct launch_req *r = l->r;
	struct claims_lookup look = { .db_path = l->db, .self = r->name };
	struct lease_req q = { .dir = l->lease_dir, .machine = r->name, .addr = addr,
			       .stale = lease_is_stale, .stale_ctx = l->db,
			       .taken = claims_taken, .taken_ctx = &look, .dry_run = r->dry_run };
	struct lease_grant g;
	int rc = alias_pool_acquire(&q, &g, err);
	claims_lookup_free(&look);
	for (size_t i = 0; i < g.n_reclaimed; i++)
		say(l, "%s the stale lease of %s on %s (its launcher is gone and it has no machine row)",
		    r->dry_run ? "would reclaim" : "reclaimed", g.reclaimed[i].machine, g.reclaimed[i].addr);
	if (rc < 0)
		return rc;
	snprintf(l->leased, sizeof l->leased, "%s", g.addr);
	l->lease_kept = g.kept;
	l->release_lease = !g.kept && !r->dry_run;
	if (!addr)
		snprintf(l->alias, sizeof l->alias, "%s", g.addr);
	return 0;
}

/* Steps 2-3: the one allowed destination, refusals, and its lease. */
static int allowlist(struct launch *l, struct bv_error *err)
{
	const struct launch_req *r = l->r;
	struct bv_cidr c;
	char addr[CIDR_TEXT_MAX];
	int rc = launch_allowlist(r->alias_auto ? "127.0.0.16/32" : r->allow, &c, err);
	if (rc == 0)
		rc = launch_refusal(r, &l->v, &c, err);
	if (rc < 0)
		return rc;
	cidr_format(&c, addr);
	*strchr(addr, '/') = '\0';
	if ((rc = take_lease(l, r->alias_auto ? NULL : addr, err)) < 0)
		return rc;
	if (r->alias_auto)
		snprintf(l->allow_cidr, sizeof l->allow_cidr, "%s/32", l->alias);
	else
		cidr_format(&c, l->allow_cidr);
	if (launch_wants_guard(r, &l->v)) {
		if ((rc = dnsguard_plan(l->lease_dir, r->name, r->dns_guard_addr, &l->g, err)) < 0)
			return rc;
		l->guarded = true;
	}
	if (r->control_port) {
		snprintf(addr, sizeof addr, "%s", l->allow_cidr);
		*strchr(addr, '/') = '\0';
		snprintf(l->control, sizeof l->control, strchr(addr, ':') ? "tcp:[%s]:%u" : "tcp:%s:%u", addr,
			 r->control_port);
	}
	return 0;
}

static void print_argv(FILE *f, const char *label, const char *const argv[])
{
	fprintf(f, "  %-8s", label);
	for (size_t i = 0; argv[i]; i++)
		fprintf(f, " %s", argv[i]);
	fputc('\n', f);
}

static void print_plan(struct launch *l, FILE *f)
{
	const struct launch_req *r = l->r;
	char slug[256], ver[32];
	const char *create[LAUNCH_ARGV_MAX], *verify[LAUNCH_ARGV_MAX], *del[LAUNCH_ARGV_MAX];
	subnet_slug(r->name, slug, sizeof slug);
	unsigned o = subnet_octet(slug);
	launch_create_argv(r, &l->v, l->allow_cidr, l->guarded ? l->g.addr : NULL, create);
	launch_verify_argv(r, l->allow_cidr, l->control[0] ? l->control : NULL, l->guarded ? &l->g : NULL, verify);
	launch_delete_argv(r->smolvm, r->name, &l->v, del);
	fprintf(f, "plan for bottle %s (smolvm %s)\n", r->name, version_format(&l->v, ver, sizeof ver));
	const char *how = l->lease_kept ? "its lease already held" : r->dry_run ? "would be leased" : "leased";
	if (l->alias[0])
		fprintf(f, "  allowlist [%s] (alias %s, %s)\n", l->allow_cidr, l->alias, how);
	else
		fprintf(f, "  allowlist [%s] (%s %s)\n", l->allow_cidr, l->leased, how);
	fprintf(f, "  bundle subnet (bot-bottle's derivation, shown only): slug %s -> 192.168.%u.0/24, gateway 192.168.%u.1, bundle 192.168.%u.2\n",
		slug, o, o, o);
	if (l->guarded)
		fprintf(f, "  dns      guard %s:53 (dnsmasq: %zu allowed name(s), NXDOMAIN for the rest, forwards nothing; record %s)\n",
			l->g.addr, r->n_dns_allow, l->g.log);
	else
		fprintf(f, "  dns      no guard (%s): smolvm's gateway forwards every guest DNS query to its upstream (a TODO in the report)\n",
			r->no_dns_guard ? "--no-dns-guard" : "smolvm < 1.2.5 has no --dns");
	print_argv(f, "create", create);
	fprintf(f, "  enforce  allowed_cidrs = [%s] in %s (%s)\n", l->allow_cidr, l->db,
		version_from_drops_policy(&l->v) && r->from ? "repairs --from's drop on this version"
							    : "expected to find it already set");
	fprintf(f, "  start    %s machine start --name %s\n", r->smolvm, r->name);
	fprintf(f, "  wait     %s machine exec --name %s -- true (0.1 s doubling to 0.5 s, 5 s at most)\n",
		r->smolvm, r->name);
	print_argv(f, "verify", verify);
	if (r->watch) {
		const char *watch[LAUNCH_ARGV_MAX];
		launch_watch_argv(r, l->allow_cidr, l->guarded ? &l->g : NULL, watch);
		print_argv(f, "watch", watch);
	}
	fprintf(f, "  on failure: %s machine stop --name %s;", r->smolvm, r->name);
	print_argv(f, "", del);
}

/* Step 8: poll `exec -- true` with a bounded backoff (bot-bottle's wait_exec_ready). */
static int wait_exec_ready(struct launch *l, struct bv_error *err)
{
	const char *argv[] = { l->r->smolvm, "machine", "exec", "--name", l->r->name, "--", "true", NULL };
	int delay = 100, waited = 0, st = 0, rc = 0;
	for (;;) {
		rc = smolvm_step(argv, 10000, &st, err);
		if (rc == 0)
			return 0;
		if (waited >= 5000)
			break;
		usleep((useconds_t)delay * 1000);
		waited += delay;
		delay = delay * 2 > 500 ? 500 : delay * 2;
	}
	return bv_error_wrap(err, "exec was not ready after %d ms", waited);
}

static int enforce_step(struct launch *l, struct bv_error *err)
{
	struct bv_cidr_set allow = { 0 };
	struct enforce_result res = { 0 };
	int rc = cidr_set_add_text(&allow, l->allow_cidr, err);
	if (rc == 0) {
		struct enforce_opts o = { .db_path = l->db, .data_dir = l->dir, .name = l->r->name, .allow = &allow,
					  .create_missing_dir = l->v.known && !version_data_dir_at_create(&l->v) };
		rc = enforce_allowlist(&o, &res, err);
	}
	if (rc == 0 && res.outcome == ENFORCE_UNCHANGED)
		say(l, "enforce: allowed_cidrs already %s; nothing written", res.before);
	else if (rc == 0)
		say(l, "enforce: allowed_cidrs %s -> %s (repaired; re-read confirmed)", res.before, res.after);
	enforce_result_free(&res);
	cidr_set_free(&allow);
	return rc;
}

/* Stop, delete -f, confirm the row is gone, release the lease. 0, or -EIO if a row stays. */
static int teardown(struct launch *l, bool created)
{
	struct bv_error err = { 0 };
	int st, rc = 0;
	if (created) {
		const char *stop[] = { l->r->smolvm, "machine", "stop", "--name", l->r->name, NULL };
		const char *del[LAUNCH_ARGV_MAX];
		launch_delete_argv(l->r->smolvm, l->r->name, &l->v, del);
		if (smolvm_step(stop, 120000, &st, &err) < 0)
			fprintf(stderr, "up %s: teardown: %s\n", l->r->name, err.msg);
		if (smolvm_step(del, 120000, &st, &err) < 0)
			fprintf(stderr, "up %s: teardown: %s\n", l->r->name, err.msg);
		bool exists = true;
		if (!row_exists(l->db, l->r->name, &exists, &err) || exists) {
			fprintf(stderr, "up %s: TEARDOWN INCOMPLETE: the machine's row is still in %s; remove it with: %s machine delete ... -f\n",
				l->r->name, l->db, l->r->smolvm);
			rc = -EIO;
		}
	}
	if (l->watch_started && watcher_stop(&l->wt, &err) < 0) {
		fprintf(stderr, "up %s: teardown: %s\n", l->r->name, err.msg);
		rc = -EIO;
	}
	if (l->guard_started && dnsguard_stop(&l->g, &err) < 0) {
		fprintf(stderr, "up %s: teardown: %s\n", l->r->name, err.msg);
		rc = -EIO;
	}
	if (l->release_lease && alias_pool_release(l->lease_dir, l->r->name, &err) < 0) {
		fprintf(stderr, "up %s: teardown: %s\n", l->r->name, err.msg);
		rc = -EIO;
	}
	return rc;
}

/* Step 9: bottle-verify all, its TAP on our stdout; with --format json its report is kept
 * for the result (and what it said on stderr passed on). */
static int verify_run(struct launch *l, const char *const argv[], int *st, bool *timed_out, struct bv_error *err)
{
	if (!l->r->json)
		return spawn_inherit((char *const *)argv, false, 600000, st, timed_out, err);
	struct spawn_result res;
	int rc = spawn_capture((char *const *)argv, 600000, 16u << 20, &res, err);
	if (rc < 0)
		return rc;
	fputs(res.errout ? res.errout : "", stderr);
	*timed_out = res.timed_out;
	*st = res.exited ? res.status : 128 + res.status;
	free(l->verify_report);
	l->verify_report = res.truncated ? NULL : res.out;
	l->verify_exit = *st;
	if (res.truncated)
		free(res.out);
	res.out = NULL;
	spawn_result_free(&res);
	return 0;
}

/* Steps 5-9, after the plan: returns the exit status; *created says whether to undo. */
static int run_steps(struct launch *l, bool *created, struct bv_error *err)
{
	const struct launch_req *r = l->r;
	const char *create[LAUNCH_ARGV_MAX], *verify[LAUNCH_ARGV_MAX];
	const char *start[] = { r->smolvm, "machine", "start", "--name", r->name, NULL };
	int st = 0;
	launch_create_argv(r, &l->v, l->allow_cidr, l->guarded ? l->g.addr : NULL, create);
	l->step = 5;
	if (l->guarded) {
		struct dnsguard_opts go = { .dnsmasq = r->dnsmasq, .user = r->dns_guard_user, .allow = r->dns_allow };
		if (alias_pool_make_dir(l->lease_dir, err) < 0 || dnsguard_start(&l->g, &go, err) < 0)
			return 2;
		l->guard_started = true;
		say(l, "DNS guard answering at %s:53", l->g.addr);
	}
	if (smolvm_step(create, 120000, &st, err) < 0)
		return 2;
	*created = true;
	l->release_lease = l->leased[0] != '\0'; /* a kept lease too: its machine is this launch's now */
	say(l, "created (%s)", l->allow_cidr);
	l->step = 6;
	if (enforce_step(l, err) < 0)
		return 1;
	l->step = 7;
	if (smolvm_step(start, 120000, &st, err) < 0)
		return 2;
	say(l, "started");
	l->step = 8;
	if (wait_exec_ready(l, err) < 0)
		return 2;
	l->step = 9;
	launch_verify_argv(r, l->allow_cidr, l->control[0] ? l->control : NULL, l->guarded ? &l->g : NULL, verify);
	say(l, "verifying: bottle-verify all (%s)", r->json ? "its JSON report goes into the result" : "TAP on stdout");
	fflush(stdout);
	bool timed_out = false;
	if (verify_run(l, verify, &st, &timed_out, err) < 0)
		return 2;
	if (st != 0) {
		bv_error_set(err, EPERM, "bottle-verify all exited %d%s: the bottle is not proven confined", st,
			     timed_out ? " (timed out)" : "");
		return st == 1 ? 1 : 2;
	}
	return 0;
}

/* --watch: once the bottle is proven, a watch beside it until down (docs/watch.md). */
static int start_watch(struct launch *l, struct bv_error *err)
{
	const char *argv[LAUNCH_ARGV_MAX];
	pid_t pid = 0;
	launch_watch_argv(l->r, l->allow_cidr, l->guarded ? &l->g : NULL, argv);
	if (watcher_plan(l->lease_dir, l->r->name, &l->wt, err) < 0 || alias_pool_make_dir(l->lease_dir, err) < 0)
		return -err->code;
	int rc = watcher_start(&l->wt, (char *const *)argv, &pid, err);
	if (rc < 0)
		return rc;
	l->watch_started = true;
	say(l, "watching: bottle-verify watch (pid %d) stops the machine on a finding; its TAP goes to %s; bottle-launch down %s ends it",
	    (int)pid, l->wt.tap, l->r->name);
	return 0;
}

char *launch_default_verify(void)
{
	char *out = proc_self_sibling("bottle-verify");
	if (out && access(out, X_OK) == 0)
		return out;
	free(out);
	return strdup("bottle-verify"); /* from PATH */
}

static int hand_over(struct launch *l)
{
	char ver[32];
	if (!l->r->json)
		printf("up %s: ready: allowlist [%s]%s%s, smolvm %s\n", l->r->name, l->allow_cidr,
		       l->alias[0] ? ", alias " : "", l->alias, version_format(&l->v, ver, sizeof ver));
	fflush(stdout);
	if (!l->r->cmd)
		return 0;
	size_t n = 0;
	while (l->r->cmd[n])
		n++;
	const char **argv = calloc(n + 7, sizeof *argv);
	if (!argv)
		return 2;
	const char *head[] = { l->r->smolvm, "machine", "exec", "--name", l->r->name, "--" };
	memcpy(argv, head, sizeof head);
	memcpy(argv + 6, l->r->cmd, n * sizeof *argv);
	int st = 2;
	bool timed_out;
	struct bv_error err = { 0 };
	if (spawn_inherit((char *const *)argv, true, 0, &st, &timed_out, &err) < 0)
		fprintf(stderr, "up %s: %s\n", l->r->name, err.msg);
	free(argv);
	return st;
}

/* What up did, for --format json (res NULL: not asked for). */
static void up_result(const struct launch *l, int code, const struct bv_error *err, struct launch_result *res)
{
	if (!res)
		return;
	res->command = "up";
	res->name = l->r->name;
	res->exit_code = code;
	res->step = l->step;
	res->outcome = code == 0 ? (l->r->dry_run ? "planned" : "ready") : code == 1 ? "refused" : "error";
	snprintf(res->reason, sizeof res->reason, "%s", code ? err->msg : "");
	snprintf(res->allowlist, sizeof res->allowlist, "%s", l->allow_cidr);
	snprintf(res->address, sizeof res->address, "%s", l->leased);
	snprintf(res->alias, sizeof res->alias, "%s", l->alias);
	subnet_slug(l->r->name, res->slug, sizeof res->slug);
	res->subnet_octet = subnet_octet(res->slug);
	snprintf(res->dns_guard, sizeof res->dns_guard, "%s", l->guarded ? l->g.addr : "");
	if (l->step > 1 || l->v.known)
		version_format(&l->v, res->smolvm_version, sizeof res->smolvm_version);
	res->verify_exit = l->verify_exit;
	res->verify_report = l->verify_report;
	res->watch_tap = l->watch_started ? strdup(l->wt.tap) : NULL;
}

int launch_up(const struct launch_req *req, struct launch_result *res)
{
	struct launch_req r = *req;
	char *verify = r.verify ? NULL : launch_default_verify();
	if (!r.verify)
		r.verify = verify;
	struct launch l = { .r = &r, .step = 1, .verify_exit = -1 };
	struct bv_error err = { 0 };
	bool created = false;
	int code = 2;
	if (preflight(&l, &err) < 0 || resolve_paths(&l, &err) < 0)
		goto out;
	l.step = 2;
	code = 1;
	if (allowlist(&l, &err) < 0)
		goto out;
	l.step = 4;
	print_plan(&l, r.dry_run && !r.json ? stdout : stderr);
	if (r.dry_run) {
		code = 0;
		goto out;
	}
	code = run_steps(&l, &created, &err);
	if (code == 0 && r.watch && start_watch(&l, &err) < 0)
		code = 2;
	if (code == 0)
		code = hand_over(&l);
out:
	if (code != 0 && err.msg[0])
		fprintf(stderr, "up %s: FAILED at step %d/%d: %s\n", r.name, l.step, STEPS, err.msg);
	if (code != 0 && !r.dry_run && (created || l.release_lease || l.guard_started || l.watch_started)) {
		fprintf(stderr, "up %s: tearing down (stop, delete -f, release the lease)\n", r.name);
		if (teardown(&l, created) < 0)
			code = 2;
	}
	up_result(&l, code, &err, res);
	if (!res)
		free(l.verify_report);
	free(l.db);
	free(l.dir);
	free(verify);
	return code;
}

/* down: end the bottle's watch (if up --watch started one) and say what it saw. 1 when
 * its TAP holds a finding, 0 when clean or none ran, -1 when it could not be ended or read. */
static int end_watch(struct launch *l)
{
	struct bv_error err = { 0 };
	size_t not_ok = 0;
	bool ended = false;
	if (watcher_plan(l->lease_dir, l->r->name, &l->wt, &err) < 0) {
		fprintf(stderr, "down %s: %s\n", l->r->name, err.msg);
		return -1;
	}
	int r = watcher_stop(&l->wt, &err);
	if (r < 0)
		fprintf(stderr, "down %s: %s\n", l->r->name, err.msg);
	if (r == 0)
		return 0; /* no watch was started for it (or an earlier down collected it) */
	if (watcher_findings(&l->wt, &not_ok, &ended, &err) < 0) {
		fprintf(stderr, "down %s: the watch's TAP: %s\n", l->r->name, err.msg);
		return -1;
	}
	fprintf(stderr, "down %s: the watch %s: %zu finding(s)%s; its TAP: %s\n", l->r->name,
		r == 1 ? "was ended" : "had ended", not_ok, ended ? "" : " (its TAP has no plan: it did not end cleanly)",
		l->wt.tap);
	return not_ok ? 1 : r < 0 || !ended ? -1 : 0;
}

int launch_down(const struct launch_req *req, struct launch_result *res)
{
	struct launch l = { .r = req, .step = 1 };
	struct bv_error err = { 0 };
	char *raw = NULL;
	bool exists = false;
	int code = 2;
	if (smolvm_version(req->smolvm, &l.v, &raw, &err) < 0 || resolve_paths(&l, &err) < 0 ||
	    !row_exists(l.db, req->name, &exists, &err)) {
		fprintf(stderr, "down %s: %s\n", req->name, err.msg);
		goto out;
	}
	l.release_lease = true; /* release whatever lease names this machine */
	/* and stop whatever guard serves it (its address does not matter to stop it) */
	l.guard_started = dnsguard_plan(l.lease_dir, req->name, "127.0.0.1", &l.g, &err) == 0;
	bv_error_clear(&err);
	if (!exists)
		fprintf(stderr, "down %s: no such machine; releasing any lease it held\n", req->name);
	int watch = end_watch(&l);
	code = teardown(&l, exists) < 0 ? 1 : 0;
	if (code == 0 && watch > 0)
		code = 1; /* the watch saw a finding: the bottle did not stay confined */
	if (code == 0 && !req->json)
		printf("down %s: %s\n", req->name, exists ? "stopped, deleted, lease and DNS guard released" : "nothing to do");
	if (code != 0 && !err.msg[0])
		snprintf(err.msg, sizeof err.msg, "%s", watch > 0 ? "the watch saw a finding while the bottle ran"
								   : "the teardown did not complete (said on stderr)");
out:
	if (res) {
		res->command = "down";
		res->name = req->name;
		res->exit_code = code;
		res->outcome = code == 2 ? "error" : code == 1 ? "refused" : exists ? "down" : "nothing";
		snprintf(res->reason, sizeof res->reason, "%s", code ? err.msg : "");
		res->verify_exit = -1;
		if (l.v.known)
			version_format(&l.v, res->smolvm_version, sizeof res->smolvm_version);
	}
	free(raw);
	free(l.db);
	free(l.dir);
	return code;
}
