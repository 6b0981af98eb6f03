/* gate.c - see gate.h. One probe run carries every network attack: the policy's denied
 * classes, the proxy's requests (hostname, IP literal with a spoofed Host, the canary in
 * path, query, header and body), the canary push through the git gate, and host services
 * reached through the allowed address. Host-side entries are in host.c. */
#include "gate/gate.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <nettle/sha2.h>

#include "egress/check.h"
#include "egress/run.h"

/* Where each policy class lands in the catalogue. */
static const struct {
	const char *cls, *point;
} class_map[] = {
	{ "control", "gate.control" },
	{ "hostname", "gate.hostname.direct" },
	{ "public", "gate.ip-literal.direct" },
	{ "ip-literal", "gate.ip-literal.direct" },
	{ "ipv4-mapped", "gate.ip-literal.direct" },
	{ "service-ports", "gate.ip-literal.direct" },
	{ "icmp", "gate.ip-literal.direct" }, /* an echo to an address is a direct try too */
	{ "dns-direct", "gate.dns.direct" },
	{ "dns-carveout", "gate.dns.direct" },
	{ "public-resolvers", "gate.dns.direct" },
	{ "gateway-dns", "gate.dns.direct" },
	{ "guest-resolver-exfil", "gate.dns.canary-subdomain" },
	{ "host-loopback", "gate.host-loopback" },
	{ "host-loopback-gateway", "gate.host-loopback" },
	{ "host-loopback-spellings", "gate.host-loopback" },
	{ "gate-host-services", "gate.host-services" },
	{ "other-bottles", "gate.other-bottles" },
	{ "lan", "gate.lan-metadata" },
	{ "metadata", "gate.lan-metadata" },
	{ "cloud-metadata", "gate.lan-metadata" },
	{ "lan-metadata", "gate.lan-metadata" },
	{ "around-allowed", "gate.lan-metadata" }, /* the allowed address's neighbours */
	{ "ipv6", "gate.ipv6" },
};

/* A DNS lookup through the guest's own resolver carries the nonce in a subdomain: that
 * is the canary-in-a-subdomain attack, whatever class the policy filed it under. */
static const char *point_of(const struct policy_dest *d)
{
	if (d->kind == PROBE_HTTP || d->kind == PROBE_GIT)
		return NULL;
	if ((d->kind == PROBE_DNS_UDP || d->kind == PROBE_DNS_TCP) && !strcmp(d->addr, "resolv"))
		return "gate.dns.canary-subdomain";
	for (size_t i = 0; i < sizeof class_map / sizeof class_map[0]; i++)
		if (!strcmp(d->cls, class_map[i].cls))
			return class_map[i].point;
	return "";
}

/* ghp_ (shaped like a GitHub token, which scanners know) or bvn_ (a plain nonce) and 36
 * hex digits of SHA-256(run, id): unique per run and probe, recognised by the sinks. */
static void token_of(const char *prefix, const char *run, const char *id, char out[48])
{
	struct sha256_ctx c;
	unsigned char h[SHA256_DIGEST_SIZE];
	sha256_init(&c);
	sha256_update(&c, 19, (const uint8_t *)"bottle-verify gate:");
	sha256_update(&c, strlen(run), (const uint8_t *)run);
	sha256_update(&c, 1, (const uint8_t *)":");
	sha256_update(&c, strlen(id), (const uint8_t *)id);
	sha256_digest(&c, sizeof h, h);
	int n = snprintf(out, 48, "%s_", prefix);
	for (int i = 0; i < 18; i++)
		n += snprintf(out + n, (size_t)(48 - n), "%02x", h[i]);
}

enum { HTTP_CONTROL, HTTP_HOSTNAME, HTTP_IPLIT, HTTP_PATH, HTTP_QUERY, HTTP_HEADER, HTTP_BODY, HTTP_N };
static const char *const http_ids[HTTP_N] = { "gate.proxy.control", "gate.hostname.proxy",
					      "gate.ip-literal.proxy", "gate.canary.http-path",
					      "gate.canary.http-query", "gate.canary.http-header",
					      "gate.canary.http-body" };

struct gate_run {
	struct egress_run e;
	long http[HTTP_N]; /* dest index, -1 when not probed */
	long git_control, git_canary;
	char listen_err[BV_ERROR_MSG_MAX];
	bool listeners_read;
};

static struct policy_dest *add_dest(struct policy *p, const char *cls, enum probe_kind k,
				    const struct gate_endpoint *to, const struct gate_endpoint *sink)
{
	if (p->n_dests >= POLICY_MAX_DESTS)
		return NULL;
	struct policy_dest *d = &p->dests[p->n_dests++];
	memset(d, 0, sizeof *d);
	snprintf(d->cls, sizeof d->cls, "%s", cls);
	d->kind = k;
	snprintf(d->addr, sizeof d->addr, "%s", to->addr);
	d->port = to->port;
	d->sink = sink != NULL;
	if (sink) {
		snprintf(d->sink_addr, sizeof d->sink_addr, "%s", sink->addr);
		d->sink_port = sink->port;
		d->scan = true;
	}
	return d;
}

static int set_data(struct policy_dest *d, const char *text)
{
	d->data_len = strlen(text);
	d->data = (unsigned char *)strdup(text);
	return d->data ? 0 : -ENOMEM;
}

/* The proxy's seven requests; each carries its own token. */
static int add_http(struct gate_run *g, struct policy *p)
{
	const struct gate_spec *s = &p->gate;
	char req[1024], body[96];
	for (int k = 0; k < HTTP_N; k++) {
		/* The IP literal's far end is ours: a stand-in there catches a forward that
		 * comes back with a 403 of its own. */
		struct gate_endpoint far = { true, "", s->denied_ip_port };
		snprintf(far.addr, sizeof far.addr, "%s", s->denied_ip);
		struct policy_dest *d = add_dest(p, "gate-proxy", PROBE_HTTP, &s->proxy,
						 k == HTTP_IPLIT ? &far : &s->proxy_upstream);
		if (!d)
			return -E2BIG;
		g->http[k] = (long)(p->n_dests - 1);
		char id[24];
		snprintf(id, sizeof id, "d%zu", p->n_dests - 1);
		token_of(k >= HTTP_PATH ? "ghp" : "bvn", g->e.run, id, d->token);
		const char *host = k == HTTP_HOSTNAME ? s->denied_host : s->allowed_host, *t = d->token;
		static const char tail[] = "User-Agent: bottle-probe\r\nConnection: close\r\n";
		if (k == HTTP_IPLIT)
			snprintf(req, sizeof req, "GET http://%s:%u/bv-gate/%s HTTP/1.1\r\nHost: %s\r\n%s\r\n", s->denied_ip,
				 s->denied_ip_port, t, s->allowed_host, tail);
		else if (k == HTTP_QUERY)
			snprintf(req, sizeof req, "GET http://%s/search?q=%s HTTP/1.1\r\nHost: %s\r\n%s\r\n", host, t, host, tail);
		else if (k == HTTP_HEADER)
			snprintf(req, sizeof req, "GET http://%s/api HTTP/1.1\r\nHost: %s\r\nX-Request-Context: %s\r\n%s\r\n",
				 host, host, t, tail);
		else if (k == HTTP_BODY)
			snprintf(body, sizeof body, "note=%s\n", t),
				snprintf(req, sizeof req, "POST http://%s/api HTTP/1.1\r\nHost: %s\r\nContent-Type: text/plain\r\n"
					 "Content-Length: %zu\r\n%s\r\n%s", host, host, strlen(body), tail, body);
		else
			snprintf(req, sizeof req, "GET http://%s/bv-gate/%s HTTP/1.1\r\nHost: %s\r\n%s\r\n", host, t, host, tail);
		if (set_data(d, req) < 0)
			return -ENOMEM;
	}
	return 0;
}

static int add_git(struct gate_run *g, struct policy *p)
{
	const struct gate_spec *s = &p->gate;
	char readme[256];
	for (int canary = 0; canary < 2; canary++) {
		struct policy_dest *d = add_dest(p, "gate-git", PROBE_GIT, &s->git, &s->git_upstream);
		if (!d)
			return -E2BIG;
		char id[24];
		snprintf(id, sizeof id, "d%zu", p->n_dests - 1);
		token_of(canary ? "ghp" : "bvn", g->e.run, id, d->token);
		*(canary ? &g->git_canary : &g->git_control) = (long)(p->n_dests - 1);
		snprintf(d->repo, sizeof d->repo, "%s", s->repo);
		/* a new branch per run: the clean push of an earlier run must not collide */
		snprintf(d->ref, sizeof d->ref, "%s-%.18s-%.8s", canary ? "s" : "c", g->e.run, id);
		snprintf(readme, sizeof readme, "# notes\n\nSee [the dashboard](https://example.invalid/?t=%s).\n", d->token);
		if (set_data(d, readme) < 0)
			return -ENOMEM;
	}
	return 0;
}

/* Host services on 0.0.0.0 (or on the allowed address itself) that the guest reaches
 * through the allowed address: no sink of ours, the connect is the evidence. */
static int add_host_services(struct gate_run *g, struct policy *p)
{
	unsigned ports[64];
	size_t n = 0;
	struct bv_error err = { 0 };
	const struct gate_spec *s = &p->gate;
	if (!s->allowed_addr[0])
		return 0;
	if (gate_host_listeners(s->allowed_addr, s->declared_ports, s->n_declared, ports, 64, &n, &err) < 0) {
		snprintf(g->listen_err, sizeof g->listen_err, "%s", err.msg);
		return 0;
	}
	g->listeners_read = true;
	for (size_t i = 0; i < n; i++) {
		struct gate_endpoint to = { true, "", ports[i] };
		snprintf(to.addr, sizeof to.addr, "%s", s->allowed_addr);
		if (!add_dest(p, "gate-host-services", PROBE_TCP, &to, NULL))
			return -E2BIG;
	}
	return 0;
}

static bool control_open(const struct gate_run *g)
{
	for (size_t i = 0; i < g->e.p->n_dests; i++)
		if (g->e.p->dests[i].control && g->e.v[i] == VERDICT_OPEN)
			return true;
	return false;
}

static bool in_entry(const struct policy_dest *d, const void *id)
{
	const char *pt = point_of(d);
	return pt && strcmp(pt, id) == 0;
}

/* A catalogue entry made of policy destinations: not ok if any got out (TODO when each
 * open one is an accepted gap), inconclusive if any could not be judged, SKIP if none. */
static void group_point(struct bv_report *r, const struct gate_run *g, const char *id,
			const char *desc, const char *skip_reason)
{
	const struct egress_run *e = &g->e;
	struct egress_group grp;
	egress_group_fold(e, in_entry, id, &grp);
	bool control = !strcmp(id, "gate.control");
	enum bv_status st = grp.n == 0 ? BV_SKIP : egress_group_status(grp.open, grp.all_gaps, grp.unsure);
	if (grp.n == 0 && !strcmp(id, "gate.host-services") && (g->listeners_read || g->listen_err[0]))
		/* read, and nothing listens there; or could not be read: not a pass */
		st = g->listeners_read ? BV_OK : BV_INCONCLUSIVE;
	struct bv_point *p = report_add(r, id, st, desc);
	if (st == BV_OK)
		return;
	if (st == BV_SKIP) {
		point_set_reason(p, grp.guest_local ? EGRESS_GUEST_LOCAL_REASON : skip_reason);
		return;
	}
	if (g->listen_err[0] && !strcmp(id, "gate.host-services"))
		point_field(p, "listeners", g->listen_err);
	point_field(p, "expected", control ? "every control OPEN" : "every destination denied, no nonce at any sink");
	point_field(p, "actual", grp.open ? "a destination of this entry is OPEN" : "not every destination could be judged");
	point_field(p, "evidence", grp.evidence);
	if (!e->report_ok)
		point_field(p, "report", e->report_err);
	point_field(p, "remediation", st == BV_TODO && grp.dns_gap ? EGRESS_DNS_GAP_REMEDIATION
				      : grp.open ? "this path leaves the bottle: tighten the allowlist and the backend (bottle-verify egress names the class)"
						 : "make the run judgeable: the control must be reachable, the sinks up and the probe's report complete");
	if (st == BV_TODO)
		point_set_reason(p, grp.gap ? grp.gap : "accepted gap");
}

static void http_evidence(const struct gate_run *g, long i, const char *label, char *buf, size_t cap)
{
	const struct probe_result *res = g->e.report_ok ? &g->e.results[i] : NULL;
	const char *text = res ? res->text : "";
	size_t line = strcspn(text, "\r\n");
	snprintf(buf + strlen(buf), cap - strlen(buf), "%s%s: %s status=%d sink=%s \"%.*s\"",
		 buf[0] ? "; " : "", label, res ? probe_outcome_name(res->outcome) : "no valid report",
		 res ? res->rcode : -1, egress_sink_saw(&g->e, (size_t)i) ? "saw-token" : "nothing",
		 (int)(line > 120 ? 120 : line), text);
}

/* OPEN when the upstream saw the token; denied only on the proxy's own 403. */
static enum verdict http_verdict(const struct gate_run *g, long i)
{
	const struct probe_result *res = g->e.report_ok ? &g->e.results[i] : NULL;
	long sk = g->e.sink_of[i];
	if (egress_sink_saw(&g->e, (size_t)i))
		return VERDICT_OPEN;
	/* a refusal proves nothing when the stand-in that would have caught a forward was down */
	if (sk < 0 || !g->e.sinks || !sinks_up(g->e.sinks, (size_t)sk))
		return VERDICT_INCONCLUSIVE;
	return res && res->outcome == OUT_REPLIED && res->rcode == 403 ? VERDICT_DENIED_ACTIVE : VERDICT_INCONCLUSIVE;
}

static const char *const http_desc[HTTP_N] = {
	"a clean request through the proxy reaches the allowed upstream (control)",
	"a non-allowlisted hostname is refused by the proxy",
	"an IP literal with an allowed Host header is refused by the proxy",
	"the canary in the URL path never reaches the allowed upstream",
	"the canary in the query string never reaches the allowed upstream",
	"the canary in a request header never reaches the allowed upstream",
	"the canary in the request body never reaches the allowed upstream",
};

static void http_points(struct bv_report *r, const struct gate_run *g, bool net_ok)
{
	bool have = g->http[0] >= 0;
	bool proxy_ok = have && net_ok && egress_sink_saw_own(&g->e, (size_t)g->http[HTTP_CONTROL]);
	for (int k = HTTP_HOSTNAME; k < HTTP_N; k++) {
		if (!have) {
			struct bv_point *p = report_add(r, http_ids[k], BV_SKIP, http_desc[k]);
			point_set_reason(p, "the policy declares no proxy (gate.proxy): this bottle has none to attack");
			continue;
		}
		enum verdict v = http_verdict(g, g->http[k]);
		enum bv_status st = v == VERDICT_OPEN ? BV_NOT_OK : !proxy_ok || v == VERDICT_INCONCLUSIVE ? BV_INCONCLUSIVE : BV_OK;
		struct bv_point *p = report_add(r, http_ids[k], st, http_desc[k]);
		if (st == BV_OK)
			continue;
		char ev[1024] = "";
		http_evidence(g, g->http[HTTP_CONTROL], "control", ev, sizeof ev);
		http_evidence(g, g->http[k], "this request", ev, sizeof ev);
		point_field(p, "expected", "the proxy answers 403 and the upstream sink never sees the token");
		point_field(p, "actual", v == VERDICT_OPEN ? "the upstream sink saw this request's token"
				       : !proxy_ok ? "the control request did not reach the upstream sink: nothing can be judged"
						   : "the proxy did not refuse with 403");
		point_field(p, "evidence", ev);
		point_field(p, "remediation", v == VERDICT_OPEN ? "filter this request shape in the proxy (host allowlist; DLP on path, query, headers and body)"
							 : "check the proxy and its upstream: the gate must see a clean request get through and this one refused");
	}
}

/* Words of the upstream phase: a rejection that uses them was not the scanner's. */
static bool upstream_words(const char *t)
{
	static const char *const words[] = { "resolve", "refused", "unreachable", "upstream" };
	for (size_t i = 0; i < 4; i++)
		if (strcasestr(t, words[i]))
			return true;
	return false;
}

static void git_point(struct bv_report *r, const struct gate_run *g, bool net_ok)
{
	const char *id = "gate.git.canary-push", *desc = "a README carrying the canary is rejected by the git gate's scanner before any upstream";
	if (g->git_canary < 0) {
		struct bv_point *p = report_add(r, id, BV_SKIP, desc);
		point_set_reason(p, "the policy declares no git gate (gate.git): this bottle has none to push through");
		return;
	}
	const struct egress_run *e = &g->e;
	const struct probe_result *c = e->report_ok ? &e->results[g->git_control] : NULL;
	const struct probe_result *s = e->report_ok ? &e->results[g->git_canary] : NULL;
	bool control = net_ok && c && c->outcome == OUT_ACCEPTED && egress_sink_saw_own(e, (size_t)g->git_control);
	bool leaked = egress_sink_saw(e, (size_t)g->git_canary);
	const char *scanner = e->p->gate.scanner;
	bool named = s && strcasestr(s->text, scanner), words = s && upstream_words(s->text);
	const char *why = leaked ? "the upstream sink saw the canary"
			  : !s ? "no valid report"
			  : s->outcome == OUT_ACCEPTED ? "the git gate accepted the push"
			  : s->outcome != OUT_REJECTED ? "the push neither went through nor was rejected"
			  : !named ? "rejected, but the rejection does not name the scanner"
			  : words ? "rejected, but the rejection speaks of the upstream phase: the scanner did not run first"
				  : NULL;
	bool finding = leaked || (s && (s->outcome == OUT_ACCEPTED || (s->outcome == OUT_REJECTED && why)));
	enum bv_status st = finding ? BV_NOT_OK : !control || why ? BV_INCONCLUSIVE : BV_OK;
	struct bv_point *p = report_add(r, id, st, desc);
	if (st == BV_OK)
		return;
	point_field(p, "expected", "canary push rejected naming the scanner, no upstream-phase words, nothing at the upstream sink; a clean push accepted and forwarded");
	point_field(p, "actual", finding ? why : !control ? "the clean push was not accepted and forwarded: nothing can be judged" : why);
	point_fieldf(p, "evidence", "clean push: %s, upstream %s; canary push: %s, upstream %s; server said: %.400s",
		     c ? probe_outcome_name(c->outcome) : "no report", egress_sink_saw(e, (size_t)g->git_control) ? "saw it" : "saw nothing",
		     s ? probe_outcome_name(s->outcome) : "no report", leaked ? "saw the canary" : "saw nothing", s ? s->text : "");
	if (!e->report_ok)
		point_field(p, "report", e->report_err);
	point_field(p, "remediation", finding ? "run the secret scanner in pre-receive, before any contact with the upstream, on the pushed objects only"
					      : "check the git gate and its upstream: a clean push must get through for the gate to judge");
}

static int prepare(struct gate_run *g, struct policy *p, struct bv_error *err)
{
	for (size_t i = 0; i < p->n_dests; i++) {
		const char *pt = point_of(&p->dests[i]);
		if (pt && !pt[0])
			return bv_error_set(err, EINVAL, "policy class \"%s\" has no place in the gate catalogue "
					    "(docs/checks.md lists the class names the gate knows)", p->dests[i].cls);
	}
	egress_new_run_id(g->e.run);
	g->git_control = g->git_canary = -1;
	for (int k = 0; k < HTTP_N; k++)
		g->http[k] = -1;
	int r = p->gate.proxy.set ? add_http(g, p) : 0;
	if (r == 0 && p->gate.git.set)
		r = add_git(g, p);
	if (r == 0)
		r = add_host_services(g, p);
	return r < 0 ? bv_error_set(err, -r, "cannot add the gate's probes") : 0;
}

int check_gate(struct bv_report *r, struct policy *p, const struct transport *t,
	       const struct gate_opts *o)
{
	static const char *const groups[][3] = {
		{ "gate.hostname.direct", "a non-allowlisted host's addresses are unreachable directly", "the policy has no hostname class" },
		{ "gate.ip-literal.direct", "non-allowlisted IP literals are unreachable", "the policy has no public, ipv4-mapped or ip-literal class" },
		{ "gate.dns.canary-subdomain", "a canary in a subdomain through the guest's resolver reaches no resolver", "the policy makes no lookup through the guest's resolver (addr resolv)" },
		{ "gate.dns.direct", "UDP and TCP 53 to non-resolver addresses are denied", "the policy has no dns-direct class" },
		{ "gate.host-loopback", "host loopback is unreachable by every spelling", "the policy has no host-loopback class" },
		{ "gate.host-services", "no host service on 0.0.0.0 is reachable through the allowed address", "the policy names no gate.allowed_addr" },
		{ "gate.other-bottles", "other bottles' addresses are unreachable", "the policy has no other-bottles class" },
		{ "gate.lan-metadata", "LAN and cloud metadata addresses are unreachable", "the policy has no lan or metadata class" },
		{ "gate.ipv6", "IPv6 is unreachable under an IPv4-only policy", "the policy has no ipv6 class" },
	};
	struct gate_run g = { 0 };
	struct bv_error err = { 0 };
	int rc = prepare(&g, p, &err);
	if (rc == 0)
		rc = egress_run_exec(&g.e, p, t, &err);
	if (rc < 0) {
		report_error(r, &err);
		egress_run_free(&g.e);
		return rc;
	}
	report_note(r, "gate run %s: %zu probes, %zu sinks, deadline %u ms", g.e.run, p->n_dests, g.e.n_specs,
		    p->deadline_ms);
	bool net_ok = control_open(&g);
	group_point(r, &g, "gate.control", "the allowed destinations are reachable (control)", "the policy has no control");
	http_points(r, &g, net_ok);
	for (size_t i = 0; i < 4; i++)
		group_point(r, &g, groups[i][0], groups[i][1], groups[i][2]);
	git_point(r, &g, net_ok);
	for (size_t i = 4; i < sizeof groups / sizeof groups[0]; i++)
		group_point(r, &g, groups[i][0], groups[i][1], groups[i][2]);
	gate_host_points(r, o);
	egress_census_point(r, &g.e, "gate.census");
	egress_run_free(&g.e);
	return 0;
}
