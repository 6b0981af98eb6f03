/* preflight.h - `bottle-verify preflight`: can this host run a confined bottle?
 * smolvm present and its version (and what that version is known to do), /dev/kvm
 * present and usable, and environment variables that weaken smolvm's confinement. */
#ifndef BV_VERIFY_HOST_PREFLIGHT_H
#define BV_VERIFY_HOST_PREFLIGHT_H

#include "smolvm/paths.h"
#include "core/report.h"
#include "smolvm/version.h"

struct preflight_opts {
	const char *smolvm_bin;       /* "smolvm" or a path */
	const char *kvm_device;       /* "/dev/kvm" unless a test points elsewhere */
	enum bv_platform platform;
	const char *version_override; /* --smolvm-version, or NULL to ask smolvm */
};

/* Adds the points; fills *version with what was detected (known=false otherwise). */
int check_preflight(struct bv_report *r, const struct preflight_opts *o, struct bv_version *version);

/* Detect the version only (for `db`): --smolvm-version, else `smolvm --version`. Adds a
 * note to r saying where the version came from or why it is unknown. */
void detect_version(struct bv_report *r, const char *smolvm_bin, const char *override,
		    struct bv_version *version);

#endif
