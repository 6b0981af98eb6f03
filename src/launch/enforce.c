/* enforce.c - see enforce.h */
#include "launch/enforce.h"

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/cleanup.h"
#include "core/proc.h"
#include "smolvm/record.h"
#include "smolvm/statedb.h"

static int list_json(const struct bv_cidr_set *allow, char **out)
{
	size_t cap = 3 + allow->len * (CIDR_TEXT_MAX + 3);
	char *s = malloc(cap);
	if (!s)
		return -ENOMEM;
	size_t n = 0;
	s[n++] = '[';
	for (size_t i = 0; i < allow->len; i++) {
		char t[CIDR_TEXT_MAX];
		cidr_format(&allow->items[i], t);
		n += (size_t)snprintf(s + n, cap - n, "%s\"%s\"", i ? "," : "", t);
	}
	s[n++] = ']';
	s[n] = '\0';
	*out = s;
	return 0;
}

int enforce_splice(const unsigned char *raw, size_t len, const struct bv_cidr_set *allow,
		   unsigned char **out, size_t *out_len, struct bv_error *err)
{
	struct json_top top;
	_cleanup_free_ char *list = NULL;
	int r = jsonstrict_validate(raw, len, &top, err);
	if (r < 0) {
		json_top_free(&top);
		return r;
	}
	if (!top.is_object) {
		json_top_free(&top);
		return bv_error_set(err, EINVAL, "record is not a JSON object");
	}
	if (list_json(allow, &list) < 0) {
		json_top_free(&top);
		return bv_error_set(err, ENOMEM, "out of memory");
	}
	const struct json_member_span *m = json_top_find(&top, "allowed_cidrs");
	/* Replace the value in place, or append the member before the closing brace. */
	size_t cut_from = m ? m->value_start : top.close_brace;
	size_t cut_to = m ? m->value_end : top.close_brace;
	const char *lead = m ? "" : (top.n_members ? ",\"allowed_cidrs\":" : "\"allowed_cidrs\":");
	json_top_free(&top);
	size_t n = cut_from + strlen(lead) + strlen(list) + (len - cut_to);
	unsigned char *buf = malloc(n + 1);
	if (!buf)
		return bv_error_set(err, ENOMEM, "out of memory");
	memcpy(buf, raw, cut_from);
	memcpy(buf + cut_from, lead, strlen(lead));
	memcpy(buf + cut_from + strlen(lead), list, strlen(list));
	memcpy(buf + n - (len - cut_to), raw + cut_to, len - cut_to);
	buf[n] = '\0';
	*out = buf;
	*out_len = n;
	return 0;
}

/* A VMM counts as alive when its pid exists and the start time does not prove that the
 * pid was reused; an unknown start time is treated as alive (fail closed). */
static bool vmm_alive(long long pid, bool has_start, unsigned long long start)
{
	bool alive, same;
	proc_identify(pid, has_start, start, &alive, &same);
	return alive && (same || !has_start);
}

static int check_pid_file(const char *data_dir, struct bv_error *err)
{
	char path[4096];
	long long pid = 0;
	unsigned long long start = 0;
	bool has_start = false;
	snprintf(path, sizeof path, "%s/agent.pid", data_dir);
	int r = proc_read_pidfile(path, &pid, &has_start, &start, err);
	if (r < 0)
		return r;
	if (r == 1 && vmm_alive(pid, has_start, start))
		return bv_error_set(err, EBUSY, "a VMM (pid %lld, from %s) is alive: stop the machine first",
				    pid, path);
	return 0;
}

static int lock_machine(const char *data_dir, int *fd_out, struct bv_error *err)
{
	char path[4096];
	struct stat st;
	if (stat(data_dir, &st) < 0 || !S_ISDIR(st.st_mode))
		return bv_error_set(err, ENOENT,
				    "machine data dir %s does not exist: was the machine created by this user's smolvm?",
				    data_dir);
	snprintf(path, sizeof path, "%s/vm.lock", data_dir);
	int fd = open(path, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0644);
	if (fd < 0)
		return bv_error_errno(err, errno, "open %s", path);
	/* A lock we created as root for another user's machine must stay theirs, or their
	 * smolvm could not open it at the next start. */
	struct stat lk;
	if (fstat(fd, &lk) == 0 && lk.st_uid != st.st_uid && lk.st_uid == geteuid())
		(void)!fchown(fd, st.st_uid, st.st_gid);
	if (flock(fd, LOCK_EX | LOCK_NB) < 0) {
		int e = errno;
		close(fd);
		if (e == EWOULDBLOCK)
			return bv_error_set(err, EBUSY,
					    "%s is held: a smolvm command is starting this machine; retry when it is done",
					    path);
		return bv_error_errno(err, e, "flock %s", path);
	}
	*fd_out = fd;
	return 0;
}

static bool json_true(const cJSON *v)
{
	return v && cJSON_IsTrue(v);
}

/* What the row itself forbids: a running or unreachable machine, an ephemeral one (the
 * sweep deletes it), a fork base (golden/forkable), or a live pid. */
static int check_patchable(const struct vm_record *rec, struct bv_error *err)
{
	const cJSON *state = record_get(rec, "state");
	const char *s = cJSON_IsString(state) ? state->valuestring : state ? NULL : "created";
	if (!s || (strcmp(s, "created") && strcmp(s, "stopped") && strcmp(s, "failed")))
		return bv_error_set(err, EPERM, "machine state is %s: only created, stopped or failed machines are patched",
				    s ? s : "not a string");
	if (json_true(record_get(rec, "ephemeral")))
		return bv_error_set(err, EPERM, "machine is ephemeral: smolvm sweeps such rows");
	const cJSON *golden = record_get(rec, "golden");
	if (json_true(record_get(rec, "forkable")) || json_true(record_get(rec, "forkpoint_held")) ||
	    (golden && !cJSON_IsNull(golden)))
		return bv_error_set(err, EPERM, "machine is a fork base: patching it would change its forks");
	unsigned long long pid = 0, start = 0;
	int hp = record_get_u64(rec, "pid", &pid, err);
	int hs = record_get_u64(rec, "pid_start_time", &start, err);
	if (hp < 0 || hs < 0)
		return bv_error_wrap(err, "row");
	if (hp == 1 && vmm_alive((long long)pid, hs == 1, start))
		return bv_error_set(err, EBUSY, "the row's VMM pid %llu is alive: stop the machine first", pid);
	return 0;
}

static int load_row(sqlite3 *db, const char *name, struct vm_record *rec, struct bv_error *err)
{
	struct statedb_row row;
	int r = statedb_select_row(db, name, &row, err);
	if (r < 0)
		return r;
	if (!row.found)
		r = bv_error_set(err, ENOENT, "no row for machine %s in the state DB", name);
	else if (strcmp(row.column_type, "blob") != 0)
		r = bv_error_set(err, EINVAL, "vms.data for %s is %s, not a BLOB: smolvm cannot read it; refusing to touch it",
				 name, row.column_type);
	else if ((r = record_parse(row.data, row.len, rec, err)) < 0)
		bv_error_wrap(err, "row %s", name);
	statedb_row_free(&row);
	return r;
}

/* mkdir -p with smolvm's mode (0777 less the umask, as create_dir_all), each directory it
 * makes handed to uid:gid, so the machine's own smolvm can use them. */
static int mkdir_owned(const char *path, uid_t uid, gid_t gid, struct bv_error *err)
{
	char buf[4096];
	if (snprintf(buf, sizeof buf, "%s", path) >= (int)sizeof buf)
		return bv_error_set(err, ENAMETOOLONG, "data dir path too long");
	for (char *s = buf + 1;; s++) {
		bool end = *s == '\0';
		if (*s != '/' && !end)
			continue;
		*s = '\0';
		if (mkdir(buf, 0777) == 0) {
			if (geteuid() != uid && chown(buf, uid, gid) < 0)
				return bv_error_errno(err, errno, "chown %s", buf);
		} else if (errno != EEXIST) {
			return bv_error_errno(err, errno, "mkdir %s", buf);
		}
		if (end)
			return 0;
		*s = '/';
	}
}

/* The repair smolvm < 1.0.0 needs: its create inserts the row but makes no data dir, so
 * there is no vm.lock to hold yet. Only for a `created` row with no live VMM; the patch
 * itself re-checks all of it under the lock. */
static int create_data_dir(const struct enforce_opts *o, struct bv_error *err)
{
	struct stat db_st;
	sqlite3 *db = NULL;
	struct vm_record rec = { 0 };
	if (stat(o->db_path, &db_st) < 0)
		return bv_error_errno(err, errno, "%s", o->db_path);
	int r = statedb_open_readonly(o->db_path, &db, err);
	if (r == 0)
		r = load_row(db, o->name, &rec, err);
	if (r == 0)
		r = check_patchable(&rec, err);
	if (r == 0) {
		const cJSON *state = record_get(&rec, "state");
		if (state && !(cJSON_IsString(state) && strcmp(state->valuestring, "created") == 0))
			r = bv_error_set(err, ENOENT, "machine data dir %s does not exist and the machine is not freshly created: refusing to make it",
					 o->data_dir);
	}
	record_free(&rec);
	statedb_close(db);
	if (r == 0)
		r = mkdir_owned(o->data_dir, db_st.st_uid, db_st.st_gid, err);
	return r;
}

static bool allow_matches(const struct vm_record *rec, const struct bv_cidr_set *allow)
{
	struct bv_cidr_set have = { 0 };
	struct bv_error e;
	bool same = record_cidr_list(record_get(rec, "allowed_cidrs"), &have, &e) == 0 &&
		    cidr_set_equal(&have, allow);
	cidr_set_free(&have);
	return same;
}

/* Still inside the transaction: the row must now hold exactly our bytes, or we roll
 * back (a trigger, a hook or a broken driver reverting it: "the patch did not take"). */
static int same_row(sqlite3 *db, const char *name, const unsigned char *want, size_t len,
		    struct bv_error *err)
{
	struct statedb_row row;
	int r = statedb_select_row(db, name, &row, err);
	if (r == 0 && !(row.found && !strcmp(row.column_type, "blob") && row.len == len &&
			memcmp(row.data, want, len) == 0))
		r = bv_error_set(err, EIO, "the patch did not take: the row read back inside the transaction differs; rolled back");
	statedb_row_free(&row);
	return r;
}

/* Inside BEGIN IMMEDIATE: check, splice, write, read back. */
static int patch_in_txn(sqlite3 *db, const struct enforce_opts *o, struct enforce_result *res,
			unsigned char **written, size_t *written_len, struct bv_error *err)
{
	struct vm_record rec = { 0 };
	int r = load_row(db, o->name, &rec, err);
	if (r == 0)
		r = check_patchable(&rec, err);
	if (r == 0) {
		res->before = record_list_text(record_get(&rec, "allowed_cidrs"));
		if (!res->before)
			r = bv_error_set(err, ENOMEM, "out of memory");
	}
	if (r == 0 && allow_matches(&rec, o->allow)) {
		res->outcome = ENFORCE_UNCHANGED;
		record_free(&rec);
		return 0;
	}
	if (r == 0)
		r = enforce_splice(rec.raw, rec.raw_len, o->allow, written, written_len, err);
	if (r == 0)
		r = statedb_update_blob(db, o->name, *written, *written_len, err);
	if (r == 0)
		r = same_row(db, o->name, *written, *written_len, err);
	res->outcome = ENFORCE_WRITTEN;
	record_free(&rec);
	return r;
}

/* The re-read: a separate transaction must see exactly the bytes we committed. */
static int confirm(sqlite3 *db, const struct enforce_opts *o, const unsigned char *want,
		   size_t want_len, struct enforce_result *res, struct bv_error *err)
{
	struct statedb_row row;
	struct vm_record rec = { 0 };
	int r = statedb_read_row(db, o->name, &row, err);
	if (r < 0)
		return bv_error_wrap(err, "re-read after the patch");
	bool same_bytes = row.found && !strcmp(row.column_type, "blob") && row.len == want_len &&
			  memcmp(row.data, want, want_len) == 0;
	r = row.found ? record_parse(row.data, row.len, &rec, err) : -ENOENT;
	statedb_row_free(&row);
	if (r == 0) {
		res->after = record_list_text(record_get(&rec, "allowed_cidrs"));
		same_bytes = same_bytes && allow_matches(&rec, o->allow);
		record_free(&rec);
	}
	if (!same_bytes)
		return bv_error_set(err, EIO, "committed, but a re-read after the commit differs (now %s): another writer changed the row; do not start the machine",
				    res->after ? res->after : "unreadable");
	return 0;
}

static int validate_allow(const struct bv_cidr_set *allow, struct bv_error *err)
{
	if (!allow || allow->len == 0)
		return bv_error_set(err, EINVAL, "no --allow given: an empty allowlist is not enforced (smolvm adds its resolver to it)");
	for (size_t i = 0; i < allow->len; i++) {
		if (cidr_has_host_bits(&allow->items[i])) {
			char t[CIDR_TEXT_MAX], n[CIDR_TEXT_MAX];
			cidr_format(&allow->items[i], t);
			cidr_format_network(&allow->items[i], n);
			return bv_error_set(err, EINVAL, "%s has host bits set and means %s: write the network you mean",
					    t, n);
		}
	}
	return 0;
}

static int enforce_locked(const struct enforce_opts *o, struct enforce_result *res,
			  struct bv_error *err)
{
	sqlite3 *db = NULL;
	_cleanup_free_ unsigned char *written = NULL;
	size_t written_len = 0;
	int r = statedb_open_readwrite(o->db_path, &db, err);
	if (r < 0)
		return r;
	r = statedb_exec(db, "BEGIN IMMEDIATE", err);
	if (r == 0) {
		r = patch_in_txn(db, o, res, &written, &written_len, err);
		struct bv_error ignored;
		if (r < 0 || res->outcome == ENFORCE_UNCHANGED)
			statedb_exec(db, "ROLLBACK", &ignored);
		else
			r = statedb_exec(db, "COMMIT", err);
	}
	if (r == 0 && res->outcome == ENFORCE_WRITTEN) {
		res->committed = true;
		r = confirm(db, o, written, written_len, res, err);
	}
	statedb_close(db);
	return r;
}

int enforce_allowlist(const struct enforce_opts *o, struct enforce_result *res,
		      struct bv_error *err)
{
	_cleanup_close_ int lock_fd = -1;
	memset(res, 0, sizeof *res);
	struct stat st;
	int r = validate_allow(o->allow, err);
	if (r == 0 && o->create_missing_dir && stat(o->data_dir, &st) < 0 && errno == ENOENT)
		r = create_data_dir(o, err);
	if (r == 0)
		r = lock_machine(o->data_dir, &lock_fd, err);
	if (r == 0)
		r = check_pid_file(o->data_dir, err);
	if (r == 0)
		r = enforce_locked(o, res, err);
	return r;
}

void enforce_result_free(struct enforce_result *res)
{
	if (!res)
		return;
	free(res->before);
	free(res->after);
	res->before = res->after = NULL;
}
