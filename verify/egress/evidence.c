/* evidence.c - see evidence.h
 * Addresses are compared as smolvm sees them: an IPv4 destination may show in the census
 * as a dual-stack socket's ::ffff:a.b.c.d; the gateway (100.96.0.1, fd53:4d00::1) is
 * dialled as host loopback on the same port (tcp_relay.rs @v1.7.2), and on TSI a guest's
 * 127.x is the host's 127.x. Nothing here reads what the guest reported. */
#include "egress/evidence.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>

#include "core/proc.h"
#include "smolvm/record.h"

static const unsigned char v4_mapped[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };

/* d's literal address as a sockaddr with its port; false for a name ("resolv"). */
static bool dest_sockaddr(const struct policy_dest *d, struct sockaddr_storage *ss)
{
	struct sockaddr_in *v4 = (struct sockaddr_in *)ss;
	struct sockaddr_in6 *v6 = (struct sockaddr_in6 *)ss;
	memset(ss, 0, sizeof *ss);
	if (inet_pton(AF_INET, d->addr, &v4->sin_addr) == 1) {
		v4->sin_family = AF_INET;
		v4->sin_port = htons((unsigned short)d->port);
		return true;
	}
	if (inet_pton(AF_INET6, d->addr, &v6->sin6_addr) == 1) {
		v6->sin6_family = AF_INET6;
		v6->sin6_port = htons((unsigned short)d->port);
		return true;
	}
	return false;
}

static bool is_gateway(const char *addr)
{
	return strcmp(addr, "100.96.0.1") == 0 || strcmp(addr, "fd53:4d00::1") == 0;
}

bool evidence_dns_relayed(const struct evidence *ev, const struct policy_dest *d)
{
	return !ev->tsi && (d->kind == PROBE_DNS_UDP || (d->kind == PROBE_DNS_TCP && is_gateway(d->addr)));
}

static bool tcp_kind(enum probe_kind k)
{
	return k == PROBE_TCP || k == PROBE_DNS_TCP || k == PROBE_HTTP || k == PROBE_GIT;
}

/* The remote address of e as 4 bytes (IPv4, mapped included) or 16; its length. */
static bool remote_is_loopback(const struct census_entry *e)
{
	const unsigned char *a;
	size_t n = census_entry_remote(e, &a);
	static const unsigned char v6_lo[16] = { [15] = 1 };
	return n == 4 ? a[0] == 127 : memcmp(a, v6_lo, 16) == 0;
}

static bool remote_is(const struct census_entry *e, const struct sockaddr_storage *ss)
{
	const unsigned char *a;
	size_t n = census_entry_remote(e, &a);
	if (ss->ss_family == AF_INET) {
		const struct sockaddr_in *v4 = (const struct sockaddr_in *)ss;
		return n == 4 && memcmp(a, &v4->sin_addr, 4) == 0 && e->remote.port == ntohs(v4->sin_port);
	}
	const struct sockaddr_in6 *v6 = (const struct sockaddr_in6 *)ss;
	const unsigned char *b = (const unsigned char *)&v6->sin6_addr;
	bool same = n == 16 ? memcmp(a, b, 16) == 0 : memcmp(b, v4_mapped, 12) == 0 && memcmp(a, b + 12, 4) == 0;
	return same && e->remote.port == ntohs(v6->sin6_port);
}

static void begin_denials(struct evidence *ev, const struct evidence_opts *o)
{
	struct bv_error err = { 0 };
	if (!ev->denial_log) {
		snprintf(ev->denials_why, sizeof ev->denials_why, "%s keeps no record of refusals",
			 ev->tsi ? "TSI (smolvm < 1.1.3)" : "this smolvm (< 1.8.1)");
		return;
	}
	if (denials_mark(o->data_dir, &ev->mark, &err) < 0) {
		snprintf(ev->denials_why, sizeof ev->denials_why, "cannot mark the denial log: %s", err.msg);
		denials_mark_release(&ev->mark);
		return;
	}
	ev->marked = true;
}

static void begin_census(struct evidence *ev, const char *data_dir)
{
	char path[4096];
	long long pid = 0;
	unsigned long long start = 0;
	bool has_start = false;
	struct bv_error err = { 0 };
	snprintf(path, sizeof path, "%s/agent.pid", data_dir);
	int r = proc_read_pidfile(path, &pid, &has_start, &start, &err);
	if (r == 1 && !has_start)
		r = bv_error_set(&err, EINVAL, "%s names no start time: the VMM cannot be told from a reused pid", path);
	else if (r == 0)
		r = bv_error_set(&err, ENOENT, "%s names no VMM: the machine is not running", path);
	if (r > 0)
		r = census_open(&ev->census, (pid_t)pid, start, &err);
	if (r >= 0)
		r = census_start(&ev->census, CENSUS_INTERVAL_MS, &err);
	if (r < 0) {
		snprintf(ev->census_why, sizeof ev->census_why, "no census of the VMM's sockets: %s", err.msg);
		census_free(&ev->census);
		return;
	}
	ev->census_started = true;
}

static void begin_guard(struct evidence *ev, const struct evidence_opts *o)
{
	struct bv_error err = { 0 };
	if (!o->guard_addr || !o->guard_log)
		return;
	ev->guarded = true;
	snprintf(ev->guard_addr, sizeof ev->guard_addr, "%s", o->guard_addr);
	snprintf(ev->guard_log, sizeof ev->guard_log, "%s", o->guard_log);
	snprintf(ev->guard_suffix, sizeof ev->guard_suffix, ".%s.exfil.test", o->run ? o->run : "");
	ev->gnames.suffix = ev->glive.suffix = ev->guard_suffix;
	if (guardlog_mark(o->guard_log, &ev->gmark, &err) < 0)
		snprintf(ev->guard_why, sizeof ev->guard_why, "cannot mark the DNS guard's record: %s", err.msg);
	else
		ev->gmarked = true;
}

/* The upstream the VMM was started with: agent.config.json's resources.dns (smolvm's host
 * side writes it at start, RunningVmConfig in src/agent/launcher.rs @v1.9.3; --dns from
 * 1.2.5). Unset or unreadable: the policy's dns_upstream stands (a socket to the real
 * upstream then shows as a leak: loud, never quiet). */
static void begin_upstream(struct evidence *ev, const struct evidence_opts *o)
{
	char path[4096];
	struct vm_record cfg = { 0 };
	struct bv_error err = { 0 };
	if (!o->version || !version_has_dns_flag(o->version) || !o->data_dir)
		return;
	snprintf(path, sizeof path, "%s/agent.config.json", o->data_dir);
	if (record_read_file(path, &cfg, &err) == 0) {
		const cJSON *dns = cJSON_GetObjectItemCaseSensitive(record_get(&cfg, "resources"), "dns");
		struct in_addr a;
		if (cJSON_IsString(dns) && inet_pton(AF_INET, dns->valuestring, &a) == 1)
			snprintf(ev->launched_dns, sizeof ev->launched_dns, "%s", dns->valuestring);
	}
	record_free(&cfg);
}

const char *evidence_upstream(const struct evidence *ev, const char *fallback)
{
	return ev->launched_dns[0] ? ev->launched_dns : fallback;
}

void evidence_begin(struct evidence *ev, const struct evidence_opts *o)
{
	memset(ev, 0, sizeof *ev);
	ev->mark.fd = ev->mark.rot_fd = -1;
	ev->tsi = o->version && o->version->known && !version_policy_defaults_virtio(o->version);
	bool relays_tcp = !ev->tsi && (!o->version || !o->version->known || version_gateway_serves_dns_tcp(o->version));
	ev->denial_log = o->version && version_has_denial_log(o->version) && !ev->tsi;
	begin_denials(ev, o);
	begin_census(ev, o->data_dir);
	begin_guard(ev, o);
	begin_upstream(ev, o);
	if (relays_tcp)
		snprintf(ev->relay_upstream, sizeof ev->relay_upstream, "%s",
			 evidence_upstream(ev, o->dns_upstream ? o->dns_upstream : ""));
	snprintf(ev->data_dir, sizeof ev->data_dir, "%s", o->data_dir);
}

void evidence_end(struct evidence *ev)
{
	struct bv_error err = { 0 };
	if (ev->census_started) {
		int r = census_stop(&ev->census, &err);
		if (r < 0)
			snprintf(ev->census_why, sizeof ev->census_why, "the census failed: %s", err.msg);
		else if (ev->census.overflowed)
			snprintf(ev->census_why, sizeof ev->census_why, "the census hit its limits: some sockets went uncounted");
		else if (ev->census.vmm_gone || ev->census.vmm_replaced)
			snprintf(ev->census_why, sizeof ev->census_why, "the VMM %s during the run",
				 ev->census.vmm_gone ? "exited" : "was replaced");
		else
			ev->census_ok = true;
	}
	if (ev->gmarked) {
		if (guardlog_read_since(ev->guard_log, &ev->gmark, &ev->gnames, &err) < 0)
			snprintf(ev->guard_why, sizeof ev->guard_why, "the DNS guard's record cannot be read whole: %s", err.msg);
		else
			ev->guard_ok = true;
	}
	if (ev->marked) {
		if (denials_read_since(ev->data_dir, &ev->mark, &ev->set, &err) < 0)
			snprintf(ev->denials_why, sizeof ev->denials_why, "the denial log cannot be read whole: %s", err.msg);
		else if (ev->set.truncated)
			snprintf(ev->denials_why, sizeof ev->denials_why, "the denial log held more refusals than are kept");
		else
			ev->denials_ok = true;
	}
}

void evidence_free(struct evidence *ev)
{
	if (ev->marked)
		denials_mark_release(&ev->mark);
	denial_set_free(&ev->set);
	denial_set_free(&ev->live);
	guardlog_names_free(&ev->gnames);
	guardlog_names_free(&ev->glive);
	census_free(&ev->census);
	ev->marked = ev->census_started = false;
}

/* The record d's refusal is logged under: "connect" or "sendto" and the address the gateway
 * sees (a Linux guest's connect to ::ffff:a.b.c.d leaves as IPv4: the gateway logs
 * a.b.c.d). False for what is never logged (UDP/53). */
static bool refusal_key(const struct policy_dest *d, enum denial_op *op, struct sockaddr_storage *ss)
{
	if (d->kind == PROBE_DNS_UDP || d->kind == PROBE_ICMP || !dest_sockaddr(d, ss))
		return false;
	*op = tcp_kind(d->kind) ? DENIAL_CONNECT : DENIAL_SENDTO;
	const struct sockaddr_in6 *v6 = (const struct sockaddr_in6 *)ss;
	if (ss->ss_family != AF_INET6 || memcmp(&v6->sin6_addr, v4_mapped, 12) != 0)
		return true;
	struct sockaddr_in v4 = { .sin_family = AF_INET, .sin_port = v6->sin6_port };
	memcpy(&v4.sin_addr, (const unsigned char *)&v6->sin6_addr + 12, 4);
	memset(ss, 0, sizeof *ss);
	memcpy(ss, &v4, sizeof v4);
	return true;
}

bool evidence_same_record(const struct policy_dest *a, const struct policy_dest *b)
{
	enum denial_op oa, ob;
	struct sockaddr_storage sa, sb;
	if (!refusal_key(a, &oa, &sa) || !refusal_key(b, &ob, &sb) || oa != ob || sa.ss_family != sb.ss_family)
		return false;
	size_t len = sa.ss_family == AF_INET ? sizeof(struct sockaddr_in) : sizeof(struct sockaddr_in6);
	return memcmp(&sa, &sb, len) == 0;
}

/* How often the gateway logged refusing d's destination (0: never, or not logged). */
static uint32_t refusals_in(const struct denial_set *set, const struct policy_dest *d)
{
	enum denial_op op;
	struct sockaddr_storage ss;
	if (!refusal_key(d, &op, &ss))
		return 0;
	/* Only the form the gateway judged: a "[::ffff:a.b.c.d]" line is an IPv6 flow smolvm
	 * decided as IPv6 (a v4 prefix never holds it: egress.rs Cidr::contains @v1.9.3), so a
	 * root guest's raw IPv6 SYN there proves nothing of a.b.c.d. */
	const struct denial_entry *e = denials_find(set, op, (const struct sockaddr *)&ss);
	return e ? e->count : 0;
}

/* ICMP echo: smolvm drops a denied echo and records nothing, but decides it by the very
 * check that refuses TCP and UDP, on the address alone (should_relay_icmp is
 * egress.allows: crates/smolvm-network/src/icmp_relay.rs @v1.9.3). So refusals of any
 * port at d's address during the run say the gateway denies the address: as many as the
 * echo had tries (the probe's other tries there went out with them). */
static uint32_t address_refusals_in(const struct denial_set *set, const struct policy_dest *d)
{
	struct policy_dest any = *d;
	enum denial_op op;
	struct sockaddr_storage ss;
	any.kind = PROBE_TCP, any.port = 1;
	uint64_t n = 0;
	if (!refusal_key(&any, &op, &ss))
		return 0;
	size_t alen = ss.ss_family == AF_INET ? 4 : 16;
	const unsigned char *want = ss.ss_family == AF_INET ? (const unsigned char *)&((struct sockaddr_in *)&ss)->sin_addr
							   : (const unsigned char *)&((struct sockaddr_in6 *)&ss)->sin6_addr;
	for (size_t i = 0; i < set->len; i++) {
		const struct denial *r = &set->items[i].d;
		if (r->family == ss.ss_family && memcmp(r->addr, want, alen) == 0)
			n += set->items[i].count;
	}
	return n > UINT32_MAX ? UINT32_MAX : (uint32_t)n;
}

static bool refused_in(const struct denial_set *set, const struct policy_dest *d, unsigned need)
{
	uint32_t n = d->kind == PROBE_ICMP ? address_refusals_in(set, d) : refusals_in(set, d);
	return n > 0 && n >= need;
}

static bool census_ambiguous(const struct evidence *ev, const struct policy_dest *d);

/* A refusal on record does not deny d when the census saw a socket that may have been d
 * getting through: unproven, not denied. */
bool evidence_refused(const struct evidence *ev, const struct policy_dest *d, unsigned need)
{
	/* an echo's denial is an inference (address_refused_in): the census must have watched
	 * for a relayed echo the whole run */
	return ev->denials_ok && refused_in(&ev->set, d, need) && !census_ambiguous(ev, d) &&
	       (d->kind != PROBE_ICMP || ev->census_ok);
}

static void peek_guard(struct evidence *ev)
{
	struct bv_error err = { 0 };
	if (!ev->gmarked || ev->guard_peek_off)
		return;
	guardlog_names_free(&ev->glive);
	ev->glive_ok = guardlog_read_since(ev->guard_log, &ev->gmark, &ev->glive, &err) == 0;
	/* A guest flooding the guard with queries: read once, at the end (as the denials). */
	if (ev->glive.n_asked + ev->glive.n_forwarded + ev->glive.n_other > EVIDENCE_PEEK_MAX_LINES)
		ev->guard_peek_off = true, ev->glive_ok = false;
}

void evidence_peek(struct evidence *ev)
{
	struct bv_error err = { 0 };
	struct denial_set live = { 0 };
	peek_guard(ev);
	if (!ev->marked || ev->peek_off)
		return;
	int r = denials_read_since(ev->data_dir, &ev->mark, &live, &err);
	/* A record that grows fast (a guest can make it: every refusal is a line) is read
	 * once, at the end; until then nothing is decided early from it. */
	bool big = live.n_denials + live.n_ignored + live.n_malformed > EVIDENCE_PEEK_MAX_LINES;
	if (r == 0 && !live.truncated && !big) {
		denial_set_free(&ev->live);
		ev->live = live;
		ev->live_ok = true;
		return;
	}
	denial_set_free(&live);
	ev->peek_off = big;
}

bool evidence_contained(const struct evidence *ev, const char *qname)
{
	return ev->guarded && ev->guard_ok && guardlog_asked(&ev->gnames, qname) &&
	       !guardlog_forwarded(&ev->gnames, qname);
}

bool evidence_contained_so_far(const struct evidence *ev, const char *qname)
{
	return ev->guarded && ev->glive_ok && guardlog_asked(&ev->glive, qname) &&
	       !guardlog_forwarded(&ev->glive, qname);
}

static bool census_blind(const struct evidence *ev, const struct policy_dest *d);
static bool census_ambiguous_so_far(struct evidence *ev, const struct policy_dest *d);

bool evidence_refused_so_far(struct evidence *ev, const struct policy_dest *d, unsigned need)
{
	return ev->live_ok && refused_in(&ev->live, d, need) && !census_ambiguous_so_far(ev, d);
}

/* Which VMM socket would carry d: its address and port, or host loopback at d's port. */
struct dest_match {
	struct sockaddr_storage ss;
	int proto;
	bool via_loopback;
	unsigned port;
};

static bool dest_match_of(const struct evidence *ev, const struct policy_dest *d, struct dest_match *m)
{
	if (!dest_sockaddr(d, &m->ss))
		return false;
	m->proto = tcp_kind(d->kind) ? IPPROTO_TCP : d->kind == PROBE_ICMP ? IPPROTO_ICMP : IPPROTO_UDP;
	m->port = d->port;
	/* Port 53 at the gateway is its own DNS (UDP always, TCP from 1.2.5), relayed to its
	 * upstream: never host loopback's port 53 (where a DNS guard may listen). */
	m->via_loopback = (!ev->tsi && is_gateway(d->addr) && d->port != 53 && d->kind != PROBE_ICMP) ||
			  (ev->tsi && m->ss.ss_family == AF_INET &&
			   ((const unsigned char *)&((struct sockaddr_in *)&m->ss)->sin_addr)[0] == 127);
	return true;
}

static bool entry_carries(const struct census_entry *e, const void *key)
{
	const struct dest_match *m = key;
	if (!census_entry_is_egress(e) || e->proto != m->proto)
		return false;
	return remote_is(e, &m->ss) || (m->via_loopback && remote_is_loopback(e) && e->remote.port == m->port);
}

/* d is TCP to the upstream's port 53, where the gateway's own DNS relay also goes. */
static bool census_blind(const struct evidence *ev, const struct policy_dest *d)
{
	struct policy_dest up = { .kind = PROBE_TCP, .port = 53 };
	enum denial_op oa, ob;
	struct sockaddr_storage a, b;
	if (!ev->relay_upstream[0] || !tcp_kind(d->kind) || d->port != 53)
		return false;
	snprintf(up.addr, sizeof up.addr, "%s", ev->relay_upstream);
	/* refusal_key spells an IPv4-mapped address as IPv4, as the gateway sees it */
	if (!refusal_key(d, &oa, &a) || !refusal_key(&up, &ob, &b) || a.ss_family != b.ss_family)
		return false;
	return memcmp(&a, &b, a.ss_family == AF_INET ? sizeof(struct sockaddr_in) : sizeof(struct sockaddr_in6)) == 0;
}

/* A VMM socket went where d goes, though the census cannot say it was d (census_blind). */
static bool census_ambiguous(const struct evidence *ev, const struct policy_dest *d)
{
	struct dest_match m;
	if (!census_blind(ev, d) || !dest_match_of(ev, d, &m))
		return false;
	for (size_t i = 0; i < census_count(&ev->census); i++)
		if (entry_carries(census_entry(&ev->census, i), &m))
			return true;
	return false;
}

static bool census_ambiguous_so_far(struct evidence *ev, const struct policy_dest *d)
{
	struct dest_match m;
	return ev->census_started && census_blind(ev, d) && dest_match_of(ev, d, &m) &&
	       census_any(&ev->census, entry_carries, &m);
}

bool evidence_census_saw(const struct evidence *ev, const struct policy_dest *d)
{
	struct dest_match m;
	if (census_blind(ev, d) || !dest_match_of(ev, d, &m))
		return false;
	for (size_t i = 0; i < census_count(&ev->census); i++)
		if (entry_carries(census_entry(&ev->census, i), &m))
			return true;
	return false;
}

size_t evidence_census_peak(const struct evidence *ev, const struct policy_dest *d)
{
	struct dest_match m;
	size_t n = census_count(&ev->census), peak = 0;
	if (!ev->census_ok || !dest_match_of(ev, d, &m))
		return 0;
	/* The most alive at once is reached at some socket's first sight. */
	for (size_t i = 0; i < n; i++) {
		const struct census_entry *a = census_entry(&ev->census, i);
		size_t alive = 0;
		if (!entry_carries(a, &m))
			continue;
		for (size_t j = 0; j < n; j++) {
			const struct census_entry *b = census_entry(&ev->census, j);
			alive += entry_carries(b, &m) && b->first_seen_ms <= a->first_seen_ms &&
				 b->last_seen_ms >= a->first_seen_ms;
		}
		peak = alive > peak ? alive : peak;
	}
	return peak;
}

size_t evidence_census_alive_now(struct evidence *ev, const struct policy_dest *d)
{
	struct dest_match m;
	if (!ev->census_started || !dest_match_of(ev, d, &m))
		return 0;
	return census_alive_now(&ev->census, entry_carries, &m);
}

bool evidence_census_saw_so_far(struct evidence *ev, const struct policy_dest *d)
{
	struct dest_match m;
	return ev->census_started && !census_blind(ev, d) && dest_match_of(ev, d, &m) &&
	       census_any(&ev->census, entry_carries, &m);
}

/* Is e's remote inside the allowlist, or a control's very address and port? */
static bool explained(const struct census_entry *e, const struct policy *p, const struct bv_cidr_set *allowed)
{
	if (census_entry_remote_in(e, allowed))
		return true;
	for (size_t i = 0; i < p->n_dests; i++) {
		struct sockaddr_storage ss;
		if (p->dests[i].control && dest_sockaddr(&p->dests[i], &ss) && remote_is(e, &ss))
			return true;
	}
	return false;
}

static bool is_upstream(const struct census_entry *e, const char *upstream)
{
	struct policy_dest d = { .port = 53 };
	struct sockaddr_storage ss;
	snprintf(d.addr, sizeof d.addr, "%s", upstream ? upstream : "");
	return upstream && dest_sockaddr(&d, &ss) && remote_is(e, &ss);
}

size_t evidence_leaks(const struct evidence *ev, const struct policy *p,
		      const struct bv_cidr_set *allowed, const char *upstream, size_t *carveout,
		      char *buf, size_t cap)
{
	size_t leaks = 0;
	*carveout = 0;
	for (size_t i = 0; i < census_count(&ev->census); i++) {
		const struct census_entry *e = census_entry(&ev->census, i);
		if (!census_entry_is_egress(e) || explained(e, p, allowed))
			continue;
		if (ev->guarded && is_upstream(e, ev->guard_addr))
			continue; /* the guard: contained, not a carve-out */
		if (!ev->tsi && !ev->guarded && is_upstream(e, upstream)) {
			(*carveout)++;
			continue;
		}
		char line[160];
		census_entry_format(e, line, sizeof line);
		size_t used = strlen(buf);
		if (used < cap)
			snprintf(buf + used, cap - used, "%s%s", used ? "; " : "", line);
		leaks++;
	}
	return leaks;
}

bool evidence_guest_local(const struct evidence *ev, const struct policy_dest *d)
{
	struct sockaddr_storage ss;
	if (ev->tsi || !dest_sockaddr(d, &ss))
		return false;
	if (ss.ss_family == AF_INET)
		return ((const unsigned char *)&((struct sockaddr_in *)&ss)->sin_addr)[0] == 127;
	const unsigned char *a = (const unsigned char *)&((struct sockaddr_in6 *)&ss)->sin6_addr;
	static const unsigned char lo6[16] = { [15] = 1 };
	return memcmp(a, lo6, 16) == 0 || (memcmp(a, v4_mapped, 12) == 0 && a[12] == 127);
}

void evidence_words(const struct evidence *ev, const struct policy_dest *d, unsigned need, const char *qname,
		    char *buf, size_t cap)
{
	uint32_t n = !ev->denials_ok ? 0 : d->kind == PROBE_ICMP ? address_refusals_in(&ev->set, d) : refusals_in(&ev->set, d);
	char many[48];
	snprintf(many, sizeof many, n >= need ? "%srefused" : "%srefused-%u-of-%u", d->kind == PROBE_ICMP ? "address-" : "",
		 (unsigned)n, need);
	const char *record = !ev->denial_log ? "none-kept" : !ev->denials_ok ? "unreadable"
			     : n == 0 ? "no-refusal" : many;
	const char *census = evidence_census_saw(ev, d) ? "saw" : ev->census_ok ? "nothing" : "not-run";
	bool dns = d->kind == PROBE_DNS_UDP || d->kind == PROBE_DNS_TCP;
	const char *guard = !ev->guarded || !dns ? NULL : !ev->guard_ok ? "unreadable"
			    : guardlog_forwarded(&ev->gnames, qname) ? "forwarded"
			    : guardlog_asked(&ev->gnames, qname) ? "asked" : "not-asked";
	snprintf(buf, cap, "record=%s census=%s%s%s", record, census, guard ? " guard=" : "", guard ? guard : "");
}
