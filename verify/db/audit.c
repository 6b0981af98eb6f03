/* audit.c - see audit.h */
#include "db/audit.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/cleanup.h"
#include "db/context.h"
#include "db/row.h"
#include "smolvm/statedb.h"

static char *cidr_set_text(const struct bv_cidr_set *s)
{
	size_t cap = 3 + s->len * (CIDR_TEXT_MAX + 2);
	char *t = malloc(cap);
	if (!t)
		return NULL;
	size_t n = (size_t)snprintf(t, cap, "[");
	for (size_t i = 0; i < s->len; i++) {
		char one[CIDR_TEXT_MAX];
		cidr_format(&s->items[i], one);
		n += (size_t)snprintf(t + n, cap - n, "%s%s", i ? ", " : "", one);
	}
	snprintf(t + n, cap - n, "]");
	return t;
}

/* What to do about a DB that did not open, by its cause. */
static const char *db_open_remedy(int r)
{
	switch (-r) {
	case ENOENT:
		return "create the machine with smolvm as this user (the DB is per user: sudo or another HOME means another DB), or pass --db PATH";
	case EACCES:
	case EPERM:
		return "make the DB readable by this user; smolvm keeps -wal/-shm beside it, so the directory must be accessible";
	case EINVAL:
	case EISDIR:
		return "--db names smolvm's state DB file itself (server/smolvm.db under smolvm's data dir, docs/checks.md), not a directory";
	case EBADMSG:
		return "this is not an SQLite database: --db names smolvm's state DB (server/smolvm.db under smolvm's data dir, docs/checks.md)";
	case EBUSY:
		return "smolvm held the DB locked past the 15 s busy timeout: run again once no smolvm command is writing";
	default:
		return "check that --db names smolvm's state DB and that it is intact (sqlite3 DB 'PRAGMA integrity_check')";
	}
}

/* db.present + db.row.present + db.data.blob + db.data.json: the chain that yields a
 * record. Each failure sets blocked_by, and every later point is inconclusive. */
static void check_open_and_read(struct db_ctx *c)
{
	const struct db_check_opts *o = c->o;
	struct bv_error err = { 0 };
	sqlite3 *db = NULL;
	struct statedb_row row = { 0 };
	int r = statedb_open_readonly(o->db_path, &db, &err);
	if (r == 0)
		r = statedb_read_row(db, o->name, &row, &err);
	statedb_close(db);
	if (r < 0) {
		bool missing = r == -ENOENT;
		db_point(c, "db.present", missing ? BV_NOT_OK : BV_INCONCLUSIVE,
			 "smolvm state DB is present and readable", o->db_path, err.msg, db_open_remedy(r));
		c->blocked_by = "db.present";
		return;
	}
	db_point(c, "db.present", BV_OK, "smolvm state DB is present and readable", NULL, NULL, NULL);
	if (!row.found) {
		db_point(c, "db.row.present", BV_NOT_OK, "the machine has a row in vms", o->name,
			 "no row", "create the machine first (smolvm machine create --name NAME)");
		c->blocked_by = "db.row.present";
		goto out;
	}
	db_point(c, "db.row.present", BV_OK, "the machine has a row in vms", NULL, NULL, NULL);
	if (strcmp(row.column_type, "blob") != 0) {
		db_point(c, "db.data.blob", BV_NOT_OK, "vms.data is stored as a BLOB", "blob",
			 row.column_type,
			 "smolvm reads only BLOBs: this row breaks ls/stop/rm for every machine; rewrite it with CAST(... AS BLOB) or bottle-launch enforce");
		c->blocked_by = "db.data.blob";
		goto out;
	}
	db_point(c, "db.data.blob", BV_OK, "vms.data is stored as a BLOB", NULL, NULL, NULL);
	r = record_parse(row.data, row.len, &c->rec, &err);
	if (r < 0) {
		db_point(c, "db.data.json", r == -ENOMEM ? BV_INCONCLUSIVE : BV_NOT_OK,
			 "vms.data is strict JSON (one object, no duplicate keys, no trailing bytes)",
			 "a strict JSON object", err.msg,
			 "a record smolvm did not write: recreate the machine and find what wrote this row");
		c->blocked_by = "db.data.json";
		goto out;
	}
	c->have_record = true;
	db_point(c, "db.data.json", BV_OK, "vms.data is strict JSON", NULL, NULL, NULL);
out:
	statedb_row_free(&row);
}

static void check_name(struct db_ctx *c)
{
	const char *desc = "the record's name field equals the row's name";
	if (db_blocked(c, "db.record.name", desc))
		return;
	const cJSON *n = record_get(&c->rec, "name");
	if (cJSON_IsString(n) && strcmp(n->valuestring, c->o->name) == 0) {
		db_point(c, "db.record.name", BV_OK, desc, NULL, NULL, NULL);
		return;
	}
	db_point(c, "db.record.name", BV_NOT_OK, desc, c->o->name,
		 cJSON_IsString(n) ? n->valuestring : "missing or not a string",
		 "the row was copied or edited by hand: smolvm would act on another machine's identity");
}

static void allowlist_finding(struct db_ctx *c, const cJSON *list, const char *actual_err)
{
	const char *desc = "allowed_cidrs is exactly the expected allowlist";
	_cleanup_free_ char *want = cidr_set_text(c->o->expect);
	_cleanup_free_ char *have = record_list_text(list);
	struct bv_point *p = db_point(c, "db.allowed_cidrs.exact", BV_NOT_OK, desc, want,
				      have ? have : "?", NULL);
	if (actual_err)
		point_field(p, "evidence", actual_err);
	point_field(p, "remediation",
		    list && cJSON_IsArray(list)
			    ? "the row allows more or other destinations than expected: run bottle-launch enforce NAME --allow CIDR while the machine is stopped, then restart it"
			    : "no allowlist: the machine has unrestricted egress (smolvm < 1.8.0 drops --allow-cidr with --from); run bottle-launch enforce NAME --allow CIDR before start");
}

static void check_allowlist(struct db_ctx *c)
{
	const char *desc = "allowed_cidrs is exactly the expected allowlist";
	if (db_blocked(c, "db.allowed_cidrs.exact", desc))
		return;
	const cJSON *list = record_get(&c->rec, "allowed_cidrs");
	struct bv_cidr_set have = { 0 }, missing = { 0 }, extra = { 0 };
	struct bv_error err = { 0 };
	int r = record_cidr_list(list, &have, &err);
	if (r == 0)
		r = cidr_set_diff(&have, c->o->expect, &missing, &extra, &err);
	if (r == -ENOMEM) {
		db_point(c, "db.allowed_cidrs.exact", BV_INCONCLUSIVE, desc, NULL, err.msg, NULL);
	} else if (r < 0) {
		allowlist_finding(c, list, err.msg);
	} else if (missing.len || extra.len) {
		_cleanup_free_ char *m = cidr_set_text(&missing);
		_cleanup_free_ char *x = cidr_set_text(&extra);
		char ev[512];
		snprintf(ev, sizeof ev, "missing %s; extra or wider %s", m ? m : "?", x ? x : "?");
		allowlist_finding(c, list, ev);
	} else {
		_cleanup_free_ char *want = cidr_set_text(c->o->expect);
		report_addf(c->r, "db.allowed_cidrs.exact", BV_OK, "allowed_cidrs is exactly %s",
			    want ? want : "the expected set");
	}
	cidr_set_free(&have);
	cidr_set_free(&missing);
	cidr_set_free(&extra);
}

static void check_network(struct db_ctx *c)
{
	const char *desc = "network is on (the allowed destination is reachable at all)";
	if (db_blocked(c, "db.network.on", desc))
		return;
	const cJSON *n = record_get(&c->rec, "network");
	if (cJSON_IsTrue(n)) {
		db_point(c, "db.network.on", BV_OK, desc, NULL, NULL, NULL);
		return;
	}
	db_point(c, "db.network.on", BV_NOT_OK, desc, "true",
		 n ? (cJSON_IsFalse(n) ? "false" : "not a boolean") : "absent",
		 "create the machine with --net (with --from, --allow-cidr does not imply --net before smolvm 1.8.0)");
}

/* Which backend enforces the row depends on the version (plan_launch_network,
 * src/network/launch.rs @v0.8.0 / @v1.1.3). */
static void backend_verdict(struct db_ctx *c, const char *backend, enum bv_status *st,
			    const char **actual, const char **fix)
{
	const struct bv_version *v = c->o->version;
	bool virtio = backend && strcmp(backend, "virtio-net") == 0;
	bool tsi = backend && strcmp(backend, "tsi") == 0;
	*actual = backend ? backend : "absent (smolvm chooses)";
	if (backend && !virtio && !tsi) {
		*st = BV_NOT_OK;
		*fix = "smolvm rejects this value and one such row breaks ls/stop/rm for every machine: recreate the machine";
	} else if (!v->known) {
		*st = BV_INCONCLUSIVE;
		*fix = "the enforcing backend depends on the smolvm version: put smolvm on PATH or pass --smolvm-version";
	} else if (tsi && version_policy_defaults_virtio(v)) {
		*st = BV_NOT_OK;
		*fix = "TSI does not enforce the allowlist (smolvm 1.1.3) and start refuses it with a policy: recreate without --net-backend tsi";
	} else if (!version_policy_defaults_virtio(v) && !(virtio && version_cmp(v, 1, 0, 2) >= 0)) {
		/* Upstream's own 1.1.3 commit says the TSI filter does not enforce the
		 * allowlist: the row cannot prove confinement here, only egress probing can. */
		*st = BV_INCONCLUSIVE;
		*fix = "this smolvm enforces the policy with libkrun's TSI filter, which upstream says does not enforce the allowlist: upgrade to >= 1.8.0, and prove egress with bottle-verify egress";
	} else {
		*st = BV_OK;
		*fix = NULL;
	}
}

static void check_backend(struct db_ctx *c)
{
	const char *desc = "network_backend enforces the allowlist on this smolvm version";
	if (db_blocked(c, "db.network_backend", desc))
		return;
	const cJSON *b = record_get(&c->rec, "network_backend");
	if (cJSON_IsNull(b))
		b = NULL; /* serde reads null as None: the same as absent */
	const char *backend = cJSON_IsString(b) ? b->valuestring : NULL;
	enum bv_status st;
	const char *actual, *fix;
	if (b && !cJSON_IsString(b)) {
		db_point(c, "db.network_backend", BV_NOT_OK, desc, "absent or \"virtio-net\"",
			 "not a string", "recreate the machine: smolvm cannot read this row");
		return;
	}
	backend_verdict(c, backend, &st, &actual, &fix);
	struct bv_point *p = db_point(c, "db.network_backend", st, desc, "absent or \"virtio-net\"",
				      actual, fix);
	(void)p;
}

static bool hosts_expected(const struct db_ctx *c, const cJSON *list)
{
	const char *const *want = c->o->expect_hosts;
	size_t n_want = 0, n_have = 0;
	const cJSON *it;
	for (; want && want[n_want]; n_want++) {
		bool found = false;
		cJSON_ArrayForEach(it, list)
			found = found || (cJSON_IsString(it) && strcmp(it->valuestring, want[n_want]) == 0);
		if (!found)
			return false;
	}
	cJSON_ArrayForEach(it, list) {
		bool found = false;
		for (size_t i = 0; i < n_want; i++)
			found = found || (cJSON_IsString(it) && strcmp(it->valuestring, want[i]) == 0);
		if (!found)
			return false;
		n_have++;
	}
	return n_have > 0;
}

static void check_dns_filter_hosts(struct db_ctx *c)
{
	const char *desc = "dns_filter_hosts matches the expected host-name policy";
	if (db_blocked(c, "db.dns_filter_hosts", desc))
		return;
	const cJSON *h = record_get(&c->rec, "dns_filter_hosts");
	bool want_none = !c->o->expect_hosts || !c->o->expect_hosts[0];
	_cleanup_free_ char *have = record_list_text(h);
	if ((!h || cJSON_IsNull(h)) && want_none) {
		db_point(c, "db.dns_filter_hosts", BV_OK,
			 "dns_filter_hosts is unset (CIDR-only policy; DNS itself is judged by egress)",
			 NULL, NULL, NULL);
	} else if (cJSON_IsArray(h) && cJSON_GetArraySize(h) == 0) {
		db_point(c, "db.dns_filter_hosts", BV_NOT_OK, desc, want_none ? "null" : "the --expect-host list",
			 "[] (an active filter with no names: the CLI cannot produce this; behaviour untested upstream)",
			 "recreate the machine; do not edit dns_filter_hosts by hand");
	} else if (cJSON_IsArray(h) && !want_none && hosts_expected(c, h)) {
		db_point(c, "db.dns_filter_hosts", BV_OK, desc, NULL, NULL, NULL);
	} else {
		db_point(c, "db.dns_filter_hosts", BV_NOT_OK, desc,
			 want_none ? "null (no --allow-host names)" : "exactly the --expect-host names",
			 have ? have : "?",
			 "every IP these names resolve to is allowed at run time, beyond allowed_cidrs: recreate without --allow-host, or declare the names with --expect-host");
	}
	if (version_has_dns_filter_hosts(c->o->version) == false && c->o->version->known && h)
		report_note(c->r, "smolvm %s predates dns_filter_hosts (0.5.0): it ignores and drops the field",
			    c->version_text);
}

/* On a guarded bottle the gateway's upstream must be the guard: any other `dns` (or none:
 * smolvm's default 1.1.1.1) forwards every guest query beyond it. */
static void check_dns_guard(struct db_ctx *c)
{
	const char *desc = "dns names the bottle's DNS guard";
	if (!c->o->dns_guard || db_blocked(c, "db.dns.guard", desc))
		return;
	const cJSON *d = record_get(&c->rec, "dns");
	const char *have = cJSON_IsString(d) ? d->valuestring : NULL;
	char want[96];
	snprintf(want, sizeof want, "%s (--dns-guard)", c->o->dns_guard);
	if (c->o->version->known && !version_has_dns_flag(c->o->version)) {
		db_point(c, "db.dns.guard", BV_NOT_OK, desc, want, "this smolvm has no --dns (< 1.2.5)",
			 "upgrade smolvm to >= 1.2.5, or run without a DNS guard (the DNS carve-out stays open)");
	} else if (have && strcmp(have, c->o->dns_guard) == 0) {
		db_point(c, "db.dns.guard", BV_OK, desc, NULL, NULL, NULL);
	} else {
		db_point(c, "db.dns.guard", BV_NOT_OK, desc, want, have ? have : "unset (the gateway forwards to 1.1.1.1)",
			 "recreate the machine with --dns GUARD (bottle-launch up does); a running machine keeps the dns it started with");
	}
}

static void note_version_facts(struct db_ctx *c)
{
	const struct bv_version *v = c->o->version;
	if (!v->known) {
		report_note(c->r, "smolvm version unknown: version-dependent checks are inconclusive");
		return;
	}
	if (version_loopback_stays_in_guest(v))
		report_note(c->r, "smolvm %s: a 127/8 allowlist entry is the guest's own loopback; the host is reached only through the gateway 100.96.0.1",
			    c->version_text);
	if (version_policy_defaults_virtio(v))
		report_note(c->r, "smolvm %s: UDP/53 to any address is answered by the gateway whatever allowed_cidrs says (run bottle-verify egress)",
			    c->version_text);
}

/* Fields that change no verdict here but that a reader of the report should see. */
static void note_row_facts(struct db_ctx *c)
{
	const cJSON *v;
	if (!c->have_record)
		return;
	if (cJSON_IsString(v = record_get(&c->rec, "dns")))
		report_note(c->r, "dns %s: the gateway forwards guest UDP/53 to this upstream resolver", v->valuestring);
	if (cJSON_IsString(v = record_get(&c->rec, "image")))
		report_note(c->r, "image %s: its in-guest pull obeys allowed_cidrs, so a /32 can break a registry image's first boot", v->valuestring);
	if (cJSON_IsTrue(record_get(&c->rec, "ephemeral")))
		report_note(c->r, "ephemeral machine: every smolvm machine command may sweep this row");
	if (cJSON_IsTrue(record_get(&c->rec, "forkable")) || cJSON_IsTrue(record_get(&c->rec, "forkpoint_held")) ||
	    cJSON_IsString(record_get(&c->rec, "golden")))
		report_note(c->r, "fork base (forkable/golden/forkpoint_held): machines forked from it start from its state");
}

int check_db(struct bv_report *r, const struct db_check_opts *o)
{
	struct db_ctx c = { .r = r, .o = o };
	version_format(o->version, c.version_text, sizeof c.version_text);
	note_version_facts(&c);
	check_open_and_read(&c);
	check_name(&c);
	check_allowlist(&c);
	check_network(&c);
	check_backend(&c);
	check_dns_filter_hosts(&c);
	check_dns_guard(&c);
	db_check_bypass(&c);
	db_check_known_keys(&c);
	db_check_env(&c);
	db_check_vmm(&c);
	db_check_agent_config(&c);
	note_row_facts(&c);
	record_free(&c.rec);
	return 0;
}
