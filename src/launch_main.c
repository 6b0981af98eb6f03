/* launch_main.c - bottle-launch: the minimal launcher (this version: `enforce`).
 * `enforce NAME --allow CIDR ...` writes a machine's allowed_cidrs fail-closed.
 * Exit 0 written or already matching, 1 refused or failed (nothing written), 2 usage. */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cidr.h"
#include "enforce.h"
#include "paths.h"

#define MAX_ALLOW 64

struct cli {
	const char *name;
	const char *db_path;
	const char *data_dir;
	const char *platform;
	const char *allow[MAX_ALLOW];
	size_t n_allow;
};

static void usage(FILE *f)
{
	fputs("usage: bottle-launch enforce NAME --allow CIDR [--allow CIDR ...]\n"
	      "                     [--db PATH] [--data-dir DIR] [--platform linux|macos]\n"
	      "\n"
	      "Sets the machine's allowed_cidrs in smolvm's state DB, between create and start.\n"
	      "Refuses (exit 1, nothing written) when the DB or row is missing, vm.lock is held,\n"
	      "a VMM is alive, the state is not created/stopped/failed, or the patch does not take.\n",
	      f);
}

static int parse_cli(int argc, char **argv, struct cli *c)
{
	static const struct option opts[] = {
		{ "allow", required_argument, NULL, 'a' }, { "db", required_argument, NULL, 'd' },
		{ "data-dir", required_argument, NULL, 'D' }, { "platform", required_argument, NULL, 'p' },
		{ "help", no_argument, NULL, 'h' }, { NULL, 0, NULL, 0 },
	};
	int opt;
	const char *pos[2] = { NULL, NULL };
	size_t n_pos = 0;
	opterr = 0;
	while ((opt = getopt_long(argc, argv, "-h", opts, NULL)) != -1) {
		switch (opt) {
		case 1:
			if (n_pos >= 2)
				return -1;
			pos[n_pos++] = optarg;
			break;
		case 'a':
			if (c->n_allow >= MAX_ALLOW)
				return -1;
			c->allow[c->n_allow++] = optarg;
			break;
		case 'd': c->db_path = optarg; break;
		case 'D': c->data_dir = optarg; break;
		case 'p': c->platform = optarg; break;
		case 'h': usage(stdout); exit(0);
		default: return -1;
		}
	}
	if (!pos[0] || strcmp(pos[0], "enforce") != 0 || !pos[1] || !pos[1][0] || !c->n_allow)
		return -1;
	c->name = pos[1];
	return 0;
}

static int resolve_paths(const struct cli *c, char **db, char **dir, struct bv_error *err)
{
	struct bv_path_env env;
	paths_env_default(&env);
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
	if (r == 0)
		r = resolve_paths(c, &db, &dir, &err);
	if (r == 0) {
		struct enforce_opts o = { .db_path = db, .data_dir = dir, .name = c->name, .allow = &allow };
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

int main(int argc, char **argv)
{
	struct cli c = { 0 };
	if (parse_cli(argc, argv, &c) < 0) {
		usage(stderr);
		return 2;
	}
	return run_enforce(&c);
}
