/* around.c - see around.h. Addresses are worked on as 16 big-endian bytes (IPv4 in the
 * first 4), so one add/subtract serves both families. */
#include "egress/around.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

struct addr {
	int family;
	size_t len; /* 4 or 16 */
	unsigned char b[16];
};

/* a + delta (+1 or -1); false when it wraps past the family's range. */
static bool step(struct addr *a, int delta)
{
	for (size_t i = a->len; i-- > 0;) {
		unsigned v = a->b[i] + (unsigned)(delta > 0 ? 1 : 0xff);
		bool carry = delta > 0 ? v > 0xff : a->b[i] != 0;
		a->b[i] = (unsigned char)v;
		if (delta > 0 ? !carry : carry)
			return true;
	}
	return false;
}

static void prefix_ends(const struct bv_cidr *c, struct addr *lo, struct addr *hi)
{
	lo->family = hi->family = c->family;
	lo->len = hi->len = c->family == AF_INET ? 4 : 16;
	for (size_t i = 0; i < lo->len; i++) {
		unsigned bits = c->prefix > 8 * i ? c->prefix - 8 * (unsigned)i : 0;
		unsigned char mask = bits >= 8 ? 0xff : (unsigned char)(0xff << (8 - bits));
		lo->b[i] = c->addr[i] & mask;
		hi->b[i] = (unsigned char)(c->addr[i] | ~mask);
	}
}

static bool allowed_has(const struct bv_cidr_set *allowed, const struct addr *a)
{
	struct bv_cidr host = { .family = a->family, .prefix = a->len == 4 ? 32 : 128 };
	memcpy(host.addr, a->b, a->len);
	for (size_t i = 0; i < allowed->len; i++)
		if (cidr_contains(&allowed->items[i], &host))
			return true;
	return false;
}

/* Can a sink bind the address at this port (the host holds it, and nothing listens)? */
static bool host_holds(const struct addr *a, unsigned port)
{
	struct sockaddr_storage ss = { 0 };
	socklen_t len;
	if (a->family == AF_INET) {
		struct sockaddr_in *v4 = (struct sockaddr_in *)&ss;
		v4->sin_family = AF_INET;
		memcpy(&v4->sin_addr, a->b, 4);
		v4->sin_port = htons((unsigned short)port);
		len = sizeof *v4;
	} else {
		struct sockaddr_in6 *v6 = (struct sockaddr_in6 *)&ss;
		v6->sin6_family = AF_INET6;
		memcpy(&v6->sin6_addr, a->b, 16);
		v6->sin6_port = htons((unsigned short)port);
		len = sizeof *v6;
	}
	int fd = socket(a->family, SOCK_STREAM | SOCK_CLOEXEC, 0), one = 1;
	/* as the sink binds: an earlier run's connection in TIME_WAIT does not stop it */
	bool ok = fd >= 0 && setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) == 0 &&
		  bind(fd, (struct sockaddr *)&ss, len) == 0;
	if (fd >= 0)
		close(fd);
	return ok;
}

static bool listed(const struct policy *p, const char *text)
{
	for (size_t i = 0; i < p->n_dests; i++)
		if (strcmp(p->dests[i].cls, AROUND_CLASS) == 0 && strcmp(p->dests[i].addr, text) == 0)
			return true;
	return false;
}

static int add(struct policy *p, const struct bv_cidr_set *allowed, const struct addr *a, unsigned port,
	       struct bv_error *err)
{
	char text[INET6_ADDRSTRLEN];
	if (allowed_has(allowed, a) || !inet_ntop(a->family, a->b, text, sizeof text) || listed(p, text))
		return 0;
	if (p->n_dests >= POLICY_MAX_DESTS)
		return bv_error_set(err, EINVAL, "policy: more than %d destinations with %s", POLICY_MAX_DESTS, AROUND_CLASS);
	struct policy_dest *d = &p->dests[p->n_dests++];
	memset(d, 0, sizeof *d);
	snprintf(d->cls, sizeof d->cls, "%s", AROUND_CLASS);
	d->kind = PROBE_TCP;
	snprintf(d->addr, sizeof d->addr, "%s", text);
	snprintf(d->sink_addr, sizeof d->sink_addr, "%s", text);
	d->port = port;
	d->sink = host_holds(a, port);
	return 0;
}

/* The IPv4 extras: .1 and .254 of the prefix's /24, and its first address in the next /24
 * of its /16 (the third octet's low bit flipped). */
static int add_v4_neighbourhood(struct policy *p, const struct bv_cidr_set *allowed, const struct addr *lo,
				unsigned port, struct bv_error *err)
{
	struct addr a = *lo;
	int r = 0;
	a.b[3] = 1;
	r = add(p, allowed, &a, port, err);
	a.b[3] = 254;
	if (r == 0)
		r = add(p, allowed, &a, port, err);
	a = *lo;
	a.b[2] ^= 1;
	return r == 0 ? add(p, allowed, &a, port, err) : r;
}

int policy_add_around(struct policy *p, const struct bv_cidr_set *allowed, struct bv_error *err)
{
	unsigned port = 443;
	for (size_t i = 0; i < p->n_dests; i++)
		if (p->dests[i].control) {
			port = p->dests[i].port;
			break;
		}
	int r = 0;
	for (size_t i = 0; allowed && i < allowed->len && r == 0; i++) {
		struct addr lo, hi;
		prefix_ends(&allowed->items[i], &lo, &hi);
		struct addr below = lo, above = hi;
		if (step(&below, -1))
			r = add(p, allowed, &below, port, err);
		if (r == 0 && step(&above, +1))
			r = add(p, allowed, &above, port, err);
		if (r == 0 && lo.family == AF_INET)
			r = add_v4_neighbourhood(p, allowed, &lo, port, err);
	}
	return r;
}
