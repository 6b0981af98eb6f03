/* host.c - the gate's host-side entries: listeners an IP-only allowlist exposes,
 * the secret on host command lines or in the machine's row, and the row's bypass
 * channels (the db checks, folded into one gate point). */
#include "gate/gate.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "smolvm/statedb.h"

static bool declared(unsigned port, const unsigned *d, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (d[i] == port)
			return true;
	return false;
}

/* -E2BIG when the table is full: a listener left out must not let the point pass. */
static int add_port(unsigned port, unsigned *ports, size_t max, size_t *n)
{
	for (size_t i = 0; i < *n; i++)
		if (ports[i] == port)
			return 0;
	if (*n >= max)
		return -E2BIG;
	ports[(*n)++] = port;
	return 0;
}

/* One /proc/net/tcp{,6} file: listeners (state 0A) on a wildcard, on want, or (tcp6) on
 * want's IPv4-mapped form, which is reachable at want too. */
static int scan_file(const char *path, bool v6, unsigned want, const unsigned *dec, size_t n_dec,
		     unsigned *ports, size_t max, size_t *n)
{
	char line[512], local[64], mapped[40];
	unsigned port, state;
	int r = 0;
	FILE *f = fopen(path, "re");
	if (!f)
		return v6 && errno == ENOENT ? 0 : -errno; /* a host without IPv6 */
	/* /proc prints each 32-bit word of the address as it lies in memory */
	snprintf(mapped, sizeof mapped, "0000000000000000FFFF0000%08X", want);
	while (r == 0 && fgets(line, sizeof line, f)) {
		if (sscanf(line, " %*u: %63[0-9A-Fa-f]:%X %*s %X", local, &port, &state) != 3 || state != 0x0A)
			continue;
		bool wildcard = strspn(local, "0") == strlen(local);
		unsigned a = 0;
		if (!v6 && sscanf(local, "%8X", &a) != 1)
			continue;
		bool at_want = v6 ? strcasecmp(local, mapped) == 0 : a == want;
		if ((wildcard || at_want) && !declared(port, dec, n_dec))
			r = add_port(port, ports, max, n);
	}
	fclose(f);
	return r;
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
		r = scan_file("/proc/net/tcp6", true, a.s_addr, declared_ports, n_declared, ports, max, n);
	if (r == -E2BIG)
		return bv_error_set(err, E2BIG, "more than %zu host listeners to probe: not all could be checked", max);
	return r < 0 ? bv_error_errno(err, -r, "read the host's TCP listeners") : 0;
}

/* /proc mounted with hidepid hides other users' processes: a scan there proves nothing. */
static bool proc_hides_pids(void)
{
	char line[1024];
	bool hidden = false;
	FILE *f = fopen("/proc/self/mountinfo", "re");
	while (f && !hidden && fgets(line, sizeof line, f)) {
		const char *h = strstr(line, " /proc ") ? strstr(line, "hidepid=") : NULL;
		hidden = h && strncmp(h + 8, "0", 1) != 0 && strncmp(h + 8, "off", 3) != 0;
	}
	if (f)
		fclose(f);
	return hidden;
}

/* The whole command line (up to 4 MiB). */
static char *read_cmdline(const char *pid, size_t *len)
{
	char path[300];
	size_t cap = 65536;
	char *buf = malloc(cap);
	snprintf(path, sizeof path, "/proc/%s/cmdline", pid);
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	*len = 0;
	for (ssize_t n; buf && fd >= 0 && (n = read(fd, buf + *len, cap - *len)) > 0;) {
		*len += (size_t)n;
		if (*len == cap && cap < (4u << 20)) {
			char *more = realloc(buf, cap * 2);
			if (!more)
				break;
			buf = more, cap *= 2;
		}
	}
	if (fd >= 0)
		close(fd);
	return buf;
}

long gate_host_cmdline_secret(const char *secret, char *names, size_t cap)
{
	size_t slen = strlen(secret);
	long hits = 0;
	DIR *d = proc_hides_pids() ? NULL : opendir("/proc");
	struct dirent *de;
	names[0] = '\0';
	if (!d)
		return -1;
	while ((de = readdir(d))) {
		char path[300], comm[64] = "?";
		size_t len;
		if (!isdigit((unsigned char)de->d_name[0]))
			continue;
		char *buf = read_cmdline(de->d_name, &len);
		bool found = buf && memmem(buf, len, secret, slen);
		free(buf);
		if (!found)
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
	closedir(d);
	return hits;
}

static const char *const bypass_ids[] = {
	"db.bypass.ports", "db.bypass.published_sockets", "db.bypass.mounts",
	"db.bypass.remote_volumes", "db.bypass.ssh_agent", "db.bypass.docker_socket",
	"db.bypass.cuda", "db.bypass.network_name",
	"db.record.known_keys", /* a field a newer smolvm added may be a new channel */
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
	char esc[1024];
	size_t e = 0;
	for (const char *c = secret; *c && e + 7 < sizeof esc; c++) /* as JSON would store it */
		e += (size_t)(*c == '"' || *c == '\\' ? snprintf(esc + e, sizeof esc - e, "\\%c", *c)
			      : (unsigned char)*c < 0x20 ? snprintf(esc + e, sizeof esc - e, "\\u%04x", *c)
						       : snprintf(esc + e, sizeof esc - e, "%c", *c));
	int held = r < 0 || !row.found ? -1
		   : memmem(row.data, row.len, secret, strlen(secret)) || memmem(row.data, row.len, esc, e);
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
	long procs = gate_host_cmdline_secret(o->secret, names, sizeof names);
	int row = o->db ? row_holds(o->db, o->secret) : -1;
	struct bv_point *env = db ? report_find(db, "db.env.secrets") : NULL;
	bool env_bad = env && point_status(env) == BV_NOT_OK;
	enum bv_status st = procs > 0 || row == 1 || env_bad ? BV_NOT_OK
			    : !o->db || row < 0 || procs < 0 ? BV_INCONCLUSIVE : BV_OK;
	struct bv_point *p = report_add(r, id, st, desc);
	if (st == BV_OK)
		return;
	point_field(p, "expected", "the secret in no process's command line and not in the machine's row");
	point_fieldf(p, "actual", "%s%ld process(es) with it on their command line%s%s; row: %s%s",
		     procs < 0 ? "/proc cannot be read whole (hidepid?): " : "", procs < 0 ? 0 : procs,
		     procs ? ": " : "", procs ? names : "",
		     row == 1 ? "holds it" : row == 0 ? "clean" : "not readable", env_bad ? "; db.env.secrets not ok" : "");
	point_field(p, "remediation", st == BV_NOT_OK ? "pass secrets to the guest by a file or stdin, never by -e/--env or argv (ps shows argv to every user)"
						  : "give the machine NAME so its row can be read, and run where /proc shows every process");
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
