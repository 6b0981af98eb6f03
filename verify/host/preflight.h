/* preflight.h - `bottle-verify preflight`: can this host run a confined bottle?
 * smolvm present and its version (and what that version is known to do), /dev/kvm present,
 * usable and really running a vCPU, and environment variables that weaken confinement. */
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
	/* BOTTLE_VERIFY_KVM_STANDIN: a test's stand-in for the KVM device (the sim lane and the
	 * demo have no KVM). When it names kvm_device, preflight.kvm.runs is a visible SKIP
	 * (not ok under BOTTLE_VERIFY_MUST_RUN); anything else runs the guest. */
	const char *kvm_standin;
};

/* Adds the points; fills *version with what was detected (known=false otherwise). On
 * Linux with a usable device it runs a tiny guest (verify/host/kvm_run.h): up to 2 s, and
 * a SIGALRM handler for that time; call it before bottle-verify confines itself. */
int check_preflight(struct bv_report *r, const struct preflight_opts *o, struct bv_version *version);

/* Detect the version only (for `db`): --smolvm-version, else `smolvm --version`. Adds a
 * note to r saying where the version came from or why it is unknown. */
void detect_version(struct bv_report *r, const char *smolvm_bin, const char *override,
		    struct bv_version *version);

#endif
