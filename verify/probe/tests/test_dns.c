/* DNS query building and strict answer matching. */
#include <criterion/criterion.h>
#include <string.h>

#include "probe/dns.h"

Test(dns, builds_a_query_with_the_nonce_name)
{
	unsigned char q[DNS_QUERY_MAX];
	int n = dns_build_query(0x1234, "p1.run9.exfil.test", q, sizeof q);
	cr_assert_eq(n, 12 + 20 + 4);
	cr_assert_eq(q[0], 0x12);
	cr_assert_eq(q[1], 0x34);
	cr_assert_eq(q[5], 1);
	cr_assert_eq(q[12], 2);
	cr_assert_eq(memcmp(q + 13, "p1", 2), 0);
}

Test(dns, refuses_bad_names)
{
	unsigned char q[DNS_QUERY_MAX];
	cr_assert_eq(dns_build_query(1, "", q, sizeof q), -1);
	cr_assert_eq(dns_build_query(1, "a..b", q, sizeof q), -1);
	cr_assert_eq(dns_build_query(1, "a.", q, sizeof q), -1);
	char longlabel[80];
	memset(longlabel, 'a', 64);
	longlabel[64] = '\0';
	cr_assert_eq(dns_build_query(1, longlabel, q, sizeof q), -1);
}

static size_t answer(const unsigned char *q, int qn, unsigned char flags3, unsigned char *a)
{
	memcpy(a, q, (size_t)qn);
	a[2] = 0x81; /* QR, RD */
	a[3] = flags3;
	return (size_t)qn;
}

Test(dns, reads_the_rcode_of_a_matching_answer)
{
	unsigned char q[DNS_QUERY_MAX], a[DNS_QUERY_MAX];
	int qn = dns_build_query(7, "x.r.exfil.test", q, sizeof q);
	struct dns_answer out;
	size_t an = answer(q, qn, 0x83, a); /* RA + NXDOMAIN */
	cr_assert_eq(dns_parse_answer(a, an, q, (size_t)qn, &out), 0);
	cr_assert_eq(out.rcode, 3);
}

Test(dns, refuses_another_querys_answer_and_non_responses)
{
	unsigned char q[DNS_QUERY_MAX], a[DNS_QUERY_MAX];
	int qn = dns_build_query(7, "x.r.exfil.test", q, sizeof q);
	struct dns_answer out;
	size_t an = answer(q, qn, 0x80, a);
	a[1] ^= 1; /* other id */
	cr_assert_eq(dns_parse_answer(a, an, q, (size_t)qn, &out), -1);
	a[1] ^= 1;
	a[2] = 0x01; /* a query, not a response */
	cr_assert_eq(dns_parse_answer(a, an, q, (size_t)qn, &out), -1);
	a[2] = 0x81;
	a[14] ^= 0x20 ^ 0x01; /* another name */
	cr_assert_eq(dns_parse_answer(a, an, q, (size_t)qn, &out), -1);
	cr_assert_eq(dns_parse_answer(a, 11, q, (size_t)qn, &out), -1);
}
