/* plan.h - what `bottle-launch up` will do, decided before anything changes.
 * The allowlist (an alias from the pool or one --allow address), refusals of setups known
 * to be broken on the detected smolvm, and smolvm's argv shapes per version. */
#ifndef BV_LAUNCH_PLAN_H
#define BV_LAUNCH_PLAN_H

#include <stdbool.h>

#include "core/cidr.h"
#include "launch/dnsguard.h"
#include "core/error.h"
#include "smolvm/version.h"

#define LAUNCH_ARGV_MAX 24

struct launch_req {
	const char *name;
	const char *from;        /* --from PACK, or */
	const char *image;       /* --image REF */
	const char *allow;       /* --allow CIDR, or */
	bool alias_auto;         /* --alias auto */
	unsigned control_port;   /* --control-port: TCP port of the bundle at the allowed address */
	const char *policy;      /* --policy FILE; NULL: the built-in policy */
	const char *smolvm;      /* smolvm binary */
	const char *verify;      /* bottle-verify binary */
	const char *kvm_device;  /* for preflight and verify (tests point it at their own) */
	const char *lease_dir, *db, *data_dir;
	bool dry_run;
	char **cmd;              /* after "--": run in the bottle once it is proven; or NULL */
	/* The DNS guard (docs/launch.md): on by default where smolvm has --dns (>= 1.2.5). */
	bool no_dns_guard;       /* --no-dns-guard: leave smolvm's DNS carve-out open (TODO) */
	bool require_dns_guard;  /* --require-dns-guard: refuse a smolvm without --dns */
	const char *dns_guard_addr, *dns_guard_user, *dnsmasq;
	const char *dns_allow[DNSGUARD_ALLOW_MAX + 1]; /* --dns-allow NAME=IPV4 */
	size_t n_dns_allow;
	bool watch;              /* --watch: a bottle-verify watch beside the bottle until down */
	const char *watch_interval; /* --watch-interval MS, or NULL (the watch's default) */
	bool json;               /* --format json: the result is one JSON document on stdout,
				  * bottle-verify's report inside it (launch/result.h) */
};

/* The single allowed destination as a CIDR: "127.0.0.16/32" for an alias, or --allow
 * parsed; refused (-EPERM, err explains) when wider than one address. */
int launch_allowlist(const char *text, struct bv_cidr *out, struct bv_error *err);

/* Setups known to be broken on this smolvm (docs/launch.md, step 3): -EPERM with the
 * explanation and what to do instead; 0 when none applies. */
int launch_refusal(const struct launch_req *r, const struct bv_version *v, const struct bv_cidr *allow,
		   struct bv_error *err);

/* A DNS guard for this bottle: smolvm has --dns (>= 1.2.5) and --no-dns-guard was not given. */
bool launch_wants_guard(const struct launch_req *r, const struct bv_version *v);

/* smolvm argv (pointers into r, allow_cidr and dns; NULL-terminated). dns: the guard's
 * address for --dns, or NULL. */
void launch_create_argv(const struct launch_req *r, const struct bv_version *v, const char *allow_cidr,
			const char *dns, const char *argv[LAUNCH_ARGV_MAX]);
void launch_delete_argv(const char *smolvm, const char *name, const struct bv_version *v,
			const char *argv[LAUNCH_ARGV_MAX]);

/* bottle-verify all argv; control ("tcp:ADDR:PORT") and guard may be NULL. */
void launch_verify_argv(const struct launch_req *r, const char *allow_cidr, const char *control,
			const struct dnsguard *guard, const char *argv[LAUNCH_ARGV_MAX]);

/* bottle-verify watch argv for --watch (stops the machine on a finding); guard may be NULL. */
void launch_watch_argv(const struct launch_req *r, const char *allow_cidr, const struct dnsguard *guard,
		       const char *argv[LAUNCH_ARGV_MAX]);

#endif
