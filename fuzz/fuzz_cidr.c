/* fuzz_cidr.c - libFuzzer target for cidr_parse. On every accepted input: the prefix
 * is within its family's width, the formatted text parses back to the same address and
 * prefix, the network and the prefix contain each other and are equal, the network has
 * no host bits, and accepted IPv4 text is already canonical. On every rejection: the
 * error message is set and printable. Any violation aborts. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "core/cidr.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_round_trip(const struct bv_cidr *c)
{
	char text[CIDR_TEXT_MAX];
	struct bv_cidr again;
	cidr_format(c, text);
	if (cidr_parse(text, &again, NULL) < 0 || !cidr_equal(c, &again) ||
	    again.family != c->family || again.prefix != c->prefix ||
	    memcmp(again.addr, c->addr, sizeof c->addr) != 0)
		abort();
}

static void check_network(const struct bv_cidr *c)
{
	struct bv_cidr net;
	cidr_network(c, &net);
	if (!cidr_contains(c, &net) || !cidr_contains(&net, c) || !cidr_equal(c, &net) ||
	    cidr_has_host_bits(&net) || net.prefix != c->prefix)
		abort();
	check_round_trip(&net);
}

/* IPv4 has one spelling under the strict rules, so accepted text is the canonical form
 * (with "/32" appended when bare). */
static void check_v4_canonical(const struct bv_cidr *c, const char *input)
{
	char text[CIDR_TEXT_MAX];
	size_t n = strlen(input);
	if (c->family != AF_INET)
		return;
	cidr_format(c, text);
	if (strncmp(text, input, n) != 0 || (text[n] != '\0' && strcmp(text + n, "/32") != 0))
		abort();
}

/* A rejection message is bounded and holds no control bytes (they are escaped). */
static void check_error(const struct bv_error *err)
{
	size_t len = strnlen(err->msg, sizeof err->msg);
	if (err->code == 0 || len == sizeof err->msg)
		abort();
	for (size_t i = 0; i < len; i++)
		if ((unsigned char)err->msg[i] < 0x20 || (unsigned char)err->msg[i] >= 0x7f)
			abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct bv_cidr c;
	struct bv_error err = { 0 };
	char *text = malloc(size + 1);
	if (!text)
		return 0;
	memcpy(text, data, size);
	text[size] = '\0';
	if (cidr_parse(text, &c, &err) < 0) {
		check_error(&err);
	} else {
		unsigned width = c.family == AF_INET ? 32 : 128;
		if ((c.family != AF_INET && c.family != AF_INET6) || c.prefix > width)
			abort();
		check_round_trip(&c);
		check_network(&c);
		check_v4_canonical(&c, text);
	}
	free(text);
	return 0;
}
