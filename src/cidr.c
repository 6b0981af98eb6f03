/* cidr.c - see cidr.h */
#include "cidr.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

static unsigned family_bits(int family)
{
	return family == AF_INET ? 32 : 128;
}

/* Strict dotted quad: four decimal octets, no leading zeros, no sign, nothing else. */
static int parse_v4(const char *s, size_t len, unsigned char out[4])
{
	size_t i = 0;
	for (int octet = 0; octet < 4; octet++) {
		if (octet > 0) {
			if (i >= len || s[i] != '.')
				return -1;
			i++;
		}
		size_t start = i;
		unsigned v = 0;
		while (i < len && s[i] >= '0' && s[i] <= '9' && i - start < 3)
			v = v * 10 + (unsigned)(s[i++] - '0');
		size_t n = i - start;
		if (n == 0 || v > 255 || (n > 1 && s[start] == '0'))
			return -1;
		out[octet] = (unsigned char)v;
	}
	return i == len ? 0 : -1;
}

/* IPv6: only hex digits, ':' and '.', then inet_pton for the grammar. */
static int parse_v6(const char *s, size_t len, unsigned char out[16])
{
	char buf[INET6_ADDRSTRLEN + 1];
	if (len == 0 || len >= sizeof buf)
		return -1;
	for (size_t i = 0; i < len; i++) {
		char c = s[i];
		bool ok = (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F') ||
			  c == ':' || c == '.';
		if (!ok)
			return -1;
	}
	memcpy(buf, s, len);
	buf[len] = '\0';
	return inet_pton(AF_INET6, buf, out) == 1 ? 0 : -1;
}

static int parse_prefix(const char *s, unsigned max, unsigned *out)
{
	size_t n = strlen(s);
	if (n == 0 || n > 3 || (n > 1 && s[0] == '0'))
		return -1;
	unsigned v = 0;
	for (size_t i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		v = v * 10 + (unsigned)(s[i] - '0');
	}
	if (v > max)
		return -1;
	*out = v;
	return 0;
}

int cidr_parse(const char *text, struct bv_cidr *out, struct bv_error *err)
{
	struct bv_cidr c = { 0 };
	if (!text)
		return bv_error_set(err, EINVAL, "invalid CIDR: (null)");
	const char *slash = strchr(text, '/');
	size_t alen = slash ? (size_t)(slash - text) : strlen(text);
	if (memchr(text, ':', alen)) {
		c.family = AF_INET6;
		if (parse_v6(text, alen, c.addr) < 0)
			return bv_error_set(err, EINVAL, "invalid CIDR \"%.80s\": not an IPv6 address", text);
	} else {
		c.family = AF_INET;
		if (parse_v4(text, alen, c.addr) < 0)
			return bv_error_set(err, EINVAL, "invalid CIDR \"%.80s\": not an IPv4 address", text);
	}
	c.prefix = family_bits(c.family);
	if (slash && parse_prefix(slash + 1, family_bits(c.family), &c.prefix) < 0)
		return bv_error_set(err, EINVAL, "invalid CIDR \"%.80s\": bad prefix length", text);
	*out = c;
	return 0;
}

void cidr_network(const struct bv_cidr *c, struct bv_cidr *out)
{
	*out = *c;
	unsigned bytes = family_bits(c->family) / 8;
	for (unsigned i = 0; i < bytes; i++) {
		unsigned bit0 = i * 8;
		if (bit0 >= c->prefix)
			out->addr[i] = 0;
		else if (c->prefix - bit0 < 8)
			out->addr[i] &= (unsigned char)(0xff << (8 - (c->prefix - bit0)));
	}
}

bool cidr_has_host_bits(const struct bv_cidr *c)
{
	struct bv_cidr n;
	cidr_network(c, &n);
	return memcmp(n.addr, c->addr, family_bits(c->family) / 8) != 0;
}

void cidr_format(const struct bv_cidr *c, char buf[CIDR_TEXT_MAX])
{
	char a[INET6_ADDRSTRLEN] = "?";
	inet_ntop(c->family, c->addr, a, sizeof a);
	snprintf(buf, CIDR_TEXT_MAX, "%s/%u", a, c->prefix);
}

void cidr_format_network(const struct bv_cidr *c, char buf[CIDR_TEXT_MAX])
{
	struct bv_cidr n;
	cidr_network(c, &n);
	cidr_format(&n, buf);
}

bool cidr_equal(const struct bv_cidr *a, const struct bv_cidr *b)
{
	struct bv_cidr na, nb;
	if (a->family != b->family || a->prefix != b->prefix)
		return false;
	cidr_network(a, &na);
	cidr_network(b, &nb);
	return memcmp(na.addr, nb.addr, family_bits(a->family) / 8) == 0;
}

bool cidr_contains(const struct bv_cidr *outer, const struct bv_cidr *inner)
{
	if (outer->family != inner->family || inner->prefix < outer->prefix)
		return false;
	struct bv_cidr probe = *inner, no, ni;
	probe.prefix = outer->prefix;
	cidr_network(outer, &no);
	cidr_network(&probe, &ni);
	return memcmp(no.addr, ni.addr, family_bits(outer->family) / 8) == 0;
}

bool cidr_is_loopback(const struct bv_cidr *c)
{
	static const unsigned char v6_lo[16] = { [15] = 1 };
	struct bv_cidr lo8 = { .family = AF_INET, .addr = { 127 }, .prefix = 8 };
	if (c->family == AF_INET)
		return cidr_contains(&lo8, c);
	return c->prefix == 128 && memcmp(c->addr, v6_lo, 16) == 0;
}

int cidr_set_add(struct bv_cidr_set *set, const struct bv_cidr *c, struct bv_error *err)
{
	if (set->len == set->cap) {
		size_t cap = set->cap ? set->cap * 2 : 4;
		struct bv_cidr *items = realloc(set->items, cap * sizeof *items);
		if (!items)
			return bv_error_set(err, ENOMEM, "out of memory");
		set->items = items;
		set->cap = cap;
	}
	set->items[set->len++] = *c;
	return 0;
}

int cidr_set_add_text(struct bv_cidr_set *set, const char *text, struct bv_error *err)
{
	struct bv_cidr c;
	int r = cidr_parse(text, &c, err);
	return r < 0 ? r : cidr_set_add(set, &c, err);
}

void cidr_set_free(struct bv_cidr_set *set)
{
	free(set->items);
	set->items = NULL;
	set->len = set->cap = 0;
}

bool cidr_set_has(const struct bv_cidr_set *set, const struct bv_cidr *c)
{
	for (size_t i = 0; i < set->len; i++)
		if (cidr_equal(&set->items[i], c))
			return true;
	return false;
}

/* Append each member of from that other lacks (once) to out. */
static int set_minus(const struct bv_cidr_set *from, const struct bv_cidr_set *other,
		     struct bv_cidr_set *out, struct bv_error *err)
{
	for (size_t i = 0; i < from->len; i++) {
		const struct bv_cidr *c = &from->items[i];
		if (cidr_set_has(other, c) || cidr_set_has(out, c))
			continue;
		int r = cidr_set_add(out, c, err);
		if (r < 0)
			return r;
	}
	return 0;
}

int cidr_set_diff(const struct bv_cidr_set *actual, const struct bv_cidr_set *expected,
		  struct bv_cidr_set *missing, struct bv_cidr_set *extra, struct bv_error *err)
{
	int r = set_minus(expected, actual, missing, err);
	return r < 0 ? r : set_minus(actual, expected, extra, err);
}

bool cidr_set_equal(const struct bv_cidr_set *a, const struct bv_cidr_set *b)
{
	for (size_t i = 0; i < a->len; i++)
		if (!cidr_set_has(b, &a->items[i]))
			return false;
	for (size_t i = 0; i < b->len; i++)
		if (!cidr_set_has(a, &b->items[i]))
			return false;
	return true;
}
