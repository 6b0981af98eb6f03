/* version.c - see version.h */
#include "version.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

static int read_number(const char **p, unsigned *out)
{
	const char *s = *p;
	unsigned v = 0;
	size_t n = 0;
	while (s[n] >= '0' && s[n] <= '9') {
		v = v * 10 + (unsigned)(s[n] - '0');
		if (++n > 6 || v > 100000)
			return -1;
	}
	if (n == 0)
		return -1;
	*out = v;
	*p = s + n;
	return 0;
}

int version_parse(const char *text, struct bv_version *out, struct bv_error *err)
{
	struct bv_version v = { 0 };
	const char *p = text ? text : "";
	if (strncmp(p, "smolvm ", 7) == 0)
		p += 7;
	if (*p == 'v')
		p++;
	if (read_number(&p, &v.major) < 0 || *p++ != '.' || read_number(&p, &v.minor) < 0 ||
	    *p++ != '.' || read_number(&p, &v.patch) < 0)
		return bv_error_set(err, EINVAL, "not a smolvm version: \"%.60s\"", text ? text : "");
	if (*p && *p != '-' && *p != '+' && *p != ' ' && *p != '\n')
		return bv_error_set(err, EINVAL, "not a smolvm version: \"%.60s\"", text);
	v.prerelease = *p == '-';
	v.known = true;
	*out = v;
	return 0;
}

int version_cmp(const struct bv_version *a, unsigned major, unsigned minor, unsigned patch)
{
	if (a->major != major)
		return a->major < major ? -1 : 1;
	if (a->minor != minor)
		return a->minor < minor ? -1 : 1;
	if (a->patch != patch)
		return a->patch < patch ? -1 : 1;
	return a->prerelease ? -1 : 0; /* 1.8.0-rc1 comes before 1.8.0 */
}

const char *version_format(const struct bv_version *v, char *buf, unsigned long len)
{
	if (!v->known)
		snprintf(buf, len, "unknown");
	else
		snprintf(buf, len, "%u.%u.%u", v->major, v->minor, v->patch);
	return buf;
}

bool version_from_drops_policy(const struct bv_version *v)
{
	return v->known && version_cmp(v, 1, 8, 0) < 0;
}

bool version_policy_defaults_virtio(const struct bv_version *v)
{
	return v->known && version_cmp(v, 1, 1, 3) >= 0;
}

bool version_loopback_stays_in_guest(const struct bv_version *v)
{
	return v->known && version_cmp(v, 1, 1, 3) >= 0;
}

bool version_has_dns_filter_hosts(const struct bv_version *v)
{
	return v->known && version_cmp(v, 0, 5, 0) >= 0;
}

bool version_gateway_dials_host_loopback(const struct bv_version *v)
{
	return v->known && version_cmp(v, 1, 7, 2) >= 0;
}
