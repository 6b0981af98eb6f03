/* policy_builtin.c - the built-in egress policy for a REAL smolvm bottle.
 * It names real-world addresses (public resolvers, cloud metadata, RFC1918 samples) and is
 * used only against real bottles; every test overrides it with addresses of namespaces it
 * created. Classes and the version facts they rest on: docs/policy.md. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "egress/policy.h"

/* DNS over TCP straight to a resolver never names 1.1.1.1, smolvm's default upstream: from
 * 1.2.5 the gateway relays DNS over TCP there itself, and such a destination is unproven
 * whenever the census sees a VMM socket to it (evidence.c, census_ambiguous).
 * Sinks: what reaches the host through smolvm's gateway lands on host loopback at the
 * same port (sink_addr 127.0.0.1 / ::1), where bottle-verify listens. Destinations the
 * host cannot hold (public, LAN, metadata) have no sink: only the guest's errno speaks. */
const char policy_builtin_text[] =
	"{\"deadline_ms\": 2000,\n"
	" \"around_allowed\": true,\n"
	" \"attempts\": 2, \"retry_gap_ms\": 100, \"flow_pressure\": 128,\n"
	" \"controls\": [ @CONTROL@ ],\n"
	" \"denied\": {\n"
	"  \"service-ports\": [\n"
	"   {\"proto\": \"tcp\", \"addr\": \"1.1.1.1\", \"port\": 22, \"sink\": false},\n"
	"   {\"proto\": \"tcp\", \"addr\": \"1.1.1.1\", \"port\": 25, \"sink\": false},\n"
	"   {\"proto\": \"tcp\", \"addr\": \"1.1.1.1\", \"port\": 80, \"sink\": false},\n"
	"   {\"proto\": \"tcp\", \"addr\": \"1.1.1.1\", \"port\": 443, \"sink\": false},\n"
	"   {\"proto\": \"tcp\", \"addr\": \"1.1.1.1\", \"port\": 8080, \"sink\": false},\n"
	"   {\"proto\": \"tcp\", \"addr\": \"1.1.1.1\", \"port\": 8443, \"sink\": false},\n"
	"   {\"proto\": \"tcp\", \"addr\": \"1.1.1.1\", \"port\": \"random\", \"sink\": false},\n"
	"   {\"proto\": \"tcp\", \"addr\": \"2606:4700:4700::1111\", \"port\": 443, \"sink\": false},\n"
	"   {\"proto\": \"udp\", \"addr\": \"1.1.1.1\", \"port\": 443, \"sink\": false},\n"
	"   {\"proto\": \"udp\", \"addr\": \"162.159.200.1\", \"port\": 123, \"sink\": false},\n"
	"   {\"proto\": \"udp\", \"addr\": \"1.1.1.1\", \"port\": \"random\", \"sink\": false},\n"
	"   {\"proto\": \"tcp\", \"addr\": \"100.96.0.1\", \"port\": \"random\", \"sink_addr\": \"127.0.0.1\"}],\n"
	"  \"host-loopback-gateway\": [\n"
	"   {\"proto\": \"tcp\", \"addr\": \"100.96.0.1\", \"port\": 47001, \"sink_addr\": \"127.0.0.1\"},\n"
	"   {\"proto\": \"udp\", \"addr\": \"100.96.0.1\", \"port\": 47002, \"sink_addr\": \"127.0.0.1\"},\n"
	"   {\"proto\": \"tcp\", \"addr\": \"fd53:4d00::1\", \"port\": 47001, \"sink_addr\": \"::1\"}],\n"
	"  \"ipv6\": [\n"
	"   {\"proto\": \"tcp\", \"addr\": \"2606:4700:4700::1111\", \"port\": 80, \"sink\": false},\n"
	"   {\"proto\": \"tcp\", \"addr\": \"2001:4860:4860::8888\", \"port\": 443, \"sink\": false},\n"
	"   {\"proto\": \"udp\", \"addr\": \"2001:4860:4860::8888\", \"port\": 443, \"sink\": false},\n"
	"   {\"proto\": \"tcp\", \"addr\": \"fd00::1\", \"port\": 80, \"sink\": false}],\n"
	"  \"icmp\": [\n"
	"   {\"proto\": \"icmp\", \"addr\": \"1.1.1.1\", \"sink\": false},\n"
	"   {\"proto\": \"icmp\", \"addr\": \"2606:4700:4700::1111\", \"sink\": false},\n"
	"   {\"proto\": \"icmp\", \"addr\": \"10.0.0.1\", \"sink\": false}],\n"
	"  \"host-loopback-spellings\": [\n"
	"   {\"proto\": \"tcp\", \"addr\": \"127.0.0.1\", \"port\": 47003, \"sink\": false},\n"
	"   {\"proto\": \"tcp\", \"addr\": \"::1\", \"port\": 47003, \"sink\": false},\n"
	"   {\"proto\": \"tcp\", \"addr\": \"::ffff:127.0.0.1\", \"port\": 47003, \"sink\": false},\n"
	"   {\"proto\": \"tcp\", \"addr\": \"127.1.2.3\", \"port\": 47003, \"sink\": false}],\n"
	"  \"other-bottles\": [\n"
	"   {\"proto\": \"tcp\", \"addr\": \"127.0.0.17\", \"port\": 47004, \"sink\": false},\n"
	"   {\"proto\": \"tcp\", \"addr\": \"127.0.0.31\", \"port\": 47004, \"sink\": false}],\n"
	"  \"lan\": [\n"
	"   {\"proto\": \"tcp\", \"addr\": \"10.0.0.1\", \"port\": 80, \"sink\": false},\n"
	"   {\"proto\": \"tcp\", \"addr\": \"172.16.0.1\", \"port\": 80, \"sink\": false},\n"
	"   {\"proto\": \"tcp\", \"addr\": \"192.168.0.1\", \"port\": 80, \"sink\": false}],\n"
	"  \"cloud-metadata\": [\n"
	"   {\"proto\": \"tcp\", \"addr\": \"169.254.169.254\", \"port\": 80, \"sink\": false},\n"
	"   {\"proto\": \"tcp\", \"addr\": \"fd00:ec2::254\", \"port\": 80, \"sink\": false}],\n"
	"  \"public-resolvers\": [\n"
	"   {\"proto\": \"dns-udp\", \"addr\": \"1.1.1.1\", \"port\": 53, \"sink\": false},\n"
	"   {\"proto\": \"dns-tcp\", \"addr\": \"9.9.9.9\", \"port\": 53, \"sink\": false},\n"
	"   {\"proto\": \"dns-udp\", \"addr\": \"8.8.8.8\", \"port\": 53, \"sink\": false},\n"
	"   {\"proto\": \"dns-tcp\", \"addr\": \"8.8.8.8\", \"port\": 53, \"sink\": false}],\n"
	"  \"gateway-dns\": [\n"
	"   {\"proto\": \"dns-udp\", \"addr\": \"100.96.0.1\", \"port\": 53, \"sink\": false},\n"
	"   {\"proto\": \"dns-tcp\", \"addr\": \"100.96.0.1\", \"port\": 53, \"sink\": false},\n"
	"   {\"proto\": \"dns-udp\", \"addr\": \"fd53:4d00::1\", \"port\": 53, \"sink\": false},\n"
	"   {\"proto\": \"dns-tcp\", \"addr\": \"fd53:4d00::1\", \"port\": 53, \"sink\": false}],\n"
	"  \"guest-resolver-exfil\": [\n"
	"   {\"proto\": \"dns-udp\", \"addr\": \"resolv\", \"port\": 53},\n"
	"   {\"proto\": \"dns-tcp\", \"addr\": \"resolv\", \"port\": 53}]\n"
	" }}\n";

/* smolvm's DNS carve-out, per version (docs/policy.md): from 1.1.3 the gateway takes
 * every guest UDP/53, to any address, and forwards it upstream whatever allowed_cidrs says
 * (classify_dns_query, crates/smolvm-network/src/stack.rs @v1.9.3); from 1.2.5 it also
 * serves DNS over TCP to the gateway address itself. Known and accepted: TODO points. */
static void mark_dns_carveout(struct policy *p, const struct bv_version *v)
{
	if (!v || !version_policy_defaults_virtio(v))
		return;
	bool tcp_too = version_gateway_serves_dns_tcp(v);
	for (size_t i = 0; i < p->n_dests; i++) {
		struct policy_dest *d = &p->dests[i];
		bool at_gateway = !strcmp(d->addr, "resolv") || !strcmp(d->addr, "100.96.0.1") ||
				  !strcmp(d->addr, "fd53:4d00::1");
		if (d->control || !(d->kind == PROBE_DNS_UDP || (tcp_too && d->kind == PROBE_DNS_TCP && at_gateway)))
			continue;
		d->accept_gap = true;
		snprintf(d->gap_reason, sizeof d->gap_reason, "%s",
			 d->kind == PROBE_DNS_UDP
				 ? "smolvm >= 1.1.3 answers every UDP/53 itself (classify_dns_query, crates/smolvm-network/src/stack.rs @v1.9.3)"
				 : "smolvm >= 1.2.5 serves DNS over TCP at its gateway (crates/smolvm-network/src/stack.rs @v1.9.3)");
	}
}

int policy_load_builtin(const char *control, const struct bv_version *v, struct policy *out,
			struct bv_error *err)
{
	char entry[256];
	memset(out, 0, sizeof *out);
	if (!control)
		return bv_error_set(err, EINVAL, "the built-in policy needs the bottle's allowed destination: --allow-dest PROTO:ADDR:PORT");
	int r = policy_control_json(control, entry, sizeof entry, err);
	if (r < 0)
		return r;
	const char *at = strstr(policy_builtin_text, "@CONTROL@");
	size_t n = strlen(policy_builtin_text) + strlen(entry);
	char *text = malloc(n + 1);
	if (!text)
		return bv_error_set(err, ENOMEM, "out of memory");
	snprintf(text, n + 1, "%.*s%s%s", (int)(at - policy_builtin_text), policy_builtin_text, entry,
		 at + strlen("@CONTROL@"));
	r = policy_parse(text, strlen(text), out, err);
	free(text);
	if (r == 0)
		mark_dns_carveout(out, v);
	/* The pressure flows are TCP handshakes to the allowed destination: an allowed
	 * destination of another kind takes none (egress.pressure is then not asked for). */
	if (r == 0 && policy_pressure_control(out) < 0)
		out->flow_pressure = 0;
	return r;
}
