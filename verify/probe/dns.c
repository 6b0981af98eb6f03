/* dns.c - see dns.h */
#include "dns.h"

#include <string.h>

int dns_build_query(uint16_t id, const char *qname, unsigned char *buf, size_t cap)
{
	size_t n = strlen(qname), pos = 12;
	if (n == 0 || n > 253 || cap < 12 + n + 2 + 4 || cap > 65535)
		return -1;
	memset(buf, 0, 12);
	buf[0] = (unsigned char)(id >> 8);
	buf[1] = (unsigned char)id;
	buf[2] = 0x01; /* RD */
	buf[5] = 1;    /* QDCOUNT */
	const char *s = qname;
	while (*s) {
		const char *dot = strchr(s, '.');
		size_t len = dot ? (size_t)(dot - s) : strlen(s);
		if (len == 0 || len > 63)
			return -1;
		buf[pos] = (unsigned char)len;
		memcpy(buf + pos + 1, s, len);
		pos += 1 + len;
		s += len + (dot ? 1 : 0);
		if (dot && !*s)
			return -1; /* trailing dot */
	}
	buf[pos++] = 0;
	buf[pos++] = 0, buf[pos++] = 1; /* QTYPE A */
	buf[pos++] = 0, buf[pos++] = 1; /* QCLASS IN */
	return (int)pos;
}

int dns_parse_answer(const unsigned char *msg, size_t len, const unsigned char *query,
		     size_t query_len, struct dns_answer *out)
{
	if (len < 12 || query_len < 12 || len > 65535)
		return -1;
	if (msg[0] != query[0] || msg[1] != query[1])
		return -1; /* another query's answer */
	if (!(msg[2] & 0x80) || (msg[2] & 0x78) != 0)
		return -1; /* not a response, or not a standard query */
	unsigned qd = (unsigned)msg[4] << 8 | msg[5];
	if (qd != 1)
		return -1;
	/* The question must be echoed byte for byte (names compared case-insensitively
	 * would also be legal; our sinks echo exactly, and a strict match rejects spoofs). */
	size_t qlen = query_len - 12;
	if (len < 12 + qlen)
		return -1;
	for (size_t i = 0; i < qlen; i++) {
		unsigned char a = msg[12 + i], b = query[12 + i];
		if (a >= 'A' && a <= 'Z')
			a = (unsigned char)(a + 32);
		if (b >= 'A' && b <= 'Z')
			b = (unsigned char)(b + 32);
		if (a != b)
			return -1;
	}
	out->rcode = msg[3] & 0x0f;
	out->ancount = (unsigned)msg[6] << 8 | msg[7];
	return 0;
}
