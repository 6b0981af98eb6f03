/* main.c - bottle-verify: prove a bottle's confinement, print TAP 13 (or JSON).
 * Parses the command line, runs one command's checks into a report, prints it, and
 * exits 0 (all ok), 1 (a finding) or 2 (error, usage or inconclusive). */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "db/audit.h"
#include "egress/around.h"
#include "egress/check.h"
#include "egress/probe_path.h"
#include "host/preflight.h"
#include "core/cidr.h"
#include "egress/run.h"
#include "gate/gate.h"
#include "smolvm/cli.h"
#include "smolvm/paths.h"
#include "core/proc.h"
#include "core/report.h"
#include "core/usage.h"
#include "cli.h"
#include "selfconfine.h"
#include "egress/sinklock.h"
#include "watch/cli.h"


static enum bv_platform platform_of(const struct cli *c)
{
	struct bv_path_env env;
	paths_env_default(&env);
	if (c->platform)
		return strcmp(c->platform, "macos") == 0 ? BV_PLATFORM_MACOS : BV_PLATFORM_LINUX;
	return env.platform;
}

static int run_preflight(const struct cli *c, struct bv_report *r, struct bv_version *v)
{
	struct preflight_opts o = {
		.smolvm_bin = c->smolvm_bin ? c->smolvm_bin : "smolvm",
		.kvm_device = c->kvm_device ? c->kvm_device : "/dev/kvm",
		.platform = platform_of(c),
		.version_override = c->version_override,
		.kvm_standin = getenv("BOTTLE_VERIFY_KVM_STANDIN"),
	};
	return check_preflight(r, &o, v);
}

/* From here on bottle-verify only reads, judges and prints (verify/selfconfine.c). */
static struct bv_report *confine_report;
static void confine_now(void)
{
	struct bv_error err = { 0 };
	/* Off only on request (make faults: strace's injection swaps the syscall number for
	 * -1, which the filter kills, so the error paths behind it are tested unconfined). */
	const char *off = getenv("BOTTLE_VERIFY_SELFCONFINE");
	if (off && strcmp(off, "off") == 0) {
		report_note(confine_report, "bottle-verify is not confined: BOTTLE_VERIFY_SELFCONFINE=off");
		return;
	}
	int r = selfconfine(&err);
	if (r < 0) {
		bv_error_wrap(&err, "bottle-verify cannot confine itself");
		report_error(confine_report, &err);
	} else if (r == 1) {
		report_note(confine_report, "bottle-verify is not confined: it runs under valgrind, which cannot run seccomp filters");
	} else {
		report_note(confine_report, "bottle-verify confined itself (seccomp allowlist): no exec, "
					    "fork or socket from here on");
	}
}

static int run_db(const struct cli *c, struct bv_report *r)
{
	struct bv_path_env env;
	struct bv_error err = { 0 };
	struct bv_cidr_set expect = { 0 };
	char *db = NULL, *dir = NULL;
	int rc = 0;
	struct bv_version v;
	detect_version(r, c->smolvm_bin ? c->smolvm_bin : "smolvm", c->version_override, &v);
	paths_env_default(&env);
	paths_env_for_version(&env, &v);
	env.platform = platform_of(c);
	for (size_t i = 0; i < c->n_expect && rc == 0; i++)
		if ((rc = cidr_set_add_text(&expect, c->expect[i], &err)) < 0)
			bv_error_wrap(&err, "--expect %s", c->expect[i]);
	if (rc == 0 && !c->db_path && (rc = paths_state_db(&env, &db, &err)) < 0)
		bv_error_wrap(&err, "cannot derive smolvm's DB path (pass --db)");
	if (rc == 0 && !c->data_dir && (rc = paths_vm_data_dir(&env, c->name, &dir, &err)) < 0)
		bv_error_wrap(&err, "cannot derive the machine's data dir (pass --data-dir)");
	if (rc == 0) {
		if (strcmp(c->command, "db") == 0)
			confine_now(); /* smolvm --version was the last child */
		struct db_check_opts o = {
			.db_path = c->db_path ? c->db_path : db,
			.data_dir = c->data_dir ? c->data_dir : dir,
			.name = c->name, .expect = &expect, .expect_hosts = c->hosts,
			.accept_bypass = c->bypass, .version = &v, .dns_guard = c->dns_guard,
		};
		rc = check_db(r, &o);
	} else {
		report_error(r, &err);
	}
	cidr_set_free(&expect);
	free(db);
	free(dir);
	return rc;
}

/* The bottle's smolvm version, for the smolvm transport only (NULL for a netns or a
 * runner): --smolvm-version, else `smolvm --version`; v->known false when neither says. */
static const struct bv_version *bottle_version(const struct cli *c, struct bv_version *v)
{
	struct bv_error ignored = { 0 };
	if (c->guest_cmd || !c->machine)
		return NULL;
	if (c->version_override)
		(void)version_parse(c->version_override, v, &ignored);
	else
		(void)smolvm_version(c->smolvm_bin ? c->smolvm_bin : "smolvm", v, NULL, &ignored);
	return v;
}

static struct transport transport_of(const struct cli *c, const char *probe, const struct bv_version *v)
{
	return (struct transport){ .kind = c->guest_cmd ? TRANSPORT_CMD : c->machine ? TRANSPORT_SMOLVM : TRANSPORT_NETNS,
				   .netns = c->netns, .machine = c->machine, .cmd = c->guest_cmd,
				   .smolvm = c->smolvm_bin ? c->smolvm_bin : "smolvm", .probe = probe,
				   .version = v, .guard_addr = c->dns_guard, .guard_log = c->dns_guard_log,
				   .full_window = c->full_window };
}

/* Sinks bind fixed host addresses: one egress or gate run at a time per host. gate when
 * o is set, egress otherwise. */
/* What the outside evidence of a smolvm bottle needs: its data dir (--data-dir, else
 * derived as that smolvm derives it) and its allowlist (--expect; for the gate without
 * one, its allowed address). */
static int bottle_outside(const struct cli *c, const struct policy *p, const struct bv_version *v,
			  struct bv_cidr_set *allowed, char **dir, struct bv_error *err)
{
	struct bv_path_env env;
	int rc = 0;
	for (size_t i = 0; i < c->n_expect && rc == 0; i++)
		rc = cidr_set_add_text(allowed, c->expect[i], err);
	if (rc == 0 && c->n_expect == 0 && p->gate.allowed_addr[0])
		rc = cidr_set_add_text(allowed, p->gate.allowed_addr, err);
	if (rc < 0 || c->data_dir || !c->machine)
		return rc;
	paths_env_default(&env);
	if (v)
		paths_env_for_version(&env, v);
	env.platform = platform_of(c);
	if ((rc = paths_vm_data_dir(&env, c->machine, dir, err)) < 0)
		bv_error_wrap(err, "cannot derive the machine's data dir (pass --data-dir)");
	return rc;
}

static int run_locked(const struct cli *c, struct bv_report *r, const char *probe, struct policy *p,
		      const struct gate_opts *o, const struct bv_version *v)
{
	struct bv_error err = { 0 };
	struct bv_cidr_set allowed = { 0 };
	char *dir = NULL;
	struct transport t = transport_of(c, probe, v);
	int rc = t.kind == TRANSPORT_SMOLVM ? bottle_outside(c, p, v, &allowed, &dir, &err) : 0;
	if (rc == 0 && p->around_allowed && allowed.len)
		rc = policy_add_around(p, &allowed, &err);
	t.data_dir = c->data_dir ? c->data_dir : dir;
	t.allowed = &allowed;
	int lock = rc < 0 ? rc : sinklock_take(300 * 1000, &err);
	if (lock >= 0)
		rc = o ? check_gate(r, p, &t, o) : check_egress(r, p, &t);
	else
		report_error(r, &err);
	sinklock_release(lock);
	cidr_set_free(&allowed);
	free(dir);
	return rc;
}

static int run_egress(const struct cli *c, struct bv_report *r)
{
	struct bv_version bv = { 0 };
	const struct bv_version *vp = NULL;
	struct policy p = { 0 };
	struct bv_error err = { 0 };
	char *probe = NULL;
	int found = probe_path_find(c->probe, &probe, &err);
	vp = bottle_version(c, &bv);
	int rc = found < 0 ? found
		 : strcmp(c->policy, "builtin") == 0 ? policy_load_builtin(c->allow_dest, vp, &p, &err)
						       : policy_load(c->policy, c->allow_dest, &p, &err);
	if (rc == 0)
		rc = run_locked(c, r, probe, &p, NULL, vp);
	else
		report_error(r, &err);
	policy_free(&p);
	free(probe);
	return rc;
}

/* The machine's row for the gate's host-side entries (bypass channels, the secret). Only
 * db.bypass.* and db.env.secrets are read from it, so the allowlist expected does not
 * matter there: without --expect a placeholder stands in. */
static int gate_db_opts(const struct cli *c, struct db_check_opts *o, struct bv_cidr_set *expect,
			struct bv_version *v, char **db, char **dir, struct bv_report *r, struct bv_error *err)
{
	struct bv_path_env env;
	int rc = 0;
	detect_version(r, c->smolvm_bin ? c->smolvm_bin : "smolvm", c->version_override, v);
	paths_env_default(&env);
	paths_env_for_version(&env, v);
	env.platform = platform_of(c);
	for (size_t i = 0; i < c->n_expect && rc == 0; i++)
		rc = cidr_set_add_text(expect, c->expect[i], err);
	if (rc == 0 && c->n_expect == 0)
		rc = cidr_set_add_text(expect, "255.255.255.255/32", err);
	if (rc == 0 && !c->db_path && (rc = paths_state_db(&env, db, err)) < 0)
		bv_error_wrap(err, "cannot derive smolvm's DB path (pass --db)");
	if (rc == 0 && !c->data_dir && (rc = paths_vm_data_dir(&env, c->name, dir, err)) < 0)
		bv_error_wrap(err, "cannot derive the machine's data dir (pass --data-dir)");
	if (rc < 0)
		return rc;
	*o = (struct db_check_opts){ .db_path = c->db_path ? c->db_path : *db, .data_dir = c->data_dir ? c->data_dir : *dir,
				     .name = c->name, .expect = expect, .accept_bypass = c->bypass, .version = v,
				     .dns_guard = c->dns_guard };
	return 0;
}

static int run_gate(struct cli *c, struct bv_report *r)
{
	struct bv_version bv = { 0 };
	const struct bv_version *vp = NULL;
	struct policy p = { 0 };
	struct bv_error err = { 0 };
	struct db_check_opts dbo;
	struct bv_cidr_set expect = { 0 };
	struct bv_version v = { 0 };
	char *db = NULL, *dir = NULL;
	struct gate_opts o = { .secret = c->secret_env ? getenv(c->secret_env) : NULL };
	if (c->name && !c->netns && !c->guest_cmd)
		c->machine = c->name;
	char *probe = NULL;
	int found = probe_path_find(c->probe, &probe, &err);
	vp = bottle_version(c, &bv);
	int rc = found < 0 ? found
		 : c->secret_env && (!o.secret || strlen(o.secret) < 8)
			 ? bv_error_set(&err, EINVAL, "--secret-env %s: the variable is unset or shorter than 8 bytes", c->secret_env)
		 : strcmp(c->policy, "builtin") == 0 ? policy_load_builtin(c->allow_dest, vp, &p, &err)
						       : policy_load(c->policy, c->allow_dest, &p, &err);
	if (rc == 0 && c->name && (rc = gate_db_opts(c, &dbo, &expect, &v, &db, &dir, r, &err)) == 0)
		o.db = &dbo;
	if (rc == 0)
		rc = run_locked(c, r, probe, &p, &o, vp);
	else
		report_error(r, &err);
	policy_free(&p);
	cidr_set_free(&expect);
	free(probe);
	free(db);
	free(dir);
	return rc;
}

/* `all`: preflight, db and egress in one report. The row alone cannot prove that the TSI
 * filter of smolvm < 1.1.3 enforces it (db.network_backend is inconclusive there); when
 * this very run's egress probing proved every class, that point is settled by evidence. */
static void settle_backend(struct bv_report *r, const struct bv_version *v)
{
	struct bv_point *p = report_find(r, "db.network_backend");
	size_t pass = 0, n = report_prefix_count(r, "egress.", &pass);
	if (!p || point_status(p) != BV_INCONCLUSIVE || !v->known || version_policy_defaults_virtio(v) ||
	    n == 0 || pass != n)
		return;
	point_set_status(p, BV_OK);
	report_note(r, "db.network_backend: the TSI filter of this smolvm is not trusted from the row; "
		       "it is ok because this run's egress probing proved all %zu egress points", n);
}

static int run_all(struct cli *c, struct bv_report *r)
{
	struct bv_version v = { 0 };
	run_preflight(c, r, &v);
	run_db(c, r);
	if (!c->netns && !c->machine)
		c->machine = c->name;
	run_egress(c, r);
	settle_backend(r, &v);
	return 0;
}

/* Started with 0, 1 or 2 closed, the first file opened would become stdout and the
 * report would go into it: /dev/null holds each missing one first. */
static void keep_std_fds(void)
{
	for (int fd = 0; fd <= 2; fd++)
		if (fcntl(fd, F_GETFD) < 0 && open("/dev/null", O_RDWR) < 0)
			_exit(2);
}

int main(int argc, char **argv)
{
	struct cli c = { .format = BV_FORMAT_TAP };
	struct bv_error err = { 0 };
	keep_std_fds();
	if (watch_is_command(argc, argv))
		return watch_main(argc, argv); /* options of its own, and a report that streams */
	int p = cli_parse(argc, argv, &c, &err);
	if (p == 1)
		return 0;
	if (p < 0)
		return usage_fail("bottle-verify", &err, c.format == BV_FORMAT_JSON);
	const char *must = getenv("BOTTLE_VERIFY_MUST_RUN");
	struct bv_report *r = report_new(c.command, must && strcmp(must, "1") == 0);
	if (!r) {
		fputs("bottle-verify: out of memory\n", stderr);
		return 2;
	}
	report_set_quiet(r, c.quiet);
	struct bv_version v = { 0 };
	confine_report = r;
	egress_run_set_after(confine_now);
	if (strcmp(c.command, "preflight") == 0)
		run_preflight(&c, r, &v);
	else if (strcmp(c.command, "all") == 0)
		run_all(&c, r);
	else if (strcmp(c.command, "egress") == 0)
		run_egress(&c, r);
	else if (strcmp(c.command, "gate") == 0)
		run_gate(&c, r);
	else
		run_db(&c, r);
	int code = report_exit_code(r);
	if (report_emit(r, c.format, stdout) < 0 || fflush(stdout) != 0) {
		fputs("bottle-verify: cannot write the report\n", stderr);
		code = 2;
	}
	report_free(r);
	return code;
}
