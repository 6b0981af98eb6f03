/* transport.h - how the probe gets into a bottle and its report gets out.
 * netns: run bottle-probe in a network namespace (setns + execve, plan on stdin).
 * smolvm: `machine cp` the probe and the plan in, `machine exec` it with a sentinel exit
 * code. cmd: run a host program (e.g. the qemu lane's guest runner) as `CMD PROBE`, plan on
 * stdin; it must exit with the sentinel when the probe ran to the end. The caller stays
 * where the sinks listen. No shell anywhere. */
#ifndef BV_VERIFY_EGRESS_TRANSPORT_H
#define BV_VERIFY_EGRESS_TRANSPORT_H

#include <stddef.h>

#include "core/cidr.h"
#include "core/error.h"
#include "core/proc.h"
#include "smolvm/version.h"

enum transport_kind { TRANSPORT_NETNS, TRANSPORT_SMOLVM, TRANSPORT_CMD };

/* bottle-probe's exit status on success under the smolvm transport: never 0, 1 or 124,
 * which smolvm uses for itself. */
#define TRANSPORT_OK_EXIT 77
/* cmd: what a runner gets on top of the plan's deadline (a VM boots first). */
#define TRANSPORT_CMD_BOOT_MS 60000

struct transport {
	enum transport_kind kind;
	const char *netns;   /* netns: "NAME" (under /run/netns) or an absolute ns path */
	const char *smolvm;  /* smolvm: the smolvm binary */
	const char *machine; /* smolvm: the machine name */
	const char *cmd;     /* cmd: the guest runner program */
	const char *probe;   /* host path of the bottle-probe binary */
	/* smolvm: the bottle's smolvm version (v->known false: could not be read). It decides
	 * how the probe is copied in and what a guest's silence can prove. NULL elsewhere. */
	const struct bv_version *version;
	/* smolvm: the machine's data dir (agent.pid, egress-denials.log) and its allowlist,
	 * for the outside evidence (evidence.h); allowed may be NULL: controls only. */
	const char *data_dir;
	const struct bv_cidr_set *allowed;
	/* smolvm: the bottle's DNS guard (--dns-guard ADDR, --dns-guard-log FILE), or NULL. */
	const char *guard_addr, *guard_log;
	/* smolvm: never end a run early on its evidence (--full-window). */
	bool full_window;
};

/* Run the probe with plan on stdin; capture up to 1 MiB of stdout and 64 KiB of stderr;
 * kill it after timeout_ms. smolvm: kill its `machine exec` as soon as w (may be NULL)
 * says stop (res->stopped; the guest's probe then ends at its own deadline at the latest);
 * w is not used by the other transports. 0 and res filled whatever the probe's status;
 * -errno when it could not be started (res then says nothing). */
int transport_run_probe(const struct transport *t, const char *plan, size_t plan_len, int timeout_ms,
			const struct spawn_watch *w, struct spawn_result *res, struct bv_error *err);

/* Where a --netns names its namespace: NAME under /run/netns (ip netns), or the absolute
 * path itself. The transport enters it; the command line checks it is there first. */
void transport_netns_path(const char *netns, char *out, size_t cap);

#endif
