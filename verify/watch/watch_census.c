/* watch_census.c - see watch.h: the VMM's sockets, pass by pass. A socket is judged when
 * it is first seen (a leak is printed then, not when it closes), remembered while it
 * lives, and forgotten once a pass no longer sees it: memory follows what the VMM holds
 * now, and the first WATCH_LEAKS_KEPT leaks keep their lifetimes for the summary. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>

#include "core/cidr.h"
#include "watch/watch.h"

static const char gateway4[] = "100.96.0.1", gateway6[] = "fd53:4d00::1";

static bool addr_is(const unsigned char *a, size_t n, const char *text)
{
	unsigned char b[16];
	return inet_pton(n == 4 ? AF_INET : AF_INET6, text, b) == 1 && memcmp(a, b, n) == 0;
}

/* Host loopback, 127.0.0.1 or ::1 exactly, is what the gateway address becomes on the host
 * (tcp_relay.rs host_connect_addr @v1.7.2): explained only when the allowlist holds the
 * gateway. Any other 127.x is no gateway's doing. */
static bool gateway_allowed(const struct watch *w, bool v6)
{
	struct bv_cidr g;
	struct bv_error ignored = { 0 };
	if (cidr_parse(v6 ? gateway6 : gateway4, &g, &ignored) < 0)
		return false;
	for (size_t i = 0; w->o->allowed && i < w->o->allowed->len; i++)
		if (cidr_contains(&w->o->allowed->items[i], &g))
			return true;
	return false;
}

enum judged { SOCK_ALLOWED, SOCK_CARVEOUT, SOCK_GUARD, SOCK_LEAK };

static enum judged judge(const struct watch *w, const struct census_entry *e)
{
	const unsigned char *a;
	size_t n = census_entry_remote(e, &a);
	static const unsigned char lo4[4] = { 127, 0, 0, 1 }, lo6[16] = { [15] = 1 };
	if (census_entry_remote_in(e, w->o->allowed))
		return SOCK_ALLOWED;
	bool loopback = n == 4 ? memcmp(a, lo4, 4) == 0 : memcmp(a, lo6, 16) == 0;
	if (loopback && w->o->version && version_gateway_dials_host_loopback(w->o->version) &&
	    gateway_allowed(w, n == 16))
		return SOCK_ALLOWED;
	if (e->remote.port == 53 && w->o->dns_guard && addr_is(a, n, w->o->dns_guard))
		return SOCK_GUARD;
	if (e->remote.port == 53 && !w->o->dns_guard && addr_is(a, n, w->upstream))
		return SOCK_CARVEOUT;
	return SOCK_LEAK;
}

static void leak_point(struct watch *w, const struct census_entry *e, long now)
{
	char tuple[200], utc[32];
	census_entry_format(e, tuple, sizeof tuple);
	watch_utc(utc, sizeof utc);
	struct bv_report *r = watch_report(w);
	struct bv_point *p = report_add(r, "watch.leak", BV_NOT_OK,
					"a VMM socket to a destination the allowlist does not explain");
	point_field(p, "expected", "every VMM socket to the allowlist, the DNS guard or the DNS upstream");
	point_field(p, "actual", tuple);
	point_fieldf(p, "first_seen", "%s (%ld ms into the watch; opened at most %d ms before)", utc, now,
		     w->o->interval_ms);
	point_field(p, "remediation", w->o->stop_on_finding
				      ? "the watch stops the machine (--stop-on-finding); check the backend and the allowlist (bottle-verify db) before starting it again"
				      : "stop the machine (smolvm machine stop --name NAME), check the backend and the allowlist (bottle-verify db)");
	watch_flush(w, r);
}

static void leak_seen(struct watch *w, const struct census_entry *e, long now)
{
	if (w->leaks_total++ == 0)
		w->first_leak_ms = e->first_seen_ms;
	if (w->n_leaks < WATCH_LEAKS_KEPT)
		w->leaks[w->n_leaks++] = (struct watch_leak){ .e = *e };
	watch_finding(w, now); /* the stop first: printing may block on a stalled reader */
	if (w->leak_points < WATCH_LEAK_POINTS_MAX) {
		w->leak_points++;
		leak_point(w, e, now);
	}
}

static bool same_socket(const struct census_entry *a, const struct census_entry *b)
{
	return a->inode == b->inode && a->proto == b->proto && a->remote.port == b->remote.port &&
	       memcmp(a->remote.addr, b->remote.addr, sizeof a->remote.addr) == 0;
}

/* A socket gone: a remembered leak gets its lifetime, told as a comment. */
static void socket_gone(const struct census_entry *e, void *ctx)
{
	struct watch *w = ctx;
	for (size_t i = 0; i < w->n_leaks; i++) {
		struct watch_leak *l = &w->leaks[i];
		if (l->closed || !same_socket(&l->e, e))
			continue;
		l->e = *e;
		l->closed = true;
		struct bv_report *r = watch_report(w);
		report_note(r, "leak %zu closed: lived %ld-%ld ms (seen in %lu passes)", i + 1,
			    e->last_seen_ms - e->first_seen_ms, e->last_seen_ms - e->first_seen_ms + w->o->interval_ms,
			    e->samples);
		watch_flush(w, r);
	}
}

static void pass_failed(struct watch *w, const char *why)
{
	w->pass_errors++;
	if (w->pass_error_open)
		return;
	w->pass_error_open = true;
	struct bv_report *r = watch_report(w);
	struct bv_point *p = report_add(r, "watch.census.pass", BV_INCONCLUSIVE, "a census pass over the VMM's sockets ran");
	point_field(p, "actual", why);
	point_field(p, "remediation", "the next pass tries again (a transient netlink or /proc error passes); if passes keep failing, "
				      "run the watch as the VMM's user or root, in the VMM's network namespace");
	watch_flush(w, r);
}

static void overflow_seen(struct watch *w, long now)
{
	w->census.overflowed = false;
	if (w->overflow_open)
		return;
	w->overflow_open = true;
	w->overflows++;
	watch_finding(w, now);
	struct bv_report *r = watch_report(w);
	struct bv_point *p = report_add(r, "watch.census.overflow", BV_NOT_OK,
					"the census could count every VMM socket");
	point_fieldf(p, "actual", "over %zu sockets at once (or %d descriptors): the ones past the cap went unjudged",
		     (size_t)CENSUS_MAX_ENTRIES, CENSUS_MAX_FDS);
	point_field(p, "remediation", "a VMM holding this many sockets is itself a finding: stop the machine and find what the agent opened");
	watch_flush(w, r);
}

void watch_census_pass(struct watch *w, long now)
{
	struct bv_error err = { 0 };
	if (census_sample(&w->census, now, &err) < 0) {
		pass_failed(w, err.msg);
		return;
	}
	w->pass_error_open = false;
	if (w->census.vmm_gone || w->census.vmm_replaced)
		return;
	/* every entry is judged once, after the first pass that completed with it: one first
	 * seen by a pass that failed half-way is judged by the next that succeeds */
	for (size_t i = 0; i < census_count(&w->census); i++) {
		struct census_entry *e = census_entry_at(&w->census, i);
		if (e->judged)
			continue;
		e->judged = true;
		if (!census_entry_is_egress(e))
			continue;
		switch (judge(w, e)) {
		case SOCK_ALLOWED: break;
		case SOCK_CARVEOUT: w->carveout++; break;
		case SOCK_GUARD: w->guarded_dns++; break;
		case SOCK_LEAK: leak_seen(w, e, now); break;
		}
	}
	census_forget_unseen(&w->census, now, socket_gone, w);
	if (w->census.overflowed)
		overflow_seen(w, now);
	else
		w->overflow_open = false;
}

static void leaks_evidence(const struct watch *w, char *buf, size_t cap)
{
	size_t used = 0;
	buf[0] = '\0';
	for (size_t i = 0; i < w->n_leaks && used + 1 < cap; i++) {
		const struct watch_leak *l = &w->leaks[i];
		char tuple[200];
		census_entry_format(&l->e, tuple, sizeof tuple);
		int n = snprintf(buf + used, cap - used, "%s%s (%s)", used ? "; " : "", tuple,
				 l->closed ? "closed" : "still open at the end");
		used += n > 0 ? (size_t)n : 0;
	}
	if (w->leaks_total > w->n_leaks && used + 1 < cap)
		snprintf(buf + used, cap - used, "; and %zu more not kept", w->leaks_total - w->n_leaks);
}

void watch_census_summary(struct watch *w, struct bv_report *r)
{
	enum bv_status st = w->leaks_total || w->overflows ? BV_NOT_OK : w->pass_errors ? BV_INCONCLUSIVE : BV_OK;
	struct bv_point *p = report_addf(r, "watch.census", st,
					 "every VMM socket went to the allowlist (%lu passes, %zu DNS queries to the %s)",
					 w->census.passes, w->o->dns_guard ? w->guarded_dns : w->carveout,
					 w->o->dns_guard ? "guard" : "upstream");
	if (st == BV_OK)
		return;
	char ev[4096];
	leaks_evidence(w, ev, sizeof ev);
	point_field(p, "expected", "no VMM socket outside the allowlist, the DNS guard or the DNS upstream");
	point_fieldf(p, "actual", "%zu leaking socket(s), %zu census overflow(s), %zu failed pass(es)", w->leaks_total,
		     w->overflows, w->pass_errors);
	if (ev[0])
		point_field(p, "evidence", ev);
	point_field(p, "remediation", st == BV_NOT_OK ? "the bottle leaked while it ran: keep it stopped, check the backend and the allowlist"
						    : "run the watch as the VMM's user or root, in the VMM's network namespace");
}
