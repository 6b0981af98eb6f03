/* cli.c - see cli.h. Usage errors name the problem and still print valid TAP (a stream
 * with no points, exit 2); set-up failures (no running VMM) print one inconclusive point. */
#include "watch/cli.h"

#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/cidr.h"
#include "core/report.h"
#include "host/preflight.h"
#include "selfconfine.h"
#include "smolvm/paths.h"
#include "watch/watch.h"

#define WATCH_MAX_LIST 64

struct watch_cli {
	enum bv_format format;
	const char *name, *db_path, *data_dir, *smolvm, *version, *platform, *dns_guard, *dns_upstream;
	const char *expect[WATCH_MAX_LIST + 1], *hosts[WATCH_MAX_LIST + 1], *bypass[WATCH_MAX_LIST + 1];
	size_t n_expect, n_hosts, n_bypass;
	long interval_ms, duration_s, burst, burst_window_ms;
	bool stop_on_finding;
	char why[256]; /* the usage error */
};

static void watch_usage(FILE *f)
{
	fputs("usage: bottle-verify [--format tap|json] watch NAME --expect CIDR [--expect CIDR ...]\n"
	      "             [--interval MS] [--duration S] [--stop-on-finding]\n"
	      "             [--denial-burst COUNT [--burst-window MS]] [--dns-guard ADDR]\n"
	      "             [--dns-upstream ADDR] [--expect-host NAME ...] [--accept-bypass FIELD ...]\n"
	      "             [--db PATH] [--data-dir DIR] [--smolvm BIN] [--smolvm-version X.Y.Z]\n"
	      "             [--platform linux|macos]\n"
	      "Follows a running bottle from outside: its VMM's host sockets, smolvm's denial record,\n"
	      "its row and launch config. Prints TAP 13 as it goes (the plan comes last) or one JSON\n"
	      "object per line; exit 0 clean, 1 a finding, 2 error or inconclusive (docs/watch.md).\n",
	      f);
}

bool watch_is_command(int argc, char **argv)
{
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--format") == 0) {
			i++;
			continue;
		}
		if (argv[i][0] != '-')
			return strcmp(argv[i], "watch") == 0;
	}
	return false;
}

static int usage_error(struct watch_cli *c, const char *fmt, const char *what)
{
	snprintf(c->why, sizeof c->why, fmt, what);
	return -1;
}

static int push(struct watch_cli *c, const char **list, size_t *n, const char *v, const char *opt)
{
	if (*n >= WATCH_MAX_LIST)
		return usage_error(c, "at most 64 values of %s", opt);
	list[(*n)++] = v;
	list[*n] = NULL;
	return 0;
}

static int number(struct watch_cli *c, const char *arg, long min, long max, long *out, const char *opt)
{
	char *end = NULL;
	errno = 0;
	long v = strtol(arg, &end, 10);
	if (errno || !end || end == arg || *end || v < min || v > max) {
		snprintf(c->why, sizeof c->why, "%s: '%.64s' is not a whole number from %ld to %ld", opt, arg, min, max);
		return -1;
	}
	*out = v;
	return 0;
}

static int watch_option(struct watch_cli *c, int opt, const char *arg)
{
	switch (opt) {
	case 'f':
		if (strcmp(arg, "tap") && strcmp(arg, "json"))
			return usage_error(c, "--format: '%.32s' is neither tap nor json", arg);
		c->format = strcmp(arg, "json") ? BV_FORMAT_TAP : BV_FORMAT_JSON;
		return 0;
	case 'e': return push(c, c->expect, &c->n_expect, arg, "--expect");
	case 'H': return push(c, c->hosts, &c->n_hosts, arg, "--expect-host");
	case 'B': return push(c, c->bypass, &c->n_bypass, arg, "--accept-bypass");
	case 'd': c->db_path = arg; return 0;
	case 'D': c->data_dir = arg; return 0;
	case 's': c->smolvm = arg; return 0;
	case 'V': c->version = arg; return 0;
	case 'p':
		if (strcmp(arg, "linux") && strcmp(arg, "macos"))
			return usage_error(c, "--platform: '%.32s' is neither linux nor macos", arg);
		c->platform = arg;
		return 0;
	case 'g': c->dns_guard = arg; return 0;
	case 'u': c->dns_upstream = arg; return 0;
	case 'i': return number(c, arg, 10, 60000, &c->interval_ms, "--interval");
	case 't': return number(c, arg, 0, 30L * 24 * 3600, &c->duration_s, "--duration");
	case 'b': return number(c, arg, 1, 100000000, &c->burst, "--denial-burst");
	case 'w': return number(c, arg, 100, 3600000, &c->burst_window_ms, "--burst-window");
	case 'S': c->stop_on_finding = true; return 0;
	}
	return usage_error(c, "%s", "unknown option (see --help)");
}

static const struct option watch_opts[] = {
	{ "format", required_argument, NULL, 'f' }, { "expect", required_argument, NULL, 'e' },
	{ "expect-host", required_argument, NULL, 'H' }, { "accept-bypass", required_argument, NULL, 'B' },
	{ "db", required_argument, NULL, 'd' }, { "data-dir", required_argument, NULL, 'D' },
	{ "smolvm", required_argument, NULL, 's' }, { "smolvm-version", required_argument, NULL, 'V' },
	{ "platform", required_argument, NULL, 'p' }, { "dns-guard", required_argument, NULL, 'g' },
	{ "dns-upstream", required_argument, NULL, 'u' }, { "interval", required_argument, NULL, 'i' },
	{ "duration", required_argument, NULL, 't' }, { "denial-burst", required_argument, NULL, 'b' },
	{ "burst-window", required_argument, NULL, 'w' }, { "stop-on-finding", no_argument, NULL, 'S' },
	{ "help", no_argument, NULL, 'h' }, { NULL, 0, NULL, 0 },
};

/* 0 parsed, 1 help printed, -1 usage error (c->why says which). */
static int watch_parse(int argc, char **argv, struct watch_cli *c)
{
	int opt, n_pos = 0;
	opterr = 0;
	optind = 1;
	while ((opt = getopt_long(argc, argv, "-h", watch_opts, NULL)) != -1) {
		if (opt == 'h') {
			watch_usage(stdout);
			return 1;
		}
		if (opt == '?' || opt == ':') {
			snprintf(c->why, sizeof c->why, "%.80s: %s", argv[optind - 1],
				 optopt ? "needs a value" : "unknown option (see --help)");
			return -1;
		}
		if (opt == 1) {
			if (n_pos == 1)
				c->name = optarg;
			else if (n_pos > 1)
				return usage_error(c, "'%.64s': one machine NAME only", optarg);
			n_pos++;
			continue;
		}
		if (watch_option(c, opt, optarg) < 0)
			return -1;
	}
	if (!c->name || !c->name[0])
		return usage_error(c, "%s", "needs the machine's NAME");
	if (c->n_expect == 0)
		return usage_error(c, "%s", "needs at least one --expect CIDR (the bottle's allowlist)");
	if (c->burst_window_ms && !c->burst)
		return usage_error(c, "%s", "--burst-window goes with --denial-burst");
	return 0;
}

static volatile sig_atomic_t stop_requested;
static void on_stop_signal(int sig)
{
	(void)sig;
	stop_requested = 1;
}

static void catch_signals(void)
{
	/* SA_RESTART: a write cut by the signal goes on (a cut write would fail the stream);
	 * the sleep between passes still wakes */
	struct sigaction sa = { .sa_handler = on_stop_signal, .sa_flags = SA_RESTART };
	sigemptyset(&sa.sa_mask);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	signal(SIGPIPE, SIG_IGN); /* a closed stdout is a write error (exit 2), not a silent death */
}

/* A stream with one point and nothing else: what a watch that could not begin says. */
static int bail(struct bv_stream *st, struct bv_report *r, const char *id, const char *actual, const char *fix)
{
	struct bv_point *p = report_add(r, id, BV_INCONCLUSIVE, "the watch could begin");
	point_field(p, "actual", actual);
	point_field(p, "remediation", fix);
	report_stream_flush(st, r);
	report_free(r);
	return report_stream_end(st);
}

static bool ip_literal(const char *s)
{
	unsigned char b[16];
	return inet_pton(AF_INET, s, b) == 1 || inet_pton(AF_INET6, s, b) == 1;
}

struct watch_paths {
	struct bv_cidr_set expect;
	char *db, *dir;
	struct bv_version v;
};

static int resolve(const struct watch_cli *c, struct watch_paths *wp, struct bv_report *r, struct bv_error *err)
{
	struct bv_path_env env;
	int rc = 0;
	detect_version(r, c->smolvm ? c->smolvm : "smolvm", c->version, &wp->v);
	paths_env_default(&env);
	paths_env_for_version(&env, &wp->v);
	if (c->platform)
		env.platform = strcmp(c->platform, "macos") == 0 ? BV_PLATFORM_MACOS : BV_PLATFORM_LINUX;
	for (size_t i = 0; i < c->n_expect && rc == 0; i++)
		if ((rc = cidr_set_add_text(&wp->expect, c->expect[i], err)) < 0)
			bv_error_wrap(err, "--expect %s", c->expect[i]);
	if (rc == 0 && !c->db_path && (rc = paths_state_db(&env, &wp->db, err)) < 0)
		bv_error_wrap(err, "cannot derive smolvm's DB path (pass --db)");
	if (rc == 0 && !c->data_dir && (rc = paths_vm_data_dir(&env, c->name, &wp->dir, err)) < 0)
		bv_error_wrap(err, "cannot derive the machine's data dir (pass --data-dir)");
	return rc;
}

static void confine_watch(struct bv_report *r)
{
	struct bv_error err = { 0 };
	const char *off = getenv("BOTTLE_VERIFY_SELFCONFINE");
	if (off && strcmp(off, "off") == 0) {
		report_note(r, "the watch is not confined: BOTTLE_VERIFY_SELFCONFINE=off");
		return;
	}
	int rc = selfconfine_with(SELFCONFINE_SOCK_DIAG, &err);
	if (rc < 0) {
		bv_error_wrap(&err, "the watch cannot confine itself");
		report_error(r, &err);
	} else {
		report_note(r, rc == 1 ? "the watch is not confined: it runs under valgrind, which cannot run seccomp filters"
				       : "the watch confined itself (seccomp allowlist): no exec, fork, or socket but its sock_diag census");
	}
}

/* A usage error: named on stderr; stdout is still TAP ("Bail out!" with the reason: prove
 * stops and says it) or one JSON error line and the end line. */
static int usage_exit(struct watch_cli *c)
{
	fprintf(stderr, "bottle-verify watch: %s\n", c->why);
	watch_usage(stderr);
	if (c->format == BV_FORMAT_TAP) {
		printf("TAP version 13\nBail out! usage: %s\n", c->why);
		return 2;
	}
	struct bv_stream st;
	struct bv_error e = { 0 };
	report_stream_begin(&st, "watch", c->format, stdout);
	struct bv_report *r = report_new("watch", false);
	bv_error_set(&e, EINVAL, "usage: %s", c->why);
	report_error(r, &e);
	report_stream_flush(&st, r);
	report_free(r);
	report_stream_end(&st);
	return 2;
}

static int watch_run(const struct watch_cli *c, struct bv_stream *st, struct bv_report *r, struct watch_paths *wp)
{
	struct bv_error err = { 0 };
	struct watch w;
	const char *must = getenv("BOTTLE_VERIFY_MUST_RUN");
	if (resolve(c, wp, r, &err) < 0)
		return bail(st, r, "watch.setup", err.msg, "fix the option it names, or pass --db and --data-dir");
	struct db_check_opts dbo = {
		.db_path = c->db_path ? c->db_path : wp->db, .data_dir = c->data_dir ? c->data_dir : wp->dir,
		.name = c->name, .expect = &wp->expect, .expect_hosts = c->n_hosts ? c->hosts : NULL,
		.accept_bypass = c->n_bypass ? c->bypass : NULL, .version = &wp->v, .dns_guard = c->dns_guard,
	};
	struct watch_opts o = {
		.name = c->name, .smolvm = c->smolvm ? c->smolvm : "smolvm", .data_dir = dbo.data_dir, .db = &dbo,
		.allowed = &wp->expect, .version = &wp->v, .dns_guard = c->dns_guard, .dns_upstream = c->dns_upstream,
		.interval_ms = (int)c->interval_ms, .duration_ms = c->duration_s * 1000, .stop_on_finding = c->stop_on_finding,
		.burst = (unsigned long)c->burst, .burst_window_ms = c->burst_window_ms ? (int)c->burst_window_ms : 10000,
		.must_run = must && strcmp(must, "1") == 0,
	};
	int rc = watch_setup(&w, &o, &err);
	if (rc < 0) {
		watch_free(&w);
		return bail(st, r, "watch.vmm", err.msg,
			    rc == -ESRCH ? "start the machine (smolvm machine start --name NAME), then watch it"
					 : "run the watch as the VMM's user or root, in the VMM's network namespace");
	}
	confine_watch(r);
	report_stream_flush(st, r);
	report_free(r);
	watch_loop(&w, st, &stop_requested);
	watch_free(&w);
	return report_stream_end(st);
}

int watch_main(int argc, char **argv)
{
	struct watch_cli c = { .format = BV_FORMAT_TAP, .interval_ms = WATCH_INTERVAL_MS };
	int p = watch_parse(argc, argv, &c);
	if (p == 1)
		return 0;
	if (p == 0 && c.dns_guard && !ip_literal(c.dns_guard))
		p = usage_error(&c, "--dns-guard: '%.64s' is not an IP address", c.dns_guard);
	if (p == 0 && c.dns_upstream && !ip_literal(c.dns_upstream))
		p = usage_error(&c, "--dns-upstream: '%.64s' is not an IP address", c.dns_upstream);
	if (p < 0)
		return usage_exit(&c);
	catch_signals();
	struct bv_stream st;
	struct watch_paths wp = { 0 };
	report_stream_begin(&st, "watch", c.format, stdout);
	struct bv_report *r = report_new("watch", false);
	int code = r ? watch_run(&c, &st, r, &wp) : (report_stream_end(&st), 2);
	cidr_set_free(&wp.expect);
	free(wp.db);
	free(wp.dir);
	return code;
}
