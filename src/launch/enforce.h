/* enforce.h - set a machine's allowed_cidrs in smolvm's DB, fail-closed.
 * The successor of bot-bottle's force_allowlist (docs/launch.md, "enforce"): vm.lock
 * without waiting, no live VMM, BEGIN IMMEDIATE, only allowed_cidrs changes, BLOB, re-read. */
#ifndef BV_LAUNCH_ENFORCE_H
#define BV_LAUNCH_ENFORCE_H

#include <stdbool.h>

#include "core/cidr.h"
#include "core/error.h"

struct enforce_opts {
	const char *db_path;             /* smolvm.db */
	const char *data_dir;            /* the machine's data dir (holds vm.lock, agent.pid) */
	const char *name;                /* machine name (vms.name) */
	const struct bv_cidr_set *allow; /* the allowlist to enforce; no host bits */
	/* smolvm < 1.0.0 makes the data dir only at start (version_data_dir_at_create): when
	 * it is missing and the row is `created` with no live VMM, create it the way smolvm's
	 * ensure_vm_dir would (create_dir_all, owned by the DB's owner) before locking. */
	bool create_missing_dir;
};

enum enforce_outcome {
	ENFORCE_WRITTEN,   /* the row was patched and the re-read confirmed it */
	ENFORCE_UNCHANGED, /* the row already matched: nothing written */
};

struct enforce_result {
	enum enforce_outcome outcome;
	char *before; /* allowed_cidrs as stored before, JSON text, malloc'd */
	char *after;  /* as stored after */
	bool committed; /* our bytes were committed (even if a later re-read failed) */
};

/* 0 and result filled, or a negative errno with err saying why nothing was written:
 * -ENOENT (DB, row or data dir missing), -EBUSY (vm.lock held, VMM alive),
 * -EPERM (state, ephemeral or fork base forbids a patch), -EINVAL (bad allowlist or an
 * unreadable row), -EIO (the patch did not take). */
int enforce_allowlist(const struct enforce_opts *o, struct enforce_result *result,
		      struct bv_error *err);
void enforce_result_free(struct enforce_result *result);

/* Build the patched record bytes: rec's bytes with only the allowed_cidrs value replaced
 * (or the member appended when absent). Exposed for tests. */
int enforce_splice(const unsigned char *raw, size_t len, const struct bv_cidr_set *allow,
		   unsigned char **out, size_t *out_len, struct bv_error *err);

#endif
