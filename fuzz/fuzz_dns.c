/* libFuzzer target: the DNS answer parser, against a fixed query. Invariants: no crash;
 * an accepted answer echoes the query's id and carries an rcode in 0..15. */
#include <stdint.h>
#include <stdlib.h>

#include "probe/dns.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	unsigned char q[DNS_QUERY_MAX];
	int qn = dns_build_query(0x4242, "p1.r1.exfil.test", q, sizeof q);
	struct dns_answer a;
	if (qn < 0)
		abort();
	if (dns_parse_answer(data, size, q, (size_t)qn, &a) == 0)
		if (size < 12 || data[0] != 0x42 || data[1] != 0x42 || a.rcode < 0 || a.rcode > 15)
			abort();
	return 0;
}
