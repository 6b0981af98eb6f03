/* libFuzzer target: the CIDR parser. Invariants on every accepted input: the formatted
 * text parses back to an equal prefix, the network and the prefix contain each other,
 * and the prefix is within its family's width. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "cidr.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char text[256];
	struct bv_cidr c, again, net;
	char out[CIDR_TEXT_MAX];
	if (size >= sizeof text)
		return 0;
	memcpy(text, data, size);
	text[size] = '\0';
	if (cidr_parse(text, &c, NULL) < 0)
		return 0;
	if (c.prefix > (c.family == AF_INET ? 32u : 128u))
		abort();
	cidr_format(&c, out);
	if (cidr_parse(out, &again, NULL) < 0 || !cidr_equal(&c, &again) ||
	    memcmp(c.addr, again.addr, sizeof c.addr) != 0)
		abort();
	cidr_network(&c, &net);
	if (!cidr_contains(&c, &net) || !cidr_contains(&net, &c) || cidr_has_host_bits(&net))
		abort();
	return 0;
}
