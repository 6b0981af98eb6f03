/* main.c - bottle-launch: the minimal launcher.
 * `up` launches a bottle and hands it over only once bottle-verify proved it, `down`
 * removes it, `enforce` writes a machine's allowed_cidrs fail-closed, `preflight` checks
 * the host. Exit 0 done, 1 refused / a finding, 2 usage or error. */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/cidr.h"
#include "launch/enforce.h"
#include "launch/updown.h"
#include "core/proc.h"
#include "core/release.h"
#include "core/usage.h"
#include "smolvm/cli.h"
#include "smolvm/paths.h"

#define MAX_ALLOW 64

struct cli {
	const char *command;
	struct launch_req up;
	const char *alias;
	const char *name;
	const char *db_path;
	const char *data_dir;
	const char *platform;
	const char *allow[MAX_ALLOW];
	size_t n_allow;
};

static void usage(FILE *f)
{
	fputs("usage: bottle-launch up NAME (--from PACK | --image REF) (--allow ADDR/32 | --alias auto)\n"
	      "                     [--control-port PORT] [--policy FILE] [--dry-run] [--smolvm BIN]\n"
	      "                     [--verify BIN] [--kvm-device PATH] [--lease-dir DIR] [--db PATH]\n"
	      "                     [--data-dir DIR] [--no-dns-guard | --require-dns-guard]\n"
	      "                     [--dns-allow NAME=IPV4 ...] [--dns-guard-addr IPV4]\n"
	      "                     [--dns-guard-user USER] [--dnsmasq BIN]\n"
	      "                     [--watch [--watch-interval MS]] [--format tap|json] [-- CMD ARGS...]\n"
	      "       bottle-launch down NAME [--smolvm BIN] [--lease-dir DIR] [--db PATH] [--format tap|json]\n"
	      "       bottle-launch enforce NAME --allow CIDR [--allow CIDR ...]\n"
	      "                     [--db PATH] [--data-dir DIR] [--platform linux|macos] [--smolvm BIN]\n"
	      "       bottle-launch preflight [--smolvm BIN] [--verify BIN] [--kvm-device PATH] [--format tap|json]\n"
	      "       bottle-launch --help | --version\n"
	      "\n"
	      "up: preflight, one allowed destination (an alias from 127.0.0.16-31, or --allow),\n"
	      "create, enforce, start, wait for exec, bottle-verify all; hands the bottle over only\n"
	      "when every check passed, else stops and deletes it and releases the lease.\n"
	      "One address per bottle: the address is leased, and refused (exit 1, naming the\n"
	      "machine) while another machine holds it by a lease or by its allowlist in smolvm's\n"
	      "DB; --alias auto skips such aliases. down releases the lease.\n"
	      "On smolvm >= 1.2.5 the bottle's DNS ends at a guard of its own (dnsmasq on\n"
	      "127.83.X.53: the --dns-allow names, NXDOMAIN for the rest, nothing forwarded).\n"
	      "--watch: once handed over, a bottle-verify watch follows the bottle and stops it on\n"
	      "a finding; down ends it and exits 1 if it saw one (docs/watch.md).\n"
	      "enforce: sets allowed_cidrs between create and start; refuses (exit 1, nothing\n"
	      "written) when the DB or row is missing, vm.lock is held, a VMM is alive, the state\n"
	      "is not created/stopped/failed, or the patch does not take. See docs/launch.md.\n"
	      "--format json (up, down): one JSON document on stdout, the bottle, its address,\n"
	      "smolvm's version and bottle-verify's report, or the refusal and why\n"
	      "(docs/bot-bottle.md); preflight: bottle-verify's JSON report.\n",
	      f);
}

static int port_value(const char *opt, const char *arg, unsigned *out, struct bv_error *err)
{
	char *end = NULL;
	errno = 0;
	unsigned long v = strtoul(arg, &end, 10);
	if (!arg[0] || *end || arg[0] == '-' || errno || v < 1 || v > 65535)
		return bv_error_set(err, EINVAL, "--%s '%s': not a port (1-65535)", opt, arg);
	*out = (unsigned)v;
	return 0;
}

static int parse_option(struct cli *c, int opt, const char *arg, struct bv_error *err)
{
	struct launch_req *u = &c->up;
	char *end = NULL;
	switch (opt) {
	case 'a':
		if (c->n_allow >= MAX_ALLOW)
			return bv_error_set(err, EINVAL, "--allow: at most %d values", MAX_ALLOW);
		c->allow[c->n_allow++] = arg;
		return 0;
	case 'F':
		if (strcmp(arg, "tap") && strcmp(arg, "json"))
			return bv_error_set(err, EINVAL, "--format '%s': must be tap or json", arg);
		u->json = strcmp(arg, "json") == 0;
		return 0;
	case 'd': c->db_path = u->db = arg; return 0;
	case 'D': c->data_dir = u->data_dir = arg; return 0;
	case 'p':
		c->platform = arg;
		if (strcmp(arg, "linux") && strcmp(arg, "macos"))
			return bv_error_set(err, EINVAL, "--platform '%s': must be linux or macos", arg);
		return 0;
	case 'f': u->from = arg; return 0;
	case 'i': u->image = arg; return 0;
	case 'A':
		c->alias = arg;
		if (strcmp(arg, "auto"))
			return bv_error_set(err, EINVAL, "--alias '%s': the only value is auto (an explicit address is --allow ADDR/32)", arg);
		return 0;
	case 'c': return port_value("control-port", arg, &u->control_port, err);
	case 'P': u->policy = arg; return 0;
	case 'n': u->dry_run = true; return 0;
	case 's': u->smolvm = arg; return 0;
	case 'v': u->verify = arg; return 0;
	case 'k': u->kvm_device = arg; return 0;
	case 'L': u->lease_dir = arg; return 0;
	case 'G': u->no_dns_guard = true; return 0;
	case 'R': u->require_dns_guard = true; return 0;
	case 'g': u->dns_guard_addr = arg; return 0;
	case 'u': u->dns_guard_user = arg; return 0;
	case 'm': u->dnsmasq = arg; return 0;
	case 'W': u->watch = true; return 0;
	case 'I': {
		unsigned long ms = strtoul(arg, &end, 10);
		u->watch_interval = arg;
		if (!arg[0] || *end || arg[0] == '-' || ms < 10 || ms > 60000)
			return bv_error_set(err, EINVAL, "--watch-interval '%s': milliseconds, 10-60000", arg);
		return 0;
	}
	case 'N':
		if (u->n_dns_allow >= DNSGUARD_ALLOW_MAX)
			return bv_error_set(err, EINVAL, "--dns-allow: at most %d names", DNSGUARD_ALLOW_MAX);
		u->dns_allow[u->n_dns_allow++] = arg;
		return 0;
	default: return bv_error_set(err, EINVAL, "unexpected option");
	}
}

static const struct option launch_opts[] = {
	{ "allow", required_argument, NULL, 'a' }, { "db", required_argument, NULL, 'd' },
	{ "format", required_argument, NULL, 'F' },
	{ "data-dir", required_argument, NULL, 'D' }, { "platform", required_argument, NULL, 'p' },
	{ "from", required_argument, NULL, 'f' }, { "image", required_argument, NULL, 'i' },
	{ "alias", required_argument, NULL, 'A' }, { "control-port", required_argument, NULL, 'c' },
	{ "policy", required_argument, NULL, 'P' }, { "dry-run", no_argument, NULL, 'n' },
	{ "smolvm", required_argument, NULL, 's' }, { "verify", required_argument, NULL, 'v' },
	{ "kvm-device", required_argument, NULL, 'k' }, { "lease-dir", required_argument, NULL, 'L' },
	{ "no-dns-guard", no_argument, NULL, 'G' }, { "require-dns-guard", no_argument, NULL, 'R' },
	{ "dns-guard-addr", required_argument, NULL, 'g' },
	{ "dns-guard-user", required_argument, NULL, 'u' }, { "dnsmasq", required_argument, NULL, 'm' },
	{ "dns-allow", required_argument, NULL, 'N' }, { "watch", no_argument, NULL, 'W' },
	{ "watch-interval", required_argument, NULL, 'I' },
	{ "help", no_argument, NULL, 'h' }, { "version", no_argument, NULL, 'V' }, { NULL, 0, NULL, 0 },
};

/* Options, the command and NAME, and the command after `--`; 1 when --help or
 * --version printed. */
static int parse_args(int argc, char **argv, struct cli *c, struct bv_error *err)
{
	int opt;
	const char *pos[2] = { NULL, NULL };
	size_t n_pos = 0;
	opterr = 0;
	while ((opt = getopt_long(argc, argv, "-:h", launch_opts, NULL)) != -1) {
		if (opt == 'h' || opt == 'V') {
			if (opt == 'h')
				usage(stdout);
			else
				printf("bottle-launch %s\n", BV_RELEASE);
			return 1;
		}
		if (opt == 1 && n_pos >= 2)
			return bv_error_set(err, EINVAL, "unexpected argument '%s' (%s takes one NAME; a command for the bottle goes after --)", optarg, pos[0]);
		if (opt == 1)
			pos[n_pos++] = optarg;
		else if (opt == '?' || opt == ':')
			return usage_getopt_error(opt, argv, launch_opts, err);
		else if (parse_option(c, opt, optarg, err) < 0)
			return -EINVAL;
	}
	if (optind < argc && strcmp(argv[optind - 1], "--") == 0)
		c->up.cmd = argv + optind;
	else if (optind < argc)
		return bv_error_set(err, EINVAL, "unexpected argument '%s'", argv[optind]);
	c->command = pos[0];
	c->name = c->up.name = pos[1];
	return c->command ? 0 : bv_error_set(err, EINVAL, "no command (up, down, enforce or preflight)");
}

/* Every --allow parses as a CIDR (enforce), or is one ADDR/32 (up): a typo is a usage
 * error (exit 2), not a refusal of the bottle. */
static int check_allow(const struct cli *c, struct bv_error *err)
{
	struct bv_cidr_set s = { 0 };
	int rc = 0;
	for (size_t i = 0; i < c->n_allow && rc == 0; i++)
		if ((rc = cidr_set_add_text(&s, c->allow[i], err)) < 0)
			bv_error_wrap(err, "--allow '%s'", c->allow[i]);
	cidr_set_free(&s);
	return rc;
}

static int check_up(struct cli *c, struct bv_error *err)
{
	if (!c->up.from == !c->up.image)
		return bv_error_set(err, EINVAL, "up %s: needs exactly one of --from PACK or --image REF", c->name);
	if (c->n_allow > 1)
		return bv_error_set(err, EINVAL, "up %s: one --allow ADDR/32 (a bottle has one allowed destination)", c->name);
	if ((c->n_allow == 1) == (c->alias != NULL))
		return bv_error_set(err, EINVAL, "up %s: needs exactly one of --allow ADDR/32 or --alias auto", c->name);
	if (c->up.json && c->up.cmd)
		return bv_error_set(err, EINVAL, "up %s: --format json keeps stdout for the result: run the command with smolvm machine exec once up returns", c->name);
	if (c->up.watch_interval && !c->up.watch)
		return bv_error_set(err, EINVAL, "up %s: --watch-interval goes with --watch", c->name);
	if (!c->up.policy && !c->up.control_port)
		return bv_error_set(err, EINVAL, "up %s: without --policy the built-in policy is used, and it needs --control-port", c->name);
	c->up.allow = c->n_allow ? c->allow[0] : NULL;
	c->up.alias_auto = c->alias != NULL;
	return 0;
}

static int parse_cli(int argc, char **argv, struct cli *c, struct bv_error *err)
{
	int rc = parse_args(argc, argv, c, err);
	if (rc != 0)
		return rc;
	const char *cmd = c->command;
	if (strcmp(cmd, "preflight") == 0)
		return c->name ? bv_error_set(err, EINVAL, "preflight takes no NAME (got '%s')", c->name) : 0;
	if (strcmp(cmd, "up") && strcmp(cmd, "down") && strcmp(cmd, "enforce"))
		return bv_error_set(err, EINVAL, "unknown command '%s' (up, down, enforce or preflight)", cmd);
	if (!c->name || !c->name[0])
		return bv_error_set(err, EINVAL, "%s: no machine NAME", cmd);
	if (check_allow(c, err) < 0)
		return -EINVAL;
	if (strcmp(cmd, "enforce") == 0 && c->up.json)
		return bv_error_set(err, EINVAL, "enforce: --format json is for up, down and preflight");
	if (strcmp(cmd, "enforce") == 0)
		return c->n_allow ? 0 : bv_error_set(err, EINVAL, "enforce %s: no --allow CIDR", c->name);
	if (strcmp(cmd, "down") == 0)
		return 0;
	return check_up(c, err);
}

static int resolve_paths(const struct cli *c, const struct bv_version *v, char **db, char **dir,
			 struct bv_error *err)
{
	struct bv_path_env env;
	paths_env_default(&env);
	paths_env_for_version(&env, v);
	if (c->platform)
		env.platform = strcmp(c->platform, "macos") == 0 ? BV_PLATFORM_MACOS : BV_PLATFORM_LINUX;
	int r = 0;
	if (c->db_path)
		*db = strdup(c->db_path);
	else if ((r = paths_state_db(&env, db, err)) < 0)
		return bv_error_wrap(err, "cannot derive smolvm's DB path (pass --db)");
	if (c->data_dir)
		*dir = strdup(c->data_dir);
	else if ((r = paths_vm_data_dir(&env, c->name, dir, err)) < 0)
		return bv_error_wrap(err, "cannot derive the machine's data dir (pass --data-dir)");
	if (!*db || !*dir)
		return bv_error_set(err, ENOMEM, "out of memory");
	return 0;
}

static int run_enforce(const struct cli *c)
{
	struct bv_cidr_set allow = { 0 };
	struct bv_error err = { 0 };
	struct enforce_result res = { 0 };
	char *db = NULL, *dir = NULL;
	int r = 0;
	for (size_t i = 0; i < c->n_allow && r == 0; i++)
		if ((r = cidr_set_add_text(&allow, c->allow[i], &err)) < 0)
			bv_error_wrap(&err, "--allow %s", c->allow[i]);
	/* The smolvm that owns the row decides where its state is and, below 1.0.0, that a
	 * fresh machine has no data dir yet; one that cannot say is not guessed at. */
	struct bv_version v = { 0 };
	struct bv_error ignored = { 0 };
	(void)smolvm_version(c->up.smolvm ? c->up.smolvm : "smolvm", &v, NULL, &ignored);
	if (r == 0)
		r = resolve_paths(c, &v, &db, &dir, &err);
	if (r == 0) {
		/* Only a known smolvm < 1.0.0 gets its missing data dir made; otherwise a missing
		 * dir stays a refusal (another user's machine, a wrong HOME). */
		struct enforce_opts o = { .db_path = db, .data_dir = dir, .name = c->name, .allow = &allow,
					  .create_missing_dir = v.known && !version_data_dir_at_create(&v) };
		r = enforce_allowlist(&o, &res, &err);
	}
	if (r < 0 && res.committed)
		fprintf(stderr, "bottle-launch enforce %s: FAILED after writing: %s\n", c->name, err.msg);
	else if (r < 0)
		fprintf(stderr, "bottle-launch enforce %s: refused, nothing written: %s\n", c->name, err.msg);
	else if (res.outcome == ENFORCE_UNCHANGED)
		printf("enforce %s: allowed_cidrs already %s; nothing written\n", c->name, res.before);
	else
		printf("enforce %s: allowed_cidrs %s -> %s (re-read confirmed)\n", c->name, res.before,
		       res.after);
	enforce_result_free(&res);
	cidr_set_free(&allow);
	free(db);
	free(dir);
	return r < 0 ? 1 : 0;
}

static int run_preflight(const struct cli *c)
{
	char *found = c->up.verify ? NULL : launch_default_verify();
	const char *verify = c->up.verify ? c->up.verify : found;
	const char *tap[] = { verify, "preflight", "--smolvm", c->up.smolvm,
			      c->up.kvm_device ? "--kvm-device" : NULL, c->up.kvm_device, NULL };
	const char *json[] = { verify, "--format", "json", "preflight", "--smolvm", c->up.smolvm,
			       c->up.kvm_device ? "--kvm-device" : NULL, c->up.kvm_device, NULL };
	const char *const *argv = c->up.json ? json : tap;
	int st = 2;
	bool timed_out;
	struct bv_error err = { 0 };
	int r = verify ? spawn_inherit((char *const *)argv, false, 60000, &st, &timed_out, &err)
		       : bv_error_set(&err, ENOMEM, "out of memory");
	free(found);
	if (r < 0) {
		fprintf(stderr, "bottle-launch preflight: %s\n", err.msg);
		return 2;
	}
	return st;
}

int main(int argc, char **argv)
{
	struct cli c = { .up.smolvm = "smolvm" };
	struct bv_error err = { 0 };
	int p = parse_cli(argc, argv, &c, &err);
	if (p == 1)
		return 0;
	if (p < 0)
		return usage_fail("bottle-launch", &err, c.up.json);
	bool up = strcmp(c.command, "up") == 0;
	if (up || strcmp(c.command, "down") == 0) {
		struct launch_result res = { 0 };
		int code = up ? launch_up(&c.up, c.up.json ? &res : NULL) : launch_down(&c.up, c.up.json ? &res : NULL);
		if (c.up.json && launch_result_emit(&res, stdout) < 0)
			code = 2;
		launch_result_free(&res);
		return code;
	}
	if (strcmp(c.command, "preflight") == 0)
		return run_preflight(&c);
	return run_enforce(&c);
}
