/* subnet.h - the original launcher's per-bottle bundle subnet, derived from the slug.
 * bot-bottle pinned each bottle's sidecar bundle on a docker bridge 192.168.OCTET.0/24;
 * bottle-launch shows that derivation in its plan (it creates no docker network). */
#ifndef BV_LAUNCH_SUBNET_H
#define BV_LAUNCH_SUBNET_H

#include <stdbool.h>
#include <stddef.h>

/* The slug: lower case, every byte outside [a-z0-9-] becomes '-'. */
void subnet_slug(const char *name, char *out, size_t cap);

/* OCTET = (SHA-256 of the slug as one big-endian integer) mod 254 + 1, and 17 (docker's
 * common 192.168.17.x) becomes 18. bot-bottle's docs say "slug hash ... mod 254,
 * skipping 17"; the exact offset was not readable, so this is the reading the issue
 * fixes. Returns 1..254, never 17. */
unsigned subnet_octet(const char *slug);

/* A bottle's file in the launcher's state dir: "DIR/KIND-SLUG-HASH.EXT", the slug cut to
 * 64 bytes and HASH the FNV-1a of the exact name (two names with one slug never share a
 * file). false when it does not fit in cap. */
bool launch_state_path(const char *dir, const char *kind, const char *name, const char *ext, char *buf, size_t cap);

#endif
