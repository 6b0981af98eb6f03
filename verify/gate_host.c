/* gate_host.c - the gate's host-side entries: listeners an IP-only allowlist exposes,
 * the secret on host command lines or in the machine's row, and the row's bypass
 * channels (the db checks, folded into one gate point). */
#include "gate.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "statedb.h"

static bool declared(unsigned port, const unsigned *d, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (d[i] == port)
			return true;
	return false;
}

static void add_port(unsigned port, unsigned *ports, size_t max, size_t *n)
{
	for (size_t i = 0; i < *n; i++)
		if (ports[i] == port)
			return;
	if (*n < max)
		ports[(*n)++] = port;
}

/* One /proc/net/tcp{,6} file: listeners (state 0A) on a wildcard or on want. */
static int scan_file(const char *path, bool v6, unsigned want, const unsigned *dec, size_t n_dec,
		     unsigned *ports, size_t max, size_t *n)
{
	char line[512], local[64];
	unsigned port, state;
	FILE *f = fopen(path, "re");
	if (!f)
		return v6 && errno == ENOENT ? 0 : -errno; /* a host without IPv6 */
	while (fgets(line, sizeof line, f)) {
		if (sscanf(line, " %*u: %63[0-9A-Fa-f]:%X %*s %X", local, &port, &state) != 3 || state != 0x0A)
			continue;
		bool wildcard = strspn(local, "0") == strlen(local);
		unsigned a = 0;
		if (!v6 && sscanf(local, "%8X", &a) != 1)
			continue;
		if ((wildcard || (!v6 && a == want)) && !declared(port, dec, n_dec))
			add_port(port, ports, max, n);
	}
	fclose(f);
	return 0;
}

int gate_host_listeners(const char *addr, const unsigned *declared_ports, size_t n_declared,
			unsigned *ports, size_t max, size_t *n, struct bv_error *err)
{
	struct in_addr a = { 0 };
	*n = 0;
	if (inet_pton(AF_INET, addr, &a) != 1)
		return bv_error_set(err, EINVAL, "gate.allowed_addr %s is not an IPv4 address", addr);
	int r = scan_file("/proc/net/tcp", false, a.s_addr, declared_ports, n_declared, ports, max, n);
	if (r == 0)
		r = scan_file("/proc/net/tcp6", true, 0, declared_ports, n_declared, ports, max, n);
	return r < 0 ? bv_error_errno(err, -r, "read the host's TCP listeners") : 0;
}

size_t gate_host_cmdline_secret(const char *secret, char *names, size_t cap)
{
	size_t hits = 0, slen = strlen(secret);
	DIR *d = opendir("/proc");
	struct dirent *de;
	names[0] = '\0';
	while (d && (de = readdir(d))) {
		char path[300], buf[65536], comm[64] = "?";
		if (!isdigit((unsigned char)de->d_name[0]))
			continue;
		snprintf(path, sizeof path, "/proc/%s/cmdline", de->d_name);
		int fd = open(path, O_RDONLY | O_CLOEXEC);
		if (fd < 0)
			continue;
		ssize_t len = read(fd, buf, sizeof buf);
		close(fd);
		if (len <= 0 || !memmem(buf, (size_t)len, secret, slen))
			continue;
		snprintf(path, sizeof path, "/proc/%s/comm", de->d_name);
		FILE *f = fopen(path, "re");
		if (f && fgets(comm, sizeof comm, f))
			comm[strcspn(comm, "\n")] = '\0';
		if (f)
			fclose(f);
		size_t used = strlen(names);
		snprintf(names + used, cap - used, "%spid %s (%s)", hits ? ", " : "", de->d_name, comm);
		hits++;
	}
	if (d)
		closedir(d);
	return hits;
}

static const char *const bypass_ids[] = {
	"db.bypass.ports", "db.bypass.published_sockets", "db.bypass.mounts",
	"db.bypass.remote_volumes", "db.bypass.ssh_agent", "db.bypass.docker_socket",
	"db.bypass.cuda", "db.bypass.network_name",
};

/* gate.bypass-channels: every db.bypass point of a scratch db run, folded. */
static void bypass_point(struct bv_report *r, struct bv_report *db)
{
	char bad[512] = "", unknown[512] = "";
	for (size_t i = 0; i < sizeof bypass_ids / sizeof bypass_ids[0]; i++) {
		struct bv_point *p = report_find(db, bypass_ids[i]);
		enum bv_status st = p ? point_status(p) : BV_INCONCLUSIVE;
		char *into = st == BV_NOT_OK ? bad : st == BV_OK ? NULL : unknown;
		if (into)
			snprintf(into + strlen(into), 512 - strlen(into), "%s%s", into[0] ? ", " : "", bypass_ids[i]);
	}
	enum bv_status st = bad[0] ? BV_NOT_OK : unknown[0] ? BV_INCONCLUSIVE : BV_OK;
	struct bv_point *p = report_add(r, "gate.bypass-channels", st,
					"no bypass channel in the machine's row (published ports, socket bridges, mounts)");
	if (st == BV_OK)
		return;
	point_field(p, "expected", "every db.bypass check ok");
	point_field(p, "actual", bad[0] ? bad : "these could not be judged");
	if (unknown[0] && bad[0])
		point_field(p, "inconclusive", unknown);
	point_field(p, "remediation", bad[0] ? "recreate the machine without the channel (bottle-verify db NAME shows each field)"
					     : "make the row readable: bottle-verify db NAME says why it is not");
}

/* The exact secret in the row's bytes (env, fork_env, anything). -1 when unreadable. */
static int row_holds(const struct db_check_opts *o, const char *secret)
{
	sqlite3 *db = NULL;
	struct statedb_row row = { 0 };
	struct bv_error err = { 0 };
	int r = statedb_open_readonly(o->db_path, &db, &err);
	if (r == 0)
		r = statedb_read_row(db, o->name, &row, &err);
	int held = r < 0 || !row.found ? -1 : memmem(row.data, row.len, secret, strlen(secret)) != NULL;
	statedb_row_free(&row);
	if (db)
		statedb_close(db);
	return held;
}

static void secret_point(struct bv_report *r, const struct gate_opts *o, struct bv_report *db)
{
	const char *id = "gate.secret-exposure", *desc = "the launcher's secret is not visible on the host";
	if (!o->secret) {
		struct bv_point *p = report_add(r, id, BV_SKIP, desc);
		point_set_reason(p, "no --secret-env VAR: the secret the launcher holds is unknown");
		return;
	}
	char names[1024];
	size_t procs = gate_host_cmdline_secret(o->secret, names, sizeof names);
	int row = o->db ? row_holds(o->db, o->secret) : -1;
	struct bv_point *env = db ? report_find(db, "db.env.secrets") : NULL;
	bool env_bad = env && point_status(env) == BV_NOT_OK;
	enum bv_status st = procs || row == 1 || env_bad ? BV_NOT_OK : !o->db || row < 0 ? BV_INCONCLUSIVE : BV_OK;
	struct bv_point *p = report_add(r, id, st, desc);
	if (st == BV_OK)
		return;
	point_field(p, "expected", "the secret in no process's command line and not in the machine's row");
	point_fieldf(p, "actual", "%zu process(es) with it on their command line%s%s; row: %s%s", procs,
		     procs ? ": " : "", procs ? names : "",
		     row == 1 ? "holds it" : row == 0 ? "clean" : "not readable", env_bad ? "; db.env.secrets not ok" : "");
	point_field(p, "remediation", st == BV_NOT_OK ? "pass secrets to the guest by a file or stdin, never by -e/--env or argv (ps shows argv to every user)"
						  : "give the machine NAME so its row can be read");
}

void gate_host_points(struct bv_report *r, const struct gate_opts *o)
{
	struct bv_report *db = o->db ? report_new("db", false) : NULL;
	if (db && check_db(db, o->db) < 0) {
		report_free(db);
		db = NULL;
	}
	if (db) {
		bypass_point(r, db);
	} else {
		struct bv_point *p = report_add(r, "gate.bypass-channels", o->db ? BV_INCONCLUSIVE : BV_SKIP,
						"no bypass channel in the machine's row (published ports, socket bridges, mounts)");
		if (!o->db)
			point_set_reason(p, "no machine NAME: there is no state-DB row to read");
	}
	secret_point(r, o, db);
	report_free(db);
}
