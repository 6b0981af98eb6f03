/* cli.c - bottle-verify's command line (cli.h). */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cli.h"
#include "core/cidr.h"
#include "core/release.h"
#include "core/usage.h"
#include "db/row.h"
#include "egress/policy.h"
#include "egress/transport.h"
#include "smolvm/version.h"

void cli_usage(FILE *f)
{
	fputs("usage: bottle-verify [--format tap|json] [--quiet] COMMAND [options]\n"
	      "       bottle-verify --help | --version\n"
	      "\n"
	      "commands:\n"
	      "  preflight  [--smolvm BIN] [--kvm-device PATH] [--smolvm-version X.Y.Z]\n"
	      "  db NAME --expect CIDR [--expect CIDR ...] [--expect-host NAME ...]\n"
	      "             [--accept-bypass FIELD ...] [--db PATH] [--data-dir DIR]\n"
	      "             [--smolvm BIN] [--smolvm-version X.Y.Z]\n"
	      "  all NAME --expect CIDR --policy FILE|builtin [--allow-dest PROTO:ADDR:PORT]\n"
	      "             [db and preflight options]: preflight, db and egress (through\n"
	      "             smolvm machine exec) on one machine, one report\n"
	      "  egress --policy FILE (--netns NAME|/proc/PID/ns/net | --machine NAME |\n"
	      "             --guest-cmd PROG: runs `PROG PROBE`, plan on stdin, report on stdout,\n"
	      "             exit 77 when the probe ran to the end)\n"
	      "             [--probe PATH] [--smolvm BIN]\n"
	      "         --policy builtin --allow-dest PROTO:ADDR:PORT: the built-in policy for a\n"
	      "         real smolvm bottle (never for tests: it names real-world addresses)\n"
	      "\n"
	      "  gate [NAME] --policy FILE|builtin [--allow-dest PROTO:ADDR:PORT] [--secret-env VAR]\n"
	      "             [--netns NS | --guest-cmd PROG] [db options]: the sandbox-escape\n"
	      "             acceptance gate (gate.* in docs/checks.md); NAME is the smolvm machine\n"
	      "             (probed through machine exec unless --netns/--guest-cmd; its row read)\n"
	      "  watch NAME --expect CIDR [--interval MS] [--duration S] [--stop-on-finding] ...:\n"
	      "             follow a running bottle from outside (bottle-verify watch --help)\n"
	      "common: --platform linux|macos (where smolvm keeps its state)\n"
	      "  --dns-guard ADDR --dns-guard-log FILE: the bottle's DNS ends at this guard\n"
	      "             (bottle-launch's dnsmasq): db checks the row's dns, egress and gate\n"
	      "             judge DNS by the guard's record (docs/launch.md, The DNS guard)\n"
	      "  --full-window: watch until the plan's deadline even when every destination has\n"
	      "             its outside evidence sooner (docs/trust.md, When a run ends)\n"
	      "  --quiet: print only the points that are not ok (and the closing summary)\n"
	      "TAP 13 on stdout; exit 0 all ok, 1 a finding, 2 error or inconclusive.\n"
	      "BOTTLE_VERIFY_MUST_RUN=1 turns every SKIP into not ok.\n"
	      "Check ids: docs/checks.md.\n",
	      f);
}

static int push(const char **list, size_t *n, const char *opt, const char *v, struct bv_error *err)
{
	if (*n >= CLI_MAX_LIST)
		return bv_error_set(err, EINVAL, "--%s: at most %d values", opt, CLI_MAX_LIST);
	list[(*n)++] = v;
	list[*n] = NULL;
	return 0;
}

static int one_of(const char *opt, const char *v, const char *a, const char *b, struct bv_error *err)
{
	if (strcmp(v, a) && strcmp(v, b))
		return bv_error_set(err, EINVAL, "--%s '%s': must be %s or %s", opt, v, a, b);
	return 0;
}

static int parse_option(struct cli *c, int opt, const char *arg, struct bv_error *err)
{
	switch (opt) {
	case 'f':
		if (one_of("format", arg, "tap", "json", err) < 0)
			return -EINVAL;
		c->format = strcmp(arg, "json") ? BV_FORMAT_TAP : BV_FORMAT_JSON;
		return 0;
	case 'q': c->quiet = true; return 0;
	case 'e': return push(c->expect, &c->n_expect, "expect", arg, err);
	case 'H': return push(c->hosts, &c->n_hosts, "expect-host", arg, err);
	case 'B': return push(c->bypass, &c->n_bypass, "accept-bypass", arg, err);
	case 'd': c->db_path = arg; return 0;
	case 'D': c->data_dir = arg; return 0;
	case 's': c->smolvm_bin = arg; return 0;
	case 'k': c->kvm_device = arg; return 0;
	case 'V': c->version_override = arg; return 0;
	case 'p': c->platform = arg; return one_of("platform", arg, "linux", "macos", err);
	case 'P': c->policy = arg; return 0;
	case 'N': c->netns = arg; return 0;
	case 'R': c->probe = arg; return 0;
	case 'M': c->machine = arg; return 0;
	case 'A': c->allow_dest = arg; return 0;
	case 'G': c->guest_cmd = arg; return 0;
	case 'S': c->secret_env = arg; return 0;
	case 'g': c->dns_guard = arg; return 0;
	case 'L': c->dns_guard_log = arg; return 0;
	case 'W': c->full_window = true; return 0;
	default: return bv_error_set(err, EINVAL, "unexpected option");
	}
}

static const struct option cli_opts[] = {
	{ "format", required_argument, NULL, 'f' }, { "expect", required_argument, NULL, 'e' },
	{ "expect-host", required_argument, NULL, 'H' },
	{ "accept-bypass", required_argument, NULL, 'B' }, { "db", required_argument, NULL, 'd' },
	{ "data-dir", required_argument, NULL, 'D' }, { "smolvm", required_argument, NULL, 's' },
	{ "kvm-device", required_argument, NULL, 'k' },
	{ "smolvm-version", required_argument, NULL, 'V' },
	{ "platform", required_argument, NULL, 'p' }, { "help", no_argument, NULL, 'h' },
	{ "version", no_argument, NULL, 'v' }, { "quiet", no_argument, NULL, 'q' },
	{ "policy", required_argument, NULL, 'P' }, { "netns", required_argument, NULL, 'N' },
	{ "probe", required_argument, NULL, 'R' }, { "machine", required_argument, NULL, 'M' },
	{ "allow-dest", required_argument, NULL, 'A' },
	{ "guest-cmd", required_argument, NULL, 'G' },
	{ "secret-env", required_argument, NULL, 'S' },
	{ "dns-guard", required_argument, NULL, 'g' },
	{ "dns-guard-log", required_argument, NULL, 'L' },
	{ "full-window", no_argument, NULL, 'W' },
	{ NULL, 0, NULL, 0 },
};

/* Options, and the command and NAME among them; 1 when --help or --version printed. */
static int parse_args(int argc, char **argv, struct cli *c, struct bv_error *err)
{
	int opt;
	const char *pos[2] = { NULL, NULL };
	size_t n_pos = 0;
	opterr = 0;
	while ((opt = getopt_long(argc, argv, "-:h", cli_opts, NULL)) != -1) {
		if (opt == 'h' || opt == 'v') {
			if (opt == 'h')
				cli_usage(stdout);
			else
				printf("bottle-verify %s (report format bottle-verify/1)\n", BV_RELEASE);
			return 1;
		}
		if (opt == 1 && n_pos >= 2)
			return bv_error_set(err, EINVAL, "unexpected argument '%s' (%s takes at most one NAME)", optarg, pos[0]);
		if (opt == 1)
			pos[n_pos++] = optarg;
		else if (opt == '?' || opt == ':')
			return usage_getopt_error(opt, argv, cli_opts, err);
		else if (parse_option(c, opt, optarg, err) < 0)
			return -EINVAL;
	}
	c->command = pos[0];
	c->name = pos[1];
	if (!c->command)
		return bv_error_set(err, EINVAL, "no command (preflight, db, all, egress, gate or watch)");
	return 0;
}

/* What each command needs, and what it cannot take. */
static int check_shape(const struct cli *c, struct bv_error *err)
{
	const char *cmd = c->command;
	bool named = c->name && c->name[0];
	if (strcmp(cmd, "preflight") == 0)
		return c->name ? bv_error_set(err, EINVAL, "preflight takes no NAME (got '%s')", c->name) : 0;
	if (strcmp(cmd, "db") == 0 || strcmp(cmd, "all") == 0) {
		if (!named)
			return bv_error_set(err, EINVAL, "%s: no machine NAME", cmd);
		if (c->n_expect == 0)
			return bv_error_set(err, EINVAL, "%s %s: no --expect CIDR (the allowlist the row must hold)", cmd, c->name);
		if (strcmp(cmd, "all") == 0 && !c->policy)
			return bv_error_set(err, EINVAL, "all %s: no --policy FILE|builtin", c->name);
		return 0;
	}
	if (strcmp(cmd, "egress") == 0) {
		if (c->name)
			return bv_error_set(err, EINVAL, "egress takes no NAME (got '%s'): pass --machine NAME", c->name);
		if (!c->policy)
			return bv_error_set(err, EINVAL, "egress: no --policy FILE|builtin");
		if (!!c->netns + !!c->machine + !!c->guest_cmd != 1)
			return bv_error_set(err, EINVAL, "egress: needs exactly one of --netns NS, --machine NAME or --guest-cmd PROG");
		return 0;
	}
	if (strcmp(cmd, "gate") == 0) {
		if (!c->policy)
			return bv_error_set(err, EINVAL, "gate: no --policy FILE|builtin");
		if (!!c->netns + !!c->guest_cmd > 1)
			return bv_error_set(err, EINVAL, "gate: --netns and --guest-cmd exclude each other");
		if (!named && !c->netns && !c->guest_cmd)
			return bv_error_set(err, EINVAL, "gate: needs NAME (a smolvm machine), --netns NS or --guest-cmd PROG");
		return 0;
	}
	return bv_error_set(err, EINVAL, "unknown command '%s' (preflight, db, all, egress, gate or watch)", cmd);
}

/* --netns names a namespace that is there: NAME under /run/netns (ip netns), or a path. */
static int check_netns(const char *netns, struct bv_error *err)
{
	char path[512];
	struct stat st;
	transport_netns_path(netns, path, sizeof path);
	if (stat(path, &st) == 0)
		return 0;
	if (netns[0] == '/')
		return bv_error_errno(err, errno, "--netns '%s'", netns);
	return bv_error_set(err, errno, "--netns '%s': no such network namespace (%s: %s; `ip netns list` shows the names)",
			    netns, path, strerror(errno));
}

/* The values: each CIDR, bypass field and version parses, and the policy loads with its
 * --allow-dest, now rather than after the checks before it ran. */
static int check_values(const struct cli *c, struct bv_error *err)
{
	struct bv_cidr_set s = { 0 };
	int rc = 0;
	for (size_t i = 0; i < c->n_expect && rc == 0; i++)
		if ((rc = cidr_set_add_text(&s, c->expect[i], err)) < 0)
			bv_error_wrap(err, "--expect '%s'", c->expect[i]);
	cidr_set_free(&s);
	for (size_t i = 0; i < c->n_bypass && rc == 0; i++) {
		char known[256];
		if (!db_bypass_known(c->bypass[i], known, sizeof known))
			rc = bv_error_set(err, EINVAL, "--accept-bypass '%s': not a bypass field (one of: %s)", c->bypass[i], known);
	}
	struct bv_version v;
	if (rc == 0 && c->version_override && (rc = version_parse(c->version_override, &v, err)) < 0)
		bv_error_wrap(err, "--smolvm-version '%s'", c->version_override);
	if (rc == 0 && c->netns)
		rc = check_netns(c->netns, err);
	if (rc == 0 && !c->dns_guard != !c->dns_guard_log)
		rc = bv_error_set(err, EINVAL, "--dns-guard and --dns-guard-log go together");
	if (rc == 0 && c->policy) {
		struct policy p = { 0 };
		rc = strcmp(c->policy, "builtin") == 0 ? policy_load_builtin(c->allow_dest, NULL, &p, err)
						       : policy_load(c->policy, c->allow_dest, &p, err);
		policy_free(&p);
	} else if (rc == 0 && c->allow_dest) {
		rc = bv_error_set(err, EINVAL, "--allow-dest goes with --policy");
	}
	return rc < 0 ? -EINVAL : 0;
}

int cli_parse(int argc, char **argv, struct cli *c, struct bv_error *err)
{
	int rc = parse_args(argc, argv, c, err);
	if (rc != 0)
		return rc;
	if (check_shape(c, err) < 0 || check_values(c, err) < 0)
		return -EINVAL;
	return 0;
}
