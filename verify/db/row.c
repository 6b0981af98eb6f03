/* row.c - the db checks past the allowlist: bypass channels, unknown keys,
 * plaintext secrets, the VMM behind the row and what it was really launched with.
 * See row.h; its context and point helpers are context.h's. */
#include "db/row.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "host/env.h"
#include "core/cleanup.h"
#include "core/proc.h"

/* Append to a fixed evidence buffer, separated by sep; silently truncated when full
 * (evidence is for people; the verdict never depends on it). */
static void __attribute__((format(printf, 4, 5)))
evidence_append(char *buf, size_t cap, const char *sep, const char *fmt, ...)
{
	size_t n = strlen(buf);
	if (n + 1 >= cap)
		return;
	if (n) {
		snprintf(buf + n, cap - n, "%s", sep);
		n = strlen(buf);
	}
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(buf + n, cap - n, fmt, ap);
	va_end(ap);
}

/* A field is "set" when it holds anything but absent, null, false, 0, "" or []/{}. */
static bool field_is_set(const cJSON *v)
{
	if (!v || cJSON_IsNull(v) || cJSON_IsFalse(v))
		return false;
	if (cJSON_IsArray(v) || cJSON_IsObject(v))
		return cJSON_GetArraySize(v) > 0;
	if (cJSON_IsString(v))
		return v->valuestring[0] != '\0';
	if (cJSON_IsNumber(v))
		return v->valuedouble != 0;
	return true;
}

static bool bypass_accepted(const struct db_ctx *c, const char *field)
{
	for (const char *const *a = c->o->accept_bypass; a && *a; a++)
		if (strcmp(*a, field) == 0)
			return true;
	return false;
}

struct bypass {
	const char *field;
	const char *what;
	const char *fix;
};

static const struct bypass bypasses[] = {
	{ "ports", "published ports (inbound from host loopback, outside the allowlist)",
	  "recreate without -p; reach the agent through exec" },
	{ "published_sockets", "socket bridges over vsock (outside the allowlist)",
	  "recreate without --expose-socket/--mount-socket" },
	{ "mounts", "virtiofs host mounts (files cross without the network)",
	  "recreate without -v; copy files in with machine cp" },
	{ "remote_volumes", "remote volumes", "recreate without remote volumes" },
	{ "ssh_agent", "the host ssh-agent bridged over vsock", "recreate without --ssh-agent" },
	{ "docker_socket", "the host Docker socket bridged over vsock (host root)",
	  "recreate without --docker-socket" },
	{ "cuda", "the CUDA bridge over vsock", "recreate without --cuda" },
	{ "network_name", "an inter-VM fabric, forwarded before the policy check",
	  "recreate without --network" },
};

bool db_bypass_known(const char *field, char *known_out, size_t cap)
{
	bool found = false;
	size_t n = 0;
	if (known_out && cap)
		known_out[0] = '\0';
	for (size_t i = 0; i < sizeof bypasses / sizeof bypasses[0]; i++) {
		found = found || strcmp(field, bypasses[i].field) == 0;
		if (known_out && n < cap)
			n += (size_t)snprintf(known_out + n, cap - n, "%s%s", n ? " " : "", bypasses[i].field);
	}
	return found;
}

void db_check_bypass(struct db_ctx *c)
{
	for (size_t i = 0; i < sizeof bypasses / sizeof bypasses[0]; i++) {
		const struct bypass *b = &bypasses[i];
		char id[64], desc[160];
		snprintf(id, sizeof id, "db.bypass.%s", b->field);
		snprintf(desc, sizeof desc, "%s is unset (%s)", b->field, b->what);
		if (db_blocked(c, id, desc))
			continue;
		const cJSON *v = record_get(&c->rec, b->field);
		/* smolvm joins a fabric for any Some(name), "" included. */
		bool set = strcmp(b->field, "network_name") == 0 ? v && !cJSON_IsNull(v) : field_is_set(v);
		if (!set) {
			db_point(c, id, BV_OK, desc, NULL, NULL, NULL);
			continue;
		}
		_cleanup_free_ char *text = cJSON_PrintUnformatted(v);
		if (bypass_accepted(c, b->field)) {
			report_addf(c->r, id, BV_OK, "%s is set and accepted by --accept-bypass (%s)",
				    b->field, text ? text : "?");
			continue;
		}
		db_point(c, id, BV_NOT_OK, desc, "unset", text ? text : "set", b->fix);
	}
}

void db_check_known_keys(struct db_ctx *c)
{
	const char *desc = "the record holds only fields this verifier knows";
	if (db_blocked(c, "db.record.known_keys", desc))
		return;
	char unknown[512] = "";
	for (size_t i = 0; i < c->rec.top.n_members; i++) {
		const char *k = c->rec.top.members[i].key;
		if (record_key_is_known(k))
			continue;
		evidence_append(unknown, sizeof unknown, ", ", "%s", k);
	}
	db_point_unless(c, "db.record.known_keys", desc, "only smolvm 1.9 VmRecord fields", unknown,
		 "a newer smolvm (or a hand edit) added fields such as deny_cidrs whose effect on egress this verifier cannot judge: review them and update bottle-verify; note that older smolvm drops unknown keys on its next rewrite");
}

static void scan_env(const cJSON *env, const char *field, char *names, size_t cap)
{
	const cJSON *pair, *list = cJSON_IsArray(env) ? env : NULL;
	cJSON_ArrayForEach(pair, list) {
		const cJSON *k = cJSON_GetArrayItem(pair, 0), *v = cJSON_GetArrayItem(pair, 1);
		if (!cJSON_IsString(k) || !env_looks_secret(k->valuestring,
							    cJSON_IsString(v) ? v->valuestring : NULL))
			continue;
		/* Never echo the value: only where it is, its name and its length. */
		evidence_append(names, cap, ", ", "%s %s (%zu bytes)", field, k->valuestring,
				cJSON_IsString(v) ? strlen(v->valuestring) : 0);
	}
}

void db_check_env(struct db_ctx *c)
{
	const char *desc = "env holds no plaintext secret";
	if (db_blocked(c, "db.env.secrets", desc))
		return;
	static const char *const fields[] = { "env", "fork_env" };
	char names[512] = "";
	for (int i = 0; i < 2; i++) {
		const cJSON *env = record_get(&c->rec, fields[i]);
		if (env && !cJSON_IsNull(env) && !cJSON_IsArray(env)) {
			db_point(c, "db.env.secrets", BV_NOT_OK, desc, "a list of [name, value] pairs",
				 fields[i], "recreate the machine: smolvm cannot read this row");
			return;
		}
		scan_env(env, fields[i], names, sizeof names);
	}
	if (!names[0]) {
		db_point(c, "db.env.secrets", BV_OK, desc, NULL, NULL, NULL);
		return;
	}
	db_point(c, "db.env.secrets", BV_NOT_OK, desc, "no credential in env or fork_env", names,
		 "smolvm stores -e K=V in the DB in clear and puts it on argv: pass secrets as smolvm secret refs, or over stdin at exec time, and rotate the ones exposed");
}

static const char *record_state(const struct db_ctx *c)
{
	const cJSON *s = record_get(&c->rec, "state");
	if (!s)
		return "created"; /* smolvm's default */
	return cJSON_IsString(s) ? s->valuestring : NULL;
}

static bool state_is_known(const char *s)
{
	static const char *const states[] = { "created", "running", "stopped", "failed",
					      "unreachable" };
	for (size_t i = 0; s && i < sizeof states / sizeof states[0]; i++)
		if (strcmp(s, states[i]) == 0)
			return true;
	return false;
}

/* One source of "which VMM runs": the row's pid or the data dir's agent.pid. */
struct vmm_seen {
	bool present;   /* the source names a pid */
	long long pid;
	bool has_start; /* and its start time */
	bool alive;     /* a process with that pid exists */
	bool same;      /* with that very start time */
};

static int vmm_from_row(const struct db_ctx *c, struct vmm_seen *v, struct bv_error *err)
{
	unsigned long long pid = 0, start = 0;
	int hp = record_get_u64(&c->rec, "pid", &pid, err);
	int hs = record_get_u64(&c->rec, "pid_start_time", &start, err);
	memset(v, 0, sizeof *v);
	if (hp < 0 || hs < 0)
		return -EINVAL;
	if (hp == 0)
		return 0;
	if (pid == 0 || pid > 0x7fffffff)
		return bv_error_set(err, EINVAL, "pid %llu is not a process id", pid);
	v->present = true, v->pid = (long long)pid, v->has_start = hs == 1;
	proc_identify(v->pid, v->has_start, start, &v->alive, &v->same);
	return 0;
}

static int vmm_from_pidfile(const struct db_ctx *c, struct vmm_seen *v, struct bv_error *err)
{
	char path[4096];
	unsigned long long start = 0;
	memset(v, 0, sizeof *v);
	if (!c->o->data_dir)
		return 0;
	snprintf(path, sizeof path, "%s/agent.pid", c->o->data_dir);
	int r = proc_read_pidfile(path, &v->pid, &v->has_start, &start, err);
	if (r <= 0)
		return r;
	v->present = true;
	proc_identify(v->pid, v->has_start, start, &v->alive, &v->same);
	return 0;
}

static void vmm_text(const char *what, const struct vmm_seen *v, char *buf, size_t cap)
{
	size_t n = strlen(buf);
	snprintf(buf + n, cap - n, "%s%s pid %lld: %s", n ? "; " : "", what, v->pid,
		 !v->alive ? "no such process" : v->same ? "alive, same start time"
			   : v->has_start ? "alive, another start time (pid reused)"
					  : "alive, no start time to tell");
}

/* A source that runs a VMM for sure, or maybe (alive without a start time to tell). */
static bool runs(const struct vmm_seen *v) { return v->present && v->alive && v->same; }
static bool maybe_runs(const struct vmm_seen *v) { return v->present && v->alive && !v->has_start; }

static void vmm_point(struct db_ctx *c, const char *state, const struct vmm_seen *row,
		      const struct vmm_seen *file)
{
	const char *desc = "the VMM process agrees with the row's state";
	char actual[400];
	snprintf(actual, sizeof actual, "state %s", state);
	if (row->present)
		vmm_text("row", row, actual, sizeof actual);
	if (file->present)
		vmm_text("agent.pid", file, actual, sizeof actual);
	bool running = strcmp(state, "running") == 0;
	if (running && runs(row))
		db_point(c, "db.vmm.consistent", BV_OK, "the row's VMM is running (pid and start time match)", NULL, NULL, NULL);
	else if (running && maybe_runs(row))
		db_point(c, "db.vmm.consistent", BV_INCONCLUSIVE, desc, "pid_start_time recorded", actual,
			 "cannot tell whether this pid is the VMM: restart the machine with a current smolvm");
	else if (running)
		db_point(c, "db.vmm.consistent", BV_NOT_OK, desc, "a live VMM with the recorded start time", actual,
			 "the row is stale (smolvm will mark it unreachable): stop and start the machine, then verify again");
	else if (runs(row) || runs(file))
		db_point(c, "db.vmm.consistent", BV_NOT_OK, desc, "no live VMM", actual,
			 "a VM runs that the row says is not running; it may run an older policy: stop it with smolvm machine stop");
	else if (maybe_runs(row) || maybe_runs(file))
		db_point(c, "db.vmm.consistent", BV_INCONCLUSIVE, desc, "no live VMM", actual,
			 "a live process holds the recorded pid and no start time tells whether it is the VMM: stop the machine with smolvm machine stop");
	else
		db_point(c, "db.vmm.consistent", BV_OK, "no VMM runs, as the row's state says", NULL, NULL, NULL);
}

void db_check_vmm(struct db_ctx *c)
{
	const char *desc = "the VMM process agrees with the row's state";
	if (db_blocked(c, "db.vmm.consistent", desc))
		return;
	const char *state = record_state(c);
	if (!state_is_known(state)) {
		db_point(c, "db.vmm.consistent", BV_NOT_OK, desc,
			 "created, running, stopped, failed or unreachable",
			 state ? state : "not a string",
			 "smolvm cannot read this row (one such row breaks ls/stop/rm): recreate the machine");
		return;
	}
	struct vmm_seen row, file;
	struct bv_error err = { 0 };
	int r = vmm_from_row(c, &row, &err);
	if (r == 0)
		r = vmm_from_pidfile(c, &file, &err);
	if (r < 0) {
		db_point(c, "db.vmm.consistent", r == -EINVAL ? BV_NOT_OK : BV_INCONCLUSIVE, desc,
			 "a valid pid, pid_start_time and agent.pid", err.msg, "stop the machine and recreate it");
		return;
	}
	vmm_point(c, state, &row, &file);
}

static int read_agent_config(const char *dir, struct vm_record *cfg, struct bv_error *err)
{
	char path[4096];
	snprintf(path, sizeof path, "%s/agent.config.json", dir);
	return record_read_file(path, cfg, err);
}

static bool lists_agree(const cJSON *a, const cJSON *b)
{
	struct bv_cidr_set sa = { 0 }, sb = { 0 };
	struct bv_error e;
	int ra = record_cidr_list(a, &sa, &e), rb = record_cidr_list(b, &sb, &e);
	bool same = (ra == -ENODATA && rb == -ENODATA) ||
		    (ra == 0 && rb == 0 && cidr_set_equal(&sa, &sb));
	cidr_set_free(&sa);
	cidr_set_free(&sb);
	return same;
}

static bool values_agree(const cJSON *a, const cJSON *b)
{
	bool a_unset = !a || cJSON_IsNull(a), b_unset = !b || cJSON_IsNull(b);
	if (a_unset || b_unset)
		return a_unset && b_unset;
	return cJSON_Compare(a, b, 1);
}

static size_t list_len(const cJSON *v)
{
	return cJSON_IsArray(v) ? (size_t)cJSON_GetArraySize(v) : 0;
}

/* Keys of agent.config.json smolvm HEAD a5df5001 writes (RunningVmConfig, VmResources):
 * anything else may change what the VM can reach, so it is a difference too. */
static void unknown_config_keys(const cJSON *obj, const char *const *known, size_t n,
				const char *where, char *diff, size_t cap)
{
	const cJSON *k;
	cJSON_ArrayForEach(k, obj) {
		bool ok = false;
		for (size_t i = 0; i < n && !ok; i++)
			ok = strcmp(k->string, known[i]) == 0;
		if (!ok)
			evidence_append(diff, cap, "; ", "unknown key %s.%s", where, k->string);
	}
}

/* Compare what the VM was launched with (agent.config.json) with the row. */
static void compare_launch(struct db_ctx *c, const cJSON *cfg, const cJSON *res)
{
	const char *desc = "the running VM was launched with the row's egress policy";
	static const char *const fields[] = { "allowed_cidrs", "network", "network_backend",
					      "network_name", "cuda", "dns" };
	static const char *const top_keys[] = { "version", "mounts", "ports", "resources", "forkable" };
	static const char *const res_keys[] = { "cpus", "memory_mib", "network", "network_backend",
						"gpu", "gpu_vram_mib", "cuda", "rosetta", "storage_gib",
						"overlay_gib", "allowed_cidrs", "dns", "network_name" };
	char diff[768] = "";
	for (size_t i = 0; i < sizeof fields / sizeof fields[0]; i++) {
		const cJSON *launched = cJSON_GetObjectItemCaseSensitive(res, fields[i]);
		const cJSON *row = record_get(&c->rec, fields[i]);
		if (i == 0 ? lists_agree(launched, row) : values_agree(cJSON_IsFalse(launched) ? NULL : launched,
								       cJSON_IsFalse(row) ? NULL : row))
			continue;
		_cleanup_free_ char *lt = record_list_text(launched);
		_cleanup_free_ char *rt = record_list_text(row);
		evidence_append(diff, sizeof diff, "; ", "%s launched %s, row %s", fields[i],
				lt ? lt : "?", rt ? rt : "?");
	}
	/* Mounts and ports have other shapes in the two files: compare their counts. */
	static const char *const lists[] = { "mounts", "ports" };
	for (int i = 0; i < 2; i++) {
		size_t l = list_len(cJSON_GetObjectItemCaseSensitive(cfg, lists[i]));
		size_t r = list_len(record_get(&c->rec, lists[i]));
		if (l != r)
			evidence_append(diff, sizeof diff, "; ", "%s launched %zu, row %zu", lists[i], l, r);
	}
	unknown_config_keys(cfg, top_keys, sizeof top_keys / sizeof top_keys[0], "config", diff, sizeof diff);
	unknown_config_keys(res, res_keys, sizeof res_keys / sizeof res_keys[0], "resources", diff, sizeof diff);
	db_point_unless(c, "db.agent_config.match", desc, "launch config equal to the row", diff,
		 "the VM runs a different configuration than the row (start read an older row, or the row changed after start): stop and start the machine, then verify again");
}

void db_check_agent_config(struct db_ctx *c)
{
	const char *desc = "the running VM was launched with the row's egress policy";
	if (db_blocked(c, "db.agent_config.match", desc))
		return;
	const char *state = record_state(c);
	if (!state || strcmp(state, "running") != 0) {
		struct bv_point *p = report_add(c->r, "db.agent_config.match", BV_SKIP, desc);
		point_set_reason(p, "machine not running: no launch config to compare");
		return;
	}
	struct vm_record cfg = { 0 };
	struct bv_error err = { 0 };
	if (!c->o->data_dir || read_agent_config(c->o->data_dir, &cfg, &err) < 0) {
		db_point(c, "db.agent_config.match", BV_INCONCLUSIVE, desc,
			 "a readable agent.config.json in the machine's data dir",
			 c->o->data_dir ? err.msg : "no data dir",
			 "check the data dir (smolvm machine data-dir --name NAME) and pass --data-dir");
		record_free(&cfg);
		return;
	}
	const cJSON *res = record_get(&cfg, "resources");
	if (!cJSON_IsObject(res))
		db_point(c, "db.agent_config.match", BV_INCONCLUSIVE, desc,
			 "a resources object", "agent.config.json has no resources object",
			 "restart the machine with a current smolvm");
	else
		compare_launch(c, cfg.root, res);
	record_free(&cfg);
}
