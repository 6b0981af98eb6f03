/* denials_test.h - what the denial-log tests share (test_denials.c, test_denials_read.c):
 * a sockaddr from text and "is this refusal in the set". Header-only (static inline) so
 * each criterion binary stays one file. */
#ifndef BV_DENIALS_TEST_H
#define BV_DENIALS_TEST_H

#include <criterion/criterion.h>
#include <arpa/inet.h>
#include <stdbool.h>
#include <stdint.h>

#include "egress/denials.h"

static inline struct sockaddr_storage sa_of(const char *ip, unsigned port)
{
	struct sockaddr_storage ss = { 0 };
	struct sockaddr_in *in = (struct sockaddr_in *)&ss;
	struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)&ss;
	if (inet_pton(AF_INET, ip, &in->sin_addr) == 1) {
		in->sin_family = AF_INET;
		in->sin_port = htons((uint16_t)port);
	} else {
		cr_assert_eq(inet_pton(AF_INET6, ip, &in6->sin6_addr), 1, "%s", ip);
		in6->sin6_family = AF_INET6;
		in6->sin6_port = htons((uint16_t)port);
	}
	return ss;
}

static inline bool has(const struct denial_set *s, enum denial_op op, const char *ip, unsigned port)
{
	struct sockaddr_storage ss = sa_of(ip, port);
	return denials_has(s, op, (const struct sockaddr *)&ss);
}

#endif
