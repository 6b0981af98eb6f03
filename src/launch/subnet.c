/* subnet.c - see subnet.h */
#include "launch/subnet.h"

#include <nettle/sha2.h>
#include <stdio.h>
#include <string.h>

void subnet_slug(const char *name, char *out, size_t cap)
{
	size_t i = 0;
	for (; name[i] && i + 1 < cap; i++) {
		char c = name[i];
		if (c >= 'A' && c <= 'Z')
			c = (char)(c - 'A' + 'a');
		out[i] = ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-') ? c : '-';
	}
	if (cap)
		out[i] = '\0';
}

unsigned subnet_octet(const char *slug)
{
	struct sha256_ctx ctx;
	unsigned char d[SHA256_DIGEST_SIZE];
	sha256_init(&ctx);
	sha256_update(&ctx, strlen(slug), (const unsigned char *)slug);
	sha256_digest(&ctx, sizeof d, d);
	unsigned rem = 0; /* big-endian integer mod 254, one byte at a time */
	for (size_t i = 0; i < sizeof d; i++)
		rem = (rem * 256u + d[i]) % 254u;
	unsigned octet = rem + 1;
	return octet == 17 ? 18 : octet;
}

/* FNV-1a, 64 bits: tells apart names that share a slug ("s.x", "s_x"). */
static unsigned long long name_hash(const char *name)
{
	unsigned long long h = 1469598103934665603ULL;
	for (const unsigned char *p = (const unsigned char *)name; *p; p++)
		h = (h ^ *p) * 1099511628211ULL;
	return h;
}

bool launch_state_path(const char *dir, const char *kind, const char *name, const char *ext, char *buf, size_t cap)
{
	char slug[256];
	subnet_slug(name, slug, sizeof slug);
	return (size_t)snprintf(buf, cap, "%s/%s-%.64s-%016llx.%s", dir, kind, slug, name_hash(name), ext) < cap;
}
