/* version.h - smolvm's version and what it means for confinement.
 * Parses "smolvm X.Y.Z" as `smolvm --version` prints it, compares versions, and names the
 * behaviour changes research/smolvm.md lists (0.5.0, 1.0.2, 1.1.3, 1.7.2, 1.8.0 ...). */
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

#endif
