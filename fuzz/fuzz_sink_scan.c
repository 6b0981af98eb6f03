/* libFuzzer target: an upstream stand-in's scan of whatever a proxy or a git gate sends
 * it. Invariants: no crash; every token found is 40 characters with its prefix, every
 * nonce id a valid token. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "probe/plan.h"
#include "egress/sink.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check(const char *what, void *ctx)
{
	(void)ctx;
	if (what[0] == '~') {
		if (strlen(what) != SINK_TOKEN_LEN + 1 || (strncmp(what + 1, "ghp_", 4) && strncmp(what + 1, "bvn_", 4)))
			abort();
	} else if (!plan_token_ok(what, PLAN_ID_MAX)) {
		abort();
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	sink_scan((const char *)data, size, "r1", check, NULL);
	return 0;
}
