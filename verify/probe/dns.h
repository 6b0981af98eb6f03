/* dns.h - the smallest DNS client bottle-probe needs: build an A query whose name carries
 * the probe's nonce, and read the rcode of an answer. Strict and bounded: an answer is
 * accepted only if it is a response to this query (id, question echoed). libc only. */
#ifndef BV_VERIFY_PROBE_DNS_H
#define BV_VERIFY_PROBE_DNS_H

#include <stddef.h>
#include <stdint.h>

#define DNS_QUERY_MAX 512

/* Write a query for qname (type A, class IN, RD set) into buf. Returns its length, or -1
 * when qname is not a valid name. */
int dns_build_query(uint16_t id, const char *qname, unsigned char *buf, size_t cap);

struct dns_answer {
	int rcode;        /* 0..15 */
	unsigned ancount; /* answers in the reply */
};

/* Parse a reply to the query `query` (as built above). 0 and *out filled; -1 when the
 * bytes are not a well-formed response to that very query. */
int dns_parse_answer(const unsigned char *msg, size_t len, const unsigned char *query,
		     size_t query_len, struct dns_answer *out);

#endif
