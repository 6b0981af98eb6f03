/* paths.h - where smolvm keeps its state, derived exactly as smolvm derives it.
 * Linux: dirs::data_local_dir / cache_dir rules (XDG only when absolute, HOME, then the
 * passwd entry; SMOLVM_DATA_DIR replaces HOME); macOS: ~/Library/... . */
#ifndef BV_SMOLVM_PATHS_H
#define BV_SMOLVM_PATHS_H

#include <stdbool.h>
#include <stddef.h>

#include "core/error.h"
#include "smolvm/version.h"

enum bv_platform { BV_PLATFORM_LINUX, BV_PLATFORM_MACOS };

/* Where the environment comes from; tests pass their own. getenv == NULL means the
 * process environment; home_from_passwd == NULL means getpwuid(getuid()), as dirs-sys does. */
struct bv_path_env {
	enum bv_platform platform;
	const char *(*getenv)(const char *name, void *ctx);
	char *(*home_from_passwd)(void *ctx); /* malloc'd string or NULL */
	void *ctx;
	/* smolvm < 1.2.5 ignores SMOLVM_DATA_DIR (apply_system_data_root, src/main.rs @v1.2.5):
	 * set by paths_env_for_version, so paths follow HOME as that smolvm does. */
	bool data_dir_env_ignored;
};

/* The host's platform and the real environment. */
void paths_env_default(struct bv_path_env *env);
/* Fit env to the smolvm that will use the paths (a version not known: the newest rules). */
void paths_env_for_version(struct bv_path_env *env, const struct bv_version *v);

/* <data_local_dir>/smolvm/server/smolvm.db  (malloc'd into *out). */
int paths_state_db(const struct bv_path_env *env, char **out, struct bv_error *err);

/* <cache_dir>/smolvm/vms/<hex of the first 8 bytes of sha256(name)>. */
int paths_vm_data_dir(const struct bv_path_env *env, const char *name, char **out,
		      struct bv_error *err);

/* 16 lowercase hex chars + NUL: hex(sha256(name)[0..8]), via nettle. */
void paths_vm_dir_hash(const char *name, char out[17]);

#endif
