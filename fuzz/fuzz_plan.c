/* libFuzzer target: the probe plan parser (bottle-probe's only input). Invariants: no
 * crash; an accepted plan has as many probes as its "end" line says, each with a valid
 * token id and an IPv4 or IPv6 address. */
#include <stdint.h>
#include <stdlib.h>
#include <sys/socket.h>

#include "probe/plan.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct plan p;
	char err[160];
	if (plan_parse((const char *)data, size, &p, err, sizeof err) == 0) {
		if (p.n_probes > PLAN_MAX_PROBES || !p.deadline_ms)
			abort();
		for (size_t i = 0; i < p.n_probes; i++)
			if (!plan_token_ok(p.probes[i].id, PLAN_ID_MAX) ||
			    (p.probes[i].addr.ss_family != AF_INET && p.probes[i].addr.ss_family != AF_INET6))
				abort();
	}
	plan_free(&p);
	return 0;
}
