/* version.h - smolvm's version and what it means for confinement.
 * Parses "smolvm X.Y.Z" as `smolvm --version` prints it, compares versions, and names the
 * behaviour changes that matter here (0.5.0, 1.0.0, 1.1.3, 1.2.5, 1.7.2, 1.8.0, 1.9.0 ...),
 * each with the smolvm file@tag it was read in. */
#ifndef BV_SMOLVM_VERSION_H
#define BV_SMOLVM_VERSION_H

#include <stdbool.h>

#include "core/error.h"

struct bv_version {
	unsigned major, minor, patch;
	bool known; /* false: not detected; every version-dependent judgement is inconclusive */
	bool prerelease; /* "1.1.3-rc1": before 1.1.3, so below every threshold it names */
};

/* Parse the first line of `smolvm --version` ("smolvm 1.9.2", maybe with a suffix such
 * as "-dev" or " (abc123)"), or a bare "1.9.2". Returns 0 or -EINVAL. */
int version_parse(const char *text, struct bv_version *out, struct bv_error *err);

/* <0, 0, >0 like strcmp. Both must be known. */
int version_cmp(const struct bv_version *a, unsigned major, unsigned minor, unsigned patch);

/* "1.9.2" or "unknown"; buf of at least 32 bytes. */
const char *version_format(const struct bv_version *v, char *buf, unsigned long len);

/* Behaviour predicates (all false when !v->known; callers check known first). */
bool version_from_drops_policy(const struct bv_version *v);   /* < 1.8.0: create --from drops --allow-cidr */
bool version_policy_defaults_virtio(const struct bv_version *v); /* >= 1.1.3 */
bool version_loopback_stays_in_guest(const struct bv_version *v); /* >= 1.1.3: 127/8 is the guest's own */
bool version_has_dns_filter_hosts(const struct bv_version *v); /* >= 0.5.0 */
bool version_gateway_dials_host_loopback(const struct bv_version *v); /* >= 1.7.2 */
/* >= 1.9.0: `machine cp --mode OCTAL` (src/cli/machine.rs CpCmd @v1.9.0); without it, and
 * on every older version, an upload lands 0644 (crates/smolvm-agent/src/main.rs). */
bool version_cp_has_mode(const struct bv_version *v);
/* >= 1.8.1: the gateway appends each refused connect/sendto to <data dir>/egress-denials.log
 * (record_denial, crates/smolvm-network/src/egress.rs @v1.8.1, commit ca0b2bf1). */
bool version_has_denial_log(const struct bv_version *v);
/* >= 1.2.5: the gateway serves DNS over TCP to its own address (and takes --dns). */
bool version_gateway_serves_dns_tcp(const struct bv_version *v);
/* >= 1.2.5: `create --dns IP` names the gateway's upstream resolver, stored as the row's
 * dns (#461; src/cli/machine.rs, src/agent/launcher.rs @v1.9.3): what a DNS guard needs. */
bool version_has_dns_flag(const struct bv_version *v);
/* >= 1.0.0: `create --from` makes the machine's data dir; before, only `start` does
 * (ensure_vm_dir, src/agent/manager.rs @v0.8.0), so a fresh row has no vm.lock yet. */
bool version_data_dir_at_create(const struct bv_version *v);
/* Known and < 1.2.5: SMOLVM_DATA_DIR means nothing to it (apply_system_data_root,
 * src/main.rs, is new in v1.2.5), so its state stays under HOME. */
bool version_ignores_data_dir_env(const struct bv_version *v);

#endif
