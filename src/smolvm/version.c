/* version.c - see version.h */
#include "smolvm/version.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#define VERSION_PART_MAX 100000u

/* Digits only (no sign, no space), value at most VERSION_PART_MAX. */
static int read_part(const char **p, unsigned *out)
{
	const char *s = *p;
	unsigned v = 0;
	if (*s < '0' || *s > '9')
		return -1;
	for (; *s >= '0' && *s <= '9'; s++) {
		v = v * 10 + (unsigned)(*s - '0'); /* v <= 100000 here, so no wrap */
		if (v > VERSION_PART_MAX)
			return -1;
	}
	*out = v;
	*p = s;
	return 0;
}

static bool suffix_ok(char c)
{
	return c == '\0' || c == '-' || c == '+' || c == ' ' || c == '\n';
}

/* The start of what was read, with anything unprintable shown as '?', for messages. */
static void quote(const char *text, char out[64])
{
	size_t i = 0;
	for (; i < 63 && text[i]; i++)
		out[i] = text[i] >= 0x20 && text[i] < 0x7f ? text[i] : '?';
	out[i] = '\0';
}

static int parse_error(const char *text, struct bv_error *err)
{
	char shown[64];
	quote(text, shown);
	return bv_error_set(err, EINVAL,
			    "not a smolvm version: \"%s%s\" (want \"smolvm X.Y.Z\" or \"X.Y.Z\")",
			    shown, strnlen(text, 64) > 63 ? "..." : "");
}

int version_parse(const char *text, struct bv_version *out, struct bv_error *err)
{
	struct bv_version v = { 0 };
	const char *p = text ? text : "";
	*out = v;
	if (strncmp(p, "smolvm ", 7) == 0)
		p += 7;
	if (*p == 'v')
		p++;
	if (read_part(&p, &v.major) < 0 || *p++ != '.' || read_part(&p, &v.minor) < 0 ||
	    *p++ != '.' || read_part(&p, &v.patch) < 0 || !suffix_ok(*p))
		return parse_error(text ? text : "", err);
	v.prerelease = *p == '-';
	v.known = true;
	*out = v;
	return 0;
}

static int cmp_unsigned(unsigned a, unsigned b)
{
	return a < b ? -1 : a > b;
}

int version_cmp(const struct bv_version *a, unsigned major, unsigned minor, unsigned patch)
{
	int c = cmp_unsigned(a->major, major);
	if (c == 0)
		c = cmp_unsigned(a->minor, minor);
	if (c == 0)
		c = cmp_unsigned(a->patch, patch);
	if (c == 0 && a->prerelease)
		c = -1; /* 1.8.0-rc1 comes before 1.8.0 */
	return c;
}

const char *version_format(const struct bv_version *v, char *buf, unsigned long len)
{
	if (v->known)
		snprintf(buf, len, "%u.%u.%u", v->major, v->minor, v->patch);
	else
		snprintf(buf, len, "unknown");
	return buf;
}

static bool at_least(const struct bv_version *v, unsigned major, unsigned minor, unsigned patch)
{
	return v->known && version_cmp(v, major, minor, patch) >= 0;
}

static bool before(const struct bv_version *v, unsigned major, unsigned minor, unsigned patch)
{
	return v->known && version_cmp(v, major, minor, patch) < 0;
}

bool version_from_drops_policy(const struct bv_version *v)
{
	return before(v, 1, 8, 0);
}

bool version_policy_defaults_virtio(const struct bv_version *v)
{
	return at_least(v, 1, 1, 3);
}

bool version_loopback_stays_in_guest(const struct bv_version *v)
{
	return at_least(v, 1, 1, 3);
}

bool version_has_dns_filter_hosts(const struct bv_version *v)
{
	return at_least(v, 0, 5, 0);
}

bool version_gateway_dials_host_loopback(const struct bv_version *v)
{
	return at_least(v, 1, 7, 2);
}

bool version_cp_has_mode(const struct bv_version *v)
{
	return at_least(v, 1, 9, 0);
}

bool version_has_denial_log(const struct bv_version *v)
{
	return at_least(v, 1, 8, 1);
}

bool version_gateway_serves_dns_tcp(const struct bv_version *v)
{
	return at_least(v, 1, 2, 5);
}

bool version_has_dns_flag(const struct bv_version *v)
{
	return at_least(v, 1, 2, 5);
}

bool version_ignores_data_dir_env(const struct bv_version *v)
{
	return before(v, 1, 2, 5);
}

bool version_data_dir_at_create(const struct bv_version *v)
{
	return at_least(v, 1, 0, 0);
}
