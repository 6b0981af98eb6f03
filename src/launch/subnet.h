/* subnet.h - the original launcher's per-bottle bundle subnet, derived from the slug.
 * bot-bottle pinned each bottle's sidecar bundle on a docker bridge 192.168.OCTET.0/24;
 * bottle-launch shows that derivation in its plan (it creates no docker network). */
#ifndef BV_LAUNCH_SUBNET_H
#define BV_LAUNCH_SUBNET_H

#include <stddef.h>

/* The slug: lower case, every byte outside [a-z0-9-] becomes '-'. */
void subnet_slug(const char *name, char *out, size_t cap);

/* OCTET = (SHA-256 of the slug as one big-endian integer) mod 254 + 1, and 17 (docker's
 * common 192.168.17.x) becomes 18. bot-bottle's docs say "slug hash ... mod 254,
 * skipping 17"; the exact offset was not readable, so this is the reading the issue
 * fixes. Returns 1..254, never 17. */
unsigned subnet_octet(const char *slug);

#endif
