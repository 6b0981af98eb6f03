/* cidr.c - see cidr.h */
#include "core/cidr.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

/* Room for the quoted input in an error message; longer input is cut with "...". */
#define QUOTE_MAX 100

static unsigned family_bits(int family)
{
	return family == AF_INET ? 32 : 128;
}

/* The prefix, clamped so a hand-built struct can never index past addr[]. */
static unsigned prefix_of(const struct bv_cidr *c)
{
	unsigned width = family_bits(c->family);
	return c->prefix < width ? c->prefix : width;
}

static bool is_digit(char ch)
{
	return ch >= '0' && ch <= '9';
}

static bool is_v6_char(char ch)
{
	return is_digit(ch) || (ch >= 'a' && ch <= 'f') || (ch >= 'A' && ch <= 'F') ||
	       ch == ':' || ch == '.';
}

/* The input comes from a state file we do not trust: keep only printable ASCII in
 * the message so main() never writes raw control bytes to a terminal. */
static void quote(const char *text, char out[QUOTE_MAX])
{
	size_t i = 0, j = 0;
	for (; text[i] && j + 8 < QUOTE_MAX; i++) {
		unsigned char ch = (unsigned char)text[i];
		if (ch >= 0x20 && ch < 0x7f && ch != '"' && ch != '\\')
			out[j++] = (char)ch;
		else
			j += (size_t)snprintf(out + j, QUOTE_MAX - j, "\\x%02x", ch);
	}
	if (text[i]) {
		memcpy(out + j, "...", 3);
		j += 3;
	}
	out[j] = '\0';
}

static int parse_fail(struct bv_error *err, const char *text, const char *why)
{
	char q[QUOTE_MAX];
	if (!err)
		return -EINVAL;
	quote(text, q);
	return bv_error_set(err, EINVAL, "invalid CIDR \"%s\": %s", q, why);
}

/* Dotted quad as Rust's Ipv4Addr reads it: exactly four decimal octets of 1-3 digits,
 * each <= 255, no leading zeros, nothing else. Not inet_pton: its leniency varies
 * across libcs and the rules must not. */
int cidr_parse_v4(const char *s, size_t len, unsigned char out[4])
{
	size_t i = 0;
	for (int k = 0; k < 4; k++) {
		if (k > 0 && (i >= len || s[i++] != '.'))
			return -1;
		size_t start = i;
		unsigned v = 0;
		while (i < len && i - start < 3 && is_digit(s[i]))
			v = v * 10 + (unsigned)(s[i++] - '0');
		if (i == start || v > 255 || (i - start > 1 && s[start] == '0'))
			return -1;
		out[k] = (unsigned char)v;
	}
	return i == len ? 0 : -1;
}

/* Only hex digits, ':' and '.' reach inet_pton, so zone ids, spaces and signs are out
 * whatever the libc accepts; inet_pton then checks the grammar, including an embedded
 * IPv4 tail (glibc rejects leading zeros there too). */
static int parse_v6(const char *s, size_t len, unsigned char out[16])
{
	char buf[INET6_ADDRSTRLEN];
	if (len == 0 || len >= sizeof buf)
		return -1;
	for (size_t i = 0; i < len; i++)
		if (!is_v6_char(s[i]))
			return -1;
	memcpy(buf, s, len);
	buf[len] = '\0';
	return inet_pton(AF_INET6, buf, out) == 1 ? 0 : -1;
}

/* Decimal, 1-3 digits, no sign, no leading zero except "0" itself, at most max. */
static int parse_prefix(const char *s, unsigned max, unsigned *out)
{
	size_t n = 0;
	unsigned v = 0;
	for (; s[n]; n++) {
		if (n == 3 || !is_digit(s[n]))
			return -1;
		v = v * 10 + (unsigned)(s[n] - '0');
	}
	if (n == 0 || (n > 1 && s[0] == '0') || v > max)
		return -1;
	*out = v;
	return 0;
}

int cidr_parse(const char *text, struct bv_cidr *out, struct bv_error *err)
{
	struct bv_cidr c = { 0 };
	if (!text || !*text)
		return bv_error_set(err, EINVAL, "invalid CIDR: empty");
	const char *slash = strchr(text, '/');
	size_t alen = slash ? (size_t)(slash - text) : strlen(text);
	if (memchr(text, ':', alen)) {
		c.family = AF_INET6;
		if (parse_v6(text, alen, c.addr) < 0)
			return parse_fail(err, text, "not an IPv6 address");
	} else {
		c.family = AF_INET;
		if (cidr_parse_v4(text, alen, c.addr) < 0)
			return parse_fail(err, text, "not an IPv4 address");
	}
	c.prefix = family_bits(c.family);
	if (slash && parse_prefix(slash + 1, c.prefix, &c.prefix) < 0)
		return parse_fail(err, text, "bad prefix length");
	*out = c;
	return 0;
}

bool cidr_has_host_bits(const struct bv_cidr *c)
{
	struct bv_cidr n;
	cidr_network(c, &n);
	return memcmp(n.addr, c->addr, family_bits(c->family) / 8) != 0;
}

void cidr_network(const struct bv_cidr *c, struct bv_cidr *out)
{
	unsigned bits = prefix_of(c), bytes = family_bits(c->family) / 8;
	*out = *c;
	for (unsigned i = bits / 8; i < bytes; i++)
		out->addr[i] = 0;
	if (bits % 8)
		out->addr[bits / 8] = (unsigned char)(c->addr[bits / 8] & (0xff << (8 - bits % 8)));
}

void cidr_format(const struct bv_cidr *c, char buf[CIDR_TEXT_MAX])
{
	char a[INET6_ADDRSTRLEN];
	const char *s = inet_ntop(c->family, c->addr, a, sizeof a);
	snprintf(buf, CIDR_TEXT_MAX, "%s/%u", s ? s : "?", c->prefix);
}

void cidr_format_network(const struct bv_cidr *c, char buf[CIDR_TEXT_MAX])
{
	struct bv_cidr n;
	cidr_network(c, &n);
	cidr_format(&n, buf);
}

/* The first bits bits of a and b agree. */
static bool bits_equal(const unsigned char *a, const unsigned char *b, unsigned bits)
{
	unsigned whole = bits / 8, rest = bits % 8;
	if (memcmp(a, b, whole) != 0)
		return false;
	return rest == 0 || ((a[whole] ^ b[whole]) & (0xff << (8 - rest)) & 0xff) == 0;
}

bool cidr_equal(const struct bv_cidr *a, const struct bv_cidr *b)
{
	return a->family == b->family && a->prefix == b->prefix &&
	       bits_equal(a->addr, b->addr, prefix_of(a));
}

bool cidr_contains(const struct bv_cidr *outer, const struct bv_cidr *inner)
{
	return outer->family == inner->family && prefix_of(inner) >= prefix_of(outer) &&
	       bits_equal(outer->addr, inner->addr, prefix_of(outer));
}

bool cidr_is_loopback(const struct bv_cidr *c)
{
	static const struct bv_cidr lo4 = { .family = AF_INET, .addr = { 127 }, .prefix = 8 };
	static const struct bv_cidr lo6 = { .family = AF_INET6, .addr = { [15] = 1 }, .prefix = 128 };
	return cidr_contains(&lo4, c) || cidr_contains(&lo6, c);
}

int cidr_set_add(struct bv_cidr_set *set, const struct bv_cidr *c, struct bv_error *err)
{
	if (set->len == set->cap) {
		size_t cap = set->cap ? set->cap * 2 : 8;
		if (cap < set->cap || cap > SIZE_MAX / sizeof *set->items)
			return bv_error_set(err, ENOMEM, "CIDR set: too many entries");
		struct bv_cidr *items = realloc(set->items, cap * sizeof *items);
		if (!items)
			return bv_error_set(err, ENOMEM, "CIDR set: out of memory");
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
	if (!set)
		return;
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

/* Append to out, once each and as written, the members of from that other lacks.
 * Quadratic: allowlists are a handful of entries. */
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
		  struct bv_cidr_set *missing, struct bv_cidr_set *extra,
		  struct bv_error *err)
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
