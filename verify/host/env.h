/* env.h - plaintext secrets in a machine's persisted env.
 * smolvm stores `-e K=V` pairs in vms.data in clear; a name or value that looks like a
 * credential is a finding. Values are never echoed, only their names and lengths. */
#ifndef BV_VERIFY_HOST_ENV_H
#define BV_VERIFY_HOST_ENV_H

#include <stdbool.h>

/* True when the variable name or the value looks like a credential. */
bool env_looks_secret(const char *name, const char *value);

#endif
