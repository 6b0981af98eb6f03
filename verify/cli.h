/* cli.h - bottle-verify's command line: the options of every command but watch (which
 * parses its own, watch/cli.h), checked whole before any check runs, so that a mistake
 * is named (and exits 2) instead of surfacing as a failed check halfway through. */
#ifndef BV_VERIFY_CLI_H
#define BV_VERIFY_CLI_H

#include <stdbool.h>
#include <stdio.h>

#include "core/error.h"
#include "core/report.h"

#define CLI_MAX_LIST 64

struct cli {
	enum bv_format format;
	bool quiet;
	const char *command;
	const char *name;
	const char *db_path;
	const char *data_dir;
	const char *smolvm_bin;
	const char *kvm_device;
	const char *version_override;
	const char *platform;
	const char *policy;
	const char *netns;
	const char *probe;
	const char *machine;
	const char *guest_cmd;
	const char *secret_env;
	const char *allow_dest;
	const char *dns_guard, *dns_guard_log;
	bool full_window;
	const char *expect[CLI_MAX_LIST + 1];
	size_t n_expect;
	const char *hosts[CLI_MAX_LIST + 1];
	size_t n_hosts;
	const char *bypass[CLI_MAX_LIST + 1];
	size_t n_bypass;
};

/* 0: c holds a command whose every input parsed; 1: --help or --version was printed
 * (exit 0); -EINVAL: a usage error, err names it (c->format is what was parsed so far). */
int cli_parse(int argc, char **argv, struct cli *c, struct bv_error *err);

void cli_usage(FILE *f);

#endif
