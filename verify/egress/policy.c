/* policy.c - see policy.h */
#include "egress/policy.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

#include <cjson/cJSON.h>

#include "core/cidr.h"
#include "core/jsonstrict.h"

static int kind_of(const char *s, enum probe_kind *k)
{
	static const char *const names[] = { "tcp", "udp", "dns-udp", "dns-tcp" };
	for (int i = 0; s && i < 4; i++)
		if (strcmp(s, names[i]) == 0) {
			*k = (enum probe_kind)i;
			return 0;
		}
	if (s && strcmp(s, "icmp") == 0) {
		*k = PROBE_ICMP;
		return 0;
	}
	return -1;
}

static const char *str_of(const cJSON *o, const char *key)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
	return cJSON_IsString(v) ? v->valuestring : NULL;
}

/* "port": "random": a port drawn for this run from POLICY_RANDOM_LO..HI, so no fixed list
 * of ports is all a gateway has to get right (getrandom; a weaker clock-based draw only if
 * it fails: a draw is never fatal). */
static unsigned random_port(void)
{
	unsigned r = 0;
	if (getrandom(&r, sizeof r, GRND_NONBLOCK) != (ssize_t)sizeof r) {
		struct timespec ts;
		clock_gettime(CLOCK_MONOTONIC, &ts);
		r = (unsigned)ts.tv_nsec ^ (unsigned)ts.tv_sec * 2654435761u;
	}
	return POLICY_RANDOM_LO + r % (POLICY_RANDOM_HI - POLICY_RANDOM_LO + 1);
}

static bool port_of(const cJSON *port, unsigned *out)
{
	if (cJSON_IsString(port) && strcmp(port->valuestring, "random") == 0) {
		*out = random_port();
		return true;
	}
	if (!cJSON_IsNumber(port) || port->valuedouble < 1 || port->valuedouble > 65535 ||
	    port->valuedouble != (double)(unsigned)port->valuedouble)
		return false;
	*out = (unsigned)port->valuedouble;
	return true;
}

static int parse_dest(const cJSON *d, const char *cls, bool control, struct policy_dest *out,
		      struct bv_error *err)
{
	const cJSON *port = cJSON_GetObjectItemCaseSensitive(d, "port");
	const char *addr = str_of(d, "addr");
	unsigned char buf[16];
	memset(out, 0, sizeof *out);
	out->control = control;
	bool resolv = addr && strcmp(addr, "resolv") == 0; /* the guest's own resolver */
	if (!plan_token_ok(cls, PLAN_ID_MAX) || kind_of(str_of(d, "proto"), &out->kind) < 0 ||
	    !addr || strlen(addr) >= sizeof out->addr ||
	    (resolv && out->kind != PROBE_DNS_UDP && out->kind != PROBE_DNS_TCP) ||
	    (!resolv && inet_pton(AF_INET, addr, buf) != 1 && inet_pton(AF_INET6, addr, buf) != 1) ||
	    (out->kind == PROBE_ICMP ? port != NULL || control : !port_of(port, &out->port)) ||
	    (control && cJSON_IsString(port)))
		return bv_error_set(err, EINVAL, "policy: destination in \"%s\" needs proto (tcp, udp, dns-udp, dns-tcp; icmp: denied only, no port), addr (an IP literal) and port (1..65535, or \"random\" but for a control)", cls);
	/* An echo to ::ffff:a.b.c.d is ICMPv6 that smolvm judges as IPv6: ask a.b.c.d instead. */
	if (out->kind == PROBE_ICMP && inet_pton(AF_INET6, addr, buf) == 1 && IN6_IS_ADDR_V4MAPPED((struct in6_addr *)buf))
		return bv_error_set(err, EINVAL, "policy: an icmp destination in \"%s\" cannot be IPv4-mapped (%s): name the IPv4 address", cls, addr);
	out->random_port = cJSON_IsString(port);
	snprintf(out->cls, sizeof out->cls, "%s", cls);
	snprintf(out->addr, sizeof out->addr, "%s", addr);
	const char *sink_addr = str_of(d, "sink_addr");
	if (sink_addr && (strlen(sink_addr) >= sizeof out->sink_addr ||
			  (inet_pton(AF_INET, sink_addr, buf) != 1 && inet_pton(AF_INET6, sink_addr, buf) != 1)))
		return bv_error_set(err, EINVAL, "policy: sink_addr in \"%s\" must be an IP literal", cls);
	snprintf(out->sink_addr, sizeof out->sink_addr, "%s", sink_addr ? sink_addr : addr);
	const cJSON *sink = cJSON_GetObjectItemCaseSensitive(d, "sink");
	out->sink = !cJSON_IsFalse(sink) && !resolv; /* no host address to bind for "resolv" */
	const char *gap = str_of(d, "accept_gap");
	if (gap) {
		out->accept_gap = true;
		snprintf(out->gap_reason, sizeof out->gap_reason, "%s", gap);
	}
	return 0;
}

static bool same_transport(enum probe_kind a, enum probe_kind b)
{
	bool tcp_a = a == PROBE_TCP || a == PROBE_DNS_TCP, tcp_b = b == PROBE_TCP || b == PROBE_DNS_TCP;
	return tcp_a == tcp_b;
}

/* Another destination already holds d's sink address and port (TCP or UDP alike). */
static bool port_taken(const struct policy *p, const struct policy_dest *d)
{
	if (d->kind == PROBE_ICMP) /* no port: destinations at one address share its echo sink */
		return false;
	for (size_t i = 0; i < p->n_dests; i++)
		if (p->dests[i].port == d->port && same_transport(p->dests[i].kind, d->kind) &&
		    strcmp(p->dests[i].sink_addr, d->sink_addr) == 0)
			return true;
	return false;
}

static int parse_list(const cJSON *list, const char *cls, bool control, struct policy *p,
		      struct bv_error *err)
{
	const cJSON *d;
	if (!cJSON_IsArray(list))
		return bv_error_set(err, EINVAL, "policy: \"%s\" must be a list of destinations", cls);
	cJSON_ArrayForEach(d, list) {
		if (p->n_dests >= POLICY_MAX_DESTS)
			return bv_error_set(err, EINVAL, "policy: more than %d destinations", POLICY_MAX_DESTS);
		struct policy_dest *nd = &p->dests[p->n_dests];
		int r = parse_dest(d, cls, control, nd, err);
		if (r < 0)
			return r;
		for (int tries = 0; nd->random_port && port_taken(p, nd) && tries < 64; tries++)
			nd->port = random_port(); /* two sinks cannot share an address and port */
		p->n_dests++;
	}
	return 0;
}

static bool port_ok(const cJSON *port)
{
	return cJSON_IsNumber(port) && port->valuedouble >= 1 && port->valuedouble <= 65535 &&
	       port->valuedouble == (double)(unsigned)port->valuedouble;
}

static int endpoint_of(const cJSON *o, struct gate_endpoint *e)
{
	const char *addr = str_of(o, "addr");
	const cJSON *port = cJSON_GetObjectItemCaseSensitive(o, "port");
	unsigned char buf[16];
	if (!o)
		return 0;
	if (!addr || strlen(addr) >= sizeof e->addr ||
	    (inet_pton(AF_INET, addr, buf) != 1 && inet_pton(AF_INET6, addr, buf) != 1) ||
	    !port_ok(port))
		return -1;
	snprintf(e->addr, sizeof e->addr, "%s", addr);
	e->port = (unsigned)port->valuedouble;
	e->set = true;
	return 0;
}

static int copy_str(const cJSON *o, const char *key, char *out, size_t cap, bool required)
{
	const char *v = str_of(o, key);
	if (!v)
		return required ? -1 : 0;
	if (!v[0] || strlen(v) >= cap)
		return -1;
	snprintf(out, cap, "%s", v);
	return 0;
}

/* The optional "gate" object: the proxy and the git gate, with their upstreams. */
static int parse_gate(const cJSON *g, struct gate_spec *s, struct bv_error *err)
{
	const cJSON *proxy = cJSON_GetObjectItemCaseSensitive(g, "proxy");
	const cJSON *git = cJSON_GetObjectItemCaseSensitive(g, "git");
	const cJSON *ports = cJSON_GetObjectItemCaseSensitive(g, "declared_ports"), *pt;
	if (!cJSON_IsObject(g))
		return bv_error_set(err, EINVAL, "policy: \"gate\" must be an object");
	if (proxy && (endpoint_of(proxy, &s->proxy) < 0 ||
		      endpoint_of(cJSON_GetObjectItemCaseSensitive(proxy, "upstream"), &s->proxy_upstream) < 0 ||
		      !s->proxy_upstream.set || copy_str(proxy, "allowed_host", s->allowed_host, sizeof s->allowed_host, true) < 0 ||
		      copy_str(proxy, "denied_host", s->denied_host, sizeof s->denied_host, true) < 0 ||
		      copy_str(proxy, "denied_ip", s->denied_ip, sizeof s->denied_ip, true) < 0))
		return bv_error_set(err, EINVAL, "policy: gate.proxy needs addr, port, allowed_host, denied_host, denied_ip and upstream {addr, port}");
	const cJSON *dport = proxy ? cJSON_GetObjectItemCaseSensitive(proxy, "denied_ip_port") : NULL;
	if (dport && !port_ok(dport))
		return bv_error_set(err, EINVAL, "policy: gate.proxy.denied_ip_port must be 1..65535");
	s->denied_ip_port = dport ? (unsigned)dport->valuedouble : 80;
	if (git && (endpoint_of(git, &s->git) < 0 ||
		    endpoint_of(cJSON_GetObjectItemCaseSensitive(git, "upstream"), &s->git_upstream) < 0 ||
		    !s->git_upstream.set || copy_str(git, "repo", s->repo, sizeof s->repo, true) < 0 ||
		    copy_str(git, "scanner", s->scanner, sizeof s->scanner, true) < 0))
		return bv_error_set(err, EINVAL, "policy: gate.git needs addr, port, repo, scanner and upstream {addr, port}");
	if (copy_str(g, "allowed_addr", s->allowed_addr, sizeof s->allowed_addr, false) < 0)
		return bv_error_set(err, EINVAL, "policy: gate.allowed_addr must be an address");
	cJSON_ArrayForEach(pt, ports) {
		if (!port_ok(pt) || s->n_declared >= 16)
			return bv_error_set(err, EINVAL, "policy: gate.declared_ports: at most 16 port numbers");
		s->declared_ports[s->n_declared++] = (unsigned)pt->valuedouble;
	}
	return 0;
}

/* An optional whole number in lo..hi, else def. */
static int opt_uint(const cJSON *root, const char *key, unsigned lo, unsigned hi, unsigned def, unsigned *out)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(root, key);
	if (!v) {
		*out = def;
		return 0;
	}
	if (!cJSON_IsNumber(v) || v->valuedouble < lo || v->valuedouble > hi || v->valuedouble != (double)(unsigned)v->valuedouble)
		return -1;
	*out = (unsigned)v->valuedouble;
	return 0;
}

/* The load a run puts on the gateway: tries again and pressure flows. */
static int parse_load(const cJSON *root, struct policy *p, struct bv_error *err)
{
	if (opt_uint(root, "attempts", 1, PLAN_ATTEMPTS_MAX, 1, &p->attempts) < 0)
		return bv_error_set(err, EINVAL, "policy: attempts must be 1..%d", PLAN_ATTEMPTS_MAX);
	if (opt_uint(root, "retry_gap_ms", PLAN_GAP_MIN_MS, PLAN_GAP_MAX_MS, 100, &p->retry_gap_ms) < 0)
		return bv_error_set(err, EINVAL, "policy: retry_gap_ms must be %d..%d", PLAN_GAP_MIN_MS, PLAN_GAP_MAX_MS);
	if (opt_uint(root, "flow_pressure", 0, PLAN_PRESSURE_MAX, 0, &p->flow_pressure) < 0)
		return bv_error_set(err, EINVAL, "policy: flow_pressure must be 0..%d", PLAN_PRESSURE_MAX);
	/* The probe may spend a third of the deadline opening the pressure flows first. */
	unsigned budget = p->flow_pressure ? p->deadline_ms * 2 / 3 : p->deadline_ms;
	if ((p->attempts - 1) * p->retry_gap_ms >= budget)
		return bv_error_set(err, EINVAL, "policy: the last of %u attempts %u ms apart would start after %s %u ms",
				    p->attempts, p->retry_gap_ms,
				    p->flow_pressure ? "the two thirds of deadline_ms the pressure flows leave," : "deadline_ms",
				    budget);
	return 0;
}

static int parse_doc(const cJSON *root, struct policy *p, bool extra_control, struct bv_error *err)
{
	const cJSON *gate = cJSON_GetObjectItemCaseSensitive(root, "gate");
	if (gate && parse_gate(gate, &p->gate, err) < 0)
		return -EINVAL;
	const cJSON *dl = cJSON_GetObjectItemCaseSensitive(root, "deadline_ms");
	const cJSON *controls = cJSON_GetObjectItemCaseSensitive(root, "controls");
	const cJSON *denied = cJSON_GetObjectItemCaseSensitive(root, "denied");
	if (!cJSON_IsNumber(dl) || dl->valuedouble < 1 || dl->valuedouble > PLAN_DEADLINE_MAX_MS)
		return bv_error_set(err, EINVAL, "policy: deadline_ms must be 1..%d", PLAN_DEADLINE_MAX_MS);
	p->deadline_ms = (unsigned)dl->valuedouble;
	const cJSON *up = cJSON_GetObjectItemCaseSensitive(root, "dns_upstream");
	struct bv_cidr host;
	struct bv_error ignored = { 0 };
	if (up && (!cJSON_IsString(up) || cidr_parse(up->valuestring, &host, &ignored) < 0 || strchr(up->valuestring, '/')))
		return bv_error_set(err, EINVAL, "policy: dns_upstream must be one IP address");
	snprintf(p->dns_upstream, sizeof p->dns_upstream, "%s", up ? up->valuestring : "1.1.1.1");
	const cJSON *around = cJSON_GetObjectItemCaseSensitive(root, "around_allowed");
	if (around && !cJSON_IsBool(around))
		return bv_error_set(err, EINVAL, "policy: around_allowed must be true or false");
	p->around_allowed = cJSON_IsTrue(around);
	if (parse_load(root, p, err) < 0)
		return -EINVAL;
	int r = parse_list(controls, "control", true, p, err);
	if (r < 0)
		return r;
	if (p->n_dests == 0 && !extra_control)
		return bv_error_set(err, EINVAL, "policy: at least one control (an allowed destination that must be reachable)");
	if (!cJSON_IsObject(denied))
		return bv_error_set(err, EINVAL, "policy: \"denied\" must map class names to destination lists");
	const cJSON *cls;
	size_t n_controls = p->n_dests;
	cJSON_ArrayForEach(cls, denied) {
		if ((r = parse_list(cls, cls->string, false, p, err)) < 0)
			return r;
	}
	if (p->n_dests == n_controls)
		return bv_error_set(err, EINVAL, "policy: no denied destination: a run that denies nothing proves nothing");
	return 0;
}

/* "tcp:ADDR:PORT" (IPv6 in brackets: "tcp:[fd00::1]:80") as a JSON control entry. The
 * allowed destination is a real service (the bundle), so it gets no sink of ours. */
int policy_control_json(const char *control, char *out, size_t cap, struct bv_error *err)
{
	char proto[16], addr[64];
	unsigned port;
	const char *c1 = strchr(control, ':');
	const char *last = strrchr(control, ':');
	if (!c1 || c1 == last || (size_t)(c1 - control) >= sizeof proto)
		return bv_error_set(err, EINVAL, "--allow-dest wants PROTO:ADDR:PORT, got \"%s\"", control);
	memcpy(proto, control, (size_t)(c1 - control));
	proto[c1 - control] = '\0';
	const char *a = c1 + 1;
	size_t alen = (size_t)(last - a);
	if (alen >= 2 && a[0] == '[' && a[alen - 1] == ']')
		a++, alen -= 2;
	if (alen == 0 || alen >= sizeof addr || sscanf(last + 1, "%u", &port) != 1)
		return bv_error_set(err, EINVAL, "--allow-dest wants PROTO:ADDR:PORT, got \"%s\"", control);
	memcpy(addr, a, alen);
	addr[alen] = '\0';
	snprintf(out, cap, "{\"proto\": \"%s\", \"addr\": \"%s\", \"port\": %u, \"sink\": false}", proto, addr, port);
	return 0;
}

int policy_add_control(struct policy *p, const char *control, struct bv_error *err)
{
	char entry[256];
	int r = policy_control_json(control, entry, sizeof entry, err);
	if (r < 0)
		return r;
	if (p->n_dests >= POLICY_MAX_DESTS)
		return bv_error_set(err, EINVAL, "policy: more than %d destinations", POLICY_MAX_DESTS);
	cJSON *d = cJSON_Parse(entry);
	if (!d)
		return bv_error_set(err, ENOMEM, "out of memory");
	r = parse_dest(d, "control", true, &p->dests[p->n_dests], err);
	cJSON_Delete(d);
	if (r == 0)
		p->n_dests++;
	else
		bv_error_wrap(err, "--allow-dest %s", control);
	return r;
}

int policy_parse(const char *text, size_t len, struct policy *out, struct bv_error *err)
{
	return policy_parse_with(text, len, NULL, out, err);
}

int policy_parse_with(const char *text, size_t len, const char *control, struct policy *out,
		      struct bv_error *err)
{
	memset(out, 0, sizeof *out);
	struct json_top top;
	int r = jsonstrict_validate((const unsigned char *)text, len, &top, err);
	json_top_free(&top);
	if (r < 0) {
		bv_error_wrap(err, "policy");
		return r;
	}
	cJSON *root = cJSON_ParseWithLength(text, len);
	out->dests = calloc(POLICY_MAX_DESTS, sizeof *out->dests);
	if (!root || !out->dests)
		r = bv_error_set(err, ENOMEM, "out of memory");
	else
		r = parse_doc(root, out, control != NULL, err);
	cJSON_Delete(root);
	return r == 0 && control ? policy_add_control(out, control, err) : r;
}

int policy_load(const char *path, const char *control, struct policy *out, struct bv_error *err)
{
	memset(out, 0, sizeof *out);
	FILE *f = fopen(path, "re");
	if (!f)
		return bv_error_errno(err, errno, "policy %s", path);
	char *buf = malloc(JSONSTRICT_MAX_BYTES + 1);
	size_t n = buf ? fread(buf, 1, JSONSTRICT_MAX_BYTES + 1, f) : 0;
	fclose(f);
	if (!buf)
		return bv_error_set(err, ENOMEM, "out of memory");
	int r = policy_parse_with(buf, n, control, out, err);
	free(buf);
	if (r < 0)
		bv_error_wrap(err, "%s", path);
	return r;
}

long policy_pressure_control(const struct policy *p)
{
	for (size_t i = 0; p->flow_pressure && i < p->n_dests; i++)
		if (p->dests[i].control && p->dests[i].kind == PROBE_TCP)
			return (long)i;
	return -1;
}

void policy_free(struct policy *p)
{
	for (size_t i = 0; p->dests && i < p->n_dests; i++)
		free(p->dests[i].data);
	free(p->dests);
	p->dests = NULL;
	p->n_dests = 0;
}
