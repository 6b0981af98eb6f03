/* cidr.h - IPv4/IPv6 prefixes as smolvm stores them in allowed_cidrs.
 * Parses the ipnet text forms smolvm accepts, keeps host bits as written (a stored
 * "127.0.0.17/28" means the whole /28), and compares prefixes and sets of prefixes. */
#ifndef BV_CORE_CIDR_H
#define BV_CORE_CIDR_H

#include <stdbool.h>
#include <stddef.h>

#include "core/error.h"

/* Longest text cidr_format can produce, with the terminating NUL. */
#define CIDR_TEXT_MAX 64

struct bv_cidr {
	int family;              /* AF_INET or AF_INET6 */
	unsigned char addr[16];  /* address as written; IPv4 uses the first 4 bytes */
	unsigned prefix;         /* 0..32 or 0..128 */
};

/* Parse "A.B.C.D", "A.B.C.D/N", "X:..:Y", "X:..:Y/N" (a bare address gets /32 or /128,
 * as smolvm's ipnet does). Strict: no spaces, no zone ids, no leading zeros in IPv4
 * octets or in the prefix, no sign, prefix within the family's width. An IPv4-mapped
 * IPv6 address ("::ffff:1.2.3.4/128") stays AF_INET6. Returns 0 or -EINVAL. */
int cidr_parse(const char *text, struct bv_cidr *out, struct bv_error *err);

/* A dotted quad of exactly len bytes as Rust's Ipv4Addr reads and prints it: four decimal
 * octets of 1-3 digits, each <= 255, no leading zeros, nothing else. 0, or -1. */
int cidr_parse_v4(const char *s, size_t len, unsigned char out[4]);

/* True when bits beyond the prefix are set ("127.0.0.17/28"). */
bool cidr_has_host_bits(const struct bv_cidr *c);

/* The network the prefix really denotes: host bits cleared. */
void cidr_network(const struct bv_cidr *c, struct bv_cidr *out);

/* Text form "ADDR/N" with the address as written (IPv6 as inet_ntop prints it). */
void cidr_format(const struct bv_cidr *c, char buf[CIDR_TEXT_MAX]);

/* Text form of the network ("127.0.0.16/28" for "127.0.0.17/28"). */
void cidr_format_network(const struct bv_cidr *c, char buf[CIDR_TEXT_MAX]);

/* Same family, same prefix, same network after clearing host bits. */
bool cidr_equal(const struct bv_cidr *a, const struct bv_cidr *b);

/* Every address of inner lies in outer (same family only: a v4 prefix never contains a
 * v6 one, IPv4-mapped included, as smolvm's policy treats them). */
bool cidr_contains(const struct bv_cidr *outer, const struct bv_cidr *inner);

/* True if the prefix lies inside 127.0.0.0/8 or is ::1/128. */
bool cidr_is_loopback(const struct bv_cidr *c);

struct bv_cidr_set {
	struct bv_cidr *items;
	size_t len;
	size_t cap;
};

/* Append a copy (duplicates kept: a list can repeat an entry). 0 or -ENOMEM. */
int cidr_set_add(struct bv_cidr_set *set, const struct bv_cidr *c, struct bv_error *err);
/* Parse and append. 0, -EINVAL or -ENOMEM. */
int cidr_set_add_text(struct bv_cidr_set *set, const char *text, struct bv_error *err);
void cidr_set_free(struct bv_cidr_set *set);

/* True if some member of set is cidr_equal to c. */
bool cidr_set_has(const struct bv_cidr_set *set, const struct bv_cidr *c);

/* Set comparison of actual against expected, duplicates ignored:
 * missing = expected entries no actual entry equals;
 * extra   = actual entries no expected entry equals (a wider prefix, a resolver /32,
 *           an entry with host bits that widens a /32 ...). Both out-sets start empty and
 * are owned by the caller. Returns 0 or -ENOMEM. */
int cidr_set_diff(const struct bv_cidr_set *actual, const struct bv_cidr_set *expected,
		  struct bv_cidr_set *missing, struct bv_cidr_set *extra,
		  struct bv_error *err);

/* Exactly the same networks, ignoring order and duplicates. */
bool cidr_set_equal(const struct bv_cidr_set *a, const struct bv_cidr_set *b);

#endif
