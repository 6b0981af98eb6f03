/* plan.c - see plan.h */
#include "launch/plan.h"

#include <errno.h>
#include <stddef.h>
#include <string.h>
#include <sys/socket.h>

int launch_allowlist(const char *text, struct bv_cidr *out, struct bv_error *err)
{
	int r = cidr_parse(text, out, err);
	if (r < 0) {
		bv_error_wrap(err, "--allow %s", text);
		return r;
	}
	unsigned width = out->family == AF_INET ? 32 : 128;
	if (out->prefix != width)
		return bv_error_set(err, EPERM, "--allow %s is wider than one address: a bottle gets exactly one allowed destination (the bundle), as ADDR/%u", text, width);
	return 0;
}

int launch_refusal(const struct launch_req *r, const struct bv_version *v, const struct bv_cidr *allow,
		   struct bv_error *err)
{
	if (cidr_is_loopback(allow) && version_loopback_stays_in_guest(v))
		return bv_error_set(err, EPERM,
				    "a loopback allowlist (127.0.0.0/8) is broken on this smolvm (>= 1.1.3): with a policy it uses the virtio-net gateway, where 127.x is the guest's own loopback, so the bundle is unreachable and a probe of it looks blocked (docs/launch.md, refusals); allow the bundle's own non-loopback address with --allow ADDR/32 instead");
	if (r->image && version_policy_defaults_virtio(v))
		return bv_error_set(err, EPERM,
				    "--image with an allowlist: the in-guest registry pull obeys allowed_cidrs, so a /32 breaks the image's first boot (docs/launch.md, refusals); pack it and use --from");
	if (r->require_dns_guard && (r->no_dns_guard || !version_has_dns_flag(v)))
		return bv_error_set(err, EPERM, r->no_dns_guard ? "--require-dns-guard and --no-dns-guard contradict each other"
				    : "--require-dns-guard: this smolvm has no --dns (< 1.2.5), so its gateway forwards every guest DNS query to 1.1.1.1 whatever the allowlist says and no DNS guard can close that (docs/launch.md, The DNS guard); upgrade smolvm to >= 1.2.5");
	return 0;
}

bool launch_wants_guard(const struct launch_req *r, const struct bv_version *v)
{
	return !r->no_dns_guard && version_has_dns_flag(v);
}

static size_t put(const char *argv[LAUNCH_ARGV_MAX], size_t n, const char *s)
{
	if (n + 1 < LAUNCH_ARGV_MAX)
		argv[n++] = s;
	argv[n] = NULL;
	return n;
}

/* smolvm < 1.0.2 takes the machine name positionally on create and delete (67a09b27). */
static size_t put_name(const char *argv[LAUNCH_ARGV_MAX], size_t n, const char *name,
		       const struct bv_version *v)
{
	if (version_cmp(v, 1, 0, 2) >= 0)
		n = put(argv, n, "--name");
	return put(argv, n, name);
}

void launch_create_argv(const struct launch_req *r, const struct bv_version *v, const char *allow_cidr,
			const char *dns, const char *argv[LAUNCH_ARGV_MAX])
{
	size_t n = 0;
	n = put(argv, n, r->smolvm);
	n = put(argv, n, "machine");
	n = put(argv, n, "create");
	n = put_name(argv, n, r->name, v);
	n = put(argv, n, r->from ? "--from" : "--image");
	n = put(argv, n, r->from ? r->from : r->image);
	/* --net explicitly: with --from, --allow-cidr does not imply it before 1.8.0. */
	n = put(argv, n, "--net");
	n = put(argv, n, "--allow-cidr");
	n = put(argv, n, allow_cidr);
	if (dns) { /* the gateway's upstream: the bottle's DNS guard (>= 1.2.5) */
		n = put(argv, n, "--dns");
		put(argv, n, dns);
	}
}

void launch_delete_argv(const char *smolvm, const char *name, const struct bv_version *v,
			const char *argv[LAUNCH_ARGV_MAX])
{
	size_t n = 0;
	n = put(argv, n, smolvm);
	n = put(argv, n, "machine");
	n = put(argv, n, "delete");
	n = put_name(argv, n, name, v);
	put(argv, n, "-f"); /* without -f smolvm prints "Cancelled", exits 0 and deletes nothing */
}

/* "OPTION VALUE" pairs after argv[n], those with a value only. */
static void put_options(const char *argv[LAUNCH_ARGV_MAX], size_t n, const char *const opt[][2], size_t count)
{
	for (size_t i = 0; i < count; i++) {
		if (!opt[i][1])
			continue;
		n = put(argv, n, opt[i][0]);
		n = put(argv, n, opt[i][1]);
	}
}

void launch_verify_argv(const struct launch_req *r, const char *allow_cidr, const char *control,
			const struct dnsguard *guard, const char *argv[LAUNCH_ARGV_MAX])
{
	size_t n = 0;
	n = put(argv, n, r->verify);
	if (r->json) {
		n = put(argv, n, "--format");
		n = put(argv, n, "json");
	}
	n = put(argv, n, "all");
	n = put(argv, n, r->name);
	n = put(argv, n, "--expect");
	n = put(argv, n, allow_cidr);
	n = put(argv, n, "--smolvm");
	n = put(argv, n, r->smolvm);
	n = put(argv, n, "--policy");
	n = put(argv, n, r->policy ? r->policy : "builtin");
	/* The hand-over decides once: it watches the whole window (docs/trust.md). */
	n = put(argv, n, "--full-window");
	if (control) {
		n = put(argv, n, "--allow-dest");
		n = put(argv, n, control);
	}
	const char *opt[][2] = { { "--kvm-device", r->kvm_device }, { "--db", r->db },
				 { "--data-dir", r->data_dir }, { "--dns-guard", guard ? guard->addr : NULL },
				 { "--dns-guard-log", guard ? guard->log : NULL } };
	put_options(argv, n, opt, sizeof opt / sizeof opt[0]);
}

void launch_watch_argv(const struct launch_req *r, const char *allow_cidr, const struct dnsguard *guard,
		       const char *argv[LAUNCH_ARGV_MAX])
{
	size_t n = 0;
	n = put(argv, n, r->verify);
	n = put(argv, n, "watch");
	n = put(argv, n, r->name);
	n = put(argv, n, "--expect");
	n = put(argv, n, allow_cidr);
	n = put(argv, n, "--smolvm");
	n = put(argv, n, r->smolvm);
	n = put(argv, n, "--stop-on-finding");
	const char *opt[][2] = { { "--interval", r->watch_interval }, { "--db", r->db },
				 { "--data-dir", r->data_dir }, { "--dns-guard", guard ? guard->addr : NULL } };
	put_options(argv, n, opt, sizeof opt / sizeof opt[0]);
}
